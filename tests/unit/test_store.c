/*
 * store: opening (create, refuse, reopen, a newer schema), names,
 * repositories (case-insensitive, private, metadata versions, order),
 * releases and their assets (prefix listing, uniqueness), SemVer order and
 * the visibility filters behind "latest", tokens (format, check, the
 * secret never stored, revoke) and the generation counter, all on a real
 * SQLite database in a per-test temp dir.
 */
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "common/hash.h"
#include "server/store.h"
#include "testlib.h"

#define HEX_A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define HEX_B "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"

static struct store *
open_at(const char *dir, bool create)
{
	struct store *s = NULL;
	char err[512];
	enum ota_status rc = store_open(&s, dir, create, err, sizeof(err));

	if (rc != OTA_OK)
		fail_msg("store_open(%s): %s: %s", dir, ota_status_str(rc),
		    err);
	assert_non_null(s);
	return s;
}

static struct store *
open_tmp(void)
{
	return open_at(tl_dir, false);
}

static struct store_repo
repo(struct store *s, const char *owner, const char *name)
{
	struct store_repo r;

	assert_int_equal(store_repo_ensure(s, owner, name, &r), OTA_OK);
	assert_true(r.id > 0);
	return r;
}

/* A release row with fields a test does not care about filled in. */
static struct store_release
rel(int64_t repo_id, const char *tag, const char *version)
{
	struct store_release r;

	store_release_init(&r);
	r.repo_id = repo_id;
	snprintf(r.tag, sizeof(r.tag), "%s", tag);
	snprintf(r.version, sizeof(r.version), "%s", version);
	snprintf(r.channel, sizeof(r.channel), "%s", STORE_DEFAULT_CHANNEL);
	r.notes = (char *)"notes";
	r.created = 1700000000;
	r.published = 1700000001;
	r.metadata_version = 7;
	snprintf(r.manifest, sizeof(r.manifest), "%s", HEX_B);
	return r;
}

static struct store_asset
asset(const char *path, uint64_t size)
{
	struct store_asset a;

	memset(&a, 0, sizeof(a));
	a.path = (char *)path;
	a.size = size;
	snprintf(a.sha256, sizeof(a.sha256), "%s", HEX_A);
	snprintf(a.md5, sizeof(a.md5), "%032llx", (unsigned long long)size);
	snprintf(a.git_sha1, sizeof(a.git_sha1), "%040llx",
	    (unsigned long long)size);
	return a;
}

/* Inserts a release with one asset "fw.bin"; returns its id. */
static int64_t
put(struct store *s, struct store_release *r)
{
	struct store_asset a = asset("fw.bin", 1);

	assert_int_equal(store_release_insert(s, r, &a, 1), OTA_OK);
	assert_true(r->id > 0);
	return r->id;
}

/* ---- open ---- */

static void
open_create_refuse_reopen(void **state)
{
	char dir[PATH_MAX], db[PATH_MAX + 16], err[512];
	struct store *s = (struct store *)1;
	struct store_repo r;
	struct stat sb;

	(void)state;
	tl_path(dir, sizeof(dir), "data");
	err[0] = '\0';
	assert_int_equal(store_open(&s, dir, false, err, sizeof(err)),
	    OTA_E_NOTFOUND);
	assert_null(s);
	assert_non_null(strstr(err, dir));
	assert_int_not_equal(stat(dir, &sb), 0);

	s = open_at(dir, true);
	assert_string_equal(store_dir(s), dir);
	assert_non_null(store_blobs(s));
	assert_int_equal(stat(dir, &sb), 0);
	assert_true(S_ISDIR(sb.st_mode));
	snprintf(db, sizeof(db), "%s/" STORE_DB_NAME, dir);
	assert_int_equal(stat(db, &sb), 0);
	assert_true(S_ISREG(sb.st_mode));
	snprintf(db, sizeof(db), "%s/blobs/sha256", dir);
	assert_int_equal(stat(db, &sb), 0);
	(void)repo(s, "me", "app");
	store_free(s);

	/* Reopened without create: the data is still there. */
	s = open_at(dir, false);
	assert_int_equal(store_repo_get(s, "me", "app", &r), OTA_OK);
	assert_string_equal(r.owner, "me");
	store_free(s);
	store_free(NULL);

	/* create makes one level, not the missing parents. */
	tl_path(dir, sizeof(dir), "no/such/data");
	s = (struct store *)1;
	assert_int_equal(store_open(&s, dir, true, err, sizeof(err)),
	    OTA_E_NOTFOUND);
	assert_null(s);

	/* A file where the directory should be. */
	tl_path(dir, sizeof(dir), "file");
	assert_int_equal(tl_write_file(dir, "x", 1), 0);
	assert_int_equal(store_open(&s, dir, true, err, sizeof(err)),
	    OTA_E_INVALID);
	assert_null(s);
	assert_non_null(strstr(err, "not a directory"));
}

