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

#include <linux/in.h>
#include <linux/in6.h>
#include <linux/kref.h>
#include <linux/mutex.h>
#include <linux/netfilter.h>
#include <linux/hashtable.h>
#include <linux/refcount.h>
#include <linux/u64_stats_sync.h>
#include <linux/workqueue.h>
#include <linux/meshnet.h>

#define MN_MAX_PEERS 65536
#define MN_MAX_DEVICES 16
#define MN_MAX_STAGED_BYTES (64UL << 20)
#define MN_STAGE_HASH_BITS 12
#define MN_EXPIRY_RECHECK_SECS 60

struct net;
struct net_device;
struct netlink_ext_ack;
struct genl_family;

/* Per-CPU packet counters of one peer (or the namespace totals). */
struct mn_pcpu_stats {
	u64_stats_t rx_packets;
	u64_stats_t rx_bytes;
	u64_stats_t tx_packets;
	u64_stats_t tx_bytes;
	u64_stats_t rx_drop_packets;
	u64_stats_t rx_drop_bytes;
	u64_stats_t tx_drop_packets;
	u64_stats_t tx_drop_bytes;
	u64_stats_t endpoint_drop_packets;
	struct u64_stats_sync syncp;
};

/* Summed snapshot of mn_pcpu_stats. */
struct mn_stats_sum {
	u64 rx_packets;
	u64 rx_bytes;
	u64 tx_packets;
	u64 tx_bytes;
	u64 rx_drop_packets;
	u64 rx_drop_bytes;
	u64 tx_drop_packets;
	u64 tx_drop_bytes;
	u64 endpoint_drop_packets;
};

/*
 * Counters shared by every version of a peer entry with the same public key,
 * so that they survive table swaps.
 */
