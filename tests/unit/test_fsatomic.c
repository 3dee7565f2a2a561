/*
 * fsatomic: create and replace, exact mode, streaming commit and abort,
 * temp names (never the final name, recognised as stale), stale cleanup,
 * and failures that must leave the old file and no temp behind.
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
#include "testlib.h"

/* Asserts that the file name in tl_dir holds exactly p[n]. */
static void
assert_content(const char *name, const void *p, size_t n)
{
	char path[PATH_MAX * 2], got[4096];
	ssize_t r;
	int fd;

	tl_path(path, sizeof(path), name);
	assert_true(n < sizeof(got));
	fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	r = read(fd, got, sizeof(got));
	close(fd);
	assert_int_equal(r, n);
	assert_memory_equal(got, p, n);
}

/* Entries in tl_dir other than "." and "..". */
static int
count_entries(void)
{
	struct dirent *de;
	DIR *d = opendir(tl_dir);
	int n = 0;

	assert_non_null(d);
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 &&
		    strcmp(de->d_name, "..") != 0)
			n++;
	closedir(d);
	return n;
}

static void
create_and_replace(void **state)
{
	char path[PATH_MAX * 2];

	(void)state;
	tl_path(path, sizeof(path), "state.json");
	assert_int_equal(fsatomic_write(path, "old", 3, 0644), OTA_OK);
	assert_content("state.json", "old", 3);
	assert_int_equal(fsatomic_write(path, "newer!", 6, 0644), OTA_OK);
	assert_content("state.json", "newer!", 6);
	assert_int_equal(fsatomic_write(path, "", 0, 0644), OTA_OK);
	assert_content("state.json", "", 0);
	assert_int_equal(count_entries(), 1);
}

static void
mode_is_exact(void **state)
{
	char path[PATH_MAX * 2];
	mode_t old = umask(077);
	struct stat sb;

	(void)state;
	tl_path(path, sizeof(path), "m");
	assert_int_equal(fsatomic_write(path, "x", 1, 0640), OTA_OK);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 07777, 0640);
	assert_int_equal(fsatomic_write(path, "y", 1, 0600), OTA_OK);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 07777, 0600);
	umask(old);
}

static void
relative_path(void **state)
{
	char cwd[PATH_MAX];

	(void)state;
	assert_non_null(getcwd(cwd, sizeof(cwd)));
	assert_int_equal(chdir(tl_dir), 0);
	assert_int_equal(fsatomic_write("rel", "r", 1, 0644), OTA_OK);
	assert_int_equal(chdir(cwd), 0);
	assert_content("rel", "r", 1);
	assert_int_equal(count_entries(), 1);
}

static void
streaming_commit(void **state)
{
	char path[PATH_MAX * 2];
	struct fsatomic a;
	struct stat sb;

	(void)state;
	tl_path(path, sizeof(path), "big.bin");
	assert_int_equal(fsatomic_write(path, "old", 3, 0644), OTA_OK);
	assert_int_equal(fsatomic_open(&a, path, 0644), OTA_OK);
	/* The temp is a sibling, never the final name, and looks stale. */
	assert_string_not_equal(a.tmp, a.path);
	assert_int_equal(strncmp(a.tmp, tl_dir, strlen(tl_dir)), 0);
	assert_int_equal(a.tmp[strlen(tl_dir)], '/');
	assert_null(strchr(a.tmp + strlen(tl_dir) + 1, '/'));
	assert_true(fsatomic_is_temp_name(a.tmp + strlen(tl_dir) + 1));
	assert_int_equal(stat(a.tmp, &sb), 0);
	assert_int_equal(fsatomic_write_chunk(&a, "ne", 2), OTA_OK);
	assert_int_equal(fsatomic_write_chunk(&a, "w!", 2), OTA_OK);
	/* Not visible before the commit. */
	assert_content("big.bin", "old", 3);
	assert_int_equal(fsatomic_commit(&a), OTA_OK);
	assert_content("big.bin", "new!", 4);
	assert_int_equal(count_entries(), 1);
	/* Abort after commit: harmless, and the committed file stays. */
	fsatomic_abort(&a);
	assert_content("big.bin", "new!", 4);
	assert_int_equal(fsatomic_write_chunk(&a, "x", 1), OTA_E_INVALID);
	assert_int_equal(fsatomic_commit(&a), OTA_E_INVALID);
}

