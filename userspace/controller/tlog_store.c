// SPDX-License-Identifier: MIT
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "fileio.h"
#include "log.h"
#include "tlog_store.h"

#define TLOG_MAX_SEGMENTS 4096
#define SEG_MASK_RECORDS (TLOG_RECORDS_PER_SEGMENT - 1)
#define SEG_MASK_HASHES (TLOG_HASHES_PER_SEGMENT - 1)

enum seg_kind { SEG_RECORDS, SEG_INDEX, SEG_HASHES, SEG_KINDS };

static const char *const seg_prefix[SEG_KINDS] = { "records-", "index-", "hashes-" };
static const char *const seg_suffix[SEG_KINDS] = { ".jsonl", "", "" };

struct tlog_store {
	char dir[PATH_MAX - 64];
	char origin[TLOG_ORIGIN_MAX + 1];
	EVP_PKEY *key;
	struct tlog_note_verifier self;

	/* writer state, under lock */
	pthread_mutex_t lock;
	struct tlog_frontier f;		/* f.n = records appended */
	uint64_t synced;		/* index/hashes durable for this many */
	uint64_t rec_off;		/* append offset in the current record segment */
	int wr_fd[SEG_KINDS];		/* current segment of each kind, for writing */
	uint64_t wr_seg[SEG_KINDS];

	/* what readers see, under head_lock */
	pthread_mutex_t head_lock;
	uint64_t committed;
	uint8_t committed_root[TLOG_HASH_LEN];
	struct strbuf checkpoint;
	/* witnesses (witness_client.c): the latest cosigned note, served instead */
	bool witnessed;
	struct strbuf cosigned;
	uint64_t cosigned_size;

	/* read-only descriptors, opened on first use (published with CAS) */
	int rd_fd[SEG_KINDS][TLOG_MAX_SEGMENTS];

	/* tlog_store_open_source(): kept by another store, read through src */
	bool external;
	struct tlog_store_source src;
};

static void seg_path(const struct tlog_store *ts, char *out, enum seg_kind k, uint64_t seg)
{
	snprintf(out, PATH_MAX, "%s/%s%06llu%s", ts->dir, seg_prefix[k], (unsigned long long)seg,
		 seg_suffix[k]);
}

static void file_path(const struct tlog_store *ts, char *out, const char *name)
{
	snprintf(out, PATH_MAX, "%s/%s", ts->dir, name);
}

static int pwrite_all(int fd, const void *buf, size_t len, off_t off)
{
	const char *p = buf;

	while (len) {
		ssize_t n = pwrite(fd, p, len, off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
		off += n;
	}
	return 0;
}

static int pread_all(int fd, void *buf, size_t len, off_t off)
{
	char *p = buf;

	while (len) {
		ssize_t n = pread(fd, p, len, off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n == 0)
				errno = EIO;	/* short: the file ends early */
			return -1;
		}
		p += n;
		len -= (size_t)n;
		off += n;
	}
	return 0;
}

