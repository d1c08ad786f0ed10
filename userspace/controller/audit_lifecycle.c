// SPDX-License-Identifier: MIT
/*
 * The controller's own life in the audit log: a "controller_start" leaf at
 * every start and a "controller_stop" leaf at every clean stop (SIGTERM,
 * SIGINT), each with the version and the controller's id (its host name and
 * pid). A start not preceded by a stop is an unclean stop (a crash or kill
 * -9): `meshnetd audit-verify` counts them.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "controller.h"
#include "log.h"
#include "version.h"

void audit_record_lifecycle(struct controller *c, const char *type, int sig)
{
	char host[256];
	struct strbuf sb;

	if (gethostname(host, sizeof(host)))
		snprintf(host, sizeof(host), "unknown");
	host[sizeof(host) - 1] = '\0';
	strbuf_init(&sb);
	strbuf_puts(&sb, "\"controller_id\":");
	strbuf_json_string(&sb, host);
	strbuf_printf(&sb, ",\"pid\":%ld,\"version\":", (long)getpid());
	strbuf_json_string(&sb, MESHNET_VERSION);
	strbuf_printf(&sb, ",\"mesh_id\":");
	strbuf_json_string(&sb, c->cfg->mesh_id);
	if (!strcmp(type, "controller_stop"))
		strbuf_printf(&sb, ",\"signal\":%d,\"uptime_s\":%lld", sig,
			      (long long)(controller_now() - c->started_at));
	record_audit(c, type, &sb);
	strbuf_free(&sb);
}

void controller_record_stop(struct controller *c, int sig)
{
	pthread_mutex_lock(&c->lock);
	audit_record_lifecycle(c, "controller_stop", sig);
	controller_commit_locked(c);
	pthread_mutex_unlock(&c->lock);
}
