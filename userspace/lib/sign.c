// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include "b64.h"
#include "sign.h"

EVP_PKEY *meshnet_ed25519_private_from_raw(const uint8_t seed[MESHNET_ED25519_KEY_LEN])
{
	return EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, seed,
					    MESHNET_ED25519_KEY_LEN);
}

EVP_PKEY *meshnet_ed25519_public_from_raw(const uint8_t pub[MESHNET_ED25519_KEY_LEN])
{
	return EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, pub,
					   MESHNET_ED25519_KEY_LEN);
}

EVP_PKEY *meshnet_ed25519_public_from_b64(const char *b64)
{
	uint8_t raw[MESHNET_ED25519_KEY_LEN];

	if (!b64 || meshnet_b64_decode_exact(raw, sizeof(raw), b64))
		return NULL;
	return meshnet_ed25519_public_from_raw(raw);
}

int meshnet_ed25519_public_raw(EVP_PKEY *key, uint8_t pub[MESHNET_ED25519_KEY_LEN])
{
	size_t len = MESHNET_ED25519_KEY_LEN;

	if (EVP_PKEY_get_raw_public_key(key, pub, &len) != 1 ||
	    len != MESHNET_ED25519_KEY_LEN)
		return -1;
	return 0;
}

int meshnet_ed25519_generate(uint8_t seed[MESHNET_ED25519_KEY_LEN],
			     uint8_t pub[MESHNET_ED25519_KEY_LEN])
{
	EVP_PKEY *key;
	int ret;

	if (RAND_priv_bytes(seed, MESHNET_ED25519_KEY_LEN) != 1)
		return -1;
	key = meshnet_ed25519_private_from_raw(seed);
	if (!key)
		return -1;
	ret = meshnet_ed25519_public_raw(key, pub);
	EVP_PKEY_free(key);
	return ret;
}

void meshnet_sha256_hex(char out[65], const void *data, size_t len)
{
	uint8_t md[SHA256_DIGEST_LENGTH];

	SHA256(data ? data : (const void *)"", len, md);
	meshnet_hex_encode(out, md, sizeof(md));
}

long meshnet_signing_string(char *buf, size_t cap, const char *audience, const char *method,
			    const char *path_query, const char *timestamp,
			    const char *nonce, const void *body, size_t body_len)
{
	char body_hash[65];
	int n;

	if (!*audience || strchr(audience, '\n') || strchr(method, '\n') ||
	    strchr(path_query, '\n') || strchr(timestamp, '\n') || strchr(nonce, '\n'))
		return -1;
	meshnet_sha256_hex(body_hash, body, body_len);
	n = snprintf(buf, cap, "meshnet-v2\n%s\n%s\n%s\n%s\n%s\n%s\n", audience, method,
		     path_query, timestamp, nonce, body_hash);
	if (n < 0 || (size_t)n >= cap)
		return -1;
	return n;
}

int meshnet_parse_timestamp(const char *s, int64_t *out)
{
	int64_t v = 0;
	size_t i, len;

	if (!s)
		return -1;
	len = strlen(s);
	if (len == 0 || len > 18)
		return -1;
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return 0;
}

static int nonce_valid(const char *nonce)
{
	size_t i;

	if (strlen(nonce) != 2 * MESHNET_NONCE_LEN)
		return 0;
	for (i = 0; i < 2 * MESHNET_NONCE_LEN; i++)
		if (!((nonce[i] >= '0' && nonce[i] <= '9') ||
		      (nonce[i] >= 'a' && nonce[i] <= 'f')))
			return 0;
	return 1;
}

static int ed25519_sign(EVP_PKEY *key, const char *msg, size_t len,
			uint8_t sig[MESHNET_ED25519_SIG_LEN])
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	size_t sig_len = MESHNET_ED25519_SIG_LEN;
	int ok;

	if (!ctx)
		return -1;
	ok = EVP_DigestSignInit(ctx, NULL, NULL, NULL, key) == 1 &&
	     EVP_DigestSign(ctx, sig, &sig_len, (const uint8_t *)msg, len) == 1 &&
	     sig_len == MESHNET_ED25519_SIG_LEN;
	EVP_MD_CTX_free(ctx);
	if (!ok)
		ERR_clear_error();
	return ok ? 0 : -1;
}

/*
 * 0 if sig is pub's Ed25519 signature of msg. A fresh context per call:
 * OpenSSL 3.2 and later finalise one after a one-shot verify.
 */
