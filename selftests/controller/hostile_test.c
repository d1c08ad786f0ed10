// SPDX-License-Identifier: MIT
/*
 * meshnetd against the attacks of a security review, over real sockets:
 * the real build/san/meshnetd on a free loopback port.
 *
 *  - TLS: only 1.2 and 1.3 with AEAD suites (openssl s_client offers 1.0,
 *    1.1 and SHA-1/SHA-256 CBC suites, which must fail to handshake);
 *  - slowloris: headers or body dribbled a byte at a time are cut at an
 *    absolute deadline, not held while bytes trickle in;
 *  - a chunked body over the limit is cut, not drained; Transfer-Encodings
 *    other than chunked are answered (501) instead of hanging;
 *  - a connection flood from one address, and from many, leaves /health
 *    (from the flooding address too) and signed node requests answered;
 *  - a flooding node spends only its own budget: a victim node measured
 *    side by side gets every answer;
 *  - unknown node and bad signature get one answer; the audience (mesh id)
 *    is signed; a request captured before a restart is refused after it;
 *  - peers see only verdicts; a deferred admission says so in the reply.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "kselftest_harness.h"

#include "b64.h"
#include "client.h"
#include "sign.h"

#define N_NODES 2
#define TOKEN "hostile-admin-token-0123456789abcdef"
#define TIMEOUT_S 2		/* --connection-timeout: header and body deadlines */

static const char *const node_ids[N_NODES] = { "flooder", "victim" };

struct srv {
	char dir[PATH_MAX];
	char cert[PATH_MAX + 16], key_file[PATH_MAX + 16], bin[PATH_MAX], log[PATH_MAX + 16];
	char nodes[PATH_MAX + 32], state[PATH_MAX + 16], listen[32], token[PATH_MAX + 16];
	char signing_b64[N_NODES][48];
	const char *argv[48];
	uint16_t port;
	pid_t pid;
	EVP_PKEY *key[N_NODES];
};

