/*
 * base64: RFC 4648 §4 base64 (the standard alphabet, with padding), for
 * key and signature text in metadata and key files.
 *
 * Decoding is strict, because a signature or key has exactly one text
 * form: the length must be a multiple of 4, only the alphabet and final
 * '=' padding may appear (no whitespace, no line breaks, no URL-safe
 * alphabet), and the unused bits of the last group must be zero (RFC 4648
 * §3.5), so "QQ==" decodes but "QR==" does not. Knows bytes and text,
 * nothing about keys.
 */
#ifndef OTA_BASE64_H
#define OTA_BASE64_H

#include <stddef.h>

#include <ota/status.h>

/* Characters in the encoding of n bytes, without the NUL. */
#define BASE64_ENCODED_LEN(n) (((n) + 2) / 3 * 4)
/* The most bytes a text of len characters can decode to. */
#define BASE64_DECODED_MAX(len) ((len) / 4 * 3)

/*
 * Encodes p[n] into out[outsz] as a NUL-terminated string. OTA_E_TOO_LARGE
 * (out emptied) if outsz < BASE64_ENCODED_LEN(n) + 1.
 */
__attribute__((warn_unused_result))
enum ota_status base64_encode(const void *p, size_t n, char *out,
    size_t outsz);

/*
 * Decodes all of the NUL-terminated s into out[outsz], the byte count into
 * *outlen. OTA_E_INVALID for anything but canonical padded base64 (see
 * above), OTA_E_TOO_LARGE if the result won't fit; *outlen is 0 and out
 * unspecified on failure.
 */
__attribute__((warn_unused_result))
enum ota_status base64_decode(const char *s, unsigned char *out,
    size_t outsz, size_t *outlen);

#endif
