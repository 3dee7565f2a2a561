/*
 * json: RFC 8259 exactly, no laxer (every rule with the offset it fails
 * at), the token layout, counting mode and the caps, the lookups and the
 * unescaping, json_uint's bounds, and json_iter walking a long array
 * with a small token buffer.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/json.h"

#define NTOK 64

/* A text and its length: some hold NUL bytes, so strlen won't do. */
#define T(s) { s, sizeof(s) - 1 }

struct text {
	const char *s;
	size_t len;
};

static void
accept(void **state)
{
	static const struct {
		struct text t;
		size_t ntok;
	} ok[] = {
		{ T("0"), 1 }, { T("-0"), 1 }, { T("1.5e+10"), 1 },
		{ T("-1E-2"), 1 }, { T("10.01e0"), 1 }, { T("123"), 1 },
		{ T("true"), 1 }, { T("false"), 1 }, { T("null"), 1 },
		{ T("\"\""), 1 }, { T(" [ ] "), 1 }, { T("{}"), 1 },
		{ T("\t\n\r 1 \r\n\t"), 1 }, { T("[1,[2,{}]]"), 5 },
		{ T("{\"a\":{\"b\":[]}}"), 5 },
		{ T("[\"\xc2\x80\", \"\xdf\xbf\"]"), 3 },
		{ T("\"\xe0\xa0\x80\xed\x9f\xbf\""), 1 },
		{ T("\"\xee\x80\x80\xef\xbf\xbf\""), 1 },
		{ T("\"\xf0\x90\x80\x80\xf4\x8f\xbf\xbf\""), 1 },
		{ T("\"\\\"\\\\\\/\\b\\f\\n\\r\\t\""), 1 },
		{ T("\"\\u0000\""), 1 }, { T("\"\\uD83D\\uDE00\""), 1 },
		{ T("\"\\ud83d\\ude00\""), 1 }, { T("\"\\u00e9\\u00E9\""), 1 },
		{ T("\"\x7f\""), 1 }, { T("{\"\":\"\"}"), 3 },
		{ T("{\"a\":1,\"a\":2}"), 5 },
	};
	struct json_tok tok[NTOK];
	struct json j;
	size_t i, errpos;

	(void)state;
	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		print_message("%zu: %s\n", i, ok[i].t.s);
		assert_int_equal(json_parse(&j, ok[i].t.s, ok[i].t.len, tok,
		    NTOK, 0, &errpos), OTA_OK);
		assert_int_equal(j.ntok, ok[i].ntok);
		assert_int_equal(tok[0].next, ok[i].ntok);
		assert_int_equal(json_parse(&j, ok[i].t.s, ok[i].t.len, NULL,
		    0, 0, &errpos), OTA_OK);
		assert_int_equal(j.ntok, ok[i].ntok);
	}
}

