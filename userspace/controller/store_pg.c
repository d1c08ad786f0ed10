// SPDX-License-Identifier: MIT
/*
 * The PostgreSQL backend (store_pg.h): a pool of libpq connections, each
 * operation one explicit transaction.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "b64.h"
#include "fileio.h"
#include "log.h"
#include "store_pg.h"
#include "store_pg_schema.h"
#include "strbuf.h"

#define POOL_DEFAULT 8
#define DOWN_RETRY_MS 500	/* while the database is down, reconnect at most this often */
#define CHECKOUT_WAIT_S 10

struct pg_slot {
	PGconn *conn;
	bool busy;
};

struct store_pg {
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

	pthread_mutex_t listen_lock;	/* the LISTEN connection */
	PGconn *listen;
	int64_t listen_retry_ms;

	pthread_mutex_t poll_lock;	/* benchmark low-water mark */
	char bench_low_xid[24];
};

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

bool store_pg_available(struct store_pg *st)
{
	bool up;

	pthread_mutex_lock(&st->lock);
	up = st->available;
	pthread_mutex_unlock(&st->lock);
	return up;
}

/* Checks a connection out of the pool, reconnecting it if it broke. */
static int conn_get(struct store_pg *st, struct pg_slot **out)
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

static void conn_put(struct store_pg *st, struct pg_slot *slot)
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
static int pg_fail(struct store_pg *st, PGconn *conn, PGresult *r, const char *what)
{
	const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
	const char *msg = r ? PQresultErrorMessage(r) : PQerrorMessage(conn);

	if (PQstatus(conn) != CONNECTION_OK || !state || !strncmp(state, "08", 2) ||
	    !strncmp(state, "57P", 3) || !strcmp(state, "57014") || !strcmp(state, "53300")) {
		log_warn("PostgreSQL: %s: %s", what, *msg ? msg : "connection lost");
		set_available(st, false);
		return STORE_UNAVAILABLE;
	}
	if (!strcmp(state, "23505") || !strcmp(state, "40001") || !strcmp(state, "40P01"))
		return STORE_CONFLICT;
	log_err("PostgreSQL: %s: [%s] %s", what, state, msg);
	return -1;
}

