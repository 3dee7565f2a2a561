/*
 * Fuzzes everything a request reaches on the release store: the target
 * parser, GitHub-route dispatch (releases, contents, raw, manifest, the
 * raw host), the ESP route and the write API's path matching, token check
 * and JSON body handling, against a real store in a temp directory made
 * once per process (two releases, a private repository, a publish token).
 *
 * Input: byte 0 picks the method and headers, then "target\nhost\nbody".
 * Invariants beyond "no crash": every answer has a status of 200-599, a
 * JSON answer parses as JSON, a file answer is a range of an open file.
 */
#define _DEFAULT_SOURCE
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "fuzz.h"
#include "common/log.h"
#include "common/sign.h"
#include "server/config.h"
#include "server/filecache.h"
#include "server/github.h"
#include "server/publish.h"
#include "server/route.h"
#include "server/store.h"

static struct serve_config cfg;
static struct filecache *cache;
static struct store *store;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct route_env env;
static char token[128];
static char tmpdir[] = "/tmp/ota-fuzz-github-XXXXXX";

static int
remove_one(const char *path, const struct stat *sb, int flag, struct FTW *f)
{
	(void)sb;
	(void)flag;
	(void)f;
	return remove(path);
}

static void
cleanup(void)
{
	github_cache_free(env.answers);
	filecache_free(cache);
	store_free(store);
	config_release(&cfg);
	(void)nftw(tmpdir, remove_one, 16, FTW_DEPTH | FTW_PHYS);
}

struct hdrs {
	const char *host;
	const char *auth;
	const char *inm;
	const char *ua;
};

static const char *
get_header(void *ctx, const char *name)
{
	const struct hdrs *h = ctx;

	if (strcasecmp(name, "Host") == 0)
		return h->host;
	if (strcasecmp(name, "Authorization") == 0)
		return h->auth;
	if (strcasecmp(name, "If-None-Match") == 0)
		return h->inm;
	if (strcasecmp(name, "User-Agent") == 0)
		return h->ua;
	if (strncasecmp(name, "x-ESP8266-", 10) == 0 && h->ua != NULL)
		return strcasecmp(name, "x-ESP8266-version") == 0 ? "1.0.0" :
		    "18:FE:AA:AA:AA:AA";
	return NULL;
}

static void
write_file(const char *dir, const char *name, const char *text)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FUZZ_CHECK((f = fopen(path, "w")) != NULL);
	fputs(text, f);
	fclose(f);
}

static void
publish(const char *repo, const char *tag, const char *path, bool pre)
{
	static const unsigned char seed[SIGN_SEED_LEN] = { 7 };
	struct publish_file *files;
	struct sign_key *key;
	struct publish_opts o;
	const char *paths[1] = { path };
	char err[512];
	size_t n;

	FUZZ_CHECK(sign_key_from_seed(&key, seed) == OTA_OK);
	FUZZ_CHECK(publish_collect(paths, 1, &files, &n, err, sizeof(err)) ==
	    OTA_OK);
	memset(&o, 0, sizeof(o));
	o.owner = "me";
	o.name = repo;
	o.tag = tag;
	o.prerelease = pre;
	o.keys = &key;
	o.nkeys = 1;
	FUZZ_CHECK(publish_release(store, &o, files, n, NULL, err,
	    sizeof(err)) == OTA_OK);
	publish_files_free(files, n);
	sign_key_free(key);
}

