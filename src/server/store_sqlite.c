/*
 * The SQLite backend of store.c: the only file that includes <sqlite3.h>.
 *
 * One database file in WAL mode, synchronous=FULL (a publish that said
 * "done" survives a power cut), foreign keys on, a busy timeout so that
 * `ota publish` and a running `ota serve` wait for each other instead of
 * failing. The schema version is PRAGMA user_version; migrate() brings an
 * older file forward inside one transaction.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "common/str.h"
#include "server/store_backend.h"
#include "common/banned.h"

#define SQLITE_SCHEMA_VERSION 2

struct sdb {
	sqlite3 *db;
	sqlite3_stmt *data_version;	/* asked per request: kept prepared */
};

static const char *const schema_v1 =
	"CREATE TABLE repos ("
	" id INTEGER PRIMARY KEY,"
	" owner TEXT NOT NULL COLLATE NOCASE,"
	" name TEXT NOT NULL COLLATE NOCASE,"
	" private INTEGER NOT NULL DEFAULT 0,"
	" metadata_version INTEGER NOT NULL DEFAULT 0,"
	" created INTEGER NOT NULL,"
	" UNIQUE (owner, name));"
	"CREATE TABLE releases ("
	" id INTEGER PRIMARY KEY,"
	" repo_id INTEGER NOT NULL REFERENCES repos(id),"
	" tag TEXT NOT NULL,"
	" version TEXT NOT NULL,"
	" channel TEXT NOT NULL,"
	" notes TEXT NOT NULL DEFAULT '',"
	" draft INTEGER NOT NULL DEFAULT 0,"
	" prerelease INTEGER NOT NULL DEFAULT 0,"
	" yanked INTEGER NOT NULL DEFAULT 0,"
	" created INTEGER NOT NULL,"
	" published INTEGER NOT NULL DEFAULT 0,"
	" metadata_version INTEGER NOT NULL DEFAULT 0,"
	" manifest TEXT NOT NULL DEFAULT '',"
	" UNIQUE (repo_id, tag),"
	" UNIQUE (repo_id, version));"
	"CREATE TABLE assets ("
	" release_id INTEGER NOT NULL REFERENCES releases(id)"
	"  ON DELETE CASCADE,"
	" path TEXT NOT NULL,"
	" size INTEGER NOT NULL,"
	" sha256 TEXT NOT NULL,"
	" md5 TEXT NOT NULL,"
	" git_sha1 TEXT NOT NULL,"
	" PRIMARY KEY (release_id, path)) WITHOUT ROWID;"
	"CREATE INDEX assets_by_blob ON assets (sha256);"
	"CREATE TABLE tokens ("
	" id INTEGER PRIMARY KEY,"
	" hash TEXT NOT NULL UNIQUE,"
	" name TEXT NOT NULL,"
	" scope INTEGER NOT NULL,"
	" repo_id INTEGER NOT NULL DEFAULT 0,"
	" created INTEGER NOT NULL);"
	"CREATE TABLE devices ("
	" mac TEXT PRIMARY KEY,"
	" channel TEXT NOT NULL DEFAULT '',"
	" pin TEXT NOT NULL DEFAULT '',"
	" updated INTEGER NOT NULL) WITHOUT ROWID;";

/* Version 2: what devices report (POST /api/v1/devices/{id}/events). */
static const char *const schema_v2 =
	"CREATE TABLE events ("
	" id INTEGER PRIMARY KEY,"
	" device TEXT NOT NULL,"
	" at INTEGER NOT NULL,"
	" kind TEXT NOT NULL,"
	" repo TEXT NOT NULL DEFAULT '',"
	" module TEXT NOT NULL DEFAULT '',"
	" from_version TEXT NOT NULL DEFAULT '',"
	" to_version TEXT NOT NULL DEFAULT '',"
	" reason TEXT NOT NULL DEFAULT '',"
	" peer TEXT NOT NULL DEFAULT '');"
	"CREATE INDEX events_by_device ON events (device, id);";

/* schema[v - 1] brings a database from version v - 1 to v. */
static const char *const *const schema[] = { &schema_v1, &schema_v2 };

