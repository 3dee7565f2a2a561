/*
 * The GitHub-compatible API as MicroPython devices use it
 * (micropython-ota-updater.md §2.3, §2.4, §3.2, §6, §9): releases
 * published with the CLI exactly as a user would, a real `ota serve
 * --data`, and a client that sends the exact bytes of the bensherlock fork
 * (and of rdehuyss upstream) and reads every answer to EOF.
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <cjson/cJSON.h>

#include "common/hash.h"
#include "common/manifest.h"
#include "common/sign.h"
#include "testlib.h"

#define FORK_UA "MicroPython OTAUpdater"
#define UPSTREAM_UA "MicroPython Client"
#define RAW_HOST "raw.githubusercontent.com"
#define NOT_FOUND_JSON \
	"{\"message\":\"Not Found\",\"documentation_url\":" \
	"\"https://docs.github.com/rest\"}"
#define MAX_FILES 64

/* snprintf that fails the test rather than cut. */
#define FMT(buf, sz, ...) do {						\
	int fmt_n_ = snprintf(buf, sz, __VA_ARGS__);			\
									\
	assert_true(fmt_n_ >= 0 && (size_t)fmt_n_ < (size_t)(sz));	\
} while (0)

static char data_dir[PATH_MAX], src_dir[PATH_MAX], cat_dir[PATH_MAX];
static struct tl_server srv;

/* ---- set-up ---- */

static int
setup(void **state)
{
	char legacy[PATH_MAX + 16];

	if (tl_dir_setup(state) != 0)
		return -1;
	memset(&srv, 0, sizeof(srv));
	FMT(data_dir, sizeof(data_dir), "%s/data", tl_dir);
	FMT(src_dir, sizeof(src_dir), "%s/src", tl_dir);
	FMT(cat_dir, sizeof(cat_dir), "%s/cat", tl_dir);
	FMT(legacy, sizeof(legacy), "%s/legacy.bin", cat_dir);
	if (mkdir(src_dir, 0755) != 0 || mkdir(cat_dir, 0755) != 0)
		return -1;
	return tl_write_file(legacy, tl_good, sizeof(tl_good));
}

static int
teardown(void **state)
{
	int st = 0, bad = 0;

	if (srv.pid > 0) {
		/* SIGTERM must end the server cleanly (and, under ASan,
		 * without a finding): exit 0. */
		st = tl_server_stop(&srv);
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
			char *log = tl_server_log(&srv);

			fprintf(stderr, "server did not exit 0 (status %#x); "
			    "log:\n%s\n", (unsigned)st, log);
			free(log);
			bad = 1;
		}
	}
	if (srv.tmp[0] != '\0')
		tl_rmtree(srv.tmp);
	memset(&srv, 0, sizeof(srv));
	return tl_dir_teardown(state) != 0 || bad ? -1 : 0;
}

static void
start_server(void)
{
	const char *args[] = { "--data", data_dir, NULL };

	assert_int_equal(tl_server_start(&srv, cat_dir, args), 0);
}

/* Runs ota with args (NULL-terminated); asserts exit 0; stdout in out. */
static void
ota_ok(const char *const *args, char *out, size_t outsz)
{
	int rc = tl_ota_run(args, out, outsz);

	if (rc != 0)
		fail_msg("ota %s %s: exit %d", args[0], args[1], rc);
}

#define OTA(...) ota_ok((const char *const[]){ __VA_ARGS__, NULL }, NULL, 0)

/* mkdir -p of path's parent directories. */
static void
mkparents(const char *path)
{
	char p[PATH_MAX];
	char *s;

	FMT(p, sizeof(p), "%s", path);
	for (s = strchr(p + 1, '/'); s != NULL; s = strchr(s + 1, '/')) {
		*s = '\0';
		if (mkdir(p, 0755) != 0 && errno != EEXIST)
			fail_msg("mkdir %s: %s", p, strerror(errno));
		*s = '/';
	}
}

static void
put(const char *root, const char *rel, const void *p, size_t n)
{
	char path[PATH_MAX];

	FMT(path, sizeof(path), "%s/%s", root, rel);
	mkparents(path);
	assert_int_equal(tl_write_file(path, p, n), 0);
}

/*
 * The tree of release variant v under src/<tag>/main: text, a binary file
 * with every byte value and invalid UTF-8, an empty file, nested
 * directories, a directory whose name contains "main", and "lib.py" beside
 * "lib/" (they sort differently by path and by name); variant 2 a file
 * whose name needs percent-encoding in a URL.
 */
static void
make_tree(const char *tag, int v)
{
	unsigned char bin[256 + 6];
	char root[PATH_MAX], text[64];
	size_t i;

	FMT(root, sizeof(root), "%s/%s", src_dir, tag);
	for (i = 0; i < 256; i++)
		bin[i] = (unsigned char)i;
	memcpy(bin + 256, "\xc3\x28\xed\xa0\x80\xff", 6);
	FMT(text, sizeof(text), "print('app %s')\n", tag);
	put(root, "main/app.py", text, strlen(text));
	put(root, "main/bin.mpy", bin, sizeof(bin));
	put(root, "main/empty.txt", "", 0);
	put(root, "main/lib/sub/x.py", "X = 1\n", 6);
	put(root, "main/lib.py", "# lib.py\n", 9);
	put(root, "main/domain/x.py", "D = 'domain'\n", 13);
	if (v == 1)
		put(root, "main/lib/util.py", "def f():\n    pass\n", 18);
	else {
		put(root, "main/lib/new.py", "NEW = 2\n", 8);
		/* download_url must encode it; the fork sends it as given */
		put(root, "main/lib/\xc3\xbc ber#1.py", "# odd\n", 6);
	}
}

/* ota publish --data DIR [opts...] repo tag src/<tag>/main */
static void
publish(const char *repo, const char *tag, const char *opt1,
    const char *opt2)
{
	char path[PATH_MAX];
	const char *args[12];
	int n = 0;

	FMT(path, sizeof(path), "%s/%s/main", src_dir, tag);
	if (access(path, F_OK) != 0)
		make_tree(tag, 1);
	args[n++] = "publish";
	args[n++] = "--data";
	args[n++] = data_dir;
	if (opt1 != NULL)
		args[n++] = opt1;
	if (opt2 != NULL)
		args[n++] = opt2;
	args[n++] = repo;
	args[n++] = tag;
	args[n++] = path;
	args[n] = NULL;
	ota_ok(args, NULL, 0);
}

/* ---- the device's HTTP client (§2.4) ---- */

struct dev {
	const char *auth;	/* Authorization value, e.g. "token X"; or NULL */
	bool upstream;		/* rdehuyss HEAD instead of the fork */
};

static const struct dev fork_dev = { NULL, false };

/*
 * One request, one connection, HTTP/1.0, read to EOF. The bytes are the
 * fork's (§2.3): Host without the port, optional Authorization, the
 * User-Agent, a blank line; upstream's (§3.2) add one more CRLF. extra
 * (whole "Name: value\r\n" lines, or NULL) goes before the User-Agent.
 * Checks the framing such clients need: no chunked encoding, a
 * Content-Length equal to the body, the connection closed.
 */
