/*
 * The libcurl transport (src/client/transport.h) against faultsrv on
 * loopback: one test per rule of the transport contract, the faults of
 * micropython-ota-updater.md §10 (cases 7, 9-15, 21-23), and a 3 MiB
 * streamed download. Two servers per test, so that a redirect can change
 * the host:port and the token can be seen not to follow it.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include <ota/host.h>
#include <ota/transport.h>
#include "faultsrv.h"
#include "testlib.h"

#define TOKEN "SeCrEt-T0KEN-4f1c9e"
#define BIG (3 * 1024 * 1024)

struct fx {
	struct ota_transport *t;
	struct faultsrv *a, *b;
	char url[256], hp_a[64], hp_b[64];
};

/* Collects the body; checks that offsets are contiguous. */
struct sink {
	unsigned char *p;
	size_t n, cap;
	size_t calls, max_chunk;
	bool got_first;
	uint64_t first_off, next_off;
	bool off_ok;
	size_t fail_after;	/* > 0: return OTA_E_IO on this call */
};

static enum ota_status
sink_body(void *ctx, uint64_t off, const void *p, size_t n)
{
	struct sink *s = ctx;

	s->calls++;
	if (s->fail_after > 0 && s->calls == s->fail_after)
		return OTA_E_IO;
	if (!s->got_first) {
		s->got_first = true;
		s->first_off = s->next_off = off;
		s->off_ok = true;
	}
	if (off != s->next_off || n == 0)
		s->off_ok = false;
	s->next_off = off + n;
	if (n > s->max_chunk)
		s->max_chunk = n;
	if (s->n + n > s->cap) {
		s->cap = (s->n + n) * 2;
		s->p = realloc(s->p, s->cap);
		assert_non_null(s->p);
	}
	memcpy(s->p + s->n, p, n);
	s->n += n;
	return OTA_OK;
}

static void
sink_free(struct sink *s)
{
	free(s->p);
	memset(s, 0, sizeof(*s));
}

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	assert_int_equal(ota_transport_curl_new(&f->t), OTA_OK);
	f->a = faultsrv_start();
	f->b = faultsrv_start();
	assert_non_null(f->a);
	assert_non_null(f->b);
	assert_int_equal(faultsrv_hostport(f->a, f->hp_a, sizeof(f->hp_a)), 0);
	assert_int_equal(faultsrv_hostport(f->b, f->hp_b, sizeof(f->hp_b)), 0);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;

	faultsrv_stop(f->a);
	faultsrv_stop(f->b);
	ota_transport_free(f->t);
	free(f);
	return 0;
}

static void
req_init(struct ota_request *r, const char *url)
{
	memset(r, 0, sizeof(*r));
	r->url = url;
	r->connect_timeout_s = 2;
	r->read_timeout_s = 2;
	r->total_timeout_s = 10;
	r->max_redirects = 5;
}

static void
route(struct faultsrv *fs, const struct faultsrv_script *s)
{
	assert_int_equal(faultsrv_set(fs, s), 0);
}

static const char *
url_of(struct fx *f, struct faultsrv *fs, const char *path)
{
	assert_int_equal(faultsrv_url(fs, path, f->url, sizeof(f->url)), 0);
	return f->url;
}

static enum ota_status
get(struct fx *f, const struct ota_request *r, struct sink *s,
    struct ota_response *resp, char *err, size_t errsz)
{
	enum ota_status st;

	st = f->t->get(f->t->ctx, r, sink_body, s, resp, err, errsz);
	if (getenv("TR_DEBUG") != NULL && err != NULL)	/* see the messages */
		fprintf(stderr, "  [%s] %s\n", ota_status_str(st), err);
	return st;
}

/* Does request i of fs carry header name? Its value into buf. */
static const char *
req_hdr(struct faultsrv *fs, size_t i, const char *name, char *buf,
    size_t bufsz)
{
	struct faultsrv_req rq;

	assert_int_equal(faultsrv_req(fs, i, &rq), 0);
	return faultsrv_req_header(&rq, name, buf, bufsz);
}

static void
fill_pattern(unsigned char *p, size_t n, uint32_t seed)
{
	for (size_t i = 0; i < n; i++) {
		seed = seed * 1103515245u + 12345u;
		p[i] = (unsigned char)(seed >> 16);
	}
}

/* ---- status, body delivery ---- */

