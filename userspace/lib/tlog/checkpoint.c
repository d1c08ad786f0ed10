// SPDX-License-Identifier: MIT
#include <string.h>

#include "b64.h"
#include "checkpoint.h"

int tlog_hash_from_b64(uint8_t out[TLOG_HASH_LEN], const char *b64)
{
	if (!b64 || strlen(b64) != 44)
		return TLOG_ERR_MALFORMED;
	return meshnet_b64_decode_exact(out, TLOG_HASH_LEN, b64) ? TLOG_ERR_MALFORMED : TLOG_OK;
}

void tlog_hash_to_b64(char out[45], const uint8_t h[TLOG_HASH_LEN])
{
	meshnet_b64_encode(out, h, TLOG_HASH_LEN);
}

int tlog_checkpoint_format(struct strbuf *sb, const struct tlog_checkpoint *c)
{
	char b64[45];

	if (!c->origin[0] || strchr(c->origin, '\n') || c->size > TLOG_MAX_SIZE)
		return TLOG_ERR_MALFORMED;
	tlog_hash_to_b64(b64, c->root);
	strbuf_printf(sb, "%s\n%llu\n%s\n", c->origin, (unsigned long long)c->size, b64);
	return sb->oom ? TLOG_ERR_NOMEM : TLOG_OK;
}

static const char *line_end(const char *p, const char *end)
{
	return memchr(p, '\n', (size_t)(end - p));
}

int tlog_checkpoint_parse(const char *text, size_t len, struct tlog_checkpoint *c)
{
	const char *p = text, *end = text + len, *nl;
	char b64[45];
	uint64_t size = 0;
	size_t n, i;

	memset(c, 0, sizeof(*c));
	/* origin */
	nl = line_end(p, end);
	if (!nl || nl == p || (size_t)(nl - p) > TLOG_ORIGIN_MAX || memchr(p, '\0', (size_t)(nl - p)))
		return TLOG_ERR_MALFORMED;
	memcpy(c->origin, p, (size_t)(nl - p));
	p = nl + 1;
	/* size: decimal, no leading zeros */
	nl = line_end(p, end);
	if (!nl)
		return TLOG_ERR_MALFORMED;
	n = (size_t)(nl - p);
	if (n == 0 || n > 19 || (n > 1 && p[0] == '0'))
		return TLOG_ERR_MALFORMED;
	for (i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return TLOG_ERR_MALFORMED;
		size = size * 10 + (uint64_t)(p[i] - '0');
	}
	if (size > TLOG_MAX_SIZE)
		return TLOG_ERR_MALFORMED;
	c->size = size;
	p = nl + 1;
	/* root hash */
	nl = line_end(p, end);
	if (!nl || nl - p != 44)
		return TLOG_ERR_MALFORMED;
	memcpy(b64, p, 44);
	b64[44] = '\0';
	if (tlog_hash_from_b64(c->root, b64))
		return TLOG_ERR_MALFORMED;
	p = nl + 1;
	/* extension lines: each non-empty */
	while (p < end) {
		nl = line_end(p, end);
		if (!nl || nl == p)
			return TLOG_ERR_MALFORMED;
		p = nl + 1;
	}
	return TLOG_OK;
}

int tlog_checkpoint_sign(struct strbuf *sb, const struct tlog_checkpoint *c, const char *key_name,
			 EVP_PKEY *key)
{
	struct strbuf body;
	int err;

	strbuf_init(&body);
	err = tlog_checkpoint_format(&body, c);
	if (!err)
		err = tlog_note_sign(sb, body.buf, body.len, key_name, key);
	strbuf_free(&body);
	return err;
}

int tlog_checkpoint_open(const char *note, size_t len, const struct tlog_note_verifier *v,
			 size_t nv, const char *want_origin, struct tlog_checkpoint *c,
			 uint64_t *verified)
{
	size_t text_len;
	int err;

	memset(c, 0, sizeof(*c));
	err = tlog_note_open(note, len, v, nv, &text_len, verified);
	if (err)
		return err;
	err = tlog_checkpoint_parse(note, text_len, c);
	if (err)
		return err;
	if (want_origin && strcmp(want_origin, c->origin))
		return TLOG_ERR_ORIGIN;
	return TLOG_OK;
}

int tlog_checkpoint_extends(const struct tlog_checkpoint *held,
			    const struct tlog_checkpoint *newer, const tlog_hash *proof, size_t len)
{
	if (strcmp(held->origin, newer->origin))
		return TLOG_ERR_ORIGIN;
	if (newer->size < held->size)
		return TLOG_ERR_ROLLBACK;
	return tlog_verify_consistency(held->size, newer->size, held->root, newer->root, proof, len);
}
