// SPDX-License-Identifier: MIT
/*
 * meshnetd on PostgreSQL with real processes: build/san/meshnetd (several
 * at once on one database), nodes signing their requests (client.c), the
 * real PostgreSQL 15 of scripts/pg-test-server.sh.
 *
 *   migration_keeps_every_node_verdict_and_the_audit_chain
 *       a state directory with enrolments, benchmarks, an override and a
 *       removal -> `meshnetd migrate` -> the database serves the same
 *       verdicts, `audit-verify` agrees on both; bad inputs refused.
 *   three_controllers_share_every_change
 *       changes through any controller served by the others; replay refused
 *       across controllers; the transparency log served by all three
 *       (same checkpoint, proofs from one verify against another's).
 *   kill9_under_a_flood_loses_nothing_acknowledged (HA_KILLS, default 20)
 *   two_controllers_racing_to_rotate_make_one_epoch_per_id
 *   postgres_restarted_under_load_503_then_recovered
 *   quarantine_during_a_failover_reaches_every_node
 *   submissions_on_two_controllers_do_not_wait_for_the_log_head
 *       signed submissions to two controllers all answered 200 while another
 *       session holds the log's head row; afterwards the log holds each one
 *       exactly once, in one tree both controllers serve.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/wait.h>

#include <json-c/json.h>
#include <libpq-fe.h>

#include "kselftest_harness.h"

#include "cluster.h"
#include "../../userspace/agent/http.h"
#include "fileio.h"
#include "tlog/checkpoint.h"
#include "tlog/merkle.h"
#include "pgtest.h"

/* "node-0001=ALLOWED,node-0002=DENIED,..." of a config reply's peers, in node order. */
static void peer_verdicts(const char *body, char *out, size_t cap)
{
	struct json_object *o = json_tokener_parse(body ? body : ""), *peers;
	char ids[256][48];
	size_t n = 0, i, j, off = 0;

	out[0] = '\0';
	if (!o || !json_object_object_get_ex(o, "peers", &peers) ||
	    !json_object_is_type(peers, json_type_array)) {
		json_object_put(o);
		return;
	}
	for (i = 0; i < json_object_array_length(peers) && n < 256; i++) {
		struct json_object *p = json_object_array_get_idx(peers, i), *id, *m;

		if (json_object_object_get_ex(p, "node_id", &id) &&
		    json_object_object_get_ex(p, "membership", &m))
			snprintf(ids[n++], sizeof(ids[0]), "%s=%s", json_object_get_string(id),
				 json_object_get_string(m));
	}
	for (i = 0; i < n; i++)	/* a few entries: insertion sort */
		for (j = i; j > 0 && strcmp(ids[j - 1], ids[j]) > 0; j--) {
			char t[48];

			memcpy(t, ids[j], sizeof(t));
			memcpy(ids[j], ids[j - 1], sizeof(t));
			memcpy(ids[j - 1], t, sizeof(t));
		}
	for (i = 0; i < n && off < cap; i++)
		off += (size_t)snprintf(out + off, cap - off, "%s,", ids[i]);
	json_object_put(o);
}

FIXTURE(ha) {
	char db[64];
	char url[512];
	struct cluster cl;
};

FIXTURE_SETUP(ha)
{
	static int seq;

	if (!pg_url())
		SKIP(return, "MESHNET_PG_URL is not set (run under scripts/pg-test-server.sh run)");
	{
		unsigned int h = 5381;
		const char *p;

		for (p = _metadata->name; *p; p++)
			h = h * 33 + (unsigned char)*p;
		snprintf(self->db, sizeof(self->db), "ha_%ld_%d_%u", (long)getpid(), seq++, h);
	}
	ASSERT_EQ(0, pg_create_db(self->db, self->url, sizeof(self->url)));
}

FIXTURE_TEARDOWN(ha)
{
	if (!pg_url())
		return;
	cluster_free(&self->cl);
	if (!getenv("KEEP_TEST_DIR"))
		pg_drop_db(self->db);
}

#define MIG_NODES 12

