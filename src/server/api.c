#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "common/buf.h"
#include "common/log.h"
#include "common/str.h"
#include "server/api.h"
#include "server/github.h"
#include "server/publish.h"
#include "common/banned.h"

enum api_op {
	API_BLOB, API_PUBLISH, API_PROMOTE, API_YANK, API_UNYANK, API_EVENT
};

struct route_upload {
	const struct route_env *env;
	enum api_op op;
	struct blob_writer *blob;	/* API_BLOB */
	struct buf body;		/* the JSON ops */
	enum ota_status failed;		/* first error while receiving */
	char owner[STORE_MAX_NAME + 1];
	char name[STORE_MAX_NAME + 1];
	char tag[STORE_MAX_TAG + 1];
	char device[STORE_MAX_DEVICE_ID + 1];
	char who[STORE_MAX_NAME + 32];	/* the token, for the log */
};

static void
api_error(struct reply *rep, const struct route_req *req, int status,
    const char *message)
{
	github_json_error(rep, req, status, message);
	if (status == 401)
		reply_add(rep, "WWW-Authenticate", "Bearer realm=\"ota\"");
}

/* Copies segment i of the '/'-split path into out; false if it won't do. */
static bool
segment(const char *path, size_t i, char *out, size_t outsz)
{
	const char *p = path, *end;
	size_t n;

	while (i-- > 0) {
		if ((p = strchr(p, '/')) == NULL)
			return false;
		p++;
	}
	end = strchr(p, '/');
	n = end ? (size_t)(end - p) : strlen(p);
	if (n == 0 || n >= outsz)
		return false;
	memcpy(out, p, n);
	out[n] = '\0';
	return true;
}

static size_t
segments(const char *path)
{
	size_t n = 1;

	for (; *path != '\0'; path++)
		n += *path == '/';
	return n;
}

/*
 * Which operation path and method name, with its repository and tag;
 * 404 or 405 (status) when none.
 */
static int
match(struct route_upload *u, const char *method, const char *path)
{
	size_t n = segments(path);
	char verb[16];

	if (n == 3 && strcmp(path, "api/v1/blobs") == 0) {
		u->op = API_BLOB;
		return strcmp(method, "PUT") == 0 ? 0 : 405;
	}
	if (n == 5 && str_has_prefix(path, "api/v1/devices/") &&
	    segment(path, 3, u->device, sizeof(u->device)) &&
	    segment(path, 4, verb, sizeof(verb)) &&
	    strcmp(verb, "events") == 0) {
		if (!str_device_id_valid(u->device))
			return 404;
		u->op = API_EVENT;
		return strcmp(method, "POST") == 0 ? 0 : 405;
	}
	if (!str_has_prefix(path, "api/v1/repos/") ||
	    !segment(path, 3, u->owner, sizeof(u->owner)) ||
	    !segment(path, 4, u->name, sizeof(u->name)) ||
	    !segment(path, 5, verb, sizeof(verb)) ||
	    strcmp(verb, "releases") != 0 || !store_name_valid(u->owner) ||
	    !store_name_valid(u->name))
		return 404;
	if (n == 6)
		u->op = API_PUBLISH;
	else if (n == 8 && segment(path, 6, u->tag, sizeof(u->tag)) &&
	    segment(path, 7, verb, sizeof(verb))) {
		if (strcmp(verb, "promote") == 0)
			u->op = API_PROMOTE;
		else if (strcmp(verb, "yank") == 0)
			u->op = API_YANK;
		else if (strcmp(verb, "unyank") == 0)
			u->op = API_UNYANK;
		else
			return 404;
	} else
		return 404;
	return strcmp(method, "POST") == 0 ? 0 : 405;
}

