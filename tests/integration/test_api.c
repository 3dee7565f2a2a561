/*
 * The write API under /api/v1 (api.h) against a real `ota serve --data`,
 * every call as raw HTTP/1.1 bytes on loopback: streamed blob uploads
 * (Content-Length, chunked, empty, 3 MiB), publishing a release from
 * uploaded blobs and reading it back through the GitHub routes, the
 * validation answers, tokens and scopes, promote/yank/unyank, wrong
 * methods, a client that leaves mid-upload, and keep-alive.
 *
 * One server and one store serve the whole group; each test uses its own
 * repository, so the order of the tests does not matter.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <cjson/cJSON.h>

#include "common/hash.h"
#include "testlib.h"

/* snprintf that fails the test rather than cut. */
#define FMT(buf, sz, ...) do {						\
	int fmt_n_ = snprintf(buf, sz, __VA_ARGS__);			\
									\
	assert_true(fmt_n_ >= 0 && (size_t)fmt_n_ < (size_t)(sz));	\
} while (0)

#define MIB (1024 * 1024)
#define BIG_BLOB (3 * MIB)
#define TOKEN_LEN 128

static char base_dir[256], data_dir[PATH_MAX], cat_dir[PATH_MAX];
static struct tl_server srv;

/* "Bearer <secret>" of each token, made before the server starts. */
static char tok_publish[TOKEN_LEN], tok_read[TOKEN_LEN], tok_admin[TOKEN_LEN];
static char tok_other[TOKEN_LEN];	/* publish, limited to acme/other */
static char secret_publish[TOKEN_LEN];	/* the bare secret */

/* ---- helpers: files, digests, the CLI ---- */

static unsigned char *
slurp(const char *path, size_t *n)
{
	unsigned char *p = NULL;
	size_t len = 0, alloc = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return NULL;
	for (;;) {
		ssize_t r;

		if (len == alloc) {
			alloc = alloc ? alloc * 2 : 65536;
			p = realloc(p, alloc + 1);
			assert_non_null(p);
		}
		r = read(fd, p + len, alloc - len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		len += (size_t)r;
	}
	close(fd);
	p[len] = '\0';
	*n = len;
	return p;
}

static void
random_bytes(unsigned char *p, size_t n)
{
	size_t off = 0;

	while (off < n) {
		ssize_t r = getrandom(p + off, n - off, 0);

		assert_true(r > 0);
		off += (size_t)r;
	}
}

static void
sha256_hex(const void *p, size_t n, char hex[65])
{
	assert_int_equal(hash_hex(HASH_SHA256, p, n, hex), OTA_OK);
}

/* Runs ota with args; asserts exit 0; the first line of stdout in out. */
static void
ota_ok(const char *const *args, char *out, size_t outsz)
{
	char buf[4096];
	int rc = tl_ota_run(args, buf, sizeof(buf));

	if (rc != 0)
		fail_msg("ota %s %s: exit %d", args[0], args[1], rc);
	if (out != NULL) {
		buf[strcspn(buf, "\r\n")] = '\0';
		FMT(out, outsz, "%s", buf);
	}
}

#define OTA(...) ota_ok((const char *const[]){ __VA_ARGS__, NULL }, NULL, 0)

/* ota token create --scope scope [--repo repo]; "Bearer SECRET" in out. */
static void
make_token(const char *scope, const char *repo, char *out, size_t outsz,
    char *secret, size_t secretsz)
{
	const char *args[10];
	char s[TOKEN_LEN];
	int n = 0;

	args[n++] = "token";
	args[n++] = "create";
	args[n++] = "--data";
	args[n++] = data_dir;
	args[n++] = "--scope";
	args[n++] = scope;
	if (repo != NULL) {
		args[n++] = "--repo";
		args[n++] = repo;
	}
	args[n] = NULL;
	ota_ok(args, s, sizeof(s));
	assert_true(strncmp(s, "ota_", 4) == 0);
	FMT(out, outsz, "Bearer %s", s);
	if (secret != NULL)
		FMT(secret, secretsz, "%s", s);
}

/* Entries of dir other than "." and ".."; -1 if it cannot be read. */
static int
dir_entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	if (d == NULL)
		return -1;
	while ((e = readdir(d)) != NULL)
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

/* ---- set-up ---- */

static int
group_setup(void **state)
{
	/* a connection left open by a failing test must not stall the
	 * teardown for the default 10 s */
	const char *args[] = { "--data", data_dir, "--shutdown-timeout", "3",
	    NULL };

	(void)state;
	if (tl_mkdtemp(base_dir, sizeof(base_dir)) != 0)
		return -1;
	snprintf(data_dir, sizeof(data_dir), "%s/data", base_dir);
	snprintf(cat_dir, sizeof(cat_dir), "%s/cat", base_dir);
	if (mkdir(cat_dir, 0755) != 0)
		return -1;
	OTA("repo", "create", "--data", data_dir, "acme/other");
	make_token("publish", NULL, tok_publish, sizeof(tok_publish),
	    secret_publish, sizeof(secret_publish));
	make_token("read", NULL, tok_read, sizeof(tok_read), NULL, 0);
	make_token("admin", NULL, tok_admin, sizeof(tok_admin), NULL, 0);
	make_token("publish", "acme/other", tok_other, sizeof(tok_other),
	    NULL, 0);
	return tl_server_start(&srv, cat_dir, args);
}

static int
group_teardown(void **state)
{
	int st = tl_server_stop(&srv), bad = 0;

	(void)state;
	/* SIGTERM must end the server cleanly (under ASan: no finding). */
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		char *log = tl_server_log(&srv);

		fprintf(stderr, "server did not exit 0 (status %#x); log:\n"
		    "%s\n", (unsigned)st, log);
		free(log);
		bad = 1;
	}
	tl_rmtree(srv.tmp);
	tl_rmtree(base_dir);
	return bad ? -1 : 0;
}

/* ---- the HTTP client ---- */

/*
 * Builds "METHOD TARGET HTTP/1.1" with Host, the Authorization value auth
 * (or none), extra header lines (or NULL), Content-Length when body is not
 * NULL, and "Connection: close" when close_conn; then the body. Malloc'd.
 */
