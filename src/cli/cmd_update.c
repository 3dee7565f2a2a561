#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "client/storage.h"
#include "client/transport.h"
#include "client/update.h"
#include "common/str.h"
#include "common/banned.h"

#define UPDATE_MAX_TRIAL_SECONDS (30LL * 86400)
#define UPDATE_DEFAULT_TRIAL_STARTS 3

enum { OPT_ROOT = 0x100, OPT_DOWNGRADE, OPT_TRIAL_SECONDS, OPT_STARTS };

static const struct option update_options[] = {
	{ "root", required_argument, NULL, OPT_ROOT },
	{ "allow-downgrade", no_argument, NULL, OPT_DOWNGRADE },
	{ "trial-seconds", required_argument, NULL, OPT_TRIAL_SECONDS },
	{ "max-starts", required_argument, NULL, OPT_STARTS },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static void
usage_common(const char *cmd, const char *what)
{
	printf(
"usage: ota %s [--root DIR] MODULE...\n"
"\n"
"%s\n"
"\n"
"A module is a folder <root>/<module> whose main/ the application runs,\n"
"and whose feed is named in <root>/config/<module>_gitrepo_cfg.json\n"
"({\"gitrepo\": {\"url\": ..., \"github_pat\": ...}, \"ota\": {\"public_key\":\n"
"...}}), as the MicroPython OTA updater laid it out.\n"
"\n"
"      --root DIR          the device's root (default: current directory)\n",
	    cmd, what);
}

void
cmd_update_usage(void)
{
	usage_common("update", "Download, verify and switch to each module's "
	    "latest release. Nothing is\ninstalled unless every file arrived "
	    "whole and matches its digests (and,\nwith a public key, the signed "
	    "manifest); the switch is one atomic step,\nand the new version is "
	    "on trial until 'ota confirm'.");
	printf(
"      --allow-downgrade   follow a feed whose latest is older (default: no)\n"
"      --trial-seconds S   roll back by itself if not confirmed in S seconds\n"
"\n"
"Exit status: 0 done or up to date, 3 no release, 4 rate limited (backing\n"
"off), 5 token refused, 6 network down or timed out, 7 server error,\n"
"8 verification failed, 1 anything else, 2 usage.\n");
}

void
cmd_check_usage(void)
{
	usage_common("check", "Say whether each module has a newer release; "
	    "change nothing.");
	printf("\nExit status as for 'ota update'.\n");
}

void
cmd_status_usage(void)
{
	usage_common("status", "Show each module's installed, previous and "
	    "staged versions, its trial and\nits last error.");
}

void
cmd_confirm_usage(void)
{
	usage_common("confirm", "Make the version on trial permanent.");
}

void
cmd_rollback_usage(void)
{
	usage_common("rollback", "Switch back to the previous version now.");
}

void
cmd_started_usage(void)
{
	usage_common("started", "Count one start of the application. If the "
	    "version on trial was started\nmore than --max-starts times (default "
	    "3) without 'ota confirm', or its\n--trial-seconds passed, roll back "
	    "to the previous version (exit 9).");
	printf("      --max-starts N      starts allowed on trial\n");
}

/* The exit status for a failed module (see cmd_update_usage). */
static int
exit_for(enum ota_status st)
{
	switch (st) {
	case OTA_E_NOTFOUND:	return 3;
	case OTA_E_BUSY:	return 4;
	case OTA_E_AUTH:	return 5;
	case OTA_E_NETWORK:
	case OTA_E_TIMEOUT:	return 6;
	case OTA_E_PROTOCOL:	return 7;
	case OTA_E_SIGNATURE:
	case OTA_E_EXPIRED:
	case OTA_E_CHANGED:	return 8;
	default:		return CLI_EXIT_FAIL;
	}
}

struct args {
	const char *root;
	bool downgrade;
	int64_t trial_seconds;
	unsigned max_starts;
	int first;			/* argv index of the first module */
};

static int
parse(const char *cmd, int argc, char **argv, struct args *a)
{
	uint64_t v;
	int c;

	memset(a, 0, sizeof(*a));
	a->root = ".";
	a->max_starts = UPDATE_DEFAULT_TRIAL_STARTS;
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, ":h", update_options, NULL)) !=
	    -1) {
		switch (c) {
		case OPT_ROOT:
			a->root = optarg;
			break;
		case OPT_DOWNGRADE:
			a->downgrade = true;
			break;
		case OPT_TRIAL_SECONDS:
			if (parse_u64(optarg, 1, UPDATE_MAX_TRIAL_SECONDS, &v) !=
			    OTA_OK)
				return cli_usage_error(cmd, "--trial-seconds "
				    "wants 1 to %lld", UPDATE_MAX_TRIAL_SECONDS);
			a->trial_seconds = (int64_t)v;
			break;
		case OPT_STARTS:
			if (parse_u64(optarg, 1, 1000, &v) != OTA_OK)
				return cli_usage_error(cmd, "--max-starts wants "
				    "1 to 1000");
			a->max_starts = (unsigned)v;
			break;
		case 'h':
			return -1;
		default:
			return cli_usage_error(cmd, "bad option '%s'",
			    argv[optind - 1]);
		}
	}
	if (optind >= argc)
		return cli_usage_error(cmd, "name at least one MODULE");
	a->first = optind;
	return 0;
}

