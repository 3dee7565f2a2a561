/*
 * publish: collecting files (names, trees, what is refused), publishing
 * (blobs, the three digests of every asset computed here independently
 * with libcrypto, the signed manifest verified with the public key,
 * metadata versions, tag and version clashes, force), re-signing, and the
 * per-repository keys. Real store, real files, per-test temp dir.
 */
#include <dirent.h>
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
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/evp.h>

#include "common/manifest.h"
#include "common/sign.h"
#include "server/blobstore.h"
#include "server/publish.h"
#include "server/store.h"
#include "testlib.h"

#define HI_PY "print(\"hi\")\n"
#define HI_GIT_SHA1 "b80e3222ab264bd7cafb376749bd18814fd66776"
#define DAY 86400
#define BIG_SIZE (5 * BLOBSTORE_CHUNK + 17)

/* ---- files ---- */

/* mkdir -p of rel's parent under tl_dir. */
static void
mkparents(const char *rel)
{
	char path[PATH_MAX];
	char *p;

	tl_path(path, sizeof(path), rel);
	for (p = path + strlen(tl_dir) + 1; (p = strchr(p, '/')) != NULL;
	    p++) {
		*p = '\0';
		if (mkdir(path, 0755) != 0 && errno != EEXIST)
			fail_msg("mkdir %s: %s", path, strerror(errno));
		*p = '/';
	}
}

static void
mkfile(const char *rel, const void *p, size_t n)
{
	char path[PATH_MAX];

	mkparents(rel);
	tl_path(path, sizeof(path), rel);
	assert_int_equal(tl_write_file(path, p, n), 0);
}

static void
mktext(const char *rel, const char *text)
{
	mkfile(rel, text, strlen(text));
}

static void
mkdir_rel(const char *rel)
{
	char path[PATH_MAX];

	mkparents(rel);
	tl_path(path, sizeof(path), rel);
	assert_int_equal(mkdir(path, 0755), 0);
}

/* The whole file at path (malloc'd, NUL-terminated) and its length. */
static unsigned char *
slurp(const char *path, size_t *len)
{
	struct stat sb;
	unsigned char *p;
	int fd = open(path, O_RDONLY);

	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &sb), 0);
	assert_non_null(p = malloc((size_t)sb.st_size + 1));
	assert_int_equal(read(fd, p, (size_t)sb.st_size), sb.st_size);
	close(fd);
	p[sb.st_size] = '\0';
	*len = (size_t)sb.st_size;
	return p;
}

/* Patterned bytes, different for each seed. */
static unsigned char *
pattern(size_t n, unsigned seed)
{
	unsigned char *p = malloc(n + 1);
	size_t i;

	assert_non_null(p);
	for (i = 0; i < n; i++)
		p[i] = (unsigned char)(i * 131 + (i >> 11) + seed * 7);
	return p;
}

/* ---- digests, computed without the product's hash module ---- */

static void
evp_hex(const EVP_MD *md, const void *pre, size_t npre, const void *p,
    size_t n, char *out)
{
	unsigned char d[EVP_MAX_MD_SIZE];
	unsigned len = 0, i;
	EVP_MD_CTX *c = EVP_MD_CTX_new();

	assert_non_null(c);
	assert_int_equal(EVP_DigestInit_ex(c, md, NULL), 1);
	assert_int_equal(EVP_DigestUpdate(c, pre, npre), 1);
	assert_int_equal(EVP_DigestUpdate(c, p, n), 1);
	assert_int_equal(EVP_DigestFinal_ex(c, d, &len), 1);
	EVP_MD_CTX_free(c);
	for (i = 0; i < len; i++)
		snprintf(out + 2 * i, 3, "%02x", d[i]);
}

/* Asserts that a's size and three digests are those of p[n]. */
static void
assert_digests(const struct store_asset *a, const void *p, size_t n)
{
	char want[2 * EVP_MAX_MD_SIZE + 1], hdr[40];

	assert_int_equal(a->size, n);
	evp_hex(EVP_sha256(), "", 0, p, n, want);
	assert_string_equal(a->sha256, want);
	evp_hex(EVP_md5(), "", 0, p, n, want);
	assert_string_equal(a->md5, want);
	/* Git's blob id hashes "blob <size>\0" then the bytes. */
	snprintf(hdr, sizeof(hdr), "blob %zu", n);
	evp_hex(EVP_sha1(), hdr, strlen(hdr) + 1, p, n, want);
	assert_string_equal(a->git_sha1, want);
}

/* ---- collect ---- */

static struct publish_file *files;
static size_t nfiles;
static char err[2048];

static enum ota_status
collect(const char *const *rel, size_t n)
{
	char paths[8][PATH_MAX];
	const char *argv[8];
	size_t i;

	assert_true(n <= 8);
	for (i = 0; i < n; i++) {
		tl_path(paths[i], sizeof(paths[i]), rel[i]);
		argv[i] = paths[i];
	}
	publish_files_free(files, nfiles);
	files = (struct publish_file *)1;
	nfiles = 99;
	err[0] = '\0';
	return publish_collect(argv, n, &files, &nfiles, err, sizeof(err));
}

/* Asserts the asset paths collected, and that each src is its file. */
static void
assert_collected(const char *const *want, size_t n, const char *const *src)
{
	char path[PATH_MAX];
	size_t i;

	if (nfiles != n)
		fail_msg("%zu files collected, want %zu (%s)", nfiles, n, err);
	for (i = 0; i < n; i++) {
		assert_string_equal(files[i].path, want[i]);
		tl_path(path, sizeof(path), src[i]);
		assert_string_equal(files[i].src, path);
	}
}

static int
files_teardown(void **state)
{
	publish_files_free(files, nfiles);
	files = NULL;
	nfiles = 0;
	return tl_dir_teardown(state);
}

