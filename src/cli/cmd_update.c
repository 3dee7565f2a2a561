#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

#include <ota/host.h>
#include <ota/updater.h>

#include "cli/cli.h"
#include "common/manifest.h"
#include "common/str.h"
#include "common/banned.h"

extern char **environ;

#define UPDATE_MAX_TRIAL_SECONDS (30LL * 86400)
#define UPDATE_DEFAULT_TRIAL_STARTS 3

enum { OPT_ROOT = 0x100, OPT_DOWNGRADE, OPT_TRIAL_SECONDS, OPT_STARTS,
    OPT_RESTART, OPT_HEALTH, OPT_RETRY, OPT_TIMEOUT };

static const struct option update_options[] = {
	{ "root", required_argument, NULL, OPT_ROOT },
	{ "allow-downgrade", no_argument, NULL, OPT_DOWNGRADE },
	{ "trial-seconds", required_argument, NULL, OPT_TRIAL_SECONDS },
	{ "max-starts", required_argument, NULL, OPT_STARTS },
	{ "restart-cmd", required_argument, NULL, OPT_RESTART },
	{ "health-cmd", required_argument, NULL, OPT_HEALTH },
	{ "retry-rejected", no_argument, NULL, OPT_RETRY },
	{ "timeout", required_argument, NULL, OPT_TIMEOUT },
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
"      --restart-cmd CMD   after an install (or a rollback by --health-cmd),\n"
"                          run CMD with /bin/sh -c: restart the application\n"
"      --health-cmd CMD    then run CMD for each installed module (OTA_MODULE\n"
"                          in its environment): exit 0 confirms the new\n"
"                          version, anything else rolls it back\n"
"\n"
"      --retry-rejected    install the latest even if it was rolled back\n"
"                          before (default: wait for a newer release)\n"
"      --timeout S         give up on a server silent for S seconds\n"
"                          (default 30)\n"
"\n"
"Exit status: 0 done or up to date, 3 no release, 4 busy (rate limited\n"
"and backing off, or another ota holds the module), 5 token refused,\n"
"6 network down or timed out, 7 server error,\n"
"8 verification failed, 9 rolled back by --health-cmd, 1 anything else,\n"
"2 usage.\n");
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
	const char *restart_cmd;
	const char *health_cmd;
	bool downgrade;
	bool retry_rejected;
	int64_t trial_seconds;
	unsigned read_timeout;
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
		case OPT_RESTART:
			a->restart_cmd = optarg;
			break;
		case OPT_HEALTH:
			a->health_cmd = optarg;
			break;
		case OPT_RETRY:
			a->retry_rejected = true;
			break;
		case OPT_TIMEOUT:
			if (parse_u64(optarg, 1, 3600, &v) != OTA_OK)
				return cli_usage_error(cmd, "--timeout wants 1 "
				    "to 3600 seconds");
			a->read_timeout = (unsigned)v;
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

static int64_t
monotonic_s(void *ctx)
{
	struct timespec ts;

	(void)ctx;
	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec;
}

/* An updater over the POSIX storage at a->root, libcurl and libcrypto. */
static int
updater_open(const char *cmd, const struct args *a, struct ota_updater **u,
    struct ota_transport **t, struct ota_storage **s)
{
	struct ota_config c;

	*u = NULL;
	*t = NULL;
	*s = NULL;
	if (ota_transport_curl_new(t) != OTA_OK)
		return cli_fail(cmd, "cannot start the HTTP client");
	if (ota_storage_posix_new(s, a->root) != OTA_OK) {
		ota_transport_free(*t);
		return cli_fail(cmd, "out of memory");
	}
	memset(&c, 0, sizeof(c));
	c.transport = *t;
	c.storage = *s;
	c.crypto = ota_crypto_libcrypto();
	c.downgrade = a->downgrade ? OTA_ALLOW_DOWNGRADE : OTA_NO_DOWNGRADE;
	c.trial_seconds = a->trial_seconds;
	c.retry_rejected = a->retry_rejected;
	c.read_timeout_s = a->read_timeout;
	c.clock_s = monotonic_s;
	if (ota_updater_new(u, &c) != OTA_OK) {
		ota_storage_free(*s);
		ota_transport_free(*t);
		return cli_fail(cmd, "cannot set up the updater");
	}
	return CLI_EXIT_OK;
}

static void
updater_close(struct ota_updater *u, struct ota_transport *t,
    struct ota_storage *s)
{
	ota_updater_free(u);
	ota_storage_free(s);
	ota_transport_free(t);
}

/*
 * Runs "/bin/sh -c hook" with OTA_ROOT (and OTA_MODULE, if module) in its
 * environment; its exit status, or -1 if it could not run or was killed.
 */