static void
dev_req(const struct dev *d, const char *method, const char *host,
    const char *target, const char *extra, struct http_resp *r)
{
	char req[8192], v[64];
	int n;

	n = snprintf(req, sizeof(req), "%s %s HTTP/1.0\r\nHost: %s\r\n%s%s%s"
	    "%sUser-Agent: %s\r\n\r\n%s", method, target, host,
	    d->auth ? "Authorization: " : "", d->auth ? d->auth : "",
	    d->auth ? "\r\n" : "", extra ? extra : "",
	    d->upstream ? UPSTREAM_UA : FORK_UA, d->upstream ? "\r\n" : "");
	assert_true(n > 0 && (size_t)n < sizeof(req));
	assert_int_equal(tl_exchange_eof(srv.port, req, (size_t)n,
	    TL_TIMEOUT_MS, r), 0);
	assert_true(r->closed);
	assert_false(r->timed_out);
	if (r->status < 0)
		fail_msg("%s %s: no status line", method, target);
	assert_int_equal(tl_header_count(r, "Transfer-Encoding"), 0);
	if (tl_header(r, "Content-Length", v, sizeof(v)) == NULL)
		fail_msg("%s %s: %d without Content-Length", method, target,
		    r->status);
	assert_int_equal(tl_header_count(r, "Content-Length"), 1);
	if (strcmp(method, "HEAD") == 0 || r->status == 304)
		assert_int_equal(r->body_len, 0);
	else if (strtoull(v, NULL, 10) != r->body_len)
		fail_msg("%s %s: Content-Length %s, body %zu bytes", method,
		    target, v, r->body_len);
}

static void
dev_get(const struct dev *d, const char *target, struct http_resp *r)
{
	dev_req(d, "GET", "127.0.0.1", target, NULL, r);
}

/* GET target (fork bytes) and assert status and, if body, the exact body. */
static void
expect(const struct dev *d, const char *target, int status,
    const char *body)
{
	struct http_resp r;

	dev_get(d, target, &r);
	if (r.status != status)
		fail_msg("GET %s: %d, want %d: %s", target, r.status, status,
		    (char *)r.body);
	if (body != NULL)
		assert_string_equal((char *)r.body, body);
	tl_resp_free(&r);
}

/* The GitHub 404 object, exactly, as JSON. */
static void
expect_json_404(const struct dev *d, const char *target)
{
	struct http_resp r;
	char v[128];

	dev_get(d, target, &r);
	if (r.status != 404)
		fail_msg("GET %s: %d, want 404", target, r.status);
	assert_string_equal((char *)r.body, NOT_FOUND_JSON);
	assert_non_null(tl_header(&r, "Content-Type", v, sizeof(v)));
	assert_true(strncmp(v, "application/json", 16) == 0);
	tl_resp_free(&r);
}

static cJSON *
json_of(const struct http_resp *r)
{
	cJSON *j = cJSON_ParseWithLength((const char *)r->body, r->body_len);

	if (j == NULL)
		fail_msg("not JSON: %s", (char *)r->body);
	return j;
}

/* GET target, expect 200 and JSON; caller deletes. */
static cJSON *
get_json(const struct dev *d, const char *target)
{
	struct http_resp r;
	char v[128];
	cJSON *j;

	dev_get(d, target, &r);
	if (r.status != 200)
		fail_msg("GET %s: %d: %s", target, r.status, (char *)r.body);
	assert_non_null(tl_header(&r, "Content-Type", v, sizeof(v)));
	assert_true(strncmp(v, "application/json", 16) == 0);
	j = json_of(&r);
	tl_resp_free(&r);
	return j;
}

/* tag_name of releases/latest of repo; asserts 200. */
static void
latest_tag(const struct dev *d, const char *repo, char *tag, size_t tagsz)
{
	char target[256];
	cJSON *j;

	FMT(target, sizeof(target), "/repos/%s/releases/latest", repo);
	j = get_json(d, target);
	FMT(tag, tagsz, "%s", tl_jstr(j, "tag_name"));
	cJSON_Delete(j);
}

static void
assert_latest(const char *repo, const char *want)
{
	char tag[128];

	latest_tag(&fork_dev, repo, tag, sizeof(tag));
	assert_string_equal(tag, want);
}

/* The tag_names of GET /repos/{repo}/releases, comma-separated. */
static void
release_list(const char *repo, char *out, size_t outsz)
{
	char target[256];
	const cJSON *e;
	cJSON *j;

	FMT(target, sizeof(target), "/repos/%s/releases", repo);
	j = get_json(&fork_dev, target);
	assert_true(cJSON_IsArray(j));
	out[0] = '\0';
	cJSON_ArrayForEach(e, j) {
		if (out[0] != '\0')
			strncat(out, ",", outsz - strlen(out) - 1);
		strncat(out, tl_jstr(e, "tag_name"), outsz - strlen(out) - 1);
		assert_false(tl_jbool(e, "draft"));
	}
	cJSON_Delete(j);
}

/* Git's blob id: sha1("blob <size>\0" + bytes), as hex. */
static void
git_sha1(const void *p, size_t n, char hex[HASH_SHA1_LEN * 2 + 1])
{
	unsigned char d[HASH_MAX_LEN];
	char hdr[32];
	struct hash_ctx *h = hash_new(HASH_SHA1);
	size_t len, i;

	assert_non_null(h);
	FMT(hdr, sizeof(hdr), "blob %zu", n);
	assert_int_equal(hash_update(h, hdr, strlen(hdr) + 1), OTA_OK);
	assert_int_equal(hash_update(h, p, n), OTA_OK);
	assert_int_equal(hash_final(h, d, &len), OTA_OK);
	hash_free(h);
	for (i = 0; i < len; i++)
		FMT(hex + 2 * i, 3, "%02x", d[i]);
}

/* Git's order of tree entries: by name, a directory's name + "/". */
struct tree_ent {
	char name[256];
	char key[257];
	bool dir;
};

static int
cmp_tree_ent(const void *a, const void *b)
{
	return strcmp(((const struct tree_ent *)a)->key,
	    ((const struct tree_ent *)b)->key);
}

static unsigned char *slurp(const char *path, size_t *n);

