/*
 * espgate: the strict gate of updateserver.py (UA prefix plus seven
 * x-<family>-* headers), the relaxed and open gates, and what is picked out
 * of the request. Headers come from a fake look-up over a name/value table,
 * case-insensitive as libmicrohttpd's MHD_lookup_connection_value is.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "server/espgate.h"
#include "testlib.h"

static const char *const seven[] = {
	"STA-MAC", "AP-MAC", "free-space", "sketch-size", "sketch-md5",
	"chip-size", "sdk-version",
};

static void
strict_accepts_esp8266(void **state)
{
	struct tl_hdrs h;
	struct esp_info info;

	(void)state;
	tl_hdrs_parse(&h, TL_H8);
	memset(&info, 0x5a, sizeof(info));
	assert_int_equal(espgate_check(GATE_STRICT, tl_hdrs_get, &h, &info),
	    OTA_OK);
	assert_int_equal(info.family, ESP_8266);
	assert_string_equal(info.sta_mac, "80:7D:3A:6E:39:B3");
	assert_string_equal(info.sketch_md5,
	    "54acdd6530aed0cfb5679d4daa83348c");
	assert_null(info.version);
	assert_string_equal(info.mode, "sketch");
	assert_null(info.missing);
}

static void
strict_accepts_esp32(void **state)
{
	struct tl_hdrs h;
	struct esp_info info;

	(void)state;
	tl_hdrs_parse(&h, TL_H32);
	tl_hdrs_set(&h, "x-ESP32-version", "1.4.2");
	memset(&info, 0x5a, sizeof(info));
	assert_int_equal(espgate_check(GATE_STRICT, tl_hdrs_get, &h, &info),
	    OTA_OK);
	assert_int_equal(info.family, ESP_32);
	assert_string_equal(info.sta_mac, "24:6F:28:AA:BB:CC");
	assert_string_equal(info.sketch_md5,
	    "0123456789abcdef0123456789abcdef");
	assert_string_equal(info.version, "1.4.2");
	assert_string_equal(info.mode, "sketch");
	assert_null(info.missing);
}

static void
strict_version_and_mode(void **state)
{
	struct tl_hdrs h;
	struct esp_info info;

	(void)state;
	tl_hdrs_parse(&h, TL_H8);
	tl_hdrs_set(&h, "x-ESP8266-version", "v2");
	tl_hdrs_set(&h, "x-ESP8266-mode", "spiffs");
	assert_int_equal(espgate_check(GATE_STRICT, tl_hdrs_get, &h, &info),
	    OTA_OK);
	assert_string_equal(info.version, "v2");
	assert_string_equal(info.mode, "spiffs");
	/* mode and version are optional. */
	tl_hdrs_del(&h, "x-ESP8266-mode");
	tl_hdrs_del(&h, "x-ESP8266-version");
	tl_hdrs_del(&h, "x-ESP8266-Chip-ID");
	assert_int_equal(espgate_check(GATE_STRICT, tl_hdrs_get, &h, &info),
	    OTA_OK);
	assert_null(info.mode);
	assert_null(info.version);
}

static void
strict_refuses_each_missing(void **state)
{
	static const struct {
		const char *block, *family;
	} sets[] = { { TL_H8, "ESP8266" }, { TL_H32, "ESP32" } };
	size_t s, i;

	(void)state;
	for (s = 0; s < 2; s++) {
		for (i = 0; i < 7; i++) {
			struct tl_hdrs h;
			struct esp_info info;
			char name[64];

			tl_hdrs_parse(&h, sets[s].block);
			snprintf(name, sizeof(name), "x-%s-%s",
			    sets[s].family, seven[i]);
			tl_hdrs_del(&h, name);
			assert_int_equal(espgate_check(GATE_STRICT, tl_hdrs_get,
			    &h, &info), OTA_E_FORBIDDEN);
			assert_non_null(info.missing);
			if (strcmp(info.missing, seven[i]) != 0)
				fail_msg("without %s: missing = \"%s\"", name,
				    info.missing);
			/* The relaxed gate lets each of them through. */
			assert_int_equal(espgate_check(GATE_RELAXED, tl_hdrs_get,
			    &h, &info), OTA_OK);
		}
	}
}

