// SPDX-License-Identifier: MIT
/*
 * The transparency log of the PostgreSQL store (tlog_store.h, read side via
 * tlog_store_open_source()): the same RFC 9162 tree as STATE_DIR/tlog, kept
 * in tables and serialised by the one head row.
 *
 *   tlog_records (idx, record, rev)  leaf idx: the audit record, as in a
 *                                    records segment; rev: the revision it
 *                                    records (if any)
 *   tlog_hashes (idx, hash)          the stored hashes (lib/tlog/merkle.h
 *                                    layout): leaves and completed subtrees
 *   store_head.tlog_size             the log's size
 *   store_head.tlog_frontier         the right edge (one hash per level), so
 *                                    an append needs no read of old hashes
 *   store_head.tlog_checkpoint       the signed checkpoint of tlog_size
 *
 * A batch's leaves are written in the transaction of the change they record,
 * after it took the head row, and the committing controller signs the new
 * checkpoint in that transaction (Ed25519 is deterministic: every controller
 * holding the key signs the same bytes for one tree). Readers on every
 * controller see the head this controller committed or read last (commit,
 * poll, write lock); proofs read stored hashes from the table.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "audit.h"
#include "b64.h"
#include "log.h"
#include "store_pg.h"
#include "store_pg_conn.h"
#include "tlog/note.h"
#include "tlog_store.h"

#define CHAIN_MAX (1ul << 30)

static unsigned int frontier_levels(uint64_t n)
{
	return n ? 64u - (unsigned int)__builtin_clzll(n) : 0;
}

/* The head row's tlog columns (text results; the frontier as bytea). */
struct head_row {
	uint64_t size;
	struct tlog_frontier f;
	char *note;			/* "" when unsigned */
	size_t note_len;
	uint64_t chain_size;		/* the v1 chain in audit_records */
	char chain_head[AUDIT_HASH_HEX];
};

static void head_row_free(struct head_row *h)
{
	free(h->note);
	h->note = NULL;
}

static int read_head_as(struct store_pg *st, PGconn *conn, const char *lock, struct head_row *h);

/* lock: SELECT ... FOR UPDATE (the caller's transaction keeps the row). */
static int read_head(struct store_pg *st, PGconn *conn, bool lock, struct head_row *h)
{
	return read_head_as(st, conn, lock ? " FOR UPDATE" : "", h);
}

static int read_head_as(struct store_pg *st, PGconn *conn, const char *lock, struct head_row *h)
{
	char sql[192];
	PGresult *r;
	unsigned char *fr;
	size_t fr_len, levels;
	int ret;

	memset(h, 0, sizeof(*h));
	snprintf(sql, sizeof(sql), "SELECT tlog_size, tlog_frontier, tlog_checkpoint, audit_size, "
		 "audit_prev FROM store_head WHERE id = 1%s", lock);
	ret = pg_run(st, conn, "reading the log head", sql, 0, NULL, NULL, NULL, &r);
	if (ret)
		return ret;
	if (PQntuples(r) != 1) {
		PQclear(r);
		log_err("PostgreSQL store: the head row is missing");
		return STORE_ERROR;
	}
	h->size = strtoull(PQgetvalue(r, 0, 0), NULL, 10);
	fr = PQunescapeBytea((const unsigned char *)PQgetvalue(r, 0, 1), &fr_len);
	levels = frontier_levels(h->size);
	if (!fr || fr_len != levels * TLOG_HASH_LEN || h->size > TLOG_MAX_SIZE) {
		log_err("PostgreSQL store: the log head (size %" PRIu64 ") has a damaged frontier "
			"(%zu bytes)", h->size, fr ? fr_len : 0);
		PQfreemem(fr);
		PQclear(r);
		return STORE_ERROR;
	}
	memcpy(h->f.h, fr, fr_len);
	h->f.n = h->size;
	PQfreemem(fr);
	h->note_len = (size_t)PQgetlength(r, 0, 2);
	h->note = strndup(PQgetvalue(r, 0, 2), h->note_len);
	h->chain_size = strtoull(PQgetvalue(r, 0, 3), NULL, 10);
	snprintf(h->chain_head, sizeof(h->chain_head), "%s", PQgetvalue(r, 0, 4));
	PQclear(r);
	return h->note ? 0 : STORE_ERROR;
}

static int sign_checkpoint(struct store_pg *st, uint64_t size, const uint8_t root[TLOG_HASH_LEN],
			   struct strbuf *note)
{
	struct tlog_checkpoint c;
	int err;

