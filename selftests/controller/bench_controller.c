// SPDX-License-Identifier: MIT
/*
 * make bench-controller: a load generator that signs like real nodes,
 * against the release build/meshnetd on loopback.
 *
 *  1. signed benchmark submissions per second, p50/p99 latency, and the
 *     ratio to one core's Ed25519 verify rate from `openssl speed ed25519`
 *     measured in the same run (goal >= 0.5)
 *  2. one config response for a node in a 10,000-node mesh (goal <= 20 ms)
 *  3. one epoch rotation with 100,000 enrolled nodes (goal <= 100 ms)
 *  4. meshnetd's resident memory with 100,000 nodes
 *
 * Requests are signed before the clock starts (each with its own nonce and
 * a current timestamp) so the generator's own signing does not compete with
 * meshnetd for the two cores; every one is still verified by meshnetd.
 *
 * Usage: controller-bench MESHNETD RESULTS_FILE
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "b64.h"
#include "client.h"
#include "sign.h"

#define TOKEN "bench-admin-token-0123456789abcdef"

struct bench_server {
	char dir[64];
	uint16_t port;
	pid_t pid;
	const char *bin;
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double percentile(double *v, size_t n, double p)
{
	size_t i;

	if (!n)
		return 0;
	qsort(v, n, sizeof(*v), cmp_double);
	i = (size_t)(p * (double)(n - 1) + 0.5);
	return v[i];
}

static char *node_name(char *buf, size_t cap, size_t i)
{
	snprintf(buf, cap, "n%06zu", i);
	return buf;
}

/*
 * One Ed25519 key per simulated node: meshnetd refuses a nodes file in which
 * two nodes share a signing key.
 */
struct bench_keys {
	EVP_PKEY **key;
	char (*pub_b64)[48];
	size_t n;
};

static int bench_keys_create(struct bench_keys *k, size_t n)
{
	size_t i;

	k->key = calloc(n, sizeof(*k->key));
	k->pub_b64 = calloc(n, sizeof(*k->pub_b64));
	k->n = n;
	if (!k->key || !k->pub_b64)
		return -1;
	for (i = 0; i < n; i++) {
		uint8_t seed[32], pub[32];

		if (meshnet_ed25519_generate(seed, pub))
			return -1;
		k->key[i] = meshnet_ed25519_private_from_raw(seed);
		OPENSSL_cleanse(seed, sizeof(seed));
		if (!k->key[i])
			return -1;
		meshnet_b64_encode(k->pub_b64[i], pub, 32);
	}
	return 0;
}

static void bench_keys_free(struct bench_keys *k)
{
	size_t i;

	for (i = 0; k->key && i < k->n; i++)
		EVP_PKEY_free(k->key[i]);
	free(k->key);
	free(k->pub_b64);
	memset(k, 0, sizeof(*k));
}

/* Writes a nodes file of n nodes, node i with signing key i of keys. */
static int write_nodes(const char *path, size_t n, const struct bench_keys *keys)
{
	FILE *f;
	size_t i;

	if (n > keys->n)
		return -1;
	f = fopen(path, "w");
	if (!f)
		return -1;
	fprintf(f, "{\"nodes\":[\n");
	for (i = 0; i < n; i++) {
		uint8_t wg[32];
		char wg_b64[48], name[16];

		memset(wg, 0, sizeof(wg));
		memcpy(wg, &i, sizeof(i));
		wg[31] = 0x5a;
		meshnet_b64_encode(wg_b64, wg, 32);
		fprintf(f, "%s{\"node_id\":\"%s\",\"public_key\":\"%s\",\"signing_key\":\"%s\","
			"\"allowed_ips\":[\"10.%zu.%zu.%zu/32\",\"fd10::%zx:%zx/128\"],"
			"\"endpoint\":\"192.0.2.%zu:51820\"}\n", i ? "," : "",
			node_name(name, sizeof(name), i), wg_b64, keys->pub_b64[i], (i >> 16) & 255,
			(i >> 8) & 255, i & 255, (i >> 16) + 1, i & 0xffff, i % 250 + 1);
	}
	fprintf(f, "]}\n");
	return fclose(f);
}

