/*
 * ota keygen, ota sign and ota verify as a user runs them: exit codes
 * (0 ok, 1 not verified, 2 usage), the one line on stderr that says what
 * failed, a good release, a tampered file, a tampered manifest, an expired
 * one, the wrong key, re-signing to extend the expiry, and a key rotation
 * from start to end. Manifests are made with the library (there is no
 * "create a manifest" command: ota publish makes them in the store).
 */
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/buf.h"
#include "common/manifest.h"
#include "common/sign.h"
#include "testlib.h"

#define CREATED 1700000000
#define EXPIRES 1731536000		/* 2024-11-13T22:13:20Z */
#define INSIDE "1710000000"		/* a --now inside the window */
#define H_HELLO "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e7304" \
	"3362938b9824"
#define H_EMPTY "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495" \
	"991b7852b855"

#define RUN(r, ...) tl_ota_capture((r), (const char *[]){ __VA_ARGS__, NULL })

/* Asserts exit status and that stderr is exactly one line, `line`. */
static void
assert_fails(const struct tl_run *r, int status, const char *line)
{
	char want[1024];

	print_message("stderr: %s", r->err);
	assert_int_equal(r->status, status);
	snprintf(want, sizeof(want), "%s\n", line);
	assert_string_equal(r->err, want);
}

/* tl_dir/name, in a static buffer per slot (four at a time). */
static const char *
P(const char *name)
{
	static char paths[4][PATH_MAX];
	static int slot;
	char *p = paths[slot++ % 4];

	tl_path(p, PATH_MAX, name);
	return p;
}

static void
put(const char *rel, const char *content)
{
	assert_int_equal(tl_write_file(P(rel), content, strlen(content)), 0);
}

/* The release tree rel/ and its manifest m.json, signed by k.key. */
static void
make_release(void)
{
	struct manifest_file files[2] = {
		{ "main/app.py", 5, H_HELLO },
		{ "main/lib/util.py", 0, H_EMPTY },
	};
	struct manifest m = {
		.repo = "acme/sensor", .tag = "v1.2.0", .version = "1.2.0",
		.channel = "stable", .metadata_version = 7,
		.created = CREATED, .expires = EXPIRES,
		.files = files, .nfiles = 2,
	};
	struct sign_key *k;
	struct tl_run r;
	struct buf b;

	RUN(&r, "keygen", P("k"));
	assert_int_equal(r.status, 0);
	assert_int_equal(sign_key_load_private(&k, P("k.key"), NULL, 0),
	    OTA_OK);
	buf_init(&b, MANIFEST_MAX_BYTES);
	assert_int_equal(manifest_sign(&m, &k, 1, &b), OTA_OK);
	assert_int_equal(tl_write_file(P("m.json"), b.data, b.len), 0);
	buf_release(&b);
	sign_key_free(k);
	assert_int_equal(mkdir(P("rel"), 0755), 0);
	assert_int_equal(mkdir(P("rel/main"), 0755), 0);
	assert_int_equal(mkdir(P("rel/main/lib"), 0755), 0);
	put("rel/main/app.py", "hello");
	put("rel/main/lib/util.py", "");
}

