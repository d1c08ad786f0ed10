// SPDX-License-Identifier: MIT
/*
 * What the config agent holds: a PSK-free copy of the epoch it applied
 * (the PSKs live only in the module and wg0), published to status.json,
 * and rebuilt from the module when a restarted agent resumes.
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
#include "wg.h"

int agent_held_copy(struct meshnet_epoch *dst, const struct meshnet_epoch *src)
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

const struct meshnet_peer *agent_held_find(const struct meshnet_epoch *e, const uint8_t *key)
{
	for (size_t i = 0; i < e->n_peers; i++)
		if (!memcmp(e->peers[i].public_key, key, MESHNET_KEY_LEN))
			return &e->peers[i];
	return NULL;
}

const char *agent_peer_name(const struct meshnet_peer *p)
{
	return (p->flags & MESHNET_PEER_HAS_NAME) ? p->name : "?";
}

void agent_held_publish(struct agent_config *ca)
{
	struct agent_state *s = &ca->ctx->state;

	pthread_mutex_lock(&s->lock);
	if (s->epoch_id != ca->current.id)
		s->epoch_applied_at = time(NULL);
	s->valid_until = ca->valid_until ? ca->valid_until : ca->current.valid_until;
	s->epoch_id = ca->current.id;
	s->epoch_expiry = ca->current.expiry_unix;
	s->self_verdict = ca->current.self_verdict;
	snprintf(s->self_reason, sizeof(s->self_reason), "%s", ca->current.self_reason);
	if (ca->current.self_verdict != MESHNET_VERDICT_DENIED)
		ca->explanation[0] = '\0';
	snprintf(s->explanation, sizeof(s->explanation), "%s", ca->explanation);
	agent_state_set_peers(s, ca->current.peers, ca->current.n_peers);
	agent_state_publish(s);
	pthread_mutex_unlock(&s->lock);
}

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

int agent_held_resume(struct agent_config *ca, const struct meshnet_state *st)
{
	struct resume_ctx rc = { 0 };

	if (meshnet_nl_dump_peers(ca->nl, false, collect_module_peer, &rc)) {
		log_err("module: peers: %s", meshnet_nl_error(ca->nl));
		free(rc.peers);
		return -1;
	}
	meshnet_epoch_free(&ca->current);
	ca->current.id = st->epoch_id;
	ca->current.expiry_unix = st->epoch_expiry;
	ca->current.self_verdict = st->self_verdict;
	snprintf(ca->current.self_reason, sizeof(ca->current.self_reason), "%s", st->self_reason);
	ca->current.peers = rc.peers;
	ca->current.n_peers = rc.n;
	ca->current.revision = st->revision;
	ca->current.valid_until = st->valid_until;
	if (ca->ctx->controller_key) {
		/* v2: ask for what came after the module's revision */
		ca->revision = st->revision;
		ca->valid_until = st->valid_until;
	}
	return 0;
}

/* ---- the held epoch with the PSKs of the module or of wg0 ---- */

static int held_copy_with_room(const struct agent_config *ca, struct meshnet_epoch *out)
{
	*out = ca->current;
	out->peers = NULL;
	if (!ca->current.n_peers)
		return 0;
	out->peers = malloc(ca->current.n_peers * sizeof(*out->peers));
	if (!out->peers)
		return -1;
	memcpy(out->peers, ca->current.peers, ca->current.n_peers * sizeof(*out->peers));
	return 0;
}

struct psk_fill {
	struct meshnet_epoch *e;
	size_t found;
};

static void fill_one(struct psk_fill *pf, const uint8_t *key, const uint8_t *psk)
{
	static const uint8_t zero[MESHNET_KEY_LEN];

	if (!memcmp(psk, zero, MESHNET_KEY_LEN))
		return;
	for (size_t i = 0; i < pf->e->n_peers; i++) {
		struct meshnet_peer *p = &pf->e->peers[i];

		if (memcmp(p->public_key, key, MESHNET_KEY_LEN) ||
		    p->verdict != MESHNET_VERDICT_ALLOWED)
			continue;
		memcpy(p->psk, psk, MESHNET_KEY_LEN);
		p->flags |= MESHNET_PEER_HAS_PSK;
		pf->found++;
		return;
	}
}

static int fill_from_module(const struct meshnet_peer *p, void *arg)
{
	if (p->flags & MESHNET_PEER_HAS_PSK)
		fill_one(arg, p->public_key, p->psk);
	return 0;
}

static int fill_from_wg(const struct agent_wg_peer_info *info, void *arg)
{
	if (info->has_psk)
		fill_one(arg, info->public_key, info->psk);
	return 0;
}

size_t agent_held_allowed_peers(const struct meshnet_epoch *e)
{
	size_t n = 0;

	for (size_t i = 0; i < e->n_peers; i++)
		n += e->peers[i].verdict == MESHNET_VERDICT_ALLOWED;
	return n;
}

long agent_held_with_psks(struct agent_config *ca, bool from_wg, struct meshnet_epoch *out)
{
	struct psk_fill pf = { .e = out };
	int r;

	if (held_copy_with_room(ca, out))
		return -1;
	if (ca->current.self_verdict == MESHNET_VERDICT_DENIED)
		return 0; /* a DENIED node holds no PSK */
	r = from_wg ? agent_wg_dump_peers(ca->wg, fill_from_wg, &pf)
		    : meshnet_nl_dump_peers(ca->nl, true, fill_from_module, &pf);
	if (r < 0) {
		log_warn("reconcile: reading the PSKs from %s: %s", from_wg ? "wg0" : "the module",
			 from_wg ? agent_wg_error(ca->wg) : meshnet_nl_error(ca->nl));
		meshnet_epoch_free(out);
		return -1;
	}
	return (long)(agent_held_allowed_peers(out) - pf.found);
}
