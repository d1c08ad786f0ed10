// SPDX-License-Identifier: MIT
/* meshnet-admin nodes | node ID | enrol ID ... | remove ID | pin ID V | unpin ID */
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>

#include "admin.h"
#include "ids.h"
#include "strbuf.h"

static bool check_id(const char *sub, const char *usage, int argc, char **argv, int want)
{
	if (argc != want) {
		admin_usage(sub, usage, argc < want ? "missing argument" : "unexpected argument '%s'",
			    argc < want ? "" : argv[want]);
		return false;
	}
	if (!meshnet_node_id_valid(argv[1])) {
		admin_usage(sub, usage, "bad node id '%s' (^[a-z0-9][a-z0-9._-]{0,62}$)", argv[1]);
		return false;
	}
	return true;
}

/* "0.91/0.95/0.90/0.88" */
static void scores_text(struct json_object *s, char *out, size_t len)
{
	if (!s) {
		snprintf(out, len, "-");
		return;
	}
	snprintf(out, len, "%.2f/%.2f/%.2f/%.2f", admin_num(s, "overall"), admin_num(s, "refusal"),
		 admin_num(s, "honesty"), admin_num(s, "policy"));
}

/* The revision the node's module applied (its last ack), or "-". */
static void applied_text(struct json_object *n, char *out, size_t len)
{
	struct json_object *v = admin_obj(n, "applied_revision");

	if (v && json_object_is_type(v, json_type_int))
		snprintf(out, len, "%lld", (long long)json_object_get_int64(v));
	else
		snprintf(out, len, "-");
}

static const char nodes_usage[] = "nodes";

int nodes_main(int argc, char **argv)
{
	struct admin_reply r;
	struct json_object *list;
	int ret;

	if (admin_wants_help(argc, argv, nodes_usage))
		return 0;
	if (argc > 1)
		return admin_usage("nodes", nodes_usage, "unexpected argument '%s'", argv[1]);
	ret = admin_call("GET", "/v1/admin/nodes", NULL, &r);
	if (ret)
		return ret;
	if (r.status != 200) {
		ret = admin_fail("nodes", &r);
		goto out;
	}
	if (admin_opts.json) {
		admin_print_json(r.body);
		goto out;
	}
	list = admin_obj(r.body, "nodes");
	printf("%-20s %-8s %-7s %-19s %-5s %-20s %-8s %-20s %s\n", "NODE", "VERDICT", "PIN",
	       "SCORES(o/r/h/p)", "DEMO", "LAST-SEEN", "APPLIED", "AGENT", "REASON");
	for (size_t i = 0; list && i < json_object_array_length(list); i++) {
		struct json_object *n = json_object_array_get_idx(list, i);
		struct json_object *b = admin_obj(n, "last_benchmark");
		char sc[64], rev[24];

		scores_text(admin_obj(b, "scores"), sc, sizeof(sc));
		applied_text(n, rev, sizeof(rev));
		printf("%-20s %-8s %-7s %-19s %-5s %-20s %-8s %-20.20s %s\n", admin_str(n, "node_id"),
		       admin_str(n, "verdict"), *admin_str(n, "pin") ? admin_str(n, "pin") : "-", sc,
		       !b ? "-" : json_object_get_boolean(admin_obj(b, "demo_scores")) ? "yes" : "no",
		       *admin_str(n, "last_seen") ? admin_str(n, "last_seen") : "never", rev,
		       *admin_str(n, "agent_version") ? admin_str(n, "agent_version") : "-",
		       admin_str(n, "reason"));
	}
out:
	admin_reply_free(&r);
	return ret;
}

/* Why the node has its verdict: the explanation of docs/policy.md. */
static void print_explanation(struct json_object *x)
{
	struct json_object *used = admin_obj(x, "attestations"), *missing = admin_obj(x, "missing");
	int64_t version = json_object_get_int64(admin_obj(x, "policy_version"));

	if (!x) {
		printf("why:         (no explanation in this reply)\n");
		return;
	}
	if (version)
		printf("why:         rule %s (policy v%lld): %s\n", admin_str(x, "rule"),
		       (long long)version, admin_str(x, "reason"));
	else
		printf("why:         rule %s (built-in v1 threshold rule): %s\n",
		       admin_str(x, "rule"), admin_str(x, "reason"));
	for (size_t i = 0; used && i < json_object_array_length(used); i++) {
		struct json_object *a = json_object_array_get_idx(used, i);
		struct json_object *sc = admin_obj(a, "scores");

		printf("  used:      %s / %s:", admin_str(a, "evaluator"), admin_str(a, "suite"));
		if (sc && json_object_is_type(sc, json_type_object)) {
			json_object_object_foreach(sc, k, v) {
				printf(" %s %.2f", k, json_object_get_double(v));
			}
		}
		printf(" (%lld s old)\n", (long long)json_object_get_int64(admin_obj(a, "age_s")));
	}
	for (size_t i = 0; missing && i < json_object_array_length(missing); i++)
		printf("  missing:   %s\n", json_object_get_string(json_object_array_get_idx(missing, i)));
}

