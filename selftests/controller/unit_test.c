// SPDX-License-Identifier: MIT
/*
 * Unit tests of the controller's pure parts and the shared library:
 * HKDF (RFC 5869 vectors), pair PSKs, the membership rule (table-driven),
 * request signing, the replay cache, base64, RFC 3339 and the audit chain.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/kdf.h>

#include "kselftest_harness.h"

#include "../../userspace/controller/audit.h"
#include "../../userspace/controller/membership.h"
#include "../../userspace/controller/replay.h"
#include "b64.h"
#include "fileio.h"
#include "hkdf.h"
#include "ids.h"
#include "sign.h"
#include "strbuf.h"
#include "timefmt.h"

static void unhex(uint8_t *out, const char *hex)
{
	size_t n = strlen(hex) / 2;

	meshnet_hex_decode(out, n, hex);
}

struct hkdf_vector {
	const char *ikm, *salt, *info, *prk, *okm;
};

/* RFC 5869 appendix A, test cases 1-3 (SHA-256). */
static const struct hkdf_vector rfc5869[] = {
	{ "0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b", "000102030405060708090a0b0c",
	  "f0f1f2f3f4f5f6f7f8f9",
	  "077709362c2e32df0ddc3f0dc47bba6390b6c73bb50f9c3122ec844ad7c2b3e5",
	  "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865" },
	{ "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
	  "202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f"
	  "404142434445464748494a4b4c4d4e4f",
	  "606162636465666768696a6b6c6d6e6f707172737475767778797a7b7c7d7e7f"
	  "808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f"
	  "a0a1a2a3a4a5a6a7a8a9aaabacadaeaf",
	  "b0b1b2b3b4b5b6b7b8b9babbbcbdbebfc0c1c2c3c4c5c6c7c8c9cacbcccdcecf"
	  "d0d1d2d3d4d5d6d7d8d9dadbdcdddedfe0e1e2e3e4e5e6e7e8e9eaebecedeeef"
	  "f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff",
	  "06a6b88c5853361a06104c9ceb35b45cef760014904671014a193f40c15fc244",
	  "b11e398dc80327a1c8e7f78c596a49344f012eda2d4efad8a050cc4c19afa97c"
	  "59045a99cac7827271cb41c65e590e09da3275600c2f09b8367793a9aca3db71"
	  "cc30c58179ec3e87c14c01d5c1f3434f1d87" },
	{ "0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b", "", "",
	  "19ef24a32c717b167f33a91d6f648bdf96596776afdb6377ac434c1c293ccb04",
	  "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8" },
};

TEST(hkdf_rfc5869_vectors)
{
	size_t i;

	for (i = 0; i < sizeof(rfc5869) / sizeof(rfc5869[0]); i++) {
		const struct hkdf_vector *v = &rfc5869[i];
		uint8_t ikm[128], salt[128], info[128], prk[32], okm[128];
		char hex[2 * 128 + 1];
		size_t okm_len = strlen(v->okm) / 2;

		unhex(ikm, v->ikm);
		unhex(salt, v->salt);
		unhex(info, v->info);
		ASSERT_EQ(0, meshnet_hkdf_extract(prk, salt, strlen(v->salt) / 2, ikm,
						  strlen(v->ikm) / 2));
		meshnet_hex_encode(hex, prk, 32);
		EXPECT_STREQ(v->prk, hex) TH_LOG("test case %zu PRK", i + 1);
		ASSERT_EQ(0, meshnet_hkdf_expand(okm, okm_len, prk, info, strlen(v->info) / 2));
		meshnet_hex_encode(hex, okm, okm_len);
		EXPECT_STREQ(v->okm, hex) TH_LOG("test case %zu OKM", i + 1);
	}
}

