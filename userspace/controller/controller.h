/* SPDX-License-Identifier: MIT */
/*
 * meshnetd's state: the enrolled nodes (hash map by node id plus a dense
 * array for O(n) walks), their benchmarks and verdicts, and the epoch. One
 * mutex guards it; nothing in a request path is worse than O(n) in nodes.
 */
#ifndef MESHNETD_CONTROLLER_H
#define MESHNETD_CONTROLLER_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include <json-c/json.h>
#include <openssl/evp.h>

#include "config.h"
#include "hkdf.h"
#include "membership.h"
#include "replay.h"
#include "store.h"
#include "strbuf.h"

#define MAX_ALLOWED_IPS 16

/* An API error: HTTP status, snake_case code, human message. */
struct api_error {
	unsigned int status;
	const char *code;
	char message[200];
};

void api_error_set(struct api_error *err, unsigned int status, const char *code,
		   const char *fmt, ...) __attribute__((format(printf, 4, 5)));

struct node {
	struct node *hash_next;		/* chain by id */
	struct node *key_next;		/* chain by WireGuard public key */
	size_t index;			/* in controller.nodes */
	char id[64];
	char wg_public_key[48];		/* base64 */
	char signing_key[48];		/* base64 Ed25519 public key */
	char endpoint[64];		/* "" if none */
	char *allowed_ips_json;		/* ["10.10.0.2/32",...] */
	char *peer_json;		/* {"node_id":..,"membership":" for config replies */
	size_t peer_json_len;
	EVP_MD_CTX *verify_ctx;		/* an initialised verifier, checked out per use */
	EVP_PKEY *sign_pkey;		/* created on first use */
	bool has_benchmark;
	struct scores scores;
	int64_t benchmark_time, benchmark_received;
	char suite_version[64];
	enum verdict verdict;
	char reason[VERDICT_REASON_LEN];
	enum pin pin;
	int64_t last_update;
};

struct epoch_state {
	uint64_t id;
	int64_t start, expiry;
	uint8_t secret[MESHNET_EPOCH_SECRET_LEN];
	struct meshnet_psk_deriver deriver;	/* HKDF extract done once */
	char secret_hash[65];
};

struct controller_stats {
	uint64_t benchmarks_accepted, config_served, rotations, verdict_changes;
	uint64_t auth_failures, replays;
};

typedef void (*epoch_listener_fn)(void *ctx, uint64_t epoch_id);

struct controller {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	const struct controller_config *cfg;
	struct membership_rules rules;
	struct node **nodes;
	size_t n_nodes, cap_nodes;
	struct node **buckets;		/* by node id */
	struct node **key_buckets;	/* by WireGuard public key */
	size_t n_buckets;
	size_t n_allowed;
	struct epoch_state epoch;
	int64_t last_deny_rotation;
	int64_t rotate_at;		/* 0: none pending */
	bool stopping, status_dirty;
	pthread_t epoch_thread;
	bool epoch_thread_started;
	struct store *store;
	struct replay_cache *replay;
	struct controller_stats stats;
	epoch_listener_fn on_epoch;
	void *on_epoch_ctx;
	bool loading;			/* replaying the store: write nothing */
	bool importing;			/* NODES_FILE import: batch the syncs */
};

struct controller *controller_new(const struct controller_config *cfg, struct store *store);
void controller_free(struct controller *c);
/* Loads the store and the nodes file, compacts, starts the first epoch if needed. */
int controller_start(struct controller *c);
int controller_start_epoch_thread(struct controller *c);
void controller_stop(struct controller *c);

struct node *controller_find(struct controller *c, const char *id);

/* Admin operations (each takes the lock). */
int controller_enrol(struct controller *c, struct json_object *obj, struct api_error *err);
int controller_remove(struct controller *c, const char *id, struct api_error *err);
int controller_set_pin(struct controller *c, const char *id, enum pin pin,
		       struct api_error *err);
uint64_t controller_rotate(struct controller *c, const char *why);

/* Signed request check; fills err on refusal. */
int controller_authenticate(struct controller *c, const char *path_id, const char *method,
			    const char *path_query, const char *body, size_t body_len,
			    const char *hdr_node, const char *hdr_ts, const char *hdr_nonce,
			    const char *hdr_sig, struct api_error *err);

/* POST /v1/benchmarks/{id} after authentication; reply body into out. */
int controller_submit_benchmark(struct controller *c, const char *id, const char *body,
				size_t body_len, struct strbuf *out, struct api_error *err);

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
void controller_render_node(struct controller *c, const char *id, struct strbuf *out);

/* The membership rules in effect (for tests and reasons). */
void controller_rules_from_config(struct membership_rules *r, const struct controller_config *cfg);

#endif
