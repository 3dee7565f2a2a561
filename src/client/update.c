/*
 * The engine of libota (include/ota/updater.h). Portable C: its only I/O
 * is through the transport, storage and crypto ops, so it builds for a
 * microcontroller (make check cross-compiles it).
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ota/updater.h>

#include "client/feed.h"
#include "client/policy.h"
#include "client/verify.h"
#include "common/buf.h"
#include "common/manifest.h"
#include "common/sign.h"
#include "common/str.h"
#include "common/url.h"
#include "common/banned.h"

#ifndef OTA_VERSION_STRING
#define OTA_VERSION_STRING "0"
#endif
#define UPDATE_USER_AGENT "ota/" OTA_VERSION_STRING
#define UPDATE_READ_CHUNK 4096		/* re-hashing a resumed file */
#define UPDATE_MAX_DEPTH 32		/* directory levels */
#define UPDATE_DEFAULT_BACKOFF 300	/* seconds, rate limited, no hint */
#define UPDATE_CONNECT_TIMEOUT 15
#define UPDATE_READ_TIMEOUT 30
#define UPDATE_TOTAL_TIMEOUT 3600	/* one update, all requests */
#define UPDATE_MAX_REDIRECTS 5
#define UPDATE_MAX_UA 128
#define UPDATE_MAX_BACKOFF 86400	/* a rate limit waits at most a day */
#define UPDATE_MAX_TRIAL (10LL * 365 * 86400)
#define UPDATE_MAX_RELEASE (1024ULL * 1024 * 1024)	/* default cap */
#define WHAT_LATEST "the latest release"

struct ota_updater {
	const struct ota_transport *t;
	const struct ota_storage *s;
	const struct ota_crypto *c;
	enum ota_downgrade downgrade;
	int64_t trial_seconds;
	bool retry_rejected;
	uint64_t max_release_bytes;
	unsigned connect_timeout_s, read_timeout_s, total_timeout_s;
	int64_t (*clock_s)(void *);
	void *clock_ctx;
	char user_agent[UPDATE_MAX_UA];
};

/* A file of the release, as the listings gave it. */
struct ufile {
	char *path;			/* "main/lib/x.py" */
	char *rel;			/* "lib/x.py": its place in main */
	char *url;
	char sha[41];
	uint64_t size;
};

/* One call of the API on one module. */
struct run {
	struct ota_updater *u;
	const char *module;
	int64_t now;
	bool check_only;
	struct feed_config cfg;
	char token_host[FEED_MAX_URL];
	void *mod;			/* the storage's module handle */
	struct ota_state state;
	struct ufile *files;
	size_t nfiles;
	size_t ndirs;			/* folders listed */
	struct manifest m;
	bool have_manifest;
	char etag[OTA_MAX_ETAG + 1];	/* of the latest's answer */
	bool fresh;			/* a 200 for the latest was read */
	int64_t deadline;		/* on u's clock; 0: none */
	char *err;
	size_t errsz;
	char ebuf[OTA_MAX_ERROR];	/* err when the caller gave none */
};

const char *
ota_outcome_str(enum ota_outcome o)
{
	switch (o) {
	case OTA_CURRENT:	return "up to date";
	case OTA_AVAILABLE:	return "update available";
	case OTA_KEPT_NEWER:	return "keeping the newer installed version";
	case OTA_REJECTED:	return "the latest was rolled back before; "
				    "waiting for a newer one";
	case OTA_INSTALLED:	return "installed, on trial";
	}
	return "?";
}

enum ota_status
ota_updater_new(struct ota_updater **out, const struct ota_config *cfg)
{
	struct ota_updater *u;

	*out = NULL;
	if (cfg->transport == NULL || cfg->storage == NULL ||
	    cfg->crypto == NULL || cfg->trial_seconds < 0 ||
	    cfg->trial_seconds > UPDATE_MAX_TRIAL)
		return OTA_E_INVALID;
	if ((u = calloc(1, sizeof(*u))) == NULL)
		return OTA_E_NOMEM;
	u->t = cfg->transport;
	u->s = cfg->storage;
	u->c = cfg->crypto;
	u->downgrade = cfg->downgrade;
	u->trial_seconds = cfg->trial_seconds;
	u->retry_rejected = cfg->retry_rejected;
	u->max_release_bytes = cfg->max_release_bytes ?
	    cfg->max_release_bytes : UPDATE_MAX_RELEASE;
	u->connect_timeout_s = cfg->connect_timeout_s ? cfg->connect_timeout_s :
	    UPDATE_CONNECT_TIMEOUT;
	u->read_timeout_s = cfg->read_timeout_s ? cfg->read_timeout_s :
	    UPDATE_READ_TIMEOUT;
	u->total_timeout_s = cfg->total_timeout_s ? cfg->total_timeout_s :
	    UPDATE_TOTAL_TIMEOUT;
	u->clock_s = cfg->clock_s;
	u->clock_ctx = cfg->clock_ctx;
	if (str_copy(u->user_agent, sizeof(u->user_agent),
	    cfg->user_agent ? cfg->user_agent : UPDATE_USER_AGENT) != OTA_OK ||
	    !str_printable(u->user_agent)) {
		free(u);
		return OTA_E_INVALID;
	}
	*out = u;
	return OTA_OK;
}

void
ota_updater_free(struct ota_updater *u)
{
	free(u);
}

/* host[:port] of an http(s) URL, for the token's one host. */
static void
host_of(const char *url, char *out, size_t outsz)
{
	const char *h = strstr(url, "://");
	size_t n;

	h = h ? h + 3 : url;
	n = strcspn(h, "/?#");
	if (n >= outsz)
		n = outsz - 1;
	memcpy(out, h, n);
	out[n] = '\0';
}

