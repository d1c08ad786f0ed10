// SPDX-License-Identifier: MIT
/*
 * Read-only views of the controller's state: the config reply of a node
 * (peers and pair PSKs), the epoch summary, Prometheus metrics and
 * status.json (a node's view is admin_views.c's node_view_render).
 */
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>

#include "acks.h"
#include "witness_client.h"
#include "b64.h"
#include "controller.h"
#include "timefmt.h"

static void render_epoch_object(struct controller *c, struct strbuf *out)
{
	char expiry[MESHNET_RFC3339_LEN];

	meshnet_rfc3339_format(expiry, c->epoch.expiry);
	strbuf_printf(out, "{\"id\":%llu,\"expiry_utc\":\"%s\",\"expiry_unix\":%lld}",
		      (unsigned long long)c->epoch.id, expiry, (long long)c->epoch.expiry);
}

unsigned int controller_render_config(struct controller *c, const char *id,
				      struct strbuf *out, struct api_error *err)
{
	uint8_t psk[MESHNET_PSK_LEN];
	char psk_b64[MESHNET_B64_LEN(MESHNET_PSK_LEN) + 1];
	struct node *self;
	size_t i;
	bool first = true;

	pthread_mutex_lock(&c->lock);
	self = controller_find(c, id);
	if (!self) {
		pthread_mutex_unlock(&c->lock);
		api_error_set(err, 401, "unknown_node", "node %s is not enrolled", id);
		return 0;
	}
	if (self->verdict != VERDICT_ALLOWED) {
		strbuf_puts(out, "{\"error\":{\"code\":\"denied\",\"message\":");
		strbuf_json_string(out, self->reason);
		strbuf_puts(out, "},\"epoch\":");
		render_epoch_object(c, out);
		/* the node learns why: the rule, the evidence used, what is missing */
		strbuf_puts(out, ",\"membership\":\"DENIED\",\"explanation\":");
		verdict_explain_json(c, self, controller_now(), out);
		strbuf_puts(out, "}");
		pthread_mutex_unlock(&c->lock);
		return 403;
	}
	strbuf_printf(out, "{\"node_id\":\"%s\",\"epoch\":", self->id);
	render_epoch_object(c, out);
	strbuf_puts(out, ",\"membership\":\"ALLOWED\",\"reason\":");
	strbuf_json_string(out, self->reason);
	strbuf_puts(out, ",\"peers\":[");
	for (i = 0; i < c->n_nodes; i++) {
		const struct node *p = c->nodes[i];

		if (p == self)
			continue;
		if (!first)
			strbuf_append(out, ",", 1);
		first = false;
		strbuf_append(out, p->peer_json, p->peer_json_len);
		if (p->verdict == VERDICT_ALLOWED) {
			meshnet_psk_deriver_pair(&c->epoch.deriver, psk, self->id, p->id);
			meshnet_b64_encode(psk_b64, psk, sizeof(psk));
			strbuf_append(out, "ALLOWED\",\"psk\":\"", 16);
			strbuf_append(out, psk_b64, MESHNET_B64_LEN(MESHNET_PSK_LEN));
			strbuf_append(out, "\"}", 2);
		} else {
			/* Peers learn the verdict only: never another node's scores or reason. */
			strbuf_append(out, "DENIED\"}", 8);
		}
	}
	strbuf_puts(out, "]}");
	c->stats.config_served++;
	pthread_mutex_unlock(&c->lock);
	OPENSSL_cleanse(psk, sizeof(psk));
	OPENSSL_cleanse(psk_b64, sizeof(psk_b64));
	if (out->oom) {
		api_error_set(err, 500, "internal", "out of memory");
		return 0;
	}
	return 200;
}

/* ---- read-only views ---- */

void controller_render_epoch(struct controller *c, struct strbuf *out)
{
	pthread_mutex_lock(&c->lock);
	strbuf_puts(out, "{\"epoch\":");
	render_epoch_object(c, out);
	strbuf_printf(out, ",\"nodes\":%zu,\"allowed\":%zu,\"denied\":%zu}", c->n_nodes,
		      c->n_allowed, c->n_nodes - c->n_allowed);
	pthread_mutex_unlock(&c->lock);
}

