// SPDX-License-Identifier: MIT
/*
 * meshnet-agent: one process per node with three parts: the benchmark
 * emitter, the config agent (main thread) and the network probe.
 * Subcommands in wireguard-tools style, each a *_main(argc, argv).
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "agent.h"
#include "b64.h"
#include "http.h"
#include "log.h"
#include "metrics.h"
#include "sign.h"
#include "signing_key.h"
#include "version.h"

extern char **environ;

static char **main_argv; /* for the re-exec of a reload */

/*
 * Signals, taken by one thread (sigwaitinfo) with every other thread's mask
 * blocking them: SIGTERM/SIGINT stop the agent; SIGHUP reloads: the new
 * configuration is checked first (a bad one is logged and changes nothing),
 * then the agent stops its threads and re-executes itself with the same
 * arguments and PID (systemd's ExecReload=kill -HUP), resuming from the
 * module's epoch as after a restart.
 */
struct signal_thread {
	struct agent_ctx *ctx;
	sigset_t set;
	int argc;
	char **argv;
};

static int load_options(struct agent_options *o, int argc, char **argv, bool need_controller);

static void *signal_main(void *arg)
{
	struct signal_thread *st = arg;

	while (!atomic_load(&st->ctx->stop)) {
		struct timespec tick = { .tv_sec = 0, .tv_nsec = 200000000L };
		struct agent_options next;
		int sig = sigtimedwait(&st->set, NULL, &tick);

		if (sig < 0)
			continue;
		if (sig != SIGHUP) {
			log_info("STOPPING on signal %d", sig);
			atomic_store(&st->ctx->stop, true);
			break;
		}
		if (load_options(&next, st->argc, st->argv, true)) {
			log_err("RELOAD refused: the new configuration is invalid (see above); "
				"running on with the old one");
			continue;
		}
		log_info("RELOAD: configuration valid; restarting the agent in place");
		atomic_store(&st->ctx->reload, true);
		atomic_store(&st->ctx->stop, true);
	}
	return NULL;
}

/* Prepares the sandboxed harness from the settings; -1 + message. */
static int harness_setup(struct agent_ctx *ctx, char *err, size_t errlen)
{
	const struct agent_options *o = &ctx->opts;
	struct agent_harness *h = &ctx->harness;

	memset(h, 0, sizeof(*h));
	h->cmd = o->bench_cmd;
	h->timeout_sec = o->bench_timeout;
	h->grace_sec = o->bench_grace;
	h->node_id = o->node_id;
	h->stop = &ctx->stop;
	if (o->bench_user[0]) {
		if (agent_harness_set_user(h, o->bench_user, err, errlen))
			return -1;
	} else if (geteuid() == 0) {
		/* uid 0 owns the keys: never run the harness as root by default */
		if (agent_harness_set_user(h, "nobody", err, errlen))
			return -1;
	}
	return agent_harness_check(h, err, errlen);
}

/* The record the controller's enrolment (nodes file or POST /v1/nodes) takes. */
static void print_enrolment(const struct agent_options *o, const struct agent_keys *k, FILE *out)
{
	char wg[MESHNET_B64_LEN(32) + 1], ed[MESHNET_B64_LEN(32) + 1];
	struct json_object *rec = json_object_new_object(), *ov = json_object_new_array();
	char ips[sizeof(o->overlay_ips)], *save = NULL;

	meshnet_b64_encode(wg, k->wg_public, 32);
	meshnet_b64_encode(ed, k->ed_public, 32);
	json_object_object_add(rec, "id", json_object_new_string(o->node_id));
	json_object_object_add(rec, "wg_public_key", json_object_new_string(wg));
	json_object_object_add(rec, "ed25519_public_key", json_object_new_string(ed));
	snprintf(ips, sizeof(ips), "%s", o->overlay_ips);
	for (char *t = strtok_r(ips, ", ", &save); t; t = strtok_r(NULL, ", ", &save))
		json_object_array_add(ov, json_object_new_string(t));
	json_object_object_add(rec, "overlay", ov);
	if (o->endpoint[0])
		json_object_object_add(rec, "endpoint", json_object_new_string(o->endpoint));
	fprintf(out, "%s\n", json_object_to_json_string_ext(rec, JSON_C_TO_STRING_PLAIN |
							      JSON_C_TO_STRING_NOSLASHESCAPE));
	fflush(out);
	json_object_put(rec);
}

