// SPDX-License-Identifier: MIT
/*
 * Acknowledged enforcement: expected table digests per revision, what each
 * node reported, and how fast a quarantine was confirmed (acks.h).
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "acks.h"
#include "b64.h"
#include "controller.h"
#include "log.h"
#include "timefmt.h"

struct rev_digest {
	uint64_t revision;
	int64_t time_ms;		/* when it was made */
	struct meshnet_table_digest g;	/* every node's terms after it */
};

struct ack_slot {
	bool present, acked;
	uint8_t verdict;		/* 1 ALLOWED, 2 DENIED (its current one) */
	bool has_prev;
	uint64_t enrol_rev;		/* 0: enrolled before the controller started */
	uint64_t term_rev, prev_rev;	/* since when term / prev_term held */
	uint8_t term[32], prev_term[32];
	uint8_t prev_verdict;
	/* the last ack */
	uint64_t applied_rev, max_acked, epoch;
	int64_t applied_unix, ack_ms;
	int8_t drift;
	char agent_version[ACKS_VERSION_MAX];
};

struct quarantine {
	char node_id[64];
	uint32_t slot;
	uint64_t revision;
	int64_t created_ms, last_confirm_ms;
	uint32_t expected, confirmed;
};

struct acks {
	pthread_mutex_t lock;
	struct meshnet_table_digest g;	/* now */
	size_t n_allowed;
	/* G(R) for the last ACKS_REVISIONS revisions, in order */
	struct rev_digest *ring;
	size_t ring_start, ring_len;
	/* before the ring's first entry: valid from base_rev (the start's head) */
	uint64_t base_rev;
	struct meshnet_table_digest base_g;
	bool base_valid;
	struct ack_slot *slots;
	size_t n_slots;
	struct quarantine q[ACKS_QUARANTINES];
	size_t q_next, q_len;
	uint64_t acks_total;
};

struct acks *acks_new(void)
{
	struct acks *a = calloc(1, sizeof(*a));

	if (!a)
		return NULL;
	a->ring = calloc(ACKS_REVISIONS, sizeof(*a->ring));
	if (!a->ring) {
		free(a);
		return NULL;
	}
	pthread_mutex_init(&a->lock, NULL);
	a->base_valid = true;	/* revision 0: the empty table */
	return a;
}

void acks_free(struct acks *a)
{
	if (!a)
		return;
	pthread_mutex_destroy(&a->lock);
	free(a->ring);
	free(a->slots);
	free(a);
}

static struct ack_slot *slot_get(struct acks *a, uint32_t slot)
{
	if (slot >= a->n_slots) {
		size_t n = a->n_slots ? a->n_slots : 64;
		struct ack_slot *s;

		while (n <= slot)
			n *= 2;
		s = realloc(a->slots, n * sizeof(*s));
		if (!s)
			return NULL;
		memset(s + a->n_slots, 0, (n - a->n_slots) * sizeof(*s));
		a->slots = s;
		a->n_slots = n;
	}
	return &a->slots[slot];
}

static void add_term(struct meshnet_table_digest *d, const uint8_t term[32], bool subtract)
{
	meshnet_table_digest_add_term(d, term, subtract);
}

static void ring_push(struct acks *a, uint64_t revision, int64_t now_ms)
{
	struct rev_digest *e;

	if (a->ring_len && a->ring[(a->ring_start + a->ring_len - 1) % ACKS_REVISIONS].revision >=
			   revision) {
		/* the same revision again (a batch): its digest is the latest */
		a->ring[(a->ring_start + a->ring_len - 1) % ACKS_REVISIONS].g = a->g;
		return;
	}
	if (a->ring_len == ACKS_REVISIONS) {
		/* the oldest becomes the base: revisions before it are forgotten */
		a->base_rev = a->ring[a->ring_start].revision;
		a->base_g = a->ring[a->ring_start].g;
		a->base_valid = true;
		a->ring_start = (a->ring_start + 1) % ACKS_REVISIONS;
		a->ring_len--;
	}
	e = &a->ring[(a->ring_start + a->ring_len) % ACKS_REVISIONS];
	e->revision = revision;
	e->time_ms = now_ms;
	e->g = a->g;
	a->ring_len++;
}