static void
keygen_output(void **state)
{
	struct tl_run r;
	struct stat sb;
	char pub[256];

	(void)state;
	RUN(&r, "keygen", P("k"));
	assert_int_equal(r.status, 0);
	assert_true(strncmp(r.out, "ed25519 ", 8) == 0);
	assert_non_null(strstr(r.out, "\nkeyid "));
	tl_read_text(P("k.pub"), pub, sizeof(pub));
	assert_true(strncmp(r.out, pub, strlen(pub)) == 0);
	assert_int_equal(stat(P("k.key"), &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	/* Never over an existing key without --force. */
	RUN(&r, "keygen", P("k"));
	assert_int_equal(r.status, 1);
	assert_non_null(strstr(r.err, "already exists (use --force"));
	RUN(&r, "keygen", "--force", P("k"));
	assert_int_equal(r.status, 0);
	RUN(&r, "keygen");
	assert_int_equal(r.status, 2);
	RUN(&r, "keygen", "a", "b");
	assert_int_equal(r.status, 2);
	RUN(&r, "help", "keygen");
	assert_int_equal(r.status, 0);
	assert_non_null(strstr(r.out, "--force"));
}

static void
verify_good_and_bad(void **state)
{
	struct tl_run r;
	char *text;
	FILE *f;

	(void)state;
	make_release();
	RUN(&r, "verify", "--key", P("k.pub"), "--now", INSIDE, P("m.json"),
	    P("rel"));
	assert_int_equal(r.status, 0);
	assert_string_equal(r.out, "ok: acme/sensor v1.2.0 metadata_version 7, "
	    "2 files verified\n");
	assert_string_equal(r.err, "");
	/* The manifest alone. */
	RUN(&r, "verify", "--key", P("k.pub"), "--now", INSIDE, P("m.json"));
	assert_int_equal(r.status, 0);
	assert_non_null(strstr(r.out, "ok: acme/sensor v1.2.0 "
	    "metadata_version 7, signed, expires 2024-11-13T22:13:20Z"));
	/* One image, matched by name. */
	RUN(&r, "verify", "--key", P("k.pub"), "--now", INSIDE, P("m.json"),
	    P("rel/main/app.py"));
	assert_int_equal(r.status, 0);
	assert_non_null(strstr(r.out, "1 file verified"));
	/* The private key file works as the trusted key too. */
	RUN(&r, "verify", "--key", P("k.key"), "--now", INSIDE, P("m.json"),
	    P("rel"));
	assert_int_equal(r.status, 0);

	/* A tampered file. */
	put("rel/main/app.py", "hellp");
	RUN(&r, "verify", "--key", P("k.pub"), "--now", INSIDE, P("m.json"),
	    P("rel"));
	assert_fails(&r, 1, "ota verify: main/app.py: sha256 mismatch");
	put("rel/main/app.py", "hello");
	/* An extra file. */
	put("rel/main/y.py", "");
	RUN(&r, "verify", "--key", P("k.pub"), "--now", INSIDE, P("m.json"),
	    P("rel"));
	assert_fails(&r, 1, "ota verify: extra file 'main/y.py'");
	RUN(&r, "verify", "--key", P("k.pub"), "--now", INSIDE,
	    "--allow-extra", P("m.json"), P("rel"));
	assert_int_equal(r.status, 0);
	assert_int_equal(unlink(P("rel/main/y.py")), 0);
	/* A missing file. */
	assert_int_equal(unlink(P("rel/main/lib/util.py")), 0);
	RUN(&r, "verify", "--key", P("k.pub"), "--now", INSIDE, P("m.json"),
	    P("rel"));
	assert_fails(&r, 1, "ota verify: main/lib/util.py: missing");
	put("rel/main/lib/util.py", "");

	/* Expired, by the clock given and by the real one (it is past). */
	RUN(&r, "verify", "--key", P("k.pub"), "--now", "1800000000",
	    P("m.json"), P("rel"));
	assert_fails(&r, 1, "ota verify: manifest expired at "
	    "2024-11-13T22:13:20Z");
	RUN(&r, "verify", "--key", P("k.pub"), P("m.json"));
	assert_fails(&r, 1, "ota verify: manifest expired at "
	    "2024-11-13T22:13:20Z");

	/* The wrong key. */
	RUN(&r, "keygen", P("other"));
	RUN(&r, "verify", "--key", P("other.pub"), "--now", INSIDE,
	    P("m.json"), P("rel"));
	assert_fails(&r, 1, "ota verify: bad signature: none by a trusted "
	    "key verifies");
	/* ... among others, the right one is enough. */
	RUN(&r, "verify", "--key", P("other.pub"), "--key", P("k.pub"),
	    "--now", INSIDE, P("m.json"), P("rel"));
	assert_int_equal(r.status, 0);

	/* A tampered manifest: a size changed to match a changed file. */
	assert_non_null(f = fopen(P("m.json"), "r"));
	text = calloc(1, 65536);
	assert_true(fread(text, 1, 65535, f) > 0);
	fclose(f);
	{
		char *s = strstr(text, "\"size\":5");

		assert_non_null(s);
		s[7] = '6';
	}
	assert_int_equal(tl_write_file(P("m.json"), text, strlen(text)), 0);
	free(text);
	put("rel/main/app.py", "hello!");
	RUN(&r, "verify", "--key", P("k.pub"), "--now", INSIDE, P("m.json"),
	    P("rel"));
	assert_fails(&r, 1, "ota verify: bad signature: none by a trusted "
	    "key verifies");
	/* Not JSON at all. */
	put("m.json", "hello");
	RUN(&r, "verify", "--key", P("k.pub"), P("m.json"));
	assert_fails(&r, 1, "ota verify: manifest is not JSON");
}

static void
verify_usage(void **state)
{
	struct tl_run r;

	(void)state;
	make_release();
	RUN(&r, "verify", P("m.json"), P("rel"));
	assert_int_equal(r.status, 2);
	assert_non_null(strstr(r.err, "--key PUB is required"));
	RUN(&r, "verify", "--key", P("k.pub"));
	assert_int_equal(r.status, 2);
	RUN(&r, "verify", "--key", P("k.pub"), "--now", "soon", P("m.json"));
	assert_int_equal(r.status, 2);
	RUN(&r, "verify", "--key", P("k.pub"), "--bogus", P("m.json"));
	assert_int_equal(r.status, 2);
	RUN(&r, "verify", "--key", P("k.pub"), P("m.json"), P("rel"), "x");
	assert_int_equal(r.status, 2);
	RUN(&r, "verify", "--key");
	assert_int_equal(r.status, 2);
	/* A key that is not one: a failure, not a usage error. */
	RUN(&r, "verify", "--key", P("m.json"), P("m.json"));
	assert_int_equal(r.status, 1);
	assert_non_null(strstr(r.err, "is not an ed25519 public key"));
	RUN(&r, "verify", "--key", P("nope.pub"), P("m.json"));
	assert_int_equal(r.status, 1);
	RUN(&r, "help", "verify");
	assert_int_equal(r.status, 0);
	assert_non_null(strstr(r.out, "--allow-extra"));
	RUN(&r, "verify", "--help");
	assert_int_equal(r.status, 0);
	assert_non_null(strstr(r.out, "--now"));
}

static void
sign_extends_expiry(void **state)
{
	struct stat sb;
	struct tl_run r;

	(void)state;
	make_release();
	assert_int_equal(chmod(P("m.json"), 0640), 0);
	RUN(&r, "verify", "--key", P("k.pub"), P("m.json"), P("rel"));
	assert_int_equal(r.status, 1);
	RUN(&r, "sign", "--key", P("k.key"), "--expires-days", "30",
	    P("m.json"));
	assert_int_equal(r.status, 0);
	assert_non_null(strstr(r.out, "signed acme/sensor v1.2.0 "
	    "metadata_version 7, expires "));
	RUN(&r, "verify", "--key", P("k.pub"), P("m.json"), P("rel"));
	assert_int_equal(r.status, 0);
	/* Past the 30 days it expires again. */
	RUN(&r, "verify", "--key", P("k.pub"), "--now", "4000000000",
	    P("m.json"));
	assert_int_equal(r.status, 1);
	assert_non_null(strstr(r.err, "manifest expired at"));
	/* The file kept its mode. */
	assert_int_equal(stat(P("m.json"), &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0640);
	/* Metadata versions only go up. */
	RUN(&r, "sign", "--key", P("k.key"), "--metadata-version", "7",
	    P("m.json"));
	assert_fails(&r, 1, "ota sign: --metadata-version 7 is not above the "
	    "current 7");
	RUN(&r, "sign", "--key", P("k.key"), "--metadata-version", "8",
	    P("m.json"));
	assert_int_equal(r.status, 0);
	RUN(&r, "verify", "--key", P("k.pub"), P("m.json"), P("rel"));
	assert_string_equal(r.out, "ok: acme/sensor v1.2.0 metadata_version 8, "
	    "2 files verified\n");
	/* A private key others can read is refused. */
	assert_int_equal(chmod(P("k.key"), 0644), 0);
	RUN(&r, "sign", "--key", P("k.key"), "--expires-days", "30",
	    P("m.json"));
	assert_int_equal(r.status, 1);
	assert_non_null(strstr(r.err, "chmod 600"));
	/* Usage. */
	RUN(&r, "sign", P("m.json"));
	assert_int_equal(r.status, 2);
	RUN(&r, "sign", "--key", P("k.key"), "--expires-days", "0",
	    P("m.json"));
	assert_int_equal(r.status, 2);
	RUN(&r, "sign", "--key", P("k.key"));
	assert_int_equal(r.status, 2);
}

static void
rotation(void **state)
{
	struct tl_run r;

	(void)state;
	make_release();
	RUN(&r, "keygen", P("new"));
	RUN(&r, "keygen", P("third"));
	/* 1. Both keys sign; devices trusting either accept it. */
	RUN(&r, "sign", "--key", P("k.key"), "--key", P("new.key"),
	    P("m.json"));
	assert_int_equal(r.status, 0);
	assert_non_null(strstr(r.out, "2 signatures"));
	RUN(&r, "verify", "--key", P("k.pub"), "--now", INSIDE, P("m.json"));
	assert_int_equal(r.status, 0);
	RUN(&r, "verify", "--key", P("new.pub"), "--now", INSIDE, P("m.json"));
	assert_int_equal(r.status, 0);
	/* 2. The old key is dropped: only devices trusting the new accept. */
	RUN(&r, "sign", "--key", P("new.key"), P("m.json"));
	assert_int_equal(r.status, 0);
	RUN(&r, "verify", "--key", P("new.pub"), "--now", INSIDE, P("m.json"));
	assert_int_equal(r.status, 0);
	RUN(&r, "verify", "--key", P("k.pub"), "--now", INSIDE, P("m.json"));
	assert_int_equal(r.status, 1);
	/* A key that never signed it may not take it over... */
	RUN(&r, "sign", "--key", P("third.key"), P("m.json"));
	assert_int_equal(r.status, 1);
	assert_non_null(strstr(r.err, "is not signed by any --key or --trust "
	    "key"));
	RUN(&r, "verify", "--key", P("new.pub"), "--now", INSIDE, P("m.json"));
	assert_int_equal(r.status, 0);
	/* ... unless the operator vouches for the current signer. */
	RUN(&r, "sign", "--key", P("third.key"), "--trust", P("new.pub"),
	    P("m.json"));
	assert_int_equal(r.status, 0);
	RUN(&r, "verify", "--key", P("third.pub"), "--now", INSIDE,
	    P("m.json"));
	assert_int_equal(r.status, 0);
	/* The same key twice is a mistake. */
	RUN(&r, "sign", "--key", P("third.key"), "--key", P("third.key"),
	    P("m.json"));
	assert_int_equal(r.status, 1);
}

#define T(f) cmocka_unit_test_setup_teardown(f, tl_dir_setup, tl_dir_teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(keygen_output),
		T(verify_good_and_bad),
		T(verify_usage),
		T(sign_extends_expiry),
		T(rotation),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
