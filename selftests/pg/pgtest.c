// SPDX-License-Identifier: MIT
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libpq-fe.h>

#include "pgtest.h"

const char *pg_url(void)
{
	const char *u = getenv("MESHNET_PG_URL");

	return u && *u ? u : NULL;
}

void db_url(char *out, size_t cap, const char *db)
{
	const char *u = pg_url(), *q = strchr(u, '?'), *slash;
	size_t head;

	for (slash = q ? q : u + strlen(u); slash > u && *slash != '/'; slash--)
		;
	head = (size_t)(slash - u);
	snprintf(out, cap, "%.*s/%s%s", (int)head, u, db, q ? q : "");
}

int sql(const char *url, const char *stmt)
{
	PGconn *c = PQconnectdb(url);
	PGresult *r;
	int ok;

	if (PQstatus(c) != CONNECTION_OK) {
		fprintf(stderr, "# sql: %s", PQerrorMessage(c));
		PQfinish(c);
		return -1;
	}
	r = PQexec(c, stmt);
	ok = PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK;
	if (!ok)
		fprintf(stderr, "# sql %s: %s", stmt, PQerrorMessage(c));
	PQclear(r);
	PQfinish(c);
	return ok ? 0 : -1;
}

char *sql_value(const char *url, const char *stmt)
{
	PGconn *c = PQconnectdb(url);
	char *v = NULL;
	PGresult *r;

	if (PQstatus(c) == CONNECTION_OK) {
		r = PQexec(c, stmt);
		if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) >= 1)
			v = strdup(PQgetvalue(r, 0, 0));
		PQclear(r);
	}
	PQfinish(c);
	return v;
}

int pg_create_db(const char *db, char *url, size_t cap)
{
	char admin[512], stmt[160];

	db_url(admin, sizeof(admin), "meshnet");
	snprintf(stmt, sizeof(stmt), "DROP DATABASE IF EXISTS %s WITH (FORCE)", db);
	if (sql(admin, stmt))
		return -1;
	snprintf(stmt, sizeof(stmt), "CREATE DATABASE %s", db);
	if (sql(admin, stmt))
		return -1;
	db_url(url, cap, db);
	return 0;
}

void pg_drop_db(const char *db)
{
	char admin[512], stmt[160];

	db_url(admin, sizeof(admin), "meshnet");
	snprintf(stmt, sizeof(stmt), "DROP DATABASE IF EXISTS %s WITH (FORCE)", db);
	sql(admin, stmt);
}

int pg_server(const char *cmd)
{
	char line[1024];
	const char *top = getenv("MESHNET_TOP"), *dir = getenv("MESHNET_PG_DIR");

	if (!dir)
		return -1;
	snprintf(line, sizeof(line), "bash %s/scripts/pg-test-server.sh %s '%s' >/dev/null",
		 top ? top : ".", cmd, dir);
	return system(line);
}

int64_t ms_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
