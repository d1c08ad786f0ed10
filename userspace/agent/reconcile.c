// SPDX-License-Identifier: MIT
/*
 * Reconcile loop: the module and wg0 are compared with what the agent
 * holds (the epoch it applied, held.c) and repaired, every
 * RECONCILE_INTERVAL_SEC, at once when a link changes (rtnetlink) or a
 * generic netlink family comes or goes (nlctrl "notify": meshnet.ko
 * unloaded or loaded), and after each applied change:
 *
 *   wg0 recreated (new ifindex)    private key and port set, module attached,
 *                                  peers re-applied with the module's PSKs
 *   module not attached to wg0     attached
 *   module policy differs          set again
 *   module reloaded / table differs  policy, attach, the held epoch re-applied
 *                                  with the PSKs wg0 still has
 *   a failed wg step, wg0's peers differ  wg0 re-applied; APPLIED logged then
 *   PSKs gone from both            a full config is fetched again (resync)
 *
 * Order: the module is repaired before wg0's peers come back, so a DENIED
 * peer's traffic is dropped throughout. The PSKs come from the other
 * kernel copy (module <-> wg0); the agent itself never holds one. Each
 * repair logs one "REPAIRED <kind>: ..." line and counts in status.json.
 *
 * The cheap check (every interval) is O(1): one state query, one ifindex
 * lookup. The full check (every RECONCILE_FULL_SEC and after each change)
 * dumps the module's table and wg0's peers: O(n).
 */
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <net/if.h>
#include <sys/socket.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>

#include <netlink/genl/ctrl.h>
#include <netlink/genl/genl.h>
#include <openssl/crypto.h>

#include "config_agent.h"
#include "log.h"
#include "nl/meshnet_epoch.h"
#include "nl/meshnet_nl.h"
#include "nl/meshnet_parse.h"
#include "timefmt.h"

struct agent_reconcile {
	pthread_t thread;
	int rtnl_fd;              /* link events: wg0 deleted, created, renamed */
	struct nl_sock *genl_ctrl; /* nlctrl "notify": a genl family came or went */
};

