// SPDX-License-Identifier: MIT
/*
 * Long-poll waiters: config requests suspended (no thread held, no buffer
 * beyond the connection's) until a newer revision (v2) or epoch (v1) or
 * their deadline; a timer thread expires them.
 *
 * A change wakes every waiter behind it, but they are resumed WAKE_SLICE at
 * a time (more once half of those are answered): libmicrohttpd handles all
 * the connections resumed since its last turn in one sweep, so resuming
 * 10,000 at once would queue /health (and every new request on those
 * threads) behind 10,000 replies. The slice keeps the workers busy and
 * bounds that wait to a slice's replies.
 */
#include <time.h>

#include "http.h"


static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void longpoll_remove_locked(struct api_server *s, struct request *r)
{
	size_t i = r->waiter_index;

	s->n_waiters--;
	s->waiters[i] = s->waiters[s->n_waiters];
	s->deadlines[i] = s->deadlines[s->n_waiters];
	s->waiters[i]->waiter_index = i;
	r->waiting = false;
}

/*
 * The slice counts cost, not waiters: a shared "*" delta (group mode, an
 * ALLOWED node) costs a worker about 10 us to send, a node-targeted signed
 * statement (a DENIED node's 403, a pairwise delta, a snapshot, a v1
 * config) about 70 us, so it counts WAKE_COST_TARGETED. Refilled only once
 * half of it is answered: each turn of a worker that has a resumed
 * connection walks every connection suspended on it (libmicrohttpd's
 * resume_suspended_connections), so small refills make O(waiters) walks
 * per few replies (N=10,000: 13% of a flip's CPU at 128 refilled one by
 * one). A worker's turn holds up to about half a slice (two workers): ~2.5
 * ms of replies ahead of a /health on that worker, whatever their kind.
 */
#define WAKE_SLICE 512
#define WAKE_REFILL (WAKE_SLICE / 2)
#define WAKE_COST_TARGETED 8

static unsigned int wake_cost(struct api_server *s, struct view *v, const struct request *r)
{
	const struct peer_rec *self;

	if (!v || !r->wait_revision || !v->epoch.group)
		return WAKE_COST_TARGETED;
	self = controller_view_node(s->c, v, r->node_id);
	return self && self->verdict == VERDICT_ALLOWED ? 1 : WAKE_COST_TARGETED;
}

static void wake_resume_locked(struct api_server *s, struct request *r, unsigned int cost)
{
	r->wake = WAKE_RESUMED;
	r->wake_cost = cost;
	s->wake_resumed += cost;
	r->resumed = true;
	conn_guard_set_phase(s->guard, r->conn, CONN_HANDLING);
	MHD_resume_connection(r->conn);
}

static void wake_pump_locked(struct api_server *s)
{
	size_t cap = (size_t)s->cfg->max_waiters + 1;
	struct view *v;

	if (!s->wake_len || (s->wake_resumed > WAKE_REFILL && !s->stopping))
		return;
	v = controller_view(s->c);	/* the newest: what the woken ones will be answered from */
	while (s->wake_len && (s->wake_resumed < WAKE_SLICE || s->stopping)) {
		struct request *r = s->wake_ring[s->wake_head];

		s->wake_head = (s->wake_head + 1) % cap;
		s->wake_len--;
		wake_resume_locked(s, r, wake_cost(s, v, r));
	}
	view_put(v);
}

void longpoll_resume_locked(struct api_server *s, struct request *r)
{
	size_t cap = (size_t)s->cfg->max_waiters + 1;

	longpoll_remove_locked(s, r);
	if (s->wake_len < cap) {
		s->wake_ring[(s->wake_head + s->wake_len) % cap] = r;
		s->wake_len++;
		r->wake = WAKE_QUEUED;
		wake_pump_locked(s);
	} else {
		wake_resume_locked(s, r, 1);	/* cannot happen: one entry per waiter */
	}
}

void longpoll_wake_done(struct api_server *s, struct request *r)
{
	size_t cap, i;

	pthread_mutex_lock(&s->wait_lock);
	cap = (size_t)s->cfg->max_waiters + 1;
	if (r->wake == WAKE_RESUMED) {
		s->wake_resumed -= r->wake_cost;
	} else if (r->wake == WAKE_QUEUED) {
		/* gone before its turn (only at stop): out of the ring */
		for (i = 0; i < s->wake_len; i++) {
			size_t k = (s->wake_head + i) % cap;

			if (s->wake_ring[k] == r) {
				for (; i + 1 < s->wake_len; i++)
					s->wake_ring[(s->wake_head + i) % cap] =
						s->wake_ring[(s->wake_head + i + 1) % cap];
				s->wake_len--;
				break;
			}
		}
	}
	r->wake = WAKE_NONE;
	wake_pump_locked(s);
	pthread_mutex_unlock(&s->wait_lock);
}

void longpoll_wake_flush_locked(struct api_server *s)
{
	wake_pump_locked(s);
}

static bool behind(const struct api_server *s, const struct request *r)
{
	return r->wait_revision ? r->after < s->latest_revision : r->after < s->latest_epoch;
}

void longpoll_on_change(void *ctx, uint64_t revision, uint64_t epoch_id)
{
	struct api_server *s = ctx;
	size_t i;

	pthread_mutex_lock(&s->wait_lock);
	if (epoch_id > s->latest_epoch)
		s->latest_epoch = epoch_id;
	if (revision > s->latest_revision)
		s->latest_revision = revision;
	for (i = s->n_waiters; i-- > 0;)
		if (behind(s, s->waiters[i]))
			longpoll_resume_locked(s, s->waiters[i]);
	pthread_mutex_unlock(&s->wait_lock);
}

void *longpoll_timer_main(void *arg)
{
	struct api_server *s = arg;

	pthread_mutex_lock(&s->wait_lock);
	while (!s->stopping) {
		int64_t now = now_ms();
		struct timespec ts;
		size_t i;

		/* deadlines[] is dense: one sequential pass, however many wait */
		for (i = s->n_waiters; i-- > 0;)
			if (s->deadlines[i] <= now)
				longpoll_resume_locked(s, s->waiters[i]);
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 100 * 1000000;
		if (ts.tv_nsec >= 1000000000) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000;
		}
		pthread_cond_timedwait(&s->wait_cond, &s->wait_lock, &ts);
	}
	while (s->n_waiters)
		longpoll_resume_locked(s, s->waiters[s->n_waiters - 1]);
	longpoll_wake_flush_locked(s);
	pthread_mutex_unlock(&s->wait_lock);
	return NULL;
}

enum longpoll_result longpoll_add(struct api_server *s, struct request *r, bool by_revision,
				  uint64_t after, unsigned int wait_s)
{
	enum longpoll_result ret = LONGPOLL_NEWER;

	pthread_mutex_lock(&s->wait_lock);
	r->wait_revision = by_revision;
	r->after = after;
	if (s->stopping || behind(s, r))
		goto out;
	if (s->n_waiters >= (size_t)s->cfg->max_waiters) {
		s->longpoll_refused++;
		ret = LONGPOLL_FULL;
		goto out;
	}
	r->waiting = true;
	r->parked = true;
	r->waiter_index = s->n_waiters;
	s->deadlines[s->n_waiters] = now_ms() + (int64_t)wait_s * 1000;
	s->waiters[s->n_waiters++] = r;
	conn_guard_set_phase(s->guard, r->conn, CONN_PARKED);
	MHD_suspend_connection(r->conn);
	ret = LONGPOLL_WAITING;
out:
	pthread_mutex_unlock(&s->wait_lock);
	return ret;
}
