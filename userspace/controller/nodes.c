// SPDX-License-Identifier: MIT
/*
 * The node table: a hash map by node id and one by WireGuard public key
 * plus a dense array for walks; enrolment (with its parsing spec),
 * removal, overrides and the NODES_FILE import.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acks.h"
#include "b64.h"
#include "controller.h"
#include "fileio.h"
#include "ids.h"
#include "jsonutil.h"
#include "log.h"
#include "sign.h"

/*
 * The node table's hash chains (by id, by WireGuard key, by signing key):
 * one bucket array and one next pointer per index, one set of helpers.
 * The id chain changes under index_lock (readers look ids up); the two key
 * chains only under c->lock.
 */
static const char *index_key(const struct node *n, enum node_index ix)
{
	switch (ix) {
	case NODE_BY_WG_KEY:
		return n->wg_public_key;
	case NODE_BY_SIGNING_KEY:
		return n->signing_key;
	default:
		return n->id;
	}
}

static struct node **index_chain(struct controller *c, enum node_index ix, const char *key)
{
	return &c->index[ix][meshnet_id_hash(key) & (c->n_buckets - 1)];
}

static struct node *index_find(struct controller *c, enum node_index ix, const char *key)
{
	struct node *n;

	for (n = *index_chain(c, ix, key); n; n = n->next[ix])
		if (!strcmp(index_key(n, ix), key))
			return n;
	return NULL;
}

static void index_add(struct controller *c, enum node_index ix, struct node *n)
{
	struct node **head = index_chain(c, ix, index_key(n, ix));

	n->next[ix] = *head;
	*head = n;
}

static void index_del(struct controller *c, enum node_index ix, struct node *n)
{
	struct node **pp = index_chain(c, ix, index_key(n, ix));

	while (*pp && *pp != n)
		pp = &(*pp)->next[ix];
	if (*pp)
		*pp = n->next[ix];
}

struct node *controller_find(struct controller *c, const char *id)
{
	return index_find(c, NODE_BY_ID, id);
}

int controller_lookup_slot(struct controller *c, const char *id, uint32_t *slot)
{
	struct node *n;

	pthread_mutex_lock(&c->index_lock);
	n = index_find(c, NODE_BY_ID, id);
	if (n)
		*slot = n->slot;
	pthread_mutex_unlock(&c->index_lock);
	return n ? 0 : -1;
}

struct view *controller_view(struct controller *c)
{
	return revisions_view(&c->rv);
}

struct peer_rec *controller_view_node(struct controller *c, struct view *v, const char *id)
{
	struct peer_rec *rec;
	uint32_t slot;

	if (controller_lookup_slot(c, id, &slot))
		return NULL;
	rec = view_rec(v, slot);
	/* A slot can be newer than v (or reused): only id's own record counts. */
	return rec && !rec->removed && !strcmp(rec->id, id) ? rec : NULL;
}

struct node *nodes_find_by_key(struct controller *c, const char *wg_public_key)
{
	return index_find(c, NODE_BY_WG_KEY, wg_public_key);
}

void nodes_key_index_add(struct controller *c, struct node *n)
{
	index_add(c, NODE_BY_WG_KEY, n);
}

void nodes_key_index_del(struct controller *c, struct node *n)
{
	index_del(c, NODE_BY_WG_KEY, n);
}

struct node *nodes_find_by_signing_key(struct controller *c, const char *signing_key)
{
	return index_find(c, NODE_BY_SIGNING_KEY, signing_key);
}

/* The signing-key chain and the prefixes of n. */
int nodes_ident_index_add(struct controller *c, struct node *n)
{
	struct prefix_range r[MAX_ALLOWED_IPS];
	int i, count = prefixes_from_json(n->allowed_ips_json, n, r, MAX_ALLOWED_IPS);

	if (count < 0)
		return -1;
	for (i = 0; i < count; i++) {
		if (prefixes_add(&c->prefixes, &r[i], c->loading || c->importing)) {
			while (i-- > 0)
				prefixes_del(&c->prefixes, &r[i]);
			return -1;
		}
	}
	index_add(c, NODE_BY_SIGNING_KEY, n);
	return 0;
}

