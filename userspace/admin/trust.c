// SPDX-License-Identifier: MIT
/*
 * meshnet-admin evaluators | evaluator add ID PUBKEY | evaluator remove ID
 *               policy [show] | policy set FILE | policy reload
 *
 * Who may vouch for a node's scores (docs/policy.md): the evaluators and the
 * policy that counts them, over the admin API's /v1/evaluators and /v1/policy.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin.h"
#include "b64.h"
#include "fileio.h"
#include "ids.h"

#define POLICY_FILE_MAX (256 * 1024)

static void show_evaluators(struct json_object *b)
{
	struct json_object *list = admin_obj(b, "evaluators");
	size_t n = list && json_object_is_type(list, json_type_array) ?
		   json_object_array_length(list) : 0;

	printf("%-24s %-8s %s\n", "EVALUATOR", "STATE", "PUBLIC KEY");
	for (size_t i = 0; i < n; i++) {
		struct json_object *e = json_object_array_get_idx(list, i);
		struct json_object *active = admin_obj(e, "active");

		printf("%-24s %-8s %s\n", admin_str(e, "evaluator_id"),
		       active && json_object_get_boolean(active) ? "active" : "removed",
		       admin_str(e, "public_key"));
	}
}

static const char evaluators_usage[] = "evaluators";

int evaluators_main(int argc, char **argv)
{
	if (admin_wants_help(argc, argv, evaluators_usage))
		return 0;
	if (argc > 1)
		return admin_usage("evaluators", evaluators_usage, "unexpected argument '%s'",
				   argv[1]);
	return admin_request_show("evaluators", "GET", "/v1/evaluators", NULL, 200, show_evaluators);
}

static void show_enrolled(struct json_object *b)
{
	printf("evaluator %s enrolled\n", admin_str(b, "evaluator_id"));
}

static void show_removed(struct json_object *b)
{
	(void)b;
	printf("evaluator removed\n");
}

/* An Ed25519 public key: 32 bytes, standard base64 (44 characters). */
static bool pubkey_valid(const char *s)
{
	uint8_t key[32];

	return strlen(s) == 44 && meshnet_b64_decode_exact(key, sizeof(key), s) == 0;
}

static const char evaluator_usage[] = "evaluator add ID PUBKEY | evaluator remove ID";

int evaluator_main(int argc, char **argv)
{
	struct json_object *o;
	int ret;

	if (admin_wants_help(argc, argv, evaluator_usage))
		return 0;
	if (argc < 2)
		return admin_usage("evaluator", evaluator_usage, "missing add or remove");
	if (strcmp(argv[1], "add") && strcmp(argv[1], "remove"))
		return admin_usage("evaluator", evaluator_usage, "unknown action '%s'", argv[1]);
	if (argc < 3)
		return admin_usage("evaluator", evaluator_usage, "%s: missing evaluator ID", argv[1]);
	if (!meshnet_node_id_valid(argv[2]))
		return admin_usage("evaluator", evaluator_usage,
				   "bad evaluator id '%s' (^[a-z0-9][a-z0-9._-]{0,62}$)", argv[2]);
	if (!strcmp(argv[1], "remove")) {
		char path[160];

		if (argc > 3)
			return admin_usage("evaluator", evaluator_usage,
					   "unexpected argument '%s'", argv[3]);
		snprintf(path, sizeof(path), "/v1/evaluators/%s", argv[2]);
		return admin_request_show(argv[2], "DELETE", path, NULL, 200, show_removed);
	}
	if (argc != 4)
		return admin_usage("evaluator", evaluator_usage, argc < 4 ?
				   "add: missing PUBKEY" : "unexpected argument '%s'",
				   argc < 4 ? "" : argv[4]);
	if (!pubkey_valid(argv[3]))
		return admin_usage("evaluator", evaluator_usage,
				   "bad public key '%s' (32 bytes, base64: meshnet-eval pubkey)",
				   argv[3]);
	o = json_object_new_object();
	json_object_object_add(o, "evaluator_id", json_object_new_string(argv[2]));
	json_object_object_add(o, "public_key", json_object_new_string(argv[3]));
	ret = admin_request_show(argv[2], "POST", "/v1/evaluators",
			    json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN), 201,
			    show_enrolled);
	json_object_put(o);
	return ret;
}

