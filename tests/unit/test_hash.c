/*
 * hash: the published test vectors (RFC 1321 §A.5 for MD5, FIPS 180-2
 * appendices / RFC 3174 / RFC 6234 for SHA-1 and SHA-256), one-shot and
 * streamed in uneven pieces.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/hash.h"
#include "common/str.h"
#include "testlib.h"

struct vec {
	enum hash_alg alg;
	const char *msg;
	const char *hex;
};

#define ABC448 "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"

static const struct vec vecs[] = {
	/* RFC 1321 A.5 */
	{ HASH_MD5, "", "d41d8cd98f00b204e9800998ecf8427e" },
	{ HASH_MD5, "a", "0cc175b9c0f1b6a831c399e269772661" },
	{ HASH_MD5, "abc", "900150983cd24fb0d6963f7d28e17f72" },
	{ HASH_MD5, "message digest", "f96b697d7cb7938d525a2f31aaf161d0" },
	{ HASH_MD5, "abcdefghijklmnopqrstuvwxyz",
	    "c3fcd3d76192e4007dfb496cca67e13b" },
	{ HASH_MD5, "1234567890123456789012345678901234567890"
	    "1234567890123456789012345678901234567890",
	    "57edf4a22be3c955ac49da2e2107b67a" },
	/* FIPS 180 / RFC 3174 */
	{ HASH_SHA1, "", "da39a3ee5e6b4b0d3255bfef95601890afd80709" },
	{ HASH_SHA1, "abc", "a9993e364706816aba3e25717850c26c9cd0d89d" },
	{ HASH_SHA1, ABC448, "84983e441c3bd26ebaae4aa1f95129e5e54670f1" },
	/* FIPS 180-2 B.1, B.2 */
	{ HASH_SHA256, "",
	    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" },
	{ HASH_SHA256, "abc",
	    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" },
	{ HASH_SHA256, ABC448,
	    "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1" },
};

static const char *
alg_name(enum hash_alg a)
{
	return a == HASH_MD5 ? "md5" : a == HASH_SHA1 ? "sha1" : "sha256";
}

static void
lengths(void **state)
{
	(void)state;
	assert_int_equal(hash_len(HASH_MD5), 16);
	assert_int_equal(hash_len(HASH_SHA1), 20);
	assert_int_equal(hash_len(HASH_SHA256), 32);
	assert_int_equal(hash_len((enum hash_alg)0), 0);
	assert_null(hash_new((enum hash_alg)0));
	hash_free(NULL);
}

static void
one_shot_vectors(void **state)
{
	size_t i;
	int bad = 0;

	(void)state;
	for (i = 0; i < sizeof(vecs) / sizeof(vecs[0]); i++) {
		char hex[2 * HASH_MAX_LEN + 1];

		memset(hex, 0, sizeof(hex));
		assert_int_equal(hash_hex(vecs[i].alg, vecs[i].msg,
		    strlen(vecs[i].msg), hex), OTA_OK);
		if (strcmp(hex, vecs[i].hex) != 0) {
			print_error("%s(\"%s\") = %s, want %s\n",
			    alg_name(vecs[i].alg), vecs[i].msg, hex,
			    vecs[i].hex);
			bad++;
		}
	}
	assert_int_equal(bad, 0);
}

/* Feeds p[n] in pieces of 1, 2, 3, ... bytes (and some empty updates). */
static void
streamed(enum hash_alg alg, const unsigned char *p, size_t n, char *hex)
{
	struct hash_ctx *h = hash_new(alg);
	unsigned char d[HASH_MAX_LEN];
	size_t off = 0, step = 1, len = 0;

	assert_non_null(h);
	assert_int_equal(hash_update(h, p, 0), OTA_OK);
	while (off < n) {
		size_t k = n - off < step ? n - off : step;

		assert_int_equal(hash_update(h, p + off, k), OTA_OK);
		assert_int_equal(hash_update(h, p + off, 0), OTA_OK);
		off += k;
		step = step % 97 + 1;
	}
	assert_int_equal(hash_final(h, d, &len), OTA_OK);
	assert_int_equal(len, hash_len(alg));
	hash_free(h);
	str_hex(hex, d, len);
}

static void
streaming_equals_one_shot(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(vecs) / sizeof(vecs[0]); i++) {
		char hex[2 * HASH_MAX_LEN + 1];

		streamed(vecs[i].alg, (const unsigned char *)vecs[i].msg,
		    strlen(vecs[i].msg), hex);
		assert_string_equal(hex, vecs[i].hex);
	}
}

static void
million_a(void **state)
{
	static const struct vec m[] = {
		{ HASH_MD5, NULL, "7707d6ae4e027c70eea2a935c2296f21" },
		{ HASH_SHA1, NULL, "34aa973cd4c4daa4f61eeb2bdbad27316534016f" },
		{ HASH_SHA256, NULL, "cdc76e5c9914fb9281a1c7e284d73e67"
		    "f1809a48a497200e046d39ccc7112cd0" },
	};
	const size_t n = 1000000;
	unsigned char *p = malloc(n);
	size_t i;

	(void)state;
	assert_non_null(p);
	memset(p, 'a', n);
	for (i = 0; i < 3; i++) {
		char a[2 * HASH_MAX_LEN + 1], b[2 * HASH_MAX_LEN + 1];

		assert_int_equal(hash_hex(m[i].alg, p, n, a), OTA_OK);
		assert_string_equal(a, m[i].hex);
		streamed(m[i].alg, p, n, b);
		assert_string_equal(b, m[i].hex);
	}
	free(p);
}

static void
fixture_images(void **state)
{
	static const unsigned char inner[] = { 0xe9, 'a', 'b', 'c' };
	char hex[2 * HASH_MAX_LEN + 1];

	(void)state;
	assert_int_equal(hash_hex(HASH_MD5, tl_good, sizeof(tl_good), hex), OTA_OK);
	assert_string_equal(hex, TL_GOOD_MD5);
	assert_int_equal(hash_hex(HASH_MD5, inner, sizeof(inner), hex),
	    OTA_OK);
	assert_string_equal(hex, TL_INNER_MD5);
}

static void
final_raw_bytes(void **state)
{
	static const unsigned char want[16] = {
		0x90, 0x01, 0x50, 0x98, 0x3c, 0xd2, 0x4f, 0xb0,
		0xd6, 0x96, 0x3f, 0x7d, 0x28, 0xe1, 0x7f, 0x72
	};
	unsigned char d[HASH_MAX_LEN];
	struct hash_ctx *h = hash_new(HASH_MD5);
	size_t len = 0;

	(void)state;
	assert_non_null(h);
	assert_int_equal(hash_update(h, "ab", 2), OTA_OK);
	assert_int_equal(hash_update(h, "c", 1), OTA_OK);
	assert_int_equal(hash_final(h, d, &len), OTA_OK);
	assert_int_equal(len, 16);
	assert_memory_equal(d, want, 16);
	hash_free(h);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(lengths),
		cmocka_unit_test(one_shot_vectors),
		cmocka_unit_test(streaming_equals_one_shot),
		cmocka_unit_test(million_a),
		cmocka_unit_test(fixture_images),
		cmocka_unit_test(final_raw_bytes),
	};

	return cmocka_run_group_tests_name("hash", tests, NULL, NULL);
}
