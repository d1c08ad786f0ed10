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
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "kselftest_harness.h"

#include "cluster.h"
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
	snprintf(self->db, sizeof(self->db), "ha_%ld_%d", (long)getpid(), seq++);
	ASSERT_EQ(0, pg_create_db(self->db, self->url, sizeof(self->url)));
}

FIXTURE_TEARDOWN(ha)
{
	if (!pg_url())
		return;
	cluster_free(&self->cl);
	pg_drop_db(self->db);
}

#define MIG_NODES 12

TEST_F(ha, migration_keeps_every_node_verdict_and_the_audit_chain)
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
	snprintf(args, sizeof(args), "audit-verify '%s'", self->url);
	ASSERT_EQ(0, cluster_run(cl, args, out, sizeof(out)));
	p = strstr(out, "OK, ");
	ASSERT_NE(NULL, p);
	snprintf(db_count, sizeof(db_count), "%.*s", (int)strcspn(p + 4, " "), p + 4);
	EXPECT_STREQ(dir_count, db_count);
	TH_LOG("audit records: %s in the directory, %s in the database", dir_count, db_count);
	/* Tampering with a record in the database is caught. */
	ASSERT_EQ(0, sql(self->url, "UPDATE audit_records SET record = replace(record, "
			 "'\"type\"', '\"tipe\"') WHERE seq = 2"));
	EXPECT_EQ(1, cluster_run(cl, args, out, sizeof(out)));
	EXPECT_NE(NULL, strstr(out, "BROKEN"));
	ASSERT_EQ(0, sql(self->url, "UPDATE audit_records SET record = replace(record, "
			 "'\"tipe\"', '\"type\"') WHERE seq = 2"));
	EXPECT_EQ(0, cluster_run(cl, args, out, sizeof(out)));

	/* 5. A controller on the database serves what the directory served. */
	snprintf(cl->store, sizeof(cl->store), "%s", self->url);
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
	EXPECT_STREQ("bad_signature", cluster_error_code(&r, code, sizeof(code)));
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

#define SHARE_NODES 6

TEST_F(ha, three_controllers_share_every_change)
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
	cluster_bench_body(body, sizeof(body), cl->ids[1], 0.9, time(NULL));
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
	EXPECT_STREQ("replay", cluster_error_code(&r, code, sizeof(code)));
	mn_response_free(&r);
	mn_close(&conn);

	/* One revision log, no gap, no double; one epoch per id. */
	v = sql_value(self->url, "SELECT (SELECT rev FROM store_head) = (SELECT count(*) FROM "
		      "revisions) AND (SELECT count(*) FROM revisions) = (SELECT max(rev) FROM "
		      "revisions) AND (SELECT count(*) FROM epochs) = (SELECT max(id) FROM epochs)");
	EXPECT_STREQ("t", v ? v : "(none)");
	free(v);
	snprintf(want, sizeof(want), "audit-verify '%s'", self->url);
	{
		char out[2048];

		EXPECT_EQ(0, cluster_run(cl, want, out, sizeof(out)));
		TH_LOG("%s", out);
	}
}

TEST_HARNESS_MAIN
