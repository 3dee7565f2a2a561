/*
 * updater: libota's engine driven through its public API only. The feed
 * is GitHub's shape (releases/latest, contents listings, download_url on
 * another host) served by a fake transport that records every request;
 * the device is a fake storage that holds everything in memory, so a
 * test can compare the slot that runs byte for byte; the digests are the
 * real libcrypto ones. Install, a conditional check, a wrong byte, the
 * feed's refusals and rate limit, resumed downloads, confirm, rollback
 * and the rejection that follows it, a feed that goes back, a power cut
 * before the switch, the trial's start count and deadline, the config's
 * ops, and where the token may go.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <cmocka.h>

#include <ota/host.h>
#include <ota/updater.h>

#include "common/buf.h"
#include "common/hash.h"
#include "common/str.h"
#include "common/banned.h"

#define HOST "feed.test"
#define API "http://" HOST "/repos/me/app"
#define RAW "http://raw.test/me/app"
#define EVENTS "http://" HOST "/api/v1/devices/dev1/events"
#define LATEST API "/releases/latest"
#define CONFIG_FMT "{\"gitrepo\":{\"url\":\"%s\"%s},\"ota\":" \
	"{\"device_id\":\"dev1\"}}"
#define MODULE "app"
#define TOKEN "pat-s3cr3t"
#define NOW ((int64_t)1700000000)

#define NET_MAX_ROUTES 32
#define NET_MAX_REQS 64
#define NET_CHUNK 1000			/* per callback: a file comes in
					 * several, a cut falls inside one */
#define DEV_MAX_FILES 16
#define MAX_DIRS 8

/* One URL the fake feed answers. */
struct route {
	char *url;
	int status;
	char etag[128];			/* "" none; If-None-Match → 304 */
	char content_type[128];
	int64_t ratelimit_remaining;	/* -1: none */
	int64_t ratelimit_reset;	/* 0: none */
	unsigned char *body;
	size_t len;
};

/* One request as the engine made it. */
struct req {
	char *url;
	char *if_none_match;
	uint64_t resume_from;
	uint64_t max_body;
	unsigned total_timeout_s;
	char *token;
	char *token_host;
	char *sent_token;		/* what the transport let through */
	char *post_json;
};

struct fake_net {
	int64_t clock;			/* seconds; each request costs tick */
	int64_t tick;
	struct route routes[NET_MAX_ROUTES];
	size_t nroutes;
	struct req reqs[NET_MAX_REQS];
	size_t nreqs;
	char *cut_url;			/* one shot: this body stops short */
	uint64_t cut_after;		/* bytes of it sent before the cut */
	bool ignore_range;		/* a Range gets the whole body, 200 */
};

/* A file of a slot or of staging. */
struct sfile {
	char *path;
	unsigned char *data;
	size_t len;
	bool done;			/* staging: verified */
};

struct tree {
	struct sfile f[DEV_MAX_FILES];
	size_t n;
};

/* One module of a device, in memory. */
struct fake_dev {
	char *config;			/* NULL: no config file */
	struct ota_state state;
	struct tree staging;		/* of state.staged */
	struct tree current, previous;	/* the slots */
	bool open;			/* a module handle is out */
	unsigned opens, files_open;
	unsigned commits, discards, rollbacks, trial_starts, slotseq;
	bool fail_commit;		/* one shot: a power cut at commit */
	unsigned fresh_stages;		/* stage_begin(fresh) calls */
	uint64_t space;			/* free_space; UINT64_MAX: plenty */
};

/* A staged file handle: its path, looked up on each use. */
struct fhandle {
	char path[256];
};

struct fixture {
	struct fake_net net;
	struct fake_dev dev;
	struct ota_transport t;
	struct ota_storage s;
	struct ota_config cfg;
	struct ota_updater *u;
	char api[128];			/* gitrepo.url of the config */
	char err[OTA_MAX_ERROR];
};

/* A file of a release, as published. */
struct rfile {
	const char *path;		/* "main/lib/util.py" */
	unsigned char *data;
	size_t len;
};

/* The release the tests publish first, and a newer one. */
static unsigned char v1_app[5000], v1_util[300], v2_app[4000];
static struct rfile v1[] = {
	{ "main/app.py", v1_app, sizeof(v1_app) },
	{ "main/lib/util.py", v1_util, sizeof(v1_util) },
};
static struct rfile v2[] = {
	{ "main/app.py", v2_app, sizeof(v2_app) },
	{ "main/lib/util.py", v1_util, sizeof(v1_util) },
};

static char *
xdup(const char *s)
{
	char *d;

	if (s == NULL)
		return NULL;
	d = str_dup(s);
	assert_non_null(d);
	return d;
}

static void *
xmemdup(const void *p, size_t n)
{
	void *d = malloc(n + 1);

	assert_non_null(d);
	memcpy(d, p, n);
	((char *)d)[n] = '\0';
	return d;
}

/*
 * p, which the test needs: a missing one fails the test. Declared
 * non-NULL, so that the compiler's null-dereference analysis agrees.
 */
__attribute__((returns_nonnull))
static void *
must(void *p, const char *what)
{
	if (p == NULL) {
		fail_msg("%s is missing", what);
		abort();		/* not reached: fail_msg jumps out */
	}
	return p;
}

/* host[:port] of an http(s) URL. */
static void
host_of(const char *url, char *out, size_t outsz)
{
	const char *h = strstr(url, "://");
	size_t n;

	h = h != NULL ? h + 3 : url;
	n = strcspn(h, "/?#");
	assert_true(n < outsz);
	memcpy(out, h, n);
	out[n] = '\0';
}

/* ---- the fake transport ---- */

static struct route *
route_find(struct fake_net *n, const char *url)
{
	size_t i;

	for (i = 0; i < n->nroutes; i++)
		if (strcmp(n->routes[i].url, url) == 0)
			return &n->routes[i];
	return NULL;
}

/* Sets (or replaces) what url answers. */
static struct route *
route_set(struct fake_net *n, const char *url, int status, const char *etag,
    const void *body, size_t len)
{
	struct route *r;

	if ((r = route_find(n, url)) == NULL) {
		assert_true(n->nroutes < NET_MAX_ROUTES);
		r = &n->routes[n->nroutes++];
		r->url = xdup(url);
	} else
		free(r->body);
	r->status = status;
	assert_int_equal(str_copy(r->etag, sizeof(r->etag),
	    etag ? etag : ""), OTA_OK);
	assert_int_equal(str_copy(r->content_type, sizeof(r->content_type),
	    "application/json"), OTA_OK);
	r->ratelimit_remaining = -1;
	r->ratelimit_reset = 0;
	r->body = xmemdup(body, len);
	r->len = len;
	return r;
}

static void
reqs_clear(struct fake_net *n)
{
	size_t i;

	for (i = 0; i < n->nreqs; i++) {
		free(n->reqs[i].url);
		free(n->reqs[i].if_none_match);
		free(n->reqs[i].token);
		free(n->reqs[i].token_host);
		free(n->reqs[i].sent_token);
		free(n->reqs[i].post_json);
	}
	memset(n->reqs, 0, sizeof(n->reqs));
	n->nreqs = 0;
}

static void
net_free(struct fake_net *n)
{
	size_t i;

	reqs_clear(n);
	for (i = 0; i < n->nroutes; i++) {
		free(n->routes[i].url);
		free(n->routes[i].body);
	}
	free(n->cut_url);
	memset(n, 0, sizeof(*n));
}

/*
 * The token goes only where the contract says a transport sends it: to
 * token_host. Recorded, so a test sees what left the device.
 */
static void
record(struct fake_net *n, const struct ota_request *q)
{
	struct req *r;
	char host[256];

	assert_true(n->nreqs < NET_MAX_REQS);
	r = &n->reqs[n->nreqs++];
	r->url = xdup(q->url);
	r->if_none_match = xdup(q->if_none_match);
	r->resume_from = q->resume_from;
	r->max_body = q->max_body;
	r->total_timeout_s = q->total_timeout_s;
	r->token = xdup(q->token);
	r->token_host = xdup(q->token_host);
	if (q->post_json != NULL)
		r->post_json = xmemdup(q->post_json, q->post_len);
	host_of(q->url, host, sizeof(host));
	if (q->token != NULL && q->token_host != NULL &&
	    strcasecmp(host, q->token_host) == 0)
		r->sent_token = xdup(q->token);
}

