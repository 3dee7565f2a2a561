/* POLLRDHUP (Linux): seeing that a client hung up in mid-upload. */
#define _GNU_SOURCE
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

#include "common/log.h"
#include "common/str.h"
#include "server/github.h"
#include "server/httpd.h"
#include "server/ratelimit.h"
#include "server/route.h"
#include "common/banned.h"

#define HTTPD_MAX_LOG_TARGET 512
#define HTTPD_MAX_PEER 64
#define HTTPD_DRAIN_POLL_NS (50 * 1000000L)

/* One per TCP connection, linked into httpd.conns. */
struct conn {
	int fd;
	struct timespec start;
	struct timespec wait_since;	/* when it began owing us headers */
	bool in_request;		/* headers received, answer under way */
	bool uploading;			/* a request body is being received */
	struct timespec progress;	/* when the body last moved on */
	bool shut;
	struct conn *prev, *next;
};

/* One per request; made by the URI-log callback, freed on completion. */
struct request {
	struct conn *conn;
	struct timespec t0;
	int status;			/* 0: answered by libmicrohttpd itself */
	bool headers_seen;		/* the handler was called once */
	struct route_upload *upload;	/* a body being received */
	uint64_t bytes;
	char method[16];
	char note[REPLY_MAX_NOTE];
	char target[];			/* raw request-target, NUL-terminated */
};

struct httpd {
	struct MHD_Daemon *daemon;
	const struct serve_config *cfg;
	struct route_env env;
	pthread_mutex_t store_lock;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	struct conn *conns;
	unsigned nconns;
	bool draining;
	bool stopping;
	pthread_t reaper;
	bool reaper_started;
};

static double
elapsed(const struct timespec *a, const struct timespec *b)
{
	return (double)(b->tv_sec - a->tv_sec) +
	    (double)(b->tv_nsec - a->tv_nsec) / 1e9;
}

static void
now(struct timespec *ts)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
}

/* ---- connection registry and reaper ---- */

static void
on_connection(void *cls, struct MHD_Connection *c, void **socket_context,
    enum MHD_ConnectionNotificationCode code)
{
	struct httpd *h = cls;
	struct conn *k = *socket_context;
	const union MHD_ConnectionInfo *ci;

	if (code == MHD_CONNECTION_NOTIFY_STARTED) {
		if ((k = calloc(1, sizeof(*k))) == NULL)
			return;
		ci = MHD_get_connection_info(c,
		    MHD_CONNECTION_INFO_CONNECTION_FD);
		k->fd = ci ? ci->connect_fd : -1;
		now(&k->start);
		k->wait_since = k->start;
		pthread_mutex_lock(&h->lock);
		k->next = h->conns;
		if (h->conns)
			h->conns->prev = k;
		h->conns = k;
		h->nconns++;
		pthread_mutex_unlock(&h->lock);
		*socket_context = k;
		return;
	}
	if (k == NULL)
		return;
	pthread_mutex_lock(&h->lock);
	if (k->prev)
		k->prev->next = k->next;
	else
		h->conns = k->next;
	if (k->next)
		k->next->prev = k->prev;
	h->nconns--;
	pthread_mutex_unlock(&h->lock);
	*socket_context = NULL;
	free(k);
}

/*
 * True if the peer of fd has closed its side. libmicrohttpd 0.9.75 with
 * epoll can miss a hang-up that comes while it is not reading a request
 * body (its buffer full), and would keep the upload open until the idle
 * timeout; the reaper asks the socket itself.
 */
static bool
hung_up(int fd)
{
	struct pollfd p = { fd, POLLRDHUP, 0 };

	return poll(&p, 1, 0) == 1 &&
	    (p.revents & (POLLRDHUP | POLLHUP | POLLERR)) != 0;
}

static void
reap_locked(struct httpd *h, const struct timespec *t)
{
	struct conn *k;

	for (k = h->conns; k != NULL; k = k->next) {
		const char *why = NULL;

		if (k->shut || k->fd < 0)
			continue;
		if (elapsed(&k->start, t) > h->cfg->total_timeout)
			why = "total timeout";
		else if (k->uploading && elapsed(&k->progress, t) >
		    HTTPD_UPLOAD_STALL_S && hung_up(k->fd))
			why = "the client hung up in mid-upload";
		else if (!k->in_request && (h->draining ||
		    elapsed(&k->wait_since, t) > h->cfg->read_timeout))
			why = h->draining ? "shutting down" :
			    "read timeout (request headers too slow)";
		if (why == NULL)
			continue;
		log_debug("closing connection on fd %d: %s", k->fd, why);
		if (k->in_request) {
			/*
			 * Cutting an answer short resets: without it the
			 * kernel goes on trickling the queued send buffer
			 * (megabytes) to a slow reader long after the library
			 * closed. A connection owing us headers has nothing
			 * queued and gets an ordinary close.
			 */
			struct linger rst = { 1, 0 };

			setsockopt(k->fd, SOL_SOCKET, SO_LINGER, &rst,
			    sizeof(rst));
		}
		shutdown(k->fd, SHUT_RDWR);
		k->shut = true;
	}
}

