/*
 * httphdr: single byte ranges (RFC 9110 §14.1.2), everything else ignored,
 * unsatisfiable ranges told apart; If-None-Match lists with weak compare.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "server/httphdr.h"

struct rcase {
	const char *value;
	uint64_t size;
	enum range_result want;
	uint64_t start, len;
};

static const struct rcase rcases[] = {
	{ NULL, 18, RANGE_NONE, 0, 0 },
	{ "bytes=0-3", 18, RANGE_OK, 0, 4 },
	{ "bytes=0-0", 18, RANGE_OK, 0, 1 },
	{ "bytes=4-17", 18, RANGE_OK, 4, 14 },
	{ "bytes=0-17", 18, RANGE_OK, 0, 18 },
	{ "bytes=0-100", 18, RANGE_OK, 0, 18 },
	{ "bytes=3-18446744073709551615", 18, RANGE_OK, 3, 15 },
	{ "bytes=10-", 18, RANGE_OK, 10, 8 },
	{ "bytes=17-", 18, RANGE_OK, 17, 1 },
	{ "bytes=0-", 18, RANGE_OK, 0, 18 },
	{ "bytes=-5", 18, RANGE_OK, 13, 5 },
	{ "bytes=-1", 18, RANGE_OK, 17, 1 },
	{ "bytes=-18", 18, RANGE_OK, 0, 18 },
	{ "bytes=-100", 18, RANGE_OK, 0, 18 },
	{ "BYTES=0-3", 18, RANGE_OK, 0, 4 },
	{ "Bytes=-5", 18, RANGE_OK, 13, 5 },
	{ "bytes=007-008", 18, RANGE_OK, 7, 2 },
	/* Unsatisfiable: 416. */
	{ "bytes=-0", 18, RANGE_UNSATISFIABLE, 0, 0 },
	{ "bytes=18-", 18, RANGE_UNSATISFIABLE, 0, 0 },
	{ "bytes=99-", 18, RANGE_UNSATISFIABLE, 0, 0 },
	{ "bytes=18-20", 18, RANGE_UNSATISFIABLE, 0, 0 },
	{ "bytes=18446744073709551615-", 18, RANGE_UNSATISFIABLE, 0, 0 },
	/* an empty file has no byte to range over: sent whole (empty) */
	{ "bytes=0-", 0, RANGE_NONE, 0, 0 },
	{ "bytes=0-0", 0, RANGE_NONE, 0, 0 },
	{ "bytes=-5", 0, RANGE_NONE, 0, 0 },
	/* Ignored: send it all. */
	{ "bytes=5-1", 18, RANGE_NONE, 0, 0 },
	{ "bytes=0-1,3-4", 18, RANGE_NONE, 0, 0 },
	{ "bytes=0-1, 3-4", 18, RANGE_NONE, 0, 0 },
	{ "bytes=0-3,", 18, RANGE_NONE, 0, 0 },
	{ "items=0-1", 18, RANGE_NONE, 0, 0 },
	{ "bytes 0-1", 18, RANGE_NONE, 0, 0 },
	{ "0-3", 18, RANGE_NONE, 0, 0 },
	{ "", 18, RANGE_NONE, 0, 0 },
	{ "bytes=", 18, RANGE_NONE, 0, 0 },
	{ "bytes=-", 18, RANGE_NONE, 0, 0 },
	{ "bytes=--5", 18, RANGE_NONE, 0, 0 },
	{ "bytes=a-b", 18, RANGE_NONE, 0, 0 },
	{ "bytes=1-2x", 18, RANGE_NONE, 0, 0 },
	{ "bytes=1x-2", 18, RANGE_NONE, 0, 0 },
	{ "bytes=-5x", 18, RANGE_NONE, 0, 0 },
	{ "bytes=+1-2", 18, RANGE_NONE, 0, 0 },
	{ "bytes=1", 18, RANGE_NONE, 0, 0 },
	{ "bytes=0-3 ", 18, RANGE_NONE, 0, 0 },
	{ "bytes=18446744073709551616-", 18, RANGE_NONE, 0, 0 },
	{ "bytes=0-18446744073709551616", 18, RANGE_NONE, 0, 0 },
	{ "bytes=-18446744073709551616", 18, RANGE_NONE, 0, 0 },
	{ "bytes=99999999999999999999999-", 18, RANGE_NONE, 0, 0 },
};

