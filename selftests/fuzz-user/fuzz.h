/* SPDX-License-Identifier: MIT */
/* Shared bits of the libFuzzer targets of selftests/fuzz-user/. */
#ifndef MESHNET_FUZZ_H
#define MESHNET_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A NUL-terminated malloc'd copy of the input (NULL on OOM). */
static inline char *fuzz_strndup(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);

	if (s) {
		memcpy(s, data, size);
		s[size] = '\0';
	}
	return s;
}

/*
 * Splits the input at its first n-1 newlines into n NUL-terminated fields
 * (the last gets the rest); fields[] point into buf. Returns the number
 * found (missing ones are "").
 */
static inline int fuzz_split(char *buf, char **fields, int n)
{
	int i, got = 1;

	fields[0] = buf;
	for (i = 1; i < n; i++) {
		char *nl = fields[i - 1] ? strchr(fields[i - 1], '\n') : NULL;

		if (nl) {
			*nl = '\0';
			fields[i] = nl + 1;
			got++;
		} else {
			fields[i] = (char *)"";
		}
	}
	return got;
}

#endif
