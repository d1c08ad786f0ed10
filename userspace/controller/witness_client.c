// SPDX-License-Identifier: MIT
/*
 * Submitting checkpoints to witnesses (WITNESS_URL, C2SP tlog-witness,
 * lib/tlog/witness.h): one thread watches the log's checkpoint; for each new
 * size it sends every witness the checkpoint with a consistency proof from
 * the size that witness last cosigned (learnt from a 409 when unknown, e.g.
 * after a restart), checks that the lines it returns are well-formed
 * signature lines, and hands the cosigned note (the controller's note plus
 * every witness's line) to the log, which serves it from then on
 * (tlog_store_set_cosigned()). Nothing in a request path waits for a
 * witness: a slow or absent one only delays the cosigned checkpoint.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#include "controller.h"
#include "log.h"
#include "store.h"
#include "tlog/witness.h"
#include "tlog_store.h"
#include "witness_client.h"

#define MAX_WITNESSES 8
#define POLL_MS 100

struct witness_peer {
	char url[256];
	uint64_t held;		/* the size it cosigned last (as far as known) */
	uint64_t cosigned, failed;
	bool warned;
};

static struct {
	pthread_t thread;
	bool started, stopping;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct tlog_store *ts;
	struct witness_peer w[MAX_WITNESSES];
	size_t n;
	uint64_t submitted;	/* the last size submitted to all */
} wc = { .lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER };

struct reply {
	long status;
	struct strbuf body;
	char content_type[64];
};

static size_t on_data(char *p, size_t size, size_t n, void *arg)
{
	struct reply *r = arg;

	if (r->body.len + size * n > TLOG_WITNESS_BODY_MAX)
		return 0;
	strbuf_append(&r->body, p, size * n);
	return size * n;
}

static int post(const char *url, const struct strbuf *body, struct reply *r)
{
	CURL *h = curl_easy_init();
	struct curl_slist *hdrs = NULL;
	char full[300];
	char *ct = NULL;
	CURLcode rc;

	if (!h)
		return -1;
	snprintf(full, sizeof(full), "%s%s", url, TLOG_WITNESS_PATH);
	hdrs = curl_slist_append(hdrs, "Content-Type: text/plain; charset=utf-8");
	curl_easy_setopt(h, CURLOPT_URL, full);
	curl_easy_setopt(h, CURLOPT_POSTFIELDS, body->buf);
	curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)body->len);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, 5L);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 2L);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	rc = curl_easy_perform(h);
	if (rc == CURLE_OK) {
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r->status);
		if (curl_easy_getinfo(h, CURLINFO_CONTENT_TYPE, &ct) == CURLE_OK && ct)
			snprintf(r->content_type, sizeof(r->content_type), "%s", ct);
	}
	curl_slist_free_all(hdrs);
	curl_easy_cleanup(h);
	return rc == CURLE_OK ? 0 : -1;
}

/*
 * Submits note (of size) to w; appends its line(s) to lines. 0 on a
 * cosignature, -1 otherwise (logged once per failure streak).
 */
static int submit(struct witness_peer *w, const struct strbuf *note, uint64_t size,
		  const struct tlog_note_verifier *self, struct strbuf *lines)
{
	tlog_hash proof[TLOG_MAX_PROOF];
	char why[160] = "";

	for (int attempt = 0; attempt < 2; attempt++) {
		struct strbuf body, check;
		struct reply r = { 0 };
		size_t n = 0, text_len;
		uint64_t verified, held;
		int ok;

		if (w->held > size) {
			/* it cosigned a larger tree of this log than the log now has */
			snprintf(why, sizeof(why), "it holds size %llu, the log only %llu: "
				 "the log was rolled back", (unsigned long long)w->held,
				 (unsigned long long)size);
			break;
		}
		if (tlog_store_prove_consistency(wc.ts, w->held, size, proof, &n)) {
			snprintf(why, sizeof(why), "no consistency proof %llu -> %llu",
				 (unsigned long long)w->held, (unsigned long long)size);
			break;
		}
		strbuf_init(&body);
		strbuf_init(&r.body);
		tlog_witness_request_format(&body, w->held, proof, n, note->buf, note->len);
		ok = !body.oom && !post(w->url, &body, &r);
		strbuf_free(&body);
		if (!ok) {
			snprintf(why, sizeof(why), "cannot reach it");
			strbuf_free(&r.body);
			break;
		}
		if (r.status == 409 && !tlog_witness_size_parse(r.body.buf ? r.body.buf : "",
								 r.body.len, &held)) {
			/* it holds another size: the proof from there */
			log_debug("witness %s holds size %llu", w->url, (unsigned long long)held);
			w->held = held;
			strbuf_free(&r.body);
			continue;
		}
		if (r.status != 200 || !r.body.len || r.body.buf[r.body.len - 1] != '\n') {
			snprintf(why, sizeof(why), "HTTP %ld: %.100s", r.status,
				 r.body.buf ? r.body.buf : "");
			strbuf_free(&r.body);
			break;
		}
		/* only well-formed signature lines go into what agents read */
		strbuf_init(&check);
		strbuf_append(&check, note->buf, note->len);
		strbuf_append(&check, r.body.buf, r.body.len);
		ok = !check.oom && !tlog_note_open(check.buf, check.len, self, 1, &text_len,
						   &verified);
		strbuf_free(&check);
		if (!ok) {
			snprintf(why, sizeof(why), "it answered something that is not a signature line");
			strbuf_free(&r.body);
			break;
		}
		strbuf_append(lines, r.body.buf, r.body.len);
		strbuf_free(&r.body);
		w->held = size;
		__atomic_fetch_add(&w->cosigned, 1, __ATOMIC_RELAXED);
		if (w->warned)
			log_info("witness %s cosigns again (size %llu)", w->url,
				 (unsigned long long)size);
		w->warned = false;
		return 0;
	}
	__atomic_fetch_add(&w->failed, 1, __ATOMIC_RELAXED);
	if (!w->warned)
		log_warn("witness %s did not cosign size %llu: %s", w->url,
			 (unsigned long long)size, why);
	w->warned = true;
	return -1;
}

