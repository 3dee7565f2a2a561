/*
 * semver: release tags as Semantic Versions 2.0.0, and their order.
 *
 * The MicroPython updater compared tags as strings, so "1.0.10" < "1.0.9"
 * and a device could be sent backwards; every version comparison in ota
 * goes through semver_cmp instead. Accepted: an optional "v" or "V", one to
 * three numeric fields (missing ones are 0, so "v1.2" is 1.2.0, as tags in
 * the wild often are; the pre-release of such a short version must start
 * with a letter, so that "2024-12-01" is not 2024.0.0), an optional
 * "-pre.release" and an optional "+build" (ignored for order, as SemVer
 * says). Numeric fields and numeric
 * pre-release identifiers have no leading zeros; identifiers are
 * [0-9A-Za-z-]+. Anything else is not a version (OTA_E_INVALID), so a tag
 * like "latest" or "2024-05" is refused with a clear error, not misordered.
 */
#ifndef OTA_SEMVER_H
#define OTA_SEMVER_H

#include <stdbool.h>
#include <stdint.h>

#include <ota/status.h>

#define SEMVER_MAX_LEN 128

struct semver {
	uint64_t major;
	uint64_t minor;
	uint64_t patch;
	char pre[SEMVER_MAX_LEN];	/* pre-release, no '-'; "" if none */
	char build[SEMVER_MAX_LEN];	/* build metadata, no '+'; "" if none */
};

/* Parses s into v. OTA_E_INVALID for anything that is not a version. */
__attribute__((warn_unused_result))
enum ota_status semver_parse(const char *s, struct semver *v);

/*
 * SemVer precedence: <0, 0 or >0 as a is lower than, equal to or higher
 * than b. A pre-release is lower than its release (1.0.0-rc.1 < 1.0.0);
 * numeric identifiers compare as numbers and below alphanumeric ones;
 * build metadata is ignored.
 */
int semver_cmp(const struct semver *a, const struct semver *b);

/* True if v has a pre-release part. */
bool semver_is_prerelease(const struct semver *v);

#endif
