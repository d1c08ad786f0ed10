/* SPDX-License-Identifier: MIT */
/*
 * meshnetd's HTTP layer on libmicrohttpd. http.c holds the plumbing, the
 * route table and the uniform errors; longpoll.c the suspended config
 * requests; routes/ one file per handler group. main.c only needs
 * api_start(), api_stop() and api_routes().
 */
#ifndef MESHNETD_HTTP_H
#define MESHNETD_HTTP_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>
#include <microhttpd.h>
#include <openssl/sha.h>

#include "conn_guard.h"
#include "controller.h"
#include "router.h"
#include "strbuf.h"

#define LONGPOLL_MAX_WAIT 60
#define HTTP_SHARED_RESPONSES 4

struct api_server;

struct api_route_info {
	const char *method;
	const char *path;
};

/* The route table, for `meshnetd routes` and the OpenAPI test. */
const struct api_route_info *api_routes(size_t *count);

/* Starts listening; NULL (after logging why) on error. */
struct api_server *api_start(struct controller *c, const struct controller_config *cfg);
/* Wakes every long-poll waiter, stops the daemon. */
void api_stop(struct api_server *s);

/* ---- between http.c, longpoll.c and routes/ ---- */

enum auth_kind { AUTH_NONE, AUTH_NODE, AUTH_ADMIN };

struct request;
typedef void (*route_handler_fn)(struct api_server *s, struct request *r);

struct route {
	struct route_pattern pat;	/* first: router_match() reads it */
	enum auth_kind auth;
	route_handler_fn handler;
};

struct request {
	struct MHD_Connection *conn;
	char *uri;			/* raw request target, as signed */
	const struct route *route;
	char node_id[80];		/* the {node_id} segment, unvalidated */
	bool started, responded;
	bool close;			/* answer with Connection: close */
	char *body;
	size_t body_len, discarded;
	/* long-poll: waiting/resumed are guarded by wait_lock, parked is only
	 * touched by the thread running the handler */
	bool waiting, resumed, parked;
	bool wait_revision;		/* v2: after is a revision (v1: an epoch) */
	enum { WAKE_NONE, WAKE_QUEUED, WAKE_RESUMED } wake;	/* wait_lock */
	unsigned int wake_cost;		/* its share of the wake slice (wait_lock) */
	uint64_t after;
	size_t waiter_index;
	/* GET /v1/config v2: its query, read once (a woken waiter does not re-read it) */
	bool config_v2, config_checkpoint;
	uint64_t config_rev;
	/* a 2xx held until its commit batch is durable (durable_lock) */
	bool deferred;
	unsigned int deferred_status;
	struct strbuf deferred_body;
	uint64_t deferred_seq;
	struct request *deferred_next;
	bool in_background;		/* running in the admin thread */
	struct request *admin_next;
};

struct api_server {
	struct MHD_Daemon *daemon;
	struct conn_guard *guard;	/* deadlines, per-address quota, reserve */
	struct controller *c;
	const struct controller_config *cfg;
	struct admin_token admin;
	/* suspended long-poll requests */
	pthread_mutex_t wait_lock;
	pthread_cond_t wait_cond;
	struct request **waiters;
	int64_t *deadlines;		/* deadlines[i] of waiters[i], ms monotonic */
	size_t n_waiters;
	/* woken waiters, resumed WAKE_SLICE at a time (longpoll.c) */
	struct request **wake_ring;	/* max_waiters + 1 entries */
	size_t wake_head, wake_len, wake_resumed;
	uint64_t latest_epoch, latest_revision;
	bool stopping;
	pthread_t timer;
	bool timer_started;
	uint64_t requests_total, errors_total, longpoll_refused;
	/* replies waiting for durability */
	pthread_mutex_t durable_lock;
	struct request *deferred;
	uint64_t durable_seq;
	bool durable_failed;
	/* admin writes, one thread */
	pthread_mutex_t admin_lock;
	pthread_cond_t admin_cond;
	struct request *admin_queue, *admin_tail;
	pthread_t admin_thread;
	bool admin_started, admin_stopping;
	/* the libmicrohttpd responses of shared bodies (http_reply_shared) */
	pthread_mutex_t shared_lock;
	struct shared_response {
		struct blob *body;	/* a reference: the key stays unique */
		struct MHD_Response *resp;
	} shared[HTTP_SHARED_RESPONSES];
	unsigned int shared_next;
};


/* Replies (http.c): each queues the response and marks r responded. */
void http_reply(struct api_server *s, struct request *r, unsigned int status,
		const char *content_type, struct strbuf *body);
void http_reply_json(struct api_server *s, struct request *r, unsigned int status,
		     struct strbuf *body);
/* The uniform error body {"error":{"code":..,"message":..}}. */
void http_reply_error(struct api_server *s, struct request *r, unsigned int status,
		      const char *code, const char *message);