/* Git's tree id of directory dir (regular files as 100644), as hex. */
static void
git_tree_sha1(const char *dir, char hex[HASH_SHA1_LEN * 2 + 1])
{
	static const char digits[] = "0123456789abcdef";
	struct tree_ent *e = calloc(MAX_FILES, sizeof(*e));
	unsigned char *body = malloc(MAX_FILES * 300), d[HASH_MAX_LEN];
	char path[PATH_MAX], sub[HASH_SHA1_LEN * 2 + 1], hdr[32];
	struct hash_ctx *h;
	struct dirent *de;
	struct stat sb;
	size_t n = 0, len = 0, i, k, dlen;
	DIR *dp;

	assert_non_null(dp = opendir(dir));
	while ((de = readdir(dp)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		assert_true(n < MAX_FILES);
		FMT(path, sizeof(path), "%s/%s", dir, de->d_name);
		assert_int_equal(lstat(path, &sb), 0);
		FMT(e[n].name, sizeof(e[n].name), "%s", de->d_name);
		e[n].dir = S_ISDIR(sb.st_mode);
		FMT(e[n].key, sizeof(e[n].key), "%s%s", de->d_name,
		    e[n].dir ? "/" : "");
		n++;
	}
	closedir(dp);
	qsort(e, n, sizeof(*e), cmp_tree_ent);
	for (i = 0; i < n; i++) {
		FMT(path, sizeof(path), "%s/%s", dir, e[i].name);
		if (e[i].dir)
			git_tree_sha1(path, sub);
		else {
			unsigned char *p = slurp(path, &dlen);

			git_sha1(p, dlen, sub);
			free(p);
		}
		len += (size_t)sprintf((char *)body + len, "%s %s",
		    e[i].dir ? "40000" : "100644", e[i].name) + 1;
		for (k = 0; k < HASH_SHA1_LEN; k++)
			body[len++] = (unsigned char)(
			    (strchr(digits, sub[2 * k]) - digits) << 4 |
			    (strchr(digits, sub[2 * k + 1]) - digits));
	}
	FMT(hdr, sizeof(hdr), "tree %zu", len);
	assert_non_null(h = hash_new(HASH_SHA1));
	assert_int_equal(hash_update(h, hdr, strlen(hdr) + 1), OTA_OK);
	assert_int_equal(hash_update(h, body, len), OTA_OK);
	assert_int_equal(hash_final(h, d, &dlen), OTA_OK);
	hash_free(h);
	for (k = 0; k < dlen; k++)
		FMT(hex + 2 * k, 3, "%02x", d[k]);
	free(body);
	free(e);
}

/* Reads a whole file; caller frees. */
static unsigned char *
slurp(const char *path, size_t *n)
{
	FILE *f = fopen(path, "rb");
	unsigned char *p;
	long len;

	if (f == NULL)
		fail_msg("cannot open %s", path);
	fseek(f, 0, SEEK_END);
	len = ftell(f);
	fseek(f, 0, SEEK_SET);
	p = malloc((size_t)len + 1);
	assert_int_equal(fread(p, 1, (size_t)len, f), (size_t)len);
	fclose(f);
	*n = (size_t)len;
	return p;
}

/* ---- the updater's flow ---- */

struct update {
	const struct dev *d;
	const char *repo;
	char tag[128];
	const char *devdir;
	int listings;		/* contents requests made */
	int files;		/* files written */
};

/* Removes every "refs/tags/" from s, as the fork does (§2.3 #3). */
static void
strip_refs_tags(char *s)
{
	static const char pat[] = "refs/tags/";
	char *p;

	while ((p = strstr(s, pat)) != NULL)
		memmove(p, p + strlen(pat), strlen(p + strlen(pat)) + 1);
}

/*
 * Splits "http://HOST:PORT/PATH" as the fork does and checks the URL
 * points at this server: the port must be there although the device's
 * Host header had none.
 */
static void
split_url(const char *url, char *host, size_t hostsz, char *path,
    size_t pathsz)
{
	const char *h, *colon, *slash;
	unsigned long port;

	if (strncmp(url, "http://", 7) != 0)
		fail_msg("download_url '%s' is not http://", url);
	h = url + 7;
	slash = strchr(h, '/');
	colon = strchr(h, ':');
	if (slash == NULL || colon == NULL || colon > slash)
		fail_msg("download_url '%s' has no port", url);
	FMT(host, hostsz, "%.*s", (int)(colon - h), h);
	port = strtoul(colon + 1, NULL, 10);
	if (port != srv.port)
		fail_msg("download_url '%s': port %lu, server on %u", url,
		    port, (unsigned)srv.port);
	assert_string_equal(host, "127.0.0.1");
	FMT(path, pathsz, "%s", slash);
}

static void
listing(struct update *u, const char *dirpath)
{
	char target[1024], host[64], path[1024], sha[HASH_SHA1_LEN * 2 + 1];
	char dest[PATH_MAX];
	const cJSON *e;
	struct http_resp r;
	cJSON *arr;

	if (u->d->upstream)
		/* contents{src_dir}{main_dir}{sub_dir}: the lost '/' (D21) */
		FMT(target, sizeof(target),
		    "/repos/%s/contents%s?ref=refs/tags/%s", u->repo, dirpath,
		    u->tag);
	else
		FMT(target, sizeof(target),
		    "/repos/%s/contents/%s?ref=refs/tags/%s", u->repo, dirpath,
		    u->tag);
	arr = get_json(u->d, target);
	u->listings++;
	if (!cJSON_IsArray(arr))
		fail_msg("GET %s: not an array", target);
	assert_true(cJSON_GetArraySize(arr) > 0);
	cJSON_ArrayForEach(e, arr) {
		const char *type = tl_jstr(e, "type"), *epath = tl_jstr(e, "path");
		const char *name = tl_jstr(e, "name");
		const cJSON *dl = cJSON_GetObjectItemCaseSensitive(e,
		    "download_url");

		/* path is the full repository path, under dirpath */
		assert_true(strncmp(epath, "main/", 5) == 0);
		assert_true(strncmp(epath, dirpath, strlen(dirpath)) == 0);
		assert_int_equal(epath[strlen(dirpath)], '/');
		assert_string_equal(epath + strlen(dirpath) + 1, name);
		if (strcmp(type, "dir") == 0) {
			assert_true(cJSON_IsNull(dl));
			/* a directory's sha is Git's tree id, as on GitHub */
			FMT(dest, sizeof(dest), "%s/%s/%s", src_dir, u->tag,
			    epath);
			git_tree_sha1(dest, sha);
			assert_string_equal(tl_jstr(e, "sha"), sha);
			listing(u, epath);
			continue;
		}
		assert_string_equal(type, "file");
		if (u->d->upstream) {
			/* https://raw.githubusercontent.com/{O/R}/{tag}/{path} */
			FMT(path, sizeof(path), "/%s/%s/%s", u->repo,
			    u->tag, epath);
			dev_req(u->d, "GET", RAW_HOST, path, NULL, &r);
		} else {
			assert_true(cJSON_IsString(dl));
			split_url(dl->valuestring, host, sizeof(host), path,
			    sizeof(path));
			strip_refs_tags(path);
			dev_req(u->d, "GET", host, path, NULL, &r);
		}
		if (r.status != 200)
			fail_msg("GET %s: %d", path, r.status);
		/* the listing's size and sha describe these bytes */
		assert_int_equal((size_t)tl_jnum(e, "size"), r.body_len);
		git_sha1(r.body, r.body_len, sha);
		assert_string_equal(tl_jstr(e, "sha"), sha);
		/* installed name: path without the leading "main/" only */
		FMT(dest, sizeof(dest), "%s/%s", u->devdir, epath + 5);
		mkparents(dest);
		assert_int_equal(tl_write_file(dest, r.body, r.body_len), 0);
		u->files++;
		tl_resp_free(&r);
	}
	cJSON_Delete(arr);
}

/* The whole update of §2.3 into devdir; the tag it installed in tag. */
static void
device_update(const struct dev *d, const char *repo, const char *devdir,
    struct update *u)
{
	memset(u, 0, sizeof(*u));
	u->d = d;
	u->repo = repo;
	u->devdir = devdir;
	assert_int_equal(mkdir(devdir, 0755), 0);
	latest_tag(d, repo, u->tag, sizeof(u->tag));
	listing(u, "main");
}

/* Relative paths of the regular files under root/rel, sorted. */
struct filelist {
	size_t n;
	char path[MAX_FILES][256];
};

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(a, b);
}

static void
walk(const char *root, const char *rel, struct filelist *l)
{
	char dir[PATH_MAX], sub[512];
	struct dirent *de;
	struct stat sb;
	DIR *d;

	FMT(dir, sizeof(dir), "%s%s%s", root, rel[0] ? "/" : "", rel);
	assert_non_null(d = opendir(dir));
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		FMT(sub, sizeof(sub), "%s%s%s", rel, rel[0] ? "/" : "",
		    de->d_name);
		FMT(dir, sizeof(dir), "%s/%s", root, sub);
		assert_int_equal(lstat(dir, &sb), 0);
		if (S_ISDIR(sb.st_mode))
			walk(root, sub, l);
		else {
			assert_true(S_ISREG(sb.st_mode));
			assert_true(l->n < MAX_FILES);
			FMT(l->path[l->n++], sizeof(l->path[0]), "%s", sub);
		}
	}
	closedir(d);
	qsort(l->path, l->n, sizeof(l->path[0]), cmp_str);
}

/* Both trees hold the same files with the same bytes; returns the count. */
static size_t
assert_same_tree(const char *want, const char *got)
{
	static struct filelist a, b;
	char pa[PATH_MAX], pb[PATH_MAX];
	size_t i, na, nb;

	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	walk(want, "", &a);
	walk(got, "", &b);
	for (i = 0; i < a.n || i < b.n; i++) {
		if (i >= a.n || i >= b.n || strcmp(a.path[i], b.path[i]) != 0)
			fail_msg("trees differ at file %zu: '%s' vs '%s'", i,
			    i < a.n ? a.path[i] : "(none)",
			    i < b.n ? b.path[i] : "(none)");
	}
	for (i = 0; i < a.n; i++) {
		unsigned char *x, *y;

		FMT(pa, sizeof(pa), "%s/%s", want, a.path[i]);
		FMT(pb, sizeof(pb), "%s/%s", got, b.path[i]);
		x = slurp(pa, &na);
		y = slurp(pb, &nb);
		if (na != nb || memcmp(x, y, na) != 0)
			fail_msg("%s differs after the update", a.path[i]);
		free(x);
		free(y);
	}
	return a.n;
}

