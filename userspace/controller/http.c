// SPDX-License-Identifier: MIT
/*
 * libmicrohttpd plumbing: the route table, routing, uniform errors, body
 * buffering and limits, authentication dispatch, start and stop.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>

#include "fileio.h"
#include "http.h"
#include "ids.h"
#include "jsonutil.h"
#include "log.h"
#include "sign.h"

/*
 * Per connection (MHD pool: request headers, reply headers); bodies are buffered
 * apart up to BODY_LIMIT. A long-poll waiter costs about this much (libmicrohttpd
 * zeroes the whole pool after each request, so all of it is resident): keep it
 * small. A node's signed request is about 600 bytes of headers, a reply's head
 * about 400; a request whose headers do not fit gets 431.
 */
#define CONNECTION_MEMORY_LIMIT (3 * 1024)

/*
 * GnuTLS priorities of the HTTPS daemon: TLS 1.2 and 1.3 only, AEAD ciphers
 * only (no CBC, no SHA-1 MACs), forward-secret key exchange only.
 */
#define TLS_PRIORITIES "SECURE128:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2:-CIPHER-ALL:" \
	"+AES-256-GCM:+AES-128-GCM:+CHACHA20-POLY1305:-MAC-ALL:+AEAD:-KX-ALL:" \
	"+ECDHE-ECDSA:+ECDHE-RSA:%SERVER_PRECEDENCE"

static const struct route routes[] = {
	{ { "GET", "/health" }, AUTH_NONE, route_health },
	{ { "GET", "/metrics" }, AUTH_NONE, route_metrics },
	{ { "GET", "/v1/epoch" }, AUTH_NONE, route_epoch },
	{ { "POST", "/v1/benchmarks/{node_id}" }, AUTH_NODE, route_benchmark },
	{ { "GET", "/v1/config/{node_id}" }, AUTH_NODE, route_config },
	{ { "POST", "/v1/rotate" }, AUTH_ADMIN, route_rotate },
	{ { "POST", "/v1/nodes" }, AUTH_ADMIN, route_enrol },
	{ { "DELETE", "/v1/nodes/{node_id}" }, AUTH_ADMIN, route_remove },
	{ { "PUT", "/v1/nodes/{node_id}/override" }, AUTH_ADMIN, route_override },
	{ { "GET", "/v1/log/checkpoint" }, AUTH_NONE, route_log_checkpoint },
	{ { "GET", "/v1/log/proof/inclusion" }, AUTH_NONE, route_log_inclusion },
	{ { "GET", "/v1/log/proof/consistency" }, AUTH_NONE, route_log_consistency },
	{ { "GET", "/v1/log/records" }, AUTH_NONE, route_log_records },
	/* routes/ack.c */
	{ { "POST", "/v1/ack/{node_id}" }, AUTH_NODE, route_ack },
	{ { "GET", "/v1/admin/acks" }, AUTH_ADMIN, route_admin_acks },
	/* routes/admin.c */
	{ { "GET", "/v1/admin/status" }, AUTH_ADMIN, route_admin_status },
	{ { "GET", "/v1/admin/nodes" }, AUTH_ADMIN, route_admin_nodes },
	{ { "GET", "/v1/admin/changes" }, AUTH_ADMIN, route_admin_changes },
	{ { "GET", "/v1/admin/nodes/{node_id}" }, AUTH_ADMIN, route_node_view },
	{ { "GET", "/v1/admin/epochs" }, AUTH_ADMIN, route_admin_epochs },
	{ { "GET", "/v1/admin/audit" }, AUTH_ADMIN, route_admin_audit },
	{ { "POST", "/v1/admin/join-tokens" }, AUTH_ADMIN, route_admin_join_token },
	{ { "POST", "/v1/join" }, AUTH_NONE, route_join },
	/* routes/console.c: static assets; the data comes from the admin routes */
	{ { "GET", "/console" }, AUTH_NONE, route_console },
	{ { "GET", "/console/app.js" }, AUTH_NONE, route_console_js },
	{ { "GET", "/console/app.css" }, AUTH_NONE, route_console_css },
	{ { "GET", "/v1/nodes/{node_id}" }, AUTH_ADMIN, route_node_view },
	{ { "POST", "/v1/nodes/{node_id}/attestations" }, AUTH_NODE, route_attestation_relay },
	{ { "POST", "/v1/attestations" }, AUTH_NONE, route_attestation },
	{ { "GET", "/v1/evaluators" }, AUTH_ADMIN, route_evaluators },
	{ { "POST", "/v1/evaluators" }, AUTH_ADMIN, route_evaluator_enrol },
	{ { "DELETE", "/v1/evaluators/{evaluator_id}" }, AUTH_ADMIN, route_evaluator_remove },
	{ { "GET", "/v1/policy" }, AUTH_ADMIN, route_policy },
	{ { "PUT", "/v1/policy" }, AUTH_ADMIN, route_policy_put },
	{ { "POST", "/v1/policy/reload" }, AUTH_ADMIN, route_policy_reload },
};

