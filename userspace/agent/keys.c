// SPDX-License-Identifier: MIT
/*
 * The node's WireGuard and Ed25519 keys: loaded from STATE_DIR, generated on
 * first start. File I/O (0600, atomic, wiped) is the shared library's.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "fileio.h"
#include "keys.h"
#include "sign.h"

int agent_wg_public_from_private(const uint8_t priv[AGENT_KEY_LEN], uint8_t pub[AGENT_KEY_LEN])
{
	EVP_PKEY *pkey = EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, NULL, priv, AGENT_KEY_LEN);
	size_t len = AGENT_KEY_LEN;
	int ret = -1;

	if (!pkey)
		return -1;
	if (EVP_PKEY_get_raw_public_key(pkey, pub, &len) == 1 && len == AGENT_KEY_LEN)
		ret = 0;
	EVP_PKEY_free(pkey);
	return ret;
}

static int generate_wg(uint8_t priv[AGENT_KEY_LEN], uint8_t pub[AGENT_KEY_LEN])
{
	if (RAND_priv_bytes(priv, AGENT_KEY_LEN) != 1)
		return -1;
	/* clamp like `wg genkey` */
	priv[0] &= 248;
	priv[31] = (priv[31] & 127) | 64;
	return agent_wg_public_from_private(priv, pub);
}

static int ed_public(const uint8_t seed[AGENT_KEY_LEN], uint8_t pub[AGENT_KEY_LEN])
{
	EVP_PKEY *key = meshnet_ed25519_private_from_raw(seed);
	int ret;

	if (!key)
		return -1;
	ret = meshnet_ed25519_public_raw(key, pub);
	EVP_PKEY_free(key);
	return ret;
}

typedef int (*keygen_fn)(uint8_t priv[AGENT_KEY_LEN], uint8_t pub[AGENT_KEY_LEN]);
typedef int (*pubkey_fn)(const uint8_t priv[AGENT_KEY_LEN], uint8_t pub[AGENT_KEY_LEN]);

static int load_or_create(const char *dir, const char *name, keygen_fn gen, pubkey_fn derive,
			  uint8_t priv[AGENT_KEY_LEN], uint8_t pub[AGENT_KEY_LEN], bool *created,
			  char *err, size_t errlen)
{
	char path[4096];

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) >= sizeof(path)) {
		snprintf(err, errlen, "STATE_DIR: path too long");
		return -1;
	}
	if (!meshnet_read_key_file(path, priv, AGENT_KEY_LEN)) {
		if (derive(priv, pub)) {
			snprintf(err, errlen, "%s: cannot derive the public key", path);
			return -1;
		}
		return 0;
	}
	if (errno == EPERM) {
		snprintf(err, errlen, "%s is readable by group or others: a key file must be mode 0600 (chmod 600 %s)",
			 path, path);
		return -1;
	}
	if (errno != ENOENT) {
		snprintf(err, errlen, "%s: %s", path,
			 errno == EINVAL ? "not the base64 of a 32-byte key" : strerror(errno));
		return -1;
	}
	if (gen(priv, pub)) {
		snprintf(err, errlen, "%s: key generation failed", path);
		return -1;
	}
	if (meshnet_write_key_file(path, priv, AGENT_KEY_LEN)) {
		snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno));
		return -1;
	}
	*created = true;
	return 0;
}

int agent_keys_load_or_create(const char *dir, struct agent_keys *k, bool *created,
			      char *err, size_t errlen)
{
	struct stat st;

	*created = false;
	if (mkdir(dir, 0700) && errno != EEXIST) {
		snprintf(err, errlen, "cannot create state directory %s: %s", dir, strerror(errno));
		return -1;
	}
	if (stat(dir, &st) || !S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "state directory %s is not a directory", dir);
		return -1;
	}
	if (load_or_create(dir, AGENT_WG_KEY_FILE, generate_wg, agent_wg_public_from_private,
			   k->wg_private, k->wg_public, created, err, errlen) ||
	    load_or_create(dir, AGENT_ED25519_KEY_FILE, meshnet_ed25519_generate, ed_public,
			   k->ed_seed, k->ed_public, created, err, errlen)) {
		agent_keys_wipe(k);
		return -1;
	}
	return 0;
}

void agent_keys_wipe(struct agent_keys *k)
{
	OPENSSL_cleanse(k->wg_private, sizeof(k->wg_private));
	OPENSSL_cleanse(k->ed_seed, sizeof(k->ed_seed));
}
