// SPDX-License-Identifier: MIT
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "attestation.h"
#include "audit_verify_policy.h"
#include "b64.h"
#include "jsonutil.h"
#include "policy.h"
#include "sign.h"
#include "timefmt.h"

struct known_evaluator {
	char id[MESHNET_NODE_ID_MAX + 1];
	EVP_PKEY *pub;
	bool active;
	uint64_t enrolled_at, removed_at;	/* record indexes */
};

struct known_policy {
	uint64_t version;
	char sha256[65];
	char *text;			/* NULL: not in the log (too large) */
	struct policy *parsed;		/* on first use */
	bool unparsable;
	uint64_t record;
};

struct known_node {
	char id[MESHNET_NODE_ID_MAX + 1];
	char wg_key[48];
	char signing_key[48];		/* its request key (self-reports) */
	char tags[POLICY_MAX_TAGS][POLICY_NAME_MAX + 1];
	unsigned int n_tags;
};

struct audit_policy_check {
	FILE *out;
	char audience[300];		/* the mesh id node requests are signed for */
	struct known_evaluator *ev;
	size_t n_ev, cap_ev;
	struct known_policy *pol;
	size_t n_pol, cap_pol;
	struct known_node *nodes;
	size_t n_nodes, cap_nodes;
	uint64_t effective;		/* the version in effect (0: the built-in v1 rule) */
	uint64_t effective_record;
	uint64_t denied, rechecked, unprovable, contradicted, attestations;
};

static void *grow(void *arr, size_t *cap, size_t n, size_t size)
{
	size_t nc;
	void *p;

	if (n < *cap)
		return arr;
	nc = *cap ? 2 * *cap : 16;
	p = realloc(arr, nc * size);
	if (p)
		*cap = nc;
	return p;
}

struct audit_policy_check *audit_policy_check_new(FILE *out, const char *audience)
{
	struct audit_policy_check *pc = calloc(1, sizeof(*pc));

	if (pc) {
		pc->out = out;
		snprintf(pc->audience, sizeof(pc->audience), "%s", audience);
	}
	return pc;
}

void audit_policy_check_free(struct audit_policy_check *pc)
{
	size_t i;

	if (!pc)
		return;
	for (i = 0; i < pc->n_ev; i++)
		EVP_PKEY_free(pc->ev[i].pub);
	for (i = 0; i < pc->n_pol; i++) {
		free(pc->pol[i].text);
		policy_free(pc->pol[i].parsed);
	}
	free(pc->ev);
	free(pc->pol);
	free(pc->nodes);
	free(pc);
}

static struct known_evaluator *evaluator_find(struct audit_policy_check *pc, const char *id)
{
	size_t i;

	for (i = 0; i < pc->n_ev; i++)
		if (!strcmp(pc->ev[i].id, id))
			return &pc->ev[i];
	return NULL;
}

static struct known_node *node_find(struct audit_policy_check *pc, const char *id)
{
	size_t i;

	for (i = 0; i < pc->n_nodes; i++)
		if (!strcmp(pc->nodes[i].id, id))
			return &pc->nodes[i];
	return NULL;
}

static struct known_policy *policy_find(struct audit_policy_check *pc, uint64_t version)
{
	size_t i;

	for (i = pc->n_pol; i-- > 0;)
		if (pc->pol[i].version == version)
			return &pc->pol[i];
	return NULL;
}

static bool get_u64(struct json_object *o, const char *key, uint64_t *v)
{
	struct json_object *x;

	if (!json_object_object_get_ex(o, key, &x) || !json_object_is_type(x, json_type_int) ||
	    json_object_get_int64(x) < 0)
		return false;
	*v = (uint64_t)json_object_get_int64(x);
	return true;
}

static void observe_evaluator(struct audit_policy_check *pc, uint64_t index,
			      struct json_object *rec, bool enrol)
{
	const char *id = meshnet_json_get_string(rec, "evaluator_id");
	const char *key = meshnet_json_get_string(rec, "public_key");
	struct known_evaluator *e;
	void *arr;

	if (!id || strlen(id) > MESHNET_NODE_ID_MAX)
		return;
	e = evaluator_find(pc, id);
	if (!enrol) {
		if (e && e->active) {
			e->active = false;
			e->removed_at = index;
		}
		return;
	}
	if (!e) {
		arr = grow(pc->ev, &pc->cap_ev, pc->n_ev, sizeof(*pc->ev));
		if (!arr)
			return;
		pc->ev = arr;
		e = &pc->ev[pc->n_ev++];
		memset(e, 0, sizeof(*e));
		strcpy(e->id, id);
	}
	/* enrolled again: a new evaluator under the same id, with this key */
	EVP_PKEY_free(e->pub);
	e->pub = key ? meshnet_ed25519_public_from_b64(key) : NULL;
	e->active = e->pub != NULL;
	e->enrolled_at = index;
}

