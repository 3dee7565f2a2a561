#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/hash.h"
#include "common/str.h"
#include "server/filecache.h"
#include "common/banned.h"

struct fc_key {
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime;
	struct timespec ctime;
};

struct fc_entry {
	struct fc_key key;
	struct file_digest digest;
	struct fc_entry *next;
};

struct filecache {
	pthread_mutex_t lock;
	struct fc_entry **buckets;
	size_t nbuckets;	/* a power of two */
	size_t count;
	size_t max;
	struct filecache_stats stats;
};

static void
key_of(const struct stat *st, struct fc_key *k)
{
	memset(k, 0, sizeof(*k));
	k->dev = st->st_dev;
	k->ino = st->st_ino;
	k->size = st->st_size;
	k->mtime = st->st_mtim;
	k->ctime = st->st_ctim;
}

static int
key_eq(const struct fc_key *a, const struct fc_key *b)
{
	return a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
	    a->mtime.tv_sec == b->mtime.tv_sec &&
	    a->mtime.tv_nsec == b->mtime.tv_nsec &&
	    a->ctime.tv_sec == b->ctime.tv_sec &&
	    a->ctime.tv_nsec == b->ctime.tv_nsec;
}

static size_t
bucket_of(const struct filecache *c, const struct fc_key *k)
{
	uint64_t h = (uint64_t)k->ino * 0x9e3779b97f4a7c15ULL ^
	    (uint64_t)k->dev;

	return (size_t)(h >> 17) & (c->nbuckets - 1);
}

struct filecache *
filecache_new(size_t max_entries)
{
	struct filecache *c = calloc(1, sizeof(*c));

	if (c == NULL)
		return NULL;
	c->max = max_entries ? max_entries : FILECACHE_DEFAULT_ENTRIES;
	c->nbuckets = 16;
	while (c->nbuckets < c->max)
		c->nbuckets *= 2;
	if ((c->buckets = calloc(c->nbuckets, sizeof(*c->buckets))) == NULL) {
		free(c);
		return NULL;
	}
	pthread_mutex_init(&c->lock, NULL);
	return c;
}

static void
clear_locked(struct filecache *c)
{
	size_t i;

	for (i = 0; i < c->nbuckets; i++) {
		while (c->buckets[i] != NULL) {
			struct fc_entry *e = c->buckets[i];

			c->buckets[i] = e->next;
			free(e);
		}
	}
	c->count = 0;
}

void
filecache_free(struct filecache *c)
{
	if (c == NULL)
		return;
	clear_locked(c);
	free(c->buckets);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

static enum ota_status
digest_fd(int fd, off_t size, struct file_digest *out)
{
	struct hash_ctx *md5 = hash_new(HASH_MD5);
	struct hash_ctx *sha = hash_new(HASH_SHA256);
	unsigned char *chunk = malloc(FILECACHE_READ_CHUNK);
	unsigned char d[HASH_MAX_LEN];
	enum ota_status st = OTA_OK;
	off_t off = 0;
	size_t len;

	if (md5 == NULL || sha == NULL || chunk == NULL) {
		st = OTA_E_NOMEM;
		goto out;
	}
	while (off < size && st == OTA_OK) {
		ssize_t r = pread(fd, chunk, FILECACHE_READ_CHUNK, off);

		if (r <= 0) {
			st = r == 0 ? OTA_E_CHANGED : OTA_E_IO;
			break;
		}
		st = hash_update(md5, chunk, (size_t)r);
		if (st == OTA_OK)
			st = hash_update(sha, chunk, (size_t)r);
		off += r;
	}
	if (st == OTA_OK && (st = hash_final(md5, d, &len)) == OTA_OK)
		str_hex(out->md5, d, len);
	if (st == OTA_OK && (st = hash_final(sha, d, &len)) == OTA_OK)
		str_hex(out->sha256, d, len);
out:
	free(chunk);
	hash_free(md5);
	hash_free(sha);
	return st;
}

static int
lookup(struct filecache *c, const struct fc_key *k, struct file_digest *out)
{
	struct fc_entry *e;
	int found = 0;

	pthread_mutex_lock(&c->lock);
	for (e = c->buckets[bucket_of(c, k)]; e != NULL; e = e->next) {
		if (key_eq(&e->key, k)) {
			*out = e->digest;
			found = 1;
			break;
		}
	}
	if (found)
		c->stats.hits++;
	else
		c->stats.misses++;
	pthread_mutex_unlock(&c->lock);
	return found;
}

static void
insert(struct filecache *c, const struct fc_key *k,
    const struct file_digest *d)
{
	struct fc_entry *e, **b;

	pthread_mutex_lock(&c->lock);
	b = &c->buckets[bucket_of(c, k)];
	/* Drop older versions of the same inode, and duplicates. */
	while (*b != NULL) {
		if ((*b)->key.dev == k->dev && (*b)->key.ino == k->ino) {
			e = *b;
			*b = e->next;
			free(e);
			c->count--;
		} else
			b = &(*b)->next;
	}
	if (c->count >= c->max)
		clear_locked(c);
	if ((e = malloc(sizeof(*e))) != NULL) {
		e->key = *k;
		e->digest = *d;
		b = &c->buckets[bucket_of(c, k)];
		e->next = *b;
		*b = e;
		c->count++;
	}
	pthread_mutex_unlock(&c->lock);
}

enum ota_status
filecache_get(struct filecache *c, int fd, struct stat *st,
    struct file_digest *out)
{
	struct fc_key k, after;
	struct stat now = *st;
	int tries;

	for (tries = 0; tries <= FILECACHE_RETRIES; tries++) {
		enum ota_status s;

		key_of(&now, &k);
		*st = now;
		if (lookup(c, &k, out))
			return OTA_OK;
		if ((s = digest_fd(fd, now.st_size, out)) != OTA_OK &&
		    s != OTA_E_CHANGED)
			return s;
		if (fstat(fd, &now) != 0)
			return OTA_E_IO;
		key_of(&now, &after);
		if (s == OTA_OK && key_eq(&k, &after)) {
			insert(c, &k, out);
			return OTA_OK;
		}
	}
	return OTA_E_CHANGED;
}

void
filecache_stats(struct filecache *c, struct filecache_stats *out)
{
	pthread_mutex_lock(&c->lock);
	*out = c->stats;
	pthread_mutex_unlock(&c->lock);
}
