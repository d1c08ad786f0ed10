// SPDX-License-Identifier: MIT
/*
 * The PostgreSQL schema, as versioned migrations that meshnetd runs itself at
 * start. Migration N takes the schema from version N-1 to N, in one
 * transaction, under an advisory lock (controllers starting together migrate
 * once). A database whose version is newer than the newest migration here is
 * refused: an older binary must not write to a schema it does not know.
 * Never edit a migration that has shipped; append a new one.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "log.h"
#include "store_pg_schema.h"

static const char *const migrations[] = {
	/* 1: the first schema. */
	"CREATE TABLE store_meta ("
	"  id integer PRIMARY KEY CHECK (id = 1),"
	"  key_id text NOT NULL,"			/* names the STORE_KEY_FILE key */
	"  created_at timestamptz NOT NULL DEFAULT now());"
	/* The one row that serialises revisions and audit leaves. */
	"CREATE TABLE store_head ("
	"  id integer PRIMARY KEY CHECK (id = 1),"
	"  rev bigint NOT NULL CHECK (rev >= 0),"
	"  audit_size bigint NOT NULL CHECK (audit_size >= 0),"
	"  audit_prev text NOT NULL);"			/* hash of the last audit record */
	"INSERT INTO store_head VALUES (1, 0, 0, repeat('0', 64));"
	/* The revision log (CONTRACT-v2 §1): the replication unit. */
	"CREATE TABLE revisions ("
	"  rev bigint PRIMARY KEY CHECK (rev >= 1),"
	"  kind text NOT NULL CHECK (kind <> ''),"
	"  record text NOT NULL,"
	"  origin text NOT NULL,"
	"  committed_at timestamptz NOT NULL DEFAULT now());"
	/* Benchmarks: durable, no revision unless they flip a verdict. */
	"CREATE TABLE benchmarks ("
	"  seq bigserial PRIMARY KEY,"
	"  node_id text NOT NULL,"
	"  record text NOT NULL,"
	"  xid xid8 NOT NULL DEFAULT pg_current_xact_id(),"
	"  origin text NOT NULL,"
	"  received_at timestamptz NOT NULL DEFAULT now());"
	"CREATE INDEX benchmarks_node ON benchmarks (node_id, seq);"
	"CREATE INDEX benchmarks_xid ON benchmarks (xid);"
	/* Epochs: the secret sealed with AES-256-GCM (epoch_seal.h). */
	"CREATE TABLE epochs ("
	"  id bigint PRIMARY KEY CHECK (id >= 1),"
	"  start_unix bigint NOT NULL,"
	"  expiry_unix bigint NOT NULL,"
	"  sealed_secret bytea NOT NULL,"
	"  key_id text NOT NULL,"
	"  rev bigint NOT NULL REFERENCES revisions (rev),"
	"  origin text NOT NULL,"
	"  created_at timestamptz NOT NULL DEFAULT now());"
	/* The audit log: records seq 1, 2, ... each naming its predecessor's hash. */
	"CREATE TABLE audit_records ("
	"  seq bigint PRIMARY KEY CHECK (seq >= 1),"
	"  record text NOT NULL,"
	"  rev bigint,"
	"  committed_at timestamptz NOT NULL DEFAULT now());"
	/* Compacted state: records up to rev, one row per compaction. */
	"CREATE TABLE snapshots ("
	"  rev bigint PRIMARY KEY,"
	"  body text NOT NULL,"
	"  created_at timestamptz NOT NULL DEFAULT now());"
	/* Signed-request nonces every controller checks (replay protection). */
	"CREATE TABLE replay_nonces ("
	"  node_id text NOT NULL,"
	"  nonce bytea NOT NULL,"
	"  expires_unix bigint NOT NULL,"
	"  PRIMARY KEY (node_id, nonce));"
	"CREATE INDEX replay_nonces_expiry ON replay_nonces (expires_unix);",
	/* 2: an epoch imported by `meshnetd migrate` has no revision of its own. */
	"ALTER TABLE epochs ALTER COLUMN rev DROP NOT NULL;",
	/*
	 * 3: the audit log becomes a transparency log (store_pg_tlog.c): leaves,
	 * stored hashes, and its head in the head row. audit_records keeps a v1
	 * chain read-only; the tree's first leaf commits to it.
	 */
	"CREATE TABLE tlog_records ("
	"  idx bigint PRIMARY KEY CHECK (idx >= 0),"
	"  record text NOT NULL,"
	"  rev bigint,"
	"  committed_at timestamptz NOT NULL DEFAULT now());"
	"CREATE TABLE tlog_hashes ("
	"  idx bigint PRIMARY KEY CHECK (idx >= 0),"
	"  hash bytea NOT NULL CHECK (length(hash) = 32));"
	"ALTER TABLE store_head"
	"  ADD COLUMN tlog_size bigint NOT NULL DEFAULT 0 CHECK (tlog_size >= 0),"
	"  ADD COLUMN tlog_frontier bytea NOT NULL DEFAULT '',"
	"  ADD COLUMN tlog_checkpoint text NOT NULL DEFAULT '';",
	/*
	 * 4: audit leaves committed without the head row (benchmarks that change
	 * no revision): a sequencing pass (store_pg_tlog.c) moves them into the
	 * log in order, in one transaction with the head, and deletes them here.
	 */
	"CREATE TABLE tlog_pending ("
	"  seq bigserial PRIMARY KEY,"
	"  type text NOT NULL CHECK (type <> ''),"
	"  fields text NOT NULL,"
	"  at_unix bigint NOT NULL,"			/* the leaf's time stamp */
	"  origin text NOT NULL,"
	"  committed_at timestamptz NOT NULL DEFAULT now());",
};

