// SPDX-License-Identifier: MIT
/*
 * meshnetd: the aligned-meshnet control plane.
 *
 *   meshnetd [--config FILE] [--FLAG VALUE]...   serve (see --help)
 *   meshnetd audit-verify PATH|postgres://... [--key KEY]  check the audit log (audit_cli.c)
 *   meshnetd audit show|prove|check-checkpoint   offline log tools (audit_cli.c)
 *   meshnetd migrate FROM TO                     state directory -> PostgreSQL
 *   meshnetd routes                              print the route table
 *   meshnetd pubkey [--FLAG VALUE]...            print the statement public key
 */
#include <errno.h>
#include <signal.h>
#include <sys/resource.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "audit_cli.h"
#include "witness_client.h"
#include "http.h"
#include "admin.h"
#include "config.h"
#include "controller.h"
#include "http.h"
#include "log.h"
#include "store.h"
#include "store_migrate.h"
#include "store_pg.h"
#include "version.h"

static int routes_main(void)
{
	const struct api_route_info *r;
	size_t n, i;

	r = api_routes(&n);
	for (i = 0; i < n; i++)
		printf("%s %s\n", r[i].method, r[i].path);
	return 0;
}

static int pubkey_main(int argc, char **argv)
{
	struct controller_config cfg;
	int ret = controller_config_load(&cfg, argc, argv);

	if (ret)
		return ret > 0 ? 0 : 2;
	meshnet_log_init("controller", MESHNET_LOG_WARN);
	umask(077);
	return controller_key_print(&cfg);
}

/*
 * Long-polls cost a descriptor each: raise the open-file limit to its hard
 * maximum and size MAX_CONNECTIONS / MAX_WAITERS from it unless set.
 */
static void size_connection_limits(struct controller_config *cfg)
{
	struct rlimit rl;
	long fds = 1024;

	if (!getrlimit(RLIMIT_NOFILE, &rl)) {
		if (rl.rlim_cur < rl.rlim_max) {
			rl.rlim_cur = rl.rlim_max;
			setrlimit(RLIMIT_NOFILE, &rl);
			getrlimit(RLIMIT_NOFILE, &rl);
		}
		fds = rl.rlim_cur > 2000000 ? 2000000 : (long)rl.rlim_cur;
	}
	if (!cfg->max_connections)
		cfg->max_connections = fds - 128 > 1000000 ? 1000000 : fds - 128 < 4 ? 4 : fds - 128;
	if (cfg->max_waiters < 0)
		cfg->max_waiters = cfg->max_connections > 512 ? cfg->max_connections - 256 :
				   cfg->max_connections / 2;
	log_info("Connections: at most %ld, of them %ld long-polls (open-file limit %ld)",
		 cfg->max_connections, cfg->max_waiters, fds);
}

/* SIGHUP: re-read POLICY_FILE; a refused file changes nothing (logged). */
static void reload_policy(struct controller *c)
{
	struct policy_errors errs;
	struct api_error err;
	struct strbuf sb;
	uint64_t seq;

	strbuf_init(&sb);
	if (!controller_policy_install(c, NULL, 0, NULL, &sb, &seq, &err, &errs))
		log_info("SIGHUP: policy reloaded");
	else if (!errs.total)
		log_err("SIGHUP: policy not reloaded: %s", err.message);
	strbuf_free(&sb);
}

static int serve_main(int argc, char **argv)
{
	struct controller_config cfg;
	struct controller *c = NULL;
	struct api_server *api = NULL;
	struct store *st = NULL;
	sigset_t set;
	int ret, sig = 0;

	ret = controller_config_load(&cfg, argc, argv);
	if (ret)
		return ret > 0 ? 0 : 2;
	meshnet_log_init("controller", cfg.verbose || !strcmp(cfg.log_level, "debug") ?
			 MESHNET_LOG_DEBUG : !strcmp(cfg.log_level, "error") ? MESHNET_LOG_ERROR :
			 !strcmp(cfg.log_level, "warn") ? MESHNET_LOG_WARN : MESHNET_LOG_INFO);
	if (cfg.allow_demo_scores)
		log_warn("ALLOW_DEMO_SCORES=1: benchmarks with made-up scores are accepted (demo only)");
	umask(077);
	size_connection_limits(&cfg);

	/* Signals are taken synchronously by this thread; workers never see them. */
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);

	if (strncmp(cfg.store, "dir:", 4)) {
		/* A database store: the state directory still holds the local keys. */
		if (mkdir(cfg.state_dir, 0700) && errno != EEXIST) {
			log_err("STATE_DIR %s: %s", cfg.state_dir, strerror(errno));
			return 1;
		}
		store_pg_set_options(&(struct store_pg_options){
			.key_file = cfg.store_key_file, .pool_size = (unsigned int)cfg.store_pool });
	}
	st = store_open(cfg.store);
	if (!st)
		return 1;
	c = controller_new(&cfg, st);
	if (!c) {
		log_err("out of memory");
		goto err;
	}
	if (controller_start(c))
		goto err;
	api = api_start(c, &cfg);
	if (!api)
		goto err;
	if (controller_start_epoch_thread(c)) {
		log_err("cannot start the epoch thread");
		goto err;
	}
	if (witness_client_start(c))
		goto err;
	for (;;) {
		sigwait(&set, &sig);
		if (sig != SIGHUP)
			break;
		reload_policy(c);
	}
	log_info("Stopping on signal %d", sig);
	/* a clean stop is a record of the log, durable before the exit */
	controller_record_stop(c, sig);
	witness_client_stop();
	/* The epoch thread first: it calls into the API to wake long-polls. */
	controller_stop(c);
	api_stop(api);
	join_tokens_clear();
	controller_free(c);
	store_close(st);
	return 0;
err:
	witness_client_stop();
	if (c)
		controller_stop(c);
	api_stop(api);
	controller_free(c);
	store_close(st);
	return 1;
}

int main(int argc, char **argv)
{
	if (argc == 2 && (!strcmp(argv[1], "--version") || !strcmp(argv[1], "version"))) {
		printf("meshnetd %s\n", MESHNET_VERSION);
		return 0;
	}
	if (argc >= 2 && !strcmp(argv[1], "audit-verify"))
		return audit_verify_main(argc - 1, argv + 1);
	if (argc >= 2 && !strcmp(argv[1], "audit"))
		return audit_main(argc - 1, argv + 1);
	if (argc >= 2 && !strcmp(argv[1], "migrate"))
		return store_migrate_main(argc - 1, argv + 1);
	if (argc == 2 && !strcmp(argv[1], "routes"))
		return routes_main();
	if (argc >= 2 && !strcmp(argv[1], "pubkey"))
		return pubkey_main(argc - 2, argv + 2);
	return serve_main(argc - 1, argv + 1);
}
