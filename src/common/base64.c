/*
 * base64: table-free, so the decoder's accept set is visible in one
 * function (sextet) rather than in a 256-entry table.
 */
#include <stdbool.h>
#include <string.h>

#include "common/base64.h"
#include "common/banned.h"

static const char alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* The 6-bit value of c; -1 if c is not in the alphabet ('=' is not). */
static int
sextet(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

enum ota_status
base64_encode(const void *p, size_t n, char *out, size_t outsz)
{
	const unsigned char *in = p;
	size_t i, o = 0;

	if (outsz == 0)
		return OTA_E_TOO_LARGE;
	if (n > (((size_t)-1) - 1) / 4 * 3 - 2 ||
	    outsz < BASE64_ENCODED_LEN(n) + 1) {
		out[0] = '\0';
		return OTA_E_TOO_LARGE;
	}
	for (i = 0; i + 2 < n; i += 3) {
		unsigned long v = (unsigned long)in[i] << 16 |
		    (unsigned long)in[i + 1] << 8 | in[i + 2];

		out[o++] = alphabet[v >> 18 & 0x3f];
		out[o++] = alphabet[v >> 12 & 0x3f];
		out[o++] = alphabet[v >> 6 & 0x3f];
		out[o++] = alphabet[v & 0x3f];
	}
	if (i < n) {
		unsigned long v = (unsigned long)in[i] << 16;

		if (i + 1 < n)
			v |= (unsigned long)in[i + 1] << 8;
		out[o++] = alphabet[v >> 18 & 0x3f];
		out[o++] = alphabet[v >> 12 & 0x3f];
		out[o++] = i + 1 < n ? alphabet[v >> 6 & 0x3f] : '=';
		out[o++] = '=';
	}
	out[o] = '\0';
	return OTA_OK;
}

enum ota_status
base64_decode(const char *s, unsigned char *out, size_t outsz,
    size_t *outlen)
{
	size_t len = strlen(s), pad = 0, i, o = 0;

	*outlen = 0;
	if (len % 4 != 0)
		return OTA_E_INVALID;
	if (len > 0 && s[len - 1] == '=')
		pad = len > 1 && s[len - 2] == '=' ? 2 : 1;
	if (BASE64_DECODED_MAX(len) - pad > outsz)
		return OTA_E_TOO_LARGE;
	for (i = 0; i < len; i += 4) {
		bool last = i + 4 == len;
		unsigned long v = 0;
		int k;

		for (k = 0; k < 4; k++) {
			int d;

			if (last && k >= 4 - (int)pad)
				d = 0;
			else if ((d = sextet(s[i + (size_t)k])) < 0)
				return OTA_E_INVALID;
			v = v << 6 | (unsigned long)d;
		}
		/* RFC 4648 §3.5: the bits the padding stands for are zero. */
		if (last && ((pad == 1 && (v & 0xff) != 0) ||
		    (pad == 2 && (v & 0xffff) != 0)))
			return OTA_E_INVALID;
		out[o++] = (unsigned char)(v >> 16);
		if (!last || pad < 2)
			out[o++] = (unsigned char)(v >> 8);
		if (!last || pad < 1)
			out[o++] = (unsigned char)v;
	}
	*outlen = o;
	return OTA_OK;
}
