/*
 * path: textual normalisation refuses traversal before the filesystem is
 * touched; containment is by whole components; resolution follows links
 * only while they stay inside the root.
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

#include "common/path.h"
#include "testlib.h"

struct norm_case {
	const char *in;
	enum ota_status want;
	const char *out;
};

static const struct norm_case norm_cases[] = {
	{ "", OTA_OK, "" },
	{ "/", OTA_OK, "" },
	{ "///", OTA_OK, "" },
	{ ".", OTA_OK, "" },
	{ "./", OTA_OK, "" },
	{ "/./.", OTA_OK, "" },
	{ "a", OTA_OK, "a" },
	{ "/good.bin", OTA_OK, "good.bin" },
	{ "//a//b/", OTA_OK, "a/b" },
	{ "./a/./b", OTA_OK, "a/b" },
	{ "sub/inner.bin", OTA_OK, "sub/inner.bin" },
	{ "...", OTA_OK, "..." },
	{ ".hidden", OTA_OK, ".hidden" },
	{ "a/..b", OTA_OK, "a/..b" },
	{ "..a/b..", OTA_OK, "..a/b.." },
	{ "f\xc3\xafrmware.bin", OTA_OK, "f\xc3\xafrmware.bin" },
	{ "a b", OTA_OK, "a b" },
	{ "..", OTA_E_FORBIDDEN, NULL },
	{ "/..", OTA_E_FORBIDDEN, NULL },
	{ "../", OTA_E_FORBIDDEN, NULL },
	{ "a/..", OTA_E_FORBIDDEN, NULL },
	{ "a/../b", OTA_E_FORBIDDEN, NULL },
	{ "./../x", OTA_E_FORBIDDEN, NULL },
	{ "a/b/../../..", OTA_E_FORBIDDEN, NULL },
	{ "a\\b", OTA_E_FORBIDDEN, NULL },
	{ "..\\x", OTA_E_FORBIDDEN, NULL },
	{ "\\", OTA_E_FORBIDDEN, NULL },
	{ "a\x01" "b", OTA_E_FORBIDDEN, NULL },
	{ "a\tb", OTA_E_FORBIDDEN, NULL },
	{ "a\nb", OTA_E_FORBIDDEN, NULL },
	{ "a\rb", OTA_E_FORBIDDEN, NULL },
	{ "x/\x1f", OTA_E_FORBIDDEN, NULL },
	{ "\x7f", OTA_E_FORBIDDEN, NULL },
	{ "ok/a\x7f" "b", OTA_E_FORBIDDEN, NULL },
};

static void
normalize_table(void **state)
{
	size_t i;
	int bad = 0;

	(void)state;
	for (i = 0; i < sizeof(norm_cases) / sizeof(norm_cases[0]); i++) {
		const struct norm_case *c = &norm_cases[i];
		char out[64];
		enum ota_status st;

		memset(out, 'Z', sizeof(out));
		out[sizeof(out) - 1] = '\0';
		st = path_normalize(c->in, out, sizeof(out));
		if (st != c->want ||
		    (st == OTA_OK && strcmp(out, c->out) != 0) ||
		    (st != OTA_OK && out[0] != '\0')) {
			print_error("path_normalize(case %zu): status %d out "
			    "\"%.20s\", want status %d out \"%s\"\n", i,
			    (int)st, out, (int)c->want, c->out ? c->out : "");
			bad++;
		}
	}
	assert_int_equal(bad, 0);
}

static void
normalize_too_small(void **state)
{
	char out[8];

	(void)state;
	memset(out, 'Z', sizeof(out));
	assert_int_equal(path_normalize("abc", out, 3), OTA_E_TOO_LARGE);
	assert_int_equal(out[0], '\0');
	assert_int_equal(path_normalize("abc", out, 4), OTA_OK);
	assert_string_equal(out, "abc");
	assert_int_equal(path_normalize("//a/./b//", out, 4), OTA_OK);
	assert_string_equal(out, "a/b");
	assert_int_equal(path_normalize("a/bc", out, 4), OTA_E_TOO_LARGE);
	assert_int_equal(out[0], '\0');
	assert_int_equal(path_normalize("", out, 1), OTA_OK);
	assert_string_equal(out, "");
	memset(out, 'Z', sizeof(out));
	assert_int_equal(path_normalize("", out, 0), OTA_E_TOO_LARGE);
	assert_int_equal(out[0], 'Z');
}

static void
is_within(void **state)
{
	(void)state;
	assert_true(path_is_within("/srv/fw", "/srv/fw"));
	assert_true(path_is_within("/srv/fw", "/srv/fw/x"));
	assert_true(path_is_within("/srv/fw", "/srv/fw/sub/x.bin"));
	assert_false(path_is_within("/srv/fw", "/srv/fw2"));
	assert_false(path_is_within("/srv/fw", "/srv/fw-old/x"));
	assert_false(path_is_within("/srv/fw", "/srv/f"));
	assert_false(path_is_within("/srv/fw", "/srv"));
	assert_false(path_is_within("/srv/fw", "/"));
	assert_false(path_is_within("/srv/fw", "/etc/passwd"));
	assert_true(path_is_within("/", "/"));
	assert_true(path_is_within("/", "/etc/passwd"));
	assert_false(path_is_within("/", "relative"));
}

/* A temp tree: <base>/root (canonical) with links inside and out. */
static char base[PATH_MAX], root[PATH_MAX + 16];

