// SPDX-License-Identifier: MIT
/*
 * Benchmarks and verdicts: the benchmark parsing spec, a submission, the
 * evaluation of a node under the membership rule and the record of a
 * verdict that changed.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "b64.h"
#include "controller.h"
#include "jsonutil.h"
#include "log.h"
#include "timefmt.h"

int benchmark_get_score(struct json_object *scores, const char *key, double *out,
		     struct api_error *err)
{
	struct json_object *v;

	if (!json_object_object_get_ex(scores, key, &v)) {
		api_error_set(err, 400, "bad_request", "scores.%s is required", key);
		return -1;
	}
	if (!json_object_is_type(v, json_type_double) && !json_object_is_type(v, json_type_int)) {
		api_error_set(err, 400, "bad_request", "scores.%s must be a number", key);
		return -1;
	}
	*out = json_object_get_double(v);
	if (!isfinite(*out) || *out < 0 || *out > 1) {
		api_error_set(err, 400, "bad_request", "scores.%s must be a finite number in 0..1",
			      key);
		return -1;
	}
	return 0;
}

int benchmark_parse(struct json_object *obj, const char *path_id, int64_t now, int64_t skew,
		    struct benchmark *b, struct api_error *err)
{
	struct json_object *scores, *v;
	const char *id, *suite, *ts;
	size_t i;

	if (!json_object_is_type(obj, json_type_object)) {
		api_error_set(err, 400, "bad_request", "body must be a JSON object");
		return -1;
	}
	id = meshnet_json_get_string(obj, "node_id");
	if (!id) {
		api_error_set(err, 400, "bad_request", "node_id (string) is required");
		return -1;
	}
	if (strcmp(id, path_id)) {
		api_error_set(err, 400, "bad_request", "node_id in the body differs from the path");
		return -1;
	}
	suite = meshnet_json_get_string(obj, "suite_version");
	if (!suite || !*suite || strlen(suite) >= sizeof(b->suite_version)) {
		api_error_set(err, 400, "bad_request",
			      "suite_version must be a string of 1..63 characters");
		return -1;
	}
	for (i = 0; suite[i]; i++) {
		if ((unsigned char)suite[i] < 0x21 || (unsigned char)suite[i] > 0x7e) {
			api_error_set(err, 400, "bad_request",
				      "suite_version must be printable ASCII without spaces");
			return -1;
		}
	}
	ts = meshnet_json_get_string(obj, "timestamp");
	if (!ts || meshnet_rfc3339_parse(ts, &b->time)) {
		api_error_set(err, 400, "bad_timestamp",
			      "timestamp must be an RFC 3339 date-time like 2026-01-05T12:34:50Z");
		return -1;
	}
	if (b->time > now + skew) {
		api_error_set(err, 400, "bad_timestamp", "timestamp lies in the future");
		return -1;
	}
	if (!json_object_object_get_ex(obj, "scores", &scores) ||
	    !json_object_is_type(scores, json_type_object)) {
		api_error_set(err, 400, "bad_request", "scores (object) is required");
		return -1;
	}
	if (benchmark_get_score(scores, "overall", &b->scores.overall, err) ||
	    benchmark_get_score(scores, "refusal", &b->scores.refusal, err) ||
	    benchmark_get_score(scores, "honesty", &b->scores.honesty, err) ||
	    benchmark_get_score(scores, "policy", &b->scores.policy, err))
		return -1;
	strcpy(b->suite_version, suite);
	b->demo_scores = false;
	if (json_object_object_get_ex(obj, "demo_scores", &v)) {
		if (!json_object_is_type(v, json_type_boolean)) {
			api_error_set(err, 400, "bad_request", "demo_scores must be true or false");
			return -1;
		}
		b->demo_scores = json_object_get_boolean(v);
	}
	b->measured = b->time;
	ts = meshnet_json_get_string(obj, "measured_at");
	if (json_object_object_get_ex(obj, "measured_at", &v) &&
	    (!ts || meshnet_rfc3339_parse(ts, &b->measured) || b->measured > b->time)) {
		api_error_set(err, 400, "bad_timestamp",
			      "measured_at must be an RFC 3339 date-time no later than timestamp");
		return -1;
	}
	return 0;
}
/*
 * Verdicts are journaled only when they change; their words follow the
 * latest benchmark. After a load, refresh the words of every verdict the
 * rule still gives (a verdict it no longer gives waits for the next epoch).
 */
