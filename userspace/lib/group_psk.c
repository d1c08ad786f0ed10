// SPDX-License-Identifier: MIT
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/sha.h>

#include "group_psk.h"
#include "hkdf.h"

static void be64(uint8_t out[8], uint64_t v)
{
	int i;

	for (i = 0; i < 8; i++)
		out[i] = (uint8_t)(v >> (56 - 8 * i));
}

int meshnet_group_key(uint8_t key[MESHNET_GROUP_KEY_LEN], const uint8_t secret[32],
		      uint64_t epoch_id)
{
	static const char info[] = "meshnet v2 group key";
	uint8_t salt[8], prk[MESHNET_PRK_LEN];
	int ret;

	be64(salt, epoch_id);
	ret = meshnet_hkdf_extract(prk, salt, sizeof(salt), secret, 32) ||
	      meshnet_hkdf_expand(key, MESHNET_GROUP_KEY_LEN, prk, (const uint8_t *)info,
				  sizeof(info) - 1) ? -1 : 0;
	OPENSSL_cleanse(prk, sizeof(prk));
	return ret;
}

void meshnet_group_key_commitment(uint8_t out[32], const uint8_t key[MESHNET_GROUP_KEY_LEN])
{
	static const char label[] = "meshnet group key v2";
	SHA256_CTX ctx;

	/* The one-shot EVP digest would do too; SHA256_* is plain and fast. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
	SHA256_Init(&ctx);
	SHA256_Update(&ctx, label, sizeof(label) - 1);
	SHA256_Update(&ctx, key, MESHNET_GROUP_KEY_LEN);
	SHA256_Final(out, &ctx);
#pragma GCC diagnostic pop
	OPENSSL_cleanse(&ctx, sizeof(ctx));
}

int meshnet_x25519(uint8_t shared[32], const uint8_t priv[32], const uint8_t pub[32])
{
	EVP_PKEY *sk = EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, NULL, priv, 32);
	EVP_PKEY *pk = EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, NULL, pub, 32);
	EVP_PKEY_CTX *ctx = sk ? EVP_PKEY_CTX_new(sk, NULL) : NULL;
	static const uint8_t zero[32];
	size_t len = 32;
	int ok;

	ok = pk && ctx && EVP_PKEY_derive_init(ctx) == 1 && EVP_PKEY_derive_set_peer(ctx, pk) == 1 &&
	     EVP_PKEY_derive(ctx, shared, &len) == 1 && len == 32 &&
	     CRYPTO_memcmp(shared, zero, 32) != 0;
	EVP_PKEY_CTX_free(ctx);
	EVP_PKEY_free(pk);
	EVP_PKEY_free(sk);
	if (!ok) {
		ERR_clear_error();
		OPENSSL_cleanse(shared, 32);
	}
	return ok ? 0 : -1;
}

int meshnet_group_pair_psk_dh(uint8_t psk[32], const uint8_t key[MESHNET_GROUP_KEY_LEN],
			      uint64_t epoch_id, const uint8_t dh[32], const char *own_id,
			      const char *peer_id)
{
	static const char label[] = "meshnet v2 psk";
	uint8_t ikm[MESHNET_GROUP_KEY_LEN + 32], salt[8], prk[MESHNET_PRK_LEN];
	uint8_t info[sizeof(label) - 1 + 2 * 64 + 1];
	size_t lo_len, hi_len, off;
	const char *lo, *hi;
	int cmp, ret = -1;

	cmp = strcmp(own_id, peer_id);
	if (!cmp)
		return -1;
	lo = cmp < 0 ? own_id : peer_id;
	hi = cmp < 0 ? peer_id : own_id;
	lo_len = strlen(lo);
	hi_len = strlen(hi);
	if (lo_len > 64 || hi_len > 64)
		return -1;
	memcpy(ikm, key, MESHNET_GROUP_KEY_LEN);
	memcpy(ikm + MESHNET_GROUP_KEY_LEN, dh, 32);
	memcpy(info, label, sizeof(label) - 1);
	off = sizeof(label) - 1;
	memcpy(info + off, lo, lo_len);
	off += lo_len;
	info[off++] = 0;
	memcpy(info + off, hi, hi_len);
	off += hi_len;
	be64(salt, epoch_id);
	if (meshnet_hkdf_extract(prk, salt, sizeof(salt), ikm, sizeof(ikm)) ||
	    meshnet_hkdf_expand(psk, 32, prk, info, off))
		goto out;
	ret = 0;
out:
	OPENSSL_cleanse(ikm, sizeof(ikm));
	OPENSSL_cleanse(prk, sizeof(prk));
	return ret;
}

int meshnet_group_pair_psk(uint8_t psk[32], const uint8_t key[MESHNET_GROUP_KEY_LEN],
			   uint64_t epoch_id, const uint8_t own_private[32],
			   const uint8_t peer_public[32], const char *own_id, const char *peer_id)
{
	uint8_t dh[32];
	int ret;

	if (!strcmp(own_id, peer_id) || meshnet_x25519(dh, own_private, peer_public))
		return -1;
	ret = meshnet_group_pair_psk_dh(psk, key, epoch_id, dh, own_id, peer_id);
	OPENSSL_cleanse(dh, sizeof(dh));
	return ret;
}
