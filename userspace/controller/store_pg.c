// SPDX-License-Identifier: MIT
/*
 * The PostgreSQL backend (store_pg.h): a pool of libpq connections, each
 * operation one explicit transaction, and a listener thread for NOTIFY.
 */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "audit.h"
#include "b64.h"
#include "epoch_seal.h"
#include "fileio.h"
#include "log.h"
#include "sign.h"
#include "store_pg.h"
#include "store_pg_conn.h"
#include "store_pg_schema.h"
#include "tlog_store.h"
#include "strbuf.h"

#define POOL_DEFAULT 8
#define DOWN_RETRY_MS 500	/* while the database is down, reconnect at most this often */
#define CHECKOUT_WAIT_S 10
#define REPLAY_EXPIRE_MS 30000

static struct store_pg_options pg_options;

void store_pg_set_options(const struct store_pg_options *opt)
{
	pg_options = *opt;
}

struct store_pg *pg_of(struct store *s)
{
	if (s->backend != &store_pg_backend) {
		log_err("PostgreSQL call on a %s store", s->backend->scheme);
		abort();
	}
	return (struct store_pg *)((char *)s - offsetof(struct store_pg, base));
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void quiet_notices(void *arg, const char *msg)
{
	(void)arg;
	log_debug("PostgreSQL: %s", msg);
}

static PGconn *pg_connect(const struct store_pg *st)
{
	/* Defaults first: what the URL says wins (expand_dbname). */
	static const char *const kw[] = {
		"application_name", "connect_timeout", "keepalives", "keepalives_idle",
		"keepalives_interval", "keepalives_count", "options", "dbname", NULL,
	};
	const char *val[] = {
		"meshnetd", "5", "1", "5", "2", "3",
		"-c statement_timeout=30000 -c idle_in_transaction_session_timeout=60000",
		st->url, NULL,
	};
	PGconn *conn = PQconnectdbParams(kw, val, 1);

	if (!conn)
		return NULL;
	if (PQstatus(conn) != CONNECTION_OK) {
		char *msg = PQerrorMessage(conn), *nl;

		/* One line, without the password (libpq never prints it). */
		if ((nl = strchr(msg, '\n')))
			*nl = '\0';
		log_warn("PostgreSQL: cannot connect: %s", msg);
		PQfinish(conn);
		return NULL;
	}
	PQsetNoticeProcessor(conn, quiet_notices, NULL);
	return conn;
}

static void set_available(struct store_pg *st, bool up)
{
	pthread_mutex_lock(&st->lock);
	if (st->available != up)
		log_info("PostgreSQL: %s", up ? "connected again" : "unavailable");
	st->available = up;
	if (!up)
		st->down_until_ms = now_ms() + DOWN_RETRY_MS;
	pthread_mutex_unlock(&st->lock);
}

bool store_pg_available(struct store *s)
{
	struct store_pg *st = pg_of(s);
	bool up;

	pthread_mutex_lock(&st->lock);
	up = st->available;
	pthread_mutex_unlock(&st->lock);
	return up;
}

/* Checks a connection out of the pool, reconnecting it if it broke. */
int pg_conn_get(struct store_pg *st, struct pg_slot **out)
{
	struct pg_slot *slot = NULL;
	struct timespec deadline;
	unsigned int i;

	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += CHECKOUT_WAIT_S;
	pthread_mutex_lock(&st->lock);
	for (;;) {
		for (i = 0; i < st->n_slots && !slot; i++)
			if (!st->slots[i].busy)
				slot = &st->slots[i];
		if (slot)
			break;
		if (pthread_cond_timedwait(&st->cond, &st->lock, &deadline) == ETIMEDOUT) {
			pthread_mutex_unlock(&st->lock);
			log_warn("PostgreSQL: every connection busy for %d s", CHECKOUT_WAIT_S);
			return STORE_UNAVAILABLE;
		}
	}
	slot->busy = true;
	if (!slot->conn || PQstatus(slot->conn) != CONNECTION_OK) {
		if (now_ms() < st->down_until_ms) {
			/* Down: answer 503 at once instead of queueing on connect(). */
			slot->busy = false;
			pthread_cond_signal(&st->cond);
			pthread_mutex_unlock(&st->lock);
			return STORE_UNAVAILABLE;
		}
		pthread_mutex_unlock(&st->lock);
		PQfinish(slot->conn);
		slot->conn = pg_connect(st);
		pthread_mutex_lock(&st->lock);
		if (!slot->conn) {
			st->down_until_ms = now_ms() + DOWN_RETRY_MS;
			if (st->available)
				log_info("PostgreSQL: unavailable");
			st->available = false;
			slot->busy = false;
			pthread_cond_signal(&st->cond);
			pthread_mutex_unlock(&st->lock);
			return STORE_UNAVAILABLE;
		}
		if (!st->available)
			log_info("PostgreSQL: connected again");
		st->available = true;
	}
	pthread_mutex_unlock(&st->lock);
	*out = slot;
	return 0;
}

void pg_conn_put(struct store_pg *st, struct pg_slot *slot)
{
	pthread_mutex_lock(&st->lock);
	slot->busy = false;
	pthread_cond_signal(&st->cond);
	pthread_mutex_unlock(&st->lock);
}

/*
 * Classifies a failed statement: the connection or the server is gone
 * (STORE_UNAVAILABLE: nothing is acknowledged), another transaction won
 * (STORE_CONFLICT), or the statement itself was refused (-1, logged).
 */
int pg_fail(struct store_pg *st, PGconn *conn, PGresult *r, const char *what)
{
	const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
	const char *msg = r ? PQresultErrorMessage(r) : PQerrorMessage(conn);

	if (PQstatus(conn) != CONNECTION_OK || !state || !strncmp(state, "08", 2) ||
	    !strncmp(state, "57P", 3) || !strcmp(state, "57014") || !strcmp(state, "53300")) {
		log_warn("PostgreSQL: %s: %s", what, *msg ? msg : "connection lost");
		set_available(st, false);
		return STORE_UNAVAILABLE;
	}
	/* 55P03: a NOWAIT lock another transaction holds (the sequencer's try) */
	if (!strcmp(state, "23505") || !strcmp(state, "40001") || !strcmp(state, "40P01") ||
	    !strcmp(state, "55P03"))
		return STORE_CONFLICT;
	log_err("PostgreSQL: %s: [%s] %s", what, state, msg);
	return STORE_ERROR;
}

/* Runs a statement; *res holds the result if it succeeded, else the failure's code. */
int pg_run(struct store_pg *st, PGconn *conn, const char *what, const char *sql, int n,
	       const char *const *vals, const int *lens, const int *fmts, PGresult **res)
{
	PGresult *r = n ? PQexecParams(conn, sql, n, NULL, vals, lens, fmts, 0) : PQexec(conn, sql);
	ExecStatusType s = PQresultStatus(r);
	int ret;

	if (s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK) {
		if (res)
			*res = r;
		else
			PQclear(r);
		return 0;
	}
	ret = pg_fail(st, conn, r, what);
	PQclear(r);
	if (res)
		*res = NULL;
	return ret;
}

int pg_run_pooled(struct store_pg *st, const char *what, const char *sql, int n,
		  const char *const *vals, const int *lens, const int *fmts, PGresult **res)
{
	struct pg_slot *slot;
	int ret = pg_conn_get(st, &slot);

	if (ret)
		return ret;
	ret = pg_run(st, slot->conn, what, sql, n, vals, lens, fmts, res);
	pg_conn_put(st, slot);
	return ret;
}

void pg_rollback(PGconn *conn)
{
	if (PQstatus(conn) == CONNECTION_OK && PQtransactionStatus(conn) != PQTRANS_IDLE)
		PQclear(PQexec(conn, "ROLLBACK"));
}

/* ---- COPY in text format ---- */

void pg_copy_text(struct strbuf *sb, const char *s, size_t len)
{
	size_t i, start = 0;

	for (i = 0; i < len; i++) {
		const char *esc = s[i] == '\\' ? "\\\\" : s[i] == '\n' ? "\\n" :
				  s[i] == '\r' ? "\\r" : s[i] == '\t' ? "\\t" : NULL;

		if (!esc)
			continue;
		strbuf_append(sb, s + start, i - start);
		strbuf_puts(sb, esc);
		start = i + 1;
	}
	strbuf_append(sb, s + start, len - start);
}

int pg_copy_in(struct store_pg *st, PGconn *conn, const char *what, const char *sql,
		   const struct strbuf *data)
{
	PGresult *r = PQexec(conn, sql);
	int ret = 0;

	if (PQresultStatus(r) != PGRES_COPY_IN) {
		ret = pg_fail(st, conn, r, what);
		PQclear(r);
		return ret;
	}
	PQclear(r);
	if (PQputCopyData(conn, data->buf, (int)data->len) != 1 || PQputCopyEnd(conn, NULL) != 1)
		return pg_fail(st, conn, NULL, what);
	while ((r = PQgetResult(conn))) {
		if (PQresultStatus(r) != PGRES_COMMAND_OK && !ret)
			ret = pg_fail(st, conn, r, what);
		PQclear(r);
	}
	return ret;
}

static struct json_object *parse_record(const char *text, size_t len)
{
	struct json_tokener *tok = json_tokener_new();
	struct json_object *rec;

