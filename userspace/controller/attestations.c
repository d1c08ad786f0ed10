// SPDX-License-Identifier: MIT
/*
 * Evaluators and their attestations in the controller: enrolment and
 * removal by an admin, an attestation's way in (from the evaluator, or
 * relayed by the node it is about; the evaluator's signature over the
 * exact bytes is what counts), its checks, its journal record and what it
 * changes: the node is decided again with it, as after a benchmark.
 *
 * Checks, in order, each refusal a JSON error that changes nothing:
 *   400 bad_attestation / bad_score      the envelope or body is not the format
 *   403 unknown_evaluator / evaluator_removed
 *   401 bad_attestation_signature        not the evaluator's signature of the bytes
 *   403 wrong_node                       a node relaying another node's attestation
 *   404 unknown_node                     about no enrolled node
 *   409 wrong_wg_key                     made for another WireGuard key of the node
 *   400 attestation_expired / bad_timestamp (ran in the future)
 *   409 replay                           this (evaluator, nonce) was accepted before
 *   409 stale_attestation                not newer than the one held (evaluator, suite)
 *   409 too_many_attestations
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "b64.h"
#include "controller.h"
#include "fileio.h"
#include "ids.h"
#include "jsonutil.h"
#include "log.h"

/* ---- records ---- */

static void render_evaluator_record(struct strbuf *sb, const struct evaluator *ev)
{
	strbuf_printf(sb, "{\"kind\":\"evaluator\",\"evaluator_id\":\"%s\",\"public_key\":\"%s\","
		      "\"at\":%lld}", ev->id, ev->key_b64, (long long)ev->enrolled_at);
}

static void render_evaluator_remove_record(struct strbuf *sb, const struct evaluator *ev)
{
	strbuf_printf(sb, "{\"kind\":\"evaluator_remove\",\"evaluator_id\":\"%s\",\"at\":%lld}",
		      ev->id, (long long)ev->removed_at);
}

/* {"kind":"attest","node_id":..,"received":..,"attestation":..,"signature":..} */
static void render_attest_record(struct strbuf *sb, const char *node_id,
				 const struct stored_attestation *s)
{
	strbuf_printf(sb, "{\"kind\":\"attest\",\"node_id\":\"%s\",\"received\":%lld,", node_id,
		      (long long)s->received);
	strbuf_puts(sb, s->envelope + 1);	/* the envelope's members, as received */
}

void attestations_render_evaluator_records(struct controller *c, struct strbuf *sb)
{
	const struct evaluator_registry *r = &c->trust.evaluators;
	size_t i;

	for (i = 0; i < r->n; i++) {
		render_evaluator_record(sb, r->list[i]);
		strbuf_puts(sb, "\n");
		if (r->list[i]->removed_at) {
			render_evaluator_remove_record(sb, r->list[i]);
			strbuf_puts(sb, "\n");
		}
	}
}

void attestations_render_node_records(struct controller *c, const struct node *n,
				      struct strbuf *sb)
{
	unsigned int i;

	(void)c;
	for (i = 0; i < n->trust.n_att; i++) {
		const struct stored_attestation *s = &n->trust.att[i];

		if (!evaluator_active(s->ev))
			continue;
		render_attest_record(sb, n->id, s);
		strbuf_puts(sb, "\n");
	}
}

int attestations_record_apply_evaluator(struct controller *c, const char *t,
					struct json_object *rec)
{
	const char *id = meshnet_json_get_string(rec, "evaluator_id");
	int64_t at = 0;

	meshnet_json_get_int64(rec, "at", &at);
	if (!id)
		return -1;
	if (!strcmp(t, "evaluator")) {
		enum evaluator_error e = evaluators_add(&c->trust.evaluators, id,
							meshnet_json_get_string(rec, "public_key"),
							at, NULL);

		if (e != EVALUATOR_OK) {
			log_err("stored evaluator %s: refused (%d)", id, (int)e);
			return -1;
		}
		return 0;
	}
	if (!strcmp(t, "evaluator_remove")) {
		evaluators_remove(&c->trust.evaluators, id, at);
		return 0;
	}
	log_warn("ignoring a record of unknown type '%s'", t);
	return 0;
}

