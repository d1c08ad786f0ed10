// SPDX-License-Identifier: GPL-2.0
/*
 * Copyright (C) 2026 The aligned-meshnet authors.
 *
 * Enforcement: netfilter hooks of one namespace. No lock on this path: the
 * table and the device list are RCU-protected immutable objects, peer
 * counters are atomics, the totals per-CPU.
 *
 * Inbound (PRE_ROUTING, state->in attached): the inner source address
 * identifies the sending peer (WireGuard only accepts a source inside the
 * sender's allowed IPs). Outbound (POST_ROUTING, state->out attached): the
 * inner destination identifies the receiving peer. The local verdict and the
 * dead man's switch deadline (boottime) are read from the same table.
 */

#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/netfilter_ipv4.h>
#include <linux/netfilter_ipv6.h>
#include <net/ip.h>
#include <net/ipv6.h>

#include "meshnet.h"

enum mn_dir { MN_IN, MN_OUT };

static unsigned int mn_verdict(struct mn_net *mn, const struct mn_table *t,
			       struct mn_peer *peer, enum mn_dir dir,
			       const struct sk_buff *skb)
{
	/* A GSO packet counts as the segments it stands for. */
	unsigned int pkts = skb_is_gso(skb) ? skb_shinfo(skb)->gso_segs : 1;
	enum mn_count_kind kind;
	bool drop;

	if (t->self_verdict == MESHNET_VERDICT_DENIED)
		drop = true;
	else if (READ_ONCE(mn->fail_closed) && mn_table_expired(mn, t))
		drop = true;
	else if (!peer)
		drop = READ_ONCE(mn->policy_unknown) != MESHNET_UNKNOWN_ALLOW;
	else
		drop = peer->verdict != MESHNET_VERDICT_ALLOWED;

	if (dir == MN_IN)
		kind = drop ? MN_RX_DROP : MN_RX_PASS;
	else
		kind = drop ? MN_TX_DROP : MN_TX_PASS;
	if (peer)
		mn_counters_add(peer->counters, kind, pkts, skb->len);
	mn_totals_add(&mn->totals, kind, pkts, skb->len);
	return drop ? NF_DROP : NF_ACCEPT;
}

static unsigned int mn_hook_inner(void *priv, struct sk_buff *skb,
				  const struct nf_hook_state *state)
{
	enum mn_dir dir = state->hook == NF_INET_PRE_ROUTING ? MN_IN : MN_OUT;
	const struct net_device *dev = dir == MN_IN ? state->in : state->out;
	struct mn_net *mn = priv;
	const struct mn_table *t;
	struct mn_peer *peer;

	if (!dev || !mn_device_attached(mn, dev->ifindex))
		return NF_ACCEPT;
	t = rcu_dereference(mn->table);
	if (state->pf == NFPROTO_IPV4) {
		const struct iphdr *iph = ip_hdr(skb);

		peer = mn_lookup_v4(t, dir == MN_IN ? iph->saddr : iph->daddr);
	} else {
		const struct ipv6hdr *ip6h = ipv6_hdr(skb);

		peer = mn_lookup_v6(t, dir == MN_IN ? &ip6h->saddr :
				    &ip6h->daddr);
	}
	return mn_verdict(mn, t, peer, dir, skb);
}

/*
 * Inbound inner packets are judged after defragmentation but before the raw
 * table and conntrack, so a denied peer creates no conntrack entries.
 * Outbound ones after NAT, when the destination is final.
 */
static const struct nf_hook_ops mn_hook_template[] = {
	{
		.hook = mn_hook_inner,
		.pf = NFPROTO_IPV4,
		.hooknum = NF_INET_PRE_ROUTING,
		.priority = NF_IP_PRI_RAW - 1,
	},
	{
		.hook = mn_hook_inner,
		.pf = NFPROTO_IPV4,
		.hooknum = NF_INET_POST_ROUTING,
		.priority = NF_IP_PRI_NAT_SRC + 1,
	},
	{
		.hook = mn_hook_inner,
		.pf = NFPROTO_IPV6,
		.hooknum = NF_INET_PRE_ROUTING,
		.priority = NF_IP6_PRI_RAW - 1,
	},
	{
		.hook = mn_hook_inner,
		.pf = NFPROTO_IPV6,
		.hooknum = NF_INET_POST_ROUTING,
		.priority = NF_IP6_PRI_NAT_SRC + 1,
	},
};

int mn_hooks_register(struct mn_net *mn)
{
	int i, ret;

	BUILD_BUG_ON(ARRAY_SIZE(mn_hook_template) != ARRAY_SIZE(mn->hook_ops));
	for (i = 0; i < ARRAY_SIZE(mn_hook_template); i++) {
		mn->hook_ops[i] = mn_hook_template[i];
		mn->hook_ops[i].priv = mn;
	}
	ret = nf_register_net_hooks(mn->net, mn->hook_ops,
				    ARRAY_SIZE(mn->hook_ops));
	if (!ret)
		mn->hooks_registered = true;
	return ret;
}

void mn_hooks_unregister(struct mn_net *mn)
{
	if (!mn->hooks_registered)
		return;
	nf_unregister_net_hooks(mn->net, mn->hook_ops,
				ARRAY_SIZE(mn->hook_ops));
	mn->hooks_registered = false;
}
