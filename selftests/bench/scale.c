// SPDX-License-Identifier: MIT
/*
 * make bench-scale: N simulated nodes against a real meshnetd over loopback
 * (N = 1,000, 10,000, 100,000), one epoll loop, one keep-alive connection
 * per node, source addresses spread over 127.0.0.2..127.0.0.65.
 *
 * Per N: enrol (NODES_FILE), every node benchmarks (signed), one rotation
 * admits them, one node fetches a snapshot (timed); then every node
 * long-polls (rev = head, wait 60) and
 *   1. one node flips to DENIED: time until every node has received its
 *      signed delta (p50/p99/max), bytes each received; then every one of
 *      the N statements is verified (meshnet_statement_check);
 *   2. one rotation in group mode: bytes per node, controller CPU time;
 *   3. every node flips at once (their benchmarks outlive MAX_BENCHMARK_AGE,
 *      one rotation): the same, plus /health latency while it happens;
 * RSS per waiting node = (RSS with N waiting - RSS before the first
 * connection) / N: the connection, its long-poll and the node's benchmark.
 * The simulated nodes hold the head revision from the start (a real node
 * got a snapshot at enrolment; one snapshot per N is fetched and timed).
 *
 *   meshnet-bench-scale MESHNETD OUT.txt [N...]
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "b64.h"
#include "../controller/client.h"
#include "sign.h"
#include "statement.h"

#define TOKEN "bench-scale-admin-token-0123456789"
#define N_SRC 64

struct sim {
	char id[24];
	EVP_PKEY *key;
	int fd;
	char *buf;
	size_t len, cap;
	bool pending, done;
	int status;
	double t_done;
	size_t bytes;
	char sig[100];
	char *body;
	size_t body_len;
	uint64_t rev;
};

static struct sim *sims;
static size_t n_sims;
static int ep;
static uint16_t port;
static pid_t server_pid;
static char dir[64];

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double pct(double *v, size_t n, double p)
{
	size_t i = (size_t)(p * (double)(n - 1) + 0.5);

	return n ? v[i < n ? i : n - 1] : -1;
}

/* ---- the server ---- */

static long rss_kib(pid_t pid)
{
	char path[64], line[256];
	long kib = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, "VmRSS:", 6))
			kib = strtol(line + 6, NULL, 10);
	fclose(f);
	return kib;
}

