/*
 * manifest: the portable core. It reads JSON with json.h's tokens and
 * checks signatures through struct ota_crypto, so a device builds it with
 * nothing but a C library (see manifest.h; the host's half is
 * manifest_sign.c).
 *
 * One canonical form serves both directions. The signer writes the struct
 * with the writer below. The verifier requires the whole text to be what
 * that form makes of the tokens it parsed, checked in place: no byte
 * between tokens but the punctuation, every string spelled as the writer
 * escapes it, integers only, keys strictly ascending. Then the bytes of
 * "signed" in the text are its canonical serialisation, byte for byte, and
 * the signatures are checked over them where they lie: no copy, and no
 * re-serialisation that could differ from the check. The final "does the
 * struct serialise to the signed bytes" check runs the writer against
 * those bytes (a sink that compares instead of storing) and so guards the
 * schema decoder against ever handing out anything but what was signed.
 * The verifier's heap is the token array, counted before it is allocated.
 *
 * Rejected: verifying the sender's bytes as received, whatever their form
 * (every verifier would then depend on how the server stored them, and a
 * JSON parser that reads something else out of the same bytes, e.g. the
 * second of two duplicate keys, would see unsigned content); a schema
 * check before the signature (it would process unauthenticated input
 * further than needed and tell an attacker which field failed); printf's
 * long long conversion for the signed integers (newlib-nano's printf has
 * none).
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <ota/crypto.h>
#include <ota/status.h>

#include "common/base64.h"
#include "common/buf.h"
#include "common/json.h"
#include "common/manifest.h"
#include "common/semver.h"
#include "common/str.h"
#include "common/banned.h"

#define NAME_CHARS "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz" \
	"0123456789._-"
#define CHANNEL_CHARS "abcdefghijklmnopqrstuvwxyz0123456789._-"
#define KEY_SHOW_MAX 64		/* bytes of an unknown key in a reason */
#define SECONDS_PER_DAY 86400

/* The signed object's fields, sorted: the schema is exactly these. */
static const char *const signed_fields[] = {
	"_type", "channel", "created", "expires", "files",
	"metadata_version", "repo", "tag", "version",
};
static const char *const file_fields[] = { "path", "sha256", "size" };
static const char *const sig_fields[] = { "keyid", "sig" };
static const char *const env_fields[] = { "signatures", "signed" };

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

void
manifest_release(struct manifest *m)
{
	size_t i;

	free(m->repo);
	free(m->tag);
	free(m->version);
	free(m->channel);
	for (i = 0; m->files != NULL && i < m->nfiles; i++)
		free(m->files[i].path);
	free(m->files);
	memset(m, 0, sizeof(*m));
}

/* ---- validation ---- */

/*
 * True if s is well-formed UTF-8 (RFC 3629): no overlong forms, no
 * surrogates, nothing above U+10FFFF.
 */
static bool
utf8_valid(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	while (*p != '\0') {
		unsigned long c;
		int n, i;

		if (*p < 0x80) {
			p++;
			continue;
		}
		if (*p >= 0xc2 && *p <= 0xdf)
			n = 1, c = *p & 0x1f;
		else if (*p >= 0xe0 && *p <= 0xef)
			n = 2, c = *p & 0x0f;
		else if (*p >= 0xf0 && *p <= 0xf4)
			n = 3, c = *p & 0x07;
		else
			return false;
		for (i = 1; i <= n; i++) {
			if ((p[i] & 0xc0) != 0x80)
				return false;
			c = c << 6 | (p[i] & 0x3f);
		}
		if ((n == 2 && (c < 0x800 || (c >= 0xd800 && c <= 0xdfff))) ||
		    (n == 3 && (c < 0x10000 || c > 0x10ffff)))
			return false;
		p += n + 1;
	}
	return true;
}

bool
manifest_path_valid(const char *p)
{
	const char *c = p;
	size_t n = strlen(p);

	if (n == 0 || n > MANIFEST_MAX_PATH || !str_printable(p) ||
	    strchr(p, '\\') != NULL || !utf8_valid(p))
		return false;
	/* Each component: non-empty, not "." or "..", not too long. */
	while (*c != '\0') {
		const char *e = strchr(c, '/');
		size_t len = e ? (size_t)(e - c) : strlen(c);

		if (len == 0 || len > MANIFEST_MAX_COMPONENT ||
		    (len == 1 && c[0] == '.') ||
		    (len == 2 && c[0] == '.' && c[1] == '.'))
			return false;
		if (e == NULL)
			return true;
		c = e + 1;
	}
	return false;	/* ends in '/': an empty last component */
}

static bool
name_valid(const char *s, size_t len)
{
	return len > 0 && len <= MANIFEST_MAX_NAME &&
	    strspn(s, NAME_CHARS) >= len &&
	    !(len == 1 && s[0] == '.') &&
	    !(len == 2 && s[0] == '.' && s[1] == '.');
}

static bool
repo_valid(const char *s)
{
	const char *slash = strchr(s, '/');

	return slash != NULL && name_valid(s, (size_t)(slash - s)) &&
	    strchr(slash + 1, '/') == NULL &&
	    name_valid(slash + 1, strlen(slash + 1));
}

static bool
channel_valid(const char *s)
{
	size_t n = strlen(s);

	return n > 0 && n <= MANIFEST_MAX_CHANNEL &&
	    strspn(s, CHANNEL_CHARS) == n;
}

