#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/fsatomic.h"
#include "common/hash.h"
#include "common/str.h"
#include "server/blobstore.h"
#include "common/banned.h"

struct blobstore {
	char root[PATH_MAX];
	char blobs[PATH_MAX];	/* <root>/blobs */
	char sha[PATH_MAX];	/* <root>/blobs/sha256: whole blobs only */
	char tmp[PATH_MAX];	/* <root>/blobs/tmp: blobs being written */
};

/* Where put bytes come from: an fd (read into buf) or memory (no copy). */
struct source {
	int fd;
	const unsigned char *p;
	size_t left;
	unsigned char *buf;	/* BLOBSTORE_CHUNK bytes, fd sources only */
};


/* mkdir, or accept an existing directory; *made says which. */
static enum ota_status
ensure_dir(const char *path, bool *made)
{
	struct stat sb;

	*made = false;
	if (mkdir(path, BLOBSTORE_DIR_MODE) == 0) {
		*made = true;
		return OTA_OK;
	}
	if (errno != EEXIST)
		return ota_status_from_errno(errno);
	if (stat(path, &sb) != 0)
		return ota_status_from_errno(errno);
	if (!S_ISDIR(sb.st_mode)) {
		errno = ENOTDIR;
		return OTA_E_IO;
	}
	return OTA_OK;
}

/* Creates dir under parent if needed; a new entry is made durable. */
static enum ota_status
ensure_subdir(const char *parent, const char *dir)
{
	enum ota_status st;
	bool made;

	if ((st = ensure_dir(dir, &made)) != OTA_OK)
		return st;
	return made ? fsatomic_fsync_dir(parent) : OTA_OK;
}

static enum ota_status
make_layout(struct blobstore *bs, const char *root)
{
	enum ota_status st;
	bool made;

	if ((st = str_copy(bs->root, sizeof(bs->root), root)) != OTA_OK ||
	    (st = str_fmt(bs->blobs, sizeof(bs->blobs), "%s/blobs",
	    root)) != OTA_OK ||
	    (st = str_fmt(bs->sha, sizeof(bs->sha), "%s/sha256",
	    bs->blobs)) != OTA_OK ||
	    (st = str_fmt(bs->tmp, sizeof(bs->tmp), "%s/tmp", bs->blobs)) !=
	    OTA_OK)
		return st;
	if ((st = ensure_dir(bs->root, &made)) != OTA_OK ||
	    (st = ensure_subdir(bs->root, bs->blobs)) != OTA_OK ||
	    (st = ensure_subdir(bs->blobs, bs->sha)) != OTA_OK ||
	    (st = ensure_subdir(bs->blobs, bs->tmp)) != OTA_OK)
		return st;
	/* Temps normally live in tmp/, but a crash can leave one anywhere
	 * fsatomic wrote. */
	if ((st = fsatomic_clean_stale(bs->tmp)) != OTA_OK)
		return st;
	return fsatomic_clean_stale(bs->sha);
}

enum ota_status
blobstore_open(struct blobstore **bs, const char *root)
{
	enum ota_status st;

	if ((*bs = calloc(1, sizeof(**bs))) == NULL)
		return OTA_E_NOMEM;
	if ((st = make_layout(*bs, root)) != OTA_OK) {
		free(*bs);
		*bs = NULL;
	}
	return st;
}

void
blobstore_free(struct blobstore *bs)
{
	free(bs);
}

static bool
valid_hex(const char *hex)
{
	size_t i;

	for (i = 0; i < BLOBSTORE_HEX_LEN; i++)
		if (!((hex[i] >= '0' && hex[i] <= '9') ||
		    (hex[i] >= 'a' && hex[i] <= 'f')))
			return false;
	return hex[i] == '\0';
}

enum ota_status
blobstore_path(const struct blobstore *bs, const char *hex, char *out,
    size_t outsz)
{
	if (!valid_hex(hex)) {
		if (outsz > 0)
			out[0] = '\0';
		return OTA_E_INVALID;
	}
	return str_fmt(out, outsz, "%s/%s", bs->sha, hex);
}

/* Up to BLOBSTORE_CHUNK next bytes into *out, their count into *n (0 at
 * the end). */
static enum ota_status
source_next(struct source *s, const unsigned char **out, size_t *n)
{
	ssize_t r;

	if (s->fd < 0) {
		*n = s->left < BLOBSTORE_CHUNK ? s->left : BLOBSTORE_CHUNK;
		*out = s->p;
		s->p += *n;
		s->left -= *n;
		return OTA_OK;
	}
	do
		r = read(s->fd, s->buf, BLOBSTORE_CHUNK);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return OTA_E_IO;
	*out = s->buf;
	*n = (size_t)r;
	return OTA_OK;
}

struct blob_writer {
	struct blobstore *bs;
	struct fsatomic a;
	struct hash_ctx *h;
	uint64_t total;
	uint64_t max;
};

enum ota_status
blobstore_writer_open(struct blobstore *bs, uint64_t max_size,
    struct blob_writer **wp)
{
	char tmppath[PATH_MAX];
	struct blob_writer *w;
	enum ota_status st;

	*wp = NULL;
	if ((st = str_fmt(tmppath, sizeof(tmppath), "%s/blob",
	    bs->tmp)) != OTA_OK)
		return st;
	if ((w = calloc(1, sizeof(*w))) == NULL)
		return OTA_E_NOMEM;
	w->bs = bs;
	w->max = max_size;
	if ((w->h = hash_new(HASH_SHA256)) == NULL) {
		free(w);
		return OTA_E_NOMEM;
	}
	if ((st = fsatomic_open(&w->a, tmppath, BLOBSTORE_FILE_MODE)) !=
	    OTA_OK) {
		blobstore_writer_abort(w);
		return st;
	}
	*wp = w;
	return OTA_OK;
}

