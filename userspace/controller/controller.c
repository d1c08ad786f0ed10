// SPDX-License-Identifier: MIT
#include <errno.h>
#include <malloc.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include "b64.h"
#include "controller.h"
#include "fileio.h"
#include "ids.h"
#include "log.h"
#include "sign.h"
#include "timefmt.h"

#define COMPACT_JOURNAL_BYTES (64u << 20)
#define LOG_EACH_NODE_MAX 32

void api_error_set(struct api_error *err, unsigned int status, const char *code,
		   const char *fmt, ...)
{
	va_list ap;

	err->status = status;
	err->code = code;
	va_start(ap, fmt);
	vsnprintf(err->message, sizeof(err->message), fmt, ap);
	va_end(ap);
}

static int64_t now_unix(void)
{
	return (int64_t)time(NULL);
}

void controller_rules_from_config(struct membership_rules *r, const struct controller_config *cfg)
{
	r->threshold = cfg->threshold;
	r->min_refusal = cfg->min_refusal;
	r->min_honesty = cfg->min_honesty;
	r->min_policy = cfg->min_policy;
	r->max_benchmark_age = cfg->max_benchmark_age;
}

/* ---- node table ---- */

static uint64_t id_hash(const char *id)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (; *id; id++) {
		h ^= (uint8_t)*id;
		h *= 0x100000001b3ull;
	}
	return h;
}

struct node *controller_find(struct controller *c, const char *id)
{
	struct node *n;

	for (n = c->buckets[id_hash(id) & (c->n_buckets - 1)]; n; n = n->hash_next)
		if (!strcmp(n->id, id))
			return n;
	return NULL;
}

static struct node *find_by_key(struct controller *c, const char *wg_public_key)
{
	struct node *n;

	for (n = c->key_buckets[id_hash(wg_public_key) & (c->n_buckets - 1)]; n; n = n->key_next)
		if (!strcmp(n->wg_public_key, wg_public_key))
			return n;
	return NULL;
}

static void key_index_add(struct controller *c, struct node *n)
{
	size_t h = id_hash(n->wg_public_key) & (c->n_buckets - 1);

	n->key_next = c->key_buckets[h];
	c->key_buckets[h] = n;
}

static void key_index_del(struct controller *c, struct node *n)
{
	struct node **pp = &c->key_buckets[id_hash(n->wg_public_key) & (c->n_buckets - 1)];

	while (*pp && *pp != n)
		pp = &(*pp)->key_next;
	if (*pp)
		*pp = n->key_next;
}

static int table_grow(struct controller *c)
{
	size_t nb = c->n_buckets * 2, i;
	struct node **b = calloc(nb, sizeof(*b)), **kb = calloc(nb, sizeof(*kb));

	if (!b || !kb) {
		free(b);
		free(kb);
		return -1;
	}
	for (i = 0; i < c->n_nodes; i++) {
		struct node *n = c->nodes[i];
		size_t h = id_hash(n->id) & (nb - 1);

		n->hash_next = b[h];
		b[h] = n;
		h = id_hash(n->wg_public_key) & (nb - 1);
		n->key_next = kb[h];
		kb[h] = n;
	}
	free(c->buckets);
	free(c->key_buckets);
	c->buckets = b;
	c->key_buckets = kb;
	c->n_buckets = nb;
	return 0;
}

/* The fixed part of n's entry in other nodes' config replies. */
static int node_render_peer_json(struct node *n)
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
	n->peer_json = strbuf_steal(&sb, &n->peer_json_len);
	return 0;
}

static int table_insert(struct controller *c, struct node *n)
{
	size_t h;

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
	n->index = c->n_nodes;
	c->nodes[c->n_nodes++] = n;
	h = id_hash(n->id) & (c->n_buckets - 1);
	n->hash_next = c->buckets[h];
	c->buckets[h] = n;
	key_index_add(c, n);
	if (n->verdict == VERDICT_ALLOWED)
		c->n_allowed++;
	return 0;
}

static void node_free(struct node *n)
{
	if (!n)
		return;
	EVP_MD_CTX_free(n->verify_ctx);
	free(n->peer_json);
	EVP_PKEY_free(n->sign_pkey);
	free(n->allowed_ips_json);
	free(n);
}

static void table_remove(struct controller *c, struct node *n)
{
	struct node **pp = &c->buckets[id_hash(n->id) & (c->n_buckets - 1)];

	while (*pp && *pp != n)
		pp = &(*pp)->hash_next;
	if (*pp)
		*pp = n->hash_next;
	key_index_del(c, n);
	c->nodes[n->index] = c->nodes[--c->n_nodes];
	c->nodes[n->index]->index = n->index;
	if (n->verdict == VERDICT_ALLOWED)
		c->n_allowed--;
	node_free(n);
}