/* The ring entry index of the last revision <= r, or -1. */
static long ring_find(const struct acks *a, uint64_t r)
{
	size_t lo = 0, hi = a->ring_len;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (a->ring[(a->ring_start + mid) % ACKS_REVISIONS].revision <= r)
			lo = mid + 1;
		else
			hi = mid;
	}
	return (long)lo - 1;
}

static const struct rev_digest *ring_at(const struct acks *a, long i)
{
	return &a->ring[(a->ring_start + (size_t)i) % ACKS_REVISIONS];
}

/* G at revision r; false if not kept. */
static bool g_at(const struct acks *a, uint64_t r, struct meshnet_table_digest *out)
{
	long i = ring_find(a, r);

	if (i >= 0) {
		*out = ring_at(a, i)->g;
		return true;
	}
	if (a->base_valid && r >= a->base_rev) {
		*out = a->base_g;
		return true;
	}
	return false;
}

void acks_on_node(struct acks *a, uint32_t slot, const char *node_id, uint64_t revision,
		  uint64_t head, const char *wg_public_key_b64, uint8_t verdict)
{
	uint8_t pub[32], term[32];
	struct ack_slot *s;
	bool was_allowed;

	if (meshnet_b64_decode_exact(pub, sizeof(pub), wg_public_key_b64))
		return;
	meshnet_table_digest_term(term, pub, verdict);
	pthread_mutex_lock(&a->lock);
	s = slot_get(a, slot);
	if (!s) {
		pthread_mutex_unlock(&a->lock);
		log_err("acks: out of memory");
		return;
	}
	if (s->present && !memcmp(s->term, term, sizeof(term))) {
		if (revision)
			ring_push(a, revision, controller_now_ms());
		pthread_mutex_unlock(&a->lock);
		return;
	}
	was_allowed = s->present && s->verdict == 1;
	if (s->present) {
		add_term(&a->g, s->term, true);
		a->n_allowed -= s->verdict == 1;
		memcpy(s->prev_term, s->term, sizeof(term));
		s->prev_rev = s->term_rev;
		s->prev_verdict = s->verdict;
		s->has_prev = true;
	} else {
		memset(s, 0, sizeof(*s));
		s->present = true;
		s->enrol_rev = revision;
	}
	memcpy(s->term, term, sizeof(term));
	s->verdict = verdict;
	s->term_rev = revision ? revision : head;
	add_term(&a->g, term, false);
	a->n_allowed += verdict == 1;
	if (revision) {
		ring_push(a, revision, controller_now_ms());
	} else {
		/* replayed at start: the state of the store's head */
		a->base_rev = head;
		a->base_g = a->g;
		a->base_valid = true;
	}
	if (revision && was_allowed && verdict == 2) {
		struct quarantine *q = &a->q[a->q_next];

		memset(q, 0, sizeof(*q));
		snprintf(q->node_id, sizeof(q->node_id), "%s", node_id);
		q->slot = slot;
		q->revision = revision;
		q->created_ms = controller_now_ms();
		q->expected = (uint32_t)a->n_allowed;
		a->q_next = (a->q_next + 1) % ACKS_QUARANTINES;
		if (a->q_len < ACKS_QUARANTINES)
			a->q_len++;
	}
	pthread_mutex_unlock(&a->lock);
}

void acks_on_remove(struct acks *a, uint32_t slot, uint64_t revision)
{
	struct ack_slot *s;

	pthread_mutex_lock(&a->lock);
	if (slot < a->n_slots && a->slots[slot].present) {
		s = &a->slots[slot];
		add_term(&a->g, s->term, true);
		a->n_allowed -= s->verdict == 1;
		memset(s, 0, sizeof(*s));
	}
	if (revision)
		ring_push(a, revision, controller_now_ms());
	pthread_mutex_unlock(&a->lock);
}

