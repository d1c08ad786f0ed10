// SPDX-License-Identifier: GPL-2.0
/*
 * Copyright (C) 2026 The aligned-meshnet authors.
 *
 * Verdict tables: immutable once published. A change builds a new table
 * (sharing the unchanged, refcounted peer entries), publishes it with
 * rcu_assign_pointer() and frees the old one after a grace period, in
 * process context, once no dump holds a reference to it any more.
 */

#include <linux/mm.h>
#include <linux/netlink.h>
#include <linux/overflow.h>
#include <linux/random.h>
#include <linux/rcupdate.h>
#include <linux/slab.h>
#include <linux/string.h>

#include "meshnet.h"

static void mn_table_free_work(struct work_struct *work)
{
	struct mn_table *t = container_of(to_rcu_work(work), struct mn_table,
					  free_work);
	u32 i;

	mn_lpm_free(t);
	kvfree(t->key_index);
	kvfree(t->ep_slots);
	for (i = 0; i < t->n_peers; i++)
		mn_peer_put(t->peers[i]);
	kvfree(t);
}

static void mn_table_release(struct kref *ref)
{
	struct mn_table *t = container_of(ref, struct mn_table, ref);

	/* Packet-path readers hold no reference: wait for them. */
	INIT_RCU_WORK(&t->free_work, mn_table_free_work);
	queue_rcu_work(mn_wq, &t->free_work);
}

void mn_table_put(struct mn_table *t)
{
	if (t)
		kref_put(&t->ref, mn_table_release);
}

struct mn_table *mn_table_get(struct mn_table *t)
{
	kref_get(&t->ref);
	return t;
}

/*
 * Builds a table from @n peers. On success the table owns the caller's
 * references to the peers; on failure the caller keeps them.
 */
struct mn_table *mn_table_build(struct mn_peer **peers, u32 n, u64 epoch_id,
				u64 expiry, struct netlink_ext_ack *extack)
{
	struct mn_table *t;
	int ret;

	if (n > MN_MAX_PEERS) {
		NL_SET_ERR_MSG_MOD(extack, "Too many peers");
		return ERR_PTR(-E2BIG);
	}
	t = kvzalloc(struct_size(t, peers, n), GFP_KERNEL_ACCOUNT);
	if (!t)
		return ERR_PTR(-ENOMEM);
	kref_init(&t->ref);
	t->epoch_id = epoch_id;
	t->epoch_expiry = expiry;
	t->seed = get_random_u32();
	t->n_peers = n;
	if (n)
		memcpy(t->peers, peers, n * sizeof(*peers));

	ret = mn_key_index_build(t, extack);
	if (ret)
		goto err;
	ret = mn_lpm_build(t, extack);
	if (ret)
		goto err;
	ret = mn_endpoint_index_build(t);
	if (ret)
		goto err_lpm;
	return t;

err_lpm:
	mn_lpm_free(t);
err:
	kvfree(t->key_index);
	kvfree(t);
	return ERR_PTR(ret);
}

struct mn_table *mn_table_current(struct mn_net *mn)
{
	return rcu_dereference_protected(mn->table,
					 lockdep_is_held(&mn->lock));
}

/* Swaps in @t (whose reference is handed over) and drops the old table. */
void mn_table_publish(struct mn_net *mn, struct mn_table *t)
{
	struct mn_table *old = mn_table_current(mn);

	t->generation = ++mn->generation;
	rcu_assign_pointer(mn->table, t);
	mn_table_put(old);
}

/* Copy-on-write: the current peers minus @skip, plus @add (may be NULL). */
static int mn_table_rebuild(struct mn_net *mn, const u8 *skip,
			    struct mn_peer *add, struct netlink_ext_ack *extack)
{
	struct mn_table *old = mn_table_current(mn), *t;
	struct mn_peer **peers;
	u32 i, n = 0;
	int ret = 0;

	peers = kvcalloc(old->n_peers + 1, sizeof(*peers), GFP_KERNEL);
	if (!peers)
		return -ENOMEM;
	for (i = 0; i < old->n_peers; i++) {
		if (skip && !memcmp(old->peers[i]->public_key, skip,
				    MESHNET_KEY_LEN))
			continue;
		peers[n++] = old->peers[i];
	}
	if (add)
		peers[n++] = add;
	t = mn_table_build(peers, n, old->epoch_id, old->epoch_expiry, extack);
	if (IS_ERR(t)) {
		ret = PTR_ERR(t);
		goto out;
	}
	/* The new table shares the old table's entries. */
	for (i = 0; i < n; i++)
		if (peers[i] != add)
			mn_peer_get(peers[i]);
	mn_table_publish(mn, t);
out:
	kvfree(peers);
	return ret;
}

/*
 * Adds or replaces one peer between epochs. On success the table takes over
 * the caller's reference to @peer.
 */
int mn_table_set_peer(struct mn_net *mn, struct mn_peer *peer,
		      struct netlink_ext_ack *extack)
{
	struct mn_table *old = mn_table_current(mn);
	struct mn_peer *prev = mn_lookup_key(old, peer->public_key);
	u8 prev_verdict = prev ? prev->verdict : MESHNET_VERDICT_UNSPEC;
	struct mn_counters *fresh = NULL;
	u64 epoch = old->epoch_id;
	int ret;

	if (!prev && old->n_peers >= MN_MAX_PEERS) {
		NL_SET_ERR_MSG_MOD(extack, "Too many peers");
		return -E2BIG;
	}
	peer->epoch = epoch;
	if (prev) {
		fresh = peer->counters;
		refcount_inc(&prev->counters->ref);
		peer->counters = prev->counters;
	}
	ret = mn_table_rebuild(mn, prev ? peer->public_key : NULL, peer,
			       extack);
	if (ret) {
		if (prev) {
			mn_counters_put(peer->counters);
			peer->counters = fresh;
		}
		return ret;
	}
	mn_counters_put(fresh);
	/* @old and @prev may be freed by now: use the saved values. */
	if (prev_verdict != peer->verdict)
		mn_notify_verdict(mn, epoch, peer);
	return 0;
}

int mn_table_del_peer(struct mn_net *mn, const u8 *key,
		      struct netlink_ext_ack *extack)
{
	if (!mn_lookup_key(mn_table_current(mn), key)) {
		NL_SET_ERR_MSG_MOD(extack, "No peer with this public key");
		return -ENOENT;
	}
	return mn_table_rebuild(mn, key, NULL, extack);
}