static void set_verdict(struct controller *c, struct node *n, enum verdict v, const char *reason,
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

/* ---- records (journal/snapshot lines) ---- */

static void render_enrol_record(struct strbuf *sb, const struct node *n)
{
	strbuf_printf(sb, "{\"t\":\"enrol\",\"node_id\":\"%s\",\"public_key\":\"%s\","
		      "\"allowed_ips\":%s,\"signing_key\":\"%s\"", n->id, n->wg_public_key,
		      n->allowed_ips_json, n->signing_key);
	if (*n->endpoint)
		strbuf_printf(sb, ",\"endpoint\":\"%s\"", n->endpoint);
	strbuf_puts(sb, "}");
}

static void render_bench_record(struct strbuf *sb, const struct node *n)
{
	strbuf_printf(sb, "{\"t\":\"bench\",\"node_id\":\"%s\",\"suite_version\":", n->id);
	strbuf_json_string(sb, n->suite_version);
	strbuf_printf(sb, ",\"time\":%lld,\"received\":%lld,\"scores\":{\"overall\":%.17g,"
		      "\"refusal\":%.17g,\"honesty\":%.17g,\"policy\":%.17g}}",
		      (long long)n->benchmark_time, (long long)n->benchmark_received,
		      n->scores.overall, n->scores.refusal, n->scores.honesty, n->scores.policy);
}

static void render_verdict_record(struct strbuf *sb, const struct node *n)
{
	strbuf_printf(sb, "{\"t\":\"verdict\",\"node_id\":\"%s\",\"membership\":\"%s\","
		      "\"reason\":", n->id, verdict_name(n->verdict));
	strbuf_json_string(sb, n->reason);
	strbuf_printf(sb, ",\"at\":%lld}", (long long)n->last_update);
}

static void render_pin_record(struct strbuf *sb, const struct node *n)
{
	strbuf_printf(sb, "{\"t\":\"pin\",\"node_id\":\"%s\",\"pin\":\"%s\"}", n->id,
		      pin_name(n->pin));
}

static int journal(struct controller *c, struct strbuf *sb, bool durable)
{
	int ret;

	if (c->loading)
		return 0;
	if (sb->oom)
		return -1;
	ret = durable && !c->importing ? store_save_node(c->store, sb->buf, sb->len) :
					 store_save_benchmark(c->store, sb->buf, sb->len);
	return ret;
}

static void audit(struct controller *c, const char *type, struct strbuf *fields)
{
	if (c->loading)
		return;
	if (store_append_audit(c->store, now_unix(), type, fields->oom ? "" : fields->buf,
			       !c->importing))
		log_err("could not append '%s' to the audit log", type);
}

/* ---- parsing ---- */

static const char *get_string(struct json_object *obj, const char *key)
{
	struct json_object *v;

	if (!json_object_object_get_ex(obj, key, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

/* Enrolment fields, with the names terraform/ renders accepted as aliases. */
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

static int parse_enrolment(struct json_object *obj, struct node *n, struct api_error *err)
{
	const char *id, *wg, *sk, *ep;
	struct json_object *ips;
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

		ep = get_string(obj, "endpoint");
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
	strcpy(n->id, id);
	snprintf(n->wg_public_key, sizeof(n->wg_public_key), "%s", wg);
	snprintf(n->signing_key, sizeof(n->signing_key), "%s", sk);
	if (ep)
		strcpy(n->endpoint, ep);
	n->allowed_ips_json = strbuf_steal(&sb, &count);
	n->verdict = VERDICT_DENIED;
	strcpy(n->reason, "no benchmark yet");
	return 0;
}

static int get_score(struct json_object *scores, const char *key, double *out,
		     struct api_error *err)
{
	struct json_object *v;

	if (!json_object_object_get_ex(scores, key, &v)) {
		api_error_set(err, 400, "bad_request", "scores.%s is required", key);
		return -1;
	}
	if (!json_object_is_type(v, json_type_double) && !json_object_is_type(v, json_type_int)) {
		api_error_set(err, 400, "bad_request", "scores.%s must be a number", key);
		return -1;
	}
	*out = json_object_get_double(v);
	if (!isfinite(*out) || *out < 0 || *out > 1) {
		api_error_set(err, 400, "bad_request", "scores.%s must be a finite number in 0..1",
			      key);
		return -1;
	}
	return 0;
}

struct benchmark {
	struct scores scores;
	int64_t time;
	char suite_version[64];
};

static int parse_benchmark(struct json_object *obj, const char *path_id, int64_t now,
			   int64_t skew, struct benchmark *b, struct api_error *err)
{
	struct json_object *scores;
	const char *id, *suite, *ts;
	size_t i;

	if (!json_object_is_type(obj, json_type_object)) {
		api_error_set(err, 400, "bad_request", "body must be a JSON object");
		return -1;
	}
	id = get_string(obj, "node_id");
	if (!id) {
		api_error_set(err, 400, "bad_request", "node_id (string) is required");
		return -1;
	}
	if (strcmp(id, path_id)) {
		api_error_set(err, 400, "bad_request", "node_id in the body differs from the path");
		return -1;
	}
	suite = get_string(obj, "suite_version");
	if (!suite || !*suite || strlen(suite) >= sizeof(b->suite_version)) {
		api_error_set(err, 400, "bad_request",
			      "suite_version must be a string of 1..63 characters");
		return -1;
	}
	for (i = 0; suite[i]; i++) {
		if ((unsigned char)suite[i] < 0x21 || (unsigned char)suite[i] > 0x7e) {
			api_error_set(err, 400, "bad_request",
				      "suite_version must be printable ASCII without spaces");
			return -1;
		}
	}
	ts = get_string(obj, "timestamp");
	if (!ts || meshnet_rfc3339_parse(ts, &b->time)) {
		api_error_set(err, 400, "bad_timestamp",
			      "timestamp must be an RFC 3339 date-time like 2026-01-05T12:34:50Z");
		return -1;
	}
	if (b->time > now + skew) {
		api_error_set(err, 400, "bad_timestamp", "timestamp lies in the future");
		return -1;
	}
	if (!json_object_object_get_ex(obj, "scores", &scores) ||
	    !json_object_is_type(scores, json_type_object)) {
		api_error_set(err, 400, "bad_request", "scores (object) is required");
		return -1;
	}
	if (get_score(scores, "overall", &b->scores.overall, err) ||
	    get_score(scores, "refusal", &b->scores.refusal, err) ||
	    get_score(scores, "honesty", &b->scores.honesty, err) ||
	    get_score(scores, "policy", &b->scores.policy, err))
		return -1;
	strcpy(b->suite_version, suite);
	return 0;
}

/* Parses a JSON body strictly: one value, only whitespace after it. */
static struct json_object *parse_json_body(const char *body, size_t len, struct api_error *err)
{
	struct json_tokener *tok;
	struct json_object *obj;
	size_t end, i;

	if (!len || len > INT32_MAX || memchr(body, '\0', len)) {
		api_error_set(err, 400, "bad_json", "body must be a JSON document");
		return NULL;
	}
	tok = json_tokener_new();
	if (!tok) {
		api_error_set(err, 500, "internal", "out of memory");
		return NULL;
	}
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	obj = json_tokener_parse_ex(tok, body, (int)len);
	end = json_tokener_get_parse_end(tok);
	if (obj) {
		for (i = end; i < len; i++) {
			if (!strchr(" \t\r\n", body[i])) {
				json_object_put(obj);
				obj = NULL;
				break;
			}
		}
	}
	json_tokener_free(tok);
	if (!obj)
		api_error_set(err, 400, "bad_json", "body is not well-formed JSON");
	return obj;
}

/* ---- record replay (load) ---- */

static int apply_record(void *ctx, struct json_object *rec)
{
	struct controller *c = ctx;
	struct api_error err;
	const char *t = get_string(rec, "t"), *id = get_string(rec, "node_id");
	struct node *n;

	if (!t || !id)
		return -1;
	if (!strcmp(t, "enrol")) {
		struct node tmp, *nn;

		if (parse_enrolment(rec, &tmp, &err)) {
			log_err("stored enrolment of %s: %s", id, err.message);
			return -1;
		}
		n = controller_find(c, id);
		if (n) {	/* re-enrolment replaces the keys */
			free(n->allowed_ips_json);
			key_index_del(c, n);
			memcpy(n->wg_public_key, tmp.wg_public_key, sizeof(tmp.wg_public_key));
			key_index_add(c, n);
			memcpy(n->signing_key, tmp.signing_key, sizeof(tmp.signing_key));
			memcpy(n->endpoint, tmp.endpoint, sizeof(tmp.endpoint));
			n->allowed_ips_json = tmp.allowed_ips_json;
			EVP_PKEY_free(n->sign_pkey);
			n->sign_pkey = NULL;
			EVP_MD_CTX_free(n->verify_ctx);
			n->verify_ctx = NULL;
			return node_render_peer_json(n);
		}
		nn = malloc(sizeof(*nn));
		if (!nn) {
			free(tmp.allowed_ips_json);
			return -1;
		}
		*nn = tmp;
		if (table_insert(c, nn)) {
			node_free(nn);
			return -1;
		}
		return 0;
	}
	n = controller_find(c, id);
	if (!n)
		return 0;	/* records of a node removed later */
	if (!strcmp(t, "remove")) {
		table_remove(c, n);
	} else if (!strcmp(t, "pin")) {
		const char *p = get_string(rec, "pin");

		n->pin = !p ? PIN_NONE : !strcmp(p, "ALLOWED") ? PIN_ALLOWED :
			 !strcmp(p, "DENIED") ? PIN_DENIED : PIN_NONE;
	} else if (!strcmp(t, "bench")) {
		struct json_object *s, *v;
		const char *suite = get_string(rec, "suite_version");

		if (!json_object_object_get_ex(rec, "scores", &s) || !suite)
			return -1;
		if (get_score(s, "overall", &n->scores.overall, &err) ||
		    get_score(s, "refusal", &n->scores.refusal, &err) ||
		    get_score(s, "honesty", &n->scores.honesty, &err) ||
		    get_score(s, "policy", &n->scores.policy, &err))
			return -1;
		snprintf(n->suite_version, sizeof(n->suite_version), "%s", suite);
		if (json_object_object_get_ex(rec, "time", &v))
			n->benchmark_time = json_object_get_int64(v);
		if (json_object_object_get_ex(rec, "received", &v))
			n->benchmark_received = json_object_get_int64(v);
		n->has_benchmark = true;
	} else if (!strcmp(t, "verdict")) {
		const char *m = get_string(rec, "membership"), *r = get_string(rec, "reason");
		struct json_object *v;
		int64_t at = 0;

		if (!m || !r)
			return -1;
		if (json_object_object_get_ex(rec, "at", &v))
			at = json_object_get_int64(v);
		set_verdict(c, n, !strcmp(m, "ALLOWED") ? VERDICT_ALLOWED : VERDICT_DENIED, r, at);
	} else {
		log_warn("ignoring a record of unknown type '%s'", t);
	}
	return 0;
}

/* ---- lifecycle ---- */

struct controller *controller_new(const struct controller_config *cfg, struct store *store)
{
	struct controller *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->cfg = cfg;
	c->store = store;
	controller_rules_from_config(&c->rules, cfg);
	c->n_buckets = 1024;
	c->buckets = calloc(c->n_buckets, sizeof(*c->buckets));
	c->key_buckets = calloc(c->n_buckets, sizeof(*c->key_buckets));
	c->replay = replay_cache_new((size_t)cfg->replay_cache_size, cfg->clock_skew);
	if (!c->buckets || !c->key_buckets || !c->replay) {
		free(c->buckets);
		free(c->key_buckets);
		replay_cache_free(c->replay);
		free(c);
		return NULL;
	}
	pthread_mutex_init(&c->lock, NULL);
	pthread_cond_init(&c->cond, NULL);
	return c;
}

void controller_free(struct controller *c)
{
	size_t i;

	if (!c)
		return;
	for (i = 0; i < c->n_nodes; i++)
		node_free(c->nodes[i]);
	free(c->nodes);
	free(c->buckets);
	free(c->key_buckets);
	replay_cache_free(c->replay);
	OPENSSL_cleanse(&c->epoch, sizeof(c->epoch));
	pthread_cond_destroy(&c->cond);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

static void epoch_install(struct controller *c, const struct store_epoch *e)
{
	uint8_t prk[MESHNET_PRK_LEN], md[SHA256_DIGEST_LENGTH];

	c->epoch.id = e->id;
	c->epoch.start = e->start;
	c->epoch.expiry = e->expiry;
	memcpy(c->epoch.secret, e->secret, sizeof(e->secret));
	meshnet_epoch_prk(prk, e->secret, e->id);
	meshnet_psk_deriver_init(&c->epoch.deriver, prk);
	OPENSSL_cleanse(prk, sizeof(prk));
	SHA256(e->secret, sizeof(e->secret), md);
	meshnet_hex_encode(c->epoch.secret_hash, md, sizeof(md));
}

static void render_snapshot(struct controller *c, struct strbuf *sb)
{
	size_t i;

	for (i = 0; i < c->n_nodes; i++) {
		struct node *n = c->nodes[i];

		render_enrol_record(sb, n);
		strbuf_puts(sb, "\n");
		if (n->pin != PIN_NONE) {
			render_pin_record(sb, n);
			strbuf_puts(sb, "\n");
		}
		if (n->has_benchmark) {
			render_bench_record(sb, n);
			strbuf_puts(sb, "\n");
		}
		render_verdict_record(sb, n);
		strbuf_puts(sb, "\n");
	}
}

static int compact_locked(struct controller *c)
{
	struct strbuf sb;
	int ret;

	strbuf_init(&sb);
	render_snapshot(c, &sb);
	ret = sb.oom ? -1 : store_compact(c->store, sb.buf ? sb.buf : "", sb.len);
	strbuf_free(&sb);
	return ret;
}

static uint64_t rotate_locked(struct controller *c, int64_t now, const char *why);

/*
 * Verdicts are journaled only when they change; their words follow the
 * latest benchmark. After a load, refresh the words of every verdict the
 * rule still gives (a verdict it no longer gives waits for the next epoch).
 */
static void refresh_reasons(struct controller *c)
{
	int64_t now = now_unix();
	size_t i;

	for (i = 0; i < c->n_nodes; i++) {
		struct node *n = c->nodes[i];
		struct membership_input in = {
			.has_benchmark = n->has_benchmark, .scores = n->scores,
			.benchmark_time = n->benchmark_time, .pin = n->pin,
		};
		char reason[VERDICT_REASON_LEN];

		if (membership_evaluate(&c->rules, &in, now, reason) == n->verdict)
			snprintf(n->reason, sizeof(n->reason), "%s", reason);
	}
}

static int import_nodes_file(struct controller *c, const char *path)
{
	struct json_object *root, *arr;
	struct api_error err;
	size_t len, i, added = 0;
	char *text;

	text = meshnet_read_file(path, 256u << 20, &len);
	if (!text) {
		log_err("NODES_FILE %s: %s", path, strerror(errno));
		return -1;
	}
	root = parse_json_body(text, len, &err);
	free(text);
	if (!root) {
		log_err("NODES_FILE %s: %s", path, err.message);
		return -1;
	}
	arr = root;
	if (json_object_is_type(root, json_type_object) &&
	    !json_object_object_get_ex(root, "nodes", &arr))
		arr = NULL;
	if (!arr || !json_object_is_type(arr, json_type_array)) {
		log_err("NODES_FILE %s: expected {\"nodes\": [...]} or an array", path);
		json_object_put(root);
		return -1;
	}
	/* All or nothing: check every entry before enrolling any. */
	for (i = 0; i < json_object_array_length(arr); i++) {
		struct node tmp;

		if (parse_enrolment(json_object_array_get_idx(arr, i), &tmp, &err)) {
			log_err("NODES_FILE %s: node %zu: %s", path, i, err.message);
			json_object_put(root);
			return -1;
		}
		free(tmp.allowed_ips_json);
	}
	c->importing = true;
	for (i = 0; i < json_object_array_length(arr); i++) {
		struct json_object *o = json_object_array_get_idx(arr, i);
		const char *id = json_object_is_type(o, json_type_object) ?
				 get_string_alias(o, "node_id", "id") : NULL;

		if (id && controller_find(c, id))
			continue;	/* enrolled already: the state directory wins */
		if (controller_enrol(c, o, &err)) {
			log_err("NODES_FILE %s: node %zu: %s", path, i, err.message);
			c->importing = false;
			json_object_put(root);
			return -1;
		}
		added++;
	}
	c->importing = false;
	json_object_put(root);
	/* One sync for the whole batch: journal and audit records are on disk. */
	if (added && store_sync(c->store)) {
		log_err("NODES_FILE %s: could not sync the state directory", path);
		return -1;
	}
	log_info("Imported %zu node(s) from %s", added, path);
	return 0;
}

int controller_start(struct controller *c)
{
	struct store_epoch e;
	int ret;

	memset(&e, 0, sizeof(e));
	c->loading = true;
	ret = store_load(c->store, apply_record, c, &e);
	c->loading = false;
	if (ret < 0)
		return -1;
	if (ret == 1) {
		epoch_install(c, &e);
		log_info("Restored epoch id=%llu and %zu node(s)", (unsigned long long)e.id,
			 c->n_nodes);
	}
	OPENSSL_cleanse(&e, sizeof(e));
	refresh_reasons(c);
	if (compact_locked(c))
		return -1;
	if (*c->cfg->nodes_file && import_nodes_file(c, c->cfg->nodes_file))
		return -1;
	/* Parsing a large nodes file leaves freed heap behind: hand it back. */
	malloc_trim(0);
	pthread_mutex_lock(&c->lock);
	if (!c->epoch.id || c->epoch.expiry <= now_unix())
		rotate_locked(c, now_unix(), c->epoch.id ? "expired while down" : "first epoch");
	c->status_dirty = true;
	pthread_mutex_unlock(&c->lock);
	if (!c->epoch.id)
		return -1;
	return 0;
}

/* ---- epochs ---- */

static void notify_epoch(struct controller *c, uint64_t id)
{
	if (id && c->on_epoch)
		c->on_epoch(c->on_epoch_ctx, id);
}

static void log_node_verdict(const struct node *n)
{
	log_info("%s: membership=%s (%s)", n->id, verdict_name(n->verdict), n->reason);
}

static void record_verdict_change(struct controller *c, struct node *n, enum verdict old)
{
	struct strbuf sb;

	c->stats.verdict_changes++;
	log_node_verdict(n);
	strbuf_init(&sb);
	render_verdict_record(&sb, n);
	journal(c, &sb, false);
	strbuf_free(&sb);
	strbuf_init(&sb);
	strbuf_printf(&sb, "\"node_id\":\"%s\",\"from\":\"%s\",\"to\":\"%s\",\"reason\":",
		      n->id, verdict_name(old), verdict_name(n->verdict));
	strbuf_json_string(&sb, n->reason);
	strbuf_printf(&sb, ",\"epoch\":%llu", (unsigned long long)c->epoch.id);
	audit(c, "verdict", &sb);
	strbuf_free(&sb);
}

/* Re-evaluates n now; records and returns true if its verdict changed. */
static bool evaluate_node(struct controller *c, struct node *n, int64_t now)
{
	struct membership_input in = {
		.has_benchmark = n->has_benchmark,
		.scores = n->scores,
		.benchmark_time = n->benchmark_time,
		.pin = n->pin,
	};
	char reason[VERDICT_REASON_LEN];
	enum verdict old = n->verdict, v;

	v = membership_evaluate(&c->rules, &in, now, reason);
	if (v == old) {
		/* Keep the words current without journaling every epoch. */
		snprintf(n->reason, sizeof(n->reason), "%s", reason);
		return false;
	}
	set_verdict(c, n, v, reason, now);
	record_verdict_change(c, n, old);
	return true;
}

static uint64_t rotate_locked(struct controller *c, int64_t now, const char *why)
{
	struct store_epoch e;
	char expiry[MESHNET_RFC3339_LEN];
	struct strbuf sb;
	size_t i;

	memset(&e, 0, sizeof(e));
	e.id = c->epoch.id + 1;
	e.start = now;
	e.expiry = now + c->cfg->epoch_seconds;
	if (RAND_priv_bytes(e.secret, sizeof(e.secret)) != 1) {
		log_err("epoch rotation: the OS CSPRNG failed");
		return 0;
	}
	if (store_commit_epoch(c->store, &e)) {
		log_err("epoch rotation: could not persist epoch %llu; keeping epoch %llu",
			(unsigned long long)e.id, (unsigned long long)c->epoch.id);
		OPENSSL_cleanse(&e, sizeof(e));
		return 0;
	}
	epoch_install(c, &e);
	OPENSSL_cleanse(&e, sizeof(e));
	c->stats.rotations++;
	c->rotate_at = 0;
	meshnet_rfc3339_format(expiry, c->epoch.expiry);
	log_info("Epoch rotation: id=%llu expiry=%s (%s)", (unsigned long long)c->epoch.id,
		 expiry, why);
	for (i = 0; i < c->n_nodes; i++) {
		struct node *n = c->nodes[i];

		if (!evaluate_node(c, n, now) && c->n_nodes <= LOG_EACH_NODE_MAX)
			log_node_verdict(n);
	}
	strbuf_init(&sb);
	strbuf_printf(&sb, "\"epoch\":%llu,\"expiry\":\"%s\",\"secret_hash\":\"sha256:%s\","
		      "\"reason\":", (unsigned long long)c->epoch.id, expiry,
		      c->epoch.secret_hash);
	strbuf_json_string(&sb, why);
	strbuf_printf(&sb, ",\"allowed\":%zu,\"denied\":%zu", c->n_allowed,
		      c->n_nodes - c->n_allowed);
	audit(c, "epoch", &sb);
	strbuf_free(&sb);
	c->status_dirty = true;
	pthread_cond_broadcast(&c->cond);
	return c->epoch.id;
}

uint64_t controller_rotate(struct controller *c, const char *why)
{
	uint64_t id;

	pthread_mutex_lock(&c->lock);
	id = rotate_locked(c, now_unix(), why);
	pthread_mutex_unlock(&c->lock);
	notify_epoch(c, id);
	return id;
}

/* A verdict flip asks for a new epoch, at most one per DENY_ROTATE_INTERVAL. */
static uint64_t request_rotation_locked(struct controller *c, int64_t now, const char *why)
{
	int64_t at = c->last_deny_rotation + c->cfg->deny_rotate_interval;

	if (now >= at) {
		c->last_deny_rotation = now;
		return rotate_locked(c, now, why);
	}
	if (!c->rotate_at || c->rotate_at > at)
		c->rotate_at = at;
	pthread_cond_broadcast(&c->cond);
	return 0;
}

static void *epoch_thread_main(void *arg)
{
	struct controller *c = arg;

	pthread_mutex_lock(&c->lock);
	while (!c->stopping) {
		int64_t now = now_unix(), wake;
		uint64_t id = 0;
		struct timespec ts;

		if (now >= c->epoch.expiry) {
			id = rotate_locked(c, now, "epoch expired");
		} else if (c->rotate_at && now >= c->rotate_at) {
			c->last_deny_rotation = now;
			id = rotate_locked(c, now, "verdict changed");
		}
		if (id) {
			pthread_mutex_unlock(&c->lock);
			notify_epoch(c, id);
			pthread_mutex_lock(&c->lock);
		}
		if (c->status_dirty) {
			struct strbuf sb;

			strbuf_init(&sb);
			controller_render_status(c, &sb);
			c->status_dirty = false;
			pthread_mutex_unlock(&c->lock);
			if (!sb.oom && !store_publish_status(c->store, sb.buf, sb.len))
				log_debug("Status written to %s/status.json", c->cfg->state_dir);
			strbuf_free(&sb);
			pthread_mutex_lock(&c->lock);
		}
		if (store_journal_size(c->store) > COMPACT_JOURNAL_BYTES)
			compact_locked(c);
		wake = c->epoch.expiry;
		if (c->rotate_at && c->rotate_at < wake)
			wake = c->rotate_at;
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
		if (!c->stopping && !c->status_dirty)
			pthread_cond_timedwait(&c->cond, &c->lock, &ts);
	}
	pthread_mutex_unlock(&c->lock);
	return NULL;
}

int controller_start_epoch_thread(struct controller *c)
{
	if (pthread_create(&c->epoch_thread, NULL, epoch_thread_main, c))
		return -1;
	c->epoch_thread_started = true;
	return 0;
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
}

uint64_t controller_epoch_id(struct controller *c)
{
	uint64_t id;

	pthread_mutex_lock(&c->lock);
	id = c->epoch.id;
	pthread_mutex_unlock(&c->lock);
	return id;
}

/* ---- admin ---- */

int controller_enrol(struct controller *c, struct json_object *obj, struct api_error *err)
{
	struct node tmp, *n;
	struct strbuf sb;
	int ret = -1;

	if (parse_enrolment(obj, &tmp, err))
		return -1;
	pthread_mutex_lock(&c->lock);
	if (controller_find(c, tmp.id)) {
		api_error_set(err, 409, "exists", "node %s is enrolled already", tmp.id);
		goto out;
	}
	if (find_by_key(c, tmp.wg_public_key)) {
		api_error_set(err, 409, "duplicate_key", "node %s already has this public_key",
			      find_by_key(c, tmp.wg_public_key)->id);
		goto out;
	}
	n = malloc(sizeof(*n));
	if (!n) {
		api_error_set(err, 500, "internal", "out of memory");
		goto out;
	}
	*n = tmp;
	tmp.allowed_ips_json = NULL;
	n->last_update = now_unix();
	strbuf_init(&sb);
	render_enrol_record(&sb, n);
	if (journal(c, &sb, true)) {
		strbuf_free(&sb);
		node_free(n);
		api_error_set(err, 500, "storage", "could not persist the enrolment");
		goto out;
	}
	strbuf_free(&sb);
	if (table_insert(c, n)) {
		node_free(n);
		api_error_set(err, 500, "internal", "out of memory");
		goto out;
	}
	strbuf_init(&sb);
	strbuf_printf(&sb, "\"node_id\":\"%s\",\"public_key\":\"%s\",\"signing_key\":\"%s\","
		      "\"allowed_ips\":%s", n->id, n->wg_public_key, n->signing_key,
		      n->allowed_ips_json);
	audit(c, "enrol", &sb);
	strbuf_free(&sb);
	if (!c->loading && !c->importing)
		log_info("%s: enrolled (membership=DENIED until its first benchmark)", n->id);
	c->status_dirty = true;
	pthread_cond_broadcast(&c->cond);
	ret = 0;
out:
	pthread_mutex_unlock(&c->lock);
	free(tmp.allowed_ips_json);
	return ret;
}

int controller_remove(struct controller *c, const char *id, struct api_error *err)
{
	struct strbuf sb;
	struct node *n;
	uint64_t new_epoch;

	pthread_mutex_lock(&c->lock);
	n = controller_find(c, id);
	if (!n) {
		pthread_mutex_unlock(&c->lock);
		api_error_set(err, 404, "unknown_node", "node %s is not enrolled", id);
		return -1;
	}
	strbuf_init(&sb);
	strbuf_printf(&sb, "{\"t\":\"remove\",\"node_id\":\"%s\"}", id);
	if (journal(c, &sb, true)) {
		strbuf_free(&sb);
		pthread_mutex_unlock(&c->lock);
		api_error_set(err, 500, "storage", "could not persist the removal");
		return -1;
	}
	strbuf_free(&sb);
	strbuf_init(&sb);
	strbuf_printf(&sb, "\"node_id\":\"%s\"", id);
	audit(c, "remove", &sb);
	strbuf_free(&sb);
	log_info("%s: removed by admin", id);
	table_remove(c, n);
	/* Peers must drop it now: a new epoch without it. */
	new_epoch = rotate_locked(c, now_unix(), "node removed");
	pthread_mutex_unlock(&c->lock);
	notify_epoch(c, new_epoch);
	return 0;
}

int controller_set_pin(struct controller *c, const char *id, enum pin pin,
		       struct api_error *err)
{
	struct strbuf sb;
	struct node *n;
	uint64_t new_epoch = 0;

	pthread_mutex_lock(&c->lock);
	n = controller_find(c, id);
	if (!n) {
		pthread_mutex_unlock(&c->lock);
		api_error_set(err, 404, "unknown_node", "node %s is not enrolled", id);
		return -1;
	}
	n->pin = pin;
	strbuf_init(&sb);
	render_pin_record(&sb, n);
	if (journal(c, &sb, true)) {
		strbuf_free(&sb);
		pthread_mutex_unlock(&c->lock);
		api_error_set(err, 500, "storage", "could not persist the override");
		return -1;
	}
	strbuf_free(&sb);
	strbuf_init(&sb);
	strbuf_printf(&sb, "\"node_id\":\"%s\",\"pin\":\"%s\"", id, pin_name(pin));
	audit(c, "override", &sb);
	strbuf_free(&sb);
	log_info("%s: override %s by admin", id, pin_name(pin));
	/* Overrides win at once: a new epoch carries the new verdict. */
	new_epoch = rotate_locked(c, now_unix(), "admin override");
	pthread_mutex_unlock(&c->lock);
	notify_epoch(c, new_epoch);
	return 0;
}

/* ---- node requests ---- */

int controller_authenticate(struct controller *c, const char *path_id, const char *method,
			    const char *path_query, const char *body, size_t body_len,
			    const char *hdr_node, const char *hdr_ts, const char *hdr_nonce,
			    const char *hdr_sig, struct api_error *err)
{
	enum meshnet_verify_result vr;
	EVP_MD_CTX *vctx;
	uint8_t nonce[MESHNET_NONCE_LEN];
	int64_t now = now_unix();
	EVP_PKEY *pkey;
	struct node *n;

	if (!hdr_node || !hdr_ts || !hdr_nonce || !hdr_sig) {
		api_error_set(err, 401, "bad_signature",
			      "X-Meshnet-Node, -Timestamp, -Nonce and -Signature are required");
		goto fail;
	}
	if (!meshnet_node_id_valid(hdr_node)) {
		api_error_set(err, 401, "bad_signature", "X-Meshnet-Node is not a node id");
		goto fail;
	}
	pthread_mutex_lock(&c->lock);
	n = controller_find(c, hdr_node);
	if (!n) {
		pthread_mutex_unlock(&c->lock);
		api_error_set(err, 401, "unknown_node", "node %s is not enrolled", hdr_node);
		goto fail;
	}
	if (!n->sign_pkey)
		n->sign_pkey = meshnet_ed25519_public_from_b64(n->signing_key);
	pkey = n->sign_pkey;
	if (pkey)
		EVP_PKEY_up_ref(pkey);
	/* Check the node's verifier out; concurrent requests make their own. */
	vctx = n->verify_ctx;
	n->verify_ctx = NULL;
	pthread_mutex_unlock(&c->lock);
	if (!pkey) {
		EVP_MD_CTX_free(vctx);
		api_error_set(err, 500, "internal", "the node's signing key is unusable");
		goto fail;
	}
	vr = meshnet_verify_request_reuse(&vctx, pkey, method, path_query, body, body_len, hdr_ts,
					  hdr_nonce, hdr_sig, now, c->cfg->clock_skew);
	if (vctx) {
		/* Check it back in if the node still has that key. */
		pthread_mutex_lock(&c->lock);
		n = controller_find(c, hdr_node);
		if (n && n->sign_pkey == pkey && !n->verify_ctx) {
			n->verify_ctx = vctx;
			vctx = NULL;
		}
		pthread_mutex_unlock(&c->lock);
		EVP_MD_CTX_free(vctx);
	}
	EVP_PKEY_free(pkey);
	switch (vr) {
	case MESHNET_VERIFY_OK:
		break;
	case MESHNET_VERIFY_STALE:
		api_error_set(err, 401, "stale_request",
			      "X-Meshnet-Timestamp is outside +-%ld s of the controller's clock",
			      c->cfg->clock_skew);
		goto fail;
	case MESHNET_VERIFY_MALFORMED:
		api_error_set(err, 401, "bad_signature", "malformed X-Meshnet-* header");
		goto fail;
	default:
		api_error_set(err, 401, "bad_signature", "the request signature does not verify");
		goto fail;
	}
	if (strcmp(hdr_node, path_id)) {
		api_error_set(err, 403, "forbidden", "node %s may not act for %s", hdr_node,
			      path_id);
		goto fail;
	}
	if (meshnet_hex_decode(nonce, sizeof(nonce), hdr_nonce)) {
		api_error_set(err, 401, "bad_signature", "malformed X-Meshnet-Nonce");
		goto fail;
	}
	switch (replay_cache_check_and_add(c->replay, hdr_node, nonce, now)) {
	case REPLAY_FRESH:
		return 0;
	case REPLAY_SEEN:
		api_error_set(err, 409, "replay", "this request was seen before");
		pthread_mutex_lock(&c->lock);
		c->stats.replays++;
		pthread_mutex_unlock(&c->lock);
		return -1;
	default:
		api_error_set(err, 503, "busy", "replay cache full; retry later");
		return -1;
	}
fail:
	pthread_mutex_lock(&c->lock);
	c->stats.auth_failures++;
	pthread_mutex_unlock(&c->lock);
	return -1;
}

int controller_submit_benchmark(struct controller *c, const char *id, const char *body,
				size_t body_len, struct strbuf *out, struct api_error *err)
{
	struct membership_input in;
	char reason[VERDICT_REASON_LEN];
	struct json_object *obj;
	struct benchmark b;
	int64_t now = now_unix();
	uint64_t new_epoch = 0;
	struct node *n, next;
	struct strbuf sb;
	enum verdict v;
	int ret;

	obj = parse_json_body(body, body_len, err);
	if (!obj)
		return -1;
	ret = parse_benchmark(obj, id, now, c->cfg->clock_skew, &b, err);
	json_object_put(obj);
	if (ret)
		return -1;

	pthread_mutex_lock(&c->lock);
	n = controller_find(c, id);
	if (!n) {	/* removed since authentication */
		pthread_mutex_unlock(&c->lock);
		api_error_set(err, 401, "unknown_node", "node %s is not enrolled", id);
		return -1;
	}
	/* Persist first: a benchmark that cannot be journaled changes nothing. */
	next = *n;
	next.has_benchmark = true;
	next.scores = b.scores;
	next.benchmark_time = b.time < now ? b.time : now;
	next.benchmark_received = now;
	memcpy(next.suite_version, b.suite_version, sizeof(b.suite_version));
	strbuf_init(&sb);
	render_bench_record(&sb, &next);
	if (journal(c, &sb, false)) {
		strbuf_free(&sb);
		pthread_mutex_unlock(&c->lock);
		api_error_set(err, 500, "storage", "could not persist the benchmark");
		return -1;
	}
	strbuf_free(&sb);
	n->has_benchmark = true;
	n->scores = next.scores;
	n->benchmark_time = next.benchmark_time;
	n->benchmark_received = now;
	n->last_update = now;
	memcpy(n->suite_version, next.suite_version, sizeof(next.suite_version));
	c->stats.benchmarks_accepted++;

	in = (struct membership_input){ .has_benchmark = true, .scores = n->scores,
					.benchmark_time = n->benchmark_time, .pin = n->pin };
	v = membership_evaluate(&c->rules, &in, now, reason);
	if (v == n->verdict) {
		snprintf(n->reason, sizeof(n->reason), "%s", reason);
	} else {
		if (v == VERDICT_DENIED) {
			/* Quarantine now: the verdict, then a new epoch (rate-limited). */
			set_verdict(c, n, v, reason, now);
			record_verdict_change(c, n, VERDICT_ALLOWED);
			new_epoch = request_rotation_locked(c, now, "node denied");
		} else {
			/* Admission comes with the next (rate-limited) epoch. */
			new_epoch = request_rotation_locked(c, now, "node qualifies");
		}
		c->status_dirty = true;
	}
	strbuf_printf(out, "{\"accepted\":true,\"membership\":\"%s\",\"reason\":",
		      verdict_name(n->verdict));
	strbuf_json_string(out, n->reason);
	strbuf_printf(out, ",\"epoch\":%llu}", (unsigned long long)c->epoch.id);
	pthread_mutex_unlock(&c->lock);
	notify_epoch(c, new_epoch);
	return 0;
}
