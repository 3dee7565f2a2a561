/*
 * catalog: the exact JSON of the §8 fixture (sorted, Python separators),
 * json.dumps(ensure_ascii=True) string escapes, and the entries left out:
 * too long for the device, not UTF-8, links leading out of the root.
 * TZ is UTC for the whole run so that date/time can be asserted as text.
 */
#include <errno.h>
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
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/buf.h"
#include "common/log.h"
#include "server/catalog.h"
#include "testlib.h"

/* 2026-11-22 21:03:14 UTC */
#define FIXED_MTIME 1795381394

static char base[PATH_MAX], root[PATH_MAX];

static int
fixture_setup(void **state)
{
	char cat[PATH_MAX];

	(void)state;
	if (tl_fixture(base, sizeof(base), cat, sizeof(cat)) != 0 ||
	    realpath(cat, root) == NULL)
		return -1;
	return 0;
}

static int
fixture_teardown(void **state)
{
	(void)state;
	tl_rmtree(base);
	return 0;
}

/* A scratch directory under base for one test; canonical path in out. */
static void
scratch(const char *name, char *out, size_t outsz)
{
	char p[PATH_MAX * 2];

	assert_true((size_t)snprintf(p, sizeof(p), "%s/fw/%s", base, name) <
	    sizeof(p));
	assert_int_equal(mkdir(p, 0755), 0);
	assert_non_null(realpath(p, out));
	(void)outsz;
}

static void
put(const char *dir, const char *name, const void *p, size_t n)
{
	char path[PATH_MAX * 2];

	assert_true((size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) <
	    sizeof(path));
	assert_int_equal(tl_write_file(path, p, n), 0);
}

static void
set_mtime(const char *dir, const char *name, time_t t)
{
	char path[PATH_MAX * 2];
	struct timespec ts[2];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	ts[0].tv_sec = ts[1].tv_sec = t;
	ts[0].tv_nsec = ts[1].tv_nsec = 0;
	assert_int_equal(utimensat(AT_FDCWD, path, ts, AT_SYMLINK_NOFOLLOW),
	    0);
}

/* catalog_list(root, dir) as a malloc'd string; asserts OTA_OK. */
static char *
list(const char *dir)
{
	struct buf out;
	char *s;

	buf_init(&out, CATALOG_MAX_BYTES);
	assert_int_equal(catalog_list(root, dir, &out), OTA_OK);
	s = buf_take(&out, NULL);
	assert_non_null(s);
	return s;
}

static void
assert_list(const char *dir, const char *want)
{
	char *got = list(dir);

	if (strcmp(got, want) != 0)
		fail_msg("catalog of %s:\n got: %s\nwant: %s", dir, got, want);
	free(got);
}

static void
fixture_listing(void **state)
{
	char want[1024];

	(void)state;
	set_mtime(root, "good.bin", FIXED_MTIME);
	snprintf(want, sizeof(want), "[%s, %s, %s, %s, %s, %s, %s]",
	    "{\"name\": \"UPPER.BIN\", \"type\": \"file\"}",
	    "{\"name\": \"bad.bin\", \"type\": \"file\"}",
	    "{\"name\": \"dir.bin\", \"type\": \"directory\"}",
	    "{\"name\": \"empty.bin\", \"type\": \"file\"}",
	    "{\"name\": \"good.bin\", \"type\": \"bin\", \"date\": "
	    "\"11/22/26\", \"time\": \"21:03:14\", \"size\": 18}",
	    "{\"name\": \"readme.txt\", \"type\": \"file\"}",
	    "{\"name\": \"sub\", \"type\": \"directory\"}");
	assert_list(root, want);
}