static void
test_ok_body_and_headers(void **state)
{
	struct fx *f = *state;
	struct faultsrv_script s = { .path = "/f", .body = "{\"a\":1}",
	    .body_len = 7, .content_type = "application/json",
	    .etag = "\"e1\"" };
	struct ota_request r;
	struct ota_response resp;
	struct sink k = { 0 };
	struct faultsrv_req rq;
	char err[256], v[128];

	route(f->a, &s);
	req_init(&r, url_of(f, f->a, "/f"));
	assert_int_equal(get(f, &r, &k, &resp, err, sizeof(err)), OTA_OK);
	assert_int_equal(resp.status, 200);
	assert_int_equal(resp.content_length, 7);
	assert_string_equal(resp.etag, "\"e1\"");
	assert_string_equal(resp.content_type, "application/json");
	assert_string_equal(resp.final_url, f->url);
	assert_int_equal(resp.redirects, 0);
	assert_false(resp.partial);
	assert_int_equal(resp.ratelimit_remaining, -1);
	assert_int_equal(resp.retry_after, -1);
	assert_int_equal(k.n, 7);
	assert_memory_equal(k.p, "{\"a\":1}", 7);
	assert_true(k.off_ok);
	assert_int_equal(k.first_off, 0);
	/* D22: Host carries the port; no credentials were configured */
	assert_int_equal(faultsrv_nreqs(f->a), 1);
	assert_int_equal(faultsrv_req(f->a, 0, &rq), 0);
	assert_string_equal(rq.line, "GET /f HTTP/1.1");
	assert_non_null(faultsrv_req_header(&rq, "Host", v, sizeof(v)));
	assert_string_equal(v, f->hp_a);
	assert_null(faultsrv_req_header(&rq, "Authorization", v, sizeof(v)));
	assert_null(faultsrv_req_header(&rq, "Range", v, sizeof(v)));
	sink_free(&k);
}

/* D1: an error body is never data. */
static void
test_error_status_body_not_delivered(void **state)
{
	struct fx *f = *state;
	static unsigned char big[10000];
	struct faultsrv_script s404 = { .path = "/missing", .status = 404,
	    .body = "404: Not Found", .body_len = 14 };
	struct faultsrv_script s500 = { .path = "/boom", .status = 500,
	    .body = big, .body_len = sizeof(big) };
	struct ota_request r;
	struct ota_response resp;
	struct sink k = { 0 };
	char err[256];

	memset(big, 'x', sizeof(big));
	route(f->a, &s404);
	route(f->a, &s500);
	req_init(&r, url_of(f, f->a, "/missing"));
	assert_int_equal(get(f, &r, &k, &resp, err, sizeof(err)), OTA_OK);
	assert_int_equal(resp.status, 404);
	assert_int_equal(k.calls, 0);
	assert_non_null(strstr(err, "404: Not Found"));

	req_init(&r, url_of(f, f->a, "/boom"));	/* larger than the cap */
	assert_int_equal(get(f, &r, &k, &resp, err, sizeof(err)), OTA_OK);
	assert_int_equal(resp.status, 500);
	assert_int_equal(resp.content_length, sizeof(big));
	assert_int_equal(k.calls, 0);

	/* and no route at all: faultsrv's own 404 */
	req_init(&r, url_of(f, f->a, "/nothing/here"));
	assert_int_equal(get(f, &r, &k, &resp, err, sizeof(err)), OTA_OK);
	assert_int_equal(resp.status, 404);
	assert_int_equal(k.calls, 0);
}

/* §10 case 23: the transport reports the type; the caller refuses it. */
static void
test_html_instead_of_json(void **state)
{
	struct fx *f = *state;
	const char *html = "<html><body>Sign in to the Wi-Fi</body></html>";
	struct faultsrv_script s = { .path = "/repos/a/b/releases/latest",
	    .body = html, .body_len = strlen(html),
	    .content_type = "text/html; charset=utf-8" };
	struct ota_request r;
	struct ota_response resp;
	struct sink k = { 0 };

	route(f->a, &s);
	req_init(&r, url_of(f, f->a, "/repos/a/b/releases/latest"));
	assert_int_equal(get(f, &r, &k, &resp, NULL, 0), OTA_OK);
	assert_int_equal(resp.status, 200);
	assert_string_equal(resp.content_type, "text/html; charset=utf-8");
	assert_int_equal(k.n, strlen(html));
	sink_free(&k);
}

/* ---- broken connections ---- */

/* D2, §10 case 12 */
static void
test_truncated_body(void **state)
{
	struct fx *f = *state;
	static unsigned char body[1000];
	struct faultsrv_script s = { .path = "/t", .body = body,
	    .body_len = sizeof(body), .flags = FS_TRUNCATE,
	    .truncate_after = 400 };
	struct faultsrv_script c = { .path = "/tc", .body = body,
	    .body_len = sizeof(body), .flags = FS_TRUNCATE | FS_CHUNKED,
	    .truncate_after = 400, .chunk_size = 100 };
	struct ota_request r;
	struct ota_response resp;
	struct sink k = { 0 };
	char err[256];

	route(f->a, &s);
	route(f->a, &c);
	req_init(&r, url_of(f, f->a, "/t"));
	assert_int_equal(get(f, &r, &k, &resp, err, sizeof(err)),
	    OTA_E_PROTOCOL);
	assert_int_equal(resp.status, 200);
	assert_true(k.n <= 400);
	sink_free(&k);

	req_init(&r, url_of(f, f->a, "/tc"));
	assert_int_equal(get(f, &r, &k, &resp, err, sizeof(err)),
	    OTA_E_PROTOCOL);
	sink_free(&k);
}

