// SPDX-License-Identifier: MIT
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ids.h"
#include "policy.h"
#include "sign.h"
#include "timefmt.h"

#define MAX_TOKENS 40
#define MAX_AGE_LIMIT (30 * 86400)
#define DEFAULT_MAX_AGE 86400
#define MAX_ADMIT_AFTER 100

/* ---- errors ---- */

static void add_error(struct policy_errors *errs, unsigned int line, const char *field,
		      const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void add_error(struct policy_errors *errs, unsigned int line, const char *field,
		      const char *fmt, ...)
{
	struct policy_error *e;
	va_list ap;

	errs->total++;
	if (errs->n >= POLICY_MAX_ERRORS)
		return;
	e = &errs->e[errs->n++];
	e->line = line;
	snprintf(e->field, sizeof(e->field), "%s", field);
	va_start(ap, fmt);
	vsnprintf(e->message, sizeof(e->message), fmt, ap);
	va_end(ap);
}

void policy_errors_format(const struct policy_errors *errs, char *out, size_t max_len)
{
	size_t used = 0;
	unsigned int i;

	if (!max_len)
		return;
	out[0] = '\0';
	for (i = 0; i < errs->n && used < max_len; i++) {
		int w = snprintf(out + used, max_len - used, "%sline %u: %s: %s", i ? "; " : "",
				 errs->e[i].line, errs->e[i].field, errs->e[i].message);

		if (w < 0)
			break;
		used += (size_t)w;
	}
	if (errs->total > errs->n && used < max_len)
		snprintf(out + used, max_len - used, "; and %u more", errs->total - errs->n);
}

void policy_errors_render_json(const struct policy_errors *errs, struct strbuf *sb)
{
	unsigned int i;

	strbuf_puts(sb, "[");
	for (i = 0; i < errs->n; i++) {
		strbuf_printf(sb, "%s{\"line\":%u,\"field\":", i ? "," : "", errs->e[i].line);
		strbuf_json_string(sb, errs->e[i].field);
		strbuf_puts(sb, ",\"message\":");
		strbuf_json_string(sb, errs->e[i].message);
		strbuf_puts(sb, "}");
	}
	strbuf_puts(sb, "]");
}

/* ---- values ---- */

static int parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (!*s || *s == '-' || *s == '+' || *s == ' ')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

static int parse_unit(const char *s, double *out)
{
	char *end;
	double v;

	if (!*s || strchr(s, 'x') || strchr(s, 'X') || strchr(s, 'n') || strchr(s, 'N'))
		return -1;	/* no hex floats, no nan/inf */
	errno = 0;
	v = strtod(s, &end);
	if (errno || *end || !isfinite(v) || v < 0 || v > 1)
		return -1;
	*out = v;
	return 0;
}

/* unix seconds or RFC 3339 */
static int parse_time(const char *s, int64_t *out)
{
	uint64_t v;

	if (!parse_u64(s, 1, INT64_MAX / 2, &v)) {
		*out = (int64_t)v;
		return 0;
	}
	return meshnet_rfc3339_parse(s, out);
}

/* ---- parser ---- */

struct parser {
	struct policy *p;
	struct policy_errors *errs;
	struct policy_group *group;	/* the group being read */
	struct policy_suite *suite;	/* the suite being read */
	unsigned int groups_cap;	/* p->groups has room for this many */
	unsigned int line;
	/* lines of keywords seen in the current block (0: not yet) */
	unsigned int seen_version, seen_at, seen_epoch, seen_notice;
	unsigned int seen_self, seen_admit;
	unsigned int seen_require, seen_combine, seen_max_age;
	unsigned int unreachable_from;	/* line of a "match all" group; 0: none */
	char catch_all[POLICY_NAME_MAX + 1];
};

/*
 * The arrays of a policy grow by doubling, up to max elements, the new ones
 * zeroed: a policy holds what it names, not room for the most it may name
 * (a group with fixed arrays was 40 KiB). The array, or NULL (unchanged).
 */
static void *grow_array(void *arr, unsigned int *cap, unsigned int max, size_t size)
{
	unsigned int n = *cap ? 2 * *cap : 2;
	char *a;

	if (n > max)
		n = max;
	a = realloc(arr, (size_t)n * size);
	if (!a)
		return NULL;
	memset(a + (size_t)*cap * size, 0, (size_t)(n - *cap) * size);
	*cap = n;
	return a;
}

static bool once(struct parser *ps, unsigned int *seen, const char *field)
{
	if (*seen) {
		add_error(ps->errs, ps->line, field, "given twice (first on line %u)", *seen);
		return false;
	}
	*seen = ps->line;
	return true;
}

static bool want_args(struct parser *ps, const char *field, int argc, int min, int max,
		      const char *usage)
{
	if (argc - 1 < min || argc - 1 > max) {
		add_error(ps->errs, ps->line, field, "expected \"%s\"", usage);
		return false;
	}
	return true;
}

static bool want_name(struct parser *ps, const char *field, const char *what, const char *s)
{
	if (meshnet_att_name_valid(s))
		return true;
	add_error(ps->errs, ps->line, field, "%s '%.40s' must match [a-z0-9][a-z0-9._-]{0,31}",
		  what, s);
	return false;
}

static void end_suite(struct parser *ps)
{
	struct policy_suite *s = ps->suite;
	unsigned int m;

	if (!s)
		return;
	ps->suite = NULL;
	if (!s->evaluators_line) {
		add_error(ps->errs, s->line, "evaluators",
			  "suite %s lists no evaluators (\"evaluators NAME...\" or \"any\")", s->name);
		return;
	}
	m = s->n_evaluators + (s->self_listed ? 1 : 0);
	if (!s->any_evaluator && s->require > m)
		add_error(ps->errs, ps->seen_require ? ps->seen_require : s->line, "require",
			  "suite %s requires %u of the %u evaluators listed", s->name, s->require,
			  m);
	if (!s->n_mins)
		add_error(ps->errs, s->line, "min",
			  "suite %s sets no minimum (\"min SCORE VALUE\")", s->name);
}

static void end_group(struct parser *ps)
{
	struct policy_group *g = ps->group;
	unsigned int i;

	end_suite(ps);
	if (!g)
		return;
	ps->group = NULL;
	if (!g->match_line)
		add_error(ps->errs, g->line, "match",
			  "group %s has no \"match all\" or \"match tags ...\" line", g->name);
	if (!g->n_suites)
		add_error(ps->errs, g->line, "suite", "group %s requires no suite", g->name);
	for (i = 0; i < g->n_suites; i++)
		if (g->suites[i].self_listed && !g->self_reports)
			add_error(ps->errs, g->suites[i].evaluators_line, "evaluators",
				  "suite %s lists \"self\" but group %s does not say "
				  "\"self-reports count\"", g->suites[i].name, g->name);
	if (g->match_line) {
		if (ps->unreachable_from)
			add_error(ps->errs, g->line, "group",
				  "group %s is unreachable: group %s (line %u) matches all nodes",
				  g->name, ps->catch_all, ps->unreachable_from);
		else if (g->match_all) {
			ps->unreachable_from = g->line;
			snprintf(ps->catch_all, sizeof(ps->catch_all), "%s", g->name);
		}
	}
}

static void kw_top(struct parser *ps, int argc, char **argv)
{
	struct policy *p = ps->p;
	const char *kw = argv[0];
	uint64_t v;

	if (p->n_groups) {
		add_error(ps->errs, ps->line, kw, "must come before the first group");
		return;
	}
	if (!strcmp(kw, "version")) {
		if (!once(ps, &ps->seen_version, kw) || !want_args(ps, kw, argc, 1, 1, "version N"))
			return;
		if (parse_u64(argv[1], 1, (1ull << 53), &v))
			add_error(ps->errs, ps->line, kw, "'%.40s' is not an integer 1..2^53",
				  argv[1]);
		else
			p->version = v;
	} else if (!strcmp(kw, "effective-at")) {
		if (!once(ps, &ps->seen_at, kw) ||
		    !want_args(ps, kw, argc, 1, 1, "effective-at RFC3339-TIME|UNIX-SECONDS"))
			return;
		if (parse_time(argv[1], &p->effective_at))
			add_error(ps->errs, ps->line, kw,
				  "'%.40s' is neither an RFC 3339 time nor unix seconds", argv[1]);
	} else if (!strcmp(kw, "effective-epoch")) {
		if (!once(ps, &ps->seen_epoch, kw) ||
		    !want_args(ps, kw, argc, 1, 1, "effective-epoch EPOCH-ID"))
			return;
		if (parse_u64(argv[1], 1, INT64_MAX, &v))
			add_error(ps->errs, ps->line, kw, "'%.40s' is not an epoch id", argv[1]);
		else
			p->effective_epoch = v;
	} else {	/* notice */
		if (!once(ps, &ps->seen_notice, kw) ||
		    !want_args(ps, kw, argc, 1, 1, "notice SECONDS"))
			return;
		if (parse_u64(argv[1], 0, 365 * 86400, &v))
			add_error(ps->errs, ps->line, kw, "'%.40s' is not 0..31536000 seconds",
				  argv[1]);
		else
			p->notice = (int64_t)v;
	}
}

static void kw_group(struct parser *ps, int argc, char **argv)
{
	struct policy *p = ps->p;
	struct policy_group *g;
	unsigned int i;

	end_group(ps);
	/* a bad group line still opens a group: its body is checked, not misread */
	if (want_args(ps, "group", argc, 1, 1, "group NAME") &&
	    want_name(ps, "group", "group name", argv[1])) {
		for (i = 0; i < p->n_groups; i++)
			if (!strcmp(p->groups[i].name, argv[1]))
				add_error(ps->errs, ps->line, "group", "group %s is defined twice "
					  "(first on line %u)", argv[1], p->groups[i].line);
	}
	if (p->n_groups >= POLICY_MAX_GROUPS) {
		add_error(ps->errs, ps->line, "group", "more than %d groups", POLICY_MAX_GROUPS);
		return;
	}
	if (p->n_groups == ps->groups_cap) {
		g = grow_array(p->groups, &ps->groups_cap, POLICY_MAX_GROUPS, sizeof(*g));
		if (!g) {
			add_error(ps->errs, ps->line, "group", "out of memory");
			return;
		}
		p->groups = g;
	}
	g = &p->groups[p->n_groups++];
	snprintf(g->name, sizeof(g->name), "%s", argc > 1 ? argv[1] : "?");
	g->line = ps->line;
	g->admit_after = 1;
	ps->group = g;
	ps->seen_self = ps->seen_admit = 0;
}

static void kw_group_field(struct parser *ps, int argc, char **argv)
{
	struct policy_group *g = ps->group;
	const char *kw = argv[0];
	uint64_t v;
	int i;

	if (!g) {
		add_error(ps->errs, ps->line, kw, "must come inside a group (\"group NAME\")");
		return;
	}
	if (!strcmp(kw, "match")) {
		if (g->match_line) {
			add_error(ps->errs, ps->line, kw, "given twice (first on line %u)",
				  g->match_line);
			return;
		}
		if (argc == 2 && !strcmp(argv[1], "all")) {
			g->match_all = true;
			g->match_line = ps->line;
			return;
		}
		if (argc < 3 || strcmp(argv[1], "tags")) {
			add_error(ps->errs, ps->line, kw, "expected \"match all\" or "
				  "\"match tags TAG...\"");
			return;
		}
		if (argc - 2 > POLICY_MAX_TAGS) {
			add_error(ps->errs, ps->line, kw, "more than %d tags", POLICY_MAX_TAGS);
			return;
		}
		/* all or nothing: a refused line leaves no tag behind for a second one to add to */
		for (i = 2; i < argc; i++)
			if (!want_name(ps, kw, "tag", argv[i]))
				return;
		for (i = 2; i < argc; i++)
			strcpy(g->tags[g->n_tags++], argv[i]);
		g->match_line = ps->line;
	} else if (!strcmp(kw, "self-reports")) {
		if (!once(ps, &ps->seen_self, kw) ||
		    !want_args(ps, kw, argc, 1, 1, "self-reports count|ignore"))
			return;
		if (!strcmp(argv[1], "count"))
			g->self_reports = true;
		else if (strcmp(argv[1], "ignore"))
			add_error(ps->errs, ps->line, kw, "'%.40s' is neither count nor ignore",
				  argv[1]);
	} else {	/* admit-after */
		if (!once(ps, &ps->seen_admit, kw) ||
		    !want_args(ps, kw, argc, 1, 1, "admit-after N"))
			return;
		if (parse_u64(argv[1], 1, MAX_ADMIT_AFTER, &v))
			add_error(ps->errs, ps->line, kw, "'%.40s' is not an integer 1..%d",
				  argv[1], MAX_ADMIT_AFTER);
		else
			g->admit_after = (unsigned int)v;
	}
}

static void kw_suite(struct parser *ps, int argc, char **argv)
{
	struct policy_group *g = ps->group;
	struct policy_suite *s;
	unsigned int i;

	end_suite(ps);
	if (!g) {
		add_error(ps->errs, ps->line, "suite", "must come inside a group (\"group NAME\")");
		return;
	}
	if (want_args(ps, "suite", argc, 1, 1, "suite NAME") &&
	    want_name(ps, "suite", "suite name", argv[1])) {
		for (i = 0; i < g->n_suites; i++)
			if (!strcmp(g->suites[i].name, argv[1]))
				add_error(ps->errs, ps->line, "suite", "suite %s appears twice in "
					  "group %s (first on line %u)", argv[1], g->name,
					  g->suites[i].line);
	}
	if (g->n_suites >= POLICY_MAX_SUITES) {
		add_error(ps->errs, ps->line, "suite", "more than %d suites in group %s",
			  POLICY_MAX_SUITES, g->name);
		return;
	}
	if (g->n_suites == g->suites_cap) {
		s = grow_array(g->suites, &g->suites_cap, POLICY_MAX_SUITES, sizeof(*s));
		if (!s) {
			add_error(ps->errs, ps->line, "suite", "out of memory");
			return;
		}
		g->suites = s;
	}
	s = &g->suites[g->n_suites++];
	snprintf(s->name, sizeof(s->name), "%s", argc > 1 ? argv[1] : "?");
	s->line = ps->line;
	s->require = 1;
	s->combine = POLICY_COMBINE_MIN;
	s->max_age = DEFAULT_MAX_AGE;
	ps->suite = s;
	ps->seen_require = ps->seen_combine = ps->seen_max_age = 0;
}

static void kw_evaluators(struct parser *ps, int argc, char **argv)
{
	struct policy_suite *s = ps->suite;
	unsigned int j;
	int i;

	if (s->evaluators_line) {
		add_error(ps->errs, ps->line, "evaluators", "given twice (first on line %u)",
			  s->evaluators_line);
		return;
	}
	if (argc < 2) {
		add_error(ps->errs, ps->line, "evaluators", "expected \"evaluators NAME...\", "
			  "\"evaluators any\" or \"evaluators self\"");
		return;
	}
	s->evaluators_line = ps->line;
	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "any")) {
			s->any_evaluator = true;
			continue;
		}
		if (!strcmp(argv[i], POLICY_SELF)) {
			s->self_listed = true;
			continue;
		}
		if (!meshnet_node_id_valid(argv[i])) {
			add_error(ps->errs, ps->line, "evaluators",
				  "'%.40s' is not an evaluator id ([a-z0-9][a-z0-9._-]{0,62})",
				  argv[i]);
			continue;
		}
		for (j = 0; j < s->n_evaluators; j++)
			if (!strcmp(s->evaluators[j], argv[i]))
				break;
		if (j < s->n_evaluators) {
			add_error(ps->errs, ps->line, "evaluators", "%s is listed twice", argv[i]);
			continue;
		}
		if (s->n_evaluators >= POLICY_MAX_EVALUATORS) {
			add_error(ps->errs, ps->line, "evaluators", "more than %d evaluators",
				  POLICY_MAX_EVALUATORS);
			return;
		}
		if (s->n_evaluators == s->evaluators_cap) {
			char (*e)[MESHNET_NODE_ID_MAX + 1];

			e = grow_array(s->evaluators, &s->evaluators_cap, POLICY_MAX_EVALUATORS,
				       sizeof(*e));
			if (!e) {
				add_error(ps->errs, ps->line, "evaluators", "out of memory");
				return;
			}
			s->evaluators = e;
		}
		strcpy(s->evaluators[s->n_evaluators++], argv[i]);
	}
	if (s->any_evaluator && s->n_evaluators)
		add_error(ps->errs, ps->line, "evaluators",
			  "\"any\" already counts every enrolled evaluator; list names or any");
}

