/* SPDX-License-Identifier: (GPL-2.0 WITH Linux-syscall-note) OR MIT */
/*
 * Copyright (C) 2026 The aligned-meshnet authors.
 *
 * Documentation
 * =============
 *
 * The "meshnet" generic netlink family enforces mesh membership verdicts on
 * WireGuard devices. State is per network namespace: a verdict table of peers
 * (keyed by WireGuard public key), the current epoch, a policy and the set of
 * WireGuard devices the table is enforced on. Every command needs
 * CAP_NET_ADMIN over the namespace, i.e. in the user namespace that owns it
 * (GENL_UNS_ADMIN_PERM, as WireGuard): every allocation a request causes is
 * charged to the caller's memory cgroup and capped before it is made.
 * Rejected requests carry an extended-ack message naming the problem.
 *
 * What changed in the second version of the module (same family version 1;
 * every v1 command and attribute keeps its meaning unless said here):
 *  - MESHNET_CMD_APPLY_DELTA applies k peer changes in O(k), atomically.
 *  - The table carries the control plane's revision (MESHNET_A_REVISION)
 *    and a validity deadline (MESHNET_A_VALID_UNTIL) besides the epoch.
 *    The dead man's switch keys off the validity (default: the epoch
 *    expiry) and is checked by the packet path itself on the boottime
 *    clock, so it also holds right after a suspend.
 *  - The local verdict is published inside the table: a commit or delta
 *    that changes peers and the local verdict is seen by packets at once.
 *  - Joining the multicast group needs CAP_NET_ADMIN in the namespace's
 *    user namespace (GENL_MCAST_CAP_NET_ADMIN).
 *  - Outer endpoint drop (MESHNET_A_POLICY_ENDPOINT_DROP 1, off by
 *    default) drops a DENIED peer's encrypted packets before WireGuard
 *    decrypts them. v1's version hooked the namespace of the WireGuard
 *    device whatever the namespace of its UDP socket, matched no listen
 *    port, ran on every device and before defragmentation. Now: a received
 *    UDP datagram (PRE_ROUTING, after defragmentation, on any device of the
 *    namespace but the attached ones) is dropped when its source address
 *    and port are the MESHNET_PEER_A_ENDPOINT of a DENIED peer, no peer
 *    that is not DENIED has that endpoint, and its destination is the UDP
 *    socket of an attached WireGuard device in this namespace (looked up
 *    like the UDP receive path does: the device's listen port, whatever it
 *    is now). It is counted in the peer's
 *    MESHNET_COUNTER_A_ENDPOINT_DROP_PACKETS and the totals. The endpoint
 *    index is part of the table: an endpoint belongs to its peer's entry and
 *    changes, moves and goes with it, atomically with the verdicts. The
 *    inner drop stays: a DENIED peer sending from an endpoint it was not
 *    given (roaming, NAT rebinding), a device whose socket is in another
 *    namespace (moved after creation) and non-first fragments are dropped
 *    after decryption as before. Enable it only where endpoints are current:
 *    an ALLOWED peer that takes over a DENIED peer's old endpoint (the NAT
 *    gives the mapping to another host) is dropped before WireGuard sees it
 *    until the module learns the new endpoint (the ALLOWED peer's entry
 *    with that endpoint lifts the drop) or the DENIED peer's entry changes.
 *    MESHNET_PEER_A_ENDPOINT must be a struct sockaddr_in or
 *    sockaddr_in6 of its exact size with a non-zero port (-EINVAL
 *    otherwise); only the family, address and port are compared.
 *  - Peer counters are per peer (not per CPU): MESHNET_COUNTER_A_* of a GSO
 *    packet count its segments.
 *  - An epoch transaction idle for 30 s (module parameter txn_idle_secs)
 *    is aborted; its owner is the socket that began it.
 *  - Commands need CAP_NET_ADMIN over the namespace (GENL_UNS_ADMIN_PERM)
 *    instead of in the initial user namespace.
 *  - The PSKs of entries that leave the current table are wiped at once; a
 *    dump still reading an older snapshot reports HAS_PSK without the key.
 *    PSK attributes are wiped in the request skb once parsed, also when
 *    the request fails or its attributes are refused: EPOCH_SET_PEERS,
 *    SET_PEER and APPLY_DELTA are validated by the handler (strictly,
 *    against the same policies), not by the genl core, so `genl ctrl
 *    policy` shows no policy for these three. A dump with
 *    MESHNET_A_SHOW_PSK puts keys into netlink skbs that the netlink core
 *    frees unwiped (as WireGuard's private key in WG_CMD_GET_DEVICE);
 *    without SHOW_PSK no dump skb carries a key.
 *  - Peer entries come from a zeroing, memcg-accounted slab cache
 *    ("meshnet_peer"); their PSK is wiped before they are freed.
 *  - Notifications are sent after the change, outside the writer lock, and
 *    batched: one datagram carries as many messages as fit. Every
 *    notification carries MESHNET_A_REVISION.
 *  - The netfilter hooks are registered with a namespace's first attached
 *    device and unregistered with its last: a namespace with nothing
 *    attached costs its packets nothing.
 *
 * MESHNET_CMD_GET_STATE
 * ---------------------
 *
 * No attributes. Replies with:
 *
 *    MESHNET_A_EPOCH_ID: NLA_U64, 0 before the first epoch
 *    MESHNET_A_EPOCH_EXPIRY: NLA_U64, unix seconds (CLOCK_REALTIME)
 *    MESHNET_A_REVISION: NLA_U64, control-plane revision of the table
 *                        (0 until an epoch or delta carried one)
 *    MESHNET_A_VALID_UNTIL: NLA_U64, unix seconds; the table is enforced
 *                           until then plus the grace period
 *    MESHNET_A_EXPIRED: NLA_U8, 1 when the dead man's switch has tripped
 *    MESHNET_A_SELF_VERDICT: NLA_U8, enum meshnet_verdict
 *    MESHNET_A_SELF_REASON: NLA_NUL_STRING (optional)
 *    MESHNET_A_POLICY_UNKNOWN: NLA_U8, enum meshnet_unknown_policy
 *    MESHNET_A_POLICY_FAIL_CLOSED: NLA_U8, 0 or 1
 *    MESHNET_A_POLICY_GRACE: NLA_U32, seconds past expiry before failing closed
 *    MESHNET_A_POLICY_ENDPOINT_DROP: NLA_U8, 0 or 1 (outer endpoint drop)
 *    MESHNET_A_PEER_COUNT: NLA_U32
 *    MESHNET_A_TXN_EPOCH_ID: NLA_U64, only while a transaction is open
 *    MESHNET_A_TXN_PEER_COUNT: NLA_U32, only while a transaction is open
 *    MESHNET_A_DEVICES: NLA_NESTED
 *        0: NLA_NESTED
 *            MESHNET_DEVICE_A_IFINDEX: NLA_U32
 *            MESHNET_DEVICE_A_IFNAME: NLA_NUL_STRING
 *        1: NLA_NESTED
 *            ...
 *    MESHNET_A_COUNTERS: NLA_NESTED, totals over all peers plus unknown
 *                        and self-denied traffic (MESHNET_COUNTER_A_*)
 *    MESHNET_A_HOOKS: NLA_U8, 1 while the namespace's netfilter hooks are
 *                     registered (from the first attached device to the
 *                     last)
 *
 * MESHNET_CMD_ATTACH / MESHNET_CMD_DETACH
 * ---------------------------------------
 *
 * Start or stop enforcing on a WireGuard device of this namespace. Several
 * devices may be attached. Exactly one of:
 *
 *    MESHNET_A_IFINDEX: NLA_U32
 *    MESHNET_A_IFNAME: NLA_NUL_STRING, maximum len of IFNAMSIZ - 1
 *
 * Attaching a non-WireGuard device fails with -EOPNOTSUPP, attaching twice
 * with -EEXIST, detaching a device not attached with -ENOENT. A device that
 * is unregistered is detached automatically.
 *
 * MESHNET_CMD_SET_POLICY
 * ----------------------
 *
 * Any subset of:
 *
 *    MESHNET_A_POLICY_UNKNOWN: NLA_U8, enum meshnet_unknown_policy
 *    MESHNET_A_POLICY_FAIL_CLOSED: NLA_U8, 0 or 1
 *    MESHNET_A_POLICY_GRACE: NLA_U32, 0..MESHNET_GRACE_MAX seconds
 *    MESHNET_A_POLICY_ENDPOINT_DROP: NLA_U8, 0 or 1: drop a DENIED peer's
 *                                    UDP datagrams from its endpoint to an
 *                                    attached device before decryption
 *                                    (see above; default 0)
 *
 * MESHNET_CMD_SET_SELF
 * --------------------
 *
 *    MESHNET_A_SELF_VERDICT: NLA_U8, enum meshnet_verdict (required)
 *    MESHNET_A_SELF_REASON: NLA_NUL_STRING, max MESHNET_REASON_LEN - 1
 *
 * A DENIED local node drops all traffic on its attached devices.
 *
 * MESHNET_CMD_EPOCH_BEGIN
 * -----------------------
 *
 *    MESHNET_A_EPOCH_ID: NLA_U64, required, non-zero, greater than the
 *                        current epoch unless MESHNET_A_EPOCH_FORCE is given
 *    MESHNET_A_EPOCH_EXPIRY: NLA_U64, required, unix seconds
 *    MESHNET_A_EPOCH_FORCE: NLA_FLAG, allow an epoch id not newer than the
 *                           current one (controller state was reset)
 *    MESHNET_A_VALID_UNTIL: NLA_U64, optional, unix seconds; default: the
 *                           expiry. The dead man's switch trips at
 *                           VALID_UNTIL + MESHNET_A_POLICY_GRACE.
 *    MESHNET_A_REVISION: NLA_U64, optional, non-zero; the revision the
 *                        epoch's table reflects (not older than the
 *                        current one unless FORCE); default: unchanged
 *
 * Opens the namespace's epoch transaction, owned by the sending socket.
 * Fails with -EBUSY if another socket owns an open transaction; a
 * transaction is aborted when its owner socket is closed. Beginning again
 * from the owning socket discards what was staged.
 *
 * MESHNET_CMD_EPOCH_SET_PEERS
 * ---------------------------
 *
 * Stages peers into the open transaction (may be sent many times; a peer
 * key staged twice is -EEXIST):
 *
 *    MESHNET_A_PEERS: NLA_NESTED
 *        0: NLA_NESTED, a peer (see below)
 *        1: NLA_NESTED
 *            ...
 *
 * MESHNET_CMD_EPOCH_COMMIT
 * ------------------------
 *
 *    MESHNET_A_EPOCH_ID: NLA_U64, required, must match the open transaction
 *    MESHNET_A_SELF_VERDICT: NLA_U8 (optional)
 *    MESHNET_A_SELF_REASON: NLA_NUL_STRING (optional)
 *
 * Atomically replaces the whole peer table, the epoch, revision, validity
 * and (if given) the local verdict: packet-path readers see the old table or
 * the new one, never a mix. Counters of peers present in both tables carry
 * over (counters are allocated only for new keys). Clears the expired state.
 * Multicasts (after the change, outside the writer lock) one
 * MESHNET_CMD_VERDICT_NOTIFY per peer whose verdict changed, then
 * MESHNET_CMD_EPOCH_NOTIFY.
 *
 * MESHNET_CMD_APPLY_DELTA
 * -----------------------
 *
 * Applies k changes to the current table in O(k) (the table is not rebuilt:
 * only the index chunks holding the changed entries are copied), with the
 * guarantees of a commit: all or nothing, one RCU swap, a running dump keeps
 * its snapshot. No transaction is needed (and an open one is unaffected).
 *
 *    MESHNET_A_REVISION: NLA_U64, required, non-zero, greater than the
 *                        current revision; equal is accepted only for a
 *                        delta without peer or self changes (a validity
 *                        renewal); -ESTALE otherwise
 *    MESHNET_A_EPOCH_FORCE: NLA_FLAG, accept any revision
 *    MESHNET_A_EPOCH_ID: NLA_U64, optional: must be the current epoch
 *                        (-ESTALE otherwise); the delta keeps the epoch
 *    MESHNET_A_VALID_UNTIL: NLA_U64, optional, unix seconds: new validity
 *    MESHNET_A_SELF_VERDICT: NLA_U8, optional, new local verdict
 *    MESHNET_A_SELF_REASON: NLA_NUL_STRING, optional, with SELF_VERDICT
 *    MESHNET_A_REMOVE_PEERS: NLA_NESTED, peers to remove (must exist):
 *        0: NLA_NESTED
 *            MESHNET_PEER_A_PUBLIC_KEY: NLA_EXACT_LEN, 32 bytes
 *        1: NLA_NESTED
 *            ...
 *    MESHNET_A_VERDICT_PEERS: NLA_NESTED, verdict changes of existing
 *                             peers (must exist); prefixes, endpoint, PSK
 *                             and name are kept, the reason is replaced
 *                             (absent: cleared):
 *        0: NLA_NESTED
 *            MESHNET_PEER_A_PUBLIC_KEY: NLA_EXACT_LEN, 32 bytes
 *            MESHNET_PEER_A_VERDICT: NLA_U8
 *            MESHNET_PEER_A_REASON: NLA_NUL_STRING (optional)
 *        1: NLA_NESTED
 *            ...
 *    MESHNET_A_PEERS: NLA_NESTED, whole peers (the EPOCH_SET_PEERS layout):
 *                     a new key is added, an existing key's entry replaced
 *
 * Each of the three lists may be given as several attributes of its type
 * (a nest is at most 64 KiB; the message may be larger). A key appears at
 * most once over all lists (-EEXIST). Removals (and the old entries of
 * replaced peers whose prefixes change) are applied first, so a prefix may
 * move between peers within one delta; a prefix that ends up on two peers is
 * -EEXIST. At most 65,536 changes per delta, MESHNET's table maximum
 * (262,144 peers) applies. Counters of kept and replaced peers carry over;
 * removed peers' counters are gone. Multicasts one VERDICT_NOTIFY per peer
 * whose verdict changed (added peers included) and per local verdict change.
 *
 * How the node agent uses it: it applies the controller's signed full
 * snapshot as an epoch transaction (EPOCH_BEGIN with MESHNET_A_REVISION and
 * MESHNET_A_VALID_UNTIL, EPOCH_SET_PEERS, EPOCH_COMMIT), and every signed
 * delta after it as one APPLY_DELTA carrying the delta's revision,
 * MESHNET_A_EPOCH_ID of the epoch it holds (so a delta for another epoch is
 * refused rather than mixed in), the statement's validity as
 * MESHNET_A_VALID_UNTIL, verdict flips as MESHNET_A_VERDICT_PEERS, removed
 * nodes as MESHNET_A_REMOVE_PEERS and new or changed nodes as
 * MESHNET_A_PEERS. A lease renewal without changes is an APPLY_DELTA with
 * the same revision and a later VALID_UNTIL. -ESTALE means the module holds
 * a newer revision (or another epoch): fetch a snapshot. A new epoch (new
 * PSKs) is always a full transaction. After applying, GET_STATE reports the
 * revision to acknowledge. userspace/lib/nl: meshnet_nl_apply_delta() and
 * struct meshnet_delta; meshnet_nl_apply_epoch() sends struct
 * meshnet_epoch's revision and valid_until.
 *
 * MESHNET_CMD_EPOCH_ABORT
 * -----------------------
 *
 *    MESHNET_A_EPOCH_ID: NLA_U64, optional, must match if given
 *
 * MESHNET_CMD_SET_PEER
 * --------------------
 *
 *    MESHNET_A_PEER: NLA_NESTED, a peer (see below)
 *
 * Adds or replaces one peer in the current table between epochs: a
 * one-entry APPLY_DELTA that keeps the revision. Its epoch is the current
 * one.
 *
 * MESHNET_CMD_DEL_PEER
 * --------------------
 *
 *    MESHNET_A_PEER: NLA_NESTED
 *        MESHNET_PEER_A_PUBLIC_KEY: NLA_EXACT_LEN, 32 bytes (required)
 *
 * MESHNET_CMD_GET_PEERS (dump)
 * ----------------------------
 *
 *    MESHNET_A_SHOW_PSK: NLA_FLAG, include MESHNET_PEER_A_PRESHARED_KEY
 *
 * The dump is a snapshot of the table current when it started (PSKs of
 * entries that have left the current table since are not shown). Each message
 * carries MESHNET_A_EPOCH_ID, MESHNET_A_REVISION and MESHNET_A_PEERS with one
 * or more peers:
 *
 *    MESHNET_A_PEERS: NLA_NESTED
 *        0: NLA_NESTED
 *            MESHNET_PEER_A_PUBLIC_KEY: NLA_EXACT_LEN, 32 bytes
 *            MESHNET_PEER_A_NAME: NLA_NUL_STRING (if set)
 *            MESHNET_PEER_A_VERDICT: NLA_U8
 *            MESHNET_PEER_A_REASON: NLA_NUL_STRING (if set)
 *            MESHNET_PEER_A_EPOCH: NLA_U64
 *            MESHNET_PEER_A_ENDPOINT: struct sockaddr_in or sockaddr_in6,
 *                                     non-zero port (if set); the peer's
 *                                     WireGuard endpoint, matched by the
 *                                     outer endpoint drop
 *            MESHNET_PEER_A_HAS_PSK: NLA_FLAG (if a PSK is set)
 *            MESHNET_PEER_A_PRESHARED_KEY: 32 bytes (only with SHOW_PSK)
 *            MESHNET_PEER_A_ALLOWEDIPS: NLA_NESTED
 *                0: NLA_NESTED
 *                    MESHNET_ALLOWEDIP_A_FAMILY: NLA_U16, AF_INET or AF_INET6
 *                    MESHNET_ALLOWEDIP_A_IPADDR: struct in_addr or in6_addr
 *                    MESHNET_ALLOWEDIP_A_CIDR_MASK: NLA_U8
 *                1: NLA_NESTED
 *                    ...
 *            MESHNET_PEER_A_COUNTERS: NLA_NESTED
 *                MESHNET_COUNTER_A_RX_PACKETS ...
 *                MESHNET_COUNTER_A_ENDPOINT_DROP_PACKETS: NLA_U64
 *        1: NLA_NESTED
 *            ...
 *
 * A peer given to EPOCH_SET_PEERS and SET_PEER has the same layout:
 * PUBLIC_KEY and VERDICT are required; NAME, REASON, ENDPOINT,
 * PRESHARED_KEY and ALLOWEDIPS are optional; EPOCH, HAS_PSK and COUNTERS are
 * ignored on input. At most MESHNET_MAX_ALLOWEDIPS prefixes per peer; host
 * bits beyond the mask are rejected. PSKs are wiped when replaced or freed.
 *
 * MESHNET_CMD_RESET_COUNTERS
 * --------------------------
 *
 *    MESHNET_A_PEER: NLA_NESTED (optional)
 *        MESHNET_PEER_A_PUBLIC_KEY: only this peer's counters
 *
 * Without a peer, resets every peer's counters and the totals.
 *
 * Multicast group MESHNET_MCGRP_NAME
 * ----------------------------------
 *
 * Subscribing needs CAP_NET_ADMIN over the namespace (the kernel checks it
 * at bind time). Notifications carry no key material. Every notification
 * carries the epoch and the revision of the table that made the change, so
 * a listener can tell which control-plane revision a verdict belongs to.
 * Notifications are sent after the change, outside the writer lock, several
 * messages to a datagram:
 *
 *    MESHNET_CMD_VERDICT_NOTIFY, for a peer whose verdict changed:
 *        MESHNET_A_EPOCH_ID: NLA_U64
 *        MESHNET_A_REVISION: NLA_U64
 *        MESHNET_A_PEER: NLA_NESTED
 *            MESHNET_PEER_A_PUBLIC_KEY: NLA_EXACT_LEN, 32 bytes
 *            MESHNET_PEER_A_NAME: NLA_NUL_STRING (if set)
 *            MESHNET_PEER_A_VERDICT: NLA_U8
 *            MESHNET_PEER_A_REASON: NLA_NUL_STRING (if set)
 *    MESHNET_CMD_VERDICT_NOTIFY, when the local verdict changed:
 *        MESHNET_A_EPOCH_ID: NLA_U64
 *        MESHNET_A_REVISION: NLA_U64
 *        MESHNET_A_SELF_VERDICT: NLA_U8
 *        MESHNET_A_SELF_REASON: NLA_NUL_STRING (if set)
 *    MESHNET_CMD_EPOCH_NOTIFY, after a commit:
 *        MESHNET_A_EPOCH_ID: NLA_U64
 *        MESHNET_A_EPOCH_EXPIRY: NLA_U64
 *        MESHNET_A_REVISION: NLA_U64
 *        MESHNET_A_PEER_COUNT: NLA_U32
 *    MESHNET_CMD_EXPIRED_NOTIFY, when the dead man's switch trips (and the
 *    table fails closed if MESHNET_A_POLICY_FAIL_CLOSED is set):
 *        MESHNET_A_EPOCH_ID: NLA_U64
 *        MESHNET_A_EPOCH_EXPIRY: NLA_U64
 *        MESHNET_A_REVISION: NLA_U64
 *        MESHNET_A_EXPIRED: NLA_U8, 1
 */

