/*
 * url: percent-decoding and query-string look-up, without HTTP knowledge.
 *
 * Two decoding modes, because the two AutoConnect routes differ:
 *  - URL_PATH: strict. A bad escape (%zz, a lone %) is OTA_E_INVALID,
 *    '+' is a plain '+'.
 *  - URL_QUERY: lenient, as Python's parse_qs (the reference server):
 *    a bad escape stays literal and '+' is a space.
 * Both refuse a decoded NUL (OTA_E_INVALID): no C string ever hides one.
 */
#ifndef OTA_URL_H
#define OTA_URL_H

#include <stdbool.h>
#include <stddef.h>

#include <ota/status.h>

#include "common/buf.h"

enum url_mode { URL_PATH, URL_QUERY };

/*
 * Decodes s[n] into out[outsz] and NUL-terminates it. OTA_E_TOO_LARGE if
 * it won't fit, OTA_E_INVALID as above.
 */
__attribute__((warn_unused_result))
enum ota_status url_decode(const char *s, size_t n, enum url_mode mode,
    char *out, size_t outsz);

/*
 * Looks up key in a raw query string (no leading '?') as parse_qs does:
 * pairs split on '&', keys and values decoded (URL_QUERY), pairs without
 * '=' and pairs with a blank value ignored, the first remaining match wins.
 * OTA_OK with the decoded value in out, OTA_E_NOTFOUND when absent or
 * blank, OTA_E_INVALID / OTA_E_TOO_LARGE from decoding the matching value.
 */
__attribute__((warn_unused_result))
enum ota_status url_query_get(const char *query, const char *key,
    char *out, size_t outsz);

/*
 * Appends s to b percent-encoded: everything but RFC 3986 unreserved
 * characters (and '/' when keep_slash) becomes %XX.
 */
__attribute__((warn_unused_result))
enum ota_status url_encode(struct buf *b, const char *s, bool keep_slash);

#endif
