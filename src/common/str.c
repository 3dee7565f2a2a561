#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/str.h"
#include "common/banned.h"

enum ota_status
str_copy(char *dst, size_t size, const char *src)
{
	size_t n = strlen(src);

	if (size == 0)
		return OTA_E_TOO_LARGE;
	if (n >= size) {
		dst[0] = '\0';
		return OTA_E_TOO_LARGE;
	}
	memcpy(dst, src, n + 1);
	return OTA_OK;
}

bool
str_device_id_valid(const char *id)
{
	size_t n = strlen(id);

	return n > 0 && n <= STR_DEVICE_ID_MAX &&
	    strspn(id, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	    "0123456789._:-") == n;
}

const char *
str_u64(uint64_t v, char out[STR_U64_MAX])
{
	char *p = out + STR_U64_MAX - 1;

	*p = '\0';
	do {
		*--p = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	return p;
}

char *
str_dup(const char *s)
{
	size_t n = strlen(s) + 1;
	char *d = malloc(n);

	if (d != NULL)
		memcpy(d, s, n);
	return d;
}

enum ota_status
str_fmt(char *dst, size_t size, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (size == 0)
		return OTA_E_TOO_LARGE;
	va_start(ap, fmt);
	n = vsnprintf(dst, size, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= size) {
		dst[0] = '\0';
		return OTA_E_TOO_LARGE;
	}
	return OTA_OK;
}

bool
str_read_u64(const char **p, uint64_t *out)
{
	const char *s = *p;
	uint64_t v = 0;

	if (*s < '0' || *s > '9')
		return false;
	for (; *s >= '0' && *s <= '9'; s++) {
		unsigned d = (unsigned)(*s - '0');

		if (v > (UINT64_MAX - d) / 10)
			return false;
		v = v * 10 + d;
	}
	*out = v;
	*p = s;
	return true;
}

enum ota_status
parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	const char *p = s;
	uint64_t v;

	if (s == NULL || !str_read_u64(&p, &v) || *p != '\0' || v < min ||
	    v > max)
		return OTA_E_INVALID;
	*out = v;
	return OTA_OK;
}

bool
str_has_prefix(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

void
str_hex(char *out, const unsigned char *p, size_t n)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < n; i++) {
		out[2 * i] = digits[p[i] >> 4];
		out[2 * i + 1] = digits[p[i] & 0xf];
	}
	out[2 * n] = '\0';
}

enum ota_status
str_vfail(char *err, size_t errsz, enum ota_status st, const char *fmt,
    va_list ap)
{
	int e = errno;
	char *c;

	if (err != NULL && errsz > 0) {
		vsnprintf(err, errsz, fmt, ap);
		for (c = err; *c != '\0'; c++)
			if ((unsigned char)*c < 0x20 || *c == 0x7f)
				*c = '?';
	}
	errno = e;
	return st;
}

enum ota_status
str_fail(char *err, size_t errsz, enum ota_status st, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	st = str_vfail(err, errsz, st, fmt, ap);
	va_end(ap);
	return st;
}

uint64_t
str_hash64(const char *s)
{
	uint64_t h = 1469598103934665603ULL;

	for (; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h;
}

bool
str_printable(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return false;
	return true;
}
