/* SPDX-License-Identifier: MIT */
/*
 * Signed statements (docs/PROTOCOL.md "v2"): the bodies of v2 config
 * replies, rendered from one view and signed with the controller's key.
 * The "*" delta of a (base, head) pair is rendered and signed once and
 * cached in the view; everything else is node-targeted.
 */
#ifndef MESHNETD_STATEMENTS_H
#define MESHNETD_STATEMENTS_H

#include "controller.h"
#include "statement.h"

struct statement {
	struct blob *body;
	char signature[MESHNET_STATEMENT_SIG_B64_LEN + 1];
};

void statement_free(struct statement *st);

/* A full snapshot for self at v. 0 or -1. */
int statement_snapshot(struct controller *c, struct view *v, const struct peer_rec *self,
		       struct statement *out);
/*
 * A delta (base, v->revision] for self: the shared "*" one in group mode,
 * a node-targeted one (with PSKs) in pairwise mode. 0, -1 (error) or 1
 * (base is not retained, or pairwise across an epoch: answer a snapshot).
 * Snapshots and denied statements always carry the transparency log's
 * checkpoint; a delta only when asked (checkpoint): a flip stays small.
 */
int statement_delta(struct controller *c, struct view *v, const struct peer_rec *self,
		    uint64_t base, bool checkpoint, struct statement *out);
/* The 403 body: self's own DENIED verdict, signed. 0 or -1. */
int statement_denied(struct controller *c, struct view *v, const struct peer_rec *self,
		     struct statement *out);

#endif
