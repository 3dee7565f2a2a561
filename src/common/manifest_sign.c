/*
 * manifest_sign: the host's half of manifest.h. Signing needs private
 * keys, which only sign.c (OpenSSL) holds; verifying with sign_key
 * handles is the core's manifest_verify over their raw public bytes and
 * libcrypto's ops, so the host and a device run one verifier.
 *
 * The envelope is written here as text: its keys are fixed, and a key id
 * (hex) and a signature (base64) hold nothing canonical JSON escapes, so
 * this is the canonical form manifest.h describes, as the verifier
 * requires it.
 */
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <ota/crypto.h>
#include <ota/host.h>

#include "common/base64.h"
#include "common/buf.h"
#include "common/manifest.h"
#include "common/sign.h"
#include "common/str.h"
#include "common/banned.h"

_Static_assert(SIGN_PUBLIC_LEN == OTA_ED25519_PUBLIC_LEN &&
    SIGN_SIG_LEN == OTA_ED25519_SIG_LEN &&
    SIGN_KEYID_HEX == MANIFEST_SHA256_HEX,
    "sign.h and ota/crypto.h must agree on Ed25519's sizes");
#ifdef NAME_MAX
/* The core cannot see NAME_MAX; a component it accepts must be creatable. */
_Static_assert(MANIFEST_MAX_COMPONENT <= NAME_MAX,
    "a path component the manifest allows must fit this system");
#endif

/* OTA_E_INVALID unless every key can sign and no key appears twice. */
static enum ota_status
keys_usable(struct sign_key *const *keys, size_t nkeys)
{
	char a[SIGN_KEYID_HEX + 1], b[SIGN_KEYID_HEX + 1];
	size_t i, j;

	if (nkeys == 0 || nkeys > MANIFEST_MAX_SIGNATURES)
		return OTA_E_INVALID;
	for (i = 0; i < nkeys; i++) {
		if (keys[i] == NULL || !sign_key_has_private(keys[i]))
			return OTA_E_INVALID;
		sign_key_id(keys[i], a);
		for (j = 0; j < i; j++) {
			sign_key_id(keys[j], b);
			if (strcmp(a, b) == 0)
				return OTA_E_INVALID;
		}
	}
	return OTA_OK;
}

/* {"keyid":..,"sig":..} of key k's sig, after a comma unless first. */
static enum ota_status
add_signature(struct buf *out, bool first, const struct sign_key *k,
    const unsigned char sig[SIGN_SIG_LEN])
{
	char id[SIGN_KEYID_HEX + 1], b64[BASE64_ENCODED_LEN(SIGN_SIG_LEN) + 1];
	enum ota_status st;

	if ((st = base64_encode(sig, SIGN_SIG_LEN, b64, sizeof(b64))) !=
	    OTA_OK)
		return st;
	sign_key_id(k, id);
	return buf_addf(out, "%s{\"keyid\":\"%s\",\"sig\":\"%s\"}",
	    first ? "" : ",", id, b64);
}

enum ota_status
manifest_sign(const struct manifest *m, struct sign_key *const *keys,
    size_t nkeys, struct buf *out)
{
	unsigned char sigs[MANIFEST_MAX_SIGNATURES][SIGN_SIG_LEN];
	enum ota_status st;
	struct buf canon;
	size_t i;

	buf_init(&canon, MANIFEST_MAX_BYTES);
	if ((st = keys_usable(keys, nkeys)) != OTA_OK ||
	    (st = manifest_canonical(m, &canon)) != OTA_OK)
		goto out;
	/* Every signature first: a key that fails leaves out untouched. */
	for (i = 0; i < nkeys; i++)
		if ((st = sign_bytes(keys[i], canon.data, canon.len,
		    sigs[i])) != OTA_OK)
			goto out;
	if ((st = buf_adds(out, "{\"signatures\":[")) != OTA_OK)
		goto out;
	for (i = 0; i < nkeys; i++)
		if ((st = add_signature(out, i == 0, keys[i], sigs[i])) !=
		    OTA_OK)
			goto out;
	if ((st = buf_adds(out, "],\"signed\":")) != OTA_OK ||
	    (st = buf_add(out, canon.data, canon.len)) != OTA_OK)
		goto out;
	st = buf_add(out, "}", 1);
out:
	buf_release(&canon);
	return st;
}

enum ota_status
manifest_parse_verify_err(const char *text, size_t len,
    struct sign_key *const *trusted, size_t ntrusted, int64_t now,
    struct manifest *out, char *err, size_t errsz)
{
	unsigned char (*raw)[OTA_ED25519_PUBLIC_LEN] = NULL;
	enum ota_status st;
	size_t i, n = 0;

	if (ntrusted > 0 && (raw = calloc(ntrusted, sizeof(*raw))) == NULL) {
		memset(out, 0, sizeof(*out));
		return str_fail(err, errsz, OTA_E_NOMEM, "out of memory");
	}
	/* A NULL entry trusts nobody (a slot whose key did not load). */
	for (i = 0; i < ntrusted; i++)
		if (trusted[i] != NULL)
			sign_key_public_raw(trusted[i], raw[n++]);
	st = manifest_verify(text, len, ota_crypto_libcrypto(), raw, n, now,
	    out, err, errsz);
	free(raw);
	return st;
}

enum ota_status
manifest_parse_verify(const char *text, size_t len,
    struct sign_key *const *trusted, size_t ntrusted, int64_t now,
    struct manifest *out)
{
	return manifest_parse_verify_err(text, len, trusted, ntrusted, now,
	    out, NULL, 0);
}
