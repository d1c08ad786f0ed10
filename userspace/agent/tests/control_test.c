// SPDX-License-Identifier: MIT
/*
 * Host tests of the agent's control path (no kernel needed): the list of
 * controllers (parsing, bad entries, spreading nodes by id), the signed
 * HTTP client failing over between real local sockets (a dead controller,
 * one answering 503, one answering), and the v2 statements an agent
 * accepts and refuses (CONTRACT-v2 §3), signed with real Ed25519 keys,
 * group-mode PSKs derived on both ends with real X25519 keys.
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
#include <sys/stat.h>

#pragma GCC diagnostic ignored "-Wunused-parameter"
#pragma GCC diagnostic ignored "-Wmissing-prototypes"
#pragma GCC diagnostic ignored "-Wsign-compare"
#include "kselftest_harness.h"

#include <openssl/evp.h>

#include "../ctl_urls.h"
#include "../http.h"
#include "../options.h"
#include "../statement_read.h"
#include "b64.h"
#include "group_psk.h"
#include "log.h"
#include "sign.h"
#include "statement.h"
#include "table_digest.h"
#include "../monitor.h"
#include "strbuf.h"
#include "tlog/checkpoint.h"

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

/* ---------- v2 statements: what an agent accepts and refuses ---------- */

struct x25519 {
	uint8_t priv[32], pub[32];
};

static int x25519_new(struct x25519 *k)
{
	EVP_PKEY *p = NULL;
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_id(EVP_PKEY_X25519, NULL);
	size_t a = 32, b = 32;
	int ok = ctx && EVP_PKEY_keygen_init(ctx) == 1 && EVP_PKEY_keygen(ctx, &p) == 1 &&
		 EVP_PKEY_get_raw_private_key(p, k->priv, &a) == 1 &&
		 EVP_PKEY_get_raw_public_key(p, k->pub, &b) == 1;

	EVP_PKEY_free(p);
	EVP_PKEY_CTX_free(ctx);
	return ok ? 0 : -1;
}

FIXTURE(statements) {
	EVP_PKEY *ctl, *other;        /* the controller's key, another key */
	struct x25519 a, b, c;        /* node-a (the receiver), node-b, node-c */
	char a_pub[48], b_pub[48], c_pub[48];
	uint8_t group_key[32];
	char group_key_b64[48], commitment[65];
	int64_t now;
	struct agent_statement_ctx sc;
	struct agent_http_reply reply;
	struct agent_statement st;
	char why[512];
};

FIXTURE_SETUP(statements)
{
	uint8_t seed[32], pub[32], commit[32];

	meshnet_log_init("test", MESHNET_LOG_ERROR);
	ASSERT_EQ(0, meshnet_ed25519_generate(seed, pub));
	self->ctl = meshnet_ed25519_private_from_raw(seed);
	ASSERT_EQ(0, meshnet_ed25519_generate(seed, pub));
	self->other = meshnet_ed25519_private_from_raw(seed);
	ASSERT_EQ(0, x25519_new(&self->a));
	ASSERT_EQ(0, x25519_new(&self->b));
	ASSERT_EQ(0, x25519_new(&self->c));
	meshnet_b64_encode(self->a_pub, self->a.pub, 32);
	meshnet_b64_encode(self->b_pub, self->b.pub, 32);
	meshnet_b64_encode(self->c_pub, self->c.pub, 32);
	for (int i = 0; i < 32; i++)
		self->group_key[i] = (uint8_t)(7 * i + 1);
	meshnet_b64_encode(self->group_key_b64, self->group_key, 32);
	meshnet_group_key_commitment(commit, self->group_key);
	meshnet_hex_encode(self->commitment, commit, 32);
	self->now = time(NULL);
	self->sc = (struct agent_statement_ctx){
		.controller_key = self->ctl, /* a private key verifies too */
		.node_id = "node-a",
		.mesh_id = "meshnet",
		.wg_private = self->a.priv,
		.wg_public = self->a.pub,
		.held_revision = 10,
		.now = self->now,
	};
}

FIXTURE_TEARDOWN(statements)
{
	agent_statement_free(&self->st);
	free(self->reply.body);
	EVP_PKEY_free(self->ctl);
	EVP_PKEY_free(self->other);
}

/* The reply carrying body, signed by key (NULL: no signature header). */
static void make_reply(struct agent_http_reply *r, long status, const char *body, EVP_PKEY *key,
		       const char *group_key)
{
	free(r->body);
	memset(r, 0, sizeof(*r));
	r->status = status;
	r->body = strdup(body);
	r->len = strlen(body);
	if (key)
		meshnet_statement_sign(key, body, r->len, r->statement_sig);
	if (group_key)
		snprintf(r->group_key, sizeof(r->group_key), "%s", group_key);
}

