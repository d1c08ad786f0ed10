// SPDX-License-Identifier: MIT
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include "b64.h"
#include "merkle.h"
#include "note.h"

static const char em_dash_space[] = "\xe2\x80\x94 ";	/* U+2014, U+0020 */

/* Decodes one UTF-8 sequence at p (< end); returns its length or 0 if invalid. */
static size_t utf8_next(const unsigned char *p, const unsigned char *end, uint32_t *cp)
{
	size_t n, i;
	uint32_t c;

	if (p[0] < 0x80) {
		*cp = p[0];
		return 1;
	}
	if (p[0] >= 0xc2 && p[0] <= 0xdf) {
		n = 2;
		c = p[0] & 0x1f;
	} else if (p[0] >= 0xe0 && p[0] <= 0xef) {
		n = 3;
		c = p[0] & 0x0f;
	} else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
		n = 4;
		c = p[0] & 0x07;
	} else {
		return 0;
	}
	if ((size_t)(end - p) < n)
		return 0;
	for (i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		c = (c << 6) | (p[i] & 0x3f);
	}
	/* overlong, surrogates, beyond U+10FFFF */
	if ((n == 3 && c < 0x800) || (n == 4 && (c < 0x10000 || c > 0x10ffff)) ||
	    (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return n;
}

static bool unicode_space(uint32_t c)
{
	return c == ' ' || (c >= 0x09 && c <= 0x0d) || c == 0x85 || c == 0xa0 || c == 0x1680 ||
	       (c >= 0x2000 && c <= 0x200a) || c == 0x2028 || c == 0x2029 || c == 0x202f ||
	       c == 0x205f || c == 0x3000;
}

/* UTF-8 without control characters other than newline. */
static bool text_valid(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s, *end = p + len;
	uint32_t c;

	while (p < end) {
		size_t n = utf8_next(p, end, &c);

		if (!n || (c < 0x20 && c != '\n') || c == 0x7f)
			return false;
		p += n;
	}
	return true;
}

static bool name_valid_n(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s, *end = p + len;
	uint32_t c;

	if (len == 0 || len > TLOG_NAME_MAX)
		return false;
	while (p < end) {
		size_t n = utf8_next(p, end, &c);

		if (!n || c < 0x20 || c == 0x7f || c == '+' || unicode_space(c))
			return false;
		p += n;
	}
	return true;
}

int tlog_note_name_valid(const char *name)
{
	return name && name_valid_n(name, strlen(name));
}

/* A note text: non-empty, ends in a newline, no blank line, UTF-8, no controls. */
static bool note_text_valid(const char *text, size_t len)
{
	return len > 0 && text[len - 1] == '\n' && text[0] != '\n' && !memmem(text, len, "\n\n", 2) &&
	       text_valid(text, len);
}

uint32_t tlog_note_key_id(const char *name, const uint8_t pub[32])
{
	return tlog_note_key_id_alg(name, TLOG_ED25519_ALG, pub);
}

uint32_t tlog_note_key_id_alg(const char *name, uint8_t alg, const uint8_t pub[32])
{
	size_t n = strlen(name);
	uint8_t buf[TLOG_NAME_MAX + 2 + 32], md[SHA256_DIGEST_LENGTH];

	if (n > TLOG_NAME_MAX)
		n = TLOG_NAME_MAX;
	memcpy(buf, name, n);
	buf[n] = '\n';
	buf[n + 1] = alg;
	memcpy(buf + n + 2, pub, 32);
	SHA256(buf, n + 2 + 32, md);
	return (uint32_t)md[0] << 24 | (uint32_t)md[1] << 16 | (uint32_t)md[2] << 8 | md[3];
}

int tlog_verifier_from_pub(struct tlog_note_verifier *v, const char *name, const uint8_t pub[32])
{
	memset(v, 0, sizeof(*v));
	if (!tlog_note_name_valid(name))
		return TLOG_ERR_MALFORMED;
	v->pkey = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, pub, 32);
	if (!v->pkey)
		return TLOG_ERR_MALFORMED;
	strcpy(v->name, name);
	memcpy(v->pub, pub, 32);
	v->alg = TLOG_ED25519_ALG;
	v->key_id = tlog_note_key_id(name, pub);
	return TLOG_OK;
}

