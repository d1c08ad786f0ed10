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
	[MESHNET_A_REVISION] = NLA_POLICY_MIN(NLA_U64, 1),
	[MESHNET_A_VALID_UNTIL] = { .type = NLA_U64 },
};

static const struct nla_policy mn_verdict_peer_policy[MESHNET_PEER_A_MAX + 1] = {
	[MESHNET_PEER_A_PUBLIC_KEY] = NLA_POLICY_EXACT_LEN(MESHNET_KEY_LEN),
	[MESHNET_PEER_A_VERDICT] = NLA_POLICY_RANGE(NLA_U8,
						    MESHNET_VERDICT_ALLOWED,
						    MESHNET_VERDICT_DENIED),
	[MESHNET_PEER_A_REASON] = { .type = NLA_NUL_STRING,
				    .len = MESHNET_REASON_LEN - 1 },
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

static const struct nla_policy mn_delta_policy[MESHNET_A_MAX + 1] = {
	[MESHNET_A_REVISION] = NLA_POLICY_MIN(NLA_U64, 1),
	[MESHNET_A_EPOCH_ID] = { .type = NLA_U64 },
	[MESHNET_A_EPOCH_FORCE] = { .type = NLA_FLAG },
	[MESHNET_A_VALID_UNTIL] = { .type = NLA_U64 },
	[MESHNET_A_PEERS] = NLA_POLICY_NESTED_ARRAY(mn_peer_policy),
	[MESHNET_A_REMOVE_PEERS] = NLA_POLICY_NESTED_ARRAY(mn_peer_key_policy),
	[MESHNET_A_VERDICT_PEERS] =
		NLA_POLICY_NESTED_ARRAY(mn_verdict_peer_policy),
	[MESHNET_A_SELF_VERDICT] = NLA_POLICY_RANGE(NLA_U8,
						    MESHNET_VERDICT_ALLOWED,
						    MESHNET_VERDICT_DENIED),
	[MESHNET_A_SELF_REASON] = { .type = NLA_NUL_STRING,
				    .len = MESHNET_REASON_LEN - 1 },
};

static const struct nla_policy mn_get_peers_policy[MESHNET_A_MAX + 1] = {
	[MESHNET_A_SHOW_PSK] = { .type = NLA_FLAG },
};

static struct mn_net *mn_info_net(struct genl_info *info)
{
	return mn_net(genl_info_net(info));
}

/* ---- replies ---- */

static int mn_put_sum(struct sk_buff *skb, int attrtype,
		      const struct mn_stats_sum *sum)
{
	static const u16 attr_of[MN_C_COUNT] = {
		[MN_C_RX_PACKETS] = MESHNET_COUNTER_A_RX_PACKETS,
		[MN_C_RX_BYTES] = MESHNET_COUNTER_A_RX_BYTES,
		[MN_C_TX_PACKETS] = MESHNET_COUNTER_A_TX_PACKETS,
		[MN_C_TX_BYTES] = MESHNET_COUNTER_A_TX_BYTES,
		[MN_C_RX_DROP_PACKETS] = MESHNET_COUNTER_A_RX_DROP_PACKETS,
		[MN_C_RX_DROP_BYTES] = MESHNET_COUNTER_A_RX_DROP_BYTES,
		[MN_C_TX_DROP_PACKETS] = MESHNET_COUNTER_A_TX_DROP_PACKETS,
		[MN_C_TX_DROP_BYTES] = MESHNET_COUNTER_A_TX_DROP_BYTES,
		[MN_C_ENDPOINT_DROP_PACKETS] =
			MESHNET_COUNTER_A_ENDPOINT_DROP_PACKETS,
	};
	struct nlattr *nest;
	int i;

	nest = nla_nest_start(skb, attrtype);
	if (!nest)
		return -EMSGSIZE;
	for (i = 0; i < MN_C_COUNT; i++) {
		if (nla_put_u64_64bit(skb, attr_of[i], sum->c[i],
				      MESHNET_COUNTER_A_PAD)) {
			nla_nest_cancel(skb, nest);
			return -EMSGSIZE;
		}
	}
	nla_nest_end(skb, nest);
	return 0;
}

static int mn_put_counters(struct sk_buff *skb, int attrtype,
			   const struct mn_counters *c)
{
	struct mn_stats_sum s;

	mn_counters_sum(c, &s);
	return mn_put_sum(skb, attrtype, &s);
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
	     (show_psk && !peer->psk_retired &&
	      nla_put(skb, MESHNET_PEER_A_PRESHARED_KEY, MESHNET_KEY_LEN,
		      peer->psk))))
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
	struct mn_stats_sum totals;
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
	mn_totals_sum(&mn->totals, &totals);
	if (nla_put_u64_64bit(msg, MESHNET_A_EPOCH_ID, t->epoch_id,
			      MESHNET_A_PAD) ||
	    nla_put_u64_64bit(msg, MESHNET_A_EPOCH_EXPIRY, t->epoch_expiry,
			      MESHNET_A_PAD) ||
	    nla_put_u64_64bit(msg, MESHNET_A_REVISION, t->revision,
			      MESHNET_A_PAD) ||
	    nla_put_u64_64bit(msg, MESHNET_A_VALID_UNTIL, t->valid_until,
			      MESHNET_A_PAD) ||
	    nla_put_u8(msg, MESHNET_A_EXPIRED, mn_table_expired(mn, t)) ||
	    nla_put_u8(msg, MESHNET_A_SELF_VERDICT, t->self_verdict) ||
	    (t->self_reason[0] &&
	     nla_put_string(msg, MESHNET_A_SELF_REASON, t->self_reason)) ||
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
	    nla_put_u8(msg, MESHNET_A_HOOKS, mn->hooks_registered) ||
	    mn_put_devices(msg, mn) ||
	    mn_put_sum(msg, MESHNET_A_COUNTERS, &totals)) {
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
	if (a[MESHNET_A_POLICY_ENDPOINT_DROP])
		WRITE_ONCE(mn->endpoint_drop,
			   nla_get_u8(a[MESHNET_A_POLICY_ENDPOINT_DROP]));
	if (a[MESHNET_A_POLICY_UNKNOWN])
		WRITE_ONCE(mn->policy_unknown,
			   nla_get_u8(a[MESHNET_A_POLICY_UNKNOWN]));
	if (a[MESHNET_A_POLICY_FAIL_CLOSED])
		WRITE_ONCE(mn->fail_closed,
			   nla_get_u8(a[MESHNET_A_POLICY_FAIL_CLOSED]));
	if (a[MESHNET_A_POLICY_GRACE]) {
		mn->grace = nla_get_u32(a[MESHNET_A_POLICY_GRACE]);
		WRITE_ONCE(mn->grace_ns, (u64)mn->grace * NSEC_PER_SEC);
		mn_expiry_rearm(mn);
	}
	mutex_unlock(&mn->lock);
	return 0;
}

