/*
 * policy: whether a device should move from the version it runs to the
 * one a feed offers, by SemVer (semver.h) and the operator's downgrade
 * policy, and whether signed metadata may replace what was accepted
 * before. Pure functions: no I/O, no HTTP, no files.
 */
#ifndef OTA_POLICY_H
#define OTA_POLICY_H

#include <stdbool.h>
#include <stdint.h>

#include <ota/status.h>
#include <ota/updater.h>

enum policy_verdict {
	POLICY_CURRENT,		/* the device runs the offered version */
	POLICY_UPDATE,		/* newer: install it */
	POLICY_DOWNGRADE,	/* older, and the policy allows it */
	POLICY_KEEP_NEWER	/* older, and the policy refuses it */
};

/*
 * installed: the version the device runs (NULL or "" for none: a fresh
 * device, which always updates); offered: the feed's latest tag. Equal
 * versions (v1.2.0 and 1.2.0, or differing build metadata only) are
 * current. OTA_E_INVALID if offered is not a version, or installed is
 * set and is not one (the caller reports it; it never guesses).
 */
__attribute__((warn_unused_result))
enum ota_status policy_decide(const char *installed, const char *offered,
    enum ota_downgrade dg, enum policy_verdict *out);

/*
 * Signed metadata never goes back: a manifest may replace the one last
 * accepted for a repository only with a metadata version at least as high
 * (equal: the same manifest seen again). OTA_E_CHANGED for a replay of an
 * older one.
 */
__attribute__((warn_unused_result))
enum ota_status policy_metadata(uint64_t accepted, uint64_t offered);

const char *policy_verdict_str(enum policy_verdict v);

#endif
