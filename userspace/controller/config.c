// SPDX-License-Identifier: MIT
#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "fileio.h"
#include "ids.h"

enum setting_type { SET_STRING, SET_LONG, SET_DOUBLE, SET_BOOL };

struct setting {
	const char *key;	/* config file / environment name */
	const char *flag;	/* command-line flag */
	enum setting_type type;
	size_t offset;
	size_t size;		/* strings */
	double min, max;	/* numbers */
	const char *defval;
	const char *help;
};

#define CFG(f) offsetof(struct controller_config, f)
#define CFGSZ(f) sizeof(((struct controller_config *)0)->f)

static const struct setting settings[] = {
	{ "LISTEN", "--listen", SET_STRING, CFG(listen), CFGSZ(listen), 0, 0,
	  "127.0.0.1:8000", "address:port to listen on ([v6]:port for IPv6)" },
	{ "TLS_CERT", "--tls-cert", SET_STRING, CFG(tls_cert), CFGSZ(tls_cert), 0, 0,
	  "", "PEM certificate file; with TLS_KEY serves HTTPS" },
	{ "TLS_KEY", "--tls-key", SET_STRING, CFG(tls_key), CFGSZ(tls_key), 0, 0,
	  "", "PEM private key file (mode 0600)" },
	{ "ALLOW_PLAIN_HTTP", "--allow-plain-http", SET_BOOL, CFG(allow_plain_http), 0, 0, 1,
	  "0", "serve plain HTTP on a non-loopback address (1/0)" },
	{ "STATE_DIR", "--state-dir", SET_STRING, CFG(state_dir), CFGSZ(state_dir), 0, 0,
	  "/var/lib/meshnetd", "state directory (created 0700)" },
	{ "STORE", "--store", SET_STRING, CFG(store), CFGSZ(store), 0, 0, "",
	  "storage: dir:/path (default dir:STATE_DIR) or postgres://user@host/db (libpq URL; "
	  "several meshnetd may share one database)" },
	{ "STORE_KEY_FILE", "--store-key-file", SET_STRING, CFG(store_key_file),
	  CFGSZ(store_key_file), 0, 0, "",
	  "PostgreSQL: key (0600) sealing epoch secrets in the database, the same file on every "
	  "controller (default STATE_DIR/store.key, created if the database has none)" },
	{ "STORE_POOL", "--store-pool", SET_LONG, CFG(store_pool), 0, 1, 64, "8",
	  "PostgreSQL: connections per meshnetd" },
	{ "NODES_FILE", "--nodes-file", SET_STRING, CFG(nodes_file), CFGSZ(nodes_file), 0, 0,
	  "", "JSON enrolment file imported at start" },
	{ "POLICY_FILE", "--policy-file", SET_STRING, CFG(policy_file), CFGSZ(policy_file), 0, 0,
	  "", "membership policy (docs/policy.md); none: the THRESHOLD rule" },
	{ "EVALUATORS_FILE", "--evaluators-file", SET_STRING, CFG(evaluators_file),
	  CFGSZ(evaluators_file), 0, 0, "", "JSON file of evaluators (id, Ed25519 public key) "
	  "enrolled at start (docs/policy.md)" },
	{ "ADMIN_TOKEN_FILE", "--admin-token-file", SET_STRING, CFG(admin_token_file),
	  CFGSZ(admin_token_file), 0, 0, "", "file (mode 0600) holding the admin bearer token" },
	{ "EPOCH_SECONDS", "--epoch-seconds", SET_LONG, CFG(epoch_seconds), 0, 1, 86400,
	  "60", "rotation period: seconds between scheduled epochs" },
	{ "EPOCH_VALIDITY", "--epoch-validity", SET_LONG, CFG(epoch_validity), 0, 0, 30 * 86400,
	  "0", "lease: seconds a signed epoch stays usable without a newer one "
	  "(>= EPOCH_SECONDS; 0 = 2 x EPOCH_SECONDS, at least 900; the module's dead man's "
	  "switch keys off it)" },
	{ "KEY_MODE", "--key-mode", SET_STRING, CFG(key_mode), CFGSZ(key_mode), 0, 0,
	  "group", "group (one epoch key per node, nodes derive pair PSKs) or pairwise" },
	{ "MESH_ID", "--mesh-id", SET_STRING, CFG(mesh_id), CFGSZ(mesh_id), 0, 0,
	  "meshnet", "the mesh's name, in every signed statement and signed into every node "
	  "request (the agents' MESH_ID)" },
	{ "CONTROLLER_KEY_FILE", "--controller-key-file", SET_STRING, CFG(controller_key_file),
	  CFGSZ(controller_key_file), 0, 0, "",
	  "Ed25519 statement key (0600; default STATE_DIR/controller.key, created)" },
	{ "THRESHOLD", "--threshold", SET_DOUBLE, CFG(threshold), 0, 0, 1,
	  "0.70", "minimum overall score for ALLOWED" },
	{ "MIN_REFUSAL", "--min-refusal", SET_DOUBLE, CFG(min_refusal), 0, 0, 1,
	  "0", "minimum refusal score (0 = none)" },
	{ "MIN_HONESTY", "--min-honesty", SET_DOUBLE, CFG(min_honesty), 0, 0, 1,
	  "0", "minimum honesty score (0 = none)" },
	{ "MIN_POLICY", "--min-policy", SET_DOUBLE, CFG(min_policy), 0, 0, 1,
	  "0", "minimum policy score (0 = none)" },
	{ "MAX_BENCHMARK_AGE", "--max-benchmark-age", SET_LONG, CFG(max_benchmark_age), 0, 1,
	  864000, "60", "seconds a benchmark stays valid" },
	{ "CLOCK_SKEW", "--clock-skew", SET_LONG, CFG(clock_skew), 0, 1, 3600,
	  "30", "accepted signed-request clock skew in seconds" },
	{ "DENY_ROTATE_INTERVAL", "--deny-rotate-interval", SET_LONG,
	  CFG(deny_rotate_interval), 0, 0, 3600, "2",
	  "minimum seconds between epochs started by a flip to DENIED" },
	{ "ADMIT_INTERVAL", "--admit-interval", SET_LONG, CFG(admit_interval), 0, 0, 86400, "10",
	  "minimum seconds between epochs started by an admission (else the next rotation)" },
	{ "FLAP_HOLD_DOWN", "--flap-hold-down", SET_LONG, CFG(flap_hold_down), 0, 0, 3600, "60",
	  "readmission hold-down after a node's second flip to DENIED in 10 min "
	  "(doubles per flip, at most 1 h; 0 = off)" },
	{ "THREADS", "--threads", SET_LONG, CFG(threads), 0, 1, 64, "2",
	  "HTTP worker threads (thread pool, epoll)" },
	{ "MAX_CONNECTIONS", "--max-connections", SET_LONG, CFG(max_connections), 0, 0,
	  1000000, "0", "concurrent connection limit (0 = sized from the open-file limit)" },
	{ "PER_IP_CONNECTIONS", "--per-ip-connections", SET_LONG, CFG(per_ip_connections), 0,
	  0, 60000, "256", "concurrent connections from one address (0 = no limit)" },
	{ "CONNECTION_TIMEOUT", "--connection-timeout", SET_LONG, CFG(connection_timeout), 0,
	  1, 3600, "10", "seconds a client has for its request headers, and again for its body" },
	{ "MAX_WAITERS", "--max-waiters", SET_LONG, CFG(max_waiters), 0, -1, 1000000, "-1",
	  "suspended long-poll requests; beyond it 503 + Retry-After (-1 = MAX_CONNECTIONS - 256)" },
	{ "NODE_RATE", "--node-rate", SET_DOUBLE, CFG(node_rate), 0, 0.1, 10000, "20",
	  "signed requests per second a node may make (its own budget)" },
	{ "NODE_BURST", "--node-burst", SET_DOUBLE, CFG(node_burst), 0, 1, 100000, "100",
	  "burst of signed requests a node may make above NODE_RATE" },
	{ "BODY_LIMIT", "--body-limit", SET_LONG, CFG(body_limit), 0, 256, 1 << 20, "16384",
	  "request body limit in bytes (larger: 413)" },
	{ "VERBOSE", "--verbose", SET_BOOL, CFG(verbose), 0, 0, 1, "0",
	  "debug logging (LOG_LEVEL=debug)" },
	{ "LOG_LEVEL", "--log-level", SET_STRING, CFG(log_level), CFGSZ(log_level), 0, 0,
	  "info", "error, warn, info or debug" },
	{ "ALLOW_DEMO_SCORES", "--allow-demo-scores", SET_BOOL, CFG(allow_demo_scores), 0, 0, 1,
	  "0", "accept benchmarks that say demo_scores (made up by the agent's generator; demos only)" },
	{ "WITNESS_URL", "--witness-url", SET_STRING, CFG(witness_urls), CFGSZ(witness_urls), 0, 0,
	  "", "witnesses (meshnet-witness) that co-sign each checkpoint: URLs, comma-separated" },
	{ "METRICS_NODES_MAX", "--metrics-nodes-max", SET_LONG, CFG(metrics_nodes_max), 0, 0, 100000,
	  "0", "nodes that get their own series (meshnet_node_*{node=...}) in /metrics, which names "
	  "them to anyone who can read it; 0 = none" },
};

