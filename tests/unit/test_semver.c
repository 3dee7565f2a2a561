/*
 * semver: parsing and SemVer 2.0.0 precedence, including the cases the
 * MicroPython updater got wrong by comparing tags as strings.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "common/semver.h"

static void
parse_valid(void **state)
{
	static const struct {
		const char *s;
		uint64_t ma, mi, pa;
		const char *pre, *build;
	} cases[] = {
		{ "1.2.3", 1, 2, 3, "", "" },
		{ "v1.2.3", 1, 2, 3, "", "" },
		{ "V0.0.0", 0, 0, 0, "", "" },
		{ "v1.2", 1, 2, 0, "", "" },
		{ "7", 7, 0, 0, "", "" },
		{ "1.0.0-rc.1", 1, 0, 0, "rc.1", "" },
		{ "1.0.0-alpha-1.x-y", 1, 0, 0, "alpha-1.x-y", "" },
		{ "1.0.0+build.7", 1, 0, 0, "", "build.7" },
		{ "1.0.0-beta+exp.sha.5114f85", 1, 0, 0, "beta", "exp.sha.5114f85" },
		{ "1.0.0+001", 1, 0, 0, "", "001" },
		{ "18446744073709551615.0.0", UINT64_MAX, 0, 0, "", "" },
		{ "1.2-rc1", 1, 2, 0, "rc1", "" },
	};
	struct semver v;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (semver_parse(cases[i].s, &v) != OTA_OK)
			fail_msg("'%s' should parse", cases[i].s);
		assert_true(v.major == cases[i].ma);
		assert_true(v.minor == cases[i].mi);
		assert_true(v.patch == cases[i].pa);
		assert_string_equal(v.pre, cases[i].pre);
		assert_string_equal(v.build, cases[i].build);
		assert_int_equal(semver_is_prerelease(&v), cases[i].pre[0] != 0);
	}
}

static void
parse_invalid(void **state)
{
	static const char *const bad[] = {
		"", "v", "latest", "main", "1.", "1..2", ".1", "1.2.3.4",
		"01.2.3", "1.02.3", "1.2.03", "1.2.3-", "1.2.3+", "1.2.3-01",
		"1.2.3-rc..1", "1.2.3-rc.", "1.2.3-ß", "1.2.3 ", " 1.2.3",
		"1.2.3-rc_1", "1.2.3+b_1", "18446744073709551616.0.0", "-1.0.0",
		"+1.0.0", "1.2.3x", "vv1.2.3", "2024-05", "1.2.3++",
		"2024-12", "2024-12-01", "2024.12-01", "1-2",
	};
	char longtag[SEMVER_MAX_LEN + 8];
	struct semver v;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (semver_parse(bad[i], &v) != OTA_E_INVALID)
			fail_msg("'%s' should be refused", bad[i]);
	memset(longtag, 'a', sizeof(longtag));
	memcpy(longtag, "1.0.0-", 6);
	longtag[sizeof(longtag) - 1] = '\0';
	assert_int_equal(semver_parse(longtag, &v), OTA_E_INVALID);
}

static int
cmp(const char *a, const char *b)
{
	struct semver va, vb;

	if (semver_parse(a, &va) != OTA_OK || semver_parse(b, &vb) != OTA_OK)
		fail_msg("'%s' or '%s' does not parse", a, b);
	return semver_cmp(&va, &vb);
}

/* Each entry is lower than the next (SemVer 2.0.0 §11, and more). */
static void
precedence_chain(void **state)
{
	static const char *const chain[] = {
		"0.9.9", "1.0.0-0", "1.0.0-1", "1.0.0-2", "1.0.0-10",
		"1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-alpha.beta", "1.0.0-beta",
		"1.0.0-beta.2", "1.0.0-beta.11", "1.0.0-rc.1", "1.0.0", "1.0.1",
		"1.0.9", "1.0.10", "1.1.0", "1.10.0", "2.0.0", "10.0.0",
	};
	size_t i, j, n = sizeof(chain) / sizeof(chain[0]);

	for (i = 0; i < n; i++)
		for (j = 0; j < n; j++) {
			int c = cmp(chain[i], chain[j]);
			int want = i < j ? -1 : i > j;

			if ((c > 0) - (c < 0) != want)
				fail_msg("cmp('%s', '%s') = %d, want %d",
				    chain[i], chain[j], c, want);
		}
}

static void
equalities(void **state)
{
	assert_int_equal(cmp("v1.2", "1.2.0"), 0);
	assert_int_equal(cmp("1", "v1.0.0"), 0);
	assert_int_equal(cmp("1.0.0+a", "1.0.0+b"), 0);
	assert_int_equal(cmp("1.0.0-rc.1+x", "1.0.0-rc.1"), 0);
	/* the string-compare traps */
	assert_true(cmp("1.0.10", "1.0.9") > 0);
	assert_true(cmp("v2.0.0", "10.0.0") < 0);
	assert_true(cmp("1.0.0", "1.0.0-rc.9") > 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(parse_valid),
		cmocka_unit_test(parse_invalid),
		cmocka_unit_test(precedence_chain),
		cmocka_unit_test(equalities),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