static enum ota_status
net_get(void *ctx, const struct ota_request *q, ota_body_fn body,
    void *body_ctx, struct ota_response *resp, char *err, size_t errsz)
{
	struct fake_net *n = ctx;
	struct route *r;
	enum ota_status st;
	uint64_t from = 0, stop, off;
	bool cut;
	size_t k;

	n->clock += n->tick;
	memset(resp, 0, sizeof(*resp));
	resp->content_length = UINT64_MAX;
	resp->ratelimit_remaining = -1;
	resp->retry_after = -1;
	if (err != NULL && errsz > 0)
		err[0] = '\0';
	assert_non_null(q->url);
	record(n, q);
	if (q->token != NULL && q->token_host == NULL)
		return OTA_E_INVALID;
	(void)!str_copy(resp->final_url, sizeof(resp->final_url), q->url);
	if ((r = route_find(n, q->url)) == NULL) {
		resp->status = 404;
		return OTA_OK;
	}
	resp->status = r->status;
	memcpy(resp->etag, r->etag, sizeof(resp->etag));
	memcpy(resp->content_type, r->content_type,
	    sizeof(resp->content_type));
	resp->ratelimit_remaining = r->ratelimit_remaining;
	resp->ratelimit_reset = r->ratelimit_reset;
	if (r->status == 200 && q->if_none_match != NULL &&
	    r->etag[0] != '\0' && strcmp(q->if_none_match, r->etag) == 0) {
		resp->status = 304;
		return OTA_OK;
	}
	/* A body other than 2xx never reaches the callback. */
	if (r->status < 200 || r->status > 299)
		return OTA_OK;
	if (q->max_body != 0 && r->len > q->max_body)
		return OTA_E_TOO_LARGE;
	if (q->resume_from > 0 && !n->ignore_range) {
		if (q->resume_from >= r->len) {
			resp->status = 416;
			return OTA_OK;
		}
		from = q->resume_from;
		resp->status = 206;
		resp->partial = true;
	}
	resp->content_length = r->len - from;
	stop = r->len;
	cut = n->cut_url != NULL && strcmp(n->cut_url, q->url) == 0;
	if (cut) {
		if (from + n->cut_after < stop)
			stop = from + n->cut_after;
		free(n->cut_url);
		n->cut_url = NULL;
	}
	for (off = from; off < stop; off += k) {
		k = stop - off < NET_CHUNK ? (size_t)(stop - off) : NET_CHUNK;
		if ((st = body(body_ctx, off, r->body + off, k)) != OTA_OK)
			return st;
	}
	if (cut)
		return str_fail(err, errsz, OTA_E_PROTOCOL, "the connection "
		    "closed after %llu of %zu bytes", (unsigned long long)stop,
		    r->len);
	return OTA_OK;
}

/* ---- the fake storage ---- */

static void
tree_free(struct tree *t)
{
	size_t i;

	for (i = 0; i < t->n; i++) {
		free(t->f[i].path);
		free(t->f[i].data);
	}
	memset(t, 0, sizeof(*t));
}

static struct sfile *
tree_find(struct tree *t, const char *path)
{
	size_t i;

	for (i = 0; i < t->n; i++)
		if (strcmp(t->f[i].path, path) == 0)
			return &t->f[i];
	return NULL;
}

/* Relative and normalised, no control byte: the storage checks again. */
static bool
path_ok(const char *p)
{
	const char *c;
	size_t n;

	if (p[0] == '\0' || p[0] == '/' || strlen(p) >= 256)
		return false;
	for (c = p; *c != '\0'; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f || *c == '\\')
			return false;
	for (c = p; *c != '\0'; c += n + (c[n] == '/')) {
		n = strcspn(c, "/");
		if (n == 0 || (n == 1 && c[0] == '.') ||
		    (n == 2 && c[0] == '.' && c[1] == '.'))
			return false;
		if (c[n] == '/' && c[n + 1] == '\0')
			return false;
	}
	return true;
}

static enum ota_status
dev_open(void *ctx, const char *module, void **m, char *err, size_t errsz)
{
	struct fake_dev *d = ctx;

	assert_string_equal(module, MODULE);
	*m = NULL;
	if (d->open)
		return str_fail(err, errsz, OTA_E_BUSY, "module is open");
	d->open = true;
	d->opens++;
	*m = d;
	return OTA_OK;
}

static void
dev_close(void *ctx, void *m)
{
	struct fake_dev *d = ctx;

	assert_ptr_equal(m, d);
	assert_true(d->open);
	d->open = false;
}

static enum ota_status
dev_read_config(void *ctx, const char *module, char *buf, size_t cap,
    size_t *len, char *err, size_t errsz)
{
	struct fake_dev *d = ctx;

	assert_string_equal(module, MODULE);
	*len = 0;
	if (d->config == NULL)
		return str_fail(err, errsz, OTA_E_NOTFOUND, "no config");
	if (strlen(d->config) > cap)
		return str_fail(err, errsz, OTA_E_TOO_LARGE, "config too large");
	*len = strlen(d->config);
	memcpy(buf, d->config, *len);
	return OTA_OK;
}

static void
dev_state_get(void *m, struct ota_state *out)
{
	struct fake_dev *d = m;

	assert_true(d->open);
	*out = d->state;
}

static enum ota_status
dev_state_set(void *m, const struct ota_state *in)
{
	struct fake_dev *d = m;

	assert_true(d->open);
	/* The core's fields only. */
	d->state.metadata_floor = in->metadata_floor;
	memcpy(d->state.etag, in->etag, sizeof(d->state.etag));
	memcpy(d->state.last_error, in->last_error,
	    sizeof(d->state.last_error));
	d->state.backoff_until = in->backoff_until;
	memcpy(d->state.rejected, in->rejected, sizeof(d->state.rejected));
	memcpy(d->state.ready, in->ready, sizeof(d->state.ready));
	memcpy(d->state.stage_key, in->stage_key, sizeof(d->state.stage_key));
	return OTA_OK;
}

static enum ota_status
dev_stage_begin(void *m, const char *version, bool fresh, char *err,
    size_t errsz)
{
	struct fake_dev *d = m;

	assert_true(d->open);
	if (version[0] == '\0' || strchr(version, '/') != NULL)
		return str_fail(err, errsz, OTA_E_INVALID, "bad version");
	if (fresh)
		d->fresh_stages++;
	if (fresh || strcmp(d->state.staged, version) != 0) {
		tree_free(&d->staging);
		assert_int_equal(str_copy(d->state.staged,
		    sizeof(d->state.staged), version), OTA_OK);
	}
	return OTA_OK;
}

static enum ota_status
dev_free_space(void *m, uint64_t *bytes)
{
	struct fake_dev *d = m;

	assert_true(d->open);
	*bytes = d->space;
	return OTA_OK;
}

static enum ota_status
dev_stage_query(void *m, const char *path, enum ota_file_state *state,
    uint64_t *size)
{
	struct fake_dev *d = m;
	struct sfile *f;

	assert_true(d->open);
	assert_true(d->state.staged[0] != '\0');
	if (!path_ok(path))
		return OTA_E_FORBIDDEN;
	if ((f = tree_find(&d->staging, path)) == NULL) {
		*state = OTA_FILE_ABSENT;
		*size = 0;
	} else {
		*state = f->done ? OTA_FILE_DONE : OTA_FILE_PARTIAL;
		*size = f->len;
	}
	return OTA_OK;
}

static enum ota_status
dev_stage_open(void *m, const char *path, void **fh, uint64_t *have)
{
	struct fake_dev *d = m;
	struct fhandle *h;
	struct sfile *f;

	assert_true(d->open);
	*fh = NULL;
	if (d->state.staged[0] == '\0')
		return OTA_E_INVALID;
	if (!path_ok(path))
		return OTA_E_FORBIDDEN;
	if ((f = tree_find(&d->staging, path)) == NULL) {
		assert_true(d->staging.n < DEV_MAX_FILES);
		f = &d->staging.f[d->staging.n++];
		f->path = xdup(path);
	}
	*have = f->len;
	if (f->done)
		return OTA_E_EXISTS;
	h = calloc(1, sizeof(*h));
	assert_non_null(h);
	assert_int_equal(str_copy(h->path, sizeof(h->path), path), OTA_OK);
	d->files_open++;
	*fh = h;
	return OTA_OK;
}

static struct sfile *
handle_file(struct fake_dev *d, void *fh)
{
	struct fhandle *h = fh;
	struct sfile *f;

	assert_true(d->open);
	assert_non_null(h);
	f = must(tree_find(&d->staging, h->path), h->path);
	assert_false(f->done);
	return f;
}

static enum ota_status
dev_file_write(void *m, void *fh, uint64_t off, const void *p, size_t n)
{
	struct sfile *f = handle_file(m, fh);

	/* Written in order: a gap would be a hole of zeros. */
	assert_true(off <= f->len);
	if (off + n > f->len) {
		f->data = realloc(f->data, off + n);
		assert_non_null(f->data);
		f->len = off + n;
	}
	memcpy(f->data + off, p, n);
	return OTA_OK;
}

static enum ota_status
dev_file_read(void *m, void *fh, uint64_t off, void *p, size_t n,
    size_t *got)
{
	struct sfile *f = handle_file(m, fh);

	*got = 0;
	if (off < f->len) {
		*got = f->len - off < n ? (size_t)(f->len - off) : n;
		memcpy(p, f->data + off, *got);
	}
	return OTA_OK;
}

static enum ota_status
dev_file_truncate(void *m, void *fh, uint64_t size)
{
	struct sfile *f = handle_file(m, fh);

	if (size > f->len)
		return OTA_E_IO;
	f->len = size;
	return OTA_OK;
}

static enum ota_status
dev_file_close(void *m, void *fh, bool sync)
{
	struct fake_dev *d = m;

	(void)sync;
	assert_true(d->open);
	if (fh == NULL)
		return OTA_OK;
	assert_true(d->files_open > 0);
	d->files_open--;
	free(fh);
	return OTA_OK;
}