int attestations_record_apply(struct controller *c, struct node *n, struct json_object *rec)
{
	const char *body_b64 = meshnet_json_get_string(rec, "attestation"),
		   *sig_b64 = meshnet_json_get_string(rec, "signature");
	struct meshnet_att_envelope env;
	struct meshnet_attestation att;
	struct evaluator *ev;
	uint8_t nonce[MESHNET_NONCE_LEN];
	int64_t received = 0;
	struct strbuf sb;
	char msg[200];
	int ret = 0;

	if (!body_b64 || !sig_b64)
		return -1;
	meshnet_json_get_int64(rec, "received", &received);
	strbuf_init(&sb);
	strbuf_puts(&sb, "{\"attestation\":");
	strbuf_json_string(&sb, body_b64);
	strbuf_puts(&sb, ",\"signature\":");
	strbuf_json_string(&sb, sig_b64);
	strbuf_puts(&sb, "}");
	if (sb.oom || meshnet_att_envelope_open(sb.buf, sb.len, &env, &att, msg, sizeof(msg))) {
		log_err("stored attestation of %s: %s", n->id, msg);
		ret = -1;
		goto out;
	}
	ev = evaluators_find(&c->trust.evaluators, att.evaluator);
	if (!ev || strcmp(att.node_id, n->id))
		goto out;	/* its evaluator was removed later: it counts no more */
	if (!meshnet_hex_decode(nonce, sizeof(nonce), att.nonce))
		evaluators_nonce_check_and_add(&c->trust.evaluators, ev, nonce, att.expires,
					       controller_now());
	if (node_evidence_put(&n->trust, ev, &att, sb.buf, received) == EVIDENCE_PUT_NOMEM)
		ret = -1;
out:
	meshnet_att_envelope_free(&env);
	strbuf_free(&sb);
	return ret;
}

/* ---- evaluators (admin) ---- */

static void render_evaluator(struct strbuf *out, const struct evaluator *ev)
{
	strbuf_printf(out, "{\"evaluator_id\":\"%s\",\"public_key\":\"%s\",\"enrolled_unix\":%lld,"
		      "\"active\":%s}", ev->id, ev->key_b64, (long long)ev->enrolled_at,
		      ev->removed_at ? "false" : "true");
}

int controller_enrol_evaluator(struct controller *c, struct json_object *obj,
			       struct strbuf *out, uint64_t *seq, struct api_error *err)
{
	const char *id, *key;
	struct evaluator *ev;
	enum evaluator_error e;
	struct strbuf sb;
	int64_t now = controller_now();

