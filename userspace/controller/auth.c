// SPDX-License-Identifier: MIT
/*
 * Authentication: node requests (Ed25519 signatures, replays) and the
 * admin bearer token.
 */
#include <errno.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include "b64.h"
#include "controller.h"
#include "fileio.h"
#include "ids.h"
#include "log.h"
#include "sign.h"

int controller_authenticate(struct controller *c, const char *path_id, const char *method,
			    const char *path_query, const char *body, size_t body_len,
			    const char *hdr_node, const char *hdr_ts, const char *hdr_nonce,
			    const char *hdr_sig, struct api_error *err)
{
	enum meshnet_verify_result vr;
	EVP_MD_CTX *vctx;
	uint8_t nonce[MESHNET_NONCE_LEN];
	int64_t now = controller_now();
	struct peer_rec *rec;
	struct view *v;

	if (!hdr_node || !hdr_ts || !hdr_nonce || !hdr_sig) {
		api_error_set(err, 401, "bad_signature",
			      "X-Meshnet-Node, -Timestamp, -Nonce and -Signature are required");
		goto fail;
	}
	if (!meshnet_node_id_valid(hdr_node)) {
		api_error_set(err, 401, "bad_signature", "X-Meshnet-Node is not a node id");
		goto fail;
	}
	/* The published view: no writer lock, whatever a writer is doing. */
	v = controller_view(c);
	rec = controller_view_node(c, v, hdr_node);
	if (!rec) {
		view_put(v);
		api_error_set(err, 401, "unknown_node", "node %s is not enrolled", hdr_node);
		goto fail;
	}
	/* Check the node's verifier out; concurrent requests make their own. */
	vctx = __atomic_exchange_n(&rec->vctx, NULL, __ATOMIC_ACQ_REL);
	vr = meshnet_verify_request_reuse(&vctx, rec->sign_pkey, method, path_query, body,
					  body_len, hdr_ts, hdr_nonce, hdr_sig, now,
					  c->cfg->clock_skew);
	if (vctx) {
		EVP_MD_CTX *none = NULL;

		if (__atomic_compare_exchange_n(&rec->vctx, &none, vctx, false, __ATOMIC_ACQ_REL,
						__ATOMIC_ACQUIRE))
			vctx = NULL;
		EVP_MD_CTX_free(vctx);
	}
	view_put(v);
	switch (vr) {
	case MESHNET_VERIFY_OK:
		break;
	case MESHNET_VERIFY_STALE:
		api_error_set(err, 401, "stale_request",
			      "X-Meshnet-Timestamp is outside +-%ld s of the controller's clock",
			      c->cfg->clock_skew);
		goto fail;
	case MESHNET_VERIFY_MALFORMED:
		api_error_set(err, 401, "bad_signature", "malformed X-Meshnet-* header");
		goto fail;
	default:
		api_error_set(err, 401, "bad_signature", "the request signature does not verify");
		goto fail;
	}
	if (strcmp(hdr_node, path_id)) {
		api_error_set(err, 403, "forbidden", "node %s may not act for %s", hdr_node,
			      path_id);
		goto fail;
	}
	if (meshnet_hex_decode(nonce, sizeof(nonce), hdr_nonce)) {
		api_error_set(err, 401, "bad_signature", "malformed X-Meshnet-Nonce");
		goto fail;
	}
	switch (replay_cache_check_and_add(c->replay, hdr_node, nonce, now)) {
	case REPLAY_FRESH:
		return 0;
	case REPLAY_SEEN:
		api_error_set(err, 409, "replay", "this request was seen before");
		__atomic_fetch_add(&c->stats.replays, 1, __ATOMIC_RELAXED);
		return -1;
	default:
		api_error_set(err, 503, "busy", "replay cache full; retry later");
		return -1;
	}
fail:
	__atomic_fetch_add(&c->stats.auth_failures, 1, __ATOMIC_RELAXED);
	return -1;
}


int admin_token_load(struct admin_token *t, const char *path)
{
	char *token;
	size_t len;

	memset(t, 0, sizeof(*t));
	if (!*path)
		return 0;
	if (meshnet_read_secret_file(path, 4096, &token, &len)) {
		log_err("ADMIN_TOKEN_FILE %s: %s%s", path, strerror(errno),
			errno == EPERM ? " (the file must be mode 0600, not group/other readable)" :
			"");
		return -1;
	}
	if (len < 16) {
		log_err("ADMIN_TOKEN_FILE %s: the token must be at least 16 characters", path);
		meshnet_free_secret(token, len + 1);
		return -1;
	}
	SHA256((const uint8_t *)token, len, t->hash);
	meshnet_free_secret(token, len + 1);
	t->enabled = true;
	return 0;
}

int admin_token_check(const struct admin_token *t, const char *authorization,
		      struct api_error *err)
{
	uint8_t md[SHA256_DIGEST_LENGTH];

	if (!t->enabled) {
		api_error_set(err, 401, "unauthorized",
			      "the admin API is disabled (no ADMIN_TOKEN_FILE)");
		return -1;
	}
	if (!authorization || strncmp(authorization, "Bearer ", 7)) {
		api_error_set(err, 401, "unauthorized", "Authorization: Bearer <token> required");
		return -1;
	}
	/* Comparing digests keeps the comparison constant-time in the token. */
	SHA256((const uint8_t *)authorization + 7, strlen(authorization + 7), md);
	if (CRYPTO_memcmp(md, t->hash, sizeof(md))) {
		api_error_set(err, 401, "unauthorized", "wrong admin token");
		return -1;
	}
	return 0;
}
