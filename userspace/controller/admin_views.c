// SPDX-License-Identifier: MIT
/*
 * The admin read views (GET /v1/admin/...): the node list with verdicts,
 * one node with its recent score history, the controller's status, the
 * epoch, and the audit log's tail. Admin-only: they may walk every node
 * (O(n)), never under a lock a node's request waits on for long (one pass).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "admin.h"
#include "timefmt.h"
#include "version.h"

static void json_time(struct strbuf *out, const char *key, int64_t t)
{
	char ts[MESHNET_RFC3339_LEN];

	if (!t) {
		strbuf_printf(out, "\"%s\":null", key);
		return;
	}
	meshnet_rfc3339_format(ts, t);
	strbuf_printf(out, "\"%s\":\"%s\"", key, ts);
}

static void render_scores(struct strbuf *out, const struct scores *s)
{
	strbuf_printf(out, "{\"overall\":%.4g,\"refusal\":%.4g,\"honesty\":%.4g,\"policy\":%.4g}",
		      s->overall, s->refusal, s->honesty, s->policy);
}

/* The summary of one node (the list's element). Lock held. */
static void render_summary(struct strbuf *out, const struct node *n)
{
	strbuf_printf(out, "{\"node_id\":\"%s\",\"verdict\":\"%s\",\"reason\":", n->id,
		      verdict_name(n->verdict));
	strbuf_json_string(out, n->reason);
	strbuf_printf(out, ",\"pin\":%s%s%s,", n->pin == PIN_NONE ? "" : "\"",
		      n->pin == PIN_NONE ? "null" : pin_name(n->pin), n->pin == PIN_NONE ? "" : "\"");
	strbuf_printf(out, "\"public_key\":\"%s\",\"allowed_ips\":%s,\"endpoint\":", n->wg_public_key,
		      n->allowed_ips_json);
	if (n->endpoint[0])
		strbuf_json_string(out, n->endpoint);
	else
		strbuf_puts(out, "null");
	strbuf_puts(out, ",\"last_benchmark\":");
	if (n->has_benchmark) {
		strbuf_puts(out, "{\"scores\":");
		render_scores(out, &n->scores);
		strbuf_puts(out, ",\"suite_version\":");
		strbuf_json_string(out, n->suite_version);
		strbuf_puts(out, ",");
		json_time(out, "timestamp", n->benchmark_time);
		strbuf_puts(out, ",");
		json_time(out, "measured_at", n->benchmark_measured);
		strbuf_printf(out, ",\"demo_scores\":%s}", n->demo_scores ? "true" : "false");
	} else {
		strbuf_puts(out, "null");
	}
	/* last seen: the last accepted signed submission */
	strbuf_puts(out, ",");
	json_time(out, "last_seen", n->benchmark_received);
	strbuf_puts(out, ",");
	json_time(out, "last_update", n->last_update);
	strbuf_puts(out, "}");
}

void admin_render_nodes(struct controller *c, struct strbuf *out)
{
	pthread_mutex_lock(&c->lock);
	strbuf_printf(out, "{\"epoch\":%llu,\"count\":%zu,\"nodes\":[",
		      (unsigned long long)c->epoch.id, c->n_nodes);
	for (size_t i = 0; i < c->n_nodes; i++) {
		if (i)
			strbuf_puts(out, ",");
		render_summary(out, c->nodes[i]);
	}
	strbuf_puts(out, "]}");
	pthread_mutex_unlock(&c->lock);
}

int admin_render_node(struct controller *c, const char *id, struct strbuf *out)
{
	struct node *n;

	pthread_mutex_lock(&c->lock);
	n = controller_find(c, id);
	if (!n) {
		pthread_mutex_unlock(&c->lock);
		return -1;
	}
	strbuf_puts(out, "{\"node\":");
	render_summary(out, n);
	strbuf_puts(out, ",\"score_history\":[");
	/* oldest first */
	for (unsigned int k = 0; k < n->history_len; k++) {
		const struct score_sample *h =
			&n->history[(n->history_next + NODE_HISTORY - n->history_len + k) %
				    NODE_HISTORY];

		strbuf_puts(out, k ? ",{" : "{");
		json_time(out, "timestamp", h->time);
		strbuf_printf(out, ",\"demo_scores\":%s,\"scores\":", h->demo ? "true" : "false");
		render_scores(out, &h->scores);
		strbuf_puts(out, "}");
	}
	strbuf_printf(out, "],\"thresholds\":{\"overall\":%.4g,\"refusal\":%.4g,\"honesty\":%.4g,"
		      "\"policy\":%.4g,\"max_benchmark_age\":%ld}}", c->cfg->threshold,
		      c->cfg->min_refusal, c->cfg->min_honesty, c->cfg->min_policy,
		      c->cfg->max_benchmark_age);
	pthread_mutex_unlock(&c->lock);
	return 0;
}

