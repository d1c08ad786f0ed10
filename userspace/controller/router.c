// SPDX-License-Identifier: MIT
#include <stdbool.h>
#include <string.h>

#include "router.h"

static bool path_matches(const char *pattern, const char *path, size_t path_len,
			 char *id, size_t id_cap)
{
	const char *p = pattern, *q = path, *end = path + path_len;

	while (*p && q < end) {
		if (*p == '{') {	/* "{node_id}", "{evaluator_id}": one segment */
			const char *seg_end = memchr(q, '/', (size_t)(end - q)), *close = strchr(p, '}');
			size_t n;

			if (!seg_end)
				seg_end = end;
			n = (size_t)(seg_end - q);
			if (n == 0)
				return false;
			if (id) {
				if (n >= id_cap)
					n = id_cap - 1;	/* too long: fails id validation */
				memcpy(id, q, n);
				id[n] = '\0';
				if ((size_t)(seg_end - q) >= id_cap)
					id[0] = '/';	/* mark invalid */
			}
			p = close + 1;
			q = seg_end;
			continue;
		}
		if (*p != *q)
			return false;
		p++;
		q++;
	}
	return !*p && q == end;
}

long router_match(const void *table, size_t n, size_t stride, const char *method,
		  const char *uri, char *id, size_t id_cap, char *allow, size_t allow_cap)
{
	size_t path_len = strcspn(uri, "?#"), i;
	bool path_known = false;

	allow[0] = '\0';
	for (i = 0; i < n; i++) {
		const struct route_pattern *rp =
			(const struct route_pattern *)((const char *)table + i * stride);

		if (!path_matches(rp->path, uri, path_len, NULL, 0))
			continue;
		path_known = true;
		if (strlen(allow) + strlen(rp->method) + 3 < allow_cap) {
			if (*allow)
				strcat(allow, ", ");
			strcat(allow, rp->method);
		}
		if (!strcmp(rp->method, method)) {
			path_matches(rp->path, uri, path_len, id, id_cap);
			return (long)i;
		}
	}
	if (!path_known)
		allow[0] = '\0';
	return -1;
}

int router_parse_uint(const char *v, uint64_t max, uint64_t *out)
{
	uint64_t x = 0;
	size_t i;

	if (!*v || strlen(v) > 19)
		return -1;
	for (i = 0; v[i]; i++) {
		if (v[i] < '0' || v[i] > '9')
			return -1;
		x = x * 10 + (uint64_t)(v[i] - '0');
	}
	*out = x > max ? max : x;
	return 0;
}
