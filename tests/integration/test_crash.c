/*
 * crash: kill a writer at random points and check that what is on disk is
 * the old or the new state, never torn (DEVELOPERS.md).
 *
 * Each round forks a child that loops forever: fsatomic_write of version A
 * or B of one 256 KiB file, then blobstore_put_mem of a random blob (some
 * from a small fixed set, so dedup is exercised too). The parent SIGKILLs
 * it after a random 0-20 ms and checks, with the child dead:
 *   - the file is exactly A or exactly B (it was created before the first
 *     round, so it may never be missing, short, or a mix);
 *   - every file in blobs/sha256 hashes to its own name;
 *   - after fsatomic_clean_stale and blobstore_open no temp is left.
 * A SIGKILL stops the process, not the kernel: this proves the ordering of
 * our steps, not the durability that the fsyncs add against power loss.
 *
 * OTA_CRASH_ROUNDS sets the number of kills (default CRASH_ROUNDS);
 * OTA_CRASH_SEED replays a run (the seed is printed).
 */
#include <dirent.h>
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

#include "common/fsatomic.h"
#include "server/blobstore.h"
#include "testlib.h"

#define CRASH_ROUNDS 200
#define CRASH_MAX_DELAY_US 20000
#define CRASH_FILE_SIZE (256 * 1024)
#define CRASH_BLOB_MAX (48 * 1024)
#define CRASH_FIXED_BLOBS 4

static unsigned char ver_a[CRASH_FILE_SIZE], ver_b[CRASH_FILE_SIZE];
static unsigned char readback[CRASH_FILE_SIZE + 1];

/*
 * Self-describing content: every 64-byte line reads "ota-crash version X
 * line NNNNNN" padded with the version letter, so a torn file shows which
 * versions it mixes and where.
 */
static void
make_version(unsigned char *p, char v)
{
	size_t line;

	for (line = 0; line < CRASH_FILE_SIZE / 64; line++) {
		char *l = (char *)p + line * 64;
		int n = snprintf(l, 64, "ota-crash version %c line %06zu ", v,
		    line);

		memset(l + n, v, 63 - (size_t)n);
		l[63] = '\n';
	}
}

static void
child_die(const char *what)
{
	char msg[256];
	int n = snprintf(msg, sizeof(msg), "crash child: %s failed\n", what);

	if (write(2, msg, (size_t)n) < 0)
		_exit(3);
	_exit(2);
}

/* The writer. Never returns: killed by the parent, or _exit(2) on error. */
static void
child_run(const char *target, const char *root, uint64_t seed, int progress)
{
	static unsigned char blob[CRASH_BLOB_MAX];
	char hex[BLOBSTORE_HEX_LEN + 1];
	struct blobstore *bs = NULL;
	uint64_t i;

	if (blobstore_open(&bs, root) != OTA_OK)
		child_die("blobstore_open");
	for (i = 0;; i++) {
		uint64_t r = tl_rng_next(&seed);
		size_t n = 1 + (size_t)(r % CRASH_BLOB_MAX), k;

		if (fsatomic_write(target, (r >> 32) & 1 ? ver_b : ver_a,
		    CRASH_FILE_SIZE, 0644) != OTA_OK)
			child_die("fsatomic_write");
		if (write(progress, "w", 1) != 1)
			child_die("progress write");
		if ((r >> 40) % 2 == 0) {
			/* One of a few fixed blobs: often a dedup. */
			n = 1000 * (1 + (size_t)((r >> 48) % CRASH_FIXED_BLOBS));
			memset(blob, 'a' + (int)(n / 1000), n);
		} else {
			for (k = 0; k < n; k++)
				blob[k] = (unsigned char)tl_rng_next(&seed);
		}
		if (blobstore_put_mem(bs, blob, n, hex) != OTA_OK)
			child_die("blobstore_put_mem");
	}
}

/* Temps in dir (fsatomic names); every other name goes to fn if not NULL. */
static int
scan_dir(const char *dir, void (*fn)(const char *, void *), void *arg)
{
	struct dirent *de;
	DIR *d = opendir(dir);
	int temps = 0;

	assert_non_null(d);
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		if (fsatomic_is_temp_name(de->d_name))
			temps++;
		else if (fn != NULL)
			fn(de->d_name, arg);
	}
	closedir(d);
	return temps;
}

static void
verify_blob(const char *name, void *arg)
{
	enum ota_status st = blobstore_verify(arg, name);

	if (st != OTA_OK)
		fail_msg("blob %s: %s", name, ota_status_str(st));
}

static void
count_one(const char *name, void *arg)
{
	(void)name;
	(*(int *)arg)++;
}