static int
run_hook(const char *cmd, const char *what, const char *hook,
    const char *root, const char *module)
{
	char *argv[] = { "sh", "-c", (char *)hook, NULL };
	char **env, ebuf[2][PATH_MAX + 16];
	size_t n = 0, i;
	pid_t pid;
	int status, rc;

	while (environ[n] != NULL)
		n++;
	if ((env = calloc(n + 3, sizeof(*env))) == NULL)
		return -1;
	for (i = 0; i < n; i++)
		env[i] = environ[i];
	(void)!str_fmt(ebuf[0], sizeof(ebuf[0]), "OTA_ROOT=%s", root);
	env[n++] = ebuf[0];
	if (module != NULL &&
	    str_fmt(ebuf[1], sizeof(ebuf[1]), "OTA_MODULE=%s", module) ==
	    OTA_OK)
		env[n++] = ebuf[1];
	env[n] = NULL;
	fflush(NULL);
	rc = posix_spawn(&pid, "/bin/sh", NULL, NULL, argv, env);
	free(env);
	if (rc != 0) {
		cli_fail(cmd, "cannot run the %s '%s': %s", what, hook,
		    strerror(rc));
		return -1;
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR) {
			cli_fail(cmd, "cannot wait for the %s '%s': %s", what,
			    hook, strerror(errno));
			return -1;
		}
	if (!WIFEXITED(status)) {
		cli_fail(cmd, "the %s '%s' was killed by signal %d", what,
		    hook, WIFSIGNALED(status) ? WTERMSIG(status) : 0);
		return -1;
	}
	return WEXITSTATUS(status);
}

/*
 * After installs: restart, then judge each new version by the health
 * command, then restart again if one was rolled back. The exit status.
 */
static int
after_install(struct ota_updater *u, const struct args *a, char **mods,
    size_t nmods)
{
	char err[512];
	bool rolled = false;
	size_t i;
	int h, ret = CLI_EXIT_OK;

	if (nmods == 0)
		return CLI_EXIT_OK;
	if (a->restart_cmd != NULL && run_hook("update", "restart command",
	    a->restart_cmd, a->root, NULL) != 0) {
		/* Nothing new runs: a health check would judge the old. */
		cli_fail("update", "the restart command failed: the new "
		    "version%s stay%s on trial", nmods == 1 ? "" : "s",
		    nmods == 1 ? "s" : "");
		return CLI_EXIT_FAIL;
	}
	for (i = 0; a->health_cmd != NULL && i < nmods; i++) {
		h = run_hook("update", "health command", a->health_cmd,
		    a->root, mods[i]);
		if (h == 0) {
			if (ota_confirm(u, mods[i], err, sizeof(err)) !=
			    OTA_OK) {
				cli_fail("update", "%s: %s", mods[i], err);
				ret = CLI_EXIT_FAIL;
			} else
				printf("%s: healthy: confirmed\n", mods[i]);
			continue;
		}
		if (ota_rollback(u, mods[i], err, sizeof(err)) != OTA_OK) {
			cli_fail("update", "%s: the health command failed "
			    "and the rollback too: %s", mods[i], err);
			ret = CLI_EXIT_FAIL;
			continue;
		}
		printf("%s: health command failed (%d): rolled back\n",
		    mods[i], h);
		rolled = true;
		if (ret == CLI_EXIT_OK)
			ret = 9;
	}
	if (rolled && a->restart_cmd != NULL && run_hook("update",
	    "restart command", a->restart_cmd, a->root, NULL) != 0)
		ret = CLI_EXIT_FAIL;
	return ret;
}