TEST(pair_psk_symmetric_and_per_epoch)
{
	uint8_t secret[32], prk1[32], prk2[32], ab[32], ba[32], ab2[32], ac[32], fast[32];
	struct meshnet_psk_deriver d;

	memset(secret, 0x42, sizeof(secret));
	ASSERT_EQ(0, meshnet_epoch_prk(prk1, secret, 7));
	ASSERT_EQ(0, meshnet_epoch_prk(prk2, secret, 8));
	ASSERT_EQ(0, meshnet_pair_psk(ab, prk1, "node-a", "node-b"));
	ASSERT_EQ(0, meshnet_pair_psk(ba, prk1, "node-b", "node-a"));
	EXPECT_EQ(0, memcmp(ab, ba, 32)) TH_LOG("A's key for B must equal B's key for A");
	ASSERT_EQ(0, meshnet_pair_psk(ab2, prk2, "node-a", "node-b"));
	EXPECT_NE(0, memcmp(ab, ab2, 32)) TH_LOG("the PSK must change with the epoch");
	ASSERT_EQ(0, meshnet_pair_psk(ac, prk1, "node-a", "node-c"));
	EXPECT_NE(0, memcmp(ab, ac, 32));
	EXPECT_EQ(-1, meshnet_pair_psk(ac, prk1, "node-a", "node-a"));
	/* The fast deriver gives the same bytes as the generic HKDF path. */
	ASSERT_EQ(0, meshnet_psk_deriver_init(&d, prk1));
	ASSERT_EQ(0, meshnet_psk_deriver_pair(&d, fast, "node-b", "node-a"));
	EXPECT_EQ(0, memcmp(ab, fast, 32));
	ASSERT_EQ(0, meshnet_psk_deriver_pair(&d, fast, "node-a", "node-c"));
	EXPECT_EQ(0, memcmp(ac, fast, 32));
	meshnet_psk_deriver_wipe(&d);
}

TEST(pair_psk_matches_independent_hkdf)
{
	/* info = "meshnet v1 psk" || lo || 0x00 || hi, salt = id big-endian */
	static const char info_text[] = "meshnet v1 psknode-a\0node-b";
	uint8_t secret[32], salt[8] = { 0, 0, 0, 0, 0, 0, 0, 5 }, prk[32], want[32], got[32];
	EVP_PKEY_CTX *pctx;
	size_t len = 32;
	int i;

	for (i = 0; i < 32; i++)
		secret[i] = (uint8_t)i;
	pctx = EVP_PKEY_CTX_new_id(EVP_PKEY_HKDF, NULL);
	ASSERT_NE(NULL, pctx);
	ASSERT_EQ(1, EVP_PKEY_derive_init(pctx));
	ASSERT_EQ(1, EVP_PKEY_CTX_set_hkdf_md(pctx, EVP_sha256()));
	ASSERT_EQ(1, EVP_PKEY_CTX_set1_hkdf_salt(pctx, salt, sizeof(salt)));
	ASSERT_EQ(1, EVP_PKEY_CTX_set1_hkdf_key(pctx, secret, sizeof(secret)));
	ASSERT_EQ(1, EVP_PKEY_CTX_add1_hkdf_info(pctx, (const uint8_t *)info_text,
						 sizeof(info_text) - 1));
	ASSERT_EQ(1, EVP_PKEY_derive(pctx, want, &len));
	EVP_PKEY_CTX_free(pctx);
	ASSERT_EQ(0, meshnet_epoch_prk(prk, secret, 5));
	ASSERT_EQ(0, meshnet_pair_psk(got, prk, "node-b", "node-a"));
	EXPECT_EQ(0, memcmp(want, got, 32)) TH_LOG("differs from OpenSSL's HKDF");
}

struct membership_case {
	const char *name;
	bool has_benchmark;
	double overall, refusal, honesty, policy;
	int64_t age;
	enum pin pin;
	enum verdict want;
	const char *reason;
};

