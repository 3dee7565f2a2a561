/* pread/pwrite/ftruncate are POSIX 2008; nothing beyond is used. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client/feed.h"
#include "client/storage.h"
#include "client/update.h"
#include "client/verify.h"
#include "common/buf.h"
#include "common/manifest.h"
#include "common/sign.h"
#include "common/str.h"
#include "common/url.h"
#include "common/banned.h"

#define UPDATE_USER_AGENT "ota/" OTA_VERSION_STRING
#define UPDATE_READ_CHUNK (16 * 1024)

/* A file of the release, as the listings gave it. */
struct ufile {
	char *path;			/* "main/lib/x.py" */
	char *rel;			/* "lib/x.py": its place in main */
	char *url;
	char sha[41];
	uint64_t size;
};

struct run {
	const struct update_opts *o;
	struct feed_config cfg;
	char token_host[FEED_MAX_URL];
	struct storage *st;
	struct storage_state state;
	struct ufile *files;
	size_t nfiles;
	struct manifest m;
	bool have_manifest;
	char etag[STORAGE_MAX_ETAG + 1];
	char *err;
	size_t errsz;
};

const char *
update_outcome_str(enum update_outcome o)
{
	switch (o) {
	case UPDATE_CURRENT:	return "up to date";
	case UPDATE_AVAILABLE:	return "update available";
	case UPDATE_KEPT_NEWER:	return "keeping the newer installed version";
	case UPDATE_INSTALLED:	return "installed, on trial";
	}
	return "?";
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
req_init(struct run *r, struct transport_req *q, const char *url,
    uint64_t cap)
{
	memset(q, 0, sizeof(*q));
	q->url = url;
	q->token = r->cfg.token[0] ? r->cfg.token : NULL;
	q->token_host = r->token_host;
	q->max_body = cap;
	q->connect_timeout_s = UPDATE_CONNECT_TIMEOUT;
	q->read_timeout_s = UPDATE_READ_TIMEOUT;
	q->total_timeout_s = UPDATE_TOTAL_TIMEOUT;
	q->max_redirects = UPDATE_MAX_REDIRECTS;
	q->user_agent = UPDATE_USER_AGENT;
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
    const struct transport_resp *resp)
{
	int64_t until;

	if (resp->status >= 200 && resp->status < 300)
		return OTA_OK;
	if (resp->status == 404)
		return str_fail(r->err, r->errsz, OTA_E_NOTFOUND, "%s: not "
		    "found%s", what, r->cfg.token[0] ? "" : " (a private "
		    "repository needs gitrepo.github_pat)");
	if (resp->status == 401)
		return str_fail(r->err, r->errsz, OTA_E_AUTH, "%s: the token "
		    "was refused (401)", what);
	if (resp->status == 429 || (resp->status == 403 &&
	    (resp->ratelimit_remaining == 0 || resp->retry_after >= 0))) {
		until = resp->retry_after >= 0 ? r->o->now + resp->retry_after :
		    resp->ratelimit_reset > r->o->now ? resp->ratelimit_reset :
		    r->o->now + UPDATE_DEFAULT_BACKOFF;
		r->state.backoff_until = until;
		(void)!storage_state_set(r->st, &r->state);
		return str_fail(r->err, r->errsz, OTA_E_BUSY, "%s: rate "
		    "limited (%d); next attempt in %llds", what, resp->status,
		    (long long)(until - r->o->now));
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
    size_t cap, struct buf *b, struct transport_resp *resp)
{
	struct transport *t = r->o->transport;
	struct transport_req q;
	enum ota_status st;

	req_init(r, &q, url, cap);
	q.if_none_match = inm;
	buf_init(b, cap);
	st = t->get(t->ctx, &q, to_buf, b, resp, r->err, r->errsz);
	if (st != OTA_OK)
		return st;
	if (resp->status == 304)
		return OTA_OK;
	return status_verdict(r, what, resp);
}

static enum ota_status
read_config(struct run *r)
{
	char path[PATH_MAX], chunk[4096];
	struct buf b;
	enum ota_status st;
	ssize_t n;
	int fd;

	if (str_fmt(path, sizeof(path), "%s/config/%s_gitrepo_cfg.json",
	    r->o->root, r->o->module) != OTA_OK)
		return str_fail(r->err, r->errsz, OTA_E_TOO_LARGE, "root "
		    "path too long");
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return str_fail(r->err, r->errsz, ota_status_from_errno(errno),
		    "cannot read '%s': %s", path, strerror(errno));
	buf_init(&b, FEED_MAX_CONFIG);
	st = OTA_OK;
	while (st == OTA_OK && (n = read(fd, chunk, sizeof(chunk))) > 0)
		st = buf_add(&b, chunk, (size_t)n);
	close(fd);
	if (st != OTA_OK) {
		buf_release(&b);
		return str_fail(r->err, r->errsz, st, "'%s' is larger than %d "
		    "bytes", path, FEED_MAX_CONFIG);
	}
	st = feed_config_parse(b.data ? b.data : "", b.len, &r->cfg, r->err,
	    r->errsz);
	buf_release(&b);
	if (st == OTA_OK)
		host_of(r->cfg.api, r->token_host, sizeof(r->token_host));
	return st;
}

/* The signed manifest of our feed, verified against the configured key. */
static enum ota_status
get_manifest(struct run *r, const struct feed_release *rel)
{
	struct transport_resp resp;
	struct sign_key *key = NULL;
	struct buf b;
	enum ota_status st;

	if (rel->manifest_url[0] == '\0')
		return str_fail(r->err, r->errsz, OTA_E_SIGNATURE, "a public "
		    "key is configured but the feed offers no signed manifest "
		    "for %s", rel->tag);
	if (sign_key_from_text(&key, r->cfg.public_key) != OTA_OK)
		return str_fail(r->err, r->errsz, OTA_E_INVALID, "ota.public_"
		    "key in the config is not an Ed25519 public key");
	st = get_json(r, "the manifest", rel->manifest_url, NULL,
	    MANIFEST_MAX_BYTES, &b, &resp);
	if (st == OTA_OK)
		st = manifest_parse_verify_err(b.data ? b.data : "", b.len,
		    &key, 1, r->o->now, &r->m, r->err, r->errsz);
	buf_release(&b);
	sign_key_free(key);
	if (st != OTA_OK)
		return st;
	r->have_manifest = true;
	if (strcmp(r->m.tag, rel->tag) != 0)
		return str_fail(r->err, r->errsz, OTA_E_CHANGED, "the manifest "
		    "is for %.100s, the feed's latest is %.100s", r->m.tag,
		    rel->tag);
	if (policy_metadata(r->state.metadata_floor, r->m.metadata_version) !=
	    OTA_OK)
		return str_fail(r->err, r->errsz, OTA_E_CHANGED, "the manifest's "
		    "metadata version %llu is older than %llu, accepted before:"
		    " a replay", (unsigned long long)r->m.metadata_version,
		    (unsigned long long)r->state.metadata_floor);
	return OTA_OK;
}

static enum ota_status
add_file(struct run *r, const struct feed_entry *e)
{
	struct ufile *f, *grown;

	if (r->nfiles == UPDATE_MAX_FILES)
		return str_fail(r->err, r->errsz, OTA_E_TOO_LARGE, "the release "
		    "has more than %d files", UPDATE_MAX_FILES);
	if ((grown = realloc(r->files, (r->nfiles + 1) * sizeof(*grown))) ==
	    NULL)
		return OTA_E_NOMEM;
	r->files = grown;
	f = &r->files[r->nfiles];
	memset(f, 0, sizeof(*f));
	f->path = strdup(e->path);
	f->rel = strdup(e->rel);
	f->url = strdup(e->download_url);
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
	char *subs;			/* nsubs paths of FEED_MAX_PATH + 1 */
	size_t nsubs;
};

static enum ota_status
on_entry(void *ctx, const struct feed_entry *e)
{
	struct listing *l = ctx;
	char *grown;

	if (e->type == FEED_FILE)
		return add_file(l->r, e);
	if ((grown = realloc(l->subs, (l->nsubs + 1) * (FEED_MAX_PATH + 1))) ==
	    NULL)
		return OTA_E_NOMEM;
	l->subs = grown;
	memcpy(l->subs + l->nsubs++ * (FEED_MAX_PATH + 1), e->path,
	    FEED_MAX_PATH + 1);
	return OTA_OK;
}

/* Lists dir of tag and, depth first, every directory below it. */
static enum ota_status
list_dir(struct run *r, const char *tag, const char *dir, int depth)
{
	struct listing l = { r, NULL, 0 };
	struct transport_resp resp;
	struct buf url, body;
	enum ota_status st;
	char *u;
	size_t i, len;

	if (depth > UPDATE_MAX_DEPTH)
		return str_fail(r->err, r->errsz, OTA_E_TOO_LARGE, "the release "
		    "nests deeper than %d folders", UPDATE_MAX_DEPTH);
	buf_init(&url, FEED_MAX_URL);
	if ((st = buf_addf(&url, "%s/contents/", r->cfg.api)) != OTA_OK ||
	    (st = url_encode(&url, dir, true)) != OTA_OK ||
	    (st = buf_adds(&url, "?ref=refs/tags/")) != OTA_OK ||
	    (st = url_encode(&url, tag, false)) != OTA_OK ||
	    (st = buf_add(&url, "", 1)) != OTA_OK)
		return str_fail(r->err, r->errsz, st, "listing URL of '%.200s' "
		    "too long", dir);
	u = buf_take(&url, &len);
	st = get_json(r, "the release listing", u, NULL, FEED_MAX_JSON, &body,
	    &resp);
	free(u);
	if (st == OTA_OK && resp.status == 304)
		st = str_fail(r->err, r->errsz, OTA_E_PROTOCOL, "304 to an "
		    "unconditional listing");
	if (st == OTA_OK)
		st = feed_listing_walk(body.data ? body.data : "", body.len,
		    dir, FEED_MAX_ENTRIES, on_entry, &l, r->err, r->errsz);
	buf_release(&body);
	for (i = 0; st == OTA_OK && i < l.nsubs; i++)
		st = list_dir(r, tag, l.subs + i * (FEED_MAX_PATH + 1),
		    depth + 1);
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
	int fd;
	uint64_t have;			/* bytes in the file now */
	struct verify v;
	struct ufile *f;
	const char *sha256;
	enum ota_status st;
};

static enum ota_status
to_file(void *ctx, uint64_t off, const void *p, size_t n)
{
	struct sink *s = ctx;
	enum ota_status st;
	ssize_t w;

	if (off != s->have) {
		/* The server restarted from 0 (a 200 to our Range). */
		if (off != 0 || ftruncate(s->fd, 0) != 0)
			return OTA_E_PROTOCOL;
		verify_abort(&s->v);
		if ((st = verify_begin(&s->v, s->f->size, s->f->sha,
		    s->sha256)) != OTA_OK)
			return st;
		s->have = 0;
	}
	if ((st = verify_update(&s->v, p, n)) != OTA_OK)
		return st;
	while (n > 0) {
		if ((w = pwrite(s->fd, p, n, (off_t)s->have)) < 0) {
			if (errno == EINTR)
				continue;
			return OTA_E_IO;
		}
		p = (const char *)p + w;
		n -= (size_t)w;
		s->have += (uint64_t)w;
	}
	return OTA_OK;
}

/* Feeds the bytes a resumed file already has through the verifier. */
static enum ota_status
rehash(struct sink *s)
{
	unsigned char chunk[UPDATE_READ_CHUNK];
	uint64_t off = 0;
	enum ota_status st;
	ssize_t n;

	while (off < s->have) {
		size_t want = s->have - off < sizeof(chunk) ?
		    (size_t)(s->have - off) : sizeof(chunk);

		if ((n = pread(s->fd, chunk, want, (off_t)off)) <= 0)
			return OTA_E_IO;
		if ((st = verify_update(&s->v, chunk, (size_t)n)) != OTA_OK)
			return st;
		off += (uint64_t)n;
	}
	return OTA_OK;
}

static enum ota_status
fetch_file(struct run *r, struct ufile *f, struct update_report *rep)
{
	struct transport *t = r->o->transport;
	const struct manifest_file *mf = NULL;
	struct transport_resp resp;
	struct transport_req q;
	enum storage_file state;
	char why[256];
	struct sink s;
	enum ota_status st;
	uint64_t size;

	if ((st = storage_stage_query(r->st, f->rel, &state, &size)) !=
	    OTA_OK)
		return str_fail(r->err, r->errsz, st, "staging '%.200s'",
		    f->rel);
	if (state == STORAGE_FILE_DONE)
		return OTA_OK;		/* verified before it was marked */
	if (r->have_manifest && (mf = manifest_find(&r->m, f->path)) == NULL)
		return str_fail(r->err, r->errsz, OTA_E_CHANGED, "'%.200s' is "
		    "not in the signed manifest", f->path);
	memset(&s, 0, sizeof(s));
	s.f = f;
	s.sha256 = mf ? mf->sha256 : NULL;
	if ((st = storage_stage_file(r->st, f->rel, &s.fd, &s.have)) !=
	    OTA_OK)
		return str_fail(r->err, r->errsz, st, "cannot stage "
		    "'%.200s'", f->rel);
	if (s.have > f->size && ftruncate(s.fd, 0) == 0)
		s.have = 0;
	if ((st = verify_begin(&s.v, f->size, f->sha, s.sha256)) != OTA_OK ||
	    (st = rehash(&s)) != OTA_OK) {
		close(s.fd);
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
		rep->files++;
		rep->bytes += s.have;
	}
	if (st == OTA_OK && fsync(s.fd) != 0)
		st = OTA_E_IO;
	close(s.fd);
	if (st != OTA_OK) {
		/* A partial file stays (.part) for the next run to resume. */
		verify_abort(&s.v);
		return st;
	}
	if ((st = verify_end(&s.v, why, sizeof(why))) != OTA_OK) {
		(void)!storage_stage_discard(r->st, f->rel);
		return str_fail(r->err, r->errsz, st, "'%.200s' failed "
		    "verification (%s) and was discarded", f->path, why);
	}
	return storage_stage_done(r->st, f->rel);
}

static enum ota_status
install(struct run *r, const struct feed_release *rel,
    struct update_report *rep)
{
	enum ota_status st;
	size_t i;

	if (r->cfg.public_key[0] != '\0' &&
	    (st = get_manifest(r, rel)) != OTA_OK)
		return st;
	if ((st = list_dir(r, rel->tag, FEED_MAIN_DIR, 1)) != OTA_OK)
		return st;
	if (r->nfiles == 0)
		return str_fail(r->err, r->errsz, OTA_E_INVALID, "release %.100s "
		    "has no files: refusing to install an empty release",
		    rel->tag);
	if (r->have_manifest && (st = check_against_manifest(r)) != OTA_OK)
		return st;
	if ((st = storage_stage_begin(r->st, rel->tag, r->err, r->errsz)) !=
	    OTA_OK)
		return st;
	for (i = 0; i < r->nfiles && st == OTA_OK; i++)
		st = fetch_file(r, &r->files[i], rep);
	if (st != OTA_OK)
		return st;
	return storage_commit(r->st, rel->tag, r->o->trial_seconds ?
	    r->o->now + r->o->trial_seconds : 0, r->err, r->errsz);
}

static enum ota_status
run_update(struct run *r, struct update_report *rep)
{
	const struct update_opts *o = r->o;
	struct transport_resp resp;
	struct feed_release rel;
	enum policy_verdict v;
	struct buf b;
	char url[FEED_MAX_URL + 32];
	enum ota_status st;

	if ((st = read_config(r)) != OTA_OK)
		return st;
	if ((st = storage_open(&r->st, o->root, o->module, r->err,
	    r->errsz)) != OTA_OK ||
	    (st = storage_recover(r->st, NULL, r->err, r->errsz)) != OTA_OK)
		return st;
	storage_state_get(r->st, &r->state);
	(void)!str_copy(rep->installed, sizeof(rep->installed),
	    r->state.current);
	if (r->state.backoff_until > o->now)
		return str_fail(r->err, r->errsz, OTA_E_BUSY, "backing off "
		    "for another %llds after a rate limit",
		    (long long)(r->state.backoff_until - o->now));
	(void)!str_fmt(url, sizeof(url), "%s/releases/latest", r->cfg.api);
	st = get_json(r, "the latest release", url,
	    r->state.current[0] && r->state.etag[0] ? r->state.etag : NULL,
	    FEED_MAX_JSON, &b, &resp);
	if (st == OTA_OK && resp.status == 304) {
		buf_release(&b);
		(void)!str_copy(rep->offered, sizeof(rep->offered),
		    r->state.current);
		rep->outcome = UPDATE_CURRENT;
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
	if ((st = policy_decide(r->state.current, rel.tag, o->downgrade,
	    &v)) != OTA_OK)
		return str_fail(r->err, r->errsz, st, "'%.100s' or the "
		    "installed '%.100s' is not a version", rel.tag,
		    r->state.current);
	if (v == POLICY_CURRENT || v == POLICY_KEEP_NEWER) {
		rep->outcome = v == POLICY_CURRENT ? UPDATE_CURRENT :
		    UPDATE_KEPT_NEWER;
		return OTA_OK;
	}
	if (o->check_only) {
		rep->outcome = UPDATE_AVAILABLE;
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
	rep->outcome = UPDATE_INSTALLED;
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
 * only for a feed that is not GitHub, with a token and a device id. Best
 * effort, with short timeouts: a report never changes the outcome.
 */
static void
report(struct run *r, enum ota_status st, const struct update_report *rep)
{
	struct transport *t = r->o->transport;
	struct transport_resp resp;
	struct transport_req q;
	char base[FEED_MAX_URL], url[FEED_MAX_URL + 128], *repos;
	char repo[FEED_MAX_URL], ignore[256];
	struct buf b;
	bool ok;

	if (r->cfg.token[0] == '\0' || r->cfg.device_id[0] == '\0' ||
	    str_has_prefix(r->cfg.api, "https://api.github.com/") ||
	    (st == OTA_OK && rep->outcome != UPDATE_INSTALLED) ||
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
	    json_str(&b, "event", st == OTA_OK ? "success" : "failure",
	    false) == OTA_OK &&
	    json_str(&b, "repo", repo, true) == OTA_OK &&
	    json_str(&b, "module", r->o->module, true) == OTA_OK &&
	    json_str(&b, "from_version", rep->installed, true) == OTA_OK &&
	    json_str(&b, "to_version", rep->offered, true) == OTA_OK &&
	    (st == OTA_OK || json_str(&b, "reason", r->err, true) == OTA_OK) &&
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

enum ota_status
update_module(const struct update_opts *o, struct update_report *rep,
    char *err, size_t errsz)
{
	struct run r;
	enum ota_status st;
	size_t i;

	memset(&r, 0, sizeof(r));
	memset(rep, 0, sizeof(*rep));
	r.o = o;
	r.err = err;
	r.errsz = errsz;
	err[0] = '\0';
	st = run_update(&r, rep);
	if (r.cfg.api[0] != '\0')
		report(&r, st, rep);
	if (r.st != NULL) {
		/* Remember what happened, for status and the next check. */
		storage_state_get(r.st, &r.state);
		if (st == OTA_OK) {
			r.state.last_error[0] = '\0';
			r.state.backoff_until = 0;
			if (r.etag[0] != '\0')
				(void)!str_copy(r.state.etag,
				    sizeof(r.state.etag), r.etag);
			if (r.have_manifest)
				r.state.metadata_floor = r.m.metadata_version;
		} else
			(void)!str_copy(r.state.last_error,
			    sizeof(r.state.last_error), err);
		if (!o->check_only || st != OTA_OK)
			(void)!storage_state_set(r.st, &r.state);
	}
	storage_free(r.st);
	for (i = 0; i < r.nfiles; i++) {
		free(r.files[i].path);
		free(r.files[i].rel);
		free(r.files[i].url);
	}
	free(r.files);
	if (r.have_manifest)
		manifest_release(&r.m);
	return st;
}
