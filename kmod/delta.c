// SPDX-License-Identifier: GPL-2.0
/*
 * Copyright (C) 2026 The aligned-meshnet authors.
 *
 * Delta updates: k peer changes (removals, verdict changes, additions or
 * replacements) applied to a clone of the current table in O(k) and
 * published in one RCU swap, all or nothing. SET_PEER and DEL_PEER are
 * one-entry deltas.
 */

#include <linux/jhash.h>
#include <linux/mm.h>
#include <linux/netlink.h>
#include <linux/slab.h>
#include <linux/string.h>

#include "meshnet.h"

/* @t: the new table (its epoch and revision are final). */
int mn_notice_peer(struct list_head *notices, const struct mn_table *t,
		   struct mn_peer *peer)
{
	struct mn_notice *n = kzalloc(sizeof(*n), GFP_KERNEL);

	if (!n)
		return -ENOMEM;
	n->peer = mn_peer_get(peer);
	n->epoch_id = t->epoch_id;
	n->revision = t->revision;
	list_add_tail(&n->node, notices);
	return 0;
}

int mn_notice_self(struct list_head *notices, const struct mn_table *t)
{
	struct mn_notice *n = kzalloc(sizeof(*n), GFP_KERNEL);

	if (!n)
		return -ENOMEM;
	n->epoch_id = t->epoch_id;
	n->revision = t->revision;
	n->self_verdict = t->self_verdict;
	strscpy(n->self_reason, t->self_reason, sizeof(n->self_reason));
	list_add_tail(&n->node, notices);
	return 0;
}

/* Each key at most once in one delta: O(k) with a scratch hash set. */
static int mn_delta_check_unique(const struct mn_delta *d,
				 struct netlink_ext_ack *extack)
{
	u32 mask = roundup_pow_of_two(max_t(u32, 4, d->n * 2)) - 1, i, j;
	u32 *set = kvcalloc(mask + 1, sizeof(*set), GFP_KERNEL);
	int ret = 0;

	if (!set)
		return -ENOMEM;
	for (i = 0; i < d->n && !ret; i++) {
		const u8 *key = d->e[i].peer->public_key;

		for (j = jhash(key, MESHNET_KEY_LEN, 0) & mask; set[j];
		     j = (j + 1) & mask) {
			if (!memcmp(d->e[set[j] - 1].peer->public_key, key,
				    MESHNET_KEY_LEN)) {
				NL_SET_ERR_MSG_MOD(extack,
						   "Peer public key appears twice in the delta");
				ret = -EEXIST;
				break;
			}
		}
		set[j] = i + 1;
	}
	kvfree(set);
	return ret;
}

/* A copy of @prev with the verdict and reason of @upd. */
static struct mn_peer *mn_peer_with_verdict(const struct mn_peer *prev,
					    const struct mn_peer *upd)
{
	struct mn_peer *p = mn_peer_alloc(prev->n_allowedips);

	if (!p)
		return NULL;
	memcpy(p->public_key, prev->public_key, MESHNET_KEY_LEN);
	memcpy(p->psk, prev->psk, MESHNET_KEY_LEN);
	p->has_psk = prev->has_psk;
	p->endpoint = prev->endpoint;
	p->has_endpoint = prev->has_endpoint;
	memcpy(p->name, prev->name, sizeof(p->name));
	memcpy(p->allowedips, prev->allowedips,
	       prev->n_allowedips * sizeof(*p->allowedips));
	p->verdict = upd->verdict;
	strscpy(p->reason, upd->reason, sizeof(p->reason));
	refcount_inc(&prev->counters->ref);
	p->counters = prev->counters;
	return p;
}

/* Validates against @old and prepares every entry; changes nothing. */
static int mn_delta_prepare(const struct mn_table *old,
			    const struct mn_delta *d,
			    struct netlink_ext_ack *extack)
{
	u32 i, adds = 0, removes = 0;
	int ret;

	for (i = 0; i < d->n; i++) {
		struct mn_delta_entry *e = &d->e[i];
		const struct mn_peer *prev = mn_lookup_key(old,
							   e->peer->public_key);

		e->existed = !!prev;
		e->prev_verdict = prev ? prev->verdict : MESHNET_VERDICT_UNSPEC;
		switch (e->kind) {
		case MN_DELTA_REMOVE:
		case MN_DELTA_VERDICT:
			if (!prev) {
				NL_SET_ERR_MSG_MOD(extack,
						   "Delta changes a peer that is not in the table");
				return -ENOENT;
			}
			if (e->kind == MN_DELTA_REMOVE) {
				removes++;
				break;
			}
			e->repl = mn_peer_with_verdict(prev, e->peer);
			if (!e->repl)
				return -ENOMEM;
			e->same_prefixes = true;
			break;
		case MN_DELTA_UPSERT:
			ret = mn_counters_resolve(old, e->peer);
			if (ret)
				return ret;
			e->same_prefixes = prev &&
				mn_peer_same_prefixes(prev, e->peer);
			if (!prev)
				adds++;
			break;
		}
	}
	if (old->n_peers + adds - removes > MN_MAX_PEERS) {
		NL_SET_ERR_MSG_MOD(extack, "Too many peers");
		return -E2BIG;
	}
	return 0;
}