static enum ota_status
dev_stage_done(void *m, const char *path)
{
	struct fake_dev *d = m;
	struct sfile *f;

	assert_true(d->open);
	if ((f = tree_find(&d->staging, path)) == NULL || f->done)
		return OTA_E_NOTFOUND;
	f->done = true;
	return OTA_OK;
}

static enum ota_status
dev_stage_discard(void *m, const char *path)
{
	struct fake_dev *d = m;
	struct sfile *f;
	size_t i;

	assert_true(d->open);
	d->discards++;
	if ((f = tree_find(&d->staging, path)) == NULL)
		return OTA_OK;
	i = (size_t)(f - d->staging.f);
	free(f->path);
	free(f->data);
	memmove(f, f + 1, (d->staging.n - i - 1) * sizeof(*f));
	d->staging.n--;
	memset(&d->staging.f[d->staging.n], 0, sizeof(*f));
	return OTA_OK;
}

static enum ota_status
dev_commit(void *m, const char *version, int64_t deadline, char *err,
    size_t errsz)
{
	struct fake_dev *d = m;
	size_t i;

	assert_true(d->open);
	assert_int_equal(d->files_open, 0);
	if (d->fail_commit) {
		d->fail_commit = false;
		return str_fail(err, errsz, OTA_E_IO, "power cut");
	}
	if (d->state.trial)
		return str_fail(err, errsz, OTA_E_BUSY, "on trial");
	if (strcmp(d->state.staged, version) != 0 || d->staging.n == 0)
		return str_fail(err, errsz, OTA_E_INVALID, "not staged");
	for (i = 0; i < d->staging.n; i++)
		if (!d->staging.f[i].done)
			return str_fail(err, errsz, OTA_E_INVALID, "%s is not "
			    "done", d->staging.f[i].path);
	/* The switch: the current slot becomes the previous one. */
	tree_free(&d->previous);
	d->previous = d->current;
	d->current = d->staging;
	memset(&d->staging, 0, sizeof(d->staging));
	memcpy(d->state.previous, d->state.current, sizeof(d->state.previous));
	memcpy(d->state.previous_slot, d->state.current_slot,
	    sizeof(d->state.previous_slot));
	memcpy(d->state.current, version, strlen(version) + 1);
	assert_int_equal(str_fmt(d->state.current_slot,
	    sizeof(d->state.current_slot), "s%u", ++d->slotseq), OTA_OK);
	d->state.staged[0] = '\0';
	d->state.trial = true;
	d->state.trial_starts = 0;
	d->state.trial_deadline = deadline;
	d->commits++;
	return OTA_OK;
}

static enum ota_status
dev_confirm(void *m)
{
	struct fake_dev *d = m;

	assert_true(d->open);
	d->state.trial = false;
	d->state.trial_starts = 0;
	d->state.trial_deadline = 0;
	return OTA_OK;
}

static enum ota_status
dev_rollback(void *m, char *err, size_t errsz)
{
	struct fake_dev *d = m;

	assert_true(d->open);
	if (d->state.previous_slot[0] == '\0')
		return str_fail(err, errsz, OTA_E_NOTFOUND, "no previous "
		    "version");
	tree_free(&d->current);
	d->current = d->previous;
	memset(&d->previous, 0, sizeof(d->previous));
	memcpy(d->state.current, d->state.previous, sizeof(d->state.current));
	memcpy(d->state.current_slot, d->state.previous_slot,
	    sizeof(d->state.current_slot));
	d->state.previous[0] = '\0';
	d->state.previous_slot[0] = '\0';
	d->state.trial = false;
	d->state.trial_starts = 0;
	d->state.trial_deadline = 0;
	d->rollbacks++;
	return OTA_OK;
}

static enum ota_status
dev_trial_start(void *m, unsigned max_starts, int64_t now, bool *must)
{
	struct fake_dev *d = m;

	assert_true(d->open);
	d->trial_starts++;
	*must = false;
	if (!d->state.trial)
		return OTA_OK;
	d->state.trial_starts++;
	*must = d->state.trial_starts > max_starts ||
	    (d->state.trial_deadline != 0 && now >= d->state.trial_deadline);
	return OTA_OK;
}

static void
dev_free(struct fake_dev *d)
{
	free(d->config);
	tree_free(&d->staging);
	tree_free(&d->current);
	tree_free(&d->previous);
	memset(d, 0, sizeof(*d));
}

/* ---- the feed ---- */

/* The Git blob id of p[n]: sha1("blob <n>\0" + bytes). */
static void
blob_id(const unsigned char *p, size_t n, char hex[41])
{
	char hdr[32];
	unsigned char *all;
	size_t h;

	assert_int_equal(str_fmt(hdr, sizeof(hdr), "blob %zu", n), OTA_OK);
	h = strlen(hdr) + 1;
	all = malloc(h + n + 1);
	assert_non_null(all);
	memcpy(all, hdr, h);
	if (n > 0)
		memcpy(all + h, p, n);
	assert_int_equal(hash_hex(HASH_SHA1, all, h + n, hex), OTA_OK);
	free(all);
}

static void
raw_url(char *out, size_t outsz, const char *tag, const char *path)
{
	assert_int_equal(str_fmt(out, outsz, RAW "/%s/%s", tag, path),
	    OTA_OK);
}

static void
listing_url(const struct fixture *f, char *out, size_t outsz,
    const char *dir, const char *tag)
{
	assert_int_equal(str_fmt(out, outsz, "%s/contents/%s?ref=refs/tags/%s",
	    f->api, dir, tag), OTA_OK);
}

static void
latest_url(const struct fixture *f, char *out, size_t outsz)
{
	assert_int_equal(str_fmt(out, outsz, "%s/releases/latest", f->api),
	    OTA_OK);
}

/* The parent folder of path ("main" for "main/lib"), in place. */
static void
parent(char *path)
{
	char *s = strrchr(path, '/');

	assert_non_null(s);
	*s = '\0';
}

/* One listing: the files and folders directly in dir. */
static void
publish_listing(struct fixture *f, const char *tag, const char *dir,
    const struct rfile *files, size_t n, char dirs[][64], size_t ndirs)
{
	char url[512], sha[41], up[256], here[256];
	struct buf b;
	bool first = true;
	size_t i;

	buf_init(&b, 64 * 1024);
	assert_int_equal(buf_adds(&b, "["), OTA_OK);
	for (i = 0; i < n; i++) {
		assert_int_equal(str_copy(here, sizeof(here), files[i].path),
		    OTA_OK);
		parent(here);
		if (strcmp(here, dir) != 0)
			continue;
		blob_id(files[i].data, files[i].len, sha);
		raw_url(url, sizeof(url), tag, files[i].path);
		assert_int_equal(buf_addf(&b, "%s{\"type\":\"file\",\"name\":"
		    "\"%s\",\"path\":\"%s\",\"sha\":\"%s\",\"size\":%zu,"
		    "\"download_url\":\"%s\"}", first ? "" : ",",
		    strrchr(files[i].path, '/') + 1, files[i].path, sha,
		    files[i].len, url), OTA_OK);
		first = false;
	}
	for (i = 0; i < ndirs; i++) {
		assert_int_equal(str_copy(up, sizeof(up), dirs[i]), OTA_OK);
		parent(up);
		if (strcmp(up, dir) != 0)
			continue;
		assert_int_equal(buf_addf(&b, "%s{\"type\":\"dir\",\"name\":"
		    "\"%s\",\"path\":\"%s\",\"sha\":\"%040d\",\"size\":0,"
		    "\"download_url\":null}", first ? "" : ",",
		    strrchr(dirs[i], '/') + 1, dirs[i], 0), OTA_OK);
		first = false;
	}
	assert_int_equal(buf_adds(&b, "]"), OTA_OK);
	listing_url(f, url, sizeof(url), dir, tag);
	route_set(&f->net, url, 200, NULL, b.data, b.len);
	buf_release(&b);
}

/*
 * Publishes tag with files: releases/latest (with etag), a listing per
 * folder, and each file on the raw host.
 */
static void
publish(struct fixture *f, const char *tag, const char *etag,
    const struct rfile *files, size_t n)
{
	char dirs[MAX_DIRS][64], d[256], url[512], body[256];
	size_t i, j, ndirs = 0;

	for (i = 0; i < n; i++) {
		assert_int_equal(str_copy(d, sizeof(d), files[i].path), OTA_OK);
		for (parent(d); strchr(d, '/') != NULL; parent(d)) {
			for (j = 0; j < ndirs && strcmp(dirs[j], d) != 0; j++)
				continue;
			if (j == ndirs) {
				assert_true(ndirs < MAX_DIRS);
				assert_int_equal(str_copy(dirs[ndirs++],
				    sizeof(dirs[0]), d), OTA_OK);
			}
		}
		raw_url(url, sizeof(url), tag, files[i].path);
		route_set(&f->net, url, 200, NULL, files[i].data,
		    files[i].len);
	}
	publish_listing(f, tag, "main", files, n, dirs, ndirs);
	for (i = 0; i < ndirs; i++)
		publish_listing(f, tag, dirs[i], files, n, dirs, ndirs);
	assert_int_equal(str_fmt(body, sizeof(body), "{\"tag_name\":\"%s\","
	    "\"name\":\"%s\",\"draft\":false}", tag, tag), OTA_OK);
	latest_url(f, url, sizeof(url));
	route_set(&f->net, url, 200, etag, body, strlen(body));
}

