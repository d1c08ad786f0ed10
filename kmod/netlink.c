// SPDX-License-Identifier: GPL-2.0
/*
 * Copyright (C) 2026 The aligned-meshnet authors.
 *
 * The "meshnet" generic netlink family: per-command strict policies, admin
 * permission on every operation, an extack message on every rejection, a
 * resumable dump of a table snapshot and multicast notifications.
 */

#include <linux/if.h>
#include <linux/netdevice.h>
#include <linux/slab.h>
#include <net/genetlink.h>
#include <net/ipv6.h>
#include <net/sock.h>

#include "meshnet.h"

static const struct nla_policy mn_allowedip_policy[MESHNET_ALLOWEDIP_A_MAX + 1] = {
	[MESHNET_ALLOWEDIP_A_FAMILY] = { .type = NLA_U16 },
	[MESHNET_ALLOWEDIP_A_IPADDR] =
		NLA_POLICY_RANGE(NLA_BINARY, sizeof(struct in_addr),
				 sizeof(struct in6_addr)),
	[MESHNET_ALLOWEDIP_A_CIDR_MASK] = NLA_POLICY_MAX(NLA_U8, 128),
};

static const struct nla_policy mn_peer_policy[MESHNET_PEER_A_MAX + 1] = {
	[MESHNET_PEER_A_PUBLIC_KEY] = NLA_POLICY_EXACT_LEN(MESHNET_KEY_LEN),
	[MESHNET_PEER_A_NAME] = { .type = NLA_NUL_STRING,
				  .len = MESHNET_NAME_LEN - 1 },
	[MESHNET_PEER_A_VERDICT] = NLA_POLICY_RANGE(NLA_U8,
						    MESHNET_VERDICT_ALLOWED,
						    MESHNET_VERDICT_DENIED),
	[MESHNET_PEER_A_REASON] = { .type = NLA_NUL_STRING,
				    .len = MESHNET_REASON_LEN - 1 },
	[MESHNET_PEER_A_EPOCH] = { .type = NLA_U64 },
	[MESHNET_PEER_A_ENDPOINT] =
		NLA_POLICY_RANGE(NLA_BINARY, sizeof(struct sockaddr_in),
				 sizeof(struct sockaddr_in6)),
	[MESHNET_PEER_A_PRESHARED_KEY] = NLA_POLICY_EXACT_LEN(MESHNET_KEY_LEN),
	[MESHNET_PEER_A_HAS_PSK] = { .type = NLA_FLAG },
	[MESHNET_PEER_A_ALLOWEDIPS] =
		NLA_POLICY_NESTED_ARRAY(mn_allowedip_policy),
	[MESHNET_PEER_A_COUNTERS] = { .type = NLA_NESTED },
};

static const struct nla_policy mn_peer_key_policy[MESHNET_PEER_A_MAX + 1] = {
	[MESHNET_PEER_A_PUBLIC_KEY] = NLA_POLICY_EXACT_LEN(MESHNET_KEY_LEN),
};

/* Commands without attributes reject every attribute (strict validation). */
static const struct nla_policy mn_no_attr_policy[MESHNET_A_MAX + 1] = {
};

static const struct nla_policy mn_device_policy[MESHNET_A_MAX + 1] = {
	[MESHNET_A_IFINDEX] = NLA_POLICY_MIN(NLA_U32, 1),
	[MESHNET_A_IFNAME] = { .type = NLA_NUL_STRING, .len = IFNAMSIZ - 1 },
};

static struct netlink_range_validation mn_grace_range = {
	.max = MESHNET_GRACE_MAX,
};

static const struct nla_policy mn_set_policy_policy[MESHNET_A_MAX + 1] = {
	[MESHNET_A_POLICY_UNKNOWN] = NLA_POLICY_MAX(NLA_U8, MESHNET_UNKNOWN_MAX),
	[MESHNET_A_POLICY_FAIL_CLOSED] = NLA_POLICY_MAX(NLA_U8, 1),
	[MESHNET_A_POLICY_GRACE] = NLA_POLICY_FULL_RANGE(NLA_U32,
							 &mn_grace_range),
	[MESHNET_A_POLICY_ENDPOINT_DROP] = NLA_POLICY_MAX(NLA_U8, 1),
};

static const struct nla_policy mn_set_self_policy[MESHNET_A_MAX + 1] = {
	[MESHNET_A_SELF_VERDICT] = NLA_POLICY_RANGE(NLA_U8,
						    MESHNET_VERDICT_ALLOWED,
						    MESHNET_VERDICT_DENIED),
	[MESHNET_A_SELF_REASON] = { .type = NLA_NUL_STRING,
				    .len = MESHNET_REASON_LEN - 1 },
};

static const struct nla_policy mn_begin_policy[MESHNET_A_MAX + 1] = {
	[MESHNET_A_EPOCH_ID] = NLA_POLICY_MIN(NLA_U64, 1),
	[MESHNET_A_EPOCH_EXPIRY] = { .type = NLA_U64 },
	[MESHNET_A_EPOCH_FORCE] = { .type = NLA_FLAG },
};

static const struct nla_policy mn_set_peers_policy[MESHNET_A_MAX + 1] = {
	[MESHNET_A_PEERS] = NLA_POLICY_NESTED_ARRAY(mn_peer_policy),
};

