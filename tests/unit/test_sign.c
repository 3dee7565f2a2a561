/*
 * sign: RFC 8032 §7.1 vectors; keygen → load → sign → verify; wrong key,
 * flipped bits; key file rules (mode 0600 enforced, existing files kept
 * unless forced, other key types and encrypted keys refused); the public
 * key text in every accepted spelling and its rejects; stable key ids.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "common/hash.h"
#include "common/sign.h"
#include "common/str.h"
#include "testlib.h"

/* The calls without a reason buffer; reasons are checked where it matters. */
static enum ota_status
load_priv(struct sign_key **k, const char *path)
{
	return sign_key_load_private(k, path, NULL, 0);
}

static enum ota_status
load_pub(struct sign_key **k, const char *path)
{
	return sign_key_load_public(k, path, NULL, 0);
}

static enum ota_status
keygen(const char *priv, const char *pub, bool force)
{
	return sign_keygen(priv, pub, force, NULL, 0);
}

struct rfc8032 {
	const char *seed, *pub, *msg, *sig;
};

/* RFC 8032 §7.1, TEST 1, 2 and 3. */
static const struct rfc8032 vectors[] = {
	{ "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
	  "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
	  "",
	  "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155"
	  "5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b" },
	{ "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
	  "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
	  "72",
	  "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da"
	  "085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00" },
	{ "c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
	  "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025",
	  "af82",
	  "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac"
	  "18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a" },
};

static void
rfc8032_vectors(void **state)
{
	unsigned char seed[SIGN_SEED_LEN], pub[SIGN_PUBLIC_LEN], raw[32];
	unsigned char msg[8], want[SIGN_SIG_LEN], sig[SIGN_SIG_LEN];
	struct sign_key *k;
	size_t i, mlen;

	(void)state;
	for (i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
		tl_unhex(vectors[i].seed, seed, sizeof(seed));
		tl_unhex(vectors[i].pub, pub, sizeof(pub));
		tl_unhex(vectors[i].sig, want, sizeof(want));
		mlen = strlen(vectors[i].msg) / 2;
		tl_unhex(vectors[i].msg, msg, mlen);
		assert_int_equal(sign_key_from_seed(&k, seed), OTA_OK);
		assert_true(sign_key_has_private(k));
		sign_key_public_raw(k, raw);
		assert_memory_equal(raw, pub, sizeof(pub));
		assert_int_equal(sign_bytes(k, msg, mlen, sig), OTA_OK);
		assert_memory_equal(sig, want, sizeof(want));
		assert_int_equal(sign_verify(k, msg, mlen, sig), OTA_OK);
		sign_key_free(k);
	}
}

/* Makes PREFIX.key / PREFIX.pub in tl_dir; paths into priv and pub. */
static void
make_pair(const char *prefix, char *priv, char *pub, size_t sz)
{
	char name[64];

	snprintf(name, sizeof(name), "%s.key", prefix);
	tl_path(priv, sz, name);
	snprintf(name, sizeof(name), "%s.pub", prefix);
	tl_path(pub, sz, name);
	assert_int_equal(keygen(priv, pub, false), OTA_OK);
}

