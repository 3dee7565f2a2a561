#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "common/path.h"
#include "common/str.h"
#include "server/catalog.h"
#include "common/banned.h"

/* Decodes one UTF-8 sequence at s; returns its length, 0 if invalid. */
static size_t
utf8_decode(const unsigned char *s, uint32_t *cp)
{
	size_t n, i;
	uint32_t c = s[0], min;

	if (c < 0x80) {
		*cp = c;
		return 1;
	} else if ((c & 0xe0) == 0xc0) {
		n = 2, c &= 0x1f, min = 0x80;
	} else if ((c & 0xf0) == 0xe0) {
		n = 3, c &= 0x0f, min = 0x800;
	} else if ((c & 0xf8) == 0xf0) {
		n = 4, c &= 0x07, min = 0x10000;
	} else
		return 0;
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = (c << 6) | (s[i] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return n;
}

enum ota_status
catalog_json_string(struct buf *out, const char *name)
{
	const unsigned char *s = (const unsigned char *)name;
	enum ota_status st = buf_add(out, "\"", 1);

	while (st == OTA_OK && *s != '\0') {
		uint32_t cp;
		size_t n = utf8_decode(s, &cp);

		if (n == 0)
			return OTA_E_INVALID;
		s += n;
		if (cp == '"')
			st = buf_adds(out, "\\\"");
		else if (cp == '\\')
			st = buf_adds(out, "\\\\");
		else if (cp == '\n')
			st = buf_adds(out, "\\n");
		else if (cp == '\r')
			st = buf_adds(out, "\\r");
		else if (cp == '\t')
			st = buf_adds(out, "\\t");
		else if (cp == '\b')
			st = buf_adds(out, "\\b");
		else if (cp == '\f')
			st = buf_adds(out, "\\f");
		else if (cp < 0x20 || (cp >= 0x7f && cp < 0x10000))
			st = buf_addf(out, "\\u%04x", (unsigned)cp);
		else if (cp >= 0x10000) {
			cp -= 0x10000;
			st = buf_addf(out, "\\u%04x\\u%04x",
			    (unsigned)(0xd800 + (cp >> 10)),
			    (unsigned)(0xdc00 + (cp & 0x3ff)));
		} else {
			char c = (char)cp;

			st = buf_add(out, &c, 1);
		}
	}
	if (st == OTA_OK)
		st = buf_add(out, "\"", 1);
	return st;
}

static int
name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int
ends_with_bin(const char *name)
{
	size_t n = strlen(name);

	return n > 4 && strcmp(name + n - 4, ".bin") == 0;
}

/* True if the regular file name in dirfd starts with the ESP magic byte. */
static int
has_esp_magic(int dirfd, const char *name)
{
	unsigned char c = 0;
	int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	ssize_t r;

	if (fd < 0)
		return 0;
	r = read(fd, &c, 1);
	close(fd);
	return r == 1 && c == CATALOG_ESP_MAGIC;
}

/* A symlink in dir is listed only if it resolves inside root. */
static int
link_stays_inside(const char *root, const char *dir, const char *name)
{
	char p[PATH_MAX], real[PATH_MAX];

	if (str_fmt(p, sizeof(p), "%s/%s", dir, name) != OTA_OK ||
	    realpath(p, real) == NULL)
		return 0;
	return path_is_within(root, real);
}

/* Serialises one entry; OTA_E_INVALID / OTA_E_TOO_LARGE mean "leave out". */
static enum ota_status
entry_json(struct buf *e, int dirfd, const char *name, const struct stat *st)
{
	enum ota_status s;
	struct tm tm;

	if ((s = buf_adds(e, "{\"name\": ")) != OTA_OK ||
	    (s = catalog_json_string(e, name)) != OTA_OK)
		return s;
	if (S_ISDIR(st->st_mode))
		return buf_adds(e, ", \"type\": \"directory\"}");
	if (!S_ISREG(st->st_mode) || !ends_with_bin(name) ||
	    st->st_size <= 0 || !has_esp_magic(dirfd, name))
		return buf_adds(e, ", \"type\": \"file\"}");
	localtime_r(&st->st_mtime, &tm);
	/* Python's %x and %X in the C locale: MM/DD/YY and HH:MM:SS. */
	return buf_addf(e, ", \"type\": \"bin\", \"date\": "
	    "\"%02d/%02d/%02d\", \"time\": \"%02d:%02d:%02d\", "
	    "\"size\": %lld}", tm.tm_mon + 1, tm.tm_mday, tm.tm_year % 100,
	    tm.tm_hour, tm.tm_min, tm.tm_sec, (long long)st->st_size);
}

/* Reads up to CATALOG_MAX_ENTRIES names of d, sorted. */
static enum ota_status
read_names(DIR *d, const char *dir, char ***names, size_t *count)
{
	char **v = NULL;
	size_t n = 0, alloc = 0;
	struct dirent *de;

	errno = 0;
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		if (n == CATALOG_MAX_ENTRIES) {
			log_warn("catalog '%s' has more than %d entries; "
			    "listing the first %d", dir, CATALOG_MAX_ENTRIES,
			    CATALOG_MAX_ENTRIES);
			break;
		}
		if (n == alloc) {
			char **nv;

			alloc = alloc ? alloc * 2 : 64;
			if ((nv = realloc(v, alloc * sizeof(*v))) == NULL)
				goto nomem;
			v = nv;
		}
		if ((v[n] = strdup(de->d_name)) == NULL)
			goto nomem;
		n++;
	}
	if (n > 0)
		qsort(v, n, sizeof(*v), name_cmp);
	*names = v;
	*count = n;
	return OTA_OK;
nomem:
	while (n > 0)
		free(v[--n]);
	free(v);
	return OTA_E_NOMEM;
}

