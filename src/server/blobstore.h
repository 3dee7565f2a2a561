/*
 * blobstore: content-addressed files under <root>/blobs/sha256/<64 hex>.
 *
 * A blob's name is the SHA-256 of its bytes, so a name, once present,
 * never changes meaning: puts of the same content deduplicate, and a reader
 * can check what it got (blobstore_verify). Content is streamed into a temp
 * under <root>/blobs/tmp through fsatomic, hashed on the way, and renamed
 * to its digest's name only when complete and fsynced; blobs/sha256 thus
 * only ever holds whole blobs, and a crash leaves at most temps in
 * blobs/tmp, which blobstore_open removes. blobs/tmp and blobs/sha256 are
 * on one filesystem by construction (siblings under root).
 *
 * Knows files and digests, not HTTP and not the database. Safe to use from
 * several threads once opened (no mutable state is shared).
 */
#ifndef OTA_BLOBSTORE_H
#define OTA_BLOBSTORE_H

#include <stddef.h>
#include <stdint.h>

#include <ota/status.h>

#define BLOBSTORE_HEX_LEN 64
#define BLOBSTORE_CHUNK (64 * 1024)	/* the one copy/hash buffer */
#define BLOBSTORE_DIR_MODE 0755
#define BLOBSTORE_FILE_MODE 0644

struct blobstore;

/*
 * Opens the store at root, creating root (one level), blobs/, blobs/sha256
 * and blobs/tmp (mode 0755) as needed, and removing stale temps left by a
 * crash. Call it while no other process writes to the same store. *bs is
 * the caller's (blobstore_free); NULL on failure. OTA_E_NOTFOUND if root's
 * parent does not exist, OTA_E_NOMEM, OTA_E_TOO_LARGE (root too long),
 * OTA_E_IO (errno set), OTA_E_FORBIDDEN.
 */
__attribute__((warn_unused_result))
enum ota_status blobstore_open(struct blobstore **bs, const char *root);
/* Accepts NULL. */
void blobstore_free(struct blobstore *bs);

/*
 * Reads fd to its end (it is not closed) and stores what was read. The
 * digest goes to hex_out (lower-case, NUL-terminated), the byte count to
 * *size_out (may be NULL); both only on success. If more than max_size
 * bytes arrive, OTA_E_TOO_LARGE and nothing is stored (UINT64_MAX: no
 * cap). If the blob already exists the new copy is discarded. OTA_E_IO on
 * a read or write error (errno set), OTA_E_NOMEM.
 */
__attribute__((warn_unused_result))
enum ota_status blobstore_put_fd(struct blobstore *bs, int fd,
    uint64_t max_size, char hex_out[BLOBSTORE_HEX_LEN + 1],
    uint64_t *size_out);

/* As blobstore_put_fd for the bytes p[n]. */
__attribute__((warn_unused_result))
enum ota_status blobstore_put_mem(struct blobstore *bs, const void *p,
    size_t n, char hex_out[BLOBSTORE_HEX_LEN + 1]);

/*
 * A blob written piece by piece (an upload): open, write any number of
 * times, then commit (which names it by its digest, as blobstore_put_fd)
 * or abort. Both commit and abort free the writer. Writing more than
 * max_size bytes in all is OTA_E_TOO_LARGE, and nothing is stored.
 */
struct blob_writer;
__attribute__((warn_unused_result))
enum ota_status blobstore_writer_open(struct blobstore *bs, uint64_t max_size,
    struct blob_writer **w);
__attribute__((warn_unused_result))
enum ota_status blobstore_writer_write(struct blob_writer *w, const void *p,
    size_t n);
__attribute__((warn_unused_result))
enum ota_status blobstore_writer_commit(struct blob_writer *w,
    char hex_out[BLOBSTORE_HEX_LEN + 1], uint64_t *size_out);
/* Accepts NULL. */
void blobstore_writer_abort(struct blob_writer *w);

/*
 * The path of blob hex into out[outsz] (whether or not it exists).
 * OTA_E_INVALID unless hex is exactly 64 lower-case hex digits: a name
 * from outside can never reach the filesystem otherwise. OTA_E_TOO_LARGE
 * if it won't fit.
 */
__attribute__((warn_unused_result))
enum ota_status blobstore_path(const struct blobstore *bs, const char *hex,
    char *out, size_t outsz);

/*
 * Opens blob hex read-only (O_NOFOLLOW) into *fd, owned by the caller;
 * -1 on failure. OTA_E_INVALID (bad hex), OTA_E_NOTFOUND (absent, or not
 * a regular file), OTA_E_IO.
 */
__attribute__((warn_unused_result))
enum ota_status blobstore_open_blob(const struct blobstore *bs,
    const char *hex, int *fd);

/*
 * Re-reads blob hex and checks that its bytes still hash to its name.
 * OTA_E_CHANGED if not (corrupted on disk); errors as blobstore_open_blob.
 */
__attribute__((warn_unused_result))
enum ota_status blobstore_verify(const struct blobstore *bs,
    const char *hex);

#endif
