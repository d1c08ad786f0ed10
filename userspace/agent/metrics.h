/* SPDX-License-Identifier: MIT */
/*
 * The agent's Prometheus metrics (METRICS_LISTEN): a tiny HTTP responder
 * in its own thread, off by default. It serves GET /metrics on a loopback
 * address (127.0.0.1:9587 is the documented choice) or a unix socket path;
 * every socket is non-blocking, at most AGENT_METRICS_CLIENTS connections
 * at once, each with a request of at most AGENT_METRICS_REQ_MAX bytes and
 * AGENT_METRICS_DEADLINE_MS to finish, so a slow or hostile client holds
 * nothing the agent's main loop needs (it only takes the state lock, for
 * a copy, and dumps the module's counters on its own netlink socket).
 */
#ifndef AGENT_METRICS_H
#define AGENT_METRICS_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "options.h"

#include "strbuf.h"

#define AGENT_METRICS_CLIENTS 8
#define AGENT_METRICS_REQ_MAX 2048
#define AGENT_METRICS_DEADLINE_MS 5000
#define AGENT_METRICS_PEERS_DEFAULT 256  /* METRICS_PEERS_MAX */

struct agent_ctx;
struct meshnet_nl;

struct agent_metrics_client {
	int fd;
	uint64_t deadline_ms;
	size_t got;
	char req[AGENT_METRICS_REQ_MAX];
	char *reply;   /* while writing */
	size_t reply_len, sent;
};

struct agent_metrics {
	struct agent_ctx *ctx;
	struct agent_metrics_client clients[AGENT_METRICS_CLIENTS];
	int listen_fd;
	char unix_path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	struct meshnet_nl *nl;     /* its own: the module's counters, opened when needed */
	pthread_t thread;
	bool running;
	unsigned long long scrapes, refused;
};

/*
 * Binds METRICS_LISTEN (ctx->opts.metrics_listen) and starts the thread,
 * which runs until ctx->stop. 0 (nothing to do when the setting is empty),
 * or -1 with why.
 */
int agent_metrics_start(struct agent_metrics *m, struct agent_ctx *ctx, char *err, size_t errlen);
/* Joins the thread (after ctx->stop is set), closes the socket. */
void agent_metrics_stop(struct agent_metrics *m);
/* The port the socket is bound to (an "IP:0" setting picks one), or 0. */
unsigned int agent_metrics_port(const struct agent_metrics *m);

/*
 * The metrics text (Prometheus exposition format 0.0.4): the agent's state,
 * and, with nl, the module's drop counters per peer (at most
 * METRICS_PEERS_MAX peers labelled, by node id). nl may be NULL.
 * Returns whether the module answered.
 */
bool agent_metrics_render(struct agent_ctx *ctx, struct meshnet_nl *nl, struct strbuf *out);

#endif
