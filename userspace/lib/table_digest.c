// SPDX-License-Identifier: MIT
#include <string.h>

#include <openssl/sha.h>

#include "b64.h"
#include "table_digest.h"

#define TERM_LABEL "meshnet peer v2"

void meshnet_table_digest_init(struct meshnet_table_digest *d)
{
	memset(d, 0, sizeof(*d));
}

void meshnet_table_digest_term(uint8_t out[32], const uint8_t pub[32], uint8_t verdict)
{
	uint8_t msg[sizeof(TERM_LABEL) - 1 + 32 + 1];

	memcpy(msg, TERM_LABEL, sizeof(TERM_LABEL) - 1);
	memcpy(msg + sizeof(TERM_LABEL) - 1, pub, 32);
	msg[sizeof(msg) - 1] = verdict;
	SHA256(msg, sizeof(msg), out);
}

/* sum += term (or -= term), mod 2^256, big-endian */
void meshnet_table_digest_add_term(struct meshnet_table_digest *d, const uint8_t term[32],
				   int subtract)
{
	unsigned int carry = subtract ? 1 : 0; /* a - b = a + ~b + 1 */

	for (int i = MESHNET_TABLE_DIGEST_LEN - 1; i >= 0; i--) {
		unsigned int t = subtract ? (uint8_t)~term[i] : term[i];
		unsigned int s = d->sum[i] + t + carry;

		d->sum[i] = (uint8_t)s;
		carry = s >> 8;
	}
}

void meshnet_table_digest_add(struct meshnet_table_digest *d, const uint8_t pub[32],
			      uint8_t verdict)
{
	uint8_t term[32];

	meshnet_table_digest_term(term, pub, verdict);
	meshnet_table_digest_add_term(d, term, 0);
}

void meshnet_table_digest_sub(struct meshnet_table_digest *d, const uint8_t pub[32],
			      uint8_t verdict)
{
	uint8_t term[32];

	meshnet_table_digest_term(term, pub, verdict);
	meshnet_table_digest_add_term(d, term, 1);
}

void meshnet_table_digest_hex(const struct meshnet_table_digest *d,
			      char out[MESHNET_TABLE_DIGEST_HEX_LEN + 1])
{
	meshnet_hex_encode(out, d->sum, sizeof(d->sum));
}

int meshnet_table_digest_from_hex(struct meshnet_table_digest *d, const char *hex)
{
	if (strlen(hex) != MESHNET_TABLE_DIGEST_HEX_LEN)
		return -1;
	return meshnet_hex_decode(d->sum, sizeof(d->sum), hex);
}
