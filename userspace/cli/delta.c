// SPDX-License-Identifier: MIT
/* meshnetctl delta REVISION [...]: applies peer changes atomically (APPLY_DELTA). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "args.h"
#include "cli.h"
#include "nl/meshnet_epoch.h"

static const char usage[] =
	"delta REVISION [epoch ID] [valid-until UNIX_SECONDS] [force]\n"
	"       [self allowed|denied] [self-reason TEXT]\n"
	"       [allow PUBLIC_KEY [reason TEXT]]... [deny PUBLIC_KEY [reason TEXT]]...\n"
	"       [remove PUBLIC_KEY]... [peers-file FILE]\n"
	"  All changes are applied together or not at all. peers-file: an epoch file\n"
	"  (as for 'epoch apply') whose peers are added or replace the same keys.";

int delta_main(int argc, char *argv[])
{
	struct meshnet_epoch upserts = { 0 };
	struct cli_delta cd = { 0 };
	struct meshnet_nl *nl;
	char err[512];
	int ret;

	if (cli_wants_help(argc, argv, usage))
		return 0;
	cd.max = (size_t)argc;
	cd.verdicts = calloc(cd.max, sizeof(*cd.verdicts));
	cd.removes = calloc(cd.max, sizeof(*cd.removes));
	if (!cd.verdicts || !cd.removes) {
		fprintf(stderr, "%s: delta: out of memory\n", PROG_NAME);
		ret = EXIT_RUNTIME;
		goto out;
	}
	if (cli_parse_delta(argc - 1, argv + 1, &cd, err, sizeof(err))) {
		ret = cli_usage_error("delta", usage, "%s", err);
		goto out;
	}
	if (cd.peers_file) {
		if (meshnet_epoch_parse_file(cd.peers_file, &upserts, err, sizeof(err))) {
			ret = cli_usage_error("delta", usage, "peers-file %s: %s", cd.peers_file, err);
			goto out;
		}
		cd.delta.upserts = upserts.peers;
		cd.delta.n_upserts = upserts.n_peers;
	}
	ret = cli_open("delta", &nl);
	if (!ret) {
		if (meshnet_nl_apply_delta(nl, &cd.delta))
			ret = cli_nl_error(nl, "delta");
		meshnet_nl_close(nl);
	}
out:
	meshnet_epoch_free(&upserts);
	free(cd.verdicts);
	free(cd.removes);
	return ret;
}