static int load_options(struct agent_options *o, int argc, char **argv, bool need_controller)
{
	char err[1024];
	int first;

	agent_options_defaults(o);
	first = agent_options_parse(o, argc, argv, environ, err, sizeof(err));
	if (first < 0) {
		fprintf(stderr, "meshnet-agent: %s\n", err);
		return -1;
	}
	if (first < argc) {
		fprintf(stderr, "meshnet-agent: unexpected argument '%s' (see --help)\n", argv[first]);
		return -1;
	}
	if (need_controller) {
		if (agent_options_validate(o, err, sizeof(err))) {
			fprintf(stderr, "meshnet-agent: %s\n", err);
			return -1;
		}
	} else if (!o->node_id[0]) {
		fprintf(stderr, "meshnet-agent: NODE_ID (--node-id) is required\n");
		return -1;
	}
	return 0;
}

static bool wants_help(int argc, char **argv)
{
	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h"))
			return true;
	return false;
}

static int keygen_main(int argc, char **argv)
{
	struct agent_options o;
	struct agent_keys k;
	char err[1024];
	bool created;

	if (wants_help(argc, argv)) {
		printf("Usage: meshnet-agent keygen --node-id ID [--state-dir DIR] [--overlay-ips CIDR,..] [--endpoint HOST:PORT]\n"
		       "Creates the WireGuard and Ed25519 keys in STATE_DIR (0600) if absent and\n"
		       "prints this node's enrolment record (JSON) for the controller.\n");
		return 0;
	}
	if (load_options(&o, argc, argv, false))
		return 1;
	if (agent_keys_load_or_create(o.state_dir, &k, &created, err, sizeof(err))) {
		fprintf(stderr, "meshnet-agent: %s\n", err);
		return 1;
	}
	if (created)
		fprintf(stderr, "meshnet-agent: created keys in %s (mode 0600)\n", o.state_dir);
	print_enrolment(&o, &k, stdout);
	agent_keys_wipe(&k);
	return 0;
}

/*
 * meshnet-agent join --token TOKEN [options]: creates this node's keys if
 * absent and enrols them with a one-time token from `meshnet-admin enrol`
 * (POST /v1/join), so the private keys never leave the node.
 */
static int join_main(int argc, char **argv)
{
	static const atomic_bool never_stop;
	char err[1024], wg[MESHNET_B64_LEN(32) + 1], ed[MESHNET_B64_LEN(32) + 1];
	char *args[64], *token = NULL;
	struct agent_http_reply reply = { 0 };
	struct agent_options o;
	struct agent_keys k;
	struct agent_http http;
	struct json_object *req;
	EVP_PKEY *key = NULL;
	bool created;
	int n = 0, ret = 1;

	if (wants_help(argc, argv)) {
		printf("Usage: meshnet-agent join --token TOKEN --node-id ID --controller URL [--ca FILE] "
		       "[--state-dir DIR] [--config FILE]\n"
		       "Creates this node's keys (0600) if absent and enrols their public halves\n"
		       "with a one-time join token from `meshnet-admin enrol`.\n");
		return 0;
	}
	/* --token is join's own; the rest are the agent's settings */
	for (int i = 0; i < argc && n < 63; i++) {
		if (!strcmp(argv[i], "--token") && i + 1 < argc)
			token = argv[++i];
		else if (!strncmp(argv[i], "--token=", 8))
			token = argv[i] + 8;
		else
			args[n++] = argv[i];
	}
	args[n] = NULL;
	if (!token || strlen(token) != 64) {
		fprintf(stderr, "meshnet-agent join: --token TOKEN (64 hex characters, from "
			"meshnet-admin enrol) is required\n");
		return 1;
	}
	agent_options_defaults(&o);
	if (agent_options_parse(&o, n, args, environ, err, sizeof(err)) < 0) {
		fprintf(stderr, "meshnet-agent join: %s\n", err);
		return 1;
	}
	o.emit_interval = 0; /* joining needs no score source */
	if (agent_options_validate(&o, err, sizeof(err))) {
		fprintf(stderr, "meshnet-agent join: %s\n", err);
		return 1;
	}
	if (agent_keys_load_or_create(o.state_dir, &k, &created, err, sizeof(err))) {
		fprintf(stderr, "meshnet-agent join: %s\n", err);
		return 1;
	}
	key = meshnet_ed25519_private_from_raw(k.ed_seed);
	if (!key || agent_http_global_init() ||
	    agent_http_init(&http, key, o.node_id, o.controller, o.ca_file, &never_stop)) {
		fprintf(stderr, "meshnet-agent join: cannot set up the HTTP client\n");
		goto out_keys;
	}
	meshnet_b64_encode(wg, k.wg_public, 32);
	meshnet_b64_encode(ed, k.ed_public, 32);
	req = json_object_new_object();
	json_object_object_add(req, "token", json_object_new_string(token));
	json_object_object_add(req, "node_id", json_object_new_string(o.node_id));
	json_object_object_add(req, "wg_public_key", json_object_new_string(wg));
	json_object_object_add(req, "ed25519_public_key", json_object_new_string(ed));
	if (agent_http_request(&http, "POST", "/v1/join", json_object_to_json_string(req),
			       o.http_timeout, &reply, err, sizeof(err))) {
		fprintf(stderr, "meshnet-agent join: controller unreachable: %s\n", err);
	} else if (reply.status != 201) {
		agent_http_error_text(&reply, err, sizeof(err));
		fprintf(stderr, "meshnet-agent join: refused (HTTP %ld): %s\n", reply.status, err);
	} else {
		printf("%s: enrolled with its own keys (%s in %s); start the agent now\n",
		       o.node_id, created ? "new" : "existing", o.state_dir);
		ret = 0;
	}
	json_object_put(req);
	agent_http_reply_free(&reply);
	agent_http_free(&http);
	agent_http_global_cleanup();
out_keys:
	EVP_PKEY_free(key);
	agent_keys_wipe(&k);
	return ret;
}

