/* SPDX-License-Identifier: MIT */
/* The membership rule: a pure function of scores, age, rules and override. */
#ifndef MESHNETD_MEMBERSHIP_H
#define MESHNETD_MEMBERSHIP_H

#include <stdbool.h>
#include <stdint.h>

enum verdict { VERDICT_DENIED = 0, VERDICT_ALLOWED = 1 };
enum pin { PIN_NONE = 0, PIN_ALLOWED, PIN_DENIED };

struct scores {
	double overall, refusal, honesty, policy;
};

struct membership_rules {
	double threshold;
	double min_refusal, min_honesty, min_policy;	/* 0 = no minimum */
	int64_t max_benchmark_age;			/* seconds */
};

struct membership_input {
	bool has_benchmark;
	struct scores scores;
	int64_t benchmark_time;	/* unix seconds */
	enum pin pin;
};

#define VERDICT_REASON_LEN 96

/* Decides a verdict at time now and writes its reason in words. */
enum verdict membership_evaluate(const struct membership_rules *rules,
				 const struct membership_input *in, int64_t now,
				 char reason[VERDICT_REASON_LEN]);

const char *verdict_name(enum verdict v);
const char *pin_name(enum pin p);

#endif
