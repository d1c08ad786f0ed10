/* SPDX-License-Identifier: MIT */
/*
 * Audit records.
 *
 * Since v2 every record is a leaf of the transparency log (tlog_store.h):
 *   {"index":N,"time":"RFC 3339","type":"TYPE",<fields>}
 * where N is its leaf index (0-based); the Merkle tree and the signed
 * checkpoints replace the chain.
 *
 * The v1 log (STATE_DIR/audit.jsonl) was a hash chain: JSON lines, each
 * carrying its sequence number and the SHA-256 (hex) of the previous line
 * ("prev"; 64 zeros for the first). It stays readable: audit_verify_buffer()
 * checks it, and the tree's first record after a migration commits to its
 * head.
 */
#ifndef MESHNETD_AUDIT_H
#define MESHNETD_AUDIT_H

#include <stddef.h>
#include <stdint.h>

#include "strbuf.h"

#define AUDIT_HASH_HEX 65

/*
 * Formats one record (without newline) into sb:
 * {"seq":N,"time":"...","type":"TYPE",<fields>,"prev":"HEX"}
 * fields is a JSON object body fragment ("\"node\":\"a\"") or "".
 */
void audit_format(struct strbuf *sb, uint64_t seq, int64_t now, const char *type,
		  const char *fields, const char prev[AUDIT_HASH_HEX]);

/* Formats one tree leaf (without newline) into sb, as above. */
void audit_format_leaf(struct strbuf *sb, uint64_t index, int64_t now, const char *type,
		       const char *fields);

/*
 * Checks the chain over a buffer of lines. Returns 0 if intact; otherwise
 * 1 with msg naming the first bad record. *records gets the number of good
 * records; last_hash/next_seq (if not NULL) the chain head for appending.
 */
int audit_verify_buffer(const char *buf, size_t len, uint64_t *records,
			char last_hash[AUDIT_HASH_HEX], uint64_t *next_seq,
			char *msg, size_t msg_len);

#endif
