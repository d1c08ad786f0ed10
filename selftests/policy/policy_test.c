// SPDX-License-Identifier: MIT
/*
 * Unit tests of the trust layer: attestation format, signature and strict
 * parse (lib/attestation.c), the policy file parser (every error kind) and
 * the policy engine (k of m, min/median, hysteresis, self-reports, removed
 * evaluators, time-locked policies).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kselftest_harness.h"

#include "../../userspace/controller/evaluators.h"
#include "../../userspace/controller/evidence.h"
#include "../../userspace/controller/policy.h"
#include "../../userspace/controller/trust.h"
#include "attestation.h"
#include "b64.h"
#include "sign.h"
#include "strbuf.h"

#define NOW 1764590000

/* ---- attestations ---- */

static void sample_att(struct meshnet_attestation *a)
{
	memset(a, 0, sizeof(*a));
	strcpy(a->evaluator, "eval-a");
	strcpy(a->node_id, "node-a");
	strcpy(a->wg_public_key, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=");
	strcpy(a->suite, "refusal");
	strcpy(a->suite_version, "3.1.0");
	strcpy(a->scores[0].name, "refusal");
	a->scores[0].value = 0.97;
	strcpy(a->scores[1].name, "overall");
	a->scores[1].value = 0.5;
	a->n_scores = 2;
	a->ran_at = NOW - 10;
	a->expires = NOW + 3600;
	strcpy(a->nonce, "00112233445566778899aabbccddeeff");
}

static char *render(const struct meshnet_attestation *a, size_t *len)
{
	struct strbuf sb;

	strbuf_init(&sb);
	meshnet_attestation_render(a, &sb);
	return strbuf_steal(&sb, len);
}

static EVP_PKEY *new_key(EVP_PKEY **pub)
{
	uint8_t seed[32], raw[32];
	EVP_PKEY *k;

	if (meshnet_ed25519_generate(seed, raw))
		return NULL;
	k = meshnet_ed25519_private_from_raw(seed);
	*pub = meshnet_ed25519_public_from_raw(raw);
	return k;
}

TEST(attestation_roundtrip_sign_verify)
{
	struct meshnet_attestation a, b;
	struct meshnet_att_envelope env;
	EVP_PKEY *pub, *key = new_key(&pub), *pub2, *key2 = new_key(&pub2);
	uint8_t sig[64];
	struct strbuf sb;
	char msg[200];
	size_t len;
	char *body;

	ASSERT_NE(NULL, key);
	sample_att(&a);
	body = render(&a, &len);
	ASSERT_EQ(MESHNET_ATT_OK, meshnet_attestation_parse(body, len, &b, msg, sizeof(msg)));
	EXPECT_EQ(0, memcmp(&a, &b, sizeof(a)));
	ASSERT_EQ(0, meshnet_attestation_sign(key, body, len, sig));
	EXPECT_EQ(0, meshnet_attestation_verify(pub, body, len, sig));
	/* forged: another key, one flipped byte of body or signature */
	EXPECT_EQ(-1, meshnet_attestation_verify(pub2, body, len, sig));
	body[5] ^= 1;
	EXPECT_EQ(-1, meshnet_attestation_verify(pub, body, len, sig));
	body[5] ^= 1;
	sig[10] ^= 0x40;
	EXPECT_EQ(-1, meshnet_attestation_verify(pub, body, len, sig));
	sig[10] ^= 0x40;
	/* domain separation: the same key's signature of the bare body fails */
	{
		uint8_t raw_sig[64];

		ASSERT_EQ(0, meshnet_ed25519_sign_domain(key, "", body, len, raw_sig));
		EXPECT_EQ(-1, meshnet_attestation_verify(pub, body, len, raw_sig));
		ASSERT_EQ(0, meshnet_ed25519_sign_domain(key, "meshnet-statement-v2\n", body, len,
							 raw_sig));
		EXPECT_EQ(-1, meshnet_attestation_verify(pub, body, len, raw_sig));
	}
	/* the envelope carries the exact bytes */
	strbuf_init(&sb);
	meshnet_att_envelope_render(&sb, body, len, sig);
	ASSERT_FALSE(sb.oom);
	ASSERT_EQ(MESHNET_ATT_OK, meshnet_att_envelope_open(sb.buf, sb.len, &env, &b, msg,
							     sizeof(msg)));
	EXPECT_EQ(len, env.body_len);
	EXPECT_EQ(0, memcmp(body, env.body, len));
	EXPECT_EQ(0, memcmp(sig, env.sig, 64));
	EXPECT_EQ(0, meshnet_attestation_verify(pub, env.body, env.body_len, env.sig));
	meshnet_att_envelope_free(&env);
	strbuf_free(&sb);
	free(body);
	EVP_PKEY_free(key);
	EVP_PKEY_free(pub);
	EVP_PKEY_free(key2);
	EVP_PKEY_free(pub2);
}

struct bad_body {
	const char *what, *from, *to;
	enum meshnet_att_error want;
};

/* Each replaces one piece of the canonical body. */
static const struct bad_body bad_bodies[] = {
	{ "score above 1", "\"refusal\":0.96999999999999997", "\"refusal\":1.5",
	  MESHNET_ATT_BAD_SCORE },
	{ "score below 0", "\"refusal\":0.96999999999999997", "\"refusal\":-0.1",
	  MESHNET_ATT_BAD_SCORE },
	{ "score a string", "\"refusal\":0.96999999999999997", "\"refusal\":\"0.9\"",
	  MESHNET_ATT_BAD_SCORE },
	{ "score name", "\"overall\":", "\"Overall\":", MESHNET_ATT_MALFORMED },
	{ "no scores", "\"scores\":{\"refusal\":0.96999999999999997,\"overall\":0.5}",
	  "\"scores\":{}", MESHNET_ATT_MALFORMED },
	{ "version 2", "\"v\":1", "\"v\":2", MESHNET_ATT_MALFORMED },
	{ "type", "\"type\":\"attestation\"", "\"type\":\"statement\"", MESHNET_ATT_MALFORMED },
	{ "extra member", "\"v\":1,", "\"v\":1,\"extra\":true,", MESHNET_ATT_MALFORMED },
	{ "missing nonce", ",\"nonce\":\"00112233445566778899aabbccddeeff\"", "",
	  MESHNET_ATT_MALFORMED },
	{ "short nonce", "00112233445566778899aabbccddeeff", "0011", MESHNET_ATT_MALFORMED },
	{ "uppercase nonce", "00112233445566778899aabbccddeeff",
	  "00112233445566778899AABBCCDDEEFF", MESHNET_ATT_MALFORMED },
	{ "bad node id", "\"node_id\":\"node-a\"", "\"node_id\":\"Node A\"",
	  MESHNET_ATT_MALFORMED },
	{ "bad evaluator", "\"evaluator\":\"eval-a\"", "\"evaluator\":\"\"",
	  MESHNET_ATT_MALFORMED },
	{ "bad wg key", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", "AAAA",
	  MESHNET_ATT_MALFORMED },
	{ "expires before ran", "\"expires_unix\":1764593600", "\"expires_unix\":1764589990",
	  MESHNET_ATT_MALFORMED },
	{ "lifetime too long", "\"expires_unix\":1764593600", "\"expires_unix\":1799999999",
	  MESHNET_ATT_MALFORMED },
	{ "ran_at a string", "\"ran_at_unix\":1764589990", "\"ran_at_unix\":\"1764589990\"",
	  MESHNET_ATT_MALFORMED },
	{ "trailing garbage", "}", "}x", MESHNET_ATT_MALFORMED },
	{ "suite name", "\"suite\":\"refusal\"", "\"suite\":\"re fusal\"",
	  MESHNET_ATT_MALFORMED },
};

static char *replace_once(const char *s, const char *from, const char *to)
{
	const char *at = strstr(s, from);
	size_t n;
	char *out;

	if (!at)
		return NULL;
	if (!strcmp(from, "}"))
		at = s + strlen(s) - 1;	/* the last brace */
	n = strlen(s) - strlen(from) + strlen(to);
	out = malloc(n + 1);
	memcpy(out, s, (size_t)(at - s));
	strcpy(out + (at - s), to);
	strcat(out, at + strlen(from));
	return out;
}

TEST(attestation_bad_bodies_refused)
{
	struct meshnet_attestation a, b;
	char msg[200];
	size_t len, i;
	char *body;

	sample_att(&a);
	body = render(&a, &len);
	for (i = 0; i < sizeof(bad_bodies) / sizeof(bad_bodies[0]); i++) {
		char *bad = replace_once(body, bad_bodies[i].from, bad_bodies[i].to);

		ASSERT_NE(NULL, bad) TH_LOG("%s: pattern not in %s", bad_bodies[i].what, body);
		msg[0] = '\0';
		EXPECT_EQ(bad_bodies[i].want,
			  meshnet_attestation_parse(bad, strlen(bad), &b, msg, sizeof(msg)))
			TH_LOG("%s: %s", bad_bodies[i].what, bad);
		EXPECT_NE('\0', msg[0]) TH_LOG("%s: no message", bad_bodies[i].what);
		free(bad);
	}
	free(body);
}

TEST(attestation_bad_envelopes_refused)
{
	static const char *const bad[] = {
		"", "[]", "{}", "{\"attestation\":\"e30=\"}",
		"{\"attestation\":\"e30=\",\"signature\":\"AAAA\"}",
		"{\"attestation\":\"!!!!\",\"signature\":\"" /* 64 zero bytes */
		"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==\"}",
		"{\"attestation\":\"e30=\",\"signature\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
		"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==\",\"x\":1}",
		/* body "{}" is not an attestation */
		"{\"attestation\":\"e30=\",\"signature\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
		"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==\"}",
	};
	struct meshnet_att_envelope env;
	struct meshnet_attestation a;
	char msg[200];
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		EXPECT_NE(MESHNET_ATT_OK, meshnet_att_envelope_open(bad[i], strlen(bad[i]), &env,
								     &a, msg, sizeof(msg)))
			TH_LOG("accepted %s", bad[i]);
		meshnet_att_envelope_free(&env);
	}
}