#define N_ROUTES (sizeof(routes) / sizeof(routes[0]))

const struct api_route_info *api_routes(size_t *count)
{
	static struct api_route_info info[N_ROUTES];
	size_t i;

	for (i = 0; i < N_ROUTES; i++) {
		info[i].method = routes[i].pat.method;
		info[i].path = routes[i].pat.path;
	}
	*count = N_ROUTES;
	return info;
}

/* ---- replies ---- */

/* Bodies are NUL-terminated text without inner NULs (strbuf_steal). */
static void free_wiped(void *buf)
{
	if (!buf)
		return;
	OPENSSL_cleanse(buf, strlen(buf));
	free(buf);
}

/* A reply made in the admin thread: held in r until the connection resumes. */
static void stash_reply(struct request *r, unsigned int status, struct strbuf *body,
			uint64_t seq)
{
	strbuf_free(&r->deferred_body);
	r->deferred = true;
	r->deferred_status = status;
	r->deferred_body = *body;
	strbuf_init(body);
	if (seq > r->deferred_seq)
		r->deferred_seq = seq;
	r->responded = true;
}

void http_reply(struct api_server *s, struct request *r, unsigned int status,
		  const char *content_type, struct strbuf *body)
{
	struct MHD_Response *resp;
	size_t len;
	char *buf;

	if (r->in_background) {
		stash_reply(r, status, body, 0);
		return;
	}
	buf = strbuf_steal(body, &len);

	if (!buf)
		return;
	/* Replies may carry PSKs: wipe every body when MHD is done with it. */
	resp = MHD_create_response_from_buffer_with_free_callback(len, buf, free_wiped);
	if (!resp) {
		free_wiped(buf);
		return;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
	MHD_add_response_header(resp, "Cache-Control", "no-store");
	if (r->close)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close");
	if (status == 405 && r->route == NULL) {
		/* Allow header filled by the caller through r->node_id */
		MHD_add_response_header(resp, "Allow", r->node_id);
	}
	r->responded = MHD_queue_response(r->conn, status, resp) == MHD_YES;
	MHD_destroy_response(resp);
	if (status >= 400)
		__atomic_fetch_add(&s->errors_total, 1, __ATOMIC_RELAXED);
}

static void blob_release(void *cls)
{
	blob_put(cls);
}

static void add_headers(struct MHD_Response *resp, const char *const *headers)
{
	for (; headers && headers[0]; headers += 2)
		MHD_add_response_header(resp, headers[0], headers[1]);
}

static struct MHD_Response *blob_response(struct blob *body, const char *const *headers);

void http_reply_blob(struct api_server *s, struct request *r, unsigned int status,
		     struct blob *body, const char *const *headers)
{
	struct MHD_Response *resp;

	resp = blob_response(body, headers);
	if (!resp)
		return;
	MHD_queue_response(r->conn, status, resp);
	MHD_destroy_response(resp);
	r->responded = true;
	if (status >= 400)
		__atomic_fetch_add(&s->errors_total, 1, __ATOMIC_RELAXED);
}

static struct MHD_Response *blob_response(struct blob *body, const char *const *headers)
{
	struct MHD_Response *resp;

	resp = MHD_create_response_from_buffer_with_free_callback_cls(body->len, body->data,
								      blob_release, body);
	if (!resp) {
		blob_put(body);
		return NULL;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
	MHD_add_response_header(resp, "Cache-Control", "no-store");
	add_headers(resp, headers);
	return resp;
}

void http_reply_shared(struct api_server *s, struct request *r, unsigned int status,
		       struct blob *body, const char *const *headers)
{
	struct shared_response *e = NULL;
	unsigned int i;

	pthread_mutex_lock(&s->shared_lock);
	for (i = 0; i < HTTP_SHARED_RESPONSES; i++)
		if (s->shared[i].body == body)
			e = &s->shared[i];
	if (!e) {
		struct MHD_Response *resp = blob_response(blob_get(body), headers);

		if (!resp) {
			pthread_mutex_unlock(&s->shared_lock);
			http_reply_blob(s, r, status, body, headers);
			return;
		}
		e = &s->shared[s->shared_next];
		s->shared_next = (s->shared_next + 1) % HTTP_SHARED_RESPONSES;
		if (e->resp)
			MHD_destroy_response(e->resp);	/* queued ones keep theirs */
		blob_put(e->body);
		e->body = blob_get(body);
		e->resp = resp;
	}
	MHD_queue_response(r->conn, status, e->resp);
	pthread_mutex_unlock(&s->shared_lock);
	blob_put(body);
	r->responded = true;
	if (status >= 400)
		__atomic_fetch_add(&s->errors_total, 1, __ATOMIC_RELAXED);
}

static void shared_responses_free(struct api_server *s)
{
	unsigned int i;

	for (i = 0; i < HTTP_SHARED_RESPONSES; i++) {
		if (s->shared[i].resp)
			MHD_destroy_response(s->shared[i].resp);
		blob_put(s->shared[i].body);
		s->shared[i].resp = NULL;
		s->shared[i].body = NULL;
	}
	pthread_mutex_destroy(&s->shared_lock);
}

void http_reply_empty(struct api_server *s, struct request *r, unsigned int status,
		      const char *const *headers)
{
	struct MHD_Response *resp;

	resp = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
	if (!resp)
		return;
	MHD_add_response_header(resp, "Cache-Control", "no-store");
	add_headers(resp, headers);
	MHD_queue_response(r->conn, status, resp);
	MHD_destroy_response(resp);
	r->responded = true;
	(void)s;
}

void http_reply_error_headers(struct api_server *s, struct request *r, unsigned int status,
			      const char *code, const char *message, const char *const *headers)
{
	struct strbuf sb;
	struct blob *b;

	strbuf_init(&sb);
	strbuf_printf(&sb, "{\"error\":{\"code\":\"%s\",\"message\":", code);
	strbuf_json_string(&sb, message);
	strbuf_puts(&sb, "}}");
	b = sb.oom ? NULL : blob_from(sb.buf, sb.len);
	strbuf_free(&sb);
	if (b)
		http_reply_blob(s, r, status, b, headers);
	log_debug("%s: %u %s: %s", r->uri, status, code, message);
}

void http_reply_json(struct api_server *s, struct request *r, unsigned int status,
		       struct strbuf *body)
{
	http_reply(s, r, status, "application/json", body);
}

void http_reply_error(struct api_server *s, struct request *r, unsigned int status,
			const char *code, const char *message)
{
	struct strbuf sb;

	strbuf_init(&sb);
	strbuf_printf(&sb, "{\"error\":{\"code\":\"%s\",\"message\":", code);
	strbuf_json_string(&sb, message);
	strbuf_puts(&sb, "}}");
	http_reply_json(s, r, status, &sb);
	if (status >= 500)
		log_warn("%s %s: %u %s: %s", r->route ? r->route->pat.method : "?", r->uri, status,
			 code, message);
	else
		log_debug("%s: %u %s: %s", r->uri, status, code, message);
}

void http_reply_api_error(struct api_server *s, struct request *r, const struct api_error *e)
{
	const char *retry[] = { "Retry-After", "1", NULL };

	if (e->status == 503)
		http_reply_error_headers(s, r, e->status, e->code, e->message, retry);
	else
		http_reply_error(s, r, e->status, e->code, e->message);
}

/* ---- replies held until durable ---- */

void http_reply_when_durable(struct api_server *s, struct request *r, unsigned int status,
			     struct strbuf *body, uint64_t seq)
{
	if (r->in_background) {
		stash_reply(r, status, body, seq);
		return;
	}
	pthread_mutex_lock(&s->durable_lock);
	if (s->durable_seq >= seq || s->stopping) {
		pthread_mutex_unlock(&s->durable_lock);
		http_reply_json(s, r, status, body);
		return;
	}
	r->deferred = true;
	r->deferred_status = status;
	r->deferred_body = *body;
	strbuf_init(body);
	r->deferred_seq = seq;
	r->deferred_next = s->deferred;
	s->deferred = r;
	r->parked = true;
	MHD_suspend_connection(r->conn);
	pthread_mutex_unlock(&s->durable_lock);
}

static void on_durable(void *ctx, uint64_t seq, bool ok)
{
	struct api_server *s = ctx;
	struct request **pp;

	pthread_mutex_lock(&s->durable_lock);
	if (ok && seq > s->durable_seq)
		s->durable_seq = seq;
	if (!ok)
		s->durable_failed = true;
	for (pp = &s->deferred; *pp;) {
		struct request *r = *pp;

		if (!ok || r->deferred_seq <= s->durable_seq) {
			*pp = r->deferred_next;
			r->deferred_next = NULL;
			r->resumed = true;
			MHD_resume_connection(r->conn);
		} else {
			pp = &r->deferred_next;
		}
	}
	pthread_mutex_unlock(&s->durable_lock);
}

/* Resumed after durability (or a failed commit): send what was held. */
static void reply_deferred(struct api_server *s, struct request *r)
{
	bool failed;

	pthread_mutex_lock(&s->durable_lock);
	failed = r->deferred_seq > s->durable_seq;
	pthread_mutex_unlock(&s->durable_lock);
	r->deferred = false;
	if (failed) {
		const char *headers[] = { "Retry-After", "5", NULL };

		strbuf_free(&r->deferred_body);
		http_reply_error_headers(s, r, 503, "storage_unavailable",
					 "the change could not be made durable; retry", headers);
		return;
	}
	http_reply_json(s, r, r->deferred_status, &r->deferred_body);
}

static void deferred_remove(struct api_server *s, struct request *r)
{
	struct request **pp;

	pthread_mutex_lock(&s->durable_lock);
	for (pp = &s->deferred; *pp; pp = &(*pp)->deferred_next) {
		if (*pp == r) {
			*pp = r->deferred_next;
			break;
		}
	}
	pthread_mutex_unlock(&s->durable_lock);
	strbuf_free(&r->deferred_body);
}

/* ---- admin writes in their own thread ---- */

/*
 * An admin write (a rotation evaluates every node) runs here, not in an
 * HTTP worker: the workers keep answering /health and the nodes meanwhile.
 * The connection stays suspended; the reply goes out once durable.
 */
static void *admin_thread_main(void *arg)
{
	struct api_server *s = arg;

	pthread_mutex_lock(&s->admin_lock);
	for (;;) {
		struct request *r = s->admin_queue;

		if (!r) {
			if (s->admin_stopping)
				break;
			pthread_cond_wait(&s->admin_cond, &s->admin_lock);
			continue;
		}
		s->admin_queue = r->admin_next;
		if (!s->admin_queue)
			s->admin_tail = NULL;
		pthread_mutex_unlock(&s->admin_lock);
		r->in_background = true;
		r->route->handler(s, r);
		r->in_background = false;
		if (!r->deferred) {
			struct strbuf sb;

			strbuf_init(&sb);
			strbuf_puts(&sb, "{\"error\":{\"code\":\"internal\",\"message\":\"no reply\"}}");
			stash_reply(r, 500, &sb, 0);
		}
		r->responded = false;
		pthread_mutex_lock(&s->durable_lock);
		if (r->deferred_seq <= s->durable_seq || s->durable_failed || s->stopping) {
			r->resumed = true;
			MHD_resume_connection(r->conn);
		} else {
			r->deferred_next = s->deferred;
			s->deferred = r;
		}
		pthread_mutex_unlock(&s->durable_lock);
		pthread_mutex_lock(&s->admin_lock);
	}
	pthread_mutex_unlock(&s->admin_lock);
	return NULL;
}

static void admin_enqueue(struct api_server *s, struct request *r)
{
	r->parked = true;
	MHD_suspend_connection(r->conn);
	pthread_mutex_lock(&s->admin_lock);
	r->admin_next = NULL;
	if (s->admin_tail)
		s->admin_tail->admin_next = r;
	else
		s->admin_queue = r;
	s->admin_tail = r;
	pthread_cond_signal(&s->admin_cond);
	pthread_mutex_unlock(&s->admin_lock);
}

/* ---- routing ---- */

static const struct route *route_find(const char *method, const char *uri, char *id,
				      size_t id_cap, char *allow, size_t allow_cap)
{
	long i = router_match(routes, N_ROUTES, sizeof(routes[0]), method, uri, id, id_cap, allow,
			      allow_cap);

	return i < 0 ? NULL : &routes[i];
}

/* ---- request helpers ---- */

bool http_check_node_id(struct api_server *s, struct request *r)
{
	if (meshnet_node_id_valid(r->node_id))
		return true;
	http_reply_error(s, r, 400, "bad_node_id",
		    "node id must match ^[a-z0-9][a-z0-9._-]{0,62}$");
	return false;
}

int http_query_uint(struct request *r, const char *name, uint64_t max, uint64_t *out,
		    bool *present)
{
	const char *v = MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, name);

	*present = v != NULL;
	return v ? router_parse_uint(v, max, out) : 0;
}

struct json_object *http_body_object(struct api_server *s, struct request *r)
{
	struct json_object *obj = meshnet_json_parse_strict(r->body, r->body_len);

	if (!obj) {
		http_reply_error(s, r, 400, "bad_json", "body is not well-formed JSON");
	} else if (!json_object_is_type(obj, json_type_object)) {
		json_object_put(obj);
		obj = NULL;
		http_reply_error(s, r, 400, "bad_request", "body must be a JSON object");
	}
	return obj;
}


/* ---- authentication ---- */

static bool admin_authorized(struct api_server *s, struct request *r)
{
	struct api_error err;

	if (admin_token_check(&s->admin, MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND,
				  MHD_HTTP_HEADER_AUTHORIZATION), &err)) {
		http_reply_api_error(s, r, &err);
		return false;
	}
	return true;
}

