#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "faultsrv.h"

#define FS_MAX_REQUEST 8192
#define FS_DEFAULT_PIECE (64 * 1024)
#define FS_DRAIN_MS 1000

struct route {
	bool used;
	char path[256];
	struct faultsrv_script s;	/* pointers below are ours */
	char *headers, *content_type, *etag, *redirect;
	unsigned char *body;
};

struct faultsrv {
	int lfd;
	int stop[2];		/* pipe: written by faultsrv_stop */
	uint16_t port;
	pthread_t thr;
	pthread_mutex_t mu;
	struct route routes[FS_MAX_ROUTES];
	struct faultsrv_req reqs[FS_MAX_REQS];
	size_t nreqs;
};

/*
 * Waits up to ms for fd to be ready for events (fd -1: only sleeps).
 * 1 ready, 0 timed out, -1 stop requested or error.
 */
static int
wait_fd(struct faultsrv *fs, int fd, short events, int ms)
{
	struct pollfd p[2];
	int n;

	p[0].fd = fs->stop[0];
	p[0].events = POLLIN;
	p[1].fd = fd;
	p[1].events = events;
	for (;;) {
		n = poll(p, fd >= 0 ? 2 : 1, ms);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 || (p[0].revents & POLLIN))
			return -1;
		if (n == 0)
			return 0;
		return fd >= 0 && p[1].revents != 0 ? 1 : 0;
	}
}

static int
send_all(struct faultsrv *fs, int fd, const void *p, size_t n)
{
	const char *c = p;
	ssize_t k;

	while (n > 0) {
		if (wait_fd(fs, fd, POLLOUT, FS_IO_TIMEOUT_MS) != 1)
			return -1;
		k = send(fd, c, n, MSG_NOSIGNAL);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return -1;
		c += k;
		n -= (size_t)k;
	}
	return 0;
}

static int
send_str(struct faultsrv *fs, int fd, const char *s)
{
	return send_all(fs, fd, s, strlen(s));
}

/* Reads up to the blank line; the request in buf, NUL-terminated. */
static int
read_request(struct faultsrv *fs, int fd, char *buf, size_t bufsz)
{
	size_t n = 0;
	ssize_t k;

	while (n + 1 < bufsz) {
		if (wait_fd(fs, fd, POLLIN, FS_IO_TIMEOUT_MS) != 1)
			return -1;
		k = recv(fd, buf + n, bufsz - 1 - n, 0);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return -1;
		n += (size_t)k;
		buf[n] = '\0';
		if (strstr(buf, "\r\n\r\n") != NULL)
			return 0;
	}
	return -1;
}

const char *
faultsrv_req_header(const struct faultsrv_req *r, const char *name,
    char *buf, size_t bufsz)
{
	size_t nlen = strlen(name), vlen;
	const char *p = r->head, *eol, *v;

	for (; *p != '\0'; p = eol + 2) {
		eol = strstr(p, "\r\n");
		if (eol == NULL)
			eol = p + strlen(p);
		if ((size_t)(eol - p) > nlen && p[nlen] == ':' &&
		    strncasecmp(p, name, nlen) == 0) {
			for (v = p + nlen + 1; *v == ' ' || *v == '\t'; v++)
				;
			vlen = (size_t)(eol - v);
			if (vlen >= bufsz)
				vlen = bufsz - 1;
			memcpy(buf, v, vlen);
			buf[vlen] = '\0';
			return buf;
		}
		if (*eol == '\0')
			break;
	}
	return NULL;
}

static const char *
reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 206: return "Partial Content";
	case 301: return "Moved Permanently";
	case 302: return "Found";
	case 304: return "Not Modified";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 416: return "Range Not Satisfiable";
	case 429: return "Too Many Requests";
	default: return "Status";
	}
}

static const char *
hname(const struct faultsrv_script *s, const char *canon, const char *lower)
{
	return (s->flags & FS_LOWER) ? lower : canon;
}