/* releases/latest answers status with body. */
static struct route *
latest_answers(struct fixture *f, int status, const char *body)
{
	char url[512];

	latest_url(f, url, sizeof(url));
	return route_set(&f->net, url, status, NULL, body, strlen(body));
}

static void
configure(struct fixture *f, const char *api, const char *token)
{
	char pat[64] = "", text[512];

	assert_int_equal(str_copy(f->api, sizeof(f->api), api), OTA_OK);
	if (token != NULL)
		assert_int_equal(str_fmt(pat, sizeof(pat), ",\"github_pat\":"
		    "\"%s\"", token), OTA_OK);
	assert_int_equal(str_fmt(text, sizeof(text), CONFIG_FMT, api, pat),
	    OTA_OK);
	free(f->dev.config);
	f->dev.config = xdup(text);
}

/* ---- set-up and helpers ---- */

static void
fill(unsigned char *p, size_t n, unsigned seed)
{
	size_t i;

	for (i = 0; i < n; i++)
		p[i] = (unsigned char)((i * 31 + seed * 7 + i / 251) & 0xff);
}

static int
setup(void **state)
{
	static const unsigned char hello[] = "hello";
	struct fixture *f;
	char id[41];

	fill(v1_app, sizeof(v1_app), 1);
	fill(v1_util, sizeof(v1_util), 2);
	fill(v2_app, sizeof(v2_app), 3);
	/* The fixture's blob ids are Git's: git hash-object of "hello". */
	blob_id(hello, 5, id);
	assert_string_equal(id, "b6fc4c620b67d95f953a5c1c1230aaab5db5a1b0");
	if ((f = calloc(1, sizeof(*f))) == NULL)
		return -1;
	f->dev.space = UINT64_MAX;
	f->t.ctx = &f->net;
	f->t.get = net_get;
	f->s = (struct ota_storage){
		.ctx = &f->dev,
		.open = dev_open,
		.close = dev_close,
		.read_config = dev_read_config,
		.state_get = dev_state_get,
		.state_set = dev_state_set,
		.stage_begin = dev_stage_begin,
		.stage_query = dev_stage_query,
		.free_space = dev_free_space,
		.stage_open = dev_stage_open,
		.file_write = dev_file_write,
		.file_read = dev_file_read,
		.file_truncate = dev_file_truncate,
		.file_close = dev_file_close,
		.stage_done = dev_stage_done,
		.stage_discard = dev_stage_discard,
		.commit = dev_commit,
		.confirm = dev_confirm,
		.rollback = dev_rollback,
		.trial_start = dev_trial_start,
	};
	f->cfg.transport = &f->t;
	f->cfg.storage = &f->s;
	f->cfg.crypto = ota_crypto_libcrypto();
	configure(f, API, TOKEN);
	if (ota_updater_new(&f->u, &f->cfg) != OTA_OK) {
		dev_free(&f->dev);
		free(f);
		return -1;
	}
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	ota_updater_free(f->u);
	net_free(&f->net);
	dev_free(&f->dev);
	free(f);
	return 0;
}

/* Every call leaves the module closed and no staged file open. */
static void
assert_idle(const struct fixture *f)
{
	assert_false(f->dev.open);
	assert_int_equal(f->dev.files_open, 0);
}

static enum ota_status
update_with(struct fixture *f, struct ota_updater *u, int64_t now,
    struct ota_report *rep)
{
	enum ota_status st;

	st = ota_update(u, MODULE, false, now, rep, f->err, sizeof(f->err));
	assert_idle(f);
	if (st != OTA_OK) {
		assert_true(f->err[0] != '\0');
		assert_null(strstr(f->err, TOKEN));
	}
	return st;
}

static enum ota_status
update(struct fixture *f, int64_t now, struct ota_report *rep)
{
	return update_with(f, f->u, now, rep);
}

/* The slot holds exactly the release's files, byte for byte. */
static void
assert_slot(const struct tree *t, const struct rfile *files, size_t n)
{
	const struct sfile *s;
	size_t i;

	assert_int_equal(t->n, n);
	for (i = 0; i < n; i++) {
		/* In the slot without the "main/" of the feed. */
		s = must(tree_find((struct tree *)t, files[i].path +
		    strlen("main/")), files[i].path);
		assert_true(s->done);
		assert_int_equal(s->len, files[i].len);
		assert_memory_equal(s->data, files[i].data, s->len);
	}
}

static const struct req *
req_at(const struct fixture *f, size_t i)
{
	assert_true(i < f->net.nreqs);
	return &f->net.reqs[i];
}

/* How many requests went to url. */
static size_t
reqs_to(const struct fixture *f, const char *url)
{
	size_t i, n = 0;

	for (i = 0; i < f->net.nreqs; i++)
		if (strcmp(f->net.reqs[i].url, url) == 0)
			n++;
	return n;
}

/* The first request to url, which must have been made. */
static const struct req *
req_to(const struct fixture *f, const char *url)
{
	size_t i;

	for (i = 0; i < f->net.nreqs; i++)
		if (strcmp(f->net.reqs[i].url, url) == 0)
			return &f->net.reqs[i];
	fail_msg("no request to %s", url);
	abort();			/* not reached: fail_msg jumps out */
}

/* The event POSTed last, which must exist and be the last request. */
static const char *
last_event(const struct fixture *f, const char *url)
{
	const struct req *r = req_at(f, f->net.nreqs - 1);

	assert_string_equal(r->url, url);
	assert_non_null(r->post_json);
	return r->post_json;
}

static void
install_v1(struct fixture *f)
{
	struct ota_report rep;

	publish(f, "v1.0.0", "\"e1\"", v1, 2);
	assert_int_equal(update(f, NOW, &rep), OTA_OK);
	assert_int_equal(rep.outcome, OTA_INSTALLED);
}

/* v1.0.0 installed and confirmed, v1.1.0 installed on trial. */
static void
install_v1_then_v2(struct fixture *f)
{
	struct ota_report rep;

	install_v1(f);
	assert_int_equal(ota_confirm(f->u, MODULE, f->err, sizeof(f->err)),
	    OTA_OK);
	assert_idle(f);
	assert_false(f->dev.state.trial);
	publish(f, "v1.1.0", "\"e2\"", v2, 2);
	assert_int_equal(update(f, NOW + 100, &rep), OTA_OK);
	assert_int_equal(rep.outcome, OTA_INSTALLED);
	assert_string_equal(rep.installed, "v1.0.0");
	assert_slot(&f->dev.current, v2, 2);
	assert_slot(&f->dev.previous, v1, 2);
	assert_string_equal(f->dev.state.current, "v1.1.0");
	assert_string_equal(f->dev.state.previous, "v1.0.0");
	assert_true(f->dev.state.trial);
}

/* ---- the cases ---- */

/* 1. A fresh device installs two files, one in a subfolder. */
static void
fresh_install(void **state)
{
	struct fixture *f = *state;
	struct ota_report rep;
	const struct req *r;
	char url[512];
	size_t i;

	publish(f, "v1.0.0", "\"e1\"", v1, 2);
	assert_int_equal(update(f, NOW, &rep), OTA_OK);
	assert_int_equal(rep.outcome, OTA_INSTALLED);
	assert_string_equal(rep.installed, "");
	assert_string_equal(rep.offered, "v1.0.0");
	assert_int_equal(rep.files, 2);
	assert_int_equal(rep.bytes, sizeof(v1_app) + sizeof(v1_util));
	assert_slot(&f->dev.current, v1, 2);
	assert_int_equal(f->dev.previous.n, 0);
	assert_int_equal(f->dev.staging.n, 0);
	assert_int_equal(f->dev.commits, 1);
	assert_string_equal(f->dev.state.current, "v1.0.0");
	assert_string_equal(f->dev.state.previous, "");
	assert_true(f->dev.state.trial);
	assert_int_equal(f->dev.state.trial_deadline, 0);
	assert_string_equal(f->dev.state.etag, "\"e1\"");
	assert_string_equal(f->dev.state.last_error, "");
	assert_string_equal(f->dev.state.rejected, "");

	/* The requests, in order: nothing more, nothing conditional. */
	assert_int_equal(f->net.nreqs, 6);
	assert_string_equal(req_at(f, 0)->url, LATEST);
	assert_string_equal(req_at(f, 1)->url,
	    API "/contents/main?ref=refs/tags/v1.0.0");
	assert_string_equal(req_at(f, 2)->url,
	    API "/contents/main/lib?ref=refs/tags/v1.0.0");
	raw_url(url, sizeof(url), "v1.0.0", "main/app.py");
	assert_string_equal(req_at(f, 3)->url, url);
	assert_int_equal(req_at(f, 3)->max_body, sizeof(v1_app));
	raw_url(url, sizeof(url), "v1.0.0", "main/lib/util.py");
	assert_string_equal(req_at(f, 4)->url, url);
	assert_int_equal(req_at(f, 4)->max_body, sizeof(v1_util));
	for (i = 0; i < 5; i++) {
		r = req_at(f, i);
		assert_null(r->if_none_match);
		assert_int_equal(r->resume_from, 0);
		assert_null(r->post_json);
	}
	/* Our server is told (device_id and a token are configured). */
	assert_non_null(strstr(last_event(f, EVENTS),
	    "\"event\":\"success\""));
	assert_non_null(strstr(last_event(f, EVENTS),
	    "\"to_version\":\"v1.0.0\""));
	assert_non_null(strstr(last_event(f, EVENTS), "\"module\":\"app\""));
}

