#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "common/banned.h"

static void help_usage(void);
static int cmd_help(int argc, char **argv);

static const struct cli_command commands[] = {
	{ "serve", "run the update server (drop-in for updateserver.py)",
	  cmd_serve, cmd_serve_usage },
	{ "publish", "publish files as a release of a repository",
	  cmd_publish, cmd_publish_usage },
	{ "release", "list, show, promote, yank or re-sign releases",
	  cmd_release, cmd_release_usage },
	{ "repo", "list repositories, make them private or public",
	  cmd_repo, cmd_repo_usage },
	{ "device", "pin ESP devices to a release; show device reports",
	  cmd_device, cmd_device_usage },
	{ "token", "create, list or revoke API tokens",
	  cmd_token, cmd_token_usage },
	{ "keygen", "make an Ed25519 key pair for signing manifests",
	  cmd_keygen, cmd_keygen_usage },
	{ "sign", "re-sign a manifest: extend its expiry, rotate keys",
	  cmd_sign, cmd_sign_usage },
	{ "verify", "verify a signed manifest and the release it lists",
	  cmd_verify, cmd_verify_usage },
	{ "update", "device: install each module's latest release safely",
	  cmd_update, cmd_update_usage },
	{ "check", "device: say whether a module has a newer release",
	  cmd_check, cmd_check_usage },
	{ "status", "device: installed, previous, staged versions; errors",
	  cmd_status, cmd_status_usage },
	{ "confirm", "device: keep the version on trial",
	  cmd_confirm, cmd_confirm_usage },
	{ "rollback", "device: switch back to the previous version",
	  cmd_rollback, cmd_rollback_usage },
	{ "started", "device: count an application start on trial",
	  cmd_started, cmd_started_usage },
	{ "help", "show help for ota or one of its commands",
	  cmd_help, help_usage },
};

#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

/* The command called name; NULL, after saying so on stderr, if none. */
static const struct cli_command *
find_command(const char *name)
{
	size_t i;

	for (i = 0; i < NCOMMANDS; i++)
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	fprintf(stderr, "ota: no command '%s' (see 'ota help')\n", name);
	return NULL;
}

static void
help_usage(void)
{
	size_t i;

	printf("usage: ota [--version] [--help] COMMAND [ARGS]\n\n"
	    "Self-hosted over-the-air updates for fleets of small devices.\n\n"
	    "Commands:\n");
	for (i = 0; i < NCOMMANDS; i++)
		printf("  %-10s %s\n", commands[i].name, commands[i].summary);
	printf("\nRun 'ota help COMMAND' or 'ota COMMAND --help' for a "
	    "command's options.\n");
}

static int
cmd_help(int argc, char **argv)
{
	const struct cli_command *c;

	if (argc < 2) {
		help_usage();
		return CLI_EXIT_OK;
	}
	if ((c = find_command(argv[1])) == NULL)
		return CLI_EXIT_USAGE;
	c->usage();
	return CLI_EXIT_OK;
}

int
main(int argc, char **argv)
{
	const struct cli_command *c;

	if (argc < 2) {
		help_usage();
		return CLI_EXIT_USAGE;
	}
	if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0) {
		printf("ota %s\n", OTA_VERSION_STRING);
		return CLI_EXIT_OK;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		help_usage();
		return CLI_EXIT_OK;
	}
	if ((c = find_command(argv[1])) == NULL)
		return CLI_EXIT_USAGE;
	return c->run(argc - 1, argv + 1);
}