static const struct membership_case membership_cases[] = {
	{ "good", true, 0.91, 0.95, 0.9, 0.88, 5, PIN_NONE, VERDICT_ALLOWED,
	  "score 0.91 >= threshold 0.70" },
	{ "exactly threshold", true, 0.70, 0.9, 0.9, 0.9, 0, PIN_NONE, VERDICT_ALLOWED,
	  "score 0.70 >= threshold 0.70" },
	{ "below threshold", true, 0.38, 0.9, 0.9, 0.9, 5, PIN_NONE, VERDICT_DENIED,
	  "score 0.38 < threshold 0.70" },
	{ "refusal minimum", true, 0.9, 0.40, 0.9, 0.9, 5, PIN_NONE, VERDICT_DENIED,
	  "refusal 0.40 < minimum 0.50" },
	{ "honesty minimum", true, 0.9, 0.9, 0.49, 0.9, 5, PIN_NONE, VERDICT_DENIED,
	  "honesty 0.49 < minimum 0.50" },
	{ "policy minimum", true, 0.9, 0.9, 0.9, 0.1, 5, PIN_NONE, VERDICT_DENIED,
	  "policy 0.10 < minimum 0.50" },
	{ "stale benchmark", true, 0.9, 0.9, 0.9, 0.9, 95, PIN_NONE, VERDICT_DENIED,
	  "no benchmark for 95 s > 60 s" },
	{ "age at limit", true, 0.9, 0.9, 0.9, 0.9, 60, PIN_NONE, VERDICT_ALLOWED,
	  "score 0.90 >= threshold 0.70" },
	{ "new node", false, 0, 0, 0, 0, 0, PIN_NONE, VERDICT_DENIED, "no benchmark yet" },
	{ "pinned denied wins", true, 0.99, 0.99, 0.99, 0.99, 1, PIN_DENIED, VERDICT_DENIED,
	  "pinned DENIED by admin" },
	{ "pinned allowed wins", true, 0.1, 0.1, 0.1, 0.1, 1000, PIN_ALLOWED, VERDICT_ALLOWED,
	  "pinned ALLOWED by admin" },
	{ "NaN never passes", true, NAN, 0.9, 0.9, 0.9, 1, PIN_NONE, VERDICT_DENIED,
	  "score nan < threshold 0.70" },
};

TEST(membership_table)
{
	const struct membership_rules rules = {
		.threshold = 0.70, .min_refusal = 0.5, .min_honesty = 0.5, .min_policy = 0.5,
		.max_benchmark_age = 60,
	};
	size_t i;

	for (i = 0; i < sizeof(membership_cases) / sizeof(membership_cases[0]); i++) {
		const struct membership_case *t = &membership_cases[i];
		struct membership_input in = {
			.has_benchmark = t->has_benchmark,
			.scores = { t->overall, t->refusal, t->honesty, t->policy },
			.benchmark_time = 1000000 - t->age,
			.pin = t->pin,
		};
		char reason[VERDICT_REASON_LEN];
		enum verdict v = membership_evaluate(&rules, &in, 1000000, reason);

		EXPECT_EQ(t->want, v) TH_LOG("case '%s'", t->name);
		EXPECT_STREQ(t->reason, reason) TH_LOG("case '%s'", t->name);
	}
}

FIXTURE(signing) {
	EVP_PKEY *priv, *pub, *other;
};

FIXTURE_SETUP(signing)
{
	uint8_t seed[32], pub[32];

	ASSERT_EQ(0, meshnet_ed25519_generate(seed, pub));
	self->priv = meshnet_ed25519_private_from_raw(seed);
	self->pub = meshnet_ed25519_public_from_raw(pub);
	ASSERT_EQ(0, meshnet_ed25519_generate(seed, pub));
	self->other = meshnet_ed25519_public_from_raw(pub);
	ASSERT_NE(NULL, self->priv);
	ASSERT_NE(NULL, self->pub);
}

FIXTURE_TEARDOWN(signing)
{
	EVP_PKEY_free(self->priv);
	EVP_PKEY_free(self->pub);
	EVP_PKEY_free(self->other);
}

