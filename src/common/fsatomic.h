/*
 * fsatomic: the one atomic-file module. Every write that must survive a
 * crash (blobs, state files, staged metadata) goes through here.
 *
 * Crash-consistency argument. A file is never modified in place. The new
 * content goes to a temp file in the same directory (so rename cannot cross
 * a filesystem), named ".<base>.tmp.<pid>.<counter>" and created with
 * O_EXCL, so it is never the final name and never someone else's file.
 *   1. create temp, write all bytes   crash: the name still holds the old
 *                                      file; a stale temp is left over
 *   2. fsync(temp)                    crash: same; after this the new bytes
 *                                      are on disk before any name points
 *                                      at them (without it, some
 *                                      filesystems can expose a zero-length
 *                                      or partial file after power loss)
 *   3. rename(temp, path)             THE COMMIT POINT. rename(2) replaces
 *                                      the directory entry atomically: any
 *                                      observer, and the disk after any
 *                                      crash, sees the old inode or the new
 *                                      one, never neither and never a mix
 *   4. fsync(directory)               makes step 3 durable; a power cut
 *                                      before it leaves old or new
 * So every crash point leaves the old content or the new one at the name.
 * What may be left is a stale temp, which fsatomic_clean_stale() removes
 * at startup. Rejected: writing in place plus a journal (two files to keep
 * in step), O_TMPFILE + linkat (Linux-only, and cannot replace a name).
 *
 * Knows files and directories, nothing about what is in them.
 */
#ifndef OTA_FSATOMIC_H
#define OTA_FSATOMIC_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include <ota/status.h>

#define FSATOMIC_STALE_SECONDS (24 * 3600)

/* Bytes of the final name kept in a temp name (NAME_MAX is 255). */
#define FSATOMIC_BASE_MAX 200
/* Temp names tried before giving up on EEXIST (stale temps, pid reuse). */
#define FSATOMIC_OPEN_TRIES 16

/*
 * One replacement in progress. Zero it ({0} or memset) before use: a
 * zeroed struct, or one whose fsatomic_open failed, is "not open" and may
 * be passed to fsatomic_abort. Members are read-only for callers.
 */
struct fsatomic {
	bool live;		/* a temp exists and is ours to commit or remove */
	int fd;			/* the temp, open for writing; -1 when closed */
	char path[PATH_MAX];	/* the final name */
	char tmp[PATH_MAX];	/* the temp name, same directory as path */
};

/*
 * Replaces (or creates) path with p[n], mode exactly `mode` (the umask is
 * not applied), by steps 1-4 above. On any failure the temp is removed and
 * the file at path is untouched. Errors: OTA_E_NOTFOUND (the directory
 * does not exist), OTA_E_FORBIDDEN (EACCES, EPERM, EROFS), OTA_E_TOO_LARGE
 * (path too long), OTA_E_INVALID (path ends in '/'), OTA_E_IO otherwise;
 * errno is kept from the failing call. OTA_E_IO from the final directory
 * fsync means the new file is in place but may not be durable.
 * Thread-safe (temp names are unique per process and call).
 */
__attribute__((warn_unused_result))
enum ota_status fsatomic_write(const char *path, const void *p, size_t n,
    mode_t mode);

/*
 * Streaming form of fsatomic_write, for content too large to hold. Opens a
 * temp next to path; on failure *a is left not open. Errors as above.
 */
__attribute__((warn_unused_result))
enum ota_status fsatomic_open(struct fsatomic *a, const char *path,
    mode_t mode);

/* Appends p[n] to the temp. OTA_E_IO (errno set); OTA_E_INVALID if a is
 * not open. The caller still commits or aborts. */
__attribute__((warn_unused_result))
enum ota_status fsatomic_write_chunk(struct fsatomic *a, const void *p,
    size_t n);

/*
 * fsync, close, rename over a->path, fsync the directory. Afterwards a is
 * not open, whatever the result. On failure before the rename the temp is
 * removed and the old file untouched.
 */
__attribute__((warn_unused_result))
enum ota_status fsatomic_commit(struct fsatomic *a);

/*
 * As fsatomic_commit, but the temp is renamed to `path` instead of the
 * name given to fsatomic_open (it must be on the same filesystem; EXDEV
 * is OTA_E_IO), and path's directory is the one fsynced. For content
 * whose name is known only once it is written (content-addressed blobs).
 */
__attribute__((warn_unused_result))
enum ota_status fsatomic_commit_to(struct fsatomic *a, const char *path);

/*
 * As fsatomic_commit, but never replaces: if the name exists (even if it
 * appeared after fsatomic_open), OTA_E_EXISTS and the temp is removed.
 * link(2) then unlink(2) of the temp, so the check and the naming are one
 * step: of two writers racing for a name, exactly one wins.
 */
__attribute__((warn_unused_result))
enum ota_status fsatomic_commit_new(struct fsatomic *a);

/* Closes and unlinks the temp. No-op if a is not open (zeroed, failed
 * open, already committed or aborted). Never touches a->path. */
void fsatomic_abort(struct fsatomic *a);

/* fsyncs the directory dir, making renames and unlinks in it durable. */
__attribute__((warn_unused_result))
enum ota_status fsatomic_fsync_dir(const char *dir);

/*
 * Removes the leftovers of a crash from dir: regular files named like our
 * temps (".<base>.tmp.<pid>.<n>") whose writing process is gone, or that
 * nobody wrote to for FSATOMIC_STALE_SECONDS (pids get reused). Another
 * process's write in progress is left alone, so any process may call it;
 * for processes on other machines (shared storage) only the age counts
 * if their pid happens to be alive here.
 * OTA_E_NOTFOUND if dir does not exist; the first other failure is
 * returned after trying every entry.
 */
__attribute__((warn_unused_result))
enum ota_status fsatomic_clean_stale(const char *dir);

/* True if name (one path component) looks like one of our temps. */
bool fsatomic_is_temp_name(const char *name);

#endif
