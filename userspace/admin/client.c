// SPDX-License-Identifier: MIT
/* meshnet-admin's HTTP client: libcurl, the admin bearer token, JSON replies. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <curl/curl.h>
#include <openssl/crypto.h>

#include "admin.h"
#include "fileio.h"
#include "strbuf.h"

struct admin_opts admin_opts;

static size_t on_data(char *ptr, size_t size, size_t n, void *arg)
{
	struct strbuf *sb = arg;

	if (sb->len + size * n > (16U << 20))
		return 0; /* a reply this large is not the controller's */
	strbuf_append(sb, ptr, size * n);
	return size * n;
}

/* The token file: mode 0600 or stricter, one line. */
static char *read_token(void)
{
	struct stat st;
	size_t len;
	char *t;

	if (stat(admin_opts.token_file, &st)) {
		fprintf(stderr, "%s: token file %s: %s (--token-file, MESHNET_ADMIN_TOKEN_FILE)\n",
			PROG_NAME, admin_opts.token_file, strerror(errno));
		return NULL;
	}
	if (st.st_mode & 077) {
		fprintf(stderr, "%s: token file %s is readable by group or others (chmod 600)\n",
			PROG_NAME, admin_opts.token_file);
		return NULL;
	}
	t = meshnet_read_file(admin_opts.token_file, 4096, &len);
	if (!t) {
		fprintf(stderr, "%s: cannot read %s: %s\n", PROG_NAME, admin_opts.token_file,
			strerror(errno));
		return NULL;
	}
	t[strcspn(t, "\r\n")] = '\0';
	return t;
}

int admin_call(const char *method, const char *path, const char *body, struct admin_reply *r)
{
	char url[1024], errbuf[CURL_ERROR_SIZE] = "", *token, *auth;
	struct curl_slist *hdrs = NULL;
	struct strbuf sb;
	CURL *curl;
	CURLcode rc;
	int ret = EXIT_RUNTIME;

	memset(r, 0, sizeof(*r));
	token = read_token();
	if (!token)
		return EXIT_RUNTIME;
	if (asprintf(&auth, "Authorization: Bearer %s", token) < 0) {
		OPENSSL_cleanse(token, strlen(token));
		free(token);
		return EXIT_RUNTIME;
	}
	OPENSSL_cleanse(token, strlen(token));
	free(token);
	snprintf(url, sizeof(url), "%s%s", admin_opts.controller, path);
	strbuf_init(&sb);
	curl = curl_easy_init();
	if (!curl)
		goto out;
	hdrs = curl_slist_append(hdrs, auth);
	hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
	curl_easy_setopt(curl, CURLOPT_URL, url);
	curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, &sb);
	curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT, (long)admin_opts.timeout);
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "https,http");
	if (admin_opts.ca_file)
		curl_easy_setopt(curl, CURLOPT_CAINFO, admin_opts.ca_file);
	if (body) {
		curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
	}
	rc = curl_easy_perform(curl);
	if (rc != CURLE_OK) {
		fprintf(stderr, "%s: %s %s: %s\n", PROG_NAME, method, url,
			errbuf[0] ? errbuf : curl_easy_strerror(rc));
		goto out;
	}
	curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &r->status);
	if (sb.len)
		r->body = json_tokener_parse(sb.buf);
	ret = 0;
out:
	if (sb.buf)
		OPENSSL_cleanse(sb.buf, sb.len); /* a join token travels in replies */
	strbuf_free(&sb);
	curl_slist_free_all(hdrs);
	OPENSSL_cleanse(auth, strlen(auth));
	free(auth);
	if (curl)
		curl_easy_cleanup(curl);
	return ret;
}

void admin_reply_free(struct admin_reply *r)
{
	json_object_put(r->body);
	r->body = NULL;
}

int admin_fail(const char *what, const struct admin_reply *r)
{
	struct json_object *e = admin_obj(r->body, "error");

	if (e)
		fprintf(stderr, "%s: %s: %s (HTTP %ld %s)\n", PROG_NAME, what, admin_str(e, "message"),
			r->status, admin_str(e, "code"));
	else
		fprintf(stderr, "%s: %s: HTTP %ld\n", PROG_NAME, what, r->status);
	return EXIT_RUNTIME;
}

int admin_usage(const char *sub, const char *usage, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: %s: ", PROG_NAME, sub);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nUsage: %s %s\n", PROG_NAME, usage);
	return EXIT_USAGE;
}

bool admin_wants_help(int argc, char **argv, const char *usage)
{
	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			printf("Usage: %s %s\n", PROG_NAME, usage);
			return true;
		}
	return false;
}

void admin_print_json(struct json_object *o)
{
	printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY |
						      JSON_C_TO_STRING_NOSLASHESCAPE));
}

struct json_object *admin_obj(struct json_object *o, const char *key)
{
	struct json_object *v;

	return o && json_object_object_get_ex(o, key, &v) ? v : NULL;
}

const char *admin_str(struct json_object *o, const char *key)
{
	struct json_object *v = admin_obj(o, key);

	return v && json_object_is_type(v, json_type_string) ? json_object_get_string(v) : "";
}

double admin_num(struct json_object *o, const char *key)
{
	struct json_object *v = admin_obj(o, key);

	return v ? json_object_get_double(v) : 0.0;
}

int admin_request_show(const char *what, const char *method, const char *path, const char *body,
		       long want, void (*show)(struct json_object *))
{
	struct admin_reply r;
	int ret = admin_call(method, path, body, &r);

	if (ret)
		return ret;
	if (r.status != want)
		ret = admin_fail(what, &r);
	else if (admin_opts.json)
		admin_print_json(r.body);
	else
		show(r.body);
	admin_reply_free(&r);
	return ret;
}
