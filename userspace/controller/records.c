// SPDX-License-Identifier: MIT
/*
 * Journal and snapshot records: their JSON encoding, their replay at load
 * (record_apply) and compaction, and the audit entries that go with them.
 */
#include <stdio.h>
#include <string.h>

#include "controller.h"
#include "jsonutil.h"
#include "log.h"

/* {"rev":N,"kind":"K" (rev 0: a snapshot line, no revision of its own) */
static void record_start(struct strbuf *sb, uint64_t rev, const char *kind)
{
	if (rev)
		strbuf_printf(sb, "{\"rev\":%llu,\"kind\":\"%s\"", (unsigned long long)rev, kind);
	else
		strbuf_printf(sb, "{\"kind\":\"%s\"", kind);
}

void record_render_enrol(struct strbuf *sb, const struct node *n, uint64_t rev)
{
	record_start(sb, rev, "enrol");
	strbuf_printf(sb, ",\"node_id\":\"%s\",\"public_key\":\"%s\","
		      "\"allowed_ips\":%s,\"signing_key\":\"%s\"", n->id, n->wg_public_key,
		      n->allowed_ips_json, n->signing_key);
	if (*n->endpoint)
		strbuf_printf(sb, ",\"endpoint\":\"%s\"", n->endpoint);
	if (n->trust.n_tags) {
		strbuf_puts(sb, ",\"tags\":");
		node_evidence_render_tags(&n->trust, sb);
	}
	strbuf_puts(sb, "}");
}

void record_render_bench(struct strbuf *sb, const struct node *n)
{
	record_start(sb, 0, "bench");
	strbuf_printf(sb, ",\"node_id\":\"%s\",\"suite_version\":", n->id);
	strbuf_json_string(sb, n->suite_version);
	strbuf_printf(sb, ",\"time\":%lld,\"received\":%lld,\"scores\":{\"overall\":%.17g,"
		      "\"refusal\":%.17g,\"honesty\":%.17g,\"policy\":%.17g},"
		      "\"measured\":%lld,\"demo_scores\":%s}",
		      (long long)n->benchmark_time, (long long)n->benchmark_received,
		      n->scores.overall, n->scores.refusal, n->scores.honesty, n->scores.policy,
		      (long long)n->benchmark_measured, n->demo_scores ? "true" : "false");
}

void record_render_verdict(struct strbuf *sb, const struct node *n, uint64_t rev)
{
	record_start(sb, rev, "verdict");
	strbuf_printf(sb, ",\"node_id\":\"%s\",\"membership\":\"%s\","
		      "\"reason\":", n->id, verdict_name(n->verdict));
	strbuf_json_string(sb, n->reason);
	strbuf_printf(sb, ",\"at\":%lld}", (long long)n->last_update);
}

void record_render_pin(struct strbuf *sb, const struct node *n, uint64_t rev)
{
	record_start(sb, rev, "pin");
	strbuf_printf(sb, ",\"node_id\":\"%s\",\"pin\":\"%s\"}", n->id,
		      pin_name(n->pin));
}

int record_journal(struct controller *c, struct strbuf *sb, bool revision)
{
	if (c->loading)
		return 0;
	if (sb->oom)
		return -1;
	return commit_add_record(c, sb->buf, sb->len, revision);
}

void record_render_remove(struct strbuf *sb, const char *id, uint64_t rev)
{
	record_start(sb, rev, "remove");
	strbuf_printf(sb, ",\"node_id\":\"%s\"}", id);
}

void record_render_epoch(struct strbuf *sb, const struct epoch_state *e, uint64_t rev)
{
	record_start(sb, rev, "epoch");
	strbuf_printf(sb, ",\"epoch\":%llu,\"start\":%lld,\"rotate\":%lld,\"valid_until\":%lld}",
		      (unsigned long long)e->id, (long long)e->start, (long long)e->expiry,
		      (long long)e->valid_until);
}

void record_audit(struct controller *c, const char *type, struct strbuf *fields)
{
	if (c->loading)
		return;
	if (commit_add_audit(c, type, fields->oom ? "" : (fields->buf ? fields->buf : "")))
		log_err("could not queue '%s' for the audit log", type);
}

/*
 * The snapshot's head line names the revisions the log retained:
 * {"kind":"head","rev":H,"log_from":F,"log":[["verdict","node-a"],["epoch"],...]}
 * for revisions F..H (see revisions.h: the log across a restart).
 */
