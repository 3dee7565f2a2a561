#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "cli/cli.h"
#include "common/log.h"
#include "common/str.h"
#include "server/config.h"
#include "server/espgate.h"
#include "server/filecache.h"
#include "server/httpd.h"
#include "server/listen.h"
#include "server/store.h"
#include "common/banned.h"

enum {
	OPT_GATE = 0x100,
	OPT_ALWAYS_SEND,
	OPT_MAX_CONN,
	OPT_THREADS,
	OPT_READ_TIMEOUT,
	OPT_IDLE_TIMEOUT,
	OPT_TOTAL_TIMEOUT,
	OPT_SHUTDOWN_TIMEOUT,
	OPT_PORT_FILE,
	OPT_DATA,
	OPT_PUBLIC_URL,
	OPT_RATE_LIMIT,
};

static const struct option serve_options[] = {
	{ "port", required_argument, NULL, 'p' },
	{ "bind", required_argument, NULL, 'b' },
	{ "catalog", required_argument, NULL, 'd' },
	{ "log", required_argument, NULL, 'l' },
	{ "help", no_argument, NULL, 'h' },
	{ "gate", required_argument, NULL, OPT_GATE },
	{ "always-send", no_argument, NULL, OPT_ALWAYS_SEND },
	{ "max-connections", required_argument, NULL, OPT_MAX_CONN },
	{ "threads", required_argument, NULL, OPT_THREADS },
	{ "read-timeout", required_argument, NULL, OPT_READ_TIMEOUT },
	{ "idle-timeout", required_argument, NULL, OPT_IDLE_TIMEOUT },
	{ "total-timeout", required_argument, NULL, OPT_TOTAL_TIMEOUT },
	{ "shutdown-timeout", required_argument, NULL, OPT_SHUTDOWN_TIMEOUT },
	{ "port-file", required_argument, NULL, OPT_PORT_FILE },
	{ "data", required_argument, NULL, OPT_DATA },
	{ "public-url", required_argument, NULL, OPT_PUBLIC_URL },
	{ "rate-limit", required_argument, NULL, OPT_RATE_LIMIT },
	{ NULL, 0, NULL, 0 },
};

void
cmd_serve_usage(void)
{
	printf(
"usage: ota serve [-p PORT] [-b ADDRESS] [-d CATALOG] [-l LEVEL] [OPTIONS]\n"
"\n"
"Serve a folder of ESP8266/ESP32 images to AutoConnectUpdate and the\n"
"Arduino httpUpdate clients. Same flags and protocol as AutoConnect's\n"
"updateserver.py, so existing devices keep working unchanged.\n"
"\n"
"  -p, --port PORT         TCP port (default 8000; 0 picks a free one)\n"
"  -b, --bind ADDRESS      address to listen on (default: every interface,\n"
"                          IPv4 and IPv6)\n"
"  -d, --catalog DIR       folder of images (default: current directory)\n"
"  -l, --log LEVEL         DEBUG, INFO, WARNING, ERROR or CRITICAL\n"
"                          (default INFO); the access log is always on\n"
"      --data DIR          release store for the GitHub-compatible API\n"
"                          (default $OTA_DATA or ./ota-data, used if it\n"
"                          exists; a DIR given here is created)\n"
"      --public-url URL    base of the links in API answers, when clients\n"
"                          reach the server through a proxy (default:\n"
"                          http:// and the request's Host)\n"
"      --rate-limit N[:M]  GitHub API requests an hour per client address\n"
"                          (N) and per token (M, default N), with\n"
"                          X-RateLimit-* headers and 403 past them, as\n"
"                          GitHub; raw files and 304s are free (default off)\n"
"      --gate MODE         who may download: strict (default; ESP\n"
"                          User-Agent and the seven x-ESP*-* headers, as\n"
"                          updateserver.py), relaxed (ESP User-Agent only,\n"
"                          for ESP32 cores that omit sketch-md5 or the\n"
"                          MACs), off (any client, e.g. curl)\n"
"      --always-send       send the image even when the device reports it\n"
"                          already runs it (default: answer 304)\n"
"      --max-connections N answer 503 past N open connections (default %d)\n"
"      --threads N         worker threads (default: one per CPU)\n"
"      --read-timeout S    seconds to receive request headers (default %d)\n"
"      --idle-timeout S    seconds without progress (default %d)\n"
"      --total-timeout S   seconds a connection may live (default %d)\n"
"      --shutdown-timeout S seconds to finish answers on SIGTERM (default %d)\n"
"      --port-file FILE    write the bound port to FILE once listening\n"
"  -h, --help              show this help\n"
"\n"
"Routes: GET /_catalog?op=list&path=DIR lists a folder as JSON;\n"
"GET /FILE sends an image with x-MD5 and x-SHA256. From the store:\n"
"/repos/OWNER/REPO/... and /raw/... answer MicroPython updaters,\n"
"/esp/OWNER/REPO gives ESP boards the newest firmware for them, /api/v1/\n"
"publishes with a token. See ota-serve(8) and docs/api.md.\n",
	    CONFIG_DEFAULT_MAX_CONNECTIONS, CONFIG_DEFAULT_READ_TIMEOUT,
	    CONFIG_DEFAULT_IDLE_TIMEOUT, CONFIG_DEFAULT_TOTAL_TIMEOUT,
	    CONFIG_DEFAULT_SHUTDOWN_TIMEOUT);
}

