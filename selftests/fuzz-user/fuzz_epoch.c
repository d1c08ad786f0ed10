// SPDX-License-Identifier: MIT
/*
 * Config replies as meshnet-agent reads them and epoch files as
 * `meshnetctl epoch apply|check` reads them: one parser,
 * meshnet_epoch_parse() (userspace/lib/nl/epoch_json.c).
 */
#include "fuzz.h"
#include "nl/meshnet_epoch.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct meshnet_epoch e;
	char err[256];

	memset(&e, 0, sizeof(e));
	if (!meshnet_epoch_parse((const char *)data, size, &e, err, sizeof(err)))
		meshnet_epoch_free(&e);
	return 0;
}