static void
keygen_sign_verify(void **state)
{
	char priv[PATH_MAX], pub[PATH_MAX], text[SIGN_PUBLIC_TEXT_MAX];
	char id1[SIGN_KEYID_HEX + 1], id2[SIGN_KEYID_HEX + 1];
	char id3[SIGN_KEYID_HEX + 1], want[SIGN_KEYID_HEX + 1];
	unsigned char sig[SIGN_SIG_LEN], raw[SIGN_PUBLIC_LEN];
	static const char msg[] = "{\"signed\":1}";
	struct sign_key *k, *p, *q;
	struct stat sb;
	FILE *f;
	char line[128];

	(void)state;
	make_pair("a", priv, pub, sizeof(priv));
	assert_int_equal(stat(priv, &sb), 0);
	assert_int_equal(sb.st_mode & 07777, SIGN_PRIVATE_MODE);
	assert_int_equal(stat(pub, &sb), 0);
	assert_int_equal(sb.st_mode & 07777, SIGN_PUBLIC_MODE);

	assert_int_equal(load_priv(&k, priv), OTA_OK);
	assert_true(sign_key_has_private(k));
	assert_int_equal(load_pub(&p, pub), OTA_OK);
	assert_false(sign_key_has_private(p));
	assert_int_equal(sign_bytes(k, msg, strlen(msg), sig), OTA_OK);
	assert_int_equal(sign_verify(p, msg, strlen(msg), sig), OTA_OK);
	assert_int_equal(sign_verify(k, msg, strlen(msg), sig), OTA_OK);
	/* A public-only key cannot sign. */
	assert_int_equal(sign_bytes(p, msg, strlen(msg), sig), OTA_E_INVALID);

	/* The .pub file is exactly the text form plus a newline. */
	assert_int_equal(sign_key_public_text(k, text, sizeof(text)), OTA_OK);
	assert_non_null(f = fopen(pub, "r"));
	assert_non_null(fgets(line, sizeof(line), f));
	assert_null(fgets(line + strlen(line), 2, f));
	fclose(f);
	assert_true(str_has_prefix(text, "ed25519 "));
	assert_int_equal(strlen(text), 8 + 44);
	assert_int_equal(strncmp(line, text, strlen(text)), 0);
	assert_string_equal(line + strlen(text), "\n");

	/* The id: SHA-256 of the raw key, the same however it was loaded. */
	sign_key_id(k, id1);
	sign_key_id(p, id2);
	assert_string_equal(id1, id2);
	sign_key_public_raw(p, raw);
	assert_int_equal(hash_hex(HASH_SHA256, raw, sizeof(raw), want),
	    OTA_OK);
	assert_string_equal(id1, want);
	assert_int_equal(sign_key_from_text(&q, text), OTA_OK);
	sign_key_id(q, id3);
	assert_string_equal(id1, id3);
	assert_int_equal(sign_verify(q, msg, strlen(msg), sig), OTA_OK);
	sign_key_free(q);

	/* The private key file loaded as a public key: only its public half. */
	assert_int_equal(load_pub(&q, priv), OTA_OK);
	assert_false(sign_key_has_private(q));
	sign_key_id(q, id3);
	assert_string_equal(id1, id3);
	sign_key_free(q);
	sign_key_free(p);
	sign_key_free(k);
	sign_key_free(NULL);
}

static void
wrong_key_and_flipped_bits(void **state)
{
	char priv[PATH_MAX], pub[PATH_MAX], priv2[PATH_MAX], pub2[PATH_MAX];
	unsigned char msg[100], sig[SIGN_SIG_LEN];
	struct sign_key *a, *b;
	size_t i;

	(void)state;
	make_pair("a", priv, pub, sizeof(priv));
	make_pair("b", priv2, pub2, sizeof(priv2));
	assert_int_equal(load_priv(&a, priv), OTA_OK);
	assert_int_equal(load_pub(&b, pub2), OTA_OK);
	for (i = 0; i < sizeof(msg); i++)
		msg[i] = (unsigned char)i;
	assert_int_equal(sign_bytes(a, msg, sizeof(msg), sig), OTA_OK);
	assert_int_equal(sign_verify(a, msg, sizeof(msg), sig), OTA_OK);
	assert_int_equal(sign_verify(b, msg, sizeof(msg), sig),
	    OTA_E_SIGNATURE);
	/* Every bit of the message and of the signature matters. */
	for (i = 0; i < sizeof(msg) * 8; i += 7) {
		msg[i / 8] ^= (unsigned char)(1u << (i % 8));
		assert_int_equal(sign_verify(a, msg, sizeof(msg), sig),
		    OTA_E_SIGNATURE);
		msg[i / 8] ^= (unsigned char)(1u << (i % 8));
	}
	for (i = 0; i < sizeof(sig) * 8; i++) {
		sig[i / 8] ^= (unsigned char)(1u << (i % 8));
		assert_int_equal(sign_verify(a, msg, sizeof(msg), sig),
		    OTA_E_SIGNATURE);
		sig[i / 8] ^= (unsigned char)(1u << (i % 8));
	}
	assert_int_equal(sign_verify(a, msg, sizeof(msg) - 1, sig),
	    OTA_E_SIGNATURE);
	assert_int_equal(sign_verify(a, msg, sizeof(msg), sig), OTA_OK);
	sign_key_free(a);
	sign_key_free(b);
}

