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

/*
 * For `meshnetd migrate` to a store that keeps a hash chain (PostgreSQL):
 * the tree's records re-encoded as v1 chain records, every record first
 * checked against its stored leaf hash. Returns 0 (*out malloc'd), 1 if
 * the state directory has no tree (or an empty one), -1 if it is damaged
 * (msg says where).
 */
int store_dir_log_export_chain(const char *state_dir, char **out, size_t *len,
			       uint64_t *records, char *msg, size_t msg_len);

#endif
