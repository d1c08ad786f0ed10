/* SPDX-License-Identifier: MIT */
/*
 * The benchmark harness (BENCH_CMD), run sandboxed: `sh -c CMD` in its own
 * process group with no capabilities (effective, permitted, inheritable,
 * ambient and, where the agent may, bounding set emptied; PR_SET_NO_NEW_PRIVS
 * so no exec can gain any), every descriptor but stdin (/dev/null), stdout
 * and stderr (pipes) closed, every signal back to its default and unblocked,
 * a clean environment, cwd /, and optionally another user (BENCH_USER).
 * It is stopped by SIGTERM to its group at the timeout or when the agent
 * stops, then SIGKILL after a grace period.
 *
 * The scheduler thread runs it every BENCH_INTERVAL_SEC, on its own clock,
 * and keeps the latest good result for the emitter (struct agent_bench_latest).
 */
#ifndef AGENT_HARNESS_H
#define AGENT_HARNESS_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct agent_harness {
	const char *cmd;            /* sh -c CMD */
	unsigned int timeout_sec;   /* SIGTERM after this long */
	unsigned int grace_sec;     /* then SIGKILL after this long */
	bool switch_user;           /* run as uid/gid (BENCH_USER) */
	uid_t uid;
	gid_t gid;
	char home[256];             /* HOME of the harness (BENCH_USER's) */
	const char *node_id;        /* MESHNET_NODE_ID of the harness */
	const atomic_bool *stop;    /* set: interrupt the harness (agent stops) */
};

/* How a run ended, for the log and the status. */
struct agent_harness_result {
	int status;          /* waitpid status */
	bool timed_out;      /* killed at the timeout */
	bool interrupted;    /* killed because the agent stops */
	bool killed;         /* needed SIGKILL after the grace */
	bool too_big;        /* stdout exceeded the buffer */
	size_t used;         /* bytes of stdout */
	char stderr_tail[256]; /* the last line(s) of its stderr */
	uint64_t duration_ms;
};

/*
 * Resolves BENCH_USER (a name or a numeric uid) into h->uid/gid/home.
 * -1 + a sentence if no such user.
 */
int agent_harness_set_user(struct agent_harness *h, const char *user, char *err, size_t errlen);

/*
 * Runs the harness; its stdout goes to out (at most cap bytes, NUL added:
 * out must hold cap + 1). Returns 0 when it ran to its end (see r->status),
 * -1 + err when it could not be started.
 */
int agent_harness_run(const struct agent_harness *h, char *out, size_t cap,
		      struct agent_harness_result *r, char *err, size_t errlen);

/*
 * Checks at start that the agent can switch to h's user (CAP_SETUID and
 * CAP_SETGID, or already that user). -1 + a sentence naming the fix.
 */
int agent_harness_check(const struct agent_harness *h, char *err, size_t errlen);

/* The scheduler thread (argument: struct agent_ctx *); runs until ctx->stop. */
void *agent_harness_main(void *ctx);

#endif
