/*
 * manifest: the canonical bytes and the whole signed envelope against
 * literals made independently (Python's json.dumps(sort_keys=True,
 * separators=(",", ":")) and the `cryptography` package's Ed25519), key
 * order and whitespace independence, tampering with every field, the
 * schema checked only after the signature, every hostile path, expiry with
 * an injected clock, key rotation, envelope and size limits, and a release
 * on disk: good, mismatched, missing, extra, symbolic links in and out.
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
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include <ota/crypto.h>
#include <ota/host.h>

#include "common/buf.h"
#include "common/json.h"
#include "common/manifest.h"
#include "common/sign.h"
#include "testlib.h"

#define CREATED 1700000000
#define EXPIRES 1731536000
#define H_HELLO "2cf24dba5fb0a30e26e83b2ac5b9e29e" \
	"1b161e5c1fa7425e73043362938b9824"
#define H_EMPTY "e3b0c44298fc1c149afbf4c8996fb924" \
	"27ae41e4649b934ca495991b7852b855"
#define KEYID_A "21fe31dfa154a261626bf854046fd227" \
	"1b7bed4b6abe45aa58877ef47f9721b9"

#define FILES_JSON "[{\"path\":\"main/app.py\",\"sha256\":\"" H_HELLO \
	"\",\"size\":5},{\"path\":\"main/lib/util.py\",\"sha256\":\"" H_EMPTY \
	"\",\"size\":0}]"
#define SIGNED_PRE "{\"_type\":\"ota-release\",\"channel\":\"stable\"," \
	"\"created\":1700000000,\"expires\":1731536000,\"files\":"
#define SIGNED_POST ",\"metadata_version\":7,\"repo\":\"acme/sensor\"," \
	"\"tag\":\"v1.2.0\",\"version\":\"1.2.0\"}"
/* The fixture's canonical signed part. */
#define CANONICAL SIGNED_PRE FILES_JSON SIGNED_POST
/* ... and its envelope signed by key A (RFC 8032 TEST 1), from Python. */
#define ENVELOPE_A "{\"signatures\":[{\"keyid\":\"" KEYID_A "\",\"sig\":" \
	"\"ZzGWW0q1SW2ykNiFEZmbZyT+cVSHgPx/s1IVrXJJJgwPAYTcrwghzrC2agyuDAWr" \
	"1UjSvugMugo357oQy0YqDQ==\"}],\"signed\":" CANONICAL "}"

/* Keys A, B and C: RFC 8032 §7.1 TEST 1, 2 and 3. */
static const unsigned char seeds[3][SIGN_SEED_LEN] = {
	{ 0x9d, 0x61, 0xb1, 0x9d, 0xef, 0xfd, 0x5a, 0x60, 0xba, 0x84, 0x4a,
	  0xf4, 0x92, 0xec, 0x2c, 0xc4, 0x44, 0x49, 0xc5, 0x69, 0x7b, 0x32,
	  0x69, 0x19, 0x70, 0x3b, 0xac, 0x03, 0x1c, 0xae, 0x7f, 0x60 },
	{ 0x4c, 0xcd, 0x08, 0x9b, 0x28, 0xff, 0x96, 0xda, 0x9d, 0xb6, 0xc3,
	  0x46, 0xec, 0x11, 0x4e, 0x0f, 0x5b, 0x8a, 0x31, 0x9f, 0x35, 0xab,
	  0xa6, 0x24, 0xda, 0x8c, 0xf6, 0xed, 0x4f, 0xb8, 0xa6, 0xfb },
	{ 0xc5, 0xaa, 0x8d, 0xf4, 0x3f, 0x9f, 0x83, 0x7b, 0xed, 0xb7, 0x44,
	  0x2f, 0x31, 0xdc, 0xb7, 0xb1, 0x66, 0xd3, 0x85, 0x35, 0x07, 0x6f,
	  0x09, 0x4b, 0x85, 0xce, 0x3a, 0x2e, 0x0b, 0x44, 0x58, 0xf7 },
};
static struct sign_key *A, *B, *C;

static int
keys_setup(void **state)
{
	(void)state;
	if (sign_key_from_seed(&A, seeds[0]) != OTA_OK ||
	    sign_key_from_seed(&B, seeds[1]) != OTA_OK ||
	    sign_key_from_seed(&C, seeds[2]) != OTA_OK)
		return -1;
	return 0;
}

static int
keys_teardown(void **state)
{
	(void)state;
	sign_key_free(A);
	sign_key_free(B);
	sign_key_free(C);
	return 0;
}

static struct manifest_file fixture_files[2];

/* The fixture, pointing at static storage: never manifest_release it. */
static void
fixture(struct manifest *m)
{
	memset(m, 0, sizeof(*m));
	m->repo = "acme/sensor";
	m->tag = "v1.2.0";
	m->version = "1.2.0";
	m->channel = "stable";
	m->metadata_version = 7;
	m->created = CREATED;
	m->expires = EXPIRES;
	memset(fixture_files, 0, sizeof(fixture_files));
	fixture_files[0].path = "main/app.py";
	fixture_files[0].size = 5;
	memcpy(fixture_files[0].sha256, H_HELLO, sizeof(H_HELLO));
	fixture_files[1].path = "main/lib/util.py";
	fixture_files[1].size = 0;
	memcpy(fixture_files[1].sha256, H_EMPTY, sizeof(H_EMPTY));
	m->files = fixture_files;
	m->nfiles = 2;
}

/* The envelope of m signed by keys[n], as a malloc'd string. */
static char *
sign_text(const struct manifest *m, struct sign_key *const *keys, size_t n)
{
	struct buf b;

	buf_init(&b, MANIFEST_MAX_BYTES);
	assert_int_equal(manifest_sign(m, keys, n, &b), OTA_OK);
	return buf_take(&b, NULL);
}

