// SPDX-License-Identifier: MIT
/*
 * The PostgreSQL store against a real PostgreSQL 15 (scripts/pg-test-server.sh
 * run -- ...: MESHNET_PG_URL, MESHNET_PG_DIR). Every test gets a database of
 * its own. Covers: migrations (fresh, idempotent, newer schema refused),
 * commit + load of revisions, benchmarks, leaves and the sealed epoch, two
 * stores racing for the same revisions (exactly one wins, one epoch per id),
 * the sealed secret (not in a dump, wrong key refused, moved row refused),
 * shared replay protection, LISTEN/NOTIFY between two stores, benchmarks
 * committed late still polled, and the database killed and restarted
 * (STORE_UNAVAILABLE at once, recovery by itself, nothing committed lost).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "kselftest_harness.h"

#include "../../userspace/controller/store_pg.h"
#include "fileio.h"
#include "log.h"

static const char *pg_url(void)
{
	const char *u = getenv("MESHNET_PG_URL");

	return u && *u ? u : NULL;
}

/* The URL of database db on the test server. */
static void db_url(char *out, size_t cap, const char *db)
{
	const char *u = pg_url(), *q = strchr(u, '?'), *slash;
	size_t head;

	for (slash = q ? q : u + strlen(u); slash > u && *slash != '/'; slash--)
		;
	head = (size_t)(slash - u);
	snprintf(out, cap, "%.*s/%s%s", (int)head, u, db, q ? q : "");
}

static int sql(const char *url, const char *stmt)
{
	PGconn *c = PQconnectdb(url);
	PGresult *r;
	int ok;

	if (PQstatus(c) != CONNECTION_OK) {
		PQfinish(c);
		return -1;
	}
	r = PQexec(c, stmt);
	ok = PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK;
	if (!ok)
		fprintf(stderr, "# sql %s: %s", stmt, PQerrorMessage(c));
	PQclear(r);
	PQfinish(c);
	return ok ? 0 : -1;
}

/* First column of the first row as a malloc'd string (NULL on error). */
static char *sql_value(const char *url, const char *stmt)
{
	PGconn *c = PQconnectdb(url);
	char *v = NULL;
	PGresult *r;

	if (PQstatus(c) == CONNECTION_OK) {
		r = PQexec(c, stmt);
		if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) >= 1)
			v = strdup(PQgetvalue(r, 0, 0));
		PQclear(r);
	}
	PQfinish(c);
	return v;
}

static int server(const char *cmd)
{
	char line[1024];

	snprintf(line, sizeof(line), "bash %s/scripts/pg-test-server.sh %s '%s' >/dev/null",
		 getenv("MESHNET_TOP") ? getenv("MESHNET_TOP") : ".", cmd, getenv("MESHNET_PG_DIR"));
	return system(line);
}

static int64_t ms_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- a sink that records what it gets ---- */

struct seen {
	uint64_t revs[4096];
	size_t n_revs;
	char last_rev_kind[32];
	size_t n_snapshot, n_bench, n_leaves;
	char bench_ids[64][64];
	uint8_t leaves[64][64];
	size_t leaf_len[64];
	uint64_t leaf_idx[64];
	struct store_pg_epoch epoch;
	bool has_epoch;
};

static int on_snapshot(void *ctx, struct json_object *rec)
{
	(void)rec;
	((struct seen *)ctx)->n_snapshot++;
	return 0;
}

static int on_revision(void *ctx, uint64_t rev, struct json_object *rec)
{
	struct seen *s = ctx;
	struct json_object *k;

	if (s->n_revs < 4096)
		s->revs[s->n_revs++] = rev;
	if (json_object_object_get_ex(rec, "kind", &k))
		snprintf(s->last_rev_kind, sizeof(s->last_rev_kind), "%s", json_object_get_string(k));
	return 0;
}

static int on_bench(void *ctx, struct json_object *rec)
{
	struct seen *s = ctx;
	struct json_object *v;

	if (s->n_bench < 64 && json_object_object_get_ex(rec, "node_id", &v))
		snprintf(s->bench_ids[s->n_bench], 64, "%s", json_object_get_string(v));
	s->n_bench++;
	return 0;
}

