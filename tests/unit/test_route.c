/*
 * route: what `ota serve` answers, without sockets. route_handle() is called
 * with a fake header look-up over the §8 fixture catalog, and each reply's
 * status, headers, body or file range is checked exactly. TZ is UTC so the
 * catalog's date/time are fixed text.
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
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/hash.h"
#include "common/log.h"
#include "common/str.h"
#include "server/config.h"
#include "server/filecache.h"
#include "server/route.h"
#include "server/target.h"
#include "testlib.h"

/* 2026-11-22 21:03:14 UTC */
#define FIXED_MTIME 1795381394

static const char fixture_json[] =
    "[{\"name\": \"UPPER.BIN\", \"type\": \"file\"}, "
    "{\"name\": \"bad.bin\", \"type\": \"file\"}, "
    "{\"name\": \"dir.bin\", \"type\": \"directory\"}, "
    "{\"name\": \"empty.bin\", \"type\": \"file\"}, "
    "{\"name\": \"good.bin\", \"type\": \"bin\", \"date\": \"11/22/26\", "
    "\"time\": \"21:03:14\", \"size\": 18}, "
    "{\"name\": \"readme.txt\", \"type\": \"file\"}, "
    "{\"name\": \"sub\", \"type\": \"directory\"}]";

static const char sub_json[] =
    "[{\"name\": \"inner.bin\", \"type\": \"bin\", \"date\": \"11/22/26\", "
    "\"time\": \"21:03:14\", \"size\": 4}]";

static char base[PATH_MAX], cat[PATH_MAX];
static char good_sha[2 * HASH_MAX_LEN + 1], good_etag[80];
static struct serve_config cfg;
static struct route_env env;

static struct tl_hdrs h8, h32, none;

static int
setup(void **state)
{
	char err[256], p[PATH_MAX * 2];
	struct timespec ts[2] = { { FIXED_MTIME, 0 }, { FIXED_MTIME, 0 } };

	(void)state;
	if (tl_fixture(base, sizeof(base), cat, sizeof(cat)) != 0)
		return -1;
	snprintf(p, sizeof(p), "%s/good.bin", cat);
	if (utimensat(AT_FDCWD, p, ts, 0) != 0)
		return -1;
	snprintf(p, sizeof(p), "%s/sub/inner.bin", cat);
	if (utimensat(AT_FDCWD, p, ts, 0) != 0)
		return -1;
	config_defaults(&cfg);
	if (str_copy(cfg.catalog, sizeof(cfg.catalog), cat) != OTA_OK ||
	    config_finish(&cfg, err, sizeof(err)) != OTA_OK)
		return -1;
	env.cfg = &cfg;
	if ((env.cache = filecache_new(0)) == NULL)
		return -1;
	if (hash_hex(HASH_SHA256, tl_good, sizeof(tl_good), good_sha) != OTA_OK)
		return -1;
	snprintf(good_etag, sizeof(good_etag), "\"%s\"", good_sha);
	tl_hdrs_parse(&h8, TL_H8);
	tl_hdrs_parse(&h32, TL_H32);
	memset(&none, 0, sizeof(none));
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	filecache_free(env.cache);
	config_release(&cfg);
	tl_rmtree(base);
	return 0;
}

/* Per-test: the default config, since some tests change it. */
static int
reset(void **state)
{
	(void)state;
	cfg.gate = GATE_STRICT;
	cfg.always_send = false;
	return 0;
}

static void
run(const char *method, const char *target, struct tl_hdrs *h,
    struct reply *rep)
{
	struct route_req req;

	req.method = method;
	req.target = target;
	req.header = tl_hdrs_get;
	req.header_ctx = h;
	reply_init(rep);
	route_handle(&env, &req, rep);
}

static void
assert_header(const struct reply *rep, const char *name, const char *want)
{
	const char *v = reply_header(rep, name);

	if (v == NULL)
		fail_msg("status %d: no %s header", rep->status, name);
	if (strcmp(v, want) != 0)
		fail_msg("status %d: %s: \"%s\", want \"%s\"", rep->status,
		    name, v, want);
}

