// SPDX-License-Identifier: MIT
/*
 * Config agent: long-polls GET /v1/config/{node_id}; each new epoch is
 * applied FIRST to the meshnet module as one transaction (verdicts,
 * prefixes, endpoints, PSKs, own verdict: from that instant a DENIED peer's
 * packets are dropped on wg0), THEN to wg0 through WireGuard's netlink API
 * (PSKs, endpoints and allowed IPs of ALLOWED peers; DENIED peers removed
 * with WGPEER_F_REMOVE_ME, after WG_REMOVE_DELAY_SEC if set). A 403 means
 * this node is DENIED: the module drops all of its wg traffic (self-deny)
 * and the peers' PSKs are wiped from the module and wg0.
 *
 * When the controller is unreachable, slow, 5xx or talks garbage, the agent
 * retries with exponential backoff and jitter; the last good epoch stays
 * applied and the module's dead man's switch decides when it has expired.
 * A restarted agent resumes from the module's epoch (it re-applies nothing
 * and long-polls for the next one).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>
#include <openssl/crypto.h>

#include "agent.h"
#include "backoff.h"
#include "http.h"
#include "log.h"
#include "nl/meshnet_epoch.h"
#include "nl/meshnet_nl.h"
#include "nl/meshnet_parse.h"
#include "timefmt.h"
#include "wg.h"

struct pending_removal {
	uint8_t key[MESHNET_KEY_LEN];
	char name[MESHNET_NAME_LEN];
	int64_t due; /* unix seconds */
};

struct agent_config {
	struct agent_ctx *ctx;
	struct meshnet_nl *nl;
	struct agent_wg *wg;
	struct agent_http http;
	struct agent_backoff backoff;
	/* what the module holds now (PSKs never kept here) */
	struct meshnet_epoch current;
	size_t n_pending;
	struct pending_removal *pending;
};

/* ---- the current epoch, a PSK-free copy of what was applied ---- */

static int copy_epoch(struct meshnet_epoch *dst, const struct meshnet_epoch *src)
{
	struct meshnet_peer *peers = NULL;

	if (src->n_peers) {
		peers = malloc(src->n_peers * sizeof(*peers));
		if (!peers)
			return -1;
		memcpy(peers, src->peers, src->n_peers * sizeof(*peers));
		for (size_t i = 0; i < src->n_peers; i++) {
			OPENSSL_cleanse(peers[i].psk, sizeof(peers[i].psk));
			peers[i].flags &= ~MESHNET_PEER_HAS_PSK;
		}
	}
	meshnet_epoch_free(dst);
	*dst = *src;
	dst->peers = peers;
	return 0;
}

static const struct meshnet_peer *find_peer(const struct meshnet_epoch *e, const uint8_t *key)
{
	for (size_t i = 0; i < e->n_peers; i++)
		if (!memcmp(e->peers[i].public_key, key, MESHNET_KEY_LEN))
			return &e->peers[i];
	return NULL;
}

static const char *peer_name(const struct meshnet_peer *p)
{
	return (p->flags & MESHNET_PEER_HAS_NAME) ? p->name : "?";
}

static void publish(struct agent_config *ca)
{
	struct agent_state *s = &ca->ctx->state;

	pthread_mutex_lock(&s->lock);
	s->epoch_id = ca->current.id;
	s->epoch_expiry = ca->current.expiry_unix;
	s->self_verdict = ca->current.self_verdict;
	snprintf(s->self_reason, sizeof(s->self_reason), "%s", ca->current.self_reason);
	agent_state_set_peers(s, ca->current.peers, ca->current.n_peers);
	agent_state_publish(s);
	pthread_mutex_unlock(&s->lock);
}

/* ---- wg0 ---- */

static void schedule_removal(struct agent_config *ca, const struct meshnet_peer *p, int64_t due)
{
	struct pending_removal *n;

	for (size_t i = 0; i < ca->n_pending; i++)
		if (!memcmp(ca->pending[i].key, p->public_key, MESHNET_KEY_LEN))
			return; /* already scheduled: keep the first deadline */
	n = realloc(ca->pending, (ca->n_pending + 1) * sizeof(*n));
	if (!n)
		return;
	ca->pending = n;
	memcpy(n[ca->n_pending].key, p->public_key, MESHNET_KEY_LEN);
	snprintf(n[ca->n_pending].name, sizeof(n->name), "%s", peer_name(p));
	n[ca->n_pending].due = due;
	ca->n_pending++;
}