/* The token's verdict: 0, or the status to refuse with. */
static int
authorise(struct route_upload *u, const struct route_req *req,
    const char **why)
{
	const struct route_env *env = u->env;
	const char *secret = github_auth_token(req);
	struct store_token tok;
	struct store_repo repo;
	enum ota_status st;
	int status = 0;

	if (secret == NULL) {
		*why = u->op == API_EVENT ? "Requires authentication: send "
		    "'Authorization: Bearer TOKEN' (any token, e.g. ota token "
		    "create --scope read)" : "Requires authentication: send "
		    "'Authorization: Bearer TOKEN' (ota token create --scope "
		    "publish)";
		return 401;
	}
	pthread_mutex_lock(env->store_lock);
	st = store_token_check(env->store, secret, &tok);
	if (st == OTA_OK && u->op == API_EVENT)
		;	/* any token may report: devices hold read tokens */
	else if (st == OTA_OK && tok.scope < STORE_SCOPE_PUBLISH) {
		*why = "This token may only read: publishing needs a token "
		    "with the publish scope";
		status = 403;
	} else if (st == OTA_OK && tok.repo_id != 0 && u->op != API_BLOB &&
	    u->op != API_EVENT) {
		/* A token for one repository cannot create another. */
		st = store_repo_get(env->store, u->owner, u->name, &repo);
		if (st != OTA_OK || repo.id != tok.repo_id) {
			*why = "This token is for another repository";
			status = 403;
		}
		st = OTA_OK;
	}
	pthread_mutex_unlock(env->store_lock);
	if (st == OTA_E_AUTH) {
		*why = "Bad credentials";
		return 401;
	}
	if (st != OTA_OK) {
		*why = "Service Unavailable";
		return http_status(st == OTA_E_NOTFOUND ? OTA_E_IO : st);
	}
	(void)!str_fmt(u->who, sizeof(u->who), "token %lld (%s)",
	    (long long)tok.id, tok.name);
	return status;
}

struct route_upload *
api_upload_begin(const struct route_env *env, const struct route_req *req,
    const char *path, uint64_t length, struct reply *rep)
{
	struct route_upload *u = calloc(1, sizeof(*u));
	const char *why = NULL;
	uint64_t cap;
	int status;

	if (u == NULL) {
		route_error(rep, 503);
		return NULL;
	}
	u->env = env;
	if ((status = match(u, req->method, path)) != 0) {
		api_error(rep, req, status, status == 404 ? "Not Found" :
		    "Method Not Allowed");
		if (status == 405)
			reply_add(rep, "Allow", "%s", u->op == API_BLOB ?
			    "PUT" : "POST");
		free(u);
		return NULL;
	}
	if ((status = authorise(u, req, &why)) != 0) {
		api_error(rep, req, status, why);
		free(u);
		return NULL;
	}
	cap = u->op == API_BLOB ? API_MAX_BLOB : API_MAX_JSON;
	if (length != UINT64_MAX && length > cap) {
		api_error(rep, req, 413, u->op == API_BLOB ? "Payload Too "
		    "Large: a file may have at most 4 GiB" : "Payload Too "
		    "Large: a JSON body may have at most 1 MiB");
		free(u);
		return NULL;
	}
	if (u->op == API_BLOB) {
		enum ota_status st = blobstore_writer_open(
		    store_blobs(env->store), API_MAX_BLOB, &u->blob);

		if (st != OTA_OK) {
			log_error("cannot start an upload into '%s': %s",
			    store_dir(env->store), ota_status_str(st));
			api_error(rep, req, 500, "Server Error");
			free(u);
			return NULL;
		}
	} else
		buf_init(&u->body, API_MAX_JSON + 1);	/* + the NUL */
	return u;
}

enum ota_status
api_upload_data(struct route_upload *u, const void *p, size_t n)
{
	if (u->failed != OTA_OK)
		return u->failed;
	if (u->op == API_BLOB)
		u->failed = blobstore_writer_write(u->blob, p, n);
	else if (n > API_MAX_JSON - u->body.len)
		u->failed = OTA_E_TOO_LARGE;
	else
		u->failed = buf_add(&u->body, p, n);
	return u->failed;
}

void
api_upload_abort(struct route_upload *u)
{
	if (u == NULL)
		return;
	blobstore_writer_abort(u->blob);
	buf_release(&u->body);
	free(u);
}

static bool
json_bool(const cJSON *o, const char *key)
{
	return cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, key));
}

static const char *
json_str(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static cJSON *
release_summary(const struct route_upload *u, const struct store_release *r)
{
	char full[2 * STORE_MAX_NAME + 2];
	cJSON *o = cJSON_CreateObject();

	(void)!str_fmt(full, sizeof(full), "%s/%s", u->owner, u->name);
	cJSON_AddStringToObject(o, "repository", full);
	cJSON_AddStringToObject(o, "tag_name", r->tag);
	cJSON_AddStringToObject(o, "version", r->version);
	cJSON_AddStringToObject(o, "channel", r->channel);
	cJSON_AddBoolToObject(o, "draft", r->draft);
	cJSON_AddBoolToObject(o, "prerelease", r->prerelease);
	cJSON_AddBoolToObject(o, "yanked", r->yanked);
	cJSON_AddNumberToObject(o, "metadata_version",
	    (double)r->metadata_version);
	cJSON_AddStringToObject(o, "manifest_sha256", r->manifest);
	return o;
}

/* A string field of at most max bytes, "" when absent; false if bad. */
static bool
field(const cJSON *in, const char *key, char *out, size_t max)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(in, key);
	size_t n;

	out[0] = '\0';
	if (v == NULL || cJSON_IsNull(v))
		return true;
	if (!cJSON_IsString(v) || (n = strlen(v->valuestring)) > max ||
	    !str_printable(v->valuestring))
		return false;
	memcpy(out, v->valuestring, n + 1);
	return true;
}

