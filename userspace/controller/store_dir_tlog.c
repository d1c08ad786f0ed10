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
