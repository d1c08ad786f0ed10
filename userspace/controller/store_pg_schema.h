/* SPDX-License-Identifier: MIT */
#ifndef MESHNETD_STORE_PG_SCHEMA_H
#define MESHNETD_STORE_PG_SCHEMA_H

#include <libpq-fe.h>

/*
 * Brings the schema up to store_pg_schema_version. *from: the version found,
 * *to: the version now. 0 on success, -2 if the database is newer than this
 * binary (refused, logged), -1 on other errors (logged).
 */
int store_pg_migrate(PGconn *conn, const char *binary, int *from, int *to);

#endif
