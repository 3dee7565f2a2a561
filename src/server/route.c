#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/log.h"
#include "common/path.h"
#include "common/str.h"
#include "common/url.h"
#include "server/api.h"
#include "server/catalog.h"
#include "server/espfeed.h"
#include "server/github.h"
#include "server/httphdr.h"
#include "server/route.h"
#include "server/target.h"
#include "common/banned.h"

#define ROUTE_MAX_QUERY_VALUE 1024

void
reply_init(struct reply *rep)
{
	memset(rep, 0, sizeof(*rep));
	rep->fd = -1;
}

void
reply_release(struct reply *rep)
{
	free(rep->body);
	rep->body = NULL;
	if (rep->fd >= 0)
		close(rep->fd);
	rep->fd = -1;
}

const char *
reply_header(const struct reply *rep, const char *name)
{
	size_t i;

	for (i = 0; i < rep->nhdr; i++)
		if (strcasecmp(rep->hdr[i].name, name) == 0)
			return rep->hdr[i].value;
	return NULL;
}

void
reply_add(struct reply *rep, const char *name, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (rep->nhdr == REPLY_MAX_HEADERS)
		return;
	va_start(ap, fmt);
	n = vsnprintf(rep->hdr[rep->nhdr].value, REPLY_MAX_VALUE, fmt, ap);
	va_end(ap);
	if (n < 0 || n >= REPLY_MAX_VALUE)
		return;
	rep->hdr[rep->nhdr++].name = name;
}

void
reply_body(struct reply *rep, int status, const char *type, char *body,
    size_t len)
{
	free(rep->body);
	rep->status = status;
	rep->body = body;
	rep->body_len = len;
	reply_add(rep, "Content-Type", "%s", type);
}

static const char *
error_text(int status)
{
	switch (status) {
	case 400: return "Bad Request: the request is malformed\n";
	case 401: return "Unauthorized: send a valid token\n";
	case 403: return "Forbidden\n";
	case 404: return "Not Found\n";
	case 405: return "Method Not Allowed: use GET or HEAD\n";
	case 414: return "URI Too Long\n";
	case 409: return "Conflict: it exists already\n";
	case 413: return "Payload Too Large\n";
	case 416: return "Range Not Satisfiable\n";
	case 501: return "Not Implemented\n";
	case 503: return "Service Unavailable: try again later\n";
	}
	return "Internal Server Error: see the server log\n";
}

void
route_error(struct reply *rep, int status)
{
	const char *text = error_text(status);
	char *body = strdup(text);

	reply_release(rep);
	rep->nhdr = 0;
	reply_body(rep, status, "text/plain; charset=utf-8", body,
	    body ? strlen(text) : 0);
	if (status == 503)
		reply_add(rep, "Retry-After", "%d", CONFIG_RETRY_AFTER);
	if (status == 405)
		reply_add(rep, "Allow", "GET, HEAD");
}

int
http_status(enum ota_status st)
{
	switch (st) {
	case OTA_OK:		return 200;
	case OTA_E_INVALID:	return 400;
	case OTA_E_FORBIDDEN:	return 403;
	case OTA_E_NOTFOUND:	return 404;
	case OTA_E_TOO_LARGE:	return 414;
	case OTA_E_UNSUPPORTED:	return 501;
	case OTA_E_EXISTS:	return 409;
	case OTA_E_AUTH:	return 401;
	case OTA_E_BUSY:
	case OTA_E_CHANGED:
	case OTA_E_NOMEM:	return 503;
	case OTA_E_IO:
	case OTA_E_SIGNATURE:
	case OTA_E_EXPIRED:
	case OTA_E_NETWORK:
	case OTA_E_TIMEOUT:
	case OTA_E_PROTOCOL:	break;
	}
	return 500;
}

static void
handle_catalog(const struct route_env *env, const struct target *t,
    struct reply *rep)
{
	char op[ROUTE_MAX_QUERY_VALUE], path[ROUTE_MAX_QUERY_VALUE];
	char rel[TARGET_MAX_PATH], dir[PATH_MAX];
	enum ota_status st;
	struct buf out;
	char *body;
	size_t len;