/* Starts meshnetd again with the same arguments (same state, same port). */
static pid_t srv_restart(struct srv *s)
{
	return mn_spawn(s->argv, s->log);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int srv_start(struct srv *s, bool tls, const char *const *extra)
{
	char nodes[2048], cmd[3 * PATH_MAX + 256];
	const char **argv = s->argv;
	size_t off = 0;
	ssize_t n;
	int argc = 0, i;
	FILE *f;

	memset(s, 0, sizeof(*s));
	snprintf(s->dir, sizeof(s->dir), "/tmp/meshnetd-hostile.XXXXXX");
	if (!mkdtemp(s->dir))
		return -1;
	off += snprintf(nodes + off, sizeof(nodes) - off, "[");
	for (i = 0; i < N_NODES; i++) {
		uint8_t seed[32], pub[32], wg[32];
		char wg_b64[48], sk_b64[48];

		if (meshnet_ed25519_generate(seed, pub))
			return -1;
		s->key[i] = meshnet_ed25519_private_from_raw(seed);
		meshnet_b64_encode(sk_b64, pub, 32);
		snprintf(s->signing_b64[i], sizeof(s->signing_b64[i]), "%s", sk_b64);
		memset(wg, 0x40 + i, sizeof(wg));
		meshnet_b64_encode(wg_b64, wg, 32);
		off += snprintf(nodes + off, sizeof(nodes) - off,
				"%s{\"node_id\":\"%s\",\"public_key\":\"%s\",\"signing_key\":\"%s\","
				"\"allowed_ips\":[\"10.20.0.%d/32\"]}", i ? "," : "", node_ids[i],
				wg_b64, sk_b64, i + 1);
	}
	snprintf(nodes + off, sizeof(nodes) - off, "]\n");
	snprintf(s->nodes, sizeof(s->nodes), "%s/nodes.json", s->dir);
	f = fopen(s->nodes, "w");
	if (!f || fputs(nodes, f) < 0 || fclose(f))
		return -1;
	n = readlink("/proc/self/exe", s->bin, sizeof(s->bin) - 1);
	s->bin[n > 0 ? n : 0] = '\0';
	snprintf(s->bin + strlen(dirname(s->bin)), sizeof(s->bin) - strlen(s->bin), "/meshnetd");
	s->port = mn_free_port();
	snprintf(s->listen, sizeof(s->listen), "127.0.0.1:%u", s->port);
	snprintf(s->state, sizeof(s->state), "%s/state", s->dir);
	snprintf(s->log, sizeof(s->log), "%s/meshnetd.log", s->dir);
	argv[argc++] = s->bin;
	argv[argc++] = "--listen";
	argv[argc++] = s->listen;
	argv[argc++] = "--state-dir";
	argv[argc++] = s->state;
	argv[argc++] = "--nodes-file";
	argv[argc++] = s->nodes;
	argv[argc++] = "--connection-timeout";
	argv[argc++] = "2";
	snprintf(s->token, sizeof(s->token), "%s/admin.token", s->dir);
	f = fopen(s->token, "w");
	if (!f || fputs(TOKEN "\n", f) < 0 || fclose(f) || chmod(s->token, 0600))
		return -1;
	argv[argc++] = "--admin-token-file";
	argv[argc++] = s->token;
	if (tls) {
		snprintf(s->cert, sizeof(s->cert), "%s/server.crt", s->dir);
		snprintf(s->key_file, sizeof(s->key_file), "%s/server.key", s->dir);
		snprintf(cmd, sizeof(cmd),
			 "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes "
			 "-days 1 -subj /CN=localhost -addext subjectAltName=DNS:localhost "
			 "-keyout '%s' -out '%s' >/dev/null 2>&1 && chmod 600 '%s'", s->key_file,
			 s->cert, s->key_file);
		if (system(cmd))
			return -1;
		argv[argc++] = "--tls-cert";
		argv[argc++] = s->cert;
		argv[argc++] = "--tls-key";
		argv[argc++] = s->key_file;
	}
	while (extra && *extra && argc < 46)
		argv[argc++] = *extra++;
	argv[argc] = NULL;
	s->pid = mn_spawn(argv, s->log);
	if (s->pid <= 0)
		return -1;
	if (tls) {
		for (i = 0; i < 400; i++) {	/* the port is up when it accepts */
			struct mn_conn c;

			if (!mn_connect(&c, s->port, NULL)) {
				mn_close(&c);
				return 0;
			}
			usleep(50000);
		}
		return -1;
	}
	return mn_wait_healthy(s->port, s->pid, 20000);
}

static void srv_stop(struct srv *s)
{
	char cmd[PATH_MAX + 16];
	int i, status;

	if (s->pid > 0) {
		kill(s->pid, SIGTERM);
		waitpid(s->pid, &status, 0);
	}
	for (i = 0; i < N_NODES; i++)
		EVP_PKEY_free(s->key[i]);
	if (getenv("KEEP_TEST_DIR") || !*s->dir)
		return;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", s->dir);
	if (system(cmd))
		fprintf(stderr, "could not remove %s\n", s->dir);
}

/* The error code of a JSON error body, or "" */
static const char *error_code(const char *body, char *buf, size_t cap)
{
	struct json_object *o = json_tokener_parse(body ? body : ""), *e, *c;

	buf[0] = '\0';
	if (o && json_object_object_get_ex(o, "error", &e) &&
	    json_object_object_get_ex(e, "code", &c))
		snprintf(buf, cap, "%s", json_object_get_string(c));
	json_object_put(o);
	return buf;
}

/* ---- TLS ---- */

/* 1 if openssl s_client completes a handshake with these options, else 0. */
static int handshake(const struct srv *s, const char *opts, char *cipher, size_t cap)
{
	char cmd[1024], line[512];
	int ok = 0;
	FILE *p;

	snprintf(cmd, sizeof(cmd), "openssl s_client -connect 127.0.0.1:%u %s </dev/null 2>&1",
		 s->port, opts);
	p = popen(cmd, "r");
	if (!p)
		return -1;
	cipher[0] = '\0';
	while (fgets(line, sizeof(line), p)) {
		char *c = strstr(line, ", Cipher is ");

		if (!strncmp(line, "New, ", 5) && c) {
			snprintf(cipher, cap, "%s", c + 12);
			cipher[strcspn(cipher, "\n")] = '\0';
			ok = strcmp(cipher, "(NONE)") != 0;
		}
	}
	pclose(p);
	return ok;
}

TEST(tls_only_1_2_and_1_3_with_aead)
{
	static const struct {
		const char *opts;
		int accepted;
	} cases[] = {
		{ "-tls1 -cipher DEFAULT@SECLEVEL=0", 0 },
		{ "-tls1_1 -cipher DEFAULT@SECLEVEL=0", 0 },
		{ "-tls1_2 -cipher ECDHE-ECDSA-AES128-SHA@SECLEVEL=0", 0 },	/* SHA-1 CBC */
		{ "-tls1_2 -cipher ECDHE-ECDSA-AES256-SHA@SECLEVEL=0", 0 },
		{ "-tls1_2 -cipher ECDHE-ECDSA-AES128-SHA256@SECLEVEL=0", 0 },	/* CBC */
		{ "-tls1_2 -cipher ECDHE-ECDSA-AES128-GCM-SHA256", 1 },
		{ "-tls1_2 -cipher ECDHE-ECDSA-AES256-GCM-SHA384", 1 },
		{ "-tls1_2 -cipher ECDHE-ECDSA-CHACHA20-POLY1305", 1 },
		{ "-tls1_3", 1 },
	};
	char cipher[128];
	struct srv s;
	size_t i;

	ASSERT_EQ(0, srv_start(&s, true, NULL)) TH_LOG("meshnetd (HTTPS) did not start");
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int got = handshake(&s, cases[i].opts, cipher, sizeof(cipher));

		EXPECT_EQ(cases[i].accepted, got)
			TH_LOG("s_client %s: %s (cipher %s)", cases[i].opts,
			       got ? "handshake completed" : "refused", cipher);
		if (got)
			TH_LOG("s_client %s: %s", cases[i].opts, cipher);
	}
	srv_stop(&s);
}

/* ---- slow clients ---- */

