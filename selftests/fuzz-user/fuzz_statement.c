// SPDX-License-Identifier: MIT
/*
 * The controller's signed statements as the agent reads them: lib/statement.c
 * (signature header, then the JSON header fields: version, type, mesh,
 * audience, revision, base, lease, epoch, group key commitment) and
 * userspace/agent/statement_read.c (own verdict, snapshot peers, delta
 * changes, group key header and PSK derivation, checkpoint and consistency
 * proof, which then go through lib/tlog as the agent's monitor takes them).
 *
 * Input lines: held revision, HTTP status, X-Meshnet-Group-Key value,
 * X-Meshnet-Statement-Signature value, then the body. The signature line
 * "sign": the harness signs the body with the controller key and the reply
 * goes through agent_statement_read() whole; "verified": the reply goes
 * through agent_statement_read_verified(), every check but the signature's
 * (an Ed25519 sign and verify per input would hold the fuzzer to ~1,000
 * inputs/s; this is how it reaches the checks behind the signature at
 * speed); anything else is the header as sent, and an input so signed must
 * never be accepted (the fuzzer cannot forge Ed25519). The node is "node-a"
 * of mesh "meshnet", its clock 1767225600; the keys are fixed.
 */
#include <stdio.h>

#include <openssl/evp.h>

#include "../../userspace/agent/http.h"
#include "../../userspace/agent/statement_read.h"
#include "fuzz.h"
#include "sign.h"
#include "statement.h"
#include "tlog/checkpoint.h"

#define NOW 1767225600

static EVP_PKEY *controller;
static uint8_t wg_private[32], wg_public[32];
static bool verbose;	/* FUZZ_STATEMENT_VERBOSE=1: say why each input was refused */

int LLVMFuzzerInitialize(int *argc, char ***argv);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	uint8_t seed[32];
	size_t len = sizeof(wg_public);
	EVP_PKEY *x;

	(void)argc;
	(void)argv;
	verbose = getenv("FUZZ_STATEMENT_VERBOSE") != NULL;
	memset(seed, 0x11, sizeof(seed));
	controller = meshnet_ed25519_private_from_raw(seed);
	memset(wg_private, 0x22, sizeof(wg_private));
	x = EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, NULL, wg_private, sizeof(wg_private));
	if (!controller || !x || EVP_PKEY_get_raw_public_key(x, wg_public, &len) != 1)
		abort();
	EVP_PKEY_free(x);
	return 0;
}

/* What the agent's monitor does with a statement's checkpoint and proof. */
static void monitor(const struct agent_statement *st)
{
	static const struct tlog_checkpoint held = { .origin = "meshnetd/meshnet", .size = 3 };
	struct tlog_checkpoint cp;

	if (!st->checkpoint)
		return;
	if (!tlog_checkpoint_parse(st->checkpoint, strlen(st->checkpoint), &cp))
		tlog_checkpoint_extends(&held, &cp, st->proof, st->n_proof);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct agent_statement_ctx sc = {
		.controller_key = controller,
		.node_id = "node-a",
		.mesh_id = "meshnet",
		.wg_private = wg_private,
		.wg_public = wg_public,
		.now = NOW,
	};
	struct agent_http_reply reply = { 0 };
	struct agent_statement st;
	char *buf, *f[5], why[512];
	bool signed_here, verified;
	int ret;

	buf = fuzz_strndup(data, size);
	if (!buf)
		return 0;
	fuzz_split(buf, f, 5);
	sc.held_revision = strtoull(f[0], NULL, 10);
	reply.status = strtol(f[1], NULL, 10);
	snprintf(reply.group_key, sizeof(reply.group_key), "%s", f[2]);
	reply.body = f[4];
	reply.len = strlen(f[4]);
	signed_here = !strcmp(f[3], "sign");
	verified = !strcmp(f[3], "verified");
	if (signed_here) {
		if (meshnet_statement_sign(controller, reply.body, reply.len, reply.statement_sig))
			abort();
	} else if (!verified) {
		snprintf(reply.statement_sig, sizeof(reply.statement_sig), "%s", f[3]);
	}
	if (verified)
		ret = agent_statement_read_verified(&reply, &sc, &st, why, sizeof(why));
	else
		ret = agent_statement_read(&reply, &sc, &st, why, sizeof(why));
	if (ret) {
		if (verbose)
			fprintf(stderr, "refused: %s\n", why);
	} else {
		if (verbose)
			fprintf(stderr, "accepted: revision %llu, %zu peers, %zu removes%s\n",
				(unsigned long long)st.info.revision, st.n_peers, st.n_removes,
				st.checkpoint ? ", a checkpoint" : "");
		if (!signed_here && !verified)
			abort();	/* a forgery */
		monitor(&st);	/* the PSKs were derived by the read */
		agent_statement_free(&st);
	}
	free(buf);
	return 0;
}
