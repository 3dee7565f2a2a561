/*
 * crypto: the digests and the signature check the updater needs, as a
 * small ops struct, so that the core builds without OpenSSL: a device
 * plugs in mbedTLS, a hardware engine or a small portable library, and
 * ota_crypto_libcrypto() (ota/host.h) is OpenSSL's libcrypto.
 *
 * SHA-1 is only for Git blob ids (a GitHub feed's "sha"), which a feed
 * without a signed manifest offers as its one integrity check; SHA-256
 * and Ed25519 are what the signed manifest rests on.
 */
#ifndef OTA_CRYPTO_H
#define OTA_CRYPTO_H

#include <stddef.h>

#include <ota/status.h>

#ifdef __cplusplus
extern "C" {
#endif

enum ota_hash_alg { OTA_HASH_SHA1 = 1, OTA_HASH_SHA256 };

#define OTA_SHA1_LEN 20
#define OTA_SHA256_LEN 32
#define OTA_ED25519_PUBLIC_LEN 32
#define OTA_ED25519_SIG_LEN 64

struct ota_crypto {
	void *ctx;
	/*
	 * Starts a digest: *h is the implementation's until hash_end or
	 * hash_abort. OTA_E_NOMEM, OTA_E_UNSUPPORTED for an unknown alg.
	 */
	enum ota_status (*hash_begin)(void *ctx, enum ota_hash_alg alg,
	    void **h);
	enum ota_status (*hash_update)(void *ctx, void *h, const void *p,
	    size_t n);
	/* Writes the digest (OTA_SHA1_LEN or OTA_SHA256_LEN bytes) to out
	 * and frees h, whatever it returns. */
	enum ota_status (*hash_end)(void *ctx, void *h, unsigned char *out);
	/* Frees h unfinished. NULL is fine. */
	void (*hash_abort)(void *ctx, void *h);
	/*
	 * OTA_OK if sig is a valid Ed25519 signature by pub over msg[n]
	 * (RFC 8032, pure), OTA_E_SIGNATURE if not, another status if the
	 * check itself could not run.
	 */
	enum ota_status (*ed25519_verify)(void *ctx,
	    const unsigned char pub[OTA_ED25519_PUBLIC_LEN], const void *msg,
	    size_t n, const unsigned char sig[OTA_ED25519_SIG_LEN]);
};

#ifdef __cplusplus
}
#endif
#endif
