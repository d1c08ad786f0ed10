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
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "audit.h"
#include "audit_verify.h"
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

/* Removes an export directory (its files, then itself). */
static void remove_export(const char *dir)
{
	static const char *const prefixes[] = { "records-", "hashes-" };
	char path[PATH_MAX];
	unsigned int k, seg;

	for (k = 0; k < 2; k++)
		for (seg = 0; seg < 4096; seg++) {
			snprintf(path, sizeof(path), "%s/%s%06u%s", dir, prefixes[k], seg,
				 k ? "" : ".jsonl");
			if (unlink(path))
				break;
		}
	snprintf(path, sizeof(path), "%s/checkpoint", dir);
	unlink(path);
	rmdir(dir);
}

/* Exports the database's log into a temporary directory (removed by the caller). */
static int export_tmp(struct store *st, char dir[PATH_MAX], uint64_t *records, char *msg,
		      size_t msg_len)
{
	const char *tmp = getenv("TMPDIR");

	snprintf(dir, PATH_MAX, "%s/meshnetd-log-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(dir)) {
		snprintf(msg, msg_len, "%s: %s", dir, strerror(errno));
		return STORE_ERROR;
	}
	return store_pg_log_export(st, dir, records, msg, msg_len);
}

/* The v1 chain in the database, if any: intact and ending at its head. */
static int chain_check(struct store *st, uint64_t want, char *msg, size_t msg_len)
{
	char last[AUDIT_HASH_HEX], head[65];
	uint64_t records = 0, next, head_n = 0;
	struct strbuf sb;
	int ret = -1;

	strbuf_init(&sb);
	if (!store_pg_audit_dump(st, collect_line, &sb) &&
	    !audit_verify_buffer(sb.buf ? sb.buf : "", sb.len, &records, last, &next, msg,
				 msg_len) &&
	    (want == UINT64_MAX || records == want) && !store_pg_chain_head(st, head, &head_n) &&
	    head_n == records && (!records || !strcmp(head, last)))
		ret = 0;
	else if (!*msg)
		snprintf(msg, msg_len, "the chain head (%llu records) is not its last record (%llu)",
			 (unsigned long long)head_n, (unsigned long long)records);
	strbuf_free(&sb);
	return ret;
}

/* The database's tree: the source's records, the same root. */
static int tlog_check(struct store *dst, const struct audit_log *src, char *msg, size_t msg_len)
{
	struct audit_log back;
	char dir[PATH_MAX];
	uint8_t a[TLOG_HASH_LEN], b[TLOG_HASH_LEN];
	uint64_t n = 0;
	int ret = -1;

	if (export_tmp(dst, dir, &n, msg, msg_len)) {
		remove_export(dir);
		return -1;
	}
	if (audit_log_load(dir, &back, stderr)) {
		snprintf(msg, msg_len, "the exported log does not read back");
	} else {
		tlog_frontier_root(&src->f, a);
		tlog_frontier_root(&back.f, b);
		if (back.n != src->n || memcmp(a, b, TLOG_HASH_LEN))
			snprintf(msg, msg_len, "%llu record(s) arrived of %llu, or the tree differs",
				 (unsigned long long)back.n, (unsigned long long)src->n);
		else
			ret = 0;
		audit_log_free(&back);
	}
	remove_export(dir);
	return ret;
}

/*
 * STATE_DIR/tlog as it is on disk: every record, and the records hash to
 * its checkpoint's root (nothing altered since it was signed).
 */