static void cancel_removal(struct agent_config *ca, const uint8_t *key)
{
	for (size_t i = 0; i < ca->n_pending; i++) {
		if (memcmp(ca->pending[i].key, key, MESHNET_KEY_LEN))
			continue;
		ca->pending[i] = ca->pending[--ca->n_pending];
		return;
	}
}

/* Removes the peers whose delay has passed. */
static void run_removals(struct agent_config *ca)
{
	int64_t now = time(NULL);
	size_t i = 0;

	while (i < ca->n_pending) {
		struct agent_wg_peer rm = { .remove = true, .keepalive = -1 };

		if (ca->pending[i].due > now) {
			i++;
			continue;
		}
		memcpy(rm.public_key, ca->pending[i].key, MESHNET_KEY_LEN);
		if (agent_wg_set_peers(ca->wg, &rm, 1))
			log_err("wg: cannot remove %s: %s", ca->pending[i].name,
				agent_wg_error(ca->wg));
		else
			log_info("WG REMOVED %s (DENIED; its traffic was already dropped by the module)",
				 ca->pending[i].name);
		ca->pending[i] = ca->pending[--ca->n_pending];
	}
}

/* Seconds until the next pending removal, or -1. */
static int64_t next_removal_in(const struct agent_config *ca)
{
	int64_t best = -1, now = time(NULL);

	for (size_t i = 0; i < ca->n_pending; i++) {
		int64_t d = ca->pending[i].due - now;

		if (d < 0)
			d = 0;
		if (best < 0 || d < best)
			best = d;
	}
	return best;
}

struct stale_ctx {
	const struct meshnet_epoch *epoch;
	struct agent_wg_peer *list;
	size_t n, cap;
};

static int collect_stale(const struct agent_wg_peer_info *info, void *arg)
{
	struct stale_ctx *sc = arg;
	struct agent_wg_peer *n;

	if (find_peer(sc->epoch, info->public_key))
		return 0;
	if (sc->n == sc->cap) {
		sc->cap = sc->cap ? sc->cap * 2 : 8;
		n = realloc(sc->list, sc->cap * sizeof(*n));
		if (!n)
			return -ENOMEM;
		sc->list = n;
	}
	memset(&sc->list[sc->n], 0, sizeof(sc->list[0]));
	memcpy(sc->list[sc->n].public_key, info->public_key, MESHNET_KEY_LEN);
	sc->list[sc->n].remove = true;
	sc->list[sc->n].keepalive = -1;
	sc->n++;
	return 0;
}

/*
 * wg0 after the module: ALLOWED peers get PSK, endpoint, allowed IPs;
 * DENIED peers are removed (now or after the delay); peers wg0 has but the
 * epoch does not are removed. fresh: drop the sessions first (readmission
 * of this node), so handshakes restart at once with the new PSKs.
 */
static int apply_wg(struct agent_config *ca, const struct meshnet_epoch *e, bool fresh)
{
	const struct agent_options *o = &ca->ctx->opts;
	struct stale_ctx sc = { .epoch = e };
	struct agent_wg_peer *list;
	size_t n = 0;
	int64_t now = time(NULL);
	int ret = 0;

	if (agent_wg_dump_peers(ca->wg, collect_stale, &sc) < 0)
		log_warn("wg: %s", agent_wg_error(ca->wg));
	if (sc.n) {
		if (agent_wg_set_peers(ca->wg, sc.list, sc.n))
			log_err("wg: cannot remove %zu unknown peers: %s", sc.n,
				agent_wg_error(ca->wg));
		else
			log_info("WG REMOVED %zu peer(s) that are not in epoch %llu", sc.n,
				 (unsigned long long)e->id);
	}
	free(sc.list);

	list = calloc(e->n_peers ? 2 * e->n_peers : 1, sizeof(*list));
	if (!list)
		return -ENOMEM;
	for (size_t i = 0; i < e->n_peers; i++) {
		const struct meshnet_peer *p = &e->peers[i];
		struct agent_wg_peer *w = &list[n];

		if (p->verdict != MESHNET_VERDICT_ALLOWED) {
			if (o->wg_remove_delay) {
				schedule_removal(ca, p, now + o->wg_remove_delay);
				continue;
			}
			memcpy(w->public_key, p->public_key, MESHNET_KEY_LEN);
			w->remove = true;
			w->keepalive = -1;
			n++;
			continue;
		}
		cancel_removal(ca, p->public_key);
		if (fresh) {
			memcpy(w->public_key, p->public_key, MESHNET_KEY_LEN);
			w->remove = true;
			w->keepalive = -1;
			w = &list[++n];
		}
		memcpy(w->public_key, p->public_key, MESHNET_KEY_LEN);
		w->keepalive = o->keepalive ? (int)o->keepalive : -1;
		w->set_psk = true;
		if (p->flags & MESHNET_PEER_HAS_PSK)
			memcpy(w->psk, p->psk, MESHNET_KEY_LEN);
		if (p->flags & MESHNET_PEER_HAS_ENDPOINT) {
			w->has_endpoint = true;
			w->endpoint = p->endpoint;
		}
		w->n_allowedips = p->n_allowedips;
		w->allowedips = p->allowedips;
		n++;
	}
	if (n && agent_wg_set_peers(ca->wg, list, n)) {
		log_err("wg: %s", agent_wg_error(ca->wg));
		ret = -1;
	}
	OPENSSL_cleanse(list, (e->n_peers ? 2 * e->n_peers : 1) * sizeof(*list));
	free(list);
	run_removals(ca);
	return ret;
}

