/*
 * update: one module's check and update, from its feed to its switch.
 *
 *   config/<module>_gitrepo_cfg.json  → the feed (feed.h)
 *   releases/latest (If-None-Match)   → 304: nothing to do; the tag
 *   policy_decide                     → update, or keep what runs
 *   signed manifest (our feed)        → verified, never older (policy.h)
 *   contents listings, recursively    → the files, checked (feed.h)
 *   each file into staging            → resumed with Range, verified as
 *                                        it streams (verify.h)
 *   storage_commit                    → one atomic switch, on trial
 *
 * Nothing is installed unless every file arrived whole and matches what
 * the feed (and, with a public key, the signed manifest) vouched for;
 * the installed version runs untouched meanwhile. Errors are distinct
 * statuses: OTA_E_NOTFOUND (no release), OTA_E_BUSY (rate limited or
 * backing off), OTA_E_AUTH (token refused), OTA_E_NETWORK/TIMEOUT
 * (network), OTA_E_PROTOCOL/IO (the server), OTA_E_SIGNATURE/EXPIRED/
 * CHANGED (verification). Knows the seams (transport.h, storage.h), not
 * libcurl.
 */
#ifndef OTA_UPDATE_H
#define OTA_UPDATE_H

#include <stdbool.h>
#include <stdint.h>

#include <ota/status.h>

#include "client/policy.h"
#include "client/transport.h"

#define UPDATE_MAX_FILES 10000		/* in one release */
#define UPDATE_MAX_DEPTH 32		/* directory levels */
#define UPDATE_DEFAULT_BACKOFF 300	/* seconds, rate limited, no hint */
#define UPDATE_CONNECT_TIMEOUT 15
#define UPDATE_READ_TIMEOUT 30
#define UPDATE_TOTAL_TIMEOUT 3600	/* one update, all requests */
#define UPDATE_MAX_REDIRECTS 5

struct update_opts {
	const char *root;		/* the device's root directory */
	const char *module;
	struct transport *transport;
	enum policy_downgrade downgrade;
	int64_t trial_seconds;		/* 0: no deadline */
	bool check_only;		/* report, change nothing */
	int64_t now;			/* unix seconds */
};

enum update_outcome {
	UPDATE_CURRENT,			/* runs the latest */
	UPDATE_AVAILABLE,		/* check_only: a newer one exists */
	UPDATE_KEPT_NEWER,		/* the feed's latest is older */
	UPDATE_INSTALLED		/* switched, on trial */
};

struct update_report {
	enum update_outcome outcome;
	char installed[129];		/* before */
	char offered[129];		/* the feed's latest, "" if unknown */
	unsigned files;			/* downloaded or resumed */
	uint64_t bytes;
};

__attribute__((warn_unused_result))
enum ota_status update_module(const struct update_opts *o,
    struct update_report *rep, char *err, size_t errsz);

const char *update_outcome_str(enum update_outcome o);

#endif
