// SPDX-License-Identifier: MIT
/*
 * GET /v1/config/{node_id}: a node's config.
 *   v2: ?rev=R[&wait=S][&snapshot=1][&checkpoint=1]: a signed delta or snapshot from the
 *       published view, 204 when nothing is new, 409 for a revision from
 *       the future, 403 with a signed statement for a DENIED node, 503 +
 *       Retry-After when long-poll capacity is full.
 *   v1: [?wait=S&after_epoch=N]: the v1 reply (all peers, pairwise PSKs).
 */
#include <stdio.h>

#include "../http.h"
#include "../statements.h"

#define BUSY_RETRY_AFTER "5"

static void route_config_v1(struct api_server *s, struct request *r)
{
	uint64_t wait_s = 0, after = 0;
	bool has_wait, has_after;
	struct api_error err;
	unsigned int status;
	struct strbuf sb;

	if (!r->resumed) {
		if (http_query_uint(r, "wait", LONGPOLL_MAX_WAIT, &wait_s, &has_wait) ||
		    http_query_uint(r, "after_epoch", UINT64_MAX / 2, &after, &has_after)) {
			http_reply_error(s, r, 400, "bad_request",
					 "wait and after_epoch must be non-negative integers");
			return;
		}
		/* v1: past MAX_WAITERS the current config is answered at once */
		if (has_after && wait_s > 0 && controller_epoch_id(s->c) <= after &&
		    longpoll_add(s, r, false, after, (unsigned int)wait_s) == LONGPOLL_WAITING)
			return;	/* suspended: answered on a new epoch or at the deadline */
	}
	strbuf_init(&sb);
	status = controller_render_config(s->c, r->node_id, &sb, &err);
	if (!status) {
		strbuf_free(&sb);
		http_reply_api_error(s, r, &err);
		return;
	}
	http_reply_json(s, r, status, &sb);
}

/* shared: st is the view's "*" delta, the same bytes and headers for every waiter */
static void reply_statement(struct api_server *s, struct request *r, unsigned int status,
			    struct view *v, struct statement *st, bool with_group_key, bool shared)
{
	char revision[24];
	const char *headers[] = {
		MESHNET_HDR_STATEMENT_SIGNATURE, st->signature,
		MESHNET_HDR_REVISION, revision,
		with_group_key ? MESHNET_HDR_GROUP_KEY : NULL, v->epoch.group_key_b64,
		NULL,
	};

	snprintf(revision, sizeof(revision), "%llu", (unsigned long long)v->revision);
	if (shared)
		http_reply_shared(s, r, status, st->body, headers);
	else
		http_reply_blob(s, r, status, st->body, headers);
	st->body = NULL;
}

static void reply_nothing_new(struct api_server *s, struct request *r, uint64_t head)
{
	char revision[24];
	const char *headers[] = { MESHNET_HDR_REVISION, revision, NULL };

	snprintf(revision, sizeof(revision), "%llu", (unsigned long long)head);
	http_reply_empty(s, r, 204, headers);
}

static void route_config_v2(struct api_server *s, struct request *r, uint64_t rev,
			    uint64_t wait_s, bool want_snapshot, bool checkpoint)
{
	struct view *v = controller_view(s->c);
	const struct peer_rec *self = controller_view_node(s->c, v, r->node_id);
	struct statement st = { 0 };
	bool shared;
	char msg[160];
	int ret;

	if (!self) {	/* removed since authentication */
		snprintf(msg, sizeof(msg), "node %s is not enrolled", r->node_id);
		http_reply_error(s, r, 401, "unknown_node", msg);
		goto out;
	}
	if (rev > v->revision) {
		snprintf(msg, sizeof(msg), "revision %llu is ahead of this controller's head %llu: "
			 "ask again with rev=0 for a snapshot", (unsigned long long)rev,
			 (unsigned long long)v->revision);
		http_reply_error(s, r, 409, "revision_from_future", msg);
		goto out;
	}
	if (rev == v->revision && !want_snapshot) {
		if (wait_s && !r->resumed) {
			const char *headers[] = { "Retry-After", BUSY_RETRY_AFTER, NULL };

			switch (longpoll_add(s, r, true, rev, (unsigned int)wait_s)) {
			case LONGPOLL_WAITING:
				goto out;	/* answered on a newer revision or at the deadline */
			case LONGPOLL_FULL:
				http_reply_error_headers(s, r, 503, "busy",
							 "long-poll capacity is full; retry later",
							 headers);
				goto out;
			case LONGPOLL_NEWER:
				/* published meanwhile: answer from the newest view */
				view_put(v);
				r->resumed = true;
				route_config_v2(s, r, rev, 0, false, checkpoint);
				return;
			}
		}
		reply_nothing_new(s, r, v->revision);
		goto out;
	}
	if (self->verdict != VERDICT_ALLOWED) {
		if (statement_denied(s->c, v, self, &st))
			goto err;
		reply_statement(s, r, 403, v, &st, false, false);
		goto out;
	}
	ret = 1;
	if (rev && !want_snapshot)
		ret = statement_delta(s->c, v, self, rev, checkpoint, &st);
	/* group mode: the delta is the shared "*" one (statements.h) */
	shared = ret == 0 && v->epoch.group;
	if (ret > 0)
		ret = statement_snapshot(s->c, v, self, &st);
	if (ret)
		goto err;
	__atomic_fetch_add(&s->c->stats.config_served, 1, __ATOMIC_RELAXED);
	reply_statement(s, r, 200, v, &st, v->epoch.group, shared);
	goto out;
err:
	http_reply_error(s, r, 500, "internal", "could not render the statement");
out:
	statement_free(&st);
	view_put(v);
}

void route_config(struct api_server *s, struct request *r)
{
	uint64_t wait_s = 0, rev = 0, snapshot = 0, checkpoint = 0;
	bool has_wait, has_rev, has_snapshot, has_checkpoint;

	if (r->resumed && r->config_v2) {
		/* a woken waiter: its query was read and checked when it came in */
		route_config_v2(s, r, r->config_rev, 0, false, r->config_checkpoint);
		return;
	}
	if (http_query_uint(r, "rev", UINT64_MAX / 2, &rev, &has_rev) ||
	    http_query_uint(r, "wait", LONGPOLL_MAX_WAIT, &wait_s, &has_wait) ||
	    http_query_uint(r, "snapshot", 1, &snapshot, &has_snapshot) ||
	    http_query_uint(r, "checkpoint", 1, &checkpoint, &has_checkpoint)) {
		http_reply_error(s, r, 400, "bad_request",
				 "rev, wait, snapshot and checkpoint must be non-negative integers");
		return;
	}
	if (!has_rev) {
		route_config_v1(s, r);
		return;
	}
	if (MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, "after_epoch")) {
		http_reply_error(s, r, 400, "bad_request",
				 "after_epoch (v1) and rev (v2) do not mix: use rev");
		return;
	}
	r->config_v2 = true;
	r->config_rev = rev;
	r->config_checkpoint = checkpoint == 1;
	route_config_v2(s, r, rev, wait_s, snapshot == 1, checkpoint == 1);
}
