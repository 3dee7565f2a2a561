/*
 * target: raw request-targets as devices, browsers and attackers send them,
 * and what the routes get from each (path, raw query, catalog or not).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "server/target.h"

struct tcase {
	const char *raw;
	enum ota_status want;
	bool is_catalog;
	const char *path;
	const char *query;
};

static const struct tcase cases[] = {
	/* The catalog route, exactly "/_catalog" on the raw path. */
	{ "/_catalog?op=list", OTA_OK, true, "_catalog", "op=list" },
	{ "/_catalog?op=list&path=.", OTA_OK, true, "_catalog",
	    "op=list&path=." },
	{ "/_catalog", OTA_OK, true, "_catalog", "" },
	{ "/_catalog?", OTA_OK, true, "_catalog", "" },
	{ "/_catalog#x", OTA_OK, true, "_catalog", "" },
	{ "/_catalog/", OTA_OK, false, "_catalog", "" },
	{ "/_catalog/?op=list", OTA_OK, false, "_catalog", "op=list" },
	{ "/_CATALOG", OTA_OK, false, "_CATALOG", "" },
	{ "/_catalogx?op=list", OTA_OK, false, "_catalogx", "op=list" },
	{ "_catalog?op=list", OTA_OK, false, "_catalog", "op=list" },
	{ "/%5fcatalog?op=list", OTA_OK, false, "_catalog", "op=list" },
	/* Absolute form is reduced to its path. */
	{ "http://h/_catalog?op=list", OTA_OK, true, "_catalog", "op=list" },
	{ "HTTP://h:8000/_catalog?op=list", OTA_OK, true, "_catalog",
	    "op=list" },
	{ "https://h/good.bin", OTA_OK, false, "good.bin", "" },
	{ "http://h", OTA_OK, false, "", "" },
	{ "http://h?op=list", OTA_OK, false, "", "op=list" },
	{ "http://h/../x", OTA_E_FORBIDDEN, false, NULL, NULL },
	/* Downloads. */
	{ "/good.bin", OTA_OK, false, "good.bin", "" },
	{ "./good.bin", OTA_OK, false, "good.bin", "" },
	{ "bin/x.bin", OTA_OK, false, "bin/x.bin", "" },
	{ "/sub/inner.bin", OTA_OK, false, "sub/inner.bin", "" },
	{ "//sub//inner.bin", OTA_OK, false, "sub/inner.bin", "" },
	{ "/sub/", OTA_OK, false, "sub", "" },
	{ "/", OTA_OK, false, "", "" },
	{ "/good.bin?v=1", OTA_OK, false, "good.bin", "v=1" },
	{ "/good.bin?v=1#frag", OTA_OK, false, "good.bin", "v=1" },
	{ "/good.bin#frag", OTA_OK, false, "good.bin", "" },
	{ "/good.bin#frag?x=1", OTA_OK, false, "good.bin", "" },
	{ "/x?a?b", OTA_OK, false, "x", "a?b" },
	{ "/good.bin?a=%zz", OTA_OK, false, "good.bin", "a=%zz" },
	{ "/a+b.bin", OTA_OK, false, "a+b.bin", "" },
	{ "/a%20b.bin", OTA_OK, false, "a b.bin", "" },
	{ "/f%C3%AFrmware.bin", OTA_OK, false, "f\xc3\xafrmware.bin", "" },
	{ "/%67ood.bin", OTA_OK, false, "good.bin", "" },
	/* Traversal: 403. */
	{ "/../x", OTA_E_FORBIDDEN, false, NULL, NULL },
	{ "/../../../etc/passwd", OTA_E_FORBIDDEN, false, NULL, NULL },
	{ "/%2e%2e/x", OTA_E_FORBIDDEN, false, NULL, NULL },
	{ "/%2E%2E/%2e%2e/etc/passwd", OTA_E_FORBIDDEN, false, NULL, NULL },
	{ "/sub/%2e%2e%2f%2e%2e/x", OTA_E_FORBIDDEN, false, NULL, NULL },
	{ "/a%5cb", OTA_E_FORBIDDEN, false, NULL, NULL },
	{ "/..%5c..%5cx", OTA_E_FORBIDDEN, false, NULL, NULL },
	{ "/a%01b", OTA_E_FORBIDDEN, false, NULL, NULL },
	{ "/a%0d%0ab", OTA_E_FORBIDDEN, false, NULL, NULL },
	{ "/a%7f", OTA_E_FORBIDDEN, false, NULL, NULL },
	/* Malformed: 400. */
	{ "/a%00b", OTA_E_INVALID, false, NULL, NULL },
	{ "/a b", OTA_E_INVALID, false, NULL, NULL },
	{ "/a\tb", OTA_E_INVALID, false, NULL, NULL },
	{ "/a\x01", OTA_E_INVALID, false, NULL, NULL },
	{ "/a\x7f", OTA_E_INVALID, false, NULL, NULL },
	{ "/good.bin?v=a b", OTA_E_INVALID, false, NULL, NULL },
	{ "/good.bin?v=\r\n", OTA_E_INVALID, false, NULL, NULL },
	{ "/%zz", OTA_E_INVALID, false, NULL, NULL },
	{ "/%", OTA_E_INVALID, false, NULL, NULL },
	{ "/%4", OTA_E_INVALID, false, NULL, NULL },
	{ "/%4?x", OTA_E_INVALID, false, NULL, NULL },
};