static int on_leaf(void *ctx, uint64_t idx, const uint8_t *leaf, size_t len)
{
	struct seen *s = ctx;

	if (s->n_leaves < 64 && len <= 64) {
		memcpy(s->leaves[s->n_leaves], leaf, len);
		s->leaf_len[s->n_leaves] = len;
		s->leaf_idx[s->n_leaves] = idx;
	}
	s->n_leaves++;
	return 0;
}

static int on_epoch(void *ctx, const struct store_pg_epoch *e)
{
	struct seen *s = ctx;

	s->epoch = *e;
	s->has_epoch = true;
	return 0;
}

static struct store_pg_sink sink_of(struct seen *s)
{
	memset(s, 0, sizeof(*s));
	return (struct store_pg_sink){ .ctx = s, .snapshot = on_snapshot, .revision = on_revision,
				       .benchmark = on_bench, .leaf = on_leaf, .epoch = on_epoch };
}

/* ---- batches ---- */

struct rev_buf {
	char json[4][128];
	struct store_pg_rev revs[4];
};

static void make_revs(struct rev_buf *rb, uint64_t base, size_t n, const char *kind)
{
	size_t i;

	for (i = 0; i < n; i++) {
		int len = snprintf(rb->json[i], sizeof(rb->json[i]),
				   "{\"rev\":%llu,\"kind\":\"%s\",\"node_id\":\"n\\\\%zu\"}",
				   (unsigned long long)(base + 1 + i), kind, i);

		rb->revs[i] = (struct store_pg_rev){ .rev = base + 1 + i, .kind = kind,
						     .json = rb->json[i], .len = (size_t)len };
	}
}

FIXTURE(pg) {
	char db[64];
	char url[512];
	char dir[128];
	char key_file[160];
	struct store_pg_options opt;
};

FIXTURE_SETUP(pg)
{
	char stmt[128], admin[512];
	static int seq;

	if (!pg_url())
		SKIP(return, "MESHNET_PG_URL is not set (run under scripts/pg-test-server.sh run)");
	snprintf(self->db, sizeof(self->db), "t_%ld_%d", (long)getpid(), seq++);
	db_url(admin, sizeof(admin), "meshnet");
	snprintf(stmt, sizeof(stmt), "CREATE DATABASE %s", self->db);
	ASSERT_EQ(0, sql(admin, stmt));
	db_url(self->url, sizeof(self->url), self->db);
	snprintf(self->dir, sizeof(self->dir), "/tmp/store-pg-test.XXXXXX");
	ASSERT_NE(NULL, mkdtemp(self->dir));
	snprintf(self->key_file, sizeof(self->key_file), "%s/store.key", self->dir);
	self->opt = (struct store_pg_options){ .key_file = self->key_file, .pool_size = 4 };
}

FIXTURE_TEARDOWN(pg)
{
	char stmt[160], admin[512];

	if (!pg_url())
		return;
	db_url(admin, sizeof(admin), "meshnet");
	snprintf(stmt, sizeof(stmt), "DROP DATABASE IF EXISTS %s WITH (FORCE)", self->db);
	sql(admin, stmt);
	snprintf(stmt, sizeof(stmt), "rm -rf %s", self->dir);
	if (system(stmt))
		fprintf(stderr, "# could not remove %s\n", self->dir);
}

