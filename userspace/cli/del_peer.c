// SPDX-License-Identifier: MIT
/* meshnetctl del-peer KEY: remove one peer. */
#include "args.h"
#include "cli.h"

static const char usage[] = "del-peer PUBLIC_KEY";

int del_peer_main(int argc, char *argv[])
{
	uint8_t key[MESHNET_KEY_LEN];
	struct meshnet_nl *nl;
	char err[512];
	int ret;

	if (cli_wants_help(argc, argv, usage))
		return 0;
	if (argc != 2)
		return cli_usage_error("del-peer", usage, "expected one public key");
	if (cli_parse_key_arg(argv[1], key, err, sizeof(err)))
		return cli_usage_error("del-peer", usage, "%s", err);
	ret = cli_open("del-peer", &nl);
	if (ret)
		return ret;
	if (meshnet_nl_del_peer(nl, key))
		ret = cli_nl_error(nl, "del-peer");
	meshnet_nl_close(nl);
	return ret;
}