	if (!json_object_is_type(obj, json_type_object)) {
		api_error_set(err, 400, "bad_request", "body must be a JSON object");
		return -1;
	}
	json_object_object_foreach(obj, k, v) {
		(void)v;
		if (strcmp(k, "evaluator_id") && strcmp(k, "public_key")) {
			api_error_set(err, 400, "bad_request", "unknown member %.40s (evaluator_id "
				      "and public_key only)", k);
			return -1;
		}
	}
	id = meshnet_json_get_string(obj, "evaluator_id");
	key = meshnet_json_get_string(obj, "public_key");
	pthread_mutex_lock(&c->lock);
	if (controller_write_lock_locked(c, err))
		goto fail;
	e = evaluators_add(&c->trust.evaluators, id, key, now, &ev);
	switch (e) {
	case EVALUATOR_OK:
		break;
	case EVALUATOR_BAD_ID:
		api_error_set(err, 400, "bad_request", "evaluator_id must match "
			      "^[a-z0-9][a-z0-9._-]{0,62}$ and not be \"self\" or \"any\"");
		goto fail;
	case EVALUATOR_BAD_KEY:
		api_error_set(err, 400, "bad_request",
			      "public_key must be the base64 of a 32-byte Ed25519 public key");
		goto fail;
	case EVALUATOR_EXISTS:
		api_error_set(err, 409, "exists", "evaluator %s is enrolled already", id);
		goto fail;
	case EVALUATOR_DUPLICATE_KEY:
		api_error_set(err, 409, "duplicate_key", "another evaluator has this public_key");
		goto fail;
	case EVALUATOR_FULL:
		api_error_set(err, 409, "too_many_evaluators", "at most %d evaluators",
			      EVALUATORS_MAX);
		goto fail;
	default:
		api_error_set(err, 500, "internal", "out of memory");
		goto fail;
	}
	strbuf_init(&sb);
	render_evaluator_record(&sb, ev);
	if (record_journal(c, &sb, true)) {
		strbuf_free(&sb);
		/* undo: the entry is the last one */
		c->trust.evaluators.n--;
		EVP_PKEY_free(ev->pub);
		free(ev);
		api_error_set(err, 500, "storage", "could not persist the evaluator");
		goto fail;
	}
	strbuf_free(&sb);
	strbuf_init(&sb);
	strbuf_printf(&sb, "\"evaluator_id\":\"%s\",\"public_key\":\"%s\"", ev->id, ev->key_b64);
	record_audit(c, "evaluator_enrol", &sb);
	strbuf_free(&sb);
	log_info("Evaluator %s enrolled", ev->id);
	render_evaluator(out, ev);
	*seq = controller_commit_locked(c);
	pthread_mutex_unlock(&c->lock);
	return 0;
fail:
	controller_commit_locked(c);	/* releases a shared store's write lock */
	pthread_mutex_unlock(&c->lock);
	return -1;
}

/* One entry of EVALUATORS_FILE, checked as POST /v1/evaluators would; 0 or -1 (logged). */
static int check_file_entry(struct json_object *arr, size_t i, const char *path)
{
	struct json_object *o = json_object_array_get_idx(arr, i);
	const char *id = json_object_is_type(o, json_type_object) ?
			 meshnet_json_get_string(o, "evaluator_id") : NULL;
	const char *key = id ? meshnet_json_get_string(o, "public_key") : NULL;
	uint8_t raw[32];
	size_t j;

	if (!id || !key || json_object_object_length(o) != 2) {
		log_err("EVALUATORS_FILE %s: evaluators[%zu]: want {\"evaluator_id\":..,"
			"\"public_key\":..} and nothing else", path, i);
		return -1;
	}
	if (!meshnet_node_id_valid(id) || !strcmp(id, "self") || !strcmp(id, "any")) {
		log_err("EVALUATORS_FILE %s: evaluators[%zu]: evaluator_id '%.64s' must match "
			"^[a-z0-9][a-z0-9._-]{0,62}$ and not be self or any", path, i, id);
		return -1;
	}
	if (meshnet_b64_decode_exact(raw, sizeof(raw), key)) {
		log_err("EVALUATORS_FILE %s: evaluators[%zu] (%s): public_key must be the base64 "
			"of a 32-byte Ed25519 public key", path, i, id);
		return -1;
	}
	for (j = 0; j < i; j++) {
		struct json_object *p = json_object_array_get_idx(arr, j);

		if (!strcmp(id, meshnet_json_get_string(p, "evaluator_id")) ||
		    !strcmp(key, meshnet_json_get_string(p, "public_key"))) {
			log_err("EVALUATORS_FILE %s: evaluators[%zu] (%s) repeats the id or key of "
				"evaluators[%zu]", path, i, id, j);
			return -1;
		}
	}
	return 0;
}

