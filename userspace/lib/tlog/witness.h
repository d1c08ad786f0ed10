/* SPDX-License-Identifier: MIT */
/*
 * C2SP tlog-witness (https://c2sp.org/tlog-witness), the add-checkpoint
 * request both ends speak (meshnet-witness serves it, meshnetd submits):
 *
 *   POST <witness URL>/add-checkpoint
 *   old <size the submitter believes the witness holds>\n
 *   <base64 consistency proof hash from that size>\n      (zero or more)
 *   \n
 *   <the checkpoint: a signed note>
 *
 * Answers: 200 with the witness's cosignature/v1 line(s) (text/plain);
 * 409 Conflict with Content-Type text/x.tlog.size and "<size it holds>\n"
 * when old is not the size it last cosigned; 404 an origin it does not
 * know; 403 the log's signature does not verify; 400 old > size or a
 * malformed body; 422 the consistency proof does not verify.
 */
#ifndef MESHNET_TLOG_WITNESS_H
#define MESHNET_TLOG_WITNESS_H

#include <stddef.h>
#include <stdint.h>

#include "merkle.h"
#include "strbuf.h"

#define TLOG_WITNESS_PATH "/add-checkpoint"
#define TLOG_WITNESS_SIZE_TYPE "text/x.tlog.size"
#define TLOG_WITNESS_BODY_MAX (64 * 1024)

/* Appends an add-checkpoint body to out. */
int tlog_witness_request_format(struct strbuf *out, uint64_t old_size, const tlog_hash *proof,
				size_t n_proof, const char *note, size_t note_len);

/*
 * Parses an add-checkpoint body strictly: *old, the proof (at most
 * TLOG_MAX_PROOF hashes into proof), and where the note starts
 * (body[*note_off..len)). 0 or TLOG_ERR_MALFORMED.
 */
int tlog_witness_request_parse(const char *body, size_t len, uint64_t *old, tlog_hash *proof,
			       size_t *n_proof, size_t *note_off);

/* A 409 body "<size>\n"; 0 or TLOG_ERR_MALFORMED. */
int tlog_witness_size_parse(const char *body, size_t len, uint64_t *size);

#endif