static void
abort_leaves_old(void **state)
{
	char path[PATH_MAX * 2], tmp[PATH_MAX];
	struct fsatomic a, never;
	struct stat sb;

	(void)state;
	memset(&never, 0, sizeof(never));
	fsatomic_abort(&never);
	tl_path(path, sizeof(path), "f");
	assert_int_equal(fsatomic_write(path, "old", 3, 0644), OTA_OK);
	assert_int_equal(fsatomic_open(&a, path, 0644), OTA_OK);
	assert_int_equal(fsatomic_write_chunk(&a, "partial", 7), OTA_OK);
	memcpy(tmp, a.tmp, sizeof(tmp));
	fsatomic_abort(&a);
	fsatomic_abort(&a);
	assert_int_equal(stat(tmp, &sb), -1);
	assert_content("f", "old", 3);
	assert_int_equal(count_entries(), 1);
	/* Abort of a new file: nothing appears at all. */
	tl_path(path, sizeof(path), "g");
	assert_int_equal(fsatomic_open(&a, path, 0644), OTA_OK);
	fsatomic_abort(&a);
	assert_int_equal(stat(path, &sb), -1);
	assert_int_equal(count_entries(), 1);
}

static void
temp_names_unique(void **state)
{
	char path[PATH_MAX * 2];
	struct fsatomic a, b;

	(void)state;
	tl_path(path, sizeof(path), "u");
	assert_int_equal(fsatomic_open(&a, path, 0644), OTA_OK);
	assert_int_equal(fsatomic_open(&b, path, 0644), OTA_OK);
	assert_string_not_equal(a.tmp, b.tmp);
	assert_int_equal(fsatomic_write_chunk(&a, "a", 1), OTA_OK);
	assert_int_equal(fsatomic_write_chunk(&b, "b", 1), OTA_OK);
	assert_int_equal(fsatomic_commit(&a), OTA_OK);
	assert_int_equal(fsatomic_commit(&b), OTA_OK);
	assert_content("u", "b", 1);
	assert_int_equal(count_entries(), 1);
}

static void
long_name(void **state)
{
	char name[256], path[PATH_MAX * 2];

	(void)state;
	memset(name, 'n', 250);
	name[250] = '\0';
	tl_path(path, sizeof(path), name);
	assert_int_equal(fsatomic_write(path, "L", 1, 0644), OTA_OK);
	assert_content(name, "L", 1);
}

static void
failure_leaves_old(void **state)
{
	char path[PATH_MAX * 2], sub[PATH_MAX * 2];

	(void)state;
	/* No such directory. */
	tl_path(path, sizeof(path), "missing/f");
	assert_int_equal(fsatomic_write(path, "x", 1, 0644), OTA_E_NOTFOUND);
	/* The target is a directory: the rename fails, temp removed. */
	tl_path(sub, sizeof(sub), "d");
	assert_int_equal(mkdir(sub, 0755), 0);
	assert_int_not_equal(fsatomic_write(sub, "x", 1, 0644), OTA_OK);
	assert_int_equal(count_entries(), 1);
	/* A trailing slash names no file. */
	tl_path(path, sizeof(path), "d/");
	assert_int_equal(fsatomic_write(path, "x", 1, 0644), OTA_E_INVALID);
	/* A directory we may not write into (root may write anywhere). */
	tl_path(path, sizeof(path), "d/f");
	assert_int_equal(fsatomic_write(path, "old", 3, 0644), OTA_OK);
	if (geteuid() != 0) {
		assert_int_equal(chmod(sub, 0555), 0);
		assert_int_equal(fsatomic_write(path, "new", 3, 0644),
		    OTA_E_FORBIDDEN);
		assert_int_equal(chmod(sub, 0755), 0);
	}
	assert_content("d/f", "old", 3);
}

