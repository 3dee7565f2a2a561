#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "server/store.h"
#include "common/banned.h"

enum { OPT_DATA = 0x100 };

static const struct option repo_options[] = {
	{ "data", required_argument, NULL, OPT_DATA },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

void
cmd_repo_usage(void)
{
	printf(
"usage: ota repo list [--data DIR]\n"
"       ota repo create [--data DIR] OWNER/REPO\n"
"       ota repo private|public [--data DIR] OWNER/REPO\n"
"\n"
"Repositories of the store (--data DIR, default $OTA_DATA or ./ota-data).\n"
"'ota publish' creates a repository on first use. A private repository is\n"
"answered only to requests with a token ('ota token create'), and as\n"
"404 Not Found to anyone else, as GitHub does.\n");
}

int
cmd_repo(int argc, char **argv)
{
	char owner[STORE_MAX_NAME + 1], name[STORE_MAX_NAME + 1];
	const char *data = NULL, *verb;
	struct store_repo repo, *list;
	struct store *s = NULL;
	size_t i, n;
	int c, ret, want_repo;

	if (argc < 2 || strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "-h") == 0) {
		cmd_repo_usage();
		return argc < 2 ? CLI_EXIT_USAGE : CLI_EXIT_OK;
	}
	verb = argv[1];
	if (strcmp(verb, "list") != 0 && strcmp(verb, "create") != 0 &&
	    strcmp(verb, "private") != 0 && strcmp(verb, "public") != 0)
		return cli_usage_error("repo", "no subcommand '%s'", verb);
	want_repo = strcmp(verb, "list") != 0;
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc - 1, argv + 1, ":h", repo_options,
	    NULL)) != -1) {
		if (c == OPT_DATA)
			data = optarg;
		else if (c == 'h') {
			cmd_repo_usage();
			return CLI_EXIT_OK;
		} else
			return cli_usage_error("repo", "bad option '%s'",
			    argv[optind]);
	}
	if (argc - 1 - optind != want_repo)
		return cli_usage_error("repo", "%s wants %s", verb,
		    want_repo ? "OWNER/REPO" : "no argument");
	if (want_repo && cli_split_repo("repo", argv[1 + optind], owner,
	    name) != 0)
		return CLI_EXIT_USAGE;
	if ((ret = cli_open_store("repo", cli_data_dir(data),
	    strcmp(verb, "create") == 0, &s)) != 0)
		return ret;
	ret = CLI_EXIT_OK;
	if (!want_repo) {
		if (store_repo_list(s, &list, &n) != OTA_OK)
			ret = cli_fail("repo", "cannot list repositories: %s",
			    store_errmsg(s));
		else {
			for (i = 0; i < n; i++)
				printf("%s/%s%s\n", list[i].owner,
				    list[i].name, list[i].is_private ?
				    " (private)" : "");
			free(list);
		}
	} else if (strcmp(verb, "create") == 0) {
		if (store_repo_ensure(s, owner, name, &repo) != OTA_OK)
			ret = cli_fail("repo", "cannot create %s/%s: %s",
			    owner, name, store_errmsg(s));
		else
			printf("%s/%s\n", repo.owner, repo.name);
	} else if (store_repo_get(s, owner, name, &repo) != OTA_OK)
		ret = cli_fail("repo", "no repository %s/%s in '%s'", owner,
		    name, store_dir(s));
	else if (store_repo_set_private(s, repo.id,
	    strcmp(verb, "private") == 0) != OTA_OK)
		ret = cli_fail("repo", "cannot change %s/%s: %s", owner, name,
		    store_errmsg(s));
	else
		printf("%s/%s is now %s\n", repo.owner, repo.name, verb);
	store_free(s);
	return ret;
}
