/*
 * json: a strict, allocation-free JSON reader for the portable core
 * (libota builds without libcjson, which is host-only). The text is
 * tokenised into a caller-provided array, one token per value (object
 * members are a key token followed by the value's tokens), in document
 * order; nothing is copied until the caller asks for a string.
 *
 * Strict RFC 8259: one value, optional surrounding whitespace; strings
 * must be valid UTF-8 with no raw control byte, escapes well formed and
 * \u surrogates paired; numbers as the grammar says; nesting capped. A
 * parse either accepts the whole text or says OTA_E_INVALID, with the
 * byte offset of the fault. Thread-safe: no state outside the arguments.
 *
 * A long array need not be tokenised whole: json_iter walks a top-level
 * array one element at a time with a small token array (a 1000-entry
 * GitHub listing then costs one entry's tokens).
 */
#ifndef OTA_JSON_H
#define OTA_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <ota/status.h>

#define JSON_MAX_DEPTH 64	/* default nesting cap */
#define JSON_NONE SIZE_MAX	/* "no such token" from the lookups */

enum json_type {
	JSON_OBJECT = 1,
	JSON_ARRAY,
	JSON_STRING,		/* also an object key */
	JSON_NUMBER,
	JSON_TRUE,
	JSON_FALSE,
	JSON_NULL
};

struct json_tok {
	enum json_type type;
	size_t start;		/* string: after the opening quote; number,
				 * literal: first byte; object/array: the
				 * bracket */
	size_t end;		/* one past: the closing quote, the last
				 * digit, the closing bracket */
	size_t size;		/* object: members; array: elements */
	size_t next;		/* the token after this value's subtree */
};

/* A parsed text. Tokens index into text; both are borrowed. */
struct json {
	const char *text;
	size_t len;
	struct json_tok *tok;
	size_t ntok;
};

/*
 * Parses text[len] as exactly one JSON value into tok[cap]. OTA_OK;
 * OTA_E_INVALID (not JSON; *errpos, if not NULL, gets the offending
 * byte's offset); OTA_E_TOO_LARGE (more than cap tokens, or nesting
 * deeper than max_depth; 0 means JSON_MAX_DEPTH). tok may be NULL to
 * count only: j->ntok then says how many tokens the text needs.
 */
__attribute__((warn_unused_result))
enum ota_status json_parse(struct json *j, const char *text, size_t len,
    struct json_tok *tok, size_t cap, unsigned max_depth, size_t *errpos);

/* A walk over the elements of a top-level array. */
struct json_iter {
	const char *text;
	size_t len;
	size_t pos;		/* next byte to look at */
	size_t count;		/* elements returned so far */
	unsigned max_depth;
	bool done;
};

/*
 * Starts a walk: text must hold one array (after optional whitespace)
 * or OTA_E_INVALID. Only the opening bracket is checked here; each
 * element is checked as it is reached, and the closing bracket and
 * trailing whitespace by the call that finds the end.
 */
__attribute__((warn_unused_result))
enum ota_status json_iter_begin(struct json_iter *it, const char *text,
    size_t len, unsigned max_depth);

/*
 * The next element, parsed into j with tok[cap] as json_parse (token 0
 * is the element; offsets stay relative to the whole text). OTA_OK;
 * OTA_E_NOTFOUND at the end of a well-formed array; OTA_E_INVALID,
 * OTA_E_TOO_LARGE as json_parse. errpos as json_parse.
 */
__attribute__((warn_unused_result))
enum ota_status json_iter_next(struct json_iter *it, struct json *j,
    struct json_tok *tok, size_t cap, size_t *errpos);

/* The value of member key in object token obj, by unescaped key; the
 * first match. JSON_NONE if obj is no object or has no such key. */
size_t json_get(const struct json *j, size_t obj, const char *key);

/* The i-th member (key token) of object obj, or the i-th element of
 * array obj; JSON_NONE past the end. A key's value is key + 1. */
size_t json_child(const struct json *j, size_t obj, size_t i);

/* True if token t is a string (or key) equal, unescaped, to s. */
bool json_eq(const struct json *j, size_t t, const char *s);

/*
 * Unescapes string token t into out[outsz], NUL-terminated; *n (may be
 * NULL) gets its length, which may be less than strlen would say if
 * the text held \u0000. OTA_E_INVALID if t is no string (or JSON_NONE),
 * OTA_E_TOO_LARGE if it does not fit.
 */
__attribute__((warn_unused_result))
enum ota_status json_string(const struct json *j, size_t t, char *out,
    size_t outsz, size_t *n);

/*
 * Number token t as an unsigned integer: digits only (no sign,
 * fraction or exponent) and at most max. OTA_E_INVALID otherwise
 * (also for JSON_NONE or another type); OTA_E_TOO_LARGE above max.
 */
__attribute__((warn_unused_result))
enum ota_status json_uint(const struct json *j, size_t t, uint64_t max,
    uint64_t *out);

#endif
