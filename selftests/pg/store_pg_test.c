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

#include "pgtest.h"
#include "../../userspace/controller/audit.h"
#include "../../userspace/controller/epoch_seal.h"
#include "../../userspace/controller/store.h"
#include "../../userspace/controller/store_pg.h"
#include "../../userspace/controller/tlog_store.h"
#include "fileio.h"
#include "log.h"
#include "strbuf.h"

/* ---- an apply callback that records what it gets ---- */

struct seen {
	uint64_t revs[4096];
	size_t n_revs, n_other, n_bench;
	char bench_ids[64][64];
	uint64_t head;
};

static int on_record(void *ctx, struct json_object *rec)
{
	struct seen *s = ctx;
	struct json_object *v;

	if (json_object_object_get_ex(rec, "rev", &v)) {
		uint64_t rev = (uint64_t)json_object_get_int64(v);

		if (s->n_revs < 4096)
			s->revs[s->n_revs++] = rev;
		if (rev > s->head)
			s->head = rev;
	} else if (json_object_object_get_ex(rec, "t", &v) &&
		   !strcmp(json_object_get_string(v), "bench")) {
		if (s->n_bench < 64 && json_object_object_get_ex(rec, "node_id", &v))
			snprintf(s->bench_ids[s->n_bench], 64, "%s", json_object_get_string(v));
		s->n_bench++;
	} else {
		s->n_other++;
	}
	return 0;
}

static void seen_reset(struct seen *s)
{
	memset(s, 0, sizeof(*s));
}

/* ---- batches ---- */

struct rev_buf {
	char json[4][128];
	struct store_text revs[4];
};

static void make_revs(struct rev_buf *rb, uint64_t base, size_t n, const char *kind)
{
	size_t i;

	for (i = 0; i < n; i++) {
		int len = snprintf(rb->json[i], sizeof(rb->json[i]),
				   "{\"rev\":%llu,\"kind\":\"%s\",\"node_id\":\"n\\\\%zu\"}",
				   (unsigned long long)(base + 1 + i), kind, i);

		rb->revs[i] = (struct store_text){ .data = rb->json[i], .len = (size_t)len };
	}
}

static int ignore_record(void *ctx, struct json_object *rec)
{
	(void)ctx;
	(void)rec;
	return 0;
}

/* The checkpoint key of every store a test opens (as a controller's statement key). */
static EVP_PKEY *log_key(void)
{
	static EVP_PKEY *key;

	if (!key)
		key = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	return key;
}

#define LOG_ORIGIN "meshnetd/store-pg-test"

/*
 * The database's transparency log is whole: every record's leaf is its
 * place, they hash to the head this store publishes, whose checkpoint
 * verifies with the key; the export holds the same records. Returns the
 * record count (-1 broken).
 */
static long audit_log_ok(struct store *st)
{
	struct tlog_store *ts = store_log(st);
	struct tlog_note_verifier v;
	struct tlog_checkpoint cp;
	struct tlog_frontier f = { 0 };
	uint8_t root[TLOG_HASH_LEN], pub[32], mine[TLOG_HASH_LEN];
	uint64_t n, i, verified = 0, exported = 0;
	size_t pub_len = sizeof(pub);
	struct strbuf sb, rec;
	char dir[] = "/tmp/store-pg-export.XXXXXX", msg[256], cmd[160], want[48];
	long ret = -1;

	if (!ts)
		return -1;
	/* Caught up with what the other stores committed (a poll reads the head). */
	if (store_poll(st, UINT64_MAX >> 2, ignore_record, NULL))
		return -1;
	tlog_store_head(ts, &n, root);
	strbuf_init(&sb);
	if (tlog_store_checkpoint(ts, &sb) ||
	    EVP_PKEY_get_raw_public_key(log_key(), pub, &pub_len) != 1 ||
	    tlog_verifier_from_pub(&v, LOG_ORIGIN, pub))
		goto out;
	if (tlog_checkpoint_open(sb.buf, sb.len, &v, 1, LOG_ORIGIN, &cp, &verified) ||
	    cp.size != n || memcmp(cp.root, root, TLOG_HASH_LEN)) {
		fprintf(stderr, "# the checkpoint does not verify or is not the head\n");
		tlog_verifier_free(&v);
		goto out;
	}
	tlog_verifier_free(&v);
	for (i = 0; i < n; i++) {
		tlog_hash leaf, out[TLOG_MAX_LEVELS], stored;

		strbuf_init(&rec);
		snprintf(want, sizeof(want), "{\"index\":%llu,", (unsigned long long)i);
		if (tlog_store_record(ts, i, &rec) || strncmp(rec.buf, want, strlen(want)) ||
		    tlog_store_leaf_hash(ts, i, stored)) {
			fprintf(stderr, "# record %llu is missing or out of place\n",
				(unsigned long long)i);
			strbuf_free(&rec);
			goto out;
		}
		tlog_hash_leaf(leaf, rec.buf, rec.len);
		strbuf_free(&rec);
		if (memcmp(leaf, stored, TLOG_HASH_LEN))
			goto out;
		tlog_frontier_append(&f, leaf, out);
	}
	tlog_frontier_root(&f, mine);
	if (memcmp(mine, root, TLOG_HASH_LEN)) {
		fprintf(stderr, "# the records do not hash to the head\n");
		goto out;
	}
	if (!mkdtemp(dir) || store_pg_log_export(st, dir, &exported, msg, sizeof(msg)) ||
	    exported < n) {
		fprintf(stderr, "# export: %s\n", msg);
		goto out;
	}
	ret = (long)n;
out:
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd))
		fprintf(stderr, "# could not remove %s\n", dir);
	strbuf_free(&sb);
	return ret;
}