int tlog_cosigner_from_pub(struct tlog_note_verifier *v, const char *name, const uint8_t pub[32])
{
	int err = tlog_verifier_from_pub(v, name, pub);

	if (err)
		return err;
	v->alg = TLOG_COSIGNATURE_ALG;
	v->key_id = tlog_note_key_id_alg(name, TLOG_COSIGNATURE_ALG, pub);
	return TLOG_OK;
}

int tlog_verifier_parse(struct tlog_note_verifier *v, const char *vkey)
{
	const char *plus1 = strchr(vkey, '+'), *plus2;
	char name[TLOG_NAME_MAX + 1], hex[9];
	uint8_t raw[33], id[4];
	uint32_t want;
	int err;

	memset(v, 0, sizeof(*v));
	if (!plus1 || (size_t)(plus1 - vkey) > TLOG_NAME_MAX)
		return TLOG_ERR_MALFORMED;
	plus2 = strchr(plus1 + 1, '+');
	if (!plus2 || plus2 - plus1 != 9)
		return TLOG_ERR_MALFORMED;
	memcpy(name, vkey, (size_t)(plus1 - vkey));
	name[plus1 - vkey] = '\0';
	memcpy(hex, plus1 + 1, 8);
	hex[8] = '\0';
	/* lowercase hex only, as Go writes it */
	if (strspn(hex, "0123456789abcdef") != 8 || meshnet_hex_decode(id, 4, hex))
		return TLOG_ERR_MALFORMED;
	if (meshnet_b64_decode(raw, sizeof(raw), plus2 + 1) != 33 ||
	    (raw[0] != TLOG_ED25519_ALG && raw[0] != TLOG_COSIGNATURE_ALG))
		return TLOG_ERR_MALFORMED;
	err = raw[0] == TLOG_ED25519_ALG ? tlog_verifier_from_pub(v, name, raw + 1) :
	      tlog_cosigner_from_pub(v, name, raw + 1);
	if (err)
		return err;
	want = (uint32_t)id[0] << 24 | (uint32_t)id[1] << 16 | (uint32_t)id[2] << 8 | id[3];
	if (want != v->key_id) {
		tlog_verifier_free(v);
		return TLOG_ERR_MALFORMED;
	}
	return TLOG_OK;
}

void tlog_verifier_format(const struct tlog_note_verifier *v, char out[TLOG_VKEY_MAX])
{
	uint8_t raw[33];
	char b64[MESHNET_B64_LEN(33) + 1];

	raw[0] = v->alg ? v->alg : TLOG_ED25519_ALG;
	memcpy(raw + 1, v->pub, 32);
	meshnet_b64_encode(b64, raw, sizeof(raw));
	snprintf(out, TLOG_VKEY_MAX, "%s+%08x+%s", v->name, v->key_id, b64);
}

void tlog_verifier_free(struct tlog_note_verifier *v)
{
	EVP_PKEY_free(v->pkey);
	v->pkey = NULL;
}

static int ed25519_sign(EVP_PKEY *key, const void *msg, size_t len, uint8_t sig[64])
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	size_t sig_len = 64;
	int ok;

	if (!ctx)
		return -1;
	ok = EVP_DigestSignInit(ctx, NULL, NULL, NULL, key) == 1 &&
	     EVP_DigestSign(ctx, sig, &sig_len, msg, len) == 1 && sig_len == 64;
	EVP_MD_CTX_free(ctx);
	return ok ? 0 : -1;
}

static bool ed25519_verify(EVP_PKEY *key, const void *msg, size_t len, const uint8_t sig[64])
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	bool ok;

	if (!ctx)
		return false;
	ok = EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, key) == 1 &&
	     EVP_DigestVerify(ctx, sig, 64, msg, len) == 1;
	EVP_MD_CTX_free(ctx);
	return ok;
}