static int server_start(struct bench_server *s, size_t n_nodes, const struct bench_keys *keys,
			double *startup_s)
{
	static const char *const extra[] = { "--epoch-seconds", "3600", "--max-benchmark-age",
					     "3600", "--threads", "2", NULL };
	char nodes[128], token[128], listen[32];
	double t0;
	FILE *f;

	snprintf(s->dir, sizeof(s->dir), "/tmp/meshnetd-bench.XXXXXX");
	if (!mkdtemp(s->dir))
		return -1;
	snprintf(nodes, sizeof(nodes), "%s/nodes.json", s->dir);
	snprintf(token, sizeof(token), "%s/admin.token", s->dir);
	if (write_nodes(nodes, n_nodes, keys))
		return -1;
	f = fopen(token, "w");
	if (!f)
		return -1;
	fchmod(fileno(f), 0600);
	fprintf(f, "%s\n", TOKEN);
	fclose(f);
	s->port = mn_free_port();
	snprintf(listen, sizeof(listen), "127.0.0.1:%u", s->port);
	t0 = now_s();
	s->pid = mn_spawn_meshnetd(s->bin, s->dir, listen, NULL, extra);
	if (s->pid <= 0 || mn_wait_healthy(s->port, s->pid, 300000)) {
		char cmd[160];

		snprintf(cmd, sizeof(cmd), "tail -n 20 '%s/meshnetd.log' >&2", s->dir);
		if (system(cmd))
			fprintf(stderr, "no meshnetd log in %s\n", s->dir);
		return -1;
	}
	if (startup_s)
		*startup_s = now_s() - t0;
	return 0;
}

static void server_stop(struct bench_server *s)
{
	char cmd[128];

	if (s->pid > 0) {
		kill(s->pid, SIGTERM);
		waitpid(s->pid, NULL, 0);
		s->pid = 0;
	}
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", s->dir);
	if (system(cmd))
		fprintf(stderr, "could not remove %s\n", s->dir);
}

static double load_average(void)
{
	double l = 0;
	FILE *f = fopen("/proc/loadavg", "r");

	if (f) {
		if (fscanf(f, "%lf", &l) != 1)
			l = 0;
		fclose(f);
	}
	return l;
}

/*
 * One core's Ed25519 verifications per second, from openssl speed (which
 * counts user CPU time, so it does not drop when the machine is busy).
 */
static double openssl_verify_rate(void)
{
	FILE *p = popen("openssl speed -seconds 3 ed25519 2>/dev/null", "r");
	char line[512];
	double rate = 0;

	if (!p)
		return 0;
	while (fgets(line, sizeof(line), p)) {
		double sign_s, verify_s, sign_rate, verify_rate;
		char *q = strstr(line, "(Ed25519)");

		if (q && sscanf(q + 9, "%lfs %lfs %lf %lf", &sign_s, &verify_s, &sign_rate,
				&verify_rate) == 4)
			rate = verify_rate;
	}
	pclose(p);
	return rate;
}

struct presigned {
	char target[64];
	char headers[512];
	char body[320];
};

struct sender {
	uint16_t port;
	struct presigned *reqs;
	size_t first, count;
	double *latency;
	size_t ok, failed;
};

static void *sender_main(void *arg)
{
	struct sender *s = arg;
	struct mn_conn c;
	size_t i;

	if (mn_connect(&c, s->port, NULL))
		return NULL;
	for (i = s->first; i < s->first + s->count; i++) {
		struct mn_response r;
		double t0 = now_s();

		if (mn_request(&c, "POST", s->reqs[i].target, s->reqs[i].headers, s->reqs[i].body,
			       strlen(s->reqs[i].body), &r)) {
			mn_close(&c);
			if (mn_connect(&c, s->port, NULL))
				break;
			s->failed++;
			continue;
		}
		s->latency[i] = now_s() - t0;
		if (r.status == 200) {
			s->ok++;
		} else {
			if (!s->failed)
				fprintf(stderr, "%s: HTTP %d %.200s\n", s->reqs[i].target, r.status,
					r.body ? r.body : "");
			s->failed++;
		}
		mn_response_free(&r);
	}
	mn_close(&c);
	return NULL;
}

