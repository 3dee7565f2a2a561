/*
 * verify: streamed files against a size, a Git blob id and a SHA-256
 * (right bytes in any chunking; short, long and wrong bytes refused; a
 * file nobody vouches for refused), and a listed release against its
 * signed manifest (same files and sizes, never empty).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include <ota/host.h>

#include "client/verify.h"

/* "hello": git hash-object and sha256sum. */
#define HELLO_GIT "b6fc4c620b67d95f953a5c1c1230aaab5db5a1b0"
#define HELLO_256 "2cf24dba5fb0a30e26e83b2ac5b9e29e" \
	"1b161e5c1fa7425e73043362938b9824"
#define EMPTY_GIT "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391"

static enum ota_status
run(const char *bytes, size_t n, size_t chunk, uint64_t size,
    const char *git, const char *s256)
{
	char err[256] = "";
	struct verify v;
	enum ota_status st;
	size_t off;

	if ((st = verify_begin(&v, ota_crypto_libcrypto(), size, git, s256)) != OTA_OK)
		return st;
	for (off = 0; off < n; off += chunk) {
		size_t k = n - off < chunk ? n - off : chunk;

		if ((st = verify_update(&v, bytes + off, k)) != OTA_OK) {
			verify_abort(&v);
			return st;
		}
	}
	st = verify_end(&v, err, sizeof(err));
	if (st != OTA_OK)
		assert_true(err[0] != '\0');
	return st;
}

static void
files(void **state)
{
	size_t chunk;

	(void)state;
	for (chunk = 1; chunk <= 6; chunk++) {
		assert_int_equal(run("hello", 5, chunk, 5, HELLO_GIT, NULL),
		    OTA_OK);
		assert_int_equal(run("hello", 5, chunk, 5, NULL, HELLO_256),
		    OTA_OK);
		assert_int_equal(run("hello", 5, chunk, 5, HELLO_GIT,
		    HELLO_256), OTA_OK);
	}
	assert_int_equal(run("", 0, 1, 0, EMPTY_GIT, NULL), OTA_OK);
	/* Truncated, too long, corrupted, mismatched digests. */
	assert_int_equal(run("hell", 4, 4, 5, HELLO_GIT, NULL),
	    OTA_E_PROTOCOL);
	assert_int_equal(run("hello!", 6, 6, 5, HELLO_GIT, NULL),
	    OTA_E_TOO_LARGE);
	assert_int_equal(run("jello", 5, 5, 5, HELLO_GIT, NULL),
	    OTA_E_CHANGED);
	assert_int_equal(run("jello", 5, 5, 5, NULL, HELLO_256),
	    OTA_E_CHANGED);
	assert_int_equal(run("hello", 5, 5, 5, HELLO_GIT,
	    "0000000000000000000000000000000000000000000000000000000000000000"),
	    OTA_E_CHANGED);
	/* A 404 page installed as code (D1) fails its blob id. */
	assert_int_equal(run("404: Not Found", 14, 14, 14, HELLO_GIT, NULL),
	    OTA_E_CHANGED);
	/* Nobody vouches for it, or the digests are malformed. */
	assert_int_equal(run("hello", 5, 5, 5, NULL, NULL), OTA_E_INVALID);
	assert_int_equal(run("hello", 5, 5, 5, "B6FC4C620B67D95F953A5C1C1230"
	    "AAAB5DB5A1B0", NULL), OTA_E_INVALID);
	assert_int_equal(run("hello", 5, 5, 5, "b6fc", NULL), OTA_E_INVALID);
}

static void
release(void **state)
{
	struct manifest_file mf[2] = {
		{ (char *)"main/app.py", 5, HELLO_256 },
		{ (char *)"main/lib/x.py", 0, HELLO_256 },
	};
	struct manifest m = { .files = mf, .nfiles = 2 };
	struct verify_file good[2] = {
		{ "main/lib/x.py", 0 }, { "main/app.py", 5 },
	};
	struct verify_file other[2] = {
		{ "main/app.py", 5 }, { "main/lib/y.py", 0 },
	};
	struct verify_file bigger[2] = {
		{ "main/app.py", 6 }, { "main/lib/x.py", 0 },
	};
	struct manifest empty = { .files = NULL, .nfiles = 0 };
	char err[256];

	(void)state;
	assert_int_equal(verify_release(&m, good, 2, err, sizeof(err)),
	    OTA_OK);
	assert_int_equal(verify_release(&m, other, 2, err, sizeof(err)),
	    OTA_E_CHANGED);
	assert_non_null(strstr(err, "main/lib/y.py"));
	assert_int_equal(verify_release(&m, bigger, 2, err, sizeof(err)),
	    OTA_E_CHANGED);
	assert_int_equal(verify_release(&m, good, 1, err, sizeof(err)),
	    OTA_E_CHANGED);
	assert_int_equal(verify_release(&empty, good, 0, err, sizeof(err)),
	    OTA_E_INVALID);
	assert_non_null(strstr(err, "empty"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(files),
		cmocka_unit_test(release),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
