// SPDX-License-Identifier: MIT
/*
 * userspace/lib/tlog: known answers and bad inputs.
 *
 * Vectors (data, not code) from:
 *  - transparency-dev/merkle rfc6962/rfc6962_test.go (hasher) and
 *    proof/verify_test.go (the 8-leaf tree: roots, inclusion and
 *    consistency proofs, and its corruption probes);
 *  - golang.org/x/mod sumdb/tlog note_test.go (checkpoint text) and
 *    ct_test.go + testdata/argon2020 (a real Certificate Transparency log:
 *    inclusion of entry 10000 in a tree of 961984013, consistency from
 *    3654490);
 *  - golang.org/x/mod sumdb/note note_test.go (PeterNeumann / EnochRoot keys
 *    and signatures).
 * Plus an independent recursive RFC 9162 reference (MTH, PATH, PROOF over
 * all leaves) that every generated proof is compared with, for all sizes
 * up to 70.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "kselftest_harness.h"

#include "b64.h"
#include "strbuf.h"
#include "tlog/checkpoint.h"
#include "tlog/witness.h"
#include "tlog/merkle.h"
#include "tlog/note.h"

static void unhex(uint8_t *out, const char *hex)
{
	if (meshnet_hex_decode(out, strlen(hex) / 2, hex)) abort();
}

static void hash_hex(uint8_t out[32], const char *hex)
{
	if (strlen(hex) != 64)
		abort();
	unhex(out, hex);
}

/* ---- an in-memory stored-hash log ---- */

struct mem_log {
	tlog_hash *h;
	uint64_t count, cap;
	struct tlog_frontier f;
	uint64_t reads;
};

static int mem_read(void *ctx, uint64_t index, uint8_t out[32])
{
	struct mem_log *m = ctx;

	m->reads++;
	if (index >= m->count)
		return -1;
	memcpy(out, m->h[index], 32);
	return 0;
}

static void mem_append(struct mem_log *m, const void *data, size_t len)
{
	tlog_hash out[TLOG_MAX_LEVELS], leaf;
	size_t n, i;

	tlog_hash_leaf(leaf, data, len);
	n = tlog_frontier_append(&m->f, leaf, out);
	if (m->count + n > m->cap) {
		m->cap = (m->cap + n) * 2;
		m->h = realloc(m->h, m->cap * sizeof(tlog_hash));
		if (!m->h)
			abort();
	}
	for (i = 0; i < n; i++)
		memcpy(m->h[m->count++], out[i], 32);
}

static struct tlog_hash_reader mem_reader(struct mem_log *m)
{
	struct tlog_hash_reader r = { mem_read, m };

	return r;
}

/* ---- the reference: RFC 9162 section 2.1 written out recursively ---- */

static uint64_t k_of(uint64_t n)
{
	uint64_t k = 1;

	while (k * 2 < n)
		k *= 2;
	return k;
}

static void ref_mth(const tlog_hash *leaves, uint64_t n, uint8_t out[32])
{
	uint8_t l[32], r[32];
	uint64_t k;

	if (n == 0) {
		tlog_hash_empty(out);
		return;
	}
	if (n == 1) {
		memcpy(out, leaves[0], 32);
		return;
	}
	k = k_of(n);
	ref_mth(leaves, k, l);
	ref_mth(leaves + k, n - k, r);
	tlog_hash_children(out, l, r);
}

static void ref_path(const tlog_hash *leaves, uint64_t m, uint64_t n, tlog_hash *p, size_t *len)
{
	uint64_t k;

	if (n == 1)
		return;
	k = k_of(n);
	if (m < k) {
		ref_path(leaves, m, k, p, len);
		ref_mth(leaves + k, n - k, p[(*len)++]);
	} else {
		ref_path(leaves + k, m - k, n - k, p, len);
		ref_mth(leaves, k, p[(*len)++]);
	}
}

static void ref_subproof(const tlog_hash *leaves, uint64_t m, uint64_t n, int b, tlog_hash *p,
			 size_t *len)
{
	uint64_t k;

	if (m == n) {
		if (!b)
			ref_mth(leaves, m, p[(*len)++]);
		return;
	}
	k = k_of(n);
	if (m <= k) {
		ref_subproof(leaves, m, k, b, p, len);
		ref_mth(leaves + k, n - k, p[(*len)++]);
	} else {
		ref_subproof(leaves + k, m - k, n - k, 0, p, len);
		ref_mth(leaves, k, p[(*len)++]);
	}
}

/* ---- vectors ---- */

