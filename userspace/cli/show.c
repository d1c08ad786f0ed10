// SPDX-License-Identifier: MIT
/*
 * meshnetctl show [--json] [--show-psk] [DEVICE [FIELD]]: the module's state
 * followed by its peers, like wg(8)'s show. With DEVICE (an attached
 * WireGuard device) only if it is attached; with FIELD one value per line in
 * wg's style (tab-separated, full base64 keys), for scripts.
 */
#include <inttypes.h>
#include <string.h>

#include "cli.h"
#include "nl/meshnet_parse.h"
#include "timefmt.h"

static const char usage[] = "show [--json] [--show-psk] [DEVICE [FIELD]]\n"
	"  FIELD: epoch | expiry | self | policy | devices | peers | verdicts | allowed-ips |\n"
	"         endpoints | transfer | drops | preshared-keys";

enum field { F_ALL, F_EPOCH, F_EXPIRY, F_SELF, F_POLICY, F_DEVICES, F_PEERS, F_VERDICTS,
	     F_ALLOWED_IPS, F_ENDPOINTS, F_TRANSFER, F_DROPS, F_PSKS };

static const char *const field_names[] = {
	[F_EPOCH] = "epoch", [F_EXPIRY] = "expiry", [F_SELF] = "self", [F_POLICY] = "policy",
	[F_DEVICES] = "devices", [F_PEERS] = "peers", [F_VERDICTS] = "verdicts",
	[F_ALLOWED_IPS] = "allowed-ips", [F_ENDPOINTS] = "endpoints", [F_TRANSFER] = "transfer",
	[F_DROPS] = "drops", [F_PSKS] = "preshared-keys",
};

struct collect {
	struct json_object *array;
	bool json, show_psk, header_done;
	enum field field;
};

/* One line of a per-peer FIELD: "<public key>\t<value>". */
static void print_peer_field(const struct meshnet_peer *p, enum field f)
{
	char key[MESHNET_KEY_B64_LEN], text[MESHNET_ENDPOINT_STRLEN];

	meshnet_format_key(p->public_key, key);
	if (f == F_PEERS) {
		printf("%s\n", key);
		return;
	}
	printf("%s\t", key);
	switch (f) {
	case F_VERDICTS:
		printf("%s\t%s\n", meshnet_verdict_name(p->verdict),
		       p->flags & MESHNET_PEER_HAS_REASON ? p->reason : "");
		break;
	case F_ALLOWED_IPS:
		for (size_t i = 0; i < p->n_allowedips; i++) {
			meshnet_format_allowedip(&p->allowedips[i], text, sizeof(text));
			printf("%s%s", i ? " " : "", text);
		}
		printf("%s\n", p->n_allowedips ? "" : "(none)");
		break;
	case F_ENDPOINTS:
		if (p->flags & MESHNET_PEER_HAS_ENDPOINT)
			meshnet_format_endpoint(&p->endpoint, text, sizeof(text));
		printf("%s\n", p->flags & MESHNET_PEER_HAS_ENDPOINT ? text : "(none)");
		break;
	case F_TRANSFER:
		printf("%" PRIu64 "\t%" PRIu64 "\n", p->counters.rx_bytes, p->counters.tx_bytes);
		break;
	case F_DROPS:
		printf("%" PRIu64 "\t%" PRIu64 "\t%" PRIu64 "\n", p->counters.rx_drop_packets,
		       p->counters.tx_drop_packets, p->counters.endpoint_drop_packets);
		break;
	default: /* F_PSKS */
		if (p->flags & MESHNET_PEER_HAS_PSK) {
			meshnet_format_key(p->psk, text);
			printf("%s\n", text);
		} else {
			printf("%s\n", p->flags & MESHNET_PEER_PSK_SET ? "(set)" : "(none)");
		}
		break;
	}
}

