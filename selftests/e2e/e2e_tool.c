// SPDX-License-Identifier: MIT
/*
 * meshnet-e2e: the quarantine-latency probe of the end-to-end suite and
 * of `make bench-e2e`. Submits one signed benchmark as a node (with that
 * node's own Ed25519 key, from inside its network namespace) and measures,
 * from just before the submission is sent, how long until the meshnet
 * module in each watched namespace holds the expected verdict: the instant
 * the module's table has the peer DENIED is the instant its hooks drop the
 * peer's next packet.
 *
 *   meshnet-e2e flip --controller URL --ca FILE --node node-c --key FILE
 *                    --netns mn-c --score 0.30
 *                    --watch mn-a:node-c:denied --watch mn-b:node-c:denied
 *                    [--watch-self mn-c:allowed] [--timeout SEC]
 *
 * Prints one line: "flip ok http=200 total_ms=412.3 mn-a=401.2 mn-b=412.3
 *  post_ms=120.5 t0=8123.4" (post_ms: the submission's round trip; t0: when
 *  it was sent, CLOCK_MONOTONIC ms, the clock of the agents' TIMING debug lines)
 * (or "flip timeout ...") and exits 0 only if every watch was met.
 *
 *   meshnet-e2e state NETNS         the module's state in NETNS, key=value
 *   meshnet-e2e peers NETNS [NAME]  its peers (or one), one key=value line each
 *
 * (key=value lines so that the busybox shell of the guest can grep them.)
 */
#include <errno.h>
#include <poll.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../../userspace/agent/bench.h"
#include "../../userspace/agent/http.h"
#include "fileio.h"
#include "log.h"
#include "nl/meshnet_nl.h"
#include "nl/meshnet_parse.h"
#include "sign.h"
#include "timefmt.h"

#define MAX_WATCH 8

struct watch {
	char netns[64];
	char peer[64]; /* "" = the namespace's own (self) verdict */
	uint8_t verdict;
	struct meshnet_nl *nl;
	struct meshnet_nl *ev; /* subscribed to the multicast group: wakes the wait */
	double met_ms; /* < 0 until met */
};

static int enter_netns(const char *name)
{
	char path[256];
	int fd, r;

	snprintf(path, sizeof(path), "/var/run/netns/%s", name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "meshnet-e2e: netns %s: %s\n", name, strerror(errno));
		return -1;
	}
	r = setns(fd, CLONE_NEWNET);
	close(fd);
	if (r)
		fprintf(stderr, "meshnet-e2e: setns %s: %s\n", name, strerror(errno));
	return r;
}

struct find_ctx {
	const char *name;
	int verdict; /* -1 = absent */
};

static int find_peer(const struct meshnet_peer *p, void *arg)
{
	struct find_ctx *f = arg;

	if ((p->flags & MESHNET_PEER_HAS_NAME) && !strcmp(p->name, f->name))
		f->verdict = p->verdict;
	return 0;
}

/* 1 when the watch holds now, 0 if not yet, -1 on error. */
static int check(struct watch *w)
{
	if (!w->peer[0]) {
		struct meshnet_state st;

		if (meshnet_nl_get_state(w->nl, &st))
			return -1;
		return st.self_verdict == w->verdict;
	} else {
		struct find_ctx f = { .name = w->peer, .verdict = -1 };

		if (meshnet_nl_dump_peers(w->nl, false, find_peer, &f))
			return -1;
		return f.verdict == w->verdict;
	}
}

static int parse_watch(const char *spec, bool self, struct watch *w)
{
	char buf[64], *a, *b, *c, err[128];

	snprintf(buf, sizeof(buf), "%s", spec);
	a = buf;
	b = strchr(a, ':');
	if (!b)
		return -1;
	*b++ = '\0';
	if (!self) {
		c = strchr(b, ':');
		if (!c)
			return -1;
		*c++ = '\0';
		snprintf(w->peer, sizeof(w->peer), "%s", b);
	} else {
		c = b;
		w->peer[0] = '\0';
	}
	snprintf(w->netns, sizeof(w->netns), "%s", a);
	w->met_ms = -1;
	return meshnet_parse_verdict(c, &w->verdict, err, sizeof(err));
}

static int ignore_event(const struct meshnet_event *event, void *arg)
{
	(void)event;
	(void)arg;
	return 0;
}

