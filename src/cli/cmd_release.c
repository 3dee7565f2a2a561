#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "common/str.h"
#include "server/publish.h"
#include "server/store.h"
#include "common/banned.h"

enum {
	OPT_DATA = 0x100,
	OPT_CHANNEL,
	OPT_UNDO,
	OPT_ALL,
	OPT_EXPIRES,
};

static const struct option release_options[] = {
	{ "data", required_argument, NULL, OPT_DATA },
	{ "channel", required_argument, NULL, OPT_CHANNEL },
	{ "undo", no_argument, NULL, OPT_UNDO },
	{ "all", no_argument, NULL, OPT_ALL },
	{ "expires-days", required_argument, NULL, OPT_EXPIRES },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

void
cmd_release_usage(void)
{
	printf(
"usage: ota release list [--all] [--channel NAME] OWNER/REPO\n"
"       ota release show OWNER/REPO TAG\n"
"       ota release promote [--channel NAME] OWNER/REPO TAG\n"
"       ota release yank [--undo] OWNER/REPO TAG\n"
"       ota release resign [--expires-days N] OWNER/REPO TAG\n"
"\n"
"Inspect and change the releases in the store (--data DIR, default\n"
"$OTA_DATA or ./ota-data).\n"
"\n"
"  list     releases, highest version first; drafts and yanked ones only\n"
"           with --all\n"
"  show     one release, its files and digests\n"
"  promote  publish a draft and move the release to channel NAME (default\n"
"           %s), clearing its pre-release flag; the manifest is signed\n"
"           again with the next metadata version\n"
"  yank     withdraw a release: it is never offered as the latest again\n"
"           (devices that have it keep it); --undo restores it\n"
"  resign   sign the release's manifest again, e.g. to extend its expiry\n"
"           (--expires-days, default %d) or after a key change\n",
	    STORE_DEFAULT_CHANNEL, PUBLISH_DEFAULT_EXPIRES_DAYS);
}

struct release_args {
	const char *data;
	const char *channel;
	bool undo;
	bool all;
	unsigned expires_days;
	char owner[STORE_MAX_NAME + 1];
	char name[STORE_MAX_NAME + 1];
	const char *tag;
};

static void
format_time(int64_t t, char *out, size_t outsz)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (t == 0 || gmtime_r(&tt, &tm) == NULL ||
	    strftime(out, outsz, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		(void)!str_copy(out, outsz, "-");
}

static const char *
release_state(const struct store_release *r)
{
	if (r->yanked)
		return "yanked";
	if (r->draft)
		return "draft";
	if (r->prerelease)
		return "pre-release";
	return "published";
}

static int
release_list(struct store *s, const struct store_repo *repo,
    const struct release_args *a)
{
	struct store_release *list;
	char when[32];
	size_t i, n;

	if (store_release_list(s, repo->id, a->all ? STORE_LIST_ALL :
	    STORE_LIST_VISIBLE, a->channel, &list, &n) != OTA_OK)
		return cli_fail("release", "cannot list releases of %s/%s: %s",
		    repo->owner, repo->name, store_errmsg(s));
	if (n == 0)
		printf("%s/%s has no %sreleases\n", repo->owner, repo->name,
		    a->all ? "" : "visible ");
	for (i = 0; i < n; i++) {
		format_time(list[i].created, when, sizeof(when));
		printf("%-20s %-10s %-12s %s  metadata %llu\n", list[i].tag,
		    list[i].channel, release_state(&list[i]), when,
		    (unsigned long long)list[i].metadata_version);
	}
	store_releases_free(list, n);
	return CLI_EXIT_OK;
}

static int
release_show(struct store *s, const struct store_repo *repo,
    struct store_release *r)
{
	struct store_asset *assets;
	char created[32], published[32];
	size_t i, n;

	if (store_asset_list(s, r->id, "", &assets, &n) != OTA_OK)
		return cli_fail("release", "cannot list files of %s/%s %s: %s",
		    repo->owner, repo->name, r->tag, store_errmsg(s));
	format_time(r->created, created, sizeof(created));
	format_time(r->published, published, sizeof(published));
	printf("repository:       %s/%s%s\n", repo->owner, repo->name,
	    repo->is_private ? " (private)" : "");
	printf("tag:              %s\n", r->tag);
	printf("version:          %s\n", r->version);
	printf("channel:          %s\n", r->channel);
	printf("state:            %s\n", release_state(r));
	printf("created:          %s\n", created);
	printf("published:        %s\n", published);
	printf("metadata version: %llu\n",
	    (unsigned long long)r->metadata_version);
	printf("manifest:         sha256:%s\n", r->manifest);
	if (r->notes[0] != '\0')
		printf("notes:\n%s%s", r->notes,
		    r->notes[strlen(r->notes) - 1] == '\n' ? "" : "\n");
	printf("files (%zu):\n", n);
	for (i = 0; i < n; i++)
		printf("  %s  %llu bytes\n    sha256 %s  git %s  md5 %s\n",
		    assets[i].path, (unsigned long long)assets[i].size,
		    assets[i].sha256, assets[i].git_sha1, assets[i].md5);
	store_assets_free(assets, n);
	return CLI_EXIT_OK;
}

/* promote, yank, resign: one transaction each. */
static int
release_change(struct store *s, const char *verb,
    const struct release_args *a)
{
	char err[512];
	struct store_release r;
	enum publish_change what = PUBLISH_RESIGN;

	if (strcmp(verb, "promote") == 0)
		what = PUBLISH_PROMOTE;
	else if (strcmp(verb, "yank") == 0)
		what = a->undo ? PUBLISH_UNYANK : PUBLISH_YANK;
	if (publish_change(s, a->owner, a->name, a->tag, what, a->channel,
	    a->expires_days, &r, err, sizeof(err)) != OTA_OK)
		return cli_fail("release", "%s", err);
	if (strcmp(verb, "yank") == 0)
		printf("%s %s/%s %s\n", a->undo ? "restored" : "yanked",
		    a->owner, a->name, r.tag);
	else
		printf("%s %s/%s %s: channel %s, metadata version %llu\n",
		    strcmp(verb, "promote") == 0 ? "promoted" : "re-signed",
		    a->owner, a->name, r.tag, r.channel,
		    (unsigned long long)r.metadata_version);
	store_release_release(&r);
	return CLI_EXIT_OK;
}

static int
parse_args(int argc, char **argv, const char *verb, struct release_args *a)
{
	uint64_t days;
	int c, want_tag = strcmp(verb, "list") != 0;

	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, ":h", release_options, NULL)) !=
	    -1) {
		switch (c) {
		case OPT_DATA:
			a->data = optarg;
			break;
		case OPT_CHANNEL:
			if (!publish_channel_valid(optarg))
				return cli_usage_error("release", "channel "
				    "'%s' is not valid (1-32 of a-z 0-9 . _ -)",
				    optarg);
			a->channel = optarg;
			break;
		case OPT_UNDO:
			a->undo = true;
			break;
		case OPT_ALL:
			a->all = true;
			break;
		case OPT_EXPIRES:
			if (parse_u64(optarg, 1, PUBLISH_MAX_EXPIRES_DAYS,
			    &days) != OTA_OK)
				return cli_usage_error("release", "--expires-"
				    "days wants 1 to %d, not '%s'",
				    PUBLISH_MAX_EXPIRES_DAYS, optarg);
			a->expires_days = (unsigned)days;
			break;
		case 'h':
			cmd_release_usage();
			return -1;
		case ':':
			return cli_usage_error("release", "option '%s' needs a "
			    "value", argv[optind - 1]);
		default:
			return cli_usage_error("release", "unknown option '%s'",
			    argv[optind - 1]);
		}
	}
	if (argc - optind != 1 + want_tag)
		return cli_usage_error("release", "%s wants OWNER/REPO%s", verb,
		    want_tag ? " TAG" : "");
	if (cli_split_repo("release", argv[optind], a->owner, a->name) != 0)
		return CLI_EXIT_USAGE;
	a->tag = want_tag ? argv[optind + 1] : NULL;
	return 0;
}

