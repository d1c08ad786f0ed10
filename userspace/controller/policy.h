/* SPDX-License-Identifier: MIT */
/*
 * The policy engine (docs/policy.md): a policy file says, per group of
 * nodes (chosen by the tags given at enrolment), which suites a node needs,
 * from which evaluators, how many of them (k of m), how their scores
 * combine (min, median), the minimum per score, how fresh, whether the
 * node's own reports count, and how many consecutive good results admit
 * it (a quarantine never waits for more than one bad one).
 *
 * Parsing validates the whole file and lists every error with its line and
 * field; an invalid file is refused whole. Evaluation is a pure function of
 * the policy, the node's evidence and the time: it returns the verdict, the
 * rule that decided, the evidence it used and what was missing.
 */
#ifndef MESHNETD_POLICY_H
#define MESHNETD_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "attestation.h"
#include "membership.h"
#include "strbuf.h"

#define POLICY_NAME_MAX MESHNET_ATT_NAME_MAX	/* group, suite, score, tag names */
#define POLICY_MAX_GROUPS 64
#define POLICY_MAX_SUITES 16			/* per group */
#define POLICY_MAX_EVALUATORS 32		/* per suite */
#define POLICY_MAX_MINS MESHNET_ATT_MAX_SCORES	/* per suite */
#define POLICY_MAX_TAGS 16			/* per match line, per node */
#define POLICY_MAX_ERRORS 32
#define POLICY_FILE_MAX (1u << 20)
#define POLICY_LINE_MAX 1024
#define POLICY_MAX_USED 32
#define POLICY_MAX_MISSING 8
#define POLICY_SELF "self"			/* the node's own report */

enum policy_combine { POLICY_COMBINE_MIN = 0, POLICY_COMBINE_MEDIAN };

struct policy_min {
	char score[POLICY_NAME_MAX + 1];
	double min;
};

struct policy_suite {
	char name[POLICY_NAME_MAX + 1];
	char (*evaluators)[MESHNET_NODE_ID_MAX + 1];	/* POLICY_MAX_EVALUATORS at most */
	unsigned int n_evaluators;	/* m (without "any") */
	unsigned int evaluators_cap;
	bool any_evaluator;		/* "evaluators any": every enrolled evaluator */
	bool self_listed;		/* "self" among the evaluators */
	unsigned int require;		/* k */
	enum policy_combine combine;
	int64_t max_age;		/* seconds */
	struct policy_min mins[POLICY_MAX_MINS];
	unsigned int n_mins;
	unsigned int line, evaluators_line;
};

struct policy_group {
	char name[POLICY_NAME_MAX + 1];
	bool match_all;
	char tags[POLICY_MAX_TAGS][POLICY_NAME_MAX + 1];
	unsigned int n_tags;
	bool self_reports;		/* "self-reports count" */
	unsigned int admit_after;	/* n consecutive good results */
	struct policy_suite *suites;	/* POLICY_MAX_SUITES at most */
	unsigned int n_suites, suites_cap;
	unsigned int line, match_line;
};

struct policy {
	uint64_t version;
	int64_t effective_at;		/* unix seconds; 0: at once */
	uint64_t effective_epoch;	/* 0: not epoch-scheduled */
	int64_t notice;			/* a replacement must be announced this early */
	char sha256[65];		/* of the file text */
	char source[128];
	struct policy_group *groups;
	unsigned int n_groups;
	char *text;
	size_t text_len;
};

struct policy_error {
	unsigned int line;		/* 0: the file as a whole */
	char field[24];
	char message[160];
};

struct policy_errors {
	struct policy_error e[POLICY_MAX_ERRORS];
	unsigned int n;			/* stored */
	unsigned int total;		/* found */
};

/* Parses and validates text; NULL with errs filled when invalid. */
struct policy *policy_parse(const char *text, size_t len, const char *source,
			    struct policy_errors *errs);
void policy_free(struct policy *p);

/*
 * Checks that next may replace running (version strictly greater; the
 * running policy's notice respected) at time now; 0 or -1 with errs.
 * running may be NULL (the built-in v1 rule).
 */
int policy_check_replacement(const struct policy *running, const struct policy *next,
			     int64_t now, struct policy_errors *errs);

/* "policy.conf:12: require: ..." lines, at most max_len bytes. */
void policy_errors_format(const struct policy_errors *errs, char *out, size_t max_len);
/* [{"line":..,"field":..,"message":..},...] */
void policy_errors_render_json(const struct policy_errors *errs, struct strbuf *sb);

/* Whether p takes effect at (now, epoch). */
bool policy_due(const struct policy *p, int64_t now, uint64_t epoch);

/* One piece of evidence about a node: an attestation, or its own report. */
struct policy_evidence {
	const char *evaluator;		/* POLICY_SELF for the node's own report */
	bool evaluator_counts;		/* enrolled and not removed (self: true) */
	const char *suite;		/* NULL for a self-report (counts for any suite) */
	const struct meshnet_att_score *scores;
	unsigned int n_scores;
	int64_t ran_at, expires;
	const void *ref;		/* the caller's record of it */
};

struct policy_node {
	const char (*tags)[POLICY_NAME_MAX + 1];
	unsigned int n_tags;
	const struct policy_evidence *ev;
	unsigned int n_ev;
	enum verdict current;
	unsigned int good_streak;	/* consecutive good results so far */
	enum pin pin;
};

struct policy_used {
	unsigned int ev;		/* index into the evidence */
	const char *suite;		/* the suite rule it counted for */
};

struct policy_result {
	enum verdict verdict;
	bool good;			/* evidence satisfies the group */
	unsigned int good_streak;	/* after this evaluation */
	const struct policy_group *group;
	char rule[2 * POLICY_NAME_MAX + 16];	/* "prod/refusal", "pin", "no-group" */
	char reason[VERDICT_REASON_LEN];
	struct policy_used used[POLICY_MAX_USED];
	unsigned int n_used;
	char missing[POLICY_MAX_MISSING][200];
	unsigned int n_missing;
};

/*
 * Decides n's verdict under p at now. new_result: this evaluation follows
 * a new piece of evidence (it counts towards admit-after); false for a
 * re-evaluation (policy change, evaluator removed, epoch).
 */
void policy_evaluate(const struct policy *p, const struct policy_node *n, int64_t now,
		     bool new_result, struct policy_result *out);

/*
 * The explanation as a JSON object into sb:
 * {"policy_version":N,"group":..,"rule":..,"reason":..,"good_streak":N,
 *  "attestations":[{"evaluator":..,"suite":..,"scores":{..},"age_s":N}],
 *  "missing":["needs 2 of {eval-a, eval-b} for suite refusal; has 1"]}
 * policy_version 0 is the built-in v1 threshold rule.
 */
void policy_explain_json(const struct policy_result *r, uint64_t policy_version,
			 const struct policy_evidence *ev, int64_t now, struct strbuf *sb);

#endif