static int
run_update(const char *cmd, int argc, char **argv, bool check_only)
{
	struct update_report rep;
	struct update_opts o;
	struct transport *t;
	struct args a;
	char err[1024];
	enum ota_status st;
	int i, r, ret = CLI_EXIT_OK;

	if ((r = parse(cmd, argc, argv, &a)) != 0) {
		if (r < 0)
			check_only ? cmd_check_usage() : cmd_update_usage();
		return r < 0 ? CLI_EXIT_OK : r;
	}
	if (transport_curl_new(&t) != OTA_OK)
		return cli_fail(cmd, "cannot start the HTTP client");
	for (i = a.first; i < argc; i++) {
		memset(&o, 0, sizeof(o));
		o.root = a.root;
		o.module = argv[i];
		o.transport = t;
		o.downgrade = a.downgrade ? POLICY_ALLOW_DOWNGRADE :
		    POLICY_NO_DOWNGRADE;
		o.trial_seconds = a.trial_seconds;
		o.check_only = check_only;
		o.now = (int64_t)time(NULL);
		st = update_module(&o, &rep, err, sizeof(err));
		if (st != OTA_OK) {
			cli_fail(cmd, "%s: %s", argv[i], err[0] ? err :
			    ota_status_str(st));
			if (ret == CLI_EXIT_OK)
				ret = exit_for(st);
			continue;
		}
		printf("%s: %s (installed %s, latest %s", argv[i],
		    update_outcome_str(rep.outcome), rep.installed[0] ?
		    rep.installed : "none", rep.offered[0] ? rep.offered : "?");
		if (rep.outcome == UPDATE_INSTALLED)
			printf(", %u file%s, %llu bytes", rep.files,
			    rep.files == 1 ? "" : "s",
			    (unsigned long long)rep.bytes);
		printf(")\n");
	}
	transport_free(t);
	return ret;
}

int
cmd_update(int argc, char **argv)
{
	return run_update("update", argc, argv, false);
}

int
cmd_check(int argc, char **argv)
{
	return run_update("check", argc, argv, true);
}

/* status, confirm, rollback, started: local operations on storage. */
static int
run_local(const char *cmd, int argc, char **argv)
{
	struct storage_state s;
	struct storage *st = NULL;
	struct args a;
	char err[512];
	bool roll;
	int i, r, ret = CLI_EXIT_OK;
	enum ota_status rc;

	if ((r = parse(cmd, argc, argv, &a)) != 0) {
		if (r < 0)
			printf("see 'ota help %s'\n", cmd);
		return r < 0 ? CLI_EXIT_OK : r;
	}
	for (i = a.first; i < argc; i++) {
		err[0] = '\0';
		st = NULL;
		if ((rc = storage_open(&st, a.root, argv[i], err,
		    sizeof(err))) == OTA_OK)
			rc = storage_recover(st, NULL, err, sizeof(err));
		if (rc == OTA_OK) {
			if (strcmp(cmd, "confirm") == 0)
				rc = storage_confirm(st);
			else if (strcmp(cmd, "rollback") == 0)
				rc = storage_rollback(st, err, sizeof(err));
			else if (strcmp(cmd, "started") == 0) {
				rc = storage_trial_start(st, a.max_starts,
				    (int64_t)time(NULL), &roll);
				if (rc == OTA_OK && roll) {
					rc = storage_rollback(st, err,
					    sizeof(err));
					if (rc == OTA_OK) {
						printf("%s: trial over without "
						    "confirm: rolled back\n",
						    argv[i]);
						ret = 9;
					}
				}
			}
		}
		if (rc != OTA_OK) {
			cli_fail(cmd, "%s: %s", argv[i], err[0] ? err :
			    ota_status_str(rc));
			ret = CLI_EXIT_FAIL;
		} else if (strcmp(cmd, "status") == 0 ||
		    strcmp(cmd, "confirm") == 0 ||
		    strcmp(cmd, "rollback") == 0) {
			storage_state_get(st, &s);
			printf("%s: installed %s%s, previous %s, staged %s%s%s\n",
			    argv[i], s.current[0] ? s.current : "none",
			    s.trial ? " (on trial)" : "",
			    s.previous[0] ? s.previous : "none",
			    s.staged[0] ? s.staged : "none",
			    s.last_error[0] ? "; last error: " : "",
			    s.last_error);
		}
		storage_free(st);
		st = NULL;
	}
	return ret;
}

int
cmd_status(int argc, char **argv)
{
	return run_local("status", argc, argv);
}

int
cmd_confirm(int argc, char **argv)
{
	return run_local("confirm", argc, argv);
}

int
cmd_rollback(int argc, char **argv)
{
	return run_local("rollback", argc, argv);
}

int
cmd_started(int argc, char **argv)
{
	return run_local("started", argc, argv);
}