/* An envelope around the signed text s (any bytes), signed by k over s. */
static char *
envelope_for(const char *s, struct sign_key *k)
{
	unsigned char sig[SIGN_SIG_LEN];
	char id[SIGN_KEYID_HEX + 1], b64[128];
	struct buf b;
	size_t i;
	static const char tbl[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

	assert_int_equal(sign_bytes(k, s, strlen(s), sig), OTA_OK);
	sign_key_id(k, id);
	/* Encoded here, not with base64.c, so the test checks that too. */
	for (i = 0; i < 21; i++) {
		unsigned v = (unsigned)sig[3 * i] << 16 |
		    (unsigned)sig[3 * i + 1] << 8 | sig[3 * i + 2];

		b64[4 * i] = tbl[v >> 18];
		b64[4 * i + 1] = tbl[v >> 12 & 63];
		b64[4 * i + 2] = tbl[v >> 6 & 63];
		b64[4 * i + 3] = tbl[v & 63];
	}
	b64[84] = tbl[sig[63] >> 2];
	b64[85] = tbl[(sig[63] & 3) << 4];
	memcpy(b64 + 86, "==", 3);
	buf_init(&b, MANIFEST_MAX_BYTES * 2);
	assert_int_equal(buf_addf(&b, "{\"signatures\":[{\"keyid\":\"%s\","
	    "\"sig\":\"%s\"}],\"signed\":%s}", id, b64, s), OTA_OK);
	return buf_take(&b, NULL);
}

/* s with its first `from` replaced by `to` (malloc'd); from must occur. */
static char *
replace(const char *s, const char *from, const char *to)
{
	const char *p = strstr(s, from);
	struct buf b;

	assert_non_null(p);
	buf_init(&b, MANIFEST_MAX_BYTES * 2);
	assert_int_equal(buf_add(&b, s, (size_t)(p - s)), OTA_OK);
	assert_int_equal(buf_adds(&b, to), OTA_OK);
	assert_int_equal(buf_adds(&b, p + strlen(from)), OTA_OK);
	return buf_take(&b, NULL);
}

static enum ota_status
verify(const char *text, struct sign_key *const *keys, size_t n, int64_t now)
{
	struct manifest m;
	enum ota_status st;

	st = manifest_parse_verify(text, strlen(text), keys, n, now, &m);
	manifest_release(&m);
	return st;
}

static void
assert_fixture(const struct manifest *m)
{
	assert_string_equal(m->repo, "acme/sensor");
	assert_string_equal(m->tag, "v1.2.0");
	assert_string_equal(m->version, "1.2.0");
	assert_string_equal(m->channel, "stable");
	assert_int_equal(m->metadata_version, 7);
	assert_int_equal(m->created, CREATED);
	assert_int_equal(m->expires, EXPIRES);
	assert_int_equal(m->nfiles, 2);
	assert_string_equal(m->files[0].path, "main/app.py");
	assert_int_equal(m->files[0].size, 5);
	assert_string_equal(m->files[0].sha256, H_HELLO);
	assert_string_equal(m->files[1].path, "main/lib/util.py");
	assert_int_equal(m->files[1].size, 0);
	assert_string_equal(m->files[1].sha256, H_EMPTY);
}

static void
canonical_bytes(void **state)
{
	struct manifest m;
	struct buf b;
	char id[SIGN_KEYID_HEX + 1];
	char *env;

	(void)state;
	fixture(&m);
	buf_init(&b, MANIFEST_MAX_BYTES);
	assert_int_equal(manifest_canonical(&m, &b), OTA_OK);
	assert_string_equal(b.data, CANONICAL);
	buf_release(&b);
	/* Ed25519 is deterministic: the whole envelope is a literal. */
	sign_key_id(A, id);
	assert_string_equal(id, KEYID_A);
	env = sign_text(&m, &A, 1);
	assert_string_equal(env, ENVELOPE_A);
	free(env);
}

static void
sign_then_verify(void **state)
{
	struct manifest out;
	char err[256] = "";

	(void)state;
	assert_int_equal(manifest_parse_verify(ENVELOPE_A,
	    strlen(ENVELOPE_A), &A, 1, CREATED, &out), OTA_OK);
	assert_fixture(&out);
	assert_non_null(manifest_find(&out, "main/lib/util.py"));
	assert_null(manifest_find(&out, "main/lib"));
	assert_null(manifest_find(&out, "main/app.p"));
	manifest_release(&out);
	manifest_release(&out);	/* a released one is zeroed: harmless */
	/* The "for display" parse sees the same, without a key. */
	assert_int_equal(manifest_parse_unverified(ENVELOPE_A,
	    strlen(ENVELOPE_A), &out, err, sizeof(err)), OTA_OK);
	assert_fixture(&out);
	manifest_release(&out);
	/* Not signed by a trusted key. */
	assert_int_equal(manifest_parse_verify_err(ENVELOPE_A,
	    strlen(ENVELOPE_A), &B, 1, CREATED, &out, err, sizeof(err)),
	    OTA_E_SIGNATURE);
	assert_non_null(strstr(err, "bad signature"));
	assert_null(out.repo);
	assert_int_equal(verify(ENVELOPE_A, NULL, 0, CREATED),
	    OTA_E_SIGNATURE);
}

/*
 * The same content with keys reordered, whitespace everywhere, escapes a
 * canonical writer would not use and an exponent: its signature would
 * verify over the canonical form, but a file that is not canonical text
 * is refused, so no tool can read from a verified file what was not
 * signed.
 */
static void
key_order_independence(void **state)
{
	static const char shuffled[] =
	    "\n{ \"signed\" : {\n"
	    "  \"version\": \"1.2.0\", \"tag\": \"\\u00761.2.0\",\n"
	    "  \"repo\": \"acme\\/sensor\", \"metadata_version\": 7,\n"
	    "  \"files\": [ { \"size\": 5, \"sha256\": \"" H_HELLO "\",\n"
	    "      \"path\": \"main/app.py\" },\n"
	    "    {\"sha256\":\"" H_EMPTY "\",\"size\":0.0,"
	    "\"path\":\"main\\/lib\\/util.py\"} ],\n"
	    "  \"expires\": 1731536000, \"created\": 17E8,\n"
	    "  \"channel\": \"stable\", \"_type\": \"ota-release\" },\n"
	    "  \"signatures\": [ { \"sig\": \"ZzGWW0q1SW2ykNiFEZmbZyT+cVSHgPx"
	    "\\/s1IVrXJJJgwPAYTcrwghzrC2agyuDAWr1UjSvugMugo357oQy0YqDQ==\", "
	    "\"keyid\": \"" KEYID_A "\" } ] }\r\n\t ";
	struct manifest out;

	(void)state;
	assert_int_equal(manifest_parse_verify(shuffled, strlen(shuffled), &A,
	    1, CREATED, &out), OTA_E_INVALID);
	assert_int_equal(manifest_parse_verify(ENVELOPE_A "\n",
	    strlen(ENVELOPE_A) + 1, &A, 1, CREATED, &out), OTA_OK);
	assert_fixture(&out);
	manifest_release(&out);
}

static void
tamper_each_field(void **state)
{
	static const char *const edits[][2] = {
		{ "\"size\":5", "\"size\":6" },
		{ "\"size\":0", "\"size\":1" },
		{ "\"sha256\":\"2cf2", "\"sha256\":\"3cf2" },
		{ H_EMPTY, H_HELLO },
		{ "main/app.py", "main/app.pz" },
		{ "main/lib/util.py", "main/lib/util.pyc" },
		{ "\"expires\":1731536000", "\"expires\":1831536000" },
		{ "\"created\":1700000000", "\"created\":1700000001" },
		{ "\"metadata_version\":7", "\"metadata_version\":8" },
		{ "\"channel\":\"stable\"", "\"channel\":\"beta\"" },
		{ "\"tag\":\"v1.2.0\"", "\"tag\":\"v1.2.0+x\"" },
		{ "\"repo\":\"acme/sensor\"", "\"repo\":\"acme/sensor2\"" },
		/* the signature itself, and its binding to the key id */
		{ "\"sig\":\"ZzG", "\"sig\":\"ZzH" },
		{ "YqDQ==", "YqDg==" },
		{ "\"keyid\":\"21fe", "\"keyid\":\"31fe" },
	};
	size_t i;

	(void)state;
	assert_int_equal(verify(ENVELOPE_A, &A, 1, CREATED), OTA_OK);
	for (i = 0; i < sizeof(edits) / sizeof(edits[0]); i++) {
		char *t = replace(ENVELOPE_A, edits[i][0], edits[i][1]);

		print_message("tamper %s -> %s\n", edits[i][0], edits[i][1]);
		assert_int_equal(verify(t, &A, 1, CREATED), OTA_E_SIGNATURE);
		/* Even when it is also expired: the signature comes first. */
		assert_int_equal(verify(t, &A, 1, EXPIRES + 1),
		    OTA_E_SIGNATURE);
		free(t);
	}
}

struct bad_signed {
	const char *what;
	const char *from, *to;	/* an edit of CANONICAL */
};

/*
 * Signed (correctly, by A) but not a valid manifest: each must fail the
 * schema with OTA_E_INVALID, after the signature has been checked.
 */
static const struct bad_signed bad_signed[] = {
	{ "unknown field", "\"files\":", "\"extra\":1,\"files\":" },
	{ "unknown file field", "\"size\":0}", "\"size\":0,\"x\":\"\"}" },
	{ "missing field", "\"channel\":\"stable\",", "" },
	{ "missing file field", ",\"size\":0}", "}" },
	{ "wrong _type", "ota-release", "ota-releases" },
	{ "string as number", "\"size\":5", "\"size\":\"5\"" },
	{ "number as string", "\"channel\":\"stable\"", "\"channel\":5" },
	{ "files not an array", FILES_JSON, "{}" },
	{ "no files", FILES_JSON, "[]" },
	{ "unsorted files", FILES_JSON, "[{\"path\":\"main/lib/util.py\","
	    "\"sha256\":\"" H_EMPTY "\",\"size\":0},{\"path\":\"main/app.py\","
	    "\"sha256\":\"" H_HELLO "\",\"size\":5}]" },
	{ "duplicate file", "main/lib/util.py", "main/app.py" },
	{ "file and directory", "main/lib/util.py", "main/app.py/x" },
	{ "upper-case sha256", "2cf24dba", "2CF24DBA" },
	{ "short sha256", H_EMPTY, "e3b0" },
	{ "metadata_version 0", "\"metadata_version\":7",
	    "\"metadata_version\":0" },
	{ "expires before created", "\"expires\":1731536000",
	    "\"expires\":1600000000" },
	{ "expires equal created", "\"expires\":1731536000",
	    "\"expires\":1700000000" },
	{ "version with v", "\"version\":\"1.2.0\"", "\"version\":\"v1.2.0\"" },
	{ "version not normalised", "\"version\":\"1.2.0\"",
	    "\"version\":\"1.2\"" },
	{ "version with build", "\"version\":\"1.2.0\"",
	    "\"version\":\"1.2.0+b1\"" },
	{ "version not the tag's", "\"version\":\"1.2.0\"",
	    "\"version\":\"1.2.1\"" },
	{ "tag not a version", "\"tag\":\"v1.2.0\"", "\"tag\":\"latest\"" },
	{ "empty tag", "\"tag\":\"v1.2.0\"", "\"tag\":\"\"" },
	{ "repo without owner", "acme/sensor", "sensor" },
	{ "repo too deep", "acme/sensor", "acme/sensor/x" },
	{ "repo ..", "acme/sensor", "../sensor" },
	{ "channel upper-case", "\"stable\"", "\"Stable\"" },
	{ "empty channel", "\"stable\"", "\"\"" },
	{ "channel with a newline", "\"stable\"", "\"sta\\nble\"" },
	/* hostile paths */
	{ "path ../x", "main/lib/util.py", "../x" },
	{ "path a/../b", "main/lib/util.py", "main/../util.py" },
	{ "path /etc/x", "main/lib/util.py", "/etc/x" },
	{ "path a//b", "main/lib/util.py", "main//util.py" },
	{ "path a/./b", "main/lib/util.py", "main/./util.py" },
	{ "path ./a", "main/lib/util.py", "./util.py" },
	{ "path a\\b", "main/lib/util.py", "main\\\\util.py" },
	{ "empty path", "main/lib/util.py", "" },
	{ "path .", "main/lib/util.py", "." },
	{ "path ..", "main/lib/util.py", ".." },
	{ "path a/", "main/lib/util.py", "main/lib/" },
	{ "path with \\n", "main/lib/util.py", "main/lib/ut\\nil.py" },
	{ "path with \\u001f", "main/lib/util.py", "main/lib/ut\\u001fil" },
	{ "path with DEL", "main/lib/util.py", "main/lib/ut\x7fil" },
};

static void
schema_after_signature(void **state)
{
	char err[256];
	struct manifest out;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad_signed) / sizeof(bad_signed[0]); i++) {
		char *s = replace(CANONICAL, bad_signed[i].from,
		    bad_signed[i].to);
		char *t = envelope_for(s, A);

		err[0] = '\0';
		assert_int_equal(manifest_parse_verify_err(t, strlen(t), &A, 1,
		    CREATED, &out, err, sizeof(err)), OTA_E_INVALID);
		print_message("%s: %s\n", bad_signed[i].what, err);
		assert_true(err[0] != '\0');
		assert_null(out.repo);
		assert_null(out.files);
		assert_int_equal(manifest_parse_unverified(t, strlen(t), &out,
		    NULL, 0), OTA_E_INVALID);
		/* Signed by someone else: the signature fails first. */
		free(t);
		t = envelope_for(s, C);
		assert_int_equal(verify(t, &A, 1, CREATED), OTA_E_SIGNATURE);
		free(t);
		free(s);
	}
}