static void
date_time_follow_localtime(void **state)
{
	char dir[PATH_MAX], path[PATH_MAX * 2], want[256];
	static const unsigned char img[] = { 0xe9, 1, 2, 3, 4 };
	struct stat sb;
	struct tm tm;

	(void)state;
	scratch("dt", dir, sizeof(dir));
	put(dir, "fw.bin", img, sizeof(img));
	snprintf(path, sizeof(path), "%s/fw.bin", dir);
	assert_int_equal(stat(path, &sb), 0);
	assert_non_null(localtime_r(&sb.st_mtime, &tm));
	snprintf(want, sizeof(want), "[{\"name\": \"fw.bin\", \"type\": "
	    "\"bin\", \"date\": \"%02d/%02d/%02d\", \"time\": "
	    "\"%02d:%02d:%02d\", \"size\": 5}]", tm.tm_mon + 1, tm.tm_mday,
	    tm.tm_year % 100, tm.tm_hour, tm.tm_min, tm.tm_sec);
	assert_list(dir, want);
	/* A single-digit month/day/year is zero-padded (Python's %x). */
	set_mtime(dir, "fw.bin", 1230865445);	/* 2009-01-02 03:04:05 UTC */
	assert_list(dir, "[{\"name\": \"fw.bin\", \"type\": \"bin\", "
	    "\"date\": \"01/02/09\", \"time\": \"03:04:05\", \"size\": 5}]");
}

static void
sub_listing(void **state)
{
	char dir[PATH_MAX * 2];

	(void)state;
	snprintf(dir, sizeof(dir), "%s/sub", root);
	set_mtime(dir, "inner.bin", FIXED_MTIME + 1);
	assert_list(dir, "[{\"name\": \"inner.bin\", \"type\": \"bin\", "
	    "\"date\": \"11/22/26\", \"time\": \"21:03:15\", \"size\": 4}]");
}

static void
empty_dir(void **state)
{
	char dir[PATH_MAX];

	(void)state;
	scratch("empty", dir, sizeof(dir));
	assert_list(dir, "[]");
}

static void
not_a_directory(void **state)
{
	char p[PATH_MAX * 2];
	struct buf out;

	(void)state;
	buf_init(&out, CATALOG_MAX_BYTES);
	snprintf(p, sizeof(p), "%s/good.bin", root);
	assert_int_equal(catalog_list(root, p, &out), OTA_E_NOTFOUND);
	snprintf(p, sizeof(p), "%s/nope", root);
	assert_int_equal(catalog_list(root, p, &out), OTA_E_NOTFOUND);
	buf_release(&out);
}

static void
unreadable_dir(void **state)
{
	char dir[PATH_MAX];
	struct buf out;
	enum ota_status st;

	(void)state;
	if (geteuid() == 0)
		skip();
	scratch("locked", dir, sizeof(dir));
	assert_int_equal(chmod(dir, 0), 0);
	buf_init(&out, CATALOG_MAX_BYTES);
	st = catalog_list(root, dir, &out);
	assert_int_equal(chmod(dir, 0755), 0);
	buf_release(&out);
	assert_int_equal(st, OTA_E_FORBIDDEN);
}

static void
output_cap(void **state)
{
	struct buf out;

	(void)state;
	buf_init(&out, 16);
	assert_int_equal(catalog_list(root, root, &out), OTA_E_TOO_LARGE);
	buf_release(&out);
}

struct js_case {
	const char *in;
	enum ota_status want;
	const char *out;
};

