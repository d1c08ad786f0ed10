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
#include <stdint.h>
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

#include "../controller/client.h"
#include "sign.h"
#include "sim_nodes.h"
#include "statement.h"

#define TOKEN "bench-scale-admin-token-0123456789"
static struct sim_set set;
static uint16_t port;
static pid_t server_pid;
static char dir[64];

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

static int admin(const char *method, const char *target, struct mn_response *r)
{
	return mn_do(port, method, target, "Authorization: Bearer " TOKEN "\r\n", "", r);
}

/*
 * The request that starts a fan-out (a benchmark, a rotation), sent from a
 * thread of its own: its reply comes once the change is durable, and the
 * simulated nodes must be read meanwhile, or every receipt time would be
 * taken only after that reply (the epoll loop would not run until then).
 */
struct trigger {
	pthread_t thread;
	EVP_PKEY *key;		/* a node's request (signed), or NULL: the admin's */
	const char *node_id;
	char target[96], body[512];
	int status;
	double t_answered;	/* sim_now() at its reply */
};

static void *trigger_main(void *arg)
{
	struct trigger *t = arg;
	struct mn_response r;

	if (t->key)
		mn_do_signed(port, t->key, t->node_id, "POST", t->target, t->body, &r);
	else
		admin("POST", t->target, &r);
	t->t_answered = sim_now();
	t->status = r.status;
	mn_response_free(&r);
	return NULL;
}

static int trigger_start(struct trigger *t)
{
	return pthread_create(&t->thread, NULL, trigger_main, t) ? -1 : 0;
}

static void trigger_join(struct trigger *t, const char *what, size_t n, double t0)
{
	pthread_join(t->thread, NULL);
	fprintf(stderr, "N=%zu: %s answered %d after %.1f ms\n", n, what, t->status,
		(t->t_answered - t0) * 1000);
}

static int start_server(const char *bin, long max_age)
{
	char listen[32], age[16];
	const char *const settings[] = {
		"--epoch-seconds", "3600", "--epoch-validity", "7200", "--max-benchmark-age", age,
		"--deny-rotate-interval", "0", "--admit-interval", "3600",
		"--per-ip-connections", "0", "--connection-timeout", "300",
		"--clock-skew", "600", NULL,
	};

	port = mn_free_port();
	snprintf(listen, sizeof(listen), "127.0.0.1:%u", port);
	snprintf(age, sizeof(age), "%ld", max_age);
	server_pid = mn_spawn_meshnetd(bin, dir, listen, NULL, settings);
	return mn_wait_healthy(port, server_pid, 600000);
}

/* ---- the simulated nodes (sim_nodes.c) ---- */

/* A probe of meshnetd before a phase: $BENCH_SCALE_AT_PHASE <pid> <phase> (perf, gdb). */
static void phase_probe(const char *phase)
{
	const char *cmd = getenv("BENCH_SCALE_AT_PHASE");
	char probe[512];

	if (!cmd)
		return;
	snprintf(probe, sizeof(probe), "%s %d %s", cmd, (int)server_pid, phase);
	if (system(probe))
		fprintf(stderr, "%s: failed\n", probe);
}

/* Waits until the server holds `want` long-polls. */
static int wait_waiters(long want, double timeout)
{
	double end = sim_now() + timeout;

	while (sim_now() < end) {
		struct epoll_event evs[64];

		if (mn_metric(port, "meshnet_longpoll_waiters") >= want)
			return 0;
		epoll_wait(set.ep, evs, 64, 100);	/* nothing should answer yet */
	}
	return -1;
}

struct fanout {
	double p50, p99, max;
	size_t received, verified, bytes_max, bytes_min, bytes_self;
	double bytes_avg, verify_s;
	double cpu_server, cpu_client;	/* CPU seconds during the fan-out */
};

/* Latencies from t0 to each node's answer; verifies every statement. */
/*
 * Latencies from t0 to each node's answer; verifies every statement. Bytes
 * count the peers that heard of the change: the node at index self (the one
 * that flipped, or SIZE_MAX) gets its own signed verdict (with the
 * explanation of its denial), counted apart.
 */