/*
 * Not canonicalisable (floats, booleans, null, duplicate keys, deep
 * nesting, bad UTF-8): refused before the signature is even looked at.
 */
static void
not_canonical_material(void **state)
{
	static const char *const edits[][2] = {
		{ "\"size\":5", "\"size\":5.5" },
		{ "\"size\":5", "\"size\":-5" },
		{ "\"size\":5", "\"size\":true" },
		{ "\"size\":5", "\"size\":null" },
		{ "\"size\":5", "\"size\":1e400" },
		{ "\"size\":5", "\"size\":9007199254740992" },
		{ "\"channel\":\"stable\"", "\"channel\":\"stable\","
		    "\"channel\":\"beta\"" },
		{ "\"files\":", "\"x\":[[[[[[[[[]]]]]]]]],\"files\":" },
		{ "\"channel\":\"stable\"", "\"channel\":\"st\xc3\"" },
		{ "\"channel\":\"stable\"", "\"channel\":\"\xed\xa0\x80\"" },
		{ "\"channel\":\"stable\"", "\"channel\":\"\xc0\xaf\"" },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(edits) / sizeof(edits[0]); i++) {
		char *s = replace(CANONICAL, edits[i][0], edits[i][1]);
		char *t = envelope_for(s, A);

		print_message("%s\n", edits[i][1]);
		assert_int_equal(verify(t, &A, 1, CREATED), OTA_E_INVALID);
		free(t);
		free(s);
	}
}

/*
 * The escape rule: a signer that escaped differently from us signed other
 * bytes, so its signature cannot verify; one that escaped as we do passes
 * the signature and is then refused by the schema (control characters).
 */
static void
escape_rule(void **state)
{
	static const char *const ours[] = {
		"ut\\nil", "ut\\til", "ut\\bil", "ut\\fil", "ut\\ril",
		"ut\\u0001il", "ut\\u001fil", "ut\\u0000il",
	};
	static const char *const theirs[] = {
		"ut\\u000ail", "ut\\u001Fil", "ut\\/il", "\\u0075til",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(ours) / sizeof(ours[0]); i++) {
		char *s = replace(CANONICAL, "util", ours[i]);
		char *t = envelope_for(s, A);
		enum ota_status st = verify(t, &A, 1, CREATED);

		print_message("%s\n", ours[i]);
		/* Control characters are refused by the schema; cJSON ends
		 * a string at \u0000, so that file is not canonical. */
		assert_int_equal(st, OTA_E_INVALID);
		free(t);
		free(s);
	}
	for (i = 0; i < sizeof(theirs) / sizeof(theirs[0]); i++) {
		char *s = replace(CANONICAL, "util", theirs[i]);
		char *t = envelope_for(s, A);

		print_message("%s\n", theirs[i]);
		/* Another spelling of the same string: not canonical. */
		assert_int_equal(verify(t, &A, 1, CREATED), OTA_E_INVALID);
		free(t);
		free(s);
	}
	/* Non-ASCII UTF-8 is written raw, never as \u escapes. */
	{
		char *s = replace(CANONICAL, "main/lib/util.py",
		    "main/lib/\xc3\xa9t\xc3\xa9.py");
		char *t = envelope_for(s, A);
		struct manifest out;

		assert_int_equal(manifest_parse_verify(t, strlen(t), &A, 1,
		    CREATED, &out), OTA_OK);
		assert_string_equal(out.files[1].path,
		    "main/lib/\xc3\xa9t\xc3\xa9.py");
		manifest_release(&out);
		free(t);
		t = replace(s, "\xc3\xa9t\xc3\xa9", "\\u00e9t\\u00e9");
		free(s);
		s = envelope_for(t, A);
		/* An escaped spelling of the same name is not canonical. */
		assert_int_equal(verify(s, &A, 1, CREATED), OTA_E_INVALID);
		free(t);
		free(s);
	}
}

static void
expiry(void **state)
{
	struct manifest out;
	char err[256];

	(void)state;
	assert_int_equal(verify(ENVELOPE_A, &A, 1, 0), OTA_OK);
	assert_int_equal(verify(ENVELOPE_A, &A, 1, EXPIRES - 1), OTA_OK);
	assert_int_equal(manifest_parse_verify_err(ENVELOPE_A,
	    strlen(ENVELOPE_A), &A, 1, EXPIRES, &out, err, sizeof(err)),
	    OTA_E_EXPIRED);
	assert_string_equal(err, "manifest expired at 2024-11-13T22:13:20Z");
	/* Filled, so the caller can say what expired and when. */
	assert_fixture(&out);
	manifest_release(&out);
	assert_int_equal(verify(ENVELOPE_A, &A, 1, INT64_MAX), OTA_E_EXPIRED);
	/* Expiry is not a signature check: another key still fails first. */
	assert_int_equal(verify(ENVELOPE_A, &B, 1, EXPIRES), OTA_E_SIGNATURE);
}

