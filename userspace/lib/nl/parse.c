// SPDX-License-Identifier: MIT
/*
 * Text <-> binary conversions of meshnet values (see meshnet_parse.h).
 * The syntax checks are the shared ones of userspace/lib (b64.h, ids.h);
 * this file turns them into the kernel's layout and into error sentences.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>

#include "b64.h"
#include "ids.h"
#include "nl/meshnet_parse.h"

int meshnet_parse_fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

int meshnet_parse_key(const char *b64, uint8_t key[MESHNET_KEY_LEN], char *err, size_t errlen)
{
	size_t len;

	if (!b64 || !*b64)
		return meshnet_parse_fail(err, errlen, "empty key");
	len = strlen(b64);
	if (len != MESHNET_B64_LEN(MESHNET_KEY_LEN))
		return meshnet_parse_fail(err, errlen,
			    "key must be 32 bytes: %d base64 characters (got %zu)",
			    MESHNET_B64_LEN(MESHNET_KEY_LEN), len);
	if (meshnet_b64_decode_exact(key, MESHNET_KEY_LEN, b64)) {
		OPENSSL_cleanse(key, MESHNET_KEY_LEN);
		return meshnet_parse_fail(err, errlen, "not a base64-encoded 32-byte key");
	}
	return 0;
}

void meshnet_format_key(const uint8_t key[MESHNET_KEY_LEN], char out[MESHNET_KEY_B64_LEN])
{
	meshnet_b64_encode(out, key, MESHNET_KEY_LEN);
}

/* Strict decimal: digits only, no sign or spaces, value <= max. */
int meshnet_parse_u64(const char *text, uint64_t max, uint64_t *value, char *err, size_t errlen)
{
	unsigned long long v;
	char *end;

	if (!text || !*text)
		return meshnet_parse_fail(err, errlen, "empty number");
	if (!isdigit((unsigned char)text[0]))
		return meshnet_parse_fail(err, errlen, "'%s' is not a non-negative decimal number", text);
	errno = 0;
	v = strtoull(text, &end, 10);
	if (*end)
		return meshnet_parse_fail(err, errlen, "'%s' is not a non-negative decimal number", text);
	if (errno == ERANGE || v > max)
		return meshnet_parse_fail(err, errlen, "%s is out of range (maximum %llu)", text,
			    (unsigned long long)max);
	*value = v;
	return 0;
}

int meshnet_parse_allowedip(const char *text, struct meshnet_allowedip *out, char *err,
			    size_t errlen)
{
	struct meshnet_prefix prefix;
	char addr[INET6_ADDRSTRLEN + 1];
	unsigned char probe[16];
	const char *slash;
	uint64_t cidr;
	size_t len;

	memset(out, 0, sizeof(*out));
	if (!text || !*text)
		return meshnet_parse_fail(err, errlen, "empty prefix");
	if (!meshnet_prefix_parse(text, &prefix)) {
		out->family = (uint16_t)prefix.family;
		out->cidr = prefix.len;
		memcpy(out->family == AF_INET ? (void *)&out->ip4 : (void *)&out->ip6,
		       prefix.addr, out->family == AF_INET ? 4 : 16);
		return 0;
	}
	/* say what is wrong */
	slash = strchr(text, '/');
	if (!slash)
		return meshnet_parse_fail(err, errlen, "prefix '%s' has no /LENGTH", text);
	len = (size_t)(slash - text);
	if (len == 0 || len >= sizeof(addr))
		return meshnet_parse_fail(err, errlen, "prefix '%s' has no valid address", text);
	memcpy(addr, text, len);
	addr[len] = '\0';
	if (inet_pton(AF_INET, addr, probe) == 1) {
		if (meshnet_parse_u64(slash + 1, 32, &cidr, NULL, 0))
			return meshnet_parse_fail(err, errlen, "prefix '%s': length must be 0..32", text);
	} else if (inet_pton(AF_INET6, addr, probe) == 1) {
		if (meshnet_parse_u64(slash + 1, 128, &cidr, NULL, 0))
			return meshnet_parse_fail(err, errlen, "prefix '%s': length must be 0..128", text);
	} else {
		return meshnet_parse_fail(err, errlen, "prefix '%s': '%s' is not an IPv4 or IPv6 address",
			    text, addr);
	}
	return meshnet_parse_fail(err, errlen, "prefix '%s' has host bits set beyond /%s", text,
				  slash + 1);
}