/* 2. The next check is one conditional request, answered 304. */
static void
conditional_check(void **state)
{
	struct fixture *f = *state;
	struct ota_report rep;

	install_v1(f);
	reqs_clear(&f->net);
	assert_int_equal(update(f, NOW + 60, &rep), OTA_OK);
	assert_int_equal(rep.outcome, OTA_CURRENT);
	assert_string_equal(rep.installed, "v1.0.0");
	assert_int_equal(rep.files, 0);
	assert_int_equal(f->net.nreqs, 1);
	assert_string_equal(req_at(f, 0)->url, LATEST);
	assert_non_null(req_at(f, 0)->if_none_match);
	assert_string_equal(req_at(f, 0)->if_none_match, "\"e1\"");
	assert_int_equal(f->dev.commits, 1);
	assert_slot(&f->dev.current, v1, 2);
}

/* 3. One wrong byte: nothing installed, that file gone from staging. */
static void
wrong_byte(void **state)
{
	struct fixture *f = *state;
	struct ota_report rep;
	struct route *r;
	char url[512];
	const struct sfile *s;

	publish(f, "v1.0.0", "\"e1\"", v1, 2);
	raw_url(url, sizeof(url), "v1.0.0", "main/lib/util.py");
	r = must(route_find(&f->net, url), url);
	r->body[150] ^= 0x01;
	assert_int_equal(update(f, NOW, &rep), OTA_E_CHANGED);
	assert_non_null(strstr(f->err, "main/lib/util.py"));
	assert_int_equal(f->dev.commits, 0);
	assert_int_equal(f->dev.current.n, 0);
	assert_string_equal(f->dev.state.current, "");
	assert_false(f->dev.state.trial);
	assert_int_equal(f->dev.discards, 1);
	assert_null(tree_find(&f->dev.staging, "lib/util.py"));
	/* The good file stays, verified, for the next run. */
	s = must(tree_find(&f->dev.staging, "app.py"), "app.py");
	assert_true(s->done);
	assert_string_equal(f->dev.state.etag, "");
	assert_true(f->dev.state.last_error[0] != '\0');
	assert_non_null(strstr(last_event(f, EVENTS),
	    "\"event\":\"failure\""));

	/* Repaired: only the discarded file is fetched again. */
	r->body[150] ^= 0x01;
	reqs_clear(&f->net);
	assert_int_equal(update(f, NOW + 60, &rep), OTA_OK);
	assert_int_equal(rep.outcome, OTA_INSTALLED);
	assert_int_equal(rep.files, 1);
	assert_int_equal(reqs_to(f, url), 1);
	raw_url(url, sizeof(url), "v1.0.0", "main/app.py");
	assert_int_equal(reqs_to(f, url), 0);
	assert_slot(&f->dev.current, v1, 2);
	assert_string_equal(f->dev.state.last_error, "");
}

static void
assert_nothing_installed(const struct fixture *f)
{
	assert_int_equal(f->dev.commits, 0);
	assert_int_equal(f->dev.current.n, 0);
	assert_string_equal(f->dev.state.current, "");
	/* Not a release: no listing, no download. */
	assert_int_equal(reqs_to(f, LATEST), 1);
	assert_int_equal(f->net.nreqs, 2);
	assert_non_null(strstr(last_event(f, EVENTS),
	    "\"event\":\"failure\""));
}

/* 4. A portal's page, no release, a refused token. */
static void
feed_refusals(void **state)
{
	struct fixture *f = *state;
	struct ota_report rep;

	latest_answers(f, 200, "<html><body>Sign in to the Wi-Fi</body>"
	    "</html>");
	assert_int_equal(update(f, NOW, &rep), OTA_E_PROTOCOL);
	assert_nothing_installed(f);
	reqs_clear(&f->net);
	latest_answers(f, 404, "{\"message\":\"Not Found\"}");
	assert_int_equal(update(f, NOW, &rep), OTA_E_NOTFOUND);
	assert_nothing_installed(f);
	reqs_clear(&f->net);
	/* GitHub's 404 object with a 200 is no release either. */
	latest_answers(f, 200, "{\"message\":\"Not Found\"}");
	assert_int_equal(update(f, NOW, &rep), OTA_E_NOTFOUND);
	assert_nothing_installed(f);
	reqs_clear(&f->net);
	latest_answers(f, 401, "{\"message\":\"Bad credentials\"}");
	assert_int_equal(update(f, NOW, &rep), OTA_E_AUTH);
	assert_nothing_installed(f);
	reqs_clear(&f->net);
	/* A 403 that is not a rate limit is a refusal, not a back-off. */
	latest_answers(f, 403, "{\"message\":\"Forbidden\"}");
	assert_int_equal(update(f, NOW, &rep), OTA_E_AUTH);
	assert_nothing_installed(f);
	assert_int_equal(f->dev.state.backoff_until, 0);
}

/* 4. GitHub's rate limit: back off until its reset, asking nothing. */
static void
rate_limited(void **state)
{
	struct fixture *f = *state;
	struct ota_report rep;
	struct route *r;

	r = latest_answers(f, 403, "{\"message\":\"API rate limit "
	    "exceeded\"}");
	r->ratelimit_remaining = 0;
	r->ratelimit_reset = NOW + 600;
	assert_int_equal(update(f, NOW, &rep), OTA_E_BUSY);
	assert_int_equal(f->dev.state.backoff_until, NOW + 600);
	assert_int_equal(f->dev.commits, 0);
	assert_int_equal(reqs_to(f, LATEST), 1);

	/* Backing off: not one request, not even an event. */
	reqs_clear(&f->net);
	assert_int_equal(update(f, NOW + 10, &rep), OTA_E_BUSY);
	assert_int_equal(f->net.nreqs, 0);
	assert_int_equal(f->dev.state.backoff_until, NOW + 600);

	/* At the reset the feed is asked again, and the back-off ends. */
	publish(f, "v1.0.0", "\"e1\"", v1, 2);
	assert_int_equal(update(f, NOW + 600, &rep), OTA_OK);
	assert_int_equal(rep.outcome, OTA_INSTALLED);
	assert_int_equal(f->dev.state.backoff_until, 0);
	assert_slot(&f->dev.current, v1, 2);
}

/* 5. A transfer cut after 100 bytes resumes at byte 100. */
static void
resume(void **state)
{
	struct fixture *f = *state;
	struct ota_report rep;
	const struct sfile *s;
	char app[512], util[512];

	publish(f, "v1.0.0", "\"e1\"", v1, 2);
	raw_url(app, sizeof(app), "v1.0.0", "main/app.py");
	raw_url(util, sizeof(util), "v1.0.0", "main/lib/util.py");
	f->net.cut_url = xdup(app);
	f->net.cut_after = 100;
	assert_int_equal(update(f, NOW, &rep), OTA_E_PROTOCOL);
	assert_int_equal(f->dev.commits, 0);
	assert_int_equal(f->dev.current.n, 0);
	assert_string_equal(f->dev.state.current, "");
	assert_string_equal(f->dev.state.staged, "v1.0.0");
	s = must(tree_find(&f->dev.staging, "app.py"), "app.py");
	assert_false(s->done);
	assert_int_equal(s->len, 100);
	assert_memory_equal(s->data, v1_app, 100);
	/* The first file failed: the second was not asked for. */
	assert_int_equal(reqs_to(f, util), 0);

	reqs_clear(&f->net);
	assert_int_equal(update(f, NOW + 60, &rep), OTA_OK);
	assert_int_equal(rep.outcome, OTA_INSTALLED);
	assert_int_equal(reqs_to(f, app), 1);
	assert_int_equal(req_to(f, app)->resume_from, 100);
	assert_int_equal(req_to(f, util)->resume_from, 0);
	assert_slot(&f->dev.current, v1, 2);
	assert_string_equal(f->dev.state.current, "v1.0.0");
}

/*
 * 5. A server that ignores Range sends the whole file with a 200: the
 * partial file (more than one re-hash chunk of it) starts over.
 */
static void
resume_range_ignored(void **state)
{
	struct fixture *f = *state;
	struct ota_report rep;
	const struct sfile *s;
	char app[512];

	publish(f, "v1.0.0", "\"e1\"", v1, 2);
	raw_url(app, sizeof(app), "v1.0.0", "main/app.py");
	f->net.cut_url = xdup(app);
	f->net.cut_after = 4500;
	assert_int_equal(update(f, NOW, &rep), OTA_E_PROTOCOL);
	s = must(tree_find(&f->dev.staging, "app.py"), "app.py");
	assert_int_equal(s->len, 4500);
	f->net.ignore_range = true;
	reqs_clear(&f->net);
	assert_int_equal(update(f, NOW + 60, &rep), OTA_OK);
	assert_int_equal(rep.outcome, OTA_INSTALLED);
	assert_int_equal(req_to(f, app)->resume_from, 4500);
	assert_slot(&f->dev.current, v1, 2);
}