/* A statement body; fields given as printf pieces. */
static char *body_of(const char *type, const char *mesh, const char *audience,
		     unsigned long long base, unsigned long long rev, long long valid_until,
		     const char *key_mode, const char *commitment, const char *self,
		     const char *list)
{
	char *out = NULL;
	char basebuf[48] = "", commitbuf[120] = "";

	if (base)
		snprintf(basebuf, sizeof(basebuf), "\"base_revision\":%llu,", base);
	if (commitment)
		snprintf(commitbuf, sizeof(commitbuf), ",\"group_key_commitment\":\"%s\"", commitment);
	if (asprintf(&out,
		     "{\"v\":2,\"type\":\"%s\",\"mesh_id\":\"%s\",\"audience\":\"%s\",%s"
		     "\"revision\":%llu,\"issued_unix\":%lld,\"epoch\":{\"id\":3,\"start_unix\":%lld,"
		     "\"rotate_unix\":%lld,\"valid_until_unix\":%lld,\"key_mode\":\"%s\"%s}%s%s}",
		     type, mesh, audience, basebuf, rev, (long long)time(NULL),
		     (long long)time(NULL) - 5, (long long)time(NULL) + 60, valid_until, key_mode,
		     commitbuf, self, list) < 0)
		return NULL;
	return out;
}

#define SELF_ALLOWED ",\"membership\":\"ALLOWED\",\"reason\":\"score 0.91 >= threshold 0.70\""
#define PSK_B64 "AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA="

/* A pairwise snapshot for node-a with b ALLOWED (PSK) and c DENIED. */
static char *pairwise_snapshot(FIXTURE_DATA(statements) *self, unsigned long long rev,
			       long long valid_until, const char *audience, const char *mesh)
{
	char list[600];

	snprintf(list, sizeof(list),
		 ",\"peers\":[{\"node_id\":\"node-b\",\"public_key\":\"%s\",\"endpoint\":\"192.0.2.2:51820\","
		 "\"allowed_ips\":[\"10.10.0.2/32\"],\"membership\":\"ALLOWED\",\"psk\":\"%s\"},"
		 "{\"node_id\":\"node-c\",\"public_key\":\"%s\",\"allowed_ips\":[\"10.10.0.3/32\"],"
		 "\"membership\":\"DENIED\"}]",
		 self->b_pub, PSK_B64, self->c_pub);
	return body_of("snapshot", mesh, audience, 0, rev, valid_until, "pairwise", NULL,
		       SELF_ALLOWED, list);
}

TEST_F(statements, pairwise_snapshot_accepted)
{
	char *body = pairwise_snapshot(self, 11, self->now + 600, "node-a", "meshnet");

	make_reply(&self->reply, 200, body, self->ctl, NULL);
	ASSERT_EQ(0, agent_statement_read(&self->reply, &self->sc, &self->st, self->why,
					  sizeof(self->why)))
		TH_LOG("%s", self->why);
	EXPECT_EQ(MESHNET_STATEMENT_SNAPSHOT, self->st.info.type);
	EXPECT_EQ(11, self->st.info.revision);
	EXPECT_EQ(3, self->st.info.epoch_id);
	EXPECT_EQ(MESHNET_VERDICT_ALLOWED, self->st.self_verdict);
	ASSERT_EQ(2, self->st.n_peers);
	EXPECT_STREQ("node-b", self->st.peers[0].name);
	EXPECT_TRUE(self->st.peers[0].flags & MESHNET_PEER_HAS_PSK);
	EXPECT_EQ(1, self->st.peers[0].psk[0]);
	EXPECT_EQ(MESHNET_VERDICT_DENIED, self->st.peers[1].verdict);
	EXPECT_FALSE(self->st.peers[1].flags & MESHNET_PEER_HAS_PSK);
	free(body);
}

/* Each refusal: the sentence it must contain. */
static void expect_refused(struct __test_metadata *_metadata, FIXTURE_DATA(statements) *self,
			   const char *expect)
{
	int r = agent_statement_read(&self->reply, &self->sc, &self->st, self->why,
				     sizeof(self->why));

	EXPECT_EQ(-1, r) TH_LOG("accepted; wanted a refusal with '%s'", expect);
	EXPECT_NE(NULL, strstr(self->why, expect)) TH_LOG("got '%s', want '%s'", self->why, expect);
	/* nothing to apply */
	EXPECT_EQ(0, self->st.n_peers);
	EXPECT_EQ(NULL, self->st.peers);
	EXPECT_FALSE(self->st.has_group_key);
}

TEST_F(statements, refuses_unsigned)
{
	char *body = pairwise_snapshot(self, 11, self->now + 600, "node-a", "meshnet");

	make_reply(&self->reply, 200, body, NULL, NULL);
	expect_refused(_metadata, self, "carries no X-Meshnet-Statement-Signature header");
	free(body);
}

TEST_F(statements, refuses_another_key)
{
	char *body = pairwise_snapshot(self, 11, self->now + 600, "node-a", "meshnet");

	make_reply(&self->reply, 200, body, self->other, NULL);
	expect_refused(_metadata, self, "does not verify with the controller key");
	free(body);
}