static void
tree(void)
{
	mktext("src/main/app.py", HI_PY);
	mktext("src/main/lib/x.py", "x = 1\n");
	mktext("src/boot.py", "import main\n");
}

static void
collect_names(void **state)
{
	static const char *const one[] = { "boot.py" };
	static const char *const one_src[] = { "src/boot.py" };
	static const char *const dir[] = { "main/app.py", "main/lib/x.py" };
	static const char *const dir_src[] = { "src/main/app.py",
	    "src/main/lib/x.py" };
	static const char *const both[] = { "boot.py", "main/app.py",
	    "main/lib/x.py" };
	/* src is the argument as given, joined with '/'. */
	static const char *const both_src[] = { "src/boot.py",
	    "src/main///app.py", "src/main///lib/x.py" };
	static const char *const flat[] = { "app.py", "lib/x.py" };
	static const char *const flat_src[] = { "src/main/./app.py",
	    "src/main/./lib/x.py" };
	static const char *const uni[] = { "u/caf\xc3\xa9 #1.txt" };
	static const char *const uni_src[] = { "src/u/caf\xc3\xa9 #1.txt" };
	const char *args[2];

	(void)state;
	tree();
	args[0] = "src/boot.py";
	assert_int_equal(collect(args, 1), OTA_OK);
	assert_collected(one, 1, one_src);
	args[0] = "src/main";
	assert_int_equal(collect(args, 1), OTA_OK);
	assert_collected(dir, 2, dir_src);
	/* Sorted by asset path whatever the argument order. */
	args[0] = "src/main//";
	args[1] = "src/boot.py";
	assert_int_equal(collect(args, 2), OTA_OK);
	assert_collected(both, 3, both_src);
	args[0] = "src/main/.";
	assert_int_equal(collect(args, 1), OTA_OK);
	assert_collected(flat, 2, flat_src);
	mktext("src/u/caf\xc3\xa9 #1.txt", "u");
	args[0] = "src/u";
	assert_int_equal(collect(args, 1), OTA_OK);
	assert_collected(uni, 1, uni_src);
}

/*
 * A symbolic link named on the command line is followed (as tar and cp
 * do with their operands) and the asset is named after the link; only
 * links met inside a tree are refused.
 */
static void
collect_top_symlink(void **state)
{
	static const char *const want[] = { "alias.py" };
	static const char *const src[] = { "alias.py" };
	const char *args[1] = { "alias.py" };
	char target[PATH_MAX], link[PATH_MAX];

	(void)state;
	tree();
	tl_path(target, sizeof(target), "src/boot.py");
	tl_path(link, sizeof(link), "alias.py");
	assert_int_equal(symlink(target, link), 0);
	assert_int_equal(collect(args, 1), OTA_OK);
	assert_collected(want, 1, src);
}

static void
assert_refused(enum ota_status rc, enum ota_status want, const char *in_err)
{
	if (rc != want)
		fail_msg("status %s, want %s (err \"%s\")", ota_status_str(rc),
		    ota_status_str(want), err);
	assert_null(files);
	assert_int_equal(nfiles, 0);
	if (in_err != NULL && strstr(err, in_err) == NULL)
		fail_msg("error \"%s\" does not mention \"%s\"", err, in_err);
}

static void
collect_refused(void **state)
{
	char path[PATH_MAX], target[PATH_MAX];
	const char *args[3];

	(void)state;
	tree();

	/* A symbolic link inside a tree, to a file or to a directory. */
	tl_path(path, sizeof(path), "src/main/lib/link.py");
	assert_int_equal(symlink("x.py", path), 0);
	args[0] = "src/main";
	assert_refused(collect(args, 1), OTA_E_INVALID, "lib/link.py");
	assert_non_null(strstr(err, "symbolic link"));
	assert_int_equal(unlink(path), 0);
	tl_path(target, sizeof(target), "src");
	assert_int_equal(symlink(target, path), 0);
	assert_refused(collect(args, 1), OTA_E_INVALID, "lib/link.py");
	assert_int_equal(unlink(path), 0);
	assert_int_equal(collect(args, 1), OTA_OK);

	/* A FIFO inside a tree, and one named directly. */
	tl_path(path, sizeof(path), "src/main/pipe");
	assert_int_equal(mkfifo(path, 0644), 0);
	assert_refused(collect(args, 1), OTA_E_INVALID, "main/pipe");
	assert_non_null(strstr(err, "not a regular file"));
	args[0] = "src/main/pipe";
	assert_refused(collect(args, 1), OTA_E_INVALID, "main/pipe");
	assert_int_equal(unlink(path), 0);

	/* Two arguments that give the same asset path. */
	mktext("src/a/fw.bin", "a");
	mktext("src/b/fw.bin", "b");
	args[0] = "src/a/fw.bin";
	args[1] = "src/b/fw.bin";
	assert_refused(collect(args, 2), OTA_E_INVALID, "'fw.bin'");
	assert_non_null(strstr(err, "src/a/fw.bin"));
	assert_non_null(strstr(err, "src/b/fw.bin"));
	args[0] = "src/main";
	args[1] = "src/boot.py";
	args[2] = "src/main";
	assert_refused(collect(args, 3), OTA_E_INVALID, "main/app.py");
	mktext("other/main/app.py", "other");
	args[1] = "other/main";
	assert_refused(collect(args, 2), OTA_E_INVALID, "main/app.py");

	/* Nothing to publish. */
	mkdir_rel("empty");
	mkdir_rel("empty/sub/subsub");
	args[0] = "empty";
	assert_refused(collect(args, 1), OTA_E_INVALID, "no files");
	assert_refused(collect(args, 0), OTA_E_INVALID, "no files");

	/* A missing argument is named. */
	args[0] = "src/nope.py";
	assert_refused(collect(args, 1), OTA_E_NOTFOUND, "src/nope.py");
}

