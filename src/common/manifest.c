/*
 * manifest: one canonical JSON writer serves both directions. The signer
 * turns the struct into a cJSON tree and writes it; the verifier writes
 * the tree it parsed. So the bytes a signature covers are made by the same
 * function on both sides, and the final "does the struct serialise to the
 * signed bytes" check in parse() guards the schema decoder against ever
 * handing out anything but what was signed.
 *
 * Rejected: verifying the sender's bytes as received (every verifier would
 * then depend on how the server stored them, and a JSON parser that reads
 * something else out of the same bytes, e.g. the second of two duplicate
 * keys, would see unsigned content); a schema check before the signature
 * (it would process unauthenticated input further than needed and tell an
 * attacker which field failed).
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "common/base64.h"
#include "common/hash.h"
#include "common/manifest.h"
#include "common/semver.h"
#include "common/str.h"
#include "common/banned.h"

#define ENV_SIGNATURES "signatures"
#define ENV_SIGNED "signed"
#define NAME_CHARS "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz" \
	"0123456789._-"
#define CHANNEL_CHARS "abcdefghijklmnopqrstuvwxyz0123456789._-"

/* The signed object's fields, sorted: the schema is exactly these. */
static const char *const signed_fields[] = {
	"_type", "channel", "created", "expires", "files",
	"metadata_version", "repo", "tag", "version",
};
static const char *const file_fields[] = { "path", "sha256", "size" };
static const char *const sig_fields[] = { "keyid", "sig" };

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
	/* Each component: non-empty, not "." or "..", at most NAME_MAX. */
	while (*c != '\0') {
		const char *e = strchr(c, '/');
		size_t len = e ? (size_t)(e - c) : strlen(c);

		if (len == 0 || len > NAME_MAX || (len == 1 && c[0] == '.') ||
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
	char norm[MANIFEST_MAX_TAG + 1];
	struct semver t, v;

	if (strlen(m->tag) == 0 || strlen(m->tag) > MANIFEST_MAX_TAG ||
	    !str_printable(m->tag) || semver_parse(m->tag, &t) != OTA_OK)
		return str_fail(err, errsz, OTA_E_INVALID, "tag is not a version "
		    "of at most %d bytes", MANIFEST_MAX_TAG);
	if (semver_parse(m->version, &v) != OTA_OK ||
	    str_fmt(norm, sizeof(norm), "%llu.%llu.%llu%s%s",
	    (unsigned long long)v.major, (unsigned long long)v.minor,
	    (unsigned long long)v.patch, v.pre[0] ? "-" : "", v.pre) !=
	    OTA_OK || strcmp(norm, m->version) != 0)
		return str_fail(err, errsz, OTA_E_INVALID, "version '%s' is not "
		    "a normalised version (MAJOR.MINOR.PATCH[-PRE])",
		    m->version);
	if (semver_cmp(&t, &v) != 0)
		return str_fail(err, errsz, OTA_E_INVALID, "version '%s' is not "
		    "the version of tag '%s'", m->version, m->tag);
	return OTA_OK;
}

/* The index of the file called path in m (sorted), or -1. */
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
		    "%d files, not %zu", MANIFEST_MAX_FILES, m->nfiles);
	for (i = 0; i < m->nfiles; i++) {
		const struct manifest_file *f = &m->files[i];

		if (f->path == NULL || !manifest_path_valid(f->path))
			return str_fail(err, errsz, OTA_E_INVALID,
			    "files[%zu].path is not a normalised relative "
			    "path", i);
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

/* ---- canonical JSON ---- */

static enum ota_status
canon_string(struct buf *out, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	enum ota_status st;
	const char *run = s;

	if (!utf8_valid(s))
		return OTA_E_INVALID;
	if ((st = buf_add(out, "\"", 1)) != OTA_OK)
		return st;
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;
		char esc[7] = { '\\', 'u', '0', '0', 0, 0, 0 };
		const char *e;

		switch (c) {
		case '"':	e = "\\\""; break;
		case '\\':	e = "\\\\"; break;
		case '\b':	e = "\\b"; break;
		case '\f':	e = "\\f"; break;
		case '\n':	e = "\\n"; break;
		case '\r':	e = "\\r"; break;
		case '\t':	e = "\\t"; break;
		default:
			if (c >= 0x20)
				continue;
			esc[4] = hex[c >> 4];
			esc[5] = hex[c & 0xf];
			e = esc;
			break;
		}
		if ((st = buf_add(out, run, (size_t)(s - run))) != OTA_OK ||
		    (st = buf_adds(out, e)) != OTA_OK)
			return st;
		run = s + 1;
	}
	if ((st = buf_add(out, run, (size_t)(s - run))) != OTA_OK)
		return st;
	return buf_add(out, "\"", 1);
}

