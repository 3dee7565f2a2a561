/*
 * publish_crash: SIGKILL `ota publish` at random points and check that
 * every release in the store is whole and every release that is not there
 * left no trace in the database (store.h: "Nothing is ever half
 * published").
 *
 * The tree is 20 files of 100 B to 256 KiB in two directories plus a
 * version.txt that differs every round, so each round's release is
 * recognisable by that file's SHA-256. Even rounds publish a new tag;
 * odd rounds republish tag 0.1.0 with --force (delete and insert in one
 * transaction). The parent times a few complete publishes (again every
 * CRASH_RETIME rounds, as the load drifts), then kills each child after a
 * random delay of up to CRASH_SPAN times the median (the commit is at
 * the very end) and, with the child dead, opens the store and checks:
 *   - the release of a new tag is absent or complete; 0.1.0 is always
 *     present and holds the old round's files or the new round's, whole;
 *   - every release: all its assets listed, each blob present and
 *     hashing to its name, the manifest blob present, verified with the
 *     repository's public key, naming the release as its row does and
 *     listing exactly its assets; metadata versions distinct;
 *   - no other release exists, and no asset row outlives its release.
 * Verified blobs (their names are their hashes) and verified manifest,
 * row and listing combinations are remembered, so a round re-reads only
 * what is new. Then one publish runs to completion, to show the store
 * still works, and two deliberate corruptions show that the check can
 * fail.
 *
 * A second case kills the first publish to a new store, the one that
 * makes the repository's key pair without --key, three times in four
 * just after the first key file appears, then publishes again: that must
 * succeed and leave app.key and the app.pub devices are configured with,
 * a matching pair, and every release verified with it.
 *
 * OTA_CRASH_ROUNDS sets the number of kills (default CRASH_ROUNDS);
 * OTA_CRASH_SEED replays a run (the seed is printed).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "common/hash.h"
#include "common/manifest.h"
#include "common/sign.h"
#include "server/blobstore.h"
#include "server/store.h"
#include "testlib.h"

#define CRASH_ROUNDS 200
#define CRASH_FILES 20			/* plus version.txt */
#define CRASH_ASSETS (CRASH_FILES + 1)
#define CRASH_BIG (256 * 1024)
#define CRASH_TIMED_RUNS 3
#define CRASH_SPAN 1.2		/* kill within this many publish times */
#define CRASH_RETIME 50		/* rounds between timings */
#define FORCED_TAG "0.1.0"
#define KEYGEN_ROUNDS (CRASH_ROUNDS / 10)	/* the first-publish case */
#define KEYGEN_AIM_US 1000
#define SEEN_SLOTS 16384		/* > blobs and manifests of a run */

static char base[PATH_MAX], data[PATH_MAX + 16], tree[PATH_MAX + 16];
static char keypath[PATH_MAX + 16], logpath[PATH_MAX + 16];
static struct sign_key *pub;
static size_t want_assets = CRASH_ASSETS;

/* ---- a set of hex names already checked ---- */

static char seen[SEEN_SLOTS][BLOBSTORE_HEX_LEN + 1];

static bool
seen_has(const char *hex, bool add)
{
	size_t i = 0, probes;

	for (probes = 0; probes < 8; probes++)
		i = i * 16 + (size_t)(hex[probes] <= '9' ? hex[probes] - '0' :
		    hex[probes] - 'a' + 10);
	i %= SEEN_SLOTS;
	for (probes = 0; probes < SEEN_SLOTS; probes++) {
		if (seen[i][0] == '\0') {
			if (add)
				memcpy(seen[i], hex, BLOBSTORE_HEX_LEN + 1);
			return false;
		}
		if (strcmp(seen[i], hex) == 0)
			return true;
		i = (i + 1) % SEEN_SLOTS;
	}
	fail_msg("seen set full");
	return false;
}

/* ---- the tree and the child ---- */