static void
collect_bad_names(void **state)
{
	static const char *const bad[] = {
		"t/a\001b.bin", "t/tab\there", "t/new\nline", "t/del\177",
		"t/back\\slash.bin",
		/* Not UTF-8: a manifest could not sign it, so it is refused
		 * here, with the file's name, before anything is stored. */
		"t/latin1-\xe9t\xe9.py",
	};
	const char *args[1];
	char rel[64];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		/* Inside a tree... */
		snprintf(rel, sizeof(rel), "in%zu/%s", i, bad[i]);
		mktext(rel, "x");
		snprintf(rel, sizeof(rel), "in%zu", i);
		args[0] = rel;
		assert_refused(collect(args, 1), OTA_E_INVALID, bad[i] + 2);
		/* ...and named directly. */
		snprintf(rel, sizeof(rel), "in%zu/%s", i, bad[i]);
		args[0] = rel;
		assert_refused(collect(args, 1), OTA_E_INVALID, bad[i] + 2);
	}
}

/* n nested directories below "deep", a file in the innermost. */
static void
deep_tree(int n)
{
	char rel[PATH_MAX];
	size_t len;
	int i;

	len = (size_t)snprintf(rel, sizeof(rel), "deep%d", n);
	for (i = 0; i < n; i++)
		len += (size_t)snprintf(rel + len, sizeof(rel) - len, "/d%d",
		    i);
	snprintf(rel + len, sizeof(rel) - len, "/f.txt");
	mktext(rel, "deep");
}

static void
collect_depth(void **state)
{
	char top[32];
	const char *args[1] = { top };

	(void)state;
	/* The PATH and the levels below it: PUBLISH_MAX_DEPTH in all. */
	deep_tree(PUBLISH_MAX_DEPTH - 1);
	snprintf(top, sizeof(top), "deep%d", PUBLISH_MAX_DEPTH - 1);
	assert_int_equal(collect(args, 1), OTA_OK);
	assert_int_equal(nfiles, 1);
	deep_tree(PUBLISH_MAX_DEPTH);
	snprintf(top, sizeof(top), "deep%d", PUBLISH_MAX_DEPTH);
	assert_refused(collect(args, 1), OTA_E_TOO_LARGE, "directory levels");
	deep_tree(PUBLISH_MAX_DEPTH + 20);
	snprintf(top, sizeof(top), "deep%d", PUBLISH_MAX_DEPTH + 20);
	assert_refused(collect(args, 1), OTA_E_TOO_LARGE, "directory levels");
}

/*
 * A file and a directory of the same asset path ("main" and
 * "main/app.py") cannot both be installed, and the manifest refuses it
 * ("none a directory of another"); collect must say so, naming both,
 * rather than let publish fail later at signing.
 */
static void
collect_file_over_dir(void **state)
{
	const char *args[2] = { "x/main", "y/main" };

	(void)state;
	mktext("x/main", "a file called main");
	mktext("y/main/app.py", HI_PY);
	assert_refused(collect(args, 2), OTA_E_INVALID, "main");
}

/* ---- publishing ---- */

static struct store *st;
static struct sign_key *key;		/* me/app's, from publish_repo_key */
static struct sign_key *pubkey;		/* its .pub, loaded from the file */

static int
pub_setup(void **state)
{
	char data[PATH_MAX], path[PATH_MAX];
	bool created = false;

	if (tl_dir_setup(state) != 0)
		return -1;
	tl_path(data, sizeof(data), "data");
	err[0] = '\0';
	if (store_open(&st, data, true, err, sizeof(err)) != OTA_OK ||
	    publish_repo_key(st, "me", "app", true, &key, &created, err,
	    sizeof(err)) != OTA_OK || !created)
		return -1;
	if (publish_key_path(st, "me", "app", ".pub", path, sizeof(path)) !=
	    OTA_OK || sign_key_load_public(&pubkey, path, err, sizeof(err)) !=
	    OTA_OK)
		return -1;
	return 0;
}

static int
pub_teardown(void **state)
{
	sign_key_free(key);
	sign_key_free(pubkey);
	key = pubkey = NULL;
	store_free(st);
	st = NULL;
	return files_teardown(state);
}

static struct publish_opts
opts(const char *tag)
{
	struct publish_opts o;

	memset(&o, 0, sizeof(o));
	o.owner = "me";
	o.name = "app";
	o.tag = tag;
	o.keys = &key;
	o.nkeys = 1;
	return o;
}

/* Publishes files (collected) with o; returns the status. */
static enum ota_status
publish(const struct publish_opts *o, struct store_release *out)
{
	struct store_release r;
	enum ota_status rc;

	store_release_init(&r);
	err[0] = '\0';
	rc = publish_release(st, o, files, nfiles, &r, err, sizeof(err));
	if (out != NULL)
		*out = r;
	else
		store_release_release(&r);
	return rc;
}

static void
publish_ok(const struct publish_opts *o, struct store_release *out)
{
	enum ota_status rc = publish(o, out);

	if (rc != OTA_OK)
		fail_msg("publish %s: %s: %s", o->tag, ota_status_str(rc), err);
}

/* Collects the given trees (relative to tl_dir) into files. */
static void
collect_ok(const char *const *rel, size_t n)
{
	enum ota_status rc = collect(rel, n);

	if (rc != OTA_OK)
		fail_msg("collect: %s: %s", ota_status_str(rc), err);
}

static unsigned char *
blob_bytes(const char *hex, size_t *len)
{
	char path[PATH_MAX];

	assert_int_equal(blobstore_path(store_blobs(st), hex, path,
	    sizeof(path)), OTA_OK);
	return slurp(path, len);
}

/*
 * Verifies r's manifest blob with the public key and checks it against
 * r and its assets in the store; m gets the manifest.
 */
