/* SPDX-License-Identifier: MIT */
/*
 * Every node is a monitor of the controller's transparency log (issue 12,
 * docs/PROTOCOL.md): a statement may carry the log's latest signed
 * checkpoint (C2SP tlog-checkpoint, origin "meshnetd/<MESH_ID>", signed by
 * the controller's key) and a consistency proof from the checkpoint this
 * node holds. The agent accepts a checkpoint only if its signature verifies
 * and the proof shows it extends the one held (lib/tlog): a log that was
 * truncated, forked or rolled back is refused (logged, counted; the
 * statement carrying it is not applied). The accepted checkpoint is stored
 * durably in STATE_DIR/checkpoint (atomic write) and survives restarts.
 *
 * Witnesses (REQUIRE_WITNESS, WITNESS_QUORUM; docs/tlog.md): with witness
 * keys given, a checkpoint is accepted only if the controller signed it and
 * at least `quorum` of those witnesses cosigned it (cosignature/v1); one
 * lacking them is refused like an inconsistent one.
 */
#ifndef AGENT_MONITOR_H
#define AGENT_MONITOR_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tlog/checkpoint.h"

#define AGENT_CHECKPOINT_FILE "checkpoint"
#define AGENT_MAX_WITNESSES 8

struct agent_monitor {
	char path[PATH_MAX];
	char origin[TLOG_ORIGIN_MAX + 1];
	/* [0] the controller, [1..n_witnesses] the required witnesses */
	struct tlog_note_verifier verifier[1 + AGENT_MAX_WITNESSES];
	size_t n_witnesses;
	unsigned int quorum;		/* witness signatures needed (0: none) */
	bool have;
	struct tlog_checkpoint held;
	uint64_t refused, unwitnessed;	/* checkpoints refused (of them: too few witnesses) */
};

/*
 * Parses REQUIRE_WITNESS (comma-separated verifier keys, cosignature/v1,
 * as meshnet-witness pubkey prints them) and WITNESS_QUORUM (0: all) into
 * m; 0 or -1 with err naming the bad key. Call after agent_monitor_init().
 */
int agent_monitor_require_witnesses(struct agent_monitor *m, const char *keys,
				    unsigned int quorum, char *err, size_t errlen);

/* Sets up the verifier and loads the held checkpoint, if any. 0 or -1 (err). */
int agent_monitor_init(struct agent_monitor *m, const char *state_dir, const uint8_t pub[32],
		       const char *mesh_id, char *err, size_t errlen);
void agent_monitor_free(struct agent_monitor *m);

/*
 * Checks a checkpoint note (and the consistency proof from the held one)
 * and, if it is newer and consistent, stores it. 0, or -1 with why.
 */
int agent_monitor_accept(struct agent_monitor *m, const char *note, size_t len,
			 const tlog_hash *proof, size_t n_proof, char *why, size_t whylen);

/*
 * The two steps of agent_monitor_accept, so that a note is verified once
 * when the caller needs its size first (to ask for a proof from the held
 * one): open checks its signatures (and witnesses) into c, 0 or -1 with why
 * (counted as refused); accept_opened checks that c extends the held
 * checkpoint with the proof and stores note. 0, or -1 with why.
 */
int agent_monitor_open(struct agent_monitor *m, const char *note, size_t len,
		       struct tlog_checkpoint *c, char *why, size_t whylen);
int agent_monitor_accept_opened(struct agent_monitor *m, const struct tlog_checkpoint *c,
				const char *note, size_t len, const tlog_hash *proof,
				size_t n_proof, char *why, size_t whylen);

#endif