TEST_F(statements, refuses_a_changed_body)
{
	char *body = pairwise_snapshot(self, 11, self->now + 600, "node-a", "meshnet");
	char *p;

	make_reply(&self->reply, 200, body, self->ctl, NULL);
	/* signed, then c's verdict rewritten on the way */
	p = strstr(self->reply.body, "\"DENIED\"");
	ASSERT_NE(NULL, p);
	memcpy(p, "\"ALLOWD\"", 8);
	expect_refused(_metadata, self, "does not verify with the controller key");
	free(body);
}

TEST_F(statements, refuses_a_truncated_body_and_signature)
{
	char *body = pairwise_snapshot(self, 11, self->now + 600, "node-a", "meshnet");

	/* truncated after signing */
	make_reply(&self->reply, 200, body, self->ctl, NULL);
	self->reply.len -= 10;
	self->reply.body[self->reply.len] = '\0';
	expect_refused(_metadata, self, "does not verify");
	/* truncated, and signed as truncated: the JSON itself is refused */
	body[strlen(body) - 10] = '\0';
	make_reply(&self->reply, 200, body, self->ctl, NULL);
	expect_refused(_metadata, self, "not well-formed JSON");
	free(body);
	/* a truncated signature */
	body = pairwise_snapshot(self, 11, self->now + 600, "node-a", "meshnet");
	make_reply(&self->reply, 200, body, self->ctl, NULL);
	self->reply.statement_sig[40] = '\0';
	expect_refused(_metadata, self, "does not verify");
	free(body);
}

TEST_F(statements, refuses_another_nodes_statement)
{
	char *body = pairwise_snapshot(self, 11, self->now + 600, "node-b", "meshnet");

	make_reply(&self->reply, 200, body, self->ctl, NULL);
	expect_refused(_metadata, self, "addressed to node-b, not to this node");
	free(body);
	body = pairwise_snapshot(self, 11, self->now + 600, "*", "meshnet");
	make_reply(&self->reply, 200, body, self->ctl, NULL);
	expect_refused(_metadata, self, "only a delta may be addressed to every node");
	free(body);
}

TEST_F(statements, refuses_another_mesh)
{
	char *body = pairwise_snapshot(self, 11, self->now + 600, "node-a", "othermesh");

	make_reply(&self->reply, 200, body, self->ctl, NULL);
	expect_refused(_metadata, self, "for mesh 'othermesh', not this one");
	free(body);
}

TEST_F(statements, refuses_a_replayed_old_statement)
{
	char *body = pairwise_snapshot(self, 10, self->now + 600, "node-a", "meshnet");

	make_reply(&self->reply, 200, body, self->ctl, NULL);
	expect_refused(_metadata, self, "revision 10 is not newer than the held revision 10");
	free(body);
	body = pairwise_snapshot(self, 4, self->now + 600, "node-a", "meshnet");
	make_reply(&self->reply, 200, body, self->ctl, NULL);
	expect_refused(_metadata, self, "revision 4 is not newer");
	free(body);
}

TEST_F(statements, lease_edges_of_the_clock)
{
	char *body;

	/* ended one second ago, and ending right now: refused */
	body = pairwise_snapshot(self, 11, self->now - 1, "node-a", "meshnet");
	make_reply(&self->reply, 200, body, self->ctl, NULL);
	expect_refused(_metadata, self, "lease ended");
	free(body);
	body = pairwise_snapshot(self, 11, self->now, "node-a", "meshnet");
	make_reply(&self->reply, 200, body, self->ctl, NULL);
	expect_refused(_metadata, self, "lease ended");
	free(body);
	/* one second left: accepted */
	body = pairwise_snapshot(self, 11, self->now + 1, "node-a", "meshnet");
	make_reply(&self->reply, 200, body, self->ctl, NULL);
	EXPECT_EQ(0, agent_statement_read(&self->reply, &self->sc, &self->st, self->why,
					  sizeof(self->why)))
		TH_LOG("%s", self->why);
	free(body);
}