static void
names_any_case_values_empty(void **state)
{
	struct tl_hdrs h;
	struct esp_info info;
	size_t i, j;

	(void)state;
	tl_hdrs_parse(&h, TL_H8);
	for (i = 0; i < h.n; i++) {
		for (j = 0; h.name[i][j] != '\0'; j++)
			if (h.name[i][j] >= 'A' && h.name[i][j] <= 'Z')
				h.name[i][j] = (char)(h.name[i][j] - 'A' + 'a');
		if (strcmp(h.name[i], "user-agent") != 0)
			h.value[i][0] = '\0';
	}
	assert_int_equal(espgate_check(GATE_STRICT, tl_hdrs_get, &h, &info),
	    OTA_OK);
	assert_int_equal(info.family, ESP_8266);
	assert_string_equal(info.sta_mac, "");
}

struct ua_case {
	const char *block;
	const char *ua;		/* NULL: header removed */
	enum gate_mode mode;
	enum ota_status want;
	enum esp_family family;
	const char *missing;
};

static const struct ua_case ua_cases[] = {
	{ TL_H8, "ESP8266-http-Update-custom", GATE_STRICT, OTA_OK,
	    ESP_8266, NULL },
	{ TL_H8, "ESP8266-http-Updatexyz", GATE_STRICT, OTA_OK, ESP_8266,
	    NULL },
	{ TL_H32, "ESP32-http-Update (core 3.0.7)", GATE_STRICT, OTA_OK,
	    ESP_32, NULL },
	{ TL_H8, "esp8266-http-update", GATE_STRICT, OTA_E_FORBIDDEN,
	    ESP_NONE, "User-Agent" },
	{ TL_H8, "ESP8266-HTTP-Update", GATE_STRICT, OTA_E_FORBIDDEN,
	    ESP_NONE, "User-Agent" },
	{ TL_H8, " ESP8266-http-Update", GATE_STRICT, OTA_E_FORBIDDEN,
	    ESP_NONE, "User-Agent" },
	{ TL_H8, "ESP8266-http-Updat", GATE_STRICT, OTA_E_FORBIDDEN,
	    ESP_NONE, "User-Agent" },
	{ TL_H8, "Mozilla/5.0", GATE_STRICT, OTA_E_FORBIDDEN, ESP_NONE,
	    "User-Agent" },
	{ TL_H8, "", GATE_STRICT, OTA_E_FORBIDDEN, ESP_NONE, "User-Agent" },
	{ TL_H8, NULL, GATE_STRICT, OTA_E_FORBIDDEN, ESP_NONE, "User-Agent" },
	/* The header family must match the UA. */
	{ TL_H8, "ESP32-http-Update", GATE_STRICT, OTA_E_FORBIDDEN, ESP_32,
	    "STA-MAC" },
	{ TL_H32, "ESP8266-http-Update", GATE_STRICT, OTA_E_FORBIDDEN,
	    ESP_8266, "STA-MAC" },
	/* Relaxed: the UA is still required. */
	{ TL_H8, "Mozilla/5.0", GATE_RELAXED, OTA_E_FORBIDDEN, ESP_NONE,
	    "User-Agent" },
	{ TL_H8, NULL, GATE_RELAXED, OTA_E_FORBIDDEN, ESP_NONE,
	    "User-Agent" },
	{ TL_H8, "ESP32-http-Update", GATE_RELAXED, OTA_OK, ESP_32, NULL },
	/* Off: anything goes. */
	{ TL_H8, "Mozilla/5.0", GATE_OFF, OTA_OK, ESP_NONE, NULL },
	{ TL_H8, NULL, GATE_OFF, OTA_OK, ESP_NONE, NULL },
	{ TL_H8, "ESP8266-http-Update", GATE_OFF, OTA_OK, ESP_8266, NULL },
};

static void
ua_table(void **state)
{
	size_t i;
	int bad = 0;

	(void)state;
	for (i = 0; i < sizeof(ua_cases) / sizeof(ua_cases[0]); i++) {
		const struct ua_case *c = &ua_cases[i];
		struct tl_hdrs h;
		struct esp_info info;
		enum ota_status st;

		tl_hdrs_parse(&h, c->block);
		if (c->ua != NULL)
			tl_hdrs_set(&h, "User-Agent", c->ua);
		else
			tl_hdrs_del(&h, "User-Agent");
		st = espgate_check(c->mode, tl_hdrs_get, &h, &info);
		if (st != c->want || info.family != c->family ||
		    (c->missing == NULL) != (info.missing == NULL) ||
		    (c->missing != NULL &&
		    strcmp(c->missing, info.missing) != 0)) {
			print_error("case %zu (UA \"%s\", mode %d): status %d "
			    "family %d missing \"%s\"; want %d %d \"%s\"\n",
			    i, c->ua ? c->ua : "(none)", (int)c->mode,
			    (int)st, (int)info.family,
			    info.missing ? info.missing : "(null)",
			    (int)c->want, (int)c->family,
			    c->missing ? c->missing : "(null)");
			bad++;
		}
	}
	assert_int_equal(bad, 0);
}

