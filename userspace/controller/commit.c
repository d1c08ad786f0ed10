// SPDX-License-Identifier: MIT
/*
 * The commit pipeline: group commit, then publish.
 *
 * Writers (holding c->lock) add their records, audit leaves and epoch to the
 * open batch and queue their view changes; controller_commit_locked() hands
 * the batch's number back. The commit thread swaps the open batch for an
 * empty one (O(1) under c->lock), makes it durable with one store_commit()
 * (dir: records, then revisions, one fdatasync; the epoch; the audit leaves,
 * one fdatasync) with no lock held, then publishes its view and wakes the
 * replies waiting for it (they answer 2xx only now) and the long-polls.
 * Every change that queues up while one batch syncs goes in the next one.
 *
 * A failed commit cannot be undone in memory: the waiting replies get 503
 * and meshnetd exits (a supervisor restarts it from what is durable), as
 * PostgreSQL does on a failed fsync.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "controller.h"
#include "log.h"

#define COMPACT_JOURNAL_BYTES (64u << 20)

struct commit_batch *commit_batch_new(uint64_t seq)
{
	struct commit_batch *b = calloc(1, sizeof(*b));

	if (!b)
		return NULL;
	b->seq = seq;
	strbuf_init(&b->revisions);
	strbuf_init(&b->records);
	return b;
}

void commit_batch_free(struct commit_batch *b)
{
	size_t i;

	if (!b)
		return;
	strbuf_free(&b->revisions);
	strbuf_free(&b->records);
	for (i = 0; i < b->n_audit; i++) {
		free((char *)b->audit[i].type);
		free((char *)b->audit[i].fields);
	}
	free(b->audit);
	rev_publish_free(&b->publish);
	OPENSSL_cleanse(&b->epoch, sizeof(b->epoch));
	free(b);
}

int commit_add_record(struct controller *c, const char *line, size_t len, bool revision)
{
	struct commit_batch *b = c->open;
	struct strbuf *sb = revision ? &b->revisions : &b->records;

	if (revision && !b->n_revisions)
		b->first_revision = revisions_next(&c->rv);
	strbuf_append(sb, line, len);
	strbuf_append(sb, "\n", 1);
	if (sb->oom)
		return -1;
	if (revision)
		b->n_revisions++;
	else
		b->n_records++;
	b->dirty = true;
	return 0;
}

static int add_audit(struct controller *c, const char *type, const char *fields, bool lock)
{
	struct commit_batch *b = c->open;
	struct api_error err;

	/*
	 * A leaf of the shared log takes the store's write lock for its batch
	 * (writers take it before they change anything; this catches the rest),
	 * except the leaf of a plain benchmark: a batch that holds no lock (and
	 * changes no revision) commits its leaves without the log's head, and
	 * the store appends them in a sequencing pass (store.h: defer_audit).
	 */
	if (lock && !b->tx && controller_write_lock_locked(c, &err)) {
		log_err("audit record '%s': %s", type, err.message);
		return -1;
	}
	b = c->open;

	if (b->n_audit == b->cap_audit) {
		size_t cap = b->cap_audit ? 2 * b->cap_audit : 8;
		struct store_audit_leaf *a = realloc(b->audit, cap * sizeof(*a));

		if (!a)
			return -1;
		b->audit = a;
		b->cap_audit = cap;
	}
	b->audit[b->n_audit].type = strdup(type);
	b->audit[b->n_audit].fields = strdup(fields);
	if (!b->audit[b->n_audit].type || !b->audit[b->n_audit].fields) {
		free((char *)b->audit[b->n_audit].type);
		free((char *)b->audit[b->n_audit].fields);
		return -1;
	}
	b->n_audit++;
	b->dirty = true;
	return 0;
}

int commit_add_audit(struct controller *c, const char *type, const char *fields)
{
	return add_audit(c, type, fields, true);
}

int commit_add_audit_unlocked(struct controller *c, const char *type, const char *fields)
{
	return add_audit(c, type, fields, false);
}

void commit_set_epoch(struct controller *c, const struct store_epoch *e)
{
	c->open->epoch = *e;
	c->open->has_epoch = true;
	c->open->dirty = true;
}

uint64_t controller_commit_locked(struct controller *c)
{
	struct commit_batch *b = c->open;

	revisions_set_counts(&c->rv, c->n_nodes, c->n_allowed);
	b->dirty = true;
	if (!c->loading && !c->importing)
		pthread_cond_broadcast(&c->commit_cond);
	return b->seq;
}

/* Lines of text as store_text entries (pointers into text). */
static struct store_text *split_lines(const struct strbuf *sb, size_t n)
{
	struct store_text *t = calloc(n ? n : 1, sizeof(*t));
	const char *p = sb->buf, *end = sb->buf + sb->len;
	size_t i = 0;

	if (!t)
		return NULL;
	while (p && p < end && i < n) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));

		t[i].data = p;
		t[i].len = (size_t)(nl - p);
		i++;
		p = nl + 1;
	}
	return t;
}

