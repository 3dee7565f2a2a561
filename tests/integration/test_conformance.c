/*
 * Conformance: the cases of esp-http-update-protocol.md §8 against a real
 * `ota serve`, with the exact request bytes of the ESP8266, ESP32 and
 * AutoConnect clients. Case numbers are the document's.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/hash.h"
#include "testlib.h"

static char base[256], cat[300];
static struct tl_server srv;

static int
setup(void **state)
{
	if (tl_fixture(base, sizeof(base), cat, sizeof(cat)) != 0)
		return -1;
	return tl_server_start(&srv, cat, NULL);
}

static int
teardown(void **state)
{
	int st = tl_server_stop(&srv);

	tl_rmtree(base);
	tl_rmtree(srv.tmp);
	/* SIGTERM must end the server cleanly: exit 0. */
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

/* Sends "METHOD TARGET VERSION\r\n" + headers + "\r\n". */
static void
req(const char *line, const char *headers, struct http_resp *r)
{
	char buf[8192];

	snprintf(buf, sizeof(buf), "%s\r\n%s\r\n", line, headers);
	assert_int_equal(tl_get(srv.port, buf, r), 0);
}

static const char catalog_headers[] =
    "Host: 127.0.0.1:8000\r\n"
    "User-Agent: ESP8266HTTPClient\r\n"
    "Accept-Encoding: identity;q=1,chunked;q=0.1,*;q=0\r\n"
    "Connection: close\r\n"
    "Content-Length: 0\r\n";

static void
assert_full_catalog(struct http_resp *r)
{
	char v[64];
	const char *b = (const char *)r->body;

	assert_int_equal(r->status, 200);
	assert_string_equal(tl_header(r, "Content-Type", v, sizeof(v)),
	    "application/json");
	assert_null(tl_header(r, "Transfer-Encoding", v, sizeof(v)));
	assert_int_equal(strtoul(tl_header(r, "Content-Length", v, sizeof(v)),
	    NULL, 10), r->body_len);
	assert_non_null(strstr(b, "{\"name\": \"good.bin\", \"type\": \"bin\", "
	    "\"date\": \""));
	assert_non_null(strstr(b, "\"size\": 18}"));
	assert_non_null(strstr(b, "{\"name\": \"bad.bin\", \"type\": \"file\"}"));
	assert_non_null(strstr(b,
	    "{\"name\": \"readme.txt\", \"type\": \"file\"}"));
	assert_non_null(strstr(b,
	    "{\"name\": \"empty.bin\", \"type\": \"file\"}"));
	assert_non_null(strstr(b,
	    "{\"name\": \"UPPER.BIN\", \"type\": \"file\"}"));
	assert_non_null(strstr(b,
	    "{\"name\": \"sub\", \"type\": \"directory\"}"));
	assert_non_null(strstr(b,
	    "{\"name\": \"dir.bin\", \"type\": \"directory\"}"));
	assert_int_equal(b[0], '[');
	assert_int_equal(b[r->body_len - 1], ']');
}

static void
case_01_03_catalog(void **state)
{
	static const char *const lines[] = {
		"GET /_catalog?op=list&path=. HTTP/1.1",
		"GET /_catalog?op=list HTTP/1.1",
		"GET /_catalog?op=list&path= HTTP/1.1",
		"GET /_catalog?op=list&op=del HTTP/1.1",	/* case 6 */
		"GET http://127.0.0.1/_catalog?op=list HTTP/1.1",
	};
	struct http_resp r;
	size_t i;

	for (i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
		req(lines[i], catalog_headers, &r);
		assert_full_catalog(&r);
		tl_resp_free(&r);
	}
}

