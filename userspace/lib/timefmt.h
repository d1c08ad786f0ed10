/* SPDX-License-Identifier: MIT */
/* RFC 3339 UTC timestamps ("2026-01-05T12:34:56Z"). */
#ifndef MESHNET_TIMEFMT_H
#define MESHNET_TIMEFMT_H

#include <stdint.h>

#define MESHNET_RFC3339_LEN 21	/* with the NUL */

/* Formats unix seconds as "YYYY-MM-DDTHH:MM:SSZ". */
void meshnet_rfc3339_format(char out[MESHNET_RFC3339_LEN], int64_t unix_seconds);

/*
 * Parses an RFC 3339 date-time: "YYYY-MM-DDTHH:MM:SS" with optional
 * fraction, then "Z" or "+HH:MM"/"-HH:MM". Checks ranges (month days,
 * leap years). Returns 0 and unix seconds, or -1.
 */
int meshnet_rfc3339_parse(const char *s, int64_t *unix_seconds);

/* Monotonic clock in nanoseconds. */
uint64_t meshnet_now_ns(void);

#endif
