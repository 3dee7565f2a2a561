/*
 * buf: the cap is hard (an append past it empties the buffer), the data is
 * always NUL-terminated, buf_take hands the storage over, and buf_addf
 * grows past the first allocation without losing bytes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/buf.h"

static void
init_is_empty(void **state)
{
	struct buf b;

	(void)state;
	buf_init(&b, 10);
	assert_null(b.data);
	assert_int_equal(b.len, 0);
	assert_int_equal(b.cap, 10);
	buf_release(&b);
	assert_null(b.data);
	assert_int_equal(b.cap, 10);
}

static void
add_terminates(void **state)
{
	struct buf b;

	(void)state;
	buf_init(&b, 100);
	assert_int_equal(buf_add(&b, "abc", 3), OTA_OK);
	assert_int_equal(b.len, 3);
	assert_memory_equal(b.data, "abc\0", 4);
	assert_int_equal(buf_adds(&b, "de"), OTA_OK);
	assert_int_equal(b.len, 5);
	assert_memory_equal(b.data, "abcde\0", 6);
	/* An embedded NUL is kept; len counts it. */
	assert_int_equal(buf_add(&b, "x\0y", 3), OTA_OK);
	assert_int_equal(b.len, 8);
	assert_memory_equal(b.data, "abcdex\0y\0", 9);
	buf_release(&b);
}

static void
add_zero_bytes(void **state)
{
	struct buf b;

	(void)state;
	buf_init(&b, 4);
	assert_int_equal(buf_add(&b, "", 0), OTA_OK);
	assert_non_null(b.data);
	assert_int_equal(b.len, 0);
	assert_string_equal(b.data, "");
	buf_release(&b);
}

static void
cap_exact_fits(void **state)
{
	struct buf b;

	(void)state;
	buf_init(&b, 5);
	assert_int_equal(buf_adds(&b, "12"), OTA_OK);
	assert_int_equal(buf_adds(&b, "345"), OTA_OK);
	assert_int_equal(b.len, 5);
	assert_string_equal(b.data, "12345");
	buf_release(&b);
}

static void
cap_exceeded_empties(void **state)
{
	struct buf b;

	(void)state;
	buf_init(&b, 5);
	assert_int_equal(buf_adds(&b, "1234"), OTA_OK);
	assert_int_equal(buf_adds(&b, "56"), OTA_E_TOO_LARGE);
	assert_null(b.data);
	assert_int_equal(b.len, 0);
	assert_int_equal(b.cap, 5);
	/* Usable again afterwards, with the same cap. */
	assert_int_equal(buf_adds(&b, "abcde"), OTA_OK);
	assert_string_equal(b.data, "abcde");
	assert_int_equal(buf_add(&b, "x", 1), OTA_E_TOO_LARGE);
	assert_null(b.data);
	assert_int_equal(b.len, 0);
	buf_release(&b);
}

static void
cap_single_add_too_big(void **state)
{
	struct buf b;

	(void)state;
	buf_init(&b, 3);
	assert_int_equal(buf_adds(&b, "abcd"), OTA_E_TOO_LARGE);
	assert_null(b.data);
	assert_int_equal(b.len, 0);
	/* A size near SIZE_MAX must not wrap around the cap check. */
	buf_init(&b, 3);
	assert_int_equal(buf_adds(&b, "a"), OTA_OK);
	assert_int_equal(buf_add(&b, "x", SIZE_MAX), OTA_E_TOO_LARGE);
	assert_null(b.data);
	assert_int_equal(b.len, 0);
}

static void
cap_zero(void **state)
{
	struct buf b;

	(void)state;
	buf_init(&b, 0);
	assert_int_equal(buf_add(&b, "", 0), OTA_OK);
	assert_int_equal(b.len, 0);
	assert_string_equal(b.data, "");
	assert_int_equal(buf_add(&b, "a", 1), OTA_E_TOO_LARGE);
	assert_null(b.data);
	buf_release(&b);
}

