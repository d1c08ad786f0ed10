/* SPDX-License-Identifier: MIT */
/* Validation of the identifiers in docs/PROTOCOL.md. */
#ifndef MESHNET_IDS_H
#define MESHNET_IDS_H

#include <stdbool.h>
#include <stdint.h>

/* FNV-1a of a NUL-terminated id or key: the hash of meshnetd's in-memory tables. */
uint64_t meshnet_id_hash(const char *id);

/* ^[a-z0-9][a-z0-9._-]{0,62}$ and no "..". */
bool meshnet_node_id_valid(const char *id);

struct meshnet_prefix {
	int family;		/* AF_INET or AF_INET6 */
	uint8_t addr[16];
	uint8_t len;		/* prefix length */
};

/* "10.10.0.2/32" or "fd10::2/128"; host bits beyond the mask are an error. */
int meshnet_prefix_parse(const char *s, struct meshnet_prefix *out);

struct meshnet_endpoint {
	int family;
	uint8_t addr[16];
	uint16_t port;
};

/* "192.0.2.1:51820" or "[2001:db8::1]:51820"; port 1..65535. */
int meshnet_endpoint_parse(const char *s, struct meshnet_endpoint *out);

#endif
