// SPDX-License-Identifier: MIT
/* The output of a node's --bench-cmd harness (agent_bench_parse). */
#include "../../userspace/agent/bench.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct agent_benchmark b;
	char err[256];

	agent_bench_parse((const char *)data, size, "node-a", "poc-0.1", &b, err, sizeof(err));
	return 0;
}
