// SPDX-License-Identifier: MIT
#include <stdio.h>
#include <string.h>

#include "checkpoint.h"
#include "witness.h"

int tlog_witness_request_format(struct strbuf *out, uint64_t old_size, const tlog_hash *proof,
				size_t n_proof, const char *note, size_t note_len)
{
	char b64[45];

	strbuf_printf(out, "old %llu\n", (unsigned long long)old_size);
	for (size_t i = 0; i < n_proof; i++) {
		tlog_hash_to_b64(b64, proof[i]);
		strbuf_printf(out, "%s\n", b64);
	}
	strbuf_puts(out, "\n");
	strbuf_append(out, note, note_len);
	return out->oom ? TLOG_ERR_NOMEM : TLOG_OK;
}

/* A decimal without sign or leading zeros, at most TLOG_MAX_SIZE. */
static int parse_size(const char *s, size_t n, uint64_t *out)
{
	uint64_t v = 0;

	if (n == 0 || n > 19 || (n > 1 && s[0] == '0'))
		return TLOG_ERR_MALFORMED;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return TLOG_ERR_MALFORMED;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	if (v > TLOG_MAX_SIZE)
		return TLOG_ERR_MALFORMED;
	*out = v;
	return TLOG_OK;
}

int tlog_witness_request_parse(const char *body, size_t len, uint64_t *old, tlog_hash *proof,
			       size_t *n_proof, size_t *note_off)
{
	const char *p = body, *end = body + len, *nl;
	char b64[64];

	*n_proof = 0;
	if (len > TLOG_WITNESS_BODY_MAX || memchr(body, '\0', len))
		return TLOG_ERR_MALFORMED;
	nl = memchr(p, '\n', (size_t)(end - p));
	if (!nl || nl - p < 5 || memcmp(p, "old ", 4) ||
	    parse_size(p + 4, (size_t)(nl - p - 4), old))
		return TLOG_ERR_MALFORMED;
	for (p = nl + 1; p < end; p = nl + 1) {
		nl = memchr(p, '\n', (size_t)(end - p));
		if (!nl)
			return TLOG_ERR_MALFORMED;
		if (nl == p) {
			*note_off = (size_t)(nl + 1 - body);
			return *note_off < len ? TLOG_OK : TLOG_ERR_MALFORMED;
		}
		if (*n_proof == TLOG_MAX_PROOF || (size_t)(nl - p) >= sizeof(b64))
			return TLOG_ERR_MALFORMED;
		memcpy(b64, p, (size_t)(nl - p));
		b64[nl - p] = '\0';
		if (tlog_hash_from_b64(proof[*n_proof], b64))
			return TLOG_ERR_MALFORMED;
		(*n_proof)++;
	}
	return TLOG_ERR_MALFORMED;
}

int tlog_witness_size_parse(const char *body, size_t len, uint64_t *size)
{
	if (len < 2 || body[len - 1] != '\n')
		return TLOG_ERR_MALFORMED;
	return parse_size(body, len - 1, size);
}
