/* SPDX-License-Identifier: MIT */
/*
 * Signed statements, controller -> node (docs/PROTOCOL.md, "v2"). A
 * statement is the exact body of a config reply; the controller's Ed25519
 * key signs "meshnet-statement-v2\n" || body and the signature travels in
 * X-Meshnet-Statement-Signature (base64). One implementation: meshnetd signs
 * with it, the agent and the tests verify with it.
 */
#ifndef MESHNET_STATEMENT_H
#define MESHNET_STATEMENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#define MESHNET_STATEMENT_CONTEXT "meshnet-statement-v2\n"
#define MESHNET_HDR_STATEMENT_SIGNATURE "X-Meshnet-Statement-Signature"
#define MESHNET_HDR_GROUP_KEY "X-Meshnet-Group-Key"
#define MESHNET_HDR_REVISION "X-Meshnet-Revision"
#define MESHNET_STATEMENT_SIG_B64_LEN 88
#define MESHNET_MESH_ID_MAX 63

/* Signs body; sig_b64 gets the base64 signature (NUL-terminated). 0 or -1. */
int meshnet_statement_sign(EVP_PKEY *key, const void *body, size_t len,
			   char sig_b64[MESHNET_STATEMENT_SIG_B64_LEN + 1]);

/* 0 if sig_b64 is pub's signature of body, -1 otherwise (malformed too). */
int meshnet_statement_verify(EVP_PKEY *pub, const void *body, size_t len, const char *sig_b64);

enum meshnet_statement_type {
	MESHNET_STATEMENT_SNAPSHOT = 1,
	MESHNET_STATEMENT_DELTA,
	MESHNET_STATEMENT_DENIED,
};

/* What the receiving node holds and expects. */
struct meshnet_statement_expect {
	const char *node_id;		/* the receiving node */
	const char *mesh_id;
	uint64_t held_revision;		/* 0: none */
	int64_t now;			/* the node's clock, unix seconds */
};

/* The checked header fields of a statement (the rest stays in its JSON). */
struct meshnet_statement_info {
	enum meshnet_statement_type type;
	bool shared;			/* audience "*" */
	uint64_t base_revision;		/* delta only */
	uint64_t revision;
	int64_t issued_unix;
	uint64_t epoch_id;
	int64_t epoch_start, rotate_unix, valid_until_unix;
	bool group_mode;
	uint8_t group_key_commitment[32];	/* group mode */
};

/*
 * Everything a node checks before it touches the module or wg0: the
 * signature (by pub), then the JSON: v 2, type, mesh_id, audience (* or
 * node_id), revision > held_revision, a delta's base_revision =
 * held_revision, valid_until_unix > now, well-formed epoch. Returns 0 and
 * fills info, or -1 with why (a sentence) filled; nothing else happens.
 */
int meshnet_statement_check(EVP_PKEY *pub, const char *body, size_t len, const char *sig_b64,
			    const struct meshnet_statement_expect *exp,
			    struct meshnet_statement_info *info, char *why, size_t why_len);

/*
 * The same checks but the signature's: for a body whose signature the
 * caller has verified (meshnet_statement_verify), and for the fuzzer.
 */
int meshnet_statement_check_body(const char *body, size_t len,
				 const struct meshnet_statement_expect *exp,
				 struct meshnet_statement_info *info, char *why, size_t why_len);

#endif
