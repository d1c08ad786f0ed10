// SPDX-License-Identifier: MIT
/*
 * make soak-controller: the release meshnetd for SECONDS (default 600) with
 * NODES simulated nodes (default 10,000) submitting benchmarks and
 * long-polling over loopback, hostile clients mixed in, /health probed.
 *
 * Honest nodes (one epoll loop, one keep-alive connection each, sources
 * 127.0.0.2..127.0.0.65): each long-polls GET /v1/config/ID?rev=R&wait=W
 * (W 20..30 s), takes the signed delta or the 204 "nothing new", and every
 * 40-60 s submits a signed benchmark. A few "flapper" nodes alternate low and
 * high scores every 30 s, so verdicts flip and deltas reach every node;
 * rotations (EPOCH_SECONDS 120) add group-mode epochs. One statement in 16
 * is verified (meshnet_statement_check). Any answer to an honest node but
 * 200/204 (and the flappers' own 403s), a closed connection or a request
 * unanswered 60 s past its wait is an error.
 *
 * Hostile clients (a thread, sources 127.0.3.x) the whole time:
 *   slowloris   300 connections sending a header byte every 2 s (one
 *               address: beyond its quota, its own oldest are evicted);
 *               each must be closed by the server (absolute header deadline)
 *   oversized   Content-Length 50 MB: 413; chunked past BODY_LIMIT: 413
 *   garbage     random bytes: 400 (or closed)
 *   forged      a benchmark for an enrolled node, signed with another key: 401
 *   replay      a node's signed request sent twice: the second gets 409
 *
 * RSS and open fds of meshnetd are taken after a 30 s warm-up and at the
 * end (and every 60 s between), and must stay flat: end RSS <= 1.10 x start
 * + 8 MiB, |end fds - start fds| <= 2% of start + 64 (the hostile thread's
 * connections come and go). /health p50/p99/max is printed. Results and
 * goal lines: OUT.txt. Exit 1 if a goal other than the latency one is missed.
 *
 *   meshnet-soak MESHNETD OUT.txt [SECONDS] [NODES]
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "../bench/sim_nodes.h"
#include "../controller/client.h"
#include "b64.h"
#include "sign.h"
#include "statement.h"

#define TOKEN "soak-admin-token-0123456789abcdef"
#define N_SRC 64
#define N_FLAPPERS 2
#define N_SLOW 300
#define VERIFY_EVERY 16

enum phase { IDLE, POLL, BENCH };

struct node {
	char id[24];
	EVP_PKEY *key;
	int fd;
	enum phase phase;
	char *buf;
	size_t len, cap;
	uint64_t rev;
	double t_sent, next_bench;
	unsigned int wait_s, flips;
	bool flapper;
};

struct tally {
	unsigned long polls, polls_200, polls_204, polls_403, benches, errors, closed, timeouts;
	unsigned long by_status[600];
	unsigned long statements_checked, statements_ok;
	unsigned long bytes;
};

static struct node *nodes;
static size_t n_nodes;
static int ep;
static uint16_t port;
static pid_t server_pid;
static char dir[64];
static EVP_PKEY *ctl_pub;
static atomic_bool stop;
static atomic_ullong head_rev;
static struct tally honest, flap;

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double pct(const double *v, size_t n, double p)
{
	size_t i = (size_t)(p * (double)(n - 1) + 0.5);

	return n ? v[i < n ? i : n - 1] : -1;
}

static unsigned int rnd(unsigned int n)
{
	unsigned int r;

	if (RAND_bytes((unsigned char *)&r, sizeof(r)) != 1)
		r = (unsigned int)random();
	return n ? r % n : 0;
}

/* ---- the server ---- */

static int start_server(const char *bin)
{
	static const char *const settings[] = {
		"--epoch-seconds", "120", "--epoch-validity", "900", "--max-benchmark-age", "180",
		"--admit-interval", "5", "--flap-hold-down", "0", "--log-level", "warn", NULL,
	};
	char listen[32];

	port = mn_free_port();
	snprintf(listen, sizeof(listen), "127.0.0.1:%u", port);
	server_pid = mn_spawn_meshnetd(bin, dir, listen, NULL, settings);
	return mn_wait_healthy(port, server_pid, 300000);
}

static int admin(const char *method, const char *target, struct mn_response *r)
{
	return mn_do(port, method, target, "Authorization: Bearer " TOKEN "\r\n", "", r);
}