static void *
reaper_main(void *arg)
{
	struct httpd *h = arg;
	struct timespec t, until;

	pthread_mutex_lock(&h->lock);
	while (!h->stopping) {
		now(&t);
		reap_locked(h, &t);
		clock_gettime(CLOCK_MONOTONIC, &until);
		until.tv_nsec += HTTPD_REAPER_INTERVAL_MS * 1000000L;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&h->wake, &h->lock, &until);
	}
	pthread_mutex_unlock(&h->lock);
	return NULL;
}

/* ---- requests ---- */

static void *
on_uri(void *cls, const char *uri, struct MHD_Connection *c)
{
	const union MHD_ConnectionInfo *ci;
	size_t n = strlen(uri);
	struct request *r;

	if ((r = calloc(1, sizeof(*r) + n + 1)) == NULL)
		return NULL;
	memcpy(r->target, uri, n + 1);
	now(&r->t0);
	ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	r->conn = ci ? ci->socket_context : NULL;
	return r;
}

/* No unescaping: target.c decodes the raw target itself. */
static size_t
on_unescape(void *cls, struct MHD_Connection *c, char *s)
{
	return strlen(s);
}

static const char *
lookup_header(void *ctx, const char *name)
{
	return MHD_lookup_connection_value(ctx, MHD_HEADER_KIND, name);
}

static struct MHD_Response *
make_response(struct reply *rep)
{
	struct MHD_Response *resp;
	size_t i;

	if (rep->fd >= 0) {
		/*
		 * Also for a 304: libmicrohttpd 0.9.75 never sends its body
		 * but announces its size, which RFC 9110 §8.6 wants to be the
		 * size a 200 would have had (an empty buffer would say 0).
		 */
		resp = MHD_create_response_from_fd_at_offset64(rep->length,
		    rep->fd, rep->offset);
		if (resp != NULL)
			rep->fd = -1;	/* the library closes it now */
	} else if (rep->body != NULL) {
		resp = MHD_create_response_from_buffer_with_free_callback(
		    rep->body_len, rep->body, free);
		if (resp != NULL)
			rep->body = NULL;
	} else
		resp = MHD_create_response_from_buffer(0, (void *)"",
		    MHD_RESPMEM_PERSISTENT);
	if (resp == NULL)
		return NULL;
	for (i = 0; i < rep->nhdr; i++)
		MHD_add_response_header(resp, rep->hdr[i].name,
		    rep->hdr[i].value);
	MHD_add_response_header(resp, MHD_HTTP_HEADER_SERVER,
	    "ota/" OTA_VERSION_STRING);
	if (rep->status == 503)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION,
		    "close");
	return resp;
}

/* What the framing headers say; filled by framing_one. */
struct framing {
	unsigned ncl, nte;
	char cl[32];		/* the first Content-Length */
	bool cl_conflict;	/* a later one differs */
	bool te_other;		/* a coding other than chunked */
	bool cl_nonzero;
};

static enum MHD_Result
framing_one(void *cls, enum MHD_ValueKind kind, const char *key,
    const char *value)
{
	struct framing *f = cls;

	if (strcasecmp(key, MHD_HTTP_HEADER_CONTENT_LENGTH) == 0) {
		if (f->ncl++ == 0)
			(void)!str_copy(f->cl, sizeof(f->cl), value);
		else if (strcmp(f->cl, value) != 0)
			f->cl_conflict = true;
		if (strspn(value, "0") != strlen(value))
			f->cl_nonzero = true;
	} else if (strcasecmp(key, MHD_HTTP_HEADER_TRANSFER_ENCODING) == 0) {
		f->nte++;
		if (strcasecmp(value, "chunked") != 0)
			f->te_other = true;
	}
	return MHD_YES;
}