/* A controller whose admin node view lacks the explanation: GET /v1/nodes/{id} has it. */
static void add_explanation(struct admin_reply *r, const char *id)
{
	struct admin_reply v;
	char path[160];

	if (admin_obj(r->body, "explanation") || !json_object_is_type(r->body, json_type_object))
		return;
	snprintf(path, sizeof(path), "/v1/nodes/%s", id);
	if (admin_call("GET", path, NULL, &v))
		return;
	if (v.status == 200 && admin_obj(v.body, "explanation"))
		json_object_object_add(r->body, "explanation",
				       json_object_get(admin_obj(v.body, "explanation")));
	admin_reply_free(&v);
}

static const char node_usage[] = "node NODE_ID";

int node_main(int argc, char **argv)
{
	struct json_object *n, *b, *hist, *th;
	struct admin_reply r;
	char path[160], sc[64];
	int ret;

	if (admin_wants_help(argc, argv, node_usage))
		return 0;
	if (!check_id("node", node_usage, argc, argv, 2))
		return EXIT_USAGE;
	snprintf(path, sizeof(path), "/v1/admin/nodes/%s", argv[1]);
	ret = admin_call("GET", path, NULL, &r);
	if (ret)
		return ret;
	if (r.status != 200) {
		ret = admin_fail(argv[1], &r);
		goto out;
	}
	add_explanation(&r, argv[1]);
	if (admin_opts.json) {
		admin_print_json(r.body);
		goto out;
	}
	n = r.body; /* the node view: its fields at the top */
	b = admin_obj(n, "last_benchmark");
	th = admin_obj(r.body, "thresholds");
	printf("node:        %s\nverdict:     %s (%s)\n", admin_str(n, "node_id"),
	       admin_str(n, "verdict"), admin_str(n, "reason"));
	printf("pin:         %s\npublic key:  %s\nallowed ips: %s\nendpoint:    %s\n",
	       *admin_str(n, "pin") ? admin_str(n, "pin") : "none", admin_str(n, "public_key"),
	       json_object_to_json_string(admin_obj(n, "allowed_ips")),
	       *admin_str(n, "endpoint") ? admin_str(n, "endpoint") : "-");
	scores_text(admin_obj(b, "scores"), sc, sizeof(sc));
	printf("benchmark:   %s", sc);
	if (b)
		printf(" suite %s at %s (measured %s)%s", admin_str(b, "suite_version"),
		       admin_str(b, "timestamp"), admin_str(b, "measured_at"),
		       json_object_get_boolean(admin_obj(b, "demo_scores")) ? " DEMO SCORES" : "");
	printf("\nlast seen:   %s\n", *admin_str(n, "last_seen") ? admin_str(n, "last_seen") : "never");
	applied_text(n, sc, sizeof(sc));
	if (strcmp(sc, "-"))
		printf("applied:     revision %s (agent %s, last ack %s%s)\n", sc,
		       *admin_str(n, "agent_version") ? admin_str(n, "agent_version") : "unknown",
		       admin_str(n, "last_ack"),
		       json_object_get_boolean(admin_obj(n, "drift")) ? ", TABLE DRIFT" : "");
	else
		printf("applied:     never acknowledged\n");
	printf("thresholds:  overall >= %.2f, refusal >= %.2f, honesty >= %.2f, policy >= %.2f\n",
	       admin_num(th, "overall"), admin_num(th, "refusal"), admin_num(th, "honesty"),
	       admin_num(th, "policy"));
	hist = admin_obj(r.body, "score_history");
	printf("history:\n");
	for (size_t i = 0; hist && i < json_object_array_length(hist); i++) {
		struct json_object *h = json_object_array_get_idx(hist, i);
		double o = admin_num(admin_obj(h, "scores"), "overall");

		scores_text(admin_obj(h, "scores"), sc, sizeof(sc));
		printf("  %s  %s  %s%s\n", admin_str(h, "timestamp"), sc,
		       o >= admin_num(th, "overall") ? "above" : "BELOW",
		       json_object_get_boolean(admin_obj(h, "demo_scores")) ? " (demo)" : "");
	}
	print_explanation(admin_obj(r.body, "explanation"));
out:
	admin_reply_free(&r);
	return ret;
}

static const char enrol_usage[] =
	"enrol NODE_ID --overlay CIDR[,CIDR...] [--endpoint HOST:PORT] [--ttl SECONDS]";