TEST_F_TIMEOUT(ha, migration_keeps_every_node_verdict_and_the_audit_chain, 180)
{
	struct cluster *cl = &self->cl;
	char before[4096], after[4096], out[8192], args[2048], dir_count[64], db_count[64];
	char bad_db[64], bad_url[512], *v, code[64];
	struct mn_response r;
	const char *p;
	int i;

	ASSERT_EQ(0, cluster_init(cl, "", MIG_NODES));
	/* 1. A controller on a state directory, as today. */
	ASSERT_EQ(0, cluster_start(cl, 0, NULL));
	for (i = 0; i < MIG_NODES; i++) {
		ASSERT_EQ(0, cluster_submit(cl, 0, i, i < 9 ? 0.9 : 0.3, &r));
		EXPECT_EQ(200, r.status);
		mn_response_free(&r);
	}
	ASSERT_EQ(0, cluster_admin(cl, 0, "PUT", "/v1/nodes/node-0000/override",
				   "{\"pin\":\"DENIED\"}", &r));
	EXPECT_EQ(200, r.status);
	mn_response_free(&r);
	ASSERT_EQ(0, cluster_admin(cl, 0, "DELETE", "/v1/nodes/node-0011", NULL, &r));
	EXPECT_EQ(200, r.status);
	mn_response_free(&r);
	ASSERT_EQ(0, cluster_config(cl, 0, 1, NULL, &r));
	ASSERT_EQ(200, r.status);
	peer_verdicts(r.body, before, sizeof(before));
	mn_response_free(&r);
	TH_LOG("before: %s", before);
	ASSERT_NE(NULL, strstr(before, "node-0000=DENIED"));
	ASSERT_NE(NULL, strstr(before, "node-0002=ALLOWED"));
	ASSERT_NE(NULL, strstr(before, "node-0009=DENIED"));
	ASSERT_EQ(NULL, strstr(before, "node-0011"));
	ASSERT_EQ(0, WIFEXITED(cluster_stop(cl, 0, SIGTERM)) ? 0 : -1);

	/* 2. Bad inputs change nothing. */
	snprintf(args, sizeof(args), "migrate %s dir:%s", self->url, cl->c[0].state);
	EXPECT_EQ(2, cluster_run(cl, args, out, sizeof(out)));
	EXPECT_NE(NULL, strstr(out, "TO must be postgres://"));
	snprintf(args, sizeof(args), "migrate dir:%s", cl->c[0].state);
	EXPECT_EQ(2, cluster_run(cl, args, out, sizeof(out)));
	/* A damaged audit log is refused, and the database stays empty. */
	snprintf(bad_db, sizeof(bad_db), "%s_bad", self->db);
	ASSERT_EQ(0, pg_create_db(bad_db, bad_url, sizeof(bad_url)));
	snprintf(args, sizeof(args), "-c \"cp -r '%s' '%s/damaged' && "
		 "sed -i '2s/\\\"type\\\"/\\\"tipe\\\"/' '%s/damaged/tlog/records-000000.jsonl'\"",
		 cl->c[0].state, cl->dir, cl->dir);
	{
		char cmd[2200];

		snprintf(cmd, sizeof(cmd), "sh %s", args);
		ASSERT_EQ(0, system(cmd));
	}
	snprintf(args, sizeof(args), "migrate dir:%s/damaged %s --store-key-file %s", cl->dir,
		 bad_url, cl->key_file);
	EXPECT_EQ(1, cluster_run(cl, args, out, sizeof(out)));
	EXPECT_NE(NULL, strstr(out, "damaged"));
	/* (refused before it was opened: not even the schema was created) */
	v = sql_value(bad_url, "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'");
	EXPECT_STREQ("0", v ? v : "(none)");
	free(v);
	pg_drop_db(bad_db);

	/* 3. The migration. */
	snprintf(args, sizeof(args), "migrate dir:%s %s --store-key-file %s", cl->c[0].state,
		 self->url, cl->key_file);
	ASSERT_EQ(0, cluster_run(cl, args, out, sizeof(out)));
	p = strstr(out, "migrated 11 node(s) (8 ALLOWED, 3 DENIED)");
	EXPECT_NE(NULL, p);
	TH_LOG("%s", p ? p : out);
	/* Again: the database is not empty any more. */
	EXPECT_EQ(1, cluster_run(cl, args, out, sizeof(out)));
	EXPECT_NE(NULL, strstr(out, "not empty"));
	if (!strstr(out, "not empty"))
		TH_LOG("%s", out);

	/* 4. The same audit chain on both sides. */
	snprintf(args, sizeof(args), "audit-verify %s", cl->c[0].state);
	ASSERT_EQ(0, cluster_run(cl, args, out, sizeof(out)));
	p = strstr(out, "OK, ");
	ASSERT_NE(NULL, p);
	snprintf(dir_count, sizeof(dir_count), "%.*s", (int)strcspn(p + 4, " "), p + 4);
	/* Without the controller's public key a database log is not checked. */
	snprintf(args, sizeof(args), "audit-verify '%s'", self->url);
	EXPECT_EQ(2, cluster_run(cl, args, out, sizeof(out)));
	EXPECT_NE(NULL, strstr(out, "--key"));
	snprintf(args, sizeof(args), "audit-verify '%s' --key %s/controller.pub", self->url,
		 cl->c[0].state);
	ASSERT_EQ(0, cluster_run(cl, args, out, sizeof(out))) TH_LOG("%s", out);
	p = strstr(out, "OK, ");
	ASSERT_NE(NULL, p);
	snprintf(db_count, sizeof(db_count), "%.*s", (int)strcspn(p + 4, " "), p + 4);
	EXPECT_STREQ(dir_count, db_count);
	TH_LOG("audit records: %s in the directory, %s in the database", dir_count, db_count);
	/* The same tree: the database's checkpoint is the directory's, byte for byte. */
	v = sql_value(self->url, "SELECT tlog_checkpoint FROM store_head");
	{
		char path[PATH_MAX], *cp;
		size_t len;

		snprintf(path, sizeof(path), "%s/tlog/checkpoint", cl->c[0].state);
		cp = meshnet_read_file(path, 4096, &len);
		EXPECT_STREQ(cp ? cp : "(no file)", v ? v : "(none)");
		free(cp);
	}
	free(v);
	/* Tampering with a record in the database is caught. */
	ASSERT_EQ(0, sql(self->url, "UPDATE tlog_records SET record = replace(record, "
			 "'\"type\"', '\"tipe\"') WHERE idx = 2"));
	EXPECT_EQ(1, cluster_run(cl, args, out, sizeof(out)));
	EXPECT_NE(NULL, strstr(out, "record 2: changed after it was logged"));
	ASSERT_EQ(0, sql(self->url, "UPDATE tlog_records SET record = replace(record, "
			 "'\"tipe\"', '\"type\"') WHERE idx = 2"));
	EXPECT_EQ(0, cluster_run(cl, args, out, sizeof(out)));
	/* meshnetd audit export writes a log directory that audit-verify checks. */
	snprintf(args, sizeof(args), "audit export '%s' %s/export", self->url, cl->dir);
	ASSERT_EQ(0, cluster_run(cl, args, out, sizeof(out)));
	EXPECT_EQ(2, cluster_run(cl, args, out, sizeof(out)));	/* exists: refused */
	snprintf(args, sizeof(args), "audit-verify %s/export --key %s/controller.pub", cl->dir,
		 cl->c[0].state);
	EXPECT_EQ(0, cluster_run(cl, args, out, sizeof(out)));
	snprintf(args, sizeof(args), "audit-verify '%s' --key %s/controller.pub", self->url,
		 cl->c[0].state);

	/*
	 * 5. A controller on the database serves what the directory served; it
	 * continues the log with the same statement key (another key is refused).
	 */
	snprintf(cl->store, sizeof(cl->store), "%s", self->url);
	cl->nodes_file[0] = '\0';
	EXPECT_NE(0, cluster_start(cl, 1, NULL));
	cluster_stop(cl, 1, SIGKILL);	/* (it has exited: reaped) */
	{
		char key[PATH_MAX + 16], log_text[8192];
		FILE *f;
		size_t len;

		f = fopen(cl->c[1].log, "r");
		len = f ? fread(log_text, 1, sizeof(log_text) - 1, f) : 0;
		log_text[len] = '\0';
		if (f)
			fclose(f);
		EXPECT_NE(NULL, strstr(log_text, "does not verify with this controller's key"));
		snprintf(key, sizeof(key), "%s/controller.key", cl->c[0].state);
		ASSERT_EQ(0, link(key, cl->controller_key));
		snprintf(key, sizeof(key), "%s/controller.key", cl->c[1].state);
		unlink(key);
	}
	cl->nodes_file[0] = '\0';	/* everything comes from the database */
	ASSERT_EQ(0, cluster_start(cl, 1, NULL));
	ASSERT_EQ(0, cluster_config(cl, 1, 1, NULL, &r));
	ASSERT_EQ(200, r.status);
	peer_verdicts(r.body, after, sizeof(after));
	mn_response_free(&r);
	EXPECT_STREQ(before, after);
	ASSERT_EQ(0, cluster_config(cl, 1, 9, NULL, &r));
	EXPECT_EQ(403, r.status);
	mn_response_free(&r);
	/* The removed node is unknown there too (answered like a bad signature). */
	ASSERT_EQ(0, cluster_config(cl, 1, 11, NULL, &r));
	EXPECT_EQ(401, r.status);
	EXPECT_STREQ("bad_signature", mn_error_code(&r, code, sizeof(code)));
	mn_response_free(&r);
}

/* The membership node `peer` has in `observer`'s config from controller ctl ("" if none). */
static void membership_seen(struct cluster *cl, int ctl, int observer, int peer, char *out,
			    size_t cap)
{
	struct mn_response r;
	char all[8192], key[48], *p;

	out[0] = '\0';
	if (cluster_config(cl, ctl, observer, NULL, &r) || r.status != 200) {
		mn_response_free(&r);
		return;
	}
	peer_verdicts(r.body, all, sizeof(all));
	mn_response_free(&r);
	snprintf(key, sizeof(key), "%s=", cl->ids[peer]);
	p = strstr(all, key);
	if (p)
		snprintf(out, cap, "%.*s", (int)strcspn(p + strlen(key), ","), p + strlen(key));
}

