// SPDX-License-Identifier: MIT
/*
 * POST /v1/benchmarks/{node_id} bodies as meshnetd reads them: the strict
 * JSON parse, then the benchmark spec (benchmark_parse, verdicts.c).
 */
#include "../../userspace/controller/controller.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct json_object *obj;
	struct api_error err;
	struct benchmark b;

	obj = controller_parse_json_body((const char *)data, size, &err);
	if (!obj)
		return 0;
	if (!benchmark_parse(obj, "node-a", 1767225600, 30, &b, &err) &&
	    (b.scores.overall < 0 || b.scores.overall > 1))
		abort();
	json_object_put(obj);
	return 0;
}
