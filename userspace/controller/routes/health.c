// SPDX-License-Identifier: MIT
/* GET /health and GET /metrics. */
#include <stdio.h>

#include "../http.h"

void route_health(struct api_server *s, struct request *r)
{
	struct view *v = controller_view(s->c);
	struct strbuf sb;

	/* From the published view: never behind a writer, whatever it does. */
	strbuf_init(&sb);
	strbuf_printf(&sb, "{\"status\":\"ok\",\"epoch\":%llu,\"revision\":%llu}",
		      (unsigned long long)v->epoch.id, (unsigned long long)v->revision);
	view_put(v);
	http_reply_json(s, r, 200, &sb);
}

void route_metrics(struct api_server *s, struct request *r)
{
	struct conn_guard_stats gs;
	char extra[1536];
	struct strbuf sb;
	size_t waiters;
	int n;

	pthread_mutex_lock(&s->wait_lock);
	waiters = s->n_waiters;
	pthread_mutex_unlock(&s->wait_lock);
	conn_guard_get_stats(s->guard, &gs);
	n = snprintf(extra, sizeof(extra),
		 "# HELP meshnet_http_requests_total HTTP requests answered.\n"
		 "# TYPE meshnet_http_requests_total counter\nmeshnet_http_requests_total %llu\n"
		 "# HELP meshnet_http_errors_total HTTP requests answered with 4xx/5xx.\n"
		 "# TYPE meshnet_http_errors_total counter\nmeshnet_http_errors_total %llu\n"
		 "# HELP meshnet_longpoll_waiters Suspended long-poll requests.\n"
		 "# TYPE meshnet_longpoll_waiters gauge\nmeshnet_longpoll_waiters %zu\n",
		 (unsigned long long)__atomic_load_n(&s->requests_total, __ATOMIC_RELAXED),
		 (unsigned long long)__atomic_load_n(&s->errors_total, __ATOMIC_RELAXED), waiters);
	snprintf(extra + n, sizeof(extra) - (size_t)n,
		 "# HELP meshnet_http_connections Open HTTP connections.\n"
		 "# TYPE meshnet_http_connections gauge\nmeshnet_http_connections %llu\n"
		 "# HELP meshnet_http_connections_cut_total Connections shut down, by cause.\n"
		 "# TYPE meshnet_http_connections_cut_total counter\n"
		 "meshnet_http_connections_cut_total{cause=\"deadline\"} %llu\n"
		 "meshnet_http_connections_cut_total{cause=\"per_ip\"} %llu\n"
		 "meshnet_http_connections_cut_total{cause=\"capacity\"} %llu\n",
		 (unsigned long long)gs.open, (unsigned long long)gs.cut_deadline,
		 (unsigned long long)gs.cut_quota, (unsigned long long)gs.cut_capacity);
	strbuf_init(&sb);
	controller_render_metrics(s->c, &sb, extra);
	http_reply(s, r, 200, "text/plain; version=0.0.4", &sb);
}

