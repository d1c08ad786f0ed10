/* SPDX-License-Identifier: MIT */
/*
 * Argument parsers of meshnetctl's subcommands, kept apart from netlink so
 * the host tests can drive them. Each returns 0, or -EINVAL with a sentence
 * in @err that names the bad argument.
 */
#ifndef MESHNETCTL_ARGS_H
#define MESHNETCTL_ARGS_H

#include <stddef.h>

#include "nl/meshnet_types.h"

/* KEY [verdict V] [allowed-ips LIST] [endpoint EP] [name N] [reason R] [psk-file F] */
int cli_parse_set_peer(int argc, char *const argv[], struct meshnet_peer *peer, char *err,
		       size_t errlen);
/* [unknown drop|allow] [fail-closed on|off] [grace SECONDS] [endpoint-drop on|off] */
int cli_parse_policy(int argc, char *const argv[], struct meshnet_policy *policy, char *err,
		     size_t errlen);
/* verdict V [reason R] */
int cli_parse_self(int argc, char *const argv[], uint8_t *verdict, char reason[MESHNET_REASON_LEN],
		   char *err, size_t errlen);
/* KEY */
int cli_parse_key_arg(const char *arg, uint8_t key[MESHNET_KEY_LEN], char *err, size_t errlen);

/* The pieces of a delta from the command line (arrays of @max entries). */
struct cli_delta {
	struct meshnet_delta delta;
	size_t max;
	struct meshnet_peer *verdicts;
	size_t n_verdicts;
	uint8_t (*removes)[MESHNET_KEY_LEN];
	size_t n_removes;
	const char *peers_file; /* epoch/config-reply JSON whose peers are upserted */
};

/*
 * REVISION [epoch ID] [valid-until UNIX] [force] [self V] [self-reason R]
 * [allow KEY [reason R]]... [deny KEY [reason R]]... [remove KEY]...
 * [peers-file FILE]
 */
int cli_parse_delta(int argc, char *const argv[], struct cli_delta *cd, char *err, size_t errlen);

#endif /* MESHNETCTL_ARGS_H */