	memset(&c, 0, sizeof(c));
	strcpy(c.origin, st->log_origin);
	c.size = size;
	memcpy(c.root, root, TLOG_HASH_LEN);
	err = tlog_checkpoint_sign(note, &c, st->log_origin, st->log_key);
	if (err) {
		log_err("PostgreSQL store: signing the checkpoint failed: %s", tlog_strerror(err));
		return STORE_ERROR;
	}
	return 0;
}

static int write_head(struct store_pg *st, PGconn *conn, const struct tlog_frontier *f,
		      const struct strbuf *note)
{
	char size_s[24];
	const char *vals[3] = { size_s, (const char *)f->h, note->buf ? note->buf : "" };
	int lens[3] = { 0, (int)(frontier_levels(f->n) * TLOG_HASH_LEN), (int)note->len };
	int fmts[3] = { 0, 1, 0 };

	snprintf(size_s, sizeof(size_s), "%" PRIu64, f->n);
	return pg_run(st, conn, "moving the log head",
		      "UPDATE store_head SET tlog_size = $1::bigint, tlog_frontier = $2, "
		      "tlog_checkpoint = $3 WHERE id = 1", 3, vals, lens, fmts, NULL);
}

/*
 * Appends records (lines without newline) after h's head: rows of
 * tlog_records and tlog_hashes, then the head with its new checkpoint.
 */
static int append_lines(struct store_pg *st, PGconn *conn, struct head_row *h,
			const struct strbuf *lines, const size_t *lens, size_t n, const char *rev,
			struct pg_tlog_head *out)
{
	struct strbuf recs, hashes;
	tlog_hash stored[TLOG_MAX_LEVELS];
	const char *p = lines->buf;
	char hex[2 * TLOG_HASH_LEN + 1];
	size_t i, j, count;
	int ret = 0;

	strbuf_init(&recs);
	strbuf_init(&hashes);
	for (i = 0; i < n; i++) {
		uint64_t idx = h->f.n, at = tlog_stored_count(idx);
		tlog_hash leaf;

		if (!lens[i] || lens[i] > TLOG_RECORD_MAX || memchr(p, '\n', lens[i])) {
			log_err("PostgreSQL store: audit record %" PRIu64 " is empty, too long or "
				"holds a newline", idx);
			ret = STORE_ERROR;
			goto out;
		}
		strbuf_printf(&recs, "%" PRIu64 "\t", idx);
		pg_copy_text(&recs, p, lens[i]);
		strbuf_printf(&recs, "\t%s\n", rev ? rev : "\\N");
		tlog_hash_leaf(leaf, p, lens[i]);
		count = tlog_frontier_append(&h->f, leaf, stored);
		for (j = 0; j < count; j++) {
			meshnet_hex_encode(hex, stored[j], TLOG_HASH_LEN);
			strbuf_printf(&hashes, "%" PRIu64 "\t\\\\x%s\n", at + j, hex);
		}
		p += lens[i];
	}
	if (recs.oom || hashes.oom) {
		ret = STORE_ERROR;
		goto out;
	}
	ret = pg_copy_in(st, conn, "copying audit records",
			 "COPY tlog_records (idx, record, rev) FROM STDIN", &recs);
	if (!ret)
		ret = pg_copy_in(st, conn, "copying stored hashes",
				 "COPY tlog_hashes (idx, hash) FROM STDIN", &hashes);
	if (ret)
		goto out;
	out->size = h->f.n;
	tlog_frontier_root(&h->f, out->root);
	strbuf_init(&out->note);
	if (st->log_key)
		ret = sign_checkpoint(st, out->size, out->root, &out->note);
	if (!ret)
		ret = write_head(st, conn, &h->f, &out->note);	/* import: "" until opened */
	out->moved = !ret;
	if (ret)
		strbuf_free(&out->note);
out:
	strbuf_free(&recs);
	strbuf_free(&hashes);
	return ret;
}

int pg_tlog_append(struct store_pg *st, PGconn *conn, const struct store_audit_leaf *leaves,
		   size_t n, int64_t now, const char *rev, struct pg_tlog_head *out)
{
	struct head_row h;
	struct strbuf lines;
	size_t *lens = calloc(n ? n : 1, sizeof(*lens)), i, before;
	int ret;

	memset(out, 0, sizeof(*out));
	if (!st->log_key) {
		log_err("PostgreSQL store: audit leaves before the audit log was opened");
		free(lens);
		return STORE_ERROR;
	}
	if (!lens)
		return STORE_ERROR;
	ret = read_head(st, conn, false, &h);	/* the caller holds the row */
	if (ret) {
		free(lens);
		return ret;
	}
	strbuf_init(&lines);
	for (i = 0; i < n; i++) {
		before = lines.len;
		audit_format_leaf(&lines, h.size + i, now, leaves[i].type, leaves[i].fields);
		lens[i] = lines.len - before;
	}
	ret = lines.oom ? STORE_ERROR : append_lines(st, conn, &h, &lines, lens, n, rev, out);
	strbuf_free(&lines);
	head_row_free(&h);
	free(lens);
	return ret;
}

