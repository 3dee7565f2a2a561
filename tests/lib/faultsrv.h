/*
 * faultsrv: a small programmable HTTP/1.1 server for the client tests, on
 * 127.0.0.1 with an ephemeral port, served by one thread of the test
 * process. Each path gets a script: status, headers, body, and the faults
 * of micropython-ota-updater.md §10 (close before reply, truncated body
 * with the full Content-Length, silence, chunked, redirects, slow pieces,
 * lower-case header names). Every request is recorded (request line and
 * header block) so that tests can assert on what a client sent.
 *
 * One connection at a time, "Connection: close" on every answer; every
 * wait polls with a timeout and a stop pipe, so faultsrv_stop never hangs.
 * It knows HTTP only as far as tests need it: GET-style requests without a
 * body, no keep-alive, no TLS.
 */
#ifndef OTA_FAULTSRV_H
#define OTA_FAULTSRV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FS_MAX_ROUTES 32
#define FS_MAX_REQS 64
#define FS_MAX_HEAD 4096		/* request header bytes kept */
#define FS_IO_TIMEOUT_MS 5000		/* any single read or write */

enum {
	FS_CLOSE = 1 << 0,	/* read the request, close without a reply */
	FS_CHUNKED = 1 << 1,	/* Transfer-Encoding: chunked */
	FS_LOWER = 1 << 2,	/* lower-case header names */
	FS_NO_LENGTH = 1 << 3,	/* neither Content-Length nor chunked: EOF */
	FS_RANGE = 1 << 4,	/* honour "Range: bytes=N-" with a 206 */
	FS_TRUNCATE = 1 << 5	/* send truncate_after body bytes, close */
};

struct faultsrv_script {
	const char *path;		/* exact path, query ignored */
	int status;			/* 0: 200, or 302 with redirect */
	const char *headers;		/* extra raw "Name: v\r\n" lines */
	const void *body;		/* copied */
	size_t body_len;
	const char *content_type;	/* NULL: none sent */
	const char *etag;		/* sent; matching If-None-Match: 304 */
	const char *redirect;		/* Location value */
	unsigned flags;			/* FS_* */
	size_t truncate_after;		/* with FS_TRUNCATE */
	unsigned silent_ms;		/* > 0: read the request, say nothing */
	size_t chunk_size;		/* body pieces, HTTP chunks; 0: 64K */
	unsigned chunk_delay_ms;	/* pause before each piece */
};

struct faultsrv_req {
	char line[512];			/* "GET /x HTTP/1.1" */
	char head[FS_MAX_HEAD];		/* the header lines, CRLF-separated */
};

struct faultsrv;

/* Starts a server on 127.0.0.1:0; NULL on failure. Unknown paths get 404. */
struct faultsrv *faultsrv_start(void);
/* Stops the thread (waking any wait), closes everything, frees. NULL ok. */
void faultsrv_stop(struct faultsrv *fs);
uint16_t faultsrv_port(const struct faultsrv *fs);
/* "http://127.0.0.1:PORT" + path into out; 0 on success. */
int faultsrv_url(const struct faultsrv *fs, const char *path, char *out,
    size_t outsz);
/* "127.0.0.1:PORT" into out; 0 on success. */
int faultsrv_hostport(const struct faultsrv *fs, char *out, size_t outsz);

/*
 * Sets (or replaces) the script for s->path; everything is copied. Must
 * not race a request for the same path. 0 on success, -1 if full.
 */
int faultsrv_set(struct faultsrv *fs, const struct faultsrv_script *s);

/* Requests recorded so far (up to FS_MAX_REQS). */
size_t faultsrv_nreqs(struct faultsrv *fs);
/* Copies request i into out; 0 on success, -1 if there is none. */
int faultsrv_req(struct faultsrv *fs, size_t i, struct faultsrv_req *out);
/* Value of header name (case-insensitive) of r into buf; NULL if absent. */
const char *faultsrv_req_header(const struct faultsrv_req *r,
    const char *name, char *buf, size_t bufsz);
/* Forgets the recorded requests. */
void faultsrv_clear(struct faultsrv *fs);

#endif
