// SPDX-License-Identifier: GPL-2.0
/*
 * Copyright (C) 2026 The aligned-meshnet authors.
 *
 * Outer endpoint index of a verdict table: the WireGuard endpoint (outer
 * address and UDP port, MESHNET_PEER_A_ENDPOINT) of every peer that has
 * one -> its peer slot. The underlay hook (hooks.c) looks the source of a
 * received UDP datagram up here to drop a DENIED peer's packets before
 * WireGuard decrypts them.
 *
 * An entry belongs to its peer: it holds the peer's slot (+ 1, 0 = empty),
 * never a copy of the address, and is written, moved and removed by
 * table.c together with the peer (insert, replace, remove), so an entry can
 * never outlive its peer or point at another one. Several peers may share
 * an endpoint (NAT, a stale address): each has its own entry, and a
 * lookup reports a peer only when every peer with that endpoint is DENIED.
 *
 * Open addressing with linear probing and backward-shift deletion, like the
 * key index (lookup.c), on copy-on-write chunks (vec.c), grown by rehashing
 * when half full; allocated with the first peer that has an endpoint.
 * Written only in a table that is not yet published.
 */

#include <linux/jhash.h>
#include <linux/log2.h>
#include <net/ipv6.h>

#include "meshnet.h"

static u32 mn_ep_hash(const union mn_sockaddr *ep, u32 seed)
{
	if (ep->sa.sa_family == AF_INET)
		return jhash_2words((__force u32)ep->sin.sin_addr.s_addr,
				    (__force u32)ep->sin.sin_port, seed);
	return jhash2((const u32 *)ep->sin6.sin6_addr.s6_addr32, 4,
		      seed ^ (__force u32)ep->sin6.sin6_port);
}

/* Address family, address and port; not the IPv6 flow label or scope. */
static bool mn_ep_equal(const union mn_sockaddr *a, const union mn_sockaddr *b)
{
	if (a->sa.sa_family != b->sa.sa_family)
		return false;
	if (a->sa.sa_family == AF_INET)
		return a->sin.sin_port == b->sin.sin_port &&
		       a->sin.sin_addr.s_addr == b->sin.sin_addr.s_addr;
	return a->sin6.sin6_port == b->sin6.sin6_port &&
	       ipv6_addr_equal(&a->sin6.sin6_addr, &b->sin6.sin6_addr);
}

static u32 mn_ep_home(const struct mn_table *t, const union mn_sockaddr *ep)
{
	return mn_ep_hash(ep, t->seed) & t->ep_mask;
}

static u32 mn_ep_at(const struct mn_table *t, u32 i)
{
	return *(u32 *)mn_vec_at(&t->eps, i);
}

static int mn_ep_put_slot(struct mn_table *t, const union mn_sockaddr *ep,
			  u32 idx)
{
	u32 i = mn_ep_home(t, ep);
	u32 *e;

	while (mn_ep_at(t, i))
		i = (i + 1) & t->ep_mask;
	e = mn_vec_wr(&t->eps, i, t->generation);
	if (!e)
		return -ENOMEM;
	*e = idx;
	return 0;
}

/* Room for @n endpoints in all (the indexed ones are rehashed). */
int mn_ep_reserve(struct mn_table *t, u32 n)
{
	struct mn_vec old = t->eps;
	u32 old_mask = t->ep_mask, i;
	int ret;

	if (t->eps.dir && n * 2 <= t->ep_mask + 1)
		return 0;
	t->ep_mask = roundup_pow_of_two(max_t(u32, 4, n * 2)) - 1;
	ret = mn_vec_alloc(&t->eps, MN_VEC_KEYS, t->ep_mask + 1,
			   t->generation);
	if (ret)
		goto err;
	for (i = 0; old.dir && i <= old_mask; i++) {
		u32 idx = *(u32 *)mn_vec_at(&old, i);

		if (!(i & 4095))
			cond_resched();
		if (!idx)
			continue;
		ret = mn_ep_put_slot(t, &mn_table_peer(t, idx - 1)->endpoint,
				     idx);
		if (ret) {
			mn_vec_free(&t->eps);
			goto err;
		}
	}
	mn_vec_free(&old);
	return 0;
err:
	t->eps = old;
	t->ep_mask = old_mask;
	return ret;
}