TEST_F(pg, migrations_fresh_idempotent_and_newer_refused)
{
	struct store_pg *st;
	struct stat sb;
	char *v;

	st = store_pg_open(self->url, &self->opt);
	ASSERT_NE(NULL, st);
	store_pg_close(st);
	v = sql_value(self->url, "SELECT max(version) FROM schema_version");
	ASSERT_NE(NULL, v);
	EXPECT_EQ(store_pg_schema_version, atoi(v));
	free(v);
	/* The key file was created 0600. */
	ASSERT_EQ(0, stat(self->key_file, &sb));
	EXPECT_EQ(0600, sb.st_mode & 0777);

	/* Again: nothing to migrate, same version, one row per version. */
	st = store_pg_open(self->url, &self->opt);
	ASSERT_NE(NULL, st);
	store_pg_close(st);
	v = sql_value(self->url, "SELECT count(*) FROM schema_version");
	EXPECT_EQ(store_pg_schema_version, atoi(v));
	free(v);

	/* A database migrated by a newer meshnetd: refused, and left alone. */
	ASSERT_EQ(0, sql(self->url, "INSERT INTO schema_version (version, applied_by) "
			 "VALUES (999, 'meshnetd from the future')"));
	EXPECT_EQ(NULL, store_pg_open(self->url, &self->opt));
	v = sql_value(self->url, "SELECT count(*) FROM schema_version");
	EXPECT_EQ(store_pg_schema_version + 1, atoi(v));
	free(v);
}

