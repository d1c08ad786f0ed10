// SPDX-License-Identifier: MIT
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "evidence.h"

static void stored_free(struct stored_attestation *s)
{
	free(s->scores);
	free(s->envelope);
	memset(s, 0, sizeof(*s));
}

void node_evidence_free(struct node_evidence *ne)
{
	unsigned int i;

	for (i = 0; i < ne->n_att; i++)
		stored_free(&ne->att[i]);
	free(ne->att);
	free(ne->tags);
	memset(ne, 0, sizeof(*ne));
}

int node_evidence_set_tags(struct node_evidence *ne, struct json_object *tags, char *msg,
			   size_t msg_len)
{
	char (*t)[POLICY_NAME_MAX + 1] = NULL;
	size_t n, i, j;

	if (!tags) {
		free(ne->tags);
		ne->tags = NULL;
		ne->n_tags = 0;
		return 0;
	}
	if (!json_object_is_type(tags, json_type_array) ||
	    (n = json_object_array_length(tags)) > POLICY_MAX_TAGS) {
		snprintf(msg, msg_len, "tags must be an array of at most %d names",
			 POLICY_MAX_TAGS);
		return -1;
	}
	if (n) {
		t = calloc(n, sizeof(*t));
		if (!t) {
			snprintf(msg, msg_len, "out of memory");
			return -1;
		}
	}
	for (i = 0; i < n; i++) {
		struct json_object *v = json_object_array_get_idx(tags, i);
		const char *s = json_object_is_type(v, json_type_string) ?
				json_object_get_string(v) : NULL;

		if (!s || !meshnet_att_name_valid(s)) {
			snprintf(msg, msg_len, "tags[%zu] must match [a-z0-9][a-z0-9._-]{0,31}", i);
			free(t);
			return -1;
		}
		for (j = 0; j < i; j++) {
			if (!strcmp(t[j], s)) {
				snprintf(msg, msg_len, "tags[%zu] repeats %s", i, s);
				free(t);
				return -1;
			}
		}
		strcpy(t[i], s);
	}
	free(ne->tags);
	ne->tags = t;
	ne->n_tags = (unsigned int)n;
	return 0;
}

void node_evidence_render_tags(const struct node_evidence *ne, struct strbuf *sb)
{
	unsigned int i;

	strbuf_puts(sb, "[");
	for (i = 0; i < ne->n_tags; i++)
		strbuf_printf(sb, "%s\"%s\"", i ? "," : "", ne->tags[i]);
	strbuf_puts(sb, "]");
}

static int find_slot(const struct node_evidence *ne, const char *evaluator, const char *suite)
{
	unsigned int i;

	for (i = 0; i < ne->n_att; i++)
		if (evaluator_active(ne->att[i].ev) && !strcmp(ne->att[i].ev->id, evaluator) &&
		    !strcmp(ne->att[i].suite, suite))
			return (int)i;
	return -1;
}

enum evidence_put node_evidence_check(const struct node_evidence *ne,
				      const struct meshnet_attestation *a, int64_t now)
{
	int i = find_slot(ne, a->evaluator, a->suite);
	unsigned int j, live = 0;

	if (i >= 0)
		return a->ran_at > ne->att[i].ran_at ? EVIDENCE_PUT_OK : EVIDENCE_PUT_STALE;
	for (j = 0; j < ne->n_att; j++)
		live += ne->att[j].expires > now && evaluator_active(ne->att[j].ev);
	return live < EVIDENCE_MAX_PER_NODE ? EVIDENCE_PUT_OK : EVIDENCE_PUT_FULL;
}