static bool node_authorized(struct api_server *s, struct request *r)
{
	struct api_error err;

	if (!http_check_node_id(s, r))
		return false;
	if (controller_authenticate(s->c, r->node_id, r->route->pat.method, r->uri, r->body,
				    r->body_len,
				    MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND,
								MESHNET_HDR_NODE),
				    MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND,
								MESHNET_HDR_TIMESTAMP),
				    MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND,
								MESHNET_HDR_NONCE),
				    MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND,
								MESHNET_HDR_SIGNATURE),
				    &err)) {
		http_reply_api_error(s, r, &err);
		return false;
	}
	return true;
}

/* ---- libmicrohttpd callbacks ---- */

static void *on_uri(void *cls, const char *uri, struct MHD_Connection *conn)
{
	struct request *r = calloc(1, sizeof(*r));

	(void)cls;
	if (!r)
		return NULL;
	r->conn = conn;
	r->uri = strdup(uri);
	if (!r->uri) {
		free(r);
		return NULL;
	}
	return r;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct api_server *s = cls;
	struct request *r = *con_cls;

	(void)toe;
	if (!r)
		return;
	if (r->parked) {	/* only a suspended request can be a waiter */
		pthread_mutex_lock(&s->wait_lock);
		if (r->waiting)
			longpoll_remove_locked(s, r);
		pthread_mutex_unlock(&s->wait_lock);
	}
	if (__atomic_load_n(&r->wake, __ATOMIC_RELAXED) != WAKE_NONE)
		longpoll_wake_done(s, r);
	if (r->deferred)
		deferred_remove(s, r);
	/* A kept-alive connection waits for its next request's headers. */
	conn_guard_set_phase(s->guard, conn, CONN_HEADERS);
	free(r->uri);
	free(r->body);
	free(r);
	*con_cls = NULL;
}

