/*
 * The versioned ESP route GET /esp/{owner}/{repo} (espfeed.h) against a
 * real `ota serve --data`: firmware published with the CLI as an operator
 * would, and the exact ESP8266 and ESP32 httpUpdate request headers of
 * esp-http-update-protocol.md §4.1 and §5 (TL_H8, TL_H32), with only
 * x-*-version, x-*-sketch-md5 and x-*-STA-MAC changed. Every answer is
 * read to EOF, as the device's HTTP/1.0 "Connection: close" request is.
 *
 * What the device does with the answer (§4.2, §5): 200 with a
 * Content-Length > 0 and x-MD5 flashes the image, 304 is "no update",
 * 404 and 403 are errors. One server and one store serve the group; each
 * test uses its own repositories and device MACs.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/hash.h"
#include "testlib.h"

/* snprintf that fails the test rather than cut. */
#define FMT(buf, sz, ...) do {						\
	int fmt_n_ = snprintf(buf, sz, __VA_ARGS__);			\
									\
	assert_true(fmt_n_ >= 0 && (size_t)fmt_n_ < (size_t)(sz));	\
} while (0)

#define IMG_MAX 70000
#define MAC8 "80:7D:3A:6E:39:B3"	/* TL_H8's station MAC */
#define MAC32 "24:6F:28:AA:BB:CC"	/* TL_H32's */

static char base_dir[256], data_dir[PATH_MAX], cat_dir[PATH_MAX];
static char src_dir[PATH_MAX];
static struct tl_server srv;

/* A firmware image: its bytes and digests. */
struct img {
	unsigned char p[IMG_MAX];
	size_t n;
	char md5[33];
	char sha256[65];
};

/* ---- helpers ---- */

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

/* n random bytes starting with the ESP image magic 0xE9. */
static void
img_make(struct img *m, size_t n)
{
	assert_true(n > 4 && n <= IMG_MAX);
	random_bytes(m->p, n);
	m->p[0] = 0xe9;
	m->n = n;
	assert_int_equal(hash_hex(HASH_MD5, m->p, n, m->md5), OTA_OK);
	assert_int_equal(hash_hex(HASH_SHA256, m->p, n, m->sha256), OTA_OK);
}

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

/* Writes m to src/<rel>; its full path in out. */
static void
img_write(const struct img *m, const char *rel, char *out, size_t outsz)
{
	FMT(out, outsz, "%s/%s", src_dir, rel);
	mkparents(out);
	assert_int_equal(tl_write_file(out, m->p, m->n), 0);
}

static void
ota_ok(const char *const *args)
{
	int rc = tl_ota_run(args, NULL, 0);

	if (rc != 0)
		fail_msg("ota %s %s %s: exit %d", args[0], args[1],
		    args[2] ? args[2] : "", rc);
}

#define OTA(...) ota_ok((const char *const[]){ __VA_ARGS__, NULL })

/* ota publish --data DIR [opt] repo tag path, path a file or directory. */
static void
publish(const char *repo, const char *tag, const char *path, const char *opt1,
    const char *opt2)
{
	const char *args[12];
	int n = 0;

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
	ota_ok(args);
}

/* Writes m as src/<repo>/<tag>/<name> and publishes that file. */
static void
publish_img(const char *repo, const char *tag, const struct img *m,
    const char *opt1, const char *opt2)
{
	char rel[256], path[PATH_MAX];

	FMT(rel, sizeof(rel), "%s/%s/blink.bin", repo, tag);
	img_write(m, rel, path, sizeof(path));
	publish(repo, tag, path, opt1, opt2);
}

/* ---- set-up ---- */

static int
group_setup(void **state)
{
	const char *args[] = { "--data", data_dir, "--shutdown-timeout", "3",
	    NULL };

	(void)state;
	if (tl_mkdtemp(base_dir, sizeof(base_dir)) != 0)
		return -1;
	snprintf(data_dir, sizeof(data_dir), "%s/data", base_dir);
	snprintf(cat_dir, sizeof(cat_dir), "%s/cat", base_dir);
	snprintf(src_dir, sizeof(src_dir), "%s/src", base_dir);
	if (mkdir(cat_dir, 0755) != 0 || mkdir(src_dir, 0755) != 0)
		return -1;
	/* the store must exist before the server opens it */
	OTA("repo", "create", "--data", data_dir, "acme/empty");
	return tl_server_start(&srv, cat_dir, args);
}