/* Self-deny: wipe every peer's PSK on wg0 (sessions stay; the module drops). */
static void wipe_wg_psks(struct agent_config *ca)
{
	struct agent_wg_peer *list = calloc(ca->current.n_peers + 1, sizeof(*list));

	if (!list)
		return;
	for (size_t i = 0; i < ca->current.n_peers; i++) {
		memcpy(list[i].public_key, ca->current.peers[i].public_key, MESHNET_KEY_LEN);
		list[i].set_psk = true; /* all zeros: no PSK */
		list[i].keepalive = -1;
	}
	if (ca->current.n_peers && agent_wg_set_peers(ca->wg, list, ca->current.n_peers))
		log_err("wg: cannot remove the PSKs: %s", agent_wg_error(ca->wg));
	free(list);
}

/* ---- transitions ---- */

static void log_transitions(const struct meshnet_epoch *old, const struct meshnet_epoch *e)
{
	size_t allowed = 0, denied = 0;

	for (size_t i = 0; i < e->n_peers; i++) {
		const struct meshnet_peer *p = &e->peers[i];
		const struct meshnet_peer *was = find_peer(old, p->public_key);

		if (p->verdict == MESHNET_VERDICT_ALLOWED)
			allowed++;
		else
			denied++;
		if (was && was->verdict == p->verdict)
			continue;
		log_info("PEER %s %s epoch=%llu%s%s", peer_name(p), meshnet_verdict_name(p->verdict),
			 (unsigned long long)e->id,
			 (p->flags & MESHNET_PEER_HAS_REASON) ? " reason=" : "",
			 (p->flags & MESHNET_PEER_HAS_REASON) ? p->reason : "");
	}
	for (size_t i = 0; i < old->n_peers; i++)
		if (!find_peer(e, old->peers[i].public_key))
			log_info("PEER %s left the mesh epoch=%llu", peer_name(&old->peers[i]),
				 (unsigned long long)e->id);
	log_info("APPLIED epoch=%llu psk **** peers allowed=%zu denied=%zu (module, then %s)",
		 (unsigned long long)e->id, allowed, denied, "wg");
}

/* 200: a config for this ALLOWED node. */
static int apply_allowed(struct agent_config *ca, struct meshnet_epoch *e)
{
	struct meshnet_epoch *cur = &ca->current;
	bool readmitted = cur->self_verdict == MESHNET_VERDICT_DENIED;
	bool force = e->id <= cur->id;
	int r;

	if (ca->ctx->opts.node_id[0] && e->node_id[0] && strcmp(e->node_id, ca->ctx->opts.node_id)) {
		log_err("config is for node %s, not for us: ignored", e->node_id);
		return -1;
	}
	if (e->id < cur->id)
		log_warn("controller epoch %llu is older than the module's %llu (controller state reset?): applying it",
			 (unsigned long long)e->id, (unsigned long long)cur->id);
	if (e->id == cur->id && !readmitted)
		return 0; /* nothing new */
	/* 1. the module: from here on, DENIED peers' packets are dropped */
	r = meshnet_nl_apply_epoch(ca->nl, e, force);
	if (r) {
		log_err("module: %s", meshnet_nl_error(ca->nl));
		return -1;
	}
	if (cur->self_verdict != e->self_verdict || cur->id != e->id)
		log_info("MEMBERSHIP=%s epoch=%llu%s%s", meshnet_verdict_name(e->self_verdict),
			 (unsigned long long)e->id, e->self_reason[0] ? " reason=" : "",
			 e->self_reason);
	log_transitions(cur, e);
	/* 2. wg0 */
	apply_wg(ca, e, readmitted);
	/* cur gets a PSK-free copy; the caller wipes and frees e */
	return copy_epoch(cur, e);
}

