// SPDX-License-Identifier: MIT
/*
 * make bench-ha: release meshnetd (build/meshnetd) on PostgreSQL with one,
 * two and three controllers against one controller on a state directory
 * (both durable), in the same run: signed submissions/s (scores that flip
 * no verdict: plain records) and config replies/s, from CLIENTS threads
 * spread over the controllers, SECONDS each.
 *
 *   bench-ha OUT_FILE   (under scripts/pg-test-server.sh run: MESHNET_PG_URL)
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cluster.h"
#include "pgtest.h"

#define NODES 64
#define CLIENTS 8
#define SECONDS 5

struct load {
	struct cluster *cl;
	int n_ctl, id;
	bool config;		/* GET /v1/config instead of POST /v1/benchmarks */
	volatile bool *stop;
	long ok;
};

static void *load_main(void *arg)
{
	struct load *l = arg;
	unsigned int seed = (unsigned int)l->id * 2654435761u;

	while (!*l->stop) {
		int node = (int)(rand_r(&seed) % NODES), ctl = l->id % l->n_ctl;
		struct mn_response r;
		int ret = l->config ? cluster_config(l->cl, ctl, node, NULL, &r) :
				      cluster_submit(l->cl, ctl, node, 0.9, &r);

		if (!ret && r.status == 200)
			l->ok++;
		mn_response_free(&r);
	}
	return NULL;
}

static double rate(struct cluster *cl, int n_ctl, bool config)
{
	struct load l[CLIENTS];
	pthread_t t[CLIENTS];
	volatile bool stop = false;
	long total = 0;
	int i;

	for (i = 0; i < CLIENTS; i++) {
		l[i] = (struct load){ .cl = cl, .n_ctl = n_ctl, .id = i, .config = config,
				      .stop = &stop };
		pthread_create(&t[i], NULL, load_main, &l[i]);
	}
	sleep(SECONDS);
	stop = true;
	for (i = 0; i < CLIENTS; i++) {
		pthread_join(t[i], NULL);
		total += l[i].ok;
	}
	return (double)total / SECONDS;
}

/* Submissions/s and config replies/s with n_ctl controllers on store ("" = a directory). */
static int measure(const char *store, int n_ctl, double *subs, double *configs)
{
	struct cluster cl;
	struct mn_response r;
	int i, ret = -1;

	if (cluster_init(&cl, store, NODES))
		return -1;
	for (i = 0; i < n_ctl; i++) {
		if (cluster_start(&cl, i, NULL))
			goto out;
		cl.nodes_file[0] = '\0';
	}
	/* Everyone admitted first (those are revisions), then the plain load. */
	for (i = 0; i < NODES; i++) {
		cluster_submit(&cl, i % n_ctl, i, 0.9, &r);
		mn_response_free(&r);
	}
	sleep(2);
	*subs = rate(&cl, n_ctl, false);
	*configs = rate(&cl, n_ctl, true);
	ret = 0;
out:
	cluster_free(&cl);
	return ret;
}

int main(int argc, char **argv)
{
	double dir_s = 0, dir_c = 0, pg_s[4] = { 0 }, pg_c[4] = { 0 };
	char db[32], url[512];
	FILE *out;
	int n;

	if (argc != 2 || !pg_url()) {
		fprintf(stderr, "usage: bench-ha OUT_FILE (under scripts/pg-test-server.sh run)\n");
		return 2;
	}
	if (!getenv("MESHNETD")) {
		fprintf(stderr, "bench-ha: set MESHNETD to the release build/meshnetd\n");
		return 2;
	}
	if (measure("", 1, &dir_s, &dir_c))
		return 1;
	for (n = 1; n <= 3; n++) {
		snprintf(db, sizeof(db), "bench_ha_%d", n);
		if (pg_create_db(db, url, sizeof(url)) || measure(url, n, &pg_s[n], &pg_c[n]))
			return 1;
		pg_drop_db(db);
	}
	out = fopen(argv[1], "w");
	if (!out)
		return 1;
	fprintf(out, "# make bench-ha: %d nodes, %d client threads, %d s each, release meshnetd, "
		"durable on both stores; one 2-core machine runs PostgreSQL, the controllers "
		"and the clients\n", NODES, CLIENTS, SECONDS);
	fprintf(out, "baseline dir 1 controller: %.0f submissions/s, %.0f config replies/s\n",
		dir_s, dir_c);
	for (n = 1; n <= 3; n++)
		fprintf(out, "postgres %d controller(s): %.0f submissions/s (%.2fx dir), %.0f config "
			"replies/s (%.2fx dir)\n", n, pg_s[n], dir_s > 0 ? pg_s[n] / dir_s : 0,
			pg_c[n], dir_c > 0 ? pg_c[n] / dir_c : 0);
	fprintf(out, "goal three controllers >= 2x one on submissions/s: %s (%.2fx: %.0f vs %.0f/s)\n",
		pg_s[3] >= 2 * pg_s[1] ? "PASS" : "MISS", pg_s[1] > 0 ? pg_s[3] / pg_s[1] : 0,
		pg_s[3], pg_s[1]);
	fprintf(out, "goal failover p99 <= 3 s: MISS (not measured: the kill-and-wait-for-the-next-"
		"delta loop is not written yet)\n");
	fprintf(out, "goal quarantine through a failover <= 1 s after the surviving controller "
		"sees it: MISS (not measured through a failover; without one, controller-ha "
		"shows a quarantine submitted to one controller served by another after a few ms)\n");
	fclose(out);
	return 0;
}
