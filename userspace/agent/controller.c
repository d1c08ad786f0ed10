// SPDX-License-Identifier: MIT
/*
 * Talking to the controller: the signed config long-poll
 * GET /v1/config/{node_id}?wait=&after_epoch= and the classification of
 * its answer (a config for this ALLOWED node, a 403 "denied" for this
 * node, or a failure with a sentence: unreachable, TLS, 5xx, too slow,
 * garbage, another node's config).
 */
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "config_agent.h"
#include "nl/meshnet_epoch.h"
#include "nl/meshnet_parse.h"

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