/* POST /api/v1/devices/{id}/events: one report from a device's agent. */
static void
do_event(struct route_upload *u, const struct route_req *req,
    const cJSON *in, struct reply *rep)
{
	struct store_event e;
	enum ota_status st;
	cJSON *out;

	memset(&e, 0, sizeof(e));
	(void)!str_copy(e.device, sizeof(e.device), u->device);
	if (in == NULL || !field(in, "event", e.kind, STORE_MAX_EVENT_KIND) ||
	    e.kind[0] == '\0' || strspn(e.kind, "abcdefghijklmnopqrstuvwxyz_")
	    != strlen(e.kind) ||
	    !field(in, "repo", e.repo, sizeof(e.repo) - 1) ||
	    !field(in, "module", e.module, sizeof(e.module) - 1) ||
	    !field(in, "from_version", e.from_version, STORE_MAX_TAG) ||
	    !field(in, "to_version", e.to_version, STORE_MAX_TAG) ||
	    !field(in, "reason", e.reason, STORE_MAX_REASON)) {
		api_error(rep, req, 422, "Validation Failed: \"event\" (a-z _, "
		    "at most 32) is required; repo, module, from_version, "
		    "to_version and reason are short strings without control "
		    "characters");
		return;
	}
	if (req->peer != NULL)
		req->peer(req->header_ctx, e.peer, sizeof(e.peer));
	pthread_mutex_lock(u->env->store_lock);
	st = store_event_add(u->env->store, &e);
	pthread_mutex_unlock(u->env->store_lock);
	if (st != OTA_OK) {
		log_error("cannot record an event of device %s: %s (%s)",
		    e.device, ota_status_str(st), store_errmsg(u->env->store));
		api_error(rep, req, http_status(st), "Server Error");
		return;
	}
	if (strcmp(e.kind, "failure") == 0 || strcmp(e.kind, "rollback") == 0)
		log_warn("device %s: %s of %.100s %.40s -> %.40s: %.200s",
		    e.device, e.kind, e.repo[0] ? e.repo : e.module,
		    e.from_version, e.to_version, e.reason);
	out = cJSON_CreateObject();
	cJSON_AddNumberToObject(out, "id", (double)e.id);
	github_json(rep, req, 201, out);
}

/* The status for a publish_* failure. */
static int
change_status(enum ota_status st)
{
	if (st == OTA_E_INVALID)
		return 422;	/* GitHub's "Validation Failed" */
	return http_status(st);
}

static void
do_publish(struct route_upload *u, const struct route_req *req,
    const cJSON *in, struct reply *rep)
{
	const cJSON *files = cJSON_GetObjectItemCaseSensitive(in, "files");
	const cJSON *days = cJSON_GetObjectItemCaseSensitive(in,
	    "expires_days");
	struct publish_blobref *refs = NULL;
	struct sign_key *key = NULL;
	struct publish_opts o;
	struct store_release r;
	const cJSON *f;
	char err[512];
	enum ota_status st;
	size_t n = 0;

	memset(&o, 0, sizeof(o));
	store_release_init(&r);
	o.owner = u->owner;
	o.name = u->name;
	o.tag = json_str(in, "tag_name");
	o.channel = json_str(in, "channel");
	o.notes = json_str(in, "body");
	o.draft = json_bool(in, "draft");
	o.prerelease = json_bool(in, "prerelease");
	o.force = json_bool(in, "force");
	if (cJSON_IsNumber(days) && days->valuedouble >= 1 &&
	    days->valuedouble <= PUBLISH_MAX_EXPIRES_DAYS)
		o.expires_days = (unsigned)days->valuedouble;
	if (o.tag == NULL || !cJSON_IsArray(files) ||
	    cJSON_GetArraySize(files) < 1 ||
	    cJSON_GetArraySize(files) > STORE_MAX_ASSETS) {
		api_error(rep, req, 422, "Validation Failed: tag_name and "
		    "files [{\"path\", \"sha256\"}] are required");
		return;
	}
	if ((refs = calloc((size_t)cJSON_GetArraySize(files),
	    sizeof(*refs))) == NULL) {
		route_error(rep, 503);
		return;
	}
	cJSON_ArrayForEach(f, files) {
		refs[n].path = json_str(f, "path");
		refs[n].sha256 = json_str(f, "sha256");
		if (refs[n].path == NULL || refs[n].sha256 == NULL) {
			api_error(rep, req, 422, "Validation Failed: every file "
			    "needs \"path\" and \"sha256\"");
			free(refs);
			return;
		}
		n++;
	}
	pthread_mutex_lock(u->env->store_lock);
	st = publish_repo_key(u->env->store, u->owner, u->name, true, &key,
	    NULL, err, sizeof(err));
	if (st == OTA_OK) {
		o.keys = &key;
		o.nkeys = 1;
		st = publish_blobs(u->env->store, &o, refs, n, &r, err,
		    sizeof(err));
	}
	pthread_mutex_unlock(u->env->store_lock);
	sign_key_free(key);
	free(refs);
	if (st != OTA_OK) {
		log_info("api: %s could not publish %s/%s %s: %s", u->who,
		    u->owner, u->name, o.tag, err);
		api_error(rep, req, change_status(st), err);
		return;
	}
	log_info("api: %s published %s/%s %s (%zu file%s, metadata version "
	    "%llu)", u->who, u->owner, u->name, r.tag, n, n == 1 ? "" : "s",
	    (unsigned long long)r.metadata_version);
	github_json(rep, req, 201, release_summary(u, &r));
	store_release_release(&r);
}

