// SPDX-License-Identifier: MIT
/*
 * Epochs: installing an epoch's key material, rotation (scheduled, on a
 * flip to DENIED, by admin), and the epoch thread that also publishes
 * status.json (the commit thread compacts the journal).
 */
#include <malloc.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include "acks.h"
#include "b64.h"
#include "controller.h"
#include "group_psk.h"
#include "ids.h"
#include "log.h"
#include "timefmt.h"

#define LOG_EACH_NODE_MAX 32

void epoch_install(struct controller *c, const struct store_epoch *e)
{
	uint8_t prk[MESHNET_PRK_LEN], md[SHA256_DIGEST_LENGTH];

	c->epoch.id = e->id;
	c->epoch.start = e->start;
	c->epoch.expiry = e->expiry;
	c->epoch.valid_until = e->valid_until ? e->valid_until : e->expiry;
	c->epoch.revision = e->revision;
	memcpy(c->epoch.secret, e->secret, sizeof(e->secret));
	meshnet_epoch_prk(prk, e->secret, e->id);
	meshnet_psk_deriver_init(&c->epoch.deriver, prk);
	OPENSSL_cleanse(prk, sizeof(prk));
	SHA256(e->secret, sizeof(e->secret), md);
	meshnet_hex_encode(c->epoch.secret_hash, md, sizeof(md));
}

void epoch_view_fill(const struct controller *c, struct view_epoch *ve)
{
	uint8_t commitment[32];

	memset(ve, 0, sizeof(*ve));
	ve->id = c->epoch.id;
	ve->revision = c->epoch.revision;
	ve->start = c->epoch.start;
	ve->rotate_at = c->epoch.expiry;
	ve->valid_until = c->epoch.valid_until;
	ve->group = c->cfg->group_mode;
	if (meshnet_group_key(ve->group_key, c->epoch.secret, c->epoch.id))
		log_err("epoch %llu: could not derive the group key", (unsigned long long)ve->id);
	meshnet_b64_encode(ve->group_key_b64, ve->group_key, sizeof(ve->group_key));
	meshnet_group_key_commitment(commitment, ve->group_key);
	meshnet_hex_encode(ve->commitment_hex, commitment, sizeof(commitment));
	ve->deriver = c->epoch.deriver;
}

void epochs_notify(struct controller *c, uint64_t id)
{
	(void)id;
	controller_notify(c);
}