TEST(rfc6962_hasher)
{
	uint8_t got[32], want[32], l[32], r[32];

	tlog_hash_empty(got);
	hash_hex(want, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	EXPECT_EQ(0, memcmp(got, want, 32));
	tlog_hash_leaf(got, "", 0);
	hash_hex(want, "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d");
	EXPECT_EQ(0, memcmp(got, want, 32));
	tlog_hash_leaf(got, "L123456", 7);
	hash_hex(want, "395aa064aa4c29f7010acfe3f25db9485bbd4b91897b6ad7ad547639252b4d56");
	EXPECT_EQ(0, memcmp(got, want, 32));
	/* HashChildren("N123", "N456"): inputs shorter than a hash, as in the vector */
	memset(l, 0, sizeof(l));
	memset(r, 0, sizeof(r));
	{
		/* the vector hashes 0x01 || "N123" || "N456" (9 bytes) */
		uint8_t buf[9] = { 0x01, 'N', '1', '2', '3', 'N', '4', '5', '6' };
		EVP_Digest(buf, sizeof(buf), got, NULL, EVP_sha256(), NULL);
	}
	hash_hex(want, "aa217fe888e47007fa15edab33c2b492a722cb106c64667fc2b044444de66bbb");
	EXPECT_EQ(0, memcmp(got, want, 32));
	/* a node hash is not the leaf hash of the concatenation (second preimage) */
	tlog_hash_leaf(l, "Hello", 5);
	tlog_hash_leaf(r, "World", 5);
	tlog_hash_children(got, l, r);
	{
		uint8_t cat[64], forged[32], swapped[32];

		memcpy(cat, l, 32);
		memcpy(cat + 32, r, 32);
		tlog_hash_leaf(forged, cat, 64);
		EXPECT_NE(0, memcmp(got, forged, 32));
		tlog_hash_children(swapped, r, l);
		EXPECT_NE(0, memcmp(got, swapped, 32));
	}
	/* long records take the streaming path: same as the one-shot definition */
	{
		static uint8_t big[5000], buf[5001];
		uint8_t a[32], b[32];

		memset(big, 'x', sizeof(big));
		buf[0] = 0;
		memcpy(buf + 1, big, sizeof(big));
		tlog_hash_leaf(a, big, sizeof(big));
		EVP_Digest(buf, sizeof(buf), b, NULL, EVP_sha256(), NULL);
		EXPECT_EQ(0, memcmp(a, b, 32));
	}
}

static const char *const roots8[] = {
	"6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
	"fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
	"aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
	"d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
	"4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
	"76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
	"ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
	"5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
};

static const char *const leaves8[] = {
	"", "00", "10", "2021", "3031", "40414243", "5051525354555657",
	"606162636465666768696a6b6c6d6e6f",
};

struct proof_vector {
	uint64_t a, b;		/* inclusion: leaf (1-based), size; consistency: size1, size2 */
	const char *p[4];
};

static const struct proof_vector inclusion8[] = {
	{ 1, 8, { "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
		  "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
		  "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4" } },
	{ 6, 8, { "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
		  "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
		  "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7" } },
	{ 3, 3, { "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125" } },
	{ 2, 5, { "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
		  "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
		  "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b" } },
	{ 1, 1, { NULL } },
};

static const struct proof_vector consistency8[] = {
	{ 1, 1, { NULL } },
	{ 1, 8, { "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
		  "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
		  "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4" } },
	{ 6, 8, { "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
		  "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
		  "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7" } },
	{ 2, 5, { "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
		  "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b" } },
	{ 6, 7, { "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
		  "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
		  "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7" } },
};

static size_t vector_proof(const struct proof_vector *v, tlog_hash *p)
{
	size_t n = 0;

	while (n < 4 && v->p[n]) {
		hash_hex(p[n], v->p[n]);
		n++;
	}
	return n;
}

static void build8(struct mem_log *m)
{
	uint8_t data[16];
	size_t i;

	memset(m, 0, sizeof(*m));
	for (i = 0; i < 8; i++) {
		unhex(data, leaves8[i]);
		mem_append(m, data, strlen(leaves8[i]) / 2);
	}
}

TEST(tree_8_roots_and_stored_layout)
{
	struct tlog_hash_reader r;
	struct tlog_frontier f;
	uint8_t got[32], want[32];
	struct mem_log m;
	uint64_t n;

	build8(&m);
	r = mem_reader(&m);
	EXPECT_EQ(15, m.count);
	for (n = 1; n <= 8; n++) {
		hash_hex(want, roots8[n - 1]);
		ASSERT_EQ(TLOG_OK, tlog_tree_hash(&r, n, got));
		EXPECT_EQ(0, memcmp(got, want, 32)) TH_LOG("root of size %llu", (unsigned long long)n);
		/* a frontier loaded from storage gives the same root */
		ASSERT_EQ(TLOG_OK, tlog_frontier_load(&f, &r, n));
		tlog_frontier_root(&f, got);
		EXPECT_EQ(0, memcmp(got, want, 32));
	}
	for (n = 0; n < 5000; n++)
		ASSERT_EQ(2 * n - (uint64_t)__builtin_popcountll(n), tlog_stored_count(n));
	EXPECT_EQ(0, tlog_stored_index(0, 0));
	EXPECT_EQ(2, tlog_stored_index(1, 0));
	EXPECT_EQ(6, tlog_stored_index(2, 0));
	EXPECT_EQ(14, tlog_stored_index(3, 0));
	EXPECT_EQ(TLOG_ERR_IO, tlog_tree_hash(&r, 9, got)) TH_LOG("reading beyond the log");
	free(m.h);
}

TEST(inclusion_vectors_and_corruptions)
{
	tlog_hash want[4], got[TLOG_MAX_PROOF], bad[TLOG_MAX_PROOF + 1];
	uint8_t root[32], leaf[32], data[16], some[32];
	struct tlog_hash_reader r;
	struct mem_log m;
	size_t i, j, n, len;

	build8(&m);
	r = mem_reader(&m);
	hash_hex(some, "abacaba000000000000000000000000000000000000000000060061e00123456");
	for (i = 0; i < sizeof(inclusion8) / sizeof(inclusion8[0]); i++) {
		const struct proof_vector *v = &inclusion8[i];
		uint64_t idx = v->a - 1, size = v->b;

		n = vector_proof(v, want);
		ASSERT_EQ(TLOG_OK, tlog_prove_inclusion(&r, idx, size, got, &len));
		ASSERT_EQ(n, len);
		EXPECT_EQ(0, memcmp(got, want, n * 32)) TH_LOG("vector %zu", i);
		unhex(data, leaves8[idx]);
		tlog_hash_leaf(leaf, data, strlen(leaves8[idx]) / 2);
		hash_hex(root, roots8[size - 1]);
		EXPECT_EQ(TLOG_OK, tlog_verify_inclusion(idx, size, leaf, want, n, root));
		/* the probes of verify_test.go: each must be refused */
		EXPECT_NE(TLOG_OK, tlog_verify_inclusion(idx - 1, size, leaf, want, n, root));
		EXPECT_NE(TLOG_OK, tlog_verify_inclusion(idx + 1, size, leaf, want, n, root));
		EXPECT_NE(TLOG_OK, tlog_verify_inclusion(idx ^ 2, size, leaf, want, n, root));
		EXPECT_NE(TLOG_OK, tlog_verify_inclusion(idx, size * 2, leaf, want, n, root));
		EXPECT_NE(TLOG_OK, tlog_verify_inclusion(idx, size / 2, leaf, want, n, root));
		EXPECT_NE(TLOG_OK, tlog_verify_inclusion(idx, size, some, want, n, root));
		EXPECT_NE(TLOG_OK, tlog_verify_inclusion(idx, size, leaf, want, n, some));
		memcpy(bad, want, n * 32);
		memcpy(bad[n], root, 32);
		EXPECT_NE(TLOG_OK, tlog_verify_inclusion(idx, size, leaf, bad, n + 1, root))
			TH_LOG("trailing root");
		memcpy(bad[0], root, 32);
		memcpy(bad[1], want, n * 32);
		EXPECT_NE(TLOG_OK, tlog_verify_inclusion(idx, size, leaf, bad, n + 1, root))
			TH_LOG("preceding root");
		for (j = 0; j < n; j++) {
			memcpy(bad, want, n * 32);
			bad[j][0] ^= 8;
			EXPECT_NE(TLOG_OK, tlog_verify_inclusion(idx, size, leaf, bad, n, root))
				TH_LOG("modified proof[%zu] bit 3", j);
		}
		if (n > 0)
			EXPECT_NE(TLOG_OK, tlog_verify_inclusion(idx, size, leaf, want, n - 1, root))
				TH_LOG("removed component");
		if (n > 1) {
			memcpy(bad[0], want[0], 32);
			memcpy(bad[1], some, 32);
			memcpy(bad[2], want[1], (n - 1) * 32);
			EXPECT_NE(TLOG_OK, tlog_verify_inclusion(idx, size, leaf, bad, n + 1, root))
				TH_LOG("inserted component");
		}
	}
	/* impossible positions */
	EXPECT_EQ(TLOG_ERR_RANGE, tlog_prove_inclusion(&r, 8, 8, got, &len));
	EXPECT_EQ(TLOG_ERR_RANGE, tlog_prove_inclusion(&r, 0, 0, got, &len));
	EXPECT_EQ(TLOG_ERR_RANGE, tlog_verify_inclusion(0, 0, some, got, 0, some));
	EXPECT_EQ(TLOG_ERR_RANGE, tlog_verify_inclusion(2, 1, some, got, 0, some));
	/* one-leaf tree: root == leaf hash, empty proof */
	tlog_hash_leaf(leaf, "data", 4);
	EXPECT_EQ(TLOG_OK, tlog_verify_inclusion(0, 1, leaf, got, 0, leaf));
	EXPECT_EQ(TLOG_ERR_MISMATCH, tlog_verify_inclusion(0, 1, leaf, got, 0, some));
	free(m.h);
}

TEST(consistency_vectors_and_corruptions)
{
	tlog_hash want[4], got[TLOG_MAX_PROOF], bad[TLOG_MAX_PROOF + 1];
	uint8_t r1[32], r2[32], some[32], empty[32];
	struct tlog_hash_reader r;
	struct mem_log m;
	size_t i, j, n, len;

	build8(&m);
	r = mem_reader(&m);
	hash_hex(some, "abacaba000000000000000000000000000000000000000000060061e00123456");
	tlog_hash_empty(empty);
	for (i = 0; i < sizeof(consistency8) / sizeof(consistency8[0]); i++) {
		const struct proof_vector *v = &consistency8[i];
		uint64_t s1 = v->a, s2 = v->b;

		n = vector_proof(v, want);
		ASSERT_EQ(TLOG_OK, tlog_prove_consistency(&r, s1, s2, got, &len));
		ASSERT_EQ(n, len) TH_LOG("vector %zu", i);
		EXPECT_EQ(0, memcmp(got, want, n * 32)) TH_LOG("vector %zu", i);
		hash_hex(r1, roots8[s1 - 1]);
		hash_hex(r2, roots8[s2 - 1]);
		EXPECT_EQ(TLOG_OK, tlog_verify_consistency(s1, s2, r1, r2, want, n));
		if (n == 0)
			continue;
		EXPECT_NE(TLOG_OK, tlog_verify_consistency(s1 - 1, s2, r1, r2, want, n));
		EXPECT_NE(TLOG_OK, tlog_verify_consistency(s1 + 1, s2, r1, r2, want, n));
		EXPECT_NE(TLOG_OK, tlog_verify_consistency(s1 ^ 2, s2, r1, r2, want, n));
		EXPECT_NE(TLOG_OK, tlog_verify_consistency(s1, s2 * 2, r1, r2, want, n));
		EXPECT_NE(TLOG_OK, tlog_verify_consistency(s1, s2 / 2, r1, r2, want, n));
		EXPECT_NE(TLOG_OK, tlog_verify_consistency(s1, s2, some, r2, want, n));
		EXPECT_NE(TLOG_OK, tlog_verify_consistency(s1, s2, r1, some, want, n));
		EXPECT_NE(TLOG_OK, tlog_verify_consistency(s1, s2, r2, r1, want, n));
		EXPECT_NE(TLOG_OK, tlog_verify_consistency(s1, s2, r1, r2, want, 0));
		memcpy(bad, want, n * 32);
		memcpy(bad[n], r1, 32);
		EXPECT_NE(TLOG_OK, tlog_verify_consistency(s1, s2, r1, r2, bad, n + 1));
		memcpy(bad[n], r2, 32);
		EXPECT_NE(TLOG_OK, tlog_verify_consistency(s1, s2, r1, r2, bad, n + 1));
		memcpy(bad[1], want, n * 32);
		memcpy(bad[0], r1, 32);
		EXPECT_NE(TLOG_OK, tlog_verify_consistency(s1, s2, r1, r2, bad, n + 1));
		memcpy(bad[0], r2, 32);
		EXPECT_NE(TLOG_OK, tlog_verify_consistency(s1, s2, r1, r2, bad, n + 1));
		memcpy(bad[0], want[0], 32);
		EXPECT_NE(TLOG_OK, tlog_verify_consistency(s1, s2, r1, r2, bad, n + 1));
		EXPECT_NE(TLOG_OK, tlog_verify_consistency(s1, s2, r1, r2, want, n - 1))
			TH_LOG("truncated proof");
		for (j = 0; j < n; j++) {
			memcpy(bad, want, n * 32);
			bad[j][0] ^= 16;
			EXPECT_NE(TLOG_OK, tlog_verify_consistency(s1, s2, r1, r2, bad, n))
				TH_LOG("modified proof[%zu] bit 4", j);
		}
	}
	/* the edge cases of TestVerifyConsistency */
	EXPECT_NE(TLOG_OK, tlog_verify_consistency(0, 0, r1, r2, got, 0));
	EXPECT_NE(TLOG_OK, tlog_verify_consistency(1, 1, r1, r2, got, 0));
	EXPECT_EQ(TLOG_OK, tlog_verify_consistency(0, 0, r1, r1, got, 0));
	EXPECT_EQ(TLOG_OK, tlog_verify_consistency(0, 1, r1, r2, got, 0));
	EXPECT_EQ(TLOG_OK, tlog_verify_consistency(1, 1, r2, r2, got, 0));
	EXPECT_EQ(TLOG_ERR_ROLLBACK, tlog_verify_consistency(1, 0, r1, r2, got, 0));
	EXPECT_EQ(TLOG_ERR_ROLLBACK, tlog_verify_consistency(2, 1, r1, r2, got, 0));
	EXPECT_NE(TLOG_OK, tlog_verify_consistency(1, 2, r1, r2, got, 0));
	EXPECT_EQ(TLOG_ERR_FORK, tlog_verify_consistency(1, 1, empty, r2, got, 0));
	memcpy(bad[0], empty, 32);
	EXPECT_NE(TLOG_OK, tlog_verify_consistency(0, 0, empty, empty, bad, 1));
	EXPECT_NE(TLOG_OK, tlog_verify_consistency(0, 1, empty, empty, bad, 1));
	EXPECT_NE(TLOG_OK, tlog_verify_consistency(1, 1, empty, empty, bad, 1));
	EXPECT_EQ(TLOG_ERR_RANGE, tlog_prove_consistency(&r, 5, 4, got, &len));
	EXPECT_EQ(TLOG_ERR_IO, tlog_prove_consistency(&r, 5, 9, got, &len));
	free(m.h);
}

TEST(all_proofs_match_the_rfc_reference_up_to_70)
{
	tlog_hash leaves[70], p1[TLOG_MAX_PROOF], p2[TLOG_MAX_PROOF];
	uint8_t root[32], root2[32];
	struct tlog_hash_reader r;
	struct mem_log m;
	uint64_t n, i, s;
	size_t l1, l2;
	char rec[32];

	memset(&m, 0, sizeof(m));
	r = mem_reader(&m);
	for (n = 1; n <= 70; n++) {
		snprintf(rec, sizeof(rec), "record %llu", (unsigned long long)(n - 1));
		tlog_hash_leaf(leaves[n - 1], rec, strlen(rec));
		mem_append(&m, rec, strlen(rec));
		ref_mth(leaves, n, root);
		ASSERT_EQ(TLOG_OK, tlog_tree_hash(&r, n, root2));
		ASSERT_EQ(0, memcmp(root, root2, 32)) TH_LOG("MTH of %llu", (unsigned long long)n);
		for (i = 0; i < n; i++) {
			l2 = 0;
			ref_path(leaves, i, n, p2, &l2);
			ASSERT_EQ(TLOG_OK, tlog_prove_inclusion(&r, i, n, p1, &l1));
			ASSERT_EQ(l2, l1);
			ASSERT_EQ(0, memcmp(p1, p2, l1 * 32));
			ASSERT_EQ(TLOG_OK, tlog_verify_inclusion(i, n, leaves[i], p1, l1, root));
			/* an inclusion proof for another record does not verify */
			if (n > 1)
				ASSERT_NE(TLOG_OK, tlog_verify_inclusion(i, n, leaves[(i + 1) % n],
									 p1, l1, root));
		}
		for (s = 1; s < n; s++) {
			ref_mth(leaves, s, root2);
			l2 = 0;
			ref_subproof(leaves, s, n, 1, p2, &l2);
			ASSERT_EQ(TLOG_OK, tlog_prove_consistency(&r, s, n, p1, &l1));
			ASSERT_EQ(l2, l1);
			ASSERT_EQ(0, memcmp(p1, p2, l1 * 32));
			ASSERT_EQ(TLOG_OK, tlog_verify_consistency(s, n, root2, root, p1, l1));
			/* a fork at any earlier size: flip the old root */
			root2[5] ^= 1;
			ASSERT_NE(TLOG_OK, tlog_verify_consistency(s, n, root2, root, p1, l1));
		}
	}
	free(m.h);
}

/* A real CT log (Google Argon 2020), as golang.org/x/mod's ct_test.go checks. */
static const char *const argon_audit_path[] = {
	"T46AmJsuOM/gFiGlUp+IJJebp+1Z5qratFNW7U0JyOQ=", "9Jj1Feodn42uRYEfffkV4HF/EIPFQ5Zo9IwkxbQ2uhk=",
	"D53/1oCNebF4J59HHgioovKZxrmrKcVuCVhy3Izg8Ck=", "wSFDgGSrsXRPA+1c8WHoAFCsWeUv8NDyP/Q/SgsyVyY=",
	"516/RcwsgdwdzHn18v1dJHqBkgFUbNhmCIWOGjsMJaE=", "naTFY2ajLFgrgs5XUl+zJYZnnlJksLGsA1VYwpLfqbY=",
	"mKBRJo6qao+0Kdh/rhGkZUbHUAxMhrtrclrTpIbNjIg=", "Co4ueOFE7lpifLio94irxxsv1wFMMaK3tPu2ZQkHlro=",
	"yRgy800K6JMYCC05sWfqF2kvCg2riT/pVM+nEa6V5+0=", "n2O38XJZC8/Wpbwi9HhgVizlUyeUHVZvYyQB1607MRc=",
	"go3tAjuNfNSCj87y2Rg1xOroDknGN1eaf3cgvzObf7Q=", "8D0Mj3/J7ySSnFb0afIHYXv6rlOhECnsebY6XKi1IR8=",
	"6rcez46ZU8M5vPiWVMAUfJfAOV0pPP/mch/lYzZhj/M=", "2rtIeXrPvSdUyHc5maIgSAVB2BzaKaupWxSAiVayDE4=",
	"nniW/IMFQPN5xw8UsHFn7CRStYbm1gLu7NNa6kkRqJQ=", "mRPPi7sQS22MduIEyvcNzCNFqIt6kLwYPkNKrVtIcu8=",
	"JvTivzESNS9wHI8aph5a7uieVmtS/p9PciMZ5D6GyOo=", "UTyQd+Ym0wY4zG+qK806bBORwi1CSVvFQ/KknnqoZj8=",
	"hXODrqN+ff+U6zPqRQ+ZQKs6im1fPcxIerDSfNwflhE=", "II6GE+WY/DrpZzfHztLwkR46o37zVkNLCyPYlf68zA0=",
	"d609kWWcNBllbA8Jb/ad4XAVVGnScLRmtP8FYyr+Dck=", "rikBsP0G0gioXRpBFED2CzQdSLrGPvRd0bEcbEZw1rI=",
	"GXIElfmnRuWfbA4z7ubV/UwlpSRUbUeec7oL5HDDnh0=", "pR0SH/NYP6s9+8azWwaeUXA4Ze/3WCIgMfh5YW6wvcE=",
	"f3GuAKYVrF8RBg3s15jvA/YvV9oAliWtzP/imwPhQVA=", "WHn8zDxlVgkV+lSlmzaOdfSBrTHoRr5nT3d76q0KKWE=",
	"f2uV2ZxVgULzLPKuZcowRY3ZY7fRlX59iDBjV1R8kNQ=", "NzQVjJsvQwbi7WStMr9oFkh9VbHfK7LB6o7WwAqwNTs=",
	"C0LttBeYHZHgL+032JIcJC3CTBIyza/hsbmJUgJfmDI=", "nixU5CWTFVDlF4BGdcU6kA7WSYurEpe9jRWc+F/7sOc=",
};

static const char *const argon_consistency[] = {
	"80Sfbj6UQEdVSZCSIgh9NMPj3vCBzcc1A48B2crJSWg=", "FZcrgAHUk6nNPviJZq8kEK6jCG1d18pJOFE45ZDc1TQ=",
	"Q67reWXmPBo1UfmwBap4Xi9PMPfFdUSSw3WGlRZdG7k=", "eJ7CyhR4PxzBxDIsWgrVYW1eFUb9ndgf46tFmiqVrxA=",
	"QrDwp062Grm5WY8KdrhFsBuuNjGzRox2Jb8PmVL5OYw=", "XM4YMjMEdLH/XJam/ZWyaP14k3cmsOtnPsOWQ54lW1s=",
	"SGiBh+jOTGccXU48ZzgQ88lRcBmtB4wz4oSDndv2QTg=", "WAS6txqNLYKGL1GdBdpqmV42TTfn6cJsuDsqLXuTCNI=",
	"QFmRS0rirUA7ZN3lxFjDncV+E1OCrn3NUB4RCp+5fzc=", "Hdbp7It2XBNZmNDBpCN/KPd7vfVqxgzwOosqVIaEA9E=",
	"mxvHL0ZiblBdD7j7pIa1jlfB0gSqfJ6oX0UGo7L0VsU=", "q5hjyvoW6TL/PThgcitpDcSTrnKX2p1+aqscqH2euRA=",
	"jTOWDqt3IHj2NVFeezyBz2ofpru+ztEywqKUAfFclKI=", "GIRn0w3HqJdvU9j1WVD//eR6lk2AaTVjyzjsJNP8U88=",
	"x52GJvxG81fnQBrgOTbll1A5tz95/LXK0Ag1NhB0r1I=", "6/0OqrcTgc3o5dD5PymmoC96lB9yLPFuTHVvLy8fSGk=",
	"Gf+iKLfcXO5l4JEFmsZvSdG5q1uEeWPfYLrds6pmjz0=", "DGuaco+McyM3AfRSF6qX7RwSetwe2ieYJmxw5e9rVx0=",
	"2tQJ9V32hnYp+fdpP6TcjmgJmLeNVOMKM0Ml1kk4cNU=", "3PapK+IkyJr8I9yAErAmzuZezzLMzsg+PfeRCgNW8NQ=",
	"s6xiYeejb+wtqHA+URJZ2I/SCPyIW8coP6aB00FJbMY=", "z9lSpmdTcr5M5ZzKlc4EPh3SrSypKFdk6JUF/UccaZU=",
	"GXIElfmnRuWfbA4z7ubV/UwlpSRUbUeec7oL5HDDnh0=", "pR0SH/NYP6s9+8azWwaeUXA4Ze/3WCIgMfh5YW6wvcE=",
	"f3GuAKYVrF8RBg3s15jvA/YvV9oAliWtzP/imwPhQVA=", "WHn8zDxlVgkV+lSlmzaOdfSBrTHoRr5nT3d76q0KKWE=",
	"f2uV2ZxVgULzLPKuZcowRY3ZY7fRlX59iDBjV1R8kNQ=", "NzQVjJsvQwbi7WStMr9oFkh9VbHfK7LB6o7WwAqwNTs=",
	"C0LttBeYHZHgL+032JIcJC3CTBIyza/hsbmJUgJfmDI=", "nixU5CWTFVDlF4BGdcU6kA7WSYurEpe9jRWc+F/7sOc=",
};

/* entries.json leaf_input of entry 10000 (a precert-less X.509 entry) */
static const char argon_leaf_b64[] =
	"AAAAAAFelPhqUwAAAAViMIIFXjCCBEagAwIBAgIRAOodHzZdqWIFzYyl/SovhCMwDQYJKoZIhvcNAQELBQAwgZAxCzAJ"
	"BgNVBAYTAkdCMRswGQYDVQQIExJHcmVhdGVyIE1hbmNoZXN0ZXIxEDAOBgNVBAcTB1NhbGZvcmQxGjAYBgNVBAoTEUNP"
	"TU9ETyBDQSBMaW1pdGVkMTYwNAYDVQQDEy1DT01PRE8gUlNBIERvbWFpbiBWYWxpZGF0aW9uIFNlY3VyZSBTZXJ2ZXIg"
	"Q0EwHhcNMTcwMjE1MDAwMDAwWhcNMjAwNDE2MjM1OTU5WjBfMSEwHwYDVQQLExhEb21haW4gQ29udHJvbCBWYWxpZGF0"
	"ZWQxHTAbBgNVBAsTFFBvc2l0aXZlU1NMIFdpbGRjYXJkMRswGQYDVQQDDBIqLmxhbmRsb3Jkcy5jb20uYXUwggEiMA0G"
	"CSqGSIb3DQEBAQUAA4IBDwAwggEKAoIBAQCtPBKKHj4zdrGlCjgTHzb5gx9JCs97DwvBz60f14gDufF2haWbOxyJ0a3o"
	"pAMsZnOr8HkARVCwxdqG/PTfACcb0QM7FOlzvxGqxataTYiChwvkkif8F9GlJw69HuHgzhusPf1Ytfk3ps1PRC14Mkyr"
	"S4kwPrk/Le4XdkqRpRw62wG4V6IkbzsNMEOl1H8EgUbfyapdOcVxHjIzvBVy56fBRKG05Fr5wNq3Acak5kYZdNsLhhml"
	"rqAfAjiombW3hb3V5blJdRC0BDdYHv2+zKey6LqJ1FDoXo6IzbzPpC+aifZy47YX+/N1U64Qn5xlDg7mOP8JXfkNJHbU"
	"1TJZHif5AgMBAAGjggHhMIIB3TAfBgNVHSMEGDAWgBSQr2o6lFoL2JDqElZz30O0Oija5zAdBgNVHQ4EFgQUNQSLjkoz"
	"01I+iuuoC5lgEp0anhcwDgYDVR0PAQH/BAQDAgWgMAwGA1UdEwEB/wQCMAAwHQYDVR0lBBYwFAYIKwYBBQUHAwEGCCsG"
	"AQUFBwMCME8GA1UdIARIMEYwOgYLKwYBBAGyMQECAgcwKzApBggrBgEFBQcCARYdaHR0cHM6Ly9zZWN1cmUuY29tb2Rv"
	"LmNvbS9DUFMwCAYGZ4EMAQIBMFQGA1UdHwRNMEswSaBHoEWGQ2h0dHA6Ly9jcmwuY29tb2RvY2EuY29tL0NPTU9ET1JT"
	"QURvbWFpblZhbGlkYXRpb25TZWN1cmVTZXJ2ZXJDQS5jcmwwgYUGCCsGAQUFBwEBBHkwdzBPBggrBgEFBQcwAoZDaHR0"
	"cDovL2NydC5jb21vZG9jYS5jb20vQ09NT0RPUlNBRG9tYWluVmFsaWRhdGlvblNlY3VyZVNlcnZlckNBLmNydDAkBggr"
	"BgEFBQcwAYYYaHR0cDovL29jc3AuY29tb2RvY2EuY29tMC8GA1UdEQQoMCaCEioubGFuZGxvcmRzLmNvbS5hdYIQbGFu"
	"ZGxvcmRzLmNvbS5hdTANBgkqhkiG9w0BAQsFAAOCAQEACyHqxUzrexToY7tOv4+kyGPP2D27P1tQpyzeAl1bPObiMhNK"
	"2b9vvBLDWAaqm8c0YL1h+DBdLoWzf3xFsIkTCVCjWJTNSNlcYtgRk6or1s7jWsfXzWqsnPjPPmTIOCw7EfH7Yme3oxPs"
	"3UUsmShAgPwNohAtL9GqlqMiKM6v1WU3NHt01jEoNP23LRa6KeNK6AH6WHJykzL223IlhgXjHTeuQj6lR+TNrQXJuhwT"
	"XYe+20rrpPQxc1Pn7AqnvfWgmicRQ7gdIcr4V6+ecTvLfNOaJ0ZYe5G5giuAAdTm7F57pk04f4gyZNYKrj88mvbkoriN"
	"8b6jcWExtrYO6bm2TwAA";

TEST(certificate_transparency_argon2020)
{
	tlog_hash proof[32];
	uint8_t root[32], old_root[32], leaf[32], *data;
	long n;
	size_t i;

	ASSERT_EQ(TLOG_OK, tlog_hash_from_b64(root, "dwlueapdd7LaOEnX2W2Wp9v2XE+KzejHRQGHwEx0oaM="));
	data = malloc(sizeof(argon_leaf_b64));
	ASSERT_NE(NULL, data);
	n = meshnet_b64_decode(data, sizeof(argon_leaf_b64), argon_leaf_b64);
	ASSERT_GT(n, 1000);
	tlog_hash_leaf(leaf, data, (size_t)n);
	for (i = 0; i < 30; i++)
		ASSERT_EQ(TLOG_OK, tlog_hash_from_b64(proof[i], argon_audit_path[i]));
	EXPECT_EQ(TLOG_OK, tlog_verify_inclusion(10000, 961984013, leaf, proof, 30, root));
	EXPECT_NE(TLOG_OK, tlog_verify_inclusion(10001, 961984013, leaf, proof, 30, root));
	data[100] ^= 1;		/* the entry changed */
	tlog_hash_leaf(leaf, data, (size_t)n);
	EXPECT_EQ(TLOG_ERR_MISMATCH, tlog_verify_inclusion(10000, 961984013, leaf, proof, 30, root));
	free(data);

	ASSERT_EQ(TLOG_OK, tlog_hash_from_b64(old_root, "AuIZ5V6sDUj1vn3Y1K85oOaQ7y+FJJKtyRTl1edIKBQ="));
	for (i = 0; i < 30; i++)
		ASSERT_EQ(TLOG_OK, tlog_hash_from_b64(proof[i], argon_consistency[i]));
	EXPECT_EQ(TLOG_OK, tlog_verify_consistency(3654490, 961984013, old_root, root, proof, 30));
	EXPECT_NE(TLOG_OK, tlog_verify_consistency(3654491, 961984013, old_root, root, proof, 30));
	EXPECT_NE(TLOG_OK, tlog_verify_consistency(3654490, 961984013, old_root, root, proof, 29));
	old_root[0] ^= 1;
	EXPECT_EQ(TLOG_ERR_MISMATCH, tlog_verify_consistency(3654490, 961984013, old_root, root,
							    proof, 30));
}

TEST(checkpoint_text_go_sumdb)
{
	static const char golden[] =
		"go.sum database tree\n123456789012\nTszzRgjTG6xce+z2AG31kAXYKBgQVtCSCE40HmuwBb0=\n";
	static const char *const bad[] = {
		"go.sum database tree\n0xabcdef\nTszzRgjTG6xce+z2AG31kAXYKBgQVtCSCE40HmuwBb0=\n",
		"go.sum database tree\n123456789012\nTszzRgjTG6xce+z2AG31kAXYKBgQVtCSCE40HmuwBTOOBIG=\n",
		"go.sum database tree\n0123\nTszzRgjTG6xce+z2AG31kAXYKBgQVtCSCE40HmuwBb0=\n",
		"go.sum database tree\n-1\nTszzRgjTG6xce+z2AG31kAXYKBgQVtCSCE40HmuwBb0=\n",
		"go.sum database tree\n99999999999999999999\nTszzRgjTG6xce+z2AG31kAXYKBgQVtCSCE40HmuwBb0=\n",
		"\n123\nTszzRgjTG6xce+z2AG31kAXYKBgQVtCSCE40HmuwBb0=\n",
		"go.sum database tree\n123\nTszzRgjTG6xce+z2AG31kAXYKBgQVtCSCE40HmuwBb0=",
		"go.sum database tree\n123\nTszzRgjTG6xce+z2AG31kAXYKBgQVtCSCE40HmuwBb0=\n\n",
		"go.sum database tree\n123\n",
		"go.sum database tree\n\nTszzRgjTG6xce+z2AG31kAXYKBgQVtCSCE40HmuwBb0=\n",
	};
	struct tlog_checkpoint c, back;
	struct strbuf sb;
	size_t i;

	memset(&c, 0, sizeof(c));
	strcpy(c.origin, "go.sum database tree");
	c.size = 123456789012ull;
	tlog_hash_leaf(c.root, "hello world", 11);	/* Go's RecordHash */
	strbuf_init(&sb);
	ASSERT_EQ(TLOG_OK, tlog_checkpoint_format(&sb, &c));
	EXPECT_STREQ(golden, sb.buf);
	ASSERT_EQ(TLOG_OK, tlog_checkpoint_parse(sb.buf, sb.len, &back));
	EXPECT_EQ(0, memcmp(&c, &back, sizeof(c)));
	/* extension lines are allowed (and ignored) */
	strbuf_puts(&sb, "ext one\n");
	EXPECT_EQ(TLOG_OK, tlog_checkpoint_parse(sb.buf, sb.len, &back));
	strbuf_free(&sb);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		EXPECT_EQ(TLOG_ERR_MALFORMED, tlog_checkpoint_parse(bad[i], strlen(bad[i]), &back))
			TH_LOG("bad checkpoint %zu accepted", i);
}

static const char peter_vkey[] = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
static const char enoch_vkey[] = "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop";
static const char peter_text[] =
	"If you think cryptography is the answer to your problem,\n"
	"then you don't know what your problem is.\n";
static const char peter_sig[] = "\xe2\x80\x94 PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";
static const char enoch_sig[] = "\xe2\x80\x94 EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ=\n";

static EVP_PKEY *peter_private(void)
{
	/* PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz */
	uint8_t raw[33];

	if (meshnet_b64_decode(raw, sizeof(raw), "AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz") != 33 ||
	    raw[0] != 1)
		return NULL;
	return EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, raw + 1, 32);
}