static int print_peer(const struct meshnet_peer *p, void *arg)
{
	const char *only = arg;
	const struct meshnet_counters *c = &p->counters;

	if (only && (!(p->flags & MESHNET_PEER_HAS_NAME) || strcmp(p->name, only)))
		return 0;
	printf("peer name=%s verdict=%s epoch=%llu psk=%s rx=%llu tx=%llu rx_drop=%llu tx_drop=%llu\n",
	       (p->flags & MESHNET_PEER_HAS_NAME) ? p->name : "?", meshnet_verdict_name(p->verdict),
	       (unsigned long long)p->epoch, (p->flags & MESHNET_PEER_PSK_SET) ? "set" : "none",
	       (unsigned long long)c->rx_packets, (unsigned long long)c->tx_packets,
	       (unsigned long long)c->rx_drop_packets, (unsigned long long)c->tx_drop_packets);
	return 0;
}

static int query_main(int argc, char **argv)
{
	struct meshnet_nl *nl;
	struct meshnet_state st;
	char err[256];

	if (argc < 3 || enter_netns(argv[2]))
		return 2;
	if (meshnet_nl_open(&nl, err, sizeof(err))) {
		fprintf(stderr, "meshnet-e2e: %s\n", err);
		return 2;
	}
	if (!strcmp(argv[1], "state")) {
		if (meshnet_nl_get_state(nl, &st))
			goto err;
		printf("state epoch=%llu expiry=%llu expired=%d self=%s peers=%u self_drop_hint=%llu unknown=%s fail_closed=%d grace=%u attached=",
		       (unsigned long long)st.epoch_id, (unsigned long long)st.epoch_expiry,
		       st.expired, meshnet_verdict_name(st.self_verdict), st.peer_count,
		       (unsigned long long)(st.counters.rx_drop_packets + st.counters.tx_drop_packets),
		       st.policy.unknown == MESHNET_UNKNOWN_DROP ? "drop" : "allow",
		       st.policy.fail_closed, st.policy.grace);
		for (size_t i = 0; i < st.n_devices; i++)
			printf("%s%s:%u", i ? "," : "", st.devices[i].ifname, st.devices[i].ifindex);
		printf("\n");
	} else if (meshnet_nl_dump_peers(nl, false, print_peer, argc > 3 ? argv[3] : NULL)) {
		goto err;
	}
	meshnet_nl_close(nl);
	return 0;
err:
	fprintf(stderr, "meshnet-e2e: %s\n", meshnet_nl_error(nl));
	meshnet_nl_close(nl);
	return 1;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: meshnet-e2e flip --controller URL --ca FILE --node ID --key ED25519_KEY_FILE\n"
		"                        --netns NS --score X [--watch NS:PEER:VERDICT]...\n"
		"                        [--watch-self NS:VERDICT] [--timeout SEC]\n");
}

