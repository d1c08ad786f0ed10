/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Copyright (C) 2026 The aligned-meshnet authors.
 *
 * Internal state of meshnet.ko. Locking model (WireGuard style):
 *  - mn_net::lock (mutex) serialises every writer of a namespace: genl
 *    commands, the netdevice and netlink notifiers and the expiry work.
 *  - mn_net::table and mn_net::devices are RCU pointers to immutable
 *    objects; the packet path only reads them under RCU, never locks.
 *  - Scalar policy fields read by the packet path use READ_ONCE/WRITE_ONCE.
 */

#ifndef _MESHNET_H
#define _MESHNET_H

#include <linux/atomic.h>
#include <linux/in.h>
#include <linux/in6.h>
#include <linux/kref.h>
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/netfilter.h>
#include <linux/hashtable.h>
#include <linux/refcount.h>
#include <linux/u64_stats_sync.h>
#include <linux/workqueue.h>
#include <linux/meshnet.h>

#define MN_MAX_PEERS 262144
#define MN_MAX_DELTA 65536
#define MN_MAX_DEVICES 16
#define MN_MAX_STAGED_BYTES (160UL << 20)
#define MN_TXN_IDLE_SECS 30
#define MN_STAGE_HASH_BITS 12
#define MN_EXPIRY_RECHECK_SECS 60

struct net;
struct sock;
struct net_device;
struct netlink_ext_ack;
struct genl_family;

enum mn_counter {
	MN_C_RX_PACKETS,
	MN_C_RX_BYTES,
	MN_C_TX_PACKETS,
	MN_C_TX_BYTES,
	MN_C_RX_DROP_PACKETS,
	MN_C_RX_DROP_BYTES,
	MN_C_TX_DROP_PACKETS,
	MN_C_TX_DROP_BYTES,
	MN_C_ENDPOINT_DROP_PACKETS,
	MN_C_COUNT
};

/* Per-CPU packet counters of the namespace totals (enum mn_counter). */
struct mn_pcpu_stats {
	u64_stats_t c[MN_C_COUNT];
	struct u64_stats_sync syncp;
};

/* Summed snapshot of counters. */
struct mn_stats_sum {
	u64 c[MN_C_COUNT];
};

/*
 * Counters of one peer, shared by every version of its entry (same public
 * key), so that they survive table swaps and deltas. Plain atomics: the size
 * per peer does not depend on the number of CPUs (72 bytes), and a reset is
 * an atomic store, safe against concurrent packets on any CPU.
 */

struct mn_counters {
	atomic64_t c[MN_C_COUNT];
	refcount_t ref;
};

/* The namespace totals: per-CPU (one per namespace), reset by baseline. */
struct mn_totals {
	struct mn_pcpu_stats __percpu *pcpu;
	struct mn_stats_sum base;	/* subtracted on read; writer lock */
};

enum mn_count_kind {
	MN_RX_PASS,
	MN_TX_PASS,
	MN_RX_DROP,
	MN_TX_DROP,
	MN_ENDPOINT_DROP,
};

union mn_addr {
	__be32 v4;
	struct in6_addr v6;
};

struct mn_prefix {
	union mn_addr addr;
	u16 family;
	u8 cidr;
};

union mn_sockaddr {
	struct sockaddr sa;
	struct sockaddr_in sin;
	struct sockaddr_in6 sin6;
};

/*
 * A peer entry, from the zeroing slab cache "meshnet_peer" (SLAB_ACCOUNT,
 * cache-line aligned). Mutable only while staged (not yet published);
 * immutable and shared (refcounted) between tables once published. The
 * fields the packet path reads come first, on the entry's first cache line;
 * strings and the PSK follow. Up to MN_INLINE_PREFIXES prefixes live in the
 * entry, more in a separate array.
 */
#define MN_INLINE_PREFIXES 2