void acks_on_revision(struct acks *a, uint64_t revision)
{
	if (!revision)
		return;
	pthread_mutex_lock(&a->lock);
	ring_push(a, revision, controller_now_ms());
	pthread_mutex_unlock(&a->lock);
}

/* slot's own term at revision r; false if not known. */
static bool own_term_at(const struct ack_slot *s, uint64_t r, uint8_t term[32], uint8_t *verdict)
{
	if (r >= s->term_rev) {
		memcpy(term, s->term, 32);
		*verdict = s->verdict;
		return true;
	}
	if (s->has_prev && r >= s->prev_rev) {
		memcpy(term, s->prev_term, 32);
		*verdict = s->prev_verdict;
		return true;
	}
	return false;
}

/* Expected digest of slot's table at r (lock held); false if unknown. */
static bool expected_at(const struct acks *a, const struct ack_slot *s, uint64_t r,
			struct meshnet_table_digest *out)
{
	uint8_t term[32], verdict;

	if (!own_term_at(s, r, term, &verdict) || verdict != 1 || !g_at(a, r, out))
		return false;
	add_term(out, term, true);
	return true;
}

enum ack_drift acks_record(struct acks *a, uint32_t slot, const struct ack_report *rep,
			   int64_t now_ms, char expected_hex[MESHNET_TABLE_DIGEST_HEX_LEN + 1])
{
	struct meshnet_table_digest want;
	enum ack_drift drift = ACK_DRIFT_UNKNOWN;
	struct ack_slot *s;

	expected_hex[0] = '\0';
	pthread_mutex_lock(&a->lock);
	s = slot < a->n_slots ? &a->slots[slot] : NULL;
	if (!s || !s->present) {
		pthread_mutex_unlock(&a->lock);
		return ACK_DRIFT_UNKNOWN;
	}
	if (expected_at(a, s, rep->revision, &want)) {
		meshnet_table_digest_hex(&want, expected_hex);
		drift = memcmp(want.sum, rep->digest.sum, sizeof(want.sum)) ? ACK_DRIFT :
			ACK_DRIFT_NONE;
	}
	/* quarantines this ack confirms (each peer once: max_acked only grows) */
	if (s->verdict == 1 && rep->revision > s->max_acked) {
		for (size_t i = 0; i < a->q_len; i++) {
			struct quarantine *q = &a->q[i];

			if (q->slot == slot || q->revision <= s->max_acked ||
			    q->revision > rep->revision || s->enrol_rev >= q->revision ||
			    q->confirmed >= q->expected)
				continue;
			q->confirmed++;
			q->last_confirm_ms = now_ms;
		}
	}
	if (rep->revision > s->max_acked)
		s->max_acked = rep->revision;
	s->acked = true;
	s->applied_rev = rep->revision;
	s->epoch = rep->epoch;
	s->applied_unix = rep->applied_unix;
	s->ack_ms = now_ms;
	s->drift = (int8_t)drift;
	memcpy(s->agent_version, rep->agent_version, sizeof(s->agent_version));
	a->acks_total++;
	pthread_mutex_unlock(&a->lock);
	return drift;
}

bool acks_node_view(struct acks *a, uint32_t slot, struct ack_node_view *out)
{
	bool ok = false;

	pthread_mutex_lock(&a->lock);
	if (slot < a->n_slots && a->slots[slot].present && a->slots[slot].acked) {
		const struct ack_slot *s = &a->slots[slot];

		out->applied_revision = s->applied_rev;
		out->epoch = s->epoch;
		out->applied_unix = s->applied_unix;
		out->ack_unix = s->ack_ms / 1000;
		out->drift = (enum ack_drift)s->drift;
		memcpy(out->agent_version, s->agent_version, sizeof(out->agent_version));
		ok = true;
	}
	pthread_mutex_unlock(&a->lock);
	return ok;
}