/* The server's own count of connections it cut, by cause. */
static void print_cuts(FILE *out)
{
	fprintf(out, "connections cut by meshnetd: deadline %lld, per-address quota %lld, "
		"capacity %lld; long-poll waiters %lld",
		mn_metric(port, "meshnet_http_connections_cut_total{cause=\"deadline\"}"),
		mn_metric(port, "meshnet_http_connections_cut_total{cause=\"per_ip\"}"),
		mn_metric(port, "meshnet_http_connections_cut_total{cause=\"capacity\"}"),
		mn_metric(port, "meshnet_longpoll_waiters"));
}

/* Keys and the NODES_FILE: selftests/bench/sim_nodes.c (ids n0, n1, ...). */
static struct sim_set sim_keys;

static int write_nodes_file(void)
{
	char path[128];

	snprintf(path, sizeof(path), "%s/nodes.json", dir);
	if (sim_set_create(&sim_keys, n_nodes, path))
		return -1;
	for (size_t i = 0; i < n_nodes; i++) {
		nodes[i].key = sim_keys.sims[i].key;	/* freed with sim_keys */
		snprintf(nodes[i].id, sizeof(nodes[i].id), "%s", sim_keys.sims[i].id);
		nodes[i].flapper = i < N_FLAPPERS;
	}
	return 0;
}

/* ---- honest nodes ---- */

static int node_connect(size_t i)
{
	struct sockaddr_in src = { .sin_family = AF_INET }, dst = { .sin_family = AF_INET };
	struct epoll_event ev = { .events = EPOLLIN | EPOLLRDHUP, .data.u64 = i };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;

	if (fd < 0)
		return -1;
	src.sin_addr.s_addr = htonl(0x7f000002 + (uint32_t)(i % N_SRC));
	dst.sin_addr.s_addr = htonl(0x7f000001);
	dst.sin_port = htons(port);
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&src, sizeof(src)) ||
	    connect(fd, (struct sockaddr *)&dst, sizeof(dst))) {
		close(fd);
		return -1;
	}
	fcntl(fd, F_SETFL, O_NONBLOCK);
	nodes[i].fd = fd;
	nodes[i].len = 0;
	epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
	return 0;
}

static void node_close(size_t i)
{
	if (nodes[i].fd > 0) {
		epoll_ctl(ep, EPOLL_CTL_DEL, nodes[i].fd, NULL);
		close(nodes[i].fd);
	}
	nodes[i].fd = -1;
	nodes[i].phase = IDLE;
}

static int node_send(size_t i, const char *method, const char *target, const char *body,
		     enum phase phase)
{
	struct node *n = &nodes[i];
	size_t blen = body ? strlen(body) : 0;
	char hdrs[1024], req[2048];
	int len;

	if (mn_sign_headers(hdrs, sizeof(hdrs), n->key, n->id, method, target, body, blen,
			    (int64_t)time(NULL)))
		return -1;
	len = snprintf(req, sizeof(req), "%s %s HTTP/1.1\r\nHost: soak\r\n%sContent-Length: %zu\r\n"
		       "\r\n%s", method, target, hdrs, blen, body ? body : "");
	if (len < 0 || (size_t)len >= sizeof(req))
		return -1;
	n->len = 0;
	n->phase = phase;
	n->t_sent = now_s();
	return write(n->fd, req, (size_t)len) == len ? 0 : -1;
}

static int send_bench(size_t i)
{
	struct node *n = &nodes[i];
	char body[512], target[64];
	double score = 0.9;

	if (n->flapper)
		score = (n->flips++ & 1) ? 0.9 : 0.2;
	mn_bench_body(body, sizeof(body), n->id, "soak-1", score, time(NULL));
	snprintf(target, sizeof(target), "/v1/benchmarks/%s", n->id);
	n->next_bench = now_s() + (n->flapper ? 30 : 40 + rnd(20));
	return node_send(i, "POST", target, body, BENCH);
}

static int send_poll(size_t i)
{
	struct node *n = &nodes[i];
	char target[96];

	snprintf(target, sizeof(target), "/v1/config/%s?rev=%llu&wait=%u", n->id,
		 (unsigned long long)n->rev, n->wait_s);
	return node_send(i, "GET", target, NULL, POLL);
}

