// SPDX-License-Identifier: GPL-2.0
/*
 * Copyright (C) 2026 The aligned-meshnet authors.
 *
 * Verdict tables: immutable once published. A change clones the current
 * table (sharing every index chunk, vec.c), writes its k changes into the
 * clone (copying only the chunks it touches), publishes the clone with
 * rcu_assign_pointer() and frees the old version after a grace period, in
 * process context, once no dump holds a reference to it any more. A clone
 * that fails half-way is discarded: nothing was published.
 *
 * Peer slots are dense (0..n_peers-1): a removal moves the last peer into
 * the hole and re-points its key, endpoint and prefixes, O(its prefixes).
 */

#include <linux/mm.h>
#include <linux/netlink.h>
#include <linux/overflow.h>
#include <linux/random.h>
#include <linux/rcupdate.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/timekeeping.h>

#include "meshnet.h"

static void mn_table_free_now(struct mn_table *t)
{
	mn_lpm_free(t);
	mn_vec_free(&t->eps);
	mn_vec_free(&t->keys);
	mn_vec_free(&t->peers);	/* drops the peer references */
	kvfree(t);
}

static void mn_table_free_work(struct work_struct *work)
{
	mn_table_free_now(container_of(to_rcu_work(work), struct mn_table,
				       free_work));
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

/* A table that was never published (readers cannot see it). */
void mn_table_discard(struct mn_table *t)
{
	if (t)
		mn_table_free_now(t);
}

/* An empty table with room for @n_hint peers, not yet published. */
struct mn_table *mn_table_new(struct mn_net *mn, u32 n_hint)
{
	struct mn_table *t;

	/* What a packet reads of the table shares one cache line. */
	BUILD_BUG_ON(offsetofend(struct mn_table, self_verdict) > 64);

	if (n_hint > MN_MAX_PEERS)
		return ERR_PTR(-E2BIG);
	t = kvzalloc(sizeof(*t), GFP_KERNEL_ACCOUNT);
	if (!t)
		return ERR_PTR(-ENOMEM);
	kref_init(&t->ref);
	t->generation = ++mn->generation;
	t->seed = get_random_u32();
	t->valid_until_boot = U64_MAX;
	t->self_verdict = MESHNET_VERDICT_ALLOWED;
	if (mn_vec_alloc(&t->peers, MN_VEC_PEERS, n_hint, t->generation) ||
	    mn_key_reserve(t, n_hint)) {
		mn_table_free_now(t);
		return ERR_PTR(-ENOMEM);
	}
	return t;
}

/*
 * A private copy of @old sharing all its chunks: O(n / 512) pointer copies
 * (the table header itself is a few hundred bytes).
 * Everything but the indexes (epoch, revision, validity, self) is inherited.
 */
struct mn_table *mn_table_clone(struct mn_net *mn, const struct mn_table *old)
{
	struct mn_table *t;

	t = kvmalloc(sizeof(*t), GFP_KERNEL_ACCOUNT);
	if (!t)
		return ERR_PTR(-ENOMEM);
	memcpy(t, old, sizeof(*t));
	kref_init(&t->ref);
	t->generation = ++mn->generation;
	memset(&t->peers, 0, sizeof(t->peers));
	memset(&t->keys, 0, sizeof(t->keys));
	memset(&t->eps, 0, sizeof(t->eps));
	if (mn_lpm_clone(t, old) || mn_vec_clone(&t->peers, &old->peers) ||
	    mn_vec_clone(&t->keys, &old->keys) ||
	    (old->eps.dir && mn_vec_clone(&t->eps, &old->eps))) {
		mn_table_free_now(t);
		return ERR_PTR(-ENOMEM);
	}
	return t;
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

	if (!old || old->valid_until_boot != t->valid_until_boot ||
	    old->epoch_id != t->epoch_id)
		mn->expired_notified = 0;
	rcu_assign_pointer(mn->table, t);
	mn_table_put(old);
	mn_expiry_rearm(mn);
}

/* Adds @peer (a new key) to an unpublished table; takes its own reference. */
int mn_table_insert(struct mn_table *t, struct mn_peer *peer,
		    struct netlink_ext_ack *extack)
{
	u32 slot = t->n_peers;
	struct mn_peer **p;
	u16 i;
	int ret;

	if (t->n_peers >= MN_MAX_PEERS) {
		NL_SET_ERR_MSG_MOD(extack, "Too many peers");
		return -E2BIG;
	}
	if (mn_lookup_slot(t, peer->public_key) >= 0) {
		NL_SET_ERR_MSG_MOD(extack, "Duplicate peer public key");
		return -EEXIST;
	}
	ret = mn_vec_grow(&t->peers, slot + 1, t->generation);
	if (ret)
		return ret;
	p = mn_vec_wr(&t->peers, slot, t->generation);
	if (!p)
		return -ENOMEM;
	*p = mn_peer_get(peer);
	ret = mn_key_insert(t, peer->public_key, slot + 1);
	if (!ret)
		ret = mn_ep_insert(t, slot);
	if (ret)
		return ret;
	for (i = 0; i < peer->n_allowedips; i++) {
		ret = mn_lpm_insert(t, &peer->allowedips[i], slot + 1, extack);
		if (ret)
			return ret;
	}
	t->n_peers++;
	return 0;
}

/* Removes the peer in @slot; the last peer moves into it. */
int mn_table_remove(struct mn_table *t, u32 slot)
{
	struct mn_peer *victim = mn_table_peer(t, slot), *last;
	u32 last_slot = t->n_peers - 1;
	struct mn_peer **ps, **pl;
	u16 i;
	int ret;

	ret = mn_key_remove(t, victim->public_key);
	if (!ret)
		ret = mn_ep_remove(t, slot);
	for (i = 0; !ret && i < victim->n_allowedips; i++)
		ret = mn_lpm_remove(t, &victim->allowedips[i]);
	if (ret)
		return ret;
	if (slot != last_slot) {
		last = mn_table_peer(t, last_slot);
		ret = mn_key_set_idx(t, last->public_key, slot + 1);
		if (!ret)
			ret = mn_ep_move(t, last_slot, slot);
		for (i = 0; !ret && i < last->n_allowedips; i++)
			ret = mn_lpm_set_idx(t, &last->allowedips[i], slot + 1);
		if (ret)
			return ret;
	}
	ps = mn_vec_wr(&t->peers, slot, t->generation);
	pl = ps ? mn_vec_wr(&t->peers, last_slot, t->generation) : NULL;
	if (!pl)
		return -ENOMEM;
	/* The slot's reference moves with the pointer. */
	*ps = *pl;
	*pl = NULL;
	t->n_peers--;
	mn_peer_put(victim);
	return 0;
}

/*
 * Replaces the peer in @slot by @peer (same key and prefixes; the endpoint
 * and verdict may differ: the old entry's endpoint index entry goes, the
 * new one's is made).
 */
int mn_table_replace(struct mn_table *t, u32 slot, struct mn_peer *peer)
{
	struct mn_peer **p;
	struct mn_peer *prev;
	int ret;

	ret = mn_ep_remove(t, slot);
	if (ret)
		return ret;
	p = mn_vec_wr(&t->peers, slot, t->generation);
	if (!p)
		return -ENOMEM;
	prev = *p;
	*p = mn_peer_get(peer);
	mn_peer_put(prev);
	return mn_ep_insert(t, slot);
}

/*
 * The dead man's switch runs on the boottime clock, which keeps counting in
 * suspend: @valid_until (unix seconds) becomes a boottime deadline now.
 */
void mn_table_set_validity(struct mn_table *t, u64 valid_until)
{
	time64_t now = ktime_get_real_seconds();
	u64 left, boot = ktime_get_boottime_ns();

	t->valid_until = valid_until;
	if (now < 0)
		now = 0;
	left = valid_until > (u64)now ? valid_until - (u64)now : 0;
	if (left > (U64_MAX - boot) / NSEC_PER_SEC)
		t->valid_until_boot = U64_MAX;
	else
		t->valid_until_boot = boot + left * NSEC_PER_SEC;
}

/* Past validity plus grace: the packet path calls this too. */
bool mn_table_expired(const struct mn_net *mn, const struct mn_table *t)
{
	u64 deadline = t->valid_until_boot + READ_ONCE(mn->grace_ns);

	if (!t->epoch_id || t->valid_until_boot == U64_MAX)
		return false;
	if (deadline < t->valid_until_boot)	/* overflow */
		return false;
	return ktime_get_boot_fast_ns() >= deadline;
}
