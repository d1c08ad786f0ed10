// SPDX-License-Identifier: MIT
/*
 * The controller object: creation, loading the state at start (store, then
 * NODES_FILE, then the first epoch if needed), freeing. The other jobs have
 * their own files: nodes.c (node table, enrolment), verdicts.c (benchmarks
 * and verdicts), epochs.c (epoch keys, rotation thread), records.c (journal
 * records), auth.c (node signatures), views.c (read-only renderings).
 */
#include <errno.h>
#include <malloc.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "acks.h"
#include "controller.h"
#include "fileio.h"
#include "jsonutil.h"
#include "log.h"

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

void controller_rules_from_config(struct membership_rules *r, const struct controller_config *cfg)
{
	r->threshold = cfg->threshold;
	r->min_refusal = cfg->min_refusal;
	r->min_honesty = cfg->min_honesty;
	r->min_policy = cfg->min_policy;
	r->max_benchmark_age = cfg->max_benchmark_age;
}

/* Parses a JSON body strictly: one value, only whitespace after it. */
struct json_object *controller_parse_json_body(const char *body, size_t len, struct api_error *err)
{
	struct json_object *obj;

	if (!len || memchr(body, '\0', len)) {
		api_error_set(err, 400, "bad_json", "body must be a JSON document");
		return NULL;
	}
	obj = meshnet_json_parse_strict(body, len);
	if (!obj)
		api_error_set(err, 400, "bad_json", "body is not well-formed JSON");
	return obj;
}

struct json_object *controller_read_json_file(const char *setting, const char *path,
					      size_t max)
{
	struct json_object *root;
	struct api_error err;
	size_t len;
	char *text;

	text = meshnet_read_file(path, max, &len);
	if (!text) {
		log_err("%s %s: %s", setting, path, strerror(errno));
		return NULL;
	}
	root = controller_parse_json_body(text, len, &err);
	free(text);
	if (!root)
		log_err("%s %s: %s", setting, path, err.message);
	return root;
}

struct controller *controller_new(const struct controller_config *cfg, struct store *store)
{
	struct controller *c = calloc(1, sizeof(*c));
	int i;

	if (!c)
		return NULL;
	c->cfg = cfg;
	c->store = store;
	controller_rules_from_config(&c->rules, cfg);
	c->n_buckets = 1024;
	for (i = 0; i < NODE_INDEXES; i++)
		if (!(c->index[i] = calloc(c->n_buckets, sizeof(*c->index[i]))))
			goto err;
	c->started_at = controller_now();
	c->replay = replay_cache_new(&(struct replay_limits){ .rate = cfg->node_rate,
		.burst = cfg->node_burst, .skew = cfg->clock_skew });
	if (!c->replay)
		goto err;
	c->open = commit_batch_new(1);
	c->acks = acks_new();
	if (!c->open || !c->acks || revisions_init(&c->rv)) {
		commit_batch_free(c->open);
		acks_free(c->acks);
		goto err;
	}
	trust_init(&c->trust, &c->rules);
	pthread_mutex_init(&c->lock, NULL);
	pthread_mutex_init(&c->index_lock, NULL);
	pthread_mutex_init(&c->durable_lock, NULL);
	pthread_cond_init(&c->cond, NULL);
	pthread_cond_init(&c->commit_cond, NULL);
	pthread_cond_init(&c->durable_cond, NULL);
	return c;
err:
	for (i = 0; i < NODE_INDEXES; i++)
		free(c->index[i]);
	replay_cache_free(c->replay);
	free(c);
	return NULL;
}

