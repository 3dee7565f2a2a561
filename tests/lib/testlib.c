#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "testlib.h"

#define TL_MAX_RESPONSE (64 * 1024 * 1024)

const unsigned char tl_good[TL_GOOD_LEN] = {
	0xe9, 0x03, 0x02, 0x20, 'h', 'e', 'l', 'l', 'o', '-',
	'f', 'i', 'r', 'm', 'w', 'a', 'r', 'e'
};

double
tl_now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

const char TL_H8[] =
    "Host: 127.0.0.1:8000\r\n"
    "User-Agent: ESP8266-http-Update\r\n"
    "Connection: close\r\n"
    "x-ESP8266-Chip-ID: 7223731\r\n"
    "x-ESP8266-STA-MAC: 80:7D:3A:6E:39:B3\r\n"
    "x-ESP8266-AP-MAC: 82:7D:3A:6E:39:B3\r\n"
    "x-ESP8266-free-space: 1781760\r\n"
    "x-ESP8266-sketch-size: 312832\r\n"
    "x-ESP8266-sketch-md5: 54acdd6530aed0cfb5679d4daa83348c\r\n"
    "x-ESP8266-chip-size: 4194304\r\n"
    "x-ESP8266-sdk-version: 2.2.2-dev(38a443e)\r\n"
    "x-ESP8266-mode: sketch\r\n"
    "Content-Length: 0\r\n";

const char TL_H32[] =
    "Host: 127.0.0.1:8000\r\n"
    "User-Agent: ESP32-http-Update\r\n"
    "Connection: close\r\n"
    "Cache-Control: no-cache\r\n"
    "x-ESP32-STA-MAC: 24:6F:28:AA:BB:CC\r\n"
    "x-ESP32-AP-MAC: 24:6F:28:AA:BB:CD\r\n"
    "x-ESP32-free-space: 1310720\r\n"
    "x-ESP32-sketch-size: 912384\r\n"
    "x-ESP32-sketch-md5: 0123456789abcdef0123456789abcdef\r\n"
    "x-ESP32-sketch-sha256: "
    "0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF\r\n"
    "x-ESP32-chip-size: 4194304\r\n"
    "x-ESP32-sdk-version: v4.4.4\r\n"
    "x-ESP32-mode: sketch\r\n";