void nodes_ident_index_del(struct controller *c, struct node *n)
{
	struct prefix_range r[MAX_ALLOWED_IPS];
	int i, count = prefixes_from_json(n->allowed_ips_json, n, r, MAX_ALLOWED_IPS);

	index_del(c, NODE_BY_SIGNING_KEY, n);
	for (i = 0; i < count; i++)
		prefixes_del(&c->prefixes, &r[i]);
}

static int table_grow(struct controller *c)
{
	size_t nb = c->n_buckets * 2, i;
	struct node **b[NODE_INDEXES];
	int ix;

	for (ix = 0; ix < NODE_INDEXES; ix++) {
		b[ix] = calloc(nb, sizeof(*b[ix]));
		if (!b[ix]) {
			while (ix-- > 0)
				free(b[ix]);
			return -1;
		}
	}
	for (i = 0; i < c->n_nodes; i++) {
		struct node *n = c->nodes[i];

		for (ix = 0; ix < NODE_INDEXES; ix++) {
			size_t h = meshnet_id_hash(index_key(n, (enum node_index)ix)) & (nb - 1);

			n->next[ix] = b[ix][h];
			b[ix][h] = n;
		}
	}
	/* Readers look ids up meanwhile: swap under index_lock (rare: doubling). */
	pthread_mutex_lock(&c->index_lock);
	for (ix = 0; ix < NODE_INDEXES; ix++) {
		free(c->index[ix]);
		c->index[ix] = b[ix];
	}
	c->n_buckets = nb;
	pthread_mutex_unlock(&c->index_lock);
	return 0;
}

/* The fixed part of n's entry in other nodes' config replies. */
int node_render_peer_json(struct node *n)
{
	struct strbuf sb;

	strbuf_init(&sb);
	strbuf_printf(&sb, "{\"node_id\":\"%s\",\"public_key\":\"%s\",", n->id, n->wg_public_key);
	if (*n->endpoint)
		strbuf_printf(&sb, "\"endpoint\":\"%s\",", n->endpoint);
	strbuf_printf(&sb, "\"allowed_ips\":%s,\"membership\":\"", n->allowed_ips_json);
	if (sb.oom) {
		strbuf_free(&sb);
		return -1;
	}
	free(n->peer_json);
	n->peer_json = strbuf_steal_fit(&sb, &n->peer_json_len);
	return 0;
}

static struct peer_rec *rec_new(const struct node *n)
{
	struct peer_rec *rec = calloc(1, sizeof(*rec));

	if (!rec)
		return NULL;
	rec->refs = 1;
	snprintf(rec->id, sizeof(rec->id), "%s", n->id);
	return rec;
}

struct peer_rec *node_record(struct controller *c, struct node *n)
{
	struct peer_rec *rec = rec_new(n);
	const char *m = verdict_name(n->verdict);
	size_t mlen = strlen(m);

	if (!rec)
		return NULL;
	rec->verdict = n->verdict;
	rec->reason = strdup(n->reason);
	rec->peer_json = malloc(n->peer_json_len + mlen + 3);
	if (!n->sign_pkey)
		n->sign_pkey = meshnet_ed25519_public_from_b64(n->signing_key);
	if (n->sign_pkey && EVP_PKEY_up_ref(n->sign_pkey) == 1)
		rec->sign_pkey = n->sign_pkey;
	if (!rec->reason || !rec->peer_json || !rec->sign_pkey) {
		peer_rec_put(rec);
		log_err("%s: out of memory publishing its record", n->id);
		return NULL;
	}
	if (n->verdict == VERDICT_DENIED && !c->loading) {
		/* why, as decided now: carried by its denied statements */
		struct strbuf sb;
		size_t len;

		strbuf_init(&sb);
		verdict_explain_json(c, n, controller_now(), &sb);
		rec->explanation = sb.oom ? NULL : strbuf_steal_fit(&sb, &len);
		strbuf_free(&sb);
	}
	memcpy(rec->peer_json, n->peer_json, n->peer_json_len);
	memcpy(rec->peer_json + n->peer_json_len, m, mlen);
	memcpy(rec->peer_json + n->peer_json_len + mlen, "\"}", 3);
	rec->peer_json_len = n->peer_json_len + mlen + 2;
	return rec;
}

uint64_t node_publish_record(struct controller *c, struct node *n, struct peer_rec *rec,
			     enum rev_kind kind)
{
	uint64_t rev;

