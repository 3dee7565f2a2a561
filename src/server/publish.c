/* fdopendir, openat and O_DIRECTORY/O_NOFOLLOW need POSIX 2008 plus. */
#define _DEFAULT_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/fsatomic.h"
#include "common/hash.h"
#include "common/log.h"
#include "common/manifest.h"
#include "common/path.h"
#include "common/semver.h"
#include "common/str.h"
#include "server/publish.h"
#include "common/banned.h"

#define PUBLISH_KEY_DIR_MODE 0700
#define SECONDS_PER_DAY 86400

struct collector {
	struct publish_file *f;
	size_t n, cap;
	char *err;
	size_t errsz;
};

void
publish_files_free(struct publish_file *f, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(f[i].src);
		free(f[i].path);
	}
	free(f);
}

bool
publish_channel_valid(const char *channel)
{
	size_t n = strlen(channel);

	return n > 0 && n <= STORE_MAX_CHANNEL &&
	    strspn(channel, "abcdefghijklmnopqrstuvwxyz0123456789._-") == n;
}

/*
 * An asset path a device can install as it is: the same rule the signed
 * manifest enforces (manifest_path_valid), checked here so that publishing
 * refuses it with a reason before anything is stored.
 */
static bool
asset_path_valid(const char *p)
{
	return strlen(p) <= STORE_MAX_ASSET_PATH && manifest_path_valid(p);
}

static enum ota_status
add_file(struct collector *c, const char *src, const char *path)
{
	struct publish_file *grown;

	if (!asset_path_valid(path)) {
		(void)!str_fmt(c->err, c->errsz, "'%s': not a usable file "
		    "name in a release (control characters, a backslash, "
		    "invalid UTF-8, or too long)", src);
		return OTA_E_INVALID;
	}
	if (c->n == STORE_MAX_ASSETS) {
		(void)!str_fmt(c->err, c->errsz, "more than %d files",
		    STORE_MAX_ASSETS);
		return OTA_E_TOO_LARGE;
	}
	if (c->n == c->cap) {
		c->cap = c->cap ? c->cap * 2 : 32;
		if ((grown = realloc(c->f, c->cap * sizeof(*grown))) == NULL)
			return OTA_E_NOMEM;
		c->f = grown;
	}
	c->f[c->n].src = strdup(src);
	c->f[c->n].path = strdup(path);
	if (c->f[c->n].src == NULL || c->f[c->n].path == NULL) {
		free(c->f[c->n].src);
		free(c->f[c->n].path);
		return OTA_E_NOMEM;
	}
	c->n++;
	return OTA_OK;
}

