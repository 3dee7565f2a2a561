/*
 * apply_crash: SIGKILL the device side at random points while it stages,
 * commits, confirms and rolls back (micropython-ota-updater.md §10 cases
 * 16-20, 35), and check after each kill that main is exactly one whole
 * version (storage.h: "main names the old complete tree or the new one at
 * every instant").
 *
 * Two trees: A (1.0.0; four files, one of 256 KiB, and .version) and B
 * (2.0.0; four files, a different 256 KiB one, in other directories), so
 * a mix of the two is recognisable by its file list as much as by its
 * bytes. A forked child opens the module, recovers, and runs CHILD_OPS
 * operations: when the current version is confirmed it stages the other
 * tree (resuming whatever .part files a killed predecessor left) and
 * commits it; when it is on trial it confirms, rolls back, or counts a
 * start with a limit of one and rolls back when told to. Every
 * ADOPT_EVERY rounds the module is reset to a real main/ holding A, and
 * half of those kills land in the first ADOPT_AIM_US, so adoption is
 * killed too (half the children adopt with RENAME_EXCHANGE, half by the
 * two-step fallback); one round in four waits for the temp link of a
 * switch (.main.new) to appear and kills within SWITCH_AIM_US of it, so
 * the moments around the switch are hit often. The parent times a few
 * whole child runs, kills each child after a random delay of up to
 * CRASH_SPAN times the median,
 * then checks that main, before anything repairs it, holds exactly A or
 * exactly B (what the application would start; the one exception, counted
 * apart, is the window of the fallback adoption that storage.h documents,
 * where main is absent until recover makes the link), opens the module, runs
 * storage_recover and checks:
 *   - main is a link to a slot holding exactly A or exactly B: the same
 *     file list, every file byte for byte;
 *   - the state names that slot and that tree's version; the previous
 *     slot, if any, holds exactly the tree of the previous version;
 *   - the next operation (a confirm or a rollback) succeeds, and a
 *     child that finished before the kill exited 0.
 * At the end one full run must succeed, and a deliberately torn tree
 * must be caught by the check.
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

#include "client/storage.h"
#include "testlib.h"

#define CRASH_ROUNDS 200
#define CRASH_BIG (256 * 1024)
#define CRASH_TIMED_RUNS 3
#define CRASH_SPAN 1.2
#define CHILD_OPS 4
#define ADOPT_EVERY 10
#define ADOPT_AIM_US 3000
#define SWITCH_AIM_US 2000
#define TREE_FILES 5
#define VERSION_A "1.0.0"
#define VERSION_B "2.0.0"

struct tree {
	const char *version;
	struct tl_file f[TREE_FILES];
	size_t n;
};

static struct tree tree_a, tree_b;
static char base[PATH_MAX], root[PATH_MAX + 16], mod[PATH_MAX + 32];
static char mainp[PATH_MAX + 48], logpath[PATH_MAX + 16];

static void
tree_add(struct tree *t, const char *path, size_t len, unsigned seed)
{
	unsigned char *p;
	size_t k;

	assert_true(t->n < TREE_FILES);
	assert_non_null(p = malloc(len + 1));
	for (k = 0; k < len; k++)
		p[k] = (unsigned char)(k * 31 + seed * 101 + (k >> 8));
	snprintf(t->f[t->n].path, sizeof(t->f[t->n].path), "%s", path);
	t->f[t->n].data = p;
	t->f[t->n].len = len;
	t->n++;
}

static void
trees_make(void)
{
	tree_a.version = VERSION_A;
	tree_add(&tree_a, "app.py", 300, 1);
	tree_add(&tree_a, "lib/big.bin", CRASH_BIG, 2);
	tree_add(&tree_a, "lib/util.py", 4000, 3);
	tree_add(&tree_a, "data/cfg.json", 50, 4);
	snprintf(tree_a.f[tree_a.n].path, sizeof(tree_a.f[tree_a.n].path),
	    ".version");
	tree_a.f[tree_a.n].data = (unsigned char *)strdup(VERSION_A "\n");
	tree_a.f[tree_a.n].len = strlen(VERSION_A) + 1;
	tree_a.n++;
	tree_b.version = VERSION_B;
	tree_add(&tree_b, "app.py", 320, 11);
	tree_add(&tree_b, "big.bin", CRASH_BIG, 12);
	tree_add(&tree_b, "lib/new.py", 5000, 13);
	tree_add(&tree_b, "lib/sub/x.py", 70, 14);
}

static void
trees_free(void)
{
	size_t i;

	for (i = 0; i < tree_a.n; i++)
		free(tree_a.f[i].data);
	for (i = 0; i < tree_b.n; i++)
		free(tree_b.f[i].data);
	memset(&tree_a, 0, sizeof(tree_a));
	memset(&tree_b, 0, sizeof(tree_b));
}

static void
mkdirs_for(const char *path)
{
	char p[PATH_MAX + 48 + 130], *s;

	snprintf(p, sizeof(p), "%s", path);
	for (s = strchr(p + 1, '/'); s != NULL; s = strchr(s + 1, '/')) {
		*s = '\0';
		(void)mkdir(p, 0755);
		*s = '/';
	}
}

/* The module reset to a real main/ holding A (the seed's layout). */
static void
module_reset(void)
{
	char p[PATH_MAX + 48 + 130];
	size_t i;

	tl_rmtree(mod);
	for (i = 0; i < tree_a.n; i++) {
		snprintf(p, sizeof(p), "%s/%s", mainp, tree_a.f[i].path);
		mkdirs_for(p);
		assert_int_equal(tl_write_file(p, tree_a.f[i].data,
		    tree_a.f[i].len), 0);
	}
}

