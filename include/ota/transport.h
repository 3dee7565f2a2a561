/*
 * transport: the updater's one way to fetch a URL, as a small ops struct,
 * so that the core (feed, staging, apply) can be built and tested without
 * libcurl or sockets. ota_transport_curl_new (ota/host.h) is the
 * production implementation; a device brings its own; tests supply fakes.
 *
 * The contract closes the reference updater's HTTP holes
 * (micropython-ota-updater.md §4 D1, D2, D7, D8, D9, D15, D18, D22; §8
 * items 4 and 6), whatever the implementation:
 *  - body bytes reach the body callback only when the final status is 2xx;
 *    any other body is read up to OTA_TRANSPORT_MAX_ERROR_BODY and dropped;
 *  - a body shorter than its Content-Length is OTA_E_PROTOCOL, never data;
 *  - chunked bodies are decoded, header names compared case-insensitively;
 *  - redirects are followed up to max_redirects, to http(s) only, never
 *    from https down to http, and the token goes only to token_host;
 *  - connect, read (idle) and overall timeouts, and a size cap checked on
 *    Content-Length before the first byte and again while reading;
 *  - the token never appears in err, final_url or any log line.
 *
 * This module knows HTTP, not releases: it does not know what a feed, a
 * manifest or a version is, and it maps no status number to a meaning
 * (404, 401, 403/429 are the caller's to interpret, with the rate-limit
 * fields below). It never retries: retries and back-off are policy.
 */
#ifndef OTA_TRANSPORT_H
#define OTA_TRANSPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <ota/status.h>

#ifdef __cplusplus
extern "C" {
#endif

#define OTA_TRANSPORT_MAX_CHUNK (16 * 1024)	/* largest n passed to a body_fn */
#define OTA_TRANSPORT_MAX_ERROR_BODY 4096	/* read of a non-2xx body */
#define OTA_TRANSPORT_MAX_TOKEN 512
#define OTA_TRANSPORT_MAX_URL 1024
#define OTA_TRANSPORT_MAX_REDIRECTS 20	/* upper bound on req.max_redirects */

/*
 * Receives p[n] (1 <= n <= OTA_TRANSPORT_MAX_CHUNK) of the final 2xx body; off
 * is the offset of p[0] in the whole resource. The first call of a resumed
 * request says what the server did: off == req.resume_from for a 206 that
 * continues, off == 0 for a 200 that restarts from the beginning (truncate
 * what you had). Any status other than OTA_OK aborts the transfer, and
 * get() returns that status.
 */
typedef enum ota_status (*ota_body_fn)(void *ctx, uint64_t off,
    const void *p, size_t n);

/* One GET. Every pointer is borrowed for the call; NULL means "none". */
struct ota_request {
	const char *url;		/* http:// or https:// only */
	const char *token;		/* sent as "Authorization: token X" */
	const char *token_host;		/* the one host[:port] for the token */
	const char *if_none_match;	/* an ETag, sent as If-None-Match */
	uint64_t resume_from;		/* > 0: Range: bytes=N- */
	uint64_t max_body;		/* whole-resource cap; 0: no cap */
	unsigned connect_timeout_s;	/* TCP + TLS set-up, per hop; 0: 30 s */
	unsigned read_timeout_s;	/* no byte for this long; 0: 30 s */
	unsigned total_timeout_s;	/* all hops together; 0: none */
	unsigned max_redirects;		/* 0: a redirect is an error */
	const char *user_agent;		/* NULL: "ota/<version>" */
	const char *ca_file;		/* NULL: system CAs; always verified */
	const char *post_json;		/* non-NULL: POST this JSON body (a
					 * redirect then ends the request) */
	size_t post_len;
};

/*
 * What the final response said. token_host without a port stands for the
 * default port of each hop's scheme; hosts compare case-insensitively.
 */
struct ota_response {
	int status;			/* final HTTP status; 0 if none */
	uint64_t content_length;	/* last reply; UINT64_MAX: not sent */
	bool partial;			/* 206 continuing at resume_from */
	char etag[128];			/* "" if none (or too long) */
	char content_type[128];		/* "" if none (or too long) */
	char final_url[OTA_TRANSPORT_MAX_URL];	/* the last hop's URL */
	int64_t ratelimit_remaining;	/* X-RateLimit-Remaining; -1: none */
	int64_t ratelimit_reset;	/* X-RateLimit-Reset, unix s; 0: none */
	int64_t retry_after;		/* Retry-After, seconds; -1: none */
	unsigned redirects;		/* hops followed */
};

struct ota_transport {
	void *ctx;
	/*
	 * Fetches req->url. OTA_OK when a final response arrived complete,
	 * whatever its status: check resp->status (304 for a matching
	 * If-None-Match, with no body call). Otherwise:
	 *   OTA_E_INVALID    bad request fields (scheme, control bytes in
	 *                    a header value, a token without token_host)
	 *   OTA_E_NETWORK    DNS failure, refused, reset, TLS failure, or the
	 *                    connection closed before any reply (nothing was
	 *                    said, so it is a network fault, safe to retry)
	 *   OTA_E_TIMEOUT    connect, read (idle) or total deadline passed
	 *   OTA_E_PROTOCOL   truncated body, malformed reply, too many
	 *                    redirects, a redirect to a refused URL, a 206
	 *                    that does not start at resume_from
	 *   OTA_E_TOO_LARGE  the body exceeds max_body
	 *   OTA_E_NOMEM      allocation failed
	 *   anything the body callback returned.
	 * err[errsz] (may be NULL) gets one line, also on OTA_OK with a non-2xx
	 * status (then the start of the server's body, control bytes shown as
	 * '?'). resp is filled as far as known, also on failure.
	 * Thread-compatible: one struct ota_transport per thread.
	 */
	enum ota_status (*get)(void *ctx, const struct ota_request *req,
	    ota_body_fn body, void *body_ctx,
	    struct ota_response *resp, char *err, size_t errsz);
	void (*free)(void *ctx);
};

#ifdef __cplusplus
}
#endif
#endif