static void
mk(const char *rel, int dir)
{
	char p[PATH_MAX * 2];

	snprintf(p, sizeof(p), "%s/%s", base, rel);
	if (dir)
		assert_int_equal(mkdir(p, 0755), 0);
	else
		assert_int_equal(tl_write_file(p, rel, strlen(rel)), 0);
}

static void
ln(const char *target, const char *rel)
{
	char p[PATH_MAX * 2];

	snprintf(p, sizeof(p), "%s/%s", base, rel);
	assert_int_equal(symlink(target, p), 0);
}

static int
tree_setup(void **state)
{
	char tmp[PATH_MAX], p[PATH_MAX * 2];

	(void)state;
	if (tl_mkdtemp(tmp, sizeof(tmp)) != 0 || realpath(tmp, base) == NULL)
		return -1;
	mk("root", 1);
	mk("root2", 1);
	mk("root2/secret.bin", 0);
	mk("outside.txt", 0);
	mk("root/a.bin", 0);
	mk("root/sub", 1);
	mk("root/sub/b.bin", 0);
	ln("a.bin", "root/link_in");
	ln("../a.bin", "root/sub/link_up");
	snprintf(p, sizeof(p), "%s/root/sub", base);
	ln(p, "root/link_in_abs");
	ln("../outside.txt", "root/link_out");
	ln(base, "root/link_base");
	snprintf(p, sizeof(p), "%s/outside.txt", base);
	ln(p, "root/link_out_abs");
	ln("../root2", "root/link_sib");
	ln("nope", "root/dangling");
	ln("loop", "root/loop");
	snprintf(root, sizeof(root), "%s/root", base);
	return 0;
}

static int
tree_teardown(void **state)
{
	(void)state;
	tl_rmtree(base);
	return 0;
}

struct res_case {
	const char *rel;
	enum ota_status want;
	const char *under;	/* expected result, relative to root */
};

static const struct res_case res_cases[] = {
	{ "", OTA_OK, "" },
	{ "a.bin", OTA_OK, "/a.bin" },
	{ "sub", OTA_OK, "/sub" },
	{ "sub/b.bin", OTA_OK, "/sub/b.bin" },
	{ "link_in", OTA_OK, "/a.bin" },
	{ "sub/link_up", OTA_OK, "/a.bin" },
	{ "link_in_abs", OTA_OK, "/sub" },
	{ "link_in_abs/b.bin", OTA_OK, "/sub/b.bin" },
	{ "link_out", OTA_E_NOTFOUND, NULL },
	{ "link_out_abs", OTA_E_NOTFOUND, NULL },
	{ "link_base", OTA_E_NOTFOUND, NULL },
	{ "link_base/outside.txt", OTA_E_NOTFOUND, NULL },
	{ "link_sib", OTA_E_NOTFOUND, NULL },
	{ "link_sib/secret.bin", OTA_E_NOTFOUND, NULL },
	{ "missing.bin", OTA_E_NOTFOUND, NULL },
	{ "sub/missing", OTA_E_NOTFOUND, NULL },
	{ "a.bin/x", OTA_E_NOTFOUND, NULL },
	{ "dangling", OTA_E_NOTFOUND, NULL },
	{ "loop", OTA_E_NOTFOUND, NULL },
};

static void
resolve_table(void **state)
{
	size_t i;
	int bad = 0;

	(void)state;
	for (i = 0; i < sizeof(res_cases) / sizeof(res_cases[0]); i++) {
		const struct res_case *c = &res_cases[i];
		char out[PATH_MAX], want[PATH_MAX * 3];
		enum ota_status st;

		out[0] = '\0';
		snprintf(want, sizeof(want), "%s%s", root,
		    c->under ? c->under : "");
		st = path_resolve(root, c->rel, out, sizeof(out));
		if (st != c->want || (st == OTA_OK && strcmp(out, want) != 0)) {
			print_error("path_resolve(root, \"%s\"): status %d "
			    "\"%s\", want status %d \"%s\"\n", c->rel, (int)st,
			    out, (int)c->want, c->under ? want : "");
			bad++;
		}
	}
	assert_int_equal(bad, 0);
}

static void
resolve_out_too_small(void **state)
{
	char out[8];

	(void)state;
	assert_int_equal(path_resolve(root, "a.bin", out, sizeof(out)),
	    OTA_E_TOO_LARGE);
}