static char *
build(const char *method, const char *target, const char *auth,
    const char *extra, const void *body, size_t n, bool close_conn,
    size_t *len)
{
	char head[4096], cl[64] = "";
	char *req;
	size_t hl;

	if (body != NULL)
		FMT(cl, sizeof(cl), "Content-Length: %zu\r\n", n);
	FMT(head, sizeof(head), "%s %s HTTP/1.1\r\nHost: 127.0.0.1:%u\r\n"
	    "User-Agent: ota-ci/1.0\r\n%s%s%s%s%s%s\r\n", method, target,
	    srv.port, auth ? "Authorization: " : "", auth ? auth : "",
	    auth ? "\r\n" : "", extra ? extra : "", cl,
	    close_conn ? "Connection: close\r\n" : "");
	hl = strlen(head);
	req = malloc(hl + n + 1);
	assert_non_null(req);
	memcpy(req, head, hl);
	if (n > 0)
		memcpy(req + hl, body, n);
	*len = hl + n;
	return req;
}

/* One request on its own connection. */
static void
api(const char *method, const char *target, const char *auth,
    const char *extra, const void *body, size_t n, struct http_resp *r)
{
	size_t len;
	char *req = build(method, target, auth, extra, body, n, true, &len);

	assert_int_equal(tl_exchange(srv.port, req, len, false,
	    TL_TIMEOUT_MS, r), 0);
	free(req);
}

/* Body as "chunked", in pieces of the sizes in sizes[] (0-terminated,
 * the last one repeated); without the final "0" chunk when !last. */
static char *
chunked(const void *p, size_t n, const size_t *sizes, bool last,
    size_t *outlen)
{
	size_t cap = n + 64, len = 0, off, i;
	char *out;

	/* each chunk costs at most 20 bytes of framing */
	for (off = 0, i = 0; off < n; i += sizes[i + 1] != 0) {
		size_t k = sizes[i] < n - off ? sizes[i] : n - off;

		cap += 20;
		off += k;
	}
	out = malloc(cap);
	assert_non_null(out);
	for (off = 0, i = 0; off < n; i += sizes[i + 1] != 0) {
		size_t k = sizes[i] < n - off ? sizes[i] : n - off;

		len += (size_t)sprintf(out + len, "%zx\r\n", k);
		memcpy(out + len, (const char *)p + off, k);
		len += k;
		memcpy(out + len, "\r\n", 2);
		len += 2;
		off += k;
	}
	if (last) {
		memcpy(out + len, "0\r\n\r\n", 5);
		len += 5;
	}
	assert_true(len <= cap);
	*outlen = len;
	return out;
}

/* As api() with the body sent chunked. */
static void
api_chunked(const char *method, const char *target, const char *auth,
    const void *body, size_t n, const size_t *sizes, struct http_resp *r)
{
	size_t hl, cl;
	char *head = build(method, target, auth,
	    "Transfer-Encoding: chunked\r\n", NULL, 0, true, &hl);
	char *ch = chunked(body, n, sizes, true, &cl);
	char *req = malloc(hl + cl);

	assert_non_null(req);
	memcpy(req, head, hl);
	memcpy(req + hl, ch, cl);
	assert_int_equal(tl_exchange(srv.port, req, hl + cl, false,
	    TL_TIMEOUT_MS, r), 0);
	free(req);
	free(ch);
	free(head);
}


static void
expect_status(struct http_resp *r, int want, const char *what)
{
	if (r->status != want)
		tl_fail_free(r, "%s: status %d, want %d; head:\n%s\nbody: %.*s",
		    what, r->status, want, r->head ? r->head : "(none)",
		    (int)(r->body_len < 600 ? r->body_len : 600),
		    r->body ? (const char *)r->body : "");
}

static cJSON *
json_of(struct http_resp *r)
{
	char v[128];
	cJSON *j;

	if (tl_header(r, "Content-Type", v, sizeof(v)) == NULL ||
	    strncmp(v, "application/json", 16) != 0)
		tl_fail_free(r, "%d answer is not JSON (Content-Type %s): %.600s",
		    r->status, tl_header(r, "Content-Type", v, sizeof(v)) ?
		    v : "none", r->body ? (const char *)r->body : "");
	j = cJSON_ParseWithLength((const char *)r->body, r->body_len);
	if (j == NULL)
		tl_fail_free(r, "not JSON: %.600s", (const char *)r->body);
	return j;
}

/* Asserts status want with a JSON error object whose message contains
 * needle (NULL: any). */
static void
expect_error(struct http_resp *r, int want, const char *needle,
    const char *what)
{
	char msg[512];
	cJSON *j;

	expect_status(r, want, what);
	j = json_of(r);
	FMT(msg, sizeof(msg), "%s", tl_jstr(j, "message"));
	cJSON_Delete(j);
	if (needle != NULL && strstr(msg, needle) == NULL)
		tl_fail_free(r, "%s: message '%s' lacks '%s'", what, msg, needle);
}

/* PUT /api/v1/blobs with p[n]; asserts 201 and the digest; hex out. */
static void
upload(const void *p, size_t n, char hex[65])
{
	struct http_resp r;
	cJSON *j;

	sha256_hex(p, n, hex);
	api("PUT", "/api/v1/blobs", tok_publish, NULL, p, n, &r);
	expect_status(&r, 201, "PUT /api/v1/blobs");
	j = json_of(&r);
	assert_string_equal(tl_jstr(j, "sha256"), hex);
	assert_true(tl_jnum(j, "size") == (double)n);
	cJSON_Delete(j);
	tl_resp_free(&r);
}

static void
upload_str(const char *s, char hex[65])
{
	upload(s, strlen(s), hex);
}

/* The blob file for hex has exactly p[n]. */
static void
assert_blob_file(const char *hex, const void *p, size_t n)
{
	char path[PATH_MAX + 100];
	unsigned char *got;
	size_t len;

	FMT(path, sizeof(path), "%s/blobs/sha256/%s", data_dir, hex);
	if ((got = slurp(path, &len)) == NULL)
		fail_msg("no blob file %s", path);
	assert_int_equal(len, n);
	assert_memory_equal(got, p, n);
	free(got);
}

/* POST /api/v1/repos/{repo}/releases with json; the answer in r. */
static void
post_release(const char *repo, const char *json, const char *auth,
    struct http_resp *r)
{
	char target[256];

	FMT(target, sizeof(target), "/api/v1/repos/%s/releases", repo);
	api("POST", target, auth, "Content-Type: application/json\r\n", json,
	    strlen(json), r);
}

