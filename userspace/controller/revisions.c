// SPDX-License-Identifier: MIT
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "ids.h"
#include "revisions.h"

static unsigned int ref_inc(unsigned int *refs)
{
	return __atomic_add_fetch(refs, 1, __ATOMIC_RELAXED);
}

static unsigned int ref_dec(unsigned int *refs)
{
	return __atomic_sub_fetch(refs, 1, __ATOMIC_ACQ_REL);
}

/* ---- peer records, blobs ---- */

struct peer_rec *peer_rec_get(struct peer_rec *r)
{
	if (r)
		ref_inc(&r->refs);
	return r;
}

void peer_rec_put(struct peer_rec *r)
{
	if (!r || ref_dec(&r->refs))
		return;
	EVP_PKEY_free(r->sign_pkey);
	free(r->reason);
	free(r->explanation);
	free(r->peer_json);
	free(r);
}

struct blob *blob_from(char *text, size_t len)
{
	struct blob *b = malloc(sizeof(*b) + len + 1);

	if (!b)
		return NULL;
	b->refs = 1;
	b->wipe = false;
	b->len = len;
	memcpy(b->data, text, len);
	b->data[len] = '\0';
	return b;
}

struct blob *blob_get(struct blob *b)
{
	if (b)
		ref_inc(&b->refs);
	return b;
}

void blob_put(struct blob *b)
{
	if (!b || ref_dec(&b->refs))
		return;
	if (b->wipe)
		OPENSSL_cleanse(b->data, b->len);
	free(b);
}

/* ---- views ---- */

static void chunk_put(struct rec_chunk *ch)
{
	size_t i;

	if (!ch || ref_dec(&ch->refs))
		return;
	for (i = 0; i < VIEW_CHUNK; i++)
		peer_rec_put(ch->recs[i]);
	free(ch);
}

struct view *view_get(struct view *v)
{
	if (v)
		ref_inc(&v->refs);
	return v;
}

void view_put(struct view *v)
{
	size_t i;

	if (!v || ref_dec(&v->refs))
		return;
	for (i = 0; i < v->n_chunks; i++)
		chunk_put(v->chunks[i]);
	free(v->chunks);
	for (i = 0; i < VIEW_DELTA_CACHE; i++) {
		if (v->cache[i])
			blob_put(v->cache[i]->body);
		free(v->cache[i]);
	}
	pthread_mutex_destroy(&v->cache_lock);
	pthread_cond_destroy(&v->cache_cond);
	OPENSSL_cleanse(&v->epoch, sizeof(v->epoch));
	free(v);
}

struct peer_rec *view_rec(const struct view *v, uint32_t slot)
{
	size_t ci = slot / VIEW_CHUNK;

	if (ci >= v->n_chunks || !v->chunks[ci])
		return NULL;
	return v->chunks[ci]->recs[slot % VIEW_CHUNK];
}

static struct view *view_new(void)
{
	struct view *v = calloc(1, sizeof(*v));

	if (!v)
		return NULL;
	v->refs = 1;
	pthread_mutex_init(&v->cache_lock, NULL);
	pthread_cond_init(&v->cache_cond, NULL);
	return v;
}

/* ---- the log ---- */

int revisions_init(struct revisions *rv)
{
	memset(rv, 0, sizeof(*rv));
	rv->cap = REVISION_LOG_MIN;
	rv->ring = calloc(rv->cap, sizeof(*rv->ring));
	rv->current = view_new();
	if (!rv->ring || !rv->current) {
		free(rv->ring);
		view_put(rv->current);
		return -1;
	}
	pthread_rwlock_init(&rv->log_lock, NULL);
	pthread_mutex_init(&rv->view_lock, NULL);
	return 0;
}

void revisions_destroy(struct revisions *rv)
{
	size_t i;

	for (i = 0; i < rv->cap; i++)
		peer_rec_put(rv->ring[i].rec);
	free(rv->ring);
	for (i = 0; i < rv->n_pending; i++)
		peer_rec_put(rv->pending[i].rec);
	free(rv->pending);
	free(rv->free_slots);
	view_put(rv->current);
	OPENSSL_cleanse(&rv->next_epoch, sizeof(rv->next_epoch));
	pthread_rwlock_destroy(&rv->log_lock);
	pthread_mutex_destroy(&rv->view_lock);
}

struct view *revisions_view(struct revisions *rv)
{
	struct view *v;

	pthread_mutex_lock(&rv->view_lock);
	v = view_get(rv->current);
	pthread_mutex_unlock(&rv->view_lock);
	return v;
}

uint32_t revisions_slot_alloc(struct revisions *rv)
{
	if (rv->n_free)
		return rv->free_slots[--rv->n_free];
	return rv->next_slot++;
}

