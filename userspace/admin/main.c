// SPDX-License-Identifier: MIT
/*
 * meshnet-admin [--controller URL] [--token-file FILE] [--ca FILE] [--json]
 *               SUBCOMMAND [ARGS]
 * The subcommand table; each subcommand is in nodes.c or mesh.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>

#include "admin.h"
#include "version.h"

static const struct {
	const char *name;
	int (*main)(int argc, char **argv);
	const char *description;
} subcommands[] = {
	{ "status", status_main, "Shows the controller: epoch, node counts, audit head, rules" },
	{ "nodes", nodes_main, "Lists the nodes with verdict, reason, last benchmark, last seen" },
	{ "node", node_main, "Shows one node with its score history against the thresholds" },
	{ "enrol", enrol_main, "Issues a one-time join token for a new node (its keys stay on it)" },
	{ "remove", remove_main, "Removes a node from the mesh" },
	{ "pin", pin_main, "Pins a node ALLOWED or DENIED, whatever its scores" },
	{ "unpin", unpin_main, "Clears a node's pin: its scores decide again" },
	{ "rotate", rotate_main, "Starts a new epoch now" },
	{ "epochs", epochs_main, "Shows the current epoch and the rotation schedule" },
	{ "audit", audit_main, "Shows the audit log's last records, or verifies a copy of it" },
	{ "evaluators", evaluators_main, "Lists the evaluators whose attestations can count" },
	{ "evaluator", evaluator_main, "Enrols (add ID PUBKEY) or removes (remove ID) an evaluator" },
	{ "policy", policy_main, "Shows the policy, installs one from a file (set), or reloads it" },
	{ "help", help_main, "Shows this help" },
};

#define N_SUBCOMMANDS (sizeof(subcommands) / sizeof(subcommands[0]))

int help_main(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	printf("Usage: %s [--controller URL] [--token-file FILE] [--ca FILE] [--json] "
	       "<subcommand> [<args>]\n\nSubcommands:\n", PROG_NAME);
	for (size_t i = 0; i < N_SUBCOMMANDS; i++)
		printf("  %-8s %s\n", subcommands[i].name, subcommands[i].description);
	printf("\nDefaults: --controller $MESHNET_CONTROLLER or https://127.0.0.1:8443,\n"
	       "--token-file $MESHNET_ADMIN_TOKEN_FILE or /etc/meshnet/admin.token,\n"
	       "--ca $MESHNET_CA or /etc/meshnet/tls/ca.crt when it exists.\n"
	       "Every subcommand takes --help. Exit status: 0 success, %d failure, %d bad usage.\n",
	       EXIT_RUNTIME, EXIT_USAGE);
	return 0;
}

static const char *env_or(const char *name, const char *def)
{
	const char *v = getenv(name);

	return v && *v ? v : def;
}

int main(int argc, char **argv)
{
	int i, ret;

	admin_opts.controller = env_or("MESHNET_CONTROLLER", "https://127.0.0.1:8443");
	admin_opts.token_file = env_or("MESHNET_ADMIN_TOKEN_FILE", "/etc/meshnet/admin.token");
	admin_opts.ca_file = env_or("MESHNET_CA", access("/etc/meshnet/tls/ca.crt", R_OK) ? NULL :
				    "/etc/meshnet/tls/ca.crt");
	admin_opts.timeout = 15;
	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "--json")) {
			admin_opts.json = true;
		} else if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			return help_main(argc, argv);
		} else if (!strcmp(a, "--version")) {
			printf("%s %s\n", PROG_NAME, MESHNET_VERSION);
			return 0;
		} else if (!strcmp(a, "--controller") || !strcmp(a, "--token-file") ||
			   !strcmp(a, "--ca")) {
			if (i + 1 >= argc) {
				fprintf(stderr, "%s: %s needs a value\n", PROG_NAME, a);
				return EXIT_USAGE;
			}
			if (!strcmp(a, "--controller"))
				admin_opts.controller = argv[++i];
			else if (!strcmp(a, "--token-file"))
				admin_opts.token_file = argv[++i];
			else
				admin_opts.ca_file = argv[++i];
		} else {
			fprintf(stderr, "%s: unknown option '%s' (try '%s help')\n", PROG_NAME, a,
				PROG_NAME);
			return EXIT_USAGE;
		}
	}
	if (strncmp(admin_opts.controller, "https://", 8) &&
	    strncmp(admin_opts.controller, "http://", 7)) {
		fprintf(stderr, "%s: --controller '%s' is not an http:// or https:// URL\n",
			PROG_NAME, admin_opts.controller);
		return EXIT_USAGE;
	}
	if (i >= argc) {
		help_main(argc, argv);
		return EXIT_USAGE;
	}
	for (size_t k = 0; k < N_SUBCOMMANDS; k++) {
		if (strcmp(argv[i], subcommands[k].name))
			continue;
		curl_global_init(CURL_GLOBAL_DEFAULT);
		ret = subcommands[k].main(argc - i, argv + i);
		curl_global_cleanup();
		return ret;
	}
	fprintf(stderr, "%s: unknown subcommand '%s' (try '%s help')\n", PROG_NAME, argv[i],
		PROG_NAME);
	return EXIT_USAGE;
}
