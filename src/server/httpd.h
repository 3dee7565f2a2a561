/*
 * httpd: the HTTP side of `ota serve`, the only file that includes
 * <microhttpd.h>. It owns the limits the library does not give us and
 * hands every request to route.c.
 *
 * Limits (none of libmicrohttpd's are on by default):
 *  - read timeout: a connection must finish its request headers within
 *    cfg->read_timeout seconds of connecting or of its previous answer
 *    (slowloris, idle sockets);
 *  - idle timeout: libmicrohttpd's own, no progress for cfg->idle_timeout;
 *  - total timeout: no connection lives past cfg->total_timeout;
 *  - connection limit: past cfg->max_connections a new request is answered
 *    503 with Retry-After instead of stalling; a hard cap a little above it
 *    is libmicrohttpd's, where it stops accepting;
 *  - request line and headers share HTTPD_MEMORY_LIMIT bytes per connection.
 * The read and total timeouts are enforced by a reaper thread that shuts
 * down (shutdown(2), not close(2)) the sockets past their deadline; the
 * library then sees the socket fail and closes it itself. When an answer
 * is in flight SO_LINGER 0 is set first, so that close resets the
 * connection and frees its send buffer at once instead of trickling it to
 * a reader that is too slow. An upload that stalls is checked for a
 * client that hung up (libmicrohttpd 0.9.75 can miss it under epoll) and
 * shut down at once instead of at the idle timeout. The read timeout also
 * bounds how long an idle
 * keep-alive connection waits for its next request. The registry the
 * reaper walks is updated from libmicrohttpd's connection notifications,
 * which run before the library closes the descriptor, under one mutex, so
 * the reaper never touches a descriptor that was closed and reused.
 */
#ifndef OTA_HTTPD_H
#define OTA_HTTPD_H

#include <ota/status.h>

#include "server/config.h"
#include "server/filecache.h"
#include "server/store.h"

#define HTTPD_MEMORY_LIMIT (32 * 1024)
#define HTTPD_REAPER_INTERVAL_MS 200
#define HTTPD_UPLOAD_STALL_S 1	/* an upload idle this long is checked
				 * for a client that hung up */

struct httpd;

/*
 * Starts serving on the listening socket listen_fd (ownership passes to the
 * server). cfg, cache and store (NULL: no release store) are borrowed and
 * must outlive the server.
 * NULL on failure, with a reason in err[errsz].
 */
struct httpd *httpd_start(const struct serve_config *cfg,
    struct filecache *cache, struct store *store, int listen_fd, char *err,
    size_t errsz);

/*
 * Stops accepting, lets in-flight answers finish for up to timeout_s
 * seconds, then closes everything and frees h (NULL is fine).
 */
void httpd_stop(struct httpd *h, unsigned timeout_s);

/* Connections open now. */
unsigned httpd_connections(struct httpd *h);

#endif
