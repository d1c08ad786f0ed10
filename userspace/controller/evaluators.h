/* SPDX-License-Identifier: MIT */
/*
 * Evaluators: identities with their own Ed25519 keys, enrolled and removed
 * by an admin, whose signed attestations the policy can count. A removed
 * evaluator stays in the table (marked, so the attestations it signed stop
 * counting at once, wherever they are held); enrolling the same id again
 * makes a new entry with its own key. Also the (evaluator, nonce) set that
 * refuses a replayed attestation until it expires.
 *
 * Not thread-safe: the controller's lock guards it.
 */
#ifndef MESHNETD_EVALUATORS_H
#define MESHNETD_EVALUATORS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "sign.h"
#include "strbuf.h"

#define EVALUATORS_MAX 256

struct evaluator {
	char id[MESHNET_NODE_ID_MAX + 1];
	char key_b64[48];		/* Ed25519 public key, base64 */
	EVP_PKEY *pub;
	int64_t enrolled_at;
	int64_t removed_at;		/* 0: active */
};

struct att_nonce {
	const struct evaluator *ev;	/* NULL: free slot */
	uint8_t nonce[MESHNET_NONCE_LEN];
	int64_t expires;
};

struct evaluator_registry {
	struct evaluator **list;	/* enrolment order, removed ones included */
	size_t n, cap;
	struct att_nonce *nonces;	/* open addressing, power of two */
	size_t n_nonces, cap_nonces;
};

enum evaluator_error {
	EVALUATOR_OK = 0,
	EVALUATOR_BAD_ID,		/* not an id, or "self"/"any" */
	EVALUATOR_BAD_KEY,		/* not the base64 of 32 bytes */
	EVALUATOR_EXISTS,		/* an active evaluator has this id */
	EVALUATOR_DUPLICATE_KEY,	/* an active evaluator has this key */
	EVALUATOR_UNKNOWN,		/* no active evaluator of this id */
	EVALUATOR_FULL,
	EVALUATOR_NOMEM,
};

void evaluators_init(struct evaluator_registry *r);
void evaluators_free(struct evaluator_registry *r);

/* The active evaluator of this id, or NULL. */
struct evaluator *evaluators_find(struct evaluator_registry *r, const char *id);
/* The latest entry of this id, active or removed, or NULL. */
struct evaluator *evaluators_find_any(struct evaluator_registry *r, const char *id);

enum evaluator_error evaluators_add(struct evaluator_registry *r, const char *id,
				    const char *key_b64, int64_t now, struct evaluator **out);
enum evaluator_error evaluators_remove(struct evaluator_registry *r, const char *id,
				       int64_t now);
/* A removal to undo (a journal write failed); the entry becomes active again. */
void evaluators_unremove(struct evaluator *ev);

static inline bool evaluator_active(const struct evaluator *ev)
{
	return ev && !ev->removed_at;
}

/*
 * Records (ev, nonce) until expires. Returns 0 if new, 1 if seen before
 * (a replay), -1 out of memory. Entries past their expiry are forgotten.
 */
int evaluators_nonce_check_and_add(struct evaluator_registry *r, const struct evaluator *ev,
				   const uint8_t nonce[MESHNET_NONCE_LEN], int64_t expires,
				   int64_t now);
/* Forgets a nonce recorded by the call above (its attestation was refused). */
void evaluators_nonce_forget(struct evaluator_registry *r, const struct evaluator *ev,
			     const uint8_t nonce[MESHNET_NONCE_LEN]);

/* [{"evaluator_id":..,"public_key":..,"enrolled_unix":..,"active":true},...] */
void evaluators_render_json(const struct evaluator_registry *r, struct strbuf *sb);

#endif
