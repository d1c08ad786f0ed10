// SPDX-License-Identifier: GPL-2.0
/*
 * Copyright (C) 2026 The aligned-meshnet authors.
 *
 * The WireGuard devices a namespace enforces its table on: an RCU array of
 * ifindexes, replaced (never modified) by attach and detach. Lock order:
 * RTNL, then mn_net::lock. The namespace's netfilter hooks are registered
 * with its first attached device and unregistered with its last, so a
 * namespace (and every packet in it) pays nothing while none is attached.
 */

#include <linux/netdevice.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/slab.h>
#include <net/rtnetlink.h>
#include <net/sock.h>

#include "meshnet.h"

static struct mn_devices *mn_devices_current(struct mn_net *mn)
{
	return rcu_dereference_protected(mn->devices,
					 lockdep_is_held(&mn->lock));
}

/* Packet path (under RCU) or writer (under mn_net::lock). */
bool mn_device_attached(const struct mn_net *mn, int ifindex)
{
	const struct mn_devices *devs;
	u32 i;

	devs = rcu_dereference_check(mn->devices, lockdep_is_held(&mn->lock));
	if (!devs)
		return false;
	for (i = 0; i < devs->count; i++)
		if (devs->ifindex[i] == ifindex)
			return true;
	return false;
}

/*
 * Packet path (under RCU): is @sk the UDP socket of an attached device?
 * WireGuard sets up its sockets with the device's private data as
 * sk_user_data (setup_udp_tunnel_sock() in drivers/net/wireguard/socket.c);
 * the pointers are compared, never dereferenced. A device's sockets live in
 * the namespace it was created in: after a move to another namespace none
 * of them is found here.
 */
bool mn_device_owns_sock(const struct mn_net *mn, struct net *net,
			 const struct sock *sk)
{
	const void *owner = rcu_dereference_sk_user_data(sk);
	const struct mn_devices *devs = rcu_dereference(mn->devices);
	struct net_device *dev;
	u32 i;

	if (!owner || !devs)
		return false;
	for (i = 0; i < devs->count; i++) {
		dev = dev_get_by_index_rcu(net, devs->ifindex[i]);
		if (dev && netdev_priv(dev) == owner)
			return true;
	}
	return false;
}

/* The last device went away: no hooks (this waits for a grace period). */
static void mn_devices_idle(struct mn_net *mn)
{
	struct mn_devices *devs = mn_devices_current(mn);

	if (!devs || !devs->count)
		mn_hooks_unregister(mn);
}

static int mn_devices_replace(struct mn_net *mn, int add, int remove)
{
	struct mn_devices *old = mn_devices_current(mn), *devs;
	u32 i, n = old ? old->count : 0;

	/* Removing must not fail: the ifindex could be reused. */
	devs = kzalloc(struct_size(devs, ifindex, n + 1),
		       add ? GFP_KERNEL : GFP_KERNEL | __GFP_NOFAIL);
	if (!devs)
		return -ENOMEM;
	for (i = 0; i < n; i++)
		if (old->ifindex[i] != remove)
			devs->ifindex[devs->count++] = old->ifindex[i];
	if (add)
		devs->ifindex[devs->count++] = add;
	rcu_assign_pointer(mn->devices, devs);
	if (old)
		kfree_rcu(old, rcu);
	return 0;
}

static struct net_device *mn_device_find(struct mn_net *mn, int ifindex,
					 const char *ifname,
					 struct netlink_ext_ack *extack)
{
	struct net_device *dev;

	ASSERT_RTNL();
	if (ifname)
		dev = __dev_get_by_name(mn->net, ifname);
	else
		dev = __dev_get_by_index(mn->net, ifindex);
	if (!dev || dev->reg_state != NETREG_REGISTERED) {
		NL_SET_ERR_MSG_MOD(extack, "No such device in this namespace");
		return NULL;
	}
	return dev;
}

int mn_device_attach(struct mn_net *mn, int ifindex, const char *ifname,
		     struct netlink_ext_ack *extack)
{
	struct mn_devices *devs;
	struct net_device *dev;
	int ret;

	rtnl_lock();
	mutex_lock(&mn->lock);
	dev = mn_device_find(mn, ifindex, ifname, extack);
	if (!dev) {
		ret = -ENODEV;
		goto out;
	}
	if (!dev->rtnl_link_ops ||
	    strcmp(dev->rtnl_link_ops->kind, "wireguard")) {
		NL_SET_ERR_MSG_MOD(extack, "Device is not a WireGuard device");
		ret = -EOPNOTSUPP;
		goto out;
	}
	devs = mn_devices_current(mn);
	if (devs && devs->count >= MN_MAX_DEVICES) {
		NL_SET_ERR_MSG_MOD(extack, "Too many attached devices");
		ret = -ENOSPC;
		goto out;
	}
	if (mn_device_attached(mn, dev->ifindex)) {
		NL_SET_ERR_MSG_MOD(extack, "Device is already attached");
		ret = -EEXIST;
		goto out;
	}
	if (!mn->hooks_registered) {
		ret = mn_hooks_register(mn);
		if (ret) {
			NL_SET_ERR_MSG_MOD(extack,
					   "Cannot register the netfilter hooks");
			goto out;
		}
	}
	ret = mn_devices_replace(mn, dev->ifindex, 0);
	if (ret && !devs)
		mn_hooks_unregister(mn);
out:
	mutex_unlock(&mn->lock);
	rtnl_unlock();
	return ret;
}

int mn_device_detach(struct mn_net *mn, int ifindex, const char *ifname,
		     struct netlink_ext_ack *extack)
{
	struct net_device *dev;
	int ret;

	rtnl_lock();
	mutex_lock(&mn->lock);
	if (ifname) {
		dev = mn_device_find(mn, 0, ifname, extack);
		if (!dev) {
			ret = -ENODEV;
			goto out;
		}
		ifindex = dev->ifindex;
	}
	if (!mn_device_attached(mn, ifindex)) {
		NL_SET_ERR_MSG_MOD(extack, "Device is not attached");
		ret = -ENOENT;
		goto out;
	}
	ret = mn_devices_replace(mn, 0, ifindex);
	mn_devices_idle(mn);
out:
	mutex_unlock(&mn->lock);
	rtnl_unlock();
	return ret;
}

static int mn_device_event(struct notifier_block *nb, unsigned long event,
			   void *ptr)
{
	struct net_device *dev = netdev_notifier_info_to_dev(ptr);
	struct mn_net *mn;

	if (event != NETDEV_UNREGISTER)
		return NOTIFY_DONE;
	mn = mn_net(dev_net(dev));
	mutex_lock(&mn->lock);
	if (mn_device_attached(mn, dev->ifindex)) {
		mn_devices_replace(mn, 0, dev->ifindex);
		mn_devices_idle(mn);
	}
	mutex_unlock(&mn->lock);
	return NOTIFY_DONE;
}

static struct notifier_block mn_device_nb = {
	.notifier_call = mn_device_event,
};

int mn_device_notifier_register(void)
{
	return register_netdevice_notifier(&mn_device_nb);
}

void mn_device_notifier_unregister(void)
{
	unregister_netdevice_notifier(&mn_device_nb);
}
