/* SPDX-License-Identifier: MIT */
/* meshnet-agent: what the three parts (emitter, config agent, probe) share. */
#ifndef AGENT_AGENT_H
#define AGENT_AGENT_H

#include <stdatomic.h>
#include <stdint.h>
#include <string.h>

#include <openssl/evp.h>

#include "bench.h"
#include "harness.h"
#include "keys.h"
#include "options.h"
#include "state.h"

struct agent_ctx {
	struct agent_options opts;
	struct agent_keys keys;
	EVP_PKEY *sign_key;
	EVP_PKEY *controller_key; /* CONTROLLER_PUBKEY(_FILE): v2 statements; NULL: v1 */
	struct agent_state state;
	struct agent_harness harness;      /* BENCH_CMD, sandboxed */
	struct agent_bench_latest latest;  /* its latest good result (state.lock) */
	atomic_bool stop;
	atomic_bool reload;                /* SIGHUP: re-exec with the new config */
};

/* Copies src into dst (size n), truncating; always NUL-terminated. */
static inline void agent_strcpy(char *dst, size_t n, const char *src)
{
	size_t len = strnlen(src, n - 1);

	memcpy(dst, src, len);
	dst[len] = '\0';
}

/* Sleeps up to ms, returning early (false) once ctx->stop is set. */
bool agent_sleep_ms(struct agent_ctx *ctx, unsigned int ms);
uint32_t agent_rand_u32(void);

/* The parts; each runs until ctx->stop. */
void *agent_emitter_main(void *ctx);
/* harness.h: agent_harness_main, the harness's own schedule */
void *agent_probe_main(void *ctx);
/* Sets up wg0 and the module, resumes from the module's epoch. 0 or -1. */
struct agent_config;
int agent_config_setup(struct agent_ctx *ctx, struct agent_config **out);
void agent_config_run(struct agent_config *ca);
void agent_config_free(struct agent_config *ca);

#endif