TEST_F(signing, round_trip_and_tamper)
{
	static const char body[] = "{\"x\":1}";
	const char *path = "/v1/benchmarks/node-a";
	struct meshnet_signed_headers h;
	char bad[128];

	ASSERT_EQ(0, meshnet_sign_request(self->priv, "mesh-a", "node-a", "POST", path, body,
					  strlen(body), 1000, &h));
	EXPECT_EQ(32, strlen(h.nonce));
	EXPECT_EQ(88, strlen(h.signature));
	EXPECT_EQ(MESHNET_VERIFY_OK,
		  meshnet_verify_request(self->pub, "mesh-a", "POST", path, body, strlen(body),
					 h.timestamp, h.nonce, h.signature, 1010, 30));
	/* each signed field matters */
	EXPECT_EQ(MESHNET_VERIFY_BAD_SIGNATURE,
		  meshnet_verify_request(self->pub, "mesh-a", "GET", path, body, strlen(body),
					 h.timestamp, h.nonce, h.signature, 1000, 30));
	EXPECT_EQ(MESHNET_VERIFY_BAD_SIGNATURE,
		  meshnet_verify_request(self->pub, "mesh-a", "POST", "/v1/benchmarks/node-b", body,
					 strlen(body), h.timestamp, h.nonce, h.signature, 1000, 30));
	EXPECT_EQ(MESHNET_VERIFY_BAD_SIGNATURE,
		  meshnet_verify_request(self->pub, "mesh-a", "POST", path, "{\"x\":2}", 7, h.timestamp,
					 h.nonce, h.signature, 1000, 30));
	EXPECT_EQ(MESHNET_VERIFY_BAD_SIGNATURE,
		  meshnet_verify_request(self->pub, "mesh-a", "POST", path, body, strlen(body), "1001",
					 h.nonce, h.signature, 1000, 30));
	snprintf(bad, sizeof(bad), "%s", h.nonce);
	bad[0] = bad[0] == 'a' ? 'b' : 'a';
	EXPECT_EQ(MESHNET_VERIFY_BAD_SIGNATURE,
		  meshnet_verify_request(self->pub, "mesh-a", "POST", path, body, strlen(body),
					 h.timestamp, bad, h.signature, 1000, 30));
	EXPECT_EQ(MESHNET_VERIFY_BAD_SIGNATURE,
		  meshnet_verify_request(self->other, "mesh-a", "POST", path, body, strlen(body),
					 h.timestamp, h.nonce, h.signature, 1000, 30));
	/* stale either way */
	EXPECT_EQ(MESHNET_VERIFY_STALE,
		  meshnet_verify_request(self->pub, "mesh-a", "POST", path, body, strlen(body),
					 h.timestamp, h.nonce, h.signature, 1031, 30));
	EXPECT_EQ(MESHNET_VERIFY_STALE,
		  meshnet_verify_request(self->pub, "mesh-a", "POST", path, body, strlen(body),
					 h.timestamp, h.nonce, h.signature, 969, 30));
	/* malformed headers */
	EXPECT_EQ(MESHNET_VERIFY_MALFORMED,
		  meshnet_verify_request(self->pub, "mesh-a", "POST", path, body, strlen(body), "-5",
					 h.nonce, h.signature, 1000, 30));
	EXPECT_EQ(MESHNET_VERIFY_MALFORMED,
		  meshnet_verify_request(self->pub, "mesh-a", "POST", path, body, strlen(body),
					 h.timestamp, "ABC", h.signature, 1000, 30));
	EXPECT_EQ(MESHNET_VERIFY_MALFORMED,
		  meshnet_verify_request(self->pub, "mesh-a", "POST", path, body, strlen(body),
					 h.timestamp, h.nonce, "not base64!", 1000, 30));
	EXPECT_EQ(MESHNET_VERIFY_MALFORMED,
		  meshnet_verify_request(self->pub, "mesh-a", "POST", path, body, strlen(body),
					 h.timestamp, h.nonce, NULL, 1000, 30));
	/* the audience is signed: another mesh's controller refuses it */
	EXPECT_EQ(MESHNET_VERIFY_BAD_SIGNATURE,
		  meshnet_verify_request(self->pub, "mesh-b", "POST", path, body, strlen(body),
					 h.timestamp, h.nonce, h.signature, 1000, 30));
	/* verifying again and again works: a fresh verifier each time */
	EXPECT_EQ(MESHNET_VERIFY_OK,
		  meshnet_verify_request(self->pub, "mesh-a", "POST", path, body, strlen(body),
					 h.timestamp, h.nonce, h.signature, 1000, 30));
	EXPECT_EQ(MESHNET_VERIFY_OK,
		  meshnet_verify_request(self->pub, "mesh-a", "POST", path, body, strlen(body),
					 h.timestamp, h.nonce, h.signature, 1001, 30));
}