/* ---- renderings (a->lock held) ---- */

/* Seconds slot has been behind head: since the first revision it lacks. */
static int64_t lag_seconds(const struct acks *a, uint64_t applied, uint64_t head, int64_t now_ms)
{
	long i;

	if (applied >= head || !a->ring_len)
		return 0;
	i = ring_find(a, applied) + 1;	/* the first entry > applied */
	if ((size_t)i >= a->ring_len)
		return 0;
	return (now_ms - ring_at(a, i)->time_ms) / 1000;
}

static const char *drift_json(int8_t d)
{
	return d == ACK_DRIFT ? "true" : d == ACK_DRIFT_NONE ? "false" : "null";
}

static void render_slot(const struct acks *a, const struct ack_slot *s, uint64_t head,
			int64_t now_ms, struct strbuf *out)
{
	char ts[MESHNET_RFC3339_LEN];

	if (!s->acked) {
		strbuf_puts(out, "{\"acked\":false}");
		return;
	}
	meshnet_rfc3339_format(ts, s->ack_ms / 1000);
	strbuf_printf(out, "{\"acked\":true,\"applied_revision\":%llu,\"epoch\":%llu,"
		      "\"lag_revisions\":%llu,\"lag_seconds\":%lld,\"drift\":%s,"
		      "\"applied_unix\":%lld,\"last_ack_utc\":\"%s\",\"agent_version\":",
		      (unsigned long long)s->applied_rev, (unsigned long long)s->epoch,
		      (unsigned long long)(head > s->applied_rev ? head - s->applied_rev : 0),
		      (long long)lag_seconds(a, s->applied_rev, head, now_ms), drift_json(s->drift),
		      (long long)s->applied_unix, ts);
	strbuf_json_string(out, s->agent_version);
	strbuf_puts(out, "}");
}

void acks_render_node(struct acks *a, uint32_t slot, uint64_t head, int64_t now,
		      struct strbuf *out)
{
	pthread_mutex_lock(&a->lock);
	if (slot < a->n_slots && a->slots[slot].present) {
		strbuf_puts(out, ",\"enforcement\":");
		render_slot(a, &a->slots[slot], head, now * 1000, out);
	}
	pthread_mutex_unlock(&a->lock);
}

/* The quarantines, newest first. */
static void render_quarantines(const struct acks *a, int64_t now_ms, struct strbuf *out)
{
	strbuf_puts(out, "[");
	for (size_t k = 0; k < a->q_len; k++) {
		const struct quarantine *q =
			&a->q[(a->q_next + ACKS_QUARANTINES - 1 - k) % ACKS_QUARANTINES];
		char ts[MESHNET_RFC3339_LEN];
		bool all = q->confirmed >= q->expected;

		meshnet_rfc3339_format(ts, q->created_ms / 1000);
		strbuf_printf(out, "%s{\"node_id\":", k ? "," : "");
		strbuf_json_string(out, q->node_id);
		strbuf_printf(out, ",\"revision\":%llu,\"time_utc\":\"%s\",\"peers\":%u,"
			      "\"confirmed\":%u,\"all_confirmed\":%s,\"all_confirmed_ms\":",
			      (unsigned long long)q->revision, ts, q->expected, q->confirmed,
			      all ? "true" : "false");
		if (all)
			strbuf_printf(out, "%lld", (long long)(q->confirmed ?
				      q->last_confirm_ms - q->created_ms : 0));
		else
			strbuf_puts(out, "null");
		strbuf_printf(out, ",\"age_ms\":%lld}", (long long)(now_ms - q->created_ms));
	}
	strbuf_puts(out, "]");
}

struct summary {
	size_t acked, lagging, drifting, never;
	uint64_t min_applied;
};

