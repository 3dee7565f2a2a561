/*
 * feed: config files as the seed writes them, releases/latest answers
 * (a release, GitHub's 404 object, a captive portal's HTML), and contents
 * listings, including every hostile path of micropython-ota-updater.md
 * §10 cases 26-29 and D11's "main/domain/x.py".
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "client/feed.h"

#define SHA "b80e3222ab264bd7cafb376749bd18814fd66776"

static enum ota_status
config(const char *text, struct feed_config *c)
{
	char err[256] = "";
	enum ota_status st = feed_config_parse(text, strlen(text), c, err,
	    sizeof(err));

	if (st != OTA_OK)
		assert_true(err[0] != '\0');
	return st;
}

static void
config_files(void **state)
{
	struct feed_config c;
	char err[256];

	(void)state;
	assert_int_equal(config("{\"gitrepo\": {\"url\": "
	    "\"https://github.com/me/app\"}}", &c), OTA_OK);
	assert_string_equal(c.api, "https://api.github.com/repos/me/app");
	assert_string_equal(c.token, "");
	assert_int_equal(config("{\"gitrepo\": {\"url\": "
	    "\"http://10.0.0.2:8000/repos/me/app/\", \"github_pat\": \"ota_x\"},"
	    " \"ota\": {\"public_key\": \"ed25519 AAAA\"}}", &c), OTA_OK);
	assert_string_equal(c.api, "http://10.0.0.2:8000/repos/me/app");
	assert_string_equal(c.token, "ota_x");
	assert_string_equal(c.public_key, "ed25519 AAAA");
	/* Anchored: github.com elsewhere in a URL is left alone. */
	assert_int_equal(config("{\"gitrepo\": {\"url\": "
	    "\"http://proxy/https://github.com/me/app\"}}", &c), OTA_OK);
	assert_string_equal(c.api, "http://proxy/https://github.com/me/app");
	assert_int_equal(config("{}", &c), OTA_E_INVALID);
	assert_int_equal(config("[]", &c), OTA_E_INVALID);
	assert_int_equal(config("{\"gitrepo\": {\"url\": \"ftp://x/y\"}}",
	    &c), OTA_E_INVALID);
	assert_int_equal(config("{\"gitrepo\": {\"url\": 5}}", &c),
	    OTA_E_INVALID);
	/* Found by fuzz_feed: a scheme without a host. */
	assert_int_equal(config("{\"gitrepo\": {\"url\": \"https://\"}}",
	    &c), OTA_E_INVALID);
	assert_int_equal(config("{\"gitrepo\": {\"url\": \"http:///x\"}}",
	    &c), OTA_E_INVALID);
	assert_int_equal(config("{\"gitrepo\": {\"url\": \"http://a/b\", "
	    "\"github_pat\": \"two words\"}}", &c), OTA_E_INVALID);
	/* The token never shows in a message. */
	{
		static const char t[] = "{\"gitrepo\": {\"url\": "
		    "\"http://a/b\", \"github_pat\": \"sec ret\"}}";

		assert_int_equal(feed_config_parse(t, strlen(t), &c, err,
		    sizeof(err)), OTA_E_INVALID);
	}
	assert_null(strstr(err, "sec"));
	assert_int_equal(config("not json", &c), OTA_E_INVALID);
}

static enum ota_status
release(const char *text, struct feed_release *r)
{
	char err[256] = "";

	return feed_release_parse(text, strlen(text), r, err, sizeof(err));
}

