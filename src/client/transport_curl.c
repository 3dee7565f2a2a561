/*
 * transport_curl: the transport of transport.h on libcurl, and the only
 * file of the project that includes <curl/curl.h>.
 *
 * libcurl moves the bytes (DNS, connect, TLS with verification, chunked
 * decoding, Content-Length accounting); this file decides what the bytes
 * mean, because the contract is stricter than libcurl's defaults:
 *
 *  - Redirects are followed here, one easy transfer per hop, with
 *    CURLOPT_FOLLOWLOCATION off. libcurl (>= 7.58, and since 7.83 also on
 *    a port or scheme change) drops a custom Authorization header when it
 *    follows a redirect to another host, but its rule is "the host of the
 *    first URL", not "token_host": a download_url naming another host
 *    would get the token on its first request. Doing the hops ourselves
 *    gives one rule for every request (the header is attached only when
 *    the hop's host:port is token_host), checks each target's scheme
 *    (http/https, no https -> http) and counts hops with the same code on
 *    every libcurl version. CURLINFO_REDIRECT_URL resolves Location.
 *  - The token is an "Authorization: token X" header (GitHub's form), not
 *    CURLOPT_XOAUTH2_BEARER or CURLOPT_USERPWD, which send Bearer/Basic.
 *    No error message carries a header or a URL's query or userinfo.
 *  - The idle ("read") timeout is measured here: the time since the last
 *    header or body byte, checked by the progress callback that libcurl
 *    calls about once a second even when nothing arrives. LOW_SPEED_TIME
 *    averages over a window and so fires late on a server that stalls
 *    after a burst. CURLOPT_TIMEOUT_MS carries the overall deadline, cut
 *    down to what is left on each hop.
 *  - The size cap is ours (headers callback, then per write), not
 *    CURLOPT_MAXFILESIZE_LARGE, which would also fail a 404 or a redirect
 *    with a large body and does not know about resume offsets.
 *  - Range is sent with CURLOPT_RANGE, not CURLOPT_RESUME_FROM_LARGE: the
 *    latter fails a 200 answer (CURLE_RANGE_ERROR), and we want to report
 *    it so the caller restarts; a 206 must start at resume_from.
 * Non-2xx bodies are read up to OTA_TRANSPORT_MAX_ERROR_BODY, kept for the
 * message and never passed on.
 */
/* _DEFAULT_SOURCE: explicit_bzero, to wipe the token from our buffers. */
#define _DEFAULT_SOURCE

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>

#include <ota/host.h>
#include <ota/transport.h>

#include "common/str.h"
#include "common/banned.h"

#define TC_DEFAULT_TIMEOUT_S 30
#define TC_MAX_HEADER_VALUE 256
#define TC_ERROR_EXCERPT 200		/* of a non-2xx body, in err */
#define TC_MAX_HOSTPORT 300

struct tcurl {
	CURL *easy;
	char errbuf[CURL_ERROR_SIZE];
};

/* One hop's state, shared by the callbacks. */
struct hop {
	const struct ota_request *req;
	ota_body_fn body;
	void *body_ctx;
	struct ota_response *resp;
	bool headers_done;	/* the final (>= 200) header block ended */
	bool deliver;		/* 2xx: body bytes go to body() */
	bool have_location;
	bool have_range;
	uint64_t range_start, range_total;	/* total UINT64_MAX: "*" */
	uint64_t off;		/* resource offset of the next body byte */
	char errbody[OTA_TRANSPORT_MAX_ERROR_BODY];
	size_t errlen;
	bool errbody_full;	/* stopped reading a non-2xx body at the cap */
	enum ota_status st;	/* why a callback stopped the transfer */
	bool connected;
	bool idle_expired;
	int64_t last_io_ms;
	char why[160];		/* the callback's reason, for err */
};

static pthread_once_t tc_once = PTHREAD_ONCE_INIT;
static CURLcode tc_global_rc = CURLE_FAILED_INIT;

