// SPDX-License-Identifier: MIT
/* GET /v1/epoch and POST /v1/rotate (admin). */
#include "../http.h"

void route_epoch(struct api_server *s, struct request *r)
{
	struct strbuf sb;

	strbuf_init(&sb);
	controller_render_epoch(s->c, &sb);
	http_reply_json(s, r, 200, &sb);
}

void route_rotate(struct api_server *s, struct request *r)
{
	struct strbuf sb;
	uint64_t seq, id = controller_rotate(s->c, "requested by admin", &seq);

	if (!id) {
		http_reply_error(s, r, 500, "storage", "could not persist a new epoch");
		return;
	}
	strbuf_init(&sb);
	controller_render_epoch(s->c, &sb);
	http_reply_when_durable(s, r, 200, &sb, seq);
}

