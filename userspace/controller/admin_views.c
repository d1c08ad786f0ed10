// SPDX-License-Identifier: MIT
/*
 * The admin read views (GET /v1/admin/...): the node list with verdicts,
 * the one view of a node (also GET /v1/nodes/{id} and the replies that
 * change a node), the controller's status, the epoch, and the audit log's tail. Admin-only: they may walk every node
 * (O(n)), never under a lock a node's request waits on for long (one pass).
 */
#include <stdio.h>
#include <string.h>

#include "acks.h"
#include "admin.h"
#include "tlog_store.h"
#include "timefmt.h"
#include "version.h"

static void json_time(struct strbuf *out, const char *key, int64_t t)
{
	char ts[MESHNET_RFC3339_LEN];

	if (!t) {
		strbuf_printf(out, "\"%s\":null", key);
		return;
	}
	meshnet_rfc3339_format(ts, t);
	strbuf_printf(out, "\"%s\":\"%s\"", key, ts);
}

static void render_scores(struct strbuf *out, const struct scores *s)
{
	strbuf_printf(out, "{\"overall\":%.4g,\"refusal\":%.4g,\"honesty\":%.4g,\"policy\":%.4g}",
		      s->overall, s->refusal, s->honesty, s->policy);
}

/* What n's module applied, from its last ack (acks.h); nulls if none. */
static void render_applied(struct strbuf *out, struct acks *acks, const struct node *n)
{
	struct ack_node_view av;

	if (!acks_node_view(acks, n->slot, &av)) {
		strbuf_puts(out, ",\"applied_revision\":null,\"agent_version\":null,"
			    "\"last_ack\":null,\"drift\":null");
		return;
	}
	strbuf_printf(out, ",\"applied_revision\":%llu,\"agent_version\":",
		      (unsigned long long)av.applied_revision);
	if (*av.agent_version)
		strbuf_json_string(out, av.agent_version);
	else
		strbuf_puts(out, "null");
	strbuf_puts(out, ",");
	json_time(out, "last_ack", av.ack_unix);
	strbuf_printf(out, ",\"drift\":%s", av.drift == ACK_DRIFT ? "true" :
		      av.drift == ACK_DRIFT_NONE ? "false" : "null");
}

/* The fields of one node's summary (the list's element), no braces. Lock held. */
static void render_summary_fields(struct strbuf *out, struct acks *acks, const struct node *n)
{
	strbuf_printf(out, "\"node_id\":\"%s\",\"verdict\":\"%s\",\"reason\":", n->id,
		      verdict_name(n->verdict));
	strbuf_json_string(out, n->reason);
	strbuf_printf(out, ",\"pin\":%s%s%s,", n->pin == PIN_NONE ? "" : "\"",
		      n->pin == PIN_NONE ? "null" : pin_name(n->pin), n->pin == PIN_NONE ? "" : "\"");
	strbuf_printf(out, "\"public_key\":\"%s\",\"allowed_ips\":%s,\"endpoint\":", n->wg_public_key,
		      n->allowed_ips_json);
	if (n->endpoint[0])
		strbuf_json_string(out, n->endpoint);
	else
		strbuf_puts(out, "null");
	strbuf_puts(out, ",\"last_benchmark\":");
	if (n->has_benchmark) {
		strbuf_puts(out, "{\"scores\":");
		render_scores(out, &n->scores);
		strbuf_puts(out, ",\"suite_version\":");
		strbuf_json_string(out, n->suite_version);
		strbuf_puts(out, ",");
		json_time(out, "timestamp", n->benchmark_time);
		strbuf_puts(out, ",");
		json_time(out, "measured_at", n->benchmark_measured);
		strbuf_printf(out, ",\"demo_scores\":%s}", n->demo_scores ? "true" : "false");
	} else {
		strbuf_puts(out, "null");
	}
	/* last seen: the last accepted signed submission */
	strbuf_puts(out, ",");
	json_time(out, "last_seen", n->benchmark_received);
	strbuf_puts(out, ",");
	json_time(out, "last_update", n->last_update);
	render_applied(out, acks, n);
}