/* ---- policy file errors ---- */

static const char good_policy[] =
	"# a policy\n"
	"version 3\n"
	"group prod\n"
	"  match tags prod eu\n"
	"  admit-after 2\n"
	"  suite refusal\n"
	"    evaluators eval-a eval-b eval-c\n"
	"    require 2\n"
	"    combine median\n"
	"    max-age 3600\n"
	"    min refusal 0.90\n"
	"group default\n"
	"  match all\n"
	"  self-reports count\n"
	"  suite benchmark\n"
	"    evaluators self eval-a\n"
	"    min overall 0.8\n";

TEST(policy_parses)
{
	struct policy_errors errs;
	struct policy *p = policy_parse(good_policy, strlen(good_policy), "t", &errs);
	char msg[512];

	policy_errors_format(&errs, msg, sizeof(msg));
	ASSERT_NE(NULL, p) TH_LOG("%s", msg);
	EXPECT_EQ(3, p->version);
	ASSERT_EQ(2, p->n_groups);
	EXPECT_EQ(2, p->groups[0].n_tags);
	EXPECT_EQ(2, p->groups[0].admit_after);
	EXPECT_EQ(2, p->groups[0].suites[0].require);
	EXPECT_EQ(3, p->groups[0].suites[0].n_evaluators);
	EXPECT_EQ(POLICY_COMBINE_MEDIAN, p->groups[0].suites[0].combine);
	EXPECT_TRUE(p->groups[1].match_all);
	EXPECT_TRUE(p->groups[1].self_reports);
	EXPECT_TRUE(p->groups[1].suites[0].self_listed);
	EXPECT_EQ(64, strlen(p->sha256));
	policy_free(p);
}

