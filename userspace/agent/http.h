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

#define AGENT_HTTP_MAX_BODY (1024 * 1024)

struct agent_http {
	void *curl;               /* CURL * */
	EVP_PKEY *key;            /* borrowed */
	const char *node_id;
	const char *base_url;     /* without trailing slash */
	const char *ca_file;      /* NULL or "" for plain http */
	const atomic_bool *stop;  /* aborts a transfer when set */
	const atomic_bool *interrupt; /* NULL, or also aborts a transfer when set */
};

struct agent_http_reply {
	long status;   /* HTTP status, 0 if no answer */
	char *body;    /* NUL-terminated, malloc'd (may be NULL) */
	size_t len;
};

/* Global libcurl init; call once before threads. */
int agent_http_global_init(void);
void agent_http_global_cleanup(void);

int agent_http_init(struct agent_http *h, EVP_PKEY *key, const char *node_id,
		    const char *base_url, const char *ca_file, const atomic_bool *stop);
void agent_http_free(struct agent_http *h);

/*
 * Sends a signed request. path_query starts with '/'. body may be NULL
 * (GET). timeout_sec bounds the whole transfer. Returns 0 when an HTTP
 * answer arrived (any status), -1 with a sentence in err otherwise
 * (connection refused, TLS failure, timeout, answer too large, stopped).
 */
int agent_http_request(struct agent_http *h, const char *method, const char *path_query,
		       const char *body, unsigned int timeout_sec, struct agent_http_reply *reply,
		       char *err, size_t errlen);
void agent_http_reply_free(struct agent_http_reply *reply);

/* The "message" (or "code") of a {"error": {...}} body, or a short excerpt. */
void agent_http_error_text(const struct agent_http_reply *reply, char *out, size_t outlen);

#endif
