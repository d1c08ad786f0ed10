// SPDX-License-Identifier: MIT
/*
 * One-time join tokens: an admin asks for a token for node_id (with its
 * overlay prefixes and endpoint); the node generates its own keys and
 * enrols itself with the token (POST /v1/join), so no private key ever
 * leaves it. Only the token's SHA-256 is kept, in memory (a restart
 * forgets outstanding tokens), with an expiry; a token works once.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include "admin.h"
#include "b64.h"
#include "ids.h"
#include "jsonutil.h"
#include "log.h"

struct join_token {
	uint8_t hash[SHA256_DIGEST_LENGTH];
	char node_id[64];
	char *allowed_ips_json;	/* ["10.10.0.5/32",...] */
	char endpoint[64];
	int64_t expires;
};

static pthread_mutex_t tokens_lock = PTHREAD_MUTEX_INITIALIZER;
static struct join_token *tokens;
static size_t n_tokens;

static void token_drop(size_t i)
{
	free(tokens[i].allowed_ips_json);
	OPENSSL_cleanse(&tokens[i], sizeof(tokens[i]));
	tokens[i] = tokens[--n_tokens];
}

static void drop_expired_locked(int64_t now)
{
	for (size_t i = 0; i < n_tokens;)
		if (tokens[i].expires <= now)
			token_drop(i);
		else
			i++;
}

/* The enrolment object a token stands for, with these public keys. */
static struct json_object *enrolment_of(const struct join_token *t, const char *wg,
					const char *ed)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "node_id", json_object_new_string(t->node_id));
	json_object_object_add(o, "public_key", json_object_new_string(wg));
	json_object_object_add(o, "signing_key", json_object_new_string(ed));
	json_object_object_add(o, "allowed_ips", json_tokener_parse(t->allowed_ips_json));
	if (t->endpoint[0])
		json_object_object_add(o, "endpoint", json_object_new_string(t->endpoint));
	return o;
}

int join_token_create(struct controller *c, struct json_object *obj,
		      char token_out[JOIN_TOKEN_HEX + 1], int64_t *expires, struct api_error *err)
{
	/* placeholder keys, only to check the fields with the enrolment parser */
	static const char zero_key[] = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
	struct join_token t = { 0 };
	struct json_object *v, *probe;
	struct node parsed;
	uint8_t raw[32];
	int64_t now = controller_now(), ttl = JOIN_TOKEN_DEFAULT_TTL;
	const char *id = meshnet_json_get_string(obj, "node_id");
	int ret = -1;

	if (!id || !meshnet_node_id_valid(id)) {
		api_error_set(err, 400, "bad_node_id",
			      "node_id must match ^[a-z0-9][a-z0-9._-]{0,62}$");
		return -1;
	}
	if (json_object_object_get_ex(obj, "ttl_seconds", &v)) {
		if (!json_object_is_type(v, json_type_int) || json_object_get_int64(v) < 60 ||
		    json_object_get_int64(v) > JOIN_TOKEN_MAX_TTL) {
			api_error_set(err, 400, "bad_request", "ttl_seconds must be an integer in 60..%d",
				      JOIN_TOKEN_MAX_TTL);
			return -1;
		}
		ttl = json_object_get_int64(v);
	}
	snprintf(t.node_id, sizeof(t.node_id), "%s", id);
	probe = json_object_get(obj);
	json_object_object_add(probe, "public_key", json_object_new_string(zero_key));
	json_object_object_add(probe, "signing_key", json_object_new_string(zero_key));
	ret = node_parse_enrolment(probe, &parsed, err);
	json_object_object_del(probe, "public_key");
	json_object_object_del(probe, "signing_key");
	json_object_put(probe);
	if (ret)
		return -1;
	t.allowed_ips_json = parsed.allowed_ips_json;
	snprintf(t.endpoint, sizeof(t.endpoint), "%s", parsed.endpoint);
	ret = -1;
	pthread_mutex_lock(&c->lock);
	if (controller_find(c, id)) {
		pthread_mutex_unlock(&c->lock);
		api_error_set(err, 409, "exists", "node %s is enrolled already", id);
		goto out;
	}
	pthread_mutex_unlock(&c->lock);
	if (RAND_bytes(raw, sizeof(raw)) != 1) {
		api_error_set(err, 500, "internal", "no randomness");
		goto out;
	}
	meshnet_hex_encode(token_out, raw, sizeof(raw));
	SHA256((const uint8_t *)token_out, JOIN_TOKEN_HEX, t.hash);
	OPENSSL_cleanse(raw, sizeof(raw));
	t.expires = now + ttl;
	pthread_mutex_lock(&tokens_lock);
	drop_expired_locked(now);
	for (size_t i = 0; i < n_tokens; i++)
		if (!strcmp(tokens[i].node_id, id))
			token_drop(i--); /* a new token replaces the node's old one */
	if (n_tokens >= JOIN_TOKENS_MAX) {
		pthread_mutex_unlock(&tokens_lock);
		api_error_set(err, 503, "too_many_tokens", "%d join tokens are outstanding",
			      JOIN_TOKENS_MAX);
		goto out;
	}
	if (!(n_tokens % 64)) {
		struct join_token *nt = realloc(tokens, (n_tokens + 64) * sizeof(*nt));

		if (!nt) {
			pthread_mutex_unlock(&tokens_lock);
			api_error_set(err, 500, "internal", "out of memory");
			goto out;
		}
		tokens = nt;
	}
	tokens[n_tokens++] = t;
	t.allowed_ips_json = NULL;
	pthread_mutex_unlock(&tokens_lock);
	*expires = t.expires;
	log_info("%s: join token issued (valid until %lld, one use)", id, (long long)t.expires);
	ret = 0;
out:
	free(t.allowed_ips_json);
	if (ret)
		OPENSSL_cleanse(token_out, JOIN_TOKEN_HEX + 1);
	return ret;
}