static void
req_init(struct run *r, struct ota_request *q, const char *url,
    uint64_t cap)
{
	memset(q, 0, sizeof(*q));
	q->url = url;
	q->token = r->cfg.token[0] ? r->cfg.token : NULL;
	q->token_host = r->token_host;
	q->max_body = cap;
	q->connect_timeout_s = r->u->connect_timeout_s;
	q->read_timeout_s = r->u->read_timeout_s;
	q->total_timeout_s = r->u->total_timeout_s;
	if (r->deadline != 0) {
		/* What is left of the whole update's time, at least 1 s:
		 * the transport then says "timed out" itself. */
		int64_t left = r->deadline - r->u->clock_s(r->u->clock_ctx);

		if (left < (int64_t)q->total_timeout_s)
			q->total_timeout_s = left < 1 ? 1 : (unsigned)left;
	}
	q->max_redirects = UPDATE_MAX_REDIRECTS;
	q->user_agent = r->u->user_agent;
}

static enum ota_status
to_buf(void *ctx, uint64_t off, const void *p, size_t n)
{
	(void)off;
	return buf_add(ctx, p, n);
}

/*
 * What an HTTP status means to the updater; sets a back-off for a rate
 * limit (micropython-ota-updater.md §8 item 6).
 */
static enum ota_status
status_verdict(struct run *r, const char *what,
    const struct ota_response *resp)
{
	int64_t wait;

	if (resp->status >= 200 && resp->status < 300)
		return OTA_OK;
	/* Only the latest release's absence is "no release": a listing or
	 * a file of a release that exists must be there. */
	if (resp->status == 404)
		return str_fail(r->err, r->errsz, strcmp(what, WHAT_LATEST) ==
		    0 ? OTA_E_NOTFOUND : OTA_E_PROTOCOL, "%s: not found%s",
		    what, r->cfg.token[0] ? "" : " (a private repository "
		    "needs gitrepo.github_pat)");
	if (resp->status == 401)
		return str_fail(r->err, r->errsz, OTA_E_AUTH, "%s: the token "
		    "was refused (401)", what);
	if (resp->status == 429 || (resp->status == 403 &&
	    (resp->ratelimit_remaining == 0 || resp->retry_after >= 0))) {
		/* The server's hint, within a day: a typo or a hostile
		 * server must not silence a device for years. */
		wait = resp->retry_after >= 0 ? resp->retry_after :
		    resp->ratelimit_reset > r->now ? resp->ratelimit_reset -
		    r->now : UPDATE_DEFAULT_BACKOFF;
		if (wait > UPDATE_MAX_BACKOFF)
			wait = UPDATE_MAX_BACKOFF;
		r->state.backoff_until = r->now + wait;
		(void)!r->u->s->state_set(r->mod, &r->state);
		return str_fail(r->err, r->errsz, OTA_E_BUSY, "%s: rate "
		    "limited (%d); next attempt in %lds", what, resp->status,
		    (long)wait);
	}
	if (resp->status == 403)
		return str_fail(r->err, r->errsz, OTA_E_AUTH, "%s: forbidden "
		    "(403)", what);
	return str_fail(r->err, r->errsz, OTA_E_PROTOCOL, "%s: the server "
	    "answered %d", what, resp->status);
}

/* GETs url into b (at most cap bytes); inm may be NULL. */
static enum ota_status
get_json(struct run *r, const char *what, const char *url, const char *inm,
    size_t cap, struct buf *b, struct ota_response *resp)
{
	const struct ota_transport *t = r->u->t;
	struct ota_request q;
	enum ota_status st;

	req_init(r, &q, url, cap);
	q.if_none_match = inm;
	buf_init(b, cap);
	st = t->get(t->ctx, &q, to_buf, b, resp, r->err, r->errsz);
	if (st != OTA_OK)
		return st;
	if (resp->status == 304)
		return inm != NULL ? OTA_OK : str_fail(r->err, r->errsz,
		    OTA_E_PROTOCOL, "%s: 304 to an unconditional request",
		    what);
	return status_verdict(r, what, resp);
}

/* The module's config, as the MicroPython updater's seed wrote it. */
static enum ota_status
read_config(struct run *r)
{
	enum ota_status st;
	size_t len;
	char *text;

	if ((text = malloc(FEED_MAX_CONFIG)) == NULL)
		return OTA_E_NOMEM;
	st = r->u->s->read_config(r->u->s->ctx, r->module, text,
	    FEED_MAX_CONFIG, &len, r->err, r->errsz);
	/* A module without a config is a local mistake, not "no release". */
	if (st == OTA_E_NOTFOUND)
		st = OTA_E_INVALID;
	if (st == OTA_OK)
		st = feed_config_parse(text, len, &r->cfg, r->err, r->errsz);
	free(text);
	if (st == OTA_OK)
		host_of(r->cfg.api, r->token_host, sizeof(r->token_host));
	return st;
}

/* ASCII case-insensitive equality: GitHub's owner/name are. */
static bool
same_name(const char *a, const char *b, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		char x = a[i], y = b[i];

		if (x >= 'A' && x <= 'Z')
			x = (char)(x - 'A' + 'a');
		if (y >= 'A' && y <= 'Z')
			y = (char)(y - 'A' + 'a');
		if (x != y)
			return false;
	}
	return true;
}

/* True if the feed's API base .../repos/OWNER/NAME names repo. */
static bool
repo_is(const char *api, const char *repo)
{
	const char *p = strstr(api, "/repos/");
	size_t n = strlen(repo);

	if (p == NULL)
		return false;
	p += strlen("/repos/");
	return strlen(p) == n && same_name(p, repo, n);
}

