// SPDX-License-Identifier: GPL-2.0
/*
 * Copyright (C) 2026 The aligned-meshnet authors.
 *
 * Per-network-namespace state (pernet_operations with .id/.size).
 */

#include <linux/slab.h>
#include <net/net_namespace.h>
#include <net/netns/generic.h>

#include "meshnet.h"

unsigned int mn_net_id __read_mostly;

struct mn_net *mn_net(const struct net *net)
{
	return net_generic(net, mn_net_id);
}

static int __net_init mn_net_init(struct net *net)
{
	struct mn_net *mn = mn_net(net);
	struct mn_table *t;
	int ret;

	/* The packet path's fields share a cache line, not the mutex's. */
	BUILD_BUG_ON(offsetofend(struct mn_net, totals.pcpu) > 64);
	BUILD_BUG_ON(offsetof(struct mn_net, lock) < 64);
	mn->net = net;
	mutex_init(&mn->lock);
	INIT_DELAYED_WORK(&mn->expiry_work, mn_expiry_work);
	INIT_DELAYED_WORK(&mn->txn_work, mn_txn_work);
	mn->policy_unknown = MESHNET_UNKNOWN_DROP;
	mn->fail_closed = 1;
	mn->grace = 60;
	mn->grace_ns = 60 * NSEC_PER_SEC;

	ret = mn_totals_init(&mn->totals);
	if (ret)
		return ret;
	t = mn_table_new(mn, 0);
	if (IS_ERR(t)) {
		ret = PTR_ERR(t);
		goto err_totals;
	}
	RCU_INIT_POINTER(mn->table, t);
	/* No hooks until a device is attached (device.c). */
	return 0;

err_totals:
	mn_totals_free(&mn->totals);
	return ret;
}

static void __net_exit mn_net_exit(struct net *net)
{
	struct mn_net *mn = mn_net(net);
	struct mn_devices *devs;
	struct mn_table *t;

	/*
	 * No packet reaches our hooks after this (it synchronises RCU). The
	 * devices were unregistered before (device exit comes first), which
	 * normally unregistered the hooks already.
	 */
	mn_hooks_unregister(mn);
	cancel_delayed_work_sync(&mn->expiry_work);
	cancel_delayed_work_sync(&mn->txn_work);

	mutex_lock(&mn->lock);
	mn_txn_free(mn->txn);
	mn->txn = NULL;
	t = mn_table_current(mn);
	RCU_INIT_POINTER(mn->table, NULL);
	devs = rcu_dereference_protected(mn->devices,
					 lockdep_is_held(&mn->lock));
	RCU_INIT_POINTER(mn->devices, NULL);
	mutex_unlock(&mn->lock);

	mn_table_put(t);
	kfree_rcu(devs, rcu);
	/* The tables' rcu_work may still count nothing: no packet is left. */
	mn_totals_free(&mn->totals);
	mutex_destroy(&mn->lock);
}

static struct pernet_operations mn_net_ops = {
	.init = mn_net_init,
	.exit = mn_net_exit,
	.id = &mn_net_id,
	.size = sizeof(struct mn_net),
};

int mn_netns_init(void)
{
	return register_pernet_subsys(&mn_net_ops);
}

void mn_netns_uninit(void)
{
	unregister_pernet_subsys(&mn_net_ops);
}