/* A fixed plain-text error: status, body, no file. */
static void
assert_error(const char *method, const char *target, struct tl_hdrs *h,
    int status, const char *body)
{
	struct reply rep;

	run(method, target, h, &rep);
	if (rep.status != status)
		fail_msg("%s %s: status %d, want %d", method, target,
		    rep.status, status);
	assert_int_equal(rep.fd, -1);
	assert_non_null(rep.body);
	assert_int_equal(rep.body_len, strlen(body));
	assert_memory_equal(rep.body, body, rep.body_len);
	assert_header(&rep, "Content-Type", "text/plain; charset=utf-8");
	reply_release(&rep);
}

/* The file bytes rep would send. */
static void
assert_sends(const struct reply *rep, const void *want, size_t n)
{
	unsigned char got[256];

	assert_true(rep->fd >= 0);
	assert_null(rep->body);
	assert_true(rep->length == n);
	assert_true(n <= sizeof(got));
	assert_int_equal(pread(rep->fd, got, n, (off_t)rep->offset),
	    (ssize_t)n);
	assert_memory_equal(got, want, n);
}

static void
catalog_200(void **state)
{
	static const char *const targets[] = {
		"/_catalog?op=list&path=.", "/_catalog?op=list",
		"/_catalog?op=list&path=", "/_catalog?op=list&op=del",
		"/_catalog?path=&op=list", "http://h/_catalog?op=list",
		"/_catalog?op=list&path=%2e", "/_catalog?op=&op=list",
		"/_catalog?op&op=list",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(targets) / sizeof(targets[0]); i++) {
		struct reply rep;

		/* Not header-gated: no headers at all. */
		run("GET", targets[i], &none, &rep);
		if (rep.status != 200)
			fail_msg("GET %s: status %d", targets[i], rep.status);
		assert_int_equal(rep.fd, -1);
		assert_header(&rep, "Content-Type", "application/json");
		assert_non_null(rep.body);
		if (rep.body_len != strlen(fixture_json) ||
		    memcmp(rep.body, fixture_json, rep.body_len) != 0)
			fail_msg("GET %s: body %.*s", targets[i],
			    (int)rep.body_len, rep.body);
		reply_release(&rep);
	}
}

static void
catalog_sub(void **state)
{
	static const char *const targets[] = {
		"/_catalog?op=list&path=sub", "/_catalog?op=list&path=sub/",
		"/_catalog?op=list&path=./sub", "/_catalog?op=list&path=%73ub",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(targets) / sizeof(targets[0]); i++) {
		struct reply rep;

		run("GET", targets[i], &h8, &rep);
		assert_int_equal(rep.status, 200);
		assert_header(&rep, "Content-Type", "application/json");
		assert_int_equal(rep.body_len, strlen(sub_json));
		assert_memory_equal(rep.body, sub_json, rep.body_len);
		reply_release(&rep);
	}
}

