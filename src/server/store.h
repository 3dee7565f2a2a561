/*
 * store: the release store behind `ota serve --data DIR` and `ota publish`.
 *
 * DIR holds content-addressed blobs (blobstore.h) and a database (ota.db,
 * SQLite in WAL mode) with repositories, releases, their assets and API
 * tokens. Bytes live only in blobs; the database names them by SHA-256, so
 * a release is published by first storing every blob (each one atomic) and
 * then inserting the release and its assets in one transaction: a crash
 * before the commit leaves the old state plus unreferenced blobs, a crash
 * after it the whole release. Nothing is ever half published.
 *
 * The SQL sits behind struct store_backend (store_sqlite.c is the one file
 * that includes <sqlite3.h>), so a PostgreSQL backend is one more file.
 * This module knows releases and versions, not HTTP and not JSON.
 *
 * A store is used by one thread at a time; the server serialises access
 * with one lock (route_env.store_lock). Reads by the server and writes by an
 * `ota publish` in another process may run at once (WAL).
 */
#ifndef OTA_STORE_H
#define OTA_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <ota/status.h>

#include "common/semver.h"
#include "common/str.h"
#include "server/blobstore.h"

#define STORE_DB_NAME "ota.db"
#define STORE_DEFAULT_DIR "ota-data"
#define STORE_DEFAULT_CHANNEL "stable"
#define STORE_MAX_NAME 100		/* owner or repository (GitHub: 39/100) */
#define STORE_MAX_TAG SEMVER_MAX_LEN
#define STORE_MAX_CHANNEL 32
#define STORE_MAX_NOTES (64 * 1024)
#define STORE_MAX_ASSET_PATH 1024
#define STORE_MAX_ASSETS 10000		/* per release */
#define STORE_MAX_RELEASES 10000	/* per repository, as listed */
#define STORE_BUSY_TIMEOUT_MS 5000	/* wait for another writer */
#define STORE_TOKEN_HEX 64		/* tokens are kept as SHA-256 hex */

struct store_repo {
	int64_t id;
	char owner[STORE_MAX_NAME + 1];
	char name[STORE_MAX_NAME + 1];
	bool is_private;
	uint64_t metadata_version;	/* last one handed out, see publish */
	int64_t created;		/* unix seconds */
};

struct store_release {
	int64_t id;
	int64_t repo_id;
	char tag[STORE_MAX_TAG + 1];		/* as published, e.g. "v1.2.0" */
	char version[STORE_MAX_TAG + 1];	/* the tag without build/"v" */
	char channel[STORE_MAX_CHANNEL + 1];
	char *notes;				/* owned; "" when none */
	bool draft;
	bool prerelease;
	bool yanked;
	int64_t created;			/* unix seconds */
	int64_t published;			/* 0 while a draft */
	uint64_t metadata_version;
	char manifest[BLOBSTORE_HEX_LEN + 1];	/* blob of the signed manifest */
};

struct store_asset {
	char *path;			/* owned; relative, normalised */
	uint64_t size;
	char sha256[BLOBSTORE_HEX_LEN + 1];	/* also the blob's name */
	char md5[33];
	char git_sha1[41];			/* sha1("blob <size>\0" bytes) */
};

/* Token scopes, in increasing power: each includes the ones before it. */
enum store_scope {
	STORE_SCOPE_READ = 1,		/* read private repositories */
	STORE_SCOPE_PUBLISH,		/* and publish, yank, promote */
	STORE_SCOPE_ADMIN		/* and manage repositories and tokens */
};

struct store_token {
	int64_t id;
	char name[STORE_MAX_NAME + 1];
	enum store_scope scope;
	int64_t repo_id;		/* 0: every repository */
	int64_t created;
};

/* What an operator set for one ESP device (by its station MAC). */
#define STORE_MAC_LEN 17		/* "AA:BB:CC:DD:EE:FF" */
struct store_device {
	char mac[STORE_MAC_LEN + 1];
	char channel[STORE_MAX_CHANNEL + 1];	/* "": the default channel */
	char pin[STORE_MAX_TAG + 1];		/* "": follow the channel */
	int64_t updated;
};

