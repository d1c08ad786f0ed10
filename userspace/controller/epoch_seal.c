// SPDX-License-Identifier: MIT
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "b64.h"
#include "epoch_seal.h"

static const char seal_label[] = "meshnet epoch secret v2";

static void seal_aad(uint8_t aad[sizeof(seal_label) - 1 + 8], uint64_t epoch_id)
{
	int i;

	memcpy(aad, seal_label, sizeof(seal_label) - 1);
	for (i = 0; i < 8; i++)
		aad[sizeof(seal_label) - 1 + i] = (uint8_t)(epoch_id >> (56 - 8 * i));
}

int epoch_seal(uint8_t out[EPOCH_SEALED_LEN], const uint8_t key[EPOCH_SEAL_KEY_LEN],
	       uint64_t epoch_id, const uint8_t secret[MESHNET_EPOCH_SECRET_LEN])
{
	uint8_t aad[sizeof(seal_label) - 1 + 8];
	uint8_t *nonce = out, *ct = out + EPOCH_SEAL_NONCE_LEN;
	uint8_t *tag = ct + MESHNET_EPOCH_SECRET_LEN;
	EVP_CIPHER_CTX *ctx;
	int len, ret = -1;

	if (RAND_bytes(nonce, EPOCH_SEAL_NONCE_LEN) != 1)
		return -1;
	seal_aad(aad, epoch_id);
	ctx = EVP_CIPHER_CTX_new();
	if (!ctx)
		return -1;
	if (EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, key, nonce) != 1 ||
	    EVP_EncryptUpdate(ctx, NULL, &len, aad, sizeof(aad)) != 1 ||
	    EVP_EncryptUpdate(ctx, ct, &len, secret, MESHNET_EPOCH_SECRET_LEN) != 1 ||
	    len != MESHNET_EPOCH_SECRET_LEN || EVP_EncryptFinal_ex(ctx, ct + len, &len) != 1 ||
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, EPOCH_SEAL_TAG_LEN, tag) != 1)
		goto out;
	ret = 0;
out:
	EVP_CIPHER_CTX_free(ctx);
	if (ret)
		OPENSSL_cleanse(out, EPOCH_SEALED_LEN);
	return ret;
}

int epoch_open(uint8_t secret[MESHNET_EPOCH_SECRET_LEN], const uint8_t key[EPOCH_SEAL_KEY_LEN],
	       uint64_t epoch_id, const uint8_t *sealed, size_t sealed_len)
{
	uint8_t aad[sizeof(seal_label) - 1 + 8], tag[EPOCH_SEAL_TAG_LEN];
	const uint8_t *ct = sealed + EPOCH_SEAL_NONCE_LEN;
	EVP_CIPHER_CTX *ctx;
	int len, ret = -1;

	if (sealed_len != EPOCH_SEALED_LEN)
		return -1;
	memcpy(tag, ct + MESHNET_EPOCH_SECRET_LEN, sizeof(tag));
	seal_aad(aad, epoch_id);
	ctx = EVP_CIPHER_CTX_new();
	if (!ctx)
		return -1;
	if (EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, key, sealed) != 1 ||
	    EVP_DecryptUpdate(ctx, NULL, &len, aad, sizeof(aad)) != 1 ||
	    EVP_DecryptUpdate(ctx, secret, &len, ct, MESHNET_EPOCH_SECRET_LEN) != 1 ||
	    len != MESHNET_EPOCH_SECRET_LEN ||
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, sizeof(tag), tag) != 1 ||
	    EVP_DecryptFinal_ex(ctx, secret + len, &len) != 1)
		goto out;
	ret = 0;
out:
	EVP_CIPHER_CTX_free(ctx);
	if (ret)
		OPENSSL_cleanse(secret, MESHNET_EPOCH_SECRET_LEN);
	return ret;
}

int epoch_seal_key_id(char out[EPOCH_SEAL_KEY_ID_HEX], const uint8_t key[EPOCH_SEAL_KEY_LEN])
{
	static const char label[] = "meshnet store key check v2";
	uint8_t md[32];
	unsigned int md_len = sizeof(md);

	if (!HMAC(EVP_sha256(), key, EPOCH_SEAL_KEY_LEN, (const uint8_t *)label,
		  sizeof(label) - 1, md, &md_len) || md_len != sizeof(md))
		return -1;
	meshnet_hex_encode(out, md, sizeof(md));
	return 0;
}