static int64_t wait_membership(struct cluster *cl, int ctl, int observer, int peer,
			       const char *want, int timeout_ms)
{
	int64_t t0 = ms_now();
	char got[32];

	while (ms_now() - t0 < timeout_ms) {
		membership_seen(cl, ctl, observer, peer, got, sizeof(got));
		if (!strcmp(got, want))
			return ms_now() - t0;
		usleep(20000);
	}
	return -1;
}

static int start_cluster(void *self_unused, struct cluster *cl, const char *url, int n_ctl,
			 int n_nodes)
{
	int i;

	(void)self_unused;
	if (cluster_init(cl, url, n_nodes))
		return -1;
	for (i = 0; i < n_ctl; i++) {
		if (cluster_start(cl, i, NULL))
			return -1;
		cl->nodes_file[0] = '\0';	/* the first enrols them; the others load */
	}
	return 0;
}

/*
 * The transparency log on the database: every controller serves the same
 * signed checkpoint, and an inclusion proof from one controller verifies
 * against the checkpoint another serves.
 */
static void log_served_by_every_controller(struct __test_metadata *_metadata,
					   struct cluster *cl)
{
	char cp[3][4096], target[128];
	struct mn_conn conn;
	struct mn_response r;
	struct json_object *o, *v;
	int i, tries;

	for (tries = 0; tries < 100; tries++) {
		for (i = 0; i < 3; i++) {
			ASSERT_EQ(0, mn_connect(&conn, cl->c[i].port, NULL));
			ASSERT_EQ(0, mn_request(&conn, "GET", "/v1/log/checkpoint", NULL, NULL, 0,
						&r));
			mn_close(&conn);
			ASSERT_EQ(200, r.status);
			snprintf(cp[i], sizeof(cp[i]), "%s", r.body ? r.body : "");
			mn_response_free(&r);
		}
		if (!strcmp(cp[0], cp[1]) && !strcmp(cp[1], cp[2]))
			break;
		usleep(50 * 1000);	/* one of them has not heard of the last commit yet */
	}
	EXPECT_STREQ(cp[0], cp[1]);
	EXPECT_STREQ(cp[1], cp[2]);
	ASSERT_NE(NULL, strstr(cp[0], "meshnetd/"));
	TH_LOG("checkpoint served by all three: %.*s", (int)strcspn(cp[0], "\n"), cp[0]);
	/* Record 1 through controller 2, proof for the tree of controller 0's checkpoint. */
	ASSERT_EQ(0, mn_connect(&conn, cl->c[2].port, NULL));
	ASSERT_EQ(0, mn_request(&conn, "GET", "/v1/log/records?start=1&end=2", NULL, NULL, 0, &r));
	EXPECT_EQ(200, r.status);
	EXPECT_NE(NULL, r.body ? strstr(r.body, "\"index\":1,") : NULL);
	mn_response_free(&r);
	snprintf(target, sizeof(target), "/v1/log/proof/inclusion?index=1");
	ASSERT_EQ(0, mn_request(&conn, "GET", target, NULL, NULL, 0, &r));
	mn_close(&conn);
	EXPECT_EQ(200, r.status);
	o = r.body ? json_tokener_parse(r.body) : NULL;
	ASSERT_NE(NULL, o);
	if (o) {
		struct tlog_checkpoint c;
		tlog_hash proof[TLOG_MAX_PROOF];
		uint8_t leaf[TLOG_HASH_LEN];
		const char *blank = strstr(cp[0], "\n\n");
		size_t n = 0, k;

		ASSERT_NE(NULL, blank);
		ASSERT_EQ(0, tlog_checkpoint_parse(cp[0], (size_t)(blank - cp[0]) + 1, &c));
		ASSERT_TRUE(json_object_object_get_ex(o, "leaf_hash", &v));
		ASSERT_EQ(0, tlog_hash_from_b64(leaf, json_object_get_string(v)));
		ASSERT_TRUE(json_object_object_get_ex(o, "proof", &v));
		n = json_object_array_length(v);
		ASSERT_GE(TLOG_MAX_PROOF, n);
		for (k = 0; k < n; k++)
			ASSERT_EQ(0, tlog_hash_from_b64(proof[k], json_object_get_string(
				json_object_array_get_idx(v, k))));
		EXPECT_EQ(0, tlog_verify_inclusion(1, c.size, leaf, proof, n, c.root));
		TH_LOG("inclusion proof of record 1 in the tree of %llu from controller 2: %zu "
		       "hashes, verifies against controller 0's checkpoint",
		       (unsigned long long)c.size, n);
	}
	json_object_put(o);
	mn_response_free(&r);
	/* Bad input: a proof beyond the log. */
	ASSERT_EQ(0, mn_connect(&conn, cl->c[1].port, NULL));
	ASSERT_EQ(0, mn_request(&conn, "GET", "/v1/log/proof/inclusion?index=999999", NULL, NULL,
				0, &r));
	mn_close(&conn);
	EXPECT_EQ(400, r.status);
	mn_response_free(&r);
}

#define SHARE_NODES 6

TEST_F_TIMEOUT(ha, three_controllers_share_every_change, 180)
{
	struct cluster *cl = &self->cl;
	char hdrs[1024], body[512], target[128], code[64], *v, want[1024];
	struct mn_conn conn;
	struct mn_response r;
	int64_t ms;
	int i;

	ASSERT_EQ(0, start_cluster(NULL, cl, self->url, 3, SHARE_NODES));
	/* Every node admitted through controller 0; seen on 1 and 2. */
	for (i = 0; i < SHARE_NODES; i++) {
		ASSERT_EQ(0, cluster_submit(cl, i % 3, i, 0.9, &r));
		EXPECT_EQ(200, r.status);
		mn_response_free(&r);
	}
	ms = wait_membership(cl, 2, 0, 5, "ALLOWED", 10000);
	EXPECT_LE(0, ms);
	/* A quarantine submitted to controller 0 reaches a node asking controller 2. */
	ASSERT_EQ(0, cluster_submit(cl, 0, 3, 0.2, &r));
	EXPECT_EQ(200, r.status);
	mn_response_free(&r);
	ms = wait_membership(cl, 2, 0, 3, "DENIED", 10000);
	EXPECT_LE(0, ms);
	TH_LOG("a quarantine submitted to controller 0 was served by controller 2 after %lld ms",
	       (long long)ms);
	ms = wait_membership(cl, 1, 1, 3, "DENIED", 10000);
	EXPECT_LE(0, ms);

	/* An admin override on 1 is seen on 0. */
	ASSERT_EQ(0, cluster_admin(cl, 1, "PUT", "/v1/nodes/node-0004/override",
				   "{\"pin\":\"DENIED\"}", &r));
	EXPECT_EQ(200, r.status);
	mn_response_free(&r);
	EXPECT_LE(0, wait_membership(cl, 0, 0, 4, "DENIED", 10000));

	/* A signed request accepted by controller 0 is refused by controller 1 (replay). */
	mn_bench_body(body, sizeof(body), cl->ids[1], "poc-0.1", 0.9, time(NULL));
	snprintf(target, sizeof(target), "/v1/benchmarks/%s", cl->ids[1]);
	ASSERT_EQ(0, mn_sign_headers(hdrs, sizeof(hdrs), cl->keys[1], cl->ids[1], "POST", target,
				     body, strlen(body), time(NULL)));
	ASSERT_EQ(0, mn_connect(&conn, cl->c[0].port, NULL));
	ASSERT_EQ(0, mn_request(&conn, "POST", target, hdrs, body, strlen(body), &r));
	EXPECT_EQ(200, r.status);
	mn_response_free(&r);
	mn_close(&conn);
	ASSERT_EQ(0, mn_connect(&conn, cl->c[1].port, NULL));
	ASSERT_EQ(0, mn_request(&conn, "POST", target, hdrs, body, strlen(body), &r));
	EXPECT_EQ(409, r.status);
	EXPECT_STREQ("replay", mn_error_code(&r, code, sizeof(code)));
	mn_response_free(&r);
	mn_close(&conn);

	/* One revision log, no gap, no double; one epoch per id. */
	v = sql_value(self->url, "SELECT (SELECT rev FROM store_head) = (SELECT count(*) FROM "
		      "revisions) AND (SELECT count(*) FROM revisions) = (SELECT max(rev) FROM "
		      "revisions) AND (SELECT count(*) FROM epochs) = (SELECT max(id) FROM epochs)");
	EXPECT_STREQ("t", v ? v : "(none)");
	free(v);
	snprintf(want, sizeof(want), "audit-verify '%s' --key %s/controller.pub", self->url,
		 cl->c[0].state);
	{
		char out[2048];

		EXPECT_EQ(0, cluster_run(cl, want, out, sizeof(out)));
		TH_LOG("%s", out);
	}
	log_served_by_every_controller(_metadata, cl);
}