static void
take_hands_over(void **state)
{
	struct buf b;
	size_t len = 99;
	char *p;

	(void)state;
	buf_init(&b, 64);
	assert_int_equal(buf_adds(&b, "hello"), OTA_OK);
	p = buf_take(&b, &len);
	assert_non_null(p);
	assert_int_equal(len, 5);
	assert_memory_equal(p, "hello\0", 6);
	assert_null(b.data);
	assert_int_equal(b.len, 0);
	assert_int_equal(b.alloc, 0);
	assert_int_equal(b.cap, 64);
	free(p);
	/* b is re-inited: appending again starts from empty. */
	assert_int_equal(buf_adds(&b, "x"), OTA_OK);
	assert_string_equal(b.data, "x");
	p = buf_take(&b, NULL);
	assert_string_equal(p, "x");
	free(p);
}

static void
take_empty_is_null(void **state)
{
	struct buf b;
	size_t len = 99;

	(void)state;
	buf_init(&b, 64);
	assert_null(buf_take(&b, &len));
	assert_int_equal(len, 0);
}

static void
addf_formats_and_grows(void **state)
{
	struct buf b;
	char expect[4096];
	size_t o = 0;
	int i;

	(void)state;
	buf_init(&b, sizeof(expect));
	assert_int_equal(buf_addf(&b, "%s-%d-%05u", "ab", -7, 42u), OTA_OK);
	assert_string_equal(b.data, "ab--7-00042");
	assert_int_equal(b.len, 11);
	buf_release(&b);

	/* Many appends across several reallocations keep every byte. */
	for (i = 0; i < 300; i++) {
		int n = snprintf(expect + o, sizeof(expect) - o, "[%03d]", i);

		assert_true(n == 5);
		o += 5;
	}
	for (i = 0; i < 300; i++)
		assert_int_equal(buf_addf(&b, "[%03d]", i), OTA_OK);
	assert_int_equal(b.len, o);
	assert_true(b.alloc > b.len);
	assert_memory_equal(b.data, expect, o + 1);
	buf_release(&b);
}

static void
addf_one_big_piece(void **state)
{
	struct buf b;
	char big[1000];

	(void)state;
	memset(big, 'q', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	buf_init(&b, 2000);
	assert_int_equal(buf_adds(&b, "<"), OTA_OK);
	assert_int_equal(buf_addf(&b, "%s>", big), OTA_OK);
	assert_int_equal(b.len, 1001);
	assert_int_equal(b.data[0], '<');
	assert_int_equal(b.data[1], 'q');
	assert_int_equal(b.data[999], 'q');
	assert_int_equal(b.data[1000], '>');
	assert_int_equal(b.data[1001], '\0');
	buf_release(&b);
}

static void
addf_past_cap_empties(void **state)
{
	struct buf b;

	(void)state;
	buf_init(&b, 8);
	assert_int_equal(buf_addf(&b, "%d", 1234), OTA_OK);
	assert_int_equal(buf_addf(&b, "%d", 12345), OTA_E_TOO_LARGE);
	assert_null(b.data);
	assert_int_equal(b.len, 0);
	/* Exactly to the cap is fine. */
	assert_int_equal(buf_addf(&b, "%08d", 7), OTA_OK);
	assert_string_equal(b.data, "00000007");
	buf_release(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(init_is_empty),
		cmocka_unit_test(add_terminates),
		cmocka_unit_test(add_zero_bytes),
		cmocka_unit_test(cap_exact_fits),
		cmocka_unit_test(cap_exceeded_empties),
		cmocka_unit_test(cap_single_add_too_big),
		cmocka_unit_test(cap_zero),
		cmocka_unit_test(take_hands_over),
		cmocka_unit_test(take_empty_is_null),
		cmocka_unit_test(addf_formats_and_grows),
		cmocka_unit_test(addf_one_big_piece),
		cmocka_unit_test(addf_past_cap_empties),
	};

	return cmocka_run_group_tests_name("buf", tests, NULL, NULL);
}