static void
catalog_refusals(void **state)
{
	static const struct {
		const char *target;
		int status;
	} cases[] = {
		{ "/_catalog", 403 },
		{ "/_catalog?op=", 403 },
		{ "/_catalog?op=&path=.", 403 },
		{ "/_catalog?op=del&path=.", 403 },
		{ "/_catalog?op=LIST", 403 },
		{ "/_catalog?path=.", 403 },
		{ "/_catalog?op", 403 },
		{ "/_catalog?op=x%0d%0aX-Injected:%20yes", 403 },
		{ "/_catalog?op=%E2%82%AC", 403 },
		{ "/_catalog?op=list&path=..", 403 },
		{ "/_catalog?op=list&path=%2e%2e%2f..", 403 },
		{ "/_catalog?op=list&path=/etc", 403 },
		{ "/_catalog?op=list&path=%2fetc", 403 },
		{ "/_catalog?op=list&path=../fw2", 403 },
		{ "/_catalog?op=list&path=sub/../..", 403 },
		{ "/_catalog?op=list&path=a%5cb", 403 },
		{ "/_catalog?op=list&path=%00", 403 },
		{ "/_catalog?op=list&path=nope", 404 },
		{ "/_catalog?op=list&path=good.bin", 404 },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		assert_error("GET", cases[i].target, &none, cases[i].status,
		    cases[i].status == 403 ? "Forbidden\n" : "Not Found\n");
}

static void
catalog_no_request_bytes_in_headers(void **state)
{
	struct reply rep;
	size_t i;

	(void)state;
	run("GET", "/_catalog?op=x%0d%0aX-Injected:%20yes", &none, &rep);
	assert_int_equal(rep.status, 403);
	for (i = 0; i < rep.nhdr; i++) {
		assert_null(strstr(rep.hdr[i].value, "Injected"));
		assert_null(strchr(rep.hdr[i].value, '\r'));
		assert_null(strchr(rep.hdr[i].value, '\n'));
	}
	assert_null(memmem(rep.body, rep.body_len, "Injected", 8));
	reply_release(&rep);
}

static void
assert_good_200(const struct reply *rep)
{
	assert_int_equal(rep->status, 200);
	assert_true(rep->offset == 0);
	assert_sends(rep, tl_good, sizeof(tl_good));
	assert_header(rep, "Content-Type", "application/octet-stream");
	assert_header(rep, "Content-Disposition",
	    "attachment; filename=good.bin");
	assert_header(rep, "x-MD5", TL_GOOD_MD5);
	assert_header(rep, "x-SHA256", good_sha);
	assert_header(rep, "ETag", good_etag);
	assert_header(rep, "Accept-Ranges", "bytes");
	assert_null(reply_header(rep, "Content-Range"));
}

static void
download_200(void **state)
{
	static const char *const targets[] = {
		"/good.bin", "./good.bin", "good.bin", "/good.bin?v=1",
		"//good.bin", "/./good.bin", "/%67ood.bin", "/good.bin#x",
		"http://host:8000/good.bin",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(targets) / sizeof(targets[0]); i++) {
		struct reply rep;

		run("GET", targets[i], &h8, &rep);
		if (rep.status != 200)
			fail_msg("GET %s: status %d", targets[i], rep.status);
		assert_good_200(&rep);
		reply_release(&rep);
		assert_int_equal(rep.fd, -1);
	}
}

static void
download_esp32_and_head(void **state)
{
	struct reply rep;

	(void)state;
	run("GET", "/good.bin", &h32, &rep);
	assert_good_200(&rep);
	assert_non_null(strstr(rep.note, "ESP32"));
	assert_non_null(strstr(rep.note, "24:6F:28:AA:BB:CC"));
	reply_release(&rep);
	run("HEAD", "/good.bin", &h8, &rep);
	assert_good_200(&rep);
	assert_non_null(strstr(rep.note, "ESP8266"));
	assert_non_null(strstr(rep.note, "80:7D:3A:6E:39:B3"));
	reply_release(&rep);
}

static void
download_sub(void **state)
{
	static const unsigned char inner[] = { 0xe9, 'a', 'b', 'c' };
	static const char *const targets[] = {
		"/sub/inner.bin", "sub/inner.bin", "/sub//inner.bin",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(targets) / sizeof(targets[0]); i++) {
		struct reply rep;

		run("GET", targets[i], &h8, &rep);
		assert_int_equal(rep.status, 200);
		assert_sends(&rep, inner, sizeof(inner));
		assert_header(&rep, "x-MD5", TL_INNER_MD5);
		assert_header(&rep, "Content-Disposition",
		    "attachment; filename=inner.bin");
		reply_release(&rep);
	}
}

static void
download_odd_names(void **state)
{
	static const struct {
		const char *file, *target, *disposition;
	} cases[] = {
		{ "a b.bin", "/a%20b.bin", "attachment; filename=\"a b.bin\"" },
		{ "a;b.bin", "/a;b.bin", "attachment; filename=\"a;b.bin\"" },
		{ "a,b.bin", "/a,b.bin", "attachment; filename=\"a,b.bin\"" },
		{ "q\"b.bin", "/q%22b.bin", "attachment; filename=\"q_b.bin\"" },
		{ "f\xc3\xafrm.bin", "/f%C3%AFrm.bin",
		    "attachment; filename=\"f__rm.bin\"" },
		{ "a+b.bin", "/a+b.bin", "attachment; filename=a+b.bin" },
	};
	char p[PATH_MAX * 2];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct reply rep;

		snprintf(p, sizeof(p), "%s/%s", cat, cases[i].file);
		assert_int_equal(tl_write_file(p, tl_good, sizeof(tl_good)), 0);
		run("GET", cases[i].target, &h8, &rep);
		assert_int_equal(rep.status, 200);
		assert_sends(&rep, tl_good, sizeof(tl_good));
		assert_header(&rep, "Content-Disposition",
		    cases[i].disposition);
		reply_release(&rep);
		unlink(p);
	}
}

