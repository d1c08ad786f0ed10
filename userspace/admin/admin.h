/* SPDX-License-Identifier: MIT */
/*
 * meshnet-admin: the operator's CLI for meshnetd's admin API, in the style
 * of wireguard-tools (a subcommand table, one *_main(argc, argv) each).
 * Global options come first: --controller URL, --token-file FILE, --ca FILE,
 * --json; or MESHNET_CONTROLLER, MESHNET_ADMIN_TOKEN_FILE, MESHNET_CA.
 */
#ifndef MESHNET_ADMIN_H
#define MESHNET_ADMIN_H

#include <stdbool.h>
#include <stddef.h>

#include <json-c/json.h>

#define PROG_NAME "meshnet-admin"
#define EXIT_RUNTIME 1
#define EXIT_USAGE 2

struct admin_opts {
	const char *controller;	/* https://host:port */
	const char *token_file;
	const char *ca_file;	/* NULL: the system's CAs */
	bool json;		/* print the controller's JSON */
	unsigned int timeout;	/* seconds */
};

extern struct admin_opts admin_opts;

/* A reply: HTTP status and the parsed JSON body (NULL if none). */
struct admin_reply {
	long status;
	struct json_object *body;
};

/*
 * One admin request (Bearer token from --token-file). Returns 0 with the
 * reply, or prints why it failed (transport, bad token file) and returns
 * EXIT_RUNTIME. body may be NULL.
 */
int admin_call(const char *method, const char *path, const char *body, struct admin_reply *r);
void admin_reply_free(struct admin_reply *r);

/* Prints the controller's {"error":...} (or the status) for what; EXIT_RUNTIME. */
int admin_fail(const char *what, const struct admin_reply *r);
/* A usage error naming the problem; EXIT_USAGE. */
int admin_usage(const char *sub, const char *usage, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
bool admin_wants_help(int argc, char **argv, const char *usage);
/*
 * One request, then: --json prints the reply, else show(body); a status other
 * than want prints the controller's error for what (EXIT_RUNTIME).
 */
int admin_request_show(const char *what, const char *method, const char *path, const char *body,
		       long want, void (*show)(struct json_object *));
/* --json: pretty JSON of the reply on stdout. */
void admin_print_json(struct json_object *o);
/* Field helpers ("" / 0 when absent). */
const char *admin_str(struct json_object *o, const char *key);
double admin_num(struct json_object *o, const char *key);
struct json_object *admin_obj(struct json_object *o, const char *key);

int status_main(int argc, char **argv);
int nodes_main(int argc, char **argv);
int node_main(int argc, char **argv);
int enrol_main(int argc, char **argv);
int remove_main(int argc, char **argv);
int pin_main(int argc, char **argv);
int unpin_main(int argc, char **argv);
int rotate_main(int argc, char **argv);
int epochs_main(int argc, char **argv);
int audit_main(int argc, char **argv);
int evaluators_main(int argc, char **argv);
int evaluator_main(int argc, char **argv);
int policy_main(int argc, char **argv);
int help_main(int argc, char **argv);

#endif