static int ed25519_verify(EVP_PKEY *pub, const uint8_t *msg, size_t len,
			  const uint8_t sig[MESHNET_ED25519_SIG_LEN])
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	int ok;

	ok = ctx && EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, pub) == 1 &&
	     EVP_DigestVerify(ctx, sig, MESHNET_ED25519_SIG_LEN, msg, len) == 1;
	EVP_MD_CTX_free(ctx);
	if (!ok)
		ERR_clear_error();
	return ok ? 0 : -1;
}

int meshnet_sign_request(EVP_PKEY *key, const char *audience, const char *node_id,
			 const char *method,
			 const char *path_query, const void *body, size_t body_len,
			 int64_t timestamp, struct meshnet_signed_headers *out)
{
	uint8_t nonce[MESHNET_NONCE_LEN], sig[MESHNET_ED25519_SIG_LEN];
	char msg[4096];
	long len;

	memset(out, 0, sizeof(*out));
	if (!key || !audience || !node_id || strlen(node_id) > MESHNET_NODE_ID_MAX ||
	    timestamp < 0)
		return -1;
	strcpy(out->node, node_id);
	snprintf(out->timestamp, sizeof(out->timestamp), "%lld", (long long)timestamp);
	if (RAND_bytes(nonce, sizeof(nonce)) != 1)
		return -1;
	meshnet_hex_encode(out->nonce, nonce, sizeof(nonce));
	len = meshnet_signing_string(msg, sizeof(msg), audience, method, path_query,
				     out->timestamp, out->nonce, body, body_len);
	if (len < 0 || ed25519_sign(key, msg, (size_t)len, sig))
		return -1;
	meshnet_b64_encode(out->signature, sig, sizeof(sig));
	return 0;
}

enum meshnet_verify_result
meshnet_verify_request(EVP_PKEY *pub, const char *audience, const char *method,
		       const char *path_query, const void *body, size_t body_len,
		       const char *timestamp, const char *nonce, const char *signature_b64,
		       int64_t now, int64_t skew_seconds)
{
	uint8_t sig[MESHNET_ED25519_SIG_LEN];
	char msg[4096];
	int64_t ts;
	long len;

	if (!pub || !audience || !method || !path_query || !timestamp || !nonce ||
	    !signature_b64)
		return MESHNET_VERIFY_MALFORMED;
	if (meshnet_parse_timestamp(timestamp, &ts) || !nonce_valid(nonce) ||
	    meshnet_b64_decode_exact(sig, sizeof(sig), signature_b64))
		return MESHNET_VERIFY_MALFORMED;
	/* Cheap before expensive: a stale request costs no verification. */
	if (ts < now - skew_seconds || ts > now + skew_seconds)
		return MESHNET_VERIFY_STALE;
	len = meshnet_signing_string(msg, sizeof(msg), audience, method, path_query,
				     timestamp, nonce, body, body_len);
	if (len < 0)
		return MESHNET_VERIFY_MALFORMED;
	if (ed25519_verify(pub, (const uint8_t *)msg, (size_t)len, sig))
		return MESHNET_VERIFY_BAD_SIGNATURE;
	return MESHNET_VERIFY_OK;
}

/* domain || msg in one buffer (Ed25519 is one-shot); NULL on OOM. */
static uint8_t *domain_message(const char *domain, const void *msg, size_t len, size_t *out_len)
{
	size_t dl = strlen(domain);
	uint8_t *buf;

	if (len > SIZE_MAX - dl - 1)
		return NULL;
	buf = malloc(dl + len + 1);
	if (!buf)
		return NULL;
	memcpy(buf, domain, dl);
	if (len)
		memcpy(buf + dl, msg, len);
	*out_len = dl + len;
	return buf;
}

int meshnet_ed25519_sign_domain(EVP_PKEY *key, const char *domain, const void *msg, size_t len,
				uint8_t sig[MESHNET_ED25519_SIG_LEN])
{
	size_t n;
	uint8_t *buf = domain_message(domain, msg, len, &n);
	int ret;

	if (!buf || !key)
		ret = -1;
	else
		ret = ed25519_sign(key, (const char *)buf, n, sig);
	free(buf);
	return ret;
}

int meshnet_ed25519_verify_domain(EVP_PKEY *pub, const char *domain, const void *msg,
				  size_t len, const uint8_t sig[MESHNET_ED25519_SIG_LEN])
{
	size_t n;
	uint8_t *buf;
	int ret;

	if (!pub)
		return -1;
	buf = domain_message(domain, msg, len, &n);
	ret = buf ? ed25519_verify(pub, buf, n, sig) : -1;
	free(buf);
	return ret;
}