TEST(signed_note_go_vectors)
{
	struct tlog_note_verifier v[2];
	char out[TLOG_VKEY_MAX], msg[4096];
	uint64_t verified;
	struct strbuf sb;
	EVP_PKEY *key;
	size_t tl;

	ASSERT_EQ(TLOG_OK, tlog_verifier_parse(&v[0], peter_vkey));
	ASSERT_EQ(TLOG_OK, tlog_verifier_parse(&v[1], enoch_vkey));
	EXPECT_EQ(0xc74f20a3u, v[0].key_id);
	tlog_verifier_format(&v[0], out);
	EXPECT_STREQ(peter_vkey, out);

	/* Ed25519 is deterministic: signing gives Go's bytes exactly */
	key = peter_private();
	ASSERT_NE(NULL, key);
	strbuf_init(&sb);
	ASSERT_EQ(TLOG_OK, tlog_note_sign(&sb, peter_text, strlen(peter_text), "PeterNeumann", key));
	snprintf(msg, sizeof(msg), "%s\n%s", peter_text, peter_sig);
	EXPECT_STREQ(msg, sb.buf);
	strbuf_free(&sb);
	/* text that is not a note text is refused */
	strbuf_init(&sb);
	EXPECT_EQ(TLOG_ERR_MALFORMED, tlog_note_sign(&sb, "abc", 3, "PeterNeumann", key));
	EXPECT_EQ(TLOG_ERR_MALFORMED, tlog_note_sign(&sb, peter_text, strlen(peter_text), "a+b", key));
	EXPECT_EQ(TLOG_ERR_MALFORMED, tlog_note_sign(&sb, "a\n\nb\n", 5, "PeterNeumann", key));
	strbuf_free(&sb);
	EVP_PKEY_free(key);

	/* one known, one unknown signature */
	snprintf(msg, sizeof(msg), "%s\n%s%s", peter_text, peter_sig, enoch_sig);
	ASSERT_EQ(TLOG_OK, tlog_note_open(msg, strlen(msg), v, 1, &tl, &verified));
	EXPECT_EQ(strlen(peter_text), tl);
	EXPECT_EQ(1, verified);
	ASSERT_EQ(TLOG_OK, tlog_note_open(msg, strlen(msg), v, 2, &tl, &verified));
	EXPECT_EQ(3, verified);
	EXPECT_EQ(TLOG_ERR_NO_SIGNATURE, tlog_note_open(msg, strlen(msg), v, 0, &tl, &verified));
	EXPECT_EQ(TLOG_ERR_NO_SIGNATURE, tlog_note_open(msg, strlen(msg), v + 1, 0, &tl, &verified));
	/* a corrupted signature from a known key rejects the note */
	snprintf(msg, sizeof(msg), "%s\n%.60sABCD%s", peter_text, peter_sig, peter_sig + 60);
	EXPECT_EQ(TLOG_ERR_SIGNATURE, tlog_note_open(msg, strlen(msg), v, 1, &tl, &verified));
	/* changed text */
	snprintf(msg, sizeof(msg), "%s\n%s", peter_text, peter_sig);
	msg[3] = 'X';
	EXPECT_EQ(TLOG_ERR_SIGNATURE, tlog_note_open(msg, strlen(msg), v, 1, &tl, &verified));
	tlog_verifier_free(&v[0]);
	tlog_verifier_free(&v[1]);
}