static enum MHD_Result answered(const struct request *r)
{
	return r->responded ? MHD_YES : MHD_NO;
}

/*
 * Checks made once the headers are in, before a byte of the body is read.
 * Returns false after answering (or to close the connection).
 */
static bool admit_request(struct api_server *s, struct request *r, const char *method)
{
	struct MHD_Connection *conn = r->conn;
	size_t limit = (size_t)s->cfg->body_limit;
	const char *cl, *te;
	char allow[64];

	r->route = route_find(method, r->uri, r->node_id, sizeof(r->node_id), allow,
			      sizeof(allow));
	switch (conn_guard_class(conn)) {
	case CONN_OVER_QUOTA:
		if (r->route && r->route->handler == route_health)
			break;
		r->close = true;
		http_reply_error(s, r, 429, "too_many_connections",
			    "too many connections from this address; only /health is served");
		return false;
	case CONN_RESERVE:
		if (r->route && (r->route->handler == route_health ||
				 (r->route->auth == AUTH_NODE &&
				  MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
							      MESHNET_HDR_SIGNATURE))))
			break;
		r->close = true;
		http_reply_error(s, r, 503, "busy", "at connection capacity: only signed node "
			    "requests and /health are served now; retry later");
		return false;
	default:
		break;
	}
	if (!r->route) {
		if (*allow) {
			snprintf(r->node_id, sizeof(r->node_id), "%s", allow);
			http_reply_error(s, r, 405, "method_not_allowed",
				    "method not allowed on this path");
		} else {
			http_reply_error(s, r, 404, "not_found", "no such route");
		}
		return false;
	}
	cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
	te = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
					 MHD_HTTP_HEADER_TRANSFER_ENCODING);
	if (te && strcasecmp(te, "chunked")) {
		/* The body's end cannot be found: answer, then close. */
		r->close = true;
		http_reply_error(s, r, 501, "unsupported_transfer_encoding",
			    "only Transfer-Encoding: chunked is supported");
		return false;
	}
	if (te && cl) {
		r->close = true;
		http_reply_error(s, r, 400, "bad_request",
			    "Content-Length and Transfer-Encoding together are refused");
		return false;
	}
	if (cl && strtoull(cl, NULL, 10) > limit) {
		/* Refuse before reading a byte of the body. */
		r->close = true;
		http_reply_error(s, r, 413, "too_large", "request body exceeds the size limit");
		return false;
	}
	return true;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
				  const char *method, const char *version,
				  const char *upload_data, size_t *upload_data_size,
				  void **con_cls)
{
	struct api_server *s = cls;
	struct request *r = *con_cls;
	size_t limit = (size_t)s->cfg->body_limit;

	(void)url;
	(void)version;
	if (!r)
		return MHD_NO;
	if (!r->started) {
		r->started = true;
		__atomic_fetch_add(&s->requests_total, 1, __ATOMIC_RELAXED);
		conn_guard_set_phase(s->guard, conn, CONN_BODY);
		if (!admit_request(s, r, method))
			return answered(r);
		return MHD_YES;
	}
	if (r->responded) {
		/* Answered early: discard what is in flight, up to the limit. */
		r->discarded += *upload_data_size;
		*upload_data_size = 0;
		return r->discarded > limit ? MHD_NO : MHD_YES;
	}
	if (*upload_data_size) {
		if (r->body_len + *upload_data_size > limit) {
			/*
			 * Over the limit (a chunked body: no Content-Length to
			 * refuse up front). MHD cannot answer mid-body; cut the
			 * connection rather than drain what the client sends.
			 */
			log_debug("%s: body over %zu bytes: connection closed", r->uri, limit);
			__atomic_fetch_add(&s->errors_total, 1, __ATOMIC_RELAXED);
			return MHD_NO;
		}
		{
			char *nb = realloc(r->body, r->body_len + *upload_data_size + 1);

			if (!nb)
				return MHD_NO;
			memcpy(nb + r->body_len, upload_data, *upload_data_size);
			r->body = nb;
			r->body_len += *upload_data_size;
			r->body[r->body_len] = '\0';
		}
		*upload_data_size = 0;
		return MHD_YES;
	}
	/* The whole request is in. */
	conn_guard_set_phase(s->guard, conn, CONN_HANDLING);
	if (r->resumed && r->deferred) {
		reply_deferred(s, r);
		return r->responded ? MHD_YES : MHD_NO;
	}
	if (r->resumed) {
		if (__atomic_load_n(&r->wake, __ATOMIC_RELAXED) != WAKE_NONE)
			longpoll_wake_done(s, r);	/* the next woken waiter may go */
		r->route->handler(s, r);
		return answered(r);
	}
	if (r->route->auth == AUTH_ADMIN && !admin_authorized(s, r))
		return answered(r);
	if (r->route->auth == AUTH_ADMIN && strcmp(r->route->pat.method, "GET")) {
		admin_enqueue(s, r);
		return MHD_YES;
	}
	if (r->route->auth == AUTH_NODE && !node_authorized(s, r))
		return answered(r);
	r->route->handler(s, r);
	/* Suspended: MHD calls again once resumed (possibly already). */
	if (r->parked && !r->responded)
		return MHD_YES;
	return answered(r);
}

