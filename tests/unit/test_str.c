/*
 * str: bounded copies and formats fail (and empty dst) instead of
 * truncating; parse_u64 accepts only plain decimal digits within bounds.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "common/str.h"

static void
copy_fits(void **state)
{
	char d[6];

	(void)state;
	memset(d, 'Z', sizeof(d));
	assert_int_equal(str_copy(d, sizeof(d), "hello"), OTA_OK);
	assert_memory_equal(d, "hello\0", 6);
	assert_int_equal(str_copy(d, sizeof(d), ""), OTA_OK);
	assert_string_equal(d, "");
	assert_int_equal(str_copy(d, 1, ""), OTA_OK);
	assert_string_equal(d, "");
}

static void
copy_truncation_is_error(void **state)
{
	char d[6];

	(void)state;
	memset(d, 'Z', sizeof(d));
	/* Six bytes plus the NUL do not fit in six. */
	assert_int_equal(str_copy(d, sizeof(d), "hello!"), OTA_E_TOO_LARGE);
	assert_string_equal(d, "");
	memset(d, 'Z', sizeof(d));
	assert_int_equal(str_copy(d, 1, "a"), OTA_E_TOO_LARGE);
	assert_int_equal(d[0], '\0');
	assert_int_equal(d[1], 'Z');
	/* size 0 writes nothing at all. */
	memset(d, 'Z', sizeof(d));
	assert_int_equal(str_copy(d, 0, ""), OTA_E_TOO_LARGE);
	assert_int_equal(d[0], 'Z');
}

static void
fmt_fits_and_truncates(void **state)
{
	char d[8];

	(void)state;
	assert_int_equal(str_fmt(d, sizeof(d), "%s=%d", "ab", 1234), OTA_OK);
	assert_string_equal(d, "ab=1234");
	memset(d, 'Z', sizeof(d));
	assert_int_equal(str_fmt(d, sizeof(d), "%s=%d", "ab", 12345),
	    OTA_E_TOO_LARGE);
	assert_string_equal(d, "");
	memset(d, 'Z', sizeof(d));
	assert_int_equal(str_fmt(d, 0, "%s", ""), OTA_E_TOO_LARGE);
	assert_int_equal(d[0], 'Z');
	assert_int_equal(str_fmt(d, 1, "%s", ""), OTA_OK);
	assert_string_equal(d, "");
}

struct u64_case {
	const char *in;
	uint64_t min, max;
	enum ota_status want;
	uint64_t value;
};

static const struct u64_case u64_cases[] = {
	{ "", 0, UINT64_MAX, OTA_E_INVALID, 0 },
	{ NULL, 0, UINT64_MAX, OTA_E_INVALID, 0 },
	{ "0", 0, UINT64_MAX, OTA_OK, 0 },
	{ "7", 0, UINT64_MAX, OTA_OK, 7 },
	{ "007", 0, UINT64_MAX, OTA_OK, 7 },
	{ "8000", 0, 65535, OTA_OK, 8000 },
	{ "+1", 0, UINT64_MAX, OTA_E_INVALID, 0 },
	{ "-1", 0, UINT64_MAX, OTA_E_INVALID, 0 },
	{ "-0", 0, UINT64_MAX, OTA_E_INVALID, 0 },
	{ " 1", 0, UINT64_MAX, OTA_E_INVALID, 0 },
	{ "1 ", 0, UINT64_MAX, OTA_E_INVALID, 0 },
	{ "1\n", 0, UINT64_MAX, OTA_E_INVALID, 0 },
	{ "1x", 0, UINT64_MAX, OTA_E_INVALID, 0 },
	{ "0x10", 0, UINT64_MAX, OTA_E_INVALID, 0 },
	{ "1.5", 0, UINT64_MAX, OTA_E_INVALID, 0 },
	{ "1e3", 0, UINT64_MAX, OTA_E_INVALID, 0 },
	{ "18446744073709551615", 0, UINT64_MAX, OTA_OK, UINT64_MAX },
	{ "18446744073709551616", 0, UINT64_MAX, OTA_E_INVALID, 0 },
	{ "18446744073709551620", 0, UINT64_MAX, OTA_E_INVALID, 0 },
	{ "99999999999999999999", 0, UINT64_MAX, OTA_E_INVALID, 0 },
	{ "000000000000000000000000000001", 0, UINT64_MAX, OTA_OK, 1 },
	/* Bounds are inclusive. */
	{ "1", 1, 65535, OTA_OK, 1 },
	{ "0", 1, 65535, OTA_E_INVALID, 0 },
	{ "65535", 1, 65535, OTA_OK, 65535 },
	{ "65536", 1, 65535, OTA_E_INVALID, 0 },
	{ "5", 5, 5, OTA_OK, 5 },
	{ "4", 5, 5, OTA_E_INVALID, 0 },
	{ "6", 5, 5, OTA_E_INVALID, 0 },
};