static const struct js_case js_cases[] = {
	{ "", OTA_OK, "\"\"" },
	{ "good.bin", OTA_OK, "\"good.bin\"" },
	{ "a\"b", OTA_OK, "\"a\\\"b\"" },
	{ "a\\b", OTA_OK, "\"a\\\\b\"" },
	{ "a/b <&'>", OTA_OK, "\"a/b <&'>\"" },
	{ "\n\r\t\b\f", OTA_OK, "\"\\n\\r\\t\\b\\f\"" },
	{ "\x01\x1f\x0b", OTA_OK, "\"\\u0001\\u001f\\u000b\"" },
	{ "~\x7f", OTA_OK, "\"~\\u007f\"" },
	{ "\xc2\x80", OTA_OK, "\"\\u0080\"" },
	{ "f\xc3\xafrmware.bin", OTA_OK, "\"f\\u00efrmware.bin\"" },
	{ "\xe2\x82\xac", OTA_OK, "\"\\u20ac\"" },
	{ "\xef\xbf\xbf", OTA_OK, "\"\\uffff\"" },
	{ "\xf0\x90\x80\x80", OTA_OK, "\"\\ud800\\udc00\"" },
	{ "\xf0\x9f\x98\x80", OTA_OK, "\"\\ud83d\\ude00\"" },
	{ "\xf4\x8f\xbf\xbf", OTA_OK, "\"\\udbff\\udfff\"" },
	{ "x\xf0\x9f\x98\x80y", OTA_OK, "\"x\\ud83d\\ude00y\"" },
	/* Not UTF-8. */
	{ "\xff", OTA_E_INVALID, NULL },
	{ "\x80", OTA_E_INVALID, NULL },
	{ "ok\xfe", OTA_E_INVALID, NULL },
	{ "\xc3", OTA_E_INVALID, NULL },
	{ "\xc3(", OTA_E_INVALID, NULL },
	{ "a\xe2\x82", OTA_E_INVALID, NULL },
	{ "\xf0\x9f\x98", OTA_E_INVALID, NULL },
	{ "\xc0\xaf", OTA_E_INVALID, NULL },		/* overlong '/' */
	{ "\xc1\xbf", OTA_E_INVALID, NULL },
	{ "\xe0\x80\xaf", OTA_E_INVALID, NULL },	/* overlong */
	{ "\xf0\x80\x80\xaf", OTA_E_INVALID, NULL },	/* overlong */
	{ "\xed\xa0\x80", OTA_E_INVALID, NULL },	/* U+D800 */
	{ "\xed\xbf\xbf", OTA_E_INVALID, NULL },	/* U+DFFF */
	{ "\xf4\x90\x80\x80", OTA_E_INVALID, NULL },	/* > U+10FFFF */
	{ "\xf8\x88\x80\x80\x80", OTA_E_INVALID, NULL },
};

static void
json_string_table(void **state)
{
	size_t i;
	int bad = 0;

	(void)state;
	for (i = 0; i < sizeof(js_cases) / sizeof(js_cases[0]); i++) {
		const struct js_case *c = &js_cases[i];
		struct buf b;
		enum ota_status st;

		buf_init(&b, 1024);
		st = catalog_json_string(&b, c->in);
		if (st != c->want || (st == OTA_OK &&
		    (b.data == NULL || strcmp(b.data, c->out) != 0))) {
			print_error("catalog_json_string(case %zu) = %d \"%s\", "
			    "want %d \"%s\"\n", i, (int)st,
			    st == OTA_OK && b.data ? b.data : "",
			    (int)c->want, c->out ? c->out : "");
			bad++;
		}
		buf_release(&b);
	}
	assert_int_equal(bad, 0);
}

static void
json_string_appends(void **state)
{
	struct buf b;

	(void)state;
	buf_init(&b, 64);
	assert_int_equal(buf_adds(&b, "x:"), OTA_OK);
	assert_int_equal(catalog_json_string(&b, "a"), OTA_OK);
	assert_int_equal(catalog_json_string(&b, "\xc3\xaf"), OTA_OK);
	assert_string_equal(b.data, "x:\"a\"\"\\u00ef\"");
	buf_release(&b);
	/* The buffer's cap applies. */
	buf_init(&b, 4);
	assert_int_equal(catalog_json_string(&b, "abcdef"), OTA_E_TOO_LARGE);
	buf_release(&b);
}

