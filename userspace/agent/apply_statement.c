// SPDX-License-Identifier: MIT
/*
 * Applying a checked v2 statement (statement_read.c), module first, then
 * wg0, as apply.c does for v1:
 *
 *   snapshot   every peer: one module transaction, then wg0
 *   delta      in the same epoch: only the changed peers, in the module
 *              (APPLY_DELTA, O(k); one transaction if larger than a message)
 *              and on wg0; to a new epoch in group mode (every pair PSK
 *              changes): the merged table as one transaction, every PSK
 *              derived anew from K_e; to a new epoch in pairwise mode (the
 *              unchanged peers' PSKs are not in it) or readmitting this node
 *              (a DENIED node was sent no peers): a snapshot is asked for
 *   denied     this node is DENIED: self-deny as in v1
 *
 * The revision and lease go to the module with the table; the agent's held
 * copy (PSK-free) and revision move only when the module has it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "config_agent.h"
#include "log.h"
#include "nl/meshnet_epoch.h"
#include "nl/meshnet_nl.h"
#include "nl/meshnet_parse.h"
#include "statement_read.h"
#include "timefmt.h"

/* The table header of a statement: epoch, lease, own verdict. */
static void statement_header(const struct agent_config *ca, const struct agent_statement *st,
			     struct meshnet_epoch *e)
{
	memset(e, 0, sizeof(*e));
	e->id = st->info.epoch_id;
	e->expiry_unix = (uint64_t)st->info.valid_until_unix;
	e->valid_until = (uint64_t)st->info.valid_until_unix;
	e->revision = st->info.revision;
	snprintf(e->node_id, sizeof(e->node_id), "%s", ca->ctx->opts.node_id);
	if (st->has_self) {
		e->self_verdict = st->self_verdict;
		memcpy(e->self_reason, st->self_reason, sizeof(e->self_reason));
	} else {
		e->self_verdict = MESHNET_VERDICT_ALLOWED; /* a "*" delta goes to members only */
		memcpy(e->self_reason, ca->current.self_reason, sizeof(e->self_reason));
	}
}

int agent_apply_snapshot(struct agent_config *ca, const struct agent_statement *st)
{
	struct meshnet_epoch e;
	bool readmitted = ca->current.self_verdict == MESHNET_VERDICT_DENIED;
	int r;

	statement_header(ca, st, &e);
	e.peers = st->peers; /* borrowed: PSKs included */
	e.n_peers = st->n_peers;
	r = agent_apply_full(ca, &e, readmitted, true, st->info.revision,
			     (uint64_t)st->info.valid_until_unix);
	if (!r)
		ca->group_mode = st->info.group_mode;
	return r;
}

static struct meshnet_peer *find_name(struct meshnet_epoch *e, const char *name)
{
	for (size_t i = 0; i < e->n_peers; i++)
		if ((e->peers[i].flags & MESHNET_PEER_HAS_NAME) && !strcmp(e->peers[i].name, name))
			return &e->peers[i];
	return NULL;
}

static void drop_peer(struct meshnet_epoch *e, struct meshnet_peer *p)
{
	*p = e->peers[--e->n_peers];
}

/*
 * merged = held + the delta's changes (PSK-free); gone = the public keys
 * that leave the module and wg0 (removed nodes, and the old key of a node
 * whose key changed). 0 or -1 (out of memory).
 */
static int merge(const struct agent_config *ca, const struct agent_statement *st,
		 struct meshnet_epoch *merged, uint8_t (**gone)[MESHNET_KEY_LEN], size_t *n_gone)
{
	size_t cap = ca->current.n_peers + st->n_peers;