static void
reject(void **state)
{
	static const struct {
		struct text t;
		size_t errpos;
	} bad[] = {
		/* Nothing, or more than one value. */
		{ T(""), 0 }, { T("   "), 3 }, { T("1 2"), 2 },
		{ T("[1] x"), 4 }, { T("{} {}"), 3 }, { T("[1]]"), 3 },
		/* Whitespace is four bytes only: no \f, \v, BOM or NBSP. */
		{ T("\f1"), 0 }, { T("\v1"), 0 }, { T("1\f"), 1 },
		{ T("\xef\xbb\xbf" "1"), 0 }, { T("\xc2\xa0" "1"), 0 },
		/* NUL bytes, anywhere. */
		{ T("\0"), 0 }, { T("1\0"), 1 }, { T("[1,\0]"), 3 },
		{ T("\"a\0\""), 2 }, { T("{\"a\0\":1}"), 3 },
		/* Trailing commas and missing parts. */
		{ T("[1,]"), 3 }, { T("{\"a\":1,}"), 7 }, { T("[,1]"), 1 },
		{ T("[,]"), 1 }, { T("{,}"), 1 }, { T("[1 2]"), 3 },
		{ T("{\"a\" 1}"), 5 }, { T("{\"a\":}"), 5 }, { T("{1:2}"), 1 },
		{ T("{\"a\"}"), 4 }, { T("{\"a\":1 \"b\":2}"), 7 },
		{ T("[1,,2]"), 3 }, { T("{\"a\"::1}"), 5 },
		/* Unterminated or mismatched. */
		{ T("["), 1 }, { T("{"), 1 }, { T("[1"), 2 }, { T("]"), 0 },
		{ T("[}"), 1 }, { T("{]"), 1 }, { T("[1}"), 2 },
		{ T("{\"a\":1]"), 6 }, { T("[[]"), 3 }, { T("\"abc"), 4 },
		/* Numbers. */
		{ T("01"), 1 }, { T("-01"), 2 }, { T("00"), 1 }, { T("+1"), 0 },
		{ T(".5"), 0 }, { T("1."), 2 }, { T("1.e3"), 2 },
		{ T("1e"), 2 }, { T("1e+"), 3 }, { T("-"), 1 }, { T("--1"), 1 },
		{ T("0x10"), 1 },
		{ T("1.5."), 3 }, { T("-.5"), 1 }, { T("1E--2"), 3 },
		{ T("[01]"), 2 }, { T("NaN"), 0 }, { T("Infinity"), 0 },
		{ T("-Infinity"), 1 },
		/* Literals. */
		{ T("tru"), 3 }, { T("trux"), 3 }, { T("truex"), 4 },
		{ T("nul"), 3 }, { T("True"), 0 }, { T("nil"), 1 },
		{ T("[fals]"), 5 }, { T("'a'"), 0 },
		/* Control bytes in strings, raw. */
		{ T("\"a\x01\""), 2 }, { T("\"\t\""), 1 }, { T("\"\n\""), 1 },
		{ T("\"\x1f\""), 1 },
		/* Escapes. */
		{ T("\"\\x\""), 2 }, { T("\"\\U0041\""), 2 },
		{ T("\"\\'\""), 2 },
		{ T("\"\\a\""), 2 }, { T("\"\\0\""), 2 }, { T("\"\\"), 2 },
		{ T("\"\\u12\""), 5 }, { T("\"\\u12G4\""), 5 },
		{ T("\"\\u\""), 3 }, { T("\"\\u004"), 6 },
		/* Surrogates: lone, unpaired, misordered. */
		{ T("\"\\uDC00\""), 1 }, { T("\"\\uDFFF\""), 1 },
		{ T("\"\\uD800\""), 7 }, { T("\"\\uDBFF\""), 7 },
		{ T("\"\\uD800\\u0041\""), 7 }, { T("\"\\uD800\\uD800\""), 7 },
		{ T("\"\\uDE00\\uD83D\""), 1 }, { T("\"\\uD800x\""), 7 },
		{ T("\"\\uD800\\n\""), 7 }, { T("\"\\uD800\\uDC0"), 12 },
		{ T("\"a\\uD83Dz\\uDE00\""), 8 },
		/* UTF-8: stray, overlong, surrogate, too big, truncated. */
		{ T("\"\x80\""), 1 }, { T("\"\xbf\""), 1 },
		{ T("\"\xc0\xaf\""), 1 }, { T("\"\xc1\xbf\""), 1 },
		{ T("\"\xe0\x80\xaf\""), 2 }, { T("\"\xe0\x9f\xbf\""), 2 },
		{ T("\"\xf0\x80\x80\xaf\""), 2 },
		{ T("\"\xf0\x8f\xbf\xbf\""), 2 },
		{ T("\"\xed\xa0\x80\""), 2 }, { T("\"\xed\xbf\xbf\""), 2 },
		{ T("\"\xf4\x90\x80\x80\""), 2 },
		{ T("\"\xf5\x80\x80\x80\""), 1 },
		{ T("\"\xf8\x88\x80\x80\x80\""), 1 }, { T("\"\xff\""), 1 },
		{ T("\"\xfe\""), 1 }, { T("\"\xe2\x82\""), 3 },
		{ T("\"\xe2\x82"), 3 }, { T("\"\xc3"), 2 },
		{ T("\"\xc3\x28\""), 2 }, { T("\"\xf0\x9f\x98\""), 4 },
		{ T("\"\xe2\x82\xac\x80\""), 4 },
	};
	struct json_tok tok[NTOK];
	struct json j;
	size_t i, errpos;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		print_message("%zu\n", i);
		errpos = SIZE_MAX;
		assert_int_equal(json_parse(&j, bad[i].t.s, bad[i].t.len, tok,
		    NTOK, 0, &errpos), OTA_E_INVALID);
		assert_int_equal(errpos, bad[i].errpos);
		assert_int_equal(j.ntok, 0);
		errpos = SIZE_MAX;
		assert_int_equal(json_parse(&j, bad[i].t.s, bad[i].t.len, NULL,
		    0, 0, &errpos), OTA_E_INVALID);
		assert_int_equal(errpos, bad[i].errpos);
	}
	/* errpos is optional. */
	assert_int_equal(json_parse(&j, "[1,]", 4, tok, NTOK, 0, NULL),
	    OTA_E_INVALID);
}

