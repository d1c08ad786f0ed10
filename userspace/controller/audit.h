/* SPDX-License-Identifier: MIT */
/*
 * The audit log: JSON lines, each carrying its sequence number and the
 * SHA-256 (hex) of the previous line ("prev"; 64 zeros for the first), so
 * changing, dropping or reordering a record breaks the chain.
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

/*
 * Checks the chain over a buffer of lines. Returns 0 if intact; otherwise
 * 1 with msg naming the first bad record. *records gets the number of good
 * records; last_hash/next_seq (if not NULL) the chain head for appending.
 */
int audit_verify_buffer(const char *buf, size_t len, uint64_t *records,
			char last_hash[AUDIT_HASH_HEX], uint64_t *next_seq,
			char *msg, size_t msg_len);

#endif
