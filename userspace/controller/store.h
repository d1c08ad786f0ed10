/* SPDX-License-Identifier: MIT */
/*
 * meshnetd's storage interface (v2). Everything the controller persists
 * goes through here; nothing else in meshnetd does file or database I/O.
 * A store is opened from a URL and served by one backend:
 *
 *   dir:/var/lib/meshnetd  (or a plain path)  the state directory, store_dir.c
 *   postgres://...                            PostgreSQL 15, store_pg.c
 *
 * Records are JSON objects; the controller defines their meaning, the store
 * keeps them in order. There are two kinds:
 *   - revision records {"rev":N,"kind":"enrol|remove|verdict|pin|epoch",...}:
 *     one per committed change, N = 1, 2, 3, ... without gaps; the log other
 *     controllers replay (store_poll);
 *   - plain records (benchmarks): durable, but no revision of their own.
 *
 * Every write is one store_commit() of a batch: revision records, plain
 * records, audit leaves and optionally the new current epoch (with its
 * secret), atomic and durable before the call returns. Order of durability
 * inside a batch (dir backend: one fdatasync each, group-committed across
 * the batches that queue up while one is syncing): records and revisions,
 * then the epoch, then the audit leaves; the audit head moves only after
 * its leaf is on disk.
 *
 * Results: 0 or one of the STORE_* codes below (negative).
 *
 * State directory layout (dir backend):
 *   snapshot.jsonl  compacted records (atomic: temp, fsync, rename, fsync dir)
 *   journal.jsonl   records appended since the snapshot
 *   epoch.json      current epoch with its secret, mode 0600, atomic
 *   tlog/           the audit log: a Merkle-tree transparency log with signed
 *                   checkpoints (store_dir_tlog.h, tlog_store.h)
 *   audit.jsonl     v1 hash-chained audit log, if any: kept read-only, migrated
 *   status.json     public status without secrets, atomic
 */
#ifndef MESHNETD_STORE_H
#define MESHNETD_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#include <openssl/evp.h>

#include "hkdf.h"

#define STORE_ERROR (-1)	/* I/O or encoding error (logged): reply 500 */
#define STORE_CONFLICT (-2)	/* another controller committed these revisions first:
				 * catch up with store_poll(), then retry */
#define STORE_UNAVAILABLE (-3)	/* backend unreachable: reply 503 + Retry-After */
#define STORE_NOT_SHARED (-4)	/* the backend keeps no shared state for this call */

struct store_tx;	/* an open write transaction (store_write_begin) */

/* Every backend's state begins with this (container_of to its own). */
struct store {
	const struct store_backend *backend;
};

struct store_epoch {
	uint64_t id;
	uint64_t revision;		/* the revision that started it; 0 in v1 state */
	int64_t start;
	int64_t expiry;			/* planned rotation (start + EPOCH_SECONDS) */
	int64_t valid_until;		/* lease end (start + EPOCH_VALIDITY); 0: = expiry */
	uint8_t secret[MESHNET_EPOCH_SECRET_LEN];
};

/* One JSON object, without a trailing newline. */
struct store_text {
	const char *data;
	size_t len;
};

struct tlog_store;

/* One audit leaf: type and the JSON fields fragment of audit_format_leaf(). */
struct store_audit_leaf {
	const char *type;
	const char *fields;
};

struct store_batch {
	/* revisions[i] is revision first_revision + i; first_revision = head + 1 */
	uint64_t first_revision;
	const struct store_text *revisions;
	size_t n_revisions;
	const struct store_text *records;	/* plain records (benchmarks) */
	size_t n_records;
	const struct store_audit_leaf *audit;
	size_t n_audit;
	const struct store_epoch *epoch;	/* NULL, or the epoch that becomes current */
	int64_t now;				/* time stamp of the audit leaves */
	struct store_tx *tx;			/* from store_write_begin(): commits in it */
	/*
	 * A batch without revisions, epoch or tx may commit its audit leaves
	 * without taking the log's head (PostgreSQL: into tlog_pending, durable
	 * with the batch; a sequencing pass appends them to the log shortly
	 * after, in order, each exactly once). dir: ignored (appended at once).
	 */
	bool defer_audit;
};

/* Called per stored record in order; non-zero stops the load. */
typedef int (*store_record_fn)(void *ctx, struct json_object *rec);

