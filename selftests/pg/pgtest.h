/* SPDX-License-Identifier: MIT */
/*
 * Helpers of the PostgreSQL suites: the test server that
 * scripts/pg-test-server.sh run started (MESHNET_PG_URL, MESHNET_PG_DIR), a
 * database per test, one-shot SQL, and controlling the server (kill, start).
 */
#ifndef MESHNET_PGTEST_H
#define MESHNET_PGTEST_H

#include <stddef.h>
#include <stdint.h>

/* The server's URL, or NULL when the suite runs without one. */
const char *pg_url(void);
/* The URL of database db on the test server. */
void db_url(char *out, size_t cap, const char *db);
/* Creates (dropping first) database db; its URL into url. */
int pg_create_db(const char *db, char *url, size_t cap);
void pg_drop_db(const char *db);
/* Runs one statement; 0 if it succeeded. */
int sql(const char *url, const char *stmt);
/* First column of the first row, malloc'd (NULL on error or no row). */
char *sql_value(const char *url, const char *stmt);
/* scripts/pg-test-server.sh CMD on the suite's server: "kill", "start", "stop". */
int pg_server(const char *cmd);
int64_t ms_now(void);

#endif
