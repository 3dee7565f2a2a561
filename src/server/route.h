/*
 * route: what `ota serve` answers to one request, decided without any HTTP
 * library type. httpd.c turns a libmicrohttpd request into a route_req and
 * the struct reply back into a response; everything between, the protocol
 * of esp-http-update-protocol.md, lives here and is tested without sockets.
 *
 * Routes (AutoConnect's updateserver.py, holes closed):
 *   GET /_catalog?op=list&path=P   JSON listing of catalog/P (catalog.h)
 *   GET /<file>                    the file, for ESP httpUpdate clients
 *                                  (espgate.h), with x-MD5 and x-SHA256
 * Both are confined to the canonical catalog root (path.h). HEAD is GET
 * without the body. Every error has a fixed reason, a short body and a
 * Content-Length; no request byte reaches a header or a reason phrase.
 */
#ifndef OTA_ROUTE_H
#define OTA_ROUTE_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <ota/status.h>

#include "server/config.h"
#include "server/espgate.h"
#include "server/filecache.h"
#include "server/store.h"

#define REPLY_MAX_HEADERS 12
#define REPLY_MAX_VALUE 320
#define REPLY_MAX_NOTE 256

struct github_cache;
struct ratelimit;

struct reply_header {
	const char *name;		/* static storage */
	char value[REPLY_MAX_VALUE];
};

struct reply {
	int status;
	struct reply_header hdr[REPLY_MAX_HEADERS];
	size_t nhdr;
	char *body;		/* owned (malloc); NULL when fd is used */
	size_t body_len;
	int fd;			/* owned; >= 0: send [offset, offset+length);
				 * on a 304, only its length is announced */
	uint64_t offset;
	uint64_t length;
	char note[REPLY_MAX_NOTE]; /* device details for the access log */
};

struct route_req {
	const char *method;
	const char *target;	/* raw request-target, as sent */
	header_fn header;	/* case-insensitive request-header look-up */
	void *header_ctx;
	/* the client's address into out (numeric); NULL: unknown */
	void (*peer)(void *header_ctx, char *out, size_t outsz);
};

struct route_env {
	const struct serve_config *cfg;	/* cfg->root is the catalog */
	struct filecache *cache;
	struct store *store;		/* NULL: no release store */
	pthread_mutex_t *store_lock;	/* held around every store call */
	struct github_cache *answers;	/* NULL: no cache */
	struct ratelimit *limits;	/* NULL: no rate limit */
};

void reply_init(struct reply *rep);
/* Closes the fd and frees the body, if still owned. */
void reply_release(struct reply *rep);
/* Finds a header set on rep, NULL if none (tests, access log). */
const char *reply_header(const struct reply *rep, const char *name);

/* Answers req into rep (always: every path sets a status). */
void route_handle(const struct route_env *env, const struct route_req *req,
    struct reply *rep);

/*
 * A request with a body (POST, PUT), fed as it arrives. route_upload_begin
 * is called once the headers are in (length: Content-Length, UINT64_MAX
 * if unknown) and returns the upload, or NULL with rep set to answer now
 * (the body is then not read and the connection closed). Then
 * route_upload_data per piece of the body, then route_upload_end (which
 * answers and frees u) or, if the client goes away, route_upload_abort.
 */
struct route_upload;
struct route_upload *route_upload_begin(const struct route_env *env,
    const struct route_req *req, uint64_t length, struct reply *rep);
enum ota_status route_upload_data(struct route_upload *u, const void *p,
    size_t n);
void route_upload_end(struct route_upload *u, const struct route_req *req,
    struct reply *rep);
/* Accepts NULL. */
void route_upload_abort(struct route_upload *u);

/* Sets rep to a short plain-text error for status. */
void route_error(struct reply *rep, int status);

/* Adds a header (name in static storage); dropped if rep is full. */
__attribute__((format(printf, 3, 4)))
void reply_add(struct reply *rep, const char *name, const char *fmt, ...);
/* Sets status, Content-Type and the body (owned by rep from now on). */
void reply_body(struct reply *rep, int status, const char *type, char *body,
    size_t len);

/* The one place an ota_status becomes an HTTP status. */
int http_status(enum ota_status st);

/*
 * Answers with the file fd (owned by rep from now on) of size bytes and
 * digests d: 304 on a matching If-None-Match, 206 for one satisfiable
 * Range (If-Range honoured), 416 for an unsatisfiable one, else 200; with
 * Content-Type type, ETag (the SHA-256), x-MD5, x-SHA256, Accept-Ranges.
 */
void route_send_fd(const struct route_req *req, int fd, uint64_t size,
    const struct file_digest *d, const char *type, struct reply *rep);
/* A 304 for the file fd (owned by rep), sized by it as RFC 9110 wants. */
void route_not_modified(struct reply *rep, int fd, uint64_t size,
    const struct file_digest *d);

#endif