static void
case_01_date_time_format(void **state)
{
	struct http_resp r;
	unsigned mm, dd, yy, h, m, s;
	const char *p;

	req("GET /_catalog?op=list HTTP/1.1", catalog_headers, &r);
	p = strstr((const char *)r.body, "\"date\": \"");
	assert_non_null(p);
	assert_int_equal(sscanf(p, "\"date\": \"%2u/%2u/%2u\", \"time\": "
	    "\"%2u:%2u:%2u\"", &mm, &dd, &yy, &h, &m, &s), 6);
	assert_true(mm >= 1 && mm <= 12 && dd >= 1 && dd <= 31);
	assert_true(h < 24 && m < 60 && s < 61);
	tl_resp_free(&r);
}

static void
case_04_05_subdir(void **state)
{
	static const char *const lines[] = {
		"GET /_catalog?op=list&path=sub HTTP/1.1",
		"GET /_catalog?op=list&path=sub/ HTTP/1.1",
		"GET /_catalog?op=list&path=./sub HTTP/1.1",
	};
	struct http_resp r;
	size_t i;

	for (i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
		req(lines[i], catalog_headers, &r);
		assert_int_equal(r.status, 200);
		assert_non_null(strstr((char *)r.body,
		    "[{\"name\": \"inner.bin\", \"type\": \"bin\""));
		assert_non_null(strstr((char *)r.body, "\"size\": 4}]"));
		assert_null(strstr((char *)r.body, "}, {"));
		tl_resp_free(&r);
	}
}

static void
assert_error(struct http_resp *r, int status)
{
	char v[64];

	assert_int_equal(r->status, status);
	assert_non_null(tl_header(r, "Content-Length", v, sizeof(v)));
	assert_int_equal(strtoul(v, NULL, 10), r->body_len);
	assert_true(r->body_len > 0 && r->body_len < 200);
}

static void
case_07_20_catalog_refusals(void **state)
{
	static const struct {
		const char *line;
		int status;
	} cases[] = {
		{ "GET /_catalog?op=del&path=. HTTP/1.1", 403 },	/* 7 */
		{ "GET /_catalog HTTP/1.1", 403 },			/* 8 */
		{ "GET /_catalog?op=&path=. HTTP/1.1", 403 },		/* 9 */
		{ "GET /_catalog?op=list&path=.. HTTP/1.1", 403 },	/* 10 */
		{ "GET /_catalog?op=list&path=%2e%2e%2f.. HTTP/1.1", 403 },
		{ "GET /_catalog?op=list&path=/etc HTTP/1.1", 403 },	/* 12 */
		{ "GET /_catalog?op=list&path=../fw2 HTTP/1.1", 403 },	/* 13 */
		{ "GET /_catalog?op=list&path=nope HTTP/1.1", 404 },	/* 14 */
		{ "GET /_catalog?op=list&path=good.bin HTTP/1.1", 404 },/* 15 */
		{ "GET /_catalog?op=%E2%82%AC HTTP/1.1", 403 },	/* 20 */
	};
	struct http_resp r;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		req(cases[i].line, catalog_headers, &r);
		assert_error(&r, cases[i].status);
		assert_null(strstr((char *)r.body, "secret"));
		assert_null(strstr(r.head, base));
		tl_resp_free(&r);
	}
}

static void
case_16_empty_dir(void **state)
{
	char p[512];
	struct http_resp r;

	snprintf(p, sizeof(p), "%s/emptydir", cat);
	assert_int_equal(mkdir(p, 0755), 0);
	req("GET /_catalog?op=list&path=emptydir HTTP/1.1", catalog_headers,
	    &r);
	assert_int_equal(r.status, 200);
	assert_int_equal(r.body_len, 2);
	assert_memory_equal(r.body, "[]", 2);
	tl_resp_free(&r);
	rmdir(p);
}

static void
case_17_utf8_name(void **state)
{
	char p[512];
	struct http_resp r;

	snprintf(p, sizeof(p), "%s/f\xc3\xafrmware.bin", cat);
	assert_int_equal(tl_write_file(p, "\xe9xyz", 4), 0);
	req("GET /_catalog?op=list HTTP/1.1", catalog_headers, &r);
	assert_int_equal(r.status, 200);
	assert_non_null(strstr((char *)r.body,
	    "{\"name\": \"f\\u00efrmware.bin\", \"type\": \"bin\""));
	tl_resp_free(&r);
	unlink(p);
}