TEST(signed_note_malformed)
{
	struct tlog_note_verifier v;
	char msg[16384], key[128];
	uint64_t verified;
	size_t tl, i, j, kl;
	const char *bad[8];
	char b[8][512];

	ASSERT_EQ(TLOG_OK, tlog_verifier_parse(&v, peter_vkey));
	snprintf(b[0], 512, "%s", peter_text);
	snprintf(b[1], 512, "%s\n", peter_text);
	snprintf(b[2], 512, "%s\n%.*s", peter_text, (int)strlen(peter_sig) - 1, peter_sig);
	snprintf(b[3], 512, "\x01%s\n%s", peter_text, peter_sig);
	snprintf(b[4], 512, "\xff%s\n%s", peter_text, peter_sig);
	snprintf(b[5], 512, "%s\n\xe2\x80\x94 Bad Name x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=", peter_text);
	snprintf(b[6], 512, "%s\n%sUnexpected line.\n", peter_text, peter_sig);
	snprintf(b[7], 512, "%s\n- PeterNeumann %s", peter_text, peter_sig + 17);
	for (i = 0; i < 8; i++) {
		bad[i] = b[i];
		EXPECT_EQ(TLOG_ERR_MALFORMED, tlog_note_open(bad[i], strlen(bad[i]), &v, 1, &tl,
							     &verified)) TH_LOG("bad msg %zu", i);
	}
	/* more than 100 signatures */
	kl = (size_t)snprintf(msg, sizeof(msg), "%s\n", peter_text);
	for (i = 0; i < 101; i++)
		kl += (size_t)snprintf(msg + kl, sizeof(msg) - kl, "%s", peter_sig);
	EXPECT_EQ(TLOG_ERR_MALFORMED, tlog_note_open(msg, kl, &v, 1, &tl, &verified));
	tlog_verifier_free(&v);
	/* every substring and every one-byte change of the verifier key is refused */
	kl = strlen(peter_vkey);
	for (i = 0; i <= kl; i++)
		for (j = i + 1; j <= kl; j++) {
			if (i == 0 && j == kl)
				continue;
			snprintf(key, sizeof(key), "%.*s", (int)(j - i), peter_vkey + i);
			ASSERT_NE(TLOG_OK, tlog_verifier_parse(&v, key)) TH_LOG("%s", key);
		}
	for (i = 0; i < kl; i++) {
		snprintf(key, sizeof(key), "%s", peter_vkey);
		key[i]++;
		ASSERT_NE(TLOG_OK, tlog_verifier_parse(&v, key)) TH_LOG("%s", key);
	}
	EXPECT_NE(TLOG_OK, tlog_verifier_parse(&v, "PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY=="));
	EXPECT_NE(TLOG_OK, tlog_verifier_parse(&v, "PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"));
}