/* §10 case 14: nothing was said, so it is the network's fault. */
static void
test_close_without_reply(void **state)
{
	struct fx *f = *state;
	struct faultsrv_script s = { .path = "/c", .flags = FS_CLOSE };
	struct ota_request r;
	struct ota_response resp;
	struct sink k = { 0 };
	char err[256];

	route(f->a, &s);
	req_init(&r, url_of(f, f->a, "/c"));
	assert_int_equal(get(f, &r, &k, &resp, err, sizeof(err)),
	    OTA_E_NETWORK);
	assert_int_equal(resp.status, 0);
	assert_int_equal(k.calls, 0);
}

/* §10 case 34 */
static void
test_refused_and_dns(void **state)
{
	struct fx *f = *state;
	struct sockaddr_in sa;
	socklen_t sl = sizeof(sa);
	struct ota_request r;
	struct ota_response resp;
	struct sink k = { 0 };
	char url[128], err[256];
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	/* a port that was just free: bound, never listened on, closed */
	assert_true(fd >= 0);
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &sl), 0);
	snprintf(url, sizeof(url), "http://127.0.0.1:%u/x",
	    (unsigned)ntohs(sa.sin_port));
	close(fd);
	req_init(&r, url);
	assert_int_equal(get(f, &r, &k, &resp, err, sizeof(err)),
	    OTA_E_NETWORK);

	req_init(&r, "http://no-such-host.invalid/x");	/* RFC 2606 */
	assert_int_equal(get(f, &r, &k, &resp, err, sizeof(err)),
	    OTA_E_NETWORK);
	assert_int_equal(k.calls, 0);
}

/* ---- timeouts (D15, §10 case 15) ---- */

static void
test_silent_server(void **state)
{
	struct fx *f = *state;
	struct faultsrv_script s = { .path = "/s", .silent_ms = 8000 };
	struct ota_request r;
	struct ota_response resp;
	struct sink k = { 0 };
	char err[256];
	double t0;

	route(f->a, &s);
	req_init(&r, url_of(f, f->a, "/s"));
	r.read_timeout_s = 1;
	t0 = tl_now();
	assert_int_equal(get(f, &r, &k, &resp, err, sizeof(err)),
	    OTA_E_TIMEOUT);
	assert_true(tl_now() - t0 < 3.5);
	assert_true(tl_now() - t0 >= 0.9);
	assert_non_null(strstr(err, "no data"));
}

/* Headers, then nothing: the idle clock runs after the first bytes too. */
static void
test_stall_after_headers(void **state)
{
	struct fx *f = *state;
	struct faultsrv_script s = { .path = "/st", .body = "0123456789",
	    .body_len = 10, .chunk_size = 5, .chunk_delay_ms = 6000 };
	struct ota_request r;
	struct ota_response resp;
	struct sink k = { 0 };
	double t0;

	route(f->a, &s);
	req_init(&r, url_of(f, f->a, "/st"));
	r.read_timeout_s = 1;
	t0 = tl_now();
	assert_int_equal(get(f, &r, &k, &resp, NULL, 0), OTA_E_TIMEOUT);
	assert_int_equal(resp.status, 200);
	assert_true(tl_now() - t0 < 3.5);
	assert_int_equal(k.calls, 0);
}

/* A server that trickles forever still meets the overall deadline. */
static void
test_total_deadline(void **state)
{
	struct fx *f = *state;
	static unsigned char body[400];
	struct faultsrv_script s = { .path = "/slow", .body = body,
	    .body_len = sizeof(body), .chunk_size = 10,
	    .chunk_delay_ms = 150 };
	struct ota_request r;
	struct ota_response resp;
	struct sink k = { 0 };
	double t0;

	route(f->a, &s);
	req_init(&r, url_of(f, f->a, "/slow"));
	r.read_timeout_s = 2;
	r.total_timeout_s = 1;
	t0 = tl_now();
	assert_int_equal(get(f, &r, &k, &resp, NULL, 0), OTA_E_TIMEOUT);
	assert_true(tl_now() - t0 < 2.5);
	assert_true(k.n < sizeof(body));
	sink_free(&k);
}

/* Slow but alive is not a timeout. */
static void
test_slow_but_alive(void **state)
{
	struct fx *f = *state;
	static unsigned char body[200];
	struct faultsrv_script s = { .path = "/trickle", .body = body,
	    .body_len = sizeof(body), .chunk_size = 20,
	    .chunk_delay_ms = 80, .flags = FS_CHUNKED };
	struct ota_request r;
	struct ota_response resp;
	struct sink k = { 0 };

	fill_pattern(body, sizeof(body), 7);
	route(f->a, &s);
	req_init(&r, url_of(f, f->a, "/trickle"));
	r.read_timeout_s = 1;
	assert_int_equal(get(f, &r, &k, &resp, NULL, 0), OTA_OK);
	assert_int_equal(k.n, sizeof(body));
	assert_memory_equal(k.p, body, sizeof(body));
	sink_free(&k);
}

