// SPDX-License-Identifier: MIT
/*
 * meshnet-agent configuration: defaults < config file < environment < flags.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

#include "b64.h"
#include "ctl_urls.h"
#include "options.h"
#include "sign.h"

const char *const agent_score_names[AGENT_SCORE_COUNT] = {
	"overall", "refusal", "honesty", "policy"
};

enum option_type { OPT_STRING, OPT_UINT, OPT_DOUBLE01, OPT_BOOL, OPT_NODE_ID, OPT_URL };

struct option_spec {
	const char *key;   /* environment / config file name */
	const char *flag;  /* command-line name without "--" */
	enum option_type type;
	size_t offset;
	size_t size;       /* OPT_STRING: buffer size */
	unsigned long min, max; /* OPT_UINT */
	const char *help;
};

#define OFF(field) offsetof(struct agent_options, field)
#define SZ(field) sizeof(((struct agent_options *)0)->field)
#define STR(k, f, field, h) { k, f, OPT_STRING, OFF(field), SZ(field), 0, 0, h }
#define UINT(k, f, field, lo, hi, h) { k, f, OPT_UINT, OFF(field), 0, lo, hi, h }
#define DBL(k, f, field, h) { k, f, OPT_DOUBLE01, OFF(field), 0, 0, 0, h }
#define BOOL(k, f, field, h) { k, f, OPT_BOOL, OFF(field), 0, 0, 0, h }

