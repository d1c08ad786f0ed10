// SPDX-License-Identifier: MIT
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "ids.h"

bool meshnet_node_id_valid(const char *id)
{
	size_t i, len;

	if (!id)
		return false;
	len = strlen(id);
	if (len < 1 || len > 63)
		return false;
	if (!((id[0] >= 'a' && id[0] <= 'z') || (id[0] >= '0' && id[0] <= '9')))
		return false;
	for (i = 1; i < len; i++) {
		char c = id[i];

		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '-'))
			return false;
	}
	return strstr(id, "..") == NULL;
}

static int parse_uint(const char *s, unsigned long max, unsigned long *out)
{
	char *end;

	if (!*s || *s < '0' || *s > '9' || strlen(s) > 5)
		return -1;
	*out = strtoul(s, &end, 10);
	return *end || *out > max ? -1 : 0;
}

int meshnet_prefix_parse(const char *s, struct meshnet_prefix *out)
{
	char buf[64];
	const char *slash;
	unsigned long len;
	size_t alen, i, bits;

	if (!s || !(slash = strchr(s, '/')) || (size_t)(slash - s) >= sizeof(buf))
		return -1;
	memcpy(buf, s, slash - s);
	buf[slash - s] = '\0';
	memset(out, 0, sizeof(*out));
	if (inet_pton(AF_INET, buf, out->addr) == 1) {
		out->family = AF_INET;
		alen = 4;
	} else if (inet_pton(AF_INET6, buf, out->addr) == 1) {
		out->family = AF_INET6;
		alen = 16;
	} else {
		return -1;
	}
	if (parse_uint(slash + 1, alen * 8, &len))
		return -1;
	out->len = (uint8_t)len;
	for (i = 0; i < alen; i++) {
		bits = i * 8;
		if (bits >= len) {
			if (out->addr[i])
				return -1;
		} else if (bits + 8 > len) {
			uint8_t mask = (uint8_t)(0xff >> (len - bits));

			if (out->addr[i] & mask)
				return -1;
		}
	}
	return 0;
}

int meshnet_endpoint_parse(const char *s, struct meshnet_endpoint *out)
{
	char buf[64];
	const char *colon;
	unsigned long port;

	if (!s)
		return -1;
	memset(out, 0, sizeof(*out));
	if (s[0] == '[') {
		const char *close = strchr(s, ']');

		if (!close || close[1] != ':' || (size_t)(close - s - 1) >= sizeof(buf))
			return -1;
		memcpy(buf, s + 1, close - s - 1);
		buf[close - s - 1] = '\0';
		if (inet_pton(AF_INET6, buf, out->addr) != 1)
			return -1;
		out->family = AF_INET6;
		colon = close + 1;
	} else {
		colon = strrchr(s, ':');
		if (!colon || (size_t)(colon - s) >= sizeof(buf))
			return -1;
		memcpy(buf, s, colon - s);
		buf[colon - s] = '\0';
		if (inet_pton(AF_INET, buf, out->addr) != 1)
			return -1;
		out->family = AF_INET;
	}
	if (parse_uint(colon + 1, 65535, &port) || port == 0)
		return -1;
	out->port = (uint16_t)port;
	return 0;
}

uint64_t meshnet_id_hash(const char *id)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (; *id; id++) {
		h ^= (uint8_t)*id;
		h *= 0x100000001b3ull;
	}
	return h;
}
