/* SPDX-License-Identifier: MIT */
/*
 * The overlay address plan: which node holds which prefix. The module maps
 * an inner address to exactly one peer, so no two nodes' allowed_ips may
 * overlap; enrolment asks prefixes_conflict() first.
 *
 * Prefixes are kept as address ranges [lo, hi] (IPv4 as v4-mapped IPv6) in
 * one array sorted by lo. Enrolled prefixes are pairwise disjoint, so one
 * binary search answers "does this range meet any" in O(log n). Bulk loads
 * append and sort once, on the next lookup.
 */
#ifndef MESHNETD_PREFIXES_H
#define MESHNETD_PREFIXES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ids.h"

struct prefix_range {
	uint8_t lo[16], hi[16];
	const void *owner;
};

struct prefix_index {
	struct prefix_range *v;
	size_t n, cap;
	bool sorted;
};

void prefix_range_of(const struct meshnet_prefix *p, struct prefix_range *out);
/* The owner of a range that meets [lo, hi], or NULL. */
const void *prefixes_conflict(struct prefix_index *idx, const struct prefix_range *r);
/* Adds r; bulk (loading) appends and leaves the sort to the next lookup. 0 or -1. */
int prefixes_add(struct prefix_index *idx, const struct prefix_range *r, bool bulk);
/* Removes the range starting at r->lo held by r->owner. */
void prefixes_del(struct prefix_index *idx, const struct prefix_range *r);
void prefixes_free(struct prefix_index *idx);
/*
 * The ranges of a JSON array text of prefixes (["10.0.0.1/32",...]), as
 * stored in a node's allowed_ips_json, into out (at most cap); returns how
 * many, or -1 if one does not parse.
 */
int prefixes_from_json(const char *allowed_ips_json, const void *owner,
		       struct prefix_range *out, size_t cap);
/* Sorts ranges[0..n) and tells whether two of them meet (index of the later one, or -1). */
long prefixes_first_overlap(struct prefix_range *ranges, size_t n);

#endif