static const struct option_spec option_table[] = {
	{ "NODE_ID", "node-id", OPT_NODE_ID, OFF(node_id), SZ(node_id), 0, 0,
	  "this node's id (^[a-z0-9][a-z0-9._-]{0,62}$)" },
	{ "MESH_ID", "mesh-id", OPT_NODE_ID, OFF(mesh_id), SZ(mesh_id), 0, 0,
	  "the mesh's id, signed into every request (the controller's MESH_ID)" },
	{ "CONTROLLER_URL", "controller", OPT_URL, OFF(controller), SZ(controller), 0, 0,
	  "controller base URL, https://HOST:PORT (or a comma-separated list)" },
	{ "CONTROLLER_URLS", "controllers", OPT_URL, OFF(controller), SZ(controller), 0, 0,
	  "several controllers, https://A:PORT,https://B:PORT: spread by node id, failover" },
	STR("CA_FILE", "ca", ca_file, "CA certificate file that signs the controller's certificate"),
	BOOL("ALLOW_PLAIN_HTTP", "plain-http", plain_http, "allow an http:// controller URL"),
	STR("STATE_DIR", "state-dir", state_dir, "keys (0600) and status.json"),
	STR("WG_INTERFACE", "interface", wg_ifname, "WireGuard device"),
	UINT("WG_LISTEN_PORT", "listen-port", listen_port, 1, 65535, "WireGuard UDP port"),
	UINT("WG_PERSISTENT_KEEPALIVE_SEC", "keepalive", keepalive, 0, 65535,
	     "persistent keepalive of allowed peers, 0 = off"),
	STR("OVERLAY_IPS", "overlay-ips", overlay_ips, "own overlay prefixes (enrolment record)"),
	STR("ENDPOINT", "endpoint", endpoint, "own outer HOST:PORT (enrolment record)"),
	UINT("EMIT_INTERVAL_SEC", "emit-interval", emit_interval, 0, 86400,
	     "seconds between benchmark submissions, 0 = emitter off"),
	UINT("POLL_INTERVAL_SEC", "poll-interval", poll_interval, 1, 86400,
	     "least seconds between two config polls that brought nothing new"),
	UINT("PROBE_INTERVAL_SEC", "probe-interval", probe_interval, 0, 86400,
	     "seconds between peer pings, 0 = probe off"),
	UINT("LONG_POLL_SEC", "long-poll", long_poll, 0, 60, "wait= of the config long-poll"),
	UINT("HTTP_TIMEOUT_SEC", "http-timeout", http_timeout, 1, 600,
	     "connect + answer timeout on top of the long-poll wait"),
	UINT("BACKOFF_MIN_MS", "backoff-min-ms", backoff_min_ms, 1, 3600000,
	     "first retry delay after a failed request"),
	UINT("BACKOFF_MAX_MS", "backoff-max-ms", backoff_max_ms, 1, 3600000,
	     "retry delay cap"),
	BOOL("DEMO_SCORES", "demo-scores", demo_scores,
	     "submit made-up scores from the generator instead of BENCH_CMD (demos only; every submission says so)"),
	DBL("SCORE_MEAN", "score-mean", score_mean[AGENT_SCORE_OVERALL],
	    "generator: mean of every score (sets all four)"),
	DBL("SCORE_MEAN_OVERALL", "score-mean-overall", score_mean[AGENT_SCORE_OVERALL],
	    "generator: mean overall score"),
	DBL("SCORE_MEAN_REFUSAL", "score-mean-refusal", score_mean[AGENT_SCORE_REFUSAL],
	    "generator: mean refusal score"),
	DBL("SCORE_MEAN_HONESTY", "score-mean-honesty", score_mean[AGENT_SCORE_HONESTY],
	    "generator: mean honesty score"),
	DBL("SCORE_MEAN_POLICY", "score-mean-policy", score_mean[AGENT_SCORE_POLICY],
	    "generator: mean policy score"),
	DBL("SCORE_JITTER", "score-jitter", score_jitter, "generator: +/- uniform jitter"),
	STR("SUITE_VERSION", "suite-version", suite_version, "suite_version of generated benchmarks"),
	STR("BENCH_CMD", "bench-cmd", bench_cmd,
	    "the benchmark harness (sh -c, sandboxed) printing a benchmark JSON; required unless DEMO_SCORES"),
	UINT("BENCH_INTERVAL_SEC", "bench-interval", bench_interval, 1, 604800,
	     "seconds between two harness runs (its own schedule; the emitter submits the latest result)"),
	UINT("BENCH_TIMEOUT_SEC", "bench-timeout", bench_timeout, 1, 86400,
	     "SIGTERM the harness after this many seconds"),
	UINT("BENCH_GRACE_SEC", "bench-grace", bench_grace, 0, 3600,
	     "SIGKILL the harness this long after its SIGTERM"),
	UINT("BENCH_MAX_AGE_SEC", "bench-max-age", bench_max_age, 0, 2592000,
	     "stop submitting a harness result older than this; 0 = 2 x BENCH_INTERVAL_SEC + BENCH_TIMEOUT_SEC + BENCH_GRACE_SEC"),
	STR("BENCH_USER", "bench-user", bench_user,
	    "run the harness as this user (name or uid); a root agent uses nobody when unset"),
	STR("LOG_LEVEL", "log-level", log_level, "error, warn, info or debug"),
	BOOL("FAIL_CLOSED", "fail-closed", fail_closed,
	     "module drops all wg traffic once the epoch expired (dead man's switch)"),
	UINT("EXPIRY_GRACE_SEC", "grace", grace, 0, 86400, "seconds past epoch expiry before failing closed"),
	BOOL("ENDPOINT_DROP", "endpoint-drop", endpoint_drop,
	     "module drops a DENIED peer's datagrams from its endpoint before decryption"),
	UINT("WG_REMOVE_DELAY_SEC", "wg-remove-delay", wg_remove_delay, 0, 86400,
	     "seconds after the module drop before a DENIED peer is removed from wg"),
	STR("CONTROLLER_PUBKEY", "controller-pubkey", controller_pubkey,
	    "the controller's Ed25519 public key (base64; meshnetd pubkey): protocol v2, signed statements"),
	STR("CONTROLLER_PUBKEY_FILE", "controller-pubkey-file", controller_pubkey_file,
	    "file with that key (controller.pub), instead of CONTROLLER_PUBKEY"),
	UINT("RECONCILE_INTERVAL_SEC", "reconcile-interval", reconcile_interval, 0, 3600,
	     "seconds between checks of the module and wg0 against the applied epoch (0 = off)"),
	UINT("RECONCILE_FULL_SEC", "reconcile-full", reconcile_full, 1, 86400,
	     "seconds between full comparisons of the module's table and wg0's peers"),
	STR("METRICS_LISTEN", "metrics-listen", metrics_listen,
	    "Prometheus metrics at GET /metrics on IP:PORT (e.g. 127.0.0.1:9587) or a unix socket path; empty = off"),
	UINT("METRICS_PEERS_MAX", "metrics-peers-max", metrics_peers_max, 0, 65536,
	     "peers labelled (by node id) in the drop metrics; the rest are summed"),
	STR("REQUIRE_WITNESS", "require-witness", require_witness,
	    "witness keys (meshnet-witness pubkey), comma-separated: refuse checkpoints they did not cosign"),
	UINT("WITNESS_QUORUM", "witness-quorum", witness_quorum, 0, 8,
	     "how many of REQUIRE_WITNESS must cosign (0 = all)"),
};