static int mn_set_self(struct sk_buff *skb, struct genl_info *info)
{
	struct mn_net *mn = mn_info_net(info);
	struct nlattr *reason = info->attrs[MESHNET_A_SELF_REASON];
	struct mn_delta d = { .force = true };
	LIST_HEAD(notices);
	u8 verdict;
	int ret;

	if (GENL_REQ_ATTR_CHECK(info, MESHNET_A_SELF_VERDICT)) {
		NL_SET_ERR_MSG_MOD(info->extack, "Missing self verdict");
		return -EINVAL;
	}
	verdict = nla_get_u8(info->attrs[MESHNET_A_SELF_VERDICT]);
	d.self_verdict = &verdict;
	d.self_reason = reason ? nla_data(reason) : NULL;
	mutex_lock(&mn->lock);
	d.revision = mn_table_current(mn)->revision;
	ret = mn_delta_apply(mn, &d, &notices, info->extack);
	mutex_unlock(&mn->lock);
	mn_notify_send_all(mn, &notices);
	return ret;
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

	/* The underlay hook matches it: only family, address and port count. */
	if (!(sa->sa_family == AF_INET && len == sizeof(struct sockaddr_in)) &&
	    !(sa->sa_family == AF_INET6 && len == sizeof(struct sockaddr_in6))) {
		NL_SET_ERR_MSG_ATTR(extack, attr,
				    "Endpoint must be a sockaddr_in or sockaddr_in6 with a port");
		return -EINVAL;
	}
	memcpy(&peer->endpoint, sa, len);
	if (sa->sa_family == AF_INET ? !peer->endpoint.sin.sin_port :
	    !peer->endpoint.sin6.sin6_port) {
		memset(&peer->endpoint, 0, sizeof(peer->endpoint));
		NL_SET_ERR_MSG_ATTR(extack, attr,
				    "Endpoint must be a sockaddr_in or sockaddr_in6 with a port (port 0 given)");
		return -EINVAL;
	}
	peer->has_endpoint = true;
	return 0;
}