static void
rotation(void **state)
{
	struct sign_key *const ab[] = { A, B }, *const cb[] = { C, B };
	struct sign_key *const aa[] = { A, A };
	struct sign_key *const with_null[] = { NULL, A };
	struct manifest m;
	struct buf b;
	char *both, *only_a, *swapped, ida[SIGN_KEYID_HEX + 1];
	char idb[SIGN_KEYID_HEX + 1];

	(void)state;
	fixture(&m);
	both = sign_text(&m, ab, 2);
	only_a = sign_text(&m, &A, 1);
	assert_int_equal(verify(both, &A, 1, CREATED), OTA_OK);
	assert_int_equal(verify(both, &B, 1, CREATED), OTA_OK);
	assert_int_equal(verify(both, &C, 1, CREATED), OTA_E_SIGNATURE);
	assert_int_equal(verify(both, cb, 2, CREATED), OTA_OK);
	assert_int_equal(verify(both, with_null, 2, CREATED), OTA_OK);
	assert_int_equal(verify(only_a, &B, 1, CREATED), OTA_E_SIGNATURE);
	assert_int_equal(verify(only_a, ab, 2, CREATED), OTA_OK);
	/* A's signature under B's key id: ids bind signatures to keys. */
	sign_key_id(A, ida);
	sign_key_id(B, idb);
	swapped = replace(only_a, ida, idb);
	assert_int_equal(verify(swapped, &B, 1, CREATED), OTA_E_SIGNATURE);
	assert_int_equal(verify(swapped, &A, 1, CREATED), OTA_E_SIGNATURE);
	free(swapped);
	/* Signing twice with one key is a mistake, not a rotation. */
	buf_init(&b, MANIFEST_MAX_BYTES);
	assert_int_equal(manifest_sign(&m, aa, 2, &b), OTA_E_INVALID);
	assert_int_equal(b.len, 0);
	free(both);
	free(only_a);
}

static void
envelope_rejects(void **state)
{
	static const char *const edits[][2] = {
		{ "{\"signatures\"", "[{\"signatures\"" },
		{ "\"signatures\":[", "\"extra\":1,\"signatures\":[" },
		{ "\"signatures\":[{", "\"signatures\":{\"x\":{" },
		{ "\"keyid\":\"21fe", "\"keyid\":\"21FE" },
		{ "\"keyid\":\"21fe", "\"keyid\":\"1fe" },
		{ "\"sig\":\"ZzG", "\"sig\":\"Zz" },
		{ "\"sig\":\"ZzG", "\"sig\":\"ZzGWW0q1" },
		{ "YqDQ==", "YqDR==" },	/* non-zero padding bits */
		{ "\"sig\":\"ZzG", "\"x\":1,\"sig\":\"ZzG" },
		{ "\"sig\":\"ZzG", "\"sig\":5,\"y\":\"ZzG" },
		{ "\"signed\":{", "\"signed\":[{" },
		{ "],\"signed\"", "],\"signed\":{},\"signed\"" },
	};
	char *big, *t;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(edits) / sizeof(edits[0]); i++) {
		t = replace(ENVELOPE_A, edits[i][0], edits[i][1]);
		print_message("%s\n", edits[i][1]);
		assert_int_equal(verify(t, &A, 1, CREATED), OTA_E_INVALID);
		free(t);
	}
	/* Unauthenticated names are reported without control bytes. */
	{
		char err[256];
		struct manifest out;

		t = replace(ENVELOPE_A, "{\"signatures\"",
		    "{\"\\u001b[2J\\n\":1,\"signatures\"");
		assert_int_equal(manifest_parse_verify_err(t, strlen(t), &A, 1,
		    CREATED, &out, err, sizeof(err)), OTA_E_INVALID);
		assert_string_equal(err, "envelope: unknown field '?[2J?'");
		free(t);
	}
	assert_int_equal(verify("", &A, 1, CREATED), OTA_E_INVALID);
	assert_int_equal(verify("null", &A, 1, CREATED), OTA_E_INVALID);
	assert_int_equal(verify("{}", &A, 1, CREATED), OTA_E_INVALID);
	assert_int_equal(verify(ENVELOPE_A "x", &A, 1, CREATED),
	    OTA_E_INVALID);
	assert_int_equal(verify(ENVELOPE_A "{}", &A, 1, CREATED),
	    OTA_E_INVALID);
	assert_int_equal(verify(ENVELOPE_A "\n", &A, 1, CREATED), OTA_OK);
	assert_int_equal(verify(ENVELOPE_A " \n", &A, 1, CREATED),
	    OTA_E_INVALID);
	assert_int_equal(verify(" " ENVELOPE_A, &A, 1, CREATED), OTA_E_INVALID);
	/* A NUL inside, and bytes after a NUL, are refused. */
	{
		char buf[sizeof(ENVELOPE_A) + 2];
		struct manifest out;

		memcpy(buf, ENVELOPE_A, sizeof(ENVELOPE_A));
		buf[sizeof(ENVELOPE_A)] = 'x';
		assert_int_equal(manifest_parse_verify(buf, sizeof(buf) - 1,
		    &A, 1, CREATED, &out), OTA_E_INVALID);
		assert_int_equal(manifest_parse_verify(buf,
		    sizeof(ENVELOPE_A) - 1, &A, 1, CREATED, &out), OTA_OK);
		manifest_release(&out);
	}
	/* Too many signatures. */
	{
		struct buf b;

		buf_init(&b, MANIFEST_MAX_BYTES);
		assert_int_equal(buf_adds(&b, "{\"signatures\":["), OTA_OK);
		for (i = 0; i <= MANIFEST_MAX_SIGNATURES; i++)
			assert_int_equal(buf_addf(&b, "%s{\"keyid\":\"%s\","
			    "\"sig\":\"%s\"}", i ? "," : "", KEYID_A,
			    "ZzGWW0q1SW2ykNiFEZmbZyT+cVSHgPx/s1IVrXJJJgwPAYTc"
			    "rwghzrC2agyuDAWr1UjSvugMugo357oQy0YqDQ=="),
			    OTA_OK);
		assert_int_equal(buf_addf(&b, "],\"signed\":%s}", CANONICAL),
		    OTA_OK);
		assert_int_equal(verify(b.data, &A, 1, CREATED),
		    OTA_E_INVALID);
		buf_release(&b);
	}
	/* The size cap holds before anything is parsed. */
	big = malloc(MANIFEST_MAX_BYTES + 2);
	memset(big, ' ', MANIFEST_MAX_BYTES + 1);
	memcpy(big, ENVELOPE_A, strlen(ENVELOPE_A));
	big[MANIFEST_MAX_BYTES + 1] = '\0';
	assert_int_equal(verify(big, &A, 1, CREATED), OTA_E_INVALID);
	/* At the cap it is parsed, and refused for the padding alone. */
	big[MANIFEST_MAX_BYTES] = '\0';
	assert_int_equal(verify(big, &A, 1, CREATED), OTA_E_INVALID);
	free(big);
}

static void
sign_rejects(void **state)
{
	struct sign_key *pub = NULL;
	char text[SIGN_PUBLIC_TEXT_MAX], err[256];
	struct manifest m;
	struct buf b;

	(void)state;
	fixture(&m);
	buf_init(&b, MANIFEST_MAX_BYTES);
	assert_int_equal(manifest_sign(&m, &A, 0, &b), OTA_E_INVALID);
	assert_int_equal(sign_key_public_text(A, text, sizeof(text)), OTA_OK);
	assert_int_equal(sign_key_from_text(&pub, text), OTA_OK);
	assert_int_equal(manifest_sign(&m, &pub, 1, &b), OTA_E_INVALID);
	sign_key_free(pub);
	/* The signer refuses what a verifier would: no way to sign it. */
	fixture_files[1].path = "../evil.py";
	assert_int_equal(manifest_sign(&m, &A, 1, &b), OTA_E_INVALID);
	assert_int_equal(manifest_canonical(&m, &b), OTA_E_INVALID);
	assert_int_equal(manifest_validate(&m, err, sizeof(err)),
	    OTA_E_INVALID);
	assert_string_equal(err, "files[1].path is not a normalised relative "
	    "path");
	fixture(&m);
	m.expires = m.created;
	assert_int_equal(manifest_sign(&m, &A, 1, &b), OTA_E_INVALID);
	fixture(&m);
	m.nfiles = 0;
	assert_int_equal(manifest_canonical(&m, &b), OTA_E_INVALID);
	fixture(&m);
	m.channel = NULL;
	assert_int_equal(manifest_validate(&m, NULL, 0), OTA_E_INVALID);
	fixture(&m);
	m.created = -1;
	assert_int_equal(manifest_validate(&m, NULL, 0), OTA_E_INVALID);
	fixture(&m);
	fixture_files[0].sha256[64] = 'x';	/* not terminated */
	assert_int_equal(manifest_validate(&m, NULL, 0), OTA_E_INVALID);
	/* Output past the caller's cap: TOO_LARGE, buffer emptied. */
	fixture(&m);
	buf_init(&b, 100);
	assert_int_equal(manifest_sign(&m, &A, 1, &b), OTA_E_TOO_LARGE);
	assert_int_equal(b.len, 0);
	assert_int_equal(manifest_validate(&m, NULL, 0), OTA_OK);
}

