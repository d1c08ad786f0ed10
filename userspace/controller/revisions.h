/* SPDX-License-Identifier: MIT */
/*
 * Revisions, the revision log and the immutable views readers share.
 *
 * Every committed change (enrol, remove, verdict, pin, epoch) gets the next
 * revision. The writer (holding c->lock) describes each change of a node
 * as a new immutable, reference-counted peer record; the log keeps the
 * last REVISION_LOG_MIN (or 2 n + 1024, whichever is larger) entries for
 * deltas. After a change the writer publishes a new view: an immutable,
 * reference-counted snapshot of every node's record at one revision, the
 * epoch and the counts, swapped atomically (a pointer under a lock held for
 * O(1)). Readers (config, auth, /health) take a view and never wait for a
 * writer; a view is a two-level copy-on-write array, so publishing costs
 * O(n / VIEW_CHUNK + k * VIEW_CHUNK) for k changed nodes, not O(n).
 */
#ifndef MESHNETD_REVISIONS_H
#define MESHNETD_REVISIONS_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "hkdf.h"
#include "membership.h"
#include "statement.h"

#define REVISION_LOG_MIN 65536
#define VIEW_CHUNK 256

enum rev_kind { REV_NONE = 0, REV_ENROL, REV_REMOVE, REV_VERDICT, REV_PIN, REV_EPOCH };

/* A node as readers see it at one revision (immutable once published). */
struct peer_rec {
	unsigned int refs;
	uint64_t revision;		/* the revision that made it */
	bool removed;			/* a tombstone in the log */
	enum verdict verdict;
	char id[64];
	char *reason;			/* the node's own reason (its statements only) */
	char *explanation;		/* DENIED: why, as a JSON object (its denied statements) */
	char *peer_json;		/* {"node_id":..,"membership":".."} as peers see it */
	size_t peer_json_len;
	EVP_PKEY *sign_pkey;		/* the node's request key */
};

struct peer_rec *peer_rec_get(struct peer_rec *r);
void peer_rec_put(struct peer_rec *r);

/* Epoch as readers see it; the key material is wiped with the view. */
struct view_epoch {
	uint64_t id;
	uint64_t revision;		/* the revision that started it */
	int64_t start, rotate_at, valid_until;
	bool group;			/* key_mode group (else pairwise) */
	uint8_t group_key[32];		/* K_e (group mode) */
	char group_key_b64[45];
	char commitment_hex[65];
	struct meshnet_psk_deriver deriver;	/* pairwise mode */
};

struct rec_chunk {
	unsigned int refs;
	struct peer_rec *recs[VIEW_CHUNK];
};

/* A reply body shared by many responses (reference-counted). */
struct blob {
	unsigned int refs;
	bool wipe;			/* holds key material: OPENSSL_cleanse on free */
	size_t len;
	char data[];
};

struct blob *blob_from(char *text, size_t len);	/* copies text */
struct blob *blob_get(struct blob *b);
void blob_put(struct blob *b);

/* A "*" delta (base, view head], rendered and signed once. */
struct shared_delta {
	uint64_t base;
	bool ready, failed;
	struct blob *body;
	char signature[MESHNET_STATEMENT_SIG_B64_LEN + 1];
};

#define VIEW_DELTA_CACHE 8

struct view {
	unsigned int refs;
	uint64_t revision;		/* head */
	struct view_epoch epoch;
	size_t n_nodes, n_allowed;
	size_t n_chunks;
	struct rec_chunk **chunks;
	/* "*" deltas to this head, rendered and signed once per base */
	pthread_mutex_t cache_lock;
	pthread_cond_t cache_cond;
	struct shared_delta *cache[VIEW_DELTA_CACHE];
	unsigned int cache_next;
};

struct view *view_get(struct view *v);
void view_put(struct view *v);
/* The record at slot, or NULL. */
struct peer_rec *view_rec(const struct view *v, uint32_t slot);

struct rev_entry {
	uint64_t revision;
	enum rev_kind kind;
	struct peer_rec *rec;		/* NULL for an epoch */
};

struct pending_slot {
	uint32_t slot;
	struct peer_rec *rec;		/* NULL: the slot is free again */
};

struct revisions {
	/* the log: ring of cap entries, (low, head] retained */
	pthread_rwlock_t log_lock;
	struct rev_entry *ring;
	size_t cap;
	uint64_t head, low;
	/* writer side (c->lock): changes not yet in a view */
	struct pending_slot *pending;
	size_t n_pending, cap_pending;
	bool epoch_pending;
	struct view_epoch next_epoch;
	size_t n_nodes, n_allowed;
	uint32_t *free_slots;
	size_t n_free, cap_free;
	uint32_t next_slot;
	/* the current view */
	pthread_mutex_t view_lock;
	struct view *current;
};