/* ---- a flood of signed submissions from many nodes, to any controller ---- */

#define FLOOD_NODES 24
#define FLOOD_THREADS 4

struct flood {
	struct cluster *cl;
	int n_ctl;
	volatile bool stop;
	long acked[FLOOD_NODES];	/* 200s per node */
	long refused_5xx, failed;
	pthread_mutex_t lock;
	int id;
};

static void *flood_main(void *arg)
{
	struct flood *f = ((struct flood **)arg)[0];
	int id = (int)(intptr_t)((void **)arg)[1];
	unsigned int seed = (unsigned int)(id * 7919 + 1);

	while (!f->stop) {
		int node = id + FLOOD_THREADS * (int)(rand_r(&seed) % (FLOOD_NODES / FLOOD_THREADS));
		int ctl = (int)(rand_r(&seed) % (unsigned int)f->n_ctl);
		double score = rand_r(&seed) % 4 ? 0.9 : 0.3;
		struct mn_response r;

		if (cluster_submit(f->cl, ctl, node, score, &r) || r.status == 0) {
			__atomic_fetch_add(&f->failed, 1, __ATOMIC_RELAXED);
			usleep(20000);
		} else if (r.status == 200) {
			__atomic_fetch_add(&f->acked[node], 1, __ATOMIC_RELAXED);
		} else if (r.status >= 500) {
			__atomic_fetch_add(&f->refused_5xx, 1, __ATOMIC_RELAXED);
		}
		mn_response_free(&r);
	}
	return NULL;
}

static void flood_start(struct flood *f, pthread_t *t, void *args[][2])
{
	int i;

	for (i = 0; i < FLOOD_THREADS; i++) {
		args[i][0] = f;
		args[i][1] = (void *)(intptr_t)i;
		pthread_create(&t[i], NULL, flood_main, args[i]);
	}
}

static void flood_stop(struct flood *f, pthread_t *t)
{
	int i;

	f->stop = true;
	for (i = 0; i < FLOOD_THREADS; i++)
		pthread_join(t[i], NULL);
}

/*
 * The log holds every committed benchmark exactly once: once the sequencers
 * drained tlog_pending, each node's "benchmark" leaves are as many as its
 * benchmark rows (both are written in one transaction), and the leaves are
 * 0..size-1 under the head. Returns the number of benchmark leaves (-1 bad).
 */
static long log_holds_every_benchmark_once(struct __test_metadata *_metadata, const char *url)
{
	int64_t t0 = ms_now();
	char *v = NULL;
	long n = -1;

	while (ms_now() - t0 < 20000) {
		free(v);
		v = sql_value(url, "SELECT count(*) FROM tlog_pending");
		if (v && !strcmp(v, "0"))
			break;
		usleep(50000);
	}
	EXPECT_STREQ("0", v ? v : "(none)");
	free(v);
	v = sql_value(url, "SELECT count(*) FROM (SELECT node_id, count(*) AS n FROM benchmarks "
		      "GROUP BY node_id) b FULL JOIN (SELECT record::json->>'node_id' AS node_id, "
		      "count(*) AS n FROM tlog_records WHERE record::json->>'type' = 'benchmark' "
		      "GROUP BY 1) l USING (node_id) WHERE b.n IS DISTINCT FROM l.n");
	EXPECT_STREQ("0", v ? v : "(none)");	/* nodes whose counts differ */
	free(v);
	v = sql_value(url, "SELECT (SELECT count(*) FROM tlog_records) = (SELECT tlog_size FROM "
		      "store_head) AND (SELECT coalesce(max(idx) + 1, 0) FROM tlog_records) = "
		      "(SELECT tlog_size FROM store_head) AND (SELECT bool_and((record::json->>"
		      "'index')::bigint = idx) FROM tlog_records)");
	EXPECT_STREQ("t", v ? v : "(none)");
	free(v);
	v = sql_value(url, "SELECT count(*) FROM tlog_records WHERE record::json->>'type' = "
		      "'benchmark'");
	if (v)
		n = atol(v);
	free(v);
	return n;
}

