// SPDX-License-Identifier: MIT
#include <string.h>

#include <openssl/evp.h>
#include <openssl/sha.h>

#include "merkle.h"

const char *tlog_strerror(int err)
{
	switch (err) {
	case TLOG_OK: return "ok";
	case TLOG_ERR_RANGE: return "index or size out of range";
	case TLOG_ERR_PROOF_LENGTH: return "proof has the wrong number of hashes";
	case TLOG_ERR_MISMATCH: return "proof does not lead to the expected root hash";
	case TLOG_ERR_IO: return "stored hashes could not be read";
	case TLOG_ERR_MALFORMED: return "malformed";
	case TLOG_ERR_SIGNATURE: return "signature does not verify";
	case TLOG_ERR_NO_SIGNATURE: return "no signature by a known key";
	case TLOG_ERR_ROLLBACK: return "log is smaller than a checkpoint already seen (rolled back)";
	case TLOG_ERR_FORK: return "log has a different root at a size already seen (forked)";
	case TLOG_ERR_ORIGIN: return "checkpoint of another log (origin differs)";
	case TLOG_ERR_NOMEM: return "out of memory";
	}
	return "unknown error";
}

void tlog_hash_leaf(uint8_t out[TLOG_HASH_LEN], const void *data, size_t len)
{
	static const uint8_t prefix = 0x00;
	uint8_t buf[1024];
	EVP_MD_CTX *c;

	/* Short records (most audit records) hash from the stack in one call. */
	if (len < sizeof(buf)) {
		buf[0] = prefix;
		if (len)
			memcpy(buf + 1, data, len);
		SHA256(buf, len + 1, out);
		return;
	}
	c = EVP_MD_CTX_new();
	if (!c || EVP_DigestInit_ex(c, EVP_sha256(), NULL) != 1 ||
	    EVP_DigestUpdate(c, &prefix, 1) != 1 || EVP_DigestUpdate(c, data, len) != 1 ||
	    EVP_DigestFinal_ex(c, out, NULL) != 1)
		memset(out, 0, TLOG_HASH_LEN);	/* cannot happen short of OOM; matches nothing */
	EVP_MD_CTX_free(c);
}

void tlog_hash_children(uint8_t out[TLOG_HASH_LEN], const uint8_t left[TLOG_HASH_LEN],
			const uint8_t right[TLOG_HASH_LEN])
{
	uint8_t buf[1 + 2 * TLOG_HASH_LEN];

	buf[0] = 0x01;
	memcpy(buf + 1, left, TLOG_HASH_LEN);
	memcpy(buf + 1 + TLOG_HASH_LEN, right, TLOG_HASH_LEN);
	SHA256(buf, sizeof(buf), out);
}

void tlog_hash_empty(uint8_t out[TLOG_HASH_LEN])
{
	SHA256((const uint8_t *)"", 0, out);
}

uint64_t tlog_stored_index(unsigned int level, uint64_t k)
{
	uint64_t i = 0;
	unsigned int l;

	/* The node (level, k) is written right after its last leaf, 2^level*(k+1)-1. */
	for (l = level; l > 0; l--)
		k = 2 * k + 1;
	/* Leaf k is written after k + k/2 + k/4 + ... earlier hashes. */
	for (; k > 0; k >>= 1)
		i += k;
	return i + level;
}

uint64_t tlog_stored_count(uint64_t n)
{
	uint64_t count, i;

	if (n == 0)
		return 0;
	count = tlog_stored_index(0, n - 1) + 1;
	for (i = n - 1; i & 1; i >>= 1)
		count++;
	return count;
}

static int read_node(const struct tlog_hash_reader *r, unsigned int level, uint64_t k,
		     uint8_t out[TLOG_HASH_LEN])
{
	return r->read(r->ctx, tlog_stored_index(level, k), out) ? TLOG_ERR_IO : TLOG_OK;
}

int tlog_frontier_load(struct tlog_frontier *f, const struct tlog_hash_reader *r, uint64_t n)
{
	unsigned int level;
	int err;

	memset(f, 0, sizeof(*f));
	if (n > TLOG_MAX_SIZE)
		return TLOG_ERR_RANGE;
	for (level = 0; level < TLOG_MAX_LEVELS && (n >> level); level++) {
		err = read_node(r, level, (n >> level) - 1, f->h[level]);
		if (err)
			return err;
	}
	f->n = n;
	return TLOG_OK;
}

