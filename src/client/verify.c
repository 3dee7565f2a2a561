#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/verify.h"
#include "common/str.h"
#include "common/banned.h"

static bool
hex_of(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') ||
		    (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return s[n] == '\0';
}

void
verify_abort(struct verify *v)
{
	if (v->sha1 != NULL)
		v->c->hash_abort(v->c->ctx, v->sha1);
	if (v->s256 != NULL)
		v->c->hash_abort(v->c->ctx, v->s256);
	v->sha1 = v->s256 = NULL;
}

enum ota_status
verify_begin(struct verify *v, const struct ota_crypto *c, uint64_t size,
    const char *git_sha1, const char *sha256)
{
	char hdr[32], dec[STR_U64_MAX];
	enum ota_status st;

	memset(v, 0, sizeof(*v));
	if ((git_sha1 == NULL && sha256 == NULL) ||
	    (git_sha1 != NULL && !hex_of(git_sha1, 40)) ||
	    (sha256 != NULL && !hex_of(sha256, 64)))
		return OTA_E_INVALID;
	v->c = c;
	v->size = size;
	if (git_sha1 != NULL) {
		memcpy(v->git_sha1, git_sha1, sizeof(v->git_sha1));
		if ((st = c->hash_begin(c->ctx, OTA_HASH_SHA1, &v->sha1)) !=
		    OTA_OK)
			return st;
		/* Git hashes a header with the size, NUL included, first. */
		(void)!str_fmt(hdr, sizeof(hdr), "blob %s",
		    str_u64(size, dec));
		if ((st = c->hash_update(c->ctx, v->sha1, hdr,
		    strlen(hdr) + 1)) != OTA_OK) {
			verify_abort(v);
			return st;
		}
	}
	if (sha256 != NULL) {
		memcpy(v->sha256, sha256, sizeof(v->sha256));
		if ((st = c->hash_begin(c->ctx, OTA_HASH_SHA256,
		    &v->s256)) != OTA_OK) {
			verify_abort(v);
			return st;
		}
	}
	return OTA_OK;
}

enum ota_status
verify_update(struct verify *v, const void *p, size_t n)
{
	enum ota_status st;

	if (n > v->size - v->got)
		return OTA_E_TOO_LARGE;
	v->got += n;
	if (v->sha1 != NULL &&
	    (st = v->c->hash_update(v->c->ctx, v->sha1, p, n)) != OTA_OK)
		return st;
	if (v->s256 != NULL &&
	    (st = v->c->hash_update(v->c->ctx, v->s256, p, n)) != OTA_OK)
		return st;
	return OTA_OK;
}

/* Finishes *h (which is then gone) and compares it with want (hex). */
static enum ota_status
check(const struct ota_crypto *c, void **h, size_t len, const char *want,
    const char *what, char *err, size_t errsz)
{
	unsigned char md[OTA_SHA256_LEN];
	char hex[2 * OTA_SHA256_LEN + 1];
	enum ota_status st;
	void *done = *h;

	*h = NULL;
	if ((st = c->hash_end(c->ctx, done, md)) != OTA_OK)
		return st;
	str_hex(hex, md, len);
	if (strcmp(hex, want) != 0)
		return str_fail(err, errsz, OTA_E_CHANGED, "%s is %s, the feed "
		    "promised %s", what, hex, want);
	return OTA_OK;
}

enum ota_status
verify_end(struct verify *v, char *err, size_t errsz)
{
	char d1[STR_U64_MAX], d2[STR_U64_MAX];
	enum ota_status st = OTA_OK;

	if (v->got != v->size)
		st = str_fail(err, errsz, OTA_E_PROTOCOL, "%s of %s bytes "
		    "arrived", str_u64(v->got, d1), str_u64(v->size, d2));
	if (st == OTA_OK && v->sha1 != NULL)
		st = check(v->c, &v->sha1, OTA_SHA1_LEN, v->git_sha1,
		    "the Git blob id", err, errsz);
	if (st == OTA_OK && v->s256 != NULL)
		st = check(v->c, &v->s256, OTA_SHA256_LEN, v->sha256,
		    "the SHA-256", err, errsz);
	verify_abort(v);
	return st;
}

static int
by_path(const void *a, const void *b)
{
	return strcmp(((const struct verify_file *)a)->path,
	    ((const struct verify_file *)b)->path);
}

enum ota_status
verify_release(const struct manifest *m, const struct verify_file *files,
    size_t n, char *err, size_t errsz)
{
	char d1[STR_U64_MAX], d2[STR_U64_MAX];
	struct verify_file *sorted;
	enum ota_status st = OTA_OK;
	size_t i;

	if (n == 0 || m->nfiles == 0)
		return str_fail(err, errsz, OTA_E_INVALID, "the release has no "
		    "files: refusing to install an empty release");
	if (n != m->nfiles)
		return str_fail(err, errsz, OTA_E_CHANGED, "the feed lists %lu "
		    "files, the signed manifest %lu", (unsigned long)n,
		    (unsigned long)m->nfiles);
	if ((sorted = malloc(n * sizeof(*sorted))) == NULL)
		return OTA_E_NOMEM;
	memcpy(sorted, files, n * sizeof(*sorted));
	qsort(sorted, n, sizeof(*sorted), by_path);
	/* The manifest's files are sorted and unique (manifest.h). */
	for (i = 0; i < n && st == OTA_OK; i++) {
		if (strcmp(sorted[i].path, m->files[i].path) != 0)
			st = str_fail(err, errsz, OTA_E_CHANGED, "the feed "
			    "lists '%.200s' where the signed manifest has "
			    "'%.200s'", sorted[i].path, m->files[i].path);
		else if (sorted[i].size != m->files[i].size)
			st = str_fail(err, errsz, OTA_E_CHANGED, "'%.200s' is "
			    "%s bytes in the feed, %s in the signed "
			    "manifest", sorted[i].path,
			    str_u64(sorted[i].size, d1),
			    str_u64(m->files[i].size, d2));
	}
	free(sorted);
	return st;
}