static int rd_fd(struct tlog_store *ts, enum seg_kind k, uint64_t seg)
{
	char path[PATH_MAX];
	int fd, expected = -1;

	if (seg >= TLOG_MAX_SEGMENTS) {
		errno = EFBIG;
		return -1;
	}
	fd = __atomic_load_n(&ts->rd_fd[k][seg], __ATOMIC_ACQUIRE);
	if (fd >= 0)
		return fd;
	seg_path(ts, path, k, seg);
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -1;
	if (!__atomic_compare_exchange_n(&ts->rd_fd[k][seg], &expected, fd, false,
					 __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
		close(fd);
		fd = expected;
	}
	return fd;
}

/* Forgets read descriptors of one segment (after a truncation at start-up). */
static void rd_forget(struct tlog_store *ts, enum seg_kind k, uint64_t seg)
{
	int fd = __atomic_exchange_n(&ts->rd_fd[k][seg], -1, __ATOMIC_ACQ_REL);

	if (fd >= 0)
		close(fd);
}

static int store_read_hash(void *ctx, uint64_t index, uint8_t out[TLOG_HASH_LEN])
{
	struct tlog_store *ts = ctx;
	int fd = rd_fd(ts, SEG_HASHES, index / TLOG_HASHES_PER_SEGMENT);

	if (fd < 0)
		return -1;
	return pread_all(fd, out, TLOG_HASH_LEN, (off_t)((index & SEG_MASK_HASHES) * TLOG_HASH_LEN));
}

static struct tlog_hash_reader reader_of(struct tlog_store *ts)
{
	struct tlog_hash_reader r = { store_read_hash, ts };

	if (ts->external) {
		r.read = ts->src.read_hash;
		r.ctx = ts->src.ctx;
	}
	return r;
}

/* End offset of record i in its segment (0 for "before the first"). */
static int record_end(struct tlog_store *ts, uint64_t i, uint64_t *end)
{
	uint8_t le[8];
	int fd, b;

	fd = rd_fd(ts, SEG_INDEX, i / TLOG_RECORDS_PER_SEGMENT);
	if (fd < 0 || pread_all(fd, le, 8, (off_t)((i & SEG_MASK_RECORDS) * 8)))
		return -1;
	*end = 0;
	for (b = 7; b >= 0; b--)
		*end = *end << 8 | le[b];
	return 0;
}

static int wr_fd(struct tlog_store *ts, enum seg_kind k, uint64_t seg)
{
	char path[PATH_MAX];
	int fd;

	if (ts->wr_fd[k] >= 0 && ts->wr_seg[k] == seg)
		return ts->wr_fd[k];
	if (seg >= TLOG_MAX_SEGMENTS) {
		errno = EFBIG;
		return -1;
	}
	seg_path(ts, path, k, seg);
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return -1;
	if (ts->wr_fd[k] >= 0) {
		/* The finished segment goes to disk before anything refers past it. */
		if (fdatasync(ts->wr_fd[k])) {
			close(fd);
			return -1;
		}
		close(ts->wr_fd[k]);
	}
	ts->wr_fd[k] = fd;
	ts->wr_seg[k] = seg;
	return fd;
}

/* Stores the hashes and index entry of record n (the frontier's next leaf). */
static int add_leaf(struct tlog_store *ts, const char *record, size_t len, uint64_t end_off)
{
	uint64_t n = ts->f.n, at = tlog_stored_count(n);
	tlog_hash leaf, out[TLOG_MAX_LEVELS];
	uint8_t le[8];
	size_t count, i;
	int fd, b;

	for (b = 0; b < 8; b++)
		le[b] = (uint8_t)(end_off >> (8 * b));
	fd = wr_fd(ts, SEG_INDEX, n / TLOG_RECORDS_PER_SEGMENT);
	if (fd < 0 || pwrite_all(fd, le, 8, (off_t)((n & SEG_MASK_RECORDS) * 8)))
		return -1;
	tlog_hash_leaf(leaf, record, len);
	{
		struct tlog_frontier saved = ts->f;

		count = tlog_frontier_append(&ts->f, leaf, out);
		for (i = 0; i < count;) {
			uint64_t idx = at + i, seg = idx / TLOG_HASHES_PER_SEGMENT;
			size_t run = count - i;

			if ((idx & SEG_MASK_HASHES) + run > TLOG_HASHES_PER_SEGMENT)
				run = (size_t)(TLOG_HASHES_PER_SEGMENT - (idx & SEG_MASK_HASHES));
			fd = wr_fd(ts, SEG_HASHES, seg);
			if (fd < 0 || pwrite_all(fd, out[i], run * TLOG_HASH_LEN,
						 (off_t)((idx & SEG_MASK_HASHES) * TLOG_HASH_LEN))) {
				ts->f = saved;
				return -1;
			}
			i += run;
		}
	}
	return 0;
}

static int write_synced_mark(struct tlog_store *ts, uint64_t n)
{
	char path[PATH_MAX], text[32];
	int len = snprintf(text, sizeof(text), "%llu\n", (unsigned long long)n);

	file_path(ts, path, "synced");
	return meshnet_atomic_write(path, text, (size_t)len, 0600);
}

/* Index and hashes to disk, then the mark that says so. */
static int sync_derived(struct tlog_store *ts)
{
	if (ts->synced == ts->f.n)
		return 0;
	if ((ts->wr_fd[SEG_INDEX] >= 0 && fdatasync(ts->wr_fd[SEG_INDEX])) ||
	    (ts->wr_fd[SEG_HASHES] >= 0 && fdatasync(ts->wr_fd[SEG_HASHES])) ||
	    write_synced_mark(ts, ts->f.n)) {
		log_err("tlog %s: could not sync the index and hashes: %s", ts->dir, strerror(errno));
		return -1;
	}
	ts->synced = ts->f.n;
	return 0;
}

/* Writes the checkpoint file without fsync: it can always be re-made. */
static int write_checkpoint_file(struct tlog_store *ts, const struct strbuf *note)
{
	char path[PATH_MAX], tmp[PATH_MAX + 16];
	int fd, ret = -1;

	file_path(ts, path, "checkpoint");
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0)
		return -1;
	if (!pwrite_all(fd, note->buf, note->len, 0) && !rename(tmp, path))
		ret = 0;
	close(fd);
	if (ret)
		unlink(tmp);
	return ret;
}

