// SPDX-License-Identifier: MIT
/*
 * Signed checkpoints as `meshnetd audit-verify` and the agents read them
 * (C2SP signed-note / tlog-checkpoint: userspace/lib/tlog/): the note with
 * its signature lines against a known verifier, the checkpoint body alone,
 * and the input as a verifier key ("name+hash+base64").
 */
#include "b64.h"
#include "fuzz.h"
#include "tlog/checkpoint.h"
#include "tlog/note.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct tlog_note_verifier v;
	static int ready;
	struct tlog_note_verifier pv;
	struct tlog_checkpoint cp;
	size_t text_len;
	uint64_t verified;
	char *s;

	if (!ready) {
		/* the key that signed corpus/fuzz_checkpoint/signed */
		uint8_t pub[32];

		if (meshnet_b64_decode_exact(pub, 32, "zM/fSEDLmleHyz0GyWX10/9F4lp2dcqXhmNo6KH6Kk0=") ||
		    tlog_verifier_from_pub(&v, "meshnetd/meshnet", pub))
			abort();
		ready = 1;
	}
	tlog_checkpoint_parse((const char *)data, size, &cp);
	tlog_checkpoint_open((const char *)data, size, &v, 1, NULL, &cp, &verified);
	tlog_note_open((const char *)data, size, &v, 1, &text_len, &verified);
	s = fuzz_strndup(data, size);
	if (s && !tlog_verifier_parse(&pv, s))
		tlog_verifier_free(&pv);
	free(s);
	return 0;
}