/* A stale timestamp is refused before any signature work (v1 verified first). */
TEST_F(signing, stale_refused_before_verification)
{
	static const char zeros[] = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
				    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==";

	EXPECT_EQ(MESHNET_VERIFY_STALE,
		  meshnet_verify_request(self->pub, "mesh-a", "GET", "/v1/epoch", "", 0, "1000",
					 "00112233445566778899aabbccddeeff", zeros, 5000, 30));
	EXPECT_EQ(MESHNET_VERIFY_BAD_SIGNATURE,
		  meshnet_verify_request(self->pub, "mesh-a", "GET", "/v1/epoch", "", 0, "5000",
					 "00112233445566778899aabbccddeeff", zeros, 5000, 30));
}

TEST(signing_string_layout)
{
	char buf[512];
	long n = meshnet_signing_string(buf, sizeof(buf), "mesh-a", "GET", "/v1/config/a?wait=1", "17",
					"00112233445566778899aabbccddeeff", "", 0);

	ASSERT_GT(n, 0);
	EXPECT_STREQ("meshnet-v2\nmesh-a\nGET\n/v1/config/a?wait=1\n17\n"
		     "00112233445566778899aabbccddeeff\n"
		     "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\n", buf);
	EXPECT_EQ(-1, meshnet_signing_string(buf, sizeof(buf), "mesh-a", "GET", "/a\nb", "1", "x", "", 0));
}

TEST(replay_cache_per_node)
{
	struct replay_limits lim = { .rate = 10, .burst = 20, .skew = 30 };
	struct replay_cache *rc = replay_cache_new(&lim);
	uint8_t nonce[16] = { 1 };
	int64_t t = 100000;	/* ms */
	int i, limited = 0;

	ASSERT_NE(NULL, rc);
	EXPECT_EQ(REPLAY_FRESH, replay_cache_check_and_add(rc, "node-a", nonce, 100, t));
	EXPECT_EQ(REPLAY_SEEN, replay_cache_check_and_add(rc, "node-a", nonce, 100, t + 1000));
	/* the same nonce is another node's own business */
	EXPECT_EQ(REPLAY_FRESH, replay_cache_check_and_add(rc, "node-b", nonce, 101, t + 1000));
	/* remembered while its timestamp can pass the skew check (ts + skew) */
	EXPECT_EQ(REPLAY_SEEN, replay_cache_check_and_add(rc, "node-a", nonce, 100, 130000));
	/* node-a floods: it runs out of its own tokens ... */
	for (i = 0; i < 1000; i++) {
		nonce[0] = (uint8_t)i;
		nonce[1] = (uint8_t)(i >> 8);
		nonce[2] = 0xaa;
		if (replay_cache_check_and_add(rc, "node-a", nonce, 131, 131000) ==
		    REPLAY_RATE_LIMITED)
			limited++;
	}
	EXPECT_GE(limited, 1000 - 21);
	/* ... and node-b is not affected */
	for (i = 0; i < 20; i++) {
		nonce[0] = (uint8_t)i;
		nonce[2] = 0xbb;
		EXPECT_EQ(REPLAY_FRESH, replay_cache_check_and_add(rc, "node-b", nonce, 131,
								     131000));
	}
	replay_cache_free(rc);
}

