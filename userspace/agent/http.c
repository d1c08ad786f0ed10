// SPDX-License-Identifier: MIT
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>
#include <openssl/crypto.h>
#include <json-c/json.h>

#include "http.h"
#include "log.h"
#include "sign.h"

int agent_http_global_init(void)
{
	return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : -1;
}

void agent_http_global_cleanup(void)
{
	curl_global_cleanup();
}

int agent_http_init(struct agent_http *h, EVP_PKEY *key, const char *node_id,
		    const char *base_urls, const char *ca_file, const atomic_bool *stop)
{
	char err[320];

	memset(h, 0, sizeof(*h));
	if (agent_ctl_urls_parse(&h->urls, base_urls, err, sizeof(err))) {
		log_err("%s", err);
		return -1;
	}
	h->curl = curl_easy_init();
	if (!h->curl)
		return -1;
	h->key = key;
	h->node_id = node_id;
	h->current = agent_ctl_urls_start(&h->urls, node_id);
	h->audience = MESHNET_DEFAULT_MESH_ID;
	h->ca_file = ca_file;
	h->stop = stop;
	return 0;
}

void agent_http_free(struct agent_http *h)
{
	if (h->curl)
		curl_easy_cleanup(h->curl);
	h->curl = NULL;
}

struct sink {
	struct agent_http_reply *reply;
	size_t cap;
	int too_big;
};

static size_t on_data(char *ptr, size_t size, size_t nmemb, void *arg)
{
	struct sink *s = arg;
	struct agent_http_reply *r = s->reply;
	size_t n = size * nmemb;

	if (r->len + n > AGENT_HTTP_MAX_BODY) {
		s->too_big = 1;
		return 0; /* aborts the transfer */
	}
	if (r->len + n + 1 > s->cap) {
		size_t cap = s->cap ? s->cap : 4096;
		char *p;

		while (cap < r->len + n + 1)
			cap *= 2;
		p = realloc(r->body, cap);
		if (!p)
			return 0;
		r->body = p;
		s->cap = cap;
	}
	memcpy(r->body + r->len, ptr, n);
	r->len += n;
	r->body[r->len] = '\0';
	return n;
}

/* Keeps the few v2 headers the agent needs; every other header is ignored. */
static size_t on_header(char *buf, size_t size, size_t nitems, void *arg)
{
	static const struct {
		const char *name;
		size_t offset, size;
	} wanted[] = {
		{ "X-Meshnet-Statement-Signature", offsetof(struct agent_http_reply, statement_sig),
		  sizeof(((struct agent_http_reply *)0)->statement_sig) },
		{ "X-Meshnet-Group-Key", offsetof(struct agent_http_reply, group_key),
		  sizeof(((struct agent_http_reply *)0)->group_key) },
		{ "X-Meshnet-Revision", offsetof(struct agent_http_reply, revision),
		  sizeof(((struct agent_http_reply *)0)->revision) },
	};
	struct agent_http_reply *r = arg;
	size_t n = size * nitems;

	if (n > 2 && !strncmp(buf, "HTTP/", 5)) {
		/* a new response (after a 100 Continue): forget the last one's headers */
		OPENSSL_cleanse(r->group_key, sizeof(r->group_key));
		r->statement_sig[0] = r->revision[0] = '\0';
	}
	for (size_t i = 0; i < sizeof(wanted) / sizeof(wanted[0]); i++) {
		size_t klen = strlen(wanted[i].name), vlen;
		const char *v;
		char *dst = (char *)r + wanted[i].offset;

		if (n <= klen + 1 || strncasecmp(buf, wanted[i].name, klen) || buf[klen] != ':')
			continue;
		v = buf + klen + 1;
		vlen = n - klen - 1;
		while (vlen && (*v == ' ' || *v == '\t')) {
			v++;
			vlen--;
		}
		while (vlen && (v[vlen - 1] == '\r' || v[vlen - 1] == '\n' || v[vlen - 1] == ' '))
			vlen--;
		if (vlen < wanted[i].size) {
			memcpy(dst, v, vlen);
			dst[vlen] = '\0';
		} else {
			dst[0] = '\0'; /* too long: treated as absent, so refused */
		}
	}
	return n;
}

