// SPDX-License-Identifier: MIT
/*
 * Config agent, main loop: fetch the next config from the controller
 * (controller.c), apply it to the module and then wg0 (apply.c), keep a
 * PSK-free copy of it (held.c) and publish it to status.json.
 *
 * When the controller is unreachable, slow, 5xx or talks garbage, the agent
 * retries with exponential backoff and jitter; the last good epoch stays
 * applied and the module's dead man's switch decides when it has expired.
 * A restarted agent resumes from the module's epoch (it re-applies nothing
 * and long-polls for the next one).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <net/if.h>

#include "config_agent.h"
#include "statement_read.h"
#include "log.h"
#include "nl/meshnet_epoch.h"
#include "nl/meshnet_nl.h"
#include "nl/meshnet_parse.h"
#include "timefmt.h"

static void poll_succeeded(struct agent_config *ca)
{
	pthread_mutex_lock(&ca->ctx->state.lock);
	ca->ctx->state.last_config_at = time(NULL);
	ca->ctx->state.config_failures = 0;
	ca->ctx->state.config_error[0] = '\0';
	ca->ctx->state.revision = ca->revision;
	agent_strcpy(ca->ctx->state.controller_url, sizeof(ca->ctx->state.controller_url),
		     agent_http_url(&ca->http));
	pthread_mutex_unlock(&ca->ctx->state.lock);
}

static int poll_failed(struct agent_config *ca, const char *text)
{
	const struct agent_options *o = &ca->ctx->opts;

	pthread_mutex_lock(&ca->ctx->state.lock);
	ca->ctx->state.config_failures++;
	agent_strcpy(ca->ctx->state.config_error, sizeof(ca->ctx->state.config_error), text);
	agent_strcpy(ca->ctx->state.controller_url, sizeof(ca->ctx->state.controller_url),
		     agent_http_url(&ca->http));
	agent_state_publish(&ca->ctx->state);
	pthread_mutex_unlock(&ca->ctx->state.lock);
	if (atomic_load(&ca->ctx->stop))
		return 0;
	if (ca->current.id) {
		char exp[MESHNET_RFC3339_LEN];

		meshnet_rfc3339_format(exp, (int64_t)ca->current.expiry_unix);
		log_warn("config: %s; %s %llu stays applied (%s %s + grace %u s, then the module decides)",
			 text, ca->revision ? "revision" : "epoch",
			 (unsigned long long)(ca->revision ? ca->revision : ca->current.id),
			 ca->revision ? "lease ends" : "expires", exp, o->grace);
	} else {
		log_warn("config: %s", text);
	}
	return -1;
}

uint64_t agent_thread_cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static double ms_after(uint64_t from, uint64_t t)
{
	return from && t >= from ? (double)(t - from) / 1e6 : -1.0;
}

/*
 * Debug: where the time of one answered poll went (CLOCK_MONOTONIC, the
 * clock meshnet-e2e flip measures with): asked at, answered after, then
 * from the answer: statement checked, module applied, wg0 done, ack sent.
 */
static void log_timing(const struct agent_config *ca, const char *what, unsigned long long id,
		       uint64_t t_asked, uint64_t t_done, uint64_t t_ack)
{
	log_debug("TIMING %s %llu: asked at %.1f ms, answered after %.1f ms; then checked +%.1f, module +%.1f, wg0 +%.1f, ack +%.1f ms; cpu to module %.1f, to end %.1f ms",
		  what, id, (double)t_asked / 1e6, ms_after(t_asked, ca->t_reply),
		  ms_after(ca->t_reply, ca->t_checked), ms_after(ca->t_reply, ca->t_module),
		  ms_after(ca->t_reply, t_done), ms_after(ca->t_reply, t_ack),
		  ms_after(ca->cpu_reply, ca->cpu_module),
		  ms_after(ca->cpu_reply, agent_thread_cpu_ns()));
}

/* A checkpoint refused: the statement carrying it is not applied. -1 (backoff). */
static int refuse_checkpoint(struct agent_config *ca, struct agent_statement *st,
			     const char *text)
{
	pthread_mutex_lock(&ca->ctx->state.lock);
	ca->ctx->state.checkpoints_refused++;
	pthread_mutex_unlock(&ca->ctx->state.lock);
	agent_controller_count_refusal(ca, text);
	agent_statement_free(st);
	return poll_failed(ca, text);
}