/* "— <name> <base64 blob>\n" */
static int append_line(struct strbuf *out, const char *name, const uint8_t *blob, size_t n)
{
	char b64[MESHNET_B64_LEN(4 + 8 + 64) + 1];

	meshnet_b64_encode(b64, blob, n);
	strbuf_puts(out, em_dash_space);
	strbuf_puts(out, name);
	strbuf_puts(out, " ");
	strbuf_puts(out, b64);
	strbuf_puts(out, "\n");
	return out->oom ? TLOG_ERR_NOMEM : TLOG_OK;
}

int tlog_note_signature_line(struct strbuf *out, const char *text, size_t len, const char *name,
			     EVP_PKEY *key)
{
	uint8_t pub[32], blob[4 + 64];
	size_t pub_len = sizeof(pub);
	uint32_t id;

	if (!note_text_valid(text, len) || !tlog_note_name_valid(name))
		return TLOG_ERR_MALFORMED;
	if (EVP_PKEY_get_raw_public_key(key, pub, &pub_len) != 1 || pub_len != 32)
		return TLOG_ERR_MALFORMED;
	id = tlog_note_key_id(name, pub);
	blob[0] = (uint8_t)(id >> 24);
	blob[1] = (uint8_t)(id >> 16);
	blob[2] = (uint8_t)(id >> 8);
	blob[3] = (uint8_t)id;
	if (ed25519_sign(key, text, len, blob + 4))
		return TLOG_ERR_SIGNATURE;
	return append_line(out, name, blob, sizeof(blob));
}

/* "cosignature/v1\ntime <t>\n" || text, into a fresh buffer (free it). */
static uint8_t *cosigned_message(const char *text, size_t len, uint64_t t, size_t *out_len)
{
	char head[64];
	int n = snprintf(head, sizeof(head), "cosignature/v1\ntime %llu\n", (unsigned long long)t);
	uint8_t *m = malloc((size_t)n + len);

	if (!m)
		return NULL;
	memcpy(m, head, (size_t)n);
	memcpy(m + n, text, len);
	*out_len = (size_t)n + len;
	return m;
}

int tlog_note_cosignature_line(struct strbuf *out, const char *text, size_t len,
			       const char *name, EVP_PKEY *key, uint64_t timestamp)
{
	uint8_t pub[32], blob[4 + 8 + 64], *m;
	size_t pub_len = sizeof(pub), mlen;
	uint32_t id;
	int i, err;

	if (!note_text_valid(text, len) || !tlog_note_name_valid(name))
		return TLOG_ERR_MALFORMED;
	if (EVP_PKEY_get_raw_public_key(key, pub, &pub_len) != 1 || pub_len != 32)
		return TLOG_ERR_MALFORMED;
	id = tlog_note_key_id_alg(name, TLOG_COSIGNATURE_ALG, pub);
	for (i = 0; i < 4; i++)
		blob[i] = (uint8_t)(id >> (24 - 8 * i));
	for (i = 0; i < 8; i++)
		blob[4 + i] = (uint8_t)(timestamp >> (56 - 8 * i));
	m = cosigned_message(text, len, timestamp, &mlen);
	if (!m)
		return TLOG_ERR_NOMEM;
	err = ed25519_sign(key, m, mlen, blob + 12) ? TLOG_ERR_SIGNATURE : TLOG_OK;
	free(m);
	if (err)
		return err;
	return append_line(out, name, blob, sizeof(blob));
}

/* A cosignature/v1 blob (id, timestamp, signature) over text, by v. */
static bool cosignature_verify(const struct tlog_note_verifier *v, const char *text, size_t len,
			       const uint8_t *blob, uint64_t *t)
{
	uint8_t *m;
	size_t mlen;
	bool ok;

	*t = 0;
	for (int i = 0; i < 8; i++)
		*t = *t << 8 | blob[4 + i];
	m = cosigned_message(text, len, *t, &mlen);
	if (!m)
		return false;
	ok = ed25519_verify(v->pkey, m, mlen, blob + 12);
	free(m);
	return ok;
}

