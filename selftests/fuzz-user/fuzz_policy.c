// SPDX-License-Identifier: MIT
/*
 * meshnetd's policy file (POLICY_FILE, PUT /v1/policy: docs/policy.md) as
 * userspace/controller/policy.c parses and validates it, then the checks of
 * a replacement of the running policy and the error reports (text and JSON)
 * that a refusal sends back.
 */
#include "../../userspace/controller/policy.h"
#include "fuzz.h"
#include "strbuf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct policy *running;
	struct policy_errors errs = { 0 };
	struct strbuf sb = { 0 };
	struct policy *p;
	char text[2048];

	p = policy_parse((const char *)data, size, "policy.conf", &errs);
	if (p) {
		policy_check_replacement(NULL, p, 1767225600, &errs);
		if (running)
			policy_check_replacement(running, p, 1767225600, &errs);
		else
			running = p;	/* the first valid one stands as the running policy */
		if (p != running)
			policy_free(p);
	}
	policy_errors_format(&errs, text, sizeof(text));
	policy_errors_render_json(&errs, &sb);
	strbuf_free(&sb);
	return 0;
}