	if (!rec)
		return 0;
	rev = revisions_change(&c->rv, n->slot, rec, kind);
	/* the expected table digests (acks.c): O(1) */
	acks_on_node(c->acks, n->slot, n->id, rev, c->rv.head, n->wg_public_key,
		     n->verdict == VERDICT_ALLOWED ? 1 : 2);
	return rev;
}

uint64_t node_publish(struct controller *c, struct node *n, enum rev_kind kind)
{
	return node_publish_record(c, n, node_record(c, n), kind);
}

void node_publish_removal(struct controller *c, struct node *n)
{
	struct peer_rec *rec = rec_new(n);

	if (!rec)
		return;
	rec->removed = true;
	acks_on_remove(c->acks, n->slot, revisions_change(&c->rv, n->slot, rec, REV_REMOVE));
}

int nodes_insert(struct controller *c, struct node *n)
{
	if (node_render_peer_json(n))
		return -1;

	if (c->n_nodes == c->cap_nodes) {
		size_t cap = c->cap_nodes ? 2 * c->cap_nodes : 64;
		struct node **arr = realloc(c->nodes, cap * sizeof(*arr));

		if (!arr)
			return -1;
		c->nodes = arr;
		c->cap_nodes = cap;
	}
	if (c->n_nodes >= c->n_buckets && table_grow(c))
		return -1;
	if (nodes_ident_index_add(c, n))
		return -1;
	n->index = c->n_nodes;
	c->nodes[c->n_nodes++] = n;
	n->slot = revisions_slot_alloc(&c->rv);
	pthread_mutex_lock(&c->index_lock);
	index_add(c, NODE_BY_ID, n);
	pthread_mutex_unlock(&c->index_lock);
	nodes_key_index_add(c, n);
	if (n->verdict == VERDICT_ALLOWED)
		c->n_allowed++;
	return 0;
}

void node_free(struct node *n)
{
	if (!n)
		return;
	free(n->peer_json);
	EVP_PKEY_free(n->sign_pkey);
	free(n->allowed_ips_json);
	free(n->evidence);
	node_evidence_free(&n->trust);
	free(n);
}

void nodes_remove(struct controller *c, struct node *n)
{
	pthread_mutex_lock(&c->index_lock);
	index_del(c, NODE_BY_ID, n);
	pthread_mutex_unlock(&c->index_lock);
	revisions_slot_free(&c->rv, n->slot);
	nodes_key_index_del(c, n);
	nodes_ident_index_del(c, n);
	c->nodes[n->index] = c->nodes[--c->n_nodes];
	c->nodes[n->index]->index = n->index;
	if (n->verdict == VERDICT_ALLOWED)
		c->n_allowed--;
	node_free(n);
}

void node_set_verdict(struct controller *c, struct node *n, enum verdict v, const char *reason,
			int64_t now)
{
	if (n->verdict != v) {
		if (v == VERDICT_ALLOWED)
			c->n_allowed++;
		else
			c->n_allowed--;
	}
	n->verdict = v;
	snprintf(n->reason, sizeof(n->reason), "%s", reason);
	n->last_update = now;
}

static struct json_object *get_field(struct json_object *obj, const char *key, const char *alias)
{
	struct json_object *v;

	if (json_object_object_get_ex(obj, key, &v))
		return v;
	if (alias && json_object_object_get_ex(obj, alias, &v))
		return v;
	return NULL;
}

static const char *get_string_alias(struct json_object *obj, const char *key, const char *alias)
{
	struct json_object *v = get_field(obj, key, alias);

	return v && json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
}

