// SPDX-License-Identifier: MIT
/*
 * Admin policy routes: GET /v1/policy (in effect and pending), PUT
 * /v1/policy (the body is the policy file's text; validated whole, written
 * to POLICY_FILE, installed or scheduled), POST /v1/policy/reload (re-reads
 * POLICY_FILE, as SIGHUP does). A refused policy answers every error with
 * its line and field in error.details and changes nothing.
 */
#include "../http.h"

static void reply_policy_error(struct api_server *s, struct request *r,
			       const struct api_error *err, const struct policy_errors *errs)
{
	struct strbuf sb;

	if (!errs->total) {
		http_reply_api_error(s, r, err);
		return;
	}
	strbuf_init(&sb);
	strbuf_printf(&sb, "{\"error\":{\"code\":\"%s\",\"message\":", err->code);
	strbuf_json_string(&sb, err->message);
	strbuf_printf(&sb, ",\"errors\":%u,\"details\":", errs->total);
	policy_errors_render_json(errs, &sb);
	strbuf_puts(&sb, "}}");
	http_reply_json(s, r, err->status, &sb);
}

void route_policy(struct api_server *s, struct request *r)
{
	struct strbuf sb;

	strbuf_init(&sb);
	controller_render_policy(s->c, &sb);
	http_reply_json(s, r, 200, &sb);
}

static void install(struct api_server *s, struct request *r, const char *text, size_t len)
{
	struct policy_errors errs;
	struct api_error err;
	struct strbuf sb;
	uint64_t seq;

	strbuf_init(&sb);
	if (controller_policy_install(s->c, text, len, "PUT /v1/policy", &sb, &seq, &err,
				      &errs)) {
		strbuf_free(&sb);
		reply_policy_error(s, r, &err, &errs);
		return;
	}
	http_reply_when_durable(s, r, 200, &sb, seq);
}

void route_policy_put(struct api_server *s, struct request *r)
{
	if (!r->body_len) {
		http_reply_error(s, r, 400, "bad_policy", "the body must be the policy text");
		return;
	}
	install(s, r, r->body, r->body_len);
}

void route_policy_reload(struct api_server *s, struct request *r)
{
	install(s, r, NULL, 0);
}