/* Runs a statement; *res holds the result if it succeeded, else the failure's code. */
static int run(struct store_pg *st, PGconn *conn, const char *what, const char *sql, int n,
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

static void rollback(PGconn *conn)
{
	if (PQstatus(conn) == CONNECTION_OK && PQtransactionStatus(conn) != PQTRANS_IDLE)
		PQclear(PQexec(conn, "ROLLBACK"));
}

/* ---- COPY in text format ---- */

static void copy_text(struct strbuf *sb, const char *s, size_t len)
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

static void copy_bytea(struct strbuf *sb, const uint8_t *p, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	size_t i;

	strbuf_puts(sb, "\\\\x");
	for (i = 0; i < len; i++) {
		char two[2] = { hex[p[i] >> 4], hex[p[i] & 15] };

		strbuf_append(sb, two, 2);
	}
}

static int copy_in(struct store_pg *st, PGconn *conn, const char *what, const char *sql,
		   const struct strbuf *data)
{
	PGresult *r = PQexec(conn, sql);
	int ret = 0;

	if (PQresultStatus(r) != PGRES_COPY_IN) {
		ret = pg_fail(st, conn, r, what);
		PQclear(r);
		return ret ? ret : -1;
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

/* ---- open / close ---- */

static int load_key(struct store_pg *st, PGconn *conn, const char *path)
{
	const char *params[1];
	PGresult *r = NULL;
	bool created = false;
	int ret;

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
	ret = run(st, conn, "recording the store key id",
		  "INSERT INTO store_meta (id, key_id) VALUES (1, $1) ON CONFLICT DO NOTHING",
		  1, params, NULL, NULL, NULL);
	if (!ret)
		ret = run(st, conn, "reading the store key id",
			  "SELECT key_id FROM store_meta WHERE id = 1", 0, NULL, NULL, NULL, &r);
	if (ret)
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
	if (PQresultStatus(r) != PGRES_COMMAND_OK) {
		log_warn("PostgreSQL: LISTEN: %s", PQerrorMessage(conn));
		PQclear(r);
		PQfinish(conn);
		return -1;
	}
	PQclear(r);
	if (PQsetnonblocking(conn, 1)) {
		PQfinish(conn);
		return -1;
	}
	st->listen = conn;
	return 0;
}

struct store_pg *store_pg_open(const char *url, const struct store_pg_options *opt)
{
	struct store_pg *st = calloc(1, sizeof(*st));
	int from = 0, to = 0, ret;
	uint8_t rnd[6];
	char rnd_hex[13], host[32] = "";
	PGconn *conn;
	unsigned int i;

	if (!st)
		return NULL;
	st->url = strdup(url);
	st->n_slots = opt && opt->pool_size ? opt->pool_size : POOL_DEFAULT;
	st->slots = calloc(st->n_slots, sizeof(*st->slots));
	if (!st->url || !st->slots || RAND_bytes(rnd, sizeof(rnd)) != 1)
		goto err_free;
	meshnet_hex_encode(rnd_hex, rnd, sizeof(rnd));
	gethostname(host, sizeof(host) - 1);
	snprintf(st->origin, sizeof(st->origin), "%s:%ld:%s", host, (long)getpid(), rnd_hex);
	pthread_mutex_init(&st->lock, NULL);
	pthread_cond_init(&st->cond, NULL);
	pthread_mutex_init(&st->listen_lock, NULL);
	pthread_mutex_init(&st->poll_lock, NULL);
	strcpy(st->bench_low_xid, "0");

	conn = pg_connect(st);
	if (!conn) {
		log_err("PostgreSQL store: cannot connect to the database (see above)");
		goto err_close;
	}
	st->slots[0].conn = conn;
	ret = store_pg_migrate(conn, "meshnetd", &from, &to);
	if (ret)
		goto err_close;
	if (from != to)
		log_info("PostgreSQL store: schema version %d -> %d", from, to);
	if (load_key(st, conn, opt ? opt->key_file : NULL))
		goto err_close;
	if (listen_connect(st)) {
		log_err("PostgreSQL store: cannot LISTEN for other controllers' commits");
		goto err_close;
	}
	st->available = true;
	log_info("PostgreSQL store: schema version %d, %u connection(s), origin %s", to,
		 st->n_slots, st->origin);
	return st;

err_close:
	for (i = 0; i < st->n_slots; i++)
		PQfinish(st->slots[i].conn);
	PQfinish(st->listen);
	pthread_mutex_destroy(&st->lock);
	pthread_cond_destroy(&st->cond);
	pthread_mutex_destroy(&st->listen_lock);
	pthread_mutex_destroy(&st->poll_lock);
err_free:
	OPENSSL_cleanse(st->key, sizeof(st->key));
	free(st->slots);
	free(st->url);
	free(st);
	return NULL;
}

void store_pg_close(struct store_pg *st)
{
	unsigned int i;

	if (!st)
		return;
	for (i = 0; i < st->n_slots; i++)
		PQfinish(st->slots[i].conn);
	PQfinish(st->listen);
	pthread_mutex_destroy(&st->lock);
	pthread_cond_destroy(&st->cond);
	pthread_mutex_destroy(&st->listen_lock);
	pthread_mutex_destroy(&st->poll_lock);
	OPENSSL_cleanse(st->key, sizeof(st->key));
	free(st->slots);
	free(st->url);
	free(st);
}

/* ---- commit ---- */

static int insert_revisions(struct store_pg *st, PGconn *conn, const struct store_pg_batch *b)
{
	struct strbuf sb;
	size_t i;
	int ret;

	if (b->n_revs == 1) {
		char rev[24];
		const char *vals[4] = { rev, b->revs[0].kind, NULL, st->origin };
		int lens[4] = { 0, 0, (int)b->revs[0].len, 0 };

		snprintf(rev, sizeof(rev), "%" PRIu64, b->revs[0].rev);
		vals[2] = b->revs[0].json;
		return run(st, conn, "inserting a revision",
			   "INSERT INTO revisions (rev, kind, record, origin) "
			   "VALUES ($1::bigint, $2, $3, $4)", 4, vals, lens, NULL, NULL);
	}
	strbuf_init(&sb);
	for (i = 0; i < b->n_revs; i++) {
		strbuf_printf(&sb, "%" PRIu64 "\t", b->revs[i].rev);
		copy_text(&sb, b->revs[i].kind, strlen(b->revs[i].kind));
		strbuf_puts(&sb, "\t");
		copy_text(&sb, b->revs[i].json, b->revs[i].len);
		strbuf_puts(&sb, "\t");
		copy_text(&sb, st->origin, strlen(st->origin));
		strbuf_puts(&sb, "\n");
	}
	ret = sb.oom ? -1 : copy_in(st, conn, "copying revisions",
				    "COPY revisions (rev, kind, record, origin) FROM STDIN", &sb);
	strbuf_free(&sb);
	return ret;
}

static int insert_leaves(struct store_pg *st, PGconn *conn, const struct store_pg_batch *b,
			 uint64_t first, uint64_t rev)
{
	struct strbuf sb;
	size_t i;
	int ret;

	strbuf_init(&sb);
	for (i = 0; i < b->n_leaves; i++) {
		strbuf_printf(&sb, "%" PRIu64 "\t", first + i);
		copy_bytea(&sb, b->leaves[i].data, b->leaves[i].len);
		if (rev)
			strbuf_printf(&sb, "\t%" PRIu64 "\n", rev);
		else
			strbuf_puts(&sb, "\t\\N\n");
	}
	ret = sb.oom ? -1 : copy_in(st, conn, "copying audit leaves",
				    "COPY audit_leaves (idx, leaf, rev) FROM STDIN", &sb);
	strbuf_free(&sb);
	return ret;
}

static int insert_benchmarks(struct store_pg *st, PGconn *conn, const struct store_pg_batch *b)
{
	struct strbuf sb;
	size_t i;
	int ret = 0;

	if (b->n_benchmarks == 1) {
		struct json_object *rec, *v;
		const char *vals[3] = { NULL, b->benchmarks[0].data, st->origin };
		int lens[3] = { 0, (int)b->benchmarks[0].len, 0 };

		/* The node id is a column so that a load finds each node's newest. */
		rec = json_tokener_parse(b->benchmarks[0].data);
		if (!rec || !json_object_object_get_ex(rec, "node_id", &v)) {
			json_object_put(rec);
			log_err("PostgreSQL store: a benchmark record without node_id");
			return -1;
		}
		vals[0] = json_object_get_string(v);
		ret = run(st, conn, "inserting a benchmark",
			  "INSERT INTO benchmarks (node_id, record, origin) VALUES ($1, $2, $3)",
			  3, vals, lens, NULL, NULL);
		json_object_put(rec);
		return ret;
	}
	strbuf_init(&sb);
	for (i = 0; i < b->n_benchmarks && !ret; i++) {
		struct json_object *rec = json_tokener_parse(b->benchmarks[i].data), *v;

		if (!rec || !json_object_object_get_ex(rec, "node_id", &v)) {
			log_err("PostgreSQL store: a benchmark record without node_id");
			ret = -1;
		} else {
			copy_text(&sb, json_object_get_string(v), (size_t)json_object_get_string_len(v));
			strbuf_puts(&sb, "\t");
			copy_text(&sb, b->benchmarks[i].data, b->benchmarks[i].len);
			strbuf_puts(&sb, "\t");
			copy_text(&sb, st->origin, strlen(st->origin));
			strbuf_puts(&sb, "\n");
		}
		json_object_put(rec);
	}
	if (!ret)
		ret = sb.oom ? -1 : copy_in(st, conn, "copying benchmarks",
					    "COPY benchmarks (node_id, record, origin) FROM STDIN", &sb);
	strbuf_free(&sb);
	return ret;
}

static int insert_epoch(struct store_pg *st, PGconn *conn, const struct store_pg_batch *b)
{
	uint8_t sealed[EPOCH_SEALED_LEN];
	char id[24], start[24], expiry[24], rev[24];
	const char *vals[7] = { id, start, expiry, (const char *)sealed, st->key_id, rev,
				st->origin };
	int lens[7] = { 0, 0, 0, sizeof(sealed), 0, 0, 0 };
	int fmts[7] = { 0, 0, 0, 1, 0, 0, 0 };
	uint64_t epoch_rev = b->revs[b->n_revs - 1].rev;
	size_t i;
	int ret;

	for (i = 0; i < b->n_revs; i++)
		if (!strcmp(b->revs[i].kind, "epoch")) {
			epoch_rev = b->revs[i].rev;
			break;
		}
	if (epoch_seal(sealed, st->key, b->epoch->id, b->epoch->secret))
		return -1;
	snprintf(id, sizeof(id), "%" PRIu64, b->epoch->id);
	snprintf(start, sizeof(start), "%" PRId64, b->epoch->start);
	snprintf(expiry, sizeof(expiry), "%" PRId64, b->epoch->expiry);
	snprintf(rev, sizeof(rev), "%" PRIu64, epoch_rev);
	ret = run(st, conn, "inserting an epoch",
		  "INSERT INTO epochs (id, start_unix, expiry_unix, sealed_secret, key_id, rev, "
		  "origin) VALUES ($1::bigint, $2::bigint, $3::bigint, $4, $5, $6::bigint, $7)",
		  7, vals, lens, fmts, NULL);
	OPENSSL_cleanse(sealed, sizeof(sealed));
	return ret;
}

static int commit_locked(struct store_pg *st, PGconn *conn, const struct store_pg_batch *b)
{
	bool serial = b->n_revs || b->n_leaves || b->epoch;
	PGresult *r;
	int ret;

	if (!serial) {
		/* Benchmarks only: one statement is its own transaction. */
		if (b->n_benchmarks == 1)
			return insert_benchmarks(st, conn, b);
		ret = run(st, conn, "BEGIN", "BEGIN", 0, NULL, NULL, NULL, NULL);
		if (!ret)
			ret = insert_benchmarks(st, conn, b);
		goto commit;
	}
	ret = run(st, conn, "BEGIN", "BEGIN", 0, NULL, NULL, NULL, NULL);
	if (ret)
		return ret;
	{
		char base[24], n_revs[24], n_leaves[24];
		const char *vals[3] = { base, n_revs, n_leaves };

		snprintf(base, sizeof(base), "%" PRIu64, b->base_rev);
		snprintf(n_revs, sizeof(n_revs), "%zu", b->n_revs);
		snprintf(n_leaves, sizeof(n_leaves), "%zu", b->n_leaves);
		/*
		 * The serialisation point: a concurrent commit holds this row until
		 * it commits; then our WHERE no longer matches and we lose.
		 */
		ret = run(st, conn, "advancing the head",
			  "UPDATE store_head SET rev = rev + $2::bigint, "
			  "audit_size = audit_size + $3::bigint WHERE id = 1 AND rev = $1::bigint "
			  "RETURNING audit_size - $3::bigint", 3, vals, NULL, NULL, &r);
	}
	if (ret)
		goto commit;
	if (PQntuples(r) != 1) {
		PQclear(r);
		ret = STORE_CONFLICT;
		goto commit;
	}
	{
		uint64_t first_leaf = strtoull(PQgetvalue(r, 0, 0), NULL, 10);
		char head[24];
		const char *vals[1] = { head };

		PQclear(r);
		if (b->n_revs)
			ret = insert_revisions(st, conn, b);
		if (!ret && b->epoch)
			ret = insert_epoch(st, conn, b);
		if (!ret && b->n_leaves)
			ret = insert_leaves(st, conn, b, first_leaf,
					    b->n_revs ? b->revs[b->n_revs - 1].rev : 0);
		if (!ret && b->n_benchmarks)
			ret = insert_benchmarks(st, conn, b);
		snprintf(head, sizeof(head), "%" PRIu64, b->base_rev + b->n_revs);
		/* Delivered to the listeners when (and only if) we commit. */
		if (!ret)
			ret = run(st, conn, "notifying", "SELECT pg_notify('meshnet_commit', $1)", 1,
				  vals, NULL, NULL, NULL);
	}
commit:
	if (ret) {
		rollback(conn);
		return ret;
	}
	/* A failure here leaves the outcome unknown: 503, and a later poll tells. */
	return run(st, conn, "COMMIT", "COMMIT", 0, NULL, NULL, NULL, NULL);
}

int store_pg_commit(struct store_pg *st, const struct store_pg_batch *b)
{
	struct pg_slot *slot;
	size_t i;
	int ret;

	for (i = 0; i < b->n_revs; i++)
		if (b->revs[i].rev != b->base_rev + 1 + i || !b->revs[i].kind || !*b->revs[i].kind) {
			log_err("PostgreSQL store: revision %" PRIu64 " out of order (base %" PRIu64
				")", b->revs[i].rev, b->base_rev);
			return -1;
		}
	if (b->epoch && !b->n_revs) {
		log_err("PostgreSQL store: an epoch must come with its revision");
		return -1;
	}
	if (!b->n_revs && !b->n_leaves && !b->epoch && !b->n_benchmarks)
		return 0;
	ret = conn_get(st, &slot);
	if (ret)
		return ret;
	ret = commit_locked(st, slot->conn, b);
	conn_put(st, slot);
	return ret;
}

/* ---- load and poll ---- */

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

static int deliver_snapshot(const struct store_pg_sink *sink, const char *body, size_t len)
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
				return -1;
			}
			ret = sink->snapshot ? sink->snapshot(sink->ctx, rec) : 0;
			json_object_put(rec);
			if (ret)
				return -1;
		}
		p += line + 1;
	}
	return 0;
}