struct mn_counters {
	refcount_t ref;
	struct mn_pcpu_stats __percpu *pcpu;
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
 * A peer entry. Mutable only while staged (not yet published); immutable and
 * shared (refcounted) between tables once published.
 */
struct mn_peer {
	struct kref ref;
	struct hlist_node stage_node;
	struct mn_counters *counters;
	u64 epoch;
	u8 public_key[MESHNET_KEY_LEN];
	u8 psk[MESHNET_KEY_LEN];
	union mn_sockaddr endpoint;
	char name[MESHNET_NAME_LEN];
	char reason[MESHNET_REASON_LEN];
	u8 verdict;
	bool has_psk;
	bool has_endpoint;
	u16 n_allowedips;
	struct mn_prefix allowedips[];
};

struct mn_lpm_slot {
	struct mn_peer *peer;
	union mn_addr addr;
};

/* One hash table of the prefixes of one length. */
struct mn_lpm_level {
	struct mn_lpm_slot *slots;
	u32 mask;
	u8 cidr;
};

/* Longest-prefix match of one address family: levels sorted longest first. */
struct mn_lpm {
	u32 n_levels;
	struct mn_lpm_level levels[129];
};

/* An immutable verdict table, published through mn_net::table. */
struct mn_table {
	struct kref ref;
	struct rcu_work free_work;
	u64 epoch_id;
	u64 epoch_expiry;
	u64 generation;
	u32 seed;
	u32 key_mask;
	u32 *key_index;		/* peer index + 1, 0 = empty slot */
	u32 ep_mask;
	struct mn_peer **ep_slots;	/* DENIED peers with an endpoint */
	struct mn_lpm lpm4;
	struct mn_lpm lpm6;
	u32 n_peers;
	struct mn_peer *peers[];
};

struct mn_devices {
	struct rcu_head rcu;
	u32 count;
	int ifindex[];
};

/* The open epoch transaction of a namespace. */
struct mn_txn {
	u32 owner_portid;
	u64 epoch_id;
	u64 expiry;
	u32 n_peers;
	size_t bytes;		/* staged peer memory, capped */
	DECLARE_HASHTABLE(peers, MN_STAGE_HASH_BITS);
};

struct mn_net {
	struct net *net;
	struct mutex lock;	/* serialises writers, see top of file */
	struct mn_table __rcu *table;
	struct mn_devices __rcu *devices;
	struct mn_txn *txn;
	struct mn_counters *totals;
	struct delayed_work expiry_work;
	struct nf_hook_ops hook_ops[6];
	bool hooks_registered;
	u64 generation;
	/* read by the packet path */
	u8 self_verdict;
	u8 policy_unknown;
	u8 fail_closed;
	u8 endpoint_drop;
	u8 expired;
	u32 grace;
	char self_reason[MESHNET_REASON_LEN];
};

extern unsigned int mn_net_id;
extern struct workqueue_struct *mn_wq;
extern struct genl_family mn_genl_family;

struct mn_net *mn_net(const struct net *net);

/* netns.c */
int mn_netns_init(void);
void mn_netns_uninit(void);

/* peer.c */
struct mn_counters *mn_counters_new(void);
void mn_counters_put(struct mn_counters *c);
void mn_counters_add(struct mn_counters *c, enum mn_count_kind kind,
		     unsigned int len);
void mn_counters_sum(const struct mn_counters *c, struct mn_stats_sum *sum);
void mn_counters_reset(struct mn_counters *c);
struct mn_peer *mn_peer_alloc(u16 n_allowedips);
void mn_peer_put(struct mn_peer *peer);
static inline struct mn_peer *mn_peer_get(struct mn_peer *peer)
{
	kref_get(&peer->ref);
	return peer;
}

/* table.c */
struct mn_table *mn_table_build(struct mn_peer **peers, u32 n, u64 epoch_id,
				u64 expiry, struct netlink_ext_ack *extack);
void mn_table_put(struct mn_table *table);
struct mn_table *mn_table_get(struct mn_table *table);
void mn_table_publish(struct mn_net *mn, struct mn_table *table);
struct mn_table *mn_table_current(struct mn_net *mn);
int mn_table_set_peer(struct mn_net *mn, struct mn_peer *peer,
		      struct netlink_ext_ack *extack);
int mn_table_del_peer(struct mn_net *mn, const u8 *key,
		      struct netlink_ext_ack *extack);

/* lookup.c */
int mn_lpm_build(struct mn_table *t, struct netlink_ext_ack *extack);
void mn_lpm_free(struct mn_table *t);
struct mn_peer *mn_lookup_v4(const struct mn_table *t, __be32 addr);
struct mn_peer *mn_lookup_v6(const struct mn_table *t,
			     const struct in6_addr *addr);
int mn_key_index_build(struct mn_table *t, struct netlink_ext_ack *extack);
struct mn_peer *mn_lookup_key(const struct mn_table *t, const u8 *key);
int mn_endpoint_index_build(struct mn_table *t);
struct mn_peer *mn_lookup_endpoint(const struct mn_table *t, u16 family,
				   const union mn_addr *addr, __be16 port);

/* hooks.c */
int mn_hooks_register(struct mn_net *mn);
void mn_hooks_unregister(struct mn_net *mn);

/* device.c */
int mn_device_attach(struct mn_net *mn, int ifindex, const char *ifname,
		     struct netlink_ext_ack *extack);
int mn_device_detach(struct mn_net *mn, int ifindex, const char *ifname,
		     struct netlink_ext_ack *extack);
bool mn_device_attached(const struct mn_net *mn, int ifindex);
int mn_device_notifier_register(void);
void mn_device_notifier_unregister(void);

/* epoch.c */
int mn_epoch_begin(struct mn_net *mn, u32 portid, u64 epoch_id, u64 expiry,
		   bool force, struct netlink_ext_ack *extack);
int mn_epoch_stage(struct mn_net *mn, u32 portid, struct mn_peer **peers,
		   u32 n, struct netlink_ext_ack *extack);
int mn_epoch_commit(struct mn_net *mn, u32 portid, u64 epoch_id,
		    const u8 *self_verdict, const char *self_reason,
		    struct netlink_ext_ack *extack);
int mn_epoch_abort(struct mn_net *mn, u32 portid, const u64 *epoch_id,
		   struct netlink_ext_ack *extack);
void mn_txn_free(struct mn_txn *txn);
void mn_expiry_rearm(struct mn_net *mn);
void mn_expiry_work(struct work_struct *work);
int mn_netlink_notifier_register(void);
void mn_netlink_notifier_unregister(void);

/* netlink.c */
int mn_genl_register(void);
void mn_genl_unregister(void);
void mn_notify_verdict(struct mn_net *mn, u64 epoch_id,
		       const struct mn_peer *peer);
void mn_notify_self(struct mn_net *mn, u64 epoch_id);
void mn_notify_epoch(struct mn_net *mn, const struct mn_table *t);
void mn_notify_expired(struct mn_net *mn, const struct mn_table *t);
bool mn_has_listeners(struct mn_net *mn);

#endif /* _MESHNET_H */