static void
assert_tok(const struct json_tok *t, enum json_type type, size_t start,
    size_t end, size_t size, size_t next)
{
	assert_int_equal(t->type, type);
	assert_int_equal(t->start, start);
	assert_int_equal(t->end, end);
	assert_int_equal(t->size, size);
	assert_int_equal(t->next, next);
}

static const char nested[] = "{\"a\":[1,{\"b\":null}],\"c\":\"x\\\"y\"}";

static void
layout(void **state)
{
	struct json_tok tok[NTOK];
	struct json j;

	(void)state;
	assert_int_equal(json_parse(&j, nested, strlen(nested), tok, NTOK, 0,
	    NULL), OTA_OK);
	assert_ptr_equal(j.text, nested);
	assert_int_equal(j.len, strlen(nested));
	assert_ptr_equal(j.tok, tok);
	assert_int_equal(j.ntok, 9);
	assert_tok(&tok[0], JSON_OBJECT, 0, 31, 2, 9);
	assert_tok(&tok[1], JSON_STRING, 2, 3, 0, 2);		/* "a" */
	assert_tok(&tok[2], JSON_ARRAY, 5, 19, 2, 7);
	assert_tok(&tok[3], JSON_NUMBER, 6, 7, 0, 4);
	assert_tok(&tok[4], JSON_OBJECT, 8, 18, 1, 7);
	assert_tok(&tok[5], JSON_STRING, 10, 11, 0, 6);	/* "b" */
	assert_tok(&tok[6], JSON_NULL, 13, 17, 0, 7);
	assert_tok(&tok[7], JSON_STRING, 21, 22, 0, 8);	/* "c" */
	assert_tok(&tok[8], JSON_STRING, 25, 29, 0, 9);	/* raw x\"y */
	assert_int_equal(nested[tok[8].end], '"');
	/* Literals and a top-level scalar. */
	assert_int_equal(json_parse(&j, " [true,false,-1.5e3] ", 21, tok,
	    NTOK, 0, NULL), OTA_OK);
	assert_tok(&tok[0], JSON_ARRAY, 1, 20, 3, 4);
	assert_tok(&tok[1], JSON_TRUE, 2, 6, 0, 2);
	assert_tok(&tok[2], JSON_FALSE, 7, 12, 0, 3);
	assert_tok(&tok[3], JSON_NUMBER, 13, 19, 0, 4);
}

static void
counting(void **state)
{
	struct json_tok tok[NTOK];
	struct json j;
	size_t errpos = SIZE_MAX;

	(void)state;
	assert_int_equal(json_parse(&j, nested, strlen(nested), NULL, 0, 0,
	    &errpos), OTA_OK);
	assert_int_equal(j.ntok, 9);
	assert_null(j.tok);
	assert_int_equal(errpos, SIZE_MAX);	/* untouched on success */
	/* cap means nothing without tokens. */
	assert_int_equal(json_parse(&j, nested, strlen(nested), NULL, 1, 0,
	    NULL), OTA_OK);
	assert_int_equal(j.ntok, 9);
	/* Exactly the cap the count asked for is enough; one less is not. */
	assert_int_equal(json_parse(&j, nested, strlen(nested), tok, 9, 0,
	    NULL), OTA_OK);
	assert_int_equal(json_parse(&j, nested, strlen(nested), tok, 8, 0,
	    &errpos), OTA_E_TOO_LARGE);
	assert_int_equal(errpos, 24);		/* the 9th token's quote */
	assert_int_equal(j.ntok, 0);
	assert_int_equal(json_parse(&j, "[1,2,3]", 7, tok, 3, 0, &errpos),
	    OTA_E_TOO_LARGE);
	assert_int_equal(errpos, 5);
	assert_int_equal(json_parse(&j, "1", 1, tok, 0, 0, &errpos),
	    OTA_E_TOO_LARGE);
	assert_int_equal(errpos, 0);
	assert_int_equal(json_parse(&j, "[1,true]", 8, tok, 2, 0, &errpos),
	    OTA_E_TOO_LARGE);
	assert_int_equal(errpos, 3);
	assert_int_equal(json_parse(&j, "[true,{}]", 9, tok, 2, 0, &errpos),
	    OTA_E_TOO_LARGE);
	assert_int_equal(errpos, 6);
	/* A fault before the cap is still a fault. */
	assert_int_equal(json_parse(&j, "[01,2,3]", 8, tok, 2, 0, &errpos),
	    OTA_E_INVALID);
	assert_int_equal(errpos, 2);
}

