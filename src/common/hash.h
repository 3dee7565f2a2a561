/*
 * hash: streaming digests behind one small interface, so that a device
 * build can swap OpenSSL's libcrypto for mbedTLS without touching callers.
 *
 * MD5 exists for ESP wire compatibility only (x-MD5 is a transport
 * checksum, never an authenticity check); SHA-1 for Git blob ids; SHA-256
 * is the digest everything of ours trusts.
 */
#ifndef OTA_HASH_H
#define OTA_HASH_H

#include <stddef.h>

#include <ota/status.h>

enum hash_alg { HASH_SHA256 = 1, HASH_SHA1, HASH_MD5 };

#define HASH_MAX_LEN 32
#define HASH_MD5_LEN 16
#define HASH_SHA1_LEN 20
#define HASH_SHA256_LEN 32

struct hash_ctx;

/* NULL on allocation failure. Free with hash_free (NULL is fine). */
struct hash_ctx *hash_new(enum hash_alg alg);
void hash_free(struct hash_ctx *h);
__attribute__((warn_unused_result))
enum ota_status hash_update(struct hash_ctx *h, const void *p, size_t n);
/* Writes the digest to out (HASH_MAX_LEN bytes room) and its length. */
__attribute__((warn_unused_result))
enum ota_status hash_final(struct hash_ctx *h, unsigned char *out,
    size_t *len);
size_t hash_len(enum hash_alg alg);

/* One-shot helper: digest of p[n] as lower-case hex into hex[2*len+1]. */
__attribute__((warn_unused_result))
enum ota_status hash_hex(enum hash_alg alg, const void *p, size_t n,
    char *hex);

#endif