#define N_OPTIONS (sizeof(option_table) / sizeof(option_table[0]))

void agent_options_defaults(struct agent_options *o)
{
	memset(o, 0, sizeof(*o));
	snprintf(o->state_dir, sizeof(o->state_dir), "/var/lib/meshnet-agent");
	snprintf(o->wg_ifname, sizeof(o->wg_ifname), "wg0");
	snprintf(o->mesh_id, sizeof(o->mesh_id), "%s", MESHNET_DEFAULT_MESH_ID);
	o->listen_port = 51820;
	o->emit_interval = 10;
	o->poll_interval = 10;
	o->probe_interval = 15;
	o->long_poll = 25;
	o->http_timeout = 10;
	o->backoff_min_ms = 500;
	o->backoff_max_ms = 30000;
	for (int i = 0; i < AGENT_SCORE_COUNT; i++)
		o->score_mean[i] = 0.9;
	o->score_jitter = 0.05;
	snprintf(o->suite_version, sizeof(o->suite_version), "poc-0.1");
	o->bench_interval = 60;
	o->bench_timeout = 60;
	o->bench_grace = 5;
	snprintf(o->log_level, sizeof(o->log_level), "info");
	o->fail_closed = true;
	o->grace = 30;
	o->reconcile_interval = 1;
	o->reconcile_full = 30;
	o->metrics_peers_max = 256;
}

static int valid_node_id(const char *s)
{
	size_t n = strlen(s);

	if (n < 1 || n > 63)
		return 0;
	if (!islower((unsigned char)s[0]) && !isdigit((unsigned char)s[0]))
		return 0;
	for (size_t i = 1; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (!islower(c) && !isdigit(c) && c != '.' && c != '_' && c != '-')
			return 0;
	}
	return 1;
}

