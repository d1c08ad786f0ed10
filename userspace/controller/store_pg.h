/* SPDX-License-Identifier: MIT */
/*
 * The PostgreSQL backend of store.h (STORE=postgres://...): several
 * meshnetd processes on one database, all active.
 *
 * Every change is one transaction, committed before the caller replies.
 * Revisions are serialised by one row (store_head): a commit of revisions
 * base+1..base+k updates it only WHERE rev = base, so when two controllers
 * race, one wins and the other gets STORE_CONFLICT (it catches up with
 * store_pg_poll and retries). Epoch ids are a primary key and every epoch is
 * a revision, so an epoch is created exactly once. Audit leaves take their
 * index from the same row: one head, serialised in the database. The commit
 * NOTIFYs channel meshnet_commit; the other controllers LISTEN and replay
 * what they missed with store_pg_poll.
 *
 * A connection that breaks is re-established on its next use; while the
 * database is down every call returns STORE_UNAVAILABLE at once (the API
 * answers 503 with a JSON error) and the store recovers by itself.
 */
#ifndef MESHNETD_STORE_PG_H
#define MESHNETD_STORE_PG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#include "epoch_seal.h"
#include "hkdf.h"

/* Results shared with store.h. */
#ifndef STORE_CONFLICT
#define STORE_CONFLICT 1	/* another controller committed those revisions first */
#define STORE_UNAVAILABLE 2	/* the database cannot be reached now: 503 */
#endif

/* The newest schema this binary knows (userspace/controller/store_pg_schema.c). */
extern const int store_pg_schema_version;

struct store_pg;

struct store_pg_epoch {
	uint64_t id;
	int64_t start, expiry;
	uint8_t secret[MESHNET_EPOCH_SECRET_LEN];
};

/* One revision record, {"rev":N,"kind":...} (CONTRACT-v2 §1). */
struct store_pg_rev {
	uint64_t rev;
	const char *kind;
	const char *json;
	size_t len;
};

struct store_pg_blob {
	const void *data;
	size_t len;
};

/* What one store_pg_commit writes, in one transaction. */
struct store_pg_batch {
	uint64_t base_rev;			/* the head the caller holds */
	const struct store_pg_rev *revs;	/* base_rev+1, base_rev+2, ... */
	size_t n_revs;
	const struct store_pg_blob *benchmarks;	/* JSON records, no revision */
	size_t n_benchmarks;
	const struct store_pg_blob *leaves;	/* audit/tlog leaves, appended in order */
	size_t n_leaves;
	const struct store_pg_epoch *epoch;	/* optional; its start is one of revs */
};

/* What a load or a poll hands back, in order. Any callback may be NULL. */
struct store_pg_sink {
	void *ctx;
	int (*snapshot)(void *ctx, struct json_object *rec);	/* compacted records */
	int (*revision)(void *ctx, uint64_t rev, struct json_object *rec);
	int (*benchmark)(void *ctx, struct json_object *rec);
	int (*leaf)(void *ctx, uint64_t index, const uint8_t *leaf, size_t len);
	int (*epoch)(void *ctx, const struct store_pg_epoch *e);	/* the newest */
};

struct store_pg_options {
	const char *key_file;		/* STORE_KEY_FILE: created (0600) on first use */
	unsigned int pool_size;		/* connections, default 8 */
};

/*
 * Connects, runs the migrations (refusing a database newer than this binary)
 * and checks the key file against the database. NULL with a logged reason.
 */
struct store_pg *store_pg_open(const char *url, const struct store_pg_options *opt);
void store_pg_close(struct store_pg *st);

/*
 * Everything, in one consistent snapshot: the compacted records, then the
 * revisions after it, the newest benchmark of each node, every audit leaf
 * and the newest epoch. *head: the newest revision.
 */
int store_pg_load(struct store_pg *st, const struct store_pg_sink *sink, uint64_t *head);

/* 0, STORE_CONFLICT, STORE_UNAVAILABLE or -1 (refused; logged). */
int store_pg_commit(struct store_pg *st, const struct store_pg_batch *b);

/*
 * What others committed: revisions after after_rev, audit leaves from
 * after_leaves, benchmarks since the last poll, and the newest epoch if it is
 * newer than after_epoch. *head: the newest revision seen.
 */
int store_pg_poll(struct store_pg *st, uint64_t after_rev, uint64_t after_leaves,
		  uint64_t after_epoch, const struct store_pg_sink *sink, uint64_t *head);

/*
 * The LISTEN connection's socket (poll it for POLLIN), or -1 while the
 * database is down (then poll again within a second).
 * store_pg_notify_consume() reads what arrived: 1 if a commit was
 * announced (or the listener reconnected: something may have been missed),
 * 0 if nothing, STORE_UNAVAILABLE if the database is down.
 */
int store_pg_notify_fd(struct store_pg *st);
int store_pg_notify_consume(struct store_pg *st);

/* 0 fresh (recorded now), 1 seen before (a replay), STORE_UNAVAILABLE. */
int store_pg_replay_check_and_set(struct store_pg *st, const char *node_id,
				  const uint8_t *nonce, size_t nonce_len, int64_t expiry);
/* Deletes expired replay entries; returns how many or -1. */
long store_pg_replay_expire(struct store_pg *st, int64_t now);

/* Replaces the compacted snapshot (records up to rev) with these lines. */
int store_pg_compact(struct store_pg *st, uint64_t rev, const char *lines, size_t len);

/* Whether the last use of the database failed (for /health and metrics). */
bool store_pg_available(struct store_pg *st);

#endif
