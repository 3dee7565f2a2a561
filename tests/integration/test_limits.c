/*
 * Limits and lifecycle of a real `ota serve`: the connection limit answers
 * 503 with Retry-After instead of stalling, the total timeout ends a
 * connection that reads too slowly, SIGTERM lets an answer in flight finish
 * and exits 0, and a file replaced by rename while devices download it
 * gives each device either the old or the new bytes, each with its own MD5.
 */
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/hash.h"
#include "testlib.h"

#define BIG_LEN (4 * 1024 * 1024)

static char base[256], cat[300];

static int
setup(void **state)
{
	return tl_fixture(base, sizeof(base), cat, sizeof(cat));
}

static int
teardown(void **state)
{
	tl_rmtree(base);
	return 0;
}

static unsigned char *
make_image(size_t n, unsigned seed)
{
	unsigned char *p = malloc(n);
	size_t i;

	for (i = 0; i < n; i++)
		p[i] = (unsigned char)((i * 2654435761u + seed) >> 13);
	p[0] = 0xe9;
	return p;
}

static void
write_image(const char *name, const unsigned char *p, size_t n)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/%s", cat, name);
	assert_int_equal(tl_write_file(path, p, n), 0);
}

static void
connection_limit_503(void **state)
{
	static const char *const args[] = { "--max-connections", "4", NULL };
	static const char partial[] = "GET /good.bin HTTP/1.1\r\nHost: x\r\n";
	char req[4096], v[64];
	struct tl_server s;
	struct http_resp r;
	int holders[6], i;

	assert_int_equal(tl_server_start(&s, cat, args), 0);
	for (i = 0; i < 6; i++) {
		holders[i] = tl_connect(s.port);
		assert_true(holders[i] >= 0);
		assert_int_equal(send(holders[i], partial, sizeof(partial) - 1,
		    0), (ssize_t)sizeof(partial) - 1);
	}
	snprintf(req, sizeof(req), "GET /good.bin HTTP/1.0\r\n%s\r\n", TL_H8);
	/* Until the server has accepted all six holders (bounded: 5 s). */
	for (i = 0; i < 50; i++) {
		assert_int_equal(tl_get(s.port, req, &r), 0);
		if (r.status == 503)
			break;
		tl_resp_free(&r);
		usleep(100000);
	}
	assert_int_equal(r.status, 503);
	assert_non_null(tl_header(&r, "Retry-After", v, sizeof(v)));
	assert_true(strtol(v, NULL, 10) > 0);
	assert_true(r.body_len > 0);
	tl_resp_free(&r);
	for (i = 0; i < 6; i++)
		close(holders[i]);
	/* Until the server has seen them go (bounded: 5 s). */
	for (i = 0; i < 50; i++) {
		assert_int_equal(tl_get(s.port, req, &r), 0);
		if (r.status == 200)
			break;
		tl_resp_free(&r);
		usleep(100000);
	}
	assert_int_equal(r.status, 200);
	tl_resp_free(&r);
	assert_int_equal(WEXITSTATUS(tl_server_stop(&s)), 0);
	tl_rmtree(s.tmp);
}

static void
total_timeout_ends_slow_reader(void **state)
{
	static const char *const args[] = { "--total-timeout", "2", NULL };
	unsigned char *img = make_image(BIG_LEN, 1), buf[65536];
	char req[4096];
	struct tl_server s;
	size_t got = 0;
	int fd, small = 4096;
	double t0;
	ssize_t n;

	write_image("big.bin", img, BIG_LEN);
	assert_int_equal(tl_server_start(&s, cat, args), 0);
	fd = tl_connect(s.port);
	assert_true(fd >= 0);
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
	snprintf(req, sizeof(req), "GET /big.bin HTTP/1.0\r\n%s\r\n", TL_H8);
	assert_true(send(fd, req, strlen(req), 0) > 0);
	t0 = tl_now();
	sleep(4);	/* read nothing while the deadline passes */
	while ((n = recv(fd, buf, sizeof(buf), 0)) > 0 && tl_now() - t0 < 20)
		got += (size_t)n;
	/* The server cut the answer short rather than waiting on us. */
	assert_true(n <= 0);
	assert_true(got < BIG_LEN);
	close(fd);
	assert_int_equal(WEXITSTATUS(tl_server_stop(&s)), 0);
	tl_rmtree(s.tmp);
	free(img);
}