/* The signed manifest of our feed, verified against the configured key. */
static enum ota_status
get_manifest(struct run *r, const struct feed_release *rel)
{
	unsigned char key[SIGN_PUBLIC_LEN];
	char d1[STR_U64_MAX], d2[STR_U64_MAX];
	struct ota_response resp;
	struct buf b;
	enum ota_status st;

	if (rel->manifest_url[0] == '\0')
		return str_fail(r->err, r->errsz, OTA_E_SIGNATURE, "a public "
		    "key is configured but the feed offers no signed manifest "
		    "for %s", rel->tag);
	if (sign_public_parse(r->cfg.public_key, key) != OTA_OK)
		return str_fail(r->err, r->errsz, OTA_E_INVALID, "ota.public_"
		    "key in the config is not an Ed25519 public key");
	st = get_json(r, "the manifest", rel->manifest_url, NULL,
	    MANIFEST_MAX_BYTES, &b, &resp);
	if (st == OTA_OK) {
		st = manifest_verify(b.data ? b.data : "", b.len, r->u->c,
		    &key, 1, r->now, &r->m, r->err, r->errsz);
		if (st != OTA_OK)
			manifest_release(&r->m);
		/*
		 * Whatever is wrong with a manifest (not JSON, not
		 * canonical, too large), it did not verify: the sender must
		 * not choose which failure the device reports.
		 */
		if (st == OTA_E_INVALID || st == OTA_E_TOO_LARGE)
			st = OTA_E_SIGNATURE;
	}
	buf_release(&b);
	if (st != OTA_OK)
		return st;
	r->have_manifest = true;
	/* One key may sign several repositories: this one's, or nothing. */
	if (!repo_is(r->cfg.api, r->m.repo))
		return str_fail(r->err, r->errsz, OTA_E_CHANGED, "the manifest "
		    "is for repository %.100s, not the one configured (%.200s)",
		    r->m.repo, r->cfg.api);
	if (strcmp(r->m.tag, rel->tag) != 0)
		return str_fail(r->err, r->errsz, OTA_E_CHANGED, "the manifest "
		    "is for %.100s, the feed's latest is %.100s", r->m.tag,
		    rel->tag);
	if (policy_metadata(r->state.metadata_floor, r->m.metadata_version) !=
	    OTA_OK)
		return str_fail(r->err, r->errsz, OTA_E_CHANGED, "the manifest's "
		    "metadata version %s is older than %s, accepted before: a "
		    "replay", str_u64(r->m.metadata_version, d1),
		    str_u64(r->state.metadata_floor, d2));
	return OTA_OK;
}

/* Files and folders count alike: the storage holds a tree of them. */
static enum ota_status
count_entry(struct run *r)
{
	if (r->nfiles + r->ndirs >= OTA_MAX_FILES)
		return str_fail(r->err, r->errsz, OTA_E_TOO_LARGE, "the release "
		    "has more than %d files and folders", OTA_MAX_FILES);
	return OTA_OK;
}

static enum ota_status
add_file(struct run *r, const struct feed_entry *e)
{
	struct ufile *f, *grown;
	enum ota_status st;

	if ((st = count_entry(r)) != OTA_OK)
		return st;
	if ((grown = realloc(r->files, (r->nfiles + 1) * sizeof(*grown))) ==
	    NULL)
		return OTA_E_NOMEM;
	r->files = grown;
	f = &r->files[r->nfiles];
	memset(f, 0, sizeof(*f));
	f->path = str_dup(e->path);
	f->rel = str_dup(e->rel);
	f->url = str_dup(e->download_url);
	memcpy(f->sha, e->sha, sizeof(f->sha));
	f->size = e->size;
	r->nfiles++;
	if (f->path == NULL || f->rel == NULL || f->url == NULL)
		return OTA_E_NOMEM;
	return OTA_OK;
}

/* What one listing gave: files go to the run, folders are kept here. */
struct listing {
	struct run *r;
	char **subs;			/* nsubs paths */
	size_t nsubs;
};

static enum ota_status
on_entry(void *ctx, const struct feed_entry *e)
{
	struct listing *l = ctx;
	enum ota_status st;
	char **grown;

	if (e->type == FEED_FILE)
		return add_file(l->r, e);
	if ((st = count_entry(l->r)) != OTA_OK)
		return st;
	if ((grown = realloc(l->subs, (l->nsubs + 1) * sizeof(*grown))) ==
	    NULL)
		return OTA_E_NOMEM;
	l->subs = grown;
	if ((l->subs[l->nsubs] = str_dup(e->path)) == NULL)
		return OTA_E_NOMEM;
	l->nsubs++;
	l->r->ndirs++;
	return OTA_OK;
}

/* The whole update's time ran out (with a clock; see ota_config). */
static enum ota_status
past_deadline(struct run *r)
{
	if (r->deadline != 0 && r->u->clock_s(r->u->clock_ctx) >= r->deadline)
		return str_fail(r->err, r->errsz, OTA_E_TIMEOUT, "the update "
		    "did not finish within %u s; what arrived is kept for the "
		    "next run", r->u->total_timeout_s);
	return OTA_OK;
}

/* Lists dir of tag and, depth first, every directory below it. */
static enum ota_status
list_dir(struct run *r, const char *tag, const char *dir, int depth)
{
	struct listing l = { r, NULL, 0 };
	struct ota_response *resp;
	struct buf url, body;
	enum ota_status st;
	char *u;
	size_t i, len;

	if (depth > UPDATE_MAX_DEPTH)
		return str_fail(r->err, r->errsz, OTA_E_TOO_LARGE, "the release "
		    "nests deeper than %d folders", UPDATE_MAX_DEPTH);
	if ((st = past_deadline(r)) != OTA_OK)
		return st;
	buf_init(&url, FEED_MAX_URL);
	if ((st = buf_addf(&url, "%s/contents/", r->cfg.api)) != OTA_OK ||
	    (st = url_encode(&url, dir, true)) != OTA_OK ||
	    (st = buf_adds(&url, "?ref=refs/tags/")) != OTA_OK ||
	    (st = url_encode(&url, tag, false)) != OTA_OK ||
	    (st = buf_add(&url, "", 1)) != OTA_OK)
		return str_fail(r->err, r->errsz, st, "listing URL of '%.200s' "
		    "too long", dir);
	u = buf_take(&url, &len);
	/* On the heap: this recurses, and a device's stack is small. */
	if ((resp = malloc(sizeof(*resp))) == NULL) {
		free(u);
		return OTA_E_NOMEM;
	}
	st = get_json(r, "the release listing", u, NULL, FEED_MAX_JSON, &body,
	    resp);
	free(resp);
	free(u);
	if (st == OTA_OK)
		st = feed_listing_walk(body.data ? body.data : "", body.len,
		    dir, FEED_MAX_ENTRIES, on_entry, &l, r->err, r->errsz);
	buf_release(&body);
	for (i = 0; st == OTA_OK && i < l.nsubs; i++)
		st = list_dir(r, tag, l.subs[i], depth + 1);
	for (i = 0; i < l.nsubs; i++)
		free(l.subs[i]);
	free(l.subs);
	return st;
}