int controller_evaluators_import_file(struct controller *c, const char *path)
{
	struct json_object *root, *arr = NULL;
	struct api_error err;
	size_t i, n, added = 0;
	int ret = -1;

	root = controller_read_json_file("EVALUATORS_FILE", path, 1u << 20);
	if (!root)
		return -1;
	if (!json_object_object_get_ex(root, "evaluators", &arr) ||
	    !json_object_is_type(arr, json_type_array) || json_object_object_length(root) != 1 ||
	    (n = json_object_array_length(arr)) > EVALUATORS_MAX) {
		log_err("EVALUATORS_FILE %s: expected {\"evaluators\": [...]} (at most %d)", path,
			EVALUATORS_MAX);
		goto out;
	}
	/* all or nothing: the whole file is checked before any of it is enrolled */
	for (i = 0; i < n; i++)
		if (check_file_entry(arr, i, path))
			goto out;
	c->importing = true;
	for (i = 0; i < n; i++) {
		struct json_object *o = json_object_array_get_idx(arr, i);
		const char *id = meshnet_json_get_string(o, "evaluator_id");
		const char *key = meshnet_json_get_string(o, "public_key");
		struct evaluator *ev = evaluators_find(&c->trust.evaluators, id);
		struct strbuf out;
		uint64_t seq;

		if (ev) {	/* enrolled already: the state directory wins */
			if (strcmp(ev->key_b64, key))
				log_warn("EVALUATORS_FILE %s: %s is enrolled with another key; the "
					 "enrolled one stays (DELETE /v1/evaluators/%s, then restart, "
					 "to enrol the file's)", path, id, id);
			continue;
		}
		strbuf_init(&out);
		if (controller_enrol_evaluator(c, o, &out, &seq, &err)) {
			log_err("EVALUATORS_FILE %s: evaluators[%zu] (%s): %s", path, i, id,
				err.message);
			strbuf_free(&out);
			c->importing = false;
			goto out;
		}
		strbuf_free(&out);
		added++;
	}
	c->importing = false;
	log_info("Enrolled %zu evaluator(s) from %s", added, path);
	ret = 0;
out:
	json_object_put(root);
	return ret;
}

int controller_remove_evaluator(struct controller *c, const char *id, struct strbuf *out,
				uint64_t *seq, struct api_error *err)
{
	struct evaluator *ev;
	int64_t now = controller_now();
	size_t i, affected = 0, denied = 0;
	uint64_t new_epoch = 0;
	struct strbuf sb;

	pthread_mutex_lock(&c->lock);
	if (controller_write_lock_locked(c, err)) {
		pthread_mutex_unlock(&c->lock);
		return -1;
	}
	ev = evaluators_find(&c->trust.evaluators, id);
	if (!ev) {
		controller_commit_locked(c);	/* releases a shared store's write lock */
		pthread_mutex_unlock(&c->lock);
		api_error_set(err, 404, "unknown_evaluator", "no enrolled evaluator %s", id);
		return -1;
	}
	evaluators_remove(&c->trust.evaluators, id, now);
	strbuf_init(&sb);
	render_evaluator_remove_record(&sb, ev);
	if (record_journal(c, &sb, true)) {
		strbuf_free(&sb);
		evaluators_unremove(ev);
		pthread_mutex_unlock(&c->lock);
		api_error_set(err, 500, "storage", "could not persist the removal");
		return -1;
	}
	strbuf_free(&sb);
	strbuf_init(&sb);
	strbuf_printf(&sb, "\"evaluator_id\":\"%s\",\"public_key\":\"%s\"", ev->id, ev->key_b64);
	record_audit(c, "evaluator_remove", &sb);
	strbuf_free(&sb);
	log_info("Evaluator %s removed: its attestations count no more", id);
	/* mid-epoch: every node resting on it is decided again now */
	for (i = 0; i < c->n_nodes; i++) {
		struct node *n = c->nodes[i];

		if (!node_evidence_uses(&n->trust, ev))
			continue;
		affected++;
		if (n->verdict == VERDICT_ALLOWED && verdict_evaluate_node(c, n, now))
			denied++;
	}
	if (denied) {
		c->status_dirty = true;
		new_epoch = epochs_request_rotation_locked(c, now, "evaluator removed");
	}
	strbuf_printf(out, "{\"removed\":\"%s\",\"nodes_affected\":%zu,\"nodes_denied\":%zu,"
		      "\"epoch\":%llu}", id, affected, denied, (unsigned long long)c->epoch.id);
	*seq = controller_commit_locked(c);
	pthread_mutex_unlock(&c->lock);
	epochs_notify(c, new_epoch);
	return 0;
}

