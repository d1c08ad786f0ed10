// SPDX-License-Identifier: MIT
/* meshnetctl policy [unknown drop|allow] [fail-closed on|off] [grace S] [endpoint-drop on|off] */
#include "args.h"
#include "cli.h"

static const char usage[] =
	"policy [unknown drop|allow] [fail-closed on|off] [grace SECONDS] [endpoint-drop on|off]";

int policy_main(int argc, char *argv[])
{
	struct meshnet_policy policy;
	struct meshnet_nl *nl;
	char err[512];
	int ret;

	if (cli_wants_help(argc, argv, usage))
		return 0;
	if (cli_parse_policy(argc - 1, argv + 1, &policy, err, sizeof(err)))
		return cli_usage_error("policy", usage, "%s", err);
	ret = cli_open("policy", &nl);
	if (ret)
		return ret;
	if (meshnet_nl_set_policy(nl, &policy))
		ret = cli_nl_error(nl, "policy");
	meshnet_nl_close(nl);
	return ret;
}
