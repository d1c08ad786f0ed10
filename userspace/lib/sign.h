/* SPDX-License-Identifier: MIT */
/*
 * Ed25519 request signing between nodes and meshnetd (docs/PROTOCOL.md).
 *
 * The signed string is
 *     "meshnet-v2\n<audience>\n<METHOD>\n<PATH?QUERY>\n<timestamp>\n<nonce>\n"
 *     "<sha256hex(body)>\n"
 * where the audience is the mesh's id (MESH_ID on the controller and the
 * agents), so a request signed for one mesh's controller is no good at
 * another's. It travels in four headers: X-Meshnet-Node, X-Meshnet-Timestamp,
 * X-Meshnet-Nonce (32 lowercase hex chars) and X-Meshnet-Signature (base64
 * of the 64-byte signature).
 */
#ifndef MESHNET_SIGN_H
#define MESHNET_SIGN_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#define MESHNET_HDR_NODE "X-Meshnet-Node"
#define MESHNET_HDR_TIMESTAMP "X-Meshnet-Timestamp"
#define MESHNET_HDR_NONCE "X-Meshnet-Nonce"
#define MESHNET_HDR_SIGNATURE "X-Meshnet-Signature"

#define MESHNET_ED25519_KEY_LEN 32
#define MESHNET_ED25519_SIG_LEN 64
#define MESHNET_SIG_B64_LEN 88			/* base64 of the 64-byte signature */
#define MESHNET_NONCE_LEN 16			/* bytes; 32 hex chars */
#define MESHNET_NODE_ID_MAX 63			/* chars, see meshnet_node_id_valid() */
#define MESHNET_DEFAULT_CLOCK_SKEW 30		/* seconds */
#define MESHNET_DEFAULT_MESH_ID "meshnet"	/* the audience unless MESH_ID says otherwise */

/* The header values of one signed request, NUL-terminated strings. */
struct meshnet_signed_headers {
	char node[MESHNET_NODE_ID_MAX + 1];
	char timestamp[24];
	char nonce[2 * MESHNET_NONCE_LEN + 1];
	char signature[90];	/* base64 of 64 bytes is 88 chars */
};

/* Outcome of meshnet_verify_request(). */
enum meshnet_verify_result {
	MESHNET_VERIFY_OK = 0,
	MESHNET_VERIFY_MALFORMED,	/* a header missing or not well formed */
	MESHNET_VERIFY_BAD_SIGNATURE,	/* signature does not verify */
	MESHNET_VERIFY_STALE,		/* timestamp outside +-skew */
};

/* Ed25519 keys from the 32 raw bytes; NULL on error. EVP_PKEY_free() them. */
EVP_PKEY *meshnet_ed25519_private_from_raw(const uint8_t seed[MESHNET_ED25519_KEY_LEN]);
EVP_PKEY *meshnet_ed25519_public_from_raw(const uint8_t pub[MESHNET_ED25519_KEY_LEN]);
/* Same from the base64 text of the 32 bytes. */
EVP_PKEY *meshnet_ed25519_public_from_b64(const char *b64);
/* Writes the public half of key (32 raw bytes); 0 or -1. */
int meshnet_ed25519_public_raw(EVP_PKEY *key, uint8_t pub[MESHNET_ED25519_KEY_LEN]);
/* Fresh keypair (seed and public key, raw); 0 or -1. Wipe the seed after use. */
int meshnet_ed25519_generate(uint8_t seed[MESHNET_ED25519_KEY_LEN],
			     uint8_t pub[MESHNET_ED25519_KEY_LEN]);

/*
 * Builds the string to sign into buf (cap bytes). Returns its length, or -1
 * if it does not fit or an argument contains a newline.
 */
long meshnet_signing_string(char *buf, size_t cap, const char *audience, const char *method,
			    const char *path_query, const char *timestamp,
			    const char *nonce, const void *body, size_t body_len);

/*
 * Signs a request for audience (the mesh id) as node_id with the node's
 * Ed25519 private key.
 * timestamp: unix seconds (pass time(NULL)). A fresh random nonce is drawn
 * from the OS CSPRNG. path_query is the path with its query string exactly
 * as it will be sent. Fills out; returns 0 or -1.
 */
int meshnet_sign_request(EVP_PKEY *key, const char *audience, const char *node_id,
			 const char *method,
			 const char *path_query, const void *body, size_t body_len,
			 int64_t timestamp, struct meshnet_signed_headers *out);

/*
 * Verifies the four header values of a request against the node's public
 * key, for audience. now/skew_seconds bound the timestamp. Cheap checks
 * come first: a malformed header or a timestamp outside the window is
 * refused before any signature work. Any header may be NULL (then
 * MESHNET_VERIFY_MALFORMED). Each call uses a fresh verifier (OpenSSL 3.2
 * and later finalise one after a one-shot Ed25519 verify). Does not check
 * replays: the caller keeps a (node, nonce) cache over the skew window.
 */
enum meshnet_verify_result
meshnet_verify_request(EVP_PKEY *pub, const char *audience, const char *method,
		       const char *path_query,
		       const void *body, size_t body_len, const char *timestamp,
		       const char *nonce, const char *signature_b64,
		       int64_t now, int64_t skew_seconds);

/*
 * Ed25519 over domain || msg (domain: a fixed label ending in "\n", such as
 * "meshnet-attestation-v1\n", so a signature made for one purpose never
 * verifies for another). 0 or -1.
 */
int meshnet_ed25519_sign_domain(EVP_PKEY *key, const char *domain, const void *msg, size_t len,
				uint8_t sig[MESHNET_ED25519_SIG_LEN]);
/* 0 if sig is pub's signature of domain || msg, else -1. */
int meshnet_ed25519_verify_domain(EVP_PKEY *pub, const char *domain, const void *msg,
				  size_t len, const uint8_t sig[MESHNET_ED25519_SIG_LEN]);

/* Parses a decimal unix timestamp header (no sign, no spaces); 0 or -1. */
int meshnet_parse_timestamp(const char *s, int64_t *out);

/* Lowercase hex SHA-256 of data into out (65 bytes). */
void meshnet_sha256_hex(char out[65], const void *data, size_t len);

#endif