/* 6. Confirm, a newer release, then an operator's rollback. */
static void
rollback_rejects(void **state)
{
	struct fixture *f = *state;
	struct ota_report rep;
	const char *ev;

	install_v1_then_v2(f);
	reqs_clear(&f->net);
	assert_int_equal(ota_rollback(f->u, MODULE, f->err, sizeof(f->err)),
	    OTA_OK);
	assert_idle(f);
	assert_int_equal(f->dev.rollbacks, 1);
	assert_slot(&f->dev.current, v1, 2);
	assert_string_equal(f->dev.state.current, "v1.0.0");
	assert_string_equal(f->dev.state.previous, "");
	assert_false(f->dev.state.trial);
	assert_string_equal(f->dev.state.rejected, "v1.1.0");
	assert_int_equal(f->net.nreqs, 1);
	ev = last_event(f, EVENTS);
	assert_non_null(strstr(ev, "\"event\":\"rollback\""));
	assert_non_null(strstr(ev, "\"from_version\":\"v1.1.0\""));
	assert_non_null(strstr(ev, "\"to_version\":\"v1.0.0\""));

	/* The feed still offers v1.1.0: it is not downloaded again. */
	reqs_clear(&f->net);
	assert_int_equal(update(f, NOW + 200, &rep), OTA_OK);
	assert_int_equal(rep.outcome, OTA_REJECTED);
	assert_string_equal(rep.offered, "v1.1.0");
	assert_int_equal(f->net.nreqs, 1);
	assert_string_equal(req_at(f, 0)->url, LATEST);
	assert_int_equal(f->dev.commits, 2);
	assert_slot(&f->dev.current, v1, 2);

	/* Nor on the check after that (the feed has not changed). */
	reqs_clear(&f->net);
	assert_int_equal(update(f, NOW + 300, &rep), OTA_OK);
	assert_int_equal(rep.outcome, OTA_REJECTED);
	assert_int_equal(f->net.nreqs, 1);
	assert_int_equal(f->dev.commits, 2);

	/* A newer release is installed. */
	publish(f, "v1.1.1", "\"e3\"", v1, 2);
	assert_int_equal(update(f, NOW + 400, &rep), OTA_OK);
	assert_int_equal(rep.outcome, OTA_INSTALLED);
	assert_string_equal(f->dev.state.current, "v1.1.1");
}

/* 6. With retry_rejected, the version rolled back from comes back. */
static void
retry_rejected(void **state)
{
	struct fixture *f = *state;
	struct ota_updater *again;
	struct ota_config cfg;
	struct ota_report rep;

	install_v1_then_v2(f);
	assert_int_equal(ota_rollback(f->u, MODULE, f->err, sizeof(f->err)),
	    OTA_OK);
	assert_int_equal(update(f, NOW + 200, &rep), OTA_OK);
	assert_int_equal(rep.outcome, OTA_REJECTED);

	cfg = f->cfg;
	cfg.retry_rejected = true;
	assert_int_equal(ota_updater_new(&again, &cfg), OTA_OK);
	reqs_clear(&f->net);
	assert_int_equal(update_with(f, again, NOW + 300, &rep), OTA_OK);
	ota_updater_free(again);
	assert_int_equal(rep.outcome, OTA_INSTALLED);
	assert_string_equal(f->dev.state.current, "v1.1.0");
	assert_slot(&f->dev.current, v2, 2);
	assert_true(f->dev.state.trial);
}

/*
 * The feed goes back to an older release: the newer one stays, and the
 * next check (the feed unchanged) still says so.
 */
static void
kept_newer(void **state)
{
	struct fixture *f = *state;
	struct ota_report rep;

	install_v1_then_v2(f);
	assert_int_equal(ota_confirm(f->u, MODULE, f->err, sizeof(f->err)),
	    OTA_OK);
	publish(f, "v1.0.0", "\"e4\"", v1, 2);
	assert_int_equal(update(f, NOW + 200, &rep), OTA_OK);
	assert_int_equal(rep.outcome, OTA_KEPT_NEWER);
	assert_string_equal(rep.offered, "v1.0.0");
	reqs_clear(&f->net);
	assert_int_equal(update(f, NOW + 300, &rep), OTA_OK);
	assert_int_equal(rep.outcome, OTA_KEPT_NEWER);
	assert_string_equal(rep.offered, "v1.0.0");
	assert_int_equal(f->net.nreqs, 1);
	assert_int_equal(f->dev.commits, 2);
	assert_slot(&f->dev.current, v2, 2);
}

/*
 * A power cut between the last verified byte and the switch: the next
 * start switches, without the network, and that start is the trial's
 * first.
 */
static void
ready_switches_at_start(void **state)
{
	struct fixture *f = *state;
	struct ota_report rep;
	bool rolled;

	publish(f, "v1.0.0", "\"e1\"", v1, 2);
	f->dev.fail_commit = true;
	assert_int_equal(update(f, NOW, &rep), OTA_E_IO);
	assert_int_equal(f->dev.commits, 0);
	assert_string_equal(f->dev.state.ready, "v1.0.0");
	reqs_clear(&f->net);
	assert_int_equal(ota_started(f->u, MODULE, 3, NOW + 10, &rolled,
	    f->err, sizeof(f->err)), OTA_OK);
	assert_idle(f);
	assert_false(rolled);
	assert_int_equal(f->net.nreqs, 0);
	assert_int_equal(f->dev.commits, 1);
	assert_slot(&f->dev.current, v1, 2);
	assert_string_equal(f->dev.state.current, "v1.0.0");
	assert_string_equal(f->dev.state.ready, "");
	assert_true(f->dev.state.trial);
	assert_int_equal(f->dev.state.trial_starts, 1);
}

/*
 * The switch at a start fails too: the start says so, but is not stuck
 * failing at every boot, and the next update switches (the files are
 * staged, nothing is downloaded again).
 */
static void
ready_switch_fails_at_start(void **state)
{
	struct fixture *f = *state;
	struct ota_report rep;
	bool rolled;

	publish(f, "v1.0.0", "\"e1\"", v1, 2);
	f->dev.fail_commit = true;
	assert_int_equal(update(f, NOW, &rep), OTA_E_IO);
	f->dev.fail_commit = true;
	assert_int_equal(ota_started(f->u, MODULE, 3, NOW + 10, &rolled,
	    f->err, sizeof(f->err)), OTA_E_IO);
	assert_non_null(strstr(f->err, "power cut"));
	assert_idle(f);
	assert_string_equal(f->dev.state.ready, "");
	assert_int_equal(ota_started(f->u, MODULE, 3, NOW + 20, &rolled,
	    f->err, sizeof(f->err)), OTA_OK);
	assert_int_equal(f->dev.commits, 0);
	reqs_clear(&f->net);
	assert_int_equal(update(f, NOW + 30, &rep), OTA_OK);
	assert_int_equal(rep.outcome, OTA_INSTALLED);
	assert_int_equal(rep.bytes, 0);
	assert_slot(&f->dev.current, v1, 2);
}

/* 7. Started twice without a confirm, with max_starts 1: rolled back. */
static void
started_rolls_back(void **state)
{
	struct fixture *f = *state;
	bool rolled;
	const char *ev;

	install_v1_then_v2(f);
	reqs_clear(&f->net);
	assert_int_equal(ota_started(f->u, MODULE, 1, NOW + 200, &rolled,
	    f->err, sizeof(f->err)), OTA_OK);
	assert_idle(f);
	assert_false(rolled);
	assert_int_equal(f->dev.state.trial_starts, 1);
	assert_string_equal(f->dev.state.current, "v1.1.0");
	assert_int_equal(f->net.nreqs, 0);
	assert_int_equal(ota_started(f->u, MODULE, 1, NOW + 300, &rolled,
	    f->err, sizeof(f->err)), OTA_OK);
	assert_idle(f);
	assert_true(rolled);
	assert_int_equal(f->dev.rollbacks, 1);
	assert_slot(&f->dev.current, v1, 2);
	assert_string_equal(f->dev.state.current, "v1.0.0");
	assert_string_equal(f->dev.state.rejected, "v1.1.0");
	assert_false(f->dev.state.trial);
	ev = last_event(f, EVENTS);
	assert_non_null(strstr(ev, "\"event\":\"rollback\""));
	assert_non_null(strstr(ev, "\"reason\":"));
	/* Outside a trial a start changes nothing. */
	assert_int_equal(ota_started(f->u, MODULE, 1, NOW + 400, &rolled,
	    f->err, sizeof(f->err)), OTA_OK);
	assert_false(rolled);
	assert_int_equal(f->dev.rollbacks, 1);
}