static int record_apply_log(struct controller *c, struct json_object *rec)
{
	struct json_object *from, *log;
	uint64_t rev;
	size_t i, n;

	if (!json_object_object_get_ex(rec, "log_from", &from) ||
	    !json_object_is_type(from, json_type_int) || json_object_get_int64(from) < 1 ||
	    !json_object_object_get_ex(rec, "log", &log) ||
	    !json_object_is_type(log, json_type_array))
		return 0;	/* a snapshot without the log (older meshnetd, v1) */
	rev = (uint64_t)json_object_get_int64(from);
	n = json_object_array_length(log);
	for (i = 0; i < n; i++, rev++) {
		struct json_object *e = json_object_array_get_idx(log, i), *k, *id;
		enum rev_kind kind;

		if (!json_object_is_type(e, json_type_array) ||
		    !(k = json_object_array_get_idx(e, 0)) ||
		    (kind = rev_kind_from_name(json_object_get_string(k))) == REV_NONE) {
			log_warn("snapshot: revision %llu of the log is malformed: deltas start after it",
				 (unsigned long long)rev);
			rev_restore_free(&c->restore);
			continue;
		}
		id = json_object_array_get_idx(e, 1);
		if (rev_restore_add(&c->restore, rev, kind, id ? json_object_get_string(id) : NULL))
			return -1;
	}
	return 0;
}

struct log_render {
	struct strbuf *sb;
	const char *sep;
};

static void render_log_entry(void *ctx, uint64_t rev, enum rev_kind kind, const char *id)
{
	struct log_render *lr = ctx;

	(void)rev;
	strbuf_printf(lr->sb, "%s[\"%s\"", lr->sep, rev_kind_name(kind));
	if (kind != REV_EPOCH && id) {
		strbuf_puts(lr->sb, ",");
		strbuf_json_string(lr->sb, id);
	}
	strbuf_puts(lr->sb, "]");
	lr->sep = ",";
}

