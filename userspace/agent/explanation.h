/* SPDX-License-Identifier: MIT */
/*
 * Why this node is DENIED: the "explanation" object of a signed denied
 * statement (docs/policy.md "Explanations"), checked member by member and
 * read into one line the agent logs (once per change) and shows in its
 * status: the rule and policy version, the attestations used (evaluator,
 * suite, scores, age) and what was missing.
 */
#ifndef AGENT_EXPLANATION_H
#define AGENT_EXPLANATION_H

#include <stddef.h>

#include <json-c/json.h>

#define AGENT_EXPLANATION_LEN 1024

/*
 * obj: the statement's "explanation" member. 0 with out set (truncated
 * with "..." when longer), or -1 with err naming the bad member.
 */
int agent_explanation_read(struct json_object *obj, char out[AGENT_EXPLANATION_LEN], char *err,
			   size_t errlen);

#endif