__attribute__((format(printf, 1, 2)))
static int
usage_error(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "ota serve: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (see 'ota serve --help')\n");
	return CLI_EXIT_USAGE;
}

static int
parse_uint(const char *flag, const char *arg, uint64_t min, uint64_t max,
    unsigned *out)
{
	uint64_t v;

	if (parse_u64(arg, min, max, &v) != OTA_OK) {
		fprintf(stderr, "ota serve: %s wants a whole number from "
		    "%llu to %llu, not '%s' (see 'ota serve --help')\n", flag,
		    (unsigned long long)min, (unsigned long long)max, arg);
		return -1;
	}
	*out = (unsigned)v;
	return 0;
}

/* "--name" of a long option, for messages (argv may hold its value). */
static const char *
option_name(int val)
{
	static char name[40];
	const struct option *o;

	for (o = serve_options; o->name != NULL; o++)
		if (o->val == val)
			break;
	(void)!str_fmt(name, sizeof(name), "--%s", o->name ? o->name : "?");
	return name;
}

/* "N" or "N:M" into cfg->rate_anon and cfg->rate_token. */
static int
parse_rate(const char *arg, struct serve_config *cfg)
{
	char n[16];
	const char *colon = strchr(arg, ':');
	uint64_t a, b;

	if (str_copy(n, sizeof(n), arg) != OTA_OK)
		return -1;
	if (colon != NULL)
		n[colon - arg] = '\0';
	if (parse_u64(n, 1, CONFIG_MAX_RATE, &a) != OTA_OK)
		return -1;
	b = a;
	if (colon != NULL && parse_u64(colon + 1, 1, CONFIG_MAX_RATE, &b) !=
	    OTA_OK)
		return -1;
	cfg->rate_anon = (uint32_t)a;
	cfg->rate_token = (uint32_t)b;
	return 0;
}

static int
parse_args(int argc, char **argv, struct serve_config *cfg)
{
	unsigned port = CONFIG_DEFAULT_PORT, *u = NULL;
	int c;

	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, ":p:b:d:l:h", serve_options,
	    NULL)) != -1) {
		uint64_t min = 1, max = CONFIG_MAX_TIMEOUT;

		switch (c) {
		case 'p':
			if (parse_uint("--port", optarg, 0, 65535, &port))
				return CLI_EXIT_USAGE;
			cfg->port = (uint16_t)port;
			continue;
		case 'b':
			if (str_copy(cfg->bind, sizeof(cfg->bind), optarg))
				return usage_error("--bind '%s' is too long",
				    optarg);
			continue;
		case 'd':
			if (str_copy(cfg->catalog, sizeof(cfg->catalog),
			    optarg))
				return usage_error("--catalog '%s' is too "
				    "long", optarg);
			continue;
		case 'l':
			if (log_parse_level(optarg, &cfg->log_level))
				return usage_error("invalid log level '%s': "
				    "use DEBUG, INFO, WARNING, ERROR or "
				    "CRITICAL", optarg);
			continue;
		case 'h':
			cmd_serve_usage();
			return -1;
		case OPT_GATE:
			if (espgate_parse_mode(optarg, &cfg->gate))
				return usage_error("invalid --gate '%s': use "
				    "strict, relaxed or off", optarg);
			continue;
		case OPT_ALWAYS_SEND:
			cfg->always_send = true;
			continue;
		case OPT_DATA:
			if (str_copy(cfg->data, sizeof(cfg->data), optarg))
				return usage_error("--data '%s' is too long",
				    optarg);
			cfg->data_given = true;
			continue;
		case OPT_PUBLIC_URL:
			if (str_copy(cfg->public_url, sizeof(cfg->public_url),
			    optarg) || (!str_has_prefix(optarg, "http://") &&
			    !str_has_prefix(optarg, "https://")))
				return usage_error("--public-url '%s' is not an "
				    "http:// or https:// URL", optarg);
			/* Links are built as URL + "/repos/...". */
			while (strlen(cfg->public_url) > 0 &&
			    cfg->public_url[strlen(cfg->public_url) - 1] == '/')
				cfg->public_url[strlen(cfg->public_url) - 1] =
				    '\0';
			continue;
		case OPT_RATE_LIMIT:
			if (parse_rate(optarg, cfg) != 0)
				return usage_error("--rate-limit wants N or N:M "
				    "(requests an hour, 1 to %u), not '%s'",
				    CONFIG_MAX_RATE, optarg);
			continue;
		case OPT_PORT_FILE:
			if (str_copy(cfg->port_file, sizeof(cfg->port_file),
			    optarg))
				return usage_error("--port-file '%s' is too "
				    "long", optarg);
			continue;
		case OPT_MAX_CONN:
			u = &cfg->max_connections;
			max = CONFIG_MAX_CONNECTIONS_LIMIT;
			break;
		case OPT_THREADS:
			u = &cfg->threads;
			max = CONFIG_MAX_THREADS;
			break;
		case OPT_READ_TIMEOUT:
			u = &cfg->read_timeout;
			break;
		case OPT_IDLE_TIMEOUT:
			u = &cfg->idle_timeout;
			break;
		case OPT_TOTAL_TIMEOUT:
			u = &cfg->total_timeout;
			break;
		case OPT_SHUTDOWN_TIMEOUT:
			u = &cfg->shutdown_timeout;
			min = 0;
			break;
		case ':':
			return usage_error("option '%s' needs a value",
			    argv[optind - 1]);
		default:
			return usage_error("unknown option '%s'",
			    argv[optind - 1]);
		}
		if (parse_uint(option_name(c), optarg, min, max, u))
			return CLI_EXIT_USAGE;
	}
	if (optind < argc)
		return usage_error("unexpected argument '%s'", argv[optind]);
	return 0;
}