static void
parse_u64_table(void **state)
{
	size_t i;
	int bad = 0;

	(void)state;
	for (i = 0; i < sizeof(u64_cases) / sizeof(u64_cases[0]); i++) {
		const struct u64_case *c = &u64_cases[i];
		const uint64_t sentinel = 0xdeadbeefcafef00dULL;
		uint64_t v = sentinel;
		enum ota_status st = parse_u64(c->in, c->min, c->max, &v);

		if (st != c->want || (st == OTA_OK && v != c->value) ||
		    (st != OTA_OK && v != sentinel)) {
			print_error("parse_u64(\"%s\", %llu, %llu): status %d "
			    "value %llu, want status %d value %llu\n",
			    c->in ? c->in : "(null)",
			    (unsigned long long)c->min,
			    (unsigned long long)c->max, (int)st,
			    (unsigned long long)v, (int)c->want,
			    (unsigned long long)c->value);
			bad++;
		}
	}
	assert_int_equal(bad, 0);
}

static void
prefix(void **state)
{
	(void)state;
	assert_true(str_has_prefix("ESP8266-http-Update", "ESP8266"));
	assert_true(str_has_prefix("abc", ""));
	assert_true(str_has_prefix("abc", "abc"));
	assert_false(str_has_prefix("ab", "abc"));
	assert_false(str_has_prefix("esp8266", "ESP8266"));
}

static void
hex(void **state)
{
	static const unsigned char p[] = { 0x00, 0x01, 0x7f, 0x80, 0xab,
	    0xff, 0x10 };
	char out[2 * sizeof(p) + 1];

	(void)state;
	memset(out, 'Z', sizeof(out));
	str_hex(out, p, sizeof(p));
	assert_memory_equal(out, "00017f80abff10\0", sizeof(out));
	memset(out, 'Z', sizeof(out));
	str_hex(out, p, 0);
	assert_int_equal(out[0], '\0');
	assert_int_equal(out[1], 'Z');
}

static void
device_ids(void **state)
{
	char long_id[STR_DEVICE_ID_MAX + 2];

	(void)state;
	assert_true(str_device_id_valid("gw-7"));
	assert_true(str_device_id_valid("AA:BB:CC:00:11:22"));
	assert_true(str_device_id_valid("host.example_1"));
	assert_false(str_device_id_valid(""));
	assert_false(str_device_id_valid("a/b"));
	assert_false(str_device_id_valid("a b"));
	assert_false(str_device_id_valid("..%2f"));
	assert_false(str_device_id_valid("x\n"));
	memset(long_id, 'a', sizeof(long_id) - 1);
	long_id[STR_DEVICE_ID_MAX] = '\0';
	assert_true(str_device_id_valid(long_id));
	long_id[STR_DEVICE_ID_MAX] = 'a';
	long_id[STR_DEVICE_ID_MAX + 1] = '\0';
	assert_false(str_device_id_valid(long_id));
}

static void
u64_decimal(void **state)
{
	char d[STR_U64_MAX];

	(void)state;
	assert_string_equal(str_u64(0, d), "0");
	assert_string_equal(str_u64(1048576, d), "1048576");
	assert_string_equal(str_u64(UINT64_MAX, d), "18446744073709551615");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(device_ids),
		cmocka_unit_test(u64_decimal),
		cmocka_unit_test(copy_fits),
		cmocka_unit_test(copy_truncation_is_error),
		cmocka_unit_test(fmt_fits_and_truncates),
		cmocka_unit_test(parse_u64_table),
		cmocka_unit_test(prefix),
		cmocka_unit_test(hex),
	};

	return cmocka_run_group_tests_name("str", tests, NULL, NULL);
}