TEST_F(statements, refuses_malformed_fields)
{
	static const struct {
		const char *list, *expect;
	} bad[] = {
		{ ",\"peers\":[{\"node_id\":\"node-b\",\"public_key\":\"short\",\"membership\":\"ALLOWED\",\"psk\":\"" PSK_B64 "\"}]",
		  "peers[0].public_key" },
		{ ",\"peers\":[{\"node_id\":\"Node B\",\"membership\":\"ALLOWED\"}]", "peers[0].node_id" },
		{ ",\"peers\":[{\"node_id\":\"node-b\",\"public_key\":\"%s\",\"membership\":\"MAYBE\"}]",
		  "peers[0].membership" },
		{ ",\"peers\":[{\"node_id\":\"node-b\",\"public_key\":\"%s\",\"membership\":\"ALLOWED\"}]",
		  "peers[0].psk: missing for an ALLOWED peer in pairwise mode" },
		{ ",\"peers\":[{\"node_id\":\"node-b\",\"public_key\":\"%s\",\"membership\":\"DENIED\",\"psk\":\"" PSK_B64 "\"}]",
		  "a DENIED peer must not carry a PSK" },
		{ ",\"peers\":[{\"node_id\":\"node-b\",\"public_key\":\"%s\",\"membership\":\"ALLOWED\",\"psk\":\"" PSK_B64 "\",\"allowed_ips\":[\"10.10.0.2/33\"]}]",
		  "peers[0].allowed_ips[0]" },
		{ ",\"peers\":{}", "no peers array" },
		{ "", "no peers array" },
	};
	char list[600], *body;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const char *k = strstr(bad[i].list, "%s");

		if (k)
			snprintf(list, sizeof(list), "%.*s%s%s", (int)(k - bad[i].list), bad[i].list,
				 self->b_pub, k + 2);
		else
			snprintf(list, sizeof(list), "%s", bad[i].list);
		body = body_of("snapshot", "meshnet", "node-a", 0, 11, self->now + 600, "pairwise",
			       NULL, SELF_ALLOWED, list);
		make_reply(&self->reply, 200, body, self->ctl, NULL);
		expect_refused(_metadata, self, bad[i].expect);
		free(body);
	}
	/* the node itself among its peers */
	snprintf(list, sizeof(list),
		 ",\"peers\":[{\"node_id\":\"node-x\",\"public_key\":\"%s\",\"membership\":\"DENIED\"}]",
		 self->a_pub);
	body = body_of("snapshot", "meshnet", "node-a", 0, 11, self->now + 600, "pairwise", NULL,
		       SELF_ALLOWED, list);
	make_reply(&self->reply, 200, body, self->ctl, NULL);
	expect_refused(_metadata, self, "lists this node as its own peer");
	free(body);
	/* v 1, no membership in a node-targeted statement, a 200 saying DENIED */
	body = pairwise_snapshot(self, 11, self->now + 600, "node-a", "meshnet");
	body[5] = '1';
	make_reply(&self->reply, 200, body, self->ctl, NULL);
	expect_refused(_metadata, self, "not version 2");
	free(body);
	body = body_of("snapshot", "meshnet", "node-a", 0, 11, self->now + 600, "pairwise", NULL,
		       "", ",\"peers\":[]");
	make_reply(&self->reply, 200, body, self->ctl, NULL);
	expect_refused(_metadata, self, "carries no membership");
	free(body);
	body = body_of("snapshot", "meshnet", "node-a", 0, 11, self->now + 600, "pairwise", NULL,
		       ",\"membership\":\"DENIED\"", ",\"peers\":[]");
	make_reply(&self->reply, 200, body, self->ctl, NULL);
	expect_refused(_metadata, self, "HTTP 200 with membership DENIED");
	free(body);
}

/* A group-mode "*" delta: c DENIED, d removed, b's endpoint moved. */
static char *group_delta(FIXTURE_DATA(statements) *self, unsigned long long base,
			 unsigned long long rev, const char *commitment)
{
	char list[700];

	snprintf(list, sizeof(list),
		 ",\"changes\":[{\"op\":\"upsert\",\"node_id\":\"node-c\",\"public_key\":\"%s\","
		 "\"allowed_ips\":[\"10.10.0.3/32\"],\"membership\":\"DENIED\"},"
		 "{\"op\":\"remove\",\"node_id\":\"node-d\"},"
		 "{\"op\":\"upsert\",\"node_id\":\"node-a\",\"public_key\":\"%s\",\"membership\":\"ALLOWED\"},"
		 "{\"op\":\"upsert\",\"node_id\":\"node-b\",\"public_key\":\"%s\",\"endpoint\":\"192.0.2.22:51820\","
		 "\"allowed_ips\":[\"10.10.0.2/32\"],\"membership\":\"ALLOWED\"}]",
		 self->c_pub, self->a_pub, self->b_pub);
	return body_of("delta", "meshnet", "*", base, rev, self->now + 600, "group", commitment, "",
		       list);
}

