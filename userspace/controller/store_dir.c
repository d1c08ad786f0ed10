// SPDX-License-Identifier: MIT
/*
 * The state-directory storage backend (store.h): JSON-lines journal and
 * snapshot, epoch.json (0600), the audit log (a transparency log in tlog/,
 * store_dir_tlog.c), status.json. One meshnetd per directory (flock).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "audit.h"
#include "b64.h"
#include "fileio.h"
#include "log.h"
#include "sign.h"
#include "store.h"
#include "store_pg.h"
#include "store_dir_tlog.h"
#include "strbuf.h"

#define STORE_MAX_FILE (1ul << 30)

struct store_dir {
	struct store base;
	char dir[PATH_MAX - 32];
	pthread_mutex_t lock;		/* journal appends */
	int lock_fd;			/* flock: one meshnetd per state directory */
	int journal_fd;
	size_t journal_size;
	struct tlog_store *log;		/* the audit log (store_dir_log_open) */
};

/* The dir backend's state behind a struct store (a caller bug otherwise). */
static struct store_dir *dir_of(struct store *s)
{
	if (s->backend != &store_dir_backend) {
		log_err("state-directory call on a %s store", s->backend->scheme);
		abort();
	}
	return (struct store_dir *)((char *)s - offsetof(struct store_dir, base));
}

static void store_path(const struct store_dir *st, char *out, const char *name)
{
	snprintf(out, PATH_MAX, "%s/%s", st->dir, name);
}