/* The request skb is ours: no copy of a key stays in it once parsed. */
static void mn_wipe_psk(struct nlattr *peer)
{
	struct nlattr *psk;

	if (!peer || nla_len(peer) < NLA_HDRLEN)
		return;
	psk = nla_find_nested(peer, MESHNET_PEER_A_PRESHARED_KEY);
	if (psk)
		memzero_explicit(nla_data(psk), nla_len(psk));
}

static void mn_wipe_psks(struct nlattr *peers)
{
	struct nlattr *peer;
	int rem;

	if (!peers)
		return;
	nla_for_each_nested(peer, peers, rem)
		mn_wipe_psk(peer);
}

/*
 * Wipes every PSK of a request, parsed or not (the walk is bounds-checked
 * only, so it also covers a request the policy rejected).
 */
static void mn_wipe_request(struct genl_info *info)
{
	struct nlattr *a;
	int rem;

	nla_for_each_attr(a, genlmsg_data(info->genlhdr),
			  genlmsg_len(info->genlhdr), rem) {
		if (nla_type(a) == MESHNET_A_PEER)
			mn_wipe_psk(a);
		else if (nla_type(a) == MESHNET_A_PEERS)
			mn_wipe_psks(a);
	}
}

/*
 * The commands that carry PSKs (EPOCH_SET_PEERS, SET_PEER, APPLY_DELTA)
 * have no policy in the genl core: they validate here, strictly, against
 * @policy, so that a request rejected by the policy is wiped as well.
 */
static int mn_parse_wiping(struct genl_info *info,
			   const struct nla_policy *policy, struct nlattr **tb)
{
	int ret = nlmsg_parse(info->nlhdr, GENL_HDRLEN, tb, MESHNET_A_MAX,
			      policy, info->extack);

	if (ret) {
		mn_wipe_request(info);
		return ret;
	}
	info->attrs = tb;
	return 0;
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
	struct nlattr **a = info->attrs;
	struct mn_epoch_args args = {};
	int ret;

	if (GENL_REQ_ATTR_CHECK(info, MESHNET_A_EPOCH_ID) ||
	    GENL_REQ_ATTR_CHECK(info, MESHNET_A_EPOCH_EXPIRY)) {
		NL_SET_ERR_MSG_MOD(info->extack,
				   "Epoch begin needs an epoch id and an expiry");
		return -EINVAL;
	}
	args.epoch_id = nla_get_u64(a[MESHNET_A_EPOCH_ID]);
	args.expiry = nla_get_u64(a[MESHNET_A_EPOCH_EXPIRY]);
	args.force = nla_get_flag(a[MESHNET_A_EPOCH_FORCE]);
	if (a[MESHNET_A_VALID_UNTIL])
		args.valid_until = nla_get_u64(a[MESHNET_A_VALID_UNTIL]);
	if (a[MESHNET_A_REVISION])
		args.revision = nla_get_u64(a[MESHNET_A_REVISION]);
	mutex_lock(&mn->lock);
	ret = mn_epoch_begin(mn, NETLINK_CB(skb).sk, info->snd_portid, &args,
			     info->extack);
	if (ret)
		NL_SET_BAD_ATTR(info->extack, a[MESHNET_A_EPOCH_ID]);
	mutex_unlock(&mn->lock);
	return ret;
}