static int
stop_checked(struct tl_server *s)
{
	int st = tl_server_stop(s), bad = 0;

	/* SIGTERM must end the server cleanly (under ASan: no finding). */
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		char *log = tl_server_log(s);

		fprintf(stderr, "server did not exit 0 (status %#x); log:\n"
		    "%s\n", (unsigned)st, log);
		free(log);
		bad = 1;
	}
	tl_rmtree(s->tmp);
	return bad;
}

static int
group_teardown(void **state)
{
	int bad = stop_checked(&srv);

	(void)state;
	tl_rmtree(base_dir);
	return bad ? -1 : 0;
}

/* ---- the device ---- */

/* What one request says about the device. */
struct dev {
	bool esp32;		/* TL_H32, else TL_H8 */
	const char *version;	/* x-*-version, NULL: not sent */
	const char *md5;	/* x-*-sketch-md5, NULL: the block's */
	const char *mac;	/* x-*-STA-MAC, NULL: the block's */
	const char *extra;	/* header lines after the block, or NULL */
};

/*
 * Appends the header block to out, replacing the sketch-md5 and STA-MAC
 * values as d says, and x-*-version after x-*-mode, where the clients put
 * it (ESP8266httpUpdate.cpp L179-187).
 */
static void
esp_headers(const struct dev *d, char *out, size_t outsz)
{
	const char *fam = d->esp32 ? "ESP32" : "ESP8266";
	const char *p = d->esp32 ? TL_H32 : TL_H8;
	char name[64], line[256];

	out[0] = '\0';
	while (*p != '\0') {
		const char *eol = strstr(p, "\r\n");
		const char *colon = strchr(p, ':');
		size_t nl = (size_t)(colon - p);

		assert_non_null(eol);
		assert_true(colon != NULL && colon < eol && nl < sizeof(name));
		memcpy(name, p, nl);
		name[nl] = '\0';
		FMT(line, sizeof(line), "%.*s\r\n", (int)(eol - p), p);
		if (d->md5 != NULL && strncasecmp(name, "x-", 2) == 0 &&
		    strcasecmp(name + 2 + strlen(fam), "-sketch-md5") == 0)
			FMT(line, sizeof(line), "%s: %s\r\n", name, d->md5);
		if (d->mac != NULL && strncasecmp(name, "x-", 2) == 0 &&
		    strcasecmp(name + 2 + strlen(fam), "-STA-MAC") == 0)
			FMT(line, sizeof(line), "%s: %s\r\n", name, d->mac);
		assert_true(strlen(out) + strlen(line) < outsz);
		strcat(out, line);
		if (d->version != NULL && strncasecmp(name, "x-", 2) == 0 &&
		    strcasecmp(name + 2 + strlen(fam), "-mode") == 0) {
			FMT(line, sizeof(line), "x-%s-version: %s\r\n", fam,
			    d->version);
			assert_true(strlen(out) + strlen(line) < outsz);
			strcat(out, line);
		}
		p = eol + 2;
	}
	if (d->extra != NULL) {
		assert_true(strlen(out) + strlen(d->extra) < outsz);
		strcat(out, d->extra);
	}
}

/* GET target as the device d, HTTP/1.0, read to EOF, on server s. */
static void
esp_get_on(const struct tl_server *s, const char *target,
    const struct dev *d, struct http_resp *r)
{
	char req[4096], hdrs[3072];
	int n;

	esp_headers(d, hdrs, sizeof(hdrs));
	n = snprintf(req, sizeof(req), "GET %s HTTP/1.0\r\n%s\r\n", target,
	    hdrs);
	assert_true(n > 0 && (size_t)n < sizeof(req));
	assert_int_equal(tl_exchange_eof(s->port, req, (size_t)n,
	    TL_TIMEOUT_MS, r), 0);
	assert_true(r->closed);
	assert_false(r->timed_out);
	assert_int_equal(tl_header_count(r, "Transfer-Encoding"), 0);
}

static void
esp_get(const char *target, const struct dev *d, struct http_resp *r)
{
	esp_get_on(&srv, target, d, r);
}