static void
write_tree(void)
{
	static unsigned char buf[CRASH_BIG];
	static const size_t sizes[] = { CRASH_BIG, 40000, 3000, 100 };
	char dir[PATH_MAX + 64], path[PATH_MAX + 96];
	size_t i, k, n;

	snprintf(tree, sizeof(tree), "%s/app", base);
	assert_int_equal(mkdir(tree, 0755), 0);
	snprintf(dir, sizeof(dir), "%s/fw", tree);
	assert_int_equal(mkdir(dir, 0755), 0);
	snprintf(dir, sizeof(dir), "%s/lib", tree);
	assert_int_equal(mkdir(dir, 0755), 0);
	for (i = 0; i < CRASH_FILES; i++) {
		n = sizes[i % 4];
		for (k = 0; k < n; k++)
			buf[k] = (unsigned char)(k * 31 + i * 101 + (k >> 8));
		snprintf(path, sizeof(path), "%s/%s/f%02zu.bin", tree,
		    i % 2 ? "lib" : "fw", i);
		assert_int_equal(tl_write_file(path, buf, n), 0);
	}
}

/* Writes this round's version.txt; its SHA-256 into hex. */
static void
write_version(const char *text, char hex[BLOBSTORE_HEX_LEN + 1])
{
	char path[PATH_MAX + 32];

	snprintf(path, sizeof(path), "%s/version.txt", tree);
	assert_int_equal(tl_write_file(path, text, strlen(text)), 0);
	assert_int_equal(hash_hex(HASH_SHA256, text, strlen(text), hex),
	    OTA_OK);
}