/* ---- the check ---- */

static bool
tree_is(const char *dir, const struct tree *t, char *why, size_t whysz)
{
	return tl_tree_is(dir, t->version, t->f, t->n, why, whysz);
}

static const struct tree *
tree_of(const char *version)
{
	if (strcmp(version, VERSION_A) == 0)
		return &tree_a;
	if (strcmp(version, VERSION_B) == 0)
		return &tree_b;
	return NULL;
}

/*
 * The module after recovery: main a link to a slot holding exactly A or
 * B, and the state saying so. *which is the tree main holds.
 */
static bool
module_whole(struct storage *st, const struct tree **which, char *why,
    size_t whysz)
{
	char link[128], p[PATH_MAX + 64], why_a[300], why_b[300];
	struct ota_state s;
	const struct tree *t;
	struct stat sb;
	ssize_t n;

	*which = NULL;
	if (lstat(mainp, &sb) != 0 || !S_ISLNK(sb.st_mode)) {
		snprintf(why, whysz, "main is not a link");
		return false;
	}
	if ((n = readlink(mainp, link, sizeof(link) - 1)) < 0) {
		snprintf(why, whysz, "main unreadable");
		return false;
	}
	link[n] = '\0';
	if (tree_is(mainp, &tree_a, why_a, sizeof(why_a)))
		*which = &tree_a;
	else if (tree_is(mainp, &tree_b, why_b, sizeof(why_b)))
		*which = &tree_b;
	else {
		snprintf(why, whysz, "main (%s) is neither tree: %s; %s", link,
		    why_a, why_b);
		return false;
	}
	storage_state_get(st, &s);
	snprintf(p, sizeof(p), ".ota/slots/%s", s.current_slot);
	if (strcmp(p, link) != 0 || strcmp(s.current, (*which)->version) != 0 ||
	    s.reconstructed) {
		snprintf(why, whysz, "main -> %s holds %s; the state says %s "
		    "in %s%s", link, (*which)->version, s.current,
		    s.current_slot, s.reconstructed ? " (rebuilt)" : "");
		return false;
	}
	if (s.previous_slot[0] != '\0') {
		snprintf(p, sizeof(p), "%.4000s/.ota/slots/%s", mod,
		    s.previous_slot);
		if ((t = tree_of(s.previous)) == NULL ||
		    !tree_is(p, t, why_a, sizeof(why_a))) {
			snprintf(why, whysz, "previous %s in %s is not whole: "
			    "%s", s.previous, s.previous_slot, t ? why_a :
			    "unknown version");
			return false;
		}
	}
	return true;
}