/* What a device reported (POST /api/v1/devices/{id}/events). */
#define STORE_MAX_DEVICE_ID STR_DEVICE_ID_MAX
#define STORE_MAX_EVENT_KIND 32
#define STORE_MAX_REASON 1024
#define STORE_MAX_EVENTS 1000		/* kept per device, newest */
struct store_event {
	int64_t id;
	char device[STORE_MAX_DEVICE_ID + 1];
	int64_t at;				/* unix seconds, server time */
	char kind[STORE_MAX_EVENT_KIND + 1];	/* "success", "failure", ... */
	char repo[2 * STORE_MAX_NAME + 2];
	char module[STORE_MAX_NAME + 1];
	char from_version[STORE_MAX_TAG + 1];
	char to_version[STORE_MAX_TAG + 1];
	char reason[STORE_MAX_REASON + 1];
	char peer[64];				/* the reporting address */
};

/* Which releases store_release_list returns. */
enum store_filter {
	STORE_LIST_ALL,			/* every release (operators) */
	STORE_LIST_VISIBLE,		/* not draft, not yanked (GitHub list) */
	STORE_LIST_ELIGIBLE		/* also not a pre-release ("latest") */
};

struct store;

/*
 * Opens (creating when create is set) the store in dir: its blobs, the
 * database and the schema, migrated to the current version. err[errsz]
 * gets a one-line reason on failure. OTA_E_NOTFOUND if dir is missing and
 * create is not set.
 */
__attribute__((warn_unused_result))
enum ota_status store_open(struct store **sp, const char *dir, bool create,
    char *err, size_t errsz);
/* Accepts NULL. */
void store_free(struct store *s);

const char *store_dir(const struct store *s);
struct blobstore *store_blobs(struct store *s);
/* The last database error, for logs: never NULL. */
const char *store_errmsg(const struct store *s);

/* Transactions: writes between begin and commit land together or not. */
__attribute__((warn_unused_result))
enum ota_status store_begin(struct store *s);
__attribute__((warn_unused_result))
enum ota_status store_commit(struct store *s);
void store_rollback(struct store *s);

/*
 * A counter that changes whenever the database may have changed, in this
 * process or another; answers cached under one value stay valid while it
 * stays the same.
 */
__attribute__((warn_unused_result))
enum ota_status store_generation(struct store *s, uint64_t *gen);

/* ---- repositories ---- */

/* Owner and name: 1–100 of [A-Za-z0-9._-], not "." or "..". */
bool store_name_valid(const char *s);

/* Case-insensitive, as GitHub. OTA_E_NOTFOUND if there is none. */
__attribute__((warn_unused_result))
enum ota_status store_repo_get(struct store *s, const char *owner,
    const char *name, struct store_repo *out);
__attribute__((warn_unused_result))
enum ota_status store_repo_get_id(struct store *s, int64_t id,
    struct store_repo *out);
/* Gets the repository, creating it (public) if it does not exist. */
__attribute__((warn_unused_result))
enum ota_status store_repo_ensure(struct store *s, const char *owner,
    const char *name, struct store_repo *out);
__attribute__((warn_unused_result))
enum ota_status store_repo_set_private(struct store *s, int64_t repo_id,
    bool is_private);
/* Hands out the repository's next metadata version (inside a transaction). */
__attribute__((warn_unused_result))
enum ota_status store_repo_next_metadata(struct store *s, int64_t repo_id,
    uint64_t *version);
/* Every repository, sorted by owner/name, into a malloc'd array. */
__attribute__((warn_unused_result))
enum ota_status store_repo_list(struct store *s, struct store_repo **out,
    size_t *n);

/* ---- releases ---- */

void store_release_init(struct store_release *r);
void store_release_release(struct store_release *r);
void store_releases_free(struct store_release *r, size_t n);

/*
 * Inserts r (its id and repo_id are read from r, id is set) and its assets
 * (sorted by path, unique). OTA_E_EXISTS if the repository already has
 * this tag or a tag of the same version.
 */
__attribute__((warn_unused_result))
enum ota_status store_release_insert(struct store *s, struct store_release *r,
    const struct store_asset *assets, size_t nassets);
