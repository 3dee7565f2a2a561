#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "common/str.h"
#include "server/store.h"
#include "common/banned.h"

enum { OPT_DATA = 0x100, OPT_SCOPE, OPT_REPO, OPT_NAME };

static const struct option token_options[] = {
	{ "data", required_argument, NULL, OPT_DATA },
	{ "scope", required_argument, NULL, OPT_SCOPE },
	{ "repo", required_argument, NULL, OPT_REPO },
	{ "name", required_argument, NULL, OPT_NAME },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

void
cmd_token_usage(void)
{
	printf(
"usage: ota token create --scope read|publish|admin [--repo OWNER/REPO]\n"
"                        [--name NAME] [--data DIR]\n"
"       ota token list [--data DIR]\n"
"       ota token revoke [--data DIR] ID\n"
"\n"
"API tokens of the store (--data DIR, default $OTA_DATA or ./ota-data).\n"
"The secret is printed once by 'create'; only its SHA-256 is kept. Devices\n"
"send it as 'Authorization: token SECRET' (the MicroPython updater's\n"
"github_pat) or 'Authorization: Bearer SECRET'.\n"
"\n"
"  read     read private repositories\n"
"  publish  also publish, promote and yank releases\n"
"  admin    everything\n"
"  --repo   limit the token to one repository (default: all)\n");
}

int
cmd_token(int argc, char **argv)
{
	char owner[STORE_MAX_NAME + 1], name[STORE_MAX_NAME + 1];
	char secret[128], tname[STORE_MAX_NAME + 1] = "";
	const char *data = NULL, *verb, *repoarg = NULL;
	enum store_scope scope = 0;
	struct store_token tok, *list;
	struct store_repo repo;
	struct store *s = NULL;
	uint64_t id = 0;
	size_t i, n;
	int c, ret;

	if (argc < 2 || strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "-h") == 0) {
		cmd_token_usage();
		return argc < 2 ? CLI_EXIT_USAGE : CLI_EXIT_OK;
	}
	verb = argv[1];
	if (strcmp(verb, "create") != 0 && strcmp(verb, "list") != 0 &&
	    strcmp(verb, "revoke") != 0)
		return cli_usage_error("token", "no subcommand '%s'", verb);
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc - 1, argv + 1, ":h", token_options,
	    NULL)) != -1) {
		switch (c) {
		case OPT_DATA:
			data = optarg;
			break;
		case OPT_SCOPE:
			if (store_scope_parse(optarg, &scope) != OTA_OK)
				return cli_usage_error("token", "scope '%s' is "
				    "not read, publish or admin", optarg);
			break;
		case OPT_REPO:
			repoarg = optarg;
			break;
		case OPT_NAME:
			if (str_copy(tname, sizeof(tname), optarg) != OTA_OK)
				return cli_usage_error("token", "--name is "
				    "longer than %d bytes", STORE_MAX_NAME);
			break;
		case 'h':
			cmd_token_usage();
			return CLI_EXIT_OK;
		default:
			return cli_usage_error("token", "bad option '%s'",
			    argv[optind]);
		}
	}
	if (strcmp(verb, "create") == 0 && scope == 0)
		return cli_usage_error("token", "create wants --scope");
	if (strcmp(verb, "revoke") == 0) {
		if (argc - 1 - optind != 1 || parse_u64(argv[1 + optind], 1,
		    INT64_MAX, &id) != OTA_OK)
			return cli_usage_error("token", "revoke wants a token "
			    "ID (see 'ota token list')");
	} else if (argc - 1 - optind != 0)
		return cli_usage_error("token", "unexpected argument '%s'",
		    argv[1 + optind]);
	if (repoarg != NULL && cli_split_repo("token", repoarg, owner, name))
		return CLI_EXIT_USAGE;
	if ((ret = cli_open_store("token", cli_data_dir(data),
	    strcmp(verb, "create") == 0, &s)) != 0)
		return ret;
	ret = CLI_EXIT_OK;
	if (strcmp(verb, "create") == 0) {
		repo.id = 0;
		if (repoarg != NULL && store_repo_get(s, owner, name, &repo) !=
		    OTA_OK)
			ret = cli_fail("token", "no repository %s/%s in '%s'",
			    owner, name, store_dir(s));
		else if (store_token_create(s, tname, scope, repo.id, secret,
		    sizeof(secret), &tok) != OTA_OK)
			ret = cli_fail("token", "cannot create a token: %s",
			    store_errmsg(s));
		else {
			printf("%s\n", secret);
			fprintf(stderr, "token %lld (%s%s%s) created; the "
			    "secret above is shown only now\n",
			    (long long)tok.id, store_scope_name(scope),
			    repoarg ? ", " : "", repoarg ? repoarg : "");
		}
	} else if (strcmp(verb, "list") == 0) {
		if (store_token_list(s, &list, &n) != OTA_OK)
			ret = cli_fail("token", "cannot list tokens: %s",
			    store_errmsg(s));
		else {
			for (i = 0; i < n; i++) {
				repo.owner[0] = '\0';
				if (list[i].repo_id != 0)
					(void)!store_repo_get_id(s,
					    list[i].repo_id, &repo);
				char full[2 * STORE_MAX_NAME + 2] = "*";

				if (list[i].repo_id != 0)
					(void)!str_fmt(full, sizeof(full),
					    "%s/%s", repo.owner, repo.name);
				printf("%-6lld %-8s %-30s %s\n",
				    (long long)list[i].id,
				    store_scope_name(list[i].scope), full,
				    list[i].name);
			}
			free(list);
		}
	} else if (store_token_revoke(s, (int64_t)id) != OTA_OK)
		ret = cli_fail("token", "no token %llu", (unsigned long long)id);
	else
		printf("revoked token %llu\n", (unsigned long long)id);
	store_free(s);
	return ret;
}
