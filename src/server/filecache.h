/*
 * filecache: the MD5 and SHA-256 of served files, computed once.
 *
 * Keyed by what identifies a file's contents without reading them: device,
 * inode, size, mtime and ctime (nanoseconds). A file replaced by rename gets
 * a new inode and so a new entry; a file rewritten in place changes mtime and
 * ctime. The digest is always computed from the open descriptor that will be
 * sent, and the descriptor is fstat'ed again afterwards: if the file changed
 * while it was being read, the digest is thrown away (OTA_E_CHANGED) rather
 * than paired with bytes it does not describe.
 *
 * Bounded: past max_entries the table is emptied and refilled on demand
 * (catalogs are small; this only bounds a hostile or huge tree). Thread-safe.
 * Knows files, not HTTP.
 */
#ifndef OTA_FILECACHE_H
#define OTA_FILECACHE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include <ota/status.h>

#define FILECACHE_DEFAULT_ENTRIES 4096
#define FILECACHE_READ_CHUNK (64 * 1024)
#define FILECACHE_RETRIES 2

struct file_digest {
	char md5[33];		/* lower-case hex, as x-MD5 wants it */
	char sha256[65];
};

struct filecache_stats {
	uint64_t hits;
	uint64_t misses;	/* each one a full read of the file */
};

struct filecache;

/* NULL on allocation failure. */
struct filecache *filecache_new(size_t max_entries);
void filecache_free(struct filecache *c);

/*
 * Digest of the regular file open on fd, whose fstat is *st. On a miss the
 * file is read through fd (pread; the offset is untouched). If it changed
 * meanwhile, it is read again and *st updated to the fstat the digest
 * describes: send st->st_size bytes, not the size seen before the call.
 * OTA_E_IO on a read error, OTA_E_CHANGED if it kept changing.
 */
__attribute__((warn_unused_result))
enum ota_status filecache_get(struct filecache *c, int fd, struct stat *st,
    struct file_digest *out);

void filecache_stats(struct filecache *c, struct filecache_stats *out);

#endif
