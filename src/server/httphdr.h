/*
 * httphdr: the few request-header grammars the server interprets itself:
 * a single byte Range (resume of a download) and If-None-Match. Pure
 * functions over strings, fuzzed in fuzz/fuzz_httphdr.c.
 */
#ifndef OTA_HTTPHDR_H
#define OTA_HTTPHDR_H

#include <stdbool.h>
#include <stdint.h>

enum range_result {
	RANGE_NONE,		/* absent, malformed or multi-range: send it all */
	RANGE_OK,		/* send [*start, *start + *len) as 206 */
	RANGE_UNSATISFIABLE	/* 416 with Content-Range: bytes (star)/size */
};

/*
 * Interprets a Range header value against an object of size bytes. Only
 * one "bytes=" range is honoured; anything else is ignored as RFC 9110
 * allows, so a client always gets a correct answer.
 */
enum range_result range_parse(const char *value, uint64_t size,
    uint64_t *start, uint64_t *len);

/*
 * True if an If-None-Match value matches etag (a quoted strong tag):
 * "*", or any listed tag compared weakly (a W/ prefix ignored).
 */
bool etag_match(const char *if_none_match, const char *etag);

#endif