static void
private_mode_enforced(void **state)
{
	static const mode_t bad[] = { 0644, 0640, 0604, 0660, 0606, 0601,
	    0610, 0700 | 0007 };
	char priv[PATH_MAX], pub[PATH_MAX];
	struct sign_key *k = (struct sign_key *)&k;
	size_t i;

	(void)state;
	make_pair("a", priv, pub, sizeof(priv));
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(chmod(priv, bad[i]), 0);
		assert_int_equal(load_priv(&k, priv),
		    OTA_E_FORBIDDEN);
		assert_null(k);
		/* Verifying needs only the public half: no mode rule. */
		assert_int_equal(load_pub(&k, priv), OTA_OK);
		sign_key_free(k);
	}
	{
		char err[512] = "";

		assert_int_equal(sign_key_load_private(&k, priv, err,
		    sizeof(err)), OTA_E_FORBIDDEN);
		print_message("%s\n", err);
		assert_non_null(strstr(err, "chmod 600"));
		assert_non_null(strstr(err, "0707"));
	}
	assert_int_equal(chmod(priv, 0400), 0);
	assert_int_equal(load_priv(&k, priv), OTA_OK);
	sign_key_free(k);
	assert_int_equal(chmod(priv, 0600), 0);
	assert_int_equal(load_priv(&k, priv), OTA_OK);
	sign_key_free(k);
}

static void
keygen_refuses_existing(void **state)
{
	char priv[PATH_MAX], pub[PATH_MAX], other[PATH_MAX];
	char id1[SIGN_KEYID_HEX + 1], id2[SIGN_KEYID_HEX + 1];
	struct sign_key *k;
	struct stat sb;

	(void)state;
	make_pair("a", priv, pub, sizeof(priv));
	assert_int_equal(load_pub(&k, pub), OTA_OK);
	sign_key_id(k, id1);
	sign_key_free(k);
	assert_int_equal(keygen(priv, pub, false), OTA_E_EXISTS);
	{
		char err[512] = "";

		assert_int_equal(sign_keygen(priv, pub, false, err,
		    sizeof(err)), OTA_E_EXISTS);
		assert_non_null(strstr(err, "a.key' already exists"));
		assert_non_null(strstr(err, "--force"));
	}
	/* Only one of the two present is enough to refuse. */
	tl_path(other, sizeof(other), "other.pub");
	assert_int_equal(keygen(priv, other, false), OTA_E_EXISTS);
	assert_int_equal(stat(other, &sb), -1);
	tl_path(other, sizeof(other), "other.key");
	assert_int_equal(keygen(other, pub, false), OTA_E_EXISTS);
	assert_int_equal(stat(other, &sb), -1);
	/* Even a dangling link is "there". */
	assert_int_equal(symlink("/nonexistent/x", other), 0);
	tl_path(pub, sizeof(pub), "b.pub");
	assert_int_equal(keygen(other, pub, false), OTA_E_EXISTS);
	assert_int_equal(unlink(other), 0);
	/* Unchanged, then replaced with force. */
	tl_path(pub, sizeof(pub), "a.pub");
	assert_int_equal(load_pub(&k, pub), OTA_OK);
	sign_key_id(k, id2);
	sign_key_free(k);
	assert_string_equal(id1, id2);
	assert_int_equal(keygen(priv, pub, true), OTA_OK);
	assert_int_equal(load_pub(&k, pub), OTA_OK);
	sign_key_id(k, id2);
	sign_key_free(k);
	assert_string_not_equal(id1, id2);
	assert_int_equal(stat(priv, &sb), 0);
	assert_int_equal(sb.st_mode & 07777, SIGN_PRIVATE_MODE);
	/* The same name for both halves is refused. */
	assert_int_equal(keygen(priv, priv, true), OTA_E_INVALID);
	/* A missing directory: nothing written. */
	tl_path(priv, sizeof(priv), "nodir/x.key");
	tl_path(pub, sizeof(pub), "nodir/x.pub");
	assert_int_equal(keygen(priv, pub, false), OTA_E_NOTFOUND);
}