static const struct nla_policy mn_commit_policy[MESHNET_A_MAX + 1] = {
	[MESHNET_A_EPOCH_ID] = NLA_POLICY_MIN(NLA_U64, 1),
	[MESHNET_A_SELF_VERDICT] = NLA_POLICY_RANGE(NLA_U8,
						    MESHNET_VERDICT_ALLOWED,
						    MESHNET_VERDICT_DENIED),
	[MESHNET_A_SELF_REASON] = { .type = NLA_NUL_STRING,
				    .len = MESHNET_REASON_LEN - 1 },
};

static const struct nla_policy mn_abort_policy[MESHNET_A_MAX + 1] = {
	[MESHNET_A_EPOCH_ID] = NLA_POLICY_MIN(NLA_U64, 1),
};

static const struct nla_policy mn_set_peer_policy[MESHNET_A_MAX + 1] = {
	[MESHNET_A_PEER] = NLA_POLICY_NESTED(mn_peer_policy),
};

static const struct nla_policy mn_peer_key_only_policy[MESHNET_A_MAX + 1] = {
	[MESHNET_A_PEER] = NLA_POLICY_NESTED(mn_peer_key_policy),
};

static const struct nla_policy mn_get_peers_policy[MESHNET_A_MAX + 1] = {
	[MESHNET_A_SHOW_PSK] = { .type = NLA_FLAG },
};

static struct mn_net *mn_info_net(struct genl_info *info)
{
	return mn_net(genl_info_net(info));
}

/* ---- replies ---- */

static int mn_put_counters(struct sk_buff *skb, int attrtype,
			   const struct mn_counters *c)
{
	struct mn_stats_sum s;
	struct nlattr *nest;

	mn_counters_sum(c, &s);
	nest = nla_nest_start(skb, attrtype);
	if (!nest)
		return -EMSGSIZE;
	if (nla_put_u64_64bit(skb, MESHNET_COUNTER_A_RX_PACKETS, s.rx_packets,
			      MESHNET_COUNTER_A_PAD) ||
	    nla_put_u64_64bit(skb, MESHNET_COUNTER_A_RX_BYTES, s.rx_bytes,
			      MESHNET_COUNTER_A_PAD) ||
	    nla_put_u64_64bit(skb, MESHNET_COUNTER_A_TX_PACKETS, s.tx_packets,
			      MESHNET_COUNTER_A_PAD) ||
	    nla_put_u64_64bit(skb, MESHNET_COUNTER_A_TX_BYTES, s.tx_bytes,
			      MESHNET_COUNTER_A_PAD) ||
	    nla_put_u64_64bit(skb, MESHNET_COUNTER_A_RX_DROP_PACKETS,
			      s.rx_drop_packets, MESHNET_COUNTER_A_PAD) ||
	    nla_put_u64_64bit(skb, MESHNET_COUNTER_A_RX_DROP_BYTES,
			      s.rx_drop_bytes, MESHNET_COUNTER_A_PAD) ||
	    nla_put_u64_64bit(skb, MESHNET_COUNTER_A_TX_DROP_PACKETS,
			      s.tx_drop_packets, MESHNET_COUNTER_A_PAD) ||
	    nla_put_u64_64bit(skb, MESHNET_COUNTER_A_TX_DROP_BYTES,
			      s.tx_drop_bytes, MESHNET_COUNTER_A_PAD) ||
	    nla_put_u64_64bit(skb, MESHNET_COUNTER_A_ENDPOINT_DROP_PACKETS,
			      s.endpoint_drop_packets, MESHNET_COUNTER_A_PAD)) {
		nla_nest_cancel(skb, nest);
		return -EMSGSIZE;
	}
	nla_nest_end(skb, nest);
	return 0;
}

static int mn_put_allowedips(struct sk_buff *skb, const struct mn_peer *peer)
{
	struct nlattr *list, *nest;
	u16 i;

	list = nla_nest_start(skb, MESHNET_PEER_A_ALLOWEDIPS);
	if (!list)
		return -EMSGSIZE;
	for (i = 0; i < peer->n_allowedips; i++) {
		const struct mn_prefix *p = &peer->allowedips[i];

		nest = nla_nest_start(skb, i);
		if (!nest ||
		    nla_put_u16(skb, MESHNET_ALLOWEDIP_A_FAMILY, p->family) ||
		    nla_put(skb, MESHNET_ALLOWEDIP_A_IPADDR,
			    p->family == AF_INET ? sizeof(p->addr.v4) :
			    sizeof(p->addr.v6), &p->addr) ||
		    nla_put_u8(skb, MESHNET_ALLOWEDIP_A_CIDR_MASK, p->cidr))
			goto err;
		nla_nest_end(skb, nest);
	}
	nla_nest_end(skb, list);
	return 0;
err:
	/* Trims the partial entry too: @nest lies inside @list. */
	nla_nest_cancel(skb, list);
	return -EMSGSIZE;
}