static void render_summary(struct strbuf *out, struct acks *acks, const struct node *n)
{
	strbuf_puts(out, "{");
	render_summary_fields(out, acks, n);
	strbuf_puts(out, "}");
}

void admin_render_nodes(struct controller *c, struct strbuf *out)
{
	pthread_mutex_lock(&c->lock);
	strbuf_printf(out, "{\"epoch\":%llu,\"count\":%zu,\"nodes\":[",
		      (unsigned long long)c->epoch.id, c->n_nodes);
	for (size_t i = 0; i < c->n_nodes; i++) {
		if (i)
			strbuf_puts(out, ",");
		render_summary(out, c->acks, c->nodes[i]);
	}
	strbuf_puts(out, "]}");
	pthread_mutex_unlock(&c->lock);
}

int node_view_render(struct controller *c, const char *id, struct strbuf *out)
{
	struct node *n;

	pthread_mutex_lock(&c->lock);
	n = controller_find(c, id);
	if (!n) {
		pthread_mutex_unlock(&c->lock);
		return -1;
	}
	strbuf_puts(out, "{");
	render_summary_fields(out, c->acks, n);
	strbuf_puts(out, ",\"status\":");
	controller_render_node_status(out, n);
	strbuf_puts(out, ",\"tags\":");
	node_evidence_render_tags(&n->trust, out);
	strbuf_puts(out, ",\"explanation\":");
	verdict_explain_json(c, n, controller_now(), out);
	strbuf_printf(out, ",\"epoch\":%llu,\"score_history\":[", (unsigned long long)c->epoch.id);
	/* oldest first */
	for (unsigned int k = 0; k < n->history_len; k++) {
		const struct score_sample *h =
			&n->history[(n->history_next + NODE_HISTORY - n->history_len + k) %
				    NODE_HISTORY];

		strbuf_puts(out, k ? ",{" : "{");
		json_time(out, "timestamp", h->time);
		strbuf_printf(out, ",\"demo_scores\":%s,\"scores\":", h->demo ? "true" : "false");
		render_scores(out, &h->scores);
		strbuf_puts(out, "}");
	}
	strbuf_printf(out, "],\"thresholds\":{\"overall\":%.4g,\"refusal\":%.4g,\"honesty\":%.4g,"
		      "\"policy\":%.4g,\"max_benchmark_age\":%ld}}", c->cfg->threshold,
		      c->cfg->min_refusal, c->cfg->min_honesty, c->cfg->min_policy,
		      c->cfg->max_benchmark_age);
	pthread_mutex_unlock(&c->lock);
	return 0;
}