const int store_pg_schema_version = (int)(sizeof(migrations) / sizeof(migrations[0]));

/* pg_advisory_lock key: "meshnetd" in ASCII. */
#define MIGRATE_LOCK "7308890686946079844"

static int exec_ok(PGconn *conn, const char *sql, const char *what)
{
	PGresult *r = PQexec(conn, sql);
	ExecStatusType s = PQresultStatus(r);
	int ok = s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK;

	if (!ok)
		log_err("PostgreSQL: %s: %s", what, PQerrorMessage(conn));
	PQclear(r);
	return ok ? 0 : -1;
}

static int schema_version(PGconn *conn, int *version)
{
	PGresult *r = PQexec(conn, "SELECT coalesce(max(version), 0) FROM schema_version");
	int ok = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1;

	if (ok)
		*version = atoi(PQgetvalue(r, 0, 0));
	else
		log_err("PostgreSQL: reading schema_version: %s", PQerrorMessage(conn));
	PQclear(r);
	return ok ? 0 : -1;
}

int store_pg_migrate(PGconn *conn, const char *binary, int *from, int *to)
{
	int version = 0, ret = -1, i;

	if (exec_ok(conn, "SELECT pg_advisory_lock(" MIGRATE_LOCK ")", "taking the migration lock"))
		return -1;
	if (exec_ok(conn, "CREATE TABLE IF NOT EXISTS schema_version ("
			  " version integer PRIMARY KEY,"
			  " applied_at timestamptz NOT NULL DEFAULT now(),"
			  " applied_by text NOT NULL)", "creating schema_version") ||
	    schema_version(conn, &version))
		goto out;
	*from = version;
	if (version > store_pg_schema_version) {
		log_err("PostgreSQL: the database schema is version %d, newer than this meshnetd "
			"knows (%d): refusing to use it; run a meshnetd at least as new as the one "
			"that migrated it", version, store_pg_schema_version);
		ret = -2;
		goto out;
	}
	for (i = version; i < store_pg_schema_version; i++) {
		const char *params[2];
		char num[16];
		PGresult *r;

		if (exec_ok(conn, "BEGIN", "starting a migration"))
			goto out;
		if (exec_ok(conn, migrations[i], "running a migration")) {
			log_err("PostgreSQL: migration %d failed; the schema stays at version %d",
				i + 1, i);
			exec_ok(conn, "ROLLBACK", "rolling back a migration");
			goto out;
		}
		snprintf(num, sizeof(num), "%d", i + 1);
		params[0] = num;
		params[1] = binary;
		r = PQexecParams(conn, "INSERT INTO schema_version (version, applied_by) "
				 "VALUES ($1::integer, $2)", 2, NULL, params, NULL, NULL, 0);
		if (PQresultStatus(r) != PGRES_COMMAND_OK) {
			log_err("PostgreSQL: recording migration %d: %s", i + 1,
				PQerrorMessage(conn));
			PQclear(r);
			exec_ok(conn, "ROLLBACK", "rolling back a migration");
			goto out;
		}
		PQclear(r);
		if (exec_ok(conn, "COMMIT", "committing a migration"))
			goto out;
		log_info("PostgreSQL: schema migrated to version %d", i + 1);
	}
	*to = store_pg_schema_version;
	ret = 0;
out:
	exec_ok(conn, "SELECT pg_advisory_unlock(" MIGRATE_LOCK ")", "releasing the migration lock");
	return ret;
}