/* v2: one poll. 1 = a statement applied, 0 = nothing new, -1 = failure (backoff). */
static int poll_once_v2(struct agent_config *ca, unsigned int wait)
{
	struct agent_statement st;
	struct tlog_checkpoint cp;
	char text[512];
	bool resync = atomic_load(&ca->resync);
	uint64_t t_asked = meshnet_now_ns(), t_done;
	int ret;

	ca->t_reply = ca->t_checked = ca->t_module = 0;
	switch (agent_controller_fetch_v2(ca, wait, &st, text, sizeof(text))) {
	case AGENT_FETCH_INTERRUPTED:
		return 0;
	case AGENT_FETCH_NOTHING:
		poll_succeeded(ca);
		agent_controller_ack(ca); /* one a repair completed meanwhile */
		return 0;
	case AGENT_FETCH_STATEMENT:
		break;
	default:
		return poll_failed(ca, text);
	}
	if (st.checkpoint && ca->have_monitor) {
		/* verified once; its size says whether a proof from ours is needed */
		uint64_t from = 0, to = 0;

		pthread_mutex_lock(&ca->lock);
		ret = agent_monitor_open(&ca->monitor, st.checkpoint, strlen(st.checkpoint), &cp,
					 text, sizeof(text));
		if (!ret && ca->monitor.have && cp.size > ca->monitor.held.size) {
			from = ca->monitor.held.size;
			to = cp.size;
		}
		pthread_mutex_unlock(&ca->lock);
		if (ret)
			return refuse_checkpoint(ca, &st, text);
		if (to) {
			/* the statement's proof is from the size the controller chose: ask for ours */
			tlog_hash *proof;
			size_t n;

			if (!agent_controller_consistency_proof(ca, from, to, &proof, &n)) {
				free(st.proof);
				st.proof = proof;
				st.n_proof = n;
			}
		}
	}
	pthread_mutex_lock(&ca->lock);
	if (st.checkpoint && ca->have_monitor &&
	    agent_monitor_accept_opened(&ca->monitor, &cp, st.checkpoint, strlen(st.checkpoint),
					st.proof, st.n_proof, text, sizeof(text))) {
		/* a log that forked, shrank or was rewritten: keep what we hold */
		pthread_mutex_unlock(&ca->lock);
		return refuse_checkpoint(ca, &st, text);
	}
	if (st.info.type == MESHNET_STATEMENT_DENIED)
		ret = agent_apply_denied_v2(ca, &st);
	else if (st.info.type == MESHNET_STATEMENT_SNAPSHOT)
		ret = agent_apply_snapshot(ca, &st);
	else
		ret = agent_apply_delta(ca, &st);
	if (!ret && st.info.type == MESHNET_STATEMENT_SNAPSHOT)
		ca->want_snapshot = false;
	if (!ret && resync && st.info.type == MESHNET_STATEMENT_SNAPSHOT) {
		atomic_store(&ca->resync, false);
		log_info("REPAIRED resync: snapshot at revision %llu applied",
			 (unsigned long long)st.info.revision);
		pthread_mutex_lock(&ca->ctx->state.lock);
		ca->ctx->state.repairs[AGENT_REPAIR_RESYNC]++;
		pthread_mutex_unlock(&ca->ctx->state.lock);
	}
	if (!ca->ctx->opts.reconcile_interval)
		agent_reconcile_pass(ca, true);
	pthread_mutex_unlock(&ca->lock);
	atomic_store(&ca->check_now, true);
	if (ret < 0) {
		snprintf(text, sizeof(text), "revision %llu could not be applied",
			 (unsigned long long)st.info.revision);
		agent_statement_free(&st);
		return poll_failed(ca, text);
	}
	t_done = meshnet_now_ns();
	poll_succeeded(ca);
	agent_held_publish(ca);
	agent_controller_ack(ca);
	log_timing(ca, "revision", (unsigned long long)st.info.revision, t_asked, t_done,
		   meshnet_now_ns());
	agent_statement_free(&st);
	return 1; /* ret 1: a snapshot is wanted, asked for at once */
}