static void
gate_refusal(void **state)
{
	struct tl_hdrs h;

	(void)state;
	assert_error("GET", "/good.bin", &none, 403, "Forbidden\n");
	memset(&h, 0, sizeof(h));
	tl_hdrs_set(&h, "User-Agent", "Mozilla/5.0");
	assert_error("GET", "/good.bin", &h, 403, "Forbidden\n");
	h = h8;
	tl_hdrs_set(&h, "User-Agent", "ESP32-http-Update");
	assert_error("GET", "/good.bin", &h, 403, "Forbidden\n");
	/* Refused before the filesystem: a missing file is 403 too. */
	assert_error("GET", "/missing.bin", &none, 403, "Forbidden\n");
}

static void
gate_modes(void **state)
{
	struct tl_hdrs h;
	struct reply rep;

	(void)state;
	memset(&h, 0, sizeof(h));
	tl_hdrs_set(&h, "User-Agent", "ESP32-http-Update");
	assert_error("GET", "/good.bin", &h, 403, "Forbidden\n");
	cfg.gate = GATE_RELAXED;
	run("GET", "/good.bin", &h, &rep);
	assert_good_200(&rep);
	reply_release(&rep);
	assert_error("GET", "/good.bin", &none, 403, "Forbidden\n");
	cfg.gate = GATE_OFF;
	run("GET", "/good.bin", &none, &rep);
	assert_good_200(&rep);
	reply_release(&rep);
}

