// SPDX-License-Identifier: MIT
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>

#include "replay.h"

struct replay_entry {
	uint64_t node_hash;
	uint8_t nonce[16];
	bool used;
};

struct replay_generation {
	struct replay_entry *slots;
	size_t count;
	int64_t start;
};

struct replay_cache {
	pthread_mutex_t lock;
	struct replay_generation gen[2];	/* [0] current, [1] previous */
	size_t slots, capacity;			/* slots is a power of two >= 2x capacity */
	int64_t span;
	uint64_t seed;
};

static uint64_t hash_bytes(uint64_t h, const void *data, size_t len)
{
	const uint8_t *p = data;
	size_t i;

	for (i = 0; i < len; i++) {
		h ^= p[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

struct replay_cache *replay_cache_new(size_t capacity, int64_t skew_seconds)
{
	struct replay_cache *rc = calloc(1, sizeof(*rc));
	int i;

	if (!rc)
		return NULL;
	rc->capacity = capacity;
	rc->slots = 1;
	while (rc->slots < 2 * capacity)
		rc->slots <<= 1;
	rc->span = 2 * skew_seconds;
	if (RAND_bytes((uint8_t *)&rc->seed, sizeof(rc->seed)) != 1)
		rc->seed = 0xcbf29ce484222325ull;
	for (i = 0; i < 2; i++) {
		rc->gen[i].slots = calloc(rc->slots, sizeof(struct replay_entry));
		if (!rc->gen[i].slots) {
			replay_cache_free(rc);
			return NULL;
		}
	}
	pthread_mutex_init(&rc->lock, NULL);
	return rc;
}

void replay_cache_free(struct replay_cache *rc)
{
	if (!rc)
		return;
	free(rc->gen[0].slots);
	free(rc->gen[1].slots);
	pthread_mutex_destroy(&rc->lock);
	free(rc);
}

static struct replay_entry *probe(struct replay_cache *rc, struct replay_generation *g,
				  uint64_t node_hash, const uint8_t nonce[16], bool *found)
{
	uint64_t h = hash_bytes(node_hash ^ rc->seed, nonce, 16);
	size_t mask = rc->slots - 1, i = h & mask;

	for (;;) {
		struct replay_entry *e = &g->slots[i];

		if (!e->used) {
			*found = false;
			return e;
		}
		if (e->node_hash == node_hash && !memcmp(e->nonce, nonce, 16)) {
			*found = true;
			return e;
		}
		i = (i + 1) & mask;
	}
}

enum replay_result replay_cache_check_and_add(struct replay_cache *rc, const char *node_id,
					      const uint8_t nonce[16], int64_t now)
{
	uint64_t node_hash = hash_bytes(0xcbf29ce484222325ull, node_id, strlen(node_id) + 1);
	enum replay_result res = REPLAY_FRESH;
	struct replay_entry *e;
	bool found;

	pthread_mutex_lock(&rc->lock);
	if (now - rc->gen[0].start >= rc->span) {
		struct replay_generation old = rc->gen[1];

		rc->gen[1] = rc->gen[0];
		/* A generation older than two spans is of no use: drop it. */
		if (now - rc->gen[1].start >= 2 * rc->span) {
			memset(rc->gen[1].slots, 0, rc->slots * sizeof(struct replay_entry));
			rc->gen[1].count = 0;
		}
		rc->gen[0] = old;
		memset(rc->gen[0].slots, 0, rc->slots * sizeof(struct replay_entry));
		rc->gen[0].count = 0;
		rc->gen[0].start = now;
	}
	probe(rc, &rc->gen[1], node_hash, nonce, &found);
	if (found) {
		res = REPLAY_SEEN;
		goto out;
	}
	e = probe(rc, &rc->gen[0], node_hash, nonce, &found);
	if (found) {
		res = REPLAY_SEEN;
		goto out;
	}
	if (rc->gen[0].count >= rc->capacity) {
		res = REPLAY_FULL;
		goto out;
	}
	e->used = true;
	e->node_hash = node_hash;
	memcpy(e->nonce, nonce, 16);
	rc->gen[0].count++;
out:
	pthread_mutex_unlock(&rc->lock);
	return res;
}

size_t replay_cache_count(struct replay_cache *rc)
{
	size_t n;

	pthread_mutex_lock(&rc->lock);
	n = rc->gen[0].count + rc->gen[1].count;
	pthread_mutex_unlock(&rc->lock);
	return n;
}
