/*
 * End to end on loopback: `ota serve` + `ota publish` + `ota update`,
 * the device laid out as the MicroPython updater's (config/ + a module
 * folder). Install, up to date (a conditional request), refusal while on
 * trial, confirm, the next version, automatic rollback after too many
 * starts, a tampered blob on the server (nothing installed), a wrong
 * public key, no release, and a server that is down.
 */
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "testlib.h"

static char data[PATH_MAX], src[PATH_MAX], dev[PATH_MAX], cat[PATH_MAX];
static struct tl_server srv;

#define RUN(out, ...) tl_ota_run((const char *const[]){ __VA_ARGS__, NULL }, \
	out, sizeof(out))

/* Writes dir/rel, making its folders. */
static void
write_text(const char *dir, const char *rel, const char *text)
{
	char path[PATH_MAX * 2], *p;

	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	for (p = path + 1; (p = strchr(p, '/')) != NULL; p++) {
		*p = '\0';
		assert_true(mkdir(path, 0755) == 0 || errno == EEXIST);
		*p = '/';
	}
	assert_int_equal(tl_write_file(path, text, strlen(text)), 0);
}

static char *
read_text(const char *dir, const char *rel)
{
	static char buf[4096];
	char path[PATH_MAX * 2];
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	if ((f = fopen(path, "r")) == NULL)
		return NULL;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static void
publish(const char *version, const char *app)
{
	char out[1024], tree[PATH_MAX + 8];

	write_text(src, "main/app.py", app);
	snprintf(tree, sizeof(tree), "%s/main", src);
	assert_int_equal(RUN(out, "publish", "--data", data, "me/app",
	    version, tree), 0);
}

/* The device's config, pointing at the server, with key (or none). */
static void
configure(const char *module, const char *repo, const char *key)
{
	char text[1024], rel[256];

	snprintf(text, sizeof(text), "{\"gitrepo\":{\"url\":"
	    "\"http://127.0.0.1:%u/repos/%s\"}%s%s%s}", (unsigned)srv.port,
	    repo, key ? ",\"ota\":{\"public_key\":\"" : "", key ? key : "",
	    key ? "\"}" : "");
	snprintf(rel, sizeof(rel), "config/%s_gitrepo_cfg.json", module);
	write_text(dev, rel, text);
}

static char *
public_key(void)
{
	static char key[256];
	char *k = read_text(data, "keys/me/app.pub");

	assert_non_null(k);
	snprintf(key, sizeof(key), "%s", k);
	key[strcspn(key, "\n")] = '\0';
	return key;
}

static int
setup(void **state)
{
	const char *args[3];

	if (tl_dir_setup(state) != 0)
		return -1;
	tl_path(data, sizeof(data), "data");
	tl_path(src, sizeof(src), "src");
	tl_path(dev, sizeof(dev), "dev");
	tl_path(cat, sizeof(cat), "cat");
	if (mkdir(cat, 0755) != 0)
		return -1;
	write_text(src, "main/lib/util.py", "def f():\n    return 1\n");
	publish("1.0.0", "print('v1')\n");
	args[0] = "--data";
	args[1] = data;
	args[2] = NULL;
	if (tl_server_start(&srv, cat, args) != 0)
		return -1;
	configure("app", "me/app", public_key());
	return 0;
}

static int
teardown(void **state)
{
	if (srv.pid > 0) {
		tl_server_stop(&srv);
		tl_rmtree(srv.tmp);
	}
	memset(&srv, 0, sizeof(srv));
	return tl_dir_teardown(state);
}

static void
assert_main(const char *app)
{
	char moddir[PATH_MAX * 2], *t;
	struct stat sb;

	snprintf(moddir, sizeof(moddir), "%s/app", dev);
	t = read_text(moddir, "main/app.py");
	assert_non_null(t);
	assert_string_equal(t, app);
	t = read_text(moddir, "main/lib/util.py");
	assert_non_null(t);
	assert_string_equal(t, "def f():\n    return 1\n");
	snprintf(moddir, sizeof(moddir), "%s/app/main", dev);
	assert_int_equal(lstat(moddir, &sb), 0);
	assert_true(S_ISLNK(sb.st_mode));
}

static void
install_trial_confirm_next(void **state)
{
	char out[2048];

	(void)state;
	assert_int_equal(RUN(out, "check", "--root", dev, "app"), 0);
	assert_non_null(strstr(out, "update available"));
	assert_int_equal(RUN(out, "update", "--root", dev, "app"), 0);
	assert_non_null(strstr(out, "installed, on trial"));
	assert_main("print('v1')\n");
	/* The next check is one conditional request, answered 304. */
	assert_int_equal(RUN(out, "update", "--root", dev, "app"), 0);
	assert_non_null(strstr(out, "up to date"));
	publish("1.1.0", "print('v2')\n");
	/* Nothing moves while 1.0.0 is on trial. */
	assert_int_equal(RUN(out, "update", "--root", dev, "app"), 1);
	assert_main("print('v1')\n");
	assert_int_equal(RUN(out, "confirm", "--root", dev, "app"), 0);
	assert_int_equal(RUN(out, "update", "--root", dev, "app"), 0);
	assert_main("print('v2')\n");
	assert_int_equal(RUN(out, "status", "--root", dev, "app"), 0);
	assert_non_null(strstr(out, "installed 1.1.0 (on trial: 0 starts), previous "
	    "1.0.0"));
	/* The application starts twice without confirming: rolled back. */
	assert_int_equal(RUN(out, "started", "--max-starts", "1", "--root",
	    dev, "app"), 0);
	assert_int_equal(RUN(out, "started", "--max-starts", "1", "--root",
	    dev, "app"), 9);
	assert_main("print('v1')\n");
	/* The version rolled back from is not installed again... */
	assert_int_equal(RUN(out, "update", "--root", dev, "app"), 0);
	assert_non_null(strstr(out, "rolled back before"));
	assert_main("print('v1')\n");
	assert_int_equal(RUN(out, "status", "--root", dev, "app"), 0);
	assert_non_null(strstr(out, "rolled back from 1.1.0"));
	/* ...but a newer one is. */
	publish("1.1.1", "print('v2.1')\n");
	assert_int_equal(RUN(out, "update", "--root", dev, "app"), 0);
	assert_main("print('v2.1')\n");
}

/*
 * --health-cmd judges the new version and --restart-cmd runs around it:
 * a healthy one is confirmed, a sick one rolled back (exit 9) and the
 * application restarted on the old one.
 */
static void
health_and_restart(void **state)
{
	char out[2048], cmd[PATH_MAX * 2 + 64], log[PATH_MAX + 16];
	char want[PATH_MAX * 3 + 64], *t;

	(void)state;
	snprintf(log, sizeof(log), "%s/hooks.log", dev);
	snprintf(cmd, sizeof(cmd), "echo \"restart $OTA_ROOT\" >> %s", log);
	assert_int_equal(RUN(out, "update", "--root", dev, "--restart-cmd",
	    cmd, "--health-cmd", "test -f \"$OTA_ROOT/$OTA_MODULE/main/app.py\"",
	    "app"), 0);
	assert_non_null(strstr(out, "healthy: confirmed"));
	assert_int_equal(RUN(out, "status", "--root", dev, "app"), 0);
	assert_non_null(strstr(out, "installed 1.0.0, previous"));
	publish("1.1.0", "print('v2')\n");
	assert_int_equal(RUN(out, "update", "--root", dev, "--restart-cmd",
	    cmd, "--health-cmd", "exit 3", "app"), 9);
	assert_non_null(strstr(out, "health command failed (3): rolled back"));
	assert_main("print('v1')\n");
	/* Restarted after each install and after the rollback. */
	t = read_text(dev, "hooks.log");
	assert_non_null(t);
	snprintf(want, sizeof(want), "restart %s\nrestart %s\nrestart %s\n",
	    dev, dev, dev);
	assert_string_equal(t, want);
}

/* A blob changed on the server: the listing's sha and the manifest catch
 * it; nothing is installed and the running version stays. */
static void
tampered_blob(void **state)
{
	char out[2048], blobs[PATH_MAX * 2], hex[65];
	char *blob;
	size_t i;

	(void)state;
	assert_int_equal(RUN(out, "update", "--root", dev, "app"), 0);
	assert_int_equal(RUN(out, "confirm", "--root", dev, "app"), 0);
	publish("1.2.0", "print('v3')\n");
	/* The blob of "print('v3')\n", rewritten with the same length. */
	assert_int_equal(RUN(out, "release", "show", "--data", data, "me/app",
	    "1.2.0"), 0);
	blob = strstr(out, "main/app.py");
	assert_non_null(blob);
	blob = strstr(blob, "sha256 ");
	assert_non_null(blob);
	for (i = 0; i < 64; i++)
		hex[i] = blob[7 + i];
	hex[64] = '\0';
	snprintf(blobs, sizeof(blobs), "%s/blobs/sha256/%s", data, hex);
	assert_int_equal(tl_write_file(blobs, "print('XX')\n", 12), 0);
	assert_int_equal(RUN(out, "update", "--root", dev, "app"), 8);
	assert_main("print('v1')\n");
	assert_int_equal(RUN(out, "status", "--root", dev, "app"), 0);
	assert_non_null(strstr(out, "last error"));
}

static void
wrong_key(void **state)
{
	char out[2048];

	(void)state;
	configure("app", "me/app", "ed25519 "
	    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=");
	assert_int_equal(RUN(out, "update", "--root", dev, "app"), 8);
	assert_int_not_equal(access(dev, F_OK) == 0 ? 0 : 1, 1);
}

static void
no_release_and_server_down(void **state)
{
	char out[2048];

	(void)state;
	configure("other", "me/nothing", NULL);
	assert_int_equal(RUN(out, "update", "--root", dev, "other"), 3);
	assert_int_equal(RUN(out, "update", "--root", dev, "app"), 0);
	assert_int_equal(RUN(out, "confirm", "--root", dev, "app"), 0);
	tl_server_stop(&srv);
	tl_rmtree(srv.tmp);
	srv.pid = 0;
	assert_int_equal(RUN(out, "update", "--root", dev, "app"), 6);
	assert_main("print('v1')\n");
}

/* With a token and a device id, the device reports to our server. */
static void
reports_to_server(void **state)
{
	char out[2048], tok[256], text[1024], *events;

	(void)state;
	assert_int_equal(RUN(tok, "token", "create", "--data", data, "--scope",
	    "read"), 0);
	tok[strcspn(tok, "\n")] = '\0';
	snprintf(text, sizeof(text), "{\"gitrepo\":{\"url\":"
	    "\"http://127.0.0.1:%u/repos/me/app\",\"github_pat\":\"%s\"},"
	    "\"ota\":{\"public_key\":\"%s\",\"device_id\":\"gw-7\"}}",
	    (unsigned)srv.port, tok, public_key());
	write_text(dev, "config/app_gitrepo_cfg.json", text);
	assert_int_equal(RUN(out, "update", "--root", dev, "app"), 0);
	publish("1.1.0", "print('v2')\n");
	/* On trial: refused, and reported as a failure with its reason. */
	assert_int_equal(RUN(out, "update", "--root", dev, "app"), 1);
	assert_int_equal(RUN(out, "device", "events", "--data", data), 0);
	events = out;
	assert_non_null(strstr(events, "gw-7 success   me/app app none -> 1.0.0"));
	assert_non_null(strstr(events, "gw-7 failure   me/app app 1.0.0 -> "
	    "1.1.0: 1.0.0 is on trial"));
	/* A rollback is reported, with its reason. */
	assert_int_equal(RUN(out, "rollback", "--root", dev, "app"), 1);
	assert_int_equal(RUN(out, "confirm", "--root", dev, "app"), 0);
	assert_int_equal(RUN(out, "update", "--root", dev, "app"), 0);
	assert_int_equal(RUN(out, "rollback", "--root", dev, "app"), 0);
	assert_int_equal(RUN(out, "device", "events", "--data", data), 0);
	assert_non_null(strstr(out, "gw-7 rollback  me/app app 1.1.0 -> 1.0.0: "
	    "rolled back by the operator"));
	events = out;
	/* The token never reaches the event log. */
	assert_null(strstr(events, tok));
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(install_trial_confirm_next),
		T(tampered_blob),
		T(wrong_key),
		T(no_release_and_server_down),
		T(reports_to_server),
		T(health_and_restart),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
