#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "common/buf.h"
#include "common/hash.h"
#include "common/log.h"
#include "common/str.h"
#include "common/url.h"
#include "server/github.h"
#include "server/httphdr.h"
#include "server/ratelimit.h"
#include "server/store.h"
#include "common/banned.h"

#define GH_MAX_SEGMENTS 64
#define GH_DOCS_URL "https://docs.github.com/rest"
#define GH_MANIFEST_NAME "ota-manifest.json"
#define GH_JSON_TYPE "application/json; charset=utf-8"
#define GH_KEY_EXTRA 1024		/* Host and Authorization in a key */

/*
 * What an answer was, kept so that the same request is answered again
 * without the database while the store does not change: a JSON body, or
 * the blob a file route sends.
 */
struct gh_answer {
	int status;			/* 0: nothing worth keeping */
	char *body;			/* JSON, owned */
	size_t len;
	char etag[HASH_SHA256_LEN * 2 + 3];
	char sha256[BLOBSTORE_HEX_LEN + 1];	/* or a blob */
	char md5[33];
	const char *type;		/* static */
};

struct gh_slot {
	uint64_t gen;
	char *key;			/* NULL: empty */
	struct gh_answer a;
};

struct github_cache {
	struct gh_slot slot[GITHUB_CACHE_SLOTS];
};

/* One request against the store, with what every answer needs. */
struct gh {
	const struct route_env *env;
	const struct route_req *req;
	struct reply *rep;
	char base[GITHUB_MAX_BASE_URL];	/* "http://host:port", no '/' */
	struct store_repo repo;
	struct gh_answer answer;	/* what was sent, for the cache */
};

/* The request path split into segments (offsets into the path). */
struct segs {
	const char *path;
	size_t n;
	size_t off[GH_MAX_SEGMENTS];
	size_t len[GH_MAX_SEGMENTS];
};

static void
split(const char *path, struct segs *s)
{
	size_t i = 0;

	s->path = path;
	s->n = 0;
	while (path[i] != '\0' && s->n < GH_MAX_SEGMENTS) {
		s->off[s->n] = i;
		while (path[i] != '\0' && path[i] != '/')
			i++;
		s->len[s->n] = i - s->off[s->n];
		s->n++;
		if (path[i] == '/')
			i++;
	}
}

static bool
seg_is(const struct segs *s, size_t i, const char *word)
{
	return i < s->n && s->len[i] == strlen(word) &&
	    memcmp(s->path + s->off[i], word, s->len[i]) == 0;
}

/* Copies segment i into out; false if absent or too long. */
static bool
seg_copy(const struct segs *s, size_t i, char *out, size_t outsz)
{
	if (i >= s->n || s->len[i] >= outsz)
		return false;
	memcpy(out, s->path + s->off[i], s->len[i]);
	out[s->len[i]] = '\0';
	return true;
}

/* The rest of the path from segment i on ("" when there is none). */
static const char *
seg_rest(const struct segs *s, size_t i)
{
	return i < s->n ? s->path + s->off[i] : "";
}

/* ---- answers ---- */

/* Sends body (owned by rep from now on) with its ETag; 304 on a match. */
static void
send_json_body(struct reply *rep, const struct route_req *req, int status,
    char *body, size_t len, const char *etag)
{
	if (status == 200 && etag_match(req->header(req->header_ctx,
	    "If-None-Match"), etag))
		/* The body stays for its length; a 304 never carries it. */
		status = 304;
	reply_body(rep, status, GH_JSON_TYPE, body, len);
	reply_add(rep, "ETag", "%s", etag);
	reply_add(rep, "Cache-Control", "no-cache");
}

/* Renders root (consumed); NULL when it cannot (no memory, too large). */
static char *
render(cJSON *root, size_t *len, char etag[HASH_SHA256_LEN * 2 + 3])
{
	char *body = root ? cJSON_PrintUnformatted(root) : NULL;

	cJSON_Delete(root);
	if (body == NULL || (*len = strlen(body)) > GITHUB_MAX_JSON ||
	    hash_hex(HASH_SHA256, body, *len, etag + 1) != OTA_OK) {
		free(body);
		return NULL;
	}
	etag[0] = '"';
	etag[HASH_SHA256_LEN * 2 + 1] = '"';
	etag[HASH_SHA256_LEN * 2 + 2] = '\0';
	return body;
}

void
github_json(struct reply *rep, const struct route_req *req, int status,
    cJSON *root)
{
	char etag[HASH_SHA256_LEN * 2 + 3], *body;
	size_t len;

	if ((body = render(root, &len, etag)) == NULL) {
		route_error(rep, 503);
		return;
	}
	send_json_body(rep, req, status, body, len, etag);
}

void
github_json_error(struct reply *rep, const struct route_req *req, int status,
    const char *message)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddStringToObject(o, "message", message);
	cJSON_AddStringToObject(o, "documentation_url", GH_DOCS_URL);
	github_json(rep, req, status, o);
}

