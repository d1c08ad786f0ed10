// SPDX-License-Identifier: MIT
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>
#include <openssl/crypto.h>

#include "b64.h"
#include "group_psk.h"
#include "http.h"
#include "jsonutil.h"
#include "nl/meshnet_epoch.h"
#include "nl/meshnet_parse.h"
#include "statement_read.h"
#include "tlog/checkpoint.h"

static int refuse(char *why, size_t whylen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int refuse(char *why, size_t whylen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, whylen, fmt, ap);
	va_end(ap);
	return -1;
}

void agent_statement_free(struct agent_statement *st)
{
	if (st->peers)
		OPENSSL_cleanse(st->peers, st->n_peers * sizeof(*st->peers));
	free(st->peers);
	free(st->removes);
	free(st->checkpoint);
	free(st->proof);
	OPENSSL_cleanse(st->group_key, sizeof(st->group_key));
	memset(st, 0, sizeof(*st));
}

int agent_statement_pair_psk(const struct agent_statement *st, const struct agent_statement_ctx *sc,
			     const struct meshnet_peer *peer, uint8_t psk[32])
{
	uint8_t dh[32];
	int ret;

	if (!st->has_group_key)
		return -1;
	if (!sc->dh)
		return meshnet_group_pair_psk(psk, st->group_key, st->info.epoch_id,
					      sc->wg_private, peer->public_key, sc->node_id,
					      peer->name);
	if (agent_dh_get(sc->dh, sc->wg_private, peer->public_key, dh))
		return -1;
	ret = meshnet_group_pair_psk_dh(psk, st->group_key, st->info.epoch_id, dh, sc->node_id,
					peer->name);
	OPENSSL_cleanse(dh, sizeof(dh));
	return ret;
}

/* The node's own verdict of a node-targeted statement. */
static int read_self(struct json_object *root, struct agent_statement *st, char *why,
		     size_t whylen)
{
	const char *m = meshnet_json_get_string(root, "membership");
	const char *r = meshnet_json_get_string(root, "reason");
	char err[256];

	if (!m)
		return 0;
	if (meshnet_parse_verdict(m, &st->self_verdict, err, sizeof(err)))
		return refuse(why, whylen, "membership: %s", err);
	if (r && meshnet_parse_reason(r, st->self_reason, err, sizeof(err)))
		return refuse(why, whylen, "reason: %s", err);
	st->has_self = true;
	return 0;
}

/* One peer entry; pairwise PSK checked, group PSK derived. */
static int read_peer(struct json_object *obj, const char *path, struct agent_statement *st,
		     const struct agent_statement_ctx *sc, struct meshnet_peer *p, char *why,
		     size_t whylen)
{
	char err[320];

	if (meshnet_peer_from_json(obj, path, p, err, sizeof(err)))
		return refuse(why, whylen, "%s", err);
	if (!memcmp(p->public_key, sc->wg_public, MESHNET_KEY_LEN) ||
	    !strcmp(p->name, sc->node_id))
		return refuse(why, whylen, "%snode_id: the statement lists this node as its own peer",
			      path);
	if (p->verdict != MESHNET_VERDICT_ALLOWED)
		return 0;
	if (st->info.group_mode) {
		if (p->flags & MESHNET_PEER_HAS_PSK)
			return refuse(why, whylen, "%spsk: group mode statements carry no PSK", path);
		if (!st->has_group_key)
			return 0; /* this node is not ALLOWED: no K_e, no PSK */
		if (agent_statement_pair_psk(st, sc, p, p->psk))
			return refuse(why, whylen, "%spublic_key: no PSK can be derived with it", path);
		p->flags |= MESHNET_PEER_HAS_PSK;
	} else if (!(p->flags & MESHNET_PEER_HAS_PSK) && st->self_verdict == MESHNET_VERDICT_ALLOWED) {
		return refuse(why, whylen, "%spsk: missing for an ALLOWED peer in pairwise mode", path);
	}
	return 0;
}

static int read_peers(struct json_object *list, struct agent_statement *st,
		      const struct agent_statement_ctx *sc, char *why, size_t whylen)
{
	size_t n = json_object_array_length(list);
	char path[40];

	st->peers = calloc(n ? n : 1, sizeof(*st->peers));
	if (!st->peers)
		return refuse(why, whylen, "out of memory (%zu peers)", n);
	for (size_t i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "peers[%zu].", i);
		if (read_peer(json_object_array_get_idx(list, i), path, st, sc, &st->peers[i], why,
			      whylen))
			return -1;
		st->n_peers++;
	}
	return 0;
}