static int
run_update(const char *cmd, int argc, char **argv, bool check_only)
{
	struct ota_updater *u;
	struct ota_transport *t;
	struct ota_storage *s;
	struct ota_report rep;
	struct args a;
	char err[1024], **mods;
	enum ota_status st;
	size_t nmods = 0;
	bool rolled = false;
	int i, r, ret = CLI_EXIT_OK;

	if ((r = parse(cmd, argc, argv, &a)) != 0) {
		if (r < 0)
			check_only ? cmd_check_usage() : cmd_update_usage();
		return r < 0 ? CLI_EXIT_OK : r;
	}
	if ((mods = calloc((size_t)argc, sizeof(*mods))) == NULL)
		return cli_fail(cmd, "out of memory");
	if ((r = updater_open(cmd, &a, &u, &t, &s)) != CLI_EXIT_OK) {
		free(mods);
		return r;
	}
	for (i = a.first; i < argc; i++) {
		st = ota_update(u, argv[i], check_only, (int64_t)time(NULL),
		    &rep, err, sizeof(err));
		if (st != OTA_OK) {
			cli_fail(cmd, "%s: %s", argv[i], err[0] ? err :
			    ota_status_str(st));
			if (ret == CLI_EXIT_OK)
				ret = exit_for(st);
			continue;
		}
		if (rep.rolled_back) {
			/* The trial ran out: the app must leave that code. */
			printf("%s: %s was not confirmed in time: rolled "
			    "back\n", argv[i], rep.rolled_back_from);
			rolled = true;
		}
		printf("%s: %s (installed %s, latest %s", argv[i],
		    ota_outcome_str(rep.outcome), rep.installed[0] ?
		    rep.installed : "none", rep.offered[0] ? rep.offered : "?");
		if (rep.outcome == OTA_INSTALLED) {
			printf(", %u file%s, %llu bytes", rep.files,
			    rep.files == 1 ? "" : "s",
			    (unsigned long long)rep.bytes);
			mods[nmods++] = argv[i];
		}
		printf(")\n");
	}
	if ((r = after_install(u, &a, mods, nmods)) != CLI_EXIT_OK &&
	    ret == CLI_EXIT_OK)
		ret = r;
	if (rolled && nmods == 0 && a.restart_cmd != NULL &&
	    run_hook(cmd, "restart command", a.restart_cmd, a.root, NULL) !=
	    0 && ret == CLI_EXIT_OK)
		ret = CLI_EXIT_FAIL;
	updater_close(u, t, s);
	free(mods);
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

/* " (on trial: 2 starts, until 2026-...Z)" for status, or "". */
static void
trial_text(const struct ota_state *s, char *out, size_t outsz)
{
	char until[MANIFEST_TIME_MAX];

	out[0] = '\0';
	if (!s->trial)
		return;
	if (s->trial_deadline != 0)
		manifest_time_str(s->trial_deadline, until);
	(void)!str_fmt(out, outsz, " (on trial: %u start%s%s%s)",
	    s->trial_starts, s->trial_starts == 1 ? "" : "s",
	    s->trial_deadline != 0 ? ", until " : "",
	    s->trial_deadline != 0 ? until : "");
}

/* status, confirm, rollback, started: local, no network but reports. */
static int
run_local(const char *cmd, int argc, char **argv)
{
	struct ota_updater *u;
	struct ota_transport *t;
	struct ota_storage *sto;
	struct ota_state s, before;
	char trial[96];
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
	if ((r = updater_open(cmd, &a, &u, &t, &sto)) != CLI_EXIT_OK)
		return r;
	for (i = a.first; i < argc; i++) {
		err[0] = '\0';
		if (strcmp(cmd, "confirm") == 0)
			rc = ota_confirm(u, argv[i], err, sizeof(err));
		else if (strcmp(cmd, "rollback") == 0)
			rc = ota_rollback(u, argv[i], err, sizeof(err));
		else if (strcmp(cmd, "started") == 0) {
			if ((rc = ota_state_get(u, argv[i], &before, err,
			    sizeof(err))) == OTA_OK)
				rc = ota_started(u, argv[i], a.max_starts,
				    (int64_t)time(NULL), &roll, err,
				    sizeof(err));
			if (rc == OTA_OK && before.ready[0] != '\0' &&
			    ota_state_get(u, argv[i], &s, err, sizeof(err)) ==
			    OTA_OK && strcmp(s.current, before.ready) == 0)
				printf("%s: switched to %s, downloaded whole "
				    "before an interruption (on trial)\n",
				    argv[i], s.current);
			if (rc == OTA_OK && roll) {
				printf("%s: trial over without confirm: rolled "
				    "back\n", argv[i]);
				ret = 9;
			}
		} else
			rc = OTA_OK;
		if (rc == OTA_OK && strcmp(cmd, "started") != 0)
			rc = ota_state_get(u, argv[i], &s, err, sizeof(err));
		if (rc != OTA_OK) {
			cli_fail(cmd, "%s: %s", argv[i], err[0] ? err :
			    ota_status_str(rc));
			ret = CLI_EXIT_FAIL;
		} else if (strcmp(cmd, "started") != 0) {
			trial_text(&s, trial, sizeof(trial));
			printf("%s: installed %s%s, previous %s, staged %s%s%s"
			    "%s%s\n", argv[i],
			    s.current[0] ? s.current : "none", trial,
			    s.previous[0] ? s.previous : "none",
			    s.staged[0] ? s.staged : "none",
			    s.rejected[0] ? ", rolled back from " : "",
			    s.rejected,
			    s.last_error[0] ? "; last error: " : "",
			    s.last_error);
		}
	}
	updater_close(u, t, sto);
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
