/*
 * fsatomic: temp + fsync + rename + fsync(dir). The crash-consistency
 * argument is at the top of fsatomic.h. Here: errno is saved across every
 * cleanup call, so OTA_E_IO always reports the step that failed, and the
 * temp is unlinked on every path that does not end in a successful rename.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/fsatomic.h"
#include "common/str.h"
#include "common/banned.h"

#define TMP_TAG ".tmp."

/* Makes temp names unique among the threads of one process. */
static atomic_ulong tmp_counter;


/* The directory part of path into dir[dirsz]: "." or "/" when it has none. */
static enum ota_status
dir_of(const char *path, char *dir, size_t dirsz)
{
	const char *s = strrchr(path, '/');
	size_t n;

	if (s == NULL)
		return str_copy(dir, dirsz, ".");
	if (s == path)
		return str_copy(dir, dirsz, "/");
	n = (size_t)(s - path);
	if (n >= dirsz)
		return OTA_E_TOO_LARGE;
	memcpy(dir, path, n);
	dir[n] = '\0';
	return OTA_OK;
}

/* ".<base>.tmp.<pid>.<n>" next to path, into out[outsz]. */
static enum ota_status
tmp_name(const char *path, char *out, size_t outsz)
{
	const char *s = strrchr(path, '/');
	const char *base = s ? s + 1 : path;
	int dirlen = (int)(base - path);
	int baselen = (int)strlen(base);

	if (baselen == 0)
		return OTA_E_INVALID;
	if (baselen > FSATOMIC_BASE_MAX)
		baselen = FSATOMIC_BASE_MAX;
	return str_fmt(out, outsz, "%.*s.%.*s" TMP_TAG "%ld.%lu", dirlen, path,
	    baselen, base, (long)getpid(),
	    (unsigned long)atomic_fetch_add(&tmp_counter, 1));
}

static enum ota_status
write_all(int fd, const unsigned char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return OTA_E_IO;
		}
		p += w;
		n -= (size_t)w;
	}
	return OTA_OK;
}

enum ota_status
fsatomic_open(struct fsatomic *a, const char *path, mode_t mode)
{
	enum ota_status st;
	int i, e;

	memset(a, 0, sizeof(*a));
	a->fd = -1;
	if ((st = str_copy(a->path, sizeof(a->path), path)) != OTA_OK)
		return st;
	for (i = 0; i < FSATOMIC_OPEN_TRIES; i++) {
		if ((st = tmp_name(path, a->tmp, sizeof(a->tmp))) != OTA_OK)
			return st;
		a->fd = open(a->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC |
		    O_NOFOLLOW, mode & 07777);
		if (a->fd >= 0 || errno != EEXIST)
			break;
	}
	if (a->fd < 0)
		return ota_status_from_errno(errno);
	/* The caller's mode exactly: open() applied the umask. */
	if (fchmod(a->fd, mode & 07777) != 0) {
		e = errno;
		close(a->fd);
		unlink(a->tmp);
		a->fd = -1;
		errno = e;
		return ota_status_from_errno(e);
	}
	a->live = true;
	return OTA_OK;
}

enum ota_status
fsatomic_write_chunk(struct fsatomic *a, const void *p, size_t n)
{
	if (!a->live || a->fd < 0)
		return OTA_E_INVALID;
	return write_all(a->fd, p, n);
}

/* Names the temp path: rename(2), or with !replace link(2) + unlink(2). */
static enum ota_status
commit(struct fsatomic *a, const char *path, bool replace)
{
	char dir[PATH_MAX];
	enum ota_status st;
	int fd, e;

	if (!a->live || a->fd < 0)
		return OTA_E_INVALID;
	if ((st = dir_of(path, dir, sizeof(dir))) != OTA_OK) {
		fsatomic_abort(a);
		return st;
	}
	fd = a->fd;
	a->fd = -1;
	/* Data before name: see step 2 in fsatomic.h. */
	if (fsync(fd) != 0) {
		e = errno;
		close(fd);
		goto fail;
	}
	if (close(fd) != 0 || (replace ? rename(a->tmp, path) :
	    link(a->tmp, path)) != 0) {
		e = errno;
		goto fail;
	}
	if (!replace)
		(void)unlink(a->tmp);
	a->live = false;
	return fsatomic_fsync_dir(dir);
fail:
	fsatomic_abort(a);
	errno = e;
	return e == EEXIST && !replace ? OTA_E_EXISTS :
	    ota_status_from_errno(e);
}