int main(int argc, char **argv)
{
	const char *controller = NULL, *ca = "", *node = NULL, *keyfile = NULL, *netns = NULL;
	struct watch w[MAX_WATCH];
	size_t n_watch = 0, met = 0;
	double score = -1, timeout_s = 10;
	struct agent_benchmark b;
	struct agent_http http;
	struct agent_http_reply reply;
	atomic_bool stop = false;
	uint8_t seed[32];
	EVP_PKEY *key;
	char err[512], path[128], *body;
	uint64_t t0, t_post;
	int home, i;

	if (argc > 1 && (!strcmp(argv[1], "state") || !strcmp(argv[1], "peers")))
		return query_main(argc, argv);
	if (argc > 1 && !strcmp(argv[1], "flip")) {
		argc--;
		argv++;
	}
	for (i = 1; i < argc; i += 2) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!v) {
			usage();
			return 2;
		}
		if (!strcmp(a, "--controller"))
			controller = v;
		else if (!strcmp(a, "--ca"))
			ca = v;
		else if (!strcmp(a, "--node"))
			node = v;
		else if (!strcmp(a, "--key"))
			keyfile = v;
		else if (!strcmp(a, "--netns"))
			netns = v;
		else if (!strcmp(a, "--score"))
			score = atof(v);
		else if (!strcmp(a, "--timeout"))
			timeout_s = atof(v);
		else if ((!strcmp(a, "--watch") || !strcmp(a, "--watch-self")) && n_watch < MAX_WATCH) {
			if (parse_watch(v, !strcmp(a, "--watch-self"), &w[n_watch])) {
				fprintf(stderr, "meshnet-e2e: bad watch '%s'\n", v);
				return 2;
			}
			n_watch++;
		} else {
			usage();
			return 2;
		}
	}
	if (!controller || !node || !keyfile || !netns || score < 0 || score > 1 || !n_watch) {
		usage();
		return 2;
	}
	meshnet_log_init("e2e-flip", MESHNET_LOG_WARN);
	home = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (home < 0)
		return 2;
	/* one module socket per watched namespace (a socket stays in its netns) */
	for (size_t k = 0; k < n_watch; k++) {
		if (enter_netns(w[k].netns) || meshnet_nl_open(&w[k].nl, err, sizeof(err)) ||
		    meshnet_nl_open(&w[k].ev, err, sizeof(err))) {
			fprintf(stderr, "meshnet-e2e: %s: %s\n", w[k].netns, err);
			return 2;
		}
		if (meshnet_nl_subscribe(w[k].ev)) {
			fprintf(stderr, "meshnet-e2e: %s: %s\n", w[k].netns, meshnet_nl_error(w[k].ev));
			return 2;
		}
	}
	if (meshnet_read_key_file(keyfile, seed, sizeof(seed))) {
		fprintf(stderr, "meshnet-e2e: %s: %s\n", keyfile, strerror(errno));
		return 2;
	}
	key = meshnet_ed25519_private_from_raw(seed);
	if (!key || enter_netns(netns) || agent_http_global_init() ||
	    agent_http_init(&http, key, node, controller, ca, &stop))
		return 2;
	for (int s = 0; s < AGENT_SCORE_COUNT; s++)
		b.scores[s] = score;
	snprintf(b.suite_version, sizeof(b.suite_version), "e2e-flip");
	body = agent_bench_body(node, &b, time(NULL), time(NULL), false);
	snprintf(path, sizeof(path), "/v1/benchmarks/%s", node);

	/*
	 * Open the TLS connection first (GET /health on the same handle): the
	 * clock starts when the submission itself is sent, as a node's emitter
	 * with its kept-alive connection would send it.
	 */
	if (!agent_http_request(&http, "GET", "/health", NULL, 10, &reply, err, sizeof(err)))
		agent_http_reply_free(&reply);
	t0 = meshnet_now_ns();
	if (agent_http_request(&http, "POST", path, body, 10, &reply, err, sizeof(err))) {
		printf("flip error submit: %s\n", err);
		return 1;
	}
	t_post = meshnet_now_ns();
	if (reply.status != 200) {
		agent_http_error_text(&reply, err, sizeof(err));
		printf("flip error submit: %s\n", err);
		return 1;
	}
	/*
	 * Wait on the modules' multicast notifications (a commit announces the
	 * epoch and each verdict change) rather than spinning, so that the probe
	 * takes no CPU from the agents it measures; re-check every 20 ms anyway.
	 * A commit is the instant the hooks switch tables, so the notification's
	 * arrival is when the watched verdict starts being enforced.
	 */
	while (met < n_watch && (meshnet_now_ns() - t0) / 1e9 < timeout_s) {
		struct pollfd pfd[MAX_WATCH];

		for (size_t k = 0; k < n_watch; k++) {
			pfd[k].fd = meshnet_nl_fd(w[k].ev);
			pfd[k].events = POLLIN;
			pfd[k].revents = 0;
		}
		for (size_t k = 0; k < n_watch; k++) {
			int r;

			if (w[k].met_ms >= 0)
				continue;
			r = check(&w[k]);
			if (r < 0) {
				printf("flip error %s: %s\n", w[k].netns, meshnet_nl_error(w[k].nl));
				return 1;
			}
			if (r) {
				w[k].met_ms = (meshnet_now_ns() - t0) / 1e6;
				met++;
			}
		}
		if (met == n_watch)
			break;
		if (poll(pfd, n_watch, 20) > 0)
			for (size_t k = 0; k < n_watch; k++)
				if (pfd[k].revents & POLLIN)
					meshnet_nl_recv_events(w[k].ev, ignore_event, NULL);
	}
	{
		double total = 0;

		for (size_t k = 0; k < n_watch; k++)
			if (w[k].met_ms > total)
				total = w[k].met_ms;
		printf("flip %s http=%ld total_ms=%.1f", met == n_watch ? "ok" : "timeout",
		       reply.status, met == n_watch ? total : -1.0);
		for (size_t k = 0; k < n_watch; k++)
			printf(" %s%s%s=%.1f", w[k].netns, w[k].peer[0] ? ":" : ":self", w[k].peer,
			       w[k].met_ms);
		printf(" post_ms=%.1f t0=%.1f\n", (t_post - t0) / 1e6, t0 / 1e6);
	}
	agent_http_reply_free(&reply);
	agent_http_free(&http);
	free(body);
	EVP_PKEY_free(key);
	if (setns(home, CLONE_NEWNET))
		return 2;
	for (size_t k = 0; k < n_watch; k++) {
		meshnet_nl_close(w[k].nl);
		meshnet_nl_close(w[k].ev);
	}
	return met == n_watch ? 0 : 1;
}
