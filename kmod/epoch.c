// SPDX-License-Identifier: GPL-2.0
/*
 * Copyright (C) 2026 The aligned-meshnet authors.
 *
 * Epoch transactions (begin, stage peers, commit, abort), the abort of a
 * transaction whose owner socket closes or that stays idle too long, and
 * the dead man's switch's notification.
 */

#include <linux/jhash.h>
#include <linux/mm.h>
#include <linux/moduleparam.h>
#include <linux/netlink.h>
#include <linux/notifier.h>
#include <linux/slab.h>
#include <linux/timekeeping.h>
#include <net/net_namespace.h>

#include "meshnet.h"

static unsigned int txn_idle_secs = MN_TXN_IDLE_SECS;
module_param(txn_idle_secs, uint, 0644);
MODULE_PARM_DESC(txn_idle_secs,
		 "Seconds an epoch transaction may stay idle before it is aborted");

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
		cond_resched();
	}
	kvfree(txn);
}

static void mn_txn_end(struct mn_net *mn)
{
	mn_txn_free(mn->txn);
	mn->txn = NULL;
	cancel_delayed_work(&mn->txn_work);
}

static void mn_txn_touch(struct mn_net *mn)
{
	unsigned long idle = (unsigned long)clamp_val(READ_ONCE(txn_idle_secs),
						      1, 3600) * HZ;

	mn->txn->deadline = jiffies + idle;
	mod_delayed_work(mn_wq, &mn->txn_work, idle);
}

static int mn_txn_check(struct mn_net *mn, struct sock *sk, u32 portid,
			struct netlink_ext_ack *extack)
{
	if (!mn->txn) {
		NL_SET_ERR_MSG_MOD(extack, "No epoch transaction is open");
		return -ENOENT;
	}
	if (mn->txn->owner != sk || mn->txn->owner_portid != portid) {
		NL_SET_ERR_MSG_MOD(extack,
				   "Epoch transaction is owned by another socket");
		return -EBUSY;
	}
	return 0;
}

int mn_epoch_begin(struct mn_net *mn, struct sock *sk, u32 portid,
		   const struct mn_epoch_args *args,
		   struct netlink_ext_ack *extack)
{
	struct mn_table *cur = mn_table_current(mn);
	struct mn_txn *txn;