enum row_kind { ROW_REVISION, ROW_BENCHMARK, ROW_LEAF };

/* Streams a query's rows (single-row mode) into the sink. */
static int stream_rows(struct store_pg *st, PGconn *conn, const char *what, const char *sql,
		       int n, const char *const *vals, enum row_kind kind,
		       const struct store_pg_sink *sink, uint64_t *count)
{
	PGresult *r;
	int ret = 0;

	if (!PQsendQueryParams(conn, sql, n, NULL, vals, NULL, NULL, 0) ||
	    !PQsetSingleRowMode(conn))
		return pg_fail(st, conn, NULL, what);
	while ((r = PQgetResult(conn))) {
		ExecStatusType s = PQresultStatus(r);

		if (s == PGRES_SINGLE_TUPLE && !ret) {
			const char *text = PQgetvalue(r, 0, kind == ROW_LEAF ? 1 : 0);
			size_t len = (size_t)PQgetlength(r, 0, kind == ROW_LEAF ? 1 : 0);
			struct json_object *rec = NULL;

			if (kind == ROW_LEAF) {
				size_t blen;
				uint8_t *leaf = PQunescapeBytea((const unsigned char *)text, &blen);

				ret = !leaf ? -1 : sink->leaf ?
				      sink->leaf(sink->ctx, strtoull(PQgetvalue(r, 0, 0), NULL, 10),
						 leaf, blen) : 0;
				PQfreemem(leaf);
			} else if (!(rec = parse_record(text, len))) {
				log_err("PostgreSQL store: %s: a row is not a JSON record", what);
				ret = -1;
			} else if (kind == ROW_REVISION) {
				ret = sink->revision ? sink->revision(sink->ctx,
					strtoull(PQgetvalue(r, 0, 1), NULL, 10), rec) : 0;
			} else {
				ret = sink->benchmark ? sink->benchmark(sink->ctx, rec) : 0;
			}
			json_object_put(rec);
			if (count && !ret)
				(*count)++;
		} else if (s != PGRES_TUPLES_OK && s != PGRES_SINGLE_TUPLE && !ret) {
			ret = pg_fail(st, conn, r, what);
		}
		PQclear(r);
	}
	return ret;
}