static void
relaxed_esp32_without_md5_or_macs(void **state)
{
	struct tl_hdrs h;
	struct esp_info info;

	(void)state;
	tl_hdrs_parse(&h, TL_H32);
	tl_hdrs_del(&h, "x-ESP32-sketch-md5");
	assert_int_equal(espgate_check(GATE_STRICT, tl_hdrs_get, &h, &info),
	    OTA_E_FORBIDDEN);
	assert_string_equal(info.missing, "sketch-md5");
	assert_int_equal(espgate_check(GATE_RELAXED, tl_hdrs_get, &h, &info),
	    OTA_OK);
	assert_int_equal(info.family, ESP_32);
	assert_null(info.sketch_md5);
	assert_string_equal(info.sta_mac, "24:6F:28:AA:BB:CC");
	tl_hdrs_del(&h, "x-ESP32-STA-MAC");
	tl_hdrs_del(&h, "x-ESP32-AP-MAC");
	assert_int_equal(espgate_check(GATE_RELAXED, tl_hdrs_get, &h, &info),
	    OTA_OK);
	assert_null(info.sta_mac);
	assert_null(info.missing);
	/* Nothing but the UA. */
	memset(&h, 0, sizeof(h));
	tl_hdrs_set(&h, "User-Agent", "ESP32-http-Update");
	assert_int_equal(espgate_check(GATE_RELAXED, tl_hdrs_get, &h, &info),
	    OTA_OK);
	assert_int_equal(espgate_check(GATE_STRICT, tl_hdrs_get, &h, &info),
	    OTA_E_FORBIDDEN);
	assert_string_equal(info.missing, "STA-MAC");
}

static void
off_accepts_nothing_at_all(void **state)
{
	struct tl_hdrs h;
	struct esp_info info;

	(void)state;
	memset(&h, 0, sizeof(h));
	memset(&info, 0x5a, sizeof(info));
	assert_int_equal(espgate_check(GATE_OFF, tl_hdrs_get, &h, &info),
	    OTA_OK);
	assert_int_equal(info.family, ESP_NONE);
	assert_null(info.sta_mac);
	assert_null(info.sketch_md5);
	assert_null(info.version);
	assert_null(info.mode);
	assert_null(info.missing);
	/* The info is still filled for an ESP under the open gate. */
	tl_hdrs_parse(&h, TL_H8);
	assert_int_equal(espgate_check(GATE_OFF, tl_hdrs_get, &h, &info),
	    OTA_OK);
	assert_int_equal(info.family, ESP_8266);
	assert_string_equal(info.sketch_md5,
	    "54acdd6530aed0cfb5679d4daa83348c");
}

static void
parse_mode(void **state)
{
	enum gate_mode m = GATE_OFF;

	(void)state;
	assert_int_equal(espgate_parse_mode("strict", &m), OTA_OK);
	assert_int_equal(m, GATE_STRICT);
	assert_int_equal(espgate_parse_mode("relaxed", &m), OTA_OK);
	assert_int_equal(m, GATE_RELAXED);
	assert_int_equal(espgate_parse_mode("off", &m), OTA_OK);
	assert_int_equal(m, GATE_OFF);
	m = GATE_RELAXED;
	assert_int_equal(espgate_parse_mode("", &m), OTA_E_INVALID);
	assert_int_equal(espgate_parse_mode("bogus", &m), OTA_E_INVALID);
	assert_int_equal(espgate_parse_mode("strictx", &m), OTA_E_INVALID);
	assert_int_equal(espgate_parse_mode("of", &m), OTA_E_INVALID);
	assert_int_equal(m, GATE_RELAXED);
}

static void
family_names(void **state)
{
	(void)state;
	assert_string_equal(espgate_family_name(ESP_8266), "ESP8266");
	assert_string_equal(espgate_family_name(ESP_32), "ESP32");
	assert_string_equal(espgate_family_name(ESP_NONE), "");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(strict_accepts_esp8266),
		cmocka_unit_test(strict_accepts_esp32),
		cmocka_unit_test(strict_version_and_mode),
		cmocka_unit_test(strict_refuses_each_missing),
		cmocka_unit_test(names_any_case_values_empty),
		cmocka_unit_test(ua_table),
		cmocka_unit_test(relaxed_esp32_without_md5_or_macs),
		cmocka_unit_test(off_accepts_nothing_at_all),
		cmocka_unit_test(parse_mode),
		cmocka_unit_test(family_names),
	};

	return cmocka_run_group_tests_name("espgate", tests, NULL, NULL);
}