void verdicts_refresh_reasons(struct controller *c)
{
	int64_t now = controller_now();
	struct trust_eval te;
	size_t i;

	for (i = 0; i < c->n_nodes; i++) {
		struct node *n = c->nodes[i];

		verdict_decide(c, n, now, false, &te);
		if (te.r.verdict == n->verdict) {
			snprintf(n->reason, sizeof(n->reason), "%s", te.r.reason);
			snprintf(n->rule, sizeof(n->rule), "%s", te.r.rule);
		}
	}
}

void verdict_decide(const struct controller *c, const struct node *n, int64_t now,
		    bool new_result, struct trust_eval *te)
{
	struct trust_subject s = {
		.ne = &n->trust, .has_benchmark = n->has_benchmark, .scores = n->scores,
		.benchmark_time = n->benchmark_time, .current = n->verdict, .pin = n->pin,
	};

	trust_evaluate(&c->trust, &s, now, new_result, te);
}

void verdict_explain_json(const struct controller *c, const struct node *n, int64_t now,
			  struct strbuf *sb)
{
	struct trust_eval te;

	verdict_decide(c, n, now, false, &te);
	trust_explain_json(&te, now, sb);
}

void verdict_log(const struct node *n)
{
	log_info("%s: membership=%s (%s)", n->id, verdict_name(n->verdict), n->reason);
}

/* The evidence of a DENIED: the rule with its thresholds and the signed submission. */
static void render_evidence(struct strbuf *sb, const struct controller *c, const struct node *n)
{
	const struct membership_rules *r = &c->rules;

	strbuf_printf(sb, ",\"rule\":{\"name\":\"membership-v1\",\"threshold\":%.17g,"
		      "\"min_refusal\":%.17g,\"min_honesty\":%.17g,\"min_policy\":%.17g,"
		      "\"max_benchmark_age\":%lld},\"decided_unix\":%lld", r->threshold,
		      r->min_refusal, r->min_honesty, r->min_policy,
		      (long long)r->max_benchmark_age, (long long)n->last_update);
	if (n->evidence) {
		strbuf_puts(sb, ",\"evidence\":");
		strbuf_puts(sb, n->evidence);
	}
}

/* {"method","path","timestamp","nonce","signature","body" (base64 of the exact bytes),"received"} */
static char *evidence_json(const struct benchmark_evidence *ev, const char *body, size_t len,
			   int64_t received)
{
	char *b64 = malloc(MESHNET_B64_LEN(len) + 1);
	struct strbuf sb;

	if (!b64 || !ev->timestamp || !ev->nonce || !ev->signature) {
		free(b64);
		return NULL;
	}
	meshnet_b64_encode(b64, (const uint8_t *)body, len);
	strbuf_init(&sb);
	strbuf_puts(&sb, "{\"method\":");
	strbuf_json_string(&sb, ev->method);
	strbuf_puts(&sb, ",\"path\":");
	strbuf_json_string(&sb, ev->path_query);
	strbuf_puts(&sb, ",\"timestamp\":");
	strbuf_json_string(&sb, ev->timestamp);
	strbuf_puts(&sb, ",\"nonce\":");
	strbuf_json_string(&sb, ev->nonce);
	strbuf_puts(&sb, ",\"signature\":");
	strbuf_json_string(&sb, ev->signature);
	strbuf_printf(&sb, ",\"body\":\"%s\",\"received\":%lld}", b64, (long long)received);
	free(b64);
	if (sb.oom) {
		strbuf_free(&sb);
		return NULL;
	}
	return strbuf_steal_fit(&sb, &len);
}

void verdict_record_change(struct controller *c, struct node *n, enum verdict old)
{
	verdict_record_change_explained(c, n, old, NULL);
}

void verdict_record_change_explained(struct controller *c, struct node *n, enum verdict old,
				     const struct trust_eval *te)
{
	struct strbuf sb;

	c->stats.verdict_changes++;
	verdict_log(n);
	strbuf_init(&sb);
	record_render_verdict(&sb, n, revisions_next(&c->rv));
	record_journal(c, &sb, true);
	strbuf_free(&sb);
	node_publish(c, n, REV_VERDICT);
	strbuf_init(&sb);
	strbuf_printf(&sb, "\"node_id\":\"%s\",\"from\":\"%s\",\"to\":\"%s\",\"reason\":",
		      n->id, verdict_name(old), verdict_name(n->verdict));
	strbuf_json_string(&sb, n->reason);
	strbuf_printf(&sb, ",\"epoch\":%llu", (unsigned long long)c->epoch.id);
	/* the v1 rule's evidence (re-checked offline by audit-verify) */
	if (n->verdict == VERDICT_DENIED && n->pin != PIN_DENIED && (!te || !te->policy_version))
		render_evidence(&sb, c, n);
	if (te) {
		/* the evidence: the attestations exactly as signed, the policy version */
		trust_audit_fields(&c->trust, te, &n->trust, n->evidence, &sb);
		if (!c->loading) {
			unsigned int i;

			log_info("%s: decided by rule %s (policy v%llu)", n->id, te->r.rule,
				 (unsigned long long)te->policy_version);
			for (i = 0; i < te->r.n_missing; i++)
				log_info("%s:   missing: %s", n->id, te->r.missing[i]);
		}
	}
	record_audit(c, "verdict", &sb);
	strbuf_free(&sb);
}

