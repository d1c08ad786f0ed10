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
 *
 * Underlay (PRE_ROUTING, any other device; only with the policy
 * MESHNET_A_POLICY_ENDPOINT_DROP and while a DENIED peer of the table has an
 * endpoint): a UDP datagram whose source is a DENIED peer's endpoint
 * (endpoint.c) and whose destination is the socket of an attached WireGuard
 * device is dropped before WireGuard decrypts it, and counted as the
 * peer's endpoint drop. The inner hook stays the backstop: a denied peer
 * that sends from another endpoint (roaming, NAT rebinding) is dropped
 * after decryption, and an endpoint that a peer not DENIED also has is
 * left to WireGuard and the inner hook. A datagram is judged on its first
 * fragment (the one with the UDP header); later fragments pass and die in
 * reassembly.
 */

#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/netfilter_ipv4.h>
#include <linux/netfilter_ipv6.h>
#include <linux/udp.h>
#include <net/ip.h>
#include <net/ipv6.h>
#include <net/sock.h>
#include <net/udp.h>

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

/*
 * Is the datagram from @src to @dst (ports: @uh) for an attached device?
 * The socket is found as udp_rcv() would find it, under RCU and without a
 * reference (UDP sockets are freed after a grace period): only its
 * sk_user_data is read. (6.1: one udp_table for all namespaces.)
 */
static bool mn_for_attached(struct mn_net *mn,
			    const struct nf_hook_state *state,
			    const void *src, const void *dst,
			    const struct udphdr *uh)
{
	int dif = state->in->ifindex;
	struct sock *sk;

	if (state->pf == NFPROTO_IPV4)
		sk = __udp4_lib_lookup(state->net, *(const __be32 *)src,
				       uh->source, *(const __be32 *)dst,
				       uh->dest, dif, 0, &udp_table, NULL);
#if IS_ENABLED(CONFIG_IPV6)
	else
		sk = __udp6_lib_lookup(state->net, src, uh->source, dst,
				       uh->dest, dif, 0, &udp_table, NULL);
#else
	else
		sk = NULL;
#endif
	return sk && mn_device_owns_sock(mn, state->net, sk);
}

static unsigned int mn_hook_underlay(struct mn_net *mn, struct sk_buff *skb,
				     const struct nf_hook_state *state)
{
	const struct mn_table *t = rcu_dereference(mn->table);
	unsigned int pkts = skb_is_gso(skb) ? skb_shinfo(skb)->gso_segs : 1;
	const void *saddr, *daddr;
	const struct udphdr *uh;
	union mn_sockaddr ep;
	struct mn_peer *peer;
	struct udphdr _uh;
	int off;

	if (!READ_ONCE(mn->endpoint_drop) || !t->n_denied_eps)
		return NF_ACCEPT;
	if (state->pf == NFPROTO_IPV4) {
		const struct iphdr *iph = ip_hdr(skb);

		if (iph->protocol != IPPROTO_UDP ||
		    (iph->frag_off & htons(IP_OFFSET)))
			return NF_ACCEPT;
		off = ip_hdrlen(skb);
		saddr = &iph->saddr;
		daddr = &iph->daddr;
		ep.sin.sin_family = AF_INET;
		ep.sin.sin_addr.s_addr = iph->saddr;
	} else {
		const struct ipv6hdr *ip6h = ipv6_hdr(skb);
		u8 nexthdr = ip6h->nexthdr;
		__be16 frag_off;

		off = ipv6_skip_exthdr(skb, sizeof(*ip6h), &nexthdr, &frag_off);
		if (off < 0 || nexthdr != IPPROTO_UDP || frag_off)
			return NF_ACCEPT;
		saddr = &ip6h->saddr;
		daddr = &ip6h->daddr;
		ep.sin6.sin6_family = AF_INET6;
		ep.sin6.sin6_addr = ip6h->saddr;
	}
	uh = skb_header_pointer(skb, off, sizeof(_uh), &_uh);
	if (!uh)
		return NF_ACCEPT;
	if (state->pf == NFPROTO_IPV4)
		ep.sin.sin_port = uh->source;
	else
		ep.sin6.sin6_port = uh->source;
	peer = mn_lookup_denied_ep(t, &ep);
	if (!peer || !mn_for_attached(mn, state, saddr, daddr, uh))
		return NF_ACCEPT;
	mn_counters_add(peer->counters, MN_ENDPOINT_DROP, pkts, skb->len);
	mn_totals_add(&mn->totals, MN_ENDPOINT_DROP, pkts, skb->len);
	return NF_DROP;
}

static unsigned int mn_hook(void *priv, struct sk_buff *skb,
			    const struct nf_hook_state *state)
{
	enum mn_dir dir = state->hook == NF_INET_PRE_ROUTING ? MN_IN : MN_OUT;
	const struct net_device *dev = dir == MN_IN ? state->in : state->out;
	struct mn_net *mn = priv;
	const struct mn_table *t;
	struct mn_peer *peer;

	if (!dev)
		return NF_ACCEPT;
	if (!mn_device_attached(mn, dev->ifindex)) {
		if (dir == MN_OUT)
			return NF_ACCEPT;
		return mn_hook_underlay(mn, skb, state);
	}
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
 * Inbound inner packets (and underlay datagrams) are judged after
 * defragmentation but before the raw table and conntrack, so a denied peer
 * creates no conntrack entries.
 * Outbound ones after NAT, when the destination is final.
 */
static const struct nf_hook_ops mn_hook_template[] = {
	{
		.hook = mn_hook,
		.pf = NFPROTO_IPV4,
		.hooknum = NF_INET_PRE_ROUTING,
		.priority = NF_IP_PRI_RAW - 1,
	},
	{
		.hook = mn_hook,
		.pf = NFPROTO_IPV4,
		.hooknum = NF_INET_POST_ROUTING,
		.priority = NF_IP_PRI_NAT_SRC + 1,
	},
	{
		.hook = mn_hook,
		.pf = NFPROTO_IPV6,
		.hooknum = NF_INET_PRE_ROUTING,
		.priority = NF_IP6_PRI_RAW - 1,
	},
	{
		.hook = mn_hook,
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
