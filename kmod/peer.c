// SPDX-License-Identifier: GPL-2.0
/*
 * Copyright (C) 2026 The aligned-meshnet authors.
 *
 * Peer entries and their per-CPU counters.
 */

#include <linux/overflow.h>
#include <linux/percpu.h>
#include <linux/slab.h>
#include <linux/string.h>

#include "meshnet.h"

struct mn_counters *mn_counters_new(void)
{
	struct mn_counters *c;
	int cpu;

	c = kzalloc(sizeof(*c), GFP_KERNEL);
	if (!c)
		return NULL;
	c->pcpu = alloc_percpu(struct mn_pcpu_stats);
	if (!c->pcpu) {
		kfree(c);
		return NULL;
	}
	for_each_possible_cpu(cpu)
		u64_stats_init(&per_cpu_ptr(c->pcpu, cpu)->syncp);
	refcount_set(&c->ref, 1);
	return c;
}

void mn_counters_put(struct mn_counters *c)
{
	if (!c || !refcount_dec_and_test(&c->ref))
		return;
	free_percpu(c->pcpu);
	kfree(c);
}

/* Packet path: called under RCU, possibly with preemption enabled. */
void mn_counters_add(struct mn_counters *c, enum mn_count_kind kind,
		     unsigned int len)
{
	struct mn_pcpu_stats *s = get_cpu_ptr(c->pcpu);
	unsigned long flags;

	flags = u64_stats_update_begin_irqsave(&s->syncp);
	switch (kind) {
	case MN_RX_PASS:
		u64_stats_inc(&s->rx_packets);
		u64_stats_add(&s->rx_bytes, len);
		break;
	case MN_TX_PASS:
		u64_stats_inc(&s->tx_packets);
		u64_stats_add(&s->tx_bytes, len);
		break;
	case MN_RX_DROP:
		u64_stats_inc(&s->rx_drop_packets);
		u64_stats_add(&s->rx_drop_bytes, len);
		break;
	case MN_TX_DROP:
		u64_stats_inc(&s->tx_drop_packets);
		u64_stats_add(&s->tx_drop_bytes, len);
		break;
	case MN_ENDPOINT_DROP:
		u64_stats_inc(&s->endpoint_drop_packets);
		break;
	}
	u64_stats_update_end_irqrestore(&s->syncp, flags);
	put_cpu_ptr(c->pcpu);
}

void mn_counters_sum(const struct mn_counters *c, struct mn_stats_sum *sum)
{
	int cpu;

	memset(sum, 0, sizeof(*sum));
	for_each_possible_cpu(cpu) {
		const struct mn_pcpu_stats *s = per_cpu_ptr(c->pcpu, cpu);
		struct mn_stats_sum v;
		unsigned int start;

		do {
			start = u64_stats_fetch_begin(&s->syncp);
			v.rx_packets = u64_stats_read(&s->rx_packets);
			v.rx_bytes = u64_stats_read(&s->rx_bytes);
			v.tx_packets = u64_stats_read(&s->tx_packets);
			v.tx_bytes = u64_stats_read(&s->tx_bytes);
			v.rx_drop_packets = u64_stats_read(&s->rx_drop_packets);
			v.rx_drop_bytes = u64_stats_read(&s->rx_drop_bytes);
			v.tx_drop_packets = u64_stats_read(&s->tx_drop_packets);
			v.tx_drop_bytes = u64_stats_read(&s->tx_drop_bytes);
			v.endpoint_drop_packets =
				u64_stats_read(&s->endpoint_drop_packets);
		} while (u64_stats_fetch_retry(&s->syncp, start));
		sum->rx_packets += v.rx_packets;
		sum->rx_bytes += v.rx_bytes;
		sum->tx_packets += v.tx_packets;
		sum->tx_bytes += v.tx_bytes;
		sum->rx_drop_packets += v.rx_drop_packets;
		sum->rx_drop_bytes += v.rx_drop_bytes;
		sum->tx_drop_packets += v.tx_drop_packets;
		sum->tx_drop_bytes += v.tx_drop_bytes;
		sum->endpoint_drop_packets += v.endpoint_drop_packets;
	}
}

/*
 * Resetting races with packets counted concurrently on other CPUs; a few
 * packets may survive the reset, which is acceptable for statistics.
 */
void mn_counters_reset(struct mn_counters *c)
{
	int cpu;

	for_each_possible_cpu(cpu) {
		struct mn_pcpu_stats *s = per_cpu_ptr(c->pcpu, cpu);
		unsigned long flags;

		flags = u64_stats_update_begin_irqsave(&s->syncp);
		u64_stats_set(&s->rx_packets, 0);
		u64_stats_set(&s->rx_bytes, 0);
		u64_stats_set(&s->tx_packets, 0);
		u64_stats_set(&s->tx_bytes, 0);
		u64_stats_set(&s->rx_drop_packets, 0);
		u64_stats_set(&s->rx_drop_bytes, 0);
		u64_stats_set(&s->tx_drop_packets, 0);
		u64_stats_set(&s->tx_drop_bytes, 0);
		u64_stats_set(&s->endpoint_drop_packets, 0);
		u64_stats_update_end_irqrestore(&s->syncp, flags);
	}
}

struct mn_peer *mn_peer_alloc(u16 n_allowedips)
{
	struct mn_peer *peer;

	peer = kzalloc(struct_size(peer, allowedips, n_allowedips),
		       GFP_KERNEL_ACCOUNT);
	if (!peer)
		return NULL;
	kref_init(&peer->ref);
	INIT_HLIST_NODE(&peer->stage_node);
	peer->n_allowedips = n_allowedips;
	return peer;
}

static void mn_peer_release(struct kref *ref)
{
	struct mn_peer *peer = container_of(ref, struct mn_peer, ref);

	memzero_explicit(peer->psk, sizeof(peer->psk));
	mn_counters_put(peer->counters);
	kfree(peer);
}

/* Process context only: tables are freed from a workqueue. */
void mn_peer_put(struct mn_peer *peer)
{
	if (peer)
		kref_put(&peer->ref, mn_peer_release);
}
