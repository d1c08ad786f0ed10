/* SPDX-License-Identifier: MIT */
/*
 * Replay protection and rate limits of signed node requests, per node: no
 * node can fill another's state or spend another's budget.
 *
 * Each node that has authenticated has its own table of the nonces it used,
 * each kept until its signed timestamp leaves the skew window (timestamp +
 * skew: after that the timestamp check refuses the request anyway), and its
 * own token bucket (rate per second, burst). A request is charged only
 * after its signature verified, so nobody can spend a node's budget but the
 * node. The bucket bounds what a node's table can hold (burst + rate x
 * 2 x skew entries), so the table never refuses a fresh nonce for space.
 */
#ifndef MESHNETD_REPLAY_H
#define MESHNETD_REPLAY_H

#include <stddef.h>
#include <stdint.h>

struct replay_cache;

struct replay_limits {
	double rate;		/* signed requests per second per node */
	double burst;		/* bucket size */
	int64_t skew;		/* seconds, the timestamp window */
};

enum replay_result { REPLAY_FRESH = 0, REPLAY_SEEN, REPLAY_RATE_LIMITED };

struct replay_cache *replay_cache_new(const struct replay_limits *limits);
void replay_cache_free(struct replay_cache *rc);
/*
 * Records node_id's nonce, signed at timestamp (unix s), at now_ms (unix ms).
 * REPLAY_SEEN: a replay (nothing charged); REPLAY_RATE_LIMITED: the node's
 * bucket is empty (not recorded). Thread-safe.
 */
enum replay_result replay_cache_check_and_add(struct replay_cache *rc, const char *node_id,
					      const uint8_t nonce[16], int64_t timestamp,
					      int64_t now_ms);
/* Drops a node's state (on removal). */
void replay_cache_forget(struct replay_cache *rc, const char *node_id);
/* Nonces held over every node. */
size_t replay_cache_count(struct replay_cache *rc);

#endif