static void
parse_table(void **state)
{
	size_t i;
	int bad = 0;
	struct target *t = malloc(sizeof(*t));

	(void)state;
	assert_non_null(t);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct tcase *c = &cases[i];
		enum ota_status st;

		memset(t, 'Z', sizeof(*t));
		st = target_parse(c->raw, t);
		if (st != c->want || (st == OTA_OK &&
		    (t->is_catalog != c->is_catalog ||
		    strcmp(t->path, c->path) != 0 ||
		    strcmp(t->query, c->query) != 0))) {
			print_error("target_parse(case %zu \"%s\"): status %d, "
			    "want %d", i, c->raw, (int)st, (int)c->want);
			if (st == OTA_OK)
				print_error(" (catalog %d path \"%s\" query "
				    "\"%s\"; want %d \"%s\" \"%s\")",
				    t->is_catalog, t->path, t->query,
				    c->is_catalog, c->path ? c->path : "",
				    c->query ? c->query : "");
			print_error("\n");
			bad++;
		}
	}
	free(t);
	assert_int_equal(bad, 0);
}

/* "/" + n copies of c, then tail; malloc'd. */
static char *
long_target(const char *head, size_t n, char c, const char *tail)
{
	size_t h = strlen(head), tl = strlen(tail);
	char *s = malloc(h + n + tl + 1);

	assert_non_null(s);
	memcpy(s, head, h);
	memset(s + h, c, n);
	memcpy(s + h + n, tail, tl + 1);
	return s;
}

static void
query_cap(void **state)
{
	struct target *t = malloc(sizeof(*t));
	char *raw;

	(void)state;
	assert_non_null(t);
	raw = long_target("/good.bin?", TARGET_MAX_QUERY - 1, 'q', "");
	assert_int_equal(target_parse(raw, t), OTA_OK);
	assert_int_equal(strlen(t->query), TARGET_MAX_QUERY - 1);
	assert_string_equal(t->path, "good.bin");
	free(raw);
	raw = long_target("/good.bin?", TARGET_MAX_QUERY, 'q', "");
	assert_int_equal(target_parse(raw, t), OTA_E_TOO_LARGE);
	free(raw);
	/* The fragment does not count against the query. */
	raw = long_target("/good.bin?v=1#", TARGET_MAX_QUERY * 2, 'f', "");
	assert_int_equal(target_parse(raw, t), OTA_OK);
	assert_string_equal(t->query, "v=1");
	free(raw);
	free(t);
}

static void
path_cap(void **state)
{
	struct target *t = malloc(sizeof(*t));
	char *raw;

	(void)state;
	assert_non_null(t);
	raw = long_target("/", TARGET_MAX_PATH - 2, 'p', "");
	assert_int_equal(target_parse(raw, t), OTA_OK);
	assert_int_equal(strlen(t->path), TARGET_MAX_PATH - 2);
	free(raw);
	raw = long_target("/", TARGET_MAX_PATH * 2, 'p', "");
	assert_int_equal(target_parse(raw, t), OTA_E_TOO_LARGE);
	free(raw);
	/* Escapes count decoded: 3 raw bytes are one path byte. */
	raw = long_target("/", 3 * 600, 'x', "");
	{
		size_t i;

		for (i = 0; i < 600; i++)
			memcpy(raw + 1 + 3 * i, "%41", 3);
	}
	assert_int_equal(target_parse(raw, t), OTA_OK);
	assert_int_equal(strlen(t->path), 600);
	assert_int_equal(t->path[0], 'A');
	free(raw);
	free(t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(parse_table),
		cmocka_unit_test(query_cap),
		cmocka_unit_test(path_cap),
	};

	return cmocka_run_group_tests_name("target", tests, NULL, NULL);
}