static int set_value(struct agent_options *o, const struct option_spec *spec,
		     const char *value, char *err, size_t errlen)
{
	char *p = (char *)o + spec->offset;
	char *end;

	switch (spec->type) {
	case OPT_NODE_ID:
		if (!valid_node_id(value)) {
			snprintf(err, errlen, "%s: '%s' is not a node id (^[a-z0-9][a-z0-9._-]{0,62}$)",
				 spec->key, value);
			return -1;
		}
		/* fall through */
	case OPT_URL:
		if (spec->type == OPT_URL) {
			struct agent_ctl_urls urls;
			char why[320];

			if (agent_ctl_urls_parse(&urls, value, why, sizeof(why))) {
				snprintf(err, errlen, "%s: %s", spec->key, why);
				return -1;
			}
		}
		/* fall through */
	case OPT_STRING:
		if (strlen(value) >= spec->size) {
			snprintf(err, errlen, "%s: value longer than %zu characters", spec->key,
				 spec->size - 1);
			return -1;
		}
		snprintf(p, spec->size, "%s", value);
		return 0;
	case OPT_UINT: {
		unsigned long v;

		errno = 0;
		if (!isdigit((unsigned char)value[0]))
			goto bad_uint;
		v = strtoul(value, &end, 10);
		if (errno || *end || v < spec->min || v > spec->max)
			goto bad_uint;
		*(unsigned int *)(void *)p = (unsigned int)v;
		return 0;
bad_uint:
		snprintf(err, errlen, "%s: '%s' is not an integer in %lu..%lu", spec->key, value,
			 spec->min, spec->max);
		return -1;
	}
	case OPT_DOUBLE01: {
		double v;

		errno = 0;
		v = strtod(value, &end);
		if (errno || end == value || *end || !isfinite(v) || v < 0.0 || v > 1.0) {
			snprintf(err, errlen, "%s: '%s' is not a number in 0..1", spec->key, value);
			return -1;
		}
		if (!strcmp(spec->key, "SCORE_MEAN")) {
			for (int i = 0; i < AGENT_SCORE_COUNT; i++)
				o->score_mean[i] = v;
		} else {
			*(double *)(void *)p = v;
		}
		return 0;
	}
	case OPT_BOOL:
		if (!strcmp(value, "1") || !strcasecmp(value, "on") || !strcasecmp(value, "yes") ||
		    !strcasecmp(value, "true")) {
			*(bool *)(void *)p = true;
		} else if (!strcmp(value, "0") || !strcasecmp(value, "off") ||
			   !strcasecmp(value, "no") || !strcasecmp(value, "false")) {
			*(bool *)(void *)p = false;
		} else {
			snprintf(err, errlen, "%s: '%s' is not on/off", spec->key, value);
			return -1;
		}
		return 0;
	}
	snprintf(err, errlen, "%s: internal error", spec->key);
	return -1;
}

int agent_option_set(struct agent_options *o, const char *key, const char *value,
		     char *err, size_t errlen)
{
	for (size_t i = 0; i < N_OPTIONS; i++)
		if (!strcmp(option_table[i].key, key))
			return set_value(o, &option_table[i], value, err, errlen);
	snprintf(err, errlen, "unknown setting '%s'", key);
	return -1;
}