static void repaired(struct agent_config *ca, enum agent_repair kind, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void repaired(struct agent_config *ca, enum agent_repair kind, const char *fmt, ...)
{
	struct agent_state *s = &ca->ctx->state;
	char text[160];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	pthread_mutex_lock(&s->lock);
	s->repairs[kind]++;
	s->last_repair_at = time(NULL);
	snprintf(s->last_repair, sizeof(s->last_repair), "%s: %.140s", agent_repair_names[kind], text);
	log_info("REPAIRED %s: %s (repair #%u of this kind)", agent_repair_names[kind], text,
		 s->repairs[kind]);
	agent_state_publish(s);
	pthread_mutex_unlock(&s->lock);
}

/* ---- the module ---- */

static bool policy_differs(const struct meshnet_policy *want, const struct meshnet_policy *have)
{
	return want->unknown != have->unknown || want->fail_closed != have->fail_closed ||
	       want->grace != have->grace || want->endpoint_drop != have->endpoint_drop;
}

static bool attached(const struct meshnet_state *st, unsigned int ifindex)
{
	for (size_t i = 0; i < st->n_devices; i++)
		if (st->devices[i].ifindex == ifindex)
			return true;
	return false;
}

/*
 * The module's state, reopening the family when the module was reloaded
 * (the old handle's family is gone). 0, or -1 when the module is not there.
 */
static int module_state(struct agent_config *ca, struct meshnet_state *st, bool *reopened)
{
	struct meshnet_nl *nl;
	char err[256];

	*reopened = false;
	if (!meshnet_nl_get_state(ca->nl, st))
		return 0;
	if (meshnet_nl_open(&nl, err, sizeof(err))) {
		if (!ca->module_missing)
			log_err("reconcile: %s: nothing enforces the verdicts until it is back", err);
		ca->module_missing = true;
		return -1;
	}
	meshnet_nl_close(ca->nl);
	ca->nl = nl;
	*reopened = true;
	if (meshnet_nl_get_state(ca->nl, st)) {
		log_err("reconcile: module state: %s", meshnet_nl_error(ca->nl));
		return -1;
	}
	return 0;
}

/* The held epoch into the module again, with the PSKs wg0 still holds. */
static int reapply_module(struct agent_config *ca, size_t *missing_psks)
{
	struct meshnet_epoch e;
	long missing = agent_held_with_psks(ca, true, &e);
	int r;

	*missing_psks = 0;
	if (missing < 0)
		return -1;
	r = meshnet_nl_apply_epoch(ca->nl, &e, true);
	if (r)
		log_err("reconcile: module: epoch %llu: %s", (unsigned long long)e.id,
			meshnet_nl_error(ca->nl));
	meshnet_epoch_free(&e); /* wipes the PSKs */
	*missing_psks = (size_t)missing;
	return r ? -1 : 0;
}

struct table_cmp {
	const struct meshnet_epoch *held;
	size_t seen;
	bool differs;
};

static int compare_module_peer(const struct meshnet_peer *p, void *arg)
{
	struct table_cmp *tc = arg;
	const struct meshnet_peer *h = agent_held_find(tc->held, p->public_key);

	tc->seen++;
	if (!h || h->verdict != p->verdict)
		tc->differs = true;
	return 0;
}

/* Does the module's table hold exactly the held peers with their verdicts? */
static int module_table_differs(struct agent_config *ca, bool *differs)
{
	struct table_cmp tc = { .held = &ca->current };

	if (meshnet_nl_dump_peers(ca->nl, false, compare_module_peer, &tc)) {
		log_warn("reconcile: module peers: %s", meshnet_nl_error(ca->nl));
		return -1;
	}
	*differs = tc.differs || tc.seen != ca->current.n_peers;
	return 0;
}

/* ---- wg0 ---- */

struct wg_cmp {
	const struct agent_config *ca;
	size_t allowed_seen;
	bool differs;
};

static bool removal_pending(const struct agent_config *ca, const uint8_t *key)
{
	for (size_t i = 0; i < ca->n_pending; i++)
		if (!memcmp(ca->pending[i].key, key, MESHNET_KEY_LEN))
			return true;
	return false;
}

static int compare_wg_peer(const struct agent_wg_peer_info *info, void *arg)
{
	struct wg_cmp *wc = arg;
	const struct meshnet_epoch *held = &wc->ca->current;
	const struct meshnet_peer *h = agent_held_find(held, info->public_key);

	if (held->self_verdict == MESHNET_VERDICT_DENIED) {
		if (info->has_psk)
			wc->differs = true; /* a DENIED node keeps no PSK */
		return 0;
	}
	if (!h) {
		wc->differs = true; /* in no epoch */
	} else if (h->verdict == MESHNET_VERDICT_ALLOWED) {
		wc->allowed_seen++;
		if (!info->has_psk)
			wc->differs = true;
	} else if (!removal_pending(wc->ca, info->public_key)) {
		wc->differs = true; /* DENIED and not waiting for WG_REMOVE_DELAY_SEC */
	}
	return 0;
}

static int wg_peers_differ(struct agent_config *ca, bool *differs)
{
	struct wg_cmp wc = { .ca = ca };

	if (agent_wg_dump_peers(ca->wg, compare_wg_peer, &wc) < 0) {
		log_warn("reconcile: %s", agent_wg_error(ca->wg));
		return -1;
	}
	*differs = wc.differs || (ca->current.self_verdict != MESHNET_VERDICT_DENIED &&
				  wc.allowed_seen != agent_held_allowed_peers(&ca->current));
	return 0;
}

/* wg0 from the held epoch and the module's PSKs. 0, or -1 (still pending). */
static int reapply_wg(struct agent_config *ca, size_t *missing_psks)
{
	struct meshnet_epoch e;
	long missing;
	int r;

	*missing_psks = 0;
	if (ca->current.self_verdict == MESHNET_VERDICT_DENIED)
		return agent_apply_wg_self_denied(ca);
	missing = agent_held_with_psks(ca, false, &e);
	if (missing < 0)
		return -1;
	r = agent_apply_wg(ca, &e, ca->wg_fresh);
	meshnet_epoch_free(&e);
	*missing_psks = (size_t)missing;
	return r;
}

static void wg_step_done(struct agent_config *ca)
{
	bool was_pending = ca->wg_pending;

	ca->wg_pending = false;
	ca->wg_fresh = false;
	pthread_mutex_lock(&ca->ctx->state.lock);
	ca->ctx->state.wg_pending = false;
	pthread_mutex_unlock(&ca->ctx->state.lock);
	if (was_pending)
		agent_apply_log_applied(ca);
}

static void need_resync(struct agent_config *ca, const char *why)
{
	if (atomic_exchange(&ca->resync, true))
		return;
	atomic_store(&ca->wake, true); /* ends the long-poll the main loop is in */
	log_warn("reconcile: %s: fetching the full config from the controller again", why);
}

/* ---- one pass ---- */

void agent_reconcile_pass(struct agent_config *ca, bool full)
{
	const struct agent_options *o = &ca->ctx->opts;
	const struct meshnet_epoch *held = &ca->current;
	unsigned int ifindex = if_nametoindex(o->wg_ifname);
	struct meshnet_state st;
	bool reopened, differs, wg_repair = ca->wg_pending;
	size_t missing;

	/* 1. wg0 itself: gone, or recreated (a new ifindex: no key, no peers) */
	if (!ifindex) {
		if (!ca->wg_gone)
			log_warn("reconcile: %s is gone: waiting for it to come back", o->wg_ifname);
		ca->wg_gone = true;
	} else if (ifindex == ca->wg_ifindex) {
		if (ca->wg_gone)
			log_info("reconcile: %s is back (ifindex %u)", o->wg_ifname, ifindex);
		ca->wg_gone = false;
	} else {
		if (agent_wg_set_device(ca->wg, ca->ctx->keys.wg_private, (uint16_t)o->listen_port)) {
			log_warn("reconcile: %s", agent_wg_error(ca->wg));
		} else {
			repaired(ca, AGENT_REPAIR_WG_DEVICE,
				 "%s was recreated (ifindex %u -> %u): private key and port %u set",
				 o->wg_ifname, ca->wg_ifindex, ifindex, o->listen_port);
			ca->wg_ifindex = ifindex;
			ca->wg_gone = false;
			wg_repair = true; /* its peers come back after the module is attached */
		}
	}

	/* 2. the module: loaded, policy, attachment, epoch and table */
	if (module_state(ca, &st, &reopened))
		return; /* not loaded: nothing to attach to; wg0 is left as it is */
	if (ca->module_missing || reopened)
		log_info("reconcile: the meshnet module is back (family %s)",
			 reopened ? "reopened" : "answering");
	ca->module_missing = false;
	if (held->id && !st.epoch_id && !st.peer_count) {
		/* reloaded (or reset): everything at once, enforcement first */
		int r = meshnet_nl_set_policy(ca->nl, &ca->policy);

		if (!r && !ca->wg_gone) {
			r = meshnet_nl_attach(ca->nl, o->wg_ifname);
			r = r == -EEXIST ? 0 : r;
		}
		if (r) {
			log_err("reconcile: module: %s", meshnet_nl_error(ca->nl));
			return;
		}
		if (reapply_module(ca, &missing))
			return;
		repaired(ca, AGENT_REPAIR_MODULE,
			 "module lost its table (reloaded?): policy, attach to %s and epoch %llu re-applied (%zu peers, PSKs from %s)",
			 o->wg_ifname, (unsigned long long)held->id, held->n_peers, o->wg_ifname);
		if (missing)
			need_resync(ca, "wg0 had no PSK for some ALLOWED peers");
		if (meshnet_nl_get_state(ca->nl, &st))
			return;
	}
	if (policy_differs(&ca->policy, &st.policy)) {
		if (meshnet_nl_set_policy(ca->nl, &ca->policy))
			log_err("reconcile: module policy: %s", meshnet_nl_error(ca->nl));
		else
			repaired(ca, AGENT_REPAIR_POLICY,
				 "module policy was unknown=%s fail_closed=%d grace=%u endpoint_drop=%d; set back",
				 st.policy.unknown == MESHNET_UNKNOWN_DROP ? "drop" : "allow",
				 st.policy.fail_closed, st.policy.grace, st.policy.endpoint_drop);
	}
	if (!ca->wg_gone && !attached(&st, ca->wg_ifindex)) {
		int r = meshnet_nl_attach(ca->nl, o->wg_ifname);

		if (r && r != -EEXIST)
			log_err("reconcile: module: attach %s: %s", o->wg_ifname,
				meshnet_nl_error(ca->nl));
		else
			repaired(ca, AGENT_REPAIR_ATTACH, "module attached to %s (ifindex %u) again",
				 o->wg_ifname, ca->wg_ifindex);
	}
	differs = held->id && (st.epoch_id != held->id || st.self_verdict != held->self_verdict ||
			       st.peer_count != held->n_peers || st.revision != held->revision);
	if (!differs && full && held->id && module_table_differs(ca, &differs))
		differs = false;
	if (differs) {
		uint64_t was = st.epoch_id;

		if (!reapply_module(ca, &missing)) {
			repaired(ca, AGENT_REPAIR_MODULE,
				 "module held epoch %llu / %u peers, not the applied %llu / %zu: re-applied",
				 (unsigned long long)was, st.peer_count,
				 (unsigned long long)held->id, held->n_peers);
			if (missing)
				need_resync(ca, "wg0 had no PSK for some ALLOWED peers");
		}
	}

	/* 3. wg0's peers, after the module */
	if (ca->wg_gone)
		return;
	if (!wg_repair && full && held->id && !wg_peers_differ(ca, &differs))
		wg_repair = differs;
	if (!wg_repair)
		return;
	if (reapply_wg(ca, &missing)) {
		if (!ca->wg_pending)
			log_warn("reconcile: wg0 could not be repaired yet: retrying");
		ca->wg_pending = true;
		return;
	}
	repaired(ca, AGENT_REPAIR_WG_PEERS, "%s peers re-applied for epoch %llu%s", o->wg_ifname,
		 (unsigned long long)held->id,
		 ca->wg_pending ? " after a failed wg step" : "");
	wg_step_done(ca);
	if (missing)
		need_resync(ca, "the module had no PSK for some ALLOWED peers");
}

/* ---- the thread ---- */

static int rtnl_open(void)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK, .nl_groups = RTMGRP_LINK };
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_ROUTE);

	if (fd < 0)
		return -1;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		close(fd);
		return -1;
	}
	return fd;
}