/* One update of repo into tl_dir/<devname>, checked against src/<tag>. */
static void
update_and_check(const struct dev *d, const char *repo, const char *devname,
    const char *want_tag)
{
	char devdir[PATH_MAX], want[PATH_MAX];
	struct update u;

	tl_path(devdir, sizeof(devdir), devname);
	device_update(d, repo, devdir, &u);
	assert_string_equal(u.tag, want_tag);
	FMT(want, sizeof(want), "%s/%s/main", src_dir, want_tag);
	assert_int_equal(assert_same_tree(want, devdir), (size_t)u.files);
	assert_true(u.files >= 7);
	/* main, main/domain, main/lib, main/lib/sub: one listing each */
	assert_int_equal(u.listings, 4);
}

/* ---- tests ---- */

/* The fork's whole update, then an update to a newer release. */
static void
fork_update(void **state)
{
	publish("me/app", "1.0.0", NULL, NULL);
	start_server();
	update_and_check(&fork_dev, "me/app", "dev1", "1.0.0");
	make_tree("1.1.0", 2);
	publish("me/app", "1.1.0", NULL, NULL);	/* server keeps running */
	update_and_check(&fork_dev, "me/app", "dev2", "1.1.0");
}

/* rdehuyss HEAD: its User-Agent, extra CRLF, "contentsmain", raw host. */
static void
upstream_update(void **state)
{
	const struct dev up = { NULL, true };
	struct http_resp r;
	char v[128];

	publish("me/app", "1.0.0", NULL, NULL);
	start_server();
	update_and_check(&up, "me/app", "dev", "1.0.0");
	/* the raw host also takes refs/tags/ and answers 404 to the unknown */
	dev_req(&up, "GET", RAW_HOST,
	    "/me/app/refs/tags/1.0.0/main/lib/sub/x.py", NULL, &r);
	assert_int_equal(r.status, 200);
	assert_string_equal((char *)r.body, "X = 1\n");
	assert_string_equal(tl_header(&r, "Content-Type", v, sizeof(v)),
	    "application/octet-stream");
	tl_resp_free(&r);
	dev_req(&up, "GET", RAW_HOST, "/me/app/1.0.0/main/nope.py", NULL, &r);
	assert_int_equal(r.status, 404);
	tl_resp_free(&r);
	dev_req(&up, "GET", RAW_HOST, "/me/app/9.9.9/main/app.py", NULL, &r);
	assert_int_equal(r.status, 404);
	tl_resp_free(&r);
}

/* A repository without releases and an unknown one: GitHub's 404. */
static void
no_release(void **state)
{
	OTA("repo", "create", "--data", data_dir, "me/empty");
	start_server();
	expect_json_404(&fork_dev, "/repos/me/empty/releases/latest");
	expect_json_404(&fork_dev, "/repos/nobody/nothing/releases/latest");
	expect_json_404(&fork_dev, "/repos/nobody/nothing/releases");
	expect_json_404(&fork_dev,
	    "/repos/nobody/nothing/contents/main?ref=refs/tags/1.0.0");
	expect_json_404(&fork_dev, "/repos/me/empty/releases/tags/1.0.0");
	expect(&fork_dev, "/repos/me/empty/releases", 200, "[]");
	expect(&fork_dev, "/repos/me/empty/contents/main", 404, NULL);
	expect(&fork_dev, "/raw/me/empty/1.0.0/main/app.py", 404, NULL);
	expect(&fork_dev, "/raw/nobody/nothing/1.0.0/main/app.py", 404,
	    NULL);
}

/* A draft is invisible everywhere until it is promoted. */
static void
drafts_hidden(void **state)
{
	char list[256];

	publish("me/app", "1.0.0", NULL, NULL);
	publish("me/app", "1.1.0", "--draft", NULL);
	publish("me/drafty", "0.1.0", "--draft", NULL);
	start_server();
	assert_latest("me/app", "1.0.0");
	release_list("me/app", list, sizeof(list));
	assert_string_equal(list, "1.0.0");
	expect_json_404(&fork_dev, "/repos/me/app/releases/tags/1.1.0");
	expect(&fork_dev, "/repos/me/app/contents/main?ref=refs/tags/1.1.0",
	    404, NULL);
	expect(&fork_dev, "/repos/me/app/contents/main/app.py?ref=1.1.0", 404,
	    NULL);
	expect(&fork_dev, "/raw/me/app/refs/tags/1.1.0/main/app.py", 404,
	    NULL);
	expect(&fork_dev, "/raw/me/app/1.1.0/main/app.py", 404, NULL);
	expect(&fork_dev, "/api/v1/repos/me/app/releases/1.1.0/manifest", 404,
	    NULL);
	expect_json_404(&fork_dev, "/repos/me/drafty/releases/latest");
	expect(&fork_dev, "/repos/me/drafty/releases", 200, "[]");
}

/* Promoting a draft makes it the latest, visible and downloadable. */
static void
promote_draft(void **state)
{
	char list[256];
	cJSON *j;

	publish("me/app", "1.0.0", NULL, NULL);
	make_tree("1.1.0", 2);
	publish("me/app", "1.1.0", "--draft", NULL);
	start_server();
	assert_latest("me/app", "1.0.0");
	OTA("release", "promote", "--data", data_dir, "me/app", "1.1.0");
	assert_latest("me/app", "1.1.0");
	release_list("me/app", list, sizeof(list));
	assert_string_equal(list, "1.1.0,1.0.0");
	j = get_json(&fork_dev, "/repos/me/app/releases/tags/1.1.0");
	assert_false(tl_jbool(j, "draft"));
	assert_false(tl_jbool(j, "prerelease"));
	cJSON_Delete(j);
	update_and_check(&fork_dev, "me/app", "dev", "1.1.0");
}

/* A pre-release is listed but never the latest. */
static void
prerelease_not_latest(void **state)
{
	char list[256];
	cJSON *j;

	publish("me/app", "1.0.0", NULL, NULL);
	publish("me/app", "1.1.0-rc.1", "--prerelease", NULL);
	publish("me/app", "1.2.0", "--prerelease", NULL);
	start_server();
	assert_latest("me/app", "1.0.0");
	release_list("me/app", list, sizeof(list));
	assert_string_equal(list, "1.2.0,1.1.0-rc.1,1.0.0");
	j = get_json(&fork_dev, "/repos/me/app/releases/tags/1.2.0");
	assert_true(tl_jbool(j, "prerelease"));
	cJSON_Delete(j);
	j = get_json(&fork_dev, "/repos/me/app/releases/tags/1.0.0");
	assert_false(tl_jbool(j, "prerelease"));
	cJSON_Delete(j);
	/* contents without ref follows the latest, not the pre-release */
	j = get_json(&fork_dev, "/repos/me/app/contents/main/app.py");
	assert_non_null(strstr(tl_jstr(j, "download_url"), "/1.0.0/"));
	cJSON_Delete(j);
}

/*
 * A yanked release is never the latest nor listed, but a device in the
 * middle of installing it can still finish: tags/, contents and raw work.
 */
