/* SPDX-License-Identifier: MIT */
/*
 * Plain data types of the meshnet module's state, shared by the netlink
 * client (meshnet_nl.h), the parsers (meshnet_parse.h) and the epoch JSON
 * reader (meshnet_epoch.h). No netlink here: tests use them without a kernel.
 */
#ifndef MESHNET_TYPES_H
#define MESHNET_TYPES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <net/if.h>

#include <linux/meshnet.h>

/* One overlay prefix, host bits already checked to be zero. */
struct meshnet_allowedip {
	uint16_t family; /* AF_INET or AF_INET6 */
	uint8_t cidr;
	union {
		struct in_addr ip4;
		struct in6_addr ip6;
	};
};

union meshnet_sockaddr {
	struct sockaddr addr;
	struct sockaddr_in addr4;
	struct sockaddr_in6 addr6;
};

struct meshnet_counters {
	uint64_t rx_packets, rx_bytes, tx_packets, tx_bytes;
	uint64_t rx_drop_packets, rx_drop_bytes, tx_drop_packets, tx_drop_bytes;
	uint64_t endpoint_drop_packets;
};

/* Which optional fields of struct meshnet_peer are present. */
enum meshnet_peer_flag {
	MESHNET_PEER_HAS_NAME = 1U << 0,
	MESHNET_PEER_HAS_REASON = 1U << 1,
	MESHNET_PEER_HAS_ENDPOINT = 1U << 2,
	MESHNET_PEER_HAS_PSK = 1U << 3,       /* psk[] holds the key (input / --show-psk) */
	MESHNET_PEER_PSK_SET = 1U << 4,       /* kernel says a PSK is set (dump) */
	MESHNET_PEER_HAS_ALLOWEDIPS = 1U << 5,
	MESHNET_PEER_HAS_COUNTERS = 1U << 6,
};

struct meshnet_peer {
	uint8_t public_key[MESHNET_KEY_LEN];
	uint8_t verdict; /* enum meshnet_verdict */
	unsigned int flags; /* enum meshnet_peer_flag */
	char name[MESHNET_NAME_LEN];
	char reason[MESHNET_REASON_LEN];
	uint64_t epoch; /* output only */
	union meshnet_sockaddr endpoint;
	uint8_t psk[MESHNET_KEY_LEN];
	size_t n_allowedips;
	struct meshnet_allowedip allowedips[MESHNET_MAX_ALLOWEDIPS];
	struct meshnet_counters counters; /* output only */
};

/* A parsed epoch: the config reply of docs/PROTOCOL.md. */
struct meshnet_epoch {
	uint64_t id;
	uint64_t expiry_unix;
	uint64_t valid_until; /* unix seconds; 0: the module uses expiry_unix */
	uint64_t revision;    /* control-plane revision; 0: not sent */
	uint8_t self_verdict; /* enum meshnet_verdict */
	char self_reason[MESHNET_REASON_LEN];
	char node_id[MESHNET_NAME_LEN];
	size_t n_peers;
	struct meshnet_peer *peers;
};

/* Fields of SET_POLICY; only those whose bit is in @mask are sent. */
enum meshnet_policy_field {
	MESHNET_POLICY_UNKNOWN = 1U << 0,
	MESHNET_POLICY_FAIL_CLOSED = 1U << 1,
	MESHNET_POLICY_GRACE = 1U << 2,
	MESHNET_POLICY_ENDPOINT_DROP = 1U << 3,
};

struct meshnet_policy {
	unsigned int mask;
	uint8_t unknown; /* enum meshnet_unknown_policy */
	bool fail_closed;
	uint32_t grace;
	bool endpoint_drop;
};

#define MESHNET_MAX_DEVICES 32

struct meshnet_device {
	uint32_t ifindex;
	char ifname[IF_NAMESIZE];
};

struct meshnet_state {
	uint64_t epoch_id;
	uint64_t epoch_expiry;
	uint64_t revision;
	uint64_t valid_until;
	bool expired;
	uint8_t self_verdict;
	char self_reason[MESHNET_REASON_LEN];
	struct meshnet_policy policy;
	uint32_t peer_count;
	bool txn_open;
	uint64_t txn_epoch_id;
	uint32_t txn_peer_count;
	size_t n_devices;
	struct meshnet_device devices[MESHNET_MAX_DEVICES];
	struct meshnet_counters counters;
};

/*
 * A delta (MESHNET_CMD_APPLY_DELTA): applied atomically, all or nothing.
 * @verdicts: only public_key, verdict and (MESHNET_PEER_HAS_REASON) reason
 * are used; the peer must exist. @upserts: whole entries, added or
 * replacing the entry with the same key (counters carry over). @removes:
 * public keys of peers to remove (they must exist).
 */
struct meshnet_delta {
	uint64_t revision;    /* required; > the module's (== for a renewal) */
	uint64_t epoch_id;    /* 0: not checked; else must be the current epoch */
	uint64_t valid_until; /* unix seconds; 0: unchanged */
	bool force;           /* accept a revision that is not newer */
	uint8_t self_verdict; /* MESHNET_VERDICT_UNSPEC: unchanged */
	char self_reason[MESHNET_REASON_LEN];
	size_t n_verdicts;
	const struct meshnet_peer *verdicts;
	size_t n_upserts;
	const struct meshnet_peer *upserts;
	size_t n_removes;
	const uint8_t (*removes)[MESHNET_KEY_LEN];
};

#endif /* MESHNET_TYPES_H */