/* The size of a signed checkpoint note (0 if it does not parse). */
static uint64_t note_size(const struct strbuf *note)
{
	struct tlog_checkpoint cp;
	const char *blank = note->buf ? memmem(note->buf, note->len, "\n\n", 2) : NULL;

	if (!blank || tlog_checkpoint_parse(note->buf, (size_t)(blank - note->buf) + 1, &cp))
		return 0;
	return cp.size;
}

static void *witness_main(void *arg)
{
	struct tlog_note_verifier self;
	struct controller *c = arg;
	uint8_t pub[32];
	size_t pub_len = sizeof(pub);

	if (EVP_PKEY_get_raw_public_key(c->statement_key, pub, &pub_len) != 1 ||
	    tlog_verifier_from_pub(&self, tlog_store_origin(wc.ts), pub)) {
		log_err("witnesses: cannot make the log's verifier");
		return NULL;
	}
	pthread_mutex_lock(&wc.lock);
	while (!wc.stopping) {
		struct strbuf note, lines;
		struct timespec ts;
		uint64_t size;

		pthread_mutex_unlock(&wc.lock);
		strbuf_init(&note);
		strbuf_init(&lines);
		size = !tlog_store_latest_checkpoint(wc.ts, &note) ? note_size(&note) : 0;
		if (size && size != wc.submitted) {
			size_t ok = 0;

			for (size_t i = 0; i < wc.n; i++)
				ok += !submit(&wc.w[i], &note, size, &self, &lines);
			if (ok) {
				strbuf_append(&note, lines.buf, lines.len);
				if (!note.oom)
					tlog_store_set_cosigned(wc.ts, note.buf, note.len, size);
			}
			/* all cosigned: done with this size; else retried next round */
			if (ok == wc.n)
				wc.submitted = size;
		}
		strbuf_free(&note);
		strbuf_free(&lines);
		pthread_mutex_lock(&wc.lock);
		clock_gettime(CLOCK_REALTIME, &ts);
		/* a failing witness is retried every second, a good one at once */
		ts.tv_nsec += (size && size != wc.submitted ? 1000 : POLL_MS) * 1000000L;
		ts.tv_sec += ts.tv_nsec / 1000000000L;
		ts.tv_nsec %= 1000000000L;
		if (!wc.stopping)
			pthread_cond_timedwait(&wc.cond, &wc.lock, &ts);
	}
	pthread_mutex_unlock(&wc.lock);
	tlog_verifier_free(&self);
	return NULL;
}

int witness_client_start(struct controller *c)
{
	const char *p = c->cfg->witness_urls;

	if (!*p)
		return 0;
	wc.ts = store_log(c->store);
	if (!wc.ts) {
		log_err("WITNESS_URL: this store keeps no transparency log to witness");
		return -1;
	}
	while (*p) {
		size_t len = strcspn(p, ",");

		if (wc.n == MAX_WITNESSES || len == 0 || len >= sizeof(wc.w[0].url) ||
		    (strncmp(p, "http://", 7) && strncmp(p, "https://", 8))) {
			log_err("WITNESS_URL: '%.*s': want at most %d http(s):// URLs, comma-separated",
				(int)len, p, MAX_WITNESSES);
			return -1;
		}
		memcpy(wc.w[wc.n].url, p, len);
		wc.w[wc.n].url[len] = '\0';
		while (len > 1 && wc.w[wc.n].url[len - 1] == '/')
			wc.w[wc.n].url[--len] = '\0';
		wc.n++;
		p += len;
		if (*p == ',')
			p++;
	}
	if (curl_global_init(CURL_GLOBAL_DEFAULT))
		return -1;
	tlog_store_set_witnessed(wc.ts, true);
	if (pthread_create(&wc.thread, NULL, witness_main, c)) {
		log_err("cannot start the witness thread");
		return -1;
	}
	wc.started = true;
	log_info("Checkpoints go to %zu witness(es): %s", wc.n, c->cfg->witness_urls);
	return 0;
}

void witness_client_stop(void)
{
	if (!wc.started)
		return;
	pthread_mutex_lock(&wc.lock);
	wc.stopping = true;
	pthread_cond_broadcast(&wc.cond);
	pthread_mutex_unlock(&wc.lock);
	pthread_join(wc.thread, NULL);
	wc.started = false;
	curl_global_cleanup();
}

/* One counter family, a series per witness: its cosigned or its failed count. */
static void render_witness_counter(struct strbuf *out, const char *name, const char *help,
				   bool failures)
{
	strbuf_printf(out, "# HELP %s %s\n# TYPE %s counter\n", name, help, name);
	for (size_t i = 0; i < wc.n; i++) {
		uint64_t *v = failures ? &wc.w[i].failed : &wc.w[i].cosigned;

		strbuf_printf(out, "%s{witness=\"%s\"} %llu\n", name, wc.w[i].url,
			      (unsigned long long)__atomic_load_n(v, __ATOMIC_RELAXED));
	}
}

void witness_client_render_metrics(struct strbuf *out)
{
	if (!wc.n)
		return;
	render_witness_counter(out, "meshnet_witness_cosigned_total",
			       "Checkpoints a witness cosigned.", false);
	render_witness_counter(out, "meshnet_witness_failures_total",
			       "Submissions a witness did not cosign.", true);
}
