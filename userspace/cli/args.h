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

#endif /* MESHNETCTL_ARGS_H */