/*
 * meshnet-agent bench [--submit] [options]: runs the harness once, sandboxed
 * as the agent would (or makes up demo scores with DEMO_SCORES), prints the
 * benchmark, and with --submit sends it signed: the operator's check of a
 * harness before the agent runs it on its schedule.
 */
static int bench_main(int argc, char **argv)
{
	static struct agent_ctx ctx;
	struct agent_harness_result hr;
	struct agent_http_reply reply = { 0 };
	struct agent_http http;
	struct agent_benchmark b;
	char err[1024], path[128], *args[64], *body;
	bool submit = false, created;
	int n = 0, ret = 1;

	if (wants_help(argc, argv)) {
		printf("Usage: meshnet-agent bench [--submit] [--config FILE] [--OPTION VALUE ...]\n"
		       "Runs BENCH_CMD once, sandboxed as the agent runs it (or makes up scores\n"
		       "with DEMO_SCORES), prints the benchmark body; --submit also sends it.\n");
		return 0;
	}
	for (int i = 0; i < argc && n < 63; i++)
		if (!strcmp(argv[i], "--submit"))
			submit = true;
		else
			args[n++] = argv[i];
	args[n] = NULL;
	if (load_options(&ctx.opts, n, args, submit))
		return 1;
	if (!ctx.opts.bench_cmd[0] && !ctx.opts.demo_scores) {
		fprintf(stderr, "meshnet-agent bench: BENCH_CMD (or DEMO_SCORES=yes) is not set\n");
		return 1;
	}
	meshnet_log_init(ctx.opts.node_id, MESHNET_LOG_WARN);
	if (ctx.opts.demo_scores) {
		agent_bench_generate(&ctx.opts, agent_rand_u32, &b);
	} else if (harness_setup(&ctx, err, sizeof(err)) ||
		   agent_bench_run_cmd(&ctx.harness, ctx.opts.suite_version, &b, &hr, err,
				       sizeof(err))) {
		fprintf(stderr, "meshnet-agent bench: %s\n", err);
		return 1;
	}
	body = agent_bench_body(ctx.opts.node_id, &b, time(NULL), time(NULL), ctx.opts.demo_scores);
	if (!body)
		return 1;
	printf("%s\n", body);
	if (!submit) {
		free(body);
		return 0;
	}
	if (agent_keys_load_or_create(ctx.opts.state_dir, &ctx.keys, &created, err, sizeof(err))) {
		fprintf(stderr, "meshnet-agent bench: %s\n", err);
		free(body);
		return 1;
	}
	ctx.sign_key = meshnet_ed25519_private_from_raw(ctx.keys.ed_seed);
	if (!ctx.sign_key || agent_http_global_init() ||
	    agent_http_init(&http, ctx.sign_key, ctx.opts.node_id, ctx.opts.controller,
			    ctx.opts.ca_file, &ctx.stop)) {
		fprintf(stderr, "meshnet-agent bench: cannot set up the HTTP client\n");
		goto out;
	}
	snprintf(path, sizeof(path), "/v1/benchmarks/%s", ctx.opts.node_id);
	if (agent_http_request(&http, "POST", path, body, ctx.opts.http_timeout, &reply, err,
			       sizeof(err))) {
		fprintf(stderr, "meshnet-agent bench: controller unreachable: %s\n", err);
	} else if (reply.status != 200) {
		agent_http_error_text(&reply, err, sizeof(err));
		fprintf(stderr, "meshnet-agent bench: refused (HTTP %ld): %s\n", reply.status, err);
	} else {
		printf("%s\n", reply.body ? reply.body : "");
		ret = 0;
	}
	agent_http_reply_free(&reply);
	agent_http_free(&http);
	agent_http_global_cleanup();
out:
	free(body);
	EVP_PKEY_free(ctx.sign_key);
	agent_keys_wipe(&ctx.keys);
	return ret;
}

