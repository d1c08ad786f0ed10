// SPDX-License-Identifier: MIT
/* meshnet-agent's config file (--config): KEY=VALUE lines, then validation. */
#include <stdio.h>

#include "../../userspace/agent/options.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct agent_options o;
	char err[512];
	FILE *f;

	if (!size)
		return 0;
	f = fmemopen((void *)data, size, "r");
	if (!f)
		return 0;
	agent_options_defaults(&o);
	if (!agent_options_load_stream(&o, f, "fuzz.conf", err, sizeof(err)))
		agent_options_validate(&o, err, sizeof(err));
	fclose(f);
	return 0;
}