static const char *
describe(const struct dev *d, char *buf, size_t bufsz)
{
	snprintf(buf, bufsz, "%s version=%s md5=%s mac=%s",
	    d->esp32 ? "ESP32" : "ESP8266", d->version ? d->version : "-",
	    d->md5 ? d->md5 : "-", d->mac ? d->mac : "-");
	return buf;
}


/* The answer is a 200 with exactly m, as the device needs it. */
static void
assert_image(struct http_resp *r, const struct img *m, const char *what)
{
	char v[128];

	if (r->status != 200)
		tl_fail_free(r, "%s: status %d, want 200 with the image; head:\n"
		    "%s", what, r->status, r->head ? r->head : "(none)");
	if (tl_header(r, "Content-Length", v, sizeof(v)) == NULL)
		tl_fail_free(r, "%s: no Content-Length (the device says -101)",
		    what);
	assert_int_equal(strtoull(v, NULL, 10), m->n);
	assert_int_equal(tl_header_count(r, "Content-Length"), 1);
	if (r->body_len != m->n || memcmp(r->body, m->p, m->n) != 0)
		tl_fail_free(r, "%s: body is %zu bytes, not the %zu of the image",
		    what, r->body_len, m->n);
	assert_non_null(tl_header(r, "x-MD5", v, sizeof(v)));
	assert_string_equal(v, m->md5);
	assert_non_null(tl_header(r, "x-SHA256", v, sizeof(v)));
	assert_string_equal(v, m->sha256);
	assert_non_null(tl_header(r, "Content-Type", v, sizeof(v)));
	assert_string_equal(v, "application/octet-stream");
}

/* GET target as d: 200 with image m. */
static void
expect_image(const char *target, const struct dev *d, const struct img *m)
{
	char what[512], desc[256];
	struct http_resp r;

	FMT(what, sizeof(what), "GET %s as %s", target,
	    describe(d, desc, sizeof(desc)));
	esp_get(target, d, &r);
	assert_image(&r, m, what);
	tl_resp_free(&r);
}

/* GET target as d: 304 and not one body byte. */
static void
expect_304(const char *target, const struct dev *d)
{
	char desc[256];
	struct http_resp r;

	esp_get(target, d, &r);
	if (r.status != 304)
		tl_fail_free(&r, "GET %s as %s: status %d, want 304; head:\n%s",
		    target, describe(d, desc, sizeof(desc)), r.status,
		    r.head ? r.head : "(none)");
	assert_int_equal(r.body_len, 0);
	tl_resp_free(&r);
}

/* GET target as d: status want, with a body of its Content-Length. */
static void
expect_status(const char *target, const struct dev *d, int want)
{
	char desc[256], v[64];
	struct http_resp r;

	esp_get(target, d, &r);
	if (r.status != want)
		tl_fail_free(&r, "GET %s as %s: status %d, want %d; head:\n%s",
		    target, describe(d, desc, sizeof(desc)), r.status, want,
		    r.head ? r.head : "(none)");
	assert_non_null(tl_header(&r, "Content-Length", v, sizeof(v)));
	assert_int_equal(strtoull(v, NULL, 10), r.body_len);
	assert_null(tl_header(&r, "x-MD5", v, sizeof(v)));
	tl_resp_free(&r);
}

/* ---- versions ---- */

static void
test_version_lower_equal_higher(void **state)
{
	static struct img a, b;
	int fam;

	(void)state;
	img_make(&a, 40000);
	img_make(&b, 41234);
	publish_img("acme/blink", "1.0.0", &a, NULL, NULL);
	publish_img("acme/blink", "1.1.0", &b, NULL, NULL);
	for (fam = 0; fam < 2; fam++) {
		struct dev d = { fam == 1, NULL, NULL, NULL, NULL };

		d.version = "1.0.0";
		expect_image("/esp/acme/blink", &d, &b);
		d.version = "0.0.1";
		expect_image("/esp/acme/blink", &d, &b);
		d.version = "1.1.0-rc.1";	/* a pre-release is lower */
		expect_image("/esp/acme/blink", &d, &b);
		d.version = "1.1.0";
		expect_304("/esp/acme/blink", &d);
		d.version = "1.1.0+build.7";	/* build metadata: equal */
		expect_304("/esp/acme/blink", &d);
		d.version = "1.1.1";
		expect_304("/esp/acme/blink", &d);
		d.version = "2.0.0";
		expect_304("/esp/acme/blink", &d);
		/* equal, even when the sketch MD5 says otherwise */
		d.version = "1.1.0";
		d.md5 = a.md5;
		expect_304("/esp/acme/blink", &d);
	}
}