/* Sends root (consumed) and keeps a copy of the answer for the cache. */
static void
json_send(struct gh *g, int status, cJSON *root)
{
	struct gh_answer *a = &g->answer;
	char *body;
	size_t len;

	if ((body = render(root, &len, a->etag)) == NULL) {
		route_error(g->rep, 503);
		return;
	}
	if (len <= GITHUB_CACHE_MAX_BODY && (a->body = malloc(len)) != NULL) {
		memcpy(a->body, body, len);
		a->len = len;
		a->status = status;
	}
	send_json_body(g->rep, g->req, status, body, len, a->etag);
}

static void
json_error(struct gh *g, int status, const char *message)
{
	github_json_error(g->rep, g->req, status, message);
}

static void
not_found(struct gh *g)
{
	json_error(g, 404, "Not Found");
}

static void
store_failed(struct gh *g, enum ota_status st, const char *what)
{
	log_error("release store: cannot read %s of %s/%s: %s (%s)", what,
	    g->repo.owner, g->repo.name, ota_status_str(st),
	    store_errmsg(g->env->store));
	json_error(g, http_status(st == OTA_E_NOTFOUND ? OTA_E_IO : st),
	    st == OTA_E_BUSY ? "Service Unavailable" : "Server Error");
}

/* ---- URLs ---- */

static bool
host_valid(const char *h)
{
	size_t n = strlen(h);

	return n > 0 && n < GITHUB_MAX_BASE_URL - 32 &&
	    strspn(h, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "0123456789.-:[]") == n;
}

/*
 * The server's base URL: --public-url if set, else http:// and the Host
 * header. The MicroPython updater sends Host without the port (§2.3), so a
 * Host without one gets the port we listen on, or links would point at 80.
 */
static void
base_url(struct gh *g)
{
	const struct serve_config *cfg = g->env->cfg;
	const char *host = g->req->header(g->req->header_ctx, "Host");
	const char *close_br;
	bool has_port;

	if (cfg->public_url[0] != '\0') {
		(void)!str_copy(g->base, sizeof(g->base), cfg->public_url);
		return;
	}
	if (host == NULL || !host_valid(host))
		host = "localhost";
	close_br = strrchr(host, ']');
	has_port = strchr(close_br ? close_br : host, ':') != NULL;
	if (has_port || cfg->port == 80)
		(void)!str_fmt(g->base, sizeof(g->base), "http://%s", host);
	else
		(void)!str_fmt(g->base, sizeof(g->base), "http://%s:%u", host,
		    (unsigned)cfg->port);
}

/* base + "/" + parts, each part "=text" (as is) or "%text" (encoded). */
static char *
make_url(const struct gh *g, const char *const *parts, size_t n)
{
	struct buf b;
	enum ota_status rc;
	size_t i, len;

	buf_init(&b, GITHUB_MAX_BASE_URL + 4 * STORE_MAX_ASSET_PATH);
	rc = buf_adds(&b, g->base);
	for (i = 0; i < n && rc == OTA_OK; i++) {
		if (parts[i][0] == '=')
			rc = buf_adds(&b, parts[i] + 1);
		else
			rc = url_encode(&b, parts[i] + 1, true);
	}
	if (rc == OTA_OK)
		rc = buf_add(&b, "", 1);
	if (rc != OTA_OK) {
		buf_release(&b);
		return NULL;
	}
	return buf_take(&b, &len);
}

static void
add_url(cJSON *o, const char *key, char *url)
{
	if (url == NULL)
		cJSON_AddNullToObject(o, key);
	else
		cJSON_AddStringToObject(o, key, url);
	free(url);
}

static char *
repo_url(const struct gh *g, const char *tail)
{
	const char *parts[] = { "=/repos/", g->repo.owner, "=/", g->repo.name,
	    tail };
	char owner[STORE_MAX_NAME + 2], name[STORE_MAX_NAME + 2];

	(void)!str_fmt(owner, sizeof(owner), "%%%s", g->repo.owner);
	(void)!str_fmt(name, sizeof(name), "%%%s", g->repo.name);
	parts[1] = owner;
	parts[3] = name;
	return make_url(g, parts, tail ? 5 : 4);
}

/* ---- JSON objects ---- */

