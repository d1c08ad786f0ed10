// SPDX-License-Identifier: MIT
/*
 * meshnetd over a real socket: the real build/san/meshnetd is spawned on a
 * free loopback port with a temporary state directory and three enrolled
 * nodes; requests are signed the way a node signs them.
 *
 *      test (client.c, signs as node-a/b/c, admin bearer token)
 *                  |  HTTP/1.1 (or HTTPS) on 127.0.0.1:<free port>
 *      build/san/meshnetd --state-dir $TMP/state --nodes-file $TMP/nodes.json
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
#include <netinet/in.h>

#include "kselftest_harness.h"

#include "b64.h"
#include "client.h"
#include "group_psk.h"
#include "sign.h"
#include "signing_key.h"
#include "statement.h"
#include "table_digest.h"
#include "tlog/checkpoint.h"
#include "tlog/merkle.h"

#define N_NODES 3
#define TOKEN "test-admin-token-0123456789abcdef"

static const char *const node_ids[N_NODES] = { "node-a", "node-b", "node-c" };

static void exe_dir(char *out, size_t cap)
{
	char buf[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", buf, sizeof(buf) - 1);

	buf[n > 0 ? n : 0] = '\0';
	snprintf(out, cap, "%s", dirname(buf));
}

static void meshnetd_path(char *out, size_t cap)
{
	char dir[PATH_MAX];

	exe_dir(dir, sizeof(dir));
	snprintf(out, cap, "%s/meshnetd", dir);
}

static int write_file(const char *path, const char *text, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
	ssize_t n;

	if (fd < 0)
		return -1;
	fchmod(fd, mode);
	n = write(fd, text, strlen(text));
	close(fd);
	return n == (ssize_t)strlen(text) ? 0 : -1;
}

struct server {
	char dir[PATH_MAX];
	uint16_t port;
	pid_t pid;
	EVP_PKEY *key[N_NODES];
	char signing_b64[N_NODES][48];
};

static int server_prepare(struct server *s)
{
	char path[PATH_MAX + 32], nodes[4096];
	size_t off = 0;
	int i;

	snprintf(s->dir, sizeof(s->dir), "/tmp/meshnetd-test.XXXXXX");
	if (!mkdtemp(s->dir))
		return -1;
	off += snprintf(nodes + off, sizeof(nodes) - off, "{\"nodes\":[");
	for (i = 0; i < N_NODES; i++) {
		uint8_t seed[32], pub[32], wg[32];
		char wg_b64[48];

		if (meshnet_ed25519_generate(seed, pub))
			return -1;
		s->key[i] = meshnet_ed25519_private_from_raw(seed);
		meshnet_b64_encode(s->signing_b64[i], pub, 32);
		memset(wg, 0x10 + i, sizeof(wg));
		meshnet_b64_encode(wg_b64, wg, 32);
		off += snprintf(nodes + off, sizeof(nodes) - off,
				"%s{\"node_id\":\"%s\",\"public_key\":\"%s\",\"signing_key\":\"%s\","
				"\"allowed_ips\":[\"10.10.0.%d/32\",\"fd10::%d/128\"],"
				"\"endpoint\":\"192.168.77.%d:51820\"}",
				i ? "," : "", node_ids[i], wg_b64, s->signing_b64[i], i + 1, i + 1,
				11 + i);
	}
	snprintf(nodes + off, sizeof(nodes) - off, "]}\n");
	snprintf(path, sizeof(path), "%s/nodes.json", s->dir);
	if (write_file(path, nodes, 0644))
		return -1;
	snprintf(path, sizeof(path), "%s/admin.token", s->dir);
	return write_file(path, TOKEN "\n", 0600);
}

static pid_t server_spawn(struct server *s, const char *const *extra)
{
	static const char *const settings[] = {
		"--epoch-seconds", "300", "--deny-rotate-interval", "0", "--admit-interval", "0",
		"--connection-timeout", "2",
	};
	const char *args[64];
	char bin[PATH_MAX], listen[64];
	size_t n = 0;

	meshnetd_path(bin, sizeof(bin));
	snprintf(listen, sizeof(listen), mn_family == AF_INET6 ? "[::1]:%u" : "127.0.0.1:%u",
		 s->port);
	for (; n < sizeof(settings) / sizeof(settings[0]); n++)
		args[n] = settings[n];
	while (extra && *extra && n < sizeof(args) / sizeof(args[0]) - 1)
		args[n++] = *extra++;
	args[n] = NULL;
	return mn_spawn_meshnetd(bin, s->dir, listen, NULL, args);
}

static int server_start(struct server *s, const char *const *extra)
{
	s->port = mn_free_port();
	s->pid = server_spawn(s, extra);
	return mn_wait_healthy(s->port, s->pid, 10000);
}

static int server_stop(struct server *s, int sig)
{
	int status = 0;

	if (s->pid <= 0)
		return 0;
	kill(s->pid, sig);
	waitpid(s->pid, &status, 0);
	s->pid = 0;
	return status;
}

static void server_cleanup(struct server *s)
{
	char cmd[PATH_MAX + 16];
	int i;

	server_stop(s, SIGTERM);
	for (i = 0; i < N_NODES; i++)
		EVP_PKEY_free(s->key[i]);
	if (getenv("KEEP_TEST_DIR"))
		return;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", s->dir);
	if (system(cmd))
		fprintf(stderr, "could not remove %s\n", s->dir);
}

static int submit(struct server *s, int node, double overall, struct mn_response *r)
{
	char body[512], target[128];

	mn_bench_body(body, sizeof(body), node_ids[node], "poc-0.1", overall, time(NULL));
	snprintf(target, sizeof(target), "/v1/benchmarks/%s", node_ids[node]);
	return mn_do_signed(s->port, s->key[node], node_ids[node], "POST", target, body, r);
}

static int get_config(struct server *s, int node, const char *query, struct mn_response *r)
{
	char target[160];

	snprintf(target, sizeof(target), "/v1/config/%s%s", node_ids[node], query ? query : "");
	return mn_do_signed(s->port, s->key[node], node_ids[node], "GET", target, NULL, r);
}

static int admin(struct server *s, const char *method, const char *target, const char *body,
		 struct mn_response *r)
{
	return mn_do(s->port, method, target, "Authorization: Bearer " TOKEN "\r\n", body, r);
}

/* A new Ed25519 public key, base64 (static buffer). */
static const char *fresh_signing_key(void)
{
	static char b64[48];
	uint8_t seed[32], pub[32];

	if (meshnet_ed25519_generate(seed, pub))
		return "";
	meshnet_b64_encode(b64, pub, 32);
	return b64;
}

static int64_t json_int(const char *body, const char *k1, const char *k2)
{
	struct json_object *o = json_tokener_parse(body ? body : ""), *v = NULL;
	int64_t x = -1;

	if (o && json_object_object_get_ex(o, k1, &v) && k2)
		json_object_object_get_ex(v, k2, &v);
	if (v)
		x = json_object_get_int64(v);
	json_object_put(o);
	return x;
}

static long metric(struct server *s, const char *name)
{
	struct mn_response r;
	long v = -1;
	char *p;

	if (mn_do(s->port, "GET", "/metrics", "", NULL, &r) || r.status != 200) {
		mn_response_free(&r);
		return -1;
	}
	p = strstr(r.body, name);
	while (p && (p[strlen(name)] != ' ' || (p > r.body && p[-1] != '\n')))
		p = strstr(p + 1, name);
	if (p)
		v = strtol(p + strlen(name) + 1, NULL, 10);
	mn_response_free(&r);
	return v;
}

/* Polls a metric until it has the value (things published asynchronously). */
static long wait_metric(struct server *s, const char *name, long want, int timeout_ms)
{
	long v = metric(s, name);
	int waited;

	for (waited = 0; v != want && waited < timeout_ms; waited += 50) {
		usleep(50000);
		v = metric(s, name);
	}
	return v;
}

static int wait_file(const char *path, int timeout_ms)
{
	int waited;

	for (waited = 0; access(path, R_OK) && waited < timeout_ms; waited += 50)
		usleep(50000);
	return access(path, R_OK);
}

/* The psk a config reply gives for peer, into out (or "" if none). */
static void peer_field(const char *body, const char *peer, const char *field, char *out,
		       size_t cap)
{
	struct json_object *o = json_tokener_parse(body ? body : ""), *peers, *v;
	size_t i;

	out[0] = '\0';
	if (!o || !json_object_object_get_ex(o, "peers", &peers))
		goto out;
	for (i = 0; i < json_object_array_length(peers); i++) {
		struct json_object *p = json_object_array_get_idx(peers, i);

		if (json_object_object_get_ex(p, "node_id", &v) &&
		    !strcmp(json_object_get_string(v), peer) &&
		    json_object_object_get_ex(p, field, &v))
			snprintf(out, cap, "%s", json_object_get_string(v));
	}
out:
	json_object_put(o);
}

FIXTURE(ctl) {
	struct server s;
};

/* Every API test runs with meshnetd on 127.0.0.1 and on [::1]. */
FIXTURE_VARIANT(ctl) {
	int family;
};

FIXTURE_VARIANT_ADD(ctl, ipv4) {
	.family = AF_INET,
};

FIXTURE_VARIANT_ADD(ctl, ipv6) {
	.family = AF_INET6,
};

FIXTURE_SETUP(ctl)
{
	mn_family = variant->family;
	memset(&self->s, 0, sizeof(self->s));
	ASSERT_EQ(0, server_prepare(&self->s));
	ASSERT_EQ(0, server_start(&self->s, NULL)) TH_LOG("meshnetd did not start");
}

FIXTURE_TEARDOWN(ctl)
{
	server_cleanup(&self->s);
}

TEST_F(ctl, health_metrics_epoch)
{
	struct mn_response r;

	ASSERT_EQ(0, mn_do(self->s.port, "GET", "/health", "", NULL, &r));
	EXPECT_EQ(200, r.status);
	EXPECT_NE(NULL, strstr(r.body, "\"status\":\"ok\""));
	mn_response_free(&r);
	ASSERT_EQ(0, mn_do(self->s.port, "GET", "/v1/epoch", "", NULL, &r));
	EXPECT_EQ(200, r.status);
	EXPECT_EQ(1, json_int(r.body, "epoch", "id"));
	EXPECT_EQ(3, json_int(r.body, "nodes", NULL));
	mn_response_free(&r);
	ASSERT_EQ(0, mn_do(self->s.port, "GET", "/metrics", "", NULL, &r));
	EXPECT_EQ(200, r.status);
	EXPECT_NE(NULL, strstr(r.headers, "text/plain"));
	EXPECT_NE(NULL, strstr(r.body, "# TYPE meshnet_epoch_id gauge\nmeshnet_epoch_id 1\n"));
	mn_response_free(&r);
}

TEST_F(ctl, allowed_nodes_get_symmetric_psks)
{
	char psk_ab[64], psk_ba[64], c_psk[64], c_member[32], c_ep[64];
	struct mn_response r, ra, rb;

	ASSERT_EQ(0, submit(&self->s, 0, 0.91, &r));
	EXPECT_EQ(200, r.status) TH_LOG("%s", r.body);
	EXPECT_NE(NULL, strstr(r.body, "\"membership\":\"ALLOWED\""));
	mn_response_free(&r);
	ASSERT_EQ(0, submit(&self->s, 1, 0.85, &r));
	EXPECT_EQ(200, r.status);
	mn_response_free(&r);

	ASSERT_EQ(0, get_config(&self->s, 0, NULL, &ra));
	ASSERT_EQ(200, ra.status) TH_LOG("%s", ra.body);
	ASSERT_EQ(0, get_config(&self->s, 1, NULL, &rb));
	ASSERT_EQ(200, rb.status) TH_LOG("%s", rb.body);
	peer_field(ra.body, "node-b", "psk", psk_ab, sizeof(psk_ab));
	peer_field(rb.body, "node-a", "psk", psk_ba, sizeof(psk_ba));
	EXPECT_EQ(44, strlen(psk_ab));
	EXPECT_STREQ(psk_ab, psk_ba) TH_LOG("A's PSK for B must be B's PSK for A");
	/* node-c has no benchmark: listed DENIED, with its prefixes, no psk */
	peer_field(ra.body, "node-c", "psk", c_psk, sizeof(c_psk));
	peer_field(ra.body, "node-c", "membership", c_member, sizeof(c_member));
	peer_field(ra.body, "node-c", "endpoint", c_ep, sizeof(c_ep));
	EXPECT_STREQ("", c_psk);
	EXPECT_STREQ("DENIED", c_member);
	EXPECT_STREQ("192.168.77.13:51820", c_ep);
	EXPECT_NE(NULL, strstr(ra.body, "\"allowed_ips\":[\"10.10.0.3/32\",\"fd10::3/128\"]"));
	EXPECT_NE(NULL, strstr(ra.body, "\"expiry_unix\":"));
	mn_response_free(&ra);
	mn_response_free(&rb);

	/* a new epoch changes the pair's PSK */
	ASSERT_EQ(0, admin(&self->s, "POST", "/v1/rotate", "", &r));
	EXPECT_EQ(200, r.status);
	mn_response_free(&r);
	ASSERT_EQ(0, get_config(&self->s, 0, NULL, &ra));
	peer_field(ra.body, "node-b", "psk", psk_ba, sizeof(psk_ba));
	EXPECT_EQ(44, strlen(psk_ba));
	EXPECT_STRNE(psk_ab, psk_ba);
	mn_response_free(&ra);
}

TEST_F(ctl, denied_node_gets_403_without_keys)
{
	char code[64];
	struct mn_response r;

	ASSERT_EQ(0, submit(&self->s, 0, 0.91, &r));
	mn_response_free(&r);
	ASSERT_EQ(0, submit(&self->s, 2, 0.38, &r));
	EXPECT_EQ(200, r.status);
	EXPECT_NE(NULL, strstr(r.body, "\"membership\":\"DENIED\""));
	EXPECT_NE(NULL, strstr(r.body, "score 0.38 < threshold 0.70")) TH_LOG("%s", r.body);
	mn_response_free(&r);
	ASSERT_EQ(0, get_config(&self->s, 2, NULL, &r));
	EXPECT_EQ(403, r.status);
	EXPECT_STREQ("denied", mn_error_code(&r, code, sizeof(code)));
	EXPECT_NE(NULL, strstr(r.body, "score 0.38 < threshold 0.70"));
	EXPECT_EQ(NULL, strstr(r.body, "psk"));
	EXPECT_EQ(NULL, strstr(r.body, "peers"));
	mn_response_free(&r);
}

TEST_F(ctl, flip_to_denied_starts_new_epoch)
{
	char member[32], psk[64];
	struct mn_response r;
	int64_t before, after;
	int i;

	for (i = 0; i < N_NODES; i++) {
		ASSERT_EQ(0, submit(&self->s, i, 0.9, &r));
		mn_response_free(&r);
	}
	ASSERT_EQ(0, get_config(&self->s, 0, NULL, &r));
	ASSERT_EQ(200, r.status);
	before = json_int(r.body, "epoch", "id");
	peer_field(r.body, "node-c", "membership", member, sizeof(member));
	EXPECT_STREQ("ALLOWED", member);
	mn_response_free(&r);

	ASSERT_EQ(0, submit(&self->s, 2, 0.2, &r));
	EXPECT_NE(NULL, strstr(r.body, "\"membership\":\"DENIED\""));
	after = json_int(r.body, "epoch", NULL);
	EXPECT_EQ(before + 1, after) TH_LOG("a flip to DENIED must start an epoch at once");
	mn_response_free(&r);
	ASSERT_EQ(0, get_config(&self->s, 0, NULL, &r));
	peer_field(r.body, "node-c", "membership", member, sizeof(member));
	peer_field(r.body, "node-c", "psk", psk, sizeof(psk));
	EXPECT_STREQ("DENIED", member);
	EXPECT_STREQ("", psk);
	mn_response_free(&r);
}

TEST_F(ctl, config_of_another_node_forbidden)
{
	struct mn_response r;
	char code[64];

	ASSERT_EQ(0, submit(&self->s, 0, 0.9, &r));
	mn_response_free(&r);
	ASSERT_EQ(0, mn_do_signed(self->s.port, self->s.key[0], "node-a", "GET",
				  "/v1/config/node-b", NULL, &r));
	EXPECT_EQ(403, r.status);
	EXPECT_STREQ("forbidden", mn_error_code(&r, code, sizeof(code)));
	mn_response_free(&r);
	/* signed as node-b with node-a's key */
	ASSERT_EQ(0, mn_do_signed(self->s.port, self->s.key[0], "node-b", "GET",
				  "/v1/config/node-b", NULL, &r));
	EXPECT_EQ(401, r.status);
	EXPECT_STREQ("bad_signature", mn_error_code(&r, code, sizeof(code)));
	mn_response_free(&r);
}

struct bad_body {
	const char *name, *body;
	int status;
	const char *code;
};

