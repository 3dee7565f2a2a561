/* _DEFAULT_SOURCE: syscall(2), for openat2, which glibc 2.36 does not wrap. */
#define _DEFAULT_SOURCE

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <linux/openat2.h>

#include "common/path.h"
#include "common/str.h"
#include "common/banned.h"

enum ota_status
path_normalize(const char *in, char *out, size_t outsz)
{
	const char *p = in;
	size_t o = 0;

	if (outsz == 0)
		return OTA_E_TOO_LARGE;
	out[0] = '\0';
	while (*p != '\0') {
		const char *c;
		size_t n;

		while (*p == '/')
			p++;
		for (c = p; *c != '\0' && *c != '/'; c++)
			if ((unsigned char)*c < 0x20 || *c == 0x7f ||
			    *c == '\\')
				goto forbidden;
		n = (size_t)(c - p);
		if (n == 0 || (n == 1 && p[0] == '.')) {
			p = c;
			continue;
		}
		if (n == 2 && p[0] == '.' && p[1] == '.')
			goto forbidden;
		if (o + (o > 0) + n + 1 > outsz) {
			out[0] = '\0';
			return OTA_E_TOO_LARGE;
		}
		if (o > 0)
			out[o++] = '/';
		memcpy(out + o, p, n);
		o += n;
		out[o] = '\0';
		p = c;
	}
	return OTA_OK;
forbidden:
	out[0] = '\0';
	return OTA_E_FORBIDDEN;
}

bool
path_is_within(const char *root, const char *p)
{
	size_t n = strlen(root);

	if (strcmp(root, "/") == 0)
		return p[0] == '/';
	return strncmp(root, p, n) == 0 && (p[n] == '\0' || p[n] == '/');
}

/*
 * For a request path, a name too long or a link loop is simply not there
 * (404), and EPERM is not expected on a read: the rest as everywhere.
 */
static enum ota_status
errno_status(int e)
{
	if (e == ELOOP || e == ENAMETOOLONG)
		return OTA_E_NOTFOUND;
	if (e == EPERM)
		return OTA_E_IO;
	return ota_status_from_errno(e);
}

enum ota_status
path_resolve(const char *root, const char *rel, char *out, size_t outsz)
{
	char joined[PATH_MAX], real[PATH_MAX];

	if (str_fmt(joined, sizeof(joined), "%s%s%s", root,
	    rel[0] ? "/" : "", rel) != OTA_OK)
		return OTA_E_TOO_LARGE;
	if (realpath(joined, real) == NULL)
		return errno_status(errno);
	if (!path_is_within(root, real))
		return OTA_E_NOTFOUND;
	return str_copy(out, outsz, real);
}

/* True if the file open on fd lies under root, by its /proc name. */
static bool
fd_is_within(int fd, const char *root)
{
	char link[64], real[PATH_MAX];
	ssize_t n;

	if (str_fmt(link, sizeof(link), "/proc/self/fd/%d", fd) != OTA_OK ||
	    (n = readlink(link, real, sizeof(real) - 1)) < 0)
		return false;
	real[n] = '\0';
	return path_is_within(root, real);
}

enum ota_status
path_open(const char *root, int rootfd, const char *rel, int *fd)
{
	const int flags = O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK;
	char real[PATH_MAX];
	enum ota_status st;
	int e = ENOSYS;

	*fd = -1;
#ifdef SYS_openat2
	{
		struct open_how how;

		memset(&how, 0, sizeof(how));
		how.flags = (uint64_t)flags;
		how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
		*fd = (int)syscall(SYS_openat2, rootfd, rel[0] ? rel : ".",
		    &how, sizeof(how));
		if (*fd >= 0)
			return OTA_OK;
		e = errno;
	}
#endif
	if (e != EXDEV && e != ENOSYS && e != EPERM)
		return errno_status(e);
	if ((st = path_resolve(root, rel, real, sizeof(real))) != OTA_OK)
		return st;
	if ((*fd = open(real, flags | O_NOFOLLOW)) < 0)
		return errno_status(errno);
	/*
	 * O_NOFOLLOW guards only the last component: ask the kernel where
	 * the file we hold really is, in case a directory on the way was
	 * swapped for a link between realpath and open.
	 */
	if (!fd_is_within(*fd, root)) {
		close(*fd);
		*fd = -1;
		return OTA_E_NOTFOUND;
	}
	return OTA_OK;
}

const char *
path_basename(const char *p)
{
	const char *s = strrchr(p, '/');

	return s ? s + 1 : p;
}
