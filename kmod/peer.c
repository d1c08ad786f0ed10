// SPDX-License-Identifier: GPL-2.0
/*
 * Copyright (C) 2026 The aligned-meshnet authors.
 *
 * Peer entries, their counters and the namespace totals.
 */

#include <linux/overflow.h>
#include <linux/percpu.h>
#include <linux/slab.h>
#include <linux/string.h>

#include "meshnet.h"

static struct kmem_cache *mn_counters_cache;
static struct kmem_cache *mn_peer_cache;

int mn_peer_cache_init(void)
{
	/* The packet path's fields share the entry's first cache line. */
	BUILD_BUG_ON(offsetofend(struct mn_peer, counters) > 64);
	mn_counters_cache = KMEM_CACHE(mn_counters, SLAB_ACCOUNT);
	if (!mn_counters_cache)
		return -ENOMEM;
	mn_peer_cache = kmem_cache_create("meshnet_peer",
					  sizeof(struct mn_peer), 0,
					  SLAB_ACCOUNT | SLAB_HWCACHE_ALIGN,
					  NULL);
	if (!mn_peer_cache) {
		kmem_cache_destroy(mn_counters_cache);
		return -ENOMEM;
	}
	return 0;
}

void mn_peer_cache_uninit(void)
{
	kmem_cache_destroy(mn_peer_cache);
	kmem_cache_destroy(mn_counters_cache);
}

struct mn_counters *mn_counters_new(void)
{
	struct mn_counters *c;

	c = kmem_cache_zalloc(mn_counters_cache, GFP_KERNEL_ACCOUNT);
	if (!c)
		return NULL;
	refcount_set(&c->ref, 1);
	return c;
}

void mn_counters_put(struct mn_counters *c)
{
	if (c && refcount_dec_and_test(&c->ref))
		kmem_cache_free(mn_counters_cache, c);
}

void mn_counters_sum(const struct mn_counters *c, struct mn_stats_sum *sum)
{
	int i;

	for (i = 0; i < MN_C_COUNT; i++)
		sum->c[i] = c ? atomic64_read(&c->c[i]) : 0;
}

/* Atomic stores: safe against packets counted concurrently on any CPU. */
void mn_counters_reset(struct mn_counters *c)
{
	int i;

	for (i = 0; c && i < MN_C_COUNT; i++)
		atomic64_set(&c->c[i], 0);
}

int mn_totals_init(struct mn_totals *t)
{
	int cpu;

	memset(&t->base, 0, sizeof(t->base));
	t->pcpu = alloc_percpu_gfp(struct mn_pcpu_stats, GFP_KERNEL_ACCOUNT);
	if (!t->pcpu)
		return -ENOMEM;
	for_each_possible_cpu(cpu)
		u64_stats_init(&per_cpu_ptr(t->pcpu, cpu)->syncp);
	return 0;
}

void mn_totals_free(struct mn_totals *t)
{
	free_percpu(t->pcpu);
	t->pcpu = NULL;
}

static const u8 mn_kind_counter[][2] = {
	[MN_RX_PASS] = { MN_C_RX_PACKETS, MN_C_RX_BYTES },
	[MN_TX_PASS] = { MN_C_TX_PACKETS, MN_C_TX_BYTES },
	[MN_RX_DROP] = { MN_C_RX_DROP_PACKETS, MN_C_RX_DROP_BYTES },
	[MN_TX_DROP] = { MN_C_TX_DROP_PACKETS, MN_C_TX_DROP_BYTES },
	[MN_ENDPOINT_DROP] = { MN_C_ENDPOINT_DROP_PACKETS, MN_C_COUNT },
};

/* Packet path: called under RCU, possibly with preemption enabled. */
void mn_totals_add(struct mn_totals *t, enum mn_count_kind kind,
		   unsigned int pkts, unsigned int len)
{
	struct mn_pcpu_stats *s = get_cpu_ptr(t->pcpu);
	unsigned long flags;

	flags = u64_stats_update_begin_irqsave(&s->syncp);
	u64_stats_add(&s->c[mn_kind_counter[kind][0]], pkts);
	if (mn_kind_counter[kind][1] < MN_C_COUNT)
		u64_stats_add(&s->c[mn_kind_counter[kind][1]], len);
	u64_stats_update_end_irqrestore(&s->syncp, flags);
	put_cpu_ptr(t->pcpu);
}

