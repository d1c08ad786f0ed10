// SPDX-License-Identifier: MIT
/*
 * Host tests of the agent's metrics responder (metrics.c) over real
 * sockets: METRICS_LISTEN parsing (good and bad values, each named), the
 * exposition text checked by Prometheus's own `promtool check metrics`,
 * the values it shows from the agent's state and HTTP client (a real
 * refused connection counted as a controller error), bad requests (404,
 * 405, 400, 431), a slow client that neither blocks a scrape nor keeps its
 * slot past the deadline, a unix socket (mode 0660, removed at stop, a
 * regular file at the path never replaced), and the stop. The module is
 * not on the host: module_up is 0 here; the drops per peer are checked on
 * the real mesh in the guest (selftests/e2e/reconcile.vmsuite).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#pragma GCC diagnostic ignored "-Wunused-parameter"
#pragma GCC diagnostic ignored "-Wmissing-prototypes"
#pragma GCC diagnostic ignored "-Wsign-compare"
#include "kselftest_harness.h"

#include "../agent.h"
#include "../http.h"
#include "../metrics.h"

static char reply[65536];

/* Connects to 127.0.0.1:port (or the unix path), sends req, reads the answer into reply. */
static int exchange(unsigned int port, const char *path, const char *req)
{
	int fd;
	size_t got = 0;

	if (path) {
		struct sockaddr_un sun = { .sun_family = AF_UNIX };

		snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
		fd = socket(AF_UNIX, SOCK_STREAM, 0);
		if (fd < 0 || connect(fd, (struct sockaddr *)&sun, sizeof(sun)))
			return -1;
	} else {
		struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };

		a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		fd = socket(AF_INET, SOCK_STREAM, 0);
		if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)))
			return -1;
	}
	if (write(fd, req, strlen(req)) != (ssize_t)strlen(req)) {
		close(fd);
		return -1;
	}
	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t r;

		if (poll(&p, 1, 10000) <= 0)
			break; /* no answer within 10 s */
		r = read(fd, reply + got, sizeof(reply) - 1 - got);
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	reply[got] = '\0';
	close(fd);
	return (int)got;
}

static const char *body_of(void)
{
	const char *b = strstr(reply, "\r\n\r\n");

	return b ? b + 4 : "";
}