#ifndef _UAPI_LINUX_MESHNET_H
#define _UAPI_LINUX_MESHNET_H

#define MESHNET_GENL_NAME "meshnet"
#define MESHNET_GENL_VERSION 1
#define MESHNET_MCGRP_NAME "meshnet"

#define MESHNET_KEY_LEN 32
#define MESHNET_REASON_LEN 128
#define MESHNET_NAME_LEN 64
#define MESHNET_MAX_ALLOWEDIPS 64
#define MESHNET_GRACE_MAX 86400

/**
 * enum meshnet_verdict - membership verdict of a peer or of the local node
 * @MESHNET_VERDICT_UNSPEC: invalid on input
 * @MESHNET_VERDICT_ALLOWED: traffic passes
 * @MESHNET_VERDICT_DENIED: traffic is dropped in both directions
 */
enum meshnet_verdict {
	MESHNET_VERDICT_UNSPEC,
	MESHNET_VERDICT_ALLOWED,
	MESHNET_VERDICT_DENIED,
	__MESHNET_VERDICT_MAX
};

#define MESHNET_VERDICT_MAX (__MESHNET_VERDICT_MAX - 1)

/**
 * enum meshnet_unknown_policy - fate of traffic from or to an address that
 *	belongs to no peer of the table
 * @MESHNET_UNKNOWN_DROP: drop it (default)
 * @MESHNET_UNKNOWN_ALLOW: let it pass
 */