	if (!tok)
		return NULL;
	rec = json_tokener_parse_ex(tok, text, (int)len);
	json_tokener_free(tok);
	if (rec && !json_object_is_type(rec, json_type_object)) {
		json_object_put(rec);
		rec = NULL;
	}
	return rec;
}

/* ---- open / close ---- */

static int load_key(struct store_pg *st, PGconn *conn, const char *path)
{
	const char *params[1];
	PGresult *r = NULL;
	bool created = false;

	if (!path || !*path) {
		log_err("PostgreSQL store: STORE_KEY_FILE is required (the key that seals epoch "
			"secrets in the database; every controller needs the same file)");
		return -1;
	}
	if (meshnet_read_key_file(path, st->key, sizeof(st->key))) {
		if (errno != ENOENT) {
			log_err("STORE_KEY_FILE %s: %s", path, errno == EPERM ?
				"must be a regular file of mode 0600" : errno == EINVAL ?
				"not the base64 of a 32-byte key" : strerror(errno));
			return -1;
		}
		if (RAND_priv_bytes(st->key, sizeof(st->key)) != 1 ||
		    meshnet_write_key_file(path, st->key, sizeof(st->key))) {
			log_err("STORE_KEY_FILE %s: cannot create it: %s", path, strerror(errno));
			return -1;
		}
		created = true;
	}
	if (epoch_seal_key_id(st->key_id, st->key))
		return -1;
	params[0] = st->key_id;
	if (pg_run(st, conn, "recording the store key id",
		"INSERT INTO store_meta (id, key_id) VALUES (1, $1) ON CONFLICT DO NOTHING",
		1, params, NULL, NULL, NULL) ||
	    pg_run(st, conn, "reading the store key id", "SELECT key_id FROM store_meta WHERE id = 1",
		0, NULL, NULL, NULL, &r))
		return -1;
	if (PQntuples(r) != 1 || strcmp(PQgetvalue(r, 0, 0), st->key_id)) {
		log_err("STORE_KEY_FILE %s%s is not the key this database was set up with "
			"(key id %.16s..., the database expects %.16s...): give every controller "
			"the same key file", path, created ? " (just created)" : "", st->key_id,
			PQntuples(r) == 1 ? PQgetvalue(r, 0, 0) : "?");
		PQclear(r);
		if (created)
			unlink(path);
		return -1;
	}
	PQclear(r);
	if (created)
		log_info("STORE_KEY_FILE %s: created a new key (key id %.16s...)", path, st->key_id);
	return 0;
}

static int listen_connect(struct store_pg *st)
{
	PGconn *conn = pg_connect(st);
	PGresult *r;

	if (!conn)
		return -1;
	r = PQexec(conn, "LISTEN meshnet_commit");
	if (PQresultStatus(r) != PGRES_COMMAND_OK || PQsetnonblocking(conn, 1)) {
		log_warn("PostgreSQL: LISTEN: %s", PQerrorMessage(conn));
		PQclear(r);
		PQfinish(conn);
		return -1;
	}
	PQclear(r);
	st->listen = conn;
	return 0;
}

static void wake_waiters(struct store_pg *st)
{
	uint64_t one = 1;

	if (write(st->event_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		log_warn("store notify eventfd: %s", strerror(errno));
}

/*
 * The listener: waits on the LISTEN connection and turns every NOTIFY into
 * a wake of store_notify_fd(). When the connection breaks it reconnects
 * (every DOWN_RETRY_MS) and wakes once: commits may have been missed.
 * Also expires replay entries now and then.
 */
static void *listener_main(void *arg)
{
	struct store_pg *st = arg;
	int64_t next_expire = now_ms() + REPLAY_EXPIRE_MS;

	for (;;) {
		struct pollfd p[2] = { { .fd = st->stop_fd, .events = POLLIN },
				       { .fd = -1, .events = POLLIN } };
		bool got = false;
		PGnotify *n;

		if (!st->listen && !listen_connect(st)) {
			log_info("PostgreSQL: listening for other controllers' commits again");
			wake_waiters(st);
		}
		p[1].fd = st->listen ? PQsocket(st->listen) : -1;
		if (poll(p, 2, st->listen ? 1000 : DOWN_RETRY_MS) < 0 && errno != EINTR)
			break;
		if (p[0].revents)
			break;
		if (st->listen && p[1].revents) {
			if (!PQconsumeInput(st->listen) || PQstatus(st->listen) != CONNECTION_OK) {
				log_warn("PostgreSQL: the LISTEN connection broke; reconnecting");
				PQfinish(st->listen);
				st->listen = NULL;
				continue;
			}
			while ((n = PQnotifies(st->listen))) {
				got = true;
				PQfreemem(n);
			}
			if (got)
				wake_waiters(st);
		}
		if (now_ms() >= next_expire) {
			store_pg_replay_expire(&st->base, (int64_t)time(NULL));
			next_expire = now_ms() + REPLAY_EXPIRE_MS;
		}
	}
	return NULL;
}

static void pg_free(struct store_pg *st)
{
	unsigned int i;

	pg_tlog_close(st);
	for (i = 0; i < st->n_slots; i++)
		PQfinish(st->slots[i].conn);
	PQfinish(st->listen);
	if (st->event_fd >= 0)
		close(st->event_fd);
	if (st->stop_fd >= 0)
		close(st->stop_fd);
	pthread_mutex_destroy(&st->lock);
	pthread_cond_destroy(&st->cond);
	pthread_mutex_destroy(&st->poll_lock);
	pthread_mutex_destroy(&st->seq_lock);
	pthread_cond_destroy(&st->seq_cond);
	OPENSSL_cleanse(st->key, sizeof(st->key));
	free(st->slots);
	free(st->url);
	free(st);
}

static struct store *pg_open(const char *url)
{
	struct store_pg *st = calloc(1, sizeof(*st));
	int from = 0, to = 0;
	uint8_t rnd[6];
	char rnd_hex[13], host[32] = "";
	PGconn *conn;

	if (!st)
		return NULL;
	st->base.backend = &store_pg_backend;
	st->event_fd = st->stop_fd = -1;
	pthread_mutex_init(&st->lock, NULL);
	pthread_cond_init(&st->cond, NULL);
	pthread_mutex_init(&st->poll_lock, NULL);
	pthread_mutex_init(&st->seq_lock, NULL);
	pthread_cond_init(&st->seq_cond, NULL);
	strcpy(st->bench_low_xid, "0");
	st->url = strdup(url);
	st->n_slots = pg_options.pool_size ? pg_options.pool_size : POOL_DEFAULT;
	st->slots = calloc(st->n_slots, sizeof(*st->slots));
	st->event_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	st->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (!st->url || !st->slots || st->event_fd < 0 || st->stop_fd < 0 ||
	    RAND_bytes(rnd, sizeof(rnd)) != 1)
		goto err;
	meshnet_hex_encode(rnd_hex, rnd, sizeof(rnd));
	gethostname(host, sizeof(host) - 1);
	snprintf(st->origin, sizeof(st->origin), "%s:%ld:%s", host, (long)getpid(), rnd_hex);

	conn = pg_connect(st);
	if (!conn) {
		log_err("PostgreSQL store: cannot connect to the database (see above)");
		goto err;
	}
	st->slots[0].conn = conn;
	if (store_pg_migrate(conn, "meshnetd", &from, &to) ||
	    (!pg_options.without_key && load_key(st, conn, pg_options.key_file)))
		goto err;
	if (listen_connect(st)) {
		log_err("PostgreSQL store: cannot LISTEN for other controllers' commits");
		goto err;
	}
	if (pthread_create(&st->listener, NULL, listener_main, st))
		goto err;
	st->listener_started = true;
	st->available = true;
	log_info("PostgreSQL store: schema version %d%s, %u connection(s), origin %s", to,
		 from != to ? " (migrated)" : "", st->n_slots, st->origin);
	return &st->base;
err:
	pg_free(st);
	return NULL;
}

static void pg_close(struct store *s)
{
	struct store_pg *st = pg_of(s);
	uint64_t one = 1;

	if (st->listener_started) {
		if (write(st->stop_fd, &one, sizeof(one)) != sizeof(one))
			log_warn("store: cannot stop the listener: %s", strerror(errno));
		pthread_join(st->listener, NULL);
	}
	pg_free(st);
}

/* ---- the write lock ---- */

/* A store_tx is the pool slot whose connection holds the open transaction. */
static struct pg_slot *tx_slot(struct store_tx *tx)
{
	return (struct pg_slot *)tx;
}

static void pg_write_abort(struct store *s, struct store_tx *tx)
{
	struct store_pg *st = pg_of(s);

	pg_rollback(tx_slot(tx)->conn);
	pg_conn_put(st, tx_slot(tx));
}

/* ---- commit ---- */

/* A revision's kind (for its column), from its record. */
static int revision_kind(const struct store_text *t, uint64_t want_rev, char kind[24])
{
	struct json_object *rec = parse_record(t->data, t->len), *v;
	int ret = -1;

	if (rec && json_object_object_get_ex(rec, "kind", &v) &&
	    json_object_is_type(v, json_type_string) && json_object_get_string_len(v) > 0 &&
	    json_object_get_string_len(v) < 24 &&
	    (!json_object_object_get_ex(rec, "rev", &v) ||
	     (uint64_t)json_object_get_int64(v) == want_rev)) {
		snprintf(kind, 24, "%s", json_object_get_string(json_object_object_get(rec, "kind")));
		ret = 0;
	}
	json_object_put(rec);
	if (ret)
		log_err("PostgreSQL store: revision %" PRIu64 " is not a {\"rev\":%" PRIu64
			",\"kind\":...} record", want_rev, want_rev);
	return ret;
}

static int insert_revisions(struct store_pg *st, PGconn *conn, const struct store_batch *b,
			    char (*kinds)[24])
{
	struct strbuf sb;
	size_t i;
	int ret;

	strbuf_init(&sb);
	for (i = 0; i < b->n_revisions; i++) {
		strbuf_printf(&sb, "%" PRIu64 "\t%s\t", b->first_revision + i, kinds[i]);
		pg_copy_text(&sb, b->revisions[i].data, b->revisions[i].len);
		strbuf_puts(&sb, "\t");
		pg_copy_text(&sb, st->origin, strlen(st->origin));
		strbuf_puts(&sb, "\n");
	}
	ret = sb.oom ? STORE_ERROR : pg_copy_in(st, conn, "copying revisions",
					     "COPY revisions (rev, kind, record, origin) FROM STDIN",
					     &sb);
	strbuf_free(&sb);
	return ret;
}

/* Plain records (benchmarks): the node id is a column, so a load finds each node's newest. */
static int insert_records(struct store_pg *st, PGconn *conn, const struct store_batch *b)
{
	struct strbuf sb;
	size_t i;
	int ret = 0;

	strbuf_init(&sb);
	for (i = 0; i < b->n_records && !ret; i++) {
		struct json_object *rec = parse_record(b->records[i].data, b->records[i].len), *v;

		if (!rec || !json_object_object_get_ex(rec, "node_id", &v) ||
		    !json_object_is_type(v, json_type_string)) {
			log_err("PostgreSQL store: a plain record without node_id");
			ret = STORE_ERROR;
		} else {
			pg_copy_text(&sb, json_object_get_string(v), (size_t)json_object_get_string_len(v));
			strbuf_puts(&sb, "\t");
			pg_copy_text(&sb, b->records[i].data, b->records[i].len);
			strbuf_puts(&sb, "\t");
			pg_copy_text(&sb, st->origin, strlen(st->origin));
			strbuf_puts(&sb, "\n");
		}
		json_object_put(rec);
	}
	if (!ret)
		ret = sb.oom ? STORE_ERROR :
		      pg_copy_in(st, conn, "copying benchmarks",
			      "COPY benchmarks (node_id, record, origin) FROM STDIN", &sb);
	strbuf_free(&sb);
	return ret;
}

static int insert_epoch(struct store_pg *st, PGconn *conn, const struct store_batch *b,
			char (*kinds)[24])
{
	uint8_t sealed[EPOCH_SEALED_LEN];
	char id[24], start[24], expiry[24], rev[24];
	const char *vals[7] = { id, start, expiry, (const char *)sealed, st->key_id, rev,
				st->origin };
	int lens[7] = { 0, 0, 0, sizeof(sealed), 0, 0, 0 };
	int fmts[7] = { 0, 0, 0, 1, 0, 0, 0 };
	uint64_t epoch_rev = b->epoch->revision;
	size_t i;
	int ret;

	/* The epoch's own revision: as given, else the batch's "epoch" record. */
	if (b->n_revisions && (epoch_rev < b->first_revision ||
			       epoch_rev >= b->first_revision + b->n_revisions)) {
		epoch_rev = b->first_revision + b->n_revisions - 1;
		for (i = 0; i < b->n_revisions; i++)
			if (!strcmp(kinds[i], "epoch")) {
				epoch_rev = b->first_revision + i;
				break;
			}
	}
	if (epoch_seal(sealed, st->key, b->epoch->id, b->epoch->secret))
		return STORE_ERROR;
	snprintf(id, sizeof(id), "%" PRIu64, b->epoch->id);
	snprintf(start, sizeof(start), "%" PRId64, b->epoch->start);
	snprintf(expiry, sizeof(expiry), "%" PRId64, b->epoch->expiry);
	snprintf(rev, sizeof(rev), "%" PRIu64, epoch_rev);
	if (!b->n_revisions)
		vals[5] = NULL;	/* imported: no revision of its own */
	ret = pg_run(st, conn, "inserting an epoch",
		  "INSERT INTO epochs (id, start_unix, expiry_unix, sealed_secret, key_id, rev, "
		  "origin) VALUES ($1::bigint, $2::bigint, $3::bigint, $4, $5, $6::bigint, $7)",
		  7, vals, lens, fmts, NULL);
	OPENSSL_cleanse(sealed, sizeof(sealed));
	return ret;
}

static int commit_tx(struct store_pg *st, PGconn *conn, const struct store_batch *b,
		     char (*kinds)[24], bool in_tx, struct pg_tlog_head *th)
{
	/* Leaves of a batch that changes no revision may skip the head (tlog_pending). */
	bool defer = b->defer_audit && !in_tx && !b->n_revisions && !b->epoch;
	bool serial = b->n_revisions || (b->n_audit && !defer) || b->epoch;
	char base[24], n_revs[24], head[24], last_rev[24];
	const char *vals[2] = { base, n_revs };
	PGresult *r = NULL;
	int ret;

	/* In a store_write_begin() transaction: the head row is ours already. */
	ret = in_tx ? 0 : pg_run(st, conn, "BEGIN", "BEGIN", 0, NULL, NULL, NULL, NULL);
	if (ret)
		return ret;
	if (serial) {
		snprintf(base, sizeof(base), "%" PRIu64, b->first_revision - 1);
		snprintf(n_revs, sizeof(n_revs), "%zu", b->n_revisions);
		/*
		 * The serialisation point: a concurrent commit holds this row until
		 * it commits; then our WHERE no longer matches and we lose.
		 */
		ret = b->n_revisions ?
		      pg_run(st, conn, "advancing the head",
			  "UPDATE store_head SET rev = rev + $2::bigint WHERE id = 1 AND "
			  "rev = $1::bigint RETURNING rev", 2, vals, NULL, NULL, &r) :
		      pg_run(st, conn, "locking the head",
			  "SELECT rev FROM store_head WHERE id = 1 FOR UPDATE",
			  0, NULL, NULL, NULL, &r);
		if (ret)
			goto out;
		if (PQntuples(r) != 1) {
			ret = STORE_CONFLICT;
			goto out;
		}
		if (b->n_revisions)
			ret = insert_revisions(st, conn, b, kinds);
		if (!ret && b->epoch)
			ret = insert_epoch(st, conn, b, kinds);
		/* The audit leaves, in this transaction, after what they record. */
		if (!ret && b->n_audit) {
			snprintf(last_rev, sizeof(last_rev), "%" PRIu64,
				 b->first_revision + b->n_revisions - 1);
			ret = pg_tlog_append(st, conn, b->audit, b->n_audit, b->now,
					     b->n_revisions ? last_rev : NULL, th);
		}
	}
	if (!ret && b->n_records)
		ret = insert_records(st, conn, b);
	if (!ret && defer && b->n_audit)
		ret = pg_tlog_defer(st, conn, b->audit, b->n_audit, b->now);
	/*
	 * Not for deferred leaves: a NOTIFY serialises the commits of every
	 * notifying transaction (PostgreSQL's notify queue lock is held through
	 * the commit); the sequencing pass that appends them notifies instead.
	 */
	if (!ret && (b->n_revisions || (b->n_audit && !defer))) {
		/* Delivered to the listeners when (and only if) we commit. */
		snprintf(head, sizeof(head), "%" PRIu64, b->first_revision + b->n_revisions - 1);
		vals[0] = head;
		ret = pg_run(st, conn, "notifying", "SELECT pg_notify('meshnet_commit', $1)", 1, vals,
			  NULL, NULL, NULL);
	}
out:
	PQclear(r);
	if (!ret)
		/* A failure here leaves the outcome unknown: 503, and a later poll tells. */
		ret = pg_run(st, conn, "COMMIT", "COMMIT", 0, NULL, NULL, NULL, NULL);
	else
		pg_rollback(conn);
	if (ret)
		pg_tlog_head_free(th);
	return ret;
}

static int pg_commit(struct store *s, const struct store_batch *b)
{
	struct store_pg *st = pg_of(s);
	struct pg_tlog_head th = { 0 };
	char (*kinds)[24] = NULL;
	struct pg_slot *slot;
	size_t i;
	int ret;

	if (!b->n_revisions && !b->n_records && !b->n_audit && !b->epoch) {
		if (b->tx)
			pg_write_abort(s, b->tx);	/* nothing to write: just end the lock */
		return 0;
	}
	if ((b->n_revisions && !b->first_revision) || (b->epoch && !b->n_revisions)) {
		log_err("PostgreSQL store: %s", b->epoch && !b->n_revisions ?
			"an epoch must come with its revision" : "revisions start at 1");
		ret = STORE_ERROR;
		goto err_tx;
	}
	if (b->n_revisions) {
		kinds = calloc(b->n_revisions, sizeof(*kinds));
		ret = STORE_ERROR;
		if (!kinds)
			goto err_tx;
		for (i = 0; i < b->n_revisions; i++)
			if (revision_kind(&b->revisions[i], b->first_revision + i, kinds[i]))
				goto err_tx;
	}
	if (b->tx) {
		/* Commits in the open write transaction, which ends the lock. */
		slot = tx_slot(b->tx);
		ret = commit_tx(st, slot->conn, b, kinds, true, &th);
		pg_conn_put(st, slot);
	} else {
		ret = pg_conn_get(st, &slot);
		if (!ret) {
			ret = commit_tx(st, slot->conn, b, kinds, false, &th);
			pg_conn_put(st, slot);
		}
	}
	free(kinds);
	if (!ret)
		pg_tlog_publish(st, &th);
	if (!ret && b->n_audit && b->defer_audit && !b->tx && !b->n_revisions && !b->epoch)
		pg_tlog_wake(st);	/* its leaves wait in tlog_pending (commit_tx) */
	if (!ret && b->n_revisions) {
		pthread_mutex_lock(&st->poll_lock);
		if (st->applied_head < b->first_revision + b->n_revisions - 1)
			st->applied_head = b->first_revision + b->n_revisions - 1;
		pthread_mutex_unlock(&st->poll_lock);
	}
	return ret;
err_tx:
	free(kinds);
	if (b->tx)
		pg_write_abort(s, b->tx);
	return ret;
}

/* ---- load and poll ---- */

struct pg_sink {
	store_record_fn apply;
	void *ctx;
};

static int deliver_snapshot(const struct pg_sink *sink, const char *body, size_t len)
{
	const char *p = body, *end = body + len;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t line = nl ? (size_t)(nl - p) : (size_t)(end - p);
		struct json_object *rec;
		int ret;

		if (line) {
			rec = parse_record(p, line);
			if (!rec) {
				log_err("PostgreSQL store: a snapshot line is not a JSON record");
				return STORE_ERROR;
			}
			ret = sink->apply(sink->ctx, rec);
			json_object_put(rec);
			if (ret) {
				log_err("PostgreSQL store: a snapshot record was refused");
				return STORE_ERROR;
			}
		}
		p += line + 1;
	}
	return 0;
}

/* Streams a query's first column, JSON records, into apply (single-row mode). */
static int stream_records(struct store_pg *st, PGconn *conn, const char *what, const char *sql,
			  int n, const char *const *vals, const struct pg_sink *sink,
			  uint64_t *count)
{
	PGresult *r;
	int ret = 0;

	if (!PQsendQueryParams(conn, sql, n, NULL, vals, NULL, NULL, 0) ||
	    !PQsetSingleRowMode(conn))
		return pg_fail(st, conn, NULL, what);
	while ((r = PQgetResult(conn))) {
		ExecStatusType s = PQresultStatus(r);

		if (s == PGRES_SINGLE_TUPLE && !ret) {
			struct json_object *rec = parse_record(PQgetvalue(r, 0, 0),
							       (size_t)PQgetlength(r, 0, 0));

			if (!rec) {
				log_err("PostgreSQL store: %s: a row is not a JSON record", what);
				ret = STORE_ERROR;
			} else if (sink->apply(sink->ctx, rec)) {
				log_err("PostgreSQL store: %s: a record was refused", what);
				ret = STORE_ERROR;
			} else if (count) {
				(*count)++;
			}
			json_object_put(rec);
		} else if (s != PGRES_TUPLES_OK && s != PGRES_SINGLE_TUPLE && !ret) {
			ret = pg_fail(st, conn, r, what);
		}
		PQclear(r);
	}
	return ret;
}

static int pg_write_begin(struct store *s, uint64_t have_revision, store_record_fn apply,
			  void *ctx, struct store_tx **tx)
{
	struct store_pg *st = pg_of(s);
	struct pg_sink sink = { apply, ctx };
	char rev_s[24], low[24], old_low[24];
	const char *vals[1] = { rev_s };
	uint64_t head, n = 0;
	struct pg_slot *slot;
	PGresult *r;
	int ret;

	ret = pg_conn_get(st, &slot);
	if (ret)
		return ret;
	ret = pg_run(st, slot->conn, "BEGIN", "BEGIN", 0, NULL, NULL, NULL, NULL);
	/* Waits here while another controller's write transaction holds the row. */
	if (!ret)
		ret = pg_run(st, slot->conn, "taking the write lock",
			  "SELECT rev, pg_snapshot_xmin(pg_current_snapshot()) FROM store_head "
			  "WHERE id = 1 FOR UPDATE", 0, NULL, NULL, NULL, &r);
	if (ret)
		goto err;
	head = strtoull(PQgetvalue(r, 0, 0), NULL, 10);
	snprintf(low, sizeof(low), "%s", PQgetvalue(r, 0, 1));
	PQclear(r);
	ret = pg_tlog_refresh(st, slot->conn);
	if (ret)
		goto err;
	if (have_revision < head) {
		snprintf(rev_s, sizeof(rev_s), "%" PRIu64, have_revision);
		ret = stream_records(st, slot->conn, "catching up",
				     "SELECT record FROM revisions WHERE rev > $1::bigint ORDER BY rev",
				     1, vals, &sink, &n);
		if (!ret && n != head - have_revision) {
			log_err("PostgreSQL store: revisions %" PRIu64 "..%" PRIu64 " are incomplete",
				have_revision + 1, head);
			ret = STORE_ERROR;
		}
		if (ret)
			goto err;
	}
	/*
	 * And the benchmarks committed since the last read (plain records, no
	 * revision): a decision under the lock is taken on every node's newest
	 * benchmark, not on what this controller had polled.
	 */
	pthread_mutex_lock(&st->poll_lock);
	snprintf(old_low, sizeof(old_low), "%s", st->bench_low_xid);
	pthread_mutex_unlock(&st->poll_lock);
	vals[0] = old_low;
	ret = stream_records(st, slot->conn, "catching up benchmarks",
			     "SELECT record FROM benchmarks WHERE xid >= $1::xid8 ORDER BY seq", 1,
			     vals, &sink, NULL);
	if (ret)
		goto err;
	pthread_mutex_lock(&st->poll_lock);
	snprintf(st->bench_low_xid, sizeof(st->bench_low_xid), "%s", low);
	if (st->applied_head < head)
		st->applied_head = head;
	pthread_mutex_unlock(&st->poll_lock);
	*tx = (struct store_tx *)slot;
	return 0;
err:
	pg_rollback(slot->conn);
	pg_conn_put(st, slot);
	return ret;
}

static int read_epoch(struct store_pg *st, PGconn *conn, uint64_t after_epoch,
		      struct store_epoch *e)
{
	char after[24];
	const char *vals[1] = { after };
	size_t sealed_len;
	uint8_t *sealed;
	PGresult *r;
	int ret;

	snprintf(after, sizeof(after), "%" PRIu64, after_epoch);
	ret = pg_run(st, conn, "reading the epoch",
		  "SELECT id, start_unix, expiry_unix, sealed_secret, key_id, coalesce(rev, 0) "
		  "FROM epochs "
		  "WHERE id > $1::bigint ORDER BY id DESC LIMIT 1", 1, vals, NULL, NULL, &r);
	if (ret)
		return ret;
	if (PQntuples(r) != 1) {
		PQclear(r);
		return 0;
	}
	memset(e, 0, sizeof(*e));
	e->id = strtoull(PQgetvalue(r, 0, 0), NULL, 10);
	e->start = strtoll(PQgetvalue(r, 0, 1), NULL, 10);
	e->expiry = strtoll(PQgetvalue(r, 0, 2), NULL, 10);
	e->revision = strtoull(PQgetvalue(r, 0, 5), NULL, 10);
	sealed = PQunescapeBytea((const unsigned char *)PQgetvalue(r, 0, 3), &sealed_len);
	ret = 1;
	if (strcmp(PQgetvalue(r, 0, 4), st->key_id)) {
		log_err("PostgreSQL store: epoch %" PRIu64 " is sealed under another key (%.16s...)",
			e->id, PQgetvalue(r, 0, 4));
		ret = STORE_ERROR;
	} else if (!sealed || epoch_open(e->secret, st->key, e->id, sealed, sealed_len)) {
		log_err("PostgreSQL store: epoch %" PRIu64 ": the sealed secret does not open "
			"(damaged, or moved to another row)", e->id);
		ret = STORE_ERROR;
	}
	if (ret < 0)
		OPENSSL_cleanse(e, sizeof(*e));
	PQfreemem(sealed);
	PQclear(r);
	return ret;
}

/*
 * One consistent (REPEATABLE READ) read: for a load, the snapshot, the
 * revisions after it, each node's newest benchmark and the newest epoch;
 * for a poll, the revisions after after_rev and the benchmarks since the
 * last poll. Benchmarks have no revision: they are read from the lowest
 * transaction id still running at the previous read (pg_snapshot_xmin), so
 * a transaction that committed late is never skipped (a record may come
 * twice; applying one again changes nothing).
 */
static int read_after(struct store_pg *st, PGconn *conn, bool load, uint64_t after_rev,
		      const struct pg_sink *sink, struct store_epoch *epoch)
{
	char rev_s[24], low[24], old_low[24];
	const char *vals[1];
	uint64_t snap_rev = 0, n_revs = 0, head;
	PGresult *r;
	int ret, has_epoch = 0;

	ret = pg_run(st, conn, "BEGIN", "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", 0, NULL,
		  NULL, NULL, NULL);
	if (ret)
		return ret;
	ret = pg_run(st, conn, "reading the head",
		  "SELECT rev, pg_snapshot_xmin(pg_current_snapshot()) FROM store_head", 0, NULL,
		  NULL, NULL, &r);
	if (ret)
		goto out;
	head = strtoull(PQgetvalue(r, 0, 0), NULL, 10);
	snprintf(low, sizeof(low), "%s", PQgetvalue(r, 0, 1));
	PQclear(r);
	ret = pg_tlog_refresh(st, conn);
	if (ret)
		goto out;
	if (load) {
		ret = pg_run(st, conn, "reading the snapshot",
			  "SELECT rev, body FROM snapshots ORDER BY rev DESC LIMIT 1", 0, NULL,
			  NULL, NULL, &r);
		if (ret)
			goto out;
		if (PQntuples(r) == 1) {
			snap_rev = strtoull(PQgetvalue(r, 0, 0), NULL, 10);
			ret = deliver_snapshot(sink, PQgetvalue(r, 0, 1),
					       (size_t)PQgetlength(r, 0, 1));
		}
		PQclear(r);
		if (ret)
			goto out;
		after_rev = snap_rev;
	}
	if (after_rev < head) {
		snprintf(rev_s, sizeof(rev_s), "%" PRIu64, after_rev);
		vals[0] = rev_s;
		ret = stream_records(st, conn, "reading revisions",
				     "SELECT record FROM revisions WHERE rev > $1::bigint ORDER BY rev",
				     1, vals, sink, &n_revs);
		if (ret)
			goto out;
		if (n_revs != head - after_rev) {
			log_err("PostgreSQL store: revisions %" PRIu64 "..%" PRIu64 " are incomplete "
				"(%" PRIu64 " rows)", after_rev + 1, head, n_revs);
			ret = STORE_ERROR;
			goto out;
		}
	}
	if (load) {
		ret = stream_records(st, conn, "reading benchmarks",
				     "SELECT DISTINCT ON (node_id) record FROM benchmarks "
				     "ORDER BY node_id, seq DESC", 0, NULL, sink, NULL);
	} else {
		pthread_mutex_lock(&st->poll_lock);
		snprintf(old_low, sizeof(old_low), "%s", st->bench_low_xid);
		pthread_mutex_unlock(&st->poll_lock);
		vals[0] = old_low;
		ret = stream_records(st, conn, "reading benchmarks",
				     "SELECT record FROM benchmarks WHERE xid >= $1::xid8 ORDER BY seq",
				     1, vals, sink, NULL);
	}
	if (!ret && epoch)
		ret = has_epoch = read_epoch(st, conn, 0, epoch);
	if (ret >= 0)
		ret = pg_run(st, conn, "COMMIT", "COMMIT", 0, NULL, NULL, NULL, NULL);
	if (!ret) {
		pthread_mutex_lock(&st->poll_lock);
		snprintf(st->bench_low_xid, sizeof(st->bench_low_xid), "%s", low);
		if (st->applied_head < head)
			st->applied_head = head;
		pthread_mutex_unlock(&st->poll_lock);
	}
out:
	if (ret) {
		pg_rollback(conn);
		if (epoch)
			OPENSSL_cleanse(epoch, sizeof(*epoch));
		return ret;
	}
	return has_epoch;
}

static int pg_load(struct store *s, store_record_fn apply, void *ctx, struct store_epoch *epoch)
{
	struct store_pg *st = pg_of(s);
	struct pg_sink sink = { apply, ctx };
	struct pg_slot *slot;
	int ret = pg_conn_get(st, &slot);

	if (ret)
		return ret;
	ret = read_after(st, slot->conn, true, 0, &sink, epoch);
	pg_conn_put(st, slot);
	return ret;
}

static int pg_poll(struct store *s, uint64_t after_revision, store_record_fn apply, void *ctx)
{
	struct store_pg *st = pg_of(s);
	struct pg_sink sink = { apply, ctx };
	struct pg_slot *slot;
	int ret = pg_conn_get(st, &slot);

	if (ret)
		return ret;
	ret = read_after(st, slot->conn, false, after_revision, &sink, NULL);
	pg_conn_put(st, slot);
	return ret;
}

int store_pg_newest_epoch(struct store *s, uint64_t after_epoch, struct store_epoch *e)
{
	struct store_pg *st = pg_of(s);
	struct pg_slot *slot;
	int ret;

	if (after_epoch >= (uint64_t)INT64_MAX)
		return 0;
	ret = pg_conn_get(st, &slot);
	if (ret)
		return ret;
	ret = read_epoch(st, slot->conn, after_epoch, e);
	pg_conn_put(st, slot);
	return ret;
}

static int pg_notify_fd(struct store *s)
{
	return pg_of(s)->event_fd;
}

/* ---- replay protection, compaction, audit ---- */

static int pg_replay_check_and_set(struct store *s, const char *node_id, const uint8_t nonce[16],
				   int64_t expiry)
{
	struct store_pg *st = pg_of(s);
	char exp_s[24];
	const char *vals[3] = { node_id, (const char *)nonce, exp_s };
	int lens[3] = { 0, 16, 0 }, fmts[3] = { 0, 1, 0 };
	struct pg_slot *slot;
	PGresult *r;
	int ret;

	snprintf(exp_s, sizeof(exp_s), "%" PRId64, expiry);
	ret = pg_conn_get(st, &slot);
	if (ret)
		return ret;
	/*
	 * Visible to every controller at its commit; not flushed to disk before
	 * the reply (synchronous_commit off for this transaction only): a nonce
	 * is not acknowledged state, and the WAL flush per signed request was
	 * the cost of every config reply. A database crash can forget the nonces
	 * of its last fraction of a second: a request captured then could be
	 * replayed once, within its expiry, after the crash (docs/postgres.md).
	 */
	ret = pg_run(st, slot->conn, "checking a nonce",
		     "BEGIN; SET LOCAL synchronous_commit TO off", 0, NULL, NULL, NULL, NULL);
	if (!ret)
		ret = pg_run(st, slot->conn, "checking a nonce",
			     "INSERT INTO replay_nonces (node_id, nonce, expires_unix) "
			     "VALUES ($1, $2, $3::bigint) ON CONFLICT DO NOTHING", 3, vals, lens, fmts,
			     &r);
	if (!ret) {
		ret = pg_run(st, slot->conn, "checking a nonce", "COMMIT", 0, NULL, NULL, NULL, NULL);
		if (ret)
			PQclear(r);
	} else {
		pg_rollback(slot->conn);
	}
	pg_conn_put(st, slot);
	if (ret)
		return ret == STORE_UNAVAILABLE ? ret : STORE_ERROR;
	ret = strcmp(PQcmdTuples(r), "1") ? 1 : 0;
	PQclear(r);
	return ret;
}

long store_pg_replay_expire(struct store *s, int64_t now)
{
	struct store_pg *st = pg_of(s);
	char now_s[24];
	const char *vals[1] = { now_s };
	PGresult *r;
	long n;

	snprintf(now_s, sizeof(now_s), "%" PRId64, now);
	if (pg_run_pooled(st, "expiring nonces",
			  "DELETE FROM replay_nonces WHERE expires_unix < $1::bigint", 1, vals, NULL,
			  NULL, &r))
		return -1;
	n = strtol(PQcmdTuples(r), NULL, 10);
	PQclear(r);
	return n;
}

/* The snapshot is the caller's state: every revision this store loaded, polled or committed. */
static int pg_compact(struct store *s, const char *snapshot, size_t len)
{
	struct store_pg *st = pg_of(s);
	char rev_s[24];
	const char *vals[2] = { rev_s, snapshot };
	int lens[2] = { 0, (int)len };
	struct pg_slot *slot;
	int ret;

	pthread_mutex_lock(&st->poll_lock);
	snprintf(rev_s, sizeof(rev_s), "%" PRIu64, st->applied_head);
	pthread_mutex_unlock(&st->poll_lock);
	ret = pg_conn_get(st, &slot);
	if (ret)
		return ret;
	ret = pg_run(st, slot->conn, "BEGIN", "BEGIN", 0, NULL, NULL, NULL, NULL);
	if (!ret)
		ret = pg_run(st, slot->conn, "writing a snapshot",
			  "INSERT INTO snapshots (rev, body) VALUES ($1::bigint, $2) "
			  "ON CONFLICT (rev) DO NOTHING", 2, vals, lens, NULL, NULL);
	/* Keep the newest two. */
	if (!ret)
		ret = pg_run(st, slot->conn, "pruning snapshots",
			  "DELETE FROM snapshots WHERE rev < (SELECT min(rev) FROM "
			  "(SELECT rev FROM snapshots ORDER BY rev DESC LIMIT 2) s)",
			  0, NULL, NULL, NULL, NULL);
	if (!ret)
		ret = pg_run(st, slot->conn, "COMMIT", "COMMIT", 0, NULL, NULL, NULL, NULL);
	else
		pg_rollback(slot->conn);
	pg_conn_put(st, slot);
	return ret;
}

/* The v1 chain's head (audit_records), for audit-verify and migrate. */
int store_pg_chain_head(struct store *s, char hash[65], uint64_t *records)
{
	PGresult *r;
	int ret = pg_run_pooled(pg_of(s), "reading the audit chain head",
				"SELECT audit_prev, audit_size FROM store_head WHERE id = 1", 0, NULL,
				NULL, NULL, &r);

	if (ret)
		return ret;
	snprintf(hash, AUDIT_HASH_HEX, "%s", PQgetvalue(r, 0, 0));
	*records = strtoull(PQgetvalue(r, 0, 1), NULL, 10);
	PQclear(r);
	return 0;
}

static int pg_log_open(struct store *s, const char *origin, EVP_PKEY *key)
{
	return pg_tlog_open(pg_of(s), origin, key);
}

static struct tlog_store *pg_log(struct store *s)
{
	return pg_of(s)->log;
}

int store_pg_import(struct store *s, const char *snapshot, size_t snapshot_len,
		    const struct store_epoch *epoch, const char *audit, size_t audit_len,
		    const char *tlog, size_t tlog_len, const char *checkpoint, size_t checkpoint_len)
{
	struct store_pg *st = pg_of(s);
	struct store_batch eb = { .epoch = epoch };
	char last[AUDIT_HASH_HEX], msg[256], n_s[24];
	const char *vals[2] = { snapshot, NULL };
	int lens[2] = { (int)snapshot_len, 0 };
	uint64_t records = 0, next, seq = 0, leaves = 0;
	const char *p = audit, *end = audit + audit_len;
	struct pg_slot *slot;
	struct strbuf sb;
	PGresult *r;
	int ret;

	strcpy(last, "0000000000000000000000000000000000000000000000000000000000000000");
	if (audit_len && audit_verify_buffer(audit, audit_len, &records, last, &next, msg,
					     sizeof(msg))) {
		log_err("migrate: the audit log is damaged (%s): refusing to import it", msg);
		return STORE_ERROR;
	}
	strbuf_init(&sb);
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));