static int deliver_epoch(struct store_pg *st, PGconn *conn, uint64_t after_epoch,
			 const struct store_pg_sink *sink)
{
	struct store_pg_epoch e;
	char after[24];
	const char *vals[1] = { after };
	size_t sealed_len;
	uint8_t *sealed;
	PGresult *r;
	int ret;

	if (after_epoch >= (uint64_t)INT64_MAX)
		return 0;	/* the caller wants no epoch */
	snprintf(after, sizeof(after), "%" PRIu64, after_epoch);
	ret = run(st, conn, "reading the epoch",
		  "SELECT id, start_unix, expiry_unix, sealed_secret, key_id FROM epochs "
		  "WHERE id > $1::bigint ORDER BY id DESC LIMIT 1", 1, vals, NULL, NULL, &r);
	if (ret)
		return ret;
	if (PQntuples(r) != 1) {
		PQclear(r);
		return 0;
	}
	memset(&e, 0, sizeof(e));
	e.id = strtoull(PQgetvalue(r, 0, 0), NULL, 10);
	e.start = strtoll(PQgetvalue(r, 0, 1), NULL, 10);
	e.expiry = strtoll(PQgetvalue(r, 0, 2), NULL, 10);
	sealed = PQunescapeBytea((const unsigned char *)PQgetvalue(r, 0, 3), &sealed_len);
	if (strcmp(PQgetvalue(r, 0, 4), st->key_id)) {
		log_err("PostgreSQL store: epoch %" PRIu64 " is sealed under another key (%.16s...)",
			e.id, PQgetvalue(r, 0, 4));
		ret = -1;
	} else if (!sealed || epoch_open(e.secret, st->key, e.id, sealed, sealed_len)) {
		log_err("PostgreSQL store: epoch %" PRIu64 ": the sealed secret does not open "
			"(damaged or moved)", e.id);
		ret = -1;
	} else if (sink->epoch) {
		ret = sink->epoch(sink->ctx, &e);
	}
	PQfreemem(sealed);
	PQclear(r);
	OPENSSL_cleanse(&e, sizeof(e));
	return ret;
}

