// SPDX-License-Identifier: MIT
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <json-c/json.h>

#include "prefixes.h"

void prefix_range_of(const struct meshnet_prefix *p, struct prefix_range *out)
{
	unsigned int len = p->len, i;

	memset(out->lo, 0, 16);
	if (p->family == AF_INET) {
		out->lo[10] = out->lo[11] = 0xff;
		memcpy(out->lo + 12, p->addr, 4);
		len += 96;
	} else {
		memcpy(out->lo, p->addr, 16);
	}
	for (i = 0; i < 16; i++) {
		unsigned int bits = len > 8 * i ? len - 8 * i : 0;
		uint8_t mask = bits >= 8 ? 0xff : (uint8_t)(0xff00u >> bits);

		out->lo[i] &= mask;
		out->hi[i] = out->lo[i] | (uint8_t)~mask;
	}
}

static int cmp_lo(const void *a, const void *b)
{
	return memcmp(((const struct prefix_range *)a)->lo, ((const struct prefix_range *)b)->lo,
		      16);
}

static void ensure_sorted(struct prefix_index *idx)
{
	if (!idx->sorted) {
		if (idx->n > 1)
			qsort(idx->v, idx->n, sizeof(*idx->v), cmp_lo);
		idx->sorted = true;
	}
}

/* The first position whose lo is > r->lo. */
static size_t upper_bound(const struct prefix_index *idx, const uint8_t lo[16])
{
	size_t a = 0, b = idx->n;

	while (a < b) {
		size_t m = a + (b - a) / 2;

		if (memcmp(idx->v[m].lo, lo, 16) <= 0)
			a = m + 1;
		else
			b = m;
	}
	return a;
}

const void *prefixes_conflict(struct prefix_index *idx, const struct prefix_range *r)
{
	size_t pos;

	ensure_sorted(idx);
	pos = upper_bound(idx, r->lo);
	/* the range starting at or before r->lo, if it reaches r->lo */
	if (pos > 0 && memcmp(idx->v[pos - 1].hi, r->lo, 16) >= 0)
		return idx->v[pos - 1].owner;
	/* the next one, if it starts inside r */
	if (pos < idx->n && memcmp(idx->v[pos].lo, r->hi, 16) <= 0)
		return idx->v[pos].owner;
	return NULL;
}

int prefixes_add(struct prefix_index *idx, const struct prefix_range *r, bool bulk)
{
	size_t pos;

	if (idx->n == idx->cap) {
		size_t cap = idx->cap ? 2 * idx->cap : 64;
		struct prefix_range *v = realloc(idx->v, cap * sizeof(*v));

		if (!v)
			return -1;
		idx->v = v;
		idx->cap = cap;
	}
	if (bulk || !idx->n) {
		idx->v[idx->n++] = *r;
		idx->sorted = idx->n == 1;
		return 0;
	}
	ensure_sorted(idx);
	pos = upper_bound(idx, r->lo);
	memmove(&idx->v[pos + 1], &idx->v[pos], (idx->n - pos) * sizeof(*idx->v));
	idx->v[pos] = *r;
	idx->n++;
	return 0;
}

void prefixes_del(struct prefix_index *idx, const struct prefix_range *r)
{
	size_t pos, i;

	ensure_sorted(idx);
	pos = upper_bound(idx, r->lo);
	/* equal starts sit just before pos (overlaps loaded from old state) */
	for (i = pos; i-- > 0 && !memcmp(idx->v[i].lo, r->lo, 16);) {
		if (idx->v[i].owner == r->owner) {
			memmove(&idx->v[i], &idx->v[i + 1], (idx->n - i - 1) * sizeof(*idx->v));
			idx->n--;
			return;
		}
	}
}

void prefixes_free(struct prefix_index *idx)
{
	free(idx->v);
	memset(idx, 0, sizeof(*idx));
}

int prefixes_from_json(const char *allowed_ips_json, const void *owner,
		       struct prefix_range *out, size_t cap)
{
	struct json_object *arr = json_tokener_parse(allowed_ips_json);
	size_t i, n;
	int ret = -1;

	if (!arr || !json_object_is_type(arr, json_type_array))
		goto out;
	n = json_object_array_length(arr);
	if (n > cap)
		goto out;
	for (i = 0; i < n; i++) {
		struct meshnet_prefix p;
		const char *s = json_object_get_string(json_object_array_get_idx(arr, i));

		if (!s || meshnet_prefix_parse(s, &p))
			goto out;
		prefix_range_of(&p, &out[i]);
		out[i].owner = owner;
	}
	ret = (int)n;
out:
	json_object_put(arr);
	return ret;
}

long prefixes_first_overlap(struct prefix_range *ranges, size_t n)
{
	size_t i;

	if (n > 1)
		qsort(ranges, n, sizeof(*ranges), cmp_lo);
	/* Sorted by start: if any two meet, two neighbours do. */
	for (i = 1; i < n; i++)
		if (memcmp(ranges[i].lo, ranges[i - 1].hi, 16) <= 0)
			return (long)i;
	return -1;
}
