// SPDX-License-Identifier: GPL-2.0
/*
 * meshnet-epoch-time FILE.json ROUNDS [FLIPS]: applies the epoch of FILE (a config
 * reply, docs/PROTOCOL.md) ROUNDS times to the module of this netns, with
 * ids counting up from the current epoch, and prints how long each whole
 * transaction took (begin + batched set-peers + commit, the agent's path)
 * and how long the commit alone took (the table build + RCU swap). The JSON
 * is parsed once, before timing. Output lines:
 *   round=N peers=N messages=N txn_ms=F commit_ms=F
 *   median txn_ms=F commit_ms=F
 * With FLIPS, then applies FLIPS one-peer deltas (APPLY_DELTA, a verdict
 * change of a different peer each time) on the table and prints
 *   median flip_ms=F p90_ms=F min_ms=F max_ms=F peers=N
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "nl/meshnet_epoch.h"
#include "nl/meshnet_nl.h"

#define MAX_ROUNDS 1000

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	static double txn[MAX_ROUNDS], commit[MAX_ROUNDS], flip[MAX_ROUNDS];
	struct meshnet_epoch epoch = { 0 };
	struct meshnet_state state;
	struct meshnet_nl *nl;
	uint64_t next_id;
	char err[512];
	char *end;
	long rounds, flips = 0;
	int i, ret;

	if (argc != 3 && argc != 4) {
		fprintf(stderr, "usage: meshnet-epoch-time FILE.json ROUNDS [FLIPS]\n");
		return 2;
	}
	if (argc == 4) {
		flips = strtol(argv[3], &end, 10);
		if (*end || flips < 1 || flips > MAX_ROUNDS) {
			fprintf(stderr, "meshnet-epoch-time: bad FLIPS '%s' (1..%d)\n", argv[3],
				MAX_ROUNDS);
			return 2;
		}
	}
	rounds = strtol(argv[2], &end, 10);
	if (*end || rounds < 1 || rounds > MAX_ROUNDS) {
		fprintf(stderr, "meshnet-epoch-time: bad ROUNDS '%s' (1..%d)\n", argv[2], MAX_ROUNDS);
		return 2;
	}
	if (meshnet_epoch_parse_file(argv[1], &epoch, err, sizeof(err))) {
		fprintf(stderr, "meshnet-epoch-time: %s\n", err);
		return 2;
	}
	if (meshnet_nl_open(&nl, err, sizeof(err))) {
		fprintf(stderr, "meshnet-epoch-time: %s\n", err);
		meshnet_epoch_free(&epoch);
		return 1;
	}
	ret = meshnet_nl_get_state(nl, &state);
	next_id = state.epoch_id + 1;
	for (i = 0; !ret && i < rounds; i++) {
		double t0, t1, t2;

		/* The whole transaction, as meshnet-agent and meshnetctl run it. */
		epoch.id = next_id++;
		t0 = now_ms();
		ret = meshnet_nl_apply_epoch(nl, &epoch, false);
		t1 = now_ms();
		if (ret)
			break;
		txn[i] = t1 - t0;
		/* Again with the next id, timing the commit on its own. */
		epoch.id = next_id++;
		ret = meshnet_nl_epoch_begin(nl, epoch.id, epoch.expiry_unix, false);
		if (!ret)
			ret = meshnet_nl_epoch_set_peers(nl, epoch.peers, epoch.n_peers);
		t1 = now_ms();
		if (!ret)
			ret = meshnet_nl_epoch_commit(nl, epoch.id, epoch.self_verdict,
						      epoch.self_reason);
		t2 = now_ms();
		commit[i] = t2 - t1;
		if (!ret)
			printf("round=%d peers=%zu txn_ms=%.2f commit_ms=%.2f\n", i + 1,
			       epoch.n_peers, txn[i], commit[i]);
	}
	if (ret) {
		fprintf(stderr, "meshnet-epoch-time: %s\n", meshnet_nl_error(nl));
		meshnet_nl_close(nl);
		meshnet_epoch_free(&epoch);
		return 1;
	}
	for (i = 0; !ret && i < flips && epoch.n_peers; i++) {
		struct meshnet_peer *p = &epoch.peers[((size_t)i * 7919) % epoch.n_peers];
		struct meshnet_delta d = { 0 };
		double t0;

		ret = meshnet_nl_get_state(nl, &state);
		if (ret)
			break;
		p->verdict = p->verdict == MESHNET_VERDICT_DENIED ? MESHNET_VERDICT_ALLOWED :
								     MESHNET_VERDICT_DENIED;
		d.revision = state.revision + 1;
		d.verdicts = p;
		d.n_verdicts = 1;
		t0 = now_ms();
		ret = meshnet_nl_apply_delta(nl, &d);
		flip[i] = now_ms() - t0;
	}
	if (ret) {
		fprintf(stderr, "meshnet-epoch-time: %s\n", meshnet_nl_error(nl));
		meshnet_nl_close(nl);
		meshnet_epoch_free(&epoch);
		return 1;
	}
	if (flips) {
		qsort(flip, (size_t)flips, sizeof(double), cmp_double);
		printf("median flip_ms=%.3f p90_ms=%.3f min_ms=%.3f max_ms=%.3f peers=%zu\n",
		       flip[flips / 2], flip[(flips * 9) / 10], flip[0], flip[flips - 1],
		       epoch.n_peers);
	}
	qsort(txn, (size_t)rounds, sizeof(double), cmp_double);
	qsort(commit, (size_t)rounds, sizeof(double), cmp_double);
	printf("median txn_ms=%.2f commit_ms=%.2f\n", txn[rounds / 2], commit[rounds / 2]);
	meshnet_nl_close(nl);
	meshnet_epoch_free(&epoch);
	return 0;
}