/* 403: this node is DENIED. */
static int apply_denied(struct agent_config *ca, const struct meshnet_epoch *e)
{
	struct meshnet_epoch *cur = &ca->current;
	struct meshnet_epoch deny = *cur;
	int r;

	if (e->id <= cur->id && cur->self_verdict == MESHNET_VERDICT_DENIED)
		return 0; /* already applied */
	deny.id = e->id;
	deny.expiry_unix = e->expiry_unix;
	deny.self_verdict = MESHNET_VERDICT_DENIED;
	snprintf(deny.self_reason, sizeof(deny.self_reason), "%s", e->self_reason);
	/* same peers, no PSKs (cur never holds any) */
	r = meshnet_nl_apply_epoch(ca->nl, &deny, e->id <= cur->id);
	if (r) {
		log_err("module: self-deny: %s", meshnet_nl_error(ca->nl));
		/* at least the verdict */
		if (meshnet_nl_set_self(ca->nl, MESHNET_VERDICT_DENIED, e->self_reason)) {
			log_err("module: set self DENIED: %s", meshnet_nl_error(ca->nl));
			return -1;
		}
	}
	log_info("MEMBERSHIP=DENIED epoch=%llu reason=%s", (unsigned long long)e->id,
		 e->self_reason[0] ? e->self_reason : "(none given)");
	wipe_wg_psks(ca);
	log_info("APPLIED self-deny epoch=%llu: all wg traffic dropped, peers' PSKs removed",
		 (unsigned long long)e->id);
	cur->id = e->id;
	cur->expiry_unix = e->expiry_unix;
	cur->self_verdict = MESHNET_VERDICT_DENIED;
	memcpy(cur->self_reason, deny.self_reason, sizeof(cur->self_reason));
	return 0;
}

/* The message of a 403 {"error": {"code": "denied", "message": ...}}. */
static void denied_reason(const struct agent_http_reply *r, char *out, size_t outlen)
{
	struct json_object *root = r->body ? json_tokener_parse(r->body) : NULL, *e, *m;

	out[0] = '\0';
	if (root && json_object_object_get_ex(root, "error", &e) &&
	    json_object_object_get_ex(e, "message", &m) && json_object_is_type(m, json_type_string))
		snprintf(out, outlen, "%s", json_object_get_string(m));
	json_object_put(root);
}

static int is_denied_reply(const struct agent_http_reply *r)
{
	struct json_object *root = r->body ? json_tokener_parse(r->body) : NULL, *e, *c;
	int yes = 0;

	if (root && json_object_object_get_ex(root, "error", &e) &&
	    json_object_object_get_ex(e, "code", &c) && json_object_is_type(c, json_type_string))
		yes = !strcmp(json_object_get_string(c), "denied");
	json_object_put(root);
	return yes;
}