/* @full: the dump layout; otherwise the notification subset. */
static int mn_put_peer(struct sk_buff *skb, int attrtype,
		       const struct mn_peer *peer, bool full, bool show_psk)
{
	struct nlattr *nest = nla_nest_start(skb, attrtype);

	if (!nest)
		return -EMSGSIZE;
	if (nla_put(skb, MESHNET_PEER_A_PUBLIC_KEY, MESHNET_KEY_LEN,
		    peer->public_key) ||
	    (peer->name[0] &&
	     nla_put_string(skb, MESHNET_PEER_A_NAME, peer->name)) ||
	    nla_put_u8(skb, MESHNET_PEER_A_VERDICT, peer->verdict) ||
	    (peer->reason[0] &&
	     nla_put_string(skb, MESHNET_PEER_A_REASON, peer->reason)))
		goto err;
	if (!full)
		goto out;
	if (nla_put_u64_64bit(skb, MESHNET_PEER_A_EPOCH, peer->epoch,
			      MESHNET_PEER_A_PAD))
		goto err;
	if (peer->has_endpoint &&
	    nla_put(skb, MESHNET_PEER_A_ENDPOINT,
		    peer->endpoint.sa.sa_family == AF_INET ?
		    sizeof(peer->endpoint.sin) : sizeof(peer->endpoint.sin6),
		    &peer->endpoint))
		goto err;
	if (peer->has_psk &&
	    (nla_put_flag(skb, MESHNET_PEER_A_HAS_PSK) ||
	     (show_psk && nla_put(skb, MESHNET_PEER_A_PRESHARED_KEY,
				  MESHNET_KEY_LEN, peer->psk))))
		goto err;
	if (mn_put_allowedips(skb, peer) ||
	    mn_put_counters(skb, MESHNET_PEER_A_COUNTERS, peer->counters))
		goto err;
out:
	nla_nest_end(skb, nest);
	return 0;
err:
	nla_nest_cancel(skb, nest);
	return -EMSGSIZE;
}

static int mn_put_devices(struct sk_buff *skb, struct mn_net *mn)
{
	const struct mn_devices *devs;
	struct nlattr *list, *nest;
	int ret = 0;
	u32 i;

	list = nla_nest_start(skb, MESHNET_A_DEVICES);
	if (!list)
		return -EMSGSIZE;
	rcu_read_lock();
	devs = rcu_dereference(mn->devices);
	for (i = 0; devs && i < devs->count; i++) {
		struct net_device *dev;

		dev = dev_get_by_index_rcu(mn->net, devs->ifindex[i]);
		nest = nla_nest_start(skb, i);
		if (!nest ||
		    nla_put_u32(skb, MESHNET_DEVICE_A_IFINDEX,
				devs->ifindex[i]) ||
		    (dev && nla_put_string(skb, MESHNET_DEVICE_A_IFNAME,
					   dev->name))) {
			ret = -EMSGSIZE;
			break;
		}
		nla_nest_end(skb, nest);
	}
	rcu_read_unlock();
	if (ret)
		nla_nest_cancel(skb, list);
	else
		nla_nest_end(skb, list);
	return ret;
}

static int mn_get_state(struct sk_buff *skb, struct genl_info *info)
{
	struct mn_net *mn = mn_info_net(info);
	struct mn_table *t;
	struct sk_buff *msg;
	void *hdr;
	int ret = -EMSGSIZE;

	msg = genlmsg_new(NLMSG_GOODSIZE, GFP_KERNEL);
	if (!msg)
		return -ENOMEM;
	hdr = genlmsg_put_reply(msg, info, &mn_genl_family, 0,
				MESHNET_CMD_GET_STATE);
	if (!hdr)
		goto err;
	mutex_lock(&mn->lock);
	t = mn_table_current(mn);
	if (nla_put_u64_64bit(msg, MESHNET_A_EPOCH_ID, t->epoch_id,
			      MESHNET_A_PAD) ||
	    nla_put_u64_64bit(msg, MESHNET_A_EPOCH_EXPIRY, t->epoch_expiry,
			      MESHNET_A_PAD) ||
	    nla_put_u8(msg, MESHNET_A_EXPIRED, mn->expired) ||
	    nla_put_u8(msg, MESHNET_A_SELF_VERDICT, mn->self_verdict) ||
	    (mn->self_reason[0] &&
	     nla_put_string(msg, MESHNET_A_SELF_REASON, mn->self_reason)) ||
	    nla_put_u8(msg, MESHNET_A_POLICY_UNKNOWN, mn->policy_unknown) ||
	    nla_put_u8(msg, MESHNET_A_POLICY_FAIL_CLOSED, mn->fail_closed) ||
	    nla_put_u32(msg, MESHNET_A_POLICY_GRACE, mn->grace) ||
	    nla_put_u8(msg, MESHNET_A_POLICY_ENDPOINT_DROP,
		       mn->endpoint_drop) ||
	    nla_put_u32(msg, MESHNET_A_PEER_COUNT, t->n_peers) ||
	    (mn->txn &&
	     (nla_put_u64_64bit(msg, MESHNET_A_TXN_EPOCH_ID, mn->txn->epoch_id,
				MESHNET_A_PAD) ||
	      nla_put_u32(msg, MESHNET_A_TXN_PEER_COUNT, mn->txn->n_peers))) ||
	    mn_put_devices(msg, mn) ||
	    mn_put_counters(msg, MESHNET_A_COUNTERS, mn->totals)) {
		mutex_unlock(&mn->lock);
		goto err;
	}
	mutex_unlock(&mn->lock);
	genlmsg_end(msg, hdr);
	return genlmsg_reply(msg, info);
err:
	nlmsg_free(msg);
	return ret;
}

/* ---- attach, detach, policy, self ---- */

static int mn_device_args(struct genl_info *info, int *ifindex,
			  const char **ifname)
{
	struct nlattr *idx = info->attrs[MESHNET_A_IFINDEX];
	struct nlattr *name = info->attrs[MESHNET_A_IFNAME];

	if (!idx == !name) {
		NL_SET_ERR_MSG_MOD(info->extack,
				   "Exactly one of ifindex and ifname is required");
		NL_SET_BAD_ATTR(info->extack, idx ? idx : name);
		return -EINVAL;
	}
	*ifindex = idx ? nla_get_u32(idx) : 0;
	*ifname = name ? nla_data(name) : NULL;
	return 0;
}

