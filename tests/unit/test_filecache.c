/*
 * filecache: digests match hash_hex over the same bytes, repeat calls hit,
 * a replaced or rewritten file gets a fresh digest, a stale stat is
 * corrected, and the entry bound never costs correctness.
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

#include "common/hash.h"
#include "server/filecache.h"
#include "testlib.h"

static void
put(const char *name, const void *p, size_t n)
{
	char path[PATH_MAX * 2];

	tl_path(path, sizeof(path), name);
	assert_int_equal(tl_write_file(path, p, n), 0);
}

/* Opens name and fstats it; returns the fd. */
static int
open_stat(const char *name, struct stat *st)
{
	char path[PATH_MAX * 2];
	int fd;

	tl_path(path, sizeof(path), name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, st), 0);
	return fd;
}

/* Asserts d is the digest of p[n]. */
static void
assert_digest(const struct file_digest *d, const void *p, size_t n)
{
	char md5[2 * HASH_MAX_LEN + 1], sha[2 * HASH_MAX_LEN + 1];

	assert_int_equal(hash_hex(HASH_MD5, p, n, md5), OTA_OK);
	assert_int_equal(hash_hex(HASH_SHA256, p, n, sha), OTA_OK);
	assert_string_equal(d->md5, md5);
	assert_string_equal(d->sha256, sha);
}

static void
assert_stats(struct filecache *c, uint64_t hits, uint64_t misses)
{
	struct filecache_stats s;

	filecache_stats(c, &s);
	if (s.hits != hits || s.misses != misses)
		fail_msg("stats hits %llu misses %llu, want %llu %llu",
		    (unsigned long long)s.hits, (unsigned long long)s.misses,
		    (unsigned long long)hits, (unsigned long long)misses);
}

static void
known_file_then_hit(void **state)
{
	struct filecache *c = filecache_new(0);
	struct file_digest d;
	struct stat st;
	int fd, fd2;

	(void)state;
	assert_non_null(c);
	assert_stats(c, 0, 0);
	put("good.bin", tl_good, sizeof(tl_good));
	fd = open_stat("good.bin", &st);
	assert_int_equal(filecache_get(c, fd, &st, &d), OTA_OK);
	assert_string_equal(d.md5, TL_GOOD_MD5);
	assert_digest(&d, tl_good, sizeof(tl_good));
	assert_int_equal(st.st_size, sizeof(tl_good));
	assert_stats(c, 0, 1);
	/* Again, on the same fd: a hit. */
	memset(&d, 0, sizeof(d));
	assert_int_equal(filecache_get(c, fd, &st, &d), OTA_OK);
	assert_string_equal(d.md5, TL_GOOD_MD5);
	assert_digest(&d, tl_good, sizeof(tl_good));
	assert_stats(c, 1, 1);
	/* On another fd of the same file: still a hit. */
	fd2 = open_stat("good.bin", &st);
	memset(&d, 0, sizeof(d));
	assert_int_equal(filecache_get(c, fd2, &st, &d), OTA_OK);
	assert_digest(&d, tl_good, sizeof(tl_good));
	assert_stats(c, 2, 1);
	close(fd);
	close(fd2);
	filecache_free(c);
}

static void
offset_untouched(void **state)
{
	struct filecache *c = filecache_new(4);
	struct file_digest d;
	struct stat st;
	int fd;

	(void)state;
	assert_non_null(c);
	put("off.bin", tl_good, sizeof(tl_good));
	fd = open_stat("off.bin", &st);
	assert_int_equal(lseek(fd, 5, SEEK_SET), 5);
	assert_int_equal(filecache_get(c, fd, &st, &d), OTA_OK);
	assert_digest(&d, tl_good, sizeof(tl_good));
	assert_int_equal(lseek(fd, 0, SEEK_CUR), 5);
	close(fd);
	filecache_free(c);
}

static void
empty_and_large_files(void **state)
{
	struct filecache *c = filecache_new(0);
	const size_t n = 3 * FILECACHE_READ_CHUNK + 123;
	unsigned char *big = malloc(n);
	struct file_digest d;
	struct stat st;
	size_t i;
	int fd;

	(void)state;
	assert_non_null(c);
	assert_non_null(big);
	put("empty.bin", "", 0);
	fd = open_stat("empty.bin", &st);
	assert_int_equal(filecache_get(c, fd, &st, &d), OTA_OK);
	assert_string_equal(d.md5, "d41d8cd98f00b204e9800998ecf8427e");
	assert_string_equal(d.sha256, "e3b0c44298fc1c149afbf4c8996fb924"
	    "27ae41e4649b934ca495991b7852b855");
	close(fd);
	for (i = 0; i < n; i++)
		big[i] = (unsigned char)(i * 31 + (i >> 8));
	put("big.bin", big, n);
	fd = open_stat("big.bin", &st);
	assert_int_equal(filecache_get(c, fd, &st, &d), OTA_OK);
	assert_digest(&d, big, n);
	assert_int_equal(st.st_size, n);
	close(fd);
	free(big);
	filecache_free(c);
}