static void
assert_manifest(const struct store_release *r, struct manifest *m)
{
	struct store_asset *a = NULL;
	unsigned char *text;
	size_t len, n = 0, i;
	char merr[512];
	enum ota_status rc;

	assert_int_equal(blobstore_verify(store_blobs(st), r->manifest),
	    OTA_OK);
	text = blob_bytes(r->manifest, &len);
	rc = manifest_parse_verify_err((const char *)text, len, &pubkey, 1,
	    (int64_t)time(NULL), m, merr, sizeof(merr));
	free(text);
	if (rc != OTA_OK)
		fail_msg("manifest of %s: %s: %s", r->tag, ota_status_str(rc),
		    merr);
	assert_string_equal(m->repo, "me/app");
	assert_string_equal(m->tag, r->tag);
	assert_string_equal(m->version, r->version);
	assert_string_equal(m->channel, r->channel);
	assert_int_equal(m->metadata_version, r->metadata_version);
	assert_true(m->created < m->expires);
	assert_int_equal(store_asset_list(st, r->id, "", &a, &n), OTA_OK);
	assert_int_equal(m->nfiles, n);
	for (i = 0; i < n; i++) {
		assert_string_equal(m->files[i].path, a[i].path);
		assert_int_equal(m->files[i].size, a[i].size);
		assert_string_equal(m->files[i].sha256, a[i].sha256);
	}
	store_assets_free(a, n);
}

static void
repo_key_files(void **state)
{
	char path[PATH_MAX], want[PATH_MAX], id1[SIGN_KEYID_HEX + 1];
	char id2[SIGN_KEYID_HEX + 1];
	struct sign_key *k = NULL;
	unsigned char *text;
	bool created = true;
	struct stat sb;
	size_t len;

	(void)state;
	tl_path(path, sizeof(path), "data/keys");
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0700);
	tl_path(path, sizeof(path), "data/keys/me");
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0700);
	assert_int_equal(publish_key_path(st, "me", "app", ".key", path,
	    sizeof(path)), OTA_OK);
	tl_path(want, sizeof(want), "data/keys/me/app.key");
	assert_string_equal(path, want);
	assert_int_equal(lstat(path, &sb), 0);
	assert_true(S_ISREG(sb.st_mode));
	assert_int_equal(sb.st_mode & 0777, 0600);
	text = slurp(path, &len);
	assert_non_null(strstr((char *)text, "-----BEGIN PRIVATE KEY-----"));
	free(text);
	tl_path(path, sizeof(path), "data/keys/me/app.pub");
	text = slurp(path, &len);
	assert_memory_equal(text, "ed25519 ", 8);
	free(text);

	/* The key made and the .pub written are one pair. */
	sign_key_id(key, id1);
	sign_key_id(pubkey, id2);
	assert_string_equal(id1, id2);
	assert_true(sign_key_has_private(key));

	/* Loaded again, not made again. */
	assert_int_equal(publish_repo_key(st, "me", "app", true, &k, &created,
	    err, sizeof(err)), OTA_OK);
	assert_false(created);
	sign_key_id(k, id2);
	assert_string_equal(id1, id2);
	sign_key_free(k);
	assert_int_equal(publish_repo_key(st, "me", "app", false, &k, NULL,
	    err, sizeof(err)), OTA_OK);
	sign_key_free(k);

	/* Another repository has none until asked to create one. */
	k = (struct sign_key *)1;
	assert_int_equal(publish_repo_key(st, "me", "other", false, &k,
	    &created, err, sizeof(err)), OTA_E_NOTFOUND);
	assert_null(k);
	assert_false(created);
	assert_int_equal(publish_repo_key(st, "me", "other", true, &k,
	    &created, err, sizeof(err)), OTA_OK);
	assert_true(created);
	sign_key_id(k, id2);
	assert_string_not_equal(id1, id2);
	sign_key_free(k);

	assert_int_equal(publish_key_path(st, "..", "app", ".key", path,
	    sizeof(path)), OTA_E_INVALID);
	assert_int_equal(publish_key_path(st, "me", "a/b", ".key", path,
	    sizeof(path)), OTA_E_INVALID);
}

/*
 * Repositories are case-insensitive (store_repo_get), so "Me/App" is
 * me/app and must be signed with me/app's key: a second key pair made
 * for the other spelling would sign releases no device trusts.
 */
static void
repo_key_case(void **state)
{
	char id1[SIGN_KEYID_HEX + 1], id2[SIGN_KEYID_HEX + 1];
	struct sign_key *k = NULL;
	struct store_repo r;
	bool created = false;
	enum ota_status rc;

	(void)state;
	assert_int_equal(store_repo_ensure(st, "me", "app", &r), OTA_OK);
	sign_key_id(key, id1);
	rc = publish_repo_key(st, "Me", "App", false, &k, &created, err,
	    sizeof(err));
	if (rc != OTA_OK)
		fail_msg("publish_repo_key(Me/App) for me/app: %s: %s",
		    ota_status_str(rc), err);
	sign_key_id(k, id2);
	assert_string_equal(id1, id2);
	sign_key_free(k);
}

/*
 * A crash inside sign_keygen, after the private key was renamed into
 * place and before the public key was, leaves app.key without app.pub
 * (test_publish_crash.c's keygen case kills `ota publish` there). The
 * next publish loads app.key and signs with it, and nothing ever writes
 * the .pub that devices are configured with; publish_repo_key must put
 * the public half back (it is derived from the private key).
 */
