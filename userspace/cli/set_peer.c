// SPDX-License-Identifier: MIT
/* meshnetctl set-peer KEY verdict V [...]: add or replace one peer between epochs. */
#include <stdlib.h>

#include <openssl/crypto.h>

#include "args.h"
#include "cli.h"

static const char usage[] =
	"set-peer PUBLIC_KEY verdict allowed|denied [allowed-ips PREFIX[,PREFIX...]]\n"
	"       [endpoint IP:PORT|[IP6]:PORT] [name NODE_ID] [reason TEXT] [psk-file FILE]";

int set_peer_main(int argc, char *argv[])
{
	struct meshnet_peer *peer;
	struct meshnet_nl *nl;
	char err[512];
	int ret;

	if (cli_wants_help(argc, argv, usage))
		return 0;
	peer = calloc(1, sizeof(*peer));
	if (!peer) {
		fprintf(stderr, "%s: set-peer: out of memory\n", PROG_NAME);
		return EXIT_RUNTIME;
	}
	if (cli_parse_set_peer(argc - 1, argv + 1, peer, err, sizeof(err))) {
		free(peer);
		return cli_usage_error("set-peer", usage, "%s", err);
	}
	ret = cli_open("set-peer", &nl);
	if (!ret) {
		if (meshnet_nl_set_peer(nl, peer))
			ret = cli_nl_error(nl, "set-peer");
		meshnet_nl_close(nl);
	}
	OPENSSL_cleanse(peer, sizeof(*peer));
	free(peer);
	return ret;
}
