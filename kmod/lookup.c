// SPDX-License-Identifier: GPL-2.0
/*
 * Copyright (C) 2026 The aligned-meshnet authors.
 *
 * Lookup structures of a verdict table, kept in copy-on-write chunked
 * arrays (vec.c) so that a new table version changes them in O(changes):
 *  - longest-prefix match per address family: one open-addressing hash table
 *    per prefix length present, probed longest first (O(number of distinct
 *    lengths), independent of the number of peers);
 *  - public key -> peer slot.
 * Both use linear probing with backward-shift deletion (no tombstones) and
 * grow by rehashing when half full. They are written only in a table that is
 * not yet published (mn_vec_wr() with the table's generation).
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

static void mn_mask(u16 family, union mn_addr *dst, const union mn_addr *src,
		    u8 cidr)
{
	if (family == AF_INET) {
		memset(dst, 0, sizeof(*dst));
		dst->v4 = cidr ? src->v4 & htonl(~0U << (32 - cidr)) : 0;
		return;
	}
	ipv6_addr_prefix(&dst->v6, &src->v6, cidr);
}

static struct mn_lpm *mn_lpm_of(struct mn_table *t, u16 family)
{
	return family == AF_INET ? &t->lpm4 : &t->lpm6;
}

/* Is @k (a home slot) cyclically within (@i, @j]? */
static bool mn_between(u32 i, u32 k, u32 j)
{
	return i <= j ? (k > i && k <= j) : (k > i || k <= j);
}

/* ---- longest-prefix match ---- */

/* IPv4 levels hold 8-byte slots, IPv6 levels 20-byte ones. */
static u32 mn_slot_idx(const void *s, u16 family)
{
	if (family == AF_INET)
		return ((const struct mn_lpm_slot4 *)s)->idx;
	return ((const struct mn_lpm_slot6 *)s)->idx;
}

static bool mn_slot_eq(const void *s, u16 family, const union mn_addr *a)
{
	if (family == AF_INET)
		return ((const struct mn_lpm_slot4 *)s)->addr == a->v4;
	return ipv6_addr_equal(&((const struct mn_lpm_slot6 *)s)->addr,
			       &a->v6);
}

static void mn_slot_addr(const void *s, u16 family, union mn_addr *a)
{
	memset(a, 0, sizeof(*a));
	if (family == AF_INET)
		a->v4 = ((const struct mn_lpm_slot4 *)s)->addr;
	else
		a->v6 = ((const struct mn_lpm_slot6 *)s)->addr;
}

static void mn_slot_set(void *s, u16 family, const union mn_addr *a, u32 idx)
{
	if (family == AF_INET) {
		((struct mn_lpm_slot4 *)s)->addr = a->v4;
		((struct mn_lpm_slot4 *)s)->idx = idx;
	} else {
		((struct mn_lpm_slot6 *)s)->addr = a->v6;
		((struct mn_lpm_slot6 *)s)->idx = idx;
	}
}

static enum mn_vec_kind mn_lpm_kind(u16 family)
{
	return family == AF_INET ? MN_VEC_LPM4 : MN_VEC_LPM6;
}

static u32 mn_lpm_home(const struct mn_table *t, u16 family,
		       const struct mn_lpm_level *lvl, const union mn_addr *a)
{
	return mn_hash_addr(family, a, t->seed ^ lvl->cidr) & lvl->mask;
}

static struct mn_lpm_level *mn_lpm_level_find(struct mn_lpm *lpm, u8 cidr)
{
	u32 l;

	for (l = 0; l < lpm->n_levels; l++)
		if (lpm->levels[l].cidr == cidr)
			return &lpm->levels[l];
	return NULL;
}

static struct mn_lpm_level *mn_lpm_level_add(struct mn_table *t,
					     struct mn_lpm *lpm, u16 family,
					     u8 cidr, u32 n)
{
	struct mn_lpm_level *lvl;
	u32 l;

	if (lpm->n_levels == lpm->cap) {
		u32 cap = min_t(u32, max_t(u32, 4, lpm->cap * 2), 129);

		lvl = krealloc_array(lpm->levels, cap, sizeof(*lvl),
				     GFP_KERNEL_ACCOUNT);
		if (!lvl)
			return NULL;
		lpm->levels = lvl;
		lpm->cap = cap;
	}
	for (l = 0; l < lpm->n_levels && lpm->levels[l].cidr > cidr; l++)
		;
	lvl = &lpm->levels[l];
	memmove(lvl + 1, lvl, (lpm->n_levels - l) * sizeof(*lvl));
	memset(lvl, 0, sizeof(*lvl));
	lvl->cidr = cidr;
	lvl->mask = mn_slots_for(n) - 1;
	if (mn_vec_alloc(&lvl->slots, mn_lpm_kind(family), lvl->mask + 1,
			 t->generation)) {
		memmove(lvl, lvl + 1, (lpm->n_levels - l) * sizeof(*lvl));
		return NULL;
	}
	lpm->n_levels++;
	return lvl;
}

