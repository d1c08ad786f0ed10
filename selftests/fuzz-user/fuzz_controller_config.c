// SPDX-License-Identifier: MIT
/* meshnetd's config file (CONFIG_FILE / --config): KEY=VALUE lines. */
#include <stdio.h>
#include <unistd.h>

#include "../../userspace/controller/config.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct controller_config defaults;
	static int ready;
	struct controller_config cfg;
	char *text;

	if (!ready) {
		unsetenv("CONFIG_FILE");
		if (controller_config_load(&defaults, 0, NULL))
			abort();
		ready = 1;
	}
	text = fuzz_strndup(data, size);
	if (!text)
		return 0;
	cfg = defaults;
	controller_config_parse_text(&cfg, text, "fuzz.conf");
	free(text);
	return 0;
}
