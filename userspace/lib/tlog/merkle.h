/* SPDX-License-Identifier: MIT */
/*
 * RFC 9162 (Certificate Transparency 2.0) Merkle tree hashing and proofs,
 * SHA-256 via OpenSSL. One implementation for the controller (writes the
 * log), the agent (checks checkpoints) and the offline verifier.
 *
 *   leaf hash  = SHA-256(0x00 || record)
 *   node hash  = SHA-256(0x01 || left || right)
 *   empty tree = SHA-256("")
 *
 * Stored hashes. A log of n leaves keeps every complete subtree's hash in
 * one append-only sequence (Go's sumdb/tlog layout): appending leaf i
 * writes its leaf hash, then the hash of each subtree leaf i completes.
 * tlog_stored_index(level, k) is where the k-th node of a level lives;
 * tlog_stored_count(n) is how many hashes n leaves leave behind
 * (2n - popcount(n)). Proofs read O(log n) of them through a reader
 * callback, never the leaves, so the storage can be segment files on disk,
 * a database table or an array in memory.
 *
 * Every function returns TLOG_OK (0) or a negative enum tlog_error;
 * tlog_strerror() names it.
 */
#ifndef MESHNET_TLOG_MERKLE_H
#define MESHNET_TLOG_MERKLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TLOG_HASH_LEN 32
/* No inclusion or consistency proof of a tree below 2^63 leaves is longer. */
#define TLOG_MAX_PROOF 128
/* Levels of a tree of up to 2^63 leaves (frontier entries). */
#define TLOG_MAX_LEVELS 64
/* Largest tree size accepted anywhere (sizes are signed 64-bit in JSON). */
#define TLOG_MAX_SIZE ((uint64_t)1 << 62)

enum tlog_error {
	TLOG_OK = 0,
	TLOG_ERR_RANGE = -1,		/* index/size out of range (e.g. index >= size) */
	TLOG_ERR_PROOF_LENGTH = -2,	/* proof has the wrong number of hashes */
	TLOG_ERR_MISMATCH = -3,		/* proof does not lead to the expected root */
	TLOG_ERR_IO = -4,		/* the hash reader failed */
	TLOG_ERR_MALFORMED = -5,	/* text that does not parse */
	TLOG_ERR_SIGNATURE = -6,	/* a signature from a known key does not verify */
	TLOG_ERR_NO_SIGNATURE = -7,	/* no signature from any known key */
	TLOG_ERR_ROLLBACK = -8,		/* newer checkpoint is smaller than the older one */
	TLOG_ERR_FORK = -9,		/* same size, different root */
	TLOG_ERR_ORIGIN = -10,		/* checkpoint of another log */
	TLOG_ERR_NOMEM = -11,
};

const char *tlog_strerror(int err);

typedef uint8_t tlog_hash[TLOG_HASH_LEN];

/* Reads the stored hash at index into out; returns 0 or -1. */
typedef int (*tlog_read_hash_fn)(void *ctx, uint64_t index, uint8_t out[TLOG_HASH_LEN]);

struct tlog_hash_reader {
	tlog_read_hash_fn read;
	void *ctx;
};

void tlog_hash_leaf(uint8_t out[TLOG_HASH_LEN], const void *data, size_t len);
void tlog_hash_children(uint8_t out[TLOG_HASH_LEN], const uint8_t left[TLOG_HASH_LEN],
			const uint8_t right[TLOG_HASH_LEN]);
void tlog_hash_empty(uint8_t out[TLOG_HASH_LEN]);

uint64_t tlog_stored_index(unsigned int level, uint64_t k);
uint64_t tlog_stored_count(uint64_t n);

/*
 * The right edge of a tree of n leaves: frontier[L] is the most recent
 * stored hash at level L (node (L, (n >> L) - 1)) for every L with
 * n >> L >= 1. That is all an appender needs; loading it reads O(log n)
 * hashes, so opening a log costs the same at 10^3 and 10^7 leaves.
 */
struct tlog_frontier {
	uint64_t n;
	tlog_hash h[TLOG_MAX_LEVELS];
};

int tlog_frontier_load(struct tlog_frontier *f, const struct tlog_hash_reader *r, uint64_t n);

/*
 * Appends leaf f->n with leaf hash `leaf`: writes the hashes to store
 * (in stored-index order, starting at tlog_stored_count(f->n)) into out,
 * returns how many (1 + levels completed, at most TLOG_MAX_LEVELS), and
 * advances f.
 */
size_t tlog_frontier_append(struct tlog_frontier *f, const uint8_t leaf[TLOG_HASH_LEN],
			    tlog_hash out[TLOG_MAX_LEVELS]);

/* Root hash of the tree f describes (f->n leaves). */
void tlog_frontier_root(const struct tlog_frontier *f, uint8_t root[TLOG_HASH_LEN]);

/* Root hash of the first n leaves, from stored hashes (n <= stored leaves). */
int tlog_tree_hash(const struct tlog_hash_reader *r, uint64_t n, uint8_t root[TLOG_HASH_LEN]);

/*
 * Inclusion proof of leaf `index` in the tree of `size` leaves (RFC 9162
 * 2.1.3.1 PATH), bottom-up. proof must hold TLOG_MAX_PROOF hashes; *len
 * gets the count.
 */
int tlog_prove_inclusion(const struct tlog_hash_reader *r, uint64_t index, uint64_t size,
			 tlog_hash *proof, size_t *len);

/* Consistency proof from size1 to size2 (RFC 9162 2.1.4.1 PROOF); 0 < size1 <= size2. */
int tlog_prove_consistency(const struct tlog_hash_reader *r, uint64_t size1, uint64_t size2,
			   tlog_hash *proof, size_t *len);

/* RFC 9162 2.1.3.2: does proof show leaf_hash at index in the tree (size, root)? */
int tlog_verify_inclusion(uint64_t index, uint64_t size, const uint8_t leaf_hash[TLOG_HASH_LEN],
			  const tlog_hash *proof, size_t len, const uint8_t root[TLOG_HASH_LEN]);

/* Root the inclusion proof leads to (for showing what it proves). */
int tlog_root_from_inclusion(uint64_t index, uint64_t size, const uint8_t leaf_hash[TLOG_HASH_LEN],
			     const tlog_hash *proof, size_t len, uint8_t root[TLOG_HASH_LEN]);

/*
 * RFC 9162 2.1.4.2: is the tree (size2, root2) an append-only extension of
 * (size1, root1)? size1 == size2 needs an empty proof and equal roots;
 * size1 == 0 (nothing held yet) needs an empty proof.
 */
int tlog_verify_consistency(uint64_t size1, uint64_t size2, const uint8_t root1[TLOG_HASH_LEN],
			    const uint8_t root2[TLOG_HASH_LEN], const tlog_hash *proof, size_t len);

#endif