static void summarize(const struct acks *a, struct controller *c, uint64_t head,
		      struct summary *sum)
{
	memset(sum, 0, sizeof(*sum));
	sum->min_applied = head;
	for (size_t i = 0; i < c->n_nodes; i++) {
		uint32_t slot = c->nodes[i]->slot;
		const struct ack_slot *s = slot < a->n_slots ? &a->slots[slot] : NULL;

		if (!s || !s->acked) {
			sum->never++;
			sum->min_applied = 0;
			continue;
		}
		sum->acked++;
		sum->lagging += s->applied_rev < head;
		sum->drifting += s->drift == ACK_DRIFT;
		if (s->applied_rev < sum->min_applied)
			sum->min_applied = s->applied_rev;
	}
}

void acks_render_json(struct acks *a, struct controller *c, uint64_t head, int64_t now,
		      bool per_node, struct strbuf *out)
{
	struct meshnet_table_digest g;
	char hex[MESHNET_TABLE_DIGEST_HEX_LEN + 1];
	struct summary sum;

	pthread_mutex_lock(&a->lock);
	summarize(a, c, head, &sum);
	g = a->g;
	meshnet_table_digest_hex(&g, hex);
	strbuf_printf(out, "{\"head_revision\":%llu,\"mesh_digest\":\"%s\",\"nodes\":%zu,"
		      "\"acked\":%zu,\"never_acked\":%zu,\"lagging\":%zu,\"drifting\":%zu,"
		      "\"min_applied_revision\":%llu,\"acks_received\":%llu,\"quarantines\":",
		      (unsigned long long)head, hex, c->n_nodes, sum.acked, sum.never, sum.lagging,
		      sum.drifting, (unsigned long long)sum.min_applied,
		      (unsigned long long)a->acks_total);
	render_quarantines(a, now * 1000, out);
	if (per_node) {
		strbuf_puts(out, ",\"per_node\":{");
		for (size_t i = 0; i < c->n_nodes; i++) {
			uint32_t slot = c->nodes[i]->slot;

			strbuf_printf(out, "%s\"%s\":", i ? "," : "", c->nodes[i]->id);
			if (slot < a->n_slots)
				render_slot(a, &a->slots[slot], head, now * 1000, out);
			else
				strbuf_puts(out, "{\"acked\":false}");
		}
		strbuf_puts(out, "}");
	}
	strbuf_puts(out, "}");
	pthread_mutex_unlock(&a->lock);
}

/* One family per metric name (the text format wants each one grouped). */
static void render_quarantine_metrics(const struct acks *a, bool per_node, struct strbuf *out)
{
	static const char *const names[] = {
		"meshnet_quarantine_peers", "meshnet_quarantine_confirmed",
		"meshnet_quarantine_all_confirmed_seconds",
	};
	static const char *const help[] = {
		"ALLOWED peers when the node was quarantined.",
		"Peers that acknowledged the quarantine's revision (or a later one).",
		"Seconds from the quarantine to the last peer's acknowledgement.",
	};

	for (size_t m = 0; m < 3; m++) {
		strbuf_printf(out, "# HELP %s %s\n# TYPE %s gauge\n", names[m], help[m], names[m]);
		for (size_t k = 0; k < a->q_len; k++) {
			const struct quarantine *q = &a->q[k];
			bool all = q->confirmed >= q->expected;

			if (m == 2 && !all)
				continue;
			/* node ids only when asked for (METRICS_NODES_MAX) */
			if (per_node)
				strbuf_printf(out, "%s{node=\"%s\",revision=\"%llu\"} ", names[m],
					      q->node_id, (unsigned long long)q->revision);
			else
				strbuf_printf(out, "%s{revision=\"%llu\"} ", names[m],
					      (unsigned long long)q->revision);
			if (m == 0)
				strbuf_printf(out, "%u\n", q->expected);
			else if (m == 1)
				strbuf_printf(out, "%u\n", q->confirmed);
			else
				strbuf_printf(out, "%.3f\n", q->confirmed ?
					      (double)(q->last_confirm_ms - q->created_ms) / 1000.0 :
					      0.0);
		}
	}
}