/* The body, in pieces, each maybe a chunk, maybe delayed; -1: stop. */
static int
send_body(struct faultsrv *fs, int fd, const struct faultsrv_script *s,
    const unsigned char *p, size_t n)
{
	size_t piece = s->chunk_size ? s->chunk_size : FS_DEFAULT_PIECE, k;
	char line[32];

	while (n > 0) {
		k = n < piece ? n : piece;
		if (s->chunk_delay_ms > 0 &&
		    wait_fd(fs, -1, 0, (int)s->chunk_delay_ms) < 0)
			return -1;
		if (s->flags & FS_CHUNKED) {
			snprintf(line, sizeof(line), "%zx\r\n", k);
			if (send_str(fs, fd, line) != 0)
				return -1;
		}
		if (send_all(fs, fd, p, k) != 0)
			return -1;
		if ((s->flags & FS_CHUNKED) && send_str(fs, fd, "\r\n") != 0)
			return -1;
		p += k;
		n -= k;
	}
	return 0;
}

static void
respond(struct faultsrv *fs, int fd, const struct faultsrv_script *s,
    const struct faultsrv_req *rq)
{
	char head[FS_MAX_HEAD], v[256], *w = head;
	size_t left = sizeof(head), off = 0, n = s->body_len;
	int status = s->status ? s->status : (s->redirect ? 302 : 200);
	unsigned long long from;
	int k;

#define PUT(...) do {							\
	k = snprintf(w, left, __VA_ARGS__);				\
	if (k < 0 || (size_t)k >= left)					\
		return;							\
	w += k;								\
	left -= (size_t)k;						\
} while (0)

	if (s->etag != NULL &&
	    faultsrv_req_header(rq, "If-None-Match", v, sizeof(v)) != NULL &&
	    strcmp(v, s->etag) == 0) {
		status = 304;
		n = 0;
	} else if ((s->flags & FS_RANGE) &&
	    faultsrv_req_header(rq, "Range", v, sizeof(v)) != NULL &&
	    sscanf(v, "bytes=%llu-", &from) == 1) {
		if (from >= s->body_len) {
			status = 416;
			n = 0;
		} else {
			status = 206;
			off = (size_t)from;
			n = s->body_len - off;
		}
	}
	PUT("HTTP/1.1 %d %s\r\n", status, reason(status));
	PUT("%s: close\r\n", hname(s, "Connection", "connection"));
	if (s->content_type != NULL)
		PUT("%s: %s\r\n", hname(s, "Content-Type", "content-type"),
		    s->content_type);
	if (s->etag != NULL)
		PUT("%s: %s\r\n", hname(s, "ETag", "etag"), s->etag);
	if (s->redirect != NULL)
		PUT("%s: %s\r\n", hname(s, "Location", "location"),
		    s->redirect);
	if (status == 206)
		PUT("%s: bytes %zu-%zu/%zu\r\n",
		    hname(s, "Content-Range", "content-range"), off,
		    s->body_len - 1, s->body_len);
	if (s->flags & FS_CHUNKED)
		PUT("%s: chunked\r\n",
		    hname(s, "Transfer-Encoding", "transfer-encoding"));
	else if (!(s->flags & FS_NO_LENGTH) && status != 304)
		PUT("%s: %zu\r\n", hname(s, "Content-Length", "content-length"),
		    n);
	if (s->headers != NULL)
		PUT("%s", s->headers);
	PUT("\r\n");
#undef PUT
	if (send_str(fs, fd, head) != 0)
		return;
	if ((s->flags & FS_TRUNCATE) && s->truncate_after < n) {
		(void)send_body(fs, fd, s, (const unsigned char *)s->body + off,
		    s->truncate_after);
		return;		/* close without the rest */
	}
	if (send_body(fs, fd, s, (const unsigned char *)s->body + off, n) != 0)
		return;
	if (s->flags & FS_CHUNKED)
		(void)send_str(fs, fd, "0\r\n\r\n");
}

