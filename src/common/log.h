/*
 * log: levelled diagnostics and the access log, on stderr.
 *
 * Level names and numbers are Python's logging ones, because `ota serve
 * --log LEVEL` must accept what updateserver.py accepted. Every line is
 * formatted into one buffer and written with a single write(2), so lines
 * from different threads never interleave. The access log is not levelled:
 * like the reference's, it is printed whatever --log says.
 */
#ifndef OTA_LOG_H
#define OTA_LOG_H

#include <ota/status.h>

enum log_level {
	LOG_NOTSET = 0,
	LOG_DEBUG = 10,
	LOG_INFO = 20,
	LOG_WARNING = 30,
	LOG_ERROR = 40,
	LOG_CRITICAL = 50
};

#define LOG_MAX_LINE 2048

/*
 * Parses a Python level name, case-insensitively: NOTSET, DEBUG, INFO,
 * WARNING (WARN), ERROR, CRITICAL (FATAL). OTA_E_INVALID otherwise.
 */
__attribute__((warn_unused_result))
enum ota_status log_parse_level(const char *name, enum log_level *out);
void log_set_level(enum log_level level);
enum log_level log_get_level(void);
/* Writes to fd instead of stderr (tests); -1 restores stderr. */
void log_set_fd(int fd);

__attribute__((format(printf, 2, 3)))
void log_msg(enum log_level level, const char *fmt, ...);
/* One access-log line, never filtered by level. */
__attribute__((format(printf, 1, 2)))
void log_access(const char *fmt, ...);

#define log_debug(...)	log_msg(LOG_DEBUG, __VA_ARGS__)
#define log_info(...)	log_msg(LOG_INFO, __VA_ARGS__)
#define log_warn(...)	log_msg(LOG_WARNING, __VA_ARGS__)
#define log_error(...)	log_msg(LOG_ERROR, __VA_ARGS__)

/*
 * Copies s into out[outsz] with every byte outside printable ASCII, and
 * '"' and '\\', written as \xNN, so that request data can never forge a
 * log line. Truncates with "..." when it won't fit.
 */
void log_escape(char *out, size_t outsz, const char *s);

#endif