static bool mn_ep_denied(const struct mn_peer *peer)
{
	return peer->has_endpoint && peer->verdict == MESHNET_VERDICT_DENIED;
}

/* Indexes the endpoint (if any) of the peer in @slot. */
int mn_ep_insert(struct mn_table *t, u32 slot)
{
	const struct mn_peer *peer = mn_table_peer(t, slot);
	int ret;

	if (!peer->has_endpoint)
		return 0;
	ret = mn_ep_reserve(t, t->n_eps + 1);
	if (!ret)
		ret = mn_ep_put_slot(t, &peer->endpoint, slot + 1);
	if (ret)
		return ret;
	t->n_eps++;
	t->n_denied_eps += mn_ep_denied(peer);
	return 0;
}

/* The index position of the entry of the peer in @slot; -1: none. */
static s32 mn_ep_find(const struct mn_table *t, u32 slot)
{
	const struct mn_peer *peer = mn_table_peer(t, slot);
	u32 i, idx;

	if (!peer->has_endpoint || !t->eps.dir)
		return -1;
	for (i = mn_ep_home(t, &peer->endpoint);; i = (i + 1) & t->ep_mask) {
		idx = mn_ep_at(t, i);
		if (!idx)
			return -1;
		if (idx == slot + 1)
			return i;
	}
}

/* Removes the entry of the peer in @slot (the peer is still there). */
int mn_ep_remove(struct mn_table *t, u32 slot)
{
	const struct mn_peer *peer = mn_table_peer(t, slot);
	s32 i = mn_ep_find(t, slot);
	u32 j, k, idx, *hole;

	if (!peer->has_endpoint)
		return 0;
	if (i < 0)
		return -ENOENT;
	for (j = i;;) {
		j = (j + 1) & t->ep_mask;
		idx = mn_ep_at(t, j);
		if (!idx)
			break;
		k = mn_ep_home(t, &mn_table_peer(t, idx - 1)->endpoint);
		if (i <= j ? (k > i && k <= j) : (k > i || k <= j))
			continue;
		hole = mn_vec_wr(&t->eps, i, t->generation);
		if (!hole)
			return -ENOMEM;
		*hole = idx;
		i = j;
	}
	hole = mn_vec_wr(&t->eps, i, t->generation);
	if (!hole)
		return -ENOMEM;
	*hole = 0;
	t->n_eps--;
	t->n_denied_eps -= mn_ep_denied(peer);
	return 0;
}

/* The peer in slot @from moves to slot @to: its entry follows. */
int mn_ep_move(struct mn_table *t, u32 from, u32 to)
{
	s32 i = mn_ep_find(t, from);
	u32 *e;

	if (!mn_table_peer(t, from)->has_endpoint)
		return 0;
	if (i < 0)
		return -ENOENT;
	e = mn_vec_wr(&t->eps, i, t->generation);
	if (!e)
		return -ENOMEM;
	*e = to + 1;
	return 0;
}

/*
 * Packet path (under RCU): the DENIED peer whose endpoint is @ep, or NULL
 * when there is none or when another peer with that endpoint is not DENIED
 * (its packets must reach WireGuard; the inner hook still judges them).
 */
struct mn_peer *mn_lookup_denied_ep(const struct mn_table *t,
				    const union mn_sockaddr *ep)
{
	struct mn_peer *peer, *denied = NULL;
	u32 i, idx;

	if (!t->n_denied_eps)
		return NULL;
	for (i = mn_ep_home(t, ep);; i = (i + 1) & t->ep_mask) {
		idx = mn_ep_at(t, i);
		if (!idx)
			return denied;
		peer = mn_table_peer(t, idx - 1);
		if (!mn_ep_equal(&peer->endpoint, ep))
			continue;
		if (peer->verdict != MESHNET_VERDICT_DENIED)
			return NULL;
		if (!denied)
			denied = peer;
	}
}
