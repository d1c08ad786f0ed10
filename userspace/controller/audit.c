// SPDX-License-Identifier: MIT
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "audit.h"
#include "sign.h"
#include "timefmt.h"

static const char zero_hash[AUDIT_HASH_HEX] =
	"0000000000000000000000000000000000000000000000000000000000000000";

void audit_format(struct strbuf *sb, uint64_t seq, int64_t now, const char *type,
		  const char *fields, const char prev[AUDIT_HASH_HEX])
{
	char ts[MESHNET_RFC3339_LEN];

	meshnet_rfc3339_format(ts, now);
	strbuf_printf(sb, "{\"seq\":%llu,\"time\":\"%s\",\"type\":", (unsigned long long)seq, ts);
	strbuf_json_string(sb, type);
	if (fields && *fields) {
		strbuf_puts(sb, ",");
		strbuf_puts(sb, fields);
	}
	strbuf_printf(sb, ",\"prev\":\"%s\"}", prev ? prev : zero_hash);
}

void audit_format_leaf(struct strbuf *sb, uint64_t index, int64_t now, const char *type,
		       const char *fields)
{
	char ts[MESHNET_RFC3339_LEN];

	meshnet_rfc3339_format(ts, now);
	strbuf_printf(sb, "{\"index\":%llu,\"time\":\"%s\",\"type\":", (unsigned long long)index,
		      ts);
	strbuf_json_string(sb, type);
	if (fields && *fields) {
		strbuf_puts(sb, ",");
		strbuf_puts(sb, fields);
	}
	strbuf_puts(sb, "}");
}

int audit_verify_buffer(const char *buf, size_t len, uint64_t *records,
			char last_hash[AUDIT_HASH_HEX], uint64_t *next_seq,
			char *msg, size_t msg_len)
{
	char prev[AUDIT_HASH_HEX];
	const char *p = buf, *end = buf + len;
	uint64_t n = 0;

	memcpy(prev, zero_hash, sizeof(prev));
	*records = 0;
	while (p < end) {
		const char *nl = memchr(p, '\n', end - p);
		size_t line_len = nl ? (size_t)(nl - p) : (size_t)(end - p);
		struct json_object *rec, *v;
		struct json_tokener *tok;
		const char *got;

		n++;
		if (!nl) {
			snprintf(msg, msg_len, "record %llu: truncated (no newline)",
				 (unsigned long long)n);
			return 1;
		}
		tok = json_tokener_new();
		json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
		rec = tok ? json_tokener_parse_ex(tok, p, (int)line_len) : NULL;
		if (rec && json_tokener_get_parse_end(tok) != line_len) {
			json_object_put(rec);
			rec = NULL;
		}
		json_tokener_free(tok);
		if (!rec || !json_object_is_type(rec, json_type_object)) {
			json_object_put(rec);
			snprintf(msg, msg_len, "record %llu: not a JSON object", (unsigned long long)n);
			return 1;
		}
		if (!json_object_object_get_ex(rec, "seq", &v) ||
		    !json_object_is_type(v, json_type_int) ||
		    (uint64_t)json_object_get_int64(v) != n) {
			json_object_put(rec);
			snprintf(msg, msg_len, "record %llu: sequence number is not %llu",
				 (unsigned long long)n, (unsigned long long)n);
			return 1;
		}
		if (!json_object_object_get_ex(rec, "prev", &v) ||
		    !(got = json_object_get_string(v)) || strcmp(got, prev)) {
			json_object_put(rec);
			snprintf(msg, msg_len,
				 "record %llu: prev hash does not match record %llu "
				 "(record %llu or %llu was altered)",
				 (unsigned long long)n, (unsigned long long)n - 1,
				 (unsigned long long)n - 1, (unsigned long long)n);
			return 1;
		}
		json_object_put(rec);
		meshnet_sha256_hex(prev, p, line_len);
		*records = n;
		p = nl + 1;
	}
	if (last_hash)
		memcpy(last_hash, prev, AUDIT_HASH_HEX);
	if (next_seq)
		*next_seq = n + 1;
	snprintf(msg, msg_len, "%llu records, chain intact", (unsigned long long)n);
	return 0;
}