	/* parse_qs semantics: blank is absent, the first value wins. */
	if (url_query_get(t->query, "op", op, sizeof(op)) != OTA_OK ||
	    strcmp(op, "list") != 0) {
		route_error(rep, 403);
		return;
	}
	st = url_query_get(t->query, "path", path, sizeof(path));
	if (st == OTA_E_NOTFOUND)
		st = str_copy(path, sizeof(path), ".");
	/* An absolute path was the reference's traversal too: refuse it. */
	if (st == OTA_OK && path[0] == '/')
		st = OTA_E_FORBIDDEN;
	if (st == OTA_OK)
		st = path_normalize(path, rel, sizeof(rel));
	if (st == OTA_OK)
		st = path_resolve(env->cfg->root, rel, dir, sizeof(dir));
	if (st != OTA_OK) {
		route_error(rep, st == OTA_E_INVALID ? 403 : http_status(st));
		return;
	}
	buf_init(&out, CATALOG_MAX_BYTES);
	if ((st = catalog_list(env->cfg->root, dir, &out)) != OTA_OK) {
		buf_release(&out);
		if (st == OTA_E_TOO_LARGE)
			log_error("catalog '%s' lists more than %d bytes",
			    dir, CATALOG_MAX_BYTES);
		route_error(rep, http_status(st == OTA_E_TOO_LARGE ?
		    OTA_E_IO : st));
		return;
	}
	body = buf_take(&out, &len);
	reply_body(rep, 200, "application/json", body, len);
}

/* Content-Disposition filename: as the reference (unquoted) when safe. */
static void
add_disposition(struct reply *rep, const char *name)
{
	char safe[REPLY_MAX_VALUE / 2];
	size_t i, n = strlen(name);
	int plain = n > 0 && n < sizeof(safe);

	for (i = 0; plain && i < n; i++) {
		unsigned char c = (unsigned char)name[i];

		plain = c > 0x20 && c < 0x7f && !strchr("\"\\;,", c);
	}
	if (plain) {
		reply_add(rep, "Content-Disposition",
		    "attachment; filename=%s", name);
		return;
	}
	for (i = 0; i < n && i < sizeof(safe) - 1; i++) {
		unsigned char c = (unsigned char)name[i];

		safe[i] = (c >= 0x20 && c < 0x7f && c != '"' && c != '\\')
		    ? (char)c : '_';
	}
	safe[i] = '\0';
	reply_add(rep, "Content-Disposition", "attachment; filename=\"%s\"",
	    safe);
}

static void
note_device(struct reply *rep, const struct esp_info *esp)
{
	char mac[40], ver[72], md5[40];

	if (esp->family == ESP_NONE)
		return;
	log_escape(mac, sizeof(mac), esp->sta_mac ? esp->sta_mac : "-");
	log_escape(ver, sizeof(ver), esp->version ? esp->version : "-");
	log_escape(md5, sizeof(md5), esp->sketch_md5 ? esp->sketch_md5 : "-");
	(void)!str_fmt(rep->note, sizeof(rep->note),
	    "%s mac=%s version=%s sketch-md5=%s",
	    espgate_family_name(esp->family), mac, ver, md5);
}

/* 304 when the device already runs this image (its sketch MD5 matches). */
static int
device_runs(const struct esp_info *esp, const struct file_digest *d)
{
	if (esp->sketch_md5 == NULL)
		return 0;
	if (esp->mode != NULL && strcmp(esp->mode, "sketch") != 0)
		return 0;
	return strcasecmp(esp->sketch_md5, d->md5) == 0;
}

static void
handle_download(const struct route_env *env, const struct route_req *req,
    const struct target *t, struct reply *rep)
{
	struct file_digest d;
	struct esp_info esp;
	enum ota_status st;
	struct stat sb;
	int fd = -1;

	st = espgate_check(env->cfg->gate, req->header, req->header_ctx, &esp);
	note_device(rep, &esp);
	if (st != OTA_OK) {
		char ua[96];
		const char *v = req->header(req->header_ctx, "User-Agent");

		log_escape(ua, sizeof(ua), v ? v : "(none)");
		if (esp.family == ESP_NONE)
			log_info("refusing download: User-Agent '%s' is not an "
			    "ESP httpUpdate client (see --gate)", ua);
		else
			log_info("refusing download: header x-%s-%s missing "
			    "(see --gate relaxed)",
			    espgate_family_name(esp.family), esp.missing);
		route_error(rep, 403);
		return;
	}
	if (t->path[0] == '\0') {
		route_error(rep, 403);
		return;
	}
	st = path_open(env->cfg->root, env->cfg->root_fd, t->path, &fd);
	if (st == OTA_OK && fstat(fd, &sb) != 0)
		st = OTA_E_IO;
	if (st == OTA_OK && !S_ISREG(sb.st_mode))
		st = OTA_E_FORBIDDEN;
	if (st == OTA_OK && (st = filecache_get(env->cache, fd, &sb, &d)) !=
	    OTA_OK)
	{
		char name[TARGET_MAX_PATH];

		log_escape(name, sizeof(name), t->path);
		log_error("cannot hash '%s/%s': %s", env->cfg->root, name,
		    ota_status_str(st));
	}
	if (st != OTA_OK) {
		if (fd >= 0)
			close(fd);
		route_error(rep, http_status(st));
		return;
	}
	if (!env->cfg->always_send && esp.family != ESP_NONE &&
	    device_runs(&esp, &d)) {
		route_not_modified(rep, fd, (uint64_t)sb.st_size, &d);
		return;
	}
	route_send_fd(req, fd, (uint64_t)sb.st_size, &d,
	    "application/octet-stream", rep);
	if (rep->status == 200 || rep->status == 206)
		/* The name asked for, as the reference: a link's, not its
		 * target's. */
		add_disposition(rep, path_basename(t->path));
}