/* ---- deferred leaves and the sequencer ---- */

/* pg_try_advisory_xact_lock key of a sequencing pass: "mnseqlog" in ASCII. */
#define SEQ_LOCK "7885631325130583911"
#define SEQ_IDLE_MS 1000	/* a pass at least this often (leaves of a killed controller) */
#define SEQ_BUSY_MS 20		/* another controller's pass ran: look again soon */
#define SEQ_DOWN_MS 500

int pg_tlog_defer(struct store_pg *st, PGconn *conn, const struct store_audit_leaf *leaves,
		  size_t n, int64_t now)
{
	struct strbuf rows, probe;
	size_t i;
	int ret = 0;

	if (!st->log_key) {
		log_err("PostgreSQL store: audit leaves before the audit log was opened");
		return STORE_ERROR;
	}
	strbuf_init(&rows);
	for (i = 0; i < n && !ret; i++) {
		/*
		 * The leaf as the pass will format it (the widest index): refused
		 * now if it could not be appended then, so nothing waits forever.
		 */
		strbuf_init(&probe);
		audit_format_leaf(&probe, TLOG_MAX_SIZE, now, leaves[i].type, leaves[i].fields);
		if (probe.oom || !*leaves[i].type || probe.len > TLOG_RECORD_MAX ||
		    memchr(probe.buf, '\n', probe.len)) {
			log_err("PostgreSQL store: audit record '%s' is empty, too long or holds a "
				"newline", leaves[i].type);
			ret = STORE_ERROR;
		}
		strbuf_free(&probe);
		pg_copy_text(&rows, leaves[i].type, strlen(leaves[i].type));
		strbuf_puts(&rows, "\t");
		pg_copy_text(&rows, leaves[i].fields, strlen(leaves[i].fields));
		strbuf_printf(&rows, "\t%" PRId64 "\t", now);
		pg_copy_text(&rows, st->origin, strlen(st->origin));
		strbuf_puts(&rows, "\n");
	}
	if (!ret)
		ret = rows.oom ? STORE_ERROR :
		      pg_copy_in(st, conn, "copying deferred audit records",
				 "COPY tlog_pending (type, fields, at_unix, origin) FROM STDIN", &rows);
	strbuf_free(&rows);
	return ret;
}

/*
 * One pass in conn: only one controller's at a time (an advisory lock of
 * the transaction; another's pass running: 0, and *busy); the head row,
 * then every pending leaf in one statement (the rows it deletes are the rows
 * it returns: a leaf that commits meanwhile waits for the next pass), in
 * commit order, appended and signed like a locked batch's.
 */
static long sequence_tx(struct store_pg *st, PGconn *conn, bool *busy, struct pg_tlog_head *out)
{
	struct strbuf lines;
	struct head_row h;
	PGresult *r = NULL;
	size_t *lens = NULL, i;
	int ret, n = 0;

	*busy = false;
	ret = pg_run(st, conn, "BEGIN", "BEGIN", 0, NULL, NULL, NULL, NULL);
	if (!ret)
		ret = pg_run(st, conn, "sequencing the log",
			     "SELECT pg_try_advisory_xact_lock(" SEQ_LOCK "), "
			     "EXISTS (SELECT 1 FROM tlog_pending)", 0, NULL, NULL, NULL, &r);
	if (ret)
		goto out;
	*busy = strcmp(PQgetvalue(r, 0, 0), "t") != 0;
	if (*busy || strcmp(PQgetvalue(r, 0, 1), "t")) {
		PQclear(r);
		pg_rollback(conn);
		return 0;
	}
	PQclear(r);
	/*
	 * NOWAIT: a locked batch holding the row ends the pass at once (it may
	 * hold it for a while); the thread looks again SEQ_BUSY_MS later. A
	 * pass never waits for a lock holding a connection.
	 */
	ret = read_head_as(st, conn, " FOR UPDATE NOWAIT", &h);
	if (ret == STORE_CONFLICT) {
		*busy = true;
		ret = 0;
	}
	if (ret || *busy)
		goto out;
	ret = pg_run(st, conn, "taking the pending leaves",
		     "WITH d AS (DELETE FROM tlog_pending RETURNING seq, type, fields, at_unix) "
		     "SELECT type, fields, at_unix FROM d ORDER BY seq", 0, NULL, NULL, NULL, &r);
	if (!ret) {
		n = PQntuples(r);
		lens = calloc(n ? (size_t)n : 1, sizeof(*lens));
		strbuf_init(&lines);
		for (i = 0; lens && i < (size_t)n; i++) {
			size_t before = lines.len;

			audit_format_leaf(&lines, h.size + i,
					  strtoll(PQgetvalue(r, (int)i, 2), NULL, 10),
					  PQgetvalue(r, (int)i, 0), PQgetvalue(r, (int)i, 1));
			lens[i] = lines.len - before;
		}
		PQclear(r);
		ret = !lens || lines.oom ? STORE_ERROR : !n ? 0 :
		      append_lines(st, conn, &h, &lines, lens, (size_t)n, NULL, out);
		strbuf_free(&lines);
		free(lens);
	}
	head_row_free(&h);
	/* The others refresh their log head (and read the benchmarks it covers). */
	if (!ret && n)
		ret = pg_run(st, conn, "notifying", "SELECT pg_notify('meshnet_commit', 'log')", 0,
			     NULL, NULL, NULL, NULL);
	if (!ret && n)
		ret = pg_run(st, conn, "COMMIT", "COMMIT", 0, NULL, NULL, NULL, NULL);
out:
	pg_rollback(conn);
	if (ret) {
		pg_tlog_head_free(out);
		return ret;
	}
	return n;
}

