// SPDX-License-Identifier: MIT
/*
 * The agent's Prometheus metrics (metrics.h): a small HTTP responder that
 * answers GET /metrics and nothing else, in its own thread, with poll()
 * over non-blocking sockets. Each connection gets one request (at most
 * AGENT_METRICS_REQ_MAX bytes, read within AGENT_METRICS_DEADLINE_MS),
 * one answer, then the connection is closed ("Connection: close").
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"
#include "http.h"
#include "log.h"
#include "metrics.h"
#include "nl/meshnet_nl.h"
#include "nl/meshnet_parse.h"
#include "timefmt.h"
#include "version.h"

/* ---- rendering ---- */

static void label_value(struct strbuf *out, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\' || *s == '"')
			strbuf_printf(out, "\\%c", *s);
		else if (*s == '\n')
			strbuf_puts(out, "\\n");
		else
			strbuf_append(out, s, 1);
	}
}

static void family(struct strbuf *out, const char *name, const char *type, const char *help)
{
	strbuf_printf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

struct peer_drops {
	struct strbuf rx, tx;
	size_t labelled, over, max;
	uint64_t over_rx, over_tx;
};

static int add_peer(const struct meshnet_peer *p, void *arg)
{
	struct peer_drops *d = arg;
	const char *name = (p->flags & MESHNET_PEER_HAS_NAME) && p->name[0] ? p->name : "?";

	if (d->labelled >= d->max) {
		d->over++;
		d->over_rx += p->counters.rx_drop_packets;
		d->over_tx += p->counters.tx_drop_packets;
		return 0;
	}
	d->labelled++;
	strbuf_puts(&d->rx, "meshnet_agent_peer_drop_packets_total{peer=\"");
	label_value(&d->rx, name);
	strbuf_printf(&d->rx, "\",verdict=\"%s\",direction=\"rx\"} %llu\n",
		      meshnet_verdict_name(p->verdict),
		      (unsigned long long)p->counters.rx_drop_packets);
	strbuf_puts(&d->tx, "meshnet_agent_peer_drop_packets_total{peer=\"");
	label_value(&d->tx, name);
	strbuf_printf(&d->tx, "\",verdict=\"%s\",direction=\"tx\"} %llu\n",
		      meshnet_verdict_name(p->verdict),
		      (unsigned long long)p->counters.tx_drop_packets);
	return 0;
}

/* The module's part: totals and drops per peer. false if the module is not there. */
static bool render_module(struct agent_ctx *ctx, struct meshnet_nl *nl, struct strbuf *out)
{
	struct meshnet_state st;
	struct peer_drops d = { .max = ctx->opts.metrics_peers_max };
	bool ok = false;

	strbuf_init(&d.rx);
	strbuf_init(&d.tx);
	if (!nl || meshnet_nl_get_state(nl, &st) ||
	    meshnet_nl_dump_peers(nl, false, add_peer, &d))
		goto out;
	ok = true;
	family(out, "meshnet_agent_module_peers", "gauge", "Peers in the module's verdict table.");
	strbuf_printf(out, "meshnet_agent_module_peers %u\n", st.peer_count);
	family(out, "meshnet_agent_module_drop_packets_total", "counter",
	       "Packets the module dropped, all peers, by direction.");
	strbuf_printf(out, "meshnet_agent_module_drop_packets_total{direction=\"rx\"} %llu\n"
		      "meshnet_agent_module_drop_packets_total{direction=\"tx\"} %llu\n",
		      (unsigned long long)st.counters.rx_drop_packets,
		      (unsigned long long)st.counters.tx_drop_packets);
	family(out, "meshnet_agent_peer_drop_packets_total", "counter",
	       "Packets the module dropped per peer (node id), by direction; at most METRICS_PEERS_MAX peers.");
	if (d.rx.buf)
		strbuf_append(out, d.rx.buf, d.rx.len);
	if (d.tx.buf)
		strbuf_append(out, d.tx.buf, d.tx.len);
	family(out, "meshnet_agent_peers_unlabelled", "gauge",
	       "Peers beyond METRICS_PEERS_MAX, not labelled (their drops are in ..._unlabelled_drop_packets_total).");
	strbuf_printf(out, "meshnet_agent_peers_unlabelled %zu\n", d.over);
	family(out, "meshnet_agent_peers_unlabelled_drop_packets_total", "counter",
	       "Packets dropped for the peers beyond METRICS_PEERS_MAX, by direction.");
	strbuf_printf(out, "meshnet_agent_peers_unlabelled_drop_packets_total{direction=\"rx\"} %llu\n"
		      "meshnet_agent_peers_unlabelled_drop_packets_total{direction=\"tx\"} %llu\n",
		      (unsigned long long)d.over_rx, (unsigned long long)d.over_tx);
out:
	strbuf_free(&d.rx);
	strbuf_free(&d.tx);
	return ok;
}

bool agent_metrics_render(struct agent_ctx *ctx, struct meshnet_nl *nl, struct strbuf *out)
{
	struct agent_state *s = &ctx->state;
	int64_t now = time(NULL);
	unsigned long long errors[AGENT_HTTP_ERROR_COUNT];
	size_t allowed = 0, denied = 0;
	bool module;

	agent_http_error_counts(errors);
	family(out, "meshnet_agent_info", "gauge", "The agent's version and node id (always 1).");
	strbuf_puts(out, "meshnet_agent_info{version=\"");
	label_value(out, MESHNET_VERSION);
	strbuf_puts(out, "\",node=\"");
	label_value(out, ctx->opts.node_id);
	strbuf_printf(out, "\",protocol=\"%s\",scores=\"%s\"} 1\n", ctx->controller_key ? "v2" : "v1",
		      ctx->opts.demo_scores ? "demo" : "harness");

	pthread_mutex_lock(&s->lock);
	for (size_t i = 0; i < s->n_peers; i++) {
		if (s->peers[i].verdict == MESHNET_VERDICT_ALLOWED)
			allowed++;
		else
			denied++;
	}
	family(out, "meshnet_agent_start_time_seconds", "gauge", "Unix time the agent started.");
	strbuf_printf(out, "meshnet_agent_start_time_seconds %lld\n", (long long)s->started_at);
	family(out, "meshnet_agent_epoch", "gauge", "The epoch applied (0: none yet).");
	strbuf_printf(out, "meshnet_agent_epoch %llu\n", (unsigned long long)s->epoch_id);
	family(out, "meshnet_agent_epoch_age_seconds", "gauge",
	       "Seconds since this agent applied (or resumed) the current epoch.");
	strbuf_printf(out, "meshnet_agent_epoch_age_seconds %lld\n",
		      (long long)(s->epoch_applied_at ? now - s->epoch_applied_at : 0));
	family(out, "meshnet_agent_lease_remaining_seconds", "gauge",
	       "Seconds until the applied epoch's lease (valid_until, or its expiry in v1) ends; negative once past.");
	strbuf_printf(out, "meshnet_agent_lease_remaining_seconds %lld\n",
		      (long long)(!s->epoch_id ? 0 :
				  (s->valid_until ? (int64_t)s->valid_until : (int64_t)s->epoch_expiry) - now));
	family(out, "meshnet_agent_revision", "gauge", "The control-plane revision the module and wg0 hold (v2).");
	strbuf_printf(out, "meshnet_agent_revision %llu\n", (unsigned long long)s->revision);
	family(out, "meshnet_agent_allowed", "gauge", "1 if this node is ALLOWED in the applied epoch.");
	strbuf_printf(out, "meshnet_agent_allowed %d\n", s->self_verdict == MESHNET_VERDICT_ALLOWED);
	family(out, "meshnet_agent_peers", "gauge", "Peers of the applied epoch by verdict.");
	strbuf_printf(out, "meshnet_agent_peers{verdict=\"ALLOWED\"} %zu\n"
		      "meshnet_agent_peers{verdict=\"DENIED\"} %zu\n", allowed, denied);
	family(out, "meshnet_agent_last_config_age_seconds", "gauge",
	       "Seconds since the controller's last good config answer (-1: none yet).");
	strbuf_printf(out, "meshnet_agent_last_config_age_seconds %lld\n",
		      (long long)(s->last_config_at ? now - s->last_config_at : -1));
	family(out, "meshnet_agent_config_failures", "gauge", "Consecutive failed config polls.");
	strbuf_printf(out, "meshnet_agent_config_failures %u\n", s->config_failures);
	family(out, "meshnet_agent_submissions_total", "counter", "Benchmarks the controller accepted.");
	strbuf_printf(out, "meshnet_agent_submissions_total %u\n", s->submitted);
	family(out, "meshnet_agent_submission_failures_total", "counter", "Benchmark submissions that failed.");
	strbuf_printf(out, "meshnet_agent_submission_failures_total %u\n", s->submit_failures);
	family(out, "meshnet_agent_harness_runs_total", "counter", "Runs of BENCH_CMD.");
	strbuf_printf(out, "meshnet_agent_harness_runs_total %u\n", s->harness_runs);
	family(out, "meshnet_agent_harness_failures_total", "counter",
	       "Runs of BENCH_CMD that failed (exit status, signal, timeout, bad output).");
	strbuf_printf(out, "meshnet_agent_harness_failures_total %u\n", s->harness_failures);
	family(out, "meshnet_agent_harness_duration_seconds", "gauge", "Duration of the last harness run.");
	strbuf_printf(out, "meshnet_agent_harness_duration_seconds %.3f\n",
		      (double)s->harness_duration_ms / 1000.0);
	family(out, "meshnet_agent_harness_result_age_seconds", "gauge",
	       "Age of the latest good harness result (-1: none).");
	strbuf_printf(out, "meshnet_agent_harness_result_age_seconds %lld\n",
		      (long long)(s->harness_measured_at ? now - s->harness_measured_at : -1));
	family(out, "meshnet_agent_reconcile_repairs_total", "counter",
	       "Repairs of the reconcile loop, by kind.");
	for (int k = 0; k < AGENT_REPAIR_COUNT; k++)
		strbuf_printf(out, "meshnet_agent_reconcile_repairs_total{kind=\"%s\"} %u\n",
			      agent_repair_names[k], s->repairs[k]);
	family(out, "meshnet_agent_wg_pending", "gauge", "1 while wg0 lags the module (a failed wg step).");
	strbuf_printf(out, "meshnet_agent_wg_pending %d\n", s->wg_pending);
	family(out, "meshnet_agent_refusals_total", "counter",
	       "Signed statements and log checkpoints refused (nothing applied), by what.");
	strbuf_printf(out, "meshnet_agent_refusals_total{what=\"statement\"} %u\n"
		      "meshnet_agent_refusals_total{what=\"checkpoint\"} %u\n",
		      s->statements_refused - s->checkpoints_refused, s->checkpoints_refused);
	pthread_mutex_unlock(&s->lock);

	family(out, "meshnet_agent_controller_errors_total", "counter",
	       "Failed requests to a controller, by kind (every thread, every attempt).");
	for (int k = 0; k < AGENT_HTTP_ERROR_COUNT; k++)
		strbuf_printf(out, "meshnet_agent_controller_errors_total{kind=\"%s\"} %llu\n",
			      agent_http_error_names[k], errors[k]);

	module = render_module(ctx, nl, out);
	family(out, "meshnet_agent_module_up", "gauge", "1 if the meshnet module answered this scrape.");
	strbuf_printf(out, "meshnet_agent_module_up %d\n", module);
	return module;
}

/* ---- the responder ---- */


static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void client_close(struct agent_metrics_client *c)
{
	if (c->fd >= 0)
		close(c->fd);
	free(c->reply);
	c->fd = -1;
	c->reply = NULL;
	c->got = c->reply_len = c->sent = 0;
}

static void set_reply(struct agent_metrics_client *c, const char *status, const char *extra_headers,
		      const char *type, const char *body, size_t body_len)
{
	struct strbuf sb;

	strbuf_init(&sb);
	strbuf_printf(&sb, "HTTP/1.1 %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
		      "Connection: close\r\nCache-Control: no-store\r\n%s\r\n", status, type, body_len,
		      extra_headers);
	strbuf_append(&sb, body, body_len);
	if (sb.oom) {
		strbuf_free(&sb);
		client_close(c);
		return;
	}
	c->reply = strbuf_steal(&sb, &c->reply_len);
	c->sent = 0;
}

static void reply_text(struct agent_metrics_client *c, const char *status, const char *extra, const char *msg)
{
	set_reply(c, status, extra, "text/plain; charset=utf-8", msg, strlen(msg));
}

/* A whole request head is in c->req: decide the answer. */
static void answer(struct agent_metrics *m, struct agent_metrics_client *c)
{
	char method[16], target[256], version[16];
	char *eol = strstr(c->req, "\r\n");

	if (!eol || sscanf(c->req, "%15s %255s %15s", method, target, version) != 3 ||
	    strncmp(version, "HTTP/1.", 7)) {
		m->refused++;
		reply_text(c, "400 Bad Request", "", "bad request line\n");
		return;
	}
	if (strcmp(target, "/metrics") && strncmp(target, "/metrics?", 9)) {
		m->refused++;
		reply_text(c, "404 Not Found", "", "not found: the metrics are at /metrics\n");
		return;
	}
	if (strcmp(method, "GET") && strcmp(method, "HEAD")) {
		m->refused++;
		reply_text(c, "405 Method Not Allowed", "Allow: GET, HEAD\r\n", "only GET /metrics\n");
		return;
	}
	if (!m->nl) {
		char err[256];

		if (meshnet_nl_open(&m->nl, err, sizeof(err)))
			m->nl = NULL; /* not loaded: module_up 0, tried again next scrape */
	}
	{
		struct strbuf body;

		strbuf_init(&body);
		if (!agent_metrics_render(m->ctx, m->nl, &body) && m->nl) {
			/* the module went away (or was reloaded): a new socket next time */
			meshnet_nl_close(m->nl);
			m->nl = NULL;
		}
		m->scrapes++;
		if (body.oom) {
			strbuf_free(&body);
			reply_text(c, "500 Internal Server Error", "", "out of memory\n");
			return;
		}
		set_reply(c, "200 OK", "", "text/plain; version=0.0.4; charset=utf-8",
			  strcmp(method, "HEAD") ? body.buf : "", strcmp(method, "HEAD") ? body.len : 0);
		strbuf_free(&body);
	}
}

static void client_read(struct agent_metrics *m, struct agent_metrics_client *c)
{
	ssize_t r = recv(c->fd, c->req + c->got, sizeof(c->req) - 1 - c->got, 0);

	if (r < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (r <= 0) {
		client_close(c);
		return;
	}
	c->got += (size_t)r;
	c->req[c->got] = '\0';
	if (strstr(c->req, "\r\n\r\n") || strstr(c->req, "\n\n")) {
		answer(m, c);
	} else if (c->got == sizeof(c->req) - 1) {
		m->refused++;
		reply_text(c, "431 Request Header Fields Too Large", "", "request too large\n");
	}
}

static void client_write(struct agent_metrics_client *c)
{
	ssize_t w = send(c->fd, c->reply + c->sent, c->reply_len - c->sent, MSG_NOSIGNAL);

	if (w < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (w <= 0) {
		client_close(c);
		return;
	}
	c->sent += (size_t)w;
	if (c->sent == c->reply_len)
		client_close(c);
}

static void *metrics_main(void *arg)
{
	struct agent_metrics *m = arg;
	struct agent_metrics_client *clients = m->clients;

	for (int i = 0; i < AGENT_METRICS_CLIENTS; i++)
		clients[i].fd = -1;
	while (!atomic_load(&m->ctx->stop)) {
		struct pollfd pfd[AGENT_METRICS_CLIENTS + 1];
		struct agent_metrics_client *who[AGENT_METRICS_CLIENTS + 1];
		nfds_t n = 0;
		uint64_t t = now_ms();

		pfd[n] = (struct pollfd){ .fd = m->listen_fd, .events = POLLIN };
		who[n++] = NULL;
		for (int i = 0; i < AGENT_METRICS_CLIENTS; i++) {
			struct agent_metrics_client *c = &clients[i];

			if (c->fd < 0)
				continue;
			if (t >= c->deadline_ms) {
				m->refused++;
				client_close(c); /* too slow: its slot is for the next scraper */
				continue;
			}
			pfd[n] = (struct pollfd){ .fd = c->fd, .events = c->reply ? POLLOUT : POLLIN };
			who[n++] = c;
		}
		if (poll(pfd, n, 200) <= 0)
			continue;
		for (nfds_t i = 1; i < n; i++) {
			if (!pfd[i].revents || who[i]->fd < 0)
				continue;
			if (who[i]->reply)
				client_write(who[i]);
			else
				client_read(m, who[i]);
		}
		if (pfd[0].revents & POLLIN) {
			int fd = accept4(m->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
			struct agent_metrics_client *slot = NULL;

			if (fd < 0) {
				if (errno == EMFILE || errno == ENFILE || errno == ENOMEM)
					poll(NULL, 0, 100); /* no descriptor now: do not spin */
				continue;
			}
			for (int i = 0; i < AGENT_METRICS_CLIENTS && !slot; i++)
				if (clients[i].fd < 0)
					slot = &clients[i];
			if (!slot) {
				m->refused++;
				close(fd); /* every slot busy: shed the newcomer */
				continue;
			}
			slot->fd = fd;
			slot->got = 0;
			slot->deadline_ms = now_ms() + AGENT_METRICS_DEADLINE_MS;
		}
	}
	for (int i = 0; i < AGENT_METRICS_CLIENTS; i++)
		client_close(&clients[i]);
	return NULL;
}

int agent_metrics_start(struct agent_metrics *m, struct agent_ctx *ctx, char *err, size_t errlen)
{
	struct agent_metrics_addr a;
	int one = 1;

	memset(m, 0, sizeof(*m));
	m->ctx = ctx;
	m->listen_fd = -1;
	if (!ctx->opts.metrics_listen[0])
		return 0;
	if (agent_metrics_parse_listen(ctx->opts.metrics_listen, &a, err, errlen))
		return -1;
	m->listen_fd = socket(a.ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (m->listen_fd < 0)
		goto fail;
	if (a.unix_path) {
		struct stat sb;
		const char *path = ((struct sockaddr_un *)&a.ss)->sun_path;

		/* a stale socket of an earlier run is replaced; anything else is not */
		if (!lstat(path, &sb) && S_ISSOCK(sb.st_mode))
			unlink(path);
		snprintf(m->unix_path, sizeof(m->unix_path), "%s", path);
	} else {
		setsockopt(m->listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	}
	if (bind(m->listen_fd, (struct sockaddr *)&a.ss, a.len) || listen(m->listen_fd, 16))
		goto fail;
	if (a.unix_path && chmod(m->unix_path, 0660))
		goto fail;
	if (pthread_create(&m->thread, NULL, metrics_main, m)) {
		errno = EAGAIN;
		goto fail;
	}
	m->running = true;
	if (!a.loopback)
		log_warn("METRICS on %s: not a loopback address (anyone who reaches it reads the metrics)",
			 ctx->opts.metrics_listen);
	else
		log_info("METRICS on %s (GET /metrics, port %u)", ctx->opts.metrics_listen,
			 agent_metrics_port(m));
	return 0;
fail:
	snprintf(err, errlen, "METRICS_LISTEN: cannot listen on %s: %s", ctx->opts.metrics_listen,
		 strerror(errno));
	if (m->listen_fd >= 0)
		close(m->listen_fd);
	m->listen_fd = -1;
	return -1;
}

void agent_metrics_stop(struct agent_metrics *m)
{
	if (m->running)
		pthread_join(m->thread, NULL);
	m->running = false;
	if (m->listen_fd >= 0)
		close(m->listen_fd);
	m->listen_fd = -1;
	if (m->unix_path[0])
		unlink(m->unix_path);
	m->unix_path[0] = '\0';
	if (m->nl)
		meshnet_nl_close(m->nl);
	m->nl = NULL;
}

unsigned int agent_metrics_port(const struct agent_metrics *m)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	memset(&ss, 0, sizeof(ss));
	if (m->listen_fd < 0 || getsockname(m->listen_fd, (struct sockaddr *)&ss, &len))
		return 0;
	if (ss.ss_family == AF_INET)
		return ntohs(((struct sockaddr_in *)&ss)->sin_port);
	if (ss.ss_family == AF_INET6)
		return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	return 0;
}
