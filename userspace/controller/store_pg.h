/* SPDX-License-Identifier: MIT */
/*
 * The PostgreSQL backend of store.h (STORE=postgres://...): several
 * meshnetd processes on one database, all active.
 *
 * Every store_commit() is one transaction, committed before the caller
 * replies. Revisions are serialised by one row (store_head): a commit of
 * revisions base+1..base+k updates it only WHERE rev = base, so when two
 * controllers race, one wins and the other gets STORE_CONFLICT (it catches
 * up with store_poll() and retries). Epoch ids are a primary key and every
 * epoch comes with its revision, so an epoch is created exactly once. Audit
 * leaves take their index in the log from the same row: one head,
 * serialised in the database. A batch that changes no revision (benchmarks)
 * does not take that row: its leaves are committed into tlog_pending with
 * it, and a sequencing pass (any controller's sequencer thread, one at a
 * time) appends them to the log shortly after (store_pg_log_sequence).
 * The commit NOTIFYs channel
 * meshnet_commit; a listener thread turns that into the store_notify_fd()
 * eventfd (stable across reconnects) that the other controllers wait on.
 *
 * Epoch secrets are sealed (epoch_seal.h) under STORE_KEY_FILE; the
 * database records the key's id, and a controller with another key file is
 * refused at start.
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

#include "store.h"

extern const struct store_backend store_pg_backend;

/* The newest schema this binary knows (store_pg_schema.c). */
extern const int store_pg_schema_version;

struct store_pg_options {
	const char *key_file;		/* STORE_KEY_FILE: created (0600) if the database has no key yet */
	unsigned int pool_size;		/* STORE_POOL connections, default 8 */
	bool without_key;		/* audit-verify: no key needed, epochs unreadable */
};

/* Options for the next store_open("postgres://...") (copied). */
void store_pg_set_options(const struct store_pg_options *opt);

/*
 * The newest committed epoch if its id is above after_epoch: fills *e and
 * returns 1; 0 if there is none newer; STORE_* on error.
 */
int store_pg_newest_epoch(struct store *st, uint64_t after_epoch, struct store_epoch *e);

/* Whether the last use of the database worked (for /health and metrics). */
bool store_pg_available(struct store *st);

/* Deletes expired replay entries (also done by the listener thread every 30 s). */
long store_pg_replay_expire(struct store *st, int64_t now);

/* The v1 hash chain kept in audit_records (databases from before the tree). */
int store_pg_chain_head(struct store *st, char hash[65], uint64_t *records);

/*
 * `meshnetd migrate`: into an empty database, in one transaction, the
 * compacted records of a state directory, its current epoch (may be NULL),
 * its v1 audit chain (JSON lines, verified; may be empty) and its
 * transparency log (the records of STATE_DIR/tlog as JSON lines, the same
 * leaves in the same order, and its checkpoint note). STORE_CONFLICT if the
 * database is not empty.
 */
int store_pg_import(struct store *st, const char *snapshot, size_t snapshot_len,
		    const struct store_epoch *epoch, const char *audit, size_t audit_len,
		    const char *tlog, size_t tlog_len, const char *checkpoint,
		    size_t checkpoint_len);

/* Every record of the v1 chain (audit_records), in order. */
int store_pg_audit_dump(struct store *st, int (*line)(void *ctx, const char *rec, size_t len),
			void *ctx);

/*
 * Writes the transparency log as an export directory (records-NNNNNN.jsonl,
 * hashes-NNNNNN, checkpoint: what `meshnetd audit-verify DIR` reads), from
 * one consistent read. 0; 1 with msg if the tables are inconsistent;
 * STORE_* on error.
 */
int store_pg_log_export(struct store *st, const char *dir, uint64_t *records, char *msg,
			size_t msg_len);

/*
 * One sequencing pass now: every leaf committed into tlog_pending is
 * appended to the log, in commit order, and removed from there, in one
 * transaction that takes the head row and signs the new checkpoint. Returns
 * the number of leaves appended (0: none waiting, or another controller's
 * pass is running: it takes them), or STORE_*. Every controller's sequencer
 * thread runs it after its own deferred commits and every second.
 */
long store_pg_log_sequence(struct store *st);

/* Leaves committed but not yet in the log (tlog_pending), or STORE_*. */
long store_pg_log_pending(struct store *st);

#endif