static void
tc_global_init(void)
{
	tc_global_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

static int64_t
now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/*
 * "scheme://host:port/path" of url, lower-case host and default port made
 * explicit when hostport is wanted; neither userinfo nor query survive.
 */
static enum ota_status
url_parts(const char *url, char *scheme, size_t schemesz, char *hostport,
    size_t hpsz, char *shown, size_t shownsz)
{
	CURLU *u = curl_url();
	char *sch = NULL, *host = NULL, *port = NULL, *path = NULL;
	enum ota_status st = OTA_E_INVALID;
	char *c;

	if (u == NULL)
		return OTA_E_NOMEM;
	if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, &sch, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) !=
	    CURLUE_OK ||
	    curl_url_get(u, CURLUPART_PATH, &path, 0) != CURLUE_OK)
		goto out;
	for (c = host; *c != '\0'; c++)
		if (*c >= 'A' && *c <= 'Z')
			*c = (char)(*c - 'A' + 'a');
	st = OTA_OK;
	if (scheme != NULL && str_copy(scheme, schemesz, sch) != OTA_OK)
		st = OTA_E_TOO_LARGE;
	if (hostport != NULL &&
	    str_fmt(hostport, hpsz, "%s:%s", host, port) != OTA_OK)
		st = OTA_E_TOO_LARGE;
	if (shown != NULL && str_fmt(shown, shownsz, "%s://%s:%s%s", sch,
	    host, port, path) != OTA_OK)
		st = OTA_E_TOO_LARGE;
out:
	curl_free(sch);
	curl_free(host);
	curl_free(port);
	curl_free(path);
	curl_url_cleanup(u);
	return st;
}

/* Does token_host ("host[:port]") name the hop at hostport ("host:port")? */
static bool
token_host_match(const char *token_host, const char *scheme,
    const char *hostport)
{
	char want[TC_MAX_HOSTPORT];
	const char *rb, *colon;
	bool has_port;

	if (token_host[0] == '[') {	/* IPv6 literal */
		rb = strchr(token_host, ']');
		has_port = rb != NULL && rb[1] == ':';
	} else {
		colon = strrchr(token_host, ':');
		has_port = colon != NULL;
	}
	if (has_port) {
		if (str_copy(want, sizeof(want), token_host) != OTA_OK)
			return false;
	} else if (str_fmt(want, sizeof(want), "%s:%s", token_host,
	    strcmp(scheme, "https") == 0 ? "443" : "80") != OTA_OK)
		return false;
	return strcasecmp(want, hostport) == 0;
}

/* ---- header parsing ---- */

static void
resp_reset_headers(struct hop *h)
{
	struct ota_response *r = h->resp;

	r->content_length = UINT64_MAX;
	r->partial = false;
	r->etag[0] = r->content_type[0] = '\0';
	r->ratelimit_remaining = -1;
	r->ratelimit_reset = 0;
	r->retry_after = -1;
	h->have_location = h->have_range = false;
	h->range_start = 0;
	h->range_total = UINT64_MAX;
}

static bool
parse_i64(const char *v, int64_t *out)
{
	uint64_t u;

	if (parse_u64(v, 0, INT64_MAX, &u) != OTA_OK)
		return false;
	*out = (int64_t)u;
	return true;
}

/* "bytes START-END/TOTAL", TOTAL may be "*" */
static void
parse_content_range(struct hop *h, const char *v)
{
	uint64_t start, end, total = UINT64_MAX;

	if (strncasecmp(v, "bytes ", 6) != 0)
		return;
	v += 6;
	if (!str_read_u64(&v, &start) || *v++ != '-' ||
	    !str_read_u64(&v, &end) || *v++ != '/' || end < start)
		return;
	if (strcmp(v, "*") != 0 && parse_u64(v, 0, UINT64_MAX, &total) !=
	    OTA_OK)
		return;
	h->have_range = true;
	h->range_start = start;
	h->range_total = total;
}

static void
parse_retry_after(struct hop *h, const char *v)
{
	int64_t s;
	time_t t, now;

	if (parse_i64(v, &s)) {
		h->resp->retry_after = s;
		return;
	}
	t = curl_getdate(v, NULL);	/* the HTTP-date form */
	if (t == -1)
		return;
	now = time(NULL);
	h->resp->retry_after = t > now ? (int64_t)(t - now) : 0;
}

