/*
 * json: one left-to-right pass, no recursion, no allocation. The open
 * containers are a bit stack on the C stack (object or array per level);
 * with tokens, an open container's token keeps its parent's index in
 * next until its closing bracket sets the real value, so no index stack
 * is needed. Counting mode (tok NULL) runs the same code and writes
 * nothing, so it accepts exactly what a full parse accepts.
 *
 * Strings are checked once, here; json_string and json_eq decode them
 * again with the same escape reader, trusting the parse.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <ota/status.h>

#include "common/json.h"
#include "common/banned.h"

/*
 * The nesting the bit stack can hold (128 bytes of stack). A max_depth
 * above it acts as this: the parser must run in a fixed, small stack on
 * a microcontroller, whatever the caller asks for.
 */
#define JSON_DEPTH_LIMIT 1024

struct parser {
	const unsigned char *s;
	size_t len;
	size_t pos;		/* next byte to look at */
	struct json_tok *tok;	/* NULL: count only */
	size_t cap;
	size_t ntok;
	unsigned max_depth;
	size_t err;		/* offset of the fault */
};

static unsigned
depth_cap(unsigned max_depth)
{
	if (max_depth == 0)
		return JSON_MAX_DEPTH;
	return max_depth > JSON_DEPTH_LIMIT ? JSON_DEPTH_LIMIT : max_depth;
}

static bool
is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

/* RFC 8259's whitespace: nothing else, not even \f or \v. */
static size_t
skip_ws(const unsigned char *s, size_t len, size_t pos)
{
	while (pos < len && (s[pos] == ' ' || s[pos] == '\t' ||
	    s[pos] == '\n' || s[pos] == '\r'))
		pos++;
	return pos;
}

/* The byte at pos, or NUL past the end (a NUL byte is never valid). */
static unsigned char
at(const struct parser *p, size_t pos)
{
	return pos < p->len ? p->s[pos] : '\0';
}

static enum ota_status
fail(struct parser *p, enum ota_status st, size_t pos)
{
	p->err = pos;
	return st;
}

/* Appends a leaf-shaped token; a container's fields are fixed on close. */
static enum ota_status
tok_add(struct parser *p, enum json_type type, size_t start, size_t end)
{
	struct json_tok *t;

	if (p->tok != NULL) {
		if (p->ntok == p->cap)
			return fail(p, OTA_E_TOO_LARGE, start);
		t = &p->tok[p->ntok];
		t->type = type;
		t->start = start;
		t->end = end;
		t->size = 0;
		t->next = p->ntok + 1;
	}
	p->ntok++;
	return OTA_OK;
}

/* How many of the four bytes at s[pos] (before end) are hex digits. */
static size_t
read_hex4(const unsigned char *s, size_t end, size_t pos, uint32_t *v)
{
	size_t n;
	unsigned char c;

	*v = 0;
	for (n = 0; n < 4 && pos + n < end; n++) {
		c = s[pos + n];
		if (is_digit(c))
			*v = *v << 4 | (uint32_t)(c - '0');
		else if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f')
			*v = *v << 4 | (uint32_t)((c | 0x20) - 'a' + 10);
		else
			break;
	}
	return n;
}

/*
 * Reads the escape whose backslash is at s[*pos] into the code point
 * *cp, a \u surrogate pair as one, and moves *pos past it. False, with
 * *pos at the offending byte, if it is malformed: an unknown letter, a
 * short \u, a low surrogate first or a high one without its low half.
 */
static bool
read_escape(const unsigned char *s, size_t end, size_t *pos, uint32_t *cp)
{
	static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
	const char *e;
	size_t i = *pos + 1, n;
	uint32_t lo;

	if (i < end && s[i] != '\0' && (e = strchr(from, s[i])) != NULL) {
		*cp = (unsigned char)to[e - from];
		*pos = i + 1;
		return true;
	}
	if (i >= end || s[i] != 'u') {
		*pos = i;
		return false;
	}
	if ((n = read_hex4(s, end, i + 1, cp)) != 4) {
		*pos = i + 1 + n;
		return false;
	}
	i += 5;
	if (*cp >= 0xdc00 && *cp <= 0xdfff)
		return false;	/* *pos is still at its backslash */
	if (*cp >= 0xd800 && *cp <= 0xdbff) {
		if (i + 1 >= end || s[i] != '\\' || s[i + 1] != 'u') {
			*pos = i;
			return false;
		}
		if ((n = read_hex4(s, end, i + 2, &lo)) != 4) {
			*pos = i + 2 + n;
			return false;
		}
		if (lo < 0xdc00 || lo > 0xdfff) {
			*pos = i;
			return false;
		}
		*cp = 0x10000 + ((*cp - 0xd800) << 10) + (lo - 0xdc00);
		i += 6;
	}
	*pos = i;
	return true;
}