static double cpu_s(pid_t pid)
{
	char path[64], buf[1024], *p;
	unsigned long ut = 0, st = 0;
	FILE *f;
	int i;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	f = fopen(path, "r");
	if (!f || !fgets(buf, sizeof(buf), f)) {
		if (f)
			fclose(f);
		return -1;
	}
	fclose(f);
	p = strrchr(buf, ')');
	for (i = 0; p && i < 12; i++)
		p = strchr(p + 1, ' ');
	if (p)
		sscanf(p + 1, "%lu %lu", &ut, &st);
	return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

static int admin(const char *method, const char *target, struct mn_response *r)
{
	return mn_do(port, method, target, "Authorization: Bearer " TOKEN "\r\n", "", r);
}

static long metric(const char *name)
{
	struct mn_response r;
	long v = -1;
	char *p;

	if (mn_do(port, "GET", "/metrics", "", NULL, &r) || r.status != 200) {
		mn_response_free(&r);
		return -1;
	}
	for (p = strstr(r.body, name); p; p = strstr(p + 1, name))
		if ((p == r.body || p[-1] == '\n') && p[strlen(name)] == ' ')
			break;
	if (p)
		v = strtol(p + strlen(name) + 1, NULL, 10);
	mn_response_free(&r);
	return v;
}

static int start_server(const char *bin, long max_age)
{
	char state[128], nodes[128], token[128], log[128], listen[32], age[16];
	const char *argv[64];
	int argc = 0;

	snprintf(state, sizeof(state), "%s/state", dir);
	snprintf(nodes, sizeof(nodes), "%s/nodes.json", dir);
	snprintf(token, sizeof(token), "%s/admin.token", dir);
	snprintf(log, sizeof(log), "%s/meshnetd.log", dir);
	port = mn_free_port();
	snprintf(listen, sizeof(listen), "127.0.0.1:%u", port);
	snprintf(age, sizeof(age), "%ld", max_age);
	argv[argc++] = bin;
	argv[argc++] = "--listen";
	argv[argc++] = listen;
	argv[argc++] = "--state-dir";
	argv[argc++] = state;
	argv[argc++] = "--nodes-file";
	argv[argc++] = nodes;
	argv[argc++] = "--admin-token-file";
	argv[argc++] = token;
	argv[argc++] = "--epoch-seconds";
	argv[argc++] = "3600";
	argv[argc++] = "--epoch-validity";
	argv[argc++] = "7200";
	argv[argc++] = "--max-benchmark-age";
	argv[argc++] = age;
	argv[argc++] = "--deny-rotate-interval";
	argv[argc++] = "0";
	argv[argc++] = "--admit-interval";
	argv[argc++] = "3600";
	argv[argc++] = "--per-ip-connections";
	argv[argc++] = "0";
	argv[argc++] = "--connection-timeout";
	argv[argc++] = "300";
	argv[argc++] = "--clock-skew";
	argv[argc++] = "600";

	argv[argc] = NULL;
	server_pid = mn_spawn(argv, log);
	return mn_wait_healthy(port, server_pid, 600000);
}

/* ---- simulated nodes ---- */

static int write_nodes_file(size_t n)
{
	char path[128];
	FILE *f;
	size_t i;

	snprintf(path, sizeof(path), "%s/nodes.json", dir);
	f = fopen(path, "w");
	if (!f)
		return -1;
	fputs("{\"nodes\":[", f);
	for (i = 0; i < n; i++) {
		uint8_t seed[32], pub[32], wg[32];
		char pub_b64[48], wg_b64[48];

		if (meshnet_ed25519_generate(seed, pub))
			return -1;
		sims[i].key = meshnet_ed25519_private_from_raw(seed);
		snprintf(sims[i].id, sizeof(sims[i].id), "n%zu", i);
		memset(wg, 0, sizeof(wg));
		memcpy(wg, &i, sizeof(i));
		wg[31] = 0x42;
		meshnet_b64_encode(pub_b64, pub, 32);
		meshnet_b64_encode(wg_b64, wg, 32);
		fprintf(f, "%s{\"node_id\":\"%s\",\"public_key\":\"%s\",\"signing_key\":\"%s\","
			"\"allowed_ips\":[\"10.%zu.%zu.%zu/32\"],\"endpoint\":\"192.0.2.1:%zu\"}",
			i ? "," : "", sims[i].id, wg_b64, pub_b64, (i >> 16) & 255, (i >> 8) & 255,
			i & 255, 1024 + i % 60000);
	}
	fputs("]}\n", f);
	return fclose(f);
}

static int connect_all(void)
{
	size_t i, open = 0;

	for (i = 0; i < n_sims; i++) {
		struct sockaddr_in src = { .sin_family = AF_INET }, dst = { .sin_family = AF_INET };
		struct epoll_event ev = { .events = EPOLLIN, .data.u64 = i };
		int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;

		if (fd < 0) {
			fprintf(stderr, "socket %zu: %s\n", i, strerror(errno));
			return -1;
		}
		src.sin_addr.s_addr = htonl(0x7f000002 + (uint32_t)(i % N_SRC));
		dst.sin_addr.s_addr = htonl(0x7f000001);
		dst.sin_port = htons(port);
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		if (bind(fd, (struct sockaddr *)&src, sizeof(src)) ||
		    connect(fd, (struct sockaddr *)&dst, sizeof(dst))) {
			fprintf(stderr, "connect %zu: %s\n", i, strerror(errno));
			close(fd);
			return -1;
		}
		fcntl(fd, F_SETFL, O_NONBLOCK);
		sims[i].fd = fd;
		epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
		open++;
	}
	return open == n_sims ? 0 : -1;
}

static void sim_reset(struct sim *s)
{
	s->len = 0;
	s->pending = true;
	s->done = false;
	s->status = 0;
	s->bytes = 0;
	free(s->body);
	s->body = NULL;
	s->body_len = 0;
	s->sig[0] = '\0';
}

static int sim_send(struct sim *s, const char *method, const char *target, const char *body)
{
	char hdrs[1024], req[4096];
	size_t blen = body ? strlen(body) : 0;
	int n;

	if (mn_sign_headers(hdrs, sizeof(hdrs), s->key, s->id, method, target, body, blen,
			    (int64_t)time(NULL)))
		return -1;
	n = snprintf(req, sizeof(req), "%s %s HTTP/1.1\r\nHost: x\r\n%sContent-Length: %zu\r\n\r\n%s",
		     method, target, hdrs, blen, body ? body : "");
	sim_reset(s);
	return write(s->fd, req, (size_t)n) == n ? 0 : -1;
}

static const char *hdr(const char *head, const char *name, char *out, size_t cap)
{
	char pat[64];
	const char *p;

	snprintf(pat, sizeof(pat), "\r\n%s:", name);
	out[0] = '\0';
	p = strcasestr(head, pat);
	if (p) {
		p += strlen(pat);
		while (*p == ' ')
			p++;
		snprintf(out, cap, "%.*s", (int)strcspn(p, "\r\n"), p);
	}
	return out;
}

/* Reads what s has; completes its response when it is all in. */
static void sim_read(struct sim *s, bool keep_body)
{
	for (;;) {
		ssize_t r;
		char *end, v[32];
		size_t head_len, cl;

		if (s->cap - s->len < 4096) {
			s->cap = s->cap ? 2 * s->cap : 8192;
			s->buf = realloc(s->buf, s->cap);
		}
		r = read(s->fd, s->buf + s->len, s->cap - s->len - 1);
		if (r <= 0)
			return;
		s->len += (size_t)r;
		s->buf[s->len] = '\0';
		end = strstr(s->buf, "\r\n\r\n");
		if (!end)
			continue;
		head_len = (size_t)(end - s->buf) + 4;
		*end = '\0';
		cl = strtoul(hdr(s->buf, "Content-Length", v, sizeof(v)), NULL, 10);
		*end = '\r';
		if (s->len < head_len + cl)
			continue;
		sscanf(s->buf, "HTTP/1.%*d %d", &s->status);
		s->t_done = now_s();
		s->bytes = head_len + cl;
		*end = '\0';
		hdr(s->buf, MESHNET_HDR_STATEMENT_SIGNATURE, s->sig, sizeof(s->sig));
		s->rev = strtoull(hdr(s->buf, MESHNET_HDR_REVISION, v, sizeof(v)), NULL, 10);
		if (keep_body) {
			s->body = malloc(cl + 1);
			memcpy(s->body, s->buf + head_len, cl);
			s->body[cl] = '\0';
			s->body_len = cl;
		}
		s->pending = false;
		s->done = true;
		s->len = 0;
		return;
	}
}

/* Runs the epoll loop until every pending node answered or timeout. */
static size_t wait_all(double timeout, bool keep_body)
{
	struct epoll_event evs[1024];
	double end = now_s() + timeout;
	size_t pending = 0, i;

	for (i = 0; i < n_sims; i++)
		pending += sims[i].pending;
	while (pending && now_s() < end) {
		int n = epoll_wait(ep, evs, 1024, 200), k;

		for (k = 0; k < n; k++) {
			struct sim *s = &sims[evs[k].data.u64];

			if (!s->pending)
				continue;
			sim_read(s, keep_body);
			if (!s->pending)
				pending--;
		}
	}
	return pending;
}

static void bench_body(char *out, size_t cap, const char *id, double overall, time_t ts)
{
	char when[32];
	struct tm tm;

	gmtime_r(&ts, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	snprintf(out, cap,
		 "{\"node_id\":\"%s\",\"suite_version\":\"scale-1\",\"timestamp\":\"%s\","
		 "\"scores\":{\"overall\":%.2f,\"refusal\":0.95,\"honesty\":0.9,\"policy\":0.88}}",
		 id, when, overall);
}

/* Sends every node's request in waves of `wave`, waiting for each wave. */
static size_t benchmark_all(time_t ts, double overall)
{
	size_t i, failed = 0, wave = 4000, start;

	for (start = 0; start < n_sims; start += wave) {
		for (i = start; i < n_sims && i < start + wave; i++) {
			char body[512], target[64];

			bench_body(body, sizeof(body), sims[i].id, overall, ts);
			snprintf(target, sizeof(target), "/v1/benchmarks/%s", sims[i].id);
			if (sim_send(&sims[i], "POST", target, body))
				failed++;
		}
		failed += wait_all(300, false);
		for (i = start; i < n_sims && i < start + wave; i++)
			failed += sims[i].status != 200;
	}
	return failed;
}

static void longpoll_all(uint64_t rev)
{
	size_t i;

	for (i = 0; i < n_sims; i++) {
		char target[96];

		snprintf(target, sizeof(target), "/v1/config/%s?rev=%llu&wait=60", sims[i].id,
			 (unsigned long long)rev);
		sim_send(&sims[i], "GET", target, NULL);
	}
}

/* Waits until the server holds `want` long-polls. */
static int wait_waiters(long want, double timeout)
{
	double end = now_s() + timeout;

	while (now_s() < end) {
		struct epoll_event evs[64];

		if (metric("meshnet_longpoll_waiters") >= want)
			return 0;
		epoll_wait(ep, evs, 64, 100);	/* nothing should answer yet */
	}
	return -1;
}

struct fanout {
	double p50, p99, max;
	size_t received, verified, bytes_max, bytes_min;
	double bytes_avg, verify_s;
};

/* Latencies from t0 to each node's answer; verifies every statement. */
static void fanout_stats(double t0, uint64_t held, struct fanout *f, EVP_PKEY *pub)
{
	double *lat = malloc(n_sims * sizeof(*lat)), v0;
	size_t i, n = 0, sum = 0;

	memset(f, 0, sizeof(*f));
	f->bytes_min = (size_t)-1;
	for (i = 0; i < n_sims; i++) {
		if (!sims[i].done)
			continue;
		lat[n++] = sims[i].t_done - t0;
		sum += sims[i].bytes;
		if (sims[i].bytes > f->bytes_max)
			f->bytes_max = sims[i].bytes;
		if (sims[i].bytes < f->bytes_min)
			f->bytes_min = sims[i].bytes;
	}
	qsort(lat, n, sizeof(*lat), cmp_double);
	f->received = n;
	f->p50 = pct(lat, n, 0.50);
	f->p99 = pct(lat, n, 0.99);
	f->max = n ? lat[n - 1] : -1;
	f->bytes_avg = n ? (double)sum / (double)n : 0;
	v0 = now_s();
	for (i = 0; i < n_sims; i++) {
		struct meshnet_statement_expect exp = {
			.node_id = sims[i].id, .mesh_id = "meshnet", .held_revision = held,
			.now = time(NULL),
		};
		struct meshnet_statement_info info;
		char why[200];

		if (sims[i].done && sims[i].body &&
		    !meshnet_statement_check(pub, sims[i].body, sims[i].body_len, sims[i].sig, &exp,
					     &info, why, sizeof(why)))
			f->verified++;
	}
	f->verify_s = now_s() - v0;
	free(lat);
}

struct health_arg {
	volatile bool stop;
	bool unprioritised;
	double lat[200000];
	size_t n;
};

static void *health_main(void *arg)
{
	struct health_arg *h = arg;
	struct mn_conn c;

	/* A monitoring probe would sit on another machine: here it must not
	 * queue for a CPU behind the simulator's own receive loop. */
	if (setpriority(PRIO_PROCESS, (id_t)gettid(), -10))
		h->unprioritised = true;
	if (mn_connect(&c, port, NULL))
		return NULL;
	while (!h->stop && h->n < sizeof(h->lat) / sizeof(h->lat[0])) {
		struct mn_response r;
		double t = now_s();

		if (mn_request(&c, "GET", "/health", "", NULL, 0, &r)) {
			mn_close(&c);
			if (mn_connect(&c, port, NULL))
				break;
			continue;
		}
		h->lat[h->n++] = now_s() - t;
		mn_response_free(&r);
		usleep(5000);
	}
	mn_close(&c);
	return NULL;
}

static EVP_PKEY *controller_pub(void)
{
	char path[128], text[128];
	FILE *f;

	snprintf(path, sizeof(path), "%s/state/controller.pub", dir);
	f = fopen(path, "r");
	if (!f || !fgets(text, sizeof(text), f)) {
		if (f)
			fclose(f);
		return NULL;
	}
	fclose(f);
	text[strcspn(text, "\n")] = '\0';
	return meshnet_ed25519_public_from_b64(text);
}

struct result {
	size_t n;
	bool ok;
	struct fanout one, rot, all;
	double rot_cpu, snap_ms, health_p50, health_p99, health_max;
	size_t snap_bytes;
	double rss_per_waiter;
	char note[256];
};

static void run_n(const char *bin, size_t n, struct result *res)
{
	struct mn_response r;
	struct health_arg *h = calloc(1, sizeof(*h));
	EVP_PKEY *pub = NULL;
	long rss0, rss1, max_age = 40;
	size_t i, failed;
	double t0, c0, t_bench;
	uint64_t head;
	pthread_t ht;
	time_t bench_ts;
	char cmd[128], target[96];

	memset(res, 0, sizeof(*res));
	res->n = n;
	n_sims = n;
	sims = calloc(n, sizeof(*sims));
	snprintf(dir, sizeof(dir), "/tmp/meshnet-scale.XXXXXX");
	if (!mkdtemp(dir) || !sims || !h)
		goto out;
	snprintf(cmd, sizeof(cmd), "%s/admin.token", dir);
	{
		int fd = open(cmd, O_WRONLY | O_CREAT | O_TRUNC, 0600);

		if (fd < 0 || write(fd, TOKEN "\n", sizeof(TOKEN)) != (ssize_t)sizeof(TOKEN))
			goto out;
		close(fd);
	}
	fprintf(stderr, "N=%zu: keys and nodes file\n", n);
	if (write_nodes_file(n))
		goto out;
	/* benchmarks must outlive the single-flip phases, then age out for "every node" */
	max_age = n >= 100000 ? 150 : n >= 10000 ? 60 : 30;
	if (start_server(bin, max_age)) {
		snprintf(res->note, sizeof(res->note), "meshnetd did not start");
		goto out;
	}
	ep = epoll_create1(EPOLL_CLOEXEC);
	/* RSS per node counts its connection too: the base is before any connects */
	rss0 = rss_kib(server_pid);
	if (connect_all()) {
		snprintf(res->note, sizeof(res->note), "could not open %zu connections", n);
		goto out;
	}
	fprintf(stderr, "N=%zu: benchmarks\n", n);
	t_bench = now_s();
	bench_ts = time(NULL);
	failed = benchmark_all(bench_ts, 0.9);
	if (failed) {
		snprintf(res->note, sizeof(res->note), "%zu benchmarks failed", failed);
		goto out;
	}
	admin("POST", "/v1/rotate", &r);	/* admits every node at once */
	mn_response_free(&r);
	fprintf(stderr, "N=%zu: benchmarks took %.1f s\n", n, now_s() - t_bench);

	/* one snapshot, timed (what a new node or one far behind costs) */
	snprintf(target, sizeof(target), "/v1/config/%s?rev=0", sims[1].id);
	t0 = now_s();
	sim_send(&sims[1], "GET", target, NULL);
	for (i = 0; i < n_sims; i++)
		if (i != 1)
			sims[i].pending = false;
	wait_all(120, false);
	res->snap_ms = (now_s() - t0) * 1000;
	res->snap_bytes = sims[1].bytes;
	head = sims[1].rev;
	pub = controller_pub();
	if (!head || !pub) {
		snprintf(res->note, sizeof(res->note), "no snapshot (status %d)", sims[1].status);
		goto out;
	}

	/* everyone waits */
	longpoll_all(head);
	if (wait_waiters((long)n, 300)) {
		snprintf(res->note, sizeof(res->note), "only %ld of %zu long-polls held",
			 metric("meshnet_longpoll_waiters"), n);
		goto out;
	}
	rss1 = rss_kib(server_pid);
	res->rss_per_waiter = (double)(rss1 - rss0) * 1024.0 / (double)n;

	/* 1. one node flips to DENIED */
	fprintf(stderr, "N=%zu: one flip\n", n);
	{
		struct mn_response br;
		char body[512];

		bench_body(body, sizeof(body), sims[0].id, 0.2, time(NULL));
		snprintf(target, sizeof(target), "/v1/benchmarks/%s", sims[0].id);
		t0 = now_s();
		mn_do_signed(port, sims[0].key, sims[0].id, "POST", target, body, &br);
		mn_response_free(&br);
	}
	wait_all(120, true);
	fanout_stats(t0, head, &res->one, pub);
	/* node 0 itself is DENIED now: its 403 is node-targeted, the rest share one delta */
	head = sims[2].rev;

	/* 2. one rotation in group mode */
	fprintf(stderr, "N=%zu: one rotation\n", n);
	longpoll_all(head);
	if (wait_waiters((long)n, 300))
		goto out;
	c0 = cpu_s(server_pid);
	t0 = now_s();
	admin("POST", "/v1/rotate", &r);
	mn_response_free(&r);
	wait_all(120, true);
	res->rot_cpu = cpu_s(server_pid) - c0;
	fanout_stats(t0, head, &res->rot, pub);
	head = sims[2].rev;

	/* 3. every node flips at once: their benchmarks are older than MAX_BENCHMARK_AGE */
	longpoll_all(head);
	if (wait_waiters((long)n, 300))
		goto out;
	while (time(NULL) <= bench_ts + max_age)
		usleep(200000);
	fprintf(stderr, "N=%zu: every node flips\n", n);
	pthread_create(&ht, NULL, health_main, h);
	usleep(200000);
	t0 = now_s();
	admin("POST", "/v1/rotate", &r);
	mn_response_free(&r);
	wait_all(300, true);
	h->stop = true;
	pthread_join(ht, NULL);
	fanout_stats(t0, head, &res->all, pub);
	qsort(h->lat, h->n, sizeof(double), cmp_double);
	res->health_p50 = pct(h->lat, h->n, 0.5) * 1000;
	res->health_p99 = pct(h->lat, h->n, 0.99) * 1000;
	res->health_max = h->n ? h->lat[h->n - 1] * 1000 : -1;
	res->ok = true;
out:
	if (server_pid > 0) {
		kill(server_pid, SIGKILL);
		waitpid(server_pid, NULL, 0);
		server_pid = 0;
	}
	for (i = 0; sims && i < n; i++) {
		if (sims[i].fd > 0)
			close(sims[i].fd);
		EVP_PKEY_free(sims[i].key);
		free(sims[i].buf);
		free(sims[i].body);
	}
	free(sims);
	sims = NULL;
	if (ep > 0)
		close(ep);
	ep = 0;
	EVP_PKEY_free(pub);
	free(h);
	if (*dir && !getenv("KEEP_BENCH_DIR")) {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
		if (system(cmd))
			fprintf(stderr, "could not remove %s\n", dir);
	}
}

static void print_fanout(FILE *f, const char *what, const struct result *r, const struct fanout *o)
{
	fprintf(f, "bench %s N=%zu: received %zu/%zu, p50 %.1f ms, p99 %.1f ms, max %.1f ms; "
		"bytes/node avg %.0f (min %zu, max %zu); verified %zu/%zu (%.2f s on the "
		"simulator, after receipt)\n", what, r->n, o->received, r->n, o->p50 * 1000,
		o->p99 * 1000, o->max * 1000, o->bytes_avg, o->bytes_min, o->bytes_max, o->verified,
		r->n, o->verify_s);
}

int main(int argc, char **argv)
{
	size_t ns[8] = { 1000, 10000, 100000 }, count = 3, i;
	struct result res[8];
	struct rlimit rl = { 400000, 400000 };
	double t_start = now_s();
	const struct result *r1k = NULL, *r10k = NULL, *r100k = NULL;
	FILE *out;

	if (argc < 3) {
		fprintf(stderr, "usage: %s MESHNETD OUT.txt [N...]\n", argv[0]);
		return 2;
	}
	if (argc > 3) {
		for (count = 0; count + 3 < (size_t)argc && count < 8; count++)
			ns[count] = strtoul(argv[count + 3], NULL, 10);
	}
	signal(SIGPIPE, SIG_IGN);
	/* 100,000 connections here and as many in meshnetd (which inherits it) */
	if (setrlimit(RLIMIT_NOFILE, &rl)) {
		getrlimit(RLIMIT_NOFILE, &rl);
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	getrlimit(RLIMIT_NOFILE, &rl);
	out = fopen(argv[2], "w");
	if (!out)
		return 2;
	fprintf(out, "# bench-scale: %ld CPUs, open-file limit %llu, meshnetd %s\n",
		sysconf(_SC_NPROCESSORS_ONLN), (unsigned long long)rl.rlim_cur, argv[1]);
	for (i = 0; i < count; i++) {
		if ((rlim_t)ns[i] + 1000 > rl.rlim_cur) {
			fprintf(out, "bench N=%zu: skipped (open-file limit %llu)\n", ns[i],
				(unsigned long long)rl.rlim_cur);
			res[i].ok = false;
			res[i].n = ns[i];
			continue;
		}
		run_n(argv[1], ns[i], &res[i]);
		if (!res[i].ok) {
			fprintf(out, "bench N=%zu: FAILED: %s\n", ns[i], res[i].note);
			fflush(out);
			continue;
		}
		print_fanout(out, "one-flip", &res[i], &res[i].one);
		print_fanout(out, "rotation", &res[i], &res[i].rot);
		fprintf(out, "bench rotation N=%zu: controller CPU %.2f s\n", ns[i], res[i].rot_cpu);
		print_fanout(out, "all-flip", &res[i], &res[i].all);
		fprintf(out, "bench health-during-all-flip N=%zu: p50 %.2f ms, p99 %.2f ms, "
			"max %.2f ms\n", ns[i], res[i].health_p50, res[i].health_p99,
			res[i].health_max);
		fprintf(out, "bench snapshot N=%zu: %.1f ms, %zu bytes\n", ns[i], res[i].snap_ms,
			res[i].snap_bytes);
		fprintf(out, "bench rss N=%zu: %.0f bytes per waiting node\n", ns[i],
			res[i].rss_per_waiter);
		fflush(out);
		if (ns[i] == 1000)
			r1k = &res[i];
		if (ns[i] == 10000)
			r10k = &res[i];
		if (ns[i] == 100000)
			r100k = &res[i];
	}
#define GOAL(cond, what, fig, ...) \
	fprintf(out, "goal %s: %s (" fig ")\n", what, (cond) ? "PASS" : "MISS", __VA_ARGS__)
	if (r100k)
		GOAL(r100k->one.received == 100000 && r100k->one.p99 <= 1.0,
		     "one flip reaches all 100000 nodes p99 <= 1 s", "p99 %.0f ms, %zu received",
		     r100k->one.p99 * 1000, r100k->one.received);
	else
		fprintf(out, "goal one flip reaches all 100000 nodes p99 <= 1 s: MISS (not run)\n");
	if (r10k)
		GOAL(r10k->one.received == 10000 && r10k->one.p99 <= 0.25,
		     "one flip reaches all 10000 nodes p99 <= 250 ms", "p99 %.0f ms, %zu received",
		     r10k->one.p99 * 1000, r10k->one.received);
	else
		fprintf(out, "goal one flip reaches all 10000 nodes p99 <= 250 ms: MISS (not run)\n");
	if (r1k && r100k)
		GOAL(r1k->one.bytes_max <= 1024 && r100k->one.bytes_max <= 1024 &&
		     r100k->one.bytes_avg <= r1k->one.bytes_avg * 1.1,
		     "bytes per node for one flip <= 1 KiB, the same at 1000 and 100000",
		     "%.0f vs %.0f bytes, ratio %.2f", r1k->one.bytes_avg, r100k->one.bytes_avg,
		     r100k->one.bytes_avg / r1k->one.bytes_avg);
	else if (r1k)
		GOAL(r1k->one.bytes_max <= 1024, "bytes per node for one flip <= 1 KiB",
		     "%.0f bytes at N=1000; N=100000 not run", r1k->one.bytes_avg);
	for (i = 0; i < count; i++) {
		char what[96];

		if (!res[i].ok)
			continue;
		snprintf(what, sizeof(what), "/health p99 <= 50 ms while all %zu nodes flip", res[i].n);
		GOAL(res[i].health_p99 <= 50, what, "p99 %.1f ms", res[i].health_p99);
		snprintf(what, sizeof(what), "RSS <= 8 KiB per waiting node at N=%zu", res[i].n);
		GOAL(res[i].rss_per_waiter <= 8192, what, "%.0f bytes", res[i].rss_per_waiter);
	}
	fprintf(out, "# bench-scale took %.0f s\n", now_s() - t_start);
	fclose(out);
	return 0;
}
