/*
 * ratelimit: the hourly budget per key, with time injected: counting,
 * checking without counting, the window's end, independent keys, and a
 * full table giving up its least used key (never refusing more).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "server/ratelimit.h"

static void
budget(void **state)
{
	struct ratelimit *rl = ratelimit_new();
	struct ratelimit_state st;
	int64_t t0 = 1000000;
	int i;

	(void)state;
	assert_non_null(rl);
	for (i = 0; i < 3; i++) {
		assert_true(ratelimit_check(rl, "a:1.2.3.4", 3, t0 + i, &st));
		assert_int_equal(st.remaining, 3 - i);
		ratelimit_count(rl, "a:1.2.3.4", 3, t0 + i, &st);
		assert_int_equal(st.used, i + 1);
		assert_int_equal(st.remaining, 2 - i);
		assert_int_equal(st.reset, t0 + RATELIMIT_WINDOW);
	}
	/* Checking does not count; the fourth is refused. */
	assert_false(ratelimit_check(rl, "a:1.2.3.4", 3, t0 + 10, &st));
	assert_false(ratelimit_check(rl, "a:1.2.3.4", 3, t0 + 10, &st));
	assert_int_equal(st.used, 3);
	assert_int_equal(st.limit, 3);
	/* Another key has its own budget. */
	assert_true(ratelimit_check(rl, "t:7", 3, t0 + 10, &st));
	assert_int_equal(st.remaining, 3);
	/* The window ends an hour after the first request. */
	assert_false(ratelimit_check(rl, "a:1.2.3.4", 3,
	    t0 + RATELIMIT_WINDOW - 1, &st));
	assert_true(ratelimit_check(rl, "a:1.2.3.4", 3, t0 + RATELIMIT_WINDOW,
	    &st));
	assert_int_equal(st.remaining, 3);
	ratelimit_count(rl, "a:1.2.3.4", 3, t0 + RATELIMIT_WINDOW, &st);
	assert_int_equal(st.used, 1);
	assert_int_equal(st.reset, t0 + 2 * RATELIMIT_WINDOW);
	ratelimit_free(rl);
}

/* More live keys than slots: nobody is ever refused early. */
static void
full_table(void **state)
{
	struct ratelimit *rl = ratelimit_new();
	struct ratelimit_state st;
	char key[32];
	int i;

	(void)state;
	for (i = 0; i < 3 * RATELIMIT_SLOTS; i++) {
		snprintf(key, sizeof(key), "a:10.0.%d.%d", i / 256, i % 256);
		assert_true(ratelimit_check(rl, key, 2, 5000, &st));
		ratelimit_count(rl, key, 2, 5000, &st);
		assert_true(st.used >= 1 && st.used <= 2);
	}
	/* A key used to its limit and then looked up again stays refused
	 * while it keeps its slot. */
	ratelimit_count(rl, "t:1", 1, 5000, &st);
	assert_false(ratelimit_check(rl, "t:1", 1, 5001, &st));
	ratelimit_free(rl);
}

/* A key longer than a slot's is kept by its prefix. */
static void
long_key(void **state)
{
	struct ratelimit *rl = ratelimit_new();
	struct ratelimit_state st;
	char key[200];

	(void)state;
	memset(key, 'k', sizeof(key) - 1);
	key[sizeof(key) - 1] = '\0';
	ratelimit_count(rl, key, 1, 10, &st);
	assert_false(ratelimit_check(rl, key, 1, 11, &st));
	ratelimit_free(rl);
	ratelimit_free(NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(budget),
		cmocka_unit_test(full_table),
		cmocka_unit_test(long_key),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