enum meshnet_unknown_policy {
	MESHNET_UNKNOWN_DROP,
	MESHNET_UNKNOWN_ALLOW,
	__MESHNET_UNKNOWN_MAX
};

#define MESHNET_UNKNOWN_MAX (__MESHNET_UNKNOWN_MAX - 1)

enum meshnet_cmd {
	MESHNET_CMD_UNSPEC,
	MESHNET_CMD_GET_STATE,
	MESHNET_CMD_ATTACH,
	MESHNET_CMD_DETACH,
	MESHNET_CMD_SET_POLICY,
	MESHNET_CMD_SET_SELF,
	MESHNET_CMD_EPOCH_BEGIN,
	MESHNET_CMD_EPOCH_SET_PEERS,
	MESHNET_CMD_EPOCH_COMMIT,
	MESHNET_CMD_EPOCH_ABORT,
	MESHNET_CMD_SET_PEER,
	MESHNET_CMD_DEL_PEER,
	MESHNET_CMD_GET_PEERS,
	MESHNET_CMD_RESET_COUNTERS,
	MESHNET_CMD_VERDICT_NOTIFY,
	MESHNET_CMD_EPOCH_NOTIFY,
	MESHNET_CMD_EXPIRED_NOTIFY,
	MESHNET_CMD_APPLY_DELTA,
	__MESHNET_CMD_MAX
};

