/*
 * fsatomic: replacement by temp + fsync + rename + fsync(dir). The
 * kill-at-random-points crash test is tests/integration/test_crash.c.
 */
#include <dirent.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/fsatomic.h"
#include "testlib.h"

static char dir[256];

static int
setup(void **state)
{
	return tl_mkdtemp(dir, sizeof(dir));
}

static int
teardown(void **state)
{
	tl_rmtree(dir);
	return 0;
}

static void
assert_file(const char *path, const char *want, mode_t mode)
{
	char buf[256];
	struct stat st;
	ssize_t n;
	int fd = open(path, O_RDONLY);

	assert_true(fd >= 0);
	n = read(fd, buf, sizeof(buf));
	close(fd);
	assert_int_equal(n, (ssize_t)strlen(want));
	assert_memory_equal(buf, want, (size_t)n);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, mode);
}

/* No temp file may be left next to the target. */
static void
assert_no_temps(void)
{
	struct dirent *de;
	DIR *d = opendir(dir);

	assert_non_null(d);
	while ((de = readdir(d)) != NULL)
		if (fsatomic_is_temp_name(de->d_name))
			fail_msg("temp '%s' left behind", de->d_name);
	closedir(d);
}

static void
write_and_replace(void **state)
{
	char p[512];

	snprintf(p, sizeof(p), "%s/state.json", dir);
	assert_int_equal(fsatomic_write(p, "old", 3, 0600), OTA_OK);
	assert_file(p, "old", 0600);
	assert_int_equal(fsatomic_write(p, "new content", 11, 0644), OTA_OK);
	assert_file(p, "new content", 0644);
	assert_int_equal(fsatomic_write(p, "", 0, 0644), OTA_OK);
	assert_file(p, "", 0644);
	assert_no_temps();
}

static void
streaming_commit_and_abort(void **state)
{
	struct fsatomic a;
	char p[512];

	snprintf(p, sizeof(p), "%s/blob", dir);
	assert_int_equal(fsatomic_write(p, "v1", 2, 0644), OTA_OK);
	memset(&a, 0, sizeof(a));
	assert_int_equal(fsatomic_open(&a, p, 0644), OTA_OK);
	assert_string_not_equal(a.tmp, a.path);
	assert_int_equal(fsatomic_write_chunk(&a, "v", 1), OTA_OK);
	assert_int_equal(fsatomic_write_chunk(&a, "2", 1), OTA_OK);
	/* Before the commit, the name still holds the old content. */
	assert_file(p, "v1", 0644);
	assert_int_equal(fsatomic_commit(&a), OTA_OK);
	assert_file(p, "v2", 0644);
	fsatomic_abort(&a);	/* after a commit: a no-op */
	assert_file(p, "v2", 0644);

	memset(&a, 0, sizeof(a));
	assert_int_equal(fsatomic_open(&a, p, 0644), OTA_OK);
	assert_int_equal(fsatomic_write_chunk(&a, "v3", 2), OTA_OK);
	fsatomic_abort(&a);
	assert_file(p, "v2", 0644);
	assert_no_temps();
	memset(&a, 0, sizeof(a));
	fsatomic_abort(&a);	/* never opened: a no-op */
}

static void
failure_leaves_old(void **state)
{
	char p[512];

	snprintf(p, sizeof(p), "%s/no/such/dir/file", dir);
	assert_int_equal(fsatomic_write(p, "x", 1, 0644), OTA_E_NOTFOUND);
	assert_no_temps();
}

static void
stale_temps_cleaned(void **state)
{
	char p[512], t[600];

	snprintf(p, sizeof(p), "%s/keep.txt", dir);
	assert_int_equal(fsatomic_write(p, "keep", 4, 0644), OTA_OK);
	snprintf(t, sizeof(t), "%s/.keep.txt.tmp.123.4", dir);
	assert_int_equal(tl_write_file(t, "half", 4), 0);
	assert_true(fsatomic_is_temp_name(".keep.txt.tmp.123.4"));
	assert_false(fsatomic_is_temp_name("keep.txt"));
	assert_false(fsatomic_is_temp_name(".keep.txt.tmp.x.4"));
	assert_int_equal(fsatomic_clean_stale(dir), OTA_OK);
	assert_int_equal(access(t, F_OK), -1);
	assert_file(p, "keep", 0644);
	assert_int_equal(fsatomic_fsync_dir(dir), OTA_OK);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(write_and_replace),
		cmocka_unit_test(streaming_commit_and_abort),
		cmocka_unit_test(failure_leaves_old),
		cmocka_unit_test(stale_temps_cleaned),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
