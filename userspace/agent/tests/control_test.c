// SPDX-License-Identifier: MIT
/*
 * Host tests of the agent's control path (no kernel needed): the list of
 * controllers (parsing, bad entries, spreading nodes by id) and the signed
 * HTTP client failing over between real local sockets (a dead controller,
 * one answering 503, one answering).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#pragma GCC diagnostic ignored "-Wunused-parameter"
#pragma GCC diagnostic ignored "-Wmissing-prototypes"
#pragma GCC diagnostic ignored "-Wsign-compare"
#include "kselftest_harness.h"

#include "../ctl_urls.h"
#include "../http.h"
#include "../options.h"
#include "log.h"
#include "sign.h"

/* ---------- the list of controllers ---------- */

TEST(controller_urls_parse)
{
	struct agent_ctl_urls u;
	char err[512];

	ASSERT_EQ(0, agent_ctl_urls_parse(&u, "https://a:8443", err, sizeof(err))) TH_LOG("%s", err);
	EXPECT_EQ(1, u.n);
	EXPECT_STREQ("https://a:8443", u.url[0]);
	ASSERT_EQ(0, agent_ctl_urls_parse(&u, "https://a:8443/, http://10.0.0.2:80 ,https://[fd00::1]:8443",
					  err, sizeof(err)))
		TH_LOG("%s", err);
	EXPECT_EQ(3, u.n);
	EXPECT_STREQ("https://a:8443", u.url[0]);
	EXPECT_STREQ("http://10.0.0.2:80", u.url[1]);
	EXPECT_STREQ("https://[fd00::1]:8443", u.url[2]);
}

TEST(controller_urls_bad_entries_named)
{
	static const struct {
		const char *list, *expect;
	} bad[] = {
		{ "", "empty controller URL" },
		{ "https://a:1,", "empty controller URL" },
		{ "https://a:1,,https://b:1", "empty controller URL" },
		{ "ftp://a", "'ftp://a' is not an http:// or https:// URL" },
		{ "https://a:1,b:2", "'b:2' is not an http:// or https:// URL" },
		{ "https://", "is not an http:// or https:// URL" },
		{ "https://a:1/v1", "'https://a:1/v1' is not" },
		{ "https://user@a:1", "is not an http:// or https:// URL" },
		{ "https://a:1?x=1", "is not an http:// or https:// URL" },
		{ "https://a:1,https://a:1/", "'https://a:1' is listed twice" },
		{ "http://a,http://b,http://c,http://d,http://e,http://f,http://g,http://h,http://i",
		  "more than 8 controller URLs" },
	};
	struct agent_ctl_urls u;
	char err[512];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		EXPECT_EQ(-1, agent_ctl_urls_parse(&u, bad[i].list, err, sizeof(err)))
			TH_LOG("'%s' was accepted", bad[i].list);
		EXPECT_NE(NULL, strstr(err, bad[i].expect))
			TH_LOG("'%s': got '%s', want '%s'", bad[i].list, err, bad[i].expect);
	}
}

TEST(controller_urls_settings)
{
	struct agent_options o;
	char err[512];

	agent_options_defaults(&o);
	ASSERT_EQ(0, agent_option_set(&o, "NODE_ID", "node-a", err, sizeof(err)));
	ASSERT_EQ(0, agent_option_set(&o, "CONTROLLER_URLS", "https://a:8443,https://b:8443", err,
				      sizeof(err)))
		TH_LOG("%s", err);
	ASSERT_EQ(0, agent_option_set(&o, "CA_FILE", "/tmp/ca.pem", err, sizeof(err)));
	/* a score source is required (issue 14): these cases are about the URLs */
	ASSERT_EQ(0, agent_option_set(&o, "DEMO_SCORES", "yes", err, sizeof(err)));
	EXPECT_EQ(0, agent_options_validate(&o, err, sizeof(err))) TH_LOG("%s", err);
	/* a plain-http entry anywhere in the list needs ALLOW_PLAIN_HTTP */
	ASSERT_EQ(0, agent_option_set(&o, "CONTROLLER_URLS", "https://a:8443,http://b:8080", err,
				      sizeof(err)));
	EXPECT_EQ(-1, agent_options_validate(&o, err, sizeof(err)));
	EXPECT_NE(NULL, strstr(err, "http://b:8080 is plain http")) TH_LOG("%s", err);
	EXPECT_EQ(-1, agent_option_set(&o, "CONTROLLER_URLS", "https://a:8443,gopher://b", err,
				       sizeof(err)));
	EXPECT_NE(NULL, strstr(err, "CONTROLLER_URLS: 'gopher://b' is not")) TH_LOG("%s", err);
}