int meshnet_parse_allowedips(const char *csv, struct meshnet_peer *peer, char *err,
			     size_t errlen)
{
	char *copy, *item, *save = NULL;
	int ret = 0;

	if (!csv)
		return meshnet_parse_fail(err, errlen, "empty prefix list");
	copy = strdup(csv);
	if (!copy)
		return -ENOMEM;
	peer->flags |= MESHNET_PEER_HAS_ALLOWEDIPS;
	for (item = strtok_r(copy, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
		if (peer->n_allowedips >= MESHNET_MAX_ALLOWEDIPS) {
			ret = meshnet_parse_fail(err, errlen, "more than %d prefixes", MESHNET_MAX_ALLOWEDIPS);
			break;
		}
		ret = meshnet_parse_allowedip(item, &peer->allowedips[peer->n_allowedips],
					      err, errlen);
		if (ret)
			break;
		peer->n_allowedips++;
	}
	free(copy);
	return ret;
}

void meshnet_format_allowedip(const struct meshnet_allowedip *ip, char *out, size_t outlen)
{
	char addr[INET6_ADDRSTRLEN];

	if (!inet_ntop(ip->family, ip->family == AF_INET ? (const void *)&ip->ip4 :
		       (const void *)&ip->ip6, addr, sizeof(addr)))
		snprintf(addr, sizeof(addr), "?");
	snprintf(out, outlen, "%s/%u", addr, ip->cidr);
}

int meshnet_parse_endpoint(const char *text, union meshnet_sockaddr *out, char *err,
			   size_t errlen)
{
	struct meshnet_endpoint ep;

	memset(out, 0, sizeof(*out));
	if (!text || !*text)
		return meshnet_parse_fail(err, errlen, "empty endpoint");
	if (meshnet_endpoint_parse(text, &ep))
		return meshnet_parse_fail(err, errlen,
			    "endpoint '%s' must be IPV4:PORT or [IPV6]:PORT with port 1..65535",
			    text);
	if (ep.family == AF_INET) {
		out->addr4.sin_family = AF_INET;
		out->addr4.sin_port = htons(ep.port);
		memcpy(&out->addr4.sin_addr, ep.addr, 4);
	} else {
		out->addr6.sin6_family = AF_INET6;
		out->addr6.sin6_port = htons(ep.port);
		memcpy(&out->addr6.sin6_addr, ep.addr, 16);
	}
	return 0;
}

void meshnet_format_endpoint(const union meshnet_sockaddr *ep, char *out, size_t outlen)
{
	char addr[INET6_ADDRSTRLEN];

	if (ep->addr.sa_family == AF_INET) {
		inet_ntop(AF_INET, &ep->addr4.sin_addr, addr, sizeof(addr));
		snprintf(out, outlen, "%s:%u", addr, ntohs(ep->addr4.sin_port));
	} else if (ep->addr.sa_family == AF_INET6) {
		inet_ntop(AF_INET6, &ep->addr6.sin6_addr, addr, sizeof(addr));
		snprintf(out, outlen, "[%s]:%u", addr, ntohs(ep->addr6.sin6_port));
	} else {
		snprintf(out, outlen, "(none)");
	}
}

int meshnet_parse_verdict(const char *text, uint8_t *verdict, char *err, size_t errlen)
{
	if (text && !strcasecmp(text, "allowed"))
		*verdict = MESHNET_VERDICT_ALLOWED;
	else if (text && !strcasecmp(text, "denied"))
		*verdict = MESHNET_VERDICT_DENIED;
	else
		return meshnet_parse_fail(err, errlen, "unknown verdict '%s' (expected allowed or denied)",
			    text ? text : "");
	return 0;
}

const char *meshnet_verdict_name(uint8_t verdict)
{
	switch (verdict) {
	case MESHNET_VERDICT_ALLOWED:
		return "ALLOWED";
	case MESHNET_VERDICT_DENIED:
		return "DENIED";
	default:
		return "UNSPEC";
	}
}

int meshnet_parse_unknown_policy(const char *text, uint8_t *policy, char *err, size_t errlen)
{
	if (text && !strcasecmp(text, "drop"))
		*policy = MESHNET_UNKNOWN_DROP;
	else if (text && !strcasecmp(text, "allow"))
		*policy = MESHNET_UNKNOWN_ALLOW;
	else
		return meshnet_parse_fail(err, errlen, "unknown policy '%s' (expected drop or allow)",
			    text ? text : "");
	return 0;
}

const char *meshnet_unknown_policy_name(uint8_t policy)
{
	return policy == MESHNET_UNKNOWN_ALLOW ? "allow" : "drop";
}

int meshnet_parse_bool(const char *text, bool *value, char *err, size_t errlen)
{
	static const char *const yes[] = { "on", "yes", "true", "1" };
	static const char *const no[] = { "off", "no", "false", "0" };
	size_t i;

	for (i = 0; text && i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (!strcasecmp(text, yes[i])) {
			*value = true;
			return 0;
		}
		if (!strcasecmp(text, no[i])) {
			*value = false;
			return 0;
		}
	}
	return meshnet_parse_fail(err, errlen, "'%s' is not on or off", text ? text : "");
}

int meshnet_parse_name(const char *text, char name[MESHNET_NAME_LEN], char *err, size_t errlen)
{
	size_t len = text ? strlen(text) : 0;

	if (len == 0)
		return meshnet_parse_fail(err, errlen, "empty node id");
	if (len > MESHNET_NAME_LEN - 1)
		return meshnet_parse_fail(err, errlen, "node id longer than %d characters",
			    MESHNET_NAME_LEN - 1);
	if (!meshnet_node_id_valid(text))
		return meshnet_parse_fail(err, errlen,
			    "node id '%s' must match [a-z0-9][a-z0-9._-]* without '..'", text);
	memcpy(name, text, len + 1);
	return 0;
}

int meshnet_parse_reason(const char *text, char reason[MESHNET_REASON_LEN], char *err,
			 size_t errlen)
{
	size_t i, len = text ? strlen(text) : 0;

	if (len > MESHNET_REASON_LEN - 1)
		return meshnet_parse_fail(err, errlen, "reason longer than %d bytes", MESHNET_REASON_LEN - 1);
	for (i = 0; i < len; i++)
		if (iscntrl((unsigned char)text[i]))
			return meshnet_parse_fail(err, errlen, "reason contains a control character");
	if (len)
		memcpy(reason, text, len);
	reason[len] = '\0';
	return 0;
}