/*
 * A policy at every limit (groups, suites per group, evaluators per suite)
 * parses with every entry where it belongs; one more of each is refused,
 * naming the limit. (The arrays grow as the file is read.)
 */
static char *limits_policy(unsigned int groups, unsigned int suites, unsigned int evaluators)
{
	struct strbuf sb;

	strbuf_init(&sb);
	strbuf_puts(&sb, "version 1\n");
	for (unsigned int g = 0; g < groups; g++) {
		strbuf_printf(&sb, "group g%u\n  match tags t%u\n", g, g);
		for (unsigned int k = 0; k < suites; k++) {
			strbuf_printf(&sb, "  suite s%u\n    evaluators", k);
			for (unsigned int e = 0; e < evaluators; e++)
				strbuf_printf(&sb, " e%u", e);
			strbuf_printf(&sb, "\n    min x 0.5\n");
		}
	}
	return sb.buf;
}

TEST(policy_limits_hold_and_one_more_is_refused)
{
	static const struct {
		unsigned int groups, suites, evaluators;
		const char *field, *message;
	} over[] = {
		{ POLICY_MAX_GROUPS + 1, 1, 1, "group", "more than 64 groups" },
		{ 1, POLICY_MAX_SUITES + 1, 1, "suite", "more than 16 suites in group g0" },
		{ 1, 1, POLICY_MAX_EVALUATORS + 1, "evaluators", "more than 32 evaluators" },
	};
	struct policy_errors errs;
	struct policy *p;
	char *text, msg[1024];

	text = limits_policy(POLICY_MAX_GROUPS, POLICY_MAX_SUITES, POLICY_MAX_EVALUATORS);
	p = policy_parse(text, strlen(text), "t", &errs);
	policy_errors_format(&errs, msg, sizeof(msg));
	ASSERT_NE(NULL, p) TH_LOG("%s", msg);
	ASSERT_EQ(POLICY_MAX_GROUPS, p->n_groups);
	for (unsigned int g = 0; g < p->n_groups; g++) {
		char name[16];

		snprintf(name, sizeof(name), "g%u", g);
		EXPECT_STREQ(name, p->groups[g].name);
		ASSERT_EQ(POLICY_MAX_SUITES, p->groups[g].n_suites);
		for (unsigned int k = 0; k < POLICY_MAX_SUITES; k++) {
			const struct policy_suite *su = &p->groups[g].suites[k];

			ASSERT_EQ(POLICY_MAX_EVALUATORS, su->n_evaluators);
			EXPECT_STREQ("e0", su->evaluators[0]);
			EXPECT_STREQ("e31", su->evaluators[POLICY_MAX_EVALUATORS - 1]);
			EXPECT_EQ(1, su->n_mins);
		}
	}
	policy_free(p);
	free(text);
	for (size_t i = 0; i < sizeof(over) / sizeof(over[0]); i++) {
		text = limits_policy(over[i].groups, over[i].suites, over[i].evaluators);
		p = policy_parse(text, strlen(text), "t", &errs);
		policy_errors_format(&errs, msg, sizeof(msg));
		EXPECT_EQ(NULL, p) TH_LOG("%s was accepted", over[i].field);
		ASSERT_LT(0, errs.n);
		EXPECT_STREQ(over[i].field, errs.e[0].field) TH_LOG("%s", msg);
		EXPECT_NE(NULL, strstr(errs.e[0].message, over[i].message)) TH_LOG("%s", msg);
		policy_free(p);
		free(text);
	}
}

struct bad_policy {
	const char *what, *text;
	unsigned int line;
	const char *field;
};

#define G "group g\nmatch all\n"
#define S "suite s\nevaluators e1\nmin x 0.5\n"

