// SPDX-License-Identifier: MIT
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "audit.h"
#include "fileio.h"
#include "log.h"
#include "sign.h"
#include "store_dir_tlog.h"

#define CHAIN_MAX_FILE (1ul << 30)

struct leaf_args {
	int64_t now;
	const char *type, *fields;
};

static void format_leaf(void *ctx, uint64_t index, struct strbuf *sb)
{
	const struct leaf_args *a = ctx;

	audit_format_leaf(sb, index, a->now, a->type, a->fields);
}

int store_dir_log_append(struct tlog_store *ts, int64_t now, const char *type, const char *fields,
			 bool sync)
{
	struct leaf_args a = { now, type, fields };

	if (tlog_store_append_format(ts, format_leaf, &a, NULL))
		return -1;
	return sync ? tlog_store_commit(ts) : 0;
}

/* A v1 audit.jsonl and an empty tree: the tree's first leaf commits to the chain. */
static int migrate_chain(struct tlog_store *ts, const char *state_dir, int64_t now)
{
	char path[PATH_MAX], msg[256], head[AUDIT_HASH_HEX], fields[256];
	uint64_t size, records;
	size_t len;
	char *text;

	tlog_store_head(ts, &size, NULL);
	if (size || tlog_store_pending(ts))
		return 0;
	snprintf(path, sizeof(path), "%s/audit.jsonl", state_dir);
	text = meshnet_read_file(path, CHAIN_MAX_FILE, &len);
	if (!text)
		return errno == ENOENT ? 0 : -1;
	if (len == 0) {
		free(text);
		return 0;
	}
	if (audit_verify_buffer(text, len, &records, head, NULL, msg, sizeof(msg))) {
		log_err("audit log %s is damaged (%s): not migrating it; check it with "
			"`meshnetd audit-verify %s`", path, msg, path);
		free(text);
		return -1;
	}
	free(text);
	snprintf(fields, sizeof(fields),
		 "\"chain\":{\"file\":\"audit.jsonl\",\"records\":%llu,\"head\":\"%s\"}",
		 (unsigned long long)records, head);
	if (store_dir_log_append(ts, now, "migrated", fields, true))
		return -1;
	log_info("Migrated the audit chain %s (%llu records, head %.16s...) into the "
		 "transparency log", path, (unsigned long long)records, head);
	return 0;
}

struct tlog_store *store_dir_log_open(const char *state_dir, const char *origin, EVP_PKEY *key,
				      int64_t now)
{
	char path[PATH_MAX];
	struct tlog_store *ts;

	snprintf(path, sizeof(path), "%s/tlog", state_dir);
	ts = tlog_store_open(path, origin, key);
	if (!ts)
		return NULL;
	if (migrate_chain(ts, state_dir, now)) {
		tlog_store_close(ts);
		return NULL;
	}
	return ts;
}

/* {"index":N,"time":...,"type":...,F} -> {"seq":N+1,"time":...,"type":...,F,"prev":H} */
static int rechain(struct strbuf *out, const char *rec, size_t len, uint64_t i, char prev[65])
{
	char head[48];
	int n = snprintf(head, sizeof(head), "{\"index\":%llu,\"time\":", (unsigned long long)i);
	size_t start = out->len;

	if (len < (size_t)n + 2 || memcmp(rec, head, (size_t)n) || rec[len - 1] != '}' ||
	    !memmem(rec, len, ",\"type\":", 8))
		return -1;
	strbuf_printf(out, "{\"seq\":%llu,\"time\":", (unsigned long long)i + 1);
	strbuf_append(out, rec + n, len - (size_t)n - 1);
	strbuf_printf(out, ",\"prev\":\"%s\"}", prev);
	if (out->oom)
		return -1;
	meshnet_sha256_hex(prev, out->buf + start, out->len - start);
	strbuf_puts(out, "\n");
	return 0;
}

int store_dir_log_export_chain(const char *state_dir, char **out, size_t *len,
			       uint64_t *records, char *msg, size_t msg_len)
{
	char prev[AUDIT_HASH_HEX] = "0000000000000000000000000000000000000000000000000000000000000000";
	char path[PATH_MAX];
	struct strbuf sb;
	uint64_t i = 0, seg, hash_seg = 0;
	FILE *hashes = NULL;
	int ret = -1;

	*out = NULL;
	*len = 0;
	*records = 0;
	strbuf_init(&sb);
	for (seg = 0;; seg++) {
		char *text, *p, *end;
		size_t tlen;

		snprintf(path, sizeof(path), "%s/tlog/records-%06llu.jsonl", state_dir,
			 (unsigned long long)seg);
		text = meshnet_read_file(path, CHAIN_MAX_FILE, &tlen);
		if (!text) {
			if (errno == ENOENT)
				break;
			snprintf(msg, msg_len, "%s: %s", path, strerror(errno));
			goto out;
		}
		for (p = text, end = text + tlen; p < end;) {
			char *nl = memchr(p, '\n', (size_t)(end - p));
			uint8_t leaf[TLOG_HASH_LEN], stored[TLOG_HASH_LEN];
			uint64_t at = tlog_stored_index(0, i);

			if (!nl) {
				snprintf(msg, msg_len, "record %llu: torn (no newline)",
					 (unsigned long long)i);
				free(text);
				goto out;
			}
			if (!hashes || at / TLOG_HASHES_PER_SEGMENT != hash_seg) {
				if (hashes)
					fclose(hashes);
				hash_seg = at / TLOG_HASHES_PER_SEGMENT;
				snprintf(path, sizeof(path), "%s/tlog/hashes-%06llu", state_dir,
					 (unsigned long long)hash_seg);
				hashes = fopen(path, "rb");
			}
			tlog_hash_leaf(leaf, p, (size_t)(nl - p));
			if (!hashes || fseeko(hashes, (off_t)((at % TLOG_HASHES_PER_SEGMENT) *
							       TLOG_HASH_LEN), SEEK_SET) ||
			    fread(stored, 1, TLOG_HASH_LEN, hashes) != TLOG_HASH_LEN ||
			    memcmp(leaf, stored, TLOG_HASH_LEN)) {
				snprintf(msg, msg_len, "record %llu was changed after it was logged "
					 "(the log is damaged; see meshnetd audit-verify)",
					 (unsigned long long)i);
				free(text);
				goto out;
			}
			if (rechain(&sb, p, (size_t)(nl - p), i, prev)) {
				snprintf(msg, msg_len, "record %llu is not an audit record (damaged)",
					 (unsigned long long)i);
				free(text);
				goto out;
			}
			i++;
			p = nl + 1;
		}
		free(text);
	}
	if (i == 0) {
		ret = 1;
		goto out;
	}
	*records = i;
	*out = strbuf_steal(&sb, len);
	ret = *out ? 0 : -1;
	if (ret)
		snprintf(msg, msg_len, "out of memory");
out:
	if (hashes)
		fclose(hashes);
	strbuf_free(&sb);
	return ret;
}
