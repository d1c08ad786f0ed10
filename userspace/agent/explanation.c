// SPDX-License-Identifier: MIT
#include <ctype.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "explanation.h"

struct line {
	char *buf;
	size_t len;
	bool full;
};

static void put(struct line *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void put(struct line *l, const char *fmt, ...)
{
	size_t room = AGENT_EXPLANATION_LEN - l->len;
	va_list ap;
	int n;

	if (l->full)
		return;
	va_start(ap, fmt);
	n = vsnprintf(l->buf + l->len, room, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= room) {
		/* cut, and say so */
		memcpy(l->buf + AGENT_EXPLANATION_LEN - 4, "...", 4);
		l->len = AGENT_EXPLANATION_LEN - 1;
		l->full = true;
		return;
	}
	l->len += (size_t)n;
}

static int fail(char *err, size_t errlen, const char *what)
{
	snprintf(err, errlen, "explanation.%s", what);
	return -1;
}

/* A string of at most max bytes without control characters. */
static int text_value(struct json_object *v, size_t max, const char **out)
{
	const char *s;
	size_t i, len;

	if (!json_object_is_type(v, json_type_string))
		return -1;
	s = json_object_get_string(v);
	len = strlen(s);
	if (len > max || len != (size_t)json_object_get_string_len(v))
		return -1;
	for (i = 0; i < len; i++)
		if (iscntrl((unsigned char)s[i]))
			return -1;
	*out = s;
	return 0;
}

/* A string member (required unless optional; null counts as absent). */
static int text_of(struct json_object *o, const char *key, size_t max, bool optional,
		   const char **out)
{
	struct json_object *v;

	*out = NULL;
	if (!json_object_object_get_ex(o, key, &v) || json_object_is_type(v, json_type_null))
		return optional ? 0 : -1;
	return text_value(v, max, out);
}

static int int_of(struct json_object *o, const char *key, int64_t *out)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_int))
		return -1;
	*out = json_object_get_int64(v);
	return *out < 0 ? -1 : 0;
}

static struct json_object *array_of(struct json_object *o, const char *key, size_t max)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_array) ||
	    json_object_array_length(v) > max)
		return NULL;
	return v;
}

/* One used attestation: "eval-a refusal-v3 refusal=0.2 overall=0.9 (42 s old)" */
static int read_used(struct json_object *a, struct line *l, char *err, size_t errlen)
{
	const char *evaluator, *suite;
	struct json_object *scores;
	int64_t age;
	bool first = true;

	if (!json_object_is_type(a, json_type_object) ||
	    text_of(a, "evaluator", 63, false, &evaluator) || text_of(a, "suite", 63, false, &suite))
		return fail(err, errlen, "attestations[]: evaluator and suite must be names");
	if (int_of(a, "age_s", &age))
		return fail(err, errlen, "attestations[].age_s must be a number of seconds");
	if (!json_object_object_get_ex(a, "scores", &scores) ||
	    !json_object_is_type(scores, json_type_object) ||
	    json_object_object_length(scores) > 16)
		return fail(err, errlen, "attestations[].scores must be an object of scores");
	put(l, "%s %s", evaluator, suite);
	json_object_object_foreach(scores, name, v) {
		double x;
		size_t i;

		if (!json_object_is_type(v, json_type_double) && !json_object_is_type(v, json_type_int))
			return fail(err, errlen, "attestations[].scores: a score is not a number");
		x = json_object_get_double(v);
		if (!(x >= 0 && x <= 1) || strlen(name) > 32)
			return fail(err, errlen, "attestations[].scores: a score outside [0, 1]");
		for (i = 0; name[i]; i++)
			if (iscntrl((unsigned char)name[i]))
				return fail(err, errlen, "attestations[].scores: a bad score name");
		put(l, "%s%s=%.4g", first ? " " : ",", name, x);
		first = false;
	}
	put(l, " (%" PRId64 " s old)", age);
	return 0;
}

int agent_explanation_read(struct json_object *obj, char out[AGENT_EXPLANATION_LEN], char *err,
			   size_t errlen)
{
	struct line l = { out, 0, false };
	struct json_object *used, *missing;
	const char *rule, *reason, *membership;
	int64_t version;
	bool said = false;
	size_t i, n;

	out[0] = '\0';
	if (!json_object_is_type(obj, json_type_object))
		return fail(err, errlen, "must be an object");
	if (text_of(obj, "membership", 16, true, &membership) ||
	    (membership && strcmp(membership, "DENIED")))
		return fail(err, errlen, "membership must be DENIED in a denied statement");
	if (int_of(obj, "policy_version", &version))
		return fail(err, errlen, "policy_version must be a non-negative integer");
	if (text_of(obj, "rule", 80, false, &rule))
		return fail(err, errlen, "rule must be a name");
	if (text_of(obj, "reason", 255, true, &reason))
		return fail(err, errlen, "reason must be text without control characters");
	used = array_of(obj, "attestations", 32);
	if (!used)
		return fail(err, errlen, "attestations must be an array of at most 32");
	missing = array_of(obj, "missing", 8);
	if (!missing)
		return fail(err, errlen, "missing must be an array of at most 8 sentences");
	if (version)
		put(&l, "rule %s (policy v%" PRId64 ")", rule, version);
	else
		put(&l, "rule %s (built-in v1 threshold rule)", rule);
	if (reason && *reason)
		put(&l, ": %s", reason);
	n = json_object_array_length(used);
	for (i = 0; i < n; i++) {
		put(&l, i ? ", " : "; used: ");
		if (read_used(json_object_array_get_idx(used, i), &l, err, errlen))
			return -1;
	}
	n = json_object_array_length(missing);
	for (i = 0; i < n; i++) {
		const char *m;

		if (text_value(json_object_array_get_idx(missing, i), 255, &m))
			return fail(err, errlen, "missing[] must be sentences without control characters");
		if (reason && !strcmp(m, reason))
			continue;	/* the v1 rule's reason is what is missing */
		put(&l, "%s%s", said ? "; " : "; missing: ", m);
		said = true;
	}
	return 0;
}
