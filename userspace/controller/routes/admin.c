// SPDX-License-Identifier: MIT
/*
 * Admin read routes (GET /v1/admin/...: status, nodes, epochs, audit tail;
 * one node is routes/nodes.c's route_node_view), join tokens (POST /v1/admin/join-tokens) and the node's side
 * of a join (POST /v1/join, authenticated by the one-time token itself).
 */
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>

#include "../admin.h"
#include "../http.h"
#include "timefmt.h"

#define AUDIT_TAIL_DEFAULT 20
#define AUDIT_TAIL_MAX 1000
#define CHANGES_MAX_WAIT 30

/*
 * GET /v1/admin/changes?after=R&wait=S: the console's live updates. Answers
 * at once with the head revision if it is past R (or without after=), else
 * holds the request (suspended, like a node's config long-poll) until a
 * change publishes a newer revision or S seconds pass; "changed" says which.
 */
void route_admin_changes(struct api_server *s, struct request *r)
{
	const char *headers[] = { "Retry-After", "5", NULL };
	uint64_t after = 0, wait_s = 0;
	bool has_after = false, has_wait;
	struct strbuf sb;
	struct view *v;

	if (r->resumed) {
		after = r->after;
		has_after = true;
	} else {
		uint64_t head;

		if (http_query_uint(r, "after", UINT64_MAX / 2, &after, &has_after) ||
		    http_query_uint(r, "wait", CHANGES_MAX_WAIT, &wait_s, &has_wait)) {
			http_reply_error(s, r, 400, "bad_request",
					 "after must be a revision and wait a number of seconds (integers >= 0; at most 30 s are held)");
			return;
		}
		v = controller_view(s->c);
		head = v->revision;
		view_put(v);
		if (has_after && wait_s && head <= after) {
			switch (longpoll_add(s, r, true, after, (unsigned int)wait_s)) {
			case LONGPOLL_WAITING:
				return;	/* answered on a newer revision or at the deadline */
			case LONGPOLL_FULL:
				http_reply_error_headers(s, r, 503, "busy",
							 "long-poll capacity is full; retry later", headers);
				return;
			case LONGPOLL_NEWER:
				break;
			}
		}
	}
	v = controller_view(s->c);
	strbuf_init(&sb);
	strbuf_printf(&sb, "{\"revision\":%llu,\"epoch\":%llu,\"changed\":%s}",
		      (unsigned long long)v->revision, (unsigned long long)v->epoch.id,
		      !has_after || v->revision > after ? "true" : "false");
	view_put(v);
	http_reply_json(s, r, 200, &sb);
}

void route_admin_status(struct api_server *s, struct request *r)
{
	struct strbuf sb;

	strbuf_init(&sb);
	admin_render_status(s->c, &sb);
	http_reply_json(s, r, 200, &sb);
}

void route_admin_nodes(struct api_server *s, struct request *r)
{
	struct strbuf sb;

	strbuf_init(&sb);
	admin_render_nodes(s->c, &sb);
	http_reply_json(s, r, 200, &sb);
}

void route_admin_epochs(struct api_server *s, struct request *r)
{
	struct strbuf sb;

	strbuf_init(&sb);
	admin_render_epochs(s->c, &sb);
	http_reply_json(s, r, 200, &sb);
}

void route_admin_audit(struct api_server *s, struct request *r)
{
	uint64_t tail = AUDIT_TAIL_DEFAULT;
	struct api_error err;
	struct strbuf sb;
	bool present;

	if (http_query_uint(r, "tail", AUDIT_TAIL_MAX, &tail, &present) || (present && !tail)) {
		http_reply_error(s, r, 400, "bad_request", "tail must be an integer in 1..1000");
		return;
	}
	strbuf_init(&sb);
	if (admin_render_audit_tail(s->c, (unsigned int)tail, &sb, &err)) {
		strbuf_free(&sb);
		http_reply_api_error(s, r, &err);
		return;
	}
	http_reply_json(s, r, 200, &sb);
}

void route_admin_join_token(struct api_server *s, struct request *r)
{
	char token[JOIN_TOKEN_HEX + 1], when[MESHNET_RFC3339_LEN];
	struct json_object *obj = http_body_object(s, r);
	struct api_error err;
	struct strbuf sb;
	int64_t expires = 0;

	if (!obj)
		return;
	if (join_token_create(s->c, obj, token, &expires, &err)) {
		json_object_put(obj);
		http_reply_api_error(s, r, &err);
		return;
	}
	meshnet_rfc3339_format(when, expires);
	strbuf_init(&sb);
	strbuf_puts(&sb, "{\"node_id\":");
	strbuf_json_string(&sb, json_object_get_string(json_object_object_get(obj, "node_id")));
	strbuf_printf(&sb, ",\"token\":\"%s\",\"expires_utc\":\"%s\",\"uses\":1}", token, when);
	OPENSSL_cleanse(token, sizeof(token));
	json_object_put(obj);
	http_reply_json(s, r, 201, &sb); /* the body is wiped when sent */
}

void route_join(struct api_server *s, struct request *r)
{
	struct json_object *obj = http_body_object(s, r);
	struct api_error err;
	struct strbuf sb;
	uint64_t seq = 0;
	char id[64];

	if (!obj)
		return;
	if (join_token_redeem(s->c, obj, id, &seq, &err)) {
		json_object_put(obj);
		http_reply_api_error(s, r, &err);
		return;
	}
	json_object_put(obj);
	strbuf_init(&sb);
	node_view_render(s->c, id, &sb);
	http_reply_when_durable(s, r, 201, &sb, seq); /* acknowledged once on disk */
}
