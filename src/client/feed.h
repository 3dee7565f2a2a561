/*
 * feed: what the updater reads from a release feed, parsed and checked
 * before anything acts on it. A feed is GitHub's releases API or ours
 * (which speaks the same subset, plus a signed manifest): a module's
 * config file names it, releases/latest names the version, and contents
 * listings name the files.
 *
 * Everything here is hostile until checked (micropython-ota-updater.md
 * §4 D4, D11, D18, D19 and §8 items 3, 9, 10): an error object or an HTML
 * page is not a release, a listing path must lie below the module's folder
 * (anchored, normalised, no "..", no absolute path), sizes and counts are
 * capped, a Git blob id is 40 hex digits. Pure parsing: no I/O, no HTTP.
 */
#ifndef OTA_FEED_H
#define OTA_FEED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <ota/status.h>

#define FEED_MAX_URL 1024
#define FEED_MAX_TOKEN 256
#define FEED_MAX_TAG 128
#define FEED_MAX_PATH 1024
#define FEED_MAX_JSON (1024 * 1024)	/* one API answer */
#define FEED_MAX_ENTRIES 1000		/* per listing, as GitHub */
#define FEED_MAX_CONFIG (64 * 1024)
#define FEED_MAX_TOKENS 16384		/* JSON values in a config or release */
#define FEED_MAIN_DIR "main"

/* A module's config/<module>_gitrepo_cfg.json, read as the seed wrote it. */
struct feed_config {
	char url[FEED_MAX_URL];		/* gitrepo.url as written */
	char api[FEED_MAX_URL];		/* the API base: .../repos/OWNER/REPO */
	char token[FEED_MAX_TOKEN];	/* gitrepo.github_pat, "" if none */
	char public_key[128];		/* ota.public_key, "" if none */
	char device_id[65];		/* ota.device_id, "" if none */
};

/* What releases/latest says. */
struct feed_release {
	char tag[FEED_MAX_TAG + 1];
	char manifest_url[FEED_MAX_URL];	/* ours only; "" on GitHub */
	uint64_t metadata_version;		/* ours only; 0 on GitHub */
};

enum feed_type { FEED_FILE, FEED_DIR };

/* One entry of a contents listing. */
struct feed_entry {
	enum feed_type type;
	char path[FEED_MAX_PATH + 1];	/* below main_dir: "main/lib/x.py" */
	char rel[FEED_MAX_PATH + 1];	/* path without "main/": "lib/x.py" */
	char sha[41];			/* Git blob id (files) */
	uint64_t size;
	char download_url[FEED_MAX_URL];	/* files */
};

/*
 * Parses a config file's text. gitrepo.url must be http:// or https://;
 * "https://github.com/O/R" becomes the API base
 * "https://api.github.com/repos/O/R", as the MicroPython updater does, and
 * any other URL is the API base itself (our server's
 * "http://host:8000/repos/O/R"). err names what is wrong.
 */
__attribute__((warn_unused_result))
enum ota_status feed_config_parse(const char *text, size_t len,
    struct feed_config *out, char *err, size_t errsz);

/*
 * Parses a releases/latest answer. OTA_E_NOTFOUND for an object without
 * tag_name (GitHub's {"message": "Not Found"}), OTA_E_PROTOCOL for
 * anything that is not a JSON object (a captive portal's HTML).
 */
__attribute__((warn_unused_result))
enum ota_status feed_release_parse(const char *text, size_t len,
    struct feed_release *out, char *err, size_t errsz);

/*
 * Parses a contents listing of directory dir (e.g. "main" or "main/lib")
 * into out[*n] (at most max entries). Every entry's path must be dir + "/"
 * + its name, a single normalised component; files need a 40-hex sha, a
 * size and an http(s) download_url. OTA_E_PROTOCOL for anything else,
 * with err naming the entry; OTA_E_TOO_LARGE past max.
 */
__attribute__((warn_unused_result))
enum ota_status feed_listing_parse(const char *text, size_t len,
    const char *dir, struct feed_entry *out, size_t max, size_t *n,
    char *err, size_t errsz);

/*
 * As feed_listing_parse, one entry at a time: each checked entry goes to
 * fn (whose non-OTA_OK result stops the walk and is returned), so memory
 * does not grow with the listing. max caps the count as above.
 */
typedef enum ota_status (*feed_entry_fn)(void *ctx,
    const struct feed_entry *e);
__attribute__((warn_unused_result))
enum ota_status feed_listing_walk(const char *text, size_t len,
    const char *dir, size_t max, feed_entry_fn fn, void *ctx, char *err,
    size_t errsz);

#endif
