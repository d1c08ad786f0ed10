// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "b64.h"
#include "fileio.h"
#include "log.h"
#include "sign.h"
#include "signing_key.h"

static int write_public(const char *path, const uint8_t pub[32])
{
	char text[MESHNET_B64_LEN(32) + 2];
	uint8_t have[32];

	if (!meshnet_public_key_read(path, have) && !memcmp(have, pub, 32))
		return 0;
	meshnet_b64_encode(text, pub, 32);
	strcat(text, "\n");
	return meshnet_atomic_write(path, text, strlen(text), 0644);
}

EVP_PKEY *meshnet_signing_key_load(const char *path, const char *pub_path, bool create)
{
	uint8_t seed[MESHNET_ED25519_KEY_LEN], pub[MESHNET_ED25519_KEY_LEN];
	EVP_PKEY *key = NULL;

	if (meshnet_read_key_file(path, seed, sizeof(seed))) {
		if (errno != ENOENT || !create) {
			log_err("signing key %s: %s%s", path, strerror(errno),
				errno == EPERM ? " (the key file must be mode 0600)" :
				errno == EINVAL ? " (expected the base64 of a 32-byte Ed25519 seed)" :
				"");
			goto out;
		}
		if (meshnet_ed25519_generate(seed, pub) ||
		    meshnet_write_key_file(path, seed, sizeof(seed))) {
			log_err("signing key %s: could not create it: %s", path, strerror(errno));
			goto out;
		}
		log_info("Created the signing key %s", path);
	}
	key = meshnet_ed25519_private_from_raw(seed);
	if (!key || meshnet_ed25519_public_raw(key, pub)) {
		log_err("signing key %s: not a valid Ed25519 key", path);
		EVP_PKEY_free(key);
		key = NULL;
		goto out;
	}
	if (pub_path && write_public(pub_path, pub)) {
		log_err("public key %s: %s", pub_path, strerror(errno));
		EVP_PKEY_free(key);
		key = NULL;
	}
out:
	OPENSSL_cleanse(seed, sizeof(seed));
	return key;
}

int meshnet_public_key_read(const char *path, uint8_t pub[32])
{
	char *text;
	size_t len;
	int ret;

	text = meshnet_read_file(path, 4096, &len);
	if (!text)
		return -1;
	while (len && (text[len - 1] == '\n' || text[len - 1] == '\r'))
		text[--len] = '\0';
	ret = meshnet_b64_decode_exact(pub, 32, text);
	free(text);
	if (ret)
		errno = EINVAL;
	return ret;
}
