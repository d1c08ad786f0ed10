/* SPDX-License-Identifier: MIT */
/*
 * Epoch secrets at rest in a shared database: AES-256-GCM under a key file
 * that only the controllers hold (STORE_KEY_FILE), so a dump of the
 * database alone reveals no epoch secret and hence no PSK.
 *
 *   sealed = nonce[12] || ciphertext[32] || tag[16]
 *   AAD    = "meshnet epoch secret v2" || epoch id (BE64)
 *
 * The AAD binds a sealed secret to its epoch id: moving it to another row
 * makes it fail to open. A fresh random nonce per seal.
 */
#ifndef MESHNETD_EPOCH_SEAL_H
#define MESHNETD_EPOCH_SEAL_H

#include <stddef.h>
#include <stdint.h>

#include "hkdf.h"

#define EPOCH_SEAL_KEY_LEN 32
#define EPOCH_SEAL_NONCE_LEN 12
#define EPOCH_SEAL_TAG_LEN 16
#define EPOCH_SEALED_LEN (EPOCH_SEAL_NONCE_LEN + MESHNET_EPOCH_SECRET_LEN + EPOCH_SEAL_TAG_LEN)
/* Lowercase hex of HMAC-SHA256(key, "meshnet store key check v2"): names a key, reveals none of it. */
#define EPOCH_SEAL_KEY_ID_HEX 65

int epoch_seal(uint8_t out[EPOCH_SEALED_LEN], const uint8_t key[EPOCH_SEAL_KEY_LEN],
	       uint64_t epoch_id, const uint8_t secret[MESHNET_EPOCH_SECRET_LEN]);
/* 0 on success; -1 if the key is wrong or anything was changed. */
int epoch_open(uint8_t secret[MESHNET_EPOCH_SECRET_LEN], const uint8_t key[EPOCH_SEAL_KEY_LEN],
	       uint64_t epoch_id, const uint8_t *sealed, size_t sealed_len);
int epoch_seal_key_id(char out[EPOCH_SEAL_KEY_ID_HEX], const uint8_t key[EPOCH_SEAL_KEY_LEN]);

#endif
