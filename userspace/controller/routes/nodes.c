// SPDX-License-Identifier: MIT
/*
 * Admin node routes: enrol, remove, override, and the node view (GET
 * /v1/nodes/{id} and GET /v1/admin/nodes/{id}: one handler, one renderer,
 * admin_views.c's node_view_render, which the replies to enrol and
 * override use too).
 */
#include <stdio.h>
#include <string.h>

#include "../admin.h"
#include "../http.h"

void route_enrol(struct api_server *s, struct request *r)
{
	struct json_object *obj = http_body_object(s, r);
	struct api_error err;
	uint64_t seq;
	struct strbuf sb;
	char id[64];

	if (!obj)
		return;
	if (controller_enrol(s->c, obj, &seq, &err)) {
		json_object_put(obj);
		http_reply_api_error(s, r, &err);
		return;
	}
	snprintf(id, sizeof(id), "%s", json_object_get_string(
			 json_object_object_get_ex(obj, "node_id", NULL) ?
			 json_object_object_get(obj, "node_id") : json_object_object_get(obj, "id")));
	json_object_put(obj);
	strbuf_init(&sb);
	node_view_render(s->c, id, &sb);
	http_reply_when_durable(s, r, 201, &sb, seq);
}

void route_remove(struct api_server *s, struct request *r)
{
	struct api_error err;
	uint64_t seq;
	struct strbuf sb;

	if (!http_check_node_id(s, r))
		return;
	if (controller_remove(s->c, r->node_id, &seq, &err)) {
		http_reply_api_error(s, r, &err);
		return;
	}
	strbuf_init(&sb);
	strbuf_printf(&sb, "{\"removed\":\"%s\"}", r->node_id);
	http_reply_when_durable(s, r, 200, &sb, seq);
}

void route_override(struct api_server *s, struct request *r)
{
	struct json_object *obj, *v;
	struct api_error err;
	uint64_t seq;
	struct strbuf sb;
	enum pin pin;

	if (!http_check_node_id(s, r))
		return;
	obj = http_body_object(s, r);
	if (!obj)
		return;
	if (!json_object_object_get_ex(obj, "pin", &v)) {
		json_object_put(obj);
		http_reply_error(s, r, 400, "bad_request",
			    "pin is required: \"ALLOWED\", \"DENIED\" or null to clear");
		return;
	}
	if (json_object_is_type(v, json_type_null)) {
		pin = PIN_NONE;
	} else if (json_object_is_type(v, json_type_string) &&
		   !strcmp(json_object_get_string(v), "ALLOWED")) {
		pin = PIN_ALLOWED;
	} else if (json_object_is_type(v, json_type_string) &&
		   !strcmp(json_object_get_string(v), "DENIED")) {
		pin = PIN_DENIED;
	} else {
		json_object_put(obj);
		http_reply_error(s, r, 400, "bad_request",
			    "pin must be \"ALLOWED\", \"DENIED\" or null");
		return;
	}
	json_object_put(obj);
	if (controller_set_pin(s->c, r->node_id, pin, &seq, &err)) {
		http_reply_api_error(s, r, &err);
		return;
	}
	strbuf_init(&sb);
	node_view_render(s->c, r->node_id, &sb);
	http_reply_when_durable(s, r, 200, &sb, seq);
}

void route_node_view(struct api_server *s, struct request *r)
{
	struct strbuf sb;
	char msg[160];

	if (!http_check_node_id(s, r))
		return;
	strbuf_init(&sb);
	if (node_view_render(s->c, r->node_id, &sb)) {
		strbuf_free(&sb);
		snprintf(msg, sizeof(msg), "node %s is not enrolled", r->node_id);
		http_reply_error(s, r, 404, "unknown_node", msg);
		return;
	}
	http_reply_json(s, r, 200, &sb);
}