int node_parse_enrolment(struct json_object *obj, struct node *n, struct api_error *err)
{
	const char *id, *wg, *sk, *ep;
	struct json_object *ips, *tags;
	uint8_t raw[32];
	struct strbuf sb;
	size_t i, count;

	memset(n, 0, sizeof(*n));
	if (!json_object_is_type(obj, json_type_object)) {
		api_error_set(err, 400, "bad_request", "enrolment must be a JSON object");
		return -1;
	}
	id = get_string_alias(obj, "node_id", "id");
	if (!id) {
		api_error_set(err, 400, "bad_request", "node_id (string) is required");
		return -1;
	}
	if (!meshnet_node_id_valid(id)) {
		api_error_set(err, 400, "bad_node_id", "node_id must match ^[a-z0-9][a-z0-9._-]{0,62}$");
		return -1;
	}
	wg = get_string_alias(obj, "public_key", "wg_public_key");
	if (!wg || meshnet_b64_decode_exact(raw, 32, wg)) {
		api_error_set(err, 400, "bad_request",
			      "public_key must be the base64 of a 32-byte WireGuard key");
		return -1;
	}
	sk = get_string_alias(obj, "signing_key", "ed25519_public_key");
	if (!sk || meshnet_b64_decode_exact(raw, 32, sk)) {
		api_error_set(err, 400, "bad_request",
			      "signing_key must be the base64 of a 32-byte Ed25519 public key");
		return -1;
	}
	ep = NULL;
	if (json_object_object_get_ex(obj, "endpoint", NULL) &&
	    !json_object_is_type(json_object_object_get(obj, "endpoint"), json_type_null)) {
		struct meshnet_endpoint e;

		ep = meshnet_json_get_string(obj, "endpoint");
		if (!ep || strlen(ep) >= sizeof(n->endpoint) || meshnet_endpoint_parse(ep, &e)) {
			api_error_set(err, 400, "bad_request",
				      "endpoint must be \"IPv4:port\" or \"[IPv6]:port\"");
			return -1;
		}
	}
	ips = get_field(obj, "allowed_ips", "overlay");
	if (!ips || !json_object_is_type(ips, json_type_array) ||
	    (count = json_object_array_length(ips)) < 1 || count > MAX_ALLOWED_IPS) {
		api_error_set(err, 400, "bad_request",
			      "allowed_ips must be an array of 1..%d prefixes", MAX_ALLOWED_IPS);
		return -1;
	}
	strbuf_init(&sb);
	strbuf_puts(&sb, "[");
	for (i = 0; i < count; i++) {
		struct json_object *v = json_object_array_get_idx(ips, i);
		struct meshnet_prefix p;
		const char *s;

		if (!json_object_is_type(v, json_type_string) ||
		    strlen(s = json_object_get_string(v)) > 48 || meshnet_prefix_parse(s, &p)) {
			strbuf_free(&sb);
			api_error_set(err, 400, "bad_request",
				      "allowed_ips[%zu] is not a prefix like 10.10.0.2/32 "
				      "(no host bits past the mask)", i);
			return -1;
		}
		strbuf_printf(&sb, "%s\"%s\"", i ? "," : "", s);
	}
	strbuf_puts(&sb, "]");
	if (sb.oom) {
		strbuf_free(&sb);
		api_error_set(err, 500, "internal", "out of memory");
		return -1;
	}
	if (json_object_object_get_ex(obj, "tags", &tags) &&
	    node_evidence_set_tags(&n->trust, tags, err->message, sizeof(err->message))) {
		strbuf_free(&sb);
		err->status = 400;
		err->code = "bad_request";
		return -1;
	}
	strcpy(n->id, id);
	snprintf(n->wg_public_key, sizeof(n->wg_public_key), "%s", wg);
	snprintf(n->signing_key, sizeof(n->signing_key), "%s", sk);
	if (ep)
		strcpy(n->endpoint, ep);
	n->allowed_ips_json = strbuf_steal_fit(&sb, &count);
	n->verdict = VERDICT_DENIED;
	strcpy(n->reason, "no benchmark yet");
	return 0;
}

struct import_key {
	char text[64];
	size_t entry;
};

static int cmp_import_key(const void *a, const void *b)
{
	return strcmp(((const struct import_key *)a)->text, ((const struct import_key *)b)->text);
}

/* Index of the first key equal to its predecessor after sorting, or -1. */
static long first_duplicate(struct import_key *k, size_t n)
{
	size_t i;

	if (n > 1)
		qsort(k, n, sizeof(*k), cmp_import_key);
	for (i = 1; i < n; i++)
		if (!strcmp(k[i].text, k[i - 1].text))
			return (long)i;
	return -1;
}

/*
 * Every entry of a NODES_FILE parses, and the new ones (ids not enrolled
 * yet: the state directory wins for the others) clash neither with each
 * other nor with the enrolled nodes: node ids, WireGuard keys, signing keys,
 * allowed_ips prefixes. O(n log n) in the entries.
 */