/* ---- HTTP/1.1 framing (D7, §10 cases 21, 22) ---- */

static void
test_chunked(void **state)
{
	struct fx *f = *state;
	static unsigned char body[100000];
	struct faultsrv_script s = { .path = "/ch", .body = body,
	    .body_len = sizeof(body), .chunk_size = 997,
	    .flags = FS_CHUNKED, .content_type = "application/json" };
	struct ota_request r;
	struct ota_response resp;
	struct sink k = { 0 };

	fill_pattern(body, sizeof(body), 1);
	route(f->a, &s);
	req_init(&r, url_of(f, f->a, "/ch"));
	assert_int_equal(get(f, &r, &k, &resp, NULL, 0), OTA_OK);
	assert_int_equal(resp.status, 200);
	assert_int_equal(resp.content_length, UINT64_MAX);
	assert_int_equal(k.n, sizeof(body));
	assert_memory_equal(k.p, body, sizeof(body));
	assert_true(k.off_ok);
	sink_free(&k);
}

static void
test_lower_case_headers(void **state)
{
	struct fx *f = *state;
	struct faultsrv_script s = { .path = "/lc", .body = "abc",
	    .body_len = 3, .etag = "W/\"x\"", .content_type = "text/plain",
	    .flags = FS_LOWER, .headers = "x-ratelimit-remaining: 59\r\n"
	    "x-ratelimit-reset: 1700000000\r\nretry-after: 5\r\n" };
	struct faultsrv_script rd = { .path = "/lr", .redirect = "/lc",
	    .flags = FS_LOWER, .body = "moved", .body_len = 5 };
	struct faultsrv_script ch = { .path = "/lch", .body = "chunky",
	    .body_len = 6, .chunk_size = 2, .flags = FS_LOWER | FS_CHUNKED };
	struct ota_request r;
	struct ota_response resp;
	struct sink k = { 0 };

	route(f->a, &s);
	route(f->a, &rd);
	route(f->a, &ch);
	req_init(&r, url_of(f, f->a, "/lr"));	/* lower-case location */
	assert_int_equal(get(f, &r, &k, &resp, NULL, 0), OTA_OK);
	assert_int_equal(resp.status, 200);
	assert_int_equal(resp.redirects, 1);
	assert_int_equal(resp.content_length, 3);
	assert_string_equal(resp.etag, "W/\"x\"");
	assert_string_equal(resp.content_type, "text/plain");
	assert_int_equal(resp.ratelimit_remaining, 59);
	assert_int_equal(resp.ratelimit_reset, 1700000000);
	assert_int_equal(resp.retry_after, 5);
	assert_int_equal(k.n, 3);
	assert_memory_equal(k.p, "abc", 3);
	sink_free(&k);

	req_init(&r, url_of(f, f->a, "/lch"));	/* transfer-encoding */
	assert_int_equal(get(f, &r, &k, &resp, NULL, 0), OTA_OK);
	assert_int_equal(k.n, 6);
	assert_memory_equal(k.p, "chunky", 6);
	sink_free(&k);
}

/* ---- redirects and the token (D8, D18, §10 cases 9, 10) ---- */

static void
test_redirects_followed(void **state)
{
	struct fx *f = *state;
	char abs[256];
	struct faultsrv_script r1 = { .path = "/r1", .redirect = "/r2",
	    .status = 301 };
	struct faultsrv_script r2 = { .path = "/r2", .status = 307 };
	struct faultsrv_script fin = { .path = "/final", .body = "done",
	    .body_len = 4 };
	struct ota_request r;
	struct ota_response resp;
	struct sink k = { 0 };

	assert_int_equal(faultsrv_url(f->a, "/final", abs, sizeof(abs)), 0);
	r2.redirect = abs;		/* absolute this time */
	route(f->a, &r1);
	route(f->a, &r2);
	route(f->a, &fin);
	req_init(&r, url_of(f, f->a, "/r1"));
	assert_int_equal(get(f, &r, &k, &resp, NULL, 0), OTA_OK);
	assert_int_equal(resp.status, 200);
	assert_int_equal(resp.redirects, 2);
	assert_string_equal(resp.final_url, abs);
	assert_int_equal(k.n, 4);
	assert_memory_equal(k.p, "done", 4);
	assert_int_equal(faultsrv_nreqs(f->a), 3);
	sink_free(&k);
}

