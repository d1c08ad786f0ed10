/* SPDX-License-Identifier: MIT */
/*
 * What the controller trusts: the enrolled evaluators, the policy in
 * effect (NULL: the built-in v1 threshold rule on the node's own reports,
 * THRESHOLD, MIN_REFUSAL... and MAX_BENCHMARK_AGE), and a time-locked policy waiting for
 * its time or epoch. trust_evaluate() decides one node's verdict with its
 * explanation; the controller's lock guards all of it.
 */
#ifndef MESHNETD_TRUST_H
#define MESHNETD_TRUST_H

#include <stdbool.h>
#include <stdint.h>

#include "evaluators.h"
#include "evidence.h"
#include "membership.h"
#include "policy.h"
#include "strbuf.h"

#define TRUST_V1_RULE "v1-threshold"

struct trust {
	struct evaluator_registry evaluators;
	struct policy *active;		/* NULL: the built-in v1 rule */
	struct policy *pending;		/* time-locked, not in effect yet */
	struct membership_rules v1;
};

struct trust_subject {
	const struct node_evidence *ne;
	bool has_benchmark;		/* the node's own report */
	struct scores scores;
	int64_t benchmark_time;
	enum verdict current;
	enum pin pin;
};

struct trust_eval {
	struct policy_result r;
	uint64_t policy_version;	/* 0: the built-in v1 rule */
	struct policy_evidence ev[POLICY_MAX_USED];
	unsigned int n_ev;
	struct meshnet_att_score self[4];
};

void trust_init(struct trust *t, const struct membership_rules *v1);
void trust_free(struct trust *t);

/* Decides s's verdict at now under the policy in effect. */
void trust_evaluate(const struct trust *t, const struct trust_subject *s, int64_t now,
		    bool new_result, struct trust_eval *out);

/* The explanation (policy_explain_json) of e. */
void trust_explain_json(const struct trust_eval *e, int64_t now, struct strbuf *sb);

/*
 * Audit fields of a verdict decided by e (a fragment starting with ','):
 * ,"policy_rule":..,"policy_version":N,"policy_sha256":..,"attestations":[<envelopes
 * exactly as signed>],"missing":[..] and, when a policy used the node's own
 * report, ,"self_report":<self_report> (its signed submission, as the v1
 * rule's "evidence"; NULL: none held).
 */
void trust_audit_fields(const struct trust *t, const struct trust_eval *e,
			const struct node_evidence *ne, const char *self_report, struct strbuf *sb);

/*
 * Installs p (ownership passes on success): in effect now (returns 0) or,
 * when it names a later time or epoch, pending (returns 1; it replaces an
 * earlier pending one). -1 with errs if it may not replace the running
 * policy (version, notice).
 */
int trust_install(struct trust *t, struct policy *p, int64_t now, uint64_t epoch,
		  struct policy_errors *errs);

/* Puts the pending policy in effect if due; true if it did. */
bool trust_advance(struct trust *t, int64_t now, uint64_t epoch);

/* When the pending policy takes effect by time (0: none, or by epoch). */
int64_t trust_next_change(const struct trust *t);

/* GET /v1/policy: {"active":{..},"pending":{..}|null} */
void trust_render_policy(const struct trust *t, struct strbuf *sb);

/* "v3 (sha256:abcd...)" or "built-in v1 threshold rule", for logs. */
void trust_policy_name(const struct policy *p, char *out, size_t len);

#endif