/* Removes a release and its assets (its blobs stay). */
__attribute__((warn_unused_result))
enum ota_status store_release_delete(struct store *s, int64_t release_id);
/* Writes back r's channel, notes, flags, times and manifest fields. */
__attribute__((warn_unused_result))
enum ota_status store_release_update(struct store *s,
    const struct store_release *r);

__attribute__((warn_unused_result))
enum ota_status store_release_get(struct store *s, int64_t repo_id,
    const char *tag, struct store_release *out);
/*
 * A repository's releases passing filter (channel NULL: any), highest
 * version first (SemVer order; equal versions newest first).
 */
__attribute__((warn_unused_result))
enum ota_status store_release_list(struct store *s, int64_t repo_id,
    enum store_filter filter, const char *channel,
    struct store_release **out, size_t *n);
/*
 * The highest eligible release of channel or of the default channel: a
 * channel adds releases to "stable", it never holds a device back from a
 * newer stable one (channel NULL: the default). OTA_E_NOTFOUND if none.
 */
__attribute__((warn_unused_result))
enum ota_status store_release_latest(struct store *s, int64_t repo_id,
    const char *channel, struct store_release *out);

/* ---- assets ---- */

void store_assets_free(struct store_asset *a, size_t n);
/*
 * A release's assets sorted by path; with prefix (a directory, no trailing
 * '/'; "" for all) only those below it.
 */
__attribute__((warn_unused_result))
enum ota_status store_asset_list(struct store *s, int64_t release_id,
    const char *prefix, struct store_asset **out, size_t *n);
/* One asset by its exact path. */
__attribute__((warn_unused_result))
enum ota_status store_asset_get(struct store *s, int64_t release_id,
    const char *path, struct store_asset *out);

/* ---- devices ---- */

/*
 * "aa:bb:cc:dd:ee:ff", "AABBCCDDEEFF" or with '-' → "AA:BB:CC:DD:EE:FF";
 * OTA_E_INVALID for anything else.
 */
__attribute__((warn_unused_result))
enum ota_status store_mac_normalize(const char *in,
    char out[STORE_MAC_LEN + 1]);
/* OTA_E_NOTFOUND when nothing was set for mac (normalised). */
__attribute__((warn_unused_result))
enum ota_status store_device_get(struct store *s, const char *mac,
    struct store_device *out);
/* Inserts or replaces; a device with neither channel nor pin is removed. */
__attribute__((warn_unused_result))
enum ota_status store_device_put(struct store *s,
    const struct store_device *d);
__attribute__((warn_unused_result))
enum ota_status store_device_list(struct store *s, struct store_device **out,
    size_t *n);

/* ---- device events ---- */

/*
 * Records e (its id and at are set here); only the newest
 * STORE_MAX_EVENTS of a device are kept.
 */
__attribute__((warn_unused_result))
enum ota_status store_event_add(struct store *s, struct store_event *e);
/* The newest events, at most limit, of device (NULL: of every device). */
__attribute__((warn_unused_result))
enum ota_status store_event_list(struct store *s, const char *device,
    size_t limit, struct store_event **out, size_t *n);

/* ---- tokens ---- */

/*
 * Makes a token: the secret (shown once; "ota_" and 43 base64url chars)
 * goes to secret[secretsz], only its SHA-256 is kept.
 */
__attribute__((warn_unused_result))
enum ota_status store_token_create(struct store *s, const char *name,
    enum store_scope scope, int64_t repo_id, char *secret, size_t secretsz,
    struct store_token *out);
/* The token whose secret this is; OTA_E_AUTH if none. */
__attribute__((warn_unused_result))
enum ota_status store_token_check(struct store *s, const char *secret,
    struct store_token *out);
__attribute__((warn_unused_result))
enum ota_status store_token_list(struct store *s, struct store_token **out,
    size_t *n);
__attribute__((warn_unused_result))
enum ota_status store_token_revoke(struct store *s, int64_t id);
const char *store_scope_name(enum store_scope scope);
__attribute__((warn_unused_result))
enum ota_status store_scope_parse(const char *s, enum store_scope *out);

#endif