static int status_main(int argc, char **argv)
{
	const char *dir = getenv("STATE_DIR") ? getenv("STATE_DIR") : "/var/lib/meshnet-agent";
	char err[1024];
	bool json = false;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--json")) {
			json = true;
		} else if (!strcmp(argv[i], "--state-dir") && i + 1 < argc) {
			dir = argv[++i];
		} else if (!strncmp(argv[i], "--state-dir=", 12)) {
			dir = argv[i] + 12;
		} else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			printf("Usage: meshnet-agent status [--state-dir DIR] [--json]\n"
			       "Shows what the running agent knows: membership, epoch, controller\n"
			       "health, last benchmark and each peer's verdict and last ping.\n");
			return 0;
		} else {
			fprintf(stderr, "meshnet-agent status: unknown argument '%s'\n", argv[i]);
			return 1;
		}
	}
	if (agent_status_print(dir, json, stdout, err, sizeof(err))) {
		fprintf(stderr, "meshnet-agent status: %s\n", err);
		return 1;
	}
	return 0;
}

/* CONTROLLER_PUBKEY(_FILE): the key statements must be signed with (v2). */
static int load_controller_key(const struct agent_options *o, EVP_PKEY **out)
{
	uint8_t raw[32];

	*out = NULL;
	if (o->controller_pubkey_file[0]) {
		if (meshnet_public_key_read(o->controller_pubkey_file, raw)) {
			log_err("CONTROLLER_PUBKEY_FILE: %s: %s (a base64 Ed25519 public key, meshnetd pubkey)",
				o->controller_pubkey_file, strerror(errno));
			return -1;
		}
	} else if (!o->controller_pubkey[0] ||
		   meshnet_b64_decode_exact(raw, sizeof(raw), o->controller_pubkey)) {
		return 0; /* v1: no statements */
	}
	*out = meshnet_ed25519_public_from_raw(raw);
	if (!*out) {
		log_err("CONTROLLER_PUBKEY: not a usable Ed25519 public key");
		return -1;
	}
	return 0;
}