/* One poll. 1 = new epoch applied, 0 = nothing new, -1 = failure (backoff). */
static int poll_once(struct agent_config *ca, unsigned int wait)
{
	const struct agent_options *o = &ca->ctx->opts;
	struct agent_http_reply reply;
	struct meshnet_epoch e = { 0 };
	char path[256], err[400], text[512];
	uint64_t before = ca->current.id;
	uint8_t before_self = ca->current.self_verdict;
	int ret = -1;

	if (ca->current.id)
		snprintf(path, sizeof(path), "/v1/config/%s?wait=%u&after_epoch=%llu", o->node_id,
			 wait, (unsigned long long)ca->current.id);
	else
		snprintf(path, sizeof(path), "/v1/config/%s", o->node_id);
	if (agent_http_request(&ca->http, "GET", path, NULL, wait + o->http_timeout, &reply, err,
			       sizeof(err))) {
		snprintf(text, sizeof(text), "controller unreachable: %s", err);
		goto fail;
	}
	if (reply.status == 200 || (reply.status == 403 && is_denied_reply(&reply))) {
		if (meshnet_epoch_parse(reply.body ? reply.body : "", reply.len, &e, err,
					sizeof(err))) {
			snprintf(text, sizeof(text), "garbage config answer (HTTP %ld): %s",
				 reply.status, err);
			goto fail;
		}
		if (reply.status == 403) {
			e.self_verdict = MESHNET_VERDICT_DENIED;
			denied_reason(&reply, e.self_reason, sizeof(e.self_reason));
			ret = apply_denied(ca, &e);
		} else if (e.self_verdict != MESHNET_VERDICT_ALLOWED) {
			snprintf(text, sizeof(text), "HTTP 200 with membership %s",
				 meshnet_verdict_name(e.self_verdict));
			goto fail;
		} else {
			ret = apply_allowed(ca, &e);
		}
		if (ret) {
			snprintf(text, sizeof(text), "epoch %llu could not be applied",
				 (unsigned long long)e.id);
			goto fail;
		}
		meshnet_epoch_free(&e);
		agent_http_reply_free(&reply);
		ret = ca->current.id != before || ca->current.self_verdict != before_self;
		pthread_mutex_lock(&ca->ctx->state.lock);
		ca->ctx->state.last_config_at = time(NULL);
		ca->ctx->state.config_failures = 0;
		ca->ctx->state.config_error[0] = '\0';
		pthread_mutex_unlock(&ca->ctx->state.lock);
		publish(ca);
		return ret;
	}
	agent_http_error_text(&reply, text, sizeof(text));
fail:
	meshnet_epoch_free(&e);
	agent_http_reply_free(&reply);
	pthread_mutex_lock(&ca->ctx->state.lock);
	ca->ctx->state.config_failures++;
	agent_strcpy(ca->ctx->state.config_error, sizeof(ca->ctx->state.config_error), text);
	agent_state_publish(&ca->ctx->state);
	pthread_mutex_unlock(&ca->ctx->state.lock);
	if (atomic_load(&ca->ctx->stop))
		return 0;
	if (ca->current.id) {
		char exp[MESHNET_RFC3339_LEN];

		meshnet_rfc3339_format(exp, (int64_t)ca->current.expiry_unix);
		log_warn("config: %s; epoch %llu stays applied (expires %s + grace %u s, then the module decides)",
			 text, (unsigned long long)ca->current.id, exp, o->grace);
	} else {
		log_warn("config: %s", text);
	}
	return -1;
}

/* ---- setup ---- */

struct resume_ctx {
	struct meshnet_peer *peers;
	size_t n, cap;
};

static int collect_module_peer(const struct meshnet_peer *p, void *arg)
{
	struct resume_ctx *rc = arg;

	if (rc->n == rc->cap) {
		struct meshnet_peer *n;

		rc->cap = rc->cap ? rc->cap * 2 : 16;
		n = realloc(rc->peers, rc->cap * sizeof(*n));
		if (!n)
			return -ENOMEM;
		rc->peers = n;
	}
	rc->peers[rc->n] = *p;
	rc->peers[rc->n].flags &= ~(MESHNET_PEER_HAS_PSK | MESHNET_PEER_HAS_COUNTERS);
	OPENSSL_cleanse(rc->peers[rc->n].psk, MESHNET_KEY_LEN);
	rc->n++;
	return 0;
}

