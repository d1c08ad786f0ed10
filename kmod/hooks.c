// SPDX-License-Identifier: GPL-2.0
/*
 * Copyright (C) 2026 The aligned-meshnet authors.
 *
 * Enforcement: netfilter hooks of one namespace. No lock on this path: the
 * table and the device list are RCU-protected immutable objects, counters
 * are per-CPU.
 *
 * Inbound (PRE_ROUTING, state->in attached): the inner source address
 * identifies the sending peer (WireGuard only accepts a source inside the
 * sender's allowed IPs). Outbound (POST_ROUTING, state->out attached): the
 * inner destination identifies the receiving peer. Optional outer drop
 * (PRE_ROUTING, any device): UDP from a DENIED peer's endpoint.
 */

#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/netfilter_ipv4.h>
#include <linux/netfilter_ipv6.h>
#include <linux/udp.h>
#include <net/ip.h>
#include <net/ipv6.h>

#include "meshnet.h"

enum mn_dir { MN_IN, MN_OUT };

static unsigned int mn_verdict(struct mn_net *mn, struct mn_peer *peer,
			       enum mn_dir dir, unsigned int len)
{
	bool drop;

	if (READ_ONCE(mn->expired) && READ_ONCE(mn->fail_closed))
		drop = true;
	else if (READ_ONCE(mn->self_verdict) == MESHNET_VERDICT_DENIED)
		drop = true;
	else if (!peer)
		drop = READ_ONCE(mn->policy_unknown) != MESHNET_UNKNOWN_ALLOW;
	else
		drop = peer->verdict != MESHNET_VERDICT_ALLOWED;

	if (dir == MN_IN) {
		if (peer)
			mn_counters_add(peer->counters,
					drop ? MN_RX_DROP : MN_RX_PASS, len);
		mn_counters_add(mn->totals, drop ? MN_RX_DROP : MN_RX_PASS,
				len);
	} else {
		if (peer)
			mn_counters_add(peer->counters,
					drop ? MN_TX_DROP : MN_TX_PASS, len);
		mn_counters_add(mn->totals, drop ? MN_TX_DROP : MN_TX_PASS,
				len);
	}
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
	return mn_verdict(mn, peer, dir, skb->len);
}

static unsigned int mn_hook_endpoint(void *priv, struct sk_buff *skb,
				     const struct nf_hook_state *state)
{
	struct mn_net *mn = priv;
	const struct mn_table *t;
	struct udphdr _uh;
	const struct udphdr *uh;
	union mn_addr addr;
	struct mn_peer *peer;
	unsigned int thoff;
	u16 family;

	if (!READ_ONCE(mn->endpoint_drop))
		return NF_ACCEPT;
	t = rcu_dereference(mn->table);
	if (!t->ep_slots)
		return NF_ACCEPT;
	memset(&addr, 0, sizeof(addr));
	if (state->pf == NFPROTO_IPV4) {
		const struct iphdr *iph = ip_hdr(skb);

		if (iph->protocol != IPPROTO_UDP || ip_is_fragment(iph))
			return NF_ACCEPT;
		family = AF_INET;
		addr.v4 = iph->saddr;
		thoff = skb_network_offset(skb) + ip_hdrlen(skb);
	} else {
		const struct ipv6hdr *ip6h = ipv6_hdr(skb);
		__be16 frag_off;
		u8 nexthdr = ip6h->nexthdr;
		int off;

		off = ipv6_skip_exthdr(skb, skb_network_offset(skb) +
				       sizeof(*ip6h), &nexthdr, &frag_off);
		if (off < 0 || nexthdr != IPPROTO_UDP || frag_off)
			return NF_ACCEPT;
		family = AF_INET6;
		addr.v6 = ip6h->saddr;
		thoff = off;
	}
	uh = skb_header_pointer(skb, thoff, sizeof(_uh), &_uh);
	if (!uh)
		return NF_ACCEPT;
	peer = mn_lookup_endpoint(t, family, &addr, uh->source);
	if (!peer)
		return NF_ACCEPT;
	mn_counters_add(peer->counters, MN_ENDPOINT_DROP, skb->len);
	mn_counters_add(mn->totals, MN_ENDPOINT_DROP, skb->len);
	return NF_DROP;
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
	{
		.hook = mn_hook_endpoint,
		.pf = NFPROTO_IPV4,
		.hooknum = NF_INET_PRE_ROUTING,
		.priority = NF_IP_PRI_RAW_BEFORE_DEFRAG,
	},
	{
		.hook = mn_hook_endpoint,
		.pf = NFPROTO_IPV6,
		.hooknum = NF_INET_PRE_ROUTING,
		.priority = NF_IP6_PRI_RAW_BEFORE_DEFRAG,
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