/* An integer in 0..MANIFEST_MAX_INT held by a JSON number, into *u. */
static bool
json_uint(const cJSON *v, uint64_t *u)
{
	double d;

	if (!cJSON_IsNumber(v))
		return false;
	d = v->valuedouble;
	/* Written so that NaN fails too. */
	if (!(d >= 0 && d <= (double)MANIFEST_MAX_INT))
		return false;
	*u = (uint64_t)d;
	return (double)*u == d;
}

static int
key_cmp(const void *a, const void *b)
{
	const cJSON *const *x = a, *const *y = b;

	return strcmp((*x)->string, (*y)->string);
}

static enum ota_status canon_value(struct buf *out, const cJSON *v,
    int depth);

static enum ota_status
canon_object(struct buf *out, const cJSON *o, int depth)
{
	enum ota_status st = OTA_OK;
	const cJSON **kids = NULL, *c;
	size_t n = 0, i;

	for (c = o->child; c != NULL; c = c->next)
		n++;
	if (n == 0)
		return buf_adds(out, "{}");
	if ((kids = calloc(n, sizeof(*kids))) == NULL)
		return OTA_E_NOMEM;
	for (i = 0, c = o->child; c != NULL; c = c->next, i++) {
		if (c->string == NULL) {
			st = OTA_E_INVALID;
			goto out;
		}
		kids[i] = c;
	}
	qsort(kids, n, sizeof(*kids), key_cmp);
	for (i = 0; i < n && st == OTA_OK; i++) {
		/* Two equal keys: a parser could pick either, so neither. */
		if (i > 0 && strcmp(kids[i - 1]->string, kids[i]->string) == 0)
			st = OTA_E_INVALID;
		else if ((st = buf_add(out, i ? "," : "{", 1)) == OTA_OK &&
		    (st = canon_string(out, kids[i]->string)) == OTA_OK &&
		    (st = buf_add(out, ":", 1)) == OTA_OK)
			st = canon_value(out, kids[i], depth + 1);
	}
	if (st == OTA_OK)
		st = buf_add(out, "}", 1);
out:
	free(kids);
	return st;
}

/*
 * Appends the canonical form of v. Only objects, arrays, strings and
 * integers exist in our metadata: anything else is OTA_E_INVALID, as are
 * duplicate keys and invalid UTF-8.
 */
static enum ota_status
canon_value(struct buf *out, const cJSON *v, int depth)
{
	enum ota_status st = OTA_OK;
	const cJSON *c;
	uint64_t u;

	if (depth > MANIFEST_MAX_DEPTH)
		return OTA_E_INVALID;
	if (cJSON_IsObject(v))
		return canon_object(out, v, depth);
	if (cJSON_IsString(v) && v->valuestring != NULL)
		return canon_string(out, v->valuestring);
	if (json_uint(v, &u))
		return buf_addf(out, "%llu", (unsigned long long)u);
	if (!cJSON_IsArray(v))
		return OTA_E_INVALID;
	st = buf_add(out, "[", 1);
	for (c = v->child; c != NULL && st == OTA_OK; c = c->next)
		if (c == v->child || (st = buf_add(out, ",", 1)) == OTA_OK)
			st = canon_value(out, c, depth + 1);
	if (st == OTA_OK)
		st = buf_add(out, "]", 1);
	return st;
}