/*
 * The length of the UTF-8 sequence at s[pos] (before end), or 0 with
 * *bad at the offending byte. RFC 3629's table: no overlong form, no
 * UTF-16 surrogate, nothing above U+10FFFF; the narrowed second-byte
 * ranges after E0, ED, F0 and F4 are what enforce that.
 */
static size_t
utf8_len(const unsigned char *s, size_t end, size_t pos, size_t *bad)
{
	unsigned char c = s[pos], lo = 0x80, hi = 0xbf;
	size_t n, i;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		n = 2;
	else if (c >= 0xe0 && c <= 0xef)
		n = 3;
	else if (c >= 0xf0 && c <= 0xf4)
		n = 4;
	else {
		*bad = pos;
		return 0;
	}
	if (c == 0xe0)
		lo = 0xa0;
	else if (c == 0xed)
		hi = 0x9f;
	else if (c == 0xf0)
		lo = 0x90;
	else if (c == 0xf4)
		hi = 0x8f;
	for (i = 1; i < n; i++) {
		if (pos + i >= end || s[pos + i] < lo || s[pos + i] > hi) {
			*bad = pos + i;
			return 0;
		}
		lo = 0x80;
		hi = 0xbf;
	}
	return n;
}

/* A string whose opening quote is at p->pos: one token, key or value. */
static enum ota_status
scan_string(struct parser *p)
{
	size_t i = p->pos + 1, n, bad;
	uint32_t cp;

	for (;;) {
		if (i >= p->len)
			return fail(p, OTA_E_INVALID, p->len);
		if (p->s[i] == '"')
			break;
		if (p->s[i] == '\\') {
			if (!read_escape(p->s, p->len, &i, &cp))
				return fail(p, OTA_E_INVALID, i);
		} else if (p->s[i] < 0x20)
			return fail(p, OTA_E_INVALID, i);
		else if ((n = utf8_len(p->s, p->len, i, &bad)) == 0)
			return fail(p, OTA_E_INVALID, bad);
		else
			i += n;
	}
	if (tok_add(p, JSON_STRING, p->pos + 1, i) != OTA_OK)
		return fail(p, OTA_E_TOO_LARGE, p->pos);
	p->pos = i + 1;
	return OTA_OK;
}

/* -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? and nothing laxer. */
static enum ota_status
scan_number(struct parser *p)
{
	size_t i = p->pos;

	if (at(p, i) == '-')
		i++;
	if (at(p, i) == '0')
		i++;
	else if (is_digit(at(p, i)))
		while (is_digit(at(p, i)))
			i++;
	else
		return fail(p, OTA_E_INVALID, i);
	if (at(p, i) == '.') {
		if (!is_digit(at(p, ++i)))
			return fail(p, OTA_E_INVALID, i);
		while (is_digit(at(p, i)))
			i++;
	}
	if (at(p, i) == 'e' || at(p, i) == 'E') {
		if (at(p, ++i) == '+' || at(p, i) == '-')
			i++;
		if (!is_digit(at(p, i)))
			return fail(p, OTA_E_INVALID, i);
		while (is_digit(at(p, i)))
			i++;
	}
	if (tok_add(p, JSON_NUMBER, p->pos, i) != OTA_OK)
		return OTA_E_TOO_LARGE;
	p->pos = i;
	return OTA_OK;
}

static enum ota_status
scan_literal(struct parser *p, const char *word, enum json_type type)
{
	size_t i, n = strlen(word);

	for (i = 0; i < n; i++)
		if (at(p, p->pos + i) != (unsigned char)word[i])
			return fail(p, OTA_E_INVALID, p->pos + i);
	if (tok_add(p, type, p->pos, p->pos + n) != OTA_OK)
		return OTA_E_TOO_LARGE;
	p->pos += n;
	return OTA_OK;
}

