// SPDX-License-Identifier: GPL-2.0
/*
 * Copyright (C) 2026 The aligned-meshnet authors.
 *
 * Lookup structures of a verdict table, built once before the table is
 * published and never mutated afterwards:
 *  - longest-prefix match per address family: one open-addressing hash table
 *    per prefix length present, probed longest first (O(number of distinct
 *    lengths), independent of the number of peers);
 *  - public key -> peer;
 *  - outer endpoint (address, port) -> DENIED peer.
 */

#include <linux/jhash.h>
#include <linux/log2.h>
#include <linux/mm.h>
#include <linux/netlink.h>
#include <linux/slab.h>
#include <net/ipv6.h>

#include "meshnet.h"

static u32 mn_slots_for(u32 n)
{
	return roundup_pow_of_two(max_t(u32, 4, n * 2));
}

static u32 mn_hash_addr(u16 family, const union mn_addr *a, u32 seed)
{
	if (family == AF_INET)
		return jhash_1word((__force u32)a->v4, seed);
	return jhash2((const u32 *)a->v6.s6_addr32, 4, seed);
}

static bool mn_addr_eq(u16 family, const union mn_addr *a,
		       const union mn_addr *b)
{
	if (family == AF_INET)
		return a->v4 == b->v4;
	return ipv6_addr_equal(&a->v6, &b->v6);
}

static void mn_mask(u16 family, union mn_addr *dst, const union mn_addr *src,
		    u8 cidr)
{
	if (family == AF_INET) {
		dst->v4 = cidr ? src->v4 & htonl(~0U << (32 - cidr)) : 0;
		return;
	}
	ipv6_addr_prefix(&dst->v6, &src->v6, cidr);
}

static struct mn_lpm *mn_lpm_of(struct mn_table *t, u16 family)
{
	return family == AF_INET ? &t->lpm4 : &t->lpm6;
}

static int mn_lpm_insert(struct mn_table *t, struct mn_lpm_level *lvl,
			 u16 family, const struct mn_prefix *p,
			 struct mn_peer *peer, struct netlink_ext_ack *extack)
{
	u32 i = mn_hash_addr(family, &p->addr, t->seed ^ p->cidr) & lvl->mask;

	for (;; i = (i + 1) & lvl->mask) {
		struct mn_lpm_slot *slot = &lvl->slots[i];

		if (!slot->peer) {
			slot->peer = peer;
			slot->addr = p->addr;
			return 0;
		}
		if (mn_addr_eq(family, &slot->addr, &p->addr)) {
			if (slot->peer == peer)
				NL_SET_ERR_MSG_MOD(extack,
						   "Duplicate allowed IP prefix in one peer");
			else
				NL_SET_ERR_MSG_MOD(extack,
						   "Allowed IP prefix is also a prefix of another peer");
			return -EEXIST;
		}
	}
}

void mn_lpm_free(struct mn_table *t)
{
	u32 i;

	for (i = 0; i < t->lpm4.n_levels; i++)
		kvfree(t->lpm4.levels[i].slots);
	for (i = 0; i < t->lpm6.n_levels; i++)
		kvfree(t->lpm6.levels[i].slots);
	t->lpm4.n_levels = 0;
	t->lpm6.n_levels = 0;
}

int mn_lpm_build(struct mn_table *t, struct netlink_ext_ack *extack)
{
	u32 *count4, *count6;
	u8 level_of[2][129];
	u32 i, j;
	int c, ret = -ENOMEM;

	count4 = kcalloc(2 * 129, sizeof(*count4), GFP_KERNEL);
	if (!count4)
		return -ENOMEM;
	count6 = count4 + 129;
	for (i = 0; i < t->n_peers; i++) {
		const struct mn_peer *peer = t->peers[i];

		for (j = 0; j < peer->n_allowedips; j++) {
			const struct mn_prefix *p = &peer->allowedips[j];

			if (p->family == AF_INET)
				count4[p->cidr]++;
			else
				count6[p->cidr]++;
		}
	}
	for (c = 128; c >= 0; c--) {
		struct mn_lpm_level *lvl;

		if (c <= 32 && count4[c]) {
			lvl = &t->lpm4.levels[t->lpm4.n_levels];
			lvl->cidr = c;
			lvl->mask = mn_slots_for(count4[c]) - 1;
			lvl->slots = kvcalloc(lvl->mask + 1, sizeof(*lvl->slots),
					      GFP_KERNEL_ACCOUNT);
			if (!lvl->slots)
				goto out;
			level_of[0][c] = t->lpm4.n_levels++;
		}
		if (count6[c]) {
			lvl = &t->lpm6.levels[t->lpm6.n_levels];
			lvl->cidr = c;
			lvl->mask = mn_slots_for(count6[c]) - 1;
			lvl->slots = kvcalloc(lvl->mask + 1, sizeof(*lvl->slots),
					      GFP_KERNEL_ACCOUNT);
			if (!lvl->slots)
				goto out;
			level_of[1][c] = t->lpm6.n_levels++;
		}
	}
	for (i = 0; i < t->n_peers; i++) {
		struct mn_peer *peer = t->peers[i];

		for (j = 0; j < peer->n_allowedips; j++) {
			const struct mn_prefix *p = &peer->allowedips[j];
			bool v4 = p->family == AF_INET;
			struct mn_lpm *lpm = mn_lpm_of(t, p->family);

			ret = mn_lpm_insert(t,
					    &lpm->levels[level_of[!v4][p->cidr]],
					    p->family, p, peer, extack);
			if (ret)
				goto out;
		}
	}
	ret = 0;
out:
	kfree(count4);
	if (ret)
		mn_lpm_free(t);
	return ret;
}