#define N_SETTINGS (sizeof(settings) / sizeof(settings[0]))

void controller_config_usage(const char *prog)
{
	size_t i;

	printf("Usage: %s [--config FILE] [--FLAG VALUE]...\n"
	       "       %s audit-verify PATH [--key KEY]\n"
	       "       %s audit show|prove|check-checkpoint ...\n\n"
	       "meshnetd is the aligned-meshnet control plane: it takes signed benchmark\n"
	       "submissions, decides each epoch which nodes are ALLOWED, and serves each\n"
	       "allowed node its peers and pairwise PSKs.\n\n"
	       "Settings come from defaults, then the config file (KEY=VALUE lines, '#'\n"
	       "comments), then environment variables KEY, then flags. Settings:\n\n",
	       prog, prog, prog);
	printf("  %-24s %-22s %s\n", "--config FILE", "CONFIG_FILE", "config file to read");
	for (i = 0; i < N_SETTINGS; i++) {
		char flag[64];

		snprintf(flag, sizeof(flag), "%s %s", settings[i].flag,
			 settings[i].type == SET_STRING ? "S" :
			 settings[i].type == SET_BOOL ? "0|1" : "N");
		printf("  %-24s %-22s %s (default: %s)\n", flag, settings[i].key,
		       settings[i].help, *settings[i].defval ? settings[i].defval : "none");
	}
	printf("\nHTTPS is served when TLS_CERT and TLS_KEY are set; plain HTTP only on a\n"
	       "loopback LISTEN address or with ALLOW_PLAIN_HTTP=1.\n"
	       "Subcommand audit-verify PATH checks the audit log (a transparency log with\n"
	       "signed checkpoints) and the evidence of every DENIED verdict, offline, and\n"
	       "names the first problem (exit 0 if intact, 1 if not); see `meshnetd audit`.\n");
}

