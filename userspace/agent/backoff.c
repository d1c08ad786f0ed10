// SPDX-License-Identifier: MIT
#include "backoff.h"

void agent_backoff_init(struct agent_backoff *b, unsigned int min_ms, unsigned int max_ms)
{
	b->min_ms = min_ms ? min_ms : 1;
	b->max_ms = max_ms < b->min_ms ? b->min_ms : max_ms;
	b->failures = 0;
}

void agent_backoff_reset(struct agent_backoff *b)
{
	b->failures = 0;
}

unsigned int agent_backoff_ceiling(const struct agent_backoff *b, unsigned int n)
{
	uint64_t d = b->min_ms;

	for (unsigned int i = 1; i < n && d < b->max_ms; i++)
		d *= 2;
	return d > b->max_ms ? b->max_ms : (unsigned int)d;
}

unsigned int agent_backoff_next(struct agent_backoff *b, uint32_t rnd)
{
	unsigned int d, half;

	if (b->failures < UINT32_MAX)
		b->failures++;
	d = agent_backoff_ceiling(b, b->failures);
	half = d / 2;
	return half + (unsigned int)(rnd % (uint32_t)(d - half + 1));
}