/* Publishes tag with files "path=hex,path=hex" plus extra JSON members
 * ("" or ",\"k\":v..."); asserts 201; returns the answer (caller frees). */
static cJSON *
publish(const char *repo, const char *tag, const char *files,
    const char *extra)
{
	char json[8192], list[4096] = "", one[PATH_MAX + 128];
	const char *p = files;
	struct http_resp r;
	cJSON *j;

	while (*p != '\0') {
		size_t n = strcspn(p, ",");
		const char *eq = memchr(p, '=', n);

		assert_non_null(eq);
		FMT(one, sizeof(one),
		    "%s{\"path\":\"%.*s\",\"sha256\":\"%.*s\"}",
		    list[0] ? "," : "", (int)(eq - p), p,
		    (int)(n - (size_t)(eq - p) - 1), eq + 1);
		assert_true(strlen(list) + strlen(one) < sizeof(list));
		strcat(list, one);
		p += n + (p[n] == ',');
	}
	FMT(json, sizeof(json), "{\"tag_name\":\"%s\",\"files\":[%s]%s}", tag,
	    list, extra);
	post_release(repo, json, tok_publish, &r);
	expect_status(&r, 201, json);
	j = json_of(&r);
	tl_resp_free(&r);
	assert_string_equal(tl_jstr(j, "tag_name"), tag);
	return j;
}

/* GET target with Connection: close; the answer in r. */
static void
get(const char *target, struct http_resp *r)
{
	api("GET", target, NULL, NULL, NULL, 0, r);
}

/* GET a JSON document; asserts 200. */
static cJSON *
get_json(const char *target)
{
	struct http_resp r;
	cJSON *j;

	get(target, &r);
	expect_status(&r, 200, target);
	j = json_of(&r);
	tl_resp_free(&r);
	return j;
}

static void
assert_latest(const char *repo, const char *tag)
{
	char target[256];
	cJSON *j;

	FMT(target, sizeof(target), "/repos/%s/releases/latest", repo);
	if (tag == NULL) {
		struct http_resp r;

		get(target, &r);
		expect_status(&r, 404, target);
		tl_resp_free(&r);
		return;
	}
	j = get_json(target);
	assert_string_equal(tl_jstr(j, "tag_name"), tag);
	cJSON_Delete(j);
}

/* GET /raw/{repo}/{tag}/{path} is exactly p[n]. */
static void
assert_raw(const char *repo, const char *tag, const char *path,
    const void *p, size_t n)
{
	char target[512];
	struct http_resp r;

	FMT(target, sizeof(target), "/raw/%s/%s/%s", repo, tag, path);
	get(target, &r);
	expect_status(&r, 200, target);
	assert_int_equal(r.body_len, n);
	assert_memory_equal(r.body, p, n);
	tl_resp_free(&r);
}

/* GET /repos/{repo}/releases/tags/{tag}; asserts 200. */
static cJSON *
get_tag(const char *repo, const char *tag)
{
	char target[256];

	FMT(target, sizeof(target), "/repos/%s/releases/tags/%s", repo, tag);
	return get_json(target);
}

/* POST .../releases/{tag}/{verb} with body (or none); the answer in r. */
static void
change(const char *repo, const char *tag, const char *verb,
    const char *body, struct http_resp *r)
{
	char target[256];

	FMT(target, sizeof(target), "/api/v1/repos/%s/releases/%s/%s", repo,
	    tag, verb);
	api("POST", target, tok_publish, body ?
	    "Content-Type: application/json\r\n" : NULL, body ? body : "",
	    body ? strlen(body) : 0, r);
}

/* ---- blobs ---- */

static void
test_blob_content_length(void **state)
{
	static const char text[] = "hello, blob store\n";
	char hex[65];

	(void)state;
	upload_str(text, hex);
	assert_blob_file(hex, text, strlen(text));
	/* the same bytes again: the same name, one file */
	upload_str(text, hex);
	assert_blob_file(hex, text, strlen(text));
}

static void
test_blob_chunked(void **state)
{
	static const size_t sizes[] = { 1, 7, 4096, 65536, 100000, 0 };
	size_t n = 300000;
	unsigned char *p = malloc(n);
	char hex[65];
	struct http_resp r;
	cJSON *j;

	(void)state;
	assert_non_null(p);
	random_bytes(p, n);
	sha256_hex(p, n, hex);
	api_chunked("PUT", "/api/v1/blobs", tok_publish, p, n, sizes, &r);
	expect_status(&r, 201, "chunked PUT /api/v1/blobs");
	j = json_of(&r);
	assert_string_equal(tl_jstr(j, "sha256"), hex);
	assert_true(tl_jnum(j, "size") == (double)n);
	cJSON_Delete(j);
	tl_resp_free(&r);
	assert_blob_file(hex, p, n);
	free(p);
}

static void
test_blob_empty(void **state)
{
	static const size_t sizes[] = { 16, 0 };
	char hex[65];
	struct http_resp r;
	cJSON *j;

	(void)state;
	upload("", 0, hex);
	assert_string_equal(hex, "e3b0c44298fc1c149afbf4c8996fb924"
	    "27ae41e4649b934ca495991b7852b855");
	assert_blob_file(hex, "", 0);
	/* an empty chunked body: only the last chunk */
	api_chunked("PUT", "/api/v1/blobs", tok_publish, "", 0, sizes, &r);
	expect_status(&r, 201, "empty chunked PUT");
	j = json_of(&r);
	assert_string_equal(tl_jstr(j, "sha256"), hex);
	assert_true(tl_jnum(j, "size") == 0);
	cJSON_Delete(j);
	tl_resp_free(&r);
}

static void
test_blob_3mib_binary(void **state)
{
	unsigned char *p = malloc(BIG_BLOB);
	char hex[65];

	(void)state;
	assert_non_null(p);
	random_bytes(p, BIG_BLOB);
	/* every byte value, NULs and CR LF among them, at the start */
	for (size_t i = 0; i < 256; i++)
		p[i] = (unsigned char)i;
	upload(p, BIG_BLOB, hex);
	assert_blob_file(hex, p, BIG_BLOB);
	free(p);
}

/* ---- publishing ---- */