static void
repo_key_missing_pub(void **state)
{
	char path[PATH_MAX], id1[SIGN_KEYID_HEX + 1], id2[SIGN_KEYID_HEX + 1];
	struct sign_key *k = NULL, *p = NULL;
	bool created = true;
	struct stat sb;

	(void)state;
	assert_int_equal(publish_key_path(st, "me", "app", ".pub", path,
	    sizeof(path)), OTA_OK);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(publish_repo_key(st, "me", "app", true, &k, &created,
	    err, sizeof(err)), OTA_OK);
	sign_key_id(k, id1);
	sign_key_free(k);
	if (stat(path, &sb) != 0)
		fail_msg("%s is still missing after publish_repo_key", path);
	assert_int_equal(sign_key_load_public(&p, path, err, sizeof(err)),
	    OTA_OK);
	sign_key_id(p, id2);
	sign_key_free(p);
	assert_string_equal(id1, id2);
}

static void
publish_happy(void **state)
{
	static const char *const args[] = { "src/main", "src/boot.bin",
	    "src/empty.txt" };
	static const char *const paths[] = { "boot.bin", "empty.txt",
	    "main/app.py", "main/lib/x.py" };
	unsigned char *big = pattern(BIG_SIZE, 1), *blob;
	struct store_release r, g;
	struct store_asset *a = NULL;
	struct store_repo repo;
	struct manifest m;
	struct sign_key *other = NULL;
	unsigned char seed[SIGN_SEED_LEN];
	struct publish_opts o = opts("v1.2.0");
	const void *want[4];
	size_t wantn[4], n = 0, i, len;
	int64_t t0 = (int64_t)time(NULL), t1;

	(void)state;
	mktext("src/main/app.py", HI_PY);
	mktext("src/main/lib/x.py", "x = 1\n");
	mkfile("src/boot.bin", big, BIG_SIZE);
	mktext("src/empty.txt", "");
	want[0] = big;
	wantn[0] = BIG_SIZE;
	want[1] = "";
	wantn[1] = 0;
	want[2] = HI_PY;
	wantn[2] = strlen(HI_PY);
	want[3] = "x = 1\n";
	wantn[3] = 6;
	collect_ok(args, 3);
	o.notes = "First\nrelease";
	publish_ok(&o, &r);
	t1 = (int64_t)time(NULL);

	assert_true(r.id > 0);
	assert_string_equal(r.tag, "v1.2.0");
	assert_string_equal(r.version, "1.2.0");
	assert_string_equal(r.channel, STORE_DEFAULT_CHANNEL);
	assert_string_equal(r.notes, "First\nrelease");
	assert_false(r.draft);
	assert_false(r.prerelease);
	assert_false(r.yanked);
	assert_true(r.created >= t0 && r.created <= t1);
	assert_int_equal(r.published, r.created);
	assert_int_equal(r.metadata_version, 1);
	assert_int_equal(strlen(r.manifest), BLOBSTORE_HEX_LEN);

	/* What the store has is what publish returned. */
	assert_int_equal(store_repo_get(st, "me", "app", &repo), OTA_OK);
	assert_int_equal(repo.metadata_version, 1);
	assert_int_equal(r.repo_id, repo.id);
	assert_int_equal(store_release_get(st, repo.id, "v1.2.0", &g), OTA_OK);
	assert_int_equal(g.id, r.id);
	assert_string_equal(g.manifest, r.manifest);
	assert_string_equal(g.notes, r.notes);
	store_release_release(&g);

	/* Every asset: digests, blob present, intact, the same bytes. */
	assert_int_equal(store_asset_list(st, r.id, "", &a, &n), OTA_OK);
	assert_int_equal(n, 4);
	for (i = 0; i < n; i++) {
		assert_string_equal(a[i].path, paths[i]);
		assert_digests(&a[i], want[i], wantn[i]);
		assert_int_equal(blobstore_verify(store_blobs(st), a[i].sha256),
		    OTA_OK);
		blob = blob_bytes(a[i].sha256, &len);
		assert_int_equal(len, wantn[i]);
		assert_memory_equal(blob, want[i], len);
		free(blob);
	}
	assert_string_equal(a[2].git_sha1, HI_GIT_SHA1);
	store_assets_free(a, n);

	/* The manifest: signed by the repository's key, lists them all. */
	assert_manifest(&r, &m);
	assert_true(m.created >= t0 && m.created <= t1);
	assert_int_equal(m.expires - m.created,
	    (int64_t)PUBLISH_DEFAULT_EXPIRES_DAYS * DAY);
	manifest_release(&m);
	/* and by no other key. */
	memset(seed, 7, sizeof(seed));
	assert_int_equal(sign_key_from_seed(&other, seed), OTA_OK);
	blob = blob_bytes(r.manifest, &len);
	assert_int_equal(manifest_parse_verify((const char *)blob, len, &other,
	    1, (int64_t)time(NULL), &m), OTA_E_SIGNATURE);
	manifest_release(&m);
	free(blob);
	sign_key_free(other);
	store_release_release(&r);
	free(big);
}

static uint64_t
repo_metadata(const char *name)
{
	struct store_repo r;

	assert_int_equal(store_repo_get(st, "me", name, &r), OTA_OK);
	return r.metadata_version;
}

static void
metadata_versions(void **state)
{
	static const char *const args[] = { "src/boot.py" };
	static const char *const tags[] = { "1.0.0", "1.1.0", "v2.0.0",
	    "0.9.0" };
	struct publish_opts o;
	struct store_release r;
	struct manifest m;
	size_t i;

	(void)state;
	tree();
	collect_ok(args, 1);
	for (i = 0; i < 4; i++) {
		o = opts(tags[i]);
		publish_ok(&o, &r);
		assert_int_equal(r.metadata_version, i + 1);
		assert_manifest(&r, &m);
		manifest_release(&m);
		store_release_release(&r);
	}
	/* A failed publish takes no number. */
	o = opts("1.0.0");
	assert_int_equal(publish(&o, NULL), OTA_E_EXISTS);
	assert_int_equal(repo_metadata("app"), 4);
	o = opts("3.0.0");
	publish_ok(&o, &r);
	assert_int_equal(r.metadata_version, 5);
	store_release_release(&r);
	/* Per repository. */
	o = opts("1.0.0");
	o.name = "other";
	publish_ok(&o, &r);
	assert_int_equal(r.metadata_version, 1);
	store_release_release(&r);
	assert_int_equal(repo_metadata("app"), 5);
}

