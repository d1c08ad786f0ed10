// SPDX-License-Identifier: MIT
/*
 * The harness's own schedule: every BENCH_INTERVAL_SEC (from the start of
 * one run to the start of the next), run BENCH_CMD sandboxed and keep its
 * latest good result for the emitter, which submits it on its own clock; a
 * harness slower than EMIT_INTERVAL_SEC never delays a submission.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "agent.h"
#include "bench.h"
#include "harness.h"
#include "timefmt.h"
#include "log.h"

static void record_run(struct agent_ctx *ctx, const struct agent_benchmark *b, int ok,
		       uint64_t duration_ms, const char *error)
{
	struct agent_state *s = &ctx->state;

	pthread_mutex_lock(&s->lock);
	s->harness_runs++;
	s->harness_last_run = time(NULL);
	s->harness_duration_ms = duration_ms;
	if (ok) {
		ctx->latest.have = true;
		ctx->latest.b = *b;
		ctx->latest.measured_at = s->harness_last_run;
		s->harness_measured_at = s->harness_last_run;
		s->harness_error[0] = '\0';
	} else {
		s->harness_failures++;
		agent_strcpy(s->harness_error, sizeof(s->harness_error), error);
	}
	agent_state_publish(s);
	pthread_mutex_unlock(&s->lock);
}

void *agent_harness_main(void *arg)
{
	struct agent_ctx *ctx = arg;
	const struct agent_options *o = &ctx->opts;
	uint64_t period_ms = (uint64_t)o->bench_interval * 1000;

	while (!atomic_load(&ctx->stop)) {
		struct agent_harness_result r;
		struct agent_benchmark b;
		char err[512];
		uint64_t t0 = meshnet_now_ns();
		uint64_t spent;
		int ok;

		ok = agent_bench_run_cmd(&ctx->harness, o->suite_version, &b, &r, err,
					 sizeof(err)) == 0;
		if (r.interrupted)
			break; /* the agent stops: not a failure of the harness */
		if (ok)
			log_info("BENCHMARK harness finished in %.1f s: suite_version=%s overall=%.2f",
				 (double)r.duration_ms / 1000.0, b.suite_version,
				 b.scores[AGENT_SCORE_OVERALL]);
		else
			log_warn("BENCHMARK harness failed after %.1f s, result not used: %s",
				 (double)r.duration_ms / 1000.0, err);
		record_run(ctx, &b, ok, r.duration_ms, err);
		spent = (meshnet_now_ns() - t0) / 1000000;
		agent_sleep_ms(ctx, spent < period_ms ? (unsigned int)(period_ms - spent) : 0);
	}
	return NULL;
}
