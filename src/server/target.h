/*
 * target: turn a raw HTTP request-target into what the routes need.
 *
 * The target arrives exactly as the client sent it (no unescaping by the
 * HTTP library), so this module is the one place that decodes it:
 *  - absolute-form ("http://host/x") is reduced to its path, as RFC 9112
 *    asks of servers and as the reference's urlparse did;
 *  - the query is split off and kept raw (routes decode their own values);
 *  - the catalog route is recognised on the raw path, exactly "/_catalog",
 *    as the reference did;
 *  - the path is percent-decoded strictly and normalised (path.h), so that
 *    "/a//b", "./a" and "a" all name the same file and ".." never passes.
 * Targets without a leading slash ("./x.bin", "bin/x.bin") are accepted:
 * AutoConnect before v1.3.5 and AutoConnect with uri="bin" send them.
 */
#ifndef OTA_TARGET_H
#define OTA_TARGET_H

#include <stdbool.h>

#include <ota/status.h>

#define TARGET_MAX_PATH 2048
#define TARGET_MAX_QUERY 2048

struct target {
	char path[TARGET_MAX_PATH];	/* decoded, normalised, relative */
	char query[TARGET_MAX_QUERY];	/* raw, without '?'; "" if none */
	bool is_catalog;
};

/*
 * Parses raw into t. OTA_E_INVALID for a bad escape, a NUL, or raw
 * whitespace or control bytes (400),
 * OTA_E_FORBIDDEN for "..", '\\' or control bytes in the path (403),
 * OTA_E_TOO_LARGE when a part exceeds its cap (414).
 */
__attribute__((warn_unused_result))
enum ota_status target_parse(const char *raw, struct target *t);

#endif