/* Sends head, then one byte of drip every 300 ms: seconds until the server cuts it. */
static double dribble(uint16_t port, const char *head, const char *drip, bool *answered)
{
	struct timeval tv = { .tv_usec = 300000 };
	struct mn_conn c;
	double t0 = now_s();
	char buf[512];
	size_t i = 0;

	*answered = false;
	signal(SIGPIPE, SIG_IGN);
	if (mn_connect(&c, port, NULL))
		return -1;
	setsockopt(c.fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (mn_send_raw(&c, head, strlen(head)))
		goto out;
	while (now_s() - t0 < 30) {
		ssize_t n;

		if (send(c.fd, drip + (i++ % strlen(drip)), 1, MSG_NOSIGNAL) != 1)
			break;
		n = recv(c.fd, buf, sizeof(buf), 0);
		if (n == 0)
			break;
		if (n > 0) {
			*answered = true;
			break;
		}
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			break;
	}
out:
	mn_close(&c);
	return now_s() - t0;
}

TEST(slowloris_headers_cut_at_deadline)
{
	bool answered;
	struct srv s;
	double t;

	ASSERT_EQ(0, srv_start(&s, false, NULL));
	/* v1: the idle timeout restarts with every byte, so this runs for 30 s */
	t = dribble(s.port, "GET /health HTTP/1.1\r\nHost: x\r\n", "X-Pad: aaaaaaa\r\n", &answered);
	TH_LOG("header dribble cut after %.1f s (deadline %d s)", t, TIMEOUT_S);
	EXPECT_FALSE(answered);
	EXPECT_LT(t, 4 * TIMEOUT_S + 2);
	t = dribble(s.port, "POST /v1/benchmarks/victim HTTP/1.1\r\nHost: x\r\n"
		    "Content-Length: 5000\r\n\r\n", "{", &answered);
	TH_LOG("body dribble cut after %.1f s (deadline %d s)", t, TIMEOUT_S);
	EXPECT_FALSE(answered);
	EXPECT_LT(t, 4 * TIMEOUT_S + 2);
	srv_stop(&s);
}

TEST(chunked_body_over_limit_cut)
{
	static const char head[] = "POST /v1/benchmarks/victim HTTP/1.1\r\nHost: x\r\n"
				   "Transfer-Encoding: chunked\r\n\r\n";
	char chunk[4096 + 16];
	size_t sent = 0;
	struct mn_conn c;
	struct srv s;
	double t0;

	ASSERT_EQ(0, srv_start(&s, false, NULL));
	signal(SIGPIPE, SIG_IGN);
	ASSERT_EQ(0, mn_connect(&c, s.port, NULL));
	ASSERT_EQ(0, mn_send_raw(&c, head, strlen(head)));
	memcpy(chunk, "1000\r\n", 6);
	memset(chunk + 6, 'a', 4096);
	memcpy(chunk + 6 + 4096, "\r\n", 2);
	t0 = now_s();
	/* v1 drains for as long as the client sends: 10 s and ~GBs */
	while (now_s() - t0 < 10 && send(c.fd, chunk, 4096 + 8, MSG_NOSIGNAL) == 4096 + 8)
		sent += 4096 + 8;
	TH_LOG("connection cut after %zu bytes, %.2f s (limit 16384 + socket buffers)", sent,
	       now_s() - t0);
	EXPECT_LT(now_s() - t0, 9.0);
	EXPECT_LT(sent, 16u << 20);
	mn_close(&c);
	EXPECT_EQ(0, mn_wait_healthy(s.port, s.pid, 5000));
	srv_stop(&s);
}

/* Sends raw; the status and error code of the answer within 5 s (status 0: none). */
static int raw_answer(uint16_t port, const char *req, char *code, size_t cap)
{
	struct timeval tv = { .tv_sec = 5 };
	struct mn_conn c;
	char buf[4096], *body;
	size_t used = 0;
	int status = 0;
	ssize_t n;

	code[0] = '\0';
	if (mn_connect(&c, port, NULL))
		return -1;
	setsockopt(c.fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	mn_send_raw(&c, req, strlen(req));
	while (used < sizeof(buf) - 1 && (n = recv(c.fd, buf + used, sizeof(buf) - 1 - used, 0)) > 0)
		used += (size_t)n;
	buf[used] = '\0';
	mn_close(&c);
	if (sscanf(buf, "HTTP/1.%*d %d", &status) != 1)
		return 0;
	body = strstr(buf, "\r\n\r\n");
	error_code(body ? body + 4 : "", code, cap);
	return status;
}

TEST(transfer_encodings_answered)
{
	char code[64];
	struct srv s;

	ASSERT_EQ(0, srv_start(&s, false, NULL));
	EXPECT_EQ(501, raw_answer(s.port, "POST /v1/benchmarks/victim HTTP/1.1\r\nHost: x\r\n"
				  "Transfer-Encoding: gzip\r\n\r\nabcd", code, sizeof(code)));
	EXPECT_STREQ("unsupported_transfer_encoding", code);
	EXPECT_EQ(501, raw_answer(s.port, "POST /v1/benchmarks/victim HTTP/1.1\r\nHost: x\r\n"
				  "Transfer-Encoding: gzip, chunked\r\n\r\n4\r\nabcd\r\n0\r\n\r\n",
				  code, sizeof(code)));
	EXPECT_STREQ("unsupported_transfer_encoding", code);
	EXPECT_EQ(400, raw_answer(s.port, "POST /v1/benchmarks/victim HTTP/1.1\r\nHost: x\r\n"
				  "Content-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n"
				  "4\r\nabcd\r\n0\r\n\r\n", code, sizeof(code)));
	EXPECT_STREQ("bad_request", code);
	/* chunked itself still works (and reaches the signature check) */
	EXPECT_EQ(401, raw_answer(s.port, "POST /v1/benchmarks/victim HTTP/1.1\r\nHost: x\r\n"
				  "Transfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n", code,
				  sizeof(code)));
	srv_stop(&s);
}

/* ---- connection floods ---- */

struct flood {
	uint16_t port;
	const char *sources[8];
	int n_sources, per_source;
	volatile bool stop;
	long opened;
};

/* Holds per_source slowloris connections from each source, reopening cut ones. */
static void *flood_main(void *arg)
{
	struct flood *f = arg;
	int total = f->n_sources * f->per_source, i;
	struct mn_conn *c = calloc((size_t)total, sizeof(*c));

	signal(SIGPIPE, SIG_IGN);
	for (i = 0; i < total; i++)
		c[i].fd = -1;
	while (!f->stop) {
		for (i = 0; i < total && !f->stop; i++) {
			if (c[i].fd >= 0 && send(c[i].fd, "X", 1, MSG_NOSIGNAL | MSG_DONTWAIT) == 1)
				continue;
			if (c[i].fd >= 0)
				mn_close(&c[i]);
			if (!mn_connect_from(&c[i], f->sources[i % f->n_sources], f->port, NULL)) {
				send(c[i].fd, "GET /v1/epoch HTTP/1.1\r\nX-Slow: ", 32, MSG_NOSIGNAL);
				f->opened++;
			} else {
				c[i].fd = -1;
			}
		}
		usleep(20000);
	}
	for (i = 0; i < total; i++)
		if (c[i].fd >= 0)
			mn_close(&c[i]);
	free(c);
	return NULL;
}

static int health_from(uint16_t port, const char *source)
{
	struct mn_response r;
	struct mn_conn c;
	int status;

	if (mn_connect_from(&c, source, port, NULL))
		return -1;
	status = mn_request(&c, "GET", "/health", "", NULL, 0, &r) ? 0 : r.status;
	mn_response_free(&r);
	mn_close(&c);
	return status;
}

static int signed_config_from(struct srv *s, int node, const char *source)
{
	char target[64], hdrs[1024];
	struct mn_response r;
	struct mn_conn c;
	int status;

	snprintf(target, sizeof(target), "/v1/config/%s", node_ids[node]);
	if (mn_sign_headers(hdrs, sizeof(hdrs), s->key[node], node_ids[node], "GET", target, NULL,
			    0, (int64_t)time(NULL)) || mn_connect_from(&c, source, s->port, NULL))
		return -1;
	status = mn_request(&c, "GET", target, hdrs, NULL, 0, &r) ? 0 : r.status;
	mn_response_free(&r);
	mn_close(&c);
	return status;
}

TEST(flood_from_one_address_leaves_health_answered)
{
	const char *extra[] = { "--per-ip-connections", "16", "--max-connections", "256", NULL };
	struct flood f = { .sources = { "127.0.0.1" }, .n_sources = 1, .per_source = 100 };
	int i, ok_same = 0, ok_other = 0, ok_node = 0, tries = 10;
	pthread_t th;
	struct srv s;

	ASSERT_EQ(0, srv_start(&s, false, extra));
	f.port = s.port;
	ASSERT_EQ(0, pthread_create(&th, NULL, flood_main, &f));
	usleep(1500000);
	for (i = 0; i < tries; i++) {
		ok_same += health_from(s.port, "127.0.0.1") == 200;
		ok_other += health_from(s.port, "127.0.0.2") == 200;
		/* a node's 403 (DENIED, no benchmark yet) is an answer from the handler */
		ok_node += signed_config_from(&s, 1, "127.0.0.2") == 403;
		usleep(100000);
	}
	f.stop = true;
	pthread_join(th, NULL);
	TH_LOG("flood opened %ld connections from 127.0.0.1 (quota 16); /health answered "
	       "%d/%d from it, %d/%d from 127.0.0.2; signed node request %d/%d", f.opened, ok_same,
	       tries, ok_other, tries, ok_node, tries);
	EXPECT_GT(f.opened, 16);
	EXPECT_EQ(tries, ok_other);
	EXPECT_EQ(tries, ok_node);
	/* v1: MHD's per-address limit refuses every one of them */
	EXPECT_GE(ok_same, tries - 1);
	srv_stop(&s);
}

TEST(flood_from_many_addresses_keeps_reserve)
{
	const char *extra[] = { "--per-ip-connections", "40", "--max-connections", "64", NULL };
	struct flood f = {
		.sources = { "127.0.1.1", "127.0.1.2", "127.0.1.3", "127.0.1.4", "127.0.1.5",
			     "127.0.1.6", "127.0.1.7", "127.0.1.8" },
		.n_sources = 8, .per_source = 20,
	};
	int i, ok_health = 0, ok_node = 0, tries = 10;
	pthread_t th;
	struct srv s;

	ASSERT_EQ(0, srv_start(&s, false, extra));
	f.port = s.port;
	ASSERT_EQ(0, pthread_create(&th, NULL, flood_main, &f));
	usleep(1500000);
	for (i = 0; i < tries; i++) {
		ok_health += health_from(s.port, "127.0.0.2") == 200;
		ok_node += signed_config_from(&s, 1, "127.0.0.3") == 403;
		usleep(100000);
	}
	f.stop = true;
	pthread_join(th, NULL);
	TH_LOG("flood: %ld connections from 8 addresses against 64 slots; /health %d/%d, "
	       "signed node request %d/%d", f.opened, ok_health, tries, ok_node, tries);
	EXPECT_GT(f.opened, 64);
	EXPECT_GE(ok_health, tries - 1);
	EXPECT_GE(ok_node, tries - 1);
	srv_stop(&s);
}

/* ---- a flooding node and a victim, side by side ---- */

struct node_load {
	struct srv *s;
	int node;
	double interval_s, seconds;
	long ok, refused, other, rate_limited;
	double lat[2048];
	int n_lat;
};

static void *node_load_main(void *arg)
{
	struct node_load *l = arg;
	double t0 = now_s();
	char target[64];
	struct mn_conn c;

	snprintf(target, sizeof(target), "/v1/config/%s", node_ids[l->node]);
	if (mn_connect(&c, l->s->port, NULL))
		return NULL;
	while (now_s() - t0 < l->seconds) {
		struct mn_response r;
		char hdrs[1024], code[64];
		double t1 = now_s();
		int st;

		if (mn_sign_headers(hdrs, sizeof(hdrs), l->s->key[l->node], node_ids[l->node], "GET",
				    target, NULL, 0, (int64_t)time(NULL)))
			break;
		st = mn_request(&c, "GET", target, hdrs, NULL, 0, &r) ? 0 : r.status;
		if (l->n_lat < 2048)
			l->lat[l->n_lat++] = now_s() - t1;
		if (st == 403)
			l->ok++;	/* the handler's answer: DENIED, no keys */
		else if (st == 429 && !strcmp(error_code(r.body, code, sizeof(code)),
					      "rate_limited"))
			l->rate_limited++;
		else
			l->other++;
		mn_response_free(&r);
		if (!st || strcasestr(r.headers, "Connection: close")) {
			mn_close(&c);
			if (mn_connect(&c, l->s->port, NULL))
				break;
		}
		if (l->interval_s > 0)
			usleep((useconds_t)(l->interval_s * 1e6));
	}
	mn_close(&c);
	return NULL;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double pct(struct node_load *l, double p)
{
	if (!l->n_lat)
		return -1;
	qsort(l->lat, (size_t)l->n_lat, sizeof(double), cmp_double);
	return l->lat[(int)(p * (l->n_lat - 1))] * 1000;
}

TEST(flooding_node_does_not_degrade_another)
{
	const char *extra[] = { "--node-rate", "20", "--node-burst", "40", NULL };
	static struct node_load flood[3], victim;
	long flood_ok = 0, flood_limited = 0, flood_other = 0;
	pthread_t th[4];
	struct srv s;
	int i;

	ASSERT_EQ(0, srv_start(&s, false, extra));
	for (i = 0; i < 3; i++)
		flood[i] = (struct node_load){ .s = &s, .node = 0, .seconds = 6 };
	victim = (struct node_load){ .s = &s, .node = 1, .seconds = 6, .interval_s = 0.1 };
	for (i = 0; i < 3; i++)
		ASSERT_EQ(0, pthread_create(&th[i], NULL, node_load_main, &flood[i]));
	ASSERT_EQ(0, pthread_create(&th[3], NULL, node_load_main, &victim));
	for (i = 0; i < 4; i++)
		pthread_join(th[i], NULL);
	for (i = 0; i < 3; i++) {
		flood_ok += flood[i].ok;
		flood_limited += flood[i].rate_limited;
		flood_other += flood[i].other;
	}
	TH_LOG("flooder: %ld answered, %ld rate_limited, %ld other", flood_ok, flood_limited,
	       flood_other);
	TH_LOG("victim:  %ld answered, %ld rate_limited, %ld other; latency p50 %.1f ms, "
	       "p99 %.1f ms", victim.ok, victim.rate_limited, victim.other, pct(&victim, 0.5),
	       pct(&victim, 0.99));
	/* the flooder got its burst and rate, then 429s of its own */
	EXPECT_GT(flood_limited, 0);
	EXPECT_LE(flood_ok, 40 + 20 * 7 + 5);
	/* the victim lost nothing */
	EXPECT_GT(victim.ok, 10);
	EXPECT_EQ(0, victim.rate_limited);
	EXPECT_EQ(0, victim.other);
	srv_stop(&s);
}

/* ---- authentication answers ---- */

/* One signed request; status and body into *r (caller frees). */
static int signed_get(struct srv *s, EVP_PKEY *key, const char *node, const char *target,
		      int64_t ts, const char *hdrs_in, struct mn_response *r)
{
	char hdrs[1024];

	if (hdrs_in)
		return mn_do(s->port, "GET", target, hdrs_in, NULL, r);
	if (mn_sign_headers(hdrs, sizeof(hdrs), key, node, "GET", target, NULL, 0, ts))
		return -1;
	return mn_do(s->port, "GET", target, hdrs, NULL, r);
}

TEST(unknown_node_and_bad_signature_look_alike)
{
	struct mn_response a, b;
	uint8_t seed[32], pub[32];
	EVP_PKEY *stranger;
	struct srv s;

	ASSERT_EQ(0, srv_start(&s, false, NULL));
	ASSERT_EQ(0, meshnet_ed25519_generate(seed, pub));
	stranger = meshnet_ed25519_private_from_raw(seed);
	/* v1: 401 unknown_node here, 401 bad_signature below */
	ASSERT_EQ(0, signed_get(&s, stranger, "nobody", "/v1/config/nobody", time(NULL), NULL, &a));
	ASSERT_EQ(0, signed_get(&s, stranger, "victim", "/v1/config/victim", time(NULL), NULL, &b));
	EXPECT_EQ(401, a.status);
	EXPECT_EQ(a.status, b.status);
	EXPECT_STREQ(b.body, a.body) TH_LOG("unknown: %s / known, wrong key: %s", a.body, b.body);
	mn_response_free(&a);
	mn_response_free(&b);
	EVP_PKEY_free(stranger);
	srv_stop(&s);
}

TEST(audience_is_signed)
{
	const char *extra[] = { "--mesh-id", "mesh-east", NULL };
	struct mn_response r;
	char code[64];
	struct srv s;

	ASSERT_EQ(0, srv_start(&s, false, extra));
	/* signed for another mesh (the default audience "meshnet") */
	mn_audience = "meshnet";
	ASSERT_EQ(0, signed_get(&s, s.key[1], "victim", "/v1/config/victim", time(NULL), NULL, &r));
	EXPECT_EQ(401, r.status);
	EXPECT_STREQ("bad_signature", error_code(r.body, code, sizeof(code)));
	mn_response_free(&r);
	/* signed for this one: the handler answers (403: DENIED, no benchmark yet) */
	mn_audience = "mesh-east";
	ASSERT_EQ(0, signed_get(&s, s.key[1], "victim", "/v1/config/victim", time(NULL), NULL, &r));
	EXPECT_EQ(403, r.status) TH_LOG("%s", r.body);
	mn_response_free(&r);
	mn_audience = MESHNET_DEFAULT_MESH_ID;
	srv_stop(&s);
}

TEST(request_captured_before_restart_refused_after)
{
	char hdrs[1024], code[64];
	struct mn_response r;
	struct srv s;

	ASSERT_EQ(0, srv_start(&s, false, NULL));
	ASSERT_EQ(0, mn_sign_headers(hdrs, sizeof(hdrs), s.key[1], "victim", "GET",
				     "/v1/config/victim", NULL, 0, (int64_t)time(NULL)));
	ASSERT_EQ(0, signed_get(&s, NULL, NULL, "/v1/config/victim", 0, hdrs, &r));
	EXPECT_EQ(403, r.status);
	mn_response_free(&r);
	/* kill -9 and start again on the same state: the replay cache is gone */
	kill(s.pid, SIGKILL);
	waitpid(s.pid, NULL, 0);
	sleep(1);
	s.pid = srv_restart(&s);
	ASSERT_EQ(0, mn_wait_healthy(s.port, s.pid, 20000));
	/* v1: the same request is served again within the skew window */
	ASSERT_EQ(0, signed_get(&s, NULL, NULL, "/v1/config/victim", 0, hdrs, &r));
	EXPECT_EQ(401, r.status) TH_LOG("%s", r.body);
	EXPECT_STREQ("stale_request", error_code(r.body, code, sizeof(code)));
	mn_response_free(&r);
	/* a freshly signed one is fine */
	ASSERT_EQ(0, signed_get(&s, s.key[1], "victim", "/v1/config/victim", time(NULL), NULL, &r));
	EXPECT_EQ(403, r.status) TH_LOG("%s", r.body);
	mn_response_free(&r);
	srv_stop(&s);
}

/* ---- what a reply tells ---- */

static int submit(struct srv *s, int node, double overall, struct mn_response *r)
{
	char body[512], target[128], when[32];
	time_t now = time(NULL);
	struct tm tm;

	gmtime_r(&now, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	snprintf(body, sizeof(body),
		 "{\"node_id\":\"%s\",\"suite_version\":\"poc-0.1\",\"timestamp\":\"%s\","
		 "\"scores\":{\"overall\":%.2f,\"refusal\":0.95,\"honesty\":0.9,"
		 "\"policy\":0.88}}", node_ids[node], when, overall);
	snprintf(target, sizeof(target), "/v1/benchmarks/%s", node_ids[node]);
	return mn_do_signed(s->port, s->key[node], node_ids[node], "POST", target, body, r);
}

/* o.k1.k2 as a string ("" if absent) */
static void json_str(const char *body, const char *k1, const char *k2, char *out, size_t cap)
{
	struct json_object *o = json_tokener_parse(body ? body : ""), *v = NULL;

	out[0] = '\0';
	if (o && json_object_object_get_ex(o, k1, &v) && k2 && !json_object_object_get_ex(v, k2, &v))
		v = NULL;
	if (v)
		snprintf(out, cap, "%s", json_object_get_string(v));
	json_object_put(o);
}

TEST(peers_see_only_verdicts)
{
	struct json_object *o = NULL, *peers, *p, *v;
	struct mn_response r;
	bool seen = false;
	struct srv s;
	size_t i;

	ASSERT_EQ(0, srv_start(&s, false, NULL));
	ASSERT_EQ(0, submit(&s, 0, 0.91, &r));
	EXPECT_EQ(200, r.status);
	mn_response_free(&r);
	ASSERT_EQ(0, submit(&s, 1, 0.38, &r));
	EXPECT_EQ(200, r.status);
	mn_response_free(&r);
	ASSERT_EQ(0, signed_get(&s, s.key[0], "flooder", "/v1/config/flooder", time(NULL), NULL,
				&r));
	ASSERT_EQ(200, r.status) TH_LOG("%s", r.body);
	/* v1: the DENIED peer's entry carried "reason":"score 0.38 < threshold 0.70" */
	EXPECT_EQ(NULL, strstr(r.body, "0.38")) TH_LOG("%s", r.body);
	o = json_tokener_parse(r.body);
	ASSERT_TRUE(o && json_object_object_get_ex(o, "peers", &peers));
	for (i = 0; i < json_object_array_length(peers); i++) {
		p = json_object_array_get_idx(peers, i);
		if (!json_object_object_get_ex(p, "node_id", &v) ||
		    strcmp(json_object_get_string(v), "victim"))
			continue;
		seen = true;
		EXPECT_TRUE(json_object_object_get_ex(p, "membership", &v) &&
			    !strcmp(json_object_get_string(v), "DENIED"));
		EXPECT_FALSE(json_object_object_get_ex(p, "reason", NULL));
		EXPECT_FALSE(json_object_object_get_ex(p, "scores", NULL));
	}
	EXPECT_TRUE(seen);
	json_object_put(o);
	mn_response_free(&r);
	srv_stop(&s);
}

TEST(deferred_admission_reply_says_so)
{
	const char *extra[] = { "--deny-rotate-interval", "60", NULL };
	char member[32], pending[32], reason[128];
	struct mn_response r;
	struct srv s;

	ASSERT_EQ(0, srv_start(&s, false, extra));
	/* the first admission starts an epoch at once ... */
	ASSERT_EQ(0, submit(&s, 0, 0.91, &r));
	EXPECT_EQ(200, r.status);
	json_str(r.body, "membership", NULL, member, sizeof(member));
	EXPECT_STREQ("ALLOWED", member) TH_LOG("%s", r.body);
	mn_response_free(&r);
	/* ... the next one within DENY_ROTATE_INTERVAL waits for the next epoch */
	ASSERT_EQ(0, submit(&s, 1, 0.91, &r));
	EXPECT_EQ(200, r.status);
	json_str(r.body, "membership", NULL, member, sizeof(member));
	json_str(r.body, "pending", "membership", pending, sizeof(pending));
	json_str(r.body, "pending", "reason", reason, sizeof(reason));
	TH_LOG("deferred reply: %s", r.body);
	EXPECT_STREQ("DENIED", member);		/* what is in force */
	EXPECT_STREQ("ALLOWED", pending);	/* v1: no word of it */
	EXPECT_NE(NULL, strstr(reason, "0.91"));
	mn_response_free(&r);
	srv_stop(&s);
}

/* ---- enrolment ---- */

static int enrol(struct srv *s, const char *id, uint8_t wg_fill, const char *signing_b64,
		 const char *ips, char *code, size_t cap)
{
	char body[1024], wg_b64[48], sk_b64[48];
	struct mn_response r;
	uint8_t wg[32], seed[32], pub[32];
	int status;

	memset(wg, wg_fill, sizeof(wg));
	meshnet_b64_encode(wg_b64, wg, 32);
	if (!signing_b64) {
		meshnet_ed25519_generate(seed, pub);
		meshnet_b64_encode(sk_b64, pub, 32);
		signing_b64 = sk_b64;
	}
	snprintf(body, sizeof(body), "{\"node_id\":\"%s\",\"public_key\":\"%s\","
		 "\"signing_key\":\"%s\",\"allowed_ips\":%s}", id, wg_b64, signing_b64, ips);
	if (mn_do(s->port, "POST", "/v1/nodes", "Authorization: Bearer " TOKEN "\r\n", body, &r))
		return -1;
	status = r.status;
	error_code(r.body, code, cap);
	mn_response_free(&r);
	return status;
}

TEST(enrolment_refuses_stolen_keys_and_overlapping_prefixes)
{
	struct srv s;
	char code[64];

	ASSERT_EQ(0, srv_start(&s, false, NULL));
	/* v1 enrolled it: then "thief" signs as itself with victim's key ... */
	EXPECT_EQ(409, enrol(&s, "thief", 0x77, s.signing_b64[1], "[\"10.99.0.1/32\"]", code,
			     sizeof(code)));
	EXPECT_STREQ("duplicate_signing_key", code);
	/* ... or takes victim's addresses (10.20.0.2/32) */
	EXPECT_EQ(409, enrol(&s, "thief", 0x77, NULL, "[\"10.20.0.2/32\"]", code, sizeof(code)));
	EXPECT_STREQ("overlapping_prefix", code);
	EXPECT_EQ(409, enrol(&s, "thief", 0x77, NULL, "[\"10.99.0.9/32\",\"10.20.0.0/24\"]", code,
			     sizeof(code)));
	EXPECT_STREQ("overlapping_prefix", code);
	EXPECT_EQ(409, enrol(&s, "thief", 0x77, NULL, "[\"0.0.0.0/0\"]", code, sizeof(code)));
	EXPECT_STREQ("overlapping_prefix", code);
	/* IPv4 space and IPv6 space do not meet */
	EXPECT_EQ(201, enrol(&s, "net-a", 0x78, NULL, "[\"10.30.0.0/16\",\"fd30::/64\"]", code,
			     sizeof(code)));
	/* inside another node's /16, or around its /64 */
	EXPECT_EQ(409, enrol(&s, "net-b", 0x79, NULL, "[\"10.30.5.5/32\"]", code, sizeof(code)));
	EXPECT_STREQ("overlapping_prefix", code);
	EXPECT_EQ(409, enrol(&s, "net-b", 0x79, NULL, "[\"fd30::/48\"]", code, sizeof(code)));
	EXPECT_EQ(400, enrol(&s, "net-b", 0x79, NULL, "[\"10.40.0.0/24\",\"10.40.0.7/32\"]", code,
			     sizeof(code)));
	/* the neighbours are fine */
	EXPECT_EQ(201, enrol(&s, "net-b", 0x79, NULL, "[\"10.31.0.0/16\",\"fd30:0:0:1::/64\"]",
			     code, sizeof(code)));
	srv_stop(&s);
}

/* Spawns meshnetd on a nodes file; its exit status (or -1 if still running after 6 s). */
static int run_import(struct srv *s, const char *nodes_text, char *journal, size_t cap)
{
	FILE *f = fopen(s->nodes, "w");
	int status, i;
	pid_t pid;

	if (!f || fputs(nodes_text, f) < 0 || fclose(f))
		return -2;
	pid = srv_restart(s);
	for (i = 0; i < 120; i++) {
		if (waitpid(pid, &status, WNOHANG) == pid)
			break;
		usleep(50000);
	}
	if (i == 120) {
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
		return -1;
	}
	snprintf(journal, cap, "%s/journal.jsonl", s->state);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

/* Three new nodes n1..n3; n3 has signing key sk3 and allowed_ips ips3. */
static void three_nodes(char *out, size_t cap, char k[3][48], const char *sk3, const char *ips3)
{
	static const char *const ips[2] = { "[\"10.50.0.1/32\"]", "[\"10.50.0.2/32\"]" };
	char wg_b64[48];
	uint8_t wg[32];
	size_t off = 0;
	int i;

	off += (size_t)snprintf(out + off, cap - off, "[");
	for (i = 0; i < 3; i++) {
		memset(wg, 0x61 + i, 32);
		meshnet_b64_encode(wg_b64, wg, 32);
		off += (size_t)snprintf(out + off, cap - off,
					"%s{\"node_id\":\"n%d\",\"public_key\":\"%s\","
					"\"signing_key\":\"%s\",\"allowed_ips\":%s}", i ? "," : "",
					i + 1, wg_b64, i < 2 ? k[i] : sk3, i < 2 ? ips[i] : ips3);
	}
	snprintf(out + off, cap - off, "]");
}

static int journal_mentions(const char *journal, const char *a, const char *b)
{
	char line[4096];
	int hits = 0;
	FILE *f = fopen(journal, "r");

	while (f && fgets(line, sizeof(line), f))
		hits += strstr(line, a) || strstr(line, b);
	if (f)
		fclose(f);
	return hits;
}

TEST(nodes_file_import_all_or_nothing)
{
	char nodes[4096], journal[PATH_MAX + 32], k[3][48];
	uint8_t seed[32], pub[32];
	struct srv s;
	int i;

	ASSERT_EQ(0, srv_start(&s, false, NULL));
	kill(s.pid, SIGTERM);
	waitpid(s.pid, NULL, 0);
	s.pid = 0;
	for (i = 0; i < 3; i++) {
		meshnet_ed25519_generate(seed, pub);
		meshnet_b64_encode(k[i], pub, 32);
	}
	/* the third has the first one's signing key */
	three_nodes(nodes, sizeof(nodes), k, k[0], "[\"10.50.0.3/32\"]");
	EXPECT_NE(0, run_import(&s, nodes, journal, sizeof(journal)))
		TH_LOG("a NODES_FILE with a duplicate signing key must be refused");
	/* v1 had enrolled n1 and n2 before it met n3 */
	EXPECT_EQ(0, journal_mentions(journal, "\"n1\"", "\"n2\""))
		TH_LOG("nothing of a refused file may be enrolled");
	/* the third's prefix covers the first two's */
	three_nodes(nodes, sizeof(nodes), k, k[2], "[\"10.50.0.0/30\"]");
	EXPECT_NE(0, run_import(&s, nodes, journal, sizeof(journal)));
	EXPECT_EQ(0, journal_mentions(journal, "\"n1\"", "\"n2\""));
	/* the same file without the clash is imported whole */
	three_nodes(nodes, sizeof(nodes), k, k[2], "[\"10.50.0.3/32\"]");
	EXPECT_EQ(-1, run_import(&s, nodes, journal, sizeof(journal)))
		TH_LOG("a good NODES_FILE: meshnetd keeps running");
	EXPECT_EQ(2, journal_mentions(journal, "\"n1\"", "\"n2\""));
	srv_stop(&s);
}

TEST_HARNESS_MAIN