static void
test_version_order_and_v_prefix(void **state)
{
	static struct img i9, i10, v2;
	struct dev d = { false, NULL, NULL, NULL, NULL };

	(void)state;
	img_make(&i9, 3000);
	img_make(&i10, 3010);
	/* the higher one first: latest is by version, not by date */
	publish_img("acme/order", "1.0.10", &i10, NULL, NULL);
	publish_img("acme/order", "1.0.9", &i9, NULL, NULL);
	d.version = "1.0.9";
	expect_image("/esp/acme/order", &d, &i10);
	d.version = "1.0.2";
	expect_image("/esp/acme/order", &d, &i10);
	d.version = "1.0.10";
	expect_304("/esp/acme/order", &d);
	d.version = "1.0.11";
	expect_304("/esp/acme/order", &d);
	/* "v" on the device's side */
	d.version = "v1.0.10";
	expect_304("/esp/acme/order", &d);
	d.version = "v1.0.9";
	expect_image("/esp/acme/order", &d, &i10);

	/* "v" on the tag's side */
	img_make(&v2, 3020);
	publish_img("acme/vtag", "v2.0.0", &v2, NULL, NULL);
	d.version = "2.0.0";
	expect_304("/esp/acme/vtag", &d);
	d.version = "V2.0.0";
	d.esp32 = true;
	expect_304("/esp/acme/vtag", &d);
	d.version = "1.9.9";
	expect_image("/esp/acme/vtag", &d, &v2);
}

/* No usable version: the sketch MD5 decides. */
static void
test_non_semver_uses_sketch_md5(void **state)
{
	static struct img m;
	/* NULL: no x-*-version at all, as AutoConnect's requests */
	static const char *const versions[] = { "build-42", "2024-05-01",
	    "nightly", NULL };
	char upper[33];
	size_t i, j;
	int fam;

	(void)state;
	img_make(&m, 5000);
	publish_img("acme/md5", "3.0.0", &m, NULL, NULL);
	for (i = 0; i < 33; i++)
		upper[i] = (char)(m.md5[i] >= 'a' && m.md5[i] <= 'f' ?
		    m.md5[i] - 'a' + 'A' : m.md5[i]);
	for (fam = 0; fam < 2; fam++) {
		for (j = 0; j < sizeof(versions) / sizeof(versions[0]); j++) {
			struct dev d = { fam == 1, versions[j], m.md5, NULL,
			    NULL };

			expect_304("/esp/acme/md5", &d);
			d.md5 = upper;
			expect_304("/esp/acme/md5", &d);
			d.md5 = "0123456789abcdef0123456789abcdef";
			expect_image("/esp/acme/md5", &d, &m);
			d.md5 = NULL;	/* the block's own */
			expect_image("/esp/acme/md5", &d, &m);
		}
	}
}

/* ---- channels and devices ---- */

static void
test_channel_query(void **state)
{
	static struct img s1, b1, s2;
	struct dev d = { false, "1.0.0", NULL, NULL, NULL };

	(void)state;
	img_make(&s1, 2000);
	img_make(&b1, 2100);
	img_make(&s2, 2050);
	publish_img("acme/chq", "1.0.0", &s1, NULL, NULL);
	publish_img("acme/chq", "1.1.0", &b1, "--channel", "beta");
	d.version = "0.9.0";
	expect_image("/esp/acme/chq", &d, &s1);
	expect_image("/esp/acme/chq?channel=stable", &d, &s1);
	expect_image("/esp/acme/chq?channel=beta", &d, &b1);
	d.esp32 = true;
	expect_image("/esp/acme/chq?channel=beta", &d, &b1);
	d.version = "1.0.0";
	expect_304("/esp/acme/chq", &d);
	expect_image("/esp/acme/chq?channel=beta", &d, &b1);
	d.version = "1.1.0";
	expect_304("/esp/acme/chq?channel=beta", &d);
	/* a channel follows stable too: a channel without releases of its
	 * own gets stable's latest, and beta a newer stable release */
	d.version = "0.9.0";
	expect_image("/esp/acme/chq?channel=nightly", &d, &s1);
	/* not a channel name: the default */
	expect_image("/esp/acme/chq?channel=..%2Fx", &d, &s1);
	publish_img("acme/chq", "1.2.0", &s2, NULL, NULL);
	d.version = "1.1.0";
	expect_image("/esp/acme/chq?channel=beta", &d, &s2);
	expect_image("/esp/acme/chq", &d, &s2);
}