/* ---- the child ---- */

static void
child_fail(const char *what, enum ota_status rc, const char *err)
{
	fprintf(stderr, "child: %s: %s: %s\n", what, ota_status_str(rc), err);
	_exit(3);
}

static void
stage_tree(struct storage *st, const struct tree *t)
{
	char err[256] = "";
	enum ota_status rc;
	uint64_t have;
	size_t i;
	int fd;

	if ((rc = storage_stage_begin(st, t->version, false, err, sizeof(err))) !=
	    OTA_OK)
		child_fail("stage_begin", rc, err);
	for (i = 0; i < t->n; i++) {
		rc = storage_stage_file(st, t->f[i].path, &fd, &have);
		if (rc == OTA_E_EXISTS && have == t->f[i].len)
			continue;
		if (rc == OTA_OK && have > t->f[i].len) {
			close(fd);
			rc = storage_stage_discard(st, t->f[i].path);
			if (rc == OTA_OK)
				rc = storage_stage_file(st, t->f[i].path, &fd,
				    &have);
		}
		if (rc != OTA_OK)
			child_fail(t->f[i].path, rc, "stage_file");
		/* resume where the killed run stopped */
		if (write(fd, t->f[i].data + have, t->f[i].len - have) !=
		    (ssize_t)(t->f[i].len - have))
			child_fail(t->f[i].path, OTA_E_IO, strerror(errno));
		close(fd);
		if ((rc = storage_stage_done(st, t->f[i].path)) != OTA_OK)
			child_fail(t->f[i].path, rc, "stage_done");
	}
}

static void
child_run(uint64_t seed)
{
	struct ota_state s;
	struct storage *st = NULL;
	const struct tree *next;
	char err[256] = "";
	enum ota_status rc;
	bool roll;
	int op;

	if ((rc = storage_open(&st, root, "m", err, sizeof(err))) != OTA_OK)
		child_fail("open", rc, err);
	/* Half the children adopt by the two-step fallback. */
	storage_test_no_exchange(st, seed & 1);
	if ((rc = storage_recover(st, NULL, err, sizeof(err))) != OTA_OK)
		child_fail("recover", rc, err);
	for (op = 0; op < CHILD_OPS; op++) {
		storage_state_get(st, &s);
		if (!s.trial) {
			next = strcmp(s.current, VERSION_A) == 0 ? &tree_b :
			    &tree_a;
			stage_tree(st, next);
			if ((rc = storage_commit(st, next->version, 0, err,
			    sizeof(err))) != OTA_OK)
				child_fail("commit", rc, err);
			continue;
		}
		switch (tl_rng_next(&seed) % 3) {
		case 0:
			if ((rc = storage_confirm(st)) != OTA_OK)
				child_fail("confirm", rc, "");
			break;
		case 1:
			if ((rc = storage_trial_start(st, 1, 0, &roll)) !=
			    OTA_OK)
				child_fail("trial_start", rc, "");
			if (!roll)
				break;
			/* FALLTHROUGH */
		default:
			if ((rc = storage_rollback(st, err, sizeof(err))) !=
			    OTA_OK)
				child_fail("rollback", rc, err);
			break;
		}
	}
	storage_free(st);
	_exit(0);
}