static void
path_rules(void **state)
{
	static const char *const good[] = {
		"a", "a/b", "main/app.py", ".hidden", "a/.b", "...", "a/...",
		"a b", "caf\xc3\xa9", "\xe2\x82\xac/\xf0\x9f\x98\x80",
		"a-b_c.d~e",
	};
	static const char *const bad[] = {
		"", "/", "/a", "a/", "a//b", ".", "..", "./a", "a/.", "a/./b",
		"../a", "a/..", "a/../b", "a\\b", "\\a", "a\x01", "a\nb",
		"a\x7f", "\xff", "\xc0\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80",
		"\xc3",
	};
	char longp[MANIFEST_MAX_PATH + 2], comp[NAME_MAX + 2];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		assert_true(manifest_path_valid(good[i]));
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		print_message("bad path %zu\n", i);
		assert_false(manifest_path_valid(bad[i]));
	}
	/* MANIFEST_MAX_PATH bytes in components of 9 + '/'. */
	for (i = 0; i < MANIFEST_MAX_PATH; i++)
		longp[i] = i % 10 == 9 ? '/' : 'x';
	longp[MANIFEST_MAX_PATH - 1] = 'x';
	longp[MANIFEST_MAX_PATH] = '\0';
	assert_true(manifest_path_valid(longp));
	longp[MANIFEST_MAX_PATH] = 'x';
	longp[MANIFEST_MAX_PATH + 1] = '\0';
	assert_false(manifest_path_valid(longp));
	memset(comp, 'c', NAME_MAX);
	comp[NAME_MAX] = '\0';
	assert_true(manifest_path_valid(comp));
	comp[NAME_MAX] = 'c';
	comp[NAME_MAX + 1] = '\0';
	assert_false(manifest_path_valid(comp));
}

/* ---- the portable core: manifest_verify, raw keys, crypto ops ---- */

/* libcrypto's ops, counted, and made to fail on demand. */
struct fake {
	const struct ota_crypto *real;
	int hashes, verifies;
	enum ota_status begin_st;	/* OTA_OK: pass through */
	enum ota_status verify_st;	/* ditto, for the first verify_fails */
	int verify_fails;
};

static enum ota_status
fake_begin(void *ctx, enum ota_hash_alg alg, void **h)
{
	struct fake *f = ctx;

	f->hashes++;
	if (f->begin_st != OTA_OK) {
		*h = NULL;
		return f->begin_st;
	}
	return f->real->hash_begin(f->real->ctx, alg, h);
}

static enum ota_status
fake_update(void *ctx, void *h, const void *p, size_t n)
{
	struct fake *f = ctx;

	return f->real->hash_update(f->real->ctx, h, p, n);
}

static enum ota_status
fake_end(void *ctx, void *h, unsigned char *out)
{
	struct fake *f = ctx;

	return f->real->hash_end(f->real->ctx, h, out);
}

static void
fake_abort(void *ctx, void *h)
{
	struct fake *f = ctx;

	f->real->hash_abort(f->real->ctx, h);
}

static enum ota_status
fake_verify(void *ctx, const unsigned char pub[OTA_ED25519_PUBLIC_LEN],
    const void *msg, size_t n, const unsigned char sig[OTA_ED25519_SIG_LEN])
{
	struct fake *f = ctx;

	if (f->verifies++ < f->verify_fails)
		return f->verify_st;
	return f->real->ed25519_verify(f->real->ctx, pub, msg, n, sig);
}

static void
fake_init(struct fake *f, struct ota_crypto *c)
{
	memset(f, 0, sizeof(*f));
	f->real = ota_crypto_libcrypto();
	c->ctx = f;
	c->hash_begin = fake_begin;
	c->hash_update = fake_update;
	c->hash_end = fake_end;
	c->hash_abort = fake_abort;
	c->ed25519_verify = fake_verify;
}

static void
core_verify(void **state)
{
	unsigned char raw[3][OTA_ED25519_PUBLIC_LEN];
	char idb[SIGN_KEYID_HEX + 1], err[256];
	struct ota_crypto c;
	struct manifest out;
	struct fake f;
	char *t;

	(void)state;
	sign_key_public_raw(A, raw[0]);
	sign_key_public_raw(B, raw[1]);
	sign_key_public_raw(C, raw[2]);
	fake_init(&f, &c);
	assert_int_equal(manifest_verify(ENVELOPE_A, strlen(ENVELOPE_A), &c,
	    raw, 1, CREATED, &out, err, sizeof(err)), OTA_OK);
	assert_fixture(&out);
	manifest_release(&out);
	/* One key id computed, one signature checked. */
	assert_int_equal(f.hashes, 1);
	assert_int_equal(f.verifies, 1);
	/* Untrusted: no key id matches, so no signature is even checked. */
	fake_init(&f, &c);
	assert_int_equal(manifest_verify(ENVELOPE_A, strlen(ENVELOPE_A), &c,
	    raw + 1, 2, CREATED, &out, err, sizeof(err)), OTA_E_SIGNATURE);
	assert_string_equal(err, "bad signature: none by a trusted key "
	    "verifies");
	assert_null(out.repo);
	assert_int_equal(f.hashes, 2);
	assert_int_equal(f.verifies, 0);
	assert_int_equal(manifest_verify(ENVELOPE_A, strlen(ENVELOPE_A), &c,
	    NULL, 0, CREATED, &out, NULL, 0), OTA_E_SIGNATURE);
	/* A's signature filed under B's key id: checked with B's key. */
	sign_key_id(B, idb);
	t = replace(ENVELOPE_A, KEYID_A, idb);
	fake_init(&f, &c);
	assert_int_equal(manifest_verify(t, strlen(t), &c, raw, 3, CREATED,
	    &out, NULL, 0), OTA_E_SIGNATURE);
	assert_int_equal(f.verifies, 1);
	free(t);
	/* Not canonical: refused before any crypto runs. */
	t = replace(ENVELOPE_A, "\"signed\":{", "\"signed\": {");
	fake_init(&f, &c);
	assert_int_equal(manifest_verify(t, strlen(t), &c, raw, 3, CREATED,
	    &out, err, sizeof(err)), OTA_E_INVALID);
	assert_non_null(strstr(err, "not in canonical form"));
	assert_int_equal(f.hashes + f.verifies, 0);
	free(t);
	/* A check that cannot run says so, and is not "bad signature". */
	fake_init(&f, &c);
	f.begin_st = OTA_E_NOMEM;
	assert_int_equal(manifest_verify(ENVELOPE_A, strlen(ENVELOPE_A), &c,
	    raw, 1, CREATED, &out, err, sizeof(err)), OTA_E_NOMEM);
	assert_null(out.repo);
	assert_non_null(strstr(err, "cannot check the signatures"));
	fake_init(&f, &c);
	f.verify_st = OTA_E_IO;
	f.verify_fails = 1;
	assert_int_equal(manifest_verify(ENVELOPE_A, strlen(ENVELOPE_A), &c,
	    raw, 1, CREATED, &out, err, sizeof(err)), OTA_E_IO);
	assert_null(out.repo);
	/* ... unless another signature verifies. */
	{
		struct sign_key *const ab[] = { A, B };
		struct manifest m;

		fixture(&m);
		t = sign_text(&m, ab, 2);
		fake_init(&f, &c);
		f.verify_st = OTA_E_IO;
		f.verify_fails = 1;
		assert_int_equal(manifest_verify(t, strlen(t), &c, raw, 2,
		    CREATED, &out, NULL, 0), OTA_OK);
		assert_int_equal(f.verifies, 2);
		manifest_release(&out);
		free(t);
	}
	/* Expired: the manifest is handed out all the same. */
	assert_int_equal(manifest_verify(ENVELOPE_A, strlen(ENVELOPE_A),
	    ota_crypto_libcrypto(), raw, 1, EXPIRES, &out, err, sizeof(err)),
	    OTA_E_EXPIRED);
	assert_fixture(&out);
	manifest_release(&out);
	assert_int_equal(manifest_verify(ENVELOPE_A, strlen(ENVELOPE_A), NULL,
	    raw, 1, CREATED, &out, NULL, 0), OTA_E_INVALID);
	assert_null(out.repo);
}