void
route_not_modified(struct reply *rep, int fd, uint64_t size,
    const struct file_digest *d)
{
	/* The fd stays: httpd.c sizes the 304 by it and sends no body. */
	rep->fd = fd;
	rep->length = size;
	rep->status = 304;
	reply_add(rep, "ETag", "\"%s\"", d->sha256);
	reply_add(rep, "x-MD5", "%s", d->md5);
}

void
route_send_fd(const struct route_req *req, int fd, uint64_t size,
    const struct file_digest *d, const char *type, struct reply *rep)
{
	char etag[80];
	enum range_result rr = RANGE_NONE;
	const char *if_range;
	uint64_t start = 0, len = 0;

	(void)!str_fmt(etag, sizeof(etag), "\"%s\"", d->sha256);
	if (etag_match(req->header(req->header_ctx, "If-None-Match"), etag)) {
		route_not_modified(rep, fd, size, d);
		return;
	}
	if_range = req->header(req->header_ctx, "If-Range");
	if (if_range == NULL || strcmp(if_range, etag) == 0)
		rr = range_parse(req->header(req->header_ctx, "Range"), size,
		    &start, &len);
	if (rr == RANGE_UNSATISFIABLE) {
		close(fd);
		route_error(rep, 416);
		reply_add(rep, "Content-Range", "bytes */%" PRIu64, size);
		return;
	}
	rep->fd = fd;
	rep->length = size;
	rep->status = 200;
	reply_add(rep, "Content-Type", "%s", type);
	if (d->md5[0] != '\0')
		reply_add(rep, "x-MD5", "%s", d->md5);
	reply_add(rep, "x-SHA256", "%s", d->sha256);
	reply_add(rep, "ETag", "%s", etag);
	reply_add(rep, "Accept-Ranges", "bytes");
	if (rr == RANGE_OK) {
		rep->status = 206;
		rep->offset = start;
		rep->length = len;
		reply_add(rep, "Content-Range", "bytes %" PRIu64 "-%" PRIu64
		    "/%" PRIu64, start, start + len - 1, size);
	}
}

static int
method_known(const char *m)
{
	static const char *const known[] = {
		"POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE", "CONNECT",
	};
	size_t i;

	for (i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (strcmp(m, known[i]) == 0)
			return 1;
	return 0;
}

void
route_handle(const struct route_env *env, const struct route_req *req,
    struct reply *rep)
{
	struct target *t;
	enum ota_status st;

	if (strcmp(req->method, "GET") != 0 &&
	    strcmp(req->method, "HEAD") != 0) {
		route_error(rep, method_known(req->method) ? 405 : 501);
		return;
	}
	/* struct target is large; keep it off the server thread's stack. */
	if ((t = malloc(sizeof(*t))) == NULL) {
		route_error(rep, 503);
		return;
	}
	if ((st = target_parse(req->target, t)) != OTA_OK)
		route_error(rep, http_status(st));
	else if (github_handle(env, req, t, rep) ||
	    espfeed_handle(env, req, t, rep))
		;
	else if (t->is_catalog)
		handle_catalog(env, t, rep);
	else
		handle_download(env, req, t, rep);
	free(t);
}

struct route_upload *
route_upload_begin(const struct route_env *env, const struct route_req *req,
    uint64_t length, struct reply *rep)
{
	struct route_upload *u = NULL;
	struct target *t;
	enum ota_status st;

	if ((t = malloc(sizeof(*t))) == NULL) {
		route_error(rep, 503);
		return NULL;
	}
	if ((st = target_parse(req->target, t)) != OTA_OK)
		route_error(rep, http_status(st));
	else if (env->store != NULL && str_has_prefix(t->path, "api/v1/"))
		u = api_upload_begin(env, req, t->path, length, rep);
	else
		route_error(rep, method_known(req->method) ? 405 : 501);
	free(t);
	return u;
}

enum ota_status
route_upload_data(struct route_upload *u, const void *p, size_t n)
{
	return api_upload_data(u, p, n);
}

void
route_upload_end(struct route_upload *u, const struct route_req *req,
    struct reply *rep)
{
	api_upload_end(u, req, rep);
}

void
route_upload_abort(struct route_upload *u)
{
	api_upload_abort(u);
}