static void
case_18_catalog_not_gated(void **state)
{
	struct http_resp r;

	req("GET /_catalog?op=list HTTP/1.1",
	    "Host: x\r\nUser-Agent: curl/8\r\nConnection: close\r\n", &r);
	assert_full_catalog(&r);
	tl_resp_free(&r);
}

static void
case_19_no_response_splitting(void **state)
{
	struct http_resp r;

	req("GET /_catalog?op=x%0d%0aX-Injected:%20yes HTTP/1.1",
	    catalog_headers, &r);
	assert_int_equal(r.status, 403);
	assert_int_equal(tl_header_count(&r, "X-Injected"), 0);
	assert_null(strstr(r.head, "Injected"));
	assert_null(strstr(r.head, "\r\n\r\n"));
	tl_resp_free(&r);
}

static void
case_21_catalog_spellings(void **state)
{
	char rel[600], slash[600], link[600], cwd[512];
	const char *const *variants[3];
	const char *spell[3];
	struct tl_server s2;
	struct http_resp r;
	int i;

	assert_non_null(getcwd(cwd, sizeof(cwd)));
	/* relative to the server's working directory (the test's) */
	assert_int_equal(chdir(base), 0);
	snprintf(rel, sizeof(rel), "fw");
	snprintf(slash, sizeof(slash), "%s/", cat);
	snprintf(link, sizeof(link), "%s/fwlink", base);
	assert_int_equal(symlink(cat, link), 0);
	spell[0] = rel;
	spell[1] = slash;
	spell[2] = link;
	(void)variants;
	for (i = 0; i < 3; i++) {
		assert_int_equal(tl_server_start(&s2, spell[i], NULL), 0);
		assert_int_equal(tl_get(s2.port,
		    "GET /_catalog?op=list&path=. HTTP/1.1\r\n"
		    "Connection: close\r\n\r\n", &r), 0);
		assert_full_catalog(&r);
		tl_resp_free(&r);
		tl_server_stop(&s2);
		tl_rmtree(s2.tmp);
	}
	assert_int_equal(chdir(cwd), 0);
}

static void
assert_good_download(struct http_resp *r, const char *md5, size_t len,
    const char *name)
{
	char v[128], want[128];

	assert_int_equal(r->status, 200);
	assert_string_equal(tl_header(r, "Content-Type", v, sizeof(v)),
	    "application/octet-stream");
	snprintf(want, sizeof(want), "attachment; filename=%s", name);
	assert_string_equal(tl_header(r, "Content-Disposition", v, sizeof(v)),
	    want);
	assert_int_equal(strtoul(tl_header(r, "Content-Length", v, sizeof(v)),
	    NULL, 10), len);
	assert_string_equal(tl_header(r, "x-MD5", v, sizeof(v)), md5);
	assert_int_equal(r->body_len, len);
	assert_int_equal(r->body[0], 0xe9);
	assert_null(tl_header(r, "Transfer-Encoding", v, sizeof(v)));
}

static void
case_22_26_downloads(void **state)
{
	static const struct {
		const char *line;
		int esp32;
		const char *md5;
		size_t len;
		const char *name;
	} cases[] = {
		{ "GET /good.bin HTTP/1.0", 0, TL_GOOD_MD5, 18, "good.bin" },
		{ "GET /good.bin HTTP/1.0", 1, TL_GOOD_MD5, 18, "good.bin" },
		{ "GET /sub/inner.bin HTTP/1.0", 0, TL_INNER_MD5, 4,
		  "inner.bin" },
		{ "GET ./good.bin HTTP/1.0", 0, TL_GOOD_MD5, 18, "good.bin" },
		{ "GET sub/inner.bin HTTP/1.0", 0, TL_INNER_MD5, 4,
		  "inner.bin" },
		{ "GET /good.bin?v=1 HTTP/1.0", 0, TL_GOOD_MD5, 18,
		  "good.bin" },						/* 38 */
		{ "GET /good.bin HTTP/1.1", 0, TL_GOOD_MD5, 18, "good.bin" },
	};
	struct http_resp r;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		req(cases[i].line, cases[i].esp32 ? TL_H32 : TL_H8, &r);
		assert_good_download(&r, cases[i].md5, cases[i].len,
		    cases[i].name);
		/* The answer ends with a close, as the ESP client expects. */
		assert_true(r.closed);
		tl_resp_free(&r);
	}
}