static const char *
rname(enum range_result r)
{
	return r == RANGE_OK ? "OK" : r == RANGE_NONE ? "NONE" : "UNSAT";
}

static void
range_table(void **state)
{
	size_t i;
	int bad = 0;

	(void)state;
	for (i = 0; i < sizeof(rcases) / sizeof(rcases[0]); i++) {
		const struct rcase *c = &rcases[i];
		uint64_t start = 777, len = 777;
		enum range_result r = range_parse(c->value, c->size, &start,
		    &len);

		if (r != c->want || (r == RANGE_OK &&
		    (start != c->start || len != c->len))) {
			print_error("range_parse(\"%s\", %llu) = %s %llu/%llu, "
			    "want %s %llu/%llu\n",
			    c->value ? c->value : "(null)",
			    (unsigned long long)c->size, rname(r),
			    (unsigned long long)start,
			    (unsigned long long)len, rname(c->want),
			    (unsigned long long)c->start,
			    (unsigned long long)c->len);
			bad++;
		}
	}
	assert_int_equal(bad, 0);
}

static void
range_empty_object_never_206(void **state)
{
	static const char *const v[] = {
		"bytes=-5", "bytes=-1", "bytes=0-", "bytes=0-0", "bytes=-0",
	};
	size_t i;

	(void)state;
	/* No 206 can describe zero bytes. */
	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		uint64_t s = 0, l = 0;

		assert_int_not_equal(range_parse(v[i], 0, &s, &l), RANGE_OK);
	}
}

static void
range_large_object(void **state)
{
	uint64_t s = 0, l = 0;
	const uint64_t big = UINT64_C(5) << 40;

	(void)state;
	assert_int_equal(range_parse("bytes=5497558138879-", big, &s, &l),
	    RANGE_OK);
	assert_true(s == big - 1);
	assert_true(l == 1);
	assert_int_equal(range_parse("bytes=-5497558138880", big, &s, &l),
	    RANGE_OK);
	assert_true(s == 0);
	assert_true(l == big);
	assert_int_equal(range_parse("bytes=0-", UINT64_MAX, &s, &l),
	    RANGE_OK);
	assert_true(s == 0);
	assert_true(l == UINT64_MAX);
}

struct ecase {
	const char *inm;
	bool want;
};

#define ETAG "\"3f2a\""

static const struct ecase ecases[] = {
	{ NULL, false },
	{ "", false },
	{ "*", true },
	{ " *", true },
	{ "\"x\", *", true },
	{ ETAG, true },
	{ "W/" ETAG, true },
	{ "\"x\", " ETAG, true },
	{ "\"x\"," ETAG, true },
	{ ETAG ", \"x\"", true },
	{ "  " ETAG "  ", true },
	{ "\t" ETAG "\t", true },
	{ "\"x\" , W/" ETAG " , \"y\"", true },
	{ ",," ETAG ",,", true },
	{ "\"x\"", false },
	{ "\"x\", \"y\"", false },
	{ "W/\"x\"", false },
	{ "\"3f2ab\"", false },
	{ "\"3f2\"", false },
	{ "\"3F2A\"", false },
	{ "3f2a", false },
	{ "w/" ETAG, false },
	{ ETAG "x", false },
	{ "x" ETAG, false },
	{ ",", false },
	{ " , ", false },
};

static void
etag_table(void **state)
{
	size_t i;
	int bad = 0;

	(void)state;
	for (i = 0; i < sizeof(ecases) / sizeof(ecases[0]); i++) {
		bool got = etag_match(ecases[i].inm, ETAG);

		if (got != ecases[i].want) {
			print_error("etag_match('%s', '%s') = %d, want %d\n",
			    ecases[i].inm ? ecases[i].inm : "(null)", ETAG,
			    got, ecases[i].want);
			bad++;
		}
	}
	assert_int_equal(bad, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(range_table),
		cmocka_unit_test(range_empty_object_never_206),
		cmocka_unit_test(range_large_object),
		cmocka_unit_test(etag_table),
	};

	return cmocka_run_group_tests_name("httphdr", tests, NULL, NULL);
}