void controller_render_evaluators(struct controller *c, struct strbuf *out)
{
	pthread_mutex_lock(&c->lock);
	strbuf_puts(out, "{\"evaluators\":");
	evaluators_render_json(&c->trust.evaluators, out);
	strbuf_puts(out, "}");
	pthread_mutex_unlock(&c->lock);
}

/* ---- submissions ---- */

static int refuse(struct controller *c, struct api_error *err, unsigned int status,
		  const char *code, const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static int refuse(struct controller *c, struct api_error *err, unsigned int status,
		  const char *code, const char *fmt, ...)
{
	va_list ap;

	err->status = status;
	err->code = code;
	va_start(ap, fmt);
	vsnprintf(err->message, sizeof(err->message), fmt, ap);
	va_end(ap);
	c->attestations_refused++;
	return -1;
}

int controller_submit_attestation(struct controller *c, const char *relay_node,
				  const char *body, size_t body_len, struct strbuf *out,
				  uint64_t *seq, struct api_error *err)
{
	struct meshnet_att_envelope env;
	struct meshnet_attestation att;
	uint8_t nonce[MESHNET_NONCE_LEN];
	struct evaluator *ev;
	struct strbuf rec, expl;
	struct node *n;
	EVP_PKEY *pub;
	uint64_t new_epoch;
	int64_t now;
	char msg[200];
	int ret = -1, nr;
	bool locked = false;

	strbuf_init(&rec);
	strbuf_init(&expl);
	switch (meshnet_att_envelope_open(body, body_len, &env, &att, msg, sizeof(msg))) {
	case MESHNET_ATT_OK:
		break;
	case MESHNET_ATT_BAD_SCORE:
		pthread_mutex_lock(&c->lock);
		refuse(c, err, 400, "bad_score", "%s", msg);
		goto out_unlock;
	default:
		pthread_mutex_lock(&c->lock);
		refuse(c, err, 400, "bad_attestation", "%s", msg);
		goto out_unlock;
	}
	pthread_mutex_lock(&c->lock);
	ev = evaluators_find(&c->trust.evaluators, att.evaluator);
	if (!ev) {
		if (evaluators_find_any(&c->trust.evaluators, att.evaluator))
			refuse(c, err, 403, "evaluator_removed", "evaluator %s was removed",
			       att.evaluator);
		else
			refuse(c, err, 403, "unknown_evaluator", "no enrolled evaluator %s",
			       att.evaluator);
		goto out_unlock;
	}
	pub = ev->pub;
	EVP_PKEY_up_ref(pub);
	pthread_mutex_unlock(&c->lock);
	/* the costly part runs unlocked */
	nr = meshnet_attestation_verify(pub, env.body, env.body_len, env.sig);
	EVP_PKEY_free(pub);
	pthread_mutex_lock(&c->lock);
	if (nr) {
		refuse(c, err, 401, "bad_attestation_signature",
		       "the signature is not evaluator %s's over these bytes", att.evaluator);
		goto out_unlock;
	}
	/* a shared store: lock (catching up) before anything changes */
	if (controller_write_lock_locked(c, err)) {
		c->attestations_refused++;
		goto out_unlock;
	}
	locked = true;
	if (evaluators_find(&c->trust.evaluators, att.evaluator) != ev) {
		refuse(c, err, 403, "evaluator_removed", "evaluator %s was removed", att.evaluator);
		goto out_unlock;
	}
	now = controller_now();
	if (relay_node && strcmp(relay_node, att.node_id)) {
		refuse(c, err, 403, "wrong_node", "node %s may not relay an attestation about %s",
		       relay_node, att.node_id);
		goto out_unlock;
	}
	n = controller_find(c, att.node_id);
	if (!n) {
		refuse(c, err, 404, "unknown_node", "node %s is not enrolled", att.node_id);
		goto out_unlock;
	}
	if (strcmp(n->wg_public_key, att.wg_public_key)) {
		refuse(c, err, 409, "wrong_wg_key",
		       "the attestation is for another WireGuard key than node %s's", n->id);
		goto out_unlock;
	}
	if (att.expires <= now) {
		refuse(c, err, 400, "attestation_expired", "the attestation expired %" PRId64
		       " s ago", now - att.expires);
		goto out_unlock;
	}
	if (att.ran_at > now + c->cfg->clock_skew) {
		refuse(c, err, 400, "bad_timestamp", "ran_at_unix lies in the future");
		goto out_unlock;
	}
	if (meshnet_hex_decode(nonce, sizeof(nonce), att.nonce)) {
		refuse(c, err, 400, "bad_attestation", "malformed nonce");
		goto out_unlock;
	}
	switch (evaluators_nonce_check_and_add(&c->trust.evaluators, ev, nonce, att.expires,
					       now)) {
	case 0:
		break;
	case 1:
		c->stats.replays++;
		refuse(c, err, 409, "replay", "this attestation (evaluator %s, nonce %s) was "
		       "accepted before", att.evaluator, att.nonce);
		goto out_unlock;
	default:
		refuse(c, err, 503, "busy", "out of memory for the replay set; retry later");
		goto out_unlock;
	}
	switch (node_evidence_check(&n->trust, &att, now)) {
	case EVIDENCE_PUT_OK:
		break;
	case EVIDENCE_PUT_STALE:
		evaluators_nonce_forget(&c->trust.evaluators, ev, nonce);
		refuse(c, err, 409, "stale_attestation", "node %s holds a newer attestation of "
		       "%s for suite %s", n->id, att.evaluator, att.suite);
		goto out_unlock;
	default:
		evaluators_nonce_forget(&c->trust.evaluators, ev, nonce);
		refuse(c, err, 409, "too_many_attestations", "node %s holds %d (evaluator, suite) "
		       "pairs already", n->id, EVIDENCE_MAX_PER_NODE);
		goto out_unlock;
	}
	/* persist first: an attestation that cannot be journaled changes nothing */
	{
		struct stored_attestation tmp = { .received = now };
		struct strbuf envelope;

		strbuf_init(&envelope);
		strbuf_printf(&envelope, "{\"attestation\":\"%s\",\"signature\":\"%s\"}",
			      env.body_b64, env.sig_b64);
		tmp.envelope = envelope.buf;
		if (!envelope.oom)
			render_attest_record(&rec, n->id, &tmp);
		if (envelope.oom || record_journal(c, &rec, false) ||
		    node_evidence_put(&n->trust, ev, &att, envelope.buf, now)) {
			strbuf_free(&envelope);
			evaluators_nonce_forget(&c->trust.evaluators, ev, nonce);
			refuse(c, err, 500, "storage", "could not persist the attestation");
			goto out_unlock;
		}
		strbuf_free(&envelope);
	}
	c->attestations_accepted++;
	n->last_update = now;
	new_epoch = verdict_new_result_locked(c, n, now, &expl, NULL);
	strbuf_printf(out, "{\"accepted\":true,\"node_id\":\"%s\",\"evaluator\":\"%s\","
		      "\"suite\":\"%s\",\"membership\":\"%s\",\"reason\":", n->id, att.evaluator,
		      att.suite, verdict_name(n->verdict));
	strbuf_json_string(out, n->reason);
	strbuf_printf(out, ",\"rule\":\"%s\",\"epoch\":%llu,\"explanation\":", n->rule,
		      (unsigned long long)c->epoch.id);
	strbuf_append(out, expl.buf ? expl.buf : "null", expl.buf ? expl.len : 4);
	strbuf_printf(out, ",\"revision\":%llu}", (unsigned long long)c->rv.head);
	*seq = controller_commit_locked(c);
	pthread_mutex_unlock(&c->lock);
	epochs_notify(c, new_epoch);
	ret = 0;
	goto out;
out_unlock:
	if (locked)	/* refused after the store's write lock: release it */
		controller_commit_locked(c);
	pthread_mutex_unlock(&c->lock);
out:
	meshnet_att_envelope_free(&env);
	strbuf_free(&rec);
	strbuf_free(&expl);
	return ret;
}
