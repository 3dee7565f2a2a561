#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

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

enum ota_status
path_resolve(const char *root, const char *rel, char *out, size_t outsz)
{
	char joined[PATH_MAX], real[PATH_MAX];

	if (str_fmt(joined, sizeof(joined), "%s%s%s", root,
	    rel[0] ? "/" : "", rel) != OTA_OK)
		return OTA_E_TOO_LARGE;
	if (realpath(joined, real) == NULL) {
		switch (errno) {
		case ENOENT:
		case ENOTDIR:
		case ELOOP:
		case ENAMETOOLONG:
			return OTA_E_NOTFOUND;
		case EACCES:
			return OTA_E_FORBIDDEN;
		default:
			return OTA_E_IO;
		}
	}
	if (!path_is_within(root, real))
		return OTA_E_NOTFOUND;
	return str_copy(out, outsz, real);
}

const char *
path_basename(const char *p)
{
	const char *s = strrchr(p, '/');

	return s ? s + 1 : p;
}
