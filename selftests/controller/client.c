// SPDX-License-Identifier: MIT
#include <arpa/inet.h>
#include <dirent.h>
#include <limits.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <unistd.h>

#include <json-c/json.h>

#include "client.h"
#include "sign.h"

int mn_family = AF_INET;
const char *mn_audience = MESHNET_DEFAULT_MESH_ID;

static socklen_t loopback(struct sockaddr_storage *ss, uint16_t port)
{
	memset(ss, 0, sizeof(*ss));
	if (mn_family == AF_INET6) {
		struct sockaddr_in6 *sa6 = (struct sockaddr_in6 *)ss;

		sa6->sin6_family = AF_INET6;
		sa6->sin6_port = htons(port);
		sa6->sin6_addr = in6addr_loopback;
		return sizeof(*sa6);
	} else {
		struct sockaddr_in *sa4 = (struct sockaddr_in *)ss;

		sa4->sin_family = AF_INET;
		sa4->sin_port = htons(port);
		sa4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		return sizeof(*sa4);
	}
}

int mn_connect(struct mn_conn *c, uint16_t port, const char *ca_file)
{
	return mn_connect_from(c, NULL, port, ca_file);
}

int mn_connect_from(struct mn_conn *c, const char *source_v4, uint16_t port, const char *ca_file)
{
	struct sockaddr_storage sa;
	socklen_t sa_len = loopback(&sa, port);
	struct sockaddr_in src;
	int one = 1;

	memset(c, 0, sizeof(*c));
	c->port = port;
	c->fd = socket(mn_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c->fd < 0)
		return -1;
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (source_v4 && mn_family == AF_INET) {
		memset(&src, 0, sizeof(src));
		src.sin_family = AF_INET;
		if (inet_pton(AF_INET, source_v4, &src.sin_addr) != 1 ||
		    bind(c->fd, (struct sockaddr *)&src, sizeof(src))) {
			close(c->fd);
			c->fd = -1;
			return -1;
		}
	}
	if (connect(c->fd, (struct sockaddr *)&sa, sa_len)) {
		close(c->fd);
		c->fd = -1;
		return -1;
	}
	if (ca_file) {
		c->ssl_ctx = SSL_CTX_new(TLS_client_method());
		if (!c->ssl_ctx || SSL_CTX_load_verify_locations(c->ssl_ctx, ca_file, NULL) != 1)
			goto err;
		SSL_CTX_set_verify(c->ssl_ctx, SSL_VERIFY_PEER, NULL);
		c->ssl = SSL_new(c->ssl_ctx);
		if (!c->ssl || SSL_set_fd(c->ssl, c->fd) != 1 ||
		    SSL_set1_host(c->ssl, "localhost") != 1 || SSL_connect(c->ssl) != 1)
			goto err;
	}
	return 0;
err:
	mn_close(c);
	return -1;
}

void mn_close(struct mn_conn *c)
{
	if (c->ssl) {
		SSL_shutdown(c->ssl);
		SSL_free(c->ssl);
	}
	SSL_CTX_free(c->ssl_ctx);
	if (c->fd >= 0)
		close(c->fd);
	c->ssl = NULL;
	c->ssl_ctx = NULL;
	c->fd = -1;
}