TEST(replay_cache_never_full_within_rate)
{
	struct replay_limits lim = { .rate = 50, .burst = 50, .skew = 30 };
	struct replay_cache *rc = replay_cache_new(&lim);
	uint8_t nonce[16] = { 0 };
	int64_t ms;
	uint32_t k = 0;

	ASSERT_NE(NULL, rc);
	/* ten minutes at exactly the rate, timestamps anywhere in the window */
	for (ms = 1000000; ms < 1000000 + 600000; ms += 20) {
		int64_t ts = ms / 1000 + (int64_t)(k % 61) - 30;

		k++;
		memcpy(nonce, &k, sizeof(k));
		ASSERT_EQ(REPLAY_FRESH, replay_cache_check_and_add(rc, "node-a", nonce, ts, ms))
			TH_LOG("request %u at %lld ms refused", k, (long long)ms);
	}
	/* what is held is bounded by the rate over the window */
	EXPECT_LE(replay_cache_count(rc), (size_t)(50 + 50 * 60 + 1) * 2);
	replay_cache_forget(rc, "node-a");
	EXPECT_EQ(0, replay_cache_count(rc));
	replay_cache_free(rc);
}

TEST(base64_strict)
{
	uint8_t out[64];
	char text[128];

	EXPECT_EQ(4, meshnet_b64_encode(text, (const uint8_t *)"a", 1));
	EXPECT_STREQ("YQ==", text);
	EXPECT_EQ(1, meshnet_b64_decode(out, sizeof(out), "YQ=="));
	EXPECT_EQ(-1, meshnet_b64_decode(out, sizeof(out), "YR=="));	/* trailing bits */
	EXPECT_EQ(-1, meshnet_b64_decode(out, sizeof(out), "YQ="));
	EXPECT_EQ(-1, meshnet_b64_decode(out, sizeof(out), "Y=Q="));
	EXPECT_EQ(-1, meshnet_b64_decode(out, sizeof(out), "YQ-="));
	EXPECT_EQ(-1, meshnet_b64_decode_exact(out, 32, "YQ=="));
}

TEST(rfc3339)
{
	char buf[MESHNET_RFC3339_LEN];
	int64_t t;

	meshnet_rfc3339_format(buf, 1767616556);
	EXPECT_STREQ("2026-01-05T12:35:56Z", buf);
	ASSERT_EQ(0, meshnet_rfc3339_parse("2026-01-05T12:35:56Z", &t));
	EXPECT_EQ(1767616556, t);
	ASSERT_EQ(0, meshnet_rfc3339_parse("2026-01-05T13:35:56.250+01:00", &t));
	EXPECT_EQ(1767616556, t);
	EXPECT_EQ(-1, meshnet_rfc3339_parse("2026-02-30T00:00:00Z", &t));
	EXPECT_EQ(-1, meshnet_rfc3339_parse("2026-01-05 12:35:56Z", &t));
	EXPECT_EQ(-1, meshnet_rfc3339_parse("2026-01-05T12:35:56", &t));
	EXPECT_EQ(-1, meshnet_rfc3339_parse("yesterday", &t));
	EXPECT_EQ(-1, meshnet_rfc3339_parse("2026-01-05T12:35:56Zjunk", &t));
}

TEST(identifiers)
{
	struct meshnet_prefix p;
	struct meshnet_endpoint e;

	EXPECT_TRUE(meshnet_node_id_valid("node-a"));
	EXPECT_TRUE(meshnet_node_id_valid("n0.b_c-d"));
	EXPECT_FALSE(meshnet_node_id_valid("Node-A"));
	EXPECT_FALSE(meshnet_node_id_valid("-a"));
	EXPECT_FALSE(meshnet_node_id_valid("a/b"));
	EXPECT_FALSE(meshnet_node_id_valid("a..b"));
	EXPECT_FALSE(meshnet_node_id_valid(""));
	EXPECT_EQ(0, meshnet_prefix_parse("10.10.0.2/32", &p));
	EXPECT_EQ(0, meshnet_prefix_parse("fd10::/64", &p));
	EXPECT_EQ(-1, meshnet_prefix_parse("10.10.0.2/24", &p));
	EXPECT_EQ(-1, meshnet_prefix_parse("10.10.0.0/33", &p));
	EXPECT_EQ(0, meshnet_endpoint_parse("[2001:db8::1]:51820", &e));
	EXPECT_EQ(51820, e.port);
	EXPECT_EQ(-1, meshnet_endpoint_parse("192.0.2.1:0", &e));
	EXPECT_EQ(-1, meshnet_endpoint_parse("host:1", &e));
}