#define MESHNET_CMD_MAX (__MESHNET_CMD_MAX - 1)

/**
 * enum meshnet_attr - top-level attributes
 * @MESHNET_A_UNSPEC: unused
 * @MESHNET_A_IFINDEX: u32, device to attach or detach
 * @MESHNET_A_IFNAME: string, device to attach or detach
 * @MESHNET_A_EPOCH_ID: u64, epoch identifier
 * @MESHNET_A_EPOCH_EXPIRY: u64, epoch expiry in unix seconds
 * @MESHNET_A_EPOCH_FORCE: flag, accept an epoch id that is not newer
 * @MESHNET_A_EXPIRED: u8, the dead man's switch has tripped
 * @MESHNET_A_SELF_VERDICT: u8, enum meshnet_verdict of the local node
 * @MESHNET_A_SELF_REASON: string, why the local node has its verdict
 * @MESHNET_A_POLICY_UNKNOWN: u8, enum meshnet_unknown_policy
 * @MESHNET_A_POLICY_FAIL_CLOSED: u8, drop all traffic once the epoch expired
 * @MESHNET_A_POLICY_GRACE: u32, seconds after expiry before failing closed
 * @MESHNET_A_POLICY_ENDPOINT_DROP: u8, drop a DENIED peer's datagrams from
 *	its endpoint before WireGuard decrypts them
 * @MESHNET_A_PEER: nested, one peer (enum meshnet_peer_attr)
 * @MESHNET_A_PEERS: nested array of peers
 * @MESHNET_A_PEER_COUNT: u32, peers in the table
 * @MESHNET_A_SHOW_PSK: flag, dump preshared keys
 * @MESHNET_A_DEVICES: nested array of attached devices
 * @MESHNET_A_COUNTERS: nested, enum meshnet_counter_attr
 * @MESHNET_A_TXN_EPOCH_ID: u64, epoch of the open transaction
 * @MESHNET_A_TXN_PEER_COUNT: u32, peers staged in the open transaction
 * @MESHNET_A_PAD: padding for 64-bit attributes
 * @MESHNET_A_REVISION: u64, control-plane revision the table reflects
 * @MESHNET_A_VALID_UNTIL: u64, unix seconds until which the table may be
 *	enforced without a newer one (the dead man's switch deadline)
 * @MESHNET_A_REMOVE_PEERS: nested array of peers (public key only) a delta
 *	removes
 * @MESHNET_A_VERDICT_PEERS: nested array of peers (public key, verdict,
 *	reason) whose verdict a delta changes
 * @MESHNET_A_HOOKS: u8, the namespace's netfilter hooks are registered
 * @__MESHNET_A_LAST: internal
 */
