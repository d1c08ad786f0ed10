// SPDX-License-Identifier: MIT
/*
 * The controller's statement key (lib/signing_key.c does the file work):
 * CONTROLLER_KEY_FILE, or STATE_DIR/controller.key created at first start;
 * its public half goes to STATE_DIR/controller.pub and to `meshnetd pubkey`.
 * Several controllers of one mesh share one key file.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "b64.h"
#include "controller.h"
#include "log.h"
#include "sign.h"
#include "signing_key.h"

static EVP_PKEY *key_open(const struct controller_config *cfg, char pub_b64[48])
{
	char path[PATH_MAX], pub_path[PATH_MAX];
	uint8_t pub[MESHNET_ED25519_KEY_LEN];
	bool given = *cfg->controller_key_file;
	EVP_PKEY *key;

	if (given)
		snprintf(path, sizeof(path), "%s", cfg->controller_key_file);
	else
		snprintf(path, sizeof(path), "%s/controller.key", cfg->state_dir);
	snprintf(pub_path, sizeof(pub_path), "%s/controller.pub", cfg->state_dir);
	if (mkdir(cfg->state_dir, 0700) && errno != EEXIST) {
		log_err("state directory %s: %s", cfg->state_dir, strerror(errno));
		return NULL;
	}
	/* A given key file must exist: creating one would split the mesh's key. */
	key = meshnet_signing_key_load(path, pub_path, !given);
	if (!key)
		return NULL;
	if (meshnet_ed25519_public_raw(key, pub)) {
		EVP_PKEY_free(key);
		return NULL;
	}
	meshnet_b64_encode(pub_b64, pub, sizeof(pub));
	return key;
}

int controller_key_load(struct controller *c)
{
	c->statement_key = key_open(c->cfg, c->statement_pub_b64);
	if (!c->statement_key)
		return -1;
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