/* What a backend provides (store.c dispatches; see store_dir.c). */
struct store_backend {
	const char *scheme;		/* "dir", "postgres" */
	struct store *(*open)(const char *url);
	void (*close)(struct store *st);
	int (*load)(struct store *st, store_record_fn apply, void *ctx, struct store_epoch *epoch);
	int (*commit)(struct store *st, const struct store_batch *b);
	int (*poll)(struct store *st, uint64_t after_revision, store_record_fn apply, void *ctx);
	int (*notify_fd)(struct store *st);
	int (*replay_check_and_set)(struct store *st, const char *node_id,
				    const uint8_t nonce[16], int64_t expiry);
	int (*compact)(struct store *st, const char *snapshot, size_t len);
	/* the audit log (transparency log): see store_open_log() */
	int (*log_open)(struct store *st, const char *origin, EVP_PKEY *key);
	struct tlog_store *(*log)(struct store *st);
	int (*write_begin)(struct store *st, uint64_t have_revision, store_record_fn apply,
			   void *ctx, struct store_tx **tx);
	void (*write_abort)(struct store *st, struct store_tx *tx);
};

extern const struct store_backend store_dir_backend;

/*
 * Opens "dir:/path", a plain path (the state directory) or "postgres://...".
 * NULL (after logging why) on error.
 */
struct store *store_open(const char *url);
void store_close(struct store *st);

/*
 * At start: replays the compacted snapshot, then every record after it, in
 * order; fills *epoch and returns 1 if an epoch was committed (0 if none,
 * negative on error).
 */
int store_load(struct store *st, store_record_fn apply, void *ctx, struct store_epoch *epoch);

/* One atomic, durable transaction (see above). 0 or STORE_*. */
int store_commit(struct store *st, const struct store_batch *b);

/*
 * Records other controllers committed after after_revision, in order
 * (revision records and plain records). dir: nothing (returns 0).
 */
int store_poll(struct store *st, uint64_t after_revision, store_record_fn apply, void *ctx);

/* A descriptor readable when store_poll has news (PG: LISTEN socket); -1 for dir. */
int store_notify_fd(struct store *st);

/*
 * Shared replay check of a signed request's (node, nonce) until expiry:
 * 0 fresh (recorded), 1 seen, STORE_NOT_SHARED (dir: the controller keeps
 * its in-memory cache), or STORE_UNAVAILABLE.
 */
int store_replay_check_and_set(struct store *st, const char *node_id, const uint8_t nonce[16],
			       int64_t expiry);

/* Replaces the snapshot with the given lines; the records before it may go. */
int store_compact(struct store *st, const char *snapshot, size_t len);

/*
 * The audit log: every audit leaf is a record of a transparency log named
 * origin ("meshnetd/<MESH_ID>") whose checkpoints key signs. Opened once at
 * start, before anything is committed (dir: STATE_DIR/tlog, migrating a v1
 * audit.jsonl). store_log() is its read side (checkpoint, proofs, records;
 * tlog_store.h); NULL if the backend keeps none.
 */
int store_open_log(struct store *st, const char *origin, EVP_PKEY *key);
struct tlog_store *store_log(struct store *st);

/*
 * The write lock of a store shared by several controllers, taken before a
 * write changes memory (so the commit cannot conflict): waits while another
 * controller writes, then replays through apply every revision after
 * have_revision (the caller is then at the head) and returns the open
 * transaction in *tx; the store_commit() of a batch carrying it (.tx)
 * commits in it and ends the lock, as does store_write_abort(). Another
 * store_write_begin() meanwhile waits for that commit. 0, or
 * STORE_UNAVAILABLE / STORE_ERROR with nothing changed.
 * dir: nothing to lock (one controller per directory): *tx = NULL, 0.
 */
int store_write_begin(struct store *st, uint64_t have_revision, store_record_fn apply, void *ctx,
		      struct store_tx **tx);
void store_write_abort(struct store *st, struct store_tx *tx);

/* ---- state directory only (v1 calls, folded into store_commit in v2) ---- */

/* Appends a record (enrolment, removal, override) durably (fdatasync). */
int store_save_node(struct store *st, const char *record, size_t len);
/* Appends a record (benchmark, verdict); survives a process crash. */
int store_save_benchmark(struct store *st, const char *record, size_t len);
size_t store_journal_size(struct store *st);
/* Makes e the current epoch (secret only in the 0600 epoch.json). */
int store_commit_epoch(struct store *st, const struct store_epoch *e);
/*
 * Appends one audit record, a leaf of the log; fields as in
 * audit_format_leaf(). sync: durable and under a signed checkpoint now (a
 * bulk import passes false and calls store_sync() once at the end).
 */
int store_append_audit(struct store *st, int64_t now, const char *type, const char *fields,
		       bool sync);
/* fdatasync of the journal; commits (and checkpoints) the audit log. */
int store_sync(struct store *st);
/* The audit log's committed size and root hash (hex). */
void store_audit_head(struct store *st, char hash[65], uint64_t *records);

/* Publishes status.json atomically (dir; other backends: a no-op). */
int store_publish_status(struct store *st, const char *json, size_t len);

/* Verifies a v1 audit chain file; prints the verdict; 0 intact, 1 bad, 2 error. */
int store_audit_verify_file(const char *path);

#endif
