#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "client/feed.h"
#include "common/str.h"
#include "common/banned.h"

#define FEED_MAX_NAME 255		/* one path component */
#define FEED_MAX_SIZE 9007199254740992.0	/* 2^53: exact in JSON */
#define GITHUB_WEB "https://github.com/"
#define GITHUB_API "https://api.github.com/repos/"

/* An http:// or https:// URL with a host, printable, without spaces. */
static bool
http_url(const char *s)
{
	const char *host;

	if (str_has_prefix(s, "http://"))
		host = s + strlen("http://");
	else if (str_has_prefix(s, "https://"))
		host = s + strlen("https://");
	else
		return false;
	return host[0] != '\0' && host[0] != '/' && host[0] != '?' &&
	    host[0] != '#' && strlen(s) < FEED_MAX_URL && str_printable(s) &&
	    strchr(s, ' ') == NULL;
}

static const char *
str_item(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* Parses text[len] (not NUL-terminated) as JSON; NULL if it is not. */
static cJSON *
parse(const char *text, size_t len, size_t cap)
{
	if (len > cap || memchr(text, '\0', len) != NULL)
		return NULL;
	return cJSON_ParseWithLength(text, len);
}

enum ota_status
feed_config_parse(const char *text, size_t len, struct feed_config *out,
    char *err, size_t errsz)
{
	const cJSON *repo, *ota;
	const char *url, *pat, *key;
	enum ota_status st = OTA_OK;
	cJSON *root;
	size_t n;

	memset(out, 0, sizeof(*out));
	if ((root = parse(text, len, FEED_MAX_CONFIG)) == NULL ||
	    !cJSON_IsObject(root)) {
		cJSON_Delete(root);
		return str_fail(err, errsz, OTA_E_INVALID, "not a JSON object "
		    "(want {\"gitrepo\": {\"url\": ...}})");
	}
	repo = cJSON_GetObjectItemCaseSensitive(root, "gitrepo");
	url = cJSON_IsObject(repo) ? str_item(repo, "url") : NULL;
	if (url == NULL || !http_url(url)) {
		st = str_fail(err, errsz, OTA_E_INVALID, "gitrepo.url is "
		    "missing or not an http:// or https:// URL");
		goto out;
	}
	(void)!str_copy(out->url, sizeof(out->url), url);
	/* Trailing slashes go, but never into the scheme's "//". */
	n = strlen(out->url);
	while (n > 0 && out->url[n - 1] == '/' && out->url[n - 2] != '/')
		out->url[--n] = '\0';
	/* Anchored, unlike the updater's replace() anywhere in the URL. */
	if (str_has_prefix(out->url, GITHUB_WEB))
		st = str_fmt(out->api, sizeof(out->api), "%s%s", GITHUB_API,
		    out->url + strlen(GITHUB_WEB));
	else
		st = str_copy(out->api, sizeof(out->api), out->url);
	if (st != OTA_OK) {
		st = str_fail(err, errsz, OTA_E_INVALID, "gitrepo.url is too "
		    "long");
		goto out;
	}
	if ((pat = str_item(repo, "github_pat")) != NULL &&
	    (str_copy(out->token, sizeof(out->token), pat) != OTA_OK ||
	    !str_printable(pat) || strchr(pat, ' ') != NULL)) {
		/* Never quote a token in a message. */
		st = str_fail(err, errsz, OTA_E_INVALID, "gitrepo.github_pat "
		    "is too long or holds spaces or control characters");
		goto out;
	}
	ota = cJSON_GetObjectItemCaseSensitive(root, "ota");
	if (cJSON_IsObject(ota) && (key = str_item(ota, "public_key")) !=
	    NULL && str_copy(out->public_key, sizeof(out->public_key), key) !=
	    OTA_OK) {
		st = str_fail(err, errsz, OTA_E_INVALID, "ota.public_key is "
		    "too long");
		goto out;
	}
	if (cJSON_IsObject(ota) && (key = str_item(ota, "device_id")) !=
	    NULL && (str_copy(out->device_id, sizeof(out->device_id), key) !=
	    OTA_OK || strspn(key, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmn"
	    "opqrstuvwxyz0123456789._:-") != strlen(key) || key[0] == '\0')) {
		st = str_fail(err, errsz, OTA_E_INVALID, "ota.device_id must be "
		    "1-64 of A-Z a-z 0-9 . _ : -");
		goto out;
	}
out:
	if (st != OTA_OK)
		memset(out, 0, sizeof(*out));
	cJSON_Delete(root);
	return st;
}

/* A JSON number that is a whole number in [0, 2^53]. */
static bool
whole(const cJSON *v, uint64_t *out)
{
	double d;

	if (!cJSON_IsNumber(v))
		return false;
	d = v->valuedouble;
	if (!(d >= 0 && d <= FEED_MAX_SIZE) || (double)(uint64_t)d != d)
		return false;
	*out = (uint64_t)d;
	return true;
}

enum ota_status
feed_release_parse(const char *text, size_t len, struct feed_release *out,
    char *err, size_t errsz)
{
	const cJSON *ota, *mv;
	const char *tag, *msg, *url;
	enum ota_status st = OTA_OK;
	cJSON *root;

	memset(out, 0, sizeof(*out));
	if ((root = parse(text, len, FEED_MAX_JSON)) == NULL ||
	    !cJSON_IsObject(root)) {
		cJSON_Delete(root);
		return str_fail(err, errsz, OTA_E_PROTOCOL, "the answer is not "
		    "a JSON object (a captive portal or a proxy page?)");
	}
	if ((tag = str_item(root, "tag_name")) == NULL) {
		msg = str_item(root, "message");
		st = str_fail(err, errsz, OTA_E_NOTFOUND, "no release%s%.80s%s",
		    msg ? " (\"" : "", msg ? msg : "", msg ? "\")" : "");
		goto out;
	}
	if (str_copy(out->tag, sizeof(out->tag), tag) != OTA_OK ||
	    tag[0] == '\0' || !str_printable(tag)) {
		st = str_fail(err, errsz, OTA_E_PROTOCOL, "tag_name is empty, "
		    "too long or holds control characters");
		goto out;
	}
	ota = cJSON_GetObjectItemCaseSensitive(root, "ota");
	if (cJSON_IsObject(ota)) {
		url = str_item(ota, "manifest_url");
		mv = cJSON_GetObjectItemCaseSensitive(ota, "metadata_version");
		if ((url != NULL && !http_url(url)) ||
		    (mv != NULL && !whole(mv, &out->metadata_version))) {
			st = str_fail(err, errsz, OTA_E_PROTOCOL, "the release's "
			    "ota object is malformed");
			goto out;
		}
		if (url != NULL)
			(void)!str_copy(out->manifest_url,
			    sizeof(out->manifest_url), url);
	}
out:
	if (st != OTA_OK)
		memset(out, 0, sizeof(*out));
	cJSON_Delete(root);
	return st;
}

/* One path component a device can create: not ".", "..", "/", "\\". */
static bool
name_valid(const char *s)
{
	size_t n = strlen(s);

	return n > 0 && n <= FEED_MAX_NAME && strcmp(s, ".") != 0 &&
	    strcmp(s, "..") != 0 && strchr(s, '/') == NULL &&
	    strchr(s, '\\') == NULL && str_printable(s);
}

static bool
sha_valid(const char *s)
{
	size_t i;

	for (i = 0; i < 40; i++)
		if (!((s[i] >= '0' && s[i] <= '9') ||
		    (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return s[40] == '\0';
}

/* Checks and copies one listing entry of dir; false says why in err. */
static bool
entry(const cJSON *e, const char *dir, struct feed_entry *out, char *err,
    size_t errsz)
{
	const char *type = str_item(e, "type"), *name = str_item(e, "name");
	const char *path = str_item(e, "path"), *sha, *url;
	size_t dlen = strlen(dir);

	memset(out, 0, sizeof(*out));
	if (type == NULL || name == NULL || path == NULL) {
		(void)str_fail(err, errsz, OTA_E_PROTOCOL, "an entry in '%s' "
		    "lacks type, name or path", dir);
		return false;
	}
	/* Anchored: "main/domain/x.py" is domain/x.py, not "dox.py" (D11). */
	if (!name_valid(name) || strncmp(path, dir, dlen) != 0 ||
	    path[dlen] != '/' || strcmp(path + dlen + 1, name) != 0 ||
	    str_copy(out->path, sizeof(out->path), path) != OTA_OK) {
		(void)str_fail(err, errsz, OTA_E_PROTOCOL, "entry '%.200s' "
		    "of '%s' is not a file name below it", path, dir);
		return false;
	}
	(void)!str_copy(out->rel, sizeof(out->rel),
	    strchr(out->path, '/') + 1);
	if (strcmp(type, "dir") == 0) {
		out->type = FEED_DIR;
		return true;
	}
	if (strcmp(type, "file") != 0) {
		(void)str_fail(err, errsz, OTA_E_PROTOCOL, "entry '%.200s' is "
		    "a %.20s, not a file or a directory", path, type);
		return false;
	}
	out->type = FEED_FILE;
	sha = str_item(e, "sha");
	url = str_item(e, "download_url");
	if (sha == NULL || !sha_valid(sha) ||
	    !whole(cJSON_GetObjectItemCaseSensitive(e, "size"), &out->size) ||
	    url == NULL || !http_url(url)) {
		(void)str_fail(err, errsz, OTA_E_PROTOCOL, "file '%.200s' "
		    "lacks a Git blob sha, a size or an http(s) download_url",
		    path);
		return false;
	}
	memcpy(out->sha, sha, sizeof(out->sha));
	(void)!str_copy(out->download_url, sizeof(out->download_url), url);
	return true;
}

enum ota_status
feed_listing_walk(const char *text, size_t len, const char *dir,
    size_t max, feed_entry_fn fn, void *ctx, char *err, size_t errsz)
{
	struct feed_entry *one;
	const cJSON *e;
	enum ota_status st = OTA_OK;
	cJSON *root;

	if ((root = parse(text, len, FEED_MAX_JSON)) == NULL ||
	    !cJSON_IsArray(root)) {
		cJSON_Delete(root);
		return str_fail(err, errsz, OTA_E_PROTOCOL, "the listing of "
		    "'%s' is not a JSON array", dir);
	}
	/* Checked whole before the first entry is handed out. */
	if ((size_t)cJSON_GetArraySize(root) > max) {
		cJSON_Delete(root);
		return str_fail(err, errsz, OTA_E_TOO_LARGE, "the listing of "
		    "'%s' has more than %zu entries", dir, max);
	}
	if ((one = malloc(sizeof(*one))) == NULL) {
		cJSON_Delete(root);
		return OTA_E_NOMEM;
	}
	cJSON_ArrayForEach(e, root) {
		if (!cJSON_IsObject(e)) {
			st = str_fail(err, errsz, OTA_E_PROTOCOL, "the listing "
			    "of '%s' holds a non-object", dir);
			break;
		}
		if (!entry(e, dir, one, err, errsz)) {
			st = OTA_E_PROTOCOL;
			break;
		}
		if ((st = fn(ctx, one)) != OTA_OK)
			break;
	}
	free(one);
	cJSON_Delete(root);
	return st;
}

struct collect {
	struct feed_entry *out;
	size_t n;
};

static enum ota_status
collect_one(void *ctx, const struct feed_entry *e)
{
	struct collect *c = ctx;

	c->out[c->n++] = *e;
	return OTA_OK;
}

enum ota_status
feed_listing_parse(const char *text, size_t len, const char *dir,
    struct feed_entry *out, size_t max, size_t *n, char *err, size_t errsz)
{
	struct collect c = { out, 0 };
	enum ota_status st;

	st = feed_listing_walk(text, len, dir, max, collect_one, &c, err,
	    errsz);
	*n = st == OTA_OK ? c.n : 0;
	return st;
}