static void fanout_stats(double t0, uint64_t held, struct fanout *f, EVP_PKEY *pub, size_t self)
{
	double *lat = malloc(set.n * sizeof(*lat)), v0;
	size_t i, n = 0, sum = 0, peers = 0;

	memset(f, 0, sizeof(*f));
	f->bytes_min = (size_t)-1;
	for (i = 0; i < set.n; i++) {
		if (!set.sims[i].done)
			continue;
		lat[n++] = set.sims[i].t_done - t0;
		if (i == self) {
			f->bytes_self = set.sims[i].bytes;
			continue;
		}
		peers++;
		sum += set.sims[i].bytes;
		if (set.sims[i].bytes > f->bytes_max)
			f->bytes_max = set.sims[i].bytes;
		if (set.sims[i].bytes < f->bytes_min)
			f->bytes_min = set.sims[i].bytes;
	}
	qsort(lat, n, sizeof(*lat), cmp_double);
	f->received = n;
	f->p50 = pct(lat, n, 0.50);
	f->p99 = pct(lat, n, 0.99);
	f->max = n ? lat[n - 1] : -1;
	if (n)
		fprintf(stderr, "N=%zu: first receipt after %.1f ms, p10 %.1f ms\n", set.n,
			lat[0] * 1000, pct(lat, n, 0.10) * 1000);
	f->bytes_avg = peers ? (double)sum / (double)peers : 0;
	v0 = sim_now();
	for (i = 0; i < set.n; i++) {
		struct meshnet_statement_expect exp = {
			.node_id = set.sims[i].id, .mesh_id = "meshnet", .held_revision = held,
			.now = time(NULL),
		};
		struct meshnet_statement_info info;
		char why[200];

		if (set.sims[i].done && set.sims[i].body &&
		    !meshnet_statement_check(pub, set.sims[i].body, set.sims[i].body_len, set.sims[i].sig, &exp,
					     &info, why, sizeof(why)))
			f->verified++;
	}
	f->verify_s = sim_now() - v0;
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
		double t = sim_now();

		if (mn_request(&c, "GET", "/health", "", NULL, 0, &r)) {
			mn_close(&c);
			if (mn_connect(&c, port, NULL))
				break;
			continue;
		}
		h->lat[h->n++] = sim_now() - t;
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
	double rss_per_waiter, rss_conn, rss_bench, rss_wait;
	char note[256];
};

