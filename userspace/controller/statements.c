// SPDX-License-Identifier: MIT
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "b64.h"
#include "statements.h"
#include "tlog_store.h"

void statement_free(struct statement *st)
{
	blob_put(st->body);
	st->body = NULL;
}

static void render_header(struct strbuf *sb, struct controller *c, const struct view *v,
			  const char *type, const char *audience, bool checkpoint)
{
	const struct view_epoch *e = &v->epoch;

	strbuf_printf(sb, "\"v\":2,\"type\":\"%s\",\"mesh_id\":\"%s\",\"audience\":\"%s\","
		      "\"revision\":%llu,\"issued_unix\":%lld,\"epoch\":{\"id\":%llu,"
		      "\"start_unix\":%lld,\"rotate_unix\":%lld,\"valid_until_unix\":%lld,"
		      "\"key_mode\":\"%s\"", type, c->cfg->mesh_id, audience,
		      (unsigned long long)v->revision, (long long)controller_now(),
		      (unsigned long long)e->id, (long long)e->start, (long long)e->rotate_at,
		      (long long)e->valid_until, e->group ? "group" : "pairwise");
	if (e->group)
		strbuf_printf(sb, ",\"group_key_commitment\":\"%s\"", e->commitment_hex);
	strbuf_puts(sb, "}");
	/* the transparency log's latest signed checkpoint (receivers keep theirs) */
	if (checkpoint && store_log(c->store))
		tlog_store_render_statement_fields(store_log(c->store), 0, sb, NULL);
}

static void render_self(struct strbuf *sb, const struct peer_rec *self)
{
	strbuf_printf(sb, ",\"membership\":\"%s\",\"reason\":", verdict_name(self->verdict));
	strbuf_json_string(sb, self->reason);
}

/* A peer entry; pairwise mode adds the pair's PSK for an ALLOWED peer. */
static void render_peer(struct strbuf *sb, const struct view *v, const struct peer_rec *self,
			const struct peer_rec *p, const char *prefix)
{
	uint8_t psk[MESHNET_PSK_LEN];
	char psk_b64[MESHNET_B64_LEN(MESHNET_PSK_LEN) + 1];

	strbuf_puts(sb, prefix);
	if (v->epoch.group || p->verdict != VERDICT_ALLOWED || !self) {
		strbuf_append(sb, p->peer_json + 1, p->peer_json_len - 1);
		return;
	}
	strbuf_append(sb, p->peer_json + 1, p->peer_json_len - 2);
	meshnet_psk_deriver_pair(&v->epoch.deriver, psk, self->id, p->id);
	meshnet_b64_encode(psk_b64, psk, sizeof(psk));
	strbuf_printf(sb, ",\"psk\":\"%s\"}", psk_b64);
	OPENSSL_cleanse(psk, sizeof(psk));
	OPENSSL_cleanse(psk_b64, sizeof(psk_b64));
}

static int finish(struct controller *c, struct strbuf *sb, bool secret, struct statement *out)
{
	int ret = -1;

	memset(out, 0, sizeof(*out));
	if (!sb->oom) {
		out->body = blob_from(sb->buf, sb->len);
		if (out->body) {
			out->body->wipe = secret;
			ret = meshnet_statement_sign(c->statement_key, out->body->data,
						     out->body->len, out->signature);
			if (ret)
				statement_free(out);
		}
	}
	if (secret)
		strbuf_wipe(sb);
	else
		strbuf_free(sb);
	return ret;
}

int statement_snapshot(struct controller *c, struct view *v, const struct peer_rec *self,
		       struct statement *out)
{
	const char *sep = "{";
	struct strbuf sb;
	size_t ci, i;

	strbuf_init(&sb);
	strbuf_puts(&sb, "{");
	render_header(&sb, c, v, "snapshot", self->id, true);
	render_self(&sb, self);
	strbuf_puts(&sb, ",\"peers\":[");
	for (ci = 0; ci < v->n_chunks; ci++) {
		const struct rec_chunk *ch = v->chunks[ci];

		for (i = 0; ch && i < VIEW_CHUNK; i++) {
			const struct peer_rec *p = ch->recs[i];

			if (!p || p == self)
				continue;
			render_peer(&sb, v, self, p, sep);
			sep = ",{";
		}
	}
	strbuf_puts(&sb, "]}");
	return finish(c, &sb, !v->epoch.group, out);
}