static long sequence_once(struct store_pg *st, bool *busy)
{
	struct pg_tlog_head out = { 0 };
	struct pg_slot *slot;
	long n;
	int ret;

	*busy = false;
	if (!st->log_key)
		return 0;
	ret = pg_conn_get(st, &slot);
	if (ret)
		return ret;
	n = sequence_tx(st, slot->conn, busy, &out);
	pg_conn_put(st, slot);
	if (n > 0) {
		pthread_mutex_lock(&st->seq_lock);
		st->seq_passes++;
		st->seq_leaves += (uint64_t)n;
		pthread_mutex_unlock(&st->seq_lock);
	}
	pg_tlog_publish(st, &out);
	return n;
}

long store_pg_log_sequence(struct store *s)
{
	bool busy;

	return sequence_once(pg_of(s), &busy);
}

long store_pg_log_pending(struct store *s)
{
	PGresult *r;
	long n;
	int ret = pg_run_pooled(pg_of(s), "counting pending leaves",
				"SELECT count(*) FROM tlog_pending", 0, NULL, NULL, NULL, &r);

	if (ret)
		return ret;
	n = strtol(PQgetvalue(r, 0, 0), NULL, 10);
	PQclear(r);
	return n;
}

void pg_tlog_wake(struct store_pg *st)
{
	pthread_mutex_lock(&st->seq_lock);
	st->seq_wake = true;
	pthread_cond_signal(&st->seq_cond);
	pthread_mutex_unlock(&st->seq_lock);
}

/*
 * The sequencer thread: a pass when this controller committed deferred
 * leaves, soon again while another controller's pass kept it out, and every
 * SEQ_IDLE_MS anyway (the leaves of a controller killed before its pass).
 */
static void *sequencer_main(void *arg)
{
	struct store_pg *st = arg;
	int64_t wait_ms = 0;

	pthread_mutex_lock(&st->seq_lock);
	for (;;) {
		struct timespec until;
		bool busy;
		long n;

		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += wait_ms / 1000;
		until.tv_nsec += (wait_ms % 1000) * 1000000;
		if (until.tv_nsec >= 1000000000) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000;
		}
		while (!st->seq_wake && !st->seq_stop &&
		       pthread_cond_timedwait(&st->seq_cond, &st->seq_lock, &until) != ETIMEDOUT)
			;
		if (st->seq_stop)
			break;
		st->seq_wake = false;
		pthread_mutex_unlock(&st->seq_lock);
		n = sequence_once(st, &busy);
		pthread_mutex_lock(&st->seq_lock);
		wait_ms = n == STORE_UNAVAILABLE ? SEQ_DOWN_MS : busy ? SEQ_BUSY_MS : SEQ_IDLE_MS;
		if (n < 0 && n != STORE_UNAVAILABLE)
			log_err("PostgreSQL store: a sequencing pass of the log failed (%ld); "
				"retrying", n);
	}
	pthread_mutex_unlock(&st->seq_lock);
	return NULL;
}

void pg_tlog_head_free(struct pg_tlog_head *h)
{
	strbuf_free(&h->note);
	h->moved = false;
}