/* The manifest's files below main/, to compare with the listings. */
static enum ota_status
check_against_manifest(struct run *r)
{
	struct verify_file *vf;
	struct manifest sub;
	enum ota_status st;
	size_t i, j = 0;

	if ((vf = calloc(r->nfiles + 1, sizeof(*vf))) == NULL)
		return OTA_E_NOMEM;
	for (i = 0; i < r->nfiles; i++) {
		vf[i].path = r->files[i].path;
		vf[i].size = r->files[i].size;
	}
	sub = r->m;
	sub.files = calloc(r->m.nfiles + 1, sizeof(*sub.files));
	if (sub.files == NULL) {
		free(vf);
		return OTA_E_NOMEM;
	}
	for (i = 0; i < r->m.nfiles; i++)
		if (str_has_prefix(r->m.files[i].path, FEED_MAIN_DIR "/"))
			sub.files[j++] = r->m.files[i];
	sub.nfiles = j;
	st = verify_release(&sub, vf, r->nfiles, r->err, r->errsz);
	free(sub.files);
	free(vf);
	return st;
}

struct sink {
	struct run *r;
	void *fh;			/* the storage's staged file */
	uint64_t have;			/* bytes in the file now */
	uint64_t got;			/* bytes this run downloaded */
	struct verify v;
	struct ufile *f;
	const char *sha256;
	enum ota_status st;
};

static enum ota_status
to_file(void *ctx, uint64_t off, const void *p, size_t n)
{
	struct sink *s = ctx;
	const struct ota_storage *so = s->r->u->s;
	enum ota_status st;

	if (off != s->have) {
		/* The server restarted from 0 (a 200 to our Range). */
		if (off != 0 || so->file_truncate(s->r->mod, s->fh, 0) != OTA_OK)
			return OTA_E_PROTOCOL;
		verify_abort(&s->v);
		if ((st = verify_begin(&s->v, s->r->u->c, s->f->size,
		    s->f->sha, s->sha256)) != OTA_OK)
			return st;
		s->have = 0;
	}
	if ((st = verify_update(&s->v, p, n)) != OTA_OK ||
	    (st = so->file_write(s->r->mod, s->fh, s->have, p, n)) != OTA_OK)
		return st;
	s->have += n;
	s->got += n;
	return OTA_OK;
}

/* Feeds the bytes a resumed file already has through the verifier. */
static enum ota_status
rehash(struct sink *s)
{
	const struct ota_storage *so = s->r->u->s;
	unsigned char chunk[UPDATE_READ_CHUNK];
	uint64_t off = 0;
	enum ota_status st;
	size_t n;

	while (off < s->have) {
		size_t want = s->have - off < sizeof(chunk) ?
		    (size_t)(s->have - off) : sizeof(chunk);

		if ((st = so->file_read(s->r->mod, s->fh, off, chunk, want,
		    &n)) != OTA_OK)
			return st;
		if (n == 0)
			return OTA_E_IO;
		if ((st = verify_update(&s->v, chunk, n)) != OTA_OK)
			return st;
		off += n;
	}
	return OTA_OK;
}

static enum ota_status
fetch_file(struct run *r, struct ufile *f, struct ota_report *rep)
{
	const struct ota_transport *t = r->u->t;
	const struct ota_storage *so = r->u->s;
	const struct manifest_file *mf = NULL;
	struct ota_response resp;
	struct ota_request q;
	enum ota_file_state state;
	char why[256];
	char dec[STR_U64_MAX];
	struct sink s;
	enum ota_status st = OTA_OK, rc;
	uint64_t size;

	if ((st = so->stage_query(r->mod, f->rel, &state, &size)) != OTA_OK)
		return str_fail(r->err, r->errsz, st, "staging '%.200s'",
		    f->rel);
	if (state == OTA_FILE_DONE)
		return OTA_OK;		/* verified before it was marked */
	if (r->have_manifest && (mf = manifest_find(&r->m, f->path)) == NULL)
		return str_fail(r->err, r->errsz, OTA_E_CHANGED, "'%.200s' is "
		    "not in the signed manifest", f->path);
	memset(&s, 0, sizeof(s));
	s.r = r;
	s.f = f;
	s.sha256 = mf ? mf->sha256 : NULL;
	if ((st = so->stage_open(r->mod, f->rel, &s.fh, &s.have)) != OTA_OK)
		return str_fail(r->err, r->errsz, st, "cannot stage "
		    "'%.200s'", f->rel);
	if (s.have > f->size && so->file_truncate(r->mod, s.fh, 0) == OTA_OK)
		s.have = 0;
	if ((st = verify_begin(&s.v, r->u->c, f->size, f->sha, s.sha256)) !=
	    OTA_OK || (st = rehash(&s)) != OTA_OK) {
		(void)!so->file_close(r->mod, s.fh, false);
		verify_abort(&s.v);
		return str_fail(r->err, r->errsz, st, "cannot verify "
		    "'%.200s'", f->rel);
	}
	if (s.have < f->size) {
		req_init(r, &q, f->url, f->size);
		q.resume_from = s.have;
		st = t->get(t->ctx, &q, to_file, &s, &resp, r->err, r->errsz);
		if (st == OTA_OK)
			st = status_verdict(r, f->path, &resp);
		else if (st == OTA_E_TOO_LARGE)
			/* More bytes than the listing said: the server's
			 * fault, as too few would be. */
			st = str_fail(r->err, r->errsz, OTA_E_PROTOCOL, "'%.200s'"
			    " is larger than the %s bytes listed", f->path,
			    str_u64(f->size, dec));
		rep->files++;
		rep->bytes += s.got;
	}
	if ((rc = so->file_close(r->mod, s.fh, st == OTA_OK)) != OTA_OK &&
	    st == OTA_OK)
		st = rc;
	if (st != OTA_OK) {
		/* A partial file stays (.part) for the next run to resume. */
		verify_abort(&s.v);
		return st;
	}
	if ((st = verify_end(&s.v, why, sizeof(why))) != OTA_OK) {
		(void)!so->stage_discard(r->mod, f->rel);
		return str_fail(r->err, r->errsz, st, "'%.200s' failed "
		    "verification (%s) and was discarded", f->path, why);
	}
	return so->stage_done(r->mod, f->rel);
}

