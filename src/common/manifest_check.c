/*
 * manifest_check: a release on disk against its manifest (the second half
 * of manifest.h; the format half is manifest.c). Everything is opened
 * relative to a directory descriptor, one path component at a time with
 * O_NOFOLLOW, so a symbolic link planted anywhere below the checked
 * directory is an error and never a way out of it: there is no window in
 * which a path checked as text leads somewhere else when opened. Sizes are
 * compared before hashing, so a wrong file costs a stat, not a read.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/hash.h"
#include "common/manifest.h"
#include "common/path.h"
#include "common/str.h"
#include "common/banned.h"

#define MANIFEST_READ_CHUNK (64 * 1024)

/*
 * Checks the regular file open on fd against f: size first (cheap), then
 * SHA-256 of exactly the bytes read.
 */
static enum ota_status
fd_check(int fd, const struct manifest_file *f, char *err, size_t errsz)
{
	unsigned char d[HASH_MAX_LEN];
	char hex[2 * HASH_MAX_LEN + 1];
	enum ota_status st = OTA_OK;
	struct hash_ctx *h = NULL;
	unsigned char *chunk = NULL;
	uint64_t total = 0;
	struct stat sb;
	size_t dlen = 0;

	if (fstat(fd, &sb) != 0)
		return str_fail(err, errsz, OTA_E_IO, "%s: cannot stat: %s",
		    f->path, strerror(errno));
	if (!S_ISREG(sb.st_mode))
		return str_fail(err, errsz, OTA_E_INVALID, "%s: not a regular file",
		    f->path);
	if ((uint64_t)sb.st_size != f->size)
		return str_fail(err, errsz, OTA_E_INVALID, "%s: size mismatch "
		    "(%llu bytes, manifest says %llu)", f->path,
		    (unsigned long long)sb.st_size,
		    (unsigned long long)f->size);
	if ((h = hash_new(HASH_SHA256)) == NULL ||
	    (chunk = malloc(MANIFEST_READ_CHUNK)) == NULL) {
		st = OTA_E_NOMEM;
		goto out;
	}
	for (;;) {
		ssize_t r = read(fd, chunk, MANIFEST_READ_CHUNK);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			st = str_fail(err, errsz, OTA_E_IO, "%s: cannot read: %s",
			    f->path, strerror(errno));
			goto out;
		}
		if (r == 0)
			break;
		total += (uint64_t)r;
		if ((st = hash_update(h, chunk, (size_t)r)) != OTA_OK)
			goto out;
	}
	if ((st = hash_final(h, d, &dlen)) != OTA_OK)
		goto out;
	str_hex(hex, d, dlen);
	if (total != f->size)
		st = str_fail(err, errsz, OTA_E_INVALID, "%s: size mismatch "
		    "(changed while reading)", f->path);
	else if (strcmp(hex, f->sha256) != 0)
		st = str_fail(err, errsz, OTA_E_INVALID, "%s: sha256 mismatch",
		    f->path);
out:
	free(chunk);
	hash_free(h);
	return st;
}

/*
 * Explains a failed openat of rel, errno e, at the component ending at
 * rel[end]: a link is named where it is, a missing file by its whole path.
 */
static enum ota_status
open_failed(const char *rel, size_t end, int e, char *err, size_t errsz)
{
	if (e == ENOENT || e == ENOTDIR)
		return str_fail(err, errsz, OTA_E_NOTFOUND, "%s: missing", rel);
	if (e == ELOOP)
		return str_fail(err, errsz, OTA_E_INVALID, "%.*s: symbolic link",
		    (int)end, rel);
	errno = e;
	return str_fail(err, errsz, ota_status_from_errno(e), "%.*s: cannot "
	    "open: %s", (int)end, rel, strerror(e));
}

/*
 * Opens rel (valid by manifest_path_valid) below the directory rootfd,
 * one component at a time with O_NOFOLLOW, so no symbolic link is
 * followed anywhere on the way: into *fd.
 */
static enum ota_status
open_below(int rootfd, const char *rel, int *fd, char *err, size_t errsz)
{
	char comp[NAME_MAX + 1];
	const char *p = rel, *s;
	int dfd = rootfd, next, e;
	struct stat sb;

	*fd = -1;
	while ((s = strchr(p, '/')) != NULL) {
		memcpy(comp, p, (size_t)(s - p));
		comp[s - p] = '\0';
		next = openat(dfd, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
		    O_CLOEXEC);
		e = errno;
		/* Linux says ENOTDIR for a link with O_DIRECTORY: say link. */
		if (next < 0 && e == ENOTDIR &&
		    fstatat(dfd, comp, &sb, AT_SYMLINK_NOFOLLOW) == 0 &&
		    S_ISLNK(sb.st_mode))
			e = ELOOP;
		if (dfd != rootfd)
			close(dfd);
		if (next < 0)
			return open_failed(rel, (size_t)(s - rel), e, err,
			    errsz);
		dfd = next;
		p = s + 1;
	}
	/* O_NONBLOCK: a FIFO at the name must not hang us in open. */
	*fd = openat(dfd, p, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY |
	    O_NONBLOCK);
	e = errno;
	if (dfd != rootfd)
		close(dfd);
	return *fd < 0 ? open_failed(rel, strlen(rel), e, err, errsz) : OTA_OK;
}

/*
 * Walks the directory open on dfd (taken: closed here), whose path below
 * the root is prefix ("" for the root), for a non-directory that m does
 * not list.
 */
