// SPDX-License-Identifier: MIT
/*
 * Long-poll waiters: config requests suspended (no thread held) until a
 * newer epoch or their deadline; a timer thread expires them.
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

	s->waiters[i] = s->waiters[--s->n_waiters];
	s->waiters[i]->waiter_index = i;
	r->waiting = false;
}

void longpoll_resume_locked(struct api_server *s, struct request *r)
{
	longpoll_remove_locked(s, r);
	r->resumed = true;
	MHD_resume_connection(r->conn);
}

void longpoll_on_epoch(void *ctx, uint64_t epoch_id)
{
	struct api_server *s = ctx;
	size_t i;

	pthread_mutex_lock(&s->wait_lock);
	if (epoch_id > s->latest_epoch)
		s->latest_epoch = epoch_id;
	for (i = s->n_waiters; i-- > 0;) {
		struct request *r = s->waiters[i];

		if (r->after_epoch < s->latest_epoch)
			longpoll_resume_locked(s, r);
	}
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

		for (i = s->n_waiters; i-- > 0;)
			if (s->waiters[i]->deadline_ms <= now)
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

/*
 * Suspends r until an epoch newer than after_epoch or the deadline.
 * Returns false (answer now) if a newer epoch exists or no slot is free.
 */
bool longpoll_add(struct api_server *s, struct request *r, uint64_t after_epoch,
		       unsigned int wait_s)
{
	bool ok = false;

	pthread_mutex_lock(&s->wait_lock);
	if (s->stopping || s->latest_epoch > after_epoch)
		goto out;
	if (s->n_waiters >= (size_t)s->cfg->max_waiters) {
		s->longpoll_refused++;
		goto out;
	}
	r->after_epoch = after_epoch;
	r->deadline_ms = now_ms() + (int64_t)wait_s * 1000;
	r->waiting = true;
	r->parked = true;
	r->waiter_index = s->n_waiters;
	s->waiters[s->n_waiters++] = r;
	MHD_suspend_connection(r->conn);
	ok = true;
out:
	pthread_mutex_unlock(&s->wait_lock);
	return ok;
}