/* The next request of node i: a benchmark when due, else a long-poll. */
static void node_next(size_t i)
{
	struct tally *t = nodes[i].flapper ? &flap : &honest;
	int r;

	if (nodes[i].fd < 0 && node_connect(i)) {
		t->errors++;
		nodes[i].phase = IDLE;
		return;
	}
	r = now_s() >= nodes[i].next_bench ? send_bench(i) : send_poll(i);
	if (r) {
		t->errors++;
		t->closed++;
		node_close(i);
	}
}

/* One complete answer to node i (head NUL-terminated, body of body_len). */
static void node_answer(size_t i, int status, const char *head, const char *body, size_t body_len)
{
	struct node *n = &nodes[i];
	struct tally *t = n->flapper ? &flap : &honest;
	char v[128], sig[128];
	uint64_t rev;

	t->by_status[status > 0 && status < 600 ? status : 0]++;
	if (n->phase == BENCH) {
		t->benches++;
		if (status != 200)
			t->errors++;
		return;
	}
	t->polls++;
	rev = strtoull(mn_header_value(head, MESHNET_HDR_REVISION, v, sizeof(v)), NULL, 10);
	if (status == 204) {
		t->polls_204++;
		if (rev > n->rev)
			n->rev = rev;
		return;
	}
	if (status == 403 && n->flapper) {
		t->polls_403++;	/* its own denied statement: expected */
		if (rev > n->rev)
			n->rev = rev;
		return;
	}
	if (status != 200) {
		t->errors++;
		return;
	}
	t->polls_200++;
	if (++t->statements_checked % VERIFY_EVERY == 0 || n->flapper) {
		struct meshnet_statement_expect exp = {
			.node_id = n->id, .mesh_id = "meshnet", .held_revision = n->rev,
			.now = time(NULL),
		};
		struct meshnet_statement_info info;
		char why[256];

		mn_header_value(head, MESHNET_HDR_STATEMENT_SIGNATURE, sig, sizeof(sig));
		if (meshnet_statement_check(ctl_pub, body, body_len, sig, &exp, &info, why,
					    sizeof(why))) {
			t->errors++;
			fprintf(stderr, "soak: %s: statement refused: %s\n", n->id, why);
		} else {
			t->statements_ok++;
		}
	} else {
		t->statements_ok++;
	}
	if (rev > n->rev)
		n->rev = rev;
	if (rev > atomic_load(&head_rev))
		atomic_store(&head_rev, rev);
}

/* Reads what node i has; handles its answer once complete. */
static void node_read(size_t i)
{
	struct node *n = &nodes[i];
	struct tally *t = n->flapper ? &flap : &honest;

	for (;;) {
		char *end, v[32];
		size_t head_len, cl;
		int status = 0;
		ssize_t r;

		if (n->cap - n->len < 8192) {
			size_t cap = n->cap ? 2 * n->cap : 16384;
			char *nb = realloc(n->buf, cap);

			if (!nb)
				abort();
			n->buf = nb;
			n->cap = cap;
		}
		r = read(n->fd, n->buf + n->len, n->cap - n->len - 1);
		if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR)) {
			/* the server closed an honest node's connection */
			t->errors++;
			t->closed++;
			node_close(i);
			node_next(i);
			return;
		}
		if (r < 0)
			return;
		n->len += (size_t)r;
		n->buf[n->len] = '\0';
		end = strstr(n->buf, "\r\n\r\n");
		if (!end)
			continue;
		head_len = (size_t)(end - n->buf) + 4;
		*end = '\0';
		cl = strtoul(mn_header_value(n->buf, "Content-Length", v, sizeof(v)), NULL, 10);
		if (n->len < head_len + cl) {
			*end = '\r';
			continue;
		}
		sscanf(n->buf, "HTTP/1.%*d %d", &status);
		t->bytes += head_len + cl;
		node_answer(i, status, n->buf, n->buf + head_len, cl);
		n->len = 0;
		n->phase = IDLE;
		node_next(i);
		return;
	}
}

/* Requests unanswered 60 s past their wait: an error, the connection anew. */
static void check_timeouts(double t)
{
	for (size_t i = 0; i < n_nodes; i++) {
		struct node *n = &nodes[i];
		struct tally *tl = n->flapper ? &flap : &honest;

		if (n->phase == IDLE) {
			node_next(i);
			continue;
		}
		if (t - n->t_sent > (double)n->wait_s + 60) {
			tl->errors++;
			tl->timeouts++;
			node_close(i);
			node_next(i);
		}
	}
}