/* Entries in data/blobs/sha256. */
static int
nblobs(void)
{
	char path[PATH_MAX];
	struct dirent *de;
	DIR *d;
	int n = 0;

	tl_path(path, sizeof(path), "data/blobs/sha256");
	assert_non_null(d = opendir(path));
	while ((de = readdir(d)) != NULL)
		n += de->d_name[0] != '.';
	closedir(d);
	return n;
}

static void
publish_refused(void **state)
{
	static const char *const args[] = { "src/boot.py" };
	static char long_tag[200], long_chan[STORE_MAX_CHANNEL + 2];
	static char *long_notes;
	struct {
		const char *what;
		struct publish_opts o;
		bool no_files;
		enum ota_status want;
		const char *in_err;
	} t[16];
	struct store_release *list;
	struct store_repo repo;
	size_t i, n = 0, k;

	(void)state;
	tree();
	collect_ok(args, 1);
	memset(long_tag, '1', sizeof(long_tag) - 1);
	memset(long_chan, 'a', sizeof(long_chan) - 1);
	assert_non_null(long_notes = malloc(STORE_MAX_NOTES + 2));
	memset(long_notes, 'n', STORE_MAX_NOTES + 1);
	long_notes[STORE_MAX_NOTES + 1] = '\0';

#define ROW(w, tag, st, e) (t[n].what = (w), t[n].o = opts(tag), \
	t[n].no_files = false, t[n].want = (st), t[n].in_err = (e), &t[n++].o)
	(void)ROW("not semver", "latest", OTA_E_INVALID, "not a version");
	(void)ROW("date", "2024-05", OTA_E_INVALID, "not a version");
	(void)ROW("four parts", "1.0.0.0", OTA_E_INVALID, "not a version");
	(void)ROW("empty tag", "", OTA_E_INVALID, "not a version");
	(void)ROW("long tag", long_tag, OTA_E_INVALID, "not a version");
	ROW("upper channel", "1.0.0", OTA_E_INVALID, "channel")->channel =
	    "Beta";
	ROW("empty channel", "1.0.0", OTA_E_INVALID, "channel")->channel = "";
	ROW("long channel", "1.0.0", OTA_E_INVALID, "channel")->channel =
	    long_chan;
	ROW("slash channel", "1.0.0", OTA_E_INVALID, "channel")->channel =
	    "a/b";
	ROW("long notes", "1.0.0", OTA_E_TOO_LARGE, "notes")->notes =
	    long_notes;
	ROW("bad owner", "1.0.0", OTA_E_INVALID, "repository")->owner = "a b";
	ROW("bad name", "1.0.0", OTA_E_INVALID, "repository")->name = "..";
	ROW("no key", "1.0.0", OTA_E_INVALID, "key")->nkeys = 0;
	(void)ROW("no files", "1.0.0", OTA_E_INVALID, "no files");
	t[n - 1].no_files = true;
#undef ROW
	for (i = 0; i < n; i++) {
		struct publish_file *keep = files;
		size_t nkeep = nfiles;
		enum ota_status rc;

		if (t[i].no_files) {
			files = NULL;
			nfiles = 0;
		}
		rc = publish(&t[i].o, NULL);
		files = keep;
		nfiles = nkeep;
		if (rc != t[i].want)
			fail_msg("%s: %s, want %s (%s)", t[i].what,
			    ota_status_str(rc), ota_status_str(t[i].want), err);
		if (strstr(err, t[i].in_err) == NULL)
			fail_msg("%s: error \"%s\" does not mention \"%s\"",
			    t[i].what, err, t[i].in_err);
	}
	/* Refused before anything was written. */
	assert_int_equal(nblobs(), 0);
	assert_int_equal(store_repo_get(st, "me", "app", &repo),
	    OTA_E_NOTFOUND);

	/* Notes of exactly the maximum are fine, and kept. */
	long_notes[STORE_MAX_NOTES] = '\0';
	t[0].o = opts("1.0.0");
	t[0].o.notes = long_notes;
	publish_ok(&t[0].o, NULL);
	assert_int_equal(store_repo_get(st, "me", "app", &repo), OTA_OK);
	assert_int_equal(store_release_list(st, repo.id, STORE_LIST_ALL, NULL,
	    &list, &k), OTA_OK);
	assert_int_equal(k, 1);
	assert_int_equal(strlen(list[0].notes), STORE_MAX_NOTES);
	store_releases_free(list, k);
	free(long_notes);
}

/* A key that cannot sign fails the publish with nothing recorded. */
static void
publish_public_key_only(void **state)
{
	static const char *const args[] = { "src/boot.py" };
	struct publish_opts o = opts("1.0.0");
	struct store_release *list;
	struct store_repo repo;
	size_t n;

	(void)state;
	tree();
	collect_ok(args, 1);
	publish_ok(&o, NULL);
	o = opts("1.1.0");
	o.keys = &pubkey;
	assert_int_not_equal(publish(&o, NULL), OTA_OK);
	assert_true(err[0] != '\0');
	assert_int_equal(store_repo_get(st, "me", "app", &repo), OTA_OK);
	assert_int_equal(repo.metadata_version, 1);
	assert_int_equal(store_release_list(st, repo.id, STORE_LIST_ALL, NULL,
	    &list, &n), OTA_OK);
	assert_int_equal(n, 1);
	assert_string_equal(list[0].tag, "1.0.0");
	store_releases_free(list, n);
}

