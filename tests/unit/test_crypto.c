/*
 * crypto: the libcrypto ops struct (ota_crypto_libcrypto) against the
 * published vectors: FIPS 180 / RFC 3174 SHA-1 and SHA-256, one-shot and
 * streamed in uneven pieces up to a million 'a's; RFC 8032 §7.1 Ed25519
 * TEST 1-3, with every flipped bit of a signature, message or key
 * refused. An aborted digest must free everything (the ASan build checks
 * for leaks).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <ota/crypto.h>
#include <ota/host.h>

#include "common/str.h"
#include "testlib.h"

static size_t
alg_len(enum ota_hash_alg alg)
{
	return alg == OTA_HASH_SHA1 ? OTA_SHA1_LEN : OTA_SHA256_LEN;
}

/*
 * The digest of p[n] through c, fed in pieces of the sizes in steps
 * (cycled; 0 means all at once), as hex into hex.
 */
static void
digest(enum ota_hash_alg alg, const void *p, size_t n, const size_t *steps,
    size_t nsteps, char *hex)
{
	const struct ota_crypto *c = ota_crypto_libcrypto();
	unsigned char d[OTA_SHA256_LEN];
	const unsigned char *q = p;
	size_t off = 0, i = 0;
	void *h = NULL;

	assert_int_equal(c->hash_begin(c->ctx, alg, &h), OTA_OK);
	assert_non_null(h);
	while (off < n) {
		size_t k = nsteps ? steps[i++ % nsteps] : n;

		if (k > n - off)
			k = n - off;
		assert_int_equal(c->hash_update(c->ctx, h, q + off, k),
		    OTA_OK);
		off += k;
	}
	/* An empty update anywhere changes nothing. */
	assert_int_equal(c->hash_update(c->ctx, h, NULL, 0), OTA_OK);
	assert_int_equal(c->hash_end(c->ctx, h, d), OTA_OK);
	str_hex(hex, d, alg_len(alg));
}

struct vec {
	enum ota_hash_alg alg;
	const char *msg;
	const char *hex;
};

static void
hash_vectors(void **state)
{
	static const struct vec vecs[] = {
		{ OTA_HASH_SHA1, "",
		    "da39a3ee5e6b4b0d3255bfef95601890afd80709" },
		{ OTA_HASH_SHA1, "abc",
		    "a9993e364706816aba3e25717850c26c9cd0d89d" },
		{ OTA_HASH_SHA256, "", "e3b0c44298fc1c149afbf4c8996fb924"
		    "27ae41e4649b934ca495991b7852b855" },
		{ OTA_HASH_SHA256, "abc", "ba7816bf8f01cfea414140de5dae2223"
		    "b00361a396177a9cb410ff61f20015ad" },
	};
	static const size_t ones[] = { 1 };
	char hex[2 * OTA_SHA256_LEN + 1];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(vecs) / sizeof(vecs[0]); i++) {
		digest(vecs[i].alg, vecs[i].msg, strlen(vecs[i].msg), NULL, 0,
		    hex);
		assert_string_equal(hex, vecs[i].hex);
		digest(vecs[i].alg, vecs[i].msg, strlen(vecs[i].msg), ones, 1,
		    hex);
		assert_string_equal(hex, vecs[i].hex);
	}
}

static void
million_a(void **state)
{
	/* Pieces that straddle the 64-byte block in every way. */
	static const size_t steps[] = { 1, 63, 64, 65, 127, 4096, 7, 100003 };
	const size_t n = 1000000;
	char hex[2 * OTA_SHA256_LEN + 1];
	unsigned char *p = malloc(n);

	(void)state;
	assert_non_null(p);
	memset(p, 'a', n);
	digest(OTA_HASH_SHA1, p, n, steps, sizeof(steps) / sizeof(steps[0]),
	    hex);
	assert_string_equal(hex, "34aa973cd4c4daa4f61eeb2bdbad27316534016f");
	digest(OTA_HASH_SHA256, p, n, steps, sizeof(steps) / sizeof(steps[0]),
	    hex);
	assert_string_equal(hex, "cdc76e5c9914fb9281a1c7e284d73e67"
	    "f1809a48a497200e046d39ccc7112cd0");
	digest(OTA_HASH_SHA256, p, n, NULL, 0, hex);
	assert_string_equal(hex, "cdc76e5c9914fb9281a1c7e284d73e67"
	    "f1809a48a497200e046d39ccc7112cd0");
	free(p);
}