size_t tlog_frontier_append(struct tlog_frontier *f, const uint8_t leaf[TLOG_HASH_LEN],
			    tlog_hash out[TLOG_MAX_LEVELS])
{
	uint64_t m = f->n;
	unsigned int level = 0;
	size_t count = 0;

	memcpy(out[count++], leaf, TLOG_HASH_LEN);
	/* An odd index at a level completes the pair with its left neighbour. */
	while (m & 1) {
		tlog_hash_children(out[count], f->h[level], out[count - 1]);
		memcpy(f->h[level], out[count - 1], TLOG_HASH_LEN);
		count++;
		m >>= 1;
		level++;
	}
	memcpy(f->h[level], out[count - 1], TLOG_HASH_LEN);
	f->n++;
	return count;
}

void tlog_frontier_root(const struct tlog_frontier *f, uint8_t root[TLOG_HASH_LEN])
{
	unsigned int level;
	bool have = false;

	if (f->n == 0) {
		tlog_hash_empty(root);
		return;
	}
	/* Complete subtrees of [0, n): one per set bit, folded right to left. */
	for (level = 0; level < TLOG_MAX_LEVELS; level++) {
		if (!((f->n >> level) & 1))
			continue;
		if (!have)
			memcpy(root, f->h[level], TLOG_HASH_LEN);
		else
			tlog_hash_children(root, f->h[level], root);
		have = true;
	}
}

static unsigned int lowest_level(uint64_t x)
{
	return (unsigned int)__builtin_ctzll(x);
}

/*
 * MTH(D[lo:hi]) for a range whose start is aligned to a power of two at
 * least its length (every range RFC 9162's recursion visits): its maximal
 * complete subtrees, left to right, folded right to left.
 */
static int range_hash(const struct tlog_hash_reader *r, uint64_t lo, uint64_t hi,
		      uint8_t out[TLOG_HASH_LEN])
{
	tlog_hash parts[TLOG_MAX_LEVELS];
	size_t n = 0;
	int err;

	if (lo >= hi)
		return TLOG_ERR_RANGE;
	while (lo < hi && n < TLOG_MAX_LEVELS) {
		unsigned int level = lo ? lowest_level(lo) : 63;

		while (level > 0 && (level >= 63 || lo + ((uint64_t)1 << level) > hi))
			level--;
		err = read_node(r, level, lo >> level, parts[n]);
		if (err)
			return err;
		n++;
		lo += (uint64_t)1 << level;
	}
	if (n == 0 || lo < hi)
		return TLOG_ERR_RANGE;
	memcpy(out, parts[n - 1], TLOG_HASH_LEN);
	while (n-- > 1)
		tlog_hash_children(out, parts[n - 1], out);
	return TLOG_OK;
}

int tlog_tree_hash(const struct tlog_hash_reader *r, uint64_t n, uint8_t root[TLOG_HASH_LEN])
{
	if (n > TLOG_MAX_SIZE)
		return TLOG_ERR_RANGE;
	if (n == 0) {
		tlog_hash_empty(root);
		return TLOG_OK;
	}
	return range_hash(r, 0, n, root);
}

/* Largest power of two strictly below n (n >= 2). */
static uint64_t split_point(uint64_t n)
{
	return (uint64_t)1 << (63 - __builtin_clzll(n - 1));
}

static int path(const struct tlog_hash_reader *r, uint64_t m, uint64_t lo, uint64_t hi,
		tlog_hash *proof, size_t *len)
{
	uint64_t k;
	int err;

	if (hi - lo == 1)
		return TLOG_OK;
	k = split_point(hi - lo);
	if (m < lo + k)
		err = path(r, m, lo, lo + k, proof, len) ?: range_hash(r, lo + k, hi, proof[*len]);
	else
		err = path(r, m, lo + k, hi, proof, len) ?: range_hash(r, lo, lo + k, proof[*len]);
	if (err)
		return err;
	if (++*len >= TLOG_MAX_PROOF)
		return TLOG_ERR_RANGE;
	return TLOG_OK;
}

int tlog_prove_inclusion(const struct tlog_hash_reader *r, uint64_t index, uint64_t size,
			 tlog_hash *proof, size_t *len)
{
	*len = 0;
	if (size > TLOG_MAX_SIZE || index >= size)
		return TLOG_ERR_RANGE;
	return path(r, index, 0, size, proof, len);
}

static int subproof(const struct tlog_hash_reader *r, uint64_t m, uint64_t lo, uint64_t hi,
		    bool whole, tlog_hash *proof, size_t *len)
{
	uint64_t k;
	int err;

	if (m == hi) {
		if (whole)
			return TLOG_OK;
		err = range_hash(r, lo, hi, proof[*len]);
	} else {
		k = split_point(hi - lo);
		if (m <= lo + k)
			err = subproof(r, m, lo, lo + k, whole, proof, len) ?:
			      range_hash(r, lo + k, hi, proof[*len]);
		else
			err = subproof(r, m, lo + k, hi, false, proof, len) ?:
			      range_hash(r, lo, lo + k, proof[*len]);
	}
	if (err)
		return err;
	if (++*len >= TLOG_MAX_PROOF)
		return TLOG_ERR_RANGE;
	return TLOG_OK;
}

