#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <openssl/rand.h>

#include "common/hash.h"
#include "common/str.h"
#include "server/store.h"
#include "server/store_backend.h"
#include "common/banned.h"

#define STORE_DIR_MODE 0755
#define STORE_TOKEN_PREFIX "ota_"
#define STORE_TOKEN_RANDOM 32		/* bytes, 256 bits */

struct store {
	const struct store_backend *be;
	void *db;
	struct blobstore *blobs;
	char dir[PATH_MAX];
};

enum ota_status
store_open(struct store **sp, const char *dir, bool create, char *err,
    size_t errsz)
{
	char dbpath[PATH_MAX];
	struct store *s;
	enum ota_status rc;
	struct stat sb;

	*sp = NULL;
	err[0] = '\0';
	if (stat(dir, &sb) != 0) {
		if (errno != ENOENT || !create) {
			rc = ota_status_from_errno(errno);
			(void)!str_fmt(err, errsz, "no store at '%s': %s", dir,
			    strerror(errno));
			return rc;
		}
		if (mkdir(dir, STORE_DIR_MODE) != 0 && errno != EEXIST) {
			rc = ota_status_from_errno(errno);
			(void)!str_fmt(err, errsz, "cannot create store '%s': "
			    "%s", dir, strerror(errno));
			return rc;
		}
	} else if (!S_ISDIR(sb.st_mode)) {
		(void)!str_fmt(err, errsz, "store '%s' is not a directory",
		    dir);
		return OTA_E_INVALID;
	}
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return OTA_E_NOMEM;
	s->be = &store_sqlite_backend;
	if ((rc = str_copy(s->dir, sizeof(s->dir), dir)) != OTA_OK ||
	    (rc = str_fmt(dbpath, sizeof(dbpath), "%s/%s", dir,
	    STORE_DB_NAME)) != OTA_OK) {
		(void)!str_fmt(err, errsz, "store path '%s' is too long", dir);
		goto fail;
	}
	if ((rc = blobstore_open(&s->blobs, dir)) != OTA_OK) {
		(void)!str_fmt(err, errsz, "cannot open blobs in '%s': %s",
		    dir, rc == OTA_E_IO ? strerror(errno) :
		    ota_status_str(rc));
		goto fail;
	}
	if ((rc = s->be->open(&s->db, dbpath, true, err, errsz)) != OTA_OK)
		goto fail;
	*sp = s;
	return OTA_OK;
fail:
	store_free(s);
	return rc;
}

void
store_free(struct store *s)
{
	if (s == NULL)
		return;
	if (s->db != NULL)
		s->be->close(s->db);
	blobstore_free(s->blobs);
	free(s);
}

const char *
store_dir(const struct store *s)
{
	return s->dir;
}

struct blobstore *
store_blobs(struct store *s)
{
	return s->blobs;
}

const char *
store_errmsg(const struct store *s)
{
	return s->be->errmsg(s->db);
}

enum ota_status
store_begin(struct store *s)
{
	return s->be->tx(s->db, STORE_TX_BEGIN);
}

enum ota_status
store_commit(struct store *s)
{
	return s->be->tx(s->db, STORE_TX_COMMIT);
}

void
store_rollback(struct store *s)
{
	(void)!s->be->tx(s->db, STORE_TX_ROLLBACK);
}

enum ota_status
store_generation(struct store *s, uint64_t *gen)
{
	return s->be->generation(s->db, gen);
}

/* ---- repositories ---- */

bool
store_name_valid(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > STORE_MAX_NAME || strcmp(s, ".") == 0 ||
	    strcmp(s, "..") == 0)
		return false;
	return strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	    "0123456789._-") == n;
}

enum ota_status
store_repo_get(struct store *s, const char *owner, const char *name,
    struct store_repo *out)
{
	if (!store_name_valid(owner) || !store_name_valid(name))
		return OTA_E_NOTFOUND;
	return s->be->repo_get(s->db, 0, owner, name, out);
}

enum ota_status
store_repo_get_id(struct store *s, int64_t id, struct store_repo *out)
{
	return s->be->repo_get(s->db, id, NULL, NULL, out);
}

enum ota_status
store_repo_ensure(struct store *s, const char *owner, const char *name,
    struct store_repo *out)
{
	enum ota_status rc;

