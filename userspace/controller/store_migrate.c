// SPDX-License-Identifier: MIT
/*
 * meshnetd migrate dir:/var/lib/meshnetd postgres://... [--FLAG VALUE]...
 *
 * Copies a state directory into an empty PostgreSQL database in one
 * transaction: every node with its keys, pin, newest benchmark and verdict
 * (as the compacted records the controller itself writes), the current
 * epoch (sealed under STORE_KEY_FILE) and the audit log, whose chain the
 * database continues. Then loads the database back into a second
 * controller state and checks that every node and verdict arrived and the
 * chain verifies. The state directory is left as it was (and locked while
 * this runs: stop its meshnetd first).
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "audit.h"
#include "store_dir_tlog.h"
#include "controller.h"
#include "fileio.h"
#include "log.h"
#include "store.h"
#include "store_migrate.h"
#include "store_pg.h"
#include "strbuf.h"

#define MIGRATE_MAX_AUDIT (1ul << 30)

static void migrate_usage(void)
{
	printf("usage: meshnetd migrate FROM TO [--FLAG VALUE]...\n\n"
	       "Copies a state directory (FROM: dir:/path or a path) into an empty\n"
	       "PostgreSQL database (TO: postgres://...): every node, verdict and\n"
	       "benchmark, the current epoch (sealed under STORE_KEY_FILE, which every\n"
	       "controller on that database then needs) and the audit log, in one\n"
	       "transaction; then checks what arrived. Stop the meshnetd on FROM first.\n"
	       "Flags as for serving (--store-key-file, --config, ...).\n");
}

/* Loads a store into a fresh controller state (records only, no epoch thread). */
static struct controller *load_state(const struct controller_config *cfg, struct store *st,
				     struct store_epoch *e, int *has_epoch)
{
	struct controller *c = controller_new(cfg, st);

	if (!c)
		return NULL;
	memset(e, 0, sizeof(*e));
	c->loading = true;
	*has_epoch = store_load(st, record_apply, c, e);
	c->loading = false;
	if (*has_epoch < 0) {
		controller_free(c);
		return NULL;
	}
	return c;
}

static int same_nodes(struct controller *a, struct controller *b)
{
	size_t i, bad = 0;

	if (a->n_nodes != b->n_nodes) {
		log_err("migrate: %zu node(s) in the state directory, %zu in the database",
			a->n_nodes, b->n_nodes);
		return -1;
	}
	for (i = 0; i < a->n_nodes; i++) {
		const struct node *n = a->nodes[i], *m = controller_find(b, n->id);

		if (!m || m->verdict != n->verdict || m->pin != n->pin ||
		    strcmp(m->wg_public_key, n->wg_public_key) ||
		    strcmp(m->signing_key, n->signing_key) || m->has_benchmark != n->has_benchmark) {
			log_err("migrate: node %s did not arrive as it was", n->id);
			bad++;
		}
	}
	return bad ? -1 : 0;
}

static int collect_line(void *ctx, const char *rec, size_t len)
{
	struct strbuf *sb = ctx;

	strbuf_append(sb, rec, len);
	strbuf_append(sb, "\n", 1);
	return sb->oom ? -1 : 0;
}

static int audit_check(struct store *dst, uint64_t want, char *msg, size_t msg_len)
{
	char last[AUDIT_HASH_HEX], head[65];
	uint64_t records = 0, next, head_n = 0;
	struct strbuf sb;
	int ret = -1;

	strbuf_init(&sb);
	if (!store_pg_audit_dump(dst, collect_line, &sb) &&
	    !audit_verify_buffer(sb.buf ? sb.buf : "", sb.len, &records, last, &next, msg,
				 msg_len) &&
	    records == want && !store_pg_audit_head(dst, head, &head_n) && head_n == records &&
	    !strcmp(head, last))
		ret = 0;
	strbuf_free(&sb);
	return ret;
}

