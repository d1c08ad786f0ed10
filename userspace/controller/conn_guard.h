/* SPDX-License-Identifier: MIT */
/*
 * The connection guard of meshnetd's HTTP daemon (libmicrohttpd's own
 * CONNECTION_TIMEOUT is an idle timeout: a client that sends a byte every
 * few seconds would hold its slot forever).
 *
 * - Absolute deadlines per phase: the request headers must be in within
 *   header_ms of the connection (or of the previous request's end, on a
 *   kept-alive connection), the body within body_ms of the headers, and the
 *   answer out within handling_ms. A suspended long-poll has no deadline
 *   (its own wait bounds it). A connection past its deadline is shut down.
 * - Per-address quota: when an address opens more than per_ip connections,
 *   its oldest connection still sending headers is shut down (if it has had
 *   250 ms), so a flood from one address churns only its own slots; if none
 *   qualifies the new one is CONN_OVER_QUOTA (it may ask /health only).
 * - A reserve: once max_connections - reserve slots are taken, new
 *   connections are CONN_RESERVE (only /health and signed node requests are
 *   served on them), and at max_connections - 1 the oldest connection still
 *   sending headers is shut down to keep a slot free.
 */
#ifndef MESHNETD_CONN_GUARD_H
#define MESHNETD_CONN_GUARD_H

#include <stdint.h>

#include <microhttpd.h>

enum conn_phase { CONN_HEADERS, CONN_BODY, CONN_HANDLING, CONN_PARKED };
enum conn_class { CONN_NORMAL, CONN_RESERVE, CONN_OVER_QUOTA };

struct conn_guard_limits {
	unsigned int max_connections;
	unsigned int per_ip;		/* 0: no per-address quota */
	unsigned int reserve;		/* slots kept for node requests and /health */
	int64_t header_ms, body_ms, handling_ms;
};

struct conn_guard_stats {
	uint64_t open, cut_deadline, cut_quota, cut_capacity;
};

struct conn_guard;

/* Starts the reaper thread; NULL on error. */
struct conn_guard *conn_guard_new(const struct conn_guard_limits *limits);
void conn_guard_free(struct conn_guard *g);

/* MHD_OPTION_NOTIFY_CONNECTION callback; cls is the guard. */
void conn_guard_notify(void *cls, struct MHD_Connection *conn, void **socket_context,
		       enum MHD_ConnectionNotificationCode code);
/* Moves conn's deadline clock to phase p (now). */
void conn_guard_set_phase(struct conn_guard *g, struct MHD_Connection *conn, enum conn_phase p);
enum conn_class conn_guard_class(struct MHD_Connection *conn);
void conn_guard_get_stats(struct conn_guard *g, struct conn_guard_stats *out);

#endif