	if (!store_name_valid(owner) || !store_name_valid(name))
		return OTA_E_INVALID;
	rc = s->be->repo_get(s->db, 0, owner, name, out);
	if (rc != OTA_E_NOTFOUND)
		return rc;
	memset(out, 0, sizeof(*out));
	(void)!str_copy(out->owner, sizeof(out->owner), owner);
	(void)!str_copy(out->name, sizeof(out->name), name);
	out->created = (int64_t)time(NULL);
	return s->be->repo_insert(s->db, out);
}

enum ota_status
store_repo_set_private(struct store *s, int64_t repo_id, bool is_private)
{
	struct store_repo r;
	enum ota_status rc;

	if ((rc = s->be->repo_get(s->db, repo_id, NULL, NULL, &r)) != OTA_OK)
		return rc;
	r.is_private = is_private;
	return s->be->repo_update(s->db, &r);
}

enum ota_status
store_repo_next_metadata(struct store *s, int64_t repo_id,
    uint64_t *version)
{
	struct store_repo r;
	enum ota_status rc;

	if ((rc = s->be->repo_get(s->db, repo_id, NULL, NULL, &r)) != OTA_OK)
		return rc;
	r.metadata_version++;
	if ((rc = s->be->repo_update(s->db, &r)) == OTA_OK)
		*version = r.metadata_version;
	return rc;
}

enum ota_status
store_repo_list(struct store *s, struct store_repo **out, size_t *n)
{
	enum ota_status rc = s->be->repo_list(s->db, out, n);

	if (rc != OTA_OK) {
		free(*out);
		*out = NULL;
		*n = 0;
	}
	return rc;
}

/* ---- releases ---- */

void
store_release_init(struct store_release *r)
{
	memset(r, 0, sizeof(*r));
}

void
store_release_release(struct store_release *r)
{
	free(r->notes);
	r->notes = NULL;
}

void
store_releases_free(struct store_release *r, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		store_release_release(&r[i]);
	free(r);
}

enum ota_status
store_release_insert(struct store *s, struct store_release *r,
    const struct store_asset *assets, size_t nassets)
{
	enum ota_status rc;
	size_t i;

	if (nassets > STORE_MAX_ASSETS)
		return OTA_E_TOO_LARGE;
	for (i = 1; i < nassets; i++)
		if (strcmp(assets[i - 1].path, assets[i].path) >= 0)
			return OTA_E_INVALID;
	if ((rc = s->be->release_insert(s->db, r)) != OTA_OK)
		return rc;
	for (i = 0; i < nassets; i++)
		if ((rc = s->be->asset_insert(s->db, r->id, &assets[i])) !=
		    OTA_OK)
			return rc;
	return OTA_OK;
}

enum ota_status
store_release_delete(struct store *s, int64_t release_id)
{
	return s->be->release_delete(s->db, release_id);
}

enum ota_status
store_release_update(struct store *s, const struct store_release *r)
{
	return s->be->release_update(s->db, r);
}

enum ota_status
store_release_get(struct store *s, int64_t repo_id, const char *tag,
    struct store_release *out)
{
	enum ota_status rc;

	store_release_init(out);
	if ((rc = s->be->release_get(s->db, repo_id, tag, out)) != OTA_OK)
		store_release_release(out);
	return rc;
}

static bool
release_passes(const struct store_release *r, enum store_filter filter,
    const char *channel)
{
	if (channel != NULL && strcmp(r->channel, channel) != 0)
		return false;
	switch (filter) {
	case STORE_LIST_ALL:
		return true;
	case STORE_LIST_VISIBLE:
		return !r->draft && !r->yanked;
	case STORE_LIST_ELIGIBLE:
		return !r->draft && !r->yanked && !r->prerelease;
	}
	return false;
}

/* Highest version first; equal versions (v1 and 1.0) newest first. */
static int
release_order(const void *pa, const void *pb)
{
	const struct store_release *a = pa, *b = pb;
	struct semver va, vb;
	int c = 0;

	if (semver_parse(a->version, &va) == OTA_OK &&
	    semver_parse(b->version, &vb) == OTA_OK)
		c = semver_cmp(&vb, &va);
	if (c == 0)
		c = (b->created > a->created) - (b->created < a->created);
	if (c == 0)
		c = (b->id > a->id) - (b->id < a->id);
	return c;
}

enum ota_status
store_release_list(struct store *s, int64_t repo_id,
    enum store_filter filter, const char *channel,
    struct store_release **out, size_t *n)
{
	struct store_release *all;
	size_t i, j, nall;
	enum ota_status rc;

