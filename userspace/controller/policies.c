// SPDX-License-Identifier: MIT
/*
 * The policy file in the controller: loaded at start (an invalid file stops
 * the start), reloaded on SIGHUP and POST /v1/policy/reload, replaced by
 * PUT /v1/policy (written to POLICY_FILE). A policy is validated whole and
 * installed whole, or refused with every error and nothing changed. A
 * time-locked one is announced in the audit log when it is accepted and
 * again when it takes effect; then every node is decided again.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "controller.h"
#include "fileio.h"
#include "log.h"
#include "timefmt.h"

/* A record holds at most 1 MiB (TLOG_RECORD_MAX); JSON escaping can grow text 6-fold. */
#define AUDIT_POLICY_TEXT_MAX (160u << 10)

static void audit_policy(struct controller *c, const char *type, const struct policy *p,
			 uint64_t previous)
{
	struct strbuf sb;

	strbuf_init(&sb);
	strbuf_printf(&sb, "\"policy_version\":%" PRIu64 ",\"policy_sha256\":\"%s\",\"source\":",
		      p->version, p->sha256);
	strbuf_json_string(&sb, p->source);
	if (p->effective_epoch)
		strbuf_printf(&sb, ",\"effective_epoch\":%" PRIu64, p->effective_epoch);
	else
		strbuf_printf(&sb, ",\"effective_unix\":%" PRId64, p->effective_at);
	strbuf_printf(&sb, ",\"previous_version\":%" PRIu64 ",\"epoch\":%llu", previous,
		      (unsigned long long)c->epoch.id);
	/* the text, so that audit-verify can re-run the policy offline */
	if (p->text_len <= AUDIT_POLICY_TEXT_MAX) {
		strbuf_puts(&sb, ",\"policy_text\":");
		strbuf_json_string(&sb, p->text);
	} else {
		strbuf_puts(&sb, ",\"policy_text_omitted\":true");
	}
	record_audit(c, type, &sb);
	strbuf_free(&sb);
}

static void log_errors(const char *source, const struct policy_errors *errs)
{
	unsigned int i;

	log_err("policy %s refused whole (%u error(s)); the policy in effect is unchanged",
		source, errs->total);
	for (i = 0; i < errs->n; i++)
		log_err("  %s:%u: %s: %s", source, errs->e[i].line, errs->e[i].field,
			errs->e[i].message);
}

/* With c->lock held. Returns 0 active now, 1 scheduled, -1 refused. */
static int install_locked(struct controller *c, struct policy *p, int64_t now,
			  struct policy_errors *errs, uint64_t *new_epoch)
{
	uint64_t previous = c->trust.active ? c->trust.active->version : 0;
	char name[160], when[MESHNET_RFC3339_LEN];
	int ret;

	ret = trust_install(&c->trust, p, now, c->epoch.id, errs);
	if (ret < 0)
		return -1;
	trust_policy_name(p, name, sizeof(name));
	if (ret == 1) {
		/* announced before it takes effect */
		audit_policy(c, "policy_scheduled", p, previous);
		if (p->effective_epoch) {
			log_info("Policy %s scheduled for epoch %" PRIu64, name, p->effective_epoch);
		} else {
			meshnet_rfc3339_format(when, p->effective_at);
			log_info("Policy %s scheduled for %s", name, when);
		}
		return 1;
	}
	audit_policy(c, "policy_effective", p, previous);
	log_info("Policy %s in effect", name);
	if (new_epoch)
		*new_epoch = verdicts_reevaluate_all_locked(c, now, "policy changed");
	return 0;
}

int controller_policy_load_initial(struct controller *c)
{
	struct policy_errors errs;
	struct policy *p;
	char *text;
	size_t len;

	if (!*c->cfg->policy_file) {
		log_info("No POLICY_FILE: membership follows the built-in v1 threshold rule");
		return 0;
	}
	text = meshnet_read_file(c->cfg->policy_file, POLICY_FILE_MAX + 1, &len);
	if (!text) {
		log_err("POLICY_FILE %s: %s", c->cfg->policy_file, strerror(errno));
		return -1;
	}
	p = policy_parse(text, len, c->cfg->policy_file, &errs);
	free(text);
	if (!p) {
		log_errors(c->cfg->policy_file, &errs);
		return -1;
	}
	/* nodes are decided again once the epoch is in place (controller_start) */
	pthread_mutex_lock(&c->lock);
	if (install_locked(c, p, controller_now(), &errs, NULL) < 0) {
		pthread_mutex_unlock(&c->lock);
		log_errors(c->cfg->policy_file, &errs);
		policy_free(p);
		return -1;
	}
	pthread_mutex_unlock(&c->lock);
	return 0;
}

