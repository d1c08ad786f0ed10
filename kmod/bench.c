// SPDX-License-Identifier: GPL-2.0
/*
 * Copyright (C) 2026 The aligned-meshnet authors.
 *
 * In-module cost of the packet path's lookup, for make bench-kmod only. With
 * the module parameter bench=1 (off by default; read-only once loaded) the
 * module creates /sys/kernel/debug/meshnet/lookup (root, 0400). Reading it
 * times, in the reader's network namespace and on its current table:
 *  - hit: the IPv4 lookup of the first prefix of the peer in slot 0;
 *  - miss: the IPv4 lookup of 240.0.0.1 (reserved, in no mesh);
 *  - count: a peer's atomic counters plus the per-CPU namespace totals, on
 *    scratch copies (the real counters are not touched);
 * as ns per operation over bench_loops iterations. Nothing else is
 * exposed: no genl command, no write, no state changed.
 */

#include <linux/debugfs.h>
#include <linux/moduleparam.h>
#include <linux/nsproxy.h>
#include <linux/sched.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/timekeeping.h>
#include <net/net_namespace.h>

#include "meshnet.h"

static bool bench;
module_param(bench, bool, 0444);
MODULE_PARM_DESC(bench,
		 "Create /sys/kernel/debug/meshnet/lookup (lookup cost; benchmarks only)");

static unsigned int bench_loops = 200000;
module_param(bench_loops, uint, 0644);
MODULE_PARM_DESC(bench_loops, "Lookups per figure of the lookup benchmark");

#define MN_BENCH_BATCH 1000

static struct dentry *mn_bench_dir;

/* ns per lookup of @addr (x100) over @loops, RCU held per batch. */
static u64 mn_bench_lookups(struct mn_net *mn, __be32 addr, u32 loops,
			    bool *found)
{
	struct mn_peer *last = NULL;	/* an out-of-line call: not elided */
	u64 t0, ns = 0;
	u32 i, j;

	for (i = 0; i < loops; i += MN_BENCH_BATCH) {
		const struct mn_table *t;

		rcu_read_lock();
		t = rcu_dereference(mn->table);
		t0 = ktime_get_ns();
		for (j = 0; j < MN_BENCH_BATCH; j++)
			last = mn_lookup_v4(t, addr);
		ns += ktime_get_ns() - t0;
		rcu_read_unlock();
		cond_resched();
	}
	*found = last;
	return div_u64(ns * 100, max_t(u32, loops, 1));
}

/* ns per packet's accounting (x100): peer counters + namespace totals. */
static u64 mn_bench_count(u32 loops)
{
	struct mn_counters *c = mn_counters_new();
	struct mn_totals totals;
	u64 t0, ns = 0;
	u32 i, j;

	if (!c)
		return 0;
	if (mn_totals_init(&totals)) {
		mn_counters_put(c);
		return 0;
	}
	for (i = 0; i < loops; i += MN_BENCH_BATCH) {
		t0 = ktime_get_ns();
		for (j = 0; j < MN_BENCH_BATCH; j++) {
			mn_counters_add(c, MN_RX_PASS, 1, 1280);
			mn_totals_add(&totals, MN_RX_PASS, 1, 1280);
		}
		ns += ktime_get_ns() - t0;
		cond_resched();
	}
	mn_totals_free(&totals);
	mn_counters_put(c);
	return div_u64(ns * 100, max_t(u32, loops, 1));
}

static int mn_bench_show(struct seq_file *m, void *v)
{
	struct mn_net *mn = mn_net(current->nsproxy->net_ns);
	u32 loops = clamp_val(READ_ONCE(bench_loops), MN_BENCH_BATCH, 100000000);
	__be32 hit = 0, miss = htonl(0xf0000001);
	const struct mn_table *t;
	u32 n_peers, levels;
	bool hit_found = false, miss_found = false;
	u64 hit_ns = 0, miss_ns, count_ns;

	loops = roundup(loops, MN_BENCH_BATCH);
	rcu_read_lock();
	t = rcu_dereference(mn->table);
	n_peers = t->n_peers;
	levels = t->lpm4.n_levels;
	if (n_peers) {
		const struct mn_peer *p = mn_table_peer(t, 0);
		u16 i;

		for (i = 0; i < p->n_allowedips; i++)
			if (p->allowedips[i].family == AF_INET) {
				hit = p->allowedips[i].addr.v4;
				break;
			}
	}
	rcu_read_unlock();
	if (hit)
		hit_ns = mn_bench_lookups(mn, hit, loops, &hit_found);
	miss_ns = mn_bench_lookups(mn, miss, loops, &miss_found);
	count_ns = mn_bench_count(loops);
	seq_printf(m,
		   "peers=%u v4_levels=%u loops=%u hit_ns=%llu.%02llu hit_found=%d miss_ns=%llu.%02llu miss_found=%d count_ns=%llu.%02llu\n",
		   n_peers, levels, loops, hit_ns / 100, hit_ns % 100,
		   hit_found, miss_ns / 100, miss_ns % 100, miss_found,
		   count_ns / 100, count_ns % 100);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(mn_bench);

void mn_bench_init(void)
{
	if (!bench)
		return;
	mn_bench_dir = debugfs_create_dir("meshnet", NULL);
	debugfs_create_file("lookup", 0400, mn_bench_dir, NULL,
			    &mn_bench_fops);
}

void mn_bench_uninit(void)
{
	debugfs_remove_recursive(mn_bench_dir);
	mn_bench_dir = NULL;
}