/* ---- hostile clients ---- */

struct hostile {
	unsigned long slow_opened, slow_closed, oversized, oversized_413, chunked, chunked_413;
	unsigned long garbage, garbage_refused, forged, forged_401, replays, replays_409;
	unsigned long unexpected;
	double slow_max_life;
};

static struct hostile hostile;

static int hostile_connect(const char *src)
{
	struct mn_conn c;
	struct timeval tv = { .tv_sec = 15 };

	if (mn_connect_from(&c, src, port, NULL))
		return -1;
	setsockopt(c.fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(c.fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	return c.fd;
}

/*
 * The status of the first answer on fd: 0 if the server closed it without
 * one, -2 if nothing came in 15 s (the socket's receive timeout).
 */
static int read_status(int fd)
{
	char buf[4096];
	size_t len = 0;
	int status = 0;

	while (len < sizeof(buf) - 1) {
		ssize_t r = read(fd, buf + len, sizeof(buf) - 1 - len);

		if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) && !len)
			return -2;
		if (r <= 0)
			break;
		len += (size_t)r;
		buf[len] = '\0';
		if (strstr(buf, "\r\n"))
			break;
	}
	buf[len] = '\0';
	sscanf(buf, "HTTP/1.%*d %d", &status);
	return status;
}

/* Sends req (len bytes) on a fresh connection from src; the answer's status. */
static int one_shot(const char *src, const void *req, size_t len)
{
	int fd = hostile_connect(src), status;

	if (fd < 0)
		return -1;
	if (write(fd, req, len) != (ssize_t)len) {
		close(fd);
		return 0;
	}
	status = read_status(fd);
	close(fd);
	return status;
}

static void expect(int got, int want, unsigned long *hits)
{
	if (got == want) {
		(*hits)++;
	} else if (got >= 0 || got == -2) {
		if (hostile.unexpected++ < 20)
			fprintf(stderr, "soak: hostile: got %d, wanted %d\n", got, want);
	}
}

static void hostile_round(void)
{
	char req[4096], hdrs[1024], body[512], target[96];
	size_t i = N_FLAPPERS + rnd((unsigned int)(n_nodes - N_FLAPPERS));
	uint8_t seed[32], pub[32];
	EVP_PKEY *other;
	int n, fd, status;

	/* oversized: a Content-Length far past BODY_LIMIT */
	n = snprintf(req, sizeof(req), "POST /v1/benchmarks/%s HTTP/1.1\r\nHost: x\r\n"
		     "Content-Length: 50000000\r\n\r\n{\"node_id\":", nodes[i].id);
	hostile.oversized++;
	expect(one_shot("127.0.3.2", req, (size_t)n), 413, &hostile.oversized_413);

	/* chunked, past BODY_LIMIT: answered 413 or cut, never drained */
	fd = hostile_connect("127.0.3.2");
	if (fd >= 0) {
		static char chunk[8200];
		bool cut = false;
		int k;

		n = snprintf(req, sizeof(req), "POST /v1/benchmarks/%s HTTP/1.1\r\nHost: x\r\n"
			     "Transfer-Encoding: chunked\r\n\r\n", nodes[i].id);
		hostile.chunked++;
		if (write(fd, req, (size_t)n) == n) {
			memset(chunk, 'a', sizeof(chunk));
			memcpy(chunk, "1ff8\r\n", 6);
			memcpy(chunk + 6 + 0x1ff8, "\r\n", 2);
			/* 2 MB: the body limit (16 KiB) plus any socket buffers */
			for (k = 0; k < 256 && !cut; k++)
				cut = send(fd, chunk, 6 + 0x1ff8 + 2, MSG_NOSIGNAL) < 0;
			status = read_status(fd);
			if (status == 413 || status == 0)	/* answered, or closed */
				hostile.chunked_413++;
			else
				expect(status, 413, &hostile.chunked_413);
		}
		close(fd);
	}

	/* garbage */
	{
		size_t len = 16 + rnd(1500);

		RAND_bytes((unsigned char *)req, (int)len);
		req[0] = 'Z';	/* not a method */
		memcpy(req + len, "\r\n\r\n", 4);
		hostile.garbage++;
		status = one_shot("127.0.3.3", req, len + 4);
		if (status == 400 || status == 0 || status == 501 || status == 505 ||
		    status == 431 || status == 414)
			hostile.garbage_refused++;
		else if (status > 0)
			expect(status, 400, &hostile.garbage_refused);
	}

	/* forged: node i's benchmark signed with another key */
	if (!meshnet_ed25519_generate(seed, pub)) {
		other = meshnet_ed25519_private_from_raw(seed);
		mn_bench_body(body, sizeof(body), nodes[i].id, "soak-1", 0.1, time(NULL));
		snprintf(target, sizeof(target), "/v1/benchmarks/%s", nodes[i].id);
		if (other && !mn_sign_headers(hdrs, sizeof(hdrs), other, nodes[i].id, "POST", target,
					      body, strlen(body), (int64_t)time(NULL))) {
			n = snprintf(req, sizeof(req), "POST %s HTTP/1.1\r\nHost: x\r\n%s"
				     "Content-Length: %zu\r\n\r\n%s", target, hdrs, strlen(body), body);
			hostile.forged++;
			expect(one_shot("127.0.3.4", req, (size_t)n), 401, &hostile.forged_401);
		}
		EVP_PKEY_free(other);
	}

	/* replay: one of node i's requests (a short poll), captured and sent again */
	snprintf(target, sizeof(target), "/v1/config/%s?rev=%llu&wait=0", nodes[i].id,
		 (unsigned long long)atomic_load(&head_rev));
	if (!mn_sign_headers(hdrs, sizeof(hdrs), nodes[i].key, nodes[i].id, "GET", target, NULL, 0,
			     (int64_t)time(NULL))) {
		n = snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: x\r\n%s"
			     "Content-Length: 0\r\n\r\n", target, hdrs);
		status = one_shot("127.0.3.5", req, (size_t)n);	/* the original */
		if (status > 0) {
			hostile.replays++;
			expect(one_shot("127.0.3.5", req, (size_t)n), 409, &hostile.replays_409);
		}
	}
}

