// SPDX-License-Identifier: MIT
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "ctl_urls.h"

int agent_ctl_urls_parse(struct agent_ctl_urls *u, const char *list, char *err, size_t errlen)
{
	const char *p = list;

	memset(u, 0, sizeof(*u));
	for (;;) {
		const char *end;
		size_t len, scheme;

		while (*p == ' ' || *p == '\t')
			p++;
		end = strchrnul(p, ',');
		len = (size_t)(end - p);
		while (len && (p[len - 1] == ' ' || p[len - 1] == '\t' || p[len - 1] == '/'))
			len--;
		if (!len) {
			snprintf(err, errlen, "empty controller URL in '%s'", list);
			return -1;
		}
		if (len >= AGENT_URL_MAX) {
			snprintf(err, errlen, "controller URL longer than %d characters: '%.40s...'",
				 AGENT_URL_MAX - 1, p);
			return -1;
		}
		scheme = !strncmp(p, "https://", 8) ? 8 : !strncmp(p, "http://", 7) ? 7 : 0;
		if (!scheme || len <= scheme || memchr(p + scheme, '/', len - scheme) ||
		    memchr(p, '?', len) || memchr(p, '#', len) || memchr(p, '@', len)) {
			snprintf(err, errlen, "'%.*s' is not an http:// or https:// URL (scheme://HOST[:PORT])",
				 (int)len, p);
			return -1;
		}
		if (u->n == AGENT_MAX_CONTROLLERS) {
			snprintf(err, errlen, "more than %d controller URLs", AGENT_MAX_CONTROLLERS);
			return -1;
		}
		memcpy(u->url[u->n], p, len);
		u->url[u->n][len] = '\0';
		for (size_t i = 0; i < u->n; i++) {
			if (!strcmp(u->url[i], u->url[u->n])) {
				snprintf(err, errlen, "controller URL '%s' is listed twice", u->url[i]);
				return -1;
			}
		}
		u->n++;
		if (!*end)
			return 0;
		p = end + 1;
	}
}

size_t agent_ctl_urls_start(const struct agent_ctl_urls *u, const char *node_id)
{
	uint32_t h = 2166136261U;

	if (u->n < 2)
		return 0;
	for (const unsigned char *s = (const unsigned char *)node_id; *s; s++) {
		h ^= *s;
		h *= 16777619U;
	}
	return h % u->n;
}