static void
assert_asset(int64_t release_id, const char *path, const char *content)
{
	struct store_asset a;

	assert_int_equal(store_asset_get(st, release_id, path, &a), OTA_OK);
	assert_digests(&a, content, strlen(content));
	free(a.path);
}

static void
exists_and_force(void **state)
{
	static const char *const v1[] = { "v1/a.bin", "v1/b.bin" };
	static const char *const v2[] = { "v2/a.bin", "v2/c.bin" };
	struct publish_opts o = opts("v1.0.0");
	struct store_release r1, r2, *list;
	struct store_asset a, *as;
	struct manifest m;
	size_t n;

	(void)state;
	mktext("v1/a.bin", "A1");
	mktext("v1/b.bin", "B1");
	mktext("v2/a.bin", "A2");
	mktext("v2/c.bin", "C2");
	collect_ok(v1, 2);
	publish_ok(&o, &r1);

	/* The same tag again, and the same version under another tag. */
	collect_ok(v2, 2);
	assert_int_equal(publish(&o, NULL), OTA_E_EXISTS);
	assert_non_null(strstr(err, "v1.0.0"));
	assert_non_null(strstr(err, "--force"));
	o = opts("1.0.0");
	assert_int_equal(publish(&o, NULL), OTA_E_EXISTS);
	assert_non_null(strstr(err, "v1.0.0"));
	o.force = true;
	assert_int_equal(publish(&o, NULL), OTA_E_EXISTS);
	o = opts("v1.0.0+build.2");
	o.force = true;
	assert_int_equal(publish(&o, NULL), OTA_E_EXISTS);
	assert_asset(r1.id, "a.bin", "A1");
	assert_asset(r1.id, "b.bin", "B1");
	assert_int_equal(repo_metadata("app"), 1);

	/* --force replaces the release with the same tag, whole. */
	o = opts("v1.0.0");
	o.force = true;
	o.channel = "beta";
	publish_ok(&o, &r2);
	assert_int_equal(r2.metadata_version, 2);
	assert_string_not_equal(r2.manifest, r1.manifest);
	assert_int_equal(store_release_list(st, r2.repo_id, STORE_LIST_ALL,
	    NULL, &list, &n), OTA_OK);
	assert_int_equal(n, 1);
	assert_int_equal(list[0].id, r2.id);
	assert_string_equal(list[0].channel, "beta");
	assert_string_equal(list[0].manifest, r2.manifest);
	store_releases_free(list, n);
	assert_asset(r2.id, "a.bin", "A2");
	assert_asset(r2.id, "c.bin", "C2");
	assert_int_equal(store_asset_get(st, r2.id, "b.bin", &a),
	    OTA_E_NOTFOUND);
	assert_int_equal(store_asset_list(st, r2.id, "", &as, &n), OTA_OK);
	assert_int_equal(n, 2);
	store_assets_free(as, n);
	if (r1.id != r2.id) {
		/* The old rows are gone, not just hidden. */
		assert_int_equal(store_asset_list(st, r1.id, "", &as, &n),
		    OTA_OK);
		assert_int_equal(n, 0);
	}
	assert_manifest(&r2, &m);
	assert_int_equal(m.nfiles, 2);
	assert_string_equal(m.files[1].path, "c.bin");
	assert_string_equal(m.channel, "beta");
	manifest_release(&m);

	/* --force on a new tag simply publishes it. */
	o = opts("v1.1.0");
	o.force = true;
	publish_ok(&o, NULL);
	store_release_release(&r1);
	store_release_release(&r2);
}

static void
flags_channel_case(void **state)
{
	static const char *const args[] = { "src/boot.py" };
	struct publish_opts o = opts("2.0.0");
	struct store_release r, *list;
	struct store_repo repo, *repos;
	struct manifest m;
	size_t n;

	(void)state;
	tree();
	collect_ok(args, 1);
	o.draft = true;
	o.channel = "beta-1.x_y";
	o.expires_days = 10;
	publish_ok(&o, &r);
	assert_true(r.draft);
	assert_int_equal(r.published, 0);
	assert_string_equal(r.channel, "beta-1.x_y");
	assert_manifest(&r, &m);
	assert_string_equal(m.channel, "beta-1.x_y");
	assert_int_equal(m.expires - m.created, 10 * DAY);
	manifest_release(&m);
	store_release_release(&r);
	assert_int_equal(store_release_list(st, r.repo_id, STORE_LIST_VISIBLE,
	    NULL, &list, &n), OTA_OK);
	assert_int_equal(n, 0);

	o = opts("1.1.0");
	o.prerelease = true;
	publish_ok(&o, &r);
	assert_true(r.prerelease);
	assert_true(r.published > 0);
	store_release_release(&r);
	/*
	 * A pre-release version is a pre-release even without the flag:
	 * "1.2.0-rc.1" never becomes "latest" until promoted.
	 */
	o = opts("1.2.0-rc.1");
	publish_ok(&o, &r);
	assert_true(r.prerelease);
	assert_string_equal(r.version, "1.2.0-rc.1");
	store_release_release(&r);

	/* Another spelling of the repository is the same repository. */
	o = opts("v1.0.0");
	o.owner = "ME";
	o.name = "App";
	publish_ok(&o, &r);
	assert_int_equal(store_repo_get(st, "me", "app", &repo), OTA_OK);
	assert_int_equal(r.repo_id, repo.id);
	assert_string_equal(repo.owner, "me");
	assert_manifest(&r, &m);
	assert_string_equal(m.repo, "me/app");
	manifest_release(&m);
	store_release_release(&r);
	assert_int_equal(store_repo_list(st, &repos, &n), OTA_OK);
	assert_int_equal(n, 1);
	free(repos);
}