enum evidence_put node_evidence_put(struct node_evidence *ne, const struct evaluator *ev,
				    const struct meshnet_attestation *a, const char *envelope,
				    int64_t received)
{
	struct stored_attestation s = { 0 };
	int i;

	i = find_slot(ne, a->evaluator, a->suite);
	if (i >= 0 && a->ran_at <= ne->att[i].ran_at)
		return EVIDENCE_PUT_STALE;
	if (i < 0) {
		node_evidence_prune(ne, received);
		if (ne->n_att >= EVIDENCE_MAX_PER_NODE)
			return EVIDENCE_PUT_FULL;
	}
	strcpy(s.suite, a->suite);	/* before the allocations below own s */
	s.scores = malloc(a->n_scores * sizeof(*s.scores));
	s.envelope = strdup(envelope);
	if (!s.scores || !s.envelope) {
		stored_free(&s);
		return EVIDENCE_PUT_NOMEM;
	}
	if (i < 0 && ne->n_att == ne->cap_att) {
		unsigned int cap = ne->cap_att ? 2 * ne->cap_att : 2;
		struct stored_attestation *arr = realloc(ne->att, cap * sizeof(*arr));

		if (!arr) {
			stored_free(&s);
			return EVIDENCE_PUT_NOMEM;
		}
		ne->att = arr;
		ne->cap_att = cap;
	}
	memcpy(s.scores, a->scores, a->n_scores * sizeof(*s.scores));
	s.n_scores = a->n_scores;
	s.ev = ev;
	s.ran_at = a->ran_at;
	s.expires = a->expires;
	s.received = received;
	if (i >= 0) {
		stored_free(&ne->att[i]);
		ne->att[i] = s;
	} else {
		ne->att[ne->n_att++] = s;
	}
	return EVIDENCE_PUT_OK;
}

bool node_evidence_uses(const struct node_evidence *ne, const struct evaluator *ev)
{
	unsigned int i;

	for (i = 0; i < ne->n_att; i++)
		if (ne->att[i].ev == ev)
			return true;
	return false;
}

unsigned int node_evidence_collect(const struct node_evidence *ne, bool has_self,
				   const struct meshnet_att_score *self_scores,
				   unsigned int n_self_scores, int64_t self_time,
				   struct policy_evidence *out, unsigned int cap)
{
	unsigned int n = 0, i;

	if (has_self && n < cap)
		out[n++] = (struct policy_evidence){
			.evaluator = POLICY_SELF, .evaluator_counts = true, .suite = NULL,
			.scores = self_scores, .n_scores = n_self_scores, .ran_at = self_time,
			.expires = INT64_MAX, .ref = NULL,
		};
	for (i = 0; i < ne->n_att && n < cap; i++) {
		const struct stored_attestation *s = &ne->att[i];

		out[n++] = (struct policy_evidence){
			.evaluator = s->ev->id, .evaluator_counts = evaluator_active(s->ev),
			.suite = s->suite, .scores = s->scores, .n_scores = s->n_scores,
			.ran_at = s->ran_at, .expires = s->expires, .ref = s,
		};
	}
	return n;
}

void node_evidence_render_used(const struct node_evidence *ne, const struct policy_result *r,
			       const struct policy_evidence *ev, struct strbuf *sb)
{
	const struct stored_attestation *done[POLICY_MAX_USED];
	unsigned int i, j, n_done = 0;

	(void)ne;
	strbuf_puts(sb, "[");
	for (i = 0; i < r->n_used; i++) {
		const struct stored_attestation *s = ev[r->used[i].ev].ref;

		if (!s)
			continue;
		for (j = 0; j < n_done && done[j] != s; j++)
			;
		if (j < n_done)
			continue;
		done[n_done++] = s;
		strbuf_puts(sb, n_done > 1 ? "," : "");
		strbuf_puts(sb, s->envelope);
	}
	strbuf_puts(sb, "]");
}

unsigned int node_evidence_prune(struct node_evidence *ne, int64_t now)
{
	unsigned int i = 0, dropped = 0;

	while (i < ne->n_att) {
		if (ne->att[i].expires <= now || !evaluator_active(ne->att[i].ev)) {
			stored_free(&ne->att[i]);
			ne->att[i] = ne->att[--ne->n_att];
			dropped++;
		} else {
			i++;
		}
	}
	return dropped;
}
