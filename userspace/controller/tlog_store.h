/* SPDX-License-Identifier: MIT */
/*
 * The transparency log of the state-directory store: every audit record is
 * a leaf of an RFC 9162 Merkle tree (lib/tlog), kept in STATE_DIR/tlog/:
 *
 *   records-NNNNNN.jsonl  the records, one JSON object a line, 2^20 a
 *                         segment, append-only; fdatasync'd on every commit
 *                         (this is what makes a record durable)
 *   index-NNNNNN          u64 little-endian end offset of each record in
 *                         its segment (derived: rebuilt from the records)
 *   hashes-NNNNNN         the stored hashes (lib/tlog/merkle.h layout),
 *                         2^20 hashes a segment (derived)
 *   synced                "<n>\n": the index and hashes of the first n
 *                         records are on disk (fdatasync'd, then this file
 *                         written atomically); refreshed every
 *                         TLOG_SYNC_EVERY records and on close
 *   checkpoint            the latest signed checkpoint (C2SP signed note)
 *
 * A commit costs one fdatasync (the record segment), like the old hash
 * chain; the checkpoint is signed after each commit (Ed25519 is
 * deterministic, so the checkpoint of a size is always the same bytes and
 * can be re-made from durable records after a crash). Opening reads the
 * O(log n) right edge of the tree plus the records after the `synced`
 * mark, so start-up does not depend on the log's size; a torn last record
 * (crash mid-write) is cut off with a log line. Proofs read O(log n)
 * stored hashes with pread().
 *
 * Thread safety: appends and commits are serialised by the store's lock;
 * readers (checkpoint, proofs, records) may run concurrently with them and
 * see the last committed size.
 */
#ifndef MESHNETD_TLOG_STORE_H
#define MESHNETD_TLOG_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "strbuf.h"
#include "tlog/checkpoint.h"
#include "tlog/merkle.h"

#define TLOG_RECORDS_PER_SEGMENT ((uint64_t)1 << 20)
#define TLOG_HASHES_PER_SEGMENT ((uint64_t)1 << 20)
#define TLOG_SYNC_EVERY 4096
#define TLOG_RECORD_MAX (1u << 20)

struct tlog_store;

/*
 * Opens (creating) the log in dir. origin names the log in checkpoints
 * (also the signing key's name); key signs checkpoints (the store keeps a
 * reference). Refuses (NULL, logged) a log shorter than its last
 * checkpoint or whose stored hashes disagree with it.
 */
struct tlog_store *tlog_store_open(const char *dir, const char *origin, EVP_PKEY *key);
/* Syncs everything (clean start next time) and frees. */
void tlog_store_close(struct tlog_store *ts);

/*
 * A log whose records and stored hashes another store keeps (the
 * PostgreSQL backend, store_pg_tlog.c: tables written in the transaction of
 * the change they record, the head serialised in the database). The
 * readers below work as for a directory but read through src; appends and
 * checkpoints are that store's (tlog_store_append*() fail with EPERM,
 * tlog_store_commit() has nothing to do), and it publishes each committed
 * head, with the checkpoint it signed, through tlog_store_publish().
 */
struct tlog_store_source {
	tlog_read_hash_fn read_hash;	/* stored hash i (lib/tlog/merkle.h layout) */
	int (*read_record)(void *ctx, uint64_t index, struct strbuf *out);	/* TLOG_* */
	void *ctx;
};
struct tlog_store *tlog_store_open_source(const struct tlog_store_source *src, const char *origin,
					  EVP_PKEY *key);
/*
 * Makes size (with root and its signed checkpoint note) the committed head
 * readers see; a head older than the one published is ignored (0).
 */
int tlog_store_publish(struct tlog_store *ts, uint64_t size, const uint8_t root[TLOG_HASH_LEN],
		       const char *note, size_t note_len);

/*
 * Appends one record (no newline inside; at most TLOG_RECORD_MAX bytes).
 * Not durable, not visible to readers until tlog_store_commit(). *index
 * (or NULL) gets its leaf index.
 */
int tlog_store_append(struct tlog_store *ts, const char *record, size_t len, uint64_t *index);
/*
 * The same for a record that names its own index: format(ctx, index, sb)
 * writes the record for leaf `index` into sb, under the append lock.
 */
typedef void (*tlog_format_fn)(void *ctx, uint64_t index, struct strbuf *sb);
int tlog_store_append_format(struct tlog_store *ts, tlog_format_fn format, void *ctx,
			     uint64_t *index);
/* Makes every appended record durable, then signs a checkpoint over them. */
int tlog_store_commit(struct tlog_store *ts);
/* Appended but not yet committed records (to decide on a commit). */
uint64_t tlog_store_pending(struct tlog_store *ts);

/* Committed size and its root hash. */
void tlog_store_head(struct tlog_store *ts, uint64_t *size, uint8_t root[TLOG_HASH_LEN]);
/*
 * The checkpoint note readers get, appended to out: the latest signed one,
 * or with witnesses (tlog_store_set_witnessed) the latest cosigned one once
 * there is one. Statements carry the same note.
 */
int tlog_store_checkpoint(struct tlog_store *ts, struct strbuf *out);
/* The latest note signed by the controller alone (what witnesses are sent). */
int tlog_store_latest_checkpoint(struct tlog_store *ts, struct strbuf *out);
/* Witness mode (WITNESS_URL): serve cosigned notes. */
void tlog_store_set_witnessed(struct tlog_store *ts, bool on);
/* The note of size (committed) with its witnesses' lines; never an older size. 0 or -1. */
int tlog_store_set_cosigned(struct tlog_store *ts, const char *note, size_t len, uint64_t size);
const char *tlog_store_origin(const struct tlog_store *ts);

/*
 * For signed statements (CONTRACT-v2 section 3): appends
 *   ,"checkpoint":"<the latest signed note>","consistency_proof":[base64...]
 * the proof leading from from_size (the log size the receiver holds, e.g.
 * the size at a delta's base revision; 0: none) to the checkpoint's size,
 * and stores that size in *size (or NULL). With from_size beyond the log
 * (a receiver that saw another history) the proof is left out: the
 * receiver then refuses the checkpoint, as it should.
 */
int tlog_store_render_statement_fields(struct tlog_store *ts, uint64_t from_size,
				       struct strbuf *out, uint64_t *size);

/* Proofs over committed sizes (errors as lib/tlog: TLOG_ERR_RANGE ...). */
int tlog_store_prove_inclusion(struct tlog_store *ts, uint64_t index, uint64_t size,
			       tlog_hash *proof, size_t *len);
int tlog_store_prove_consistency(struct tlog_store *ts, uint64_t size1, uint64_t size2,
				 tlog_hash *proof, size_t *len);
/* Root hash of a committed size. */
int tlog_store_root(struct tlog_store *ts, uint64_t size, uint8_t root[TLOG_HASH_LEN]);
/* The stored leaf hash of a committed record. */
int tlog_store_leaf_hash(struct tlog_store *ts, uint64_t index, uint8_t out[TLOG_HASH_LEN]);
/* Appends committed record `index` (without newline) to out. */
int tlog_store_record(struct tlog_store *ts, uint64_t index, struct strbuf *out);

#endif