int tlog_prove_consistency(const struct tlog_hash_reader *r, uint64_t size1, uint64_t size2,
			   tlog_hash *proof, size_t *len)
{
	*len = 0;
	if (size2 > TLOG_MAX_SIZE || size1 > size2)
		return TLOG_ERR_RANGE;
	if (size1 == 0 || size1 == size2)
		return TLOG_OK;
	return subproof(r, size1, 0, size2, true, proof, len);
}

int tlog_root_from_inclusion(uint64_t index, uint64_t size, const uint8_t leaf_hash[TLOG_HASH_LEN],
			     const tlog_hash *proof, size_t len, uint8_t root[TLOG_HASH_LEN])
{
	uint64_t fn = index, sn;
	uint8_t r[TLOG_HASH_LEN];
	size_t i;

	if (size > TLOG_MAX_SIZE || index >= size)
		return TLOG_ERR_RANGE;
	sn = size - 1;
	memcpy(r, leaf_hash, TLOG_HASH_LEN);
	for (i = 0; i < len; i++) {
		if (sn == 0)
			return TLOG_ERR_PROOF_LENGTH;
		if ((fn & 1) || fn == sn) {
			tlog_hash_children(r, proof[i], r);
			if (!(fn & 1))
				while (!(fn & 1) && fn != 0) {
					fn >>= 1;
					sn >>= 1;
				}
		} else {
			tlog_hash_children(r, r, proof[i]);
		}
		fn >>= 1;
		sn >>= 1;
	}
	if (sn != 0)
		return TLOG_ERR_PROOF_LENGTH;
	memcpy(root, r, TLOG_HASH_LEN);
	return TLOG_OK;
}

int tlog_verify_inclusion(uint64_t index, uint64_t size, const uint8_t leaf_hash[TLOG_HASH_LEN],
			  const tlog_hash *proof, size_t len, const uint8_t root[TLOG_HASH_LEN])
{
	uint8_t got[TLOG_HASH_LEN];
	int err = tlog_root_from_inclusion(index, size, leaf_hash, proof, len, got);

	if (err)
		return err;
	return memcmp(got, root, TLOG_HASH_LEN) ? TLOG_ERR_MISMATCH : TLOG_OK;
}

int tlog_verify_consistency(uint64_t size1, uint64_t size2, const uint8_t root1[TLOG_HASH_LEN],
			    const uint8_t root2[TLOG_HASH_LEN], const tlog_hash *proof, size_t len)
{
	uint8_t fr[TLOG_HASH_LEN], sr[TLOG_HASH_LEN];
	uint64_t fn, sn;
	size_t i = 0;

	if (size2 > TLOG_MAX_SIZE)
		return TLOG_ERR_RANGE;
	if (size1 > size2)
		return TLOG_ERR_ROLLBACK;
	if (size1 == size2) {
		if (len)
			return TLOG_ERR_PROOF_LENGTH;
		return memcmp(root1, root2, TLOG_HASH_LEN) ? TLOG_ERR_FORK : TLOG_OK;
	}
	if (size1 == 0)
		return len ? TLOG_ERR_PROOF_LENGTH : TLOG_OK;
	if (len == 0)
		return TLOG_ERR_PROOF_LENGTH;
	fn = size1 - 1;
	sn = size2 - 1;
	/* An old tree that is a complete subtree is its own first proof node. */
	if ((size1 & (size1 - 1)) == 0) {
		memcpy(fr, root1, TLOG_HASH_LEN);
	} else {
		memcpy(fr, proof[0], TLOG_HASH_LEN);
		i = 1;
	}
	memcpy(sr, fr, TLOG_HASH_LEN);
	while (fn & 1) {
		fn >>= 1;
		sn >>= 1;
	}
	for (; i < len; i++) {
		if (sn == 0)
			return TLOG_ERR_PROOF_LENGTH;
		if ((fn & 1) || fn == sn) {
			tlog_hash_children(fr, proof[i], fr);
			tlog_hash_children(sr, proof[i], sr);
			if (!(fn & 1))
				while (!(fn & 1) && fn != 0) {
					fn >>= 1;
					sn >>= 1;
				}
		} else {
			tlog_hash_children(sr, sr, proof[i]);
		}
		fn >>= 1;
		sn >>= 1;
	}
	if (sn != 0)
		return TLOG_ERR_PROOF_LENGTH;
	if (memcmp(fr, root1, TLOG_HASH_LEN) || memcmp(sr, root2, TLOG_HASH_LEN))
		return TLOG_ERR_MISMATCH;
	return TLOG_OK;
}