/* 'A' or 'B' for the version at path; fails the test otherwise. */
static char
read_version(const char *path)
{
	size_t got = 0;
	ssize_t r;
	int fd = open(path, O_RDONLY);

	if (fd < 0)
		fail_msg("target missing: %s", strerror(errno));
	while ((r = read(fd, readback + got, sizeof(readback) - got)) > 0)
		got += (size_t)r;
	close(fd);
	assert_true(r == 0);
	if (got == CRASH_FILE_SIZE && memcmp(readback, ver_a, got) == 0)
		return 'A';
	if (got == CRASH_FILE_SIZE && memcmp(readback, ver_b, got) == 0)
		return 'B';
	fail_msg("torn target: %zu bytes, starts \"%.*s\"", got,
	    (int)(got < 40 ? got : 40), (const char *)readback);
	return '?';
}

static void
remove_blob(const char *name, void *arg)
{
	char path[PATH_MAX * 2];

	snprintf(path, sizeof(path), "%s/%s", (const char *)arg, name);
	assert_int_equal(unlink(path), 0);
}

static void
kill_at_random(void **state)
{
	char base[PATH_MAX], target[PATH_MAX * 2], root[PATH_MAX * 2];
	char sha[PATH_MAX * 3], tmp[PATH_MAX * 3], drain[4096];
	struct blobstore *bs = NULL;
	const char *env;
	uint64_t seed, rounds = CRASH_ROUNDS, round;
	unsigned long seen[2] = { 0, 0 }, torn_temps = 0, writes = 0;
	unsigned long blobs = 0;
	double t0 = tl_now();

	(void)state;
	if ((env = getenv("OTA_CRASH_ROUNDS")) != NULL)
		rounds = strtoull(env, NULL, 10);
	if ((env = getenv("OTA_CRASH_SEED")) != NULL)
		seed = strtoull(env, NULL, 0);
	else
		seed = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
	printf("crash: seed %llu (OTA_CRASH_SEED to replay), %llu rounds\n",
	    (unsigned long long)seed, (unsigned long long)rounds);
	fflush(stdout);

	make_version(ver_a, 'A');
	make_version(ver_b, 'B');
	assert_int_equal(tl_mkdtemp(base, sizeof(base)), 0);
	snprintf(target, sizeof(target), "%s/state.bin", base);
	snprintf(root, sizeof(root), "%s/store", base);
	snprintf(sha, sizeof(sha), "%s/blobs/sha256", root);
	snprintf(tmp, sizeof(tmp), "%s/blobs/tmp", root);
	assert_int_equal(fsatomic_write(target, ver_a, CRASH_FILE_SIZE, 0644),
	    OTA_OK);
	assert_int_equal(blobstore_open(&bs, root), OTA_OK);
	blobstore_free(bs);

	for (round = 0; round < rounds; round++) {
		uint64_t r = tl_rng_next(&seed);
		struct timespec delay;
		int pfd[2], status, temps, left = 0;
		ssize_t n;
		pid_t pid;
		char v;

		assert_int_equal(pipe(pfd), 0);
		assert_true((pid = fork()) >= 0);
		if (pid == 0) {
			close(pfd[0]);
			child_run(target, root, tl_rng_next(&seed), pfd[1]);
		}
		close(pfd[1]);
		delay.tv_sec = 0;
		delay.tv_nsec = (long)(r % (CRASH_MAX_DELAY_US + 1)) * 1000;
		nanosleep(&delay, NULL);
		assert_int_equal(kill(pid, SIGKILL), 0);
		assert_int_equal(waitpid(pid, &status, 0), pid);
		if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGKILL)
			fail_msg("round %llu: child exited on its own (%d)",
			    (unsigned long long)round, status);
		while ((n = read(pfd[0], drain, sizeof(drain))) > 0)
			writes += (unsigned long)n;
		close(pfd[0]);

		/* The state the crash left, before anyone tidies up. */
		v = read_version(target);
		seen[v == 'B']++;
		temps = scan_dir(base, NULL, NULL) + scan_dir(tmp, NULL, NULL);
		bs = NULL;
		assert_int_equal(blobstore_open(&bs, root), OTA_OK);
		/* blobstore_open already cleaned sha/; count what it did not
		 * touch (the whole blobs/tmp is checked below). */
		temps += scan_dir(sha, verify_blob, bs);
		torn_temps += temps > 0;

		/* Recovery: nothing of a temp remains. */
		assert_int_equal(fsatomic_clean_stale(base), OTA_OK);
		assert_int_equal(scan_dir(base, NULL, NULL), 0);
		assert_int_equal(scan_dir(tmp, count_one, &left), 0);
		assert_int_equal(left, 0);
		assert_int_equal(scan_dir(sha, count_one, &left), 0);
		blobs += (unsigned long)left;
		/* Keep every round's blob check small. */
		assert_int_equal(scan_dir(sha, remove_blob, sha), 0);
		blobstore_free(bs);
	}
	tl_rmtree(base);
	printf("crash: %llu kills in %.1f s: found A %lu, B %lu; "
	    "%lu writes completed, %lu blobs verified, "
	    "temps left by %lu kills (all cleaned)\n",
	    (unsigned long long)rounds, tl_now() - t0, seen[0], seen[1],
	    writes, blobs, torn_temps);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(kill_at_random),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
