/*
 * storage: where a module's code lives on the device, as a small ops
 * struct, so that the updater's core knows no file system: it stages
 * verified bytes, asks for one atomic switch, and keeps a small record.
 * ota_storage_posix_new (ota/host.h) is the implementation for a Linux
 * device (two slots and a symlink; see src/client/storage.h for its
 * crash-consistency argument); a microcontroller brings one over its
 * flash partitions.
 *
 * The contract, whatever the implementation:
 *  - what runs is never changed before commit, and commit switches in
 *    one step that a power cut leaves either before or after;
 *  - a staged file is resumable: stage_open reports the bytes it holds;
 *  - the record (struct ota_state) is written atomically;
 *  - after commit the new version is on trial until confirm; rollback
 *    returns to the previous version in one step;
 *  - paths come from a feed, checked by the core, and are checked again
 *    here: relative, normalised, no "..", no control byte; they are
 *    case-sensitive ("App.py" and "app.py" are two files: a FAT-backed
 *    implementation must refuse the second, not merge them);
 *  - the record's storage-owned fields say what is true: stage_begin
 *    sets "staged"; commit sets "current" (and "previous" to what ran),
 *    clears "staged" and starts the trial; confirm ends it; rollback
 *    swaps back and ends it; the core relies on these to decide;
 *  - state_get cannot fail: keep the record in memory while m is open.
 * A module handle ("m") is for one thread at a time.
 */
#ifndef OTA_STORAGE_H_PUBLIC
#define OTA_STORAGE_H_PUBLIC

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <ota/status.h>

#ifdef __cplusplus
extern "C" {
#endif

#define OTA_MAX_VERSION 128
#define OTA_MAX_SLOT 24
#define OTA_MAX_ETAG 256
#define OTA_MAX_ERROR 256

/* A module's record. Strings are "" when unset. */
struct ota_state {
	/* Owned by the storage: read-only for the core. */
	char current[OTA_MAX_VERSION + 1];	/* what runs */
	char current_slot[OTA_MAX_SLOT + 1];
	char previous[OTA_MAX_VERSION + 1];	/* the rollback target */
	char previous_slot[OTA_MAX_SLOT + 1];
	bool trial;			/* current not confirmed yet */
	unsigned trial_starts;		/* trial_start calls */
	int64_t trial_deadline;		/* unix seconds; 0 = none */
	char staged[OTA_MAX_VERSION + 1];	/* being staged */
	bool reconstructed;		/* the record was lost and rebuilt */
	/* Owned by the core: state_set writes these. */
	uint64_t metadata_floor;	/* highest signed metadata accepted */
	char etag[OTA_MAX_ETAG + 1];	/* of the last releases/latest */
	char last_error[OTA_MAX_ERROR + 1];
	int64_t backoff_until;		/* unix seconds; 0 = none */
	char rejected[OTA_MAX_VERSION + 1];	/* rolled back from: not
						 * offered again */
	char ready[OTA_MAX_VERSION + 1];	/* staged whole and verified,
						 * the switch still to do */
	char stage_key[65];		/* what staging holds: the engine's
					 * digest of the release's file list */
};

/* A staged file. */
enum ota_file_state {
	OTA_FILE_ABSENT,
	OTA_FILE_PARTIAL,		/* some bytes, not verified */
	OTA_FILE_DONE			/* verified and marked done */
};

struct ota_storage {
	void *ctx;
	/*
	 * Opens module (one path component) and brings it to a consistent
	 * state (finishing a commit or rollback a power cut interrupted).
	 * *m is the storage's until close. OTA_E_BUSY if another holder has
	 * it open.
	 */
	enum ota_status (*open)(void *ctx, const char *module, void **m,
	    char *err, size_t errsz);
	void (*close)(void *ctx, void *m);
	/*
	 * The module's feed config (the MicroPython updater's
	 * config/<module>_gitrepo_cfg.json) into buf[cap]; *len its size.
	 * OTA_E_NOTFOUND, OTA_E_TOO_LARGE past cap.
	 */
	enum ota_status (*read_config)(void *ctx, const char *module,
	    char *buf, size_t cap, size_t *len, char *err, size_t errsz);

	void (*state_get)(void *m, struct ota_state *out);
	/* Writes the core's fields of in; the others are ignored. */
	enum ota_status (*state_set)(void *m, const struct ota_state *in);

	/*
	 * Starts or resumes staging version; another version's staging is
	 * dropped, and so is this version's if fresh (the release changed
	 * under the same tag). Clears nothing of the record but "staged".
	 */
	enum ota_status (*stage_begin)(void *m, const char *version,
	    bool fresh, char *err, size_t errsz);
	enum ota_status (*stage_query)(void *m, const char *path,
	    enum ota_file_state *state, uint64_t *size);
	/*
	 * Bytes that staging may still take (before stage_begin too).
	 * NULL if the storage cannot tell: nothing is checked then.
	 */
	enum ota_status (*free_space)(void *m, uint64_t *bytes);
	/*
	 * Opens path's partial file for writing and reading back; *have is
	 * the bytes it holds (resume from there). OTA_E_EXISTS if the file
	 * is done; OTA_E_FORBIDDEN for a path that is not relative and
	 * normalised.
	 */
	enum ota_status (*stage_open)(void *m, const char *path, void **f,
	    uint64_t *have);
	enum ota_status (*file_write)(void *m, void *f, uint64_t off,
	    const void *p, size_t n);
	/* Reads up to n bytes at off; *got 0 only at the end. */
	enum ota_status (*file_read)(void *m, void *f, uint64_t off, void *p,
	    size_t n, size_t *got);
	enum ota_status (*file_truncate)(void *m, void *f, uint64_t size);
	/* Makes what was written durable if sync, and frees f. */
	enum ota_status (*file_close)(void *m, void *f, bool sync);
	/* The core verified path: it is done. */
	enum ota_status (*stage_done)(void *m, const char *path);
	/* path failed verification: its bytes go. */
	enum ota_status (*stage_discard)(void *m, const char *path);

	/*
	 * Switches to the staged version in one step and puts it on trial
	 * until trial_deadline (0: none). OTA_E_BUSY while the current
	 * version is on trial.
	 */
	enum ota_status (*commit)(void *m, const char *version,
	    int64_t trial_deadline, char *err, size_t errsz);
	/* Ends the trial; the version stays. No-op outside a trial. */
	enum ota_status (*confirm)(void *m);
	/* Back to the previous version in one step. OTA_E_NOTFOUND if
	 * there is none. */
	enum ota_status (*rollback)(void *m, char *err, size_t errsz);
	/*
	 * The application starts: during a trial, counts the start durably
	 * and sets *must_roll_back past max_starts or the deadline.
	 */
	enum ota_status (*trial_start)(void *m, unsigned max_starts,
	    int64_t now, bool *must_roll_back);
};

#ifdef __cplusplus
}
#endif
#endif