void pg_tlog_publish(struct store_pg *st, struct pg_tlog_head *h)
{
	if (h->moved && st->log && h->note.len &&
	    tlog_store_publish(st->log, h->size, h->root, h->note.buf, h->note.len))
		log_warn("PostgreSQL store: cannot publish log size %" PRIu64, h->size);
	pg_tlog_head_free(h);
}

int pg_tlog_refresh(struct store_pg *st, PGconn *conn)
{
	uint8_t root[TLOG_HASH_LEN];
	struct head_row h;
	int ret;

	if (!st->log)
		return 0;
	ret = read_head(st, conn, false, &h);
	if (ret)
		return ret;
	if (h.note_len) {
		tlog_frontier_root(&h.f, root);
		tlog_store_publish(st->log, h.size, root, h.note, h.note_len);
	}
	head_row_free(&h);
	return 0;
}

/* ---- the read side: stored hashes and records by index ---- */

static int read_hash(void *ctx, uint64_t index, uint8_t out[TLOG_HASH_LEN])
{
	struct store_pg *st = ctx;
	char idx[24];
	const char *vals[1] = { idx };
	unsigned char *h;
	size_t len = 0;
	PGresult *r;

	snprintf(idx, sizeof(idx), "%" PRIu64, index);
	if (pg_run_pooled(st, "reading a stored hash",
			  "SELECT hash FROM tlog_hashes WHERE idx = $1::bigint", 1, vals, NULL, NULL,
			  &r))
		return -1;
	h = PQntuples(r) == 1 ? PQunescapeBytea((const unsigned char *)PQgetvalue(r, 0, 0), &len) :
	    NULL;
	PQclear(r);
	if (!h || len != TLOG_HASH_LEN) {
		PQfreemem(h);
		return -1;
	}
	memcpy(out, h, TLOG_HASH_LEN);
	PQfreemem(h);
	return 0;
}

static int read_record(void *ctx, uint64_t index, struct strbuf *out)
{
	struct store_pg *st = ctx;
	char idx[24];
	const char *vals[1] = { idx };
	PGresult *r;

	snprintf(idx, sizeof(idx), "%" PRIu64, index);
	if (pg_run_pooled(st, "reading an audit record",
			  "SELECT record FROM tlog_records WHERE idx = $1::bigint", 1, vals, NULL,
			  NULL, &r))
		return TLOG_ERR_IO;
	if (PQntuples(r) != 1) {
		PQclear(r);
		return TLOG_ERR_IO;
	}
	strbuf_append(out, PQgetvalue(r, 0, 0), (size_t)PQgetlength(r, 0, 0));
	PQclear(r);
	return out->oom ? TLOG_ERR_NOMEM : TLOG_OK;
}

/* ---- open: check the stored checkpoint, continue a v1 chain, sign ---- */

/* A v1 chain in audit_records (and an empty tree): verified, then committed to by leaf 0. */
static int chain_leaf(struct store_pg *st, PGconn *conn, const struct head_row *h, char *fields,
		      size_t len)
{
	char last[AUDIT_HASH_HEX], msg[256];
	uint64_t records = 0, next;
	struct strbuf sb;
	PGresult *r;
	int i, n, ret;

	ret = pg_run(st, conn, "reading the audit chain",
		     "SELECT record FROM audit_records ORDER BY seq", 0, NULL, NULL, NULL, &r);
	if (ret)
		return ret;
	strbuf_init(&sb);
	n = PQntuples(r);
	for (i = 0; i < n; i++) {
		strbuf_append(&sb, PQgetvalue(r, i, 0), (size_t)PQgetlength(r, i, 0));
		strbuf_puts(&sb, "\n");
	}
	PQclear(r);
	ret = STORE_ERROR;
	if (sb.oom || sb.len > CHAIN_MAX)
		goto out;
	if (!audit_verify_buffer(sb.buf ? sb.buf : "", sb.len, &records, last, &next, msg,
				 sizeof(msg)) && (records != h->chain_size || strcmp(last, h->chain_head)))
		snprintf(msg, sizeof(msg), "its last record is not the head the database recorded");
	if (records != h->chain_size || strcmp(last, h->chain_head)) {
		log_err("PostgreSQL store: the audit chain in audit_records is damaged (%s; %" PRIu64
			" records, the head says %" PRIu64 "): not continuing it", msg, records,
			h->chain_size);
		goto out;
	}
	snprintf(fields, len, "\"chain\":{\"table\":\"audit_records\",\"records\":%" PRIu64
		 ",\"head\":\"%s\"}", records, last);
	ret = 0;
out:
	strbuf_free(&sb);
	return ret;
}