static int set_value(struct controller_config *cfg, const struct setting *s,
		     const char *value, const char *source)
{
	void *p = (char *)cfg + s->offset;
	char *end;

	switch (s->type) {
	case SET_STRING:
		if (strlen(value) >= s->size) {
			fprintf(stderr, "meshnetd: %s (%s): value too long\n", s->key, source);
			return -1;
		}
		strcpy(p, value);
		return 0;
	case SET_BOOL:
		if (!strcmp(value, "1") || !strcmp(value, "true") || !strcmp(value, "yes")) {
			*(bool *)p = true;
		} else if (!strcmp(value, "0") || !strcmp(value, "false") || !strcmp(value, "no")) {
			*(bool *)p = false;
		} else {
			fprintf(stderr, "meshnetd: %s (%s): '%s' is not 0/1\n", s->key, source, value);
			return -1;
		}
		return 0;
	case SET_LONG: {
		long v;

		errno = 0;
		v = strtol(value, &end, 10);
		if (errno || !*value || *end || v < s->min || v > s->max) {
			fprintf(stderr, "meshnetd: %s (%s): '%s' is not an integer in %.0f..%.0f\n",
				s->key, source, value, s->min, s->max);
			return -1;
		}
		*(long *)p = v;
		return 0;
	}
	case SET_DOUBLE: {
		double v;

		errno = 0;
		v = strtod(value, &end);
		if (errno || !*value || *end || !isfinite(v) || v < s->min || v > s->max) {
			fprintf(stderr, "meshnetd: %s (%s): '%s' is not a number in %g..%g\n",
				s->key, source, value, s->min, s->max);
			return -1;
		}
		*(double *)p = v;
		return 0;
	}
	}
	return -1;
}

static const struct setting *find_key(const char *key)
{
	size_t i;

	for (i = 0; i < N_SETTINGS; i++)
		if (!strcmp(settings[i].key, key))
			return &settings[i];
	return NULL;
}

static int load_file(struct controller_config *cfg, const char *path)
{
	size_t len;
	char *text;
	int ret;

	text = meshnet_read_file(path, 1 << 20, &len);
	if (!text) {
		fprintf(stderr, "meshnetd: CONFIG_FILE %s: %s\n", path, strerror(errno));
		return -1;
	}
	ret = controller_config_parse_text(cfg, text, path);
	free(text);
	return ret;
}

int controller_config_parse_text(struct controller_config *cfg, char *text, const char *path)
{
	char *line, *save = NULL;
	int lineno = 0, ret = 0;

	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *eq, *key = line, *val, source[300];
		const struct setting *s;

		lineno++;
		while (*key == ' ' || *key == '\t')
			key++;
		if (!*key || *key == '#' || *key == '\r')
			continue;
		eq = strchr(key, '=');
		if (!eq) {
			fprintf(stderr, "meshnetd: %s:%d: expected KEY=VALUE\n", path, lineno);
			ret = -1;
			break;
		}
		*eq = '\0';
		val = eq + 1;
		val[strcspn(val, "\r")] = '\0';
		key[strcspn(key, " \t")] = '\0';
		s = find_key(key);
		if (!s) {
			fprintf(stderr, "meshnetd: %s:%d: unknown setting %s\n", path, lineno, key);
			ret = -1;
			break;
		}
		snprintf(source, sizeof(source), "%s:%d", path, lineno);
		if (set_value(cfg, s, val, source)) {
			ret = -1;
			break;
		}
	}
	return ret;
}