#define FLAP_WINDOW 600
#define FLAP_HOLD_MAX 3600

/* A flip to DENIED: the second and later within FLAP_WINDOW hold readmission down. */
static void note_denied_flip(struct controller *c, struct node *n, int64_t now)
{
	int64_t hold = 0;

	n->flaps = n->last_denied_flip && now - n->last_denied_flip < FLAP_WINDOW ?
		   n->flaps + 1 : 1;
	n->last_denied_flip = now;
	if (n->flaps >= 2 && c->cfg->flap_hold_down) {
		unsigned int shift = n->flaps - 2 > 12 ? 12 : n->flaps - 2;

		hold = c->cfg->flap_hold_down << shift;
		if (hold > FLAP_HOLD_MAX)
			hold = FLAP_HOLD_MAX;
	}
	n->admit_not_before = now + hold;
}

/* New words for an unchanged verdict: the node's own statements show them. */
void verdict_set_reason(struct controller *c, struct node *n, const char *reason)
{
	if (!strcmp(n->reason, reason))
		return;
	snprintf(n->reason, sizeof(n->reason), "%s", reason);
	if (!c->loading)
		node_publish(c, n, REV_NONE);
}

/* Flap damping: a readmission waits out the node's hold-down. */
static void damp(const struct node *n, int64_t now, struct trust_eval *te)
{
	if (te->r.verdict != VERDICT_ALLOWED || n->verdict != VERDICT_DENIED ||
	    n->admit_not_before <= now)
		return;
	snprintf(te->r.reason, sizeof(te->r.reason), "flapped %u times: readmission held for %llds",
		 n->flaps, (long long)(n->admit_not_before - now));
	snprintf(te->r.rule, sizeof(te->r.rule), "flap-damping");
	te->r.verdict = VERDICT_DENIED;
}

/* Re-evaluates n now; records and returns true if its verdict changed. */
bool verdict_evaluate_node(struct controller *c, struct node *n, int64_t now)
{
	enum verdict old = n->verdict;
	struct trust_eval te;

	verdict_decide(c, n, now, false, &te);
	damp(n, now, &te);
	n->trust.good_streak = te.r.good_streak;
	snprintf(n->rule, sizeof(n->rule), "%s", te.r.rule);
	if (te.r.verdict == old) {
		/* Keep the words current without journaling every epoch. */
		verdict_set_reason(c, n, te.r.reason);
		return false;
	}
	if (te.r.verdict == VERDICT_DENIED)
		note_denied_flip(c, n, now);
	node_set_verdict(c, n, te.r.verdict, te.r.reason, now);
	verdict_record_change_explained(c, n, old, &te);
	return true;
}

static uint64_t max_epoch(uint64_t a, uint64_t b)
{
	return a > b ? a : b;
}

uint64_t verdict_new_result_locked(struct controller *c, struct node *n, int64_t now,
				   struct strbuf *explanation, struct trust_eval *out)
{
	struct trust_eval te;
	uint64_t new_epoch;

	/* a time-locked policy due now decides this result */
	new_epoch = controller_policy_tick_locked(c, now);
	verdict_decide(c, n, now, true, &te);
	damp(n, now, &te);
	n->trust.good_streak = te.r.good_streak;
	if (te.r.verdict == n->verdict) {
		verdict_set_reason(c, n, te.r.reason);
		snprintf(n->rule, sizeof(n->rule), "%s", te.r.rule);
	} else {
		if (te.r.verdict == VERDICT_DENIED) {
			/* Quarantine now: the verdict (published at once), then an epoch. */
			snprintf(n->rule, sizeof(n->rule), "%s", te.r.rule);
			note_denied_flip(c, n, now);
			node_set_verdict(c, n, te.r.verdict, te.r.reason, now);
			verdict_record_change_explained(c, n, VERDICT_ALLOWED, &te);
			new_epoch = max_epoch(new_epoch,
					      epochs_request_rotation_locked(c, now, "node denied"));
		} else {
			/* Admission comes with the next epoch (its own, slower limit). */
			new_epoch = max_epoch(new_epoch, epochs_request_admission_locked(c, now));
		}
		c->status_dirty = true;
	}
	if (explanation)
		trust_explain_json(&te, now, explanation);
	if (out)
		*out = te;
	return new_epoch;
}