static void
escaped_names_in_listing(void **state)
{
	char dir[PATH_MAX];
	static const unsigned char img[] = { 0xe9, 0, 0 };

	(void)state;
	scratch("esc", dir, sizeof(dir));
	put(dir, "f\xc3\xafrmware.bin", img, sizeof(img));
	set_mtime(dir, "f\xc3\xafrmware.bin", FIXED_MTIME);
	put(dir, "a\"q\\b", "x", 1);
	put(dir, "nl\nx", "x", 1);
	assert_list(dir, "[{\"name\": \"a\\\"q\\\\b\", \"type\": \"file\"}, "
	    "{\"name\": \"f\\u00efrmware.bin\", \"type\": \"bin\", \"date\": "
	    "\"11/22/26\", \"time\": \"21:03:14\", \"size\": 3}, "
	    "{\"name\": \"nl\\nx\", \"type\": \"file\"}]");
}

static void
sorted_bytewise_and_dotfiles(void **state)
{
	char dir[PATH_MAX];

	(void)state;
	scratch("sort", dir, sizeof(dir));
	put(dir, "b", "", 0);
	put(dir, "B", "", 0);
	put(dir, "a", "", 0);
	put(dir, "_", "", 0);
	put(dir, ".hidden", "", 0);
	put(dir, "\xc3\xa9", "", 0);
	put(dir, "a0", "", 0);
	assert_list(dir, "[{\"name\": \".hidden\", \"type\": \"file\"}, "
	    "{\"name\": \"B\", \"type\": \"file\"}, "
	    "{\"name\": \"_\", \"type\": \"file\"}, "
	    "{\"name\": \"a\", \"type\": \"file\"}, "
	    "{\"name\": \"a0\", \"type\": \"file\"}, "
	    "{\"name\": \"b\", \"type\": \"file\"}, "
	    "{\"name\": \"\\u00e9\", \"type\": \"file\"}]");
}

static void
bin_typing(void **state)
{
	char dir[PATH_MAX], p[PATH_MAX * 2];
	static const unsigned char img[] = { 0xe9, 0x01 };
	static const unsigned char gz[] = { 0x1f, 0x8b, 0x08 };

	(void)state;
	scratch("types", dir, sizeof(dir));
	put(dir, ".bin", img, sizeof(img));		/* splitext: no ext */
	put(dir, "a.bin.d", img, sizeof(img));
	put(dir, "a.Bin", img, sizeof(img));
	put(dir, "gz.bin", gz, sizeof(gz));
	put(dir, "ok.bin", img, sizeof(img));
	set_mtime(dir, "ok.bin", FIXED_MTIME);
	snprintf(p, sizeof(p), "%s/fifo.bin", dir);
	assert_int_equal(mkfifo(p, 0644), 0);
	assert_list(dir, "[{\"name\": \".bin\", \"type\": \"file\"}, "
	    "{\"name\": \"a.Bin\", \"type\": \"file\"}, "
	    "{\"name\": \"a.bin.d\", \"type\": \"file\"}, "
	    "{\"name\": \"fifo.bin\", \"type\": \"file\"}, "
	    "{\"name\": \"gz.bin\", \"type\": \"file\"}, "
	    "{\"name\": \"ok.bin\", \"type\": \"bin\", \"date\": \"11/22/26\", "
	    "\"time\": \"21:03:14\", \"size\": 2}]");
}

static void
unreadable_bin_is_file(void **state)
{
	char dir[PATH_MAX], p[PATH_MAX * 2];
	static const unsigned char img[] = { 0xe9, 0x01 };

	(void)state;
	if (geteuid() == 0)
		skip();	/* root reads mode-000 files anyway */
	scratch("unreadable", dir, sizeof(dir));
	put(dir, "locked.bin", img, sizeof(img));
	snprintf(p, sizeof(p), "%s/locked.bin", dir);
	assert_int_equal(chmod(p, 0), 0);
	assert_list(dir, "[{\"name\": \"locked.bin\", \"type\": \"file\"}]");
}

/* Fills out with n copies of c, then tail. */
static void
name_of(char *out, size_t n, char c, const char *tail)
{
	memset(out, c, n);
	memcpy(out + n, tail, strlen(tail) + 1);
}