static int run_main(int argc, char **argv)
{
	static struct agent_ctx ctx;
	static struct signal_thread st;
	static struct agent_metrics metrics;
	struct agent_config *ca = NULL;
	pthread_t emitter, probe, harness, sigthread;
	bool have_emitter = false, have_probe = false, have_harness = false, have_sig = false;
	bool created;
	char err[1024];
	int ret = 1;

	if (wants_help(argc, argv)) {
		agent_options_usage(stdout);
		return 0;
	}
	if (load_options(&ctx.opts, argc, argv, true))
		return 1;
	meshnet_log_init(ctx.opts.node_id, (enum meshnet_log_level)agent_log_level(ctx.opts.log_level));
	if (ctx.opts.emit_interval && !ctx.opts.demo_scores && harness_setup(&ctx, err, sizeof(err))) {
		log_err("%s", err);
		return 1;
	}
	if (agent_keys_load_or_create(ctx.opts.state_dir, &ctx.keys, &created, err, sizeof(err))) {
		log_err("%s", err);
		return 1;
	}
	if (created) {
		log_info("KEYS created in %s (0600); enrolment record for the controller:",
			 ctx.opts.state_dir);
		print_enrolment(&ctx.opts, &ctx.keys, stdout);
	}
	ctx.sign_key = meshnet_ed25519_private_from_raw(ctx.keys.ed_seed);
	if (!ctx.sign_key) {
		log_err("cannot load the Ed25519 key");
		goto out_keys;
	}
	if (load_controller_key(&ctx.opts, &ctx.controller_key))
		goto out_key;
	if (agent_state_init(&ctx.state, ctx.opts.node_id, ctx.opts.state_dir))
		goto out_key;
	ctx.state.demo_scores = ctx.opts.demo_scores;
	if (agent_http_global_init()) {
		log_err("libcurl initialisation failed");
		goto out_state;
	}
	/* every thread created from here on inherits the blocked mask */
	st.ctx = &ctx;
	st.argc = argc;
	st.argv = argv;
	sigemptyset(&st.set);
	sigaddset(&st.set, SIGINT);
	sigaddset(&st.set, SIGTERM);
	sigaddset(&st.set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &st.set, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (!pthread_create(&sigthread, NULL, signal_main, &st))
		have_sig = true;

	if (agent_config_setup(&ctx, &ca))
		goto out_curl;
	log_info("STARTED %s controller=%s interface=%s emit=%us poll=%us probe=%us %s protocol=%s",
		 MESHNET_VERSION, ctx.opts.controller, ctx.opts.wg_ifname, ctx.opts.emit_interval,
		 ctx.opts.poll_interval, ctx.opts.probe_interval,
		 ctx.opts.demo_scores ? "scores=DEMO (made up; DEMO_SCORES=yes)" :
		 ctx.opts.emit_interval ? "scores=harness" : "emitter=off",
		 ctx.controller_key ? "v2 (signed statements)" : "v1");
	if (agent_metrics_start(&metrics, &ctx, err, sizeof(err))) {
		log_err("%s", err);
		agent_config_free(ca);
		goto out_curl;
	}
	if (ctx.opts.emit_interval && !ctx.opts.demo_scores) {
		if (ctx.harness.switch_user)
			log_info("HARNESS every %us as uid %u, no capabilities, timeout %us (+%us grace): %s",
				 ctx.opts.bench_interval, (unsigned int)ctx.harness.uid,
				 ctx.opts.bench_timeout, ctx.opts.bench_grace, ctx.opts.bench_cmd);
		else
			log_warn("HARNESS runs as the agent's own uid %u (set BENCH_USER to keep it away "
				 "from the agent's keys): %s", (unsigned int)geteuid(), ctx.opts.bench_cmd);
		if (!pthread_create(&harness, NULL, agent_harness_main, &ctx))
			have_harness = true;
	}
	if (ctx.opts.emit_interval &&
	    !pthread_create(&emitter, NULL, agent_emitter_main, &ctx))
		have_emitter = true;
	if (ctx.opts.probe_interval &&
	    !pthread_create(&probe, NULL, agent_probe_main, &ctx))
		have_probe = true;
	agent_config_run(ca);
	atomic_store(&ctx.stop, true);
	if (have_harness)
		pthread_join(harness, NULL);
	if (have_emitter)
		pthread_join(emitter, NULL);
	if (have_probe)
		pthread_join(probe, NULL);
	agent_metrics_stop(&metrics);
	log_info("STOPPED (the module keeps epoch %llu; a restarted agent resumes from it)",
		 (unsigned long long)ctx.state.epoch_id);
	agent_config_free(ca);
	ret = 0;
out_curl:
	atomic_store(&ctx.stop, true);
	if (have_sig)
		pthread_join(sigthread, NULL);
	agent_http_global_cleanup();
out_state:
	agent_state_destroy(&ctx.state);
out_key:
	EVP_PKEY_free(ctx.controller_key);
	EVP_PKEY_free(ctx.sign_key);
out_keys:
	agent_keys_wipe(&ctx.keys);
	if (ret == 0 && atomic_load(&ctx.reload)) {
		sigset_t none;

		sigemptyset(&none);
		pthread_sigmask(SIG_SETMASK, &none, NULL);
		execv("/proc/self/exe", main_argv);
		fprintf(stderr, "meshnet-agent: reload: exec /proc/self/exe: %s\n", strerror(errno));
		return 1;
	}
	return ret;
}

static int help_main(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	agent_options_usage(stdout);
	return 0;
}

static const struct {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *what;
} subcommands[] = {
	{ "run", run_main, "run the emitter, config agent and probe (default)" },
	{ "keygen", keygen_main, "create keys if absent, print the enrolment record" },
	{ "join", join_main, "create keys if absent, enrol them with a one-time join token" },
	{ "bench", bench_main, "run the harness once (sandboxed), print it; --submit sends it" },
	{ "status", status_main, "show the running agent's view (status.json)" },
	{ "help", help_main, "this text" },
};

int main(int argc, char **argv)
{
	main_argv = argv;
	if (argc == 2 && (!strcmp(argv[1], "--version") || !strcmp(argv[1], "version"))) {
		printf("meshnet-agent %s\n", MESHNET_VERSION);
		return 0;
	}
	if (argc > 1 && argv[1][0] != '-') {
		for (size_t i = 0; i < sizeof(subcommands) / sizeof(subcommands[0]); i++)
			if (!strcmp(argv[1], subcommands[i].name))
				return subcommands[i].fn(argc - 1, argv + 1);
		fprintf(stderr, "meshnet-agent: unknown subcommand '%s' (run, keygen, join, bench, status, help)\n",
			argv[1]);
		return 1;
	}
	return run_main(argc, argv);
}