static void mn_lpm_level_del(struct mn_lpm *lpm, struct mn_lpm_level *lvl)
{
	u32 l = lvl - lpm->levels;

	mn_vec_free(&lvl->slots);
	memmove(lvl, lvl + 1, (lpm->n_levels - l - 1) * sizeof(*lvl));
	lpm->n_levels--;
}

static int mn_lpm_put_slot(struct mn_table *t, u16 family,
			   struct mn_lpm_level *lvl, const union mn_addr *a,
			   u32 idx)
{
	u32 i = mn_lpm_home(t, family, lvl, a);
	void *s;

	while (mn_slot_idx(mn_vec_at(&lvl->slots, i), family))
		i = (i + 1) & lvl->mask;
	s = mn_vec_wr(&lvl->slots, i, t->generation);
	if (!s)
		return -ENOMEM;
	mn_slot_set(s, family, a, idx);
	lvl->count++;
	return 0;
}

/* Rehashes @lvl into a table for @n entries. */
static int mn_lpm_resize(struct mn_table *t, u16 family,
			 struct mn_lpm_level *lvl, u32 n)
{
	struct mn_lpm_level old = *lvl;
	u32 i;
	int ret;

	lvl->mask = mn_slots_for(n) - 1;
	lvl->count = 0;
	ret = mn_vec_alloc(&lvl->slots, mn_lpm_kind(family), lvl->mask + 1,
			   t->generation);
	if (ret) {
		*lvl = old;
		return ret;
	}
	for (i = 0; i <= old.mask; i++) {
		const void *s = mn_vec_at(&old.slots, i);
		union mn_addr a;

		if (!(i & 4095))
			cond_resched();
		if (mn_slot_idx(s, family)) {
			mn_slot_addr(s, family, &a);
			ret = mn_lpm_put_slot(t, family, lvl, &a,
					      mn_slot_idx(s, family));
			if (ret) {
				mn_vec_free(&lvl->slots);
				*lvl = old;
				return ret;
			}
		}
	}
	mn_vec_free(&old.slots);
	return 0;
}

/* Room for @n more prefixes of length @cidr (bulk builds). */
int mn_lpm_reserve(struct mn_table *t, u16 family, u8 cidr, u32 n)
{
	struct mn_lpm *lpm = mn_lpm_of(t, family);
	struct mn_lpm_level *lvl = mn_lpm_level_find(lpm, cidr);

	if (!lvl)
		return mn_lpm_level_add(t, lpm, family, cidr, n) ? 0 : -ENOMEM;
	if ((lvl->count + n) * 2 <= lvl->mask + 1)
		return 0;
	return mn_lpm_resize(t, family, lvl, lvl->count + n);
}

static s32 mn_lpm_find(const struct mn_table *t, u16 family,
		       const struct mn_lpm_level *lvl, const union mn_addr *a)
{
	u32 i = mn_lpm_home(t, family, lvl, a);

	for (;; i = (i + 1) & lvl->mask) {
		const void *s = mn_vec_at(&lvl->slots, i);

		if (!mn_slot_idx(s, family))
			return -1;
		if (mn_slot_eq(s, family, a))
			return i;
	}
}

int mn_lpm_insert(struct mn_table *t, const struct mn_prefix *p, u32 idx,
		  struct netlink_ext_ack *extack)
{
	struct mn_lpm *lpm = mn_lpm_of(t, p->family);
	struct mn_lpm_level *lvl = mn_lpm_level_find(lpm, p->cidr);
	s32 i;
	int ret;