static void
setup(void)
{
	char *dir = tmpdir, path[512], err[512];
	struct store_token tok;
	struct store_repo repo;

	FUZZ_CHECK(mkdtemp(dir) != NULL);
	atexit(cleanup);
	log_set_level(LOG_CRITICAL);	/* the API logs every change */
	snprintf(path, sizeof(path), "%s/main", dir);
	FUZZ_CHECK(mkdir(path, 0755) == 0);
	snprintf(path, sizeof(path), "%s/main/lib", dir);
	FUZZ_CHECK(mkdir(path, 0755) == 0);
	write_file(dir, "main/app.py", "print('hi')\n");
	write_file(dir, "main/lib/x.py", "x = 1\n");
	write_file(dir, "fw.bin", "\xe9 not really an image");
	snprintf(path, sizeof(path), "%s/data", dir);
	FUZZ_CHECK(store_open(&store, path, true, err, sizeof(err)) == OTA_OK);
	snprintf(path, sizeof(path), "%s/main", dir);
	publish("app", "1.0.0", path, false);
	publish("app", "v1.1.0-rc.1", path, true);
	publish("priv", "2.0.0", path, false);
	snprintf(path, sizeof(path), "%s/fw.bin", dir);
	publish("blink", "1.0.1", path, false);
	FUZZ_CHECK(store_repo_get(store, "me", "priv", &repo) == OTA_OK);
	FUZZ_CHECK(store_repo_set_private(store, repo.id, true) == OTA_OK);
	FUZZ_CHECK(store_token_create(store, "fuzz", STORE_SCOPE_PUBLISH, 0,
	    token, sizeof(token), &tok) == OTA_OK);
	config_defaults(&cfg);
	snprintf(cfg.catalog, sizeof(cfg.catalog), "%s", dir);
	FUZZ_CHECK(config_finish(&cfg, err, sizeof(err)) == OTA_OK);
	cfg.gate = GATE_OFF;
	FUZZ_CHECK((cache = filecache_new(16)) != NULL);
	env.cfg = &cfg;
	env.cache = cache;
	env.store = store;
	env.store_lock = &lock;
	FUZZ_CHECK((env.answers = github_cache_new()) != NULL);
}

static void
check_reply(const struct reply *rep)
{
	const char *type = reply_header(rep, "Content-Type");
	struct stat sb;
	cJSON *j;

	FUZZ_CHECK(rep->status >= 200 && rep->status <= 599);
	if (rep->fd >= 0) {
		FUZZ_CHECK(fstat(rep->fd, &sb) == 0);
		FUZZ_CHECK(rep->offset + rep->length <= (uint64_t)sb.st_size);
		return;
	}
	if (rep->body != NULL && type != NULL &&
	    strncmp(type, "application/json", 16) == 0) {
		j = cJSON_ParseWithLength(rep->body, rep->body_len);
		FUZZ_CHECK(j != NULL);
		cJSON_Delete(j);
	}
}

/* Splits at the next '\n' (consumed); the rest of the input if none. */
static char *
next_line(char **p)
{
	char *line = *p, *nl = strchr(line, '\n');

	if (nl != NULL) {
		*nl = '\0';
		*p = nl + 1;
	} else
		*p = line + strlen(line);
	return line;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const methods[] = { "GET", "HEAD", "POST", "PUT" };
	char auth[160], *text, *p, *target, *host, *body;
	struct route_upload *u;
	struct route_req req;
	struct reply rep;
	struct hdrs h;
	unsigned sel;

	if (store == NULL)
		setup();
	if (size == 0)
		return 0;
	sel = data[0];
	if ((text = malloc(size)) == NULL)
		return 0;
	memcpy(text, data + 1, size - 1);
	text[size - 1] = '\0';
	p = text;
	target = next_line(&p);
	host = next_line(&p);
	body = p;

	memset(&h, 0, sizeof(h));
	h.host = host[0] ? host : NULL;
	snprintf(auth, sizeof(auth), "%s %s", sel & 0x10 ? "Bearer" : "token",
	    token);
	h.auth = sel & 0x04 ? auth : NULL;
	h.inm = sel & 0x08 ? "\"x\", *" : NULL;
	h.ua = sel & 0x20 ? "ESP8266-http-Update" : NULL;
	req.method = methods[sel & 0x03];
	req.target = target;
	req.header = get_header;
	req.header_ctx = &h;
	reply_init(&rep);
	if ((sel & 0x03) < 2)
		route_handle(&env, &req, &rep);
	else if ((sel & 0x03) == 2 || !(sel & 0x04)) {
		/* POSTs with the token; a PUT only without (no disk growth). */
		u = route_upload_begin(&env, &req, strlen(body), &rep);
		if (u != NULL) {
			FUZZ_CHECK(rep.status == 0);
			(void)route_upload_data(u, body, strlen(body));
			route_upload_end(u, &req, &rep);
		}
	} else
		rep.status = 200;
	check_reply(&rep);
	reply_release(&rep);
	free(text);
	return 0;
}
