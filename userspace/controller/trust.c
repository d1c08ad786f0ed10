// SPDX-License-Identifier: MIT
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "timefmt.h"
#include "trust.h"

void trust_init(struct trust *t, const struct membership_rules *v1)
{
	memset(t, 0, sizeof(*t));
	evaluators_init(&t->evaluators);
	t->v1 = *v1;
}

void trust_free(struct trust *t)
{
	policy_free(t->active);
	policy_free(t->pending);
	evaluators_free(&t->evaluators);
	memset(t, 0, sizeof(*t));
}

static void v1_evaluate(const struct trust *t, const struct trust_subject *s, int64_t now,
			struct trust_eval *out)
{
	struct membership_input in = {
		.has_benchmark = s->has_benchmark, .scores = s->scores,
		.benchmark_time = s->benchmark_time, .pin = s->pin,
	};
	struct policy_result *r = &out->r;

	r->verdict = membership_evaluate(&t->v1, &in, now, r->reason);
	r->good = r->verdict == VERDICT_ALLOWED;
	snprintf(r->rule, sizeof(r->rule), "%s", s->pin != PIN_NONE ? "pin" : TRUST_V1_RULE);
	if (s->has_benchmark && out->n_ev) {
		r->used[0].ev = 0;
		r->used[0].suite = "benchmark";
		r->n_used = 1;
	}
	if (r->verdict == VERDICT_DENIED && s->pin == PIN_NONE) {
		snprintf(r->missing[0], sizeof(r->missing[0]), "%s", r->reason);
		r->n_missing = 1;
	}
}

void trust_evaluate(const struct trust *t, const struct trust_subject *s, int64_t now,
		    bool new_result, struct trust_eval *out)
{
	static const char *const names[4] = { "overall", "refusal", "honesty", "policy" };
	const double vals[4] = { s->scores.overall, s->scores.refusal, s->scores.honesty,
				 s->scores.policy };
	struct policy_node n;
	unsigned int i;

	memset(&out->r, 0, sizeof(out->r));
	for (i = 0; i < 4; i++) {
		snprintf(out->self[i].name, sizeof(out->self[i].name), "%s", names[i]);
		out->self[i].value = vals[i];
	}
	out->n_ev = node_evidence_collect(s->ne, s->has_benchmark, out->self, 4,
					  s->benchmark_time, out->ev, POLICY_MAX_USED);
	out->policy_version = t->active ? t->active->version : 0;
	if (!t->active) {
		v1_evaluate(t, s, now, out);
		return;
	}
	n = (struct policy_node){
		.tags = (const char (*)[POLICY_NAME_MAX + 1])s->ne->tags, .n_tags = s->ne->n_tags,
		.ev = out->ev, .n_ev = out->n_ev, .current = s->current,
		.good_streak = s->ne->good_streak, .pin = s->pin,
	};
	policy_evaluate(t->active, &n, now, new_result, &out->r);
}

void trust_explain_json(const struct trust_eval *e, int64_t now, struct strbuf *sb)
{
	policy_explain_json(&e->r, e->policy_version, e->ev, now, sb);
}

void trust_audit_fields(const struct trust *t, const struct trust_eval *e,
			const struct node_evidence *ne, const char *self_report, struct strbuf *sb)
{
	bool used_self = false;
	unsigned int i;

	strbuf_puts(sb, ",\"policy_rule\":");
	strbuf_json_string(sb, e->r.rule);
	strbuf_printf(sb, ",\"policy_version\":%" PRIu64 ",\"policy_sha256\":", e->policy_version);
	if (t->active && t->active->version == e->policy_version)
		strbuf_printf(sb, "\"%s\"", t->active->sha256);
	else
		strbuf_puts(sb, "null");
	strbuf_puts(sb, ",\"attestations\":");
	node_evidence_render_used(ne, &e->r, e->ev, sb);
	strbuf_puts(sb, ",\"missing\":[");
	for (i = 0; i < e->r.n_missing; i++) {
		if (i)
			strbuf_puts(sb, ",");
		strbuf_json_string(sb, e->r.missing[i]);
	}
	strbuf_puts(sb, "]");
	for (i = 0; i < e->r.n_used; i++)
		used_self |= !e->ev[e->r.used[i].ev].ref;
	if (e->policy_version && used_self && self_report) {
		strbuf_puts(sb, ",\"self_report\":");
		strbuf_puts(sb, self_report);
	}
}

int trust_install(struct trust *t, struct policy *p, int64_t now, uint64_t epoch,
		  struct policy_errors *errs)
{
	if (policy_check_replacement(t->active, p, now, errs))
		return -1;
	if (policy_due(p, now, epoch)) {
		policy_free(t->active);
		t->active = p;
		/* a pending policy older than this one would roll it back */
		if (t->pending && t->pending->version <= p->version) {
			policy_free(t->pending);
			t->pending = NULL;
		}
		return 0;
	}
	policy_free(t->pending);
	t->pending = p;
	return 1;
}

bool trust_advance(struct trust *t, int64_t now, uint64_t epoch)
{
	if (!t->pending || !policy_due(t->pending, now, epoch))
		return false;
	policy_free(t->active);
	t->active = t->pending;
	t->pending = NULL;
	return true;
}

int64_t trust_next_change(const struct trust *t)
{
	return t->pending && !t->pending->effective_epoch ? t->pending->effective_at : 0;
}

void trust_policy_name(const struct policy *p, char *out, size_t len)
{
	if (!p)
		snprintf(out, len, "built-in v1 threshold rule");
	else
		snprintf(out, len, "v%" PRIu64 " (sha256:%.16s, %s)", p->version, p->sha256,
			 p->source);
}

static void render_one(const struct policy *p, struct strbuf *sb)
{
	char when[MESHNET_RFC3339_LEN];

	if (!p) {
		strbuf_puts(sb, "null");
		return;
	}
	strbuf_printf(sb, "{\"version\":%" PRIu64 ",\"sha256\":\"%s\",\"source\":", p->version,
		      p->sha256);
	strbuf_json_string(sb, p->source);
	if (p->effective_epoch) {
		strbuf_printf(sb, ",\"effective_epoch\":%" PRIu64, p->effective_epoch);
	} else if (p->effective_at) {
		meshnet_rfc3339_format(when, p->effective_at);
		strbuf_printf(sb, ",\"effective_unix\":%" PRId64 ",\"effective_at\":\"%s\"",
			      p->effective_at, when);
	}
	strbuf_printf(sb, ",\"notice_s\":%" PRId64 ",\"groups\":%u,\"text\":", p->notice,
		      p->n_groups);
	strbuf_json_string(sb, p->text);
	strbuf_puts(sb, "}");
}

void trust_render_policy(const struct trust *t, struct strbuf *sb)
{
	strbuf_puts(sb, "{\"active\":");
	if (t->active)
		render_one(t->active, sb);
	else
		strbuf_printf(sb, "{\"version\":0,\"builtin\":\"%s\",\"threshold\":%.17g,"
			      "\"max_benchmark_age\":%lld}", TRUST_V1_RULE, t->v1.threshold,
			      (long long)t->v1.max_benchmark_age);
	strbuf_puts(sb, ",\"pending\":");
	render_one(t->pending, sb);
	strbuf_puts(sb, "}");
}