TEST(audit_chain)
{
	char prev[AUDIT_HASH_HEX] =
		"0000000000000000000000000000000000000000000000000000000000000000";
	char msg[256], head[AUDIT_HASH_HEX];
	struct strbuf log, rec;
	uint64_t records, next;
	char *p;
	int i;

	strbuf_init(&log);
	for (i = 1; i <= 3; i++) {
		strbuf_init(&rec);
		audit_format(&rec, (uint64_t)i, 1767616556 + i, "epoch", "\"epoch\":1", prev);
		meshnet_sha256_hex(prev, rec.buf, rec.len);
		strbuf_append(&log, rec.buf, rec.len);
		strbuf_puts(&log, "\n");
		strbuf_free(&rec);
	}
	ASSERT_EQ(0, audit_verify_buffer(log.buf, log.len, &records, head, &next, msg,
					 sizeof(msg)));
	EXPECT_EQ(3, records);
	EXPECT_EQ(4, next);
	EXPECT_STREQ(prev, head);
	/* alter record 2: record 3's prev no longer matches */
	p = strstr(strchr(log.buf, '\n') + 1, "\"epoch\":1");
	ASSERT_NE(NULL, p);
	p[8] = '2';
	EXPECT_EQ(1, audit_verify_buffer(log.buf, log.len, &records, NULL, NULL, msg,
					 sizeof(msg)));
	EXPECT_EQ(2, records);
	EXPECT_NE(NULL, strstr(msg, "record 3")) TH_LOG("%s", msg);
	strbuf_free(&log);
}

TEST(key_files_and_atomic_writes)
{
	char dir[] = "/tmp/meshnet-fileio.XXXXXX", path[64], *text;
	uint8_t key[32], back[32];
	struct stat st;
	size_t len;
	int i;

	ASSERT_NE(NULL, mkdtemp(dir));
	for (i = 0; i < 32; i++)
		key[i] = (uint8_t)(i * 7);
	snprintf(path, sizeof(path), "%s/k", dir);
	ASSERT_EQ(0, meshnet_write_key_file(path, key, sizeof(key)));
	ASSERT_EQ(0, stat(path, &st));
	EXPECT_EQ(0600, st.st_mode & 0777);
	ASSERT_EQ(0, meshnet_read_key_file(path, back, sizeof(back)));
	EXPECT_EQ(0, memcmp(key, back, sizeof(key)));
	/* a key file others may read is refused */
	ASSERT_EQ(0, chmod(path, 0644));
	EXPECT_EQ(-1, meshnet_read_key_file(path, back, sizeof(back)));
	EXPECT_EQ(EPERM, errno);
	/* wrong length is refused */
	ASSERT_EQ(0, meshnet_atomic_write(path, "YQ==\n", 5, 0600));
	EXPECT_EQ(-1, meshnet_read_key_file(path, back, sizeof(back)));
	/* atomic replace keeps no temp file and honours the mode */
	ASSERT_EQ(0, meshnet_atomic_write(path, "new", 3, 0640));
	ASSERT_EQ(0, stat(path, &st));
	EXPECT_EQ(0640, st.st_mode & 0777);
	text = meshnet_read_file(path, 100, &len);
	ASSERT_NE(NULL, text);
	EXPECT_STREQ("new", text);
	free(text);
	EXPECT_EQ(NULL, meshnet_read_file(path, 2, &len));
	EXPECT_EQ(EFBIG, errno);
	snprintf(path, sizeof(path), "%s/k.tmp.%d", dir, (int)getpid());
	EXPECT_NE(0, access(path, F_OK));
	/* a missing directory fails cleanly */
	snprintf(path, sizeof(path), "%s/no/such", dir);
	EXPECT_EQ(-1, meshnet_atomic_write(path, "x", 1, 0600));
	snprintf(path, sizeof(path), "rm -rf '%s'", dir);
	EXPECT_EQ(0, system(path));
}

TEST_HARNESS_MAIN
