/* SPDX-License-Identifier: MIT */
/*
 * The controller's Ed25519 signing key (docs/security.md): one key signs
 * statements (replies that change a node's kernel) and transparency-log
 * checkpoints. The private file holds the base64 of the 32-byte seed, mode
 * 0600 (refused if group/other can read it); the public file the base64 of
 * the 32-byte public key, mode 0644, for agents and offline verifiers.
 */
#ifndef MESHNET_SIGNING_KEY_H
#define MESHNET_SIGNING_KEY_H

#include <stdbool.h>
#include <stdint.h>

#include <openssl/evp.h>

/*
 * Loads the key at path. If it does not exist and create is true, makes a
 * fresh one (OS CSPRNG) first. pub_path (or NULL) is (re)written with the
 * public key whenever it is missing or differs. Logs what went wrong and
 * returns NULL on error. EVP_PKEY_free() the result.
 */
EVP_PKEY *meshnet_signing_key_load(const char *path, const char *pub_path, bool create);

/* Reads a public key file (base64 of 32 bytes); 0 or -1 (errno). */
int meshnet_public_key_read(const char *path, uint8_t pub[32]);

#endif