static bool
sha256_valid(const char *s)
{
	return strlen(s) == MANIFEST_SHA256_HEX &&
	    strspn(s, "0123456789abcdef") == MANIFEST_SHA256_HEX;
}

/* Tag and version: both versions, the same one, version normalised. */
static enum ota_status
versions_valid(const struct manifest *m, char *err, size_t errsz)
{
	char norm[MANIFEST_MAX_TAG + 1], a[STR_U64_MAX], b[STR_U64_MAX];
	char c[STR_U64_MAX];
	struct semver t, v;

	if (strlen(m->tag) == 0 || strlen(m->tag) > MANIFEST_MAX_TAG ||
	    !str_printable(m->tag) || semver_parse(m->tag, &t) != OTA_OK)
		return str_fail(err, errsz, OTA_E_INVALID, "tag is not a version "
		    "of at most %d bytes", MANIFEST_MAX_TAG);
	if (semver_parse(m->version, &v) != OTA_OK ||
	    str_fmt(norm, sizeof(norm), "%s.%s.%s%s%s", str_u64(v.major, a),
	    str_u64(v.minor, b), str_u64(v.patch, c), v.pre[0] ? "-" : "",
	    v.pre) != OTA_OK || strcmp(norm, m->version) != 0)
		return str_fail(err, errsz, OTA_E_INVALID, "version '%s' is not "
		    "a normalised version (MAJOR.MINOR.PATCH[-PRE])",
		    m->version);
	if (semver_cmp(&t, &v) != 0)
		return str_fail(err, errsz, OTA_E_INVALID, "version '%s' is not "
		    "the version of tag '%s'", m->version, m->tag);
	return OTA_OK;
}

