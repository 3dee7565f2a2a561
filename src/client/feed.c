#include <stdlib.h>
#include <string.h>

#include "client/feed.h"
#include "common/json.h"
#include "common/str.h"
#include "common/banned.h"

#define FEED_MAX_NAME 255		/* one path component */
#define FEED_MAX_SIZE ((uint64_t)1 << 53)	/* exact as a JSON double */
#define FEED_MAX_EXP 1000000		/* |exponent| exact below this */
#define FEED_ENTRY_TOKENS 256		/* JSON values in one entry */
#define FEED_SHOWN 201			/* a name quoted in a message */
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

/*
 * Parses text[len] (not NUL-terminated) as one JSON value into j, with
 * *tok malloc'd for it (the caller frees it, also on failure). Counts
 * first, so the tokens cost what the text needs and no more, and at most
 * FEED_MAX_TOKENS: a megabyte of "[0,0,0,..." must not cost 20 MB.
 */
static enum ota_status
parse(struct json *j, const char *text, size_t len, size_t cap,
    struct json_tok **tok)
{
	*tok = NULL;
	if (len > cap || json_parse(j, text, len, NULL, 0, 0, NULL) != OTA_OK ||
	    j->ntok > FEED_MAX_TOKENS)
		return OTA_E_INVALID;
	if ((*tok = malloc(j->ntok * sizeof(**tok))) == NULL)
		return OTA_E_NOMEM;
	return json_parse(j, text, len, *tok, j->ntok, 0, NULL);
}

/* Member key of object obj if it is an object, else JSON_NONE. */
static size_t
member_obj(const struct json *j, size_t obj, const char *key)
{
	size_t t = json_get(j, obj, key);

	return t != JSON_NONE && j->tok[t].type == JSON_OBJECT ? t :
	    JSON_NONE;
}

/*
 * String member key of object obj, unescaped into buf[size]. OTA_OK;
 * OTA_E_NOTFOUND if there is none or it is no string (absent, as far as
 * the checks go); OTA_E_TOO_LARGE if it does not fit; OTA_E_INVALID if
 * it holds a \u0000, which would cut the C string short: a path
 * "main/x\u0000/../y" must not pass as "main/x".
 */
static enum ota_status
member_str(const struct json *j, size_t obj, const char *key, char *buf,
    size_t size)
{
	size_t t = json_get(j, obj, key), n;
	enum ota_status st;

	if (t == JSON_NONE || j->tok[t].type != JSON_STRING)
		return OTA_E_NOTFOUND;
	if ((st = json_string(j, t, buf, size, &n)) != OTA_OK)
		return st;
	if (n != strlen(buf)) {
		buf[0] = '\0';
		return OTA_E_INVALID;
	}
	return OTA_OK;
}

/*
 * String member key of object obj for a message, in buf[FEED_SHOWN]:
 * unescaped if it fits and holds no NUL, else its first bytes as
 * written ("" if there is none). str_fail masks any control byte in it.
 */
static const char *
shown(const struct json *j, size_t obj, const char *key, char *buf)
{
	size_t t = json_get(j, obj, key), n;

	buf[0] = '\0';
	if (t == JSON_NONE || j->tok[t].type != JSON_STRING ||
	    (json_string(j, t, buf, FEED_SHOWN, &n) == OTA_OK &&
	    n == strlen(buf)))
		return buf;
	n = j->tok[t].end - j->tok[t].start;
	if (n >= FEED_SHOWN)
		n = FEED_SHOWN - 1;
	memcpy(buf, j->text + j->tok[t].start, n);
	buf[n] = '\0';
	return buf;
}