/* n arrays nested around a 1. */
static char *
deep(size_t n, size_t *len)
{
	char *s = malloc(2 * n + 2);
	size_t i;

	assert_non_null(s);
	for (i = 0; i < n; i++) {
		s[i] = '[';
		s[n + 1 + i] = ']';
	}
	s[n] = '1';
	s[2 * n + 1] = '\0';
	*len = 2 * n + 1;
	return s;
}

static void
depth(void **state)
{
	struct json_tok tok[NTOK];
	struct json j;
	size_t len, errpos;
	char *s;

	(void)state;
	assert_int_equal(json_parse(&j, "[[[1]]]", 7, tok, NTOK, 3, NULL),
	    OTA_OK);
	assert_int_equal(json_parse(&j, "[[[1]]]", 7, tok, NTOK, 2, &errpos),
	    OTA_E_TOO_LARGE);
	assert_int_equal(errpos, 2);
	assert_int_equal(json_parse(&j, "[[[1]]]", 7, NULL, 0, 2, &errpos),
	    OTA_E_TOO_LARGE);
	assert_int_equal(errpos, 2);
	assert_int_equal(json_parse(&j, "{\"a\":{}}", 8, tok, NTOK, 1,
	    &errpos), OTA_E_TOO_LARGE);
	assert_int_equal(errpos, 5);
	assert_int_equal(json_parse(&j, "[1]", 3, tok, NTOK, 1, NULL), OTA_OK);
	assert_int_equal(json_parse(&j, "1", 1, tok, NTOK, 1, NULL), OTA_OK);
	/* The first fault wins, whichever kind. */
	assert_int_equal(json_parse(&j, "[[[", 3, tok, NTOK, 2, &errpos),
	    OTA_E_TOO_LARGE);
	assert_int_equal(json_parse(&j, "[x[[", 4, tok, NTOK, 2, &errpos),
	    OTA_E_INVALID);
	/* 0 is JSON_MAX_DEPTH. */
	s = deep(JSON_MAX_DEPTH, &len);
	assert_int_equal(json_parse(&j, s, len, NULL, 0, 0, NULL), OTA_OK);
	assert_int_equal(j.ntok, JSON_MAX_DEPTH + 1);
	free(s);
	s = deep(JSON_MAX_DEPTH + 1, &len);
	assert_int_equal(json_parse(&j, s, len, NULL, 0, 0, &errpos),
	    OTA_E_TOO_LARGE);
	assert_int_equal(errpos, JSON_MAX_DEPTH);
	assert_int_equal(json_parse(&j, s, len, NULL, 0, JSON_MAX_DEPTH + 1,
	    NULL), OTA_OK);
	free(s);
	/* Above 1024 the fixed nesting stack is the cap, whatever is asked. */
	s = deep(1024, &len);
	assert_int_equal(json_parse(&j, s, len, NULL, 0, 5000, NULL), OTA_OK);
	free(s);
	s = deep(1025, &len);
	assert_int_equal(json_parse(&j, s, len, NULL, 0, 5000, &errpos),
	    OTA_E_TOO_LARGE);
	assert_int_equal(errpos, 1024);
	free(s);
}