static void
yanked(void **state)
{
	char list[256];
	cJSON *j;

	publish("me/app", "1.0.0", NULL, NULL);
	make_tree("1.1.0", 2);
	publish("me/app", "1.1.0", NULL, NULL);
	start_server();
	assert_latest("me/app", "1.1.0");
	OTA("release", "yank", "--data", data_dir, "me/app", "1.1.0");
	assert_latest("me/app", "1.0.0");
	release_list("me/app", list, sizeof(list));
	assert_string_equal(list, "1.0.0");
	j = get_json(&fork_dev, "/repos/me/app/releases/tags/1.1.0");
	assert_string_equal(tl_jstr(j, "tag_name"), "1.1.0");
	assert_true(tl_jbool(cJSON_GetObjectItem(j, "ota"), "yanked"));
	cJSON_Delete(j);
	j = get_json(&fork_dev,
	    "/repos/me/app/contents/main?ref=refs/tags/1.1.0");
	assert_true(cJSON_IsArray(j));
	cJSON_Delete(j);
	expect(&fork_dev, "/raw/me/app/1.1.0/main/lib/new.py", 200,
	    "NEW = 2\n");
	expect(&fork_dev, "/raw/me/app/refs/tags/1.1.0/main/app.py", 200,
	    "print('app 1.1.0')\n");
	{
		const struct dev up = { NULL, true };
		struct http_resp r;

		dev_req(&up, "GET", RAW_HOST, "/me/app/1.1.0/main/app.py",
		    NULL, &r);
		assert_int_equal(r.status, 200);
		assert_string_equal((char *)r.body, "print('app 1.1.0')\n");
		tl_resp_free(&r);
	}
	OTA("release", "yank", "--undo", "--data", data_dir, "me/app",
	    "1.1.0");
	assert_latest("me/app", "1.1.0");
}

/* Versions compare as semver, not as strings or by publication order. */
static void
semantic_order(void **state)
{
	char list[256];

	publish("me/app", "1.0.9", NULL, NULL);
	publish("me/app", "1.0.10", NULL, NULL);
	publish("me/app", "v1.0.2", NULL, NULL);
	start_server();
	assert_latest("me/app", "1.0.10");
	release_list("me/app", list, sizeof(list));
	assert_string_equal(list, "1.0.10,1.0.9,v1.0.2");
	publish("me/app", "2.0.0-rc.1", "--prerelease", NULL);
	assert_latest("me/app", "1.0.10");
	release_list("me/app", list, sizeof(list));
	assert_string_equal(list, "2.0.0-rc.1,1.0.10,1.0.9,v1.0.2");
	/* a v-prefixed tag is served under its own spelling */
	expect(&fork_dev, "/raw/me/app/v1.0.2/main/app.py", 200,
	    "print('app v1.0.2')\n");
}

/* Private repositories: 404 without a good token, 200 with one. */
static void
private_repo(void **state)
{
	static const char *const targets[] = {
		"/repos/me/app/releases/latest",
		"/repos/me/app/releases",
		"/repos/me/app/releases/tags/1.0.0",
		"/repos/me/app/contents/main?ref=refs/tags/1.0.0",
		"/repos/me/app/contents/main/app.py",
		"/raw/me/app/refs/tags/1.0.0/main/app.py",
		"/raw/me/app/1.0.0/main/app.py",
		"/api/v1/repos/me/app/releases/1.0.0/manifest",
	};
	char secret[256], other[256], auth[300], bearer[300], auth_o[300];
	const struct dev anon = { NULL, false };
	const struct dev bad = { "token ota_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
	    "AAAAAAAAAAAA", false };
	const struct dev garbage = { "token nonsense", false };
	const struct dev basic = { "Basic bWU6cGFzcw==", false };
	struct dev tok = { auth, false }, bear = { bearer, false };
	struct dev oth = { auth_o, false };
	struct http_resp r;
	size_t i;

	publish("me/app", "1.0.0", NULL, NULL);
	publish("other/x", "1.0.0", NULL, NULL);
	OTA("repo", "private", "--data", data_dir, "me/app");
	ota_ok((const char *const[]){ "token", "create", "--data", data_dir,
	    "--scope", "read", NULL }, secret, sizeof(secret));
	ota_ok((const char *const[]){ "token", "create", "--data", data_dir,
	    "--scope", "read", "--repo", "other/x", NULL }, other,
	    sizeof(other));
	secret[strcspn(secret, "\n")] = '\0';
	other[strcspn(other, "\n")] = '\0';
	assert_true(strlen(secret) > 8 && strlen(other) > 8);
	FMT(auth, sizeof(auth), "token %s", secret);
	FMT(bearer, sizeof(bearer), "Bearer %s", secret);
	FMT(auth_o, sizeof(auth_o), "token %s", other);
	start_server();
	for (i = 0; i < sizeof(targets) / sizeof(targets[0]); i++) {
		bool api = strncmp(targets[i], "/repos/", 7) == 0 ||
		    strncmp(targets[i], "/api/", 5) == 0;
		const struct dev *no[] = { &anon, &bad, &garbage, &basic,
		    &oth };
		size_t k;

		for (k = 0; k < sizeof(no) / sizeof(no[0]); k++) {
			if (api)
				expect_json_404(no[k], targets[i]);
			else
				expect(no[k], targets[i], 404, NULL);
		}
		expect(&tok, targets[i], 200, NULL);
		expect(&bear, targets[i], 200, NULL);
	}
	/* the raw host too */
	dev_req(&anon, "GET", RAW_HOST, "/me/app/1.0.0/main/app.py", NULL, &r);
	assert_int_equal(r.status, 404);
	tl_resp_free(&r);
	dev_req(&tok, "GET", RAW_HOST, "/me/app/1.0.0/main/app.py", NULL, &r);
	assert_int_equal(r.status, 200);
	assert_string_equal((char *)r.body, "print('app 1.0.0')\n");
	tl_resp_free(&r);
	/* the repo-limited token reads its own repo; the fork's whole flow */
	assert_latest("other/x", "1.0.0");
	expect(&oth, "/repos/other/x/releases/latest", 200, NULL);
	update_and_check(&tok, "me/app", "dev", "1.0.0");
	/* made public again, it answers everyone */
	OTA("repo", "public", "--data", data_dir, "me/app");
	assert_latest("me/app", "1.0.0");
}

/* The first token id that `ota token list` prints. */
static long long
first_token_id(void)
{
	char out[4096];
	long long id = -1;

	ota_ok((const char *const[]){ "token", "list", "--data", data_dir,
	    NULL }, out, sizeof(out));
	if (sscanf(out, "%lld", &id) != 1)
		fail_msg("no token id in: %s", out);
	return id;
}

/*
 * Access changes take effect at once on a running server, even for a
 * request it has just answered: private, revoked, new token, public.
 */
static void
access_changes_live(void **state)
{
	static const char *const targets[] = {
		"/repos/me/app/releases/latest",
		"/repos/me/app/contents/main?ref=refs/tags/1.0.0",
		"/raw/me/app/1.0.0/main/app.py",
	};
	char secret[256], secret2[256], auth[300], auth2[300], id[32];
	const struct dev anon = { NULL, false };
	struct dev tok = { auth, false }, tok2 = { auth2, false };
	size_t i;
	int round;

	publish("me/app", "1.0.0", NULL, NULL);
	start_server();
	for (round = 0; round < 2; round++)	/* twice: a cache has it */
		for (i = 0; i < 3; i++)
			expect(&anon, targets[i], 200, NULL);
	OTA("repo", "private", "--data", data_dir, "me/app");
	for (i = 0; i < 3; i++)
		expect(&anon, targets[i], 404, NULL);
	ota_ok((const char *const[]){ "token", "create", "--data", data_dir,
	    "--scope", "read", NULL }, secret, sizeof(secret));
	secret[strcspn(secret, "\n")] = '\0';
	FMT(auth, sizeof(auth), "token %s", secret);
	for (round = 0; round < 2; round++)
		for (i = 0; i < 3; i++)
			expect(&tok, targets[i], 200, NULL);
	FMT(id, sizeof(id), "%lld", first_token_id());
	OTA("token", "revoke", "--data", data_dir, id);
	for (i = 0; i < 3; i++)
		expect(&tok, targets[i], 404, NULL);
	/* a token first refused, then created: not a stale 404 */
	ota_ok((const char *const[]){ "token", "create", "--data", data_dir,
	    "--scope", "read", NULL }, secret2, sizeof(secret2));
	secret2[strcspn(secret2, "\n")] = '\0';
	FMT(auth2, sizeof(auth2), "token %s", secret2);
	for (i = 0; i < 3; i++)
		expect(&tok2, targets[i], 200, NULL);
	OTA("repo", "public", "--data", data_dir, "me/app");
	for (i = 0; i < 3; i++)
		expect(&anon, targets[i], 200, NULL);
}

