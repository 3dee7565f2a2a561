/*
 * crypto_libcrypto: struct ota_crypto (ota/crypto.h) over OpenSSL 3's EVP
 * interface, the host's implementation (ota/host.h). A digest handle is
 * the EVP_MD_CTX itself, so a hash costs one libcrypto allocation and
 * nothing of ours; the ops struct is const and ctx unused, so there is no
 * state to share between threads. As in sign.c, every libcrypto failure
 * clears the thread's error queue before returning, so it cannot surface
 * later as someone else's error.
 */
#include <stddef.h>

#include <openssl/err.h>
#include <openssl/evp.h>

#include <ota/crypto.h>
#include <ota/host.h>

#include "common/banned.h"

static enum ota_status
libcrypto_hash_begin(void *ctx, enum ota_hash_alg alg, void **h)
{
	const EVP_MD *md;
	EVP_MD_CTX *mc;

	(void)ctx;
	*h = NULL;
	switch (alg) {
	case OTA_HASH_SHA1:	md = EVP_sha1(); break;
	case OTA_HASH_SHA256:	md = EVP_sha256(); break;
	default:		return OTA_E_UNSUPPORTED;
	}
	if ((mc = EVP_MD_CTX_new()) == NULL)
		return OTA_E_NOMEM;
	if (EVP_DigestInit_ex(mc, md, NULL) != 1) {
		EVP_MD_CTX_free(mc);
		ERR_clear_error();
		return OTA_E_IO;
	}
	*h = mc;
	return OTA_OK;
}

static enum ota_status
libcrypto_hash_update(void *ctx, void *h, const void *p, size_t n)
{
	(void)ctx;
	if (n == 0)
		return OTA_OK;
	if (EVP_DigestUpdate(h, p, n) != 1) {
		ERR_clear_error();
		return OTA_E_IO;
	}
	return OTA_OK;
}

static enum ota_status
libcrypto_hash_end(void *ctx, void *h, unsigned char *out)
{
	enum ota_status st = OTA_OK;
	unsigned int n = 0;

	(void)ctx;
	if (h == NULL)
		return OTA_E_INVALID;
	if (EVP_DigestFinal_ex(h, out, &n) != 1) {
		ERR_clear_error();
		st = OTA_E_IO;
	}
	EVP_MD_CTX_free(h);
	return st;
}

static void
libcrypto_hash_abort(void *ctx, void *h)
{
	(void)ctx;
	EVP_MD_CTX_free(h);
}

static enum ota_status
libcrypto_ed25519_verify(void *ctx,
    const unsigned char pub[OTA_ED25519_PUBLIC_LEN], const void *msg,
    size_t n, const unsigned char sig[OTA_ED25519_SIG_LEN])
{
	enum ota_status st = OTA_E_SIGNATURE;
	EVP_MD_CTX *mc;
	EVP_PKEY *pkey;

	(void)ctx;
	/*
	 * libcrypto takes any 32 bytes as a raw Ed25519 public key (the
	 * point is decoded when verifying, and a bad one fails there), so
	 * a failure here is an allocation failing.
	 */
	if ((pkey = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, pub,
	    OTA_ED25519_PUBLIC_LEN)) == NULL) {
		ERR_clear_error();
		return OTA_E_NOMEM;
	}
	if ((mc = EVP_MD_CTX_new()) == NULL) {
		EVP_PKEY_free(pkey);
		return OTA_E_NOMEM;
	}
	/* Ed25519 is "pure": no digest is named, the message goes whole. */
	if (EVP_DigestVerifyInit(mc, NULL, NULL, NULL, pkey) == 1 &&
	    EVP_DigestVerify(mc, sig, OTA_ED25519_SIG_LEN, msg ? msg : "",
	    n) == 1)
		st = OTA_OK;
	else
		ERR_clear_error();
	EVP_MD_CTX_free(mc);
	EVP_PKEY_free(pkey);
	return st;
}

static const struct ota_crypto libcrypto = {
	.ctx = NULL,
	.hash_begin = libcrypto_hash_begin,
	.hash_update = libcrypto_hash_update,
	.hash_end = libcrypto_hash_end,
	.hash_abort = libcrypto_hash_abort,
	.ed25519_verify = libcrypto_ed25519_verify,
};

const struct ota_crypto *
ota_crypto_libcrypto(void)
{
	return &libcrypto;
}