struct mn_peer {
	/* read by the packet path */
	u8 verdict;
	bool has_psk;
	bool has_endpoint;
	bool psk_retired;	/* left the current table: psk wiped (lock) */
	u16 n_allowedips;
	struct mn_counters *counters;
	/* writers, dumps */
	struct mn_prefix *allowedips;	/* inline_ips or an own array */
	struct kref ref;
	struct hlist_node stage_node;
	u64 epoch;
	u8 public_key[MESHNET_KEY_LEN];
	union mn_sockaddr endpoint;
	char name[MESHNET_NAME_LEN];
	char reason[MESHNET_REASON_LEN];
	u8 psk[MESHNET_KEY_LEN];
	struct mn_prefix inline_ips[MN_INLINE_PREFIXES];
};

/*
 * Copy-on-write chunked array (vec.c). A table's index arrays are split into
 * 4 KiB refcounted chunks; a new table version copies the directory (one
 * pointer per chunk) and only the chunks it writes, so a change of k entries
 * costs O(k) chunk copies plus a directory copy of n / 512 pointers. A chunk
 * tagged with the generation of the table being built is private to it and
 * written in place.
 */
#define MN_CHUNK_BYTES 4096

struct mn_chunk {
	refcount_t ref;
	u64 gen;
	u8 data[MN_CHUNK_BYTES] __aligned(8);
};

enum mn_vec_kind {
	MN_VEC_PEERS,	/* struct mn_peer *, each holding a reference */
	MN_VEC_KEYS,	/* u32: peer slot + 1, 0 = empty */
	MN_VEC_LPM4,	/* struct mn_lpm_slot4 */
	MN_VEC_LPM6,	/* struct mn_lpm_slot6 */
};

struct mn_vec {
	struct mn_chunk **dir;
	u32 n_chunks;
	u8 shift;	/* log2(elements per chunk) */
	u8 esize;
	u8 kind;	/* enum mn_vec_kind */
};

/* Prefix slots; idx: peer slot + 1, 0 = empty. */
struct mn_lpm_slot4 {
	__be32 addr;
	u32 idx;
};

struct mn_lpm_slot6 {
	struct in6_addr addr;
	u32 idx;
};

/* One open-addressing hash table of the prefixes of one length. */
struct mn_lpm_level {
	struct mn_vec slots;
	u32 mask;
	u32 count;
	u8 cidr;
};

/*
 * Longest-prefix match of one address family: levels sorted longest first,
 * in an array private to the table version (copied by a clone: a few dozen
 * bytes per prefix length present).
 */
struct mn_lpm {
	struct mn_lpm_level *levels;
	u32 n_levels;
	u32 cap;
};

/*
 * A verdict table, immutable once published through mn_net::table. Besides
 * the peers it carries everything a packet or a reader must see together
 * with them: epoch, revision, validity and the local node's verdict.
 */
struct mn_table {
	/* read by the packet path: the first cache line */
	struct mn_lpm lpm4;
	struct mn_lpm lpm6;
	struct mn_vec peers;	/* slot -> peer, slots 0..n_peers-1 used */
	u64 valid_until_boot;	/* boottime ns; U64_MAX: no deadline */
	u8 self_verdict;
	/* read by the underlay hook (endpoint.c) */
	u32 n_denied_eps;	/* DENIED peers with an endpoint */
	u32 ep_mask;
	struct mn_vec eps;	/* endpoint hash -> slot + 1; dir NULL: none */
	/* writers and readers under the lock or a reference */
	u32 n_eps;		/* peers with an endpoint */
	u32 n_peers;
	u32 seed;
	u32 key_mask;
	struct mn_vec keys;	/* public key hash -> slot + 1 */
	struct kref ref;
	struct rcu_work free_work;
	u64 epoch_id;
	u64 epoch_expiry;
	u64 valid_until;	/* unix seconds */
	u64 revision;
	u64 generation;
	char self_reason[MESHNET_REASON_LEN];
};

