// SPDX-License-Identifier: GPL-2.0
/*
 * Copyright (C) 2026 The aligned-meshnet authors.
 *
 * Epoch transactions (begin, stage peers, commit, abort), the abort of a
 * transaction whose owner socket closes, and the dead man's switch.
 */

#include <linux/jhash.h>
#include <linux/mm.h>
#include <linux/netlink.h>
#include <linux/notifier.h>
#include <linux/slab.h>
#include <linux/timekeeping.h>
#include <net/net_namespace.h>

#include "meshnet.h"

static u32 mn_stage_hash(const u8 *key)
{
	return jhash(key, MESHNET_KEY_LEN, 0);
}

void mn_txn_free(struct mn_txn *txn)
{
	struct mn_peer *peer;
	struct hlist_node *tmp;
	int bkt;

	if (!txn)
		return;
	/* Dropping the staged peers wipes their PSKs. */
	hash_for_each_safe(txn->peers, bkt, tmp, peer, stage_node) {
		hash_del(&peer->stage_node);
		mn_peer_put(peer);
	}
	kvfree(txn);
}

static int mn_txn_check(struct mn_net *mn, u32 portid,
			struct netlink_ext_ack *extack)
{
	if (!mn->txn) {
		NL_SET_ERR_MSG_MOD(extack, "No epoch transaction is open");
		return -ENOENT;
	}
	if (mn->txn->owner_portid != portid) {
		NL_SET_ERR_MSG_MOD(extack,
				   "Epoch transaction is owned by another socket");
		return -EBUSY;
	}
	return 0;
}

int mn_epoch_begin(struct mn_net *mn, u32 portid, u64 epoch_id, u64 expiry,
		   bool force, struct netlink_ext_ack *extack)
{
	struct mn_table *cur = mn_table_current(mn);
	struct mn_txn *txn;

	lockdep_assert_held(&mn->lock);
	if (mn->txn && mn->txn->owner_portid != portid) {
		NL_SET_ERR_MSG_MOD(extack,
				   "Epoch transaction is owned by another socket");
		return -EBUSY;
	}
	if (!force && epoch_id <= cur->epoch_id) {
		NL_SET_ERR_MSG_MOD(extack,
				   "Epoch id is not newer than the current epoch");
		return -ESTALE;
	}
	txn = kvzalloc(sizeof(*txn), GFP_KERNEL_ACCOUNT);
	if (!txn)
		return -ENOMEM;
	hash_init(txn->peers);
	txn->owner_portid = portid;
	txn->epoch_id = epoch_id;
	txn->expiry = expiry;
	/* Beginning again from the owner discards what was staged. */
	mn_txn_free(mn->txn);
	mn->txn = txn;
	return 0;
}

static struct mn_peer *mn_txn_find(struct mn_txn *txn, const u8 *key)
{
	struct mn_peer *peer;

	hash_for_each_possible(txn->peers, peer, stage_node,
			       mn_stage_hash(key))
		if (!memcmp(peer->public_key, key, MESHNET_KEY_LEN))
			return peer;
	return NULL;
}

static size_t mn_peer_bytes(const struct mn_peer *peer)
{
	return struct_size(peer, allowedips, peer->n_allowedips) +
	       sizeof(struct mn_pcpu_stats) * num_possible_cpus();
}

static void mn_txn_unstage(struct mn_txn *txn, struct mn_peer *peer)
{
	hash_del(&peer->stage_node);
	txn->n_peers--;
	txn->bytes -= mn_peer_bytes(peer);
}

/*
 * Stages @n peers, all or none. On success the transaction takes over the
 * caller's references (the array slots are set to NULL).
 */