static enum ota_status
scan_scalar(struct parser *p)
{
	unsigned char c = at(p, p->pos);

	if (c == '"')
		return scan_string(p);
	if (c == '-' || is_digit(c))
		return scan_number(p);
	if (c == 't')
		return scan_literal(p, "true", JSON_TRUE);
	if (c == 'f')
		return scan_literal(p, "false", JSON_FALSE);
	if (c == 'n')
		return scan_literal(p, "null", JSON_NULL);
	return fail(p, OTA_E_INVALID, p->pos);
}

/* One more member or element for open container cur. */
static void
grow(struct parser *p, size_t cur)
{
	if (p->tok != NULL)
		p->tok[cur].size++;
}

/* An object member's key and colon, after '{' or ','. */
static enum ota_status
scan_key(struct parser *p, size_t cur)
{
	enum ota_status st;

	p->pos = skip_ws(p->s, p->len, p->pos);
	if (at(p, p->pos) != '"')
		return fail(p, OTA_E_INVALID, p->pos);
	if ((st = scan_string(p)) != OTA_OK)
		return st;
	grow(p, cur);
	p->pos = skip_ws(p->s, p->len, p->pos);
	if (at(p, p->pos) != ':')
		return fail(p, OTA_E_INVALID, p->pos);
	p->pos++;
	return OTA_OK;
}

/*
 * Parses one value at p->pos and the whitespace after it, leaving p->pos
 * at the next byte. want says whether a value is due (else a comma or a
 * closing bracket); objs bit d says level d + 1 is an object.
 */
static enum ota_status
parse_value(struct parser *p)
{
	uint8_t objs[JSON_DEPTH_LIMIT / 8];
	size_t depth = 0, cur = JSON_NONE, t;
	bool want = true, obj = false;
	enum ota_status st;
	unsigned char c;

	for (;;) {
		p->pos = skip_ws(p->s, p->len, p->pos);
		c = at(p, p->pos);
		if (want && depth > 0 && !obj)
			grow(p, cur);		/* an array element */
		if (want && c != '{' && c != '[') {
			if ((st = scan_scalar(p)) != OTA_OK)
				return st;
			want = false;
		} else if (want) {
			if (depth == p->max_depth)
				return fail(p, OTA_E_TOO_LARGE, p->pos);
			obj = c == '{';
			t = p->ntok;
			if ((st = tok_add(p, obj ? JSON_OBJECT : JSON_ARRAY,
			    p->pos, p->pos)) != OTA_OK)
				return st;
			if (p->tok != NULL)
				p->tok[t].next = cur;
			cur = t;
			if (obj)
				objs[depth / 8] |= (uint8_t)(1u << depth % 8);
			else
				objs[depth / 8] &= (uint8_t)~(1u << depth % 8);
			depth++;
			p->pos = skip_ws(p->s, p->len, p->pos + 1);
			if (at(p, p->pos) == (obj ? '}' : ']'))
				want = false;	/* empty: closed below */
			else if (obj && (st = scan_key(p, cur)) != OTA_OK)
				return st;
		} else if (depth == 0)
			return OTA_OK;
		else if (c == ',') {
			p->pos++;
			if (obj && (st = scan_key(p, cur)) != OTA_OK)
				return st;
			want = true;
		} else if (c == (obj ? '}' : ']')) {
			if (p->tok != NULL) {
				t = cur;
				cur = p->tok[t].next;
				p->tok[t].end = p->pos + 1;
				p->tok[t].next = p->ntok;
			}
			p->pos++;
			if (--depth > 0)
				obj = objs[(depth - 1) / 8] >>
				    (depth - 1) % 8 & 1;
		} else
			return fail(p, OTA_E_INVALID, p->pos);
	}
}

static void
parser_init(struct parser *p, const char *text, size_t len, size_t pos,
    struct json_tok *tok, size_t cap, unsigned max_depth)
{
	p->s = (const unsigned char *)text;
	p->len = len;
	p->pos = pos;
	p->tok = tok;
	p->cap = cap;
	p->ntok = 0;
	/* Past the limit objs[] would overflow: clamp, even for a bad iter. */
	p->max_depth = max_depth > JSON_DEPTH_LIMIT ? JSON_DEPTH_LIMIT :
	    max_depth;
	p->err = 0;
}