	*out = NULL;
	*n = 0;
	if ((rc = s->be->release_list(s->db, repo_id, &all, &nall)) !=
	    OTA_OK) {
		store_releases_free(all, nall);
		return rc;
	}
	for (i = j = 0; i < nall; i++) {
		if (release_passes(&all[i], filter, channel))
			all[j++] = all[i];
		else
			store_release_release(&all[i]);
	}
	if (j > 1)
		qsort(all, j, sizeof(*all), release_order);
	if (j == 0) {
		free(all);
		all = NULL;
	}
	*out = all;
	*n = j;
	return OTA_OK;
}

enum ota_status
store_release_latest(struct store *s, int64_t repo_id, const char *channel,
    struct store_release *out)
{
	struct store_release *list;
	enum ota_status rc;
	size_t i, n;

	store_release_init(out);
	if (channel == NULL)
		channel = STORE_DEFAULT_CHANNEL;
	rc = store_release_list(s, repo_id, STORE_LIST_ELIGIBLE, NULL, &list,
	    &n);
	if (rc != OTA_OK)
		return rc;
	/* Highest first: the first of channel or of the default wins. */
	for (i = 0; i < n; i++)
		if (strcmp(list[i].channel, channel) == 0 ||
		    strcmp(list[i].channel, STORE_DEFAULT_CHANNEL) == 0)
			break;
	if (i == n) {
		store_releases_free(list, n);
		return OTA_E_NOTFOUND;
	}
	*out = list[i];
	list[i].notes = NULL;
	store_releases_free(list, n);
	return OTA_OK;
}

/* ---- assets ---- */

void
store_assets_free(struct store_asset *a, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(a[i].path);
	free(a);
}

enum ota_status
store_asset_list(struct store *s, int64_t release_id, const char *prefix,
    struct store_asset **out, size_t *n)
{
	enum ota_status rc = s->be->asset_list(s->db, release_id, prefix, out,
	    n);

	if (rc != OTA_OK) {
		store_assets_free(*out, *n);
		*out = NULL;
		*n = 0;
	}
	return rc;
}

enum ota_status
store_asset_get(struct store *s, int64_t release_id, const char *path,
    struct store_asset *out)
{
	memset(out, 0, sizeof(*out));
	return s->be->asset_get(s->db, release_id, path, out);
}

/* ---- devices ---- */

enum ota_status
store_mac_normalize(const char *in, char out[STORE_MAC_LEN + 1])
{
	static const char hex[] = "0123456789ABCDEF";
	size_t i, o = 0, digits = 0;

	for (i = 0; in[i] != '\0'; i++) {
		const char *p = strchr(hex, in[i] >= 'a' && in[i] <= 'f' ?
		    in[i] - 'a' + 'A' : in[i]);

		if (in[i] == ':' || in[i] == '-')
			continue;
		if (p == NULL || *p == '\0' || digits == 12)
			return OTA_E_INVALID;
		if (digits > 0 && digits % 2 == 0)
			out[o++] = ':';
		out[o++] = *p;
		digits++;
	}
	out[o] = '\0';
	return digits == 12 ? OTA_OK : OTA_E_INVALID;
}

enum ota_status
store_device_get(struct store *s, const char *mac, struct store_device *out)
{
	char norm[STORE_MAC_LEN + 1];

	memset(out, 0, sizeof(*out));
	if (store_mac_normalize(mac, norm) != OTA_OK)
		return OTA_E_NOTFOUND;
	return s->be->device_get(s->db, norm, out);
}

enum ota_status
store_device_put(struct store *s, const struct store_device *d)
{
	struct store_device copy = *d;

	if (store_mac_normalize(d->mac, copy.mac) != OTA_OK)
		return OTA_E_INVALID;
	copy.updated = (int64_t)time(NULL);
	return s->be->device_put(s->db, &copy);
}

enum ota_status
store_device_list(struct store *s, struct store_device **out, size_t *n)
{
	enum ota_status rc = s->be->device_list(s->db, out, n);

	if (rc != OTA_OK) {
		free(*out);
		*out = NULL;
		*n = 0;
	}
	return rc;
}

/* ---- device events ---- */

enum ota_status
store_event_add(struct store *s, struct store_event *e)
{
	if (!str_device_id_valid(e->device))
		return OTA_E_INVALID;
	e->at = (int64_t)time(NULL);
	return s->be->event_insert(s->db, e, STORE_MAX_EVENTS);
}

