/* SPDX-License-Identifier: MIT */
/*
 * Acknowledged enforcement (docs/PROTOCOL.md "POST /v1/ack"): what each
 * node's module applied, against what it should hold.
 *
 * The controller keeps the table digest (lib/table_digest.c) of every
 * enrolled node, G = sum of SHA-256("meshnet peer v2" || pub || verdict),
 * incrementally (O(1) per change), and G after each of its last
 * ACKS_REVISIONS revisions. A node's table at revision R is every other
 * node, so the digest it should report is G(R) minus its own term at R;
 * "drift" is a report that differs. For each of the last ACKS_QUARANTINES
 * flips to DENIED it counts the ALLOWED peers that acknowledged a revision
 * at or past it, and the time until the last one did.
 *
 * Memory: O(1) per node slot (about 150 bytes) plus the two rings. Acks live
 * in memory, per controller: with several controllers each shows the acks
 * it received (an agent sends each ack to the controller it talks to).
 *
 * Writers (node_publish, epochs) call the acks_on_* hooks with c->lock held;
 * they take the acks' own mutex for O(1) work. Lock order: c->lock, then
 * the acks' lock. An ack takes only the acks' lock.
 */
#ifndef MESHNETD_ACKS_H
#define MESHNETD_ACKS_H

#include <stdbool.h>
#include <stdint.h>

#include "strbuf.h"
#include "table_digest.h"

#define ACKS_REVISIONS 65536	/* G(R) kept for the last 65,536 revisions */
#define ACKS_QUARANTINES 32	/* the last 32 quarantines */
#define ACKS_VERSION_MAX 48	/* agent_version, bytes */

struct acks;
struct controller;

struct acks *acks_new(void);
void acks_free(struct acks *a);

/*
 * A node's published state changed (node_publish): slot, the revision
 * (0: no revision, e.g. the records replayed at start, where head is the
 * store's head), its WireGuard public key (base64) and verdict (1 ALLOWED,
 * 2 DENIED), enrol: the change is its enrolment. A flip from ALLOWED to
 * DENIED at a revision is a quarantine.
 */
void acks_on_node(struct acks *a, uint32_t slot, const char *node_id, uint64_t revision,
		  uint64_t head, const char *wg_public_key_b64, uint8_t verdict);
void acks_on_remove(struct acks *a, uint32_t slot, uint64_t revision);
/* A revision that changes no node (an epoch start). */
void acks_on_revision(struct acks *a, uint64_t revision);

/* One parsed, validated ack. */
struct ack_report {
	uint64_t revision, epoch;
	struct meshnet_table_digest digest;
	int64_t applied_unix;
	char agent_version[ACKS_VERSION_MAX];
};

enum ack_drift { ACK_DRIFT_UNKNOWN = -1, ACK_DRIFT_NONE = 0, ACK_DRIFT = 1 };

/*
 * Records slot's ack (authenticated, validated by the route). Returns the
 * drift verdict; expected_hex gets the digest the node should hold ("" when
 * it is not known: a revision older than the kept ones, or a node that is
 * DENIED at it, whose table is frozen by its self-deny).
 */
enum ack_drift acks_record(struct acks *a, uint32_t slot, const struct ack_report *rep,
			   int64_t now_ms, char expected_hex[MESHNET_TABLE_DIGEST_HEX_LEN + 1]);

/* The per-node view for the admin node JSON: false if the node never acked. */
struct ack_node_view {
	uint64_t applied_revision, epoch;
	int64_t applied_unix, ack_unix;
	enum ack_drift drift;
	char agent_version[ACKS_VERSION_MAX];
};
bool acks_node_view(struct acks *a, uint32_t slot, struct ack_node_view *out);

/*
 * Renderings (c->lock held: they walk c->nodes; head: the published head).
 * acks_render_node: ,"enforcement":{...} for one node (nothing if unknown).
 * acks_render_json: {"summary":..,"nodes":{id:{...}},"quarantines":[...]}
 * (per_node false: no "nodes").
 * acks_render_metrics: Prometheus text; node ids only for the first
 * METRICS_NODES_MAX nodes (default none): /metrics is public, and enrolled
 * ids are not told to unauthenticated callers.
 */
void acks_render_node(struct acks *a, uint32_t slot, uint64_t head, int64_t now,
		      struct strbuf *out);
void acks_render_json(struct acks *a, struct controller *c, uint64_t head, int64_t now,
		      bool per_node, struct strbuf *out);
void acks_render_metrics(struct acks *a, struct controller *c, uint64_t head, int64_t now,
			 struct strbuf *out);

#endif
