// SPDX-License-Identifier: MIT
/* Human tables and JSON objects for the state, the peers and counters. */
#include <inttypes.h>
#include <string.h>

#include "cli.h"
#include "nl/meshnet_parse.h"
#include "timefmt.h"

struct json_object *cli_counters_json(const struct meshnet_counters *c)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "rx_packets", json_object_new_uint64(c->rx_packets));
	json_object_object_add(o, "rx_bytes", json_object_new_uint64(c->rx_bytes));
	json_object_object_add(o, "tx_packets", json_object_new_uint64(c->tx_packets));
	json_object_object_add(o, "tx_bytes", json_object_new_uint64(c->tx_bytes));
	json_object_object_add(o, "rx_drop_packets", json_object_new_uint64(c->rx_drop_packets));
	json_object_object_add(o, "rx_drop_bytes", json_object_new_uint64(c->rx_drop_bytes));
	json_object_object_add(o, "tx_drop_packets", json_object_new_uint64(c->tx_drop_packets));
	json_object_object_add(o, "tx_drop_bytes", json_object_new_uint64(c->tx_drop_bytes));
	json_object_object_add(o, "endpoint_drop_packets",
			       json_object_new_uint64(c->endpoint_drop_packets));
	return o;
}

struct json_object *cli_peer_json(const struct meshnet_peer *peer)
{
	struct json_object *o = json_object_new_object(), *ips;
	char key[MESHNET_KEY_B64_LEN], text[MESHNET_ENDPOINT_STRLEN];
	size_t i;

	meshnet_format_key(peer->public_key, key);
	json_object_object_add(o, "name", peer->flags & MESHNET_PEER_HAS_NAME ?
			       json_object_new_string(peer->name) : NULL);
	json_object_object_add(o, "public_key", json_object_new_string(key));
	json_object_object_add(o, "verdict",
			       json_object_new_string(meshnet_verdict_name(peer->verdict)));
	json_object_object_add(o, "reason", peer->flags & MESHNET_PEER_HAS_REASON ?
			       json_object_new_string(peer->reason) : NULL);
	json_object_object_add(o, "epoch", json_object_new_uint64(peer->epoch));
	if (peer->flags & MESHNET_PEER_HAS_ENDPOINT) {
		meshnet_format_endpoint(&peer->endpoint, text, sizeof(text));
		json_object_object_add(o, "endpoint", json_object_new_string(text));
	} else {
		json_object_object_add(o, "endpoint", NULL);
	}
	ips = json_object_new_array();
	for (i = 0; i < peer->n_allowedips; i++) {
		meshnet_format_allowedip(&peer->allowedips[i], text, sizeof(text));
		json_object_array_add(ips, json_object_new_string(text));
	}
	json_object_object_add(o, "allowed_ips", ips);
	json_object_object_add(o, "psk", json_object_new_string(
		peer->flags & MESHNET_PEER_PSK_SET ? "set" : "none"));
	if (peer->flags & MESHNET_PEER_HAS_PSK) {
		meshnet_format_key(peer->psk, key);
		json_object_object_add(o, "preshared_key", json_object_new_string(key));
	}
	json_object_object_add(o, "counters", cli_counters_json(&peer->counters));
	return o;
}

struct json_object *cli_state_json(const struct meshnet_state *st)
{
	struct json_object *o = json_object_new_object(), *epoch, *self, *policy, *devs, *txn;
	char when[MESHNET_RFC3339_LEN];
	size_t i;

	epoch = json_object_new_object();
	json_object_object_add(epoch, "id", json_object_new_uint64(st->epoch_id));
	json_object_object_add(epoch, "expiry_unix", json_object_new_uint64(st->epoch_expiry));
	meshnet_rfc3339_format(when, (int64_t)st->epoch_expiry);
	json_object_object_add(epoch, "expiry_utc", st->epoch_expiry ?
			       json_object_new_string(when) : NULL);
	json_object_object_add(epoch, "expired", json_object_new_boolean(st->expired));
	json_object_object_add(epoch, "revision", json_object_new_uint64(st->revision));
	json_object_object_add(epoch, "valid_until_unix", json_object_new_uint64(st->valid_until));
	json_object_object_add(o, "epoch", epoch);

	self = json_object_new_object();
	json_object_object_add(self, "verdict",
			       json_object_new_string(meshnet_verdict_name(st->self_verdict)));
	json_object_object_add(self, "reason", st->self_reason[0] ?
			       json_object_new_string(st->self_reason) : NULL);
	json_object_object_add(o, "self", self);

	policy = json_object_new_object();
	json_object_object_add(policy, "unknown", json_object_new_string(
		meshnet_unknown_policy_name(st->policy.unknown)));
	json_object_object_add(policy, "fail_closed",
			       json_object_new_boolean(st->policy.fail_closed));
	json_object_object_add(policy, "grace", json_object_new_uint64(st->policy.grace));
	json_object_object_add(policy, "endpoint_drop",
			       json_object_new_boolean(st->policy.endpoint_drop));
	json_object_object_add(o, "policy", policy);

	json_object_object_add(o, "peer_count", json_object_new_uint64(st->peer_count));
	if (st->txn_open) {
		txn = json_object_new_object();
		json_object_object_add(txn, "epoch_id", json_object_new_uint64(st->txn_epoch_id));
		json_object_object_add(txn, "peer_count",
				       json_object_new_uint64(st->txn_peer_count));
		json_object_object_add(o, "transaction", txn);
	} else {
		json_object_object_add(o, "transaction", NULL);
	}
	devs = json_object_new_array();
	for (i = 0; i < st->n_devices; i++) {
		struct json_object *d = json_object_new_object();

		json_object_object_add(d, "ifindex",
				       json_object_new_uint64(st->devices[i].ifindex));
		json_object_object_add(d, "ifname", json_object_new_string(st->devices[i].ifname));
		json_object_array_add(devs, d);
	}
	json_object_object_add(o, "devices", devs);
	json_object_object_add(o, "counters", cli_counters_json(&st->counters));
	return o;
}

