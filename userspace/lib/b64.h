/* SPDX-License-Identifier: MIT */
/* Standard base64 (RFC 4648, with '=' padding) and lowercase hex. */
#ifndef MESHNET_B64_H
#define MESHNET_B64_H

#include <stddef.h>
#include <stdint.h>

/* Length of the base64 text for n bytes, without the NUL. */
#define MESHNET_B64_LEN(n) ((((n) + 2) / 3) * 4)

/*
 * Encodes len bytes into out (at least MESHNET_B64_LEN(len) + 1 bytes).
 * Returns the text length (always NUL-terminated).
 */
size_t meshnet_b64_encode(char *out, const uint8_t *in, size_t len);

/*
 * Decodes strict, padded base64 text into out (out_cap bytes). Returns the
 * number of bytes, or -1 on any malformed input (bad character, bad padding,
 * non-zero trailing bits, output too small).
 */
long meshnet_b64_decode(uint8_t *out, size_t out_cap, const char *in);

/* Decodes exactly n bytes; returns 0 or -1. */
int meshnet_b64_decode_exact(uint8_t *out, size_t n, const char *in);

/* Lowercase hex of len bytes into out (2 * len + 1 bytes). */
void meshnet_hex_encode(char *out, const uint8_t *in, size_t len);

/* Parses exactly 2 * len lowercase or uppercase hex chars; 0 or -1. */
int meshnet_hex_decode(uint8_t *out, size_t len, const char *in);

#endif
