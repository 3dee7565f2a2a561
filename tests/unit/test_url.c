/*
 * url: strict path decoding, lenient (parse_qs-like) query decoding, and
 * query look-up with Python's parse_qs semantics (blank values dropped,
 * first value wins, keys decoded).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "common/url.h"

struct dec_case {
	const char *in;
	enum url_mode mode;
	enum ota_status want;
	const char *out;	/* expected output when want == OTA_OK */
};

static const struct dec_case dec_cases[] = {
	/* URL_PATH: strict. */
	{ "", URL_PATH, OTA_OK, "" },
	{ "abc", URL_PATH, OTA_OK, "abc" },
	{ "/good.bin", URL_PATH, OTA_OK, "/good.bin" },
	{ "%41", URL_PATH, OTA_OK, "A" },
	{ "%4a%4A", URL_PATH, OTA_OK, "JJ" },
	{ "%2e%2e/x", URL_PATH, OTA_OK, "../x" },
	{ "%2F", URL_PATH, OTA_OK, "/" },
	{ "%20", URL_PATH, OTA_OK, " " },
	{ "%e2%82%ac", URL_PATH, OTA_OK, "\xe2\x82\xac" },
	{ "%ff", URL_PATH, OTA_OK, "\xff" },
	{ "+", URL_PATH, OTA_OK, "+" },
	{ "a+b", URL_PATH, OTA_OK, "a+b" },
	{ "%2B", URL_PATH, OTA_OK, "+" },
	{ "%zz", URL_PATH, OTA_E_INVALID, NULL },
	{ "%", URL_PATH, OTA_E_INVALID, NULL },
	{ "a%", URL_PATH, OTA_E_INVALID, NULL },
	{ "%1", URL_PATH, OTA_E_INVALID, NULL },
	{ "x%1", URL_PATH, OTA_E_INVALID, NULL },
	{ "%g0", URL_PATH, OTA_E_INVALID, NULL },
	{ "%0g", URL_PATH, OTA_E_INVALID, NULL },
	{ "%%41", URL_PATH, OTA_E_INVALID, NULL },
	{ "%00", URL_PATH, OTA_E_INVALID, NULL },
	{ "a%00b", URL_PATH, OTA_E_INVALID, NULL },
	/* URL_QUERY: lenient, '+' is a space, NUL still refused. */
	{ "", URL_QUERY, OTA_OK, "" },
	{ "list", URL_QUERY, OTA_OK, "list" },
	{ "%6c%69%73%74", URL_QUERY, OTA_OK, "list" },
	{ "+", URL_QUERY, OTA_OK, " " },
	{ "a+b", URL_QUERY, OTA_OK, "a b" },
	{ "%2B", URL_QUERY, OTA_OK, "+" },
	{ "+%2b+", URL_QUERY, OTA_OK, " + " },
	{ "%zz", URL_QUERY, OTA_OK, "%zz" },
	{ "%", URL_QUERY, OTA_OK, "%" },
	{ "a%", URL_QUERY, OTA_OK, "a%" },
	{ "%1", URL_QUERY, OTA_OK, "%1" },
	{ "%g0", URL_QUERY, OTA_OK, "%g0" },
	{ "%%41", URL_QUERY, OTA_OK, "%A" },
	{ "100%", URL_QUERY, OTA_OK, "100%" },
	{ "%0d%0a", URL_QUERY, OTA_OK, "\r\n" },
	{ "%00", URL_QUERY, OTA_E_INVALID, NULL },
	{ "ok%00", URL_QUERY, OTA_E_INVALID, NULL },
};

static void
decode_table(void **state)
{
	size_t i;
	int bad = 0;

	(void)state;
	for (i = 0; i < sizeof(dec_cases) / sizeof(dec_cases[0]); i++) {
		const struct dec_case *c = &dec_cases[i];
		char out[64];
		enum ota_status st;

		memset(out, 'Z', sizeof(out));
		st = url_decode(c->in, strlen(c->in), c->mode, out,
		    sizeof(out));
		if (st != c->want ||
		    (st == OTA_OK && strcmp(out, c->out) != 0) ||
		    (st != OTA_OK && out[0] != '\0')) {
			print_error("url_decode(\"%s\", %s): status %d out "
			    "\"%.20s\", want status %d out \"%s\"\n", c->in,
			    c->mode == URL_PATH ? "PATH" : "QUERY", (int)st,
			    out, (int)c->want, c->out ? c->out : "");
			bad++;
		}
	}
	assert_int_equal(bad, 0);
}

static void
decode_uses_n_not_nul(void **state)
{
	char out[16];

	(void)state;
	assert_int_equal(url_decode("abcdef", 3, URL_PATH, out, sizeof(out)),
	    OTA_OK);
	assert_string_equal(out, "abc");
	/* An escape cut by n is incomplete. */
	assert_int_equal(url_decode("%41", 2, URL_PATH, out, sizeof(out)),
	    OTA_E_INVALID);
	assert_int_equal(url_decode("%41", 2, URL_QUERY, out, sizeof(out)),
	    OTA_OK);
	assert_string_equal(out, "%4");
	assert_int_equal(url_decode("xyz", 0, URL_QUERY, out, sizeof(out)),
	    OTA_OK);
	assert_string_equal(out, "");
}

