/*
 * log: Python level names, escaping of request data, level filtering and
 * the unfiltered access log, read back through a pipe (log_set_fd).
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/log.h"

struct level_case {
	const char *name;
	enum ota_status want;
	enum log_level level;
};

static const struct level_case level_cases[] = {
	{ "NOTSET", OTA_OK, LOG_NOTSET },
	{ "notset", OTA_OK, LOG_NOTSET },
	{ "DEBUG", OTA_OK, LOG_DEBUG },
	{ "debug", OTA_OK, LOG_DEBUG },
	{ "Info", OTA_OK, LOG_INFO },
	{ "INFO", OTA_OK, LOG_INFO },
	{ "WARNING", OTA_OK, LOG_WARNING },
	{ "warning", OTA_OK, LOG_WARNING },
	{ "WARN", OTA_OK, LOG_WARNING },
	{ "Warn", OTA_OK, LOG_WARNING },
	{ "ERROR", OTA_OK, LOG_ERROR },
	{ "eRRoR", OTA_OK, LOG_ERROR },
	{ "CRITICAL", OTA_OK, LOG_CRITICAL },
	{ "critical", OTA_OK, LOG_CRITICAL },
	{ "FATAL", OTA_OK, LOG_CRITICAL },
	{ "fatal", OTA_OK, LOG_CRITICAL },
	{ "", OTA_E_INVALID, LOG_NOTSET },
	{ "bogus", OTA_E_INVALID, LOG_NOTSET },
	{ "INF", OTA_E_INVALID, LOG_NOTSET },
	{ "WARNINGS", OTA_E_INVALID, LOG_NOTSET },
	{ " info", OTA_E_INVALID, LOG_NOTSET },
	{ "info ", OTA_E_INVALID, LOG_NOTSET },
	{ "ERR", OTA_E_INVALID, LOG_NOTSET },
};

static void
parse_level_table(void **state)
{
	size_t i;
	int bad = 0;

	(void)state;
	for (i = 0; i < sizeof(level_cases) / sizeof(level_cases[0]); i++) {
		const struct level_case *c = &level_cases[i];
		enum log_level lv = (enum log_level)-1;
		enum ota_status st = log_parse_level(c->name, &lv);

		if (st != c->want || (st == OTA_OK && lv != c->level) ||
		    (st != OTA_OK && lv != (enum log_level)-1)) {
			print_error("log_parse_level(\"%s\"): status %d level "
			    "%d, want %d %d\n", c->name, (int)st, (int)lv,
			    (int)c->want, (int)c->level);
			bad++;
		}
	}
	assert_int_equal(bad, 0);
}

struct esc_case {
	const char *in;
	size_t outsz;
	const char *out;
};

static const struct esc_case esc_cases[] = {
	{ "", 16, "" },
	{ "abc", 16, "abc" },
	{ "Mozilla/5.0 (X11) ~", 64, "Mozilla/5.0 (X11) ~" },
	{ "a\r\nb", 32, "a\\x0d\\x0ab" },
	{ "x\"y", 32, "x\\x22y" },
	{ "x\\y", 32, "x\\x5cy" },
	{ "\xff", 32, "\\xff" },
	{ "\x7f\x80", 32, "\\x7f\\x80" },
	{ "\t\x01\x1f", 32, "\\x09\\x01\\x1f" },
	{ "\xc3\xaf", 32, "\\xc3\\xaf" },
	/* Truncation: as much as fits, then "...", all within outsz. */
	{ "abcdefghijklmnop", 10, "abcdef..." },
	{ "\r\r\r\r", 10, "\\x0d..." },
	{ "ab\rcdefghij", 10, "ab\\x0d..." },
	/* Exact fits are not truncated. */
	{ "abc", 4, "abc" },
	{ "abcdefg", 8, "abcdefg" },
	{ "\n", 5, "\\x0a" },
	{ "abcdefghi", 10, "abcdefghi" },
};

static void
escape_table(void **state)
{
	size_t i;
	int bad = 0;

	(void)state;
	for (i = 0; i < sizeof(esc_cases) / sizeof(esc_cases[0]); i++) {
		const struct esc_case *c = &esc_cases[i];
		char out[128];

		memset(out, 'Z', sizeof(out));
		log_escape(out, c->outsz, c->in);
		if (strcmp(out, c->out) != 0 || out[c->outsz] != 'Z') {
			print_error("log_escape(case %zu, outsz %zu) = \"%s\", "
			    "want \"%s\"\n", i, c->outsz, out, c->out);
			bad++;
		}
	}
	assert_int_equal(bad, 0);
}