/* A file that vanished between collect and publish: named, nothing kept. */
static void
source_vanished(void **state)
{
	static const char *const args[] = { "src/main", "src/boot.py" };
	struct publish_opts o = opts("1.0.0");
	struct store_repo repo;
	char path[PATH_MAX];

	(void)state;
	tree();
	collect_ok(args, 2);
	tl_path(path, sizeof(path), "src/main/lib/x.py");
	assert_int_equal(unlink(path), 0);
	assert_int_equal(publish(&o, NULL), OTA_E_NOTFOUND);
	assert_non_null(strstr(err, "src/main/lib/x.py"));
	assert_int_equal(store_repo_get(st, "me", "app", &repo),
	    OTA_E_NOTFOUND);
}

/*
 * The same clash handed straight to publish_release (as an API caller
 * may): refused, with nothing recorded and no metadata version used.
 */
static void
publish_file_over_dir(void **state)
{
	struct publish_file f[2];
	struct publish_opts o = opts("1.0.0");
	struct store_release r;
	struct store_repo repo;
	char a[PATH_MAX], b[PATH_MAX];
	enum ota_status rc;

	(void)state;
	mktext("x/main", "a file called main");
	mktext("y/main/app.py", HI_PY);
	tl_path(a, sizeof(a), "x/main");
	tl_path(b, sizeof(b), "y/main/app.py");
	f[0].src = a;
	f[0].path = (char *)"main";
	f[1].src = b;
	f[1].path = (char *)"main/app.py";
	store_release_init(&r);
	err[0] = '\0';
	rc = publish_release(st, &o, f, 2, &r, err, sizeof(err));
	assert_int_equal(rc, OTA_E_INVALID);
	if (store_repo_get(st, "me", "app", &repo) == OTA_OK) {
		assert_int_equal(repo.metadata_version, 0);
		assert_int_equal(store_release_get(st, repo.id, "1.0.0", &r),
		    OTA_E_NOTFOUND);
	}
	/* The reason, not only "invalid input". */
	if (strstr(err, "'main'") == NULL)
		fail_msg("error \"%s\" does not name 'main'", err);
}

static void
resign(void **state)
{
	static const char *const args[] = { "src/main" };
	struct publish_opts o = opts("v1.0.0");
	struct store_release r, g;
	struct manifest m;
	char first[BLOBSTORE_HEX_LEN + 1], second[BLOBSTORE_HEX_LEN + 1];

	(void)state;
	tree();
	collect_ok(args, 1);
	publish_ok(&o, &r);
	assert_int_equal(r.metadata_version, 1);
	snprintf(first, sizeof(first), "%s", r.manifest);

	/* Promote to another channel: a new manifest says so. */
	snprintf(r.channel, sizeof(r.channel), "beta");
	assert_int_equal(store_begin(st), OTA_OK);
	assert_int_equal(publish_resign(st, &r, &key, 1, 2, err, sizeof(err)),
	    OTA_OK);
	assert_int_equal(store_commit(st), OTA_OK);
	assert_int_equal(r.metadata_version, 2);
	assert_string_not_equal(r.manifest, first);
	assert_int_equal(store_release_get(st, r.repo_id, "v1.0.0", &g),
	    OTA_OK);
	assert_string_equal(g.channel, "beta");
	assert_string_equal(g.manifest, r.manifest);
	assert_int_equal(g.metadata_version, 2);
	store_release_release(&g);
	assert_manifest(&r, &m);
	assert_string_equal(m.channel, "beta");
	assert_int_equal(m.metadata_version, 2);
	assert_int_equal(m.expires - m.created, 2 * DAY);
	assert_int_equal(m.nfiles, 2);
	manifest_release(&m);
	/* The old manifest is still a valid blob (devices may hold it). */
	assert_int_equal(blobstore_verify(store_blobs(st), first), OTA_OK);

	/* Re-signing alone still moves the metadata version on. */
	snprintf(second, sizeof(second), "%s", r.manifest);
	assert_int_equal(store_begin(st), OTA_OK);
	assert_int_equal(publish_resign(st, &r, &key, 1, 0, err, sizeof(err)),
	    OTA_OK);
	assert_int_equal(store_commit(st), OTA_OK);
	assert_int_equal(r.metadata_version, 3);
	assert_string_not_equal(r.manifest, second);
	assert_manifest(&r, &m);
	assert_int_equal(m.expires - m.created,
	    (int64_t)PUBLISH_DEFAULT_EXPIRES_DAYS * DAY);
	manifest_release(&m);
	assert_int_equal(repo_metadata("app"), 3);

	/* A key that cannot sign: an error, and rolled back, no change. */
	snprintf(second, sizeof(second), "%s", r.manifest);
	assert_int_equal(store_begin(st), OTA_OK);
	assert_int_not_equal(publish_resign(st, &r, &pubkey, 1, 0, err,
	    sizeof(err)), OTA_OK);
	store_rollback(st);
	assert_int_equal(store_release_get(st, r.repo_id, "v1.0.0", &g),
	    OTA_OK);
	assert_string_equal(g.manifest, second);
	assert_int_equal(g.metadata_version, 3);
	store_release_release(&g);
	assert_int_equal(repo_metadata("app"), 3);
	store_release_release(&r);
}

#define C(f) cmocka_unit_test_setup_teardown(f, tl_dir_setup, files_teardown)
#define P(f) cmocka_unit_test_setup_teardown(f, pub_setup, pub_teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		C(collect_names),
		C(collect_top_symlink),
		C(collect_refused),
		C(collect_bad_names),
		C(collect_depth),
		C(collect_file_over_dir),
		P(repo_key_files),
		P(repo_key_case),
		P(repo_key_missing_pub),
		P(publish_happy),
		P(metadata_versions),
		P(publish_refused),
		P(publish_public_key_only),
		P(exists_and_force),
		P(flags_channel_case),
		P(source_vanished),
		P(publish_file_over_dir),
		P(resign),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