/* ETag and If-None-Match on releases/latest: 304 until a new release. */
static void
latest_conditional(void **state)
{
	char etag[128], etag2[128], inm[200], tag[64];
	struct http_resp r;
	cJSON *j;

	publish("me/app", "1.0.0", NULL, NULL);
	start_server();
	dev_get(&fork_dev, "/repos/me/app/releases/latest", &r);
	assert_int_equal(r.status, 200);
	assert_non_null(tl_header(&r, "ETag", etag, sizeof(etag)));
	assert_int_equal(etag[0], '"');
	tl_resp_free(&r);
	FMT(inm, sizeof(inm), "If-None-Match: %s\r\n", etag);
	dev_req(&fork_dev, "GET", "127.0.0.1", "/repos/me/app/releases/latest",
	    inm, &r);
	assert_int_equal(r.status, 304);
	assert_int_equal(r.body_len, 0);	/* not a byte after the head */
	assert_string_equal(tl_header(&r, "ETag", etag2, sizeof(etag2)),
	    etag);
	tl_resp_free(&r);
	/* a different tag is not a match */
	dev_req(&fork_dev, "GET", "127.0.0.1", "/repos/me/app/releases/latest",
	    "If-None-Match: \"nope\"\r\n", &r);
	assert_int_equal(r.status, 200);
	tl_resp_free(&r);
	make_tree("1.1.0", 2);
	publish("me/app", "1.1.0", NULL, NULL);
	dev_req(&fork_dev, "GET", "127.0.0.1", "/repos/me/app/releases/latest",
	    inm, &r);
	assert_int_equal(r.status, 200);
	assert_non_null(tl_header(&r, "ETag", etag2, sizeof(etag2)));
	assert_string_not_equal(etag2, etag);
	j = json_of(&r);
	FMT(tag, sizeof(tag), "%s", tl_jstr(j, "tag_name"));
	assert_string_equal(tag, "1.1.0");
	cJSON_Delete(j);
	tl_resp_free(&r);
	/* the listing is conditional too */
	dev_get(&fork_dev, "/repos/me/app/contents/main?ref=1.1.0", &r);
	assert_int_equal(r.status, 200);
	assert_non_null(tl_header(&r, "ETag", etag, sizeof(etag)));
	tl_resp_free(&r);
	FMT(inm, sizeof(inm), "If-None-Match: %s\r\n", etag);
	dev_req(&fork_dev, "GET", "127.0.0.1",
	    "/repos/me/app/contents/main?ref=1.1.0", inm, &r);
	assert_int_equal(r.status, 304);
	assert_int_equal(r.body_len, 0);
	tl_resp_free(&r);
}

/* Raw files: ETag, 304, and a byte range. */
static void
raw_conditional_and_range(void **state)
{
	static const char target[] = "/raw/me/app/1.0.0/main/bin.mpy";
	char etag[128], v[128], inm[200];
	struct http_resp r;

	publish("me/app", "1.0.0", NULL, NULL);
	start_server();
	dev_get(&fork_dev, target, &r);
	assert_int_equal(r.status, 200);
	assert_int_equal(r.body_len, 262);
	assert_int_equal(r.body[0], 0x00);
	assert_int_equal(r.body[255], 0xff);
	assert_non_null(tl_header(&r, "ETag", etag, sizeof(etag)));
	tl_resp_free(&r);
	FMT(inm, sizeof(inm), "If-None-Match: %s\r\n", etag);
	dev_req(&fork_dev, "GET", "127.0.0.1", target, inm, &r);
	assert_int_equal(r.status, 304);
	assert_int_equal(r.body_len, 0);
	tl_resp_free(&r);
	dev_req(&fork_dev, "GET", "127.0.0.1", target,
	    "Range: bytes=0-3\r\n", &r);
	assert_int_equal(r.status, 206);
	assert_int_equal(r.body_len, 4);
	assert_memory_equal(r.body, "\x00\x01\x02\x03", 4);
	assert_string_equal(tl_header(&r, "Content-Range", v, sizeof(v)),
	    "bytes 0-3/262");
	tl_resp_free(&r);
	/* the empty file is a 200 with Content-Length: 0 */
	dev_get(&fork_dev, "/raw/me/app/1.0.0/main/empty.txt", &r);
	assert_int_equal(r.status, 200);
	assert_int_equal(r.body_len, 0);
	tl_resp_free(&r);
}

/* releases/tags/{tag}, and the spellings of contents. */
static void
tags_and_contents(void **state)
{
	char sha[HASH_SHA1_LEN * 2 + 1], want[256];
	const cJSON *e;
	cJSON *j;
	int n;

	publish("me/app", "1.0.0", NULL, NULL);
	make_tree("1.1.0", 2);
	publish("me/app", "1.1.0", NULL, NULL);
	start_server();
	j = get_json(&fork_dev, "/repos/me/app/releases/tags/1.0.0");
	assert_string_equal(tl_jstr(j, "tag_name"), "1.0.0");
	assert_false(tl_jbool(j, "draft"));
	cJSON_Delete(j);
	expect_json_404(&fork_dev, "/repos/me/app/releases/tags/9.9.9");
	expect_json_404(&fork_dev, "/repos/me/app/releases/tags");
	expect_json_404(&fork_dev, "/repos/me/app/releases/nope");

	/* a file gives one object */
	j = get_json(&fork_dev,
	    "/repos/me/app/contents/main/lib/sub/x.py?ref=refs/tags/1.0.0");
	assert_true(cJSON_IsObject(j));
	assert_string_equal(tl_jstr(j, "type"), "file");
	assert_string_equal(tl_jstr(j, "name"), "x.py");
	assert_string_equal(tl_jstr(j, "path"), "main/lib/sub/x.py");
	assert_int_equal((int)tl_jnum(j, "size"), 6);
	git_sha1("X = 1\n", 6, sha);
	assert_string_equal(tl_jstr(j, "sha"), sha);
	FMT(want, sizeof(want), "http://127.0.0.1:%u/raw/me/app/refs/"
	    "tags/1.0.0/main/lib/sub/x.py", (unsigned)srv.port);
	assert_string_equal(tl_jstr(j, "download_url"), want);
	cJSON_Delete(j);
	/* the empty file's id is Git's well-known empty blob */
	j = get_json(&fork_dev, "/repos/me/app/contents/main/empty.txt?ref=1.0.0");
	assert_string_equal(tl_jstr(j, "sha"),
	    "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391");
	assert_int_equal((int)tl_jnum(j, "size"), 0);
	cJSON_Delete(j);

	/* no ref: the latest release (1.1.0 has new.py, not util.py) */
	j = get_json(&fork_dev, "/repos/me/app/contents/main/lib");
	n = 0;
	cJSON_ArrayForEach(e, j) {
		n++;
		assert_null(strstr(tl_jstr(e, "name"), "util"));
		if (strcmp(tl_jstr(e, "type"), "file") == 0)
			assert_non_null(strstr(tl_jstr(e, "download_url"),
			    "/refs/tags/1.1.0/"));
	}
	assert_int_equal(n, 3);		/* new.py, sub, "\xc3\xbc ber#1.py" */
	cJSON_Delete(j);
	/* ref=TAG without refs/tags/ */
	j = get_json(&fork_dev, "/repos/me/app/contents/main/lib?ref=1.0.0");
	n = 0;
	cJSON_ArrayForEach(e, j) {
		const char *name = tl_jstr(e, "name");

		n++;
		assert_true(strcmp(name, "util.py") == 0 ||
		    strcmp(name, "sub") == 0);
	}
	assert_int_equal(n, 2);
	cJSON_Delete(j);
	/* "lib.py" beside "lib/": both, in the top listing, once each */
	j = get_json(&fork_dev, "/repos/me/app/contents/main?ref=1.0.0");
	n = 0;
	cJSON_ArrayForEach(e, j) {
		const char *name = tl_jstr(e, "name");

		n++;
		if (strcmp(name, "lib") == 0 || strcmp(name, "domain") == 0)
			assert_string_equal(tl_jstr(e, "type"), "dir");
		else
			assert_string_equal(tl_jstr(e, "type"), "file");
	}
	assert_int_equal(n, 6);	/* app bin domain empty lib lib.py */
	cJSON_Delete(j);

	/* misses */
	expect(&fork_dev, "/repos/me/app/contents/main/nope.py?ref=1.0.0",
	    404, NULL);
	expect(&fork_dev, "/repos/me/app/contents/nope?ref=refs/tags/1.0.0",
	    404, NULL);
	expect(&fork_dev, "/repos/me/app/contents/mai?ref=refs/tags/1.0.0",
	    404, NULL);
	expect(&fork_dev, "/repos/me/app/contents/main/lib/new.py?ref=1.0.0",
	    404, NULL);
	expect(&fork_dev, "/repos/me/app/contents/main?ref=refs/tags/9.9.9",
	    404, NULL);
}

