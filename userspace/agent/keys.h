/* SPDX-License-Identifier: MIT */
/*
 * The node's two key pairs: WireGuard (X25519) and request signing
 * (Ed25519). Created on first start in STATE_DIR (mode 0600, base64 text,
 * written atomically), refused if a key file is readable by group/others.
 */
#ifndef AGENT_KEYS_H
#define AGENT_KEYS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define AGENT_KEY_LEN 32
#define AGENT_WG_KEY_FILE "wireguard.key"
#define AGENT_ED25519_KEY_FILE "ed25519.key"

struct agent_keys {
	uint8_t wg_private[AGENT_KEY_LEN];
	uint8_t wg_public[AGENT_KEY_LEN];
	uint8_t ed_seed[AGENT_KEY_LEN];   /* Ed25519 private key (RFC 8032 seed) */
	uint8_t ed_public[AGENT_KEY_LEN];
};

/*
 * Loads both keys from dir, creating each missing one (and dir, 0700).
 * *created tells whether a key was generated. 0 or -1 with err.
 */
int agent_keys_load_or_create(const char *dir, struct agent_keys *k, bool *created,
			      char *err, size_t errlen);

/* Wipes the private halves. */
void agent_keys_wipe(struct agent_keys *k);

/* Derives the public key of a (clamped) X25519 private key. 0 or -1. */
int agent_wg_public_from_private(const uint8_t priv[AGENT_KEY_LEN], uint8_t pub[AGENT_KEY_LEN]);

#endif