enum ota_status
feed_config_parse(const char *text, size_t len, struct feed_config *out,
    char *err, size_t errsz)
{
	struct json_tok *tok;
	struct json j;
	size_t repo, ota, n;
	enum ota_status st, pat, key;

	memset(out, 0, sizeof(*out));
	if ((st = parse(&j, text, len, FEED_MAX_CONFIG, &tok)) != OTA_OK ||
	    j.tok[0].type != JSON_OBJECT) {
		free(tok);
		if (st == OTA_E_NOMEM)
			return st;
		return str_fail(err, errsz, OTA_E_INVALID, "not a JSON object "
		    "(want {\"gitrepo\": {\"url\": ...}})");
	}
	repo = member_obj(&j, 0, "gitrepo");
	if (repo == JSON_NONE || member_str(&j, repo, "url", out->url,
	    sizeof(out->url)) != OTA_OK || !http_url(out->url)) {
		st = str_fail(err, errsz, OTA_E_INVALID, "gitrepo.url is "
		    "missing or not an http:// or https:// URL");
		goto out;
	}
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
	pat = member_str(&j, repo, "github_pat", out->token,
	    sizeof(out->token));
	if (pat != OTA_E_NOTFOUND && (pat != OTA_OK ||
	    !str_printable(out->token) || strchr(out->token, ' ') != NULL)) {
		/* Never quote a token in a message. */
		st = str_fail(err, errsz, OTA_E_INVALID, "gitrepo.github_pat "
		    "is too long or holds spaces or control characters");
		goto out;
	}
	if ((ota = member_obj(&j, 0, "ota")) == JSON_NONE)
		goto out;
	key = member_str(&j, ota, "public_key", out->public_key,
	    sizeof(out->public_key));
	if (key != OTA_E_NOTFOUND && key != OTA_OK) {
		st = str_fail(err, errsz, OTA_E_INVALID, "ota.public_key is "
		    "too long or holds a NUL");
		goto out;
	}
	key = member_str(&j, ota, "device_id", out->device_id,
	    sizeof(out->device_id));
	if (key != OTA_E_NOTFOUND && (key != OTA_OK ||
	    !str_device_id_valid(out->device_id))) {
		st = str_fail(err, errsz, OTA_E_INVALID, "ota.device_id must "
		    "be 1-64 of A-Z a-z 0-9 . _ : -");
		goto out;
	}
out:
	if (st != OTA_OK)
		memset(out, 0, sizeof(*out));
	free(tok);
	return st;
}

/*
 * Number token t if it is a whole number in [0, 2^53], by value as
 * cJSON's double saw it before us: 12, 12.0, 1.2e1 and 120e-1 are 12,
 * -0 is 0, 1.5 and -1 are refused. Exact decimal, no strtod (which
 * would bring in the locale): v gathers the significant digits without
 * their trailing zeros, and the value is v * 10^scale.
 */
static bool
whole(const struct json *j, size_t t, uint64_t *out)
{
	const char *p, *end;
	uint64_t v = 0;
	int64_t zeros = 0, frac = 0, exp = 0, scale;
	bool neg, in_frac = false, exp_neg = false;

	if (t == JSON_NONE || j->tok[t].type != JSON_NUMBER)
		return false;
	p = j->text + j->tok[t].start;
	end = j->text + j->tok[t].end;
	if ((neg = *p == '-'))
		p++;
	for (; p < end && *p != 'e' && *p != 'E'; p++) {
		if (*p == '.') {
			in_frac = true;
			continue;
		}
		if (in_frac)
			frac++;
		if (*p == '0') {
			if (v > 0)
				zeros++;
			continue;
		}
		/* v only grows, and a value below v is no whole number. */
		for (; zeros >= 0; zeros--) {
			if (v > FEED_MAX_SIZE / 10)
				return false;
			v *= 10;
		}
		zeros = 0;
		if ((v += (uint64_t)(*p - '0')) > FEED_MAX_SIZE)
			return false;
	}
	if (p < end) {		/* past the 'e': a sign, then digits */
		if (*++p == '-' || *p == '+')
			exp_neg = *p++ == '-';
	}
	for (; p < end; p++)
		if (exp < FEED_MAX_EXP)
			exp = exp * 10 + (*p - '0');
	if (v == 0) {
		*out = 0;		/* -0 too: cJSON's -0.0 >= 0 */
		return true;
	}
	scale = zeros + (exp_neg ? -exp : exp) - frac;
	if (neg || scale < 0)
		return false;
	for (; scale > 0; scale--) {
		if (v > FEED_MAX_SIZE / 10)
			return false;
		v *= 10;
	}
	*out = v;
	return true;
}