/* The stored checkpoint must verify with our key and be a prefix of the tree. */
static int check_checkpoint(struct store_pg *st, const struct head_row *h,
			    const struct tlog_note_verifier *self, bool *current)
{
	struct tlog_hash_reader rd = { read_hash, st };
	struct tlog_checkpoint c;
	uint8_t root[TLOG_HASH_LEN];
	uint64_t verified = 0;
	int err;

	*current = false;
	if (!h->note_len && h->size) {
		log_err("PostgreSQL store: the log holds %" PRIu64 " records but no checkpoint: "
			"it was removed; refusing to continue the log", h->size);
		return STORE_ERROR;
	}
	if (!h->note_len)
		return 0;
	err = tlog_checkpoint_open(h->note, h->note_len, self, 1, st->log_origin, &c, &verified);
	if (err) {
		log_err("PostgreSQL store: the log's checkpoint does not verify with this "
			"controller's key (%s); refusing to continue the log", tlog_strerror(err));
		return STORE_ERROR;
	}
	if (c.size > h->size) {
		log_err("PostgreSQL store: the log holds %" PRIu64 " records but its checkpoint "
			"covers %" PRIu64 ": records were removed; refusing to continue the log",
			h->size, c.size);
		return STORE_ERROR;
	}
	if (c.size == h->size)
		tlog_frontier_root(&h->f, root);
	else if (tlog_tree_hash(&rd, c.size, root))
		return STORE_ERROR;
	if (memcmp(root, c.root, TLOG_HASH_LEN)) {
		log_err("PostgreSQL store: the stored tree does not match the log's checkpoint "
			"(size %" PRIu64 "): the log was altered; refusing to continue it", c.size);
		return STORE_ERROR;
	}
	*current = c.size == h->size;
	return 0;
}

static int open_tx(struct store_pg *st, PGconn *conn, const struct tlog_note_verifier *self,
		   struct pg_tlog_head *out)
{
	struct head_row h;
	char fields[256];
	bool current;
	int ret;

	ret = pg_run(st, conn, "BEGIN", "BEGIN", 0, NULL, NULL, NULL, NULL);
	if (!ret)
		ret = read_head(st, conn, true, &h);
	if (ret)
		return ret;
	ret = check_checkpoint(st, &h, self, &current);
	if (!ret && !h.size && h.chain_size) {
		ret = chain_leaf(st, conn, &h, fields, sizeof(fields));
		if (!ret) {
			struct store_audit_leaf leaf = { "migrated", fields };

			ret = pg_tlog_append(st, conn, &leaf, 1, (int64_t)time(NULL), NULL, out);
			if (!ret)
				log_info("Continuing the database's audit chain (%" PRIu64 " records) "
					 "in the transparency log", h.chain_size);
		}
	} else if (!ret && !current) {
		/* An import whose checkpoint was older than its records: sign their head. */
		out->size = h.size;
		tlog_frontier_root(&h.f, out->root);
		strbuf_init(&out->note);
		ret = sign_checkpoint(st, out->size, out->root, &out->note);
		if (!ret)
			ret = write_head(st, conn, &h.f, &out->note);
		out->moved = !ret;
	} else if (!ret) {
		out->size = h.size;
		tlog_frontier_root(&h.f, out->root);
		strbuf_init(&out->note);
		strbuf_append(&out->note, h.note, h.note_len);
		out->moved = !out->note.oom;
	}
	head_row_free(&h);
	if (!ret)
		ret = pg_run(st, conn, "COMMIT", "COMMIT", 0, NULL, NULL, NULL, NULL);
	if (ret) {
		pg_rollback(conn);
		pg_tlog_head_free(out);
	}
	return ret;
}