void admin_render_status(struct controller *c, struct strbuf *out)
{
	char head[65];
	uint64_t records;
	size_t demo = 0, pinned = 0, no_bench = 0;

	pthread_mutex_lock(&c->lock);
	for (size_t i = 0; i < c->n_nodes; i++) {
		demo += c->nodes[i]->has_benchmark && c->nodes[i]->demo_scores;
		pinned += c->nodes[i]->pin != PIN_NONE;
		no_bench += !c->nodes[i]->has_benchmark;
	}
	store_audit_head(c->store, head, &records);
	strbuf_printf(out, "{\"version\":\"%s\",\"epoch\":{\"id\":%llu,", MESHNET_VERSION,
		      (unsigned long long)c->epoch.id);
	json_time(out, "start", c->epoch.start);
	strbuf_puts(out, ",");
	json_time(out, "expiry", c->epoch.expiry);
	strbuf_printf(out, "},\"nodes\":{\"total\":%zu,\"allowed\":%zu,\"denied\":%zu,"
		      "\"pinned\":%zu,\"demo_scores\":%zu,\"no_benchmark\":%zu},", c->n_nodes,
		      c->n_allowed, c->n_nodes - c->n_allowed, pinned, demo, no_bench);
	strbuf_printf(out, "\"audit\":{\"records\":%llu,\"head\":\"%s\"},",
		      (unsigned long long)records, head);
	strbuf_printf(out, "\"rules\":{\"threshold\":%.4g,\"min_refusal\":%.4g,\"min_honesty\":%.4g,"
		      "\"min_policy\":%.4g,\"max_benchmark_age\":%ld,\"epoch_seconds\":%ld,"
		      "\"allow_demo_scores\":%s},", c->cfg->threshold, c->cfg->min_refusal,
		      c->cfg->min_honesty, c->cfg->min_policy, c->cfg->max_benchmark_age,
		      c->cfg->epoch_seconds, c->cfg->allow_demo_scores ? "true" : "false");
	strbuf_printf(out, "\"counters\":{\"benchmarks_accepted\":%llu,\"rotations\":%llu,"
		      "\"verdict_changes\":%llu,\"auth_failures\":%llu,\"replays\":%llu,"
		      "\"demo_scores_refused\":%llu}}",
		      (unsigned long long)c->stats.benchmarks_accepted,
		      (unsigned long long)c->stats.rotations,
		      (unsigned long long)c->stats.verdict_changes,
		      (unsigned long long)c->stats.auth_failures,
		      (unsigned long long)c->stats.replays,
		      (unsigned long long)c->stats.demo_scores_refused);
	pthread_mutex_unlock(&c->lock);
}

void admin_render_epochs(struct controller *c, struct strbuf *out)
{
	pthread_mutex_lock(&c->lock);
	strbuf_printf(out, "{\"current\":{\"id\":%llu,", (unsigned long long)c->epoch.id);
	json_time(out, "start", c->epoch.start);
	strbuf_puts(out, ",");
	json_time(out, "expiry", c->epoch.expiry);
	/* the secret's hash identifies it in the audit log; the secret never leaves */
	strbuf_printf(out, ",\"secret_hash\":\"sha256:%s\",\"allowed\":%zu,\"denied\":%zu},",
		      c->epoch.secret_hash, c->n_allowed, c->n_nodes - c->n_allowed);
	strbuf_printf(out, "\"epoch_seconds\":%ld,\"rotations\":%llu,\"next_rotation\":",
		      c->cfg->epoch_seconds, (unsigned long long)c->stats.rotations);
	if (c->rotate_at) {
		char ts[MESHNET_RFC3339_LEN];

		meshnet_rfc3339_format(ts, c->rotate_at);
		strbuf_printf(out, "\"%s\"}", ts);
	} else {
		strbuf_puts(out, "null}");
	}
	pthread_mutex_unlock(&c->lock);
}

/*
 * The last n records of STATE_DIR/audit.jsonl (the state-directory store),
 * read backwards from the end: O(n), not O(file). -1 + err if unreadable.
 */
int admin_render_audit_tail(const char *state_dir, unsigned int n, struct strbuf *out,
			    struct api_error *err)
{
	char path[512], *buf = NULL;
	struct stat st;
	off_t start;
	size_t len, pos;
	unsigned int lines = 0;
	int fd, first = 1;

	snprintf(path, sizeof(path), "%s/audit.jsonl", state_dir);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT) {
		strbuf_puts(out, "{\"records\":[]}");
		return 0;
	}
	if (fd < 0 || fstat(fd, &st)) {
		api_error_set(err, 500, "storage", "cannot read the audit log");
		goto fail;
	}
	/* records are short JSON lines: 4 KiB each is plenty */
	len = (size_t)st.st_size < (size_t)n * 4096 + 1 ? (size_t)st.st_size : (size_t)n * 4096 + 1;
	start = st.st_size - (off_t)len;
	buf = malloc(len + 1);
	if (!buf || pread(fd, buf, len, start) != (ssize_t)len) {
		api_error_set(err, 500, "storage", "cannot read the audit log");
		goto fail;
	}
	buf[len] = '\0';
	/* walk back to the start of the n-th last newline-terminated record */
	pos = len;
	if (pos && buf[pos - 1] == '\n')
		pos--;
	while (pos > 0) {
		if (buf[pos - 1] == '\n' && ++lines == n)
			break;
		pos--;
	}
	if (pos == 0 && start > 0) /* the buffer's first record may be cut: skip it */
		pos = strcspn(buf, "\n") + (buf[strcspn(buf, "\n")] ? 1 : 0);
	strbuf_puts(out, "{\"records\":[");
	for (char *line = buf + pos, *nl; *line; line = nl + 1) {
		nl = strchr(line, '\n');
		if (!nl)
			break;
		*nl = '\0';
		if (*line) {
			strbuf_puts(out, first ? "" : ",");
			strbuf_puts(out, line); /* each record is one JSON object (audit_format) */
			first = 0;
		}
	}
	strbuf_puts(out, "]}");
	free(buf);
	close(fd);
	return 0;
fail:
	free(buf);
	if (fd >= 0)
		close(fd);
	return -1;
}