void cli_print_json(FILE *out, struct json_object *obj, bool pretty)
{
	fprintf(out, "%s\n", json_object_to_json_string_ext(obj, (pretty ? JSON_C_TO_STRING_PRETTY :
				JSON_C_TO_STRING_PLAIN) | JSON_C_TO_STRING_NOSLASHESCAPE));
}

void cli_print_state(FILE *out, const struct meshnet_state *st)
{
	char when[MESHNET_RFC3339_LEN];
	size_t i;

	meshnet_rfc3339_format(when, (int64_t)st->epoch_expiry);
	fprintf(out, "epoch:          %" PRIu64, st->epoch_id);
	if (st->epoch_id)
		fprintf(out, " (expires %s%s)", when, st->expired ? ", EXPIRED" : "");
	else if (st->expired)
		fprintf(out, " (EXPIRED)");
	meshnet_rfc3339_format(when, (int64_t)st->valid_until);
	fprintf(out, "\nrevision:       %" PRIu64, st->revision);
	if (st->valid_until)
		fprintf(out, " (valid until %s)", when);
	fprintf(out, "\nself:           %s%s%s\n", meshnet_verdict_name(st->self_verdict),
		st->self_reason[0] ? " - " : "", st->self_reason);
	fprintf(out, "policy:         unknown %s, fail-closed %s, grace %" PRIu32 " s, endpoint-drop %s\n",
		meshnet_unknown_policy_name(st->policy.unknown),
		st->policy.fail_closed ? "on" : "off", st->policy.grace,
		st->policy.endpoint_drop ? "on" : "off");
	fprintf(out, "devices:        ");
	for (i = 0; i < st->n_devices; i++)
		fprintf(out, "%s%s (%" PRIu32 ")", i ? ", " : "", st->devices[i].ifname,
			st->devices[i].ifindex);
	fprintf(out, "%s\n", st->n_devices ? "" : "(none)");
	fprintf(out, "peers:          %" PRIu32 "\n", st->peer_count);
	if (st->txn_open)
		fprintf(out, "transaction:    epoch %" PRIu64 " open, %" PRIu32 " peers staged\n",
			st->txn_epoch_id, st->txn_peer_count);
	fprintf(out, "counters:       rx %" PRIu64 " pkts / %" PRIu64 " B, tx %" PRIu64 " pkts / %"
		PRIu64 " B, dropped rx %" PRIu64 " tx %" PRIu64 " endpoint %" PRIu64 " pkts\n",
		st->counters.rx_packets, st->counters.rx_bytes, st->counters.tx_packets,
		st->counters.tx_bytes, st->counters.rx_drop_packets, st->counters.tx_drop_packets,
		st->counters.endpoint_drop_packets);
}

void cli_print_peer_header(FILE *out)
{
	fprintf(out, "%-16s %-44s %-8s %-6s %-21s %-34s %-14s %-14s %s\n", "NAME", "PUBLIC-KEY",
		"VERDICT", "EPOCH", "ENDPOINT", "ALLOWED-IPS", "RX/TX PKTS", "DROP RX/TX", "PSK");
}

void cli_print_peer_row(FILE *out, const struct meshnet_peer *peer, bool show_psk)
{
	char key[MESHNET_KEY_B64_LEN], ep[MESHNET_ENDPOINT_STRLEN], ips[1024] = "";
	char ip[MESHNET_PREFIX_STRLEN], rxtx[48], drops[48], psk[MESHNET_KEY_B64_LEN];
	size_t i, used = 0;

	/* the full key, pasteable into del-peer and wg(8) */
	meshnet_format_key(peer->public_key, key);
	if (peer->flags & MESHNET_PEER_HAS_ENDPOINT)
		meshnet_format_endpoint(&peer->endpoint, ep, sizeof(ep));
	else
		snprintf(ep, sizeof(ep), "-");
	for (i = 0; i < peer->n_allowedips && used < sizeof(ips); i++) {
		meshnet_format_allowedip(&peer->allowedips[i], ip, sizeof(ip));
		used += (size_t)snprintf(ips + used, sizeof(ips) - used, "%s%s", i ? "," : "", ip);
	}
	if (!peer->n_allowedips)
		snprintf(ips, sizeof(ips), "-");
	snprintf(rxtx, sizeof(rxtx), "%" PRIu64 "/%" PRIu64, peer->counters.rx_packets,
		 peer->counters.tx_packets);
	snprintf(drops, sizeof(drops), "%" PRIu64 "/%" PRIu64, peer->counters.rx_drop_packets,
		 peer->counters.tx_drop_packets);
	if (show_psk && (peer->flags & MESHNET_PEER_HAS_PSK))
		meshnet_format_key(peer->psk, psk);
	else
		snprintf(psk, sizeof(psk), "%s", peer->flags & MESHNET_PEER_PSK_SET ? "set" : "none");
	fprintf(out, "%-16s %-44s %-8s %-6" PRIu64 " %-21s %-34s %-14s %-14s %s\n",
		peer->flags & MESHNET_PEER_HAS_NAME ? peer->name : "-", key,
		meshnet_verdict_name(peer->verdict), peer->epoch, ep, ips, rxtx, drops, psk);
	if (peer->flags & MESHNET_PEER_HAS_REASON)
		fprintf(out, "%-16s   reason: %s\n", "", peer->reason);
}