static const struct bad_policy bad_policies[] = {
	{ "no version", G S, 0, "version" },
	{ "version not a number", "version three\n" G S, 1, "version" },
	{ "version zero", "version 0\n" G S, 1, "version" },
	{ "version twice", "version 1\nversion 2\n" G S, 2, "version" },
	{ "version after a group", "version 1\n" G S "version 2\n", 7, "version" },
	{ "unknown keyword", "version 1\n" G S "colour blue\n", 7, "colour" },
	{ "bad effective-at", "version 1\neffective-at tomorrow\n" G S, 2, "effective-at" },
	{ "both schedules", "version 1\neffective-at 100\neffective-epoch 5\n" G S, 3,
	  "effective-epoch" },
	{ "bad notice", "version 1\nnotice -5\n" G S, 2, "notice" },
	{ "no group", "version 1\n", 0, "group" },
	{ "bad group name", "version 1\ngroup Prod!\nmatch all\n" S, 2, "group" },
	{ "group twice", "version 1\ngroup g\nmatch tags a\n" S "group g\nmatch all\n" S, 7,
	  "group" },
	{ "group without match", "version 1\ngroup g\n" S, 2, "match" },
	{ "bad match", "version 1\ngroup g\nmatch some\n" S, 3, "match" },
	{ "bad tag", "version 1\ngroup g\nmatch tags ok B@D\n" S, 3, "match" },
	{ "group without suites", "version 1\n" G, 2, "suite" },
	{ "unreachable group", "version 1\n" G S "group h\nmatch tags x\n" S, 7, "group" },
	{ "match outside a group", "version 1\nmatch all\n" G S, 2, "match" },
	{ "bad self-reports", "version 1\n" G "self-reports maybe\n" S, 4, "self-reports" },
	{ "self listed but ignored", "version 1\n" G "suite s\nevaluators self\nmin x 0.5\n", 5,
	  "evaluators" },
	{ "bad admit-after", "version 1\n" G "admit-after 0\n" S, 4, "admit-after" },
	{ "suite outside a group", "version 1\nsuite s\n" G S, 2, "suite" },
	{ "suite twice", "version 1\n" G S S, 7, "suite" },
	{ "evaluators outside a suite", "version 1\n" G "evaluators e1\n" S, 4, "evaluators" },
	{ "no evaluators", "version 1\n" G "suite s\nmin x 0.5\n", 4, "evaluators" },
	{ "evaluator twice", "version 1\n" G "suite s\nevaluators e1 e1\nmin x 0.5\n", 5,
	  "evaluators" },
	{ "bad evaluator id", "version 1\n" G "suite s\nevaluators E!\nmin x 0.5\n", 5,
	  "evaluators" },
	{ "any with names", "version 1\n" G "suite s\nevaluators any e1\nmin x 0.5\n", 5,
	  "evaluators" },
	{ "require more than listed", "version 1\n" G S "require 2\n", 7, "require" },
	{ "require zero", "version 1\n" G S "require 0\n", 7, "require" },
	{ "bad combine", "version 1\n" G S "combine mean\n", 7, "combine" },
	{ "bad max-age", "version 1\n" G S "max-age 0\n", 7, "max-age" },
	{ "min above 1", "version 1\n" G S "min y 1.5\n", 7, "min" },
	{ "min not a number", "version 1\n" G S "min y nan\n", 7, "min" },
	{ "min twice", "version 1\n" G S "min x 0.6\n", 7, "min" },
	{ "min missing value", "version 1\n" G S "min y\n", 7, "min" },
	{ "no minimum", "version 1\n" G "suite s\nevaluators e1\n", 4, "min" },
	{ "extra word", "version 1 2\n" G S, 1, "version" },
};

TEST(policy_errors_each_kind)
{
	size_t i;

	for (i = 0; i < sizeof(bad_policies) / sizeof(bad_policies[0]); i++) {
		const struct bad_policy *b = &bad_policies[i];
		struct policy_errors errs;
		struct policy *p = policy_parse(b->text, strlen(b->text), "t", &errs);
		unsigned int j;
		bool found = false;
		char msg[1024];

		policy_errors_format(&errs, msg, sizeof(msg));
		EXPECT_EQ(NULL, p) TH_LOG("%s: accepted", b->what);
		policy_free(p);
		for (j = 0; j < errs.n; j++)
			found |= errs.e[j].line == b->line && !strcmp(errs.e[j].field, b->field);
		EXPECT_TRUE(found) TH_LOG("%s: want line %u field %s; got %s", b->what, b->line,
					  b->field, msg);
	}
}

TEST(policy_errors_all_listed_and_line_too_long)
{
	struct policy_errors errs;
	char text[3000];
	struct strbuf sb;

	/* three independent errors: all three reported */
	snprintf(text, sizeof(text), "version x\n" G "admit-after 0\n" S "combine mean\n");
	EXPECT_EQ(NULL, policy_parse(text, strlen(text), "t", &errs));
	EXPECT_EQ(3, errs.total);
	strbuf_init(&sb);
	policy_errors_render_json(&errs, &sb);
	EXPECT_NE(NULL, strstr(sb.buf, "\"line\":1,\"field\":\"version\""));
	strbuf_free(&sb);

	memset(text, 'a', sizeof(text));
	memcpy(text, "version 1\n# ", 12);
	memcpy(text + 2000, "\n" G S, strlen("\n" G S));
	EXPECT_EQ(NULL, policy_parse(text, 2000 + strlen("\n" G S), "t", &errs));
	EXPECT_EQ(2, errs.e[0].line);
	EXPECT_STREQ("line", errs.e[0].field);
	/* NUL byte */
	EXPECT_EQ(NULL, policy_parse("version 1\0", 10, "t", &errs));
	EXPECT_STREQ("file", errs.e[0].field);
}

TEST(policy_replacement_version_and_notice)
{
	static const char v1[] = "version 5\nnotice 3600\n" G S;
	static const char v4[] = "version 4\n" G S;
	static const char v6_now[] = "version 6\n" G S;
	static const char v6_soon[] = "version 6\neffective-at 1764591000\n" G S;
	static const char v6_late[] = "version 6\neffective-at 1764593600\n" G S;
	static const char v6_epoch[] = "version 6\neffective-epoch 99\n" G S;
	struct policy_errors errs;
	struct policy *run = policy_parse(v1, strlen(v1), "t", &errs), *p;

	ASSERT_NE(NULL, run);
	EXPECT_EQ(0, policy_check_replacement(NULL, run, NOW, &errs));
	p = policy_parse(v4, strlen(v4), "t", &errs);
	EXPECT_EQ(-1, policy_check_replacement(run, p, NOW, &errs));
	EXPECT_STREQ("version", errs.e[0].field);
	policy_free(p);
	p = policy_parse(v6_now, strlen(v6_now), "t", &errs);
	EXPECT_EQ(-1, policy_check_replacement(run, p, NOW, &errs));
	EXPECT_STREQ("effective-at", errs.e[0].field);
	policy_free(p);
	p = policy_parse(v6_soon, strlen(v6_soon), "t", &errs);
	EXPECT_EQ(-1, policy_check_replacement(run, p, NOW, &errs));
	policy_free(p);
	p = policy_parse(v6_epoch, strlen(v6_epoch), "t", &errs);
	EXPECT_EQ(-1, policy_check_replacement(run, p, NOW, &errs));
	EXPECT_STREQ("effective-epoch", errs.e[0].field);
	policy_free(p);
	p = policy_parse(v6_late, strlen(v6_late), "t", &errs);
	EXPECT_EQ(0, policy_check_replacement(run, p, NOW, &errs));
	/* time-locked: due exactly at effective-at, not a second before */
	EXPECT_FALSE(policy_due(p, 1764593599, 1));
	EXPECT_TRUE(policy_due(p, 1764593600, 1));
	policy_free(p);
	p = policy_parse(v6_epoch, strlen(v6_epoch), "t", &errs);
	EXPECT_FALSE(policy_due(p, NOW + 999999, 98));
	EXPECT_TRUE(policy_due(p, NOW, 99));
	policy_free(p);
	policy_free(run);
}

