/*
 * Fuzzes the release manifest parser, the one parser a device runs on
 * bytes from the network before anything else is trusted. Arbitrary bytes
 * go to manifest_parse_verify (with a fixed key, so seeds signed by it
 * reach the schema and expiry checks), to the core's manifest_verify with
 * the same key raw and libcrypto's ops, and to manifest_parse_unverified.
 * Beyond "no crash, no leak":
 *   - whatever verifies also passes manifest_validate;
 *   - the core and the sign_key wrapper agree, status and manifest;
 *   - whatever verifies (or has only expired) parses unverified too;
 *   - canonical form is a fixed point: whatever parse_unverified accepts
 *     serialises canonically, and that re-parses to the same bytes;
 *   - whatever parse_unverified accepts, signed by the key, verifies.
 * Seeds in corpus/manifest are signed with the key of FUZZ_SEED (see
 * docs/signing.md); now is FUZZ_NOW.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <ota/host.h>

#include "fuzz.h"
#include "common/buf.h"
#include "common/manifest.h"
#include "common/sign.h"

/* 2023-11-14T22:13:20Z: inside the seeds' validity window. */
#define FUZZ_NOW 1700000000
/* The RFC 8032 §7.1 TEST 1 private key: public, fixed, for tests only. */
static const unsigned char FUZZ_SEED[SIGN_SEED_LEN] = {
	0x9d, 0x61, 0xb1, 0x9d, 0xef, 0xfd, 0x5a, 0x60, 0xba, 0x84, 0x4a,
	0xf4, 0x92, 0xec, 0x2c, 0xc4, 0x44, 0x49, 0xc5, 0x69, 0x7b, 0x32,
	0x69, 0x19, 0x70, 0x3b, 0xac, 0x03, 0x1c, 0xae, 0x7f, 0x60,
};

static struct sign_key *
fuzz_key(void)
{
	static struct sign_key *key;

	if (key == NULL)
		FUZZ_CHECK(sign_key_from_seed(&key, FUZZ_SEED) == OTA_OK);
	return key;
}

static void
check_fixed_point(const struct manifest *m)
{
	struct sign_key *key = fuzz_key();
	struct buf c1, c2, env;
	struct manifest m2;

	buf_init(&c1, MANIFEST_MAX_BYTES);
	buf_init(&c2, MANIFEST_MAX_BYTES);
	buf_init(&env, MANIFEST_MAX_BYTES * 2);
	FUZZ_CHECK(manifest_canonical(m, &c1) == OTA_OK);
	FUZZ_CHECK(buf_adds(&env, "{\"signatures\":[],\"signed\":") ==
	    OTA_OK && buf_add(&env, c1.data, c1.len) == OTA_OK &&
	    buf_adds(&env, "}") == OTA_OK);
	FUZZ_CHECK(manifest_parse_unverified(env.data, env.len, &m2, NULL, 0)
	    == OTA_OK);
	FUZZ_CHECK(manifest_canonical(&m2, &c2) == OTA_OK);
	FUZZ_CHECK(c1.len == c2.len && memcmp(c1.data, c2.data, c1.len) == 0);
	manifest_release(&m2);

	buf_release(&env);
	buf_release(&c2);
	FUZZ_CHECK(manifest_sign(m, &key, 1, &env) == OTA_OK);
	FUZZ_CHECK(manifest_parse_verify(env.data, env.len, &key, 1,
	    m->created, &m2) == OTA_OK);
	FUZZ_CHECK(manifest_canonical(&m2, &c2) == OTA_OK);
	FUZZ_CHECK(c1.len == c2.len && memcmp(c1.data, c2.data, c1.len) == 0);
	manifest_release(&m2);
	buf_release(&env);
	buf_release(&c2);
	buf_release(&c1);
}

/* a and b (each filled or zeroed) hold the same manifest. */
static void
check_same(const struct manifest *a, const struct manifest *b)
{
	struct buf c1, c2;

	FUZZ_CHECK((a->repo == NULL) == (b->repo == NULL));
	if (a->repo == NULL)
		return;
	buf_init(&c1, MANIFEST_MAX_BYTES);
	buf_init(&c2, MANIFEST_MAX_BYTES);
	FUZZ_CHECK(manifest_canonical(a, &c1) == OTA_OK);
	FUZZ_CHECK(manifest_canonical(b, &c2) == OTA_OK);
	FUZZ_CHECK(c1.len == c2.len && memcmp(c1.data, c2.data, c1.len) == 0);
	buf_release(&c1);
	buf_release(&c2);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sign_key *key = fuzz_key();
	const char *text = (const char *)data;
	unsigned char raw[SIGN_PUBLIC_LEN];
	enum ota_status st, st2;
	struct manifest m, m2;

	st = manifest_parse_verify(text, size, &key, 1, FUZZ_NOW, &m);
	FUZZ_CHECK(st == OTA_OK || st == OTA_E_INVALID ||
	    st == OTA_E_SIGNATURE || st == OTA_E_EXPIRED || st == OTA_E_NOMEM);
	if (st == OTA_OK || st == OTA_E_EXPIRED)
		FUZZ_CHECK(manifest_validate(&m, NULL, 0) == OTA_OK);
	if (st == OTA_OK)
		FUZZ_CHECK(m.expires > FUZZ_NOW);
	sign_key_public_raw(key, raw);
	st2 = manifest_verify(text, size, ota_crypto_libcrypto(), &raw, 1,
	    FUZZ_NOW, &m2, NULL, 0);
	FUZZ_CHECK(st == st2);
	check_same(&m, &m2);
	manifest_release(&m2);
	if (st == OTA_OK || st == OTA_E_EXPIRED) {
		FUZZ_CHECK(manifest_parse_unverified(text, size, &m2, NULL, 0)
		    == OTA_OK);
		check_same(&m, &m2);
		manifest_release(&m2);
	}
	manifest_release(&m);

	st = manifest_parse_unverified(text, size, &m, NULL, 0);
	FUZZ_CHECK(st == OTA_OK || st == OTA_E_INVALID || st == OTA_E_NOMEM);
	if (st == OTA_OK)
		check_fixed_point(&m);
	manifest_release(&m);
	return 0;
}
