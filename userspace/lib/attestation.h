/* SPDX-License-Identifier: MIT */
/*
 * Evaluator attestations (docs/policy.md, "Attestations").
 *
 * An attestation is a JSON object, the BODY, signed by an evaluator's
 * Ed25519 key over the exact bytes
 *
 *     "meshnet-attestation-v1\n" || BODY
 *
 * The body has exactly these members (no others):
 *
 *   {"v":1,"type":"attestation","evaluator":"eval-a","node_id":"node-a",
 *    "wg_public_key":"<base64 32 bytes>","suite":"refusal",
 *    "suite_version":"3.1.0","scores":{"refusal":0.97,"overall":0.91},
 *    "ran_at_unix":1764590000,"expires_unix":1764593600,
 *    "nonce":"<32 lowercase hex>"}
 *
 * It travels in an ENVELOPE that keeps the signed bytes intact whoever
 * carries it (the evaluator itself, or the node relaying it):
 *
 *   {"attestation":"<base64 of BODY>","signature":"<base64 of 64 bytes>"}
 *
 * One implementation: meshnet-eval signs with it, meshnetd verifies with
 * it, and an offline checker of the audit log can too.
 */
#ifndef MESHNET_ATTESTATION_H
#define MESHNET_ATTESTATION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "b64.h"
#include "sign.h"
#include "strbuf.h"

#define MESHNET_ATTESTATION_DOMAIN "meshnet-attestation-v1\n"
#define MESHNET_ATT_MAX_SCORES 16
#define MESHNET_ATT_NAME_MAX 32		/* suite and score names, chars */
#define MESHNET_ATT_BODY_MAX 4096	/* bytes of BODY */
#define MESHNET_ATT_ENVELOPE_MAX 8192	/* bytes of an envelope */
#define MESHNET_ATT_MAX_LIFETIME (30 * 86400)	/* expires_unix - ran_at_unix */

struct meshnet_att_score {
	char name[MESHNET_ATT_NAME_MAX + 1];
	double value;
};

struct meshnet_attestation {
	char evaluator[MESHNET_NODE_ID_MAX + 1];
	char node_id[MESHNET_NODE_ID_MAX + 1];
	char wg_public_key[48];		/* base64 of 32 bytes */
	char suite[MESHNET_ATT_NAME_MAX + 1];
	char suite_version[MESHNET_ATT_NAME_MAX + 1];
	struct meshnet_att_score scores[MESHNET_ATT_MAX_SCORES];
	unsigned int n_scores;
	int64_t ran_at, expires;
	char nonce[2 * MESHNET_NONCE_LEN + 1];
};

/* Why a body or an envelope was refused; message says which field. */
enum meshnet_att_error {
	MESHNET_ATT_OK = 0,
	MESHNET_ATT_MALFORMED,	/* not the documented JSON, a field missing/extra/bad */
	MESHNET_ATT_BAD_SCORE,	/* a score not a finite number in [0, 1] */
};

/* Names: [a-z0-9][a-z0-9._-]{0,31} (suite, suite_version, score). */
bool meshnet_att_name_valid(const char *s);

/*
 * Renders a's canonical BODY into sb (the bytes meshnet-eval signs). Scores
 * print with %.17g so they parse back to the same doubles.
 */
void meshnet_attestation_render(const struct meshnet_attestation *a, struct strbuf *sb);

/* Parses a BODY strictly into out; msg (msg_len) says why on refusal. */
enum meshnet_att_error meshnet_attestation_parse(const char *body, size_t len,
						 struct meshnet_attestation *out,
						 char *msg, size_t msg_len);

/* Signs BODY (domain-separated) into sig; 0 or -1. */
int meshnet_attestation_sign(EVP_PKEY *evaluator_key, const char *body, size_t len,
			     uint8_t sig[MESHNET_ED25519_SIG_LEN]);
/* 0 if sig is the evaluator's signature of BODY, else -1. */
int meshnet_attestation_verify(EVP_PKEY *evaluator_pub, const char *body, size_t len,
			       const uint8_t sig[MESHNET_ED25519_SIG_LEN]);

/* An opened envelope: BODY bytes (malloc'd, NUL-terminated), its signature. */
struct meshnet_att_envelope {
	char *body;
	size_t body_len;
	uint8_t sig[MESHNET_ED25519_SIG_LEN];
	char body_b64[MESHNET_B64_LEN(MESHNET_ATT_BODY_MAX) + 1];
	char sig_b64[MESHNET_B64_LEN(MESHNET_ED25519_SIG_LEN) + 1];
};

/* {"attestation":..,"signature":..} into sb. */
void meshnet_att_envelope_render(struct strbuf *sb, const char *body, size_t len,
				 const uint8_t sig[MESHNET_ED25519_SIG_LEN]);

/*
 * Opens an envelope (a JSON object with exactly the two members) and
 * parses the BODY into att. Does not check the signature (the caller looks the
 * evaluator's key up by att->evaluator first). Free with
 * meshnet_att_envelope_free() whatever it returns.
 */
enum meshnet_att_error meshnet_att_envelope_open(const char *json, size_t len,
						 struct meshnet_att_envelope *env,
						 struct meshnet_attestation *att,
						 char *msg, size_t msg_len);
void meshnet_att_envelope_free(struct meshnet_att_envelope *env);

/* The score named name in a, or NULL. */
const struct meshnet_att_score *meshnet_att_score(const struct meshnet_attestation *a,
						  const char *name);

#endif