/* Writes the body to a file and runs promtool check metrics on it: its exit status. */
static int promtool_check(const char *body, char *out, size_t outlen)
{
	char path[] = "/tmp/meshnet-metrics.XXXXXX", cmd[256];
	int fd = mkstemp(path), st;
	FILE *p;
	size_t n;

	if (fd < 0 || write(fd, body, strlen(body)) != (ssize_t)strlen(body))
		return -1;
	close(fd);
	snprintf(cmd, sizeof(cmd), "promtool check metrics < %s 2>&1", path);
	p = popen(cmd, "r");
	if (!p)
		return -1;
	n = fread(out, 1, outlen - 1, p);
	out[n] = '\0';
	st = pclose(p);
	unlink(path);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

FIXTURE(agent)
{
	struct agent_ctx ctx;
	struct agent_metrics m;
	char dir[64];
	unsigned int port;
};

FIXTURE_SETUP(agent)
{
	struct meshnet_peer peers[2];
	char err[256];

	memset(&self->ctx, 0, sizeof(self->ctx));
	agent_options_defaults(&self->ctx.opts);
	snprintf(self->ctx.opts.node_id, sizeof(self->ctx.opts.node_id), "node-a");
	snprintf(self->dir, sizeof(self->dir), "/tmp/meshnet-metrics-test.XXXXXX");
	ASSERT_NE(NULL, mkdtemp(self->dir));
	ASSERT_EQ(0, agent_state_init(&self->ctx.state, "node-a", self->dir));
	/* what the config agent, the harness and the reconcile loop would have set */
	memset(peers, 0, sizeof(peers));
	snprintf(peers[0].name, sizeof(peers[0].name), "node-b");
	peers[0].flags = MESHNET_PEER_HAS_NAME;
	peers[0].verdict = MESHNET_VERDICT_ALLOWED;
	snprintf(peers[1].name, sizeof(peers[1].name), "node-c");
	peers[1].flags = MESHNET_PEER_HAS_NAME;
	peers[1].verdict = MESHNET_VERDICT_DENIED;
	ASSERT_EQ(0, agent_state_set_peers(&self->ctx.state, peers, 2));
	self->ctx.state.epoch_id = 7;
	self->ctx.state.revision = 42;
	self->ctx.state.valid_until = (uint64_t)time(NULL) + 100;
	self->ctx.state.epoch_applied_at = time(NULL) - 30;
	self->ctx.state.self_verdict = MESHNET_VERDICT_ALLOWED;
	self->ctx.state.last_config_at = time(NULL);
	self->ctx.state.harness_runs = 5;
	self->ctx.state.harness_failures = 2;
	self->ctx.state.harness_duration_ms = 1250;
	self->ctx.state.harness_measured_at = time(NULL) - 12;
	self->ctx.state.repairs[AGENT_REPAIR_WG_DEVICE] = 3;
	self->ctx.state.statements_refused = 4;
	self->ctx.state.checkpoints_refused = 1;
	snprintf(self->ctx.opts.metrics_listen, sizeof(self->ctx.opts.metrics_listen),
		 "127.0.0.1:0");
	ASSERT_EQ(0, agent_metrics_start(&self->m, &self->ctx, err, sizeof(err))) TH_LOG("%s", err);
	self->port = agent_metrics_port(&self->m);
	ASSERT_NE(0, self->port);
}

FIXTURE_TEARDOWN(agent)
{
	char cmd[128];

	atomic_store(&self->ctx.stop, true);
	agent_metrics_stop(&self->m);
	agent_state_destroy(&self->ctx.state);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", self->dir);
	if (system(cmd))
		fprintf(stderr, "# cannot remove %s\n", self->dir);
}

TEST(listen_values)
{
	static const char *const good[] = { "127.0.0.1:9587", "[::1]:9587", "0.0.0.0:0",
					    "/run/meshnet-agent/metrics.sock" };
	static const char *const bad[] = { "localhost:9587", "127.0.0.1", "127.0.0.1:70000",
					   "127.0.0.1:-1", "127.0.0.1:", "::1:9587", "[::1]9587",
					   "relative/metrics.sock", "999.0.0.1:9587", "127.0.0.1:95x" };
	struct agent_metrics_addr a;
	struct agent_options o;
	char err[256];

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		EXPECT_EQ(0, agent_metrics_parse_listen(good[i], &a, err, sizeof(err))) TH_LOG("%s", err);
	}
	EXPECT_EQ(0, agent_metrics_parse_listen("127.0.0.1:9587", &a, err, sizeof(err)));
	EXPECT_TRUE(a.loopback);
	EXPECT_EQ(0, agent_metrics_parse_listen("0.0.0.0:9587", &a, err, sizeof(err)));
	EXPECT_FALSE(a.loopback);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		EXPECT_EQ(-1, agent_metrics_parse_listen(bad[i], &a, err, sizeof(err))) TH_LOG("%s", bad[i]);
		EXPECT_NE(NULL, strstr(err, "METRICS_LISTEN")) TH_LOG("%s", err);
		EXPECT_NE(NULL, strstr(err, bad[i])) TH_LOG("%s", err);
	}
	/* through the settings: refused at start, naming the key */
	agent_options_defaults(&o);
	snprintf(o.node_id, sizeof(o.node_id), "node-a");
	snprintf(o.controller, sizeof(o.controller), "https://ctl:8443");
	snprintf(o.ca_file, sizeof(o.ca_file), "/etc/meshnet/ca.crt");
	o.demo_scores = true;
	EXPECT_EQ(0, agent_option_set(&o, "METRICS_LISTEN", "localhost:1", err, sizeof(err)));
	EXPECT_EQ(-1, agent_options_validate(&o, err, sizeof(err)));
	EXPECT_NE(NULL, strstr(err, "METRICS_LISTEN: 'localhost:1'")) TH_LOG("%s", err);
	EXPECT_EQ(-1, agent_option_set(&o, "METRICS_PEERS_MAX", "100000", err, sizeof(err)));
	EXPECT_NE(NULL, strstr(err, "METRICS_PEERS_MAX")) TH_LOG("%s", err);
	EXPECT_EQ(0, agent_option_set(&o, "METRICS_LISTEN", "", err, sizeof(err)));
	EXPECT_EQ(0, agent_options_validate(&o, err, sizeof(err))) TH_LOG("%s", err);
}

