#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/str.h"
#include "server/config.h"
#include "common/banned.h"

void
config_defaults(struct serve_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->port = CONFIG_DEFAULT_PORT;
	cfg->catalog[0] = '.';
	cfg->root_fd = -1;
	cfg->log_level = LOG_INFO;
	cfg->gate = GATE_STRICT;
	cfg->max_connections = CONFIG_DEFAULT_MAX_CONNECTIONS;
	cfg->read_timeout = CONFIG_DEFAULT_READ_TIMEOUT;
	cfg->idle_timeout = CONFIG_DEFAULT_IDLE_TIMEOUT;
	cfg->total_timeout = CONFIG_DEFAULT_TOTAL_TIMEOUT;
	cfg->shutdown_timeout = CONFIG_DEFAULT_SHUTDOWN_TIMEOUT;
}

enum ota_status
config_finish(struct serve_config *cfg, char *err, size_t errsz)
{
	struct stat st;

	if (realpath(cfg->catalog, cfg->root) == NULL) {
		(void)!str_fmt(err, errsz, "catalog '%s': %s", cfg->catalog,
		    strerror(errno));
		return OTA_E_NOTFOUND;
	}
	if (stat(cfg->root, &st) != 0 || !S_ISDIR(st.st_mode)) {
		(void)!str_fmt(err, errsz, "catalog '%s' is not a directory",
		    cfg->catalog);
		return OTA_E_INVALID;
	}
	if (access(cfg->root, R_OK | X_OK) != 0 ||
	    (cfg->root_fd = open(cfg->root, O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC)) < 0) {
		(void)!str_fmt(err, errsz, "catalog '%s' is not readable: %s",
		    cfg->catalog, strerror(errno));
		return OTA_E_FORBIDDEN;
	}
	return OTA_OK;
}

void
config_release(struct serve_config *cfg)
{
	if (cfg->root_fd >= 0)
		close(cfg->root_fd);
	cfg->root_fd = -1;
}