static void run_n(const char *bin, size_t n, struct result *res)
{
	struct mn_response r;
	struct health_arg *h = calloc(1, sizeof(*h));
	EVP_PKEY *pub = NULL;
	long rss0, rss1, rss_conn, rss_bench, max_age = 40;
	size_t i, failed;
	double t0, c0, c1, t_bench;
	uint64_t head;
	pthread_t ht;
	time_t bench_ts;
	char cmd[128], target[96];

	memset(res, 0, sizeof(*res));
	res->n = n;
	snprintf(dir, sizeof(dir), "/tmp/meshnet-scale.XXXXXX");
	if (!mkdtemp(dir) || !h)
		goto out;
	snprintf(cmd, sizeof(cmd), "%s/admin.token", dir);
	{
		int fd = open(cmd, O_WRONLY | O_CREAT | O_TRUNC, 0600);

		if (fd < 0 || write(fd, TOKEN "\n", sizeof(TOKEN)) != (ssize_t)sizeof(TOKEN))
			goto out;
		close(fd);
	}
	fprintf(stderr, "N=%zu: keys and nodes file\n", n);
	snprintf(target, sizeof(target), "%s/nodes.json", dir);
	if (sim_set_create(&set, n, target))
		goto out;
	/* benchmarks must outlive the single-flip phases, then age out for "every node" */
	max_age = n >= 100000 ? 150 : n >= 10000 ? 60 : 30;
	if (start_server(bin, max_age)) {
		snprintf(res->note, sizeof(res->note), "meshnetd did not start");
		goto out;
	}
	/* RSS per node counts its connection too: the base is before any connects */
	rss0 = mn_proc_rss_kib(server_pid);
	if (sim_connect_all(&set, port)) {
		snprintf(res->note, sizeof(res->note), "could not open %zu connections", n);
		goto out;
	}
	fprintf(stderr, "N=%zu: benchmarks\n", n);
	t_bench = sim_now();
	bench_ts = time(NULL);
	rss_conn = mn_proc_rss_kib(server_pid);
	failed = sim_benchmark_all(&set, bench_ts, 0.9);
	rss_bench = mn_proc_rss_kib(server_pid);
	if (failed) {
		snprintf(res->note, sizeof(res->note), "%zu benchmarks failed", failed);
		goto out;
	}
	admin("POST", "/v1/rotate", &r);	/* admits every node at once */
	mn_response_free(&r);
	fprintf(stderr, "N=%zu: benchmarks took %.1f s\n", n, sim_now() - t_bench);

	/* one snapshot, timed (what a new node or one far behind costs) */
	snprintf(target, sizeof(target), "/v1/config/%s?rev=0", set.sims[1].id);
	t0 = sim_now();
	sim_send(&set.sims[1], "GET", target, NULL);
	for (i = 0; i < set.n; i++)
		if (i != 1)
			set.sims[i].pending = false;
	sim_wait_all(&set, 120, false);
	res->snap_ms = (sim_now() - t0) * 1000;
	res->snap_bytes = set.sims[1].bytes;
	head = set.sims[1].rev;
	pub = controller_pub();
	if (!head || !pub) {
		snprintf(res->note, sizeof(res->note), "no snapshot (status %d)", set.sims[1].status);
		goto out;
	}

	/* everyone waits */
	sim_longpoll_all(&set, head, 60);
	if (wait_waiters((long)n, 300)) {
		snprintf(res->note, sizeof(res->note), "only %lld of %zu long-polls held",
			 mn_metric(port, "meshnet_longpoll_waiters"), n);
		goto out;
	}
	/* steady state: meshnetd hands freed heap back at most every 2 s */
	sim_wait_all(&set, 3, false);
	rss1 = mn_proc_rss_kib(server_pid);
	if (getenv("BENCH_SCALE_AT_WAIT")) {
		/* a probe of meshnetd while every node waits: $BENCH_SCALE_AT_WAIT <pid> */
		char probe[512];

		snprintf(probe, sizeof(probe), "%s %d", getenv("BENCH_SCALE_AT_WAIT"),
			 (int)server_pid);
		if (system(probe))
			fprintf(stderr, "%s: failed\n", probe);
	}
	res->rss_per_waiter = (double)(rss1 - rss0) * 1024.0 / (double)n;
	res->rss_conn = (double)(rss_conn - rss0) * 1024.0 / (double)n;
	res->rss_bench = (double)(rss_bench - rss_conn) * 1024.0 / (double)n;
	res->rss_wait = (double)(rss1 - rss_bench) * 1024.0 / (double)n;

	/* 1. one node flips to DENIED */
	fprintf(stderr, "N=%zu: one flip\n", n);
	phase_probe("one-flip");
	{
		struct trigger tr = { .key = set.sims[0].key, .node_id = set.sims[0].id };

		mn_bench_body(tr.body, sizeof(tr.body), set.sims[0].id, "scale-1", 0.2, time(NULL));
		snprintf(tr.target, sizeof(tr.target), "/v1/benchmarks/%s", set.sims[0].id);
		c0 = mn_proc_cpu_seconds(server_pid);
		c1 = mn_proc_cpu_seconds(getpid());
		t0 = sim_now();
		if (trigger_start(&tr))
			goto out;
		sim_wait_all(&set, 120, true);
		trigger_join(&tr, "the flipping benchmark", n, t0);
		phase_probe("one-flip-done");
	}
	c0 = mn_proc_cpu_seconds(server_pid) - c0;
	c1 = mn_proc_cpu_seconds(getpid()) - c1;
	fanout_stats(t0, head, &res->one, pub, 0);
	res->one.cpu_server = c0;
	res->one.cpu_client = c1;
	/* node 0 itself is DENIED now: its 403 is node-targeted, the rest share one delta */
	head = set.sims[2].rev;

	/* 2. one rotation in group mode */
	fprintf(stderr, "N=%zu: one rotation\n", n);
	sim_longpoll_all(&set, head, 60);
	if (wait_waiters((long)n, 300))
		goto out;
	phase_probe("rotation");
	{
		struct trigger tr = { .target = "/v1/rotate" };

		c0 = mn_proc_cpu_seconds(server_pid);
		t0 = sim_now();
		if (trigger_start(&tr))
			goto out;
		sim_wait_all(&set, 120, true);
		trigger_join(&tr, "the rotation", n, t0);
	}
	res->rot_cpu = mn_proc_cpu_seconds(server_pid) - c0;
	fanout_stats(t0, head, &res->rot, pub, SIZE_MAX);
	head = set.sims[2].rev;

	/* 3. every node flips at once: their benchmarks are older than MAX_BENCHMARK_AGE */
	sim_longpoll_all(&set, head, 60);
	if (wait_waiters((long)n, 300))
		goto out;
	while (time(NULL) <= bench_ts + max_age)
		usleep(200000);
	fprintf(stderr, "N=%zu: every node flips\n", n);
	phase_probe("all-flip");
	pthread_create(&ht, NULL, health_main, h);
	usleep(200000);
	{
		struct trigger tr = { .target = "/v1/rotate" };

		c0 = mn_proc_cpu_seconds(server_pid);
		c1 = mn_proc_cpu_seconds(getpid());
		t0 = sim_now();
		if (trigger_start(&tr))
			goto out;
		sim_wait_all(&set, 300, true);
		trigger_join(&tr, "the rotation that flips every node", n, t0);
	}
	h->stop = true;
	pthread_join(ht, NULL);
	res->all.cpu_server = mn_proc_cpu_seconds(server_pid) - c0;
	res->all.cpu_client = mn_proc_cpu_seconds(getpid()) - c1;
	fanout_stats(t0, head, &res->all, pub, SIZE_MAX);
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
	sim_set_free(&set);
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
	char selfb[96] = "";

	if (o->bytes_self)
		snprintf(selfb, sizeof(selfb), " over the peers; the flipped node's own signed "
			 "verdict %zu bytes", o->bytes_self);
	fprintf(f, "bench %s N=%zu: received %zu/%zu, p50 %.1f ms, p99 %.1f ms, max %.1f ms; "
		"bytes/node avg %.0f (min %zu, max %zu)%s; verified %zu/%zu (%.2f s on the "
		"simulator, after receipt)\n", what, r->n, o->received, r->n, o->p50 * 1000,
		o->p99 * 1000, o->max * 1000, o->bytes_avg, o->bytes_min, o->bytes_max, selfb, o->verified,
		r->n, o->verify_s);
	if (o->cpu_server > 0 || o->cpu_client > 0)
		fprintf(f, "bench %s-cpu N=%zu: meshnetd %.3f s, simulator %.3f s (receiving, "
			"before verification) while the %zu replies went out\n", what, r->n,
			o->cpu_server, o->cpu_client, r->n);
}