static void kw_suite_field(struct parser *ps, int argc, char **argv)
{
	struct policy_suite *s = ps->suite;
	const char *kw = argv[0];
	unsigned int i;
	uint64_t v;
	double d;

	if (!s) {
		add_error(ps->errs, ps->line, kw, "must come inside a suite (\"suite NAME\")");
		return;
	}
	if (!strcmp(kw, "evaluators")) {
		kw_evaluators(ps, argc, argv);
	} else if (!strcmp(kw, "require")) {
		if (!once(ps, &ps->seen_require, kw) || !want_args(ps, kw, argc, 1, 1, "require K"))
			return;
		if (parse_u64(argv[1], 1, POLICY_MAX_EVALUATORS + 1, &v))
			add_error(ps->errs, ps->line, kw, "'%.40s' is not an integer 1..%d",
				  argv[1], POLICY_MAX_EVALUATORS + 1);
		else
			s->require = (unsigned int)v;
	} else if (!strcmp(kw, "combine")) {
		if (!once(ps, &ps->seen_combine, kw) ||
		    !want_args(ps, kw, argc, 1, 1, "combine min|median"))
			return;
		if (!strcmp(argv[1], "min"))
			s->combine = POLICY_COMBINE_MIN;
		else if (!strcmp(argv[1], "median"))
			s->combine = POLICY_COMBINE_MEDIAN;
		else
			add_error(ps->errs, ps->line, kw, "'%.40s' is neither min nor median",
				  argv[1]);
	} else if (!strcmp(kw, "max-age")) {
		if (!once(ps, &ps->seen_max_age, kw) ||
		    !want_args(ps, kw, argc, 1, 1, "max-age SECONDS"))
			return;
		if (parse_u64(argv[1], 1, MAX_AGE_LIMIT, &v))
			add_error(ps->errs, ps->line, kw, "'%.40s' is not 1..%d seconds", argv[1],
				  MAX_AGE_LIMIT);
		else
			s->max_age = (int64_t)v;
	} else {	/* min */
		if (!want_args(ps, kw, argc, 2, 2, "min SCORE VALUE") ||
		    !want_name(ps, kw, "score name", argv[1]))
			return;
		for (i = 0; i < s->n_mins; i++) {
			if (!strcmp(s->mins[i].score, argv[1])) {
				add_error(ps->errs, ps->line, kw,
					  "a minimum for %s is set twice in suite %s", argv[1],
					  s->name);
				return;
			}
		}
		if (parse_unit(argv[2], &d)) {
			add_error(ps->errs, ps->line, kw, "'%.40s' is not a number in [0, 1]",
				  argv[2]);
			return;
		}
		if (s->n_mins >= POLICY_MAX_MINS) {
			add_error(ps->errs, ps->line, kw, "more than %d minima", POLICY_MAX_MINS);
			return;
		}
		strcpy(s->mins[s->n_mins].score, argv[1]);
		s->mins[s->n_mins++].min = d;
	}
}

