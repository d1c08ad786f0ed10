/* SPDX-License-Identifier: MIT */
/*
 * Bounded replay cache of (node, nonce) pairs. Two generations, each
 * covering 2 * skew seconds; a pair is a replay if either generation holds
 * it. A request inside the skew window can only be replayed within 2 * skew
 * of its first sighting, so two generations cover every replay. Each
 * generation holds at most `capacity` entries: when full, new requests are
 * refused (fail closed) until the generation turns over.
 */
#ifndef MESHNETD_REPLAY_H
#define MESHNETD_REPLAY_H

#include <stddef.h>
#include <stdint.h>

struct replay_cache;

enum replay_result { REPLAY_FRESH = 0, REPLAY_SEEN, REPLAY_FULL };

struct replay_cache *replay_cache_new(size_t capacity, int64_t skew_seconds);
void replay_cache_free(struct replay_cache *rc);
/* Records the pair at time now; thread-safe. */
enum replay_result replay_cache_check_and_add(struct replay_cache *rc, const char *node_id,
					      const uint8_t nonce[16], int64_t now);
size_t replay_cache_count(struct replay_cache *rc);

#endif
