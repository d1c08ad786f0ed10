// SPDX-License-Identifier: GPL-2.0
/*
 * Copyright (C) 2026 The aligned-meshnet authors.
 *
 * meshnet.ko: drops the traffic of quarantined mesh peers on WireGuard
 * devices. This file only orders module init and exit.
 */

#include <linux/module.h>
#include <net/genetlink.h>
#include <linux/rcupdate.h>
#include <linux/workqueue.h>

#include "meshnet.h"

struct workqueue_struct *mn_wq;

static int __init mn_mod_init(void)
{
	int ret;

	mn_wq = alloc_workqueue("meshnet", WQ_UNBOUND, 0);
	if (!mn_wq)
		return -ENOMEM;
	ret = mn_chunk_cache_init();
	if (ret)
		goto err_wq;
	ret = mn_peer_cache_init();
	if (ret)
		goto err_chunk;
	ret = mn_netns_init();
	if (ret)
		goto err_cache;
	ret = mn_device_notifier_register();
	if (ret)
		goto err_netns;
	ret = mn_netlink_notifier_register();
	if (ret)
		goto err_device;
	ret = mn_genl_register();
	if (ret)
		goto err_netlink;
	mn_bench_init();
	pr_info("meshnet: loaded, genl family %s version %d\n",
		MESHNET_GENL_NAME, MESHNET_GENL_VERSION);
	return 0;

err_netlink:
	mn_netlink_notifier_unregister();
err_device:
	mn_device_notifier_unregister();
err_netns:
	mn_netns_uninit();
	rcu_barrier();
	flush_workqueue(mn_wq);
err_cache:
	mn_peer_cache_uninit();
err_chunk:
	mn_chunk_cache_uninit();
err_wq:
	destroy_workqueue(mn_wq);
	return ret;
}

static void __exit mn_mod_exit(void)
{
	/* No new requests, then no events, then tear down every namespace. */
	mn_bench_uninit();
	mn_genl_unregister();
	mn_netlink_notifier_unregister();
	mn_device_notifier_unregister();
	mn_netns_uninit();
	/* Tables are freed by rcu_work: flush the callbacks, then the work. */
	rcu_barrier();
	destroy_workqueue(mn_wq);
	mn_peer_cache_uninit();
	mn_chunk_cache_uninit();
}

module_init(mn_mod_init);
module_exit(mn_mod_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Mesh membership verdict enforcement on WireGuard devices");
MODULE_AUTHOR("The aligned-meshnet authors");
MODULE_ALIAS_GENL_FAMILY(MESHNET_GENL_NAME);