/* Until the client closes (or FS_DRAIN_MS), so our close sends no RST. */
static void
drain(struct faultsrv *fs, int fd, int ms)
{
	char buf[512];

	shutdown(fd, SHUT_WR);
	while (wait_fd(fs, fd, POLLIN, ms) == 1)
		if (recv(fd, buf, sizeof(buf), 0) <= 0)
			break;
}

static void
copy_cut(char *dst, size_t dstsz, const char *src)
{
	size_t n = strlen(src);

	if (n >= dstsz)
		n = dstsz - 1;
	memcpy(dst, src, n);
	dst[n] = '\0';
}

static void
serve_conn(struct faultsrv *fs, int fd)
{
	char buf[FS_MAX_REQUEST], path[256], *eol, *sp;
	struct faultsrv_req rq;
	struct faultsrv_script s;
	struct route *rt = NULL;
	size_t i, plen;

	if (read_request(fs, fd, buf, sizeof(buf)) != 0)
		return;
	memset(&rq, 0, sizeof(rq));
	eol = strstr(buf, "\r\n");
	*eol = '\0';
	copy_cut(rq.line, sizeof(rq.line), buf);
	copy_cut(rq.head, sizeof(rq.head), eol + 2);
	path[0] = '\0';
	if ((sp = strchr(buf, ' ')) != NULL) {
		plen = strcspn(sp + 1, " ?");
		if (plen < sizeof(path)) {
			memcpy(path, sp + 1, plen);
			path[plen] = '\0';
		}
	}

	pthread_mutex_lock(&fs->mu);
	if (fs->nreqs < FS_MAX_REQS)
		fs->reqs[fs->nreqs++] = rq;
	for (i = 0; i < FS_MAX_ROUTES; i++)
		if (fs->routes[i].used && strcmp(fs->routes[i].path, path) == 0)
			rt = &fs->routes[i];
	if (rt != NULL)
		s = rt->s;
	pthread_mutex_unlock(&fs->mu);

	if (rt == NULL) {
		memset(&s, 0, sizeof(s));
		s.status = 404;
		s.body = "not found\n";
		s.body_len = 10;
		s.content_type = "text/plain";
	}
	if (s.flags & FS_CLOSE)
		return;
	if (s.silent_ms > 0) {
		/* say nothing; give up early if the client leaves */
		if (wait_fd(fs, fd, POLLIN, (int)s.silent_ms) == 1)
			(void)recv(fd, buf, sizeof(buf), 0);
		return;
	}
	respond(fs, fd, &s, &rq);
	drain(fs, fd, FS_DRAIN_MS);
}

static void *
serve(void *arg)
{
	struct faultsrv *fs = arg;
	int fd;

	for (;;) {
		if (wait_fd(fs, fs->lfd, POLLIN, -1) < 0)
			break;
		fd = accept(fs->lfd, NULL, NULL);
		if (fd < 0)
			continue;
		serve_conn(fs, fd);
		close(fd);
	}
	return NULL;
}

struct faultsrv *
faultsrv_start(void)
{
	struct faultsrv *fs = calloc(1, sizeof(*fs));
	struct sockaddr_in sa;
	socklen_t sl = sizeof(sa);
	int one = 1;

	if (fs == NULL)
		return NULL;
	fs->lfd = -1;
	fs->stop[0] = fs->stop[1] = -1;
	pthread_mutex_init(&fs->mu, NULL);
	if (pipe(fs->stop) != 0)
		goto fail;
	fs->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fs->lfd < 0)
		goto fail;
	setsockopt(fs->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fs->lfd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
	    listen(fs->lfd, 16) != 0 ||
	    getsockname(fs->lfd, (struct sockaddr *)&sa, &sl) != 0)
		goto fail;
	fs->port = ntohs(sa.sin_port);
	if (pthread_create(&fs->thr, NULL, serve, fs) != 0)
		goto fail;
	return fs;
fail:
	if (fs->lfd >= 0)
		close(fs->lfd);
	if (fs->stop[0] >= 0) {
		close(fs->stop[0]);
		close(fs->stop[1]);
	}
	pthread_mutex_destroy(&fs->mu);
	free(fs);
	return NULL;
}