/* The signed part of m as a cJSON tree (the caller's); NULL if no memory. */
static cJSON *
manifest_json(const struct manifest *m)
{
	cJSON *o = cJSON_CreateObject(), *files, *f;
	size_t i;

	if (o == NULL ||
	    !cJSON_AddStringToObject(o, "_type", MANIFEST_TYPE) ||
	    !cJSON_AddStringToObject(o, "channel", m->channel) ||
	    !cJSON_AddNumberToObject(o, "created", (double)m->created) ||
	    !cJSON_AddNumberToObject(o, "expires", (double)m->expires) ||
	    !cJSON_AddNumberToObject(o, "metadata_version",
	    (double)m->metadata_version) ||
	    !cJSON_AddStringToObject(o, "repo", m->repo) ||
	    !cJSON_AddStringToObject(o, "tag", m->tag) ||
	    !cJSON_AddStringToObject(o, "version", m->version) ||
	    (files = cJSON_AddArrayToObject(o, "files")) == NULL)
		goto fail;
	for (i = 0; i < m->nfiles; i++) {
		if ((f = cJSON_CreateObject()) == NULL)
			goto fail;
		if (!cJSON_AddItemToArray(files, f)) {
			cJSON_Delete(f);
			goto fail;
		}
		if (!cJSON_AddStringToObject(f, "path", m->files[i].path) ||
		    !cJSON_AddStringToObject(f, "sha256", m->files[i].sha256) ||
		    !cJSON_AddNumberToObject(f, "size",
		    (double)m->files[i].size))
			goto fail;
	}
	return o;
fail:
	cJSON_Delete(o);
	return NULL;
}

enum ota_status
manifest_canonical(const struct manifest *m, struct buf *out)
{
	enum ota_status st;
	cJSON *tree;

	if ((st = manifest_validate(m, NULL, 0)) != OTA_OK)
		return st;
	if ((tree = manifest_json(m)) == NULL)
		return OTA_E_NOMEM;
	st = canon_value(out, tree, 1);
	cJSON_Delete(tree);
	return st;
}

/* ---- signing ---- */

/* Adds {"keyid":..,"sig":..} for k's signature of msg[n] to sigs. */
static enum ota_status
add_signature(cJSON *sigs, const struct sign_key *k, const struct buf *msg)
{
	unsigned char sig[SIGN_SIG_LEN];
	char id[SIGN_KEYID_HEX + 1], b64[BASE64_ENCODED_LEN(SIGN_SIG_LEN) + 1];
	enum ota_status st;
	cJSON *e;

	if ((st = sign_bytes(k, msg->data, msg->len, sig)) != OTA_OK ||
	    (st = base64_encode(sig, sizeof(sig), b64, sizeof(b64))) !=
	    OTA_OK)
		return st;
	sign_key_id(k, id);
	if ((e = cJSON_CreateObject()) == NULL)
		return OTA_E_NOMEM;
	if (!cJSON_AddItemToArray(sigs, e)) {
		cJSON_Delete(e);
		return OTA_E_NOMEM;
	}
	if (!cJSON_AddStringToObject(e, "keyid", id) ||
	    !cJSON_AddStringToObject(e, "sig", b64))
		return OTA_E_NOMEM;
	return OTA_OK;
}

/* OTA_E_INVALID unless every key can sign and no key appears twice. */
static enum ota_status
keys_usable(struct sign_key *const *keys, size_t nkeys)
{
	char a[SIGN_KEYID_HEX + 1], b[SIGN_KEYID_HEX + 1];
	size_t i, j;

	if (nkeys == 0 || nkeys > MANIFEST_MAX_SIGNATURES)
		return OTA_E_INVALID;
	for (i = 0; i < nkeys; i++) {
		if (keys[i] == NULL || !sign_key_has_private(keys[i]))
			return OTA_E_INVALID;
		sign_key_id(keys[i], a);
		for (j = 0; j < i; j++) {
			sign_key_id(keys[j], b);
			if (strcmp(a, b) == 0)
				return OTA_E_INVALID;
		}
	}
	return OTA_OK;
}

