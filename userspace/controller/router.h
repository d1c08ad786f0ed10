/* SPDX-License-Identifier: MIT */
/*
 * Request-target parsing of meshnetd's API: matching a path against the
 * route patterns ("{node_id}" matches one non-empty segment) and strict
 * unsigned query values. Pure functions (fuzzed by selftests/fuzz-user).
 */
#ifndef MESHNETD_ROUTER_H
#define MESHNETD_ROUTER_H

#include <stddef.h>
#include <stdint.h>

struct route_pattern {
	const char *method;
	const char *path;
};

/*
 * Finds the entry of table (n entries, stride bytes apart, each starting
 * with a struct route_pattern) for method and uri (path, then '?' or '#'
 * and the rest). Returns its index, or -1. The {node_id} segment goes to id
 * (truncated to id_cap - 1 and marked invalid with a leading '/' if longer);
 * allow gets the methods the path has, "" if none ("GET, POST").
 */
long router_match(const void *table, size_t n, size_t stride, const char *method,
		  const char *uri, char *id, size_t id_cap, char *allow, size_t allow_cap);

/* A decimal query value: 1..19 digits, clamped to max; 0 or -1. */
int router_parse_uint(const char *v, uint64_t max, uint64_t *out);

#endif