/* Writes the port to path via a temporary file and rename. */
static int
write_port_file(const char *path, uint16_t port)
{
	char tmp[PATH_MAX], text[16];
	int fd, ok;

	if (str_fmt(tmp, sizeof(tmp), "%s.tmp", path) != OTA_OK ||
	    str_fmt(text, sizeof(text), "%u\n", (unsigned)port) != OTA_OK)
		return -1;
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0644)) < 0)
		return -1;
	ok = write(fd, text, strlen(text)) == (ssize_t)strlen(text) &&
	    fsync(fd) == 0;
	if (close(fd) != 0 || !ok || rename(tmp, path) != 0) {
		unlink(tmp);
		return -1;
	}
	return 0;
}

static void
raise_fd_limit(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
}

int
cmd_serve(int argc, char **argv)
{
	char err[512];
	struct serve_config cfg;
	struct filecache *cache = NULL;
	struct httpd *h = NULL;
	struct store *store = NULL;
	sigset_t sigs;
	int lfd = -1, sig = 0, r;

	config_defaults(&cfg);
	if ((r = parse_args(argc, argv, &cfg)) != 0)
		return r < 0 ? CLI_EXIT_OK : r;
	log_set_level(cfg.log_level);
	if (config_finish(&cfg, err, sizeof(err)) != OTA_OK) {
		log_error("%s", err);
		return CLI_EXIT_FAIL;
	}
	if (!cfg.data_given)
		(void)!str_copy(cfg.data, sizeof(cfg.data), cli_data_dir(NULL));
	if (store_open(&store, cfg.data, cfg.data_given, err, sizeof(err)) !=
	    OTA_OK) {
		if (cfg.data_given || access(cfg.data, F_OK) == 0) {
			log_error("%s", err);
			config_release(&cfg);
			return CLI_EXIT_FAIL;
		}
		log_info("no release store at '%s': serving the catalog only "
		    "(create one with 'ota publish')", cfg.data);
	} else
		log_info("release store '%s'", cfg.data);

	/* Signals are taken by sigwait() below, never by a server thread. */
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	raise_fd_limit();

	if (listen_open(cfg.bind, cfg.port, &lfd, err, sizeof(err)) !=
	    OTA_OK) {
		log_error("%s", err);
		store_free(store);
		return CLI_EXIT_FAIL;
	}
	cfg.port = listen_port(lfd);
	if ((cache = filecache_new(FILECACHE_DEFAULT_ENTRIES)) == NULL) {
		close(lfd);
		log_error("out of memory");
		store_free(store);
		return CLI_EXIT_FAIL;
	}
	if ((h = httpd_start(&cfg, cache, store, lfd, err, sizeof(err))) ==
	    NULL) {
		log_error("%s", err);
		filecache_free(cache);
		store_free(store);
		return CLI_EXIT_FAIL;
	}
	log_info("http server starting %s:%u %s", cfg.bind[0] ? cfg.bind :
	    "*", (unsigned)cfg.port, cfg.root);
	listen_log_urls(lfd, cfg.bind);
	if (cfg.port_file[0] != '\0' &&
	    write_port_file(cfg.port_file, cfg.port) != 0)
		log_warn("cannot write port file '%s': %s", cfg.port_file,
		    strerror(errno));

	sigwait(&sigs, &sig);
	log_info("shutting down on %s; finishing answers for up to %us",
	    sig == SIGINT ? "SIGINT" : "SIGTERM", cfg.shutdown_timeout);
	httpd_stop(h, cfg.shutdown_timeout);
	filecache_free(cache);
	store_free(store);
	config_release(&cfg);
	log_info("stopped");
	return CLI_EXIT_OK;
}
