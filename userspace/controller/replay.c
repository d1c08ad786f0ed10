// SPDX-License-Identifier: MIT
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>

#include "replay.h"
#include "sign.h"

#define N_STRIPES 64
#define MIN_SLOTS 16

struct replay_entry {
	uint8_t nonce[16];
	int64_t expires;	/* unix s; 0: empty slot */
};

struct node_replay {
	struct node_replay *next;
	uint64_t hash;
	char id[MESHNET_NODE_ID_MAX + 1];
	double tokens;
	int64_t refilled_ms;
	struct replay_entry *slots;
	size_t n_slots, count;	/* n_slots is a power of two */
};

struct replay_stripe {
	pthread_mutex_t lock;
	struct node_replay *nodes;
	size_t nonces;
};

struct replay_cache {
	struct replay_limits lim;
	size_t max_slots;
	uint64_t seed;
	struct replay_stripe stripe[N_STRIPES];
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

struct replay_cache *replay_cache_new(const struct replay_limits *limits)
{
	struct replay_cache *rc = calloc(1, sizeof(*rc));
	double most;
	int i;

	if (!rc)
		return NULL;
	rc->lim = *limits;
	/* The most nonces a node can hold at once, at half load. */
	most = limits->burst + limits->rate * 2.0 * (double)limits->skew + 1;
	rc->max_slots = MIN_SLOTS;
	while ((double)rc->max_slots < 2 * most)
		rc->max_slots <<= 1;
	if (RAND_bytes((uint8_t *)&rc->seed, sizeof(rc->seed)) != 1)
		rc->seed = 0xcbf29ce484222325ull;
	for (i = 0; i < N_STRIPES; i++)
		pthread_mutex_init(&rc->stripe[i].lock, NULL);
	return rc;
}

static void node_free(struct node_replay *n)
{
	free(n->slots);
	free(n);
}

void replay_cache_free(struct replay_cache *rc)
{
	int i;

	if (!rc)
		return;
	for (i = 0; i < N_STRIPES; i++) {
		struct node_replay *n = rc->stripe[i].nodes, *next;

		for (; n; n = next) {
			next = n->next;
			node_free(n);
		}
		pthread_mutex_destroy(&rc->stripe[i].lock);
	}
	free(rc);
}

static struct replay_entry *probe(const struct replay_cache *rc, struct replay_entry *slots,
				  size_t n_slots, const uint8_t nonce[16], bool *found)
{
	size_t mask = n_slots - 1, i = hash_bytes(rc->seed, nonce, 16) & mask;

	for (;;) {
		struct replay_entry *e = &slots[i];

		if (!e->expires) {
			*found = false;
			return e;
		}
		if (!memcmp(e->nonce, nonce, 16)) {
			*found = true;
			return e;
		}
		i = (i + 1) & mask;
	}
}

/* Rebuilds n's table without expired nonces, in n_slots slots; 0 or -1. */
static int rebuild(const struct replay_cache *rc, struct node_replay *n, size_t n_slots,
		   int64_t now_s, size_t *dropped)
{
	struct replay_entry *slots = calloc(n_slots, sizeof(*slots));
	size_t i, kept = 0;

	if (!slots)
		return -1;
	for (i = 0; i < n->n_slots; i++) {
		const struct replay_entry *e = &n->slots[i];
		bool found;

		if (!e->expires || e->expires < now_s)
			continue;
		*probe(rc, slots, n_slots, e->nonce, &found) = *e;
		kept++;
	}
	*dropped = n->count - kept;
	free(n->slots);
	n->slots = slots;
	n->n_slots = n_slots;
	n->count = kept;
	return 0;
}

static struct node_replay *node_get(struct replay_cache *rc, struct replay_stripe *st,
				    const char *id, uint64_t h, int64_t now_ms)
{
	struct node_replay *n;

	for (n = st->nodes; n; n = n->next)
		if (n->hash == h && !strcmp(n->id, id))
			return n;
	if (strlen(id) > MESHNET_NODE_ID_MAX)
		return NULL;
	n = calloc(1, sizeof(*n));
	if (!n)
		return NULL;
	n->slots = calloc(MIN_SLOTS, sizeof(*n->slots));
	if (!n->slots) {
		free(n);
		return NULL;
	}
	n->n_slots = MIN_SLOTS;
	n->hash = h;
	strcpy(n->id, id);
	n->tokens = rc->lim.burst;
	n->refilled_ms = now_ms;
	n->next = st->nodes;
	st->nodes = n;
	return n;
}

static bool take_token(const struct replay_cache *rc, struct node_replay *n, int64_t now_ms)
{
	if (now_ms > n->refilled_ms) {
		n->tokens += rc->lim.rate * (double)(now_ms - n->refilled_ms) / 1000.0;
		if (n->tokens > rc->lim.burst)
			n->tokens = rc->lim.burst;
		n->refilled_ms = now_ms;
	}
	if (n->tokens < 1.0)
		return false;
	n->tokens -= 1.0;
	return true;
}

enum replay_result replay_cache_check_and_add(struct replay_cache *rc, const char *node_id,
					      const uint8_t nonce[16], int64_t timestamp,
					      int64_t now_ms)
{
	uint64_t h = hash_bytes(rc->seed, node_id, strlen(node_id));
	struct replay_stripe *st = &rc->stripe[h % N_STRIPES];
	enum replay_result res = REPLAY_FRESH;
	int64_t now_s = now_ms / 1000;
	struct replay_entry *e;
	struct node_replay *n;
	size_t dropped;
	bool found;

	pthread_mutex_lock(&st->lock);
	n = node_get(rc, st, node_id, h, now_ms);
	if (!n) {
		res = REPLAY_RATE_LIMITED;	/* out of memory: fail closed */
		goto out;
	}
	e = probe(rc, n->slots, n->n_slots, nonce, &found);
	if (found && e->expires >= now_s) {
		res = REPLAY_SEEN;
		goto out;
	}
	if (!take_token(rc, n, now_ms)) {
		res = REPLAY_RATE_LIMITED;
		goto out;
	}
	if (found) {		/* an expired entry of the same nonce */
		e->expires = timestamp + rc->lim.skew;
		goto out;
	}
	if (4 * (n->count + 1) > 3 * n->n_slots) {
		size_t want = n->n_slots;

		/* Drop what expired; grow while more than half full. */
		if (rebuild(rc, n, want, now_s, &dropped))
			goto oom;
		st->nonces -= dropped;
		while (2 * (n->count + 1) > want && want < rc->max_slots)
			want <<= 1;
		if (want != n->n_slots && rebuild(rc, n, want, now_s, &dropped))
			goto oom;
		if (4 * (n->count + 1) > 3 * n->n_slots)
			goto oom;	/* cannot happen within the rate limit */
		e = probe(rc, n->slots, n->n_slots, nonce, &found);
	}
	memcpy(e->nonce, nonce, 16);
	e->expires = timestamp + rc->lim.skew;
	if (e->expires < 1)
		e->expires = 1;
	n->count++;
	st->nonces++;
	goto out;
oom:
	res = REPLAY_RATE_LIMITED;
out:
	pthread_mutex_unlock(&st->lock);
	return res;
}

void replay_cache_forget(struct replay_cache *rc, const char *node_id)
{
	uint64_t h = hash_bytes(rc->seed, node_id, strlen(node_id));
	struct replay_stripe *st = &rc->stripe[h % N_STRIPES];
	struct node_replay **pp, *n;

	pthread_mutex_lock(&st->lock);
	for (pp = &st->nodes; (n = *pp); pp = &n->next) {
		if (n->hash == h && !strcmp(n->id, node_id)) {
			*pp = n->next;
			st->nonces -= n->count;
			node_free(n);
			break;
		}
	}
	pthread_mutex_unlock(&st->lock);
}

size_t replay_cache_count(struct replay_cache *rc)
{
	size_t n = 0;
	int i;

	for (i = 0; i < N_STRIPES; i++) {
		pthread_mutex_lock(&rc->stripe[i].lock);
		n += rc->stripe[i].nonces;
		pthread_mutex_unlock(&rc->stripe[i].lock);
	}
	return n;
}