static void observe_policy(struct audit_policy_check *pc, uint64_t index,
			   struct json_object *rec, bool effective)
{
	const char *sha = meshnet_json_get_string(rec, "policy_sha256");
	struct json_object *t;
	struct known_policy *p;
	uint64_t version;
	void *arr;

	if (!get_u64(rec, "policy_version", &version) || !sha || strlen(sha) != 64)
		return;
	if (effective) {
		pc->effective = version;
		pc->effective_record = index;
	}
	p = policy_find(pc, version);
	if (p && !strcmp(p->sha256, sha))
		return;	/* announced before, now in effect (or in effect again after a restart) */
	arr = grow(pc->pol, &pc->cap_pol, pc->n_pol, sizeof(*pc->pol));
	if (!arr)
		return;
	pc->pol = arr;
	p = &pc->pol[pc->n_pol++];
	memset(p, 0, sizeof(*p));
	p->version = version;
	strcpy(p->sha256, sha);
	p->record = index;
	if (json_object_object_get_ex(rec, "policy_text", &t) &&
	    json_object_is_type(t, json_type_string))
		p->text = strdup(json_object_get_string(t));
}

static void observe_node(struct audit_policy_check *pc, struct json_object *rec, bool enrol)
{
	const char *id = meshnet_json_get_string(rec, "node_id");
	const char *wg = meshnet_json_get_string(rec, "public_key");
	const char *sk = meshnet_json_get_string(rec, "signing_key");
	struct json_object *tags;
	struct known_node *n;
	size_t i;
	void *arr;

	if (!id || strlen(id) > MESHNET_NODE_ID_MAX)
		return;
	n = node_find(pc, id);
	if (!enrol) {
		if (n)
			*n = pc->nodes[--pc->n_nodes];
		return;
	}
	if (!n) {
		arr = grow(pc->nodes, &pc->cap_nodes, pc->n_nodes, sizeof(*pc->nodes));
		if (!arr)
			return;
		pc->nodes = arr;
		n = &pc->nodes[pc->n_nodes++];
		strcpy(n->id, id);
	}
	snprintf(n->wg_key, sizeof(n->wg_key), "%s", wg ? wg : "");
	snprintf(n->signing_key, sizeof(n->signing_key), "%s", sk ? sk : "");
	n->n_tags = 0;
	if (!json_object_object_get_ex(rec, "tags", &tags) ||
	    !json_object_is_type(tags, json_type_array))
		return;
	for (i = 0; i < json_object_array_length(tags) && n->n_tags < POLICY_MAX_TAGS; i++) {
		const char *tag = json_object_get_string(json_object_array_get_idx(tags, i));

		if (tag && strlen(tag) <= POLICY_NAME_MAX)
			strcpy(n->tags[n->n_tags++], tag);
	}
}

void audit_policy_observe(struct audit_policy_check *pc, uint64_t index, struct json_object *rec,
			  const char *type)
{
	if (!strcmp(type, "evaluator_enrol") || !strcmp(type, "evaluator_remove"))
		observe_evaluator(pc, index, rec, type[10] == 'e');
	else if (!strcmp(type, "policy_effective") || !strcmp(type, "policy_scheduled"))
		observe_policy(pc, index, rec, type[7] == 'e');
	else if (!strcmp(type, "enrol") || !strcmp(type, "remove"))
		observe_node(pc, rec, type[0] == 'e');
}

