// SPDX-License-Identifier: MIT
/*
 * Long-poll waiters: config requests suspended (no thread held, no buffer
 * beyond the connection's) until a newer revision (v2) or epoch (v1) or
 * their deadline; a timer thread expires them.
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

void longpoll_resume_locked(struct api_server *s, struct request *r)
{
	longpoll_remove_locked(s, r);
	r->resumed = true;
	conn_guard_set_phase(s->guard, r->conn, CONN_HANDLING);
	MHD_resume_connection(r->conn);
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