static void
set_user_version(const char *dir, int v)
{
	char db[PATH_MAX + 16], sql[64];
	sqlite3 *h = NULL;

	snprintf(db, sizeof(db), "%s/" STORE_DB_NAME, dir);
	snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", v);
	assert_int_equal(sqlite3_open(db, &h), SQLITE_OK);
	assert_int_equal(sqlite3_exec(h, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(h);
}

static void
open_newer_schema(void **state)
{
	struct store *s = open_tmp();
	char err[512], db[PATH_MAX + 16], junk[4096];

	(void)state;
	store_free(s);
	set_user_version(tl_dir, 99);
	s = (struct store *)1;
	err[0] = '\0';
	assert_int_equal(store_open(&s, tl_dir, false, err, sizeof(err)),
	    OTA_E_UNSUPPORTED);
	assert_null(s);
	assert_non_null(strstr(err, "99"));
	assert_non_null(strstr(err, "newer"));

	/* Not a database at all: an error with a reason, not a crash. */
	snprintf(db, sizeof(db), "%s/" STORE_DB_NAME, tl_dir);
	unlink(db);
	tl_path(junk, sizeof(junk), STORE_DB_NAME "-wal");
	unlink(junk);
	tl_path(junk, sizeof(junk), STORE_DB_NAME "-shm");
	unlink(junk);
	memset(junk, 'j', sizeof(junk));
	assert_int_equal(tl_write_file(db, junk, sizeof(junk)), 0);
	err[0] = '\0';
	assert_int_not_equal(store_open(&s, tl_dir, false, err, sizeof(err)),
	    OTA_OK);
	assert_null(s);
	assert_true(err[0] != '\0');
}

/* A version-1 database (no events table) is brought to the current one. */
static void
open_migrates_v1(void **state)
{
	struct store *s = open_tmp();
	struct store_event e, *list;
	char db[PATH_MAX + 16], err[512];
	struct store_repo r;
	sqlite3 *h = NULL;
	size_t n;

	(void)state;
	assert_int_equal(store_repo_ensure(s, "me", "app", &r), OTA_OK);
	store_free(s);
	snprintf(db, sizeof(db), "%s/" STORE_DB_NAME, tl_dir);
	assert_int_equal(sqlite3_open(db, &h), SQLITE_OK);
	assert_int_equal(sqlite3_exec(h, "DROP TABLE events;"
	    "PRAGMA user_version = 1", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(h);
	assert_int_equal(store_open(&s, tl_dir, false, err, sizeof(err)),
	    OTA_OK);
	assert_int_equal(store_repo_get(s, "me", "app", &r), OTA_OK);
	memset(&e, 0, sizeof(e));
	snprintf(e.device, sizeof(e.device), "gw-01");
	snprintf(e.kind, sizeof(e.kind), "success");
	assert_int_equal(store_event_add(s, &e), OTA_OK);
	assert_int_equal(store_event_list(s, NULL, 10, &list, &n), OTA_OK);
	assert_int_equal(n, 1);
	free(list);
	store_free(s);
}

/* Events: newest first, per device or all, the oldest dropped past the cap. */
static void
events(void **state)
{
	struct store *s = open_tmp();
	struct store_event e, *list;
	size_t n, i;

	(void)state;
	memset(&e, 0, sizeof(e));
	snprintf(e.kind, sizeof(e.kind), "check");
	snprintf(e.device, sizeof(e.device), "bad id");
	assert_int_equal(store_event_add(s, &e), OTA_E_INVALID);
	for (i = 0; i < STORE_MAX_EVENTS + 5; i++) {
		snprintf(e.device, sizeof(e.device), "gw-01");
		snprintf(e.reason, sizeof(e.reason), "n%zu", i);
		assert_int_equal(store_event_add(s, &e), OTA_OK);
	}
	snprintf(e.device, sizeof(e.device), "gw-02");
	assert_int_equal(store_event_add(s, &e), OTA_OK);
	assert_int_equal(store_event_list(s, "gw-01", 100000, &list, &n),
	    OTA_OK);
	assert_int_equal(n, STORE_MAX_EVENTS);
	assert_string_equal(list[0].reason, "n1004");
	assert_string_equal(list[n - 1].reason, "n5");
	free(list);
	assert_int_equal(store_event_list(s, NULL, 2, &list, &n), OTA_OK);
	assert_int_equal(n, 2);
	assert_string_equal(list[0].device, "gw-02");
	free(list);
	assert_int_equal(store_event_list(s, "nobody", 10, &list, &n), OTA_OK);
	assert_int_equal(n, 0);
	assert_null(list);
	store_free(s);
}

/* ---- names and repositories ---- */

static void
name_valid_table(void **state)
{
	static const struct {
		const char *name;
		bool ok;
	} t[] = {
		{ "me", true },
		{ "A", true },
		{ "my-app_2.0", true },
		{ ".hidden", true },
		{ "...", true },
		{ "-", true },
		{ "", false },
		{ ".", false },
		{ "..", false },
		{ "a/b", false },
		{ "a b", false },
		{ "a\tb", false },
		{ "a\\b", false },
		{ "caf\xc3\xa9", false },
		{ "\xe2\x80\x8b", false },
		{ "a:b", false },
		{ "a%2fb", false },
		{ "a\nb", false },
	};
	char max[STORE_MAX_NAME + 2];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if (store_name_valid(t[i].name) != t[i].ok)
			fail_msg("store_name_valid(\"%s\") != %d", t[i].name,
			    t[i].ok);
	memset(max, 'x', sizeof(max));
	max[STORE_MAX_NAME] = '\0';
	assert_true(store_name_valid(max));
	max[STORE_MAX_NAME] = 'x';
	max[STORE_MAX_NAME + 1] = '\0';
	assert_false(store_name_valid(max));
}

static void
repos(void **state)
{
	struct store *s = open_tmp();
	struct store_repo a, b, got, *list = NULL;
	uint64_t v, last = 0;
	size_t n = 0, i;
	static const char *const order[][2] = {
		{ "alpha", "a" }, { "Alpha", "b" }, { "beta", "x" },
		{ "me", "app" }, { "zeta", "a" },
	};

	(void)state;
	a = repo(s, "me", "app");
	assert_false(a.is_private);
	assert_int_equal(a.metadata_version, 0);
	assert_true(a.created > 0);
	/* ensure again, in any case: the same row, its case kept. */
	b = repo(s, "ME", "App");
	assert_int_equal(b.id, a.id);
	assert_string_equal(b.owner, "me");
	assert_string_equal(b.name, "app");
	assert_int_equal(store_repo_get(s, "Me", "APP", &got), OTA_OK);
	assert_int_equal(got.id, a.id);
	assert_int_equal(store_repo_get_id(s, a.id, &got), OTA_OK);
	assert_string_equal(got.name, "app");
	assert_int_equal(store_repo_get(s, "me", "other", &got),
	    OTA_E_NOTFOUND);
	assert_int_equal(store_repo_get(s, "me", "../app", &got),
	    OTA_E_NOTFOUND);
	assert_int_equal(store_repo_get_id(s, a.id + 100, &got),
	    OTA_E_NOTFOUND);
	assert_int_equal(store_repo_ensure(s, "me", "a/b", &got),
	    OTA_E_INVALID);
	assert_int_equal(store_repo_ensure(s, "..", "app", &got),
	    OTA_E_INVALID);

	assert_int_equal(store_repo_set_private(s, a.id, true), OTA_OK);
	assert_int_equal(store_repo_get(s, "me", "app", &got), OTA_OK);
	assert_true(got.is_private);
	assert_int_equal(store_repo_set_private(s, a.id, false), OTA_OK);
	assert_int_equal(store_repo_get(s, "me", "app", &got), OTA_OK);
	assert_false(got.is_private);
	assert_int_equal(store_repo_set_private(s, a.id + 100, true),
	    OTA_E_NOTFOUND);

	/* Metadata versions: 1, 2, 3 ..., kept, and per repository. */
	for (i = 0; i < 5; i++) {
		assert_int_equal(store_begin(s), OTA_OK);
		assert_int_equal(store_repo_next_metadata(s, a.id, &v), OTA_OK);
		assert_int_equal(store_commit(s), OTA_OK);
		assert_true(v > last);
		assert_int_equal(v, i + 1);
		last = v;
	}
	/* A rolled-back one is handed out again. */
	assert_int_equal(store_begin(s), OTA_OK);
	assert_int_equal(store_repo_next_metadata(s, a.id, &v), OTA_OK);
	assert_int_equal(v, 6);
	store_rollback(s);
	assert_int_equal(store_repo_get_id(s, a.id, &got), OTA_OK);
	assert_int_equal(got.metadata_version, 5);
	b = repo(s, "zeta", "a");
	assert_int_equal(store_repo_next_metadata(s, b.id, &v), OTA_OK);
	assert_int_equal(v, 1);
	assert_int_equal(store_repo_next_metadata(s, a.id + 100, &v),
	    OTA_E_NOTFOUND);

	(void)repo(s, "beta", "x");
	(void)repo(s, "Alpha", "b");
	(void)repo(s, "alpha", "a");
	assert_int_equal(store_repo_list(s, &list, &n), OTA_OK);
	assert_int_equal(n, 5);
	for (i = 0; i < n; i++) {
		assert_string_equal(list[i].owner, order[i][0]);
		assert_string_equal(list[i].name, order[i][1]);
	}
	free(list);
	store_free(s);
}

/* ---- releases and assets ---- */

static void
assert_paths(struct store *s, int64_t id, const char *prefix,
    const char *const *want, size_t nwant)
{
	struct store_asset *a = NULL;
	size_t n = 99, i;

	assert_int_equal(store_asset_list(s, id, prefix, &a, &n), OTA_OK);
	if (n != nwant)
		fail_msg("prefix '%s': %zu assets, want %zu", prefix, n, nwant);
	for (i = 0; i < n; i++)
		assert_string_equal(a[i].path, want[i]);
	store_assets_free(a, n);
}

static void
release_insert_get_assets(void **state)
{
	static const char *const paths[] = {
		"boot.py", "main-2/a", "main.py", "main/app.py",
		"main/lib/x.py", "main0/z", "mainx/y",
	};
	static const char *const main_[] = { "main/app.py", "main/lib/x.py" };
	static const char *const lib[] = { "main/lib/x.py" };
	struct store *s = open_tmp();
	struct store_asset as[7], got, *list;
	struct store_release r, g;
	struct store_repo me = repo(s, "me", "app"), other;
	size_t i, n;

	(void)state;
	for (i = 0; i < 7; i++)
		as[i] = asset(paths[i], 100 + i);
	r = rel(me.id, "v1.0.0", "1.0.0");
	r.prerelease = true;
	r.draft = true;
	assert_int_equal(store_release_insert(s, &r, as, 7), OTA_OK);
	assert_true(r.id > 0);

	assert_int_equal(store_release_get(s, me.id, "v1.0.0", &g), OTA_OK);
	assert_int_equal(g.id, r.id);
	assert_int_equal(g.repo_id, me.id);
	assert_string_equal(g.tag, "v1.0.0");
	assert_string_equal(g.version, "1.0.0");
	assert_string_equal(g.channel, "stable");
	assert_string_equal(g.notes, "notes");
	assert_true(g.draft);
	assert_true(g.prerelease);
	assert_false(g.yanked);
	assert_int_equal(g.created, 1700000000);
	assert_int_equal(g.published, 1700000001);
	assert_int_equal(g.metadata_version, 7);
	assert_string_equal(g.manifest, HEX_B);
	store_release_release(&g);
	/* Tags are exact: neither the version nor another case finds it. */
	assert_int_equal(store_release_get(s, me.id, "1.0.0", &g),
	    OTA_E_NOTFOUND);
	assert_int_equal(store_release_get(s, me.id, "V1.0.0", &g),
	    OTA_E_NOTFOUND);
	other = repo(s, "me", "other");
	assert_int_equal(store_release_get(s, other.id, "v1.0.0", &g),
	    OTA_E_NOTFOUND);

	/* Prefix listing is by directory, not by string prefix. */
	assert_paths(s, r.id, "", paths, 7);
	assert_paths(s, r.id, "main", main_, 2);
	assert_paths(s, r.id, "main/lib", lib, 1);
	assert_paths(s, r.id, "mai", NULL, 0);
	assert_paths(s, r.id, "main/app.py", NULL, 0);
	assert_paths(s, r.id, "nothing", NULL, 0);
	assert_paths(s, r.id + 1, "", NULL, 0);

	assert_int_equal(store_asset_get(s, r.id, "main/lib/x.py", &got),
	    OTA_OK);
	assert_string_equal(got.path, "main/lib/x.py");
	assert_int_equal(got.size, 104);
	assert_string_equal(got.sha256, HEX_A);
	assert_string_equal(got.md5, "00000000000000000000000000000068");
	assert_string_equal(got.git_sha1,
	    "0000000000000000000000000000000000000068");
	free(got.path);
	assert_int_equal(store_asset_get(s, r.id, "main/lib", &got),
	    OTA_E_NOTFOUND);
	assert_int_equal(store_asset_get(s, r.id, "MAIN.PY", &got),
	    OTA_E_NOTFOUND);

	/* A release without assets is stored; its listing is empty. */
	r = rel(me.id, "2.0.0", "2.0.0");
	assert_int_equal(store_release_insert(s, &r, NULL, 0), OTA_OK);
	list = (struct store_asset *)1;
	n = 5;
	assert_int_equal(store_asset_list(s, r.id, "", &list, &n), OTA_OK);
	assert_null(list);
	assert_int_equal(n, 0);
	store_free(s);
}

static void
release_insert_refused(void **state)
{
	struct store *s = open_tmp();
	struct store_repo me = repo(s, "me", "app");
	struct store_asset as[3];
	struct store_release r, g, *list;
	size_t n;

	(void)state;
	/* Unsorted or duplicate assets: refused before anything is written. */
	as[0] = asset("b", 1);
	as[1] = asset("a", 2);
	r = rel(me.id, "1.0.0", "1.0.0");
	assert_int_equal(store_release_insert(s, &r, as, 2), OTA_E_INVALID);
	as[0] = asset("a", 1);
	as[1] = asset("b", 2);
	as[2] = asset("b", 3);
	r = rel(me.id, "1.0.0", "1.0.0");
	assert_int_equal(store_release_insert(s, &r, as, 3), OTA_E_INVALID);
	assert_int_equal(store_release_get(s, me.id, "1.0.0", &g),
	    OTA_E_NOTFOUND);
	assert_int_equal(store_release_list(s, me.id, STORE_LIST_ALL, NULL,
	    &list, &n), OTA_OK);
	assert_int_equal(n, 0);

	r = rel(me.id, "v1.0.0", "1.0.0");
	(void)put(s, &r);
	/* The same tag, and the same version under another tag. */
	r = rel(me.id, "v1.0.0", "1.0.1");
	assert_int_equal(store_release_insert(s, &r, as, 2), OTA_E_EXISTS);
	r = rel(me.id, "1.0.0", "1.0.0");
	assert_int_equal(store_release_insert(s, &r, as, 2), OTA_E_EXISTS);
	r = rel(me.id, "v1.0.0+build.7", "1.0.0");
	assert_int_equal(store_release_insert(s, &r, as, 2), OTA_E_EXISTS);
	assert_int_equal(store_release_list(s, me.id, STORE_LIST_ALL, NULL,
	    &list, &n), OTA_OK);
	assert_int_equal(n, 1);
	assert_string_equal(list[0].tag, "v1.0.0");
	store_releases_free(list, n);
	/* Another repository may have the same tag. */
	r = rel(repo(s, "me", "other").id, "v1.0.0", "1.0.0");
	(void)put(s, &r);
	store_free(s);
}

/* The versions of a listing, "," joined, for one readable comparison. */
static void
assert_list(struct store *s, int64_t repo_id, enum store_filter f,
    const char *channel, const char *want)
{
	struct store_release *list = NULL;
	char got[512] = "";
	size_t n = 0, i, len = 0;

	assert_int_equal(store_release_list(s, repo_id, f, channel, &list, &n),
	    OTA_OK);
	for (i = 0; i < n; i++)
		len += (size_t)snprintf(got + len, sizeof(got) - len, "%s%s",
		    i ? "," : "", list[i].version);
	store_releases_free(list, n);
	if (strcmp(got, want) != 0)
		fail_msg("filter %d channel %s: got \"%s\", want \"%s\"", f,
		    channel ? channel : "(any)", got, want);
}

static void
assert_latest(struct store *s, int64_t repo_id, const char *channel,
    const char *want)
{
	struct store_release r;
	enum ota_status rc = store_release_latest(s, repo_id, channel, &r);

	if (want == NULL) {
		assert_int_equal(rc, OTA_E_NOTFOUND);
		return;
	}
	assert_int_equal(rc, OTA_OK);
	if (strcmp(r.version, want) != 0)
		fail_msg("latest in %s: %s, want %s",
		    channel ? channel : "(any)", r.version, want);
	assert_non_null(r.notes);
	store_release_release(&r);
}

static void
order_and_filters(void **state)
{
	static const struct {
		const char *tag, *version, *channel;
		bool draft, prerelease, yanked;
	} t[] = {
		/* Inserted out of order; ids do not decide. */
		{ "1.0.9", "1.0.9", "stable", false, false, false },
		{ "v1.0.10", "1.0.10", "stable", false, false, false },
		{ "1.0.2", "1.0.2", "stable", false, false, false },
		{ "2.0.0-rc.1", "2.0.0-rc.1", "stable", false, true, false },
		{ "2.0.0-rc.10", "2.0.0-rc.10", "stable", false, true, false },
		{ "2.0.0-rc.2", "2.0.0-rc.2", "stable", false, true, false },
		{ "1.1.0", "1.1.0", "stable", true, false, false },
		{ "1.0.11", "1.0.11", "stable", false, false, true },
		{ "3.0.0", "3.0.0", "beta", false, false, false },
	};
	struct store *s = open_tmp();
	struct store_repo me = repo(s, "me", "app");
	struct store_repo empty = repo(s, "me", "empty");
	struct store_release r, *list;
	size_t i, n;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		r = rel(me.id, t[i].tag, t[i].version);
		snprintf(r.channel, sizeof(r.channel), "%s", t[i].channel);
		r.draft = t[i].draft;
		r.prerelease = t[i].prerelease;
		r.yanked = t[i].yanked;
		r.created = 1700000000 - (int64_t)i;
		(void)put(s, &r);
	}
	assert_list(s, me.id, STORE_LIST_ALL, NULL, "3.0.0,2.0.0-rc.10,"
	    "2.0.0-rc.2,2.0.0-rc.1,1.1.0,1.0.11,1.0.10,1.0.9,1.0.2");
	assert_list(s, me.id, STORE_LIST_VISIBLE, NULL, "3.0.0,2.0.0-rc.10,"
	    "2.0.0-rc.2,2.0.0-rc.1,1.0.10,1.0.9,1.0.2");
	assert_list(s, me.id, STORE_LIST_ELIGIBLE, NULL,
	    "3.0.0,1.0.10,1.0.9,1.0.2");
	assert_list(s, me.id, STORE_LIST_ELIGIBLE, "stable",
	    "1.0.10,1.0.9,1.0.2");
	assert_list(s, me.id, STORE_LIST_ALL, "beta", "3.0.0");
	assert_list(s, me.id, STORE_LIST_ALL, "nightly", "");
	assert_list(s, empty.id, STORE_LIST_ALL, NULL, "");
	list = (struct store_release *)1;
	assert_int_equal(store_release_list(s, empty.id, STORE_LIST_ALL, NULL,
	    &list, &n), OTA_OK);
	assert_null(list);
	assert_int_equal(n, 0);

	/* NULL is the default channel; a channel also sees stable ones. */
	assert_latest(s, me.id, NULL, "1.0.10");
	assert_latest(s, me.id, "stable", "1.0.10");
	assert_latest(s, me.id, "beta", "3.0.0");
	assert_latest(s, me.id, "nightly", "1.0.10");
	assert_latest(s, empty.id, NULL, NULL);

	/* Yanking (an update) hides a release; restoring shows it again. */
	assert_int_equal(store_release_get(s, me.id, "v1.0.10", &r), OTA_OK);
	r.yanked = true;
	assert_int_equal(store_release_update(s, &r), OTA_OK);
	assert_latest(s, me.id, "stable", "1.0.9");
	assert_list(s, me.id, STORE_LIST_VISIBLE, "stable", "2.0.0-rc.10,"
	    "2.0.0-rc.2,2.0.0-rc.1,1.0.9,1.0.2");
	r.yanked = false;
	assert_int_equal(store_release_update(s, &r), OTA_OK);
	assert_latest(s, me.id, "stable", "1.0.10");
	/* Every field update writes back, and is read back. */
	snprintf(r.channel, sizeof(r.channel), "beta");
	store_release_release(&r);
	r.notes = (char *)"new notes";
	r.metadata_version = 42;
	snprintf(r.manifest, sizeof(r.manifest), "%s", HEX_A);
	assert_int_equal(store_release_update(s, &r), OTA_OK);
	assert_int_equal(store_release_get(s, me.id, "v1.0.10", &r), OTA_OK);
	assert_string_equal(r.channel, "beta");
	assert_string_equal(r.notes, "new notes");
	assert_int_equal(r.metadata_version, 42);
	assert_string_equal(r.manifest, HEX_A);
	store_release_release(&r);
	assert_latest(s, me.id, "stable", "1.0.9");

	/*
	 * "latest" follows the prerelease flag, not the version's form: a
	 * release whose version has a pre-release part but was stored
	 * without the flag is eligible, and at 2.1.0-rc.1 > 1.0.9 it wins.
	 * (publish_release takes the flag from its caller as it is.)
	 */
	r = rel(me.id, "2.1.0-rc.1", "2.1.0-rc.1");
	(void)put(s, &r);
	assert_latest(s, me.id, "stable", "2.1.0-rc.1");

	/* A draft and a pre-release alone: nothing is eligible. */
	r = rel(empty.id, "1.0.0", "1.0.0");
	r.draft = true;
	(void)put(s, &r);
	r = rel(empty.id, "1.1.0-beta", "1.1.0-beta");
	r.prerelease = true;
	(void)put(s, &r);
	assert_latest(s, empty.id, NULL, NULL);
	assert_list(s, empty.id, STORE_LIST_VISIBLE, NULL, "1.1.0-beta");
	r.id = 999999;
	assert_int_equal(store_release_update(s, &r), OTA_E_NOTFOUND);
	store_free(s);
}

static int
count_rows(const char *sql)
{
	char db[PATH_MAX + 16];
	sqlite3 *h = NULL;
	sqlite3_stmt *st = NULL;
	int n = -1;

	snprintf(db, sizeof(db), "%s/" STORE_DB_NAME, tl_dir);
	assert_int_equal(sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL),
	    SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(h, sql, -1, &st, NULL), SQLITE_OK);
	if (sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(h);
	return n;
}

static void
delete_cascades(void **state)
{
	struct store *s = open_tmp();
	struct store_repo me = repo(s, "me", "app");
	struct store_asset as[3] = { asset("a", 1), asset("b/c", 2),
	    asset("d", 3) };
	struct store_release r1 = rel(me.id, "1.0.0", "1.0.0");
	struct store_release r2 = rel(me.id, "2.0.0", "2.0.0"), g;
	struct store_asset *list;
	size_t n;

	(void)state;
	assert_int_equal(store_release_insert(s, &r1, as, 3), OTA_OK);
	assert_int_equal(store_release_insert(s, &r2, as, 2), OTA_OK);
	assert_int_equal(count_rows("SELECT count(*) FROM assets"), 5);
	assert_int_equal(store_release_delete(s, r1.id), OTA_OK);
	assert_int_equal(store_release_get(s, me.id, "1.0.0", &g),
	    OTA_E_NOTFOUND);
	assert_int_equal(store_asset_list(s, r1.id, "", &list, &n), OTA_OK);
	assert_int_equal(n, 0);
	/* Gone from the table, not only from the listing. */
	assert_int_equal(count_rows("SELECT count(*) FROM assets"), 2);
	assert_int_equal(count_rows("SELECT count(*) FROM releases"), 1);
	assert_int_equal(store_release_delete(s, r1.id), OTA_E_NOTFOUND);
	/* The tag and version are free again. */
	r1 = rel(me.id, "1.0.0", "1.0.0");
	assert_int_equal(store_release_insert(s, &r1, as, 1), OTA_OK);
	store_free(s);
}

/* ---- tokens ---- */

/* True if the file at path (maybe missing) holds needle anywhere. */
static bool
file_has(const char *path, const char *needle)
{
	FILE *f = fopen(path, "rb");
	char *p;
	long n;
	bool found;

	if (f == NULL)
		return false;
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	rewind(f);
	assert_non_null(p = malloc((size_t)n + 1));
	assert_int_equal(fread(p, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	found = memmem(p, (size_t)n, needle, strlen(needle)) != NULL;
	free(p);
	return found;
}

static bool
db_has(const char *needle)
{
	char path[PATH_MAX + 32];

	snprintf(path, sizeof(path), "%s/" STORE_DB_NAME, tl_dir);
	if (file_has(path, needle))
		return true;
	snprintf(path, sizeof(path), "%s/" STORE_DB_NAME "-wal", tl_dir);
	return file_has(path, needle);
}

static void
tokens(void **state)
{
	static const char b64url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz0123456789-_";
	struct store *s = open_tmp();
	struct store_repo me = repo(s, "me", "app");
	struct store_token t, t2, got, *list = NULL;
	char secret[128], secret2[128], bad[160], hex[65], small[20];
	size_t n = 0;

	(void)state;
	assert_int_equal(store_token_create(s, "ci", STORE_SCOPE_PUBLISH,
	    me.id, secret, sizeof(secret), &t), OTA_OK);
	assert_int_equal(strlen(secret), 4 + 43);
	assert_memory_equal(secret, "ota_", 4);
	assert_int_equal(strspn(secret + 4, b64url), 43);
	assert_true(t.id > 0);
	assert_string_equal(t.name, "ci");
	assert_int_equal(t.scope, STORE_SCOPE_PUBLISH);
	assert_int_equal(t.repo_id, me.id);
	assert_int_equal(store_token_create(s, "admin", STORE_SCOPE_ADMIN, 0,
	    secret2, sizeof(secret2), &t2), OTA_OK);
	assert_string_not_equal(secret, secret2);
	assert_int_not_equal(t.id, t2.id);

	memset(&got, 0, sizeof(got));
	assert_int_equal(store_token_check(s, secret, &got), OTA_OK);
	assert_int_equal(got.id, t.id);
	assert_string_equal(got.name, "ci");
	assert_int_equal(got.scope, STORE_SCOPE_PUBLISH);
	assert_int_equal(got.repo_id, me.id);
	assert_int_equal(got.created, t.created);
	assert_int_equal(store_token_check(s, secret2, &got), OTA_OK);
	assert_int_equal(got.id, t2.id);
	assert_int_equal(got.scope, STORE_SCOPE_ADMIN);
	assert_int_equal(got.repo_id, 0);

	/* Wrong, truncated, extended, other prefix, empty, huge. */
	snprintf(bad, sizeof(bad), "%s", secret);
	bad[46] = bad[46] == 'A' ? 'B' : 'A';
	assert_int_equal(store_token_check(s, bad, &got), OTA_E_AUTH);
	snprintf(bad, sizeof(bad), "%.46s", secret);
	assert_int_equal(store_token_check(s, bad, &got), OTA_E_AUTH);
	snprintf(bad, sizeof(bad), "%sA", secret);
	assert_int_equal(store_token_check(s, bad, &got), OTA_E_AUTH);
	snprintf(bad, sizeof(bad), "ghp_%s", secret + 4);
	assert_int_equal(store_token_check(s, bad, &got), OTA_E_AUTH);
	assert_int_equal(store_token_check(s, secret + 4, &got), OTA_E_AUTH);
	assert_int_equal(store_token_check(s, "", &got), OTA_E_AUTH);
	assert_int_equal(store_token_check(s, "ota_", &got), OTA_E_AUTH);
	memset(bad, 'A', sizeof(bad) - 1);
	memcpy(bad, "ota_", 4);
	bad[sizeof(bad) - 1] = '\0';
	assert_int_equal(store_token_check(s, bad, &got), OTA_E_AUTH);

	/*
	 * Only the SHA-256 of a secret is kept. The hash being found shows
	 * the scan reads where the rows are.
	 */
	assert_int_equal(hash_hex(HASH_SHA256, secret, strlen(secret), hex),
	    OTA_OK);
	assert_true(db_has(hex));
	assert_false(db_has(secret));
	assert_false(db_has(secret + 4));
	assert_false(db_has(secret2 + 4));

	assert_int_equal(store_token_list(s, &list, &n), OTA_OK);
	assert_int_equal(n, 2);
	assert_int_equal(list[0].id, t.id);
	assert_string_equal(list[1].name, "admin");
	free(list);

	assert_int_equal(store_token_revoke(s, t.id), OTA_OK);
	assert_int_equal(store_token_check(s, secret, &got), OTA_E_AUTH);
	assert_int_equal(store_token_check(s, secret2, &got), OTA_OK);
	assert_int_equal(store_token_revoke(s, t.id), OTA_E_NOTFOUND);
	assert_int_equal(store_token_list(s, &list, &n), OTA_OK);
	assert_int_equal(n, 1);
	free(list);

	/* A bad scope, and a secret buffer too small for the secret. */
	assert_int_equal(store_token_create(s, "x", (enum store_scope)0, 0,
	    secret, sizeof(secret), &t), OTA_E_INVALID);
	assert_int_equal(store_token_create(s, "x", (enum store_scope)4, 0,
	    secret, sizeof(secret), &t), OTA_E_INVALID);
	assert_int_not_equal(store_token_create(s, "x", STORE_SCOPE_READ, 0,
	    small, sizeof(small), &t), OTA_OK);
	assert_int_equal(store_token_list(s, &list, &n), OTA_OK);
	assert_int_equal(n, 1);
	free(list);
	store_free(s);
}

static void
scopes(void **state)
{
	static const struct {
		const char *name;
		enum store_scope scope;
	} t[] = {
		{ "read", STORE_SCOPE_READ },
		{ "publish", STORE_SCOPE_PUBLISH },
		{ "admin", STORE_SCOPE_ADMIN },
	};
	static const char *const bad[] = { "", "Read", "ADMIN", "write",
	    "admin ", "none", "rea" };
	enum store_scope sc;
	size_t i;

	(void)state;
	for (i = 0; i < 3; i++) {
		assert_string_equal(store_scope_name(t[i].scope), t[i].name);
		sc = (enum store_scope)0;
		assert_int_equal(store_scope_parse(t[i].name, &sc), OTA_OK);
		assert_int_equal(sc, t[i].scope);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (store_scope_parse(bad[i], &sc) != OTA_E_INVALID)
			fail_msg("scope '%s' accepted", bad[i]);
	assert_true(STORE_SCOPE_READ < STORE_SCOPE_PUBLISH &&
	    STORE_SCOPE_PUBLISH < STORE_SCOPE_ADMIN);
	assert_string_equal(store_scope_name((enum store_scope)0), "none");
	assert_string_equal(store_scope_name((enum store_scope)9), "none");
}

/* ---- generation ---- */

static uint64_t
gen(struct store *s)
{
	uint64_t g = 0;

	assert_int_equal(store_generation(s, &g), OTA_OK);
	return g;
}

static void
generation(void **state)
{
	struct store *s = open_tmp(), *s2 = open_tmp();
	struct store_repo me;
	uint64_t g, g2;

	(void)state;
	g = gen(s);
	g2 = gen(s2);
	assert_int_equal(gen(s), g);	/* stable while nothing changes */

	/* A commit here changes both this handle's and the other's. */
	assert_int_equal(store_begin(s), OTA_OK);
	me = repo(s, "me", "app");
	assert_int_equal(store_commit(s), OTA_OK);
	assert_int_not_equal(gen(s), g);
	assert_int_not_equal(gen(s2), g2);
	g = gen(s);
	g2 = gen(s2);

	/* And a commit by the second handle. */
	assert_int_equal(store_begin(s2), OTA_OK);
	assert_int_equal(store_repo_set_private(s2, me.id, true), OTA_OK);
	assert_int_equal(store_commit(s2), OTA_OK);
	assert_int_not_equal(gen(s), g);
	assert_int_not_equal(gen(s2), g2);
	g = gen(s);
	g2 = gen(s2);

	/* A read-only transaction, or none at all, changes nothing. */
	assert_int_equal(store_repo_get(s, "me", "app", &me), OTA_OK);
	assert_true(me.is_private);
	assert_int_equal(gen(s), g);
	assert_int_equal(gen(s2), g2);
	store_free(s2);
	store_free(s);
}

/*
 * A write outside store_begin/commit (SQLite autocommit) changes the
 * database as much as one inside: the generation must change for the
 * handle that wrote it too, or a cache keyed on it keeps serving the old
 * answer in the process that made the change.
 */
static void
generation_autocommit(void **state)
{
	struct store *s = open_tmp(), *s2 = open_tmp();
	struct store_repo me = repo(s, "me", "app");
	uint64_t g = gen(s), g2 = gen(s2), after, after2;

	(void)state;
	assert_int_equal(store_repo_set_private(s, me.id, true), OTA_OK);
	after = gen(s);
	after2 = gen(s2);
	store_free(s2);
	store_free(s);
	assert_int_not_equal(after2, g2);
	if (after == g)
		fail_msg("store_generation unchanged after an autocommit write "
		    "by the same handle (%llu)", (unsigned long long)g);
}

#define T(f) cmocka_unit_test_setup_teardown(f, tl_dir_setup, tl_dir_teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(open_create_refuse_reopen),
		T(open_newer_schema),
		T(open_migrates_v1),
		T(events),
		cmocka_unit_test(name_valid_table),
		T(repos),
		T(release_insert_get_assets),
		T(release_insert_refused),
		T(order_and_filters),
		T(delete_cascades),
		T(tokens),
		cmocka_unit_test(scopes),
		T(generation),
		T(generation_autocommit),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
