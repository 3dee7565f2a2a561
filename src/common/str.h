/*
 * str: bounded string helpers. glibc 2.36 has neither strlcpy nor strtonum,
 * so these fill the gap; truncation is always an error, never silent.
 */
#ifndef OTA_STR_H
#define OTA_STR_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <ota/status.h>

/* Copies src into dst[size]; OTA_E_TOO_LARGE (dst emptied) if it won't fit. */
__attribute__((warn_unused_result))
enum ota_status str_copy(char *dst, size_t size, const char *src);

#define STR_DEVICE_ID_MAX 64

/*
 * A device's name, as a device reports it and the server files it:
 * 1 to STR_DEVICE_ID_MAX of A-Z a-z 0-9 . _ : - (a MAC, a serial, a host
 * name), so it is safe in a URL path, a log line and a file name.
 */
bool str_device_id_valid(const char *id);

#define STR_U64_MAX 21		/* 18446744073709551615 and NUL */

/*
 * v in decimal, as "%llu" writes it, into out; returns where it starts
 * (within out). For the portable core: newlib-nano's printf has no long
 * long, so nothing whose bytes matter may go through %llu there.
 */
const char *str_u64(uint64_t v, char out[STR_U64_MAX]);

/* A malloc'd copy of s (strdup is POSIX, not C11); NULL if out of memory. */
char *str_dup(const char *s);

/* snprintf into dst[size]; OTA_E_TOO_LARGE (dst emptied) on truncation. */
__attribute__((warn_unused_result, format(printf, 3, 4)))
enum ota_status str_fmt(char *dst, size_t size, const char *fmt, ...);

/*
 * Parses all of s as a decimal integer in [min, max]: no sign, no spaces,
 * no trailing bytes. OTA_E_INVALID otherwise; *out untouched on failure.
 */
__attribute__((warn_unused_result))
enum ota_status parse_u64(const char *s, uint64_t min, uint64_t max,
    uint64_t *out);

/*
 * Reads the decimal digits at *p into *out and moves *p past them. False,
 * with *p and *out untouched, if there is no digit or the value overflows.
 */
bool str_read_u64(const char **p, uint64_t *out);

bool str_has_prefix(const char *s, const char *prefix);

/* Lower-case hex of p[n] into out[2n+1]. */
void str_hex(char *out, const unsigned char *p, size_t n);

/* True if s holds no control byte (< 0x20) and no DEL. */
bool str_printable(const char *s);

/* FNV-1a of s: a cheap, well-spread hash for in-memory tables. */
uint64_t str_hash64(const char *s);

/*
 * Formats a one-line reason into err[errsz] (nothing if err is NULL) and
 * returns st. Names in it may come from untrusted input and the line may
 * end up on a terminal, so every control byte and DEL is shown as '?'.
 * errno is preserved, for callers that report it afterwards.
 */
__attribute__((format(printf, 4, 5)))
enum ota_status str_fail(char *err, size_t errsz, enum ota_status st,
    const char *fmt, ...);
__attribute__((format(printf, 4, 0)))
enum ota_status str_vfail(char *err, size_t errsz, enum ota_status st,
    const char *fmt, va_list ap);

#endif