static int mn_delta_write(struct mn_table *t, const struct mn_delta *d,
			  struct netlink_ext_ack *extack)
{
	s32 slot;
	u32 i;
	int ret;

	/*
	 * Removals first (including entries whose prefixes change), so that
	 * a prefix may move from one peer to another within one delta.
	 */
	for (i = 0; i < d->n; i++) {
		const struct mn_delta_entry *e = &d->e[i];

		if (e->kind == MN_DELTA_REMOVE ||
		    (e->kind == MN_DELTA_UPSERT && e->existed &&
		     !e->same_prefixes)) {
			slot = mn_lookup_slot(t, e->peer->public_key);
			ret = mn_table_remove(t, slot);
			if (ret)
				return ret;
		}
	}
	for (i = 0; i < d->n; i++) {
		const struct mn_delta_entry *e = &d->e[i];
		struct mn_peer *p = e->repl ? e->repl : e->peer;

		if (e->kind == MN_DELTA_REMOVE)
			continue;
		p->epoch = t->epoch_id;
		slot = mn_lookup_slot(t, p->public_key);
		if (e->same_prefixes)
			ret = mn_table_replace(t, slot, p);
		else
			ret = mn_table_insert(t, p, extack);
		if (ret)
			return ret;
	}
	return 0;
}

int mn_delta_apply(struct mn_net *mn, const struct mn_delta *d,
		   struct list_head *notices, struct netlink_ext_ack *extack)
{
	struct mn_table *old = mn_table_current(mn), *t;
	bool listen = mn_has_listeners(mn);
	u32 i;
	int ret;

	lockdep_assert_held(&mn->lock);
	if (d->epoch_id && *d->epoch_id != old->epoch_id) {
		NL_SET_ERR_MSG_MOD(extack,
				   "Delta is for another epoch than the current one");
		return -ESTALE;
	}
	/* A pure validity renewal may repeat the current revision. */
	if (!d->force && (d->revision < old->revision ||
			  (d->revision == old->revision &&
			   (d->n || d->self_verdict)))) {
		NL_SET_ERR_MSG_MOD(extack,
				   "Delta revision is not newer than the current revision");
		return -ESTALE;
	}
	ret = mn_delta_check_unique(d, extack);
	if (ret)
		return ret;
	ret = mn_delta_prepare(old, d, extack);
	if (ret)
		return ret;
	t = mn_table_clone(mn, old);
	if (IS_ERR(t))
		return PTR_ERR(t);
	ret = mn_delta_write(t, d, extack);
	if (ret)
		goto err;
	t->revision = d->revision;
	if (d->valid_until)
		mn_table_set_validity(t, *d->valid_until);
	if (d->self_verdict) {
		t->self_verdict = *d->self_verdict;
		strscpy(t->self_reason, d->self_reason ? d->self_reason : "",
			sizeof(t->self_reason));
	}
	if (listen) {
		for (i = 0; i < d->n && !ret; i++) {
			const struct mn_delta_entry *e = &d->e[i];
			struct mn_peer *p = e->repl ? e->repl : e->peer;

			if (e->kind != MN_DELTA_REMOVE &&
			    e->prev_verdict != p->verdict)
				ret = mn_notice_peer(notices, t, p);
		}
		if (!ret && d->self_verdict &&
		    t->self_verdict != old->self_verdict)
			ret = mn_notice_self(notices, t);
		if (ret)
			goto err;
	}
	/* Cannot fail from here on: entries that leave the table lose PSKs. */
	for (i = 0; i < d->n; i++) {
		struct mn_peer *prev;

		if (!d->e[i].existed)
			continue;
		prev = mn_lookup_key(old, d->e[i].peer->public_key);
		if (prev && prev != mn_lookup_key(t, prev->public_key))
			mn_peer_retire_psk(prev);
	}
	mn_table_publish(mn, t);
	return 0;
err:
	mn_table_discard(t);
	return ret;
}