static void
test_too_many_redirects(void **state)
{
	struct fx *f = *state;
	struct faultsrv_script loop = { .path = "/loop", .redirect = "/loop" };
	struct ota_request r;
	struct ota_response resp;
	struct sink k = { 0 };
	char err[256];

	route(f->a, &loop);
	req_init(&r, url_of(f, f->a, "/loop"));
	r.max_redirects = 3;
	assert_int_equal(get(f, &r, &k, &resp, err, sizeof(err)),
	    OTA_E_PROTOCOL);
	assert_int_equal(faultsrv_nreqs(f->a), 4);
	assert_non_null(strstr(err, "redirects"));

	faultsrv_clear(f->a);
	r.max_redirects = 0;
	assert_int_equal(get(f, &r, &k, &resp, err, sizeof(err)),
	    OTA_E_PROTOCOL);
	assert_int_equal(faultsrv_nreqs(f->a), 1);
	assert_int_equal(k.calls, 0);
}

static void
test_token_kept_on_same_host(void **state)
{
	struct fx *f = *state;
	struct faultsrv_script r1 = { .path = "/r", .redirect = "/f" };
	struct faultsrv_script fin = { .path = "/f", .body = "x",
	    .body_len = 1 };
	struct ota_request r;
	struct ota_response resp;
	struct sink k = { 0 };
	char v[128];

	route(f->a, &r1);
	route(f->a, &fin);
	req_init(&r, url_of(f, f->a, "/r"));
	r.token = TOKEN;
	r.token_host = f->hp_a;
	assert_int_equal(get(f, &r, &k, &resp, NULL, 0), OTA_OK);
	assert_int_equal(faultsrv_nreqs(f->a), 2);
	assert_non_null(req_hdr(f->a, 0, "Authorization", v, sizeof(v)));
	assert_string_equal(v, "token " TOKEN);
	assert_non_null(req_hdr(f->a, 1, "Authorization", v, sizeof(v)));
	assert_string_equal(v, "token " TOKEN);
	sink_free(&k);
}

static void
test_token_dropped_cross_host(void **state)
{
	struct fx *f = *state;
	char to_b[256], back_to_a[256], v[128];
	struct faultsrv_script ra = { .path = "/dl", .status = 302 };
	struct faultsrv_script rb = { .path = "/cdn", .status = 302 };
	struct faultsrv_script fa = { .path = "/blob", .body = "payload",
	    .body_len = 7 };
	struct ota_request r;
	struct ota_response resp;
	struct sink k = { 0 };

	/* A /dl -> B /cdn -> A /blob: B is another port, so another host */
	assert_int_equal(faultsrv_url(f->b, "/cdn", to_b, sizeof(to_b)), 0);
	assert_int_equal(faultsrv_url(f->a, "/blob", back_to_a,
	    sizeof(back_to_a)), 0);
	ra.redirect = to_b;
	rb.redirect = back_to_a;
	route(f->a, &ra);
	route(f->b, &rb);
	route(f->a, &fa);
	req_init(&r, url_of(f, f->a, "/dl"));
	r.token = TOKEN;
	r.token_host = f->hp_a;
	assert_int_equal(get(f, &r, &k, &resp, NULL, 0), OTA_OK);
	assert_int_equal(resp.redirects, 2);
	assert_int_equal(k.n, 7);
	assert_int_equal(faultsrv_nreqs(f->b), 1);
	assert_null(req_hdr(f->b, 0, "Authorization", v, sizeof(v)));
	assert_int_equal(faultsrv_nreqs(f->a), 2);
	assert_non_null(req_hdr(f->a, 0, "Authorization", v, sizeof(v)));
	assert_non_null(req_hdr(f->a, 1, "Authorization", v, sizeof(v)));
	sink_free(&k);
}

/* A download_url on another host never gets the token, not even first. */
static void
test_token_only_to_token_host(void **state)
{
	struct fx *f = *state;
	struct faultsrv_script fb = { .path = "/raw", .body = "x",
	    .body_len = 1 };
	struct ota_request r;
	struct ota_response resp;
	struct sink k = { 0 };
	char v[128];

	route(f->b, &fb);
	req_init(&r, url_of(f, f->b, "/raw"));
	r.token = TOKEN;
	r.token_host = f->hp_a;
	assert_int_equal(get(f, &r, &k, &resp, NULL, 0), OTA_OK);
	assert_int_equal(faultsrv_nreqs(f->b), 1);
	assert_null(req_hdr(f->b, 0, "Authorization", v, sizeof(v)));

	/* token_host without a port means the scheme's default port */
	faultsrv_clear(f->b);
	r.token_host = "127.0.0.1";
	assert_int_equal(get(f, &r, &k, &resp, NULL, 0), OTA_OK);
	assert_null(req_hdr(f->b, 0, "Authorization", v, sizeof(v)));
	sink_free(&k);
}

