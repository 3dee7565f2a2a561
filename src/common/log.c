#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "common/banned.h"

static _Atomic int log_level = LOG_INFO;
static _Atomic int log_fd = STDERR_FILENO;

static const struct {
	const char *name;
	enum log_level level;
} log_names[] = {
	{ "NOTSET", LOG_NOTSET },
	{ "DEBUG", LOG_DEBUG },
	{ "INFO", LOG_INFO },
	{ "WARNING", LOG_WARNING },
	{ "WARN", LOG_WARNING },
	{ "ERROR", LOG_ERROR },
	{ "CRITICAL", LOG_CRITICAL },
	{ "FATAL", LOG_CRITICAL },
};

enum ota_status
log_parse_level(const char *name, enum log_level *out)
{
	size_t i;

	for (i = 0; i < sizeof(log_names) / sizeof(log_names[0]); i++) {
		if (strcasecmp(name, log_names[i].name) == 0) {
			*out = log_names[i].level;
			return OTA_OK;
		}
	}
	return OTA_E_INVALID;
}

void
log_set_level(enum log_level level)
{
	log_level = level;
}

enum log_level
log_get_level(void)
{
	return (enum log_level)log_level;
}

void
log_set_fd(int fd)
{
	log_fd = fd < 0 ? STDERR_FILENO : fd;
}

static const char *
level_name(enum log_level level)
{
	if (level >= LOG_CRITICAL)
		return "CRITICAL";
	if (level >= LOG_ERROR)
		return "ERROR";
	if (level >= LOG_WARNING)
		return "WARNING";
	if (level >= LOG_INFO)
		return "INFO";
	return "DEBUG";
}

__attribute__((format(printf, 2, 0)))
static void
log_write(const char *tag, const char *fmt, va_list ap)
{
	char line[LOG_MAX_LINE];
	const size_t room = sizeof(line) - 1;	/* one byte kept for '\n' */
	struct timespec ts;
	struct tm tm;
	size_t n;
	int r;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	n = strftime(line, room, "%Y-%m-%dT%H:%M:%SZ ", &tm);
	if (tag != NULL) {
		r = snprintf(line + n, room - n, "%s ", tag);
		if (r > 0 && (size_t)r < room - n)
			n += (size_t)r;
	}
	r = vsnprintf(line + n, room - n, fmt, ap);
	if (r < 0)
		return;
	if ((size_t)r >= room - n) {
		n = room - 1;
		memcpy(line + n - 3, "...", 3);
	} else
		n += (size_t)r;
	line[n++] = '\n';
	(void)!write(log_fd, line, n);
}

void
log_msg(enum log_level level, const char *fmt, ...)
{
	va_list ap;

	if ((int)level < log_level)
		return;
	va_start(ap, fmt);
	log_write(level_name(level), fmt, ap);
	va_end(ap);
}

void
log_access(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_write(NULL, fmt, ap);
	va_end(ap);
}

static size_t
escaped_len(unsigned char c)
{
	return c < 0x20 || c >= 0x7f || c == '"' || c == '\\' ? 4 : 1;
}

void
log_escape(char *out, size_t outsz, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p;
	size_t o = 0, total = 0, limit;

	if (outsz == 0)
		return;
	for (p = (const unsigned char *)s; *p != '\0'; p++)
		total += escaped_len(*p);
	/* All of it if it fits; else as much as leaves room for "...". */
	limit = total < outsz ? total : outsz > 4 ? outsz - 4 : 0;
	for (p = (const unsigned char *)s; *p != '\0'; p++) {
		if (o + escaped_len(*p) > limit)
			break;
		if (escaped_len(*p) == 4) {
			out[o++] = '\\';
			out[o++] = 'x';
			out[o++] = hex[*p >> 4];
			out[o++] = hex[*p & 0xf];
		} else
			out[o++] = (char)*p;
	}
	if (total >= outsz && outsz >= 4) {
		memcpy(out + o, "...", 3);
		o += 3;
	}
	out[o] = '\0';
}