static void mhd_log(void *cls, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	char msg[512];
	size_t n;

	(void)cls;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	n = strlen(msg);
	while (n && msg[n - 1] == '\n')
		msg[--n] = '\0';
	log_debug("http: %s", msg);
}

/* ---- start/stop ---- */

static bool address_is_loopback(const struct meshnet_endpoint *e)
{
	static const uint8_t v6_loop[16] = { [15] = 1 };

	if (e->family == AF_INET)
		return e->addr[0] == 127;
	return !memcmp(e->addr, v6_loop, 16);
}

struct api_server *api_start(struct controller *c, const struct controller_config *cfg)
{
	struct api_server *s = calloc(1, sizeof(*s));
	char *cert = NULL, *key = NULL;
	size_t cert_len = 0, key_len = 0;
	struct conn_guard_limits limits;
	struct meshnet_endpoint ep;
	struct sockaddr_in6 sa6;
	int64_t timeout_ms;
	struct sockaddr_in sa4;
	struct sockaddr *sa;
	unsigned int flags;
	bool tls;

	if (!s)
		return NULL;
	s->c = c;
	s->cfg = cfg;
	if (meshnet_endpoint_parse(cfg->listen, &ep)) {
		log_err("LISTEN '%s' is not address:port ([IPv6]:port for IPv6)", cfg->listen);
		goto err_free;
	}
	tls = *cfg->tls_cert && *cfg->tls_key;
	if (!tls && !address_is_loopback(&ep) && !cfg->allow_plain_http) {
		log_err("LISTEN %s is not loopback: set TLS_CERT and TLS_KEY, or "
			"ALLOW_PLAIN_HTTP=1 to serve plain HTTP anyway", cfg->listen);
		goto err_free;
	}
	if (admin_token_load(&s->admin, cfg->admin_token_file))
		goto err_free;
	if (tls) {
		cert = meshnet_read_file(cfg->tls_cert, 1 << 20, &cert_len);
		if (!cert) {
			log_err("TLS_CERT %s: %s", cfg->tls_cert, strerror(errno));
			goto err_free;
		}
		if (meshnet_read_secret_file(cfg->tls_key, 1 << 20, &key, &key_len)) {
			log_err("TLS_KEY %s: %s%s", cfg->tls_key, strerror(errno),
				errno == EPERM ? " (the key file must be mode 0600)" : "");
			goto err_free;
		}
	}
	s->waiters = calloc((size_t)cfg->max_waiters + 1, sizeof(*s->waiters));
	s->deadlines = calloc((size_t)cfg->max_waiters + 1, sizeof(*s->deadlines));
	s->wake_ring = calloc((size_t)cfg->max_waiters + 1, sizeof(*s->wake_ring));
	if (!s->waiters || !s->deadlines || !s->wake_ring) {
		free(s->waiters);
		free(s->deadlines);
		free(s->wake_ring);
		goto err_free;
	}
	pthread_mutex_init(&s->wait_lock, NULL);
	pthread_cond_init(&s->wait_cond, NULL);
	{
		struct view *v = controller_view(c);

		s->latest_epoch = v->epoch.id;
		s->latest_revision = v->revision;
		view_put(v);
	}
	c->on_change = longpoll_on_change;
	c->on_change_ctx = s;
	pthread_mutex_init(&s->durable_lock, NULL);
	pthread_mutex_init(&s->shared_lock, NULL);
	pthread_mutex_init(&s->admin_lock, NULL);
	pthread_cond_init(&s->admin_cond, NULL);
	s->durable_seq = controller_durable_seq(c);
	c->on_durable = on_durable;
	c->on_durable_ctx = s;

