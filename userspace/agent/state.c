// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include "b64.h"
#include "fileio.h"
#include "nl/meshnet_parse.h"
#include "state.h"
#include "timefmt.h"

const char *const agent_repair_names[AGENT_REPAIR_COUNT] = {
	[AGENT_REPAIR_WG_DEVICE] = "wg_device",
	[AGENT_REPAIR_ATTACH] = "attach",
	[AGENT_REPAIR_POLICY] = "policy",
	[AGENT_REPAIR_MODULE] = "module",
	[AGENT_REPAIR_WG_PEERS] = "wg_peers",
	[AGENT_REPAIR_RESYNC] = "resync",
};

int agent_state_init(struct agent_state *s, const char *node_id, const char *state_dir)
{
	memset(s, 0, sizeof(*s));
	if (pthread_mutex_init(&s->lock, NULL))
		return -1;
	snprintf(s->node_id, sizeof(s->node_id), "%s", node_id);
	snprintf(s->path, sizeof(s->path), "%s/%s", state_dir, AGENT_STATUS_FILE);
	s->started_at = time(NULL);
	return 0;
}

void agent_state_destroy(struct agent_state *s)
{
	free(s->peers);
	s->peers = NULL;
	pthread_mutex_destroy(&s->lock);
}

int agent_state_set_peers(struct agent_state *s, const struct meshnet_peer *peers, size_t n)
{
	struct agent_peer_status *np = n ? calloc(n, sizeof(*np)) : NULL;

	if (n && !np)
		return -1;
	for (size_t i = 0; i < n; i++) {
		const struct meshnet_peer *p = &peers[i];
		struct agent_peer_status *d = &np[i];

		snprintf(d->name, sizeof(d->name), "%s",
			 (p->flags & MESHNET_PEER_HAS_NAME) ? p->name : "?");
		memcpy(d->public_key, p->public_key, MESHNET_KEY_LEN);
		d->verdict = p->verdict;
		/* probe the first address, preferring IPv4 */
		for (size_t j = 0; j < p->n_allowedips; j++) {
			if (!d->has_addr || (d->addr.family == AF_INET6 &&
					     p->allowedips[j].family == AF_INET)) {
				d->addr = p->allowedips[j];
				d->has_addr = true;
			}
		}
		for (size_t k = 0; k < s->n_peers; k++) {
			if (memcmp(s->peers[k].public_key, d->public_key, MESHNET_KEY_LEN))
				continue;
			d->probed_at = s->peers[k].probed_at;
			d->ping_ok = s->peers[k].ping_ok;
			d->rtt_us = s->peers[k].rtt_us;
			memcpy(d->ping_why, s->peers[k].ping_why, sizeof(d->ping_why));
		}
	}
	free(s->peers);
	s->peers = np;
	s->n_peers = n;
	return 0;
}

static void add_time(struct json_object *o, const char *key, int64_t t)
{
	char ts[MESHNET_RFC3339_LEN];

	if (!t) {
		json_object_object_add(o, key, NULL);
		return;
	}
	meshnet_rfc3339_format(ts, t);
	json_object_object_add(o, key, json_object_new_string(ts));
}