/* 7. trial_seconds: a start at the deadline rolls back. */
static void
trial_deadline(void **state)
{
	struct fixture *f = *state;
	struct ota_report rep;
	bool rolled;

	ota_updater_free(f->u);
	f->cfg.trial_seconds = 3600;
	assert_int_equal(ota_updater_new(&f->u, &f->cfg), OTA_OK);
	install_v1(f);
	assert_int_equal(f->dev.state.trial_deadline, NOW + 3600);
	assert_int_equal(ota_confirm(f->u, MODULE, f->err, sizeof(f->err)),
	    OTA_OK);
	publish(f, "v1.1.0", "\"e2\"", v2, 2);
	assert_int_equal(update(f, NOW + 100, &rep), OTA_OK);
	assert_int_equal(f->dev.state.trial_deadline, NOW + 100 + 3600);
	assert_int_equal(ota_started(f->u, MODULE, 10, NOW + 3699, &rolled,
	    f->err, sizeof(f->err)), OTA_OK);
	assert_false(rolled);
	assert_int_equal(ota_started(f->u, MODULE, 10, NOW + 3700, &rolled,
	    f->err, sizeof(f->err)), OTA_OK);
	assert_true(rolled);
	assert_slot(&f->dev.current, v1, 2);
}

/*
 * A device that is not restarted: its next update ends a trial past the
 * deadline (rolled back, reported), then does not take the rejected
 * version again.
 */
static void
trial_deadline_at_update(void **state)
{
	struct fixture *f = *state;
	struct ota_report rep;
	const char *ev;

	ota_updater_free(f->u);
	f->cfg.trial_seconds = 3600;
	assert_int_equal(ota_updater_new(&f->u, &f->cfg), OTA_OK);
	install_v1(f);
	assert_int_equal(ota_confirm(f->u, MODULE, f->err, sizeof(f->err)),
	    OTA_OK);
	publish(f, "v1.1.0", "\"e2\"", v2, 2);
	assert_int_equal(update(f, NOW + 100, &rep), OTA_OK);
	assert_int_equal(rep.outcome, OTA_INSTALLED);
	/* Before the deadline: on trial, nothing to do. */
	assert_int_equal(update(f, NOW + 3699, &rep), OTA_OK);
	assert_true(f->dev.state.trial);
	assert_string_equal(f->dev.state.current, "v1.1.0");
	reqs_clear(&f->net);
	assert_int_equal(update(f, NOW + 3700, &rep), OTA_OK);
	assert_false(f->dev.state.trial);
	assert_slot(&f->dev.current, v1, 2);
	assert_string_equal(f->dev.state.rejected, "v1.1.0");
	assert_int_equal(rep.outcome, OTA_REJECTED);
	assert_string_equal(rep.installed, "v1.0.0");
	/* Reported first, then the feed was asked (it still says v1.1.0). */
	assert_int_equal(reqs_to(f, EVENTS), 1);
	ev = req_to(f, EVENTS)->post_json;
	assert_non_null(ev);
	assert_non_null(strstr(ev, "\"event\":\"rollback\""));
	assert_non_null(strstr(ev, "trial deadline"));
	assert_int_equal(reqs_to(f, LATEST), 1);
}

static int64_t
fake_clock(void *ctx)
{
	return ((struct fake_net *)ctx)->clock;
}

/*
 * With a clock, total_timeout_s bounds the whole update, not each
 * request: each request gets what is left, and once it is spent the
 * update stops with OTA_E_TIMEOUT, keeping what arrived for the next run.
 */
static void
overall_deadline(void **state)
{
	struct fixture *f = *state;
	struct ota_report rep;
	size_t i;

	ota_updater_free(f->u);
	f->cfg.total_timeout_s = 100;
	f->cfg.clock_s = fake_clock;
	f->cfg.clock_ctx = &f->net;
	assert_int_equal(ota_updater_new(&f->u, &f->cfg), OTA_OK);
	f->net.clock = 5000;
	f->net.tick = 40;		/* latest, two listings: 120 s */
	publish(f, "v1.0.0", "\"e1\"", v1, 2);
	assert_int_equal(update(f, NOW, &rep), OTA_E_TIMEOUT);
	assert_non_null(strstr(f->err, "within 100 s"));
	assert_int_equal(f->dev.commits, 0);
	for (i = 0; i < f->net.nreqs; i++)
		assert_true(req_at(f, i)->total_timeout_s <= 100);
	assert_int_equal(req_at(f, 1)->total_timeout_s, 60);
	assert_int_equal(req_at(f, 2)->total_timeout_s, 20);
	/* The next run, on a fast network, finishes. */
	f->net.tick = 1;
	assert_int_equal(update(f, NOW + 1, &rep), OTA_OK);
	assert_int_equal(rep.outcome, OTA_INSTALLED);
	assert_slot(&f->dev.current, v1, 2);
}

/*
 * A release changed under the same tag while a download was half done:
 * what was staged for the old file list is dropped (a file done before,
 * and one the new list no longer has), and main gets exactly the new one.
 */
static void
retagged_release(void **state)
{
	static struct rfile retag[] = {
		{ "main/app.py", v2_app, sizeof(v2_app) },
		{ "main/new.py", v1_util, sizeof(v1_util) },
	};
	struct fixture *f = *state;
	const struct sfile *s;
	struct ota_report rep;
	char util[512];

	publish(f, "v1.0.0", "\"e1\"", v1, 2);
	raw_url(util, sizeof(util), "v1.0.0", "main/lib/util.py");
	f->net.cut_url = xdup(util);
	f->net.cut_after = 100;
	assert_int_equal(update(f, NOW, &rep), OTA_E_PROTOCOL);
	s = must(tree_find(&f->dev.staging, "app.py"), "app.py");
	assert_true(s->done);
	assert_int_equal(f->dev.fresh_stages, 1);
	/* The same run again resumes: same list, same staging. */
	f->net.cut_url = xdup(util);
	f->net.cut_after = 200;
	assert_int_equal(update(f, NOW + 10, &rep), OTA_E_PROTOCOL);
	assert_int_equal(f->dev.fresh_stages, 1);

	net_free(&f->net);
	publish(f, "v1.0.0", "\"e2\"", retag, 2);
	assert_int_equal(update(f, NOW + 20, &rep), OTA_OK);
	assert_int_equal(rep.outcome, OTA_INSTALLED);
	assert_int_equal(f->dev.fresh_stages, 2);
	assert_slot(&f->dev.current, retag, 2);
}

/*
 * A first version has nothing to roll back to: when its trial runs out
 * it is kept (confirmed), and the module goes on updating.
 */
static void
first_trial_ends(void **state)
{
	struct fixture *f = *state;
	struct ota_report rep;
	bool rolled;

	ota_updater_free(f->u);
	f->cfg.trial_seconds = 600;
	assert_int_equal(ota_updater_new(&f->u, &f->cfg), OTA_OK);
	install_v1(f);
	assert_true(f->dev.state.trial);
	assert_int_equal(ota_started(f->u, MODULE, 1, NOW + 1, &rolled,
	    f->err, sizeof(f->err)), OTA_OK);
	assert_int_equal(ota_started(f->u, MODULE, 1, NOW + 2, &rolled,
	    f->err, sizeof(f->err)), OTA_OK);
	assert_false(rolled);
	assert_false(f->dev.state.trial);
	assert_string_equal(f->dev.state.current, "v1.0.0");
	/* The next release installs. */
	publish(f, "v1.1.0", "\"e2\"", v2, 2);
	assert_int_equal(update(f, NOW + 700, &rep), OTA_OK);
	assert_int_equal(rep.outcome, OTA_INSTALLED);
	/* And a first version past its deadline, seen by an update. */
	f->dev.state.previous_slot[0] = '\0';
	f->dev.state.previous[0] = '\0';
	publish(f, "v1.2.0", "\"e3\"", v1, 2);
	assert_int_equal(update(f, NOW + 700 + 601, &rep), OTA_OK);
	assert_false(rep.rolled_back);
	assert_int_equal(rep.outcome, OTA_INSTALLED);
	assert_string_equal(f->dev.state.current, "v1.2.0");
}

/*
 * A release too big for the configured cap, or for the free space left
 * (counting what is staged already), is refused before a byte of it is
 * downloaded; with room, it installs.
 */
static void
no_room(void **state)
{
	struct fixture *f = *state;
	struct ota_report rep;
	char app[512], util[512];

	publish(f, "v1.0.0", "\"e1\"", v1, 2);
	raw_url(app, sizeof(app), "v1.0.0", "main/app.py");
	raw_url(util, sizeof(util), "v1.0.0", "main/lib/util.py");
	f->dev.space = sizeof(v1_app) + sizeof(v1_util) - 1;
	assert_int_equal(update(f, NOW, &rep), OTA_E_TOO_LARGE);
	assert_non_null(strstr(f->err, "5300 more bytes, only 5299 are free"));
	assert_int_equal(reqs_to(f, app) + reqs_to(f, util), 0);
	assert_int_equal(f->dev.commits, 0);

	ota_updater_free(f->u);
	f->dev.space = UINT64_MAX;
	f->cfg.max_release_bytes = sizeof(v1_app);
	assert_int_equal(ota_updater_new(&f->u, &f->cfg), OTA_OK);
	assert_int_equal(update(f, NOW + 1, &rep), OTA_E_TOO_LARGE);
	assert_non_null(strstr(f->err, "larger than the 5000 bytes allowed"));
	assert_int_equal(reqs_to(f, app) + reqs_to(f, util), 0);

	ota_updater_free(f->u);
	f->cfg.max_release_bytes = 0;
	assert_int_equal(ota_updater_new(&f->u, &f->cfg), OTA_OK);
	f->dev.space = sizeof(v1_app) + sizeof(v1_util);
	assert_int_equal(update(f, NOW + 2, &rep), OTA_OK);
	assert_int_equal(rep.outcome, OTA_INSTALLED);
}