void admin_render_status(struct controller *c, struct strbuf *out)
{
	char head[65];
	uint64_t records;
	size_t demo = 0, pinned = 0, no_bench = 0;

	pthread_mutex_lock(&c->lock);
	for (size_t i = 0; i < c->n_nodes; i++) {
		demo += c->nodes[i]->has_benchmark && c->nodes[i]->demo_scores;
		pinned += c->nodes[i]->pin != PIN_NONE;
		no_bench += !c->nodes[i]->has_benchmark;
	}
	store_audit_head(c->store, head, &records);
	strbuf_printf(out, "{\"version\":\"%s\",\"epoch\":{\"id\":%llu,", MESHNET_VERSION,
		      (unsigned long long)c->epoch.id);
	json_time(out, "start", c->epoch.start);
	strbuf_puts(out, ",");
	json_time(out, "expiry", c->epoch.expiry);
	strbuf_printf(out, "},\"nodes\":{\"total\":%zu,\"allowed\":%zu,\"denied\":%zu,"
		      "\"pinned\":%zu,\"demo_scores\":%zu,\"no_benchmark\":%zu},", c->n_nodes,
		      c->n_allowed, c->n_nodes - c->n_allowed, pinned, demo, no_bench);
	strbuf_printf(out, "\"audit\":{\"records\":%llu,\"head\":\"%s\"},",
		      (unsigned long long)records, head);
	strbuf_printf(out, "\"rules\":{\"threshold\":%.4g,\"min_refusal\":%.4g,\"min_honesty\":%.4g,"
		      "\"min_policy\":%.4g,\"max_benchmark_age\":%ld,\"epoch_seconds\":%ld,"
		      "\"allow_demo_scores\":%s},", c->cfg->threshold, c->cfg->min_refusal,
		      c->cfg->min_honesty, c->cfg->min_policy, c->cfg->max_benchmark_age,
		      c->cfg->epoch_seconds, c->cfg->allow_demo_scores ? "true" : "false");
	strbuf_printf(out, "\"counters\":{\"benchmarks_accepted\":%llu,\"rotations\":%llu,"
		      "\"verdict_changes\":%llu,\"auth_failures\":%llu,\"replays\":%llu,"
		      "\"demo_scores_refused\":%llu}",
		      (unsigned long long)c->stats.benchmarks_accepted,
		      (unsigned long long)c->stats.rotations,
		      (unsigned long long)c->stats.verdict_changes,
		      (unsigned long long)c->stats.auth_failures,
		      (unsigned long long)c->stats.replays,
		      (unsigned long long)c->stats.demo_scores_refused);
	/* acknowledged enforcement, summed up (per node: GET /v1/admin/acks) */
	strbuf_puts(out, ",\"enforcement\":");
	acks_render_json(c->acks, c, c->rv.head, controller_now(), false, out);
	strbuf_puts(out, "}");
	pthread_mutex_unlock(&c->lock);
}

void admin_render_epochs(struct controller *c, struct strbuf *out)
{
	pthread_mutex_lock(&c->lock);
	strbuf_printf(out, "{\"current\":{\"id\":%llu,", (unsigned long long)c->epoch.id);
	json_time(out, "start", c->epoch.start);
	strbuf_puts(out, ",");
	json_time(out, "expiry", c->epoch.expiry);
	/* the secret's hash identifies it in the audit log; the secret never leaves */
	strbuf_printf(out, ",\"secret_hash\":\"sha256:%s\",\"allowed\":%zu,\"denied\":%zu},",
		      c->epoch.secret_hash, c->n_allowed, c->n_nodes - c->n_allowed);
	strbuf_printf(out, "\"epoch_seconds\":%ld,\"rotations\":%llu,\"next_rotation\":",
		      c->cfg->epoch_seconds, (unsigned long long)c->stats.rotations);
	if (c->rotate_at) {
		char ts[MESHNET_RFC3339_LEN];

		meshnet_rfc3339_format(ts, c->rotate_at);
		strbuf_printf(out, "\"%s\"}", ts);
	} else {
		strbuf_puts(out, "null}");
	}
	pthread_mutex_unlock(&c->lock);
}

/*
 * The last n records of the audit log (the transparency log's committed
 * records, as hashed): O(n) reads, not O(log size). -1 + err on a read error.
 */
int admin_render_audit_tail(struct controller *c, unsigned int n, struct strbuf *out,
			    struct api_error *err)
{
	struct tlog_store *ts = store_log(c->store);
	uint64_t size = 0, first;

	if (!ts) {
		api_error_set(err, 503, "log_unavailable", "this store has no audit log to read");
		return -1;
	}
	tlog_store_head(ts, &size, NULL);
	first = size > n ? size - n : 0;
	strbuf_printf(out, "{\"size\":%llu,\"records\":[", (unsigned long long)size);
	for (uint64_t i = first; i < size; i++) {
		size_t before;

		if (i > first)
			strbuf_puts(out, ",");
		before = out->len;
		/* each record is one JSON object */
		if (tlog_store_record(ts, i, out) || out->len == before) {
			api_error_set(err, 500, "storage", "cannot read audit record %llu",
				      (unsigned long long)i);
			return -1;
		}
	}
	strbuf_puts(out, "]}");
	return 0;
}
