#include <stdlib.h>

#include <openssl/evp.h>

#include "common/hash.h"
#include "common/str.h"
#include "common/banned.h"

_Static_assert(HASH_SHA256 != 0, "a zeroed alg must never mean a weak hash");

struct hash_ctx {
	EVP_MD_CTX *md;
};

static const EVP_MD *
hash_md(enum hash_alg alg)
{
	switch (alg) {
	case HASH_SHA256:	return EVP_sha256();
	case HASH_SHA1:		return EVP_sha1();
	case HASH_MD5:		return EVP_md5();
	}
	return NULL;
}

size_t
hash_len(enum hash_alg alg)
{
	switch (alg) {
	case HASH_SHA256:	return HASH_SHA256_LEN;
	case HASH_SHA1:		return HASH_SHA1_LEN;
	case HASH_MD5:		return HASH_MD5_LEN;
	}
	return 0;
}

struct hash_ctx *
hash_new(enum hash_alg alg)
{
	const EVP_MD *md = hash_md(alg);
	struct hash_ctx *h;

	if (md == NULL || (h = calloc(1, sizeof(*h))) == NULL)
		return NULL;
	if ((h->md = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestInit_ex(h->md, md, NULL) != 1) {
		hash_free(h);
		return NULL;
	}
	return h;
}

void
hash_free(struct hash_ctx *h)
{
	if (h == NULL)
		return;
	EVP_MD_CTX_free(h->md);
	free(h);
}

enum ota_status
hash_update(struct hash_ctx *h, const void *p, size_t n)
{
	return EVP_DigestUpdate(h->md, p, n) == 1 ? OTA_OK : OTA_E_IO;
}

enum ota_status
hash_final(struct hash_ctx *h, unsigned char *out, size_t *len)
{
	unsigned int n = 0;

	if (EVP_DigestFinal_ex(h->md, out, &n) != 1)
		return OTA_E_IO;
	*len = n;
	return OTA_OK;
}

enum ota_status
hash_hex(enum hash_alg alg, const void *p, size_t n, char *hex)
{
	unsigned char d[HASH_MAX_LEN];
	struct hash_ctx *h = hash_new(alg);
	enum ota_status st;
	size_t len = 0;

	if (h == NULL)
		return OTA_E_NOMEM;
	st = hash_update(h, p, n);
	if (st == OTA_OK)
		st = hash_final(h, d, &len);
	hash_free(h);
	if (st == OTA_OK)
		str_hex(hex, d, len);
	return st;
}
