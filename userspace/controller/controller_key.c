// SPDX-License-Identifier: MIT
/*
 * The controller's statement key: Ed25519, the base64 of its 32-byte seed in
 * a 0600 file (CONTROLLER_KEY_FILE, or STATE_DIR/controller.key created at
 * first start); its public half goes to STATE_DIR/controller.pub and to
 * `meshnetd pubkey`. Several controllers of one mesh share one key file.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/crypto.h>

#include "b64.h"
#include "controller.h"
#include "fileio.h"
#include "log.h"
#include "sign.h"

/* Reads (or, in the state directory, creates) the key; 0 or -1 (logged). */
static EVP_PKEY *key_open(const struct controller_config *cfg, char pub_b64[48])
{
	uint8_t seed[MESHNET_ED25519_KEY_LEN], pub[MESHNET_ED25519_KEY_LEN];
	char path[PATH_MAX];
	EVP_PKEY *key = NULL;
	bool given = *cfg->controller_key_file;

	if (given)
		snprintf(path, sizeof(path), "%s", cfg->controller_key_file);
	else
		snprintf(path, sizeof(path), "%s/controller.key", cfg->state_dir);
	if (meshnet_read_key_file(path, seed, sizeof(seed))) {
		if (errno != ENOENT || given) {
			log_err("%s %s: %s%s", given ? "CONTROLLER_KEY_FILE" : "controller key",
				path, strerror(errno),
				errno == EPERM ? " (the key file must be mode 0600)" :
				errno == ENOENT ? "" : " (expected the base64 of 32 bytes)");
			return NULL;
		}
		if (mkdir(cfg->state_dir, 0700) && errno != EEXIST) {
			log_err("state directory %s: %s", cfg->state_dir, strerror(errno));
			return NULL;
		}
		if (meshnet_ed25519_generate(seed, pub) ||
		    meshnet_write_key_file(path, seed, sizeof(seed))) {
			log_err("controller key %s: could not create it: %s", path, strerror(errno));
			OPENSSL_cleanse(seed, sizeof(seed));
			return NULL;
		}
		log_info("Created the controller's statement key %s", path);
	}
	key = meshnet_ed25519_private_from_raw(seed);
	OPENSSL_cleanse(seed, sizeof(seed));
	if (!key || meshnet_ed25519_public_raw(key, pub)) {
		log_err("controller key %s: not a usable Ed25519 key", path);
		EVP_PKEY_free(key);
		return NULL;
	}
	meshnet_b64_encode(pub_b64, pub, sizeof(pub));
	return key;
}

int controller_key_load(struct controller *c)
{
	char path[PATH_MAX], line[64];

	c->statement_key = key_open(c->cfg, c->statement_pub_b64);
	if (!c->statement_key)
		return -1;
	snprintf(path, sizeof(path), "%s/controller.pub", c->cfg->state_dir);
	snprintf(line, sizeof(line), "%s\n", c->statement_pub_b64);
	if (meshnet_atomic_write(path, line, strlen(line), 0644))
		log_warn("%s: %s (the public key is also printed by `meshnetd pubkey`)", path,
			 strerror(errno));
	log_info("Statement key: %s", c->statement_pub_b64);
	return 0;
}

int controller_key_print(const struct controller_config *cfg)
{
	char pub[48];
	EVP_PKEY *key = key_open(cfg, pub);

	if (!key)
		return 1;
	EVP_PKEY_free(key);
	printf("%s\n", pub);
	return 0;
}