/* Caps checked before a single peer of the message is allocated. */
static int mn_stage_precheck(struct mn_net *mn, struct sock *sk, u32 portid,
			     u32 n, struct netlink_ext_ack *extack)
{
	int ret = 0;

	mutex_lock(&mn->lock);
	if (!mn->txn) {
		NL_SET_ERR_MSG_MOD(extack, "No epoch transaction is open");
		ret = -ENOENT;
	} else if (mn->txn->owner != sk || mn->txn->owner_portid != portid) {
		NL_SET_ERR_MSG_MOD(extack,
				   "Epoch transaction is owned by another socket");
		ret = -EBUSY;
	} else if (mn->txn->n_peers + n > MN_MAX_PEERS) {
		NL_SET_ERR_MSG_MOD(extack, "Too many peers in one epoch");
		ret = -E2BIG;
	}
	mutex_unlock(&mn->lock);
	return ret;
}

static int mn_epoch_set_peers_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct mn_net *mn = mn_info_net(info);
	struct nlattr *tb[MESHNET_A_MAX + 1], *list;
	struct sock *sk = NETLINK_CB(skb).sk;
	struct mn_peer **peers = NULL;
	struct nlattr *attr;
	int i, n = 0, rem, ret;

	ret = mn_parse_wiping(info, mn_set_peers_policy, tb);
	if (ret)
		return ret;
	list = info->attrs[MESHNET_A_PEERS];
	if (GENL_REQ_ATTR_CHECK(info, MESHNET_A_PEERS)) {
		NL_SET_ERR_MSG_MOD(info->extack, "Missing peers");
		return -EINVAL;
	}
	nla_for_each_nested(attr, list, rem)
		n++;
	ret = mn_stage_precheck(mn, sk, info->snd_portid, n, info->extack);
	if (ret)
		goto out;
	peers = kvcalloc(max(n, 1), sizeof(*peers), GFP_KERNEL_ACCOUNT);
	if (!peers) {
		ret = -ENOMEM;
		goto out;
	}
	/* Validate every peer of the message before staging any. */
	i = 0;
	nla_for_each_nested(attr, list, rem) {
		peers[i] = mn_parse_peer(attr, info->extack);
		if (IS_ERR(peers[i])) {
			ret = PTR_ERR(peers[i]);
			peers[i] = NULL;
			goto out;
		}
		i++;
	}
	mutex_lock(&mn->lock);
	ret = mn_epoch_stage(mn, sk, info->snd_portid, peers, n, info->extack);
	mutex_unlock(&mn->lock);
out:
	mn_wipe_request(info);
	for (i = 0; peers && i < n; i++)
		mn_peer_put(peers[i]);
	kvfree(peers);
	return ret;
}

static int mn_epoch_commit_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct mn_net *mn = mn_info_net(info);
	struct nlattr *self = info->attrs[MESHNET_A_SELF_VERDICT];
	struct nlattr *reason = info->attrs[MESHNET_A_SELF_REASON];
	LIST_HEAD(notices);
	struct mn_table *t = NULL;
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
	ret = mn_epoch_commit(mn, NETLINK_CB(skb).sk, info->snd_portid,
			      nla_get_u64(info->attrs[MESHNET_A_EPOCH_ID]),
			      self ? &verdict : NULL,
			      reason ? nla_data(reason) : NULL, &notices,
			      info->extack);
	if (!ret)
		t = mn_table_get(mn_table_current(mn));
	mutex_unlock(&mn->lock);
	mn_notify_send_all(mn, &notices);
	if (t) {
		mn_notify_epoch(mn, t);
		mn_table_put(t);
	}
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
	ret = mn_epoch_abort(mn, NETLINK_CB(skb).sk, info->snd_portid,
			     id ? &epoch_id : NULL, info->extack);
	mutex_unlock(&mn->lock);
	return ret;
}

static int mn_parse_key_attr(struct nlattr *peer, u8 *key,
			     struct netlink_ext_ack *extack)
{
	struct nlattr *tb[MESHNET_PEER_A_MAX + 1];
	int ret;

	ret = nla_parse_nested(tb, MESHNET_PEER_A_MAX, peer,
			       mn_peer_key_policy, extack);
	if (ret)
		return ret;
	if (NL_REQ_ATTR_CHECK(extack, peer, tb, MESHNET_PEER_A_PUBLIC_KEY)) {
		NL_SET_ERR_MSG_MOD(extack, "Peer needs a public key");
		return -EINVAL;
	}
	nla_memcpy(key, tb[MESHNET_PEER_A_PUBLIC_KEY], MESHNET_KEY_LEN);
	return 0;
}