	if (lvl) {
		i = mn_lpm_find(t, p->family, lvl, &p->addr);
		if (i >= 0) {
			const void *s = mn_vec_at(&lvl->slots, i);

			if (mn_slot_idx(s, p->family) == idx)
				NL_SET_ERR_MSG_MOD(extack,
						   "Duplicate allowed IP prefix in one peer");
			else
				NL_SET_ERR_MSG_MOD(extack,
						   "Allowed IP prefix is also a prefix of another peer");
			return -EEXIST;
		}
	}
	ret = mn_lpm_reserve(t, p->family, p->cidr, 1);
	if (ret)
		return ret;
	lvl = mn_lpm_level_find(lpm, p->cidr);
	return mn_lpm_put_slot(t, p->family, lvl, &p->addr, idx);
}

int mn_lpm_remove(struct mn_table *t, const struct mn_prefix *p)
{
	struct mn_lpm *lpm = mn_lpm_of(t, p->family);
	struct mn_lpm_level *lvl = mn_lpm_level_find(lpm, p->cidr);
	union mn_addr a;
	void *hole, *s;
	s32 i;
	u32 j, k;

	if (!lvl)
		return -ENOENT;
	i = mn_lpm_find(t, p->family, lvl, &p->addr);
	if (i < 0)
		return -ENOENT;
	if (lvl->count == 1) {
		mn_lpm_level_del(lpm, lvl);
		return 0;
	}
	/* Backward-shift deletion keeps every probe sequence unbroken. */
	for (j = i;;) {
		j = (j + 1) & lvl->mask;
		s = mn_vec_at(&lvl->slots, j);
		if (!mn_slot_idx(s, p->family))
			break;
		mn_slot_addr(s, p->family, &a);
		k = mn_lpm_home(t, p->family, lvl, &a);
		if (mn_between(i, k, j))
			continue;
		hole = mn_vec_wr(&lvl->slots, i, t->generation);
		if (!hole)
			return -ENOMEM;
		memcpy(hole, mn_vec_at(&lvl->slots, j), lvl->slots.esize);
		i = j;
	}
	hole = mn_vec_wr(&lvl->slots, i, t->generation);
	if (!hole)
		return -ENOMEM;
	memset(hole, 0, lvl->slots.esize);
	lvl->count--;
	return 0;
}

int mn_lpm_set_idx(struct mn_table *t, const struct mn_prefix *p, u32 idx)
{
	struct mn_lpm_level *lvl = mn_lpm_level_find(mn_lpm_of(t, p->family),
						     p->cidr);
	void *s;
	s32 i;

	if (!lvl)
		return -ENOENT;
	i = mn_lpm_find(t, p->family, lvl, &p->addr);
	if (i < 0)
		return -ENOENT;
	s = mn_vec_wr(&lvl->slots, i, t->generation);
	if (!s)
		return -ENOMEM;
	mn_slot_set(s, p->family, &p->addr, idx);
	return 0;
}

/* @t's prefix levels become private copies sharing @old's slot chunks. */
int mn_lpm_clone(struct mn_table *t, const struct mn_table *old)
{
	const struct mn_lpm *src[2] = { &old->lpm4, &old->lpm6 };
	struct mn_lpm *dst[2] = { &t->lpm4, &t->lpm6 };
	int f, ret;
	u32 l;

	for (f = 0; f < 2; f++)
		memset(dst[f], 0, sizeof(*dst[f]));
	for (f = 0; f < 2; f++) {
		if (!src[f]->n_levels)
			continue;
		dst[f]->levels = kmalloc_array(src[f]->n_levels,
					       sizeof(*dst[f]->levels),
					       GFP_KERNEL_ACCOUNT);
		if (!dst[f]->levels)
			return -ENOMEM;
		dst[f]->cap = src[f]->n_levels;
		for (l = 0; l < src[f]->n_levels; l++) {
			dst[f]->levels[l] = src[f]->levels[l];
			ret = mn_vec_clone(&dst[f]->levels[l].slots,
					   &src[f]->levels[l].slots);
			if (ret)
				return ret;
			dst[f]->n_levels++;
		}
	}
	return 0;
}

void mn_lpm_free(struct mn_table *t)
{
	struct mn_lpm *lpms[2] = { &t->lpm4, &t->lpm6 };
	int f;
	u32 l;

	for (f = 0; f < 2; f++) {
		for (l = 0; l < lpms[f]->n_levels; l++)
			mn_vec_free(&lpms[f]->levels[l].slots);
		kfree(lpms[f]->levels);
		memset(lpms[f], 0, sizeof(*lpms[f]));
	}
}