int main(int argc, char **argv)
{
	size_t ns[8] = { 1000, 10000, 100000 }, count = 3, i;
	struct result res[8];
	struct rlimit rl = { 400000, 400000 };
	double t_start = sim_now();
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
	{
		double load = -1;
		FILE *la = fopen("/proc/loadavg", "r");

		if (la) {
			if (fscanf(la, "%lf", &load) != 1)
				load = -1;
			fclose(la);
		}
		fprintf(out, "# bench-scale: %ld CPUs (load average %.1f at start), open-file "
			"limit %llu, meshnetd %s\n", sysconf(_SC_NPROCESSORS_ONLN), load,
			(unsigned long long)rl.rlim_cur, argv[1]);
	}
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
		fprintf(out, "bench rss N=%zu: %.0f bytes per waiting node (connection %.0f, "
			"benchmark and its request %.0f, long-poll %.0f)\n", ns[i],
			res[i].rss_per_waiter, res[i].rss_conn, res[i].rss_bench, res[i].rss_wait);
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
	else
		fprintf(out, "goal bytes per node for one flip <= 1 KiB, the same at 1000 and "
			"100000: MISS (N=100000 not run)\n");
	if (r1k && r10k)
		GOAL(r1k->one.bytes_max <= 1024 && r10k->one.bytes_max <= 1024 &&
		     r10k->one.bytes_avg <= r1k->one.bytes_avg * 1.1,
		     "bytes per node for one flip <= 1 KiB, the same at 1000 and 10000",
		     "%.0f vs %.0f bytes (max %zu), ratio %.3f", r1k->one.bytes_avg,
		     r10k->one.bytes_avg, r10k->one.bytes_max,
		     r10k->one.bytes_avg / r1k->one.bytes_avg);
	for (i = 0; i < count; i++) {
		char what[96];

		if (!res[i].ok)
			continue;
		snprintf(what, sizeof(what), "/health p99 <= 50 ms while all %zu nodes flip", res[i].n);
		GOAL(res[i].health_p99 <= 50, what, "p99 %.1f ms", res[i].health_p99);
		snprintf(what, sizeof(what), "RSS <= 8 KiB per waiting node at N=%zu", res[i].n);
		GOAL(res[i].rss_per_waiter <= 8192, what, "%.0f bytes", res[i].rss_per_waiter);
	}
	fprintf(out, "# bench-scale took %.0f s\n", sim_now() - t_start);
	fclose(out);
	return 0;
}
