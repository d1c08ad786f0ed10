/* SPDX-License-Identifier: MIT */
/*
 * A node's evidence: the latest accepted attestation per (evaluator id,
 * suite), each kept with the exact envelope it arrived in (so a verdict's
 * audit record can carry it as signed), plus the node's tags and its run of
 * consecutive good results (admission hysteresis).
 *
 * Not thread-safe: the controller's lock guards it.
 */
#ifndef MESHNETD_EVIDENCE_H
#define MESHNETD_EVIDENCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#include "attestation.h"
#include "evaluators.h"
#include "policy.h"
#include "strbuf.h"

#define EVIDENCE_MAX_PER_NODE 24

struct stored_attestation {
	const struct evaluator *ev;
	char suite[MESHNET_ATT_NAME_MAX + 1];
	struct meshnet_att_score *scores;
	unsigned int n_scores;
	int64_t ran_at, expires, received;
	char *envelope;		/* {"attestation":"<b64>","signature":"<b64>"} */
};

struct node_evidence {
	char (*tags)[POLICY_NAME_MAX + 1];
	unsigned int n_tags;
	struct stored_attestation *att;
	unsigned int n_att, cap_att;
	unsigned int good_streak;
};

void node_evidence_free(struct node_evidence *ne);

/*
 * Sets the node's tags from a JSON array of names (NULL: none); 0, or -1
 * with msg (the array is not 1..16 distinct valid names).
 */
int node_evidence_set_tags(struct node_evidence *ne, struct json_object *tags, char *msg,
			   size_t msg_len);
/* ["prod","eu"] */
void node_evidence_render_tags(const struct node_evidence *ne, struct strbuf *sb);

enum evidence_put {
	EVIDENCE_PUT_OK = 0,
	EVIDENCE_PUT_STALE,	/* not newer than the one held for (evaluator, suite) */
	EVIDENCE_PUT_FULL,	/* EVIDENCE_MAX_PER_NODE (evaluator, suite) pairs held */
	EVIDENCE_PUT_NOMEM,
};

/*
 * Checks whether a would be accepted (newer than the attestation held for
 * its evaluator and suite; room for it) without changing anything.
 */
enum evidence_put node_evidence_check(const struct node_evidence *ne,
				      const struct meshnet_attestation *a, int64_t now);
/* Keeps a (checked by node_evidence_check) with its envelope. */
enum evidence_put node_evidence_put(struct node_evidence *ne, const struct evaluator *ev,
				    const struct meshnet_attestation *a, const char *envelope,
				    int64_t received);

/* Whether any attestation held was signed by ev. */
bool node_evidence_uses(const struct node_evidence *ne, const struct evaluator *ev);

/*
 * Fills out (cap entries) with the node's evidence for the policy engine:
 * its own report first when has_self, then the attestations. Returns the
 * count. self_scores must outlive out.
 */
unsigned int node_evidence_collect(const struct node_evidence *ne, bool has_self,
				   const struct meshnet_att_score *self_scores,
				   unsigned int n_self_scores, int64_t self_time,
				   struct policy_evidence *out, unsigned int cap);

/*
 * The envelopes of the attestations r used, exactly as signed, as a JSON
 * array; ev is what node_evidence_collect filled (self-reports skipped:
 * the node's own submission is its own record).
 */
void node_evidence_render_used(const struct node_evidence *ne, const struct policy_result *r,
			       const struct policy_evidence *ev, struct strbuf *sb);

/* Drops attestations expired at now or of removed evaluators; returns how many. */
unsigned int node_evidence_prune(struct node_evidence *ne, int64_t now);

#endif