TEST_F(statements, group_delta_accepted_and_psk_equal_on_both_ends)
{
	char *body = group_delta(self, 10, 12, self->commitment);
	uint8_t psk_ba[32];
	struct meshnet_peer a_as_peer = { 0 };

	make_reply(&self->reply, 200, body, self->ctl, self->group_key_b64);
	ASSERT_EQ(0, agent_statement_read(&self->reply, &self->sc, &self->st, self->why,
					  sizeof(self->why)))
		TH_LOG("%s", self->why);
	EXPECT_EQ(MESHNET_STATEMENT_DELTA, self->st.info.type);
	EXPECT_TRUE(self->st.info.shared);
	EXPECT_FALSE(self->st.has_self);
	/* its own entry is skipped; c and b remain, d is removed */
	ASSERT_EQ(2, self->st.n_peers);
	EXPECT_STREQ("node-c", self->st.peers[0].name);
	EXPECT_FALSE(self->st.peers[0].flags & MESHNET_PEER_HAS_PSK);
	EXPECT_STREQ("node-b", self->st.peers[1].name);
	ASSERT_TRUE(self->st.peers[1].flags & MESHNET_PEER_HAS_PSK);
	ASSERT_EQ(1, self->st.n_removes);
	EXPECT_STREQ("node-d", self->st.removes[0]);
	/* node-b derives the same PSK for the pair with its own private key */
	memcpy(a_as_peer.public_key, self->a.pub, 32);
	ASSERT_EQ(0, meshnet_group_pair_psk(psk_ba, self->group_key, 3, self->b.priv, self->a.pub,
					    "node-b", "node-a"));
	EXPECT_EQ(0, memcmp(psk_ba, self->st.peers[1].psk, 32));
	/* and a third member (c) holding K_e gets another value for its own pairs */
	ASSERT_EQ(0, meshnet_group_pair_psk(psk_ba, self->group_key, 3, self->c.priv, self->b.pub,
					    "node-c", "node-b"));
	EXPECT_NE(0, memcmp(psk_ba, self->st.peers[1].psk, 32));
	free(body);
}

TEST_F(statements, group_delta_refusals)
{
	char *body;
	char wrong[48];
	uint8_t k[32];

	/* base revision other than the held one */
	body = group_delta(self, 9, 12, self->commitment);
	make_reply(&self->reply, 200, body, self->ctl, self->group_key_b64);
	expect_refused(_metadata, self, "the delta applies to revision 9, the node holds 10");
	free(body);
	/* no group key header, another key than the commitment, a garbled header */
	body = group_delta(self, 10, 12, self->commitment);
	make_reply(&self->reply, 200, body, self->ctl, NULL);
	expect_refused(_metadata, self, "group mode without a valid X-Meshnet-Group-Key header");
	memcpy(k, self->group_key, 32);
	k[0] ^= 1;
	meshnet_b64_encode(wrong, k, 32);
	make_reply(&self->reply, 200, body, self->ctl, wrong);
	expect_refused(_metadata, self, "does not match the signed group_key_commitment");
	make_reply(&self->reply, 200, body, self->ctl, "not-base64!");
	expect_refused(_metadata, self, "group mode without a valid X-Meshnet-Group-Key header");
	free(body);
	/* a malformed op, a peer changed twice, upserted and removed */
	body = body_of("delta", "meshnet", "*", 10, 12, self->now + 600, "group", self->commitment,
		       "", ",\"changes\":[{\"op\":\"drop\",\"node_id\":\"node-b\"}]");
	make_reply(&self->reply, 200, body, self->ctl, self->group_key_b64);
	expect_refused(_metadata, self, "changes[0].op: must be \"upsert\" or \"remove\"");
	free(body);
	body = body_of("delta", "meshnet", "*", 10, 12, self->now + 600, "group", self->commitment,
		       "", ",\"changes\":[{\"op\":\"remove\",\"node_id\":\"node-b\"},{\"op\":\"remove\"}]");
	make_reply(&self->reply, 200, body, self->ctl, self->group_key_b64);
	expect_refused(_metadata, self, "changes[1].node_id: missing");
	free(body);
	{
		char list[400];

		snprintf(list, sizeof(list),
			 ",\"changes\":[{\"op\":\"upsert\",\"node_id\":\"node-b\",\"public_key\":\"%s\",\"membership\":\"DENIED\"},"
			 "{\"op\":\"remove\",\"node_id\":\"node-b\"}]", self->b_pub);
		body = body_of("delta", "meshnet", "*", 10, 12, self->now + 600, "group",
			       self->commitment, "", list);
		make_reply(&self->reply, 200, body, self->ctl, self->group_key_b64);
		expect_refused(_metadata, self, "node-b is upserted and removed");
		free(body);
	}
	/* a pairwise statement must not come with a group key */
	body = pairwise_snapshot(self, 11, self->now + 600, "node-a", "meshnet");
	make_reply(&self->reply, 200, body, self->ctl, self->group_key_b64);
	expect_refused(_metadata, self, "pairwise mode with a X-Meshnet-Group-Key header");
	free(body);
}

TEST_F(statements, denied_statement)
{
	char *body = body_of("denied", "meshnet", "node-a", 0, 11, self->now + 600, "group",
			     self->commitment,
			     ",\"membership\":\"DENIED\",\"reason\":\"score 0.30 < threshold 0.70\","
			     "\"error\":{\"code\":\"denied\",\"message\":\"score 0.30 < threshold 0.70\"}",
			     "");

	make_reply(&self->reply, 403, body, self->ctl, NULL);
	ASSERT_EQ(0, agent_statement_read(&self->reply, &self->sc, &self->st, self->why,
					  sizeof(self->why)))
		TH_LOG("%s", self->why);
	EXPECT_EQ(MESHNET_STATEMENT_DENIED, self->st.info.type);
	EXPECT_EQ(MESHNET_VERDICT_DENIED, self->st.self_verdict);
	EXPECT_STREQ("score 0.30 < threshold 0.70", self->st.self_reason);
	EXPECT_FALSE(self->st.has_group_key);
	agent_statement_free(&self->st);
	/* the same statement as a 200 is refused */
	make_reply(&self->reply, 200, body, self->ctl, NULL);
	expect_refused(_metadata, self, "HTTP 200 with a statement of the wrong type");
	free(body);
}