static void parse_line(struct parser *ps, char *text)
{
	char *argv[MAX_TOKENS], *save = NULL, *tok, *hash = strchr(text, '#');
	const char *kw;
	int argc = 0;

	if (hash)
		*hash = '\0';
	for (tok = strtok_r(text, " \t\r", &save); tok; tok = strtok_r(NULL, " \t\r", &save)) {
		if (argc == MAX_TOKENS) {
			add_error(ps->errs, ps->line, argv[0], "more than %d words", MAX_TOKENS);
			return;
		}
		argv[argc++] = tok;
	}
	if (!argc)
		return;
	kw = argv[0];
	if (!strcmp(kw, "version") || !strcmp(kw, "effective-at") ||
	    !strcmp(kw, "effective-epoch") || !strcmp(kw, "notice"))
		kw_top(ps, argc, argv);
	else if (!strcmp(kw, "group"))
		kw_group(ps, argc, argv);
	else if (!strcmp(kw, "match") || !strcmp(kw, "self-reports") || !strcmp(kw, "admit-after"))
		kw_group_field(ps, argc, argv);
	else if (!strcmp(kw, "suite"))
		kw_suite(ps, argc, argv);
	else if (!strcmp(kw, "evaluators") || !strcmp(kw, "require") || !strcmp(kw, "combine") ||
		 !strcmp(kw, "max-age") || !strcmp(kw, "min"))
		kw_suite_field(ps, argc, argv);
	else
		add_error(ps->errs, ps->line, kw, "unknown keyword (see docs/policy.md)");
}

