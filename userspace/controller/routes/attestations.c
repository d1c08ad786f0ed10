// SPDX-License-Identifier: MIT
/*
 * POST /v1/attestations: an evaluator's signed attestation, from anyone
 * (the evaluator's signature over the exact bytes authenticates it).
 * POST /v1/nodes/{node_id}/attestations: the same envelope relayed by the
 * node it is about, in a request the node signs (it cannot change the bytes).
 */
#include "../http.h"

static void submit(struct api_server *s, struct request *r, const char *relay_node)
{
	struct api_error err;
	struct strbuf sb;
	uint64_t seq;

	strbuf_init(&sb);
	if (controller_submit_attestation(s->c, relay_node, r->body, r->body_len, &sb, &seq,
					  &err)) {
		strbuf_free(&sb);
		http_reply_api_error(s, r, &err);
		return;
	}
	/* 200 only once the attestation (and any verdict it made) is on disk */
	http_reply_when_durable(s, r, 200, &sb, seq);
}

void route_attestation(struct api_server *s, struct request *r)
{
	submit(s, r, NULL);
}

void route_attestation_relay(struct api_server *s, struct request *r)
{
	submit(s, r, r->node_id);
}
