// SPDX-License-Identifier: MIT
/* Small helpers shared by the agent's threads. */
#include <stdlib.h>
#include <time.h>

#include <openssl/rand.h>

#include "agent.h"

bool agent_sleep_ms(struct agent_ctx *ctx, unsigned int ms)
{
	while (ms && !atomic_load(&ctx->stop)) {
		unsigned int step = ms < 100 ? ms : 100;
		struct timespec ts = { .tv_sec = 0, .tv_nsec = (long)step * 1000000L };

		nanosleep(&ts, NULL);
		ms -= step;
	}
	return !atomic_load(&ctx->stop);
}

uint32_t agent_rand_u32(void)
{
	uint32_t v = 0;

	if (RAND_bytes((unsigned char *)&v, sizeof(v)) != 1)
		v = (uint32_t)random();
	return v;
}