TEST(signed_checkpoint_and_monitor)
{
	struct tlog_checkpoint c1, c2, got;
	struct tlog_note_verifier v[2];
	tlog_hash proof[TLOG_MAX_PROOF];
	uint8_t seed[32], pub[32];
	struct tlog_hash_reader r;
	struct strbuf n1, n2;
	struct mem_log m;
	uint64_t verified, i;
	EVP_PKEY *key, *other;
	size_t len, plen;
	char rec[32];

	memset(&m, 0, sizeof(m));
	r = mem_reader(&m);
	memset(seed, 7, sizeof(seed));
	key = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, seed, 32);
	seed[0] = 8;
	other = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, seed, 32);
	ASSERT_NE(NULL, key);
	len = 32;
	ASSERT_EQ(1, EVP_PKEY_get_raw_public_key(key, pub, &len));
	ASSERT_EQ(TLOG_OK, tlog_verifier_from_pub(&v[0], "meshnetd/test", pub));
	len = 32;
	ASSERT_EQ(1, EVP_PKEY_get_raw_public_key(other, pub, &len));
	ASSERT_EQ(TLOG_OK, tlog_verifier_from_pub(&v[1], "witness/one", pub));

	for (i = 0; i < 10; i++) {
		snprintf(rec, sizeof(rec), "r%llu", (unsigned long long)i);
		mem_append(&m, rec, strlen(rec));
	}
	memset(&c1, 0, sizeof(c1));
	strcpy(c1.origin, "meshnetd/test");
	c1.size = 10;
	tlog_frontier_root(&m.f, c1.root);
	for (; i < 23; i++) {
		snprintf(rec, sizeof(rec), "r%llu", (unsigned long long)i);
		mem_append(&m, rec, strlen(rec));
	}
	c2 = c1;
	c2.size = 23;
	tlog_frontier_root(&m.f, c2.root);
	strbuf_init(&n1);
	strbuf_init(&n2);
	ASSERT_EQ(TLOG_OK, tlog_checkpoint_sign(&n1, &c1, "meshnetd/test", key));
	ASSERT_EQ(TLOG_OK, tlog_checkpoint_sign(&n2, &c2, "meshnetd/test", key));
	/* a witness cosigns by appending its line */
	ASSERT_EQ(TLOG_OK, tlog_note_signature_line(&n2, n2.buf, strchr(n2.buf, '=') - n2.buf + 2,
						    "witness/one", other));
	ASSERT_EQ(TLOG_OK, tlog_checkpoint_open(n2.buf, n2.len, v, 2, "meshnetd/test", &got,
						&verified));
	EXPECT_EQ(3, verified);
	EXPECT_EQ(23, got.size);
	EXPECT_EQ(TLOG_ERR_ORIGIN, tlog_checkpoint_open(n2.buf, n2.len, v, 2, "meshnetd/other",
							 &got, &verified));
	/* a checkpoint signed by another key */
	EXPECT_EQ(TLOG_ERR_NO_SIGNATURE, tlog_checkpoint_open(n1.buf, n1.len, v + 1, 1, NULL, &got,
							       &verified));
	/* a wrong signature: re-sign other text under the same line */
	{
		struct strbuf forged;
		char *nl;

		strbuf_init(&forged);
		strbuf_append(&forged, n1.buf, n1.len);
		nl = strchr(forged.buf, '\n');
		nl[1] = '9';	/* size 10 -> 90: the signature no longer matches */
		EXPECT_EQ(TLOG_ERR_SIGNATURE, tlog_checkpoint_open(forged.buf, forged.len, v, 1,
								   NULL, &got, &verified));
		strbuf_free(&forged);
	}
	/* the monitor's step: 10 -> 23 with a real proof */
	ASSERT_EQ(TLOG_OK, tlog_prove_consistency(&r, 10, 23, proof, &plen));
	EXPECT_EQ(TLOG_OK, tlog_checkpoint_extends(&c1, &c2, proof, plen));
	/* offered an older checkpoint */
	EXPECT_EQ(TLOG_ERR_ROLLBACK, tlog_checkpoint_extends(&c2, &c1, proof, plen));
	/* a fork: same size, other root */
	got = c1;
	got.root[0] ^= 1;
	EXPECT_EQ(TLOG_ERR_FORK, tlog_checkpoint_extends(&c1, &got, proof, 0));
	/* a forked history at size 23 with the honest proof */
	got = c2;
	got.root[3] ^= 1;
	EXPECT_EQ(TLOG_ERR_MISMATCH, tlog_checkpoint_extends(&c1, &got, proof, plen));
	/* a bad consistency proof */
	proof[1][0] ^= 1;
	EXPECT_EQ(TLOG_ERR_MISMATCH, tlog_checkpoint_extends(&c1, &c2, proof, plen));
	strbuf_free(&n1);
	strbuf_free(&n2);
	tlog_verifier_free(&v[0]);
	tlog_verifier_free(&v[1]);
	EVP_PKEY_free(key);
	EVP_PKEY_free(other);
	free(m.h);
}