static int mn_parse_key(struct genl_info *info, u8 *key)
{
	return mn_parse_key_attr(info->attrs[MESHNET_A_PEER], key,
				 info->extack);
}

/* A key-only peer (removal) or key + verdict + reason (verdict change). */
static struct mn_peer *mn_parse_delta_key(struct nlattr *attr, u8 kind,
					  struct netlink_ext_ack *extack)
{
	struct nlattr *tb[MESHNET_PEER_A_MAX + 1];
	struct mn_peer *peer;
	int ret;

	if (kind == MN_DELTA_REMOVE) {
		peer = mn_peer_alloc(0);
		if (!peer)
			return ERR_PTR(-ENOMEM);
		ret = mn_parse_key_attr(attr, peer->public_key, extack);
		if (ret) {
			mn_peer_put(peer);
			return ERR_PTR(ret);
		}
		return peer;
	}
	ret = nla_parse_nested(tb, MESHNET_PEER_A_MAX, attr,
			       mn_verdict_peer_policy, extack);
	if (ret)
		return ERR_PTR(ret);
	if (NL_REQ_ATTR_CHECK(extack, attr, tb, MESHNET_PEER_A_PUBLIC_KEY) ||
	    NL_REQ_ATTR_CHECK(extack, attr, tb, MESHNET_PEER_A_VERDICT)) {
		NL_SET_ERR_MSG_MOD(extack,
				   "Verdict change needs a public key and a verdict");
		return ERR_PTR(-EINVAL);
	}
	peer = mn_peer_alloc(0);
	if (!peer)
		return ERR_PTR(-ENOMEM);
	nla_memcpy(peer->public_key, tb[MESHNET_PEER_A_PUBLIC_KEY],
		   MESHNET_KEY_LEN);
	peer->verdict = nla_get_u8(tb[MESHNET_PEER_A_VERDICT]);
	if (tb[MESHNET_PEER_A_REASON])
		nla_strscpy(peer->reason, tb[MESHNET_PEER_A_REASON],
			    sizeof(peer->reason));
	return peer;
}

static void mn_delta_free(struct mn_delta *d)
{
	u32 i;

	for (i = 0; d->e && i < d->n; i++) {
		mn_peer_put(d->e[i].peer);
		mn_peer_put(d->e[i].repl);
	}
	kvfree(d->e);
}

