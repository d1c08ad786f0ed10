/* SPDX-License-Identifier: MIT */
/*
 * Benchmark sources of the emitter: the generator (mean +/- jitter per
 * score, for demos) and an external harness (BENCH_CMD) whose stdout JSON
 * is validated before anything is sent. Also builds the signed body.
 */
#ifndef AGENT_BENCH_H
#define AGENT_BENCH_H

#include <stddef.h>
#include <stdint.h>

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
 * Runs `sh -c cmd` with stdin /dev/null, stdout captured (at most
 * AGENT_BENCH_MAX_OUTPUT bytes), killed (whole process group) after
 * timeout_sec. Fails on a non-zero exit, a signal, a timeout, too much or
 * invalid output.
 */
int agent_bench_run_cmd(const char *cmd, unsigned int timeout_sec, const char *node_id,
			const char *default_suite, struct agent_benchmark *b, char *err,
			size_t errlen);

/* The POST /v1/benchmarks body (malloc'd, NUL-terminated) or NULL. */
char *agent_bench_body(const char *node_id, const struct agent_benchmark *b, int64_t now);

#endif