static enum ota_status
find_extra(const struct manifest *m, int dfd, const char *prefix, int depth,
    char *err, size_t errsz)
{
	enum ota_status st = OTA_OK;
	struct dirent *de;
	DIR *d;

	if ((d = fdopendir(dfd)) == NULL) {
		close(dfd);
		return str_fail(err, errsz, OTA_E_IO, "%s: cannot list: %s",
		    prefix[0] ? prefix : ".", strerror(errno));
	}
	while (st == OTA_OK && (errno = 0, de = readdir(d)) != NULL) {
		char rel[MANIFEST_MAX_PATH + NAME_MAX + 2];
		struct stat sb;
		int sub;

		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		(void)!str_fmt(rel, sizeof(rel), "%s%s%s", prefix,
		    prefix[0] ? "/" : "", de->d_name);
		if (fstatat(dirfd(d), de->d_name, &sb, AT_SYMLINK_NOFOLLOW)
		    != 0) {
			st = str_fail(err, errsz, OTA_E_IO, "%s: cannot stat: %s",
			    rel, strerror(errno));
		} else if (!S_ISDIR(sb.st_mode)) {
			if (strlen(rel) > MANIFEST_MAX_PATH ||
			    manifest_find(m, rel) == NULL)
				st = str_fail(err, errsz, OTA_E_INVALID, "extra "
				    "file '%s'", rel);
		} else if (strlen(rel) > MANIFEST_MAX_PATH ||
		    depth >= MANIFEST_MAX_DIR_DEPTH) {
			st = str_fail(err, errsz, OTA_E_INVALID, "extra directory "
			    "'%s' (too deep for any listed file)", rel);
		} else if ((sub = openat(dirfd(d), de->d_name, O_RDONLY |
		    O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0) {
			st = str_fail(err, errsz, OTA_E_IO, "%s: cannot open: %s",
			    rel, strerror(errno));
		} else {
			st = find_extra(m, sub, rel, depth + 1, err, errsz);
		}
	}
	if (st == OTA_OK && errno != 0)
		st = str_fail(err, errsz, OTA_E_IO, "%s: cannot list: %s",
		    prefix[0] ? prefix : ".", strerror(errno));
	closedir(d);
	return st;
}

enum ota_status
manifest_check_dir(const struct manifest *m, const char *dir,
    bool allow_extra, char *err, size_t errsz)
{
	enum ota_status st = OTA_OK;
	int rootfd, fd, sub;
	size_t i;

	if ((rootfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return str_fail(err, errsz, ota_status_from_errno(errno),
		    "cannot open directory '%s': %s", dir, strerror(errno));
	for (i = 0; i < m->nfiles && st == OTA_OK; i++) {
		if ((st = open_below(rootfd, m->files[i].path, &fd, err,
		    errsz)) != OTA_OK)
			break;
		st = fd_check(fd, &m->files[i], err, errsz);
		close(fd);
	}
	if (st == OTA_OK && !allow_extra) {
		if ((sub = dup(rootfd)) < 0)
			st = str_fail(err, errsz, OTA_E_IO, "cannot list '%s': %s",
			    dir, strerror(errno));
		else
			st = find_extra(m, sub, "", 0, err, errsz);
	}
	close(rootfd);
	return st;
}

enum ota_status
manifest_check_file(const struct manifest *m, const char *path, char *err,
    size_t errsz)
{
	const struct manifest_file *f = NULL;
	const char *base = path_basename(path);
	enum ota_status st;
	size_t i;
	int fd;

	if (m->nfiles == 1) {
		f = &m->files[0];
	} else {
		for (i = 0; i < m->nfiles; i++) {
			if (strcmp(path_basename(m->files[i].path), base) != 0)
				continue;
			if (f != NULL)
				return str_fail(err, errsz, OTA_E_INVALID,
				    "several files in the manifest are called "
				    "'%s'", base);
			f = &m->files[i];
		}
	}
	if (f == NULL)
		return str_fail(err, errsz, OTA_E_NOTFOUND, "no file '%s' in the "
		    "manifest", base);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY |
	    O_NONBLOCK)) < 0)
		return str_fail(err, errsz, ota_status_from_errno(errno),
		    "%s: cannot open: %s", path, strerror(errno));
	st = fd_check(fd, f, err, errsz);
	close(fd);
	return st;
}

enum ota_status
manifest_load(const char *path, struct buf *out)
{
	enum ota_status st = OTA_OK;
	unsigned char *chunk = NULL;
	size_t start = out->len;
	struct stat sb;
	int fd, e;

	/* O_NONBLOCK: a FIFO at the name must not hang us in open. */
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY |
	    O_NONBLOCK)) < 0)
		return ota_status_from_errno(errno);
	if (fstat(fd, &sb) != 0)
		st = OTA_E_IO;
	else if (!S_ISREG(sb.st_mode))
		st = OTA_E_FORBIDDEN;
	else if ((chunk = malloc(MANIFEST_READ_CHUNK)) == NULL)
		st = OTA_E_NOMEM;
	while (st == OTA_OK) {
		ssize_t r = read(fd, chunk, MANIFEST_READ_CHUNK);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			st = OTA_E_IO;
		else if (r == 0)
			break;
		else if (out->len - start + (size_t)r > MANIFEST_MAX_BYTES)
			st = OTA_E_TOO_LARGE;
		else
			st = buf_add(out, chunk, (size_t)r);
	}
	e = errno;
	free(chunk);
	close(fd);
	errno = e;
	return st;
}
