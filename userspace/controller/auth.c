// SPDX-License-Identifier: MIT
/*
 * Authentication: node requests (Ed25519 signatures, replays) and the
 * admin bearer token.
 */
#include <errno.h>
#include <pthread.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include "b64.h"
#include "controller.h"
#include "fileio.h"
#include "ids.h"
#include "log.h"
#include "sign.h"

/*
 * A key nobody holds: requests naming an unknown node are verified against
 * it, so they cost what a known node's bad signature costs and get the same
 * answer (an unauthenticated caller cannot tell enrolled ids from others).
 */
static EVP_PKEY *decoy_pkey;

static void decoy_init(void)
{
	uint8_t seed[MESHNET_ED25519_KEY_LEN], pub[MESHNET_ED25519_KEY_LEN];

	if (!meshnet_ed25519_generate(seed, pub))
		decoy_pkey = meshnet_ed25519_public_from_raw(pub);
	OPENSSL_cleanse(seed, sizeof(seed));
}

static EVP_PKEY *decoy_key(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;

	pthread_once(&once, decoy_init);
	return decoy_pkey;
}

int controller_authenticate(struct controller *c, const char *path_id, const char *method,
			    const char *path_query, const char *body, size_t body_len,
			    const char *hdr_node, const char *hdr_ts, const char *hdr_nonce,
			    const char *hdr_sig, struct api_error *err)
{
	int64_t now_ms = controller_now_ms(), now = now_ms / 1000, ts;
	enum meshnet_verify_result vr;
	uint8_t nonce[MESHNET_NONCE_LEN];
	EVP_PKEY *pkey = NULL;
	struct peer_rec *rec;
	bool known = false;
	struct view *v;

	/* Cheap checks first: none needs a lookup or a signature verification. */
	if (!hdr_node || !hdr_ts || !hdr_nonce || !hdr_sig) {
		api_error_set(err, 401, "bad_signature",
			      "X-Meshnet-Node, -Timestamp, -Nonce and -Signature are required");
		goto fail;
	}
	if (!meshnet_node_id_valid(hdr_node) || meshnet_parse_timestamp(hdr_ts, &ts) ||
	    meshnet_hex_decode(nonce, sizeof(nonce), hdr_nonce) ||
	    strlen(hdr_sig) != MESHNET_SIG_B64_LEN) {
		api_error_set(err, 401, "bad_signature", "malformed X-Meshnet-* header");
		goto fail;
	}
	if (ts < now - c->cfg->clock_skew || ts > now + c->cfg->clock_skew) {
		api_error_set(err, 401, "stale_request",
			      "X-Meshnet-Timestamp is outside +-%ld s of the controller's clock",
			      c->cfg->clock_skew);
		goto fail;
	}
	if (ts < c->started_at) {
		/* The replay cache does not survive a restart: nor may what it saw. */
		api_error_set(err, 401, "stale_request",
			      "X-Meshnet-Timestamp is older than the controller's start; sign again");
		goto fail;
	}
	/* The published view: no writer lock, whatever a writer is doing. */
	v = controller_view(c);
	rec = controller_view_node(c, v, hdr_node);
	if (rec && rec->sign_pkey && EVP_PKEY_up_ref(rec->sign_pkey) == 1) {
		pkey = rec->sign_pkey;
		known = true;
	}
	view_put(v);
	if (!pkey) {
		pkey = decoy_key();
		if (pkey && EVP_PKEY_up_ref(pkey) != 1)
			pkey = NULL;
	}
	/* A fresh verifier each time: OpenSSL 3.2 finalises one after a one-shot verify. */
	vr = meshnet_verify_request(pkey, c->cfg->mesh_id, method, path_query, body, body_len,
				    hdr_ts, hdr_nonce, hdr_sig, now, c->cfg->clock_skew);
	EVP_PKEY_free(pkey);
	if (vr != MESHNET_VERIFY_OK || !known) {
		/* Unknown node and bad signature: one answer. */
		api_error_set(err, 401, "bad_signature", "the request signature does not verify");
		goto fail;
	}
	if (strcmp(hdr_node, path_id)) {
		api_error_set(err, 403, "forbidden", "node %s may not act for %s", hdr_node,
			      path_id);
		goto fail;
	}
	/* Several controllers: the store's shared table decides (A accepts, B refuses). */
	switch (store_replay_check_and_set(c->store, hdr_node, nonce, ts + c->cfg->clock_skew + 1)) {
	case 0:
		return 0;
	case 1:
		api_error_set(err, 409, "replay", "this request was seen before");
		__atomic_fetch_add(&c->stats.replays, 1, __ATOMIC_RELAXED);
		return -1;
	case STORE_NOT_SHARED:
		break;
	default:
		api_error_set(err, 503, "storage_unavailable",
			      "the database cannot be reached now; retry");
		return -1;
	}
	switch (replay_cache_check_and_add(c->replay, hdr_node, nonce, ts, now_ms)) {
	case REPLAY_FRESH:
		return 0;
	case REPLAY_SEEN:
		api_error_set(err, 409, "replay", "this request was seen before");
		__atomic_fetch_add(&c->stats.replays, 1, __ATOMIC_RELAXED);
		return -1;
	default:
		api_error_set(err, 429, "rate_limited",
			      "node %s is over its request rate (NODE_RATE); retry later", hdr_node);
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