static void
test_redirect_scheme_refused(void **state)
{
	struct fx *f = *state;
	static const char *const targets[] = {
		"ftp://127.0.0.1/x", "file:///etc/passwd",
		"gopher://127.0.0.1/x", "scp://127.0.0.1/x"
	};
	struct ota_request r;
	struct ota_response resp;
	struct sink k = { 0 };
	char err[256];
	size_t i;

	for (i = 0; i < sizeof(targets) / sizeof(targets[0]); i++) {
		struct faultsrv_script s = { .path = "/bad",
		    .redirect = targets[i] };

		route(f->a, &s);
		req_init(&r, url_of(f, f->a, "/bad"));
		assert_int_equal(get(f, &r, &k, &resp, err, sizeof(err)),
		    OTA_E_PROTOCOL);
		assert_int_equal(k.calls, 0);
	}
	req_init(&r, "ftp://127.0.0.1/x");	/* and not as the first URL */
	assert_int_equal(get(f, &r, &k, &resp, err, sizeof(err)),
	    OTA_E_INVALID);
	req_init(&r, "file:///etc/passwd");
	assert_int_equal(get(f, &r, &k, &resp, err, sizeof(err)),
	    OTA_E_INVALID);
}

/* ---- resume, conditional requests, rate limits ---- */

static void
test_resume_206(void **state)
{
	struct fx *f = *state;
	static unsigned char body[1000];
	struct faultsrv_script s = { .path = "/img", .body = body,
	    .body_len = sizeof(body), .flags = FS_RANGE };
	struct ota_request r;
	struct ota_response resp;
	struct sink k = { 0 };
	char v[64];

	fill_pattern(body, sizeof(body), 3);
	route(f->a, &s);
	req_init(&r, url_of(f, f->a, "/img"));
	r.resume_from = 300;
	assert_int_equal(get(f, &r, &k, &resp, NULL, 0), OTA_OK);
	assert_int_equal(resp.status, 206);
	assert_true(resp.partial);
	assert_int_equal(resp.content_length, 700);
	assert_int_equal(k.first_off, 300);
	assert_true(k.off_ok);
	assert_int_equal(k.n, 700);
	assert_memory_equal(k.p, body + 300, 700);
	assert_non_null(req_hdr(f->a, 0, "Range", v, sizeof(v)));
	assert_string_equal(v, "bytes=300-");
	sink_free(&k);
}

static void
test_resume_200_restarts(void **state)
{
	struct fx *f = *state;
	static unsigned char body[1000];
	struct faultsrv_script s = { .path = "/img", .body = body,
	    .body_len = sizeof(body) };
	struct ota_request r;
	struct ota_response resp;
	struct sink k = { 0 };

	fill_pattern(body, sizeof(body), 4);
	route(f->a, &s);
	req_init(&r, url_of(f, f->a, "/img"));
	r.resume_from = 300;
	assert_int_equal(get(f, &r, &k, &resp, NULL, 0), OTA_OK);
	assert_int_equal(resp.status, 200);
	assert_false(resp.partial);
	assert_int_equal(k.first_off, 0);	/* the caller truncates */
	assert_int_equal(k.n, sizeof(body));
	assert_memory_equal(k.p, body, sizeof(body));
	sink_free(&k);
}

static void
test_resume_wrong_range(void **state)
{
	struct fx *f = *state;
	struct faultsrv_script s = { .path = "/img", .status = 206,
	    .body = "0123456789", .body_len = 10,
	    .headers = "Content-Range: bytes 0-9/10\r\n" };
	struct ota_request r;
	struct ota_response resp;
	struct sink k = { 0 };

	route(f->a, &s);
	req_init(&r, url_of(f, f->a, "/img"));
	r.resume_from = 5;
	assert_int_equal(get(f, &r, &k, &resp, NULL, 0), OTA_E_PROTOCOL);
	assert_int_equal(k.calls, 0);
	r.resume_from = 0;		/* a 206 nobody asked for */
	assert_int_equal(get(f, &r, &k, &resp, NULL, 0), OTA_E_PROTOCOL);
	assert_int_equal(k.calls, 0);
}

static void
test_if_none_match(void **state)
{
	struct fx *f = *state;
	struct faultsrv_script s = { .path = "/latest", .body = "{}",
	    .body_len = 2, .etag = "\"v1\"" };
	struct ota_request r;
	struct ota_response resp;
	struct sink k = { 0 };
	char v[64];

	route(f->a, &s);
	req_init(&r, url_of(f, f->a, "/latest"));
	r.if_none_match = "\"v1\"";
	assert_int_equal(get(f, &r, &k, &resp, NULL, 0), OTA_OK);
	assert_int_equal(resp.status, 304);
	assert_int_equal(k.calls, 0);
	assert_non_null(req_hdr(f->a, 0, "If-None-Match", v, sizeof(v)));
	assert_string_equal(v, "\"v1\"");

	r.if_none_match = "\"v0\"";
	assert_int_equal(get(f, &r, &k, &resp, NULL, 0), OTA_OK);
	assert_int_equal(resp.status, 200);
	assert_string_equal(resp.etag, "\"v1\"");
	assert_int_equal(k.n, 2);
	sink_free(&k);
}