static int mn_attach(struct sk_buff *skb, struct genl_info *info)
{
	const char *ifname;
	int ifindex, ret;

	ret = mn_device_args(info, &ifindex, &ifname);
	if (ret)
		return ret;
	return mn_device_attach(mn_info_net(info), ifindex, ifname,
				info->extack);
}

static int mn_detach(struct sk_buff *skb, struct genl_info *info)
{
	const char *ifname;
	int ifindex, ret;

	ret = mn_device_args(info, &ifindex, &ifname);
	if (ret)
		return ret;
	return mn_device_detach(mn_info_net(info), ifindex, ifname,
				info->extack);
}

static int mn_set_policy(struct sk_buff *skb, struct genl_info *info)
{
	struct mn_net *mn = mn_info_net(info);
	struct nlattr **a = info->attrs;

	if (!a[MESHNET_A_POLICY_UNKNOWN] && !a[MESHNET_A_POLICY_FAIL_CLOSED] &&
	    !a[MESHNET_A_POLICY_GRACE] && !a[MESHNET_A_POLICY_ENDPOINT_DROP]) {
		NL_SET_ERR_MSG_MOD(info->extack, "No policy attribute given");
		return -EINVAL;
	}
	mutex_lock(&mn->lock);
	if (a[MESHNET_A_POLICY_UNKNOWN])
		WRITE_ONCE(mn->policy_unknown,
			   nla_get_u8(a[MESHNET_A_POLICY_UNKNOWN]));
	if (a[MESHNET_A_POLICY_FAIL_CLOSED])
		WRITE_ONCE(mn->fail_closed,
			   nla_get_u8(a[MESHNET_A_POLICY_FAIL_CLOSED]));
	if (a[MESHNET_A_POLICY_ENDPOINT_DROP])
		WRITE_ONCE(mn->endpoint_drop,
			   nla_get_u8(a[MESHNET_A_POLICY_ENDPOINT_DROP]));
	if (a[MESHNET_A_POLICY_GRACE]) {
		mn->grace = nla_get_u32(a[MESHNET_A_POLICY_GRACE]);
		mn_expiry_rearm(mn);
	}
	mutex_unlock(&mn->lock);
	return 0;
}

static int mn_set_self(struct sk_buff *skb, struct genl_info *info)
{
	struct mn_net *mn = mn_info_net(info);
	struct nlattr *reason = info->attrs[MESHNET_A_SELF_REASON];
	bool changed;
	u8 verdict;

	if (GENL_REQ_ATTR_CHECK(info, MESHNET_A_SELF_VERDICT)) {
		NL_SET_ERR_MSG_MOD(info->extack, "Missing self verdict");
		return -EINVAL;
	}
	verdict = nla_get_u8(info->attrs[MESHNET_A_SELF_VERDICT]);
	mutex_lock(&mn->lock);
	changed = verdict != mn->self_verdict;
	WRITE_ONCE(mn->self_verdict, verdict);
	strscpy(mn->self_reason, reason ? (char *)nla_data(reason) : "",
		sizeof(mn->self_reason));
	if (changed)
		mn_notify_self(mn, mn_table_current(mn)->epoch_id);
	mutex_unlock(&mn->lock);
	return 0;
}

/* ---- peers ---- */

static int mn_parse_allowedip(struct nlattr *attr, struct mn_prefix *p,
			      struct netlink_ext_ack *extack)
{
	struct nlattr *tb[MESHNET_ALLOWEDIP_A_MAX + 1];
	union mn_addr masked;
	u32 len;
	int ret;

	ret = nla_parse_nested(tb, MESHNET_ALLOWEDIP_A_MAX, attr,
			       mn_allowedip_policy, extack);
	if (ret)
		return ret;
	if (NL_REQ_ATTR_CHECK(extack, attr, tb, MESHNET_ALLOWEDIP_A_FAMILY) ||
	    NL_REQ_ATTR_CHECK(extack, attr, tb, MESHNET_ALLOWEDIP_A_IPADDR) ||
	    NL_REQ_ATTR_CHECK(extack, attr, tb, MESHNET_ALLOWEDIP_A_CIDR_MASK)) {
		NL_SET_ERR_MSG_MOD(extack,
				   "Allowed IP needs family, address and mask");
		return -EINVAL;
	}
	p->family = nla_get_u16(tb[MESHNET_ALLOWEDIP_A_FAMILY]);
	p->cidr = nla_get_u8(tb[MESHNET_ALLOWEDIP_A_CIDR_MASK]);
	len = nla_len(tb[MESHNET_ALLOWEDIP_A_IPADDR]);
	if (p->family != AF_INET && p->family != AF_INET6) {
		NL_SET_ERR_MSG_ATTR(extack, tb[MESHNET_ALLOWEDIP_A_FAMILY],
				    "Allowed IP family must be AF_INET or AF_INET6");
		return -EINVAL;
	}
	if (len != (p->family == AF_INET ? 4 : 16)) {
		NL_SET_ERR_MSG_ATTR(extack, tb[MESHNET_ALLOWEDIP_A_IPADDR],
				    "Allowed IP address length does not match its family");
		return -EINVAL;
	}
	if (p->cidr > (p->family == AF_INET ? 32 : 128)) {
		NL_SET_ERR_MSG_ATTR(extack, tb[MESHNET_ALLOWEDIP_A_CIDR_MASK],
				    "Allowed IP mask too long for its family");
		return -EINVAL;
	}
	memset(&p->addr, 0, sizeof(p->addr));
	memcpy(&p->addr, nla_data(tb[MESHNET_ALLOWEDIP_A_IPADDR]), len);
	if (p->family == AF_INET)
		masked.v4 = p->cidr ?
			p->addr.v4 & htonl(~0U << (32 - p->cidr)) : 0;
	else
		ipv6_addr_prefix(&masked.v6, &p->addr.v6, p->cidr);
	if (memcmp(&masked, &p->addr, len)) {
		NL_SET_ERR_MSG_ATTR(extack, tb[MESHNET_ALLOWEDIP_A_IPADDR],
				    "Allowed IP has host bits set beyond its mask");
		return -EINVAL;
	}
	return 0;
}