enum meshnet_attr {
	MESHNET_A_UNSPEC,
	MESHNET_A_IFINDEX,
	MESHNET_A_IFNAME,
	MESHNET_A_EPOCH_ID,
	MESHNET_A_EPOCH_EXPIRY,
	MESHNET_A_EPOCH_FORCE,
	MESHNET_A_EXPIRED,
	MESHNET_A_SELF_VERDICT,
	MESHNET_A_SELF_REASON,
	MESHNET_A_POLICY_UNKNOWN,
	MESHNET_A_POLICY_FAIL_CLOSED,
	MESHNET_A_POLICY_GRACE,
	MESHNET_A_POLICY_ENDPOINT_DROP,
	MESHNET_A_PEER,
	MESHNET_A_PEERS,
	MESHNET_A_PEER_COUNT,
	MESHNET_A_SHOW_PSK,
	MESHNET_A_DEVICES,
	MESHNET_A_COUNTERS,
	MESHNET_A_TXN_EPOCH_ID,
	MESHNET_A_TXN_PEER_COUNT,
	MESHNET_A_PAD,
	MESHNET_A_REVISION,
	MESHNET_A_VALID_UNTIL,
	MESHNET_A_REMOVE_PEERS,
	MESHNET_A_VERDICT_PEERS,
	MESHNET_A_HOOKS,
	__MESHNET_A_LAST
};