	*merged = ca->current;
	merged->peers = calloc(cap ? cap : 1, sizeof(*merged->peers));
	*gone = calloc(st->n_removes + st->n_peers + 1, sizeof(**gone));
	*n_gone = 0;
	if (!merged->peers || !*gone) {
		free(merged->peers);
		free(*gone);
		return -1;
	}
	if (ca->current.n_peers)
		memcpy(merged->peers, ca->current.peers,
		       ca->current.n_peers * sizeof(*merged->peers));
	merged->id = st->info.epoch_id;
	merged->expiry_unix = (uint64_t)st->info.valid_until_unix;
	merged->valid_until = (uint64_t)st->info.valid_until_unix;
	merged->revision = st->info.revision;
	if (st->has_self) {
		merged->self_verdict = st->self_verdict;
		memcpy(merged->self_reason, st->self_reason, sizeof(merged->self_reason));
	}
	for (size_t i = 0; i < st->n_removes; i++) {
		struct meshnet_peer *p = find_name(merged, st->removes[i]);

		if (!p)
			continue; /* a node this one never had */
		memcpy((*gone)[(*n_gone)++], p->public_key, MESHNET_KEY_LEN);
		drop_peer(merged, p);
	}
	for (size_t i = 0; i < st->n_peers; i++) {
		const struct meshnet_peer *u = &st->peers[i];
		struct meshnet_peer *p = find_name(merged, u->name);

		if (!p)
			p = (struct meshnet_peer *)agent_held_find(merged, u->public_key);
		if (p && memcmp(p->public_key, u->public_key, MESHNET_KEY_LEN))
			memcpy((*gone)[(*n_gone)++], p->public_key, MESHNET_KEY_LEN);
		if (!p)
			p = &merged->peers[merged->n_peers++];
		*p = *u;
		OPENSSL_cleanse(p->psk, sizeof(p->psk));
		p->flags &= ~MESHNET_PEER_HAS_PSK;
	}
	return 0;
}

/* Across an epoch or on readmission: every PSK anew, one transaction. */
static int apply_rekeyed(struct agent_config *ca, const struct agent_statement *st,
			 const struct meshnet_epoch *merged, bool readmitted)
{
	struct agent_statement_ctx sc = {
		.node_id = ca->ctx->opts.node_id,
		.wg_private = ca->ctx->keys.wg_private,
		.dh = &ca->dh,
	};
	struct meshnet_epoch e;
	int r = -1;

	statement_header(ca, st, &e);
	e.n_peers = merged->n_peers;
	e.peers = e.n_peers ? malloc(e.n_peers * sizeof(*e.peers)) : NULL;
	if (e.n_peers && !e.peers)
		return -1;
	if (e.n_peers)
		memcpy(e.peers, merged->peers, e.n_peers * sizeof(*e.peers));
	for (size_t i = 0; i < e.n_peers; i++) {
		struct meshnet_peer *p = &e.peers[i];

		if (p->verdict != MESHNET_VERDICT_ALLOWED)
			continue;
		if (agent_statement_pair_psk(st, &sc, p, p->psk)) {
			log_err("group mode: no PSK for %s can be derived", agent_peer_name(p));
			goto out;
		}
		p->flags |= MESHNET_PEER_HAS_PSK;
	}
	log_info("DELTA revision %llu -> %llu starts epoch %llu: %zu peer(s) changed, every PSK derived anew (module: one transaction, then wg0)",
		 (unsigned long long)ca->revision, (unsigned long long)st->info.revision,
		 (unsigned long long)st->info.epoch_id, st->n_peers);
	r = agent_apply_full(ca, &e, readmitted, true, st->info.revision,
			     (uint64_t)st->info.valid_until_unix);
out:
	meshnet_epoch_free(&e); /* wipes the PSKs */
	return r;
}

/*
 * A delta too large for one APPLY_DELTA message: the merged table as one
 * transaction, the changed peers' PSKs from the statement, the others'
 * from the module itself.
 */
static int module_delta_as_epoch(struct agent_config *ca, const struct agent_statement *st,
				 const struct meshnet_epoch *merged)
{
	struct meshnet_epoch with, full;
	int r;

	if (agent_held_with_psks(ca, false, &with) < 0)
		return -1;
	full = *merged;
	full.peers = merged->n_peers ? malloc(merged->n_peers * sizeof(*full.peers)) : NULL;
	if (merged->n_peers && !full.peers) {
		meshnet_epoch_free(&with);
		return -1;
	}
	for (size_t i = 0; i < merged->n_peers; i++) {
		const struct meshnet_peer *p = &merged->peers[i];
		const struct meshnet_peer *old = agent_held_find(&with, p->public_key);
		const struct meshnet_peer *chg = NULL;

		for (size_t k = 0; k < st->n_peers && !chg; k++)
			if (!memcmp(st->peers[k].public_key, p->public_key, MESHNET_KEY_LEN))
				chg = &st->peers[k];
		full.peers[i] = chg ? *chg : old ? *old : *p;
	}
	meshnet_epoch_free(&with);
	full.id = st->info.epoch_id;
	full.expiry_unix = (uint64_t)st->info.valid_until_unix;
	full.valid_until = (uint64_t)st->info.valid_until_unix;
	full.revision = st->info.revision;
	r = meshnet_nl_apply_epoch(ca->nl, &full, true);
	meshnet_epoch_free(&full);
	return r;
}