void acks_render_metrics(struct acks *a, struct controller *c, uint64_t head, int64_t now,
			 struct strbuf *out)
{
	struct summary sum;
	/* the first METRICS_NODES_MAX nodes, as the other meshnet_node_* series */
	size_t shown = c->n_nodes < (size_t)c->cfg->metrics_nodes_max ? c->n_nodes :
		       (size_t)c->cfg->metrics_nodes_max;
	bool per_node = shown > 0;

	pthread_mutex_lock(&a->lock);
	summarize(a, c, head, &sum);
	strbuf_printf(out,
		      "# HELP meshnet_ack_nodes Nodes by acknowledgement state.\n"
		      "# TYPE meshnet_ack_nodes gauge\n"
		      "meshnet_ack_nodes{state=\"acked\"} %zu\n"
		      "meshnet_ack_nodes{state=\"never\"} %zu\n"
		      "meshnet_ack_nodes{state=\"lagging\"} %zu\n"
		      "meshnet_ack_nodes{state=\"drifting\"} %zu\n"
		      "# HELP meshnet_ack_min_applied_revision Lowest revision a node applied.\n"
		      "# TYPE meshnet_ack_min_applied_revision gauge\n"
		      "meshnet_ack_min_applied_revision %llu\n"
		      "# HELP meshnet_acks_received_total Acks recorded.\n"
		      "# TYPE meshnet_acks_received_total counter\n"
		      "meshnet_acks_received_total %llu\n",
		      sum.acked, sum.never, sum.lagging, sum.drifting,
		      (unsigned long long)sum.min_applied, (unsigned long long)a->acks_total);
	if (per_node) {
		static const char *const names[] = {
			"meshnet_node_applied_revision", "meshnet_node_lag_revisions",
			"meshnet_node_lag_seconds", "meshnet_node_drift",
			"meshnet_node_last_ack_seconds",
		};
		static const char *const help[] = {
			"Revision the node's module applied (its last ack).",
			"Head revision minus the applied one.",
			"Seconds since the first revision the node has not applied.",
			"1 if the node's table digest differs from the expected one.",
			"Unix time of the node's last ack.",
		};

		for (size_t m = 0; m < sizeof(names) / sizeof(names[0]); m++) {
			strbuf_printf(out, "# HELP %s %s\n# TYPE %s gauge\n", names[m], help[m],
				      names[m]);
			for (size_t i = 0; i < shown; i++) {
				uint32_t slot = c->nodes[i]->slot;
				const struct ack_slot *s = slot < a->n_slots ? &a->slots[slot] :
							   NULL;
				long long v;

				if (!s || !s->acked)
					continue;
				switch (m) {
				case 0: v = (long long)s->applied_rev; break;
				case 1: v = (long long)(head > s->applied_rev ?
							head - s->applied_rev : 0); break;
				case 2: v = (long long)lag_seconds(a, s->applied_rev, head,
								   now * 1000); break;
				case 3: v = s->drift == ACK_DRIFT; break;
				default: v = (long long)(s->ack_ms / 1000); break;
				}
				strbuf_printf(out, "%s{node=\"%s\"} %lld\n", names[m],
					      c->nodes[i]->id, v);
			}
		}
		strbuf_puts(out, "# HELP meshnet_node_agent_info The agent version a node reported.\n"
			    "# TYPE meshnet_node_agent_info gauge\n");
		for (size_t i = 0; i < shown; i++) {
			uint32_t slot = c->nodes[i]->slot;
			const struct ack_slot *s = slot < a->n_slots ? &a->slots[slot] : NULL;

			if (s && s->acked && *s->agent_version)
				strbuf_printf(out, "meshnet_node_agent_info{node=\"%s\",version=\"%s\"} 1\n",
					      c->nodes[i]->id, s->agent_version);
		}
	}
	render_quarantine_metrics(a, per_node, out);
	pthread_mutex_unlock(&a->lock);
}
