// SPDX-License-Identifier: MIT
/*
 * meshnetctl epoch apply FILE.json [--force] | epoch check FILE.json |
 * epoch abort [EPOCH_ID]. FILE is the config reply of docs/PROTOCOL.md
 * ("-" for standard input); apply installs it as one transaction.
 */
#include <inttypes.h>
#include <string.h>

#include "cli.h"
#include "nl/meshnet_epoch.h"
#include "nl/meshnet_parse.h"

static const char usage[] =
	"epoch apply FILE.json [--force] | epoch check FILE.json | epoch abort [EPOCH_ID]";

static int load(const char *sub, const char *path, struct meshnet_epoch *epoch)
{
	char err[512];

	if (meshnet_epoch_parse_file(path, epoch, err, sizeof(err))) {
		fprintf(stderr, "%s: epoch %s: %s: %s\n", PROG_NAME, sub, path, err);
		return EXIT_USAGE;
	}
	return 0;
}

static int epoch_apply(int argc, char *argv[])
{
	struct meshnet_epoch epoch;
	const char *path = NULL;
	struct meshnet_nl *nl;
	bool force = false;
	int i, ret;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--force"))
			force = true;
		else if (!path)
			path = argv[i];
		else
			return cli_usage_error("epoch apply", usage, "unexpected argument '%s'",
					       argv[i]);
	}
	if (!path)
		return cli_usage_error("epoch apply", usage, "missing FILE.json");
	ret = load("apply", path, &epoch);
	if (ret)
		return ret;
	ret = cli_open("epoch apply", &nl);
	if (ret)
		goto out;
	if (meshnet_nl_apply_epoch(nl, &epoch, force)) {
		ret = cli_nl_error(nl, "epoch apply");
	} else {
		printf("epoch %" PRIu64 " applied: %zu peer%s in %u message%s, self %s\n",
		       epoch.id, epoch.n_peers, epoch.n_peers == 1 ? "" : "s",
		       meshnet_nl_last_batches(nl),
		       meshnet_nl_last_batches(nl) == 1 ? "" : "s",
		       meshnet_verdict_name(epoch.self_verdict));
	}
	meshnet_nl_close(nl);
out:
	meshnet_epoch_free(&epoch);
	return ret;
}

static int epoch_check(int argc, char *argv[])
{
	struct meshnet_epoch epoch;
	size_t i, denied = 0;
	int ret;

	if (argc != 2)
		return cli_usage_error("epoch check", usage, "expected one FILE.json");
	ret = load("check", argv[1], &epoch);
	if (ret)
		return ret;
	for (i = 0; i < epoch.n_peers; i++)
		denied += epoch.peers[i].verdict == MESHNET_VERDICT_DENIED;
	printf("epoch %" PRIu64 " expiry %" PRIu64 " self %s: %zu peers (%zu denied)\n", epoch.id,
	       epoch.expiry_unix, meshnet_verdict_name(epoch.self_verdict), epoch.n_peers,
	       denied);
	meshnet_epoch_free(&epoch);
	return 0;
}

static int epoch_abort(int argc, char *argv[])
{
	struct meshnet_nl *nl;
	uint64_t id = 0;
	char err[256];
	int ret;

	if (argc > 2)
		return cli_usage_error("epoch abort", usage, "expected at most one EPOCH_ID");
	if (argc == 2 && (meshnet_parse_u64(argv[1], UINT64_MAX, &id, err, sizeof(err)) || !id))
		return cli_usage_error("epoch abort", usage, "bad EPOCH_ID '%s'", argv[1]);
	ret = cli_open("epoch abort", &nl);
	if (ret)
		return ret;
	if (meshnet_nl_epoch_abort(nl, id))
		ret = cli_nl_error(nl, "epoch abort");
	meshnet_nl_close(nl);
	return ret;
}

int epoch_main(int argc, char *argv[])
{
	if (cli_wants_help(argc, argv, usage))
		return 0;
	if (argc < 2)
		return cli_usage_error("epoch", usage, "missing apply, check or abort");
	if (!strcmp(argv[1], "apply"))
		return epoch_apply(argc - 1, argv + 1);
	if (!strcmp(argv[1], "check"))
		return epoch_check(argc - 1, argv + 1);
	if (!strcmp(argv[1], "abort"))
		return epoch_abort(argc - 1, argv + 1);
	return cli_usage_error("epoch", usage, "unknown epoch subcommand '%s'", argv[1]);
}
