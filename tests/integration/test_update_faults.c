/*
 * update_faults: `ota update` against a hostile feed (issue 5, "Proof").
 * faultsrv plays our feed on loopback (releases/latest, the signed
 * manifest, the contents listings, the raw files) and each test breaks
 * one thing of micropython-ota-updater.md §10: a 404 file, HTML for JSON,
 * a 403 rate limit, a truncated body, a connection closed without a reply,
 * a silent server, chunked bodies, redirects, a wrong hash, a tampered,
 * wrongly signed, expired or replayed manifest, a downgrade, an empty
 * release, hostile listing paths, a listing of 10,000 entries.
 *
 * Only the CLI is driven: its exit codes and messages are the contract
 * that outlives rewrites of the engine. Fixtures are built with the
 * project's own manifest and signing code. A fault must give its own exit
 * code and a message naming it, and leave main exactly as it was: the
 * release installed and confirmed first, byte for byte, with `ota status`
 * still naming it. A transient fault is followed by a run against the
 * repaired feed, which must finish the update.
 *
 * The silent server is given `--timeout 2`, the read timeout, which only
 * the timeout itself proves.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/buf.h"
#include "common/hash.h"
#include "common/manifest.h"
#include "common/sign.h"
#include "common/str.h"
#include "faultsrv.h"
#include "testlib.h"
#include "common/banned.h"

/*
 * The exit codes of `ota update` (docs/device.md). A feed that sends what
 * cannot be used, whatever the reason (a 404 file, an empty release, an
 * answer over a cap), is a server error: include/ota/updater.h lists
 * what ota_update may fail with, and neither "invalid" nor "too large",
 * which the CLI could only report as 1, "anything else", is among them.
 */
#define EXIT_NO_RELEASE 3
#define EXIT_RATE_LIMITED 4
#define EXIT_REFUSED 5
#define EXIT_NETWORK 6
#define EXIT_SERVER 7
#define EXIT_VERIFY 8

#define API "/repos/o/r"
#define UTIL "def f():\n    return 1\n"
#define TOKEN "s3cr3t-T0KEN-77a1"
#define RUN_LIMIT 20			/* seconds, one CLI run */
#define SILENT_LIMIT 20			/* the same, past --timeout 2 */
#define BIG_LISTING 10000
#define JSON_CAP (4 * 1024 * 1024)

/* A release: main/app.py (its text tells releases apart), main/lib/util.py. */
struct rel {
	const char *tag;
	const char *app;
};

static const struct rel v1 = { "1.0.0", "print('v1')\n" };
static const struct rel v2 = { "1.1.0", "print('v2')\n" };
static const struct rel v3 = { "1.2.0", "print('v3')\n" };

static struct faultsrv *fs;
static struct sign_key *key, *other_key;
static char pubkey[SIGN_PUBLIC_TEXT_MAX];
static char root[PATH_MAX], mainp[PATH_MAX + 16], outpath[PATH_MAX];

/*
 * Runs `ota args...` for up to limit_s seconds, its stdout and stderr
 * together into out (tl_ota_run keeps stderr apart, where the errors go,
 * and stops at 30 s, which the silent server needs more than). The exit
 * code, or -1 if it was killed or could not run.
 */