	if (ep.family == AF_INET) {
		memset(&sa4, 0, sizeof(sa4));
		sa4.sin_family = AF_INET;
		sa4.sin_port = htons(ep.port);
		memcpy(&sa4.sin_addr, ep.addr, 4);
		sa = (struct sockaddr *)&sa4;
	} else {
		memset(&sa6, 0, sizeof(sa6));
		sa6.sin6_family = AF_INET6;
		sa6.sin6_port = htons(ep.port);
		memcpy(&sa6.sin6_addr, ep.addr, 16);
		sa = (struct sockaddr *)&sa6;
	}
	timeout_ms = (int64_t)cfg->connection_timeout * 1000;
	limits = (struct conn_guard_limits){
		.max_connections = (unsigned int)cfg->max_connections,
		.per_ip = (unsigned int)cfg->per_ip_connections,
		.reserve = (unsigned int)(cfg->max_connections / 8 ? cfg->max_connections / 8 : 1),
		.header_ms = timeout_ms, .body_ms = timeout_ms,
		/* the answer: generous, it may be large and the machine loaded */
		.handling_ms = timeout_ms * 6 > 60000 ? timeout_ms * 6 : 60000,
	};
	s->guard = conn_guard_new(&limits);
	if (!s->guard)
		goto err_waiters;
	flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME |
		MHD_USE_ERROR_LOG | (ep.family == AF_INET6 ? MHD_USE_IPv6 : 0) |
		(tls ? MHD_USE_TLS : 0);
	s->daemon = MHD_start_daemon(
		flags, ep.port, NULL, NULL, on_request, s,
		MHD_OPTION_SOCK_ADDR, sa,
		MHD_OPTION_THREAD_POOL_SIZE, (unsigned int)cfg->threads,
		MHD_OPTION_CONNECTION_LIMIT, (unsigned int)cfg->max_connections,
		MHD_OPTION_NOTIFY_CONNECTION, conn_guard_notify, s->guard,
		MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)cfg->connection_timeout,
		MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)CONNECTION_MEMORY_LIMIT,
		MHD_OPTION_URI_LOG_CALLBACK, on_uri, s,
		MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
		MHD_OPTION_EXTERNAL_LOGGER, mhd_log, s,
		MHD_OPTION_HTTPS_MEM_CERT, tls ? cert : NULL,
		MHD_OPTION_HTTPS_MEM_KEY, tls ? key : NULL,
		MHD_OPTION_HTTPS_PRIORITIES, tls ? TLS_PRIORITIES : NULL,
		MHD_OPTION_END);
	free(cert);
	meshnet_free_secret(key, key_len + 1);
	cert = key = NULL;
	if (!s->daemon) {
		log_err("cannot listen on %s (address in use or TLS material invalid)",
			cfg->listen);
		goto err_guard;
	}
	if (pthread_create(&s->timer, NULL, longpoll_timer_main, s)) {
		MHD_stop_daemon(s->daemon);
		goto err_guard;
	}
	s->timer_started = true;
	if (pthread_create(&s->admin_thread, NULL, admin_thread_main, s)) {
		log_err("cannot start the admin thread");
		api_stop(s);
		return NULL;
	}
	s->admin_started = true;
	log_info("Listening on %s (%s)", cfg->listen, tls ? "HTTPS" : "plain HTTP");
	return s;

