/* SPDX-License-Identifier: MIT */
/*
 * A small HTTP/1.1 client for the meshnetd tests and load generator: real
 * sockets (optionally TLS), keep-alive, and request signing exactly as a
 * node does it (userspace/lib/sign.h).
 */
#ifndef MESHNET_TEST_CLIENT_H
#define MESHNET_TEST_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/ssl.h>

struct mn_conn {
	int fd;
	SSL_CTX *ssl_ctx;
	SSL *ssl;
	uint16_t port;
};

struct mn_response {
	int status;		/* 0: no/invalid response */
	char headers[4096];
	char *body;		/* NUL-terminated, malloc'd */
	size_t body_len;
};

/* Address family of the loopback used by mn_connect/mn_free_port (AF_INET: 127.0.0.1, AF_INET6: ::1). */
extern int mn_family;
/* The mesh id requests are signed for (meshnetd's MESH_ID; default "meshnet"). */
extern const char *mn_audience;

/* Connects to loopback:port; with ca_file, speaks TLS and verifies it. */
int mn_connect(struct mn_conn *c, uint16_t port, const char *ca_file);
/* The same from a given IPv4 source address (127.0.0.0/8 is all loopback). */
int mn_connect_from(struct mn_conn *c, const char *source_v4, uint16_t port, const char *ca_file);
void mn_close(struct mn_conn *c);
int mn_send_raw(struct mn_conn *c, const void *buf, size_t len);

/* Sends one request and reads the response; extra_headers ends in "\r\n" or is "". */
int mn_request(struct mn_conn *c, const char *method, const char *target,
	       const char *extra_headers, const char *body, size_t body_len,
	       struct mn_response *resp);
void mn_response_free(struct mn_response *resp);
/*
 * The value of header name (case-insensitive) in a response head whose lines
 * each start after "\r\n" (the status line first); "" if absent. Returns out.
 */
const char *mn_header_value(const char *head, const char *name, char *out, size_t cap);

/* Signed headers for (method, target, body) at time ts, as a node sends them. */
int mn_sign_headers(char *out, size_t cap, EVP_PKEY *key, const char *node_id,
		    const char *method, const char *target, const char *body, size_t body_len,
		    int64_t ts);

/* One request on a fresh connection. */
int mn_do(uint16_t port, const char *method, const char *target, const char *extra_headers,
	  const char *body, struct mn_response *resp);
/* One signed request on a fresh connection, signed now. */
int mn_do_signed(uint16_t port, EVP_PKEY *key, const char *node_id, const char *method,
		 const char *target, const char *body, struct mn_response *resp);

/* A benchmark submission body for id (the four scores; overall as given) at time ts. */
void mn_bench_body(char *out, size_t cap, const char *id, const char *suite, double overall,
		   time_t ts);
/* VmRSS of pid in KiB (-1 if unknown); user + system CPU seconds pid has used. */
long mn_proc_rss_kib(pid_t pid);
/* "error"."code" of a JSON error body {"error":{"code":...,"message":...}}, or "". */
const char *mn_error_code(const struct mn_response *r, char *buf, size_t cap);
double mn_proc_cpu_seconds(pid_t pid);
/* meshnetd's statement key, from STATE_DIR/controller.pub (base64); NULL if unreadable. */
EVP_PKEY *mn_controller_pub(const char *state_dir);
/* Entries of /proc/PID/fd: the descriptors pid holds open (-1 if unknown). */
long mn_proc_fds(pid_t pid);

/* A counter or gauge of GET /metrics (the line "name value", name with its
 * labels if any); -1 if absent or unreadable. */
long long mn_metric(uint16_t port, const char *name);

/* Picks a free loopback TCP port. */
uint16_t mn_free_port(void);

/* Starts argv[0] with stdout/stderr appended to log_path; returns the pid. */
pid_t mn_spawn(const char *const *argv, const char *log_path);
/* Waits (up to timeout_ms) for GET /health to answer 200; -1 if pid died. */
int mn_wait_healthy(uint16_t port, pid_t pid, int timeout_ms);
/*
 * Starts meshnetd BIN as every test server starts: --listen LISTEN
 * --state-dir DIR/state --nodes-file NODES_FILE (NULL: DIR/nodes.json)
 * --admin-token-file DIR/admin.token, then EXTRA (NULL-terminated, or NULL),
 * its output appended to DIR/meshnetd.log. The pid, or -1.
 */
pid_t mn_spawn_meshnetd(const char *bin, const char *dir, const char *listen,
			const char *nodes_file, const char *const *extra);

#endif
