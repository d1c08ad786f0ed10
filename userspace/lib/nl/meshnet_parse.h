/* SPDX-License-Identifier: MIT */
/*
 * Text <-> binary conversions of meshnet values: WireGuard keys (base64),
 * overlay prefixes, endpoints, verdicts, node names. Pure functions, no
 * netlink: each returns 0 or -EINVAL and, on error, writes a sentence
 * saying what is wrong into @err (the caller prefixes the field name).
 */
#ifndef MESHNET_PARSE_H
#define MESHNET_PARSE_H

#include "nl/meshnet_types.h"

/* 32 bytes -> 44 chars of base64 + NUL */
#define MESHNET_KEY_B64_LEN 45
/* "[ffff:...:ffff%ifname]:65535" */
#define MESHNET_ENDPOINT_STRLEN (INET6_ADDRSTRLEN + IF_NAMESIZE + 10)
#define MESHNET_PREFIX_STRLEN (INET6_ADDRSTRLEN + 5)

/* Writes the printf-style message into @err (if any) and returns -EINVAL. */
__attribute__((format(printf, 3, 4)))
int meshnet_parse_fail(char *err, size_t errlen, const char *fmt, ...);

int meshnet_parse_key(const char *b64, uint8_t key[MESHNET_KEY_LEN], char *err, size_t errlen);
void meshnet_format_key(const uint8_t key[MESHNET_KEY_LEN], char out[MESHNET_KEY_B64_LEN]);

int meshnet_parse_allowedip(const char *text, struct meshnet_allowedip *out, char *err,
			    size_t errlen);
/* Comma-separated list, appended to @peer (at most MESHNET_MAX_ALLOWEDIPS). */
int meshnet_parse_allowedips(const char *csv, struct meshnet_peer *peer, char *err,
			     size_t errlen);
void meshnet_format_allowedip(const struct meshnet_allowedip *ip, char *out, size_t outlen);

int meshnet_parse_endpoint(const char *text, union meshnet_sockaddr *out, char *err,
			   size_t errlen);
void meshnet_format_endpoint(const union meshnet_sockaddr *ep, char *out, size_t outlen);

/* "allowed"/"denied", any case */
int meshnet_parse_verdict(const char *text, uint8_t *verdict, char *err, size_t errlen);
const char *meshnet_verdict_name(uint8_t verdict);
/* "drop"/"allow" */
int meshnet_parse_unknown_policy(const char *text, uint8_t *policy, char *err, size_t errlen);
const char *meshnet_unknown_policy_name(uint8_t policy);
/* "on"/"off" (also yes/no, true/false, 1/0) */
int meshnet_parse_bool(const char *text, bool *value, char *err, size_t errlen);
/* decimal, no sign, no trailing junk, <= max */
int meshnet_parse_u64(const char *text, uint64_t max, uint64_t *value, char *err, size_t errlen);

/* Node id: ^[a-z0-9][a-z0-9._-]{0,62}$ */
int meshnet_parse_name(const char *text, char name[MESHNET_NAME_LEN], char *err, size_t errlen);
/* Free text up to MESHNET_REASON_LEN - 1 bytes, no control characters. */
int meshnet_parse_reason(const char *text, char reason[MESHNET_REASON_LEN], char *err,
			 size_t errlen);

#endif /* MESHNET_PARSE_H */