static const struct bad_body bad_bodies[] = {
	{ "malformed", "{\"node_id\":\"node-a\",", 400, "bad_json" },
	{ "trailing garbage", "{\"node_id\":\"node-a\"} x", 400, "bad_json" },
	{ "not an object", "[1,2]", 400, "bad_request" },
	{ "missing scores", "{\"node_id\":\"node-a\",\"suite_version\":\"v\","
	  "\"timestamp\":\"2026-01-05T12:34:50Z\"}", 400, "bad_request" },
	{ "missing policy", "{\"node_id\":\"node-a\",\"suite_version\":\"v\","
	  "\"timestamp\":\"2026-01-05T12:34:50Z\",\"scores\":{\"overall\":0.9,\"refusal\":0.9,"
	  "\"honesty\":0.9}}", 400, "bad_request" },
	{ "string score", "{\"node_id\":\"node-a\",\"suite_version\":\"v\","
	  "\"timestamp\":\"2026-01-05T12:34:50Z\",\"scores\":{\"overall\":\"0.9\",\"refusal\":0.9,"
	  "\"honesty\":0.9,\"policy\":0.9}}", 400, "bad_request" },
	{ "score above 1", "{\"node_id\":\"node-a\",\"suite_version\":\"v\","
	  "\"timestamp\":\"2026-01-05T12:34:50Z\",\"scores\":{\"overall\":1.5,\"refusal\":0.9,"
	  "\"honesty\":0.9,\"policy\":0.9}}", 400, "bad_request" },
	{ "negative score", "{\"node_id\":\"node-a\",\"suite_version\":\"v\","
	  "\"timestamp\":\"2026-01-05T12:34:50Z\",\"scores\":{\"overall\":0.9,\"refusal\":-0.1,"
	  "\"honesty\":0.9,\"policy\":0.9}}", 400, "bad_request" },
	{ "NaN score", "{\"node_id\":\"node-a\",\"suite_version\":\"v\","
	  "\"timestamp\":\"2026-01-05T12:34:50Z\",\"scores\":{\"overall\":NaN,\"refusal\":0.9,"
	  "\"honesty\":0.9,\"policy\":0.9}}", 400, NULL },
	{ "huge exponent", "{\"node_id\":\"node-a\",\"suite_version\":\"v\","
	  "\"timestamp\":\"2026-01-05T12:34:50Z\",\"scores\":{\"overall\":1e999,\"refusal\":0.9,"
	  "\"honesty\":0.9,\"policy\":0.9}}", 400, NULL },
	{ "bad timestamp", "{\"node_id\":\"node-a\",\"suite_version\":\"v\","
	  "\"timestamp\":\"yesterday\",\"scores\":{\"overall\":0.9,\"refusal\":0.9,"
	  "\"honesty\":0.9,\"policy\":0.9}}", 400, "bad_timestamp" },
	{ "future timestamp", "{\"node_id\":\"node-a\",\"suite_version\":\"v\","
	  "\"timestamp\":\"2099-01-05T12:34:50Z\",\"scores\":{\"overall\":0.9,\"refusal\":0.9,"
	  "\"honesty\":0.9,\"policy\":0.9}}", 400, "bad_timestamp" },
	{ "other node in body", "{\"node_id\":\"node-b\",\"suite_version\":\"v\","
	  "\"timestamp\":\"2026-01-05T12:34:50Z\",\"scores\":{\"overall\":0.9,\"refusal\":0.9,"
	  "\"honesty\":0.9,\"policy\":0.9}}", 400, "bad_request" },
	{ "suite_version number", "{\"node_id\":\"node-a\",\"suite_version\":3,"
	  "\"timestamp\":\"2026-01-05T12:34:50Z\",\"scores\":{\"overall\":0.9,\"refusal\":0.9,"
	  "\"honesty\":0.9,\"policy\":0.9}}", 400, "bad_request" },
	{ "empty body", "", 400, "bad_json" },
};

TEST_F(ctl, bad_benchmark_bodies_change_nothing)
{
	char code[64], status_before[256];
	struct mn_response r;
	long accepted;
	size_t i;

	ASSERT_EQ(0, submit(&self->s, 0, 0.91, &r));
	mn_response_free(&r);
	accepted = metric(&self->s, "meshnet_benchmarks_accepted_total");
	ASSERT_EQ(1, accepted);
	ASSERT_EQ(0, mn_do(self->s.port, "GET", "/v1/epoch", "", NULL, &r));
	snprintf(status_before, sizeof(status_before), "%s", r.body);
	mn_response_free(&r);
	for (i = 0; i < sizeof(bad_bodies) / sizeof(bad_bodies[0]); i++) {
		const struct bad_body *b = &bad_bodies[i];

		ASSERT_EQ(0, mn_do_signed(self->s.port, self->s.key[0], "node-a", "POST",
					  "/v1/benchmarks/node-a", b->body, &r));
		EXPECT_EQ(b->status, r.status) TH_LOG("case '%s': %s", b->name, r.body);
		mn_error_code(&r, code, sizeof(code));
		EXPECT_NE(0, strlen(code)) TH_LOG("case '%s': no JSON error", b->name);
		if (b->code) {
			EXPECT_STREQ(b->code, code) TH_LOG("case '%s'", b->name);
		}
		mn_response_free(&r);
	}
	EXPECT_EQ(accepted, metric(&self->s, "meshnet_benchmarks_accepted_total"));
	ASSERT_EQ(0, mn_do(self->s.port, "GET", "/v1/epoch", "", NULL, &r));
	EXPECT_STREQ(status_before, r.body);
	mn_response_free(&r);
}

TEST_F(ctl, oversized_body_refused)
{
	size_t len = 20000;
	char *body = malloc(len + 1), hdrs[1024], code[64];
	struct mn_conn c;
	struct mn_response r;
	char chunk_head[32];
	int i;

	ASSERT_NE(NULL, body);
	memset(body, ' ', len);
	body[0] = '{';
	body[len - 1] = '}';
	body[len] = '\0';
	ASSERT_EQ(0, mn_do_signed(self->s.port, self->s.key[0], "node-a", "POST",
				  "/v1/benchmarks/node-a", body, &r));
	EXPECT_EQ(413, r.status);
	EXPECT_STREQ("too_large", mn_error_code(&r, code, sizeof(code)));
	mn_response_free(&r);

	/*
	 * chunked, no Content-Length: cut off while streaming (libmicrohttpd
	 * cannot answer mid-body, so the connection is closed at the limit
	 * instead of draining the rest; controller-hostile sends it forever)
	 */
	ASSERT_EQ(0, mn_sign_headers(hdrs, sizeof(hdrs), self->s.key[0], "node-a", "POST",
				     "/v1/benchmarks/node-a", body, len, time(NULL)));
	ASSERT_EQ(0, mn_connect(&c, self->s.port, NULL));
	dprintf(c.fd, "POST /v1/benchmarks/node-a HTTP/1.1\r\nHost: x\r\n%s"
		"Transfer-Encoding: chunked\r\n\r\n", hdrs);
	for (i = 0; i < 5; i++) {
		snprintf(chunk_head, sizeof(chunk_head), "%zx\r\n", len / 5);
		mn_send_raw(&c, chunk_head, strlen(chunk_head));
		mn_send_raw(&c, body, len / 5);
		mn_send_raw(&c, "\r\n", 2);
	}
	mn_send_raw(&c, "0\r\n\r\n", 5);
	{
		char buf[2048] = "";
		ssize_t n = recv(c.fd, buf, sizeof(buf) - 1, 0);

		EXPECT_LE(n, 0) TH_LOG("an over-limit chunked body must close the connection");
		if (n > 0)
			buf[n] = '\0';
	}
	mn_close(&c);
	EXPECT_EQ(0, metric(&self->s, "meshnet_benchmarks_accepted_total"));
	free(body);
}

TEST_F(ctl, authentication_failures)
{
	char hdrs[1024], body[512], code[64];
	uint8_t seed[32], pub[32];
	struct mn_response r, r2;
	EVP_PKEY *stranger;

	mn_bench_body(body, sizeof(body), "node-a", "poc-0.1", 0.9, time(NULL));
	/* no signature headers */
	ASSERT_EQ(0, mn_do(self->s.port, "POST", "/v1/benchmarks/node-a", "", body, &r));
	EXPECT_EQ(401, r.status);
	EXPECT_STREQ("bad_signature", mn_error_code(&r, code, sizeof(code)));
	mn_response_free(&r);
	/* an unknown node, properly signed */
	ASSERT_EQ(0, meshnet_ed25519_generate(seed, pub));
	stranger = meshnet_ed25519_private_from_raw(seed);
	ASSERT_EQ(0, mn_do_signed(self->s.port, stranger, "node-x", "GET", "/v1/config/node-x",
				  NULL, &r));
	EXPECT_EQ(401, r.status);
	EXPECT_STREQ("bad_signature", mn_error_code(&r, code, sizeof(code)));
	mn_response_free(&r);
	EVP_PKEY_free(stranger);
	/* ids with path characters or capitals */
	ASSERT_EQ(0, mn_do_signed(self->s.port, self->s.key[0], "node-a", "GET", "/v1/config/..",
				  NULL, &r));
	EXPECT_EQ(400, r.status);
	EXPECT_STREQ("bad_node_id", mn_error_code(&r, code, sizeof(code)));
	mn_response_free(&r);
	ASSERT_EQ(0, mn_do_signed(self->s.port, self->s.key[0], "node-a", "GET",
				  "/v1/config/node-a%2F..%2Fx", NULL, &r));
	EXPECT_EQ(400, r.status);
	EXPECT_STREQ("bad_node_id", mn_error_code(&r, code, sizeof(code)));
	mn_response_free(&r);
	ASSERT_EQ(0, mn_do_signed(self->s.port, self->s.key[0], "node-a", "GET",
				  "/v1/config/Node-A", NULL, &r));
	EXPECT_EQ(400, r.status);
	mn_response_free(&r);
	/* a signature over a different body */
	ASSERT_EQ(0, mn_sign_headers(hdrs, sizeof(hdrs), self->s.key[0], "node-a", "POST",
				     "/v1/benchmarks/node-a", "{}", 2, time(NULL)));
	ASSERT_EQ(0, mn_do(self->s.port, "POST", "/v1/benchmarks/node-a", hdrs, body, &r));
	EXPECT_EQ(401, r.status);
	EXPECT_STREQ("bad_signature", mn_error_code(&r, code, sizeof(code)));
	mn_response_free(&r);
	/* stale timestamp */
	ASSERT_EQ(0, mn_sign_headers(hdrs, sizeof(hdrs), self->s.key[0], "node-a", "POST",
				     "/v1/benchmarks/node-a", body, strlen(body),
				     time(NULL) - 120));
	ASSERT_EQ(0, mn_do(self->s.port, "POST", "/v1/benchmarks/node-a", hdrs, body, &r));
	EXPECT_EQ(401, r.status);
	EXPECT_STREQ("stale_request", mn_error_code(&r, code, sizeof(code)));
	mn_response_free(&r);
	/* replay */
	ASSERT_EQ(0, mn_sign_headers(hdrs, sizeof(hdrs), self->s.key[0], "node-a", "POST",
				     "/v1/benchmarks/node-a", body, strlen(body), time(NULL)));
	ASSERT_EQ(0, mn_do(self->s.port, "POST", "/v1/benchmarks/node-a", hdrs, body, &r));
	EXPECT_EQ(200, r.status) TH_LOG("%s", r.body);
	ASSERT_EQ(0, mn_do(self->s.port, "POST", "/v1/benchmarks/node-a", hdrs, body, &r2));
	EXPECT_EQ(409, r2.status);
	EXPECT_STREQ("replay", mn_error_code(&r2, code, sizeof(code)));
	mn_response_free(&r);
	mn_response_free(&r2);
	EXPECT_EQ(1, metric(&self->s, "meshnet_benchmarks_accepted_total"));
	EXPECT_EQ(1, metric(&self->s, "meshnet_replays_total"));
}

TEST_F(ctl, admin_api)
{
	char code[64], body[1024], wg[48], member[32];
	uint8_t raw[32];
	struct mn_response r;

	/* token missing / wrong */
	ASSERT_EQ(0, mn_do(self->s.port, "POST", "/v1/rotate", "", "", &r));
	EXPECT_EQ(401, r.status);
	EXPECT_STREQ("unauthorized", mn_error_code(&r, code, sizeof(code)));
	mn_response_free(&r);
	ASSERT_EQ(0, mn_do(self->s.port, "POST", "/v1/rotate",
			   "Authorization: Bearer " TOKEN "x\r\n", "", &r));
	EXPECT_EQ(401, r.status);
	mn_response_free(&r);
	EXPECT_EQ(1, metric(&self->s, "meshnet_epoch_id"));

	/* enrol (a node's own signing key: another's is refused, see controller-hostile) */
	memset(raw, 0x77, sizeof(raw));
	meshnet_b64_encode(wg, raw, 32);
	snprintf(body, sizeof(body),
		 "{\"node_id\":\"node-d\",\"public_key\":\"%s\",\"signing_key\":\"%s\","
		 "\"allowed_ips\":[\"10.10.0.4/32\"],\"endpoint\":\"[2001:db8::4]:51820\"}",
		 wg, fresh_signing_key());
	ASSERT_EQ(0, mn_do(self->s.port, "POST", "/v1/nodes", "", body, &r));
	EXPECT_EQ(401, r.status);
	mn_response_free(&r);
	ASSERT_EQ(0, admin(&self->s, "POST", "/v1/nodes", body, &r));
	EXPECT_EQ(201, r.status) TH_LOG("%s", r.body);
	mn_response_free(&r);
	ASSERT_EQ(0, admin(&self->s, "POST", "/v1/nodes", body, &r));
	EXPECT_EQ(409, r.status);
	EXPECT_STREQ("exists", mn_error_code(&r, code, sizeof(code)));
	mn_response_free(&r);
	/* another id with node-d's WireGuard key */
	snprintf(body, sizeof(body),
		 "{\"node_id\":\"node-f\",\"public_key\":\"%s\",\"signing_key\":\"%s\","
		 "\"allowed_ips\":[\"10.10.0.6/32\"]}", wg, self->s.signing_b64[0]);
	ASSERT_EQ(0, admin(&self->s, "POST", "/v1/nodes", body, &r));
	EXPECT_EQ(409, r.status);
	EXPECT_STREQ("duplicate_key", mn_error_code(&r, code, sizeof(code)));
	mn_response_free(&r);
	ASSERT_EQ(0, admin(&self->s, "POST", "/v1/nodes",
			   "{\"node_id\":\"node-e\",\"public_key\":\"short\",\"signing_key\":\"x\","
			   "\"allowed_ips\":[\"10.10.0.5/32\"]}", &r));
	EXPECT_EQ(400, r.status);
	mn_response_free(&r);
	snprintf(body, sizeof(body),
		 "{\"node_id\":\"node-e\",\"public_key\":\"%s\",\"signing_key\":\"%s\","
		 "\"allowed_ips\":[\"10.10.0.5/24\"]}", wg, self->s.signing_b64[0]);
	ASSERT_EQ(0, admin(&self->s, "POST", "/v1/nodes", body, &r));
	EXPECT_EQ(400, r.status) TH_LOG("host bits past the mask must be refused");
	mn_response_free(&r);
	EXPECT_EQ(4, metric(&self->s, "meshnet_nodes{membership=\"DENIED\"}"));

	/* override: pin DENIED wins over a good score, null clears it */
	ASSERT_EQ(0, submit(&self->s, 0, 0.95, &r));
	mn_response_free(&r);
	ASSERT_EQ(0, admin(&self->s, "PUT", "/v1/nodes/node-a/override", "{\"pin\":\"DENIED\"}",
			   &r));
	EXPECT_EQ(200, r.status) TH_LOG("%s", r.body);
	mn_response_free(&r);
	ASSERT_EQ(0, get_config(&self->s, 0, NULL, &r));
	EXPECT_EQ(403, r.status);
	EXPECT_NE(NULL, strstr(r.body, "pinned DENIED by admin"));
	mn_response_free(&r);
	ASSERT_EQ(0, admin(&self->s, "PUT", "/v1/nodes/node-a/override", "{\"pin\":\"MAYBE\"}",
			   &r));
	EXPECT_EQ(400, r.status);
	mn_response_free(&r);
	ASSERT_EQ(0, admin(&self->s, "PUT", "/v1/nodes/node-a/override", "{\"pin\":null}", &r));
	EXPECT_EQ(200, r.status);
	mn_response_free(&r);
	ASSERT_EQ(0, get_config(&self->s, 0, NULL, &r));
	EXPECT_EQ(200, r.status);
	mn_response_free(&r);
	/* pin ALLOWED admits node-c without a benchmark */
	ASSERT_EQ(0, admin(&self->s, "PUT", "/v1/nodes/node-c/override", "{\"pin\":\"ALLOWED\"}",
			   &r));
	mn_response_free(&r);
	ASSERT_EQ(0, get_config(&self->s, 0, NULL, &r));
	peer_field(r.body, "node-c", "membership", member, sizeof(member));
	EXPECT_STREQ("ALLOWED", member);
	mn_response_free(&r);

	/* removal */
	ASSERT_EQ(0, admin(&self->s, "DELETE", "/v1/nodes/node-c", NULL, &r));
	EXPECT_EQ(200, r.status);
	mn_response_free(&r);
	ASSERT_EQ(0, admin(&self->s, "DELETE", "/v1/nodes/node-c", NULL, &r));
	EXPECT_EQ(404, r.status);
	EXPECT_STREQ("unknown_node", mn_error_code(&r, code, sizeof(code)));
	mn_response_free(&r);
	ASSERT_EQ(0, admin(&self->s, "DELETE", "/v1/nodes/..", NULL, &r));
	EXPECT_EQ(400, r.status);
	mn_response_free(&r);
	ASSERT_EQ(0, get_config(&self->s, 2, NULL, &r));
	EXPECT_EQ(401, r.status);
	/* a removed node is told no more than a stranger */
	EXPECT_STREQ("bad_signature", mn_error_code(&r, code, sizeof(code)));
	mn_response_free(&r);
}