static enum ota_status
status_of(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_OK:
	case SQLITE_DONE:
	case SQLITE_ROW:	return OTA_OK;
	case SQLITE_CONSTRAINT:	return OTA_E_EXISTS;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:	return OTA_E_BUSY;
	case SQLITE_NOMEM:	return OTA_E_NOMEM;
	case SQLITE_TOOBIG:	return OTA_E_TOO_LARGE;
	case SQLITE_PERM:
	case SQLITE_READONLY:
	case SQLITE_AUTH:	return OTA_E_FORBIDDEN;
	case SQLITE_CANTOPEN:
	case SQLITE_NOTFOUND:	return OTA_E_NOTFOUND;
	}
	return OTA_E_IO;
}

static enum ota_status
exec(struct sdb *d, const char *sql)
{
	return status_of(sqlite3_exec(d->db, sql, NULL, NULL, NULL));
}

/* Prepares sql; NULL on failure (the reason is in sqlite3_errmsg). */
static sqlite3_stmt *
prep(struct sdb *d, const char *sql)
{
	sqlite3_stmt *st = NULL;

	if (sqlite3_prepare_v2(d->db, sql, -1, &st, NULL) != SQLITE_OK)
		return NULL;
	return st;
}

static int
bind_text(sqlite3_stmt *st, int i, const char *s)
{
	return sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC);
}

/* Steps a statement that returns no rows, then finalizes it. */
static enum ota_status
run(struct sdb *d, sqlite3_stmt *st)
{
	int rc;

	if (st == NULL)
		return status_of(sqlite3_errcode(d->db));
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? OTA_OK : status_of(rc);
}

static void
col_text(sqlite3_stmt *st, int i, char *out, size_t outsz)
{
	const unsigned char *v = sqlite3_column_text(st, i);

	if (str_copy(out, outsz, v ? (const char *)v : "") != OTA_OK)
		out[0] = '\0';
}

static char *
col_dup(sqlite3_stmt *st, int i)
{
	const unsigned char *v = sqlite3_column_text(st, i);

	return strdup(v ? (const char *)v : "");
}

static int
user_version(struct sdb *d)
{
	sqlite3_stmt *st = prep(d, "PRAGMA user_version");
	int version = -1;

	if (st != NULL && sqlite3_step(st) == SQLITE_ROW)
		version = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return version;
}

/*
 * Brings the schema to SQLITE_SCHEMA_VERSION in one transaction. The
 * version is read again under the write lock: another process may have
 * migrated the file while this one waited for it.
 */
static enum ota_status
migrate(struct sdb *d, char *err, size_t errsz)
{
	char sql[32];
	enum ota_status rc;
	int version = user_version(d);

	if (version == SQLITE_SCHEMA_VERSION)
		return OTA_OK;
	if (version >= 0 && (rc = exec(d, "BEGIN IMMEDIATE")) != OTA_OK) {
		(void)!str_fmt(err, errsz, "cannot lock the database: %s",
		    sqlite3_errmsg(d->db));
		return rc;
	}
	if (version >= 0)
		version = user_version(d);
	if (version < 0) {
		(void)!str_fmt(err, errsz, "cannot read schema version: %s",
		    sqlite3_errmsg(d->db));
		(void)!exec(d, "ROLLBACK");
		return OTA_E_IO;
	}
	if (version > SQLITE_SCHEMA_VERSION) {
		(void)!str_fmt(err, errsz, "database schema version %d is "
		    "newer than this ota understands (%d): upgrade ota",
		    version, SQLITE_SCHEMA_VERSION);
		(void)!exec(d, "ROLLBACK");
		return OTA_E_UNSUPPORTED;
	}
	for (rc = OTA_OK; rc == OTA_OK && version < SQLITE_SCHEMA_VERSION;
	    version++)
		rc = exec(d, *schema[version]);
	(void)!str_fmt(sql, sizeof(sql), "PRAGMA user_version = %d",
	    SQLITE_SCHEMA_VERSION);
	if (rc != OTA_OK || (rc = exec(d, sql)) != OTA_OK ||
	    (rc = exec(d, "COMMIT")) != OTA_OK) {
		(void)!str_fmt(err, errsz, "cannot bring the schema to version "
		    "%d: %s", SQLITE_SCHEMA_VERSION, sqlite3_errmsg(d->db));
		(void)!exec(d, "ROLLBACK");
		return rc;
	}
	return OTA_OK;
}

