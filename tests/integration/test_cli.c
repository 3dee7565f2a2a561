/*
 * The command line: help, version, flags, exit codes (0 ok, 1 failure,
 * 2 usage), one clear line per error, and the updateserver.py flags.
 */
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "testlib.h"

struct run {
	int status;		/* exit code, or -1 if killed */
	char out[16384];
	char err[16384];
};

static void
read_all(const char *path, char *buf, size_t n)
{
	FILE *f = fopen(path, "r");
	size_t r = f ? fread(buf, 1, n - 1, f) : 0;

	buf[r] = '\0';
	if (f)
		fclose(f);
}

/* Runs ota with args (NULL-terminated), up to 10 s, capturing output. */
static void
run_ota(struct run *r, const char *const *args)
{
	char tmp[256], o[300], e[300];
	const char *argv[32];
	int n = 0, st, i;
	pid_t pid;

	assert_int_equal(tl_mkdtemp(tmp, sizeof(tmp)), 0);
	snprintf(o, sizeof(o), "%s/out", tmp);
	snprintf(e, sizeof(e), "%s/err", tmp);
	argv[n++] = tl_ota_bin();
	for (i = 0; args[i] != NULL; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	if ((pid = fork()) == 0) {
		dup2(open(o, O_WRONLY | O_CREAT | O_TRUNC, 0644), 1);
		dup2(open(e, O_WRONLY | O_CREAT | O_TRUNC, 0644), 2);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	for (i = 0; i < 1000 && waitpid(pid, &st, WNOHANG) == 0; i++)
		usleep(10000);
	if (i == 1000) {
		kill(pid, SIGKILL);
		waitpid(pid, &st, 0);
	}
	r->status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
	read_all(o, r->out, sizeof(r->out));
	read_all(e, r->err, sizeof(r->err));
	tl_rmtree(tmp);
}

static int
count_lines(const char *s)
{
	int n = 0;

	for (; *s; s++)
		n += *s == '\n';
	return n;
}

static void
version_and_help(void **state)
{
	struct run r;

	run_ota(&r, (const char *[]){ "--version", NULL });
	assert_int_equal(r.status, 0);
	assert_true(strncmp(r.out, "ota ", 4) == 0);
	run_ota(&r, (const char *[]){ "help", NULL });
	assert_int_equal(r.status, 0);
	assert_non_null(strstr(r.out, "serve"));
	run_ota(&r, (const char *[]){ "help", "serve", NULL });
	assert_int_equal(r.status, 0);
	assert_non_null(strstr(r.out, "--catalog"));
	run_ota(&r, (const char *[]){ "serve", "--help", NULL });
	assert_int_equal(r.status, 0);
	assert_non_null(strstr(r.out, "--port"));
	assert_non_null(strstr(r.out, "--gate"));
	run_ota(&r, (const char *[]){ NULL });
	assert_int_equal(r.status, 2);
}

static void
usage_errors(void **state)
{
	static const char *const bad[][4] = {
		{ "serve", "--bogus", NULL },
		{ "serve", "-l", "bogus", NULL },
		{ "serve", "-p", "70000", NULL },
		{ "serve", "-p", "abc", NULL },
		{ "serve", "-p", "-1", NULL },
		{ "serve", "--gate", "maybe", NULL },
		{ "serve", "--max-connections", "0", NULL },
		{ "serve", "--read-timeout", "1x", NULL },
		{ "serve", "extra-argument", NULL },
		{ "serve", "-p", NULL },
		{ "nope", NULL },
		{ "help", "nope", NULL },
	};
	struct run r;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		run_ota(&r, bad[i]);
		assert_int_equal(r.status, 2);
		/* one clear line, naming the culprit */
		assert_int_equal(count_lines(r.err), 1);
		assert_int_equal(r.out[0], '\0');
	}
	run_ota(&r, bad[0]);
	assert_non_null(strstr(r.err, "'--bogus'"));
	run_ota(&r, bad[1]);
	assert_non_null(strstr(r.err, "'bogus'"));
	/* a value given as its own argument: the message names the flag */
	run_ota(&r, (const char *[]){ "serve", "--idle-timeout", "0", NULL });
	assert_int_equal(r.status, 2);
	assert_non_null(strstr(r.err, "--idle-timeout"));
	assert_non_null(strstr(r.err, "'0'"));
}

static void
bad_catalog_fails(void **state)
{
	struct run r;

	run_ota(&r, (const char *[]){ "serve", "-b", "127.0.0.1", "-p", "0",
	    "-d", "/nonexistent/catalog", NULL });
	assert_int_equal(r.status, 1);
	assert_non_null(strstr(r.err, "/nonexistent/catalog"));
}

static void
log_levels_accepted(void **state)
{
	static const char *const levels[] = {
		"debug", "INFO", "Warning", "warn", "error", "critical",
		"FATAL", "notset",
	};
	char base[256], cat[300];
	struct tl_server s;
	struct http_resp r;
	size_t i;
	char *log;

	assert_int_equal(tl_fixture(base, sizeof(base), cat, sizeof(cat)), 0);
	for (i = 0; i < sizeof(levels) / sizeof(levels[0]); i++) {
		const char *args[] = { "-l", levels[i], NULL };

		assert_int_equal(tl_server_start(&s, cat, args), 0);
		assert_int_equal(tl_get(s.port, "GET /_catalog?op=list "
		    "HTTP/1.0\r\n\r\n", &r), 0);
		assert_int_equal(r.status, 200);
		tl_resp_free(&r);
		assert_int_equal(WEXITSTATUS(tl_server_stop(&s)), 0);
		/* --log never suppresses the access log (case 44) */
		log = tl_server_log(&s);
		assert_non_null(strstr(log, "\"GET /_catalog?op=list\" 200 "));
		free(log);
		tl_rmtree(s.tmp);
	}
	tl_rmtree(base);
}

static void
port_in_use_fails(void **state)
{
	char base[256], cat[300], port[8];
	struct tl_server s;
	struct run r;

	assert_int_equal(tl_fixture(base, sizeof(base), cat, sizeof(cat)), 0);
	assert_int_equal(tl_server_start(&s, cat, NULL), 0);
	snprintf(port, sizeof(port), "%u", (unsigned)s.port);
	run_ota(&r, (const char *[]){ "serve", "-b", "127.0.0.1", "-p", port,
	    "-d", cat, NULL });
	assert_int_equal(r.status, 1);
	assert_non_null(strstr(r.err, port));
	tl_server_stop(&s);
	tl_rmtree(s.tmp);
	tl_rmtree(base);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(version_and_help),
		cmocka_unit_test(usage_errors),
		cmocka_unit_test(bad_catalog_fails),
		cmocka_unit_test(log_levels_accepted),
		cmocka_unit_test(port_in_use_fails),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
