#include <stdlib.h>
#include <string.h>

#include "common/str.h"
#include "server/ratelimit.h"
#include "common/banned.h"

struct slot {
	char key[RATELIMIT_MAX_KEY];	/* "" = empty */
	int64_t start;
	uint32_t used;
};

struct ratelimit {
	struct slot slot[RATELIMIT_SLOTS];
};

struct ratelimit *
ratelimit_new(void)
{
	return calloc(1, sizeof(struct ratelimit));
}

void
ratelimit_free(struct ratelimit *rl)
{
	free(rl);
}

static bool
live(const struct slot *s, int64_t now)
{
	return s->key[0] != '\0' && now < s->start + RATELIMIT_WINDOW;
}

/* key's slot, taking a free, expired or least-used one for a new key. */
static struct slot *
find(struct ratelimit *rl, const char *key, int64_t now)
{
	uint64_t h = str_hash64(key);
	struct slot *s, *take = NULL;
	size_t i;

	for (i = 0; i < RATELIMIT_PROBE; i++) {
		s = &rl->slot[(h + i) % RATELIMIT_SLOTS];
		if (strncmp(s->key, key, sizeof(s->key) - 1) == 0 &&
		    s->key[0] != '\0')
			return s;
		if (take == NULL || (live(take, now) &&
		    (!live(s, now) || s->used < take->used)))
			take = s;
	}
	(void)!str_copy(take->key, sizeof(take->key), key);
	if (take->key[0] == '\0')	/* too long: keep its prefix */
		memcpy(take->key, key, sizeof(take->key) - 1);
	take->start = now;
	take->used = 0;
	return take;
}

static void
state(const struct slot *s, uint32_t limit, int64_t now,
    struct ratelimit_state *st)
{
	bool expired = now >= s->start + RATELIMIT_WINDOW;

	st->limit = limit;
	st->used = expired ? 0 : s->used;
	st->remaining = st->used < limit ? limit - st->used : 0;
	st->reset = (expired ? now : s->start) + RATELIMIT_WINDOW;
}

bool
ratelimit_check(struct ratelimit *rl, const char *key, uint32_t limit,
    int64_t now, struct ratelimit_state *st)
{
	struct slot *s = find(rl, key, now);

	state(s, limit, now, st);
	return st->remaining > 0;
}

void
ratelimit_count(struct ratelimit *rl, const char *key, uint32_t limit,
    int64_t now, struct ratelimit_state *st)
{
	struct slot *s = find(rl, key, now);

	if (now >= s->start + RATELIMIT_WINDOW) {
		s->start = now;
		s->used = 0;
	}
	if (s->used < UINT32_MAX)
		s->used++;
	state(s, limit, now, st);
}