static enum ota_status
s_open(void **dbp, const char *path, bool create, char *err, size_t errsz)
{
	struct sdb *d;
	enum ota_status rc;
	int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX;

	*dbp = NULL;
	if ((d = calloc(1, sizeof(*d))) == NULL)
		return OTA_E_NOMEM;
	if (create)
		flags |= SQLITE_OPEN_CREATE;
	if (sqlite3_open_v2(path, &d->db, flags, NULL) != SQLITE_OK) {
		rc = d->db ? status_of(sqlite3_errcode(d->db)) : OTA_E_NOMEM;
		(void)!str_fmt(err, errsz, "cannot open database '%s': %s",
		    path, d->db ? sqlite3_errmsg(d->db) : "out of memory");
		goto fail;
	}
	sqlite3_extended_result_codes(d->db, 1);
	sqlite3_busy_timeout(d->db, STORE_BUSY_TIMEOUT_MS);
	if ((rc = exec(d, "PRAGMA journal_mode = WAL")) != OTA_OK ||
	    (rc = exec(d, "PRAGMA synchronous = FULL")) != OTA_OK ||
	    (rc = exec(d, "PRAGMA foreign_keys = ON")) != OTA_OK) {
		(void)!str_fmt(err, errsz, "cannot set up database '%s': %s",
		    path, sqlite3_errmsg(d->db));
		goto fail;
	}
	if ((rc = migrate(d, err, errsz)) != OTA_OK)
		goto fail;
	*dbp = d;
	return OTA_OK;
fail:
	sqlite3_close(d->db);
	free(d);
	return rc;
}

static void
s_close(void *db)
{
	struct sdb *d = db;

	if (d == NULL)
		return;
	sqlite3_finalize(d->data_version);
	sqlite3_close(d->db);
	free(d);
}

static const char *
s_errmsg(void *db)
{
	struct sdb *d = db;

	return d && d->db ? sqlite3_errmsg(d->db) : "no database";
}

static enum ota_status
s_tx(void *db, enum store_tx op)
{
	struct sdb *d = db;

	switch (op) {
	case STORE_TX_BEGIN:
		return exec(d, "BEGIN IMMEDIATE");
	case STORE_TX_COMMIT:
		return exec(d, "COMMIT");
	case STORE_TX_ROLLBACK:
		return exec(d, "ROLLBACK");
	}
	return OTA_E_INVALID;
}

static enum ota_status
s_generation(void *db, uint64_t *gen)
{
	struct sdb *d = db;
	int rc;

	if (d->data_version == NULL && sqlite3_prepare_v3(d->db,
	    "PRAGMA data_version", -1, SQLITE_PREPARE_PERSISTENT,
	    &d->data_version, NULL) != SQLITE_OK)
		return status_of(sqlite3_errcode(d->db));
	rc = sqlite3_step(d->data_version);
	if (rc == SQLITE_ROW)
		/* data_version misses this connection's own writes. */
		*gen = (uint64_t)sqlite3_column_int64(d->data_version, 0) +
		    (uint64_t)sqlite3_total_changes64(d->db);
	sqlite3_reset(d->data_version);
	return rc == SQLITE_ROW ? OTA_OK : status_of(rc);
}

/*
 * Steps st, appending one element of size elsz per row to a growing
 * array filled by row(); at most max rows (OTA_E_TOO_LARGE past it).
 */
static enum ota_status
collect(struct sdb *d, sqlite3_stmt *st, size_t elsz, size_t max,
    enum ota_status (*row)(sqlite3_stmt *, void *), void **out, size_t *n)
{
	unsigned char *arr = NULL, *grown;
	size_t len = 0, cap = 0;
	enum ota_status rc = OTA_OK;
	int step;