TEST(proofs_read_log_n_hashes)
{
	tlog_hash proof[TLOG_MAX_PROOF];
	struct tlog_hash_reader r;
	struct mem_log m;
	uint64_t i, reads;
	size_t len;
	uint8_t leaf[32];

	memset(&m, 0, sizeof(m));
	r = mem_reader(&m);
	for (i = 0; i < 100000; i++)
		mem_append(&m, &i, sizeof(i));
	m.reads = 0;
	ASSERT_EQ(TLOG_OK, tlog_prove_inclusion(&r, 12345, 100000, proof, &len));
	reads = m.reads;
	EXPECT_LE(reads, 2 * 17 + 2) TH_LOG("%llu reads", (unsigned long long)reads);
	m.reads = 0;
	ASSERT_EQ(TLOG_OK, tlog_prove_consistency(&r, 77777, 99999, proof, &len));
	EXPECT_LE(m.reads, 3 * 17 + 2) TH_LOG("%llu reads", (unsigned long long)m.reads);
	i = 12345;
	tlog_hash_leaf(leaf, &i, sizeof(i));
	(void)leaf;
	free(m.h);
}

/* cosignature/v1 (C2SP tlog-cosignature): a witness's line over a checkpoint. */
TEST(cosignature_v1_lines)
{
	static const char text[] = "meshnetd/test\n7\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n";
	uint8_t seed[32] = { 1 }, wseed[32] = { 2 }, oseed[32] = { 3 }, pub[32], raw[45];
	struct tlog_note_verifier v[3], parsed;
	EVP_PKEY *log_key = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, seed, 32);
	EVP_PKEY *wkey = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, wseed, 32);
	EVP_PKEY *okey = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, oseed, 32);
	char vkey[TLOG_VKEY_MAX], *b64;
	struct strbuf note, bad;
	size_t len = sizeof(pub), tl;
	uint64_t verified;
	long n;

	ASSERT_EQ(1, EVP_PKEY_get_raw_public_key(log_key, pub, &len));
	ASSERT_EQ(TLOG_OK, tlog_verifier_from_pub(&v[0], "meshnetd/test", pub));
	len = sizeof(pub);
	ASSERT_EQ(1, EVP_PKEY_get_raw_public_key(wkey, pub, &len));
	ASSERT_EQ(TLOG_OK, tlog_cosigner_from_pub(&v[1], "witness.example", pub));
	EXPECT_EQ(TLOG_COSIGNATURE_ALG, v[1].alg);
	EXPECT_NE(tlog_note_key_id("witness.example", pub), v[1].key_id)
		TH_LOG("the key id binds the algorithm byte (0x04)");
	/* the same key as a plain note key: its line must not count as a cosignature */
	ASSERT_EQ(TLOG_OK, tlog_verifier_from_pub(&v[2], "witness.example", pub));
	/* the verifier key text round-trips with its 0x04 */
	tlog_verifier_format(&v[1], vkey);
	b64 = strrchr(vkey, '+') + 1;
	n = meshnet_b64_decode(raw, sizeof(raw), b64);
	ASSERT_EQ(33, n);
	EXPECT_EQ(0x04, raw[0]);
	ASSERT_EQ(TLOG_OK, tlog_verifier_parse(&parsed, vkey));
	EXPECT_EQ(TLOG_COSIGNATURE_ALG, parsed.alg);
	EXPECT_EQ(v[1].key_id, parsed.key_id);
	tlog_verifier_free(&parsed);

	strbuf_init(&note);
	ASSERT_EQ(TLOG_OK, tlog_note_sign(&note, text, strlen(text), "meshnetd/test", log_key));
	ASSERT_EQ(TLOG_OK, tlog_note_cosignature_line(&note, text, strlen(text), "witness.example",
						      wkey, 1767616556));
	/* key id (4) + timestamp (8) + signature (64) = 76 bytes = 104 base64 chars */
	EXPECT_NE(NULL, strstr(note.buf, "\n\xe2\x80\x94 witness.example "));
	ASSERT_EQ(TLOG_OK, tlog_note_open(note.buf, note.len, v, 2, &tl, &verified));
	EXPECT_EQ(3, verified) TH_LOG("log and witness both verify");
	EXPECT_EQ(strlen(text), tl);
	/* the same key as a plain note key has another id: the cosignature is not its signature */
	EXPECT_EQ(TLOG_ERR_NO_SIGNATURE, tlog_note_open(note.buf, note.len, &v[2], 1, &tl,
							&verified));
	/* a cosignature by another key under the witness's name: refused */
	strbuf_init(&bad);
	ASSERT_EQ(TLOG_OK, tlog_note_sign(&bad, text, strlen(text), "meshnetd/test", log_key));
	ASSERT_EQ(TLOG_OK, tlog_note_cosignature_line(&bad, text, strlen(text), "witness.example",
						      okey, 1767616556));
	ASSERT_EQ(TLOG_OK, tlog_note_open(bad.buf, bad.len, v, 2, &tl, &verified))
		TH_LOG("another key's id is not the witness's: an unknown line, skipped");
	EXPECT_EQ(1, verified);
	strbuf_free(&bad);
	/* the timestamp is signed: change one of its bits (byte 4..11 of the blob) */
	{
		char *line = strstr(note.buf, "witness.example ") + strlen("witness.example ");
		uint8_t blob[80];
		char enc[120], tmp[105];

		memcpy(tmp, line, 104);
		tmp[104] = '\0';
		ASSERT_EQ(76, meshnet_b64_decode(blob, sizeof(blob), tmp));
		blob[11] ^= 1;
		meshnet_b64_encode(enc, blob, 76);
		memcpy(line, enc, 104);
		EXPECT_EQ(TLOG_ERR_SIGNATURE, tlog_note_open(note.buf, note.len, v, 2, &tl, &verified));
	}
	strbuf_free(&note);
	for (int i = 0; i < 3; i++)
		tlog_verifier_free(&v[i]);
	EVP_PKEY_free(log_key);
	EVP_PKEY_free(wkey);
	EVP_PKEY_free(okey);
}