/*
 * RFC 9112 §6: refuses ambiguous framing (400), unknown transfer codings
 * (501), and says whether a body follows and how long it is (UINT64_MAX:
 * not known). 0 when the framing is sound.
 */
static int
framing_check(struct MHD_Connection *c, bool *has_body, uint64_t *length)
{
	struct framing f;

	memset(&f, 0, sizeof(f));
	MHD_get_connection_values(c, MHD_HEADER_KIND, framing_one, &f);
	*has_body = f.nte > 0 || f.cl_nonzero;
	*length = 0;
	if (f.nte > 0 || (f.ncl > 0 && parse_u64(f.cl, 0, UINT64_MAX - 1,
	    length) != OTA_OK))
		*length = UINT64_MAX;	/* chunked, or not a number */
	if (f.cl_conflict || (f.nte > 0 && f.ncl > 0))
		return 400;
	if (f.te_other)
		return 501;
	return 0;
}

static void
peer_name(struct MHD_Connection *c, char *out, size_t outsz)
{
	const union MHD_ConnectionInfo *ci =
	    MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	const struct sockaddr *sa = ci ? ci->client_addr : NULL;

	if (sa == NULL || getnameinfo(sa, sa->sa_family == AF_INET6 ?
	    sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in), out,
	    (socklen_t)outsz, NULL, 0, NI_NUMERICHOST) != 0)
		(void)!str_copy(out, outsz, "-");
	else if (strncmp(out, "::ffff:", 7) == 0 && strchr(out + 7, '.'))
		memmove(out, out + 7, strlen(out + 7) + 1);
}

/* Tells the reaper a body is (still) arriving on r's connection. */
static void
upload_progress(struct httpd *h, struct request *r, bool more)
{
	pthread_mutex_lock(&h->lock);
	if (r->conn != NULL) {
		r->conn->uploading = more;
		now(&r->conn->progress);
	}
	pthread_mutex_unlock(&h->lock);
}

/* route_req.peer: the connection is the header context. */
static void
req_peer(void *ctx, char *out, size_t outsz)
{
	peer_name(ctx, out, outsz);
}

static enum MHD_Result
on_request(void *cls, struct MHD_Connection *c, const char *url,
    const char *method, const char *version, const char *upload_data,
    size_t *upload_size, void **req_cls)
{
	struct httpd *h = cls;
	struct request *r = *req_cls;
	struct route_req req;
	struct reply rep;
	struct MHD_Response *resp;
	enum MHD_Result ret;
	bool over, draining, has_body = false, uploaded = false;
	uint64_t length = 0;
	int bad_framing = 0;

	if (r == NULL)
		return MHD_NO;	/* no memory for the request: drop it */
	if (r->status != 0) {
		/* Answered already; a body we will not read is dropped. */
		*upload_size = 0;
		return MHD_YES;
	}
	pthread_mutex_lock(&h->lock);
	if (r->conn != NULL)
		r->conn->in_request = true;
	over = h->nconns > h->cfg->max_connections;
	draining = h->draining;
	pthread_mutex_unlock(&h->lock);
	req.method = method;
	req.target = r->target;
	req.header = lookup_header;
	req.header_ctx = c;
	req.peer = req_peer;
	reply_init(&rep);
	/*
	 * The first call comes right after the headers. A GET or HEAD
	 * without a body is answered on the second call, once the library
	 * knows the (empty) body is complete, so that the connection can stay
	 * open. A POST or PUT the routes accept (route_upload_begin) has its
	 * body fed to them as it arrives and is answered at its end. Anything
	 * else with a body, or with bad framing, is answered now, before its
	 * body is read, and the connection is closed after it.
	 */
	if (!r->headers_seen) {
		r->headers_seen = true;
		bad_framing = framing_check(c, &has_body, &length);
		if (bad_framing == 0 && !has_body &&
		    (strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0))
			return MHD_YES;
		if (bad_framing == 0 && !over && !draining &&
		    (strcmp(method, "POST") == 0 ||
		    strcmp(method, "PUT") == 0) &&
		    (r->upload = route_upload_begin(&h->env, &req, length,
		    &rep)) != NULL) {
			upload_progress(h, r, true);
			return MHD_YES;
		}
		uploaded = rep.status != 0;	/* refused on its headers */
	} else if (r->upload != NULL && *upload_size > 0) {
		/*
		 * After a failure (too large) the rest is read and dropped,
		 * so that the client hears why at the end: libmicrohttpd
		 * 0.9.75 resets a connection answered in mid-body.
		 */
		(void)route_upload_data(r->upload, upload_data, *upload_size);
		*upload_size = 0;
		upload_progress(h, r, true);
		return MHD_YES;
	}
	if (r->upload != NULL) {
		upload_progress(h, r, false);
		route_upload_end(r->upload, &req, &rep);
		r->upload = NULL;
		uploaded = true;
	}

	if (uploaded)
		;
	else if (bad_framing != 0)
		route_error(&rep, bad_framing);
	else if (over)
		route_error(&rep, 503);
	else
		route_handle(&h->env, &req, &rep);
	r->status = rep.status;
	r->bytes = rep.fd >= 0 ? rep.length : rep.body_len;
	if (strcmp(method, "HEAD") == 0 || rep.status == 304)
		r->bytes = 0;
	/* The library does not validate the method: escape it for the log. */
	log_escape(r->method, sizeof(r->method), method);
	memcpy(r->note, rep.note, sizeof(r->note));
	if ((resp = make_response(&rep)) == NULL) {
		reply_release(&rep);
		return MHD_NO;	/* out of memory: the library drops it */
	}
	/*
	 * Close after an answer given before the body was read, and while
	 * shutting down: a quiesced daemon would go on serving keep-alive
	 * clients for as long as they keep asking.
	 */
	if (has_body || bad_framing != 0 || draining)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION,
		    "close");
	ret = MHD_queue_response(c, (unsigned)rep.status, resp);
	MHD_destroy_response(resp);
	reply_release(&rep);
	return ret;
}


