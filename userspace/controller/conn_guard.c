// SPDX-License-Identifier: MIT
#include <netinet/in.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "conn_guard.h"

#define EVICT_GRACE_MS 250

struct conn_track {
	struct conn_track *prev, *next;		/* every open connection */
	struct conn_track *ip_next;		/* same address bucket */
	struct conn_guard *g;
	MHD_socket fd;
	uint8_t addr[16];
	uint64_t addr_hash;
	/*
	 * The phase and when it started, one word (start_ms << 2 | phase):
	 * set without the lock (every request moves it three times), read
	 * whole by the reaper, which walks every connection under the lock.
	 */
	uint64_t phase_word;
	enum conn_class klass;
	bool cut;
};

static uint64_t phase_pack(enum conn_phase p, int64_t start_ms)
{
	return (uint64_t)start_ms << 2 | (uint64_t)p;
}

static enum conn_phase phase_of(uint64_t w)
{
	return (enum conn_phase)(w & 3);
}

static int64_t phase_start_of(uint64_t w)
{
	return (int64_t)(w >> 2);
}

static uint64_t phase_load(const struct conn_track *t)
{
	return __atomic_load_n(&t->phase_word, __ATOMIC_RELAXED);
}

struct conn_guard {
	struct conn_guard_limits lim;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct conn_track head;			/* list sentinel */
	struct conn_track **ip_buckets;
	size_t n_ip_buckets;
	unsigned int n_live;			/* open and not cut */
	struct conn_guard_stats stats;
	bool stopping;
	pthread_t reaper;
};

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t phase_limit_ms(const struct conn_guard *g, enum conn_phase p)
{
	switch (p) {
	case CONN_HEADERS:
		return g->lim.header_ms;
	case CONN_BODY:
		return g->lim.body_ms;
	case CONN_HANDLING:
		return g->lim.handling_ms;
	default:
		return 0;	/* parked long-poll: bounded by its own wait */
	}
}

/* Caller holds the lock; the fd stays open until the CLOSED notification. */
static void cut_locked(struct conn_guard *g, struct conn_track *t, uint64_t *counter)
{
	if (t->cut)
		return;
	t->cut = true;
	g->n_live--;
	(*counter)++;
	shutdown(t->fd, SHUT_RDWR);
}

static void *reaper_main(void *arg)
{
	struct conn_guard *g = arg;

	pthread_mutex_lock(&g->lock);
	while (!g->stopping) {
		int64_t now = mono_ms();
		struct conn_track *t;
		struct timespec ts;
		long interval_ms;

		for (t = g->head.next; t != &g->head; t = t->next) {
			uint64_t w = phase_load(t);
			int64_t limit = phase_limit_ms(g, phase_of(w));

			if (!t->cut && limit > 0 && now - phase_start_of(w) > limit)
				cut_locked(g, t, &g->stats.cut_deadline);
		}
		/*
		 * The walk is O(connections) (10,000: most of a millisecond of
		 * cache misses): every 200 ms, slower as they grow (1 s from
		 * 16,000 on); a deadline is late by at most that much.
		 */
		interval_ms = 200 + (long)(g->stats.open / 20);
		if (interval_ms > 1000)
			interval_ms = 1000;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += interval_ms * 1000000;
		while (ts.tv_nsec >= 1000000000) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000;
		}
		pthread_cond_timedwait(&g->cond, &g->lock, &ts);
	}
	pthread_mutex_unlock(&g->lock);
	return NULL;
}

struct conn_guard *conn_guard_new(const struct conn_guard_limits *limits)
{
	struct conn_guard *g = calloc(1, sizeof(*g));

	if (!g)
		return NULL;
	g->lim = *limits;
	/*
	 * A chain of ~2 at capacity; every bucket is touched once as many
	 * addresses connect, so the table is resident (8 bytes a bucket):
	 * 128 KiB at 20,000 connections, not the 512 KiB of 2 per connection.
	 */
	g->n_ip_buckets = 64;
	while (g->n_ip_buckets < (size_t)limits->max_connections / 2 &&
	       g->n_ip_buckets < (1u << 18))
		g->n_ip_buckets <<= 1;
	g->ip_buckets = calloc(g->n_ip_buckets, sizeof(*g->ip_buckets));
	if (!g->ip_buckets)
		goto err_free;
	g->head.next = g->head.prev = &g->head;
	pthread_mutex_init(&g->lock, NULL);
	pthread_cond_init(&g->cond, NULL);
	if (pthread_create(&g->reaper, NULL, reaper_main, g))
		goto err_sync;
	return g;

err_sync:
	pthread_cond_destroy(&g->cond);
	pthread_mutex_destroy(&g->lock);
	free(g->ip_buckets);
err_free:
	free(g);
	return NULL;
}

/* After MHD_stop_daemon (every connection is closed by then). */
void conn_guard_free(struct conn_guard *g)
{
	if (!g)
		return;
	pthread_mutex_lock(&g->lock);
	g->stopping = true;
	pthread_cond_broadcast(&g->cond);
	pthread_mutex_unlock(&g->lock);
	pthread_join(g->reaper, NULL);
	pthread_cond_destroy(&g->cond);
	pthread_mutex_destroy(&g->lock);
	free(g->ip_buckets);
	free(g);
}

static void address_of(struct MHD_Connection *conn, uint8_t out[16])
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	const struct sockaddr *sa = ci ? ci->client_addr : NULL;

	memset(out, 0, 16);
	if (sa && sa->sa_family == AF_INET) {
		out[10] = out[11] = 0xff;	/* v4-mapped */
		memcpy(out + 12, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, 4);
	} else if (sa && sa->sa_family == AF_INET6) {
		memcpy(out, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, 16);
	}
}