static void mn_totals_raw(const struct mn_totals *t, struct mn_stats_sum *sum)
{
	int cpu, i;

	memset(sum, 0, sizeof(*sum));
	for_each_possible_cpu(cpu) {
		const struct mn_pcpu_stats *s = per_cpu_ptr(t->pcpu, cpu);
		struct mn_stats_sum v;
		unsigned int start;

		do {
			start = u64_stats_fetch_begin(&s->syncp);
			for (i = 0; i < MN_C_COUNT; i++)
				v.c[i] = u64_stats_read(&s->c[i]);
		} while (u64_stats_fetch_retry(&s->syncp, start));
		for (i = 0; i < MN_C_COUNT; i++)
			sum->c[i] += v.c[i];
	}
}

/* Writer lock held (the baseline). */
void mn_totals_sum(const struct mn_totals *t, struct mn_stats_sum *sum)
{
	int i;

	mn_totals_raw(t, sum);
	for (i = 0; i < MN_C_COUNT; i++)
		sum->c[i] -= t->base.c[i];
}

/*
 * Only the owning CPU writes its per-CPU counters (a remote write would race
 * with its u64_stats writer on 32-bit SMP): a reset moves the baseline.
 */
void mn_totals_reset(struct mn_totals *t)
{
	mn_totals_raw(t, &t->base);
}

/* A zeroed entry with room for @n_allowedips prefixes. */
struct mn_peer *mn_peer_alloc(u16 n_allowedips)
{
	struct mn_peer *peer;

	peer = kmem_cache_zalloc(mn_peer_cache, GFP_KERNEL_ACCOUNT);
	if (!peer)
		return NULL;
	peer->allowedips = peer->inline_ips;
	if (n_allowedips > MN_INLINE_PREFIXES) {
		peer->allowedips = kcalloc(n_allowedips,
					   sizeof(*peer->allowedips),
					   GFP_KERNEL_ACCOUNT);
		if (!peer->allowedips) {
			kmem_cache_free(mn_peer_cache, peer);
			return NULL;
		}
	}
	kref_init(&peer->ref);
	INIT_HLIST_NODE(&peer->stage_node);
	peer->n_allowedips = n_allowedips;
	return peer;
}

/* Bytes of memory @peer occupies besides its counters. */
size_t mn_peer_size(const struct mn_peer *peer)
{
	size_t n = sizeof(*peer);

	if (peer->allowedips != peer->inline_ips)
		n += peer->n_allowedips * sizeof(*peer->allowedips);
	return n;
}

static void mn_peer_release(struct kref *ref)
{
	struct mn_peer *peer = container_of(ref, struct mn_peer, ref);

	memzero_explicit(peer->psk, sizeof(peer->psk));
	mn_counters_put(peer->counters);
	if (peer->allowedips != peer->inline_ips)
		kfree(peer->allowedips);
	kmem_cache_free(mn_peer_cache, peer);
}

/* Process context only: tables are freed from a workqueue. */
void mn_peer_put(struct mn_peer *peer)
{
	if (peer)
		kref_put(&peer->ref, mn_peer_release);
}

bool mn_peer_same_prefixes(const struct mn_peer *a, const struct mn_peer *b)
{
	u16 i;

	if (a->n_allowedips != b->n_allowedips)
		return false;
	for (i = 0; i < a->n_allowedips; i++) {
		const struct mn_prefix *p = &a->allowedips[i];
		const struct mn_prefix *q = &b->allowedips[i];

		if (p->family != q->family || p->cidr != q->cidr ||
		    memcmp(&p->addr, &q->addr, sizeof(p->addr)))
			return false;
	}
	return true;
}

/*
 * @peer left the current table (writer lock held): its PSK is wiped now
 * rather than when the last snapshot holding the entry goes away. Dumps
 * read PSKs under the same lock and leave retired ones out.
 */
void mn_peer_retire_psk(struct mn_peer *peer)
{
	if (!peer->has_psk || peer->psk_retired)
		return;
	memzero_explicit(peer->psk, sizeof(peer->psk));
	peer->psk_retired = true;
}