/* Makes b durable; 0 or STORE_*. */
static int batch_store(struct controller *c, struct commit_batch *b)
{
	struct store_batch sb = {
		.first_revision = b->first_revision,
		.n_revisions = b->n_revisions,
		.n_records = b->n_records,
		.audit = b->audit,
		.n_audit = b->n_audit,
		.epoch = b->has_epoch ? &b->epoch : NULL,
		.now = controller_now(),
		.tx = b->tx,
		.defer_audit = !b->tx,
	};
	struct store_text *revs, *recs;
	int ret;

	if (!b->n_revisions && !b->n_records && !b->n_audit && !b->has_epoch) {
		store_write_abort(c->store, b->tx);	/* locked, then nothing to write */
		return 0;	/* a view change only (words), nothing to store */
	}
	revs = split_lines(&b->revisions, b->n_revisions);
	recs = split_lines(&b->records, b->n_records);
	if (!revs || !recs) {
		free(revs);
		free(recs);
		return STORE_ERROR;
	}
	sb.revisions = revs;
	sb.records = recs;
	ret = store_commit(c->store, &sb);
	free(revs);
	free(recs);
	return ret;
}

static void batch_done(struct controller *c, struct commit_batch *b, int ret)
{
	if (ret) {
		log_err("could not make revisions %llu..%llu durable (%d): meshnetd stops; "
			"restart it to continue from what is on disk",
			(unsigned long long)b->first_revision,
			(unsigned long long)(b->first_revision + b->n_revisions - 1), ret);
		if (c->on_durable)
			c->on_durable(c->on_durable_ctx, b->seq, false);
		fflush(NULL);
		_exit(75);
	}
	if (revisions_publish_detached(&c->rv, &b->publish))
		log_err("out of memory publishing revision %llu", (unsigned long long)c->rv.head);
	pthread_mutex_lock(&c->durable_lock);
	c->durable_seq = b->seq;
	pthread_cond_broadcast(&c->durable_cond);
	pthread_mutex_unlock(&c->durable_lock);
	if (c->on_durable)
		c->on_durable(c->on_durable_ctx, b->seq, true);
	controller_notify(c);
}

/* Takes the open batch (c->lock held); NULL if it is empty. */
static struct commit_batch *batch_take_locked(struct controller *c)
{
	struct commit_batch *b = c->open, *next;

	if (!b->dirty)
		return NULL;
	next = commit_batch_new(b->seq + 1);
	if (!next)
		return NULL;	/* retried on the next wake-up */
	revisions_set_counts(&c->rv, c->n_nodes, c->n_allowed);
	revisions_detach(&c->rv, &b->publish);
	c->open = next;
	return b;
}

int controller_commit_sync(struct controller *c)
{
	struct commit_batch *b;
	int ret;

	pthread_mutex_lock(&c->lock);
	b = batch_take_locked(c);
	pthread_mutex_unlock(&c->lock);
	if (!b)
		return 0;
	ret = batch_store(c, b);
	batch_done(c, b, ret);
	commit_batch_free(b);
	return ret;
}

static void maybe_compact(struct controller *c)
{
	if (store_journal_size(c->store) <= COMPACT_JOURNAL_BYTES)
		return;
	pthread_mutex_lock(&c->lock);
	records_compact_locked(c);
	pthread_mutex_unlock(&c->lock);
}

static void *commit_thread_main(void *arg)
{
	struct controller *c = arg;

	pthread_mutex_lock(&c->lock);
	for (;;) {
		struct commit_batch *b = batch_take_locked(c);
		int ret;

		if (!b) {
			if (c->commit_stopping)
				break;
			pthread_cond_wait(&c->commit_cond, &c->lock);
			continue;
		}
		pthread_mutex_unlock(&c->lock);
		ret = batch_store(c, b);
		batch_done(c, b, ret);
		commit_batch_free(b);
		maybe_compact(c);
		pthread_mutex_lock(&c->lock);
	}
	pthread_mutex_unlock(&c->lock);
	return NULL;
}

int controller_start_commit_thread(struct controller *c)
{
	if (pthread_create(&c->commit_thread, NULL, commit_thread_main, c))
		return -1;
	c->commit_thread_started = true;
	return 0;
}

void controller_stop_commit_thread(struct controller *c)
{
	if (!c->commit_thread_started)
		return;
	pthread_mutex_lock(&c->lock);
	c->commit_stopping = true;
	pthread_cond_broadcast(&c->commit_cond);
	pthread_mutex_unlock(&c->lock);
	pthread_join(c->commit_thread, NULL);
	c->commit_thread_started = false;
}

uint64_t controller_durable_seq(struct controller *c)
{
	uint64_t seq;

	pthread_mutex_lock(&c->durable_lock);
	seq = c->durable_seq;
	pthread_mutex_unlock(&c->durable_lock);
	return seq;
}
