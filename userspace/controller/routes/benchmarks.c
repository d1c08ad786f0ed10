// SPDX-License-Identifier: MIT
/* POST /v1/benchmarks/{node_id}: a node's signed benchmark submission. */
#include "../http.h"
#include "sign.h"

void route_benchmark(struct api_server *s, struct request *r)
{
	struct benchmark_evidence ev = {
		.method = "POST",
		.path_query = r->uri,
		.timestamp = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND,
							 MESHNET_HDR_TIMESTAMP),
		.nonce = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, MESHNET_HDR_NONCE),
		.signature = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND,
							 MESHNET_HDR_SIGNATURE),
	};
	struct api_error err;
	struct strbuf sb;
	uint64_t seq;

	strbuf_init(&sb);
	if (controller_submit_benchmark(s->c, r->node_id, r->body, r->body_len, &ev, &sb, &seq,
					&err)) {
		strbuf_free(&sb);
		http_reply_api_error(s, r, &err);
		return;
	}
	/* 200 only once the benchmark (and any verdict it made) is on disk */
	http_reply_when_durable(s, r, 200, &sb, seq);
}

