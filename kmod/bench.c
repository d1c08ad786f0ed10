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
 * as ns per operation: of the fastest batch of 1,000 (a shared host
 * preempts the vCPU now and then) and the mean over bench_loops. Nothing
 * else is exposed: no genl command, no write, no state changed.
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

/*
 * ns per operation (x100) of the fastest batch (robust against the vCPU
 * being preempted on a shared host) and the mean over all batches.
 */
struct mn_bench_fig {
	u64 best;
	u64 mean;
};

static void mn_bench_fig_add(struct mn_bench_fig *f, u64 ns, u64 *total)
{
	u64 per = div_u64(ns * 100, MN_BENCH_BATCH);

	if (!f->best || per < f->best)
		f->best = per;
	*total += ns;
}

static void mn_bench_lookups(struct mn_net *mn, __be32 addr, u32 loops,
			     struct mn_bench_fig *f, bool *found)
{
	struct mn_peer *last = NULL;	/* an out-of-line call: not elided */
	u64 t0, total = 0;
	u32 i, j;

	for (i = 0; i < loops; i += MN_BENCH_BATCH) {
		const struct mn_table *t;

		rcu_read_lock();
		t = rcu_dereference(mn->table);
		t0 = ktime_get_ns();
		for (j = 0; j < MN_BENCH_BATCH; j++)
			last = mn_lookup_v4(t, addr);
		mn_bench_fig_add(f, ktime_get_ns() - t0, &total);
		rcu_read_unlock();
		cond_resched();
	}
	*found = last;
	f->mean = div_u64(total * 100, max_t(u32, loops, 1));
}

/* A packet's accounting: peer counters + namespace totals. */
static void mn_bench_count(u32 loops, struct mn_bench_fig *f)
{
	struct mn_counters *c = mn_counters_new();
	struct mn_totals totals;
	u64 t0, total = 0;
	u32 i, j;

	if (!c)
		return;
	if (mn_totals_init(&totals)) {
		mn_counters_put(c);
		return;
	}
	for (i = 0; i < loops; i += MN_BENCH_BATCH) {
		t0 = ktime_get_ns();
		for (j = 0; j < MN_BENCH_BATCH; j++) {
			mn_counters_add(c, MN_RX_PASS, 1, 1280);
			mn_totals_add(&totals, MN_RX_PASS, 1, 1280);
		}
		mn_bench_fig_add(f, ktime_get_ns() - t0, &total);
		cond_resched();
	}
	f->mean = div_u64(total * 100, max_t(u32, loops, 1));
	mn_totals_free(&totals);
	mn_counters_put(c);
}

/* "NAME_ns=B.BB NAME_mean_ns=M.MM " */
static void mn_bench_put(struct seq_file *m, const char *name,
			 const struct mn_bench_fig *f)
{
	seq_printf(m, "%s_ns=%llu.%02llu %s_mean_ns=%llu.%02llu ", name,
		   f->best / 100, f->best % 100, name, f->mean / 100,
		   f->mean % 100);
}

static int mn_bench_show(struct seq_file *m, void *v)
{
	struct mn_net *mn = mn_net(current->nsproxy->net_ns);
	u32 loops = clamp_val(READ_ONCE(bench_loops), MN_BENCH_BATCH, 100000000);
	__be32 hit_addr = 0, miss_addr = htonl(0xf0000001);
	const struct mn_table *t;
	u32 n_peers, levels;
	struct mn_bench_fig hit = {}, miss = {}, count = {};
	bool hit_found = false, miss_found = false;

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
				hit_addr = p->allowedips[i].addr.v4;
				break;
			}
	}
	rcu_read_unlock();
	if (hit_addr)
		mn_bench_lookups(mn, hit_addr, loops, &hit, &hit_found);
	mn_bench_lookups(mn, miss_addr, loops, &miss, &miss_found);
	mn_bench_count(loops, &count);
	seq_printf(m, "peers=%u v4_levels=%u loops=%u ", n_peers, levels,
		   loops);
	mn_bench_put(m, "hit", &hit);
	mn_bench_put(m, "miss", &miss);
	mn_bench_put(m, "count", &count);
	seq_printf(m, "hit_found=%d miss_found=%d\n", hit_found, miss_found);
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