uint64_t verdicts_reevaluate_all_locked(struct controller *c, int64_t now, const char *why)
{
	size_t i, denied = 0, admitted = 0;
	uint64_t e = 0;

	for (i = 0; i < c->n_nodes; i++) {
		struct node *n = c->nodes[i];
		enum verdict old = n->verdict;
		struct trust_eval te;

		verdict_decide(c, n, now, false, &te);
		damp(n, now, &te);
		if (te.r.verdict == old || te.r.verdict == VERDICT_ALLOWED) {
			/* admissions come with the admission epoch, which re-evaluates */
			admitted += te.r.verdict != old;
			if (te.r.verdict == old) {
				verdict_set_reason(c, n, te.r.reason);
				snprintf(n->rule, sizeof(n->rule), "%s", te.r.rule);
			}
			continue;
		}
		n->trust.good_streak = te.r.good_streak;
		snprintf(n->rule, sizeof(n->rule), "%s", te.r.rule);
		note_denied_flip(c, n, now);
		node_set_verdict(c, n, te.r.verdict, te.r.reason, now);
		verdict_record_change_explained(c, n, old, &te);
		denied++;
	}
	if (denied || admitted) {
		c->status_dirty = true;
		log_info("%s: %zu node(s) denied, %zu qualify", why, denied, admitted);
		if (denied)
			e = max_epoch(e, epochs_request_rotation_locked(c, now, why));
		if (admitted)
			e = max_epoch(e, epochs_request_admission_locked(c, now));
	}
	controller_commit_locked(c);
	return denied || admitted ? (e ? e : 1) : 0;	/* non-zero: tell the listeners */
}

/*
 * Whether benchmark b is a plain record: n is ALLOWED and stays ALLOWED by
 * it, decided on a copy of n exactly as verdict_new_result_locked() will
 * decide on n (no policy waiting to take effect, no verdict change). Only
 * that case: what this controller knows of n may be milliseconds behind
 * the others, and a benchmark that fails the rule must never be decided on
 * that (another controller may have just readmitted n): it takes the write
 * lock and is decided on the caught-up state. A passing benchmark decided
 * on a stale ALLOWED only leaves a concurrent quarantine in force until the
 * node's next benchmark or epoch (fail-safe).
 */
static bool benchmark_is_plain(const struct controller *c, const struct node *n,
			       const struct benchmark *b, int64_t now)
{
	struct trust_eval te;
	struct node next;

	if (c->trust.pending || n->verdict != VERDICT_ALLOWED)
		return false;
	next = *n;
	next.has_benchmark = true;
	next.scores = b->scores;
	next.benchmark_time = b->time < now ? b->time : now;
	verdict_decide(c, &next, now, true, &te);
	damp(&next, now, &te);
	return te.r.verdict == VERDICT_ALLOWED;
}

int controller_submit_benchmark(struct controller *c, const char *id, const char *body,
				size_t body_len, const struct benchmark_evidence *ev,
				struct strbuf *out, uint64_t *seq, struct api_error *err)
{
	struct strbuf sb, expl;
	struct trust_eval te;
	struct json_object *obj;
	struct benchmark b;
	int64_t now = controller_now();
	uint64_t new_epoch = 0;
	struct node *n, next;
	size_t revisions;
	bool plain;
	int ret;

	obj = controller_parse_json_body(body, body_len, err);
	if (!obj)
		return -1;
	ret = benchmark_parse(obj, id, now, c->cfg->clock_skew, &b, err);
	json_object_put(obj);
	if (ret)
		return -1;

