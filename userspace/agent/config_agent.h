/* SPDX-License-Identifier: MIT */
/*
 * The config agent's parts (internal to userspace/agent/):
 *
 *   config_agent.c  set-up and the main loop: fetch, apply, publish
 *   controller.c    talking to the controller: the config poll and its answer
 *   apply.c         an epoch into the module (one transaction), then wg0
 *   held.c          what the agent holds: a PSK-free copy of what it applied
 */
#ifndef AGENT_CONFIG_AGENT_H
#define AGENT_CONFIG_AGENT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "agent.h"
#include "backoff.h"
#include "dh_cache.h"
#include "explanation.h"
#include "http.h"
#include "monitor.h"
#include "nl/meshnet_types.h"
#include "wg.h"

struct meshnet_nl;

struct pending_removal {
	uint8_t key[MESHNET_KEY_LEN];
	char name[MESHNET_NAME_LEN];
	int64_t due; /* unix seconds */
};

struct agent_config {
	struct agent_ctx *ctx;
	/*
	 * Held by whoever touches the module, wg0 or the fields below: the
	 * main loop while it applies, the reconcile thread while it checks.
	 * Never held across an HTTP request.
	 */
	pthread_mutex_t lock;
	struct meshnet_policy policy;  /* what the agent sets on the module */
	struct meshnet_nl *nl;
	struct agent_wg *wg;
	struct agent_http http;
	struct agent_backoff backoff;
	/* what the module holds now (PSKs never kept here) */
	struct meshnet_epoch current;
	size_t n_pending;
	struct pending_removal *pending;
	/* reconcile.c */
	bool wg_pending;               /* the last wg step failed: retried, APPLIED after */
	bool wg_fresh;                 /* ... and it was a readmission (sessions re-created) */
	unsigned int wg_ifindex;       /* wg0 as last configured */
	bool wg_gone;                  /* no device of that name right now */
	bool module_missing;           /* logged once per outage */
	atomic_bool resync;            /* PSKs lost in module and wg0: fetch a full config */
	atomic_bool wake;              /* aborts the long-poll in progress (for resync) */
	atomic_bool check_now;         /* a change was applied: compare everything */
	struct agent_reconcile *rec;
	/* v2 */
	uint64_t revision;             /* the revision the module and wg0 hold */
	uint64_t valid_until;          /* its lease */
	bool group_mode;
	bool have_monitor;
	struct agent_monitor monitor;  /* the transparency log's checkpoint this node holds */
	bool want_snapshot;            /* a delta was not enough: ask for a snapshot */
	uint64_t acked_revision;       /* the last revision acknowledged */
	bool ack_unsupported;          /* the controller has no /v1/ack (logged once) */
	char explanation[AGENT_EXPLANATION_LEN]; /* DENIED: why, from the last denied statement */
	struct agent_dh_cache dh;      /* group mode: X25519 with each peer (config thread only) */
	/* debug timing of the last poll (CLOCK_MONOTONIC ns; 0 = not reached) */
	uint64_t t_reply;              /* the controller's answer arrived */
	uint64_t t_checked;            /* v2: its statement checked and read */
	uint64_t t_module;             /* the module took the change */
	uint64_t cpu_reply, cpu_module; /* this thread's CPU time at t_reply, t_module */
};

/* CLOCK_THREAD_CPUTIME_ID in ns (debug timing) */
uint64_t agent_thread_cpu_ns(void);

/* ---- held.c ---- */

/* dst = src without PSKs (dst's old peers are freed). 0 or -1. */
int agent_held_copy(struct meshnet_epoch *dst, const struct meshnet_epoch *src);
const struct meshnet_peer *agent_held_find(const struct meshnet_epoch *e, const uint8_t *key);
const char *agent_peer_name(const struct meshnet_peer *p);
/* Copies the held epoch into the shared state and writes status.json. */
void agent_held_publish(struct agent_config *ca);
/*
 * out = the held epoch with the PSKs of its ALLOWED peers read from the
 * module (from_wg false) or wg0 (each kernel copy restores the other).
 * Returns how many ALLOWED peers got none (0: complete), or -1 (logged).
 * meshnet_epoch_free(out) wipes them.
 */
long agent_held_with_psks(struct agent_config *ca, bool from_wg, struct meshnet_epoch *out);
size_t agent_held_allowed_peers(const struct meshnet_epoch *e);
/* Fills ca->current from the module after an agent restart. 0, or -1 (logged). */
int agent_held_resume(struct agent_config *ca, const struct meshnet_state *st);

/* ---- controller.c ---- */