static void render_state(struct controller *c, int state, struct strbuf *out)
{
	strbuf_printf(out, "{\"state\":\"%s\",\"policy\":", state ? "scheduled" : "active");
	trust_render_policy(&c->trust, out);
	strbuf_puts(out, "}");
}

int controller_policy_install(struct controller *c, const char *text, size_t len,
			      const char *source, struct strbuf *out, uint64_t *seq,
			      struct api_error *err, struct policy_errors *errs)
{
	uint64_t new_epoch = 0;
	char *file_text = NULL;
	struct policy *p;
	char msg[160];
	int ret;

	memset(errs, 0, sizeof(*errs));
	if (!*c->cfg->policy_file) {
		api_error_set(err, 409, "no_policy_file",
			      "meshnetd runs without POLICY_FILE: set it to manage policies");
		return -1;
	}
	if (!text) {
		file_text = meshnet_read_file(c->cfg->policy_file, POLICY_FILE_MAX + 1, &len);
		if (!file_text) {
			api_error_set(err, 500, "policy_file", "cannot read %s: %s",
				      c->cfg->policy_file, strerror(errno));
			return -1;
		}
		text = file_text;
		source = c->cfg->policy_file;
	}
	p = policy_parse(text, len, source, errs);
	if (!p) {
		log_errors(source, errs);
		policy_errors_format(errs, msg, sizeof(msg));
		api_error_set(err, 400, "bad_policy", "policy refused whole: %s", msg);
		free(file_text);
		return -1;
	}
	pthread_mutex_lock(&c->lock);
	if (controller_write_lock_locked(c, err)) {
		pthread_mutex_unlock(&c->lock);
		policy_free(p);
		free(file_text);
		return -1;
	}
	/* check before writing the file, so a refused policy leaves it as it was */
	{
		struct policy_errors chk;

		if (policy_check_replacement(c->trust.active, p, controller_now(), &chk)) {
			controller_commit_locked(c);	/* releases the write lock */
			pthread_mutex_unlock(&c->lock);
			*errs = chk;
			log_errors(source, errs);
			policy_errors_format(errs, msg, sizeof(msg));
			api_error_set(err, 409, "policy_refused", "policy refused whole: %s", msg);
			policy_free(p);
			free(file_text);
			return -1;
		}
	}
	if (!file_text && meshnet_atomic_write(c->cfg->policy_file, text, len, 0644)) {
		controller_commit_locked(c);	/* releases the write lock */
		pthread_mutex_unlock(&c->lock);
		api_error_set(err, 500, "storage", "cannot write %s", c->cfg->policy_file);
		policy_free(p);
		return -1;
	}
	ret = install_locked(c, p, controller_now(), errs, &new_epoch);
	if (ret >= 0)
		render_state(c, ret, out);
	c->status_dirty = true;
	*seq = controller_commit_locked(c);
	pthread_cond_broadcast(&c->cond);	/* the epoch thread wakes at its time */
	pthread_mutex_unlock(&c->lock);
	free(file_text);
	if (ret < 0) {	/* not reached: checked above under the same lock */
		policy_free(p);
		api_error_set(err, 409, "policy_refused", "policy refused");
		return -1;
	}
	epochs_notify(c, new_epoch);
	return 0;
}

static void became_effective(struct controller *c, uint64_t previous)
{
	char name[160];

	trust_policy_name(c->trust.active, name, sizeof(name));
	audit_policy(c, "policy_effective", c->trust.active, previous);
	log_info("Time-locked policy %s in effect", name);
}

uint64_t controller_policy_tick_locked(struct controller *c, int64_t now)
{
	uint64_t previous = c->trust.active ? c->trust.active->version : 0;

	if (!trust_advance(&c->trust, now, c->epoch.id))
		return 0;
	became_effective(c, previous);
	return verdicts_reevaluate_all_locked(c, now, "time-locked policy in effect");
}

void controller_policy_epoch_locked(struct controller *c, int64_t now)
{
	uint64_t previous = c->trust.active ? c->trust.active->version : 0;

	if (trust_advance(&c->trust, now, c->epoch.id))
		became_effective(c, previous);
}

void controller_render_policy(struct controller *c, struct strbuf *out)
{
	pthread_mutex_lock(&c->lock);
	trust_render_policy(&c->trust, out);
	pthread_mutex_unlock(&c->lock);
}