/* Walks the directory dfd (src names it, path is its asset prefix). */
static enum ota_status
walk(struct collector *c, int dfd, const char *src, const char *path,
    int depth)
{
	char csrc[PATH_MAX], cpath[STORE_MAX_ASSET_PATH + 2];
	enum ota_status rc = OTA_OK;
	struct dirent *de;
	struct stat sb;
	DIR *d;
	int fd;

	if (depth > PUBLISH_MAX_DEPTH) {
		(void)!str_fmt(c->err, c->errsz, "'%s': more than %d "
		    "directory levels", src, PUBLISH_MAX_DEPTH);
		close(dfd);
		return OTA_E_TOO_LARGE;
	}
	if ((d = fdopendir(dfd)) == NULL) {
		(void)!str_fmt(c->err, c->errsz, "cannot read '%s': %s", src,
		    strerror(errno));
		close(dfd);
		return ota_status_from_errno(errno);
	}
	while (rc == OTA_OK && (errno = 0, de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		if (str_fmt(csrc, sizeof(csrc), "%s/%s", src, de->d_name) !=
		    OTA_OK || str_fmt(cpath, sizeof(cpath), "%s%s%s", path,
		    path[0] ? "/" : "", de->d_name) != OTA_OK) {
			(void)!str_fmt(c->err, c->errsz, "'%s/%s': path too "
			    "long", src, de->d_name);
			rc = OTA_E_TOO_LARGE;
			break;
		}
		if (fstatat(dirfd(d), de->d_name, &sb, AT_SYMLINK_NOFOLLOW)) {
			(void)!str_fmt(c->err, c->errsz, "cannot stat '%s': %s",
			    csrc, strerror(errno));
			rc = ota_status_from_errno(errno);
		} else if (S_ISREG(sb.st_mode))
			rc = add_file(c, csrc, cpath);
		else if (S_ISDIR(sb.st_mode)) {
			fd = openat(dirfd(d), de->d_name,
			    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (fd < 0) {
				(void)!str_fmt(c->err, c->errsz, "cannot open "
				    "'%s': %s", csrc, strerror(errno));
				rc = ota_status_from_errno(errno);
			} else
				rc = walk(c, fd, csrc, cpath, depth + 1);
		} else {
			(void)!str_fmt(c->err, c->errsz, "'%s' is %s; only "
			    "regular files and directories can be published",
			    csrc, S_ISLNK(sb.st_mode) ? "a symbolic link" :
			    "not a regular file");
			rc = OTA_E_INVALID;
		}
	}
	if (rc == OTA_OK && errno != 0) {
		(void)!str_fmt(c->err, c->errsz, "cannot read '%s': %s", src,
		    strerror(errno));
		rc = ota_status_from_errno(errno);
	}
	closedir(d);
	return rc;
}

static int
str_order(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/*
 * The first path that is also a directory of another ("main" beside
 * "main/app.py"), which no filesystem can hold; NULL if none. sorted is
 * sorted bytewise.
 */
static const char *
path_clash(const char *const *sorted, size_t n,
    char prefix[STORE_MAX_ASSET_PATH + 1])
{
	const char *key = prefix;
	const char *slash;
	size_t i;

	for (i = 0; i < n; i++)
		for (slash = strchr(sorted[i], '/'); slash != NULL;
		    slash = strchr(slash + 1, '/')) {
			size_t len = (size_t)(slash - sorted[i]);

			if (len > STORE_MAX_ASSET_PATH)
				break;
			memcpy(prefix, sorted[i], len);
			prefix[len] = '\0';
			if (bsearch(&key, sorted, n, sizeof(*sorted),
			    str_order) != NULL)
				return sorted[i];
		}
	return NULL;
}

/*
 * Refuses paths (sorted here) with one that is not a relative, normalised
 * path, a duplicate, or a file where another needs a directory.
 */
static enum ota_status
paths_check(const char **sorted, size_t n, char *err, size_t errsz)
{
	char prefix[STORE_MAX_ASSET_PATH + 1];
	const char *clash;
	size_t i;

	qsort(sorted, n, sizeof(*sorted), str_order);
	for (i = 0; i < n; i++)
		if (!asset_path_valid(sorted[i])) {
			(void)!str_fmt(err, errsz, "file path '%.200s' is not "
			    "a relative, normalised path", sorted[i]);
			return OTA_E_INVALID;
		}
	for (i = 1; i < n; i++)
		if (strcmp(sorted[i - 1], sorted[i]) == 0) {
			(void)!str_fmt(err, errsz, "'%.200s' appears twice in "
			    "the release", sorted[i]);
			return OTA_E_INVALID;
		}
	if ((clash = path_clash(sorted, n, prefix)) != NULL) {
		(void)!str_fmt(err, errsz, "'%.200s' would be both a file and "
		    "the directory of '%.200s'", prefix, clash);
		return OTA_E_INVALID;
	}
	return OTA_OK;
}

/* paths_check on the path member (at off) of n structs of size sz. */
static enum ota_status
paths_check_of(const void *arr, size_t n, size_t sz, size_t off, char *err,
    size_t errsz)
{
	const char **names = calloc(n ? n : 1, sizeof(*names));
	enum ota_status rc;
	size_t i;

	if (names == NULL)
		return OTA_E_NOMEM;
	for (i = 0; i < n; i++)
		memcpy(&names[i], (const char *)arr + i * sz + off,
		    sizeof(names[i]));
	rc = paths_check(names, n, err, errsz);
	free(names);
	return rc;
}

static int
file_order(const void *a, const void *b)
{
	return strcmp(((const struct publish_file *)a)->path,
	    ((const struct publish_file *)b)->path);
}

/* The asset name a PATH argument stands for; "" for "." and "..". */
static enum ota_status
top_name(const char *src, char *out, size_t outsz)
{
	char tmp[PATH_MAX];
	size_t n;

	if (str_copy(tmp, sizeof(tmp), src) != OTA_OK)
		return OTA_E_TOO_LARGE;
	n = strlen(tmp);
	while (n > 1 && tmp[n - 1] == '/')
		tmp[--n] = '\0';
	if (strcmp(path_basename(tmp), ".") == 0 ||
	    strcmp(path_basename(tmp), "..") == 0 || strcmp(tmp, "/") == 0)
		return str_copy(out, outsz, "");
	return str_copy(out, outsz, path_basename(tmp));
}

enum ota_status
publish_collect(const char *const *paths, size_t npaths,
    struct publish_file **out, size_t *nout, char *err, size_t errsz)
{
	struct collector c = { .err = err, .errsz = errsz };
	char name[STORE_MAX_ASSET_PATH + 1];
	enum ota_status rc = OTA_OK;
	struct stat sb;
	size_t i;
	int fd;

	*out = NULL;
	*nout = 0;
	err[0] = '\0';
	for (i = 0; i < npaths && rc == OTA_OK; i++) {
		if (stat(paths[i], &sb) != 0) {
			(void)!str_fmt(err, errsz, "cannot publish '%s': %s",
			    paths[i], strerror(errno));
			rc = ota_status_from_errno(errno);
		} else if (top_name(paths[i], name, sizeof(name)) != OTA_OK) {
			(void)!str_fmt(err, errsz, "'%s': path too long",
			    paths[i]);
			rc = OTA_E_TOO_LARGE;
		} else if (S_ISREG(sb.st_mode)) {
			if (name[0] == '\0') {
				(void)!str_fmt(err, errsz, "'%s' is not a "
				    "file name", paths[i]);
				rc = OTA_E_INVALID;
			} else
				rc = add_file(&c, paths[i], name);
		} else if (S_ISDIR(sb.st_mode)) {
			fd = open(paths[i], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
			if (fd < 0) {
				(void)!str_fmt(err, errsz, "cannot open '%s': "
				    "%s", paths[i], strerror(errno));
				rc = ota_status_from_errno(errno);
			} else
				rc = walk(&c, fd, paths[i], name, 1);
		} else {
			(void)!str_fmt(err, errsz, "'%s' is not a regular file "
			    "or directory", paths[i]);
			rc = OTA_E_INVALID;
		}
	}
	if (rc == OTA_OK && c.n == 0) {
		(void)!str_fmt(err, errsz, "no files to publish: a release "
		    "needs at least one");
		rc = OTA_E_INVALID;
	}
	if (rc == OTA_OK) {
		qsort(c.f, c.n, sizeof(*c.f), file_order);
		for (i = 1; i < c.n; i++)
			if (strcmp(c.f[i - 1].path, c.f[i].path) == 0) {
				(void)!str_fmt(err, errsz, "'%s' and '%s' would "
				    "both be '%s' in the release",
				    c.f[i - 1].src, c.f[i].src, c.f[i].path);
				rc = OTA_E_INVALID;
				break;
			}
	}
	if (rc == OTA_OK)
		rc = paths_check_of(c.f, c.n, sizeof(*c.f),
		    offsetof(struct publish_file, path), err, errsz);
	if (rc != OTA_OK) {
		publish_files_free(c.f, c.n);
		return rc;
	}
	*out = c.f;
	*nout = c.n;
	return OTA_OK;
}

/* MD5 and Git blob SHA-1 of a stored blob of known size. */
static enum ota_status
digest_blob(struct store *s, struct store_asset *a)
{
	unsigned char chunk[BLOBSTORE_CHUNK], md[HASH_MAX_LEN];
	char hdr[40];
	struct hash_ctx *md5 = hash_new(HASH_MD5), *sha1 = hash_new(HASH_SHA1);
	enum ota_status rc;
	uint64_t total = 0;
	size_t len;
	ssize_t got;
	int fd = -1;

	if (md5 == NULL || sha1 == NULL) {
		rc = OTA_E_NOMEM;
		goto out;
	}
	if ((rc = blobstore_open_blob(store_blobs(s), a->sha256, &fd)) !=
	    OTA_OK)
		goto out;
	/* Git's blob id: the header is part of what is hashed. */
	(void)!str_fmt(hdr, sizeof(hdr), "blob %llu", (unsigned long long)a->size);
	if ((rc = hash_update(sha1, hdr, strlen(hdr) + 1)) != OTA_OK)
		goto out;
	while ((got = read(fd, chunk, sizeof(chunk))) > 0) {
		total += (uint64_t)got;
		if ((rc = hash_update(md5, chunk, (size_t)got)) != OTA_OK ||
		    (rc = hash_update(sha1, chunk, (size_t)got)) != OTA_OK)
			goto out;
	}
	if (got < 0) {
		rc = OTA_E_IO;
		goto out;
	}
	if (total != a->size) {
		rc = OTA_E_CHANGED;
		goto out;
	}
	if ((rc = hash_final(md5, md, &len)) != OTA_OK)
		goto out;
	str_hex(a->md5, md, len);
	if ((rc = hash_final(sha1, md, &len)) != OTA_OK)
		goto out;
	str_hex(a->git_sha1, md, len);
out:
	if (fd >= 0)
		close(fd);
	hash_free(md5);
	hash_free(sha1);
	return rc;
}

/* Phase one: every file into the blob store, hashed three ways. */
static enum ota_status
store_files(struct store *s, const struct publish_file *files, size_t n,
    struct store_asset *assets, char *err, size_t errsz)
{
	enum ota_status rc;
	size_t i;
	int fd;

	for (i = 0; i < n; i++) {
		if ((fd = open(files[i].src, O_RDONLY | O_CLOEXEC)) < 0) {
			(void)!str_fmt(err, errsz, "cannot read '%s': %s",
			    files[i].src, strerror(errno));
			return ota_status_from_errno(errno);
		}
		rc = blobstore_put_fd(store_blobs(s), fd, UINT64_MAX,
		    assets[i].sha256, &assets[i].size);
		close(fd);
		if (rc == OTA_OK)
			rc = digest_blob(s, &assets[i]);
		if (rc != OTA_OK) {
			(void)!str_fmt(err, errsz, "cannot store '%s': %s",
			    files[i].src, rc == OTA_E_IO ? strerror(errno) :
			    ota_status_str(rc));
			return rc;
		}
		if ((assets[i].path = strdup(files[i].path)) == NULL)
			return OTA_E_NOMEM;
	}
	return OTA_OK;
}

/* Builds, signs and stores the manifest of r; sets r->manifest. */
static enum ota_status
sign_manifest(struct store *s, const struct store_repo *repo,
    struct store_release *r, const struct store_asset *assets, size_t n,
    struct sign_key *const *keys, size_t nkeys, unsigned expires_days,
    char *err, size_t errsz)
{
	char reponame[2 * STORE_MAX_NAME + 2];
	struct manifest m;
	struct buf out;
	enum ota_status rc;
	size_t i;

	if (expires_days == 0)
		expires_days = PUBLISH_DEFAULT_EXPIRES_DAYS;
	memset(&m, 0, sizeof(m));
	(void)!str_fmt(reponame, sizeof(reponame), "%s/%s", repo->owner,
	    repo->name);
	m.repo = reponame;
	m.tag = r->tag;
	m.version = r->version;
	m.channel = r->channel;
	m.metadata_version = r->metadata_version;
	m.created = (int64_t)time(NULL);
	m.expires = m.created + (int64_t)expires_days * SECONDS_PER_DAY;
	if ((m.files = calloc(n, sizeof(*m.files))) == NULL)
		return OTA_E_NOMEM;
	m.nfiles = n;
	for (i = 0; i < n; i++) {
		m.files[i].path = assets[i].path;
		m.files[i].size = assets[i].size;
		memcpy(m.files[i].sha256, assets[i].sha256,
		    sizeof(m.files[i].sha256));
	}
	buf_init(&out, MANIFEST_MAX_BYTES);
	rc = manifest_sign(&m, keys, nkeys, &out);
	free(m.files);
	if (rc == OTA_OK)
		rc = blobstore_put_mem(store_blobs(s), out.data, out.len,
		    r->manifest);
	buf_release(&out);
	if (rc != OTA_OK)
		(void)!str_fmt(err, errsz, "cannot sign the manifest of %s "
		    "%s: %s", reponame, r->tag, ota_status_str(rc));
	return rc;
}

/* The normalised version of a tag: "v1.2" → "1.2.0", build dropped. */
static enum ota_status
tag_version(const char *tag, char *out, size_t outsz)
{
	struct semver v;

	if (strlen(tag) > STORE_MAX_TAG || semver_parse(tag, &v) != OTA_OK)
		return OTA_E_INVALID;
	return str_fmt(out, outsz, "%llu.%llu.%llu%s%s",
	    (unsigned long long)v.major, (unsigned long long)v.minor,
	    (unsigned long long)v.patch, v.pre[0] ? "-" : "", v.pre);
}

/* Refuses a clash with an existing release unless forced; frees it then. */
static enum ota_status
make_room(struct store *s, const struct store_repo *repo,
    const struct publish_opts *o, const char *version, char *err,
    size_t errsz)
{
	struct store_release *list;
	enum ota_status rc;
	size_t i, n;

	rc = store_release_list(s, repo->id, STORE_LIST_ALL, NULL, &list, &n);
	if (rc != OTA_OK)
		return rc;
	for (i = 0; i < n && rc == OTA_OK; i++) {
		if (strcmp(list[i].tag, o->tag) == 0) {
			if (o->force)
				rc = store_release_delete(s, list[i].id);
			else {
				(void)!str_fmt(err, errsz, "%s/%s already has "
				    "release %s; replacing it needs --force "
				    "(API: \"force\": true)", repo->owner,
				    repo->name, o->tag);
				rc = OTA_E_EXISTS;
			}
		} else if (strcmp(list[i].version, version) == 0) {
			(void)!str_fmt(err, errsz, "%s/%s already has release "
			    "%s, the same version as %s", repo->owner,
			    repo->name, list[i].tag, o->tag);
			rc = OTA_E_EXISTS;
		}
	}
	store_releases_free(list, n);
	return rc;
}

/* Checks what o says, before anything is stored. */
static enum ota_status
check_opts(const struct publish_opts *o, char *version, size_t versionsz,
    char *err, size_t errsz)
{
	if (!store_name_valid(o->owner) || !store_name_valid(o->name)) {
		(void)!str_fmt(err, errsz, "'%s/%s' is not a repository name "
		    "(OWNER/REPO, each 1-100 of A-Z a-z 0-9 . _ -)", o->owner,
		    o->name);
		return OTA_E_INVALID;
	}
	if (tag_version(o->tag, version, versionsz) != OTA_OK) {
		(void)!str_fmt(err, errsz, "tag '%s' is not a version: use "
		    "semantic versions such as 1.2.0, v1.2.0 or 1.3.0-rc.1",
		    o->tag);
		return OTA_E_INVALID;
	}
	if (o->channel != NULL && !publish_channel_valid(o->channel)) {
		(void)!str_fmt(err, errsz, "channel '%s' is not valid (1-32 of "
		    "a-z 0-9 . _ -)", o->channel);
		return OTA_E_INVALID;
	}
	if (o->notes != NULL && strlen(o->notes) > STORE_MAX_NOTES) {
		(void)!str_fmt(err, errsz, "release notes are longer than %d "
		    "bytes", STORE_MAX_NOTES);
		return OTA_E_TOO_LARGE;
	}
	if (o->nkeys == 0) {
		(void)!str_fmt(err, errsz, "no signing key");
		return OTA_E_INVALID;
	}
	if (o->expires_days > PUBLISH_MAX_EXPIRES_DAYS) {
		(void)!str_fmt(err, errsz, "expiry of %u days is more than %d",
		    o->expires_days, PUBLISH_MAX_EXPIRES_DAYS);
		return OTA_E_INVALID;
	}
	return OTA_OK;
}

/*
 * Phase two: assets (sorted, their blobs stored) become release o->tag in
 * one transaction, with its signed manifest.
 */
static enum ota_status
record_release(struct store *s, const struct publish_opts *o,
    const char *version, const struct store_asset *assets, size_t nassets,
    struct store_release *out, char *err, size_t errsz)
{
	struct store_release r;
	struct store_repo repo;
	enum ota_status rc;

	store_release_init(&r);
	(void)!str_copy(r.version, sizeof(r.version), version);
	if ((rc = store_begin(s)) != OTA_OK)
		goto db_error;
	if ((rc = store_repo_ensure(s, o->owner, o->name, &repo)) != OTA_OK ||
	    (rc = make_room(s, &repo, o, r.version, err, errsz)) != OTA_OK ||
	    (rc = store_repo_next_metadata(s, repo.id, &r.metadata_version)) !=
	    OTA_OK)
		goto db_error;
	r.repo_id = repo.id;
	(void)!str_copy(r.tag, sizeof(r.tag), o->tag);
	(void)!str_copy(r.channel, sizeof(r.channel),
	    o->channel ? o->channel : STORE_DEFAULT_CHANNEL);
	if ((r.notes = strdup(o->notes ? o->notes : "")) == NULL) {
		rc = OTA_E_NOMEM;
		goto rollback;
	}
	r.draft = o->draft;
	/* "2.0.0-rc.1" is a pre-release whether or not the flag was given. */
	r.prerelease = o->prerelease || strchr(version, '-') != NULL;
	r.created = (int64_t)time(NULL);
	r.published = o->draft ? 0 : r.created;
	if ((rc = sign_manifest(s, &repo, &r, assets, nassets, o->keys,
	    o->nkeys, o->expires_days, err, errsz)) != OTA_OK)
		goto rollback;
	if ((rc = store_release_insert(s, &r, assets, nassets)) != OTA_OK ||
	    (rc = store_commit(s)) != OTA_OK)
		goto db_error;
	if (out != NULL) {
		*out = r;
		r.notes = NULL;
	}
	store_release_release(&r);
	return OTA_OK;
db_error:
	if (err[0] == '\0')
		(void)!str_fmt(err, errsz, "cannot record release %s of %s/%s: "
		    "%s", o->tag, o->owner, o->name, rc == OTA_E_BUSY ?
		    "the database is locked by another writer" :
		    store_errmsg(s));
rollback:
	store_rollback(s);
	store_release_release(&r);
	return rc;
}

enum ota_status
publish_release(struct store *s, const struct publish_opts *o,
    const struct publish_file *files, size_t nfiles,
    struct store_release *out, char *err, size_t errsz)
{
	char version[STORE_MAX_TAG + 1];
	struct store_asset *assets;
	enum ota_status rc;

	err[0] = '\0';
	if ((rc = check_opts(o, version, sizeof(version), err, errsz)) !=
	    OTA_OK)
		return rc;
	if (nfiles == 0 || nfiles > STORE_MAX_ASSETS) {
		(void)!str_fmt(err, errsz, nfiles == 0 ? "no files to publish: "
		    "a release needs at least one" : "more than %d files",
		    STORE_MAX_ASSETS);
		return OTA_E_INVALID;
	}
	if ((rc = paths_check_of(files, nfiles, sizeof(*files),
	    offsetof(struct publish_file, path), err, errsz)) != OTA_OK)
		return rc;
	if ((assets = calloc(nfiles, sizeof(*assets))) == NULL)
		return OTA_E_NOMEM;
	if ((rc = store_files(s, files, nfiles, assets, err, errsz)) == OTA_OK)
		rc = record_release(s, o, version, assets, nfiles, out, err,
		    errsz);
	store_assets_free(assets, nfiles);
	return rc;
}

static int
ref_order(const void *a, const void *b)
{
	return strcmp(((const struct publish_blobref *)a)->path,
	    ((const struct publish_blobref *)b)->path);
}

enum ota_status
publish_blobs(struct store *s, const struct publish_opts *o,
    struct publish_blobref *refs, size_t nrefs, struct store_release *out,
    char *err, size_t errsz)
{
	char version[STORE_MAX_TAG + 1];
	struct store_asset *assets;
	enum ota_status rc;
	struct stat sb;
	size_t i;
	int fd;

	err[0] = '\0';
	if ((rc = check_opts(o, version, sizeof(version), err, errsz)) !=
	    OTA_OK)
		return rc;
	if (nrefs == 0 || nrefs > STORE_MAX_ASSETS) {
		(void)!str_fmt(err, errsz, nrefs == 0 ? "no files to publish: "
		    "a release needs at least one" : "more than %d files",
		    STORE_MAX_ASSETS);
		return OTA_E_INVALID;
	}
	qsort(refs, nrefs, sizeof(*refs), ref_order);
	if ((rc = paths_check_of(refs, nrefs, sizeof(*refs),
	    offsetof(struct publish_blobref, path), err, errsz)) != OTA_OK)
		return rc;
	if ((assets = calloc(nrefs, sizeof(*assets))) == NULL)
		return OTA_E_NOMEM;
	for (i = 0, rc = OTA_OK; i < nrefs && rc == OTA_OK; i++) {
		rc = blobstore_open_blob(store_blobs(s), refs[i].sha256, &fd);
		if (rc == OTA_OK) {
			rc = fstat(fd, &sb) == 0 ? OTA_OK : OTA_E_IO;
			close(fd);
		}
		if (rc != OTA_OK) {
			(void)!str_fmt(err, errsz, "file '%.200s': no blob "
			    "%.64s (upload it first)", refs[i].path,
			    refs[i].sha256);
			rc = rc == OTA_E_IO ? rc : OTA_E_INVALID;
			break;
		}
		(void)!str_copy(assets[i].sha256, sizeof(assets[i].sha256),
		    refs[i].sha256);
		assets[i].size = (uint64_t)sb.st_size;
		if ((rc = digest_blob(s, &assets[i])) == OTA_OK &&
		    (assets[i].path = strdup(refs[i].path)) == NULL)
			rc = OTA_E_NOMEM;
	}
	if (rc == OTA_OK)
		rc = record_release(s, o, version, assets, nrefs, out, err,
		    errsz);
	store_assets_free(assets, nrefs);
	return rc;
}

enum ota_status
publish_resign(struct store *s, struct store_release *r,
    struct sign_key *const *keys, size_t nkeys, unsigned expires_days,
    char *err, size_t errsz)
{
	struct store_asset *assets;
	struct store_repo repo;
	enum ota_status rc;
	size_t n;

	if ((rc = store_repo_get_id(s, r->repo_id, &repo)) != OTA_OK)
		return rc;
	if ((rc = store_asset_list(s, r->id, "", &assets, &n)) != OTA_OK)
		return rc;
	if ((rc = store_repo_next_metadata(s, repo.id, &r->metadata_version))
	    == OTA_OK &&
	    (rc = sign_manifest(s, &repo, r, assets, n, keys, nkeys,
	    expires_days, err, errsz)) == OTA_OK)
		rc = store_release_update(s, r);
	store_assets_free(assets, n);
	return rc;
}

enum ota_status
publish_change(struct store *s, const char *owner, const char *name,
    const char *tag, enum publish_change what, const char *channel,
    unsigned expires_days, struct store_release *out, char *err,
    size_t errsz)
{
	struct sign_key *key = NULL;
	struct store_release r;
	struct store_repo repo;
	enum ota_status rc;

	err[0] = '\0';
	store_release_init(&r);
	if (channel != NULL && !publish_channel_valid(channel)) {
		(void)!str_fmt(err, errsz, "channel '%s' is not valid (1-32 of "
		    "a-z 0-9 . _ -)", channel);
		return OTA_E_INVALID;
	}
	if ((rc = store_repo_get(s, owner, name, &repo)) != OTA_OK) {
		(void)!str_fmt(err, errsz, "no repository %s/%s", owner, name);
		return rc;
	}
	if (what == PUBLISH_PROMOTE || what == PUBLISH_RESIGN) {
		rc = publish_repo_key(s, repo.owner, repo.name, false, &key,
		    NULL, err, errsz);
		if (rc != OTA_OK)
			return rc;
	}
	if ((rc = store_begin(s)) != OTA_OK)
		goto out;
	if ((rc = store_release_get(s, repo.id, tag, &r)) != OTA_OK) {
		store_rollback(s);
		if (rc == OTA_E_NOTFOUND)
			(void)!str_fmt(err, errsz, "%s/%s has no release '%s'",
			    repo.owner, repo.name, tag);
		goto out;
	}
	switch (what) {
	case PUBLISH_PROMOTE:
		(void)!str_copy(r.channel, sizeof(r.channel),
		    channel ? channel : STORE_DEFAULT_CHANNEL);
		if (r.draft)
			r.published = (int64_t)time(NULL);
		r.draft = false;
		r.prerelease = false;
		/* FALLTHROUGH */
	case PUBLISH_RESIGN:
		rc = publish_resign(s, &r, &key, 1, expires_days, err, errsz);
		break;
	case PUBLISH_YANK:
	case PUBLISH_UNYANK:
		r.yanked = what == PUBLISH_YANK;
		rc = store_release_update(s, &r);
		break;
	}
	if (rc == OTA_OK)
		rc = store_commit(s);
	if (rc != OTA_OK)
		store_rollback(s);
out:
	if (rc != OTA_OK && err[0] == '\0')
		(void)!str_fmt(err, errsz, "cannot change %s/%s %s: %s",
		    owner, name, tag, rc == OTA_E_BUSY ? "the database is "
		    "locked by another writer" : store_errmsg(s));
	if (rc == OTA_OK && out != NULL) {
		*out = r;
		r.notes = NULL;
	}
	store_release_release(&r);
	sign_key_free(key);
	return rc;
}

enum ota_status
publish_key_path(struct store *s, const char *owner, const char *name,
    const char *ext, char *out, size_t outsz)
{
	if (!store_name_valid(owner) || !store_name_valid(name))
		return OTA_E_INVALID;
	return str_fmt(out, outsz, "%s/%s/%s/%s%s", store_dir(s),
	    PUBLISH_KEYS_DIR, owner, name, ext);
}

/* mkdir that is happy when the directory is there. */
static enum ota_status
ensure_dir(const char *path, mode_t mode)
{
	if (mkdir(path, mode) == 0 || errno == EEXIST)
		return OTA_OK;
	return ota_status_from_errno(errno);
}

enum ota_status
publish_repo_key(struct store *s, const char *owner, const char *name,
    bool create, struct sign_key **key, bool *created, char *err,
    size_t errsz)
{
	char priv[PATH_MAX], pub[PATH_MAX], dir[PATH_MAX];
	char text[SIGN_PUBLIC_TEXT_MAX + 1];
	struct store_repo repo;
	enum ota_status rc;
	struct stat sb;
	bool made;

	*key = NULL;
	if (created != NULL)
		*created = false;
	/* Names are case-insensitive: the key is filed under the store's. */
	if (store_repo_get(s, owner, name, &repo) == OTA_OK) {
		owner = repo.owner;
		name = repo.name;
	}
	if ((rc = publish_key_path(s, owner, name, ".key", priv,
	    sizeof(priv))) != OTA_OK ||
	    (rc = publish_key_path(s, owner, name, ".pub", pub, sizeof(pub)))
	    != OTA_OK) {
		(void)!str_fmt(err, errsz, "no key path for '%s/%s'", owner,
		    name);
		return rc;
	}
	rc = sign_key_load_private(key, priv, err, errsz);
	if (rc == OTA_OK && stat(pub, &sb) != 0 && errno == ENOENT &&
	    sign_key_public_text(*key, text, sizeof(text) - 1) == OTA_OK) {
		/* Devices are given the .pub: put back one that went missing. */
		(void)!str_copy(text + strlen(text), 2, "\n");
		if (fsatomic_write(pub, text, strlen(text), SIGN_PUBLIC_MODE) !=
		    OTA_OK)
			log_warn("cannot write public key '%s': %s", pub,
			    strerror(errno));
	}
	if (rc != OTA_E_NOTFOUND || !create)
		return rc;
	(void)!str_fmt(dir, sizeof(dir), "%s/%s", store_dir(s),
	    PUBLISH_KEYS_DIR);
	if ((rc = ensure_dir(dir, PUBLISH_KEY_DIR_MODE)) == OTA_OK &&
	    (rc = str_fmt(dir, sizeof(dir), "%s/%s/%s", store_dir(s),
	    PUBLISH_KEYS_DIR, owner)) == OTA_OK)
		rc = ensure_dir(dir, PUBLISH_KEY_DIR_MODE);
	if (rc != OTA_OK) {
		(void)!str_fmt(err, errsz, "cannot create key directory '%s': "
		    "%s", dir, strerror(errno));
		return rc;
	}
	/* Another process may make the same key at the same time: one
	 * wins (OTA_E_EXISTS for the other), and both use its key. */
	rc = sign_keygen(priv, pub, false, err, errsz);
	made = rc == OTA_OK;
	if (rc == OTA_E_EXISTS)
		rc = OTA_OK;
	if (rc != OTA_OK ||
	    (rc = sign_key_load_private(key, priv, err, errsz)) != OTA_OK)
		return rc;
	if (created != NULL)
		*created = made;
	return OTA_OK;
}
