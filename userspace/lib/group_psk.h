/* SPDX-License-Identifier: MIT */
/*
 * Group mode key material (docs/PROTOCOL.md "v2", docs/security.md):
 *
 *   K_e  = HKDF-SHA256(IKM = epoch secret, salt = epoch id BE64,
 *                      info = "meshnet v2 group key"), 32 bytes
 *          (the controller derives it; each ALLOWED node receives it)
 *   commitment = SHA-256("meshnet group key v2" || K_e)  (in the signed body)
 *   pair PSK = HKDF-SHA256(IKM = K_e || X25519(own WG private, peer WG public),
 *                          salt = epoch id BE64,
 *                          info = "meshnet v2 psk" || id_lo || 0x00 || id_hi)
 *          (each node derives it; both ends of a pair get the same value)
 */
#ifndef MESHNET_GROUP_PSK_H
#define MESHNET_GROUP_PSK_H

#include <stdint.h>

#define MESHNET_GROUP_KEY_LEN 32

/* K_e from the epoch secret. 0 or -1. */
int meshnet_group_key(uint8_t key[MESHNET_GROUP_KEY_LEN], const uint8_t secret[32],
		      uint64_t epoch_id);

void meshnet_group_key_commitment(uint8_t out[32], const uint8_t key[MESHNET_GROUP_KEY_LEN]);

/*
 * The pair PSK as one end derives it: own WireGuard private key and the
 * peer's public key (32 raw bytes each), both node ids. 0 or -1 (equal ids,
 * a bad key, an all-zero DH result). Everything intermediate is wiped.
 */
int meshnet_group_pair_psk(uint8_t psk[32], const uint8_t key[MESHNET_GROUP_KEY_LEN],
			   uint64_t epoch_id, const uint8_t own_private[32],
			   const uint8_t peer_public[32], const char *own_id, const char *peer_id);

/*
 * The same in two steps, for a node that keeps X25519(own, peer) per peer
 * (it does not change with the epoch, K_e does): the DH result (0, or -1
 * for a bad key or an all-zero result; shared wiped then), and the pair
 * PSK from it (HKDF only).
 */
int meshnet_x25519(uint8_t shared[32], const uint8_t priv[32], const uint8_t pub[32]);
int meshnet_group_pair_psk_dh(uint8_t psk[32], const uint8_t key[MESHNET_GROUP_KEY_LEN],
			      uint64_t epoch_id, const uint8_t dh[32], const char *own_id,
			      const char *peer_id);

#endif