/*
 * Signed by A and by C (whom the verifier does not trust): material that
 * is not canonical is refused before the signature is looked at, so both
 * are OTA_E_INVALID; canonical material signed by C is a bad signature.
 */
static void
assert_canonical(const char *signed_text, bool canonical)
{
	char *t = envelope_for(signed_text, C);

	assert_int_equal(verify(t, &A, 1, CREATED), canonical ?
	    OTA_E_SIGNATURE : OTA_E_INVALID);
	free(t);
	if (!canonical) {
		t = envelope_for(signed_text, A);
		assert_int_equal(verify(t, &A, 1, CREATED), OTA_E_INVALID);
		free(t);
	}
}

static void
nested_duplicates(void **state)
{
	static const char *const edits[][2] = {
		/* in a file */
		{ "\"size\":0}", "\"size\":0,\"size\":0}" },
		{ "\"size\":0}", "\"size\":0,\"size\":1}" },
		/* spelled apart, equal once unescaped */
		{ "\"size\":0}", "\"size\":0,\"\\u0073ize\":0}" },
		/* in an object the schema does not know */
		{ "\"files\":", "\"f\":{\"a\":1,\"a\":1},\"files\":" },
		{ "\"files\":",
		    "\"f\":[{\"a\":{\"b\":1,\"b\":1}}],\"files\":" },
	};
	char err[256], *t;
	struct manifest out;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(edits) / sizeof(edits[0]); i++) {
		char *s = replace(CANONICAL, edits[i][0], edits[i][1]);

		print_message("%s\n", edits[i][1]);
		assert_canonical(s, false);
		free(s);
	}
	/* The same object without its duplicate is fine material. */
	t = replace(CANONICAL, "\"files\":", "\"f\":[{\"a\":{\"b\":1}}],"
	    "\"files\":");
	assert_canonical(t, true);
	free(t);
	/* In a signature entry: the envelope's own shape. */
	t = replace(ENVELOPE_A, "\"sig\":", "\"keyid\":\"" KEYID_A "\","
	    "\"sig\":");
	assert_int_equal(manifest_parse_verify_err(t, strlen(t), &A, 1,
	    CREATED, &out, err, sizeof(err)), OTA_E_INVALID);
	assert_string_equal(err, "signature: field 'keyid' appears twice");
	free(t);
}

/* Keys sort by their bytes once unescaped, not by their escapes. */
static void
key_order_by_value(void **state)
{
	char err[256], *s, *t;
	struct manifest out;

	(void)state;
	/* '\\' (0x5c) is above 'A' (0x41), but "\n" (0x0a) is below. */
	s = replace(CANONICAL, "{\"_type\"", "{\"A\":1,\"\\n\":1,\"_type\"");
	assert_canonical(s, false);
	free(s);
	s = replace(CANONICAL, "{\"_type\"", "{\"\\n\":1,\"A\":1,\"_type\"");
	assert_canonical(s, true);
	t = envelope_for(s, A);
	assert_int_equal(manifest_parse_verify_err(t, strlen(t), &A, 1,
	    CREATED, &out, err, sizeof(err)), OTA_E_INVALID);
	assert_string_equal(err, "signed: unknown field '?'");
	free(t);
	free(s);
	/* Non-ASCII keys: raw UTF-8, after every ASCII key. */
	s = replace(CANONICAL, ",\"version\":\"1.2.0\"}",
	    ",\"version\":\"1.2.0\",\"\xc3\xa9\":1}");
	assert_canonical(s, true);
	free(s);
	s = replace(CANONICAL, "{\"_type\"", "{\"\xc3\xa9\":1,\"_type\"");
	assert_canonical(s, false);
	free(s);
}

/*
 * Every string is re-canonicalised: one spelling per value. The canonical
 * ones get as far as the signature (and verify, when the value is a valid
 * path); every other spelling of the same value is refused first.
 */
static void
escapes_recanonicalised(void **state)
{
	static const char *const other[] = {
		"ut\\u0022il",		/* '"' is \" */
		"ut\\u005cil",		/* '\\' is \\\\ */
		"ut\\u0008il",		/* \b */
		"ut\\u0009il",		/* \t */
		"ut\\u000Ail",		/* upper-case hex, and \n */
		"ut\\u001Bil",		/* upper-case hex */
		"ut\\u007fil",		/* DEL is written raw */
		"ut\\u0020il",		/* so is a space */
		"ut\\u00e9il",		/* and all of UTF-8 */
		"ut\\ud83d\\ude00il",	/* a surrogate pair too */
		"ut\\/il",
	};
	static const char *const ours[] = {
		"ut\\\"il", "ut\\\\il", "ut\\bil", "ut\\u001bil", "ut\x7fil",
		"ut il", "ut\xc3\xa9il", "ut\xf0\x9f\x98\x80il",
	};
	struct manifest out;
	size_t i;
	char *s, *t;

	(void)state;
	for (i = 0; i < sizeof(other) / sizeof(other[0]); i++) {
		s = replace(CANONICAL, "util", other[i]);
		print_message("%s\n", other[i]);
		assert_canonical(s, false);
		free(s);
	}
	for (i = 0; i < sizeof(ours) / sizeof(ours[0]); i++) {
		s = replace(CANONICAL, "util", ours[i]);
		print_message("%s\n", ours[i]);
		assert_canonical(s, true);
		free(s);
	}
	/* A quote in a path is allowed, and comes back as it was signed. */
	s = replace(CANONICAL, "util", "ut\\\"il");
	t = envelope_for(s, A);
	assert_int_equal(manifest_parse_verify(t, strlen(t), &A, 1, CREATED,
	    &out), OTA_OK);
	assert_string_equal(out.files[1].path, "main/lib/ut\"il.py");
	manifest_release(&out);
	free(t);
	free(s);
	/* An escaped NUL is canonical, and refused by the schema. */
	{
		char err[256];

		s = replace(CANONICAL, "util", "ut\\u0000il");
		t = envelope_for(s, A);
		assert_int_equal(manifest_parse_verify_err(t, strlen(t), &A, 1,
		    CREATED, &out, err, sizeof(err)), OTA_E_INVALID);
		assert_string_equal(err, "files[1]: 'path' holds a NUL "
		    "character");
		free(t);
		free(s);
	}
}

/*
 * The largest envelope there can be (MANIFEST_MAX_SIGNATURES signatures,
 * MANIFEST_MAX_FILES files) needs exactly MANIFEST_MAX_TOKENS tokens and
 * verifies; a text that needs more is refused unread.
 */
