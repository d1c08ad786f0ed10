/* SPDX-License-Identifier: MIT */
/*
 * libnl-genl-3 client of the "meshnet" generic netlink family
 * (uapi/linux/meshnet.h). Shared by meshnetctl and meshnet-agent.
 *
 * Every function returns 0 or a negative errno. On failure,
 * meshnet_nl_error() gives a sentence for the user: the kernel's
 * extended-ack message when it sent one (NETLINK_EXT_ACK is enabled on the
 * socket), otherwise strerror().
 *
 * An epoch transaction belongs to the socket that began it: use one handle
 * for begin/set-peers/commit (meshnet_nl_apply_epoch() does it all). Use a
 * separate handle for notifications (meshnet_nl_subscribe()).
 */
#ifndef MESHNET_NL_H
#define MESHNET_NL_H

#include "nl/meshnet_types.h"

struct meshnet_nl;

/*
 * Default size of one EPOCH_SET_PEERS message; bigger peer lists are split.
 * The peers travel in one MESHNET_A_PEERS nest, whose length is a u16.
 */
#define MESHNET_NL_BATCH_BYTES 32768
#define MESHNET_NL_BATCH_MAX 65000

/*
 * Connects and resolves the family. -ENOENT with the message
 * "meshnet module not loaded ..." when the family does not exist.
 * @err gets the message when no handle could be returned.
 */
int meshnet_nl_open(struct meshnet_nl **out, char *err, size_t errlen);
void meshnet_nl_close(struct meshnet_nl *nl);
const char *meshnet_nl_error(const struct meshnet_nl *nl);
int meshnet_nl_fd(const struct meshnet_nl *nl);
/* Upper bound of one EPOCH_SET_PEERS message (tests use it to force batching). */
void meshnet_nl_set_batch_bytes(struct meshnet_nl *nl, size_t bytes);
/* Number of EPOCH_SET_PEERS messages sent by the last set_peers/apply call. */
unsigned int meshnet_nl_last_batches(const struct meshnet_nl *nl);

int meshnet_nl_get_state(struct meshnet_nl *nl, struct meshnet_state *state);

/* Called once per peer of a dump; a non-zero return stops the dump with it. */
typedef int (*meshnet_peer_fn)(const struct meshnet_peer *peer, void *arg);
int meshnet_nl_dump_peers(struct meshnet_nl *nl, bool show_psk, meshnet_peer_fn fn, void *arg);

int meshnet_nl_attach(struct meshnet_nl *nl, const char *ifname);
int meshnet_nl_detach(struct meshnet_nl *nl, const char *ifname);
int meshnet_nl_set_policy(struct meshnet_nl *nl, const struct meshnet_policy *policy);
/* @reason may be NULL */
int meshnet_nl_set_self(struct meshnet_nl *nl, uint8_t verdict, const char *reason);
int meshnet_nl_set_peer(struct meshnet_nl *nl, const struct meshnet_peer *peer);
int meshnet_nl_del_peer(struct meshnet_nl *nl, const uint8_t key[MESHNET_KEY_LEN]);
/* @key NULL: every peer and the totals */
int meshnet_nl_reset_counters(struct meshnet_nl *nl, const uint8_t *key);

int meshnet_nl_epoch_begin(struct meshnet_nl *nl, uint64_t id, uint64_t expiry, bool force);
/* Also sends @valid_until and @revision when they are non-zero. */
int meshnet_nl_epoch_begin_rev(struct meshnet_nl *nl, uint64_t id, uint64_t expiry,
			       uint64_t valid_until, uint64_t revision, bool force);
int meshnet_nl_epoch_set_peers(struct meshnet_nl *nl, const struct meshnet_peer *peers,
			       size_t n_peers);
/* @self_verdict MESHNET_VERDICT_UNSPEC: leave the local verdict alone */
int meshnet_nl_epoch_commit(struct meshnet_nl *nl, uint64_t id, uint8_t self_verdict,
			    const char *self_reason);
/* @id 0: whatever transaction this socket has open */
int meshnet_nl_epoch_abort(struct meshnet_nl *nl, uint64_t id);
/*
 * Begin, stage every peer (batched), commit with the epoch's own verdict.
 * On any failure the transaction is aborted and the table is unchanged.
 */
int meshnet_nl_apply_epoch(struct meshnet_nl *nl, const struct meshnet_epoch *epoch, bool force);

/*
 * One APPLY_DELTA request: the module applies all of @delta or nothing
 * (-ESTALE: revision not newer or other epoch; -ENOENT: a verdict change or
 * removal names a peer not in the table; -EEXIST: a key twice, or a prefix
 * of another peer). Large deltas travel in one message of several nests;
 * more than MESHNET_NL_DELTA_MAX_BYTES is -EMSGSIZE (apply a full epoch).
 */
#define MESHNET_NL_DELTA_MAX_BYTES (192U << 10)
int meshnet_nl_apply_delta(struct meshnet_nl *nl, const struct meshnet_delta *delta);

/* A multicast notification (MESHNET_CMD_*_NOTIFY). */
struct meshnet_event {
	uint8_t cmd;
	uint64_t epoch_id;
	uint64_t revision; /* of the table that made the change */
	uint64_t epoch_expiry;
	bool expired;
	uint32_t peer_count;
	bool is_self; /* VERDICT_NOTIFY about the local node */
	uint8_t self_verdict;
	char self_reason[MESHNET_REASON_LEN];
	bool has_peer;
	struct meshnet_peer peer;
};

/* Joins the multicast group; the handle then only receives events. */
int meshnet_nl_subscribe(struct meshnet_nl *nl);
/* Called per event; a non-zero return stops meshnet_nl_recv_events with it. */
typedef int (*meshnet_event_fn)(const struct meshnet_event *event, void *arg);
/* Blocks for one batch of events (one recv) and dispatches them. */
int meshnet_nl_recv_events(struct meshnet_nl *nl, meshnet_event_fn fn, void *arg);

#endif /* MESHNET_NL_H */
