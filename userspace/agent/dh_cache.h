/* SPDX-License-Identifier: MIT */
/*
 * Group mode: X25519(own WireGuard private key, peer public key) per peer,
 * kept across epochs. A pair PSK is HKDF(K_e || that DH result), so a new
 * epoch costs each node one HKDF per ALLOWED peer instead of one X25519
 * (lib/group_psk.h): the module gets the new table (a quarantine's DENIED
 * peer with it) that much sooner, at every epoch change, on every node.
 *
 * The results are as secret as the private key they come from (which the
 * agent holds anyway): wiped when dropped and by agent_dh_cache_free. The
 * cache belongs to one private key; only the config thread uses it.
 */
#ifndef AGENT_DH_CACHE_H
#define AGENT_DH_CACHE_H

#include <stddef.h>
#include <stdint.h>

/* At most this many peers are kept; one more empties the cache (rebuilt as used). */
#define AGENT_DH_CACHE_MAX 65536

struct agent_dh_entry;

struct agent_dh_cache {
	struct agent_dh_entry *slots;
	size_t cap, n;
	unsigned long long hits, misses;
};

/* dh = X25519(priv, pub), from the cache or computed and kept. 0 or -1 (bad key). */
int agent_dh_get(struct agent_dh_cache *c, const uint8_t priv[32], const uint8_t pub[32],
		 uint8_t dh[32]);
/* Wipes and frees every entry; the cache stays usable (empty). */
void agent_dh_cache_free(struct agent_dh_cache *c);

#endif