#define MESHNET_A_MAX (__MESHNET_A_LAST - 1)

/**
 * enum meshnet_peer_attr - attributes of one peer
 * @MESHNET_PEER_A_UNSPEC: unused
 * @MESHNET_PEER_A_PUBLIC_KEY: 32 bytes, WireGuard public key
 * @MESHNET_PEER_A_NAME: string, node id (e.g. "node-b")
 * @MESHNET_PEER_A_VERDICT: u8, enum meshnet_verdict
 * @MESHNET_PEER_A_REASON: string, why the peer has its verdict
 * @MESHNET_PEER_A_EPOCH: u64, epoch the entry was set in (output only)
 * @MESHNET_PEER_A_ENDPOINT: struct sockaddr_in or struct sockaddr_in6 with a
 *	non-zero port: the peer's WireGuard (outer) endpoint
 * @MESHNET_PEER_A_PRESHARED_KEY: 32 bytes (input; output only on request)
 * @MESHNET_PEER_A_HAS_PSK: flag, a PSK is set (output only)
 * @MESHNET_PEER_A_ALLOWEDIPS: nested array of enum meshnet_allowedip_attr
 * @MESHNET_PEER_A_COUNTERS: nested, enum meshnet_counter_attr (output only)
 * @MESHNET_PEER_A_PAD: padding for 64-bit attributes
 * @__MESHNET_PEER_A_LAST: internal
 */