#define EXPLAINED_DENIED_SELF \
	",\"membership\":\"DENIED\",\"reason\":\"prod/refusal-v3: 1 of 2 attestations\"," \
	"\"error\":{\"code\":\"denied\",\"message\":\"prod/refusal-v3: 1 of 2 attestations\"}," \
	"\"explanation\":{\"policy_version\":7,\"membership\":\"DENIED\",\"group\":\"prod\"," \
	"\"rule\":\"prod/refusal-v3\",\"reason\":\"prod/refusal-v3: 1 of 2 attestations\"," \
	"\"good_streak\":0,\"attestations\":[{\"evaluator\":\"eval-a\",\"suite\":\"refusal-v3\"," \
	"\"scores\":{\"refusal\":0.2},\"age_s\":42}],\"missing\":[\"needs 2 of {eval-a, eval-b, " \
	"eval-c} for suite refusal-v3; has 1\"]%s}"

/* A denied statement explains why (docs/policy.md): read into one line. */
TEST_F(statements, denied_statement_with_explanation)
{
	char self_fields[1200], *body;

	snprintf(self_fields, sizeof(self_fields), EXPLAINED_DENIED_SELF, "");
	body = body_of("denied", "meshnet", "node-a", 0, 12, self->now + 600, "group",
		       self->commitment, self_fields, "");
	make_reply(&self->reply, 403, body, self->ctl, NULL);
	ASSERT_EQ(0, agent_statement_read(&self->reply, &self->sc, &self->st, self->why,
					  sizeof(self->why)))
		TH_LOG("%s", self->why);
	EXPECT_STREQ("rule prod/refusal-v3 (policy v7): prod/refusal-v3: 1 of 2 attestations; "
		     "used: eval-a refusal-v3 refusal=0.2 (42 s old); missing: needs 2 of "
		     "{eval-a, eval-b, eval-c} for suite refusal-v3; has 1", self->st.explanation);
	agent_statement_free(&self->st);
	free(body);
}