static int read_changes(struct json_object *list, struct agent_statement *st,
			const struct agent_statement_ctx *sc, char *why, size_t whylen)
{
	size_t n = json_object_array_length(list);
	char path[40], err[256];

	st->peers = calloc(n ? n : 1, sizeof(*st->peers));
	st->removes = calloc(n ? n : 1, sizeof(*st->removes));
	if (!st->peers || !st->removes)
		return refuse(why, whylen, "out of memory (%zu changes)", n);
	for (size_t i = 0; i < n; i++) {
		struct json_object *c = json_object_array_get_idx(list, i);
		const char *op = meshnet_json_get_string(c, "op");
		const char *id = meshnet_json_get_string(c, "node_id");

		snprintf(path, sizeof(path), "changes[%zu].", i);
		if (!op || (strcmp(op, "upsert") && strcmp(op, "remove")))
			return refuse(why, whylen, "%sop: must be \"upsert\" or \"remove\"", path);
		if (id && !strcmp(id, sc->node_id))
			continue; /* a "*" delta may list the receiver: its verdict comes elsewhere */
		if (!strcmp(op, "remove")) {
			if (!id || meshnet_parse_name(id, st->removes[st->n_removes], err, sizeof(err)))
				return refuse(why, whylen, "%snode_id: %s", path,
					      id ? err : "missing");
			if (json_object_object_length(c) != 2)
				return refuse(why, whylen, "%s: a remove has only op and node_id", path);
			st->n_removes++;
			continue;
		}
		json_object_object_del(c, "op");
		if (read_peer(c, path, st, sc, &st->peers[st->n_peers], why, whylen))
			return -1;
		st->n_peers++;
	}
	/* one change per peer: a key or a name twice is a malformed delta */
	for (size_t i = 0; i < st->n_peers; i++) {
		for (size_t j = i + 1; j < st->n_peers; j++)
			if (!memcmp(st->peers[i].public_key, st->peers[j].public_key, MESHNET_KEY_LEN) ||
			    !strcmp(st->peers[i].name, st->peers[j].name))
				return refuse(why, whylen, "changes: %s is changed twice",
					      st->peers[j].name);
		for (size_t k = 0; k < st->n_removes; k++)
			if (!strcmp(st->peers[i].name, st->removes[k]))
				return refuse(why, whylen, "changes: %s is upserted and removed",
					      st->removes[k]);
	}
	return 0;
}

/* Optional "checkpoint" (note text) and "consistency_proof" (base64 hashes). */
static int read_checkpoint(struct json_object *root, struct agent_statement *st, char *why,
			   size_t whylen)
{
	const char *note = meshnet_json_get_string(root, "checkpoint");
	struct json_object *proof;
	size_t n;

	if (!note) {
		if (json_object_object_get_ex(root, "checkpoint", &proof))
			return refuse(why, whylen, "checkpoint: must be a string");
		return 0;
	}
	st->checkpoint = strdup(note);
	if (!st->checkpoint)
		return refuse(why, whylen, "out of memory");
	if (!json_object_object_get_ex(root, "consistency_proof", &proof))
		return 0;
	if (!json_object_is_type(proof, json_type_array))
		return refuse(why, whylen, "consistency_proof: must be an array");
	n = json_object_array_length(proof);
	if (n > TLOG_MAX_PROOF)
		return refuse(why, whylen, "consistency_proof: more than %d hashes", TLOG_MAX_PROOF);
	st->proof = calloc(n ? n : 1, sizeof(*st->proof));
	if (!st->proof)
		return refuse(why, whylen, "out of memory");
	for (size_t i = 0; i < n; i++) {
		struct json_object *h = json_object_array_get_idx(proof, i);

		if (!json_object_is_type(h, json_type_string) ||
		    tlog_hash_from_b64(st->proof[i], json_object_get_string(h)))
			return refuse(why, whylen, "consistency_proof[%zu]: not a base64 SHA-256 hash",
				      i);
	}
	st->n_proof = n;
	return 0;
}

