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
	struct tl_run r;

	tl_ota_capture(&r, (const char *[]){ "--version", NULL });
	assert_int_equal(r.status, 0);
	assert_true(strncmp(r.out, "ota ", 4) == 0);
	tl_ota_capture(&r, (const char *[]){ "help", NULL });
	assert_int_equal(r.status, 0);
	assert_non_null(strstr(r.out, "serve"));
	tl_ota_capture(&r, (const char *[]){ "help", "serve", NULL });
	assert_int_equal(r.status, 0);
	assert_non_null(strstr(r.out, "--catalog"));
	tl_ota_capture(&r, (const char *[]){ "serve", "--help", NULL });
	assert_int_equal(r.status, 0);
	assert_non_null(strstr(r.out, "--port"));
	assert_non_null(strstr(r.out, "--gate"));
	tl_ota_capture(&r, (const char *[]){ NULL });
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
		{ "update", "--timeout", "0", NULL },
		{ "update", "--timeout", "3601", NULL },
		{ "update", "--trial-seconds", "0", NULL },
		{ "update", NULL },
	};
	struct tl_run r;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		tl_ota_capture(&r, bad[i]);
		assert_int_equal(r.status, 2);
		/* one clear line, naming the culprit */
		assert_int_equal(count_lines(r.err), 1);
		assert_int_equal(r.out[0], '\0');
	}
	tl_ota_capture(&r, bad[0]);
	assert_non_null(strstr(r.err, "'--bogus'"));
	tl_ota_capture(&r, bad[1]);
	assert_non_null(strstr(r.err, "'bogus'"));
	/* a value given as its own argument: the message names the flag */
	tl_ota_capture(&r, (const char *[]){ "serve", "--idle-timeout", "0", NULL });
	assert_int_equal(r.status, 2);
	assert_non_null(strstr(r.err, "--idle-timeout"));
	assert_non_null(strstr(r.err, "'0'"));
	/* The device commands: a module must be one folder name. */
	tl_ota_capture(&r, (const char *[]){ "status", "--root", "/tmp",
	    "../etc", NULL });
	assert_int_equal(r.status, 1);
	assert_non_null(strstr(r.err, "cannot name a module"));
}

static void
bad_catalog_fails(void **state)
{
	struct tl_run r;

	tl_ota_capture(&r, (const char *[]){ "serve", "-b", "127.0.0.1", "-p", "0",
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
	struct tl_run r;

	assert_int_equal(tl_fixture(base, sizeof(base), cat, sizeof(cat)), 0);
	assert_int_equal(tl_server_start(&s, cat, NULL), 0);
	snprintf(port, sizeof(port), "%u", (unsigned)s.port);
	tl_ota_capture(&r, (const char *[]){ "serve", "-b", "127.0.0.1", "-p", port,
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