static int mn_parse_endpoint(struct nlattr *attr, struct mn_peer *peer,
			     struct netlink_ext_ack *extack)
{
	const struct sockaddr *sa = nla_data(attr);
	u32 len = nla_len(attr);

	if ((sa->sa_family == AF_INET && len == sizeof(struct sockaddr_in) &&
	     ((struct sockaddr_in *)sa)->sin_port) ||
	    (sa->sa_family == AF_INET6 && len == sizeof(struct sockaddr_in6) &&
	     ((struct sockaddr_in6 *)sa)->sin6_port)) {
		memcpy(&peer->endpoint, sa, len);
		peer->has_endpoint = true;
		return 0;
	}
	NL_SET_ERR_MSG_ATTR(extack, attr,
			    "Endpoint must be a sockaddr_in or sockaddr_in6 with a port");
	return -EINVAL;
}

/* Parses and validates one peer; nothing is changed. */
static struct mn_peer *mn_parse_peer(struct nlattr *attr,
				     struct netlink_ext_ack *extack)
{
	struct nlattr *tb[MESHNET_PEER_A_MAX + 1], *ip;
	struct mn_peer *peer;
	int n = 0, rem, ret;

	ret = nla_parse_nested(tb, MESHNET_PEER_A_MAX, attr, mn_peer_policy,
			       extack);
	if (ret)
		return ERR_PTR(ret);
	if (NL_REQ_ATTR_CHECK(extack, attr, tb, MESHNET_PEER_A_PUBLIC_KEY)) {
		NL_SET_ERR_MSG_MOD(extack, "Peer needs a public key");
		return ERR_PTR(-EINVAL);
	}
	if (NL_REQ_ATTR_CHECK(extack, attr, tb, MESHNET_PEER_A_VERDICT)) {
		NL_SET_ERR_MSG_MOD(extack, "Peer needs a verdict");
		return ERR_PTR(-EINVAL);
	}
	if (tb[MESHNET_PEER_A_ALLOWEDIPS]) {
		nla_for_each_nested(ip, tb[MESHNET_PEER_A_ALLOWEDIPS], rem)
			n++;
		if (n > MESHNET_MAX_ALLOWEDIPS) {
			NL_SET_ERR_MSG_ATTR(extack, tb[MESHNET_PEER_A_ALLOWEDIPS],
					    "Too many allowed IPs for one peer");
			return ERR_PTR(-E2BIG);
		}
	}
	peer = mn_peer_alloc(n);
	if (!peer)
		return ERR_PTR(-ENOMEM);
	peer->counters = mn_counters_new();
	if (!peer->counters) {
		ret = -ENOMEM;
		goto err;
	}
	nla_memcpy(peer->public_key, tb[MESHNET_PEER_A_PUBLIC_KEY],
		   MESHNET_KEY_LEN);
	peer->verdict = nla_get_u8(tb[MESHNET_PEER_A_VERDICT]);
	if (tb[MESHNET_PEER_A_NAME])
		nla_strscpy(peer->name, tb[MESHNET_PEER_A_NAME],
			    sizeof(peer->name));
	if (tb[MESHNET_PEER_A_REASON])
		nla_strscpy(peer->reason, tb[MESHNET_PEER_A_REASON],
			    sizeof(peer->reason));
	if (tb[MESHNET_PEER_A_ENDPOINT]) {
		ret = mn_parse_endpoint(tb[MESHNET_PEER_A_ENDPOINT], peer,
					extack);
		if (ret)
			goto err;
	}
	n = 0;
	if (tb[MESHNET_PEER_A_ALLOWEDIPS]) {
		nla_for_each_nested(ip, tb[MESHNET_PEER_A_ALLOWEDIPS], rem) {
			ret = mn_parse_allowedip(ip, &peer->allowedips[n++],
						 extack);
			if (ret)
				goto err;
		}
	}
	if (tb[MESHNET_PEER_A_PRESHARED_KEY]) {
		nla_memcpy(peer->psk, tb[MESHNET_PEER_A_PRESHARED_KEY],
			   MESHNET_KEY_LEN);
		peer->has_psk = true;
	}
	return peer;
err:
	mn_peer_put(peer);
	return ERR_PTR(ret);
}

static int mn_epoch_begin_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct mn_net *mn = mn_info_net(info);
	int ret;

	if (GENL_REQ_ATTR_CHECK(info, MESHNET_A_EPOCH_ID) ||
	    GENL_REQ_ATTR_CHECK(info, MESHNET_A_EPOCH_EXPIRY)) {
		NL_SET_ERR_MSG_MOD(info->extack,
				   "Epoch begin needs an epoch id and an expiry");
		return -EINVAL;
	}
	mutex_lock(&mn->lock);
	ret = mn_epoch_begin(mn, info->snd_portid,
			     nla_get_u64(info->attrs[MESHNET_A_EPOCH_ID]),
			     nla_get_u64(info->attrs[MESHNET_A_EPOCH_EXPIRY]),
			     nla_get_flag(info->attrs[MESHNET_A_EPOCH_FORCE]),
			     info->extack);
	if (ret)
		NL_SET_BAD_ATTR(info->extack, info->attrs[MESHNET_A_EPOCH_ID]);
	mutex_unlock(&mn->lock);
	return ret;
}