static void *hostile_main(void *arg)
{
	struct pollfd slow[N_SLOW];
	double opened[N_SLOW], next_byte = 0;
	int i;

	(void)arg;
	for (i = 0; i < N_SLOW; i++)
		slow[i].fd = -1;
	while (!atomic_load(&stop)) {
		double t = now_s();

		/* slowloris: keep N_SLOW open, a byte each every 2 s */
		for (i = 0; i < N_SLOW; i++) {
			if (slow[i].fd >= 0)
				continue;
			slow[i].fd = hostile_connect("127.0.3.1");
			slow[i].events = POLLIN;
			opened[i] = t;
			if (slow[i].fd >= 0) {
				hostile.slow_opened++;
				if (write(slow[i].fd, "GET /health HTTP/1.1\r\nX-Slow: ", 30) < 0) {
					close(slow[i].fd);
					slow[i].fd = -1;
				}
			}
		}
		if (t >= next_byte) {
			for (i = 0; i < N_SLOW; i++)
				if (slow[i].fd >= 0 && write(slow[i].fd, "a", 1) < 0)
					slow[i].revents = POLLHUP;
			next_byte = t + 2;
		}
		if (poll(slow, N_SLOW, 0) > 0) {
			for (i = 0; i < N_SLOW; i++) {
				char buf[512];

				if (slow[i].fd < 0 || !slow[i].revents)
					continue;
				/* an answer (408) or the close: the server ended it */
				while (read(slow[i].fd, buf, sizeof(buf)) > 0)
					;
				close(slow[i].fd);
				slow[i].fd = -1;
				hostile.slow_closed++;
				if (t - opened[i] > hostile.slow_max_life)
					hostile.slow_max_life = t - opened[i];
			}
		}
		hostile_round();
		usleep(20000);
	}
	for (i = 0; i < N_SLOW; i++)
		if (slow[i].fd >= 0)
			close(slow[i].fd);
	return NULL;
}

/* ---- /health ---- */

struct health {
	double *lat;
	size_t n, cap;
	unsigned long failures;
};

static struct health health;

