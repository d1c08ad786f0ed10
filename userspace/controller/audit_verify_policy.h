/* SPDX-License-Identifier: MIT */
/*
 * The offline re-check of DENIED verdicts that a policy decided
 * (docs/policy.md "Evidence in the audit log"), for audit-verify: from the
 * exported log alone, record by record in log order, it keeps
 *
 *   - the evaluators as enrolled and removed (evaluator_enrol/_remove:
 *     id and public key),
 *   - every policy announced or put in effect (policy_scheduled/_effective
 *     with its text, whose SHA-256 is checked) and the version in effect,
 *   - the nodes as enrolled (WireGuard key, tags),
 *
 * and for each verdict to DENIED with a policy_version it checks that the
 * version is the one in effect at that record and that its text is in the
 * log, opens every attestation the record rests on (lib/attestation.c:
 * exact body, signature by the evaluator's key as enrolled at that point,
 * about this node and its WireGuard key, evaluator not removed) and the
 * node's own signed report when the policy used it (self_report: its
 * signature by the node's enrolled key), then runs
 * the policy engine (policy.c) on those attestations at the record's time:
 * it must deny, by the rule the record names. A contradiction names the
 * record and why.
 */
#ifndef MESHNETD_AUDIT_VERIFY_POLICY_H
#define MESHNETD_AUDIT_VERIFY_POLICY_H

#include <stdint.h>
#include <stdio.h>

#include <json-c/json.h>

struct audit_policy_check;

/* audience: the mesh id the nodes' own reports were signed for. */
struct audit_policy_check *audit_policy_check_new(FILE *out, const char *audience);
void audit_policy_check_free(struct audit_policy_check *pc);

/* Every record, in log order (type and time already read). */
void audit_policy_observe(struct audit_policy_check *pc, uint64_t index, struct json_object *rec,
			  const char *type);

enum audit_policy_result {
	AUDIT_POLICY_NOT_MINE = 0,	/* no policy_version (the v1 rule) or a pin: not here */
	AUDIT_POLICY_RECHECKED,
	AUDIT_POLICY_UNPROVABLE,	/* the policy's text is not in the log */
	AUDIT_POLICY_CONTRADICTED,	/* printed, naming the record */
};

/* A verdict record to DENIED of node_id at when (unix seconds). */
enum audit_policy_result audit_policy_recheck_denied(struct audit_policy_check *pc,
						     uint64_t index, struct json_object *rec,
						     const char *node_id, int64_t when);

/* "policy: N DENIED verdict(s) decided by a policy: ..." */
void audit_policy_summary(const struct audit_policy_check *pc);

#endif