int join_token_redeem(struct controller *c, struct json_object *obj, char node_id_out[64],
		      uint64_t *seq, struct api_error *err)
{
	const char *token = meshnet_json_get_string(obj, "token");
	const char *id = meshnet_json_get_string(obj, "node_id");
	const char *wg = meshnet_json_get_string(obj, "wg_public_key");
	const char *ed = meshnet_json_get_string(obj, "ed25519_public_key");
	uint8_t hash[SHA256_DIGEST_LENGTH];
	struct json_object *enrol;
	size_t found = (size_t)-1;
	int ret;

	if (!token || strlen(token) != JOIN_TOKEN_HEX || !id || !wg || !ed) {
		api_error_set(err, 400, "bad_request",
			      "token (64 hex characters), node_id, wg_public_key and "
			      "ed25519_public_key are required");
		return -1;
	}
	SHA256((const uint8_t *)token, JOIN_TOKEN_HEX, hash);
	pthread_mutex_lock(&tokens_lock);
	drop_expired_locked(controller_now());
	for (size_t i = 0; i < n_tokens; i++)
		if (!CRYPTO_memcmp(tokens[i].hash, hash, sizeof(hash)))
			found = i;
	if (found == (size_t)-1 || strcmp(tokens[found].node_id, id)) {
		pthread_mutex_unlock(&tokens_lock);
		api_error_set(err, 403, "bad_token",
			      "the join token is unknown, expired, used, or for another node");
		return -1;
	}
	enrol = enrolment_of(&tokens[found], wg, ed);
	ret = controller_enrol(c, enrol, seq, err);
	json_object_put(enrol);
	if (!ret) {
		snprintf(node_id_out, 64, "%s", tokens[found].node_id);
		token_drop(found);
		log_info("%s: joined with its one-time token (its keys never left it)", node_id_out);
	}
	pthread_mutex_unlock(&tokens_lock);
	return ret;
}

void join_tokens_clear(void)
{
	pthread_mutex_lock(&tokens_lock);
	while (n_tokens)
		token_drop(0);
	free(tokens);
	tokens = NULL;
	pthread_mutex_unlock(&tokens_lock);
}