static void *health_main(void *arg)
{
	struct mn_conn c;
	bool connected = false;

	(void)arg;
	while (!atomic_load(&stop)) {
		struct mn_response r;
		double t;

		if (!connected) {
			if (mn_connect(&c, port, NULL)) {
				health.failures++;
				usleep(100000);
				continue;
			}
			connected = true;
		}
		t = now_s();
		if (mn_request(&c, "GET", "/health", "", NULL, 0, &r) || r.status != 200) {
			health.failures++;
			mn_close(&c);
			connected = false;
		} else if (health.n < health.cap) {
			health.lat[health.n++] = now_s() - t;
		}
		mn_response_free(&r);
		usleep(100000);
	}
	if (connected)
		mn_close(&c);
	return NULL;
}

/* ---- main ---- */

static void run_loop(double until)
{
	struct epoll_event evs[1024];
	double next_check = now_s() + 1;

	while (now_s() < until) {
		int n = epoll_wait(ep, evs, 1024, 100);

		for (int k = 0; k < n; k++) {
			size_t i = evs[k].data.u64;

			if (nodes[i].fd >= 0)
				node_read(i);
		}
		if (now_s() >= next_check) {
			check_timeouts(now_s());
			next_check = now_s() + 1;
		}
	}
}

static void print_tally(FILE *out, const char *what, const struct tally *t)
{
	fprintf(out, "soak %s: %lu long-polls (%lu x 200, %lu x 204, %lu x 403), %lu benchmarks, "
		"%lu statements verified of %lu checked, %.1f MB received; errors %lu (%lu closed, "
		"%lu timed out)", what, t->polls, t->polls_200, t->polls_204, t->polls_403,
		t->benches, t->statements_ok, t->polls_200, (double)t->bytes / 1e6, t->errors,
		t->closed, t->timeouts);
	for (int s = 0; s < 600; s++)
		if (t->by_status[s] && s != 200 && s != 204 && !(s == 403 && t == &flap))
			fprintf(out, "; status %d x %lu", s, t->by_status[s]);
	fputc('\n', out);
}

