// SPDX-License-Identifier: MIT
/*
 * Benchmark emitter: every EMIT_INTERVAL_SEC, the harness's latest good
 * result (harness.c runs BENCH_CMD on its own schedule, so a slow harness
 * never delays a submission) or, with DEMO_SCORES, made-up scores that the
 * body says are made up; signed and POSTed to /v1/benchmarks/{node_id}.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include "agent.h"
#include "backoff.h"
#include "bench.h"
#include "http.h"
#include "log.h"
#include "timefmt.h"

/* "membership" and "epoch" of the controller's answer, for the log. */
static void describe_answer(const struct agent_http_reply *r, char *out, size_t outlen)
{
	struct json_object *root = r->body ? json_tokener_parse(r->body) : NULL, *m, *e;

	out[0] = '\0';
	if (root && json_object_object_get_ex(root, "membership", &m) &&
	    json_object_is_type(m, json_type_string)) {
		if (json_object_object_get_ex(root, "epoch", &e) &&
		    json_object_is_type(e, json_type_int))
			snprintf(out, outlen, " -> membership=%s epoch=%lld",
				 json_object_get_string(m), (long long)json_object_get_int64(e));
		else
			snprintf(out, outlen, " -> membership=%s", json_object_get_string(m));
	}
	json_object_put(root);
}

/*
 * What to submit: made-up scores (DEMO_SCORES) or the harness's latest good
 * result while it is younger than BENCH_MAX_AGE_SEC. 1 = nothing to submit.
 */
static int pick_benchmark(struct agent_ctx *ctx, struct agent_benchmark *b, int64_t *measured_at)
{
	const struct agent_options *o = &ctx->opts;
	int64_t now = time(NULL);
	int ret = 0;

	if (o->demo_scores) {
		agent_bench_generate(o, agent_rand_u32, b);
		*measured_at = now;
		return 0;
	}
	pthread_mutex_lock(&ctx->state.lock);
	if (!ctx->latest.have) {
		ret = 1;
	} else if (now - ctx->latest.measured_at > (int64_t)agent_bench_max_age(o)) {
		ret = 2;
	} else {
		*b = ctx->latest.b;
		*measured_at = ctx->latest.measured_at;
	}
	pthread_mutex_unlock(&ctx->state.lock);
	if (ret == 2) {
		static int64_t warned;

		if (now - warned >= 60) {
			log_warn("SUBMIT skipped: the harness's latest result is older than %u s "
				 "(BENCH_MAX_AGE_SEC); the node will go stale",
				 agent_bench_max_age(o));
			warned = now;
		}
	}
	return ret ? 1 : 0;
}

/* One submission; 0, 1 (nothing to submit yet) or -1. */
static int emit_once(struct agent_ctx *ctx, struct agent_http *http)
{
	const struct agent_options *o = &ctx->opts;
	struct agent_benchmark b;
	struct agent_http_reply reply;
	char err[512], path[128], more[160];
	int64_t measured_at = 0;
	char *body;
	int ret = -1;

	if (pick_benchmark(ctx, &b, &measured_at))
		return 1;
	body = agent_bench_body(o->node_id, &b, time(NULL), measured_at, o->demo_scores);
	if (!body)
		return -1;
	snprintf(path, sizeof(path), "/v1/benchmarks/%s", o->node_id);
	if (agent_http_request(http, "POST", path, body, o->http_timeout, &reply, err,
			       sizeof(err))) {
		log_warn("SUBMIT failed: controller unreachable: %s", err);
	} else if (reply.status != 200) {
		agent_http_error_text(&reply, err, sizeof(err));
		log_warn("SUBMIT refused: %s", err);
	} else {
		describe_answer(&reply, more, sizeof(more));
		log_info("SUBMITTED benchmark suite_version=%s overall=%.2f%s%s", b.suite_version,
			 b.scores[AGENT_SCORE_OVERALL], o->demo_scores ? " (DEMO scores)" : "",
			 more);
		ret = 0;
	}
	pthread_mutex_lock(&ctx->state.lock);
	if (ret == 0) {
		ctx->state.last_submit_at = time(NULL);
		ctx->state.last_overall = b.scores[AGENT_SCORE_OVERALL];
		ctx->state.submitted++;
		ctx->state.submit_error[0] = '\0';
	} else {
		ctx->state.submit_failures++;
		agent_strcpy(ctx->state.submit_error, sizeof(ctx->state.submit_error), err);
	}
	ctx->state.last_submit_status = reply.status;
	agent_state_publish(&ctx->state);
	pthread_mutex_unlock(&ctx->state.lock);
	agent_http_reply_free(&reply);
	free(body);
	return ret;
}

void *agent_emitter_main(void *arg)
{
	struct agent_ctx *ctx = arg;
	const struct agent_options *o = &ctx->opts;
	struct agent_backoff backoff;
	struct agent_http http;

	if (agent_http_init(&http, ctx->sign_key, o->node_id, o->controller, o->ca_file,
			    &ctx->stop)) {
		log_err("emitter: libcurl: cannot create a handle");
		return NULL;
	}
	http.audience = o->mesh_id;
	agent_backoff_init(&backoff, o->backoff_min_ms, o->backoff_max_ms);
	while (!atomic_load(&ctx->stop)) {
		uint64_t t0 = meshnet_now_ns(), spent_ms, period_ms = (uint64_t)o->emit_interval * 1000;
		unsigned int delay;
		int r = emit_once(ctx, &http);

		if (r == 1) {
			/* no harness result yet: submit as soon as there is one */
			agent_sleep_ms(ctx, period_ms < 1000 ? (unsigned int)period_ms : 1000);
			continue;
		}
		if (r == 0) {
			agent_backoff_reset(&backoff);
			spent_ms = (meshnet_now_ns() - t0) / 1000000;
			delay = spent_ms < period_ms ? (unsigned int)(period_ms - spent_ms) : 0;
		} else {
			/* retry sooner, but never more often than the backoff allows */
			delay = agent_backoff_next(&backoff, agent_rand_u32());
			if (delay > period_ms)
				delay = (unsigned int)period_ms;
		}
		agent_sleep_ms(ctx, delay);
	}
	agent_http_free(&http);
	return NULL;
}