static void show_one_policy(const char *label, struct json_object *p)
{
	if (!p) {
		printf("%-10s none\n", label);
		return;
	}
	if (*admin_str(p, "builtin")) {
		printf("%-10s built-in %s (overall >= %.2f, benchmarks valid %.0f s)\n", label,
		       admin_str(p, "builtin"), admin_num(p, "threshold"),
		       admin_num(p, "max_benchmark_age"));
		return;
	}
	printf("%-10s version %.0f, %.0f group(s), sha256 %s, from %s", label,
	       admin_num(p, "version"), admin_num(p, "groups"), admin_str(p, "sha256"),
	       admin_str(p, "source"));
	if (*admin_str(p, "effective_at"))
		printf(", takes effect %s", admin_str(p, "effective_at"));
	else if (admin_num(p, "effective_epoch"))
		printf(", takes effect at epoch %.0f", admin_num(p, "effective_epoch"));
	printf("\n");
}

static void show_policy(struct json_object *b)
{
	struct json_object *active = admin_obj(b, "active");

	show_one_policy("active:", active);
	show_one_policy("pending:", admin_obj(b, "pending"));
	if (*admin_str(active, "text"))
		printf("\n%s", admin_str(active, "text"));
}

static void show_installed(struct json_object *b)
{
	printf("policy %s\n", !strcmp(admin_str(b, "state"), "scheduled") ?
	       "scheduled (time-locked: announced in the log, not yet in effect)" : "in effect");
	show_policy(admin_obj(b, "policy"));
}

/* The whole file, NUL-terminated; NULL after printing why (the file named). */
static char *read_policy_file(const char *path)
{
	size_t n;
	char *buf = meshnet_read_file(path, POLICY_FILE_MAX, &n);

	if (!buf) {
		if (errno == EFBIG)
			fprintf(stderr, "%s: policy set: '%s': larger than 256 KiB\n", PROG_NAME, path);
		else
			fprintf(stderr, "%s: policy set: cannot open '%s': %s\n", PROG_NAME, path,
				strerror(errno));
		return NULL;
	}
	if (n == 0 || strlen(buf) != n) {
		fprintf(stderr, "%s: policy set: '%s': %s\n", PROG_NAME, path,
			n ? "contains a NUL byte" : "empty file");
		free(buf);
		return NULL;
	}
	return buf;
}

static const char policy_usage[] = "policy [show] | policy set FILE | policy reload";

int policy_main(int argc, char **argv)
{
	const char *action = argc > 1 ? argv[1] : "show";
	char *text;
	int ret;

	if (admin_wants_help(argc, argv, policy_usage))
		return 0;
	if (!strcmp(action, "show") || !strcmp(action, "reload")) {
		if (argc > 2)
			return admin_usage("policy", policy_usage, "unexpected argument '%s'",
					   argv[2]);
		if (!strcmp(action, "show"))
			return admin_request_show("policy", "GET", "/v1/policy", NULL, 200, show_policy);
		return admin_request_show("policy reload", "POST", "/v1/policy/reload", "", 200,
				     show_installed);
	}
	if (strcmp(action, "set"))
		return admin_usage("policy", policy_usage, "unknown action '%s'", action);
	if (argc != 3)
		return admin_usage("policy", policy_usage, argc < 3 ? "set: missing FILE" :
				   "unexpected argument '%s'", argc < 3 ? "" : argv[3]);
	text = read_policy_file(argv[2]);
	if (!text)
		return EXIT_RUNTIME;
	ret = admin_request_show("policy set", "PUT", "/v1/policy", text, 200, show_installed);
	free(text);
	return ret;
}
