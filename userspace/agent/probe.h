/* SPDX-License-Identifier: MIT */
/*
 * Network probe: one ICMP echo (v4 or v6) to a peer's overlay address,
 * answered within a timeout or not.
 */
#ifndef AGENT_PROBE_H
#define AGENT_PROBE_H

#include <stddef.h>

#include "nl/meshnet_types.h"

/*
 * Pings addr once. Returns 0 and the round trip in *rtt_us when a reply
 * arrived within timeout_ms, else -1 with the reason ("timeout", "no
 * route", ...) in why.
 */
int agent_ping(const struct meshnet_allowedip *addr, unsigned int timeout_ms,
	       unsigned int *rtt_us, char *why, size_t whylen);

#endif