enum meshnet_peer_attr {
	MESHNET_PEER_A_UNSPEC,
	MESHNET_PEER_A_PUBLIC_KEY,
	MESHNET_PEER_A_NAME,
	MESHNET_PEER_A_VERDICT,
	MESHNET_PEER_A_REASON,
	MESHNET_PEER_A_EPOCH,
	MESHNET_PEER_A_ENDPOINT,
	MESHNET_PEER_A_PRESHARED_KEY,
	MESHNET_PEER_A_HAS_PSK,
	MESHNET_PEER_A_ALLOWEDIPS,
	MESHNET_PEER_A_COUNTERS,
	MESHNET_PEER_A_PAD,
	__MESHNET_PEER_A_LAST
};

#define MESHNET_PEER_A_MAX (__MESHNET_PEER_A_LAST - 1)

/**
 * enum meshnet_allowedip_attr - one overlay prefix of a peer
 * @MESHNET_ALLOWEDIP_A_UNSPEC: unused
 * @MESHNET_ALLOWEDIP_A_FAMILY: u16, AF_INET or AF_INET6
 * @MESHNET_ALLOWEDIP_A_IPADDR: struct in_addr or struct in6_addr
 * @MESHNET_ALLOWEDIP_A_CIDR_MASK: u8, prefix length
 * @__MESHNET_ALLOWEDIP_A_LAST: internal
 */