/*
 * The generic netlink controller's "notify" group: a family registered or
 * unregistered (meshnet.ko loaded or unloaded) is seen at once.
 */
static struct nl_sock *genl_ctrl_open(void)
{
	struct nl_sock *sk = nl_socket_alloc();
	int grp;

	if (!sk)
		return NULL;
	nl_socket_disable_seq_check(sk);
	if (genl_connect(sk) || (grp = genl_ctrl_resolve_grp(sk, "nlctrl", "notify")) < 0 ||
	    nl_socket_add_membership(sk, grp) || nl_socket_set_nonblocking(sk)) {
		nl_socket_free(sk);
		return NULL;
	}
	return sk;
}

/* Reads every queued link event; true if there was any. */
static bool rtnl_drain(int fd)
{
	char buf[8192];
	bool any = false;

	while (recv(fd, buf, sizeof(buf), 0) > 0)
		any = true;
	return any;
}

static void *reconcile_main(void *arg)
{
	struct agent_config *ca = arg;
	struct agent_ctx *ctx = ca->ctx;
	const uint64_t interval_ns = (uint64_t)ctx->opts.reconcile_interval * 1000000000ULL;
	const uint64_t full_ns = (uint64_t)ctx->opts.reconcile_full * 1000000000ULL;
	uint64_t next = meshnet_now_ns() + interval_ns, next_full = meshnet_now_ns() + full_ns;
	struct pollfd pfd[2] = {
		{ .fd = ca->rec->rtnl_fd, .events = POLLIN },
		{ .fd = ca->rec->genl_ctrl ? nl_socket_get_fd(ca->rec->genl_ctrl) : -1,
		  .events = POLLIN },
	};

	while (!atomic_load(&ctx->stop)) {
		bool event = false;

		/* a negative fd is skipped by poll() */
		if (poll(pfd, 2, 200) > 0) {
			if (pfd[0].revents && rtnl_drain(pfd[0].fd))
				event = true;
			if (pfd[1].revents && rtnl_drain(pfd[1].fd))
				event = true;
		}
			uint64_t now = meshnet_now_ns();
		bool full = atomic_exchange(&ca->check_now, false) || now >= next_full;

		if (!event && !full && now < next)
			continue;
		pthread_mutex_lock(&ca->lock);
		agent_reconcile_pass(ca, full);
		pthread_mutex_unlock(&ca->lock);
		now = meshnet_now_ns();
		next = now + interval_ns;
		if (full)
			next_full = now + full_ns;
	}
	return NULL;
}