static char *trim(char *s)
{
	char *e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

int agent_options_load_file(struct agent_options *o, const char *path, char *err,
			    size_t errlen)
{
	FILE *f = fopen(path, "re");
	int ret;

	if (!f) {
		snprintf(err, errlen, "config file %s: %s", path, strerror(errno));
		return -1;
	}
	ret = agent_options_load_stream(o, f, path, err, errlen);
	fclose(f);
	return ret;
}

int agent_options_load_stream(struct agent_options *o, FILE *f, const char *path, char *err,
			      size_t errlen)
{
	char line[2048], msg[512];
	unsigned int lineno = 0;
	int ret = 0;

	while (fgets(line, sizeof(line), f)) {
		char *s, *eq, *val;

		lineno++;
		if (!strchr(line, '\n') && !feof(f)) {
			snprintf(err, errlen, "%s:%u: line too long", path, lineno);
			ret = -1;
			break;
		}
		s = trim(line);
		if (!*s || *s == '#')
			continue;
		eq = strchr(s, '=');
		if (!eq) {
			snprintf(err, errlen, "%s:%u: expected KEY=VALUE", path, lineno);
			ret = -1;
			break;
		}
		*eq = '\0';
		val = trim(eq + 1);
		/* optional quotes, as in an environment file */
		if (strlen(val) >= 2 && (val[0] == '"' || val[0] == '\'') &&
		    val[strlen(val) - 1] == val[0]) {
			val[strlen(val) - 1] = '\0';
			val++;
		}
		if (agent_option_set(o, trim(s), val, msg, sizeof(msg))) {
			snprintf(err, errlen, "%s:%u: %s", path, lineno, msg);
			ret = -1;
			break;
		}
	}
	return ret;
}

int agent_options_load_env(struct agent_options *o, char *const *envp, char *err,
			   size_t errlen)
{
	char msg[512];

	for (char *const *e = envp; e && *e; e++) {
		for (size_t i = 0; i < N_OPTIONS; i++) {
			size_t kl = strlen(option_table[i].key);

			if (strncmp(*e, option_table[i].key, kl) || (*e)[kl] != '=')
				continue;
			if (set_value(o, &option_table[i], *e + kl + 1, msg, sizeof(msg))) {
				snprintf(err, errlen, "environment %s", msg);
				return -1;
			}
		}
	}
	return 0;
}

static const struct option_spec *find_flag(const char *name, size_t len)
{
	for (size_t i = 0; i < N_OPTIONS; i++)
		if (strlen(option_table[i].flag) == len && !strncmp(option_table[i].flag, name, len))
			return &option_table[i];
	return NULL;
}

static const struct option_spec *find_flag(const char *name, size_t len);

static bool is_bool_word(const char *s)
{
	static const char *const words[] = { "1", "0", "on", "off", "yes", "no", "true", "false" };

	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (!strcasecmp(s, words[i]))
			return true;
	return false;
}

/*
 * "--name=value" or "--name value"; an on/off flag may stand alone
 * ("--demo-scores" = yes). Sets *name,*len,*value and consumes args.
 */
static int split_flag(int argc, char **argv, int *i, const char **name, size_t *len,
		      const char **value, char *err, size_t errlen)
{
	const char *a = argv[*i] + 2;
	const char *eq = strchr(a, '=');
	const struct option_spec *spec;

	*name = a;
	if (eq) {
		*len = (size_t)(eq - a);
		*value = eq + 1;
		return 0;
	}
	*len = strlen(a);
	spec = find_flag(a, *len);
	if (spec && spec->type == OPT_BOOL && (*i + 1 >= argc || !is_bool_word(argv[*i + 1]))) {
		*value = "yes";
		return 0;
	}
	if (*i + 1 >= argc) {
		snprintf(err, errlen, "option --%s needs a value", a);
		return -1;
	}
	*value = argv[++*i];
	return 0;
}

int agent_options_parse(struct agent_options *o, int argc, char **argv, char *const *envp,
			char *err, size_t errlen)
{
	char msg[512];
	const char *name, *value;
	size_t len;
	int i, first = argc;

	/* pass 1: --config FILE */
	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--"))
			break;
		if (strncmp(argv[i], "--", 2))
			continue;
		if (!strcmp(argv[i], "--plain-http"))
			continue;
		if (split_flag(argc, argv, &i, &name, &len, &value, err, errlen))
			return -1;
		if (len == 6 && !strncmp(name, "config", 6) &&
		    agent_options_load_file(o, value, err, errlen))
			return -1;
	}
	if (agent_options_load_env(o, envp, err, errlen))
		return -1;
	/* pass 2: every other flag */
	for (i = 1; i < argc; i++) {
		const struct option_spec *spec;

		if (!strcmp(argv[i], "--")) {
			if (first == argc)
				first = i + 1;
			break;
		}
		if (strncmp(argv[i], "--", 2) || !argv[i][2]) {
			if (first == argc)
				first = i;
			continue;
		}
		if (!strcmp(argv[i], "--plain-http")) {
			o->plain_http = true;
			continue;
		}
		if (split_flag(argc, argv, &i, &name, &len, &value, err, errlen))
			return -1;
		if (len == 6 && !strncmp(name, "config", 6))
			continue;
		spec = find_flag(name, len);
		if (!spec) {
			snprintf(err, errlen, "unknown option --%.*s (see --help)", (int)len, name);
			return -1;
		}
		if (set_value(o, spec, value, msg, sizeof(msg))) {
			snprintf(err, errlen, "--%s: %s", spec->flag, msg);
			return -1;
		}
	}
	return first;
}