/*
 * One consistent (REPEATABLE READ) read of what happened after the given
 * positions. Benchmarks have no revision: they are read from the lowest
 * transaction id still running at the last read (pg_snapshot_xmin), so a
 * transaction that committed late is never skipped; a record may come twice.
 */
static int read_after(struct store_pg *st, PGconn *conn, bool load, uint64_t after_rev,
		      uint64_t after_leaves, uint64_t after_epoch,
		      const struct store_pg_sink *sink, uint64_t *head)
{
	char rev_s[24], leaves_s[24], low[24];
	const char *vals[1];
	uint64_t snap_rev = 0, n_revs = 0;
	PGresult *r;
	int ret;

	ret = run(st, conn, "BEGIN", "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", 0, NULL,
		  NULL, NULL, NULL);
	if (ret)
		return ret;
	ret = run(st, conn, "reading the head",
		  "SELECT rev, audit_size, pg_snapshot_xmin(pg_current_snapshot()) FROM store_head",
		  0, NULL, NULL, NULL, &r);
	if (ret)
		goto out;
	*head = strtoull(PQgetvalue(r, 0, 0), NULL, 10);
	snprintf(low, sizeof(low), "%s", PQgetvalue(r, 0, 2));
	PQclear(r);
	if (load) {
		ret = run(st, conn, "reading the snapshot",
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
	if (after_rev < *head) {
		snprintf(rev_s, sizeof(rev_s), "%" PRIu64, after_rev);
		vals[0] = rev_s;
		ret = stream_rows(st, conn, "reading revisions",
				  "SELECT record, rev FROM revisions WHERE rev > $1::bigint ORDER BY rev",
				  1, vals, ROW_REVISION, sink, &n_revs);
		if (ret)
			goto out;
		if (n_revs != *head - after_rev) {
			log_err("PostgreSQL store: revisions %" PRIu64 "..%" PRIu64 " are incomplete "
				"(%" PRIu64 " rows)", after_rev + 1, *head, n_revs);
			ret = -1;
			goto out;
		}
	}
	if (load) {
		ret = stream_rows(st, conn, "reading benchmarks",
				  "SELECT DISTINCT ON (node_id) record FROM benchmarks "
				  "ORDER BY node_id, seq DESC", 0, NULL, ROW_BENCHMARK, sink, NULL);
	} else {
		pthread_mutex_lock(&st->poll_lock);
		snprintf(rev_s, sizeof(rev_s), "%s", st->bench_low_xid);
		pthread_mutex_unlock(&st->poll_lock);
		vals[0] = rev_s;
		ret = stream_rows(st, conn, "reading benchmarks",
				  "SELECT record FROM benchmarks WHERE xid >= $1::xid8 ORDER BY seq",
				  1, vals, ROW_BENCHMARK, sink, NULL);
	}
	if (ret)
		goto out;
	snprintf(leaves_s, sizeof(leaves_s), "%" PRIu64, load ? 0 : after_leaves);
	vals[0] = leaves_s;
	ret = stream_rows(st, conn, "reading audit leaves",
			  "SELECT idx, leaf FROM audit_leaves WHERE idx >= $1::bigint ORDER BY idx",
			  1, vals, ROW_LEAF, sink, NULL);
	if (!ret)
		ret = deliver_epoch(st, conn, load ? 0 : after_epoch, sink);
	if (!ret)
		ret = run(st, conn, "COMMIT", "COMMIT", 0, NULL, NULL, NULL, NULL);
	if (!ret) {
		pthread_mutex_lock(&st->poll_lock);
		snprintf(st->bench_low_xid, sizeof(st->bench_low_xid), "%s", low);
		pthread_mutex_unlock(&st->poll_lock);
	}
out:
	if (ret)
		rollback(conn);
	return ret;
}

int store_pg_load(struct store_pg *st, const struct store_pg_sink *sink, uint64_t *head)
{
	struct pg_slot *slot;
	int ret = conn_get(st, &slot);

	if (ret)
		return ret;
	ret = read_after(st, slot->conn, true, 0, 0, 0, sink, head);
	conn_put(st, slot);
	return ret;
}

int store_pg_poll(struct store_pg *st, uint64_t after_rev, uint64_t after_leaves,
		  uint64_t after_epoch, const struct store_pg_sink *sink, uint64_t *head)
{
	struct pg_slot *slot;
	int ret = conn_get(st, &slot);

	if (ret)
		return ret;
	ret = read_after(st, slot->conn, false, after_rev, after_leaves, after_epoch, sink, head);
	conn_put(st, slot);
	return ret;
}

/* ---- LISTEN / NOTIFY ---- */

int store_pg_notify_fd(struct store_pg *st)
{
	int fd;

	pthread_mutex_lock(&st->listen_lock);
	fd = st->listen && PQstatus(st->listen) == CONNECTION_OK ? PQsocket(st->listen) : -1;
	pthread_mutex_unlock(&st->listen_lock);
	return fd;
}

int store_pg_notify_consume(struct store_pg *st)
{
	PGnotify *n;
	int ret = 0;

	pthread_mutex_lock(&st->listen_lock);
	if (!st->listen) {
		if (now_ms() < st->listen_retry_ms) {
			ret = STORE_UNAVAILABLE;
		} else if (listen_connect(st)) {
			st->listen_retry_ms = now_ms() + DOWN_RETRY_MS;
			ret = STORE_UNAVAILABLE;
		} else {
			ret = 1;	/* notifications may have been missed meanwhile */
		}
		pthread_mutex_unlock(&st->listen_lock);
		return ret;
	}
	if (!PQconsumeInput(st->listen) || PQstatus(st->listen) != CONNECTION_OK) {
		log_warn("PostgreSQL: the LISTEN connection broke; reconnecting");
		PQfinish(st->listen);
		st->listen = NULL;
		st->listen_retry_ms = 0;
		pthread_mutex_unlock(&st->listen_lock);
		return STORE_UNAVAILABLE;
	}
	while ((n = PQnotifies(st->listen))) {
		ret = 1;
		PQfreemem(n);
	}
	pthread_mutex_unlock(&st->listen_lock);
	return ret;
}

/* ---- replay protection, compaction ---- */

int store_pg_replay_check_and_set(struct store_pg *st, const char *node_id,
				  const uint8_t *nonce, size_t nonce_len, int64_t expiry)
{
	char exp_s[24];
	const char *vals[3] = { node_id, (const char *)nonce, exp_s };
	int lens[3] = { 0, (int)nonce_len, 0 }, fmts[3] = { 0, 1, 0 };
	struct pg_slot *slot;
	PGresult *r;
	int ret;

	snprintf(exp_s, sizeof(exp_s), "%" PRId64, expiry);
	ret = conn_get(st, &slot);
	if (ret)
		return ret;
	ret = run(st, slot->conn, "checking a nonce",
		  "INSERT INTO replay_nonces (node_id, nonce, expires_unix) "
		  "VALUES ($1, $2, $3::bigint) ON CONFLICT DO NOTHING", 3, vals, lens, fmts, &r);
	conn_put(st, slot);
	if (ret)
		return ret == STORE_UNAVAILABLE ? ret : -1;
	ret = strcmp(PQcmdTuples(r), "1") ? 1 : 0;
	PQclear(r);
	return ret;
}

long store_pg_replay_expire(struct store_pg *st, int64_t now)
{
	char now_s[24];
	const char *vals[1] = { now_s };
	struct pg_slot *slot;
	PGresult *r;
	long n;
	int ret;

	snprintf(now_s, sizeof(now_s), "%" PRId64, now);
	if (conn_get(st, &slot))
		return -1;
	ret = run(st, slot->conn, "expiring nonces",
		  "DELETE FROM replay_nonces WHERE expires_unix < $1::bigint", 1, vals, NULL, NULL,
		  &r);
	conn_put(st, slot);
	if (ret)
		return -1;
	n = strtol(PQcmdTuples(r), NULL, 10);
	PQclear(r);
	return n;
}

int store_pg_compact(struct store_pg *st, uint64_t rev, const char *lines, size_t len)
{
	char rev_s[24];
	const char *vals[2] = { rev_s, lines };
	int lens[2] = { 0, (int)len };
	struct pg_slot *slot;
	int ret;

	snprintf(rev_s, sizeof(rev_s), "%" PRIu64, rev);
	ret = conn_get(st, &slot);
	if (ret)
		return ret;
	ret = run(st, slot->conn, "BEGIN", "BEGIN", 0, NULL, NULL, NULL, NULL);
	if (!ret)
		ret = run(st, slot->conn, "writing a snapshot",
			  "INSERT INTO snapshots (rev, body) VALUES ($1::bigint, $2) "
			  "ON CONFLICT (rev) DO NOTHING", 2, vals, lens, NULL, NULL);
	/* Keep the newest two: a reader in the middle of a load keeps its own. */
	if (!ret)
		ret = run(st, slot->conn, "pruning snapshots",
			  "DELETE FROM snapshots WHERE rev < (SELECT min(rev) FROM "
			  "(SELECT rev FROM snapshots ORDER BY rev DESC LIMIT 2) s)",
			  0, NULL, NULL, NULL, NULL);
	if (!ret)
		ret = run(st, slot->conn, "COMMIT", "COMMIT", 0, NULL, NULL, NULL, NULL);
	else
		rollback(slot->conn);
	conn_put(st, slot);
	return ret;
}
