// SPDX-License-Identifier: MIT
/* meshnetctl attach IFNAME: start enforcing on a WireGuard device. */
#include <net/if.h>
#include <string.h>

#include "cli.h"

static const char usage[] = "attach IFNAME";

int attach_main(int argc, char *argv[])
{
	struct meshnet_nl *nl;
	char what[64];
	int ret;

	if (cli_wants_help(argc, argv, usage))
		return 0;
	if (argc != 2)
		return cli_usage_error("attach", usage, "expected one device name");
	if (!*argv[1] || strlen(argv[1]) >= IF_NAMESIZE)
		return cli_usage_error("attach", usage, "bad device name '%s'", argv[1]);
	ret = cli_open("attach", &nl);
	if (ret)
		return ret;
	snprintf(what, sizeof(what), "attach %s", argv[1]);
	if (meshnet_nl_attach(nl, argv[1]))
		ret = cli_nl_error(nl, what);
	meshnet_nl_close(nl);
	return ret;
}
