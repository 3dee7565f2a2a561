/*
 * blobstore: layout, put from memory and from an fd (several chunks),
 * dedup, the size cap, hex validation, verify catching corruption, the
 * empty blob, and stale temps removed on open.
 */
#include <dirent.h>
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
#include "server/blobstore.h"
#include "testlib.h"

#define EMPTY_SHA256 \
	"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define ABC_SHA256 \
	"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"

/* Entries in dir/sub other than "." and "..". */
static int
count_in(const char *sub)
{
	char path[PATH_MAX * 2];
	struct dirent *de;
	DIR *d;
	int n = 0;

	tl_path(path, sizeof(path), sub);
	assert_non_null(d = opendir(path));
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 &&
		    strcmp(de->d_name, "..") != 0)
			n++;
	closedir(d);
	return n;
}

static struct blobstore *
open_store(void)
{
	struct blobstore *bs = NULL;

	assert_int_equal(blobstore_open(&bs, tl_dir), OTA_OK);
	assert_non_null(bs);
	return bs;
}

static void
layout(void **state)
{
	char path[PATH_MAX * 2];
	struct blobstore *bs = NULL;
	struct stat sb;

	(void)state;
	/* root itself may be created; its parent may not. */
	tl_path(path, sizeof(path), "store");
	assert_int_equal(blobstore_open(&bs, path), OTA_OK);
	blobstore_free(bs);
	tl_path(path, sizeof(path), "store/blobs/sha256");
	assert_int_equal(stat(path, &sb), 0);
	assert_true(S_ISDIR(sb.st_mode));
	tl_path(path, sizeof(path), "store/blobs/tmp");
	assert_int_equal(stat(path, &sb), 0);
	assert_true(S_ISDIR(sb.st_mode));
	tl_path(path, sizeof(path), "no/such/root");
	assert_int_equal(blobstore_open(&bs, path), OTA_E_NOTFOUND);
	assert_null(bs);
	blobstore_free(NULL);
}

static void
put_mem_and_dedup(void **state)
{
	struct blobstore *bs = open_store();
	char hex[BLOBSTORE_HEX_LEN + 1], hex2[BLOBSTORE_HEX_LEN + 1];
	char path[PATH_MAX * 2], want[PATH_MAX * 2];
	struct stat sb, sb2;

	(void)state;
	assert_int_equal(blobstore_put_mem(bs, "abc", 3, hex), OTA_OK);
	assert_string_equal(hex, ABC_SHA256);
	assert_int_equal(blobstore_path(bs, hex, path, sizeof(path)), OTA_OK);
	tl_path(want, sizeof(want), "blobs/sha256/" ABC_SHA256);
	assert_string_equal(path, want);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_size, 3);
	assert_int_equal(sb.st_mode & 0777, BLOBSTORE_FILE_MODE);
	/* The same bytes again: the existing file is kept (same inode). */
	assert_int_equal(blobstore_put_mem(bs, "abc", 3, hex2), OTA_OK);
	assert_string_equal(hex2, ABC_SHA256);
	assert_int_equal(stat(path, &sb2), 0);
	assert_int_equal(sb.st_ino, sb2.st_ino);
	assert_int_equal(count_in("blobs/sha256"), 1);
	assert_int_equal(count_in("blobs/tmp"), 0);
	assert_int_equal(blobstore_verify(bs, hex), OTA_OK);
	blobstore_free(bs);
}

static void
empty_blob(void **state)
{
	struct blobstore *bs = open_store();
	char hex[BLOBSTORE_HEX_LEN + 1], path[PATH_MAX * 2];
	uint64_t size = 99;
	int fd;

	(void)state;
	assert_int_equal(blobstore_put_mem(bs, "", 0, hex), OTA_OK);
	assert_string_equal(hex, EMPTY_SHA256);
	tl_path(path, sizeof(path), "empty");
	assert_int_equal(tl_write_file(path, "", 0), 0);
	assert_true((fd = open(path, O_RDONLY)) >= 0);
	assert_int_equal(blobstore_put_fd(bs, fd, 0, hex, &size), OTA_OK);
	close(fd);
	assert_string_equal(hex, EMPTY_SHA256);
	assert_int_equal(size, 0);
	assert_int_equal(blobstore_verify(bs, EMPTY_SHA256), OTA_OK);
	assert_int_equal(count_in("blobs/sha256"), 1);
	blobstore_free(bs);
}

/* A file of n patterned bytes in tl_dir; returns it open for reading. */
static int
big_file(size_t n, unsigned char **bytes)
{
	char path[PATH_MAX * 2];
	unsigned char *p = malloc(n);
	size_t i;
	int fd;

	assert_non_null(p);
	for (i = 0; i < n; i++)
		p[i] = (unsigned char)(i * 131 + (i >> 9));
	tl_path(path, sizeof(path), "src.bin");
	assert_int_equal(tl_write_file(path, p, n), 0);
	assert_true((fd = open(path, O_RDONLY)) >= 0);
	*bytes = p;
	return fd;
}