static int read_source_tlog(const char *dir, struct audit_log *log, struct strbuf *lines)
{
	struct tlog_hash_reader r;
	char path[PATH_MAX];
	uint8_t root[TLOG_HASH_LEN];
	struct stat sb;
	uint64_t i;

	memset(log, 0, sizeof(*log));
	snprintf(path, sizeof(path), "%s/tlog", dir);
	if (stat(path, &sb))
		return 0;	/* none: a v1 state directory */
	if (audit_log_load(path, log, stderr))
		return -1;
	r = audit_log_reader(log);
	if (log->n && (!log->has_checkpoint || log->cp.size > log->n ||
		       tlog_tree_hash(&r, log->cp.size, root) ||
		       memcmp(root, log->cp.root, TLOG_HASH_LEN))) {
		log_err("migrate: %s: the records do not hash to its checkpoint: the log is "
			"damaged (see meshnetd audit-verify %s)", path, dir);
		return -1;
	}
	for (i = 0; i < log->n; i++) {
		strbuf_append(lines, log->records[i], log->lens[i]);
		strbuf_append(lines, "\n", 1);
	}
	return lines->oom ? -1 : 0;
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
	struct strbuf snap, tlog_lines;
	struct audit_log src_log;
	int has_epoch, has_epoch2, ret = 1;

	memset(&src_log, 0, sizeof(src_log));
	strbuf_init(&tlog_lines);

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
	 * copied leaf for leaf: the database holds the same tree) and a v1
	 * chain audit.jsonl if there is one (kept in audit_records; the tree's
	 * first leaf commits to it, or, if the tree is empty, will).
	 */
	if (read_source_tlog(dir, &src_log, &tlog_lines))
		goto out;
	snprintf(audit_path, sizeof(audit_path), "%s/audit.jsonl", dir);
	audit = meshnet_read_file(audit_path, MIGRATE_MAX_AUDIT, &audit_len);
	if (!audit && errno == ENOENT)
		audit = strdup("");
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
			    audit, audit_len, tlog_lines.buf, tlog_lines.len,
			    src_log.checkpoint_note, src_log.checkpoint_note ? src_log.checkpoint_len : 0)) {
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
	*msg = '\0';
	if (chain_check(dst, audit_records, msg, sizeof(msg))) {
		log_err("migrate: the audit chain in the database does not verify: %s", msg);
		goto out;
	}
	if (tlog_check(dst, &src_log, msg, sizeof(msg))) {
		log_err("migrate: the transparency log in the database is not the source's: %s",
			msg);
		goto out;
	}
	for (i = 0; i < src_c->n_nodes; i++)
		allowed += src_c->nodes[i]->verdict == VERDICT_ALLOWED;
	printf("migrated %zu node(s) (%zu ALLOWED, %zu DENIED), epoch %llu, %llu audit "
	       "record(s) and %llu v1 chain record(s) from %s; read back and checked; the "
	       "audit log is intact\n",
	       src_c->n_nodes, allowed, src_c->n_nodes - allowed,
	       has_epoch == 1 ? (unsigned long long)e.id : 0ull,
	       (unsigned long long)src_log.n, (unsigned long long)audit_records, dir);
	ret = 0;
out:
	OPENSSL_cleanse(&e, sizeof(e));
	OPENSSL_cleanse(&e2, sizeof(e2));
	free(audit);
	audit_log_free(&src_log);
	strbuf_free(&tlog_lines);
	controller_free(dst_c);
	controller_free(src_c);
	store_close(dst);
	store_close(src);
	return ret;
}

int store_audit_verify_url(const char *url, const char *key_spec)
{
	struct store *st;
	char msg[256], dir[PATH_MAX] = "";
	uint64_t records = 0;
	int ret = 2, err;

	if (!key_spec) {
		fprintf(stderr, "meshnetd audit-verify: a database log is checked against the "
			"controller's public key: name it with --key (controller.pub)\n");
		return 2;
	}
	store_pg_set_options(&(struct store_pg_options){ .without_key = true, .pool_size = 1 });
	st = store_open(url);
	if (!st)
		return 2;
	*msg = '\0';
	err = export_tmp(st, dir, &records, msg, sizeof(msg));
	if (err == 1) {
		printf("database audit log: BROKEN: %s\n", msg);
		ret = 1;
	} else if (err) {
		fprintf(stderr, "meshnetd audit-verify: cannot read the audit log: %s\n", msg);
	} else {
		printf("database audit log: %llu record(s), exported to %s\n",
		       (unsigned long long)records, dir);
		ret = audit_verify_dir(dir, key_spec, stdout);
		*msg = '\0';
		if (ret != 2 && chain_check(st, UINT64_MAX, msg, sizeof(msg))) {
			printf("database v1 audit chain: BROKEN at %s\n", msg);
			ret = 1;
		}
	}
	if (*dir)
		remove_export(dir);
	store_close(st);
	return ret;
}

int store_audit_export_main(int argc, char **argv)
{
	struct store *st;
	char msg[256] = "";
	uint64_t records = 0;
	int err;

	if (argc != 3 || !strstr(argv[1], "://")) {
		fprintf(stderr, "usage: meshnetd audit export postgres://... DIR\n"
			"writes the database's audit log as a log directory (records, stored "
			"hashes, checkpoint) for meshnetd audit-verify DIR --key controller.pub\n");
		return 2;
	}
	if (!access(argv[2], F_OK)) {
		fprintf(stderr, "meshnetd audit export: %s exists: name a new directory\n", argv[2]);
		return 2;
	}
	store_pg_set_options(&(struct store_pg_options){ .without_key = true, .pool_size = 1 });
	st = store_open(argv[1]);
	if (!st)
		return 2;
	err = store_pg_log_export(st, argv[2], &records, msg, sizeof(msg));
	store_close(st);
	if (err) {
		fprintf(stderr, "meshnetd audit export: %s\n", msg);
		return err == 1 ? 1 : 2;
	}
	printf("exported %llu audit record(s) to %s\n", (unsigned long long)records, argv[2]);
	return 0;
}