/* The index of the file called path[len] in m (sorted), or -1. */
static long
file_find(const struct manifest *m, const char *path, size_t len)
{
	size_t lo = 0, hi = m->nfiles;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const char *q = m->files[mid].path;
		int c = strncmp(q, path, len);

		if (c == 0 && q[len] != '\0')
			c = 1;
		if (c == 0)
			return (long)mid;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

const struct manifest_file *
manifest_find(const struct manifest *m, const char *path)
{
	long i = file_find(m, path, strlen(path));

	return i < 0 ? NULL : &m->files[i];
}

static enum ota_status
files_valid(const struct manifest *m, char *err, size_t errsz)
{
	size_t i;

	if (m->files == NULL || m->nfiles == 0 ||
	    m->nfiles > MANIFEST_MAX_FILES)
		return str_fail(err, errsz, OTA_E_INVALID, "a release lists 1 to "
		    "%d files, not %lu", MANIFEST_MAX_FILES,
		    (unsigned long)m->nfiles);
	for (i = 0; i < m->nfiles; i++) {
		const struct manifest_file *f = &m->files[i];

		if (f->path == NULL || !manifest_path_valid(f->path))
			return str_fail(err, errsz, OTA_E_INVALID,
			    "files[%lu].path is not a normalised relative "
			    "path", (unsigned long)i);
		if (f->size > (uint64_t)MANIFEST_MAX_INT)
			return str_fail(err, errsz, OTA_E_INVALID,
			    "%s: size is out of range", f->path);
		if (memchr(f->sha256, '\0', sizeof(f->sha256)) == NULL ||
		    !sha256_valid(f->sha256))
			return str_fail(err, errsz, OTA_E_INVALID, "%s: sha256 is "
			    "not 64 lower-case hex digits", f->path);
		if (i > 0 && strcmp(m->files[i - 1].path, f->path) >= 0)
			return str_fail(err, errsz, OTA_E_INVALID, "files are not "
			    "sorted by path and unique at '%s'", f->path);
	}
	/* A name cannot be a file and a directory: "a" beside "a/b". */
	for (i = 0; i < m->nfiles; i++) {
		const char *p = m->files[i].path, *s;

		for (s = strchr(p, '/'); s != NULL; s = strchr(s + 1, '/'))
			if (file_find(m, p, (size_t)(s - p)) >= 0)
				return str_fail(err, errsz, OTA_E_INVALID, "'%.*s' "
				    "is listed as a file and as a directory of "
				    "'%s'", (int)(s - p), p, p);
	}
	return OTA_OK;
}

enum ota_status
manifest_validate(const struct manifest *m, char *err, size_t errsz)
{
	enum ota_status st;

	if (m->repo == NULL || m->tag == NULL || m->version == NULL ||
	    m->channel == NULL)
		return str_fail(err, errsz, OTA_E_INVALID, "repo, tag, version "
		    "and channel are required");
	if (!repo_valid(m->repo))
		return str_fail(err, errsz, OTA_E_INVALID, "repo is not "
		    "owner/name (each 1-%d of A-Z a-z 0-9 . _ -)",
		    MANIFEST_MAX_NAME);
	if ((st = versions_valid(m, err, errsz)) != OTA_OK)
		return st;
	if (!channel_valid(m->channel))
		return str_fail(err, errsz, OTA_E_INVALID, "channel is not 1-%d "
		    "of a-z 0-9 . _ -", MANIFEST_MAX_CHANNEL);
	if (m->metadata_version < 1 ||
	    m->metadata_version > (uint64_t)MANIFEST_MAX_INT)
		return str_fail(err, errsz, OTA_E_INVALID, "metadata_version is "
		    "out of range");
	if (m->created < 0 || m->created > MANIFEST_MAX_INT ||
	    m->expires < 0 || m->expires > MANIFEST_MAX_INT)
		return str_fail(err, errsz, OTA_E_INVALID, "created or expires "
		    "is out of range");
	if (m->expires <= m->created)
		return str_fail(err, errsz, OTA_E_INVALID, "expires is not after "
		    "created");
	return files_valid(m, err, errsz);
}

/* ---- the canonical writer ---- */

/*
 * Where the writer's bytes go: appended to b, or, when b is NULL,
 * compared with want[wantlen] from pos on (OTA_E_INVALID at the first
 * difference), so a check costs no copy.
 */
struct sink {
	struct buf *b;
	const char *want;
	size_t wantlen;
	size_t pos;
};

static enum ota_status
sink_add(struct sink *s, const char *p, size_t n)
{
	if (s->b != NULL)
		return buf_add(s->b, p, n);
	if (n > s->wantlen - s->pos || memcmp(s->want + s->pos, p, n) != 0)
		return OTA_E_INVALID;
	s->pos += n;
	return OTA_OK;
}

static enum ota_status
sink_adds(struct sink *s, const char *p)
{
	return sink_add(s, p, strlen(p));
}

static enum ota_status
sink_uint(struct sink *s, uint64_t v)
{
	char d[STR_U64_MAX];

	return sink_adds(s, str_u64(v, d));
}

/*
 * The canonical escape of byte c, or NULL if it is written as it is:
 * '"', '\\' and \b \f \n \r \t short, the other control characters as
 * \u00xx in lower-case hex, nothing else (esc holds that one's text).
 */
static const char *
canon_escape(unsigned char c, char esc[7])
{
	static const char hex[] = "0123456789abcdef";

	switch (c) {
	case '"':	return "\\\"";
	case '\\':	return "\\\\";
	case '\b':	return "\\b";
	case '\f':	return "\\f";
	case '\n':	return "\\n";
	case '\r':	return "\\r";
	case '\t':	return "\\t";
	default:
		if (c >= 0x20)
			return NULL;
		memcpy(esc, "\\u00", 4);
		esc[4] = hex[c >> 4];
		esc[5] = hex[c & 0xf];
		esc[6] = '\0';
		return esc;
	}
}

static enum ota_status
canon_string(struct sink *s, const char *str)
{
	enum ota_status st;
	const char *run = str, *e;
	char esc[7];

	if (!utf8_valid(str))
		return OTA_E_INVALID;
	if ((st = sink_add(s, "\"", 1)) != OTA_OK)
		return st;
	for (; *str != '\0'; str++) {
		if ((e = canon_escape((unsigned char)*str, esc)) == NULL)
			continue;
		if ((st = sink_add(s, run, (size_t)(str - run))) != OTA_OK ||
		    (st = sink_adds(s, e)) != OTA_OK)
			return st;
		run = str + 1;
	}
	if ((st = sink_add(s, run, (size_t)(str - run))) != OTA_OK)
		return st;
	return sink_add(s, "\"", 1);
}

/*
 * '{' before an object's first key, ',' before the others, then the key
 * and its colon. Keys are the schema's names: nothing in them to escape.
 */
static enum ota_status
canon_key(struct sink *s, bool first, const char *key)
{
	enum ota_status st;

	if ((st = sink_add(s, first ? "{\"" : ",\"", 2)) != OTA_OK ||
	    (st = sink_adds(s, key)) != OTA_OK)
		return st;
	return sink_add(s, "\":", 2);
}

static enum ota_status
canon_file(struct sink *s, const struct manifest_file *f)
{
	enum ota_status st;

	if ((st = canon_key(s, true, "path")) != OTA_OK ||
	    (st = canon_string(s, f->path)) != OTA_OK ||
	    (st = canon_key(s, false, "sha256")) != OTA_OK ||
	    (st = canon_string(s, f->sha256)) != OTA_OK ||
	    (st = canon_key(s, false, "size")) != OTA_OK ||
	    (st = sink_uint(s, f->size)) != OTA_OK)
		return st;
	return sink_add(s, "}", 1);
}

/*
 * The signed object of m (valid), canonically: the schema fixes the keys,
 * so they are written in their sorted order (signed_fields, file_fields).
 */
static enum ota_status
canon_signed(const struct manifest *m, struct sink *s)
{
	enum ota_status st;
	size_t i;

	if ((st = canon_key(s, true, "_type")) != OTA_OK ||
	    (st = canon_string(s, MANIFEST_TYPE)) != OTA_OK ||
	    (st = canon_key(s, false, "channel")) != OTA_OK ||
	    (st = canon_string(s, m->channel)) != OTA_OK ||
	    (st = canon_key(s, false, "created")) != OTA_OK ||
	    (st = sink_uint(s, (uint64_t)m->created)) != OTA_OK ||
	    (st = canon_key(s, false, "expires")) != OTA_OK ||
	    (st = sink_uint(s, (uint64_t)m->expires)) != OTA_OK ||
	    (st = canon_key(s, false, "files")) != OTA_OK ||
	    (st = sink_add(s, "[", 1)) != OTA_OK)
		return st;
	for (i = 0; i < m->nfiles; i++)
		if ((i > 0 && (st = sink_add(s, ",", 1)) != OTA_OK) ||
		    (st = canon_file(s, &m->files[i])) != OTA_OK)
			return st;
	if ((st = sink_add(s, "]", 1)) != OTA_OK ||
	    (st = canon_key(s, false, "metadata_version")) != OTA_OK ||
	    (st = sink_uint(s, m->metadata_version)) != OTA_OK ||
	    (st = canon_key(s, false, "repo")) != OTA_OK ||
	    (st = canon_string(s, m->repo)) != OTA_OK ||
	    (st = canon_key(s, false, "tag")) != OTA_OK ||
	    (st = canon_string(s, m->tag)) != OTA_OK ||
	    (st = canon_key(s, false, "version")) != OTA_OK ||
	    (st = canon_string(s, m->version)) != OTA_OK)
		return st;
	return sink_add(s, "}", 1);
}

enum ota_status
manifest_canonical(const struct manifest *m, struct buf *out)
{
	struct sink s = { out, NULL, 0, 0 };
	enum ota_status st;

	if ((st = manifest_validate(m, NULL, 0)) != OTA_OK)
		return st;
	return canon_signed(m, &s);
}

/* True if m serialises to exactly want[n]. */
static bool
canon_equals(const struct manifest *m, const char *want, size_t n)
{
	struct sink s = { NULL, want, n, 0 };

	return canon_signed(m, &s) == OTA_OK && s.pos == n;
}

/* ---- canonical text, checked in place ---- */

/*
 * The length of the escape at s[0..n) (s[0] is its backslash) if it is
 * the one canon_escape writes for the character it stands for, else 0:
 * "\/", "\u000a" for "\n", upper-case hex and any escape of a character
 * written as it is (ASCII from 0x20, and all of UTF-8 beyond) are other
 * spellings.
 */
static size_t
escape_canonical(const char *s, size_t n)
{
	static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
	static const char hex[] = "0123456789abcdef";
	const char *p, *e;
	unsigned v = 0;
	size_t i;
	char esc[7];

	if (n >= 2 && s[1] != '\0' && (p = strchr(from, s[1])) != NULL)
		v = (unsigned char)to[p - from];
	else if (n >= 6 && s[1] == 'u') {
		for (i = 2; i < 6; i++) {
			if ((p = memchr(hex, s[i], 16)) == NULL)
				return 0;
			v = v << 4 | (unsigned)(p - hex);
		}
	} else
		return 0;
	if (v >= 0x80 || (e = canon_escape((unsigned char)v, esc)) == NULL)
		return 0;
	i = strlen(e);
	return i <= n && memcmp(e, s, i) == 0 ? i : 0;
}

/* True if the string body s[n] is spelled as canon_string writes it. */
static bool
string_canonical(const char *s, size_t n)
{
	size_t i = 0, e;
	char esc[7];

	while (i < n) {
		if (s[i] == '\\') {
			if ((e = escape_canonical(s + i, n - i)) == 0)
				return false;
			i += e;
		} else if (canon_escape((unsigned char)s[i], esc) != NULL)
			return false;	/* raw: no JSON parser lets one by */
		else
			i++;
	}
	return true;
}

/* The next byte of the canonical string body s, from *i (moved past). */
static unsigned char
canonical_getc(const char *s, size_t *i)
{
	static const char from[] = "\"\\bfnrt", to[] = "\"\\\b\f\n\r\t";
	const char *p;
	unsigned char c = (unsigned char)s[*i];

	if (c != '\\') {
		(*i)++;
		return c;
	}
	if (s[*i + 1] == 'u') {
		/* \u00xx, lower-case: string_canonical said so. */
		c = (unsigned char)(s[*i + 4] - '0') << 4;
		c |= (unsigned char)(s[*i + 5] <= '9' ? s[*i + 5] - '0' :
		    s[*i + 5] - 'a' + 10);
		*i += 6;
		return c;
	}
	p = strchr(from, s[*i + 1]);
	*i += 2;
	return p != NULL ? (unsigned char)to[p - from] : 0;
}

/* Canonical keys a and b compared bytewise, as their values. */
static int
key_cmp(const struct json *j, size_t a, size_t b)
{
	const struct json_tok *x = &j->tok[a], *y = &j->tok[b];
	size_t i = x->start, k = y->start;

	while (i < x->end && k < y->end) {
		unsigned char c = canonical_getc(j->text, &i);
		unsigned char d = canonical_getc(j->text, &k);

		if (c != d)
			return c < d ? -1 : 1;
	}
	return (i < x->end) - (k < y->end);
}

/* Where token t's text begins and ends: a string with its quotes. */
static size_t
tok_begin(const struct json_tok *t)
{
	return t->type == JSON_STRING ? t->start - 1 : t->start;
}

static size_t
tok_end(const struct json_tok *t)
{
	return t->type == JSON_STRING ? t->end + 1 : t->end;
}

static bool canon_tok(const struct json *j, size_t t, unsigned depth);

/*
 * Object or array t: each member or element right after the bracket or
 * a comma, a key's value right after its colon, keys strictly ascending
 * (so sorted, and none twice: a parser could pick either of two equal
 * keys, so neither is allowed), the closing bracket right after the last.
 */
static bool
container_canonical(const struct json *j, size_t t, unsigned depth)
{
	const struct json_tok *k = &j->tok[t];
	bool obj = k->type == JSON_OBJECT;
	size_t c = t + 1, key = JSON_NONE, pos = k->start + 1, i;

	for (i = 0; i < k->size; i++) {
		if (i > 0 && j->text[pos++] != ',')
			return false;
		if (obj) {
			if (tok_begin(&j->tok[c]) != pos ||
			    !string_canonical(j->text + j->tok[c].start,
			    j->tok[c].end - j->tok[c].start) ||
			    (key != JSON_NONE && key_cmp(j, key, c) >= 0))
				return false;
			key = c;
			pos = tok_end(&j->tok[c]);
			if (j->text[pos++] != ':')
				return false;
			c++;
		}
		if (tok_begin(&j->tok[c]) != pos || !canon_tok(j, c, depth + 1))
			return false;
		pos = tok_end(&j->tok[c]);
		c = j->tok[c].next;
	}
	return pos + 1 == k->end;
}

/*
 * True if token t is spelled exactly as the canonical writer would write
 * its value. Only objects, arrays, strings and integers in
 * 0..MANIFEST_MAX_INT exist in our metadata; true, false, null, any
 * fraction, exponent or sign, and nesting past MANIFEST_MAX_DEPTH are not
 * canonical material. (The grammar already excludes leading zeros; the
 * parse, bad UTF-8 and raw control bytes.)
 */
static bool
canon_tok(const struct json *j, size_t t, unsigned depth)
{
	const struct json_tok *k = &j->tok[t];
	uint64_t u;

	if (depth > MANIFEST_MAX_DEPTH)
		return false;
	switch (k->type) {
	case JSON_OBJECT:
	case JSON_ARRAY:
		return container_canonical(j, t, depth);
	case JSON_STRING:
		return string_canonical(j->text + k->start, k->end - k->start);
	case JSON_NUMBER:
		return json_uint(j, t, MANIFEST_MAX_INT, &u) == OTA_OK;
	default:
		return false;
	}
}

/* ---- parsing ---- */

/*
 * Tokenises text[len] into j, counting first so the array is exactly as
 * large as the text needs; the caller frees j->tok.
 */
static enum ota_status
tokens_parse(struct json *j, const char *text, size_t len, char *err,
    size_t errsz)
{
	/* One level more than canon_tok allows: its root is at depth 0. */
	const unsigned depth = MANIFEST_MAX_DEPTH + 1;
	struct json_tok *tok;
	enum ota_status st;
	size_t n;

	j->tok = NULL;
	st = json_parse(j, text, len, NULL, 0, depth, NULL);
	if (st == OTA_E_TOO_LARGE)
		return str_fail(err, errsz, OTA_E_INVALID, "manifest nests "
		    "deeper than %d levels", (int)depth);
	if (st != OTA_OK)
		return str_fail(err, errsz, OTA_E_INVALID, "manifest is not "
		    "JSON");
	if ((n = j->ntok) > MANIFEST_MAX_TOKENS)
		return str_fail(err, errsz, OTA_E_INVALID, "manifest holds "
		    "more than %d JSON values", MANIFEST_MAX_TOKENS);
	if ((tok = calloc(n, sizeof(*tok))) == NULL)
		return str_fail(err, errsz, OTA_E_NOMEM, "out of memory");
	if ((st = json_parse(j, text, len, tok, n, depth, NULL)) != OTA_OK) {
		free(tok);
		j->tok = NULL;
		return str_fail(err, errsz, OTA_E_INVALID, "manifest is not "
		    "JSON");
	}
	return OTA_OK;
}

/* Key token k for a reason: unescaped, or its raw start if long. */
static void
key_show(const struct json *j, size_t k, char out[KEY_SHOW_MAX + 1])
{
	size_t n = j->tok[k].end - j->tok[k].start;

	if (json_string(j, k, out, KEY_SHOW_MAX + 1, NULL) == OTA_OK)
		return;
	if (n > KEY_SHOW_MAX)
		n = KEY_SHOW_MAX;
	memcpy(out, j->text + j->tok[k].start, n);
	out[n] = '\0';
}

/*
 * String token t (or JSON_NONE) into out[outsz]: OTA_OK only if it is a
 * string, fits, and holds no NUL (which a C string would cut short).
 */
static enum ota_status
tok_cstr(const struct json *j, size_t t, char *out, size_t outsz)
{
	size_t n;

	if (t == JSON_NONE || json_string(j, t, out, outsz, &n) != OTA_OK ||
	    memchr(out, '\0', n) != NULL)
		return OTA_E_INVALID;
	return OTA_OK;
}

static bool
is_type(const struct json *j, size_t t, enum json_type type)
{
	return t != JSON_NONE && j->tok[t].type == type;
}

/*
 * OTA_E_INVALID unless object o has exactly the fields names[n], each
 * once. what names o in the reason.
 */
static enum ota_status
fields_exact(const struct json *j, size_t o, const char *const *names,
    size_t n, const char *what, char *err, size_t errsz)
{
	char key[KEY_SHOW_MAX + 1];
	unsigned seen = 0;
	size_t k, m, i;

	if (!is_type(j, o, JSON_OBJECT))
		return str_fail(err, errsz, OTA_E_INVALID, "%s is not an object",
		    what);
	for (k = o + 1, m = 0; m < j->tok[o].size;
	    m++, k = j->tok[k + 1].next) {
		for (i = 0; i < n; i++)
			if (json_eq(j, k, names[i]))
				break;
		if (i == n) {
			key_show(j, k, key);
			return str_fail(err, errsz, OTA_E_INVALID, "%s: unknown "
			    "field '%s'", what, key);
		}
		if (seen & 1u << i)
			return str_fail(err, errsz, OTA_E_INVALID, "%s: field '%s' "
			    "appears twice", what, names[i]);
		seen |= 1u << i;
	}
	for (i = 0; i < n; i++)
		if (!(seen & 1u << i))
			return str_fail(err, errsz, OTA_E_INVALID, "%s: missing "
			    "field '%s'", what, names[i]);
	return OTA_OK;
}

/* The 64 bytes of entry e's "sig"; false unless it is their base64. */
static bool
entry_sig(const struct json *j, size_t e,
    unsigned char sig[OTA_ED25519_SIG_LEN])
{
	char b64[BASE64_ENCODED_LEN(OTA_ED25519_SIG_LEN) + 1];
	size_t n;

	return tok_cstr(j, json_get(j, e, "sig"), b64, sizeof(b64)) ==
	    OTA_OK && base64_decode(b64, sig, OTA_ED25519_SIG_LEN, &n) ==
	    OTA_OK && n == OTA_ED25519_SIG_LEN;
}

/* The envelope's shape; its two parts' tokens into *sigs and *sgn. */
static enum ota_status
envelope_check(const struct json *j, size_t *sigs, size_t *sgn, char *err,
    size_t errsz)
{
	unsigned char sig[OTA_ED25519_SIG_LEN];
	char id[MANIFEST_SHA256_HEX + 1];
	enum ota_status st;
	size_t e, i;

	if ((st = fields_exact(j, 0, env_fields, NELEM(env_fields),
	    "envelope", err, errsz)) != OTA_OK)
		return st;
	*sigs = json_get(j, 0, env_fields[0]);
	*sgn = json_get(j, 0, env_fields[1]);
	if (!is_type(j, *sigs, JSON_ARRAY))
		return str_fail(err, errsz, OTA_E_INVALID, "signatures is not an "
		    "array");
	if (!is_type(j, *sgn, JSON_OBJECT))
		return str_fail(err, errsz, OTA_E_INVALID, "signed is not an "
		    "object");
	for (e = *sigs + 1, i = 0; i < j->tok[*sigs].size;
	    i++, e = j->tok[e].next) {
		if (i == MANIFEST_MAX_SIGNATURES)
			return str_fail(err, errsz, OTA_E_INVALID, "more than %d "
			    "signatures", MANIFEST_MAX_SIGNATURES);
		if ((st = fields_exact(j, e, sig_fields, NELEM(sig_fields),
		    "signature", err, errsz)) != OTA_OK)
			return st;
		if (tok_cstr(j, json_get(j, e, "keyid"), id, sizeof(id)) !=
		    OTA_OK || !sha256_valid(id))
			return str_fail(err, errsz, OTA_E_INVALID, "signature "
			    "keyid is not 64 lower-case hex digits");
		if (!entry_sig(j, e, sig))
			return str_fail(err, errsz, OTA_E_INVALID, "signature "
			    "sig is not the base64 of %d bytes",
			    OTA_ED25519_SIG_LEN);
	}
	return OTA_OK;
}

/* The key id of pub: lower-case hex SHA-256 of its raw bytes. */
static enum ota_status
key_id(const struct ota_crypto *c, const unsigned char *pub,
    char id[MANIFEST_SHA256_HEX + 1])
{
	unsigned char d[OTA_SHA256_LEN];
	enum ota_status st;
	void *h = NULL;

	if ((st = c->hash_begin(c->ctx, OTA_HASH_SHA256, &h)) != OTA_OK)
		return st;
	if ((st = c->hash_update(c->ctx, h, pub,
	    OTA_ED25519_PUBLIC_LEN)) != OTA_OK) {
		c->hash_abort(c->ctx, h);
		return st;
	}
	if ((st = c->hash_end(c->ctx, h, d)) != OTA_OK)
		return st;
	str_hex(id, d, sizeof(d));
	return OTA_OK;
}

/*
 * OTA_OK if one signature in sigs whose keyid is that of a key in
 * trusted verifies over msg[n]; OTA_E_SIGNATURE if none does, or the
 * status of a check that could not run.
 */
static enum ota_status
signatures_verify(const struct json *j, size_t sigs, const char *msg,
    size_t n, const struct ota_crypto *c,
    const unsigned char (*trusted)[OTA_ED25519_PUBLIC_LEN], size_t ntrusted)
{
	enum ota_status st, fail = OTA_E_SIGNATURE;
	unsigned char sig[OTA_ED25519_SIG_LEN];
	char id[MANIFEST_SHA256_HEX + 1];
	size_t i, k, e;

	for (i = 0; i < ntrusted; i++) {
		if ((st = key_id(c, trusted[i], id)) != OTA_OK)
			return st;
		for (e = sigs + 1, k = 0; k < j->tok[sigs].size;
		    k++, e = j->tok[e].next) {
			if (!json_eq(j, json_get(j, e, "keyid"), id) ||
			    !entry_sig(j, e, sig))
				continue;
			st = c->ed25519_verify(c->ctx, trusted[i], msg, n, sig);
			if (st == OTA_OK)
				return OTA_OK;
			if (st != OTA_E_SIGNATURE)
				fail = st;
		}
	}
	return fail;
}

/* String field key of o, copied into *out (the caller's). */
static enum ota_status
get_string(const struct json *j, size_t o, const char *what,
    const char *key, char **out, char *err, size_t errsz)
{
	size_t v = json_get(j, o, key), size, n;

	if (!is_type(j, v, JSON_STRING))
		return str_fail(err, errsz, OTA_E_INVALID, "%s: '%s' is not a "
		    "string", what, key);
	/* Unescaping never lengthens a string. */
	size = j->tok[v].end - j->tok[v].start + 1;
	if ((*out = malloc(size)) == NULL)
		return OTA_E_NOMEM;
	if (json_string(j, v, *out, size, &n) != OTA_OK ||
	    memchr(*out, '\0', n) != NULL)
		return str_fail(err, errsz, OTA_E_INVALID, "%s: '%s' holds a "
		    "NUL character", what, key);
	return OTA_OK;
}

static enum ota_status
get_uint(const struct json *j, size_t o, const char *what, const char *key,
    uint64_t *out, char *err, size_t errsz)
{
	if (json_uint(j, json_get(j, o, key), MANIFEST_MAX_INT, out) !=
	    OTA_OK)
		return str_fail(err, errsz, OTA_E_INVALID, "%s: '%s' is not an "
		    "integer in 0..2^53-1", what, key);
	return OTA_OK;
}

static enum ota_status
decode_file(const struct json *j, size_t o, size_t i,
    struct manifest_file *f, char *err, size_t errsz)
{
	enum ota_status st;
	char what[32];

	(void)!str_fmt(what, sizeof(what), "files[%lu]", (unsigned long)i);
	if ((st = fields_exact(j, o, file_fields, NELEM(file_fields), what,
	    err, errsz)) != OTA_OK ||
	    (st = get_string(j, o, what, "path", &f->path, err, errsz)) !=
	    OTA_OK ||
	    (st = get_uint(j, o, what, "size", &f->size, err, errsz)) !=
	    OTA_OK)
		return st;
	if (tok_cstr(j, json_get(j, o, "sha256"), f->sha256,
	    sizeof(f->sha256)) != OTA_OK)
		return str_fail(err, errsz, OTA_E_INVALID, "%s.sha256 is not 64 "
		    "lower-case hex digits", what);
	return OTA_OK;
}

/* The signed object o into m (zeroed), by the schema. */
static enum ota_status
decode_signed(const struct json *j, size_t o, struct manifest *m, char *err,
    size_t errsz)
{
	enum ota_status st;
	uint64_t created, expires;
	size_t files, f, n;

	if ((st = fields_exact(j, o, signed_fields, NELEM(signed_fields),
	    "signed", err, errsz)) != OTA_OK)
		return st;
	if (!json_eq(j, json_get(j, o, "_type"), MANIFEST_TYPE))
		return str_fail(err, errsz, OTA_E_INVALID, "_type is not '%s'",
		    MANIFEST_TYPE);
	if ((st = get_string(j, o, "signed", "repo", &m->repo, err,
	    errsz)) != OTA_OK ||
	    (st = get_string(j, o, "signed", "tag", &m->tag, err,
	    errsz)) != OTA_OK ||
	    (st = get_string(j, o, "signed", "version", &m->version, err,
	    errsz)) != OTA_OK ||
	    (st = get_string(j, o, "signed", "channel", &m->channel, err,
	    errsz)) != OTA_OK ||
	    (st = get_uint(j, o, "signed", "metadata_version",
	    &m->metadata_version, err, errsz)) != OTA_OK ||
	    (st = get_uint(j, o, "signed", "created", &created, err,
	    errsz)) != OTA_OK ||
	    (st = get_uint(j, o, "signed", "expires", &expires, err,
	    errsz)) != OTA_OK)
		return st;
	m->created = (int64_t)created;
	m->expires = (int64_t)expires;
	files = json_get(j, o, "files");
	if (!is_type(j, files, JSON_ARRAY))
		return str_fail(err, errsz, OTA_E_INVALID, "'files' is not an "
		    "array");
	n = j->tok[files].size;
	if (n == 0 || n > MANIFEST_MAX_FILES)
		return str_fail(err, errsz, OTA_E_INVALID, "a release lists 1 to "
		    "%d files", MANIFEST_MAX_FILES);
	if ((m->files = calloc(n, sizeof(*m->files))) == NULL)
		return OTA_E_NOMEM;
	for (f = files + 1; m->nfiles < n; f = j->tok[f].next) {
		/* Counted first, so manifest_release frees its path. */
		m->nfiles++;
		if ((st = decode_file(j, f, m->nfiles - 1,
		    &m->files[m->nfiles - 1], err, errsz)) != OTA_OK)
			return st;
	}
	return OTA_OK;
}

/*
 * The proleptic Gregorian date of day z (0 is 1970-01-01), for any z an
 * int64_t of seconds can reach: Howard Hinnant's days_from_civil, read
 * backwards. Years run March to February inside it, so the leap day is
 * the last of its year and the 400-year era is regular.
 */
static void
civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
	int64_t era;
	unsigned doe, yoe, doy, mp;

	z += 719468;			/* from 0000-03-01 */
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = (unsigned)(z - era * 146097);		/* 0..146096 */
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);	/* 0..365 */
	mp = (5 * doy + 2) / 153;			/* 0 is March */
	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = (int64_t)yoe + era * 400 + (*m <= 2);
}

