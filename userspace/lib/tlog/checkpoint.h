/* SPDX-License-Identifier: MIT */
/*
 * C2SP tlog-checkpoint (https://c2sp.org/tlog-checkpoint): the body of a
 * signed note that commits to a log's size and root hash:
 *
 *   <origin>\n             a unique name of the log, e.g. "meshnetd/<mesh id>"
 *   <size>\n               decimal, no sign, no leading zeros
 *   <base64 root hash>\n   RFC 4648 standard base64 of the 32-byte RFC 9162 root
 *   [extension lines]\n    optional, non-empty; ignored here
 *
 * What a monitor (the agent, a witness, `meshnetd audit check-checkpoint`)
 * does with it:
 *
 *   tlog_checkpoint_open()      verify the note's signature and parse it;
 *   tlog_checkpoint_extends()   accept a newer checkpoint only if the
 *                               consistency proof shows it extends the one
 *                               held (catches truncation, rollback, fork).
 */
#ifndef MESHNET_TLOG_CHECKPOINT_H
#define MESHNET_TLOG_CHECKPOINT_H

#include <stddef.h>
#include <stdint.h>

#include "merkle.h"
#include "note.h"
#include "strbuf.h"

#define TLOG_ORIGIN_MAX 255

struct tlog_checkpoint {
	char origin[TLOG_ORIGIN_MAX + 1];
	uint64_t size;
	uint8_t root[TLOG_HASH_LEN];
};

/* Appends the checkpoint body (three lines) to sb. */
int tlog_checkpoint_format(struct strbuf *sb, const struct tlog_checkpoint *c);

/* Parses a checkpoint body (the signed text of the note). Strict. */
int tlog_checkpoint_parse(const char *text, size_t len, struct tlog_checkpoint *c);

/* Formats and signs: a whole signed checkpoint note into sb. */
int tlog_checkpoint_sign(struct strbuf *sb, const struct tlog_checkpoint *c, const char *key_name,
			 EVP_PKEY *key);

/*
 * Verifies a signed checkpoint note against the verifiers and parses it.
 * want_origin (or NULL) must equal its origin. *verified as in
 * tlog_note_open() (bit i: verifier i signed; e.g. the controller and a
 * witness).
 */
int tlog_checkpoint_open(const char *note, size_t len, const struct tlog_note_verifier *v,
			 size_t nv, const char *want_origin, struct tlog_checkpoint *c,
			 uint64_t *verified);

/*
 * Is `newer` an append-only extension of `held`, by `proof` (a consistency
 * proof from held->size to newer->size)? TLOG_OK, or TLOG_ERR_ORIGIN,
 * TLOG_ERR_ROLLBACK (newer is smaller), TLOG_ERR_FORK (same size, other
 * root), TLOG_ERR_PROOF_LENGTH / TLOG_ERR_MISMATCH (the proof fails).
 */
int tlog_checkpoint_extends(const struct tlog_checkpoint *held,
			    const struct tlog_checkpoint *newer, const tlog_hash *proof, size_t len);

/* Parses base64 of exactly 32 bytes into a hash; 0 or TLOG_ERR_MALFORMED. */
int tlog_hash_from_b64(uint8_t out[TLOG_HASH_LEN], const char *b64);
void tlog_hash_to_b64(char out[45], const uint8_t h[TLOG_HASH_LEN]);

#endif
