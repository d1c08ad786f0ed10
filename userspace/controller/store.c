// SPDX-License-Identifier: MIT
/*
 * The storage interface's dispatcher: store_open() picks the backend from
 * the URL's scheme; every other call goes to that backend.
 */
#include <errno.h>
#include <string.h>

#include "b64.h"
#include "log.h"
#include "store.h"
#include "store_pg.h"
#include "tlog_store.h"

static const struct store_backend *const backends[] = {
	&store_dir_backend,
	&store_pg_backend,
};

struct store *store_open(const char *url)
{
	const char *colon = strchr(url, ':');
	size_t i, n = colon ? (size_t)(colon - url) : 0;

	/* "postgres://..." or "dir:/path"; anything else is a state directory path. */
	if (colon && colon[1] == '/' && colon[2] == '/') {
		/* libpq's two spellings: postgres:// and postgresql:// */
		if (n == 10 && !strncmp(url, "postgresql", 10))
			n = 8;
		for (i = 0; i < sizeof(backends) / sizeof(backends[0]); i++)
			if (strlen(backends[i]->scheme) == n &&
			    !strncmp(backends[i]->scheme, url, n))
				return backends[i]->open(url);
		log_err("store %.*s://...: this meshnetd has no such storage backend", (int)n, url);
		return NULL;
	}
	if (!strncmp(url, "dir:", 4))
		url += 4;
	return store_dir_backend.open(url);
}

void store_close(struct store *st)
{
	if (st)
		st->backend->close(st);
}

int store_load(struct store *st, store_record_fn apply, void *ctx, struct store_epoch *epoch)
{
	return st->backend->load(st, apply, ctx, epoch);
}

int store_commit(struct store *st, const struct store_batch *b)
{
	return st->backend->commit(st, b);
}

int store_poll(struct store *st, uint64_t after_revision, store_record_fn apply, void *ctx)
{
	return st->backend->poll ? st->backend->poll(st, after_revision, apply, ctx) : 0;
}

int store_notify_fd(struct store *st)
{
	return st->backend->notify_fd ? st->backend->notify_fd(st) : -1;
}

int store_replay_check_and_set(struct store *st, const char *node_id, const uint8_t nonce[16],
			       int64_t expiry)
{
	if (!st->backend->replay_check_and_set)
		return STORE_NOT_SHARED;
	return st->backend->replay_check_and_set(st, node_id, nonce, expiry);
}

int store_compact(struct store *st, const char *snapshot, size_t len)
{
	return st->backend->compact(st, snapshot, len);
}

int store_open_log(struct store *st, const char *origin, EVP_PKEY *key)
{
	if (!st->backend->log_open) {
		/* it keeps its own audit records; /v1/log/ answers 503 */
		log_warn("the %s store keeps no transparency log yet", st->backend->scheme);
		return 0;
	}
	return st->backend->log_open(st, origin, key);
}

struct tlog_store *store_log(struct store *st)
{
	return st->backend->log ? st->backend->log(st) : NULL;
}

void store_audit_head(struct store *st, char hash[65], uint64_t *records)
{
	struct tlog_store *ts = store_log(st);
	uint8_t root[TLOG_HASH_LEN];

	*records = 0;
	tlog_hash_empty(root);
	if (ts)
		tlog_store_head(ts, records, root);
	meshnet_hex_encode(hash, root, TLOG_HASH_LEN);
}

int store_write_begin(struct store *st, uint64_t have_revision, store_record_fn apply, void *ctx,
		      struct store_tx **tx)
{
	*tx = NULL;
	if (!st->backend->write_begin)
		return 0;
	return st->backend->write_begin(st, have_revision, apply, ctx, tx);
}

void store_write_abort(struct store *st, struct store_tx *tx)
{
	if (tx && st->backend->write_abort)
		st->backend->write_abort(st, tx);
}