static void
put_fd_streams(void **state)
{
	const size_t n = 3 * BLOBSTORE_CHUNK + 17;
	struct blobstore *bs = open_store();
	char hex[BLOBSTORE_HEX_LEN + 1], want[2 * HASH_MAX_LEN + 1];
	unsigned char *p, *got;
	uint64_t size = 0;
	int fd = big_file(n, &p), bfd = -1;

	(void)state;
	assert_int_equal(hash_hex(HASH_SHA256, p, n, want), OTA_OK);
	assert_int_equal(blobstore_put_fd(bs, fd, n, hex, &size), OTA_OK);
	close(fd);
	assert_string_equal(hex, want);
	assert_int_equal(size, n);
	assert_int_equal(blobstore_open_blob(bs, hex, &bfd), OTA_OK);
	assert_non_null(got = malloc(n + 1));
	assert_int_equal(read(bfd, got, n + 1), n);
	assert_memory_equal(got, p, n);
	close(bfd);
	assert_int_equal(count_in("blobs/tmp"), 0);
	free(got);
	free(p);
	blobstore_free(bs);
}

static void
size_cap(void **state)
{
	const size_t n = 2 * BLOBSTORE_CHUNK + 1;
	struct blobstore *bs = open_store();
	char hex[BLOBSTORE_HEX_LEN + 1] = "untouched";
	uint64_t size = 7;
	unsigned char *p;
	int fd = big_file(n, &p);

	(void)state;
	assert_int_equal(blobstore_put_fd(bs, fd, n - 1, hex, &size),
	    OTA_E_TOO_LARGE);
	assert_string_equal(hex, "untouched");
	assert_int_equal(size, 7);
	assert_int_equal(count_in("blobs/sha256"), 0);
	assert_int_equal(count_in("blobs/tmp"), 0);
	/* Exactly at the cap is allowed. */
	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	assert_int_equal(blobstore_put_fd(bs, fd, n, hex, &size), OTA_OK);
	assert_int_equal(size, n);
	close(fd);
	assert_int_equal(blobstore_put_fd(bs, -1, n, hex, &size),
	    OTA_E_INVALID);
	free(p);
	blobstore_free(bs);
}

static void
bad_hex(void **state)
{
	static const char *const bad[] = { "", "abc",
	    ABC_SHA256 "0",
	    "BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD",
	    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015aG",
	    "../../../../../../../../../../../../../../../../../../etc/passwd",
	    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f2001/ad",
	};
	struct blobstore *bs = open_store();
	char path[PATH_MAX * 2];
	size_t i;
	int fd = 5;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(blobstore_path(bs, bad[i], path,
		    sizeof(path)), OTA_E_INVALID);
		assert_int_equal(blobstore_open_blob(bs, bad[i], &fd),
		    OTA_E_INVALID);
		assert_int_equal(fd, -1);
		assert_int_equal(blobstore_verify(bs, bad[i]), OTA_E_INVALID);
	}
	assert_int_equal(blobstore_path(bs, ABC_SHA256, path, 10),
	    OTA_E_TOO_LARGE);
	assert_int_equal(blobstore_open_blob(bs, ABC_SHA256, &fd),
	    OTA_E_NOTFOUND);
	assert_int_equal(blobstore_verify(bs, ABC_SHA256), OTA_E_NOTFOUND);
	blobstore_free(bs);
}

static void
verify_detects_corruption(void **state)
{
	struct blobstore *bs = open_store();
	char hex[BLOBSTORE_HEX_LEN + 1], path[PATH_MAX * 2];
	char target[PATH_MAX * 2];
	int fd;

	(void)state;
	assert_int_equal(blobstore_put_mem(bs, "abc", 3, hex), OTA_OK);
	assert_int_equal(blobstore_verify(bs, hex), OTA_OK);
	assert_int_equal(blobstore_path(bs, hex, path, sizeof(path)), OTA_OK);
	assert_int_equal(tl_write_file(path, "abd", 3), 0);
	assert_int_equal(blobstore_verify(bs, hex), OTA_E_CHANGED);
	/* Truncated is corrupted too. */
	assert_int_equal(tl_write_file(path, "", 0), 0);
	assert_int_equal(blobstore_verify(bs, hex), OTA_E_CHANGED);
	/* A symbolic link in the store is never followed. */
	assert_int_equal(unlink(path), 0);
	tl_path(target, sizeof(target), "elsewhere");
	assert_int_equal(tl_write_file(target, "abc", 3), 0);
	assert_int_equal(symlink(target, path), 0);
	assert_int_equal(blobstore_open_blob(bs, hex, &fd), OTA_E_NOTFOUND);
	assert_int_equal(fd, -1);
	blobstore_free(bs);
}

static void
open_removes_stale(void **state)
{
	struct blobstore *bs = open_store();
	char path[PATH_MAX * 2];

	(void)state;
	blobstore_free(bs);
	tl_path(path, sizeof(path), "blobs/tmp/.blob.tmp.1073741823.7");
	assert_int_equal(tl_write_file(path, "half", 4), 0);
	tl_path(path, sizeof(path), "blobs/sha256/.x.tmp.1073741823.2");
	assert_int_equal(tl_write_file(path, "half", 4), 0);
	bs = open_store();
	assert_int_equal(count_in("blobs/tmp"), 0);
	assert_int_equal(count_in("blobs/sha256"), 0);
	blobstore_free(bs);
}

#define T(f) cmocka_unit_test_setup_teardown(f, tl_dir_setup, tl_dir_teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(layout),
		T(put_mem_and_dedup),
		T(empty_blob),
		T(put_fd_streams),
		T(size_cap),
		T(bad_hex),
		T(verify_detects_corruption),
		T(open_removes_stale),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