static void
test_publish_and_read_back(void **state)
{
	static const char notes[] = "notes for 1.0.0";
	unsigned char fw[5000];
	char hfw[65], hnotes[65], files[512];
	cJSON *j, *t;

	(void)state;
	random_bytes(fw, sizeof(fw));
	fw[0] = 0xe9;
	upload(fw, sizeof(fw), hfw);
	upload_str(notes, hnotes);
	FMT(files, sizeof(files), "fw.bin=%s,docs/notes.txt=%s", hfw, hnotes);
	j = publish("acme/pub", "1.0.0", files, "");
	assert_string_equal(tl_jstr(j, "repository"), "acme/pub");
	assert_string_equal(tl_jstr(j, "channel"), "stable");
	assert_false(tl_jbool(j, "draft"));
	assert_false(tl_jbool(j, "prerelease"));
	assert_false(tl_jbool(j, "yanked"));
	assert_true(tl_jnum(j, "metadata_version") >= 1);
	assert_int_equal(strlen(tl_jstr(j, "manifest_sha256")), 64);
	cJSON_Delete(j);

	assert_latest("acme/pub", "1.0.0");
	assert_raw("acme/pub", "1.0.0", "fw.bin", fw, sizeof(fw));
	assert_raw("acme/pub", "1.0.0", "docs/notes.txt", notes,
	    strlen(notes));

	/* "body" is the release notes */
	j = publish("acme/pub", "1.1.0", files,
	    ",\"body\":\"what changed\"");
	cJSON_Delete(j);
	assert_latest("acme/pub", "1.1.0");
	t = get_tag("acme/pub", "1.1.0");
	assert_string_equal(tl_jstr(t, "body"), "what changed");
	cJSON_Delete(t);
}

static void
test_publish_flags(void **state)
{
	char h[65], files[128];
	struct http_resp r;
	cJSON *j, *t;

	(void)state;
	upload_str("flags firmware", h);
	FMT(files, sizeof(files), "fw.bin=%s", h);
	cJSON_Delete(publish("acme/flags", "1.0.0", files, ""));

	/* a pre-release is listed but never the latest */
	j = publish("acme/flags", "1.1.0", files, ",\"prerelease\":true");
	assert_true(tl_jbool(j, "prerelease"));
	cJSON_Delete(j);
	assert_latest("acme/flags", "1.0.0");
	t = get_tag("acme/flags", "1.1.0");
	assert_true(tl_jbool(t, "prerelease"));
	cJSON_Delete(t);

	/* a draft is hidden */
	j = publish("acme/flags", "1.2.0", files, ",\"draft\":true");
	assert_true(tl_jbool(j, "draft"));
	cJSON_Delete(j);
	assert_latest("acme/flags", "1.0.0");
	get("/repos/acme/flags/releases/tags/1.2.0", &r);
	expect_status(&r, 404, "a draft by tag");
	tl_resp_free(&r);

	/* another channel is not stable's latest */
	j = publish("acme/flags", "2.0.0", files, ",\"channel\":\"beta\"");
	assert_string_equal(tl_jstr(j, "channel"), "beta");
	cJSON_Delete(j);
	assert_latest("acme/flags", "1.0.0");
	t = get_tag("acme/flags", "2.0.0");
	assert_string_equal(tl_jstr(t, "target_commitish"), "beta");
	assert_string_equal(tl_jstr(cJSON_GetObjectItemCaseSensitive(t, "ota"),
	    "channel"), "beta");
	cJSON_Delete(t);
}

static void
test_publish_force_and_conflict(void **state)
{
	char h1[65], h2[65], files[128], json[512];
	struct http_resp r;

	(void)state;
	upload_str("force: first image", h1);
	upload_str("force: second image", h2);
	FMT(files, sizeof(files), "fw.bin=%s", h1);
	cJSON_Delete(publish("acme/force", "1.0.0", files, ""));

	/* the same tag again */
	FMT(json, sizeof(json), "{\"tag_name\":\"1.0.0\",\"files\":"
	    "[{\"path\":\"fw.bin\",\"sha256\":\"%s\"}]}", h2);
	post_release("acme/force", json, tok_publish, &r);
	expect_error(&r, 409, NULL, "same tag without force");
	tl_resp_free(&r);
	/* a tag of the same version ("v" prefix) is the same release */
	FMT(json, sizeof(json), "{\"tag_name\":\"v1.0.0\",\"files\":"
	    "[{\"path\":\"fw.bin\",\"sha256\":\"%s\"}]}", h2);
	post_release("acme/force", json, tok_publish, &r);
	expect_error(&r, 409, NULL, "same version without force");
	tl_resp_free(&r);
	assert_raw("acme/force", "1.0.0", "fw.bin", "force: first image", 18);

	/* force replaces */
	FMT(files, sizeof(files), "fw.bin=%s", h2);
	cJSON_Delete(publish("acme/force", "1.0.0", files,
	    ",\"force\":true"));
	assert_latest("acme/force", "1.0.0");
	assert_raw("acme/force", "1.0.0", "fw.bin", "force: second image",
	    19);
}