static enum audit_policy_result contradicted(struct audit_policy_check *pc, uint64_t index,
					     const char *node_id, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static enum audit_policy_result contradicted(struct audit_policy_check *pc, uint64_t index,
					     const char *node_id, const char *fmt, ...)
{
	va_list ap;

	fprintf(pc->out, "record %" PRIu64 ": %s DENIED by a policy: ", index, node_id);
	va_start(ap, fmt);
	vfprintf(pc->out, fmt, ap);
	va_end(ap);
	fputc('\n', pc->out);
	pc->contradicted++;
	return AUDIT_POLICY_CONTRADICTED;
}

/* The policy text of p, parsed once; NULL if the log's text does not parse. */
static struct policy *policy_of(struct known_policy *p)
{
	struct policy_errors errs;

	if (!p->parsed && !p->unparsable) {
		p->parsed = policy_parse(p->text, strlen(p->text), "audit log", &errs);
		p->unparsable = !p->parsed;
	}
	return p->parsed;
}

struct opened {
	struct meshnet_attestation att[POLICY_MAX_USED];
	struct policy_evidence ev[POLICY_MAX_USED + 1];
	unsigned int n;			/* attestations */
	bool has_self;			/* ev[n]: the node's own signed report */
	struct meshnet_att_score self[4];
};

static bool score_of(struct json_object *scores, const char *name, double *v)
{
	struct json_object *x;

	if (!json_object_object_get_ex(scores, name, &x) ||
	    !(json_object_is_type(x, json_type_double) || json_object_is_type(x, json_type_int)))
		return false;
	*v = json_object_get_double(x);
	return *v >= 0 && *v <= 1;
}

/*
 * The record's self_report (the node's signed submission, as the v1 rule's
 * evidence): its signature by the node's enrolled key, then its scores as
 * the policy engine's "self" evidence. 0, or -1 (printed).
 */
static int open_self_report(struct audit_policy_check *pc, uint64_t index, const char *node_id,
			    const struct known_node *node, struct json_object *ev, struct opened *o)
{
	static const char *const names[4] = { "overall", "refusal", "honesty", "policy" };
	const char *method = meshnet_json_get_string(ev, "method");
	const char *path = meshnet_json_get_string(ev, "path");
	const char *ts = meshnet_json_get_string(ev, "timestamp");
	const char *nonce = meshnet_json_get_string(ev, "nonce");
	const char *sig = meshnet_json_get_string(ev, "signature");
	const char *b64 = meshnet_json_get_string(ev, "body");
	const char *aud = meshnet_json_get_string(ev, "audience");
	struct json_object *body = NULL, *scores, *rx;
	uint8_t *raw = NULL;
	EVP_PKEY *pub = NULL;
	int64_t t = 0, when = 0, received = INT64_MAX;
	long len = -1;
	unsigned int i;
	int ret = -1;

	if (method && path && ts && nonce && sig && b64 && strlen(b64) < (1u << 20)) {
		raw = malloc(strlen(b64) + 1);
		len = raw ? meshnet_b64_decode(raw, strlen(b64) + 1, b64) : -1;
	}
	pub = *node->signing_key ? meshnet_ed25519_public_from_b64(node->signing_key) : NULL;
	if (len < 0 || !pub || meshnet_parse_timestamp(ts, &t) ||
	    meshnet_verify_request(pub, aud ? aud : pc->audience, method, path, raw, (size_t)len, ts,
				   nonce, sig, t, 1) != MESHNET_VERIFY_OK) {
		contradicted(pc, index, node_id, "its own report in the record does not verify with "
			     "the node's enrolled key");
		goto out;
	}
	body = meshnet_json_parse_strict((const char *)raw, (size_t)len);
	if (!body || !json_object_object_get_ex(body, "scores", &scores) ||
	    !meshnet_json_get_string(body, "node_id") ||
	    strcmp(meshnet_json_get_string(body, "node_id"), node_id) ||
	    !meshnet_json_get_string(body, "timestamp") ||
	    meshnet_rfc3339_parse(meshnet_json_get_string(body, "timestamp"), &when)) {
		contradicted(pc, index, node_id, "its own signed report is not a benchmark of it");
		goto out;
	}
	for (i = 0; i < 4; i++) {
		snprintf(o->self[i].name, sizeof(o->self[i].name), "%s", names[i]);
		if (!score_of(scores, names[i], &o->self[i].value)) {
			contradicted(pc, index, node_id, "its own signed report has no %s score in "
				     "[0, 1]", names[i]);
			goto out;
		}
	}
	if (json_object_object_get_ex(ev, "received", &rx) && json_object_is_type(rx, json_type_int))
		received = json_object_get_int64(rx);
	o->ev[o->n] = (struct policy_evidence){
		.evaluator = POLICY_SELF, .evaluator_counts = true, .suite = NULL,
		.scores = o->self, .n_scores = 4, .ran_at = when < received ? when : received,
		.expires = INT64_MAX, .ref = NULL,
	};
	o->has_self = true;
	ret = 0;
out:
	json_object_put(body);
	EVP_PKEY_free(pub);
	free(raw);
	return ret;
}

/* Whether the group lets the node's own report count for one of its suites. */
static bool group_uses_self(const struct policy_group *g)
{
	unsigned int i;

	for (i = 0; g && g->self_reports && i < g->n_suites; i++)
		if (g->suites[i].self_listed)
			return true;
	return false;
}

/* Opens and checks the record's attestations into o; 0, or -1 (printed). */
static int open_attestations(struct audit_policy_check *pc, uint64_t index, const char *node_id,
			     const struct known_node *node, struct json_object *list,
			     struct opened *o)
{
	size_t i, n = json_object_array_length(list);

	if (n > POLICY_MAX_USED) {
		contradicted(pc, index, node_id, "%zu attestations (at most %d are used)", n,
			     POLICY_MAX_USED);
		return -1;
	}
	for (i = 0; i < n; i++) {
		struct json_object *env = json_object_array_get_idx(list, i);
		struct meshnet_attestation *a = &o->att[o->n];
		const char *body_b64 = meshnet_json_get_string(env, "attestation");
		const char *sig_b64 = meshnet_json_get_string(env, "signature");
		uint8_t sig[MESHNET_ED25519_SIG_LEN], body[MESHNET_ATT_BODY_MAX + 4];
		struct known_evaluator *e;
		char msg[160];
		long len;

		if (!body_b64 || !sig_b64 || json_object_object_length(env) != 2 ||
		    strlen(body_b64) > MESHNET_B64_LEN(MESHNET_ATT_BODY_MAX) ||
		    (len = meshnet_b64_decode(body, sizeof(body), body_b64)) < 0 ||
		    (size_t)len > MESHNET_ATT_BODY_MAX ||
		    meshnet_b64_decode_exact(sig, sizeof(sig), sig_b64)) {
			contradicted(pc, index, node_id, "attestation %zu is not an envelope", i);
			return -1;
		}
		if (meshnet_attestation_parse((const char *)body, (size_t)len, a, msg, sizeof(msg))) {
			contradicted(pc, index, node_id, "attestation %zu is malformed: %s", i, msg);
			return -1;
		}
		e = evaluator_find(pc, a->evaluator);
		if (!e) {
			contradicted(pc, index, node_id, "attestation %zu is signed as %s, which the "
				     "log does not show enrolled", i, a->evaluator);
			return -1;
		}
		if (!e->active) {
			contradicted(pc, index, node_id, "attestation %zu is of %s, removed at record "
				     "%" PRIu64 ": it cannot count", i, a->evaluator, e->removed_at);
			return -1;
		}
		if (meshnet_attestation_verify(e->pub, (const char *)body, (size_t)len, sig)) {
			contradicted(pc, index, node_id, "attestation %zu (%s, suite %s): its signature "
				     "does not verify with %s's key enrolled at record %" PRIu64, i,
				     a->evaluator, a->suite, a->evaluator, e->enrolled_at);
			return -1;
		}
		if (strcmp(a->node_id, node_id) || strcmp(a->wg_public_key, node->wg_key)) {
			contradicted(pc, index, node_id, "attestation %zu (%s) is about %s with another "
				     "WireGuard key or node", i, a->evaluator, a->node_id);
			return -1;
		}
		o->ev[o->n] = (struct policy_evidence){
			.evaluator = a->evaluator, .evaluator_counts = true, .suite = a->suite,
			.scores = a->scores, .n_scores = a->n_scores, .ran_at = a->ran_at,
			.expires = a->expires, .ref = a,
		};
		o->n++;
	}
	return 0;
}

enum audit_policy_result audit_policy_recheck_denied(struct audit_policy_check *pc,
						     uint64_t index, struct json_object *rec,
						     const char *node_id, int64_t when)
{
	const char *rule = meshnet_json_get_string(rec, "policy_rule");
	const char *sha = meshnet_json_get_string(rec, "policy_sha256");
	const char *from = meshnet_json_get_string(rec, "from");
	const char *reason = meshnet_json_get_string(rec, "reason");
	struct json_object *list, *self_report;
	struct known_policy *kp;
	struct known_node *node;
	struct policy_result r;
	struct policy_node pn;
	struct opened *o;
	struct policy *p;
	uint64_t version;
	unsigned int i;
	size_t len;

	if (!get_u64(rec, "policy_version", &version) || !version || !rule ||
	    !strcmp(rule, "pin"))
		return AUDIT_POLICY_NOT_MINE;
	pc->denied++;
	if (version != pc->effective)
		return contradicted(pc, index, node_id, "decided under policy v%" PRIu64 ", but v%"
				    PRIu64 " was in effect (record %" PRIu64 ")", version,
				    pc->effective, pc->effective_record);
	kp = policy_find(pc, version);
	if (!kp)
		return contradicted(pc, index, node_id, "policy v%" PRIu64 " is not in the log",
				    version);
	if (!sha || strcmp(sha, kp->sha256))
		return contradicted(pc, index, node_id, "policy_sha256 is not that of policy v%"
				    PRIu64 " (record %" PRIu64 ")", version, kp->record);
	if (!kp->text) {
		fprintf(pc->out, "record %" PRIu64 ": %s DENIED by policy v%" PRIu64 ": its text is "
			"not in the log (too large), not re-checkable\n", index, node_id, version);
		pc->unprovable++;
		return AUDIT_POLICY_UNPROVABLE;
	}
	p = policy_of(kp);
	if (!p)
		return contradicted(pc, index, node_id, "the text of policy v%" PRIu64 " in record %"
				    PRIu64 " does not parse", version, kp->record);
	node = node_find(pc, node_id);
	if (!node)
		return contradicted(pc, index, node_id, "the log holds no enrolment of it");
	if (!json_object_object_get_ex(rec, "attestations", &list) ||
	    !json_object_is_type(list, json_type_array))
		return contradicted(pc, index, node_id, "the record has no attestations array");
	o = calloc(1, sizeof(*o));
	if (!o)
		return contradicted(pc, index, node_id, "out of memory");
	if (open_attestations(pc, index, node_id, node, list, o) ||
	    (json_object_object_get_ex(rec, "self_report", &self_report) &&
	     open_self_report(pc, index, node_id, node, self_report, o))) {
		free(o);
		return AUDIT_POLICY_CONTRADICTED;
	}
	pn = (struct policy_node){
		.tags = (const char (*)[POLICY_NAME_MAX + 1])node->tags, .n_tags = node->n_tags,
		.ev = o->ev, .n_ev = o->n + o->has_self,
		.current = from && !strcmp(from, "ALLOWED") ? VERDICT_ALLOWED : VERDICT_DENIED,
		.pin = PIN_NONE,
	};
	policy_evaluate(p, &pn, when, false, &r);
	if (!o->has_self && group_uses_self(r.group) && strcmp(r.rule, rule)) {
		/* it may rest on the node's own report, which the record does not hold */
		fprintf(pc->out, "record %" PRIu64 ": %s DENIED by policy v%" PRIu64 " (rule %s): the "
			"node's own report it may rest on is not in the record, not re-checkable\n",
			index, node_id, version, rule);
		pc->unprovable++;
		free(o);
		return AUDIT_POLICY_UNPROVABLE;
	}
	if (r.verdict != VERDICT_DENIED) {
		free(o);
		return contradicted(pc, index, node_id, "its %u attestation(s) satisfy policy v%" PRIu64
				    " (%s)", pn.n_ev, version, r.reason);
	}
	if (strcmp(r.rule, rule)) {
		free(o);
		return contradicted(pc, index, node_id, "the record names rule %s, but policy v%"
				    PRIu64 " on its attestations gives %s (%s)", rule, version, r.rule,
				    r.reason);
	}
	/*
	 * The reason follows from the attestations used (how many counted, the
	 * combined score), so evidence left out shows; a streak short of
	 * admit-after depends on results before the record: its rule suffices.
	 * (The controller may append to the reason, e.g. a flap hold-down.)
	 */
	len = strlen(r.reason);
	if (!strstr(r.rule, "/admit-after") && (!reason || strncmp(reason, r.reason, len))) {
		free(o);
		return contradicted(pc, index, node_id, "the record says \"%s\", but policy v%"
				    PRIu64 " on its attestations gives \"%s\"", reason ? reason : "",
				    version, r.reason);
	}
	fprintf(pc->out, "record %" PRIu64 ": %s DENIED re-checked under policy v%" PRIu64
		": rule %s on %u signed attestation(s)", index, node_id, version, r.rule, o->n);
	for (i = 0; i < o->n; i++)
		fprintf(pc->out, "%s%s/%s", i ? ", " : " (", o->att[i].evaluator, o->att[i].suite);
	fprintf(pc->out, "%s%s: %s\n", o->n ? ")" : "",
		o->has_self ? " and its own signed report" : "", r.reason);
	pc->attestations += o->n;
	pc->rechecked++;
	free(o);
	return AUDIT_POLICY_RECHECKED;
}

void audit_policy_summary(const struct audit_policy_check *pc)
{
	fprintf(pc->out, "policy: %" PRIu64 " DENIED verdict(s) decided by a policy: %" PRIu64
		" re-checked from %" PRIu64 " signed attestation(s), %" PRIu64 " whose policy "
		"text is not in the log, %" PRIu64 " contradicted\n", pc->denied, pc->rechecked,
		pc->attestations, pc->unprovable, pc->contradicted);
}
