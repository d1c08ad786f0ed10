/* SPDX-License-Identifier: MIT */
/*
 * The controllers a node talks to: CONTROLLER_URLS (or CONTROLLER_URL), a
 * comma-separated list of http(s)://HOST:PORT base URLs. Nodes spread over
 * them by a hash of their id (FNV-1a), stay with one while it answers and
 * move to the next one when it stops answering (http.c).
 */
#ifndef AGENT_CTL_URLS_H
#define AGENT_CTL_URLS_H

#include <stddef.h>

#define AGENT_MAX_CONTROLLERS 8
#define AGENT_URL_MAX 256

struct agent_ctl_urls {
	size_t n;
	char url[AGENT_MAX_CONTROLLERS][AGENT_URL_MAX]; /* without a trailing '/' */
};

/*
 * Parses "https://a:8443,https://b:8443" (spaces around commas allowed).
 * Each entry must be http:// or https:// with a host; no duplicates, at
 * most AGENT_MAX_CONTROLLERS. 0, or -1 with a sentence naming the entry.
 */
int agent_ctl_urls_parse(struct agent_ctl_urls *u, const char *list, char *err, size_t errlen);

/* The index a node starts with: FNV-1a-32(node_id) mod n. */
size_t agent_ctl_urls_start(const struct agent_ctl_urls *u, const char *node_id);

#endif
