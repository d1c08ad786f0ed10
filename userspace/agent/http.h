/* SPDX-License-Identifier: MIT */
/*
 * HTTPS client of the controller (libcurl): every request is signed with
 * the node's Ed25519 key (docs/PROTOCOL.md), the controller's certificate
 * is verified against CA_FILE, answers are capped at AGENT_HTTP_MAX_BODY.
 * One struct agent_http per thread.
 */
#ifndef AGENT_HTTP_H
#define AGENT_HTTP_H

#include <stdatomic.h>
#include <stddef.h>

#include <openssl/evp.h>

#include "ctl_urls.h"

#define AGENT_HTTP_MAX_BODY (1024 * 1024)

struct agent_http {
	void *curl;               /* CURL * */
	EVP_PKEY *key;            /* borrowed */
	const char *node_id;
	struct agent_ctl_urls urls; /* the controllers (ctl_urls.h) */
	size_t current;           /* the one requests go to */
	const char *audience;     /* the mesh id signed into requests (default "meshnet") */
	const char *ca_file;      /* NULL or "" for plain http */
	const atomic_bool *stop;  /* aborts a transfer when set */
	const atomic_bool *interrupt; /* NULL, or also aborts a transfer when set */
};

struct agent_http_reply {
	long status;   /* HTTP status, 0 if no answer */
	char *body;    /* NUL-terminated, malloc'd (may be NULL) */
	size_t len;
	/* v2 headers (docs/PROTOCOL.md); empty when absent or too long */
	char statement_sig[128];  /* X-Meshnet-Statement-Signature */
	char group_key[64];       /* X-Meshnet-Group-Key (wiped by agent_http_reply_free) */
	char revision[24];        /* X-Meshnet-Revision */
};

/*
 * Failed requests to a controller, by kind, counted by every client of the
 * process (each attempt, also one a failover retries): the agent's metrics.
 * A 403 is not counted (it is how a DENIED node is answered).
 */
enum agent_http_error {
	AGENT_HTTP_ERR_CONNECT,    /* refused, unreachable, name not resolved */
	AGENT_HTTP_ERR_TIMEOUT,
	AGENT_HTTP_ERR_TLS,        /* handshake, certificate */
	AGENT_HTTP_ERR_TRANSPORT,  /* anything else before an answer; too large */
	AGENT_HTTP_ERR_CLIENT,     /* 4xx other than 403 */
	AGENT_HTTP_ERR_SERVER,     /* 5xx */
	AGENT_HTTP_ERROR_COUNT
};

extern const char *const agent_http_error_names[AGENT_HTTP_ERROR_COUNT];
void agent_http_error_counts(unsigned long long out[AGENT_HTTP_ERROR_COUNT]);

/* Global libcurl init; call once before threads. */
int agent_http_global_init(void);
void agent_http_global_cleanup(void);

/*
 * base_urls: one controller URL or a comma-separated list (ctl_urls.h);
 * the first one used is chosen by a hash of node_id. 0 or -1.
 */
int agent_http_init(struct agent_http *h, EVP_PKEY *key, const char *node_id,
		    const char *base_urls, const char *ca_file, const atomic_bool *stop);
void agent_http_free(struct agent_http *h);

/*
 * Sends a signed request. path_query starts with '/'. body may be NULL
 * (GET). timeout_sec bounds each transfer. Returns 0 when an HTTP
 * answer arrived (any status), -1 with a sentence in err otherwise
 * (connection refused, TLS failure, timeout, answer too large, stopped).
 * With several controllers, a controller that gives no answer or a 502,
 * 503 or 504 is left for the next one, and the request is sent again
 * (signed anew) to each of the others in turn before it fails.
 */
int agent_http_request(struct agent_http *h, const char *method, const char *path_query,
		       const char *body, unsigned int timeout_sec, struct agent_http_reply *reply,
		       char *err, size_t errlen);
void agent_http_reply_free(struct agent_http_reply *reply);

/* The controller requests go to now. */
const char *agent_http_url(const struct agent_http *h);
/* Leaves the current controller for the next one (logged with why). */
void agent_http_failover(struct agent_http *h, const char *why);

/* The "message" (or "code") of a {"error": {...}} body, or a short excerpt. */
void agent_http_error_text(const struct agent_http_reply *reply, char *out, size_t outlen);

#endif