static void
oversized_entries_left_out(void **state)
{
	char dir[PATH_MAX], p[PATH_MAX * 2], want[2048];
	char file_ok[256], file_long[256], bin_ok[256], bin_long[256];
	char dir_ok[256], dir_long[256], wide[256];
	unsigned char img[12];
	size_t i;

	(void)state;
	memset(img, 0, sizeof(img));
	img[0] = 0xe9;
	scratch("long", dir, sizeof(dir));
	/* {"name": "<n>", "type": "file"} is 28 + n bytes. */
	name_of(file_ok, CATALOG_MAX_ENTRY_JSON - 28, 'f', "");
	name_of(file_long, CATALOG_MAX_ENTRY_JSON - 27, 'g', "");
	/* {"name": "<n>", "type": "directory"} is 33 + n bytes. */
	name_of(dir_ok, CATALOG_MAX_ENTRY_JSON - 33, 'd', "");
	name_of(dir_long, CATALOG_MAX_ENTRY_JSON - 32, 'e', "");
	/* A bin entry with a two-digit size is 79 + n bytes. */
	name_of(bin_ok, CATALOG_MAX_ENTRY_JSON - 79 - 4, 'b', ".bin");
	name_of(bin_long, CATALOG_MAX_ENTRY_JSON - 78 - 4, 'c', ".bin");
	/* 40 two-byte characters: 80 bytes on disk, 240 in JSON. */
	for (i = 0; i < 40; i++)
		memcpy(wide + 2 * i, "\xc3\xaf", 2);
	wide[80] = '\0';
	put(dir, file_ok, "x", 1);
	put(dir, file_long, "x", 1);
	put(dir, bin_ok, img, sizeof(img));
	put(dir, bin_long, img, sizeof(img));
	put(dir, wide, "x", 1);
	put(dir, "short", "x", 1);
	set_mtime(dir, bin_ok, FIXED_MTIME);
	set_mtime(dir, bin_long, FIXED_MTIME);
	snprintf(p, sizeof(p), "%s/%s", dir, dir_ok);
	assert_int_equal(mkdir(p, 0755), 0);
	snprintf(p, sizeof(p), "%s/%s", dir, dir_long);
	assert_int_equal(mkdir(p, 0755), 0);
	/* Entries of exactly CATALOG_MAX_ENTRY_JSON bytes stay. */
	snprintf(want, sizeof(want), "[{\"name\": \"%s\", \"type\": \"bin\", "
	    "\"date\": \"11/22/26\", \"time\": \"21:03:14\", \"size\": 12}, "
	    "{\"name\": \"%s\", \"type\": \"directory\"}, "
	    "{\"name\": \"%s\", \"type\": \"file\"}, "
	    "{\"name\": \"short\", \"type\": \"file\"}]",
	    bin_ok, dir_ok, file_ok);
	assert_list(dir, want);
}

static void
invalid_utf8_name_left_out(void **state)
{
	char dir[PATH_MAX];

	(void)state;
	scratch("utf8", dir, sizeof(dir));
	put(dir, "bad\xff.bin", "\xe9", 1);
	put(dir, "bad\xc0\xaf", "x", 1);
	put(dir, "ok.txt", "x", 1);
	assert_list(dir, "[{\"name\": \"ok.txt\", \"type\": \"file\"}]");
}

static void
symlinks(void **state)
{
	char dir[PATH_MAX], p[PATH_MAX * 2], t[PATH_MAX * 2];

	(void)state;
	scratch("links", dir, sizeof(dir));
	put(dir, "real.txt", "x", 1);
#define LN(target, name) do { \
	snprintf(p, sizeof(p), "%s/%s", dir, name); \
	assert_int_equal(symlink(target, p), 0); \
} while (0)
	LN("real.txt", "in_file");
	LN("../good.bin", "in.bin");		/* fw/good.bin */
	LN("../sub", "in_dir");
	snprintf(t, sizeof(t), "%s/readme.txt", root);
	LN(t, "in_abs");
	LN("../../outside.txt", "out_file");	/* base/outside.txt */
	LN("../../fw2", "out_sibling");
	LN("../../fw2/secret.bin", "out_bin");
	LN(base, "out_abs");
	LN("nowhere", "dangling");
	LN("loop", "loop");