/* The changes of one commit, detached from the writer to publish once durable. */
struct rev_publish {
	struct pending_slot *pending;
	size_t n_pending;
	bool epoch_pending;
	struct view_epoch epoch;
	size_t n_nodes, n_allowed;
	uint64_t head;
};

int revisions_init(struct revisions *rv);
void revisions_destroy(struct revisions *rv);

/* The published view (a reference: view_put() it). */
struct view *revisions_view(struct revisions *rv);

/* Writer side, under c->lock. */
uint32_t revisions_slot_alloc(struct revisions *rv);
void revisions_slot_free(struct revisions *rv, uint32_t slot);
/*
 * Queues rec for slot (takes the reference; NULL frees the slot) and, if
 * kind is not REV_NONE, appends it to the log as revision head + 1.
 * Returns the revision (0 for REV_NONE) or 0 on allocation failure.
 */
uint64_t revisions_change(struct revisions *rv, uint32_t slot, struct peer_rec *rec,
			  enum rev_kind kind);
/* Queues the epoch and appends REV_EPOCH. Returns the revision. */
uint64_t revisions_epoch(struct revisions *rv, const struct view_epoch *e);
/* The next revision number (head + 1) for a record about to be written. */
uint64_t revisions_next(const struct revisions *rv);
/* After a load: the head the store reached (the log starts empty there). */
void revisions_set_head(struct revisions *rv, uint64_t head);
void revisions_set_counts(struct revisions *rv, size_t n_nodes, size_t n_allowed);
/* Builds and swaps in a view with every queued change. 0 or -1 (ENOMEM). */
int revisions_publish(struct revisions *rv);
/* Writer (c->lock): moves the queued changes into p (cheap: pointers). */
void revisions_detach(struct revisions *rv, struct rev_publish *p);
/* The one publisher: a view with p's changes on top of the current one. Frees p. */
int revisions_publish_detached(struct revisions *rv, struct rev_publish *p);
void rev_publish_free(struct rev_publish *p);

/*
 * The log across a restart. The compacted snapshot names the retained
 * revisions (kind and node id each: revisions_log_each); at load the
 * controller collects them, and the revision records after the snapshot,
 * into a rev_restore (the contiguous run that ends at the stored head), and
 * revisions_restore() rebuilds the log from it: every entry points to its
 * node's record at the head (the latest record of a node is all a delta to
 * a head at or after the restart sends), a removed node to a tombstone. So
 * a node holding a revision within the retention gets a delta after a
 * restart, not a snapshot.
 */
struct rev_restore_entry {
	enum rev_kind kind;
	char *id;			/* NULL for an epoch */
};

struct rev_restore {
	uint64_t first;			/* the revision of e[0] */
	size_t n, cap;
	struct rev_restore_entry *e;
};

const char *rev_kind_name(enum rev_kind kind);
/* REV_NONE for a name that is not a revision kind. */
enum rev_kind rev_kind_from_name(const char *name);
/* Adds revision rev (a gap starts the run again); 0 or -1 (ENOMEM). */
int rev_restore_add(struct rev_restore *rr, uint64_t rev, enum rev_kind kind, const char *id);
void rev_restore_free(struct rev_restore *rr);
/* Calls fn for every retained revision, oldest first (writer side). */
void revisions_log_each(struct revisions *rv,
			void (*fn)(void *ctx, uint64_t rev, enum rev_kind kind, const char *id),
			void *ctx);
/*
 * Rebuilds the log as (head - n, head] from the last n entries of rr that
 * end at head (rr must end at head: else the log starts empty there, as
 * revisions_set_head). rec_of(ctx, id) gives the node's record at the head
 * (a new reference) or NULL (removed: a tombstone is made). Returns the
 * number of revisions restored.
 */
size_t revisions_restore(struct revisions *rv, const struct rev_restore *rr, uint64_t head,
			 struct peer_rec *(*rec_of)(void *ctx, const char *id), void *ctx);

/*
 * The changes in (base, v->revision], collapsed per node (the latest
 * record of each), as references the caller puts. Returns the number, or
 * -1 if base is no longer retained (answer a snapshot). *epoch_changed
 * tells whether an epoch started in between.
 */
long revisions_delta(struct revisions *rv, const struct view *v, uint64_t base,
		     struct peer_rec ***out, bool *epoch_changed);

#endif
