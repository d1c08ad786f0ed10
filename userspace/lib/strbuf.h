/* SPDX-License-Identifier: MIT */
/* A growable string buffer for building replies and records. */
#ifndef MESHNET_STRBUF_H
#define MESHNET_STRBUF_H

#include <stdbool.h>
#include <stddef.h>

struct strbuf {
	char *buf;
	size_t len, cap;
	bool oom;	/* an append failed; the content is truncated */
};

void strbuf_init(struct strbuf *sb);
void strbuf_append(struct strbuf *sb, const char *s, size_t n);
void strbuf_puts(struct strbuf *sb, const char *s);
void strbuf_printf(struct strbuf *sb, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Appends s as a JSON string literal (quoted, escaped). */
void strbuf_json_string(struct strbuf *sb, const char *s);
/* Wipes (OPENSSL_cleanse) and frees. */
void strbuf_wipe(struct strbuf *sb);
void strbuf_free(struct strbuf *sb);
/* Hands the buffer to the caller (NUL-terminated), resets sb. */
char *strbuf_steal(struct strbuf *sb, size_t *len);
/* The same, trimmed to its length: for text kept for long (node records, evidence). */
char *strbuf_steal_fit(struct strbuf *sb, size_t *len);

#endif