static void
test_publish_validation(void **state)
{
	static const struct {
		const char *json;
		int status;
		const char *needle;
	} cases[] = {
		{ "{\"tag_name\":\"latest\",\"files\":[{\"path\":\"fw.bin\","
		    "\"sha256\":\"@\"}]}", 422, "not a version" },
		{ "{\"tag_name\":\"2024-05\",\"files\":[{\"path\":\"fw.bin\","
		    "\"sha256\":\"@\"}]}", 422, "not a version" },
		{ "{\"tag_name\":\"1.2.3.4\",\"files\":[{\"path\":"
		    "\"fw.bin\",\"sha256\":\"@\"}]}", 422, "not a version" },
		/* a blob that was never uploaded */
		{ "{\"tag_name\":\"1.0.0\",\"files\":[{\"path\":\"fw.bin\","
		    "\"sha256\":\"00000000000000000000000000000000000000000000"
		    "00000000000000000000\"}]}", 422, NULL },
		/* not a digest at all */
		{ "{\"tag_name\":\"1.0.0\",\"files\":[{\"path\":\"fw.bin\","
		    "\"sha256\":\"../../ota.db\"}]}", 422, NULL },
		{ "{\"tag_name\":\"1.0.0\",\"files\":[{\"path\":\"../fw.bin\","
		    "\"sha256\":\"@\"}]}", 422, NULL },
		{ "{\"tag_name\":\"1.0.0\",\"files\":[{\"path\":\"a/../../x\","
		    "\"sha256\":\"@\"}]}", 422, NULL },
		{ "{\"tag_name\":\"1.0.0\",\"files\":[{\"path\":\"/etc/x\","
		    "\"sha256\":\"@\"}]}", 422, NULL },
		{ "{\"tag_name\":\"1.0.0\",\"files\":[{\"path\":\"fw.bin\","
		    "\"sha256\":\"@\"},{\"path\":\"fw.bin\","
		    "\"sha256\":\"@\"}]}",
		    422, NULL },
		{ "{\"tag_name\":\"1.0.0\",\"files\":[{\"path\":\"fw.bin\"}]}",
		    422, NULL },
		{ "{\"tag_name\":\"1.0.0\"}", 422, NULL },
		{ "{\"tag_name\":\"1.0.0\",\"files\":[]}", 422, NULL },
		{ "{\"files\":[{\"path\":\"fw.bin\",\"sha256\":\"@\"}]}", 422,
		    NULL },
		{ "{\"tag_name\":\"1.0.0\",\"files\":[{\"path\":\"fw.bin\","
		    "\"sha256\":\"@\"}],\"channel\":\"Not A Channel\"}", 422,
		    NULL },
		{ "", 422, NULL },
		{ "{\"tag_name\":\"1.0.0\",", 400, NULL },
		{ "{\"tag_name\":\"1.0.0\"} trailing", 400, NULL },
		{ "[1,2,3]", 400, NULL },
		{ "not json", 400, NULL },
		/* a date is not a version ("2024-05" is refused; a full date
		 * must not become 2024.0.0 with pre-release "05-01") */
		{ "{\"tag_name\":\"2024-05-01\",\"files\":[{\"path\":"
		    "\"fw.bin\",\"sha256\":\"@\"}]}", 422, "not a version" },
	};
	char h[65], json[1024], what[1200];
	struct http_resp r;
	size_t i;

	(void)state;
	upload_str("validation image", h);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *s = cases[i].json;
		size_t o = 0;

		/* "@" stands for the uploaded blob's digest */
		for (; *s != '\0'; s++) {
			assert_true(o + 65 < sizeof(json));
			if (*s == '@') {
				memcpy(json + o, h, 64);
				o += 64;
			} else
				json[o++] = *s;
		}
		json[o] = '\0';
		FMT(what, sizeof(what), "case %zu: %s", i, json);
		post_release("acme/valid", json, tok_publish, &r);
		expect_error(&r, cases[i].status, cases[i].needle, what);
		tl_resp_free(&r);
	}
	/* nothing was published by any of them */
	assert_latest("acme/valid", NULL);
}

/* Only the headers of a 2 MiB JSON body: refused before any of it. */
static void
test_publish_too_large_content_length(void **state)
{
	char head[1024];
	struct http_resp r;
	double t0 = tl_now();
	int fd;

	(void)state;
	FMT(head, sizeof(head), "POST /api/v1/repos/acme/big/releases "
	    "HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: %s\r\n"
	    "Content-Type: application/json\r\nContent-Length: %d\r\n\r\n",
	    tok_publish, 2 * MIB);
	fd = tl_connect(srv.port);
	assert_true(fd >= 0);
	assert_int_equal(tl_exchange_fd(fd, head, strlen(head), false,
	    TL_TIMEOUT_MS, &r), 0);
	close(fd);
	assert_false(r.timed_out);
	expect_error(&r, 413, "1 MiB", "2 MiB JSON by Content-Length");
	assert_true(tl_now() - t0 < 2.0);
	tl_resp_free(&r);

	/* a blob over the 4 GiB cap, likewise */
	FMT(head, sizeof(head), "PUT /api/v1/blobs HTTP/1.1\r\nHost: x\r\n"
	    "Authorization: %s\r\nContent-Length: 5000000000\r\n\r\n",
	    tok_publish);
	fd = tl_connect(srv.port);
	assert_true(fd >= 0);
	assert_int_equal(tl_exchange_fd(fd, head, strlen(head), false,
	    TL_TIMEOUT_MS, &r), 0);
	close(fd);
	expect_error(&r, 413, NULL, "5 GB blob by Content-Length");
	tl_resp_free(&r);
}

/*
 * The cap is "at most 1 MiB": a body of exactly API_MAX_JSON bytes (a
 * valid release padded with spaces) is published, one byte more is 413;
 * both by Content-Length and chunked.
 */
static void
test_publish_json_at_the_limit(void **state)
{
	static const size_t sizes[] = { 100000, 0 };
	char h[65], head[256];
	size_t n = MIB, len;
	char *json = malloc(n + 2);
	struct http_resp r;
	int i;

	(void)state;
	assert_non_null(json);
	upload_str("limit image", h);
	for (i = 0; i < 2; i++) {
		memset(json, ' ', n + 1);
		len = (size_t)snprintf(head, sizeof(head), "{\"tag_name\":"
		    "\"1.%d.0\",\"files\":[{\"path\":\"fw.bin\",\"sha256\":"
		    "\"%s\"}]}", i, h);
		memcpy(json, head, len);
		if (i == 0)
			api("POST", "/api/v1/repos/acme/limit/releases",
			    tok_publish, NULL, json, n, &r);
		else
			api_chunked("POST", "/api/v1/repos/acme/limit/releases",
			    tok_publish, json, n, sizes, &r);
		expect_status(&r, 201, i == 0 ? "JSON of exactly 1 MiB" :
		    "chunked JSON of exactly 1 MiB");
		tl_resp_free(&r);
	}
	assert_latest("acme/limit", "1.1.0");
	json[n] = ' ';
	api("POST", "/api/v1/repos/acme/limit/releases", tok_publish, NULL,
	    json, n + 1, &r);
	expect_error(&r, 413, NULL, "JSON of 1 MiB + 1");
	tl_resp_free(&r);
	free(json);
}

