/*
 * buf: a growable byte buffer with a hard cap set at init (curl's dynbuf).
 *
 * The contents are always NUL-terminated, so buf.data can be used as a C
 * string when no NUL was appended. An append that would pass the cap fails
 * with OTA_E_TOO_LARGE and leaves the buffer empty (freed): a half-built
 * answer is never sent by accident.
 */
#ifndef OTA_BUF_H
#define OTA_BUF_H

#include <stdarg.h>
#include <stddef.h>

#include <ota/status.h>

struct buf {
	char *data;	/* owned; NULL until the first append */
	size_t len;
	size_t alloc;
	size_t cap;	/* the most bytes len may reach */
};

void buf_init(struct buf *b, size_t cap);
/* Frees the storage; the buffer can be appended to again. */
void buf_release(struct buf *b);
/* Hands the storage to the caller (free() it) and re-inits b; NULL if empty. */
char *buf_take(struct buf *b, size_t *len);

__attribute__((warn_unused_result))
enum ota_status buf_add(struct buf *b, const void *p, size_t n);
__attribute__((warn_unused_result))
enum ota_status buf_adds(struct buf *b, const char *s);
__attribute__((warn_unused_result, format(printf, 2, 3)))
enum ota_status buf_addf(struct buf *b, const char *fmt, ...);
__attribute__((warn_unused_result, format(printf, 2, 0)))
enum ota_status buf_vaddf(struct buf *b, const char *fmt, va_list ap);

#endif
