// SPDX-License-Identifier: MIT
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "dh_cache.h"
#include "group_psk.h"

struct agent_dh_entry {
	bool used;
	uint8_t pub[32];
	uint8_t dh[32];
};

/* A public key is uniformly random enough: its first 8 bytes are the hash. */
static size_t slot_of(const struct agent_dh_cache *c, const uint8_t pub[32])
{
	uint64_t h;

	memcpy(&h, pub, sizeof(h));
	return (size_t)(h % c->cap);
}

static struct agent_dh_entry *find(struct agent_dh_cache *c, const uint8_t pub[32])
{
	size_t i = slot_of(c, pub);

	/* linear probing; the table is never more than half full */
	while (c->slots[i].used) {
		if (!memcmp(c->slots[i].pub, pub, 32))
			return &c->slots[i];
		i = (i + 1) % c->cap;
	}
	return &c->slots[i];
}

static int grow(struct agent_dh_cache *c)
{
	struct agent_dh_cache bigger = { .cap = c->cap ? 2 * c->cap : 16 };

	bigger.slots = calloc(bigger.cap, sizeof(*bigger.slots));
	if (!bigger.slots)
		return -1;
	for (size_t i = 0; i < c->cap; i++) {
		if (!c->slots[i].used)
			continue;
		*find(&bigger, c->slots[i].pub) = c->slots[i];
		bigger.n++;
	}
	if (c->slots)
		OPENSSL_cleanse(c->slots, c->cap * sizeof(*c->slots));
	free(c->slots);
	c->slots = bigger.slots;
	c->cap = bigger.cap;
	return 0;
}

int agent_dh_get(struct agent_dh_cache *c, const uint8_t priv[32], const uint8_t pub[32],
		 uint8_t dh[32])
{
	struct agent_dh_entry *e;

	if (c->cap) {
		e = find(c, pub);
		if (e->used) {
			memcpy(dh, e->dh, 32);
			c->hits++;
			return 0;
		}
	}
	c->misses++;
	if (meshnet_x25519(dh, priv, pub))
		return -1;
	if (c->n >= AGENT_DH_CACHE_MAX)
		agent_dh_cache_free(c); /* keys that left the mesh go with the rest */
	if ((!c->cap || c->n + 1 > c->cap / 2) && grow(c))
		return 0; /* out of memory: computed, not kept */
	if (!c->cap)
		return 0;
	e = find(c, pub);
	e->used = true;
	memcpy(e->pub, pub, 32);
	memcpy(e->dh, dh, 32);
	c->n++;
	return 0;
}

void agent_dh_cache_free(struct agent_dh_cache *c)
{
	if (c->slots)
		OPENSSL_cleanse(c->slots, c->cap * sizeof(*c->slots));
	free(c->slots);
	c->slots = NULL;
	c->cap = c->n = 0;
}