/* Chunked, so the size shows only as it arrives: 413 after the body. */
static void
test_publish_too_large_chunked(void **state)
{
	static const size_t sizes[] = { 65536, 0 };
	size_t n = MIB + 100, hl, cl;
	char *body = malloc(n), *head, *ch;
	struct pollfd p;
	struct http_resp r;
	size_t off = 0;
	int fd;

	(void)state;
	assert_non_null(body);
	memset(body, ' ', n);
	body[0] = '{';
	head = build("POST", "/api/v1/repos/acme/big/releases", tok_publish,
	    "Transfer-Encoding: chunked\r\n", NULL, 0, true, &hl);
	ch = chunked(body, n, sizes, false, &cl);
	fd = tl_connect(srv.port);
	assert_true(fd >= 0);
	assert_true(send(fd, head, hl, MSG_NOSIGNAL) == (ssize_t)hl);
	while (off < cl) {
		ssize_t w = send(fd, ch + off, cl - off, MSG_NOSIGNAL);

		assert_true(w > 0);
		off += (size_t)w;
	}
	/* all but the last chunk is in: no answer yet */
	p.fd = fd;
	p.events = POLLIN;
	p.revents = 0;
	assert_int_equal(poll(&p, 1, 300), 0);
	assert_int_equal(tl_exchange_fd(fd, "0\r\n\r\n", 5, false,
	    TL_TIMEOUT_MS, &r), 0);
	close(fd);
	expect_error(&r, 413, NULL, "chunked JSON over 1 MiB");
	tl_resp_free(&r);
	free(head);
	free(ch);
	free(body);
	assert_latest("acme/big", NULL);
}

/* ---- tokens ---- */

static void
test_auth(void **state)
{
	char h[65], json[512], v[128], bare[TOKEN_LEN + 16];
	struct http_resp r;

	(void)state;
	upload_str("auth image", h);
	FMT(json, sizeof(json), "{\"tag_name\":\"1.0.0\",\"files\":"
	    "[{\"path\":\"fw.bin\",\"sha256\":\"%s\"}]}", h);

	/* no Authorization */
	post_release("acme/auth", json, NULL, &r);
	expect_error(&r, 401, NULL, "no token");
	assert_non_null(tl_header(&r, "WWW-Authenticate", v, sizeof(v)));
	tl_resp_free(&r);
	api("PUT", "/api/v1/blobs", NULL, NULL, "x", 1, &r);
	expect_error(&r, 401, NULL, "blob without a token");
	assert_non_null(tl_header(&r, "WWW-Authenticate", v, sizeof(v)));
	tl_resp_free(&r);
	/* a scheme that is neither token nor Bearer */
	FMT(bare, sizeof(bare), "Basic %s", secret_publish);
	post_release("acme/auth", json, bare, &r);
	expect_error(&r, 401, NULL, "Basic");
	tl_resp_free(&r);

	/* unknown token */
	post_release("acme/auth", json,
	    "Bearer ota_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", &r);
	expect_error(&r, 401, NULL, "unknown token");
	tl_resp_free(&r);
	api("PUT", "/api/v1/blobs", "token nope", NULL, "x", 1, &r);
	expect_error(&r, 401, NULL, "unknown token, blob");
	tl_resp_free(&r);

	/* read scope may not publish */
	post_release("acme/auth", json, tok_read, &r);
	expect_error(&r, 403, NULL, "read-scope token");
	tl_resp_free(&r);
	api("PUT", "/api/v1/blobs", tok_read, NULL, "x", 1, &r);
	expect_error(&r, 403, NULL, "read-scope token, blob");
	tl_resp_free(&r);

	/* a token for acme/other */
	post_release("acme/auth", json, tok_other, &r);
	expect_error(&r, 403, NULL, "token for another repository");
	tl_resp_free(&r);
	post_release("acme/other", json, tok_other, &r);
	expect_status(&r, 201, "token on its own repository");
	tl_resp_free(&r);
	assert_latest("acme/auth", NULL);
	assert_latest("acme/other", "1.0.0");

	/* "token X" works */
	FMT(bare, sizeof(bare), "token %s", secret_publish);
	post_release("acme/auth", json, bare, &r);
	expect_status(&r, 201, "Authorization: token X");
	tl_resp_free(&r);
	/* "Bearer X" works (and the scheme is case-insensitive) */
	FMT(json, sizeof(json), "{\"tag_name\":\"1.1.0\",\"files\":"
	    "[{\"path\":\"fw.bin\",\"sha256\":\"%s\"}]}", h);
	post_release("acme/auth", json, tok_publish, &r);
	expect_status(&r, 201, "Authorization: Bearer X");
	tl_resp_free(&r);
	FMT(bare, sizeof(bare), "bearer %s", secret_publish);
	FMT(json, sizeof(json), "{\"tag_name\":\"1.2.0\",\"files\":"
	    "[{\"path\":\"fw.bin\",\"sha256\":\"%s\"}]}", h);
	post_release("acme/auth", json, bare, &r);
	expect_status(&r, 201, "Authorization: bearer X");
	tl_resp_free(&r);
	/* admin includes publish */
	FMT(json, sizeof(json), "{\"tag_name\":\"1.3.0\",\"files\":"
	    "[{\"path\":\"fw.bin\",\"sha256\":\"%s\"}]}", h);
	post_release("acme/auth", json, tok_admin, &r);
	expect_status(&r, 201, "admin token");
	tl_resp_free(&r);
	assert_latest("acme/auth", "1.3.0");

	/* promote/yank need publish scope too */
	api("POST", "/api/v1/repos/acme/auth/releases/1.3.0/yank", tok_read,
	    NULL, "", 0, &r);
	expect_error(&r, 403, NULL, "yank with a read token");
	tl_resp_free(&r);
	api("POST", "/api/v1/repos/acme/auth/releases/1.3.0/yank", NULL,
	    NULL, "", 0, &r);
	expect_error(&r, 401, NULL, "yank without a token");
	tl_resp_free(&r);
	assert_latest("acme/auth", "1.3.0");
}

/* ---- promote, yank, unyank ---- */

