/*
 * ota sign: re-sign a manifest file in place, for key rotation and to
 * extend its expiry. The signed fields are kept unless a flag changes
 * them. It refuses to bless content it cannot vouch for: the file must
 * already carry a valid signature by one of the --key keys or a --trust
 * key (its expiry does not matter), so a manifest edited on disk is never
 * re-signed by accident. The new file replaces the old atomically.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "cli/cli.h"
#include "common/buf.h"
#include "common/fsatomic.h"
#include "common/manifest.h"
#include "common/sign.h"
#include "common/str.h"
#include "common/banned.h"

#define SIGN_SECONDS_PER_DAY 86400
#define SIGN_MAX_EXPIRES_DAYS (100 * 366)	/* as ota publish */
#define SIGN_DEFAULT_FILE_MODE 0644

enum {
	OPT_KEY = 0x100,
	OPT_TRUST,
	OPT_EXPIRES,
	OPT_METADATA_VERSION,
};

static const struct option sign_options[] = {
	{ "key", required_argument, NULL, OPT_KEY },
	{ "trust", required_argument, NULL, OPT_TRUST },
	{ "expires-days", required_argument, NULL, OPT_EXPIRES },
	{ "metadata-version", required_argument, NULL, OPT_METADATA_VERSION },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

void
cmd_sign_usage(void)
{
	printf(
"usage: ota sign --key PRIVATE [--key PRIVATE...] [OPTIONS] MANIFEST\n"
"\n"
"Re-sign the release manifest MANIFEST in place (atomically) with every\n"
"--key, replacing its signatures. Its content is kept unless an option\n"
"changes it. MANIFEST must already be signed by one of the --key keys or a\n"
"--trust key, so that nothing edited on disk is signed by accident; its\n"
"expiry does not matter. Used to extend the expiry and to rotate keys\n"
"(sign with the old and the new key; later with the new one alone).\n"
"\n"
"      --key FILE          private key to sign with (repeatable, at most %d;\n"
"                          mode 0600 required)\n"
"      --trust FILE        also accept MANIFEST's current signature by this\n"
"                          public key (repeatable), e.g. a retired key's\n"
"      --expires-days N    new expiry: N days from now (1-%d)\n"
"      --metadata-version N  new metadata version, above the current one\n"
"  -h, --help              show this help\n"
"\n"
"See docs/signing.md.\n", MANIFEST_MAX_SIGNATURES, SIGN_MAX_EXPIRES_DAYS);
}

struct sign_args {
	const char *keys[MANIFEST_MAX_SIGNATURES];
	size_t nkeys;
	const char *trust[MANIFEST_MAX_SIGNATURES];
	size_t ntrust;
	uint64_t expires_days;		/* 0: keep */
	uint64_t metadata_version;	/* 0: keep */
	const char *path;
};

static int
parse_args(int argc, char **argv, struct sign_args *a)
{
	int c;

	memset(a, 0, sizeof(*a));
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, ":h", sign_options, NULL)) != -1) {
		switch (c) {
		case OPT_KEY:
			if (a->nkeys == MANIFEST_MAX_SIGNATURES)
				return cli_usage_error("sign", "at most %d "
				    "--key", MANIFEST_MAX_SIGNATURES);
			a->keys[a->nkeys++] = optarg;
			break;
		case OPT_TRUST:
			if (a->ntrust == MANIFEST_MAX_SIGNATURES)
				return cli_usage_error("sign", "at most %d "
				    "--trust", MANIFEST_MAX_SIGNATURES);
			a->trust[a->ntrust++] = optarg;
			break;
		case OPT_EXPIRES:
			if (parse_u64(optarg, 1, SIGN_MAX_EXPIRES_DAYS,
			    &a->expires_days) != OTA_OK)
				return cli_usage_error("sign", "--expires-days "
				    "wants a whole number from 1 to %d, not "
				    "'%s'", SIGN_MAX_EXPIRES_DAYS, optarg);
			break;
		case OPT_METADATA_VERSION:
			if (parse_u64(optarg, 1, (uint64_t)MANIFEST_MAX_INT,
			    &a->metadata_version) != OTA_OK)
				return cli_usage_error("sign", "--metadata-"
				    "version wants a whole number from 1 to "
				    "%lld, not '%s'", MANIFEST_MAX_INT, optarg);
			break;
		case 'h':
			cmd_sign_usage();
			return -1;
		case ':':
			return cli_usage_error("sign", "option '%s' needs a "
			    "value", argv[optind - 1]);
		default:
			return cli_usage_error("sign", "unknown option '%s'",
			    argv[optind - 1]);
		}
	}
	if (a->nkeys == 0)
		return cli_usage_error("sign", "--key PRIVATE is required");
	if (optind == argc)
		return cli_usage_error("sign", "MANIFEST is missing");
	if (optind + 1 < argc)
		return cli_usage_error("sign", "unexpected argument '%s'",
		    argv[optind + 1]);
	a->path = argv[optind];
	return 0;
}