uint64_t epochs_rotate_locked(struct controller *c, int64_t now, const char *why)
{
	struct store_epoch e;
	char expiry[MESHNET_RFC3339_LEN];
	struct api_error err;
	struct strbuf sb;
	uint64_t before = c->epoch.id;
	size_t i;

	/*
	 * A shared store: lock it first. If catching up brought an epoch another
	 * controller started meanwhile, it was started after everything this one
	 * committed: it serves for this rotation too (one epoch, not two).
	 */
	if (controller_write_lock_locked(c, &err)) {
		log_warn("epoch rotation (%s) postponed: %s", why, err.message);
		return 0;
	}
	if (c->epoch.id != before && before &&
	    (!strcmp(why, "epoch expired") || !strcmp(why, "expired while down") ||
	     !strcmp(why, "verdict changed") || !strcmp(why, "admission")))
		return 0;
	memset(&e, 0, sizeof(e));
	e.id = c->epoch.id + 1;
	e.start = now;
	e.expiry = now + c->cfg->epoch_seconds;
	e.valid_until = now + c->cfg->epoch_validity;
	e.revision = revisions_next(&c->rv);
	if (RAND_priv_bytes(e.secret, sizeof(e.secret)) != 1) {
		log_err("epoch rotation: the OS CSPRNG failed");
		return 0;
	}
	commit_set_epoch(c, &e);
	epoch_install(c, &e);
	OPENSSL_cleanse(&e, sizeof(e));
	strbuf_init(&sb);
	record_render_epoch(&sb, &c->epoch, c->epoch.revision);
	record_journal(c, &sb, true);
	strbuf_free(&sb);
	{
		struct view_epoch ve;

		epoch_view_fill(c, &ve);
		acks_on_revision(c->acks, revisions_epoch(&c->rv, &ve));
		OPENSSL_cleanse(&ve, sizeof(ve));
	}
	c->stats.rotations++;
	c->rotate_at = 0;
	c->admit_at = 0;	/* every rotation admits whoever qualifies */
	meshnet_rfc3339_format(expiry, c->epoch.expiry);
	log_info("Epoch rotation: id=%llu expiry=%s (%s)", (unsigned long long)c->epoch.id,
		 expiry, why);
	/* a policy time-locked to this epoch decides its verdicts */
	controller_policy_epoch_locked(c, now);
	for (i = 0; i < c->n_nodes; i++) {
		struct node *n = c->nodes[i];

		if (!verdict_evaluate_node(c, n, now) && c->n_nodes <= LOG_EACH_NODE_MAX)
			verdict_log(n);
	}
	strbuf_init(&sb);
	strbuf_printf(&sb, "\"epoch\":%llu,\"expiry\":\"%s\",\"secret_hash\":\"sha256:%s\","
		      "\"reason\":", (unsigned long long)c->epoch.id, expiry,
		      c->epoch.secret_hash);
	strbuf_json_string(&sb, why);
	strbuf_printf(&sb, ",\"allowed\":%zu,\"denied\":%zu", c->n_allowed,
		      c->n_nodes - c->n_allowed);
	record_audit(c, "epoch", &sb);
	strbuf_free(&sb);
	controller_commit_locked(c);
	c->status_dirty = true;
	pthread_cond_broadcast(&c->cond);
	return c->epoch.id;
}

uint64_t controller_rotate(struct controller *c, const char *why, uint64_t *seq)
{
	uint64_t id;

	pthread_mutex_lock(&c->lock);
	id = epochs_rotate_locked(c, controller_now(), why);
	*seq = controller_commit_locked(c);
	pthread_mutex_unlock(&c->lock);
	epochs_notify(c, id);
	return id;
}

/* A verdict flip asks for a new epoch, at most one per DENY_ROTATE_INTERVAL. */
/*
 * An admission (DENIED to ALLOWED) waits for the next scheduled rotation or
 * ADMIT_INTERVAL after the last admission epoch, whichever is first: its own
 * limiter, so admissions never hold up a quarantine's epoch.
 */
uint64_t epochs_request_admission_locked(struct controller *c, int64_t now)
{
	int64_t at = c->last_admit_rotation + c->cfg->admit_interval;

	if (now >= at) {
		c->last_admit_rotation = now;
		return epochs_rotate_locked(c, now, "node qualifies");
	}
	if (!c->admit_at || c->admit_at > at)
		c->admit_at = at;
	pthread_cond_broadcast(&c->cond);
	return 0;
}

uint64_t epochs_request_rotation_locked(struct controller *c, int64_t now, const char *why)
{
	int64_t at = c->last_deny_rotation + c->cfg->deny_rotate_interval;

	if (now >= at) {
		c->last_deny_rotation = now;
		return epochs_rotate_locked(c, now, why);
	}
	if (!c->rotate_at || c->rotate_at > at)
		c->rotate_at = at;
	pthread_cond_broadcast(&c->cond);
	return 0;
}

/*
 * Hands freed heap back to the OS when much of it is free: a fan-out to
 * 10,000 nodes or a wave of benchmarks frees megabytes across the threads'
 * arenas that glibc keeps otherwise (a waiting node then costs its
 * connection, not the garbage of its last request). No lock held.
 */
static void release_free_heap(void)
{
	struct mallinfo2 mi = mallinfo2();

	if (mi.fordblks > (4u << 20) && mi.fordblks > mi.uordblks / 8)
		malloc_trim(0);
}