static int collect_peer(const struct meshnet_peer *peer, void *arg)
{
	struct collect *c = arg;

	if (c->field != F_ALL) {
		print_peer_field(peer, c->field);
		return 0;
	}
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

/* A FIELD of the module's own state. */
static void print_state_field(const struct meshnet_state *st, enum field f)
{
	char when[MESHNET_RFC3339_LEN];

	switch (f) {
	case F_EPOCH:
		printf("%" PRIu64 "\n", st->epoch_id);
		break;
	case F_EXPIRY:
		meshnet_rfc3339_format(when, (int64_t)st->epoch_expiry);
		printf("%" PRIu64 "\t%s\t%s\n", st->epoch_expiry, st->epoch_expiry ? when : "-",
		       st->expired ? "expired" : "valid");
		break;
	case F_SELF:
		printf("%s\t%s\n", meshnet_verdict_name(st->self_verdict), st->self_reason);
		break;
	case F_POLICY:
		printf("unknown\t%s\nfail-closed\t%s\ngrace\t%" PRIu32 "\nendpoint-drop\t%s\n",
		       meshnet_unknown_policy_name(st->policy.unknown),
		       st->policy.fail_closed ? "on" : "off", st->policy.grace,
		       st->policy.endpoint_drop ? "on" : "off");
		break;
	default: /* F_DEVICES */
		for (size_t i = 0; i < st->n_devices; i++)
			printf("%s\t%" PRIu32 "\n", st->devices[i].ifname, st->devices[i].ifindex);
		break;
	}
}

static bool is_peer_field(enum field f)
{
	return f >= F_PEERS;
}

int show_main(int argc, char *argv[])
{
	struct collect c = { 0 };
	struct meshnet_state state;
	struct json_object *out = NULL;
	const char *dev = NULL, *field = NULL;
	struct meshnet_nl *nl;
	int i, ret;

	if (cli_wants_help(argc, argv, usage))
		return 0;
	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--json"))
			c.json = true;
		else if (!strcmp(argv[i], "--show-psk"))
			c.show_psk = true;
		else if (argv[i][0] == '-')
			return cli_usage_error("show", usage, "unknown argument '%s'", argv[i]);
		else if (!dev)
			dev = argv[i];
		else if (!field)
			field = argv[i];
		else
			return cli_usage_error("show", usage, "unexpected argument '%s'", argv[i]);
	}
	if (dev && (strlen(dev) >= IF_NAMESIZE || strchr(dev, '/')))
		return cli_usage_error("show", usage, "bad device name '%s'", dev);
	if (field) {
		for (size_t f = 1; f < sizeof(field_names) / sizeof(field_names[0]); f++)
			if (!strcmp(field, field_names[f]))
				c.field = (enum field)f;
		if (c.field == F_ALL)
			return cli_usage_error("show", usage, "unknown field '%s'", field);
		if (c.json)
			return cli_usage_error("show", usage, "--json shows every field, not '%s'",
					       field);
		if (c.field == F_PSKS)
			c.show_psk = true; /* the field is the keys; the module checks CAP_NET_ADMIN */
	}
	ret = cli_open("show", &nl);
	if (ret)
		return ret;
	if (meshnet_nl_get_state(nl, &state)) {
		ret = cli_nl_error(nl, "show");
		goto out;
	}
	if (dev) {
		bool attached = false;

		for (size_t d = 0; d < state.n_devices; d++)
			attached |= !strcmp(state.devices[d].ifname, dev);
		if (!attached) {
			fprintf(stderr, "%s: show: %s is not attached to the meshnet module "
				"(meshnetctl attach %s)\n", PROG_NAME, dev, dev);
			ret = EXIT_RUNTIME;
			goto out;
		}
	}
	if (c.field != F_ALL && !is_peer_field(c.field)) {
		print_state_field(&state, c.field);
		goto out;
	}
	if (c.json) {
		out = cli_state_json(&state);
		c.array = json_object_new_array();
		json_object_object_add(out, "peers", c.array);
	} else if (c.field == F_ALL) {
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
