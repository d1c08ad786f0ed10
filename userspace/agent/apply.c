// SPDX-License-Identifier: MIT
/*
 * Applying an epoch: FIRST to the meshnet module as one transaction
 * (verdicts, prefixes, endpoints, PSKs, own verdict: from that instant a
 * DENIED peer's packets are dropped on wg0), THEN to wg0 through
 * WireGuard's netlink API (PSKs, endpoints and allowed IPs of ALLOWED
 * peers; DENIED peers removed with WGPEER_F_REMOVE_ME, after
 * WG_REMOVE_DELAY_SEC if set). A 403 means this node is DENIED: the module
 * drops all of its wg traffic (self-deny) and the peers' PSKs are wiped
 * from the module and wg0.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include "config_agent.h"
#include "log.h"
#include "nl/meshnet_epoch.h"
#include "nl/meshnet_nl.h"
#include "nl/meshnet_parse.h"
#include "timefmt.h"

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
	snprintf(n[ca->n_pending].name, sizeof(n->name), "%s", agent_peer_name(p));
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

void agent_apply_due_removals(struct agent_config *ca)
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

int64_t agent_apply_next_removal_in(const struct agent_config *ca)
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

	if (agent_held_find(sc->epoch, info->public_key))
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
static int set_peers(struct agent_config *ca, const struct meshnet_peer *peers, size_t n_peers,
		     const uint8_t (*removes)[MESHNET_KEY_LEN], size_t n_removes, bool fresh);

int agent_apply_wg(struct agent_config *ca, const struct meshnet_epoch *e, bool fresh)
{
	struct stale_ctx sc = { .epoch = e };
	int ret = 0;

	if (agent_wg_dump_peers(ca->wg, collect_stale, &sc) < 0) {
		log_warn("wg: %s", agent_wg_error(ca->wg));
		ret = -1;
	}
	if (sc.n) {
		if (agent_wg_set_peers(ca->wg, sc.list, sc.n)) {
			log_err("wg: cannot remove %zu unknown peers: %s", sc.n,
				agent_wg_error(ca->wg));
			ret = -1;
		} else
			log_info("WG REMOVED %zu peer(s) that are not in epoch %llu", sc.n,
				 (unsigned long long)e->id);
	}
	free(sc.list);

	if (set_peers(ca, e->peers, e->n_peers, NULL, 0, fresh))
		ret = -1;
	return ret;
}

/* wg0 entries for one peer of an epoch: up to two (fresh: remove, then set). */
static size_t peer_entries(struct agent_config *ca, const struct meshnet_peer *p, bool fresh,
			   int64_t now, struct agent_wg_peer *w)
{
	const struct agent_options *o = &ca->ctx->opts;
	size_t n = 0;

	if (p->verdict != MESHNET_VERDICT_ALLOWED) {
		if (o->wg_remove_delay) {
			schedule_removal(ca, p, now + o->wg_remove_delay);
			return 0;
		}
		memcpy(w->public_key, p->public_key, MESHNET_KEY_LEN);
		w->remove = true;
		w->keepalive = -1;
		return 1;
	}
	cancel_removal(ca, p->public_key);
	if (fresh) {
		memcpy(w->public_key, p->public_key, MESHNET_KEY_LEN);
		w->remove = true;
		w->keepalive = -1;
		w++;
		n++;
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
	return n + 1;
}

/* The given peers (with PSKs) and removals on wg0, in one batch. 0 or -1 (logged). */
static int set_peers(struct agent_config *ca, const struct meshnet_peer *peers, size_t n_peers,
		     const uint8_t (*removes)[MESHNET_KEY_LEN], size_t n_removes, bool fresh)
{
	size_t cap = 2 * n_peers + n_removes + 1, n = 0;
	struct agent_wg_peer *list = calloc(cap, sizeof(*list));
	int64_t now = time(NULL);
	int ret = 0;

	if (!list)
		return -1;
	for (size_t i = 0; i < n_peers; i++)
		n += peer_entries(ca, &peers[i], fresh, now, &list[n]);
	for (size_t i = 0; i < n_removes; i++) {
		cancel_removal(ca, removes[i]);
		memcpy(list[n].public_key, removes[i], MESHNET_KEY_LEN);
		list[n].remove = true;
		list[n].keepalive = -1;
		n++;
	}
	if (n && agent_wg_set_peers(ca->wg, list, n)) {
		log_err("wg: %s", agent_wg_error(ca->wg));
		ret = -1;
	}
	OPENSSL_cleanse(list, cap * sizeof(*list));
	free(list);
	agent_apply_due_removals(ca);
	return ret;
}

int agent_apply_wg_changes(struct agent_config *ca, const struct meshnet_peer *peers,
			   size_t n_peers, const uint8_t (*removes)[MESHNET_KEY_LEN],
			   size_t n_removes)
{
	return set_peers(ca, peers, n_peers, removes, n_removes, false);
}

struct psk_holders {
	struct agent_wg_peer *list;
	size_t n, cap;
};

static int collect_psk_holder(const struct agent_wg_peer_info *info, void *arg)
{
	struct psk_holders *ph = arg;

	if (!info->has_psk)
		return 0;
	if (ph->n == ph->cap) {
		struct agent_wg_peer *n;

		ph->cap = ph->cap ? ph->cap * 2 : 8;
		n = realloc(ph->list, ph->cap * sizeof(*n));
		if (!n)
			return -ENOMEM;
		ph->list = n;
	}
	memset(&ph->list[ph->n], 0, sizeof(ph->list[0]));
	memcpy(ph->list[ph->n].public_key, info->public_key, MESHNET_KEY_LEN);
	ph->list[ph->n].set_psk = true; /* all zeros: no PSK */
	ph->list[ph->n].keepalive = -1;
	ph->n++;
	return 0;
}

/*
 * Self-deny: wipe the PSK of every wg0 peer that has one (sessions stay;
 * the module drops). Peers are never created here. 0 or -1.
 */
int agent_apply_wg_self_denied(struct agent_config *ca)
{
	struct psk_holders ph = { 0 };
	int ret = 0;

	if (agent_wg_dump_peers(ca->wg, collect_psk_holder, &ph) < 0) {
		log_err("wg: %s", agent_wg_error(ca->wg));
		ret = -1;
	} else if (ph.n && agent_wg_set_peers(ca->wg, ph.list, ph.n)) {
		log_err("wg: cannot remove the PSKs: %s", agent_wg_error(ca->wg));
		ret = -1;
	}
	free(ph.list);
	return ret;
}

/* ---- transitions ---- */

void agent_apply_log_transitions(const struct meshnet_epoch *old, const struct meshnet_epoch *e)
{
	for (size_t i = 0; i < e->n_peers; i++) {
		const struct meshnet_peer *p = &e->peers[i];
		const struct meshnet_peer *was = agent_held_find(old, p->public_key);

		if (was && was->verdict == p->verdict)
			continue;
		log_info("PEER %s %s epoch=%llu%s%s", agent_peer_name(p), meshnet_verdict_name(p->verdict),
			 (unsigned long long)e->id,
			 (p->flags & MESHNET_PEER_HAS_REASON) ? " reason=" : "",
			 (p->flags & MESHNET_PEER_HAS_REASON) ? p->reason : "");
	}
	for (size_t i = 0; i < old->n_peers; i++)
		if (!agent_held_find(e, old->peers[i].public_key))
			log_info("PEER %s left the mesh epoch=%llu", agent_peer_name(&old->peers[i]),
				 (unsigned long long)e->id);
}

void agent_apply_log_applied(const struct agent_config *ca)
{
	const struct meshnet_epoch *e = &ca->current;
	size_t allowed = 0, denied = 0;

	if (e->self_verdict == MESHNET_VERDICT_DENIED) {
		log_info("APPLIED self-deny epoch=%llu: all wg traffic dropped, peers' PSKs removed",
			 (unsigned long long)e->id);
		return;
	}
	for (size_t i = 0; i < e->n_peers; i++) {
		if (e->peers[i].verdict == MESHNET_VERDICT_ALLOWED)
			allowed++;
		else
			denied++;
	}
	if (ca->revision)
		log_info("APPLIED epoch=%llu revision=%llu psk **** peers allowed=%zu denied=%zu (module, then wg)",
			 (unsigned long long)e->id, (unsigned long long)ca->revision, allowed,
			 denied);
	else
		log_info("APPLIED epoch=%llu psk **** peers allowed=%zu denied=%zu (module, then %s)",
			 (unsigned long long)e->id, allowed, denied, "wg");
}

/* After the module step: wg0, and APPLIED only once both are done. */
void agent_apply_finish_wg(struct agent_config *ca, int wg_result, bool fresh)
{
	pthread_mutex_lock(&ca->ctx->state.lock);
	ca->ctx->state.wg_pending = wg_result != 0;
	pthread_mutex_unlock(&ca->ctx->state.lock);
	ca->wg_pending = wg_result != 0;
	if (!wg_result) {
		ca->wg_fresh = false;
		agent_apply_log_applied(ca);
		return;
	}
	ca->wg_fresh = ca->wg_fresh || fresh;
	log_warn("MODULE has epoch=%llu; the wg0 step failed: the reconcile loop retries it (not APPLIED yet)",
		 (unsigned long long)ca->current.id);
}

/* 200: a config for this ALLOWED node. */
int agent_apply_allowed(struct agent_config *ca, struct meshnet_epoch *e)
{
	struct meshnet_epoch *cur = &ca->current;
	bool readmitted = cur->self_verdict == MESHNET_VERDICT_DENIED;
	bool force = e->id <= cur->id;

	if (ca->ctx->opts.node_id[0] && e->node_id[0] && strcmp(e->node_id, ca->ctx->opts.node_id)) {
		log_err("config is for node %s, not for us: ignored", e->node_id);
		return -1;
	}
	if (e->id < cur->id && ca->http.urls.n > 1) {
		/* several controllers: this one is behind the one we heard from */
		log_warn("controller %s answered epoch %llu, older than the held %llu: ignored",
			 agent_http_url(&ca->http), (unsigned long long)e->id,
			 (unsigned long long)cur->id);
		agent_http_failover(&ca->http, "behind the others");
		return -1;
	}
	if (e->id < cur->id)
		log_warn("controller epoch %llu is older than the module's %llu (controller state reset?): applying it",
			 (unsigned long long)e->id, (unsigned long long)cur->id);
	if (e->id == cur->id && !readmitted && !atomic_load(&ca->resync))
		return 0; /* nothing new */
	return agent_apply_full(ca, e, readmitted, force, 0, 0);
}

/*
 * A whole table: the module as one transaction (from its commit on, DENIED
 * peers' packets are dropped), then wg0. e carries the PSKs.
 */
int agent_apply_full(struct agent_config *ca, const struct meshnet_epoch *e, bool readmitted,
		     bool force, uint64_t revision, uint64_t valid_until)
{
	struct meshnet_epoch *cur = &ca->current;
	struct meshnet_epoch m = *e; /* shares e's peers */
	int r;

	/* 1. the module, with the revision and lease it now holds (v2) */
	m.revision = revision;
	m.valid_until = valid_until;
	r = meshnet_nl_apply_epoch(ca->nl, &m, force);
	if (r) {
		log_err("module: %s", meshnet_nl_error(ca->nl));
		return -1;
	}
	ca->t_module = meshnet_now_ns();
	ca->cpu_module = agent_thread_cpu_ns();
	ca->revision = revision;
	ca->valid_until = valid_until;
	if (cur->self_verdict != e->self_verdict || cur->id != e->id)
		log_info("MEMBERSHIP=%s epoch=%llu%s%s", meshnet_verdict_name(e->self_verdict),
			 (unsigned long long)e->id, e->self_reason[0] ? " reason=" : "",
			 e->self_reason);
	agent_apply_log_transitions(cur, e);
	/* cur gets a PSK-free copy; the caller wipes and frees e */
	if (agent_held_copy(cur, &m))
		return -1;
	/* 2. wg0 */
	agent_apply_finish_wg(ca, agent_apply_wg(ca, e, readmitted), readmitted);
	return 0;
}

/* 403: this node is DENIED. */
int agent_apply_denied(struct agent_config *ca, const struct meshnet_epoch *e)
{
	struct meshnet_epoch *cur = &ca->current;
	struct meshnet_epoch deny = *cur;
	int r;

	if (cur->self_verdict == MESHNET_VERDICT_DENIED &&
	    (e->revision ? e->revision <= ca->revision : e->id <= cur->id))
		return 0; /* already applied */
	deny.id = e->id;
	deny.expiry_unix = e->expiry_unix;
	deny.revision = e->revision;
	deny.valid_until = e->valid_until;
	deny.self_verdict = MESHNET_VERDICT_DENIED;
	snprintf(deny.self_reason, sizeof(deny.self_reason), "%s", e->self_reason);
	/* same peers, no PSKs (cur never holds any) */
	r = meshnet_nl_apply_epoch(ca->nl, &deny, e->id <= cur->id || e->revision);
	if (r) {
		log_err("module: self-deny: %s", meshnet_nl_error(ca->nl));
		/* at least the verdict */
		if (meshnet_nl_set_self(ca->nl, MESHNET_VERDICT_DENIED, e->self_reason)) {
			log_err("module: set self DENIED: %s", meshnet_nl_error(ca->nl));
			return -1;
		}
	}
	ca->t_module = meshnet_now_ns();
	ca->cpu_module = agent_thread_cpu_ns();
	log_info("MEMBERSHIP=DENIED epoch=%llu reason=%s", (unsigned long long)e->id,
		 e->self_reason[0] ? e->self_reason : "(none given)");
	cur->id = e->id;
	cur->expiry_unix = e->expiry_unix;
	cur->revision = e->revision;
	cur->valid_until = e->valid_until;
	ca->revision = e->revision;
	ca->valid_until = e->valid_until;
	cur->self_verdict = MESHNET_VERDICT_DENIED;
	memcpy(cur->self_reason, deny.self_reason, sizeof(cur->self_reason));
	agent_apply_finish_wg(ca, agent_apply_wg_self_denied(ca), false);
	return 0;
}
