// SPDX-License-Identifier: MIT
/*
 * The transparency log over HTTP (public: anyone may audit):
 *   GET /v1/log/checkpoint                          the latest signed checkpoint
 *   GET /v1/log/proof/inclusion?index=I[&size=N]    record I in the tree of N
 *   GET /v1/log/proof/consistency?from=M[&to=N]     tree M is a prefix of tree N
 *   GET /v1/log/records?start=A[&end=B]             records [A, B) as JSON lines
 * N and B default to the log's current (checkpointed) size. Hashes are
 * standard base64, as in the checkpoint.
 */
#include <stdarg.h>
#include <stdio.h>

#include "../http.h"
#include "../store.h"
#include "../tlog_store.h"

#define LOG_RECORDS_MAX 1000

static struct tlog_store *log_of(struct api_server *s, struct request *r)
{
	struct tlog_store *ts = store_log(s->c->store);

	if (!ts)
		http_reply_error(s, r, 503, "unavailable", "this controller keeps no audit log");
	return ts;
}

/* ?name=N strictly: absent gives def; -1 after a 400 reply. */
static int query_u64(struct api_server *s, struct request *r, const char *name, bool required,
		     uint64_t def, uint64_t *out)
{
	char msg[128];
	bool present;

	if (http_query_uint(r, name, UINT64_MAX, out, &present) || (present && *out > TLOG_MAX_SIZE)) {
		snprintf(msg, sizeof(msg), "%s must be a non-negative integer", name);
		http_reply_error(s, r, 400, "bad_request", msg);
		return -1;
	}
	if (!present) {
		if (required) {
			snprintf(msg, sizeof(msg), "%s is required", name);
			http_reply_error(s, r, 400, "bad_request", msg);
			return -1;
		}
		*out = def;
	}
	return 0;
}

static void reply_range(struct api_server *s, struct request *r, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void reply_range(struct api_server *s, struct request *r, const char *fmt, ...)
{
	char msg[160];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	http_reply_error(s, r, 400, "bad_range", msg);
}

static void put_proof(struct strbuf *sb, const tlog_hash *p, size_t n)
{
	char b64[45];
	size_t i;

	strbuf_puts(sb, "[");
	for (i = 0; i < n; i++) {
		tlog_hash_to_b64(b64, p[i]);
		strbuf_printf(sb, "%s\"%s\"", i ? "," : "", b64);
	}
	strbuf_puts(sb, "]");
}

void route_log_checkpoint(struct api_server *s, struct request *r)
{
	struct tlog_store *ts = log_of(s, r);
	struct strbuf sb;

	if (!ts)
		return;
	strbuf_init(&sb);
	if (tlog_store_checkpoint(ts, &sb)) {
		strbuf_free(&sb);
		http_reply_error(s, r, 500, "internal", "out of memory");
		return;
	}
	http_reply(s, r, 200, "text/plain; charset=utf-8", &sb);
}

void route_log_inclusion(struct api_server *s, struct request *r)
{
	struct tlog_store *ts = log_of(s, r);
	tlog_hash proof[TLOG_MAX_PROOF];
	uint8_t leaf[TLOG_HASH_LEN];
	uint64_t head, index, size;
	struct strbuf sb;
	char b64[45];
	size_t len;
	int err;

	if (!ts)
		return;
	tlog_store_head(ts, &head, NULL);
	if (query_u64(s, r, "index", true, 0, &index) || query_u64(s, r, "size", false, head, &size))
		return;
	if (size > head) {
		reply_range(s, r, "size %llu is beyond the log's size %llu", (unsigned long long)size,
			    (unsigned long long)head);
		return;
	}
	if (index >= size) {
		reply_range(s, r, "index %llu is not below the tree size %llu",
			    (unsigned long long)index, (unsigned long long)size);
		return;
	}
	err = tlog_store_prove_inclusion(ts, index, size, proof, &len);
	if (!err)
		err = tlog_store_leaf_hash(ts, index, leaf);
	if (err) {
		http_reply_error(s, r, 500, "storage", tlog_strerror(err));
		return;
	}
	strbuf_init(&sb);
	tlog_hash_to_b64(b64, leaf);
	strbuf_printf(&sb, "{\"index\":%llu,\"tree_size\":%llu,\"leaf_hash\":\"%s\",\"proof\":",
		      (unsigned long long)index, (unsigned long long)size, b64);
	put_proof(&sb, proof, len);
	strbuf_puts(&sb, "}");
	http_reply_json(s, r, 200, &sb);
}

void route_log_consistency(struct api_server *s, struct request *r)
{
	struct tlog_store *ts = log_of(s, r);
	tlog_hash proof[TLOG_MAX_PROOF];
	uint64_t head, from, to;
	struct strbuf sb;
	size_t len;
	int err;

	if (!ts)
		return;
	tlog_store_head(ts, &head, NULL);
	if (query_u64(s, r, "from", true, 0, &from) || query_u64(s, r, "to", false, head, &to))
		return;
	if (to > head) {
		reply_range(s, r, "to %llu is beyond the log's size %llu", (unsigned long long)to,
			    (unsigned long long)head);
		return;
	}
	if (from > to) {
		reply_range(s, r, "from %llu is larger than to %llu", (unsigned long long)from,
			    (unsigned long long)to);
		return;
	}
	err = tlog_store_prove_consistency(ts, from, to, proof, &len);
	if (err) {
		http_reply_error(s, r, 500, "storage", tlog_strerror(err));
		return;
	}
	strbuf_init(&sb);
	strbuf_printf(&sb, "{\"from\":%llu,\"to\":%llu,\"proof\":", (unsigned long long)from,
		      (unsigned long long)to);
	put_proof(&sb, proof, len);
	strbuf_puts(&sb, "}");
	http_reply_json(s, r, 200, &sb);
}

void route_log_records(struct api_server *s, struct request *r)
{
	struct tlog_store *ts = log_of(s, r);
	uint64_t head, start, end, i;
	struct strbuf sb;

	if (!ts)
		return;
	tlog_store_head(ts, &head, NULL);
	if (query_u64(s, r, "start", true, 0, &start) || query_u64(s, r, "end", false, 0, &end))
		return;
	if (!MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, "end"))
		end = start + LOG_RECORDS_MAX < head ? start + LOG_RECORDS_MAX : head;
	if (end > head) {
		reply_range(s, r, "end %llu is beyond the log's size %llu", (unsigned long long)end,
			    (unsigned long long)head);
		return;
	}
	if (start >= end) {
		reply_range(s, r, "start %llu must be below end %llu", (unsigned long long)start,
			    (unsigned long long)end);
		return;
	}
	if (end - start > LOG_RECORDS_MAX) {
		reply_range(s, r, "at most 1000 records at a time (asked for %llu from %llu)",
			    (unsigned long long)(end - start), (unsigned long long)start);
		return;
	}
	strbuf_init(&sb);
	for (i = start; i < end; i++) {
		int err = tlog_store_record(ts, i, &sb);

		if (err) {
			strbuf_free(&sb);
			http_reply_error(s, r, 500, "storage", tlog_strerror(err));
			return;
		}
		strbuf_puts(&sb, "\n");
	}
	http_reply(s, r, 200, "application/x-ndjson", &sb);
}