static void
lookups(void **state)
{
	static const char text[] = "{\"t\\u0061g\":\"v\",\"a\\\"b\":1,"
	    "\"tag\":\"second\",\"o\":{\"k\":[10,20]},\"n\\u0000\":2,"
	    "\"\\uD83D\\uDE00\":3}";
	struct json_tok tok[NTOK];
	struct json j;
	size_t o, k;

	(void)state;
	assert_int_equal(json_parse(&j, text, strlen(text), tok, NTOK, 0,
	    NULL), OTA_OK);
	/* By unescaped key, the first match. */
	assert_int_equal(json_get(&j, 0, "tag"), 2);
	assert_true(json_eq(&j, 2, "v"));
	assert_true(json_eq(&j, 1, "tag"));
	assert_int_equal(json_get(&j, 0, "a\"b"), 4);
	assert_int_equal(json_get(&j, 0, "\xf0\x9f\x98\x80"), 16);
	assert_int_equal(json_get(&j, 0, "t\\u0061g"), JSON_NONE);
	assert_int_equal(json_get(&j, 0, "ta"), JSON_NONE);
	assert_int_equal(json_get(&j, 0, "tagx"), JSON_NONE);
	assert_int_equal(json_get(&j, 0, ""), JSON_NONE);
	/* A key holding NUL matches no C string, not even its prefix. */
	assert_int_equal(json_get(&j, 0, "n"), JSON_NONE);
	assert_false(json_eq(&j, 13, "n"));
	/* Nested, and past a subtree. */
	o = json_get(&j, 0, "o");
	assert_int_equal(o, 8);
	assert_int_equal(json_get(&j, o, "k"), 10);
	assert_int_equal(json_get(&j, 0, "k"), JSON_NONE);
	assert_int_equal(json_get(&j, 10, "k"), JSON_NONE); /* an array */
	assert_int_equal(json_get(&j, 2, "k"), JSON_NONE);	/* a string */
	assert_int_equal(json_get(&j, JSON_NONE, "k"), JSON_NONE);
	assert_int_equal(json_get(&j, 99, "k"), JSON_NONE);
	/* Children: key tokens of an object, elements of an array. */
	assert_int_equal(json_child(&j, 0, 0), 1);
	assert_int_equal(json_child(&j, 0, 1), 3);
	assert_int_equal(json_child(&j, 0, 3), 7);
	assert_true(json_eq(&j, json_child(&j, 0, 3), "o"));
	assert_int_equal(json_child(&j, 0, 4), 13);
	assert_int_equal(json_child(&j, 0, 5), 15);
	assert_int_equal(json_child(&j, 0, 6), JSON_NONE);
	k = json_get(&j, o, "k");
	assert_int_equal(json_child(&j, k, 0), 11);
	assert_int_equal(json_child(&j, k, 1), 12);
	assert_int_equal(json_child(&j, k, 2), JSON_NONE);
	assert_int_equal(json_child(&j, 2, 0), JSON_NONE);
	assert_int_equal(json_child(&j, JSON_NONE, 0), JSON_NONE);
	/* json_eq only on strings. */
	assert_false(json_eq(&j, 0, "tag"));
	assert_false(json_eq(&j, 4, "1"));
	assert_false(json_eq(&j, JSON_NONE, ""));
	assert_true(json_eq(&j, 3, "a\"b"));
	assert_false(json_eq(&j, 3, "a\\\"b"));
}