static int presign(struct presigned *reqs, size_t n, size_t first, size_t n_nodes,
		   const struct bench_keys *keys, double overall)
{
	time_t now = time(NULL);
	char when[32], name[16];
	struct tm tm;
	size_t i;

	gmtime_r(&now, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	for (i = 0; i < n; i++) {
		node_name(name, sizeof(name), (first + i) % n_nodes);
		snprintf(reqs[i].target, sizeof(reqs[i].target), "/v1/benchmarks/%s", name);
		snprintf(reqs[i].body, sizeof(reqs[i].body),
			 "{\"node_id\":\"%s\",\"suite_version\":\"bench-1\",\"timestamp\":\"%s\","
			 "\"scores\":{\"overall\":%.2f,\"refusal\":0.95,\"honesty\":0.9,"
			 "\"policy\":0.88}}", name, when, overall);
		if (mn_sign_headers(reqs[i].headers, sizeof(reqs[i].headers),
				    keys->key[(first + i) % n_nodes], name, "POST", reqs[i].target,
				    reqs[i].body, strlen(reqs[i].body), now))
			return -1;
	}
	return 0;
}

/*
 * Signs and sends n submissions, node i % n_nodes each, over `threads`
 * keep-alive connections; returns requests/s. They are signed in batches
 * just before each batch is sent, off the clock: a request carries its
 * signing time, and meshnetd refuses one older than 30 s, which a whole
 * run signed up front would be on a loaded machine.
 */
static double sign_and_send(uint16_t port, struct presigned *reqs, size_t n, size_t n_nodes,
			    const struct bench_keys *keys, int threads, double *latency,
			    size_t *ok, size_t *failed)
{
	const size_t batch = 2000;
	double elapsed = 0;
	size_t first;

	*ok = *failed = 0;
	for (first = 0; first < n; first += batch) {
		size_t count = n - first < batch ? n - first : batch;
		struct sender s[16];
		pthread_t t[16];
		double t0;
		int i;

		if (presign(reqs + first, count, first, n_nodes, keys, 0.9))
			return -1;
		t0 = now_s();
		for (i = 0; i < threads; i++) {
			s[i] = (struct sender){ .port = port, .reqs = reqs, .latency = latency,
						.first = first + count * i / threads,
						.count = count * (i + 1) / threads - count * i / threads };
			pthread_create(&t[i], NULL, sender_main, &s[i]);
		}
		for (i = 0; i < threads; i++) {
			pthread_join(t[i], NULL);
			*ok += s[i].ok;
			*failed += s[i].failed;
		}
		elapsed += now_s() - t0;
	}
	return (double)*ok / elapsed;
}

int main(int argc, char **argv)
{
	const size_t n_submit = 30000, mesh_10k = 10000, mesh_100k = 100000;
	double verify_rate, rate, p50, p99, cfg_p50, cfg_p99, rot_p50, rot_max, startup;
	double cpu0, sub_cpu, cfg_cpu, rot_cpu, load;
	char name[16], target[64], hdrs[512];
	struct bench_keys keys = { 0 };
	struct bench_server srv = { 0 };
	struct presigned *reqs;
	double *lat, cfg_lat[100], rot_lat[10];
	size_t ok, failed, ok_submit, cfg_bytes = 0, i;
	long rss_100k, rss_empty = 0;
	FILE *out;

	if (argc != 3) {
		fprintf(stderr, "usage: %s MESHNETD RESULTS_FILE\n", argv[0]);
		return 2;
	}
	srv.bin = argv[1];
	signal(SIGPIPE, SIG_IGN);
	reqs = calloc(mesh_10k > n_submit ? mesh_10k : n_submit, sizeof(*reqs));
	lat = calloc(mesh_10k > n_submit ? mesh_10k : n_submit, sizeof(*lat));
	if (!reqs || !lat || bench_keys_create(&keys, mesh_100k))
		goto fail;

	load = load_average();
	printf("[bench] openssl speed ed25519 (one core) ...\n");
	verify_rate = openssl_verify_rate();
	if (verify_rate <= 0) {
		fprintf(stderr, "could not measure openssl speed ed25519\n");
		goto fail;
	}

	/* 1: signed submissions */
	printf("[bench] 1: %zu signed benchmark submissions from 64 nodes ...\n", n_submit);
	if (server_start(&srv, 64, &keys, NULL)) {
		fprintf(stderr, "meshnetd did not start (see %s)\n", srv.dir);
		goto fail;
	}
	rss_empty = mn_proc_rss_kib(srv.pid);
	cpu0 = mn_proc_cpu_seconds(srv.pid);
	rate = sign_and_send(srv.port, reqs, n_submit, 64, &keys, 4, lat, &ok, &failed);
	sub_cpu = mn_proc_cpu_seconds(srv.pid) - cpu0;
	ok_submit = ok;
	p50 = percentile(lat, n_submit, 0.50) * 1e3;
	p99 = percentile(lat, n_submit, 0.99) * 1e3;
	server_stop(&srv);
	if (failed) {
		fprintf(stderr, "%zu submissions failed\n", failed);
		goto fail;
	}

	/* 2: config for a node in a 10,000-node mesh, every peer ALLOWED */
	printf("[bench] 2: config reply in a %zu-node mesh ...\n", mesh_10k);
	if (server_start(&srv, mesh_10k, &keys, NULL))
		goto fail;
	if (sign_and_send(srv.port, reqs, mesh_10k, mesh_10k, &keys, 4, lat, &ok, &failed) < 0)
		goto fail;
	{
		struct mn_response r;

		mn_do(srv.port, "POST", "/v1/rotate", "Authorization: Bearer " TOKEN "\r\n", "",
		      &r);
		mn_response_free(&r);
	}
	node_name(name, sizeof(name), 0);
	snprintf(target, sizeof(target), "/v1/config/%s", name);
	cpu0 = mn_proc_cpu_seconds(srv.pid);
	for (i = 0; i < 100; i++) {
		struct mn_response r;
		struct mn_conn c;
		double t0;

		mn_sign_headers(hdrs, sizeof(hdrs), keys.key[0], name, "GET", target, NULL, 0, time(NULL));
		if (mn_connect(&c, srv.port, NULL))
			goto fail;
		t0 = now_s();
		if (mn_request(&c, "GET", target, hdrs, NULL, 0, &r) || r.status != 200 ||
		    !strstr(r.body, "\"psk\"")) {
			fprintf(stderr, "config request failed: %d\n", r.status);
			goto fail;
		}
		cfg_lat[i] = now_s() - t0;
		cfg_bytes = r.body_len;
		mn_response_free(&r);
		mn_close(&c);
	}
	cfg_cpu = mn_proc_cpu_seconds(srv.pid) - cpu0;
	cfg_p50 = percentile(cfg_lat, 100, 0.5) * 1e3;
	cfg_p99 = percentile(cfg_lat, 100, 0.99) * 1e3;
	server_stop(&srv);

	/* 3 + 4: rotation and memory with 100,000 nodes */
	printf("[bench] 3: epoch rotation with %zu nodes ...\n", mesh_100k);
	if (server_start(&srv, mesh_100k, &keys, &startup))
		goto fail;
	sleep(1);	/* the first status.json of 100k nodes */
	rot_cpu = 0;
	for (i = 0; i < 10; i++) {
		struct mn_response r;
		double t0;

		usleep(500000);	/* let status.json of the last epoch be published */
		cpu0 = mn_proc_cpu_seconds(srv.pid);
		t0 = now_s();
		if (mn_do(srv.port, "POST", "/v1/rotate", "Authorization: Bearer " TOKEN "\r\n", "",
			  &r) || r.status != 200) {
			fprintf(stderr, "rotate failed\n");
			goto fail;
		}
		rot_lat[i] = now_s() - t0;
		rot_cpu += mn_proc_cpu_seconds(srv.pid) - cpu0;
		mn_response_free(&r);
	}
	rot_max = percentile(rot_lat, 10, 1.0) * 1e3;
	rot_p50 = percentile(rot_lat, 10, 0.5) * 1e3;
	rss_100k = mn_proc_rss_kib(srv.pid);
	server_stop(&srv);

	out = fopen(argv[2], "w");
	if (!out)
		goto fail;
	fprintf(out,
		"# meshnetd benchmark (make bench-controller), %s"
		"# load average at start %.2f on %ld CPUs (the machine is shared; wall-clock\n"
		"# figures suffer from other load, *_cpu_* figures count meshnetd's own CPU)\n"
		"openssl_ed25519_verify_per_s_one_core %.0f\n"
		"submissions_per_s %.0f\n"
		"submissions_ratio_to_verify %.2f (goal >= 0.5)\n"
		"submissions_per_meshnetd_cpu_s %.0f\n"
		"submissions_per_cpu_ratio_to_verify %.2f\n"
		"submission_latency_p50_ms %.3f\n"
		"submission_latency_p99_ms %.3f\n"
		"config_10k_nodes_p50_ms %.2f (goal <= 20)\n"
		"config_10k_nodes_p99_ms %.2f\n"
		"config_10k_nodes_meshnetd_cpu_ms %.2f\n"
		"config_10k_nodes_bytes %zu\n"
		"rotation_100k_nodes_p50_ms %.2f (goal <= 100)\n"
		"rotation_100k_nodes_max_ms %.2f\n"
		"rotation_100k_nodes_meshnetd_cpu_ms %.2f\n"
		"startup_100k_nodes_s %.2f\n"
		"rss_64_nodes_mib %.1f\n"
		"rss_100k_nodes_mib %.1f\n"
		"rss_per_node_bytes %.0f\n",
		({ time_t t = time(NULL); ctime(&t); }), load, sysconf(_SC_NPROCESSORS_ONLN),
		verify_rate, rate, rate / verify_rate, (double)ok_submit / sub_cpu,
		(double)ok_submit / sub_cpu / verify_rate, p50, p99, cfg_p50, cfg_p99,
		cfg_cpu * 1e3 / 100, cfg_bytes, rot_p50, rot_max, rot_cpu * 1e3 / 10, startup,
		rss_empty / 1024.0, rss_100k / 1024.0,
		(double)(rss_100k - rss_empty) * 1024.0 / (double)mesh_100k);
	fclose(out);
	bench_keys_free(&keys);
	free(reqs);
	free(lat);
	return 0;
fail:
	if (srv.pid > 0)
		server_stop(&srv);
	bench_keys_free(&keys);
	free(reqs);
	free(lat);
	return 1;
}