int
cmd_release(int argc, char **argv)
{
	static const char *const verbs[] = {
		"list", "show", "promote", "yank", "resign",
	};
	struct release_args a;
	struct store_release r;
	struct store_repo repo;
	struct store *s = NULL;
	const char *verb;
	size_t i;
	int ret;

	if (argc < 2 || strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "-h") == 0) {
		cmd_release_usage();
		return argc < 2 ? CLI_EXIT_USAGE : CLI_EXIT_OK;
	}
	verb = argv[1];
	for (i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
		if (strcmp(verb, verbs[i]) == 0)
			break;
	if (i == sizeof(verbs) / sizeof(verbs[0]))
		return cli_usage_error("release", "no subcommand '%s'", verb);
	memset(&a, 0, sizeof(a));
	if ((ret = parse_args(argc - 1, argv + 1, verb, &a)) != 0)
		return ret < 0 ? CLI_EXIT_OK : ret;
	if ((ret = cli_open_store("release", cli_data_dir(a.data), false,
	    &s)) != 0)
		return ret;
	store_release_init(&r);
	if (store_repo_get(s, a.owner, a.name, &repo) != OTA_OK) {
		ret = cli_fail("release", "no repository %s/%s in '%s'",
		    a.owner, a.name, store_dir(s));
		goto out;
	}
	if (strcmp(verb, "list") == 0) {
		ret = release_list(s, &repo, &a);
		goto out;
	}
	if (store_release_get(s, repo.id, a.tag, &r) != OTA_OK) {
		ret = cli_fail("release", "%s/%s has no release '%s' (see 'ota "
		    "release list %s/%s --all')", a.owner, a.name, a.tag,
		    a.owner, a.name);
		goto out;
	}
	if (strcmp(verb, "show") == 0)
		ret = release_show(s, &repo, &r);
	else
		ret = release_change(s, verb, &a);
out:
	store_release_release(&r);
	store_free(s);
	return ret;
}
