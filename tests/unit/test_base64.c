/*
 * base64: the RFC 4648 §10 vectors both ways, every length of binary
 * data round trip, and the strict decoder's rejects (length, alphabet,
 * padding placement, non-zero trailing bits, whitespace).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/base64.h"
#include "testlib.h"

struct vec {
	const char *raw;
	const char *b64;
};

/* RFC 4648 §10. */
static const struct vec vecs[] = {
	{ "", "" },
	{ "f", "Zg==" },
	{ "fo", "Zm8=" },
	{ "foo", "Zm9v" },
	{ "foob", "Zm9vYg==" },
	{ "fooba", "Zm9vYmE=" },
	{ "foobar", "Zm9vYmFy" },
};

static void
rfc_vectors(void **state)
{
	char out[64];
	unsigned char raw[64];
	size_t i, n;

	(void)state;
	for (i = 0; i < sizeof(vecs) / sizeof(vecs[0]); i++) {
		size_t len = strlen(vecs[i].raw);

		assert_int_equal(base64_encode(vecs[i].raw, len, out,
		    sizeof(out)), OTA_OK);
		assert_string_equal(out, vecs[i].b64);
		assert_int_equal(strlen(out), BASE64_ENCODED_LEN(len));
		assert_int_equal(base64_decode(vecs[i].b64, raw, sizeof(raw),
		    &n), OTA_OK);
		assert_int_equal(n, len);
		assert_memory_equal(raw, vecs[i].raw, len);
	}
}

static void
binary_round_trip(void **state)
{
	unsigned char in[256], back[256];
	char text[BASE64_ENCODED_LEN(256) + 1];
	size_t len, i, n;

	(void)state;
	for (i = 0; i < sizeof(in); i++)
		in[i] = (unsigned char)(255 - i);
	for (len = 0; len <= sizeof(in); len++) {
		assert_int_equal(base64_encode(in, len, text, sizeof(text)),
		    OTA_OK);
		assert_int_equal(base64_decode(text, back, sizeof(back), &n),
		    OTA_OK);
		assert_int_equal(n, len);
		assert_memory_equal(back, in, len);
	}
}

static void
decode_rejects(void **state)
{
	static const char *const bad[] = {
		"Zg", "Zg=", "Zm9", "Z", "=", "==", "===", "====", "Z===",
		"Zh==",		/* non-zero bits under the padding */
		"Zm9=",		/* ditto, one '=' */
		"Zg==Zg==",	/* padding in the middle */
		"=Zm9", "Zm=v", "Zm9v====",
		"Zm9v\n", " Zm9v", "Zm9 v", "Zm\r\n9v",
		"Zm-v", "Zm_v",	/* the URL-safe alphabet */
		"Zm9v*mFy", "Zm9v\xc3\xa9mFy",
	};
	unsigned char out[64];
	size_t i, n = 99;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		print_message("reject '%s'\n", bad[i]);
		assert_int_equal(base64_decode(bad[i], out, sizeof(out), &n),
		    OTA_E_INVALID);
		assert_int_equal(n, 0);
	}
}

static void
sizes(void **state)
{
	unsigned char out[8];
	char text[9];
	size_t n;

	(void)state;
	/* "foobar" is 6 bytes: 5 do not hold it, 6 do. */
	assert_int_equal(base64_decode("Zm9vYmFy", out, 5, &n),
	    OTA_E_TOO_LARGE);
	assert_int_equal(base64_decode("Zm9vYmFy", out, 6, &n), OTA_OK);
	assert_int_equal(base64_decode("Zm9vYg==", out, 4, &n), OTA_OK);
	assert_int_equal(n, 4);
	/* 6 bytes encode to 8 characters plus the NUL. */
	assert_int_equal(base64_encode("foobar", 6, text, 8),
	    OTA_E_TOO_LARGE);
	assert_string_equal(text, "");
	assert_int_equal(base64_encode("foobar", 6, text, 9), OTA_OK);
	assert_int_equal(base64_encode("", 0, text, 1), OTA_OK);
	assert_string_equal(text, "");
	assert_int_equal(base64_encode("", 0, text, 0), OTA_E_TOO_LARGE);
	assert_int_equal(BASE64_DECODED_MAX(8), 6);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(rfc_vectors),
		cmocka_unit_test(binary_round_trip),
		cmocka_unit_test(decode_rejects),
		cmocka_unit_test(sizes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