enum ota_status
fsatomic_commit_to(struct fsatomic *a, const char *path)
{
	return commit(a, path, true);
}

enum ota_status
fsatomic_commit(struct fsatomic *a)
{
	if (!a->live)
		return OTA_E_INVALID;
	return commit(a, a->path, true);
}

enum ota_status
fsatomic_commit_new(struct fsatomic *a)
{
	if (!a->live)
		return OTA_E_INVALID;
	return commit(a, a->path, false);
}

void
fsatomic_abort(struct fsatomic *a)
{
	int e = errno;

	if (!a->live)
		return;
	if (a->fd >= 0)
		close(a->fd);
	a->fd = -1;
	unlink(a->tmp);
	a->live = false;
	errno = e;
}

enum ota_status
fsatomic_write(const char *path, const void *p, size_t n, mode_t mode)
{
	struct fsatomic a;
	enum ota_status st;

	if ((st = fsatomic_open(&a, path, mode)) != OTA_OK)
		return st;
	if ((st = fsatomic_write_chunk(&a, p, n)) != OTA_OK) {
		fsatomic_abort(&a);
		return st;
	}
	return fsatomic_commit(&a);
}

enum ota_status
fsatomic_fsync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int e;

	if (fd < 0)
		return ota_status_from_errno(errno);
	if (fsync(fd) != 0) {
		e = errno;
		close(fd);
		errno = e;
		return OTA_E_IO;
	}
	close(fd);
	return OTA_OK;
}

/* Parses back over "<digits>" ending just before *end; false if none. */
static bool
skip_digits_back(const char *start, const char **end)
{
	const char *p = *end;

	while (p > start && p[-1] >= '0' && p[-1] <= '9')
		p--;
	if (p == *end)
		return false;
	*end = p;
	return true;
}

bool
fsatomic_is_temp_name(const char *name)
{
	const size_t taglen = strlen(TMP_TAG);
	const char *p = name + strlen(name);

	if (name[0] != '.')
		return false;
	if (!skip_digits_back(name, &p) || p == name || *--p != '.' ||
	    !skip_digits_back(name, &p))
		return false;
	/* ".x" at least before the tag: a non-empty base. */
	if ((size_t)(p - name) < taglen + 2)
		return false;
	return memcmp(p - taglen, TMP_TAG, taglen) == 0;
}

/* The writer's pid in a temp name ".<base>.tmp.<pid>.<n>"; -1 if none. */
static long
temp_pid(const char *name)
{
	const char *last = strrchr(name, '.'), *p = last;
	long pid = 0;

	if (last == NULL || !skip_digits_back(name, &p) || p == name ||
	    *--p != '.')
		return -1;
	while (*++p != '.')
		pid = pid * 10 + (*p - '0');
	return pid > 0 && pid < (1L << 30) ? pid : -1;
}

/*
 * A temp is a crash's leftover when its writer is gone, or when it has
 * not been written for FSATOMIC_STALE_SECONDS (its pid may be reused).
 */
static bool
temp_is_stale(const char *name, const struct stat *sb)
{
	long pid = temp_pid(name);

	if (time(NULL) - sb->st_mtime > FSATOMIC_STALE_SECONDS)
		return true;
	if (pid < 0 || pid == (long)getpid())
		return pid < 0;
	return kill((pid_t)pid, 0) != 0 && errno == ESRCH;
}

enum ota_status
fsatomic_clean_stale(const char *dir)
{
	enum ota_status st = OTA_OK;
	struct dirent *de;
	DIR *d;

	if ((d = opendir(dir)) == NULL)
		return ota_status_from_errno(errno);
	while ((errno = 0, de = readdir(d)) != NULL) {
		struct stat sb;

		if (!fsatomic_is_temp_name(de->d_name))
			continue;
		if (fstatat(dirfd(d), de->d_name, &sb,
		    AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(sb.st_mode) ||
		    !temp_is_stale(de->d_name, &sb))
			continue;
		if (unlinkat(dirfd(d), de->d_name, 0) != 0 &&
		    errno != ENOENT && st == OTA_OK)
			st = ota_status_from_errno(errno);
	}
	if (errno != 0 && st == OTA_OK)
		st = ota_status_from_errno(errno);
	closedir(d);
	return st;
}
