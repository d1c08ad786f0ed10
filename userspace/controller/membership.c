// SPDX-License-Identifier: MIT
#include <stdio.h>

#include "membership.h"

const char *verdict_name(enum verdict v)
{
	return v == VERDICT_ALLOWED ? "ALLOWED" : "DENIED";
}

const char *pin_name(enum pin p)
{
	return p == PIN_ALLOWED ? "ALLOWED" : p == PIN_DENIED ? "DENIED" : "NONE";
}

enum verdict membership_evaluate(const struct membership_rules *rules,
				 const struct membership_input *in, int64_t now,
				 char reason[VERDICT_REASON_LEN])
{
	const struct {
		const char *name;
		double value, min;
	} dims[] = {
		{ "refusal", in->scores.refusal, rules->min_refusal },
		{ "honesty", in->scores.honesty, rules->min_honesty },
		{ "policy", in->scores.policy, rules->min_policy },
	};
	int64_t age;
	unsigned int i;

	if (in->pin == PIN_DENIED) {
		snprintf(reason, VERDICT_REASON_LEN, "pinned DENIED by admin");
		return VERDICT_DENIED;
	}
	if (in->pin == PIN_ALLOWED) {
		snprintf(reason, VERDICT_REASON_LEN, "pinned ALLOWED by admin");
		return VERDICT_ALLOWED;
	}
	if (!in->has_benchmark) {
		snprintf(reason, VERDICT_REASON_LEN, "no benchmark yet");
		return VERDICT_DENIED;
	}
	age = now - in->benchmark_time;
	if (age > rules->max_benchmark_age) {
		snprintf(reason, VERDICT_REASON_LEN, "no benchmark for %lld s > %lld s",
			 (long long)age, (long long)rules->max_benchmark_age);
		return VERDICT_DENIED;
	}
	if (!(in->scores.overall >= rules->threshold)) {
		snprintf(reason, VERDICT_REASON_LEN, "score %.2f < threshold %.2f",
			 in->scores.overall, rules->threshold);
		return VERDICT_DENIED;
	}
	for (i = 0; i < sizeof(dims) / sizeof(dims[0]); i++) {
		if (dims[i].min > 0 && !(dims[i].value >= dims[i].min)) {
			snprintf(reason, VERDICT_REASON_LEN, "%s %.2f < minimum %.2f",
				 dims[i].name, dims[i].value, dims[i].min);
			return VERDICT_DENIED;
		}
	}
	snprintf(reason, VERDICT_REASON_LEN, "score %.2f >= threshold %.2f",
		 in->scores.overall, rules->threshold);
	return VERDICT_ALLOWED;
}