static void
add_time(cJSON *o, const char *key, int64_t t)
{
	char text[32];
	time_t tt = (time_t)t;
	struct tm tm;

	if (t == 0 || gmtime_r(&tt, &tm) == NULL ||
	    strftime(text, sizeof(text), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		cJSON_AddNullToObject(o, key);
	else
		cJSON_AddStringToObject(o, key, text);
}

static char *
manifest_url(const struct gh *g, const struct store_release *r)
{
	char tag[STORE_MAX_TAG + 2], owner[STORE_MAX_NAME + 2];
	char name[STORE_MAX_NAME + 2];
	const char *parts[] = { "=/api/v1/repos/", owner, "=/", name,
	    "=/releases/", tag, "=/manifest" };

	(void)!str_fmt(owner, sizeof(owner), "%%%s", g->repo.owner);
	(void)!str_fmt(name, sizeof(name), "%%%s", g->repo.name);
	(void)!str_fmt(tag, sizeof(tag), "%%%s", r->tag);
	return make_url(g, parts, sizeof(parts) / sizeof(parts[0]));
}

static cJSON *
release_json(const struct gh *g, const struct store_release *r)
{
	char tail[STORE_MAX_TAG + 32], path[PATH_MAX];
	cJSON *o = cJSON_CreateObject(), *assets, *a, *ota;
	struct stat sb;

	if (o == NULL)
		return NULL;
	(void)!str_fmt(tail, sizeof(tail), "=/releases/%" PRId64, r->id);
	add_url(o, "url", repo_url(g, tail));
	add_url(o, "assets_url", NULL);
	cJSON_AddNumberToObject(o, "id", (double)r->id);
	cJSON_AddStringToObject(o, "tag_name", r->tag);
	cJSON_AddStringToObject(o, "target_commitish", r->channel);
	cJSON_AddStringToObject(o, "name", r->tag);
	cJSON_AddStringToObject(o, "body", r->notes ? r->notes : "");
	cJSON_AddBoolToObject(o, "draft", r->draft);
	cJSON_AddBoolToObject(o, "prerelease", r->prerelease);
	add_time(o, "created_at", r->created);
	add_time(o, "published_at", r->published);
	cJSON_AddNullToObject(o, "tarball_url");
	cJSON_AddNullToObject(o, "zipball_url");
	assets = cJSON_AddArrayToObject(o, "assets");
	if (r->manifest[0] != '\0' && assets != NULL &&
	    (a = cJSON_CreateObject()) != NULL) {
		cJSON_AddItemToArray(assets, a);
		cJSON_AddStringToObject(a, "name", GH_MANIFEST_NAME);
		cJSON_AddStringToObject(a, "content_type", "application/json");
		cJSON_AddStringToObject(a, "state", "uploaded");
		if (blobstore_path(store_blobs(g->env->store), r->manifest,
		    path, sizeof(path)) == OTA_OK && stat(path, &sb) == 0)
			cJSON_AddNumberToObject(a, "size", (double)sb.st_size);
		add_url(a, "browser_download_url", manifest_url(g, r));
	}
	/* Ours, beside GitHub's fields: what our device agent checks. */
	if ((ota = cJSON_AddObjectToObject(o, "ota")) != NULL) {
		cJSON_AddStringToObject(ota, "version", r->version);
		cJSON_AddStringToObject(ota, "channel", r->channel);
		cJSON_AddBoolToObject(ota, "yanked", r->yanked);
		cJSON_AddNumberToObject(ota, "metadata_version",
		    (double)r->metadata_version);
		cJSON_AddStringToObject(ota, "manifest_sha256", r->manifest);
		add_url(ota, "manifest_url", manifest_url(g, r));
	}
	return o;
}

/* ---- access ---- */

const char *
github_auth_token(const struct route_req *req)
{
	const char *v = req->header(req->header_ctx, "Authorization");

	if (v == NULL)
		return NULL;
	if (strncasecmp(v, "token ", 6) == 0)
		v += 6;
	else if (strncasecmp(v, "bearer ", 7) == 0)
		v += 7;
	else
		return NULL;
	while (*v == ' ')
		v++;
	return *v ? v : NULL;
}

/*
 * Finds owner/name and checks the caller may read it. A private
 * repository without a good token is "not found", as on GitHub: its
 * existence is not given away.
 */
static enum ota_status
repo_open(struct gh *g, const struct segs *s, size_t i)
{
	char owner[STORE_MAX_NAME + 1], name[STORE_MAX_NAME + 1];
	struct store_token tok;
	const char *secret;
	enum ota_status st;

	if (!seg_copy(s, i, owner, sizeof(owner)) ||
	    !seg_copy(s, i + 1, name, sizeof(name)))
		return OTA_E_NOTFOUND;
	if ((st = store_repo_get(g->env->store, owner, name, &g->repo)) !=
	    OTA_OK || !g->repo.is_private)
		return st;
	if ((secret = github_auth_token(g->req)) == NULL ||
	    store_token_check(g->env->store, secret, &tok) != OTA_OK ||
	    (tok.repo_id != 0 && tok.repo_id != g->repo.id))
		return OTA_E_NOTFOUND;
	return OTA_OK;
}

/* A release reachable by tag: anything but a draft. */
static enum ota_status
release_by_tag(struct gh *g, const char *tag, struct store_release *r)
{
	enum ota_status st = store_release_get(g->env->store, g->repo.id, tag,
	    r);

	if (st == OTA_OK && r->draft) {
		store_release_release(r);
		st = OTA_E_NOTFOUND;
	}
	return st;
}

/* ---- /repos/{o}/{r}/releases... ---- */

static void
releases_latest(struct gh *g)
{
	struct store_release r;
	enum ota_status st;

	st = store_release_latest(g->env->store, g->repo.id,
	    STORE_DEFAULT_CHANNEL, &r);
	if (st == OTA_OK)
		json_send(g, 200, release_json(g, &r));
	else if (st == OTA_E_NOTFOUND)
		not_found(g);
	else
		store_failed(g, st, "the latest release");
	store_release_release(&r);
}

static unsigned
query_uint(const char *query, const char *key, unsigned def, unsigned max)
{
	char v[32];
	uint64_t n;

	if (url_query_get(query, key, v, sizeof(v)) != OTA_OK ||
	    parse_u64(v, 1, max, &n) != OTA_OK)
		return def;
	return (unsigned)n;
}

static void
releases_list(struct gh *g, const char *query)
{
	unsigned per_page = query_uint(query, "per_page",
	    GITHUB_PER_PAGE_DEFAULT, GITHUB_PER_PAGE_MAX);
	unsigned page = query_uint(query, "page", 1, UINT32_MAX);
	struct store_release *list;
	cJSON *arr;
	enum ota_status st;
	size_t i, n, first;

	st = store_release_list(g->env->store, g->repo.id, STORE_LIST_VISIBLE,
	    NULL, &list, &n);
	if (st != OTA_OK) {
		store_failed(g, st, "the releases");
		return;
	}
	arr = cJSON_CreateArray();
	first = (size_t)(page - 1) * per_page;
	for (i = first; arr != NULL && i < n && i < first + per_page; i++)
		cJSON_AddItemToArray(arr, release_json(g, &list[i]));
	store_releases_free(list, n);
	json_send(g, 200, arr);
}

/* /releases/{id}, the "url" of a release object. */
static void
releases_id(struct gh *g, const char *text)
{
	struct store_release *list;
	enum ota_status st;
	uint64_t id;
	size_t i, n;

	if (parse_u64(text, 1, INT64_MAX, &id) != OTA_OK) {
		not_found(g);
		return;
	}
	st = store_release_list(g->env->store, g->repo.id, STORE_LIST_ALL,
	    NULL, &list, &n);
	if (st != OTA_OK) {
		store_failed(g, st, "the releases");
		return;
	}
	for (i = 0; i < n; i++)
		if (list[i].id == (int64_t)id && !list[i].draft)
			break;
	if (i < n)
		json_send(g, 200, release_json(g, &list[i]));
	else
		not_found(g);
	store_releases_free(list, n);
}

static void
releases_tag(struct gh *g, const char *tag)
{
	struct store_release r;
	enum ota_status st = release_by_tag(g, tag, &r);

	if (st == OTA_OK)
		json_send(g, 200, release_json(g, &r));
	else if (st == OTA_E_NOTFOUND)
		not_found(g);
	else
		store_failed(g, st, "a release");
	store_release_release(&r);
}

/* ---- /repos/{o}/{r}/contents/{path}?ref= ---- */

/* ref=refs/tags/T or ref=T gives T; no ref gives the latest release. */
static enum ota_status
release_by_ref(struct gh *g, const char *query, struct store_release *r)
{
	char ref[STORE_MAX_TAG + 16];
	const char *tag = ref;
	enum ota_status st;

	st = url_query_get(query, "ref", ref, sizeof(ref));
	if (st == OTA_E_NOTFOUND)
		return store_release_latest(g->env->store, g->repo.id,
		    STORE_DEFAULT_CHANNEL, r);
	if (st != OTA_OK) {
		store_release_init(r);
		return OTA_E_NOTFOUND;
	}
	if (str_has_prefix(ref, "refs/tags/"))
		tag += strlen("refs/tags/");
	/*
	 * Query decoding made '+' a space, but updaters put the tag in the
	 * URL as it is: "1.0.0+build.5". A version never has a space.
	 */
	for (char *p = ref; *p != '\0'; p++)
		if (*p == ' ')
			*p = '+';
	return release_by_tag(g, tag, r);
}

static void
digest_to_bin(const char *hex, unsigned char *out, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		unsigned v;

		(void)sscanf(hex + 2 * i, "%2x", &v);
		out[i] = (unsigned char)v;
	}
}

/*
 * Git's tree id of the directory holding a[0..n), whose paths all start
 * with the same base bytes: "tree <len>\0" then, in Git's order (which is
 * the paths' byte order, a directory sorting as "name/"), "100644 name\0"
 * or "40000 name\0" and the 20 raw bytes of the blob or subtree id.
 */
static enum ota_status
tree_sha1(const struct store_asset *a, size_t n, size_t base,
    unsigned char out[HASH_SHA1_LEN])
{
	unsigned char id[HASH_SHA1_LEN];
	char hdr[32];
	struct hash_ctx *h;
	struct buf b;
	enum ota_status rc = OTA_OK;
	size_t i = 0, j, clen, len;

	buf_init(&b, (size_t)STORE_MAX_ASSETS * (STORE_MAX_ASSET_PATH + 32));
	while (i < n && rc == OTA_OK) {
		const char *name = a[i].path + base;
		const char *slash = strchr(name, '/');

		if (slash == NULL) {
			digest_to_bin(a[i].git_sha1, id, sizeof(id));
			if ((rc = buf_addf(&b, "100644 %s", name)) == OTA_OK &&
			    (rc = buf_add(&b, "", 1)) == OTA_OK)
				rc = buf_add(&b, id, sizeof(id));
			i++;
			continue;
		}
		clen = (size_t)(slash - name);
		for (j = i + 1; j < n && strncmp(a[j].path + base, name,
		    clen + 1) == 0; j++)
			;
		if ((rc = tree_sha1(a + i, j - i, base + clen + 1, id)) ==
		    OTA_OK && (rc = buf_addf(&b, "40000 %.*s", (int)clen,
		    name)) == OTA_OK && (rc = buf_add(&b, "", 1)) == OTA_OK)
			rc = buf_add(&b, id, sizeof(id));
		i = j;
	}
	if (rc == OTA_OK) {
		(void)!str_fmt(hdr, sizeof(hdr), "tree %zu", b.len);
		if ((h = hash_new(HASH_SHA1)) == NULL)
			rc = OTA_E_NOMEM;
		else {
			if ((rc = hash_update(h, hdr, strlen(hdr) + 1)) ==
			    OTA_OK && (rc = hash_update(h, b.data, b.len)) ==
			    OTA_OK)
				rc = hash_final(h, out, &len);
			hash_free(h);
		}
	}
	buf_release(&b);
	return rc;
}

static cJSON *
content_entry(const struct gh *g, const struct store_release *r,
    const char *type, const char *path, size_t pathlen, const char *sha1,
    uint64_t size)
{
	char epath[STORE_MAX_ASSET_PATH + 2], etag[STORE_MAX_TAG + 2];
	char owner[STORE_MAX_NAME + 2], name[STORE_MAX_NAME + 2];
	const char *self[] = { "=/repos/", owner, "=/", name, "=/contents/",
	    epath, "=?ref=", etag };
	const char *raw[] = { "=/raw/", owner, "=/", name, "=/refs/tags/",
	    etag, "=/", epath };
	cJSON *o = cJSON_CreateObject();
	const char *slash;

	if (o == NULL)
		return NULL;
	(void)!str_fmt(epath, sizeof(epath), "%%%.*s", (int)pathlen, path);
	(void)!str_fmt(etag, sizeof(etag), "%%%s", r->tag);
	(void)!str_fmt(owner, sizeof(owner), "%%%s", g->repo.owner);
	(void)!str_fmt(name, sizeof(name), "%%%s", g->repo.name);
	slash = strrchr(epath, '/');
	cJSON_AddStringToObject(o, "type", type);
	cJSON_AddStringToObject(o, "name", slash ? slash + 1 : epath + 1);
	cJSON_AddStringToObject(o, "path", epath + 1);
	cJSON_AddStringToObject(o, "sha", sha1);
	cJSON_AddNumberToObject(o, "size", (double)size);
	add_url(o, "url", make_url(g, self, sizeof(self) / sizeof(self[0])));
	if (strcmp(type, "file") == 0)
		add_url(o, "download_url",
		    make_url(g, raw, sizeof(raw) / sizeof(raw[0])));
	else
		cJSON_AddNullToObject(o, "download_url");
	return o;
}

static void
contents(struct gh *g, const char *path, const char *query)
{
	unsigned char tree[HASH_SHA1_LEN];
	char treehex[HASH_SHA1_LEN * 2 + 1];
	struct store_release r;
	struct store_asset one, *a = NULL;
	enum ota_status st;
	size_t i, j, n = 0, base = path[0] ? strlen(path) + 1 : 0;
	cJSON *arr;

	if ((st = release_by_ref(g, query, &r)) != OTA_OK) {
		if (st == OTA_E_NOTFOUND)
			json_error(g, 404, "No commit found for the ref");
		else
			store_failed(g, st, "a release");
		store_release_release(&r);
		return;
	}
	/* A file gives its own object, a directory the array of its entries. */
	if (path[0] != '\0' &&
	    (st = store_asset_get(g->env->store, r.id, path, &one)) !=
	    OTA_E_NOTFOUND) {
		if (st == OTA_OK)
			json_send(g, 200, content_entry(g, &r, "file", one.path,
			    strlen(one.path), one.git_sha1, one.size));
		else
			store_failed(g, st, "a file");
		free(one.path);
		store_release_release(&r);
		return;
	}
	if ((st = store_asset_list(g->env->store, r.id, path, &a, &n)) !=
	    OTA_OK) {
		store_failed(g, st, "the files");
		store_release_release(&r);
		return;
	}
	if (n == 0) {
		not_found(g);
		store_release_release(&r);
		return;
	}
	arr = cJSON_CreateArray();
	for (i = 0; i < n && arr != NULL; i = j) {
		const char *name = a[i].path + base;
		const char *slash = strchr(name, '/');
		size_t clen;

		if (slash == NULL) {
			cJSON_AddItemToArray(arr, content_entry(g, &r, "file",
			    a[i].path, strlen(a[i].path), a[i].git_sha1,
			    a[i].size));
			j = i + 1;
			continue;
		}
		clen = (size_t)(slash - name);
		for (j = i + 1; j < n && strncmp(a[j].path + base, name,
		    clen + 1) == 0; j++)
			;
		if (tree_sha1(a + i, j - i, base + clen + 1, tree) != OTA_OK) {
			cJSON_Delete(arr);
			arr = NULL;
			break;
		}
		str_hex(treehex, tree, sizeof(tree));
		cJSON_AddItemToArray(arr, content_entry(g, &r, "dir",
		    a[i].path, base + clen, treehex, 0));
	}
	store_assets_free(a, n);
	store_release_release(&r);
	json_send(g, 200, arr);
}

/* ---- raw files and manifests ---- */

static void
send_blob(struct gh *g, const char *sha256, const char *md5,
    const char *type)
{
	struct file_digest d;
	struct stat sb;
	enum ota_status st;
	int fd;

	st = blobstore_open_blob(store_blobs(g->env->store), sha256, &fd);
	if (st == OTA_OK && fstat(fd, &sb) != 0) {
		close(fd);
		st = OTA_E_IO;
	}
	if (st != OTA_OK) {
		log_error("release store: blob %s of %s/%s is unreadable: %s "
		    "(restore the store's blobs from a backup)", sha256,
		    g->repo.owner, g->repo.name, ota_status_str(st));
		route_error(g->rep, 500);
		return;
	}
	(void)!str_copy(d.sha256, sizeof(d.sha256), sha256);
	(void)!str_copy(d.md5, sizeof(d.md5), md5);
	route_send_fd(g->req, fd, (uint64_t)sb.st_size, &d, type, g->rep);
	g->answer.status = 200;
	g->answer.type = type;
	memcpy(g->answer.sha256, d.sha256, sizeof(d.sha256));
	memcpy(g->answer.md5, d.md5, sizeof(d.md5));
}

/* /raw/{o}/{r}/[refs/tags/]{tag}/{path}, from segment i = owner. */
static void
raw_file(struct gh *g, const struct segs *s, size_t i)
{
	char tag[STORE_MAX_TAG + 1];
	struct store_release r;
	struct store_asset a;
	enum ota_status st;
	size_t at = i + 2;

	if (seg_is(s, at, "refs") && seg_is(s, at + 1, "tags") &&
	    at + 3 < s->n)
		at += 2;
	if (!seg_copy(s, at, tag, sizeof(tag)) || at + 1 >= s->n) {
		route_error(g->rep, 404);
		return;
	}
	if ((st = release_by_tag(g, tag, &r)) != OTA_OK) {
		route_error(g->rep, st == OTA_E_NOTFOUND ? 404 :
		    http_status(st));
		return;
	}
	st = store_asset_get(g->env->store, r.id, seg_rest(s, at + 1), &a);
	if (st == OTA_OK)
		send_blob(g, a.sha256, a.md5, "application/octet-stream");
	else
		route_error(g->rep, st == OTA_E_NOTFOUND ? 404 :
		    http_status(st));
	free(a.path);
	store_release_release(&r);
}

static void
manifest(struct gh *g, const char *tag)
{
	struct store_release r;
	enum ota_status st = release_by_tag(g, tag, &r);

	if (st == OTA_OK && r.manifest[0] != '\0')
		send_blob(g, r.manifest, "", GH_JSON_TYPE);
	else if (st == OTA_OK || st == OTA_E_NOTFOUND)
		not_found(g);
	else
		store_failed(g, st, "a release");
	store_release_release(&r);
}

/* ---- dispatch ---- */

static void
dispatch(struct gh *g, const struct target *t, const struct segs *s,
    bool raw_host)
{
	enum ota_status st;
	size_t o;

	if (raw_host || seg_is(s, 0, "raw")) {
		o = raw_host ? 0 : 1;
		if ((st = repo_open(g, s, o)) != OTA_OK)
			route_error(g->rep, st == OTA_E_NOTFOUND ? 404 :
			    http_status(st));
		else
			raw_file(g, s, o);
		return;
	}
	if (seg_is(s, 0, "api") && !seg_is(s, 2, "repos")) {
		/* PUT /api/v1/blobs is api.c's; nothing else is here. */
		if (seg_is(s, 2, "blobs") && s->n == 3) {
			json_error(g, 405, "Method Not Allowed: use PUT");
			reply_add(g->rep, "Allow", "PUT");
		} else
			not_found(g);
		return;
	}
	o = seg_is(s, 0, "api") ? 3 : 1;	/* api/v1/repos/ or repos/ */
	if ((st = repo_open(g, s, o)) != OTA_OK) {
		if (st == OTA_E_NOTFOUND)
			not_found(g);
		else
			store_failed(g, st, "the repository");
		return;
	}
	if (o == 3) {
		if (s->n == 8 && seg_is(s, 5, "releases") &&
		    seg_is(s, 7, "manifest")) {
			char tag[STORE_MAX_TAG + 1];

			if (seg_copy(s, 6, tag, sizeof(tag)))
				manifest(g, tag);
			else
				not_found(g);
		} else
			not_found(g);
		return;
	}
	if (seg_is(s, 3, "releases")) {
		char tag[STORE_MAX_TAG + 1];

		if (s->n == 4)
			releases_list(g, t->query);
		else if (s->n == 5 && seg_is(s, 4, "latest"))
			releases_latest(g);
		else if (s->n == 5 && seg_copy(s, 4, tag, sizeof(tag)))
			releases_id(g, tag);
		else if (s->n == 6 && seg_is(s, 4, "tags") &&
		    seg_copy(s, 5, tag, sizeof(tag)))
			releases_tag(g, tag);
		else
			not_found(g);
	} else if (seg_is(s, 3, "contents"))
		contents(g, seg_rest(s, 4), t->query);
	else if (s->n >= 4 && s->len[3] > strlen("contents") &&
	    strncmp(seg_rest(s, 3), "contents", strlen("contents")) == 0)
		/*
		 * The upstream updater's HEAD lost the '/' after "contents"
		 * (micropython-ota-updater.md D21): GitHub answers 404 to
		 * ".../contentsmain", we answer what it meant.
		 */
		contents(g, seg_rest(s, 3) + strlen("contents"), t->query);
	else
		not_found(g);
}

struct github_cache *
github_cache_new(void)
{
	return calloc(1, sizeof(struct github_cache));
}

static void
slot_clear(struct gh_slot *sl)
{
	free(sl->key);
	free(sl->a.body);
	memset(sl, 0, sizeof(*sl));
}

void
github_cache_free(struct github_cache *c)
{
	size_t i;

	if (c == NULL)
		return;
	for (i = 0; i < GITHUB_CACHE_SLOTS; i++)
		slot_clear(&c->slot[i]);
	free(c);
}

/*
 * What the answer depends on besides the store: the target, the Host
 * (links are built from it) and the credentials (private repositories).
 */
static char *
cache_key(const struct route_req *req, uint64_t *hash)
{
	const char *host = req->header(req->header_ctx, "Host");
	const char *auth = req->header(req->header_ctx, "Authorization");
	struct buf b;
	char *key;
	size_t len;

	buf_init(&b, TARGET_MAX_PATH + TARGET_MAX_QUERY + GH_KEY_EXTRA);
	if (buf_addf(&b, "%s\n%s\n%s", req->target, host ? host : "",
	    auth ? auth : "") != OTA_OK || buf_add(&b, "", 1) != OTA_OK) {
		buf_release(&b);
		return NULL;
	}
	key = buf_take(&b, &len);
	*hash = str_hash64(key);
	return key;
}

/* Answers from slot sl; false if it cannot (then nothing was sent). */
static bool
replay(struct gh *g, const struct gh_slot *sl)
{
	char *body;

	if (sl->a.body != NULL) {
		if ((body = malloc(sl->a.len)) == NULL)
			return false;
		memcpy(body, sl->a.body, sl->a.len);
		send_json_body(g->rep, g->req, sl->a.status, body, sl->a.len,
		    sl->a.etag);
		return true;
	}
	send_blob(g, sl->a.sha256, sl->a.md5, sl->a.type);
	return true;
}

/*
 * Who a request is counted against: its token, if it is a good one, else
 * its address; and that one's hourly limit.
 */
static uint32_t
client_key(const struct gh *g, char *key, size_t keysz)
{
	const struct serve_config *cfg = g->env->cfg;
	const char *secret = github_auth_token(g->req);
	struct store_token tok;
	char peer[RATELIMIT_MAX_KEY - 4] = "-";

	if (secret != NULL && cfg->rate_token != 0 &&
	    store_token_check(g->env->store, secret, &tok) == OTA_OK) {
		(void)!str_fmt(key, keysz, "t:%lld", (long long)tok.id);
		return cfg->rate_token;
	}
	if (g->req->peer != NULL)
		g->req->peer(g->req->header_ctx, peer, sizeof(peer));
	(void)!str_fmt(key, keysz, "a:%s", peer);
	return cfg->rate_anon;
}

static void
add_limit_headers(struct reply *rep, const struct ratelimit_state *st)
{
	reply_add(rep, "X-RateLimit-Limit", "%u", (unsigned)st->limit);
	reply_add(rep, "X-RateLimit-Remaining", "%u", (unsigned)st->remaining);
	reply_add(rep, "X-RateLimit-Reset", "%lld", (long long)st->reset);
	reply_add(rep, "X-RateLimit-Used", "%u", (unsigned)st->used);
}

/* Counts an answered request (not a 304) and says where the client is. */
static void
count(struct gh *g, uint32_t limit, const char *key,
    struct ratelimit_state *st)
{
	if (limit == 0)
		return;
	if (g->rep->status != 304)
		ratelimit_count(g->env->limits, key, limit, (int64_t)time(NULL),
		    st);
	add_limit_headers(g->rep, st);
}

/*
 * Refuses a client past its hourly API budget as GitHub does: 403 with
 * the X-RateLimit-* headers and Retry-After. False when it may go on.
 */
static bool
over_limit(struct gh *g, const char *key, uint32_t limit,
    struct ratelimit_state *st)
{
	int64_t now = (int64_t)time(NULL);

	if (ratelimit_check(g->env->limits, key, limit, now, st))
		return false;
	json_error(g, 403, "API rate limit exceeded (see X-RateLimit-Reset; "
	    "requests with a token may have a higher limit)");
	add_limit_headers(g->rep, st);
	reply_add(g->rep, "Retry-After", "%lld",
	    (long long)(st->reset > now ? st->reset - now : 1));
	return true;
}

bool
github_handle(const struct route_env *env, const struct route_req *req,
    const struct target *t, struct reply *rep)
{
	char limit_key[RATELIMIT_MAX_KEY];
	struct ratelimit_state limit_st;
	uint32_t limit = 0;
	struct gh_slot *sl = NULL;
	const char *host;
	struct segs s;
	struct gh g;
	uint64_t gen = 0, hash = 0;
	char *key = NULL;
	bool raw_host;

	host = req->header(req->header_ctx, "Host");
	raw_host = host != NULL && (strcasecmp(host, GITHUB_RAW_HOST) == 0 ||
	    (str_has_prefix(host, GITHUB_RAW_HOST ":")));
	split(t->path, &s);
	if (!raw_host && !(seg_is(&s, 0, "repos") && s.n >= 4) &&
	    !(seg_is(&s, 0, "raw") && s.n >= 5) &&
	    !(seg_is(&s, 0, "api") && seg_is(&s, 1, "v1")))
		return false;
	if (raw_host && s.n < 4)
		return false;
	memset(&g, 0, sizeof(g));
	g.env = env;
	g.req = req;
	g.rep = rep;
	if (env->store == NULL) {
		/*
		 * /raw/ may be a catalog folder; the rest is the API, which
		 * a device reaches only by its configuration: say why not.
		 */
		if (seg_is(&s, 0, "raw") && !raw_host)
			return false;
		log_warn("GitHub API request, but there is no release store "
		    "(start with --data DIR, or publish with 'ota publish')");
		json_error(&g, 404, "Not Found");
		return true;
	}
	base_url(&g);
	pthread_mutex_lock(env->store_lock);
	/* The API routes count, as on GitHub; raw files and 304s do not. */
	if (env->limits != NULL && seg_is(&s, 0, "repos") && !raw_host &&
	    (limit = client_key(&g, limit_key, sizeof(limit_key))) != 0 &&
	    over_limit(&g, limit_key, limit, &limit_st)) {
		pthread_mutex_unlock(env->store_lock);
		return true;
	}
	if (env->answers != NULL &&
	    store_generation(env->store, &gen) == OTA_OK &&
	    (key = cache_key(req, &hash)) != NULL) {
		sl = &env->answers->slot[hash % GITHUB_CACHE_SLOTS];
		if (sl->key != NULL && sl->gen == gen &&
		    strcmp(sl->key, key) == 0 && replay(&g, sl)) {
			count(&g, limit, limit_key, &limit_st);
			pthread_mutex_unlock(env->store_lock);
			free(key);
			return true;
		}
	}
	dispatch(&g, t, &s, raw_host);
	count(&g, limit, limit_key, &limit_st);
	if (sl != NULL && g.answer.status != 0) {
		slot_clear(sl);
		sl->gen = gen;
		sl->key = key;
		sl->a = g.answer;
		key = NULL;
		g.answer.body = NULL;
	}
	pthread_mutex_unlock(env->store_lock);
	free(g.answer.body);
	free(key);
	return true;
}