enum ota_status
store_event_list(struct store *s, const char *device, size_t limit,
    struct store_event **out, size_t *n)
{
	enum ota_status rc;

	*out = NULL;
	*n = 0;
	if (limit == 0)
		return OTA_OK;
	if ((rc = s->be->event_list(s->db, device, limit, out, n)) != OTA_OK) {
		free(*out);
		*out = NULL;
		*n = 0;
	}
	return rc;
}

/* ---- tokens ---- */

static const char *const scope_names[] = {
	[STORE_SCOPE_READ] = "read",
	[STORE_SCOPE_PUBLISH] = "publish",
	[STORE_SCOPE_ADMIN] = "admin",
};

const char *
store_scope_name(enum store_scope scope)
{
	if (scope >= STORE_SCOPE_READ && scope <= STORE_SCOPE_ADMIN)
		return scope_names[scope];
	return "none";
}

enum ota_status
store_scope_parse(const char *s, enum store_scope *out)
{
	int i;

	for (i = STORE_SCOPE_READ; i <= STORE_SCOPE_ADMIN; i++)
		if (strcmp(s, scope_names[i]) == 0) {
			*out = (enum store_scope)i;
			return OTA_OK;
		}
	return OTA_E_INVALID;
}

static enum ota_status
token_hash(const char *secret, char hex[STORE_TOKEN_HEX + 1])
{
	return hash_hex(HASH_SHA256, secret, strlen(secret), hex);
}

/* base64url without padding: 32 bytes → 43 characters. */
static void
base64url(const unsigned char *p, size_t n, char *out)
{
	static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz0123456789-_";
	uint32_t v = 0;
	size_t i;
	int bits = 0;

	for (i = 0; i < n; i++) {
		v = (v << 8) | p[i];
		bits += 8;
		while (bits >= 6) {
			bits -= 6;
			*out++ = a[(v >> bits) & 0x3f];
		}
	}
	if (bits > 0)
		*out++ = a[(v << (6 - bits)) & 0x3f];
	*out = '\0';
}

enum ota_status
store_token_create(struct store *s, const char *name, enum store_scope scope,
    int64_t repo_id, char *secret, size_t secretsz, struct store_token *out)
{
	unsigned char rnd[STORE_TOKEN_RANDOM];
	char text[sizeof(STORE_TOKEN_PREFIX) + STORE_TOKEN_RANDOM * 2];
	char hex[STORE_TOKEN_HEX + 1];
	enum ota_status rc;

	if (scope < STORE_SCOPE_READ || scope > STORE_SCOPE_ADMIN)
		return OTA_E_INVALID;
	if (RAND_bytes(rnd, sizeof(rnd)) != 1)
		return OTA_E_IO;
	memcpy(text, STORE_TOKEN_PREFIX, sizeof(STORE_TOKEN_PREFIX) - 1);
	base64url(rnd, sizeof(rnd), text + sizeof(STORE_TOKEN_PREFIX) - 1);
	if ((rc = token_hash(text, hex)) != OTA_OK)
		return rc;
	memset(out, 0, sizeof(*out));
	if ((rc = str_copy(out->name, sizeof(out->name), name)) != OTA_OK)
		return OTA_E_INVALID;
	out->scope = scope;
	out->repo_id = repo_id;
	out->created = (int64_t)time(NULL);
	if ((rc = str_copy(secret, secretsz, text)) != OTA_OK)
		return rc;
	return s->be->token_insert(s->db, hex, out);
}

enum ota_status
store_token_check(struct store *s, const char *secret,
    struct store_token *out)
{
	char hex[STORE_TOKEN_HEX + 1];
	enum ota_status rc;

	if (!str_has_prefix(secret, STORE_TOKEN_PREFIX) ||
	    strlen(secret) > STORE_TOKEN_RANDOM * 2)
		return OTA_E_AUTH;
	if ((rc = token_hash(secret, hex)) != OTA_OK)
		return rc;
	rc = s->be->token_get(s->db, hex, out);
	return rc == OTA_E_NOTFOUND ? OTA_E_AUTH : rc;
}

enum ota_status
store_token_list(struct store *s, struct store_token **out, size_t *n)
{
	enum ota_status rc = s->be->token_list(s->db, out, n);

	if (rc != OTA_OK) {
		free(*out);
		*out = NULL;
		*n = 0;
	}
	return rc;
}

enum ota_status
store_token_revoke(struct store *s, int64_t id)
{
	return s->be->token_delete(s->db, id);
}
