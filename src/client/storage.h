/*
 * storage: where a module's code lives on the device, and the only module
 * that moves it. It stages a download, switches to it atomically, keeps
 * the version before it for a rollback, and tracks the trial of a new
 * version until it is confirmed. It knows directories, files and one
 * small state file; it knows nothing of feeds, HTTP, versions' order,
 * hashes or signatures (the caller verifies every staged byte before it
 * says a file is done).
 *
 * Layout, under <root>/<module>/ (micropython-ota-updater.md §2.6: the
 * application imports <module>/main):
 *   main                    symlink ".ota/slots/<slot>" (relative)
 *   .main.new               temp symlink during a switch (recover removes)
 *   .ota/lock               flock(2): one storage handle per module
 *   .ota/state              the record, key=value lines, written only by
 *                           fsatomic (temp + fsync + rename + dir fsync)
 *   .ota/slots/s<N>/        complete trees: current, previous, and during
 *                           a commit the new one; nothing else stays
 *   .ota/staging/<version>/ the download; "<path>.part" while incomplete
 *   .ota/trash/             whole trees renamed here before removal
 * A module whose main/ is still a real directory (the MicroPython
 * updater's layout) is adopted by storage_recover: one
 * renameat2(RENAME_EXCHANGE) swaps the directory into .ota/slots/s<N>
 * and the link into main, so main always names the complete tree.
 *
 * Crash consistency. main is the truth for what runs; the state says
 * what main is and, while an operation that moves main is under way,
 * which one (a "pending" record written before main moves). Commit:
 *   1. fsync every staged file and directory
 *   2. state += pending{commit, s<N>, version}         (intent)
 *   3. rename staging/<version> -> slots/s<N>; fsync both directories
 *   4. symlink .main.new -> slots/s<N>; rename over main; fsync  (SWITCH)
 *   5. state = {current s<N>, previous = old current, trial}
 *   6. slots that are neither current nor previous go to trash, removed
 * A kill before 2 leaves no trace but staging; from 2 on, recover
 * completes whichever of 3-6 are missing (each is idempotent, and the
 * tree it moves was complete and durable before 2), so a commit that
 * wrote its intent always ends at the new version. Rollback is the same
 * with pending{rollback, previous}. main is replaced only by rename(2) or
 * RENAME_EXCHANGE, so it names the old complete tree or the new one at
 * every instant; a slot is removed only once neither main nor the state
 * names it, and only after a rename into trash (never half-deleted in
 * place).
 *
 * A handle is for one thread at a time; the lock keeps other processes
 * out while it is open. Every path is bounded by the STORAGE_* limits.
 */
#ifndef OTA_STORAGE_H
#define OTA_STORAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <ota/status.h>
#include <ota/storage.h>

#define STORAGE_MAX_PATH 1024		/* a staged file, relative */
#define STORAGE_MAX_DEPTH 32		/* its components */
#define STORAGE_MAX_FILES 10000		/* files and directories in a tree */
#define STORAGE_MAX_VERSION OTA_MAX_VERSION
#define STORAGE_MAX_ETAG OTA_MAX_ETAG
#define STORAGE_MAX_ERROR OTA_MAX_ERROR
#define STORAGE_MAX_SLOT OTA_MAX_SLOT	/* "s" + a decimal counter */
#define STORAGE_MAX_STATE (16 * 1024)	/* bigger is corrupt */
#define STORAGE_MAX_MODULE 128
#define STORAGE_VERSION_FILE ".version"	/* read when adopting */

struct storage;

/* What storage_recover found and finished (bits). */
#define STORAGE_DID_ADOPT	0x01u	/* a real main/ became a slot */
#define STORAGE_DID_COMMIT	0x02u	/* a half-done commit completed */
#define STORAGE_DID_ROLLBACK	0x04u	/* a half-done rollback completed */
#define STORAGE_DID_TEMPS	0x08u	/* temps or trash removed */
#define STORAGE_DID_ORPHANS	0x10u	/* unreferenced slots removed */
#define STORAGE_DID_REBUILD	0x20u	/* state rebuilt from main */

/*
 * Opens the module `module` (one path component) under the directory
 * root, creating <root>/<module>/.ota if needed, and takes its lock: one
 * handle per module at a time (OTA_E_BUSY otherwise). Does not change
 * main: call storage_recover next. *out is the caller's (storage_free).
 * err[errsz] (may be NULL) gets a reason on failure.
 */
__attribute__((warn_unused_result))
enum ota_status storage_open(struct storage **out, const char *root,
    const char *module, char *err, size_t errsz);

/* Releases the lock and the handle. NULL is fine. */
void storage_free(struct storage *st);

/*
 * Brings the module to a consistent state: adopts a real main/ directory,
 * completes a half-done commit or rollback, rebuilds a lost or corrupt
 * state from main, removes temps, trash and slots that neither main nor
 * the state names. Never touches the slot main names or the previous
 * one. did (may be NULL) gets STORAGE_DID_* bits. state_set,
 * stage_begin, commit, confirm, rollback and trial_start run it first.
 * A lost or corrupt state (never left by a crash: every write is
 * atomic) is rebuilt from main: the current slot, its version from its
 * .version file if it has one (else ""), no trial, no previous (that
 * slot is then removed as unreferenced); the caller's fields survive
 * only if the file still parsed.
 * OTA_E_INVALID if main is something ota did not make (a link elsewhere,
 * a file): nothing is changed then.
 */