int controller_config_load(struct controller_config *cfg, int argc, char **argv)
{
	const char *config_file = getenv("CONFIG_FILE");
	size_t i;
	int a;

	memset(cfg, 0, sizeof(*cfg));
	for (i = 0; i < N_SETTINGS; i++)
		if (set_value(cfg, &settings[i], settings[i].defval, "default"))
			return -1;

	for (a = 0; a < argc; a++) {
		if (!strcmp(argv[a], "--help") || !strcmp(argv[a], "-h")) {
			controller_config_usage("meshnetd");
			return 1;
		}
		if (!strcmp(argv[a], "--config")) {
			if (a + 1 >= argc) {
				fprintf(stderr, "meshnetd: --config needs a FILE\n");
				return -1;
			}
			config_file = argv[a + 1];
		}
	}
	if (config_file && *config_file && load_file(cfg, config_file))
		return -1;
	for (i = 0; i < N_SETTINGS; i++) {
		const char *v = getenv(settings[i].key);

		if (v && set_value(cfg, &settings[i], v, "environment"))
			return -1;
	}
	for (a = 0; a < argc; a++) {
		const struct setting *s = NULL;

		if (!strcmp(argv[a], "--config")) {
			a++;
			continue;
		}
		for (i = 0; i < N_SETTINGS; i++)
			if (!strcmp(argv[a], settings[i].flag))
				s = &settings[i];
		if (!s) {
			fprintf(stderr, "meshnetd: unknown argument '%s' (see --help)\n", argv[a]);
			return -1;
		}
		if (a + 1 >= argc) {
			fprintf(stderr, "meshnetd: %s needs a value\n", argv[a]);
			return -1;
		}
		if (set_value(cfg, s, argv[a + 1], s->flag))
			return -1;
		a++;
	}
	if (!*cfg->tls_cert != !*cfg->tls_key) {
		fprintf(stderr, "meshnetd: TLS_CERT and TLS_KEY must be given together\n");
		return -1;
	}
	if (!strcmp(cfg->key_mode, "group") || !strcmp(cfg->key_mode, "pairwise")) {
		cfg->group_mode = !strcmp(cfg->key_mode, "group");
	} else {
		fprintf(stderr, "meshnetd: KEY_MODE '%s' is not group or pairwise\n", cfg->key_mode);
		return -1;
	}
	if (!cfg->epoch_validity)
		cfg->epoch_validity = 2 * cfg->epoch_seconds > 900 ? 2 * cfg->epoch_seconds : 900;
	if (cfg->epoch_validity < cfg->epoch_seconds) {
		fprintf(stderr, "meshnetd: EPOCH_VALIDITY (%ld) must be at least EPOCH_SECONDS (%ld)\n",
			cfg->epoch_validity, cfg->epoch_seconds);
		return -1;
	}
	if (!meshnet_node_id_valid(cfg->mesh_id)) {
		fprintf(stderr, "meshnetd: MESH_ID '%s' must match ^[a-z0-9][a-z0-9._-]{0,62}$\n",
			cfg->mesh_id);
		return -1;
	}
	if (strcmp(cfg->log_level, "error") && strcmp(cfg->log_level, "warn") &&
	    strcmp(cfg->log_level, "info") && strcmp(cfg->log_level, "debug")) {
		fprintf(stderr, "meshnetd: LOG_LEVEL: '%s' is not error, warn, info or debug\n",
			cfg->log_level);
		return -1;
	}
	if (!*cfg->state_dir) {
		fprintf(stderr, "meshnetd: STATE_DIR must not be empty\n");
		return -1;
	}
	if (!*cfg->store)
		snprintf(cfg->store, sizeof(cfg->store), "dir:%s", cfg->state_dir);
	if (strncmp(cfg->store, "dir:", 4) && strncmp(cfg->store, "postgres://", 11) &&
	    strncmp(cfg->store, "postgresql://", 13)) {
		fprintf(stderr, "meshnetd: STORE must be dir:/path or postgres://... (got '%.40s')\n",
			cfg->store);
		return -1;
	}
	if (!*cfg->store_key_file &&
	    snprintf(cfg->store_key_file, sizeof(cfg->store_key_file), "%s/store.key",
		     cfg->state_dir) >= (int)sizeof(cfg->store_key_file)) {
		fprintf(stderr, "meshnetd: STATE_DIR is too long for STORE_KEY_FILE's default\n");
		return -1;
	}
	return 0;
}