int mn_epoch_stage(struct mn_net *mn, u32 portid, struct mn_peer **peers,
		   u32 n, struct netlink_ext_ack *extack)
{
	struct mn_txn *txn;
	u32 i;
	int ret;

	lockdep_assert_held(&mn->lock);
	ret = mn_txn_check(mn, portid, extack);
	if (ret)
		return ret;
	txn = mn->txn;
	for (i = 0; i < n; i++) {
		struct mn_peer *peer = peers[i];

		if (txn->n_peers >= MN_MAX_PEERS) {
			NL_SET_ERR_MSG_MOD(extack, "Too many peers in one epoch");
			ret = -E2BIG;
			goto err;
		}
		if (txn->bytes + mn_peer_bytes(peer) > MN_MAX_STAGED_BYTES) {
			NL_SET_ERR_MSG_MOD(extack,
					   "Too much staged peer data in one epoch");
			ret = -E2BIG;
			goto err;
		}
		if (mn_txn_find(txn, peer->public_key)) {
			NL_SET_ERR_MSG_MOD(extack, "Peer public key staged twice");
			ret = -EEXIST;
			goto err;
		}
		peer->epoch = txn->epoch_id;
		hash_add(txn->peers, &peer->stage_node,
			 mn_stage_hash(peer->public_key));
		txn->n_peers++;
		txn->bytes += mn_peer_bytes(peer);
	}
	memset(peers, 0, n * sizeof(*peers));
	return 0;

err:
	/* Unstage this request's peers: the caller keeps its references. */
	while (i--)
		mn_txn_unstage(txn, peers[i]);
	return ret;
}

static void mn_self_set(struct mn_net *mn, u8 verdict, const char *reason)
{
	WRITE_ONCE(mn->self_verdict, verdict);
	strscpy(mn->self_reason, reason ? reason : "",
		sizeof(mn->self_reason));
}

int mn_epoch_commit(struct mn_net *mn, u32 portid, u64 epoch_id,
		    const u8 *self_verdict, const char *self_reason,
		    struct netlink_ext_ack *extack)
{
	struct mn_table *old = mn_table_current(mn), *t;
	struct mn_txn *txn = mn->txn;
	bool notify = mn_has_listeners(mn);
	struct mn_peer **peers, *peer;
	u8 *changed = NULL;
	u32 i, n = 0;
	int bkt, ret;

	lockdep_assert_held(&mn->lock);
	ret = mn_txn_check(mn, portid, extack);
	if (ret)
		return ret;
	if (txn->epoch_id != epoch_id) {
		NL_SET_ERR_MSG_MOD(extack,
				   "Epoch id does not match the open transaction");
		return -ESTALE;
	}
	peers = kvcalloc(max_t(u32, txn->n_peers, 1), sizeof(*peers),
			 GFP_KERNEL);
	if (!peers)
		return -ENOMEM;
	if (notify) {
		changed = kvzalloc(max_t(u32, txn->n_peers, 1), GFP_KERNEL);
		if (!changed) {
			ret = -ENOMEM;
			goto out;
		}
	}
	hash_for_each(txn->peers, bkt, peer, stage_node)
		peers[n++] = peer;

	t = mn_table_build(peers, n, txn->epoch_id, txn->expiry, extack);
	if (IS_ERR(t)) {
		/* Nothing changed; the transaction stays open. */
		ret = PTR_ERR(t);
		goto out;
	}
	/* Cannot fail from here on. Counters carry over by public key. */
	for (i = 0; i < n; i++) {
		struct mn_peer *prev = mn_lookup_key(old, peers[i]->public_key);

		if (prev) {
			refcount_inc(&prev->counters->ref);
			mn_counters_put(peers[i]->counters);
			peers[i]->counters = prev->counters;
		}
		if (changed)
			changed[i] = !prev || prev->verdict != peers[i]->verdict;
		mn_txn_unstage(txn, peers[i]);
	}
	mn_txn_free(txn);
	mn->txn = NULL;

	if (self_verdict) {
		bool self_changed = *self_verdict != mn->self_verdict;

		mn_self_set(mn, *self_verdict, self_reason);
		if (self_changed)
			mn_notify_self(mn, epoch_id);
	}
	/* The table now holds the staged references. */
	mn_table_publish(mn, t);
	WRITE_ONCE(mn->expired, 0);
	mn_expiry_rearm(mn);