	*out = NULL;
	*n = 0;
	if (st == NULL)
		return status_of(sqlite3_errcode(d->db));
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		if (len == max) {
			rc = OTA_E_TOO_LARGE;
			break;
		}
		if (len == cap) {
			cap = cap ? cap * 2 : 16;
			if ((grown = realloc(arr, cap * elsz)) == NULL) {
				rc = OTA_E_NOMEM;
				break;
			}
			arr = grown;
		}
		memset(arr + len * elsz, 0, elsz);
		if ((rc = row(st, arr + len * elsz)) != OTA_OK)
			break;
		len++;
	}
	if (rc == OTA_OK && step != SQLITE_DONE)
		rc = status_of(step);
	sqlite3_finalize(st);
	/* On failure the caller's free function gets the complete rows. */
	*out = arr;
	*n = len;
	return rc;
}

/*
 * Steps st (finalized here) for at most one row, filled into out by row();
 * OTA_E_NOTFOUND when there is none.
 */
static enum ota_status
get_one(struct sdb *d, sqlite3_stmt *st,
    enum ota_status (*row)(sqlite3_stmt *, void *), void *out)
{
	enum ota_status rc;
	int step;

	if (st == NULL)
		return status_of(sqlite3_errcode(d->db));
	step = sqlite3_step(st);
	if (step == SQLITE_ROW)
		rc = row(st, out);
	else
		rc = step == SQLITE_DONE ? OTA_E_NOTFOUND : status_of(step);
	sqlite3_finalize(st);
	return rc;
}

/* ---- repositories ---- */

#define REPO_COLS "id, owner, name, private, metadata_version, created"

static enum ota_status
repo_row(sqlite3_stmt *st, void *p)
{
	struct store_repo *r = p;

	r->id = sqlite3_column_int64(st, 0);
	col_text(st, 1, r->owner, sizeof(r->owner));
	col_text(st, 2, r->name, sizeof(r->name));
	r->is_private = sqlite3_column_int(st, 3) != 0;
	r->metadata_version = (uint64_t)sqlite3_column_int64(st, 4);
	r->created = sqlite3_column_int64(st, 5);
	return OTA_OK;
}

static enum ota_status
s_repo_get(void *db, int64_t id, const char *owner, const char *name,
    struct store_repo *out)
{
	struct sdb *d = db;
	sqlite3_stmt *st;

	if (id > 0) {
		st = prep(d, "SELECT " REPO_COLS " FROM repos WHERE id = ?");
		if (st != NULL)
			sqlite3_bind_int64(st, 1, id);
	} else {
		st = prep(d, "SELECT " REPO_COLS " FROM repos"
		    " WHERE owner = ? AND name = ?");
		if (st != NULL) {
			bind_text(st, 1, owner);
			bind_text(st, 2, name);
		}
	}
	return get_one(d, st, repo_row, out);
}

static enum ota_status
s_repo_insert(void *db, struct store_repo *r)
{
	struct sdb *d = db;
	sqlite3_stmt *st = prep(d, "INSERT INTO repos (owner, name, private,"
	    " metadata_version, created) VALUES (?, ?, ?, ?, ?)");
	enum ota_status rc;

	if (st != NULL) {
		bind_text(st, 1, r->owner);
		bind_text(st, 2, r->name);
		sqlite3_bind_int(st, 3, r->is_private);
		sqlite3_bind_int64(st, 4, (sqlite3_int64)r->metadata_version);
		sqlite3_bind_int64(st, 5, r->created);
	}
	if ((rc = run(d, st)) == OTA_OK)
		r->id = sqlite3_last_insert_rowid(d->db);
	return rc;
}

static enum ota_status
s_repo_update(void *db, const struct store_repo *r)
{
	struct sdb *d = db;
	sqlite3_stmt *st = prep(d, "UPDATE repos SET private = ?,"
	    " metadata_version = ? WHERE id = ?");

	if (st != NULL) {
		sqlite3_bind_int(st, 1, r->is_private);
		sqlite3_bind_int64(st, 2, (sqlite3_int64)r->metadata_version);
		sqlite3_bind_int64(st, 3, r->id);
	}
	if (run(d, st) != OTA_OK)
		return status_of(sqlite3_errcode(d->db));
	return sqlite3_changes(d->db) == 1 ? OTA_OK : OTA_E_NOTFOUND;
}