enum agent_fetch_result {
	AGENT_FETCH_FAILED = -1,  /* text says why; back off */
	AGENT_FETCH_ALLOWED = 0,  /* e: a config for this ALLOWED node */
	AGENT_FETCH_DENIED = 1,   /* e: this node is DENIED (id, expiry, reason) */
	AGENT_FETCH_INTERRUPTED = 2, /* resync asked for while waiting: ask again now */
	AGENT_FETCH_NOTHING = 3,  /* v2: 204, nothing new */
	AGENT_FETCH_STATEMENT = 4, /* v2: a checked statement (snapshot, delta, denied) */
};

struct agent_statement;

/*
 * One config poll (long-poll of @wait seconds when the agent holds an
 * epoch). On success e is filled (the caller wipes it with
 * meshnet_epoch_free); on failure text holds a sentence.
 */
enum agent_fetch_result agent_controller_fetch(struct agent_config *ca, unsigned int wait,
					       struct meshnet_epoch *e, char *text, size_t textlen);

/*
 * v2 (CONTROLLER_PUBKEY set): GET /v1/config/{id}?rev=R&wait=S; a 200/403
 * statement is checked and read (statement_read.c) into st, or refused
 * (logged, counted, AGENT_FETCH_FAILED, nothing to apply).
 */
enum agent_fetch_result agent_controller_fetch_v2(struct agent_config *ca, unsigned int wait,
						  struct agent_statement *st, char *text,
						  size_t textlen);

/*
 * GET /v1/log/proof/consistency?from=&to=: the proof that the log of size
 * to extends the one of size from (checked by the monitor, not trusted). 0 or -1.
 */
int agent_controller_consistency_proof(struct agent_config *ca, uint64_t from, uint64_t to,
				       tlog_hash **proof, size_t *n);

/* A refused statement or checkpoint: logged and counted in status.json. */
void agent_controller_count_refusal(struct agent_config *ca, const char *why);

/*
 * v2: POST /v1/ack/{id} (CONTRACT-v2 §6): the revision the module and wg0
 * hold and the digest of the module's table (lib/table_digest.c), read
 * from a module dump. Once per revision; nothing while wg0 is pending.
 */
int agent_controller_ack(struct agent_config *ca);

/* ---- apply.c ---- */

/* 200: module first (one transaction), then wg0. 0 or -1. e keeps its PSKs. */
int agent_apply_allowed(struct agent_config *ca, struct meshnet_epoch *e);
/* v2: a snapshot (full transaction), a delta (O(k)), a denied statement. 0 or -1. */
int agent_apply_snapshot(struct agent_config *ca, const struct agent_statement *st);
int agent_apply_delta(struct agent_config *ca, const struct agent_statement *st);
int agent_apply_denied_v2(struct agent_config *ca, const struct agent_statement *st);
/* 403: self-deny in the module, PSKs wiped on wg0. 0 or -1. */
int agent_apply_denied(struct agent_config *ca, const struct meshnet_epoch *e);
/* Removes the DENIED peers whose WG_REMOVE_DELAY_SEC has passed. */
void agent_apply_due_removals(struct agent_config *ca);
/* Seconds until the next pending removal, or -1. */
int64_t agent_apply_next_removal_in(const struct agent_config *ca);
/* wg0 from an epoch WITH PSKs (fresh: re-create sessions). 0 or -1 (logged). */
int agent_apply_wg(struct agent_config *ca, const struct meshnet_epoch *e, bool fresh);
/* Only these peers (with PSKs) and removals on wg0: a delta. 0 or -1 (logged). */
int agent_apply_wg_changes(struct agent_config *ca, const struct meshnet_peer *peers,
			   size_t n_peers, const uint8_t (*removes)[MESHNET_KEY_LEN],
			   size_t n_removes);
/*
 * The module as one transaction, then wg0 (e carries the PSKs); logs the
 * transitions, keeps a PSK-free copy, APPLIED once wg0 is done. 0 or -1.
 */
int agent_apply_full(struct agent_config *ca, const struct meshnet_epoch *e, bool readmitted,
		     bool force, uint64_t revision, uint64_t valid_until);
/* After the module step: wg0's result; APPLIED, or pending for the reconcile loop. */
void agent_apply_finish_wg(struct agent_config *ca, int wg_result, bool fresh);
/* PEER ... lines for what changed between old and e. */
void agent_apply_log_transitions(const struct meshnet_epoch *old, const struct meshnet_epoch *e);
/* This node is DENIED: no PSK on any wg0 peer. 0 or -1 (logged). */
int agent_apply_wg_self_denied(struct agent_config *ca);
/* The APPLIED line for ca->current (module and wg0 both done). */
void agent_apply_log_applied(const struct agent_config *ca);

/* ---- reconcile.c ---- */

/* Starts the reconcile thread (RECONCILE_INTERVAL_SEC 0: none). 0 or -1. */
int agent_reconcile_start(struct agent_config *ca);
void agent_reconcile_stop(struct agent_config *ca);
/* One pass, lock held by the caller; full: compare the tables too. */
void agent_reconcile_pass(struct agent_config *ca, bool full);

#endif
