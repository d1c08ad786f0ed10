/* SPDX-License-Identifier: MIT */
/*
 * meshnetd's storage interface. Everything the controller persists goes
 * through here; the state directory is the first backend:
 *
 *   snapshot.jsonl  compacted records (atomic: temp, fsync, rename, fsync dir)
 *   journal.jsonl   records appended since the snapshot (one write() each)
 *   epoch.json      current epoch with its secret, mode 0600, atomic
 *   audit.jsonl     hash-chained audit log, append-only, fdatasync'd
 *   status.json     public status without secrets, atomic
 *
 * A record is one JSON object line; the controller defines their meaning,
 * the store only keeps them in order. Loading replays the snapshot, then
 * the journal (a torn last line is ignored).
 */
#ifndef MESHNETD_STORE_H
#define MESHNETD_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#include "hkdf.h"

struct store;

struct store_epoch {
	uint64_t id;
	int64_t start, expiry;
	uint8_t secret[MESHNET_EPOCH_SECRET_LEN];
};

typedef int (*store_record_fn)(void *ctx, struct json_object *rec);

struct store *store_open(const char *dir);
void store_close(struct store *st);

/* Replays every record; fills *epoch if one was committed (returns 1 then). */
int store_load(struct store *st, store_record_fn apply, void *ctx, struct store_epoch *epoch);

/* Appends a record (enrolment, removal, override) durably (fdatasync). */
int store_save_node(struct store *st, const char *record, size_t len);
/* Appends a record (benchmark, verdict); survives a process crash. */
int store_save_benchmark(struct store *st, const char *record, size_t len);
/* Replaces the snapshot with the given lines and empties the journal. */
int store_compact(struct store *st, const char *snapshot, size_t len);
size_t store_journal_size(struct store *st);

/* Makes e the current epoch (secret only in the 0600 epoch.json). */
int store_commit_epoch(struct store *st, const struct store_epoch *e);

/*
 * Appends one audit record; fields as in audit_format(). sync: fdatasync
 * now (a bulk import passes false and calls store_sync() once at the end).
 */
int store_append_audit(struct store *st, int64_t now, const char *type, const char *fields,
		       bool sync);
/* fdatasync of the journal and the audit log. */
int store_sync(struct store *st);
void store_audit_head(struct store *st, char hash[65], uint64_t *records);

/* Publishes status.json atomically. */
int store_publish_status(struct store *st, const char *json, size_t len);

/* Verifies an audit log file; prints the verdict; 0 intact, 1 bad, 2 error. */
int store_audit_verify_file(const char *path);

#endif