/* Everything acknowledged is in the database; one revision log; one epoch per id; audit ok. */
static int check_database(struct __test_metadata *_metadata, struct cluster *cl, const char *url,
			  const struct flood *f)
{
	char stmt[256], out[4096], *v;
	long total = 0, missing = 0;
	int i;

	for (i = 0; i < FLOOD_NODES; i++) {
		snprintf(stmt, sizeof(stmt), "SELECT count(*) FROM benchmarks WHERE node_id = '%s'",
			 cl->ids[i]);
		v = sql_value(url, stmt);
		if (!v || atol(v) < f->acked[i]) {
			TH_LOG("%s: %ld acknowledged, %s in the database", cl->ids[i], f->acked[i],
			       v ? v : "?");
			missing++;
		}
		total += f->acked[i];
		free(v);
	}
	EXPECT_EQ(0, missing);
	/*
	 * Epochs: ids unique, each row named by its own "epoch" revision, the newest
	 * one stored. (Two rotations in one group commit store only the second
	 * secret: the first was superseded before any reply carried it.)
	 */
	v = sql_value(url, "SELECT (SELECT rev FROM store_head) || ' ' || (SELECT count(*) FROM "
		      "revisions) || ' ' || (SELECT coalesce(max(rev), 0) FROM revisions) || ' ' || "
		      "(SELECT count(*) FROM epochs) || ' ' || (SELECT count(DISTINCT id) FROM epochs) "
		      "|| ' ' || (SELECT count(*) FROM epochs e JOIN revisions r ON r.rev = e.rev WHERE "
		      "r.kind = 'epoch' AND (r.record::json->>'epoch')::bigint = e.id) || ' ' || "
		      "((SELECT max(id) FROM epochs) = (SELECT max((record::json->>'epoch')::bigint) "
		      "FROM revisions WHERE kind = 'epoch'))::int");
	TH_LOG("%ld submissions acknowledged; head, revisions, max rev, epochs, distinct ids, "
	       "epochs named by their revision, newest stored: %s",
	       total, v ? v : "?");
	{
		unsigned long long head = 0, n = 0, max = 0, ne = 0, nd = 0, mx = 0;

		unsigned long long named = 0;

		EXPECT_EQ(7, v ? sscanf(v, "%llu %llu %llu %llu %llu %llu %llu", &head, &n, &max, &ne,
					&nd, &named, &mx) : 0);
		EXPECT_EQ(head, n);	/* no revision lost ... */
		EXPECT_EQ(head, max);	/* ... or twice */
		EXPECT_EQ(ne, nd);	/* one epoch per id */
		EXPECT_EQ(ne, named);
		EXPECT_EQ(1, mx);
	}
	free(v);
	TH_LOG("benchmark leaves in the log, each once: %ld",
	       log_holds_every_benchmark_once(_metadata, url));
	snprintf(stmt, sizeof(stmt), "audit-verify '%s' --key %s/controller.pub", url,
		 cl->c[0].state);
	EXPECT_EQ(0, cluster_run(cl, stmt, out, sizeof(out)));
	if (out[0]) {
		const char *ok = strstr(out, ": OK, "), *p;

		TH_LOG("audit-verify: %.*s", ok ? (int)strcspn(ok, "\n") : 200, ok ? ok : out);
		/* Failed: the lines that say why (not the verdicts it re-checked). */
		for (p = out; !ok && *p; p += strcspn(p, "\n") + (p[strcspn(p, "\n")] != 0)) {
			unsigned long long idx;
			char node[32], q[512], *rows;

			if (memmem(p, strcspn(p, "\n"), " re-checked", 11) ||
			    !strncmp(p, "[meshnet]", 9))
				continue;
			TH_LOG("  %.*s", (int)strcspn(p, "\n"), p);
			/* A record it refused: that node's records up to it, as stored. */
			if (sscanf(p, "record %llu: %31s ", &idx, node) != 2)
				continue;
			snprintf(q, sizeof(q), "SELECT string_agg(idx || ' ' || left(record, 400) || "
				 "' [rev ' || coalesce(rev::text, '-') || ']', E'\n' ORDER BY idx) "
				 "FROM (SELECT * FROM tlog_records WHERE record::json->>'node_id' = "
				 "'%s' AND idx <= %llu ORDER BY idx DESC LIMIT 6) t", node, idx);
			rows = sql_value(url, q);
			TH_LOG("%s's records up to %llu:\n%s", node, idx, rows ? rows : "?");
			free(rows);
		}
	}
	return (int)missing;
}

/*
 * Every controller serves the same verdicts (after they have caught up).
 * The flood denies random nodes, and a DENIED node's own config is a 403 by
 * design, so the observer is the first node controller 0 still serves.
 */
static void same_verdicts_everywhere(struct __test_metadata *_metadata, struct cluster *cl,
				     int n_ctl)
{
	char first[8192] = "", other[8192] = "";
	int observer = -1, status = 0, i, ok = 0;
	struct mn_response r;
	int64_t t0 = ms_now();

	while (!ok && ms_now() - t0 < 15000) {
		observer = -1;
		for (i = 0; i < FLOOD_NODES && observer < 0; i++) {
			if (!cluster_config(cl, 0, i, NULL, &r) && r.status == 200) {
				observer = i;
				peer_verdicts(r.body, first, sizeof(first));
			}
			status = r.status;
			mn_response_free(&r);
		}
		ok = observer >= 0;
		for (i = 1; ok && i < n_ctl; i++) {
			other[0] = '\0';
			if (cluster_config(cl, i, observer, NULL, &r) || r.status != 200)
				ok = 0;
			else
				peer_verdicts(r.body, other, sizeof(other));
			status = r.status;
			mn_response_free(&r);
			if (ok && strcmp(first, other))
				ok = 0;
		}
		if (!ok)
			usleep(200000);
	}
	EXPECT_TRUE(ok);
	if (!ok)
		TH_LOG("observer %d (last status %d): controller 0 serves %s\nanother serves %s",
		       observer, status, first, other);
}

static void kill9_run(struct __test_metadata *_metadata, struct cluster *cl, const char *url,
		      int kills)
{
	struct flood f = { .cl = cl, .n_ctl = 3 };
	void *args[FLOOD_THREADS][2];
	pthread_t t[FLOOD_THREADS];
	unsigned int seed = 42;
	int64_t t0 = ms_now();
	struct mn_response r;
	int k, restarts_failed = 0;

	ASSERT_EQ(0, start_cluster(NULL, cl, url, 3, FLOOD_NODES));
	ASSERT_EQ(0, cluster_admin(cl, 0, "PUT", "/v1/nodes/node-0000/override",
				   "{\"pin\":\"ALLOWED\"}", &r));
	mn_response_free(&r);
	flood_start(&f, t, args);
	for (k = 0; k < kills; k++) {
		int victim = (int)(rand_r(&seed) % 3);

		usleep(150000 + rand_r(&seed) % 400000);
		cluster_stop(cl, victim, SIGKILL);
		if (cluster_start(cl, victim, NULL))
			restarts_failed++;
	}
	usleep(500000);
	flood_stop(&f, t);
	TH_LOG("%d kill -9 in %.1f s; %ld refused 5xx, %ld connections failed (the killed ones)",
	       kills, (ms_now() - t0) / 1000.0, f.refused_5xx, f.failed);
	EXPECT_EQ(0, restarts_failed);
	same_verdicts_everywhere(_metadata, cl, 3);
	check_database(_metadata, cl, url, &f);
}

TEST_F_TIMEOUT(ha, kill9_under_a_flood_loses_nothing_acknowledged, 600)
{
	const char *env = getenv("HA_KILLS");

	/*
	 * make check: 20 kills (about 15 s); make controller-ha-torture: 50
	 * (HA_KILLS=N). After the kills every controller must serve the same
	 * verdicts: they did not while a controller's benchmark batches
	 * (committed without the write lock) waited for the head row held by
	 * its own next batch, and while decisions under the lock were taken on
	 * benchmarks it had not polled yet.
	 */
	if (!env || !*env)
		env = "20";
	kill9_run(_metadata, &self->cl, self->url, atoi(env));
}

struct rotator {
	struct cluster *cl;
	int ctl, n, ok, other;
};

