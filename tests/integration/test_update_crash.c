/*
 * update_crash: SIGKILL the whole `ota update` (download, verify, stage,
 * commit) at random points, end to end on loopback, with the MicroPython
 * updater's device layout (config/ + app/main), and check after each kill
 * that main is exactly one whole release (issue 5, "Crash consistency").
 *
 * One `ota serve --data DIR`; release 1.0.0 of a tree of UC_FILES files
 * (nested folders, several of UC_MID random bytes, one of UC_BIG) and
 * 2.0.0 where most files differ, one is gone and one is new, so a mix is
 * recognisable by its file list as much as by its bytes. The device is
 * brought to 1.0.0 and confirmed; 2.0.0 is then published.
 *
 * Each round forks and execs `ota update --root DEV app` and SIGKILLs it
 * after a random delay in [0, T] (T: a whole update, timed up front and
 * again every UC_REMEASURE rounds); one round in four is aimed at the
 * first UC_EARLY_US. After the kill:
 *   - main (what the application would import, before anything repairs
 *     it) holds exactly 1.0.0 or exactly 2.0.0: the same file list, every
 *     file byte for byte;
 *   - the next `ota update` exits 0 and main is exactly 2.0.0 (the server's
 *     access log tells how many of those next runs resumed with a Range:
 *     206 answers);
 *   - `ota rollback` brings main back to exactly 1.0.0 and removes 2.0.0's
 *     slot, so the next round downloads again.
 * A round that fails is counted and explained, and the test fails.
 * The feed's host name alternates between 127.0.0.1 and localhost from one
 * round to the next (configure_next says why); rollback_then_update checks
 * on its own that a rolled-back release is installed again by the next
 * update.
 *
 * OTA_CRASH_ROUNDS sets the number of kills (default UC_ROUNDS);
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

#include "testlib.h"

#define UC_ROUNDS 200
#define UC_REMEASURE 50
#define UC_TIMED_RUNS 3
#define UC_EARLY_US 3000
#define UC_MID (256 * 1024)
#define UC_BIG (1024 * 1024)
#define UC_FILES 24
#define V1 "1.0.0"
#define V2 "2.0.0"

struct tree {
	const char *version;
	struct tl_file f[UC_FILES];
	size_t n;
};

static struct tree t1, t2;
static char data[PATH_MAX], src[PATH_MAX], dev[PATH_MAX], cat[PATH_MAX];
static char mainp[PATH_MAX + 16], logpath[PATH_MAX + 16];
static struct tl_server srv;

#define RUN(out, ...) tl_ota_run((const char *const[]){ __VA_ARGS__, NULL }, \
	out, sizeof(out))

static void
tree_add(struct tree *t, const char *path, size_t len, uint64_t seed)
{
	unsigned char *p;
	size_t k;

	assert_true(t->n < UC_FILES);
	assert_non_null(p = malloc(len + 1));
	for (k = 0; k < len; k++)
		p[k] = (unsigned char)tl_rng_next(&seed);
	snprintf(t->f[t->n].path, sizeof(t->f[t->n].path), "%s", path);
	t->f[t->n].data = p;
	t->f[t->n].len = len;
	t->n++;
}

/* A copy of from's file path into t (the file both releases share). */
static void
tree_share(struct tree *t, const struct tree *from, const char *path)
{
	size_t i;

	for (i = 0; i < from->n; i++)
		if (strcmp(from->f[i].path, path) == 0)
			break;
	assert_true(i < from->n);
	assert_true(t->n < UC_FILES);
	t->f[t->n] = from->f[i];
	assert_non_null(t->f[t->n].data = malloc(from->f[i].len + 1));
	memcpy(t->f[t->n].data, from->f[i].data, from->f[i].len);
	t->n++;
}

/*
 * 20 files each: app.py, boot.py, five 256 KiB blobs, one of 1 MiB, small
 * modules in lib/, lib/net/, lib/net/proto/, assets/. 2.0.0 shares
 * lib/const.py, drops lib/old.py and adds lib/net/new.py; every other
 * file differs (some in length too).
 */