static int mn_apply_delta_doit(struct sk_buff *skb, struct genl_info *info)
{
	static const struct {
		u16 attr;
		u8 kind;
	} lists[] = {
		{ MESHNET_A_REMOVE_PEERS, MN_DELTA_REMOVE },
		{ MESHNET_A_VERDICT_PEERS, MN_DELTA_VERDICT },
		{ MESHNET_A_PEERS, MN_DELTA_UPSERT },
	};
	struct nlattr *tb[MESHNET_A_MAX + 1], **a = tb, *attr, *top;
	struct mn_net *mn = mn_info_net(info);
	struct mn_delta d = {};
	u64 epoch_id, valid_until;
	LIST_HEAD(notices);
	u32 n = 0, l;
	u8 verdict;
	int rem, trem, ret;

	ret = mn_parse_wiping(info, mn_delta_policy, tb);
	if (ret)
		return ret;
	if (GENL_REQ_ATTR_CHECK(info, MESHNET_A_REVISION)) {
		NL_SET_ERR_MSG_MOD(info->extack, "Delta needs a revision");
		ret = -EINVAL;
		goto out;
	}
	if (a[MESHNET_A_SELF_REASON] && !a[MESHNET_A_SELF_VERDICT]) {
		NL_SET_ERR_MSG_ATTR(info->extack, a[MESHNET_A_SELF_REASON],
				    "Self reason given without self verdict");
		ret = -EINVAL;
		goto out;
	}
	d.revision = nla_get_u64(a[MESHNET_A_REVISION]);
	d.force = nla_get_flag(a[MESHNET_A_EPOCH_FORCE]);
	if (a[MESHNET_A_EPOCH_ID]) {
		epoch_id = nla_get_u64(a[MESHNET_A_EPOCH_ID]);
		d.epoch_id = &epoch_id;
	}
	if (a[MESHNET_A_VALID_UNTIL]) {
		valid_until = nla_get_u64(a[MESHNET_A_VALID_UNTIL]);
		d.valid_until = &valid_until;
	}
	if (a[MESHNET_A_SELF_VERDICT]) {
		verdict = nla_get_u8(a[MESHNET_A_SELF_VERDICT]);
		d.self_verdict = &verdict;
		if (a[MESHNET_A_SELF_REASON])
			d.self_reason = nla_data(a[MESHNET_A_SELF_REASON]);
	}
	/*
	 * Each list may come as several nests of its type (a nest is at most
	 * 64 KiB); the policy has validated all of them. Count and cap before
	 * allocating anything.
	 */
	nla_for_each_attr(top, genlmsg_data(info->genlhdr),
			  genlmsg_len(info->genlhdr), trem)
		for (l = 0; l < ARRAY_SIZE(lists); l++)
			if (nla_type(top) == lists[l].attr)
				nla_for_each_nested(attr, top, rem)
					n++;
	if (n > MN_MAX_DELTA) {
		NL_SET_ERR_MSG_MOD(info->extack, "Too many changes in one delta");
		ret = -E2BIG;
		goto out;
	}
	d.e = kvcalloc(max_t(u32, n, 1), sizeof(*d.e), GFP_KERNEL_ACCOUNT);
	if (!d.e) {
		ret = -ENOMEM;
		goto out;
	}
	for (l = 0; l < ARRAY_SIZE(lists); l++) {
		nla_for_each_attr(top, genlmsg_data(info->genlhdr),
				  genlmsg_len(info->genlhdr), trem) {
			if (nla_type(top) != lists[l].attr)
				continue;
			nla_for_each_nested(attr, top, rem) {
				struct mn_peer *p;

				if (lists[l].kind == MN_DELTA_UPSERT)
					p = mn_parse_peer(attr, info->extack);
				else
					p = mn_parse_delta_key(attr,
							       lists[l].kind,
							       info->extack);
				if (IS_ERR(p)) {
					ret = PTR_ERR(p);
					goto out;
				}
				d.e[d.n].peer = p;
				d.e[d.n++].kind = lists[l].kind;
			}
		}
	}
	mutex_lock(&mn->lock);
	ret = mn_delta_apply(mn, &d, &notices, info->extack);
	mutex_unlock(&mn->lock);
	mn_notify_send_all(mn, &notices);
out:
	mn_wipe_request(info);
	mn_delta_free(&d);
	return ret;
}

/* One-entry deltas that keep the revision. */
static int mn_one_change(struct mn_net *mn, struct mn_peer *peer, u8 kind,
			 struct netlink_ext_ack *extack)
{
	struct mn_delta_entry e = { .peer = peer, .kind = kind };
	struct mn_delta d = { .force = true, .n = 1, .e = &e };
	LIST_HEAD(notices);
	int ret;

	mutex_lock(&mn->lock);
	d.revision = mn_table_current(mn)->revision;
	ret = mn_delta_apply(mn, &d, &notices, extack);
	mutex_unlock(&mn->lock);
	mn_notify_send_all(mn, &notices);
	mn_peer_put(e.repl);
	return ret;
}

static int mn_set_peer_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct nlattr *tb[MESHNET_A_MAX + 1];
	struct mn_peer *peer;
	int ret;

	ret = mn_parse_wiping(info, mn_set_peer_policy, tb);
	if (ret)
		return ret;
	if (GENL_REQ_ATTR_CHECK(info, MESHNET_A_PEER)) {
		NL_SET_ERR_MSG_MOD(info->extack, "Missing peer");
		return -EINVAL;
	}
	peer = mn_parse_peer(info->attrs[MESHNET_A_PEER], info->extack);
	mn_wipe_request(info);
	if (IS_ERR(peer))
		return PTR_ERR(peer);
	ret = mn_one_change(mn_info_net(info), peer, MN_DELTA_UPSERT,
			    info->extack);
	mn_peer_put(peer);
	return ret;
}