struct mn_devices {
	struct rcu_head rcu;
	u32 count;
	int ifindex[];
};

/* The open epoch transaction of a namespace. */
struct mn_txn {
	struct sock *owner;	/* the socket that began it (not a reference) */
	u32 owner_portid;
	u64 epoch_id;
	u64 expiry;
	u64 valid_until;
	u64 revision;
	unsigned long deadline;	/* jiffies: aborted when idle past this */
	u32 n_peers;
	size_t bytes;		/* staged peer memory, capped */
	DECLARE_HASHTABLE(peers, MN_STAGE_HASH_BITS);
};

/* A verdict change to multicast once the writer lock is dropped. */
struct mn_notice {
	struct list_head node;
	struct mn_peer *peer;	/* reference; NULL: the local verdict */
	u64 epoch_id;
	u64 revision;		/* of the table that made the change */
	u8 self_verdict;
	char self_reason[MESHNET_REASON_LEN];
};

struct mn_net {
	/* read by the packet path: the first cache line (totals.pcpu last) */
	struct mn_table __rcu *table;
	struct mn_devices __rcu *devices;
	u64 grace_ns;
	u8 policy_unknown;
	u8 fail_closed;
	u8 endpoint_drop;
	struct mn_totals totals;	/* pcpu hot; base written by writers */
	/* writers */
	struct mutex lock ____cacheline_aligned_in_smp;	/* see top of file */
	struct net *net;
	struct mn_txn *txn;
	struct delayed_work expiry_work;
	struct delayed_work txn_work;
	struct nf_hook_ops hook_ops[4];
	bool hooks_registered;
	u8 expired_notified;	/* EXPIRED_NOTIFY sent for the current table */
	u32 grace;
	u64 generation;
};

extern unsigned int mn_net_id;
extern struct workqueue_struct *mn_wq;
extern struct genl_family mn_genl_family;

struct mn_net *mn_net(const struct net *net);

/* netns.c */
int mn_netns_init(void);
void mn_netns_uninit(void);

/* peer.c */
int mn_peer_cache_init(void);
void mn_peer_cache_uninit(void);
struct mn_counters *mn_counters_new(void);
void mn_counters_put(struct mn_counters *c);
static inline void mn_counters_add(struct mn_counters *c,
				   enum mn_count_kind kind, unsigned int pkts,
				   unsigned int len)
{
	switch (kind) {
	case MN_RX_PASS:
		atomic64_add(pkts, &c->c[MN_C_RX_PACKETS]);
		atomic64_add(len, &c->c[MN_C_RX_BYTES]);
		break;
	case MN_TX_PASS:
		atomic64_add(pkts, &c->c[MN_C_TX_PACKETS]);
		atomic64_add(len, &c->c[MN_C_TX_BYTES]);
		break;
	case MN_RX_DROP:
		atomic64_add(pkts, &c->c[MN_C_RX_DROP_PACKETS]);
		atomic64_add(len, &c->c[MN_C_RX_DROP_BYTES]);
		break;
	case MN_TX_DROP:
		atomic64_add(pkts, &c->c[MN_C_TX_DROP_PACKETS]);
		atomic64_add(len, &c->c[MN_C_TX_DROP_BYTES]);
		break;
	case MN_ENDPOINT_DROP:
		atomic64_add(pkts, &c->c[MN_C_ENDPOINT_DROP_PACKETS]);
		break;
	}
}

void mn_counters_sum(const struct mn_counters *c, struct mn_stats_sum *sum);
void mn_counters_reset(struct mn_counters *c);
int mn_totals_init(struct mn_totals *t);
void mn_totals_free(struct mn_totals *t);
void mn_totals_add(struct mn_totals *t, enum mn_count_kind kind,
		   unsigned int pkts, unsigned int len);