int tlog_note_sign(struct strbuf *out, const char *text, size_t len, const char *name,
		   EVP_PKEY *key)
{
	if (!note_text_valid(text, len))
		return TLOG_ERR_MALFORMED;
	strbuf_append(out, text, len);
	strbuf_puts(out, "\n");
	return tlog_note_signature_line(out, text, len, name, key);
}

int tlog_note_open(const char *msg, size_t len, const struct tlog_note_verifier *v, size_t nv,
		   size_t *text_len, uint64_t *verified)
{
	const char *p, *end = msg + len, *split = NULL, *s;
	size_t nsigs = 0, i;
	uint64_t seen = 0;

	*text_len = 0;
	*verified = 0;
	if (len == 0 || len > TLOG_NOTE_MAX_LEN || memchr(msg, '\0', len) || !text_valid(msg, len))
		return TLOG_ERR_MALFORMED;
	if (msg[len - 1] != '\n')
		return TLOG_ERR_MALFORMED;
	/* The text ends at the last blank line: signature lines hold none. */
	for (s = msg; (s = memmem(s, (size_t)(end - s), "\n\n", 2)); s++)
		split = s;
	if (!split)
		return TLOG_ERR_MALFORMED;
	if (!note_text_valid(msg, (size_t)(split - msg) + 1))
		return TLOG_ERR_MALFORMED;
	for (p = split + 2; p < end;) {
		const char *nl = memchr(p, '\n', (size_t)(end - p)), *name, *sp;
		uint8_t blob[192];
		char b64[256];
		uint32_t id;
		long n;

		if (++nsigs > TLOG_NOTE_MAX_SIGS)
			return TLOG_ERR_MALFORMED;
		if ((size_t)(nl - p) < sizeof(em_dash_space) - 1 ||
		    memcmp(p, em_dash_space, sizeof(em_dash_space) - 1))
			return TLOG_ERR_MALFORMED;
		name = p + sizeof(em_dash_space) - 1;
		sp = memchr(name, ' ', (size_t)(nl - name));
		if (!sp || !name_valid_n(name, (size_t)(sp - name)) ||
		    (size_t)(nl - sp - 1) >= sizeof(b64) || nl - sp - 1 == 0)
			return TLOG_ERR_MALFORMED;
		memcpy(b64, sp + 1, (size_t)(nl - sp - 1));
		b64[nl - sp - 1] = '\0';
		n = meshnet_b64_decode(blob, sizeof(blob), b64);
		if (n < 5)
			return TLOG_ERR_MALFORMED;
		id = (uint32_t)blob[0] << 24 | (uint32_t)blob[1] << 16 | (uint32_t)blob[2] << 8 |
		     blob[3];
		for (i = 0; i < nv && i < 64; i++) {
			if (v[i].key_id != id || strlen(v[i].name) != (size_t)(sp - name) ||
			    memcmp(v[i].name, name, (size_t)(sp - name)))
				continue;
			if (seen & ((uint64_t)1 << i))
				break;	/* a key's first signature decides */
			seen |= (uint64_t)1 << i;
			if (v[i].alg == TLOG_COSIGNATURE_ALG) {
				uint64_t t;

				if (n != 4 + 8 + 64 ||
				    !cosignature_verify(&v[i], msg, (size_t)(split - msg) + 1, blob,
							&t))
					return TLOG_ERR_SIGNATURE;
			} else if (n != 4 + 64 || !ed25519_verify(v[i].pkey, msg,
								  (size_t)(split - msg) + 1,
								  blob + 4)) {
				return TLOG_ERR_SIGNATURE;
			}
			*verified |= (uint64_t)1 << i;
			break;
		}
		p = nl + 1;
	}
	if (nsigs == 0)
		return TLOG_ERR_MALFORMED;
	if (!*verified)
		return TLOG_ERR_NO_SIGNATURE;
	*text_len = (size_t)(split - msg) + 1;
	return TLOG_OK;
}
