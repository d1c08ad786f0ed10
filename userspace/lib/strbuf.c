// SPDX-License-Identifier: MIT
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "strbuf.h"

void strbuf_init(struct strbuf *sb)
{
	memset(sb, 0, sizeof(*sb));
}

static bool strbuf_reserve(struct strbuf *sb, size_t extra)
{
	size_t need, cap;
	char *nb;

	if (sb->oom)
		return false;
	need = sb->len + extra + 1;
	if (need <= sb->cap)
		return true;
	cap = sb->cap ? sb->cap : 256;
	while (cap < need)
		cap *= 2;
	nb = realloc(sb->buf, cap);
	if (!nb) {
		sb->oom = true;
		return false;
	}
	sb->buf = nb;
	sb->cap = cap;
	return true;
}

void strbuf_append(struct strbuf *sb, const char *s, size_t n)
{
	if (!strbuf_reserve(sb, n))
		return;
	memcpy(sb->buf + sb->len, s, n);
	sb->len += n;
	sb->buf[sb->len] = '\0';
}

void strbuf_puts(struct strbuf *sb, const char *s)
{
	strbuf_append(sb, s, strlen(s));
}

void strbuf_printf(struct strbuf *sb, const char *fmt, ...)
{
	size_t room = sb->cap > sb->len ? sb->cap - sb->len : 0;
	va_list ap;
	int n;

	if (sb->oom)
		return;
	/* One pass when it fits (the common case), a second after growing. */
	va_start(ap, fmt);
	n = vsnprintf(room ? sb->buf + sb->len : NULL, room, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n >= room) {
		if (!strbuf_reserve(sb, (size_t)n))
			return;
		va_start(ap, fmt);
		vsnprintf(sb->buf + sb->len, (size_t)n + 1, fmt, ap);
		va_end(ap);
	}
	sb->len += (size_t)n;
}

void strbuf_json_string(struct strbuf *sb, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	strbuf_append(sb, "\"", 1);
	while (*p) {
		const unsigned char *run = p;
		char esc[8];

		/* the characters that need no escape, appended in one piece */
		while (*p && *p != '"' && *p != '\\' && *p >= 0x20)
			p++;
		if (p > run)
			strbuf_append(sb, (const char *)run, (size_t)(p - run));
		if (!*p)
			break;
		if (*p == '"' || *p == '\\') {
			esc[0] = '\\';
			esc[1] = (char)*p;
			strbuf_append(sb, esc, 2);
		} else {
			snprintf(esc, sizeof(esc), "\\u%04x", *p);
			strbuf_append(sb, esc, 6);
		}
		p++;
	}
	strbuf_append(sb, "\"", 1);
}

void strbuf_wipe(struct strbuf *sb)
{
	if (sb->buf)
		OPENSSL_cleanse(sb->buf, sb->cap);
	strbuf_free(sb);
}

void strbuf_free(struct strbuf *sb)
{
	free(sb->buf);
	strbuf_init(sb);
}

char *strbuf_steal(struct strbuf *sb, size_t *len)
{
	char *b = sb->buf;

	if (!b) {
		b = calloc(1, 1);
		*len = 0;
	} else {
		*len = sb->len;
	}
	strbuf_init(sb);
	return b;
}

char *strbuf_steal_fit(struct strbuf *sb, size_t *len)
{
	size_t slack = sb->buf ? sb->cap - sb->len : 0;
	char *b = strbuf_steal(sb, len), *fit;

	if (slack > 64) {
		fit = realloc(b, *len + 1);
		if (fit)
			b = fit;
	}
	return b;
}