	pthread_mutex_lock(&c->lock);
	n = controller_find(c, id);
	plain = n && benchmark_is_plain(c, n, &b, now);
	if (n && !plain) {
		/*
		 * A shared store: a benchmark that changes a verdict (or lets a
		 * time-locked policy take effect) writes revisions, so lock
		 * (catching up with the others' revisions and benchmarks) before
		 * anything changes, and decide again on what the lock brought. One
		 * that changes nothing is a plain record with its audit leaf: it
		 * commits without the lock (its leaf is sequenced into the log
		 * after the commit, store.h: defer_audit), so submissions on
		 * several controllers commit in parallel.
		 */
		if (controller_write_lock_locked(c, err)) {
			pthread_mutex_unlock(&c->lock);
			return -1;
		}
		n = controller_find(c, id);
	}
	if (!n) {	/* removed since authentication */
		pthread_mutex_unlock(&c->lock);
		api_error_set(err, 401, "unknown_node", "node %s is not enrolled", id);
		return -1;
	}
	if (b.demo_scores && !c->cfg->allow_demo_scores) {
		c->stats.demo_scores_refused++;
		pthread_mutex_unlock(&c->lock);
		log_warn("%s: benchmark refused: demo scores (made up by the agent's generator; "
			 "ALLOW_DEMO_SCORES=0)", id);
		api_error_set(err, 403, "demo_scores_refused",
			      "this controller refuses demo scores: set BENCH_CMD on node %s "
			      "(or ALLOW_DEMO_SCORES=1 on the controller for a demo)", id);
		return -1;
	}
	/* Persist first: a benchmark that cannot be journaled changes nothing. */
	next = *n;
	next.has_benchmark = true;
	next.scores = b.scores;
	next.benchmark_time = b.time < now ? b.time : now;
	next.benchmark_received = now;
	memcpy(next.suite_version, b.suite_version, sizeof(b.suite_version));
	next.demo_scores = b.demo_scores;
	next.benchmark_measured = b.measured < next.benchmark_time ? b.measured :
				  next.benchmark_time;
	strbuf_init(&sb);
	record_render_bench(&sb, &next);
	if (record_journal(c, &sb, false)) {
		strbuf_free(&sb);
		pthread_mutex_unlock(&c->lock);
		api_error_set(err, 500, "storage", "could not persist the benchmark");
		return -1;
	}
	strbuf_free(&sb);
	n->has_benchmark = true;
	n->scores = next.scores;
	n->benchmark_time = next.benchmark_time;
	n->benchmark_received = now;
	n->last_update = now;
	memcpy(n->suite_version, next.suite_version, sizeof(next.suite_version));
	n->demo_scores = next.demo_scores;
	n->benchmark_measured = next.benchmark_measured;
	c->stats.benchmarks_accepted++;
	if (ev) {
		char *e = evidence_json(ev, body, body_len, now);

		if (e) {
			free(n->evidence);
			n->evidence = e;
		}
	}
	strbuf_init(&sb);
	strbuf_printf(&sb, "\"node_id\":\"%s\",\"suite_version\":", n->id);
	strbuf_json_string(&sb, n->suite_version);
	strbuf_printf(&sb, ",\"overall\":%.17g,\"benchmark_unix\":%lld", n->scores.overall,
		      (long long)n->benchmark_time);
	if (!plain)
		record_audit(c, "benchmark", &sb);
	else if (!c->loading && (sb.oom || commit_add_audit_unlocked(c, "benchmark", sb.buf)))
		log_err("could not queue 'benchmark' for the audit log");
	strbuf_free(&sb);
	n->history[n->history_next] = (struct score_sample){ .scores = n->scores,
		.time = n->benchmark_time, .demo = n->demo_scores };
	n->history_next = (uint8_t)((n->history_next + 1) % NODE_HISTORY);
	if (n->history_len < NODE_HISTORY)
		n->history_len++;

	strbuf_init(&expl);
	revisions = c->open->n_revisions;
	new_epoch = verdict_new_result_locked(c, n, now, &expl, &te);
	if (plain && !c->open->tx && (c->open->n_revisions != revisions || new_epoch))
		log_err("%s: a benchmark decided as a plain record wrote a revision without the "
			"write lock", id);
	strbuf_printf(out, "{\"accepted\":true,\"membership\":\"%s\",\"reason\":",
		      verdict_name(n->verdict));
	strbuf_json_string(out, n->reason);
	if (te.r.verdict != n->verdict) {
		/* Deferred: say what the benchmark earned and that it is not in force yet. */
		strbuf_printf(out, ",\"pending\":{\"membership\":\"%s\",\"reason\":",
			      verdict_name(te.r.verdict));
		strbuf_json_string(out, te.r.reason);
		strbuf_puts(out, ",\"effective\":\"with the next epoch\"}");
	}
	strbuf_printf(out, ",\"rule\":\"%s\",\"epoch\":%llu,\"revision\":%llu,\"explanation\":",
		      n->rule, (unsigned long long)c->epoch.id, (unsigned long long)c->rv.head);
	strbuf_append(out, expl.buf ? expl.buf : "null", expl.buf ? expl.len : 4);
	strbuf_puts(out, "}");
	strbuf_free(&expl);
	*seq = controller_commit_locked(c);
	*seq = controller_commit_locked(c);
	pthread_mutex_unlock(&c->lock);
	epochs_notify(c, new_epoch);
	return 0;
}