TEST(off_by_default)
{
	struct agent_ctx ctx;
	struct agent_metrics m;
	char err[128];

	memset(&ctx, 0, sizeof(ctx));
	agent_options_defaults(&ctx.opts);
	EXPECT_STREQ("", ctx.opts.metrics_listen);
	EXPECT_EQ(0, agent_metrics_start(&m, &ctx, err, sizeof(err)));
	EXPECT_EQ(-1, m.listen_fd);
	EXPECT_EQ(0, agent_metrics_port(&m));
	agent_metrics_stop(&m);
}

TEST_F(agent, scrape_passes_promtool_and_shows_the_state)
{
	struct agent_http h;
	struct agent_http_reply r;
	unsigned long long before[AGENT_HTTP_ERROR_COUNT], after[AGENT_HTTP_ERROR_COUNT];
	EVP_PKEY *key = NULL;
	EVP_PKEY_CTX *kc = EVP_PKEY_CTX_new_id(EVP_PKEY_ED25519, NULL);
	char err[512], line[128], out[4096];
	const char *body;
	static const char *const want[] = {
		"meshnet_agent_epoch 7\n",
		"meshnet_agent_revision 42\n",
		"meshnet_agent_allowed 1\n",
		"meshnet_agent_peers{verdict=\"ALLOWED\"} 1\n",
		"meshnet_agent_peers{verdict=\"DENIED\"} 1\n",
		"meshnet_agent_harness_runs_total 5\n",
		"meshnet_agent_harness_failures_total 2\n",
		"meshnet_agent_harness_duration_seconds 1.250\n",
		"meshnet_agent_reconcile_repairs_total{kind=\"wg_device\"} 3\n",
		"meshnet_agent_reconcile_repairs_total{kind=\"resync\"} 0\n",
		"meshnet_agent_refusals_total{what=\"statement\"} 3\n",
		"meshnet_agent_refusals_total{what=\"checkpoint\"} 1\n",
		"meshnet_agent_wg_pending 0\n",
		"meshnet_agent_module_up 0\n",
		"meshnet_agent_info{version=\"",
		"# TYPE meshnet_agent_controller_errors_total counter\n",
	};
	long lease, age;
	const char *p;

	/* a real refused connection: counted as a controller error of kind connect */
	ASSERT_NE(NULL, kc);
	ASSERT_EQ(1, EVP_PKEY_keygen_init(kc));
	ASSERT_EQ(1, EVP_PKEY_keygen(kc, &key));
	EVP_PKEY_CTX_free(kc);
	ASSERT_EQ(0, agent_http_global_init());
	ASSERT_EQ(0, agent_http_init(&h, key, "node-a", "http://127.0.0.1:1", NULL, &self->ctx.stop));
	agent_http_error_counts(before);
	EXPECT_EQ(-1, agent_http_request(&h, "GET", "/health", NULL, 5, &r, err, sizeof(err)));
	agent_http_error_counts(after);
	agent_http_free(&h);
	EVP_PKEY_free(key);
	EXPECT_EQ(before[AGENT_HTTP_ERR_CONNECT] + 1, after[AGENT_HTTP_ERR_CONNECT]);

	ASSERT_LT(0, exchange(self->port, NULL, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"));
	ASSERT_EQ(0, strncmp(reply, "HTTP/1.1 200 OK\r\n", 17)) TH_LOG("%s", reply);
	EXPECT_NE(NULL, strstr(reply, "Content-Type: text/plain; version=0.0.4"));
	body = body_of();
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		EXPECT_NE(NULL, strstr(body, want[i])) TH_LOG("missing %s", want[i]);
	}
	snprintf(line, sizeof(line), "meshnet_agent_controller_errors_total{kind=\"connect\"} %llu\n",
		 after[AGENT_HTTP_ERR_CONNECT]);
	EXPECT_NE(NULL, strstr(body, line)) TH_LOG("missing %s", line);
	p = strstr(body, "\nmeshnet_agent_lease_remaining_seconds ");
	ASSERT_NE(NULL, p);
	lease = strtol(p + strlen("\nmeshnet_agent_lease_remaining_seconds "), NULL, 10);
	EXPECT_TRUE(lease > 90 && lease <= 100) TH_LOG("lease %ld", lease);
	p = strstr(body, "\nmeshnet_agent_epoch_age_seconds ");
	ASSERT_NE(NULL, p);
	age = strtol(p + strlen("\nmeshnet_agent_epoch_age_seconds "), NULL, 10);
	EXPECT_TRUE(age >= 30 && age < 40) TH_LOG("age %ld", age);
	/* Prometheus's own checker (package prometheus, scripts/install-deps.sh) */
	EXPECT_EQ(0, promtool_check(body, out, sizeof(out))) TH_LOG("promtool: %s", out);
	/* and it can fail: a broken exposition is refused */
	EXPECT_NE(0, promtool_check("# TYPE x counter\nx{a=\"1\" 1\n", out, sizeof(out)));
}

TEST_F(agent, bad_requests)
{
	ASSERT_LT(0, exchange(self->port, NULL, "POST /metrics HTTP/1.1\r\n\r\n"));
	EXPECT_EQ(0, strncmp(reply, "HTTP/1.1 405 ", 13)) TH_LOG("%s", reply);
	EXPECT_NE(NULL, strstr(reply, "Allow: GET, HEAD\r\n"));
	ASSERT_LT(0, exchange(self->port, NULL, "GET / HTTP/1.1\r\n\r\n"));
	EXPECT_EQ(0, strncmp(reply, "HTTP/1.1 404 ", 13)) TH_LOG("%s", reply);
	ASSERT_LT(0, exchange(self->port, NULL, "GET /metricsfoo HTTP/1.1\r\n\r\n"));
	EXPECT_EQ(0, strncmp(reply, "HTTP/1.1 404 ", 13)) TH_LOG("%s", reply);
	ASSERT_LT(0, exchange(self->port, NULL, "hello\r\n\r\n"));
	EXPECT_EQ(0, strncmp(reply, "HTTP/1.1 400 ", 13)) TH_LOG("%s", reply);
	ASSERT_LT(0, exchange(self->port, NULL, "GET /metrics SMTP/1.0\r\n\r\n"));
	EXPECT_EQ(0, strncmp(reply, "HTTP/1.1 400 ", 13)) TH_LOG("%s", reply);
	{
		char big[3000];

		memset(big, 'a', sizeof(big) - 1);
		big[sizeof(big) - 1] = '\0';
		memcpy(big, "GET /metrics HTTP/1.1\r\nX: ", 26);
		ASSERT_LT(0, exchange(self->port, NULL, big));
		EXPECT_EQ(0, strncmp(reply, "HTTP/1.1 431 ", 13)) TH_LOG("%.80s", reply);
	}
	ASSERT_LT(0, exchange(self->port, NULL, "HEAD /metrics HTTP/1.0\r\n\r\n"));
	EXPECT_EQ(0, strncmp(reply, "HTTP/1.1 200 ", 13)) TH_LOG("%s", reply);
	EXPECT_STREQ("", body_of());
	/* after all that, a scrape still works */
	ASSERT_LT(0, exchange(self->port, NULL, "GET /metrics HTTP/1.1\r\n\r\n"));
	EXPECT_EQ(0, strncmp(reply, "HTTP/1.1 200 ", 13));
}

TEST_F(agent, slow_client_blocks_nothing_and_is_cut_at_the_deadline)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)self->port) };
	struct timespec t0, t1;
	struct pollfd pfd;
	char buf[16];
	int slow;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	slow = socket(AF_INET, SOCK_STREAM, 0);
	ASSERT_EQ(0, connect(slow, (struct sockaddr *)&a, sizeof(a)));
	ASSERT_EQ(4, write(slow, "GET ", 4)); /* and then nothing */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ASSERT_LT(0, exchange(self->port, NULL, "GET /metrics HTTP/1.1\r\n\r\n"));
	clock_gettime(CLOCK_MONOTONIC, &t1);
	EXPECT_EQ(0, strncmp(reply, "HTTP/1.1 200 ", 13));
	/* answered while the slow one is still open, well before its deadline */
	EXPECT_LT(t1.tv_sec - t0.tv_sec, AGENT_METRICS_DEADLINE_MS / 1000);
	/* the slow one is closed at the deadline (EOF), not kept for ever */
	pfd = (struct pollfd){ .fd = slow, .events = POLLIN };
	ASSERT_EQ(1, poll(&pfd, 1, AGENT_METRICS_DEADLINE_MS + 5000));
	EXPECT_EQ(0, read(slow, buf, sizeof(buf)));
	close(slow);
}