void http_reply_api_error(struct api_server *s, struct request *r, const struct api_error *e);
/* A JSON body (taking the reference) with extra headers: name, value, ..., NULL. */
void http_reply_blob(struct api_server *s, struct request *r, unsigned int status,
		     struct blob *body, const char *const *headers);
/*
 * The same as http_reply_blob for a body shared by many requests (the "*"
 * delta every waiter of a revision gets): its libmicrohttpd response, head
 * and body, is built once and queued on every connection (libmicrohttpd
 * counts its references). headers must be the same for every request that
 * shares body.
 */
void http_reply_shared(struct api_server *s, struct request *r, unsigned int status,
		       struct blob *body, const char *const *headers);
void http_reply_empty(struct api_server *s, struct request *r, unsigned int status,
		      const char *const *headers);
void http_reply_error_headers(struct api_server *s, struct request *r, unsigned int status,
			      const char *code, const char *message, const char *const *headers);

/*
 * Sends status + body once the controller's commit batch seq is durable
 * (at once if it is); the connection is suspended meanwhile (no thread).
 */
void http_reply_when_durable(struct api_server *s, struct request *r, unsigned int status,
			     struct strbuf *body, uint64_t seq);

/* Request helpers (http.c); each replies 400 itself when it returns false/NULL/-1. */
bool http_check_node_id(struct api_server *s, struct request *r);
/* ?name=N: 0 (absent: *present false) or -1 if not a decimal; clamps to max. */
int http_query_uint(struct request *r, const char *name, uint64_t max, uint64_t *out,
		    bool *present);
struct json_object *http_body_object(struct api_server *s, struct request *r);

/* Long-poll waiters (longpoll.c) */
void longpoll_remove_locked(struct api_server *s, struct request *r);
/* A woken waiter is being answered, or is gone: the next one may resume. */
void longpoll_wake_done(struct api_server *s, struct request *r);
/* At stop: every woken waiter resumed at once (wait_lock held). */
void longpoll_wake_flush_locked(struct api_server *s);
void longpoll_resume_locked(struct api_server *s, struct request *r);
/* The controller's change listener: resumes the waiters behind it. */
void longpoll_on_change(void *ctx, uint64_t revision, uint64_t epoch_id);
void *longpoll_timer_main(void *arg);
enum longpoll_result { LONGPOLL_WAITING, LONGPOLL_NEWER, LONGPOLL_FULL };
/*
 * Suspends r until a revision (by_revision) or epoch newer than after, or
 * wait_s seconds. NEWER: answer now; FULL: no slot (MAX_WAITERS).
 */
enum longpoll_result longpoll_add(struct api_server *s, struct request *r, bool by_revision,
				  uint64_t after, unsigned int wait_s);

/* Handlers (routes/) */
void route_health(struct api_server *s, struct request *r);
void route_metrics(struct api_server *s, struct request *r);
void route_epoch(struct api_server *s, struct request *r);
void route_rotate(struct api_server *s, struct request *r);
void route_benchmark(struct api_server *s, struct request *r);
void route_config(struct api_server *s, struct request *r);
void route_enrol(struct api_server *s, struct request *r);
void route_remove(struct api_server *s, struct request *r);
void route_override(struct api_server *s, struct request *r);
void route_log_checkpoint(struct api_server *s, struct request *r);
void route_log_inclusion(struct api_server *s, struct request *r);
void route_log_consistency(struct api_server *s, struct request *r);
void route_log_records(struct api_server *s, struct request *r);
void route_ack(struct api_server *s, struct request *r);
void route_admin_acks(struct api_server *s, struct request *r);
void route_admin_status(struct api_server *s, struct request *r);
void route_admin_nodes(struct api_server *s, struct request *r);
void route_admin_changes(struct api_server *s, struct request *r);
void route_admin_epochs(struct api_server *s, struct request *r);
void route_admin_audit(struct api_server *s, struct request *r);
void route_admin_join_token(struct api_server *s, struct request *r);
void route_join(struct api_server *s, struct request *r);
void route_console(struct api_server *s, struct request *r);
void route_console_js(struct api_server *s, struct request *r);
void route_console_css(struct api_server *s, struct request *r);
void route_node_view(struct api_server *s, struct request *r);
void route_attestation(struct api_server *s, struct request *r);
void route_attestation_relay(struct api_server *s, struct request *r);
void route_evaluators(struct api_server *s, struct request *r);
void route_evaluator_enrol(struct api_server *s, struct request *r);
void route_evaluator_remove(struct api_server *s, struct request *r);
void route_policy(struct api_server *s, struct request *r);
void route_policy_put(struct api_server *s, struct request *r);
void route_policy_reload(struct api_server *s, struct request *r);

#endif