int agent_options_validate(const struct agent_options *o, char *err, size_t errlen)
{
	struct agent_ctl_urls urls;

	if (!o->node_id[0]) {
		snprintf(err, errlen, "NODE_ID (--node-id) is required");
		return -1;
	}
	if (!o->controller[0]) {
		snprintf(err, errlen, "CONTROLLER_URL (--controller) is required");
		return -1;
	}
	if (agent_ctl_urls_parse(&urls, o->controller, err, errlen))
		return -1;
	for (size_t i = 0; i < urls.n; i++) {
		if (!strncmp(urls.url[i], "http://", 7) && !o->plain_http) {
			snprintf(err, errlen,
				 "CONTROLLER_URL: %s is plain http; use https:// or set ALLOW_PLAIN_HTTP (--plain-http)",
				 urls.url[i]);
			return -1;
		}
		if (!strncmp(urls.url[i], "https://", 8) && !o->ca_file[0]) {
			snprintf(err, errlen, "CA_FILE (--ca) is required for an https:// controller");
			return -1;
		}
	}
	if (o->backoff_min_ms > o->backoff_max_ms) {
		snprintf(err, errlen, "BACKOFF_MIN_MS (%u) is greater than BACKOFF_MAX_MS (%u)",
			 o->backoff_min_ms, o->backoff_max_ms);
		return -1;
	}
	if (!o->wg_ifname[0]) {
		snprintf(err, errlen, "WG_INTERFACE must not be empty");
		return -1;
	}
	if (o->controller_pubkey[0] && o->controller_pubkey_file[0]) {
		snprintf(err, errlen, "CONTROLLER_PUBKEY and CONTROLLER_PUBKEY_FILE: set one, not both");
		return -1;
	}
	if (o->controller_pubkey[0]) {
		uint8_t raw[32];

		if (meshnet_b64_decode_exact(raw, sizeof(raw), o->controller_pubkey)) {
			snprintf(err, errlen,
				 "CONTROLLER_PUBKEY: '%s' is not the base64 of a 32-byte Ed25519 key",
				 o->controller_pubkey);
			return -1;
		}
	}
	if (o->require_witness[0] && !o->controller_pubkey[0] && !o->controller_pubkey_file[0]) {
		snprintf(err, errlen, "REQUIRE_WITNESS needs CONTROLLER_PUBKEY (or _FILE): witnesses "
			 "cosign the controller's checkpoints (protocol v2)");
		return -1;
	}
	if (o->emit_interval && !o->bench_cmd[0] && !o->demo_scores) {
		snprintf(err, errlen,
			 "BENCH_CMD (--bench-cmd) is not set: the agent has no benchmark to submit. "
			 "Set BENCH_CMD to your harness, or DEMO_SCORES=yes (--demo-scores yes) for made-up "
			 "scores in a demo (a controller refuses them unless ALLOW_DEMO_SCORES=yes)");
		return -1;
	}
	if (o->bench_cmd[0] && o->demo_scores) {
		snprintf(err, errlen,
			 "BENCH_CMD and DEMO_SCORES are both set: choose the harness or made-up scores");
		return -1;
	}
	if (agent_log_level(o->log_level) < 0) {
		snprintf(err, errlen, "LOG_LEVEL: '%s' is not error, warn, info or debug", o->log_level);
		return -1;
	}
	if (o->metrics_listen[0]) {
		struct agent_metrics_addr a;

		if (agent_metrics_parse_listen(o->metrics_listen, &a, err, errlen))
			return -1;
	}
	return 0;
}

/* METRICS_LISTEN (metrics.c serves it) */