void policy_free(struct policy *p)
{
	if (!p)
		return;
	for (unsigned int i = 0; i < p->n_groups; i++) {
		for (unsigned int j = 0; j < p->groups[i].n_suites; j++)
			free(p->groups[i].suites[j].evaluators);
		free(p->groups[i].suites);
	}
	free(p->groups);
	free(p->text);
	free(p);
}

struct policy *policy_parse(const char *text, size_t len, const char *source,
			    struct policy_errors *errs)
{
	struct parser ps;
	const char *cur = text, *end = text + len;
	char line[POLICY_LINE_MAX + 1];
	struct policy *p;

	memset(errs, 0, sizeof(*errs));
	if (len > POLICY_FILE_MAX) {
		add_error(errs, 0, "file", "longer than %u bytes", POLICY_FILE_MAX);
		return NULL;
	}
	if (memchr(text, '\0', len)) {
		add_error(errs, 0, "file", "contains a NUL byte");
		return NULL;
	}
	p = calloc(1, sizeof(*p));
	if (!p) {
		add_error(errs, 0, "file", "out of memory");
		return NULL;
	}
	memset(&ps, 0, sizeof(ps));
	ps.p = p;
	ps.errs = errs;
	while (cur < end) {
		const char *nl = memchr(cur, '\n', (size_t)(end - cur));
		size_t n = nl ? (size_t)(nl - cur) : (size_t)(end - cur);

		ps.line++;
		if (n > POLICY_LINE_MAX) {
			add_error(errs, ps.line, "line", "longer than %d bytes", POLICY_LINE_MAX);
		} else {
			memcpy(line, cur, n);
			line[n] = '\0';
			parse_line(&ps, line);
		}
		cur += n + (nl ? 1 : 0);
	}
	end_group(&ps);
	if (!ps.seen_version)
		add_error(errs, 0, "version", "the policy has no \"version N\" line");
	if (ps.seen_at && ps.seen_epoch)
		add_error(errs, ps.seen_epoch, "effective-epoch",
			  "effective-at (line %u) and effective-epoch exclude each other", ps.seen_at);
	if (!p->n_groups && !errs->total)
		add_error(errs, 0, "group", "the policy defines no group");
	if (errs->total) {
		policy_free(p);
		return NULL;
	}
	p->text = malloc(len + 1);
	if (!p->text) {
		add_error(errs, 0, "file", "out of memory");
		policy_free(p);
		return NULL;
	}
	memcpy(p->text, text, len);
	p->text[len] = '\0';
	p->text_len = len;
	meshnet_sha256_hex(p->sha256, text, len);
	snprintf(p->source, sizeof(p->source), "%s", source ? source : "");
	return p;
}

