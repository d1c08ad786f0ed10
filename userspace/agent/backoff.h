/* SPDX-License-Identifier: MIT */
/*
 * Exponential backoff with jitter for requests to the controller: the n-th
 * consecutive failure waits a uniformly random time in [d/2, d] where
 * d = min(max, min * 2^(n-1)). A success resets the schedule.
 */
#ifndef AGENT_BACKOFF_H
#define AGENT_BACKOFF_H

#include <stdint.h>

struct agent_backoff {
	unsigned int min_ms;
	unsigned int max_ms;
	unsigned int failures;
};

void agent_backoff_init(struct agent_backoff *b, unsigned int min_ms, unsigned int max_ms);
void agent_backoff_reset(struct agent_backoff *b);
/* Records a failure and returns the delay before the next try; rnd is any random u32. */
unsigned int agent_backoff_next(struct agent_backoff *b, uint32_t rnd);
/* The cap d of the n-th failure (n >= 1), without jitter. */
unsigned int agent_backoff_ceiling(const struct agent_backoff *b, unsigned int n);

#endif