static int
by_path(const void *a, const void *b)
{
	return strcmp(((const struct ufile *)a)->path,
	    ((const struct ufile *)b)->path);
}

/*
 * The staging key: the hex SHA-256 of the release's file list (paths,
 * sizes and every digest a file is checked against), in path order.
 */
static enum ota_status
stage_key(struct run *r, char out[65])
{
	const struct ota_crypto *c = r->u->c;
	const struct manifest_file *mf;
	unsigned char md[OTA_SHA256_LEN];
	char d[STR_U64_MAX];
	enum ota_status st;
	void *h;
	size_t i;

	qsort(r->files, r->nfiles, sizeof(*r->files), by_path);
	if ((st = c->hash_begin(c->ctx, OTA_HASH_SHA256, &h)) != OTA_OK)
		return st;
	for (i = 0; st == OTA_OK && i < r->nfiles; i++) {
		const struct ufile *f = &r->files[i];

		const char *size = str_u64(f->size, d);

		mf = r->have_manifest ? manifest_find(&r->m, f->path) : NULL;
		if ((st = c->hash_update(c->ctx, h, f->path,
		    strlen(f->path) + 1)) == OTA_OK &&
		    (st = c->hash_update(c->ctx, h, size, strlen(size) + 1)) ==
		    OTA_OK &&
		    (st = c->hash_update(c->ctx, h, f->sha, sizeof(f->sha))) ==
		    OTA_OK && mf != NULL)
			st = c->hash_update(c->ctx, h, mf->sha256,
			    sizeof(mf->sha256));
	}
	if (st != OTA_OK) {
		c->hash_abort(c->ctx, h);
		return st;
	}
	if ((st = c->hash_end(c->ctx, h, md)) != OTA_OK)
		return st;
	str_hex(out, md, sizeof(md));
	return OTA_OK;
}

/* Switches to the version staged whole (state.ready), on trial. */
static enum ota_status
commit_ready(struct run *r)
{
	const struct ota_storage *so = r->u->s;
	enum ota_status st;

	if ((st = so->commit(r->mod, r->state.ready, r->u->trial_seconds ?
	    r->now + r->u->trial_seconds : 0, r->err, r->errsz)) != OTA_OK) {
		if (st != OTA_E_IO && st != OTA_E_NOMEM) {
			/* Refused, not failed: staging is not trusted
			 * again, and the next run starts afresh. */
			so->state_get(r->mod, &r->state);
			r->state.ready[0] = '\0';
			r->state.stage_key[0] = '\0';
			(void)!so->state_set(r->mod, &r->state);
		}
		return st;
	}
	so->state_get(r->mod, &r->state);
	r->state.ready[0] = '\0';
	r->state.stage_key[0] = '\0';
	/* Left set, it names what runs: harmless, cleared next time. */
	(void)!so->state_set(r->mod, &r->state);
	return OTA_OK;
}

/*
 * The release fits: under the configured cap as a whole, and what is
 * still to come under the free space of the staging area (checked before
 * the first byte, not found out at the last).
 */
static enum ota_status
room_for(struct run *r)
{
	const struct ota_storage *so = r->u->s;
	char d1[STR_U64_MAX], d2[STR_U64_MAX];
	enum ota_file_state fs;
	uint64_t total = 0, need = 0, have, space;
	enum ota_status st;
	size_t i;

	for (i = 0; i < r->nfiles; i++) {
		if (r->files[i].size > r->u->max_release_bytes - total)
			return str_fail(r->err, r->errsz, OTA_E_TOO_LARGE, "the "
			    "release is larger than the %s bytes allowed",
			    str_u64(r->u->max_release_bytes, d1));
		total += r->files[i].size;
		if ((st = so->stage_query(r->mod, r->files[i].rel, &fs,
		    &have)) != OTA_OK)
			return st;
		if (fs != OTA_FILE_DONE && have < r->files[i].size)
			need += r->files[i].size - have;
	}
	if (so->free_space == NULL)
		return OTA_OK;
	if ((st = so->free_space(r->mod, &space)) != OTA_OK)
		return str_fail(r->err, r->errsz, st, "cannot tell the free "
		    "space for staging");
	if (need > space)
		return str_fail(r->err, r->errsz, OTA_E_TOO_LARGE, "the release "
		    "needs %s more bytes, only %s are free", str_u64(need, d1),
		    str_u64(space, d2));
	return OTA_OK;
}

static enum ota_status
install(struct run *r, const struct feed_release *rel,
    struct ota_report *rep)
{
	char key[sizeof(r->state.stage_key)];
	enum ota_status st;
	size_t i;