int policy_check_replacement(const struct policy *running, const struct policy *next,
			     int64_t now, struct policy_errors *errs)
{
	memset(errs, 0, sizeof(*errs));
	if (!running)
		return 0;
	if (next->version <= running->version)
		add_error(errs, 0, "version", "version %" PRIu64 " must be greater than the "
			  "running policy's %" PRIu64, next->version, running->version);
	if (running->notice > 0) {
		if (next->effective_epoch)
			add_error(errs, 0, "effective-epoch", "the running policy v%" PRIu64
				  " requires %" PRId64 " s notice: schedule with effective-at",
				  running->version, running->notice);
		else if (next->effective_at < now + running->notice)
			add_error(errs, 0, "effective-at", "the running policy v%" PRIu64
				  " requires %" PRId64 " s notice: effective-at must be >= %" PRId64,
				  running->version, running->notice, now + running->notice);
	}
	return errs->total ? -1 : 0;
}

bool policy_due(const struct policy *p, int64_t now, uint64_t epoch)
{
	if (p->effective_epoch)
		return epoch >= p->effective_epoch;
	return now >= p->effective_at;
}

/* ---- evaluation ---- */

static const struct policy_group *find_group(const struct policy *p, const struct policy_node *n)
{
	unsigned int i, j, k;

	for (i = 0; i < p->n_groups; i++) {
		const struct policy_group *g = &p->groups[i];

		if (g->match_all)
			return g;
		for (j = 0; j < g->n_tags; j++)
			for (k = 0; k < n->n_tags; k++)
				if (!strcmp(g->tags[j], n->tags[k]))
					return g;
	}
	return NULL;
}

