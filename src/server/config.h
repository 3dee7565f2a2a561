/*
 * config: the settings of `ota serve`, their defaults and named limits.
 * Filled by the CLI (src/cli/cmd_serve.c), checked by config_finish()
 * before any socket is bound.
 */
#ifndef OTA_CONFIG_H
#define OTA_CONFIG_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <ota/status.h>

#include "common/log.h"
#include "server/espgate.h"

#define CONFIG_DEFAULT_PORT 8000
#define CONFIG_DEFAULT_MAX_CONNECTIONS 1024
#define CONFIG_MAX_CONNECTIONS_LIMIT 100000
#define CONFIG_DEFAULT_READ_TIMEOUT 10	/* seconds to send the headers */
#define CONFIG_DEFAULT_IDLE_TIMEOUT 30	/* seconds without any progress */
#define CONFIG_DEFAULT_TOTAL_TIMEOUT 600 /* seconds a connection may live */
#define CONFIG_DEFAULT_SHUTDOWN_TIMEOUT 10
#define CONFIG_MAX_TIMEOUT 86400
#define CONFIG_MAX_THREADS 256
#define CONFIG_RETRY_AFTER 5		/* seconds, sent with 503 */
#define CONFIG_MAX_RATE 10000000	/* --rate-limit, requests an hour */

struct serve_config {
	char bind[256];		/* "" = every interface, IPv6 and IPv4 */
	uint16_t port;
	char catalog[PATH_MAX];	/* as given; see root */
	char root[PATH_MAX];	/* canonical catalog, set by config_finish */
	int root_fd;		/* root opened as a directory, likewise */
	char port_file[PATH_MAX]; /* "" = none */
	char data[PATH_MAX];	/* the release store */
	bool data_given;	/* --data: create it; else only if it exists */
	char public_url[512];	/* base of links in API answers; "" = Host */
	uint32_t rate_anon;	/* API requests an hour per address; 0: off */
	uint32_t rate_token;	/* per token; 0: off */
	enum log_level log_level;
	enum gate_mode gate;
	bool always_send;	/* no 304 when the device runs the image */
	unsigned max_connections;
	unsigned threads;	/* 0 = one per CPU */
	unsigned read_timeout;
	unsigned idle_timeout;
	unsigned total_timeout;
	unsigned shutdown_timeout;
};

void config_defaults(struct serve_config *cfg);

/*
 * Canonicalises the catalog into cfg->root (relative, trailing-slash and
 * symlinked catalogs all work) and checks it is a readable directory.
 * On failure writes a one-line reason to err[errsz].
 */
__attribute__((warn_unused_result))
enum ota_status config_finish(struct serve_config *cfg, char *err,
    size_t errsz);

/* Closes what config_finish opened. */
void config_release(struct serve_config *cfg);

#endif
