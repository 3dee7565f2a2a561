/*
 * updater: libota's engine. One module's check and update, from its feed
 * to its switch, and the trial that follows:
 *
 *   config (storage read_config)   → the feed: ours or GitHub's
 *   releases/latest, If-None-Match → 304: nothing to do
 *   version policy                 → update, or keep what runs
 *   signed manifest (a public key) → verified, never older, not expired
 *   contents listings              → every file, path checked
 *   each file into staging         → resumed with Range, verified as it
 *                                     streams: size, Git blob SHA-1,
 *                                     SHA-256 from the manifest
 *   storage commit                 → one atomic switch, on trial
 *
 * Nothing is installed unless every file arrived whole and matches what
 * the feed (and, with a public key, the signed manifest) vouched for;
 * what runs is untouched meanwhile. The engine does its I/O only through
 * the three ops structs (transport.h, storage.h, crypto.h), so it builds
 * for a microcontroller; it has no global state, and one handle is for one
 * thread at a time (thread-compatible). It allocates with malloc; a 1 MiB
 * update peaks at about 330 KB of heap on a 64-bit host.
 */
#ifndef OTA_UPDATER_H
#define OTA_UPDATER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <ota/crypto.h>
#include <ota/status.h>
#include <ota/storage.h>
#include <ota/transport.h>

#ifdef __cplusplus
extern "C" {
#endif

#define OTA_MAX_FILES 10000		/* in one release */

enum ota_downgrade {
	OTA_NO_DOWNGRADE,		/* default: an older latest is ignored */
	OTA_ALLOW_DOWNGRADE		/* follow the feed back */
};

struct ota_config {
	const struct ota_transport *transport;	/* borrowed, required */
	const struct ota_storage *storage;	/* borrowed, required */
	const struct ota_crypto *crypto;	/* borrowed, required */
	enum ota_downgrade downgrade;
	int64_t trial_seconds;		/* roll back unless confirmed within;
					 * 0: no deadline */
	bool retry_rejected;		/* install a version rolled back
					 * before (default: wait for a newer) */
	uint64_t max_release_bytes;	/* a release's files together;
					 * 0: 1 GiB */
	const char *user_agent;		/* NULL: "ota/<version>"; copied */
	unsigned connect_timeout_s;	/* per request; 0: 15 s */
	unsigned read_timeout_s;	/* no byte for this long; 0: 30 s */
	unsigned total_timeout_s;	/* one update, all its requests;
					 * 0: 3600 s */
	/*
	 * Seconds on a clock that does not jump (CLOCK_MONOTONIC), for the
	 * overall deadline of an update. NULL: total_timeout_s bounds each
	 * request instead.
	 */
	int64_t (*clock_s)(void *clock_ctx);
	void *clock_ctx;
};

struct ota_updater;

enum ota_outcome {
	OTA_CURRENT,			/* runs the latest */
	OTA_AVAILABLE,			/* check only: a newer one exists */
	OTA_KEPT_NEWER,			/* the feed's latest is older */
	OTA_REJECTED,			/* the latest was rolled back before */
	OTA_INSTALLED			/* switched, on trial */
};

struct ota_report {
	enum ota_outcome outcome;
	char installed[OTA_MAX_VERSION + 1];	/* before */
	char offered[OTA_MAX_VERSION + 1];	/* the latest; "" if unknown */
	unsigned files;			/* downloaded or resumed */
	uint64_t bytes;			/* downloaded by this call */
	bool rolled_back;		/* a trial past its deadline was
					 * ended first: restart the app */
	char rolled_back_from[OTA_MAX_VERSION + 1];
};

/* OTA_E_INVALID without transport, storage or crypto; OTA_E_NOMEM. */
__attribute__((warn_unused_result))
OTA_API enum ota_status ota_updater_new(struct ota_updater **out,
    const struct ota_config *cfg);
OTA_API void ota_updater_free(struct ota_updater *u);

/*
 * Checks module's feed and, unless check_only, installs a newer release
 * (on trial). now is unix seconds. Errors: OTA_E_NOTFOUND no release;
 * OTA_E_BUSY rate limited or backing off; OTA_E_AUTH token refused;
 * OTA_E_NETWORK / OTA_E_TIMEOUT network; OTA_E_PROTOCOL the server sent
 * what cannot be used; OTA_E_SIGNATURE / OTA_E_EXPIRED / OTA_E_CHANGED
 * verification; OTA_E_FORBIDDEN a version is on trial. err[errsz] gets
 * one line; it is also kept as the module's last error. Results are
 * reported to our server when it is the feed (best effort).
 */
__attribute__((warn_unused_result))
OTA_API enum ota_status ota_update(struct ota_updater *u, const char *module,
    bool check_only, int64_t now, struct ota_report *rep, char *err,
    size_t errsz);

/* The version on trial stays. */
__attribute__((warn_unused_result))
OTA_API enum ota_status ota_confirm(struct ota_updater *u, const char *module,
    char *err, size_t errsz);

/*
 * Back to the previous version; the version rolled back from is not
 * offered again (until a newer one is published), and the rollback is
 * reported. OTA_E_NOTFOUND if there is no previous version.
 */
__attribute__((warn_unused_result))
OTA_API enum ota_status ota_rollback(struct ota_updater *u, const char *module,
    char *err, size_t errsz);

/*
 * The application starts: during a trial the start is counted, and past
 * max_starts or the trial's deadline the module rolls back (as
 * ota_rollback) and *rolled_back is set.
 */
__attribute__((warn_unused_result))
OTA_API enum ota_status ota_started(struct ota_updater *u, const char *module,
    unsigned max_starts, int64_t now, bool *rolled_back, char *err,
    size_t errsz);

/* The module's record. */
__attribute__((warn_unused_result))
OTA_API enum ota_status ota_state_get(struct ota_updater *u, const char *module,
    struct ota_state *out, char *err, size_t errsz);

OTA_API const char *ota_outcome_str(enum ota_outcome o);

#ifdef __cplusplus
}
#endif
#endif
