// SPDX-License-Identifier: MIT
/*
 * The small parsers every outside string goes through: node ids, overlay
 * prefixes, endpoints, RFC 3339 times, base64 keys and hex nonces
 * (userspace/lib/ids.c, timefmt.c, b64.c).
 */
#include "b64.h"
#include "fuzz.h"
#include "ids.h"
#include "timefmt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct meshnet_endpoint ep;
	struct meshnet_prefix p;
	char *s = fuzz_strndup(data, size), out[MESHNET_RFC3339_LEN];
	uint8_t raw[64];
	int64_t t;

	if (!s)
		return 0;
	meshnet_node_id_valid(s);
	meshnet_prefix_parse(s, &p);
	meshnet_endpoint_parse(s, &ep);
	if (!meshnet_rfc3339_parse(s, &t))
		meshnet_rfc3339_format(out, t);
	meshnet_b64_decode_exact(raw, 32, s);
	meshnet_hex_decode(raw, 16, s);
	free(s);
	return 0;
}