		if (!nl)
			break;	/* a torn last line: audit_verify_buffer ignored it too */
		if (nl > p) {
			strbuf_printf(&sb, "%" PRIu64 "\t", ++seq);
			pg_copy_text(&sb, p, (size_t)(nl - p));
			strbuf_puts(&sb, "\t\\N\n");
		}
		p = nl + 1;
	}
	if (sb.oom || seq != records) {
		log_err("migrate: %" PRIu64 " audit lines but %" PRIu64 " verified records", seq,
			records);
		strbuf_free(&sb);
		return STORE_ERROR;
	}
	ret = pg_conn_get(st, &slot);
	if (ret) {
		strbuf_free(&sb);
		return ret;
	}
	ret = pg_run(st, slot->conn, "BEGIN", "BEGIN", 0, NULL, NULL, NULL, NULL);
	if (!ret)
		ret = pg_run(st, slot->conn, "checking the database is empty",
			  "SELECT (SELECT rev FROM store_head WHERE id = 1 FOR UPDATE) = 0 AND "
			  "(SELECT audit_size + tlog_size FROM store_head WHERE id = 1) = 0 AND "
			  "NOT EXISTS (SELECT 1 FROM snapshots) AND NOT EXISTS (SELECT 1 FROM epochs) "
			  "AND NOT EXISTS (SELECT 1 FROM benchmarks)", 0, NULL, NULL, NULL, &r);
	if (!ret) {
		if (strcmp(PQgetvalue(r, 0, 0), "t")) {
			log_err("migrate: the database is not empty: refusing to import into it");
			ret = STORE_CONFLICT;
		}
		PQclear(r);
	}
	if (!ret)
		ret = pg_run(st, slot->conn, "writing the snapshot",
			  "INSERT INTO snapshots (rev, body) VALUES (0, $1)", 1, vals, lens, NULL,
			  NULL);
	if (!ret && epoch)
		ret = insert_epoch(st, slot->conn, &eb, NULL);
	if (!ret && seq)
		ret = pg_copy_in(st, slot->conn, "copying audit records",
			      "COPY audit_records (seq, record, rev) FROM STDIN", &sb);
	if (!ret) {
		snprintf(n_s, sizeof(n_s), "%" PRIu64, seq);
		vals[0] = n_s;
		vals[1] = last;
		ret = pg_run(st, slot->conn, "moving the audit head",
			  "UPDATE store_head SET audit_size = $1::bigint, audit_prev = $2 WHERE id = 1",
			  2, vals, NULL, NULL, NULL);
	}
	/* The transparency log as it was: the same leaves, so the same tree. */
	if (!ret && tlog_len)
		ret = pg_tlog_import(st, slot->conn, tlog, tlog_len, checkpoint, checkpoint_len,
				     &leaves);
	if (!ret)
		ret = pg_run(st, slot->conn, "COMMIT", "COMMIT", 0, NULL, NULL, NULL, NULL);
	else
		pg_rollback(slot->conn);
	pg_conn_put(st, slot);
	strbuf_free(&sb);
	return ret;
}

