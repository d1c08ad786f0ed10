// SPDX-License-Identifier: MIT
/*
 * meshnetctl: inspect and control the meshnet kernel module over generic
 * netlink. One file per subcommand, each with a *_main(argc, argv).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "version.h"

static const struct {
	const char *name;
	int (*main)(int argc, char *argv[]);
	const char *description;
} subcommands[] = {
	{ "show", show_main, "Shows the module's state and its peers" },
	{ "peers", peers_main, "Lists the peers of the verdict table" },
	{ "monitor", monitor_main, "Prints verdict, epoch and expiry notifications" },
	{ "attach", attach_main, "Starts enforcing on a WireGuard device" },
	{ "detach", detach_main, "Stops enforcing on a device" },
	{ "policy", policy_main, "Sets the unknown-peer, fail-closed, grace and endpoint-drop policy" },
	{ "self", self_main, "Sets the local node's own verdict" },
	{ "set-peer", set_peer_main, "Adds or replaces one peer between epochs" },
	{ "del-peer", del_peer_main, "Removes one peer" },
	{ "epoch", epoch_main, "Applies an epoch file as one transaction, or aborts one" },
	{ "delta", delta_main, "Applies verdict changes, removals and additions atomically" },
	{ "reset-counters", reset_counters_main, "Zeroes packet counters" },
	{ "help", help_main, "Shows this help" },
};

int help_main(int argc, char *argv[])
{
	size_t i;

	(void)argc;
	(void)argv;
	printf("Usage: %s [<subcommand> [<args>]]   (no subcommand: show)\n\nSubcommands:\n",
	       PROG_NAME);
	for (i = 0; i < sizeof(subcommands) / sizeof(subcommands[0]); i++)
		printf("  %-15s %s\n", subcommands[i].name, subcommands[i].description);
	printf("\nEvery subcommand takes --help. Exit status: 0 success, %d failure, %d bad usage.\n",
	       EXIT_RUNTIME, EXIT_USAGE);
	return 0;
}

bool cli_wants_help(int argc, char *argv[], const char *usage)
{
	int i;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			printf("Usage: %s %s\n", PROG_NAME, usage);
			return true;
		}
	}
	return false;
}

int cli_usage_error(const char *subcommand, const char *usage, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: %s: ", PROG_NAME, subcommand);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nUsage: %s %s\n", PROG_NAME, usage);
	return EXIT_USAGE;
}

int cli_open(const char *subcommand, struct meshnet_nl **nl)
{
	char err[512];

	if (meshnet_nl_open(nl, err, sizeof(err))) {
		fprintf(stderr, "%s: %s: %s\n", PROG_NAME, subcommand, err);
		return EXIT_RUNTIME;
	}
	return 0;
}

int cli_nl_error(struct meshnet_nl *nl, const char *what)
{
	fprintf(stderr, "%s: %s: %s\n", PROG_NAME, what, meshnet_nl_error(nl));
	return EXIT_RUNTIME;
}

int main(int argc, char *argv[])
{
	size_t i;

	if (argc < 2)	/* like wg(8): no arguments shows everything */
		return show_main(argc, argv);
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))
		return help_main(argc - 1, argv + 1);
	if (!strcmp(argv[1], "--version")) {
		printf("%s %s (meshnet genl family version %d)\n", PROG_NAME, MESHNET_VERSION,
		       MESHNET_GENL_VERSION);
		return 0;
	}
	for (i = 0; i < sizeof(subcommands) / sizeof(subcommands[0]); i++)
		if (!strcmp(argv[1], subcommands[i].name))
			return subcommands[i].main(argc - 1, argv + 1);
	fprintf(stderr, "%s: unknown subcommand '%s' (try '%s help')\n", PROG_NAME, argv[1],
		PROG_NAME);
	return EXIT_USAGE;
}
