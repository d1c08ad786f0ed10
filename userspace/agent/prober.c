// SPDX-License-Identifier: MIT
/*
 * Network probe: every PROBE_INTERVAL_SEC, one ping to each peer's overlay
 * address; logs "PING node-b OK (10.10.0.3)" / "PING node-c FAIL (10.10.0.4: timeout)"
 * and keeps the results for `meshnet-agent status`.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "agent.h"
#include "log.h"
#include "nl/meshnet_parse.h"
#include "probe.h"
#include "timefmt.h"

#define PING_TIMEOUT_MS 1000

void *agent_probe_main(void *arg)
{
	struct agent_ctx *ctx = arg;
	const struct agent_options *o = &ctx->opts;

	/* give the first epoch a moment to arrive */
	agent_sleep_ms(ctx, 1000);
	while (!atomic_load(&ctx->stop)) {
		uint64_t t0 = meshnet_now_ns(), spent_ms, period_ms = (uint64_t)o->probe_interval * 1000;
		struct agent_peer_status *peers = NULL;
		size_t n;

		pthread_mutex_lock(&ctx->state.lock);
		n = ctx->state.n_peers;
		if (n) {
			peers = malloc(n * sizeof(*peers));
			if (peers)
				memcpy(peers, ctx->state.peers, n * sizeof(*peers));
			else
				n = 0;
		}
		pthread_mutex_unlock(&ctx->state.lock);

		for (size_t i = 0; i < n && !atomic_load(&ctx->stop); i++) {
			struct agent_peer_status *p = &peers[i];
			char addr[MESHNET_PREFIX_STRLEN];

			if (!p->has_addr)
				continue;
			meshnet_format_allowedip(&p->addr, addr, sizeof(addr));
			*strchrnul(addr, '/') = '\0';
			p->ping_ok = !agent_ping(&p->addr, PING_TIMEOUT_MS, &p->rtt_us, p->ping_why,
						 sizeof(p->ping_why));
			p->probed_at = time(NULL);
			if (p->ping_ok)
				log_info("PING %s OK (%s)", p->name, addr);
			else
				log_info("PING %s FAIL (%s: %s)", p->name, addr, p->ping_why);
		}

		pthread_mutex_lock(&ctx->state.lock);
		for (size_t i = 0; i < n; i++) {
			for (size_t k = 0; k < ctx->state.n_peers; k++) {
				struct agent_peer_status *d = &ctx->state.peers[k];

				if (memcmp(d->public_key, peers[i].public_key, MESHNET_KEY_LEN) ||
				    !peers[i].probed_at)
					continue;
				d->probed_at = peers[i].probed_at;
				d->ping_ok = peers[i].ping_ok;
				d->rtt_us = peers[i].rtt_us;
				memcpy(d->ping_why, peers[i].ping_why, sizeof(d->ping_why));
			}
		}
		agent_state_publish(&ctx->state);
		pthread_mutex_unlock(&ctx->state.lock);
		free(peers);

		spent_ms = (meshnet_now_ns() - t0) / 1000000;
		agent_sleep_ms(ctx, spent_ms < period_ms ? (unsigned int)(period_ms - spent_ms) : 0);
	}
	return NULL;
}