static uint64_t hash_addr(const uint8_t a[16])
{
	uint64_t h = 0xcbf29ce484222325ull;
	int i;

	for (i = 0; i < 16; i++) {
		h ^= a[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

/* The oldest live connection still sending headers (of one address, or any). */
static struct conn_track *oldest_in_headers(struct conn_guard *g, const struct conn_track *of)
{
	struct conn_track *t, *best = NULL;

	if (of) {
		for (t = g->ip_buckets[of->addr_hash & (g->n_ip_buckets - 1)]; t; t = t->ip_next)
			if (!t->cut && phase_of(phase_load(t)) == CONN_HEADERS &&
			    !memcmp(t->addr, of->addr, 16) &&
			    (!best || phase_start_of(phase_load(t)) < phase_start_of(phase_load(best))))
				best = t;
		return best;
	}
	for (t = g->head.next; t != &g->head; t = t->next)
		if (!t->cut && phase_of(phase_load(t)) == CONN_HEADERS &&
		    (!best || phase_start_of(phase_load(t)) < phase_start_of(phase_load(best))))
			best = t;
	return best;
}

static unsigned int live_from(struct conn_guard *g, const struct conn_track *of)
{
	const struct conn_track *t;
	unsigned int n = 0;

	for (t = g->ip_buckets[of->addr_hash & (g->n_ip_buckets - 1)]; t; t = t->ip_next)
		if (!t->cut && !memcmp(t->addr, of->addr, 16))
			n++;
	return n;
}

static void admit_locked(struct conn_guard *g, struct conn_track *t)
{
	struct conn_track *victim;

	if (g->lim.per_ip && live_from(g, t) >= g->lim.per_ip) {
		/*
		 * A connection gets EVICT_GRACE_MS to send its request: a flood
		 * reconnecting as fast as it can must not cut the /health probe
		 * it races with before libmicrohttpd has read it.
		 */
		victim = oldest_in_headers(g, t);
		if (victim && phase_start_of(phase_load(t)) -
			      phase_start_of(phase_load(victim)) >= EVICT_GRACE_MS)
			cut_locked(g, victim, &g->stats.cut_quota);
		else
			t->klass = CONN_OVER_QUOTA;
	}
	if (g->n_live + 1 >= g->lim.max_connections) {
		victim = oldest_in_headers(g, NULL);
		if (victim)
			cut_locked(g, victim, &g->stats.cut_capacity);
	}
	if (t->klass == CONN_NORMAL && g->lim.reserve &&
	    g->n_live + g->lim.reserve >= g->lim.max_connections)
		t->klass = CONN_RESERVE;
}

static void track_start(struct conn_guard *g, struct MHD_Connection *conn, void **socket_context)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
	struct conn_track *t = calloc(1, sizeof(*t));
	size_t b;

	*socket_context = t;
	if (!t || !ci)
		return;
	t->g = g;
	t->fd = ci->connect_fd;
	address_of(conn, t->addr);
	t->addr_hash = hash_addr(t->addr);
	t->phase_word = phase_pack(CONN_HEADERS, mono_ms());
	pthread_mutex_lock(&g->lock);
	admit_locked(g, t);
	t->next = &g->head;
	t->prev = g->head.prev;
	g->head.prev->next = t;
	g->head.prev = t;
	b = t->addr_hash & (g->n_ip_buckets - 1);
	t->ip_next = g->ip_buckets[b];
	g->ip_buckets[b] = t;
	g->n_live++;
	g->stats.open++;
	pthread_mutex_unlock(&g->lock);
}

static void track_end(struct conn_track *t)
{
	struct conn_guard *g = t->g;
	struct conn_track **pp;

	if (!g) {
		free(t);
		return;
	}
	pthread_mutex_lock(&g->lock);
	t->prev->next = t->next;
	t->next->prev = t->prev;
	for (pp = &g->ip_buckets[t->addr_hash & (g->n_ip_buckets - 1)]; *pp; pp = &(*pp)->ip_next) {
		if (*pp == t) {
			*pp = t->ip_next;
			break;
		}
	}
	if (!t->cut)
		g->n_live--;
	g->stats.open--;
	pthread_mutex_unlock(&g->lock);
	free(t);
}

void conn_guard_notify(void *cls, struct MHD_Connection *conn, void **socket_context,
		       enum MHD_ConnectionNotificationCode code)
{
	if (code == MHD_CONNECTION_NOTIFY_STARTED)
		track_start(cls, conn, socket_context);
	else if (code == MHD_CONNECTION_NOTIFY_CLOSED && *socket_context) {
		track_end(*socket_context);
		*socket_context = NULL;
	}
}

static struct conn_track *track_of(struct MHD_Connection *conn)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);

	return ci ? ci->socket_context : NULL;
}

void conn_guard_set_phase(struct conn_guard *g, struct MHD_Connection *conn, enum conn_phase p)
{
	struct conn_track *t = track_of(conn);

	(void)g;
	if (!t || !t->g)
		return;
	__atomic_store_n(&t->phase_word, phase_pack(p, mono_ms()), __ATOMIC_RELAXED);
}

enum conn_class conn_guard_class(struct MHD_Connection *conn)
{
	struct conn_track *t = track_of(conn);

	return t ? t->klass : CONN_NORMAL;
}

void conn_guard_get_stats(struct conn_guard *g, struct conn_guard_stats *out)
{
	pthread_mutex_lock(&g->lock);
	*out = g->stats;
	pthread_mutex_unlock(&g->lock);
}