static void
on_completed(void *cls, struct MHD_Connection *c, void **req_cls,
    enum MHD_RequestTerminationCode toe)
{
	struct httpd *h = cls;
	struct request *r = *req_cls;
	char peer[HTTPD_MAX_PEER], target[HTTPD_MAX_LOG_TARGET];
	struct timespec t;

	if (r == NULL)
		return;
	route_upload_abort(r->upload);	/* the client left mid-body */
	r->upload = NULL;
	now(&t);
	pthread_mutex_lock(&h->lock);
	if (r->conn != NULL) {
		r->conn->uploading = false;
		r->conn->in_request = false;
		r->conn->wait_since = t;
	}
	pthread_mutex_unlock(&h->lock);
	peer_name(c, peer, sizeof(peer));
	log_escape(target, sizeof(target), r->target);
	if (r->status == 0)
		log_access("%s \"%s\" - - %.1fms not handled: %s", peer,
		    target, elapsed(&r->t0, &t) * 1e3,
		    toe == MHD_REQUEST_TERMINATED_CLIENT_ABORT ? "the client "
		    "went away before the request was complete" : "timed out, "
		    "malformed or oversized (see --log debug)");
	else
		log_access("%s \"%s %s\" %d %llu %.1fms%s%s%s", peer,
		    r->method, target, r->status,
		    toe == MHD_REQUEST_TERMINATED_COMPLETED_OK ?
		    (unsigned long long)r->bytes : 0ULL,
		    elapsed(&r->t0, &t) * 1e3,
		    r->note[0] ? " " : "", r->note,
		    toe == MHD_REQUEST_TERMINATED_COMPLETED_OK ? "" :
		    " aborted");
	free(r);
	*req_cls = NULL;
}

__attribute__((format(printf, 2, 0)))
static void
on_mhd_log(void *cls, const char *fmt, va_list ap)
{
	char line[LOG_MAX_LINE];
	size_t n;

	if (log_get_level() > LOG_DEBUG)
		return;
	vsnprintf(line, sizeof(line), fmt, ap);
	n = strlen(line);
	while (n > 0 && line[n - 1] == '\n')
		line[--n] = '\0';
	log_debug("libmicrohttpd: %s", line);
}

/* ---- lifecycle ---- */

static unsigned
pool_size(const struct serve_config *cfg)
{
	long n;

	if (cfg->threads > 0)
		return cfg->threads;
	n = sysconf(_SC_NPROCESSORS_ONLN);
	if (n < 1)
		return 2;
	return n < CONFIG_MAX_THREADS ? (unsigned)n : CONFIG_MAX_THREADS;
}

struct httpd *
httpd_start(const struct serve_config *cfg, struct filecache *cache,
    struct store *store, int listen_fd, char *err, size_t errsz)
{
	struct httpd *h = calloc(1, sizeof(*h));
	pthread_condattr_t ca;
	unsigned hard_limit;