/* Writes pkey to tl_dir/name as PEM: private (cipher may be set) or not. */
static void
write_pem(const char *name, EVP_PKEY *pkey, bool private,
    const EVP_CIPHER *cipher, char *path, size_t sz)
{
	FILE *f;

	tl_path(path, sz, name);
	assert_non_null(f = fopen(path, "w"));
	if (!private)
		assert_int_equal(PEM_write_PUBKEY(f, pkey), 1);
	else if (cipher != NULL)
		assert_int_equal(PEM_write_PKCS8PrivateKey(f, pkey, cipher,
		    "secret", 6, NULL, NULL), 1);
	else
		assert_int_equal(PEM_write_PrivateKey(f, pkey, NULL, NULL, 0,
		    NULL, NULL), 1);
	fclose(f);
	assert_int_equal(chmod(path, 0600), 0);
}

static void
other_key_files(void **state)
{
	char path[PATH_MAX];
	struct sign_key *k;
	EVP_PKEY *ec, *ed;

	(void)state;
	assert_non_null(ec = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256"));
	write_pem("ec.key", ec, true, NULL, path, sizeof(path));
	assert_int_equal(load_priv(&k, path), OTA_E_UNSUPPORTED);
	assert_int_equal(load_pub(&k, path), OTA_E_UNSUPPORTED);
	write_pem("ec.pem", ec, false, NULL, path, sizeof(path));
	assert_int_equal(load_pub(&k, path), OTA_E_UNSUPPORTED);
	EVP_PKEY_free(ec);

	assert_non_null(ed = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519"));
	/* An Ed25519 SPKI public key (openssl pkey -pubout) is accepted. */
	write_pem("ed.pem", ed, false, NULL, path, sizeof(path));
	assert_int_equal(load_pub(&k, path), OTA_OK);
	assert_false(sign_key_has_private(k));
	sign_key_free(k);
	/* Encrypted: refused, never a passphrase prompt. */
	write_pem("enc.key", ed, true, EVP_aes_256_cbc(), path, sizeof(path));
	assert_int_equal(load_priv(&k, path), OTA_E_UNSUPPORTED);
	EVP_PKEY_free(ed);

	tl_path(path, sizeof(path), "junk.key");
	assert_int_equal(tl_write_file(path, "not a key\n", 10), 0);
	assert_int_equal(chmod(path, 0600), 0);
	assert_int_equal(load_priv(&k, path), OTA_E_INVALID);
	assert_int_equal(load_pub(&k, path), OTA_E_INVALID);
	tl_path(path, sizeof(path), "missing.key");
	assert_int_equal(load_priv(&k, path), OTA_E_NOTFOUND);
	assert_int_equal(load_pub(&k, path), OTA_E_NOTFOUND);
	assert_int_equal(load_pub(&k, tl_dir), OTA_E_FORBIDDEN);
	tl_path(path, sizeof(path), "big.pub");
	{
		char *big = calloc(1, SIGN_MAX_KEY_FILE + 10);

		memset(big, ' ', SIGN_MAX_KEY_FILE + 9);
		assert_int_equal(tl_write_file(path, big,
		    SIGN_MAX_KEY_FILE + 9), 0);
		free(big);
	}
	assert_int_equal(load_pub(&k, path), OTA_E_TOO_LARGE);
}

/* pattern with every '@' replaced by b64, into out[sz]. */
static void
subst(char *out, size_t sz, const char *pattern, const char *b64)
{
	size_t o = 0;

	for (; *pattern != '\0'; pattern++) {
		const char *add = *pattern == '@' ? b64 : pattern;
		size_t n = *pattern == '@' ? strlen(b64) : 1;

		assert_true(o + n < sz);
		memcpy(out + o, add, n);
		o += n;
	}
	out[o] = '\0';
}

static void
public_text_forms(void **state)
{
	/* RFC 8032 TEST 1's public key, d75a9801...511a. */
	static const char b64[] =
	    "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=";
	static const char *const good[] = {
		"ed25519 @", "ed25519 @\n", "ed25519 @\r\n", "@", "@\n",
		"  ed25519\t @  \n",
	};
	static const char *const bad[] = {
		"", "ed25519", "ed25519 ", "ed25519 @ extra", "rsa @",
		"ED25519x@", "ed25519 @=", "ed25519 @@", "ed25519\n@",
		"ed25519 11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo",
		"ed25519 11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHUR==",
		"ed25519 11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo=",
		"ed25519 AAAA",
	};
	char text[256], out[SIGN_PUBLIC_TEXT_MAX];
	unsigned char raw[SIGN_PUBLIC_LEN], want[SIGN_PUBLIC_LEN];
	struct sign_key *k;
	size_t i;

	(void)state;
	tl_unhex(vectors[0].pub, want, sizeof(want));
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		subst(text, sizeof(text), good[i], b64);
		print_message("accept '%s'\n", text);
		assert_int_equal(sign_key_from_text(&k, text), OTA_OK);
		sign_key_public_raw(k, raw);
		assert_memory_equal(raw, want, sizeof(want));
		assert_int_equal(sign_key_public_text(k, out, sizeof(out)),
		    OTA_OK);
		assert_string_equal(out, "ed25519 11qYAYKxCrfVS/7TyWQHOg7hcvPa"
		    "piMlrwIaaPcHURo=");
		assert_int_equal(sign_key_public_text(k, out, 20),
		    OTA_E_TOO_LARGE);
		sign_key_free(k);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		subst(text, sizeof(text), bad[i], b64);
		print_message("reject '%s'\n", text);
		k = (struct sign_key *)&k;
		assert_int_equal(sign_key_from_text(&k, text), OTA_E_INVALID);
		assert_null(k);
	}
}

static void
pub_file_round_trip(void **state)
{
	char priv[PATH_MAX], pub[PATH_MAX], copy[PATH_MAX];
	char text[SIGN_PUBLIC_TEXT_MAX + 1], id1[SIGN_KEYID_HEX + 1];
	char id2[SIGN_KEYID_HEX + 1];
	struct sign_key *k, *p;

	(void)state;
	make_pair("a", priv, pub, sizeof(priv));
	assert_int_equal(load_priv(&k, priv), OTA_OK);
	assert_int_equal(sign_key_public_text(k, text, sizeof(text)), OTA_OK);
	/* A hand-written .pub without the newline, as pasted from a config. */
	tl_path(copy, sizeof(copy), "pasted.pub");
	assert_int_equal(tl_write_file(copy, text, strlen(text)), 0);
	assert_int_equal(load_pub(&p, copy), OTA_OK);
	sign_key_id(k, id1);
	sign_key_id(p, id2);
	assert_string_equal(id1, id2);
	sign_key_free(p);
	sign_key_free(k);
}

#define T(f) cmocka_unit_test_setup_teardown(f, tl_dir_setup, tl_dir_teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(rfc8032_vectors),
		T(keygen_sign_verify),
		T(wrong_key_and_flipped_bits),
		T(private_mode_enforced),
		T(keygen_refuses_existing),
		T(other_key_files),
		T(public_text_forms),
		T(pub_file_round_trip),
	};

	/* Key files must be created 0600 whatever the caller's umask. */
	umask(0);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