/* Signs the checkpoint of the appended records and publishes it. */
static int publish_head(struct tlog_store *ts)
{
	struct tlog_checkpoint c;
	struct strbuf note;
	int err;

	memset(&c, 0, sizeof(c));
	strcpy(c.origin, ts->origin);
	c.size = ts->f.n;
	tlog_frontier_root(&ts->f, c.root);
	strbuf_init(&note);
	err = tlog_checkpoint_sign(&note, &c, ts->origin, ts->key);
	if (err) {
		log_err("tlog %s: signing the checkpoint failed: %s", ts->dir, tlog_strerror(err));
		strbuf_free(&note);
		return -1;
	}
	if (write_checkpoint_file(ts, &note))
		log_warn("tlog %s: could not write the checkpoint file: %s", ts->dir,
			 strerror(errno));
	pthread_mutex_lock(&ts->head_lock);
	ts->committed = c.size;
	memcpy(ts->committed_root, c.root, TLOG_HASH_LEN);
	strbuf_free(&ts->checkpoint);
	ts->checkpoint = note;
	pthread_mutex_unlock(&ts->head_lock);
	return 0;
}

static int read_synced_mark(struct tlog_store *ts, uint64_t *n)
{
	char path[PATH_MAX], *text, *end;
	size_t len;

	*n = 0;
	file_path(ts, path, "synced");
	text = meshnet_read_file(path, 64, &len);
	if (!text)
		return errno == ENOENT ? 0 : -1;
	errno = 0;
	*n = strtoull(text, &end, 10);
	if (errno || end == text || (*end && strcmp(end, "\n"))) {
		free(text);
		errno = EINVAL;
		return -1;
	}
	free(text);
	return 0;
}

/*
 * Re-derives index and hashes for the records after the synced mark (the
 * tail a crash may have left unsynced), cutting off a torn last record.
 */