#undef LN
	snprintf(p, sizeof(p), "%s/good.bin", root);
	{
		struct timespec ts[2] = { { FIXED_MTIME, 0 },
		    { FIXED_MTIME, 0 } };

		assert_int_equal(utimensat(AT_FDCWD, p, ts, 0), 0);
	}
	assert_list(dir, "[{\"name\": \"in.bin\", \"type\": \"bin\", "
	    "\"date\": \"11/22/26\", \"time\": \"21:03:14\", \"size\": 18}, "
	    "{\"name\": \"in_abs\", \"type\": \"file\"}, "
	    "{\"name\": \"in_dir\", \"type\": \"directory\"}, "
	    "{\"name\": \"in_file\", \"type\": \"file\"}, "
	    "{\"name\": \"real.txt\", \"type\": \"file\"}]");
}

static void
omission_logged_with_name(void **state)
{
	char dir[PATH_MAX], got[8192], name[256];
	int pfd[2];
	ssize_t n;
	char *s;

	(void)state;
	scratch("logged", dir, sizeof(dir));
	name_of(name, 190, 'z', "");
	put(dir, name, "x", 1);
	assert_int_equal(pipe(pfd), 0);
	fcntl(pfd[0], F_SETFL, O_NONBLOCK);
	log_set_fd(pfd[1]);
	log_set_level(LOG_WARNING);
	s = list(dir);
	log_set_level(LOG_ERROR);
	log_set_fd(-1);
	assert_string_equal(s, "[]");
	free(s);
	n = read(pfd[0], got, sizeof(got) - 1);
	close(pfd[0]);
	close(pfd[1]);
	assert_true(n > 0);
	got[n] = '\0';
	assert_non_null(strstr(got, name));
}

static void
entry_count_cap(void **state)
{
	char dir[PATH_MAX], name[32], *s, *p;
	size_t i, count = 0;

	(void)state;
	scratch("many", dir, sizeof(dir));
	for (i = 0; i < CATALOG_MAX_ENTRIES + 5; i++) {
		snprintf(name, sizeof(name), "f%05zu", i);
		put(dir, name, "", 0);
	}
	log_set_level(LOG_CRITICAL);
	s = list(dir);
	log_set_level(LOG_ERROR);
	for (p = s; (p = strstr(p, "{\"name\": ")) != NULL; p++)
		count++;
	assert_int_equal(count, CATALOG_MAX_ENTRIES);
	assert_int_equal(s[0], '[');
	assert_memory_equal(s + strlen(s) - 2, "}]", 2);
	free(s);
	tl_rmtree(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(fixture_listing),
		cmocka_unit_test(date_time_follow_localtime),
		cmocka_unit_test(sub_listing),
		cmocka_unit_test(empty_dir),
		cmocka_unit_test(not_a_directory),
		cmocka_unit_test(unreadable_dir),
		cmocka_unit_test(output_cap),
		cmocka_unit_test(json_string_table),
		cmocka_unit_test(json_string_appends),
		cmocka_unit_test(escaped_names_in_listing),
		cmocka_unit_test(sorted_bytewise_and_dotfiles),
		cmocka_unit_test(bin_typing),
		cmocka_unit_test(unreadable_bin_is_file),
		cmocka_unit_test(oversized_entries_left_out),
		cmocka_unit_test(invalid_utf8_name_left_out),
		cmocka_unit_test(symlinks),
		cmocka_unit_test(omission_logged_with_name),
		cmocka_unit_test(entry_count_cap),
	};

	/* Fixed dates as text: the product formats mtime in local time. */
	setenv("TZ", "UTC0", 1);
	tzset();
	/* Omissions are logged at WARNING; keep the test output readable. */
	log_set_level(LOG_ERROR);
	return cmocka_run_group_tests_name("catalog", tests, fixture_setup,
	    fixture_teardown);
}