	if (r->cfg.public_key[0] != '\0' &&
	    (st = get_manifest(r, rel)) != OTA_OK)
		return st;
	/* A listing too large or malformed is the server's fault. */
	if ((st = list_dir(r, rel->tag, FEED_MAIN_DIR, 1)) == OTA_E_INVALID ||
	    st == OTA_E_TOO_LARGE)
		st = OTA_E_PROTOCOL;
	if (st != OTA_OK)
		return st;
	if (r->nfiles == 0)
		return str_fail(r->err, r->errsz, OTA_E_PROTOCOL, "release %.100s "
		    "has no files: refusing to install an empty release",
		    rel->tag);
	if (r->have_manifest && (st = check_against_manifest(r)) != OTA_OK)
		return st;
	/*
	 * Staging holds what a run verified against this very file list;
	 * a release changed under the same tag starts afresh, so no file
	 * of another build (or one the list dropped) reaches main.
	 */
	if ((st = stage_key(r, key)) != OTA_OK)
		return st;
	if ((st = r->u->s->stage_begin(r->mod, rel->tag,
	    strcmp(r->state.stage_key, key) != 0, r->err, r->errsz)) !=
	    OTA_OK)
		return st;
	if (strcmp(r->state.stage_key, key) != 0) {
		memcpy(r->state.stage_key, key, sizeof(r->state.stage_key));
		if ((st = r->u->s->state_set(r->mod, &r->state)) != OTA_OK)
			return st;
	}
	if ((st = room_for(r)) != OTA_OK)
		return st;
	for (i = 0; i < r->nfiles && st == OTA_OK; i++)
		if ((st = past_deadline(r)) == OTA_OK)
			st = fetch_file(r, &r->files[i], rep);
	if (st != OTA_OK)
		return st;
	/* Whole and verified: a power cut from here on is finished at the
	 * next start without the network (ota_started). */
	(void)!str_copy(r->state.ready, sizeof(r->state.ready), rel->tag);
	if ((st = r->u->s->state_set(r->mod, &r->state)) != OTA_OK)
		return str_fail(r->err, r->errsz, st, "cannot record that "
		    "%.100s is staged", rel->tag);
	return commit_ready(r);
}

/*
 * Reads r's config, then opens its module in the storage and reads its
 * record. The config first: a mistyped module name creates nothing.
 */
static enum ota_status
module_open(struct run *r)
{
	enum ota_status st;

	if ((st = read_config(r)) != OTA_OK)
		return st;
	if ((st = r->u->s->open(r->u->s->ctx, r->module, &r->mod, r->err,
	    r->errsz)) != OTA_OK) {
		r->mod = NULL;
		return st;
	}
	r->u->s->state_get(r->mod, &r->state);
	return OTA_OK;
}

static void
run_close(struct run *r)
{
	size_t i;

	if (r->mod != NULL)
		r->u->s->close(r->u->s->ctx, r->mod);
	for (i = 0; i < r->nfiles; i++) {
		free(r->files[i].path);
		free(r->files[i].rel);
		free(r->files[i].url);
	}
	free(r->files);
	if (r->have_manifest)
		manifest_release(&r->m);
	free(r);
}

/* True if tag is the version rolled back from before. */
static bool
is_rejected(const struct run *r, const char *tag)
{
	enum policy_verdict v;

	return r->state.rejected[0] != '\0' &&
	    policy_decide(r->state.rejected, tag, OTA_NO_DOWNGRADE, &v) ==
	    OTA_OK && v == POLICY_CURRENT;
}

static enum ota_status end_trial(struct run *r, const char *why,
    bool *rolled_back);

static enum ota_status
run_update(struct run *r, struct ota_report *rep)
{
	struct ota_response resp;
	struct feed_release rel;
	enum policy_verdict v;
	struct buf b;
	char url[FEED_MAX_URL + 32];
	enum ota_status st;

	/* A trial past its deadline ends here too, not only at a start:
	 * a device may run for weeks without one. */
	if (r->state.trial && r->state.trial_deadline != 0 &&
	    r->now >= r->state.trial_deadline && !r->check_only) {
		if ((st = end_trial(r, "not confirmed before the trial "
		    "deadline", &rep->rolled_back)) != OTA_OK)
			return st;
		if (rep->rolled_back)
			(void)!str_copy(rep->rolled_back_from,
			    sizeof(rep->rolled_back_from), r->state.rejected);
	}
	(void)!str_copy(rep->installed, sizeof(rep->installed),
	    r->state.current);
	if (r->state.backoff_until > r->now)
		return str_fail(r->err, r->errsz, OTA_E_BUSY, "backing off "
		    "for another %lds after a rate limit",
		    (long)(r->state.backoff_until - r->now));
	(void)!str_fmt(url, sizeof(url), "%s/releases/latest", r->cfg.api);
	st = get_json(r, WHAT_LATEST, url,
	    r->state.current[0] && r->state.etag[0] ? r->state.etag : NULL,
	    FEED_MAX_JSON, &b, &resp);
	if (st == OTA_OK && resp.status == 304) {
		buf_release(&b);
		(void)!str_copy(rep->offered, sizeof(rep->offered),
		    r->state.current);
		rep->outcome = OTA_CURRENT;
		return OTA_OK;
	}
	if (st == OTA_OK)
		st = feed_release_parse(b.data ? b.data : "", b.len, &rel,
		    r->err, r->errsz);
	buf_release(&b);
	if (st != OTA_OK)
		return st;
	(void)!str_copy(rep->offered, sizeof(rep->offered), rel.tag);
	(void)!str_copy(r->etag, sizeof(r->etag), resp.etag);
	r->fresh = true;
	if ((st = policy_decide(r->state.current, rel.tag,
	    r->u->downgrade, &v)) != OTA_OK)
		return str_fail(r->err, r->errsz, st, "'%.100s' or the "
		    "installed '%.100s' is not a version", rel.tag,
		    r->state.current);
	if (v == POLICY_CURRENT || v == POLICY_KEEP_NEWER) {
		rep->outcome = v == POLICY_CURRENT ? OTA_CURRENT :
		    OTA_KEPT_NEWER;
		return OTA_OK;
	}
	if (!r->u->retry_rejected && is_rejected(r, rel.tag)) {
		rep->outcome = OTA_REJECTED;
		return OTA_OK;
	}
	if (r->check_only) {
		rep->outcome = OTA_AVAILABLE;
		return OTA_OK;
	}
	/* The rollback target must be a confirmed version: nothing is
	 * downloaded while one is on trial. */
	if (r->state.trial)
		return str_fail(r->err, r->errsz, OTA_E_FORBIDDEN, "%.100s is "
		    "on trial: 'ota confirm' or 'ota rollback' before %.100s "
		    "can be installed", r->state.current, rel.tag);
	if ((st = install(r, &rel, rep)) != OTA_OK)
		return st;
	rep->outcome = OTA_INSTALLED;
	return OTA_OK;
}