static pid_t
spawn(uint64_t seed)
{
	pid_t pid;
	int fd;

	fflush(stdout);
	fflush(stderr);
	assert_true((pid = fork()) >= 0);
	if (pid == 0) {
		fd = open(logpath, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (fd < 0 || dup2(fd, 2) < 0)
			_exit(126);
		child_run(seed);
	}
	return pid;
}

static char *
child_log(void)
{
	static char buf[512];
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

static void
run_to_end(uint64_t seed)
{
	int status;
	pid_t pid = spawn(seed);

	assert_int_equal(waitpid(pid, &status, 0), pid);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		fail_msg("child run: status 0x%x: %s", status, child_log());
}

struct tally {
	unsigned long a, b, exited, adopted, commits, rollbacks, temps,
	    orphans, rebuilt, torn, torn_before, gap, aimed;
};

/* Recover, check, and take the next step; false (why set) if torn. */
static bool
check_round(uint64_t *seed, bool fallback, struct tally *t, char *why,
    size_t whysz)
{
	struct storage *st = NULL;
	struct stat sb;
	const struct tree *which;
	char err[256] = "";
	enum ota_status rc;
	unsigned did;
	bool ok = false;

	/*
	 * What the application sees if it starts now, before any recovery:
	 * main (a real directory or a link) holds exactly one tree.
	 */
	if (fallback && lstat(mainp, &sb) != 0 && errno == ENOENT)
		t->gap++;	/* the fallback's one documented window */
	else if (!tree_is(mainp, &tree_a, why, whysz) &&
	    !tree_is(mainp, &tree_b, why, whysz)) {
		t->torn_before++;
		return false;
	}
	if ((rc = storage_open(&st, root, "m", err, sizeof(err))) != OTA_OK ||
	    (rc = storage_recover(st, &did, err, sizeof(err))) != OTA_OK) {
		snprintf(why, whysz, "open/recover: %s: %s",
		    ota_status_str(rc), err);
		goto out;
	}
	t->adopted += (did & STORAGE_DID_ADOPT) != 0;
	t->commits += (did & STORAGE_DID_COMMIT) != 0;
	t->rollbacks += (did & STORAGE_DID_ROLLBACK) != 0;
	t->temps += (did & STORAGE_DID_TEMPS) != 0;
	t->orphans += (did & STORAGE_DID_ORPHANS) != 0;
	t->rebuilt += (did & STORAGE_DID_REBUILD) != 0;
	if (!module_whole(st, &which, why, whysz))
		goto out;
	if (which == &tree_a)
		t->a++;
	else
		t->b++;
	/* The next operation succeeds, and leaves a whole module. */
	if (tl_rng_next(seed) % 2 == 0)
		rc = storage_confirm(st);
	else {
		rc = storage_rollback(st, err, sizeof(err));
		if (rc == OTA_E_NOTFOUND)
			rc = OTA_OK;
	}
	if (rc != OTA_OK) {
		snprintf(why, whysz, "the next operation: %s: %s",
		    ota_status_str(rc), err);
		goto out;
	}
	if (!module_whole(st, &which, why, whysz))
		goto out;
	ok = true;
out:
	storage_free(st);
	return ok;
}

static void
kill_apply_at_random(void **state)
{
	uint64_t seed, rounds = CRASH_ROUNDS, round;
	struct tally t = { 0 };
	double times[CRASH_TIMED_RUNS], median, t0;
	char why[1024], newlink[PATH_MAX + 48];
	struct stat sb;
	const char *env;
	int i, j;

	(void)state;
	if ((env = getenv("OTA_CRASH_ROUNDS")) != NULL)
		rounds = strtoull(env, NULL, 10);
	if ((env = getenv("OTA_CRASH_SEED")) != NULL)
		seed = strtoull(env, NULL, 0);
	else
		seed = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
	printf("apply_crash: seed %llu (OTA_CRASH_SEED), %llu rounds\n",
	    (unsigned long long)seed, (unsigned long long)rounds);
	fflush(stdout);
	trees_make();
	assert_int_equal(tl_mkdtemp(base, sizeof(base)), 0);
	snprintf(root, sizeof(root), "%s/root", base);
	snprintf(mod, sizeof(mod), "%s/m", root);
	snprintf(mainp, sizeof(mainp), "%s/main", mod);
	snprintf(newlink, sizeof(newlink), "%s/.main.new", mod);
	snprintf(logpath, sizeof(logpath), "%s/child.log", base);
	assert_int_equal(mkdir(root, 0755), 0);

	/* Whole runs from a fresh adoption, timed. */
	for (i = 0; i < CRASH_TIMED_RUNS; i++) {
		module_reset();
		t0 = tl_now();
		run_to_end(tl_rng_next(&seed));
		times[i] = tl_now() - t0;
		if (!check_round(&seed, false, &t, why, sizeof(why)))
			fail_msg("after a whole run: %s", why);
	}
	for (i = 0; i < CRASH_TIMED_RUNS; i++)
		for (j = i + 1; j < CRASH_TIMED_RUNS; j++)
			if (times[j] < times[i]) {
				median = times[i];
				times[i] = times[j];
				times[j] = median;
			}
	median = times[CRASH_TIMED_RUNS / 2];
	memset(&t, 0, sizeof(t));

	t0 = tl_now();
	for (round = 0; round < rounds; round++) {
		uint64_t r = tl_rng_next(&seed);
		long delay_us = (long)(r % (uint64_t)(median * CRASH_SPAN *
		    1e6 + 1));
		struct timespec ts = { delay_us / 1000000,
		    (delay_us % 1000000) * 1000 };
		uint64_t child_seed;
		int status;
		pid_t pid;

		if (round % ADOPT_EVERY == 0) {
			module_reset();
			/* aim at the adoption, at the very start */
			if (r & 0x100) {
				delay_us = (long)(r % ADOPT_AIM_US);
				ts.tv_sec = 0;
				ts.tv_nsec = delay_us * 1000;
			}
		}
		child_seed = tl_rng_next(&seed);
		pid = spawn(child_seed);
		if (round % ADOPT_EVERY != 0 && round % 4 == 1) {
			/*
			 * Aim at a switch: wait for the temp link, then kill
			 * within SWITCH_AIM_US. (A child that ended is a
			 * zombie, still there to kill.)
			 */
			double until = tl_now() + 2 * median;

			while (lstat(newlink, &sb) != 0 && tl_now() < until)
				;
			delay_us = (long)(r % SWITCH_AIM_US);
			ts.tv_sec = 0;
			ts.tv_nsec = delay_us * 1000;
			t.aimed++;
		}
		nanosleep(&ts, NULL);
		assert_int_equal(kill(pid, SIGKILL), 0);
		assert_int_equal(waitpid(pid, &status, 0), pid);
		if (!WIFSIGNALED(status)) {
			t.exited++;
			if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
				t.torn++;
				print_message("round %llu: the child failed "
				    "(0x%x): %s\n", (unsigned long long)round,
				    status, child_log());
				continue;
			}
		}
		if (!check_round(&seed, child_seed & 1, &t, why,
		    sizeof(why))) {
			t.torn++;
			print_message("round %llu (killed at %ld us): TORN: "
			    "%s\n", (unsigned long long)round, delay_us, why);
		}
	}
	printf("apply_crash: %llu kills (%lu aimed at a switch) in %.1f s (a "
	    "run of %d operations takes %.1f ms): A %lu, B %lu; %lu had "
	    "exited; recovered %lu half-commits, %lu half-rollbacks, %lu "
	    "adoptions; removed temps %lu times, orphan slots %lu times; "
	    "%lu states rebuilt; %lu torn (%lu of them before recovery); "
	    "main absent in the fallback adoption's window %lu times\n",
	    (unsigned long long)rounds, t.aimed, tl_now() - t0, CHILD_OPS,
	    median * 1e3, t.a, t.b, t.exited, t.commits, t.rollbacks,
	    t.adopted, t.temps, t.orphans, t.rebuilt, t.torn, t.torn_before,
	    t.gap);
	fflush(stdout);
	assert_int_equal(t.torn, 0);

	/* The module still takes a whole run. */
	run_to_end(tl_rng_next(&seed));
	assert_true(check_round(&seed, false, &t, why, sizeof(why)));

	/* The check can fail: a file of the current tree changed. */
	{
		char p[PATH_MAX + 64];
		struct storage *st = NULL;
		const struct tree *which;

		snprintf(p, sizeof(p), "%s/app.py", mainp);
		assert_int_equal(tl_write_file(p, "torn", 4), 0);
		assert_int_equal(storage_open(&st, root, "m", why,
		    sizeof(why)), OTA_OK);
		assert_false(module_whole(st, &which, why, sizeof(why)));
		assert_non_null(strstr(why, "neither tree"));
		storage_free(st);
	}
	tl_rmtree(base);
	trees_free();
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(kill_apply_at_random),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
