/* SPDX-License-Identifier: MIT */
/*
 * Admin-only views and one-time join tokens (admin_views.c, join_tokens.c),
 * served by routes/admin.c.
 */
#ifndef MESHNETD_ADMIN_H
#define MESHNETD_ADMIN_H

#include <stdint.h>

#include <json-c/json.h>

#include "controller.h"
#include "strbuf.h"

#define JOIN_TOKEN_HEX 64		/* 32 random bytes */
#define JOIN_TOKEN_DEFAULT_TTL 3600
#define JOIN_TOKEN_MAX_TTL (7 * 86400)
#define JOIN_TOKENS_MAX 4096		/* outstanding tokens */

void admin_render_nodes(struct controller *c, struct strbuf *out);
/*
 * The one view of a node, for GET /v1/nodes/{id}, GET /v1/admin/nodes/{id}
 * and the replies to enrol, pin and join: the list's fields, the v1
 * status object, tags, the explanation of its verdict, the epoch, its
 * recent score history and the thresholds. -1 if there is no such node.
 */
int node_view_render(struct controller *c, const char *id, struct strbuf *out);
void admin_render_status(struct controller *c, struct strbuf *out);
void admin_render_epochs(struct controller *c, struct strbuf *out);
int admin_render_audit_tail(struct controller *c, unsigned int n, struct strbuf *out,
			    struct api_error *err);

/*
 * A one-time token that lets node_id enrol itself with its own public keys
 * (POST /v1/join): obj holds node_id, overlay (or allowed_ips), optional
 * endpoint and ttl_seconds. The token is returned once, in token_out; only
 * its SHA-256 is kept, in memory. 0, or -1 + err.
 */
int join_token_create(struct controller *c, struct json_object *obj,
		      char token_out[JOIN_TOKEN_HEX + 1], int64_t *expires, struct api_error *err);
/*
 * Redeems a token with the node's public keys (obj: token, node_id,
 * wg_public_key, ed25519_public_key): enrols the node and forgets the
 * token. A wrong, expired or used token, or another node id: 403
 * bad_token, nothing changes. Fills node_id_out on success, and *seq with
 * the commit batch to wait for before answering (as controller_enrol).
 */
int join_token_redeem(struct controller *c, struct json_object *obj, char node_id_out[64],
		      uint64_t *seq, struct api_error *err);
/* Wipes every outstanding token (shutdown). */
void join_tokens_clear(void);

#endif