int main(int argc, char **argv)
{
	unsigned int seconds = argc > 3 ? (unsigned int)strtoul(argv[3], NULL, 10) : 600;
	struct rlimit rl;
	struct mn_response r;
	long rss0, rss1, fds0, fds1;
	double t_start, t_end, cpu0, cpu1, next_sample;
	pthread_t ht, hh;
	bool rss_flat, fds_flat, ok;
	char cmd[128];
	FILE *out;
	int fd;

	if (argc < 3) {
		fprintf(stderr, "usage: %s MESHNETD OUT.txt [SECONDS] [NODES]\n", argv[0]);
		return 2;
	}
	n_nodes = argc > 4 ? strtoul(argv[4], NULL, 10) : 10000;
	if (n_nodes < 100 || seconds < 60) {
		fprintf(stderr, "soak: at least 100 nodes and 60 seconds\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	getrlimit(RLIMIT_NOFILE, &rl);
	rl.rlim_cur = rl.rlim_max;
	setrlimit(RLIMIT_NOFILE, &rl);
	if (rl.rlim_cur < n_nodes + N_SLOW + 1000) {
		fprintf(stderr, "soak: open-file limit %llu too low for %zu nodes\n",
			(unsigned long long)rl.rlim_cur, n_nodes);
		return 2;
	}
	out = fopen(argv[2], "w");
	nodes = calloc(n_nodes, sizeof(*nodes));
	health.cap = (size_t)seconds * 20 + 1000;
	health.lat = calloc(health.cap, sizeof(double));
	snprintf(dir, sizeof(dir), "/tmp/meshnet-soak.XXXXXX");
	if (!out || !nodes || !health.lat || !mkdtemp(dir))
		return 2;
	snprintf(cmd, sizeof(cmd), "%s/admin.token", dir);
	fd = open(cmd, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || write(fd, TOKEN "\n", sizeof(TOKEN)) != (ssize_t)sizeof(TOKEN))
		return 2;
	close(fd);
	fprintf(stderr, "soak: %zu nodes, %u s; keys\n", n_nodes, seconds);
	if (write_nodes_file() || start_server(argv[1])) {
		fprintf(out, "soak: FAILED: meshnetd did not start (log in %s)\n", dir);
		return 1;
	}
	snprintf(cmd, sizeof(cmd), "%s/state", dir);
	ctl_pub = mn_controller_pub(cmd);
	ep = epoll_create1(EPOLL_CLOEXEC);
	for (size_t i = 0; i < n_nodes; i++) {
		nodes[i].fd = -1;
		nodes[i].wait_s = 20 + (unsigned int)(i % 11);
		if (node_connect(i)) {
			fprintf(out, "soak: FAILED: connection %zu: %s\n", i, strerror(errno));
			return 1;
		}
	}
	/* every node benchmarks once, then one rotation admits them all */
	fprintf(stderr, "soak: first benchmarks\n");
	for (size_t start = 0; start < n_nodes; start += 2000) {
		double until = now_s() + 120;
		size_t pending;

		for (size_t i = start; i < n_nodes && i < start + 2000; i++)
			if (send_bench(i))
				return 1;
		do {
			struct epoll_event evs[512];
			int n = epoll_wait(ep, evs, 512, 100);

			for (int k = 0; k < n; k++) {
				struct node *nd = &nodes[evs[k].data.u64];
				char *end, v[32];
				int status = 0;
				ssize_t got;

				if (!nd->cap) {
					nd->cap = 16384;
					nd->buf = malloc(nd->cap);
				}
				got = read(nd->fd, nd->buf + nd->len, nd->cap - nd->len - 1);
				if (got <= 0)
					continue;
				nd->len += (size_t)got;
				nd->buf[nd->len] = '\0';
				end = strstr(nd->buf, "\r\n\r\n");
				if (!end || nd->len < (size_t)(end - nd->buf) + 4 +
				    strtoul(mn_header_value(nd->buf, "Content-Length", v, sizeof(v)), NULL, 10))
					continue;
				sscanf(nd->buf, "HTTP/1.%*d %d", &status);
				if (status != 200)
					honest.errors++;
				nd->len = 0;
				nd->phase = IDLE;
			}
			pending = 0;
			for (size_t i = start; i < n_nodes && i < start + 2000; i++)
				pending += nodes[i].phase != IDLE;
		} while (pending && now_s() < until);
		if (pending) {
			fprintf(out, "soak: FAILED: %zu first benchmarks unanswered\n", pending);
			return 1;
		}
	}
	if (honest.errors) {
		fprintf(out, "soak: FAILED: %lu first benchmarks refused\n", honest.errors);
		return 1;
	}
	admin("POST", "/v1/rotate", &r);
	mn_response_free(&r);
	/* the head revision, from one snapshot (a real node got one at enrolment) */
	{
		char hdrs[1024], target[64], v[32];
		struct mn_conn c;

		snprintf(target, sizeof(target), "/v1/config/%s?rev=0", nodes[N_FLAPPERS].id);
		if (mn_connect(&c, port, NULL) ||
		    mn_sign_headers(hdrs, sizeof(hdrs), nodes[N_FLAPPERS].key, nodes[N_FLAPPERS].id,
				    "GET", target, NULL, 0, (int64_t)time(NULL)) ||
		    mn_request(&c, "GET", target, hdrs, NULL, 0, &r) || r.status != 200) {
			fprintf(out, "soak: FAILED: no snapshot (status %d)\n", r.status);
			return 1;
		}
		atomic_store(&head_rev, strtoull(mn_header_value(r.headers, MESHNET_HDR_REVISION, v,
							sizeof(v)), NULL, 10));
		mn_response_free(&r);
		mn_close(&c);
	}
	for (size_t i = 0; i < n_nodes; i++) {
		nodes[i].rev = atomic_load(&head_rev);
		nodes[i].next_bench = now_s() + 10 + rnd(50);
	}
	memset(&honest, 0, sizeof(honest));
	fprintf(stderr, "soak: steady state from revision %llu\n",
		(unsigned long long)atomic_load(&head_rev));
	pthread_create(&hh, NULL, health_main, NULL);
	pthread_create(&ht, NULL, hostile_main, NULL);
	for (size_t i = 0; i < n_nodes; i++)
		node_next(i);

	/* warm-up, then the start figures */
	run_loop(now_s() + 30);
	t_start = now_s();
	rss0 = mn_proc_rss_kib(server_pid);
	fds0 = mn_proc_fds(server_pid);
	cpu0 = mn_proc_cpu_seconds(server_pid);
	fprintf(out, "soak start: meshnetd RSS %ld KiB, %ld open fds, %zu nodes\n", rss0, fds0,
		n_nodes);
	fflush(out);
	t_end = t_start + seconds;
	for (next_sample = t_start + 60; next_sample < t_end; next_sample += 60) {
		run_loop(next_sample);
		fprintf(out, "soak at %4.0f s: RSS %ld KiB, %ld open fds; honest errors %lu; ",
			now_s() - t_start, mn_proc_rss_kib(server_pid), mn_proc_fds(server_pid),
			honest.errors);
		print_cuts(out);
		fputc('\n', out);
		fflush(out);
	}
	run_loop(t_end);
	rss1 = mn_proc_rss_kib(server_pid);
	fds1 = mn_proc_fds(server_pid);
	cpu1 = mn_proc_cpu_seconds(server_pid);
	fputs("soak end: ", out);
	print_cuts(out);
	fputc('\n', out);
	atomic_store(&stop, true);
	pthread_join(ht, NULL);
	pthread_join(hh, NULL);
	fprintf(out, "soak end: meshnetd RSS %ld KiB (%+.1f%%), %ld open fds (%+ld), after %.0f s; "
		"meshnetd CPU %.0f s (%.0f%% of one core)\n", rss1,
		100.0 * (double)(rss1 - rss0) / (double)rss0, fds1, fds1 - fds0, now_s() - t_start,
		cpu1 - cpu0, 100.0 * (cpu1 - cpu0) / (now_s() - t_start));
	print_tally(out, "honest nodes", &honest);
	print_tally(out, "flapper nodes", &flap);
	fprintf(out, "soak hostile: slowloris %lu opened, %lu closed by the server (longest %.1f s); "
		"oversized %lu/%lu x 413; chunked %lu/%lu x 413; garbage %lu/%lu refused; forged "
		"%lu/%lu x 401; replays %lu/%lu x 409; unexpected answers %lu\n",
		hostile.slow_opened, hostile.slow_closed, hostile.slow_max_life,
		hostile.oversized_413, hostile.oversized, hostile.chunked_413, hostile.chunked,
		hostile.garbage_refused, hostile.garbage, hostile.forged_401, hostile.forged,
		hostile.replays_409, hostile.replays, hostile.unexpected);
	qsort(health.lat, health.n, sizeof(double), cmp_double);
	fprintf(out, "soak /health: %zu probes, p50 %.2f ms, p99 %.2f ms, max %.2f ms, %lu failed\n",
		health.n, pct(health.lat, health.n, 0.5) * 1e3, pct(health.lat, health.n, 0.99) * 1e3,
		health.n ? health.lat[health.n - 1] * 1e3 : -1.0, health.failures);
	rss_flat = rss1 <= rss0 + rss0 / 10 + 8192;
	fds_flat = labs(fds1 - fds0) <= fds0 / 50 + 64;
	fprintf(out, "goal honest nodes see no error: %s (%lu errors in %lu requests)\n",
		honest.errors ? "MISS" : "PASS", honest.errors, honest.polls + honest.benches);
	fprintf(out, "goal meshnetd RSS flat (end <= 1.10 x start + 8 MiB): %s (%ld -> %ld KiB)\n",
		rss_flat ? "PASS" : "MISS", rss0, rss1);
	fprintf(out, "goal meshnetd fds flat (|end - start| <= 2%% + 64): %s (%ld -> %ld)\n",
		fds_flat ? "PASS" : "MISS", fds0, fds1);
	ok = !honest.errors && rss_flat && fds_flat && !hostile.unexpected && !health.failures &&
	     hostile.slow_closed > 0 && flap.polls_403 > 0;
	fprintf(out, "goal hostile clients refused, slowloris closed, flappers denied: %s "
		"(%lu unexpected, %lu slowloris closed, %lu denied statements)\n",
		!hostile.unexpected && hostile.slow_closed && flap.polls_403 ? "PASS" : "MISS",
		hostile.unexpected, hostile.slow_closed, flap.polls_403);
	fprintf(out, "goal /health answered throughout, p99 <= 100 ms: %s (%lu failed, p99 %.1f ms)\n",
		!health.failures && pct(health.lat, health.n, 0.99) <= 0.1 ? "PASS" : "MISS",
		health.failures, pct(health.lat, health.n, 0.99) * 1e3);
	fclose(out);
	kill(server_pid, SIGTERM);
	waitpid(server_pid, NULL, 0);
	if (!getenv("KEEP_SOAK_DIR")) {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
		if (system(cmd))
			fprintf(stderr, "soak: could not remove %s\n", dir);
	}
	return ok ? 0 : 1;
}