int store_pg_audit_dump(struct store *s, int (*line)(void *ctx, const char *rec, size_t len),
			void *ctx)
{
	struct store_pg *st = pg_of(s);
	struct pg_slot *slot;
	PGresult *r;
	int ret = pg_conn_get(st, &slot);

	if (ret)
		return ret;
	if (!PQsendQuery(slot->conn, "SELECT record FROM audit_records ORDER BY seq") ||
	    !PQsetSingleRowMode(slot->conn)) {
		ret = pg_fail(st, slot->conn, NULL, "reading the audit log");
		pg_conn_put(st, slot);
		return ret;
	}
	while ((r = PQgetResult(slot->conn))) {
		if (PQresultStatus(r) == PGRES_SINGLE_TUPLE && !ret)
			ret = line(ctx, PQgetvalue(r, 0, 0), (size_t)PQgetlength(r, 0, 0)) ?
			      STORE_ERROR : 0;
		else if (PQresultStatus(r) != PGRES_TUPLES_OK &&
			 PQresultStatus(r) != PGRES_SINGLE_TUPLE && !ret)
			ret = pg_fail(st, slot->conn, r, "reading the audit log");
		PQclear(r);
	}
	pg_conn_put(st, slot);
	return ret;
}

const struct store_backend store_pg_backend = {
	.scheme = "postgres",
	.open = pg_open,
	.close = pg_close,
	.load = pg_load,
	.commit = pg_commit,
	.poll = pg_poll,
	.notify_fd = pg_notify_fd,
	.replay_check_and_set = pg_replay_check_and_set,
	.compact = pg_compact,
	.log_open = pg_log_open,
	.log = pg_log,
	.write_begin = pg_write_begin,
	.write_abort = pg_write_abort,
};
