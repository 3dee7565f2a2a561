/*
 * ota verify: what a device does before installing, from the command
 * line: the manifest's signature by a trusted key, its schema and expiry,
 * then (given a directory or an image) every byte of the release. There
 * is deliberately no way to skip the signature: --key is required.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "cli/cli.h"
#include "common/buf.h"
#include "common/manifest.h"
#include "common/sign.h"
#include "common/str.h"
#include "common/banned.h"

enum {
	OPT_KEY = 0x100,
	OPT_NOW,
	OPT_ALLOW_EXTRA,
};

static const struct option verify_options[] = {
	{ "key", required_argument, NULL, OPT_KEY },
	{ "now", required_argument, NULL, OPT_NOW },
	{ "allow-extra", no_argument, NULL, OPT_ALLOW_EXTRA },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

void
cmd_verify_usage(void)
{
	printf(
"usage: ota verify --key PUB [--key PUB...] [OPTIONS] MANIFEST [DIR|IMAGE]\n"
"\n"
"Verify the release manifest MANIFEST as a device would: a valid signature\n"
"by one of the --key public keys, the schema, and that it has not expired.\n"
"Given a directory, every file it lists must be there, as a regular file\n"
"(symbolic links are refused) with the listed size and SHA-256, and no\n"
"other file may be; given a file (a firmware image), it must match the\n"
"manifest's only file, or the one with its name.\n"
"\n"
"      --key FILE          trusted public key, a .pub file (a private key\n"
"                          file works too); repeatable, at most %d\n"
"      --now UNIXTIME      check the expiry at this time instead of now\n"
"      --allow-extra       files in DIR that MANIFEST does not list are fine\n"
"  -h, --help              show this help\n"
"\n"
"Exit status: 0 verified, 1 not verified (one line on stderr says why),\n"
"2 usage error. See docs/signing.md.\n", MANIFEST_MAX_SIGNATURES);
}

struct verify_args {
	const char *keys[MANIFEST_MAX_SIGNATURES];
	size_t nkeys;
	int64_t now;
	bool allow_extra;
	const char *manifest;
	const char *target;	/* NULL: the manifest only */
};

static int
parse_args(int argc, char **argv, struct verify_args *a)
{
	uint64_t u;
	int c;

	memset(a, 0, sizeof(*a));
	a->now = (int64_t)time(NULL);
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, ":h", verify_options, NULL)) !=
	    -1) {
		switch (c) {
		case OPT_KEY:
			if (a->nkeys == MANIFEST_MAX_SIGNATURES)
				return cli_usage_error("verify", "at most %d "
				    "--key", MANIFEST_MAX_SIGNATURES);
			a->keys[a->nkeys++] = optarg;
			break;
		case OPT_NOW:
			if (parse_u64(optarg, 0, (uint64_t)MANIFEST_MAX_INT,
			    &u) != OTA_OK)
				return cli_usage_error("verify", "--now wants "
				    "unix seconds, not '%s'", optarg);
			a->now = (int64_t)u;
			break;
		case OPT_ALLOW_EXTRA:
			a->allow_extra = true;
			break;
		case 'h':
			cmd_verify_usage();
			return -1;
		case ':':
			return cli_usage_error("verify", "option '%s' needs a "
			    "value", argv[optind - 1]);
		default:
			return cli_usage_error("verify", "unknown option '%s'",
			    argv[optind - 1]);
		}
	}
	if (a->nkeys == 0)
		return cli_usage_error("verify", "--key PUB is required: a "
		    "manifest is only as good as the key that signed it");
	if (optind == argc)
		return cli_usage_error("verify", "MANIFEST is missing");
	a->manifest = argv[optind++];
	if (optind < argc)
		a->target = argv[optind++];
	if (optind < argc)
		return cli_usage_error("verify", "unexpected argument '%s'",
		    argv[optind]);
	return 0;
}

/*
 * Checks the release at a->target against m: 0, with the number of files
 * checked in *n, or an exit code after saying why.
 */
static int
check_target(const struct verify_args *a, const struct manifest *m,
    size_t *n)
{
	char err[1024];
	struct stat sb;

	if (stat(a->target, &sb) != 0)
		return cli_fail("verify", "cannot open '%s': %s", a->target,
		    strerror(errno));
	if (S_ISDIR(sb.st_mode)) {
		if (manifest_check_dir(m, a->target, a->allow_extra, err,
		    sizeof(err)) != OTA_OK)
			return cli_fail("verify", "%s", err);
		*n = m->nfiles;
	} else if (S_ISREG(sb.st_mode)) {
		if (manifest_check_file(m, a->target, err, sizeof(err)) !=
		    OTA_OK)
			return cli_fail("verify", "%s", err);
		*n = 1;
	} else {
		return cli_fail("verify", "'%s' is neither a directory nor a "
		    "regular file", a->target);
	}
	return 0;
}

int
cmd_verify(int argc, char **argv)
{
	struct sign_key *keys[MANIFEST_MAX_SIGNATURES] = { NULL };
	char err[1024], when[MANIFEST_TIME_MAX];
	struct verify_args a;
	struct manifest m;
	enum ota_status st;
	struct buf in;
	size_t i, n = 0;
	int ret;

	memset(&m, 0, sizeof(m));
	buf_init(&in, MANIFEST_MAX_BYTES);
	if ((ret = parse_args(argc, argv, &a)) != 0)
		return ret < 0 ? CLI_EXIT_OK : ret;
	ret = CLI_EXIT_FAIL;
	for (i = 0; i < a.nkeys; i++)
		if (sign_key_load_public(&keys[i], a.keys[i], err,
		    sizeof(err)) != OTA_OK) {
			cli_fail("verify", "%s", err);
			goto out;
		}
	if ((st = manifest_load(a.manifest, &in)) != OTA_OK) {
		cli_fail("verify", "cannot read '%s': %s", a.manifest,
		    st == OTA_E_IO ? strerror(errno) : ota_status_str(st));
		goto out;
	}
	if (manifest_parse_verify_err(in.data, in.len, keys, a.nkeys, a.now,
	    &m, err, sizeof(err)) != OTA_OK) {
		cli_fail("verify", "%s", err);
		goto out;
	}
	if (a.target != NULL) {
		if (check_target(&a, &m, &n) != 0)
			goto out;
		printf("ok: %s %s metadata_version %llu, %zu file%s verified\n",
		    m.repo, m.tag, (unsigned long long)m.metadata_version, n,
		    n == 1 ? "" : "s");
	} else {
		manifest_time_str(m.expires, when);
		printf("ok: %s %s metadata_version %llu, signed, expires %s "
		    "(%zu file%s listed, none checked)\n", m.repo, m.tag,
		    (unsigned long long)m.metadata_version, when, m.nfiles,
		    m.nfiles == 1 ? "" : "s");
	}
	ret = CLI_EXIT_OK;
out:
	manifest_release(&m);
	buf_release(&in);
	for (i = 0; i < a.nkeys; i++)
		sign_key_free(keys[i]);
	return ret;
}
