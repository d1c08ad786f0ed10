// SPDX-License-Identifier: MIT
/* Admin evaluator routes: list, enrol, remove. */
#include "../http.h"
#include "ids.h"

void route_evaluators(struct api_server *s, struct request *r)
{
	struct strbuf sb;

	strbuf_init(&sb);
	controller_render_evaluators(s->c, &sb);
	http_reply_json(s, r, 200, &sb);
}

void route_evaluator_enrol(struct api_server *s, struct request *r)
{
	struct json_object *obj = http_body_object(s, r);
	struct api_error err;
	struct strbuf sb;
	uint64_t seq;

	if (!obj)
		return;
	strbuf_init(&sb);
	if (controller_enrol_evaluator(s->c, obj, &sb, &seq, &err)) {
		json_object_put(obj);
		strbuf_free(&sb);
		http_reply_api_error(s, r, &err);
		return;
	}
	json_object_put(obj);
	http_reply_when_durable(s, r, 201, &sb, seq);
}

void route_evaluator_remove(struct api_server *s, struct request *r)
{
	struct api_error err;
	struct strbuf sb;
	uint64_t seq;

	if (!meshnet_node_id_valid(r->node_id)) {
		http_reply_error(s, r, 400, "bad_request",
				 "evaluator id must match ^[a-z0-9][a-z0-9._-]{0,62}$");
		return;
	}
	strbuf_init(&sb);
	if (controller_remove_evaluator(s->c, r->node_id, &sb, &seq, &err)) {
		strbuf_free(&sb);
		http_reply_api_error(s, r, &err);
		return;
	}
	http_reply_when_durable(s, r, 200, &sb, seq);
}