FIXTURE(pg) {
	char db[64];
	char url[512];
	char dir[128];
	char key_file[160];
	struct store_pg_options opt;
};

static struct store *open_with(const char *url, const struct store_pg_options *opt)
{
	struct store *st;

	store_pg_set_options(opt);
	st = store_open(url);
	if (st && !opt->without_key && store_open_log(st, LOG_ORIGIN, log_key())) {
		store_close(st);
		return NULL;
	}
	return st;
}

FIXTURE_SETUP(pg)
{
	static int seq;

	if (!pg_url())
		SKIP(return, "MESHNET_PG_URL is not set (run under scripts/pg-test-server.sh run)");
	snprintf(self->db, sizeof(self->db), "t_%ld_%d", (long)getpid(), seq++);
	ASSERT_EQ(0, pg_create_db(self->db, self->url, sizeof(self->url)));
	snprintf(self->dir, sizeof(self->dir), "/tmp/store-pg-test.XXXXXX");
	ASSERT_NE(NULL, mkdtemp(self->dir));
	snprintf(self->key_file, sizeof(self->key_file), "%s/store.key", self->dir);
	self->opt = (struct store_pg_options){ .key_file = self->key_file, .pool_size = 4 };
}

FIXTURE_TEARDOWN(pg)
{
	char stmt[160];

	if (!pg_url())
		return;
	pg_drop_db(self->db);
	snprintf(stmt, sizeof(stmt), "rm -rf %s", self->dir);
	if (system(stmt))
		fprintf(stderr, "# could not remove %s\n", self->dir);
}