static void
not_found_and_forbidden(void **state)
{
	static const struct {
		const char *target;
		int status;
		const char *body;
	} cases[] = {
		{ "/missing.bin", 404, "Not Found\n" },
		{ "/sub/missing.bin", 404, "Not Found\n" },
		{ "/good.bin/x", 404, "Not Found\n" },
		{ "/sub", 403, "Forbidden\n" },
		{ "/sub/", 403, "Forbidden\n" },
		{ "/", 403, "Forbidden\n" },
		{ "/dir.bin", 403, "Forbidden\n" },
		{ "/../../../etc/passwd", 403, "Forbidden\n" },
		{ "/%2e%2e/%2e%2e/etc/passwd", 403, "Forbidden\n" },
		{ "/../fw2/secret.bin", 403, "Forbidden\n" },
		{ "/..%2ffw2/secret.bin", 403, "Forbidden\n" },
		{ "/sub/..%5c..%5cx", 403, "Forbidden\n" },
		{ "/a%00b", 400,
		    "Bad Request: the request is malformed\n" },
		{ "/a b", 400,
		    "Bad Request: the request is malformed\n" },
		{ "/%zz", 400,
		    "Bad Request: the request is malformed\n" },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		assert_error("GET", cases[i].target, &h8, cases[i].status,
		    cases[i].body);
}

static void
symlinks(void **state)
{
	char p[PATH_MAX * 2], t[PATH_MAX * 2];
	struct reply rep;

	(void)state;
	snprintf(p, sizeof(p), "%s/out.bin", cat);
	assert_int_equal(symlink("../fw2/secret.bin", p), 0);
	assert_error("GET", "/out.bin", &h8, 404, "Not Found\n");
	unlink(p);
	/* Absolute, to a readable file outside (base/outside.txt). */
	snprintf(p, sizeof(p), "%s/abs.bin", cat);
	snprintf(t, sizeof(t), "%s/outside.txt", base);
	assert_int_equal(symlink(t, p), 0);
	assert_error("GET", "/abs.bin", &h8, 404, "Not Found\n");
	unlink(p);
	snprintf(p, sizeof(p), "%s/latest.bin", cat);
	assert_int_equal(symlink("good.bin", p), 0);
	run("GET", "/latest.bin", &h8, &rep);
	assert_int_equal(rep.status, 200);
	assert_sends(&rep, tl_good, sizeof(tl_good));
	assert_header(&rep, "x-MD5", TL_GOOD_MD5);
	reply_release(&rep);
	unlink(p);
}

static void
too_long_414(void **state)
{
	size_t n = TARGET_MAX_PATH * 2;
	char *t = malloc(n + 2);

	(void)state;
	assert_non_null(t);
	t[0] = '/';
	memset(t + 1, 'a', n);
	t[n + 1] = '\0';
	assert_error("GET", t, &h8, 414, "URI Too Long\n");
	free(t);
}

/* A 304 keeps the image's fd: httpd.c announces its length, sends none. */
static void
assert_304(const struct reply *rep)
{
	if (rep->status != 304)
		fail_msg("status %d, want 304", rep->status);
	assert_true(rep->fd >= 0);
	assert_true(rep->offset == 0);
	assert_true(rep->length == sizeof(tl_good));
	assert_null(rep->body);
	assert_header(rep, "ETag", good_etag);
	assert_header(rep, "x-MD5", TL_GOOD_MD5);
	assert_null(reply_header(rep, "Content-Range"));
}

static void
not_modified_by_sketch_md5(void **state)
{
	struct tl_hdrs h;
	struct reply rep;

	(void)state;
	h = h8;
	tl_hdrs_set(&h, "x-ESP8266-sketch-md5", TL_GOOD_MD5);
	run("GET", "/good.bin", &h, &rep);
	assert_304(&rep);
	reply_release(&rep);
	assert_int_equal(rep.fd, -1);
	/* Hex case does not matter. */
	tl_hdrs_set(&h, "x-esp8266-SKETCH-md5",
	    "EC319A006828FF810E5F6E0FE37F5FC2");
	run("GET", "/good.bin", &h, &rep);
	assert_304(&rep);
	reply_release(&rep);
	/* ESP32 too. */
	h = h32;
	tl_hdrs_set(&h, "x-ESP32-sketch-md5", TL_GOOD_MD5);
	run("GET", "/good.bin", &h, &rep);
	assert_304(&rep);
	reply_release(&rep);
}

static void
sketch_md5_match_but_sent(void **state)
{
	struct tl_hdrs h;
	struct reply rep;

	(void)state;
	h = h8;
	tl_hdrs_set(&h, "x-ESP8266-sketch-md5", TL_GOOD_MD5);
	/* --always-send */
	cfg.always_send = true;
	run("GET", "/good.bin", &h, &rep);
	assert_good_200(&rep);
	reply_release(&rep);
	cfg.always_send = false;
	/* A filesystem image is not the sketch. */
	tl_hdrs_set(&h, "x-ESP8266-mode", "spiffs");
	run("GET", "/good.bin", &h, &rep);
	assert_good_200(&rep);
	reply_release(&rep);
	/* A different sketch. */
	h = h8;
	tl_hdrs_set(&h, "x-ESP8266-sketch-md5", TL_INNER_MD5);
	run("GET", "/good.bin", &h, &rep);
	assert_good_200(&rep);
	reply_release(&rep);
}

static void
if_none_match(void **state)
{
	char v[200];
	struct tl_hdrs h;
	struct reply rep;
	size_t i;
	const char *hit[4], *miss[3];

	(void)state;
	snprintf(v, sizeof(v), "\"x\", W/%s", good_etag);
	hit[0] = good_etag;
	hit[1] = "*";
	hit[2] = v;
	hit[3] = NULL;
	miss[0] = "\"00\"";
	miss[1] = TL_GOOD_MD5;
	miss[2] = NULL;
	for (i = 0; hit[i] != NULL; i++) {
		h = h8;
		tl_hdrs_set(&h, "If-None-Match", hit[i]);
		run("GET", "/good.bin", &h, &rep);
		if (rep.status != 304)
			fail_msg("If-None-Match: %s: status %d", hit[i],
			    rep.status);
		assert_304(&rep);
		reply_release(&rep);
	}
	/* If-None-Match is evaluated before Range (RFC 9110 §13.2.2). */
	h = h8;
	tl_hdrs_set(&h, "If-None-Match", good_etag);
	tl_hdrs_set(&h, "Range", "bytes=0-3");
	run("GET", "/good.bin", &h, &rep);
	assert_304(&rep);
	reply_release(&rep);
	for (i = 0; miss[i] != NULL; i++) {
		h = h8;
		tl_hdrs_set(&h, "If-None-Match", miss[i]);
		run("GET", "/good.bin", &h, &rep);
		assert_good_200(&rep);
		reply_release(&rep);
	}
}

static void
range_206(void **state)
{
	static const struct {
		const char *range;
		uint64_t off, len;
		const char *cr;
	} cases[] = {
		{ "bytes=0-3", 0, 4, "bytes 0-3/18" },
		{ "bytes=10-", 10, 8, "bytes 10-17/18" },
		{ "bytes=-5", 13, 5, "bytes 13-17/18" },
		{ "bytes=4-100", 4, 14, "bytes 4-17/18" },
		{ "bytes=17-17", 17, 1, "bytes 17-17/18" },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct tl_hdrs h = h8;
		struct reply rep;

		tl_hdrs_set(&h, "Range", cases[i].range);
		run("GET", "/good.bin", &h, &rep);
		if (rep.status != 206)
			fail_msg("Range %s: status %d", cases[i].range,
			    rep.status);
		assert_true(rep.offset == cases[i].off);
		assert_sends(&rep, tl_good + cases[i].off, cases[i].len);
		assert_header(&rep, "Content-Range", cases[i].cr);
		assert_header(&rep, "x-MD5", TL_GOOD_MD5);
		assert_header(&rep, "ETag", good_etag);
		reply_release(&rep);
	}
}

static void
range_ignored(void **state)
{
	static const char *const ranges[] = {
		"bytes=5-1", "bytes=0-1,3-4", "items=0-1", "bytes=x",
	};
	size_t i;
	struct tl_hdrs h;
	struct reply rep;

	(void)state;
	for (i = 0; i < sizeof(ranges) / sizeof(ranges[0]); i++) {
		h = h8;
		tl_hdrs_set(&h, "Range", ranges[i]);
		run("GET", "/good.bin", &h, &rep);
		assert_good_200(&rep);
		reply_release(&rep);
	}
	/* If-Range that does not match: the whole file. */
	h = h8;
	tl_hdrs_set(&h, "Range", "bytes=0-3");
	tl_hdrs_set(&h, "If-Range", "\"stale\"");
	run("GET", "/good.bin", &h, &rep);
	assert_good_200(&rep);
	reply_release(&rep);
	tl_hdrs_set(&h, "If-Range", good_etag);
	run("GET", "/good.bin", &h, &rep);
	assert_int_equal(rep.status, 206);
	assert_sends(&rep, tl_good, 4);
	reply_release(&rep);
}

static void
range_416(void **state)
{
	static const char *const ranges[] = {
		"bytes=99-", "bytes=18-", "bytes=-0",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(ranges) / sizeof(ranges[0]); i++) {
		struct tl_hdrs h = h8;
		struct reply rep;

		tl_hdrs_set(&h, "Range", ranges[i]);
		run("GET", "/good.bin", &h, &rep);
		if (rep.status != 416)
			fail_msg("Range %s: status %d", ranges[i], rep.status);
		assert_int_equal(rep.fd, -1);
		assert_header(&rep, "Content-Range", "bytes */18");
		assert_int_equal(rep.body_len, strlen("Range Not Satisfiable\n"));
		assert_memory_equal(rep.body, "Range Not Satisfiable\n",
		    rep.body_len);
		reply_release(&rep);
	}
}

static void
methods(void **state)
{
	static const char *const m405[] = {
		"POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE", "CONNECT",
	};
	static const char *const m501[] = { "FOO", "get", "Get", "PROPFIND" };
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(m405) / sizeof(m405[0]); i++) {
		struct reply rep;

		assert_error(m405[i], "/good.bin", &h8, 405,
		    "Method Not Allowed: use GET or HEAD\n");
		run(m405[i], "/_catalog?op=list", &none, &rep);
		assert_int_equal(rep.status, 405);
		assert_header(&rep, "Allow", "GET, HEAD");
		reply_release(&rep);
	}
	for (i = 0; i < sizeof(m501) / sizeof(m501[0]); i++)
		assert_error(m501[i], "/good.bin", &h8, 501,
		    "Not Implemented\n");
}