static void
escape_tiny_out(void **state)
{
	char out[8];
	size_t sz;

	(void)state;
	memset(out, 'Z', sizeof(out));
	log_escape(out, 0, "abc");
	assert_int_equal(out[0], 'Z');
	for (sz = 1; sz < 4; sz++) {
		memset(out, 'Z', sizeof(out));
		log_escape(out, sz, "abcdefgh");
		/* NUL-terminated within sz, never writing past it. */
		assert_non_null(memchr(out, '\0', sz));
		assert_int_equal(out[sz], 'Z');
	}
}

/* A pipe standing in for stderr; the read end is non-blocking. */
static int pfd[2] = { -1, -1 };

static int
pipe_setup(void **state)
{
	(void)state;
	if (pipe(pfd) != 0)
		return -1;
	fcntl(pfd[0], F_SETFL, O_NONBLOCK);
	log_set_fd(pfd[1]);
	return 0;
}

static int
pipe_teardown(void **state)
{
	(void)state;
	log_set_fd(-1);
	log_set_level(LOG_INFO);
	close(pfd[0]);
	close(pfd[1]);
	return 0;
}

/* Everything written so far, NUL-terminated; "" if nothing. */
static size_t
drain(char *out, size_t outsz)
{
	size_t n = 0;

	for (;;) {
		ssize_t r = read(pfd[0], out + n, outsz - 1 - n);

		if (r <= 0)
			break;
		n += (size_t)r;
	}
	out[n] = '\0';
	return n;
}

/* "YYYY-MM-DDTHH:MM:SSZ " then rest, then "\n". */
static void
assert_line(const char *line, const char *rest)
{
	static const char shape[] = "dddd-dd-ddTdd:dd:ddZ ";
	size_t i;

	for (i = 0; i < sizeof(shape) - 1; i++) {
		if (shape[i] == 'd')
			assert_true(isdigit((unsigned char)line[i]));
		else
			assert_int_equal(line[i], shape[i]);
	}
	assert_string_equal(line + sizeof(shape) - 1, rest);
}

static void
level_filtering_lines(void **state)
{
	char got[4096];

	(void)state;
	drain(got, sizeof(got));
	log_set_level(LOG_WARNING);
	log_debug("debug %d", 1);
	log_info("info %d", 2);
	assert_int_equal(drain(got, sizeof(got)), 0);
	log_warn("warn %d", 3);
	drain(got, sizeof(got));
	assert_line(got, "WARNING warn 3\n");
	log_error("error %s", "x");
	drain(got, sizeof(got));
	assert_line(got, "ERROR error x\n");
	log_msg(LOG_CRITICAL, "crit");
	drain(got, sizeof(got));
	assert_line(got, "CRITICAL crit\n");

	log_set_level(LOG_CRITICAL);
	log_error("hidden");
	assert_int_equal(drain(got, sizeof(got)), 0);

	log_set_level(LOG_DEBUG);
	log_debug("shown %s", "now");
	drain(got, sizeof(got));
	assert_line(got, "DEBUG shown now\n");

	log_set_level(LOG_NOTSET);
	log_debug("all");
	drain(got, sizeof(got));
	assert_line(got, "DEBUG all\n");
}

static void
access_never_filtered(void **state)
{
	char got[4096];

	(void)state;
	drain(got, sizeof(got));
	log_set_level(LOG_CRITICAL);
	log_access("%s \"%s\" %d", "127.0.0.1", "GET /good.bin HTTP/1.0",
	    200);
	drain(got, sizeof(got));
	assert_line(got, "127.0.0.1 \"GET /good.bin HTTP/1.0\" 200\n");
	log_set_level(LOG_INFO);
}

static void
long_line_truncated(void **state)
{
	char big[3000], got[8192];
	size_t n;

	(void)state;
	drain(got, sizeof(got));
	log_set_level(LOG_INFO);
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	log_info("%s", big);
	n = drain(got, sizeof(got));
	assert_true(n <= LOG_MAX_LINE);
	assert_true(n > LOG_MAX_LINE - 64);
	assert_memory_equal(got + n - 4, "...\n", 4);
	/* One line: the only newline is the last byte. */
	assert_ptr_equal(strchr(got, '\n'), got + n - 1);
	assert_memory_equal(got + 21, "INFO aaaa", 9);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(parse_level_table),
		cmocka_unit_test(escape_table),
		cmocka_unit_test(escape_tiny_out),
		cmocka_unit_test(level_filtering_lines),
		cmocka_unit_test(access_never_filtered),
		cmocka_unit_test(long_line_truncated),
	};

	return cmocka_run_group_tests_name("log", tests, pipe_setup,
	    pipe_teardown);
}