/* Hex SHA-256 of p[n]. */
static void
sha256_hex(const void *p, size_t n, char hex[HASH_SHA256_LEN * 2 + 1])
{
	assert_int_equal(hash_hex(HASH_SHA256, p, n, hex), OTA_OK);
}

/* The signed manifest: its files are the published bytes. */
static void
signed_manifest(void **state)
{
	static struct filelist l;
	char url[256], root[PATH_MAX], path[PATH_MAX], hex[65], err[256];
	char pub[PATH_MAX];
	struct sign_key *key = NULL;
	const cJSON *files, *f, *a;
	struct manifest m;
	struct http_resp r;
	cJSON *j, *rel;
	size_t i, n;

	publish("me/app", "1.0.0", NULL, NULL);
	start_server();
	dev_get(&fork_dev, "/api/v1/repos/me/app/releases/1.0.0/manifest",
	    &r);
	assert_int_equal(r.status, 200);
	j = json_of(&r);
	files = cJSON_GetObjectItem(cJSON_GetObjectItem(j, "signed"),
	    "files");
	assert_true(cJSON_IsArray(files));
	memset(&l, 0, sizeof(l));
	FMT(root, sizeof(root), "%s/1.0.0", src_dir);
	walk(root, "", &l);
	assert_int_equal((size_t)cJSON_GetArraySize(files), l.n);
	i = 0;
	cJSON_ArrayForEach(f, files) {
		unsigned char *p;

		/* sorted by path, as walk() sorts */
		assert_string_equal(tl_jstr(f, "path"), l.path[i]);
		FMT(path, sizeof(path), "%s/%s", root, l.path[i]);
		p = slurp(path, &n);
		sha256_hex(p, n, hex);
		free(p);
		assert_string_equal(tl_jstr(f, "sha256"), hex);
		assert_int_equal((size_t)tl_jnum(f, "size"), n);
		i++;
	}
	cJSON_Delete(j);
	/* and it verifies with the repository's public key */
	FMT(pub, sizeof(pub), "%s/keys/me/app.pub", data_dir);
	assert_int_equal(sign_key_load_public(&key, pub, err, sizeof(err)),
	    OTA_OK);
	assert_int_equal(manifest_parse_verify_err((const char *)r.body,
	    r.body_len, &key, 1, (int64_t)time(NULL), &m, err, sizeof(err)),
	    OTA_OK);
	assert_string_equal(m.repo, "me/app");
	assert_string_equal(m.tag, "1.0.0");
	assert_int_equal(manifest_check_dir(&m, root, false, err, sizeof(err)),
	    OTA_OK);
	manifest_release(&m);
	sign_key_free(key);

	/* the release points at it */
	rel = get_json(&fork_dev, "/repos/me/app/releases/latest");
	a = cJSON_GetArrayItem(cJSON_GetObjectItem(rel, "assets"), 0);
	assert_non_null(a);
	FMT(url, sizeof(url), "http://127.0.0.1:%u/api/v1/repos/me/app/"
	    "releases/1.0.0/manifest", (unsigned)srv.port);
	assert_string_equal(tl_jstr(a, "browser_download_url"), url);
	assert_int_equal((size_t)tl_jnum(a, "size"), r.body_len);
	sha256_hex(r.body, r.body_len, hex);
	assert_string_equal(tl_jstr(cJSON_GetObjectItem(rel, "ota"),
	    "manifest_sha256"), hex);
	cJSON_Delete(rel);
	tl_resp_free(&r);
	expect_json_404(&fork_dev,
	    "/api/v1/repos/me/app/releases/9.9.9/manifest");
	expect_json_404(&fork_dev, "/api/v1/repos/me/app/releases/1.0.0");
}

/* HEAD: the head of the GET, no body. */
static void
head_latest(void **state)
{
	char cl[32], cl2[32], etag[128], etag2[128];
	struct http_resp r;

	publish("me/app", "1.0.0", NULL, NULL);
	start_server();
	dev_get(&fork_dev, "/repos/me/app/releases/latest", &r);
	assert_int_equal(r.status, 200);
	assert_non_null(tl_header(&r, "Content-Length", cl, sizeof(cl)));
	assert_non_null(tl_header(&r, "ETag", etag, sizeof(etag)));
	tl_resp_free(&r);
	dev_req(&fork_dev, "HEAD", "127.0.0.1",
	    "/repos/me/app/releases/latest", NULL, &r);
	assert_int_equal(r.status, 200);
	assert_int_equal(r.body_len, 0);
	assert_string_equal(tl_header(&r, "Content-Length", cl2, sizeof(cl2)),
	    cl);
	assert_string_equal(tl_header(&r, "ETag", etag2, sizeof(etag2)),
	    etag);
	tl_resp_free(&r);
	dev_req(&fork_dev, "HEAD", "127.0.0.1", "/raw/me/app/1.0.0/main/bin.mpy",
	    NULL, &r);
	assert_int_equal(r.status, 200);
	assert_int_equal(r.body_len, 0);
	assert_string_equal(tl_header(&r, "Content-Length", cl, sizeof(cl)),
	    "262");
	tl_resp_free(&r);
}

/* The legacy catalog and ESP downloads keep working beside the store. */
static void
catalog_beside_store(void **state)
{
	char req[4096];
	struct http_resp r;

	publish("me/app", "1.0.0", NULL, NULL);
	start_server();
	assert_int_equal(tl_get(srv.port, "GET /_catalog?op=list&path=. "
	    "HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n", &r),
	    0);
	assert_int_equal(r.status, 200);
	assert_non_null(strstr((char *)r.body,
	    "{\"name\": \"legacy.bin\", \"type\": \"bin\""));
	assert_null(strstr((char *)r.body, "app.py"));
	tl_resp_free(&r);
	FMT(req, sizeof(req), "GET /legacy.bin HTTP/1.0\r\n%s\r\n",
	    TL_H8);
	assert_int_equal(tl_get(srv.port, req, &r), 0);
	assert_int_equal(r.status, 200);
	assert_int_equal(r.body_len, sizeof(tl_good));
	assert_memory_equal(r.body, tl_good, sizeof(tl_good));
	tl_resp_free(&r);
	assert_latest("me/app", "1.0.0");
}

