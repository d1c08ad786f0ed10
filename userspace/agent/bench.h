/* SPDX-License-Identifier: MIT */
/*
 * Benchmark sources of the emitter: an external harness (BENCH_CMD) whose
 * stdout JSON is validated before anything is sent, or, only when asked for
 * with DEMO_SCORES, the generator of made-up scores (mean +/- jitter per
 * score). Also builds the signed body.
 */
#ifndef AGENT_BENCH_H
#define AGENT_BENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "harness.h"
#include "options.h"

#define AGENT_BENCH_MAX_OUTPUT 16384 /* the controller's body limit */

struct agent_benchmark {
	double scores[AGENT_SCORE_COUNT];
	char suite_version[64];
};

/* rnd: uniform u32 source (tests pass a fixed one). */
void agent_bench_generate(const struct agent_options *o, uint32_t (*rnd)(void),
			  struct agent_benchmark *b);

/*
 * Validates a harness's JSON output: an object with "scores" holding
 * overall, refusal, honesty and policy as finite numbers in [0, 1];
 * optional "suite_version" (printable, < 64 chars) and "node_id" (must be
 * ours). Anything else: -1 and a sentence in err.
 */
int agent_bench_parse(const char *text, size_t len, const char *node_id,
		      const char *default_suite, struct agent_benchmark *b, char *err,
		      size_t errlen);

/*
 * Runs the harness h (sandboxed, see harness.h) and validates its stdout
 * (at most AGENT_BENCH_MAX_OUTPUT bytes). Fails on a non-zero exit, a
 * signal, a timeout, an interruption, too much or invalid output.
 */
int agent_bench_run_cmd(const struct agent_harness *h, const char *default_suite,
			struct agent_benchmark *b, struct agent_harness_result *r, char *err,
			size_t errlen);

/*
 * The POST /v1/benchmarks body (malloc'd, NUL-terminated) or NULL:
 * timestamp = now (the submission), measured_at = when the harness
 * produced the scores, demo_scores = whether they come from the generator.
 */
char *agent_bench_body(const char *node_id, const struct agent_benchmark *b, int64_t now,
		       int64_t measured_at, bool demo_scores);

/*
 * The harness's latest good result, for the emitter. Guarded by the
 * agent's state lock.
 */
struct agent_bench_latest {
	bool have;
	struct agent_benchmark b;
	int64_t measured_at; /* unix seconds */
};

#endif
