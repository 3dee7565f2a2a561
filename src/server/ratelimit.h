/*
 * ratelimit: a fixed-window request budget per client, as GitHub's API
 * has (micropython-ota-updater.md §6): each key (a token's id, or a client
 * address) may make `limit` counted requests per window; the window starts
 * with the key's first request. Clients learn where they stand from the
 * X-RateLimit-* headers github.c adds.
 *
 * A table of RATELIMIT_SLOTS keys, open addressing over a short probe
 * run; when every slot of the run is live, the one with the fewest
 * requests is given up (its client starts a new window: lenient, never
 * stricter). Not thread-safe: the server calls it under its store lock.
 * Knows keys and seconds, not HTTP.
 */
#ifndef OTA_RATELIMIT_H
#define OTA_RATELIMIT_H

#include <stdbool.h>
#include <stdint.h>

#define RATELIMIT_SLOTS 4096
#define RATELIMIT_PROBE 8
#define RATELIMIT_WINDOW 3600		/* seconds, as GitHub's hour */
#define RATELIMIT_MAX_KEY 64

struct ratelimit_state {
	uint32_t limit;
	uint32_t used;
	uint32_t remaining;
	int64_t reset;			/* unix seconds the window ends */
};

struct ratelimit;

/* NULL on allocation failure. */
struct ratelimit *ratelimit_new(void);
/* Accepts NULL. */
void ratelimit_free(struct ratelimit *rl);

/*
 * Where key stands at now under limit, without counting a request;
 * false when nothing is left (the caller refuses the request).
 */
bool ratelimit_check(struct ratelimit *rl, const char *key, uint32_t limit,
    int64_t now, struct ratelimit_state *st);
/* Counts one request of key (after ratelimit_check said yes). */
void ratelimit_count(struct ratelimit *rl, const char *key, uint32_t limit,
    int64_t now, struct ratelimit_state *st);

#endif