static void *epoch_thread_main(void *arg)
{
	struct controller *c = arg;
	int64_t last_trim = 0;

	pthread_mutex_lock(&c->lock);
	while (!c->stopping) {
		int64_t now = controller_now(), wake;
		uint64_t id = 0;
		struct timespec ts;

		id = controller_policy_tick_locked(c, now);
		if (id) {
			pthread_mutex_unlock(&c->lock);
			epochs_notify(c, id);
			pthread_mutex_lock(&c->lock);
			id = 0;
		}
		if (now >= c->epoch.expiry) {
			id = epochs_rotate_locked(c, now, "epoch expired");
		} else if (c->rotate_at && now >= c->rotate_at) {
			c->last_deny_rotation = now;
			id = epochs_rotate_locked(c, now, "verdict changed");
		} else if (c->admit_at && now >= c->admit_at) {
			c->last_admit_rotation = now;
			id = epochs_rotate_locked(c, now, "admission");
		}
		if (id) {
			pthread_mutex_unlock(&c->lock);
			epochs_notify(c, id);
			pthread_mutex_lock(&c->lock);
		}
		/* status.json is O(n): at most every second, every 10 s past 1,000 nodes */
		if (c->status_dirty && now - c->last_status >= (c->n_nodes > 1000 ? 10 : 1)) {
			struct strbuf sb;

			strbuf_init(&sb);
			controller_render_status(c, &sb);
			c->status_dirty = false;
			c->last_status = now;
			pthread_mutex_unlock(&c->lock);
			if (!sb.oom && !store_publish_status(c->store, sb.buf, sb.len))
				log_debug("Status written to %s/status.json", c->cfg->state_dir);
			strbuf_free(&sb);
			pthread_mutex_lock(&c->lock);
		}
		if (now - last_trim >= 2) {
			last_trim = now;
			pthread_mutex_unlock(&c->lock);
			release_free_heap();
			pthread_mutex_lock(&c->lock);
		}
		wake = c->epoch.expiry;
		if (c->rotate_at && c->rotate_at < wake)
			wake = c->rotate_at;
		if (c->admit_at && c->admit_at < wake)
			wake = c->admit_at;
		if (trust_next_change(&c->trust) && trust_next_change(&c->trust) < wake)
			wake = trust_next_change(&c->trust);
		clock_gettime(CLOCK_REALTIME, &ts);
		if (wake > ts.tv_sec + 1) {
			ts.tv_sec += 1;	/* re-check at least every second */
		} else {
			ts.tv_sec = wake > ts.tv_sec ? wake : ts.tv_sec;
			ts.tv_nsec = wake > now ? 0 : ts.tv_nsec + 50000000;
			if (ts.tv_nsec >= 1000000000) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000;
			}
		}
		if (!c->stopping)
			pthread_cond_timedwait(&c->cond, &c->lock, &ts);
	}
	pthread_mutex_unlock(&c->lock);
	return NULL;
}

int controller_start_epoch_thread(struct controller *c)
{
	if (controller_start_commit_thread(c))
		return -1;
	if (pthread_create(&c->epoch_thread, NULL, epoch_thread_main, c))
		return -1;
	c->epoch_thread_started = true;
	return controller_start_replication(c);
}

void controller_stop(struct controller *c)
{
	pthread_mutex_lock(&c->lock);
	c->stopping = true;
	pthread_cond_broadcast(&c->cond);
	pthread_mutex_unlock(&c->lock);
	if (c->epoch_thread_started)
		pthread_join(c->epoch_thread, NULL);
	c->epoch_thread_started = false;
	controller_stop_replication(c);
	/* then what is queued, made durable and answered */
	controller_stop_commit_thread(c);
}

uint64_t controller_epoch_id(struct controller *c)
{
	uint64_t id;

	pthread_mutex_lock(&c->lock);
	id = c->epoch.id;
	pthread_mutex_unlock(&c->lock);
	return id;
}