enum ota_status
manifest_sign(const struct manifest *m, struct sign_key *const *keys,
    size_t nkeys, struct buf *out)
{
	cJSON *env = NULL, *tree = NULL, *sigs;
	enum ota_status st;
	struct buf canon;
	size_t i;

	buf_init(&canon, MANIFEST_MAX_BYTES);
	if ((st = keys_usable(keys, nkeys)) != OTA_OK ||
	    (st = manifest_validate(m, NULL, 0)) != OTA_OK)
		return st;
	if ((tree = manifest_json(m)) == NULL ||
	    (env = cJSON_CreateObject()) == NULL ||
	    (sigs = cJSON_AddArrayToObject(env, ENV_SIGNATURES)) == NULL) {
		st = OTA_E_NOMEM;
		goto out;
	}
	if ((st = canon_value(&canon, tree, 1)) != OTA_OK)
		goto out;
	for (i = 0; i < nkeys; i++)
		if ((st = add_signature(sigs, keys[i], &canon)) != OTA_OK)
			goto out;
	if (!cJSON_AddItemToObject(env, ENV_SIGNED, tree)) {
		st = OTA_E_NOMEM;
		goto out;
	}
	tree = NULL;	/* env owns it now */
	st = canon_value(out, env, 0);
out:
	buf_release(&canon);
	cJSON_Delete(tree);
	cJSON_Delete(env);
	return st;
}

/* ---- parsing and verification ---- */

/*
 * OTA_E_INVALID unless object o has exactly the fields names[n], each
 * once. what names o in the reason.
 */