/* `ota publish --data dir [--key key] [--force] me/app tag src`. */
static pid_t
spawn(const char *dir, const char *key, const char *tag, bool force,
    const char *src)
{
	const char *argv[12];
	int n = 0, fd;
	pid_t pid;

	argv[n++] = tl_ota_bin();
	argv[n++] = "publish";
	argv[n++] = "--data";
	argv[n++] = dir;
	if (key != NULL) {
		argv[n++] = "--key";
		argv[n++] = key;
	}
	if (force)
		argv[n++] = "--force";
	argv[n++] = "me/app";
	argv[n++] = tag;
	argv[n++] = src;
	argv[n] = NULL;
	assert_true((pid = fork()) >= 0);
	if (pid == 0) {
		fd = open(logpath, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (fd < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
			_exit(126);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	return pid;
}

/* Fails the test with the child's output unless status is exit 0. */
static void
assert_exit_ok(int status, const char *what)
{
	size_t len;
	char *log;
	FILE *f;

	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return;
	log = calloc(1, 4096);
	if ((f = fopen(logpath, "r")) != NULL) {
		len = fread(log, 1, 4095, f);
		log[len] = '\0';
		fclose(f);
	}
	fail_msg("%s: status 0x%x: %s", what, status, log);
}

static pid_t
spawn_publish(const char *tag, bool force)
{
	return spawn(data, keypath, tag, force, tree);
}

static double
wait_ok(pid_t pid, const char *what, double t0)
{
	int status;

	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_exit_ok(status, what);
	return tl_now() - t0;
}

static double
publish_to_end(const char *tag, bool force)
{
	double t0 = tl_now();

	return wait_ok(spawn_publish(tag, force), tag, t0);
}

/* ---- the check ---- */

struct verdict {
	char why[768];		/* the first thing found torn */
	bool forced_present;
	char forced_version[BLOBSTORE_HEX_LEN + 1];	/* version.txt */
	bool tag_present;
	char tag_version[BLOBSTORE_HEX_LEN + 1];
	size_t nreleases;
};

__attribute__((format(printf, 2, 3)))
static bool
torn(struct verdict *v, const char *fmt, ...)
{
	va_list ap;

	if (v->why[0] == '\0') {
		va_start(ap, fmt);
		vsnprintf(v->why, sizeof(v->why), fmt, ap);
		va_end(ap);
	}
	return false;
}

static bool
check_blob(struct store *s, struct verdict *v, const char *tag,
    const char *what, const char *hex)
{
	enum ota_status rc;

	if (seen_has(hex, false))
		return true;
	if ((rc = blobstore_verify(store_blobs(s), hex)) != OTA_OK)
		return torn(v, "%s: %s blob %s: %s", tag, what, hex,
		    ota_status_str(rc));
	(void)seen_has(hex, true);
	return true;
}

/* The manifest of r: verified, and saying what r and its assets say. */
static bool
check_manifest(struct store *s, struct verdict *v,
    const struct store_release *r, const struct store_asset *a, size_t n)
{
	char path[PATH_MAX + 128], merr[256];
	struct manifest m;
	enum ota_status rc;
	unsigned char *text;
	struct stat sb;
	bool ok = true;
	size_t i;
	int fd;

	if (!check_blob(s, v, r->tag, "manifest", r->manifest))
		return false;
	assert_int_equal(blobstore_path(store_blobs(s), r->manifest, path,
	    sizeof(path)), OTA_OK);
	assert_true((fd = open(path, O_RDONLY)) >= 0);
	assert_int_equal(fstat(fd, &sb), 0);
	assert_non_null(text = malloc((size_t)sb.st_size + 1));
	assert_int_equal(read(fd, text, (size_t)sb.st_size), sb.st_size);
	close(fd);
	rc = manifest_parse_verify_err((const char *)text, (size_t)sb.st_size,
	    &pub, 1, (int64_t)time(NULL), &m, merr, sizeof(merr));
	free(text);
	if (rc != OTA_OK)
		return torn(v, "%s: manifest: %s: %s", r->tag,
		    ota_status_str(rc), merr);
	if (strcmp(m.repo, "me/app") != 0 || strcmp(m.tag, r->tag) != 0 ||
	    strcmp(m.version, r->version) != 0 ||
	    strcmp(m.channel, r->channel) != 0 ||
	    m.metadata_version != r->metadata_version)
		ok = torn(v, "%s: manifest names %s %s %s, metadata %llu; the "
		    "row %s %s, metadata %llu", r->tag, m.repo, m.tag,
		    m.channel, (unsigned long long)m.metadata_version,
		    r->tag, r->channel,
		    (unsigned long long)r->metadata_version);
	else if (m.nfiles != n)
		ok = torn(v, "%s: manifest lists %zu files, the store %zu",
		    r->tag, m.nfiles, n);
	for (i = 0; ok && i < n; i++)
		if (strcmp(m.files[i].path, a[i].path) != 0 ||
		    m.files[i].size != a[i].size ||
		    strcmp(m.files[i].sha256, a[i].sha256) != 0)
			ok = torn(v, "%s: manifest file %zu is %s, the store's "
			    "%s", r->tag, i, m.files[i].path, a[i].path);
	manifest_release(&m);
	return ok;
}

/* SHA-256 of what a release row and its listing say, into key. */
static const char *
listing_digest(const struct store_release *r, const struct store_asset *a,
    size_t n, char key[BLOBSTORE_HEX_LEN + 1])
{
	struct hash_ctx *h = hash_new(HASH_SHA256);
	unsigned char md[HASH_MAX_LEN];
	char line[PATH_MAX];
	size_t i, len;

	assert_non_null(h);
	len = (size_t)snprintf(line, sizeof(line), "%s %s %s %s %llu\n",
	    r->manifest, r->tag, r->version, r->channel,
	    (unsigned long long)r->metadata_version);
	assert_int_equal(hash_update(h, line, len), OTA_OK);
	for (i = 0; i < n; i++) {
		len = (size_t)snprintf(line, sizeof(line), "%s %llu %s\n",
		    a[i].path, (unsigned long long)a[i].size, a[i].sha256);
		assert_int_equal(hash_update(h, line, len), OTA_OK);
	}
	assert_int_equal(hash_final(h, md, &len), OTA_OK);
	hash_free(h);
	for (i = 0; i < len; i++)
		snprintf(key + 2 * i, 3, "%02x", md[i]);
	return key;
}

/* One release: complete, or v->why says what is missing. */
static bool
check_release(struct store *s, struct verdict *v,
    const struct store_release *r, const char *round_tag)
{
	char key[BLOBSTORE_HEX_LEN + 1];
	struct store_asset *a = NULL;
	enum ota_status rc;
	bool ok = true;
	size_t n = 0, i;

	if ((rc = store_asset_list(s, r->id, "", &a, &n)) != OTA_OK)
		return torn(v, "%s: assets: %s", r->tag, ota_status_str(rc));
	if (n != want_assets)
		ok = torn(v, "%s: %zu assets, want %zu", r->tag, n,
		    want_assets);
	for (i = 0; ok && i < n; i++)
		ok = check_blob(s, v, r->tag, a[i].path, a[i].sha256);
	/*
	 * The manifest against the row and the listing: once for each
	 * combination of them (a digest of all three), not every round.
	 */
	if (ok && !seen_has(listing_digest(r, a, n, key), false)) {
		ok = check_manifest(s, v, r, a, n);
		if (ok)
			(void)seen_has(key, true);
	}
	for (i = 0; ok && i < n; i++) {
		if (strcmp(a[i].path, "app/version.txt") != 0)
			continue;
		if (strcmp(r->tag, FORCED_TAG) == 0) {
			v->forced_present = true;
			memcpy(v->forced_version, a[i].sha256,
			    sizeof(v->forced_version));
		} else if (strcmp(r->tag, round_tag) == 0) {
			v->tag_present = true;
			memcpy(v->tag_version, a[i].sha256,
			    sizeof(v->tag_version));
		}
	}
	store_assets_free(a, n);
	return ok;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

/* Runs sql on the store's database (a second connection). */
static void
db_exec(const char *sql)
{
	char path[PATH_MAX + 32];
	sqlite3 *h = NULL;

	snprintf(path, sizeof(path), "%s/" STORE_DB_NAME, data);
	assert_int_equal(sqlite3_open(path, &h), SQLITE_OK);
	assert_int_equal(sqlite3_exec(h, sql, NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_changes(h), 1);
	sqlite3_close(h);
}

/* Asset rows whose release is gone. */
static int
orphan_assets(const char *dir)
{
	char path[PATH_MAX + 32];
	sqlite3_stmt *st = NULL;
	sqlite3 *h = NULL;
	int n = -1;

	snprintf(path, sizeof(path), "%s/" STORE_DB_NAME, dir);
	assert_int_equal(sqlite3_open_v2(path, &h, SQLITE_OPEN_READONLY,
	    NULL), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(h, "SELECT count(*) FROM assets"
	    " WHERE release_id NOT IN (SELECT id FROM releases)", -1, &st,
	    NULL), SQLITE_OK);
	if (sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(h);
	return n;
}

/* The whole store after a kill; false with v->why set if torn. */
static bool
check_store(struct verdict *v, const char *round_tag)
{
	struct store_release *list = NULL;
	struct store *s = NULL;
	struct store_repo repo;
	uint64_t *mv;
	char err[512];
	enum ota_status rc;
	bool ok = true;
	size_t n = 0, i;

	memset(v, 0, sizeof(*v));
	if ((rc = store_open(&s, data, false, err, sizeof(err))) != OTA_OK)
		return torn(v, "store_open: %s: %s", ota_status_str(rc), err);
	if ((rc = store_repo_get(s, "me", "app", &repo)) != OTA_OK ||
	    (rc = store_release_list(s, repo.id, STORE_LIST_ALL, NULL, &list,
	    &n)) != OTA_OK) {
		store_free(s);
		return torn(v, "repo or list: %s", ota_status_str(rc));
	}
	v->nreleases = n;
	assert_non_null(mv = calloc(n + 1, sizeof(*mv)));
	for (i = 0; i < n; i++) {
		mv[i] = list[i].metadata_version;
		if (mv[i] == 0 || mv[i] > repo.metadata_version)
			ok = torn(v, "%s: metadata version %llu, repository "
			    "at %llu", list[i].tag,
			    (unsigned long long)mv[i],
			    (unsigned long long)repo.metadata_version);
		if (!check_release(s, v, &list[i], round_tag))
			ok = false;
	}
	qsort(mv, n, sizeof(*mv), cmp_u64);
	for (i = 1; i < n; i++)
		if (mv[i] == mv[i - 1])
			ok = torn(v, "two releases with metadata version %llu",
			    (unsigned long long)mv[i]);
	free(mv);
	store_releases_free(list, n);
	store_free(s);
	if ((i = (size_t)orphan_assets(data)) != 0)
		ok = torn(v, "%zu asset rows without their release", i);
	if (!v->forced_present)
		ok = torn(v, "release " FORCED_TAG " is missing");
	return ok;
}

/* ---- the test ---- */

struct tally {
	unsigned long before, after, exited, torn;
	unsigned long fresh_before, fresh_after, forced_old, forced_new;
};

static void
kill_publish_at_random(void **state)
{
	char old_hex[BLOBSTORE_HEX_LEN + 1], new_hex[BLOBSTORE_HEX_LEN + 1];
	char text[128], tag[64], err[512], pubpath[PATH_MAX + 16];
	struct tally t = { 0 };
	struct verdict v;
	uint64_t seed, rounds = CRASH_ROUNDS, round;
	size_t releases = 1;
	double times[CRASH_TIMED_RUNS], span_s = 0, t0;
	const char *env;
	int i;

	(void)state;
	if ((env = getenv("OTA_CRASH_ROUNDS")) != NULL)
		rounds = strtoull(env, NULL, 10);
	if ((env = getenv("OTA_CRASH_SEED")) != NULL)
		seed = strtoull(env, NULL, 0);
	else
		seed = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
	printf("publish_crash: seed %llu (OTA_CRASH_SEED to replay), %llu "
	    "rounds\n", (unsigned long long)seed, (unsigned long long)rounds);
	fflush(stdout);

	assert_int_equal(tl_mkdtemp(base, sizeof(base)), 0);
	snprintf(data, sizeof(data), "%s/data", base);
	snprintf(keypath, sizeof(keypath), "%s/repo.key", base);
	snprintf(pubpath, sizeof(pubpath), "%s/repo.pub", base);
	snprintf(logpath, sizeof(logpath), "%s/child.log", base);
	assert_int_equal(sign_keygen(keypath, pubpath, false, err,
	    sizeof(err)), OTA_OK);
	assert_int_equal(sign_key_load_public(&pub, pubpath, err, sizeof(err)),
	    OTA_OK);
	write_tree();

	/* The release --force replaces. */
	write_version("initial\n", old_hex);
	(void)publish_to_end(FORCED_TAG, false);

	t0 = tl_now();
	for (round = 0; round < rounds; round++) {
		uint64_t r = tl_rng_next(&seed);
		bool force = round % 2 == 1;
		struct timespec ts;
		long delay_us;
		int status;
		pid_t pid;

		/*
		 * How long a publish takes, timed again now and then: the
		 * machine's load (other builds, other tests) drifts.
		 */
		if (round % CRASH_RETIME == 0) {
			for (i = 0; i < CRASH_TIMED_RUNS; i++) {
				snprintf(text, sizeof(text), "timed %llu %d\n",
				    (unsigned long long)round, i);
				write_version(text, old_hex);
				times[i] = publish_to_end(FORCED_TAG, true);
			}
			qsort(times, CRASH_TIMED_RUNS, sizeof(times[0]),
			    cmp_double);
			span_s = CRASH_SPAN * times[CRASH_TIMED_RUNS / 2];
			if (!check_store(&v, ""))
				fail_msg("after timed publishes: %s", v.why);
			if (round == 0) {
				printf("publish_crash: a publish takes %.1f "
				    "ms\n", times[CRASH_TIMED_RUNS / 2] * 1e3);
				fflush(stdout);
			}
		}
		delay_us = (long)(r % (uint64_t)(span_s * 1e6 + 1));
		ts.tv_sec = delay_us / 1000000;
		ts.tv_nsec = (delay_us % 1000000) * 1000;

		if (force)
			snprintf(tag, sizeof(tag), "%s", FORCED_TAG);
		else
			snprintf(tag, sizeof(tag), "1.%llu.0",
			    (unsigned long long)round);
		snprintf(text, sizeof(text), "round %llu seed %llu\n",
		    (unsigned long long)round, (unsigned long long)r);
		write_version(text, new_hex);
		pid = spawn_publish(tag, force);
		nanosleep(&ts, NULL);
		assert_int_equal(kill(pid, SIGKILL), 0);
		assert_int_equal(waitpid(pid, &status, 0), pid);
		if (!WIFSIGNALED(status)) {
			assert_exit_ok(status, tag);
			t.exited++;
		}

		if (!check_store(&v, force ? "" : tag)) {
			t.torn++;
			print_message("round %llu (%s%s, killed at %ld us): "
			    "TORN: %s\n", (unsigned long long)round, tag,
			    force ? " --force" : "", delay_us, v.why);
			continue;
		}
		if (force) {
			if (strcmp(v.forced_version, new_hex) == 0) {
				t.forced_new++;
				memcpy(old_hex, new_hex, sizeof(old_hex));
			} else if (strcmp(v.forced_version, old_hex) == 0) {
				t.forced_old++;
			} else {
				t.torn++;
				print_message("round %llu: " FORCED_TAG
				    " holds neither the old nor the new "
				    "files\n", (unsigned long long)round);
			}
		} else if (v.tag_present) {
			if (strcmp(v.tag_version, new_hex) != 0) {
				t.torn++;
				print_message("round %llu: %s holds another "
				    "round's files\n",
				    (unsigned long long)round, tag);
			}
			t.fresh_after++;
			releases++;
		} else
			t.fresh_before++;
		if (v.nreleases != releases) {
			t.torn++;
			print_message("round %llu: %zu releases, want %zu\n",
			    (unsigned long long)round, v.nreleases, releases);
			releases = v.nreleases;
		}
	}
	t.before = t.fresh_before + t.forced_old;
	t.after = t.fresh_after + t.forced_new;
	printf("publish_crash: %llu kills in %.1f s: %lu before commit, %lu "
	    "after (%lu had exited); new tag: %lu absent, %lu whole; "
	    "--force: %lu old, %lu new; %lu torn\n",
	    (unsigned long long)rounds, tl_now() - t0, t.before, t.after,
	    t.exited, t.fresh_before, t.fresh_after, t.forced_old,
	    t.forced_new, t.torn);
	fflush(stdout);
	assert_int_equal(t.torn, 0);

	/* The store still takes a publish, whole. */
	write_version("after the storm\n", new_hex);
	(void)publish_to_end("9.0.0", false);
	if (!check_store(&v, "9.0.0"))
		fail_msg("after the last kill: %s", v.why);
	assert_true(v.tag_present);
	assert_string_equal(v.tag_version, new_hex);
	assert_int_equal(v.nreleases, releases + 1);

	/* The check itself can fail: a lost asset row, a changed channel. */
	db_exec("UPDATE releases SET channel = 'beta' WHERE tag = '"
	    FORCED_TAG "'");
	assert_false(check_store(&v, ""));
	assert_non_null(strstr(v.why, FORCED_TAG ": manifest names"));
	db_exec("UPDATE releases SET channel = 'stable' WHERE tag = '"
	    FORCED_TAG "'");
	assert_true(check_store(&v, ""));
	db_exec("DELETE FROM assets WHERE path = 'app/fw/f00.bin' AND "
	    "release_id = (SELECT id FROM releases WHERE tag = '9.0.0')");
	assert_false(check_store(&v, "9.0.0"));
	assert_non_null(strstr(v.why, "9.0.0: 20 assets"));
	/* (A second connection has foreign keys off: nothing cascades.) */
	db_exec("DELETE FROM releases WHERE tag = '9.0.0'");
	assert_false(check_store(&v, ""));
	assert_non_null(strstr(v.why, "20 asset rows without their release"));

	sign_key_free(pub);
	pub = NULL;
	tl_rmtree(base);
}

/* ---- the first publish to a store, which makes the repository's key ---- */

static bool
exists(const char *path)
{
	struct stat sb;

	return lstat(path, &sb) == 0;
}

struct keytally {
	unsigned long none, pair, released, key_only, pub_only, torn;
};

/*
 * The key files in dir: which exist; if both, that they are one pair,
 * and pub holds the public key then.
 */
static void
key_files(const char *dir, bool *has_key, bool *has_pub, struct verdict *v)
{
	char kp[PATH_MAX + 32], pp[PATH_MAX + 32], err[512];
	char id1[SIGN_KEYID_HEX + 1], id2[SIGN_KEYID_HEX + 1];
	struct sign_key *k = NULL;

	snprintf(kp, sizeof(kp), "%s/keys/me/app.key", dir);
	snprintf(pp, sizeof(pp), "%s/keys/me/app.pub", dir);
	*has_key = exists(kp);
	*has_pub = exists(pp);
	sign_key_free(pub);
	pub = NULL;
	if (!*has_key || !*has_pub)
		return;
	assert_int_equal(sign_key_load_private(&k, kp, err, sizeof(err)),
	    OTA_OK);
	assert_int_equal(sign_key_load_public(&pub, pp, err, sizeof(err)),
	    OTA_OK);
	sign_key_id(k, id1);
	sign_key_id(pub, id2);
	sign_key_free(k);
	if (strcmp(id1, id2) != 0)
		(void)torn(v, "app.key and app.pub are not a pair");
}

/* The first line of the child's output, into buf. */
static const char *
first_line(char *buf, size_t bufsz)
{
	FILE *f = fopen(logpath, "r");

	buf[0] = '\0';
	if (f != NULL) {
		if (fgets(buf, (int)bufsz, f) == NULL)
			buf[0] = '\0';
		fclose(f);
	}
	buf[strcspn(buf, "\n")] = '\0';
	return buf;
}

/* Release tag in dir: absent, or whole and verified with pub. */
static bool
release_whole(const char *dir, const char *tag, struct verdict *v)
{
	struct store_release r;
	struct store *s = NULL;
	struct store_repo repo;
	char err[512];
	bool found = false;

	if (store_open(&s, dir, false, err, sizeof(err)) != OTA_OK)
		return false;
	memset(seen, 0, sizeof(seen));
	if (store_repo_get(s, "me", "app", &repo) == OTA_OK &&
	    store_release_get(s, repo.id, tag, &r) == OTA_OK) {
		found = true;
		if (pub == NULL)
			(void)torn(v, "%s released, and no key pair to "
			    "check it with", tag);
		else
			(void)check_release(s, v, &r, tag);
		store_release_release(&r);
	}
	store_free(s);
	return found;
}

/*
 * One killed first publish in dir: what it left, then what the next
 * publish (which must succeed) leaves: a key pair, and every release
 * verified with its public half.
 */
static void
check_first(const char *dir, const char *one, struct keytally *t,
    unsigned long round)
{
	struct verdict v;
	bool has_key, has_pub;
	char line[256];
	int status;
	pid_t pid;

	memset(&v, 0, sizeof(v));
	key_files(dir, &has_key, &has_pub, &v);
	if (has_key && !has_pub)
		t->key_only++;
	else if (has_key)
		t->pair++;
	else if (has_pub)
		t->pub_only++;
	else
		t->none++;
	if (has_key)
		t->released += release_whole(dir, "1.0.0", &v);

	pid = spawn(dir, NULL, "1.0.1", false, one);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		(void)torn(&v, "the next publish failed (status 0x%x): %s",
		    status, first_line(line, sizeof(line)));
	key_files(dir, &has_key, &has_pub, &v);
	if (!has_key || !has_pub)
		(void)torn(&v, "after the next publish: %s", has_key ?
		    "app.key without app.pub" : "no app.key");
	(void)release_whole(dir, "1.0.0", &v);
	if (!release_whole(dir, "1.0.1", &v))
		(void)torn(&v, "the next publish is not there");
	sign_key_free(pub);
	pub = NULL;
	if (v.why[0] != '\0') {
		t->torn++;
		print_message("first publish, round %lu: TORN: %s\n", round,
		    v.why);
	}
}

/*
 * `ota publish` without --key on a new store makes the repository's key
 * pair (sign_keygen: two files, two renames) before it publishes. Killed
 * between the renames it leaves one file alone; that is counted, and
 * allowed, but the next publish must succeed and leave the pair whole:
 * app.key alone would sign releases with a key whose public half (the
 * one devices are given) exists nowhere; app.pub alone must not stop the
 * store from ever making its key.
 */
static void
kill_first_publish(void **state)
{
	char dir[PATH_MAX + 32], one[PATH_MAX + 32], file[PATH_MAX + 48];
	char kp[PATH_MAX + 48], pp[PATH_MAX + 48];
	static unsigned char fw[4096];
	struct keytally t = { 0 };
	unsigned long aimed = 0;
	uint64_t seed, rounds = KEYGEN_ROUNDS, round;
	double max_s = 0, d, t0;
	const char *env;
	int i;

	(void)state;
	if ((env = getenv("OTA_CRASH_ROUNDS")) != NULL)
		rounds = strtoull(env, NULL, 10) / 10;
	if ((env = getenv("OTA_CRASH_SEED")) != NULL)
		seed = strtoull(env, NULL, 0) + 1;
	else
		seed = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
	printf("publish_crash: first publish: seed %llu, %llu rounds\n",
	    (unsigned long long)seed, (unsigned long long)rounds);
	fflush(stdout);
	want_assets = 1;
	assert_int_equal(tl_mkdtemp(base, sizeof(base)), 0);
	snprintf(logpath, sizeof(logpath), "%s/child.log", base);
	snprintf(one, sizeof(one), "%s/one", base);
	assert_int_equal(mkdir(one, 0755), 0);
	snprintf(file, sizeof(file), "%s/fw.bin", one);
	memset(fw, 0xe9, sizeof(fw));
	assert_int_equal(tl_write_file(file, fw, sizeof(fw)), 0);
	snprintf(dir, sizeof(dir), "%s/data", base);
	snprintf(kp, sizeof(kp), "%s/keys/me/app.key", dir);
	snprintf(pp, sizeof(pp), "%s/keys/me/app.pub", dir);
	for (i = 0; i < CRASH_TIMED_RUNS; i++) {
		t0 = tl_now();
		d = wait_ok(spawn(dir, NULL, "1.0.0", false, one), "first", t0);
		max_s = d > max_s ? d : max_s;
		check_first(dir, one, &t, 0);
		assert_int_equal(t.released, (unsigned long)i + 1);
		assert_int_equal(t.torn, 0);
		tl_rmtree(dir);
	}
	memset(&t, 0, sizeof(t));

	t0 = tl_now();
	for (round = 0; round < rounds; round++) {
		uint64_t r = tl_rng_next(&seed);
		long delay_us = (long)(r % (uint64_t)(max_s * 1e6 + 1));
		struct timespec ts = { delay_us / 1000000,
		    (delay_us % 1000000) * 1000 };
		int status;
		pid_t pid;

		pid = spawn(dir, NULL, "1.0.0", false, one);
		if (round % 4 != 0) {
			/*
			 * Aim at key generation: wait for the first of the
			 * two files to appear, then kill within
			 * KEYGEN_AIM_US. (A zombie child is still there to
			 * kill, so no waitpid here.)
			 */
			double until = tl_now() + 3 * max_s;

			while (!exists(kp) && !exists(pp) && tl_now() < until)
				;
			ts.tv_sec = 0;
			ts.tv_nsec = (long)(r % KEYGEN_AIM_US) * 1000;
			aimed++;
		}
		nanosleep(&ts, NULL);
		assert_int_equal(kill(pid, SIGKILL), 0);
		assert_int_equal(waitpid(pid, &status, 0), pid);
		if (!WIFSIGNALED(status))
			assert_exit_ok(status, "first");
		check_first(dir, one, &t, (unsigned long)round);
		tl_rmtree(dir);
	}
	printf("publish_crash: first publish: %llu kills (%lu aimed at "
	    "keygen) in %.1f s (a publish takes up to %.1f ms): left no key "
	    "%lu, a key pair %lu (released %lu), app.key alone %lu, app.pub "
	    "alone %lu; %lu torn after the next publish\n",
	    (unsigned long long)rounds, aimed, tl_now() - t0, max_s * 1e3,
	    t.none, t.pair, t.released, t.key_only, t.pub_only, t.torn);
	fflush(stdout);
	tl_rmtree(base);
	want_assets = CRASH_ASSETS;
	assert_int_equal(t.torn, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(kill_publish_at_random),
		cmocka_unit_test(kill_first_publish),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