void mn_totals_sum(const struct mn_totals *t, struct mn_stats_sum *sum);
void mn_totals_reset(struct mn_totals *t);
struct mn_peer *mn_peer_alloc(u16 n_allowedips);
size_t mn_peer_size(const struct mn_peer *peer);
void mn_peer_put(struct mn_peer *peer);
static inline struct mn_peer *mn_peer_get(struct mn_peer *peer)
{
	kref_get(&peer->ref);
	return peer;
}

bool mn_peer_same_prefixes(const struct mn_peer *a, const struct mn_peer *b);
void mn_peer_retire_psk(struct mn_peer *peer);

/* vec.c */
int mn_chunk_cache_init(void);
void mn_chunk_cache_uninit(void);
int mn_vec_alloc(struct mn_vec *v, enum mn_vec_kind kind, u32 n, u64 gen);
int mn_vec_clone(struct mn_vec *dst, const struct mn_vec *src);
int mn_vec_grow(struct mn_vec *v, u32 n, u64 gen);
void mn_vec_free(struct mn_vec *v);
void *mn_vec_wr(struct mn_vec *v, u32 i, u64 gen);
static inline void *mn_vec_at(const struct mn_vec *v, u32 i)
{
	return v->dir[i >> v->shift]->data +
	       (size_t)(i & ((1U << v->shift) - 1)) * v->esize;
}

static inline u32 mn_vec_capacity(const struct mn_vec *v)
{
	return v->n_chunks << v->shift;
}

/* table.c */
struct mn_table *mn_table_new(struct mn_net *mn, u32 n_hint);
struct mn_table *mn_table_clone(struct mn_net *mn, const struct mn_table *old);
void mn_table_discard(struct mn_table *t);
void mn_table_put(struct mn_table *table);
struct mn_table *mn_table_get(struct mn_table *table);
void mn_table_publish(struct mn_net *mn, struct mn_table *table);
struct mn_table *mn_table_current(struct mn_net *mn);
static inline struct mn_peer *mn_table_peer(const struct mn_table *t, u32 slot)
{
	return *(struct mn_peer **)mn_vec_at(&t->peers, slot);
}

int mn_table_insert(struct mn_table *t, struct mn_peer *peer,
		    struct netlink_ext_ack *extack);
int mn_table_remove(struct mn_table *t, u32 slot);
int mn_table_replace(struct mn_table *t, u32 slot, struct mn_peer *peer);
void mn_table_set_validity(struct mn_table *t, u64 valid_until);
bool mn_table_expired(const struct mn_net *mn, const struct mn_table *t);

/* lookup.c */
int mn_lpm_insert(struct mn_table *t, const struct mn_prefix *p, u32 idx,
		  struct netlink_ext_ack *extack);
int mn_lpm_remove(struct mn_table *t, const struct mn_prefix *p);
int mn_lpm_set_idx(struct mn_table *t, const struct mn_prefix *p, u32 idx);
int mn_lpm_reserve(struct mn_table *t, u16 family, u8 cidr, u32 n);
void mn_lpm_free(struct mn_table *t);
int mn_lpm_clone(struct mn_table *t, const struct mn_table *old);
struct mn_peer *mn_lookup_v4(const struct mn_table *t, __be32 addr);
struct mn_peer *mn_lookup_v6(const struct mn_table *t,
			     const struct in6_addr *addr);
int mn_key_reserve(struct mn_table *t, u32 n);
int mn_key_insert(struct mn_table *t, const u8 *key, u32 idx);
int mn_key_remove(struct mn_table *t, const u8 *key);
int mn_key_set_idx(struct mn_table *t, const u8 *key, u32 idx);
s32 mn_lookup_slot(const struct mn_table *t, const u8 *key);
struct mn_peer *mn_lookup_key(const struct mn_table *t, const u8 *key);