static bool listed(const struct policy_suite *s, const char *evaluator)
{
	unsigned int i;

	for (i = 0; i < s->n_evaluators; i++)
		if (!strcmp(s->evaluators[i], evaluator))
			return true;
	return false;
}

static const struct meshnet_att_score *find_score(const struct policy_evidence *e,
						  const char *name)
{
	unsigned int i;

	for (i = 0; i < e->n_scores; i++)
		if (!strcmp(e->scores[i].name, name))
			return &e->scores[i];
	return NULL;
}

static void add_missing(struct policy_result *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void add_missing(struct policy_result *r, const char *fmt, ...)
{
	va_list ap;

	if (r->n_missing >= POLICY_MAX_MISSING)
		return;
	va_start(ap, fmt);
	vsnprintf(r->missing[r->n_missing++], sizeof(r->missing[0]), fmt, ap);
	va_end(ap);
}

static void evaluator_set(const struct policy_suite *s, char *out, size_t cap)
{
	size_t used = 0;
	unsigned int i;

	if (s->any_evaluator) {
		snprintf(out, cap, "{any enrolled evaluator%s}", s->self_listed ? ", self" : "");
		return;
	}
	used += (size_t)snprintf(out, cap, "{");
	for (i = 0; i < s->n_evaluators && used < cap; i++)
		used += (size_t)snprintf(out + used, cap - used, "%s%s", i ? ", " : "",
					 s->evaluators[i]);
	if (s->self_listed && used < cap)
		used += (size_t)snprintf(out + used, cap - used, "%sself", s->n_evaluators ? ", " :
					 "");
	if (used < cap)
		snprintf(out + used, cap - used, "}");
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Returns true if suite s holds for node n; fills r's used/missing/reason. */
static bool evaluate_suite(const struct policy_group *g, const struct policy_suite *s,
			   const struct policy_node *n, int64_t now, struct policy_result *r,
			   bool *reason_set)
{
	unsigned int idx[POLICY_MAX_USED], have = 0, i, j;
	char why[120] = "", set[160];
	double vals[POLICY_MAX_USED];
	bool ok = true;

	for (i = 0; i < n->n_ev && have < POLICY_MAX_USED; i++) {
		const struct policy_evidence *e = &n->ev[i];
		bool self = !strcmp(e->evaluator, POLICY_SELF) && !e->suite;

		if (self ? !(s->self_listed && g->self_reports) :
			   (!e->suite || strcmp(e->suite, s->name) ||
			    !(s->any_evaluator || listed(s, e->evaluator))))
			continue;
		if (!e->evaluator_counts) {
			snprintf(why, sizeof(why), " (%s is not an enrolled evaluator)", e->evaluator);
			continue;
		}
		if (e->expires <= now) {
			snprintf(why, sizeof(why), " (%s's attestation expired %" PRId64 " s ago)",
				 e->evaluator, now - e->expires);
			continue;
		}
		if (now - e->ran_at > s->max_age) {
			snprintf(why, sizeof(why), " (%s's attestation is %" PRId64 " s old > "
				 "max-age %" PRId64 ")", e->evaluator, now - e->ran_at, s->max_age);
			continue;
		}
		for (j = 0; j < s->n_mins; j++)
			if (!find_score(e, s->mins[j].score))
				break;
		if (j < s->n_mins) {
			snprintf(why, sizeof(why), " (%s's attestation has no %s score)",
				 e->evaluator, s->mins[j].score);
			continue;
		}
		idx[have++] = i;
	}
	for (i = 0; i < have && r->n_used < POLICY_MAX_USED; i++) {
		r->used[r->n_used].ev = idx[i];
		r->used[r->n_used++].suite = s->name;
	}
	if (have < s->require) {
		evaluator_set(s, set, sizeof(set));
		add_missing(r, "needs %u of %s for suite %s; has %u%s", s->require, set, s->name,
			    have, why);
		if (!*reason_set) {
			snprintf(r->rule, sizeof(r->rule), "%s/%s", g->name, s->name);
			snprintf(r->reason, sizeof(r->reason), "%s/%s: %u of %u attestations",
				 g->name, s->name, have, s->require);
			*reason_set = true;
		}
		return false;
	}
	for (j = 0; j < s->n_mins; j++) {
		double v;

		for (i = 0; i < have; i++)
			vals[i] = find_score(&n->ev[idx[i]], s->mins[j].score)->value;
		qsort(vals, have, sizeof(vals[0]), cmp_double);
		/* min: the lowest; median: the lower middle (conservative for even counts) */
		v = s->combine == POLICY_COMBINE_MIN ? vals[0] : vals[(have - 1) / 2];
		if (!(v >= s->mins[j].min)) {
			add_missing(r, "suite %s: %s %s %.2f of %u < minimum %.2f", s->name,
				    s->combine == POLICY_COMBINE_MIN ? "min" : "median",
				    s->mins[j].score, v, have, s->mins[j].min);
			if (!*reason_set) {
				snprintf(r->rule, sizeof(r->rule), "%s/%s", g->name, s->name);
				snprintf(r->reason, sizeof(r->reason), "%s/%s: %s %s %.2f < %.2f",
					 g->name, s->name,
					 s->combine == POLICY_COMBINE_MIN ? "min" : "median",
					 s->mins[j].score, v, s->mins[j].min);
				*reason_set = true;
			}
			ok = false;
		}
	}
	return ok;
}

void policy_evaluate(const struct policy *p, const struct policy_node *n, int64_t now,
		     bool new_result, struct policy_result *out)
{
	const struct policy_group *g;
	bool reason_set = false, good = true;
	unsigned int i, streak;

	memset(out, 0, sizeof(*out));
	out->good_streak = n->good_streak;
	if (n->pin != PIN_NONE) {
		out->verdict = n->pin == PIN_ALLOWED ? VERDICT_ALLOWED : VERDICT_DENIED;
		out->good = out->verdict == VERDICT_ALLOWED;
		snprintf(out->rule, sizeof(out->rule), "pin");
		snprintf(out->reason, sizeof(out->reason), "pinned %s by admin",
			 verdict_name(out->verdict));
		return;
	}
	g = find_group(p, n);
	if (!g) {
		out->verdict = VERDICT_DENIED;
		out->good_streak = 0;
		snprintf(out->rule, sizeof(out->rule), "no-group");
		snprintf(out->reason, sizeof(out->reason),
			 "policy v%" PRIu64 ": no group matches the node's tags", p->version);
		add_missing(out, "no group of policy v%" PRIu64 " matches the node's tags",
			    p->version);
		return;
	}
	out->group = g;
	for (i = 0; i < g->n_suites; i++)
		good &= evaluate_suite(g, &g->suites[i], n, now, out, &reason_set);
	out->good = good;
	if (!good) {
		/* a quarantine never waits: one bad result denies */
		out->verdict = VERDICT_DENIED;
		out->good_streak = 0;
		return;
	}
	streak = n->good_streak + (new_result ? 1 : 0);
	if (!streak)
		streak = 1;	/* a good re-evaluation counts as one */
	out->good_streak = new_result ? streak : n->good_streak;
	if (n->current == VERDICT_ALLOWED || streak >= g->admit_after) {
		out->verdict = VERDICT_ALLOWED;
		snprintf(out->rule, sizeof(out->rule), "%s", g->name);
		snprintf(out->reason, sizeof(out->reason), "policy v%" PRIu64 " group %s: %u "
			 "suite(s) satisfied", p->version, g->name, g->n_suites);
		return;
	}
	out->verdict = VERDICT_DENIED;
	snprintf(out->rule, sizeof(out->rule), "%s/admit-after", g->name);
	snprintf(out->reason, sizeof(out->reason), "%s: %u of %u consecutive good results",
		 g->name, streak, g->admit_after);
	add_missing(out, "admission needs %u consecutive good results; has %u", g->admit_after,
		    streak);
}

void policy_explain_json(const struct policy_result *r, uint64_t policy_version,
			 const struct policy_evidence *ev, int64_t now, struct strbuf *sb)
{
	unsigned int i, j;

	strbuf_printf(sb, "{\"policy_version\":%" PRIu64 ",\"membership\":\"%s\",\"group\":",
		      policy_version, verdict_name(r->verdict));
	if (r->group)
		strbuf_json_string(sb, r->group->name);
	else
		strbuf_puts(sb, "null");
	strbuf_puts(sb, ",\"rule\":");
	strbuf_json_string(sb, r->rule);
	strbuf_puts(sb, ",\"reason\":");
	strbuf_json_string(sb, r->reason);
	strbuf_printf(sb, ",\"good_streak\":%u,\"attestations\":[", r->good_streak);
	for (i = 0; i < r->n_used; i++) {
		const struct policy_evidence *e = &ev[r->used[i].ev];

		strbuf_puts(sb, i ? ",{\"evaluator\":" : "{\"evaluator\":");
		strbuf_json_string(sb, e->evaluator);
		strbuf_puts(sb, ",\"suite\":");
		strbuf_json_string(sb, r->used[i].suite);
		strbuf_puts(sb, ",\"scores\":{");
		for (j = 0; j < e->n_scores; j++) {
			strbuf_puts(sb, j ? "," : "");
			strbuf_json_string(sb, e->scores[j].name);
			strbuf_printf(sb, ":%.4g", e->scores[j].value);
		}
		strbuf_printf(sb, "},\"age_s\":%" PRId64 "}", now - e->ran_at);
	}
	strbuf_puts(sb, "],\"missing\":[");
	for (i = 0; i < r->n_missing; i++) {
		if (i)
			strbuf_puts(sb, ",");
		strbuf_json_string(sb, r->missing[i]);
	}
	strbuf_puts(sb, "]}");
}