/* §8 item 6, §10 case 7 */
static void
test_rate_limit_headers(void **state)
{
	struct fx *f = *state;
	struct faultsrv_script s403 = { .path = "/rl", .status = 403,
	    .body = "{\"message\":\"API rate limit exceeded\"}",
	    .body_len = 38, .headers = "X-RateLimit-Limit: 60\r\n"
	    "X-RateLimit-Remaining: 0\r\nX-RateLimit-Reset: 1893456000\r\n" };
	struct faultsrv_script s429 = { .path = "/busy", .status = 429 };
	struct ota_request r;
	struct ota_response resp;
	struct sink k = { 0 };
	char hdr[128], date[64], err[256];
	time_t later = time(NULL) + 120;
	struct tm tm;

	route(f->a, &s403);
	req_init(&r, url_of(f, f->a, "/rl"));
	assert_int_equal(get(f, &r, &k, &resp, err, sizeof(err)), OTA_OK);
	assert_int_equal(resp.status, 403);
	assert_int_equal(resp.ratelimit_remaining, 0);
	assert_int_equal(resp.ratelimit_reset, 1893456000);
	assert_int_equal(resp.retry_after, -1);
	assert_int_equal(k.calls, 0);
	assert_non_null(strstr(err, "rate limit"));

	/* Retry-After as an HTTP-date */
	gmtime_r(&later, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S GMT", &tm);
	snprintf(hdr, sizeof(hdr), "Retry-After: %s\r\n", date);
	s429.headers = hdr;
	route(f->a, &s429);
	req_init(&r, url_of(f, f->a, "/busy"));
	assert_int_equal(get(f, &r, &k, &resp, NULL, 0), OTA_OK);
	assert_int_equal(resp.status, 429);
	assert_true(resp.retry_after >= 100 && resp.retry_after <= 121);
	assert_int_equal(resp.ratelimit_remaining, -1);
	assert_int_equal(resp.ratelimit_reset, 0);
}

/* ---- caps ---- */

static void
test_max_body_content_length(void **state)
{
	struct fx *f = *state;
	static unsigned char body[20000];
	struct faultsrv_script s = { .path = "/b", .body = body,
	    .body_len = sizeof(body), .chunk_size = 1000,
	    .chunk_delay_ms = 10 };
	struct ota_request r;
	struct ota_response resp;
	struct sink k = { 0 };
	char err[256];

	/* small, spaced pieces: a check made while reading would pass some */
	route(f->a, &s);
	req_init(&r, url_of(f, f->a, "/b"));
	r.max_body = 10000;
	assert_int_equal(get(f, &r, &k, &resp, err, sizeof(err)),
	    OTA_E_TOO_LARGE);
	assert_int_equal(k.calls, 0);		/* refused before reading */
	r.max_body = sizeof(body);
	assert_int_equal(get(f, &r, &k, &resp, err, sizeof(err)), OTA_OK);
	assert_int_equal(k.n, sizeof(body));
	sink_free(&k);
}

static void
test_max_body_while_reading(void **state)
{
	struct fx *f = *state;
	static unsigned char body[50000];
	struct faultsrv_script s = { .path = "/c", .body = body,
	    .body_len = sizeof(body), .chunk_size = 1000,
	    .flags = FS_CHUNKED };
	struct faultsrv_script e = { .path = "/e", .body = body,
	    .body_len = sizeof(body), .flags = FS_NO_LENGTH };
	struct ota_request r;
	struct ota_response resp;
	struct sink k = { 0 };

	route(f->a, &s);
	route(f->a, &e);
	req_init(&r, url_of(f, f->a, "/c"));
	r.max_body = 10000;
	assert_int_equal(get(f, &r, &k, &resp, NULL, 0), OTA_E_TOO_LARGE);
	assert_true(k.n <= 10000);
	sink_free(&k);

	req_init(&r, url_of(f, f->a, "/e"));	/* read to EOF */
	r.max_body = 10000;
	assert_int_equal(get(f, &r, &k, &resp, NULL, 0), OTA_E_TOO_LARGE);
	assert_true(k.n <= 10000);
	sink_free(&k);
}

/* ---- the token stays secret ---- */

static void
assert_no_token(const char *err, const struct ota_response *resp)
{
	assert_null(strstr(err, TOKEN));
	assert_null(strstr(resp->final_url, TOKEN));
}

static void
test_token_never_in_err(void **state)
{
	struct fx *f = *state;
	static unsigned char body[1000];
	char to_b[256];
	struct faultsrv_script s404 = { .path = "/404", .status = 404,
	    .body = "nope", .body_len = 4 };
	struct faultsrv_script trunc = { .path = "/trunc", .body = body,
	    .body_len = sizeof(body), .flags = FS_TRUNCATE,
	    .truncate_after = 10 };
	struct faultsrv_script cl = { .path = "/close", .flags = FS_CLOSE };
	struct faultsrv_script loop = { .path = "/loop", .redirect = "/loop" };
	struct faultsrv_script xb = { .path = "/x" };
	struct faultsrv_script bad = { .path = "/bad",
	    .redirect = "file:///etc/passwd" };
	static const char *const paths[] = { "/404", "/trunc", "/close",
	    "/loop", "/x", "/bad" };
	struct ota_request r;
	struct ota_response resp;
	struct sink k = { 0 };
	char err[512];
	size_t i;

	assert_int_equal(faultsrv_url(f->b, "/nowhere", to_b, sizeof(to_b)),
	    0);
	xb.redirect = to_b;
	route(f->a, &s404);
	route(f->a, &trunc);
	route(f->a, &cl);
	route(f->a, &loop);
	route(f->a, &xb);
	route(f->a, &bad);
	for (i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		req_init(&r, url_of(f, f->a, paths[i]));
		r.token = TOKEN;
		r.token_host = f->hp_a;
		(void)get(f, &r, &k, &resp, err, sizeof(err));
		assert_true(err[0] != '\0');
		assert_no_token(err, &resp);
	}
	sink_free(&k);

	/* a token that would inject a header is refused, and not echoed */
	req_init(&r, url_of(f, f->a, "/404"));
	r.token = TOKEN "\r\nX-Evil: 1";
	r.token_host = f->hp_a;
	assert_int_equal(get(f, &r, &k, &resp, err, sizeof(err)),
	    OTA_E_INVALID);
	assert_no_token(err, &resp);
	/* a token without the host it may go to is refused */
	r.token = TOKEN;
	r.token_host = NULL;
	assert_int_equal(get(f, &r, &k, &resp, err, sizeof(err)),
	    OTA_E_INVALID);
	assert_no_token(err, &resp);
}

/* ---- streaming ---- */

static void
test_big_streamed(void **state)
{
	struct fx *f = *state;
	unsigned char *body = malloc(BIG);
	struct faultsrv_script s = { .path = "/big.bin", .body_len = BIG,
	    .content_type = "application/octet-stream" };
	struct ota_request r;
	struct ota_response resp;
	struct sink k = { 0 };

	assert_non_null(body);
	fill_pattern(body, BIG, 42);
	s.body = body;
	route(f->a, &s);
	req_init(&r, url_of(f, f->a, "/big.bin"));
	r.max_body = BIG;
	assert_int_equal(get(f, &r, &k, &resp, NULL, 0), OTA_OK);
	assert_int_equal(resp.content_length, BIG);
	assert_int_equal(k.n, BIG);
	assert_memory_equal(k.p, body, BIG);
	assert_true(k.off_ok);
	assert_true(k.max_chunk <= OTA_TRANSPORT_MAX_CHUNK);
	assert_true(k.calls >= BIG / OTA_TRANSPORT_MAX_CHUNK);
	sink_free(&k);
	free(body);
}

static void
test_body_fn_aborts(void **state)
{
	struct fx *f = *state;
	static unsigned char body[100000];
	struct faultsrv_script s = { .path = "/b", .body = body,
	    .body_len = sizeof(body) };
	struct ota_request r;
	struct ota_response resp;
	struct sink k = { .fail_after = 2 };
	char err[256];

	route(f->a, &s);
	req_init(&r, url_of(f, f->a, "/b"));
	assert_int_equal(get(f, &r, &k, &resp, err, sizeof(err)), OTA_E_IO);
	assert_int_equal(k.calls, 2);
	assert_int_equal(resp.status, 200);
	sink_free(&k);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
		T(test_ok_body_and_headers),
		T(test_error_status_body_not_delivered),
		T(test_html_instead_of_json),
		T(test_truncated_body),
		T(test_close_without_reply),
		T(test_refused_and_dns),
		T(test_silent_server),
		T(test_stall_after_headers),
		T(test_total_deadline),
		T(test_slow_but_alive),
		T(test_chunked),
		T(test_lower_case_headers),
		T(test_redirects_followed),
		T(test_too_many_redirects),
		T(test_token_kept_on_same_host),
		T(test_token_dropped_cross_host),
		T(test_token_only_to_token_host),
		T(test_redirect_scheme_refused),
		T(test_resume_206),
		T(test_resume_200_restarts),
		T(test_resume_wrong_range),
		T(test_if_none_match),
		T(test_rate_limit_headers),
		T(test_max_body_content_length),
		T(test_max_body_while_reading),
		T(test_token_never_in_err),
		T(test_big_streamed),
		T(test_body_fn_aborts),
#undef T
	};

	/* loopback only: a proxy from the environment must not intervene */
	unsetenv("http_proxy");
	unsetenv("HTTP_PROXY");
	unsetenv("https_proxy");
	unsetenv("HTTPS_PROXY");
	unsetenv("all_proxy");
	unsetenv("ALL_PROXY");
	return cmocka_run_group_tests(tests, NULL, NULL);
}
