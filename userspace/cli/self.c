// SPDX-License-Identifier: MIT
/* meshnetctl self verdict allowed|denied [reason TEXT]: the local node's verdict. */
#include "args.h"
#include "cli.h"

static const char usage[] = "self verdict allowed|denied [reason TEXT]";

int self_main(int argc, char *argv[])
{
	char err[512], reason[MESHNET_REASON_LEN];
	struct meshnet_nl *nl;
	uint8_t verdict;
	int ret;

	if (cli_wants_help(argc, argv, usage))
		return 0;
	if (cli_parse_self(argc - 1, argv + 1, &verdict, reason, err, sizeof(err)))
		return cli_usage_error("self", usage, "%s", err);
	ret = cli_open("self", &nl);
	if (ret)
		return ret;
	if (meshnet_nl_set_self(nl, verdict, reason[0] ? reason : NULL))
		ret = cli_nl_error(nl, "self");
	meshnet_nl_close(nl);
	return ret;
}