static int mn_epoch_set_peers_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct mn_net *mn = mn_info_net(info);
	struct mn_peer **peers;
	struct nlattr *attr;
	int i, n = 0, rem, ret = 0;

	if (GENL_REQ_ATTR_CHECK(info, MESHNET_A_PEERS)) {
		NL_SET_ERR_MSG_MOD(info->extack, "Missing peers");
		return -EINVAL;
	}
	nla_for_each_nested(attr, info->attrs[MESHNET_A_PEERS], rem)
		n++;
	peers = kvcalloc(max(n, 1), sizeof(*peers), GFP_KERNEL);
	if (!peers)
		return -ENOMEM;
	/* Validate every peer of the message before staging any. */
	i = 0;
	nla_for_each_nested(attr, info->attrs[MESHNET_A_PEERS], rem) {
		peers[i] = mn_parse_peer(attr, info->extack);
		if (IS_ERR(peers[i])) {
			ret = PTR_ERR(peers[i]);
			peers[i] = NULL;
			goto out;
		}
		i++;
	}
	mutex_lock(&mn->lock);
	ret = mn_epoch_stage(mn, info->snd_portid, peers, n, info->extack);
	mutex_unlock(&mn->lock);
out:
	for (i = 0; i < n; i++)
		mn_peer_put(peers[i]);
	kvfree(peers);
	return ret;
}

static int mn_epoch_commit_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct mn_net *mn = mn_info_net(info);
	struct nlattr *self = info->attrs[MESHNET_A_SELF_VERDICT];
	struct nlattr *reason = info->attrs[MESHNET_A_SELF_REASON];
	u8 verdict;
	int ret;

	if (GENL_REQ_ATTR_CHECK(info, MESHNET_A_EPOCH_ID)) {
		NL_SET_ERR_MSG_MOD(info->extack, "Commit needs the epoch id");
		return -EINVAL;
	}
	if (reason && !self) {
		NL_SET_ERR_MSG_ATTR(info->extack, reason,
				    "Self reason given without self verdict");
		return -EINVAL;
	}
	if (self)
		verdict = nla_get_u8(self);
	mutex_lock(&mn->lock);
	ret = mn_epoch_commit(mn, info->snd_portid,
			      nla_get_u64(info->attrs[MESHNET_A_EPOCH_ID]),
			      self ? &verdict : NULL,
			      reason ? nla_data(reason) : NULL, info->extack);
	mutex_unlock(&mn->lock);
	return ret;
}

static int mn_epoch_abort_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct mn_net *mn = mn_info_net(info);
	struct nlattr *id = info->attrs[MESHNET_A_EPOCH_ID];
	u64 epoch_id;
	int ret;

	if (id)
		epoch_id = nla_get_u64(id);
	mutex_lock(&mn->lock);
	ret = mn_epoch_abort(mn, info->snd_portid, id ? &epoch_id : NULL,
			     info->extack);
	mutex_unlock(&mn->lock);
	return ret;
}

static int mn_set_peer_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct mn_net *mn = mn_info_net(info);
	struct mn_peer *peer;
	int ret;

	if (GENL_REQ_ATTR_CHECK(info, MESHNET_A_PEER)) {
		NL_SET_ERR_MSG_MOD(info->extack, "Missing peer");
		return -EINVAL;
	}
	peer = mn_parse_peer(info->attrs[MESHNET_A_PEER], info->extack);
	if (IS_ERR(peer))
		return PTR_ERR(peer);
	mutex_lock(&mn->lock);
	ret = mn_table_set_peer(mn, peer, info->extack);
	mutex_unlock(&mn->lock);
	if (ret)
		mn_peer_put(peer);
	return ret;
}

static int mn_parse_key(struct genl_info *info, u8 *key)
{
	struct nlattr *tb[MESHNET_PEER_A_MAX + 1];
	struct nlattr *peer = info->attrs[MESHNET_A_PEER];
	int ret;

	ret = nla_parse_nested(tb, MESHNET_PEER_A_MAX, peer,
			       mn_peer_key_policy, info->extack);
	if (ret)
		return ret;
	if (NL_REQ_ATTR_CHECK(info->extack, peer, tb,
			      MESHNET_PEER_A_PUBLIC_KEY)) {
		NL_SET_ERR_MSG_MOD(info->extack, "Peer needs a public key");
		return -EINVAL;
	}
	nla_memcpy(key, tb[MESHNET_PEER_A_PUBLIC_KEY], MESHNET_KEY_LEN);
	return 0;
}

static int mn_del_peer_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct mn_net *mn = mn_info_net(info);
	u8 key[MESHNET_KEY_LEN];
	int ret;

	if (GENL_REQ_ATTR_CHECK(info, MESHNET_A_PEER)) {
		NL_SET_ERR_MSG_MOD(info->extack, "Missing peer");
		return -EINVAL;
	}
	ret = mn_parse_key(info, key);
	if (ret)
		return ret;
	mutex_lock(&mn->lock);
	ret = mn_table_del_peer(mn, key, info->extack);
	mutex_unlock(&mn->lock);
	return ret;
}