static enum ota_status
s_repo_list(void *db, struct store_repo **out, size_t *n)
{
	struct sdb *d = db;
	enum ota_status rc;
	void *arr;

	rc = collect(d, prep(d, "SELECT " REPO_COLS " FROM repos"
	    " ORDER BY owner, name"), sizeof(**out), SIZE_MAX, repo_row,
	    &arr, n);
	*out = arr;
	return rc;
}

/* ---- releases ---- */

#define RELEASE_COLS "id, repo_id, tag, version, channel, notes, draft," \
	" prerelease, yanked, created, published, metadata_version, manifest"

static enum ota_status
release_row(sqlite3_stmt *st, void *p)
{
	struct store_release *r = p;

	r->id = sqlite3_column_int64(st, 0);
	r->repo_id = sqlite3_column_int64(st, 1);
	col_text(st, 2, r->tag, sizeof(r->tag));
	col_text(st, 3, r->version, sizeof(r->version));
	col_text(st, 4, r->channel, sizeof(r->channel));
	r->draft = sqlite3_column_int(st, 6) != 0;
	r->prerelease = sqlite3_column_int(st, 7) != 0;
	r->yanked = sqlite3_column_int(st, 8) != 0;
	r->created = sqlite3_column_int64(st, 9);
	r->published = sqlite3_column_int64(st, 10);
	r->metadata_version = (uint64_t)sqlite3_column_int64(st, 11);
	col_text(st, 12, r->manifest, sizeof(r->manifest));
	if ((r->notes = col_dup(st, 5)) == NULL)
		return OTA_E_NOMEM;
	return OTA_OK;
}

static void
bind_release(sqlite3_stmt *st, const struct store_release *r)
{
	bind_text(st, 1, r->channel);
	bind_text(st, 2, r->notes ? r->notes : "");
	sqlite3_bind_int(st, 3, r->draft);
	sqlite3_bind_int(st, 4, r->prerelease);
	sqlite3_bind_int(st, 5, r->yanked);
	sqlite3_bind_int64(st, 6, r->published);
	sqlite3_bind_int64(st, 7, (sqlite3_int64)r->metadata_version);
	bind_text(st, 8, r->manifest);
}

