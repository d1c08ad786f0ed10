// SPDX-License-Identifier: MIT
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include "hkdf.h"

static int hmac_sha256(uint8_t out[32], const uint8_t *key, size_t key_len,
		       const uint8_t *a, size_t a_len, const uint8_t *b, size_t b_len,
		       const uint8_t *c, size_t c_len)
{
	unsigned int len = 32;
	HMAC_CTX *ctx;
	int ok;

	/* HMAC_CTX is deprecated in 3.0 but far cheaper than EVP_MAC_fetch per call. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
	ctx = HMAC_CTX_new();
	if (!ctx)
		return -1;
	ok = HMAC_Init_ex(ctx, key, (int)key_len, EVP_sha256(), NULL) == 1 &&
	     (!a_len || HMAC_Update(ctx, a, a_len) == 1) &&
	     (!b_len || HMAC_Update(ctx, b, b_len) == 1) &&
	     (!c_len || HMAC_Update(ctx, c, c_len) == 1) &&
	     HMAC_Final(ctx, out, &len) == 1 && len == 32;
	HMAC_CTX_free(ctx);
#pragma GCC diagnostic pop
	return ok ? 0 : -1;
}

int meshnet_hkdf_extract(uint8_t prk[MESHNET_PRK_LEN], const uint8_t *salt, size_t salt_len,
			 const uint8_t *ikm, size_t ikm_len)
{
	static const uint8_t zero_salt[32];

	if (!salt || !salt_len) {
		salt = zero_salt;
		salt_len = sizeof(zero_salt);
	}
	return hmac_sha256(prk, salt, salt_len, ikm, ikm_len, NULL, 0, NULL, 0);
}

int meshnet_hkdf_expand(uint8_t *out, size_t out_len, const uint8_t prk[MESHNET_PRK_LEN],
			const uint8_t *info, size_t info_len)
{
	uint8_t t[32];
	size_t done = 0, t_len = 0;
	uint8_t counter = 1;

	if (out_len > 255 * 32)
		return -1;
	while (done < out_len) {
		size_t n;

		if (hmac_sha256(t, prk, MESHNET_PRK_LEN, t, t_len, info, info_len,
				&counter, 1)) {
			OPENSSL_cleanse(t, sizeof(t));
			return -1;
		}
		t_len = 32;
		n = out_len - done < 32 ? out_len - done : 32;
		memcpy(out + done, t, n);
		done += n;
		counter++;
	}
	OPENSSL_cleanse(t, sizeof(t));
	return 0;
}

int meshnet_epoch_prk(uint8_t prk[MESHNET_PRK_LEN],
		      const uint8_t secret[MESHNET_EPOCH_SECRET_LEN], uint64_t epoch_id)
{
	uint8_t salt[8];
	int i;

	for (i = 0; i < 8; i++)
		salt[i] = (uint8_t)(epoch_id >> (56 - 8 * i));
	return meshnet_hkdf_extract(prk, salt, sizeof(salt), secret,
				    MESHNET_EPOCH_SECRET_LEN);
}

int meshnet_pair_psk(uint8_t psk[MESHNET_PSK_LEN], const uint8_t prk[MESHNET_PRK_LEN],
		     const char *node_a, const char *node_b)
{
	static const char label[] = "meshnet v1 psk";
	uint8_t info[sizeof(label) - 1 + 2 * 64 + 1];
	const char *lo, *hi;
	size_t lo_len, hi_len, off = 0;
	int cmp;

	cmp = strcmp(node_a, node_b);
	if (cmp == 0)
		return -1;
	lo = cmp < 0 ? node_a : node_b;
	hi = cmp < 0 ? node_b : node_a;
	lo_len = strlen(lo);
	hi_len = strlen(hi);
	if (lo_len > 64 || hi_len > 64)
		return -1;
	memcpy(info, label, sizeof(label) - 1);
	off = sizeof(label) - 1;
	memcpy(info + off, lo, lo_len);
	off += lo_len;
	info[off++] = 0;
	memcpy(info + off, hi, hi_len);
	off += hi_len;
	return meshnet_hkdf_expand(psk, MESHNET_PSK_LEN, prk, info, off);
}

/* The low-level SHA-256 API is deprecated in OpenSSL 3 but is the fast path. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
_Static_assert(sizeof(SHA256_CTX) <= 128, "SHA256_CTX fits the deriver state");

int meshnet_psk_deriver_init(struct meshnet_psk_deriver *d, const uint8_t prk[MESHNET_PRK_LEN])
{
	SHA256_CTX *inner = (SHA256_CTX *)d->state[0], *outer = (SHA256_CTX *)d->state[1];
	uint8_t pad[64];
	int i;

	memset(pad, 0x36, sizeof(pad));
	for (i = 0; i < MESHNET_PRK_LEN; i++)
		pad[i] ^= prk[i];
	SHA256_Init(inner);
	SHA256_Update(inner, pad, sizeof(pad));
	memset(pad, 0x5c, sizeof(pad));
	for (i = 0; i < MESHNET_PRK_LEN; i++)
		pad[i] ^= prk[i];
	SHA256_Init(outer);
	SHA256_Update(outer, pad, sizeof(pad));
	OPENSSL_cleanse(pad, sizeof(pad));
	return 0;
}

int meshnet_psk_deriver_pair(const struct meshnet_psk_deriver *d, uint8_t psk[MESHNET_PSK_LEN],
			     const char *node_a, const char *node_b)
{
	static const char label[] = "meshnet v1 psk";
	static const uint8_t zero, one = 1;
	SHA256_CTX ctx;
	uint8_t inner_md[32];
	const char *lo, *hi;
	int cmp = strcmp(node_a, node_b);

	if (cmp == 0)
		return -1;
	lo = cmp < 0 ? node_a : node_b;
	hi = cmp < 0 ? node_b : node_a;
	/* T(1) = HMAC(PRK, info || 0x01), and 32 bytes need only T(1). */
	memcpy(&ctx, d->state[0], sizeof(ctx));
	SHA256_Update(&ctx, label, sizeof(label) - 1);
	SHA256_Update(&ctx, lo, strlen(lo));
	SHA256_Update(&ctx, &zero, 1);
	SHA256_Update(&ctx, hi, strlen(hi));
	SHA256_Update(&ctx, &one, 1);
	SHA256_Final(inner_md, &ctx);
	memcpy(&ctx, d->state[1], sizeof(ctx));
	SHA256_Update(&ctx, inner_md, sizeof(inner_md));
	SHA256_Final(psk, &ctx);
	OPENSSL_cleanse(&ctx, sizeof(ctx));
	OPENSSL_cleanse(inner_md, sizeof(inner_md));
	return 0;
}
#pragma GCC diagnostic pop

void meshnet_psk_deriver_wipe(struct meshnet_psk_deriver *d)
{
	OPENSSL_cleanse(d, sizeof(*d));
}