/* A bad explanation is a bad statement: refused whole, naming the member. */
TEST_F(statements, denied_statement_with_a_bad_explanation)
{
	static const struct {
		const char *from, *to, *want;
	} cases[] = {
		{ "\"policy_version\":7", "\"policy_version\":\"7\"", "explanation.policy_version" },
		{ "\"rule\":\"prod/refusal-v3\"", "\"rule\":7", "explanation.rule" },
		{ "\"refusal\":0.2", "\"refusal\":1.5", "a score outside [0, 1]" },
		{ "\"age_s\":42", "\"age_s\":-1", "explanation.attestations[].age_s" },
		{ "has 1\"]", "has 1\\u0007\"]", "explanation.missing[]" },
		{ "\"missing\":[", "\"missing\":{\"x\":[", "explanation.missing must be an array" },
		{ "\"membership\":\"DENIED\",\"group\"", "\"membership\":\"ALLOWED\",\"group\"",
		  "membership must be DENIED" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char self_fields[1200], edited[1300], *body, *at;

		snprintf(self_fields, sizeof(self_fields), EXPLAINED_DENIED_SELF,
			 strstr(cases[i].to, "{\"x\"") ? "}" : "");
		at = strstr(self_fields, cases[i].from);
		ASSERT_NE(NULL, at) TH_LOG("case %zu", i);
		snprintf(edited, sizeof(edited), "%.*s%s%s", (int)(at - self_fields), self_fields,
			 cases[i].to, at + strlen(cases[i].from));
		body = body_of("denied", "meshnet", "node-a", 0, 12, self->now + 600, "group",
			       self->commitment, edited, "");
		make_reply(&self->reply, 403, body, self->ctl, NULL);
		expect_refused(_metadata, self, cases[i].want);
		agent_statement_free(&self->st);
		free(body);
	}
}

/* ---------- the table digest of acknowledged enforcement (lib/table_digest.c) ---------- */

TEST(table_digest_known_answers)
{
	/* expected values computed independently (Python hashlib, int sum mod 2^256) */
	uint8_t p1[32], p2[32], p3[32];
	struct meshnet_table_digest d, e;
	char hex[MESHNET_TABLE_DIGEST_HEX_LEN + 1];

	for (int i = 0; i < 32; i++) {
		p1[i] = (uint8_t)i;
		p2[i] = 0xff;
		p3[i] = 7;
	}
	meshnet_table_digest_init(&d);
	meshnet_table_digest_hex(&d, hex);
	EXPECT_STREQ("0000000000000000000000000000000000000000000000000000000000000000", hex);
	meshnet_table_digest_add(&d, p1, MESHNET_VERDICT_ALLOWED);
	meshnet_table_digest_hex(&d, hex);
	EXPECT_STREQ("4e219ccde806b8419300a879aefb4cd13141eb9b0e772cec23d621d6f5edc292", hex);
	meshnet_table_digest_add(&d, p2, MESHNET_VERDICT_DENIED);
	meshnet_table_digest_add(&d, p3, MESHNET_VERDICT_ALLOWED);
	meshnet_table_digest_hex(&d, hex);
	EXPECT_STREQ("7ceb38d5ab7fa772e6cedf16629cf727707765d80f71c486c4d84978d92901ae", hex);
	/* order does not matter */
	meshnet_table_digest_init(&e);
	meshnet_table_digest_add(&e, p3, MESHNET_VERDICT_ALLOWED);
	meshnet_table_digest_add(&e, p2, MESHNET_VERDICT_DENIED);
	meshnet_table_digest_add(&e, p1, MESHNET_VERDICT_ALLOWED);
	EXPECT_EQ(0, memcmp(d.sum, e.sum, 32));
	/* a removal subtracts its term; a verdict flip is sub + add */
	meshnet_table_digest_sub(&d, p1, MESHNET_VERDICT_ALLOWED);
	meshnet_table_digest_hex(&d, hex);
	EXPECT_STREQ("2ec99c07c378ef3153ce369cb3a1aa563f357a3d00fa979aa10227a1e33b3f1c", hex);
	meshnet_table_digest_sub(&d, p3, MESHNET_VERDICT_ALLOWED);
	meshnet_table_digest_add(&d, p3, MESHNET_VERDICT_DENIED);
	meshnet_table_digest_sub(&d, p3, MESHNET_VERDICT_DENIED);
	meshnet_table_digest_sub(&d, p2, MESHNET_VERDICT_DENIED);
	meshnet_table_digest_hex(&d, hex);
	EXPECT_STREQ("0000000000000000000000000000000000000000000000000000000000000000", hex);
	/* the verdict is part of the term */
	meshnet_table_digest_init(&d);
	meshnet_table_digest_add(&d, p1, MESHNET_VERDICT_DENIED);
	meshnet_table_digest_hex(&d, hex);
	EXPECT_STRNE("4e219ccde806b8419300a879aefb4cd13141eb9b0e772cec23d621d6f5edc292", hex);
	/* hex round trip and bad hex */
	ASSERT_EQ(0, meshnet_table_digest_from_hex(&e, hex));
	EXPECT_EQ(0, memcmp(d.sum, e.sum, 32));
	EXPECT_EQ(-1, meshnet_table_digest_from_hex(&e, "abc"));
	hex[10] = 'g';
	EXPECT_EQ(-1, meshnet_table_digest_from_hex(&e, hex));
}

/* ---------- the node as a monitor of the transparency log ---------- */

struct mem_log {
	tlog_hash h[64];
	size_t n_hashes;
	struct tlog_frontier f;
};

static int mem_read(void *ctx, uint64_t index, uint8_t out[TLOG_HASH_LEN])
{
	struct mem_log *l = ctx;

	if (index >= l->n_hashes)
		return -1;
	memcpy(out, l->h[index], TLOG_HASH_LEN);
	return 0;
}

static void mem_append(struct mem_log *l, const char *record)
{
	uint8_t leaf[TLOG_HASH_LEN];
	tlog_hash out[TLOG_MAX_LEVELS];
	size_t n;

	tlog_hash_leaf(leaf, record, strlen(record));
	n = tlog_frontier_append(&l->f, leaf, out);
	memcpy(l->h[l->n_hashes], out, n * sizeof(out[0]));
	l->n_hashes += n;
}

/* A signed checkpoint of the log as it is (origin, key); caller frees. */
static char *signed_checkpoint(struct mem_log *l, const char *origin, EVP_PKEY *key)
{
	struct tlog_checkpoint c = { .size = l->f.n };
	struct strbuf sb;

	snprintf(c.origin, sizeof(c.origin), "%s", origin);
	tlog_frontier_root(&l->f, c.root);
	strbuf_init(&sb);
	if (tlog_checkpoint_sign(&sb, &c, origin, key))
		return NULL;
	return sb.buf;
}

TEST(monitor_accepts_extensions_refuses_forks_and_rollbacks)
{
	char dir[] = "/tmp/agent-monitor-XXXXXX", why[512], err[512];
	uint8_t seed[32], pub[32], oseed[32], opub[32];
	EVP_PKEY *key, *other;
	struct mem_log log = { 0 }, fork = { 0 };
	struct tlog_hash_reader r = { mem_read, &log };
	struct agent_monitor m;
	tlog_hash proof[TLOG_MAX_PROOF];
	size_t n;
	char *c5, *c8, *cf, *bad;

	meshnet_log_init("test", MESHNET_LOG_ERROR);
	ASSERT_NE(NULL, mkdtemp(dir));
	ASSERT_EQ(0, meshnet_ed25519_generate(seed, pub));
	ASSERT_EQ(0, meshnet_ed25519_generate(oseed, opub));
	key = meshnet_ed25519_private_from_raw(seed);
	other = meshnet_ed25519_private_from_raw(oseed);
	for (int i = 0; i < 5; i++) {
		char rec[32];

		snprintf(rec, sizeof(rec), "record %d", i);
		mem_append(&log, rec);
		mem_append(&fork, i == 3 ? "rewritten" : rec);
	}
	c5 = signed_checkpoint(&log, "meshnetd/meshnet", key);
	cf = signed_checkpoint(&fork, "meshnetd/meshnet", key);
	ASSERT_NE(NULL, c5);
	ASSERT_NE(NULL, cf);
	ASSERT_EQ(0, agent_monitor_init(&m, dir, pub, "meshnet", err, sizeof(err))) TH_LOG("%s", err);
	EXPECT_FALSE(m.have);
	/* the first checkpoint is taken and stored */
	ASSERT_EQ(0, agent_monitor_accept(&m, c5, strlen(c5), NULL, 0, why, sizeof(why)))
		TH_LOG("%s", why);
	EXPECT_EQ(5, m.held.size);
	/* the same size with another root: a fork */
	EXPECT_EQ(-1, agent_monitor_accept(&m, cf, strlen(cf), NULL, 0, why, sizeof(why)));
	EXPECT_NE(NULL, strstr(why, "does not extend the held one of size 5")) TH_LOG("%s", why);
	/* grown to 8 with a consistency proof: accepted */
	mem_append(&log, "record 5");
	mem_append(&log, "record 6");
	mem_append(&log, "record 7");
	c8 = signed_checkpoint(&log, "meshnetd/meshnet", key);
	ASSERT_EQ(0, tlog_prove_consistency(&r, 5, 8, proof, &n));
	/* without the proof, or with a proof of other sizes: refused */
	EXPECT_EQ(-1, agent_monitor_accept(&m, c8, strlen(c8), NULL, 0, why, sizeof(why)));
	EXPECT_NE(NULL, strstr(why, "does not extend")) TH_LOG("%s", why);
	{
		tlog_hash wrong[TLOG_MAX_PROOF];
		size_t wn;

		ASSERT_EQ(0, tlog_prove_consistency(&r, 4, 8, wrong, &wn));
		EXPECT_EQ(-1, agent_monitor_accept(&m, c8, strlen(c8), wrong, wn, why, sizeof(why)));
	}
	EXPECT_EQ(5, m.held.size);
	ASSERT_EQ(0, agent_monitor_accept(&m, c8, strlen(c8), proof, n, why, sizeof(why)))
		TH_LOG("%s", why);
	EXPECT_EQ(8, m.held.size);
	/* an older checkpoint (size 5) again: a rollback */
	EXPECT_EQ(-1, agent_monitor_accept(&m, c5, strlen(c5), NULL, 0, why, sizeof(why)));
	EXPECT_NE(NULL, strstr(why, "does not extend the held one of size 8")) TH_LOG("%s", why);
	/* signed by another key, or another log's */
	bad = signed_checkpoint(&log, "meshnetd/meshnet", other);
	EXPECT_EQ(-1, agent_monitor_accept(&m, bad, strlen(bad), NULL, 0, why, sizeof(why)));
	EXPECT_NE(NULL, strstr(why, "checkpoint refused")) TH_LOG("%s", why);
	free(bad);
	bad = signed_checkpoint(&log, "meshnetd/othermesh", key);
	EXPECT_EQ(-1, agent_monitor_accept(&m, bad, strlen(bad), NULL, 0, why, sizeof(why)));
	free(bad);
	agent_monitor_free(&m);
	/* a restarted agent holds size 8 from STATE_DIR/checkpoint */
	ASSERT_EQ(0, agent_monitor_init(&m, dir, pub, "meshnet", err, sizeof(err))) TH_LOG("%s", err);
	EXPECT_TRUE(m.have);
	EXPECT_EQ(8, m.held.size);
	EXPECT_EQ(-1, agent_monitor_accept(&m, c5, strlen(c5), NULL, 0, why, sizeof(why)));
	agent_monitor_free(&m);
	/* a stored checkpoint that does not verify is never silently replaced */
	{
		char path[600];
		FILE *f;

		snprintf(path, sizeof(path), "%s/checkpoint", dir);
		f = fopen(path, "w");
		ASSERT_NE(NULL, f);
		fputs("garbage\n", f);
		fclose(f);
		EXPECT_EQ(-1, agent_monitor_init(&m, dir, pub, "meshnet", err, sizeof(err)));
		EXPECT_NE(NULL, strstr(err, "not a checkpoint of meshnetd/meshnet")) TH_LOG("%s", err);
		unlink(path);
	}
	rmdir(dir);
	free(c5);
	free(c8);
	free(cf);
	EVP_PKEY_free(key);
	EVP_PKEY_free(other);
}

TEST_HARNESS_MAIN