void revisions_slot_free(struct revisions *rv, uint32_t slot)
{
	if (rv->n_free == rv->cap_free) {
		size_t cap = rv->cap_free ? 2 * rv->cap_free : 64;
		uint32_t *f = realloc(rv->free_slots, cap * sizeof(*f));

		if (!f)
			return;	/* the slot is lost, nothing else */
		rv->free_slots = f;
		rv->cap_free = cap;
	}
	rv->free_slots[rv->n_free++] = slot;
}

uint64_t revisions_next(const struct revisions *rv)
{
	return rv->head + 1;
}

void revisions_set_head(struct revisions *rv, uint64_t head)
{
	pthread_rwlock_wrlock(&rv->log_lock);
	rv->head = rv->low = head;
	pthread_rwlock_unlock(&rv->log_lock);
}

void revisions_set_counts(struct revisions *rv, size_t n_nodes, size_t n_allowed)
{
	rv->n_nodes = n_nodes;
	rv->n_allowed = n_allowed;
}

/* Keeps at least 2 n + 1024 revisions: one flip of every node stays a delta. */
static void log_grow_locked(struct revisions *rv)
{
	size_t want = 2 * rv->n_nodes + 1024, cap = rv->cap, i;
	struct rev_entry *ring;
	uint64_t r;

	while (cap < want)
		cap *= 2;
	if (cap == rv->cap)
		return;
	ring = calloc(cap, sizeof(*ring));
	if (!ring)
		return;
	for (r = rv->low + 1; r <= rv->head; r++)
		ring[r & (cap - 1)] = rv->ring[r & (rv->cap - 1)];
	for (i = 0; i < rv->cap; i++)
		rv->ring[i].rec = NULL;
	free(rv->ring);
	rv->ring = ring;
	rv->cap = cap;
}

static uint64_t log_append(struct revisions *rv, enum rev_kind kind, struct peer_rec *rec)
{
	struct rev_entry *e;
	uint64_t r;

	pthread_rwlock_wrlock(&rv->log_lock);
	log_grow_locked(rv);
	r = ++rv->head;
	if (rv->head - rv->low > rv->cap)
		rv->low++;	/* the oldest entry gives way */
	e = &rv->ring[r & (rv->cap - 1)];
	peer_rec_put(e->rec);
	e->revision = r;
	e->kind = kind;
	e->rec = peer_rec_get(rec);
	pthread_rwlock_unlock(&rv->log_lock);
	return r;
}

static int pending_add(struct revisions *rv, uint32_t slot, struct peer_rec *rec)
{
	if (rv->n_pending == rv->cap_pending) {
		size_t cap = rv->cap_pending ? 2 * rv->cap_pending : 64;
		struct pending_slot *p = realloc(rv->pending, cap * sizeof(*p));

		if (!p)
			return -1;
		rv->pending = p;
		rv->cap_pending = cap;
	}
	rv->pending[rv->n_pending].slot = slot;
	rv->pending[rv->n_pending].rec = rec;
	rv->n_pending++;
	return 0;
}

uint64_t revisions_change(struct revisions *rv, uint32_t slot, struct peer_rec *rec,
			  enum rev_kind kind)
{
	uint64_t r = 0;

	if (kind != REV_NONE) {
		if (rec)
			rec->revision = rv->head + 1;
		r = log_append(rv, kind, rec);
	}
	if (kind == REV_REMOVE) {
		/* The log keeps the tombstone; the views drop the slot. */
		peer_rec_put(rec);
		rec = NULL;
	}
	if (pending_add(rv, slot, rec)) {
		peer_rec_put(rec);
		return 0;
	}
	return r;
}

uint64_t revisions_epoch(struct revisions *rv, const struct view_epoch *e)
{
	uint64_t r = log_append(rv, REV_EPOCH, NULL);

	rv->next_epoch = *e;
	rv->next_epoch.revision = r;
	rv->epoch_pending = true;
	return r;
}

void revisions_detach(struct revisions *rv, struct rev_publish *p)
{
	memset(p, 0, sizeof(*p));
	p->pending = rv->pending;
	p->n_pending = rv->n_pending;
	rv->pending = NULL;
	rv->n_pending = rv->cap_pending = 0;
	p->epoch_pending = rv->epoch_pending;
	p->epoch = rv->next_epoch;
	rv->epoch_pending = false;
	OPENSSL_cleanse(&rv->next_epoch, sizeof(rv->next_epoch));
	p->n_nodes = rv->n_nodes;
	p->n_allowed = rv->n_allowed;
	p->head = rv->head;
}