static int
ota_run(char *out, size_t outsz, int limit_s, const char *const *args)
{
	const char *argv[32];
	double t0 = tl_now();
	ssize_t n;
	pid_t pid, w;
	int fd, i, st, k = 0;

	argv[k++] = tl_ota_bin();
	for (i = 0; args[i] != NULL && k < 31; i++)
		argv[k++] = args[i];
	argv[k] = NULL;
	fd = open(outpath, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	fflush(stdout);
	fflush(stderr);
	if ((pid = fork()) == 0) {
		dup2(fd, 1);
		dup2(fd, 2);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	assert_true(pid > 0);
	while ((w = waitpid(pid, &st, WNOHANG)) == 0 ||
	    (w < 0 && errno == EINTR)) {
		if (tl_now() - t0 > limit_s) {
			kill(pid, SIGKILL);
			(void)waitpid(pid, &st, 0);
			w = -1;
			break;
		}
		usleep(2000);
	}
	n = pread(fd, out, outsz - 1, 0);
	out[n > 0 ? n : 0] = '\0';
	close(fd);
	return w == pid && WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

#define OTA(out, ...) ota_run(out, sizeof(out), RUN_LIMIT,		\
	(const char *const[]){ __VA_ARGS__, NULL })
#define UPDATE(out) OTA(out, "update", "--root", root, "app")

/* True if the exit code is want and the output says phrase (any case). */
static bool
as_expected(int rc, const char *out, int want, const char *phrase)
{
	if (rc == want && strcasestr(out, phrase) != NULL)
		return true;
	print_message("ota exited %d (want %d, saying \"%s\"); it said:\n%s",
	    rc, want, phrase, out);
	return false;
}

static void
expect(int rc, const char *out, int want, const char *phrase)
{
	assert_true(as_expected(rc, out, want, phrase));
}

/* ---- the feed ---- */

static void
set(const char *path, int status, const char *headers, const void *body,
    size_t len, unsigned flags)
{
	struct faultsrv_script s;

	memset(&s, 0, sizeof(s));
	s.path = path;
	s.status = status;
	s.headers = headers;
	s.body = body;
	s.body_len = len;
	s.content_type = "application/json";
	s.flags = flags;
	s.chunk_size = (flags & FS_CHUNKED) ? 5 : 0;
	assert_int_equal(faultsrv_set(fs, &s), 0);
}

static void
set_text(const char *path, const char *text)
{
	set(path, 0, NULL, text, strlen(text), 0);
}

/* "/raw/TAG/main/REL", where a release's files are served. */
static const char *
raw(const struct rel *r, const char *rel)
{
	static char path[2][256];
	static int k;

	k = !k;
	snprintf(path[k], sizeof(path[k]), "/raw/%s/main/%s", r->tag, rel);
	return path[k];
}

static const char *
url(const char *path)
{
	static char u[2][512];
	static int k;

	k = !k;
	assert_int_equal(faultsrv_url(fs, path, u[k], sizeof(u[k])), 0);
	return u[k];
}

/* The Git blob id of p[n], as a listing's "sha". */
static void
git_sha(const void *p, size_t n, char hex[41])
{
	unsigned char md[HASH_MAX_LEN];
	struct hash_ctx *h = hash_new(HASH_SHA1);
	char hdr[32];
	size_t len;

	assert_non_null(h);
	snprintf(hdr, sizeof(hdr), "blob %zu", n);
	assert_int_equal(hash_update(h, hdr, strlen(hdr) + 1), OTA_OK);
	assert_int_equal(hash_update(h, p, n), OTA_OK);
	assert_int_equal(hash_final(h, md, &len), OTA_OK);
	hash_free(h);
	str_hex(hex, md, len);
}

static void
file_entry(struct buf *b, const char *path, const char *data,
    const char *dl)
{
	char sha[41];

	git_sha(data, strlen(data), sha);
	assert_int_equal(buf_addf(b, "{\"type\":\"file\",\"name\":\"%s\","
	    "\"path\":\"%s\",\"sha\":\"%s\",\"size\":%zu,\"download_url\":"
	    "\"%s\"}", strrchr(path, '/') + 1, path, sha, strlen(data), dl),
	    OTA_OK);
}

/* The listing of main whose app.py entry vouches for app's bytes. */
static void
listing_main(const struct rel *r, const char *app, const char *extra,
    unsigned flags)
{
	struct buf b;

	buf_init(&b, JSON_CAP);
	assert_int_equal(buf_adds(&b, "["), OTA_OK);
	file_entry(&b, "main/app.py", app, url(raw(r, "app.py")));
	assert_int_equal(buf_adds(&b, ",{\"type\":\"dir\",\"name\":\"lib\","
	    "\"path\":\"main/lib\",\"download_url\":null}"), OTA_OK);
	if (extra != NULL)
		assert_int_equal(buf_addf(&b, ",%s", extra), OTA_OK);
	assert_int_equal(buf_adds(&b, "]"), OTA_OK);
	set(API "/contents/main", 0, NULL, b.data, b.len, flags);
	buf_release(&b);
}

/* The signed envelope of r, metadata version mv, signed by k. */
/* The repository manifests name: the configured one, unless a test lies. */
static const char *manifest_repo = "o/r";

static void
manifest_of(const struct rel *r, uint64_t mv, struct sign_key *k,
    int64_t expires, struct buf *out)
{
	struct manifest_file mf[2];
	struct manifest m;

	memset(mf, 0, sizeof(mf));
	mf[0].path = (char *)"main/app.py";
	mf[0].size = strlen(r->app);
	assert_int_equal(hash_hex(HASH_SHA256, r->app, mf[0].size,
	    mf[0].sha256), OTA_OK);
	mf[1].path = (char *)"main/lib/util.py";
	mf[1].size = strlen(UTIL);
	assert_int_equal(hash_hex(HASH_SHA256, UTIL, mf[1].size,
	    mf[1].sha256), OTA_OK);
	memset(&m, 0, sizeof(m));
	m.repo = (char *)manifest_repo;
	m.tag = m.version = (char *)r->tag;
	m.channel = (char *)"stable";
	m.metadata_version = mv;
	m.created = (int64_t)time(NULL) - 3600;
	m.expires = expires;
	m.files = mf;
	m.nfiles = 2;
	buf_init(out, MANIFEST_MAX_BYTES);
	assert_int_equal(manifest_sign(&m, &k, 1, out), OTA_OK);
}

static void
manifest_path(const struct rel *r, char *out, size_t outsz)
{
	snprintf(out, outsz, "/manifest/%s", r->tag);
}

/*
 * Serves r as the latest release, whole and correct, every answer with
 * flags; with mv > 0 also its manifest, signed by the trusted key.
 */
static void
serve_flags(const struct rel *r, uint64_t mv, unsigned flags)
{
	char text[1024], mpath[256];
	struct buf b;

	manifest_path(r, mpath, sizeof(mpath));
	if (mv > 0) {
		snprintf(text, sizeof(text), "{\"tag_name\":\"%s\",\"ota\":{"
		    "\"manifest_url\":\"%s\",\"metadata_version\":%llu}}",
		    r->tag, url(mpath), (unsigned long long)mv);
		manifest_of(r, mv, key, (int64_t)time(NULL) + 86400, &b);
		set(mpath, 0, NULL, b.data, b.len, flags);
		buf_release(&b);
	} else
		snprintf(text, sizeof(text), "{\"tag_name\":\"%s\"}", r->tag);
	set(API "/releases/latest", 0, NULL, text, strlen(text), flags);
	listing_main(r, r->app, NULL, flags);
	buf_init(&b, JSON_CAP);
	assert_int_equal(buf_adds(&b, "["), OTA_OK);
	file_entry(&b, "main/lib/util.py", UTIL, url(raw(r, "lib/util.py")));
	assert_int_equal(buf_adds(&b, "]"), OTA_OK);
	set(API "/contents/main/lib", 0, NULL, b.data, b.len, flags);
	buf_release(&b);
	set(raw(r, "app.py"), 0, NULL, r->app, strlen(r->app),
	    flags | FS_RANGE);
	set(raw(r, "lib/util.py"), 0, NULL, UTIL, strlen(UTIL),
	    flags | FS_RANGE);
}

static void
serve(const struct rel *r, uint64_t mv)
{
	serve_flags(r, mv, 0);
}

/* The device's config: our feed, with the trusted key and a token or not. */
static void
configure(bool signed_feed, const char *token)
{
	char path[PATH_MAX + 64], text[1024], pat[128], ota[128];

	snprintf(pat, sizeof(pat), ",\"github_pat\":\"%s\"",
	    token ? token : "");
	snprintf(ota, sizeof(ota), ",\"ota\":{\"public_key\":\"%s\"}", pubkey);
	snprintf(text, sizeof(text), "{\"gitrepo\":{\"url\":\"%s\"%s}%s}",
	    url(API), token ? pat : "", signed_feed ? ota : "");
	snprintf(path, sizeof(path), "%s/config", root);
	assert_true(mkdir(path, 0755) == 0 || errno == EEXIST);
	snprintf(path, sizeof(path), "%s/config/app_gitrepo_cfg.json", root);
	assert_int_equal(tl_write_file(path, text, strlen(text)), 0);
}

/* ---- what the device holds ---- */

/* main is exactly release r. */
static void
assert_main(const struct rel *r)
{
	struct tl_file f[2];
	char why[512];

	memset(f, 0, sizeof(f));
	snprintf(f[0].path, sizeof(f[0].path), "app.py");
	f[0].data = (unsigned char *)r->app;
	f[0].len = strlen(r->app);
	snprintf(f[1].path, sizeof(f[1].path), "lib/util.py");
	f[1].data = (unsigned char *)UTIL;
	f[1].len = strlen(UTIL);
	if (!tl_tree_is(mainp, "main", f, 2, why, sizeof(why)))
		fail_msg("main is not %s: %s", r->tag, why);
}

/* main is still r, confirmed, and `ota status` says so. */
static void
assert_kept(const struct rel *r)
{
	char out[4096], want[64];

	assert_main(r);
	assert_int_equal(OTA(out, "status", "--root", root, "app"), 0);
	snprintf(want, sizeof(want), "app: installed %s,", r->tag);
	if (strstr(out, want) == NULL)
		fail_msg("status does not say \"%s\": %s", want, out);
}

/* Nothing was ever installed: no main at all. */
static void
assert_nothing(void)
{
	struct stat sb;

	assert_int_equal(lstat(mainp, &sb), -1);
	assert_int_equal(errno, ENOENT);
}

/*
 * `ota update` installs nothing: it exits with want, says phrase, and main
 * is still kept (NULL: there is no main). The tree is checked first: what
 * was installed matters more than how the failure was reported.
 */
static void
refused(char *out, size_t outsz, const struct rel *kept, int want,
    const char *phrase)
{
	int rc = ota_run(out, outsz, RUN_LIMIT,
	    (const char *const[]){ "update", "--root", root, "app", NULL });
	bool ok = as_expected(rc, out, want, phrase);

	if (kept != NULL)
		assert_kept(kept);
	else
		assert_nothing();
	assert_true(ok);
}

#define REFUSED(out, kept, want, phrase)				\
	refused(out, sizeof(out), kept, want, phrase)

/* Installs r (confirmed): the baseline a fault must leave alone. */
static void
baseline(const struct rel *r, uint64_t mv)
{
	char out[4096];

	serve(r, mv);
	expect(UPDATE(out), out, 0, "installed, on trial");
	expect(OTA(out, "confirm", "--root", root, "app"), out, 0,
	    "installed");
	assert_main(r);
}

/* The update from the baseline to r goes through now. */
static void
recovers(const struct rel *r)
{
	char out[4096];

	expect(UPDATE(out), out, 0, "installed, on trial");
	assert_main(r);
}

/* The recorded request whose line holds s; fails if none. */
static void
find_req(const char *s, struct faultsrv_req *out)
{
	size_t i, n = faultsrv_nreqs(fs);

	for (i = 0; i < n; i++)
		if (faultsrv_req(fs, i, out) == 0 &&
		    strstr(out->line, s) != NULL)
			return;
	fail_msg("no request for %s", s);
}

/* ---- fixtures ---- */

static int
group_setup(void **state)
{
	unsigned char seed[SIGN_SEED_LEN];

	(void)state;
	memset(seed, 0x5a, sizeof(seed));
	if (sign_key_from_seed(&key, seed) != OTA_OK)
		return -1;
	memset(seed, 0xa5, sizeof(seed));
	if (sign_key_from_seed(&other_key, seed) != OTA_OK)
		return -1;
	return sign_key_public_text(key, pubkey, sizeof(pubkey)) == OTA_OK ?
	    0 : -1;
}

static int
group_teardown(void **state)
{
	(void)state;
	sign_key_free(key);
	sign_key_free(other_key);
	return 0;
}

static int
setup(void **state)
{
	if (tl_dir_setup(state) != 0)
		return -1;
	tl_path(root, sizeof(root), "dev");
	tl_path(outpath, sizeof(outpath), "ota.out");
	snprintf(mainp, sizeof(mainp), "%s/app/main", root);
	if (mkdir(root, 0755) != 0 || (fs = faultsrv_start()) == NULL)
		return -1;
	configure(false, NULL);
	return 0;
}

static int
teardown(void **state)
{
	faultsrv_stop(fs);
	fs = NULL;
	return tl_dir_teardown(state);
}

/* ---- the faults ---- */

/*
 * A file the listing names answers 404 (§10 case 11). A 404 for
 * releases/latest is "no release" (exit 3, what a device may shrug off);
 * for a file of a release it is not: the release exists and is broken, a
 * server error.
 */
static void
file_404(void **state)
{
	static const char none[] = "{\"message\":\"Not Found\"}";
	static const char page[] = "404: Not Found";
	char out[4096];

	(void)state;
	baseline(&v1, 0);
	serve(&v2, 0);
	set(API "/releases/latest", 404, NULL, none, strlen(none), 0);
	REFUSED(out, &v1, EXIT_NO_RELEASE, "the latest release: not found");
	serve(&v2, 0);
	set(raw(&v2, "app.py"), 404, NULL, page, strlen(page), 0);
	REFUSED(out, &v1, EXIT_SERVER, "main/app.py: not found");
}

/* A captive portal's page for releases/latest, then for a listing. */
static void
html_for_json(void **state)
{
	static const char page[] = "<html><body>Sign in to Hotel-WiFi"
	    "</body></html>";
	char out[4096];

	(void)state;
	baseline(&v1, 0);
	serve(&v2, 0);
	set(API "/releases/latest", 0, NULL, page, strlen(page), 0);
	REFUSED(out, &v1, EXIT_SERVER, "not a JSON object");
	serve(&v2, 0);
	set(API "/contents/main", 0, NULL, page, strlen(page), 0);
	REFUSED(out, &v1, EXIT_SERVER, "not a JSON array");
	serve(&v2, 0);
	recovers(&v2);
}

/*
 * A plain 403 is a refusal (exit 5); GitHub's rate limit (403 with
 * X-RateLimit-Remaining: 0) is exit 4, and the next run within the
 * window backs off without a request. After X-RateLimit-Reset it works.
 */
static void
rate_limit_403(void **state)
{
	static const char msg[] = "{\"message\":\"API rate limit exceeded for "
	    "127.0.0.1.\",\"documentation_url\":\"https://docs.github.com\"}";
	static const char no[] = "{\"message\":\"Forbidden\"}";
	char out[4096], hdrs[256];
	time_t reset;
	size_t n;

	(void)state;
	baseline(&v1, 0);
	serve(&v2, 0);
	set(API "/releases/latest", 403, NULL, no, strlen(no), 0);
	REFUSED(out, &v1, EXIT_REFUSED, "forbidden (403)");

	reset = time(NULL) + 2;
	snprintf(hdrs, sizeof(hdrs), "X-RateLimit-Limit: 60\r\n"
	    "X-RateLimit-Remaining: 0\r\nX-RateLimit-Reset: %lld\r\n",
	    (long long)reset);
	set(API "/releases/latest", 403, hdrs, msg, strlen(msg), 0);
	REFUSED(out, &v1, EXIT_RATE_LIMITED, "rate limited (403)");
	n = faultsrv_nreqs(fs);
	REFUSED(out, &v1, EXIT_RATE_LIMITED, "backing off");
	assert_int_equal(faultsrv_nreqs(fs), n);

	serve(&v2, 0);
	while (time(NULL) < reset)
		usleep(50 * 1000);
	recovers(&v2);
}

/* The message says the body was cut short. */
static void
assert_cut_short(const char *out)
{
	if (strcasestr(out, "closed") == NULL &&
	    strcasestr(out, "arrived") == NULL)
		fail_msg("the message does not name a truncated body: %s", out);
}

/*
 * app.py stops after 5 of its 12 bytes with the full Content-Length. The
 * next run resumes the staged part with a Range request.
 */
static void
truncated_body(void **state)
{
	struct faultsrv_script s;
	struct faultsrv_req rq;
	char out[4096], v[64];

	(void)state;
	baseline(&v1, 0);
	serve(&v2, 0);
	memset(&s, 0, sizeof(s));
	s.path = raw(&v2, "app.py");
	s.body = v2.app;
	s.body_len = strlen(v2.app);
	s.flags = FS_TRUNCATE;
	s.truncate_after = 5;
	assert_int_equal(faultsrv_set(fs, &s), 0);
	REFUSED(out, &v1, EXIT_SERVER, "/raw/1.1.0/main/app.py");
	assert_cut_short(out);

	serve(&v2, 0);
	faultsrv_clear(fs);
	recovers(&v2);
	find_req("/raw/1.1.0/main/app.py", &rq);
	assert_non_null(faultsrv_req_header(&rq, "Range", v, sizeof(v)));
	assert_string_equal(v, "bytes=5-");
}

/* The server reads the request for app.py and hangs up (§10 case 14). */
static void
closed_without_reply(void **state)
{
	char out[4096];

	(void)state;
	baseline(&v1, 0);
	serve(&v2, 0);
	set(raw(&v2, "app.py"), 0, NULL, NULL, 0, FS_CLOSE);
	REFUSED(out, &v1, EXIT_NETWORK, "empty reply");
	serve(&v2, 0);
	recovers(&v2);
}

/*
 * The server accepts the request for app.py and never answers (§10 case
 * 15): the read timeout ends the run, with exit 6.
 */
static void
silent_server(void **state)
{
	struct faultsrv_script s;
	char out[4096];
	int rc;

	(void)state;
	baseline(&v1, 0);
	serve(&v2, 0);
	memset(&s, 0, sizeof(s));
	s.path = raw(&v2, "app.py");
	s.silent_ms = (SILENT_LIMIT + 10) * 1000;
	assert_int_equal(faultsrv_set(fs, &s), 0);
	rc = ota_run(out, sizeof(out), SILENT_LIMIT,
	    (const char *const[]){ "update", "--timeout", "2", "--root", root,
	    "app", NULL });
	assert_kept(&v1);
	expect(rc, out, EXIT_NETWORK, "no data for");
	serve(&v2, 0);
	recovers(&v2);
}

/*
 * Every answer chunked in 5-byte pieces, the signed manifest too: it
 * installs. A chunked body cut before its last chunk does not.
 */
static void
chunked(void **state)
{
	struct faultsrv_script s;
	char out[4096];

	(void)state;
	configure(true, NULL);
	serve_flags(&v1, 1, FS_CHUNKED);
	expect(UPDATE(out), out, 0, "installed, on trial");
	assert_main(&v1);
	expect(OTA(out, "confirm", "--root", root, "app"), out, 0,
	    "installed");
	serve_flags(&v2, 2, FS_CHUNKED);
	memset(&s, 0, sizeof(s));
	s.path = raw(&v2, "app.py");
	s.body = v2.app;
	s.body_len = strlen(v2.app);
	s.flags = FS_CHUNKED | FS_TRUNCATE;
	s.chunk_size = 5;
	s.truncate_after = 10;
	assert_int_equal(faultsrv_set(fs, &s), 0);
	REFUSED(out, &v1, EXIT_SERVER, "/raw/1.1.0/main/app.py");
	assert_cut_short(out);
	serve_flags(&v2, 2, FS_CHUNKED);
	recovers(&v2);
}

/* The request for path went to localhost without the token. */
static void
assert_no_token(const char *path)
{
	struct faultsrv_req rq;
	char v[128];

	find_req(path, &rq);
	assert_non_null(faultsrv_req_header(&rq, "Host", v, sizeof(v)));
	assert_true(strncmp(v, "localhost:", 10) == 0);
	assert_null(faultsrv_req_header(&rq, "Authorization", v, sizeof(v)));
	assert_null(strstr(rq.head, TOKEN));
}

/*
 * A redirect loop and a redirect to file:// are refused; a chain of
 * three (301, a relative 302, then another host) is followed. The token
 * goes to the configured host only (D18): not to the redirect's other
 * host ("localhost" for "127.0.0.1"), nor to a listing's download_url
 * there, and never into a message.
 */
static void
redirects(void **state)
{
	struct faultsrv_script s;
	struct faultsrv_req rq;
	char out[4096], far[512], text[1024], v[128];
	struct buf b;

	(void)state;
	configure(false, TOKEN);
	baseline(&v1, 0);
	serve(&v2, 0);

	memset(&s, 0, sizeof(s));
	s.path = raw(&v2, "app.py");
	s.status = 302;
	s.redirect = url(raw(&v2, "app.py"));
	assert_int_equal(faultsrv_set(fs, &s), 0);
	REFUSED(out, &v1, EXIT_SERVER, "redirects");
	assert_null(strstr(out, TOKEN));

	s.redirect = "file:///etc/passwd";
	assert_int_equal(faultsrv_set(fs, &s), 0);
	REFUSED(out, &v1, EXIT_SERVER, "redirect");
	assert_null(strstr(out, TOKEN));

	s.status = 301;
	s.redirect = url("/hop");
	assert_int_equal(faultsrv_set(fs, &s), 0);
	snprintf(far, sizeof(far), "http://localhost:%u/far/app.py",
	    (unsigned)faultsrv_port(fs));
	s.path = "/hop";
	s.status = 302;
	s.redirect = "/hop2";
	assert_int_equal(faultsrv_set(fs, &s), 0);
	s.path = "/hop2";
	s.redirect = far;
	assert_int_equal(faultsrv_set(fs, &s), 0);
	set("/far/app.py", 0, NULL, v2.app, strlen(v2.app), 0);
	snprintf(text, sizeof(text), "http://localhost:%u%s",
	    (unsigned)faultsrv_port(fs), raw(&v2, "lib/util.py"));
	buf_init(&b, sizeof(text));
	assert_int_equal(buf_adds(&b, "["), OTA_OK);
	file_entry(&b, "main/lib/util.py", UTIL, text);
	assert_int_equal(buf_adds(&b, "]"), OTA_OK);
	set(API "/contents/main/lib", 0, NULL, b.data, b.len, 0);
	buf_release(&b);
	faultsrv_clear(fs);
	recovers(&v2);
	find_req("/raw/1.1.0/main/app.py", &rq);
	assert_non_null(faultsrv_req_header(&rq, "Authorization", v,
	    sizeof(v)));
	assert_string_equal(v, "token " TOKEN);
	assert_no_token("/far/app.py");
	assert_no_token("/raw/1.1.0/main/lib/util.py");
}

/*
 * app.py with the right length and the wrong bytes: the listing's Git
 * blob id catches it. With a signed feed, a listing rewritten to vouch
 * for the wrong bytes is caught by the manifest's SHA-256.
 */
static void
wrong_hash(void **state)
{
	static const char evil[] = "print('XX')\n";
	char out[4096];

	(void)state;
	baseline(&v1, 0);
	serve(&v2, 0);
	set(raw(&v2, "app.py"), 0, NULL, evil, strlen(evil), 0);
	REFUSED(out, &v1, EXIT_VERIFY, "Git blob id");

	configure(true, NULL);
	serve(&v2, 2);
	listing_main(&v2, evil, NULL, 0);
	set(raw(&v2, "app.py"), 0, NULL, evil, strlen(evil), 0);
	REFUSED(out, &v1, EXIT_VERIFY, "SHA-256");
	serve(&v2, 2);
	recovers(&v2);
}

/*
 * app.py whole (its Content-Length honest) but longer, then shorter,
 * than the listing's size: the server sent what cannot be used.
 */
static void
wrong_size(void **state)
{
	static const char longer[] = "print('v2')\n# and more\n";
	static const char shorter[] = "print(";
	char out[4096];

	(void)state;
	baseline(&v1, 0);
	serve(&v2, 0);
	set(raw(&v2, "app.py"), 0, NULL, shorter, strlen(shorter), 0);
	REFUSED(out, &v1, EXIT_SERVER, "6 of 12 bytes");
	set(raw(&v2, "app.py"), 0, NULL, longer, strlen(longer), 0);
	REFUSED(out, &v1, EXIT_SERVER, "main/app.py");
}

/* Flips one hex digit of the first sha256 in b: canonical, not signed. */
static void
flip_digest(struct buf *b)
{
	char *p = strstr(b->data, "\"sha256\":\"");

	assert_non_null(p);
	p += strlen("\"sha256\":\"");
	*p = *p == '0' ? '1' : '0';
}

/*
 * The manifest altered after signing, a valid manifest of another
 * release, and a listing with a file the manifest does not name.
 */
static void
tampered_manifest(void **state)
{
	char out[4096], mpath[256], extra[512], sha[41];
	struct buf b;

	(void)state;
	configure(true, NULL);
	baseline(&v1, 1);
	serve(&v2, 2);
	manifest_path(&v2, mpath, sizeof(mpath));
	manifest_of(&v2, 2, key, (int64_t)time(NULL) + 86400, &b);
	flip_digest(&b);
	set(mpath, 0, NULL, b.data, b.len, 0);
	buf_release(&b);
	REFUSED(out, &v1, EXIT_VERIFY, "bad signature");

	manifest_of(&v1, 2, key, (int64_t)time(NULL) + 86400, &b);
	set(mpath, 0, NULL, b.data, b.len, 0);
	buf_release(&b);
	REFUSED(out, &v1, EXIT_VERIFY, "the manifest is for 1.0.0");

	/* Validly signed by the same key, for another repository. */
	manifest_repo = "o/other";
	serve(&v2, 2);
	manifest_repo = "o/r";
	REFUSED(out, &v1, EXIT_VERIFY, "for repository o/other");

	serve(&v2, 2);
	git_sha("x\n", 2, sha);
	snprintf(extra, sizeof(extra), "{\"type\":\"file\",\"name\":"
	    "\"evil.py\",\"path\":\"main/evil.py\",\"sha\":\"%s\",\"size\":2,"
	    "\"download_url\":\"%s\"}", sha, url("/evil.py"));
	listing_main(&v2, v2.app, extra, 0);
	set("/evil.py", 0, NULL, "x\n", 2, 0);
	REFUSED(out, &v1, EXIT_VERIFY, "signed manifest");
	serve(&v2, 2);
	recovers(&v2);
}

/*
 * A manifest that does not even parse as a signed one (re-spaced, or an
 * HTML page) fails verification like a bad signature: exit 8.
 */
static void
garbled_manifest(void **state)
{
	static const char page[] = "<html>Sign in</html>";
	char out[4096], mpath[256], *spaced;
	struct buf b;

	(void)state;
	configure(true, NULL);
	baseline(&v1, 1);
	serve(&v2, 2);
	manifest_path(&v2, mpath, sizeof(mpath));
	set(mpath, 0, NULL, page, strlen(page), 0);
	REFUSED(out, &v1, EXIT_VERIFY, "manifest");

	manifest_of(&v2, 2, key, (int64_t)time(NULL) + 86400, &b);
	assert_non_null(spaced = malloc(b.len + 2));
	spaced[0] = '{';
	spaced[1] = ' ';
	memcpy(spaced + 2, b.data + 1, b.len - 1);
	set(mpath, 0, NULL, spaced, b.len + 1, 0);
	free(spaced);
	buf_release(&b);
	REFUSED(out, &v1, EXIT_VERIFY, "canonical");
}

/*
 * A fresh device trusting key: a manifest signed by another key, then a
 * release that offers no manifest at all. Nothing is installed.
 */
static void
wrong_key(void **state)
{
	char out[4096], mpath[256];
	struct buf b;

	(void)state;
	configure(true, NULL);
	serve(&v1, 1);
	manifest_path(&v1, mpath, sizeof(mpath));
	manifest_of(&v1, 1, other_key, (int64_t)time(NULL) + 86400, &b);
	set(mpath, 0, NULL, b.data, b.len, 0);
	buf_release(&b);
	REFUSED(out, NULL, EXIT_VERIFY, "bad signature");

	serve(&v1, 0);
	REFUSED(out, NULL, EXIT_VERIFY, "no signed manifest");
	serve(&v1, 1);
	recovers(&v1);
}

/* A manifest signed by the right key whose validity ended a minute ago. */
static void
expired_manifest(void **state)
{
	char out[4096], mpath[256];
	struct buf b;

	(void)state;
	configure(true, NULL);
	baseline(&v1, 1);
	serve(&v2, 2);
	manifest_path(&v2, mpath, sizeof(mpath));
	manifest_of(&v2, 2, key, (int64_t)time(NULL) - 60, &b);
	set(mpath, 0, NULL, b.data, b.len, 0);
	buf_release(&b);
	REFUSED(out, &v1, EXIT_VERIFY, "expired");
}

/*
 * 1.1.0 came with metadata version 5; a 1.2.0 signed with version 3 is
 * older metadata, replayed: refused, although the key is right.
 */
static void
replayed_manifest(void **state)
{
	char out[4096];

	(void)state;
	configure(true, NULL);
	baseline(&v1, 1);
	serve(&v2, 5);
	recovers(&v2);
	expect(OTA(out, "confirm", "--root", root, "app"), out, 0,
	    "installed");
	serve(&v3, 3);
	REFUSED(out, &v2, EXIT_VERIFY, "replay");
	serve(&v3, 6);
	recovers(&v3);
}

/*
 * 1.1.0 installed, the feed's latest says 1.0.0 (re-signed, newer
 * metadata): kept by default; with --allow-downgrade it installs, but
 * not from 1.0.0's old manifest (a replay).
 */
static void
downgrade(void **state)
{
	char out[4096];
	int rc;

	(void)state;
	configure(true, NULL);
	baseline(&v2, 2);
	serve(&v1, 3);
	REFUSED(out, &v2, 0, "keeping the newer installed version");

	serve(&v1, 1);
	rc = OTA(out, "update", "--allow-downgrade", "--root", root, "app");
	assert_kept(&v2);
	expect(rc, out, EXIT_VERIFY, "replay");

	serve(&v1, 3);
	expect(OTA(out, "update", "--allow-downgrade", "--root", root, "app"),
	    out, 0, "installed, on trial");
	assert_main(&v1);
	expect(OTA(out, "status", "--root", root, "app"), out, 0,
	    "installed 1.0.0 (on trial: 0 starts), previous 1.1.0");
}

/*
 * main/ is empty at the tag, then holds only an empty folder: refused,
 * never an empty module (D19). Like any release the server cannot make
 * usable, a server error.
 */
static void
empty_release(void **state)
{
	char out[4096];

	(void)state;
	baseline(&v1, 0);
	serve(&v2, 0);
	set_text(API "/contents/main", "[]");
	REFUSED(out, &v1, EXIT_SERVER, "empty release");
	set_text(API "/contents/main", "[{\"type\":\"dir\",\"name\":\"lib\","
	    "\"path\":\"main/lib\",\"download_url\":null}]");
	set_text(API "/contents/main/lib", "[]");
	REFUSED(out, &v1, EXIT_SERVER, "empty release");
}

/* Listing entries that would land outside main (§10 case 28). */
static void
hostile_paths(void **state)
{
	static const char *const bad[][2] = {
		{ "main", "{\"type\":\"file\",\"name\":\"boot.py\",\"path\":"
		    "\"main/../boot.py\"" },
		{ "main", "{\"type\":\"file\",\"name\":\"../boot.py\","
		    "\"path\":\"main/../boot.py\"" },
		{ "main", "{\"type\":\"file\",\"name\":\"passwd\",\"path\":"
		    "\"/etc/passwd\"" },
		{ "main", "{\"type\":\"file\",\"name\":\"boot.py\",\"path\":"
		    "\"/boot.py\"" },
		{ "main", "{\"type\":\"file\",\"name\":\"x.py\",\"path\":"
		    "\"other/x.py\"" },
		{ "main", "{\"type\":\"file\",\"name\":\"..\\\\boot.py\","
		    "\"path\":\"main/..\\\\boot.py\"" },
		{ "main", "{\"type\":\"dir\",\"name\":\"..\",\"path\":"
		    "\"main/..\"" },
		{ "lib", "{\"type\":\"file\",\"name\":\"boot.py\",\"path\":"
		    "\"main/lib/../../boot.py\"" },
		{ "lib", "{\"type\":\"file\",\"name\":\"boot.py\",\"path\":"
		    "\"main/boot.py\"" },
	};
	char out[4096], entry[1024], sha[41], text[2048], path[PATH_MAX + 32];
	size_t i;

	(void)state;
	baseline(&v1, 0);
	git_sha("x\n", 2, sha);
	set("/evil.py", 0, NULL, "x\n", 2, 0);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		serve(&v2, 0);
		snprintf(entry, sizeof(entry), "%s,\"sha\":\"%s\",\"size\":2,"
		    "\"download_url\":\"%s\"}", bad[i][1], sha,
		    url("/evil.py"));
		if (strcmp(bad[i][0], "main") == 0)
			listing_main(&v2, v2.app, entry, 0);
		else {
			snprintf(text, sizeof(text), "[%s]", entry);
			set_text(API "/contents/main/lib", text);
		}
		REFUSED(out, &v1, EXIT_SERVER, "is not a file name below it");
	}
	snprintf(path, sizeof(path), "%s/boot.py", root);
	assert_int_equal(access(path, F_OK), -1);
	snprintf(path, sizeof(path), "%s/app/boot.py", root);
	assert_int_equal(access(path, F_OK), -1);
	snprintf(path, sizeof(path), "%s/boot.py", tl_dir);
	assert_int_equal(access(path, F_OK), -1);
}

/*
 * One listing of 10,000 entries, ten times GitHub's 1,000 per folder:
 * compact folder entries (under the 1 MiB answer cap, so the count is
 * what refuses it), then file entries (over the cap). Refused whole,
 * without a request per entry, as a server error.
 */
static void
listing_10000(void **state)
{
	char out[4096], sha[41];
	struct buf b;
	int i;

	(void)state;
	baseline(&v1, 0);
	serve(&v2, 0);
	buf_init(&b, JSON_CAP);
	assert_int_equal(buf_adds(&b, "["), OTA_OK);
	for (i = 0; i < BIG_LISTING; i++)
		assert_int_equal(buf_addf(&b, "%s{\"type\":\"dir\",\"name\":"
		    "\"d%05d\",\"path\":\"main/d%05d\"}", i ? "," : "", i, i),
		    OTA_OK);
	assert_int_equal(buf_adds(&b, "]"), OTA_OK);
	assert_true(b.len < 1024 * 1024);
	set(API "/contents/main", 0, NULL, b.data, b.len, 0);
	buf_release(&b);
	faultsrv_clear(fs);
	REFUSED(out, &v1, EXIT_SERVER, "more than 1000 entries");
	assert_true(faultsrv_nreqs(fs) <= 3);

	git_sha("x\n", 2, sha);
	buf_init(&b, JSON_CAP);
	assert_int_equal(buf_adds(&b, "["), OTA_OK);
	for (i = 0; i < BIG_LISTING; i++)
		assert_int_equal(buf_addf(&b, "%s{\"type\":\"file\",\"name\":"
		    "\"f%05d.py\",\"path\":\"main/f%05d.py\",\"sha\":\"%s\","
		    "\"size\":2,\"download_url\":\"%s\"}", i ? "," : "", i, i,
		    sha, url("/evil.py")), OTA_OK);
	assert_int_equal(buf_adds(&b, "]"), OTA_OK);
	assert_true(b.len > 1024 * 1024);
	set(API "/contents/main", 0, NULL, b.data, b.len, 0);
	buf_release(&b);
	faultsrv_clear(fs);
	REFUSED(out, &v1, EXIT_SERVER, "larger than");
	assert_true(faultsrv_nreqs(fs) <= 3);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(file_404),
		T(html_for_json),
		T(rate_limit_403),
		T(truncated_body),
		T(closed_without_reply),
		T(silent_server),
		T(chunked),
		T(redirects),
		T(wrong_hash),
		T(wrong_size),
		T(tampered_manifest),
		T(garbled_manifest),
		T(wrong_key),
		T(expired_manifest),
		T(replayed_manifest),
		T(downgrade),
		T(empty_release),
		T(hostile_paths),
		T(listing_10000),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
