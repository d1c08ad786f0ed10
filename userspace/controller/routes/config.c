// SPDX-License-Identifier: MIT
/* GET /v1/config/{node_id}: a node's config reply, long-polled. */
#include "../http.h"

void route_config(struct api_server *s, struct request *r)
{
	uint64_t wait_s = 0, after = 0;
	bool has_wait, has_after;
	struct api_error err;
	unsigned int status;
	struct strbuf sb;

	if (!r->resumed) {
		if (http_query_uint(r, "wait", LONGPOLL_MAX_WAIT, &wait_s, &has_wait) ||
		    http_query_uint(r, "after_epoch", UINT64_MAX / 2, &after, &has_after)) {
			http_reply_error(s, r, 400, "bad_request",
				    "wait and after_epoch must be non-negative integers");
			return;
		}
		if (has_after && wait_s > 0 && controller_epoch_id(s->c) <= after &&
		    longpoll_add(s, r, after, (unsigned int)wait_s))
			return;	/* suspended: answered on a new epoch or at the deadline */
	}
	strbuf_init(&sb);
	status = controller_render_config(s->c, r->node_id, &sb, &err);
	if (!status) {
		strbuf_free(&sb);
		http_reply_api_error(s, r, &err);
		return;
	}
	http_reply_json(s, r, status, &sb);
}