enum ota_status
json_parse(struct json *j, const char *text, size_t len,
    struct json_tok *tok, size_t cap, unsigned max_depth, size_t *errpos)
{
	struct parser p;
	enum ota_status st;

	parser_init(&p, text, len, 0, tok, cap, depth_cap(max_depth));
	j->text = text;
	j->len = len;
	j->tok = tok;
	j->ntok = 0;
	if ((st = parse_value(&p)) == OTA_OK && p.pos != len)
		st = fail(&p, OTA_E_INVALID, p.pos);
	if (st != OTA_OK) {
		if (errpos != NULL)
			*errpos = p.err;
		return st;
	}
	j->ntok = p.ntok;
	return OTA_OK;
}

enum ota_status
json_iter_begin(struct json_iter *it, const char *text, size_t len,
    unsigned max_depth)
{
	const unsigned char *s = (const unsigned char *)text;
	size_t pos = skip_ws(s, len, 0);

	memset(it, 0, sizeof(*it));
	it->text = text;
	it->len = len;
	it->max_depth = depth_cap(max_depth);
	if (pos == len || s[pos] != '[')
		return OTA_E_INVALID;
	it->pos = pos + 1;
	return OTA_OK;
}

/*
 * it->pos moves only on success, so a failed call can be repeated (with
 * a larger tok, say) and fails or succeeds the same way. An element
 * gets one level less than max_depth: the array holds the first.
 */
enum ota_status
json_iter_next(struct json_iter *it, struct json *j, struct json_tok *tok,
    size_t cap, size_t *errpos)
{
	struct parser p;
	enum ota_status st;

	j->text = it->text;
	j->len = it->len;
	j->tok = tok;
	j->ntok = 0;
	if (it->done)
		return OTA_E_NOTFOUND;
	parser_init(&p, it->text, it->len, it->pos, tok, cap,
	    it->max_depth > 0 ? it->max_depth - 1 : 0);
	p.pos = skip_ws(p.s, p.len, p.pos);
	if (at(&p, p.pos) == ']') {
		p.pos = skip_ws(p.s, p.len, p.pos + 1);
		if (p.pos != p.len) {
			st = fail(&p, OTA_E_INVALID, p.pos);
			goto out;
		}
		it->pos = p.pos;
		it->done = true;
		return OTA_E_NOTFOUND;
	}
	if (it->count > 0 && at(&p, p.pos++) != ',') {
		st = fail(&p, OTA_E_INVALID, p.pos - 1);
		goto out;
	}
	if ((st = parse_value(&p)) != OTA_OK)
		goto out;
	it->pos = p.pos;
	it->count++;
	j->ntok = p.ntok;
	return OTA_OK;
out:
	if (errpos != NULL)
		*errpos = p.err;
	return st;
}

/* A string token of j, checked against the text it claims to index. */
static const struct json_tok *
string_tok(const struct json *j, size_t t)
{
	const struct json_tok *k;

	if (t >= j->ntok || j->tok == NULL)
		return NULL;
	k = &j->tok[t];
	if (k->type != JSON_STRING || k->start > k->end || k->end > j->len)
		return NULL;
	return k;
}