static void
test_promote_yank_unyank(void **state)
{
	char h[65], files[128];
	struct http_resp r;
	double mv, top = 0;
	cJSON *j;

	(void)state;
	upload_str("channel image", h);
	FMT(files, sizeof(files), "fw.bin=%s", h);
	j = publish("acme/chan", "1.0.0", files, "");
	cJSON_Delete(j);
	j = publish("acme/chan", "1.1.0", files, "");
	cJSON_Delete(j);
	j = publish("acme/chan", "1.2.0", files, "");
	top = tl_jnum(j, "metadata_version");
	cJSON_Delete(j);
	assert_latest("acme/chan", "1.2.0");

	/* promote 1.2.0 to beta: stable's latest is 1.1.0 again */
	change("acme/chan", "1.2.0", "promote", "{\"channel\":\"beta\"}",
	    &r);
	expect_status(&r, 200, "promote to beta");
	j = json_of(&r);
	assert_string_equal(tl_jstr(j, "channel"), "beta");
	mv = tl_jnum(j, "metadata_version");
	assert_true(mv > top);
	top = mv;
	cJSON_Delete(j);
	tl_resp_free(&r);
	assert_latest("acme/chan", "1.1.0");
	j = get_tag("acme/chan", "1.2.0");
	assert_string_equal(tl_jstr(j, "target_commitish"), "beta");
	assert_true(tl_jnum(cJSON_GetObjectItemCaseSensitive(j, "ota"),
	    "metadata_version") == mv);
	cJSON_Delete(j);

	/* yank 1.1.0: 1.0.0 is the latest */
	change("acme/chan", "1.1.0", "yank", NULL, &r);
	expect_status(&r, 200, "yank");
	j = json_of(&r);
	assert_true(tl_jbool(j, "yanked"));
	cJSON_Delete(j);
	tl_resp_free(&r);
	assert_latest("acme/chan", "1.0.0");

	/* unyank: 1.1.0 again */
	change("acme/chan", "1.1.0", "unyank", NULL, &r);
	expect_status(&r, 200, "unyank");
	j = json_of(&r);
	assert_false(tl_jbool(j, "yanked"));
	cJSON_Delete(j);
	tl_resp_free(&r);
	assert_latest("acme/chan", "1.1.0");

	/* promote with no body: back to the default channel, re-signed */
	change("acme/chan", "1.2.0", "promote", NULL, &r);
	expect_status(&r, 200, "promote without a body");
	j = json_of(&r);
	assert_string_equal(tl_jstr(j, "channel"), "stable");
	assert_true(tl_jnum(j, "metadata_version") > top);
	cJSON_Delete(j);
	tl_resp_free(&r);
	assert_latest("acme/chan", "1.2.0");

	/* promoting a draft publishes it */
	j = publish("acme/chan", "1.3.0", files, ",\"draft\":true");
	cJSON_Delete(j);
	assert_latest("acme/chan", "1.2.0");
	change("acme/chan", "1.3.0", "promote", "{\"channel\":\"stable\"}",
	    &r);
	expect_status(&r, 200, "promote a draft");
	j = json_of(&r);
	assert_false(tl_jbool(j, "draft"));
	cJSON_Delete(j);
	tl_resp_free(&r);
	assert_latest("acme/chan", "1.3.0");

	/* missing tag or repository: 404 */
	change("acme/chan", "9.9.9", "promote", "{\"channel\":\"beta\"}", &r);
	expect_error(&r, 404, NULL, "promote a missing tag");
	tl_resp_free(&r);
	change("acme/chan", "9.9.9", "yank", NULL, &r);
	expect_error(&r, 404, NULL, "yank a missing tag");
	tl_resp_free(&r);
	change("acme/chan", "9.9.9", "unyank", NULL, &r);
	expect_error(&r, 404, NULL, "unyank a missing tag");
	tl_resp_free(&r);
	change("acme/nothing-here", "1.0.0", "yank", NULL, &r);
	expect_error(&r, 404, NULL, "yank in a missing repository");
	tl_resp_free(&r);
	/* a bad channel name */
	change("acme/chan", "1.3.0", "promote", "{\"channel\":\"../x\"}", &r);
	expect_error(&r, 422, NULL, "promote to a bad channel");
	tl_resp_free(&r);
	assert_latest("acme/chan", "1.3.0");
}

/* ---- methods and paths ---- */

static void
test_wrong_method(void **state)
{
	static const struct {
		const char *method, *target;
	} cases[] = {
		{ "GET", "/api/v1/blobs" },
		{ "PUT", "/api/v1/repos/acme/meth/releases" },
		{ "POST", "/api/v1/blobs" },
		{ "PUT", "/api/v1/repos/acme/meth/releases/1.0.0/promote" },
		{ "POST", "/api/v1/repos/acme/meth/nothing" },
		{ "POST", "/api/v1/repos/acme/meth/releases/1.0.0/delete" },
		{ "POST", "/api/v1/nothing" },
	};
	char what[256], v[128];
	struct http_resp r;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		FMT(what, sizeof(what), "%s %s", cases[i].method,
		    cases[i].target);
		api(cases[i].method, cases[i].target, tok_publish, NULL,
		    strcmp(cases[i].method, "GET") ? "{}" : NULL,
		    strcmp(cases[i].method, "GET") ? 2 : 0, &r);
		if (r.status != 404 && r.status != 405)
			tl_fail_free(&r, "%s: %d, want 404 or 405 (JSON); body: "
			    "%.300s", what, r.status, (const char *)r.body);
		expect_error(&r, r.status, NULL, what);
		/* RFC 9110 §15.5.6: a 405 MUST list the allowed methods */
		if (r.status == 405 &&
		    tl_header(&r, "Allow", v, sizeof(v)) == NULL)
			tl_fail_free(&r, "%s: 405 without Allow", what);
		tl_resp_free(&r);
	}
	assert_latest("acme/meth", NULL);
}

/*
 * The client leaves mid-upload: its temp goes and the server stays. The
 * moment it leaves is a race with the server's reads, so it leaves
 * several times: right after sending, once the upload is under way, and
 * after a pause.
 */
#define DISCONNECTS 8

/* Waits up to 2 s for dir to be empty; fails naming upload k if not. */
static void
wait_no_temp(const char *dir, int k)
{
	double t0;
	int n = -1;

	for (t0 = tl_now(); tl_now() - t0 < 2.0; usleep(10000))
		if ((n = dir_entries(dir)) == 0)
			return;
	if (k < 0)
		fail_msg("%d stale temp file(s) under %s", n, dir);
	/* an upload whose client left before its temp was made shows late */
	fail_msg("upload %d (or one before it): %d temp file(s) left under %s "
	    "2 s after the client left", k, n, dir);
}