enum ota_status
blobstore_writer_write(struct blob_writer *w, const void *p, size_t n)
{
	enum ota_status st;

	/* Checked before writing: past the cap nothing more lands. */
	if (n > w->max - w->total)
		return OTA_E_TOO_LARGE;
	w->total += n;
	if ((st = hash_update(w->h, p, n)) != OTA_OK)
		return st;
	return fsatomic_write_chunk(&w->a, p, n);
}

/*
 * Names the temp by its digest. Nothing under sha256/ is touched before
 * the digest is known and the bytes are fsynced (fsatomic_commit_to).
 */
enum ota_status
blobstore_writer_commit(struct blob_writer *w,
    char hex_out[BLOBSTORE_HEX_LEN + 1], uint64_t *size_out)
{
	char final[PATH_MAX], hex[BLOBSTORE_HEX_LEN + 1];
	unsigned char digest[HASH_MAX_LEN];
	enum ota_status st;
	size_t dlen = 0;
	struct stat sb;

	if ((st = hash_final(w->h, digest, &dlen)) != OTA_OK)
		goto out;
	str_hex(hex, digest, dlen);
	if ((st = blobstore_path(w->bs, hex, final, sizeof(final))) != OTA_OK)
		goto out;
	/*
	 * Same name, same bytes: an existing blob is kept and the copy
	 * dropped. Two concurrent puts of one content may both rename;
	 * either result is the same blob.
	 */
	if (lstat(final, &sb) == 0 && S_ISREG(sb.st_mode))
		fsatomic_abort(&w->a);
	else if ((st = fsatomic_commit_to(&w->a, final)) != OTA_OK)
		goto out;
	memcpy(hex_out, hex, sizeof(hex));
	if (size_out != NULL)
		*size_out = w->total;
out:
	blobstore_writer_abort(w);
	return st;
}

void
blobstore_writer_abort(struct blob_writer *w)
{
	if (w == NULL)
		return;
	fsatomic_abort(&w->a);
	hash_free(w->h);
	free(w);
}

/* Copies the source into the store through one writer. */
static enum ota_status
put_source(struct blobstore *bs, struct source *s, uint64_t max_size,
    char hex_out[BLOBSTORE_HEX_LEN + 1], uint64_t *size_out)
{
	struct blob_writer *w;
	enum ota_status st;

	if ((st = blobstore_writer_open(bs, max_size, &w)) != OTA_OK)
		return st;
	for (;;) {
		const unsigned char *p;
		size_t n;

		if ((st = source_next(s, &p, &n)) != OTA_OK)
			break;
		if (n == 0)
			return blobstore_writer_commit(w, hex_out, size_out);
		if ((st = blobstore_writer_write(w, p, n)) != OTA_OK)
			break;
	}
	blobstore_writer_abort(w);
	return st;
}

enum ota_status
blobstore_put_fd(struct blobstore *bs, int fd, uint64_t max_size,
    char hex_out[BLOBSTORE_HEX_LEN + 1], uint64_t *size_out)
{
	struct source s = { .fd = fd };
	enum ota_status st;

	if (fd < 0)
		return OTA_E_INVALID;
	if ((s.buf = malloc(BLOBSTORE_CHUNK)) == NULL)
		return OTA_E_NOMEM;
	st = put_source(bs, &s, max_size, hex_out, size_out);
	free(s.buf);
	return st;
}

enum ota_status
blobstore_put_mem(struct blobstore *bs, const void *p, size_t n,
    char hex_out[BLOBSTORE_HEX_LEN + 1])
{
	struct source s = { .fd = -1, .p = p, .left = n };

	return put_source(bs, &s, UINT64_MAX, hex_out, NULL);
}

enum ota_status
blobstore_open_blob(const struct blobstore *bs, const char *hex, int *fd)
{
	char path[PATH_MAX];
	enum ota_status st;
	struct stat sb;

	*fd = -1;
	if ((st = blobstore_path(bs, hex, path, sizeof(path))) != OTA_OK)
		return st;
	if ((*fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0)
		return errno == ELOOP ? OTA_E_NOTFOUND :
		    ota_status_from_errno(errno);
	if (fstat(*fd, &sb) != 0)
		st = OTA_E_IO;
	else if (!S_ISREG(sb.st_mode))
		st = OTA_E_NOTFOUND;
	if (st != OTA_OK) {
		close(*fd);
		*fd = -1;
		return st;
	}
	return OTA_OK;
}

enum ota_status
blobstore_verify(const struct blobstore *bs, const char *hex)
{
	char got[BLOBSTORE_HEX_LEN + 1];
	unsigned char digest[HASH_MAX_LEN];
	struct source s = { .fd = -1 };
	struct hash_ctx *h = NULL;
	enum ota_status st;
	size_t dlen = 0;

	if ((st = blobstore_open_blob(bs, hex, &s.fd)) != OTA_OK)
		return st;
	if ((s.buf = malloc(BLOBSTORE_CHUNK)) == NULL ||
	    (h = hash_new(HASH_SHA256)) == NULL) {
		st = OTA_E_NOMEM;
		goto out;
	}
	for (;;) {
		const unsigned char *p;
		size_t n;

		if ((st = source_next(&s, &p, &n)) != OTA_OK)
			goto out;
		if (n == 0)
			break;
		if ((st = hash_update(h, p, n)) != OTA_OK)
			goto out;
	}
	if ((st = hash_final(h, digest, &dlen)) != OTA_OK)
		goto out;
	str_hex(got, digest, dlen);
	st = strcmp(got, hex) == 0 ? OTA_OK : OTA_E_CHANGED;
out:
	hash_free(h);
	free(s.buf);
	close(s.fd);
	return st;
}