static void
largest_envelope(void **state)
{
	static char paths[MANIFEST_MAX_FILES][8];
	struct sign_key *keys[MANIFEST_MAX_SIGNATURES];
	unsigned char seed[SIGN_SEED_LEN];
	struct manifest m, out;
	struct json j;
	struct buf b;
	char err[256];
	size_t i;

	(void)state;
	fixture(&m);
	m.files = calloc(MANIFEST_MAX_FILES, sizeof(*m.files));
	assert_non_null(m.files);
	for (i = 0; i < MANIFEST_MAX_FILES; i++) {
		(void)snprintf(paths[i], sizeof(paths[i]), "f/%05zu", i);
		m.files[i].path = paths[i];
		memcpy(m.files[i].sha256, H_EMPTY, sizeof(H_EMPTY));
	}
	m.nfiles = MANIFEST_MAX_FILES;
	for (i = 0; i < MANIFEST_MAX_SIGNATURES; i++) {
		memcpy(seed, seeds[0], sizeof(seed));
		seed[0] = (unsigned char)i;
		assert_int_equal(sign_key_from_seed(&keys[i], seed), OTA_OK);
	}
	buf_init(&b, MANIFEST_MAX_BYTES);
	assert_int_equal(manifest_sign(&m, keys, MANIFEST_MAX_SIGNATURES, &b),
	    OTA_OK);
	assert_int_equal(json_parse(&j, b.data, b.len, NULL, 0, 0, NULL),
	    OTA_OK);
	assert_int_equal(j.ntok, MANIFEST_MAX_TOKENS);
	assert_int_equal(manifest_parse_verify(b.data, b.len,
	    &keys[MANIFEST_MAX_SIGNATURES - 1], 1, CREATED, &out), OTA_OK);
	assert_int_equal(out.nfiles, MANIFEST_MAX_FILES);
	assert_string_equal(out.files[MANIFEST_MAX_FILES - 1].path, "f/09999");
	manifest_release(&out);
	buf_release(&b);
	for (i = 0; i < MANIFEST_MAX_SIGNATURES; i++)
		sign_key_free(keys[i]);
	free(m.files);
	/* One value more than that: refused before it is tokenised. */
	buf_init(&b, MANIFEST_MAX_BYTES);
	assert_int_equal(buf_adds(&b, "{\"signatures\":[],\"signed\":{\"x\":["),
	    OTA_OK);
	for (i = 0; i < MANIFEST_MAX_TOKENS - 6; i++)
		assert_int_equal(buf_adds(&b, i ? ",0" : "0"), OTA_OK);
	assert_int_equal(buf_adds(&b, "]}}"), OTA_OK);
	assert_int_equal(json_parse(&j, b.data, b.len, NULL, 0, 0, NULL),
	    OTA_OK);
	assert_int_equal(j.ntok, MANIFEST_MAX_TOKENS + 1);
	assert_int_equal(manifest_parse_unverified(b.data, b.len, &out, err,
	    sizeof(err)), OTA_E_INVALID);
	print_message("%s\n", err);
	assert_non_null(strstr(err, "JSON values"));
	buf_release(&b);
}

static void
time_strings(void **state)
{
	static const struct {
		int64_t t;
		const char *s;
	} times[] = {
		{ 0, "1970-01-01T00:00:00Z" },
		{ -1, "1969-12-31T23:59:59Z" },
		{ 951782400, "2000-02-29T00:00:00Z" },	/* 400: a leap year */
		{ 951868800, "2000-03-01T00:00:00Z" },
		{ 1709210096, "2024-02-29T12:34:56Z" },
		{ -2203891201, "1900-02-28T23:59:59Z" },	/* 100: not */
		{ -2203891200, "1900-03-01T00:00:00Z" },
		{ 4107542399, "2100-02-28T23:59:59Z" },
		{ 4107542400, "2100-03-01T00:00:00Z" },
		{ -11670998400, "1600-02-29T00:00:00Z" },
		{ 2147483648, "2038-01-19T03:14:08Z" },	/* past int32 */
		{ 253402300799, "9999-12-31T23:59:59Z" },
		{ 253402300800, "10000-01-01T00:00:00Z" },
		{ -62135596800, "0001-01-01T00:00:00Z" },
		{ -62167219200, "0000-01-01T00:00:00Z" },
		{ -62167219201, "-0001-12-31T23:59:59Z" },
		{ MANIFEST_MAX_INT, "285428751-11-12T07:36:31Z" },
		{ INT64_MAX, "292277026596-12-04T15:30:07Z" },
		{ INT64_MIN, "-292277022657-01-27T08:29:52Z" },
	};
	char when[MANIFEST_TIME_MAX];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(times) / sizeof(times[0]); i++) {
		manifest_time_str(times[i].t, when);
		assert_string_equal(when, times[i].s);
	}
}

/* ---- a release on disk ---- */

static void
put(const char *rel, const char *content)
{
	char path[PATH_MAX * 2];

	tl_path(path, sizeof(path), rel);
	assert_int_equal(tl_write_file(path, content, strlen(content)), 0);
}

static void
mk(const char *rel)
{
	char path[PATH_MAX * 2];

	tl_path(path, sizeof(path), rel);
	assert_int_equal(mkdir(path, 0755), 0);
}

/* The fixture's release under tl_dir/rel: main/app.py, main/lib/util.py. */
static void
release_tree(char *dir, size_t dirsz)
{
	mk("rel");
	mk("rel/main");
	mk("rel/main/lib");
	put("rel/main/app.py", "hello");
	put("rel/main/lib/util.py", "");
	tl_path(dir, dirsz, "rel");
}

static enum ota_status
check(const char *dir, bool extra, char *err, size_t errsz)
{
	struct manifest m;

	fixture(&m);
	err[0] = '\0';
	return manifest_check_dir(&m, dir, extra, err, errsz);
}

static void
check_dir_good_and_bad(void **state)
{
	char dir[PATH_MAX * 2], p[PATH_MAX * 2], q[PATH_MAX * 2], err[256];

	(void)state;
	release_tree(dir, sizeof(dir));
	assert_int_equal(check(dir, false, err, sizeof(err)), OTA_OK);
	/* Same size, other bytes. */
	put("rel/main/app.py", "hellp");
	assert_int_equal(check(dir, false, err, sizeof(err)), OTA_E_INVALID);
	assert_string_equal(err, "main/app.py: sha256 mismatch");
	put("rel/main/app.py", "hello!");
	assert_int_equal(check(dir, false, err, sizeof(err)), OTA_E_INVALID);
	assert_string_equal(err, "main/app.py: size mismatch (6 bytes, "
	    "manifest says 5)");
	put("rel/main/app.py", "hello");
	/* Missing, as a file and as a directory on the way. */
	tl_path(p, sizeof(p), "rel/main/lib/util.py");
	assert_int_equal(unlink(p), 0);
	assert_int_equal(check(dir, false, err, sizeof(err)), OTA_E_NOTFOUND);
	assert_string_equal(err, "main/lib/util.py: missing");
	tl_path(p, sizeof(p), "rel/main/lib");
	assert_int_equal(rmdir(p), 0);
	assert_int_equal(check(dir, false, err, sizeof(err)), OTA_E_NOTFOUND);
	assert_string_equal(err, "main/lib/util.py: missing");
	/* A directory where a file should be. */
	mk("rel/main/lib");
	mk("rel/main/lib/util.py");
	assert_int_equal(check(dir, false, err, sizeof(err)), OTA_E_INVALID);
	assert_string_equal(err, "main/lib/util.py: not a regular file");
	tl_path(q, sizeof(q), "rel/main/lib/util.py");
	assert_int_equal(rmdir(q), 0);
	/* A FIFO: refused without hanging on open. */
	assert_int_equal(mkfifo(q, 0644), 0);
	assert_int_equal(check(dir, false, err, sizeof(err)), OTA_E_INVALID);
	assert_string_equal(err, "main/lib/util.py: not a regular file");
	assert_int_equal(unlink(q), 0);
	put("rel/main/lib/util.py", "");
	assert_int_equal(check(dir, false, err, sizeof(err)), OTA_OK);
	/* A missing directory. */
	tl_path(p, sizeof(p), "nowhere");
	assert_int_equal(check(p, false, err, sizeof(err)), OTA_E_NOTFOUND);
}

static void
check_dir_extra(void **state)
{
	char dir[PATH_MAX * 2], err[256];

	(void)state;
	release_tree(dir, sizeof(dir));
	put("rel/main/y.py", "x");
	assert_int_equal(check(dir, false, err, sizeof(err)), OTA_E_INVALID);
	assert_string_equal(err, "extra file 'main/y.py'");
	assert_int_equal(check(dir, true, err, sizeof(err)), OTA_OK);
	put("rel/main/y.py", "");
	/* Empty directories are not files; hidden files are. */
	mk("rel/empty");
	mk("rel/empty/deeper");
	{
		char p[PATH_MAX * 2];

		tl_path(p, sizeof(p), "rel/main/y.py");
		assert_int_equal(unlink(p), 0);
	}
	assert_int_equal(check(dir, false, err, sizeof(err)), OTA_OK);
	put("rel/empty/deeper/.hidden", "");
	assert_int_equal(check(dir, false, err, sizeof(err)), OTA_E_INVALID);
	assert_string_equal(err, "extra file 'empty/deeper/.hidden'");
	assert_int_equal(check(dir, true, err, sizeof(err)), OTA_OK);
	{
		char p[PATH_MAX * 2];

		tl_path(p, sizeof(p), "rel/empty/deeper/.hidden");
		assert_int_equal(unlink(p), 0);
	}
	/* A name with terminal escapes is reported, defused. */
	put("rel/empty/\x1b[2J\n", "");
	assert_int_equal(check(dir, false, err, sizeof(err)), OTA_E_INVALID);
	assert_string_equal(err, "extra file 'empty/?[2J?'");
}