static void
header_field(struct hop *h, const char *name, size_t nlen, const char *v)
{
	struct ota_response *r = h->resp;
	uint64_t u;

#define IS(s) (nlen == sizeof(s) - 1 && strncasecmp(name, s, nlen) == 0)
	if (IS("content-length")) {
		if (parse_u64(v, 0, UINT64_MAX - 1, &u) == OTA_OK)
			r->content_length = u;
	} else if (IS("etag")) {
		if (str_copy(r->etag, sizeof(r->etag), v) != OTA_OK)
			r->etag[0] = '\0';
	} else if (IS("content-type")) {
		if (str_copy(r->content_type, sizeof(r->content_type), v) !=
		    OTA_OK)
			r->content_type[0] = '\0';
	} else if (IS("x-ratelimit-remaining")) {
		if (!parse_i64(v, &r->ratelimit_remaining))
			r->ratelimit_remaining = -1;
	} else if (IS("x-ratelimit-reset")) {
		if (!parse_i64(v, &r->ratelimit_reset))
			r->ratelimit_reset = 0;
	} else if (IS("retry-after")) {
		parse_retry_after(h, v);
	} else if (IS("location")) {
		h->have_location = true;
	} else if (IS("content-range")) {
		parse_content_range(h, v);
	}
#undef IS
}

/*
 * The final header block is complete: decide where the body goes, and
 * refuse a body that is too large before its first byte.
 */
static bool
headers_end(struct hop *h)
{
	const struct ota_request *req = h->req;
	struct ota_response *r = h->resp;
	uint64_t cl = r->content_length;

	h->headers_done = true;
	if (r->status < 200 || r->status > 299)
		return true;
	if (r->status == 206) {
		if (req->resume_from == 0 || !h->have_range ||
		    h->range_start != req->resume_from) {
			h->st = OTA_E_PROTOCOL;
			(void)!str_fmt(h->why, sizeof(h->why), "206 reply does "
			    "not continue at byte %llu",
			    (unsigned long long)req->resume_from);
			return false;
		}
		r->partial = true;
		h->off = req->resume_from;
	} else
		h->off = 0;
	if (req->max_body > 0 && ((cl != UINT64_MAX &&
	    (cl > req->max_body || h->off > req->max_body - cl)) ||
	    (h->have_range && h->range_total != UINT64_MAX &&
	    h->range_total > req->max_body))) {
		h->st = OTA_E_TOO_LARGE;
		(void)!str_fmt(h->why, sizeof(h->why), "body larger than "
		    "the %llu byte cap", (unsigned long long)req->max_body);
		return false;
	}
	h->deliver = true;
	return true;
}

static size_t
on_header(char *buf, size_t size, size_t nitems, void *ud)
{
	struct hop *h = ud;
	size_t n = size * nitems, len = n, nlen;
	char line[TC_MAX_HEADER_VALUE + 64], *v, *colon;
	unsigned code;

	h->last_io_ms = now_ms();
	if (h->headers_done)
		return n;		/* trailers of a chunked body */
	while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
		len--;
	if (len == 0) {
		if (h->resp->status >= 200 && !headers_end(h))
			return 0;
		return n;
	}
	if (len >= 5 && strncmp(buf, "HTTP/", 5) == 0) {
		/* each status line (1xx included) starts a new response */
		v = memchr(buf, ' ', len);
		if (v == NULL || (size_t)(v - buf) + 4 > len ||
		    sscanf(v + 1, "%3u", &code) != 1 || code < 100 ||
		    code > 999)
			return n;	/* libcurl rejects it anyway */
		h->resp->status = (int)code;
		resp_reset_headers(h);
		return n;
	}
	if (len >= sizeof(line))
		return n;		/* longer than any value we read */
	memcpy(line, buf, len);
	line[len] = '\0';
	colon = strchr(line, ':');
	if (colon == NULL)
		return n;
	for (v = colon + 1; *v == ' ' || *v == '\t'; v++)
		;
	nlen = (size_t)(colon - line);
	while (nlen > 0 && (line[nlen - 1] == ' ' || line[nlen - 1] == '\t'))
		nlen--;
	len = strlen(v);
	while (len > 0 && (v[len - 1] == ' ' || v[len - 1] == '\t'))
		v[--len] = '\0';
	header_field(h, line, nlen, v);
	return n;
}