enum ota_status
feed_release_parse(const char *text, size_t len, struct feed_release *out,
    char *err, size_t errsz)
{
	struct json_tok *tok;
	struct json j;
	char msg[FEED_SHOWN];
	size_t ota, mv;
	enum ota_status st, tag, url;

	memset(out, 0, sizeof(*out));
	if ((st = parse(&j, text, len, FEED_MAX_JSON, &tok)) != OTA_OK ||
	    j.tok[0].type != JSON_OBJECT) {
		free(tok);
		if (st == OTA_E_NOMEM)
			return st;
		return str_fail(err, errsz, OTA_E_PROTOCOL, "the answer is not "
		    "a JSON object (a captive portal or a proxy page?)");
	}
	tag = member_str(&j, 0, "tag_name", out->tag, sizeof(out->tag));
	if (tag == OTA_E_NOTFOUND) {
		(void)shown(&j, 0, "message", msg);
		st = str_fail(err, errsz, OTA_E_NOTFOUND, "no release%s%.80s%s",
		    msg[0] ? " (\"" : "", msg, msg[0] ? "\")" : "");
		goto out;
	}
	if (tag != OTA_OK || out->tag[0] == '\0' || !str_printable(out->tag)) {
		st = str_fail(err, errsz, OTA_E_PROTOCOL, "tag_name is empty, "
		    "too long or holds control characters");
		goto out;
	}
	if ((ota = member_obj(&j, 0, "ota")) == JSON_NONE)
		goto out;
	url = member_str(&j, ota, "manifest_url", out->manifest_url,
	    sizeof(out->manifest_url));
	mv = json_get(&j, ota, "metadata_version");
	if ((url != OTA_E_NOTFOUND && (url != OTA_OK ||
	    !http_url(out->manifest_url))) ||
	    (mv != JSON_NONE && !whole(&j, mv, &out->metadata_version))) {
		st = str_fail(err, errsz, OTA_E_PROTOCOL, "the release's "
		    "ota object is malformed");
		goto out;
	}
out:
	if (st != OTA_OK)
		memset(out, 0, sizeof(*out));
	free(tok);
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

/*
 * Checks and copies listing entry j (token 0, an object) of dir; false
 * says why in err.
 */
static bool
entry(const struct json *j, const char *dir, struct feed_entry *out,
    char *err, size_t errsz)
{
	char type[8], name[FEED_MAX_NAME + 1], shown_path[FEED_SHOWN];
	char shown_type[FEED_SHOWN];
	enum ota_status tst, nst, pst;
	size_t dlen = strlen(dir);

	memset(out, 0, sizeof(*out));
	tst = member_str(j, 0, "type", type, sizeof(type));
	nst = member_str(j, 0, "name", name, sizeof(name));
	pst = member_str(j, 0, "path", out->path, sizeof(out->path));
	if (tst == OTA_E_NOTFOUND || nst == OTA_E_NOTFOUND ||
	    pst == OTA_E_NOTFOUND) {
		(void)str_fail(err, errsz, OTA_E_PROTOCOL, "an entry in '%s' "
		    "lacks type, name or path", dir);
		return false;
	}
	(void)shown(j, 0, "path", shown_path);
	/* Anchored: "main/domain/x.py" is domain/x.py, not "dox.py" (D11). */
	if (nst != OTA_OK || pst != OTA_OK || !name_valid(name) ||
	    strncmp(out->path, dir, dlen) != 0 || out->path[dlen] != '/' ||
	    strcmp(out->path + dlen + 1, name) != 0) {
		(void)str_fail(err, errsz, OTA_E_PROTOCOL, "entry '%.200s' "
		    "of '%s' is not a file name below it", shown_path, dir);
		return false;
	}
	(void)!str_copy(out->rel, sizeof(out->rel),
	    strchr(out->path, '/') + 1);
	if (tst == OTA_OK && strcmp(type, "dir") == 0) {
		out->type = FEED_DIR;
		return true;
	}
	if (tst != OTA_OK || strcmp(type, "file") != 0) {
		(void)str_fail(err, errsz, OTA_E_PROTOCOL, "entry '%.200s' is "
		    "a %.20s, not a file or a directory", shown_path,
		    shown(j, 0, "type", shown_type));
		return false;
	}
	out->type = FEED_FILE;
	if (member_str(j, 0, "sha", out->sha, sizeof(out->sha)) != OTA_OK ||
	    !sha_valid(out->sha) ||
	    !whole(j, json_get(j, 0, "size"), &out->size) ||
	    member_str(j, 0, "download_url", out->download_url,
	    sizeof(out->download_url)) != OTA_OK ||
	    !http_url(out->download_url)) {
		(void)str_fail(err, errsz, OTA_E_PROTOCOL, "file '%.200s' "
		    "lacks a Git blob sha, a size or an http(s) download_url",
		    shown_path);
		return false;
	}
	return true;
}

/* One entry's checked copy and its tokens: one allocation per walk. */
struct walk {
	struct feed_entry e;
	struct json_tok tok[FEED_ENTRY_TOKENS];
};

/*
 * Two passes over the text, one entry's tokens at a time: the first
 * checks the syntax and counts the entries, so that, as before, a
 * broken or oversized listing hands out nothing; the second checks
 * each entry and hands it to fn.
 */
enum ota_status
feed_listing_walk(const char *text, size_t len, const char *dir,
    size_t max, feed_entry_fn fn, void *ctx, char *err, size_t errsz)
{
	struct json_iter it;
	struct json j;
	struct walk *w;
	enum ota_status st;

	if (len > FEED_MAX_JSON ||
	    json_iter_begin(&it, text, len, 0) != OTA_OK)
		return str_fail(err, errsz, OTA_E_PROTOCOL, "the listing of "
		    "'%s' is not a JSON array", dir);
	while ((st = json_iter_next(&it, &j, NULL, 0, NULL)) == OTA_OK)
		;
	if (st != OTA_E_NOTFOUND)
		return str_fail(err, errsz, OTA_E_PROTOCOL, "the listing of "
		    "'%s' is not a JSON array%s", dir, st == OTA_E_TOO_LARGE ?
		    " (nested too deeply)" : "");
	if (it.count > max)
		return str_fail(err, errsz, OTA_E_TOO_LARGE, "the listing of "
		    "'%s' has more than %lu entries", dir, (unsigned long)max);
	if ((w = malloc(sizeof(*w))) == NULL)
		return OTA_E_NOMEM;
	(void)!json_iter_begin(&it, text, len, 0);	/* it did above */
	for (;;) {
		st = json_iter_next(&it, &j, w->tok, FEED_ENTRY_TOKENS, NULL);
		if (st == OTA_E_NOTFOUND) {
			st = OTA_OK;
			break;
		}
		if (st == OTA_E_TOO_LARGE) {
			st = str_fail(err, errsz, OTA_E_PROTOCOL, "entry %lu "
			    "of the listing of '%s' holds more than %d JSON "
			    "values", (unsigned long)it.count + 1, dir,
			    FEED_ENTRY_TOKENS);
			break;
		}
		if (st != OTA_OK)
			break;
		if (j.tok[0].type != JSON_OBJECT) {
			st = str_fail(err, errsz, OTA_E_PROTOCOL, "the listing "
			    "of '%s' holds a non-object", dir);
			break;
		}
		if (!entry(&j, dir, &w->e, err, errsz)) {
			st = OTA_E_PROTOCOL;
			break;
		}
		if ((st = fn(ctx, &w->e)) != OTA_OK)
			break;
	}
	free(w);
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
