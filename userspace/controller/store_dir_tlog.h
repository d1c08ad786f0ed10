/* SPDX-License-Identifier: MIT */
/*
 * The audit part of the state-directory store: the transparency log in
 * STATE_DIR/tlog (tlog_store.h), and the migration of a v1 hash-chained
 * STATE_DIR/audit.jsonl (kept, read-only: `meshnetd audit-verify FILE`
 * still checks it). Migrating appends one first leaf
 *   {"index":0,...,"type":"migrated","chain":{"file":"audit.jsonl",
 *    "records":N,"head":"<sha256 hex of the last line>"}}
 * so the tree commits to the whole old chain.
 */
#ifndef MESHNETD_STORE_DIR_TLOG_H
#define MESHNETD_STORE_DIR_TLOG_H

#include <stdbool.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "tlog_store.h"

struct tlog_store *store_dir_log_open(const char *state_dir, const char *origin, EVP_PKEY *key,
				      int64_t now);
/* Appends an audit record (fields as in audit_format_leaf()); sync: commit now. */
int store_dir_log_append(struct tlog_store *ts, int64_t now, const char *type, const char *fields,
			 bool sync);

#endif
