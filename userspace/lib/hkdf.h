/* SPDX-License-Identifier: MIT */
/*
 * HKDF-SHA256 (RFC 5869) and the PSK of a node pair (docs/PROTOCOL.md):
 * IKM = epoch secret, salt = epoch id (8 bytes big-endian),
 * info = "meshnet v1 psk" || node_lo || 0x00 || node_hi (ids sorted bytewise).
 */
#ifndef MESHNET_HKDF_H
#define MESHNET_HKDF_H

#include <stddef.h>
#include <stdint.h>

#define MESHNET_PRK_LEN 32
#define MESHNET_PSK_LEN 32
#define MESHNET_EPOCH_SECRET_LEN 32

/* HKDF-Extract: prk = HMAC-SHA256(salt, ikm). 0 or -1. */
int meshnet_hkdf_extract(uint8_t prk[MESHNET_PRK_LEN], const uint8_t *salt, size_t salt_len,
			 const uint8_t *ikm, size_t ikm_len);
/* HKDF-Expand to out_len bytes (at most 255 * 32). 0 or -1. */
int meshnet_hkdf_expand(uint8_t *out, size_t out_len, const uint8_t prk[MESHNET_PRK_LEN],
			const uint8_t *info, size_t info_len);

/* The epoch's PRK: extract once per epoch. */
int meshnet_epoch_prk(uint8_t prk[MESHNET_PRK_LEN],
		      const uint8_t secret[MESHNET_EPOCH_SECRET_LEN], uint64_t epoch_id);
/* One expand per pair; symmetric in (a, b); a and b must differ. 0 or -1. */
int meshnet_pair_psk(uint8_t psk[MESHNET_PSK_LEN], const uint8_t prk[MESHNET_PRK_LEN],
		     const char *node_a, const char *node_b);

/*
 * Fast path for many pairs under one PRK: the HMAC key schedule is done once
 * (inner and outer SHA-256 states), each pair then costs four SHA-256
 * compressions. Same output as meshnet_pair_psk(). Wipe with
 * meshnet_psk_deriver_wipe().
 */
struct meshnet_psk_deriver {
	uint8_t state[2][128];	/* opaque: inner and outer SHA256_CTX */
};

int meshnet_psk_deriver_init(struct meshnet_psk_deriver *d, const uint8_t prk[MESHNET_PRK_LEN]);
int meshnet_psk_deriver_pair(const struct meshnet_psk_deriver *d, uint8_t psk[MESHNET_PSK_LEN],
			     const char *node_a, const char *node_b);
void meshnet_psk_deriver_wipe(struct meshnet_psk_deriver *d);

#endif
