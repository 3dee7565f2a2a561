#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/banned.h"

#define BUF_MIN_ALLOC 64

void
buf_init(struct buf *b, size_t cap)
{
	b->data = NULL;
	b->len = 0;
	b->alloc = 0;
	b->cap = cap;
}

void
buf_release(struct buf *b)
{
	free(b->data);
	buf_init(b, b->cap);
}

char *
buf_take(struct buf *b, size_t *len)
{
	char *p = b->data;

	if (len != NULL)
		*len = b->len;
	buf_init(b, b->cap);
	return p;
}

static enum ota_status
buf_grow(struct buf *b, size_t n)
{
	size_t need, a;
	char *p;

	if (n > b->cap || b->len > b->cap - n) {
		buf_release(b);
		return OTA_E_TOO_LARGE;
	}
	need = b->len + n + 1;
	if (need <= b->alloc)
		return OTA_OK;
	a = b->alloc ? b->alloc : BUF_MIN_ALLOC;
	while (a < need)
		a = a > SIZE_MAX / 2 ? need : a * 2;
	if (a > b->cap + 1)
		a = b->cap + 1;
	p = realloc(b->data, a);
	if (p == NULL) {
		buf_release(b);
		return OTA_E_NOMEM;
	}
	b->data = p;
	b->alloc = a;
	return OTA_OK;
}

enum ota_status
buf_add(struct buf *b, const void *p, size_t n)
{
	enum ota_status st;

	if ((st = buf_grow(b, n)) != OTA_OK)
		return st;
	if (n > 0)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
	return OTA_OK;
}

enum ota_status
buf_adds(struct buf *b, const char *s)
{
	return buf_add(b, s, strlen(s));
}

enum ota_status
buf_vaddf(struct buf *b, const char *fmt, va_list ap)
{
	enum ota_status st;
	va_list aq;
	int n;

	va_copy(aq, ap);
	n = vsnprintf(NULL, 0, fmt, aq);
	va_end(aq);
	if (n < 0) {
		buf_release(b);
		return OTA_E_INVALID;
	}
	if ((st = buf_grow(b, (size_t)n)) != OTA_OK)
		return st;
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	b->len += (size_t)n;
	return OTA_OK;
}

enum ota_status
buf_addf(struct buf *b, const char *fmt, ...)
{
	enum ota_status st;
	va_list ap;

	va_start(ap, fmt);
	st = buf_vaddf(b, fmt, ap);
	va_end(ap);
	return st;
}