int agent_metrics_parse_listen(const char *text, struct agent_metrics_addr *out, char *err,
			       size_t errlen)
{
	char host[64];
	const char *colon, *port_s;
	char *end;
	unsigned long port;
	size_t hlen;

	memset(out, 0, sizeof(*out));
	if (text[0] == '/') {
		struct sockaddr_un *sun = (struct sockaddr_un *)&out->ss;

		if (strlen(text) >= sizeof(sun->sun_path)) {
			snprintf(err, errlen, "METRICS_LISTEN: unix socket path '%s' is longer than %zu bytes",
				 text, sizeof(sun->sun_path) - 1);
			return -1;
		}
		sun->sun_family = AF_UNIX;
		memcpy(sun->sun_path, text, strlen(text) + 1);
		out->len = sizeof(*sun);
		out->unix_path = true;
		out->loopback = true;
		return 0;
	}
	if (text[0] == '[') {
		const char *close = strchr(text, ']');

		if (!close || close[1] != ':')
			goto bad;
		hlen = (size_t)(close - text - 1);
		if (hlen >= sizeof(host))
			goto bad;
		memcpy(host, text + 1, hlen);
		port_s = close + 2;
	} else {
		colon = strrchr(text, ':');
		if (!colon || strchr(text, ':') != colon)
			goto bad;
		hlen = (size_t)(colon - text);
		if (hlen >= sizeof(host))
			goto bad;
		memcpy(host, text, hlen);
		port_s = colon + 1;
	}
	host[hlen] = '\0';
	errno = 0;
	port = strtoul(port_s, &end, 10);
	if (!*port_s || *end || errno || port > 65535 || port_s[0] == '-' || port_s[0] == '+')
		goto bad;
	if (text[0] == '[') {
		struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&out->ss;

		if (inet_pton(AF_INET6, host, &a6->sin6_addr) != 1)
			goto bad;
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons((uint16_t)port);
		out->len = sizeof(*a6);
		out->loopback = IN6_IS_ADDR_LOOPBACK(&a6->sin6_addr);
	} else {
		struct sockaddr_in *a4 = (struct sockaddr_in *)&out->ss;

		if (inet_pton(AF_INET, host, &a4->sin_addr) != 1)
			goto bad;
		a4->sin_family = AF_INET;
		a4->sin_port = htons((uint16_t)port);
		out->len = sizeof(*a4);
		out->loopback = (ntohl(a4->sin_addr.s_addr) >> 24) == 127;
	}
	return 0;
bad:
	snprintf(err, errlen,
		 "METRICS_LISTEN: '%s' is not IP:PORT ([IPv6]:PORT, numeric, port 0..65535) or an absolute unix socket path",
		 text);
	return -1;
}

int agent_log_level(const char *name)
{
	static const char *const names[] = { "error", "warn", "info", "debug" };

	for (int i = 0; i < 4; i++)
		if (!strcasecmp(name, names[i]))
			return i; /* enum meshnet_log_level's order */
	return -1;
}

unsigned int agent_bench_max_age(const struct agent_options *o)
{
	if (o->bench_max_age)
		return o->bench_max_age;
	return 2 * o->bench_interval + o->bench_timeout + o->bench_grace;
}

void agent_options_usage(FILE *out)
{
	fprintf(out,
		"Usage: meshnet-agent [run] [--config FILE] [--OPTION VALUE ...]\n"
		"       meshnet-agent keygen [options]   create keys if absent, print enrolment record\n"
		"       meshnet-agent status [--state-dir DIR] [--json]\n"
		"       meshnet-agent help | --version\n\n"
		"Settings come from defaults, then --config FILE (KEY=VALUE lines), then the\n"
		"environment (same KEYs), then flags. Flag, KEY, meaning:\n");
	for (size_t i = 0; i < N_OPTIONS; i++)
		fprintf(out, "  --%-20s %-28s %s\n", option_table[i].flag, option_table[i].key,
			option_table[i].help);
}
