// SPDX-License-Identifier: MIT
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include <json-c/json.h>

#include "bench.h"
#include "timefmt.h"

static double clamp01(double v)
{
	return v < 0.0 ? 0.0 : v > 1.0 ? 1.0 : v;
}

void agent_bench_generate(const struct agent_options *o, uint32_t (*rnd)(void),
			  struct agent_benchmark *b)
{
	for (int i = 0; i < AGENT_SCORE_COUNT; i++) {
		/* uniform in [-jitter, +jitter], rounded to 2 decimals like the seed */
		double u = (double)rnd() / (double)UINT32_MAX;
		double v = clamp01(o->score_mean[i] + (2.0 * u - 1.0) * o->score_jitter);

		b->scores[i] = round(v * 100.0) / 100.0;
	}
	snprintf(b->suite_version, sizeof(b->suite_version), "%s", o->suite_version);
}

static int printable(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s == 0x7f)
			return 0;
	return 1;
}

int agent_bench_parse(const char *text, size_t len, const char *node_id,
		      const char *default_suite, struct agent_benchmark *b, char *err,
		      size_t errlen)
{
	struct json_tokener *tok;
	struct json_object *root, *scores, *v;
	size_t off;
	int ret = -1;

	if (len == 0) {
		snprintf(err, errlen, "harness printed nothing");
		return -1;
	}
	if (memchr(text, '\0', len)) {
		snprintf(err, errlen, "harness output contains a NUL byte");
		return -1;
	}
	tok = json_tokener_new();
	if (!tok) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	root = json_tokener_parse_ex(tok, text, (int)len);
	off = tok->char_offset;
	if (!root) {
		snprintf(err, errlen, "harness output is not JSON (%s at byte %zu)",
			 json_tokener_error_desc(json_tokener_get_error(tok)), off);
		json_tokener_free(tok);
		return -1;
	}
	json_tokener_free(tok);
	for (; off < len; off++) {
		if (!strchr(" \t\r\n", text[off])) {
			snprintf(err, errlen, "harness output has data after the JSON object (byte %zu)",
				 off);
			goto out;
		}
	}
	if (!json_object_is_type(root, json_type_object)) {
		snprintf(err, errlen, "harness output is not a JSON object");
		goto out;
	}
	if (!json_object_object_get_ex(root, "scores", &scores) ||
	    !json_object_is_type(scores, json_type_object)) {
		snprintf(err, errlen, "harness output has no \"scores\" object");
		goto out;
	}
	for (int i = 0; i < AGENT_SCORE_COUNT; i++) {
		double d;

		if (!json_object_object_get_ex(scores, agent_score_names[i], &v)) {
			snprintf(err, errlen, "scores.%s is missing", agent_score_names[i]);
			goto out;
		}
		if (!json_object_is_type(v, json_type_double) &&
		    !json_object_is_type(v, json_type_int)) {
			snprintf(err, errlen, "scores.%s is not a number", agent_score_names[i]);
			goto out;
		}
		d = json_object_get_double(v);
		if (!isfinite(d) || d < 0.0 || d > 1.0) {
			snprintf(err, errlen, "scores.%s = %g is outside 0..1", agent_score_names[i], d);
			goto out;
		}
		b->scores[i] = d;
	}
	if (json_object_object_get_ex(root, "node_id", &v)) {
		if (!json_object_is_type(v, json_type_string) ||
		    strcmp(json_object_get_string(v), node_id)) {
			snprintf(err, errlen, "node_id of the harness output is not %s", node_id);
			goto out;
		}
	}
	snprintf(b->suite_version, sizeof(b->suite_version), "%s", default_suite);
	if (json_object_object_get_ex(root, "suite_version", &v)) {
		const char *s = json_object_get_string(v);

		if (!json_object_is_type(v, json_type_string) || !s[0] ||
		    strlen(s) >= sizeof(b->suite_version) || !printable(s)) {
			snprintf(err, errlen,
				 "suite_version must be a printable string of 1..63 characters");
			goto out;
		}
		snprintf(b->suite_version, sizeof(b->suite_version), "%s", s);
	}
	ret = 0;
out:
	json_object_put(root);
	return ret;
}

int agent_bench_run_cmd(const struct agent_harness *h, const char *default_suite,
			struct agent_benchmark *b, struct agent_harness_result *r, char *err,
			size_t errlen)
{
	char *out = malloc(AGENT_BENCH_MAX_OUTPUT + 1);
	int ret = -1;

	memset(r, 0, sizeof(*r));
	if (!out) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (agent_harness_run(h, out, AGENT_BENCH_MAX_OUTPUT, r, err, errlen))
		goto out;
	if (r->interrupted) {
		snprintf(err, errlen, "harness interrupted: the agent stops");
	} else if (r->timed_out) {
		snprintf(err, errlen, "harness did not finish within %u s and was %s", h->timeout_sec,
			 r->killed ? "killed (SIGTERM, then SIGKILL after the grace)" :
				     "terminated (SIGTERM)");
	} else if (WIFSIGNALED(r->status)) {
		snprintf(err, errlen, "harness was killed by signal %d", WTERMSIG(r->status));
	} else if (WEXITSTATUS(r->status) != 0) {
		snprintf(err, errlen, "harness exited with status %d%s%s", WEXITSTATUS(r->status),
			 r->stderr_tail[0] ? ": " : "", r->stderr_tail);
	} else if (r->too_big) {
		snprintf(err, errlen, "harness printed more than %d bytes", AGENT_BENCH_MAX_OUTPUT);
	} else {
		ret = agent_bench_parse(out, r->used, h->node_id, default_suite, b, err, errlen);
	}
out:
	free(out);
	return ret;
}

char *agent_bench_body(const char *node_id, const struct agent_benchmark *b, int64_t now,
		       int64_t measured_at, bool demo_scores)
{
	char ts[MESHNET_RFC3339_LEN];
	struct json_object *root = json_object_new_object();
	struct json_object *scores = json_object_new_object();
	char *body = NULL;

	if (!root || !scores)
		goto out;
	meshnet_rfc3339_format(ts, now);
	json_object_object_add(root, "node_id", json_object_new_string(node_id));
	json_object_object_add(root, "suite_version", json_object_new_string(b->suite_version));
	json_object_object_add(root, "timestamp", json_object_new_string(ts));
	meshnet_rfc3339_format(ts, measured_at);
	json_object_object_add(root, "measured_at", json_object_new_string(ts));
	/* says on every submission whether the scores are made up */
	json_object_object_add(root, "demo_scores", json_object_new_boolean(demo_scores));
	for (int i = 0; i < AGENT_SCORE_COUNT; i++)
		json_object_object_add(scores, agent_score_names[i],
				       json_object_new_double(b->scores[i]));
	json_object_object_add(root, "scores", scores);
	scores = NULL;
	body = strdup(json_object_to_json_string_ext(root, JSON_C_TO_STRING_PLAIN));
out:
	json_object_put(scores);
	json_object_put(root);
	return body;
}