TEST(controller_urls_spread_nodes)
{
	struct agent_ctl_urls u;
	unsigned int count[3] = { 0 };
	char err[256], id[32];

	ASSERT_EQ(0, agent_ctl_urls_parse(&u, "https://a:1,https://b:1,https://c:1", err,
					  sizeof(err)));
	for (int i = 0; i < 3000; i++) {
		snprintf(id, sizeof(id), "node-%d", i);
		count[agent_ctl_urls_start(&u, id)]++;
	}
	EXPECT_GT(count[0], 800) TH_LOG("controller 0 got %u of 3000 nodes", count[0]);
	EXPECT_GT(count[1], 800) TH_LOG("controller 1 got %u of 3000 nodes", count[1]);
	EXPECT_GT(count[2], 800) TH_LOG("controller 2 got %u of 3000 nodes", count[2]);
	/* the same node always starts at the same controller */
	EXPECT_EQ(agent_ctl_urls_start(&u, "node-a"), agent_ctl_urls_start(&u, "node-a"));
	u.n = 1;
	EXPECT_EQ(0, agent_ctl_urls_start(&u, "node-a"));
}

/* ---------- failover between real sockets ---------- */

struct server {
	int fd;
	const char *answer;
	unsigned int served;
	char request[8192];
	pthread_t thread;
};

static void *serve(void *arg)
{
	struct server *s = arg;
	int c = accept(s->fd, NULL, NULL);
	size_t len = 0;
	ssize_t n;

	if (c < 0)
		return NULL;
	while (len < sizeof(s->request) - 1) {
		n = recv(c, s->request + len, sizeof(s->request) - 1 - len, 0);
		if (n <= 0)
			break;
		len += (size_t)n;
		s->request[len] = '\0';
		if (strstr(s->request, "\r\n\r\n"))
			break;
	}
	if (send(c, s->answer, strlen(s->answer), MSG_NOSIGNAL) > 0)
		s->served++;
	close(c);
	return NULL;
}

static int listen_loopback(unsigned int *port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t alen = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) || listen(fd, 4) ||
	    getsockname(fd, (struct sockaddr *)&a, &alen))
		return -1;
	*port = ntohs(a.sin_port);
	return fd;
}

static const char ok_answer[] = "HTTP/1.1 200 OK\r\nContent-Length: 11\r\nConnection: close\r\n\r\n"
				"{\"ok\":true}";
static const char busy_answer[] =
	"HTTP/1.1 503 Service Unavailable\r\nRetry-After: 1\r\nContent-Length: 56\r\n"
	"Connection: close\r\n\r\n{\"error\":{\"code\":\"busy\",\"message\":\"long-poll is full\"}}";

/*
 * URL list "first,second" ordered so that node_id starts at first: the
 * list is built in both orders until agent_ctl_urls_start picks first.
 */
static void ordered_list(char *out, size_t outlen, const char *first, const char *second,
			 const char *node_id, size_t *first_index)
{
	struct agent_ctl_urls u;
	char err[256];

	snprintf(out, outlen, "%s,%s", first, second);
	agent_ctl_urls_parse(&u, out, err, sizeof(err));
	*first_index = 0;
	if (agent_ctl_urls_start(&u, node_id) != 0) {
		snprintf(out, outlen, "%s,%s", second, first);
		*first_index = 1;
	}
}

FIXTURE(keypair) {
	EVP_PKEY *key, *pub;
	atomic_bool stop;
};

FIXTURE_SETUP(keypair)
{
	uint8_t seed[32], pub[32];

	meshnet_log_init("test", MESHNET_LOG_ERROR);
	ASSERT_EQ(0, meshnet_ed25519_generate(seed, pub));
	self->key = meshnet_ed25519_private_from_raw(seed);
	self->pub = meshnet_ed25519_public_from_raw(pub);
	atomic_store(&self->stop, false);
	ASSERT_EQ(0, agent_http_global_init());
}

FIXTURE_TEARDOWN(keypair)
{
	EVP_PKEY_free(self->key);
	EVP_PKEY_free(self->pub);
}