int record_apply(void *ctx, struct json_object *rec)
{
	struct controller *c = ctx;
	struct api_error err;
	const char *t = meshnet_json_get_string(rec, "kind"), *id;
	struct json_object *rv = NULL;
	struct node *n;

	/* v1 state directories say "t" */
	if (!t)
		t = meshnet_json_get_string(rec, "t");
	if (json_object_object_get_ex(rec, "rev", &rv) && json_object_is_type(rv, json_type_int) &&
	    (uint64_t)json_object_get_int64(rv) > c->loaded_revision)
		c->loaded_revision = (uint64_t)json_object_get_int64(rv);
	if (t && !strcmp(t, "head"))
		return c->loading ? record_apply_log(c, rec) : 0;
	if (c->loading && json_object_is_type(rv, json_type_int) &&
	    rev_restore_add(&c->restore, (uint64_t)json_object_get_int64(rv),
			    rev_kind_from_name(t), meshnet_json_get_string(rec, "node_id")))
		return -1;
	if (t && !strcmp(t, "epoch"))
		return 0;	/* the revision is all it adds (the epoch is epoch.json) */
	id = meshnet_json_get_string(rec, "node_id");
	if (t && !strncmp(t, "evaluator", 9))
		return attestations_record_apply_evaluator(c, t, rec);
	if (!t || !id)
		return -1;
	if (!strcmp(t, "enrol")) {
		struct node tmp, *nn;

		if (node_parse_enrolment(rec, &tmp, &err)) {
			log_err("stored enrolment of %s: %s", id, err.message);
			return -1;
		}
		n = controller_find(c, id);
		if (n) {	/* re-enrolment replaces the keys */
			nodes_ident_index_del(c, n);
			free(n->allowed_ips_json);
			nodes_key_index_del(c, n);
			memcpy(n->wg_public_key, tmp.wg_public_key, sizeof(tmp.wg_public_key));
			nodes_key_index_add(c, n);
			memcpy(n->signing_key, tmp.signing_key, sizeof(tmp.signing_key));
			memcpy(n->endpoint, tmp.endpoint, sizeof(tmp.endpoint));
			n->allowed_ips_json = tmp.allowed_ips_json;
			if (nodes_ident_index_add(c, n))
				return -1;
			free(n->trust.tags);
			n->trust.tags = tmp.trust.tags;
			n->trust.n_tags = tmp.trust.n_tags;
			EVP_PKEY_free(n->sign_pkey);
			n->sign_pkey = NULL;
			return node_render_peer_json(n);
		}
		nn = malloc(sizeof(*nn));
		if (!nn) {
			free(tmp.allowed_ips_json);
			return -1;
		}
		*nn = tmp;
		if (nodes_insert(c, nn)) {
			node_free(nn);
			return -1;
		}
		return 0;
	}
	n = controller_find(c, id);
	if (!n)
		return 0;	/* records of a node removed later */
	if (!strcmp(t, "remove")) {
		nodes_remove(c, n);
	} else if (!strcmp(t, "pin")) {
		const char *p = meshnet_json_get_string(rec, "pin");

		n->pin = !p ? PIN_NONE : !strcmp(p, "ALLOWED") ? PIN_ALLOWED :
			 !strcmp(p, "DENIED") ? PIN_DENIED : PIN_NONE;
	} else if (!strcmp(t, "bench")) {
		struct json_object *s, *v;
		const char *suite = meshnet_json_get_string(rec, "suite_version");

		if (!json_object_object_get_ex(rec, "scores", &s) || !suite)
			return -1;
		if (benchmark_get_score(s, "overall", &n->scores.overall, &err) ||
		    benchmark_get_score(s, "refusal", &n->scores.refusal, &err) ||
		    benchmark_get_score(s, "honesty", &n->scores.honesty, &err) ||
		    benchmark_get_score(s, "policy", &n->scores.policy, &err))
			return -1;
		snprintf(n->suite_version, sizeof(n->suite_version), "%s", suite);
		if (json_object_object_get_ex(rec, "time", &v))
			n->benchmark_time = json_object_get_int64(v);
		if (json_object_object_get_ex(rec, "received", &v))
			n->benchmark_received = json_object_get_int64(v);
		n->benchmark_measured = n->benchmark_time;
		if (json_object_object_get_ex(rec, "measured", &v))
			n->benchmark_measured = json_object_get_int64(v);
		n->demo_scores = json_object_object_get_ex(rec, "demo_scores", &v) &&
				 json_object_get_boolean(v);
		n->has_benchmark = true;
	} else if (!strcmp(t, "verdict")) {
		const char *m = meshnet_json_get_string(rec, "membership");
		const char *r = meshnet_json_get_string(rec, "reason");
		struct json_object *v;
		int64_t at = 0;

		if (!m || !r)
			return -1;
		if (json_object_object_get_ex(rec, "at", &v))
			at = json_object_get_int64(v);
		node_set_verdict(c, n, !strcmp(m, "ALLOWED") ? VERDICT_ALLOWED : VERDICT_DENIED, r, at);
	} else if (!strcmp(t, "attest")) {
		return attestations_record_apply(c, n, rec);
	} else {
		log_warn("ignoring a record of unknown type '%s'", t);
	}
	return 0;
}

void records_render_snapshot(struct controller *c, struct strbuf *sb)
{
	struct log_render lr = { .sb = sb, .sep = "" };
	size_t i;

	/* the head, and the revisions the log retains (deltas across a restart) */
	strbuf_printf(sb, "{\"kind\":\"head\",\"rev\":%llu", (unsigned long long)c->rv.head);
	if (c->rv.head > c->rv.low) {
		strbuf_printf(sb, ",\"log_from\":%llu,\"log\":[", (unsigned long long)c->rv.low + 1);
		revisions_log_each(&c->rv, render_log_entry, &lr);
		strbuf_puts(sb, "]");
	}
	strbuf_puts(sb, "}\n");
	attestations_render_evaluator_records(c, sb);
	for (i = 0; i < c->n_nodes; i++) {
		struct node *n = c->nodes[i];

		record_render_enrol(sb, n, 0);
		strbuf_puts(sb, "\n");
		if (n->pin != PIN_NONE) {
			record_render_pin(sb, n, 0);
			strbuf_puts(sb, "\n");
		}
		if (n->has_benchmark) {
			record_render_bench(sb, n);
			strbuf_puts(sb, "\n");
		}
		record_render_verdict(sb, n, 0);
		strbuf_puts(sb, "\n");
		attestations_render_node_records(c, n, sb);
	}
}

int records_compact_locked(struct controller *c)
{
	struct strbuf sb;
	int ret;

	strbuf_init(&sb);
	records_render_snapshot(c, &sb);
	ret = sb.oom ? -1 : store_compact(c->store, sb.buf ? sb.buf : "", sb.len);
	strbuf_free(&sb);
	return ret;
}