/* The module's part of a delta: APPLY_DELTA with the k changed peers, O(k). */
static int module_delta(struct agent_config *ca, const struct agent_statement *st,
			const struct meshnet_epoch *merged, const uint8_t (*gone)[MESHNET_KEY_LEN],
			size_t n_gone)
{
	struct meshnet_delta d = {
		.revision = st->info.revision,
		.epoch_id = st->info.epoch_id,
		.valid_until = (uint64_t)st->info.valid_until_unix,
		.self_verdict = st->has_self ? st->self_verdict : MESHNET_VERDICT_UNSPEC,
		.n_upserts = st->n_peers,
		.upserts = st->peers,
		.n_removes = n_gone,
		.removes = gone,
	};
	int r;

	if (st->has_self)
		memcpy(d.self_reason, st->self_reason, sizeof(d.self_reason));
	r = meshnet_nl_apply_delta(ca->nl, &d);
	if (r == -EMSGSIZE) {
		log_info("delta to revision %llu is larger than one message: applied as a full transaction",
			 (unsigned long long)st->info.revision);
		r = module_delta_as_epoch(ca, st, merged);
	}
	return r;
}

/* In the same epoch: only the changed peers, module first. */
static int apply_changes(struct agent_config *ca, const struct agent_statement *st,
			 const struct meshnet_epoch *merged, const uint8_t (*gone)[MESHNET_KEY_LEN],
			 size_t n_gone)
{
	if (module_delta(ca, st, merged, gone, n_gone)) {
		log_err("module: delta to revision %llu: %s", (unsigned long long)st->info.revision,
			meshnet_nl_error(ca->nl));
		return -1;
	}
	ca->t_module = meshnet_now_ns();
	ca->cpu_module = agent_thread_cpu_ns();
	log_info("DELTA revision %llu -> %llu: %zu peer(s) changed, %zu removed (module: APPLY_DELTA, then wg0)",
		 (unsigned long long)ca->revision, (unsigned long long)st->info.revision,
		 st->n_peers, n_gone);
	ca->revision = st->info.revision;
	ca->valid_until = (uint64_t)st->info.valid_until_unix;
	agent_apply_log_transitions(&ca->current, merged);
	if (agent_held_copy(&ca->current, merged))
		return -1;
	agent_apply_finish_wg(ca, agent_apply_wg_changes(ca, st->peers, st->n_peers, gone, n_gone),
			      false);
	return 0;
}

int agent_apply_delta(struct agent_config *ca, const struct agent_statement *st)
{
	bool readmitted = ca->current.self_verdict == MESHNET_VERDICT_DENIED;
	bool new_epoch = st->info.epoch_id != ca->current.id;
	struct meshnet_epoch merged;
	uint8_t (*gone)[MESHNET_KEY_LEN];
	size_t n_gone;
	int r;

	if (readmitted || (new_epoch && !st->info.group_mode)) {
		/*
		 * A DENIED node was sent no peers, so a delta is not enough to
		 * readmit it; in pairwise mode the unchanged peers' new PSKs
		 * are not in a delta. Either way: a snapshot, asked for at once.
		 */
		log_info("delta to revision %llu %s: asking for a snapshot",
			 (unsigned long long)st->info.revision,
			 readmitted ? "readmits this node" : "starts an epoch in pairwise mode");
		ca->want_snapshot = true;
		return 1;
	}
	if (merge(ca, st, &merged, &gone, &n_gone))
		return -1;
	if (new_epoch)
		r = apply_rekeyed(ca, st, &merged, false);
	else
		r = apply_changes(ca, st, &merged, (const uint8_t(*)[MESHNET_KEY_LEN])gone, n_gone);
	free(merged.peers);
	free(gone);
	if (!r)
		ca->group_mode = st->info.group_mode;
	return r;
}

int agent_apply_denied_v2(struct agent_config *ca, const struct agent_statement *st)
{
	struct meshnet_epoch e;

	statement_header(ca, st, &e);
	if (agent_apply_denied(ca, &e))
		return -1;
	/* why: logged once per change, shown in the status (agent_held_publish) */
	if (st->explanation[0] && strcmp(st->explanation, ca->explanation))
		log_info("DENIED because: %s", st->explanation);
	memcpy(ca->explanation, st->explanation, sizeof(ca->explanation));
	return 0;
}