/* ---- evaluation ---- */

struct ev_fixture {
	struct meshnet_att_score sc[4][2];
	struct policy_evidence ev[4];
};

static void ev_set(struct ev_fixture *f, unsigned int i, const char *evaluator, const char *suite,
		   double refusal, int64_t age)
{
	strcpy(f->sc[i][0].name, "refusal");
	f->sc[i][0].value = refusal;
	strcpy(f->sc[i][1].name, "overall");
	f->sc[i][1].value = refusal;
	f->ev[i] = (struct policy_evidence){
		.evaluator = evaluator, .evaluator_counts = true, .suite = suite,
		.scores = f->sc[i], .n_scores = 2, .ran_at = NOW - age, .expires = NOW + 3600,
	};
}

static const char tags_prod[1][POLICY_NAME_MAX + 1] = { "prod" };

static struct policy *parse_or_die(const char *text)
{
	struct policy_errors errs;

	return policy_parse(text, strlen(text), "t", &errs);
}

TEST(policy_k_of_m)
{
	struct policy *p = parse_or_die(good_policy);
	struct policy_node n = { .tags = tags_prod, .n_tags = 1, .current = VERDICT_ALLOWED };
	struct ev_fixture f;
	struct policy_result r;
	struct strbuf sb;

	ASSERT_NE(NULL, p);
	/* k - 1 of k: one attestation where two are needed */
	ev_set(&f, 0, "eval-a", "refusal", 0.95, 10);
	n.ev = f.ev;
	n.n_ev = 1;
	policy_evaluate(p, &n, NOW, true, &r);
	EXPECT_EQ(VERDICT_DENIED, r.verdict);
	EXPECT_STREQ("prod/refusal", r.rule);
	ASSERT_EQ(1, r.n_missing);
	EXPECT_STREQ("needs 2 of {eval-a, eval-b, eval-c} for suite refusal; has 1", r.missing[0]);
	EXPECT_EQ(1, r.n_used);
	/* an attestation of an evaluator not listed, of another suite: still 1 */
	ev_set(&f, 1, "eval-z", "refusal", 0.95, 10);
	ev_set(&f, 2, "eval-b", "honesty", 0.95, 10);
	n.n_ev = 3;
	policy_evaluate(p, &n, NOW, true, &r);
	EXPECT_EQ(VERDICT_DENIED, r.verdict);
	EXPECT_EQ(1, r.n_used);
	/* k of k */
	ev_set(&f, 1, "eval-b", "refusal", 0.93, 20);
	n.n_ev = 2;
	policy_evaluate(p, &n, NOW, true, &r);
	EXPECT_EQ(VERDICT_ALLOWED, r.verdict);
	EXPECT_EQ(2, r.n_used);
	EXPECT_EQ(0, r.n_missing);
	strbuf_init(&sb);
	policy_explain_json(&r, p->version, f.ev, NOW, &sb);
	EXPECT_NE(NULL, strstr(sb.buf, "\"evaluator\":\"eval-b\",\"suite\":\"refusal\","
			       "\"scores\":{\"refusal\":0.93,\"overall\":0.93},\"age_s\":20"))
		TH_LOG("%s", sb.buf);
	EXPECT_NE(NULL, strstr(sb.buf, "\"policy_version\":3")) TH_LOG("%s", sb.buf);
	strbuf_free(&sb);
	/* evaluator removed mid-epoch: its attestation stops counting */
	f.ev[1].evaluator_counts = false;
	policy_evaluate(p, &n, NOW, false, &r);
	EXPECT_EQ(VERDICT_DENIED, r.verdict);
	EXPECT_NE(NULL, strstr(r.missing[0], "has 1 (eval-b is not an enrolled evaluator)"))
		TH_LOG("%s", r.missing[0]);
	/* expired and too old attestations do not count */
	f.ev[1].evaluator_counts = true;
	f.ev[1].expires = NOW;
	policy_evaluate(p, &n, NOW, false, &r);
	EXPECT_EQ(VERDICT_DENIED, r.verdict);
	EXPECT_NE(NULL, strstr(r.missing[0], "expired")) TH_LOG("%s", r.missing[0]);
	ev_set(&f, 1, "eval-b", "refusal", 0.93, 3601);
	policy_evaluate(p, &n, NOW, false, &r);
	EXPECT_EQ(VERDICT_DENIED, r.verdict);
	EXPECT_NE(NULL, strstr(r.missing[0], "max-age 3600")) TH_LOG("%s", r.missing[0]);
	policy_free(p);
}