/* The add-checkpoint body both ends speak. */
TEST(witness_request_format_and_parse)
{
	static const char note[] = "meshnetd/test\n1\nAAAA\n\n\xe2\x80\x94 x y\n";
	tlog_hash proof[3], got[TLOG_MAX_PROOF];
	uint64_t old, size;
	size_t n, off;
	struct strbuf sb;

	memset(proof, 0xab, sizeof(proof));
	strbuf_init(&sb);
	ASSERT_EQ(TLOG_OK, tlog_witness_request_format(&sb, 5, proof, 3, note, strlen(note)));
	ASSERT_EQ(TLOG_OK, tlog_witness_request_parse(sb.buf, sb.len, &old, got, &n, &off));
	EXPECT_EQ(5, old);
	EXPECT_EQ(3, n);
	EXPECT_EQ(0, memcmp(got, proof, sizeof(proof)));
	EXPECT_STREQ(note, sb.buf + off);
	strbuf_free(&sb);
	{
		static const char *const bad[] = {
			"", "old\n\nx", "old 01\n\nx", "old -1\n\nx", "old 1\nnotbase64\n\nx",
			"old 1\n", "old 1\n\n", "new 1\n\nx", "old 1 \n\nx",
		};

		size_t i;

		for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			int r = tlog_witness_request_parse(bad[i], strlen(bad[i]), &old, got, &n, &off);

			EXPECT_EQ(TLOG_ERR_MALFORMED, r) {
				TH_LOG("case %zu", i);
			}
		}
	}
	EXPECT_EQ(TLOG_OK, tlog_witness_size_parse("42\n", 3, &size));
	EXPECT_EQ(42, size);
	EXPECT_EQ(TLOG_ERR_MALFORMED, tlog_witness_size_parse("42", 2, &size));
	EXPECT_EQ(TLOG_ERR_MALFORMED, tlog_witness_size_parse("x\n", 2, &size));
}

TEST_HARNESS_MAIN