static size_t
on_body(char *p, size_t size, size_t nmemb, void *ud)
{
	struct hop *h = ud;
	size_t n = size * nmemb, k, room;
	enum ota_status st;

	h->last_io_ms = now_ms();
	if (!h->deliver) {
		room = sizeof(h->errbody) - h->errlen;
		k = n < room ? n : room;
		memcpy(h->errbody + h->errlen, p, k);
		h->errlen += k;
		if (h->errlen == sizeof(h->errbody)) {
			h->errbody_full = true;
			return CURL_WRITEFUNC_ERROR;	/* enough of it */
		}
		return n;
	}
	for (size_t done = 0; done < n; done += k) {
		k = n - done;
		if (k > OTA_TRANSPORT_MAX_CHUNK)
			k = OTA_TRANSPORT_MAX_CHUNK;
		if (h->req->max_body > 0 && (h->off > h->req->max_body ||
		    k > h->req->max_body - h->off)) {
			h->st = OTA_E_TOO_LARGE;
			(void)!str_fmt(h->why, sizeof(h->why), "body larger "
			    "than the %llu byte cap",
			    (unsigned long long)h->req->max_body);
			return CURL_WRITEFUNC_ERROR;
		}
		st = h->body(h->body_ctx, h->off, p + done, k);
		if (st != OTA_OK) {
			h->st = st;
			(void)!str_fmt(h->why, sizeof(h->why), "body consumer "
			    "stopped at byte %llu: %s",
			    (unsigned long long)h->off, ota_status_str(st));
			return CURL_WRITEFUNC_ERROR;
		}
		h->off += k;
	}
	return n;
}

static int
on_prereq(void *ud, char *conn_primary_ip, char *conn_local_ip,
    int conn_primary_port, int conn_local_port)
{
	struct hop *h = ud;

	h->connected = true;
	h->last_io_ms = now_ms();
	return CURL_PREREQFUNC_OK;
}

static int
on_progress(void *ud, curl_off_t dltotal, curl_off_t dlnow,
    curl_off_t ultotal, curl_off_t ulnow)
{
	struct hop *h = ud;
	unsigned rt = h->req->read_timeout_s ? h->req->read_timeout_s :
	    TC_DEFAULT_TIMEOUT_S;

	if (h->connected && now_ms() - h->last_io_ms >= (int64_t)rt * 1000) {
		h->idle_expired = true;
		return 1;
	}
	return 0;
}

/* ---- one hop ---- */

static enum ota_status
map_curl(struct hop *h, CURLcode rc)
{
	switch (rc) {
	case CURLE_OK:
		return OTA_OK;
	case CURLE_WRITE_ERROR:
		if (h->st != OTA_OK)
			return h->st;
		return h->errbody_full ? OTA_OK : OTA_E_PROTOCOL;
	case CURLE_ABORTED_BY_CALLBACK:
		return h->idle_expired ? OTA_E_TIMEOUT : OTA_E_PROTOCOL;
	case CURLE_OPERATION_TIMEDOUT:
		return OTA_E_TIMEOUT;
	case CURLE_OUT_OF_MEMORY:
		return OTA_E_NOMEM;
	case CURLE_URL_MALFORMAT:
	case CURLE_UNSUPPORTED_PROTOCOL:
		return OTA_E_INVALID;
	case CURLE_COULDNT_RESOLVE_PROXY:
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_CONNECT:
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_GOT_NOTHING:		/* closed before any reply */
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_ISSUER_ERROR:
		return OTA_E_NETWORK;
	case CURLE_PARTIAL_FILE:	/* fewer bytes than Content-Length */
	default:
		return OTA_E_PROTOCOL;
	}
}

/* The header list may hold the token: wipe it before freeing. */
static void
slist_wipe_free(struct curl_slist *hdrs)
{
	struct curl_slist *l;

	for (l = hdrs; l != NULL; l = l->next)
		explicit_bzero(l->data, strlen(l->data));
	curl_slist_free_all(hdrs);
}

#define SETOPT(e, o, v) do {						\
	if (curl_easy_setopt(e, o, v) != CURLE_OK)			\
		goto setopt_failed;					\
} while (0)