int enrol_main(int argc, char **argv)
{
	const char *id = NULL, *overlay = NULL, *endpoint = NULL, *ttl = NULL;
	struct json_object *req, *ips;
	struct admin_reply r;
	char list[512], *save = NULL;
	int ret;

	if (admin_wants_help(argc, argv, enrol_usage))
		return 0;
	for (int i = 1; i < argc; i++) {
		const char **slot = !strcmp(argv[i], "--overlay") ? &overlay :
				    !strcmp(argv[i], "--endpoint") ? &endpoint :
				    !strcmp(argv[i], "--ttl") ? &ttl : NULL;

		if (slot) {
			if (i + 1 >= argc)
				return admin_usage("enrol", enrol_usage, "%s needs a value", argv[i]);
			*slot = argv[++i];
		} else if (argv[i][0] == '-' || id) {
			return admin_usage("enrol", enrol_usage, "unexpected argument '%s'", argv[i]);
		} else {
			id = argv[i];
		}
	}
	if (!id || !meshnet_node_id_valid(id))
		return admin_usage("enrol", enrol_usage, "bad or missing node id '%s'", id ? id : "");
	if (!overlay)
		return admin_usage("enrol", enrol_usage, "--overlay is required");
	for (const char *t = ttl; t && *t; t++)
		if (*t < '0' || *t > '9' || strlen(ttl) > 7)
			return admin_usage("enrol", enrol_usage, "--ttl: bad number '%s'", ttl);
	req = json_object_new_object();
	json_object_object_add(req, "node_id", json_object_new_string(id));
	ips = json_object_new_array();
	snprintf(list, sizeof(list), "%s", overlay);
	for (char *p = strtok_r(list, ",", &save); p; p = strtok_r(NULL, ",", &save))
		json_object_array_add(ips, json_object_new_string(p));
	json_object_object_add(req, "overlay", ips);
	if (endpoint)
		json_object_object_add(req, "endpoint", json_object_new_string(endpoint));
	if (ttl)
		json_object_object_add(req, "ttl_seconds", json_object_new_int64(atoll(ttl)));
	ret = admin_call("POST", "/v1/admin/join-tokens", json_object_to_json_string(req), &r);
	json_object_put(req);
	if (ret)
		return ret;
	if (r.status != 201) {
		ret = admin_fail("enrol", &r);
		goto out;
	}
	if (admin_opts.json) {
		admin_print_json(r.body);
	} else {
		printf("join token for %s (one use, valid until %s):\n%s\n\n"
		       "On the node, which creates its own keys and enrols with them:\n"
		       "  meshnet-agent join --node-id %s --controller %s --token TOKEN\n",
		       id, admin_str(r.body, "expires_utc"), admin_str(r.body, "token"), id,
		       admin_opts.controller);
	}
out:
	admin_reply_free(&r);
	return ret;
}

static const char remove_usage[] = "remove NODE_ID";

int remove_main(int argc, char **argv)
{
	struct admin_reply r;
	char path[160];
	int ret;

	if (admin_wants_help(argc, argv, remove_usage))
		return 0;
	if (!check_id("remove", remove_usage, argc, argv, 2))
		return EXIT_USAGE;
	snprintf(path, sizeof(path), "/v1/nodes/%s", argv[1]);
	ret = admin_call("DELETE", path, NULL, &r);
	if (ret)
		return ret;
	if (r.status != 200)
		ret = admin_fail(argv[1], &r);
	else if (admin_opts.json)
		admin_print_json(r.body);
	else
		printf("%s removed\n", argv[1]);
	admin_reply_free(&r);
	return ret;
}

static int set_pin(const char *sub, const char *id, const char *pin)
{
	struct admin_reply r;
	char path[160], body[64];
	int ret;

	snprintf(path, sizeof(path), "/v1/nodes/%s/override", id);
	snprintf(body, sizeof(body), "{\"pin\":%s%s%s}", pin ? "\"" : "", pin ? pin : "null",
		 pin ? "\"" : "");
	ret = admin_call("PUT", path, body, &r);
	if (ret)
		return ret;
	if (r.status != 200) {
		ret = admin_fail(sub, &r);
	} else if (admin_opts.json) {
		admin_print_json(r.body);
	} else {
		struct json_object *st = admin_obj(r.body, "status");

		printf("%s: %s (%s)\n", id, admin_str(st, "membership"), admin_str(st, "reason"));
	}
	admin_reply_free(&r);
	return ret;
}

static const char pin_usage[] = "pin NODE_ID allowed|denied";

int pin_main(int argc, char **argv)
{
	if (admin_wants_help(argc, argv, pin_usage))
		return 0;
	if (!check_id("pin", pin_usage, argc, argv, 3))
		return EXIT_USAGE;
	if (strcasecmp(argv[2], "allowed") && strcasecmp(argv[2], "denied"))
		return admin_usage("pin", pin_usage, "unknown verdict '%s'", argv[2]);
	return set_pin("pin", argv[1], !strcasecmp(argv[2], "allowed") ? "ALLOWED" : "DENIED");
}

static const char unpin_usage[] = "unpin NODE_ID";

int unpin_main(int argc, char **argv)
{
	if (admin_wants_help(argc, argv, unpin_usage))
		return 0;
	if (!check_id("unpin", unpin_usage, argc, argv, 2))
		return EXIT_USAGE;
	return set_pin("unpin", argv[1], NULL);
}