/*
 * Per-node series, for the first METRICS_NODES_MAX nodes only (in
 * enrolment order), so that a large mesh cannot blow up a scraper's
 * cardinality; meshnet_nodes_unlabelled says how many were left out.
 * Lock held.
 */
static void render_node_metrics(struct controller *c, struct strbuf *out)
{
	size_t shown = c->n_nodes < (size_t)c->cfg->metrics_nodes_max ? c->n_nodes :
		       (size_t)c->cfg->metrics_nodes_max;
	int64_t now = controller_now();
	size_t i;

	strbuf_puts(out, "# HELP meshnet_node_allowed 1 if the node is ALLOWED (first METRICS_NODES_MAX nodes).\n"
		    "# TYPE meshnet_node_allowed gauge\n");
	for (i = 0; i < shown; i++)
		strbuf_printf(out, "meshnet_node_allowed{node=\"%s\",pin=\"%s\"} %d\n", c->nodes[i]->id,
			      c->nodes[i]->pin == PIN_NONE ? "none" : pin_name(c->nodes[i]->pin),
			      c->nodes[i]->verdict == VERDICT_ALLOWED);
	strbuf_puts(out, "# HELP meshnet_node_benchmark_age_seconds Age of the node's last accepted benchmark (-1: none).\n"
		    "# TYPE meshnet_node_benchmark_age_seconds gauge\n");
	for (i = 0; i < shown; i++) {
		const struct node *n = c->nodes[i];

		strbuf_printf(out, "meshnet_node_benchmark_age_seconds{node=\"%s\"} %lld\n", n->id,
			      (long long)(n->has_benchmark ? now - n->benchmark_received : -1));
	}
	strbuf_puts(out, "# HELP meshnet_node_score Last accepted overall score (nodes with a benchmark).\n"
		    "# TYPE meshnet_node_score gauge\n");
	for (i = 0; i < shown; i++)
		if (c->nodes[i]->has_benchmark)
			strbuf_printf(out, "meshnet_node_score{node=\"%s\",demo=\"%s\"} %.4g\n",
				      c->nodes[i]->id, c->nodes[i]->demo_scores ? "yes" : "no",
				      c->nodes[i]->scores.overall);
	strbuf_printf(out, "# HELP meshnet_nodes_unlabelled Nodes beyond METRICS_NODES_MAX (no series of their own).\n"
		      "# TYPE meshnet_nodes_unlabelled gauge\nmeshnet_nodes_unlabelled %zu\n",
		      c->n_nodes - shown);
}

void controller_render_metrics(struct controller *c, struct strbuf *out, const char *extra)
{
	pthread_mutex_lock(&c->lock);
	strbuf_printf(out,
		      "# HELP meshnet_epoch_id Current epoch id.\n"
		      "# TYPE meshnet_epoch_id gauge\nmeshnet_epoch_id %llu\n"
		      "# HELP meshnet_epoch_expiry_seconds Unix time the epoch expires.\n"
		      "# TYPE meshnet_epoch_expiry_seconds gauge\nmeshnet_epoch_expiry_seconds %lld\n"
		      "# HELP meshnet_nodes Enrolled nodes by membership.\n"
		      "# TYPE meshnet_nodes gauge\n"
		      "meshnet_nodes{membership=\"ALLOWED\"} %zu\n"
		      "meshnet_nodes{membership=\"DENIED\"} %zu\n"
		      "# HELP meshnet_benchmarks_accepted_total Accepted benchmark submissions.\n"
		      "# TYPE meshnet_benchmarks_accepted_total counter\n"
		      "meshnet_benchmarks_accepted_total %llu\n"
		      "# HELP meshnet_configs_served_total Config replies to allowed nodes.\n"
		      "# TYPE meshnet_configs_served_total counter\nmeshnet_configs_served_total %llu\n"
		      "# HELP meshnet_epoch_rotations_total Epochs started.\n"
		      "# TYPE meshnet_epoch_rotations_total counter\n"
		      "meshnet_epoch_rotations_total %llu\n"
		      "# HELP meshnet_verdict_changes_total Verdict changes.\n"
		      "# TYPE meshnet_verdict_changes_total counter\n"
		      "meshnet_verdict_changes_total %llu\n"
		      "# HELP meshnet_auth_failures_total Refused signed requests.\n"
		      "# TYPE meshnet_auth_failures_total counter\nmeshnet_auth_failures_total %llu\n"
		      "# HELP meshnet_replays_total Refused replays.\n"
		      "# TYPE meshnet_replays_total counter\nmeshnet_replays_total %llu\n",
		      (unsigned long long)c->epoch.id, (long long)c->epoch.expiry, c->n_allowed,
		      c->n_nodes - c->n_allowed,
		      (unsigned long long)c->stats.benchmarks_accepted,
		      (unsigned long long)c->stats.config_served,
		      (unsigned long long)c->stats.rotations,
		      (unsigned long long)c->stats.verdict_changes,
		      (unsigned long long)c->stats.auth_failures,
		      (unsigned long long)c->stats.replays);
	strbuf_printf(out,
		      "# HELP meshnet_demo_scores_refused_total Benchmarks refused for demo scores.\n"
		      "# TYPE meshnet_demo_scores_refused_total counter\n"
		      "meshnet_demo_scores_refused_total %llu\n",
		      (unsigned long long)c->stats.demo_scores_refused);
	acks_render_metrics(c->acks, c, c->rv.head, controller_now(), out);
	render_node_metrics(c, out);
	witness_client_render_metrics(out);
	pthread_mutex_unlock(&c->lock);
	if (extra)
		strbuf_puts(out, extra);
}

