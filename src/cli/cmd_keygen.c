/*
 * ota keygen: make an Ed25519 key pair for signing release manifests.
 * The work is sign_keygen's; this file names the files and reports.
 */
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "common/sign.h"
#include "common/str.h"
#include "common/banned.h"

enum {
	OPT_FORCE = 0x100,
};

static const struct option keygen_options[] = {
	{ "force", no_argument, NULL, OPT_FORCE },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

void
cmd_keygen_usage(void)
{
	printf(
"usage: ota keygen [--force] PREFIX\n"
"\n"
"Make an Ed25519 key pair for signing release manifests: PREFIX.key, the\n"
"private key (PEM PKCS#8, mode 0600; keep it off the update server if you\n"
"can) and PREFIX.pub, the one-line public key that devices and\n"
"'ota verify --key' trust. Prints the public key line and its key id.\n"
"\n"
"      --force             replace PREFIX.key and PREFIX.pub if they exist\n"
"  -h, --help              show this help\n"
"\n"
"See docs/signing.md for key rotation.\n");
}

int
cmd_keygen(int argc, char **argv)
{
	char priv[PATH_MAX], pub[PATH_MAX], err[PATH_MAX + 128];
	char text[SIGN_PUBLIC_TEXT_MAX], id[SIGN_KEYID_HEX + 1];
	struct sign_key *k = NULL;
	bool force = false;
	int c;

	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, ":h", keygen_options, NULL)) !=
	    -1) {
		switch (c) {
		case OPT_FORCE:
			force = true;
			break;
		case 'h':
			cmd_keygen_usage();
			return CLI_EXIT_OK;
		case ':':
			return cli_usage_error("keygen", "option '%s' needs a "
			    "value", argv[optind - 1]);
		default:
			return cli_usage_error("keygen", "unknown option '%s'",
			    argv[optind - 1]);
		}
	}
	if (optind == argc)
		return cli_usage_error("keygen", "PREFIX is missing");
	if (optind + 1 < argc)
		return cli_usage_error("keygen", "unexpected argument '%s'",
		    argv[optind + 1]);
	if (argv[optind][0] == '\0')
		return cli_usage_error("keygen", "PREFIX is empty");
	if (str_fmt(priv, sizeof(priv), "%s.key", argv[optind]) != OTA_OK ||
	    str_fmt(pub, sizeof(pub), "%s.pub", argv[optind]) != OTA_OK)
		return cli_usage_error("keygen", "PREFIX is too long");
	if (sign_keygen(priv, pub, force, err, sizeof(err)) != OTA_OK)
		return cli_fail("keygen", "%s", err);
	if (sign_key_load_public(&k, pub, err, sizeof(err)) != OTA_OK)
		return cli_fail("keygen", "%s", err);
	sign_key_id(k, id);
	if (sign_key_public_text(k, text, sizeof(text)) != OTA_OK) {
		sign_key_free(k);
		return cli_fail("keygen", "cannot format the public key");
	}
	sign_key_free(k);
	printf("%s\nkeyid %s\n", text, id);
	fprintf(stderr, "ota keygen: wrote %s (private, mode 0600) and %s\n",
	    priv, pub);
	return CLI_EXIT_OK;
}
