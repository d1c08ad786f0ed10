/* SPDX-License-Identifier: MIT */
/*
 * Simulated nodes for load tests (make bench-scale; reusable by a soak):
 * N nodes with their own Ed25519 keys, enrolled through a NODES_FILE, each
 * on one keep-alive connection to meshnetd, all driven by one epoll loop.
 * Sources are spread over 127.0.0.2 .. 127.0.0.(1 + SIM_SOURCES) to stay
 * clear of the ephemeral port range. Requests are signed as a node signs
 * them (selftests/controller/client.c, userspace/lib/sign.c).
 */
#ifndef MESHNET_SIM_NODES_H
#define MESHNET_SIM_NODES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <openssl/evp.h>

#define SIM_SOURCES 64

struct sim {
	char id[24];
	EVP_PKEY *key;
	int fd;
	char *buf;
	size_t len, cap;
	bool pending, done;	/* a request is out / its response is in */
	int status;
	double t_done;		/* CLOCK_MONOTONIC seconds of the response's last byte */
	size_t bytes;		/* head + body of the response */
	char sig[100];		/* X-Meshnet-Statement-Signature */
	char *body;		/* kept if asked (sim_wait_all keep_body) */
	size_t body_len;
	uint64_t rev;		/* X-Meshnet-Revision */
};

struct sim_set {
	struct sim *sims;
	size_t n;
	int ep;			/* epoll over every node's connection */
	uint16_t port;		/* meshnetd on 127.0.0.1 */
};

double sim_now(void);

/* n nodes with fresh keys, ids "n0".. "n<n-1>", written as a NODES_FILE to path. */
int sim_set_create(struct sim_set *set, size_t n, const char *nodes_file);
void sim_set_free(struct sim_set *set);

/* One connection per node to 127.0.0.1:port; 0 or -1 (logged). */
int sim_connect_all(struct sim_set *set, uint16_t port);

/* Sends a signed request on s's connection (the response is read by sim_wait_all). */
int sim_send(struct sim *s, const char *method, const char *target, const char *body);

/* Runs the loop until every pending node has its response or timeout s; returns the rest. */
size_t sim_wait_all(struct sim_set *set, double timeout, bool keep_body);

/* Every node benchmarks (in waves); returns how many failed (not 200). */
size_t sim_benchmark_all(struct sim_set *set, time_t ts, double overall);

/* Every node long-polls GET /v1/config/{id}?rev=rev&wait=wait_s. */
void sim_longpoll_all(struct sim_set *set, uint64_t rev, unsigned int wait_s);

#endif