static void *rotate_main(void *arg)
{
	struct rotator *r = arg;
	int i;

	for (i = 0; i < r->n; i++) {
		struct mn_response resp;

		if (!cluster_admin(r->cl, r->ctl, "POST", "/v1/rotate", "", &resp) &&
		    resp.status == 200)
			r->ok++;
		else
			r->other++;
		mn_response_free(&resp);
	}
	return NULL;
}

TEST_F_TIMEOUT(ha, two_controllers_racing_to_rotate_make_one_epoch_per_id, 300)
{
	struct cluster *cl = &self->cl;
	const char *env = getenv("HA_ROTATIONS");
	int total = env && *env ? atoi(env) : 1000, i, before;
	struct rotator r[2];
	pthread_t t[2];
	int64_t t0;
	char *v;

	ASSERT_EQ(0, start_cluster(NULL, cl, self->url, 2, 2));
	v = sql_value(self->url, "SELECT count(*) FROM epochs");
	before = v ? atoi(v) : 0;
	free(v);
	t0 = ms_now();
	for (i = 0; i < 2; i++) {
		r[i] = (struct rotator){ .cl = cl, .ctl = i, .n = total / 2 };
		ASSERT_EQ(0, pthread_create(&t[i], NULL, rotate_main, &r[i]));
	}
	for (i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	TH_LOG("%d rotations (%d on controller 0, %d on 1) in %.1f s", r[0].ok + r[1].ok, r[0].ok,
	       r[1].ok, (ms_now() - t0) / 1000.0);
	EXPECT_EQ(total, r[0].ok + r[1].ok);
	v = sql_value(self->url, "SELECT count(*) || ' ' || count(DISTINCT id) || ' ' || max(id) || "
		      "' ' || count(DISTINCT rev) FROM epochs");
	{
		int n = 0, d = 0, mx = 0, dr = 0;

		ASSERT_EQ(4, v ? sscanf(v, "%d %d %d %d", &n, &d, &mx, &dr) : 0);
		TH_LOG("epochs: %d rows, %d distinct ids, max id %d, %d distinct revisions", n, d, mx,
		       dr);
		EXPECT_EQ(before + total, n);
		EXPECT_EQ(n, d);
		EXPECT_EQ(n, mx);
		EXPECT_EQ(n, dr);
	}
	free(v);
	/* Both controllers serve the newest epoch (once the last NOTIFY was replayed). */
	for (i = 0; i < 2; i++) {
		struct mn_response resp;
		char want[32];
		int64_t t1 = ms_now();
		bool seen = false;

		snprintf(want, sizeof(want), "\"id\":%d", before + r[0].ok + r[1].ok);
		while (!seen && ms_now() - t1 < 10000) {
			ASSERT_EQ(0, mn_do(cl->c[i].port, "GET", "/v1/epoch", "", NULL, &resp));
			seen = resp.body && strstr(resp.body, want);
			mn_response_free(&resp);
			if (!seen)
				usleep(20 * 1000);
		}
		EXPECT_TRUE(seen) TH_LOG("controller %d does not serve epoch %s", i, want);
	}
}

/*
 * PostgreSQL stopped and started again under a flood: meanwhile every
 * controller still up answers 503 with a JSON error (storage_unavailable,
 * Retry-After); after the restart they recover by themselves. A controller
 * whose commit was cut off exits 75 (documented: its memory may be ahead of
 * the database) and is restarted here as a supervisor would. Nothing
 * acknowledged is lost.
 */
TEST_F_TIMEOUT(ha, postgres_restarted_under_load_503_then_recovered, 300)
{
	struct cluster *cl = &self->cl;
	struct flood f = { .cl = cl, .n_ctl = 3 };
	void *args[FLOOD_THREADS][2];
	pthread_t t[FLOOD_THREADS];
	struct mn_response r;
	char code[64];
	int64_t t0, up_ms = -1;
	int i, exited = 0, answered_503 = 0, ok_after = 0;

	if (!getenv("MESHNET_PG_DIR"))
		SKIP(return, "no server to restart (MESHNET_PG_DIR)");
	ASSERT_EQ(0, start_cluster(NULL, cl, self->url, 3, FLOOD_NODES));
	flood_start(&f, t, args);
	usleep(1500 * 1000);
	ASSERT_EQ(0, pg_server("stop"));
	t0 = ms_now();
	/* Down: each controller still running answers 503 with a JSON error at once. */
	usleep(300 * 1000);
	for (i = 0; i < 3; i++) {
		int status;

		if (waitpid(cl->c[i].pid, &status, WNOHANG) == cl->c[i].pid) {
			cl->c[i].pid = 0;
			EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 75);
			exited++;
			continue;
		}
		if (cluster_submit(cl, i, i, 0.9, &r) || r.status == 0) {
			mn_response_free(&r);
			continue;	/* exiting right now */
		}
		EXPECT_EQ(503, r.status);
		EXPECT_STREQ("storage_unavailable", mn_error_code(&r, code, sizeof(code)));
		EXPECT_NE(NULL, strcasestr(r.headers, "Retry-After:"));
		answered_503 += r.status == 503;
		mn_response_free(&r);
	}
	usleep(1500 * 1000);
	ASSERT_EQ(0, pg_server("start"));
	TH_LOG("PostgreSQL was down for %lld ms; %d controller(s) answered 503 meanwhile",
	       (long long)(ms_now() - t0), answered_503);
	/* Back: the ones still running recover by themselves; the supervisor restarts the rest. */
	t0 = ms_now();
	for (i = 0; i < 3; i++) {
		int status;

		if (cl->c[i].pid && waitpid(cl->c[i].pid, &status, WNOHANG) == cl->c[i].pid) {
			cl->c[i].pid = 0;
			EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 75);
			exited++;
		}
		if (!cl->c[i].pid)
			EXPECT_EQ(0, cluster_start(cl, i, NULL));
	}
	while (ok_after < 3 && ms_now() - t0 < 60000) {
		ok_after = 0;
		for (i = 0; i < 3; i++) {
			if (!cluster_submit(cl, i, FLOOD_NODES - 1 - i, 0.9, &r) && r.status == 200)
				ok_after++;
			mn_response_free(&r);
		}
		if (ok_after < 3)
			usleep(100 * 1000);
	}
	up_ms = ms_now() - t0;
	EXPECT_EQ(3, ok_after);
	usleep(500 * 1000);
	flood_stop(&f, t);
	TH_LOG("all three accept submissions again %lld ms after the restart; %d exited 75 "
	       "(a commit cut off) and were restarted; %ld refused 5xx, %ld connections failed",
	       (long long)up_ms, exited, f.refused_5xx, f.failed);
	same_verdicts_everywhere(_metadata, cl, 3);
	check_database(_metadata, cl, self->url, &f);
}

/*
 * A quarantine during a failover: every node long-polls its own
 * controller; the controller most of them wait on is killed (-9), they move
 * to the survivors (as an agent with several CONTROLLER_URLS does), and a
 * quarantine submitted to a survivor right then reaches every node.
 */
struct waiter {
	struct cluster *cl;
	int node, ctl, target;
	int64_t got_ms;		/* when the quarantine reached it (-1: not yet) */
	int64_t t0;
	int moved;
};