static int render_delta(struct controller *c, struct view *v, const struct peer_rec *self,
			uint64_t base, bool checkpoint, struct statement *out)
{
	struct peer_rec **recs;
	bool epoch_changed;
	struct strbuf sb;
	long n, i;

	n = revisions_delta(&c->rv, v, base, &recs, &epoch_changed);
	if (n < 0)
		return 1;
	if (self && epoch_changed) {
		/* pairwise: every PSK changed with the epoch */
		for (i = 0; i < n; i++)
			peer_rec_put(recs[i]);
		free(recs);
		return 1;
	}
	strbuf_init(&sb);
	strbuf_puts(&sb, "{");
	render_header(&sb, c, v, "delta", self ? self->id : "*", checkpoint);
	strbuf_printf(&sb, ",\"base_revision\":%llu", (unsigned long long)base);
	if (self)
		render_self(&sb, self);
	strbuf_puts(&sb, ",\"changes\":[");
	for (i = 0; i < n; i++) {
		const char *sep = i ? "," : "";

		if (recs[i]->removed)
			strbuf_printf(&sb, "%s{\"op\":\"remove\",\"node_id\":\"%s\"}", sep,
				      recs[i]->id);
		else
			render_peer(&sb, v, self, recs[i], i ? ",{\"op\":\"upsert\"," :
				    "{\"op\":\"upsert\",");
		peer_rec_put(recs[i]);
	}
	free(recs);
	strbuf_puts(&sb, "]}");
	return finish(c, &sb, self != NULL, out) ? -1 : 0;
}

/* The "*" delta to v's head from base: rendered once, then shared. */
static int shared_delta(struct controller *c, struct view *v, uint64_t base, bool checkpoint,
			struct statement *out)
{
	uint64_t key = base << 1 | checkpoint;	/* two variants per base */
	struct shared_delta *d = NULL;
	unsigned int i;
	int ret;

	pthread_mutex_lock(&v->cache_lock);
	for (i = 0; i < VIEW_DELTA_CACHE; i++)
		if (v->cache[i] && v->cache[i]->base == key)
			d = v->cache[i];
	if (d) {
		while (!d->ready && !d->failed)
			pthread_cond_wait(&v->cache_cond, &v->cache_lock);
		if (d->ready) {
			out->body = blob_get(d->body);
			memcpy(out->signature, d->signature, sizeof(out->signature));
			pthread_mutex_unlock(&v->cache_lock);
			return 0;
		}
		pthread_mutex_unlock(&v->cache_lock);
		return render_delta(c, v, NULL, base, checkpoint, out);
	}
	/* Claim a slot (never one still being rendered) and render outside the lock. */
	for (i = 0; i < VIEW_DELTA_CACHE; i++) {
		unsigned int k = (v->cache_next + i) % VIEW_DELTA_CACHE;

		if (!v->cache[k] || v->cache[k]->ready || v->cache[k]->failed) {
			d = calloc(1, sizeof(*d));
			if (d) {
				if (v->cache[k])
					blob_put(v->cache[k]->body);
				free(v->cache[k]);
				d->base = key;
				v->cache[k] = d;
				v->cache_next = k + 1;
			}
			break;
		}
	}
	pthread_mutex_unlock(&v->cache_lock);
	ret = render_delta(c, v, NULL, base, checkpoint, out);
	if (!d)
		return ret;
	pthread_mutex_lock(&v->cache_lock);
	if (ret) {
		d->failed = true;
	} else {
		d->body = blob_get(out->body);
		memcpy(d->signature, out->signature, sizeof(d->signature));
		d->ready = true;
	}
	pthread_cond_broadcast(&v->cache_cond);
	pthread_mutex_unlock(&v->cache_lock);
	return ret;
}

int statement_delta(struct controller *c, struct view *v, const struct peer_rec *self,
		    uint64_t base, bool checkpoint, struct statement *out)
{
	memset(out, 0, sizeof(*out));
	if (v->epoch.group)
		return shared_delta(c, v, base, checkpoint, out);
	return render_delta(c, v, self, base, checkpoint, out);
}

int statement_denied(struct controller *c, struct view *v, const struct peer_rec *self,
		     struct statement *out)
{
	struct strbuf sb;

	strbuf_init(&sb);
	strbuf_puts(&sb, "{\"error\":{\"code\":\"denied\",\"message\":");
	strbuf_json_string(&sb, self->reason);
	strbuf_puts(&sb, "},");
	render_header(&sb, c, v, "denied", self->id, true);
	render_self(&sb, self);
	if (self->explanation) {	/* the rule, the attestations used, what is missing */
		strbuf_puts(&sb, ",\"explanation\":");
		strbuf_puts(&sb, self->explanation);
	}
	strbuf_puts(&sb, "}");
	return finish(c, &sb, false, out);
}