static enum ota_status
fields_exact(const cJSON *o, const char *const *names, size_t n,
    const char *what, char *err, size_t errsz)
{
	unsigned seen = 0;
	const cJSON *c;
	size_t i;

	if (!cJSON_IsObject(o))
		return str_fail(err, errsz, OTA_E_INVALID, "%s is not an object",
		    what);
	for (c = o->child; c != NULL; c = c->next) {
		for (i = 0; i < n; i++)
			if (c->string != NULL &&
			    strcmp(c->string, names[i]) == 0)
				break;
		if (i == n)
			return str_fail(err, errsz, OTA_E_INVALID, "%s: unknown "
			    "field '%.64s'", what, c->string ? c->string : "");
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
entry_sig(const cJSON *e, unsigned char sig[SIGN_SIG_LEN])
{
	const cJSON *s = cJSON_GetObjectItemCaseSensitive(e, "sig");
	size_t n;

	return cJSON_IsString(s) && s->valuestring != NULL &&
	    base64_decode(s->valuestring, sig, SIGN_SIG_LEN, &n) == OTA_OK &&
	    n == SIGN_SIG_LEN;
}

/* The envelope's shape; its two parts into *sigs and *sgn. */
static enum ota_status
envelope_check(const cJSON *root, const cJSON **sigs, const cJSON **sgn,
    char *err, size_t errsz)
{
	static const char *const env_fields[] = { ENV_SIGNATURES, ENV_SIGNED };
	unsigned char sig[SIGN_SIG_LEN];
	enum ota_status st;
	const cJSON *e, *id;
	size_t n = 0;

	if ((st = fields_exact(root, env_fields, NELEM(env_fields),
	    "envelope", err, errsz)) != OTA_OK)
		return st;
	*sigs = cJSON_GetObjectItemCaseSensitive(root, ENV_SIGNATURES);
	*sgn = cJSON_GetObjectItemCaseSensitive(root, ENV_SIGNED);
	if (!cJSON_IsArray(*sigs))
		return str_fail(err, errsz, OTA_E_INVALID, "signatures is not an "
		    "array");
	if (!cJSON_IsObject(*sgn))
		return str_fail(err, errsz, OTA_E_INVALID, "signed is not an "
		    "object");
	for (e = (*sigs)->child; e != NULL; e = e->next) {
		if (++n > MANIFEST_MAX_SIGNATURES)
			return str_fail(err, errsz, OTA_E_INVALID, "more than %d "
			    "signatures", MANIFEST_MAX_SIGNATURES);
		if ((st = fields_exact(e, sig_fields, NELEM(sig_fields),
		    "signature", err, errsz)) != OTA_OK)
			return st;
		id = cJSON_GetObjectItemCaseSensitive(e, "keyid");
		if (!cJSON_IsString(id) || id->valuestring == NULL ||
		    !sha256_valid(id->valuestring))
			return str_fail(err, errsz, OTA_E_INVALID, "signature "
			    "keyid is not 64 lower-case hex digits");
		if (!entry_sig(e, sig))
			return str_fail(err, errsz, OTA_E_INVALID, "signature sig "
			    "is not the base64 of %d bytes", SIGN_SIG_LEN);
	}
	return OTA_OK;
}

/*
 * OTA_OK if one signature in sigs whose keyid is that of a key in
 * trusted verifies over msg.
 */
static enum ota_status
signatures_verify(const cJSON *sigs, const struct buf *msg,
    struct sign_key *const *trusted, size_t ntrusted)
{
	char id[SIGN_KEYID_HEX + 1];
	unsigned char sig[SIGN_SIG_LEN];
	const cJSON *e, *kid;
	size_t i;

	for (e = sigs->child; e != NULL; e = e->next) {
		kid = cJSON_GetObjectItemCaseSensitive(e, "keyid");
		if (!entry_sig(e, sig))
			continue;
		for (i = 0; i < ntrusted; i++) {
			if (trusted[i] == NULL)
				continue;
			sign_key_id(trusted[i], id);
			if (strcmp(id, kid->valuestring) == 0 &&
			    sign_verify(trusted[i], msg->data, msg->len, sig) ==
			    OTA_OK)
				return OTA_OK;
		}
	}
	return OTA_E_SIGNATURE;
}

/* String field key of o, copied into *out (the caller's). */
static enum ota_status
get_string(const cJSON *o, const char *what, const char *key, char **out,
    char *err, size_t errsz)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	if (!cJSON_IsString(v) || v->valuestring == NULL)
		return str_fail(err, errsz, OTA_E_INVALID, "%s: '%s' is not a "
		    "string", what, key);
	if ((*out = strdup(v->valuestring)) == NULL)
		return OTA_E_NOMEM;
	return OTA_OK;
}

static enum ota_status
get_uint(const cJSON *o, const char *what, const char *key, uint64_t *out,
    char *err, size_t errsz)
{
	if (!json_uint(cJSON_GetObjectItemCaseSensitive(o, key), out))
		return str_fail(err, errsz, OTA_E_INVALID, "%s: '%s' is not an "
		    "integer in 0..2^53-1", what, key);
	return OTA_OK;
}

static enum ota_status
decode_file(const cJSON *o, size_t i, struct manifest_file *f, char *err,
    size_t errsz)
{
	enum ota_status st;
	const cJSON *h;
	char what[32];

	(void)!str_fmt(what, sizeof(what), "files[%zu]", i);
	if ((st = fields_exact(o, file_fields, NELEM(file_fields), what, err,
	    errsz)) != OTA_OK ||
	    (st = get_string(o, what, "path", &f->path, err, errsz)) !=
	    OTA_OK ||
	    (st = get_uint(o, what, "size", &f->size, err, errsz)) != OTA_OK)
		return st;
	h = cJSON_GetObjectItemCaseSensitive(o, "sha256");
	if (!cJSON_IsString(h) || h->valuestring == NULL ||
	    str_copy(f->sha256, sizeof(f->sha256), h->valuestring) != OTA_OK)
		return str_fail(err, errsz, OTA_E_INVALID, "%s.sha256 is not 64 "
		    "lower-case hex digits", what);
	return OTA_OK;
}

/* The signed object o into m (zeroed), by the schema. */
static enum ota_status
decode_signed(const cJSON *o, struct manifest *m, char *err, size_t errsz)
{
	const cJSON *type, *files, *f;
	enum ota_status st;
	uint64_t created, expires;
	size_t n = 0;

	if ((st = fields_exact(o, signed_fields, NELEM(signed_fields),
	    "signed", err, errsz)) != OTA_OK)
		return st;
	type = cJSON_GetObjectItemCaseSensitive(o, "_type");
	if (!cJSON_IsString(type) || type->valuestring == NULL ||
	    strcmp(type->valuestring, MANIFEST_TYPE) != 0)
		return str_fail(err, errsz, OTA_E_INVALID, "_type is not '%s'",
		    MANIFEST_TYPE);
	if ((st = get_string(o, "signed", "repo", &m->repo, err,
	    errsz)) != OTA_OK ||
	    (st = get_string(o, "signed", "tag", &m->tag, err,
	    errsz)) != OTA_OK ||
	    (st = get_string(o, "signed", "version", &m->version, err,
	    errsz)) != OTA_OK ||
	    (st = get_string(o, "signed", "channel", &m->channel, err,
	    errsz)) != OTA_OK ||
	    (st = get_uint(o, "signed", "metadata_version",
	    &m->metadata_version, err, errsz)) != OTA_OK ||
	    (st = get_uint(o, "signed", "created", &created, err,
	    errsz)) != OTA_OK ||
	    (st = get_uint(o, "signed", "expires", &expires, err,
	    errsz)) != OTA_OK)
		return st;
	m->created = (int64_t)created;
	m->expires = (int64_t)expires;
	files = cJSON_GetObjectItemCaseSensitive(o, "files");
	if (!cJSON_IsArray(files))
		return str_fail(err, errsz, OTA_E_INVALID, "'files' is not an "
		    "array");
	for (f = files->child; f != NULL; f = f->next)
		if (++n > MANIFEST_MAX_FILES)
			break;
	if (n == 0 || n > MANIFEST_MAX_FILES)
		return str_fail(err, errsz, OTA_E_INVALID, "a release lists 1 to "
		    "%d files", MANIFEST_MAX_FILES);
	if ((m->files = calloc(n, sizeof(*m->files))) == NULL)
		return OTA_E_NOMEM;
	for (f = files->child; f != NULL; f = f->next, m->nfiles++)
		if ((st = decode_file(f, m->nfiles, &m->files[m->nfiles], err,
		    errsz)) != OTA_OK) {
			/* Count it, so manifest_release frees its path. */
			m->nfiles++;
			return st;
		}
	return OTA_OK;
}

void
manifest_time_str(int64_t t, char out[MANIFEST_TIME_MAX])
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (gmtime_r(&tt, &tm) == NULL ||
	    strftime(out, MANIFEST_TIME_MAX, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		(void)!str_fmt(out, MANIFEST_TIME_MAX, "%lld", (long long)t);
}

/*
 * Everything both parse functions do; the signature and expiry checks
 * only when verify is set. The order is the contract in manifest.h.
 */
static enum ota_status
parse(const char *text, size_t len, bool verify,
    struct sign_key *const *trusted, size_t ntrusted, int64_t now,
    struct manifest *out, char *err, size_t errsz)
{
	const cJSON *sigs = NULL, *sgn = NULL;
	struct buf canon, again, whole;
	enum ota_status st;
	cJSON *root = NULL;
	char *copy = NULL, when[MANIFEST_TIME_MAX];

	memset(out, 0, sizeof(*out));
	buf_init(&canon, MANIFEST_MAX_BYTES);
	buf_init(&again, MANIFEST_MAX_BYTES);
	buf_init(&whole, MANIFEST_MAX_BYTES);
	if (len > MANIFEST_MAX_BYTES) {
		st = str_fail(err, errsz, OTA_E_INVALID, "manifest is larger "
		    "than %d bytes", MANIFEST_MAX_BYTES);
		goto out;
	}
	/* cJSON stops at a NUL; what follows one must not pass unseen. */
	if (memchr(text, '\0', len) != NULL) {
		st = str_fail(err, errsz, OTA_E_INVALID, "manifest holds a NUL "
		    "byte");
		goto out;
	}
	if ((copy = malloc(len + 1)) == NULL) {
		st = OTA_E_NOMEM;
		goto out;
	}
	memcpy(copy, text, len);
	copy[len] = '\0';
	/* Length len + 1 and "require NUL": no bytes after the value. */
	if ((root = cJSON_ParseWithLengthOpts(copy, len + 1, NULL, 1)) ==
	    NULL) {
		st = str_fail(err, errsz, OTA_E_INVALID, "manifest is not JSON");
		goto out;
	}
	if ((st = envelope_check(root, &sigs, &sgn, err, errsz)) != OTA_OK)
		goto out;
	/*
	 * The file must be the canonical text of what it holds (one final
	 * newline allowed): JSON parsers disagree on "\u0000" inside strings
	 * and on 7.0 versus 7, so any other spelling could make another tool
	 * read, from a file that verifies, something that was never signed.
	 */
	if (len > 0 && text[len - 1] == '\n')
		len--;
	if ((st = canon_value(&whole, root, 0)) != OTA_OK ||
	    whole.len != len || memcmp(whole.data, text, len) != 0) {
		if (st != OTA_E_NOMEM)
			st = str_fail(err, errsz, OTA_E_INVALID, "manifest is "
			    "not in canonical form (sorted keys, no spaces, "
			    "integers only: as ota writes it)");
		goto out;
	}
	if ((st = canon_value(&canon, sgn, 1)) != OTA_OK) {
		if (st != OTA_E_NOMEM)
			st = str_fail(err, errsz, OTA_E_INVALID, "signed part is "
			    "not canonical JSON material (a float, boolean, "
			    "null, duplicate key, deep nesting or bad UTF-8)");
		goto out;
	}
	if (verify && signatures_verify(sigs, &canon, trusted, ntrusted) !=
	    OTA_OK) {
		st = str_fail(err, errsz, OTA_E_SIGNATURE, "bad signature: none "
		    "by a trusted key verifies");
		goto out;
	}
	if ((st = decode_signed(sgn, out, err, errsz)) != OTA_OK ||
	    (st = manifest_validate(out, err, errsz)) != OTA_OK)
		goto out;
	if ((st = manifest_canonical(out, &again)) != OTA_OK)
		goto out;
	if (again.len != canon.len ||
	    memcmp(again.data, canon.data, canon.len) != 0) {
		st = str_fail(err, errsz, OTA_E_INVALID, "signed part does not "
		    "serialise back to itself");
		goto out;
	}
	if (verify && out->expires <= now) {
		manifest_time_str(out->expires, when);
		st = str_fail(err, errsz, OTA_E_EXPIRED, "manifest expired at %s",
		    when);
	}
out:
	if (st != OTA_OK && st != OTA_E_EXPIRED)
		manifest_release(out);
	buf_release(&canon);
	buf_release(&again);
	buf_release(&whole);
	cJSON_Delete(root);
	free(copy);
	return st;
}

enum ota_status
manifest_parse_verify_err(const char *text, size_t len,
    struct sign_key *const *trusted, size_t ntrusted, int64_t now,
    struct manifest *out, char *err, size_t errsz)
{
	return parse(text, len, true, trusted, ntrusted, now, out, err, errsz);
}

enum ota_status
manifest_parse_verify(const char *text, size_t len,
    struct sign_key *const *trusted, size_t ntrusted, int64_t now,
    struct manifest *out)
{
	return parse(text, len, true, trusted, ntrusted, now, out, NULL, 0);
}

enum ota_status
manifest_parse_unverified(const char *text, size_t len, struct manifest *out,
    char *err, size_t errsz)
{
	return parse(text, len, false, NULL, 0, 0, out, err, errsz);
}