int pg_tlog_open(struct store_pg *st, const char *origin, EVP_PKEY *key)
{
	struct tlog_store_source src = { read_hash, read_record, st };
	struct pg_tlog_head head = { 0 };
	struct tlog_note_verifier self;
	struct pg_slot *slot;
	uint8_t pub[32];
	size_t pub_len = sizeof(pub);
	int ret;

	if (st->log)
		return 0;
	if (strlen(origin) > TLOG_ORIGIN_MAX || !tlog_note_name_valid(origin) ||
	    EVP_PKEY_get_raw_public_key(key, pub, &pub_len) != 1 ||
	    tlog_verifier_from_pub(&self, origin, pub)) {
		log_err("PostgreSQL store: bad log name '%s' or not an Ed25519 key", origin);
		return STORE_ERROR;
	}
	strcpy(st->log_origin, origin);
	EVP_PKEY_up_ref(key);
	st->log_key = key;
	ret = pg_conn_get(st, &slot);
	if (!ret) {
		ret = open_tx(st, slot->conn, &self, &head);
		pg_conn_put(st, slot);
	}
	tlog_verifier_free(&self);
	if (!ret) {
		st->log = tlog_store_open_source(&src, origin, key);
		ret = st->log ? 0 : STORE_ERROR;
	}
	if (ret) {
		pg_tlog_head_free(&head);
		pg_tlog_close(st);
		return ret;
	}
	log_info("PostgreSQL store: transparency log %s, %" PRIu64 " record(s)", origin,
		 head.size);
	pg_tlog_publish(st, &head);
	/* Its first pass at once: leaves a stopped controller left in tlog_pending. */
	st->seq_wake = true;
	st->seq_stop = false;
	if (pthread_create(&st->seq_thread, NULL, sequencer_main, st)) {
		log_err("PostgreSQL store: cannot start the log's sequencer");
		pg_tlog_close(st);
		return STORE_ERROR;
	}
	st->seq_started = true;
	return 0;
}

void pg_tlog_close(struct store_pg *st)
{
	if (st->seq_started) {
		pthread_mutex_lock(&st->seq_lock);
		st->seq_stop = true;
		pthread_cond_signal(&st->seq_cond);
		pthread_mutex_unlock(&st->seq_lock);
		pthread_join(st->seq_thread, NULL);
		st->seq_started = false;
		/* What this controller committed last (controller_stop) goes in now. */
		if (st->log_key && st->available) {
			bool busy;

			sequence_once(st, &busy);
		}
	}
	tlog_store_close(st->log);
	st->log = NULL;
	EVP_PKEY_free(st->log_key);
	st->log_key = NULL;
}

/* ---- export (audit-verify) and import (migrate) ---- */

static int write_file(const char *path, const char *data, size_t len)
{
	FILE *f = fopen(path, "wxe");
	int ret = 0;

	if (!f)
		return -1;
	if (len && fwrite(data, 1, len, f) != len)
		ret = -1;
	if (fclose(f))
		ret = -1;
	return ret;
}

/* Streams a query's rows (idx, value) into segment files of per_seg rows each. */
static int export_rows(struct store_pg *st, PGconn *conn, const char *sql, uint64_t total,
		       uint64_t per_seg, const char *dir, const char *prefix, const char *suffix,
		       bool binary_hash, char *msg, size_t msg_len)
{
	char size_s[24], path[PATH_MAX];
	const char *vals[1] = { size_s };
	struct strbuf seg;
	uint64_t next = 0;
	PGresult *r;
	int ret = 0;

	snprintf(size_s, sizeof(size_s), "%" PRIu64, total);
	if (!PQsendQueryParams(conn, sql, 1, NULL, vals, NULL, NULL, 0) ||
	    !PQsetSingleRowMode(conn))
		return pg_fail(st, conn, NULL, "exporting the log");
	strbuf_init(&seg);
	while ((r = PQgetResult(conn))) {
		ExecStatusType s = PQresultStatus(r);

		if (s == PGRES_SINGLE_TUPLE && !ret) {
			uint64_t idx = strtoull(PQgetvalue(r, 0, 0), NULL, 10);

			if (idx != next) {
				snprintf(msg, msg_len, "%s: row %" PRIu64 " is missing (next is %"
					 PRIu64 ")", prefix, next, idx);
				ret = 1;
			} else if (binary_hash) {
				size_t len = 0;
				unsigned char *h = PQunescapeBytea(
					(const unsigned char *)PQgetvalue(r, 0, 1), &len);

				if (!h || len != TLOG_HASH_LEN) {
					snprintf(msg, msg_len, "stored hash %" PRIu64 " is damaged", idx);
					ret = 1;
				} else {
					strbuf_append(&seg, (const char *)h, len);
				}
				PQfreemem(h);
			} else {
				strbuf_append(&seg, PQgetvalue(r, 0, 1),
					      (size_t)PQgetlength(r, 0, 1));
				strbuf_puts(&seg, "\n");
			}
			next++;
			if (!ret && (next % per_seg == 0 || next == total)) {
				snprintf(path, sizeof(path), "%s/%s%06" PRIu64 "%s", dir, prefix,
					 (next - 1) / per_seg, suffix);
				if (seg.oom || write_file(path, seg.buf, seg.len)) {
					snprintf(msg, msg_len, "%s: %s", path, strerror(errno));
					ret = STORE_ERROR;
				}
				strbuf_free(&seg);
				strbuf_init(&seg);
			}
		} else if (s != PGRES_TUPLES_OK && s != PGRES_SINGLE_TUPLE && !ret) {
			ret = pg_fail(st, conn, r, "exporting the log");
			snprintf(msg, msg_len, "the database refused the read");
		}
		PQclear(r);
	}
	strbuf_free(&seg);
	if (!ret && next != total) {
		snprintf(msg, msg_len, "%s: %" PRIu64 " row(s) where the head says %" PRIu64,
			 prefix, next, total);
		ret = 1;
	}
	return ret;
}