enum ota_status
catalog_list(const char *root, const char *dir, struct buf *out)
{
	enum ota_status st;
	char **names = NULL;
	size_t n = 0, i, listed = 0;
	struct buf e;
	DIR *d;

	if ((d = opendir(dir)) == NULL)
		return errno == EACCES ? OTA_E_FORBIDDEN : OTA_E_NOTFOUND;
	st = read_names(d, dir, &names, &n);
	buf_init(&e, CATALOG_MAX_ENTRY_JSON);
	if (st == OTA_OK)
		st = buf_add(out, "[", 1);
	for (i = 0; i < n && st == OTA_OK; i++) {
		struct stat sb, lsb;
		enum ota_status es;

		if (fstatat(dirfd(d), names[i], &lsb, AT_SYMLINK_NOFOLLOW) != 0)
			continue;
		if (S_ISLNK(lsb.st_mode) &&
		    (!link_stays_inside(root, dir, names[i]) ||
		    fstatat(dirfd(d), names[i], &sb, 0) != 0)) {
			char name[CATALOG_MAX_ENTRY_JSON];

			log_escape(name, sizeof(name), names[i]);
			log_debug("catalog: leaving out '%s/%s': link leads "
			    "outside the catalog or nowhere", dir, name);
			continue;
		}
		es = entry_json(&e, dirfd(d), names[i],
		    S_ISLNK(lsb.st_mode) ? &sb : &lsb);
		if (es != OTA_OK) {
			char name[CATALOG_MAX_ENTRY_JSON];

			log_escape(name, sizeof(name), names[i]);
			log_warn("catalog: leaving out '%s/%s': %s", dir,
			    name, es == OTA_E_INVALID ?
			    "name is not UTF-8" : "entry longer than a device "
			    "can parse (shorten the name)");
			buf_release(&e);
			continue;
		}
		if (listed++ > 0)
			st = buf_add(out, ", ", 2);
		if (st == OTA_OK)
			st = buf_add(out, e.data, e.len);
		buf_release(&e);
	}
	if (st == OTA_OK)
		st = buf_add(out, "]", 1);
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	closedir(d);
	return st;
}