void
manifest_time_str(int64_t t, char out[MANIFEST_TIME_MAX])
{
	int64_t days = t / SECONDS_PER_DAY, secs = t % SECONDS_PER_DAY, y;
	char num[STR_U64_MAX];
	const char *ys;
	unsigned mo, d;
	int pad;

	if (secs < 0) {
		secs += SECONDS_PER_DAY;
		days--;
	}
	civil_from_days(days, &y, &mo, &d);
	/* No long long conversion: newlib-nano's printf does not have it. */
	ys = str_u64(y < 0 ? 0 - (uint64_t)y : (uint64_t)y, num);
	pad = 4 - (int)strlen(ys);
	(void)!str_fmt(out, MANIFEST_TIME_MAX,
	    "%s%.*s%s-%02u-%02uT%02u:%02u:%02uZ", y < 0 ? "-" : "",
	    pad > 0 ? pad : 0, "000", ys, mo, d, (unsigned)(secs / 3600),
	    (unsigned)(secs / 60 % 60), (unsigned)(secs % 60));
}

/*
 * Everything both parse functions do; the signature and expiry checks
 * only when c is set. The order is the contract in manifest.h.
 */
static enum ota_status
parse(const char *text, size_t len, const struct ota_crypto *c,
    const unsigned char (*trusted)[OTA_ED25519_PUBLIC_LEN], size_t ntrusted,
    int64_t now, struct manifest *out, char *err, size_t errsz)
{
	struct json j = { 0 };
	const struct json_tok *s;
	char when[MANIFEST_TIME_MAX];
	enum ota_status st;
	size_t sigs, sgn;

	memset(out, 0, sizeof(*out));
	if (len > MANIFEST_MAX_BYTES)
		return str_fail(err, errsz, OTA_E_INVALID, "manifest is larger "
		    "than %d bytes", MANIFEST_MAX_BYTES);
	/* Said apart from "not JSON": a C string of it would end there. */
	if (len > 0 && memchr(text, '\0', len) != NULL)
		return str_fail(err, errsz, OTA_E_INVALID, "manifest holds a NUL "
		    "byte");
	if ((st = tokens_parse(&j, text, len, err, errsz)) != OTA_OK)
		return st;
	if ((st = envelope_check(&j, &sigs, &sgn, err, errsz)) != OTA_OK)
		goto out;
	/*
	 * The file must be the canonical text of what it holds (one final
	 * newline allowed): JSON parsers disagree on "\u0000" inside strings
	 * and on 7.0 versus 7, so any other spelling could make another tool
	 * read, from a file that verifies, something that was never signed.
	 */
	if (len > 0 && text[len - 1] == '\n')
		len--;
	if (tok_begin(&j.tok[0]) != 0 || tok_end(&j.tok[0]) != len ||
	    !canon_tok(&j, 0, 0)) {
		st = str_fail(err, errsz, OTA_E_INVALID, "manifest is not in "
		    "canonical form (sorted keys, no spaces, integers only: as "
		    "ota writes it)");
		goto out;
	}
	/* So these are the canonical bytes of "signed". */
	s = &j.tok[sgn];
	if (c != NULL && (st = signatures_verify(&j, sigs, text + s->start,
	    s->end - s->start, c, trusted, ntrusted)) != OTA_OK) {
		if (st == OTA_E_SIGNATURE)
			st = str_fail(err, errsz, st, "bad signature: none by "
			    "a trusted key verifies");
		else
			st = str_fail(err, errsz, st, "cannot check the "
			    "signatures: %s", ota_status_str(st));
		goto out;
	}
	if ((st = decode_signed(&j, sgn, out, err, errsz)) != OTA_OK ||
	    (st = manifest_validate(out, err, errsz)) != OTA_OK)
		goto out;
	if (!canon_equals(out, text + s->start, s->end - s->start)) {
		st = str_fail(err, errsz, OTA_E_INVALID, "signed part does not "
		    "serialise back to itself");
		goto out;
	}
	if (c != NULL && out->expires <= now) {
		manifest_time_str(out->expires, when);
		st = str_fail(err, errsz, OTA_E_EXPIRED, "manifest expired at %s",
		    when);
	}
out:
	if (st != OTA_OK && st != OTA_E_EXPIRED)
		manifest_release(out);
	free(j.tok);
	return st;
}

enum ota_status
manifest_verify(const char *text, size_t len, const struct ota_crypto *c,
    const unsigned char (*trusted)[OTA_ED25519_PUBLIC_LEN], size_t ntrusted,
    int64_t now, struct manifest *out, char *err, size_t errsz)
{
	if (c == NULL) {
		memset(out, 0, sizeof(*out));
		return str_fail(err, errsz, OTA_E_INVALID, "no crypto to "
		    "verify the manifest with");
	}
	return parse(text, len, c, trusted, ntrusted, now, out, err, errsz);
}

enum ota_status
manifest_parse_unverified(const char *text, size_t len, struct manifest *out,
    char *err, size_t errsz)
{
	return parse(text, len, NULL, NULL, 0, 0, out, err, errsz);
}
