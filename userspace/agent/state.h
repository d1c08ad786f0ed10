/* SPDX-License-Identifier: MIT */
/*
 * What the agent knows, shared by its three threads under one mutex, and
 * published (no secrets) to STATE_DIR/status.json for `meshnet-agent status`.
 */
#ifndef AGENT_STATE_H
#define AGENT_STATE_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "explanation.h"
#include "nl/meshnet_types.h"

#define AGENT_STATUS_FILE "status.json"

struct agent_peer_status {
	char name[MESHNET_NAME_LEN];
	uint8_t public_key[MESHNET_KEY_LEN];
	uint8_t verdict;
	bool has_addr;
	struct meshnet_allowedip addr; /* first overlay address: what the probe pings */
	/* probe */
	int64_t probed_at;             /* unix seconds, 0 = never */
	bool ping_ok;
	unsigned int rtt_us;
	char ping_why[64];
};

/* Repairs of the reconcile loop (reconcile.c), one counter per kind. */
enum agent_repair {
	AGENT_REPAIR_WG_DEVICE,   /* wg0 recreated: private key and port set again */
	AGENT_REPAIR_ATTACH,      /* the module was not attached to wg0 */
	AGENT_REPAIR_POLICY,      /* the module's policy differed from the agent's */
	AGENT_REPAIR_MODULE,      /* module reloaded or its table changed: epoch re-applied */
	AGENT_REPAIR_WG_PEERS,    /* wg0's peers differed or a wg step had failed: re-applied */
	AGENT_REPAIR_RESYNC,      /* PSKs lost on both sides: full config fetched again */
	AGENT_REPAIR_COUNT
};

extern const char *const agent_repair_names[AGENT_REPAIR_COUNT];

struct agent_state {
	pthread_mutex_t lock;
	char node_id[MESHNET_NAME_LEN];
	char path[4096];               /* status.json */
	int64_t started_at;
	/* config agent */
	uint64_t epoch_id;
	uint64_t epoch_expiry;
	uint64_t valid_until;          /* v2: the applied revision's lease */
	int64_t epoch_applied_at;      /* when this agent applied (or resumed) it */
	uint8_t self_verdict;
	char self_reason[MESHNET_REASON_LEN];
	char explanation[AGENT_EXPLANATION_LEN]; /* DENIED: why (rule, attestations, missing) */
	int64_t last_config_at;        /* last good answer of the controller */
	char controller_url[256];      /* the controller the config agent talks to */
	uint64_t revision;             /* v2: the revision applied */
	unsigned int statements_refused; /* v2: statements refused (bad signature, ...) */
	unsigned int checkpoints_refused; /* ... of which for their log checkpoint */
	char last_refusal[200];
	unsigned int config_failures;  /* consecutive */
	char config_error[256];
	/* reconcile loop */
	unsigned int repairs[AGENT_REPAIR_COUNT];
	int64_t last_repair_at;
	char last_repair[160];
	bool wg_pending;               /* the last wg step failed; the loop retries */
	/* emitter */
	int64_t last_submit_at;
	double last_overall;
	long last_submit_status;
	char submit_error[256];
	unsigned int submitted, submit_failures;
	bool demo_scores;              /* DEMO_SCORES: submissions are made up */
	/* harness (BENCH_CMD), on its own schedule */
	int64_t harness_last_run;      /* unix seconds a run ended, 0 = never */
	int64_t harness_measured_at;   /* the latest good result's time */
	uint64_t harness_duration_ms;  /* of the last run */
	unsigned int harness_runs, harness_failures;
	char harness_error[256];
	/* peers, from the last applied epoch */
	size_t n_peers;
	struct agent_peer_status *peers;
};

int agent_state_init(struct agent_state *s, const char *node_id, const char *state_dir);
void agent_state_destroy(struct agent_state *s);
/* Replaces the peer list, keeping probe results of peers still present. Locked by caller. */
int agent_state_set_peers(struct agent_state *s, const struct meshnet_peer *peers, size_t n);
/* Writes status.json atomically. Locked by caller. */
int agent_state_publish(const struct agent_state *s);

/* `meshnet-agent status`: prints STATE_DIR/status.json for humans (or raw). */
int agent_status_print(const char *state_dir, bool json, FILE *out, char *err, size_t errlen);

#endif
