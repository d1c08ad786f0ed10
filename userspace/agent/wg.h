/* SPDX-License-Identifier: MIT */
/*
 * WireGuard's own generic-netlink API ("wireguard" family) through
 * libnl-genl-3: device key/port, peers' PSKs, endpoints and allowed IPs,
 * peer removal (WGPEER_F_REMOVE_ME) and a dump of the peers.
 */
#ifndef AGENT_WG_H
#define AGENT_WG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nl/meshnet_types.h"

struct agent_wg;

/* One peer change. */
struct agent_wg_peer {
	uint8_t public_key[32];
	bool remove;              /* WGPEER_F_REMOVE_ME, nothing else sent */
	bool set_psk;
	uint8_t psk[32];          /* all zeros removes the PSK */
	bool has_endpoint;
	union meshnet_sockaddr endpoint;
	int keepalive;            /* -1: leave, else seconds */
	size_t n_allowedips;      /* added (never replaced: no gap for live sessions) */
	const struct meshnet_allowedip *allowedips;
};

/* What a dump reports of one peer. */
struct agent_wg_peer_info {
	uint8_t public_key[32];
	bool has_psk;
	uint8_t psk[32];          /* valid during the callback only, wiped after it */
	int64_t last_handshake;   /* unix seconds, 0 = never */
	uint64_t rx_bytes, tx_bytes;
};

int agent_wg_open(struct agent_wg **out, const char *ifname, char *err, size_t errlen);
void agent_wg_close(struct agent_wg *wg);
const char *agent_wg_error(const struct agent_wg *wg);

/* Private key (same key again is a no-op in the kernel) and listen port. */
int agent_wg_set_device(struct agent_wg *wg, const uint8_t priv[32], uint16_t port);
/* Applies the changes, split over several messages when needed. */
int agent_wg_set_peers(struct agent_wg *wg, const struct agent_wg_peer *peers, size_t n);
/* Calls fn per peer of the device. */
typedef int (*agent_wg_peer_fn)(const struct agent_wg_peer_info *peer, void *arg);
int agent_wg_dump_peers(struct agent_wg *wg, agent_wg_peer_fn fn, void *arg);

#endif