/* Applies the options to m; 0, or an exit code after saying why. */
static int
apply_changes(const struct sign_args *a, struct manifest *m, int64_t now)
{
	char when[MANIFEST_TIME_MAX];

	if (a->metadata_version != 0) {
		if (a->metadata_version <= m->metadata_version)
			return cli_fail("sign", "--metadata-version %llu is "
			    "not above the current %llu",
			    (unsigned long long)a->metadata_version,
			    (unsigned long long)m->metadata_version);
		m->metadata_version = a->metadata_version;
	}
	if (a->expires_days != 0)
		m->expires = now + (int64_t)a->expires_days *
		    SIGN_SECONDS_PER_DAY;
	if (m->expires <= now) {
		manifest_time_str(m->expires, when);
		fprintf(stderr, "ota sign: warning: '%s' expired at %s; pass "
		    "--expires-days N to extend it\n", a->path, when);
	}
	return 0;
}

int
cmd_sign(int argc, char **argv)
{
	struct sign_key *keys[MANIFEST_MAX_SIGNATURES] = { NULL };
	struct sign_key *trusted[2 * MANIFEST_MAX_SIGNATURES] = { NULL };
	char err[1024], when[MANIFEST_TIME_MAX];
	mode_t mode = SIGN_DEFAULT_FILE_MODE;
	int64_t now = (int64_t)time(NULL);
	struct manifest m;
	struct sign_args a;
	struct buf in, out;
	enum ota_status st;
	struct stat sb;
	size_t i, nt = 0;
	int ret;

	memset(&m, 0, sizeof(m));
	buf_init(&in, MANIFEST_MAX_BYTES);
	buf_init(&out, MANIFEST_MAX_BYTES);
	if ((ret = parse_args(argc, argv, &a)) != 0)
		return ret < 0 ? CLI_EXIT_OK : ret;
	ret = CLI_EXIT_FAIL;
	for (i = 0; i < a.nkeys; i++) {
		if (sign_key_load_private(&keys[i], a.keys[i], err,
		    sizeof(err)) != OTA_OK) {
			cli_fail("sign", "%s", err);
			goto out;
		}
		trusted[nt++] = keys[i];
	}
	for (i = 0; i < a.ntrust; i++) {
		if (sign_key_load_public(&trusted[nt], a.trust[i], err,
		    sizeof(err)) != OTA_OK) {
			cli_fail("sign", "%s", err);
			goto out;
		}
		nt++;
	}
	if ((st = manifest_load(a.path, &in)) != OTA_OK) {
		cli_fail("sign", "cannot read '%s': %s", a.path,
		    st == OTA_E_IO ? strerror(errno) : ota_status_str(st));
		goto out;
	}
	if (stat(a.path, &sb) == 0)
		mode = sb.st_mode & 07777;
	st = manifest_parse_verify_err(in.data, in.len, trusted, nt, now, &m,
	    err, sizeof(err));
	if (st == OTA_E_SIGNATURE) {
		cli_fail("sign", "'%s' is not signed by any --key or --trust "
		    "key; refusing to vouch for it (pass the key it is signed "
		    "with as --trust PUB)", a.path);
		goto out;
	}
	if (st != OTA_OK && st != OTA_E_EXPIRED) {
		cli_fail("sign", "'%s': %s", a.path, err);
		goto out;
	}
	if (apply_changes(&a, &m, now) != 0)
		goto out;
	if ((st = manifest_sign(&m, keys, a.nkeys, &out)) != OTA_OK) {
		cli_fail("sign", "cannot sign '%s': %s%s", a.path,
		    ota_status_str(st), st == OTA_E_INVALID ? " (the same key "
		    "twice, or the new fields are invalid)" : "");
		goto out;
	}
	if ((st = fsatomic_write(a.path, out.data, out.len, mode)) != OTA_OK) {
		cli_fail("sign", "cannot write '%s': %s", a.path,
		    st == OTA_E_IO ? strerror(errno) : ota_status_str(st));
		goto out;
	}
	manifest_time_str(m.expires, when);
	printf("signed %s %s metadata_version %llu, expires %s, %zu "
	    "signature%s\n", m.repo, m.tag,
	    (unsigned long long)m.metadata_version, when, a.nkeys,
	    a.nkeys == 1 ? "" : "s");
	ret = CLI_EXIT_OK;
out:
	manifest_release(&m);
	buf_release(&in);
	buf_release(&out);
	/* trusted[] starts with keys[]: free each key once. */
	for (i = 0; i < a.nkeys; i++)
		sign_key_free(keys[i]);
	for (i = a.nkeys; i < nt; i++)
		sign_key_free(trusted[i]);
	return ret;
}