static size_t
utf8_put(uint32_t cp, unsigned char u[4])
{
	if (cp < 0x80) {
		u[0] = (unsigned char)cp;
		return 1;
	}
	if (cp < 0x800) {
		u[0] = (unsigned char)(0xc0 | cp >> 6);
		u[1] = (unsigned char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		u[0] = (unsigned char)(0xe0 | cp >> 12);
		u[1] = (unsigned char)(0x80 | (cp >> 6 & 0x3f));
		u[2] = (unsigned char)(0x80 | (cp & 0x3f));
		return 3;
	}
	u[0] = (unsigned char)(0xf0 | cp >> 18);
	u[1] = (unsigned char)(0x80 | (cp >> 12 & 0x3f));
	u[2] = (unsigned char)(0x80 | (cp >> 6 & 0x3f));
	u[3] = (unsigned char)(0x80 | (cp & 0x3f));
	return 4;
}

/*
 * Decodes the next character of string token k at *pos into u[4] and
 * returns its length: 0 at the end, or (on a token no parse made) at a
 * malformed escape, with *pos then short of k->end.
 */
static size_t
str_next(const struct json *j, const struct json_tok *k, size_t *pos,
    unsigned char u[4])
{
	const unsigned char *s = (const unsigned char *)j->text;
	uint32_t cp;

	if (*pos >= k->end)
		return 0;
	if (s[*pos] != '\\') {
		u[0] = s[(*pos)++];
		return 1;
	}
	if (!read_escape(s, k->end, pos, &cp)) {
		*pos = k->start;	/* short of the end: an error */
		return 0;
	}
	return utf8_put(cp, u);
}

enum ota_status
json_string(const struct json *j, size_t t, char *out, size_t outsz,
    size_t *n)
{
	const struct json_tok *k = string_tok(j, t);
	unsigned char u[4];
	size_t pos, len = 0, m;

	if (n != NULL)
		*n = 0;
	if (outsz > 0)
		out[0] = '\0';
	if (k == NULL)
		return OTA_E_INVALID;
	for (pos = k->start; (m = str_next(j, k, &pos, u)) > 0; len += m) {
		if (outsz - len <= m) {
			if (outsz > 0)
				out[0] = '\0';
			return OTA_E_TOO_LARGE;
		}
		memcpy(out + len, u, m);
	}
	if (pos != k->end) {
		if (outsz > 0)
			out[0] = '\0';
		return OTA_E_INVALID;
	}
	if (outsz == 0)
		return OTA_E_TOO_LARGE;
	out[len] = '\0';
	if (n != NULL)
		*n = len;
	return OTA_OK;
}

bool
json_eq(const struct json *j, size_t t, const char *s)
{
	const struct json_tok *k = string_tok(j, t);
	unsigned char u[4];
	size_t pos, len = 0, m, slen;

	if (k == NULL)
		return false;
	slen = strlen(s);
	for (pos = k->start; (m = str_next(j, k, &pos, u)) > 0; len += m)
		if (slen - len < m || memcmp(s + len, u, m) != 0)
			return false;
	return pos == k->end && len == slen;
}

/* The token after child c of container obj: past a key's value too. */
static size_t
sibling(const struct json *j, size_t obj, size_t c)
{
	if (j->tok[obj].type == JSON_OBJECT)
		c++;
	return c < j->ntok ? j->tok[c].next : JSON_NONE;
}

size_t
json_child(const struct json *j, size_t obj, size_t i)
{
	size_t c, k;

	if (obj >= j->ntok || j->tok == NULL ||
	    (j->tok[obj].type != JSON_OBJECT &&
	    j->tok[obj].type != JSON_ARRAY) || i >= j->tok[obj].size)
		return JSON_NONE;
	for (c = obj + 1, k = 0; k < i && c < j->ntok; k++)
		c = sibling(j, obj, c);
	return c < j->ntok ? c : JSON_NONE;
}

size_t
json_get(const struct json *j, size_t obj, const char *key)
{
	size_t c, k;

	if (obj >= j->ntok || j->tok == NULL ||
	    j->tok[obj].type != JSON_OBJECT)
		return JSON_NONE;
	for (c = obj + 1, k = 0; k < j->tok[obj].size && c + 1 < j->ntok;
	    k++) {
		if (json_eq(j, c, key))
			return c + 1;
		c = sibling(j, obj, c);
	}
	return JSON_NONE;
}

enum ota_status
json_uint(const struct json *j, size_t t, uint64_t max, uint64_t *out)
{
	const struct json_tok *k;
	uint64_t v = 0, d;
	size_t i;

	if (t >= j->ntok || j->tok == NULL)
		return OTA_E_INVALID;
	k = &j->tok[t];
	if (k->type != JSON_NUMBER || k->start >= k->end || k->end > j->len)
		return OTA_E_INVALID;
	/* The whole token first: "1e999" is no integer, not a big one. */
	for (i = k->start; i < k->end; i++)
		if (!is_digit((unsigned char)j->text[i]))
			return OTA_E_INVALID;
	for (i = k->start; i < k->end; i++) {
		d = (uint64_t)(j->text[i] - '0');
		/* Constants only: no 64-bit division on a 32-bit core. */
		if (v > UINT64_MAX / 10 ||
		    (v == UINT64_MAX / 10 && d > UINT64_MAX % 10))
			return OTA_E_TOO_LARGE;
		v = v * 10 + d;
	}
	if (v > max)
		return OTA_E_TOO_LARGE;
	*out = v;
	return OTA_OK;
}
