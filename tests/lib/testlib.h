/*
 * Helpers for the integration tests: a raw HTTP client that sends exact
 * bytes and keeps exact bytes, a real `ota serve` started on 127.0.0.1
 * with an ephemeral port, and the fixture catalog of
 * esp-http-update-protocol.md §8. Loopback only. Also, for the unit
 * tests, a fake request-header table.
 */
#ifndef OTA_TESTLIB_H
#define OTA_TESTLIB_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <cjson/cJSON.h>

#define TL_TIMEOUT_MS 5000

struct http_resp {
	int status;		/* -1: no status line at all */
	char *head;		/* status line + headers, NUL-terminated */
	size_t head_len;
	unsigned char *body;	/* exactly the bytes after the blank line */
	size_t body_len;
	bool closed;		/* the server closed the connection */
	bool timed_out;
};

/* Connects to 127.0.0.1:port; -1 on failure. */
int tl_connect(uint16_t port);

/*
 * Sends req[n] on a new connection and reads the answer: until the body
 * is complete per Content-Length (none for HEAD when head is true), or
 * until the server closes, or timeout_ms passes. 0 if a connection was
 * made and something (maybe nothing) was read; -1 if it could not connect.
 */
int tl_exchange(uint16_t port, const void *req, size_t n, bool head,
    int timeout_ms, struct http_resp *out);
/* Same, on an open socket (keep-alive tests). */
int tl_exchange_fd(int fd, const void *req, size_t n, bool head,
    int timeout_ms, struct http_resp *out);
/* Same with a NUL-terminated request. */
int tl_get(uint16_t port, const char *req, struct http_resp *out);

/* Value of header name (case-insensitive) into buf; NULL if absent. */
const char *tl_header(const struct http_resp *r, const char *name,
    char *buf, size_t bufsz);
/* How many times header name appears. */
int tl_header_count(const struct http_resp *r, const char *name);
void tl_resp_free(struct http_resp *r);

/* Path of the ota binary under test (OTA_BIN from the build). */
const char *tl_ota_bin(void);

struct tl_server {
	pid_t pid;
	uint16_t port;
	char tmp[256];		/* private temp dir: port file, log */
	char log[300];
};

/*
 * Starts `ota serve -b 127.0.0.1 -p 0 --port-file ... -d catalog ARGS`
 * (args NULL-terminated, may be NULL) and waits for its port. 0 on success.
 */
int tl_server_start(struct tl_server *s, const char *catalog,
    const char *const *args);
/* SIGTERM, wait up to 10 s, then SIGKILL. Returns the wait status. */
int tl_server_stop(struct tl_server *s);
bool tl_server_alive(struct tl_server *s);
/* The server's log so far (malloc'd, NUL-terminated; caller frees). */
char *tl_server_log(struct tl_server *s);

/*
 * A fresh temp directory per test: pass tl_dir_setup and tl_dir_teardown
 * to cmocka_unit_test_setup_teardown; tl_dir holds its path meanwhile.
 */
extern char tl_dir[PATH_MAX];
int tl_dir_setup(void **state);
int tl_dir_teardown(void **state);
/* tl_dir + "/" + name into out[outsz]; fails the test if it won't fit. */
void tl_path(char *out, size_t outsz, const char *name);

/* mkdtemp under TMPDIR into out; 0 on success. */
int tl_mkdtemp(char *out, size_t outsz);
/* Writes p[n] to path (created or truncated). 0 on success. */
int tl_write_file(const char *path, const void *p, size_t n);
/* rm -rf path. */
void tl_rmtree(const char *path);

/*
 * Builds the §8 fixture under a new temp dir: <base>/fw (the catalog C)
 * and the sibling <base>/fw2. Writes C's path to cat; base to base.
 */
int tl_fixture(char *base, size_t basesz, char *cat, size_t catsz);

/* MD5 of good.bin and inner.bin in the fixture. */
#define TL_GOOD_MD5 "ec319a006828ff810e5f6e0fe37f5fc2"
#define TL_INNER_MD5 "2dfa38003d7c805e1dd95974c643c237"
#define TL_GOOD_LEN 18

