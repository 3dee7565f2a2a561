#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "common/buf.h"
#include "common/sign.h"
#include "common/str.h"
#include "server/publish.h"
#include "server/store.h"
#include "common/banned.h"

#define PUBLISH_MAX_KEYS 4

enum {
	OPT_DATA = 0x100,
	OPT_CHANNEL,
	OPT_NOTES,
	OPT_NOTES_FILE,
	OPT_DRAFT,
	OPT_PRERELEASE,
	OPT_FORCE,
	OPT_KEY,
	OPT_EXPIRES,
};

static const struct option publish_options[] = {
	{ "data", required_argument, NULL, OPT_DATA },
	{ "channel", required_argument, NULL, OPT_CHANNEL },
	{ "notes", required_argument, NULL, OPT_NOTES },
	{ "notes-file", required_argument, NULL, OPT_NOTES_FILE },
	{ "draft", no_argument, NULL, OPT_DRAFT },
	{ "prerelease", no_argument, NULL, OPT_PRERELEASE },
	{ "force", no_argument, NULL, OPT_FORCE },
	{ "key", required_argument, NULL, OPT_KEY },
	{ "expires-days", required_argument, NULL, OPT_EXPIRES },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

void
cmd_publish_usage(void)
{
	printf(
"usage: ota publish [OPTIONS] OWNER/REPO TAG PATH...\n"
"\n"
"Publish files as release TAG of OWNER/REPO in the store. A file keeps its\n"
"name; a directory keeps its tree under its own name (publishing 'main'\n"
"gives main/app.py, main/lib/x.py); 'DIR/.' publishes what is in DIR.\n"
"TAG must be a semantic version (1.2.0, v1.2.0, 1.3.0-rc.1). Publishing is\n"
"atomic: a crash leaves the old state or the whole release.\n"
"\n"
"      --data DIR          the store (default $OTA_DATA or ./ota-data;\n"
"                          created if missing)\n"
"      --channel NAME      release channel (default %s)\n"
"      --notes TEXT        release notes (GitHub's \"body\")\n"
"      --notes-file FILE   release notes from FILE\n"
"      --draft             keep it hidden until 'ota release promote'\n"
"      --prerelease        list it, but never as the latest release\n"
"      --force             replace an existing release with this tag\n"
"      --key FILE          sign with this private key (repeatable); default:\n"
"                          the repository's key in DIR/keys/, made on first use\n"
"      --expires-days N    the signed manifest expires after N days\n"
"                          (default %d)\n"
"  -h, --help              show this help\n",
	    STORE_DEFAULT_CHANNEL, PUBLISH_DEFAULT_EXPIRES_DAYS);
}

/* Reads a whole notes file, capped. */
static int
read_notes(const char *path, char **out)
{
	char chunk[4096];
	struct buf b;
	ssize_t n;
	size_t len;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return cli_fail("publish", "cannot read notes file '%s': %s",
		    path, strerror(errno));
	buf_init(&b, STORE_MAX_NOTES);
	while ((n = read(fd, chunk, sizeof(chunk))) > 0)
		if (buf_add(&b, chunk, (size_t)n) != OTA_OK) {
			close(fd);
			return cli_fail("publish", "notes file '%s' is larger "
			    "than %d bytes", path, STORE_MAX_NOTES);
		}
	close(fd);
	if (n < 0 || buf_add(&b, "", 1) != OTA_OK) {
		buf_release(&b);
		return cli_fail("publish", "cannot read notes file '%s': %s",
		    path, strerror(errno));
	}
	*out = buf_take(&b, &len);
	return 0;
}

int
cmd_publish(int argc, char **argv)
{
	char owner[STORE_MAX_NAME + 1], name[STORE_MAX_NAME + 1], err[1024];
	struct sign_key *keys[PUBLISH_MAX_KEYS] = { NULL };
	const char *data = NULL, *keypaths[PUBLISH_MAX_KEYS];
	struct publish_opts o;
	struct publish_file *files = NULL;
	struct store_release rel;
	struct store *s = NULL;
	char *notes = NULL;
	size_t nfiles = 0, nkeys = 0, i;
	bool created = false;
	uint64_t days;
	int c, ret = CLI_EXIT_FAIL;

	memset(&o, 0, sizeof(o));
	store_release_init(&rel);
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, ":h", publish_options, NULL)) !=
	    -1) {
		switch (c) {
		case OPT_DATA:
			data = optarg;
			break;
		case OPT_CHANNEL:
			o.channel = optarg;
			break;
		case OPT_NOTES:
			o.notes = optarg;
			break;
		case OPT_NOTES_FILE:
			free(notes);
			notes = NULL;
			if ((ret = read_notes(optarg, &notes)) != 0)
				goto out;
			o.notes = notes;
			break;
		case OPT_DRAFT:
			o.draft = true;
			break;
		case OPT_PRERELEASE:
			o.prerelease = true;
			break;
		case OPT_FORCE:
			o.force = true;
			break;
		case OPT_KEY:
			if (nkeys == PUBLISH_MAX_KEYS) {
				ret = cli_usage_error("publish", "at most %d "
				    "--key options", PUBLISH_MAX_KEYS);
				goto out;
			}
			keypaths[nkeys++] = optarg;
			break;
		case OPT_EXPIRES:
			if (parse_u64(optarg, 1, PUBLISH_MAX_EXPIRES_DAYS,
			    &days) != OTA_OK) {
				ret = cli_usage_error("publish", "--expires-"
				    "days wants 1 to %d, not '%s'",
				    PUBLISH_MAX_EXPIRES_DAYS, optarg);
				goto out;
			}
			o.expires_days = (unsigned)days;
			break;
		case 'h':
			cmd_publish_usage();
			ret = CLI_EXIT_OK;
			goto out;
		case ':':
			ret = cli_usage_error("publish", "option '%s' needs a "
			    "value", argv[optind - 1]);
			goto out;
		default:
			ret = cli_usage_error("publish", "unknown option '%s'",
			    argv[optind - 1]);
			goto out;
		}
	}
	ret = CLI_EXIT_FAIL;
	if (argc - optind < 3) {
		ret = cli_usage_error("publish", "wants OWNER/REPO TAG "
		    "PATH...");
		goto out;
	}
	if (cli_split_repo("publish", argv[optind], owner, name) != 0) {
		ret = CLI_EXIT_USAGE;
		goto out;
	}
	o.owner = owner;
	o.name = name;
	o.tag = argv[optind + 1];

	for (i = 0; i < nkeys; i++) {
		if (sign_key_load_private(&keys[i], keypaths[i], err,
		    sizeof(err)) != OTA_OK) {
			cli_fail("publish", "%s", err);
			goto out;
		}
	}
	if (publish_collect((const char *const *)argv + optind + 2,
	    (size_t)(argc - optind - 2), &files, &nfiles, err, sizeof(err)) !=
	    OTA_OK) {
		cli_fail("publish", "%s", err);
		goto out;
	}
	if (cli_open_store("publish", cli_data_dir(data), true, &s) != 0)
		goto out;
	if (nkeys == 0) {
		if (publish_repo_key(s, owner, name, true, &keys[0], &created,
		    err, sizeof(err)) != OTA_OK) {
			cli_fail("publish", "%s", err);
			goto out;
		}
		nkeys = 1;
	}
	o.keys = keys;
	o.nkeys = nkeys;
	if (publish_release(s, &o, files, nfiles, &rel, err, sizeof(err)) !=
	    OTA_OK) {
		cli_fail("publish", "%s", err);
		goto out;
	}
	if (created && publish_key_path(s, owner, name, ".pub", err,
	    sizeof(err)) == OTA_OK)
		printf("created a signing key for %s/%s; devices verify "
		    "releases with %s\n", owner, name, err);
	printf("published %s/%s %s: %zu file%s, channel %s%s%s, metadata "
	    "version %llu\n", owner, name, rel.tag, nfiles,
	    nfiles == 1 ? "" : "s", rel.channel, rel.draft ? ", draft" : "",
	    rel.prerelease ? ", pre-release" : "",
	    (unsigned long long)rel.metadata_version);
	ret = CLI_EXIT_OK;
out:
	for (i = 0; i < PUBLISH_MAX_KEYS; i++)
		sign_key_free(keys[i]);
	store_release_release(&rel);
	publish_files_free(files, nfiles);
	store_free(s);
	free(notes);
	return ret;
}