static void
case_22_exact_body(void **state)
{
	struct http_resp r;
	char v[80];

	req("GET /good.bin HTTP/1.0", TL_H32, &r);
	assert_int_equal(r.body_len, sizeof(tl_good));
	assert_memory_equal(r.body, tl_good, sizeof(tl_good));
	/* ESP32 cores read x-SHA256 too: lower-case hex of the image */
	assert_string_equal(tl_header(&r, "x-SHA256", v, sizeof(v)),
	    "be4d49a64c1c64a6b2384aa67fcfbf9bc0066e0c551bc95ffed89d97f0c8a0a4");
	tl_resp_free(&r);
}

/* Builds H8 without the line that starts with drop (case-insensitive). */
static void
h8_without(const char *drop, char *out, size_t outsz)
{
	const char *p = TL_H8;

	out[0] = '\0';
	while (*p) {
		const char *eol = strstr(p, "\r\n") + 2;

		if (strncasecmp(p, drop, strlen(drop)) != 0)
			strncat(out, p, (size_t)(eol - p) < outsz - strlen(out)
			    - 1 ? (size_t)(eol - p) : 0);
		p = eol;
	}
}

static void
case_27_33_gate(void **state)
{
	static const char *const seven[] = {
		"x-ESP8266-STA-MAC", "x-ESP8266-AP-MAC",
		"x-ESP8266-free-space", "x-ESP8266-sketch-size",
		"x-ESP8266-sketch-md5", "x-ESP8266-chip-size",
		"x-ESP8266-sdk-version",
	};
	char h[4096], h32[4096];
	struct http_resp r;
	size_t i;

	req("GET /good.bin HTTP/1.0", "User-Agent: Mozilla/5.0\r\n", &r);
	assert_error(&r, 403);						/* 27 */
	assert_null(memchr(r.body, 0xe9, r.body_len));
	tl_resp_free(&r);
	req("GET /good.bin HTTP/1.0", "Host: x\r\n", &r);		/* 28 */
	assert_error(&r, 403);
	tl_resp_free(&r);
	for (i = 0; i < 7; i++) {					/* 29 */
		h8_without(seven[i], h, sizeof(h));
		req("GET /good.bin HTTP/1.0", h, &r);
		assert_error(&r, 403);
		tl_resp_free(&r);
	}
	h8_without("User-Agent", h, sizeof(h));
	strcat(h, "User-Agent: esp8266-http-update\r\n");		/* 31 */
	req("GET /good.bin HTTP/1.0", h, &r);
	assert_error(&r, 403);
	tl_resp_free(&r);
	h8_without("User-Agent", h, sizeof(h));
	strcat(h, "User-Agent: ESP8266-http-Update-custom\r\n");
	req("GET /good.bin HTTP/1.0", h, &r);
	assert_int_equal(r.status, 200);
	tl_resp_free(&r);
	h8_without("User-Agent", h, sizeof(h));			/* 32 */
	strcat(h, "User-Agent: ESP32-http-Update\r\n");
	req("GET /good.bin HTTP/1.0", h, &r);
	assert_error(&r, 403);
	tl_resp_free(&r);
	/* 33: ESP32 without sketch-md5 is refused by the strict gate */
	snprintf(h32, sizeof(h32), "%s", TL_H32);
	{
		char *p = strstr(h32, "x-ESP32-sketch-md5");
		char *eol = strstr(p, "\r\n") + 2;

		memmove(p, eol, strlen(eol) + 1);
	}
	req("GET /good.bin HTTP/1.0", h32, &r);
	assert_error(&r, 403);
	tl_resp_free(&r);
}