/* The bytes of the fixture's good.bin. */
extern const unsigned char tl_good[TL_GOOD_LEN];

/* Seconds on the monotonic clock. */
double tl_now(void);

/*
 * A fake request-header table for the unit tests (route, espgate): up to
 * TL_HDRS_MAX name/value pairs, looked up case-insensitively as
 * libmicrohttpd's MHD_lookup_connection_value is. memset to 0 for an empty
 * table. The functions that change it fail the running cmocka test when a
 * name or value does not fit or the table is full.
 */
#define TL_HDRS_MAX 32

struct tl_hdrs {
	size_t n;
	char name[TL_HDRS_MAX][64];
	char value[TL_HDRS_MAX][160];
};

/* Value of name in ctx (a struct tl_hdrs *); NULL if absent. A header_fn. */
const char *tl_hdrs_get(void *ctx, const char *name);
/* Replaces h with the "Name: value\r\n" lines of block (TL_H8, TL_H32). */
void tl_hdrs_parse(struct tl_hdrs *h, const char *block);
/* Sets name to value: in place if present (any case), else appended. */
void tl_hdrs_set(struct tl_hdrs *h, const char *name, const char *value);
/* Removes name (any case), keeping the order; fails the test if absent. */
void tl_hdrs_del(struct tl_hdrs *h, const char *name);

/* The exact ESP8266 header block of esp-http-update-protocol.md §4.1. */
extern const char TL_H8[];
/* The ESP32 (core 2.x) header block of §5. */
extern const char TL_H32[];

/*
 * Sends req[n] on a new connection and reads until the server closes it
 * (or timeout_ms passes), ignoring Content-Length, as HTTP/1.0 clients
 * that read to EOF do (the MicroPython updaters). head and body are split
 * at the first blank line; without one, everything is the body. closed
 * tells whether EOF came. 0 if a connection was made, -1 if not.
 */
int tl_exchange_eof(uint16_t port, const void *req, size_t n, int timeout_ms,
    struct http_resp *out);

/*
 * Runs tl_ota_bin() with args (NULL-terminated, without argv[0]) for up
 * to 30 s, its stdout into out[outsz] (NUL-terminated, cut to fit; out may
 * be NULL) and its stderr to ours. Returns the exit code, -1 if it was
 * killed or could not run.
 */
int tl_ota_run(const char *const *args, char *out, size_t outsz);

/* path's text into buf[n], cut to fit and terminated; "" if unreadable. */
void tl_read_text(const char *path, char *buf, size_t n);

/* What one run of the ota binary did. */
struct tl_run {
	int status;		/* exit code, or -1 if killed */
	char out[16384];	/* stdout, cut to fit */
	char err[16384];	/* stderr, cut to fit */
};

/* Runs ota with args (NULL-terminated), up to 10 s, capturing stdout and
 * stderr apart (tl_ota_run keeps stdout only). */
void tl_ota_capture(struct tl_run *r, const char *const *args);

/* Frees r, then fails with the message (no leak on a failure path). */
__attribute__((format(printf, 2, 3)))
void tl_fail_free(struct http_resp *r, const char *fmt, ...);

/* Member key of a cJSON object, which must have that type (else the
 * test fails). */
const char *tl_jstr(const cJSON *o, const char *key);
double tl_jnum(const cJSON *o, const char *key);
bool tl_jbool(const cJSON *o, const char *key);

/*
 * splitmix64: small, seedable, good enough to pick kill delays and file
 * contents; the crash tests replay a run from its printed seed.
 */
uint64_t tl_rng_next(uint64_t *s);

/* hex (exactly 2 * n digits, asserted) into out[n]. */
void tl_unhex(const char *hex, unsigned char *out, size_t n);

/* One file of an expected tree, for tl_tree_is. */
struct tl_file {
	char path[128];			/* relative to the tree */
	unsigned char *data;
	size_t len;
};

/*
 * True if dir holds exactly the n files f: each one with exactly its
 * bytes, and no other file (a symlink or special file is "other"). Else
 * why[whysz] says what differs, naming the tree as name.
 */
bool tl_tree_is(const char *dir, const char *name, const struct tl_file *f,
    size_t n, char *why, size_t whysz);

#endif