int agent_state_publish(const struct agent_state *s)
{
	struct json_object *root = json_object_new_object(), *o, *peers;
	const char *text;
	int ret = -1;

	if (!root)
		return -1;
	json_object_object_add(root, "node_id", json_object_new_string(s->node_id));
	add_time(root, "updated_utc", time(NULL));
	add_time(root, "started_utc", s->started_at);
	json_object_object_add(root, "membership",
			       json_object_new_string(meshnet_verdict_name(s->self_verdict)));
	if (s->self_reason[0])
		json_object_object_add(root, "reason", json_object_new_string(s->self_reason));
	if (s->explanation[0])
		json_object_object_add(root, "explanation", json_object_new_string(s->explanation));
	o = json_object_new_object();
	json_object_object_add(o, "id", json_object_new_uint64(s->epoch_id));
	json_object_object_add(o, "expiry_unix", json_object_new_uint64(s->epoch_expiry));
	add_time(o, "expiry_utc", (int64_t)s->epoch_expiry);
	json_object_object_add(root, "epoch", o);

	o = json_object_new_object();
	if (s->controller_url[0])
		json_object_object_add(o, "url", json_object_new_string(s->controller_url));
	add_time(o, "last_ok_utc", s->last_config_at);
	if (s->revision)
		json_object_object_add(o, "revision", json_object_new_uint64(s->revision));
	json_object_object_add(o, "statements_refused",
			       json_object_new_int64(s->statements_refused));
	if (s->last_refusal[0])
		json_object_object_add(o, "last_refusal", json_object_new_string(s->last_refusal));
	json_object_object_add(o, "consecutive_failures",
			       json_object_new_int64(s->config_failures));
	if (s->config_error[0])
		json_object_object_add(o, "last_error", json_object_new_string(s->config_error));
	json_object_object_add(root, "controller", o);

	o = json_object_new_object();
	{
		struct json_object *counts = json_object_new_object();

		for (int i = 0; i < AGENT_REPAIR_COUNT; i++)
			json_object_object_add(counts, agent_repair_names[i],
					       json_object_new_int64(s->repairs[i]));
		json_object_object_add(o, "repairs", counts);
	}
	add_time(o, "last_repair_utc", s->last_repair_at);
	if (s->last_repair[0])
		json_object_object_add(o, "last_repair", json_object_new_string(s->last_repair));
	json_object_object_add(o, "wg_pending", json_object_new_boolean(s->wg_pending));
	json_object_object_add(root, "reconcile", o);

	o = json_object_new_object();
	add_time(o, "last_submit_utc", s->last_submit_at);
	json_object_object_add(o, "last_overall", json_object_new_double(s->last_overall));
	json_object_object_add(o, "last_http_status", json_object_new_int64(s->last_submit_status));
	json_object_object_add(o, "submitted", json_object_new_int64(s->submitted));
	json_object_object_add(o, "failures", json_object_new_int64(s->submit_failures));
	if (s->submit_error[0])
		json_object_object_add(o, "last_error", json_object_new_string(s->submit_error));
	/* whether the submitted scores are made up (DEMO_SCORES) */
	json_object_object_add(o, "demo_scores", json_object_new_boolean(s->demo_scores));
	json_object_object_add(root, "benchmark", o);

	if (!s->demo_scores) {
		o = json_object_new_object();
		add_time(o, "last_run_utc", s->harness_last_run);
		add_time(o, "latest_result_utc", s->harness_measured_at);
		json_object_object_add(o, "last_duration_ms",
				       json_object_new_uint64(s->harness_duration_ms));
		json_object_object_add(o, "runs", json_object_new_int64(s->harness_runs));
		json_object_object_add(o, "failures", json_object_new_int64(s->harness_failures));
		if (s->harness_error[0])
			json_object_object_add(o, "last_error",
					       json_object_new_string(s->harness_error));
		json_object_object_add(root, "harness", o);
	}

	peers = json_object_new_array();
	for (size_t i = 0; i < s->n_peers; i++) {
		const struct agent_peer_status *p = &s->peers[i];
		char key[MESHNET_KEY_B64_LEN], addr[MESHNET_PREFIX_STRLEN];

		o = json_object_new_object();
		json_object_object_add(o, "node_id", json_object_new_string(p->name));
		meshnet_format_key(p->public_key, key);
		json_object_object_add(o, "public_key", json_object_new_string(key));
		json_object_object_add(o, "membership",
				       json_object_new_string(meshnet_verdict_name(p->verdict)));
		if (p->has_addr) {
			meshnet_format_allowedip(&p->addr, addr, sizeof(addr));
			*strchrnul(addr, '/') = '\0';
			json_object_object_add(o, "address", json_object_new_string(addr));
		}
		if (p->probed_at) {
			struct json_object *ping = json_object_new_object();

			add_time(ping, "at_utc", p->probed_at);
			json_object_object_add(ping, "ok", json_object_new_boolean(p->ping_ok));
			if (p->ping_ok)
				json_object_object_add(ping, "rtt_ms",
						       json_object_new_double(p->rtt_us / 1000.0));
			else
				json_object_object_add(ping, "error",
						       json_object_new_string(p->ping_why));
			json_object_object_add(o, "ping", ping);
		}
		json_object_array_add(peers, o);
	}
	json_object_object_add(root, "peers", peers);
	text = json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY |
						    JSON_C_TO_STRING_SPACED);
	if (text && !meshnet_atomic_write(s->path, text, strlen(text), 0644))
		ret = 0;
	json_object_put(root);
	return ret;
}

static const char *str_of(struct json_object *o, const char *key, const char *dflt)
{
	struct json_object *v;

	if (o && json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_string))
		return json_object_get_string(v);
	return dflt;
}

static struct json_object *obj_of(struct json_object *o, const char *key)
{
	struct json_object *v;

	if (o && json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_object))
		return v;
	return NULL;
}

