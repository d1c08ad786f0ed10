// SPDX-License-Identifier: MIT
/*
 * Talking to the controller: the signed config long-poll
 * GET /v1/config/{node_id}?wait=&after_epoch= and the classification of
 * its answer (a config for this ALLOWED node, a 403 "denied" for this
 * node, or a failure with a sentence: unreachable, TLS, 5xx, too slow,
 * garbage, another node's config).
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <string.h>

#include <json-c/json.h>

#include "config_agent.h"
#include "log.h"
#include "version.h"
#include "nl/meshnet_epoch.h"
#include "nl/meshnet_parse.h"
#include "statement_read.h"
#include "table_digest.h"
#include "jsonutil.h"
#include "tlog/checkpoint.h"
#include "nl/meshnet_nl.h"
#include "timefmt.h"

/* The message of a 403 {"error": {"code": "denied", "message": ...}}. */
static void denied_reason(const struct agent_http_reply *r, char *out, size_t outlen)
{
	struct json_object *root = r->body ? json_tokener_parse(r->body) : NULL, *e, *m;

	out[0] = '\0';
	if (root && json_object_object_get_ex(root, "error", &e) &&
	    json_object_object_get_ex(e, "message", &m) && json_object_is_type(m, json_type_string))
		snprintf(out, outlen, "%s", json_object_get_string(m));
	json_object_put(root);
}

static int is_denied_reply(const struct agent_http_reply *r)
{
	struct json_object *root = r->body ? json_tokener_parse(r->body) : NULL, *e, *c;
	int yes = 0;

	if (root && json_object_object_get_ex(root, "error", &e) &&
	    json_object_object_get_ex(e, "code", &c) && json_object_is_type(c, json_type_string))
		yes = !strcmp(json_object_get_string(c), "denied");
	json_object_put(root);
	return yes;
}

enum agent_fetch_result agent_controller_fetch(struct agent_config *ca, unsigned int wait,
					       struct meshnet_epoch *e, char *text, size_t textlen)
{
	const struct agent_options *o = &ca->ctx->opts;
	struct agent_http_reply reply;
	enum agent_fetch_result ret = AGENT_FETCH_FAILED;
	char path[256], err[400];

	memset(e, 0, sizeof(*e));
	atomic_store(&ca->wake, false);
	if (ca->current.id && !atomic_load(&ca->resync))
		snprintf(path, sizeof(path), "/v1/config/%s?wait=%u&after_epoch=%llu", o->node_id,
			 wait, (unsigned long long)ca->current.id);
	else
		snprintf(path, sizeof(path), "/v1/config/%s", o->node_id);
	if (agent_http_request(&ca->http, "GET", path, NULL, wait + o->http_timeout, &reply, err,
			       sizeof(err))) {
		if (atomic_load(&ca->wake) && !atomic_load(&ca->ctx->stop))
			return AGENT_FETCH_INTERRUPTED;
		snprintf(text, textlen, "controller unreachable: %s", err);
		return AGENT_FETCH_FAILED;
	}
	ca->t_reply = meshnet_now_ns();
	ca->cpu_reply = agent_thread_cpu_ns();
	if (reply.status == 200 || (reply.status == 403 && is_denied_reply(&reply))) {
		if (meshnet_epoch_parse(reply.body ? reply.body : "", reply.len, e, err,
					sizeof(err))) {
			snprintf(text, textlen, "garbage config answer (HTTP %ld): %s", reply.status,
				 err);
			goto out;
		}
		if (reply.status == 403) {
			e->self_verdict = MESHNET_VERDICT_DENIED;
			denied_reason(&reply, e->self_reason, sizeof(e->self_reason));
			ret = AGENT_FETCH_DENIED;
		} else if (e->self_verdict != MESHNET_VERDICT_ALLOWED) {
			snprintf(text, textlen, "HTTP 200 with membership %s",
				 meshnet_verdict_name(e->self_verdict));
		} else {
			ret = AGENT_FETCH_ALLOWED;
		}
	} else {
		agent_http_error_text(&reply, text, textlen);
	}
out:
	if (ret == AGENT_FETCH_FAILED)
		meshnet_epoch_free(e);
	agent_http_reply_free(&reply);
	return ret;
}

