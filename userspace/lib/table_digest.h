/* SPDX-License-Identifier: MIT */
/*
 * The digest of a node's verdict table (CONTRACT-v2 §6, docs/PROTOCOL.md
 * "POST /v1/ack"): the sum, mod 2^256, of
 * SHA-256("meshnet peer v2" || public key[32] || verdict byte) over the
 * peers (verdict byte 1 = ALLOWED, 2 = DENIED), as 64 lowercase hex chars of
 * the 32-byte big-endian sum. A sum, not a hash chain: order-free, and
 * incremental (add a peer's term, subtract it) so a controller keeps it in
 * O(1) per change while an agent computes it from a dump of its module.
 */
#ifndef MESHNET_TABLE_DIGEST_H
#define MESHNET_TABLE_DIGEST_H

#include <stdint.h>

#define MESHNET_TABLE_DIGEST_LEN 32
#define MESHNET_TABLE_DIGEST_HEX_LEN 64

struct meshnet_table_digest {
	uint8_t sum[MESHNET_TABLE_DIGEST_LEN]; /* big-endian */
};

/* The empty table: all zeros. */
void meshnet_table_digest_init(struct meshnet_table_digest *d);
/* One peer's term: SHA-256("meshnet peer v2" || pub || verdict). */
void meshnet_table_digest_term(uint8_t out[32], const uint8_t pub[32], uint8_t verdict);
/* sum += term (subtract: sum -= term), mod 2^256: a term kept from before. */
void meshnet_table_digest_add_term(struct meshnet_table_digest *d, const uint8_t term[32],
				   int subtract);
void meshnet_table_digest_add(struct meshnet_table_digest *d, const uint8_t pub[32],
			      uint8_t verdict);
void meshnet_table_digest_sub(struct meshnet_table_digest *d, const uint8_t pub[32],
			      uint8_t verdict);
/* 64 lowercase hex chars + NUL. */
void meshnet_table_digest_hex(const struct meshnet_table_digest *d,
			      char out[MESHNET_TABLE_DIGEST_HEX_LEN + 1]);
/* Exactly 64 hex chars; 0 or -1. */
int meshnet_table_digest_from_hex(struct meshnet_table_digest *d, const char *hex);

#endif