TEST_F(agent, every_slot_taken_sheds_the_newcomer_then_recovers)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)self->port) };
	int fds[AGENT_METRICS_CLIENTS];

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	for (int i = 0; i < AGENT_METRICS_CLIENTS; i++) {
		fds[i] = socket(AF_INET, SOCK_STREAM, 0);
		ASSERT_EQ(0, connect(fds[i], (struct sockaddr *)&a, sizeof(a)));
	}
	usleep(500000); /* all accepted */
	/* the ninth is closed at once (no answer, no wait) */
	EXPECT_EQ(0, exchange(self->port, NULL, "GET /metrics HTTP/1.1\r\n\r\n"));
	for (int i = 0; i < AGENT_METRICS_CLIENTS; i++)
		close(fds[i]);
	usleep(500000);
	ASSERT_LT(0, exchange(self->port, NULL, "GET /metrics HTTP/1.1\r\n\r\n"));
	EXPECT_EQ(0, strncmp(reply, "HTTP/1.1 200 ", 13));
}

TEST_F(agent, stop_is_prompt)
{
	struct timespec t0, t1;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	atomic_store(&self->ctx.stop, true);
	agent_metrics_stop(&self->m);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	EXPECT_LT(t1.tv_sec - t0.tv_sec, 2);
	EXPECT_EQ(-1, exchange(self->port, NULL, "GET /metrics HTTP/1.1\r\n\r\n"));
}