/* One poll. 1 = new epoch applied, 0 = nothing new, -1 = failure (backoff). */
static int poll_once(struct agent_config *ca, unsigned int wait)
{
	const struct agent_options *o = &ca->ctx->opts;
	struct meshnet_epoch e;
	char text[512];
	uint64_t before = ca->current.id;
	uint8_t before_self = ca->current.self_verdict;
	bool resync = atomic_load(&ca->resync);
	uint64_t t_asked = meshnet_now_ns();
	enum agent_fetch_result got;
	int ret;

	ca->t_reply = ca->t_checked = ca->t_module = 0;
	got = agent_controller_fetch(ca, wait, &e, text, sizeof(text));

	if (got == AGENT_FETCH_INTERRUPTED)
		return 0; /* the reconcile loop wants a full config: ask at once */
	if (got == AGENT_FETCH_FAILED)
		goto fail;
	pthread_mutex_lock(&ca->lock);
	if (got == AGENT_FETCH_DENIED)
		ret = agent_apply_denied(ca, &e);
	else
		ret = agent_apply_allowed(ca, &e);
	if (!ret && resync) {
		atomic_store(&ca->resync, false);
		log_info("REPAIRED resync: epoch %llu fetched and applied again", (unsigned long long)e.id);
		pthread_mutex_lock(&ca->ctx->state.lock);
		ca->ctx->state.repairs[AGENT_REPAIR_RESYNC]++;
		pthread_mutex_unlock(&ca->ctx->state.lock);
	}
	if (!o->reconcile_interval)
		agent_reconcile_pass(ca, true); /* no reconcile thread: check now */
	pthread_mutex_unlock(&ca->lock);
	atomic_store(&ca->check_now, true);
	if (ret) {
		snprintf(text, sizeof(text), "epoch %llu could not be applied",
			 (unsigned long long)e.id);
		meshnet_epoch_free(&e);
		goto fail;
	}
	log_timing(ca, "epoch", (unsigned long long)e.id, t_asked, meshnet_now_ns(), 0);
	meshnet_epoch_free(&e);
	ret = ca->current.id != before || ca->current.self_verdict != before_self;
	poll_succeeded(ca);
	agent_held_publish(ca);
	return ret;
fail:
	return poll_failed(ca, text);
}

/* ---- setup ---- */

int agent_config_setup(struct agent_ctx *ctx, struct agent_config **out)
{
	const struct agent_options *o = &ctx->opts;
	struct agent_config *ca = calloc(1, sizeof(*ca));
	struct meshnet_state st;
	char err[512];
	int r;

	if (!ca)
		return -1;
	ca->ctx = ctx;
	ca->policy = (struct meshnet_policy){
		.mask = MESHNET_POLICY_UNKNOWN | MESHNET_POLICY_FAIL_CLOSED | MESHNET_POLICY_GRACE |
			MESHNET_POLICY_ENDPOINT_DROP,
		.unknown = MESHNET_UNKNOWN_DROP,
		.fail_closed = o->fail_closed,
		.grace = o->grace,
		.endpoint_drop = o->endpoint_drop,
	};
	if (pthread_mutex_init(&ca->lock, NULL)) {
		free(ca);
		return -1;
	}
	agent_backoff_init(&ca->backoff, o->backoff_min_ms, o->backoff_max_ms);
	if (ctx->controller_key) {
		uint8_t pub[32];
		size_t publen = sizeof(pub);

		if (EVP_PKEY_get_raw_public_key(ctx->controller_key, pub, &publen) != 1 ||
		    agent_monitor_init(&ca->monitor, o->state_dir, pub, o->mesh_id, err,
				       sizeof(err))) {
			log_err("transparency log: %s", err);
			goto err;
		}
		ca->have_monitor = true;
		if (agent_monitor_require_witnesses(&ca->monitor, o->require_witness,
						    o->witness_quorum, err, sizeof(err))) {
			log_err("transparency log: %s", err);
			goto err;
		}
		if (ca->monitor.n_witnesses)
			log_info("CHECKPOINT needs %u of %zu witness signature(s)", ca->monitor.quorum,
				 ca->monitor.n_witnesses);
		if (ca->monitor.have)
			log_info("CHECKPOINT held: %s size %llu", ca->monitor.origin,
				 (unsigned long long)ca->monitor.held.size);
	}
	if (agent_http_init(&ca->http, ctx->sign_key, o->node_id, o->controller, o->ca_file,
			    &ctx->stop)) {
		log_err("libcurl: cannot create a handle");
		goto err;
	}
	ca->http.interrupt = &ca->wake;
	ca->http.audience = o->mesh_id;
	if (agent_wg_open(&ca->wg, o->wg_ifname, err, sizeof(err))) {
		log_err("%s", err);
		goto err;
	}
	if (agent_wg_set_device(ca->wg, ctx->keys.wg_private, (uint16_t)o->listen_port)) {
		log_err("%s (create it first: ip link add %s type wireguard)", agent_wg_error(ca->wg),
			o->wg_ifname);
		goto err;
	}
	ca->wg_ifindex = if_nametoindex(o->wg_ifname);
	if (meshnet_nl_open(&ca->nl, err, sizeof(err))) {
		log_err("%s", err);
		goto err;
	}
	r = meshnet_nl_attach(ca->nl, o->wg_ifname);
	if (r && r != -EEXIST) {
		log_err("module: attach %s: %s", o->wg_ifname, meshnet_nl_error(ca->nl));
		goto err;
	}
	if (meshnet_nl_set_policy(ca->nl, &ca->policy)) {
		log_err("module: policy: %s", meshnet_nl_error(ca->nl));
		goto err;
	}
	if (meshnet_nl_get_state(ca->nl, &st)) {
		log_err("module: state: %s", meshnet_nl_error(ca->nl));
		goto err;
	}
	if (st.epoch_id) {
		/* restart: the module has the last epoch; keep it, poll for the next */
		if (agent_held_resume(ca, &st))
			goto err;
		log_info("RESUMED epoch=%llu from the module: MEMBERSHIP=%s, %zu peers%s",
			 (unsigned long long)st.epoch_id, meshnet_verdict_name(st.self_verdict),
			 ca->current.n_peers,
			 st.expired ? " (epoch EXPIRED: module fails closed until the next one)" : "");
	} else {
		ca->current.self_verdict = st.self_verdict;
	}
	agent_held_publish(ca);
	*out = ca;
	return 0;
err:
	agent_config_free(ca);
	return -1;
}

