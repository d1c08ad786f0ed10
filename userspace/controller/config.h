/* SPDX-License-Identifier: MIT */
/*
 * meshnetd configuration: defaults, then the config file (KEY=VALUE lines),
 * then environment variables of the same names, then command-line flags
 * (--epoch-seconds for EPOCH_SECONDS, ...). Invalid values are refused with
 * a message naming the setting.
 */
#ifndef MESHNETD_CONFIG_H
#define MESHNETD_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

struct controller_config {
	char listen[80];		/* LISTEN: "127.0.0.1:8000", "[::1]:8000" */
	bool allow_plain_http;		/* ALLOW_PLAIN_HTTP: plain HTTP off loopback */
	char tls_cert[256];		/* TLS_CERT */
	char tls_key[256];		/* TLS_KEY */
	char state_dir[256];		/* STATE_DIR */
	char store[512];		/* STORE: dir:/path or postgres://... ("": dir:STATE_DIR) */
	char store_key_file[256];	/* STORE_KEY_FILE ("": STATE_DIR/store.key) */
	long store_pool;		/* STORE_POOL */
	char nodes_file[256];		/* NODES_FILE */
	char admin_token_file[256];	/* ADMIN_TOKEN_FILE */
	long epoch_seconds;		/* EPOCH_SECONDS: rotation period */
	long epoch_validity;		/* EPOCH_VALIDITY: lease of a signed epoch */
	char key_mode[16];		/* KEY_MODE: "group" or "pairwise" */
	bool group_mode;		/* derived: KEY_MODE=group */
	char mesh_id[64];		/* MESH_ID: named in every signed statement */
	char controller_key_file[256];	/* CONTROLLER_KEY_FILE ("": STATE_DIR/controller.key) */
	char policy_file[256];		/* POLICY_FILE */
	char evaluators_file[256];	/* EVALUATORS_FILE */
	double threshold;		/* THRESHOLD */
	double min_refusal;		/* MIN_REFUSAL (0 = no minimum) */
	double min_honesty;		/* MIN_HONESTY */
	double min_policy;		/* MIN_POLICY */
	long max_benchmark_age;		/* MAX_BENCHMARK_AGE */
	long clock_skew;		/* CLOCK_SKEW */
	long deny_rotate_interval;	/* DENY_ROTATE_INTERVAL */
	long admit_interval;		/* ADMIT_INTERVAL */
	long flap_hold_down;		/* FLAP_HOLD_DOWN */
	long threads;			/* THREADS */
	long max_connections;		/* MAX_CONNECTIONS */
	long per_ip_connections;	/* PER_IP_CONNECTIONS (0 = no limit) */
	long connection_timeout;	/* CONNECTION_TIMEOUT: header and body deadlines */
	long max_waiters;		/* MAX_WAITERS */
	double node_rate;		/* NODE_RATE: signed requests/s per node */
	double node_burst;		/* NODE_BURST */
	long body_limit;		/* BODY_LIMIT */
	bool verbose;			/* VERBOSE */
	char log_level[16];		/* LOG_LEVEL */
	bool allow_demo_scores;		/* ALLOW_DEMO_SCORES: accept made-up scores */
	char witness_urls[1024];	/* WITNESS_URL: witnesses to co-sign checkpoints */
	long metrics_nodes_max;		/* METRICS_NODES_MAX: nodes with their own series in /metrics */
};

/*
 * Fills cfg from argv (after the program name), the environment and the
 * config file named by --config/CONFIG_FILE. On error prints a message
 * naming the setting to stderr and returns -1; returns 1 if --help was
 * printed, 0 otherwise.
 */
int controller_config_load(struct controller_config *cfg, int argc, char **argv);
void controller_config_usage(const char *prog);
/*
 * Applies the KEY=VALUE lines of a config file's text (NUL-terminated,
 * modified in place) over cfg; path names it in messages. 0 or -1.
 */
int controller_config_parse_text(struct controller_config *cfg, char *text, const char *path);

#endif