TEST(unix_socket)
{
	struct agent_ctx ctx;
	struct agent_metrics m;
	char dir[] = "/tmp/meshnet-metrics-unix.XXXXXX", path[128], err[256];
	struct stat st;
	int fd;

	ASSERT_NE(NULL, mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/metrics.sock", dir);
	memset(&ctx, 0, sizeof(ctx));
	agent_options_defaults(&ctx.opts);
	snprintf(ctx.opts.node_id, sizeof(ctx.opts.node_id), "node-u");
	ASSERT_EQ(0, agent_state_init(&ctx.state, "node-u", dir));
	snprintf(ctx.opts.metrics_listen, sizeof(ctx.opts.metrics_listen), "%s", path);
	ASSERT_EQ(0, agent_metrics_start(&m, &ctx, err, sizeof(err))) TH_LOG("%s", err);
	ASSERT_EQ(0, stat(path, &st));
	EXPECT_TRUE(S_ISSOCK(st.st_mode));
	EXPECT_EQ(0660, st.st_mode & 0777);
	ASSERT_LT(0, exchange(0, path, "GET /metrics HTTP/1.1\r\n\r\n"));
	EXPECT_EQ(0, strncmp(reply, "HTTP/1.1 200 ", 13));
	EXPECT_NE(NULL, strstr(body_of(), "node=\"node-u\""));
	atomic_store(&ctx.stop, true);
	agent_metrics_stop(&m);
	EXPECT_EQ(-1, stat(path, &st)); /* removed */
	/* a regular file at the path is never replaced */
	fd = open(path, O_CREAT | O_WRONLY, 0600);
	ASSERT_LE(0, fd);
	close(fd);
	atomic_store(&ctx.stop, false);
	EXPECT_EQ(-1, agent_metrics_start(&m, &ctx, err, sizeof(err)));
	EXPECT_NE(NULL, strstr(err, "cannot listen on")) TH_LOG("%s", err);
	ASSERT_EQ(0, stat(path, &st));
	EXPECT_TRUE(S_ISREG(st.st_mode));
	unlink(path);
	rmdir(dir);
	agent_state_destroy(&ctx.state);
}

TEST_HARNESS_MAIN
