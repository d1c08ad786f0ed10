// SPDX-License-Identifier: MIT
/*
 * The web console: GET /console (the page), /console/app.js, /console/app.css,
 * built into meshnetd (console/ in the tree, embedded at build time). The
 * page holds no data: its script reads the admin API with the admin token
 * the operator types in (kept in the tab's sessionStorage), so the console
 * is exactly as authorised as meshnet-admin. Strict CSP: nothing but this
 * origin's own script, style and API; no inline script, no external asset.
 */
#include <string.h>

#include "../http.h"
#include "console_assets.h"

#define CONSOLE_CSP "default-src 'none'; script-src 'self'; style-src 'self'; " \
	"connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; " \
	"frame-ancestors 'none'"

static void reply_asset(struct api_server *s, struct request *r, const char *type,
			const char *text)
{
	struct MHD_Response *resp;

	resp = MHD_create_response_from_buffer(strlen(text), (void *)text, MHD_RESPMEM_PERSISTENT);
	if (!resp)
		return;
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	MHD_add_response_header(resp, "Content-Security-Policy", CONSOLE_CSP);
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(resp, "X-Frame-Options", "DENY");
	MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
	MHD_add_response_header(resp, "Cache-Control", "no-store");
	MHD_queue_response(r->conn, 200, resp);
	MHD_destroy_response(resp);
	r->responded = true;
	(void)s;
}

void route_console(struct api_server *s, struct request *r)
{
	reply_asset(s, r, "text/html; charset=utf-8", console_index_html);
}

void route_console_js(struct api_server *s, struct request *r)
{
	reply_asset(s, r, "text/javascript; charset=utf-8", console_app_js);
}

void route_console_css(struct api_server *s, struct request *r)
{
	reply_asset(s, r, "text/css; charset=utf-8", console_app_css);
}