enum meshnet_allowedip_attr {
	MESHNET_ALLOWEDIP_A_UNSPEC,
	MESHNET_ALLOWEDIP_A_FAMILY,
	MESHNET_ALLOWEDIP_A_IPADDR,
	MESHNET_ALLOWEDIP_A_CIDR_MASK,
	__MESHNET_ALLOWEDIP_A_LAST
};

#define MESHNET_ALLOWEDIP_A_MAX (__MESHNET_ALLOWEDIP_A_LAST - 1)

/**
 * enum meshnet_device_attr - one attached device
 * @MESHNET_DEVICE_A_UNSPEC: unused
 * @MESHNET_DEVICE_A_IFINDEX: u32
 * @MESHNET_DEVICE_A_IFNAME: string
 * @__MESHNET_DEVICE_A_LAST: internal
 */
enum meshnet_device_attr {
	MESHNET_DEVICE_A_UNSPEC,
	MESHNET_DEVICE_A_IFINDEX,
	MESHNET_DEVICE_A_IFNAME,
	__MESHNET_DEVICE_A_LAST
};

#define MESHNET_DEVICE_A_MAX (__MESHNET_DEVICE_A_LAST - 1)

/**
 * enum meshnet_counter_attr - packet counters, all u64
 * @MESHNET_COUNTER_A_UNSPEC: unused
 * @MESHNET_COUNTER_A_RX_PACKETS: inbound packets passed
 * @MESHNET_COUNTER_A_RX_BYTES: inbound bytes passed
 * @MESHNET_COUNTER_A_TX_PACKETS: outbound packets passed
 * @MESHNET_COUNTER_A_TX_BYTES: outbound bytes passed
 * @MESHNET_COUNTER_A_RX_DROP_PACKETS: inbound packets dropped
 * @MESHNET_COUNTER_A_RX_DROP_BYTES: inbound bytes dropped
 * @MESHNET_COUNTER_A_TX_DROP_PACKETS: outbound packets dropped
 * @MESHNET_COUNTER_A_TX_DROP_BYTES: outbound bytes dropped
 * @MESHNET_COUNTER_A_ENDPOINT_DROP_PACKETS: outer UDP packets dropped before
 *	decryption (MESHNET_A_POLICY_ENDPOINT_DROP)
 * @MESHNET_COUNTER_A_PAD: padding for 64-bit attributes
 * @__MESHNET_COUNTER_A_LAST: internal
 */
enum meshnet_counter_attr {
	MESHNET_COUNTER_A_UNSPEC,
	MESHNET_COUNTER_A_RX_PACKETS,
	MESHNET_COUNTER_A_RX_BYTES,
	MESHNET_COUNTER_A_TX_PACKETS,
	MESHNET_COUNTER_A_TX_BYTES,
	MESHNET_COUNTER_A_RX_DROP_PACKETS,
	MESHNET_COUNTER_A_RX_DROP_BYTES,
	MESHNET_COUNTER_A_TX_DROP_PACKETS,
	MESHNET_COUNTER_A_TX_DROP_BYTES,
	MESHNET_COUNTER_A_ENDPOINT_DROP_PACKETS,
	MESHNET_COUNTER_A_PAD,
	__MESHNET_COUNTER_A_LAST
};

#define MESHNET_COUNTER_A_MAX (__MESHNET_COUNTER_A_LAST - 1)

#endif /* _UAPI_LINUX_MESHNET_H */