static enum ota_status
hop_run(struct tcurl *tc, struct hop *h, const char *url, bool send_token,
    int64_t deadline_ms, const char *shown, char *err, size_t errsz)
{
	const struct ota_request *req = h->req;
	struct curl_slist *hdrs = NULL, *l;
	char line[OTA_TRANSPORT_MAX_TOKEN + 64], range[48];
	unsigned ct = req->connect_timeout_s ? req->connect_timeout_s :
	    TC_DEFAULT_TIMEOUT_S;
	int64_t left = 0;
	enum ota_status st;
	CURLcode rc;
	CURL *e = tc->easy;

	if (deadline_ms > 0) {
		left = deadline_ms - now_ms();
		if (left <= 0)
			return str_fail(err, errsz, OTA_E_TIMEOUT,
			    "GET %s: overall deadline passed", shown);
	}
	if (send_token) {
		if (str_fmt(line, sizeof(line), "Authorization: token %s",
		    req->token) != OTA_OK)
			return str_fail(err, errsz, OTA_E_INVALID,
			    "token too long");
		l = curl_slist_append(hdrs, line);
		explicit_bzero(line, sizeof(line));
		if (l == NULL)
			goto nomem;
		hdrs = l;
	}
	if (req->if_none_match != NULL) {
		if (str_fmt(line, sizeof(line), "If-None-Match: %s",
		    req->if_none_match) != OTA_OK) {
			slist_wipe_free(hdrs);
			return str_fail(err, errsz, OTA_E_INVALID,
			    "If-None-Match value too long");
		}
		if ((l = curl_slist_append(hdrs, line)) == NULL)
			goto nomem;
		hdrs = l;
	}

	if (req->post_json != NULL) {
		if ((l = curl_slist_append(hdrs,
		    "Content-Type: application/json")) == NULL)
			goto nomem;
		hdrs = l;
	}

	curl_easy_reset(e);	/* keeps live connections and the DNS cache */
	tc->errbuf[0] = '\0';
	SETOPT(e, CURLOPT_ERRORBUFFER, tc->errbuf);
	SETOPT(e, CURLOPT_URL, url);
	SETOPT(e, CURLOPT_PROTOCOLS_STR, "http,https");
	SETOPT(e, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	SETOPT(e, CURLOPT_FOLLOWLOCATION, 0L);
	if (req->post_json != NULL) {
		SETOPT(e, CURLOPT_POSTFIELDSIZE_LARGE,
		    (curl_off_t)req->post_len);
		SETOPT(e, CURLOPT_POSTFIELDS, req->post_json);
	} else
		SETOPT(e, CURLOPT_HTTPGET, 1L);
	SETOPT(e, CURLOPT_NOSIGNAL, 1L);
	SETOPT(e, CURLOPT_TCP_KEEPALIVE, 1L);
	SETOPT(e, CURLOPT_BUFFERSIZE, (long)OTA_TRANSPORT_MAX_CHUNK);
	SETOPT(e, CURLOPT_HTTP_CONTENT_DECODING, 0L);
	SETOPT(e, CURLOPT_SSL_VERIFYPEER, 1L);
	SETOPT(e, CURLOPT_SSL_VERIFYHOST, 2L);
	SETOPT(e, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
	if (req->ca_file != NULL)
		SETOPT(e, CURLOPT_CAINFO, req->ca_file);
	SETOPT(e, CURLOPT_USERAGENT, req->user_agent != NULL ?
	    req->user_agent : "ota/" OTA_VERSION_STRING);
	SETOPT(e, CURLOPT_CONNECTTIMEOUT_MS, deadline_ms > 0 &&
	    left < (int64_t)ct * 1000 ? (long)left : (long)ct * 1000);
	if (deadline_ms > 0)
		SETOPT(e, CURLOPT_TIMEOUT_MS, (long)left);
	if (hdrs != NULL)
		SETOPT(e, CURLOPT_HTTPHEADER, hdrs);
	if (req->resume_from > 0) {
		if (str_fmt(range, sizeof(range), "%llu-",
		    (unsigned long long)req->resume_from) != OTA_OK)
			goto setopt_failed;
		SETOPT(e, CURLOPT_RANGE, range);
	}
	SETOPT(e, CURLOPT_HEADERFUNCTION, on_header);
	SETOPT(e, CURLOPT_HEADERDATA, h);
	SETOPT(e, CURLOPT_WRITEFUNCTION, on_body);
	SETOPT(e, CURLOPT_WRITEDATA, h);
	SETOPT(e, CURLOPT_PREREQFUNCTION, on_prereq);
	SETOPT(e, CURLOPT_PREREQDATA, h);
	SETOPT(e, CURLOPT_XFERINFOFUNCTION, on_progress);
	SETOPT(e, CURLOPT_XFERINFODATA, h);
	SETOPT(e, CURLOPT_NOPROGRESS, 0L);

	rc = curl_easy_perform(e);
	(void)curl_easy_setopt(e, CURLOPT_HTTPHEADER, NULL);
	slist_wipe_free(hdrs);
	st = map_curl(h, rc);
	if (st == OTA_OK)
		return OTA_OK;
	if (h->why[0] != '\0')
		return str_fail(err, errsz, st, "GET %s: %s", shown, h->why);
	if (h->idle_expired)
		return str_fail(err, errsz, st, "GET %s: no data for %u s",
		    shown, req->read_timeout_s ? req->read_timeout_s :
		    TC_DEFAULT_TIMEOUT_S);
	return str_fail(err, errsz, st, "GET %s: %s", shown,
	    tc->errbuf[0] != '\0' ? tc->errbuf : curl_easy_strerror(rc));

setopt_failed:
	(void)curl_easy_setopt(e, CURLOPT_HTTPHEADER, NULL);
	slist_wipe_free(hdrs);
	return str_fail(err, errsz, OTA_E_UNSUPPORTED,
	    "GET %s: libcurl refused an option", shown);
nomem:
	slist_wipe_free(hdrs);
	return str_fail(err, errsz, OTA_E_NOMEM, "out of memory");
}

static bool
is_redirect(int status)
{
	return status == 301 || status == 302 || status == 303 ||
	    status == 307 || status == 308;
}

static enum ota_status
check_req(const struct ota_request *req, char *err, size_t errsz)
{
	if (req->url == NULL)
		return str_fail(err, errsz, OTA_E_INVALID, "no URL");
	if (req->token != NULL && (req->token_host == NULL ||
	    req->token_host[0] == '\0'))
		return str_fail(err, errsz, OTA_E_INVALID,
		    "a token needs the host it may be sent to");
	if (req->token != NULL && (!str_printable(req->token) ||
	    strlen(req->token) >= OTA_TRANSPORT_MAX_TOKEN))
		return str_fail(err, errsz, OTA_E_INVALID,
		    "token has control characters or is too long");
	if (req->if_none_match != NULL &&
	    !str_printable(req->if_none_match))
		return str_fail(err, errsz, OTA_E_INVALID,
		    "If-None-Match value has control characters");
	if (req->user_agent != NULL && !str_printable(req->user_agent))
		return str_fail(err, errsz, OTA_E_INVALID,
		    "User-Agent has control characters");
	if (req->max_redirects > OTA_TRANSPORT_MAX_REDIRECTS)
		return str_fail(err, errsz, OTA_E_INVALID,
		    "more than %d redirects asked for",
		    OTA_TRANSPORT_MAX_REDIRECTS);
	return OTA_OK;
}

static void
resp_init(struct ota_response *r)
{
	memset(r, 0, sizeof(*r));
	r->content_length = UINT64_MAX;
	r->ratelimit_remaining = -1;
	r->retry_after = -1;
}

static enum ota_status
tc_get(void *ctx, const struct ota_request *req, ota_body_fn body,
    void *body_ctx, struct ota_response *resp, char *err, size_t errsz)
{
	struct tcurl *tc = ctx;
	struct hop *h = NULL;
	char url[OTA_TRANSPORT_MAX_URL], scheme[16], prev_scheme[16];
	char hostport[TC_MAX_HOSTPORT], shown[OTA_TRANSPORT_MAX_URL];
	char *next = NULL;
	int64_t deadline = 0;
	enum ota_status st;
	size_t k;

	resp_init(resp);
	if (err != NULL && errsz > 0)
		err[0] = '\0';
	if ((st = check_req(req, err, errsz)) != OTA_OK)
		return st;
	if (str_copy(url, sizeof(url), req->url) != OTA_OK)
		return str_fail(err, errsz, OTA_E_INVALID, "URL too long");
	st = url_parts(url, scheme, sizeof(scheme), hostport,
	    sizeof(hostport), shown, sizeof(shown));
	if (st != OTA_OK || (strcmp(scheme, "http") != 0 &&
	    strcmp(scheme, "https") != 0))
		return str_fail(err, errsz, OTA_E_INVALID,
		    "not an http(s) URL");
	if (req->total_timeout_s > 0)
		deadline = now_ms() + (int64_t)req->total_timeout_s * 1000;
	if ((h = malloc(sizeof(*h))) == NULL)
		return str_fail(err, errsz, OTA_E_NOMEM, "out of memory");

	for (;;) {
		memset(h, 0, sizeof(*h));
		h->req = req;
		h->body = body;
		h->body_ctx = body_ctx;
		h->resp = resp;
		resp->status = 0;
		resp_reset_headers(h);
		(void)!str_copy(resp->final_url, sizeof(resp->final_url), url);
		st = hop_run(tc, h, url, req->token != NULL &&
		    token_host_match(req->token_host, scheme, hostport),
		    deadline, shown, err, errsz);
		if (st != OTA_OK)
			goto out;
		if (!is_redirect(resp->status) || !h->have_location ||
		    req->post_json != NULL)
			break;
		if (resp->redirects >= req->max_redirects) {
			st = str_fail(err, errsz, OTA_E_PROTOCOL,
			    "GET %s: more than %u redirects", shown,
			    req->max_redirects);
			goto out;
		}
		next = NULL;
		if (curl_easy_getinfo(tc->easy, CURLINFO_REDIRECT_URL,
		    &next) != CURLE_OK || next == NULL ||
		    str_copy(url, sizeof(url), next) != OTA_OK) {
			st = str_fail(err, errsz, OTA_E_PROTOCOL,
			    "GET %s: unusable redirect target", shown);
			goto out;
		}
		(void)!str_copy(prev_scheme, sizeof(prev_scheme), scheme);
		if (url_parts(url, scheme, sizeof(scheme), hostport,
		    sizeof(hostport), NULL, 0) != OTA_OK ||
		    (strcmp(scheme, "http") != 0 &&
		    strcmp(scheme, "https") != 0) ||
		    (strcmp(prev_scheme, "https") == 0 &&
		    strcmp(scheme, "http") == 0)) {
			st = str_fail(err, errsz, OTA_E_PROTOCOL,
			    "GET %s: redirect to a refused URL scheme", shown);
			goto out;
		}
		(void)url_parts(url, NULL, 0, NULL, 0, shown, sizeof(shown));
		resp->redirects++;
	}
	if (resp->status < 200 || resp->status > 299) {
		k = h->errlen < TC_ERROR_EXCERPT ? h->errlen :
		    TC_ERROR_EXCERPT;
		(void)str_fail(err, errsz, OTA_OK, "GET %s: HTTP %d%s%.*s",
		    shown, resp->status, k > 0 ? ": " : "", (int)k,
		    h->errbody);
	}
out:
	free(h);
	return st;
}

static void
tc_free(void *ctx)
{
	struct tcurl *tc = ctx;

	if (tc == NULL)
		return;
	curl_easy_cleanup(tc->easy);
	free(tc);
}

enum ota_status
ota_transport_curl_new(struct ota_transport **out)
{
	const curl_version_info_data *vi;
	struct ota_transport *t;
	struct tcurl *tc;

	*out = NULL;
	if (pthread_once(&tc_once, tc_global_init) != 0 ||
	    tc_global_rc != CURLE_OK)
		return OTA_E_UNSUPPORTED;
	vi = curl_version_info(CURLVERSION_NOW);
	if (vi == NULL || vi->version_num < 0x075800)	/* 7.88.0 */
		return OTA_E_UNSUPPORTED;
	if ((t = calloc(1, sizeof(*t))) == NULL)
		return OTA_E_NOMEM;
	if ((tc = calloc(1, sizeof(*tc))) == NULL ||
	    (tc->easy = curl_easy_init()) == NULL) {
		free(tc);
		free(t);
		return OTA_E_NOMEM;
	}
	t->ctx = tc;
	t->get = tc_get;
	t->free = tc_free;
	*out = t;
	return OTA_OK;
}

void
ota_transport_free(struct ota_transport *t)
{
	if (t == NULL)
		return;
	if (t->free != NULL)
		t->free(t->ctx);
	free(t);
}