static int mn_del_peer_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct mn_peer *peer;
	int ret;

	if (GENL_REQ_ATTR_CHECK(info, MESHNET_A_PEER)) {
		NL_SET_ERR_MSG_MOD(info->extack, "Missing peer");
		return -EINVAL;
	}
	peer = mn_parse_delta_key(info->attrs[MESHNET_A_PEER],
				  MN_DELTA_REMOVE, info->extack);
	if (IS_ERR(peer))
		return PTR_ERR(peer);
	ret = mn_one_change(mn_info_net(info), peer, MN_DELTA_REMOVE,
			    info->extack);
	if (ret == -ENOENT)
		NL_SET_ERR_MSG_MOD(info->extack, "No peer with this public key");
	mn_peer_put(peer);
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
		for (i = 0; i < t->n_peers; i++) {
			mn_counters_reset(mn_table_peer(t, i)->counters);
			cond_resched();
		}
		mn_totals_reset(&mn->totals);
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
	struct mn_net *mn = mn_net(sock_net(cb->skb->sk));
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
			      MESHNET_A_PAD) ||
	    nla_put_u64_64bit(skb, MESHNET_A_REVISION, t->revision,
			      MESHNET_A_PAD))
		goto err;
	list = nla_nest_start(skb, MESHNET_A_PEERS);
	if (!list)
		goto err;
	/* PSKs are read under the writer lock, which retires them. */
	if (cb->args[MN_DUMP_PSK])
		mutex_lock(&mn->lock);
	for (; i < t->n_peers; i++)
		if (mn_put_peer(skb, i - first, mn_table_peer(t, i), true,
				cb->args[MN_DUMP_PSK]))
			break;
	if (cb->args[MN_DUMP_PSK])
		mutex_unlock(&mn->lock);
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

/*
 * Notifications may come from work items that outlive the family during
 * module unload: multicast only while the family is registered.
 */
static DEFINE_MUTEX(mn_notify_mutex);
static bool mn_notify_live;

static void mn_notify_send(struct mn_net *mn, struct sk_buff *msg, void *hdr,
			   bool ok)
{
	if (!ok) {
		nlmsg_free(msg);
		return;
	}
	genlmsg_end(msg, hdr);
	mutex_lock(&mn_notify_mutex);
	if (mn_notify_live)
		genlmsg_multicast_netns(&mn_genl_family, mn->net, msg, 0, 0,
					GFP_KERNEL);
	else
		nlmsg_free(msg);
	mutex_unlock(&mn_notify_mutex);
}

/* Appends one VERDICT_NOTIFY message for @n to @msg. */
static int mn_notice_put(struct sk_buff *msg, const struct mn_notice *n)
{
	void *hdr = genlmsg_put(msg, 0, 0, &mn_genl_family, 0,
				MESHNET_CMD_VERDICT_NOTIFY);
	bool ok;

	if (!hdr)
		return -EMSGSIZE;
	ok = !nla_put_u64_64bit(msg, MESHNET_A_EPOCH_ID, n->epoch_id,
				MESHNET_A_PAD) &&
	     !nla_put_u64_64bit(msg, MESHNET_A_REVISION, n->revision,
				MESHNET_A_PAD);
	if (ok && n->peer)
		ok = !mn_put_peer(msg, MESHNET_A_PEER, n->peer, false, false);
	else if (ok)
		ok = !nla_put_u8(msg, MESHNET_A_SELF_VERDICT, n->self_verdict) &&
		     (!n->self_reason[0] ||
		      !nla_put_string(msg, MESHNET_A_SELF_REASON,
				      n->self_reason));
	if (!ok) {
		genlmsg_cancel(msg, hdr);
		return -EMSGSIZE;
	}
	genlmsg_end(msg, hdr);
	return 0;
}

static void mn_notify_flush(struct mn_net *mn, struct sk_buff *msg)
{
	mutex_lock(&mn_notify_mutex);
	if (mn_notify_live && msg->len)
		genlmsg_multicast_netns(&mn_genl_family, mn->net, msg, 0, 0,
					GFP_KERNEL);
	else
		nlmsg_free(msg);
	mutex_unlock(&mn_notify_mutex);
}

/*
 * Sends and frees @notices; called without the writer lock. Notices are
 * batched: as many VERDICT_NOTIFY messages as fit go in one skb (one
 * datagram for each listener).
 */