static void
resolve_unreadable_dir(void **state)
{
	char p[PATH_MAX * 2], out[PATH_MAX];
	enum ota_status st;

	(void)state;
	if (geteuid() == 0)
		skip();
	snprintf(p, sizeof(p), "%s/sub", root);
	assert_int_equal(chmod(p, 0), 0);
	st = path_resolve(root, "sub/b.bin", out, sizeof(out));
	assert_int_equal(chmod(p, 0755), 0);
	assert_int_equal(st, OTA_E_FORBIDDEN);
}

static void
basename_(void **state)
{
	(void)state;
	assert_string_equal(path_basename("a/b/c.bin"), "c.bin");
	assert_string_equal(path_basename("/srv/fw/good.bin"), "good.bin");
	assert_string_equal(path_basename("c.bin"), "c.bin");
	assert_string_equal(path_basename("/x"), "x");
	assert_string_equal(path_basename("a/"), "");
	assert_string_equal(path_basename(""), "");
}

/* path_open: the openat2 fast path and the realpath fallback agree. */
static void
open_confined(void **state)
{
	static const struct {
		const char *rel;
		enum ota_status st;
		const char *bytes;	/* expected first bytes, or NULL */
	} cases[] = {
		{ "in.txt", OTA_OK, "inside" },
		{ "sub/rel-link", OTA_OK, "inside" },	/* relative, inside */
		{ "abs-in", OTA_OK, "inside" },		/* absolute, inside */
		{ "sub", OTA_OK, NULL },		/* a directory opens */
		{ "", OTA_OK, NULL },			/* the top itself */
		{ "abs-out", OTA_E_NOTFOUND, NULL },	/* absolute, outside */
		{ "rel-out", OTA_E_NOTFOUND, NULL },	/* ../ out of top */
		{ "sub/deep-out", OTA_E_NOTFOUND, NULL },
		{ "missing", OTA_E_NOTFOUND, NULL },
		{ "in.txt/x", OTA_E_NOTFOUND, NULL },
		{ "loop", OTA_E_NOTFOUND, NULL },
	};
	char tmp[256], real[PATH_MAX], top[PATH_MAX + 8], p[2 * PATH_MAX], buf[16];
	size_t i;
	int rootfd;

	assert_int_equal(tl_mkdtemp(tmp, sizeof(tmp)), 0);
	assert_non_null(realpath(tmp, real));
	snprintf(top, sizeof(top), "%s/root", real);
	assert_int_equal(mkdir(top, 0755), 0);
	snprintf(p, sizeof(p), "%s/sub", top);
	assert_int_equal(mkdir(p, 0755), 0);
	snprintf(p, sizeof(p), "%s/in.txt", top);
	assert_int_equal(tl_write_file(p, "inside", 6), 0);
	snprintf(p, sizeof(p), "%s/out.txt", real);
	assert_int_equal(tl_write_file(p, "OUTSIDE", 7), 0);
	snprintf(p, sizeof(p), "%s/sub/rel-link", top);
	assert_int_equal(symlink("../in.txt", p), 0);
	snprintf(buf, sizeof(buf), "%s", "");
	{
		char target[2 * PATH_MAX];

		snprintf(target, sizeof(target), "%s/in.txt", top);
		snprintf(p, sizeof(p), "%s/abs-in", top);
		assert_int_equal(symlink(target, p), 0);
		snprintf(target, sizeof(target), "%s/out.txt", real);
		snprintf(p, sizeof(p), "%s/abs-out", top);
		assert_int_equal(symlink(target, p), 0);
	}
	snprintf(p, sizeof(p), "%s/rel-out", top);
	assert_int_equal(symlink("../out.txt", p), 0);
	snprintf(p, sizeof(p), "%s/sub/deep-out", top);
	assert_int_equal(symlink("../../out.txt", p), 0);
	snprintf(p, sizeof(p), "%s/loop", top);
	assert_int_equal(symlink("loop", p), 0);
	rootfd = open(top, O_RDONLY | O_DIRECTORY);
	assert_true(rootfd >= 0);

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int fd = -1;
		enum ota_status st = path_open(top, rootfd, cases[i].rel, &fd);

		if (st != cases[i].st)
			print_error("path_open(\"%s\") = %d, want %d\n",
			    cases[i].rel, st, cases[i].st);
		assert_int_equal(st, cases[i].st);
		if (st != OTA_OK) {
			assert_int_equal(fd, -1);
			continue;
		}
		assert_true(fd >= 0);
		if (cases[i].bytes != NULL) {
			ssize_t n = read(fd, buf, sizeof(buf));

			assert_int_equal(n, (ssize_t)strlen(cases[i].bytes));
			assert_memory_equal(buf, cases[i].bytes, (size_t)n);
		}
		close(fd);
	}
	close(rootfd);
	tl_rmtree(tmp);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(open_confined),
		cmocka_unit_test(normalize_table),
		cmocka_unit_test(normalize_too_small),
		cmocka_unit_test(is_within),
		cmocka_unit_test(resolve_table),
		cmocka_unit_test(resolve_out_too_small),
		cmocka_unit_test(resolve_unreadable_dir),
		cmocka_unit_test(basename_),
	};

	return cmocka_run_group_tests_name("path", tests, tree_setup,
	    tree_teardown);
}