static void
replaced_by_rename(void **state)
{
	static const unsigned char v2[] = { 0xe9, 'v', '2', '-', 'n', 'e',
	    'w' };
	struct filecache *c = filecache_new(0);
	char tmp[PATH_MAX * 2], dst[PATH_MAX * 2];
	struct file_digest d;
	struct stat st, st2;
	int fd, fd2;

	(void)state;
	assert_non_null(c);
	put("fw.bin", tl_good, sizeof(tl_good));
	fd = open_stat("fw.bin", &st);
	assert_int_equal(filecache_get(c, fd, &st, &d), OTA_OK);
	assert_digest(&d, tl_good, sizeof(tl_good));
	/* A new image renamed over it, old one still open. */
	put("fw.bin.tmp", v2, sizeof(v2));
	tl_path(tmp, sizeof(tmp), "fw.bin.tmp");
	tl_path(dst, sizeof(dst), "fw.bin");
	assert_int_equal(rename(tmp, dst), 0);
	fd2 = open_stat("fw.bin", &st2);
	assert_true(st2.st_ino != st.st_ino);
	assert_int_equal(filecache_get(c, fd2, &st2, &d), OTA_OK);
	assert_digest(&d, v2, sizeof(v2));
	assert_stats(c, 0, 2);
	/* The old open file still has its own digest. */
	assert_int_equal(filecache_get(c, fd, &st, &d), OTA_OK);
	assert_digest(&d, tl_good, sizeof(tl_good));
	close(fd);
	close(fd2);
	filecache_free(c);
}

static void
rewritten_in_place(void **state)
{
	static const unsigned char longer[] = "0123456789abcdefghijXYZ";
	static const unsigned char same[] = "0123456789abcdefghijXYW";
	struct filecache *c = filecache_new(0);
	struct file_digest d;
	struct stat st;
	struct timespec ts[2];
	int fd;

	(void)state;
	assert_non_null(c);
	put("inplace.bin", tl_good, sizeof(tl_good));
	fd = open_stat("inplace.bin", &st);
	assert_int_equal(filecache_get(c, fd, &st, &d), OTA_OK);
	assert_digest(&d, tl_good, sizeof(tl_good));
	close(fd);
	/* Truncated and rewritten (same inode), different size. */
	put("inplace.bin", longer, sizeof(longer));
	fd = open_stat("inplace.bin", &st);
	assert_int_equal(st.st_size, sizeof(longer));
	assert_int_equal(filecache_get(c, fd, &st, &d), OTA_OK);
	assert_digest(&d, longer, sizeof(longer));
	close(fd);
	/*
	 * Same size, other bytes: only the timestamps tell. Give it a
	 * distinct mtime, since two writes can share a coarse timestamp.
	 */
	put("inplace.bin", same, sizeof(same));
	fd = open_stat("inplace.bin", &st);
	ts[0].tv_sec = ts[1].tv_sec = st.st_mtim.tv_sec - 100;
	ts[0].tv_nsec = ts[1].tv_nsec = 0;
	assert_int_equal(futimens(fd, ts), 0);
	assert_int_equal(fstat(fd, &st), 0);
	assert_int_equal(filecache_get(c, fd, &st, &d), OTA_OK);
	assert_digest(&d, same, sizeof(same));
	assert_stats(c, 0, 3);
	close(fd);
	filecache_free(c);
}

static void
stale_stat_corrected(void **state)
{
	static const unsigned char grown[] = "a much longer image than before";
	struct filecache *c = filecache_new(0);
	struct file_digest d;
	struct stat st, old;
	int fd;

	(void)state;
	assert_non_null(c);
	put("stale.bin", tl_good, sizeof(tl_good));
	fd = open_stat("stale.bin", &old);
	/* Rewritten after the caller's fstat, before the digest. */
	put("stale.bin", grown, sizeof(grown));
	st = old;
	assert_int_equal(filecache_get(c, fd, &st, &d), OTA_OK);
	assert_digest(&d, grown, sizeof(grown));
	assert_int_equal(st.st_size, sizeof(grown));
	close(fd);
	/* Shrunk below the size the caller saw. */
	put("stale.bin", "tiny", 4);
	fd = open_stat("stale.bin", &old);
	put("stale.bin", "ti", 2);
	st = old;
	assert_int_equal(st.st_size, 4);
	assert_int_equal(filecache_get(c, fd, &st, &d), OTA_OK);
	assert_digest(&d, "ti", 2);
	assert_int_equal(st.st_size, 2);
	close(fd);
	filecache_free(c);
}

static void
bounded_stays_correct(void **state)
{
	struct filecache *c = filecache_new(2);
	struct filecache_stats s;
	char name[32], content[5][32];
	int round, i;

	(void)state;
	assert_non_null(c);
	for (i = 0; i < 5; i++) {
		snprintf(name, sizeof(name), "b%d.bin", i);
		snprintf(content[i], sizeof(content[i]), "image number %d", i);
		put(name, content[i], strlen(content[i]));
	}
	for (round = 0; round < 3; round++) {
		for (i = 0; i < 5; i++) {
			struct file_digest d;
			struct stat st;
			int fd;

			snprintf(name, sizeof(name), "b%d.bin", i);
			fd = open_stat(name, &st);
			assert_int_equal(filecache_get(c, fd, &st, &d),
			    OTA_OK);
			assert_digest(&d, content[i], strlen(content[i]));
			/* Straight after a miss the entry is there. */
			assert_int_equal(filecache_get(c, fd, &st, &d),
			    OTA_OK);
			assert_digest(&d, content[i], strlen(content[i]));
			close(fd);
		}
	}
	filecache_stats(c, &s);
	assert_true(s.hits + s.misses == 30);
	assert_true(s.hits >= 15);
	filecache_free(c);
	filecache_free(NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(known_file_then_hit),
		cmocka_unit_test(offset_untouched),
		cmocka_unit_test(empty_and_large_files),
		cmocka_unit_test(replaced_by_rename),
		cmocka_unit_test(rewritten_in_place),
		cmocka_unit_test(stale_stat_corrected),
		cmocka_unit_test(bounded_stays_correct),
	};

	return cmocka_run_group_tests_name("filecache", tests, tl_dir_setup,
	    tl_dir_teardown);
}