void rev_publish_free(struct rev_publish *p)
{
	size_t i;

	for (i = 0; i < p->n_pending; i++)
		peer_rec_put(p->pending[i].rec);
	free(p->pending);
	OPENSSL_cleanse(p, sizeof(*p));
}

int revisions_publish_detached(struct revisions *rv, struct rev_publish *p)
{
	struct view *old = rv->current, *nv = view_new();
	size_t n_chunks = old->n_chunks, i;

	if (!nv) {
		rev_publish_free(p);
		return -1;
	}
	for (i = 0; i < p->n_pending; i++)
		if (p->pending[i].slot / VIEW_CHUNK + 1 > n_chunks)
			n_chunks = p->pending[i].slot / VIEW_CHUNK + 1;
	nv->chunks = calloc(n_chunks ? n_chunks : 1, sizeof(*nv->chunks));
	if (!nv->chunks) {
		view_put(nv);
		rev_publish_free(p);
		return -1;
	}
	nv->n_chunks = n_chunks;
	nv->revision = p->head;
	nv->epoch = p->epoch_pending ? p->epoch : old->epoch;
	nv->n_nodes = p->n_nodes;
	nv->n_allowed = p->n_allowed;
	for (i = 0; i < old->n_chunks; i++) {
		nv->chunks[i] = old->chunks[i];
		if (nv->chunks[i])
			ref_inc(&nv->chunks[i]->refs);
	}
	for (i = 0; i < p->n_pending; i++) {
		uint32_t slot = p->pending[i].slot;
		size_t ci = slot / VIEW_CHUNK, j;
		struct rec_chunk *ch = nv->chunks[ci];

		if (!ch || (ci < old->n_chunks && ch == old->chunks[ci])) {
			struct rec_chunk *copy = calloc(1, sizeof(*copy));

			if (!copy) {
				view_put(nv);
				rev_publish_free(p);
				return -1;
			}
			copy->refs = 1;
			if (ch) {
				for (j = 0; j < VIEW_CHUNK; j++)
					copy->recs[j] = peer_rec_get(ch->recs[j]);
				chunk_put(ch);
			}
			nv->chunks[ci] = ch = copy;
		}
		peer_rec_put(ch->recs[slot % VIEW_CHUNK]);
		ch->recs[slot % VIEW_CHUNK] = p->pending[i].rec;
		p->pending[i].rec = NULL;
	}
	rev_publish_free(p);
	pthread_mutex_lock(&rv->view_lock);
	rv->current = nv;
	pthread_mutex_unlock(&rv->view_lock);
	view_put(old);
	return 0;
}

int revisions_publish(struct revisions *rv)
{
	struct rev_publish p;

	revisions_detach(rv, &p);
	return revisions_publish_detached(rv, &p);
}

/* ---- the log across a restart ---- */

static const char *const rev_kind_names[] = {
	[REV_ENROL] = "enrol", [REV_REMOVE] = "remove", [REV_VERDICT] = "verdict",
	[REV_PIN] = "pin", [REV_EPOCH] = "epoch",
};

const char *rev_kind_name(enum rev_kind kind)
{
	return kind > REV_NONE && kind <= REV_EPOCH ? rev_kind_names[kind] : "none";
}

enum rev_kind rev_kind_from_name(const char *name)
{
	int k;

	for (k = REV_ENROL; name && k <= REV_EPOCH; k++)
		if (!strcmp(name, rev_kind_names[k]))
			return (enum rev_kind)k;
	return REV_NONE;
}

static void rev_restore_clear(struct rev_restore *rr)
{
	size_t i;

	for (i = 0; i < rr->n; i++)
		free(rr->e[i].id);
	rr->n = 0;
}

void rev_restore_free(struct rev_restore *rr)
{
	rev_restore_clear(rr);
	free(rr->e);
	memset(rr, 0, sizeof(*rr));
}

int rev_restore_add(struct rev_restore *rr, uint64_t rev, enum rev_kind kind, const char *id)
{
	struct rev_restore_entry *e;

	if (!rev || kind == REV_NONE)
		return 0;
	if (rr->n && rev < rr->first + rr->n)
		return 0;	/* seen (a snapshot and the journal may overlap) */
	if (!rr->n || rev != rr->first + rr->n) {
		rev_restore_clear(rr);	/* a gap: only a contiguous run is a log */
		rr->first = rev;
	}
	if (rr->n == rr->cap) {
		size_t cap = rr->cap ? 2 * rr->cap : 256;

		e = realloc(rr->e, cap * sizeof(*e));
		if (!e)
			return -1;
		rr->e = e;
		rr->cap = cap;
	}
	e = &rr->e[rr->n];
	e->kind = kind;
	e->id = NULL;
	if (kind != REV_EPOCH) {
		if (!id)
			return 0;	/* a malformed record: it ends the run */
		e->id = strdup(id);
		if (!e->id)
			return -1;
	}
	rr->n++;
	return 0;
}