static void
strings(void **state)
{
	static const char text[] = "[\"\\u0000\",\"a\\u0000b\","
	    "\"\\uD83D\\uDE00\",\"\\u00e9\\u20AC\","
	    "\"\\\"\\\\\\/\\b\\f\\n\\r\\t\","
	    "\"abc\",\"\",\"\xc3\xa9 raw\",1]";
	struct json_tok tok[NTOK];
	struct json j;
	char out[16];
	size_t n;

	(void)state;
	assert_int_equal(json_parse(&j, text, strlen(text), tok, NTOK, 0,
	    NULL), OTA_OK);
	assert_int_equal(json_string(&j, 1, out, sizeof(out), &n), OTA_OK);
	assert_int_equal(n, 1);
	assert_memory_equal(out, "\0", 2);
	assert_int_equal(json_string(&j, 2, out, sizeof(out), &n), OTA_OK);
	assert_int_equal(n, 3);
	assert_memory_equal(out, "a\0b", 4);
	assert_int_equal(json_string(&j, 3, out, sizeof(out), &n), OTA_OK);
	assert_string_equal(out, "\xf0\x9f\x98\x80");
	assert_int_equal(json_string(&j, 4, out, sizeof(out), &n), OTA_OK);
	assert_string_equal(out, "\xc3\xa9\xe2\x82\xac");
	assert_int_equal(n, 5);
	assert_int_equal(json_string(&j, 5, out, sizeof(out), NULL), OTA_OK);
	assert_string_equal(out, "\"\\/\b\f\n\r\t");
	assert_int_equal(json_string(&j, 7, out, sizeof(out), &n), OTA_OK);
	assert_int_equal(n, 0);
	assert_string_equal(out, "");
	assert_int_equal(json_string(&j, 8, out, sizeof(out), &n), OTA_OK);
	assert_string_equal(out, "\xc3\xa9 raw");
	/* Too small: room for the NUL too, or nothing (emptied). */
	assert_int_equal(json_string(&j, 6, out, 4, &n), OTA_OK);
	assert_string_equal(out, "abc");
	assert_int_equal(json_string(&j, 6, out, 3, &n), OTA_E_TOO_LARGE);
	assert_string_equal(out, "");
	assert_int_equal(n, 0);
	assert_int_equal(json_string(&j, 7, out, 0, &n), OTA_E_TOO_LARGE);
	assert_int_equal(json_string(&j, 7, out, 1, &n), OTA_OK);
	/* A multi-byte character does not get cut in half. */
	assert_int_equal(json_string(&j, 3, out, 4, &n), OTA_E_TOO_LARGE);
	assert_string_equal(out, "");
	assert_int_equal(json_string(&j, 3, out, 5, &n), OTA_OK);
	assert_int_equal(json_string(&j, 4, out, 5, &n), OTA_E_TOO_LARGE);
	assert_int_equal(json_string(&j, 4, out, 6, &n), OTA_OK);
	/* Not a string. */
	assert_int_equal(json_string(&j, 0, out, sizeof(out), &n),
	    OTA_E_INVALID);
	assert_int_equal(json_string(&j, 9, out, sizeof(out), &n),
	    OTA_E_INVALID);
	assert_int_equal(json_string(&j, JSON_NONE, out, sizeof(out), &n),
	    OTA_E_INVALID);
	assert_int_equal(json_string(&j, 10, out, sizeof(out), &n),
	    OTA_E_INVALID);
}

static void
uints(void **state)
{
	static const char text[] = "[0,255,256,18446744073709551615,"
	    "18446744073709551616,-1,1e3,1.0,-0,99999999999999999999999,"
	    "\"1\",1E0]";
	struct json_tok tok[NTOK];
	struct json j;
	uint64_t v;

	(void)state;
	assert_int_equal(json_parse(&j, text, strlen(text), tok, NTOK, 0,
	    NULL), OTA_OK);
	assert_int_equal(json_uint(&j, 1, 255, &v), OTA_OK);
	assert_int_equal(v, 0);
	assert_int_equal(json_uint(&j, 2, 255, &v), OTA_OK);
	assert_int_equal(v, 255);
	v = 7;
	assert_int_equal(json_uint(&j, 3, 255, &v), OTA_E_TOO_LARGE);
	assert_int_equal(v, 7);
	assert_int_equal(json_uint(&j, 3, 256, &v), OTA_OK);
	assert_int_equal(v, 256);
	assert_int_equal(json_uint(&j, 4, UINT64_MAX, &v), OTA_OK);
	assert_true(v == UINT64_MAX);
	assert_int_equal(json_uint(&j, 4, UINT64_MAX - 1, &v),
	    OTA_E_TOO_LARGE);
	assert_int_equal(json_uint(&j, 5, UINT64_MAX, &v), OTA_E_TOO_LARGE);
	assert_int_equal(json_uint(&j, 6, UINT64_MAX, &v), OTA_E_INVALID);
	assert_int_equal(json_uint(&j, 7, UINT64_MAX, &v), OTA_E_INVALID);
	assert_int_equal(json_uint(&j, 8, UINT64_MAX, &v), OTA_E_INVALID);
	assert_int_equal(json_uint(&j, 9, UINT64_MAX, &v), OTA_E_INVALID);
	assert_int_equal(json_uint(&j, 10, UINT64_MAX, &v), OTA_E_TOO_LARGE);
	assert_int_equal(json_uint(&j, 11, UINT64_MAX, &v), OTA_E_INVALID);
	assert_int_equal(json_uint(&j, 12, UINT64_MAX, &v), OTA_E_INVALID);
	assert_int_equal(json_uint(&j, 0, UINT64_MAX, &v), OTA_E_INVALID);
	assert_int_equal(json_uint(&j, JSON_NONE, UINT64_MAX, &v),
	    OTA_E_INVALID);
	assert_int_equal(json_uint(&j, 13, UINT64_MAX, &v), OTA_E_INVALID);
}