static int write_all(int fd, const char *p, size_t len)
{
	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int open_append(const struct store_dir *st, const char *name)
{
	char path[PATH_MAX];

	store_path(st, path, name);
	return open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
}

/*
 * A torn last line (a write cut short by a crash: never acknowledged, since
 * replies wait for fdatasync) is cut off, with a log line, so that appends
 * continue on a line boundary. *len is updated.
 */
static int repair_torn_tail(int fd, const char *path, const char *text, size_t *len)
{
	size_t keep = *len;

	while (keep && text[keep - 1] != '\n')
		keep--;
	if (keep == *len)
		return 0;
	if (ftruncate(fd, (off_t)keep) || fdatasync(fd)) {
		log_err("%s: cannot cut off a torn last record: %s", path, strerror(errno));
		return -1;
	}
	log_warn("%s: repaired a torn last record (%zu bytes cut off; it was never acknowledged)",
		 path, *len - keep);
	*len = keep;
	return 0;
}

static int repair_file(int fd, const struct store_dir *st, const char *name)
{
	char path[PATH_MAX];
	size_t len;
	char *text;
	int ret;

	store_path(st, path, name);
	text = meshnet_read_file(path, STORE_MAX_FILE, &len);
	if (!text)
		return -1;
	ret = repair_torn_tail(fd, path, text, &len);
	free(text);
	return ret;
}

static struct store *dir_open(const char *dir)
{
	struct store_dir *st = calloc(1, sizeof(*st));

	if (!st)
		return NULL;
	st->base.backend = &store_dir_backend;
	if (strlen(dir) >= sizeof(st->dir)) {
		log_err("state directory %s: name too long", dir);
		goto err_free;
	}
	strcpy(st->dir, dir);
	if (mkdir(dir, 0700) && errno != EEXIST) {
		log_err("state directory %s: %s", dir, strerror(errno));
		goto err_free;
	}
	pthread_mutex_init(&st->lock, NULL);
	st->journal_fd = -1;
	st->lock_fd = open_append(st, "lock");
	if (st->lock_fd < 0 || flock(st->lock_fd, LOCK_EX | LOCK_NB)) {
		log_err("state directory %s: %s", dir, errno == EWOULDBLOCK ?
			"in use by another meshnetd" : strerror(errno));
		goto err_close;
	}
	st->journal_fd = open_append(st, "journal.jsonl");
	if (st->journal_fd < 0) {
		log_err("state directory %s: %s", dir, strerror(errno));
		goto err_close;
	}
	if (repair_file(st->journal_fd, st, "journal.jsonl"))
		goto err_close;
	st->journal_size = (size_t)lseek(st->journal_fd, 0, SEEK_END);
	return &st->base;

err_close:
	if (st->journal_fd >= 0)
		close(st->journal_fd);
	if (st->lock_fd >= 0)
		close(st->lock_fd);
	pthread_mutex_destroy(&st->lock);
err_free:
	free(st);
	return NULL;
}

static void dir_close(struct store *s)
{
	struct store_dir *st = dir_of(s);

	tlog_store_close(st->log);
	close(st->journal_fd);
	close(st->lock_fd);
	pthread_mutex_destroy(&st->lock);
	free(st);
}

static int replay_lines(const char *path, const char *text, size_t len, store_record_fn apply,
			void *ctx)
{
	const char *p = text, *end = text + len;
	int lineno = 0;

	while (p < end) {
		const char *nl = memchr(p, '\n', end - p);
		struct json_tokener *tok;
		struct json_object *rec;
		size_t line_len;

		lineno++;
		if (!nl) {
			log_warn("%s:%d: ignoring a torn last record", path, lineno);
			break;
		}
		line_len = (size_t)(nl - p);
		tok = json_tokener_new();
		if (!tok)
			return -1;
		rec = json_tokener_parse_ex(tok, p, (int)line_len);
		json_tokener_free(tok);
		if (!rec || !json_object_is_type(rec, json_type_object)) {
			json_object_put(rec);
			log_err("%s:%d: not a JSON record", path, lineno);
			return -1;
		}
		if (apply(ctx, rec)) {
			json_object_put(rec);
			log_err("%s:%d: record refused", path, lineno);
			return -1;
		}
		json_object_put(rec);
		p = nl + 1;
	}
	return 0;
}

static int load_epoch(struct store_dir *st, struct store_epoch *e)
{
	struct json_object *obj, *v;
	char path[PATH_MAX], *text;
	size_t len;
	int ret = -1;

	store_path(st, path, "epoch.json");
	if (meshnet_read_secret_file(path, 4096, &text, &len)) {
		if (errno == ENOENT)
			return 0;
		log_err("%s: %s", path, strerror(errno));
		return -1;
	}
	obj = json_tokener_parse(text);
	meshnet_free_secret(text, len + 1);
	if (!obj)
		goto out;
	if (!json_object_object_get_ex(obj, "id", &v))
		goto out;
	e->id = (uint64_t)json_object_get_int64(v);
	if (!json_object_object_get_ex(obj, "start", &v))
		goto out;
	e->start = json_object_get_int64(v);
	if (!json_object_object_get_ex(obj, "expiry", &v))
		goto out;
	e->expiry = json_object_get_int64(v);
	/* v1 files have neither: the lease was the expiry, no revision */
	e->valid_until = json_object_object_get_ex(obj, "valid_until", &v) ?
			 json_object_get_int64(v) : e->expiry;
	e->revision = json_object_object_get_ex(obj, "revision", &v) ?
		      (uint64_t)json_object_get_int64(v) : 0;
	if (!json_object_object_get_ex(obj, "secret", &v) ||
	    meshnet_b64_decode_exact(e->secret, sizeof(e->secret), json_object_get_string(v)))
		goto out;
	ret = e->id ? 1 : -1;
out:
	if (ret < 0)
		log_err("%s: not a valid epoch record", path);
	if (obj) {
		/* json-c keeps the secret's text: wipe it before freeing. */
		if (json_object_object_get_ex(obj, "secret", &v) &&
		    json_object_is_type(v, json_type_string))
			OPENSSL_cleanse((void *)json_object_get_string(v),
					(size_t)json_object_get_string_len(v));
		json_object_put(obj);
	}
	return ret;
}

static int dir_load(struct store *s, store_record_fn apply, void *ctx, struct store_epoch *epoch)
{
	static const char *const files[] = { "snapshot.jsonl", "journal.jsonl" };
	struct store_dir *st = dir_of(s);
	unsigned int i;

	for (i = 0; i < 2; i++) {
		char path[PATH_MAX], *text;
		size_t len;
		int ret;

		store_path(st, path, files[i]);
		text = meshnet_read_file(path, STORE_MAX_FILE, &len);
		if (!text) {
			if (errno == ENOENT)
				continue;
			log_err("%s: %s", path, strerror(errno));
			return -1;
		}
		ret = replay_lines(path, text, len, apply, ctx);
		free(text);
		if (ret)
			return -1;
	}
	return load_epoch(st, epoch);
}

static int journal_append(struct store_dir *st, const char *record, size_t len, bool sync)
{
	char *line = malloc(len + 1);
	int ret;

	if (!line)
		return -1;
	memcpy(line, record, len);
	line[len] = '\n';
	pthread_mutex_lock(&st->lock);
	/* One write() per record: a crash loses at most the record in flight. */
	ret = write_all(st->journal_fd, line, len + 1);
	if (!ret)
		st->journal_size += len + 1;
	if (!ret && sync)
		ret = fdatasync(st->journal_fd);
	pthread_mutex_unlock(&st->lock);
	free(line);
	if (ret)
		log_err("journal write: %s", strerror(errno));
	return ret;
}

int store_save_node(struct store *s, const char *record, size_t len)
{
	struct store_dir *st = dir_of(s);

	return journal_append(st, record, len, true);
}

int store_save_benchmark(struct store *s, const char *record, size_t len)
{
	struct store_dir *st = dir_of(s);

	return journal_append(st, record, len, false);
}

size_t store_journal_size(struct store *s)
{
	struct store_dir *st;
	size_t n;

	if (s->backend != &store_dir_backend)
		return 0;	/* no journal elsewhere */
	st = dir_of(s);
	pthread_mutex_lock(&st->lock);
	n = st->journal_size;
	pthread_mutex_unlock(&st->lock);
	return n;
}

static int dir_compact(struct store *s, const char *snapshot, size_t len)
{
	struct store_dir *st = dir_of(s);
	char path[PATH_MAX];
	int fd, ret = -1;

	pthread_mutex_lock(&st->lock);
	store_path(st, path, "snapshot.jsonl");
	if (meshnet_atomic_write(path, snapshot, len, 0600))
		goto out;
	/* The snapshot holds everything the journal did: start it afresh. */
	store_path(st, path, "journal.jsonl");
	if (meshnet_atomic_write(path, "", 0, 0600))
		goto out;
	fd = open_append(st, "journal.jsonl");
	if (fd < 0)
		goto out;
	close(st->journal_fd);
	st->journal_fd = fd;
	st->journal_size = 0;
	ret = 0;
out:
	if (ret)
		log_err("compacting state: %s", strerror(errno));
	pthread_mutex_unlock(&st->lock);
	return ret;
}

int store_commit_epoch(struct store *s, const struct store_epoch *e)
{
	struct store_dir *st = dir_of(s);
	char secret_b64[MESHNET_B64_LEN(MESHNET_EPOCH_SECRET_LEN) + 1], path[PATH_MAX];
	struct strbuf sb;
	int ret;

	strbuf_init(&sb);
	meshnet_b64_encode(secret_b64, e->secret, sizeof(e->secret));
	strbuf_printf(&sb, "{\"id\":%llu,\"revision\":%llu,\"start\":%lld,\"expiry\":%lld,"
		      "\"valid_until\":%lld,\"secret\":\"%s\"}\n", (unsigned long long)e->id,
		      (unsigned long long)e->revision, (long long)e->start, (long long)e->expiry,
		      (long long)e->valid_until, secret_b64);
	OPENSSL_cleanse(secret_b64, sizeof(secret_b64));
	store_path(st, path, "epoch.json");
	ret = sb.oom ? -1 : meshnet_atomic_write(path, sb.buf, sb.len, 0600);
	if (ret)
		log_err("%s: %s", path, strerror(errno));
	strbuf_wipe(&sb);
	return ret;
}

static int dir_log_open(struct store *s, const char *origin, EVP_PKEY *key)
{
	struct store_dir *st = dir_of(s);

	if (st->log)
		return 0;
	st->log = store_dir_log_open(st->dir, origin, key, (int64_t)time(NULL));
	return st->log ? 0 : STORE_ERROR;
}

static struct tlog_store *dir_log(struct store *s)
{
	return dir_of(s)->log;
}

int store_append_audit(struct store *s, int64_t now, const char *type, const char *fields,
		       bool sync)
{
	struct store_dir *st = dir_of(s);

	if (!st->log) {
		log_err("audit record '%s' before the audit log was opened", type);
		return -1;
	}
	return store_dir_log_append(st->log, now, type, fields, sync);
}

int store_sync(struct store *s)
{
	struct store_dir *st;
	int ret;

	if (s->backend != &store_dir_backend)
		return 0;	/* every other commit is durable already */
	st = dir_of(s);
	pthread_mutex_lock(&st->lock);
	ret = fdatasync(st->journal_fd) ? -1 : 0;
	pthread_mutex_unlock(&st->lock);
	if (st->log && tlog_store_commit(st->log))
		ret = -1;
	return ret;
}

int store_publish_status(struct store *s, const char *json, size_t len)
{
	struct store_dir *st;
	char path[PATH_MAX];

	if (s->backend != &store_dir_backend)
		return 0;	/* status.json is the state directory's */
	st = dir_of(s);

	store_path(st, path, "status.json");
	if (meshnet_atomic_write(path, json, len, 0644)) {
		log_err("%s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

int store_audit_verify_file(const char *path)
{
	char msg[256];
	uint64_t records;
	size_t len;
	char *text = meshnet_read_file(path, STORE_MAX_FILE, &len);
	int ret;

	if (!text) {
		fprintf(stderr, "meshnetd audit-verify: %s: %s\n", path, strerror(errno));
		return 2;
	}
	ret = audit_verify_buffer(text, len, &records, NULL, NULL, msg, sizeof(msg));
	free(text);
	if (ret) {
		printf("%s: BROKEN at %s\n", path, msg);
		return 1;
	}
	printf("%s: OK, %s\n", path, msg);
	return 0;
}

/*
 * One batch: journal lines (revisions, then plain records) and fdatasync,
 * then epoch.json, then the audit leaves and fdatasync; the audit head
 * moves only once its leaves are on disk.
 */
static int dir_commit(struct store *s, const struct store_batch *b)
{
	struct store_dir *st = dir_of(s);
	struct strbuf sb;
	size_t i;
	int ret = STORE_ERROR;

	strbuf_init(&sb);
	/* benchmarks first, then the verdicts (revisions) they made */
	for (i = 0; i < b->n_records; i++) {
		strbuf_append(&sb, b->records[i].data, b->records[i].len);
		strbuf_append(&sb, "\n", 1);
	}
	for (i = 0; i < b->n_revisions; i++) {
		strbuf_append(&sb, b->revisions[i].data, b->revisions[i].len);
		strbuf_append(&sb, "\n", 1);
	}
	if (sb.oom)
		goto out_free;
	pthread_mutex_lock(&st->lock);
	if (sb.len) {
		if (write_all(st->journal_fd, sb.buf, sb.len) || fdatasync(st->journal_fd)) {
			log_err("journal write: %s", strerror(errno));
			goto out;
		}
		st->journal_size += sb.len;
	}
	if (b->epoch && store_commit_epoch(s, b->epoch))
		goto out;
	/* The audit leaves after what they record; the head moves once they are on disk. */
	if (b->n_audit) {
		if (!st->log) {
			log_err("audit leaves before the audit log was opened");
			goto out;
		}
		for (i = 0; i < b->n_audit; i++)
			if (store_dir_log_append(st->log, b->now, b->audit[i].type,
						 b->audit[i].fields, false))
				goto out;
		if (tlog_store_commit(st->log))
			goto out;
	}
	ret = 0;
out:
	pthread_mutex_unlock(&st->lock);
out_free:
	strbuf_free(&sb);
	return ret;
}

const struct store_backend store_dir_backend = {
	.scheme = "dir",
	.open = dir_open,
	.close = dir_close,
	.load = dir_load,
	.commit = dir_commit,
	.compact = dir_compact,
	.log_open = dir_log_open,
	.log = dir_log,
};