static int mn_reset_counters_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct mn_net *mn = mn_info_net(info);
	struct mn_table *t;
	struct mn_peer *peer;
	u8 key[MESHNET_KEY_LEN];
	int ret = 0;
	u32 i;

	if (info->attrs[MESHNET_A_PEER]) {
		ret = mn_parse_key(info, key);
		if (ret)
			return ret;
	}
	mutex_lock(&mn->lock);
	t = mn_table_current(mn);
	if (info->attrs[MESHNET_A_PEER]) {
		peer = mn_lookup_key(t, key);
		if (peer) {
			mn_counters_reset(peer->counters);
		} else {
			NL_SET_ERR_MSG_ATTR(info->extack,
					    info->attrs[MESHNET_A_PEER],
					    "No peer with this public key");
			ret = -ENOENT;
		}
	} else {
		for (i = 0; i < t->n_peers; i++)
			mn_counters_reset(t->peers[i]->counters);
		mn_counters_reset(mn->totals);
	}
	mutex_unlock(&mn->lock);
	return ret;
}

/* ---- dump: a snapshot of the table current when the dump started ---- */

enum { MN_DUMP_TABLE, MN_DUMP_NEXT, MN_DUMP_PSK, MN_DUMP_DONE };

static int mn_get_peers_start(struct netlink_callback *cb)
{
	const struct genl_dumpit_info *info = genl_dumpit_info(cb);
	struct mn_net *mn = mn_net(sock_net(cb->skb->sk));
	bool show_psk = info->attrs && info->attrs[MESHNET_A_SHOW_PSK];

	if (show_psk && !netlink_net_capable(cb->skb, CAP_NET_ADMIN)) {
		NL_SET_ERR_MSG_MOD(cb->extack,
				   "Showing preshared keys needs CAP_NET_ADMIN");
		return -EPERM;
	}
	mutex_lock(&mn->lock);
	cb->args[MN_DUMP_TABLE] = (long)mn_table_get(mn_table_current(mn));
	mutex_unlock(&mn->lock);
	cb->args[MN_DUMP_NEXT] = 0;
	cb->args[MN_DUMP_PSK] = show_psk;
	cb->args[MN_DUMP_DONE] = 0;
	return 0;
}

static int mn_get_peers_dumpit(struct sk_buff *skb, struct netlink_callback *cb)
{
	struct mn_table *t = (struct mn_table *)cb->args[MN_DUMP_TABLE];
	u32 i = cb->args[MN_DUMP_NEXT], first = i;
	struct nlattr *list;
	void *hdr;

	if (cb->args[MN_DUMP_DONE])
		return 0;
	hdr = genlmsg_put(skb, NETLINK_CB(cb->skb).portid, cb->nlh->nlmsg_seq,
			  &mn_genl_family, NLM_F_MULTI, MESHNET_CMD_GET_PEERS);
	if (!hdr)
		return -EMSGSIZE;
	if (nla_put_u64_64bit(skb, MESHNET_A_EPOCH_ID, t->epoch_id,
			      MESHNET_A_PAD))
		goto err;
	list = nla_nest_start(skb, MESHNET_A_PEERS);
	if (!list)
		goto err;
	for (; i < t->n_peers; i++)
		if (mn_put_peer(skb, i - first, t->peers[i], true,
				cb->args[MN_DUMP_PSK]))
			break;
	if (i == first && t->n_peers)
		goto err;	/* not even one peer fits */
	nla_nest_end(skb, list);
	genlmsg_end(skb, hdr);
	cb->args[MN_DUMP_NEXT] = i;
	if (i == t->n_peers)
		cb->args[MN_DUMP_DONE] = 1;
	return skb->len;
err:
	genlmsg_cancel(skb, hdr);
	return -EMSGSIZE;
}

static int mn_get_peers_done(struct netlink_callback *cb)
{
	mn_table_put((struct mn_table *)cb->args[MN_DUMP_TABLE]);
	return 0;
}

/* ---- notifications ---- */

bool mn_has_listeners(struct mn_net *mn)
{
	return genl_has_listeners(&mn_genl_family, mn->net, 0);
}

static struct sk_buff *mn_notify_new(u8 cmd, void **hdr)
{
	struct sk_buff *msg = genlmsg_new(NLMSG_GOODSIZE, GFP_KERNEL);

	if (!msg)
		return NULL;
	*hdr = genlmsg_put(msg, 0, 0, &mn_genl_family, 0, cmd);
	if (!*hdr) {
		nlmsg_free(msg);
		return NULL;
	}
	return msg;
}

static void mn_notify_send(struct mn_net *mn, struct sk_buff *msg, void *hdr,
			   bool ok)
{
	if (!ok) {
		nlmsg_free(msg);
		return;
	}
	genlmsg_end(msg, hdr);
	genlmsg_multicast_netns(&mn_genl_family, mn->net, msg, 0, 0,
				GFP_KERNEL);
}

void mn_notify_verdict(struct mn_net *mn, u64 epoch_id,
		       const struct mn_peer *peer)
{
	struct sk_buff *msg;
	void *hdr;

	if (!mn_has_listeners(mn))
		return;
	msg = mn_notify_new(MESHNET_CMD_VERDICT_NOTIFY, &hdr);
	if (!msg)
		return;
	mn_notify_send(mn, msg, hdr,
		       !nla_put_u64_64bit(msg, MESHNET_A_EPOCH_ID, epoch_id,
					  MESHNET_A_PAD) &&
		       !mn_put_peer(msg, MESHNET_A_PEER, peer, false, false));
}