err_guard:
	conn_guard_free(s->guard);
err_waiters:
	c->on_change = NULL;
	c->on_durable = NULL;
	free(s->waiters);
	free(s->deadlines);
	free(s->wake_ring);
	pthread_cond_destroy(&s->wait_cond);
	pthread_mutex_destroy(&s->wait_lock);
err_free:
	free(cert);
	meshnet_free_secret(key, key_len + 1);
	OPENSSL_cleanse(s, sizeof(*s));
	free(s);
	return NULL;
}

void api_stop(struct api_server *s)
{
	if (!s)
		return;
	pthread_mutex_lock(&s->wait_lock);
	s->stopping = true;
	pthread_cond_broadcast(&s->wait_cond);
	pthread_mutex_unlock(&s->wait_lock);
	if (s->timer_started)
		pthread_join(s->timer, NULL);	/* resumes every waiter on its way out */
	if (s->admin_started) {
		pthread_mutex_lock(&s->admin_lock);
		s->admin_stopping = true;
		pthread_cond_signal(&s->admin_cond);
		pthread_mutex_unlock(&s->admin_lock);
		pthread_join(s->admin_thread, NULL);
	}
	/* replies still held for durability: resumed, they answer 503 */
	pthread_mutex_lock(&s->durable_lock);
	while (s->deferred) {
		struct request *r = s->deferred;

		s->deferred = r->deferred_next;
		r->deferred_next = NULL;
		r->resumed = true;
		MHD_resume_connection(r->conn);
	}
	pthread_mutex_unlock(&s->durable_lock);
	MHD_quiesce_daemon(s->daemon);
	MHD_stop_daemon(s->daemon);
	shared_responses_free(s);
	conn_guard_free(s->guard);
	s->c->on_change = NULL;
	s->c->on_durable = NULL;
	pthread_mutex_destroy(&s->durable_lock);
	pthread_mutex_destroy(&s->admin_lock);
	pthread_cond_destroy(&s->admin_cond);
	free(s->waiters);
	free(s->deadlines);
	free(s->wake_ring);
	pthread_cond_destroy(&s->wait_cond);
	pthread_mutex_destroy(&s->wait_lock);
	OPENSSL_cleanse(&s->admin, sizeof(s->admin));
	free(s);
}
