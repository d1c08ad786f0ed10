// SPDX-License-Identifier: MIT
/*
 * Request targets as meshnetd routes them (userspace/controller/router.c):
 * the first line is the method, the second the target; every query value
 * goes through the strict number parser.
 */
#include <stdio.h>

#include "../../userspace/controller/router.h"
#include "fuzz.h"

static const struct route_pattern patterns[] = {
	{ "GET", "/health" },
	{ "GET", "/metrics" },
	{ "GET", "/v1/epoch" },
	{ "POST", "/v1/benchmarks/{node_id}" },
	{ "GET", "/v1/config/{node_id}" },
	{ "POST", "/v1/rotate" },
	{ "POST", "/v1/nodes" },
	{ "DELETE", "/v1/nodes/{node_id}" },
	{ "PUT", "/v1/nodes/{node_id}/override" },
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = fuzz_strndup(data, size), *f[2], id[80], allow[64], *q, *save = NULL;
	long i;

	if (!buf)
		return 0;
	fuzz_split(buf, f, 2);
	i = router_match(patterns, sizeof(patterns) / sizeof(patterns[0]), sizeof(patterns[0]),
			 f[0], f[1], id, sizeof(id), allow, sizeof(allow));
	if (i >= 0 && strcmp(patterns[i].method, f[0]))
		abort();
	q = strchr(f[1], '?');
	if (q) {
		char *kv;

		for (kv = strtok_r(q + 1, "&", &save); kv; kv = strtok_r(NULL, "&", &save)) {
			char *eq = strchr(kv, '=');
			uint64_t v;

			if (eq && !router_parse_uint(eq + 1, 60, &v) && v > 60)
				abort();
		}
	}
	free(buf);
	return 0;
}
