/* SPDX-License-Identifier: MIT */
/*
 * A v2 config reply (docs/PROTOCOL.md "Version 2") read into what the agent
 * applies, AFTER lib/statement.c has checked it (signature by the key the
 * node was enrolled with, mesh, audience, revision, base, lease): the peers
 * of a snapshot or the changes of a delta, the node's own verdict, and each
 * ALLOWED peer's PSK (pairwise mode: from the statement; group mode: derived
 * here from K_e, whose commitment the signed body carries, and the node's own
 * WireGuard private key). Nothing is applied here; a refusal is a sentence.
 */
#ifndef AGENT_STATEMENT_READ_H
#define AGENT_STATEMENT_READ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "dh_cache.h"
#include "explanation.h"
#include "nl/meshnet_types.h"
#include "statement.h"
#include "tlog/merkle.h"

struct agent_http_reply;

/* What the receiving node knows and checks against. */
struct agent_statement_ctx {
	EVP_PKEY *controller_key;      /* CONTROLLER_PUBKEY */
	const char *node_id;
	const char *mesh_id;
	const uint8_t *wg_private;     /* own WireGuard private key (group mode) */
	const uint8_t *wg_public;      /* own public key: never one of the peers */
	uint64_t held_revision;
	int64_t now;                   /* the node's clock */
	struct agent_dh_cache *dh;     /* group mode: X25519 per peer kept (NULL: computed each time) */
};

struct agent_statement {
	struct meshnet_statement_info info;
	bool has_self;                 /* node-targeted: the node's own verdict */
	uint8_t self_verdict;
	char self_reason[MESHNET_REASON_LEN];
	/* denied: why (the statement's "explanation", read as one line; "" if none) */
	char explanation[AGENT_EXPLANATION_LEN];
	/* snapshot: every peer; delta: the upserted peers. ALLOWED ones carry a PSK. */
	size_t n_peers;
	struct meshnet_peer *peers;
	/* delta: the node ids removed */
	size_t n_removes;
	char (*removes)[MESHNET_NAME_LEN];
	/* the transparency log's checkpoint (signed note text) and the proof from the held one */
	char *checkpoint;
	size_t n_proof;
	tlog_hash *proof;
	/* group mode: K_e (checked against the commitment), wiped by _free */
	bool has_group_key;
	uint8_t group_key[32];
};

/*
 * Checks (lib/statement.c) and reads the reply of status 200 or 403.
 * 0, or -1 with why set (nothing to apply). *out is always safe to free.
 */
int agent_statement_read(const struct agent_http_reply *reply,
			 const struct agent_statement_ctx *sc, struct agent_statement *out,
			 char *why, size_t whylen);

/*
 * The same for a reply whose statement signature the caller has already
 * verified (meshnet_statement_verify): every check and read but that one.
 * For the fuzzer (selftests/fuzz-user/fuzz_statement.c), which cannot sign
 * each of its inputs at fuzzing speed; the agent uses agent_statement_read.
 */
int agent_statement_read_verified(const struct agent_http_reply *reply,
				  const struct agent_statement_ctx *sc, struct agent_statement *st,
				  char *why, size_t whylen);

/*
 * The PSK of the pair (own, peer) in group mode, from out->group_key:
 * lib/group_psk.c, the X25519 part from sc->dh when there is one. 0 or -1.
 */
int agent_statement_pair_psk(const struct agent_statement *st, const struct agent_statement_ctx *sc,
			     const struct meshnet_peer *peer, uint8_t psk[32]);

void agent_statement_free(struct agent_statement *st);

#endif