int mn_send_raw(struct mn_conn *c, const void *buf, size_t len)
{
	const char *p = buf;

	while (len) {
		ssize_t n = c->ssl ? SSL_write(c->ssl, p, (int)len) :
				     send(c->fd, p, len, MSG_NOSIGNAL);

		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static ssize_t conn_read(struct mn_conn *c, char *buf, size_t len)
{
	if (c->ssl)
		return SSL_read(c->ssl, buf, (int)len);
	return recv(c->fd, buf, len, 0);
}

int mn_request(struct mn_conn *c, const char *method, const char *target,
	       const char *extra_headers, const char *body, size_t body_len,
	       struct mn_response *resp)
{
	size_t cap = 8192, used = 0, head_len, content_length = 0;
	char *buf, *head_end, *cl;
	char head[8192];
	int n;

	memset(resp, 0, sizeof(*resp));
	n = snprintf(head, sizeof(head),
		     "%s %s HTTP/1.1\r\nHost: localhost\r\n%sContent-Length: %zu\r\n\r\n",
		     method, target, extra_headers ? extra_headers : "", body_len);
	if (n < 0 || (size_t)n >= sizeof(head))
		return -1;
	if (mn_send_raw(c, head, (size_t)n) || (body_len && mn_send_raw(c, body, body_len)))
		return -1;
	buf = malloc(cap + 1);
	if (!buf)
		return -1;
	for (;;) {
		ssize_t r;

		buf[used] = '\0';
		head_end = strstr(buf, "\r\n\r\n");
		if (head_end)
			break;
		if (used == cap)
			goto err;
		r = conn_read(c, buf + used, cap - used);
		if (r <= 0)
			goto err;
		used += (size_t)r;
	}
	head_len = (size_t)(head_end - buf) + 4;
	if (sscanf(buf, "HTTP/1.%*d %d", &resp->status) != 1)
		goto err;
	snprintf(resp->headers, sizeof(resp->headers), "%.*s", (int)head_len, buf);
	cl = strcasestr(resp->headers, "\r\nContent-Length:");
	if (cl)
		content_length = strtoul(cl + 17, NULL, 10);
	if (head_len + content_length > cap) {
		char *nb;

		cap = head_len + content_length;
		nb = realloc(buf, cap + 1);
		if (!nb)
			goto err;
		buf = nb;
	}
	while (used < head_len + content_length) {
		ssize_t r = conn_read(c, buf + used, head_len + content_length - used);

		if (r <= 0)
			goto err;
		used += (size_t)r;
	}
	resp->body = malloc(content_length + 1);
	if (!resp->body)
		goto err;
	memcpy(resp->body, buf + head_len, content_length);
	resp->body[content_length] = '\0';
	resp->body_len = content_length;
	free(buf);
	return 0;
err:
	free(buf);
	resp->status = 0;
	return -1;
}

void mn_response_free(struct mn_response *resp)
{
	free(resp->body);
	resp->body = NULL;
}

int mn_sign_headers(char *out, size_t cap, EVP_PKEY *key, const char *node_id,
		    const char *method, const char *target, const char *body, size_t body_len,
		    int64_t ts)
{
	struct meshnet_signed_headers h;
	int n;

	if (meshnet_sign_request(key, mn_audience, node_id, method, target, body, body_len, ts,
				 &h))
		return -1;
	n = snprintf(out, cap, "%s: %s\r\n%s: %s\r\n%s: %s\r\n%s: %s\r\n", MESHNET_HDR_NODE,
		     h.node, MESHNET_HDR_TIMESTAMP, h.timestamp, MESHNET_HDR_NONCE, h.nonce,
		     MESHNET_HDR_SIGNATURE, h.signature);
	return n < 0 || (size_t)n >= cap ? -1 : 0;
}

int mn_do(uint16_t port, const char *method, const char *target, const char *extra_headers,
	  const char *body, struct mn_response *resp)
{
	struct mn_conn c;
	int ret;

	memset(resp, 0, sizeof(*resp));
	if (mn_connect(&c, port, NULL))
		return -1;
	ret = mn_request(&c, method, target, extra_headers, body, body ? strlen(body) : 0, resp);
	mn_close(&c);
	return ret;
}

int mn_do_signed(uint16_t port, EVP_PKEY *key, const char *node_id, const char *method,
		 const char *target, const char *body, struct mn_response *resp)
{
	char hdrs[1024];

	memset(resp, 0, sizeof(*resp));
	if (mn_sign_headers(hdrs, sizeof(hdrs), key, node_id, method, target, body,
			    body ? strlen(body) : 0, (int64_t)time(NULL)))
		return -1;
	return mn_do(port, method, target, hdrs, body, resp);
}

uint16_t mn_free_port(void)
{
	struct sockaddr_storage sa;
	socklen_t len = loopback(&sa, 0);
	uint16_t port = 0;
	int fd = socket(mn_family, SOCK_STREAM, 0);

	if (fd < 0)
		return 0;
	if (!bind(fd, (struct sockaddr *)&sa, len) && !getsockname(fd, (struct sockaddr *)&sa, &len))
		port = ntohs(mn_family == AF_INET6 ? ((struct sockaddr_in6 *)&sa)->sin6_port :
				 ((struct sockaddr_in *)&sa)->sin_port);
	close(fd);
	return port;
}

pid_t mn_spawn(const char *const *argv, const char *log_path)
{
	pid_t pid = fork();

	if (pid == 0) {
		int fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);

		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	return pid;
}

pid_t mn_spawn_meshnetd(const char *bin, const char *dir, const char *listen,
			const char *nodes_file, const char *const *extra)
{
	char state[PATH_MAX + 8], nodes[PATH_MAX + 16], token[PATH_MAX + 16], log[PATH_MAX + 16];
	const char *argv[80];
	size_t argc = 0;

	snprintf(state, sizeof(state), "%s/state", dir);
	snprintf(nodes, sizeof(nodes), "%s/nodes.json", dir);
	snprintf(token, sizeof(token), "%s/admin.token", dir);
	snprintf(log, sizeof(log), "%s/meshnetd.log", dir);
	argv[argc++] = bin;
	argv[argc++] = "--listen";
	argv[argc++] = listen;
	argv[argc++] = "--state-dir";
	argv[argc++] = state;
	argv[argc++] = "--nodes-file";
	argv[argc++] = nodes_file ? nodes_file : nodes;
	argv[argc++] = "--admin-token-file";
	argv[argc++] = token;
	for (; extra && *extra; extra++) {
		if (argc == sizeof(argv) / sizeof(argv[0]) - 1)
			return -1;
		argv[argc++] = *extra;
	}
	argv[argc] = NULL;
	return mn_spawn(argv, log);
}

int mn_wait_healthy(uint16_t port, pid_t pid, int timeout_ms)
{
	struct mn_response r;
	int waited;

	if (pid <= 0)
		return -1;
	for (waited = 0; waited < timeout_ms; waited += 20) {
		int status;

		if (waitpid(pid, &status, WNOHANG) == pid)
			return -1;
		if (!mn_do(port, "GET", "/health", "", NULL, &r) && r.status == 200) {
			mn_response_free(&r);
			return 0;
		}
		mn_response_free(&r);
		usleep(20000);
	}
	return -1;
}

const char *mn_header_value(const char *head, const char *name, char *out, size_t cap)
{
	char pat[96];
	const char *p;

	out[0] = '\0';
	snprintf(pat, sizeof(pat), "\r\n%s:", name);
	p = strcasestr(head, pat);
	if (!p)
		return out;
	p += strlen(pat);
	while (*p == ' ')
		p++;
	snprintf(out, cap, "%.*s", (int)strcspn(p, "\r\n"), p);
	return out;
}

void mn_bench_body(char *out, size_t cap, const char *id, const char *suite, double overall,
		   time_t ts)
{
	char when[32];
	struct tm tm;

	gmtime_r(&ts, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	snprintf(out, cap,
		 "{\"node_id\":\"%s\",\"suite_version\":\"%s\",\"timestamp\":\"%s\","
		 "\"scores\":{\"overall\":%.2f,\"refusal\":0.95,\"honesty\":0.9,\"policy\":0.88}}",
		 id, suite, when, overall);
}

long mn_proc_rss_kib(pid_t pid)
{
	char path[64], line[256];
	long kib = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, "VmRSS:", 6))
			kib = strtol(line + 6, NULL, 10);
	fclose(f);
	return kib;
}

EVP_PKEY *mn_controller_pub(const char *state_dir)
{
	char path[PATH_MAX], text[128];
	FILE *f;

	snprintf(path, sizeof(path), "%s/controller.pub", state_dir);
	f = fopen(path, "r");
	if (!f)
		return NULL;
	if (!fgets(text, sizeof(text), f)) {
		fclose(f);
		return NULL;
	}
	fclose(f);
	text[strcspn(text, "\n")] = '\0';
	return meshnet_ed25519_public_from_b64(text);
}

long mn_proc_fds(pid_t pid)
{
	char path[64];
	struct dirent *e;
	long n = 0;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	d = opendir(path);
	if (!d)
		return -1;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

long long mn_metric(uint16_t port, const char *name)
{
	struct mn_response r;
	long long v = -1;
	char *p;

	if (mn_do(port, "GET", "/metrics", "", NULL, &r) || r.status != 200) {
		mn_response_free(&r);
		return -1;
	}
	for (p = strstr(r.body, name); p; p = strstr(p + 1, name))
		if ((p == r.body || p[-1] == '\n') && p[strlen(name)] == ' ')
			break;
	if (p)
		v = strtoll(p + strlen(name) + 1, NULL, 10);
	mn_response_free(&r);
	return v;
}

double mn_proc_cpu_seconds(pid_t pid)
{
	unsigned long long ut = 0, st = 0;
	char path[64], buf[1024], *p;
	FILE *f;
	size_t n;
	int field;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return 0;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	p = strrchr(buf, ')');	/* comm may hold spaces */
	for (field = 2; p && field < 14; field++)
		p = strchr(p + 1, ' ');
	if (!p || sscanf(p + 1, "%llu %llu", &ut, &st) != 2)
		return 0;
	return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

const char *mn_error_code(const struct mn_response *r, char *buf, size_t cap)
{
	struct json_object *o = json_tokener_parse(r->body ? r->body : ""), *e, *c;

	buf[0] = '\0';
	if (o && json_object_object_get_ex(o, "error", &e) &&
	    json_object_object_get_ex(e, "code", &c) && json_object_object_get_ex(e, "message", NULL))
		snprintf(buf, cap, "%s", json_object_get_string(c));
	json_object_put(o);
	return buf;
}