void agent_controller_count_refusal(struct agent_config *ca, const char *why)
{
	struct agent_state *s = &ca->ctx->state;

	log_warn("REFUSED statement from %s: %s; nothing applied (revision %llu stays)",
		 agent_http_url(&ca->http), why, (unsigned long long)ca->revision);
	pthread_mutex_lock(&s->lock);
	s->statements_refused++;
	agent_strcpy(s->last_refusal, sizeof(s->last_refusal), why);
	pthread_mutex_unlock(&s->lock);
}

enum agent_fetch_result agent_controller_fetch_v2(struct agent_config *ca, unsigned int wait,
						  struct agent_statement *st, char *text,
						  size_t textlen)
{
	const struct agent_options *o = &ca->ctx->opts;
	struct agent_http_reply reply;
	bool snapshot = (atomic_load(&ca->resync) || ca->want_snapshot) && ca->revision;
	struct agent_statement_ctx sc = {
		.controller_key = ca->ctx->controller_key,
		.node_id = o->node_id,
		.mesh_id = o->mesh_id,
		.wg_private = ca->ctx->keys.wg_private,
		.wg_public = ca->ctx->keys.wg_public,
		/* an asked-for snapshot may restate the held revision */
		.held_revision = snapshot ? ca->revision - 1 : ca->revision,
		.now = time(NULL),
		.dh = &ca->dh,
	};
	char path[256], err[400];
	enum agent_fetch_result ret = AGENT_FETCH_FAILED;

	memset(st, 0, sizeof(*st));
	atomic_store(&ca->wake, false);
	/* a snapshot is asked for at once; "nothing new" is waited for */
	snprintf(path, sizeof(path), "/v1/config/%s?rev=%llu&wait=%u%s", o->node_id,
		 (unsigned long long)ca->revision, snapshot ? 0 : wait,
		 snapshot ? "&snapshot=1" : "");
	if (agent_http_request(&ca->http, "GET", path, NULL, wait + o->http_timeout, &reply, err,
			       sizeof(err))) {
		if (atomic_load(&ca->wake) && !atomic_load(&ca->ctx->stop))
			return AGENT_FETCH_INTERRUPTED;
		snprintf(text, textlen, "controller unreachable: %s", err);
		return AGENT_FETCH_FAILED;
	}
	ca->t_reply = meshnet_now_ns();
	ca->cpu_reply = agent_thread_cpu_ns();
	switch (reply.status) {
	case 204: {
		unsigned long long head = strtoull(reply.revision, NULL, 10);

		if (reply.revision[0] && head < ca->revision) {
			/* this controller is behind the revision we hold */
			snprintf(text, textlen, "controller at revision %llu, behind the held %llu",
				 head, (unsigned long long)ca->revision);
			agent_http_failover(&ca->http, text);
			break;
		}
		ret = AGENT_FETCH_NOTHING;
		break;
	}
	case 409:
		agent_http_error_text(&reply, text, textlen);
		agent_http_failover(&ca->http, "it has not reached the revision this node holds");
		break;
	case 200:
	case 403:
		if (reply.status == 403 && !is_denied_reply(&reply)) {
			agent_http_error_text(&reply, text, textlen);
			break;
		}
		if (agent_statement_read(&reply, &sc, st, err, sizeof(err))) {
			agent_controller_count_refusal(ca, err);
			snprintf(text, textlen, "statement refused: %s", err);
			agent_http_failover(&ca->http, "its statement was refused");
			break;
		}
		ca->t_checked = meshnet_now_ns();
		ret = AGENT_FETCH_STATEMENT;
		break;
	default:
		agent_http_error_text(&reply, text, textlen);
	}
	agent_http_reply_free(&reply);
	return ret;
}

static int digest_peer(const struct meshnet_peer *p, void *arg)
{
	meshnet_table_digest_add(arg, p->public_key, p->verdict);
	return 0;
}