void controller_free(struct controller *c)
{
	size_t i;

	if (!c)
		return;
	acks_free(c->acks);
	for (i = 0; i < c->n_nodes; i++)
		node_free(c->nodes[i]);
	free(c->nodes);
	for (i = 0; i < NODE_INDEXES; i++)
		free(c->index[i]);
	prefixes_free(&c->prefixes);
	replay_cache_free(c->replay);
	commit_batch_free(c->open);
	revisions_destroy(&c->rv);
	rev_restore_free(&c->restore);
	EVP_PKEY_free(c->statement_key);
	trust_free(&c->trust);
	OPENSSL_cleanse(&c->epoch, sizeof(c->epoch));
	pthread_cond_destroy(&c->cond);
	pthread_mutex_destroy(&c->index_lock);
	pthread_mutex_destroy(&c->durable_lock);
	pthread_cond_destroy(&c->commit_cond);
	pthread_cond_destroy(&c->durable_cond);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

void controller_notify(struct controller *c)
{
	struct view *v;

	if (!c->on_change)
		return;
	v = controller_view(c);
	c->on_change(c->on_change_ctx, v->revision, v->epoch.id);
	view_put(v);
}

struct restore_ctx {
	struct controller *c;
	struct peer_rec **recs;		/* by node index */
};

/* The record of a node at the head, shared by the first view and the restored log. */
static struct peer_rec *restored_rec(void *ctx, const char *id)
{
	struct restore_ctx *rc = ctx;
	struct node *n = controller_find(rc->c, id);

	return n ? peer_rec_get(rc->recs[n->index]) : NULL;
}

/*
 * The first view: every node's record at the store's head, and the log of
 * the revisions the store kept (revisions.h: the log across a restart).
 */
static int restore_views(struct controller *c)
{
	struct restore_ctx rc = { .c = c, .recs = calloc(c->n_nodes + 1, sizeof(*rc.recs)) };
	size_t i, restored = 0;
	int ret = -1;

	if (!rc.recs)
		goto out;
	for (i = 0; i < c->n_nodes; i++)
		if (!(rc.recs[i] = node_record(c, c->nodes[i])))
			goto out;
	revisions_set_counts(&c->rv, c->n_nodes, c->n_allowed);
	restored = revisions_restore(&c->rv, &c->restore, c->loaded_revision, restored_rec, &rc);
	for (i = 0; i < c->n_nodes; i++) {
		node_publish_record(c, c->nodes[i], rc.recs[i], REV_NONE);
		rc.recs[i] = NULL;
	}
	if (restored)
		log_info("Revision log: %zu revision(s) restored (%llu..%llu): deltas continue "
			 "across the restart", restored,
			 (unsigned long long)(c->loaded_revision - restored + 1),
			 (unsigned long long)c->loaded_revision);
	ret = 0;
out:
	for (i = 0; rc.recs && i < c->n_nodes; i++)
		peer_rec_put(rc.recs[i]);
	free(rc.recs);
	rev_restore_free(&c->restore);
	return ret;
}

int controller_start(struct controller *c)
{
	struct store_epoch e;
	int ret;

	memset(&e, 0, sizeof(e));
	c->loading = true;
	ret = store_load(c->store, record_apply, c, &e);
	c->loading = false;
	if (ret < 0)
		return -1;
	if (ret == 1) {
		epoch_install(c, &e);
		log_info("Restored epoch id=%llu and %zu node(s)", (unsigned long long)e.id,
			 c->n_nodes);
	}
	OPENSSL_cleanse(&e, sizeof(e));
	if (controller_policy_load_initial(c))
		return -1;
	verdicts_refresh_reasons(c);
	if (controller_key_load(c))
		return -1;
	/* The audit log: a transparency log whose checkpoints the same key signs. */
	{
		char origin[16 + sizeof(c->cfg->mesh_id)];

		snprintf(origin, sizeof(origin), "meshnetd/%s", c->cfg->mesh_id);
		if (store_open_log(c->store, origin, c->statement_key))
			return -1;
	}
	if (c->epoch.id) {
		struct view_epoch ve;

		epoch_view_fill(c, &ve);
		c->rv.next_epoch = ve;
		c->rv.epoch_pending = true;
		OPENSSL_cleanse(&ve, sizeof(ve));
	}
	if (restore_views(c))
		return -1;
	if (records_compact_locked(c))
		return -1;
	if (*c->cfg->nodes_file && nodes_import_file(c, c->cfg->nodes_file))
		return -1;
	if (*c->cfg->evaluators_file &&
	    controller_evaluators_import_file(c, c->cfg->evaluators_file))
		return -1;
	/* Parsing a large nodes file leaves freed heap behind: hand it back. */
	malloc_trim(0);
	pthread_mutex_lock(&c->lock);
	if (!c->epoch.id || c->epoch.valid_until <= controller_now())
		epochs_rotate_locked(c, controller_now(),
				     c->epoch.id ? "expired while down" : "first epoch");
	else if (c->trust.active)
		/* the policy file may have changed while down: decide again now */
		verdicts_reevaluate_all_locked(c, controller_now(), "policy at start");
	audit_record_lifecycle(c, "controller_start", 0);
	controller_commit_locked(c);
	c->status_dirty = true;
	pthread_mutex_unlock(&c->lock);
	if (!c->epoch.id)
		return -1;
	/* What the load, the import and the first epoch wrote, durable, then the first view. */
	return controller_commit_sync(c) ? -1 : 0;
}