static void
test_device_channel(void **state)
{
	static struct img s1, b1;
	struct dev d = { false, "1.0.0", NULL, "5C:CF:7F:00:00:01", NULL };
	struct dev other = { false, "1.0.0", NULL, "5C:CF:7F:00:00:02",
	    NULL };

	(void)state;
	img_make(&s1, 2200);
	img_make(&b1, 2300);
	publish_img("acme/devch", "1.0.0", &s1, NULL, NULL);
	publish_img("acme/devch", "1.1.0", &b1, "--channel", "beta");
	expect_304("/esp/acme/devch", &d);
	/* the operator writes the MAC in another spelling */
	OTA("device", "set", "--data", data_dir, "5c-cf-7f-00-00-01",
	    "--channel", "beta");
	expect_image("/esp/acme/devch", &d, &b1);
	/* the device's channel wins over the query's */
	expect_image("/esp/acme/devch?channel=stable", &d, &b1);
	d.version = "1.1.0";
	expect_304("/esp/acme/devch", &d);
	/* another device is not affected */
	expect_304("/esp/acme/devch", &other);
	/* an ESP32 with that MAC */
	d.esp32 = true;
	d.version = "1.0.0";
	expect_image("/esp/acme/devch", &d, &b1);
	/* back to the default channel */
	OTA("device", "set", "--data", data_dir, "5C:CF:7F:00:00:01",
	    "--channel", "");
	expect_304("/esp/acme/devch", &d);
}

static void
test_device_pin_rollback(void **state)
{
	static struct img a, b;
	struct dev d = { false, "1.1.0", NULL, "5C:CF:7F:00:00:10", NULL };

	(void)state;
	img_make(&a, 2400);
	img_make(&b, 2500);
	publish_img("acme/pin", "1.0.0", &a, NULL, NULL);
	publish_img("acme/pin", "1.1.0", &b, NULL, NULL);
	expect_304("/esp/acme/pin", &d);

	OTA("device", "set", "--data", data_dir, "5C:CF:7F:00:00:10",
	    "--pin", "1.0.0");
	/* a device on 1.1.0 gets 1.0.0: a rollback */
	expect_image("/esp/acme/pin", &d, &a);
	d.esp32 = true;
	expect_image("/esp/acme/pin", &d, &a);
	d.version = "2.0.0";
	expect_image("/esp/acme/pin", &d, &a);
	/* and once it runs 1.0.0, nothing */
	d.version = "1.0.0";
	expect_304("/esp/acme/pin", &d);
	d.esp32 = false;
	d.version = "v1.0.0";
	expect_304("/esp/acme/pin", &d);
	/* a pin beats ?channel= */
	d.version = "1.1.0";
	expect_image("/esp/acme/pin?channel=beta", &d, &a);

	OTA("device", "set", "--data", data_dir, "5C:CF:7F:00:00:10",
	    "--unpin");
	d.version = "1.0.0";
	expect_image("/esp/acme/pin", &d, &b);
	d.version = "1.1.0";
	expect_304("/esp/acme/pin", &d);
}

/* ---- per-family images ---- */