static void
test_disconnect_mid_upload(void **state)
{
	char tmpdir[PATH_MAX + 16], head[512], hex[65];
	static unsigned char part[200000];
	double t0;
	int fd, n = -1, k;

	(void)state;
	FMT(tmpdir, sizeof(tmpdir), "%s/blobs/tmp", data_dir);
	random_bytes(part, sizeof(part));
	FMT(head, sizeof(head), "PUT /api/v1/blobs HTTP/1.1\r\nHost: x\r\n"
	    "Authorization: %s\r\nContent-Length: %d\r\n\r\n", tok_publish,
	    4 * MIB);
	for (k = 0; k < DISCONNECTS; k++) {
		size_t off = 0;

		/* the one before is cleaned up (k = 0: nothing is left over) */
		wait_no_temp(tmpdir, k - 1);
		fd = tl_connect(srv.port);
		assert_true(fd >= 0);
		assert_true(send(fd, head, strlen(head), MSG_NOSIGNAL) ==
		    (ssize_t)strlen(head));
		while (off < sizeof(part)) {
			ssize_t w = send(fd, part + off, sizeof(part) - off,
			    MSG_NOSIGNAL);

			assert_true(w > 0);
			off += (size_t)w;
		}
		if (k % 3 != 0) {
			/* the upload is under way: its temp exists */
			for (t0 = tl_now(); tl_now() - t0 < 2.0;
			    usleep(5000))
				if ((n = dir_entries(tmpdir)) > 0)
					break;
			if (n <= 0)
				fail_msg("no temp under %s during upload %d",
				    tmpdir, k);
			if (k % 3 == 2)
				usleep(50000);
		}
		close(fd);
	}
	wait_no_temp(tmpdir, k - 1);
	assert_true(tl_server_alive(&srv));
	upload_str("after the disconnect", hex);
	assert_latest("acme/pub-never", NULL);
}

/* Three API calls on one connection. */
/*
 * POST /api/v1/devices/{id}/events: a read token may report, nobody else;
 * bad fields are 422; what was reported is what `ota device events` shows.
 */
static void
test_device_events(void **state)
{
	static const char ok[] = "{\"event\":\"rollback\",\"repo\":"
	    "\"acme/app\",\"module\":\"app\",\"from_version\":\"1.1.0\","
	    "\"to_version\":\"1.0.0\",\"reason\":\"health check failed\"}";
	static const char *const bad[] = {
		"{}", "{\"event\":\"\"}", "{\"event\":\"Bad\"}",
		"{\"event\":5}", "{\"event\":\"ok\",\"reason\":\"a\\nb\"}",
		"{\"event\":\"ok\",\"to_version\":[]}",
	};
	const char *args[] = { "device", "events", "--data", data_dir,
	    "gw-01", NULL };
	char out[4096];
	struct http_resp r;
	size_t i;

	(void)state;
	api("POST", "/api/v1/devices/gw-01/events", tok_read, NULL, ok,
	    strlen(ok), &r);
	assert_int_equal(r.status, 201);
	assert_non_null(strstr((char *)r.body, "\"id\":"));
	tl_resp_free(&r);
	api("POST", "/api/v1/devices/gw-01/events", NULL, NULL, ok,
	    strlen(ok), &r);
	assert_int_equal(r.status, 401);
	tl_resp_free(&r);
	api("POST", "/api/v1/devices/gw-01/events", "Bearer ota_nope", NULL,
	    ok, strlen(ok), &r);
	assert_int_equal(r.status, 401);
	tl_resp_free(&r);
	api("POST", "/api/v1/devices/bad%20id/events", tok_read, NULL, ok,
	    strlen(ok), &r);
	assert_int_equal(r.status, 404);
	tl_resp_free(&r);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		api("POST", "/api/v1/devices/gw-01/events", tok_read, NULL,
		    bad[i], strlen(bad[i]), &r);
		print_message("%s\n", bad[i]);
		assert_int_equal(r.status, 422);
		tl_resp_free(&r);
	}
	assert_int_equal(tl_ota_run(args, out, sizeof(out)), 0);
	assert_non_null(strstr(out, "gw-01 rollback  acme/app app 1.1.0 -> "
	    "1.0.0: health check failed"));
	assert_int_equal(strstr(strstr(out, "gw-01") + 1, "gw-01"), NULL);
}

static void
test_keep_alive(void **state)
{
	static const char img[] = "keep-alive image";
	char hex[65], json[512];
	struct http_resp r;
	size_t len;
	char *req;
	int fd;

	(void)state;
	sha256_hex(img, strlen(img), hex);
	fd = tl_connect(srv.port);
	assert_true(fd >= 0);

	req = build("PUT", "/api/v1/blobs", tok_publish, NULL, img,
	    strlen(img), false, &len);
	assert_int_equal(tl_exchange_fd(fd, req, len, false, TL_TIMEOUT_MS,
	    &r), 0);
	free(req);
	expect_status(&r, 201, "first request on the connection");
	assert_false(r.closed);
	tl_resp_free(&r);

	FMT(json, sizeof(json), "{\"tag_name\":\"1.0.0\",\"files\":"
	    "[{\"path\":\"fw.bin\",\"sha256\":\"%s\"}]}", hex);
	req = build("POST", "/api/v1/repos/acme/keep/releases", tok_publish,
	    NULL, json, strlen(json), false, &len);
	assert_int_equal(tl_exchange_fd(fd, req, len, false, TL_TIMEOUT_MS,
	    &r), 0);
	free(req);
	expect_status(&r, 201, "second request on the connection");
	assert_false(r.closed);
	tl_resp_free(&r);

	req = build("POST", "/api/v1/repos/acme/keep/releases/1.0.0/yank",
	    tok_publish, NULL, "", 0, false, &len);
	assert_int_equal(tl_exchange_fd(fd, req, len, false, TL_TIMEOUT_MS,
	    &r), 0);
	free(req);
	expect_status(&r, 200, "third request on the connection");
	tl_resp_free(&r);
	close(fd);
	assert_latest("acme/keep", NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_blob_content_length),
		cmocka_unit_test(test_blob_chunked),
		cmocka_unit_test(test_blob_empty),
		cmocka_unit_test(test_blob_3mib_binary),
		cmocka_unit_test(test_publish_and_read_back),
		cmocka_unit_test(test_publish_flags),
		cmocka_unit_test(test_publish_force_and_conflict),
		cmocka_unit_test(test_publish_validation),
		cmocka_unit_test(test_publish_too_large_content_length),
		cmocka_unit_test(test_publish_json_at_the_limit),
		cmocka_unit_test(test_publish_too_large_chunked),
		cmocka_unit_test(test_auth),
		cmocka_unit_test(test_promote_yank_unyank),
		cmocka_unit_test(test_wrong_method),
		cmocka_unit_test(test_disconnect_mid_upload),
		cmocka_unit_test(test_device_events),
		cmocka_unit_test(test_keep_alive),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