static void
trees_make(void)
{
	static const char *const small[] = {
		"lib/util.py", "lib/log.py", "lib/net/http.py",
		"lib/net/proto/mqtt.py", "lib/net/proto/coap.py",
		"assets/index.html", "assets/style.css", "data/cfg.json",
		"data/cal/table.csv", "lib/const.py",
	};
	char path[64];
	size_t i;

	t1.version = V1;
	t2.version = V2;
	tree_add(&t1, "app.py", 900, 1);
	tree_add(&t2, "app.py", 1100, 101);
	tree_add(&t1, "boot.py", 120, 2);
	tree_add(&t2, "boot.py", 120, 102);
	for (i = 0; i < 5; i++) {
		snprintf(path, sizeof(path), "%sblob%zu.bin",
		    i % 2 ? "lib/net/" : "assets/", i);
		tree_add(&t1, path, UC_MID, 10 + i);
		tree_add(&t2, path, UC_MID - (i == 3 ? 1000 : 0), 110 + i);
	}
	tree_add(&t1, "firmware/big.bin", UC_BIG, 20);
	tree_add(&t2, "firmware/big.bin", UC_BIG, 120);
	for (i = 0; i < sizeof(small) / sizeof(small[0]) - 1; i++) {
		tree_add(&t1, small[i], 200 + 97 * i, 30 + i);
		tree_add(&t2, small[i], 200 + 97 * i + (i % 3), 130 + i);
	}
	tree_add(&t1, "lib/const.py", 333, 40);
	tree_share(&t2, &t1, "lib/const.py");
	tree_add(&t1, "lib/old.py", 444, 41);
	tree_add(&t2, "lib/net/new.py", 555, 141);
}

static void
trees_free(void)
{
	size_t i;

	for (i = 0; i < t1.n; i++)
		free(t1.f[i].data);
	for (i = 0; i < t2.n; i++)
		free(t2.f[i].data);
	memset(&t1, 0, sizeof(t1));
	memset(&t2, 0, sizeof(t2));
}

static void
mkdirs_for(const char *path)
{
	char p[PATH_MAX * 2 + 64], *s;

	snprintf(p, sizeof(p), "%s", path);
	for (s = strchr(p + 1, '/'); s != NULL; s = strchr(s + 1, '/')) {
		*s = '\0';
		(void)mkdir(p, 0755);
		*s = '/';
	}
}

static void
write_file(const char *dir, const char *rel, const void *p, size_t n)
{
	char path[PATH_MAX * 2];

	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	mkdirs_for(path);
	assert_int_equal(tl_write_file(path, p, n), 0);
}

static void
publish(const struct tree *t)
{
	char out[2048], tree[PATH_MAX + 32];
	size_t i;

	snprintf(tree, sizeof(tree), "%s/%s/main", src, t->version);
	for (i = 0; i < t->n; i++)
		write_file(tree, t->f[i].path, t->f[i].data, t->f[i].len);
	if (RUN(out, "publish", "--data", data, "me/app", t->version,
	    tree) != 0)
		fail_msg("publish %s: %s", t->version, out);
}

/*
 * The device's config: our server, the repository's key. host alternates
 * between "127.0.0.1" and "localhost" from one call to the next (see
 * configure_next).
 */
static char pubkey[256];
static unsigned flips;

static void
configure(const char *host)
{
	char text[1024];

	snprintf(text, sizeof(text), "{\"gitrepo\":{\"url\":"
	    "\"http://%s:%u/repos/me/app\"},\"ota\":{\"public_key\":"
	    "\"%s\"}}", host, (unsigned)srv.port, pubkey);
	write_file(dev, "config/app_gitrepo_cfg.json", text, strlen(text));
}

/*
 * Before each update cycle the feed's host name flips, so the server's
 * answer to releases/latest (its links name the Host) and so its ETag
 * differ from the one the last cycle left in the device's state. Without
 * this, the ETag of 2.0.0's answer, kept across `ota rollback`, gets a 304
 * and the device, back on 1.0.0, says "up to date (latest 1.0.0)" and
 * never installs 2.0.0 again (rollback_then_update checks that on its
 * own, with one host).
 */
static void
configure_next(void)
{
	configure(flips++ % 2 ? "localhost" : "127.0.0.1");
}

/* ---- the check ---- */

static bool
tree_is(const char *dir, const struct tree *t, char *why, size_t whysz)
{
	return tl_tree_is(dir, t->version, t->f, t->n, why, whysz);
}