static void
test_family_images(void **state)
{
	static struct img e8, e32, x, y, only32;
	char path[PATH_MAX], dir[PATH_MAX + 8];
	struct dev d8 = { false, "0.1.0", NULL, NULL, NULL };
	struct dev d32 = { true, "0.1.0", NULL, NULL, NULL };

	(void)state;
	img_make(&e8, 6000);
	img_make(&e32, 6100);
	img_write(&e8, "fam/esp8266/blink.bin", path, sizeof(path));
	img_write(&e32, "fam/esp32/blink.bin", path, sizeof(path));
	/* a README beside them is not an image */
	FMT(path, sizeof(path), "%s/fam/README.txt", src_dir);
	assert_int_equal(tl_write_file(path, "read me\n", 8), 0);
	FMT(dir, sizeof(dir), "%s/fam/.", src_dir);
	publish("acme/fam", "1.0.0", dir, NULL, NULL);
	expect_image("/esp/acme/fam", &d8, &e8);
	expect_image("/esp/acme/fam", &d32, &e32);
	d8.version = "1.0.0";
	d32.version = "1.0.0";
	expect_304("/esp/acme/fam", &d8);
	expect_304("/esp/acme/fam", &d32);

	/* two .bin files, neither under esp8266/ nor esp32/ */
	img_make(&x, 100);
	img_make(&y, 110);
	img_write(&x, "two/app.bin", path, sizeof(path));
	img_write(&y, "two/other.bin", path, sizeof(path));
	FMT(dir, sizeof(dir), "%s/two/.", src_dir);
	publish("acme/two", "1.0.0", dir, NULL, NULL);
	d8.version = d32.version = "0.1.0";
	expect_status("/esp/acme/two", &d8, 404);
	expect_status("/esp/acme/two", &d32, 404);

	/*
	 * Only an ESP32 image: an ESP8266 must not be sent it (it would
	 * flash it: the updater checks only the 0xE9 magic byte).
	 */
	img_make(&only32, 120);
	img_write(&only32, "only32/esp32/blink.bin", path, sizeof(path));
	FMT(dir, sizeof(dir), "%s/only32/.", src_dir);
	publish("acme/only32", "1.0.0", dir, NULL, NULL);
	expect_image("/esp/acme/only32", &d32, &only32);
	expect_status("/esp/acme/only32", &d8, 404);
}

/* ---- nothing to offer ---- */

static void
test_not_found(void **state)
{
	static struct img m, p;
	struct dev d = { false, "0.0.1", NULL, NULL, NULL };
	int fam;

	(void)state;
	img_make(&m, 700);
	img_make(&p, 710);
	publish_img("acme/priv", "1.0.0", &m, NULL, NULL);
	OTA("repo", "private", "--data", data_dir, "acme/priv");
	/* only drafts and pre-releases: nothing eligible */
	publish_img("acme/drafts", "1.0.0", &p, "--draft", NULL);
	publish_img("acme/drafts", "1.1.0", &p, "--prerelease", NULL);
	for (fam = 0; fam < 2; fam++) {
		d.esp32 = fam == 1;
		expect_status("/esp/acme/empty", &d, 404);	/* no release */
		expect_status("/esp/acme/nope", &d, 404);	/* no repo */
		expect_status("/esp/nobody/nope", &d, 404);
		expect_status("/esp/acme/priv", &d, 404);	/* private */
		expect_status("/esp/acme/drafts", &d, 404);
		expect_status("/esp/acme", &d, 404);
		expect_status("/esp/acme/blink/extra", &d, 404);
		expect_status("/esp/", &d, 404);
	}
	/* public again: offered */
	OTA("repo", "public", "--data", data_dir, "acme/priv");
	expect_image("/esp/acme/priv", &d, &m);
}

static void
test_yanked_latest(void **state)
{
	static struct img a, b;
	struct dev d = { true, "0.9.0", NULL, NULL, NULL };

	(void)state;
	img_make(&a, 800);
	img_make(&b, 810);
	publish_img("acme/yank", "1.0.0", &a, NULL, NULL);
	publish_img("acme/yank", "1.1.0", &b, NULL, NULL);
	expect_image("/esp/acme/yank", &d, &b);
	OTA("release", "yank", "--data", data_dir, "acme/yank", "1.1.0");
	/* the previous release is offered */
	expect_image("/esp/acme/yank", &d, &a);
	d.version = "1.0.0";
	expect_304("/esp/acme/yank", &d);
	/* a device that has the yanked one keeps it (no downgrade) */
	d.version = "1.1.0";
	expect_304("/esp/acme/yank", &d);
	OTA("release", "yank", "--data", data_dir, "--undo", "acme/yank",
	    "1.1.0");
	d.version = "1.0.0";
	expect_image("/esp/acme/yank", &d, &b);
}

/* ---- the gate ---- */

static const char curl_req[] =
    "GET /esp/acme/gate HTTP/1.1\r\n"
    "Host: 127.0.0.1\r\n"
    "User-Agent: curl/8.4.0\r\n"
    "Accept: */*\r\n"
    "Connection: close\r\n"
    "\r\n";