static void
case_30_lower_case_names_empty_values(void **state)
{
	static const char h[] =
	    "user-agent: ESP8266-http-Update\r\n"
	    "x-esp8266-sta-mac: \r\nx-esp8266-ap-mac: \r\n"
	    "x-esp8266-free-space: \r\nx-esp8266-sketch-size: \r\n"
	    "x-esp8266-sketch-md5: \r\nx-esp8266-chip-size: \r\n"
	    "x-esp8266-sdk-version: \r\ncontent-length: 0\r\n";
	struct http_resp r;

	req("GET /good.bin HTTP/1.0", h, &r);
	assert_good_download(&r, TL_GOOD_MD5, 18, "good.bin");
	tl_resp_free(&r);
}

static void
case_34_37_download_refusals(void **state)
{
	static const struct {
		const char *line;
		int status;
	} cases[] = {
		{ "GET /missing.bin HTTP/1.0", 404 },			/* 34 */
		{ "GET /../../../etc/passwd HTTP/1.0", 403 },		/* 35 */
		{ "GET /%2e%2e/%2e%2e/etc/passwd HTTP/1.0", 403 },	/* 36 */
		{ "GET /sub HTTP/1.0", 403 },				/* 37 */
		{ "GET / HTTP/1.0", 403 },
		{ "GET /../fw2/secret.bin HTTP/1.0", 403 },
		{ "GET /dir.bin HTTP/1.0", 403 },
	};
	struct http_resp r;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		req(cases[i].line, TL_H8, &r);
		assert_error(&r, cases[i].status);
		assert_int_equal(tl_header_count(&r, "x-MD5"), 0);
		assert_null(strstr(r.head, base));
		assert_null(strstr((char *)r.body, base));
		/* exactly one status line */
		assert_null(strstr((char *)r.body, "HTTP/1."));
		tl_resp_free(&r);
	}
}

static void
case_39_range(void **state)
{
	char h[4096], v[64];
	struct http_resp r;

	snprintf(h, sizeof(h), "%sRange: bytes=0-3\r\n", TL_H8);
	req("GET /good.bin HTTP/1.0", h, &r);
	assert_int_equal(r.status, 206);
	assert_string_equal(tl_header(&r, "Content-Range", v, sizeof(v)),
	    "bytes 0-3/18");
	assert_int_equal(r.body_len, 4);
	assert_memory_equal(r.body, "\xe9\x03\x02\x20", 4);
	tl_resp_free(&r);
	snprintf(h, sizeof(h), "%sRange: bytes=10-\r\n", TL_H8);
	req("GET /good.bin HTTP/1.0", h, &r);
	assert_int_equal(r.status, 206);
	assert_memory_equal(r.body, "firmware", 8);
	tl_resp_free(&r);
	snprintf(h, sizeof(h), "%sRange: bytes=99-\r\n", TL_H8);
	req("GET /good.bin HTTP/1.0", h, &r);
	assert_int_equal(r.status, 416);
	assert_string_equal(tl_header(&r, "Content-Range", v, sizeof(v)),
	    "bytes */18");
	tl_resp_free(&r);
}

static void
case_40_methods(void **state)
{
	char v[64];
	struct http_resp r;

	req("HEAD /good.bin HTTP/1.0", TL_H8, &r);
	assert_int_equal(r.status, 200);
	assert_string_equal(tl_header(&r, "Content-Length", v, sizeof(v)),
	    "18");
	assert_string_equal(tl_header(&r, "x-MD5", v, sizeof(v)), TL_GOOD_MD5);
	tl_resp_free(&r);
	req("POST /good.bin HTTP/1.0", TL_H8, &r);
	assert_error(&r, 405);
	assert_string_equal(tl_header(&r, "Allow", v, sizeof(v)), "GET, HEAD");
	tl_resp_free(&r);
}