/*
 * A server's rate-limit hint is followed for at most a day: a reset years
 * away (a typo, or a hostile feed) must not silence a device for good.
 */
static void
backoff_capped(void **state)
{
	struct fixture *f = *state;
	struct ota_report rep;
	struct route *r;

	r = latest_answers(f, 429, "{}");
	r->ratelimit_remaining = 0;
	r->ratelimit_reset = INT64_MAX;
	assert_int_equal(update(f, NOW, &rep), OTA_E_BUSY);
	assert_int_equal(f->dev.state.backoff_until, NOW + 86400);
	assert_non_null(strstr(f->err, "next attempt in 86400s"));
}

/*
 * A 304 answers "as last time": to a request that named no last time it
 * means nothing, and is the server's fault, not "up to date".
 */
static void
unconditional_304(void **state)
{
	struct fixture *f = *state;
	struct ota_report rep;

	latest_answers(f, 304, "");
	assert_int_equal(update(f, NOW, &rep), OTA_E_PROTOCOL);
	assert_non_null(strstr(f->err, "304 to an unconditional request"));
	assert_null(req_at(f, 0)->if_none_match);
	assert_int_equal(f->dev.commits, 0);
}

/* A trial longer than ten years is a mistake, refused at set-up. */
static void
trial_bound(void **state)
{
	struct fixture *f = *state;
	struct ota_updater *u;

	f->cfg.trial_seconds = 10LL * 365 * 86400 + 1;
	assert_int_equal(ota_updater_new(&u, &f->cfg), OTA_E_INVALID);
	assert_null(u);
	f->cfg.trial_seconds = 10LL * 365 * 86400;
	assert_int_equal(ota_updater_new(&u, &f->cfg), OTA_OK);
	ota_updater_free(u);
}

/* Nothing moves while a version is on trial; rollback needs a target. */
static void
trial_blocks(void **state)
{
	struct fixture *f = *state;
	struct ota_report rep;

	install_v1(f);
	/* A fresh install has nothing to roll back to. */
	assert_int_equal(ota_rollback(f->u, MODULE, f->err, sizeof(f->err)),
	    OTA_E_NOTFOUND);
	assert_idle(f);
	assert_string_equal(f->dev.state.current, "v1.0.0");
	publish(f, "v1.1.0", "\"e2\"", v2, 2);
	reqs_clear(&f->net);
	assert_int_equal(update(f, NOW + 100, &rep), OTA_E_FORBIDDEN);
	assert_int_equal(reqs_to(f, LATEST), 1);
	assert_int_equal(reqs_to(f,
	    API "/contents/main?ref=refs/tags/v1.1.0"), 0);
	assert_int_equal(f->dev.commits, 1);
	assert_slot(&f->dev.current, v1, 2);
}

/* A check only asks releases/latest, and changes nothing. */
static void
check_only(void **state)
{
	struct fixture *f = *state;
	struct ota_state before;
	struct ota_report rep;

	publish(f, "v1.0.0", "\"e1\"", v1, 2);
	before = f->dev.state;
	assert_int_equal(ota_update(f->u, MODULE, true, NOW, &rep, f->err,
	    sizeof(f->err)), OTA_OK);
	assert_idle(f);
	assert_int_equal(rep.outcome, OTA_AVAILABLE);
	assert_string_equal(rep.offered, "v1.0.0");
	assert_int_equal(f->net.nreqs, 1);
	assert_memory_equal(&before, &f->dev.state, sizeof(before));
}

/* A mistyped module (no config) opens nothing and asks nothing. */
static void
no_config(void **state)
{
	struct fixture *f = *state;
	struct ota_report rep;

	free(f->dev.config);
	f->dev.config = NULL;
	/* Invalid (exit 1), not "no release" (exit 3): the device's own
	 * mistake must not look like the server's answer. */
	assert_int_equal(update(f, NOW, &rep), OTA_E_INVALID);
	assert_int_equal(f->dev.opens, 0);
	assert_int_equal(f->net.nreqs, 0);
	assert_int_equal(ota_confirm(f->u, MODULE, f->err, sizeof(f->err)),
	    OTA_E_INVALID);
	assert_int_equal(f->dev.opens, 0);
	assert_int_equal(ota_confirm(f->u, "../x", f->err, sizeof(f->err)),
	    OTA_E_INVALID);
	assert_int_equal(update_with(f, f->u, NOW, &rep), OTA_E_INVALID);
	assert_int_equal(ota_update(f->u, MODULE, false, NOW, &rep, NULL, 0),
	    OTA_E_INVALID);
}

/* 8. Every ops struct is required. */
static void
config_needs_every_op(void **state)
{
	struct fixture *f = *state;
	struct ota_updater *u;
	struct ota_config cfg;

	cfg = f->cfg;
	cfg.transport = NULL;
	u = f->u;			/* *out is cleared on failure */
	assert_int_equal(ota_updater_new(&u, &cfg), OTA_E_INVALID);
	assert_null(u);
	cfg = f->cfg;
	cfg.storage = NULL;
	assert_int_equal(ota_updater_new(&u, &cfg), OTA_E_INVALID);
	assert_null(u);
	cfg = f->cfg;
	cfg.crypto = NULL;
	assert_int_equal(ota_updater_new(&u, &cfg), OTA_E_INVALID);
	assert_null(u);
	cfg = f->cfg;
	cfg.trial_seconds = -1;
	assert_int_equal(ota_updater_new(&u, &cfg), OTA_E_INVALID);
	assert_null(u);
	/* A user agent is a header value: no control bytes. */
	cfg = f->cfg;
	cfg.user_agent = "ota\r\nX-Evil: 1";
	assert_int_equal(ota_updater_new(&u, &cfg), OTA_E_INVALID);
	assert_null(u);
	cfg = f->cfg;
	assert_int_equal(ota_updater_new(&u, &cfg), OTA_OK);
	assert_non_null(u);
	ota_updater_free(u);
}

/*
 * 9. The engine hands every request the token with token_host, the
 * feed's host; the transport keeps it from the download host.
 */
static void
token_host(void **state)
{
	struct fixture *f = *state;
	const struct req *r;
	size_t i;

	install_v1(f);
	assert_int_equal(f->net.nreqs, 6);
	for (i = 0; i < f->net.nreqs; i++) {
		r = req_at(f, i);
		assert_non_null(r->token_host);
		assert_string_equal(r->token_host, HOST);
		if (strncmp(r->url, "http://" HOST "/", strlen(HOST) + 8) ==
		    0) {
			assert_non_null(r->sent_token);
			assert_string_equal(r->sent_token, TOKEN);
		} else {
			assert_true(strncmp(r->url, RAW "/", strlen(RAW) + 1) ==
			    0);
			assert_null(r->sent_token);
		}
	}
}

/* 9. A port is part of the token's host. */
static void
token_host_port(void **state)
{
	struct fixture *f = *state;
	size_t i;

	configure(f, "http://" HOST ":8080/repos/me/app", TOKEN);
	install_v1(f);
	assert_int_equal(f->net.nreqs, 6);
	for (i = 0; i < f->net.nreqs; i++)
		assert_string_equal(req_at(f, i)->token_host, HOST ":8080");
	assert_non_null(strstr(last_event(f,
	    "http://" HOST ":8080/api/v1/devices/dev1/events"),
	    "\"event\":\"success\""));
}

/* 9. Without github_pat no token goes anywhere, and nothing is reported. */
static void
no_token(void **state)
{
	struct fixture *f = *state;
	size_t i;

	configure(f, API, NULL);
	install_v1(f);
	assert_int_equal(f->net.nreqs, 5);
	for (i = 0; i < f->net.nreqs; i++) {
		assert_null(req_at(f, i)->token);
		assert_null(req_at(f, i)->post_json);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
		T(fresh_install),
		T(conditional_check),
		T(wrong_byte),
		T(feed_refusals),
		T(rate_limited),
		T(resume),
		T(resume_range_ignored),
		T(retagged_release),
		T(first_trial_ends),
		T(no_room),
		T(backoff_capped),
		T(unconditional_304),
		T(trial_bound),
		T(rollback_rejects),
		T(retry_rejected),
		T(kept_newer),
		T(ready_switches_at_start),
		T(ready_switch_fails_at_start),
		T(started_rolls_back),
		T(trial_deadline),
		T(trial_deadline_at_update),
		T(overall_deadline),
		T(trial_blocks),
		T(check_only),
		T(no_config),
		T(config_needs_every_op),
		T(token_host),
		T(token_host_port),
		T(no_token),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