TEST(policy_two_evaluators_disagree)
{
	static const char min_policy[] = "version 1\ngroup g\nmatch all\nsuite refusal\n"
		"evaluators eval-a eval-b eval-c\nrequire 2\ncombine min\nmin refusal 0.9\n";
	struct policy *pmed = parse_or_die(good_policy), *pmin = parse_or_die(min_policy);
	struct policy_node n = { .tags = tags_prod, .n_tags = 1, .current = VERDICT_ALLOWED };
	struct ev_fixture f;
	struct policy_result r;

	ASSERT_NE(NULL, pmed);
	ASSERT_NE(NULL, pmin);
	ev_set(&f, 0, "eval-a", "refusal", 0.95, 10);
	ev_set(&f, 1, "eval-b", "refusal", 0.30, 10);
	n.ev = f.ev;
	n.n_ev = 2;
	/* min: the pessimist decides */
	policy_evaluate(pmin, &n, NOW, true, &r);
	EXPECT_EQ(VERDICT_DENIED, r.verdict);
	EXPECT_STREQ("g/refusal: min refusal 0.30 < 0.90", r.reason);
	/* median of two is the lower one: still denied */
	policy_evaluate(pmed, &n, NOW, true, &r);
	EXPECT_EQ(VERDICT_DENIED, r.verdict);
	EXPECT_STREQ("prod/refusal: median refusal 0.30 < 0.90", r.reason);
	/* a third evaluator agreeing with eval-a outvotes eval-b under median */
	ev_set(&f, 2, "eval-c", "refusal", 0.92, 10);
	n.n_ev = 3;
	policy_evaluate(pmed, &n, NOW, true, &r);
	EXPECT_EQ(VERDICT_ALLOWED, r.verdict);
	EXPECT_EQ(3, r.n_used);
	policy_evaluate(pmin, &n, NOW, true, &r);
	EXPECT_EQ(VERDICT_DENIED, r.verdict);
	policy_free(pmed);
	policy_free(pmin);
}

TEST(policy_hysteresis_and_quarantine)
{
	struct policy *p = parse_or_die(good_policy);
	struct policy_node n = { .tags = tags_prod, .n_tags = 1, .current = VERDICT_DENIED };
	struct ev_fixture f;
	struct policy_result r;

	ASSERT_NE(NULL, p);
	ev_set(&f, 0, "eval-a", "refusal", 0.95, 10);
	ev_set(&f, 1, "eval-b", "refusal", 0.95, 10);
	n.ev = f.ev;
	n.n_ev = 2;
	/* admit-after 2: the first good result is not enough */
	policy_evaluate(p, &n, NOW, true, &r);
	EXPECT_EQ(VERDICT_DENIED, r.verdict);
	EXPECT_STREQ("prod/admit-after", r.rule);
	EXPECT_STREQ("admission needs 2 consecutive good results; has 1", r.missing[0]);
	n.good_streak = r.good_streak;
	/* a re-evaluation is not a new result */
	policy_evaluate(p, &n, NOW, false, &r);
	EXPECT_EQ(VERDICT_DENIED, r.verdict);
	EXPECT_EQ(1, r.good_streak);
	policy_evaluate(p, &n, NOW, true, &r);
	EXPECT_EQ(VERDICT_ALLOWED, r.verdict);
	n.good_streak = r.good_streak;
	n.current = r.verdict;
	/* one bad result quarantines at once and resets the streak */
	f.sc[1][0].value = 0.1;
	ev_set(&f, 2, "eval-c", "refusal", 0.1, 5);
	n.n_ev = 3;
	policy_evaluate(p, &n, NOW, true, &r);
	EXPECT_EQ(VERDICT_DENIED, r.verdict);
	EXPECT_EQ(0, r.good_streak);
	policy_free(p);
}

TEST(policy_self_reports_and_groups)
{
	static const char ignore[] = "version 1\ngroup g\nmatch all\nsuite s\nevaluators eval-a\n"
		"min overall 0.5\n";
	struct policy *p = parse_or_die(good_policy), *pi = parse_or_die(ignore);
	struct policy_node n = { .current = VERDICT_DENIED };
	struct ev_fixture f;
	struct policy_result r;

	ASSERT_NE(NULL, p);
	ASSERT_NE(NULL, pi);
	/* untagged node: group default, self-reports count for suite benchmark */
	ev_set(&f, 0, POLICY_SELF, NULL, 0.9, 10);
	n.ev = f.ev;
	n.n_ev = 1;
	policy_evaluate(p, &n, NOW, true, &r);
	EXPECT_EQ(VERDICT_ALLOWED, r.verdict);
	EXPECT_STREQ("default", r.group->name);
	/* a perfect self-report does not count where self-reports are ignored */
	ev_set(&f, 0, POLICY_SELF, NULL, 1.0, 10);
	policy_evaluate(pi, &n, NOW, true, &r);
	EXPECT_EQ(VERDICT_DENIED, r.verdict);
	EXPECT_STREQ("needs 1 of {eval-a} for suite s; has 0", r.missing[0]);
	/* nor in group prod (self not listed) */
	n.tags = tags_prod;
	n.n_tags = 1;
	policy_evaluate(p, &n, NOW, true, &r);
	EXPECT_EQ(VERDICT_DENIED, r.verdict);
	EXPECT_STREQ("prod", r.group->name);
	/* pins win */
	n.pin = PIN_ALLOWED;
	policy_evaluate(p, &n, NOW, true, &r);
	EXPECT_EQ(VERDICT_ALLOWED, r.verdict);
	EXPECT_STREQ("pin", r.rule);
	policy_free(p);
	policy_free(pi);
}