	if (h == NULL) {
		close(listen_fd);
		(void)!str_copy(err, errsz, "out of memory");
		return NULL;
	}
	h->cfg = cfg;
	h->env.cfg = cfg;
	h->env.cache = cache;
	h->env.store = store;
	h->env.store_lock = &h->store_lock;
	if ((store != NULL && (h->env.answers = github_cache_new()) == NULL) ||
	    (store != NULL && (cfg->rate_anon || cfg->rate_token) &&
	    (h->env.limits = ratelimit_new()) == NULL)) {
		github_cache_free(h->env.answers);
		close(listen_fd);
		free(h);
		(void)!str_copy(err, errsz, "out of memory");
		return NULL;
	}
	pthread_mutex_init(&h->store_lock, NULL);
	pthread_mutex_init(&h->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&h->wake, &ca);
	pthread_condattr_destroy(&ca);
	/* Room above the soft limit, so the excess hears 503, not silence. */
	hard_limit = cfg->max_connections + cfg->max_connections / 8 + 16;
	h->daemon = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD |
	    MHD_USE_EPOLL | MHD_USE_ITC | MHD_USE_ERROR_LOG, 0, NULL, NULL,
	    on_request, h,
	    MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, h,
	    MHD_OPTION_LISTEN_SOCKET, (MHD_socket)listen_fd,
	    MHD_OPTION_THREAD_POOL_SIZE, pool_size(cfg),
	    MHD_OPTION_CONNECTION_LIMIT, hard_limit,
	    MHD_OPTION_CONNECTION_TIMEOUT, cfg->idle_timeout,
	    MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)HTTPD_MEMORY_LIMIT,
	    MHD_OPTION_URI_LOG_CALLBACK, on_uri, h,
	    MHD_OPTION_UNESCAPE_CALLBACK, on_unescape, h,
	    MHD_OPTION_NOTIFY_CONNECTION, on_connection, h,
	    MHD_OPTION_NOTIFY_COMPLETED, on_completed, h,
	    MHD_OPTION_END);
	if (h->daemon == NULL) {
		/* The library has closed listen_fd on its failure paths. */
		(void)!str_copy(err, errsz, "libmicrohttpd refused to start "
		    "(run with --log debug for its reason)");
		goto fail;
	}
	if (pthread_create(&h->reaper, NULL, reaper_main, h) != 0) {
		(void)!str_copy(err, errsz, "cannot start the reaper thread");
		goto fail;
	}
	h->reaper_started = true;
	return h;
fail:
	if (h->daemon != NULL)
		MHD_stop_daemon(h->daemon);
	pthread_cond_destroy(&h->wake);
	pthread_mutex_destroy(&h->lock);
	pthread_mutex_destroy(&h->store_lock);
	github_cache_free(h->env.answers);
	ratelimit_free(h->env.limits);
	free(h);
	return NULL;
}

unsigned
httpd_connections(struct httpd *h)
{
	unsigned n;

	pthread_mutex_lock(&h->lock);
	n = h->nconns;
	pthread_mutex_unlock(&h->lock);
	return n;
}

void
httpd_stop(struct httpd *h, unsigned timeout_s)
{
	struct timespec t0, t, poll = { 0, HTTPD_DRAIN_POLL_NS };
	MHD_socket lfd;

	if (h == NULL)
		return;
	lfd = MHD_quiesce_daemon(h->daemon);
	if (lfd != MHD_INVALID_SOCKET)
		close(lfd);
	pthread_mutex_lock(&h->lock);
	h->draining = true;
	pthread_cond_signal(&h->wake);
	pthread_mutex_unlock(&h->lock);
	now(&t0);
	do {
		if (httpd_connections(h) == 0)
			break;
		nanosleep(&poll, NULL);
		now(&t);
	} while (elapsed(&t0, &t) < timeout_s);
	if (httpd_connections(h) > 0)
		log_warn("closing %u connections still open after %us",
		    httpd_connections(h), timeout_s);
	MHD_stop_daemon(h->daemon);
	if (h->reaper_started) {
		pthread_mutex_lock(&h->lock);
		h->stopping = true;
		pthread_cond_signal(&h->wake);
		pthread_mutex_unlock(&h->lock);
		pthread_join(h->reaper, NULL);
	}
	pthread_cond_destroy(&h->wake);
	pthread_mutex_destroy(&h->lock);
	pthread_mutex_destroy(&h->store_lock);
	github_cache_free(h->env.answers);
	ratelimit_free(h->env.limits);
	free(h);
}