void mn_notify_send_all(struct mn_net *mn, struct list_head *notices)
{
	bool listen = mn_has_listeners(mn);
	struct sk_buff *msg = NULL;
	struct mn_notice *n, *tmp;

	list_for_each_entry_safe(n, tmp, notices, node) {
		if (listen && !msg)
			msg = genlmsg_new(NLMSG_GOODSIZE, GFP_KERNEL);
		if (msg && mn_notice_put(msg, n)) {
			mn_notify_flush(mn, msg);
			msg = genlmsg_new(NLMSG_GOODSIZE, GFP_KERNEL);
			if (msg && mn_notice_put(msg, n)) {
				nlmsg_free(msg);
				msg = NULL;
			}
		}
		list_del(&n->node);
		mn_peer_put(n->peer);
		kfree(n);
		cond_resched();
	}
	if (msg)
		mn_notify_flush(mn, msg);
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
		       !nla_put_u64_64bit(msg, MESHNET_A_REVISION, t->revision,
					  MESHNET_A_PAD) &&
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
		       !nla_put_u64_64bit(msg, MESHNET_A_REVISION, t->revision,
					  MESHNET_A_PAD) &&
		       !nla_put_u8(msg, MESHNET_A_EXPIRED, 1));
}

/* ---- family ---- */

#define MN_OP(_cmd, _doit, _policy) {				\
	.cmd = (_cmd),						\
	.doit = (_doit),					\
	.policy = (_policy),					\
	.maxattr = MESHNET_A_MAX,				\
	.flags = GENL_UNS_ADMIN_PERM,				\
}

/*
 * A NULL policy: the handler validates (mn_parse_wiping()), see there. The
 * core still checks the attribute layout.
 */
static const struct genl_ops mn_genl_ops[] = {
	MN_OP(MESHNET_CMD_GET_STATE, mn_get_state, mn_no_attr_policy),
	MN_OP(MESHNET_CMD_ATTACH, mn_attach, mn_device_policy),
	MN_OP(MESHNET_CMD_DETACH, mn_detach, mn_device_policy),
	MN_OP(MESHNET_CMD_SET_POLICY, mn_set_policy, mn_set_policy_policy),
	MN_OP(MESHNET_CMD_SET_SELF, mn_set_self, mn_set_self_policy),
	MN_OP(MESHNET_CMD_EPOCH_BEGIN, mn_epoch_begin_doit, mn_begin_policy),
	MN_OP(MESHNET_CMD_EPOCH_SET_PEERS, mn_epoch_set_peers_doit, NULL),
	MN_OP(MESHNET_CMD_EPOCH_COMMIT, mn_epoch_commit_doit,
	      mn_commit_policy),
	MN_OP(MESHNET_CMD_EPOCH_ABORT, mn_epoch_abort_doit, mn_abort_policy),
	MN_OP(MESHNET_CMD_SET_PEER, mn_set_peer_doit, NULL),
	MN_OP(MESHNET_CMD_DEL_PEER, mn_del_peer_doit, mn_peer_key_only_policy),
	{
		.cmd = MESHNET_CMD_GET_PEERS,
		.start = mn_get_peers_start,
		.dumpit = mn_get_peers_dumpit,
		.done = mn_get_peers_done,
		.policy = mn_get_peers_policy,
		.maxattr = MESHNET_A_MAX,
		.flags = GENL_UNS_ADMIN_PERM,
	},
	MN_OP(MESHNET_CMD_RESET_COUNTERS, mn_reset_counters_doit,
	      mn_peer_key_only_policy),
	MN_OP(MESHNET_CMD_APPLY_DELTA, mn_apply_delta_doit, NULL),
};

static const struct genl_multicast_group mn_genl_mcgrps[] = {
	{ .name = MESHNET_MCGRP_NAME, .flags = GENL_MCAST_CAP_NET_ADMIN },
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
	int ret = genl_register_family(&mn_genl_family);

	if (!ret) {
		mutex_lock(&mn_notify_mutex);
		mn_notify_live = true;
		mutex_unlock(&mn_notify_mutex);
	}
	return ret;
}

void mn_genl_unregister(void)
{
	mutex_lock(&mn_notify_mutex);
	mn_notify_live = false;
	mutex_unlock(&mn_notify_mutex);
	genl_unregister_family(&mn_genl_family);
}
