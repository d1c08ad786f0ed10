// SPDX-License-Identifier: MIT
/* meshnetctl peers [--json] [--show-psk]: the verdict table. */
#include <string.h>

#include "cli.h"

static const char usage[] = "peers [--json] [--show-psk]";

struct listing {
	struct json_object *array;
	bool json, show_psk;
};

static int list_peer(const struct meshnet_peer *peer, void *arg)
{
	struct listing *l = arg;

	if (l->json)
		json_object_array_add(l->array, cli_peer_json(peer));
	else
		cli_print_peer_row(stdout, peer, l->show_psk);
	return 0;
}

int peers_main(int argc, char *argv[])
{
	struct listing l = { 0 };
	struct meshnet_nl *nl;
	int i, ret;

	if (cli_wants_help(argc, argv, usage))
		return 0;
	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--json"))
			l.json = true;
		else if (!strcmp(argv[i], "--show-psk"))
			l.show_psk = true;
		else
			return cli_usage_error("peers", usage, "unknown argument '%s'", argv[i]);
	}
	ret = cli_open("peers", &nl);
	if (ret)
		return ret;
	if (l.json)
		l.array = json_object_new_array();
	else
		cli_print_peer_header(stdout);
	if (meshnet_nl_dump_peers(nl, l.show_psk, list_peer, &l))
		ret = cli_nl_error(nl, "peers");
	else if (l.json)
		cli_print_json(stdout, l.array, true);
	json_object_put(l.array);
	meshnet_nl_close(nl);
	return ret;
}
