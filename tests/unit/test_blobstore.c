/*
 * blobstore: content-addressed blobs under blobs/sha256/<hex>.
 */
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

#include "server/blobstore.h"
#include "testlib.h"

#define EMPTY_SHA256 \
	"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define GOOD_SHA256 \
	"be4d49a64c1c64a6b2384aa67fcfbf9bc0066e0c551bc95ffed89d97f0c8a0a4"

static char root[256];
static struct blobstore *bs;

static int
setup(void **state)
{
	if (tl_mkdtemp(root, sizeof(root)) != 0)
		return -1;
	return blobstore_open(&bs, root) == OTA_OK ? 0 : -1;
}

static int
teardown(void **state)
{
	blobstore_free(bs);
	tl_rmtree(root);
	return 0;
}

static void
put_and_read_back(void **state)
{
	char hex[BLOBSTORE_HEX_LEN + 1], p[512], buf[64];
	int fd = -1;
	ssize_t n;

	assert_int_equal(blobstore_put_mem(bs, tl_good, TL_GOOD_LEN, hex),
	    OTA_OK);
	assert_string_equal(hex, GOOD_SHA256);
	assert_int_equal(blobstore_path(bs, hex, p, sizeof(p)), OTA_OK);
	assert_non_null(strstr(p, "/blobs/sha256/" GOOD_SHA256));
	assert_int_equal(blobstore_open_blob(bs, hex, &fd), OTA_OK);
	n = read(fd, buf, sizeof(buf));
	close(fd);
	assert_int_equal(n, TL_GOOD_LEN);
	assert_memory_equal(buf, tl_good, TL_GOOD_LEN);
	assert_int_equal(blobstore_verify(bs, hex), OTA_OK);
	/* the same bytes again: stored once */
	assert_int_equal(blobstore_put_mem(bs, tl_good, TL_GOOD_LEN, hex),
	    OTA_OK);
	assert_string_equal(hex, GOOD_SHA256);
	assert_int_equal(blobstore_put_mem(bs, "", 0, hex), OTA_OK);
	assert_string_equal(hex, EMPTY_SHA256);
}

static void
put_fd_with_cap(void **state)
{
	char hex[BLOBSTORE_HEX_LEN + 1], p[512];
	uint64_t size = 0;
	int fd;

	snprintf(p, sizeof(p), "%s/src.bin", root);
	assert_int_equal(tl_write_file(p, tl_good, TL_GOOD_LEN), 0);
	fd = open(p, O_RDONLY);
	assert_int_equal(blobstore_put_fd(bs, fd, TL_GOOD_LEN, hex, &size),
	    OTA_OK);
	close(fd);
	assert_int_equal(size, TL_GOOD_LEN);
	assert_string_equal(hex, GOOD_SHA256);
	fd = open(p, O_RDONLY);
	assert_int_equal(blobstore_put_fd(bs, fd, TL_GOOD_LEN - 1, hex,
	    &size), OTA_E_TOO_LARGE);
	close(fd);
}

static void
bad_names_and_corruption(void **state)
{
	char hex[BLOBSTORE_HEX_LEN + 1], p[512];
	int fd = -1;

	assert_int_equal(blobstore_path(bs, "../../etc/passwd", p, sizeof(p)),
	    OTA_E_INVALID);
	assert_int_equal(blobstore_path(bs, "BE4D49A64C1C64A6B2384AA67FCFBF9B"
	    "C0066E0C551BC95FFED89D97F0C8A0A4", p, sizeof(p)), OTA_E_INVALID);
	assert_int_equal(blobstore_path(bs, GOOD_SHA256 "0", p, sizeof(p)),
	    OTA_E_INVALID);
	assert_int_equal(blobstore_open_blob(bs, "abc", &fd), OTA_E_INVALID);
	assert_int_equal(blobstore_open_blob(bs, "00000000000000000000000000"
	    "00000000000000000000000000000000000000", &fd), OTA_E_NOTFOUND);
	assert_int_equal(blobstore_put_mem(bs, tl_good, TL_GOOD_LEN, hex),
	    OTA_OK);
	assert_int_equal(blobstore_path(bs, hex, p, sizeof(p)), OTA_OK);
	chmod(p, 0644);
	assert_int_equal(tl_write_file(p, "tampered", 8), 0);
	assert_int_equal(blobstore_verify(bs, hex), OTA_E_CHANGED);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(put_and_read_back),
		cmocka_unit_test(put_fd_with_cap),
		cmocka_unit_test(bad_names_and_corruption),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
