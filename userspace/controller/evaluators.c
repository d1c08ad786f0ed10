// SPDX-License-Identifier: MIT
#include <stdlib.h>
#include <string.h>

#include "b64.h"
#include "evaluators.h"
#include "ids.h"

void evaluators_init(struct evaluator_registry *r)
{
	memset(r, 0, sizeof(*r));
}

void evaluators_free(struct evaluator_registry *r)
{
	size_t i;

	for (i = 0; i < r->n; i++) {
		EVP_PKEY_free(r->list[i]->pub);
		free(r->list[i]);
	}
	free(r->list);
	free(r->nonces);
	memset(r, 0, sizeof(*r));
}

struct evaluator *evaluators_find(struct evaluator_registry *r, const char *id)
{
	struct evaluator *ev = evaluators_find_any(r, id);

	return evaluator_active(ev) ? ev : NULL;
}

struct evaluator *evaluators_find_any(struct evaluator_registry *r, const char *id)
{
	size_t i;

	for (i = r->n; i-- > 0;)
		if (!strcmp(r->list[i]->id, id))
			return r->list[i];
	return NULL;
}

enum evaluator_error evaluators_add(struct evaluator_registry *r, const char *id,
				    const char *key_b64, int64_t now, struct evaluator **out)
{
	uint8_t raw[MESHNET_ED25519_KEY_LEN];
	struct evaluator *ev;
	size_t i;

	if (!id || !meshnet_node_id_valid(id) || !strcmp(id, "self") || !strcmp(id, "any"))
		return EVALUATOR_BAD_ID;
	if (!key_b64 || strlen(key_b64) >= sizeof(ev->key_b64) ||
	    meshnet_b64_decode_exact(raw, sizeof(raw), key_b64))
		return EVALUATOR_BAD_KEY;
	if (evaluators_find(r, id))
		return EVALUATOR_EXISTS;
	for (i = 0; i < r->n; i++)
		if (evaluator_active(r->list[i]) && !strcmp(r->list[i]->key_b64, key_b64))
			return EVALUATOR_DUPLICATE_KEY;
	if (r->n >= EVALUATORS_MAX)
		return EVALUATOR_FULL;
	if (r->n == r->cap) {
		size_t cap = r->cap ? 2 * r->cap : 8;
		struct evaluator **l = realloc(r->list, cap * sizeof(*l));

		if (!l)
			return EVALUATOR_NOMEM;
		r->list = l;
		r->cap = cap;
	}
	ev = calloc(1, sizeof(*ev));
	if (!ev)
		return EVALUATOR_NOMEM;
	ev->pub = meshnet_ed25519_public_from_raw(raw);
	if (!ev->pub) {
		free(ev);
		return EVALUATOR_BAD_KEY;
	}
	strcpy(ev->id, id);
	strcpy(ev->key_b64, key_b64);
	ev->enrolled_at = now;
	r->list[r->n++] = ev;
	if (out)
		*out = ev;
	return EVALUATOR_OK;
}

enum evaluator_error evaluators_remove(struct evaluator_registry *r, const char *id,
				       int64_t now)
{
	struct evaluator *ev = evaluators_find(r, id);

	if (!ev)
		return EVALUATOR_UNKNOWN;
	ev->removed_at = now > 0 ? now : 1;
	return EVALUATOR_OK;
}

void evaluators_unremove(struct evaluator *ev)
{
	ev->removed_at = 0;
}

/* ---- nonces ---- */

static size_t nonce_slot(const struct att_nonce *tab, size_t cap, const struct evaluator *ev,
			 const uint8_t nonce[MESHNET_NONCE_LEN], bool *found)
{
	uint64_t h;
	size_t i;

	/* nonces are random: their first bytes hash well enough */
	memcpy(&h, nonce, sizeof(h));
	h ^= (uint64_t)(uintptr_t)ev * 0x9e3779b97f4a7c15ull;
	for (i = (size_t)h & (cap - 1);; i = (i + 1) & (cap - 1)) {
		if (!tab[i].ev) {
			*found = false;
			return i;
		}
		if (tab[i].ev == ev && !memcmp(tab[i].nonce, nonce, MESHNET_NONCE_LEN)) {
			*found = true;
			return i;
		}
	}
}

/* Rebuilds the table at cap slots, dropping entries expired at now. */
static int nonces_rebuild(struct evaluator_registry *r, size_t cap, int64_t now)
{
	struct att_nonce *tab = calloc(cap, sizeof(*tab));
	size_t i, n = 0;
	bool found;

	if (!tab)
		return -1;
	for (i = 0; i < r->cap_nonces; i++) {
		const struct att_nonce *e = &r->nonces[i];

		if (!e->ev || e->expires <= now)
			continue;
		tab[nonce_slot(tab, cap, e->ev, e->nonce, &found)] = *e;
		n++;
	}
	free(r->nonces);
	r->nonces = tab;
	r->cap_nonces = cap;
	r->n_nonces = n;
	return 0;
}

int evaluators_nonce_check_and_add(struct evaluator_registry *r, const struct evaluator *ev,
				   const uint8_t nonce[MESHNET_NONCE_LEN], int64_t expires,
				   int64_t now)
{
	bool found;
	size_t i;

	if (!r->cap_nonces && nonces_rebuild(r, 1024, now))
		return -1;
	i = nonce_slot(r->nonces, r->cap_nonces, ev, nonce, &found);
	if (found && r->nonces[i].expires > now)
		return 1;
	if (found) {	/* expired or forgotten: in use again */
		r->nonces[i].expires = expires;
		return 0;
	}
	if (2 * (r->n_nonces + 1) > r->cap_nonces) {
		/* drop the expired first; grow only if that frees too little */
		if (nonces_rebuild(r, r->cap_nonces, now))
			return -1;
		if (4 * (r->n_nonces + 1) > r->cap_nonces &&
		    nonces_rebuild(r, 2 * r->cap_nonces, now))
			return -1;
		i = nonce_slot(r->nonces, r->cap_nonces, ev, nonce, &found);
	}
	r->nonces[i].ev = ev;
	memcpy(r->nonces[i].nonce, nonce, MESHNET_NONCE_LEN);
	r->nonces[i].expires = expires;
	r->n_nonces++;
	return 0;
}

void evaluators_nonce_forget(struct evaluator_registry *r, const struct evaluator *ev,
			     const uint8_t nonce[MESHNET_NONCE_LEN])
{
	bool found;
	size_t i;

	if (!r->cap_nonces)
		return;
	i = nonce_slot(r->nonces, r->cap_nonces, ev, nonce, &found);
	if (!found)
		return;
	/* expired: free to use again; the next rebuild drops it */
	r->nonces[i].expires = 0;
}

void evaluators_render_json(const struct evaluator_registry *r, struct strbuf *sb)
{
	size_t i;

	strbuf_puts(sb, "[");
	for (i = 0; i < r->n; i++) {
		const struct evaluator *ev = r->list[i];

		strbuf_printf(sb, "%s{\"evaluator_id\":\"%s\",\"public_key\":\"%s\","
			      "\"enrolled_unix\":%lld,\"active\":%s", i ? "," : "", ev->id,
			      ev->key_b64, (long long)ev->enrolled_at,
			      ev->removed_at ? "false" : "true");
		if (ev->removed_at)
			strbuf_printf(sb, ",\"removed_unix\":%lld", (long long)ev->removed_at);
		strbuf_puts(sb, "}");
	}
	strbuf_puts(sb, "]");
}