static void
check_dir_symlinks(void **state)
{
	char dir[PATH_MAX * 2], p[PATH_MAX * 2], out[PATH_MAX * 2];
	char err[256];

	(void)state;
	release_tree(dir, sizeof(dir));
	/*
	 * Outside the release, files with exactly the right content: a link
	 * to them must still fail, or the check would vouch for bytes that
	 * are not in the release.
	 */
	mk("outside");
	put("outside/app.py", "hello");
	put("outside/util.py", "");
	tl_path(p, sizeof(p), "rel/main/app.py");
	tl_path(out, sizeof(out), "outside/app.py");
	assert_int_equal(unlink(p), 0);
	assert_int_equal(symlink(out, p), 0);
	assert_int_equal(check(dir, true, err, sizeof(err)), OTA_E_INVALID);
	assert_string_equal(err, "main/app.py: symbolic link");
	/* A relative link that stays inside is refused too. */
	assert_int_equal(unlink(p), 0);
	put("rel/main/real.py", "hello");
	assert_int_equal(symlink("real.py", p), 0);
	assert_int_equal(check(dir, true, err, sizeof(err)), OTA_E_INVALID);
	assert_string_equal(err, "main/app.py: symbolic link");
	assert_int_equal(unlink(p), 0);
	put("rel/main/app.py", "hello");
	tl_path(p, sizeof(p), "rel/main/real.py");
	assert_int_equal(unlink(p), 0);
	/* A directory on the way that is a link out. */
	tl_path(p, sizeof(p), "rel/main/lib/util.py");
	assert_int_equal(unlink(p), 0);
	tl_path(p, sizeof(p), "rel/main/lib");
	assert_int_equal(rmdir(p), 0);
	tl_path(out, sizeof(out), "outside");
	assert_int_equal(symlink(out, p), 0);
	assert_int_equal(check(dir, true, err, sizeof(err)), OTA_E_INVALID);
	assert_string_equal(err, "main/lib: symbolic link");
	/* An unlisted link is an extra file, not followed. */
	assert_int_equal(unlink(p), 0);
	mk("rel/main/lib");
	put("rel/main/lib/util.py", "");
	tl_path(p, sizeof(p), "rel/main/link");
	assert_int_equal(symlink(out, p), 0);
	assert_int_equal(check(dir, false, err, sizeof(err)), OTA_E_INVALID);
	assert_string_equal(err, "extra file 'main/link'");
	assert_int_equal(check(dir, true, err, sizeof(err)), OTA_OK);
	/* The directory given may itself be a link: the user named it. */
	assert_int_equal(unlink(p), 0);
	tl_path(p, sizeof(p), "rel-link");
	assert_int_equal(symlink(dir, p), 0);
	assert_int_equal(check(p, false, err, sizeof(err)), OTA_OK);
}

static void
check_file_image(void **state)
{
	struct manifest_file one = { "fw/sensor.bin", 5, H_HELLO };
	struct manifest_file two[2] = {
		{ "a/x.bin", 5, H_HELLO }, { "b/x.bin", 0, H_EMPTY },
	};
	char p[PATH_MAX * 2], err[256];
	struct manifest m;

	(void)state;
	fixture(&m);
	put("app.py", "hello");
	put("util.py", "");
	put("other.bin", "hello");
	/* Several files: matched by basename. */
	tl_path(p, sizeof(p), "app.py");
	assert_int_equal(manifest_check_file(&m, p, err, sizeof(err)), OTA_OK);
	tl_path(p, sizeof(p), "util.py");
	assert_int_equal(manifest_check_file(&m, p, err, sizeof(err)), OTA_OK);
	tl_path(p, sizeof(p), "other.bin");
	assert_int_equal(manifest_check_file(&m, p, err, sizeof(err)),
	    OTA_E_NOTFOUND);
	assert_string_equal(err, "no file 'other.bin' in the manifest");
	put("util.py", "x");
	tl_path(p, sizeof(p), "util.py");
	assert_int_equal(manifest_check_file(&m, p, err, sizeof(err)),
	    OTA_E_INVALID);
	assert_string_equal(err, "main/lib/util.py: size mismatch (1 bytes, "
	    "manifest says 0)");
	/* One file: whatever the image is called. */
	m.files = &one;
	m.nfiles = 1;
	tl_path(p, sizeof(p), "other.bin");
	assert_int_equal(manifest_check_file(&m, p, err, sizeof(err)), OTA_OK);
	put("other.bin", "hellp");
	assert_int_equal(manifest_check_file(&m, p, err, sizeof(err)),
	    OTA_E_INVALID);
	assert_string_equal(err, "fw/sensor.bin: sha256 mismatch");
	tl_path(p, sizeof(p), "missing.bin");
	assert_int_equal(manifest_check_file(&m, p, err, sizeof(err)),
	    OTA_E_NOTFOUND);
	assert_int_equal(manifest_check_file(&m, tl_dir, err, sizeof(err)),
	    OTA_E_INVALID);
	/* Ambiguous basenames. */
	m.files = two;
	m.nfiles = 2;
	put("x.bin", "hello");
	tl_path(p, sizeof(p), "x.bin");
	assert_int_equal(manifest_check_file(&m, p, err, sizeof(err)),
	    OTA_E_INVALID);
	assert_string_equal(err, "several files in the manifest are called "
	    "'x.bin'");
}

static void
load_and_time(void **state)
{
	char p[PATH_MAX * 2], when[MANIFEST_TIME_MAX];
	struct buf b;
	char *big;

	(void)state;
	put("m.json", ENVELOPE_A);
	tl_path(p, sizeof(p), "m.json");
	buf_init(&b, MANIFEST_MAX_BYTES);
	assert_int_equal(manifest_load(p, &b), OTA_OK);
	assert_string_equal(b.data, ENVELOPE_A);
	buf_release(&b);
	big = calloc(1, MANIFEST_MAX_BYTES + 2);
	memset(big, ' ', MANIFEST_MAX_BYTES + 1);
	assert_int_equal(tl_write_file(p, big, MANIFEST_MAX_BYTES + 1), 0);
	assert_int_equal(manifest_load(p, &b), OTA_E_TOO_LARGE);
	buf_release(&b);
	assert_int_equal(tl_write_file(p, big, MANIFEST_MAX_BYTES), 0);
	assert_int_equal(manifest_load(p, &b), OTA_OK);
	assert_int_equal(b.len, MANIFEST_MAX_BYTES);
	buf_release(&b);
	free(big);
	assert_int_equal(manifest_load(tl_dir, &b), OTA_E_FORBIDDEN);
	tl_path(p, sizeof(p), "nope.json");
	assert_int_equal(manifest_load(p, &b), OTA_E_NOTFOUND);
	manifest_time_str(0, when);
	assert_string_equal(when, "1970-01-01T00:00:00Z");
	manifest_time_str(EXPIRES, when);
	assert_string_equal(when, "2024-11-13T22:13:20Z");
	manifest_time_str(MANIFEST_MAX_INT, when);
	assert_true(strlen(when) > 0 && strlen(when) < MANIFEST_TIME_MAX);
}

#define T(f) cmocka_unit_test_setup_teardown(f, tl_dir_setup, tl_dir_teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(canonical_bytes),
		cmocka_unit_test(sign_then_verify),
		cmocka_unit_test(key_order_independence),
		cmocka_unit_test(tamper_each_field),
		cmocka_unit_test(schema_after_signature),
		cmocka_unit_test(not_canonical_material),
		cmocka_unit_test(escape_rule),
		cmocka_unit_test(expiry),
		cmocka_unit_test(rotation),
		cmocka_unit_test(envelope_rejects),
		cmocka_unit_test(sign_rejects),
		cmocka_unit_test(path_rules),
		cmocka_unit_test(core_verify),
		cmocka_unit_test(nested_duplicates),
		cmocka_unit_test(key_order_by_value),
		cmocka_unit_test(escapes_recanonicalised),
		cmocka_unit_test(largest_envelope),
		cmocka_unit_test(time_strings),
		T(check_dir_good_and_bad),
		T(check_dir_extra),
		T(check_dir_symlinks),
		T(check_file_image),
		T(load_and_time),
	};

	return cmocka_run_group_tests(tests, keys_setup, keys_teardown);
}
