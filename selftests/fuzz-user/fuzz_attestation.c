// SPDX-License-Identifier: MIT
/*
 * Evaluator attestations as meshnetd reads them from POST /v1/attestations
 * and /v1/nodes/{id}/attestations (lib/attestation.c, docs/policy.md): the
 * input as an ENVELOPE (JSON with the base64 BODY and signature), opened and
 * its BODY parsed, and the input as a BODY itself. A parsed body must render
 * back to bytes that parse to the same attestation (the canonical form the
 * evaluator signs).
 */
#include "attestation.h"
#include "fuzz.h"
#include "strbuf.h"

static void roundtrip(const struct meshnet_attestation *a)
{
	struct meshnet_attestation back;
	struct strbuf sb = { 0 };
	char msg[256];

	meshnet_attestation_render(a, &sb);
	if (!sb.oom &&
	    meshnet_attestation_parse(sb.buf, sb.len, &back, msg, sizeof(msg)) != MESHNET_ATT_OK)
		abort();	/* the canonical form of an accepted body is refused */
	strbuf_free(&sb);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct meshnet_att_envelope env;
	struct meshnet_attestation a;
	char msg[256];

	if (meshnet_att_envelope_open((const char *)data, size, &env, &a, msg, sizeof(msg)) ==
	    MESHNET_ATT_OK)
		roundtrip(&a);
	meshnet_att_envelope_free(&env);
	if (meshnet_attestation_parse((const char *)data, size, &a, msg, sizeof(msg)) ==
	    MESHNET_ATT_OK)
		roundtrip(&a);
	return 0;
}