static enum ota_status
to_nowhere(void *ctx, uint64_t off, const void *p, size_t n)
{
	(void)ctx;
	(void)off;
	(void)p;
	(void)n;
	return OTA_OK;
}

/* A JSON string value: printable text, quotes and backslashes escaped. */
static enum ota_status
json_str(struct buf *b, const char *key, const char *v, bool comma)
{
	enum ota_status st = buf_addf(b, "%s\"%s\":\"", comma ? "," : "",
	    key);

	for (; st == OTA_OK && *v != '\0'; v++) {
		if (*v == '"' || *v == '\\')
			st = buf_addf(b, "\\%c", *v);
		else if ((unsigned char)*v >= 0x20)
			st = buf_add(b, v, 1);
	}
	return st == OTA_OK ? buf_adds(b, "\"") : st;
}

/*
 * Tells our server what happened (POST /api/v1/devices/{id}/events):
 * event is "success", "failure" or "rollback". Only for a feed that is
 * not GitHub, with a token and a device id. Best effort, with short
 * timeouts: a report never changes the outcome.
 */
static void
report(struct run *r, const char *event, const char *from, const char *to,
    const char *reason)
{
	const struct ota_transport *t = r->u->t;
	struct ota_response resp;
	struct ota_request q;
	char base[FEED_MAX_URL], url[FEED_MAX_URL + 128], *repos;
	char repo[FEED_MAX_URL], ignore[256];
	struct buf b;
	bool ok;

	if (r->cfg.api[0] == '\0' || r->cfg.token[0] == '\0' ||
	    r->cfg.device_id[0] == '\0' ||
	    str_has_prefix(r->cfg.api, "https://api.github.com/") ||
	    (repos = strstr(r->cfg.api, "/repos/")) == NULL)
		return;
	(void)!str_copy(repo, sizeof(repo), repos + strlen("/repos/"));
	(void)!str_copy(base, sizeof(base), r->cfg.api);
	base[repos - r->cfg.api] = '\0';
	if (str_fmt(url, sizeof(url), "%s/api/v1/devices/%s/events", base,
	    r->cfg.device_id) != OTA_OK)
		return;
	buf_init(&b, 4096);
	ok = buf_adds(&b, "{") == OTA_OK &&
	    json_str(&b, "event", event, false) == OTA_OK &&
	    json_str(&b, "repo", repo, true) == OTA_OK &&
	    json_str(&b, "module", r->module, true) == OTA_OK &&
	    json_str(&b, "from_version", from, true) == OTA_OK &&
	    json_str(&b, "to_version", to, true) == OTA_OK &&
	    (reason == NULL || json_str(&b, "reason", reason, true) ==
	    OTA_OK) &&
	    buf_adds(&b, "}") == OTA_OK;
	if (ok) {
		req_init(r, &q, url, 4096);
		q.connect_timeout_s = 5;
		q.read_timeout_s = 5;
		q.total_timeout_s = 10;
		q.max_redirects = 0;
		q.post_json = b.data;
		q.post_len = b.len;
		(void)t->get(t->ctx, &q, to_nowhere, NULL, &resp, ignore,
		    sizeof(ignore));
	}
	buf_release(&b);
}

/* True if module can name a folder: one path component, printable. */
static bool
module_ok(const char *m)
{
	size_t n = strlen(m);

	return n > 0 && n <= OTA_MAX_VERSION && strchr(m, '/') == NULL &&
	    strchr(m, '\\') == NULL && strcmp(m, ".") != 0 &&
	    strcmp(m, "..") != 0 && str_printable(m);
}

/*
 * A run for one API call, on the heap (a device's stack is small).
 * err may be NULL: the run then keeps its own line.
 */
static enum ota_status
run_new(struct run **out, struct ota_updater *u, const char *module,
    int64_t now, char *err, size_t errsz)
{
	struct run *r;

	*out = NULL;
	if (err != NULL && errsz > 0)
		err[0] = '\0';
	if ((r = calloc(1, sizeof(*r))) == NULL)
		return OTA_E_NOMEM;
	r->u = u;
	r->module = module;
	r->now = now;
	r->err = err != NULL && errsz > 0 ? err : r->ebuf;
	r->errsz = err != NULL && errsz > 0 ? errsz : sizeof(r->ebuf);
	if (module == NULL || !module_ok(module)) {
		(void)!str_fail(r->err, r->errsz, OTA_E_INVALID, "'%.100s' "
		    "cannot name a module (one folder name)", module ? module :
		    "(null)");
		free(r);
		return OTA_E_INVALID;
	}
	*out = r;
	return OTA_OK;
}

enum ota_status
ota_update(struct ota_updater *u, const char *module, bool check_only,
    int64_t now, struct ota_report *rep, char *err, size_t errsz)
{
	struct run *r;
	enum ota_status st;

	memset(rep, 0, sizeof(*rep));
	if ((st = run_new(&r, u, module, now, err, errsz)) != OTA_OK)
		return st;
	r->check_only = check_only;
	if (u->clock_s != NULL)
		r->deadline = u->clock_s(u->clock_ctx) +
		    (int64_t)u->total_timeout_s;
	if ((st = module_open(r)) == OTA_OK)
		st = run_update(r, rep);
	/* Not while backing off: the server asked for quiet. */
	if (st != OTA_OK && st != OTA_E_BUSY)
		report(r, "failure", rep->installed, rep->offered, r->err);
	else if (rep->outcome == OTA_INSTALLED)
		report(r, "success", rep->installed, rep->offered, NULL);
	if (r->mod != NULL) {
		/* Remember what happened, for status and the next check. */
		u->s->state_get(r->mod, &r->state);
		if (st == OTA_OK) {
			r->state.last_error[0] = '\0';
			r->state.backoff_until = 0;
			/*
			 * A 304 means "as last time", which is only true of
			 * an answer acted on: after a refusal (rejected,
			 * older) the next answer must be read again.
			 */
			if (r->fresh)
				(void)!str_copy(r->state.etag,
				    sizeof(r->state.etag),
				    rep->outcome == OTA_CURRENT ||
				    rep->outcome == OTA_INSTALLED ? r->etag : "");
			if (r->have_manifest)
				r->state.metadata_floor = r->m.metadata_version;
		} else
			(void)!str_copy(r->state.last_error,
			    sizeof(r->state.last_error), r->err);
		if (!check_only || st != OTA_OK)
			(void)!u->s->state_set(r->mod, &r->state);
	}
	run_close(r);
	return st;
}