/*
 * Without --data and without ./ota-data the server serves the catalog
 * only: it says so in its log, creates no store, and a GitHub API request
 * falls to the catalog routes and is not found.
 */
static void
no_store(void **state)
{
	char cwd[PATH_MAX], empty[PATH_MAX], req[4096], *log, *saved;
	const char *env;
	struct http_resp r;
	struct stat sb;

	tl_path(empty, sizeof(empty), "empty");
	assert_int_equal(mkdir(empty, 0755), 0);
	assert_non_null(getcwd(cwd, sizeof(cwd)));
	env = getenv("OTA_DATA");
	saved = env ? strdup(env) : NULL;
	unsetenv("OTA_DATA");
	assert_int_equal(chdir(empty), 0);
	assert_int_equal(tl_server_start(&srv, cat_dir, NULL), 0);
	assert_int_equal(chdir(cwd), 0);
	if (saved != NULL) {
		setenv("OTA_DATA", saved, 1);
		free(saved);
	}
	assert_int_equal(tl_get(srv.port, "GET /_catalog?op=list&path=. "
	    "HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n", &r), 0);
	assert_int_equal(r.status, 200);
	assert_non_null(strstr((char *)r.body, "legacy.bin"));
	tl_resp_free(&r);
	/* an ESP client passes the gate and finds no such catalog file */
	FMT(req, sizeof(req), "GET /repos/me/app/releases/latest HTTP/1.0\r\n"
	    "%s\r\n", TL_H8);
	assert_int_equal(tl_get(srv.port, req, &r), 0);
	assert_int_equal(r.status, 404);
	tl_resp_free(&r);
	FMT(empty + strlen(empty), sizeof(empty) - strlen(empty),
	    "/ota-data");
	assert_int_not_equal(stat(empty, &sb), 0);	/* none created */
	log = tl_server_log(&srv);
	if (strstr(log, "no release store") == NULL)
		fail_msg("log lacks 'no release store':\n%s", log);
	free(log);
	/* and so does the MicroPython updater (the brief's contract) */
	dev_get(&fork_dev, "/repos/me/app/releases/latest", &r);
	if (r.status != 404) {
		log = tl_server_log(&srv);
		fail_msg("GET /repos/me/app/releases/latest without a store: "
		    "%d %s, want 404; server log:\n%s", r.status,
		    (char *)r.body, log);
	}
	assert_null(strstr((char *)r.body, "tag_name"));
	tl_resp_free(&r);
	/* /raw/ may be a catalog folder: without a store it stays the
	 * catalog's, whose gate refuses a non-ESP client */
	dev_get(&fork_dev, "/raw/me/app/1.0.0/main/app.py", &r);
	assert_int_equal(r.status, 403);
	tl_resp_free(&r);
}

/*
 * A tag with semver build metadata ("1.0.0+build.5"), which ota publish
 * accepts: the fork copies tag_name into ?ref=refs/tags/{tag} without
 * encoding it (§2.3), so the server must take the '+' literally there.
 */
static void
build_metadata_tag(void **state)
{
	publish("me/app", "1.0.0+build.5", NULL, NULL);
	start_server();
	assert_latest("me/app", "1.0.0+build.5");
	expect(&fork_dev, "/raw/me/app/1.0.0+build.5/main/lib/sub/x.py", 200,
	    "X = 1\n");
	expect(&fork_dev, "/repos/me/app/contents/main/lib/sub/x.py?"
	    "ref=1.0.0%2Bbuild.5", 200, NULL);
	/* what the fork sends */
	expect(&fork_dev, "/repos/me/app/contents/main/lib/sub/x.py?"
	    "ref=refs/tags/1.0.0+build.5", 200, NULL);
	update_and_check(&fork_dev, "me/app", "dev", "1.0.0+build.5");
}

/*
 * --rate-limit 2:3: two API requests an hour per address, three per
 * token, with GitHub's headers; 304s and raw files are free; past the
 * limit 403 with Retry-After, which a device must treat as "back off".
 */
static void
rate_limit(void **state)
{
	const char *args[] = { "--data", data_dir, "--rate-limit", "2:3",
	    NULL };
	char secret[128], auth[160], v[64], etag[128], inm[200];
	struct dev tok = { auth, false };
	struct http_resp r;
	int i;

	(void)state;
	publish("me/app", "1.0.0", NULL, NULL);
	ota_ok((const char *const[]){ "token", "create", "--data", data_dir,
	    "--scope", "read", NULL }, secret, sizeof(secret));
	secret[strcspn(secret, "\n")] = '\0';
	FMT(auth, sizeof(auth), "token %s", secret);
	assert_int_equal(tl_server_start(&srv, cat_dir, args), 0);
	for (i = 0; i < 2; i++) {
		dev_get(&fork_dev, "/repos/me/app/releases/latest", &r);
		assert_int_equal(r.status, 200);
		assert_string_equal(tl_header(&r, "X-RateLimit-Limit", v,
		    sizeof(v)), "2");
		assert_int_equal(atoi(tl_header(&r, "X-RateLimit-Remaining", v,
		    sizeof(v))), 1 - i);
		assert_int_equal(atoi(tl_header(&r, "X-RateLimit-Used", v,
		    sizeof(v))), i + 1);
		assert_true(atoll(tl_header(&r, "X-RateLimit-Reset", v,
		    sizeof(v))) > (long long)time(NULL));
		if (i == 0)
			assert_non_null(tl_header(&r, "ETag", etag,
			    sizeof(etag)));
		tl_resp_free(&r);
	}
	/* raw files are not counted */
	expect(&fork_dev, "/raw/me/app/1.0.0/main/app.py", 200, NULL);
	dev_get(&fork_dev, "/repos/me/app/releases/latest", &r);
	assert_int_equal(r.status, 403);
	assert_string_equal(tl_header(&r, "X-RateLimit-Remaining", v,
	    sizeof(v)), "0");
	assert_true(atoi(tl_header(&r, "Retry-After", v, sizeof(v))) > 0);
	assert_non_null(strstr((char *)r.body, "rate limit exceeded"));
	assert_null(strstr((char *)r.body, "tag_name"));
	tl_resp_free(&r);
	/* a token has its own, larger budget; a 304 does not spend it */
	FMT(inm, sizeof(inm), "If-None-Match: %s\r\n", etag);
	for (i = 0; i < 5; i++) {
		dev_req(&tok, "GET", "127.0.0.1",
		    "/repos/me/app/releases/latest", inm, &r);
		assert_int_equal(r.status, 304);
		assert_string_equal(tl_header(&r, "X-RateLimit-Remaining", v,
		    sizeof(v)), "3");
		tl_resp_free(&r);
	}
	for (i = 0; i < 4; i++) {
		dev_get(&tok, "/repos/me/app/releases/latest", &r);
		assert_int_equal(r.status, i < 3 ? 200 : 403);
		assert_string_equal(tl_header(&r, "X-RateLimit-Limit", v,
		    sizeof(v)), "3");
		tl_resp_free(&r);
	}
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(fork_update),
		T(upstream_update),
		T(no_release),
		T(drafts_hidden),
		T(promote_draft),
		T(prerelease_not_latest),
		T(yanked),
		T(semantic_order),
		T(private_repo),
		T(access_changes_live),
		T(latest_conditional),
		T(raw_conditional_and_range),
		T(tags_and_contents),
		T(signed_manifest),
		T(head_latest),
		T(catalog_beside_store),
		T(no_store),
		T(build_metadata_tag),
		T(rate_limit),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
