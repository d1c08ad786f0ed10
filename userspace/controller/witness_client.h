/* SPDX-License-Identifier: MIT */
/* Witnesses of the transparency log (WITNESS_URL): witness_client.c. */
#ifndef MESHNETD_WITNESS_CLIENT_H
#define MESHNETD_WITNESS_CLIENT_H

#include "strbuf.h"

struct controller;

/* Starts the submitting thread if WITNESS_URL is set. 0, or -1 (logged). */
int witness_client_start(struct controller *c);
void witness_client_stop(void);
/* Per-witness counters for /metrics (nothing without witnesses). */
void witness_client_render_metrics(struct strbuf *out);

#endif