static int read_reply(const struct agent_http_reply *reply, const struct agent_statement_ctx *sc,
		      struct agent_statement *st, bool verify, char *why, size_t whylen)
{
	const struct meshnet_statement_expect exp = {
		.node_id = sc->node_id,
		.mesh_id = sc->mesh_id,
		.held_revision = sc->held_revision,
		.now = sc->now,
	};
	struct json_object *root = NULL, *list;
	uint8_t commitment[32];
	int ret = -1;

	memset(st, 0, sizeof(*st));
	if (!reply->body || !reply->len)
		return refuse(why, whylen, "HTTP %ld with an empty body", reply->status);
	if (verify ? meshnet_statement_check(sc->controller_key, reply->body, reply->len,
					     reply->statement_sig[0] ? reply->statement_sig : NULL,
					     &exp, &st->info, why, whylen) :
		     meshnet_statement_check_body(reply->body, reply->len, &exp, &st->info, why,
						  whylen))
		return -1;
	if ((reply->status == 403) != (st->info.type == MESHNET_STATEMENT_DENIED)) {
		refuse(why, whylen, "HTTP %ld with a statement of the wrong type", reply->status);
		goto out;
	}
	/* the signature held: this is the controller's exact text */
	root = meshnet_json_parse_strict(reply->body, reply->len);
	if (!root) {
		refuse(why, whylen, "the statement is not well-formed JSON");
		goto out;
	}
	if (read_self(root, st, why, whylen) || read_checkpoint(root, st, why, whylen))
		goto out;
	if (!st->info.shared && !st->has_self) {
		refuse(why, whylen, "a statement for this node carries no membership");
		goto out;
	}
	if (st->info.type == MESHNET_STATEMENT_DENIED) {
		if (st->self_verdict != MESHNET_VERDICT_DENIED) {
			refuse(why, whylen, "a denied statement with membership %s",
			       meshnet_verdict_name(st->self_verdict));
			goto out;
		}
		if (json_object_object_get_ex(root, "explanation", &list)) {
			char err[160];

			if (agent_explanation_read(list, st->explanation, err, sizeof(err))) {
				refuse(why, whylen, "%s", err);
				goto out;
			}
		}
		ret = 0; /* no key material, no peers */
		goto out;
	}
	if (st->has_self && st->self_verdict != MESHNET_VERDICT_ALLOWED) {
		refuse(why, whylen, "HTTP 200 with membership %s",
		       meshnet_verdict_name(st->self_verdict));
		goto out;
	}
	if (st->info.group_mode) {
		if (!reply->group_key[0] ||
		    meshnet_b64_decode_exact(st->group_key, sizeof(st->group_key), reply->group_key)) {
			refuse(why, whylen, "group mode without a valid %s header", MESHNET_HDR_GROUP_KEY);
			goto out;
		}
		meshnet_group_key_commitment(commitment, st->group_key);
		if (CRYPTO_memcmp(commitment, st->info.group_key_commitment, sizeof(commitment))) {
			refuse(why, whylen, "the group key does not match the signed group_key_commitment");
			goto out;
		}
		st->has_group_key = true;
	} else if (reply->group_key[0]) {
		refuse(why, whylen, "pairwise mode with a %s header", MESHNET_HDR_GROUP_KEY);
		goto out;
	}
	if (st->info.type == MESHNET_STATEMENT_SNAPSHOT) {
		if (!json_object_object_get_ex(root, "peers", &list) ||
		    !json_object_is_type(list, json_type_array)) {
			refuse(why, whylen, "the snapshot has no peers array");
			goto out;
		}
		ret = read_peers(list, st, sc, why, whylen);
	} else {
		if (!json_object_object_get_ex(root, "changes", &list) ||
		    !json_object_is_type(list, json_type_array)) {
			refuse(why, whylen, "the delta has no changes array");
			goto out;
		}
		ret = read_changes(list, st, sc, why, whylen);
	}
out:
	json_object_put(root);
	if (ret)
		agent_statement_free(st);
	return ret;
}

int agent_statement_read(const struct agent_http_reply *reply,
			 const struct agent_statement_ctx *sc, struct agent_statement *st,
			 char *why, size_t whylen)
{
	return read_reply(reply, sc, st, true, why, whylen);
}

int agent_statement_read_verified(const struct agent_http_reply *reply,
				  const struct agent_statement_ctx *sc, struct agent_statement *st,
				  char *why, size_t whylen)
{
	return read_reply(reply, sc, st, false, why, whylen);
}