static void
case_41_protocol_errors(void **state)
{
	struct http_resp r;

	req("GET /good.bin?x HTTP/2.0", TL_H8, &r);
	assert_int_equal(r.status, 505);
	tl_resp_free(&r);
	req("GET /a b HTTP/1.1", "Host: x\r\n", &r);
	assert_true(r.status == 400 || r.status == 404);
	tl_resp_free(&r);
}

static void
case_43_big_image(void **state)
{
	const size_t n = 5 * 1024 * 1024;
	unsigned char *img = malloc(n);
	char p[512], v[80], md5[33];
	struct http_resp r;
	size_t i;

	for (i = 0; i < n; i++)
		img[i] = (unsigned char)(i * 2654435761u >> 24);
	img[0] = 0xe9;
	snprintf(p, sizeof(p), "%s/big.bin", cat);
	assert_int_equal(tl_write_file(p, img, n), 0);
	assert_int_equal(hash_hex(HASH_MD5, img, n, md5), OTA_OK);
	req("GET /big.bin HTTP/1.0", TL_H8, &r);
	assert_int_equal(r.status, 200);
	assert_string_equal(tl_header(&r, "Content-Length", v, sizeof(v)),
	    "5242880");
	assert_string_equal(tl_header(&r, "x-MD5", v, sizeof(v)), md5);
	assert_int_equal(r.body_len, n);
	assert_memory_equal(r.body, img, n);
	tl_resp_free(&r);
	free(img);
	unlink(p);
}

static void
case_46_not_modified(void **state)
{
	char h[4096], v[128], etag[100];
	struct http_resp r;

	/* The device already runs good.bin: 304, no body. */
	snprintf(h, sizeof(h), "%s", TL_H8);
	memcpy(strstr(h, "54acdd6530aed0cfb5679d4daa83348c"), TL_GOOD_MD5,
	    32);
	req("GET /good.bin HTTP/1.0", h, &r);
	assert_int_equal(r.status, 304);
	assert_int_equal(r.body_len, 0);
	tl_resp_free(&r);
	/* ETag round trip */
	req("GET /good.bin HTTP/1.0", TL_H8, &r);
	assert_non_null(tl_header(&r, "ETag", etag, sizeof(etag)));
	tl_resp_free(&r);
	snprintf(h, sizeof(h), "%sIf-None-Match: %s\r\n", TL_H8, etag);
	req("GET /good.bin HTTP/1.0", h, &r);
	assert_int_equal(r.status, 304);
	assert_int_equal(r.body_len, 0);
	assert_string_equal(tl_header(&r, "ETag", v, sizeof(v)), etag);
	/* RFC 9110 §8.6: the length a 200 would have had, or none */
	assert_string_equal(tl_header(&r, "Content-Length", v, sizeof(v)),
	    "18");
	tl_resp_free(&r);
}

/* A 304 sends no body: the next answer on the connection is intact. */
static void
case_46_not_modified_keep_alive(void **state)
{
	char q[8192], h[2048], etag[100];
	struct http_resp r;
	int fd;

	snprintf(q, sizeof(q), "GET /good.bin HTTP/1.0\r\n%s\r\n", TL_H8);
	assert_int_equal(tl_get(srv.port, q, &r), 0);
	assert_non_null(tl_header(&r, "ETag", etag, sizeof(etag)));
	tl_resp_free(&r);
	snprintf(h, sizeof(h), "%s", TL_H8);
	{
		char *c = strstr(h, "Connection: close\r\n");

		memmove(c, c + 19, strlen(c + 19) + 1);
	}
	snprintf(q, sizeof(q), "GET /good.bin HTTP/1.1\r\n%s"
	    "If-None-Match: %s\r\n\r\n", h, etag);
	fd = tl_connect(srv.port);
	assert_int_equal(tl_exchange_fd(fd, q, strlen(q), false, TL_TIMEOUT_MS,
	    &r), 0);
	assert_int_equal(r.status, 304);
	tl_resp_free(&r);
	snprintf(q, sizeof(q), "GET /good.bin HTTP/1.1\r\n%s\r\n", h);
	assert_int_equal(tl_exchange_fd(fd, q, strlen(q), false, TL_TIMEOUT_MS,
	    &r), 0);
	assert_int_equal(r.status, 200);
	assert_int_equal(r.body_len, TL_GOOD_LEN);
	assert_int_equal(r.body[0], 0xe9);
	tl_resp_free(&r);
	close(fd);
}