void agent_config_run(struct agent_config *ca)
{
	struct agent_ctx *ctx = ca->ctx;
	const struct agent_options *o = &ctx->opts;

	if (agent_reconcile_start(ca))
		log_err("reconcile: cannot start its thread: checking after each poll only");
	while (!atomic_load(&ctx->stop)) {
		unsigned int wait = o->long_poll;
		int64_t rm = agent_apply_next_removal_in(ca);
		uint64_t t0 = meshnet_now_ns();
		int r;

		if (rm >= 0 && rm < (int64_t)wait)
			wait = (unsigned int)rm;
		r = ctx->controller_key ? poll_once_v2(ca, wait) : poll_once(ca, wait);
		pthread_mutex_lock(&ca->lock);
		agent_apply_due_removals(ca);
		pthread_mutex_unlock(&ca->lock);
		if (r < 0) {
			unsigned int d = agent_backoff_next(&ca->backoff, agent_rand_u32());

			log_info("retrying in %u ms (attempt %u)", d, ca->backoff.failures + 1);
			agent_sleep_ms(ctx, d);
			continue;
		}
		agent_backoff_reset(&ca->backoff);
		if (r == 0) {
			/* nothing new: do not poll faster than POLL_INTERVAL_SEC */
			uint64_t spent_ms = (meshnet_now_ns() - t0) / 1000000;
			uint64_t min_ms = (uint64_t)o->poll_interval * 1000;

			if (spent_ms < min_ms && ca->current.self_verdict != MESHNET_VERDICT_DENIED)
				agent_sleep_ms(ctx, (unsigned int)(min_ms - spent_ms));
			else if (spent_ms < 1000)
				agent_sleep_ms(ctx, 1000);
		}
	}
	agent_reconcile_stop(ca);
}

void agent_config_free(struct agent_config *ca)
{
	if (!ca)
		return;
	meshnet_epoch_free(&ca->current);
	if (ca->nl)
		meshnet_nl_close(ca->nl);
	agent_wg_close(ca->wg);
	agent_http_free(&ca->http);
	free(ca->pending);
	if (ca->have_monitor)
		agent_monitor_free(&ca->monitor);
	agent_dh_cache_free(&ca->dh);
	pthread_mutex_destroy(&ca->lock);
	free(ca);
}