TEST_F(keypair, http_fails_over_from_a_dead_controller)
{
	struct server live = { .answer = ok_answer };
	struct agent_http h;
	struct agent_http_reply r;
	unsigned int dead_port, live_port;
	int dead_fd = listen_loopback(&dead_port);
	char dead[64], alive[64], list[160], err[512];
	size_t dead_index;

	ASSERT_LE(0, dead_fd);
	close(dead_fd); /* nobody listens there: connection refused */
	live.fd = listen_loopback(&live_port);
	ASSERT_LE(0, live.fd);
	snprintf(dead, sizeof(dead), "http://127.0.0.1:%u", dead_port);
	snprintf(alive, sizeof(alive), "http://127.0.0.1:%u", live_port);
	ordered_list(list, sizeof(list), dead, alive, "node-a", &dead_index);
	ASSERT_EQ(0, pthread_create(&live.thread, NULL, serve, &live));
	ASSERT_EQ(0, agent_http_init(&h, self->key, "node-a", list, NULL, &self->stop));
	EXPECT_STREQ(dead, agent_http_url(&h));
	ASSERT_EQ(0, agent_http_request(&h, "GET", "/v1/config/node-a?rev=3", NULL, 5, &r, err,
					sizeof(err)))
		TH_LOG("%s", err);
	pthread_join(live.thread, NULL);
	EXPECT_EQ(200, r.status);
	EXPECT_EQ(1, live.served);
	/* it stays with the one that answered */
	EXPECT_STREQ(alive, agent_http_url(&h));
	EXPECT_NE(NULL, strstr(live.request, "GET /v1/config/node-a?rev=3 HTTP/1.1"));
	agent_http_reply_free(&r);
	agent_http_free(&h);
	close(live.fd);
}

TEST_F(keypair, http_fails_over_from_a_busy_controller_and_signs_anew)
{
	struct server busy = { .answer = busy_answer }, live = { .answer = ok_answer };
	struct agent_http h;
	struct agent_http_reply r;
	unsigned int busy_port, live_port;
	char a[64], b[64], list[160], err[512];
	size_t busy_index;
	const char *n1, *n2;

	busy.fd = listen_loopback(&busy_port);
	live.fd = listen_loopback(&live_port);
	ASSERT_LE(0, busy.fd);
	ASSERT_LE(0, live.fd);
	snprintf(a, sizeof(a), "http://127.0.0.1:%u", busy_port);
	snprintf(b, sizeof(b), "http://127.0.0.1:%u", live_port);
	ordered_list(list, sizeof(list), a, b, "node-b", &busy_index);
	ASSERT_EQ(0, pthread_create(&busy.thread, NULL, serve, &busy));
	ASSERT_EQ(0, pthread_create(&live.thread, NULL, serve, &live));
	ASSERT_EQ(0, agent_http_init(&h, self->key, "node-b", list, NULL, &self->stop));
	ASSERT_EQ(0, agent_http_request(&h, "GET", "/v1/config/node-b", NULL, 5, &r, err,
					sizeof(err)))
		TH_LOG("%s", err);
	pthread_join(busy.thread, NULL);
	pthread_join(live.thread, NULL);
	EXPECT_EQ(200, r.status);
	EXPECT_EQ(1, busy.served);
	EXPECT_EQ(1, live.served);
	EXPECT_STREQ(b, agent_http_url(&h));
	/* each controller got its own nonce (a shared replay cache refuses a reuse) */
	n1 = strcasestr(busy.request, MESHNET_HDR_NONCE);
	n2 = strcasestr(live.request, MESHNET_HDR_NONCE);
	ASSERT_NE(NULL, n1);
	ASSERT_NE(NULL, n2);
	EXPECT_NE(0, strncmp(n1, n2, strlen(MESHNET_HDR_NONCE) + 34));
	agent_http_reply_free(&r);
	agent_http_free(&h);
	close(busy.fd);
	close(live.fd);
}

TEST_F(keypair, http_all_controllers_down_fails_once_around)
{
	struct agent_http h;
	struct agent_http_reply r;
	unsigned int p1, p2;
	int f1 = listen_loopback(&p1), f2 = listen_loopback(&p2);
	char list[160], err[512] = "";
	size_t start;

	ASSERT_LE(0, f1);
	ASSERT_LE(0, f2);
	close(f1);
	close(f2);
	snprintf(list, sizeof(list), "http://127.0.0.1:%u,http://127.0.0.1:%u", p1, p2);
	ASSERT_EQ(0, agent_http_init(&h, self->key, "node-c", list, NULL, &self->stop));
	start = h.current;
	EXPECT_EQ(-1, agent_http_request(&h, "GET", "/v1/config/node-c", NULL, 2, &r, err,
					 sizeof(err)));
	EXPECT_NE(0, strlen(err));
	/* tried both once (went once around the list), then gave up */
	EXPECT_EQ(start, h.current);
	agent_http_free(&h);
}

TEST_HARNESS_MAIN