TEST_F(pg, unreachable_database_and_bad_key_file_refused)
{
	char bad[600];
	int fd;

	/* Nobody listens on port 1. */
	snprintf(bad, sizeof(bad), "postgresql://meshnet@127.0.0.1:1/%s?connect_timeout=2", self->db);
	EXPECT_EQ(NULL, store_pg_open(bad, &self->opt));
	/* No key file given. */
	EXPECT_EQ(NULL, store_pg_open(self->url, &(struct store_pg_options){ 0 }));
	/* A key file others can read. */
	fd = open(self->key_file, O_WRONLY | O_CREAT, 0644);
	ASSERT_LE(0, fd);
	ASSERT_EQ(44, write(fd, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", 44));
	close(fd);
	chmod(self->key_file, 0644);
	EXPECT_EQ(NULL, store_pg_open(self->url, &self->opt));
	/* Not a key. */
	unlink(self->key_file);
	fd = open(self->key_file, O_WRONLY | O_CREAT, 0600);
	ASSERT_EQ(5, write(fd, "nokey", 5));
	close(fd);
	EXPECT_EQ(NULL, store_pg_open(self->url, &self->opt));
}

TEST_F(pg, commit_then_load_returns_everything)
{
	struct store_pg_epoch e = { .id = 7, .start = 1000, .expiry = 4600 };
	struct store_pg_blob bench[2] = {
		{ "{\"t\":\"bench\",\"node_id\":\"node-a\",\"x\":1}", 0 },
		{ "{\"t\":\"bench\",\"node_id\":\"node-b\",\"tab\":\"a\\tb\"}", 0 },
	};
	struct store_pg_blob leaves[2] = { { "leaf-zero\n\t\\", 12 }, { "\x00\x01\xff", 3 } };
	struct store_pg_batch b = { 0 };
	struct store_pg *st, *st2;
	struct rev_buf rb;
	struct seen s;
	struct store_pg_sink sink = sink_of(&s);
	uint64_t head = 99;
	size_t i;

	for (i = 0; i < 2; i++)
		bench[i].len = strlen(bench[i].data);
	memset(e.secret, 0xa5, sizeof(e.secret));
	st = store_pg_open(self->url, &self->opt);
	ASSERT_NE(NULL, st);
	ASSERT_EQ(0, store_pg_load(st, &sink, &head));
	EXPECT_EQ(0, head);
	EXPECT_EQ(0, s.n_revs);
	EXPECT_FALSE(s.has_epoch);

	make_revs(&rb, 0, 3, "epoch");
	b = (struct store_pg_batch){ .base_rev = 0, .revs = rb.revs, .n_revs = 3,
				     .benchmarks = bench, .n_benchmarks = 2,
				     .leaves = leaves, .n_leaves = 2, .epoch = &e };
	ASSERT_EQ(0, store_pg_commit(st, &b));
	/* One benchmark alone: its own transaction, no revision. */
	b = (struct store_pg_batch){ .base_rev = 3, .benchmarks = bench, .n_benchmarks = 1 };
	ASSERT_EQ(0, store_pg_commit(st, &b));
	/* Out of order revisions are the caller's bug: refused, nothing written. */
	make_revs(&rb, 5, 1, "verdict");
	b = (struct store_pg_batch){ .base_rev = 3, .revs = rb.revs, .n_revs = 1 };
	EXPECT_EQ(-1, store_pg_commit(st, &b));
	store_pg_close(st);

	/* A second controller loads it all. */
	st2 = store_pg_open(self->url, &self->opt);
	ASSERT_NE(NULL, st2);
	sink = sink_of(&s);
	ASSERT_EQ(0, store_pg_load(st2, &sink, &head));
	EXPECT_EQ(3, head);
	ASSERT_EQ(3, s.n_revs);
	for (i = 0; i < 3; i++)
		EXPECT_EQ(i + 1, s.revs[i]);
	/* Newest benchmark per node: node-a (twice written) once, node-b once. */
	EXPECT_EQ(2, s.n_bench);
	ASSERT_EQ(2, s.n_leaves);
	EXPECT_EQ(0, s.leaf_idx[0]);
	EXPECT_EQ(1, s.leaf_idx[1]);
	EXPECT_EQ(12, s.leaf_len[0]);
	EXPECT_EQ(0, memcmp(s.leaves[0], "leaf-zero\n\t\\", 12));
	EXPECT_EQ(3, s.leaf_len[1]);
	EXPECT_EQ(0, memcmp(s.leaves[1], "\x00\x01\xff", 3));
	ASSERT_TRUE(s.has_epoch);
	EXPECT_EQ(7, s.epoch.id);
	EXPECT_EQ(1000, s.epoch.start);
	EXPECT_EQ(4600, s.epoch.expiry);
	EXPECT_EQ(0, memcmp(s.epoch.secret, e.secret, sizeof(e.secret)));
	store_pg_close(st2);
}

TEST_F(pg, epoch_secret_is_sealed_under_the_key_file)
{
	struct store_pg_epoch e = { .id = 1, .start = 1, .expiry = 2 };
	char other_key[200], *dump;
	struct store_pg_batch b;
	struct store_pg *st;
	struct rev_buf rb;
	struct seen s;
	struct store_pg_sink sink = sink_of(&s);
	uint64_t head;

	memset(e.secret, 0x5a, sizeof(e.secret));
	st = store_pg_open(self->url, &self->opt);
	ASSERT_NE(NULL, st);
	make_revs(&rb, 0, 1, "epoch");
	b = (struct store_pg_batch){ .base_rev = 0, .revs = rb.revs, .n_revs = 1, .epoch = &e };
	ASSERT_EQ(0, store_pg_commit(st, &b));
	store_pg_close(st);

	/* What a dump holds: 12 + 32 + 16 bytes, none of them the secret. */
	dump = sql_value(self->url, "SELECT encode(sealed_secret, 'hex') FROM epochs");
	ASSERT_NE(NULL, dump);
	EXPECT_EQ(2 * EPOCH_SEALED_LEN, strlen(dump));
	EXPECT_EQ(NULL, strstr(dump, "5a5a5a5a5a5a5a5a"));
	free(dump);

	/* Another key file: refused at open (the database names its key). */
	snprintf(other_key, sizeof(other_key), "%s/other.key", self->dir);
	EXPECT_EQ(NULL, store_pg_open(self->url,
				      &(struct store_pg_options){ .key_file = other_key }));
	EXPECT_NE(0, access(other_key, F_OK));	/* the new key it made is removed again */

	/* The sealed secret moved to another epoch id does not open. */
	ASSERT_EQ(0, sql(self->url, "UPDATE epochs SET id = 2"));
	st = store_pg_open(self->url, &self->opt);
	ASSERT_NE(NULL, st);
	EXPECT_EQ(-1, store_pg_load(st, &sink, &head));
	store_pg_close(st);
}

struct racer {
	struct store_pg *st;
	int wins, conflicts, errors;
	uint64_t *winner_of;	/* rev -> racer id */
	int id, rounds;
	pthread_barrier_t *go;
};

static int racer_rev(void *ctx, uint64_t rev, struct json_object *rec)
{
	(void)rec;
	*(uint64_t *)ctx = rev;
	return 0;
}

static void *race_main(void *arg)
{
	struct racer *r = arg;
	uint64_t head = 0;
	int i;

	pthread_barrier_wait(r->go);
	for (i = 0; i < r->rounds; i++) {
		struct store_pg_epoch e = { .id = 0, .start = i, .expiry = i + 10 };
		struct store_pg_sink sink = { .ctx = &head, .revision = racer_rev };
		struct store_pg_batch b;
		struct rev_buf rb;
		uint64_t h;
		int ret;

		/* Catch up first, as a controller would, then try to be the next epoch. */
		if (store_pg_poll(r->st, head, 0, ~0ull, &sink, &h)) {
			r->errors++;
			continue;
		}
		head = h;
		e.id = head + 1;
		memset(e.secret, r->id, sizeof(e.secret));
		make_revs(&rb, head, 1, "epoch");
		b = (struct store_pg_batch){ .base_rev = head, .revs = rb.revs, .n_revs = 1,
					     .epoch = &e };
		ret = store_pg_commit(r->st, &b);
		if (!ret) {
			r->wins++;
			head++;
		} else if (ret == STORE_CONFLICT) {
			r->conflicts++;
		} else {
			r->errors++;
		}
	}
	return NULL;
}

TEST_F(pg, two_stores_racing_create_each_revision_and_epoch_once)
{
	struct racer r[2];
	pthread_barrier_t go;
	pthread_t t[2];
	char want[64], *v;
	int i;

	pthread_barrier_init(&go, NULL, 2);
	for (i = 0; i < 2; i++) {
		r[i] = (struct racer){ .id = i + 1, .rounds = 300, .go = &go };
		r[i].st = store_pg_open(self->url, &self->opt);
		ASSERT_NE(NULL, r[i].st);
	}
	for (i = 0; i < 2; i++)
		ASSERT_EQ(0, pthread_create(&t[i], NULL, race_main, &r[i]));
	for (i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	TH_LOG("wins %d/%d, conflicts %d/%d", r[0].wins, r[1].wins, r[0].conflicts,
	       r[1].conflicts);
	EXPECT_EQ(0, r[0].errors + r[1].errors);
	EXPECT_EQ(600, r[0].wins + r[1].wins + r[0].conflicts + r[1].conflicts);
	/* Both won some and lost some: the race really happened. */
	EXPECT_LT(0, r[0].conflicts + r[1].conflicts);
	v = sql_value(self->url, "SELECT count(*) || ' ' || count(DISTINCT id) || ' ' || "
		      "coalesce(max(id), 0) FROM epochs");
	ASSERT_NE(NULL, v);
	snprintf(want, sizeof(want), "%d %d %d", r[0].wins + r[1].wins, r[0].wins + r[1].wins,
		 r[0].wins + r[1].wins);
	EXPECT_STREQ(want, v);
	free(v);
	v = sql_value(self->url, "SELECT (SELECT rev FROM store_head) = (SELECT count(*) FROM "
		      "revisions) AND (SELECT count(*) FROM revisions) = (SELECT max(rev) FROM "
		      "revisions)");
	EXPECT_STREQ("t", v);
	free(v);
	for (i = 0; i < 2; i++)
		store_pg_close(r[i].st);
	pthread_barrier_destroy(&go);
}

TEST_F(pg, replay_protection_is_shared)
{
	struct store_pg *a = store_pg_open(self->url, &self->opt);
	struct store_pg *b = store_pg_open(self->url, &self->opt);
	const uint8_t nonce[16] = "0123456789abcdef", nonce2[16] = "0123456789abcdeX";

	ASSERT_NE(NULL, a);
	ASSERT_NE(NULL, b);
	EXPECT_EQ(0, store_pg_replay_check_and_set(a, "node-a", nonce, 16, 100));
	/* Accepted by A: refused by B, and by A again. */
	EXPECT_EQ(1, store_pg_replay_check_and_set(b, "node-a", nonce, 16, 100));
	EXPECT_EQ(1, store_pg_replay_check_and_set(a, "node-a", nonce, 16, 100));
	/* Another node, another nonce: fresh. */
	EXPECT_EQ(0, store_pg_replay_check_and_set(b, "node-b", nonce, 16, 100));
	EXPECT_EQ(0, store_pg_replay_check_and_set(b, "node-a", nonce2, 16, 200));
	/* Expiry drops only what is past. */
	EXPECT_EQ(2, store_pg_replay_expire(a, 150));
	EXPECT_EQ(1, store_pg_replay_check_and_set(a, "node-a", nonce2, 16, 200));
	store_pg_close(a);
	store_pg_close(b);
}

static bool wait_readable(struct store_pg *st, int timeout_ms)
{
	int64_t end = ms_now() + timeout_ms;

	while (ms_now() < end) {
		struct pollfd p = { .fd = store_pg_notify_fd(st), .events = POLLIN };

		if (p.fd < 0) {
			usleep(100000);
			continue;
		}
		if (poll(&p, 1, (int)(end - ms_now())) > 0 && store_pg_notify_consume(st) == 1)
			return true;
	}
	return false;
}

TEST_F(pg, notify_wakes_the_other_store_and_poll_replays)
{
	struct store_pg *a = store_pg_open(self->url, &self->opt);
	struct store_pg *b = store_pg_open(self->url, &self->opt);
	struct store_pg_blob leaf = { "L", 1 };
	struct store_pg_batch batch;
	struct rev_buf rb;
	struct seen s;
	struct store_pg_sink sink = sink_of(&s);
	uint64_t head;
	int64_t t0;

	ASSERT_NE(NULL, a);
	ASSERT_NE(NULL, b);
	ASSERT_EQ(0, store_pg_load(b, &sink, &head));
	EXPECT_EQ(0, store_pg_notify_consume(b));	/* nothing yet */
	make_revs(&rb, 0, 2, "verdict");
	batch = (struct store_pg_batch){ .base_rev = 0, .revs = rb.revs, .n_revs = 2,
					 .leaves = &leaf, .n_leaves = 1 };
	t0 = ms_now();
	ASSERT_EQ(0, store_pg_commit(a, &batch));
	EXPECT_TRUE(wait_readable(b, 2000));
	TH_LOG("notify reached the other store in %lld ms", (long long)(ms_now() - t0));
	sink = sink_of(&s);
	ASSERT_EQ(0, store_pg_poll(b, 0, 0, 0, &sink, &head));
	EXPECT_EQ(2, head);
	EXPECT_EQ(2, s.n_revs);
	EXPECT_EQ(1, s.n_leaves);
	/* Polling from the head: nothing new. */
	sink = sink_of(&s);
	ASSERT_EQ(0, store_pg_poll(b, 2, 1, 0, &sink, &head));
	EXPECT_EQ(0, s.n_revs);
	EXPECT_EQ(0, s.n_leaves);
	store_pg_close(a);
	store_pg_close(b);
}

TEST_F(pg, benchmark_committed_late_is_still_polled)
{
	struct store_pg *b = store_pg_open(self->url, &self->opt);
	struct seen s;
	struct store_pg_sink sink = sink_of(&s);
	uint64_t head;
	PGconn *slow;
	PGresult *r;

	ASSERT_NE(NULL, b);
	ASSERT_EQ(0, store_pg_load(b, &sink, &head));
	/* A transaction that took its sequence number early and commits late. */
	slow = PQconnectdb(self->url);
	ASSERT_EQ(CONNECTION_OK, PQstatus(slow));
	PQclear(PQexec(slow, "BEGIN"));
	r = PQexec(slow, "INSERT INTO benchmarks (node_id, record, origin) VALUES "
		   "('late', '{\"t\":\"bench\",\"node_id\":\"late\"}', 'test')");
	ASSERT_EQ(PGRES_COMMAND_OK, PQresultStatus(r));
	PQclear(r);
	ASSERT_EQ(0, sql(self->url, "INSERT INTO benchmarks (node_id, record, origin) VALUES "
			 "('early', '{\"t\":\"bench\",\"node_id\":\"early\"}', 'test')"));
	sink = sink_of(&s);
	ASSERT_EQ(0, store_pg_poll(b, 0, 0, 0, &sink, &head));
	ASSERT_EQ(1, s.n_bench);
	EXPECT_STREQ("early", s.bench_ids[0]);
	PQclear(PQexec(slow, "COMMIT"));
	PQfinish(slow);
	sink = sink_of(&s);
	ASSERT_EQ(0, store_pg_poll(b, 0, 0, 0, &sink, &head));
	/* "late" has a lower seq than "early" but is not skipped. */
	ASSERT_LE(1, s.n_bench);
	EXPECT_STREQ("late", s.bench_ids[0]);
	/* Once nothing is in flight the window closes. */
	sink = sink_of(&s);
	ASSERT_EQ(0, store_pg_poll(b, 0, 0, 0, &sink, &head));
	sink = sink_of(&s);
	ASSERT_EQ(0, store_pg_poll(b, 0, 0, 0, &sink, &head));
	EXPECT_EQ(0, s.n_bench);
	store_pg_close(b);
}

TEST_F(pg, database_down_then_back_unavailable_then_recovered)
{
	struct store_pg *st = store_pg_open(self->url, &self->opt);
	const uint8_t nonce[16] = "fedcba9876543210";
	struct store_pg_batch b;
	struct rev_buf rb;
	struct seen s;
	struct store_pg_sink sink = sink_of(&s);
	uint64_t head = 0;
	int64_t t0, waited;
	int ret;

	ASSERT_NE(NULL, st);
	if (!getenv("MESHNET_PG_DIR"))
		SKIP(return, "MESHNET_PG_DIR not set");
	make_revs(&rb, 0, 1, "enrol");
	b = (struct store_pg_batch){ .base_rev = 0, .revs = rb.revs, .n_revs = 1 };
	ASSERT_EQ(0, store_pg_commit(st, &b));

	ASSERT_EQ(0, server("kill"));
	t0 = ms_now();
	make_revs(&rb, 1, 1, "verdict");
	b = (struct store_pg_batch){ .base_rev = 1, .revs = rb.revs, .n_revs = 1 };
	EXPECT_EQ(STORE_UNAVAILABLE, store_pg_commit(st, &b));
	EXPECT_EQ(STORE_UNAVAILABLE, store_pg_replay_check_and_set(st, "n", nonce, 16, 9));
	EXPECT_EQ(STORE_UNAVAILABLE, store_pg_poll(st, 0, 0, 0, &sink, &head));
	EXPECT_FALSE(store_pg_available(st));
	waited = ms_now() - t0;
	TH_LOG("three calls while down answered in %lld ms", (long long)waited);
	EXPECT_GT(6000, waited);	/* at once, not after connect timeouts */

	ASSERT_EQ(0, server("start"));
	t0 = ms_now();
	do {
		ret = store_pg_commit(st, &b);
		if (ret == STORE_UNAVAILABLE)
			usleep(100000);
	} while (ret == STORE_UNAVAILABLE && ms_now() - t0 < 20000);
	EXPECT_EQ(0, ret);
	TH_LOG("recovered %lld ms after the restart", (long long)(ms_now() - t0));
	EXPECT_TRUE(store_pg_available(st));
	/* The listener reconnects too (it reports 1: something may have been missed). */
	t0 = ms_now();
	while ((ret = store_pg_notify_consume(st)) == STORE_UNAVAILABLE && ms_now() - t0 < 10000)
		usleep(100000);
	EXPECT_EQ(1, ret);
	/* Nothing committed before the crash was lost. */
	sink = sink_of(&s);
	ASSERT_EQ(0, store_pg_load(st, &sink, &head));
	EXPECT_EQ(2, head);
	EXPECT_EQ(2, s.n_revs);
	store_pg_close(st);
}

TEST_HARNESS_MAIN
