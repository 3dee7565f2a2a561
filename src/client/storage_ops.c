/*
 * The POSIX storage (storage.h) behind libota's ops struct
 * (include/ota/storage.h): what ota_storage_posix_new hands the engine.
 * A staged file is a file descriptor; the module's config is read from
 * <root>/config/<module>_gitrepo_cfg.json, where the MicroPython updater's
 * seed put it.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ota/host.h>

#include "client/storage.h"
#include "common/str.h"
#include "common/banned.h"

struct posix {
	struct ota_storage ops;
	char *root;
};

struct pfile {
	int fd;
};

static enum ota_status
p_open(void *ctx, const char *module, void **m, char *err, size_t errsz)
{
	struct posix *p = ctx;
	struct storage *st;
	enum ota_status rc;

	*m = NULL;
	if ((rc = storage_open(&st, p->root, module, err, errsz)) != OTA_OK)
		return rc;
	if ((rc = storage_recover(st, NULL, err, errsz)) != OTA_OK) {
		storage_free(st);
		return rc;
	}
	*m = st;
	return OTA_OK;
}

static void
p_close(void *ctx, void *m)
{
	(void)ctx;
	storage_free(m);
}

static enum ota_status
p_read_config(void *ctx, const char *module, char *buf, size_t cap,
    size_t *len, char *err, size_t errsz)
{
	struct posix *p = ctx;
	char path[PATH_MAX], one;
	ssize_t n;
	int fd, e;

	*len = 0;
	if (str_fmt(path, sizeof(path), "%s/config/%s_gitrepo_cfg.json",
	    p->root, module) != OTA_OK)
		return str_fail(err, errsz, OTA_E_TOO_LARGE, "root path too "
		    "long");
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		e = errno;
		return str_fail(err, errsz, ota_status_from_errno(e),
		    "cannot read '%s': %s", path, strerror(e));
	}
	while (*len < cap && (n = read(fd, buf + *len, cap - *len)) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			e = errno;
			close(fd);
			return str_fail(err, errsz, OTA_E_IO, "cannot read "
			    "'%s': %s", path, strerror(e));
		}
		*len += (size_t)n;
	}
	/* Full: one more byte says whether it is too large. */
	if (*len == cap && read(fd, &one, 1) > 0) {
		close(fd);
		return str_fail(err, errsz, OTA_E_TOO_LARGE, "'%s' is larger "
		    "than %zu bytes", path, cap);
	}
	close(fd);
	return OTA_OK;
}

static void
p_state_get(void *m, struct ota_state *out)
{
	storage_state_get(m, out);
}

static enum ota_status
p_state_set(void *m, const struct ota_state *in)
{
	return storage_state_set(m, in);
}

static enum ota_status
p_stage_begin(void *m, const char *version, bool fresh, char *err,
    size_t errsz)
{
	return storage_stage_begin(m, version, fresh, err, errsz);
}

static enum ota_status
p_free_space(void *m, uint64_t *bytes)
{
	return storage_free_space(m, bytes);
}

static enum ota_status
p_stage_query(void *m, const char *path, enum ota_file_state *state,
    uint64_t *size)
{
	return storage_stage_query(m, path, state, size);
}

static enum ota_status
p_stage_open(void *m, const char *path, void **f, uint64_t *have)
{
	struct pfile *pf;
	enum ota_status rc;
	int fd;

	*f = NULL;
	if ((pf = malloc(sizeof(*pf))) == NULL)
		return OTA_E_NOMEM;
	if ((rc = storage_stage_file(m, path, &fd, have)) != OTA_OK) {
		free(pf);
		return rc;
	}
	pf->fd = fd;
	*f = pf;
	return OTA_OK;
}

static enum ota_status
p_file_write(void *m, void *f, uint64_t off, const void *p, size_t n)
{
	struct pfile *pf = f;
	ssize_t w;

	(void)m;
	while (n > 0) {
		if ((w = pwrite(pf->fd, p, n, (off_t)off)) < 0) {
			if (errno == EINTR)
				continue;
			return ota_status_from_errno(errno);
		}
		p = (const char *)p + w;
		n -= (size_t)w;
		off += (uint64_t)w;
	}
	return OTA_OK;
}

static enum ota_status
p_file_read(void *m, void *f, uint64_t off, void *p, size_t n, size_t *got)
{
	struct pfile *pf = f;
	ssize_t r;

	(void)m;
	while ((r = pread(pf->fd, p, n, (off_t)off)) < 0)
		if (errno != EINTR)
			return ota_status_from_errno(errno);
	*got = (size_t)r;
	return OTA_OK;
}

static enum ota_status
p_file_truncate(void *m, void *f, uint64_t size)
{
	struct pfile *pf = f;

	(void)m;
	if (size > INT64_MAX || ftruncate(pf->fd, (off_t)size) != 0)
		return OTA_E_IO;
	return OTA_OK;
}

static enum ota_status
p_file_close(void *m, void *f, bool sync)
{
	struct pfile *pf = f;
	enum ota_status rc = OTA_OK;

	(void)m;
	if (pf == NULL)
		return OTA_OK;
	if (sync && fsync(pf->fd) != 0)
		rc = OTA_E_IO;
	if (close(pf->fd) != 0 && rc == OTA_OK && sync)
		rc = OTA_E_IO;
	free(pf);
	return rc;
}

static enum ota_status
p_stage_done(void *m, const char *path)
{
	return storage_stage_done(m, path);
}

static enum ota_status
p_stage_discard(void *m, const char *path)
{
	return storage_stage_discard(m, path);
}

static enum ota_status
p_commit(void *m, const char *version, int64_t deadline, char *err,
    size_t errsz)
{
	return storage_commit(m, version, deadline, err, errsz);
}

static enum ota_status
p_confirm(void *m)
{
	return storage_confirm(m);
}

static enum ota_status
p_rollback(void *m, char *err, size_t errsz)
{
	return storage_rollback(m, err, errsz);
}

static enum ota_status
p_trial_start(void *m, unsigned max_starts, int64_t now, bool *must)
{
	return storage_trial_start(m, max_starts, now, must);
}

enum ota_status
ota_storage_posix_new(struct ota_storage **out, const char *root)
{
	struct posix *p;

	*out = NULL;
	if ((p = calloc(1, sizeof(*p))) == NULL)
		return OTA_E_NOMEM;
	if ((p->root = str_dup(root)) == NULL) {
		free(p);
		return OTA_E_NOMEM;
	}
	p->ops.ctx = p;
	p->ops.open = p_open;
	p->ops.close = p_close;
	p->ops.read_config = p_read_config;
	p->ops.state_get = p_state_get;
	p->ops.state_set = p_state_set;
	p->ops.stage_begin = p_stage_begin;
	p->ops.stage_query = p_stage_query;
	p->ops.free_space = p_free_space;
	p->ops.stage_open = p_stage_open;
	p->ops.file_write = p_file_write;
	p->ops.file_read = p_file_read;
	p->ops.file_truncate = p_file_truncate;
	p->ops.file_close = p_file_close;
	p->ops.stage_done = p_stage_done;
	p->ops.stage_discard = p_stage_discard;
	p->ops.commit = p_commit;
	p->ops.confirm = p_confirm;
	p->ops.rollback = p_rollback;
	p->ops.trial_start = p_trial_start;
	/* ops is the first member: the struct is its own handle. */
	*out = &p->ops;
	return OTA_OK;
}

void
ota_storage_free(struct ota_storage *s)
{
	struct posix *p = (struct posix *)s;

	if (p == NULL)
		return;
	free(p->root);
	free(p);
}