	lockdep_assert_held(&mn->lock);
	if (mn->txn && (mn->txn->owner != sk ||
			mn->txn->owner_portid != portid)) {
		NL_SET_ERR_MSG_MOD(extack,
				   "Epoch transaction is owned by another socket");
		return -EBUSY;
	}
	if (!args->force && args->epoch_id <= cur->epoch_id) {
		NL_SET_ERR_MSG_MOD(extack,
				   "Epoch id is not newer than the current epoch");
		return -ESTALE;
	}
	if (!args->force && args->revision && args->revision < cur->revision) {
		NL_SET_ERR_MSG_MOD(extack,
				   "Revision is older than the current revision");
		return -ESTALE;
	}
	txn = kvzalloc(sizeof(*txn), GFP_KERNEL_ACCOUNT);
	if (!txn)
		return -ENOMEM;
	hash_init(txn->peers);
	txn->owner = sk;
	txn->owner_portid = portid;
	txn->epoch_id = args->epoch_id;
	txn->expiry = args->expiry;
	txn->valid_until = args->valid_until;
	txn->revision = args->revision;
	/* Beginning again from the owner discards what was staged. */
	mn_txn_free(mn->txn);
	mn->txn = txn;
	mn_txn_touch(mn);
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

/* Staged memory of one peer: entry, counters, index share; CPU-independent. */
static size_t mn_peer_bytes(const struct mn_peer *peer)
{
	return mn_peer_size(peer) + sizeof(struct mn_counters) + 64 * (1 + peer->n_allowedips);
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
int mn_epoch_stage(struct mn_net *mn, struct sock *sk, u32 portid,
		   struct mn_peer **peers, u32 n,
		   struct netlink_ext_ack *extack)
{
	struct mn_txn *txn;
	u32 i;
	int ret;

	lockdep_assert_held(&mn->lock);
	ret = mn_txn_check(mn, sk, portid, extack);
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
	mn_txn_touch(mn);
	return 0;

err:
	/* Unstage this request's peers: the caller keeps its references. */
	while (i--)
		mn_txn_unstage(txn, peers[i]);
	return ret;
}

/*
 * Gives @peer (not yet published) the counters of the entry with its key in
 * @old, or fresh ones for a new key: counters are allocated only for keys
 * the table does not have yet.
 */
int mn_counters_resolve(const struct mn_table *old, struct mn_peer *peer)
{
	const struct mn_peer *prev = mn_lookup_key(old, peer->public_key);

	if (prev) {
		if (prev->counters != peer->counters) {
			refcount_inc(&prev->counters->ref);
			mn_counters_put(peer->counters);
			peer->counters = prev->counters;
		}
		return 0;
	}
	if (!peer->counters)
		peer->counters = mn_counters_new();
	return peer->counters ? 0 : -ENOMEM;
}

static int mn_stage_reserve(struct mn_table *t, struct mn_txn *txn)
{
	u32 *count = kcalloc(2 * 129, sizeof(*count), GFP_KERNEL);
	struct mn_peer *peer;
	int bkt, c, ret = 0;
	u32 eps = 0;
	u16 i;

	if (!count)
		return -ENOMEM;
	hash_for_each(txn->peers, bkt, peer, stage_node) {
		eps += peer->has_endpoint;
		for (i = 0; i < peer->n_allowedips; i++)
			count[(peer->allowedips[i].family == AF_INET6) * 129 +
			      peer->allowedips[i].cidr]++;
	}
	if (eps)
		ret = mn_ep_reserve(t, eps);
	for (c = 0; c < 2 * 129 && !ret; c++)
		if (count[c])
			ret = mn_lpm_reserve(t, c < 129 ? AF_INET : AF_INET6,
					     c % 129, count[c]);
	kfree(count);
	return ret;
}

int mn_epoch_commit(struct mn_net *mn, struct sock *sk, u32 portid,
		    u64 epoch_id, const u8 *self_verdict,
		    const char *self_reason, struct list_head *notices,
		    struct netlink_ext_ack *extack)
{
	struct mn_table *old = mn_table_current(mn), *t;
	struct mn_txn *txn = mn->txn;
	struct mn_peer *peer;
	int bkt, ret;
	u32 i;

	lockdep_assert_held(&mn->lock);
	ret = mn_txn_check(mn, sk, portid, extack);
	if (ret)
		return ret;
	if (txn->epoch_id != epoch_id) {
		NL_SET_ERR_MSG_MOD(extack,
				   "Epoch id does not match the open transaction");
		return -ESTALE;
	}
	t = mn_table_new(mn, txn->n_peers);
	if (IS_ERR(t))
		return PTR_ERR(t);
	ret = mn_stage_reserve(t, txn);
	if (ret)
		goto err;
	/* Epoch and revision first: the notices carry them. */
	t->epoch_id = txn->epoch_id;
	t->epoch_expiry = txn->expiry;
	t->revision = txn->revision ? txn->revision : old->revision;
	/* Counters carry over by public key. */
	hash_for_each(txn->peers, bkt, peer, stage_node) {
		cond_resched();
		ret = mn_counters_resolve(old, peer);
		if (ret)
			goto err;
		ret = mn_table_insert(t, peer, extack);
		if (ret)
			goto err;
		if (!mn_has_listeners(mn))
			continue;
		if (mn_lookup_key(old, peer->public_key) &&
		    mn_lookup_key(old, peer->public_key)->verdict ==
		    peer->verdict)
			continue;
		ret = mn_notice_peer(notices, t, peer);
		if (ret)
			goto err;
	}
	mn_table_set_validity(t, txn->valid_until ? txn->valid_until :
			      txn->expiry);
	t->self_verdict = old->self_verdict;
	strscpy(t->self_reason, old->self_reason, sizeof(t->self_reason));
	if (self_verdict) {
		t->self_verdict = *self_verdict;
		strscpy(t->self_reason, self_reason ? self_reason : "",
			sizeof(t->self_reason));
		if (t->self_verdict != old->self_verdict &&
		    mn_has_listeners(mn)) {
			ret = mn_notice_self(notices, t);
			if (ret)
				goto err;
		}
	}
	/*
	 * Cannot fail from here on: the table holds its own references. No
	 * entry of the old table is in the new one: their PSKs go now.
	 */
	for (i = 0; i < old->n_peers; i++) {
		mn_peer_retire_psk(mn_table_peer(old, i));
		if (!(i & 1023))
			cond_resched();
	}
	mn_txn_end(mn);
	mn_table_publish(mn, t);
	return 0;

err:
	/* Nothing changed; the transaction stays open. */
	mn_table_discard(t);
	return ret;
}

int mn_epoch_abort(struct mn_net *mn, struct sock *sk, u32 portid,
		   const u64 *epoch_id, struct netlink_ext_ack *extack)
{
	int ret;

	lockdep_assert_held(&mn->lock);
	ret = mn_txn_check(mn, sk, portid, extack);
	if (ret)
		return ret;
	if (epoch_id && *epoch_id != mn->txn->epoch_id) {
		NL_SET_ERR_MSG_MOD(extack,
				   "Epoch id does not match the open transaction");
		return -ESTALE;
	}
	mn_txn_end(mn);
	return 0;
}

/* An owner that stays silent for txn_idle_secs loses its transaction. */
void mn_txn_work(struct work_struct *work)
{
	struct mn_net *mn = container_of(to_delayed_work(work), struct mn_net,
					 txn_work);

	mutex_lock(&mn->lock);
	/* Touched again while this work waited for the lock: not idle. */
	if (mn->txn && time_before(jiffies, mn->txn->deadline))
		mod_delayed_work(mn_wq, &mn->txn_work,
				 mn->txn->deadline - jiffies);
	else
		mn_txn_end(mn);
	mutex_unlock(&mn->lock);
}

/*
 * Dead man's switch. The packet path compares the boottime clock with the
 * table's deadline itself (so it holds across suspend, when jiffies stop);
 * this work only sends MESHNET_CMD_EXPIRED_NOTIFY. It never sleeps longer
 * than MN_EXPIRY_RECHECK_SECS.
 */
void mn_expiry_rearm(struct mn_net *mn)
{
	struct mn_table *t = mn_table_current(mn);
	u64 now = ktime_get_boottime_ns(), deadline, delay;

	lockdep_assert_held(&mn->lock);
	if (!t || !t->epoch_id || t->valid_until_boot == U64_MAX ||
	    mn->expired_notified) {
		cancel_delayed_work(&mn->expiry_work);
		return;
	}
	deadline = t->valid_until_boot + mn->grace_ns;
	if (deadline < t->valid_until_boot) {
		cancel_delayed_work(&mn->expiry_work);
		return;
	}
	delay = deadline > now ? div_u64(deadline - now, NSEC_PER_SEC) + 1 : 0;
	delay = min_t(u64, delay, MN_EXPIRY_RECHECK_SECS);
	mod_delayed_work(mn_wq, &mn->expiry_work, delay * HZ);
}

void mn_expiry_work(struct work_struct *work)
{
	struct mn_net *mn = container_of(to_delayed_work(work), struct mn_net,
					 expiry_work);
	struct mn_table *t;

	mutex_lock(&mn->lock);
	t = mn_table_current(mn);
	if (t && !mn->expired_notified && mn_table_expired(mn, t)) {
		mn->expired_notified = 1;
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
	if (mn->txn && mn->txn->owner_portid == n->portid)
		mn_txn_end(mn);
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