int store_migrate_main(int argc, char **argv)
{
	struct controller_config cfg;
	struct controller *src_c = NULL, *dst_c = NULL;
	struct store *src = NULL, *dst = NULL;
	struct store_epoch e, e2;
	char audit_path[PATH_MAX], msg[256];
	const char *from, *to, *dir;
	char *audit = NULL;
	size_t audit_len = 0, allowed = 0, i;
	uint64_t audit_records = 0, next;
	struct strbuf snap;
	int has_epoch, has_epoch2, ret = 1;

	if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		migrate_usage();
		return 0;
	}
	if (argc < 3) {
		fprintf(stderr, "usage: meshnetd migrate FROM TO [--FLAG VALUE]... (see --help)\n");
		return 2;
	}
	from = argv[1];
	to = argv[2];
	if (strncmp(to, "postgres://", 11) && strncmp(to, "postgresql://", 13)) {
		fprintf(stderr, "meshnetd migrate: TO must be postgres://... (got '%.40s')\n", to);
		return 2;
	}
	dir = !strncmp(from, "dir:", 4) ? from + 4 : from;
	if (strstr(from, "://")) {
		fprintf(stderr, "meshnetd migrate: FROM must be a state directory (dir:/path)\n");
		return 2;
	}
	if (controller_config_load(&cfg, argc - 3, argv + 3))
		return 2;
	meshnet_log_init("migrate", cfg.verbose ? MESHNET_LOG_DEBUG : MESHNET_LOG_INFO);

	src = store_open(dir);
	if (!src)
		return 1;
	src_c = load_state(&cfg, src, &e, &has_epoch);
	if (!src_c)
		goto out;
	/*
	 * The audit log as it is on disk: the transparency log (STATE_DIR/tlog,
	 * each record checked against its stored hash, re-chained for the
	 * database), or a v1 chain audit.jsonl.
	 */
	ret = store_dir_log_export_chain(dir, &audit, &audit_len, &audit_records, msg, sizeof(msg));
	if (ret < 0) {
		log_err("migrate: %s/tlog is damaged: %s", dir, msg);
		ret = 1;
		goto out;
	}
	ret = 1;
	snprintf(audit_path, sizeof(audit_path), "%s/audit.jsonl", dir);
	if (!audit)
		audit = meshnet_read_file(audit_path, MIGRATE_MAX_AUDIT, &audit_len);
	if (!audit || (audit_len && audit_verify_buffer(audit, audit_len, &audit_records, NULL,
							&next, msg, sizeof(msg)))) {
		log_err("migrate: %s: %s", audit_path, audit ? msg : strerror(errno));
		goto out;
	}
	strbuf_init(&snap);
	records_render_snapshot(src_c, &snap);
	if (snap.oom) {
		strbuf_free(&snap);
		goto out;
	}

	store_pg_set_options(&(struct store_pg_options){ .key_file = cfg.store_key_file,
							 .pool_size = 2 });
	dst = store_open(to);
	if (!dst) {
		strbuf_free(&snap);
		goto out;
	}
	if (store_pg_import(dst, snap.buf ? snap.buf : "", snap.len, has_epoch == 1 ? &e : NULL,
			    audit, audit_len)) {
		log_err("migrate: nothing was written");
		strbuf_free(&snap);
		goto out;
	}
	strbuf_free(&snap);

	/* Read it back as a controller on the database will. */
	dst_c = load_state(&cfg, dst, &e2, &has_epoch2);
	if (!dst_c || same_nodes(src_c, dst_c) || has_epoch2 != has_epoch ||
	    (has_epoch == 1 && (e2.id != e.id || e2.expiry != e.expiry ||
				CRYPTO_memcmp(e2.secret, e.secret, sizeof(e.secret))))) {
		log_err("migrate: the database does not read back as the state directory");
		goto out;
	}
	if (audit_check(dst, audit_records, msg, sizeof(msg))) {
		log_err("migrate: the audit chain in the database does not verify: %s", msg);
		goto out;
	}
	for (i = 0; i < src_c->n_nodes; i++)
		allowed += src_c->nodes[i]->verdict == VERDICT_ALLOWED;
	printf("migrated %zu node(s) (%zu ALLOWED, %zu DENIED), epoch %llu, %llu audit "
	       "record(s) from %s; read back and checked; the audit chain is intact\n",
	       src_c->n_nodes, allowed, src_c->n_nodes - allowed,
	       has_epoch == 1 ? (unsigned long long)e.id : 0ull,
	       (unsigned long long)audit_records, dir);
	ret = 0;
out:
	OPENSSL_cleanse(&e, sizeof(e));
	OPENSSL_cleanse(&e2, sizeof(e2));
	free(audit);
	controller_free(dst_c);
	controller_free(src_c);
	store_close(dst);
	store_close(src);
	return ret;
}

int store_audit_verify_url(const char *url)
{
	struct store *st;
	char msg[256], last[AUDIT_HASH_HEX], head[65];
	uint64_t records = 0, next, head_n = 0;
	struct strbuf sb;
	int ret = 2;

	store_pg_set_options(&(struct store_pg_options){ .without_key = true, .pool_size = 1 });
	st = store_open(url);
	if (!st)
		return 2;
	strbuf_init(&sb);
	if (store_pg_audit_dump(st, collect_line, &sb) || sb.oom ||
	    store_pg_audit_head(st, head, &head_n)) {
		fprintf(stderr, "meshnetd audit-verify: cannot read the audit log\n");
	} else if (audit_verify_buffer(sb.buf ? sb.buf : "", sb.len, &records, last, &next, msg,
				       sizeof(msg))) {
		printf("database audit log: BROKEN at %s\n", msg);
		ret = 1;
	} else if (head_n != records || (records && strcmp(head, last))) {
		printf("database audit log: BROKEN: the head (%llu records) is not the last "
		       "record (%llu)\n", (unsigned long long)head_n, (unsigned long long)records);
		ret = 1;
	} else {
		printf("database audit log: OK, %s\n", msg);
		ret = 0;
	}
	strbuf_free(&sb);
	store_close(st);
	return ret;
}