static void *waiter_main(void *arg)
{
	struct waiter *w = arg;
	char q[64], all[4096], want[64];
	struct mn_response r;
	int64_t deadline = ms_now() + 30000;

	snprintf(want, sizeof(want), "%s=DENIED", w->cl->ids[w->target]);

	while (ms_now() < deadline) {
		snprintf(q, sizeof(q), "?wait=2");
		if (cluster_config(w->cl, w->ctl, w->node, q, &r) || r.status == 0) {
			/* its controller stopped answering: the next one */
			mn_response_free(&r);
			w->ctl = (w->ctl + 1) % 3;
			w->moved++;
			continue;
		}
		if (r.status == 200) {
			peer_verdicts(r.body, all, sizeof(all));
			if (strstr(all, want)) {
				w->got_ms = ms_now() - w->t0;
				mn_response_free(&r);
				return NULL;
			}
		}
		mn_response_free(&r);
		usleep(20 * 1000);
	}
	return NULL;
}

#define FAILOVER_NODES 8

TEST_F_TIMEOUT(ha, quarantine_during_a_failover_reaches_every_node, 180)
{
	struct cluster *cl = &self->cl;
	struct waiter w[FAILOVER_NODES];
	pthread_t t[FAILOVER_NODES];
	struct mn_response r;
	int64_t t0, worst = 0;
	int i, target = FAILOVER_NODES - 1;

	ASSERT_EQ(0, start_cluster(NULL, cl, self->url, 3, FAILOVER_NODES));
	for (i = 0; i < FAILOVER_NODES; i++) {
		ASSERT_EQ(0, cluster_submit(cl, i % 3, i, 0.9, &r));
		EXPECT_EQ(200, r.status);
		mn_response_free(&r);
	}
	ASSERT_LE(0, wait_membership(cl, 1, 0, target, "ALLOWED", 20000));
	ASSERT_LE(0, wait_membership(cl, 2, 0, target, "ALLOWED", 20000));
	t0 = ms_now();
	for (i = 0; i < FAILOVER_NODES - 1; i++) {
		/* most of them on controller 0, the one that dies */
		w[i] = (struct waiter){ .cl = cl, .node = i, .ctl = i % 4 ? 0 : 1 + i % 2,
					.target = target, .got_ms = -1, .t0 = t0 };
		ASSERT_EQ(0, pthread_create(&t[i], NULL, waiter_main, &w[i]));
	}
	usleep(300 * 1000);
	cluster_stop(cl, 0, SIGKILL);
	/* The quarantine, submitted to a survivor at once. */
	t0 = ms_now();
	for (i = 0; i < FAILOVER_NODES - 1; i++)
		w[i].t0 = t0;
	ASSERT_EQ(0, cluster_submit(cl, 1, target, 0.2, &r));
	EXPECT_EQ(200, r.status);
	mn_response_free(&r);
	for (i = 0; i < FAILOVER_NODES - 1; i++) {
		pthread_join(t[i], NULL);
		EXPECT_LE(0, w[i].got_ms);
		if (w[i].got_ms > worst)
			worst = w[i].got_ms;
	}
	TH_LOG("quarantine during a failover: all %d nodes saw it, the last %lld ms after it was "
	       "submitted (%d had moved off the killed controller)", FAILOVER_NODES - 1,
	       (long long)worst, w[0].moved + w[1].moved + w[2].moved + w[3].moved + w[5].moved);
}

/*
 * The agent's own client (userspace/agent/http.c, ctl_urls.c: what
 * meshnet-agent runs with CONTROLLER_URLS) against three real controllers:
 * the controller it long-polls is killed (-9) each round while a change is
 * made through another; it moves on by itself and the next statement
 * continues from the revision it holds (a delta based on it: nothing lost),
 * always newer (nothing applied twice).
 */
struct killer {
	struct cluster *cl;
	int victim, via, node;
	double score;
	int status;		/* of the change */
};

static void *killer_main(void *arg)
{
	struct killer *k = arg;
	struct mn_response r;

	usleep(300 * 1000);	/* the agent is parked in its long-poll */
	cluster_stop(k->cl, k->victim, SIGKILL);
	k->status = cluster_submit(k->cl, k->via, k->node, k->score, &r) ? -1 : r.status;
	mn_response_free(&r);
	return NULL;
}

static int port_index(struct cluster *cl, const char *url)
{
	const char *colon = strrchr(url, ':');
	int i;

	for (i = 0; colon && i < 3; i++)
		if (atoi(colon + 1) == cl->c[i].port)
			return i;
	return -1;
}

#define AGENT_ROUNDS 6

TEST_F_TIMEOUT(ha, agent_fails_over_without_losing_or_reapplying_a_revision, 240)
{
	struct cluster *cl = &self->cl;
	struct agent_http h;
	struct agent_http_reply reply;
	struct mn_response r;
	atomic_bool stop = false;
	char urls[256], q[96], err[512];
	uint64_t held = 0;
	int i, round, moved = 0;

	ASSERT_EQ(0, start_cluster(NULL, cl, self->url, 3, SHARE_NODES));
	for (i = 0; i < 3; i++)
		cl->c[i].keep_port = true;	/* the agent's CONTROLLER_URLS stay valid */
	for (i = 0; i < SHARE_NODES; i++) {
		ASSERT_EQ(0, cluster_submit(cl, i % 3, i, 0.9, &r));
		mn_response_free(&r);
	}
	ASSERT_LE(0, wait_membership(cl, 0, 0, SHARE_NODES - 1, "ALLOWED", 20000));
	snprintf(urls, sizeof(urls), "http://127.0.0.1:%u,http://127.0.0.1:%u,http://127.0.0.1:%u",
		 cl->c[0].port, cl->c[1].port, cl->c[2].port);
	ASSERT_EQ(0, agent_http_global_init());
	ASSERT_EQ(0, agent_http_init(&h, cl->keys[0], cl->ids[0], urls, NULL, &stop));
	/* The first statement: a snapshot. */
	ASSERT_EQ(0, agent_http_request(&h, "GET", "/v1/config/node-0000?rev=0", NULL, 10, &reply,
					err, sizeof(err))) TH_LOG("%s", err);
	ASSERT_EQ(200, reply.status);
	held = strtoull(reply.revision, NULL, 10);
	agent_http_reply_free(&reply);
	ASSERT_LT(0, held);
	for (round = 0; round < AGENT_ROUNDS; round++) {
		int victim = port_index(cl, agent_http_url(&h)), now_at;
		struct killer k = { .cl = cl, .victim = victim, .via = (victim + 1) % 3,
				    .node = 1 + round % (SHARE_NODES - 1),
				    .score = round < SHARE_NODES - 1 ? 0.2 : 0.9 };
		pthread_t t;
		const char *base;
		uint64_t rev;
		int64_t t_end;

		ASSERT_LE(0, victim);
		ASSERT_EQ(0, pthread_create(&t, NULL, killer_main, &k));
		snprintf(q, sizeof(q), "/v1/config/node-0000?rev=%llu&wait=20",
			 (unsigned long long)held);
		/* nothing new yet, or the controller died: ask again (as the agent does) */
		t_end = ms_now() + 60000;
		do {
			agent_http_reply_free(&reply);
			memset(&reply, 0, sizeof(reply));
			if (agent_http_request(&h, "GET", q, NULL, 30, &reply, err, sizeof(err)))
				reply.status = 0;
		} while ((reply.status == 204 || reply.status == 0) && ms_now() < t_end);
		pthread_join(t, NULL);
		ASSERT_EQ(200, reply.status) TH_LOG("round %d: %ld %s (the change through %d: %d)",
						     round, reply.status, err, k.via, k.status);
		rev = strtoull(reply.revision, NULL, 10);
		base = reply.body ? strstr(reply.body, "\"base_revision\":") : NULL;
		now_at = port_index(cl, agent_http_url(&h));
		moved += now_at != victim;
		EXPECT_NE(victim, now_at);	/* it moved off the dead one by itself */
		EXPECT_LT(held, rev);		/* never the same or an older revision again */
		/* a delta from exactly the held revision: nothing in between was lost */
		ASSERT_NE(NULL, base) TH_LOG("round %d: not a delta: %.200s", round, reply.body);
		EXPECT_EQ(held, strtoull(base + 16, NULL, 10));
		TH_LOG("round %d: controller %d killed; revision %llu -> %llu from controller %d",
		       round, victim, (unsigned long long)held, (unsigned long long)rev, now_at);
		held = rev;
		agent_http_reply_free(&reply);
		memset(&reply, 0, sizeof(reply));
		ASSERT_EQ(0, cluster_start(cl, victim, NULL));
	}
	EXPECT_EQ(AGENT_ROUNDS, moved);
	agent_http_free(&h);
	agent_http_global_cleanup();
}