TEST_F(pg, migrations_fresh_idempotent_and_newer_refused)
{
	struct store *st;
	struct stat sb;
	char *v;

	st = open_with(self->url, &self->opt);
	ASSERT_NE(NULL, st);
	store_close(st);
	v = sql_value(self->url, "SELECT max(version) FROM schema_version");
	ASSERT_NE(NULL, v);
	EXPECT_EQ(store_pg_schema_version, atoi(v));
	free(v);
	/* The key file was created 0600. */
	ASSERT_EQ(0, stat(self->key_file, &sb));
	EXPECT_EQ(0600, sb.st_mode & 0777);

	/* Again: nothing to migrate, same version, one row per version. */
	st = open_with(self->url, &self->opt);
	ASSERT_NE(NULL, st);
	store_close(st);
	v = sql_value(self->url, "SELECT count(*) FROM schema_version");
	EXPECT_EQ(store_pg_schema_version, atoi(v));
	free(v);

	/*
	 * From the previous version (3, before tlog_pending), with state in it:
	 * migrated to this one, nothing lost.
	 */
	ASSERT_EQ(0, sql(self->url, "DROP TABLE tlog_pending; DELETE FROM schema_version WHERE "
			 "version = 4; INSERT INTO revisions (rev, kind, record, origin) VALUES "
			 "(1, 'enrol', '{\"rev\":1,\"kind\":\"enrol\"}', 't'); "
			 "UPDATE store_head SET rev = 1"));
	st = open_with(self->url, &self->opt);
	ASSERT_NE(NULL, st);
	store_close(st);
	v = sql_value(self->url, "SELECT (SELECT max(version) FROM schema_version) || ' ' || (SELECT rev FROM store_head) || "
		      "' ' || (SELECT count(*) FROM revisions) || ' ' || "
		      "(SELECT count(*) FROM tlog_pending)");
	EXPECT_STREQ("4 1 1 0", v ? v : "(none)");
	free(v);

	/* A database migrated by a newer meshnetd: refused, and left alone. */
	ASSERT_EQ(0, sql(self->url, "INSERT INTO schema_version (version, applied_by) "
			 "VALUES (999, 'meshnetd from the future')"));
	EXPECT_EQ(NULL, open_with(self->url, &self->opt));
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
	EXPECT_EQ(NULL, open_with(bad, &self->opt));
	/* A scheme no backend has. */
	EXPECT_EQ(NULL, open_with("mysql://localhost/meshnet", &self->opt));
	/* No key file given. */
	EXPECT_EQ(NULL, open_with(self->url, &(struct store_pg_options){ 0 }));
	/* A key file others can read. */
	fd = open(self->key_file, O_WRONLY | O_CREAT, 0644);
	ASSERT_LE(0, fd);
	ASSERT_EQ(44, write(fd, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", 44));
	close(fd);
	chmod(self->key_file, 0644);
	EXPECT_EQ(NULL, open_with(self->url, &self->opt));
	/* Not a key. */
	unlink(self->key_file);
	fd = open(self->key_file, O_WRONLY | O_CREAT, 0600);
	ASSERT_EQ(5, write(fd, "nokey", 5));
	close(fd);
	EXPECT_EQ(NULL, open_with(self->url, &self->opt));
}

TEST_F(pg, commit_then_load_returns_everything)
{
	struct store_epoch e = { .id = 7, .revision = 3, .start = 1000, .expiry = 4600 }, got;
	static const char *const bench[3] = {
		"{\"t\":\"bench\",\"node_id\":\"node-a\",\"x\":1}",
		"{\"t\":\"bench\",\"node_id\":\"node-b\",\"tab\":\"a\\tb\\\\\"}",
		"{\"t\":\"bench\",\"node_id\":\"node-a\",\"x\":2}",
	};
	struct store_text recs[3];
	struct store_audit_leaf leaves[2] = {
		{ "enrol", "\"node_id\":\"node-a\"" }, { "epoch", "\"epoch\":7" },
	};
	struct store_batch b;
	struct store *st, *st2;
	struct rev_buf rb;
	struct seen s;
	size_t i;

	for (i = 0; i < 3; i++)
		recs[i] = (struct store_text){ bench[i], strlen(bench[i]) };
	memset(e.secret, 0xa5, sizeof(e.secret));
	st = open_with(self->url, &self->opt);
	ASSERT_NE(NULL, st);
	seen_reset(&s);
	EXPECT_EQ(0, store_load(st, on_record, &s, &got));	/* 0: no epoch yet */
	EXPECT_EQ(0, s.n_revs);

	make_revs(&rb, 0, 3, "epoch");
	b = (struct store_batch){ .first_revision = 1, .revisions = rb.revs, .n_revisions = 3,
				  .records = recs, .n_records = 2, .audit = leaves, .n_audit = 2,
				  .epoch = &e, .now = 1000 };
	ASSERT_EQ(0, store_commit(st, &b));
	/* One benchmark alone: no revision, no head. */
	b = (struct store_batch){ .records = &recs[2], .n_records = 1 };
	ASSERT_EQ(0, store_commit(st, &b));
	/* Revisions that do not follow the head: someone else's (conflict). */
	make_revs(&rb, 5, 1, "verdict");
	b = (struct store_batch){ .first_revision = 6, .revisions = rb.revs, .n_revisions = 1 };
	EXPECT_EQ(STORE_CONFLICT, store_commit(st, &b));
	/* A record whose rev is not its place, or without a kind: refused. */
	b = (struct store_batch){ .first_revision = 4, .revisions = rb.revs, .n_revisions = 1 };
	EXPECT_EQ(STORE_ERROR, store_commit(st, &b));
	b = (struct store_batch){ .first_revision = 4, .n_revisions = 1,
				  .revisions = &(struct store_text){ "{\"rev\":4}", 9 } };
	EXPECT_EQ(STORE_ERROR, store_commit(st, &b));
	/* An epoch without a revision: refused. */
	b = (struct store_batch){ .epoch = &e };
	EXPECT_EQ(STORE_ERROR, store_commit(st, &b));
	EXPECT_EQ(2, audit_log_ok(st));
	store_close(st);

	/* A second controller loads it all. */
	st2 = open_with(self->url, &self->opt);
	ASSERT_NE(NULL, st2);
	seen_reset(&s);
	memset(&got, 0, sizeof(got));
	ASSERT_EQ(1, store_load(st2, on_record, &s, &got));
	ASSERT_EQ(3, s.n_revs);
	for (i = 0; i < 3; i++)
		EXPECT_EQ(i + 1, s.revs[i]);
	/* The newest benchmark per node. */
	EXPECT_EQ(2, s.n_bench);
	EXPECT_EQ(7, got.id);
	EXPECT_EQ(3, got.revision);
	EXPECT_EQ(1000, got.start);
	EXPECT_EQ(4600, got.expiry);
	EXPECT_EQ(0, memcmp(got.secret, e.secret, sizeof(e.secret)));
	store_close(st2);
}

TEST_F(pg, epoch_secret_is_sealed_under_the_key_file)
{
	struct store_epoch e = { .id = 1, .start = 1, .expiry = 2 }, got;
	char other_key[200], *dump;
	struct store_batch b;
	struct store *st;
	struct rev_buf rb;
	struct seen s;

	memset(e.secret, 0x5a, sizeof(e.secret));
	st = open_with(self->url, &self->opt);
	ASSERT_NE(NULL, st);
	make_revs(&rb, 0, 1, "epoch");
	b = (struct store_batch){ .first_revision = 1, .revisions = rb.revs, .n_revisions = 1,
				  .epoch = &e };
	ASSERT_EQ(0, store_commit(st, &b));
	/* The same epoch id again (from a controller that missed it): refused. */
	make_revs(&rb, 1, 1, "epoch");
	b = (struct store_batch){ .first_revision = 2, .revisions = rb.revs, .n_revisions = 1,
				  .epoch = &e };
	EXPECT_EQ(STORE_CONFLICT, store_commit(st, &b));
	EXPECT_EQ(1, store_pg_newest_epoch(st, 0, &got));
	EXPECT_EQ(0, memcmp(got.secret, e.secret, sizeof(e.secret)));
	EXPECT_EQ(0, store_pg_newest_epoch(st, 1, &got));
	store_close(st);

	/* What a dump holds: 12 + 32 + 16 bytes, none of them the secret. */
	dump = sql_value(self->url, "SELECT encode(sealed_secret, 'hex') FROM epochs");
	ASSERT_NE(NULL, dump);
	EXPECT_EQ(2 * EPOCH_SEALED_LEN, strlen(dump));
	EXPECT_EQ(NULL, strstr(dump, "5a5a5a5a5a5a5a5a"));
	free(dump);
	dump = sql_value(self->url, "SELECT string_agg(record, '') FROM revisions");
	EXPECT_EQ(NULL, strstr(dump, "Wlpa"));	/* base64 of 0x5a5a5a */
	free(dump);

	/* Another key file: refused at open (the database names its key). */
	snprintf(other_key, sizeof(other_key), "%s/other.key", self->dir);
	EXPECT_EQ(NULL, open_with(self->url, &(struct store_pg_options){ .key_file = other_key }));
	EXPECT_NE(0, access(other_key, F_OK));	/* the key it made is removed again */

	/* The sealed secret moved to another epoch id does not open. */
	ASSERT_EQ(0, sql(self->url, "UPDATE epochs SET id = 2"));
	st = open_with(self->url, &self->opt);
	ASSERT_NE(NULL, st);
	seen_reset(&s);
	EXPECT_EQ(STORE_ERROR, store_load(st, on_record, &s, &got));
	store_close(st);
}

struct racer {
	struct store *st;
	int wins, conflicts, errors;
	int id, rounds;
	pthread_barrier_t *go;
};

static void *race_main(void *arg)
{
	struct racer *r = arg;
	struct seen s;
	int i;

	seen_reset(&s);
	pthread_barrier_wait(r->go);
	for (i = 0; i < r->rounds; i++) {
		struct store_epoch e = { .id = 0, .start = i, .expiry = i + 10 };
		struct store_audit_leaf leaf = { "epoch", "\"by\":\"racer\"" };
		struct store_batch b;
		struct rev_buf rb;
		int ret;

		/* Catch up first, as a controller would, then try to start the next epoch. */
		if (store_poll(r->st, s.head, on_record, &s)) {
			r->errors++;
			continue;
		}
		e.id = s.head + 1;
		e.revision = s.head + 1;
		memset(e.secret, r->id, sizeof(e.secret));
		make_revs(&rb, s.head, 1, "epoch");
		b = (struct store_batch){ .first_revision = s.head + 1, .revisions = rb.revs,
					  .n_revisions = 1, .epoch = &e, .audit = &leaf,
					  .n_audit = 1, .now = i };
		ret = store_commit(r->st, &b);
		if (!ret) {
			r->wins++;
			s.head++;
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
	int i, wins;

	pthread_barrier_init(&go, NULL, 2);
	for (i = 0; i < 2; i++) {
		r[i] = (struct racer){ .id = i + 1, .rounds = 300, .go = &go };
		r[i].st = open_with(self->url, &self->opt);
		ASSERT_NE(NULL, r[i].st);
	}
	for (i = 0; i < 2; i++)
		ASSERT_EQ(0, pthread_create(&t[i], NULL, race_main, &r[i]));
	for (i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	wins = r[0].wins + r[1].wins;
	TH_LOG("wins %d/%d, conflicts %d/%d", r[0].wins, r[1].wins, r[0].conflicts,
	       r[1].conflicts);
	EXPECT_EQ(0, r[0].errors + r[1].errors);
	EXPECT_EQ(600, wins + r[0].conflicts + r[1].conflicts);
	/*
	 * The race really happened: some commit lost to the other store. Which
	 * one loses is the scheduler's choice (on a quiet machine one store can
	 * win every round), so only the sum is asserted.
	 */
	EXPECT_LT(0, r[0].conflicts + r[1].conflicts);
	v = sql_value(self->url, "SELECT count(*) || ' ' || count(DISTINCT id) || ' ' || "
		      "coalesce(max(id), 0) FROM epochs");
	ASSERT_NE(NULL, v);
	snprintf(want, sizeof(want), "%d %d %d", wins, wins, wins);
	EXPECT_STREQ(want, v);
	free(v);
	v = sql_value(self->url, "SELECT (SELECT rev FROM store_head) = (SELECT count(*) FROM "
		      "revisions) AND (SELECT count(*) FROM revisions) = (SELECT max(rev) FROM "
		      "revisions)");
	EXPECT_STREQ("t", v);
	free(v);
	/* One audit chain through both controllers' commits. */
	EXPECT_EQ(wins, audit_log_ok(r[0].st));
	for (i = 0; i < 2; i++)
		store_close(r[i].st);
	pthread_barrier_destroy(&go);
}

struct locker {
	struct store *st;
	int rounds, errors, conflicts;
	size_t caught_up;
	pthread_barrier_t *go;
};

static void *lock_main(void *arg)
{
	struct locker *l = arg;
	struct seen s;
	int i;

	seen_reset(&s);
	pthread_barrier_wait(l->go);
	for (i = 0; i < l->rounds; i++) {
		struct store_audit_leaf leaf = { "verdict", "\"by\":\"locker\"" };
		struct store_batch b;
		struct rev_buf rb;
		size_t before = s.n_revs;
		int ret;

		struct store_tx *tx;

		/* As a controller does: lock (and catch up), then change, then commit. */
		ret = store_write_begin(l->st, s.head, on_record, &s, &tx);
		if (ret) {
			l->errors++;
			continue;
		}
		l->caught_up += s.n_revs - before;
		make_revs(&rb, s.head, 2, "verdict");
		b = (struct store_batch){ .first_revision = s.head + 1, .revisions = rb.revs,
					  .n_revisions = 2, .audit = &leaf, .n_audit = 1, .tx = tx };
		ret = store_commit(l->st, &b);
		if (!ret)
			s.head += 2;
		else if (ret == STORE_CONFLICT)
			l->conflicts++;
		else
			l->errors++;
	}
	return NULL;
}

TEST_F(pg, write_lock_serialises_controllers_without_conflicts)
{
	struct locker l[3];
	struct store_tx *tx;
	pthread_barrier_t go;
	pthread_t t[3];
	struct store_batch b;
	struct rev_buf rb;
	struct seen s;
	char *v;
	int i;

	pthread_barrier_init(&go, NULL, 3);
	for (i = 0; i < 3; i++) {
		l[i] = (struct locker){ .rounds = 100, .go = &go };
		l[i].st = open_with(self->url, &self->opt);
		ASSERT_NE(NULL, l[i].st);
	}
	for (i = 0; i < 3; i++)
		ASSERT_EQ(0, pthread_create(&t[i], NULL, lock_main, &l[i]));
	for (i = 0; i < 3; i++)
		pthread_join(t[i], NULL);
	TH_LOG("caught up under the lock: %zu/%zu/%zu revisions", l[0].caught_up,
	       l[1].caught_up, l[2].caught_up);
	for (i = 0; i < 3; i++) {
		EXPECT_EQ(0, l[i].errors);
		EXPECT_EQ(0, l[i].conflicts);
		/* It learnt the others' revisions while taking the lock (all of them
		 * that were committed before its last round). */
		EXPECT_LT(0, l[i].caught_up);
		EXPECT_GE(400, l[i].caught_up);
	}
	v = sql_value(self->url, "SELECT rev FROM store_head");
	EXPECT_STREQ("600", v);
	free(v);
	EXPECT_EQ(300, audit_log_ok(l[0].st));

	/* An abort releases the lock without writing; a commit without it still checks. */
	seen_reset(&s);
	s.head = 600;
	ASSERT_EQ(0, store_write_begin(l[0].st, 600, on_record, &s, &tx));
	ASSERT_NE(NULL, tx);
	store_write_abort(l[0].st, tx);
	ASSERT_EQ(0, store_write_begin(l[1].st, 600, on_record, &s, &tx));	/* free again */
	store_write_abort(l[1].st, tx);
	make_revs(&rb, 599, 1, "pin");
	b = (struct store_batch){ .first_revision = 600, .revisions = rb.revs, .n_revisions = 1 };
	EXPECT_EQ(STORE_CONFLICT, store_commit(l[1].st, &b));
	for (i = 0; i < 3; i++)
		store_close(l[i].st);
	pthread_barrier_destroy(&go);
}

TEST_F(pg, replay_protection_is_shared)
{
	struct store *a = open_with(self->url, &self->opt);
	struct store *b = open_with(self->url, &self->opt);
	const uint8_t nonce[16] = "0123456789abcdef", nonce2[16] = "0123456789abcdeX";

	ASSERT_NE(NULL, a);
	ASSERT_NE(NULL, b);
	EXPECT_EQ(0, store_replay_check_and_set(a, "node-a", nonce, 100));
	/* Accepted by A: refused by B, and by A again. */
	EXPECT_EQ(1, store_replay_check_and_set(b, "node-a", nonce, 100));
	EXPECT_EQ(1, store_replay_check_and_set(a, "node-a", nonce, 100));
	/* Another node, another nonce: fresh. */
	EXPECT_EQ(0, store_replay_check_and_set(b, "node-b", nonce, 100));
	EXPECT_EQ(0, store_replay_check_and_set(b, "node-a", nonce2, 200));
	/* Expiry drops only what is past. */
	EXPECT_EQ(2, store_pg_replay_expire(a, 150));
	EXPECT_EQ(1, store_replay_check_and_set(a, "node-a", nonce2, 200));
	store_close(a);
	store_close(b);
}

static bool wait_readable(struct store *st, int timeout_ms)
{
	struct pollfd p = { .fd = store_notify_fd(st), .events = POLLIN };
	uint64_t v;

	if (p.fd < 0 || poll(&p, 1, timeout_ms) != 1)
		return false;
	return read(p.fd, &v, sizeof(v)) == sizeof(v);
}

TEST_F(pg, notify_wakes_the_other_store_and_poll_replays)
{
	struct store *a = open_with(self->url, &self->opt);
	struct store *b = open_with(self->url, &self->opt);
	struct store_audit_leaf leaf = { "verdict", "" };
	struct store_batch batch;
	struct store_epoch e;
	struct rev_buf rb;
	struct seen s;
	int64_t t0;

	ASSERT_NE(NULL, a);
	ASSERT_NE(NULL, b);
	seen_reset(&s);
	ASSERT_EQ(0, store_load(b, on_record, &s, &e));
	EXPECT_FALSE(wait_readable(b, 200));	/* nothing yet */
	make_revs(&rb, 0, 2, "verdict");
	batch = (struct store_batch){ .first_revision = 1, .revisions = rb.revs, .n_revisions = 2,
				      .audit = &leaf, .n_audit = 1 };
	t0 = ms_now();
	ASSERT_EQ(0, store_commit(a, &batch));
	EXPECT_TRUE(wait_readable(b, 2000));
	TH_LOG("NOTIFY reached the other store in %lld ms", (long long)(ms_now() - t0));
	seen_reset(&s);
	ASSERT_EQ(0, store_poll(b, 0, on_record, &s));
	EXPECT_EQ(2, s.n_revs);
	/* Polling from the head: nothing new; a benchmark alone wakes nobody. */
	seen_reset(&s);
	ASSERT_EQ(0, store_poll(b, 2, on_record, &s));
	EXPECT_EQ(0, s.n_revs);
	store_close(a);
	store_close(b);
}

TEST_F(pg, benchmark_committed_late_is_still_polled)
{
	struct store *b = open_with(self->url, &self->opt);
	struct store_epoch e;
	struct seen s;
	PGconn *slow;
	PGresult *r;

	ASSERT_NE(NULL, b);
	seen_reset(&s);
	ASSERT_EQ(0, store_load(b, on_record, &s, &e));
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
	seen_reset(&s);
	ASSERT_EQ(0, store_poll(b, 0, on_record, &s));
	ASSERT_EQ(1, s.n_bench);
	EXPECT_STREQ("early", s.bench_ids[0]);
	PQclear(PQexec(slow, "COMMIT"));
	PQfinish(slow);
	seen_reset(&s);
	ASSERT_EQ(0, store_poll(b, 0, on_record, &s));
	/* "late" has a lower seq than "early" but is not skipped. */
	ASSERT_LE(1, s.n_bench);
	EXPECT_STREQ("late", s.bench_ids[0]);
	/* Once nothing is in flight the window closes. */
	seen_reset(&s);
	ASSERT_EQ(0, store_poll(b, 0, on_record, &s));
	seen_reset(&s);
	ASSERT_EQ(0, store_poll(b, 0, on_record, &s));
	EXPECT_EQ(0, s.n_bench);
	store_close(b);
}

TEST_F(pg, database_down_then_back_unavailable_then_recovered)
{
	struct store *st = open_with(self->url, &self->opt);
	struct store_tx *tx;
	const uint8_t nonce[16] = "fedcba9876543210";
	struct store_epoch e;
	struct store_batch b;
	struct rev_buf rb;
	struct seen s;
	int64_t t0, waited;
	int ret;

	ASSERT_NE(NULL, st);
	if (!getenv("MESHNET_PG_DIR"))
		SKIP(return, "MESHNET_PG_DIR not set");
	make_revs(&rb, 0, 1, "enrol");
	b = (struct store_batch){ .first_revision = 1, .revisions = rb.revs, .n_revisions = 1 };
	ASSERT_EQ(0, store_commit(st, &b));

	ASSERT_EQ(0, pg_server("kill"));
	t0 = ms_now();
	make_revs(&rb, 1, 1, "verdict");
	b = (struct store_batch){ .first_revision = 2, .revisions = rb.revs, .n_revisions = 1 };
	EXPECT_EQ(STORE_UNAVAILABLE, store_commit(st, &b));
	EXPECT_EQ(STORE_UNAVAILABLE, store_replay_check_and_set(st, "n", nonce, 9));
	EXPECT_EQ(STORE_UNAVAILABLE, store_write_begin(st, 1, on_record, &s, &tx));
	seen_reset(&s);
	EXPECT_EQ(STORE_UNAVAILABLE, store_poll(st, 0, on_record, &s));
	EXPECT_FALSE(store_pg_available(st));
	waited = ms_now() - t0;
	TH_LOG("three calls while down answered in %lld ms", (long long)waited);
	EXPECT_GT(6000, waited);	/* at once, not after connect timeouts */
	usleep(300000);
	{	/* drain wakes from before */
		uint64_t v;

		while (read(store_notify_fd(st), &v, sizeof(v)) == sizeof(v))
			;
	}

	ASSERT_EQ(0, pg_server("start"));
	t0 = ms_now();
	do {
		ret = store_commit(st, &b);
		if (ret == STORE_UNAVAILABLE)
			usleep(100000);
	} while (ret == STORE_UNAVAILABLE && ms_now() - t0 < 20000);
	EXPECT_EQ(0, ret);
	TH_LOG("recovered %lld ms after the restart", (long long)(ms_now() - t0));
	EXPECT_TRUE(store_pg_available(st));
	/* The listener reconnected and woke its waiters (commits may have been missed). */
	EXPECT_TRUE(wait_readable(st, 5000));
	/* Nothing committed before the crash was lost. */
	seen_reset(&s);
	ASSERT_EQ(0, store_load(st, on_record, &s, &e));
	EXPECT_EQ(2, s.n_revs);
	store_close(st);
}

/*
 * The log's head lives in the database: a controller continues it only if
 * its checkpoint verifies with the controller's key and covers no more than
 * the records (removed records, a dropped or foreign checkpoint: refused);
 * a database from before the tree gets a first leaf committing to its chain.
 */
TEST_F(pg, transparency_log_head_is_checked_at_open)
{
	struct store_audit_leaf leaves[3] = {
		{ "enrol", "\"node_id\":\"a\"" }, { "verdict", "\"node_id\":\"a\"" },
		{ "remove", "\"node_id\":\"a\"" },
	};
	EVP_PKEY *other = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	char upd[256];
	struct store_batch b;
	struct rev_buf rb;
	struct store *st;
	uint64_t n;
	char *v;

	ASSERT_NE(NULL, other);
	st = open_with(self->url, &self->opt);
	ASSERT_NE(NULL, st);
	make_revs(&rb, 0, 1, "enrol");
	b = (struct store_batch){ .first_revision = 1, .revisions = rb.revs, .n_revisions = 1,
				  .audit = leaves, .n_audit = 3, .now = 1000 };
	ASSERT_EQ(0, store_commit(st, &b));
	/* Audit leaves without a revision (they lock the head too). */
	b = (struct store_batch){ .audit = leaves, .n_audit = 1, .now = 1001 };
	ASSERT_EQ(0, store_commit(st, &b));
	EXPECT_EQ(4, audit_log_ok(st));
	v = sql_value(self->url, "SELECT count(*) || ' ' || count(rev) FROM tlog_records");
	EXPECT_STREQ("4 3", v);	/* the first three record revision 1 */
	free(v);
	store_close(st);

	/* Another controller key: its checkpoint does not verify, refused. */
	store_pg_set_options(&self->opt);
	st = store_open(self->url);
	ASSERT_NE(NULL, st);
	EXPECT_EQ(STORE_ERROR, store_open_log(st, LOG_ORIGIN, other));
	EXPECT_EQ(NULL, store_log(st));
	/* Leaves cannot be committed before the log is open. */
	b = (struct store_batch){ .audit = leaves, .n_audit = 1, .now = 1002 };
	EXPECT_EQ(STORE_ERROR, store_commit(st, &b));
	store_close(st);

	/* Records removed from the tail (head moved back with them): refused. */
	ASSERT_EQ(0, sql(self->url, "BEGIN; CREATE TABLE keep AS SELECT * FROM store_head;"
			 "DELETE FROM tlog_records WHERE idx = 3; DELETE FROM tlog_hashes WHERE "
			 "idx >= 4; UPDATE store_head SET tlog_size = 3, tlog_frontier = "
			 "(SELECT hash FROM tlog_hashes WHERE idx = 3) || "
			 "(SELECT hash FROM tlog_hashes WHERE idx = 2); COMMIT"));
	EXPECT_EQ(NULL, open_with(self->url, &self->opt));
	/* The checkpoint dropped: refused, not re-signed. */
	ASSERT_EQ(0, sql(self->url, "UPDATE store_head SET tlog_checkpoint = ''"));
	EXPECT_EQ(NULL, open_with(self->url, &self->opt));

	/* A database from before the tree: its chain is committed to by leaf 0. */
	ASSERT_EQ(0, sql(self->url, "DELETE FROM tlog_records; DELETE FROM tlog_hashes; "
			 "UPDATE store_head SET tlog_size = 0, tlog_frontier = '', "
			 "tlog_checkpoint = ''"));
	ASSERT_EQ(0, sql(self->url, "INSERT INTO audit_records (seq, record) VALUES (1, "
			 "'{\"seq\":1,\"time\":\"1970-01-01T00:16:40Z\",\"type\":\"enrol\","
			 "\"prev\":\"0000000000000000000000000000000000000000000000000000000000000000\"}')"));
	v = sql_value(self->url, "SELECT encode(sha256(convert_to(record, 'UTF8')), 'hex') "
		      "FROM audit_records");
	ASSERT_NE(NULL, v);
	snprintf(upd, sizeof(upd), "UPDATE store_head SET audit_size = 1, audit_prev = '%s'", v);
	free(v);
	ASSERT_EQ(0, sql(self->url, upd));
	st = open_with(self->url, &self->opt);
	ASSERT_NE(NULL, st);
	EXPECT_EQ(1, audit_log_ok(st));
	v = sql_value(self->url, "SELECT record LIKE '%\"type\":\"migrated\",\"chain\":"
		      "{\"table\":\"audit_records\",\"records\":1,%' FROM tlog_records");
	EXPECT_STREQ("t", v);
	free(v);
	tlog_store_head(store_log(st), &n, NULL);
	EXPECT_EQ(1, n);
	store_close(st);
	/* A damaged chain is not continued. */
	ASSERT_EQ(0, sql(self->url, "DELETE FROM tlog_records; DELETE FROM tlog_hashes; "
			 "UPDATE store_head SET tlog_size = 0, tlog_frontier = '', "
			 "tlog_checkpoint = ''; UPDATE audit_records SET record = "
			 "replace(record, 'enrol', 'remove')"));
	EXPECT_EQ(NULL, open_with(self->url, &self->opt));
	EVP_PKEY_free(other);
}

/*
 * Leaves of a batch without revisions (defer_audit) commit without the head
 * row: two stores (two controllers) commit them while another session holds
 * that row, so none of them waits for it; each is durable in tlog_pending,
 * and once the row is free the sequencers append every one exactly once, in
 * one tree whose checkpoint verifies. A leaf that could not be appended is
 * refused with nothing written; none before the log is open.
 */
TEST_F(pg, deferred_leaves_commit_without_the_head_and_are_sequenced_once)
{
	struct store *st[2];
	struct store_audit_leaf leaf;
	struct store_text rec;
	struct store_batch b;
	char fields[64], json[128], *huge;
	PGconn *holder;
	PGresult *r;
	long before, n;
	int64_t t0;
	char *v;
	int i;

	st[0] = open_with(self->url, &self->opt);
	st[1] = open_with(self->url, &self->opt);
	ASSERT_NE(NULL, st[0]);
	ASSERT_NE(NULL, st[1]);
	before = audit_log_ok(st[0]);
	ASSERT_LE(0, before);

	/* Another session holds the head row (as a controller's write lock does). */
	holder = PQconnectdb(self->url);
	ASSERT_EQ(CONNECTION_OK, PQstatus(holder));
	r = PQexec(holder, "BEGIN; SELECT rev FROM store_head WHERE id = 1 FOR UPDATE");
	ASSERT_EQ(PGRES_TUPLES_OK, PQresultStatus(r));
	PQclear(r);
	for (i = 0; i < 20; i++) {
		snprintf(fields, sizeof(fields), "\"node_id\":\"n%d\",\"n\":%d", i % 2, i);
		rec.len = (size_t)snprintf(json, sizeof(json),
					   "{\"t\":\"bench\",\"node_id\":\"n%d\",\"i\":%d}",
					   i % 2, i);
		rec.data = json;
		leaf = (struct store_audit_leaf){ "benchmark", fields };
		b = (struct store_batch){ .records = &rec, .n_records = 1, .audit = &leaf,
					  .n_audit = 1, .now = 2000 + i, .defer_audit = true };
		ASSERT_EQ(0, store_commit(st[i % 2], &b));
	}
	EXPECT_EQ(20, store_pg_log_pending(st[0]));
	v = sql_value(self->url, "SELECT tlog_size FROM store_head");
	EXPECT_EQ(before, v ? atol(v) : -1);	/* the log did not move yet */
	free(v);

	/* Refused, nothing written: a leaf holding a newline, one too long. */
	leaf = (struct store_audit_leaf){ "benchmark", "\"x\":\"a\nb\"" };
	b = (struct store_batch){ .records = &rec, .n_records = 1, .audit = &leaf, .n_audit = 1,
				  .now = 3000, .defer_audit = true };
	EXPECT_EQ(STORE_ERROR, store_commit(st[0], &b));
	huge = malloc(TLOG_RECORD_MAX + 2);
	ASSERT_NE(NULL, huge);
	memset(huge, 'a', TLOG_RECORD_MAX + 1);
	huge[TLOG_RECORD_MAX + 1] = '\0';
	leaf = (struct store_audit_leaf){ "benchmark", huge };
	EXPECT_EQ(STORE_ERROR, store_commit(st[0], &b));
	free(huge);
	v = sql_value(self->url, "SELECT (SELECT count(*) FROM benchmarks) || ' ' || "
		      "(SELECT count(*) FROM tlog_pending)");
	EXPECT_STREQ("20 20", v ? v : "(none)");
	free(v);

	r = PQexec(holder, "ROLLBACK");
	PQclear(r);
	PQfinish(holder);
	/* The sequencer threads (woken by the commits, retrying) append them. */
	t0 = ms_now();
	while ((n = store_pg_log_pending(st[0])) > 0 && ms_now() - t0 < 20000)
		usleep(20000);
	EXPECT_EQ(0, n);
	TH_LOG("sequenced %lld ms after the head row was free", (long long)(ms_now() - t0));
	EXPECT_EQ(0, store_pg_log_sequence(st[1]));	/* nothing left */
	EXPECT_EQ(before + 20, audit_log_ok(st[0]));
	EXPECT_EQ(before + 20, audit_log_ok(st[1]));
	/* Each exactly once, leaf i at its own index, time stamps as committed. */
	v = sql_value(self->url, "SELECT count(*) || ' ' || count(DISTINCT record::json->>'n') || "
		      "' ' || bool_and((record::json->>'index')::bigint = idx) || ' ' || "
		      "count(rev) FROM tlog_records WHERE record::json->>'type' = 'benchmark'");
	EXPECT_STREQ("20 20 true 0", v ? v : "(none)");
	free(v);
	store_close(st[0]);
	store_close(st[1]);

	/* Before the log is open, a deferred leaf is refused too. */
	store_pg_set_options(&self->opt);
	st[0] = store_open(self->url);
	ASSERT_NE(NULL, st[0]);
	leaf = (struct store_audit_leaf){ "benchmark", "\"n\":99" };
	b = (struct store_batch){ .audit = &leaf, .n_audit = 1, .now = 4000,
				  .defer_audit = true };
	EXPECT_EQ(STORE_ERROR, store_commit(st[0], &b));
	store_close(st[0]);
}

TEST_HARNESS_MAIN