static void
releases(void **state)
{
	struct feed_release r;

	(void)state;
	assert_int_equal(release("{\"tag_name\": \"1.0.2\"}", &r), OTA_OK);
	assert_string_equal(r.tag, "1.0.2");
	assert_string_equal(r.manifest_url, "");
	assert_int_equal(release("{\"tag_name\":\"v2.0.0\",\"ota\":{"
	    "\"manifest_url\":\"http://h:1/api/v1/repos/a/b/releases/v2.0.0/"
	    "manifest\",\"metadata_version\":7}}", &r), OTA_OK);
	assert_int_equal(r.metadata_version, 7);
	assert_non_null(strstr(r.manifest_url, "/manifest"));
	assert_int_equal(release("{\"message\":\"Not Found\","
	    "\"documentation_url\":\"https://docs.github.com/rest\"}", &r),
	    OTA_E_NOTFOUND);
	assert_int_equal(release("{\"message\":\"API rate limit exceeded\"}",
	    &r), OTA_E_NOTFOUND);
	assert_int_equal(release("<html><body>Log in to the Wi-Fi</body>"
	    "</html>", &r), OTA_E_PROTOCOL);
	assert_int_equal(release("[{\"tag_name\":\"1.0\"}]", &r),
	    OTA_E_PROTOCOL);
	assert_int_equal(release("{\"tag_name\":\"\"}", &r), OTA_E_PROTOCOL);
	assert_int_equal(release("{\"tag_name\":\"1.0\\n\"}", &r),
	    OTA_E_PROTOCOL);
	assert_int_equal(release("{\"tag_name\":\"1\",\"ota\":{"
	    "\"metadata_version\":1.5}}", &r), OTA_E_PROTOCOL);
	assert_int_equal(release("{\"tag_name\":\"1\",\"ota\":{"
	    "\"manifest_url\":\"file:///etc/passwd\"}}", &r), OTA_E_PROTOCOL);
}

/* A release answer of more JSON values than a release has is refused
 * before its tokens are allocated. */
static void
release_token_cap(void **state)
{
	struct feed_release r;
	char *text = malloc(4 * (FEED_MAX_TOKENS + 8));
	size_t len, i;

	(void)state;
	len = (size_t)sprintf(text, "{\"tag_name\":\"1.0.0\",\"x\":[");
	for (i = 0; i < FEED_MAX_TOKENS; i++)
		len += (size_t)sprintf(text + len, "%s0", i ? "," : "");
	(void)sprintf(text + len, "]}");
	assert_int_equal(release(text, &r), OTA_E_PROTOCOL);
	free(text);
}

static enum ota_status
listing(const char *text, const char *dir, struct feed_entry *e, size_t max,
    size_t *n)
{
	char err[256] = "";
	enum ota_status st = feed_listing_parse(text, strlen(text), dir, e,
	    max, n, err, sizeof(err));

	if (st != OTA_OK)
		assert_true(err[0] != '\0');
	return st;
}

#define FILE_ENT(path, name) "{\"type\":\"file\",\"name\":\"" name "\"," \
	"\"path\":\"" path "\",\"sha\":\"" SHA "\",\"size\":12," \
	"\"download_url\":\"http://h/raw/a/b/refs/tags/1/" path "\"}"

static void
listings(void **state)
{
	struct feed_entry e[8];
	size_t n;

	(void)state;
	assert_int_equal(listing("[" FILE_ENT("main/app.py", "app.py") ","
	    "{\"type\":\"dir\",\"name\":\"domain\",\"path\":\"main/domain\","
	    "\"download_url\":null}]", "main", e, 8, &n), OTA_OK);
	assert_int_equal(n, 2);
	assert_int_equal(e[0].type, FEED_FILE);
	assert_string_equal(e[0].rel, "app.py");
	assert_string_equal(e[0].sha, SHA);
	assert_int_equal(e[0].size, 12);
	assert_int_equal(e[1].type, FEED_DIR);
	assert_string_equal(e[1].rel, "domain");
	/* D11: anchored, so main/domain/x.py is domain/x.py. */
	assert_int_equal(listing("[" FILE_ENT("main/domain/x.py", "x.py") "]",
	    "main/domain", e, 8, &n), OTA_OK);
	assert_string_equal(e[0].rel, "domain/x.py");
	assert_int_equal(listing("[]", "main", e, 8, &n), OTA_OK);
	assert_int_equal(n, 0);
}