int agent_status_print(const char *state_dir, bool json, FILE *out, char *err, size_t errlen)
{
	char path[4096];
	struct json_object *root, *ep, *ctl, *bench, *harness, *peers, *v;
	size_t len;
	char *text;

	snprintf(path, sizeof(path), "%s/%s", state_dir, AGENT_STATUS_FILE);
	text = meshnet_read_file(path, 16U << 20, &len);
	if (!text) {
		snprintf(err, errlen, "cannot read %s: %s (is meshnet-agent running with --state-dir %s?)",
			 path, strerror(errno), state_dir);
		return -1;
	}
	if (json) {
		fputs(text, out);
		fputc('\n', out);
		free(text);
		return 0;
	}
	root = json_tokener_parse(text);
	free(text);
	if (!root || !json_object_is_type(root, json_type_object)) {
		json_object_put(root);
		snprintf(err, errlen, "%s is not a status file", path);
		return -1;
	}
	ep = obj_of(root, "epoch");
	ctl = obj_of(root, "controller");
	bench = obj_of(root, "benchmark");
	harness = obj_of(root, "harness");
	fprintf(out, "node:        %s\n", str_of(root, "node_id", "?"));
	fprintf(out, "membership:  %s", str_of(root, "membership", "?"));
	if (str_of(root, "reason", NULL))
		fprintf(out, " (%s)", str_of(root, "reason", ""));
	fputc('\n', out);
	if (str_of(root, "explanation", NULL))
		fprintf(out, "why:         %s\n", str_of(root, "explanation", ""));
	if (ep && json_object_object_get_ex(ep, "id", &v))
		fprintf(out, "epoch:       %s, expires %s\n", json_object_get_string(v),
			str_of(ep, "expiry_utc", "never"));
	if (ctl) {
		fprintf(out, "controller:  %s, last answer %s", str_of(ctl, "url", "?"),
			str_of(ctl, "last_ok_utc", "never"));
		if (json_object_object_get_ex(ctl, "consecutive_failures", &v) &&
		    json_object_get_int64(v) > 0)
			fprintf(out, ", %s failures in a row, last: %s", json_object_get_string(v),
				str_of(ctl, "last_error", "?"));
		fputc('\n', out);
		if (json_object_object_get_ex(ctl, "revision", &v))
			fprintf(out, "revision:    %s (signed statements, protocol v2)\n",
				json_object_get_string(v));
		if (json_object_object_get_ex(ctl, "statements_refused", &v) &&
		    json_object_get_int64(v) > 0)
			fprintf(out, "refused:     %s statements, last: %s\n", json_object_get_string(v),
				str_of(ctl, "last_refusal", "?"));
	}
	{
		struct json_object *rec = obj_of(root, "reconcile"), *counts = obj_of(rec, "repairs");
		int64_t total = 0;

		if (counts) {
			json_object_object_foreach(counts, k, cv) {
				(void)k;
				total += json_object_get_int64(cv);
			}
		}
		if (rec) {
			fprintf(out, "reconcile:   %lld repairs", (long long)total);
			if (str_of(rec, "last_repair", NULL))
				fprintf(out, ", last at %s: %s", str_of(rec, "last_repair_utc", "?"),
					str_of(rec, "last_repair", ""));
			if (json_object_object_get_ex(rec, "wg_pending", &v) &&
			    json_object_get_boolean(v))
				fprintf(out, " (wg0 step pending)");
			fputc('\n', out);
		}
	}
	if (bench) {
		fprintf(out, "benchmark:   last submitted %s", str_of(bench, "last_submit_utc", "never"));
		if (json_object_object_get_ex(bench, "last_overall", &v))
			fprintf(out, ", overall=%.2f", json_object_get_double(v));
		if (json_object_object_get_ex(bench, "last_http_status", &v))
			fprintf(out, " (HTTP %s)", json_object_get_string(v));
		if (str_of(bench, "last_error", NULL))
			fprintf(out, ", last error: %s", str_of(bench, "last_error", ""));
		fputc('\n', out);
		if (json_object_object_get_ex(bench, "demo_scores", &v) && json_object_get_boolean(v))
			fprintf(out, "scores:      DEMO (made-up scores from the generator, DEMO_SCORES=yes)\n");
	}
	if (harness) {
		fprintf(out, "harness:     last run %s", str_of(harness, "last_run_utc", "never"));
		if (json_object_object_get_ex(harness, "last_duration_ms", &v))
			fprintf(out, " (%.1f s)", (double)json_object_get_int64(v) / 1000.0);
		fprintf(out, ", latest result %s", str_of(harness, "latest_result_utc", "none"));
		if (json_object_object_get_ex(harness, "failures", &v) && json_object_get_int64(v))
			fprintf(out, ", %s failures, last: %s", json_object_get_string(v),
				str_of(harness, "last_error", "-"));
		fputc('\n', out);
	}
	if (json_object_object_get_ex(root, "peers", &peers) &&
	    json_object_is_type(peers, json_type_array)) {
		fprintf(out, "peers:\n  %-16s %-18s %-8s %s\n", "NODE", "ADDRESS", "VERDICT", "PING");
		for (size_t i = 0; i < json_object_array_length(peers); i++) {
			struct json_object *p = json_object_array_get_idx(peers, i);
			struct json_object *ping = obj_of(p, "ping"), *ok = NULL;
			char pingtxt[160] = "not probed yet";

			if (ping && json_object_object_get_ex(ping, "ok", &ok)) {
				if (json_object_get_boolean(ok) &&
				    json_object_object_get_ex(ping, "rtt_ms", &v))
					snprintf(pingtxt, sizeof(pingtxt), "OK %.1f ms at %s",
						 json_object_get_double(v), str_of(ping, "at_utc", "?"));
				else
					snprintf(pingtxt, sizeof(pingtxt), "FAIL (%s) at %s",
						 str_of(ping, "error", "?"), str_of(ping, "at_utc", "?"));
			}
			fprintf(out, "  %-16s %-18s %-8s %s\n", str_of(p, "node_id", "?"),
				str_of(p, "address", "-"), str_of(p, "membership", "?"), pingtxt);
		}
	}
	json_object_put(root);
	return 0;
}