/* Packet path: RCU read side, the table is immutable. */
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
		i = mn_lpm_home(t, family, lvl, &key);
		for (;; i = (i + 1) & lvl->mask) {
			const void *s = mn_vec_at(&lvl->slots, i);
			u32 idx = mn_slot_idx(s, family);

			if (!idx)
				break;
			if (mn_slot_eq(s, family, &key))
				return mn_table_peer(t, idx - 1);
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

/* ---- public key -> slot ---- */

static u32 mn_key_home(const struct mn_table *t, const u8 *key)
{
	return jhash(key, MESHNET_KEY_LEN, t->seed) & t->key_mask;
}

static s32 mn_key_find(const struct mn_table *t, const u8 *key)
{
	u32 i = mn_key_home(t, key);

	for (;; i = (i + 1) & t->key_mask) {
		u32 idx = *(u32 *)mn_vec_at(&t->keys, i);

		if (!idx)
			return -1;
		if (!memcmp(mn_table_peer(t, idx - 1)->public_key, key,
			    MESHNET_KEY_LEN))
			return i;
	}
}

s32 mn_lookup_slot(const struct mn_table *t, const u8 *key)
{
	s32 i;

	if (!t || !t->keys.dir)
		return -1;
	i = mn_key_find(t, key);
	if (i < 0)
		return -1;
	return *(u32 *)mn_vec_at(&t->keys, i) - 1;
}

struct mn_peer *mn_lookup_key(const struct mn_table *t, const u8 *key)
{
	s32 slot = mn_lookup_slot(t, key);

	return slot < 0 ? NULL : mn_table_peer(t, slot);
}

static int mn_key_put_slot(struct mn_table *t, const u8 *key, u32 idx)
{
	u32 i = mn_key_home(t, key);
	u32 *e;

	while (*(u32 *)mn_vec_at(&t->keys, i))
		i = (i + 1) & t->key_mask;
	e = mn_vec_wr(&t->keys, i, t->generation);
	if (!e)
		return -ENOMEM;
	*e = idx;
	return 0;
}

/* Room for @n keys in all (the peers in slots 0..n_peers-1 are indexed). */
int mn_key_reserve(struct mn_table *t, u32 n)
{
	struct mn_vec old = t->keys;
	u32 old_mask = t->key_mask, i;
	int ret;

	if (t->keys.dir && n * 2 <= t->key_mask + 1)
		return 0;
	t->key_mask = mn_slots_for(n) - 1;
	ret = mn_vec_alloc(&t->keys, MN_VEC_KEYS, t->key_mask + 1,
			   t->generation);
	if (ret)
		goto err;
	for (i = 0; old.dir && i <= old_mask; i++) {
		u32 idx = *(u32 *)mn_vec_at(&old, i);

		if (!(i & 4095))
			cond_resched();
		if (!idx)
			continue;
		ret = mn_key_put_slot(t, mn_table_peer(t, idx - 1)->public_key,
				      idx);
		if (ret) {
			mn_vec_free(&t->keys);
			goto err;
		}
	}
	mn_vec_free(&old);
	return 0;
err:
	t->keys = old;
	t->key_mask = old_mask;
	return ret;
}

/* The caller checked that @key is not indexed yet. */
int mn_key_insert(struct mn_table *t, const u8 *key, u32 idx)
{
	int ret = mn_key_reserve(t, t->n_peers + 1);

	if (ret)
		return ret;
	return mn_key_put_slot(t, key, idx);
}

int mn_key_remove(struct mn_table *t, const u8 *key)
{
	s32 i = mn_key_find(t, key);
	u32 j, k, idx, *hole;

	if (i < 0)
		return -ENOENT;
	for (j = i;;) {
		j = (j + 1) & t->key_mask;
		idx = *(u32 *)mn_vec_at(&t->keys, j);
		if (!idx)
			break;
		k = mn_key_home(t, mn_table_peer(t, idx - 1)->public_key);
		if (mn_between(i, k, j))
			continue;
		hole = mn_vec_wr(&t->keys, i, t->generation);
		if (!hole)
			return -ENOMEM;
		*hole = idx;
		i = j;
	}
	hole = mn_vec_wr(&t->keys, i, t->generation);
	if (!hole)
		return -ENOMEM;
	*hole = 0;
	return 0;
}

int mn_key_set_idx(struct mn_table *t, const u8 *key, u32 idx)
{
	s32 i = mn_key_find(t, key);
	u32 *e;

	if (i < 0)
		return -ENOENT;
	e = mn_vec_wr(&t->keys, i, t->generation);
	if (!e)
		return -ENOMEM;
	*e = idx;
	return 0;
}