void revisions_log_each(struct revisions *rv,
			void (*fn)(void *ctx, uint64_t rev, enum rev_kind kind, const char *id),
			void *ctx)
{
	uint64_t r;

	pthread_rwlock_rdlock(&rv->log_lock);
	for (r = rv->low + 1; r <= rv->head; r++) {
		const struct rev_entry *e = &rv->ring[r & (rv->cap - 1)];

		fn(ctx, r, e->kind, e->rec ? e->rec->id : NULL);
	}
	pthread_rwlock_unlock(&rv->log_lock);
}

size_t revisions_restore(struct revisions *rv, const struct rev_restore *rr, uint64_t head,
			 struct peer_rec *(*rec_of)(void *ctx, const char *id), void *ctx)
{
	size_t n = 0, i;
	uint64_t r;

	revisions_set_head(rv, head);
	if (!rr->n || rr->first + rr->n - 1 != head)
		return 0;
	pthread_rwlock_wrlock(&rv->log_lock);
	log_grow_locked(rv);
	n = rr->n < rv->cap ? rr->n : rv->cap;
	for (i = rr->n - n, r = head - n + 1; i < rr->n; i++, r++) {
		const struct rev_restore_entry *src = &rr->e[i];
		struct rev_entry *e = &rv->ring[r & (rv->cap - 1)];
		struct peer_rec *rec = NULL;

		if (src->kind != REV_EPOCH) {
			rec = src->kind == REV_REMOVE ? NULL : rec_of(ctx, src->id);
			if (!rec) {	/* removed: a tombstone */
				rec = calloc(1, sizeof(*rec));
				if (!rec)
					break;
				rec->refs = 1;
				rec->removed = true;
				snprintf(rec->id, sizeof(rec->id), "%s", src->id);
			}
		}
		peer_rec_put(e->rec);
		e->revision = r;
		e->kind = src->kind;
		e->rec = rec;
	}
	if (i < rr->n) {	/* out of memory: the log starts empty at the head */
		for (r = head - n + 1; r <= head; r++) {
			struct rev_entry *e = &rv->ring[r & (rv->cap - 1)];

			peer_rec_put(e->rec);
			memset(e, 0, sizeof(*e));
		}
		n = 0;
	}
	rv->low = head - n;
	pthread_rwlock_unlock(&rv->log_lock);
	return n;
}

long revisions_delta(struct revisions *rv, const struct view *v, uint64_t base,
		     struct peer_rec ***out, bool *epoch_changed)
{
	struct peer_rec **recs = NULL;
	size_t *table = NULL;
	size_t n = 0, k, size, i;
	uint64_t r;

	*out = NULL;
	*epoch_changed = false;
	pthread_rwlock_rdlock(&rv->log_lock);
	if (base < rv->low || v->revision > rv->head || base > v->revision) {
		pthread_rwlock_unlock(&rv->log_lock);
		return -1;
	}
	k = (size_t)(v->revision - base);
	if (!k) {
		pthread_rwlock_unlock(&rv->log_lock);
		return 0;	/* nothing between base and the view */
	}
	recs = malloc(k * sizeof(*recs));
	if (!recs) {
		pthread_rwlock_unlock(&rv->log_lock);
		return -1;
	}
	for (r = base + 1; r <= v->revision; r++) {
		const struct rev_entry *e = &rv->ring[r & (rv->cap - 1)];

		if (e->kind == REV_EPOCH)
			*epoch_changed = true;
		else if (e->rec)
			recs[n++] = peer_rec_get(e->rec);
	}
	pthread_rwlock_unlock(&rv->log_lock);
	if (n < 2) {
		*out = recs;
		return (long)n;
	}
	/* Collapse per node id: the latest record wins, first-seen order kept. */
	for (size = 4; size < 2 * n; size *= 2)
		;
	table = calloc(size, sizeof(*table));
	if (!table) {
		for (i = 0; i < n; i++)
			peer_rec_put(recs[i]);
		free(recs);
		return -1;
	}
	for (i = 0, k = 0; i < n; i++) {
		size_t h = meshnet_id_hash(recs[i]->id) & (size - 1);

		while (table[h] && strcmp(recs[table[h] - 1]->id, recs[i]->id))
			h = (h + 1) & (size - 1);
		if (table[h]) {
			peer_rec_put(recs[table[h] - 1]);
			recs[table[h] - 1] = recs[i];
		} else {
			table[h] = k + 1;
			recs[k++] = recs[i];
		}
	}
	free(table);
	*out = recs;
	return (long)k;
}
