/*
 * policy: the update decision of micropython-ota-updater.md §10 cases
 * 1-5 (newer, same, 1.0.9 -> 1.0.10, "v" prefixes both ways, an older
 * latest under both policies, a fresh device) and the metadata floor.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "client/policy.h"

static void
decide_table(void **state)
{
	static const struct {
		const char *have, *want;
		enum ota_downgrade dg;
		enum policy_verdict v;
	} t[] = {
		{ "1.0.1", "1.0.2", OTA_NO_DOWNGRADE, POLICY_UPDATE },
		{ "1.0.2", "1.0.2", OTA_NO_DOWNGRADE, POLICY_CURRENT },
		{ "1.0.9", "1.0.10", OTA_NO_DOWNGRADE, POLICY_UPDATE },
		{ "v1.0.1", "1.0.2", OTA_NO_DOWNGRADE, POLICY_UPDATE },
		{ "1.0.1", "v1.0.2", OTA_NO_DOWNGRADE, POLICY_UPDATE },
		{ "v1.0.2", "1.0.2", OTA_NO_DOWNGRADE, POLICY_CURRENT },
		{ "1.0.2+b1", "1.0.2+b2", OTA_NO_DOWNGRADE, POLICY_CURRENT },
		{ "1.0.2", "1.0.1", OTA_NO_DOWNGRADE, POLICY_KEEP_NEWER },
		{ "1.0.2", "1.0.1", OTA_ALLOW_DOWNGRADE, POLICY_DOWNGRADE },
		{ "1.1.0-rc.1", "1.1.0", OTA_NO_DOWNGRADE, POLICY_UPDATE },
		{ "1.1.0", "1.1.0-rc.1", OTA_NO_DOWNGRADE,
		    POLICY_KEEP_NEWER },
		{ NULL, "1.0.0", OTA_NO_DOWNGRADE, POLICY_UPDATE },
		{ "", "0.0.1", OTA_NO_DOWNGRADE, POLICY_UPDATE },
	};
	enum policy_verdict v;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		print_message("%s -> %s\n", t[i].have ? t[i].have : "(none)",
		    t[i].want);
		assert_int_equal(policy_decide(t[i].have, t[i].want, t[i].dg,
		    &v), OTA_OK);
		assert_int_equal(v, t[i].v);
		assert_non_null(policy_verdict_str(v));
	}
	assert_int_equal(policy_decide("1.0.0", "latest", OTA_NO_DOWNGRADE,
	    &v), OTA_E_INVALID);
	assert_int_equal(policy_decide("1.0.0\n", "1.0.1",
	    OTA_NO_DOWNGRADE, &v), OTA_E_INVALID);
	assert_int_equal(policy_decide("1.0.0", NULL, OTA_NO_DOWNGRADE,
	    &v), OTA_E_INVALID);
}

static void
metadata_floor(void **state)
{
	(void)state;
	assert_int_equal(policy_metadata(0, 1), OTA_OK);
	assert_int_equal(policy_metadata(7, 7), OTA_OK);
	assert_int_equal(policy_metadata(7, 8), OTA_OK);
	assert_int_equal(policy_metadata(7, 6), OTA_E_CHANGED);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(decide_table),
		cmocka_unit_test(metadata_floor),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
