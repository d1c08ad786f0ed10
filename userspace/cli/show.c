// SPDX-License-Identifier: MIT
/* meshnetctl show [--json]: the module's state followed by its peers. */
#include <string.h>

#include "cli.h"

static const char usage[] = "show [--json] [--show-psk]";

struct collect {
	struct json_object *array;
	bool json, show_psk, header_done;
};

static int collect_peer(const struct meshnet_peer *peer, void *arg)
{
	struct collect *c = arg;

	if (c->json) {
		json_object_array_add(c->array, cli_peer_json(peer));
		return 0;
	}
	if (!c->header_done) {
		printf("\n");
		cli_print_peer_header(stdout);
		c->header_done = true;
	}
	cli_print_peer_row(stdout, peer, c->show_psk);
	return 0;
}

int show_main(int argc, char *argv[])
{
	struct collect c = { 0 };
	struct meshnet_state state;
	struct json_object *out = NULL;
	struct meshnet_nl *nl;
	int i, ret;

	if (cli_wants_help(argc, argv, usage))
		return 0;
	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--json"))
			c.json = true;
		else if (!strcmp(argv[i], "--show-psk"))
			c.show_psk = true;
		else
			return cli_usage_error("show", usage, "unknown argument '%s'", argv[i]);
	}
	ret = cli_open("show", &nl);
	if (ret)
		return ret;
	if (meshnet_nl_get_state(nl, &state)) {
		ret = cli_nl_error(nl, "show");
		goto out;
	}
	if (c.json) {
		out = cli_state_json(&state);
		c.array = json_object_new_array();
		json_object_object_add(out, "peers", c.array);
	} else {
		cli_print_state(stdout, &state);
	}
	if (meshnet_nl_dump_peers(nl, c.show_psk, collect_peer, &c)) {
		ret = cli_nl_error(nl, "show: peers");
		goto out;
	}
	if (out)
		cli_print_json(stdout, out, true);
out:
	json_object_put(out);
	meshnet_nl_close(nl);
	return ret;
}