/* The tree main holds (NULL if neither; why says how it differs). */
static const struct tree *
main_holds(char *why, size_t whysz)
{
	char w1[400], w2[400];
	struct stat sb;

	if (stat(mainp, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
		snprintf(why, whysz, "main does not resolve to a directory: "
		    "%s", strerror(errno));
		return NULL;
	}
	if (tree_is(mainp, &t1, w1, sizeof(w1)))
		return &t1;
	if (tree_is(mainp, &t2, w2, sizeof(w2)))
		return &t2;
	snprintf(why, whysz, "main is neither release: %s; %s", w1, w2);
	return NULL;
}

/* ---- the runs ---- */

static pid_t
spawn_update(void)
{
	pid_t pid;
	int fd;

	fflush(stdout);
	fflush(stderr);
	assert_true((pid = fork()) >= 0);
	if (pid == 0) {
		fd = open(logpath, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (fd < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
			_exit(126);
		execl(tl_ota_bin(), "ota", "update", "--retry-rejected",
		    "--root", dev, "app", (char *)NULL);
		_exit(127);
	}
	return pid;
}

static char *
child_log(void)
{
	static char buf[1024];
	ssize_t n;
	int fd;

	buf[0] = '\0';
	if ((fd = open(logpath, O_RDONLY)) >= 0) {
		n = read(fd, buf, sizeof(buf) - 1);
		buf[n > 0 ? n : 0] = '\0';
		close(fd);
	}
	return buf;
}

/* How many answers in the server's access log were 206 (a resume). */
static unsigned long
ranges_seen(void)
{
	char *log = tl_server_log(&srv), *p;
	unsigned long n = 0;

	assert_non_null(log);
	for (p = log; (p = strstr(p, "\" 206 ")) != NULL; p++)
		n++;
	free(log);
	return n;
}

/* `ota rollback`: main back to exactly 1.0.0; false (why) if not. */
static bool
roll_back(char *why, size_t whysz)
{
	char out[2048], w[800];
	const struct tree *t;
	int rc;

	rc = RUN(out, "rollback", "--root", dev, "app");
	t = main_holds(w, sizeof(w));
	if (rc != 0 || t != &t1) {
		snprintf(why, whysz, "rollback exited %d, main %s: %.300s",
		    rc, t ? t->version : w, out);
		return false;
	}
	return true;
}

/* A whole update, timed, then a rollback; its duration in seconds. */
static double
timed_cycle(void)
{
	char why[1200];
	double t0;
	int status;
	pid_t pid;

	configure_next();
	t0 = tl_now();
	pid = spawn_update();

	assert_int_equal(waitpid(pid, &status, 0), pid);
	t0 = tl_now() - t0;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		fail_msg("a whole update: status 0x%x: %s", status,
		    child_log());
	if (main_holds(why, sizeof(why)) != &t2)
		fail_msg("after a whole update, main is not %s: %s; the "
		    "update said: %s", V2, main_holds(why, sizeof(why)) ?
		    V1 : why, child_log());
	if (!roll_back(why, sizeof(why)))
		fail_msg("after a whole update: %s", why);
	return t0;
}

static double
measure(void)
{
	double times[UC_TIMED_RUNS], x;
	int i, j;

	for (i = 0; i < UC_TIMED_RUNS; i++)
		times[i] = timed_cycle();
	for (i = 0; i < UC_TIMED_RUNS; i++)
		for (j = i + 1; j < UC_TIMED_RUNS; j++)
			if (times[j] < times[i]) {
				x = times[i];
				times[i] = times[j];
				times[j] = x;
			}
	return times[UC_TIMED_RUNS / 2];
}

/* ---- set-up ---- */

static int
setup(void **state)
{
	char out[2048], text[1024];
	const char *args[3];
	size_t n;
	FILE *f;

	if (tl_dir_setup(state) != 0)
		return -1;
	trees_make();
	tl_path(data, sizeof(data), "data");
	tl_path(src, sizeof(src), "src");
	tl_path(dev, sizeof(dev), "dev");
	tl_path(cat, sizeof(cat), "cat");
	tl_path(logpath, sizeof(logpath), "child.log");
	snprintf(mainp, sizeof(mainp), "%s/app/main", dev);
	if (mkdir(cat, 0755) != 0)
		return -1;
	publish(&t1);
	args[0] = "--data";
	args[1] = data;
	args[2] = NULL;
	if (tl_server_start(&srv, cat, args) != 0)
		return -1;
	/* The repository's public key, from the server's data. */
	snprintf(text, sizeof(text), "%.900s/keys/me/app.pub", data);
	assert_non_null(f = fopen(text, "r"));
	n = fread(pubkey, 1, sizeof(pubkey) - 1, f);
	fclose(f);
	pubkey[n] = '\0';
	pubkey[strcspn(pubkey, "\n")] = '\0';
	flips = 0;
	configure_next();
	/* The device at 1.0.0, confirmed; then 2.0.0 is published. */
	if (RUN(out, "update", "--root", dev, "app") != 0)
		fail_msg("update to %s: %s", V1, out);
	if (RUN(out, "confirm", "--root", dev, "app") != 0)
		fail_msg("confirm %s: %s", V1, out);
	if (main_holds(text, sizeof(text)) != &t1)
		fail_msg("after the first update: %s", text);
	publish(&t2);
	return 0;
}

static int
teardown(void **state)
{
	if (srv.pid > 0) {
		tl_server_stop(&srv);
		tl_rmtree(srv.tmp);
	}
	memset(&srv, 0, sizeof(srv));
	trees_free();
	return tl_dir_teardown(state);
}

/* ---- the test ---- */

struct tally {
	unsigned long v1, v2, exited, early, finished, resumed_runs, torn,
	    unfinished, stuck, boot_switched;
};

static void
kill_update_at_random(void **state)
{
	uint64_t seed, rounds = UC_ROUNDS, round;
	struct tally t = { 0 };
	char why[1600], out[4096];
	unsigned long ranges0, r_before, r_after;
	const struct tree *held;
	const char *env;
	double span, t0;
	bool bad;

	(void)state;
	if ((env = getenv("OTA_CRASH_ROUNDS")) != NULL)
		rounds = strtoull(env, NULL, 10);
	if ((env = getenv("OTA_CRASH_SEED")) != NULL)
		seed = strtoull(env, NULL, 0);
	else
		seed = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
	printf("update_crash: seed %llu (OTA_CRASH_SEED), %llu rounds\n",
	    (unsigned long long)seed, (unsigned long long)rounds);
	fflush(stdout);

	span = measure();
	ranges0 = ranges_seen();
	t0 = tl_now();
	for (round = 0; round < rounds; round++) {
		uint64_t r = tl_rng_next(&seed);
		long delay_us;
		struct timespec ts;
		int status;
		pid_t pid;

		if (round > 0 && round % UC_REMEASURE == 0)
			span = timed_cycle();
		if (r % 4 == 0) {
			delay_us = (long)((r >> 8) % UC_EARLY_US);
			t.early++;
		} else
			delay_us = (long)((r >> 8) % (uint64_t)(span * 1e6 +
			    1));
		ts.tv_sec = delay_us / 1000000;
		ts.tv_nsec = (delay_us % 1000000) * 1000;
		configure_next();
		pid = spawn_update();
		nanosleep(&ts, NULL);
		assert_int_equal(kill(pid, SIGKILL), 0);
		assert_int_equal(waitpid(pid, &status, 0), pid);
		bad = false;
		if (!WIFSIGNALED(status)) {
			/* It finished before the kill: it must have worked. */
			t.exited++;
			if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
				print_message("round %llu: the update failed "
				    "on its own (0x%x): %s\n",
				    (unsigned long long)round, status,
				    child_log());
				t.unfinished++;
				bad = true;
			}
		}
		/* What the application would import now. */
		if ((held = main_holds(why, sizeof(why))) == NULL) {
			t.torn++;
			print_message("round %llu (killed at %ld us): TORN: "
			    "%s\n", (unsigned long long)round, delay_us, why);
			bad = true;
		} else if (held == &t1)
			t.v1++;
		else
			t.v2++;
		/*
		 * The device boots: a release that was downloaded and
		 * verified whole before the kill is switched to here, with
		 * no request to the server.
		 */
		{
			int rc = RUN(out, "started", "--max-starts", "1000",
			    "--root", dev, "app");
			const struct tree *booted;

			booted = main_holds(why, sizeof(why));
			if (rc != 0 || booted == NULL ||
			    (booted != held && (held != &t1 ||
			    strstr(out, "switched to") == NULL))) {
				t.torn++;
				print_message("round %llu: the start after the "
				    "kill exited %d, main %s: %s\n",
				    (unsigned long long)round, rc, booted ?
				    booted->version : why, out);
				bad = true;
			} else if (booted != held)
				t.boot_switched++;
		}
		/* The next run finishes the job. */
		r_before = ranges_seen();
		{
			int rc = RUN(out, "update", "--retry-rejected",
			    "--root", dev, "app");

			held = main_holds(why, sizeof(why));
			if (rc != 0 || held != &t2) {
				t.unfinished++;
				print_message("round %llu (killed at %ld us): "
				    "the next update exited %d, main %s: "
				    "%s\n", (unsigned long long)round,
				    delay_us, rc, held ? held->version : why,
				    out);
				bad = true;
			} else
				t.finished++;
		}
		r_after = ranges_seen();
		if (r_after > r_before)
			t.resumed_runs++;
		/* Back to 1.0.0 for the next round. */
		if (held == &t2 && !roll_back(why, sizeof(why))) {
			t.stuck++;
			print_message("round %llu: %s\n",
			    (unsigned long long)round, why);
			bad = true;
		}
		if (bad && main_holds(why, sizeof(why)) != &t1) {
			print_message("update_crash: cannot go on from round "
			    "%llu\n", (unsigned long long)round);
			rounds = round + 1;
			break;
		}
	}
	printf("update_crash: %llu kills (%lu aimed at the first %d us, %lu "
	    "had exited) in %.1f s (a whole update takes %.1f ms): main %s "
	    "%lu, %s %lu; finished by the next run %lu/%llu; next runs that "
	    "resumed with Range %lu (%lu 206 answers); switched at the next "
	    "start without the network %lu; %lu torn, %lu rollbacks failed\n", (unsigned long long)rounds, t.early,
	    UC_EARLY_US, t.exited, tl_now() - t0, span * 1e3, V1, t.v1, V2,
	    t.v2, t.finished, (unsigned long long)rounds, t.resumed_runs,
	    ranges_seen() - ranges0, t.boot_switched, t.torn, t.stuck);
	fflush(stdout);
	assert_int_equal(t.torn, 0);
	assert_int_equal(t.unfinished, 0);
	assert_int_equal(t.stuck, 0);

	/* The check can fail: one byte of the running release changed. */
	{
		char p[PATH_MAX + 64];

		snprintf(p, sizeof(p), "%s/lib/util.py", mainp);
		assert_int_equal(tl_write_file(p, "torn", 4), 0);
		assert_null(main_holds(why, sizeof(why)));
		assert_non_null(strstr(why, "neither release"));
	}
}

/*
 * `ota rollback` then `ota update`, with the same feed URL: the release
 * rolled back from is not installed again (the device says so), and
 * --retry-rejected downloads and installs it once more (its slot was
 * removed). The ETag of the latest release's answer, saved when 2.0.0
 * was installed, must not survive the rollback, or the retry would get
 * a 304 and say "up to date (installed 1.0.0, latest 1.0.0)".
 */
static void
rollback_then_update(void **state)
{
	char out[2048], why[1200];
	const struct tree *held;

	(void)state;
	configure("127.0.0.1");
	assert_int_equal(RUN(out, "update", "--root", dev, "app"), 0);
	if (main_holds(why, sizeof(why)) != &t2)
		fail_msg("the first update: %s: %s", why, out);
	if (!roll_back(why, sizeof(why)))
		fail_msg("%s", why);
	assert_int_equal(RUN(out, "update", "--root", dev, "app"), 0);
	assert_non_null(strstr(out, "rolled back before"));
	if (main_holds(why, sizeof(why)) != &t1)
		fail_msg("a rejected version came back: %s: %s", why, out);
	assert_int_equal(RUN(out, "update", "--retry-rejected", "--root", dev,
	    "app"), 0);
	held = main_holds(why, sizeof(why));
	if (held != &t2)
		fail_msg("after a rollback, the retry left main at %s: "
		    "%s", held ? held->version : why, out);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(kill_update_at_random, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(rollback_then_update, setup,
		    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