static void
listing_hostile(void **state)
{
	static const char *const bad[] = {
		"[" FILE_ENT("main/../boot.py", "../boot.py") "]",
		"[" FILE_ENT("/etc/x", "x") "]",
		"[" FILE_ENT("other/x.py", "x.py") "]",
		"[" FILE_ENT("main/x.py", "y.py") "]",
		"[" FILE_ENT("main/a/b.py", "a/b.py") "]",
		"[" FILE_ENT("main/..", "..") "]",
		"[" FILE_ENT("main/a\\\\b", "a\\\\b") "]",
		"[" FILE_ENT("mainx/y.py", "y.py") "]",
		"[{\"type\":\"symlink\",\"name\":\"l\",\"path\":\"main/l\"}]",
		"[{\"type\":\"submodule\",\"name\":\"s\",\"path\":\"main/s\"}]",
		"[{\"type\":\"file\",\"name\":\"x\",\"path\":\"main/x\","
		    "\"size\":1,\"download_url\":\"http://h/x\"}]",
		"[{\"type\":\"file\",\"name\":\"x\",\"path\":\"main/x\","
		    "\"sha\":\"" SHA "\",\"size\":-1,"
		    "\"download_url\":\"http://h/x\"}]",
		"[{\"type\":\"file\",\"name\":\"x\",\"path\":\"main/x\","
		    "\"sha\":\"" SHA "\",\"size\":1,"
		    "\"download_url\":\"file:///x\"}]",
		"[{\"type\":\"file\",\"name\":\"x\",\"path\":\"main/x\","
		    "\"sha\":\"B80E3222AB264BD7CAFB376749BD18814FD66776\","
		    "\"size\":1,\"download_url\":\"http://h/x\"}]",
		"[5]",
		"{\"message\":\"API rate limit exceeded\"}",
		"<html></html>",
		/* A NUL inside a path must not cut it short. */
		"[" FILE_ENT("main/x\\u0000/../y", "y") "]",
		/* Whole numbers only, exactly: no rounding to one. */
		"[{\"type\":\"file\",\"name\":\"x\",\"path\":\"main/x\","
		    "\"sha\":\"" SHA "\",\"size\":9007199254740993,"
		    "\"download_url\":\"http://h/x\"}]",
		/* Strict JSON: bytes after the array, a leading zero. */
		"[" FILE_ENT("main/x.py", "x.py") "] x",
		"[{\"type\":\"file\",\"name\":\"x\",\"path\":\"main/x\","
		    "\"sha\":\"" SHA "\",\"size\":012,"
		    "\"download_url\":\"http://h/x\"}]",
	};
	struct feed_entry e[4];
	size_t i, n;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		print_message("%s\n", bad[i]);
		assert_int_equal(listing(bad[i], "main", e, 4, &n),
		    OTA_E_PROTOCOL);
		assert_int_equal(n, 0);
	}
}

/* More entries than the caller allows is an explicit error (§10 26). */
static void
listing_cap(void **state)
{
	char *text = malloc(64 * 1024);
	struct feed_entry e[3];
	size_t len, i, n;

	(void)state;
	len = (size_t)sprintf(text, "[");
	for (i = 0; i < 4; i++)
		len += (size_t)sprintf(text + len, "%s{\"type\":\"dir\","
		    "\"name\":\"d%zu\",\"path\":\"main/d%zu\"}", i ? "," : "",
		    i, i);
	(void)sprintf(text + len, "]");
	assert_int_equal(listing(text, "main", e, 3, &n), OTA_E_TOO_LARGE);
	assert_int_equal(n, 0);
	/* One entry of more JSON values than a walk holds: refused, with
	 * memory that does not grow with it. */
	len = (size_t)sprintf(text, "[{\"type\":\"dir\",\"name\":\"d\","
	    "\"path\":\"main/d\",\"x\":[");
	for (i = 0; i < 300; i++)
		len += (size_t)sprintf(text + len, "%s%zu", i ? "," : "", i);
	(void)sprintf(text + len, "]}]");
	assert_int_equal(listing(text, "main", e, 3, &n), OTA_E_PROTOCOL);
	assert_int_equal(n, 0);
	free(text);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(config_files),
		cmocka_unit_test(releases),
		cmocka_unit_test(release_token_cap),
		cmocka_unit_test(listings),
		cmocka_unit_test(listing_hostile),
		cmocka_unit_test(listing_cap),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
