/* SPDX-License-Identifier: MIT */
/*
 * C2SP signed-note (https://c2sp.org/signed-note), Ed25519 keys only:
 *
 *   <text ending in "\n">
 *   "\n"
 *   "— <key name> <base64(key id[4] || Ed25519 signature[64])>\n"   (one or more)
 *
 * key id = SHA-256(key name || 0x0A || 0x01 || public key)[:4] (big-endian).
 * A verifier key is written "<name>+<8 hex key id>+<base64(0x01 || public key)>",
 * as Go's golang.org/x/mod/sumdb/note prints it.
 *
 * Opening a note is strict: the whole message must be UTF-8 without control
 * characters other than newline, every signature line well formed, at most
 * TLOG_NOTE_MAX_SIGS of them; a line from a known key (same name and key id)
 * that does not verify rejects the note; lines from unknown keys are
 * skipped (they may be witnesses' cosignatures).
 *
 * Witnesses (C2SP tlog-cosignature, https://c2sp.org/tlog-cosignature)
 * sign with cosignature/v1 keys (algorithm byte 0x04): the line's blob is
 * key id[4] || timestamp[8, big-endian unix s] || Ed25519 signature[64] over
 * "cosignature/v1\ntime <timestamp>\n" || note text; key id =
 * SHA-256(name || 0x0A || 0x04 || public key)[:4].
 */
#ifndef MESHNET_TLOG_NOTE_H
#define MESHNET_TLOG_NOTE_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "strbuf.h"

#define TLOG_NAME_MAX 255
#define TLOG_NOTE_MAX_SIGS 100
#define TLOG_NOTE_MAX_LEN (1u << 20)
#define TLOG_ED25519_ALG 0x01
#define TLOG_COSIGNATURE_ALG 0x04	/* cosignature/v1 (witnesses) */
/* "name+xxxxxxxx+" + base64 of 33 bytes */
#define TLOG_VKEY_MAX (TLOG_NAME_MAX + 1 + 8 + 1 + 44 + 1)

struct tlog_note_verifier {
	char name[TLOG_NAME_MAX + 1];
	uint32_t key_id;
	uint8_t pub[32];
	uint8_t alg;		/* TLOG_ED25519_ALG or TLOG_COSIGNATURE_ALG */
	EVP_PKEY *pkey;
};

/* Is name a valid key name (non-empty UTF-8, no spaces, no '+')? */
int tlog_note_name_valid(const char *name);

uint32_t tlog_note_key_id(const char *name, const uint8_t pub[32]);
uint32_t tlog_note_key_id_alg(const char *name, uint8_t alg, const uint8_t pub[32]);

/* From a name and the raw public key; 0 or a negative enum tlog_error. */
int tlog_verifier_from_pub(struct tlog_note_verifier *v, const char *name, const uint8_t pub[32]);
/* The same for a witness's cosignature/v1 key. */
int tlog_cosigner_from_pub(struct tlog_note_verifier *v, const char *name, const uint8_t pub[32]);
/* From "name+hash+base64" text: checks the name, the algorithm (0x01 or 0x04), the key id. */
int tlog_verifier_parse(struct tlog_note_verifier *v, const char *vkey);
/* "name+hash+base64" into out (TLOG_VKEY_MAX bytes). */
void tlog_verifier_format(const struct tlog_note_verifier *v, char out[TLOG_VKEY_MAX]);
void tlog_verifier_free(struct tlog_note_verifier *v);

/*
 * Appends the signature line of text by (name, key) to out. text must be a
 * valid note text (ends in "\n", no blank line, UTF-8, no control chars).
 */
int tlog_note_signature_line(struct strbuf *out, const char *text, size_t len, const char *name,
			     EVP_PKEY *key);
/*
 * Appends a witness's cosignature/v1 line of text (a checkpoint) by (name,
 * key) at timestamp to out.
 */
int tlog_note_cosignature_line(struct strbuf *out, const char *text, size_t len,
			       const char *name, EVP_PKEY *key, uint64_t timestamp);
/* Appends text, the blank line and its signature line: a whole signed note. */
int tlog_note_sign(struct strbuf *out, const char *text, size_t len, const char *name,
		   EVP_PKEY *key);

/*
 * Opens a signed note against nv known verifiers. On success *text_len is
 * the length of the signed text (msg[0..text_len)) and bit i of *verified
 * is set for each verifier i (< 64) whose signature verified (a cosigner's
 * cosignature/v1 line counts as its signature); at least one did. Errors: TLOG_ERR_MALFORMED, TLOG_ERR_SIGNATURE (a known key's
 * signature is wrong), TLOG_ERR_NO_SIGNATURE (no known key signed it).
 */
int tlog_note_open(const char *msg, size_t len, const struct tlog_note_verifier *v, size_t nv,
		   size_t *text_len, uint64_t *verified);

#endif
