/* SPDX-License-Identifier: MIT */
/* meshnetctl: subcommands (one file each) and their shared helpers. */
#ifndef MESHNETCTL_CLI_H
#define MESHNETCTL_CLI_H

#include <stdbool.h>
#include <stdio.h>

#include <json-c/json.h>

#include "nl/meshnet_nl.h"

#define PROG_NAME "meshnetctl"

/* Exit codes */
#define EXIT_RUNTIME 1 /* the module refused, is missing, or the system failed */
#define EXIT_USAGE 2   /* bad command line */

int show_main(int argc, char *argv[]);
int peers_main(int argc, char *argv[]);
int monitor_main(int argc, char *argv[]);
int attach_main(int argc, char *argv[]);
int detach_main(int argc, char *argv[]);
int policy_main(int argc, char *argv[]);
int self_main(int argc, char *argv[]);
int set_peer_main(int argc, char *argv[]);
int del_peer_main(int argc, char *argv[]);
int epoch_main(int argc, char *argv[]);
int delta_main(int argc, char *argv[]);
int reset_counters_main(int argc, char *argv[]);
int help_main(int argc, char *argv[]);

/* true when argv[1] is -h/--help: prints @usage to stdout */
bool cli_wants_help(int argc, char *argv[], const char *usage);
/* "meshnetctl: <subcommand>: <message>" on stderr, returns EXIT_USAGE */
int cli_usage_error(const char *subcommand, const char *usage, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Opens the netlink handle or prints why not; returns 0 or EXIT_RUNTIME. */
int cli_open(const char *subcommand, struct meshnet_nl **nl);
/* Prints the handle's last error ("meshnetctl: attach wg0: <extack>"); EXIT_RUNTIME. */
int cli_nl_error(struct meshnet_nl *nl, const char *what);

/* Output helpers (output.c) */
struct json_object *cli_peer_json(const struct meshnet_peer *peer);
struct json_object *cli_state_json(const struct meshnet_state *state);
struct json_object *cli_counters_json(const struct meshnet_counters *c);
void cli_print_state(FILE *out, const struct meshnet_state *state);
void cli_print_peer_header(FILE *out);
void cli_print_peer_row(FILE *out, const struct meshnet_peer *peer, bool show_psk);
void cli_print_json(FILE *out, struct json_object *obj, bool pretty);

#endif /* MESHNETCTL_CLI_H */