int store_pg_log_export(struct store *s, const char *dir, uint64_t *records, char *msg,
			size_t msg_len)
{
	struct store_pg *st = pg_of(s);
	char path[PATH_MAX];
	struct pg_slot *slot;
	struct head_row h;
	int ret;

	*records = 0;
	snprintf(msg, msg_len, "the database is unavailable");
	if (mkdir(dir, 0700) && errno != EEXIST) {
		snprintf(msg, msg_len, "%s: %s", dir, strerror(errno));
		return STORE_ERROR;
	}
	ret = pg_conn_get(st, &slot);
	if (ret)
		return ret;
	/* One snapshot: the head and exactly the rows it covers. */
	ret = pg_run(st, slot->conn, "BEGIN", "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", 0,
		     NULL, NULL, NULL, NULL);
	if (!ret)
		ret = read_head(st, slot->conn, false, &h);
	if (ret)
		goto out;
	*records = h.size;
	ret = export_rows(st, slot->conn, "SELECT idx, record FROM tlog_records "
			  "WHERE idx < $1::bigint ORDER BY idx", h.size, TLOG_RECORDS_PER_SEGMENT,
			  dir, "records-", ".jsonl", false, msg, msg_len);
	if (!ret)
		ret = export_rows(st, slot->conn, "SELECT idx, hash FROM tlog_hashes "
				  "WHERE idx < $1::bigint ORDER BY idx", tlog_stored_count(h.size),
				  TLOG_HASHES_PER_SEGMENT, dir, "hashes-", "", true, msg, msg_len);
	if (!ret && h.note_len) {
		snprintf(path, sizeof(path), "%s/checkpoint", dir);
		if (write_file(path, h.note, h.note_len)) {
			snprintf(msg, msg_len, "%s: %s", path, strerror(errno));
			ret = STORE_ERROR;
		}
	}
	head_row_free(&h);
out:
	pg_rollback(slot->conn);
	pg_conn_put(st, slot);
	return ret;
}

int pg_tlog_import(struct store_pg *st, PGconn *conn, const char *records, size_t len,
		   const char *checkpoint, size_t checkpoint_len, uint64_t *n_out)
{
	struct pg_tlog_head out = { 0 };
	struct head_row h;
	struct strbuf lines;
	size_t *lens = NULL, n = 0, cap = 0;
	const char *p = records, *end = records + len;
	struct tlog_checkpoint c;
	int ret;

	*n_out = 0;
	ret = read_head(st, conn, false, &h);
	if (ret)
		return ret;
	strbuf_init(&lines);
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t line = nl ? (size_t)(nl - p) : (size_t)(end - p);

		if (n == cap) {
			size_t *l = realloc(lens, (cap = cap ? 2 * cap : 1024) * sizeof(*l));

			if (!l) {
				ret = STORE_ERROR;
				goto out;
			}
			lens = l;
		}
		strbuf_append(&lines, p, line);
		lens[n++] = line;
		p += line + 1;
	}
	ret = lines.oom ? STORE_ERROR : append_lines(st, conn, &h, &lines, lens, n, NULL, &out);
	/* The source's checkpoint, if it covers exactly these records (checked at open). */
	if (!ret && checkpoint_len) {
		const char *blank = memmem(checkpoint, checkpoint_len, "\n\n", 2);
		size_t body = blank ? (size_t)(blank - checkpoint) + 1 : 0;

		if (body && !tlog_checkpoint_parse(checkpoint, body, &c) && c.size == out.size &&
		    !memcmp(c.root, out.root, TLOG_HASH_LEN)) {
			strbuf_free(&out.note);
			strbuf_init(&out.note);
			strbuf_append(&out.note, checkpoint, checkpoint_len);
			ret = out.note.oom ? STORE_ERROR : write_head(st, conn, &h.f, &out.note);
		}
	}
	if (!ret)
		*n_out = out.size;
out:
	pg_tlog_head_free(&out);
	strbuf_free(&lines);
	free(lens);
	head_row_free(&h);
	return ret;
}
