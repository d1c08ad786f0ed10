/* SPDX-License-Identifier: MIT */
/*
 * The PostgreSQL backend's internals, shared by its files: store_pg.c (the
 * pool, commits, load/poll, replay, compaction) and store_pg_tlog.c (the
 * transparency log in tables). Nothing outside the backend includes this.
 */
#ifndef MESHNETD_STORE_PG_CONN_H
#define MESHNETD_STORE_PG_CONN_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include <libpq-fe.h>
#include <openssl/evp.h>

#include "epoch_seal.h"
#include "store.h"
#include "strbuf.h"
#include "tlog/checkpoint.h"
#include "tlog/merkle.h"

struct pg_slot {
	PGconn *conn;
	bool busy;
};

struct store_pg {
	struct store base;
	char *url;
	char origin[64];		/* this process, in every row it writes */
	uint8_t key[EPOCH_SEAL_KEY_LEN];
	char key_id[EPOCH_SEAL_KEY_ID_HEX];

	pthread_mutex_t lock;		/* the pool */
	pthread_cond_t cond;
	struct pg_slot *slots;
	unsigned int n_slots;
	int64_t down_until_ms;
	bool available;

	PGconn *listen;			/* the listener thread's LISTEN connection */
	pthread_t listener;
	bool listener_started;
	int event_fd;			/* store_notify_fd() */
	int stop_fd;			/* wakes the listener to stop */

	pthread_mutex_t poll_lock;
	char bench_low_xid[24];		/* benchmark low-water mark */
	uint64_t applied_head;		/* newest revision loaded, polled or committed */

	/* the transparency log (store_pg_tlog.c); NULL until store_open_log() */
	struct tlog_store *log;
	EVP_PKEY *log_key;		/* signs checkpoints */
	char log_origin[TLOG_ORIGIN_MAX + 1];

	/* the sequencer: appends tlog_pending to the log (store_pg_tlog.c) */
	pthread_t seq_thread;
	bool seq_started, seq_wake, seq_stop;
	pthread_mutex_t seq_lock;
	pthread_cond_t seq_cond;
	uint64_t seq_passes, seq_leaves;	/* passes that appended, leaves appended */
};

struct store_pg *pg_of(struct store *s);

/* Pool: a connection (reconnected if it broke) or STORE_UNAVAILABLE. */
int pg_conn_get(struct store_pg *st, struct pg_slot **out);
void pg_conn_put(struct store_pg *st, struct pg_slot *slot);
/* A failed statement as STORE_UNAVAILABLE, STORE_CONFLICT or STORE_ERROR (logged). */
int pg_fail(struct store_pg *st, PGconn *conn, PGresult *r, const char *what);
/* One statement (text results); *res (or NULL) holds its result on success. */
int pg_run(struct store_pg *st, PGconn *conn, const char *what, const char *sql, int n,
	   const char *const *vals, const int *lens, const int *fmts, PGresult **res);
/* The same on a connection of the pool, checked out for it. */
int pg_run_pooled(struct store_pg *st, const char *what, const char *sql, int n,
		  const char *const *vals, const int *lens, const int *fmts, PGresult **res);
void pg_rollback(PGconn *conn);
/* COPY ... FROM STDIN in text format: one escaped field, and the copy itself. */
void pg_copy_text(struct strbuf *sb, const char *s, size_t len);
int pg_copy_in(struct store_pg *st, PGconn *conn, const char *what, const char *sql,
	       const struct strbuf *data);

/* ---- the transparency log (store_pg_tlog.c) ---- */

/* A head committed by this transaction, published to readers after COMMIT. */
struct pg_tlog_head {
	bool moved;
	uint64_t size;
	uint8_t root[TLOG_HASH_LEN];
	struct strbuf note;		/* its signed checkpoint ("" without a key) */
};

int pg_tlog_open(struct store_pg *st, const char *origin, EVP_PKEY *key);
void pg_tlog_close(struct store_pg *st);
/*
 * In a transaction that holds the head row: appends the batch's audit
 * leaves (records and stored hashes) after the log's head, moves the head
 * and signs its checkpoint (when the log is open; otherwise the next
 * pg_tlog_open() signs). rev: the batch's last revision or NULL.
 */
int pg_tlog_append(struct store_pg *st, PGconn *conn, const struct store_audit_leaf *leaves,
		   size_t n, int64_t now, const char *rev, struct pg_tlog_head *out);
/* After COMMIT: readers see the head (and h is freed). */
void pg_tlog_publish(struct store_pg *st, struct pg_tlog_head *h);
void pg_tlog_head_free(struct pg_tlog_head *h);
/*
 * In the import transaction: records (JSON lines) appended as leaves 0...,
 * and the source's checkpoint kept if it covers exactly them.
 */
int pg_tlog_import(struct store_pg *st, PGconn *conn, const char *records, size_t len,
		   const char *checkpoint, size_t checkpoint_len, uint64_t *n);
/* In a read transaction: the database's head becomes the one readers see. */
int pg_tlog_refresh(struct store_pg *st, PGconn *conn);
/* Leaves committed in conn's transaction without the head: into tlog_pending. */
int pg_tlog_defer(struct store_pg *st, PGconn *conn, const struct store_audit_leaf *leaves,
		  size_t n, int64_t now);
/* Wakes the sequencer: leaves wait in tlog_pending. */
void pg_tlog_wake(struct store_pg *st);

#endif