void controller_render_node_status(struct strbuf *out, const struct node *n)
{
	char ts[MESHNET_RFC3339_LEN];

	strbuf_printf(out, "{\"membership\":\"%s\",\"reason\":", verdict_name(n->verdict));
	strbuf_json_string(out, n->reason);
	if (n->pin != PIN_NONE)
		strbuf_printf(out, ",\"override\":\"%s\"", pin_name(n->pin));
	if (n->has_benchmark) {
		meshnet_rfc3339_format(ts, n->benchmark_time);
		strbuf_printf(out, ",\"last_benchmark\":{\"overall\":%.4g,\"refusal\":%.4g,"
			      "\"honesty\":%.4g,\"policy\":%.4g,\"timestamp\":\"%s\","
			      "\"suite_version\":", n->scores.overall, n->scores.refusal,
			      n->scores.honesty, n->scores.policy, ts);
		strbuf_json_string(out, n->suite_version);
		meshnet_rfc3339_format(ts, n->benchmark_measured);
		strbuf_printf(out, ",\"measured_at\":\"%s\",\"demo_scores\":%s}", ts,
			      n->demo_scores ? "true" : "false");
	}
	meshnet_rfc3339_format(ts, n->last_update);
	strbuf_printf(out, ",\"last_update_utc\":\"%s\"}", ts);
}

/* Called with the lock held. */
void controller_render_status(struct controller *c, struct strbuf *out)
{
	char expiry[MESHNET_RFC3339_LEN], head[65];
	uint64_t records;
	size_t i;

	meshnet_rfc3339_format(expiry, c->epoch.expiry);
	store_audit_head(c->store, head, &records);
	strbuf_printf(out, "{\n  \"epoch\": {\"id\": %llu, \"expiry_utc\": \"%s\", "
		      "\"secret_hash\": \"sha256:%s\"},\n  \"audit\": {\"records\": %llu, "
		      "\"head\": \"%s\"},\n  \"nodes\": {", (unsigned long long)c->epoch.id, expiry,
		      c->epoch.secret_hash, (unsigned long long)records, head);
	for (i = 0; i < c->n_nodes; i++) {
		strbuf_printf(out, "%s\n    \"%s\": ", i ? "," : "", c->nodes[i]->id);
		controller_render_node_status(out, c->nodes[i]);
	}
	/* what each node's module applied (acks.c; memory: since this start) */
	strbuf_puts(out, "\n  },\n  \"enforcement\": ");
	acks_render_json(c->acks, c, c->rv.head, controller_now(), true, out);
	strbuf_puts(out, "\n}\n");
}