static void
test_gate(void **state)
{
	static struct img m;
	const char *args[] = { "--data", data_dir, "--gate", "off",
	    "--shutdown-timeout", "3", NULL };
	struct tl_server open_srv;
	struct dev d = { false, "0.0.1", NULL, NULL, NULL };
	struct http_resp r, r8, r304;

	(void)state;
	img_make(&m, 900);
	publish_img("acme/gate", "1.0.0", &m, NULL, NULL);
	/* strict (the default): not an ESP client */
	assert_int_equal(tl_get(srv.port, curl_req, &r), 0);
	assert_int_equal(r.status, 403);
	assert_null(memmem(r.body, r.body_len, m.p, 16));
	tl_resp_free(&r);
	/* an ESP8266 missing one of the seven headers */
	d.extra = NULL;
	{
		char hdrs[3072], req[4096], *p, *q;
		int n;

		esp_headers(&d, hdrs, sizeof(hdrs));
		p = strstr(hdrs, "x-ESP8266-sketch-md5: ");
		assert_non_null(p);
		q = strstr(p, "\r\n") + 2;
		memmove(p, q, strlen(q) + 1);
		n = snprintf(req, sizeof(req), "GET /esp/acme/gate HTTP/1.0"
		    "\r\n%s\r\n", hdrs);
		assert_true(n > 0 && (size_t)n < sizeof(req));
		assert_int_equal(tl_exchange_eof(srv.port, req, (size_t)n,
		    TL_TIMEOUT_MS, &r), 0);
		assert_int_equal(r.status, 403);
		tl_resp_free(&r);
	}
	expect_image("/esp/acme/gate", &d, &m);

	/* --gate off: anyone; the latest for a client that says nothing */
	assert_int_equal(tl_server_start(&open_srv, cat_dir, args), 0);
	tl_get(open_srv.port, curl_req, &r);
	esp_get_on(&open_srv, "/esp/acme/gate", &d, &r8);
	d.version = "1.0.0";
	esp_get_on(&open_srv, "/esp/acme/gate", &d, &r304);
	/* stopped before any assert can leave it running */
	assert_int_equal(stop_checked(&open_srv), 0);
	assert_image(&r, &m, "curl with --gate off");
	assert_image(&r8, &m, "ESP8266 with --gate off");
	assert_int_equal(r304.status, 304);
	assert_int_equal(r304.body_len, 0);
	tl_resp_free(&r);
	tl_resp_free(&r8);
	tl_resp_free(&r304);
}

/* ---- Range ---- */

static void
test_range(void **state)
{
	static struct img m;
	struct dev d = { false, "0.0.1", NULL, NULL,
	    "Range: bytes=0-9\r\n" };
	struct http_resp r;
	char v[128];

	(void)state;
	img_make(&m, 1000);
	publish_img("acme/range", "1.0.0", &m, NULL, NULL);
	esp_get("/esp/acme/range", &d, &r);
	if (r.status != 206)
		tl_fail_free(&r, "Range: bytes=0-9: status %d, want 206",
		    r.status);
	assert_int_equal(r.body_len, 10);
	assert_memory_equal(r.body, m.p, 10);
	assert_non_null(tl_header(&r, "Content-Range", v, sizeof(v)));
	assert_string_equal(v, "bytes 0-9/1000");
	assert_non_null(tl_header(&r, "Content-Length", v, sizeof(v)));
	assert_string_equal(v, "10");
	tl_resp_free(&r);
	/* the rest, as a resuming tool asks for it */
	d.extra = "Range: bytes=10-\r\n";
	esp_get("/esp/acme/range", &d, &r);
	assert_int_equal(r.status, 206);
	assert_int_equal(r.body_len, m.n - 10);
	assert_memory_equal(r.body, m.p + 10, m.n - 10);
	tl_resp_free(&r);
	/* a device that runs it: 304 whatever the range */
	d.version = "1.0.0";
	d.extra = "Range: bytes=0-9\r\n";
	expect_304("/esp/acme/range", &d);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_version_lower_equal_higher),
		cmocka_unit_test(test_version_order_and_v_prefix),
		cmocka_unit_test(test_non_semver_uses_sketch_md5),
		cmocka_unit_test(test_channel_query),
		cmocka_unit_test(test_device_channel),
		cmocka_unit_test(test_device_pin_rollback),
		cmocka_unit_test(test_family_images),
		cmocka_unit_test(test_not_found),
		cmocka_unit_test(test_yanked_latest),
		cmocka_unit_test(test_gate),
		cmocka_unit_test(test_range),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