__attribute__((warn_unused_result))
enum ota_status storage_recover(struct storage *st, unsigned *did,
    char *err, size_t errsz);

/* A copy of the record as last read or written. */
void storage_state_get(const struct storage *st, struct ota_state *out);

/*
 * Writes the caller's fields of in (metadata_floor, etag, last_error,
 * backoff_until); the others are ignored. OTA_E_INVALID for an etag with
 * control bytes; a last_error is cleaned, and both are cut to fit.
 */
__attribute__((warn_unused_result))
enum ota_status storage_state_set(struct storage *st,
    const struct ota_state *in);

/*
 * Starts (or resumes) staging version: staging of any other version is
 * removed (D12: stale files never reach the installed tree), files of this
 * one are kept for resuming, unless fresh (they belong to another build
 * of the same version: a re-tagged release). version:
 * 1..STORAGE_MAX_VERSION printable bytes, no '/', not starting with '.'
 * (OTA_E_INVALID otherwise). A trial may be running: only storage_commit
 * waits for its end.
 */
__attribute__((warn_unused_result))
enum ota_status storage_stage_begin(struct storage *st, const char *version,
    bool fresh, char *err, size_t errsz);

/* Bytes an unprivileged writer may still put where staging lives. */
__attribute__((warn_unused_result))
enum ota_status storage_free_space(struct storage *st, uint64_t *bytes);

/*
 * Opens <path>.part in the staging tree for appending and reading back
 * (a resumed file is verified again), creating missing
 * directories: *fd (the caller's to close) and *have, the bytes already
 * there (resume from there). path must be relative and normalised: no
 * leading '/', no "", "." or ".." component, no '\\', no control byte, at
 * most STORAGE_MAX_PATH bytes and STORAGE_MAX_DEPTH components, and no
 * component ending in ".part" (OTA_E_FORBIDDEN otherwise). OTA_E_EXISTS
 * (*fd = -1, *have = its size) if the file is done already;
 * OTA_E_INVALID without storage_stage_begin.
 */
__attribute__((warn_unused_result))
enum ota_status storage_stage_file(struct storage *st, const char *path,
    int *fd, uint64_t *have);

/* The caller verified <path>.part: it becomes <path>. OTA_E_NOTFOUND if
 * there is no .part. */
__attribute__((warn_unused_result))
enum ota_status storage_stage_done(struct storage *st, const char *path);

/* Removes <path> and <path>.part (a file that failed verification). */
__attribute__((warn_unused_result))
enum ota_status storage_stage_discard(struct storage *st, const char *path);

/* Where path stands in staging, and its size (0 if absent). */
__attribute__((warn_unused_result))
enum ota_status storage_stage_query(struct storage *st, const char *path,
    enum ota_file_state *state, uint64_t *size);

/*
 * Switches main to the staged tree of version (steps 1-6 above) and puts
 * it on trial until trial_deadline (unix seconds; 0 = no deadline). The
 * caller has verified every file (each one storage_stage_done). Refused:
 * OTA_E_INVALID if version is not the one staged, or the tree holds a
 * .part, a link or a special file, or nothing at all; OTA_E_TOO_LARGE
 * past STORAGE_MAX_FILES or STORAGE_MAX_DEPTH; OTA_E_BUSY while the
 * current version is on trial (confirm or roll back first, so that the
 * rollback target is always a confirmed version).
 */
__attribute__((warn_unused_result))
enum ota_status storage_commit(struct storage *st, const char *version,
    int64_t trial_deadline, char *err, size_t errsz);

/*
 * Ends the trial: the current version is kept. The previous slot is kept
 * too, for one manual storage_rollback; the next commit removes it. A
 * no-op when no trial runs.
 */
__attribute__((warn_unused_result))
enum ota_status storage_confirm(struct storage *st);

/*
 * main back to the previous slot atomically (pending{rollback} as for a
 * commit), the state says so (no trial, no previous), the slot rolled
 * back from is removed. OTA_E_NOTFOUND without a previous version.
 */
__attribute__((warn_unused_result))
enum ota_status storage_rollback(struct storage *st, char *err,
    size_t errsz);

/*
 * The application is starting. During a trial, counts the start (written
 * before it returns, so a crash-looping application is counted) and sets
 * *must_roll_back when this start is the (max_starts + 1)th or now has
 * reached the trial deadline; the caller then runs storage_rollback.
 * Outside a trial: *must_roll_back = false and nothing is written.
 */
__attribute__((warn_unused_result))
enum ota_status storage_trial_start(struct storage *st, unsigned max_starts,
    int64_t now, bool *must_roll_back);

/* For the tests: pretend renameat2(RENAME_EXCHANGE) is refused, so that
 * adoption takes its two-step fallback. */
void storage_test_no_exchange(struct storage *st, bool on);

#endif
