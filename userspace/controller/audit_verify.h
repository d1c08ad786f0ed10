/* SPDX-License-Identifier: MIT */
/*
 * Offline checks of an exported audit log: a directory holding the record
 * segments (records-NNNNNN.jsonl, as in STATE_DIR/tlog, or a copy of it)
 * and its signed `checkpoint`; the stored hashes (hashes-NNNNNN) are
 * compared when present but never trusted. Everything is recomputed from
 * the records and the public keys alone:
 *
 *   - every record's "index" is its position (nothing removed or inserted);
 *   - the records hash (RFC 9162) to the root of the checkpoint, whose
 *     signature verifies with the controller's public key;
 *   - every DENIED verdict is re-decided: from the node's own signed
 *     submission in the record (its signature checked against the key the
 *     node was enrolled with, found in the log itself) and the rule and
 *     thresholds the record names, or by a named admin pin earlier in the
 *     log; one a policy decided, from the evaluators' signed attestations
 *     it rests on, under the policy version in effect (audit_verify_policy.c).
 *
 * Used by `meshnetd audit-verify` and `meshnetd audit ...` (audit_cli.c).
 */
#ifndef MESHNETD_AUDIT_VERIFY_H
#define MESHNETD_AUDIT_VERIFY_H

#include <stdint.h>
#include <stdio.h>

#include "tlog/checkpoint.h"
#include "tlog/merkle.h"

/* A log read into memory: its records and their stored hashes, recomputed. */
struct audit_log {
	char **records;
	size_t *lens;
	uint64_t n;
	tlog_hash *stored;		/* tlog_stored_count(n) hashes */
	struct tlog_frontier f;
	struct tlog_checkpoint cp;	/* the log's checkpoint (if has_checkpoint) */
	int has_checkpoint;
	char *checkpoint_note;
	size_t checkpoint_len;
};

/* Reads dir's records (all segments) and checkpoint note. 0 or -1 (printed to err). */
int audit_log_load(const char *dir, struct audit_log *log, FILE *err);
void audit_log_free(struct audit_log *log);
struct tlog_hash_reader audit_log_reader(struct audit_log *log);

/*
 * Verifier for the log's checkpoint: from a public key file (base64 of the
 * 32-byte key) or a note verifier key ("name+hash+base64"); the key name
 * is the checkpoint's origin. 0 or -1.
 */
int audit_key_load(const char *spec, const char *origin, struct tlog_note_verifier *v);

/*
 * The whole check (see above), reported line by line to out.
 * Returns 0 intact, 1 tampered or not provable, 2 could not check.
 */
int audit_verify_dir(const char *dir, const char *key_spec, FILE *out);

#endif