int nodes_check_import(struct controller *c, struct json_object *arr, const char *path)
{
	size_t total = json_object_array_length(arr), n = 0, nr = 0, i;
	struct import_key *ids = calloc(total + 1, sizeof(*ids));
	struct import_key *wgs = calloc(total + 1, sizeof(*wgs));
	struct import_key *sks = calloc(total + 1, sizeof(*sks));
	struct prefix_range *ranges = calloc(total * MAX_ALLOWED_IPS + 1, sizeof(*ranges));
	static const char *const what[] = { "node_id", "public_key", "signing_key" };
	struct import_key *keys[3] = { ids, wgs, sks };
	struct api_error err;
	int ret = -1, k;
	long dup;

	if (!ids || !wgs || !sks || !ranges) {
		log_err("NODES_FILE %s: out of memory", path);
		goto out;
	}
	for (i = 0; i < total; i++) {
		const void *owner;
		struct node tmp;
		int count, j;

		if (node_parse_enrolment(json_object_array_get_idx(arr, i), &tmp, &err)) {
			log_err("NODES_FILE %s: node %zu: %s", path, i, err.message);
			goto out;
		}
		if (controller_find(c, tmp.id)) {
			free(tmp.allowed_ips_json);
			node_evidence_free(&tmp.trust);
			continue;	/* enrolled already: skipped by the import */
		}
		if (nodes_find_by_key(c, tmp.wg_public_key) ||
		    nodes_find_by_signing_key(c, tmp.signing_key)) {
			log_err("NODES_FILE %s: node %zu (%s): its %s belongs to node %s", path, i,
				tmp.id, nodes_find_by_key(c, tmp.wg_public_key) ? "public_key" :
				"signing_key", nodes_find_by_key(c, tmp.wg_public_key) ?
				nodes_find_by_key(c, tmp.wg_public_key)->id :
				nodes_find_by_signing_key(c, tmp.signing_key)->id);
			free(tmp.allowed_ips_json);
			node_evidence_free(&tmp.trust);
			goto out;
		}
		count = prefixes_from_json(tmp.allowed_ips_json, (const void *)(uintptr_t)(i + 1),
					   ranges + nr, MAX_ALLOWED_IPS);
		free(tmp.allowed_ips_json);
		node_evidence_free(&tmp.trust);
		for (j = 0; j < count; j++) {
			owner = prefixes_conflict(&c->prefixes, &ranges[nr + (size_t)j]);
			if (owner) {
				log_err("NODES_FILE %s: node %zu (%s): allowed_ips[%d] overlaps node "
					"%s's", path, i, tmp.id, j, ((const struct node *)owner)->id);
				goto out;
			}
		}
		nr += (size_t)(count > 0 ? count : 0);
		snprintf(ids[n].text, sizeof(ids[n].text), "%s", tmp.id);
		snprintf(wgs[n].text, sizeof(wgs[n].text), "%s", tmp.wg_public_key);
		snprintf(sks[n].text, sizeof(sks[n].text), "%s", tmp.signing_key);
		ids[n].entry = wgs[n].entry = sks[n].entry = i;
		n++;
	}
	for (k = 0; k < 3; k++) {
		dup = first_duplicate(keys[k], n);
		if (dup > 0) {	/* >= 1: the later of two equal ones */
			log_err("NODES_FILE %s: nodes %zu and %zu have the same %s", path,
				keys[k][dup - 1].entry, keys[k][dup].entry, what[k]);
			goto out;
		}
	}
	dup = prefixes_first_overlap(ranges, nr);
	if (dup > 0) {	/* >= 1: the later of two equal ones */
		log_err("NODES_FILE %s: allowed_ips of nodes %zu and %zu overlap", path,
			(size_t)(uintptr_t)ranges[dup - 1].owner - 1,
			(size_t)(uintptr_t)ranges[dup].owner - 1);
		goto out;
	}
	ret = 0;
out:
	free(ids);
	free(wgs);
	free(sks);
	free(ranges);
	return ret;
}

struct json_object *nodes_file_entries(struct json_object *root)
{
	struct json_object *arr = root;

	if (json_object_is_type(root, json_type_object) &&
	    !json_object_object_get_ex(root, "nodes", &arr))
		return NULL;
	return json_object_is_type(arr, json_type_array) ? arr : NULL;
}