static enum ota_status
s_release_insert(void *db, struct store_release *r)
{
	struct sdb *d = db;
	sqlite3_stmt *st = prep(d, "INSERT INTO releases (channel, notes,"
	    " draft, prerelease, yanked, published, metadata_version,"
	    " manifest, repo_id, tag, version, created)"
	    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
	enum ota_status rc;

	if (st != NULL) {
		bind_release(st, r);
		sqlite3_bind_int64(st, 9, r->repo_id);
		bind_text(st, 10, r->tag);
		bind_text(st, 11, r->version);
		sqlite3_bind_int64(st, 12, r->created);
	}
	if ((rc = run(d, st)) == OTA_OK)
		r->id = sqlite3_last_insert_rowid(d->db);
	return rc;
}

static enum ota_status
s_release_update(void *db, const struct store_release *r)
{
	struct sdb *d = db;
	sqlite3_stmt *st = prep(d, "UPDATE releases SET channel = ?,"
	    " notes = ?, draft = ?, prerelease = ?, yanked = ?,"
	    " published = ?, metadata_version = ?, manifest = ?"
	    " WHERE id = ?");
	enum ota_status rc;

	if (st != NULL) {
		bind_release(st, r);
		sqlite3_bind_int64(st, 9, r->id);
	}
	if ((rc = run(d, st)) != OTA_OK)
		return rc;
	return sqlite3_changes(d->db) == 1 ? OTA_OK : OTA_E_NOTFOUND;
}

static enum ota_status
s_release_delete(void *db, int64_t id)
{
	struct sdb *d = db;
	sqlite3_stmt *st = prep(d, "DELETE FROM releases WHERE id = ?");
	enum ota_status rc;

	if (st != NULL)
		sqlite3_bind_int64(st, 1, id);
	if ((rc = run(d, st)) != OTA_OK)
		return rc;
	return sqlite3_changes(d->db) == 1 ? OTA_OK : OTA_E_NOTFOUND;
}

static enum ota_status
s_release_get(void *db, int64_t repo_id, const char *tag,
    struct store_release *out)
{
	struct sdb *d = db;
	sqlite3_stmt *st = prep(d, "SELECT " RELEASE_COLS " FROM releases"
	    " WHERE repo_id = ? AND tag = ?");

	if (st != NULL) {
		sqlite3_bind_int64(st, 1, repo_id);
		bind_text(st, 2, tag);
	}
	return get_one(d, st, release_row, out);
}

static enum ota_status
s_release_list(void *db, int64_t repo_id, struct store_release **out,
    size_t *n)
{
	struct sdb *d = db;
	sqlite3_stmt *st = prep(d, "SELECT " RELEASE_COLS " FROM releases"
	    " WHERE repo_id = ?");
	enum ota_status rc;
	void *arr;

	if (st != NULL)
		sqlite3_bind_int64(st, 1, repo_id);
	rc = collect(d, st, sizeof(**out), STORE_MAX_RELEASES, release_row,
	    &arr, n);
	*out = arr;
	return rc;
}

/* ---- assets ---- */

static enum ota_status
asset_row(sqlite3_stmt *st, void *p)
{
	struct store_asset *a = p;

	a->size = (uint64_t)sqlite3_column_int64(st, 1);
	col_text(st, 2, a->sha256, sizeof(a->sha256));
	col_text(st, 3, a->md5, sizeof(a->md5));
	col_text(st, 4, a->git_sha1, sizeof(a->git_sha1));
	if ((a->path = col_dup(st, 0)) == NULL)
		return OTA_E_NOMEM;
	return OTA_OK;
}

static enum ota_status
s_asset_insert(void *db, int64_t release_id, const struct store_asset *a)
{
	struct sdb *d = db;
	sqlite3_stmt *st = prep(d, "INSERT INTO assets (release_id, path,"
	    " size, sha256, md5, git_sha1) VALUES (?, ?, ?, ?, ?, ?)");

	if (st != NULL) {
		sqlite3_bind_int64(st, 1, release_id);
		bind_text(st, 2, a->path);
		sqlite3_bind_int64(st, 3, (sqlite3_int64)a->size);
		bind_text(st, 4, a->sha256);
		bind_text(st, 5, a->md5);
		bind_text(st, 6, a->git_sha1);
	}
	return run(d, st);
}

#define ASSET_COLS "path, size, sha256, md5, git_sha1"

static enum ota_status
s_asset_list(void *db, int64_t release_id, const char *prefix,
    struct store_asset **out, size_t *n)
{
	struct sdb *d = db;
	sqlite3_stmt *st;
	enum ota_status rc;
	void *arr;

	if (prefix[0] == '\0')
		st = prep(d, "SELECT " ASSET_COLS " FROM assets"
		    " WHERE release_id = ? ORDER BY path");
	else
		/* "p/" <= path < "p0": '0' follows '/' (uses the key). */
		st = prep(d, "SELECT " ASSET_COLS " FROM assets"
		    " WHERE release_id = ?1 AND path >= ?2 || '/'"
		    " AND path < ?2 || '0' ORDER BY path");
	if (st != NULL) {
		sqlite3_bind_int64(st, 1, release_id);
		if (prefix[0] != '\0')
			bind_text(st, 2, prefix);
	}
	rc = collect(d, st, sizeof(**out), STORE_MAX_ASSETS, asset_row,
	    &arr, n);
	*out = arr;
	return rc;
}

static enum ota_status
s_asset_get(void *db, int64_t release_id, const char *path,
    struct store_asset *out)
{
	struct sdb *d = db;
	sqlite3_stmt *st = prep(d, "SELECT " ASSET_COLS " FROM assets"
	    " WHERE release_id = ? AND path = ?");

	if (st != NULL) {
		sqlite3_bind_int64(st, 1, release_id);
		bind_text(st, 2, path);
	}
	return get_one(d, st, asset_row, out);
}

/* ---- devices ---- */

#define DEVICE_COLS "mac, channel, pin, updated"

static enum ota_status
device_row(sqlite3_stmt *st, void *p)
{
	struct store_device *d = p;

	col_text(st, 0, d->mac, sizeof(d->mac));
	col_text(st, 1, d->channel, sizeof(d->channel));
	col_text(st, 2, d->pin, sizeof(d->pin));
	d->updated = sqlite3_column_int64(st, 3);
	return OTA_OK;
}

static enum ota_status
s_device_get(void *db, const char *mac, struct store_device *out)
{
	struct sdb *d = db;
	sqlite3_stmt *st = prep(d, "SELECT " DEVICE_COLS " FROM devices"
	    " WHERE mac = ?");

	if (st != NULL)
		bind_text(st, 1, mac);
	return get_one(d, st, device_row, out);
}

static enum ota_status
s_device_put(void *db, const struct store_device *dev)
{
	struct sdb *d = db;
	sqlite3_stmt *st;

	if (dev->channel[0] == '\0' && dev->pin[0] == '\0') {
		if ((st = prep(d, "DELETE FROM devices WHERE mac = ?")) != NULL)
			bind_text(st, 1, dev->mac);
		return run(d, st);
	}
	st = prep(d, "INSERT OR REPLACE INTO devices (" DEVICE_COLS ")"
	    " VALUES (?, ?, ?, ?)");
	if (st != NULL) {
		bind_text(st, 1, dev->mac);
		bind_text(st, 2, dev->channel);
		bind_text(st, 3, dev->pin);
		sqlite3_bind_int64(st, 4, dev->updated);
	}
	return run(d, st);
}

static enum ota_status
s_device_list(void *db, struct store_device **out, size_t *n)
{
	struct sdb *d = db;
	enum ota_status rc;
	void *arr;

	rc = collect(d, prep(d, "SELECT " DEVICE_COLS " FROM devices"
	    " ORDER BY mac"), sizeof(**out), SIZE_MAX, device_row, &arr, n);
	*out = arr;
	return rc;
}

/* ---- device events ---- */

#define EVENT_COLS "id, device, at, kind, repo, module, from_version," \
	" to_version, reason, peer"

static enum ota_status
event_row(sqlite3_stmt *st, void *p)
{
	struct store_event *e = p;

	e->id = sqlite3_column_int64(st, 0);
	col_text(st, 1, e->device, sizeof(e->device));
	e->at = sqlite3_column_int64(st, 2);
	col_text(st, 3, e->kind, sizeof(e->kind));
	col_text(st, 4, e->repo, sizeof(e->repo));
	col_text(st, 5, e->module, sizeof(e->module));
	col_text(st, 6, e->from_version, sizeof(e->from_version));
	col_text(st, 7, e->to_version, sizeof(e->to_version));
	col_text(st, 8, e->reason, sizeof(e->reason));
	col_text(st, 9, e->peer, sizeof(e->peer));
	return OTA_OK;
}

static enum ota_status
s_event_insert(void *db, struct store_event *e, size_t keep)
{
	struct sdb *d = db;
	sqlite3_stmt *st = prep(d, "INSERT INTO events (device, at, kind,"
	    " repo, module, from_version, to_version, reason, peer)"
	    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)");
	enum ota_status rc;

	if (st != NULL) {
		bind_text(st, 1, e->device);
		sqlite3_bind_int64(st, 2, e->at);
		bind_text(st, 3, e->kind);
		bind_text(st, 4, e->repo);
		bind_text(st, 5, e->module);
		bind_text(st, 6, e->from_version);
		bind_text(st, 7, e->to_version);
		bind_text(st, 8, e->reason);
		bind_text(st, 9, e->peer);
	}
	if ((rc = run(d, st)) != OTA_OK)
		return rc;
	e->id = sqlite3_last_insert_rowid(d->db);
	st = prep(d, "DELETE FROM events WHERE device = ?1 AND id <="
	    " (SELECT id FROM events WHERE device = ?1"
	    " ORDER BY id DESC LIMIT 1 OFFSET ?2)");
	if (st != NULL) {
		bind_text(st, 1, e->device);
		sqlite3_bind_int64(st, 2, (sqlite3_int64)keep);
	}
	return run(d, st);
}

static enum ota_status
s_event_list(void *db, const char *device, size_t limit,
    struct store_event **out, size_t *n)
{
	struct sdb *d = db;
	sqlite3_stmt *st;
	enum ota_status rc;
	void *arr;

	if (device != NULL) {
		st = prep(d, "SELECT " EVENT_COLS " FROM events"
		    " WHERE device = ? ORDER BY id DESC LIMIT ?");
		if (st != NULL) {
			bind_text(st, 1, device);
			sqlite3_bind_int64(st, 2, (sqlite3_int64)limit);
		}
	} else {
		st = prep(d, "SELECT " EVENT_COLS " FROM events"
		    " ORDER BY id DESC LIMIT ?");
		if (st != NULL)
			sqlite3_bind_int64(st, 1, (sqlite3_int64)limit);
	}
	rc = collect(d, st, sizeof(**out), limit, event_row, &arr, n);
	*out = arr;
	return rc;
}

/* ---- tokens ---- */

#define TOKEN_COLS "id, name, scope, repo_id, created"

static enum ota_status
token_row(sqlite3_stmt *st, void *p)
{
	struct store_token *t = p;

	t->id = sqlite3_column_int64(st, 0);
	col_text(st, 1, t->name, sizeof(t->name));
	t->scope = (enum store_scope)sqlite3_column_int(st, 2);
	t->repo_id = sqlite3_column_int64(st, 3);
	t->created = sqlite3_column_int64(st, 4);
	return OTA_OK;
}

static enum ota_status
s_token_insert(void *db, const char *hash, struct store_token *t)
{
	struct sdb *d = db;
	sqlite3_stmt *st = prep(d, "INSERT INTO tokens (hash, name, scope,"
	    " repo_id, created) VALUES (?, ?, ?, ?, ?)");
	enum ota_status rc;

	if (st != NULL) {
		bind_text(st, 1, hash);
		bind_text(st, 2, t->name);
		sqlite3_bind_int(st, 3, (int)t->scope);
		sqlite3_bind_int64(st, 4, t->repo_id);
		sqlite3_bind_int64(st, 5, t->created);
	}
	if ((rc = run(d, st)) == OTA_OK)
		t->id = sqlite3_last_insert_rowid(d->db);
	return rc;
}

static enum ota_status
s_token_get(void *db, const char *hash, struct store_token *out)
{
	struct sdb *d = db;
	sqlite3_stmt *st = prep(d, "SELECT " TOKEN_COLS " FROM tokens"
	    " WHERE hash = ?");

	if (st != NULL)
		bind_text(st, 1, hash);
	return get_one(d, st, token_row, out);
}

static enum ota_status
s_token_list(void *db, struct store_token **out, size_t *n)
{
	struct sdb *d = db;
	enum ota_status rc;
	void *arr;

	rc = collect(d, prep(d, "SELECT " TOKEN_COLS " FROM tokens"
	    " ORDER BY id"), sizeof(**out), SIZE_MAX, token_row, &arr, n);
	*out = arr;
	return rc;
}

static enum ota_status
s_token_delete(void *db, int64_t id)
{
	struct sdb *d = db;
	sqlite3_stmt *st = prep(d, "DELETE FROM tokens WHERE id = ?");
	enum ota_status rc;

	if (st != NULL)
		sqlite3_bind_int64(st, 1, id);
	if ((rc = run(d, st)) != OTA_OK)
		return rc;
	return sqlite3_changes(d->db) == 1 ? OTA_OK : OTA_E_NOTFOUND;
}

const struct store_backend store_sqlite_backend = {
	.name = "sqlite",
	.open = s_open,
	.close = s_close,
	.errmsg = s_errmsg,
	.tx = s_tx,
	.generation = s_generation,
	.repo_get = s_repo_get,
	.repo_insert = s_repo_insert,
	.repo_update = s_repo_update,
	.repo_list = s_repo_list,
	.release_insert = s_release_insert,
	.release_update = s_release_update,
	.release_delete = s_release_delete,
	.release_get = s_release_get,
	.release_list = s_release_list,
	.asset_insert = s_asset_insert,
	.asset_list = s_asset_list,
	.asset_get = s_asset_get,
	.device_get = s_device_get,
	.device_put = s_device_put,
	.device_list = s_device_list,
	.event_insert = s_event_insert,
	.event_list = s_event_list,
	.token_insert = s_token_insert,
	.token_get = s_token_get,
	.token_list = s_token_list,
	.token_delete = s_token_delete,
};