/* Walks text to its end; the count, or the failing status. */
static enum ota_status
walk(const char *text, size_t *count, size_t *errpos)
{
	struct json_tok tok[NTOK];
	struct json_iter it;
	struct json j;
	enum ota_status st;

	if ((st = json_iter_begin(&it, text, strlen(text), 0)) != OTA_OK)
		return st;
	while ((st = json_iter_next(&it, &j, tok, NTOK, errpos)) == OTA_OK)
		assert_int_equal(it.count, ++*count);
	return st;
}

static void
iter(void **state)
{
	static const char text[] = "[ {\"a\":1} , [2] ]";
	struct json_tok tok[NTOK];
	struct json_iter it;
	struct json j;
	size_t n = 0, errpos;

	(void)state;
	assert_int_equal(walk("[]", &n, NULL), OTA_E_NOTFOUND);
	assert_int_equal(n, 0);
	assert_int_equal(walk(" \n[ \t] \r\n", &n, NULL), OTA_E_NOTFOUND);
	assert_int_equal(n, 0);
	assert_int_equal(json_iter_begin(&it, " [ 1 ] ", 7, 0), OTA_OK);
	assert_int_equal(json_iter_next(&it, &j, tok, NTOK, NULL), OTA_OK);
	assert_int_equal(j.ntok, 1);
	assert_tok(&tok[0], JSON_NUMBER, 3, 4, 0, 1);
	assert_int_equal(json_iter_next(&it, &j, tok, NTOK, NULL),
	    OTA_E_NOTFOUND);
	assert_int_equal(json_iter_next(&it, &j, tok, NTOK, NULL),
	    OTA_E_NOTFOUND);
	assert_int_equal(it.count, 1);
	/* Offsets stay relative to the whole text. */
	assert_int_equal(json_iter_begin(&it, text, strlen(text), 0), OTA_OK);
	assert_int_equal(json_iter_next(&it, &j, tok, NTOK, NULL), OTA_OK);
	assert_ptr_equal(j.text, text);
	assert_int_equal(j.ntok, 3);
	assert_tok(&tok[0], JSON_OBJECT, 2, 9, 1, 3);
	assert_int_equal(json_get(&j, 0, "a"), 2);
	assert_int_equal(json_iter_next(&it, &j, tok, NTOK, NULL), OTA_OK);
	assert_int_equal(j.ntok, 2);
	assert_tok(&tok[0], JSON_ARRAY, 12, 15, 1, 2);
	assert_tok(&tok[1], JSON_NUMBER, 13, 14, 0, 2);
	assert_int_equal(json_iter_next(&it, &j, tok, NTOK, NULL),
	    OTA_E_NOTFOUND);
	assert_int_equal(it.count, 2);
	assert_true(it.done);
	/* Counting mode works per element too. */
	assert_int_equal(json_iter_begin(&it, text, strlen(text), 0), OTA_OK);
	assert_int_equal(json_iter_next(&it, &j, NULL, 0, NULL), OTA_OK);
	assert_int_equal(j.ntok, 3);
	/* Too few tokens: the same call with more succeeds. */
	assert_int_equal(json_iter_begin(&it, text, strlen(text), 0), OTA_OK);
	assert_int_equal(json_iter_next(&it, &j, tok, 2, &errpos),
	    OTA_E_TOO_LARGE);
	assert_int_equal(errpos, 7);
	assert_int_equal(json_iter_next(&it, &j, tok, 3, NULL), OTA_OK);
	assert_int_equal(json_iter_next(&it, &j, tok, 3, NULL), OTA_OK);
	assert_int_equal(it.count, 2);
}

