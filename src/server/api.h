/*
 * api: the write half of /api/v1, for CI pipelines and operators; every
 * call needs a token with the publish scope ("Authorization: Bearer X").
 *
 *   PUT  /api/v1/blobs                            body: a file's bytes
 *        → 201 {"sha256": ..., "size": ...}
 *   POST /api/v1/repos/{o}/{r}/releases           body: {"tag_name",
 *        "files": [{"path", "sha256"}], "channel", "body", "draft",
 *        "prerelease", "force", "expires_days"} → 201 the release
 *   POST /api/v1/repos/{o}/{r}/releases/{tag}/promote  {"channel"}
 *   POST /api/v1/repos/{o}/{r}/releases/{tag}/yank | unyank
 *   POST /api/v1/devices/{id}/events              body: {"event",
 *        "repo", "module", "from_version", "to_version", "reason"}
 *        → 201 {"id"}; any token may report (devices hold read tokens)
 *
 * Files are uploaded first, streamed into the blob store (never held in
 * memory), and named by their SHA-256; a release then refers to them, and
 * is published exactly as `ota publish` does (publish.h). Bodies are
 * received through route_upload (route.h): the token is checked on the
 * headers, before any byte of the body is read. Knows the store and JSON,
 * not the HTTP library.
 */
#ifndef OTA_API_H
#define OTA_API_H

#include <stdint.h>

#include "server/route.h"

#define API_MAX_JSON (1024 * 1024)
#define API_MAX_BLOB ((uint64_t)4 << 30)	/* one uploaded file */

/* As route_upload_begin, for a path under api/v1/ (decoded, relative). */
struct route_upload *api_upload_begin(const struct route_env *env,
    const struct route_req *req, const char *path, uint64_t length,
    struct reply *rep);
enum ota_status api_upload_data(struct route_upload *u, const void *p,
    size_t n);
void api_upload_end(struct route_upload *u, const struct route_req *req,
    struct reply *rep);
void api_upload_abort(struct route_upload *u);

#endif