static struct mn_peer *mn_lpm_lookup(const struct mn_table *t,
				     const struct mn_lpm *lpm, u16 family,
				     const union mn_addr *addr)
{
	u32 l;

	for (l = 0; l < lpm->n_levels; l++) {
		const struct mn_lpm_level *lvl = &lpm->levels[l];
		union mn_addr key;
		u32 i;

		mn_mask(family, &key, addr, lvl->cidr);
		i = mn_hash_addr(family, &key, t->seed ^ lvl->cidr) & lvl->mask;
		for (;; i = (i + 1) & lvl->mask) {
			const struct mn_lpm_slot *slot = &lvl->slots[i];

			if (!slot->peer)
				break;
			if (mn_addr_eq(family, &slot->addr, &key))
				return slot->peer;
		}
	}
	return NULL;
}

struct mn_peer *mn_lookup_v4(const struct mn_table *t, __be32 addr)
{
	union mn_addr a = { .v4 = addr };

	return mn_lpm_lookup(t, &t->lpm4, AF_INET, &a);
}

struct mn_peer *mn_lookup_v6(const struct mn_table *t,
			     const struct in6_addr *addr)
{
	union mn_addr a = { .v6 = *addr };

	return mn_lpm_lookup(t, &t->lpm6, AF_INET6, &a);
}

static u32 mn_hash_key(const struct mn_table *t, const u8 *key)
{
	return jhash(key, MESHNET_KEY_LEN, t->seed);
}

int mn_key_index_build(struct mn_table *t, struct netlink_ext_ack *extack)
{
	u32 n;

	t->key_mask = mn_slots_for(t->n_peers) - 1;
	t->key_index = kvcalloc(t->key_mask + 1, sizeof(*t->key_index),
				GFP_KERNEL_ACCOUNT);
	if (!t->key_index)
		return -ENOMEM;
	for (n = 0; n < t->n_peers; n++) {
		const u8 *key = t->peers[n]->public_key;
		u32 i = mn_hash_key(t, key) & t->key_mask;

		for (;; i = (i + 1) & t->key_mask) {
			u32 idx = t->key_index[i];

			if (!idx) {
				t->key_index[i] = n + 1;
				break;
			}
			if (!memcmp(t->peers[idx - 1]->public_key, key,
				    MESHNET_KEY_LEN)) {
				NL_SET_ERR_MSG_MOD(extack,
						   "Duplicate peer public key");
				return -EEXIST;
			}
		}
	}
	return 0;
}

struct mn_peer *mn_lookup_key(const struct mn_table *t, const u8 *key)
{
	u32 i;

	if (!t || !t->key_index)
		return NULL;
	i = mn_hash_key(t, key) & t->key_mask;
	for (;;) {
		u32 idx = t->key_index[i];

		if (!idx)
			return NULL;
		if (!memcmp(t->peers[idx - 1]->public_key, key,
			    MESHNET_KEY_LEN))
			return t->peers[idx - 1];
		i = (i + 1) & t->key_mask;
	}
}

static void mn_endpoint_key(const struct mn_peer *peer, u16 *family,
			    union mn_addr *addr, __be16 *port)
{
	*family = peer->endpoint.sa.sa_family;
	memset(addr, 0, sizeof(*addr));
	if (*family == AF_INET) {
		addr->v4 = peer->endpoint.sin.sin_addr.s_addr;
		*port = peer->endpoint.sin.sin_port;
	} else {
		addr->v6 = peer->endpoint.sin6.sin6_addr;
		*port = peer->endpoint.sin6.sin6_port;
	}
}

static u32 mn_hash_endpoint(const struct mn_table *t, u16 family,
			    const union mn_addr *addr, __be16 port)
{
	return mn_hash_addr(family, addr, t->seed ^ (__force u16)port);
}

/* Only DENIED peers with an endpoint are indexed: the outer drop. */
int mn_endpoint_index_build(struct mn_table *t)
{
	u32 n, count = 0;

	for (n = 0; n < t->n_peers; n++)
		if (t->peers[n]->has_endpoint &&
		    t->peers[n]->verdict == MESHNET_VERDICT_DENIED)
			count++;
	if (!count)
		return 0;
	t->ep_mask = mn_slots_for(count) - 1;
	t->ep_slots = kvcalloc(t->ep_mask + 1, sizeof(*t->ep_slots),
			       GFP_KERNEL_ACCOUNT);
	if (!t->ep_slots)
		return -ENOMEM;
	for (n = 0; n < t->n_peers; n++) {
		struct mn_peer *peer = t->peers[n];
		union mn_addr addr;
		u16 family;
		__be16 port;
		u32 i;

		if (!peer->has_endpoint ||
		    peer->verdict != MESHNET_VERDICT_DENIED)
			continue;
		mn_endpoint_key(peer, &family, &addr, &port);
		i = mn_hash_endpoint(t, family, &addr, port) & t->ep_mask;
		while (t->ep_slots[i])
			i = (i + 1) & t->ep_mask;
		t->ep_slots[i] = peer;
	}
	return 0;
}

struct mn_peer *mn_lookup_endpoint(const struct mn_table *t, u16 family,
				   const union mn_addr *addr, __be16 port)
{
	u32 i;

	if (!t->ep_slots)
		return NULL;
	i = mn_hash_endpoint(t, family, addr, port) & t->ep_mask;
	for (;; i = (i + 1) & t->ep_mask) {
		const struct mn_peer *peer = t->ep_slots[i];
		union mn_addr paddr;
		u16 pfamily;
		__be16 pport;

		if (!peer)
			return NULL;
		mn_endpoint_key(peer, &pfamily, &paddr, &pport);
		if (pfamily == family && pport == port &&
		    mn_addr_eq(family, &paddr, addr))
			return t->ep_slots[i];
	}
}