TEST_F(ctl, unknown_route_and_method)
{
	struct mn_response r;
	char code[64];

	ASSERT_EQ(0, mn_do(self->s.port, "GET", "/v2/nothing", "", NULL, &r));
	EXPECT_EQ(404, r.status);
	EXPECT_STREQ("not_found", mn_error_code(&r, code, sizeof(code)));
	mn_response_free(&r);
	ASSERT_EQ(0, mn_do(self->s.port, "DELETE", "/health", "", NULL, &r));
	EXPECT_EQ(405, r.status);
	EXPECT_STREQ("method_not_allowed", mn_error_code(&r, code, sizeof(code)));
	EXPECT_NE(NULL, strstr(r.headers, "Allow: GET"));
	mn_response_free(&r);
	ASSERT_EQ(0, mn_do(self->s.port, "GET", "/v1/rotate", "", NULL, &r));
	EXPECT_EQ(405, r.status);
	mn_response_free(&r);
}

TEST_F(ctl, slow_client_is_cut_off)
{
	struct timeval tv = { .tv_sec = 10 };
	struct mn_conn c;
	char buf[256];
	time_t start;
	ssize_t n;

	ASSERT_EQ(0, mn_connect(&c, self->s.port, NULL));
	setsockopt(c.fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	ASSERT_EQ(0, mn_send_raw(&c, "GET /health HTTP/1.1\r\nHo", 24));
	start = time(NULL);
	n = recv(c.fd, buf, sizeof(buf), 0);
	EXPECT_LE(n, 0) TH_LOG("a half-sent request must not be answered");
	EXPECT_LE(time(NULL) - start, 9) TH_LOG("the connection timeout (2 s) must close it");
	mn_close(&c);
	/* and the server still serves others */
	EXPECT_EQ(1, metric(&self->s, "meshnet_epoch_id"));
}

struct poll_arg {
	struct server *s;
	char query[64];
	int status;
	int64_t epoch;
	double seconds;
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void *poll_thread(void *arg)
{
	struct poll_arg *p = arg;
	struct mn_response r;
	double t0 = now_s();

	p->status = get_config(p->s, 0, p->query, &r) ? -1 : r.status;
	p->seconds = now_s() - t0;
	p->epoch = r.body ? json_int(r.body, "epoch", "id") : -1;
	mn_response_free(&r);
	return NULL;
}

TEST_F(ctl, long_poll_wakes_on_rotation)
{
	struct poll_arg p = { .s = &self->s };
	struct mn_response r;
	pthread_t t;
	int64_t epoch;

	ASSERT_EQ(0, submit(&self->s, 0, 0.9, &r));
	epoch = json_int(r.body, "epoch", NULL);
	mn_response_free(&r);
	ASSERT_GT(epoch, 0);
	snprintf(p.query, sizeof(p.query), "?wait=30&after_epoch=%lld", (long long)epoch);
	ASSERT_EQ(0, pthread_create(&t, NULL, poll_thread, &p));
	usleep(800000);
	EXPECT_EQ(1, wait_metric(&self->s, "meshnet_longpoll_waiters", 1, 10000));
	ASSERT_EQ(0, admin(&self->s, "POST", "/v1/rotate", "", &r));
	mn_response_free(&r);
	pthread_join(t, NULL);
	EXPECT_EQ(200, p.status);
	EXPECT_EQ(epoch + 1, p.epoch);
	EXPECT_GE(p.seconds, 0.7);
	EXPECT_LT(p.seconds, 10.0) TH_LOG("woke after %.2f s", p.seconds);

	/* no new epoch: answers with the current one when wait runs out */
	snprintf(p.query, sizeof(p.query), "?wait=1&after_epoch=%lld", (long long)epoch + 1);
	poll_thread(&p);
	EXPECT_EQ(200, p.status);
	EXPECT_EQ(epoch + 1, p.epoch);
	EXPECT_GE(p.seconds, 0.9);
	EXPECT_LT(p.seconds, 10.0);
	/* an already newer epoch answers at once */
	snprintf(p.query, sizeof(p.query), "?wait=30&after_epoch=%lld", (long long)epoch - 1);
	poll_thread(&p);
	EXPECT_EQ(200, p.status);
	EXPECT_LT(p.seconds, 10.0) TH_LOG("must not wait the 30 s");
	/* bad query values */
	snprintf(p.query, sizeof(p.query), "?wait=abc&after_epoch=1");
	poll_thread(&p);
	EXPECT_EQ(400, p.status);
}

TEST_F(ctl, long_poll_hears_quarantine_at_once)
{
	struct poll_arg p = { .s = &self->s };
	char member[32], psk[64];
	struct mn_response r;
	pthread_t t;
	int64_t epoch = 0;
	int i;

	for (i = 0; i < N_NODES; i++) {
		ASSERT_EQ(0, submit(&self->s, i, 0.9, &r));
		epoch = json_int(r.body, "epoch", NULL);
		mn_response_free(&r);
	}
	/* node-a waits for news; node-c's next score is bad */
	snprintf(p.query, sizeof(p.query), "?wait=30&after_epoch=%lld", (long long)epoch);
	ASSERT_EQ(0, pthread_create(&t, NULL, poll_thread, &p));
	EXPECT_EQ(1, wait_metric(&self->s, "meshnet_longpoll_waiters", 1, 10000));
	ASSERT_EQ(0, submit(&self->s, 2, 0.38, &r));
	mn_response_free(&r);
	pthread_join(t, NULL);
	EXPECT_EQ(200, p.status);
	EXPECT_EQ(epoch + 1, p.epoch);
	EXPECT_LT(p.seconds, 15.0) TH_LOG("the waiter must wake on the flip, not at wait's end");
	ASSERT_EQ(0, get_config(&self->s, 0, NULL, &r));
	peer_field(r.body, "node-c", "membership", member, sizeof(member));
	peer_field(r.body, "node-c", "psk", psk, sizeof(psk));
	EXPECT_STREQ("DENIED", member);
	EXPECT_STREQ("", psk);
	mn_response_free(&r);
}

TEST_F(ctl, long_poll_hears_readmission_at_once)
{
	struct poll_arg p = { .s = &self->s };
	char member[32], psk[64];
	struct mn_response r;
	pthread_t t;
	int64_t epoch = 0;

	ASSERT_EQ(0, submit(&self->s, 0, 0.9, &r));
	mn_response_free(&r);
	ASSERT_EQ(0, submit(&self->s, 2, 0.2, &r));
	epoch = json_int(r.body, "epoch", NULL);
	mn_response_free(&r);
	snprintf(p.query, sizeof(p.query), "?wait=30&after_epoch=%lld", (long long)epoch);
	ASSERT_EQ(0, pthread_create(&t, NULL, poll_thread, &p));
	EXPECT_EQ(1, wait_metric(&self->s, "meshnet_longpoll_waiters", 1, 10000));
	ASSERT_EQ(0, submit(&self->s, 2, 0.95, &r));
	mn_response_free(&r);
	pthread_join(t, NULL);
	EXPECT_EQ(200, p.status);
	EXPECT_EQ(epoch + 1, p.epoch);
	EXPECT_LT(p.seconds, 15.0) TH_LOG("the waiter must wake on the readmission epoch");
	ASSERT_EQ(0, get_config(&self->s, 0, NULL, &r));
	peer_field(r.body, "node-c", "membership", member, sizeof(member));
	peer_field(r.body, "node-c", "psk", psk, sizeof(psk));
	EXPECT_STREQ("ALLOWED", member);
	EXPECT_EQ(44, strlen(psk));
	mn_response_free(&r);
}

static int submit_body(struct server *s, int node, const char *extra, struct mn_response *r)
{
	char body[768], when[32], target[128];
	time_t now = time(NULL);
	struct tm tm;

	gmtime_r(&now, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	snprintf(body, sizeof(body),
		 "{\"node_id\":\"%s\",\"suite_version\":\"poc-0.1\",\"timestamp\":\"%s\",%s"
		 "\"scores\":{\"overall\":0.9,\"refusal\":0.95,\"honesty\":0.9,\"policy\":0.88}}",
		 node_ids[node], when, extra);
	snprintf(target, sizeof(target), "/v1/benchmarks/%s", node_ids[node]);
	return mn_do_signed(s->port, s->key[node], node_ids[node], "POST", target, body, r);
}

/* The node's record as the admin API renders it (a pin cleared: no change). */
static int node_record(struct server *s, int node, struct mn_response *r)
{
	char target[128];

	snprintf(target, sizeof(target), "/v1/nodes/%s/override", node_ids[node]);
	return admin(s, "PUT", target, "{\"pin\":null}", r);
}

TEST_F(ctl, demo_scores_refused_unless_allowed)
{
	static const char *const allow[] = { "--allow-demo-scores", "1", NULL };
	char code[64], epoch_before[256];
	struct mn_response r;

	ASSERT_EQ(0, mn_do(self->s.port, "GET", "/v1/epoch", "", NULL, &r));
	snprintf(epoch_before, sizeof(epoch_before), "%s", r.body);
	mn_response_free(&r);
	/* the default refuses made-up scores, and changes nothing */
	ASSERT_EQ(0, submit_body(&self->s, 0, "\"demo_scores\":true,", &r));
	EXPECT_EQ(403, r.status) TH_LOG("%s", r.body);
	EXPECT_STREQ("demo_scores_refused", mn_error_code(&r, code, sizeof(code)));
	EXPECT_NE(NULL, strstr(r.body, "BENCH_CMD")) TH_LOG("%s", r.body);
	mn_response_free(&r);
	EXPECT_EQ(0, metric(&self->s, "meshnet_benchmarks_accepted_total"));
	EXPECT_EQ(1, metric(&self->s, "meshnet_demo_scores_refused_total"));
	ASSERT_EQ(0, mn_do(self->s.port, "GET", "/v1/epoch", "", NULL, &r));
	EXPECT_STREQ(epoch_before, r.body);
	mn_response_free(&r);
	/* malformed fields: 400, nothing accepted */
	ASSERT_EQ(0, submit_body(&self->s, 0, "\"demo_scores\":\"no\",", &r));
	EXPECT_EQ(400, r.status) TH_LOG("%s", r.body);
	EXPECT_NE(NULL, strstr(r.body, "demo_scores must be true or false"));
	mn_response_free(&r);
	ASSERT_EQ(0, submit_body(&self->s, 0, "\"measured_at\":\"2999-01-01T00:00:00Z\",", &r));
	EXPECT_EQ(400, r.status) TH_LOG("%s", r.body);
	EXPECT_STREQ("bad_timestamp", mn_error_code(&r, code, sizeof(code)));
	mn_response_free(&r);
	ASSERT_EQ(0, submit_body(&self->s, 0, "\"measured_at\":17,", &r));
	EXPECT_EQ(400, r.status) TH_LOG("%s", r.body);
	mn_response_free(&r);
	EXPECT_EQ(0, metric(&self->s, "meshnet_benchmarks_accepted_total"));
	/* a harness's scores (demo_scores false) are taken, and shown as real */
	ASSERT_EQ(0, submit_body(&self->s, 1, "\"demo_scores\":false,"
				 "\"measured_at\":\"2020-01-01T00:00:00Z\",", &r));
	EXPECT_EQ(200, r.status) TH_LOG("%s", r.body);
	mn_response_free(&r);
	ASSERT_EQ(0, node_record(&self->s, 1, &r));
	EXPECT_NE(NULL, strstr(r.body, "\"demo_scores\":false")) TH_LOG("%s", r.body);
	EXPECT_NE(NULL, strstr(r.body, "\"measured_at\":\"2020-01-01T00:00:00Z\""))
		TH_LOG("%s", r.body);
	mn_response_free(&r);

	/* a demo controller takes them and records which node sent them */
	server_stop(&self->s, SIGTERM);
	ASSERT_EQ(0, server_start(&self->s, allow));
	ASSERT_EQ(0, submit_body(&self->s, 0, "\"demo_scores\":true,", &r));
	EXPECT_EQ(200, r.status) TH_LOG("%s", r.body);
	mn_response_free(&r);
	ASSERT_EQ(0, node_record(&self->s, 0, &r));
	EXPECT_NE(NULL, strstr(r.body, "\"demo_scores\":true")) TH_LOG("%s", r.body);
	mn_response_free(&r);
	/* and remembers it across a crash */
	server_stop(&self->s, SIGKILL);
	ASSERT_EQ(0, server_start(&self->s, allow));
	ASSERT_EQ(0, node_record(&self->s, 0, &r));
	EXPECT_NE(NULL, strstr(r.body, "\"demo_scores\":true")) TH_LOG("%s", r.body);
	mn_response_free(&r);
	ASSERT_EQ(0, node_record(&self->s, 1, &r));
	EXPECT_NE(NULL, strstr(r.body, "\"demo_scores\":false")) TH_LOG("%s", r.body);
	mn_response_free(&r);
}

TEST_F(ctl, restart_after_kill9_keeps_state)
{
	char psk_before[64], psk_after[64], body[1024], wg[48], code[64];
	struct mn_response r;
	uint8_t raw[32];
	int64_t epoch;

	ASSERT_EQ(0, submit(&self->s, 0, 0.9, &r));
	mn_response_free(&r);
	ASSERT_EQ(0, submit(&self->s, 1, 0.8, &r));
	mn_response_free(&r);
	ASSERT_EQ(0, submit(&self->s, 2, 0.3, &r));
	mn_response_free(&r);
	memset(raw, 0x55, sizeof(raw));
	meshnet_b64_encode(wg, raw, 32);
	snprintf(body, sizeof(body),
		 "{\"node_id\":\"node-d\",\"public_key\":\"%s\",\"signing_key\":\"%s\","
		 "\"allowed_ips\":[\"10.10.0.4/32\"]}", wg, fresh_signing_key());
	ASSERT_EQ(0, admin(&self->s, "POST", "/v1/nodes", body, &r));
	EXPECT_EQ(201, r.status);
	mn_response_free(&r);
	ASSERT_EQ(0, get_config(&self->s, 0, NULL, &r));
	ASSERT_EQ(200, r.status);
	epoch = json_int(r.body, "epoch", "id");
	peer_field(r.body, "node-b", "psk", psk_before, sizeof(psk_before));
	mn_response_free(&r);

	server_stop(&self->s, SIGKILL);
	ASSERT_EQ(0, server_start(&self->s, NULL)) TH_LOG("restart failed");

	ASSERT_EQ(0, get_config(&self->s, 0, NULL, &r));
	ASSERT_EQ(200, r.status) TH_LOG("%s", r.body);
	EXPECT_EQ(epoch, json_int(r.body, "epoch", "id"));
	peer_field(r.body, "node-b", "psk", psk_after, sizeof(psk_after));
	EXPECT_STREQ(psk_before, psk_after) TH_LOG("same epoch, same secret, same PSK");
	mn_response_free(&r);
	ASSERT_EQ(0, get_config(&self->s, 2, NULL, &r));
	EXPECT_EQ(403, r.status);
	/* its own reason survived (peers are told only the verdict) */
	EXPECT_NE(NULL, strstr(r.body, "score 0.30 < threshold 0.70")) TH_LOG("%s", r.body);
	mn_response_free(&r);
	ASSERT_EQ(0, admin(&self->s, "POST", "/v1/nodes", body, &r));
	EXPECT_EQ(409, r.status) TH_LOG("the admin enrolment must survive");
	EXPECT_STREQ("exists", mn_error_code(&r, code, sizeof(code)));
	mn_response_free(&r);
	EXPECT_EQ(2, metric(&self->s, "meshnet_nodes{membership=\"ALLOWED\"}"));
	EXPECT_EQ(2, metric(&self->s, "meshnet_nodes{membership=\"DENIED\"}"));
}

/* Reads STATE_DIR/controller.pub as a checkpoint verifier named origin. */
static int controller_verifier(struct server *s, const char *origin, struct tlog_note_verifier *v)
{
	char path[PATH_MAX + 32];
	uint8_t pub[32];

	snprintf(path, sizeof(path), "%s/state/controller.pub", s->dir);
	if (meshnet_public_key_read(path, pub))
		return -1;
	return tlog_verifier_from_pub(v, origin, pub) ? -1 : 0;
}

static int run_status(const char *cmd)
{
	int st = system(cmd);

	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static const char *const bad_log_queries[] = {
	"/v1/log/proof/inclusion",
	"/v1/log/proof/inclusion?index=x",
	"/v1/log/proof/inclusion?index=-1",
	"/v1/log/proof/inclusion?index=99999",
	"/v1/log/proof/inclusion?index=0&size=99999",
	"/v1/log/proof/inclusion?index=3&size=3",
	"/v1/log/proof/consistency",
	"/v1/log/proof/consistency?from=5&to=4",
	"/v1/log/proof/consistency?from=0&to=99999",
	"/v1/log/records",
	"/v1/log/records?start=99999",
	"/v1/log/records?start=2&end=2",
	"/v1/log/records?start=0&end=5000",
	"/v1/log/records?start=18446744073709551615",
};

TEST_F(ctl, log_routes_prove_every_record)
{
	struct json_object *jo, *jp;
	struct tlog_note_verifier v;
	struct tlog_checkpoint cp, cp2;
	struct mn_response r, rec;
	tlog_hash proof[TLOG_MAX_PROOF];
	uint8_t leaf[32];
	uint64_t verified, i;
	char target[128], code[64];
	const char *line;
	size_t n;

	ASSERT_EQ(0, submit(&self->s, 0, 0.9, &r));
	mn_response_free(&r);
	ASSERT_EQ(0, mn_do(self->s.port, "GET", "/v1/log/checkpoint", "", NULL, &r));
	ASSERT_EQ(200, r.status);
	ASSERT_EQ(0, controller_verifier(&self->s, "meshnetd/meshnet", &v));
	ASSERT_EQ(TLOG_OK, tlog_checkpoint_open(r.body, r.body_len, &v, 1, "meshnetd/meshnet", &cp,
						&verified)) TH_LOG("%s", r.body);
	mn_response_free(&r);
	ASSERT_GE(cp.size, 5) TH_LOG("3 enrolments, an epoch, a verdict at least");
	snprintf(target, sizeof(target), "/v1/log/records?start=0&end=%llu",
		 (unsigned long long)cp.size);
	ASSERT_EQ(0, mn_do(self->s.port, "GET", target, "", NULL, &rec));
	ASSERT_EQ(200, rec.status);
	for (i = 0, line = rec.body; i < cp.size; i++) {
		const char *nl = strchr(line, '\n');
		struct json_object *o, *p;

		ASSERT_NE(NULL, nl);
		tlog_hash_leaf(leaf, line, (size_t)(nl - line));
		snprintf(target, sizeof(target), "/v1/log/proof/inclusion?index=%llu&size=%llu",
			 (unsigned long long)i, (unsigned long long)cp.size);
		ASSERT_EQ(0, mn_do(self->s.port, "GET", target, "", NULL, &r));
		ASSERT_EQ(200, r.status) TH_LOG("%s", r.body);
		o = json_tokener_parse(r.body);
		ASSERT_TRUE(json_object_object_get_ex(o, "proof", &p));
		for (n = 0; n < json_object_array_length(p); n++)
			ASSERT_EQ(TLOG_OK, tlog_hash_from_b64(proof[n], json_object_get_string(
						json_object_array_get_idx(p, n))));
		EXPECT_EQ(TLOG_OK, tlog_verify_inclusion(i, cp.size, leaf, proof, n, cp.root))
			TH_LOG("record %llu", (unsigned long long)i);
		/* the same proof does not prove the next record */
		if (i + 1 < cp.size)
			EXPECT_NE(TLOG_OK, tlog_verify_inclusion(i + 1, cp.size, leaf, proof, n,
								 cp.root));
		json_object_put(o);
		mn_response_free(&r);
		line = nl + 1;
	}
	mn_response_free(&rec);
	/* the log grows; the new checkpoint extends the old one by the served proof */
	ASSERT_EQ(0, admin(&self->s, "POST", "/v1/rotate", "", &r));
	EXPECT_EQ(200, r.status);
	mn_response_free(&r);
	ASSERT_EQ(0, mn_do(self->s.port, "GET", "/v1/log/checkpoint", "", NULL, &r));
	ASSERT_EQ(TLOG_OK, tlog_checkpoint_open(r.body, r.body_len, &v, 1, NULL, &cp2, &verified));
	mn_response_free(&r);
	ASSERT_GT(cp2.size, cp.size);
	snprintf(target, sizeof(target), "/v1/log/proof/consistency?from=%llu&to=%llu",
		 (unsigned long long)cp.size, (unsigned long long)cp2.size);
	ASSERT_EQ(0, mn_do(self->s.port, "GET", target, "", NULL, &r));
	ASSERT_EQ(200, r.status);
	jo = json_tokener_parse(r.body);
	ASSERT_TRUE(json_object_object_get_ex(jo, "proof", &jp));
	for (n = 0; n < json_object_array_length(jp); n++)
		ASSERT_EQ(TLOG_OK, tlog_hash_from_b64(proof[n], json_object_get_string(
					json_object_array_get_idx(jp, n))));
	json_object_put(jo);
	mn_response_free(&r);
	EXPECT_EQ(TLOG_OK, tlog_checkpoint_extends(&cp, &cp2, proof, n));
	EXPECT_EQ(TLOG_ERR_ROLLBACK, tlog_checkpoint_extends(&cp2, &cp, proof, n));
	tlog_verifier_free(&v);

	/* bad ranges: a JSON error, nothing else */
	for (n = 0; n < sizeof(bad_log_queries) / sizeof(bad_log_queries[0]); n++) {
		ASSERT_EQ(0, mn_do(self->s.port, "GET", bad_log_queries[n], "", NULL, &r));
		EXPECT_EQ(400, r.status) TH_LOG("%s: %d %s", bad_log_queries[n], r.status, r.body);
		EXPECT_NE(0, strlen(mn_error_code(&r, code, sizeof(code)))) TH_LOG("%s",
										 bad_log_queries[n]);
		mn_response_free(&r);
	}
	ASSERT_EQ(0, mn_do(self->s.port, "POST", "/v1/log/checkpoint", "", "", &r));
	EXPECT_EQ(405, r.status);
	mn_response_free(&r);
}

/* Counts the DENIED verdict records of node in the state directory's log (offline). */
static int denied_records(struct server *s, const char *node)
{
	char bin[PATH_MAX], cmd[4 * PATH_MAX], line[256];
	FILE *p;
	int n = 0;

	meshnetd_path(bin, sizeof(bin));
	snprintf(cmd, sizeof(cmd), "'%s' audit show '%s/state/tlog' | grep '\"type\":\"verdict\"' | "
		 "grep '\"node_id\":\"%s\"' | grep -c '\"to\":\"DENIED\"'", bin, s->dir, node);
	p = popen(cmd, "r");
	if (!p)
		return -1;
	if (fgets(line, sizeof(line), p))
		n = atoi(line);
	pclose(p);
	return n;
}

/*
 * kill -9 at random moments around a quarantine: every quarantine that was
 * answered 200 is in the log with its evidence, and the log verifies.
 */
TEST_F(ctl, quarantine_record_survives_kill9)
{
	char bin[PATH_MAX], cmd[4 * PATH_MAX];
	struct mn_response r;
	int round, acked = 0, before, after, fds[2];

	meshnetd_path(bin, sizeof(bin));
	srand((unsigned int)getpid());
	for (round = 0; round < 4; round++) {
		pid_t child;
		char got = 0;
		int st;

		ASSERT_EQ(0, submit(&self->s, 0, 0.9, &r));
		mn_response_free(&r);
		ASSERT_EQ(0, admin(&self->s, "POST", "/v1/rotate", "", &r));
		mn_response_free(&r);
		ASSERT_EQ(0, get_config(&self->s, 0, NULL, &r));
		ASSERT_EQ(200, r.status) TH_LOG("node-a must be ALLOWED before its quarantine");
		mn_response_free(&r);
		before = denied_records(&self->s, "node-a");
		ASSERT_EQ(0, pipe(fds));
		child = fork();
		ASSERT_GE(child, 0);
		if (child == 0) {
			struct mn_response cr;

			close(fds[0]);
			got = submit(&self->s, 0, 0.1, &cr) == 0 && cr.status == 200 ? 1 : 0;
			if (write(fds[1], &got, 1) != 1)
				_exit(1);
			_exit(0);
		}
		close(fds[1]);
		usleep((useconds_t)(rand() % 150000));
		server_stop(&self->s, SIGKILL);
		if (read(fds[0], &got, 1) != 1)
			got = 0;
		close(fds[0]);
		waitpid(child, &st, 0);
		after = denied_records(&self->s, "node-a");
		if (got) {
			acked++;
			EXPECT_EQ(before + 1, after) TH_LOG("round %d: a 200'd quarantine was lost", round);
		} else {
			EXPECT_GE(after, before);
		}
		snprintf(cmd, sizeof(cmd), "'%s' audit-verify '%s/state' >/dev/null", bin, self->s.dir);
		EXPECT_EQ(0, run_status(cmd)) TH_LOG("round %d: the log must verify after kill -9",
						     round);
		ASSERT_EQ(0, server_start(&self->s, NULL)) TH_LOG("round %d: restart failed", round);
	}
	TH_LOG("%d of 4 quarantines were answered before the kill", acked);
	/* the answered ones are re-decided offline from node-a's own submissions */
	server_stop(&self->s, SIGTERM);
	snprintf(cmd, sizeof(cmd), "'%s' audit-verify '%s/state' | grep -q ', 0 contradicted'", bin,
		 self->s.dir);
	EXPECT_EQ(0, run_status(cmd));
}

TEST_F(ctl, audit_log_verifies_and_catches_tampering)
{
	char bin[PATH_MAX], cmd[3 * PATH_MAX], path[PATH_MAX + 32], *text, *p, *end;
	struct mn_response r;
	size_t len;
	FILE *f;
	int k;

	ASSERT_EQ(0, submit(&self->s, 0, 0.9, &r));
	mn_response_free(&r);
	ASSERT_EQ(0, submit(&self->s, 0, 0.1, &r));
	mn_response_free(&r);
	server_stop(&self->s, SIGTERM);
	meshnetd_path(bin, sizeof(bin));
	snprintf(cmd, sizeof(cmd), "'%s' audit-verify '%s/state' >/dev/null", bin, self->s.dir);
	ASSERT_EQ(0, run_status(cmd)) TH_LOG("an untouched audit log must verify");
	/* the quarantine is re-decided offline from node-a's own signed submission */
	snprintf(cmd, sizeof(cmd), "'%s' audit-verify '%s/state' | grep -q 'node-a DENIED re-checked: "
		 "its own signed submission (overall 0.10) fails the rule: score 0.10 < threshold 0.70'",
		 bin, self->s.dir);
	EXPECT_EQ(0, run_status(cmd)) TH_LOG("the DENIED must be re-checked from its evidence");

	snprintf(path, sizeof(path), "%s/state/tlog/records-000000.jsonl", self->s.dir);
	f = fopen(path, "r+");
	ASSERT_NE(NULL, f);
	text = calloc(1, 1 << 20);
	len = fread(text, 1, (1 << 20) - 1, f);
	ASSERT_GT(len, 0);
	EXPECT_NE(NULL, strstr(text, "\"type\":\"verdict\""));
	EXPECT_NE(NULL, strstr(text, "\"type\":\"epoch\""));
	EXPECT_NE(NULL, strstr(text, "\"type\":\"enrol\""));
	/* flip a verdict in the first DENIED verdict record */
	p = strstr(text, "\"to\":\"DENIED\"");
	ASSERT_NE(NULL, p);
	memcpy(p + 6, "ALLOWE", 6);
	rewind(f);
	fwrite(text, 1, len, f);
	fclose(f);
	snprintf(cmd, sizeof(cmd), "'%s' audit-verify '%s/state' | grep -q 'record [0-9]*: changed'",
		 bin, self->s.dir);
	EXPECT_EQ(0, run_status(cmd)) TH_LOG("the report must name the changed record");
	snprintf(cmd, sizeof(cmd), "'%s' audit-verify '%s/state' >/dev/null", bin, self->s.dir);
	EXPECT_EQ(1, run_status(cmd)) TH_LOG("a tampered audit log must fail");
	/* put it back: intact again */
	memcpy(p + 6, "DENIED", 6);
	f = fopen(path, "r+");
	ASSERT_NE(NULL, f);
	fwrite(text, 1, len, f);
	fclose(f);
	EXPECT_EQ(0, run_status(cmd));

	/* the issue's case: the last five records deleted */
	end = text + len;
	for (k = 0; k < 5; k++) {
		end--;	/* the newline of the last kept-so-far record */
		while (end > text && end[-1] != '\n')
			end--;
	}
	ASSERT_EQ(0, truncate(path, end - text));
	free(text);
	EXPECT_EQ(1, run_status(cmd)) TH_LOG("a log missing its tail must fail audit-verify");
	snprintf(cmd, sizeof(cmd), "'%s' audit-verify '%s/state' | grep -q 'removed'", bin,
		 self->s.dir);
	EXPECT_EQ(0, run_status(cmd));
	/* and meshnetd refuses to continue a log shorter than its checkpoint */
	EXPECT_NE(0, server_start(&self->s, NULL));
}

TEST_F(ctl, second_instance_on_same_state_refused)
{
	char bin[PATH_MAX], cmd[3 * PATH_MAX];
	int st;

	meshnetd_path(bin, sizeof(bin));
	snprintf(cmd, sizeof(cmd), "'%s' --listen %s:%u --state-dir '%s/state' 2>&1 | "
		 "grep -q 'in use by another meshnetd'", bin,
		 mn_family == AF_INET6 ? "[::1]" : "127.0.0.1", mn_free_port(), self->s.dir);
	st = system(cmd);
	EXPECT_EQ(0, WEXITSTATUS(st));
	EXPECT_EQ(1, metric(&self->s, "meshnet_epoch_id"));
}

TEST_F(ctl, hostile_traffic_leaves_it_serving)
{
	static const char *const garbage[] = {
		"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03",	/* a TLS hello */
		"GET /health HTTP/9.9\r\n\r\n",
		"GET /health\r\n\r\n",
		"POST /v1/benchmarks/node-a HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n",
		"POST /v1/benchmarks/node-a HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999\r\n\r\n",
		"GET /v1/config/node-a?wait=99999999999999999999999&after_epoch=-1 HTTP/1.1\r\nHost: x\r\n\r\n",
		"GET /v1/config/%00 HTTP/1.1\r\nHost: x\r\n\r\n",
		"GET /v1/config/node-a HTTP/1.1\r\nHost: x\r\nX-Meshnet-Node: node-a\r\n"
		"X-Meshnet-Timestamp: 99999999999999999999\r\nX-Meshnet-Nonce: zz\r\n"
		"X-Meshnet-Signature: ====\r\n\r\n",
		"\r\n\r\n\r\n",
	};
	struct timeval tv = { .tv_sec = 5 };
	struct mn_conn conns[200];
	char *big;
	size_t i;

	for (i = 0; i < sizeof(garbage) / sizeof(garbage[0]); i++) {
		struct mn_conn c;
		char buf[4096];

		ASSERT_EQ(0, mn_connect(&c, self->s.port, NULL));
		setsockopt(c.fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		mn_send_raw(&c, garbage[i], strlen(garbage[i]));
		if (recv(c.fd, buf, sizeof(buf), 0) > 0)
			EXPECT_NE(0, strncmp(buf, "HTTP/1.1 200", 12)) TH_LOG("garbage %zu got 200", i);
		mn_close(&c);
	}
	/* a header far larger than the per-connection memory limit */
	big = malloc(200000);
	ASSERT_NE(NULL, big);
	memset(big, 'a', 199999);
	big[199999] = '\0';
	{
		struct mn_conn c;
		char buf[256] = "";

		ASSERT_EQ(0, mn_connect(&c, self->s.port, NULL));
		setsockopt(c.fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		dprintf(c.fd, "GET /health HTTP/1.1\r\nHost: x\r\nX-Big: ");
		mn_send_raw(&c, big, strlen(big));
		mn_send_raw(&c, "\r\n\r\n", 4);
		if (recv(c.fd, buf, sizeof(buf) - 1, 0) > 0)
			EXPECT_NE(0, strncmp(buf, "HTTP/1.1 200", 12));
		mn_close(&c);
	}
	free(big);
	/* a burst of idle connections */
	for (i = 0; i < 200; i++)
		if (mn_connect(&conns[i], self->s.port, NULL))
			conns[i].fd = -1;
	for (i = 0; i < 200; i++)
		if (conns[i].fd >= 0)
			mn_close(&conns[i]);
	/* still healthy, nothing changed */
	EXPECT_EQ(1, metric(&self->s, "meshnet_epoch_id"));
	EXPECT_EQ(0, metric(&self->s, "meshnet_benchmarks_accepted_total"));
	EXPECT_EQ(3, metric(&self->s, "meshnet_nodes{membership=\"DENIED\"}"));
}

TEST_F(ctl, secrets_stay_in_0600_files)
{
	char path[PATH_MAX + 32], secret[64] = "", *status, *epoch, *p;
	struct stat st;
	size_t len;
	FILE *f;

	/* status.json is published by the epoch thread */
	snprintf(path, sizeof(path), "%s/state/status.json", self->s.dir);
	ASSERT_EQ(0, wait_file(path, 10000));
	snprintf(path, sizeof(path), "%s/state/epoch.json", self->s.dir);
	ASSERT_EQ(0, stat(path, &st));
	EXPECT_EQ(0600, st.st_mode & 0777);
	f = fopen(path, "r");
	ASSERT_NE(NULL, f);
	epoch = calloc(1, 4096);
	len = fread(epoch, 1, 4095, f);
	fclose(f);
	ASSERT_GT(len, 0);
	p = strstr(epoch, "\"secret\":\"");
	ASSERT_NE(NULL, p);
	snprintf(secret, sizeof(secret), "%.44s", p + 10);
	free(epoch);
	snprintf(path, sizeof(path), "%s/state/status.json", self->s.dir);
	f = fopen(path, "r");
	ASSERT_NE(NULL, f);
	status = calloc(1, 1 << 16);
	len = fread(status, 1, (1 << 16) - 1, f);
	fclose(f);
	EXPECT_GT(len, 0);
	EXPECT_EQ(NULL, strstr(status, secret));
	EXPECT_NE(NULL, strstr(status, "\"secret_hash\": \"sha256:"));
	EXPECT_NE(NULL, strstr(status, "\"node-a\""));
	free(status);
}

static int run_meshnetd(const char *args, char *out, size_t cap)
{
	char bin[PATH_MAX], cmd[PATH_MAX * 2];
	FILE *p;
	size_t n;
	int st;

	meshnetd_path(bin, sizeof(bin));
	snprintf(cmd, sizeof(cmd), "'%s' %s 2>&1", bin, args);
	p = popen(cmd, "r");
	if (!p)
		return -1;
	n = fread(out, 1, cap - 1, p);
	out[n] = '\0';
	st = pclose(p);
	return WEXITSTATUS(st);
}

TEST(invalid_configuration_refused)
{
	char out[8192], args[1024];
	char dir[] = "/tmp/meshnetd-cfg.XXXXXX";

	ASSERT_NE(NULL, mkdtemp(dir));
	EXPECT_EQ(2, run_meshnetd("--threshold 1.5", out, sizeof(out)));
	EXPECT_NE(NULL, strstr(out, "THRESHOLD")) TH_LOG("%s", out);
	setenv("EPOCH_SECONDS", "soon", 1);
	EXPECT_EQ(2, run_meshnetd("", out, sizeof(out)));
	EXPECT_NE(NULL, strstr(out, "EPOCH_SECONDS")) TH_LOG("%s", out);
	unsetenv("EPOCH_SECONDS");
	EXPECT_EQ(2, run_meshnetd("--no-such-flag 1", out, sizeof(out)));
	EXPECT_NE(NULL, strstr(out, "--no-such-flag"));
	snprintf(args, sizeof(args), "--state-dir %s/s --listen 0.0.0.0:1", dir);
	EXPECT_EQ(1, run_meshnetd(args, out, sizeof(out)));
	EXPECT_NE(NULL, strstr(out, "ALLOW_PLAIN_HTTP")) TH_LOG("%s", out);
	snprintf(args, sizeof(args), "%s/token", dir);
	ASSERT_EQ(0, write_file(args, "a-token-of-enough-length\n", 0644));
	snprintf(args, sizeof(args), "--state-dir %s/s --listen 127.0.0.1:%u "
		 "--admin-token-file %s/token", dir, mn_free_port(), dir);
	EXPECT_EQ(1, run_meshnetd(args, out, sizeof(out)));
	EXPECT_NE(NULL, strstr(out, "0600")) TH_LOG("%s", out);
	EXPECT_EQ(0, run_meshnetd("--help", out, sizeof(out)));
	EXPECT_NE(NULL, strstr(out, "MAX_BENCHMARK_AGE"));
	EXPECT_NE(NULL, strstr(out, "audit-verify"));
	snprintf(args, sizeof(args), "rm -rf '%s'", dir);
	EXPECT_EQ(0, system(args));
}

TEST(https_with_certificate)
{
	char cmd[4 * PATH_MAX], cert[PATH_MAX + 16], key[PATH_MAX + 16], tls_args[3][PATH_MAX + 16];
	const char *extra[5];
	struct server s;
	struct mn_conn c;
	struct mn_response r;
	int i, ok = 0;

	memset(&s, 0, sizeof(s));
	ASSERT_EQ(0, server_prepare(&s));
	snprintf(cert, sizeof(cert), "%s/server.crt", s.dir);
	snprintf(key, sizeof(key), "%s/server.key", s.dir);
	snprintf(cmd, sizeof(cmd),
		 "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 "
		 "-subj /CN=localhost -addext subjectAltName=DNS:localhost -keyout '%s' -out '%s' "
		 ">/dev/null 2>&1 && chmod 600 '%s'", key, cert, key);
	ASSERT_EQ(0, system(cmd));
	snprintf(tls_args[0], sizeof(tls_args[0]), "%s", cert);
	snprintf(tls_args[1], sizeof(tls_args[1]), "%s", key);
	extra[0] = "--tls-cert";
	extra[1] = tls_args[0];
	extra[2] = "--tls-key";
	extra[3] = tls_args[1];
	extra[4] = NULL;
	s.port = mn_free_port();
	s.pid = server_spawn(&s, extra);
	ASSERT_GT(s.pid, 0);
	/* wait for HTTPS */
	for (i = 0; i < 200 && !ok; i++) {
		if (!mn_connect(&c, s.port, cert)) {
			ok = !mn_request(&c, "GET", "/health", "", NULL, 0, &r) && r.status == 200;
			mn_response_free(&r);
			mn_close(&c);
		}
		if (!ok)
			usleep(50000);
	}
	EXPECT_TRUE(ok) TH_LOG("no HTTPS answer");
	/* plain HTTP against the TLS port gets no HTTP answer */
	EXPECT_TRUE(mn_do(s.port, "GET", "/health", "", NULL, &r) != 0 || r.status != 200);
	mn_response_free(&r);
	server_cleanup(&s);
}

TEST(openapi_lists_every_route)
{
	char dir[PATH_MAX], path[PATH_MAX + 64], routes[4096], line[512], cur_path[256] = "";
	char spec_routes[4096] = "";
	char *tok, *save = NULL;
	int n_code, n_spec = 0, n_routes = 0;
	FILE *f;

	n_code = run_meshnetd("routes", routes, sizeof(routes));
	ASSERT_EQ(0, n_code);
	exe_dir(dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/../../userspace/controller/openapi.yaml", dir);
	f = fopen(path, "r");
	ASSERT_NE(NULL, f) TH_LOG("%s", path);
	/* paths are 2-space indented "/...:" keys, methods 4-space indented */
	while (fgets(line, sizeof(line), f)) {
		static const char *const methods[] = { "get", "post", "put", "delete", "patch" };
		unsigned int i;

		if (!strncmp(line, "  /", 3) && strchr(line, ':')) {
			snprintf(cur_path, sizeof(cur_path), "%.*s",
				 (int)(strchr(line, ':') - line - 2), line + 2);
			continue;
		}
		if (strncmp(line, "  ", 2) || line[2] != ' ' || line[4] == ' ')
			if (strncmp(line, "paths:", 6) == 0 || line[0] != ' ')
				cur_path[0] = line[0] == ' ' ? cur_path[0] : '\0';
		for (i = 0; i < 5 && cur_path[0]; i++) {
			char want[16];

			snprintf(want, sizeof(want), "    %s:", methods[i]);
			if (!strncmp(line, want, strlen(want))) {
				char up[8], entry[300];
				size_t k;

				for (k = 0; methods[i][k]; k++)
					up[k] = (char)(methods[i][k] - 32);
				up[k] = '\0';
				snprintf(entry, sizeof(entry), "%s %s\n", up, cur_path);
				strncat(spec_routes, entry, sizeof(spec_routes) - strlen(spec_routes) - 1);
				n_spec++;
			}
		}
	}
	fclose(f);
	for (tok = strtok_r(routes, "\n", &save); tok; tok = strtok_r(NULL, "\n", &save)) {
		char entry[300];

		n_routes++;
		snprintf(entry, sizeof(entry), "%s\n", tok);
		EXPECT_NE(NULL, strstr(spec_routes, entry)) TH_LOG("route '%s' not in openapi.yaml",
								   tok);
	}
	EXPECT_EQ(n_routes, n_spec) TH_LOG("openapi.yaml has operations the code lacks:\n%s",
					   spec_routes);
	EXPECT_GE(n_routes, 9);
}


/* ---- v2: revisions, deltas, signed statements, group keys ---- */

/* The value of header name in r (case-insensitive), or "". */
static const char *header(const struct mn_response *r, const char *name, char *out, size_t cap)
{
	return mn_header_value(r->headers, name, out, cap);
}

static EVP_PKEY *controller_pub(struct server *s)
{
	char path[PATH_MAX + 32], text[128];
	FILE *f;

	snprintf(path, sizeof(path), "%s/state/controller.pub", s->dir);
	f = fopen(path, "r");
	if (!f)
		return NULL;
	if (!fgets(text, sizeof(text), f))
		text[0] = '\0';
	fclose(f);
	text[strcspn(text, "\n")] = '\0';
	return meshnet_ed25519_public_from_b64(text);
}

/* Checks r as node's statement holding held; fills info; returns 0 or -1 with why. */
static int check_statement(struct server *s, int node, uint64_t held, const struct mn_response *r,
			   struct meshnet_statement_info *info, char *why, size_t cap)
{
	struct meshnet_statement_expect exp = {
		.node_id = node_ids[node], .mesh_id = "meshnet", .held_revision = held,
		.now = time(NULL),
	};
	EVP_PKEY *pub = controller_pub(s);
	char sig[128];
	int ret;

	header(r, MESHNET_HDR_STATEMENT_SIGNATURE, sig, sizeof(sig));
	ret = meshnet_statement_check(pub, r->body, r->body_len, *sig ? sig : NULL, &exp, info,
				      why, cap);
	EVP_PKEY_free(pub);
	return ret;
}

static uint64_t revision_of(const struct mn_response *r)
{
	char v[32];

	return strtoull(header(r, MESHNET_HDR_REVISION, v, sizeof(v)), NULL, 10);
}

/* The change for peer in a delta body: its "op" and "membership" ("" if absent). */
static void delta_change(const char *body, const char *peer, char *op, char *member, size_t cap)
{
	struct json_object *o = json_tokener_parse(body ? body : ""), *list, *v;
	size_t i;

	op[0] = member[0] = '\0';
	if (!o || !json_object_object_get_ex(o, "changes", &list))
		goto out;
	for (i = 0; i < json_object_array_length(list); i++) {
		struct json_object *c = json_object_array_get_idx(list, i);

		if (!json_object_object_get_ex(c, "node_id", &v) ||
		    strcmp(json_object_get_string(v), peer))
			continue;
		if (json_object_object_get_ex(c, "op", &v))
			snprintf(op, cap, "%s", json_object_get_string(v));
		if (json_object_object_get_ex(c, "membership", &v))
			snprintf(member, cap, "%s", json_object_get_string(v));
	}
out:
	json_object_put(o);
}

FIXTURE(v2) {
	struct server s;
};

FIXTURE_SETUP(v2)
{
	mn_family = AF_INET;
	memset(&self->s, 0, sizeof(self->s));
	ASSERT_EQ(0, server_prepare(&self->s));
	ASSERT_EQ(0, server_start(&self->s, NULL)) TH_LOG("meshnetd did not start");
}

FIXTURE_TEARDOWN(v2)
{
	server_cleanup(&self->s);
}

TEST_F(v2, snapshot_delta_nothing_new_future)
{
	struct meshnet_statement_info info;
	char why[256], q[96], code[64], op[32], member[32], key[64];
	struct mn_response r;
	uint64_t head;
	int i;

	for (i = 0; i < 2; i++) {
		ASSERT_EQ(0, submit(&self->s, i, 0.9, &r));
		mn_response_free(&r);
	}
	/* rev=0: a signed snapshot addressed to node-a */
	ASSERT_EQ(0, get_config(&self->s, 0, "?rev=0", &r));
	ASSERT_EQ(200, r.status) TH_LOG("%s", r.body);
	ASSERT_EQ(0, check_statement(&self->s, 0, 0, &r, &info, why, sizeof(why))) TH_LOG("%s", why);
	EXPECT_EQ(MESHNET_STATEMENT_SNAPSHOT, info.type);
	EXPECT_FALSE(info.shared);
	EXPECT_TRUE(info.group_mode);
	head = info.revision;
	EXPECT_EQ(head, revision_of(&r));
	EXPECT_GT(info.valid_until_unix, info.rotate_unix - 1);
	EXPECT_NE(NULL, strstr(r.body, "\"node-b\"")) TH_LOG("peers must list node-b");
	EXPECT_EQ(NULL, strstr(r.body, "\"psk\"")) TH_LOG("group mode: no PSK in the body");
	EXPECT_EQ(NULL, strstr(strstr(r.body, "\"reason\"") + 1, "\"reason\""))
		TH_LOG("only the node's own reason: peers never see reasons");
	EXPECT_EQ(44, strlen(header(&r, MESHNET_HDR_GROUP_KEY, key, sizeof(key))));
	EXPECT_NE(NULL, strstr(r.body, "\"checkpoint\":\"")) TH_LOG("snapshots carry the log's checkpoint");
	mn_response_free(&r);

	/* the node holds head: 204, empty, the head in a header */
	snprintf(q, sizeof(q), "?rev=%llu", (unsigned long long)head);
	ASSERT_EQ(0, get_config(&self->s, 0, q, &r));
	EXPECT_EQ(204, r.status);
	EXPECT_EQ(0, r.body_len);
	EXPECT_EQ(head, revision_of(&r));
	mn_response_free(&r);

	/* a revision this controller never issued */
	snprintf(q, sizeof(q), "?rev=%llu", (unsigned long long)head + 100);
	ASSERT_EQ(0, get_config(&self->s, 0, q, &r));
	EXPECT_EQ(409, r.status);
	EXPECT_STREQ("revision_from_future", mn_error_code(&r, code, sizeof(code)));
	mn_response_free(&r);

	/* node-b flips to DENIED: node-a gets the shared delta from head */
	ASSERT_EQ(0, submit(&self->s, 1, 0.3, &r));
	mn_response_free(&r);
	snprintf(q, sizeof(q), "?rev=%llu", (unsigned long long)head);
	ASSERT_EQ(0, get_config(&self->s, 0, q, &r));
	ASSERT_EQ(200, r.status);
	ASSERT_EQ(0, check_statement(&self->s, 0, head, &r, &info, why, sizeof(why)))
		TH_LOG("%s", why);
	EXPECT_EQ(MESHNET_STATEMENT_DELTA, info.type);
	EXPECT_TRUE(info.shared) TH_LOG("the same delta serves every node");
	EXPECT_EQ(head, info.base_revision);
	EXPECT_GE(info.revision, head + 2) TH_LOG("a verdict and an epoch");
	delta_change(r.body, "node-b", op, member, sizeof(op));
	EXPECT_STREQ("upsert", op);
	EXPECT_STREQ("DENIED", member);
	delta_change(r.body, "node-c", op, member, sizeof(op));
	EXPECT_STREQ("", op) TH_LOG("node-c did not change");
	EXPECT_LT(r.body_len, 1024) TH_LOG("a one-node delta is small: %zu bytes", r.body_len);
	EXPECT_EQ(NULL, strstr(r.body, "\"checkpoint\"")) TH_LOG("a delta's checkpoint is asked for");
	mn_response_free(&r);
	snprintf(q, sizeof(q), "?rev=%llu&checkpoint=1", (unsigned long long)head);
	ASSERT_EQ(0, get_config(&self->s, 0, q, &r));
	ASSERT_EQ(200, r.status);
	EXPECT_EQ(0, check_statement(&self->s, 0, head, &r, &info, why, sizeof(why))) TH_LOG("%s", why);
	EXPECT_NE(NULL, strstr(r.body, "\"checkpoint\":\"")) TH_LOG("%s", r.body);
	mn_response_free(&r);
	snprintf(q, sizeof(q), "?rev=%llu", (unsigned long long)head);

	/* node-b learns its own verdict, signed, without key material */
	ASSERT_EQ(0, get_config(&self->s, 1, q, &r));
	EXPECT_EQ(403, r.status);
	EXPECT_STREQ("denied", mn_error_code(&r, code, sizeof(code)));
	ASSERT_EQ(0, check_statement(&self->s, 1, head, &r, &info, why, sizeof(why)))
		TH_LOG("%s", why);
	EXPECT_EQ(MESHNET_STATEMENT_DENIED, info.type);
	EXPECT_STREQ("", header(&r, MESHNET_HDR_GROUP_KEY, key, sizeof(key)));
	mn_response_free(&r);

	/* snapshot=1 asks for a snapshot whatever the node holds */
	snprintf(q, sizeof(q), "?rev=%llu&snapshot=1", (unsigned long long)head);
	ASSERT_EQ(0, get_config(&self->s, 0, q, &r));
	EXPECT_EQ(200, r.status);
	EXPECT_EQ(0, check_statement(&self->s, 0, head, &r, &info, why, sizeof(why)));
	EXPECT_EQ(MESHNET_STATEMENT_SNAPSHOT, info.type);
	mn_response_free(&r);

	/* bad forms */
	ASSERT_EQ(0, get_config(&self->s, 0, "?rev=-1", &r));
	EXPECT_EQ(400, r.status);
	mn_response_free(&r);
	ASSERT_EQ(0, get_config(&self->s, 0, "?rev=1&after_epoch=1", &r));
	EXPECT_EQ(400, r.status);
	mn_response_free(&r);
}

TEST_F(v2, long_poll_by_revision)
{
	struct poll_arg p = { .s = &self->s };
	struct meshnet_statement_info info;
	struct mn_response r;
	char why[256];
	uint64_t head;
	pthread_t t;

	ASSERT_EQ(0, submit(&self->s, 0, 0.9, &r));
	mn_response_free(&r);
	ASSERT_EQ(0, get_config(&self->s, 0, "?rev=0", &r));
	ASSERT_EQ(200, r.status);
	head = revision_of(&r);
	mn_response_free(&r);
	/* nothing happens: 204 after the wait */
	snprintf(p.query, sizeof(p.query), "?rev=%llu&wait=1", (unsigned long long)head);
	poll_thread(&p);
	EXPECT_EQ(204, p.status);
	EXPECT_GE(p.seconds, 0.9);
	/* node-b's enrolment-free flip to ALLOWED wakes the waiter */
	snprintf(p.query, sizeof(p.query), "?rev=%llu&wait=30", (unsigned long long)head);
	ASSERT_EQ(0, pthread_create(&t, NULL, poll_thread, &p));
	EXPECT_EQ(1, wait_metric(&self->s, "meshnet_longpoll_waiters", 1, 10000));
	ASSERT_EQ(0, admin(&self->s, "POST", "/v1/rotate", "", &r));
	mn_response_free(&r);
	pthread_join(t, NULL);
	EXPECT_EQ(200, p.status);
	EXPECT_LT(p.seconds, 15.0) TH_LOG("the waiter must wake on the new revision");
	/* and the delta it would get verifies */
	ASSERT_EQ(0, get_config(&self->s, 0, p.query, &r));
	EXPECT_EQ(200, r.status);
	EXPECT_EQ(0, check_statement(&self->s, 0, head, &r, &info, why, sizeof(why)))
		TH_LOG("%s", why);
	EXPECT_EQ(MESHNET_STATEMENT_DELTA, info.type);
	mn_response_free(&r);
}

/*
 * Group mode: every node behind the same revision gets the same "*" delta,
 * one libmicrohttpd response queued on every connection (http_reply_shared):
 * the same bytes and signature for each, again on a repeat, and each
 * verifies for its own node.
 */
TEST_F(v2, shared_delta_same_bytes_for_every_node)
{
	struct meshnet_statement_info info;
	struct mn_response d[3], r;
	char why[256], q[64], sig[3][128];
	uint64_t head;
	int i;

	for (i = 0; i < 3; i++) {
		ASSERT_EQ(0, submit(&self->s, i, 0.9, &r));
		mn_response_free(&r);
	}
	ASSERT_EQ(0, admin(&self->s, "POST", "/v1/rotate", "", &r));
	mn_response_free(&r);
	ASSERT_EQ(0, get_config(&self->s, 0, "?rev=0", &r));
	ASSERT_EQ(200, r.status);
	head = revision_of(&r);
	mn_response_free(&r);
	/* node-c flips to DENIED: a change that nodes a and b hear of as a delta */
	ASSERT_EQ(0, submit(&self->s, 2, 0.1, &r));
	mn_response_free(&r);
	snprintf(q, sizeof(q), "?rev=%llu", (unsigned long long)head);
	for (i = 0; i < 3; i++) {
		ASSERT_EQ(0, get_config(&self->s, i == 2 ? 0 : i, q, &d[i]));
		ASSERT_EQ(200, d[i].status);
		header(&d[i], MESHNET_HDR_STATEMENT_SIGNATURE, sig[i], sizeof(sig[i]));
		EXPECT_EQ(0, check_statement(&self->s, i == 2 ? 0 : i, head, &d[i], &info, why,
					     sizeof(why))) TH_LOG("%s", why);
		EXPECT_EQ(MESHNET_STATEMENT_DELTA, info.type);
	}
	for (i = 1; i < 3; i++) {
		ASSERT_EQ(d[0].body_len, d[i].body_len);
		EXPECT_EQ(0, memcmp(d[0].body, d[i].body, d[0].body_len));
		EXPECT_STREQ(sig[0], sig[i]);
	}
	EXPECT_NE(NULL, strstr(d[0].body, "\"audience\":\"*\""));
	for (i = 0; i < 3; i++)
		mn_response_free(&d[i]);
}

/* Request headers past the connection's memory limit: 431, and the server carries on. */
TEST_F(v2, oversized_request_headers_refused)
{
	char pad[3200], hdr[3300];
	struct mn_conn c;
	struct mn_response r;

	memset(pad, 'a', sizeof(pad) - 1);
	pad[sizeof(pad) - 1] = '\0';
	snprintf(hdr, sizeof(hdr), "X-Pad: %s\r\n", pad);
	ASSERT_EQ(0, mn_connect(&c, self->s.port, NULL));
	ASSERT_EQ(0, mn_request(&c, "GET", "/health", hdr, "", 0, &r));
	EXPECT_EQ(431, r.status);
	mn_response_free(&r);
	mn_close(&c);
	/* a node's ordinary signed request still fits, on a new connection */
	ASSERT_EQ(0, submit(&self->s, 0, 0.9, &r));
	EXPECT_EQ(200, r.status);
	mn_response_free(&r);
	ASSERT_EQ(0, mn_do(self->s.port, "GET", "/health", "", NULL, &r));
	EXPECT_EQ(200, r.status);
	mn_response_free(&r);
}

/* Everything an agent must refuse, on real statements of a real meshnetd. */
TEST_F(v2, statement_refusals)
{
	struct meshnet_statement_expect exp = { .node_id = "node-a", .mesh_id = "meshnet" };
	struct meshnet_statement_info info;
	char why[256], sig[128], q[64], *copy;
	uint8_t seed[32], pub_raw[32];
	struct mn_response snap, delta, r;
	EVP_PKEY *pub = controller_pub(&self->s), *other;
	uint64_t head;

	ASSERT_NE(NULL, pub);
	ASSERT_EQ(0, submit(&self->s, 0, 0.9, &r));
	mn_response_free(&r);
	ASSERT_EQ(0, get_config(&self->s, 0, "?rev=0", &snap));
	ASSERT_EQ(200, snap.status);
	head = revision_of(&snap);
	header(&snap, MESHNET_HDR_STATEMENT_SIGNATURE, sig, sizeof(sig));
	exp.now = time(NULL);
	ASSERT_EQ(0, meshnet_statement_check(pub, snap.body, snap.body_len, sig, &exp, &info, why,
					     sizeof(why))) TH_LOG("%s", why);

	/* unsigned */
	EXPECT_EQ(-1, meshnet_statement_check(pub, snap.body, snap.body_len, NULL, &exp, &info,
					      why, sizeof(why)));
	/* forged: one byte of the body changed */
	copy = strdup(snap.body);
	copy[snap.body_len / 2] ^= 1;
	EXPECT_EQ(-1, meshnet_statement_check(pub, copy, snap.body_len, sig, &exp, &info, why,
					      sizeof(why)));
	EXPECT_NE(NULL, strstr(why, "signature"));
	/* truncated body, truncated signature */
	EXPECT_EQ(-1, meshnet_statement_check(pub, snap.body, snap.body_len - 1, sig, &exp, &info,
					      why, sizeof(why)));
	sig[40] = '\0';
	EXPECT_EQ(-1, meshnet_statement_check(pub, snap.body, snap.body_len, sig, &exp, &info,
					      why, sizeof(why)));
	header(&snap, MESHNET_HDR_STATEMENT_SIGNATURE, sig, sizeof(sig));
	/* another key */
	ASSERT_EQ(0, meshnet_ed25519_generate(seed, pub_raw));
	other = meshnet_ed25519_public_from_raw(pub_raw);
	EXPECT_EQ(-1, meshnet_statement_check(other, snap.body, snap.body_len, sig, &exp, &info,
					      why, sizeof(why)));
	EVP_PKEY_free(other);
	/* re-targeted: node-a's snapshot shown to node-b */
	exp.node_id = "node-b";
	EXPECT_EQ(-1, meshnet_statement_check(pub, snap.body, snap.body_len, sig, &exp, &info,
					      why, sizeof(why)));
	EXPECT_NE(NULL, strstr(why, "addressed to node-a")) TH_LOG("%s", why);
	exp.node_id = "node-a";
	/* another mesh */
	exp.mesh_id = "other-mesh";
	EXPECT_EQ(-1, meshnet_statement_check(pub, snap.body, snap.body_len, sig, &exp, &info,
					      why, sizeof(why)));
	exp.mesh_id = "meshnet";
	/* replayed: the node already holds this revision (or a newer one) */
	exp.held_revision = head;
	EXPECT_EQ(-1, meshnet_statement_check(pub, snap.body, snap.body_len, sig, &exp, &info,
					      why, sizeof(why)));
	EXPECT_NE(NULL, strstr(why, "not newer")) TH_LOG("%s", why);
	exp.held_revision = 0;
	/* the lease's edges, by the node's clock */
	exp.now = info.valid_until_unix - 1;
	EXPECT_EQ(0, meshnet_statement_check(pub, snap.body, snap.body_len, sig, &exp, &info, why,
					     sizeof(why))) TH_LOG("%s", why);
	exp.now = info.valid_until_unix;
	EXPECT_EQ(-1, meshnet_statement_check(pub, snap.body, snap.body_len, sig, &exp, &info,
					      why, sizeof(why)));
	EXPECT_NE(NULL, strstr(why, "lease")) TH_LOG("%s", why);
	exp.now = time(NULL);

	/* a delta applies only to the revision it names */
	ASSERT_EQ(0, admin(&self->s, "POST", "/v1/rotate", "", &r));
	mn_response_free(&r);
	snprintf(q, sizeof(q), "?rev=%llu", (unsigned long long)head);
	ASSERT_EQ(0, get_config(&self->s, 0, q, &delta));
	ASSERT_EQ(200, delta.status);
	header(&delta, MESHNET_HDR_STATEMENT_SIGNATURE, sig, sizeof(sig));
	exp.held_revision = head;
	EXPECT_EQ(0, meshnet_statement_check(pub, delta.body, delta.body_len, sig, &exp, &info,
					     why, sizeof(why))) TH_LOG("%s", why);
	exp.held_revision = head - 1;
	EXPECT_EQ(-1, meshnet_statement_check(pub, delta.body, delta.body_len, sig, &exp, &info,
					      why, sizeof(why)));
	/* the shared delta serves node-b too (audience "*") */
	exp.held_revision = head;
	exp.node_id = "node-b";
	EXPECT_EQ(0, meshnet_statement_check(pub, delta.body, delta.body_len, sig, &exp, &info,
					     why, sizeof(why))) TH_LOG("%s", why);
	/* malformed JSON, even correctly signed, is refused */
	{
		uint8_t sk[32], pk[32];
		char fake_sig[100];
		EVP_PKEY *priv, *fpub;

		ASSERT_EQ(0, meshnet_ed25519_generate(sk, pk));
		priv = meshnet_ed25519_private_from_raw(sk);
		fpub = meshnet_ed25519_public_from_raw(pk);
		ASSERT_EQ(0, meshnet_statement_sign(priv, "{\"v\":2,", 7, fake_sig));
		EXPECT_EQ(-1, meshnet_statement_check(fpub, "{\"v\":2,", 7, fake_sig, &exp, &info,
						      why, sizeof(why)));
		EXPECT_NE(NULL, strstr(why, "JSON"));
		EVP_PKEY_free(priv);
		EVP_PKEY_free(fpub);
	}
	free(copy);
	mn_response_free(&snap);
	mn_response_free(&delta);
	EVP_PKEY_free(pub);
}

/* Group mode: both ends of a pair derive one PSK; a denied node gets no K_e. */
TEST_F(v2, group_mode_key_material)
{
	struct meshnet_statement_info ia, ib;
	uint8_t ka[32], kb[32], commit[32], priv[2][32], pubk[2][32];
	uint8_t psk_ab[32], psk_ba[32], psk_ca[32];
	char why[256], b64a[64], b64b[64], b64c[64];
	struct mn_response ra, rb, rc;
	int i;

	for (i = 0; i < 2; i++) {
		ASSERT_EQ(0, submit(&self->s, i, 0.9, &ra));
		mn_response_free(&ra);
	}
	ASSERT_EQ(0, submit(&self->s, 2, 0.2, &ra));
	mn_response_free(&ra);
	ASSERT_EQ(0, get_config(&self->s, 0, "?rev=0", &ra));
	ASSERT_EQ(0, get_config(&self->s, 1, "?rev=0", &rb));
	ASSERT_EQ(0, get_config(&self->s, 2, "?rev=0", &rc));
	ASSERT_EQ(200, ra.status);
	ASSERT_EQ(200, rb.status);
	ASSERT_EQ(403, rc.status);
	ASSERT_EQ(0, check_statement(&self->s, 0, 0, &ra, &ia, why, sizeof(why))) TH_LOG("%s", why);
	ASSERT_EQ(0, check_statement(&self->s, 1, 0, &rb, &ib, why, sizeof(why))) TH_LOG("%s", why);
	header(&ra, MESHNET_HDR_GROUP_KEY, b64a, sizeof(b64a));
	header(&rb, MESHNET_HDR_GROUP_KEY, b64b, sizeof(b64b));
	header(&rc, MESHNET_HDR_GROUP_KEY, b64c, sizeof(b64c));
	EXPECT_STREQ("", b64c) TH_LOG("a DENIED node receives no epoch key");
	ASSERT_EQ(0, meshnet_b64_decode_exact(ka, 32, b64a));
	ASSERT_EQ(0, meshnet_b64_decode_exact(kb, 32, b64b));
	/* the key is authenticated by the signed commitment */
	meshnet_group_key_commitment(commit, ka);
	EXPECT_EQ(0, memcmp(commit, ia.group_key_commitment, 32));
	EXPECT_EQ(0, memcmp(ka, kb, 32));
	/* two real X25519 key pairs, one per end */
	for (i = 0; i < 2; i++) {
		EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "X25519");
		size_t len = 32;

		ASSERT_NE(NULL, k);
		EVP_PKEY_get_raw_private_key(k, priv[i], &len);
		len = 32;
		EVP_PKEY_get_raw_public_key(k, pubk[i], &len);
		EVP_PKEY_free(k);
	}
	ASSERT_EQ(0, meshnet_group_pair_psk(psk_ab, ka, ia.epoch_id, priv[0], pubk[1], "node-a",
					    "node-b"));
	ASSERT_EQ(0, meshnet_group_pair_psk(psk_ba, kb, ib.epoch_id, priv[1], pubk[0], "node-b",
					    "node-a"));
	EXPECT_EQ(0, memcmp(psk_ab, psk_ba, 32)) TH_LOG("both ends must derive the same PSK");
	/* without the pair's DH secret, K_e alone gives another value */
	ASSERT_EQ(0, meshnet_group_pair_psk(psk_ca, ka, ia.epoch_id, priv[0], pubk[0], "node-a",
					    "node-b"));
	EXPECT_NE(0, memcmp(psk_ab, psk_ca, 32));
	/* a new epoch, a new key */
	mn_response_free(&rb);
	ASSERT_EQ(0, admin(&self->s, "POST", "/v1/rotate", "", &rb));
	mn_response_free(&rb);
	ASSERT_EQ(0, get_config(&self->s, 1, "?rev=0", &rb));
	header(&rb, MESHNET_HDR_GROUP_KEY, b64b, sizeof(b64b));
	ASSERT_EQ(0, meshnet_b64_decode_exact(kb, 32, b64b));
	EXPECT_NE(0, memcmp(ka, kb, 32));
	mn_response_free(&ra);
	mn_response_free(&rb);
	mn_response_free(&rc);
}

TEST(v2_pairwise_mode_and_key_file)
{
	static const char *const extra[] = { "--key-mode", "pairwise", NULL };
	struct meshnet_statement_info info;
	char why[256], psk_ab[64], psk_ba[64], key[64], out[128], path[PATH_MAX + 64];
	struct mn_response ra, rb;
	struct server s;
	struct stat st;
	int i;

	memset(&s, 0, sizeof(s));
	mn_family = AF_INET;
	ASSERT_EQ(0, server_prepare(&s));
	ASSERT_EQ(0, server_start(&s, extra));
	for (i = 0; i < 2; i++) {
		ASSERT_EQ(0, submit(&s, i, 0.9, &ra));
		mn_response_free(&ra);
	}
	ASSERT_EQ(0, get_config(&s, 0, "?rev=0", &ra));
	ASSERT_EQ(0, get_config(&s, 1, "?rev=0", &rb));
	ASSERT_EQ(200, ra.status);
	EXPECT_EQ(0, check_statement(&s, 0, 0, &ra, &info, why, sizeof(why))) TH_LOG("%s", why);
	EXPECT_FALSE(info.group_mode);
	EXPECT_STREQ("", header(&ra, MESHNET_HDR_GROUP_KEY, key, sizeof(key)));
	peer_field(ra.body, "node-b", "psk", psk_ab, sizeof(psk_ab));
	peer_field(rb.body, "node-a", "psk", psk_ba, sizeof(psk_ba));
	EXPECT_EQ(44, strlen(psk_ab));
	EXPECT_STREQ(psk_ab, psk_ba);
	mn_response_free(&ra);
	mn_response_free(&rb);
	/* the statement key: 0600, and `meshnetd pubkey` prints its public half */
	snprintf(path, sizeof(path), "%s/state/controller.key", s.dir);
	ASSERT_EQ(0, stat(path, &st));
	EXPECT_EQ(0600, st.st_mode & 0777);
	snprintf(path, sizeof(path), "pubkey --state-dir %s/state", s.dir);
	EXPECT_EQ(0, run_meshnetd(path, out, sizeof(out))) TH_LOG("%s", out);
	{
		EVP_PKEY *pub = controller_pub(&s), *printed;
		uint8_t a[32], b[32];
		size_t la = 32, lb = 32;

		out[strcspn(out, "\n")] = '\0';
		printed = meshnet_ed25519_public_from_b64(out);
		ASSERT_NE(NULL, pub);
		ASSERT_NE(NULL, printed) TH_LOG("meshnetd pubkey printed '%s'", out);
		EVP_PKEY_get_raw_public_key(pub, a, &la);
		EVP_PKEY_get_raw_public_key(printed, b, &lb);
		EXPECT_EQ(0, memcmp(a, b, 32));
		EVP_PKEY_free(pub);
		EVP_PKEY_free(printed);
	}
	server_cleanup(&s);
}

TEST(v2_restart_keeps_revisions_and_key)
{
	struct meshnet_statement_info info;
	struct mn_response r;
	struct server s;
	char why[256], q[64];
	uint64_t head;

	memset(&s, 0, sizeof(s));
	mn_family = AF_INET;
	ASSERT_EQ(0, server_prepare(&s));
	ASSERT_EQ(0, server_start(&s, NULL));
	ASSERT_EQ(0, submit(&s, 0, 0.9, &r));
	mn_response_free(&r);
	ASSERT_EQ(0, get_config(&s, 0, "?rev=0", &r));
	head = revision_of(&r);
	mn_response_free(&r);
	ASSERT_GT(head, 0);
	/* SIGKILL right after the 200s: the state directory has the revisions */
	server_stop(&s, SIGKILL);
	ASSERT_EQ(0, server_start(&s, NULL));
	snprintf(q, sizeof(q), "?rev=%llu", (unsigned long long)head);
	ASSERT_EQ(0, get_config(&s, 0, q, &r));
	/* nothing new, or (an epoch started at restart) news verified against the same key */
	if (r.status == 200) {
		EXPECT_EQ(0, check_statement(&s, 0, head, &r, &info, why, sizeof(why)))
			TH_LOG("%s", why);
		EXPECT_GT(info.revision, head);
	} else {
		EXPECT_EQ(204, r.status);
		EXPECT_EQ(head, revision_of(&r));
	}
	mn_response_free(&r);
	server_cleanup(&s);
}


/* node's v2 config from held: the statement's type (checked) and, for a delta, peer's change. */
static int config_from(struct server *s, int node, uint64_t held, const char *peer,
		       struct meshnet_statement_info *info, char *member, char *why, size_t cap)
{
	char q[64], op[32];
	struct mn_response r;
	int status;

	snprintf(q, sizeof(q), "?rev=%llu", (unsigned long long)held);
	member[0] = '\0';
	memset(info, 0, sizeof(*info));
	if (get_config(s, node, q, &r))
		return -1;
	status = r.status;
	snprintf(why, cap, "status %d", status);
	if (status == 200 && check_statement(s, node, held, &r, info, why, cap))
		status = -1;
	if (status == 200 && info->type == MESHNET_STATEMENT_DELTA)
		delta_change(r.body, peer, op, member, 32);
	mn_response_free(&r);
	return status;
}

/*
 * The revision log survives a restart: a node holding a revision from
 * before it gets a delta (not a snapshot), after SIGKILL (the journal) and
 * after a clean restart (the snapshot written at the previous start); a
 * snapshot whose log is missing or malformed starts the log empty (a
 * snapshot for old revisions, never a wrong delta).
 */
TEST(v2_restart_answers_deltas)
{
	struct meshnet_statement_info info;
	char why[256], member[32], path[PATH_MAX + 32], *text = NULL;
	struct mn_response r;
	struct server s;
	uint64_t held, head;
	int i, round;
	size_t len = 0;
	FILE *f;

	memset(&s, 0, sizeof(s));
	mn_family = AF_INET;
	ASSERT_EQ(0, server_prepare(&s));
	ASSERT_EQ(0, server_start(&s, NULL));
	for (i = 0; i < N_NODES; i++) {
		ASSERT_EQ(0, submit(&s, i, 0.9, &r));
		mn_response_free(&r);
	}
	ASSERT_EQ(0, get_config(&s, 0, "?rev=0", &r));
	ASSERT_EQ(200, r.status);
	held = revision_of(&r);
	mn_response_free(&r);
	/* node-b flips to DENIED (a verdict and an epoch), then SIGKILL at once */
	ASSERT_EQ(0, submit(&s, 1, 0.3, &r));
	ASSERT_EQ(200, r.status);
	mn_response_free(&r);
	ASSERT_EQ(200, config_from(&s, 0, held, "node-b", &info, member, why, sizeof(why)))
		TH_LOG("%s", why);
	head = info.revision;
	ASSERT_GT(head, held);
	for (round = 0; round < 2; round++) {
		/* round 0: SIGKILL (the flip is in the journal); 1: SIGTERM (in the snapshot) */
		server_stop(&s, round ? SIGTERM : SIGKILL);
		ASSERT_EQ(0, server_start(&s, NULL)) TH_LOG("round %d: restart failed", round);
		ASSERT_EQ(200, config_from(&s, 0, held, "node-b", &info, member, why, sizeof(why)))
			TH_LOG("round %d: %s", round, why);
		EXPECT_EQ(MESHNET_STATEMENT_DELTA, info.type)
			TH_LOG("round %d: a revision from before the restart gets a delta", round);
		EXPECT_EQ(held, info.base_revision);
		EXPECT_GE(info.revision, head);
		EXPECT_STREQ("DENIED", member) TH_LOG("round %d: node-b's flip is in the delta", round);
		/* the oldest retained revision too (everything since enrolment is kept) */
		EXPECT_EQ(200, config_from(&s, 2, 1, "node-b", &info, member, why, sizeof(why)))
			TH_LOG("%s", why);
		EXPECT_EQ(MESHNET_STATEMENT_DELTA, info.type);
		EXPECT_STREQ("DENIED", member);
		/* the head itself: nothing new; past it: from the future */
		if (info.revision == head) {
			EXPECT_EQ(204, config_from(&s, 0, head, "node-b", &info, member, why,
						   sizeof(why)));
		}
		EXPECT_EQ(409, config_from(&s, 0, head + 1000, "node-b", &info, member, why,
					   sizeof(why)));
	}
	/* A snapshot whose log is malformed: meshnetd starts, old revisions get snapshots. */
	server_stop(&s, SIGTERM);
	snprintf(path, sizeof(path), "%s/state/snapshot.jsonl", s.dir);
	f = fopen(path, "r");
	ASSERT_NE(NULL, f);
	ASSERT_GT(getdelim(&text, &len, '\0', f), 0);
	fclose(f);
	{
		/* the second entry's kind: "log":[[...],["<kind>",... -> "bogus" */
		char *log = strstr(text, "\"log\":[["), *second, *kind_end, *edited;

		ASSERT_NE(NULL, log) TH_LOG("the snapshot's head line names the log");
		second = strstr(log, "],[\"");
		ASSERT_NE(NULL, second);
		second += 4;
		kind_end = strchr(second, '"');
		ASSERT_NE(NULL, kind_end);
		ASSERT_LT(0, asprintf(&edited, "%.*sbogus%s", (int)(second - text), text, kind_end));
		free(text);
		text = edited;
	}
	ASSERT_EQ(0, write_file(path, text, 0600));
	free(text);
	ASSERT_EQ(0, server_start(&s, NULL)) TH_LOG("a malformed log must not stop meshnetd");
	ASSERT_EQ(200, config_from(&s, 0, held, "node-b", &info, member, why, sizeof(why)))
		TH_LOG("%s", why);
	EXPECT_EQ(MESHNET_STATEMENT_DELTA, info.type)
		TH_LOG("entries after the malformed one are still a contiguous run to the head");
	EXPECT_EQ(200, config_from(&s, 2, 1, "node-b", &info, member, why, sizeof(why)));
	EXPECT_EQ(MESHNET_STATEMENT_SNAPSHOT, info.type)
		TH_LOG("revision 2 is lost: from revision 1 a snapshot, not a wrong delta");
	server_cleanup(&s);
}


/* The node's own verdict as its v2 config says it: 200 ALLOWED, 403 DENIED (reason into why). */
static int own_verdict(struct server *s, int node, char *why, size_t cap)
{
	struct mn_response r;
	int status;

	why[0] = '\0';
	if (get_config(s, node, "?rev=0", &r))
		return -1;
	status = r.status;
	if (r.body) {
		struct json_object *o = json_tokener_parse(r.body), *v;

		if (o && json_object_object_get_ex(o, "reason", &v))
			snprintf(why, cap, "%s", json_object_get_string(v));
		json_object_put(o);
	}
	mn_response_free(&r);
	return status;
}

static int wait_verdict(struct server *s, int node, int want, char *why, size_t cap)
{
	int i, got = -1;

	for (i = 0; i < 100; i++) {
		got = own_verdict(s, node, why, cap);
		if (got == want)
			break;
		usleep(100000);
	}
	return got;
}

TEST_F(v2, flapping_node_is_damped)
{
	struct mn_response r;
	char why[160];

	/* admitted, denied, readmitted (a first flip costs nothing) */
	ASSERT_EQ(0, submit(&self->s, 0, 0.9, &r));
	mn_response_free(&r);
	ASSERT_EQ(200, wait_verdict(&self->s, 0, 200, why, sizeof(why)));
	ASSERT_EQ(0, submit(&self->s, 0, 0.3, &r));
	mn_response_free(&r);
	EXPECT_EQ(403, own_verdict(&self->s, 0, why, sizeof(why))) TH_LOG("a flip to DENIED is at once");
	ASSERT_EQ(0, submit(&self->s, 0, 0.9, &r));
	mn_response_free(&r);
	ASSERT_EQ(200, wait_verdict(&self->s, 0, 200, why, sizeof(why)));
	/* the second flip within 10 minutes: readmission is held down */
	ASSERT_EQ(0, submit(&self->s, 0, 0.3, &r));
	mn_response_free(&r);
	ASSERT_EQ(0, submit(&self->s, 0, 0.9, &r));
	mn_response_free(&r);
	ASSERT_EQ(0, admin(&self->s, "POST", "/v1/rotate", "", &r));
	mn_response_free(&r);
	EXPECT_EQ(403, wait_verdict(&self->s, 0, 200, why, sizeof(why)));
	EXPECT_NE(NULL, strstr(why, "flapped 2 times")) TH_LOG("reason: %s", why);
}

TEST(v2_quarantine_is_not_held_by_epoch_limits)
{
	static const char *const extra[] = { "--deny-rotate-interval", "600", "--admit-interval",
					     "600", NULL };
	char q[64], op[32], member[32];
	struct mn_response r;
	struct server s;
	uint64_t head;
	int i;

	memset(&s, 0, sizeof(s));
	mn_family = AF_INET;
	ASSERT_EQ(0, server_prepare(&s));
	ASSERT_EQ(0, server_start(&s, extra));
	for (i = 0; i < N_NODES; i++) {
		ASSERT_EQ(0, submit(&s, i, 0.9, &r));
		mn_response_free(&r);
	}
	ASSERT_EQ(0, admin(&s, "POST", "/v1/rotate", "", &r));	/* admit all three */
	mn_response_free(&r);
	/* node-a's flip uses up the quarantine epoch for the next 600 s ... */
	ASSERT_EQ(0, submit(&s, 0, 0.3, &r));
	mn_response_free(&r);
	ASSERT_EQ(0, get_config(&s, 2, "?rev=0", &r));
	ASSERT_EQ(200, r.status);
	head = revision_of(&r);
	mn_response_free(&r);
	/* ... yet node-b's quarantine reaches node-c at once, as a revision */
	ASSERT_EQ(0, submit(&s, 1, 0.3, &r));
	mn_response_free(&r);
	snprintf(q, sizeof(q), "?rev=%llu", (unsigned long long)head);
	ASSERT_EQ(0, get_config(&s, 2, q, &r));
	EXPECT_EQ(200, r.status);
	delta_change(r.body, "node-b", op, member, sizeof(op));
	EXPECT_STREQ("DENIED", member);
	mn_response_free(&r);
	server_cleanup(&s);
}

TEST(v2_durable_before_reply_and_torn_tails_repaired)
{
	char path[PATH_MAX + 64], text[65536], out[4096], q[PATH_MAX + 64];
	struct mn_response r;
	struct server s;
	uint64_t head;
	FILE *f;
	size_t n;

	memset(&s, 0, sizeof(s));
	mn_family = AF_INET;
	ASSERT_EQ(0, server_prepare(&s));
	ASSERT_EQ(0, server_start(&s, NULL));
	ASSERT_EQ(0, submit(&s, 1, 0.9, &r));
	mn_response_free(&r);
	ASSERT_EQ(0, admin(&s, "POST", "/v1/rotate", "", &r));
	mn_response_free(&r);
	/* a flip to DENIED: 200, then SIGKILL at once */
	ASSERT_EQ(0, submit(&s, 1, 0.25, &r));
	EXPECT_EQ(200, r.status);
	mn_response_free(&r);
	server_stop(&s, SIGKILL);
	/* the benchmark and the verdict are in the journal */
	snprintf(path, sizeof(path), "%s/state/journal.jsonl", s.dir);
	f = fopen(path, "r");
	ASSERT_NE(NULL, f);
	n = fread(text, 1, sizeof(text) - 1, f);
	text[n] = '\0';
	fclose(f);
	EXPECT_NE(NULL, strstr(text, "\"overall\":0.25")) TH_LOG("the benchmark record");
	EXPECT_NE(NULL, strstr(text, "\"kind\":\"verdict\",\"node_id\":\"node-b\","
			       "\"membership\":\"DENIED\"")) TH_LOG("the verdict record");
	/* a torn last line (a crash mid-write) in the journal (the log's own tail: tlog tests) */
	f = fopen(path, "a");
	ASSERT_NE(NULL, f);
	fputs("{\"rev\":99999,\"kind\":\"verd", f);
	fclose(f);
	ASSERT_EQ(0, server_start(&s, NULL)) TH_LOG("a torn tail must not stop meshnetd");
	EXPECT_EQ(403, own_verdict(&s, 1, out, sizeof(out))) TH_LOG("the flip survived");
	ASSERT_EQ(0, get_config(&s, 0, "?rev=0", &r));
	head = revision_of(&r);
	mn_response_free(&r);
	EXPECT_LT(head, 99999) TH_LOG("the torn revision was not taken");
	snprintf(q, sizeof(q), "audit-verify %s/state", s.dir);
	EXPECT_EQ(0, run_meshnetd(q, out, sizeof(out))) TH_LOG("%s", out);
	snprintf(path, sizeof(path), "%s/meshnetd.log", s.dir);
	f = fopen(path, "r");
	ASSERT_NE(NULL, f);
	n = fread(text, 1, sizeof(text) - 1, f);
	text[n] = '\0';
	fclose(f);
	EXPECT_NE(NULL, strstr(text, "repaired a torn last record")) TH_LOG("a log line says so");
	server_cleanup(&s);
}

/* ---- acknowledged enforcement: POST /v1/ack/{node_id} ---- */

/* The table digest node `self` holds when every other node has the given verdicts. */
static void expected_digest(int self, const uint8_t verdicts[N_NODES], char hex[65])
{
	struct meshnet_table_digest d;
	uint8_t wg[32];

	meshnet_table_digest_init(&d);
	for (int i = 0; i < N_NODES; i++) {
		if (i == self)
			continue;
		memset(wg, 0x10 + i, sizeof(wg));	/* server_prepare's keys */
		meshnet_table_digest_add(&d, wg, verdicts[i]);
	}
	meshnet_table_digest_hex(&d, hex);
}

static int ack_as(struct server *s, int signer, int path_node, const char *body,
		  struct mn_response *r)
{
	char target[96];

	snprintf(target, sizeof(target), "/v1/ack/%s", node_ids[path_node]);
	return mn_do_signed(s->port, s->key[signer], node_ids[signer], "POST", target, body, r);
}

static void ack_body(char *out, size_t cap, int node, uint64_t rev, uint64_t epoch,
		     const char *digest, const char *extra)
{
	snprintf(out, cap, "{\"node_id\":\"%s\",\"revision\":%llu,\"epoch\":%llu,"
		 "\"table_digest\":\"%s\",\"applied_unix\":%lld,\"agent_version\":\"test 1.0\"%s}",
		 node_ids[node], (unsigned long long)rev, (unsigned long long)epoch, digest,
		 (long long)time(NULL), extra ? extra : "");
}

/* /v1/admin/acks as JSON (put it). */
static struct json_object *admin_acks(struct server *s)
{
	struct mn_response r;
	struct json_object *o = NULL;

	if (!admin(s, "GET", "/v1/admin/acks", NULL, &r) && r.status == 200)
		o = json_tokener_parse(r.body);
	mn_response_free(&r);
	return o;
}

static struct json_object *jpath(struct json_object *o, const char *a, const char *b)
{
	struct json_object *v = NULL;

	if (!o || !json_object_object_get_ex(o, a, &v))
		return NULL;
	if (b && !json_object_object_get_ex(v, b, &v))
		return NULL;
	return v;
}

TEST_F(v2, ack_shows_applied_revision_and_drift)
{
	static const uint8_t all_allowed[N_NODES] = { 1, 1, 1 };
	char want[65], wrong[65], body[512];
	struct json_object *o, *n;
	struct mn_response r;
	uint64_t head, epoch;

	for (int i = 0; i < N_NODES; i++) {
		ASSERT_EQ(0, submit(&self->s, i, 0.9, &r));
		mn_response_free(&r);
	}
	ASSERT_EQ(0, get_config(&self->s, 0, "?rev=0", &r));
	ASSERT_EQ(200, r.status);
	head = revision_of(&r);
	epoch = (uint64_t)json_int(r.body, "epoch", "id");
	mn_response_free(&r);
	ASSERT_GT(head, 0);

	/* node-a holds every peer ALLOWED: no drift */
	expected_digest(0, all_allowed, want);
	ack_body(body, sizeof(body), 0, head, epoch, want, NULL);
	ASSERT_EQ(0, ack_as(&self->s, 0, 0, body, &r));
	ASSERT_EQ(200, r.status) TH_LOG("%s", r.body);
	EXPECT_NE(NULL, strstr(r.body, "\"drift\":false")) TH_LOG("%s", r.body);
	EXPECT_NE(NULL, strstr(r.body, want)) TH_LOG("the expected digest is named");
	mn_response_free(&r);
	/* node-b says node-c is DENIED in its table: drift */
	expected_digest(1, (const uint8_t[N_NODES]){ 1, 1, 2 }, wrong);
	ack_body(body, sizeof(body), 1, head, epoch, wrong, NULL);
	ASSERT_EQ(0, ack_as(&self->s, 1, 1, body, &r));
	ASSERT_EQ(200, r.status) TH_LOG("%s", r.body);
	EXPECT_NE(NULL, strstr(r.body, "\"drift\":true")) TH_LOG("%s", r.body);
	mn_response_free(&r);

	o = admin_acks(&self->s);
	ASSERT_NE(NULL, o);
	n = jpath(jpath(o, "per_node", NULL), "node-a", NULL);
	ASSERT_NE(NULL, n);
	EXPECT_EQ(head, (uint64_t)json_object_get_int64(jpath(n, "applied_revision", NULL)));
	EXPECT_FALSE(json_object_get_boolean(jpath(n, "drift", NULL)));
	EXPECT_EQ(0, json_object_get_int64(jpath(n, "lag_revisions", NULL)));
	EXPECT_STREQ("test 1.0", json_object_get_string(jpath(n, "agent_version", NULL)));
	EXPECT_TRUE(json_object_get_boolean(jpath(jpath(o, "per_node", "node-b"), "drift", NULL)));
	EXPECT_FALSE(json_object_get_boolean(jpath(jpath(o, "per_node", "node-c"), "acked", NULL)));
	EXPECT_EQ(1, json_object_get_int64(jpath(o, "drifting", NULL)));
	EXPECT_EQ(2, json_object_get_int64(jpath(o, "acked", NULL)));
	json_object_put(o);

	/* a new revision: node-a lags by it until it acks again */
	ASSERT_EQ(0, admin(&self->s, "POST", "/v1/rotate", "", &r));
	mn_response_free(&r);
	o = admin_acks(&self->s);
	n = jpath(jpath(o, "per_node", NULL), "node-a", NULL);
	EXPECT_GE(json_object_get_int64(jpath(n, "lag_revisions", NULL)), 1);
	json_object_put(o);

	/* the admin node view and status.json show it too */
	ASSERT_EQ(0, admin(&self->s, "GET", "/v1/admin/nodes/node-a", NULL, &r));
	EXPECT_NE(NULL, strstr(r.body, "\"agent_version\":\"test 1.0\"")) TH_LOG("%s", r.body);
	snprintf(body, sizeof(body), "\"applied_revision\":%llu", (unsigned long long)head);
	EXPECT_NE(NULL, strstr(r.body, body)) TH_LOG("%s", r.body);
	mn_response_free(&r);
	ASSERT_EQ(0, admin(&self->s, "GET", "/v1/admin/status", NULL, &r));
	EXPECT_NE(NULL, strstr(r.body, "\"enforcement\":{")) TH_LOG("%s", r.body);
	EXPECT_EQ(NULL, strstr(r.body, "\"per_node\"")) TH_LOG("status: summary only");
	mn_response_free(&r);
	/* public /metrics: counts, no node ids unless METRICS_NODES_MAX */
	EXPECT_EQ(2, metric(&self->s, "meshnet_ack_nodes{state=\"acked\"}"));
	EXPECT_EQ(1, metric(&self->s, "meshnet_ack_nodes{state=\"drifting\"}"));
	ASSERT_EQ(0, mn_do(self->s.port, "GET", "/metrics", "", NULL, &r));
	EXPECT_EQ(NULL, strstr(r.body, "node=\"node-a\"")) TH_LOG("no node ids in public metrics");
	mn_response_free(&r);
}

TEST_F(v2, bad_acks_are_refused_and_change_nothing)
{
	static const uint8_t all_allowed[N_NODES] = { 1, 1, 1 };
	char want[65], body[640], code[64], hdrs[1024], target[64];
	struct mn_response r;
	struct json_object *o;
	uint64_t head, epoch;
	struct {
		int signer, path;
		const char *body;	/* NULL: the good body */
		int status;
		const char *code;
	} cases[16];
	char bodies[16][640];
	size_t n = 0;

	for (int i = 0; i < N_NODES; i++) {
		ASSERT_EQ(0, submit(&self->s, i, 0.9, &r));
		mn_response_free(&r);
	}
	ASSERT_EQ(0, get_config(&self->s, 0, "?rev=0", &r));
	head = revision_of(&r);
	epoch = (uint64_t)json_int(r.body, "epoch", "id");
	mn_response_free(&r);
	expected_digest(0, all_allowed, want);

#define CASE(sg, pa, st, cd, ...) do { \
		snprintf(bodies[n], sizeof(bodies[n]), __VA_ARGS__); \
		cases[n].signer = (sg); cases[n].path = (pa); cases[n].body = bodies[n]; \
		cases[n].status = (st); cases[n].code = (cd); n++; } while (0)
	ack_body(body, sizeof(body), 0, head, epoch, want, ",\"extra\":1");
	CASE(0, 0, 400, "unknown_field", "%s", body);
	ack_body(body, sizeof(body), 0, head + 100, epoch, want, NULL);
	CASE(0, 0, 409, "revision_from_future", "%s", body);
	ack_body(body, sizeof(body), 0, head, epoch + 5, want, NULL);
	CASE(0, 0, 409, "epoch_from_future", "%s", body);
	ack_body(body, sizeof(body), 0, head, epoch, "zz", NULL);
	CASE(0, 0, 400, "bad_digest", "%s", body);
	want[0] = 'A';	/* uppercase hex */
	ack_body(body, sizeof(body), 0, head, epoch, want, NULL);
	want[0] = '0';
	expected_digest(0, all_allowed, want);
	CASE(0, 0, 400, "bad_digest", "%s", body);
	/* node-b's id in node-a's ack */
	ack_body(body, sizeof(body), 1, head, epoch, want, NULL);
	CASE(0, 0, 400, "node_id_mismatch", "%s", body);
	ack_body(body, sizeof(body), 0, 0, epoch, want, NULL);
	CASE(0, 0, 400, "bad_request", "%s", body);
	CASE(0, 0, 400, "bad_request", "{\"node_id\":\"node-a\",\"revision\":\"%llu\",\"epoch\":%llu,"
	     "\"table_digest\":\"%s\",\"applied_unix\":1}", (unsigned long long)head,
	     (unsigned long long)epoch, want);
	CASE(0, 0, 400, "bad_request", "{\"node_id\":\"node-a\",\"revision\":%llu,\"epoch\":%llu,"
	     "\"table_digest\":\"%s\",\"applied_unix\":%lld}", (unsigned long long)head,
	     (unsigned long long)epoch, want, (long long)time(NULL) + 3600);
	CASE(0, 0, 400, "bad_request", "{\"node_id\":\"node-a\",\"revision\":%llu,\"epoch\":%llu,"
	     "\"table_digest\":\"%s\",\"applied_unix\":1,\"agent_version\":\"a\\\"b\"}",
	     (unsigned long long)head, (unsigned long long)epoch, want);
	CASE(0, 0, 400, "bad_json", "{\"node_id\":");
	/* node-b signs an ack for node-a (its own header): forbidden */
	ack_body(body, sizeof(body), 0, head, epoch, want, NULL);
	CASE(1, 0, 403, "forbidden", "%s", body);
#undef CASE
	for (size_t i = 0; i < n; i++) {
		ASSERT_EQ(0, ack_as(&self->s, cases[i].signer, cases[i].path, cases[i].body, &r));
		EXPECT_EQ(cases[i].status, r.status) TH_LOG("case %zu: %s -> %s", i, cases[i].body,
							    r.body);
		EXPECT_STREQ(cases[i].code, mn_error_code(&r, code, sizeof(code)))
			TH_LOG("case %zu: %s", i, r.body);
		mn_response_free(&r);
	}
	/* node-a's header, signed with node-b's key: the signature does not verify */
	ack_body(body, sizeof(body), 0, head, epoch, want, NULL);
	snprintf(target, sizeof(target), "/v1/ack/node-a");
	ASSERT_EQ(0, mn_sign_headers(hdrs, sizeof(hdrs), self->s.key[1], "node-a", "POST", target,
				     body, strlen(body), time(NULL)));
	ASSERT_EQ(0, mn_do(self->s.port, "POST", target, hdrs, body, &r));
	EXPECT_EQ(401, r.status);
	EXPECT_STREQ("bad_signature", mn_error_code(&r, code, sizeof(code)));
	mn_response_free(&r);
	/* unsigned */
	ASSERT_EQ(0, mn_do(self->s.port, "POST", target, "", body, &r));
	EXPECT_EQ(401, r.status);
	mn_response_free(&r);
	/* nothing was recorded */
	o = admin_acks(&self->s);
	ASSERT_NE(NULL, o);
	EXPECT_EQ(0, json_object_get_int64(jpath(o, "acks_received", NULL)));
	EXPECT_FALSE(json_object_get_boolean(jpath(jpath(o, "per_node", "node-a"), "acked", NULL)));
	json_object_put(o);
	/* the good one, then its replay */
	ASSERT_EQ(0, mn_sign_headers(hdrs, sizeof(hdrs), self->s.key[0], "node-a", "POST", target,
				     body, strlen(body), time(NULL)));
	ASSERT_EQ(0, mn_do(self->s.port, "POST", target, hdrs, body, &r));
	EXPECT_EQ(200, r.status) TH_LOG("%s", r.body);
	mn_response_free(&r);
	ASSERT_EQ(0, mn_do(self->s.port, "POST", target, hdrs, body, &r));
	EXPECT_EQ(409, r.status);
	EXPECT_STREQ("replay", mn_error_code(&r, code, sizeof(code)));
	mn_response_free(&r);
	o = admin_acks(&self->s);
	EXPECT_EQ(1, json_object_get_int64(jpath(o, "acks_received", NULL)));
	json_object_put(o);
}

TEST_F(v2, quarantine_counts_peers_that_confirmed_it)
{
	char want[65], body[512];
	struct json_object *o, *q;
	struct mn_response r;
	uint64_t rev, epoch, qrev;

	for (int i = 0; i < N_NODES; i++) {
		ASSERT_EQ(0, submit(&self->s, i, 0.9, &r));
		mn_response_free(&r);
	}
	/* node-c is quarantined: node-a and node-b must confirm it */
	ASSERT_EQ(0, submit(&self->s, 2, 0.1, &r));
	ASSERT_EQ(200, r.status);
	mn_response_free(&r);
	ASSERT_EQ(0, get_config(&self->s, 0, "?rev=0", &r));
	rev = revision_of(&r);
	epoch = (uint64_t)json_int(r.body, "epoch", "id");
	mn_response_free(&r);
	o = admin_acks(&self->s);
	q = json_object_array_get_idx(jpath(o, "quarantines", NULL), 0);
	ASSERT_NE(NULL, q) TH_LOG("the flip to DENIED is a quarantine");
	EXPECT_STREQ("node-c", json_object_get_string(jpath(q, "node_id", NULL)));
	qrev = (uint64_t)json_object_get_int64(jpath(q, "revision", NULL));
	EXPECT_EQ(2, json_object_get_int64(jpath(q, "peers", NULL)));
	EXPECT_EQ(0, json_object_get_int64(jpath(q, "confirmed", NULL)));
	EXPECT_FALSE(json_object_get_boolean(jpath(q, "all_confirmed", NULL)));
	json_object_put(o);

	/* node-c itself acking (DENIED) confirms nothing; node-a does */
	expected_digest(2, (const uint8_t[N_NODES]){ 1, 1, 2 }, want);
	ack_body(body, sizeof(body), 2, rev, epoch, want, NULL);
	ASSERT_EQ(0, ack_as(&self->s, 2, 2, body, &r));
	EXPECT_EQ(200, r.status);
	EXPECT_NE(NULL, strstr(r.body, "\"drift\":null")) TH_LOG("a DENIED node's table is frozen");
	mn_response_free(&r);
	expected_digest(0, (const uint8_t[N_NODES]){ 1, 1, 2 }, want);
	ack_body(body, sizeof(body), 0, rev, epoch, want, NULL);
	ASSERT_EQ(0, ack_as(&self->s, 0, 0, body, &r));
	EXPECT_NE(NULL, strstr(r.body, "\"drift\":false")) TH_LOG("%s", r.body);
	mn_response_free(&r);
	o = admin_acks(&self->s);
	q = json_object_array_get_idx(jpath(o, "quarantines", NULL), 0);
	EXPECT_EQ(1, json_object_get_int64(jpath(q, "confirmed", NULL)));
	EXPECT_FALSE(json_object_get_boolean(jpath(q, "all_confirmed", NULL)));
	json_object_put(o);
	/* node-b: the second and last peer */
	expected_digest(1, (const uint8_t[N_NODES]){ 1, 1, 2 }, want);
	ack_body(body, sizeof(body), 1, rev, epoch, want, NULL);
	ASSERT_EQ(0, ack_as(&self->s, 1, 1, body, &r));
	EXPECT_EQ(200, r.status);
	mn_response_free(&r);
	o = admin_acks(&self->s);
	q = json_object_array_get_idx(jpath(o, "quarantines", NULL), 0);
	EXPECT_EQ(2, json_object_get_int64(jpath(q, "confirmed", NULL)));
	EXPECT_TRUE(json_object_get_boolean(jpath(q, "all_confirmed", NULL)));
	EXPECT_GE(json_object_get_int64(jpath(q, "all_confirmed_ms", NULL)), 0);
	json_object_put(o);
	/* a second ack of node-a does not count twice */
	ack_body(body, sizeof(body), 0, rev, epoch, want, NULL);
	ASSERT_EQ(0, ack_as(&self->s, 0, 0, body, &r));
	mn_response_free(&r);
	o = admin_acks(&self->s);
	q = json_object_array_get_idx(jpath(o, "quarantines", NULL), 0);
	EXPECT_EQ(2, json_object_get_int64(jpath(q, "confirmed", NULL)));
	json_object_put(o);
	ASSERT_EQ(0, mn_do(self->s.port, "GET", "/metrics", "", NULL, &r));
	snprintf(body, sizeof(body), "meshnet_quarantine_confirmed{revision=\"%llu\"} 2\n",
		 (unsigned long long)qrev);
	EXPECT_NE(NULL, strstr(r.body, body)) TH_LOG("%s", r.body);
	EXPECT_NE(NULL, strstr(r.body, "meshnet_quarantine_all_confirmed_seconds{revision=\""))
		TH_LOG("%s", r.body);
	mn_response_free(&r);
	/* status.json holds it too (the epoch thread writes it: at most every second) */
	{
		char path[PATH_MAX + 32];
		FILE *f;

		snprintf(path, sizeof(path), "%s/state/status.json", self->s.dir);
		EXPECT_EQ(0, wait_file(path, 10000));
		server_stop(&self->s, SIGTERM);
		f = fopen(path, "r");
		char text[16384];
		size_t len = f ? fread(text, 1, sizeof(text) - 1, f) : 0;

		if (f)
			fclose(f);
		text[len] = '\0';
		/* written by the epoch thread (at most every second): the section is there */
		EXPECT_NE(NULL, strstr(text, "\"enforcement\": {\"head_revision\"")) TH_LOG("%s", text);
	}
}

TEST(v2_start_and_stop_are_log_records)
{
	char bin[PATH_MAX], cmd[3 * PATH_MAX];
	struct server s;

	memset(&s, 0, sizeof(s));
	mn_family = AF_INET;
	ASSERT_EQ(0, server_prepare(&s));
	ASSERT_EQ(0, server_start(&s, NULL));
	server_stop(&s, SIGTERM);
	ASSERT_EQ(0, server_start(&s, NULL));
	server_stop(&s, SIGKILL);
	ASSERT_EQ(0, server_start(&s, NULL));
	server_stop(&s, SIGTERM);
	meshnetd_path(bin, sizeof(bin));
	snprintf(cmd, sizeof(cmd), "'%s' audit show '%s/state/tlog' | grep -c "
		 "'\"type\":\"controller_start\",\"controller_id\":\"[^\"]*\",\"pid\":[0-9]*,"
		 "\"version\":\"[^\"]*\"' | grep -qx 3", bin, s.dir);
	EXPECT_EQ(0, run_status(cmd)) TH_LOG("three starts, each with its id and version");
	snprintf(cmd, sizeof(cmd), "'%s' audit show '%s/state/tlog' | grep -c "
		 "'\"type\":\"controller_stop\".*\"signal\":15' | grep -qx 2", bin, s.dir);
	EXPECT_EQ(0, run_status(cmd)) TH_LOG("two clean stops (the kill -9 left none)");
	snprintf(cmd, sizeof(cmd), "'%s' audit-verify '%s/state' | grep -q "
		 "'controller: 3 start(s), 2 clean stop(s), 1 unclean stop(s)'", bin, s.dir);
	EXPECT_EQ(0, run_status(cmd)) TH_LOG("audit-verify accepts and counts them");
	server_cleanup(&s);
}

TEST_HARNESS_MAIN
