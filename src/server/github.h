/*
 * github: the part of GitHub's REST API and raw file host that MicroPython
 * OTA updaters use (micropython-ota-updater.md §2.3, §3.2 and §9),
 * answered from the release store, so that a device changes only its repo
 * URL to http://<server>/repos/<owner>/<repo>.
 *
 *   GET /repos/{o}/{r}/releases/latest     highest eligible release (stable)
 *   GET /repos/{o}/{r}/releases            visible releases, highest first
 *   GET /repos/{o}/{r}/releases/tags/{tag}
 *   GET /repos/{o}/{r}/contents/{path}?ref=refs/tags/{tag} (or ref={tag})
 *   GET /raw/{o}/{r}/refs/tags/{tag}/{path} and /raw/{o}/{r}/{tag}/{path}
 *   GET /{o}/{r}/[refs/tags/]{tag}/{path}  when Host is
 *                                          raw.githubusercontent.com
 *   GET /api/v1/repos/{o}/{r}/releases/{tag}/manifest  signed manifest
 *
 * Every answer has a Content-Length (HTTP/1.0 clients read to EOF and
 * cannot decode chunked bodies), JSON answers an ETag and a 304 on
 * If-None-Match. Private repositories answer only to a token with read
 * scope ("Authorization: token X" or "Bearer X"), and 404 Not Found to
 * everyone else, as GitHub does. Knows the store and JSON; the HTTP
 * library is httpd.c's.
 */
#ifndef OTA_GITHUB_H
#define OTA_GITHUB_H

#include <stdbool.h>

#include <cjson/cJSON.h>

#include "server/route.h"
#include "server/target.h"

#define GITHUB_RAW_HOST "raw.githubusercontent.com"
#define GITHUB_MAX_JSON (8 * 1024 * 1024)	/* one rendered answer */
#define GITHUB_PER_PAGE_DEFAULT 30
#define GITHUB_PER_PAGE_MAX 100
#define GITHUB_MAX_BASE_URL 512
#define GITHUB_CACHE_SLOTS 256		/* answers kept, direct-mapped */
#define GITHUB_CACHE_MAX_BODY (64 * 1024)	/* larger ones are not kept */

/*
 * Answers already given, replayed while the store's generation (see
 * store_generation) is unchanged; guarded by route_env.store_lock.
 */
struct github_cache;
struct github_cache *github_cache_new(void);
/* Accepts NULL. */
void github_cache_free(struct github_cache *c);

/*
 * Answers req if its target belongs to the release store; false (rep
 * untouched) if it does not, so the legacy catalog routes get it.
 */
bool github_handle(const struct route_env *env, const struct route_req *req,
    const struct target *t, struct reply *rep);

/*
 * Sends root (consumed) as the JSON answer with an ETag (its SHA-256); a
 * 200 whose ETag matches If-None-Match becomes a 304.
 */
void github_json(struct reply *rep, const struct route_req *req, int status,
    cJSON *root);
/* GitHub's error object {"message": ..., "documentation_url": ...}. */
void github_json_error(struct reply *rep, const struct route_req *req,
    int status, const char *message);
/* The secret of "Authorization: token X" or "Bearer X"; NULL if none. */
const char *github_auth_token(const struct route_req *req);

#endif