static void
route_error_and_headers(void **state)
{
	struct reply rep;

	(void)state;
	reply_init(&rep);
	assert_int_equal(rep.fd, -1);
	assert_null(rep.body);
	route_error(&rep, 503);
	assert_int_equal(rep.status, 503);
	assert_header(&rep, "Retry-After", "5");
	assert_header(&rep, "content-type", "text/plain; charset=utf-8");
	assert_null(reply_header(&rep, "Allow"));
	/* A second error replaces the first, headers included. */
	route_error(&rep, 404);
	assert_int_equal(rep.status, 404);
	assert_null(reply_header(&rep, "Retry-After"));
	assert_int_equal(rep.body_len, strlen("Not Found\n"));
	reply_release(&rep);
	reply_release(&rep);
	route_error(&rep, 500);
	assert_memory_equal(rep.body, "Internal Server Error: see the server "
	    "log\n", rep.body_len);
	reply_release(&rep);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(catalog_200, reset),
		cmocka_unit_test_setup(catalog_sub, reset),
		cmocka_unit_test_setup(catalog_refusals, reset),
		cmocka_unit_test_setup(catalog_no_request_bytes_in_headers,
		    reset),
		cmocka_unit_test_setup(download_200, reset),
		cmocka_unit_test_setup(download_esp32_and_head, reset),
		cmocka_unit_test_setup(download_sub, reset),
		cmocka_unit_test_setup(download_odd_names, reset),
		cmocka_unit_test_setup(gate_refusal, reset),
		cmocka_unit_test_setup(gate_modes, reset),
		cmocka_unit_test_setup(not_found_and_forbidden, reset),
		cmocka_unit_test_setup(symlinks, reset),
		cmocka_unit_test_setup(too_long_414, reset),
		cmocka_unit_test_setup(not_modified_by_sketch_md5, reset),
		cmocka_unit_test_setup(sketch_md5_match_but_sent, reset),
		cmocka_unit_test_setup(if_none_match, reset),
		cmocka_unit_test_setup(range_206, reset),
		cmocka_unit_test_setup(range_ignored, reset),
		cmocka_unit_test_setup(range_416, reset),
		cmocka_unit_test_setup(methods, reset),
		cmocka_unit_test_setup(route_error_and_headers, reset),
	};

	setenv("TZ", "UTC0", 1);
	tzset();
	/* Refusals are logged at INFO; keep the test output readable. */
	log_set_level(LOG_ERROR);
	return cmocka_run_group_tests_name("route", tests, setup, teardown);
}