static void
stale_cleanup(void **state)
{
	/* No process has pid 1073741823 (pid_max is at most 2^22). */
	static const char *const stale[] = { ".fw.bin.tmp.1073741823.0",
	    ".a.tmp.1073741823.99", ".x.y.tmp.1073741823.5" };
	static const char *const keep[] = { "fw.bin", ".fw.bin.tmp.",
	    ".fw.tmp.1", ".fw.tmp.1.x", "..tmp.1.2", "fw.tmp.1.2",
	    ".fw.tmp.1.2.bak", ".hidden" };
	char path[PATH_MAX * 2];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(stale) / sizeof(stale[0]); i++) {
		assert_true(fsatomic_is_temp_name(stale[i]));
		tl_path(path, sizeof(path), stale[i]);
		assert_int_equal(tl_write_file(path, "s", 1), 0);
	}
	for (i = 0; i < sizeof(keep) / sizeof(keep[0]); i++) {
		assert_false(fsatomic_is_temp_name(keep[i]));
		tl_path(path, sizeof(path), keep[i]);
		assert_int_equal(tl_write_file(path, "k", 1), 0);
	}
	/* A directory with a temp-like name is not ours to remove. */
	tl_path(path, sizeof(path), ".d.tmp.1.2");
	assert_int_equal(mkdir(path, 0755), 0);
	assert_int_equal(fsatomic_clean_stale(tl_dir), OTA_OK);
	assert_int_equal(count_entries(),
	    (int)(sizeof(keep) / sizeof(keep[0])) + 1);
	for (i = 0; i < sizeof(keep) / sizeof(keep[0]); i++)
		assert_content(keep[i], "k", 1);
	tl_path(path, sizeof(path), "nope");
	assert_int_equal(fsatomic_clean_stale(path), OTA_E_NOTFOUND);
}

/* commit_new takes a free name, and never replaces one that exists. */
static void
commit_new(void **state)
{
	struct fsatomic a = { 0 }, b = { 0 };
	char path[PATH_MAX * 2];

	(void)state;
	tl_path(path, sizeof(path), "k");
	assert_int_equal(fsatomic_open(&a, path, 0600), OTA_OK);
	assert_int_equal(fsatomic_open(&b, path, 0600), OTA_OK);
	assert_int_equal(fsatomic_write_chunk(&a, "first", 5), OTA_OK);
	assert_int_equal(fsatomic_write_chunk(&b, "second", 6), OTA_OK);
	assert_int_equal(fsatomic_commit_new(&a), OTA_OK);
	/* The name appeared after b was opened: b loses, cleanly. */
	assert_int_equal(fsatomic_commit_new(&b), OTA_E_EXISTS);
	assert_content("k", "first", 5);
	assert_int_equal(count_entries(), 1);	/* no temp left */
	fsatomic_abort(&b);
}

/* A temp whose writer still runs is kept, unless untouched for a day. */
static void
stale_live_writer(void **state)
{
	char live[PATH_MAX * 2], old[PATH_MAX * 2], name[64];
	struct timespec ts[2];
	pid_t pid;
	int status;

	(void)state;
	if ((pid = fork()) == 0) {
		pause();
		_exit(0);
	}
	assert_true(pid > 0);
	snprintf(name, sizeof(name), ".fw.bin.tmp.%ld.0", (long)pid);
	tl_path(live, sizeof(live), name);
	assert_int_equal(tl_write_file(live, "w", 1), 0);
	snprintf(name, sizeof(name), ".old.bin.tmp.%ld.1", (long)pid);
	tl_path(old, sizeof(old), name);
	assert_int_equal(tl_write_file(old, "w", 1), 0);
	ts[0].tv_sec = ts[1].tv_sec = time(NULL) - FSATOMIC_STALE_SECONDS - 60;
	ts[0].tv_nsec = ts[1].tv_nsec = 0;
	assert_int_equal(utimensat(AT_FDCWD, old, ts, 0), 0);
	assert_int_equal(fsatomic_clean_stale(tl_dir), OTA_OK);
	assert_int_equal(access(live, F_OK), 0);
	assert_int_not_equal(access(old, F_OK), 0);
	/* Once the writer is gone its temp is a leftover. */
	kill(pid, SIGKILL);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_int_equal(fsatomic_clean_stale(tl_dir), OTA_OK);
	assert_int_not_equal(access(live, F_OK), 0);
}

static void
fsync_dir(void **state)
{
	char path[PATH_MAX * 2];

	(void)state;
	assert_int_equal(fsatomic_fsync_dir(tl_dir), OTA_OK);
	tl_path(path, sizeof(path), "nope");
	assert_int_equal(fsatomic_fsync_dir(path), OTA_E_NOTFOUND);
}

#define T(f) cmocka_unit_test_setup_teardown(f, tl_dir_setup, tl_dir_teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(create_and_replace),
		T(mode_is_exact),
		T(relative_path),
		T(streaming_commit),
		T(abort_leaves_old),
		T(temp_names_unique),
		T(long_name),
		T(failure_leaves_old),
		T(stale_cleanup),
		T(stale_live_writer),
		T(commit_new),
		T(fsync_dir),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