int nodes_import_file(struct controller *c, const char *path)
{
	struct json_object *root, *arr;
	struct api_error err;
	size_t i, added = 0;

	root = controller_read_json_file("NODES_FILE", path, 256u << 20);
	if (!root)
		return -1;
	arr = nodes_file_entries(root);
	if (!arr) {
		log_err("NODES_FILE %s: expected {\"nodes\": [...]} or an array", path);
		json_object_put(root);
		return -1;
	}
	/* All or nothing: check the whole file before enrolling any of it. */
	if (nodes_check_import(c, arr, path)) {
		json_object_put(root);
		return -1;
	}
	c->importing = true;
	for (i = 0; i < json_object_array_length(arr); i++) {
		struct json_object *o = json_object_array_get_idx(arr, i);
		const char *id = json_object_is_type(o, json_type_object) ?
				 get_string_alias(o, "node_id", "id") : NULL;

		if (id && controller_find(c, id))
			continue;	/* enrolled already: the state directory wins */
		if (controller_enrol(c, o, NULL, &err)) {
			log_err("NODES_FILE %s: node %zu: %s", path, i, err.message);
			c->importing = false;
			json_object_put(root);
			return -1;
		}
		added++;
	}
	c->importing = false;
	json_object_put(root);
	/* The whole import is one batch, committed with the start-up's. */
	log_info("Imported %zu node(s) from %s", added, path);
	return 0;
}

/* ---- admin ---- */

/*
 * 409 overlapping_prefix if one of n's prefixes meets another node's (the
 * module could not tell which peer an address is), 400 if two of its own do.
 */
static int enrolment_prefix_conflict(struct controller *c, const struct node *n,
				     struct api_error *err)
{
	struct prefix_range r[MAX_ALLOWED_IPS];
	int i, count = prefixes_from_json(n->allowed_ips_json, n, r, MAX_ALLOWED_IPS);

	if (count < 0) {
		api_error_set(err, 400, "bad_request", "allowed_ips do not parse");
		return -1;
	}
	/*
	 * An import checked the whole file against the index and against itself
	 * (nodes_check_import) and appends unsorted: a lookup here would sort the
	 * index once per imported node, O(n^2 log n) for the file.
	 */
	for (i = 0; !c->importing && i < count; i++) {
		const struct node *owner = prefixes_conflict(&c->prefixes, &r[i]);

		if (owner) {
			api_error_set(err, 409, "overlapping_prefix",
				      "allowed_ips[%d] overlaps an allowed_ips prefix of node %s", i,
				      owner->id);
			return -1;
		}
	}
	if (prefixes_first_overlap(r, (size_t)count) >= 0) {
		api_error_set(err, 400, "bad_request", "allowed_ips overlap each other");
		return -1;
	}
	return 0;
}

int controller_enrol(struct controller *c, struct json_object *obj, uint64_t *seq,
		     struct api_error *err)
{
	struct node tmp, *n;
	struct strbuf sb;
	int ret = -1;

	if (node_parse_enrolment(obj, &tmp, err))
		return -1;
	pthread_mutex_lock(&c->lock);
	if (controller_write_lock_locked(c, err))
		goto out;
	if (controller_find(c, tmp.id)) {
		api_error_set(err, 409, "exists", "node %s is enrolled already", tmp.id);
		goto out;
	}
	if (nodes_find_by_key(c, tmp.wg_public_key)) {
		api_error_set(err, 409, "duplicate_key", "node %s already has this public_key",
			      nodes_find_by_key(c, tmp.wg_public_key)->id);
		goto out;
	}
	/* Its signing key would let it sign as the other node (and fetch its PSKs). */
	if (nodes_find_by_signing_key(c, tmp.signing_key)) {
		api_error_set(err, 409, "duplicate_signing_key",
			      "node %s already has this signing_key",
			      nodes_find_by_signing_key(c, tmp.signing_key)->id);
		goto out;
	}
	if (enrolment_prefix_conflict(c, &tmp, err))
		goto out;
	n = malloc(sizeof(*n));
	if (!n) {
		api_error_set(err, 500, "internal", "out of memory");
		goto out;
	}
	*n = tmp;
	tmp.allowed_ips_json = NULL;
	memset(&tmp.trust, 0, sizeof(tmp.trust));
	n->last_update = controller_now();
	strbuf_init(&sb);
	record_render_enrol(&sb, n, revisions_next(&c->rv));
	if (record_journal(c, &sb, true)) {
		strbuf_free(&sb);
		node_free(n);
		api_error_set(err, 500, "storage", "could not persist the enrolment");
		goto out;
	}
	strbuf_free(&sb);
	if (nodes_insert(c, n)) {
		node_free(n);
		api_error_set(err, 500, "internal", "out of memory");
		goto out;
	}
	node_publish(c, n, REV_ENROL);
	if (seq)
		*seq = controller_commit_locked(c);
	strbuf_init(&sb);
	strbuf_printf(&sb, "\"node_id\":\"%s\",\"public_key\":\"%s\",\"signing_key\":\"%s\","
		      "\"allowed_ips\":%s", n->id, n->wg_public_key, n->signing_key,
		      n->allowed_ips_json);
	if (n->trust.n_tags) {
		strbuf_puts(&sb, ",\"tags\":");
		node_evidence_render_tags(&n->trust, &sb);
	}
	record_audit(c, "enrol", &sb);
	strbuf_free(&sb);
	if (!c->loading && !c->importing)
		log_info("%s: enrolled (membership=DENIED until its first benchmark)", n->id);
	c->status_dirty = true;
	pthread_cond_broadcast(&c->cond);
	ret = 0;
out:
	pthread_mutex_unlock(&c->lock);
	free(tmp.allowed_ips_json);
	node_evidence_free(&tmp.trust);
	if (!ret)
		controller_notify(c);
	return ret;
}