/* A link is sent under its own name, as updateserver.py did. */
static void
case_link_keeps_its_name(void **state)
{
	char p[512];
	struct http_resp r;

	snprintf(p, sizeof(p), "%s/latest.bin", cat);
	assert_int_equal(symlink("good.bin", p), 0);
	req("GET /latest.bin HTTP/1.0", TL_H8, &r);
	assert_good_download(&r, TL_GOOD_MD5, 18, "latest.bin");
	tl_resp_free(&r);
	unlink(p);
}

static void
case_keep_alive(void **state)
{
	static const char q[] = "GET /_catalog?op=list HTTP/1.1\r\n"
	    "Host: x\r\nUser-Agent: ESP8266HTTPClient\r\n"
	    "Connection: keep-alive\r\nContent-Length: 0\r\n\r\n";
	struct http_resp r;
	int fd = tl_connect(srv.port), i;

	assert_true(fd >= 0);
	for (i = 0; i < 3; i++) {
		assert_int_equal(tl_exchange_fd(fd, q, sizeof(q) - 1, false,
		    TL_TIMEOUT_MS, &r), 0);
		assert_full_catalog(&r);
		assert_false(r.closed);
		tl_resp_free(&r);
	}
	close(fd);
}

static void
case_access_log(void **state)
{
	struct http_resp r;
	char *log;

	req("GET /good.bin HTTP/1.0", TL_H8, &r);
	tl_resp_free(&r);
	/* a method is request data too: it cannot forge the log's quoting */
	req("GE\"T\x1b[31m / HTTP/1.0", "Host: x\r\n", &r);
	assert_int_equal(r.status, 501);
	tl_resp_free(&r);
	usleep(100000);
	log = tl_server_log(&srv);
	assert_non_null(strstr(log, "\"GET /good.bin\" 200 18 "));
	assert_non_null(strstr(log, "ESP8266 mac=80:7D:3A:6E:39:B3"));
	assert_non_null(strstr(log, "\"GE\\x22T\\x1b[31m /\" 501 "));
	assert_null(strchr(log, 0x1b));
	free(log);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(case_01_03_catalog),
		cmocka_unit_test(case_01_date_time_format),
		cmocka_unit_test(case_04_05_subdir),
		cmocka_unit_test(case_07_20_catalog_refusals),
		cmocka_unit_test(case_16_empty_dir),
		cmocka_unit_test(case_17_utf8_name),
		cmocka_unit_test(case_18_catalog_not_gated),
		cmocka_unit_test(case_19_no_response_splitting),
		cmocka_unit_test(case_21_catalog_spellings),
		cmocka_unit_test(case_22_26_downloads),
		cmocka_unit_test(case_22_exact_body),
		cmocka_unit_test(case_27_33_gate),
		cmocka_unit_test(case_30_lower_case_names_empty_values),
		cmocka_unit_test(case_34_37_download_refusals),
		cmocka_unit_test(case_39_range),
		cmocka_unit_test(case_40_methods),
		cmocka_unit_test(case_41_protocol_errors),
		cmocka_unit_test(case_43_big_image),
		cmocka_unit_test(case_46_not_modified),
		cmocka_unit_test(case_46_not_modified_keep_alive),
		cmocka_unit_test(case_link_keeps_its_name),
		cmocka_unit_test(case_keep_alive),
		cmocka_unit_test(case_access_log),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
