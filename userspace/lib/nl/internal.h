/* SPDX-License-Identifier: MIT */
/* Internals of the meshnet netlink client, shared by the files of userspace/lib/nl/. */
#ifndef MESHNET_NL_INTERNAL_H
#define MESHNET_NL_INTERNAL_H

#include <netlink/genl/ctrl.h>
#include <netlink/genl/genl.h>
#include <netlink/netlink.h>

#include "nl/meshnet_nl.h"

struct meshnet_nl {
	struct nl_sock *sock;
	int family;
	int mcgrp;
	size_t batch_bytes;
	unsigned int last_batches;
	char error[512];
};

/* Parses one reply message of a transaction; returns 0 or a negative errno. */
typedef int (*meshnet_reply_fn)(struct nl_msg *msg, void *arg);

struct nl_msg *meshnet_nl_request(struct meshnet_nl *nl, uint8_t cmd, int flags, size_t size);
/* Sends @msg (wiped and freed), waits for the ACK / end of dump. */
int meshnet_nl_transact(struct meshnet_nl *nl, struct nl_msg *msg, meshnet_reply_fn fn,
			void *arg);
/* Frees a message that may hold key material, wiping it first. */
void meshnet_nl_wipe_free(struct nl_msg *msg);
__attribute__((format(printf, 3, 4)))
int meshnet_nl_fail(struct meshnet_nl *nl, int error, const char *fmt, ...);

/* Peer attributes (peer_attr.c) */
int meshnet_nl_put_peer(struct nl_msg *msg, int attrtype, const struct meshnet_peer *peer);
int meshnet_nl_parse_peer(struct nlattr *attr, struct meshnet_peer *peer);
int meshnet_nl_parse_counters(struct nlattr *attr, struct meshnet_counters *counters);

#endif /* MESHNET_NL_INTERNAL_H */
