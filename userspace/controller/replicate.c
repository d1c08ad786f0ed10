// SPDX-License-Identifier: MIT
/*
 * Several controllers on one store (STORE=postgres://...).
 *
 * Writes: before a write changes memory, the controller takes the store's
 * write lock for its open batch (controller_write_lock_locked): it waits
 * while another controller writes, replays what the others committed
 * (record_apply_remote), and keeps the lock until the commit thread commits
 * that batch, so the batch's revisions are head+1... and cannot conflict.
 *
 * Reads: a thread waits on store_notify_fd() (NOTIFY from another
 * controller's commit, at least every second) and replays the revisions and
 * benchmarks committed since (store_poll), queueing their view changes; the
 * commit thread publishes them and wakes the long-polls, as for a local
 * change.
 *
 * The dir backend has no lock (nothing to do) and no notify descriptor (no
 * thread).
 */
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "acks.h"
#include "controller.h"
#include "jsonutil.h"
#include "log.h"
#include "store_pg.h"

int controller_write_lock_locked(struct controller *c, struct api_error *err)
{
	int ret;

	if (c->loading || c->open->tx)
		return 0;
	ret = store_write_begin(c->store, c->rv.head, record_apply_remote, c, &c->open->tx);
	if (!ret) {
		if (c->open->tx) {
			/*
			 * The commit thread ends the lock with this batch, even if the
			 * write finds nothing to do after catching up (it takes the
			 * batch once we let go of c->lock).
			 */
			c->open->dirty = true;
			pthread_cond_broadcast(&c->commit_cond);
		}
		return 0;
	}
	c->open->tx = NULL;
	api_error_set(err, 503, "storage_unavailable",
		      "the database cannot be reached now; nothing was changed, retry");
	return -1;
}

static int apply_remote_epoch(struct controller *c, uint64_t rev)
{
	struct store_epoch e;
	struct view_epoch ve;
	int ret = 0;

	if (c->store->backend == &store_pg_backend) {
		ret = store_pg_newest_epoch(c->store, c->epoch.id, &e);
		if (ret < 0) {
			log_err("revision %llu: cannot read the epoch it started",
				(unsigned long long)rev);
			return -1;
		}
	}
	if (ret == 1) {
		epoch_install(c, &e);
		OPENSSL_cleanse(&e, sizeof(e));
		c->rotate_at = 0;
		log_info("Epoch id=%llu from another controller (revision %llu)",
			 (unsigned long long)c->epoch.id, (unsigned long long)rev);
	}
	epoch_view_fill(c, &ve);
	acks_on_revision(c->acks, revisions_epoch(&c->rv, &ve));
	OPENSSL_cleanse(&ve, sizeof(ve));
	return 0;
}

int record_apply_remote(void *ctx, struct json_object *rec)
{
	struct controller *c = ctx;
	const char *kind = meshnet_json_get_string(rec, "kind");
	const char *id = meshnet_json_get_string(rec, "node_id");
	struct json_object *v;
	uint64_t rev = 0;
	struct node *n;

	if (json_object_object_get_ex(rec, "rev", &v) && json_object_is_type(v, json_type_int))
		rev = (uint64_t)json_object_get_int64(v);
	if (!kind)
		return -1;
	if (!rev) {
		/* a benchmark: keep the newest (a poll may bring one again) */
		if (strcmp(kind, "bench") || !id || !(n = controller_find(c, id)))
			return 0;
		if (json_object_object_get_ex(rec, "received", &v) &&
		    json_object_get_int64(v) < n->benchmark_received)
			return 0;
		return record_apply(c, rec);
	}
	if (rev <= c->rv.head)
		return 0;	/* committed by this controller, or seen */
	if (rev != c->rv.head + 1) {
		log_err("revision %llu from the store, but this controller is at %llu",
			(unsigned long long)rev, (unsigned long long)c->rv.head);
		return -1;
	}
	c->remote_revisions++;
	c->status_dirty = true;
	if (!strcmp(kind, "epoch"))
		return apply_remote_epoch(c, rev);
	n = id ? controller_find(c, id) : NULL;
	if (!strcmp(kind, "remove")) {
		if (!n) {
			log_warn("revision %llu removes %s, unknown here", (unsigned long long)rev,
				 id ? id : "?");
			revisions_set_head(&c->rv, rev);
			return 0;
		}
		node_publish_removal(c, n);
		return record_apply(c, rec);
	}
	if (record_apply(c, rec))
		return -1;
	n = id ? controller_find(c, id) : NULL;
	if (!n) {
		revisions_set_head(&c->rv, rev);
		return 0;
	}
	node_publish(c, n, !strcmp(kind, "enrol") ? REV_ENROL : !strcmp(kind, "pin") ? REV_PIN :
		     REV_VERDICT);
	return 0;
}

static void *replicate_main(void *arg)
{
	struct controller *c = arg;

	for (;;) {
		struct pollfd p[2] = { { .fd = c->replicate_stop_fd, .events = POLLIN },
				       { .fd = store_notify_fd(c->store), .events = POLLIN } };
		uint64_t before, drained;
		int ret;

		if (poll(p, 2, 1000) < 0 && errno != EINTR)
			break;
		if (p[0].revents)
			break;
		if ((p[1].revents & POLLIN) && read(p[1].fd, &drained, sizeof(drained)) < 0 &&
		    errno != EAGAIN)
			log_warn("store notify: %s", strerror(errno));
		pthread_mutex_lock(&c->lock);
		/* While this controller holds the write lock, nobody else commits. */
		if (!c->open->tx) {
			before = c->remote_revisions;
			ret = store_poll(c->store, c->rv.head, record_apply_remote, c);
			if (ret && ret != STORE_UNAVAILABLE)
				log_err("replaying other controllers' commits failed (%d)", ret);
			if (c->remote_revisions != before) {
				controller_commit_locked(c);	/* publish them */
				pthread_cond_broadcast(&c->cond);
			}
		}
		pthread_mutex_unlock(&c->lock);
	}
	return NULL;
}

int controller_start_replication(struct controller *c)
{
	if (store_notify_fd(c->store) < 0)
		return 0;	/* a store nobody else writes to */
	c->replicate_stop_fd = eventfd(0, EFD_CLOEXEC);
	if (c->replicate_stop_fd < 0)
		return -1;
	if (pthread_create(&c->replicate_thread, NULL, replicate_main, c)) {
		close(c->replicate_stop_fd);
		return -1;
	}
	c->replicate_started = true;
	return 0;
}

void controller_stop_replication(struct controller *c)
{
	uint64_t one = 1;

	if (!c->replicate_started)
		return;
	if (write(c->replicate_stop_fd, &one, sizeof(one)) != sizeof(one))
		log_warn("stopping replication: %s", strerror(errno));
	pthread_join(c->replicate_thread, NULL);
	close(c->replicate_stop_fd);
	c->replicate_started = false;
}