static int on_progress(void *arg, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
		       curl_off_t ulnow)
{
	const struct agent_http *h = arg;

	(void)dltotal;
	(void)dlnow;
	(void)ultotal;
	(void)ulnow;
	if (h->interrupt && atomic_load(h->interrupt))
		return 1;
	return h->stop && atomic_load(h->stop) ? 1 : 0;
}

const char *agent_http_url(const struct agent_http *h)
{
	return h->urls.url[h->current];
}

void agent_http_failover(struct agent_http *h, const char *why)
{
	const char *from = h->urls.url[h->current];

	if (h->urls.n < 2)
		return;
	h->current = (h->current + 1) % h->urls.n;
	log_warn("CONTROLLER %s: %s; switching to %s", from, why, h->urls.url[h->current]);
}

static int request_one(struct agent_http *h, const char *method, const char *path_query,
		       const char *body, unsigned int timeout_sec, struct agent_http_reply *reply,
		       char *err, size_t errlen);

const char *const agent_http_error_names[AGENT_HTTP_ERROR_COUNT] = {
	[AGENT_HTTP_ERR_CONNECT] = "connect",
	[AGENT_HTTP_ERR_TIMEOUT] = "timeout",
	[AGENT_HTTP_ERR_TLS] = "tls",
	[AGENT_HTTP_ERR_TRANSPORT] = "transport",
	[AGENT_HTTP_ERR_CLIENT] = "http_4xx",
	[AGENT_HTTP_ERR_SERVER] = "http_5xx",
};

static unsigned long long http_errors[AGENT_HTTP_ERROR_COUNT];

static void count_error(enum agent_http_error kind)
{
	__atomic_add_fetch(&http_errors[kind], 1, __ATOMIC_RELAXED);
}

void agent_http_error_counts(unsigned long long out[AGENT_HTTP_ERROR_COUNT])
{
	for (int k = 0; k < AGENT_HTTP_ERROR_COUNT; k++)
		out[k] = __atomic_load_n(&http_errors[k], __ATOMIC_RELAXED);
}

static void count_curl_error(CURLcode rc)
{
	switch (rc) {
	case CURLE_ABORTED_BY_CALLBACK:
		return; /* stopped or interrupted: not the controller's fault */
	case CURLE_COULDNT_CONNECT:
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
		count_error(AGENT_HTTP_ERR_CONNECT);
		return;
	case CURLE_OPERATION_TIMEDOUT:
		count_error(AGENT_HTTP_ERR_TIMEOUT);
		return;
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_CIPHER:
		count_error(AGENT_HTTP_ERR_TLS);
		return;
	default:
		count_error(AGENT_HTTP_ERR_TRANSPORT);
	}
}

int agent_http_request(struct agent_http *h, const char *method, const char *path_query,
		       const char *body, unsigned int timeout_sec, struct agent_http_reply *reply,
		       char *err, size_t errlen)
{
	for (size_t tries = 1;; tries++) {
		char why[400];
		int r = request_one(h, method, path_query, body, timeout_sec, reply, err, errlen);
		bool stopped = (h->stop && atomic_load(h->stop)) ||
			       (h->interrupt && atomic_load(h->interrupt));

		if (h->urls.n < 2 || stopped)
			return r;
		if (!r && reply->status != 502 && reply->status != 503 && reply->status != 504)
			return 0;
		if (r)
			snprintf(why, sizeof(why), "%s", err);
		else
			agent_http_error_text(reply, why, sizeof(why));
		agent_http_failover(h, why);
		if (tries == h->urls.n)
			return r;
		agent_http_reply_free(reply);
	}
}