int agent_controller_ack(struct agent_config *ca)
{
	const struct agent_options *o = &ca->ctx->opts;
	struct meshnet_table_digest d;
	struct agent_http_reply reply;
	char hex[MESHNET_TABLE_DIGEST_HEX_LEN + 1], path[128], body[384], err[400], text[400];
	uint64_t revision, epoch;
	int r;

	/* what the module holds, read from it (not what the agent thinks it sent) */
	pthread_mutex_lock(&ca->lock);
	revision = ca->revision;
	epoch = ca->current.id;
	meshnet_table_digest_init(&d);
	r = ca->wg_pending || !revision || revision <= ca->acked_revision ? 1 :
	    meshnet_nl_dump_peers(ca->nl, false, digest_peer, &d);
	pthread_mutex_unlock(&ca->lock);
	if (r)
		return 0;
	meshnet_table_digest_hex(&d, hex);
	snprintf(path, sizeof(path), "/v1/ack/%s", o->node_id);
	snprintf(body, sizeof(body),
		 "{\"node_id\":\"%s\",\"revision\":%llu,\"epoch\":%llu,\"table_digest\":\"%s\",\"applied_unix\":%lld,\"agent_version\":\"%s\"}",
		 o->node_id, (unsigned long long)revision, (unsigned long long)epoch, hex,
		 (long long)time(NULL), MESHNET_VERSION);
	if (agent_http_request(&ca->http, "POST", path, body, o->http_timeout, &reply, err,
			       sizeof(err))) {
		log_warn("ACK revision %llu not sent: %s", (unsigned long long)revision, err);
		return -1;
	}
	if (reply.status == 200 || reply.status == 201 || reply.status == 204) {
		ca->acked_revision = revision;
		log_info("ACKED revision=%llu epoch=%llu table_digest=%.16s...",
			 (unsigned long long)revision, (unsigned long long)epoch, hex);
	} else if (reply.status == 404 && !ca->ack_unsupported) {
		ca->ack_unsupported = true; /* an older controller: said once */
		log_info("ACK: the controller has no /v1/ack route; enforcement is not acknowledged");
	} else if (reply.status != 404) {
		agent_http_error_text(&reply, text, sizeof(text));
		log_warn("ACK revision %llu refused: %s", (unsigned long long)revision, text);
	}
	agent_http_reply_free(&reply);
	return 0;
}

int agent_controller_consistency_proof(struct agent_config *ca, uint64_t from, uint64_t to,
				       tlog_hash **proof, size_t *n)
{
	const struct agent_options *o = &ca->ctx->opts;
	struct agent_http_reply reply;
	struct json_object *root = NULL, *list;
	char path[128], err[400];
	int ret = -1;

	*proof = NULL;
	*n = 0;
	snprintf(path, sizeof(path), "/v1/log/proof/consistency?from=%llu&to=%llu",
		 (unsigned long long)from, (unsigned long long)to);
	if (agent_http_request(&ca->http, "GET", path, NULL, o->http_timeout, &reply, err,
			       sizeof(err)))
		return -1;
	if (reply.status == 200 && reply.body)
		root = meshnet_json_parse_strict(reply.body, reply.len);
	if (root && json_object_object_get_ex(root, "proof", &list) &&
	    json_object_is_type(list, json_type_array) &&
	    json_object_array_length(list) <= TLOG_MAX_PROOF) {
		size_t len = json_object_array_length(list);

		*proof = calloc(len ? len : 1, sizeof(**proof));
		ret = *proof ? 0 : -1;
		for (size_t i = 0; !ret && i < len; i++) {
			struct json_object *h = json_object_array_get_idx(list, i);

			if (!json_object_is_type(h, json_type_string) ||
			    tlog_hash_from_b64((*proof)[i], json_object_get_string(h)))
				ret = -1;
		}
		if (!ret)
			*n = len;
	}
	if (ret) {
		free(*proof);
		*proof = NULL;
	}
	json_object_put(root);
	agent_http_reply_free(&reply);
	return ret;
}