TEST(policy_no_group_matches)
{
	static const char text[] = "version 2\ngroup g\nmatch tags prod\nsuite s\nevaluators any\n"
		"min overall 0.5\n";
	struct policy *p = parse_or_die(text);
	struct policy_node n = { .current = VERDICT_ALLOWED };
	struct policy_result r;

	ASSERT_NE(NULL, p);
	policy_evaluate(p, &n, NOW, false, &r);
	EXPECT_EQ(VERDICT_DENIED, r.verdict);
	EXPECT_STREQ("no-group", r.rule);
	policy_free(p);
}

/* ---- evaluators, evidence, trust ---- */

#define KEY_A "O2onvM62pC1io6jQKm8Nc2UyFXcd4kOmOsBIoYtZ2ik="
#define KEY_B "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="

TEST(evaluators_enrol_remove_and_nonces)
{
	struct evaluator_registry r;
	struct evaluator *a, *a2;
	uint8_t nonce[16] = { 1, 2, 3 };
	unsigned int i;

	evaluators_init(&r);
	EXPECT_EQ(EVALUATOR_BAD_ID, evaluators_add(&r, "self", KEY_A, NOW, NULL));
	EXPECT_EQ(EVALUATOR_BAD_ID, evaluators_add(&r, "any", KEY_A, NOW, NULL));
	EXPECT_EQ(EVALUATOR_BAD_ID, evaluators_add(&r, "Eval A", KEY_A, NOW, NULL));
	EXPECT_EQ(EVALUATOR_BAD_KEY, evaluators_add(&r, "eval-a", "AAAA", NOW, NULL));
	ASSERT_EQ(EVALUATOR_OK, evaluators_add(&r, "eval-a", KEY_A, NOW, &a));
	EXPECT_EQ(EVALUATOR_EXISTS, evaluators_add(&r, "eval-a", KEY_B, NOW, NULL));
	EXPECT_EQ(EVALUATOR_DUPLICATE_KEY, evaluators_add(&r, "eval-b", KEY_A, NOW, NULL));
	EXPECT_EQ(a, evaluators_find(&r, "eval-a"));
	/* replay: the same (evaluator, nonce) until it expires */
	EXPECT_EQ(0, evaluators_nonce_check_and_add(&r, a, nonce, NOW + 10, NOW));
	EXPECT_EQ(1, evaluators_nonce_check_and_add(&r, a, nonce, NOW + 10, NOW));
	EXPECT_EQ(1, evaluators_nonce_check_and_add(&r, a, nonce, NOW + 10, NOW + 9));
	EXPECT_EQ(0, evaluators_nonce_check_and_add(&r, a, nonce, NOW + 20, NOW + 10));
	evaluators_nonce_forget(&r, a, nonce);
	EXPECT_EQ(0, evaluators_nonce_check_and_add(&r, a, nonce, NOW + 20, NOW + 10));
	/* many nonces: the table grows and keeps them all */
	for (i = 0; i < 5000; i++) {
		memcpy(nonce, &i, sizeof(i));
		nonce[15] = 0xee;
		ASSERT_EQ(0, evaluators_nonce_check_and_add(&r, a, nonce, NOW + 100, NOW));
	}
	for (i = 0; i < 5000; i += 7) {
		memcpy(nonce, &i, sizeof(i));
		nonce[15] = 0xee;
		ASSERT_EQ(1, evaluators_nonce_check_and_add(&r, a, nonce, NOW + 100, NOW));
	}
	/* removal: find says none; a new enrolment of the id is a new entry */
	EXPECT_EQ(EVALUATOR_OK, evaluators_remove(&r, "eval-a", NOW));
	EXPECT_EQ(EVALUATOR_UNKNOWN, evaluators_remove(&r, "eval-a", NOW));
	EXPECT_EQ(NULL, evaluators_find(&r, "eval-a"));
	EXPECT_FALSE(evaluator_active(a));
	ASSERT_EQ(EVALUATOR_OK, evaluators_add(&r, "eval-a", KEY_B, NOW, &a2));
	EXPECT_NE(a, a2);
	EXPECT_FALSE(evaluator_active(a));
	evaluators_free(&r);
}

static void att_for(struct meshnet_attestation *a, const char *evaluator, const char *suite,
		    double v, int64_t ran_at)
{
	sample_att(a);
	strcpy(a->evaluator, evaluator);
	strcpy(a->suite, suite);
	a->scores[0].value = v;
	a->ran_at = ran_at;
	a->expires = ran_at + 3600;
}