enum ota_status
ota_confirm(struct ota_updater *u, const char *module, char *err,
    size_t errsz)
{
	struct run *r;
	enum ota_status st;

	if ((st = run_new(&r, u, module, 0, err, errsz)) != OTA_OK)
		return st;
	if ((st = module_open(r)) == OTA_OK &&
	    (st = u->s->confirm(r->mod)) != OTA_OK)
		st = str_fail(r->err, r->errsz, st, "cannot confirm %s", module);
	run_close(r);
	return st;
}

/*
 * Rolls the open module back, remembers the version it leaves so that
 * it is not offered again, and reports it. A crash between the rollback
 * and the record costs only the memory of the rejection: the next update
 * may install that version once more, on trial again.
 */
static enum ota_status
roll_back(struct run *r, const char *why)
{
	char from[OTA_MAX_VERSION + 1];
	enum ota_status st;

	(void)!str_copy(from, sizeof(from), r->state.current);
	if ((st = r->u->s->rollback(r->mod, r->err, r->errsz)) != OTA_OK)
		return st;
	r->u->s->state_get(r->mod, &r->state);
	(void)!str_copy(r->state.rejected, sizeof(r->state.rejected), from);
	r->state.etag[0] = '\0';
	(void)!r->u->s->state_set(r->mod, &r->state);
	report(r, "rollback", from, r->state.current, why);
	r->err[0] = '\0';
	return OTA_OK;
}

/*
 * A trial ran out unconfirmed: back to the previous version, or, for a
 * first version (nothing to go back to), keep it, since a module that
 * cannot roll back must not stop updating either.
 */
static enum ota_status
end_trial(struct run *r, const char *why, bool *rolled_back)
{
	enum ota_status st;

	*rolled_back = false;
	if (r->state.previous_slot[0] == '\0') {
		if ((st = r->u->s->confirm(r->mod)) == OTA_OK)
			r->u->s->state_get(r->mod, &r->state);
		return st;
	}
	if ((st = roll_back(r, why)) == OTA_OK)
		*rolled_back = true;
	return st;
}

enum ota_status
ota_rollback(struct ota_updater *u, const char *module, char *err,
    size_t errsz)
{
	struct run *r;
	enum ota_status st;

	if ((st = run_new(&r, u, module, 0, err, errsz)) != OTA_OK)
		return st;
	if ((st = module_open(r)) == OTA_OK)
		st = roll_back(r, "rolled back by the operator");
	run_close(r);
	return st;
}

/*
 * At a start: a version that was downloaded and verified whole but not
 * switched to (a power cut in between) is switched to now, without a
 * network request (micropython-ota-updater.md §10 case 17); its trial
 * starts with this start.
 */
static enum ota_status
boot_commit(struct run *r)
{
	const struct ota_storage *so = r->u->s;
	struct ota_state *s = &r->state;
	enum ota_status st;

	if (s->ready[0] == '\0')
		return OTA_OK;
	if (s->trial || strcmp(s->ready, s->staged) != 0 ||
	    strcmp(s->ready, s->current) == 0) {
		/* Switched already, or staging moved on: forget it. */
		s->ready[0] = '\0';
		return so->state_set(r->mod, s);
	}
	if ((st = commit_ready(r)) != OTA_OK) {
		/*
		 * Tried once: a start must not fail at every boot for it.
		 * The files stay staged; the next update switches.
		 */
		so->state_get(r->mod, s);
		s->ready[0] = '\0';
		(void)!so->state_set(r->mod, s);
	}
	return st;
}

enum ota_status
ota_started(struct ota_updater *u, const char *module, unsigned max_starts,
    int64_t now, bool *rolled_back, char *err, size_t errsz)
{
	struct run *r;
	enum ota_status st, boot = OTA_OK;
	char why[200];
	bool must = false;

	*rolled_back = false;
	if ((st = run_new(&r, u, module, now, err, errsz)) != OTA_OK)
		return st;
	if ((st = module_open(r)) != OTA_OK)
		goto out;
	/* A failed switch is said, but the start still counts. */
	if ((boot = boot_commit(r)) != OTA_OK)
		(void)!str_copy(why, sizeof(why), r->err);
	if ((st = u->s->trial_start(r->mod, max_starts, now, &must)) ==
	    OTA_OK && must) {
		u->s->state_get(r->mod, &r->state);
		st = end_trial(r, "not confirmed in time: too many starts or "
		    "past the trial deadline", rolled_back);
	}
	if (st == OTA_OK && boot != OTA_OK)
		st = str_fail(r->err, r->errsz, boot, "the release staged "
		    "before could not be switched to; the next update will: "
		    "%s", why);
out:
	run_close(r);
	return st;
}

enum ota_status
ota_state_get(struct ota_updater *u, const char *module,
    struct ota_state *out, char *err, size_t errsz)
{
	struct run *r;
	enum ota_status st;

	if ((st = run_new(&r, u, module, 0, err, errsz)) != OTA_OK)
		return st;
	if ((st = module_open(r)) == OTA_OK)
		*out = r->state;
	else
		memset(out, 0, sizeof(*out));
	run_close(r);
	return st;
}
