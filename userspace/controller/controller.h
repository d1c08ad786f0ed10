/* SPDX-License-Identifier: MIT */
/*
 * meshnetd's state: the enrolled nodes (hash map by node id plus a dense
 * array for O(n) walks), their benchmarks and verdicts, and the epoch. One
 * mutex guards it; nothing in a request path is worse than O(n) in nodes.
 *
 * The first part of this header is the controller's interface to the HTTP
 * layer and main.c; the second ("between the controller's files") joins
 * controller.c, nodes.c, verdicts.c, epochs.c, records.c and auth.c.
 */
#ifndef MESHNETD_CONTROLLER_H
#define MESHNETD_CONTROLLER_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include <json-c/json.h>
#include <openssl/evp.h>

#include "config.h"
#include "hkdf.h"
#include "membership.h"
#include "prefixes.h"
#include "replay.h"
#include "revisions.h"
#include "store.h"
#include "strbuf.h"
#include "trust.h"

#define MAX_ALLOWED_IPS 16

/* An API error: HTTP status, snake_case code, human message. */
struct api_error {
	unsigned int status;
	const char *code;
	char message[200];
};

void api_error_set(struct api_error *err, unsigned int status, const char *code,
		   const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* The last NODE_HISTORY accepted benchmarks of a node (memory only). */
#define NODE_HISTORY 8
struct score_sample {
	struct scores scores;
	int64_t time;
	bool demo;
};

/* The node table's hash indexes (nodes.c). */
enum node_index { NODE_BY_ID, NODE_BY_WG_KEY, NODE_BY_SIGNING_KEY, NODE_INDEXES };

struct node {
	struct node *next[NODE_INDEXES];	/* hash chains, one per index */
	size_t index;			/* in controller.nodes */
	uint32_t slot;			/* in the published views (stable) */
	char id[64];
	char wg_public_key[48];		/* base64 */
	char signing_key[48];		/* base64 Ed25519 public key */
	char endpoint[64];		/* "" if none */
	char *allowed_ips_json;		/* ["10.10.0.2/32",...] */
	char *peer_json;		/* {"node_id":..,"membership":" for config replies */
	size_t peer_json_len;
	EVP_PKEY *sign_pkey;		/* created on first use */
	bool has_benchmark;
	struct scores scores;
	int64_t benchmark_time, benchmark_received;
	char suite_version[64];
	bool demo_scores;		/* the last benchmark said its scores are made up */
	int64_t benchmark_measured;	/* its measured_at (= benchmark_time if absent) */
	enum verdict verdict;
	char reason[VERDICT_REASON_LEN];
	enum pin pin;
	int64_t last_update;
	/* flap damping: flips to DENIED within FLAP_WINDOW hold readmission down */
	unsigned int flaps;
	int64_t last_denied_flip, admit_not_before;
	char *evidence;			/* the latest accepted submission, as signed (JSON) */
	struct score_sample history[NODE_HISTORY]; /* ring, admin views only */
	uint8_t history_len, history_next;
	struct node_evidence trust;	/* tags, attestations, good streak */
	char rule[2 * POLICY_NAME_MAX + 16];	/* the rule that decided the verdict */
};

struct epoch_state {
	uint64_t id;
	int64_t start, expiry;		/* expiry: the planned rotation */
	int64_t valid_until;		/* the lease (EPOCH_VALIDITY) */
	uint64_t revision;		/* the revision that started it */
	uint8_t secret[MESHNET_EPOCH_SECRET_LEN];
	struct meshnet_psk_deriver deriver;	/* HKDF extract done once */
	char secret_hash[65];
};

/* The open (or committing) batch of the commit pipeline (commit.c). */
struct commit_batch {
	uint64_t seq;
	bool dirty;
	struct strbuf revisions, records;	/* newline-terminated JSON lines */
	size_t n_revisions, n_records;
	uint64_t first_revision;
	struct store_audit_leaf *audit;
	size_t n_audit, cap_audit;
	bool has_epoch;
	struct store_epoch epoch;
	struct rev_publish publish;		/* its view changes, detached */
	struct store_tx *tx;			/* a shared store's write lock (replicate.c) */
};

/* Called once batch seq is durable (ok) or failed; unlocked, commit thread. */
typedef void (*durable_listener_fn)(void *ctx, uint64_t seq, bool ok);

struct controller_stats {
	uint64_t benchmarks_accepted, config_served, rotations, verdict_changes;
	uint64_t auth_failures, replays, demo_scores_refused;
};

/* Called (unlocked) after a view with a new head revision or epoch is published. */
typedef void (*change_listener_fn)(void *ctx, uint64_t revision, uint64_t epoch_id);

struct controller {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	const struct controller_config *cfg;
	struct membership_rules rules;
	struct node **nodes;
	size_t n_nodes, cap_nodes;
	struct node **index[NODE_INDEXES];	/* bucket arrays (n_buckets each) */
	struct prefix_index prefixes;	/* every node's allowed_ips, disjoint */
	size_t n_buckets;
	size_t n_allowed;
	struct epoch_state epoch;
	int64_t last_deny_rotation;
	int64_t rotate_at;		/* 0: none pending (a quarantine's epoch) */
	int64_t last_admit_rotation;
	int64_t admit_at;		/* 0: none pending (an admission's epoch) */
	int64_t last_status;		/* status.json written */
	bool stopping, status_dirty;
	pthread_t epoch_thread;
	bool epoch_thread_started;
	struct store *store;
	struct replay_cache *replay;
	struct controller_stats stats;	/* atomic increments */
	change_listener_fn on_change;
	void *on_change_ctx;
	/* readers: the published views; writers publish under lock */
	struct revisions rv;
	pthread_mutex_t index_lock;	/* the id buckets: writers change them, readers look up */
	EVP_PKEY *statement_key;	/* the controller's Ed25519 key (controller_key.c) */
	/* the commit pipeline (commit.c) */
	struct commit_batch *open;	/* c->lock */
	pthread_cond_t commit_cond;
	pthread_t commit_thread;
	bool commit_thread_started, commit_stopping;
	pthread_mutex_t durable_lock;
	pthread_cond_t durable_cond;
	uint64_t durable_seq;
	durable_listener_fn on_durable;
	void *on_durable_ctx;
	/* other controllers' commits (replicate.c) */
	pthread_t replicate_thread;
	bool replicate_started;
	int replicate_stop_fd;
	uint64_t remote_revisions;
	char statement_pub_b64[48];
	int64_t started_at;		/* unix s: older signed requests are refused */
	bool loading;			/* replaying the store: write nothing */
	bool importing;			/* NODES_FILE import: batch the syncs */
	uint64_t loaded_revision;	/* the highest revision the store replayed */
	struct rev_restore restore;	/* loading: the stored revisions, for the log */
	struct trust trust;		/* evaluators and the policy in effect */
	struct acks *acks;		/* acknowledged enforcement (acks.h) */
	uint64_t attestations_accepted, attestations_refused;
};

struct acks;

struct controller *controller_new(const struct controller_config *cfg, struct store *store);
void controller_free(struct controller *c);
/* Loads the store and the nodes file, compacts, starts the first epoch if needed. */
int controller_start(struct controller *c);
int controller_start_epoch_thread(struct controller *c);
void controller_stop(struct controller *c);

struct node *controller_find(struct controller *c, const char *id);
/* A reader's look-up of id's slot (index_lock only); -1 if not enrolled. */
int controller_lookup_slot(struct controller *c, const char *id, uint32_t *slot);
/* The published view (view_put() it) and the record of id in it, or NULL. */
struct view *controller_view(struct controller *c);
struct peer_rec *controller_view_node(struct controller *c, struct view *v, const char *id);

/*
 * Admin operations (each takes the lock). *seq gets the commit batch to wait
 * for before answering (controller_durable_seq()); enrol takes NULL too.
 */
int controller_enrol(struct controller *c, struct json_object *obj, uint64_t *seq,
		     struct api_error *err);
int controller_remove(struct controller *c, const char *id, uint64_t *seq,
		      struct api_error *err);
int controller_set_pin(struct controller *c, const char *id, enum pin pin, uint64_t *seq,
		       struct api_error *err);
uint64_t controller_rotate(struct controller *c, const char *why, uint64_t *seq);

/* The admin bearer token (auth.c): only its SHA-256 is kept. */
struct admin_token {
	uint8_t hash[32];
	bool enabled;		/* ADMIN_TOKEN_FILE given */
};

/* Reads ADMIN_TOKEN_FILE (0600, >= 16 characters); "" leaves admin disabled. */
int admin_token_load(struct admin_token *t, const char *path);
/* Checks an Authorization header value; 401 unauthorized in err if it fails. */
int admin_token_check(const struct admin_token *t, const char *authorization,
		      struct api_error *err);

/* Signed request check; fills err on refusal. */
int controller_authenticate(struct controller *c, const char *path_id, const char *method,
			    const char *path_query, const char *body, size_t body_len,
			    const char *hdr_node, const char *hdr_ts, const char *hdr_nonce,
			    const char *hdr_sig, struct api_error *err);

/*
 * The signed request a benchmark came in (for the audit log's evidence: a
 * verdict's record holds the node's own signed submission).
 */
struct benchmark_evidence {
	const char *method, *path_query;	/* as signed */
	const char *timestamp, *nonce, *signature;	/* the signature headers */
};

/*
 * POST /v1/benchmarks/{id} after authentication; reply body into out, its
 * batch in *seq. ev (or NULL) is kept as the node's latest evidence.
 */
int controller_submit_benchmark(struct controller *c, const char *id, const char *body,
				size_t body_len, const struct benchmark_evidence *ev,
				struct strbuf *out, uint64_t *seq, struct api_error *err);

/*
 * GET /v1/config/{id}: renders the reply (status 200 or 403 denied) into out.
 * Returns the HTTP status, or 0 with err set.
 */
unsigned int controller_render_config(struct controller *c, const char *id,
				      struct strbuf *out, struct api_error *err);
uint64_t controller_epoch_id(struct controller *c);

void controller_render_epoch(struct controller *c, struct strbuf *out);
void controller_render_metrics(struct controller *c, struct strbuf *out, const char *extra);
void controller_render_status(struct controller *c, struct strbuf *out);
/* A node's status object (membership, reason, pin, last benchmark) of status.json and its view. Lock held. */
void controller_render_node_status(struct strbuf *out, const struct node *n);

/* The membership rules in effect (for tests and reasons). */
void controller_rules_from_config(struct membership_rules *r, const struct controller_config *cfg);

/* ---- between the controller's files ---- */

static inline int64_t controller_now(void)
{
	return (int64_t)time(NULL);
}

static inline int64_t controller_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Parses a JSON body strictly; 400 bad_json in err if it is not. */
struct json_object *controller_parse_json_body(const char *body, size_t len,
					       struct api_error *err);
/* A JSON file (NODES_FILE, EVALUATORS_FILE), parsed as a body; NULL logged "SETTING path: why". */
struct json_object *controller_read_json_file(const char *setting, const char *path,
					      size_t max);

/* nodes.c: the node table (callers hold c->lock) */
struct node *nodes_find_by_key(struct controller *c, const char *wg_public_key);
void nodes_key_index_add(struct controller *c, struct node *n);
void nodes_key_index_del(struct controller *c, struct node *n);
/* The signing-key and prefix indexes of n (add: bulk while loading/importing). */
struct node *nodes_find_by_signing_key(struct controller *c, const char *signing_key);
int nodes_ident_index_add(struct controller *c, struct node *n);
void nodes_ident_index_del(struct controller *c, struct node *n);
int nodes_insert(struct controller *c, struct node *n);
void nodes_remove(struct controller *c, struct node *n);
void node_free(struct node *n);
/* The fixed part of n's entry in other nodes' config replies. */
int node_render_peer_json(struct node *n);
void node_set_verdict(struct controller *c, struct node *n, enum verdict v, const char *reason,
		      int64_t now);
/* Enrolment fields into n (zeroed first; n->allowed_ips_json is allocated). */
int node_parse_enrolment(struct json_object *obj, struct node *n, struct api_error *err);
int nodes_import_file(struct controller *c, const char *path);
/* A NODES_FILE's entries: the array itself or {"nodes": [...]}; NULL if neither. */
struct json_object *nodes_file_entries(struct json_object *root);
/* The whole-file check of an import (logs the first problem); 0 or -1. */
int nodes_check_import(struct controller *c, struct json_object *arr, const char *path);

/* records.c: journal records and their audit entries */
/* rev: the record's revision (0: a snapshot line) */
void record_render_enrol(struct strbuf *sb, const struct node *n, uint64_t rev);
void record_render_bench(struct strbuf *sb, const struct node *n);
void record_render_verdict(struct strbuf *sb, const struct node *n, uint64_t rev);
void record_render_pin(struct strbuf *sb, const struct node *n, uint64_t rev);
void record_render_remove(struct strbuf *sb, const char *id, uint64_t rev);
void record_render_epoch(struct strbuf *sb, const struct epoch_state *e, uint64_t rev);
/* Queues a record in the open batch (revision: it has a "rev"). */
int record_journal(struct controller *c, struct strbuf *sb, bool revision);
void record_audit(struct controller *c, const char *type, struct strbuf *fields);
/* Replays one stored record into the table (store_load's callback). */
int record_apply(void *ctx, struct json_object *rec);
/* Every node's records, one line each: what a compaction or a migration writes. */
void records_render_snapshot(struct controller *c, struct strbuf *sb);
int records_compact_locked(struct controller *c);

/*
 * Several controllers on one store (replicate.c). Before a write changes
 * memory: takes the store's write lock for the open batch, replaying what
 * other controllers committed first (0; -1 with err 503 store_unavailable,
 * nothing changed). dir: nothing to do.
 */
int controller_write_lock_locked(struct controller *c, struct api_error *err);
/* Applies a record another controller committed, and queues its view change. */
int record_apply_remote(void *ctx, struct json_object *rec);
int controller_start_replication(struct controller *c);
void controller_stop_replication(struct controller *c);

/* verdicts.c */
struct benchmark {
	struct scores scores;
	int64_t time;
	char suite_version[64];
	bool demo_scores;	/* "demo_scores": true (the agent's generator) */
	int64_t measured;	/* "measured_at", when the harness produced the scores */
};

/* The benchmark body spec (node_id must be path_id; timestamp not past now + skew). */
int benchmark_parse(struct json_object *obj, const char *path_id, int64_t now, int64_t skew,
		    struct benchmark *b, struct api_error *err);
int benchmark_get_score(struct json_object *scores, const char *key, double *out,
			struct api_error *err);
/* After a load: refresh the words of every verdict the rule still gives. */
void verdicts_refresh_reasons(struct controller *c);
void verdict_log(const struct node *n);
void verdict_record_change(struct controller *c, struct node *n, enum verdict old);
void verdict_set_reason(struct controller *c, struct node *n, const char *reason);
/* Re-evaluates n now; records and returns true if its verdict changed. */
bool verdict_evaluate_node(struct controller *c, struct node *n, int64_t now);
/* n's verdict under the trust policy at now, with its explanation (lock held). */
void verdict_decide(const struct controller *c, const struct node *n, int64_t now,
		    bool new_result, struct trust_eval *te);
void verdict_explain_json(const struct controller *c, const struct node *n, int64_t now,
			  struct strbuf *sb);
/* A verdict change with the evidence that decided it (te may be NULL). */
void verdict_record_change_explained(struct controller *c, struct node *n, enum verdict old,
				     const struct trust_eval *te);
/*
 * After new evidence about n (a benchmark, an attestation): decides, denies
 * at once or asks for the epoch that admits; the explanation into sb and the
 * decision into te (either may be NULL; te->r.verdict differs from n's while
 * an admission waits for its epoch). Returns the epoch started, if any.
 */
uint64_t verdict_new_result_locked(struct controller *c, struct node *n, int64_t now,
				   struct strbuf *explanation, struct trust_eval *te);
/*
 * After a policy change or an evaluator's removal: every node again,
 * published. Non-zero if verdicts changed (an epoch id, or 1): notify then.
 */
uint64_t verdicts_reevaluate_all_locked(struct controller *c, int64_t now, const char *why);

/* attestations.c: evaluators and attestations */
int attestations_record_apply_evaluator(struct controller *c, const char *t,
					struct json_object *rec);
int attestations_record_apply(struct controller *c, struct node *n, struct json_object *rec);
void attestations_render_evaluator_records(struct controller *c, struct strbuf *sb);
void attestations_render_node_records(struct controller *c, const struct node *n,
				      struct strbuf *sb);
/* Admin evaluator operations; *seq: the commit batch to wait for before answering. */
int controller_enrol_evaluator(struct controller *c, struct json_object *obj,
			       struct strbuf *out, uint64_t *seq, struct api_error *err);
/*
 * EVALUATORS_FILE at start: {"evaluators":[{"evaluator_id","public_key"}]},
 * checked whole first; each evaluator not enrolled yet is enrolled (the
 * state directory wins over the file, as for NODES_FILE). 0 or -1 (logged).
 */
int controller_evaluators_import_file(struct controller *c, const char *path);
int controller_remove_evaluator(struct controller *c, const char *id, struct strbuf *out,
				uint64_t *seq, struct api_error *err);
void controller_render_evaluators(struct controller *c, struct strbuf *out);
/*
 * POST /v1/attestations (relay_node NULL: from anyone, the evaluator's
 * signature is the authentication) or /v1/nodes/{id}/attestations (a node
 * relaying its own, authenticated as relay_node).
 */
int controller_submit_attestation(struct controller *c, const char *relay_node,
				  const char *body, size_t body_len, struct strbuf *out,
				  uint64_t *seq, struct api_error *err);

/* policies.c: the policy file */
int controller_policy_load_initial(struct controller *c);
/*
 * Validates and installs a policy (text of len bytes; NULL: re-read
 * POLICY_FILE). On refusal: -1, err and errs (line/field) set, nothing
 * changed. out: {"policy":..,"state":"active"|"scheduled"}.
 */
int controller_policy_install(struct controller *c, const char *text, size_t len,
			      const char *source, struct strbuf *out, uint64_t *seq,
			      struct api_error *err, struct policy_errors *errs);
/* Puts a time-locked policy in effect when due (lock held); epoch to notify. */
uint64_t controller_policy_tick_locked(struct controller *c, int64_t now);
/* The same at an epoch start (the rotation re-evaluates every node itself). */
void controller_policy_epoch_locked(struct controller *c, int64_t now);
void controller_render_policy(struct controller *c, struct strbuf *out);

/*
 * Publishing (nodes.c): a new record of n for the views, logged as a
 * revision of the given kind (REV_NONE: words only, no revision).
 * controller_publish() swaps in a view with everything queued and tells the
 * listener; call it with c->lock held (it does O(k) work, no I/O).
 */
uint64_t node_publish(struct controller *c, struct node *n, enum rev_kind kind);
/* n's record as readers see it (a new reference), or NULL (ENOMEM, logged). */
struct peer_rec *node_record(struct controller *c, struct node *n);
/* node_publish() of a record made by node_record() (takes the reference; NULL: 0). */
uint64_t node_publish_record(struct controller *c, struct node *n, struct peer_rec *rec,
			     enum rev_kind kind);
void node_publish_removal(struct controller *c, struct node *n);
void controller_publish_locked(struct controller *c);

/*
 * commit.c. Writers (c->lock) add to the open batch; controller_commit_locked()
 * returns its number: a reply about the change is sent (2xx) only once
 * controller_durable_seq() reaches it (the HTTP layer suspends it meanwhile).
 */
struct commit_batch *commit_batch_new(uint64_t seq);
void commit_batch_free(struct commit_batch *b);
int commit_add_record(struct controller *c, const char *line, size_t len, bool revision);
int commit_add_audit(struct controller *c, const char *type, const char *fields);
/* The leaf of a plain benchmark: no write lock (the store sequences it, store.h: defer_audit). */
int commit_add_audit_unlocked(struct controller *c, const char *type, const char *fields);
void commit_set_epoch(struct controller *c, const struct store_epoch *e);
uint64_t controller_commit_locked(struct controller *c);
/* Commits the open batch in the caller's thread (start-up, before the thread). */
int controller_commit_sync(struct controller *c);
int controller_start_commit_thread(struct controller *c);
void controller_stop_commit_thread(struct controller *c);
uint64_t controller_durable_seq(struct controller *c);
/* Tells the listener of the current head; call unlocked after publishing. */
void controller_notify(struct controller *c);

/* audit_lifecycle.c: controller_start / controller_stop leaves (lock held / not). */
void audit_record_lifecycle(struct controller *c, const char *type, int sig);
void controller_record_stop(struct controller *c, int sig);

/* controller_key.c: load or create the statement key; 0 or -1 (logged). */
int controller_key_load(struct controller *c);
/* `meshnetd pubkey`: prints the public key (creating the key if needed). */
int controller_key_print(const struct controller_config *cfg);

/* epochs.c (the *_locked ones with c->lock held) */
void epoch_install(struct controller *c, const struct store_epoch *e);
/* Tells the HTTP layer (long-poll waiters) of epoch id; call unlocked. */
void epochs_notify(struct controller *c, uint64_t id);
/* The epoch as the views carry it (key material derived from the secret). */
void epoch_view_fill(const struct controller *c, struct view_epoch *ve);
uint64_t epochs_rotate_locked(struct controller *c, int64_t now, const char *why);
/* An admission's epoch: now if ADMIT_INTERVAL allows, else scheduled. */
uint64_t epochs_request_admission_locked(struct controller *c, int64_t now);
/* A verdict flip asks for a new epoch, at most one per DENY_ROTATE_INTERVAL. */
uint64_t epochs_request_rotation_locked(struct controller *c, int64_t now, const char *why);

#endif