static int request_one(struct agent_http *h, const char *method, const char *path_query,
		       const char *body, unsigned int timeout_sec, struct agent_http_reply *reply,
		       char *err, size_t errlen)
{
	struct meshnet_signed_headers sig;
	struct curl_slist *hdrs = NULL;
	char url[1024], line[256], curl_err[CURL_ERROR_SIZE] = "";
	size_t body_len = body ? strlen(body) : 0;
	struct sink sink = { .reply = reply };
	CURL *c = h->curl;
	CURLcode rc;
	int ret = -1;

	memset(reply, 0, sizeof(*reply));
	if ((size_t)snprintf(url, sizeof(url), "%s%s", agent_http_url(h), path_query) >= sizeof(url)) {
		snprintf(err, errlen, "URL too long");
		return -1;
	}
	if (meshnet_sign_request(h->key, h->audience, h->node_id, method, path_query, body, body_len,
				 (int64_t)time(NULL), &sig)) {
		snprintf(err, errlen, "cannot sign the request");
		return -1;
	}
#define ADD_HDR(name, value)                                                      \
	do {                                                                        \
		struct curl_slist *n_;                                              \
		snprintf(line, sizeof(line), "%s: %s", name, value);               \
		n_ = curl_slist_append(hdrs, line);                                 \
		if (!n_)                                                            \
			goto out;                                                   \
		hdrs = n_;                                                          \
	} while (0)
	ADD_HDR(MESHNET_HDR_NODE, sig.node);
	ADD_HDR(MESHNET_HDR_TIMESTAMP, sig.timestamp);
	ADD_HDR(MESHNET_HDR_NONCE, sig.nonce);
	ADD_HDR(MESHNET_HDR_SIGNATURE, sig.signature);
	if (body)
		ADD_HDR("Content-Type", "application/json");
	ADD_HDR("Expect", "");
#undef ADD_HDR

	curl_easy_reset(c);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, (long)timeout_sec);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 5L);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, curl_err);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &sink);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, reply);
	curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
	curl_easy_setopt(c, CURLOPT_XFERINFODATA, h);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "meshnet-agent/1");
	if (h->ca_file && h->ca_file[0]) {
		curl_easy_setopt(c, CURLOPT_CAINFO, h->ca_file);
		curl_easy_setopt(c, CURLOPT_CAPATH, NULL);
		curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
		curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
	}
	if (!strcmp(method, "POST")) {
		curl_easy_setopt(c, CURLOPT_POST, 1L);
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body ? body : "");
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)body_len);
	} else if (strcmp(method, "GET")) {
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	}
	rc = curl_easy_perform(c);
	if (rc != CURLE_OK) {
		count_curl_error(rc);
		if (sink.too_big)
			snprintf(err, errlen, "answer larger than %d bytes", AGENT_HTTP_MAX_BODY);
		else if (rc == CURLE_ABORTED_BY_CALLBACK)
			snprintf(err, errlen, "stopped");
		else
			snprintf(err, errlen, "%s", curl_err[0] ? curl_err : curl_easy_strerror(rc));
		agent_http_reply_free(reply);
		goto out;
	}
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &reply->status);
	if (reply->status >= 500)
		count_error(AGENT_HTTP_ERR_SERVER);
	else if (reply->status >= 400 && reply->status != 403)
		count_error(AGENT_HTTP_ERR_CLIENT);
	ret = 0;
out:
	curl_slist_free_all(hdrs);
	return ret;
}

void agent_http_reply_free(struct agent_http_reply *reply)
{
	OPENSSL_cleanse(reply->group_key, sizeof(reply->group_key));
	free(reply->body);
	reply->body = NULL;
	reply->len = 0;
}

void agent_http_error_text(const struct agent_http_reply *reply, char *out, size_t outlen)
{
	struct json_object *root = NULL, *e, *m;

	snprintf(out, outlen, "HTTP %ld", reply->status);
	if (!reply->body || !reply->len)
		return;
	root = json_tokener_parse(reply->body);
	if (root && json_object_object_get_ex(root, "error", &e) &&
	    (json_object_object_get_ex(e, "message", &m) ||
	     json_object_object_get_ex(e, "code", &m)) &&
	    json_object_is_type(m, json_type_string)) {
		snprintf(out, outlen, "HTTP %ld: %s", reply->status, json_object_get_string(m));
	} else {
		/* not our JSON error: a short, printable excerpt */
		size_t n = snprintf(out, outlen, "HTTP %ld: ", reply->status);

		for (size_t i = 0; i < reply->len && n + 1 < outlen && i < 80; i++)
			out[n++] = (reply->body[i] >= 0x20 && reply->body[i] < 0x7f) ?
					   reply->body[i] : '?';
		out[n] = '\0';
	}
	json_object_put(root);
}