static void
decode_too_small(void **state)
{
	char out[8];

	(void)state;
	/* "abc" needs 4 bytes. */
	memset(out, 'Z', sizeof(out));
	assert_int_equal(url_decode("abc", 3, URL_PATH, out, 3),
	    OTA_E_TOO_LARGE);
	assert_int_equal(out[0], '\0');
	assert_int_equal(url_decode("abc", 3, URL_PATH, out, 4), OTA_OK);
	assert_string_equal(out, "abc");
	/* Decoding shrinks: "%41%42%43" fits in 4 too. */
	assert_int_equal(url_decode("%41%42%43", 9, URL_QUERY, out, 4),
	    OTA_OK);
	assert_string_equal(out, "ABC");
	assert_int_equal(url_decode("%41%42%43%44", 12, URL_QUERY, out, 4),
	    OTA_E_TOO_LARGE);
	assert_int_equal(out[0], '\0');
	assert_int_equal(url_decode("", 0, URL_PATH, out, 1), OTA_OK);
	assert_string_equal(out, "");
	memset(out, 'Z', sizeof(out));
	assert_int_equal(url_decode("", 0, URL_PATH, out, 0),
	    OTA_E_TOO_LARGE);
	assert_int_equal(out[0], 'Z');
}

struct q_case {
	const char *query;
	const char *key;
	enum ota_status want;
	const char *value;
};

static const struct q_case q_cases[] = {
	{ "op=list", "op", OTA_OK, "list" },
	{ "op=list&path=sub", "path", OTA_OK, "sub" },
	{ "op=list&op=del", "op", OTA_OK, "list" },
	{ "op=del&op=list", "op", OTA_OK, "del" },
	{ "op=&op=list", "op", OTA_OK, "list" },
	{ "op&op=list", "op", OTA_OK, "list" },
	{ "op", "op", OTA_E_NOTFOUND, NULL },
	{ "op=", "op", OTA_E_NOTFOUND, NULL },
	{ "op=&path=.", "op", OTA_E_NOTFOUND, NULL },
	{ "", "op", OTA_E_NOTFOUND, NULL },
	{ "path=.", "op", OTA_E_NOTFOUND, NULL },
	{ "xop=list", "op", OTA_E_NOTFOUND, NULL },
	{ "opx=list", "op", OTA_E_NOTFOUND, NULL },
	{ "OP=list", "op", OTA_E_NOTFOUND, NULL },
	{ "o%70=list", "op", OTA_OK, "list" },
	{ "%6F%70=list", "op", OTA_OK, "list" },
	{ "op=li%73t", "op", OTA_OK, "list" },
	{ "op=a+b", "op", OTA_OK, "a b" },
	{ "op=+", "op", OTA_OK, " " },
	{ "o+p=x", "o p", OTA_OK, "x" },
	{ "op=list=x", "op", OTA_OK, "list=x" },
	{ "op=%zz", "op", OTA_OK, "%zz" },
	{ "&&op=list&", "op", OTA_OK, "list" },
	{ "=x&op=list", "op", OTA_OK, "list" },
	{ "path=%2e%2e", "path", OTA_OK, ".." },
	{ "op=x%0d%0aX-Injected:%20yes", "op", OTA_OK,
	    "x\r\nX-Injected: yes" },
	{ "op=%00", "op", OTA_E_INVALID, NULL },
	{ "op=list;path=x", "op", OTA_OK, "list;path=x" },
};

static void
query_table(void **state)
{
	size_t i;
	int bad = 0;

	(void)state;
	for (i = 0; i < sizeof(q_cases) / sizeof(q_cases[0]); i++) {
		const struct q_case *c = &q_cases[i];
		char out[64];
		enum ota_status st;

		memset(out, 0, sizeof(out));
		st = url_query_get(c->query, c->key, out, sizeof(out));
		if (st != c->want ||
		    (st == OTA_OK && strcmp(out, c->value) != 0)) {
			print_error("url_query_get(\"%s\", \"%s\"): status %d "
			    "\"%s\", want status %d \"%s\"\n", c->query, c->key,
			    (int)st, out, (int)c->want,
			    c->value ? c->value : "");
			bad++;
		}
	}
	assert_int_equal(bad, 0);
}

static void
query_value_too_large(void **state)
{
	char out[5];

	(void)state;
	assert_int_equal(url_query_get("op=list", "op", out, sizeof(out)),
	    OTA_OK);
	assert_string_equal(out, "list");
	assert_int_equal(url_query_get("op=lists", "op", out, sizeof(out)),
	    OTA_E_TOO_LARGE);
	/* Only the matching value is decoded into out. */
	assert_int_equal(url_query_get("path=waytoolong&op=del", "op", out,
	    sizeof(out)), OTA_OK);
	assert_string_equal(out, "del");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(decode_table),
		cmocka_unit_test(decode_uses_n_not_nul),
		cmocka_unit_test(decode_too_small),
		cmocka_unit_test(query_table),
		cmocka_unit_test(query_value_too_large),
	};

	return cmocka_run_group_tests_name("url", tests, NULL, NULL);
}
