// SPDX-License-Identifier: MIT
/* meshnet-admin status | rotate | epochs | audit [tail [-n N] | verify FILE] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "admin.h"

static void show_status(struct json_object *b)
{
	struct json_object *e = admin_obj(b, "epoch"), *n = admin_obj(b, "nodes");
	struct json_object *a = admin_obj(b, "audit"), *ru = admin_obj(b, "rules");

	printf("controller:  %s (%s)\n", admin_opts.controller, admin_str(b, "version"));
	printf("epoch:       %.0f, started %s, expires %s\n", admin_num(e, "id"),
	       admin_str(e, "start"), admin_str(e, "expiry"));
	printf("nodes:       %.0f: %.0f allowed, %.0f denied, %.0f pinned, %.0f without a "
	       "benchmark, %.0f on demo scores\n", admin_num(n, "total"), admin_num(n, "allowed"),
	       admin_num(n, "denied"), admin_num(n, "pinned"), admin_num(n, "no_benchmark"),
	       admin_num(n, "demo_scores"));
	printf("rules:       overall >= %.2f, benchmarks valid %.0f s, epochs of %.0f s, demo scores %s\n",
	       admin_num(ru, "threshold"), admin_num(ru, "max_benchmark_age"),
	       admin_num(ru, "epoch_seconds"),
	       json_object_get_boolean(admin_obj(ru, "allow_demo_scores")) ? "ACCEPTED" : "refused");
	printf("audit:       %.0f records, head %s\n", admin_num(a, "records"), admin_str(a, "head"));
}

static const char status_usage[] = "status";

int status_main(int argc, char **argv)
{
	if (admin_wants_help(argc, argv, status_usage))
		return 0;
	if (argc > 1)
		return admin_usage("status", status_usage, "unexpected argument '%s'", argv[1]);
	return admin_request_show("status", "GET", "/v1/admin/status", NULL, 200, show_status);
}

static void show_epochs(struct json_object *b)
{
	struct json_object *c = admin_obj(b, "current");

	printf("current:     %.0f, started %s, expires %s\n", admin_num(c, "id"),
	       admin_str(c, "start"), admin_str(c, "expiry"));
	printf("members:     %.0f allowed, %.0f denied\n", admin_num(c, "allowed"),
	       admin_num(c, "denied"));
	printf("secret:      %s (its hash; the secret never leaves the controller)\n",
	       admin_str(c, "secret_hash"));
	printf("rotations:   %.0f so far, every %.0f s; next rotation requested: %s\n",
	       admin_num(b, "rotations"), admin_num(b, "epoch_seconds"),
	       *admin_str(b, "next_rotation") ? admin_str(b, "next_rotation") : "none");
}

static const char epochs_usage[] = "epochs";

int epochs_main(int argc, char **argv)
{
	if (admin_wants_help(argc, argv, epochs_usage))
		return 0;
	if (argc > 1)
		return admin_usage("epochs", epochs_usage, "unexpected argument '%s'", argv[1]);
	return admin_request_show("epochs", "GET", "/v1/admin/epochs", NULL, 200, show_epochs);
}

static const char rotate_usage[] = "rotate";

int rotate_main(int argc, char **argv)
{
	struct admin_reply r;
	int ret;

	if (admin_wants_help(argc, argv, rotate_usage))
		return 0;
	if (argc > 1)
		return admin_usage("rotate", rotate_usage, "unexpected argument '%s'", argv[1]);
	ret = admin_call("POST", "/v1/rotate", "", &r);
	if (ret)
		return ret;
	if (r.status != 200)
		ret = admin_fail("rotate", &r);
	else if (admin_opts.json)
		admin_print_json(r.body);
	else
		printf("new epoch %.0f\n", admin_num(admin_obj(r.body, "epoch"), "id") ?
		       admin_num(admin_obj(r.body, "epoch"), "id") : admin_num(r.body, "epoch"));
	admin_reply_free(&r);
	return ret;
}

static void show_audit(struct json_object *b)
{
	struct json_object *recs = admin_obj(b, "records");

	for (size_t i = 0; recs && i < json_object_array_length(recs); i++) {
		struct json_object *rec = json_object_array_get_idx(recs, i);

		printf("%6.0f %s %-8s %s", admin_obj(rec, "index") ? admin_num(rec, "index") :
		       admin_num(rec, "seq"), admin_str(rec, "time"),
		       admin_str(rec, "type"), admin_str(rec, "node_id"));
		if (*admin_str(rec, "to"))	/* a verdict change */
			printf(" %s -> %s: %s", admin_str(rec, "from"), admin_str(rec, "to"),
			       admin_str(rec, "reason"));
		if (*admin_str(rec, "pin"))
			printf(" pin %s", admin_str(rec, "pin"));
		printf("\n");
	}
}

static const char audit_usage[] = "audit [tail [-n N]] | audit verify PATH";

int audit_main(int argc, char **argv)
{
	char path[64];
	long n = 20;

	if (admin_wants_help(argc, argv, audit_usage))
		return 0;
	if (argc >= 2 && !strcmp(argv[1], "verify")) {
		if (argc != 3)
			return admin_usage("audit", audit_usage, "verify needs one PATH");
		/* the one verifier, meshnetd's own (exit 0 intact, 1 broken) */
		execlp("meshnetd", "meshnetd", "audit-verify", argv[2], (char *)NULL);
		fprintf(stderr, "%s: audit verify: cannot run meshnetd\n", PROG_NAME);
		return EXIT_RUNTIME;
	}
	for (int i = 1; i < argc; i++) {
		char *end;

		if (!strcmp(argv[i], "tail") && i == 1)
			continue;
		if (!strcmp(argv[i], "-n") && i + 1 < argc) {
			n = strtol(argv[++i], &end, 10);
			if (*end || n < 1 || n > 1000)
				return admin_usage("audit", audit_usage, "-n: bad number '%s' (1..1000)",
						   argv[i]);
			continue;
		}
		return admin_usage("audit", audit_usage, "unexpected argument '%s'", argv[i]);
	}
	snprintf(path, sizeof(path), "/v1/admin/audit?tail=%ld", n);
	return admin_request_show("audit", "GET", path, NULL, 200, show_audit);
}