static void
sigterm_drains_answer_in_flight(void **state)
{
	unsigned char *img = make_image(BIG_LEN, 2), *got = malloc(BIG_LEN + 1);
	char req[4096], *end;
	struct tl_server s;
	size_t len = 0, hlen;
	int fd, st, small = 16384;
	ssize_t n;

	write_image("big.bin", img, BIG_LEN);
	assert_int_equal(tl_server_start(&s, cat, NULL), 0);
	fd = tl_connect(s.port);
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
	snprintf(req, sizeof(req), "GET /big.bin HTTP/1.0\r\n%s\r\n", TL_H8);
	assert_true(send(fd, req, strlen(req), 0) > 0);
	n = recv(fd, got, 4096, MSG_WAITALL);
	assert_true(n > 0);
	len = (size_t)n;
	kill(s.pid, SIGTERM);
	/* No new connections once draining (bounded wait: 5 s). */
	{
		int c = -1, tries;

		for (tries = 0; tries < 50; tries++) {
			if ((c = tl_connect(s.port)) < 0)
				break;
			close(c);
			usleep(100000);
		}
		assert_true(c < 0);
	}
	while (len < BIG_LEN + 1 &&
	    (n = recv(fd, got + len, BIG_LEN + 1 - len, 0)) > 0)
		len += (size_t)n;
	end = memmem(got, len, "\r\n\r\n", 4);
	assert_non_null(end);
	hlen = (size_t)(end + 4 - (char *)got);
	/* Headers plus the whole image may exceed the buffer: read on. */
	{
		unsigned char *body = malloc(BIG_LEN);
		size_t have = len - hlen;

		memcpy(body, got + hlen, have);
		while (have < BIG_LEN &&
		    (n = recv(fd, body + have, BIG_LEN - have, 0)) > 0)
			have += (size_t)n;
		assert_int_equal(have, BIG_LEN);
		assert_memory_equal(body, img, BIG_LEN);
		free(body);
	}
	close(fd);
	assert_int_equal(waitpid(s.pid, &st, 0), s.pid);
	s.pid = 0;
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	tl_rmtree(s.tmp);
	free(img);
	free(got);
}

/* ---- rename while downloading ---- */

#define SWAP_LEN (256 * 1024)
#define SWAP_CLIENTS 4
#define SWAP_ROUNDS 25

static unsigned char *swap_img[2];
static char swap_md5[2][33];
static volatile int swap_stop;
static uint16_t swap_port;
static int swap_bad;

static void *
swap_writer(void *arg)
{
	char tmp[512], dst[512];
	int i = 0;

	snprintf(dst, sizeof(dst), "%s/swap.bin", cat);
	while (!swap_stop && i < 2000) {
		snprintf(tmp, sizeof(tmp), "%s/.swap.tmp", cat);
		tl_write_file(tmp, swap_img[i % 2], SWAP_LEN);
		rename(tmp, dst);
		i++;
		usleep(2000);
	}
	return NULL;
}

static void *
swap_client(void *arg)
{
	char req[4096], v[64];
	struct http_resp r;
	int i, which;

	snprintf(req, sizeof(req), "GET /swap.bin HTTP/1.0\r\n%s\r\n", TL_H8);
	for (i = 0; i < SWAP_ROUNDS; i++) {
		if (tl_get(swap_port, req, &r) != 0 || r.status != 200 ||
		    r.body_len != SWAP_LEN ||
		    tl_header(&r, "x-MD5", v, sizeof(v)) == NULL) {
			__atomic_add_fetch(&swap_bad, 1, __ATOMIC_SEQ_CST);
			tl_resp_free(&r);
			continue;
		}
		which = strcmp(v, swap_md5[0]) == 0 ? 0 :
		    strcmp(v, swap_md5[1]) == 0 ? 1 : -1;
		if (which < 0 ||
		    memcmp(r.body, swap_img[which], SWAP_LEN) != 0)
			__atomic_add_fetch(&swap_bad, 1, __ATOMIC_SEQ_CST);
		tl_resp_free(&r);
	}
	return NULL;
}

static void
rename_during_download(void **state)
{
	pthread_t w, c[SWAP_CLIENTS];
	struct tl_server s;
	int i;

	for (i = 0; i < 2; i++) {
		swap_img[i] = make_image(SWAP_LEN, 100 + (unsigned)i);
		assert_int_equal(hash_hex(HASH_MD5, swap_img[i], SWAP_LEN,
		    swap_md5[i]), OTA_OK);
	}
	write_image("swap.bin", swap_img[0], SWAP_LEN);
	assert_int_equal(tl_server_start(&s, cat, NULL), 0);
	swap_port = s.port;
	pthread_create(&w, NULL, swap_writer, NULL);
	for (i = 0; i < SWAP_CLIENTS; i++)
		pthread_create(&c[i], NULL, swap_client, NULL);
	for (i = 0; i < SWAP_CLIENTS; i++)
		pthread_join(c[i], NULL);
	swap_stop = 1;
	pthread_join(w, NULL);
	assert_int_equal(swap_bad, 0);
	assert_int_equal(WEXITSTATUS(tl_server_stop(&s)), 0);
	tl_rmtree(s.tmp);
	free(swap_img[0]);
	free(swap_img[1]);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(connection_limit_503),
		cmocka_unit_test(total_timeout_ends_slow_reader),
		cmocka_unit_test(sigterm_drains_answer_in_flight),
		cmocka_unit_test(rename_during_download),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