	if (notify) {
		for (i = 0; i < n; i++)
			if (changed[i])
				mn_notify_verdict(mn, epoch_id, peers[i]);
		mn_notify_epoch(mn, t);
	}
	ret = 0;
out:
	kvfree(changed);
	kvfree(peers);
	return ret;
}

int mn_epoch_abort(struct mn_net *mn, u32 portid, const u64 *epoch_id,
		   struct netlink_ext_ack *extack)
{
	int ret;

	lockdep_assert_held(&mn->lock);
	ret = mn_txn_check(mn, portid, extack);
	if (ret)
		return ret;
	if (epoch_id && *epoch_id != mn->txn->epoch_id) {
		NL_SET_ERR_MSG_MOD(extack,
				   "Epoch id does not match the open transaction");
		return -ESTALE;
	}
	mn_txn_free(mn->txn);
	mn->txn = NULL;
	return 0;
}

/*
 * Dead man's switch. Expiry is unix time (CLOCK_REALTIME) but the work runs
 * on jiffies: it never sleeps longer than MN_EXPIRY_RECHECK_SECS and
 * recomputes the deadline each time, so clock steps are picked up.
 */
void mn_expiry_rearm(struct mn_net *mn)
{
	struct mn_table *t = mn_table_current(mn);
	time64_t now = ktime_get_real_seconds();
	u64 deadline, delay;

	lockdep_assert_held(&mn->lock);
	if (!t->epoch_id || READ_ONCE(mn->expired)) {
		cancel_delayed_work(&mn->expiry_work);
		return;
	}
	deadline = t->epoch_expiry + mn->grace;
	if (deadline < t->epoch_expiry)	/* overflow: never expires */
		deadline = U64_MAX;
	if (now < 0 || deadline > (u64)now)
		delay = min_t(u64, deadline - max_t(time64_t, now, 0),
			      MN_EXPIRY_RECHECK_SECS);
	else
		delay = 0;
	mod_delayed_work(mn_wq, &mn->expiry_work, delay * HZ);
}

void mn_expiry_work(struct work_struct *work)
{
	struct mn_net *mn = container_of(to_delayed_work(work), struct mn_net,
					 expiry_work);
	struct mn_table *t;
	time64_t now;

	mutex_lock(&mn->lock);
	t = mn_table_current(mn);
	now = ktime_get_real_seconds();
	if (t->epoch_id && !READ_ONCE(mn->expired) && now >= 0 &&
	    (u64)now >= t->epoch_expiry &&
	    (u64)now - t->epoch_expiry >= mn->grace) {
		WRITE_ONCE(mn->expired, 1);
		mn_notify_expired(mn, t);
	} else {
		mn_expiry_rearm(mn);
	}
	mutex_unlock(&mn->lock);
}

static int mn_netlink_event(struct notifier_block *nb, unsigned long event,
			    void *ptr)
{
	struct netlink_notify *n = ptr;
	struct mn_net *mn;

	if (event != NETLINK_URELEASE || n->protocol != NETLINK_GENERIC ||
	    !n->portid)
		return NOTIFY_DONE;
	mn = mn_net(n->net);
	mutex_lock(&mn->lock);
	if (mn->txn && mn->txn->owner_portid == n->portid) {
		mn_txn_free(mn->txn);
		mn->txn = NULL;
	}
	mutex_unlock(&mn->lock);
	return NOTIFY_DONE;
}

static struct notifier_block mn_netlink_nb = {
	.notifier_call = mn_netlink_event,
};

int mn_netlink_notifier_register(void)
{
	return netlink_register_notifier(&mn_netlink_nb);
}

void mn_netlink_notifier_unregister(void)
{
	netlink_unregister_notifier(&mn_netlink_nb);
}