/* endpoint.c */
int mn_ep_reserve(struct mn_table *t, u32 n);
int mn_ep_insert(struct mn_table *t, u32 slot);
int mn_ep_remove(struct mn_table *t, u32 slot);
int mn_ep_move(struct mn_table *t, u32 from, u32 to);
struct mn_peer *mn_lookup_denied_ep(const struct mn_table *t,
				    const union mn_sockaddr *ep);

/* hooks.c */
int mn_hooks_register(struct mn_net *mn);
void mn_hooks_unregister(struct mn_net *mn);

/* device.c */
int mn_device_attach(struct mn_net *mn, int ifindex, const char *ifname,
		     struct netlink_ext_ack *extack);
int mn_device_detach(struct mn_net *mn, int ifindex, const char *ifname,
		     struct netlink_ext_ack *extack);
bool mn_device_attached(const struct mn_net *mn, int ifindex);
bool mn_device_owns_sock(const struct mn_net *mn, struct net *net,
			 const struct sock *sk);
int mn_device_notifier_register(void);
void mn_device_notifier_unregister(void);

/* epoch.c */
struct mn_epoch_args {
	u64 epoch_id;
	u64 expiry;
	u64 valid_until;
	u64 revision;
	bool force;
};

int mn_epoch_begin(struct mn_net *mn, struct sock *sk, u32 portid,
		   const struct mn_epoch_args *args,
		   struct netlink_ext_ack *extack);
int mn_epoch_stage(struct mn_net *mn, struct sock *sk, u32 portid,
		   struct mn_peer **peers, u32 n,
		   struct netlink_ext_ack *extack);
int mn_epoch_commit(struct mn_net *mn, struct sock *sk, u32 portid,
		    u64 epoch_id, const u8 *self_verdict,
		    const char *self_reason, struct list_head *notices,
		    struct netlink_ext_ack *extack);
int mn_epoch_abort(struct mn_net *mn, struct sock *sk, u32 portid,
		   const u64 *epoch_id, struct netlink_ext_ack *extack);
void mn_txn_free(struct mn_txn *txn);
void mn_txn_work(struct work_struct *work);
void mn_expiry_rearm(struct mn_net *mn);
void mn_expiry_work(struct work_struct *work);
int mn_netlink_notifier_register(void);
void mn_netlink_notifier_unregister(void);
int mn_counters_resolve(const struct mn_table *old, struct mn_peer *peer);

/* delta.c */
#define MN_DELTA_UPSERT 0
#define MN_DELTA_VERDICT 1
#define MN_DELTA_REMOVE 2

struct mn_delta_entry {
	struct mn_peer *peer;	/* UPSERT; VERDICT: key, verdict, reason */
	struct mn_peer *repl;	/* VERDICT: the entry that replaces it */
	u8 kind;
	u8 prev_verdict;
	bool existed;
	bool same_prefixes;
};

struct mn_delta {
	u64 revision;
	const u64 *epoch_id;
	const u64 *valid_until;
	const u8 *self_verdict;
	const char *self_reason;
	bool force;
	u32 n;
	struct mn_delta_entry *e;
};

int mn_delta_apply(struct mn_net *mn, const struct mn_delta *d,
		   struct list_head *notices, struct netlink_ext_ack *extack);
int mn_notice_peer(struct list_head *notices, const struct mn_table *t,
		   struct mn_peer *peer);
int mn_notice_self(struct list_head *notices, const struct mn_table *t);

/* bench.c: /sys/kernel/debug/meshnet/lookup with bench=1 only */
void mn_bench_init(void);
void mn_bench_uninit(void);

/* netlink.c */
int mn_genl_register(void);
void mn_genl_unregister(void);
void mn_notify_send_all(struct mn_net *mn, struct list_head *notices);
void mn_notify_epoch(struct mn_net *mn, const struct mn_table *t);
void mn_notify_expired(struct mn_net *mn, const struct mn_table *t);
bool mn_has_listeners(struct mn_net *mn);

#endif /* _MESHNET_H */
