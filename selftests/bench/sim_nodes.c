// SPDX-License-Identifier: MIT
/* Simulated nodes: see sim_nodes.h. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "b64.h"
#include "../controller/client.h"
#include "sign.h"
#include "sim_nodes.h"
#include "statement.h"

double sim_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int sim_set_create(struct sim_set *set, size_t n, const char *nodes_file)
{
	FILE *f;
	size_t i;

	memset(set, 0, sizeof(*set));
	set->ep = -1;
	set->sims = calloc(n ? n : 1, sizeof(*set->sims));
	if (!set->sims)
		return -1;
	set->n = n;
	for (i = 0; i < n; i++)
		set->sims[i].fd = -1;
	f = fopen(nodes_file, "w");
	if (!f)
		return -1;
	fputs("{\"nodes\":[", f);
	for (i = 0; i < n; i++) {
		uint8_t seed[32], pub[32], wg[32];
		char pub_b64[48], wg_b64[48];

		if (meshnet_ed25519_generate(seed, pub)) {
			fclose(f);
			return -1;
		}
		set->sims[i].key = meshnet_ed25519_private_from_raw(seed);
		snprintf(set->sims[i].id, sizeof(set->sims[i].id), "n%zu", i);
		memset(wg, 0, sizeof(wg));
		memcpy(wg, &i, sizeof(i));
		wg[31] = 0x42;
		meshnet_b64_encode(pub_b64, pub, 32);
		meshnet_b64_encode(wg_b64, wg, 32);
		fprintf(f, "%s{\"node_id\":\"%s\",\"public_key\":\"%s\",\"signing_key\":\"%s\","
			"\"allowed_ips\":[\"10.%zu.%zu.%zu/32\"],\"endpoint\":\"192.0.2.1:%zu\"}",
			i ? "," : "", set->sims[i].id, wg_b64, pub_b64, (i >> 16) & 255,
			(i >> 8) & 255, i & 255, 1024 + i % 60000);
	}
	fputs("]}\n", f);
	return fclose(f);
}

void sim_set_free(struct sim_set *set)
{
	size_t i;

	for (i = 0; set->sims && i < set->n; i++) {
		struct sim *s = &set->sims[i];

		if (s->fd >= 0)
			close(s->fd);
		EVP_PKEY_free(s->key);
		free(s->buf);
		free(s->body);
	}
	free(set->sims);
	if (set->ep >= 0)
		close(set->ep);
	memset(set, 0, sizeof(*set));
	set->ep = -1;
}

int sim_connect_all(struct sim_set *set, uint16_t port)
{
	size_t i;

	set->port = port;
	set->ep = epoll_create1(EPOLL_CLOEXEC);
	if (set->ep < 0)
		return -1;
	for (i = 0; i < set->n; i++) {
		struct sockaddr_in src = { .sin_family = AF_INET }, dst = { .sin_family = AF_INET };
		struct epoll_event ev = { .events = EPOLLIN, .data.u64 = i };
		int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;

		if (fd < 0) {
			fprintf(stderr, "socket %zu: %s\n", i, strerror(errno));
			return -1;
		}
		src.sin_addr.s_addr = htonl(0x7f000002 + (uint32_t)(i % SIM_SOURCES));
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
		set->sims[i].fd = fd;
		if (epoll_ctl(set->ep, EPOLL_CTL_ADD, fd, &ev))
			return -1;
	}
	return 0;
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

int sim_send(struct sim *s, const char *method, const char *target, const char *body)
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

/* Reads what s has; completes its response when it is all in. */
static void sim_read(struct sim *s, bool keep_body)
{
	for (;;) {
		ssize_t r;
		char *end, v[32];
		size_t head_len, cl;

		if (s->cap - s->len < 4096) {
			char *nb = realloc(s->buf, s->cap ? 2 * s->cap : 8192);

			if (!nb)
				return;
			s->buf = nb;
			s->cap = s->cap ? 2 * s->cap : 8192;
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
		end[2] = '\0';	/* the head, each line ending in \r\n */
		cl = strtoul(mn_header_value(s->buf, "Content-Length", v, sizeof(v)), NULL, 10);
		if (s->len < head_len + cl) {
			end[2] = '\r';
			continue;
		}
		sscanf(s->buf, "HTTP/1.%*d %d", &s->status);
		s->t_done = sim_now();
		s->bytes = head_len + cl;
		mn_header_value(s->buf, MESHNET_HDR_STATEMENT_SIGNATURE, s->sig, sizeof(s->sig));
		s->rev = strtoull(mn_header_value(s->buf, MESHNET_HDR_REVISION, v, sizeof(v)), NULL,
				  10);
		if (keep_body) {
			s->body = malloc(cl + 1);
			if (s->body) {
				memcpy(s->body, s->buf + head_len, cl);
				s->body[cl] = '\0';
				s->body_len = cl;
			}
		}
		s->pending = false;
		s->done = true;
		s->len = 0;
		return;
	}
}

size_t sim_wait_all(struct sim_set *set, double timeout, bool keep_body)
{
	struct epoll_event evs[1024];
	double end = sim_now() + timeout;
	size_t pending = 0, i;

	for (i = 0; i < set->n; i++)
		pending += set->sims[i].pending;
	while (pending && sim_now() < end) {
		int n = epoll_wait(set->ep, evs, 1024, 200), k;

		for (k = 0; k < n; k++) {
			struct sim *s = &set->sims[evs[k].data.u64];

			if (!s->pending)
				continue;
			sim_read(s, keep_body);
			if (!s->pending)
				pending--;
		}
	}
	return pending;
}

size_t sim_benchmark_all(struct sim_set *set, time_t ts, double overall)
{
	size_t i, failed = 0, wave = 4000, start;

	for (start = 0; start < set->n; start += wave) {
		for (i = start; i < set->n && i < start + wave; i++) {
			char body[512], target[64];

			mn_bench_body(body, sizeof(body), set->sims[i].id, "scale-1", overall, ts);
			snprintf(target, sizeof(target), "/v1/benchmarks/%s", set->sims[i].id);
			if (sim_send(&set->sims[i], "POST", target, body))
				failed++;
		}
		failed += sim_wait_all(set, 300, false);
		for (i = start; i < set->n && i < start + wave; i++)
			failed += set->sims[i].status != 200;
	}
	return failed;
}

void sim_longpoll_all(struct sim_set *set, uint64_t rev, unsigned int wait_s)
{
	size_t i;

	for (i = 0; i < set->n; i++) {
		char target[96];

		snprintf(target, sizeof(target), "/v1/config/%s?rev=%llu&wait=%u", set->sims[i].id,
			 (unsigned long long)rev, wait_s);
		sim_send(&set->sims[i], "GET", target, NULL);
	}
}