int agent_reconcile_start(struct agent_config *ca)
{
	struct agent_reconcile *rec;

	if (!ca->ctx->opts.reconcile_interval)
		return 0;
	rec = calloc(1, sizeof(*rec));
	if (!rec)
		return -1;
	rec->rtnl_fd = rtnl_open();
	if (rec->rtnl_fd < 0)
		log_warn("reconcile: no rtnetlink link events (%s): checking every %u s only",
			 strerror(errno), ca->ctx->opts.reconcile_interval);
	rec->genl_ctrl = genl_ctrl_open();
	if (!rec->genl_ctrl)
		log_warn("reconcile: no generic netlink family events: a module reload is seen within %u s",
			 ca->ctx->opts.reconcile_interval);
	ca->rec = rec;
	if (pthread_create(&rec->thread, NULL, reconcile_main, ca)) {
		if (rec->rtnl_fd >= 0)
			close(rec->rtnl_fd);
		if (rec->genl_ctrl)
			nl_socket_free(rec->genl_ctrl);
		free(rec);
		ca->rec = NULL;
		return -1;
	}
	return 0;
}

void agent_reconcile_stop(struct agent_config *ca)
{
	if (!ca->rec)
		return;
	atomic_store(&ca->ctx->stop, true);
	pthread_join(ca->rec->thread, NULL);
	if (ca->rec->rtnl_fd >= 0)
		close(ca->rec->rtnl_fd);
	if (ca->rec->genl_ctrl)
		nl_socket_free(ca->rec->genl_ctrl);
	free(ca->rec);
	ca->rec = NULL;
}