int controller_remove(struct controller *c, const char *id, uint64_t *seq,
		      struct api_error *err)
{
	struct strbuf sb;
	struct node *n;
	uint64_t new_epoch;

	pthread_mutex_lock(&c->lock);
	if (controller_write_lock_locked(c, err)) {
		pthread_mutex_unlock(&c->lock);
		return -1;
	}
	n = controller_find(c, id);
	if (!n) {
		pthread_mutex_unlock(&c->lock);
		api_error_set(err, 404, "unknown_node", "node %s is not enrolled", id);
		return -1;
	}
	strbuf_init(&sb);
	record_render_remove(&sb, id, revisions_next(&c->rv));
	if (record_journal(c, &sb, true)) {
		strbuf_free(&sb);
		pthread_mutex_unlock(&c->lock);
		api_error_set(err, 500, "storage", "could not persist the removal");
		return -1;
	}
	strbuf_free(&sb);
	strbuf_init(&sb);
	strbuf_printf(&sb, "\"node_id\":\"%s\"", id);
	record_audit(c, "remove", &sb);
	strbuf_free(&sb);
	log_info("%s: removed by admin", id);
	node_publish_removal(c, n);
	nodes_remove(c, n);
	/* Peers must drop it now: a new epoch without it. */
	new_epoch = epochs_rotate_locked(c, controller_now(), "node removed");
	*seq = controller_commit_locked(c);
	pthread_mutex_unlock(&c->lock);
	epochs_notify(c, new_epoch);
	return 0;
}

int controller_set_pin(struct controller *c, const char *id, enum pin pin, uint64_t *seq,
		       struct api_error *err)
{
	struct strbuf sb;
	struct node *n;
	uint64_t new_epoch = 0;

	pthread_mutex_lock(&c->lock);
	if (controller_write_lock_locked(c, err)) {
		pthread_mutex_unlock(&c->lock);
		return -1;
	}
	n = controller_find(c, id);
	if (!n) {
		pthread_mutex_unlock(&c->lock);
		api_error_set(err, 404, "unknown_node", "node %s is not enrolled", id);
		return -1;
	}
	n->pin = pin;
	strbuf_init(&sb);
	record_render_pin(&sb, n, revisions_next(&c->rv));
	if (record_journal(c, &sb, true)) {
		strbuf_free(&sb);
		pthread_mutex_unlock(&c->lock);
		api_error_set(err, 500, "storage", "could not persist the override");
		return -1;
	}
	strbuf_free(&sb);
	strbuf_init(&sb);
	strbuf_printf(&sb, "\"node_id\":\"%s\",\"pin\":\"%s\"", id, pin_name(pin));
	record_audit(c, "override", &sb);
	strbuf_free(&sb);
	log_info("%s: override %s by admin", id, pin_name(pin));
	node_publish(c, n, REV_PIN);
	/* Overrides win at once: a new epoch carries the new verdict. */
	new_epoch = epochs_rotate_locked(c, controller_now(), "admin override");
	*seq = controller_commit_locked(c);
	pthread_mutex_unlock(&c->lock);
	epochs_notify(c, new_epoch);
	return 0;
}