#define PAR_NODES 16
#define PAR_EACH 40

struct par_submitter {
	struct cluster *cl;
	int ctl, ok, other;
	int64_t max_ms, sum_ms;
};

/* PAR_EACH plain submissions (scores that keep every verdict) to one controller. */
static void *par_main(void *arg)
{
	struct par_submitter *p = arg;
	int i;

	for (i = 0; i < PAR_EACH; i++) {
		struct mn_response r;
		int64_t t0 = ms_now(), ms;

		if (!cluster_submit(p->cl, p->ctl, p->ctl + 2 * (i % (PAR_NODES / 2)), 0.9, &r) &&
		    r.status == 200)
			p->ok++;
		else
			p->other++;
		mn_response_free(&r);
		ms = ms_now() - t0;
		p->sum_ms += ms;
		if (ms > p->max_ms)
			p->max_ms = ms;
	}
	return NULL;
}

/*
 * A submission that changes no verdict commits without the log's head row:
 * while another session holds that row (as a controller's write lock or a
 * sequencing pass does), submissions to two controllers at once all get
 * their 200 (before, each waited for the row: statement_timeout, then 503).
 * Once the row is free the log holds each exactly once, in one tree that
 * both controllers serve and audit-verify accepts.
 */
TEST_F_TIMEOUT(ha, submissions_on_two_controllers_do_not_wait_for_the_log_head, 180)
{
	struct cluster *cl = &self->cl;
	struct par_submitter p[2] = { { .cl = cl, .ctl = 0 }, { .cl = cl, .ctl = 1 } };
	char cp[2][4096], stmt[512], out[4096], *v;
	long before, after;
	pthread_t t[2];
	PGconn *holder;
	PGresult *res;
	struct mn_response r;
	int i, tries;

	ASSERT_EQ(0, start_cluster(NULL, cl, self->url, 2, PAR_NODES));
	/* Everyone admitted (revisions, with the lock), seen by both controllers. */
	for (i = 0; i < PAR_NODES; i++) {
		ASSERT_EQ(0, cluster_submit(cl, i % 2, i, 0.9, &r));
		EXPECT_EQ(200, r.status);
		mn_response_free(&r);
	}
	for (i = 0; i < 2; i++)
		ASSERT_LE(0, wait_membership(cl, i, 0, PAR_NODES - 1, "ALLOWED", 10000));
	before = log_holds_every_benchmark_once(_metadata, self->url);
	ASSERT_EQ(PAR_NODES, before);

	holder = PQconnectdb(self->url);
	ASSERT_EQ(CONNECTION_OK, PQstatus(holder));
	res = PQexec(holder, "BEGIN; SELECT rev FROM store_head WHERE id = 1 FOR UPDATE");
	ASSERT_EQ(PGRES_TUPLES_OK, PQresultStatus(res));
	PQclear(res);
	for (i = 0; i < 2; i++)
		pthread_create(&t[i], NULL, par_main, &p[i]);
	for (i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	/* All answered while the head row is still held: none waited for it. */
	v = sql_value(self->url, "SELECT count(*) || ' ' || (SELECT tlog_size FROM store_head) "
		      "FROM tlog_pending");
	TH_LOG("with the head row held: controller 0 %d x 200 (mean %lld ms, max %lld ms), "
	       "controller 1 %d x 200 (mean %lld ms, max %lld ms); pending leaves, log size: %s",
	       p[0].ok, (long long)(p[0].sum_ms / PAR_EACH), (long long)p[0].max_ms, p[1].ok,
	       (long long)(p[1].sum_ms / PAR_EACH), (long long)p[1].max_ms, v ? v : "?");
	free(v);
	EXPECT_EQ(PAR_EACH, p[0].ok);
	EXPECT_EQ(PAR_EACH, p[1].ok);
	v = sql_value(self->url, "SELECT count(*) FROM tlog_pending");
	EXPECT_EQ(2 * PAR_EACH, v ? atol(v) : -1);	/* durable, not in the log yet */
	free(v);
	res = PQexec(holder, "ROLLBACK");
	PQclear(res);
	PQfinish(holder);

	/* Then every one is in the log, once. */
	after = log_holds_every_benchmark_once(_metadata, self->url);
	EXPECT_EQ(before + 2 * PAR_EACH, after);
	/* One tree: both serve the database's signed checkpoint. */
	v = sql_value(self->url, "SELECT tlog_checkpoint FROM store_head");
	ASSERT_NE(NULL, v);
	for (tries = 0; tries < 100; tries++) {
		for (i = 0; i < 2; i++) {
			struct mn_conn conn;

			ASSERT_EQ(0, mn_connect(&conn, cl->c[i].port, NULL));
			ASSERT_EQ(0, mn_request(&conn, "GET", "/v1/log/checkpoint", NULL, NULL, 0,
						&r));
			mn_close(&conn);
			snprintf(cp[i], sizeof(cp[i]), "%s", r.status == 200 && r.body ? r.body : "");
			mn_response_free(&r);
		}
		if (!strcmp(cp[0], v) && !strcmp(cp[1], v))
			break;
		usleep(50000);
	}
	EXPECT_STREQ(v, cp[0]);
	EXPECT_STREQ(v, cp[1]);
	free(v);
	snprintf(stmt, sizeof(stmt), "audit-verify '%s' --key %s/controller.pub", self->url,
		 cl->c[0].state);
	EXPECT_EQ(0, cluster_run(cl, stmt, out, sizeof(out)));
	TH_LOG("%.*s", (int)strcspn(out, "\n"), out);
}

TEST_HARNESS_MAIN
