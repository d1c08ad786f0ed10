// SPDX-License-Identifier: MIT
/*
 * The signature headers of a node request, as meshnetd checks them
 * (userspace/lib/sign.c): input lines are method, path?query, timestamp,
 * nonce, signature, then the body. A fixed key; the verifier must never
 * crash and must never accept (the fuzzer cannot forge Ed25519).
 */
#include <stdio.h>

#include "fuzz.h"
#include "sign.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static EVP_PKEY *pub;
	char *buf, *f[6], str[4096];
	enum meshnet_verify_result r;
	int64_t ts;

	if (!pub) {
		uint8_t raw[32] = { 0 }, pk[32];
		EVP_PKEY *priv = meshnet_ed25519_private_from_raw(raw);

		meshnet_ed25519_public_raw(priv, pk);
		EVP_PKEY_free(priv);
		pub = meshnet_ed25519_public_from_raw(pk);
	}
	buf = fuzz_strndup(data, size);
	if (!buf)
		return 0;
	fuzz_split(buf, f, 6);
	meshnet_parse_timestamp(f[2], &ts);
	meshnet_signing_string(str, sizeof(str), "meshnet", f[0], f[1], f[2], f[3], f[5],
			       strlen(f[5]));
	r = meshnet_verify_request(pub, "meshnet", f[0], f[1], f[5], strlen(f[5]), f[2], f[3], f[4],
				   1767225600, 30);
	if (r == MESHNET_VERIFY_OK)
		abort();	/* a forgery */
	free(buf);
	return 0;
}