int
tl_connect(uint16_t port)
{
	struct sockaddr_in sa;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons(port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static long
ms_since(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (t.tv_sec - t0->tv_sec) * 1000 +
	    (t.tv_nsec - t0->tv_nsec) / 1000000;
}

/* Parses what has arrived; true when the answer is complete. */
static bool
parse(struct http_resp *r, char *data, size_t len, bool head)
{
	char *end = memmem(data, len, "\r\n\r\n", 4);
	char cl[32];

	if (end == NULL)
		return false;
	if (r->head == NULL) {
		r->head_len = (size_t)(end - data) + 2;
		r->head = malloc(r->head_len + 1);
		memcpy(r->head, data, r->head_len);
		r->head[r->head_len] = '\0';
		if (sscanf(r->head, "HTTP/%*d.%*d %d", &r->status) != 1)
			r->status = -1;
	}
	r->body_len = len - (size_t)(end + 4 - data);
	if (head || r->status == 304 || r->status == 204)
		return true;
	if (tl_header(r, "Content-Length", cl, sizeof(cl)) == NULL)
		return false;
	return r->body_len >= strtoull(cl, NULL, 10);
}

/* "Connection: close" in the request's bytes (not NUL-terminated). */
static bool
has_close(const void *req, size_t n)
{
	static const char want[] = "connection: close";
	const char *p = req;
	size_t i;

	for (i = 0; i + sizeof(want) - 1 <= n; i++)
		if (strncasecmp(p + i, want, sizeof(want) - 1) == 0)
			return true;
	return false;
}

/*
 * Sends req[n] on fd, then reads the answer into a malloc'd buffer (its
 * length in *lenp) until the peer closes, timeout_ms passes, or, unless
 * to_eof, parse() finds a complete answer (*done). Sets out->closed and
 * out->timed_out.
 */
static char *
send_and_read(int fd, const void *req, size_t n, bool head, bool to_eof,
    int timeout_ms, struct http_resp *out, size_t *lenp, bool *done)
{
	struct timespec t0;
	size_t len = 0, alloc = 65536, off = 0;
	char *data = malloc(alloc);

	*done = false;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (off < n) {
		ssize_t w = send(fd, (const char *)req + off, n - off,
		    MSG_NOSIGNAL);

		if (w <= 0)
			break;
		off += (size_t)w;
	}
	while (!*done) {
		struct pollfd p = { fd, POLLIN, 0 };
		long left = timeout_ms - ms_since(&t0);
		ssize_t r;

		if (left <= 0) {
			out->timed_out = true;
			break;
		}
		if (poll(&p, 1, (int)left) <= 0)
			continue;
		if (len == alloc) {
			if (alloc >= TL_MAX_RESPONSE)
				break;
			alloc *= 2;
			data = realloc(data, alloc);
		}
		r = recv(fd, data + len, alloc - len, 0);
		if (r <= 0) {
			out->closed = true;
			break;
		}
		len += (size_t)r;
		if (!to_eof)
			*done = parse(out, data, len, head);
	}
	*lenp = len;
	return data;
}

int
tl_exchange_fd(int fd, const void *req, size_t n, bool head, int timeout_ms,
    struct http_resp *out)
{
	size_t len;
	char *data;
	bool done;

	memset(out, 0, sizeof(*out));
	out->status = -1;
	data = send_and_read(fd, req, n, head, false, timeout_ms, out, &len,
	    &done);
	if (!done)
		(void)parse(out, data, len, head);
	/* A complete answer to a closing request: wait for the close. */
	if (done && !out->closed && (memmem(req, n, "HTTP/1.0\r\n", 10) ||
	    has_close(req, n))) {
		struct pollfd p = { fd, POLLIN, 0 };
		char extra[512];
		ssize_t r;

		if (poll(&p, 1, 1000) > 0 &&
		    (r = recv(fd, extra, sizeof(extra), 0)) <= 0)
			out->closed = true;
	}
	if (out->head != NULL) {
		out->body = malloc(out->body_len + 1);
		memcpy(out->body, data + out->head_len + 2, out->body_len);
		out->body[out->body_len] = '\0';
	} else {
		/* No header block: keep what came as the body. */
		out->body = malloc(len + 1);
		memcpy(out->body, data, len);
		out->body[len] = '\0';
		out->body_len = len;
	}
	free(data);
	return 0;
}

int
tl_exchange(uint16_t port, const void *req, size_t n, bool head,
    int timeout_ms, struct http_resp *out)
{
	int fd = tl_connect(port), r;

	if (fd < 0) {
		memset(out, 0, sizeof(*out));
		out->status = -1;
		return -1;
	}
	r = tl_exchange_fd(fd, req, n, head, timeout_ms, out);
	close(fd);
	return r;
}

int
tl_get(uint16_t port, const char *req, struct http_resp *out)
{
	return tl_exchange(port, req, strlen(req),
	    strncmp(req, "HEAD ", 5) == 0, TL_TIMEOUT_MS, out);
}

const char *
tl_header(const struct http_resp *r, const char *name, char *buf,
    size_t bufsz)
{
	size_t nlen = strlen(name);
	const char *p;

	if (r->head == NULL)
		return NULL;
	for (p = strstr(r->head, "\r\n"); p != NULL;
	    p = strstr(p + 2, "\r\n")) {
		const char *line = p + 2, *eol;
		size_t vlen;

		if (strncasecmp(line, name, nlen) != 0 || line[nlen] != ':')
			continue;
		line += nlen + 1;
		while (*line == ' ' || *line == '\t')
			line++;
		eol = strstr(line, "\r\n");
		vlen = eol ? (size_t)(eol - line) : strlen(line);
		if (vlen >= bufsz)
			vlen = bufsz - 1;
		memcpy(buf, line, vlen);
		buf[vlen] = '\0';
		return buf;
	}
	return NULL;
}

int
tl_header_count(const struct http_resp *r, const char *name)
{
	size_t nlen = strlen(name);
	const char *p;
	int n = 0;

	if (r->head == NULL)
		return 0;
	for (p = strstr(r->head, "\r\n"); p != NULL;
	    p = strstr(p + 2, "\r\n"))
		if (strncasecmp(p + 2, name, nlen) == 0 && p[2 + nlen] == ':')
			n++;
	return n;
}

void
tl_resp_free(struct http_resp *r)
{
	free(r->head);
	free(r->body);
	memset(r, 0, sizeof(*r));
}

const char *
tl_ota_bin(void)
{
	const char *e = getenv("OTA_BIN");

	return e ? e : OTA_BIN;
}

int
tl_mkdtemp(char *out, size_t outsz)
{
	const char *t = getenv("TMPDIR");

	snprintf(out, outsz, "%s/ota-test-XXXXXX", t ? t : "/tmp");
	return mkdtemp(out) ? 0 : -1;
}

char tl_dir[PATH_MAX];

int
tl_dir_setup(void **state)
{
	(void)state;
	return tl_mkdtemp(tl_dir, sizeof(tl_dir));
}

int
tl_dir_teardown(void **state)
{
	(void)state;
	tl_rmtree(tl_dir);
	return 0;
}

void
tl_path(char *out, size_t outsz, const char *name)
{
	assert_true((size_t)snprintf(out, outsz, "%s/%s", tl_dir, name) <
	    outsz);
}

int
tl_write_file(const char *path, const void *p, size_t n)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	int ok;

	if (fd < 0)
		return -1;
	ok = write(fd, p, n) == (ssize_t)n;
	return close(fd) == 0 && ok ? 0 : -1;
}

static int
rm_one(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	/*
	 * Make a directory a test locked (chmod 000) removable again, but
	 * never chmod a symbolic link: chmod follows it, and fixtures link
	 * to files outside the tree, /etc/passwd among them.
	 */
	if (flag == FTW_DP)
		chmod(p, 0700);
	remove(p);
	return 0;
}

void
tl_rmtree(const char *path)
{
	nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

int
tl_server_start(struct tl_server *s, const char *catalog,
    const char *const *args)
{
	const char *argv[64];
	char portfile[300];
	int n = 0, i, fd;

	memset(s, 0, sizeof(*s));
	if (tl_mkdtemp(s->tmp, sizeof(s->tmp)) != 0)
		return -1;
	snprintf(portfile, sizeof(portfile), "%s/port", s->tmp);
	snprintf(s->log, sizeof(s->log), "%s/server.log", s->tmp);
	argv[n++] = tl_ota_bin();
	argv[n++] = "serve";
	argv[n++] = "-b";
	argv[n++] = "127.0.0.1";
	argv[n++] = "-p";
	argv[n++] = "0";
	argv[n++] = "--port-file";
	argv[n++] = portfile;
	argv[n++] = "-d";
	argv[n++] = catalog;
	for (i = 0; args != NULL && args[i] != NULL && n < 62; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	if ((s->pid = fork()) == 0) {
		fd = open(s->log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		dup2(fd, 1);
		dup2(fd, 2);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	for (i = 0; i < 500; i++) {
		FILE *f = fopen(portfile, "r");
		unsigned p = 0;

		if (f != NULL) {
			int ok = fscanf(f, "%u", &p) == 1;

			fclose(f);
			if (ok && p > 0) {
				s->port = (uint16_t)p;
				return 0;
			}
		}
		if (!tl_server_alive(s))
			return -1;
		usleep(10000);
	}
	tl_server_stop(s);
	return -1;
}

bool
tl_server_alive(struct tl_server *s)
{
	int st;

	return s->pid > 0 && waitpid(s->pid, &st, WNOHANG) == 0;
}

int
tl_server_stop(struct tl_server *s)
{
	int st = -1, i;

	if (s->pid <= 0)
		return -1;
	kill(s->pid, SIGTERM);
	for (i = 0; i < 1000; i++) {
		if (waitpid(s->pid, &st, WNOHANG) == s->pid) {
			s->pid = 0;
			return st;
		}
		usleep(10000);
	}
	kill(s->pid, SIGKILL);
	waitpid(s->pid, &st, 0);
	s->pid = 0;
	return st;
}

char *
tl_server_log(struct tl_server *s)
{
	FILE *f = fopen(s->log, "r");
	char *buf;
	long n;

	if (f == NULL)
		return strdup("");
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = calloc(1, (size_t)n + 1);
	if (fread(buf, 1, (size_t)n, f) != (size_t)n)
		buf[0] = '\0';
	fclose(f);
	return buf;
}

static int
mkfile(const char *dir, const char *name, const void *p, size_t n)
{
	char path[1024];

	if (snprintf(path, sizeof(path), "%s/%s", dir, name) >=
	    (int)sizeof(path))
		return -1;
	return tl_write_file(path, p, n);
}

int
tl_fixture(char *base, size_t basesz, char *cat, size_t catsz)
{
	static const unsigned char inner[] = { 0xe9, 'a', 'b', 'c' };
	static const unsigned char upper[] = { 0xe9, 0x01, 0x02, 0x03 };
	char p[512];

	if (tl_mkdtemp(base, basesz) != 0)
		return -1;
	snprintf(cat, catsz, "%s/fw", base);
	snprintf(p, sizeof(p), "%s/fw2", base);
	if (mkdir(cat, 0755) || mkdir(p, 0755))
		return -1;
	if (mkfile(p, "secret.bin", tl_good, sizeof(tl_good)))
		return -1;
	if (mkfile(cat, "good.bin", tl_good, sizeof(tl_good)) ||
	    mkfile(cat, "bad.bin", "XXnotfirmware", 13) ||
	    mkfile(cat, "readme.txt", "read me\n", 8) ||
	    mkfile(cat, "empty.bin", "", 0) ||
	    mkfile(cat, "UPPER.BIN", upper, sizeof(upper)))
		return -1;
	snprintf(p, sizeof(p), "%s/sub", cat);
	if (mkdir(p, 0755) || mkfile(p, "inner.bin", inner, sizeof(inner)))
		return -1;
	snprintf(p, sizeof(p), "%s/dir.bin", cat);
	if (mkdir(p, 0755))
		return -1;
	snprintf(p, sizeof(p), "%s/outside.txt", base);
	return tl_write_file(p, "SECRET-OUTSIDE\n", 15);
}

const char *
tl_hdrs_get(void *ctx, const char *name)
{
	struct tl_hdrs *h = ctx;
	size_t i;

	for (i = 0; i < h->n; i++)
		if (strcasecmp(h->name[i], name) == 0)
			return h->value[i];
	return NULL;
}

void
tl_hdrs_parse(struct tl_hdrs *h, const char *block)
{
	const char *p = block;

	memset(h, 0, sizeof(*h));
	while (*p != '\0') {
		const char *eol = strstr(p, "\r\n");
		const char *colon = strchr(p, ':');
		size_t nl, vl;

		assert_non_null(eol);
		assert_true(colon != NULL && colon < eol);
		assert_true(h->n < TL_HDRS_MAX);
		nl = (size_t)(colon - p);
		colon++;
		while (*colon == ' ')
			colon++;
		vl = (size_t)(eol - colon);
		assert_true(nl < sizeof(h->name[0]) &&
		    vl < sizeof(h->value[0]));
		memcpy(h->name[h->n], p, nl);
		memcpy(h->value[h->n], colon, vl);
		h->n++;
		p = eol + 2;
	}
}

void
tl_hdrs_set(struct tl_hdrs *h, const char *name, const char *value)
{
	size_t i;

	for (i = 0; i < h->n; i++)
		if (strcasecmp(h->name[i], name) == 0)
			break;
	if (i == h->n) {
		assert_true(h->n < TL_HDRS_MAX);
		h->n++;
	}
	snprintf(h->name[i], sizeof(h->name[i]), "%s", name);
	snprintf(h->value[i], sizeof(h->value[i]), "%s", value);
}

void
tl_hdrs_del(struct tl_hdrs *h, const char *name)
{
	size_t i;

	for (i = 0; i < h->n; i++) {
		if (strcasecmp(h->name[i], name) == 0) {
			memmove(h->name[i], h->name[i + 1],
			    (h->n - i - 1) * sizeof(h->name[0]));
			memmove(h->value[i], h->value[i + 1],
			    (h->n - i - 1) * sizeof(h->value[0]));
			h->n--;
			return;
		}
	}
	fail_msg("no header %s to delete", name);
}

int
tl_exchange_eof(uint16_t port, const void *req, size_t n, int timeout_ms,
    struct http_resp *out)
{
	size_t len;
	char *data, *end;
	bool done;
	int fd = tl_connect(port);

	memset(out, 0, sizeof(*out));
	out->status = -1;
	if (fd < 0)
		return -1;
	data = send_and_read(fd, req, n, false, true, timeout_ms, out, &len,
	    &done);
	close(fd);
	end = memmem(data, len, "\r\n\r\n", 4);
	if (end != NULL) {
		out->head_len = (size_t)(end - data) + 2;
		out->head = malloc(out->head_len + 1);
		memcpy(out->head, data, out->head_len);
		out->head[out->head_len] = '\0';
		if (sscanf(out->head, "HTTP/%*d.%*d %d", &out->status) != 1)
			out->status = -1;
		out->body_len = len - out->head_len - 2;
		out->body = malloc(out->body_len + 1);
		memcpy(out->body, end + 4, out->body_len);
	} else {
		out->body_len = len;
		out->body = malloc(len + 1);
		memcpy(out->body, data, len);
	}
	out->body[out->body_len] = '\0';
	free(data);
	return 0;
}

int
tl_ota_run(const char *const *args, char *out, size_t outsz)
{
	const char *argv[64];
	size_t len = 0;
	int p[2], n = 0, i, st;
	bool killed = false;
	pid_t pid;
	double t0 = tl_now();

	argv[n++] = tl_ota_bin();
	for (i = 0; args[i] != NULL && n < 63; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	if (pipe2(p, O_CLOEXEC) != 0)
		return -1;
	if ((pid = fork()) < 0) {
		close(p[0]);
		close(p[1]);
		return -1;
	}
	if (pid == 0) {
		dup2(p[1], 1);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	close(p[1]);
	for (;;) {
		struct pollfd pf = { p[0], POLLIN, 0 };
		char chunk[4096];
		ssize_t r;

		if (tl_now() - t0 > 30.0) {
			kill(pid, SIGKILL);
			killed = true;
			break;
		}
		if (poll(&pf, 1, 100) <= 0)
			continue;
		if ((r = read(p[0], chunk, sizeof(chunk))) <= 0)
			break;
		if (out != NULL && outsz > 0 && len < outsz - 1) {
			size_t k = (size_t)r < outsz - 1 - len ? (size_t)r :
			    outsz - 1 - len;

			memcpy(out + len, chunk, k);
			len += k;
		}
	}
	close(p[0]);
	if (out != NULL && outsz > 0)
		out[len] = '\0';
	if (waitpid(pid, &st, 0) != pid || killed)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* Regular files below dir counted into *n; false on anything not in f. */
static bool
tree_walk(const char *dir, const char *rel, const char *name,
    const struct tl_file *f, size_t nf, size_t *n, char *why, size_t whysz)
{
	char p[PATH_MAX + 300], r[PATH_MAX];
	struct dirent *de;
	struct stat sb;
	bool ok = true;
	size_t i;
	DIR *d;

	if ((d = opendir(dir)) == NULL) {
		snprintf(why, whysz, "cannot open %.200s: %s", dir,
		    strerror(errno));
		return false;
	}
	while (ok && (de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		snprintf(p, sizeof(p), "%s/%s", dir, de->d_name);
		snprintf(r, sizeof(r), "%s%s%s", rel, *rel ? "/" : "",
		    de->d_name);
		if (lstat(p, &sb) != 0) {
			ok = false;
			snprintf(why, whysz, "lstat %.200s failed", r);
		} else if (S_ISDIR(sb.st_mode)) {
			ok = tree_walk(p, r, name, f, nf, n, why, whysz);
		} else {
			for (i = 0; i < nf; i++)
				if (strcmp(f[i].path, r) == 0)
					break;
			if (i == nf || !S_ISREG(sb.st_mode)) {
				ok = false;
				snprintf(why, whysz, "%.200s is not in %s", r,
				    name);
			}
			++*n;
		}
	}
	closedir(d);
	return ok;
}

bool
tl_tree_is(const char *dir, const char *name, const struct tl_file *f,
    size_t n, char *why, size_t whysz)
{
	char p[PATH_MAX + 160];
	unsigned char *buf;
	size_t i, found = 0, len;
	ssize_t k;
	bool same;
	int fd;

	for (i = 0; i < n; i++) {
		snprintf(p, sizeof(p), "%s/%s", dir, f[i].path);
		if ((fd = open(p, O_RDONLY)) < 0) {
			snprintf(why, whysz, "%s: no %s", name, f[i].path);
			return false;
		}
		/* One byte more than expected: a longer file shows. */
		buf = malloc(f[i].len + 1);
		assert_non_null(buf);
		len = 0;
		while (len < f[i].len + 1 &&
		    (k = read(fd, buf + len, f[i].len + 1 - len)) > 0)
			len += (size_t)k;
		close(fd);
		same = len == f[i].len && memcmp(buf, f[i].data, len) == 0;
		free(buf);
		if (!same) {
			snprintf(why, whysz, "%s: %s differs (%zu bytes)", name,
			    f[i].path, len);
			return false;
		}
	}
	if (!tree_walk(dir, "", name, f, n, &found, why, whysz))
		return false;
	if (found != n) {
		snprintf(why, whysz, "%s: %zu files, want %zu", name, found, n);
		return false;
	}
	return true;
}

void
tl_unhex(const char *hex, unsigned char *out, size_t n)
{
	size_t i;

	assert_int_equal(strlen(hex), 2 * n);
	for (i = 0; i < n; i++) {
		unsigned v;

		assert_int_equal(sscanf(hex + 2 * i, "%2x", &v), 1);
		out[i] = (unsigned char)v;
	}
}

uint64_t
tl_rng_next(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

void
tl_fail_free(struct http_resp *r, const char *fmt, ...)
{
	char msg[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	tl_resp_free(r);
	fail_msg("%s", msg);
}

const char *
tl_jstr(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	if (!cJSON_IsString(v))
		fail_msg("\"%s\" is not a string", key);
	return v->valuestring;
}

double
tl_jnum(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	if (!cJSON_IsNumber(v))
		fail_msg("\"%s\" is not a number", key);
	return v->valuedouble;
}

bool
tl_jbool(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	if (!cJSON_IsBool(v))
		fail_msg("\"%s\" is not a boolean", key);
	return cJSON_IsTrue(v);
}


void
tl_read_text(const char *path, char *buf, size_t n)
{
	FILE *f = fopen(path, "r");
	size_t r = f ? fread(buf, 1, n - 1, f) : 0;

	buf[r] = '\0';
	if (f)
		fclose(f);
}

void
tl_ota_capture(struct tl_run *r, const char *const *args)
{
	char tmp[256], o[300], e[300];
	const char *argv[32];
	int n = 0, st, i;
	pid_t pid;

	assert_int_equal(tl_mkdtemp(tmp, sizeof(tmp)), 0);
	snprintf(o, sizeof(o), "%s/out", tmp);
	snprintf(e, sizeof(e), "%s/err", tmp);
	argv[n++] = tl_ota_bin();
	for (i = 0; args[i] != NULL && n < 31; i++)
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
	tl_read_text(o, r->out, sizeof(r->out));
	tl_read_text(e, r->err, sizeof(r->err));
	tl_rmtree(tmp);
}
