/* SPDX-License-Identifier: MIT */
/*
 * meshnet-agent configuration: one KEY=VALUE file, the seed's environment
 * variables (same keys) and command-line flags, applied in that order
 * (flags win). Every value goes through one table-driven setter that
 * refuses bad values with a message naming the key.
 */
#ifndef AGENT_OPTIONS_H
#define AGENT_OPTIONS_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <net/if.h>
#include <sys/socket.h>

enum agent_score {
	AGENT_SCORE_OVERALL,
	AGENT_SCORE_REFUSAL,
	AGENT_SCORE_HONESTY,
	AGENT_SCORE_POLICY,
	AGENT_SCORE_COUNT
};

extern const char *const agent_score_names[AGENT_SCORE_COUNT];

struct agent_options {
	char node_id[64];
	char mesh_id[64];          /* MESH_ID: the audience of signed requests */
	char controller[2048];     /* CONTROLLER_URL(S): https://host:port[,https://...] */
	char ca_file[PATH_MAX];    /* CA_FILE */
	bool plain_http;           /* ALLOW_PLAIN_HTTP */
	char state_dir[PATH_MAX];  /* STATE_DIR: keys, status.json */
	char wg_ifname[IF_NAMESIZE]; /* WG_INTERFACE */
	unsigned int listen_port;  /* WG_LISTEN_PORT */
	unsigned int keepalive;    /* WG_PERSISTENT_KEEPALIVE_SEC */
	char overlay_ips[256];     /* OVERLAY_IPS, for the enrolment record */
	char endpoint[128];        /* ENDPOINT, for the enrolment record */

	unsigned int emit_interval;  /* EMIT_INTERVAL_SEC, 0 = no emitter */
	unsigned int poll_interval;  /* POLL_INTERVAL_SEC */
	unsigned int probe_interval; /* PROBE_INTERVAL_SEC, 0 = no probe */
	unsigned int long_poll;      /* LONG_POLL_SEC: ?wait= of the config poll */
	unsigned int http_timeout;   /* HTTP_TIMEOUT_SEC */
	unsigned int backoff_min_ms; /* BACKOFF_MIN_MS */
	unsigned int backoff_max_ms; /* BACKOFF_MAX_MS */

	bool demo_scores;                     /* DEMO_SCORES: the generator, said so */
	double score_mean[AGENT_SCORE_COUNT]; /* SCORE_MEAN, SCORE_MEAN_<DIM> */
	double score_jitter;                  /* SCORE_JITTER */
	char suite_version[64];               /* SUITE_VERSION */
	char bench_cmd[1024];                 /* BENCH_CMD */
	unsigned int bench_interval;          /* BENCH_INTERVAL_SEC */
	unsigned int bench_timeout;           /* BENCH_TIMEOUT_SEC: SIGTERM */
	unsigned int bench_grace;             /* BENCH_GRACE_SEC: then SIGKILL */
	unsigned int bench_max_age;           /* BENCH_MAX_AGE_SEC, 0 = derived */
	char bench_user[64];                  /* BENCH_USER */
	char log_level[16];                   /* LOG_LEVEL */

	bool fail_closed;            /* FAIL_CLOSED */
	unsigned int grace;          /* EXPIRY_GRACE_SEC */
	bool endpoint_drop;          /* ENDPOINT_DROP */
	unsigned int wg_remove_delay; /* WG_REMOVE_DELAY_SEC */
	char controller_pubkey[64];      /* CONTROLLER_PUBKEY: base64 Ed25519 (v2) */
	char controller_pubkey_file[PATH_MAX]; /* CONTROLLER_PUBKEY_FILE */
	unsigned int reconcile_interval; /* RECONCILE_INTERVAL_SEC, 0 = off */
	unsigned int reconcile_full;     /* RECONCILE_FULL_SEC */
	char metrics_listen[128];        /* METRICS_LISTEN: "" off, IP:PORT or /unix/path */
	unsigned int metrics_peers_max;  /* METRICS_PEERS_MAX: peers labelled in the metrics */
	char require_witness[1024];      /* REQUIRE_WITNESS: witness vkeys, comma-separated */
	unsigned int witness_quorum;     /* WITNESS_QUORUM: 0 = all of them */
};

void agent_options_defaults(struct agent_options *o);

/*
 * Sets one option by its key (environment name, e.g. "EMIT_INTERVAL_SEC").
 * Returns 0, or -1 with a sentence naming the key and the problem in err.
 */
int agent_option_set(struct agent_options *o, const char *key, const char *value,
		     char *err, size_t errlen);

/* KEY=VALUE lines, '#' comments, blank lines. -1 + "FILE:LINE: ..." on error. */
int agent_options_load_file(struct agent_options *o, const char *path, char *err,
			    size_t errlen);
/* The same from an open stream; path names it in messages. */
int agent_options_load_stream(struct agent_options *o, FILE *f, const char *path, char *err,
			      size_t errlen);

/* Every known key present in the environment. */
int agent_options_load_env(struct agent_options *o, char *const *envp, char *err,
			   size_t errlen);

/*
 * Command-line flags (--node-id X, --emit-interval=5, ...). A --config FILE
 * is loaded first, then the environment, then the other flags. Returns the
 * index of the first non-option argument, or -1 with a message.
 */
int agent_options_parse(struct agent_options *o, int argc, char **argv, char *const *envp,
			char *err, size_t errlen);

/* Cross-field checks (node id and controller set, https unless allowed...). */
int agent_options_validate(const struct agent_options *o, char *err, size_t errlen);

void agent_options_usage(FILE *out);

/* A parsed METRICS_LISTEN: "IP:PORT", "[IPv6]:PORT" or an absolute unix socket path. */
struct agent_metrics_addr {
	struct sockaddr_storage ss;
	socklen_t len;
	bool unix_path;
	bool loopback;
};

/* Parses METRICS_LISTEN. 0, or -1 with a sentence naming the value. */
int agent_metrics_parse_listen(const char *text, struct agent_metrics_addr *out, char *err,
			       size_t errlen);

/* LOG_LEVEL's name as an enum meshnet_log_level, or -1. */
int agent_log_level(const char *name);

/* The oldest harness result the emitter still submits, in seconds. */
unsigned int agent_bench_max_age(const struct agent_options *o);

#endif