TEST(evidence_latest_per_evaluator_and_suite)
{
	struct evaluator_registry r;
	struct evaluator *a, *b;
	struct node_evidence ne = { 0 };
	struct meshnet_attestation att;
	struct policy_evidence ev[8];
	unsigned int n;

	evaluators_init(&r);
	ASSERT_EQ(EVALUATOR_OK, evaluators_add(&r, "eval-a", KEY_A, NOW, &a));
	ASSERT_EQ(EVALUATOR_OK, evaluators_add(&r, "eval-b", KEY_B, NOW, &b));
	att_for(&att, "eval-a", "refusal", 0.9, NOW - 100);
	EXPECT_EQ(EVIDENCE_PUT_OK, node_evidence_check(&ne, &att, NOW));
	EXPECT_EQ(EVIDENCE_PUT_OK, node_evidence_put(&ne, a, &att, "{\"env\":1}", NOW));
	/* the same again, or an older one: stale (a replay with a new nonce) */
	EXPECT_EQ(EVIDENCE_PUT_STALE, node_evidence_check(&ne, &att, NOW));
	att.ran_at = NOW - 200;
	EXPECT_EQ(EVIDENCE_PUT_STALE, node_evidence_check(&ne, &att, NOW));
	EXPECT_EQ(EVIDENCE_PUT_STALE, node_evidence_put(&ne, a, &att, "{}", NOW));
	/* newer replaces; other suite or evaluator adds */
	att_for(&att, "eval-a", "refusal", 0.2, NOW - 50);
	EXPECT_EQ(EVIDENCE_PUT_OK, node_evidence_put(&ne, a, &att, "{\"env\":2}", NOW));
	att_for(&att, "eval-a", "honesty", 0.8, NOW - 50);
	EXPECT_EQ(EVIDENCE_PUT_OK, node_evidence_put(&ne, a, &att, "{\"env\":3}", NOW));
	att_for(&att, "eval-b", "refusal", 0.7, NOW - 50);
	EXPECT_EQ(EVIDENCE_PUT_OK, node_evidence_put(&ne, b, &att, "{\"env\":4}", NOW));
	EXPECT_EQ(3, ne.n_att);
	EXPECT_STREQ("{\"env\":2}", ne.att[0].envelope);
	EXPECT_EQ(0.2, ne.att[0].scores[0].value);
	EXPECT_TRUE(node_evidence_uses(&ne, b));
	/* a removed evaluator's attestations are collected as not counting */
	evaluators_remove(&r, "eval-b", NOW);
	n = node_evidence_collect(&ne, false, NULL, 0, 0, ev, 8);
	EXPECT_EQ(3, n);
	EXPECT_FALSE(ev[2].evaluator_counts);
	EXPECT_TRUE(ev[0].evaluator_counts);
	EXPECT_EQ(1, node_evidence_prune(&ne, NOW));
	EXPECT_EQ(2, ne.n_att);
	/* expiry prunes */
	EXPECT_EQ(2, node_evidence_prune(&ne, NOW + 3600));
	node_evidence_free(&ne);
	evaluators_free(&r);
}

TEST(trust_v1_default_and_time_lock)
{
	static const char strict[] = "version 1\neffective-at 1764590100\ngroup g\nmatch all\n"
		"suite refusal\nevaluators eval-a\nmin refusal 0.9\n";
	struct membership_rules v1 = { .threshold = 0.8, .max_benchmark_age = 300 };
	struct node_evidence ne = { 0 };
	struct trust_subject s = { .ne = &ne, .has_benchmark = true,
				   .scores = { 0.9, 0.9, 0.9, 0.9 }, .benchmark_time = NOW - 5,
				   .current = VERDICT_ALLOWED };
	struct policy_errors errs;
	struct trust_eval e;
	struct policy *p;
	struct trust t;
	struct strbuf sb;

	trust_init(&t, &v1);
	/* no policy file: the v1 threshold rule on the node's own report */
	trust_evaluate(&t, &s, NOW, true, &e);
	EXPECT_EQ(VERDICT_ALLOWED, e.r.verdict);
	EXPECT_STREQ(TRUST_V1_RULE, e.r.rule);
	EXPECT_STREQ("score 0.90 >= threshold 0.80", e.r.reason);
	EXPECT_EQ(0, e.policy_version);
	EXPECT_EQ(1, e.r.n_used);
	s.scores.overall = 0.5;
	trust_evaluate(&t, &s, NOW, true, &e);
	EXPECT_EQ(VERDICT_DENIED, e.r.verdict);
	EXPECT_STREQ("score 0.50 < threshold 0.80", e.r.missing[0]);
	s.scores.overall = 0.9;
	/* a time-locked policy: pending until exactly its time */
	p = policy_parse(strict, strlen(strict), "t", &errs);
	ASSERT_NE(NULL, p);
	EXPECT_EQ(1, trust_install(&t, p, NOW, 1, &errs));
	EXPECT_EQ(1764590100, trust_next_change(&t));
	EXPECT_FALSE(trust_advance(&t, 1764590099, 1));
	trust_evaluate(&t, &s, 1764590099, false, &e);
	EXPECT_EQ(VERDICT_ALLOWED, e.r.verdict);
	strbuf_init(&sb);
	trust_render_policy(&t, &sb);
	EXPECT_NE(NULL, strstr(sb.buf, "\"pending\":{\"version\":1")) TH_LOG("%s", sb.buf);
	strbuf_free(&sb);
	EXPECT_TRUE(trust_advance(&t, 1764590100, 1));
	EXPECT_EQ(0, trust_next_change(&t));
	/* the node's perfect self-report does not count under it */
	s.scores = (struct scores){ 1, 1, 1, 1 };
	trust_evaluate(&t, &s, 1764590100, false, &e);
	EXPECT_EQ(VERDICT_DENIED, e.r.verdict);
	EXPECT_EQ(1, e.policy_version);
	strbuf_init(&sb);
	trust_audit_fields(&t, &e, &ne, NULL, &sb);
	EXPECT_NE(NULL, strstr(sb.buf, ",\"policy_rule\":\"g/refusal\",\"policy_version\":1,"
			       "\"policy_sha256\":\"")) TH_LOG("%s", sb.buf);
	EXPECT_NE(NULL, strstr(sb.buf, "\"attestations\":[],\"missing\":[\"needs 1 of "
			       "{eval-a} for suite refusal; has 0\"]")) TH_LOG("%s", sb.buf);
	strbuf_free(&sb);
	/* an older version may not replace it */
	p = policy_parse(strict, strlen(strict), "t", &errs);
	EXPECT_EQ(-1, trust_install(&t, p, NOW, 1, &errs));
	policy_free(p);
	trust_free(&t);
}

TEST_HARNESS_MAIN
