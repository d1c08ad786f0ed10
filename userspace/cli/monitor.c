// SPDX-License-Identifier: MIT
/*
 * meshnetctl monitor [--json] [--count N]: one line per notification of the
 * meshnet multicast group (verdict changes, epochs, expiry).
 */
#include <inttypes.h>
#include <string.h>

#include <time.h>

#include "cli.h"
#include "nl/meshnet_parse.h"
#include "timefmt.h"

static const char usage[] = "monitor [--json] [--count N]";

struct watch {
	bool json;
	uint64_t count, seen;
};

static const char *event_name(uint8_t cmd)
{
	switch (cmd) {
	case MESHNET_CMD_VERDICT_NOTIFY:
		return "verdict";
	case MESHNET_CMD_EPOCH_NOTIFY:
		return "epoch";
	default:
		return "expired";
	}
}

/* When the event was received: "2026-01-05T12:34:50.123Z" (wall clock, UTC). */
static void event_time(char *out, size_t len)
{
	struct timespec ts;
	struct tm tm;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	snprintf(out, len, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
		 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
		 (int)(ts.tv_nsec / 1000000) % 1000);
}

static void print_json(const struct meshnet_event *ev)
{
	struct json_object *o = json_object_new_object();
	char when[MESHNET_RFC3339_LEN], now[64];

	event_time(now, sizeof(now));
	json_object_object_add(o, "time", json_object_new_string(now));
	json_object_object_add(o, "event", json_object_new_string(event_name(ev->cmd)));
	json_object_object_add(o, "epoch", json_object_new_uint64(ev->epoch_id));
	json_object_object_add(o, "revision", json_object_new_uint64(ev->revision));
	if (ev->cmd == MESHNET_CMD_VERDICT_NOTIFY) {
		if (ev->has_peer) {
			json_object_object_add(o, "peer", cli_peer_json(&ev->peer));
		} else if (ev->is_self) {
			struct json_object *self = json_object_new_object();

			json_object_object_add(self, "verdict", json_object_new_string(
				meshnet_verdict_name(ev->self_verdict)));
			json_object_object_add(self, "reason", ev->self_reason[0] ?
					       json_object_new_string(ev->self_reason) : NULL);
			json_object_object_add(o, "self", self);
		}
	} else {
		meshnet_rfc3339_format(when, (int64_t)ev->epoch_expiry);
		json_object_object_add(o, "expiry_unix", json_object_new_uint64(ev->epoch_expiry));
		json_object_object_add(o, "expiry_utc", json_object_new_string(when));
		if (ev->cmd == MESHNET_CMD_EPOCH_NOTIFY)
			json_object_object_add(o, "peer_count",
					       json_object_new_uint64(ev->peer_count));
		else
			json_object_object_add(o, "expired", json_object_new_boolean(ev->expired));
	}
	cli_print_json(stdout, o, false);
	json_object_put(o);
}

static void print_text(const struct meshnet_event *ev)
{
	char when[MESHNET_RFC3339_LEN], key[MESHNET_KEY_B64_LEN], now[64];

	event_time(now, sizeof(now));
	printf("%s ", now);
	meshnet_rfc3339_format(when, (int64_t)ev->epoch_expiry);
	switch (ev->cmd) {
	case MESHNET_CMD_VERDICT_NOTIFY:
		if (ev->has_peer) {
			meshnet_format_key(ev->peer.public_key, key);
			printf("verdict epoch=%" PRIu64 " revision=%" PRIu64
			       " peer=%s key=%s verdict=%s reason=\"%s\"\n",
			       ev->epoch_id, ev->revision,
			       ev->peer.flags & MESHNET_PEER_HAS_NAME ? ev->peer.name : "-", key,
			       meshnet_verdict_name(ev->peer.verdict), ev->peer.reason);
		} else {
			printf("verdict epoch=%" PRIu64 " revision=%" PRIu64
			       " self verdict=%s reason=\"%s\"\n",
			       ev->epoch_id, ev->revision, meshnet_verdict_name(ev->self_verdict),
			       ev->self_reason);
		}
		break;
	case MESHNET_CMD_EPOCH_NOTIFY:
		printf("epoch id=%" PRIu64 " revision=%" PRIu64 " expiry=%s peers=%" PRIu32 "\n",
		       ev->epoch_id, ev->revision, when, ev->peer_count);
		break;
	default:
		printf("expired epoch=%" PRIu64 " revision=%" PRIu64 " expiry=%s expired=%s\n",
		       ev->epoch_id, ev->revision, when, ev->expired ? "yes" : "no");
		break;
	}
}

static int on_event(const struct meshnet_event *ev, void *arg)
{
	struct watch *w = arg;

	if (w->json)
		print_json(ev);
	else
		print_text(ev);
	fflush(stdout);
	w->seen++;
	return w->count && w->seen >= w->count ? 1 : 0;
}

int monitor_main(int argc, char *argv[])
{
	struct watch w = { 0 };
	struct meshnet_nl *nl;
	char err[256];
	int i, ret;

	if (cli_wants_help(argc, argv, usage))
		return 0;
	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--json")) {
			w.json = true;
		} else if (!strcmp(argv[i], "--count") && i + 1 < argc) {
			if (meshnet_parse_u64(argv[++i], UINT32_MAX, &w.count, err, sizeof(err)) ||
			    !w.count)
				return cli_usage_error("monitor", usage, "--count: bad number '%s'",
						       argv[i]);
		} else {
			return cli_usage_error("monitor", usage, "unknown argument '%s'", argv[i]);
		}
	}
	ret = cli_open("monitor", &nl);
	if (ret)
		return ret;
	if (meshnet_nl_subscribe(nl)) {
		ret = cli_nl_error(nl, "monitor");
		goto out;
	}
	for (;;) {
		int r = meshnet_nl_recv_events(nl, on_event, &w);

		if (r > 0)
			break;
		if (r < 0) {
			ret = cli_nl_error(nl, "monitor");
			break;
		}
	}
out:
	meshnet_nl_close(nl);
	return ret;
}
