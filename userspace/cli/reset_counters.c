// SPDX-License-Identifier: MIT
/* meshnetctl reset-counters [PUBLIC_KEY]: zero one peer's counters or all. */
#include "args.h"
#include "cli.h"

static const char usage[] = "reset-counters [PUBLIC_KEY]";

int reset_counters_main(int argc, char *argv[])
{
	uint8_t key[MESHNET_KEY_LEN];
	struct meshnet_nl *nl;
	char err[512];
	int ret;

	if (cli_wants_help(argc, argv, usage))
		return 0;
	if (argc > 2)
		return cli_usage_error("reset-counters", usage, "expected at most one public key");
	if (argc == 2 && cli_parse_key_arg(argv[1], key, err, sizeof(err)))
		return cli_usage_error("reset-counters", usage, "%s", err);
	ret = cli_open("reset-counters", &nl);
	if (ret)
		return ret;
	if (meshnet_nl_reset_counters(nl, argc == 2 ? key : NULL))
		ret = cli_nl_error(nl, "reset-counters");
	meshnet_nl_close(nl);
	return ret;
}