static void
route_clear(struct route *r)
{
	free(r->headers);
	free(r->content_type);
	free(r->etag);
	free(r->redirect);
	free(r->body);
	memset(r, 0, sizeof(*r));
}

void
faultsrv_stop(struct faultsrv *fs)
{
	size_t i;

	if (fs == NULL)
		return;
	(void)!write(fs->stop[1], "x", 1);
	pthread_join(fs->thr, NULL);
	close(fs->lfd);
	close(fs->stop[0]);
	close(fs->stop[1]);
	for (i = 0; i < FS_MAX_ROUTES; i++)
		route_clear(&fs->routes[i]);
	pthread_mutex_destroy(&fs->mu);
	free(fs);
}

uint16_t
faultsrv_port(const struct faultsrv *fs)
{
	return fs->port;
}

int
faultsrv_url(const struct faultsrv *fs, const char *path, char *out,
    size_t outsz)
{
	int n = snprintf(out, outsz, "http://127.0.0.1:%u%s",
	    (unsigned)fs->port, path);

	return n < 0 || (size_t)n >= outsz ? -1 : 0;
}

int
faultsrv_hostport(const struct faultsrv *fs, char *out, size_t outsz)
{
	int n = snprintf(out, outsz, "127.0.0.1:%u", (unsigned)fs->port);

	return n < 0 || (size_t)n >= outsz ? -1 : 0;
}

static char *
dup_or_null(const char *s, bool *ok)
{
	char *d;

	if (s == NULL)
		return NULL;
	if ((d = strdup(s)) == NULL)
		*ok = false;
	return d;
}

int
faultsrv_set(struct faultsrv *fs, const struct faultsrv_script *s)
{
	struct route *r = NULL;
	bool ok = true;
	size_t i;

	if (strlen(s->path) >= sizeof(r->path))
		return -1;
	pthread_mutex_lock(&fs->mu);
	for (i = 0; i < FS_MAX_ROUTES && r == NULL; i++)
		if (fs->routes[i].used && strcmp(fs->routes[i].path,
		    s->path) == 0)
			r = &fs->routes[i];
	for (i = 0; i < FS_MAX_ROUTES && r == NULL; i++)
		if (!fs->routes[i].used)
			r = &fs->routes[i];
	if (r == NULL) {
		pthread_mutex_unlock(&fs->mu);
		return -1;
	}
	route_clear(r);
	r->used = true;
	snprintf(r->path, sizeof(r->path), "%s", s->path);
	r->s = *s;
	r->s.path = r->path;
	r->s.headers = r->headers = dup_or_null(s->headers, &ok);
	r->s.content_type = r->content_type = dup_or_null(s->content_type,
	    &ok);
	r->s.etag = r->etag = dup_or_null(s->etag, &ok);
	r->s.redirect = r->redirect = dup_or_null(s->redirect, &ok);
	r->body = malloc(s->body_len ? s->body_len : 1);
	if (r->body == NULL)
		ok = false;
	else if (s->body_len > 0)
		memcpy(r->body, s->body, s->body_len);
	r->s.body = r->body;
	if (!ok)
		route_clear(r);
	pthread_mutex_unlock(&fs->mu);
	return ok ? 0 : -1;
}

size_t
faultsrv_nreqs(struct faultsrv *fs)
{
	size_t n;

	pthread_mutex_lock(&fs->mu);
	n = fs->nreqs;
	pthread_mutex_unlock(&fs->mu);
	return n;
}

int
faultsrv_req(struct faultsrv *fs, size_t i, struct faultsrv_req *out)
{
	int rc = -1;

	pthread_mutex_lock(&fs->mu);
	if (i < fs->nreqs) {
		*out = fs->reqs[i];
		rc = 0;
	}
	pthread_mutex_unlock(&fs->mu);
	return rc;
}

void
faultsrv_clear(struct faultsrv *fs)
{
	pthread_mutex_lock(&fs->mu);
	fs->nreqs = 0;
	pthread_mutex_unlock(&fs->mu);
}