static int recover_tail(struct tlog_store *ts)
{
	uint64_t off = 0, redone = 0;
	char path[PATH_MAX];

	if (ts->f.n & SEG_MASK_RECORDS) {
		if (record_end(ts, ts->f.n - 1, &off)) {
			log_err("tlog %s: the index of record %llu is missing", ts->dir,
				(unsigned long long)ts->f.n - 1);
			return -1;
		}
	}
	for (;;) {
		uint64_t seg = ts->f.n / TLOG_RECORDS_PER_SEGMENT, added = 0;
		char *buf, *p, *end;
		bool full;
		struct stat st;
		size_t len;
		int fd;

		seg_path(ts, path, SEG_RECORDS, seg);
		fd = open(path, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
		if (fd < 0) {
			if (errno == ENOENT && off == 0)
				break;
			log_err("tlog %s: %s: %s%s", ts->dir, path, strerror(errno),
				errno == ENOENT ? " (records were removed)" : "");
			return -1;
		}
		if (fstat(fd, &st) || (uint64_t)st.st_size < off) {
			log_err("tlog %s: %s is shorter than its index says: records were removed",
				ts->dir, path);
			close(fd);
			return -1;
		}
		len = (size_t)((uint64_t)st.st_size - off);
		buf = malloc(len + 1);
		if (!buf || (len && pread_all(fd, buf, len, (off_t)off))) {
			log_err("tlog %s: reading %s: %s", ts->dir, path, strerror(errno));
			free(buf);
			close(fd);
			return -1;
		}
		for (p = buf, end = buf + len; p < end;) {
			char *nl = memchr(p, '\n', (size_t)(end - p));

			if (!nl)
				break;
			off += (uint64_t)(nl - p) + 1;
			if (add_leaf(ts, p, (size_t)(nl - p), off)) {
				log_err("tlog %s: writing hashes: %s", ts->dir, strerror(errno));
				free(buf);
				close(fd);
				return -1;
			}
			added++;
			p = nl + 1;
			if (!(ts->f.n & SEG_MASK_RECORDS))
				break;	/* segment full */
		}
		redone += added;
		full = added && !(ts->f.n & SEG_MASK_RECORDS);
		if (p < end && full) {
			log_err("tlog %s: %s holds more records than a segment", ts->dir, path);
			free(buf);
			close(fd);
			return -1;
		}
		if (p < end) {
			log_warn("tlog %s: repaired a torn tail: cut %zu bytes of an unfinished "
				 "record after record %llu", ts->dir, (size_t)(end - p),
				 (unsigned long long)ts->f.n);
			if (ftruncate(fd, (off_t)off) || fdatasync(fd)) {
				log_err("tlog %s: truncating %s: %s", ts->dir, path, strerror(errno));
				free(buf);
				close(fd);
				return -1;
			}
			rd_forget(ts, SEG_RECORDS, seg);
		}
		free(buf);
		close(fd);
		if (!full)
			break;
		off = 0;
	}
	ts->rec_off = off;
	if (redone)
		log_info("tlog %s: re-derived the hashes of %llu record(s) written after the last "
			 "sync", ts->dir, (unsigned long long)redone);
	return 0;
}

/* The last checkpoint must be a prefix of what is on disk. */
static int check_last_checkpoint(struct tlog_store *ts)
{
	struct tlog_hash_reader r = reader_of(ts);
	char path[PATH_MAX], *text;
	struct tlog_checkpoint c;
	uint8_t root[TLOG_HASH_LEN];
	uint64_t verified;
	size_t len;
	int err;

	file_path(ts, path, "checkpoint");
	text = meshnet_read_file(path, TLOG_NOTE_MAX_LEN, &len);
	if (!text)
		return errno == ENOENT ? 0 : -1;
	err = tlog_checkpoint_open(text, len, &ts->self, 1, ts->origin, &c, &verified);
	free(text);
	if (err) {
		log_err("tlog %s: the last checkpoint does not verify with this controller's key "
			"(%s); refusing to continue the log", ts->dir, tlog_strerror(err));
		return -1;
	}
	if (c.size > ts->f.n) {
		log_err("tlog %s: the log holds %llu records but its last checkpoint covers %llu: "
			"records were removed; refusing to continue the log", ts->dir,
			(unsigned long long)ts->f.n, (unsigned long long)c.size);
		return -1;
	}
	err = tlog_tree_hash(&r, c.size, root);
	if (err || memcmp(root, c.root, TLOG_HASH_LEN)) {
		log_err("tlog %s: the stored tree does not match the last checkpoint (size %llu): "
			"the log was altered; refusing to continue it", ts->dir,
			(unsigned long long)c.size);
		return -1;
	}
	return 0;
}

/* A store with no descriptors open, its name and key checked (NULL, logged, if bad). */
static struct tlog_store *store_alloc(const char *dir, const char *origin, EVP_PKEY *key)
{
	struct tlog_store *ts = calloc(1, sizeof(*ts));
	uint8_t pub[32];
	size_t pub_len = sizeof(pub);
	unsigned int k, s;

	if (!ts)
		return NULL;
	for (k = 0; k < SEG_KINDS; k++) {
		ts->wr_fd[k] = -1;
		for (s = 0; s < TLOG_MAX_SEGMENTS; s++)
			ts->rd_fd[k][s] = -1;
	}
	pthread_mutex_init(&ts->lock, NULL);
	pthread_mutex_init(&ts->head_lock, NULL);
	strbuf_init(&ts->checkpoint);
	strbuf_init(&ts->cosigned);
	if (strlen(dir) >= sizeof(ts->dir) || strlen(origin) > TLOG_ORIGIN_MAX ||
	    !tlog_note_name_valid(origin)) {
		log_err("tlog %s: bad directory or log name '%s'", dir, origin);
		goto err_free;
	}
	strcpy(ts->dir, dir);
	strcpy(ts->origin, origin);
	if (EVP_PKEY_get_raw_public_key(key, pub, &pub_len) != 1 ||
	    tlog_verifier_from_pub(&ts->self, origin, pub)) {
		log_err("tlog %s: the signing key is not an Ed25519 key", dir);
		goto err_free;
	}
	EVP_PKEY_up_ref(key);
	ts->key = key;
	return ts;

err_free:
	tlog_store_close(ts);
	return NULL;
}

struct tlog_store *tlog_store_open(const char *dir, const char *origin, EVP_PKEY *key)
{
	struct tlog_store *ts = store_alloc(dir, origin, key);
	struct tlog_hash_reader r;
	int err;

	if (!ts)
		return NULL;
	if (mkdir(dir, 0700) && errno != EEXIST) {
		log_err("tlog %s: %s", dir, strerror(errno));
		goto err_free;
	}
	r = reader_of(ts);
	if (read_synced_mark(ts, &ts->synced)) {
		log_err("tlog %s: the synced mark is unreadable: %s", dir, strerror(errno));
		goto err_free;
	}
	err = tlog_frontier_load(&ts->f, &r, ts->synced);
	if (err) {
		log_err("tlog %s: the stored hashes of the first %llu records are missing (%s)",
			dir, (unsigned long long)ts->synced, tlog_strerror(err));
		goto err_free;
	}
	if (recover_tail(ts) || check_last_checkpoint(ts) || sync_derived(ts) ||
	    publish_head(ts))
		goto err_free;
	return ts;

err_free:
	tlog_store_close(ts);
	return NULL;
}

void tlog_store_close(struct tlog_store *ts)
{
	unsigned int k, s;

	if (!ts)
		return;
	if (ts->key && !ts->external)
		sync_derived(ts);
	for (k = 0; k < SEG_KINDS; k++) {
		if (ts->wr_fd[k] >= 0)
			close(ts->wr_fd[k]);
		for (s = 0; s < TLOG_MAX_SEGMENTS; s++)
			if (ts->rd_fd[k][s] >= 0)
				close(ts->rd_fd[k][s]);
	}
	tlog_verifier_free(&ts->self);
	EVP_PKEY_free(ts->key);
	strbuf_free(&ts->checkpoint);
	strbuf_free(&ts->cosigned);
	pthread_mutex_destroy(&ts->lock);
	pthread_mutex_destroy(&ts->head_lock);
	free(ts);
}

struct tlog_store *tlog_store_open_source(const struct tlog_store_source *src, const char *origin,
					  EVP_PKEY *key)
{
	struct tlog_store *ts = store_alloc("(database)", origin, key);

	if (!ts)
		return NULL;
	ts->external = true;
	ts->src = *src;
	tlog_hash_empty(ts->committed_root);
	return ts;
}

int tlog_store_publish(struct tlog_store *ts, uint64_t size, const uint8_t root[TLOG_HASH_LEN],
		       const char *note, size_t note_len)
{
	struct strbuf sb;

	if (!ts->external) {
		errno = EPERM;
		return -1;
	}
	strbuf_init(&sb);
	strbuf_append(&sb, note, note_len);
	if (sb.oom) {
		strbuf_free(&sb);
		return -1;
	}
	pthread_mutex_lock(&ts->head_lock);
	if (size > ts->committed || (size == ts->committed && !ts->checkpoint.len)) {
		ts->committed = size;
		ts->f.n = size;
		memcpy(ts->committed_root, root, TLOG_HASH_LEN);
		strbuf_free(&ts->checkpoint);
		ts->checkpoint = sb;
		strbuf_init(&sb);
	}
	pthread_mutex_unlock(&ts->head_lock);
	strbuf_free(&sb);
	return 0;
}

static int append_locked(struct tlog_store *ts, const char *record, size_t len)
{
	struct iovec iov[2] = { { (void *)record, len }, { (void *)"\n", 1 } };
	uint64_t n = ts->f.n;
	ssize_t w;
	int fd;

	if (ts->external) {
		errno = EPERM;	/* appended by the store that keeps the log */
		return -1;
	}
	if (len == 0 || len > TLOG_RECORD_MAX || memchr(record, '\n', len)) {
		errno = EINVAL;
		return -1;
	}
	if (n >= TLOG_MAX_SEGMENTS * TLOG_RECORDS_PER_SEGMENT) {
		errno = EFBIG;
		return -1;
	}
	if (!(n & SEG_MASK_RECORDS))
		ts->rec_off = 0;
	fd = wr_fd(ts, SEG_RECORDS, n / TLOG_RECORDS_PER_SEGMENT);
	if (fd < 0)
		return -1;
	/* One write per record, at the known end: a crash tears at most this one. */
	do
		w = pwritev(fd, iov, 2, (off_t)ts->rec_off);
	while (w < 0 && errno == EINTR);
	if (w != (ssize_t)len + 1 || add_leaf(ts, record, len, ts->rec_off + len + 1)) {
		int saved = w >= 0 && w != (ssize_t)len + 1 ? EIO : errno;

		/* cut a partial record so the next one starts clean */
		if (ftruncate(fd, (off_t)ts->rec_off))
			log_err("tlog %s: cannot cut a partial record", ts->dir);
		errno = saved;
		return -1;
	}
	ts->rec_off += len + 1;
	return 0;
}

int tlog_store_append(struct tlog_store *ts, const char *record, size_t len, uint64_t *index)
{
	int ret;

	pthread_mutex_lock(&ts->lock);
	if (index)
		*index = ts->f.n;
	ret = append_locked(ts, record, len);
	if (ret)
		log_err("tlog %s: append failed: %s", ts->dir, strerror(errno));
	pthread_mutex_unlock(&ts->lock);
	return ret;
}

int tlog_store_append_format(struct tlog_store *ts, tlog_format_fn format, void *ctx,
			     uint64_t *index)
{
	struct strbuf sb;
	int ret = -1;

	strbuf_init(&sb);
	pthread_mutex_lock(&ts->lock);
	if (index)
		*index = ts->f.n;
	format(ctx, ts->f.n, &sb);
	if (sb.oom)
		errno = ENOMEM;
	else
		ret = append_locked(ts, sb.buf, sb.len);
	if (ret)
		log_err("tlog %s: append failed: %s", ts->dir, strerror(errno));
	pthread_mutex_unlock(&ts->lock);
	strbuf_free(&sb);
	return ret;
}

uint64_t tlog_store_pending(struct tlog_store *ts)
{
	uint64_t n, c;

	if (ts->external)
		return 0;

	pthread_mutex_lock(&ts->lock);
	n = ts->f.n;
	pthread_mutex_unlock(&ts->lock);
	pthread_mutex_lock(&ts->head_lock);
	c = ts->committed;
	pthread_mutex_unlock(&ts->head_lock);
	return n - c;
}

int tlog_store_commit(struct tlog_store *ts)
{
	int ret = 0;

	if (ts->external)
		return 0;	/* committed in the transaction of the change */
	pthread_mutex_lock(&ts->lock);
	pthread_mutex_lock(&ts->head_lock);
	if (ts->committed == ts->f.n) {
		pthread_mutex_unlock(&ts->head_lock);
		goto out;
	}
	pthread_mutex_unlock(&ts->head_lock);
	if (ts->wr_fd[SEG_RECORDS] >= 0 && fdatasync(ts->wr_fd[SEG_RECORDS])) {
		log_err("tlog %s: fdatasync of the records: %s", ts->dir, strerror(errno));
		ret = -1;
		goto out;
	}
	ret = publish_head(ts);
	if (!ret && ts->f.n - ts->synced >= TLOG_SYNC_EVERY)
		sync_derived(ts);	/* a failure only lengthens the next start-up */
out:
	pthread_mutex_unlock(&ts->lock);
	return ret;
}

void tlog_store_head(struct tlog_store *ts, uint64_t *size, uint8_t root[TLOG_HASH_LEN])
{
	pthread_mutex_lock(&ts->head_lock);
	*size = ts->committed;
	if (root)
		memcpy(root, ts->committed_root, TLOG_HASH_LEN);
	pthread_mutex_unlock(&ts->head_lock);
}

/* The note readers get (head_lock held): the cosigned one once there is one. */
static const struct strbuf *served_note(const struct tlog_store *ts, uint64_t *size)
{
	if (ts->witnessed && ts->cosigned.len) {
		*size = ts->cosigned_size;
		return &ts->cosigned;
	}
	*size = ts->committed;
	return &ts->checkpoint;
}

int tlog_store_checkpoint(struct tlog_store *ts, struct strbuf *out)
{
	const struct strbuf *note;
	uint64_t size;

	pthread_mutex_lock(&ts->head_lock);
	note = served_note(ts, &size);
	strbuf_append(out, note->buf, note->len);
	pthread_mutex_unlock(&ts->head_lock);
	return out->oom ? -1 : 0;
}

int tlog_store_latest_checkpoint(struct tlog_store *ts, struct strbuf *out)
{
	pthread_mutex_lock(&ts->head_lock);
	strbuf_append(out, ts->checkpoint.buf, ts->checkpoint.len);
	pthread_mutex_unlock(&ts->head_lock);
	return out->oom ? -1 : 0;
}

void tlog_store_set_witnessed(struct tlog_store *ts, bool on)
{
	pthread_mutex_lock(&ts->head_lock);
	ts->witnessed = on;
	pthread_mutex_unlock(&ts->head_lock);
}

int tlog_store_set_cosigned(struct tlog_store *ts, const char *note, size_t len, uint64_t size)
{
	int ret = 0;

	pthread_mutex_lock(&ts->head_lock);
	if (size > ts->committed || size < ts->cosigned_size) {
		ret = -1;	/* never backwards, never past what is committed */
	} else {
		ts->cosigned.len = 0;
		strbuf_append(&ts->cosigned, note, len);
		ts->cosigned_size = size;
		ret = ts->cosigned.oom ? -1 : 0;
	}
	pthread_mutex_unlock(&ts->head_lock);
	return ret;
}

const char *tlog_store_origin(const struct tlog_store *ts)
{
	return ts->origin;
}

int tlog_store_render_statement_fields(struct tlog_store *ts, uint64_t from_size,
				       struct strbuf *out, uint64_t *size)
{
	struct tlog_hash_reader r = reader_of(ts);
	tlog_hash proof[TLOG_MAX_PROOF];
	struct strbuf note;
	uint64_t n;
	size_t len = 0, i;
	char b64[45];
	int err = 0;

	strbuf_init(&note);
	pthread_mutex_lock(&ts->head_lock);
	{
		const struct strbuf *served = served_note(ts, &n);

		strbuf_append(&note, served->buf, served->len);
	}
	pthread_mutex_unlock(&ts->head_lock);
	if (note.oom) {
		strbuf_free(&note);
		return TLOG_ERR_NOMEM;
	}
	if (from_size <= n)
		err = tlog_prove_consistency(&r, from_size, n, proof, &len);
	if (err) {
		strbuf_free(&note);
		return err;
	}
	strbuf_puts(out, ",\"checkpoint\":");
	strbuf_json_string(out, note.buf ? note.buf : "");
	if (from_size <= n) {
		strbuf_puts(out, ",\"consistency_proof\":[");
		for (i = 0; i < len; i++) {
			tlog_hash_to_b64(b64, proof[i]);
			strbuf_printf(out, "%s\"%s\"", i ? "," : "", b64);
		}
		strbuf_puts(out, "]");
	}
	strbuf_free(&note);
	if (size)
		*size = n;
	return out->oom ? TLOG_ERR_NOMEM : TLOG_OK;
}

static uint64_t committed_size(struct tlog_store *ts)
{
	uint64_t n;

	tlog_store_head(ts, &n, NULL);
	return n;
}

int tlog_store_prove_inclusion(struct tlog_store *ts, uint64_t index, uint64_t size,
			       tlog_hash *proof, size_t *len)
{
	struct tlog_hash_reader r = reader_of(ts);

	*len = 0;
	if (size > committed_size(ts))
		return TLOG_ERR_RANGE;
	return tlog_prove_inclusion(&r, index, size, proof, len);
}

int tlog_store_prove_consistency(struct tlog_store *ts, uint64_t size1, uint64_t size2,
				 tlog_hash *proof, size_t *len)
{
	struct tlog_hash_reader r = reader_of(ts);

	*len = 0;
	if (size2 > committed_size(ts))
		return TLOG_ERR_RANGE;
	return tlog_prove_consistency(&r, size1, size2, proof, len);
}

int tlog_store_root(struct tlog_store *ts, uint64_t size, uint8_t root[TLOG_HASH_LEN])
{
	struct tlog_hash_reader r = reader_of(ts);

	if (size > committed_size(ts))
		return TLOG_ERR_RANGE;
	return tlog_tree_hash(&r, size, root);
}

int tlog_store_leaf_hash(struct tlog_store *ts, uint64_t index, uint8_t out[TLOG_HASH_LEN])
{
	struct tlog_hash_reader r = reader_of(ts);

	if (index >= committed_size(ts))
		return TLOG_ERR_RANGE;
	return r.read(r.ctx, tlog_stored_index(0, index), out) ? TLOG_ERR_IO : TLOG_OK;
}

int tlog_store_record(struct tlog_store *ts, uint64_t index, struct strbuf *out)
{
	uint64_t start = 0, end;
	char *buf;
	int fd;

	if (index >= committed_size(ts))
		return TLOG_ERR_RANGE;
	if (ts->external)
		return ts->src.read_record(ts->src.ctx, index, out);
	if ((index & SEG_MASK_RECORDS) && record_end(ts, index - 1, &start))
		return TLOG_ERR_IO;
	if (record_end(ts, index, &end) || end <= start || end - start > TLOG_RECORD_MAX + 1)
		return TLOG_ERR_IO;
	fd = rd_fd(ts, SEG_RECORDS, index / TLOG_RECORDS_PER_SEGMENT);
	buf = malloc((size_t)(end - start));
	if (fd < 0 || !buf || pread_all(fd, buf, (size_t)(end - start), (off_t)start) ||
	    buf[end - start - 1] != '\n') {
		free(buf);
		return TLOG_ERR_IO;
	}
	strbuf_append(out, buf, (size_t)(end - start - 1));
	free(buf);
	return out->oom ? TLOG_ERR_NOMEM : TLOG_OK;
}