void mn_notify_self(struct mn_net *mn, u64 epoch_id)
{
	struct sk_buff *msg;
	void *hdr;

	if (!mn_has_listeners(mn))
		return;
	msg = mn_notify_new(MESHNET_CMD_VERDICT_NOTIFY, &hdr);
	if (!msg)
		return;
	mn_notify_send(mn, msg, hdr,
		       !nla_put_u64_64bit(msg, MESHNET_A_EPOCH_ID, epoch_id,
					  MESHNET_A_PAD) &&
		       !nla_put_u8(msg, MESHNET_A_SELF_VERDICT,
				   mn->self_verdict) &&
		       (!mn->self_reason[0] ||
			!nla_put_string(msg, MESHNET_A_SELF_REASON,
					mn->self_reason)));
}

void mn_notify_epoch(struct mn_net *mn, const struct mn_table *t)
{
	struct sk_buff *msg;
	void *hdr;

	if (!mn_has_listeners(mn))
		return;
	msg = mn_notify_new(MESHNET_CMD_EPOCH_NOTIFY, &hdr);
	if (!msg)
		return;
	mn_notify_send(mn, msg, hdr,
		       !nla_put_u64_64bit(msg, MESHNET_A_EPOCH_ID, t->epoch_id,
					  MESHNET_A_PAD) &&
		       !nla_put_u64_64bit(msg, MESHNET_A_EPOCH_EXPIRY,
					  t->epoch_expiry, MESHNET_A_PAD) &&
		       !nla_put_u32(msg, MESHNET_A_PEER_COUNT, t->n_peers));
}

void mn_notify_expired(struct mn_net *mn, const struct mn_table *t)
{
	struct sk_buff *msg;
	void *hdr;

	if (!mn_has_listeners(mn))
		return;
	msg = mn_notify_new(MESHNET_CMD_EXPIRED_NOTIFY, &hdr);
	if (!msg)
		return;
	mn_notify_send(mn, msg, hdr,
		       !nla_put_u64_64bit(msg, MESHNET_A_EPOCH_ID, t->epoch_id,
					  MESHNET_A_PAD) &&
		       !nla_put_u64_64bit(msg, MESHNET_A_EPOCH_EXPIRY,
					  t->epoch_expiry, MESHNET_A_PAD) &&
		       !nla_put_u8(msg, MESHNET_A_EXPIRED, mn->expired));
}

/* ---- family ---- */

#define MN_OP(_cmd, _doit, _policy) {				\
	.cmd = (_cmd),						\
	.doit = (_doit),					\
	.policy = (_policy),					\
	.maxattr = MESHNET_A_MAX,				\
	.flags = GENL_ADMIN_PERM,				\
}

static const struct genl_ops mn_genl_ops[] = {
	MN_OP(MESHNET_CMD_GET_STATE, mn_get_state, mn_no_attr_policy),
	MN_OP(MESHNET_CMD_ATTACH, mn_attach, mn_device_policy),
	MN_OP(MESHNET_CMD_DETACH, mn_detach, mn_device_policy),
	MN_OP(MESHNET_CMD_SET_POLICY, mn_set_policy, mn_set_policy_policy),
	MN_OP(MESHNET_CMD_SET_SELF, mn_set_self, mn_set_self_policy),
	MN_OP(MESHNET_CMD_EPOCH_BEGIN, mn_epoch_begin_doit, mn_begin_policy),
	MN_OP(MESHNET_CMD_EPOCH_SET_PEERS, mn_epoch_set_peers_doit,
	      mn_set_peers_policy),
	MN_OP(MESHNET_CMD_EPOCH_COMMIT, mn_epoch_commit_doit,
	      mn_commit_policy),
	MN_OP(MESHNET_CMD_EPOCH_ABORT, mn_epoch_abort_doit, mn_abort_policy),
	MN_OP(MESHNET_CMD_SET_PEER, mn_set_peer_doit, mn_set_peer_policy),
	MN_OP(MESHNET_CMD_DEL_PEER, mn_del_peer_doit, mn_peer_key_only_policy),
	{
		.cmd = MESHNET_CMD_GET_PEERS,
		.start = mn_get_peers_start,
		.dumpit = mn_get_peers_dumpit,
		.done = mn_get_peers_done,
		.policy = mn_get_peers_policy,
		.maxattr = MESHNET_A_MAX,
		.flags = GENL_ADMIN_PERM,
	},
	MN_OP(MESHNET_CMD_RESET_COUNTERS, mn_reset_counters_doit,
	      mn_peer_key_only_policy),
};

static const struct genl_multicast_group mn_genl_mcgrps[] = {
	{ .name = MESHNET_MCGRP_NAME },
};

struct genl_family mn_genl_family __ro_after_init = {
	.ops = mn_genl_ops,
	.n_ops = ARRAY_SIZE(mn_genl_ops),
	.resv_start_op = MESHNET_CMD_MAX + 1,
	.mcgrps = mn_genl_mcgrps,
	.n_mcgrps = ARRAY_SIZE(mn_genl_mcgrps),
	.name = MESHNET_GENL_NAME,
	.version = MESHNET_GENL_VERSION,
	.maxattr = MESHNET_A_MAX,
	.netnsok = true,
	.parallel_ops = true,
	.module = THIS_MODULE,
};

int mn_genl_register(void)
{
	return genl_register_family(&mn_genl_family);
}

void mn_genl_unregister(void)
{
	genl_unregister_family(&mn_genl_family);
}