static void
do_change(struct route_upload *u, const struct route_req *req,
    const cJSON *in, struct reply *rep)
{
	static const enum publish_change what[] = {
		[API_PROMOTE] = PUBLISH_PROMOTE,
		[API_YANK] = PUBLISH_YANK,
		[API_UNYANK] = PUBLISH_UNYANK,
	};
	struct store_release r;
	char err[512];
	enum ota_status st;

	pthread_mutex_lock(u->env->store_lock);
	st = publish_change(u->env->store, u->owner, u->name, u->tag,
	    what[u->op], in ? json_str(in, "channel") : NULL, 0, &r, err,
	    sizeof(err));
	pthread_mutex_unlock(u->env->store_lock);
	if (st != OTA_OK) {
		api_error(rep, req, change_status(st), err);
		return;
	}
	log_info("api: %s changed %s/%s %s (%s)", u->who, u->owner, u->name,
	    r.tag, u->op == API_PROMOTE ? "promoted" : u->op == API_YANK ?
	    "yanked" : "restored");
	github_json(rep, req, 200, release_summary(u, &r));
	store_release_release(&r);
}

/* The body as one JSON object and nothing after it but space; or NULL. */
static cJSON *
parse_object(struct buf *b)
{
	const char *end = NULL;
	cJSON *o;

	if (buf_add(b, "", 1) != OTA_OK)
		return NULL;
	o = cJSON_ParseWithOpts(b->data, &end, 0);
	if (o == NULL || !cJSON_IsObject(o) || end == NULL ||
	    end + strspn(end, " \t\r\n") != b->data + b->len - 1) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

void
api_upload_end(struct route_upload *u, const struct route_req *req,
    struct reply *rep)
{
	char hex[BLOBSTORE_HEX_LEN + 1];
	uint64_t size = 0;
	enum ota_status st = u->failed;
	cJSON *in = NULL, *out;

	if (st == OTA_E_TOO_LARGE) {
		api_error(rep, req, 413, "Payload Too Large");
		goto out;
	}
	if (st != OTA_OK) {
		log_error("upload into '%s' failed: %s", store_dir(
		    u->env->store), ota_status_str(st));
		api_error(rep, req, 500, "Server Error");
		goto out;
	}
	if (u->op == API_BLOB) {
		st = blobstore_writer_commit(u->blob, hex, &size);
		u->blob = NULL;
		if (st != OTA_OK) {
			log_error("cannot store an upload in '%s': %s",
			    store_dir(u->env->store), ota_status_str(st));
			api_error(rep, req, 500, "Server Error");
			goto out;
		}
		out = cJSON_CreateObject();
		cJSON_AddStringToObject(out, "sha256", hex);
		cJSON_AddNumberToObject(out, "size", (double)size);
		github_json(rep, req, 201, out);
		goto out;
	}
	if (u->body.len > 0 && (in = parse_object(&u->body)) == NULL) {
		api_error(rep, req, 400, "Problems parsing JSON");
		goto out;
	}
	if (u->op == API_PUBLISH) {
		if (in == NULL)
			api_error(rep, req, 422, "Validation Failed: a JSON "
			    "body is required");
		else
			do_publish(u, req, in, rep);
	} else if (u->op == API_EVENT)
		do_event(u, req, in, rep);
	else
		do_change(u, req, in, rep);
out:
	cJSON_Delete(in);
	api_upload_abort(u);
}