int agent_config_setup(struct agent_ctx *ctx, struct agent_config **out)
{
	const struct agent_options *o = &ctx->opts;
	struct agent_config *ca = calloc(1, sizeof(*ca));
	struct meshnet_policy pol = {
		.mask = MESHNET_POLICY_UNKNOWN | MESHNET_POLICY_FAIL_CLOSED | MESHNET_POLICY_GRACE,
		.unknown = MESHNET_UNKNOWN_DROP,
		.fail_closed = o->fail_closed,
		.grace = o->grace,
	};
	struct meshnet_state st;
	struct resume_ctx rc = { 0 };
	char err[512];
	int r;

	if (!ca)
		return -1;
	ca->ctx = ctx;
	agent_backoff_init(&ca->backoff, o->backoff_min_ms, o->backoff_max_ms);
	if (agent_http_init(&ca->http, ctx->sign_key, o->node_id, o->controller, o->ca_file,
			    &ctx->stop)) {
		log_err("libcurl: cannot create a handle");
		goto err;
	}
	if (agent_wg_open(&ca->wg, o->wg_ifname, err, sizeof(err))) {
		log_err("%s", err);
		goto err;
	}
	if (agent_wg_set_device(ca->wg, ctx->keys.wg_private, (uint16_t)o->listen_port)) {
		log_err("%s (create it first: ip link add %s type wireguard)", agent_wg_error(ca->wg),
			o->wg_ifname);
		goto err;
	}
	if (meshnet_nl_open(&ca->nl, err, sizeof(err))) {
		log_err("%s", err);
		goto err;
	}
	r = meshnet_nl_attach(ca->nl, o->wg_ifname);
	if (r && r != -EEXIST) {
		log_err("module: attach %s: %s", o->wg_ifname, meshnet_nl_error(ca->nl));
		goto err;
	}
	if (meshnet_nl_set_policy(ca->nl, &pol)) {
		log_err("module: policy: %s", meshnet_nl_error(ca->nl));
		goto err;
	}
	if (meshnet_nl_get_state(ca->nl, &st)) {
		log_err("module: state: %s", meshnet_nl_error(ca->nl));
		goto err;
	}
	if (st.epoch_id) {
		/* restart: the module has the last epoch; keep it, poll for the next */
		if (meshnet_nl_dump_peers(ca->nl, false, collect_module_peer, &rc)) {
			log_err("module: peers: %s", meshnet_nl_error(ca->nl));
			free(rc.peers);
			goto err;
		}
		ca->current.id = st.epoch_id;
		ca->current.expiry_unix = st.epoch_expiry;
		ca->current.self_verdict = st.self_verdict;
		snprintf(ca->current.self_reason, sizeof(ca->current.self_reason), "%s",
			 st.self_reason);
		ca->current.peers = rc.peers;
		ca->current.n_peers = rc.n;
		log_info("RESUMED epoch=%llu from the module: MEMBERSHIP=%s, %zu peers%s",
			 (unsigned long long)st.epoch_id, meshnet_verdict_name(st.self_verdict), rc.n,
			 st.expired ? " (epoch EXPIRED: module fails closed until the next one)" : "");
	} else {
		ca->current.self_verdict = st.self_verdict;
	}
	publish(ca);
	*out = ca;
	return 0;
err:
	agent_config_free(ca);
	return -1;
}

void agent_config_run(struct agent_config *ca)
{
	struct agent_ctx *ctx = ca->ctx;
	const struct agent_options *o = &ctx->opts;

	while (!atomic_load(&ctx->stop)) {
		unsigned int wait = o->long_poll;
		int64_t rm = next_removal_in(ca);
		uint64_t t0 = meshnet_now_ns();
		int r;

		if (rm >= 0 && rm < (int64_t)wait)
			wait = (unsigned int)rm;
		r = poll_once(ca, wait);
		run_removals(ca);
		if (r < 0) {
			unsigned int d = agent_backoff_next(&ca->backoff, agent_rand_u32());

			log_info("retrying in %u ms (attempt %u)", d, ca->backoff.failures + 1);
			agent_sleep_ms(ctx, d);
			continue;
		}
		agent_backoff_reset(&ca->backoff);
		if (r == 0) {
			/* nothing new: do not poll faster than POLL_INTERVAL_SEC */
			uint64_t spent_ms = (meshnet_now_ns() - t0) / 1000000;
			uint64_t min_ms = (uint64_t)o->poll_interval * 1000;

			if (spent_ms < min_ms && ca->current.self_verdict != MESHNET_VERDICT_DENIED)
				agent_sleep_ms(ctx, (unsigned int)(min_ms - spent_ms));
			else if (spent_ms < 1000)
				agent_sleep_ms(ctx, 1000);
		}
	}
}

void agent_config_free(struct agent_config *ca)
{
	if (!ca)
		return;
	meshnet_epoch_free(&ca->current);
	if (ca->nl)
		meshnet_nl_close(ca->nl);
	agent_wg_close(ca->wg);
	agent_http_free(&ca->http);
	free(ca->pending);
	free(ca);
}