static void
hash_abort_and_misuse(void **state)
{
	const struct ota_crypto *c = ota_crypto_libcrypto();
	unsigned char d[OTA_SHA256_LEN];
	void *h = NULL;

	(void)state;
	/* Static, and the same every time: nothing to set up or free. */
	assert_ptr_equal(c, ota_crypto_libcrypto());
	assert_null(c->ctx);
	/* Abandoned mid-way: freed (ASan's leak check sees it if not). */
	assert_int_equal(c->hash_begin(c->ctx, OTA_HASH_SHA256, &h), OTA_OK);
	assert_int_equal(c->hash_update(c->ctx, h, "abc", 3), OTA_OK);
	c->hash_abort(c->ctx, h);
	h = NULL;
	assert_int_equal(c->hash_begin(c->ctx, OTA_HASH_SHA1, &h), OTA_OK);
	c->hash_abort(c->ctx, h);
	c->hash_abort(c->ctx, NULL);
	/* An algorithm it does not know: refused, no handle. */
	h = d;
	assert_int_equal(c->hash_begin(c->ctx, (enum ota_hash_alg)0, &h),
	    OTA_E_UNSUPPORTED);
	assert_null(h);
	h = d;
	assert_int_equal(c->hash_begin(c->ctx, (enum ota_hash_alg)99, &h),
	    OTA_E_UNSUPPORTED);
	assert_null(h);
	assert_int_equal(c->hash_end(c->ctx, NULL, d), OTA_E_INVALID);
}

struct rfc8032 {
	const char *pub, *msg, *sig;
};

/* RFC 8032 §7.1, TEST 1, 2 and 3. */
static const struct rfc8032 vectors[] = {
	{ "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
	  "",
	  "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155"
	  "5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b" },
	{ "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
	  "72",
	  "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da"
	  "085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00" },
	{ "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025",
	  "af82",
	  "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac"
	  "18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a" },
};

static void
ed25519_vectors(void **state)
{
	const struct ota_crypto *c = ota_crypto_libcrypto();
	unsigned char pub[OTA_ED25519_PUBLIC_LEN], sig[OTA_ED25519_SIG_LEN];
	unsigned char msg[2];
	size_t i, b, n;

	(void)state;
	for (i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
		print_message("TEST %zu\n", i + 1);
		tl_unhex(vectors[i].pub, pub, sizeof(pub));
		tl_unhex(vectors[i].sig, sig, sizeof(sig));
		n = strlen(vectors[i].msg) / 2;
		tl_unhex(vectors[i].msg, msg, n);
		assert_int_equal(c->ed25519_verify(c->ctx, pub, n ? msg : NULL,
		    n, sig), OTA_OK);
		/* Every bit of the signature matters. */
		for (b = 0; b < 8 * sizeof(sig); b++) {
			sig[b / 8] ^= (unsigned char)(1u << b % 8);
			assert_int_equal(c->ed25519_verify(c->ctx, pub, msg, n,
			    sig), OTA_E_SIGNATURE);
			sig[b / 8] ^= (unsigned char)(1u << b % 8);
		}
		/* ... and of the key, and of the message. */
		for (b = 0; b < 8 * sizeof(pub); b += 7) {
			pub[b / 8] ^= (unsigned char)(1u << b % 8);
			assert_int_equal(c->ed25519_verify(c->ctx, pub, msg, n,
			    sig), OTA_E_SIGNATURE);
			pub[b / 8] ^= (unsigned char)(1u << b % 8);
		}
		for (b = 0; b < 8 * n; b++) {
			msg[b / 8] ^= (unsigned char)(1u << b % 8);
			assert_int_equal(c->ed25519_verify(c->ctx, pub, msg, n,
			    sig), OTA_E_SIGNATURE);
			msg[b / 8] ^= (unsigned char)(1u << b % 8);
		}
		/* One byte more or less is another message. */
		assert_int_equal(c->ed25519_verify(c->ctx, pub, "\x72\xaf\0",
		    n + 1, sig), OTA_E_SIGNATURE);
		assert_int_equal(c->ed25519_verify(c->ctx, pub, msg, n, sig),
		    OTA_OK);
	}
}

static void
ed25519_garbage(void **state)
{
	const struct ota_crypto *c = ota_crypto_libcrypto();
	unsigned char pub[OTA_ED25519_PUBLIC_LEN], sig[OTA_ED25519_SIG_LEN];

	(void)state;
	tl_unhex(vectors[0].sig, sig, sizeof(sig));
	/* Not a point (y >= p): a bad signature, not an error. */
	memset(pub, 0xff, sizeof(pub));
	assert_int_equal(c->ed25519_verify(c->ctx, pub, NULL, 0, sig),
	    OTA_E_SIGNATURE);
	memset(pub, 0, sizeof(pub));
	assert_int_equal(c->ed25519_verify(c->ctx, pub, NULL, 0, sig),
	    OTA_E_SIGNATURE);
	/* S >= L (RFC 8032 §5.1.7 step 1): refused, not reduced. */
	tl_unhex(vectors[0].pub, pub, sizeof(pub));
	memset(sig + 32, 0xff, 32);
	assert_int_equal(c->ed25519_verify(c->ctx, pub, NULL, 0, sig),
	    OTA_E_SIGNATURE);
	memset(sig, 0, sizeof(sig));
	assert_int_equal(c->ed25519_verify(c->ctx, pub, NULL, 0, sig),
	    OTA_E_SIGNATURE);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(hash_vectors),
		cmocka_unit_test(million_a),
		cmocka_unit_test(hash_abort_and_misuse),
		cmocka_unit_test(ed25519_vectors),
		cmocka_unit_test(ed25519_garbage),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