static void
iter_malformed(void **state)
{
	static const struct {
		const char *s;
		size_t good;	/* elements before the fault */
		size_t errpos;
	} bad[] = {
		{ "[1 2]", 1, 3 },		/* missing comma */
		{ "[1,]", 1, 3 },		/* trailing comma */
		{ "[1,2,]", 2, 5 },
		{ "[1", 1, 2 },			/* unterminated */
		{ "[1,", 1, 3 },
		{ "[{\"a\":1}", 1, 8 },
		{ "[{\"a\":1]", 0, 7 },
		{ "[1,2] x", 2, 6 },		/* trailing garbage */
		{ "[] []", 0, 3 },
		{ "[1]]", 1, 3 },
		{ "[1],", 1, 3 },
		{ "[", 0, 1 },
		{ "[,1]", 0, 1 },
		{ "[,]", 0, 1 },
		{ "[1,,2]", 1, 3 },
		{ "[01]", 1, 2 },		/* "0", then junk */
		{ "[\"\\uD800\"]", 0, 8 },
		{ "[1}", 1, 2 },
	};
	struct json_tok tok[NTOK];
	struct json j;
	size_t i, n, errpos, perr;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		print_message("%s\n", bad[i].s);
		n = 0;
		errpos = SIZE_MAX;
		assert_int_equal(walk(bad[i].s, &n, &errpos), OTA_E_INVALID);
		assert_int_equal(n, bad[i].good);
		assert_int_equal(errpos, bad[i].errpos);
		/* The same verdict and offset as a whole parse. */
		assert_int_equal(json_parse(&j, bad[i].s, strlen(bad[i].s), tok,
		    NTOK, 0, &perr), OTA_E_INVALID);
		assert_int_equal(perr, errpos);
	}
	/* Not an array at all: refused at the start. */
	n = 0;
	assert_int_equal(walk("{}", &n, NULL), OTA_E_INVALID);
	assert_int_equal(walk("", &n, NULL), OTA_E_INVALID);
	assert_int_equal(walk("  ", &n, NULL), OTA_E_INVALID);
	assert_int_equal(walk("1", &n, NULL), OTA_E_INVALID);
	assert_int_equal(walk("\xef\xbb\xbf[]", &n, NULL), OTA_E_INVALID);
	/* Depth as json_parse: the array itself is the first level. */
	{
		struct json_iter it;

		assert_int_equal(json_iter_begin(&it, "[[1],[[2]]]", 11, 2),
		    OTA_OK);
		assert_int_equal(json_iter_next(&it, &j, tok, NTOK, NULL),
		    OTA_OK);
		assert_int_equal(json_iter_next(&it, &j, tok, NTOK, &errpos),
		    OTA_E_TOO_LARGE);
		assert_int_equal(errpos, 6);
		assert_int_equal(json_parse(&j, "[[1],[[2]]]", 11, tok, NTOK,
		    2, &perr), OTA_E_TOO_LARGE);
		assert_int_equal(perr, 6);
		assert_int_equal(json_iter_begin(&it, "[[1]]", 5, 1), OTA_OK);
		assert_int_equal(json_iter_next(&it, &j, tok, NTOK, NULL),
		    OTA_E_TOO_LARGE);
	}
}

/* 10,000 elements, one element's tokens at a time. */
static void
iter_long(void **state)
{
	enum { N = 10000 };
	struct json_tok tok[16];
	struct json_iter it;
	struct json j;
	char *text = malloc(N * 32);
	size_t len, i;
	uint64_t v;

	(void)state;
	assert_non_null(text);
	len = (size_t)sprintf(text, "[");
	for (i = 0; i < N; i++)
		len += (size_t)sprintf(text + len,
		    "%s{\"i\":%zu,\"s\":[\"x\"]}", i ? ",\n" : "", i);
	len += (size_t)sprintf(text + len, "]\n");
	/* Whole, it needs far more than 16 tokens. */
	assert_int_equal(json_parse(&j, text, len, tok, 16, 0, NULL),
	    OTA_E_TOO_LARGE);
	assert_int_equal(json_parse(&j, text, len, NULL, 0, 0, NULL), OTA_OK);
	assert_int_equal(j.ntok, 1 + N * 6);
	assert_int_equal(json_iter_begin(&it, text, len, 0), OTA_OK);
	for (i = 0; i < N; i++) {
		assert_int_equal(json_iter_next(&it, &j, tok, 16, NULL),
		    OTA_OK);
		assert_int_equal(j.ntok, 6);
		assert_int_equal(json_uint(&j, json_get(&j, 0, "i"), N, &v),
		    OTA_OK);
		assert_int_equal(v, i);
	}
	assert_int_equal(json_iter_next(&it, &j, tok, 16, NULL),
	    OTA_E_NOTFOUND);
	assert_int_equal(it.count, N);
	free(text);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(accept),
		cmocka_unit_test(reject),
		cmocka_unit_test(layout),
		cmocka_unit_test(counting),
		cmocka_unit_test(depth),
		cmocka_unit_test(lookups),
		cmocka_unit_test(strings),
		cmocka_unit_test(uints),
		cmocka_unit_test(iter),
		cmocka_unit_test(iter_malformed),
		cmocka_unit_test(iter_long),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
