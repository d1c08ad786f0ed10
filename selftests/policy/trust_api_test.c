// SPDX-License-Identifier: MIT
/*
 * The trust layer over a real socket: build/san/meshnetd with a policy
 * file, three nodes (node-a and node-b tagged prod, node-c untagged),
 * evaluators enrolled through the admin API, attestations signed with real
 * Ed25519 keys (lib/attestation.c) and posted as an evaluator or relayed by
 * the node. Every bad input is refused with its JSON error and changes
 * nothing; verdicts follow k of m, min/median, removal of an evaluator,
 * time-locked policies; audit records carry the attestations as signed.
 */
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>
#include <openssl/rand.h>

#include "kselftest_harness.h"

#include "../../userspace/controller/tlog_store.h"
#include "../controller/client.h"
#include "attestation.h"
#include "b64.h"
#include "fileio.h"
#include "sign.h"
#include "signing_key.h"
#include "strbuf.h"
#include "timefmt.h"

#define N_NODES 3
#define N_EVAL 4
#define TOKEN "trust-admin-token-0123456789abcdef"

static const char *const node_ids[N_NODES] = { "node-a", "node-b", "node-c" };
static const char *const eval_ids[N_EVAL] = { "eval-a", "eval-b", "eval-c", "eval-d" };

/* group prod: 2 of {eval-a, eval-b, eval-c}, median refusal >= 0.9; the rest: self-reports */
static const char policy_v1[] =
	"# test policy\n"
	"version 1\n"
	"group prod\n"
	"  match tags prod\n"
	"  self-reports ignore\n"
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
	"    evaluators self\n"
	"    max-age 3600\n"
	"    min overall 0.8\n";

struct tsrv {
	char dir[PATH_MAX];
	char policy[PATH_MAX + 16];
	uint16_t port;
	pid_t pid;
	EVP_PKEY *node_key[N_NODES];
	char wg_b64[N_NODES][48];
	EVP_PKEY *eval_key[N_EVAL];
	char eval_pub[N_EVAL][48];
};

static int write_text(const char *path, const char *text, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = write(fd, text, strlen(text));
	close(fd);
	return n == (ssize_t)strlen(text) ? 0 : -1;
}

static EVP_PKEY *keypair(char pub_b64[48])
{
	uint8_t seed[32], pub[32];

	if (meshnet_ed25519_generate(seed, pub))
		return NULL;
	meshnet_b64_encode(pub_b64, pub, 32);
	return meshnet_ed25519_private_from_raw(seed);
}

static int tsrv_prepare(struct tsrv *s)
{
	char path[PATH_MAX + 32], nodes[4096], sig_b64[48];
	size_t off = 0;
	int i;

	snprintf(s->dir, sizeof(s->dir), "/tmp/meshnetd-trust.XXXXXX");
	if (!mkdtemp(s->dir))
		return -1;
	off += snprintf(nodes + off, sizeof(nodes) - off, "{\"nodes\":[");
	for (i = 0; i < N_NODES; i++) {
		uint8_t wg[32];

		s->node_key[i] = keypair(sig_b64);
		memset(wg, 0x30 + i, sizeof(wg));
		meshnet_b64_encode(s->wg_b64[i], wg, 32);
		off += snprintf(nodes + off, sizeof(nodes) - off,
				"%s{\"node_id\":\"%s\",\"public_key\":\"%s\",\"signing_key\":\"%s\","
				"\"allowed_ips\":[\"10.20.0.%d/32\"]%s}", i ? "," : "", node_ids[i],
				s->wg_b64[i], sig_b64, i + 1, i < 2 ? ",\"tags\":[\"prod\"]" : "");
	}
	snprintf(nodes + off, sizeof(nodes) - off, "]}\n");
	for (i = 0; i < N_EVAL; i++)
		s->eval_key[i] = keypair(s->eval_pub[i]);
	snprintf(path, sizeof(path), "%s/nodes.json", s->dir);
	if (write_text(path, nodes, 0644))
		return -1;
	snprintf(s->policy, sizeof(s->policy), "%s/policy.conf", s->dir);
	if (write_text(s->policy, policy_v1, 0644))
		return -1;
	snprintf(path, sizeof(path), "%s/admin.token", s->dir);
	return write_text(path, TOKEN "\n", 0600);
}

static int tsrv_start(struct tsrv *s)
{
	char bin[PATH_MAX], exe[PATH_MAX], listen[64];
	const char *const settings[] = {
		"--policy-file", s->policy, "--epoch-seconds", "600", "--deny-rotate-interval", "0",
		"--admit-interval", "0",	/* admissions at once, as quarantines */
		"--max-benchmark-age", "3600", NULL,
	};
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

	exe[n > 0 ? n : 0] = '\0';
	snprintf(bin, sizeof(bin), "%s/meshnetd", dirname(exe));
	s->port = mn_free_port();
	snprintf(listen, sizeof(listen), "127.0.0.1:%u", s->port);
	s->pid = mn_spawn_meshnetd(bin, s->dir, listen, NULL, settings);
	return mn_wait_healthy(s->port, s->pid, 30000) ? -1 : 0;
}

static void tsrv_stop(struct tsrv *s)
{
	if (s->pid > 0) {
		kill(s->pid, SIGTERM);
		waitpid(s->pid, NULL, 0);
		s->pid = 0;
	}
}

static void tsrv_cleanup(struct tsrv *s)
{
	char cmd[PATH_MAX + 16];
	int i;

	tsrv_stop(s);
	for (i = 0; i < N_NODES; i++)
		EVP_PKEY_free(s->node_key[i]);
	for (i = 0; i < N_EVAL; i++)
		EVP_PKEY_free(s->eval_key[i]);
	if (getenv("KEEP_TEST_DIR"))
		return;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", s->dir);
	if (system(cmd))
		fprintf(stderr, "could not remove %s\n", s->dir);
}

static int admin(struct tsrv *s, const char *method, const char *target, const char *body,
		 struct mn_response *r)
{
	return mn_do(s->port, method, target, "Authorization: Bearer " TOKEN "\r\n", body, r);
}

static int enrol_evaluator(struct tsrv *s, int e)
{
	struct mn_response r;
	char body[256];
	int st;

	snprintf(body, sizeof(body), "{\"evaluator_id\":\"%s\",\"public_key\":\"%s\"}",
		 eval_ids[e], s->eval_pub[e]);
	if (admin(s, "POST", "/v1/evaluators", body, &r))
		return -1;
	st = r.status;
	mn_response_free(&r);
	return st;
}

/* What to get wrong in an attestation. */
enum twist {
	OK = 0, FORGED, OTHER_NODE, UNKNOWN_NODE, OTHER_WG_KEY, EXPIRED, SCORE_HIGH,
	SCORE_NEG, FUTURE, BAD_JSON,
};

struct att_spec {
	int evaluator;		/* index: who the body names */
	int signer;		/* index of the key that signs (FORGED: another) */
	int node;
	const char *suite;
	double refusal;
	int64_t ran_ago;	/* seconds before now */
	enum twist twist;
	char nonce[33];		/* "" : fresh */
};

static char *make_envelope(struct tsrv *s, const struct att_spec *sp, char nonce_out[33])
{
	struct meshnet_attestation a = { 0 };
	uint8_t sig[64], rnd[16];
	int64_t now = time(NULL);
	struct strbuf body, env;

	strcpy(a.evaluator, eval_ids[sp->evaluator]);
	strcpy(a.node_id, sp->twist == UNKNOWN_NODE ? "node-zz" : node_ids[sp->node]);
	strcpy(a.wg_public_key, sp->twist == OTHER_WG_KEY ? s->wg_b64[(sp->node + 1) % N_NODES] :
	       s->wg_b64[sp->node]);
	strcpy(a.suite, sp->suite ? sp->suite : "refusal");
	strcpy(a.suite_version, "3.1.0");
	strcpy(a.scores[0].name, "refusal");
	a.scores[0].value = sp->twist == SCORE_HIGH ? 1.5 : sp->twist == SCORE_NEG ? -0.25 :
			    sp->refusal;
	strcpy(a.scores[1].name, "overall");
	a.scores[1].value = 0.9;
	a.n_scores = 2;
	a.ran_at = sp->twist == FUTURE ? now + 600 : now - sp->ran_ago;
	a.expires = sp->twist == EXPIRED ? now - 5 : a.ran_at + 3600;
	if (sp->twist == EXPIRED)
		a.ran_at = now - 100;
	if (sp->nonce[0]) {
		strcpy(a.nonce, sp->nonce);
	} else {
		RAND_bytes(rnd, sizeof(rnd));
		meshnet_hex_encode(a.nonce, rnd, sizeof(rnd));
	}
	if (nonce_out)
		strcpy(nonce_out, a.nonce);
	strbuf_init(&body);
	meshnet_attestation_render(&a, &body);
	if (sp->twist == BAD_JSON)
		strbuf_puts(&body, ",");
	meshnet_attestation_sign(s->eval_key[sp->twist == FORGED ? (sp->signer + 1) % N_EVAL :
					     sp->signer], body.buf, body.len, sig);
	strbuf_init(&env);
	meshnet_att_envelope_render(&env, body.buf, body.len, sig);
	strbuf_free(&body);
	return env.buf;
}

static int post_envelope(struct tsrv *s, const char *env, int relay_node, struct mn_response *r)
{
	char target[96];

	if (relay_node < 0)
		return mn_do(s->port, "POST", "/v1/attestations", "", env, r);
	snprintf(target, sizeof(target), "/v1/nodes/%s/attestations", node_ids[relay_node]);
	return mn_do_signed(s->port, s->node_key[relay_node], node_ids[relay_node], "POST",
			    target, env, r);
}

/* Posts an attestation; returns the HTTP status, code gets error.code or "". */
static int attest(struct tsrv *s, int evaluator, int node, double refusal, char *code,
		  size_t cap)
{
	struct att_spec sp = { .evaluator = evaluator, .signer = evaluator, .node = node,
			       .refusal = refusal, .ran_ago = 5 };
	struct mn_response r;
	char *env = make_envelope(s, &sp, NULL);
	int st = -1;

	if (!post_envelope(s, env, -1, &r)) {
		st = r.status;
		if (code) {
			struct json_object *o = json_tokener_parse(r.body ? r.body : ""), *e, *c;

			code[0] = '\0';
			if (o && json_object_object_get_ex(o, "error", &e) &&
			    json_object_object_get_ex(e, "code", &c))
				snprintf(code, cap, "%s", json_object_get_string(c));
			json_object_put(o);
		}
		mn_response_free(&r);
	}
	free(env);
	return st;
}

/* GET /v1/nodes/{id}: the node view's text (caller frees), NULL on failure. */
static char *node_view(struct tsrv *s, int node)
{
	struct mn_response r;
	char target[64], *out = NULL;

	snprintf(target, sizeof(target), "/v1/nodes/%s", node_ids[node]);
	if (!admin(s, "GET", target, NULL, &r) && r.status == 200)
		out = strdup(r.body);
	mn_response_free(&r);
	return out;
}

static bool membership_is(struct tsrv *s, int node, const char *want)
{
	char *v = node_view(s, node), pat[64];
	bool ok;

	snprintf(pat, sizeof(pat), "\"status\":{\"membership\":\"%s\"", want);
	ok = v && strstr(v, pat);
	free(v);
	return ok;
}

/*
 * The audit log's records (GET /v1/log/records, JSON lines) once they hold
 * needle (records reach the log's checkpointed size shortly after the
 * change); NULL if they do not within 10 s. The caller frees.
 */
static char *read_audit(struct tsrv *s, const char *needle)
{
	struct mn_response r;
	char *out = NULL;
	int i;

	for (i = 0; i < 100 && !out; i++) {
		if (!mn_do(s->port, "GET", "/v1/log/records?start=0", "", NULL, &r) &&
		    r.status == 200 && r.body && strstr(r.body, needle))
			out = strdup(r.body);
		mn_response_free(&r);
		if (!out)
			usleep(100000);
	}
	return out;
}

FIXTURE(trust)
{
	struct tsrv s;
};

FIXTURE_SETUP(trust)
{
	int i;

	memset(&self->s, 0, sizeof(self->s));
	ASSERT_EQ(0, tsrv_prepare(&self->s));
	ASSERT_EQ(0, tsrv_start(&self->s)) TH_LOG("meshnetd did not start (%s)", self->s.dir);
	for (i = 0; i < 3; i++)
		ASSERT_EQ(201, enrol_evaluator(&self->s, i));
}

FIXTURE_TEARDOWN(trust)
{
	tsrv_cleanup(&self->s);
}

TEST_F(trust, evaluator_enrolment_bad_inputs)
{
	static const char *const bad[] = {
		"{\"evaluator_id\":\"self\",\"public_key\":\"O2onvM62pC1io6jQKm8Nc2UyFXcd4kOmOsBIoYtZ2ik=\"}",
		"{\"evaluator_id\":\"Eval A\",\"public_key\":\"O2onvM62pC1io6jQKm8Nc2UyFXcd4kOmOsBIoYtZ2ik=\"}",
		"{\"evaluator_id\":\"eval-x\",\"public_key\":\"AAAA\"}",
		"{\"evaluator_id\":\"eval-x\"}",
		"{\"evaluator_id\":\"eval-x\",\"public_key\":\"O2onvM62pC1io6jQKm8Nc2UyFXcd4kOmOsBIoYtZ2ik=\",\"x\":1}",
		"[1]",
	};
	struct mn_response r;
	char code[64], body[256];
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ASSERT_EQ(0, admin(&self->s, "POST", "/v1/evaluators", bad[i], &r));
		EXPECT_EQ(400, r.status) TH_LOG("%s: %s", bad[i], r.body);
		EXPECT_STREQ("bad_request", mn_error_code(&r, code, sizeof(code)));
		mn_response_free(&r);
	}
	/* the same id again, or another id with the same key: 409 */
	EXPECT_EQ(409, enrol_evaluator(&self->s, 0));
	snprintf(body, sizeof(body), "{\"evaluator_id\":\"eval-x\",\"public_key\":\"%s\"}",
		 self->s.eval_pub[1]);
	ASSERT_EQ(0, admin(&self->s, "POST", "/v1/evaluators", body, &r));
	EXPECT_EQ(409, r.status);
	EXPECT_STREQ("duplicate_key", mn_error_code(&r, code, sizeof(code)));
	mn_response_free(&r);
	/* no token: 401; unknown evaluator removal: 404 */
	ASSERT_EQ(0, mn_do(self->s.port, "POST", "/v1/evaluators", "", body, &r));
	EXPECT_EQ(401, r.status);
	mn_response_free(&r);
	ASSERT_EQ(0, admin(&self->s, "DELETE", "/v1/evaluators/eval-q", NULL, &r));
	EXPECT_EQ(404, r.status);
	EXPECT_STREQ("unknown_evaluator", mn_error_code(&r, code, sizeof(code)));
	mn_response_free(&r);
	ASSERT_EQ(0, admin(&self->s, "GET", "/v1/evaluators", NULL, &r));
	EXPECT_EQ(200, r.status);
	EXPECT_NE(NULL, strstr(r.body, "\"evaluator_id\":\"eval-c\""));
	EXPECT_EQ(NULL, strstr(r.body, "eval-x"));
	mn_response_free(&r);
}

struct bad_case {
	const char *what;
	enum twist twist;
	int evaluator, relay;
	int status;
	const char *code;
};

TEST_F(trust, bad_attestations_refused_nothing_changed)
{
	static const struct bad_case cases[] = {
		{ "forged (signed by another evaluator's key)", FORGED, 0, -1, 401,
		  "bad_attestation_signature" },
		{ "for another node, relayed by node-b", OK, 0, 1, 403, "wrong_node" },
		{ "about no enrolled node", UNKNOWN_NODE, 0, -1, 404, "unknown_node" },
		{ "for another WireGuard key", OTHER_WG_KEY, 0, -1, 409, "wrong_wg_key" },
		{ "expired", EXPIRED, 0, -1, 400, "attestation_expired" },
		{ "score above 1", SCORE_HIGH, 0, -1, 400, "bad_score" },
		{ "score below 0", SCORE_NEG, 0, -1, 400, "bad_score" },
		{ "ran in the future", FUTURE, 0, -1, 400, "bad_timestamp" },
		{ "not JSON", BAD_JSON, 0, -1, 400, "bad_attestation" },
		{ "unknown evaluator", OK, 3, -1, 403, "unknown_evaluator" },
	};
	struct mn_response r;
	char code[64], nonce[33], *before, *after, *env;
	struct att_spec sp;
	size_t i;

	before = node_view(&self->s, 0);
	ASSERT_NE(NULL, before);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		sp = (struct att_spec){ .evaluator = cases[i].evaluator,
					.signer = cases[i].evaluator, .node = 0, .refusal = 0.99,
					.ran_ago = 5, .twist = cases[i].twist };
		env = make_envelope(&self->s, &sp, NULL);
		ASSERT_EQ(0, post_envelope(&self->s, env, cases[i].relay, &r));
		EXPECT_EQ(cases[i].status, r.status) TH_LOG("%s: %s", cases[i].what, r.body);
		EXPECT_STREQ(cases[i].code, mn_error_code(&r, code, sizeof(code)))
			TH_LOG("%s: %s", cases[i].what, r.body);
		mn_response_free(&r);
		free(env);
	}
	/* a malformed envelope, and an empty body */
	ASSERT_EQ(0, mn_do(self->s.port, "POST", "/v1/attestations", "",
			   "{\"attestation\":\"e30=\"}", &r));
	EXPECT_EQ(400, r.status);
	EXPECT_STREQ("bad_attestation", mn_error_code(&r, code, sizeof(code)));
	mn_response_free(&r);
	/* nothing changed: the node view is byte for byte the same */
	after = node_view(&self->s, 0);
	ASSERT_NE(NULL, after);
	EXPECT_STREQ(before, after);
	free(after);

	/* replayed: accepted once, then 409 replay, relayed or not */
	sp = (struct att_spec){ .evaluator = 0, .signer = 0, .node = 0, .refusal = 0.99,
				.ran_ago = 5 };
	env = make_envelope(&self->s, &sp, nonce);
	ASSERT_EQ(0, post_envelope(&self->s, env, 0, &r));
	EXPECT_EQ(200, r.status) TH_LOG("%s", r.body);
	mn_response_free(&r);
	before = (free(before), node_view(&self->s, 0));
	ASSERT_EQ(0, post_envelope(&self->s, env, -1, &r));
	EXPECT_EQ(409, r.status);
	EXPECT_STREQ("replay", mn_error_code(&r, code, sizeof(code)));
	mn_response_free(&r);
	ASSERT_EQ(0, post_envelope(&self->s, env, 0, &r));
	EXPECT_EQ(409, r.status);
	mn_response_free(&r);
	free(env);
	/* an older attestation of the same evaluator and suite, new nonce: stale */
	sp.ran_ago = 60;
	env = make_envelope(&self->s, &sp, NULL);
	ASSERT_EQ(0, post_envelope(&self->s, env, -1, &r));
	EXPECT_EQ(409, r.status);
	EXPECT_STREQ("stale_attestation", mn_error_code(&r, code, sizeof(code)));
	mn_response_free(&r);
	free(env);
	/* a removed evaluator's attestation */
	ASSERT_EQ(0, admin(&self->s, "DELETE", "/v1/evaluators/eval-c", NULL, &r));
	EXPECT_EQ(200, r.status);
	mn_response_free(&r);
	EXPECT_EQ(403, attest(&self->s, 2, 0, 0.99, code, sizeof(code)));
	EXPECT_STREQ("evaluator_removed", code);
	after = node_view(&self->s, 0);
	/* the node's age_s may tick; compare the verdict and the evidence count */
	ASSERT_NE(NULL, after);
	EXPECT_NE(NULL, strstr(after, "\"membership\":\"DENIED\""));
	EXPECT_NE(NULL, strstr(after, "has 1")) TH_LOG("%s", after);
	free(before);
	free(after);
}

TEST_F(trust, k_minus_one_of_k_then_k)
{
	char *v;

	EXPECT_EQ(200, attest(&self->s, 0, 0, 0.95, NULL, 0));
	v = node_view(&self->s, 0);
	ASSERT_NE(NULL, v);
	EXPECT_NE(NULL, strstr(v, "\"membership\":\"DENIED\"")) TH_LOG("%s", v);
	EXPECT_NE(NULL, strstr(v, "\"rule\":\"prod/refusal\"")) TH_LOG("%s", v);
	EXPECT_NE(NULL, strstr(v, "needs 2 of {eval-a, eval-b, eval-c} for suite refusal; has 1"))
		TH_LOG("%s", v);
	free(v);
	EXPECT_EQ(200, attest(&self->s, 1, 0, 0.93, NULL, 0));
	v = node_view(&self->s, 0);
	ASSERT_NE(NULL, v);
	EXPECT_NE(NULL, strstr(v, "\"status\":{\"membership\":\"ALLOWED\"")) TH_LOG("%s", v);
	EXPECT_NE(NULL, strstr(v, "{\"evaluator\":\"eval-a\",\"suite\":\"refusal\","
			       "\"scores\":{\"refusal\":0.95,\"overall\":0.9},\"age_s\":"))
		TH_LOG("%s", v);
	EXPECT_NE(NULL, strstr(v, "\"evaluator\":\"eval-b\"")) TH_LOG("%s", v);
	EXPECT_NE(NULL, strstr(v, "\"missing\":[]")) TH_LOG("%s", v);
	free(v);
	/* node-b got nothing: still denied */
	EXPECT_TRUE(membership_is(&self->s, 1, "DENIED"));
}

TEST_F(trust, two_evaluators_disagree)
{
	char *v;

	EXPECT_EQ(200, attest(&self->s, 0, 0, 0.95, NULL, 0));
	EXPECT_EQ(200, attest(&self->s, 1, 0, 0.30, NULL, 0));
	/* median of two is the lower one */
	v = node_view(&self->s, 0);
	ASSERT_NE(NULL, v);
	EXPECT_NE(NULL, strstr(v, "\"status\":{\"membership\":\"DENIED\",\"reason\":\"prod/refusal: "
			       "median refusal 0.30 < 0.90\"")) TH_LOG("%s", v);
	free(v);
	/* a third evaluator outvotes the dissenter */
	EXPECT_EQ(200, attest(&self->s, 2, 0, 0.92, NULL, 0));
	EXPECT_TRUE(membership_is(&self->s, 0, "ALLOWED"));
}

TEST_F(trust, evaluator_removed_mid_epoch_quarantines)
{
	struct mn_response r;
	char *v, *audit;
	long epoch_before, epoch_after;

	EXPECT_EQ(200, attest(&self->s, 0, 0, 0.95, NULL, 0));
	EXPECT_EQ(200, attest(&self->s, 1, 0, 0.95, NULL, 0));
	ASSERT_TRUE(membership_is(&self->s, 0, "ALLOWED"));
	ASSERT_EQ(0, mn_do(self->s.port, "GET", "/health", "", NULL, &r));
	epoch_before = strtol(strstr(r.body, "\"epoch\":") + 8, NULL, 10);
	mn_response_free(&r);
	ASSERT_EQ(0, admin(&self->s, "DELETE", "/v1/evaluators/eval-b", NULL, &r));
	EXPECT_EQ(200, r.status);
	EXPECT_NE(NULL, strstr(r.body, "\"nodes_affected\":1,\"nodes_denied\":1")) TH_LOG("%s",
											   r.body);
	mn_response_free(&r);
	/* at once, not at the next epoch: DENIED, and a new epoch started for it */
	v = node_view(&self->s, 0);
	ASSERT_NE(NULL, v);
	EXPECT_NE(NULL, strstr(v, "\"status\":{\"membership\":\"DENIED\"")) TH_LOG("%s", v);
	EXPECT_NE(NULL, strstr(v, "eval-b is not an enrolled evaluator")) TH_LOG("%s", v);
	free(v);
	ASSERT_EQ(0, mn_do(self->s.port, "GET", "/health", "", NULL, &r));
	epoch_after = strtol(strstr(r.body, "\"epoch\":") + 8, NULL, 10);
	mn_response_free(&r);
	EXPECT_GT(epoch_after, epoch_before);
	audit = read_audit(&self->s, "\"evaluator_id\":\"eval-b\"");
	ASSERT_NE(NULL, audit);
	EXPECT_NE(NULL, strstr(audit, "\"type\":\"evaluator_remove\",\"evaluator_id\":\"eval-b\""))
		TH_LOG("%s", audit);
	free(audit);
	/* re-enrolled under a new key: the old attestations still do not count */
	{
		char body[256];

		snprintf(body, sizeof(body), "{\"evaluator_id\":\"eval-b\",\"public_key\":\"%s\"}",
			 self->s.eval_pub[3]);
		ASSERT_EQ(0, admin(&self->s, "POST", "/v1/evaluators", body, &r));
		EXPECT_EQ(201, r.status);
		mn_response_free(&r);
	}
	EXPECT_TRUE(membership_is(&self->s, 0, "DENIED"));
}

TEST_F(trust, perfect_self_report_quarantined_on_evaluator)
{
	char body[512], when[32], *audit, *v, *env, *b64;
	struct att_spec sp = { .evaluator = 1, .signer = 1, .node = 0, .refusal = 0.2,
			       .ran_ago = 1 };
	struct mn_response r;
	time_t now = time(NULL);
	struct tm tm;

	/* node-c (group default) is admitted on its own report */
	gmtime_r(&now, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	snprintf(body, sizeof(body), "{\"node_id\":\"node-c\",\"suite_version\":\"s-1\","
		 "\"timestamp\":\"%s\",\"scores\":{\"overall\":1,\"refusal\":1,\"honesty\":1,"
		 "\"policy\":1}}", when);
	ASSERT_EQ(0, mn_do_signed(self->s.port, self->s.node_key[2], "node-c", "POST",
				  "/v1/benchmarks/node-c", body, &r));
	EXPECT_EQ(200, r.status) TH_LOG("%s", r.body);
	EXPECT_NE(NULL, strstr(r.body, "\"explanation\":{\"policy_version\":1")) TH_LOG("%s",
										     r.body);
	mn_response_free(&r);
	EXPECT_TRUE(membership_is(&self->s, 2, "ALLOWED"));
	/* node-a (group prod) sends perfect reports of its own: they do not count */
	snprintf(body, sizeof(body), "{\"node_id\":\"node-a\",\"suite_version\":\"s-1\","
		 "\"timestamp\":\"%s\",\"scores\":{\"overall\":1,\"refusal\":1,\"honesty\":1,"
		 "\"policy\":1}}", when);
	ASSERT_EQ(0, mn_do_signed(self->s.port, self->s.node_key[0], "node-a", "POST",
				  "/v1/benchmarks/node-a", body, &r));
	EXPECT_EQ(200, r.status);
	EXPECT_NE(NULL, strstr(r.body, "\"membership\":\"DENIED\"")) TH_LOG("%s", r.body);
	mn_response_free(&r);
	/* admitted on two evaluators, then one bad attestation quarantines it */
	EXPECT_EQ(200, attest(&self->s, 0, 0, 0.97, NULL, 0));
	EXPECT_EQ(200, attest(&self->s, 1, 0, 0.97, NULL, 0));
	ASSERT_TRUE(membership_is(&self->s, 0, "ALLOWED"));
	sleep(1);	/* a newer ran_at than eval-b's good one */
	env = make_envelope(&self->s, &sp, NULL);
	ASSERT_EQ(0, post_envelope(&self->s, env, -1, &r));
	EXPECT_EQ(200, r.status);
	EXPECT_NE(NULL, strstr(r.body, "\"membership\":\"DENIED\"")) TH_LOG("%s", r.body);
	mn_response_free(&r);
	EXPECT_TRUE(membership_is(&self->s, 0, "DENIED"));
	/* the node's config reply says why */
	ASSERT_EQ(0, mn_do_signed(self->s.port, self->s.node_key[0], "node-a", "GET",
				  "/v1/config/node-a", NULL, &r));
	EXPECT_EQ(403, r.status);
	EXPECT_NE(NULL, strstr(r.body, "\"explanation\":{\"policy_version\":1,\"membership\":"
			       "\"DENIED\",\"group\":\"prod\",\"rule\":\"prod/refusal\""))
		TH_LOG("%s", r.body);
	mn_response_free(&r);
	/* ... and so does its signed v2 denied statement (the agent logs and shows it) */
	ASSERT_EQ(0, mn_do_signed(self->s.port, self->s.node_key[0], "node-a", "GET",
				  "/v1/config/node-a?rev=0", NULL, &r));
	EXPECT_EQ(403, r.status);
	EXPECT_NE(NULL, strstr(r.body, "\"type\":\"denied\"")) TH_LOG("%s", r.body);
	EXPECT_NE(NULL, strstr(r.body, "\"explanation\":{\"policy_version\":1,\"membership\":"
			       "\"DENIED\",\"group\":\"prod\",\"rule\":\"prod/refusal\""))
		TH_LOG("%s", r.body);
	EXPECT_NE(NULL, strstr(r.body, "{\"evaluator\":\"eval-b\",\"suite\":\"refusal\","
			       "\"scores\":{\"refusal\":0.2,\"overall\":0.9}")) TH_LOG("%s", r.body);
	mn_response_free(&r);
	/* the verdict's audit record carries the attestations exactly as signed */
	audit = read_audit(&self->s, "\"to\":\"DENIED\"");
	ASSERT_NE(NULL, audit);
	b64 = strstr(env, "\"attestation\":\"");
	ASSERT_NE(NULL, b64);
	*strchr(b64 + 15, '"') = '\0';
	v = strstr(audit, "\"to\":\"DENIED\"");
	ASSERT_NE(NULL, v);
	EXPECT_NE(NULL, strstr(v, b64 + 15)) TH_LOG("audit lacks the signed body");
	EXPECT_NE(NULL, strstr(v, "\"policy_rule\":\"prod/refusal\",\"policy_version\":1,"
			       "\"policy_sha256\":\"")) TH_LOG("%s", v);
	free(audit);
	free(env);
}

TEST_F(trust, policy_put_reload_sighup)
{
	static const char bad[] = "version 2\ngroup g\nmatch all\nsuite s\nrequire 2\n"
				  "colour blue\n";
	static const char v2[] = "version 2\ngroup all\nmatch all\nsuite refusal\n"
				 "evaluators eval-a\nmin refusal 0.5\n";
	static const char v3[] = "version 3\ngroup all\nmatch all\nsuite refusal\n"
				 "evaluators eval-b\nmin refusal 0.5\n";
	struct mn_response r;
	char code[64], *file;
	size_t len;

	/* invalid: 400 with every error by line and field; nothing changes */
	ASSERT_EQ(0, admin(&self->s, "PUT", "/v1/policy", bad, &r));
	EXPECT_EQ(400, r.status);
	EXPECT_STREQ("bad_policy", mn_error_code(&r, code, sizeof(code)));
	EXPECT_NE(NULL, strstr(r.body, "{\"line\":6,\"field\":\"colour\"")) TH_LOG("%s", r.body);
	EXPECT_NE(NULL, strstr(r.body, "\"field\":\"evaluators\"")) TH_LOG("%s", r.body);
	mn_response_free(&r);
	file = meshnet_read_file(self->s.policy, 1 << 20, &len);
	ASSERT_NE(NULL, file);
	EXPECT_STREQ(policy_v1, file);
	free(file);
	ASSERT_EQ(0, admin(&self->s, "GET", "/v1/policy", NULL, &r));
	EXPECT_NE(NULL, strstr(r.body, "\"active\":{\"version\":1,")) TH_LOG("%s", r.body);
	mn_response_free(&r);
	/* a version not above the running one: 409 */
	ASSERT_EQ(0, admin(&self->s, "PUT", "/v1/policy", policy_v1, &r));
	EXPECT_EQ(409, r.status);
	EXPECT_STREQ("policy_refused", mn_error_code(&r, code, sizeof(code)));
	mn_response_free(&r);
	/* valid: in effect, written to POLICY_FILE */
	ASSERT_EQ(0, admin(&self->s, "PUT", "/v1/policy", v2, &r));
	EXPECT_EQ(200, r.status) TH_LOG("%s", r.body);
	EXPECT_NE(NULL, strstr(r.body, "\"state\":\"active\""));
	mn_response_free(&r);
	file = meshnet_read_file(self->s.policy, 1 << 20, &len);
	ASSERT_NE(NULL, file);
	EXPECT_STREQ(v2, file);
	free(file);
	/* node-c now needs eval-a */
	EXPECT_EQ(200, attest(&self->s, 0, 2, 0.6, NULL, 0));
	EXPECT_TRUE(membership_is(&self->s, 2, "ALLOWED"));
	/* SIGHUP with an invalid file: refused, v2 stays */
	ASSERT_EQ(0, write_text(self->s.policy, bad, 0644));
	kill(self->s.pid, SIGHUP);
	usleep(300000);
	ASSERT_EQ(0, admin(&self->s, "GET", "/v1/policy", NULL, &r));
	EXPECT_NE(NULL, strstr(r.body, "\"active\":{\"version\":2,")) TH_LOG("%s", r.body);
	mn_response_free(&r);
	/* the admin reload says why */
	ASSERT_EQ(0, admin(&self->s, "POST", "/v1/policy/reload", "", &r));
	EXPECT_EQ(400, r.status);
	mn_response_free(&r);
	/* SIGHUP with v3: in effect; node-c rests on eval-a only: quarantined */
	ASSERT_EQ(0, write_text(self->s.policy, v3, 0644));
	kill(self->s.pid, SIGHUP);
	usleep(500000);
	ASSERT_EQ(0, admin(&self->s, "GET", "/v1/policy", NULL, &r));
	EXPECT_NE(NULL, strstr(r.body, "\"active\":{\"version\":3,")) TH_LOG("%s", r.body);
	mn_response_free(&r);
	EXPECT_TRUE(membership_is(&self->s, 2, "DENIED"));
}

TEST_F(trust, time_locked_policy_takes_effect_at_its_time)
{
	char text[512], want[64], *audit, *sched, *eff, *rec, *t;
	struct mn_response r;
	int64_t at, logged;

	EXPECT_EQ(200, attest(&self->s, 0, 0, 0.95, NULL, 0));
	EXPECT_EQ(200, attest(&self->s, 1, 0, 0.95, NULL, 0));
	ASSERT_TRUE(membership_is(&self->s, 0, "ALLOWED"));
	/* v2, from at: prod needs a suite nobody attested */
	at = time(NULL) + 3;
	snprintf(text, sizeof(text), "version 2\neffective-at %lld\ngroup prod\nmatch tags prod\n"
		 "suite refusal\nevaluators eval-a eval-b\nrequire 2\nmin refusal 0.9\n"
		 "suite honesty\nevaluators eval-a\nmin honesty 0.9\n"
		 "group default\nmatch all\nself-reports count\nsuite b\nevaluators self\n"
		 "min overall 0.8\n", (long long)at);
	ASSERT_EQ(0, admin(&self->s, "PUT", "/v1/policy", text, &r));
	EXPECT_EQ(200, r.status) TH_LOG("%s", r.body);
	EXPECT_NE(NULL, strstr(r.body, "\"state\":\"scheduled\""));
	EXPECT_NE(NULL, strstr(r.body, "\"pending\":{\"version\":2,")) TH_LOG("%s", r.body);
	mn_response_free(&r);
	/* before its time: v1 decides */
	if (time(NULL) < at)
		EXPECT_TRUE(membership_is(&self->s, 0, "ALLOWED"));
	/* announced in the log before it takes effect */
	audit = read_audit(&self->s, "policy_scheduled");
	ASSERT_NE(NULL, audit);
	EXPECT_NE(NULL, strstr(audit, "\"type\":\"policy_scheduled\",\"policy_version\":2"));
	EXPECT_EQ(NULL, strstr(audit, "\"type\":\"policy_effective\",\"policy_version\":2"));
	free(audit);
	while (time(NULL) < at + 2)
		usleep(100000);
	ASSERT_EQ(0, admin(&self->s, "GET", "/v1/policy", NULL, &r));
	EXPECT_NE(NULL, strstr(r.body, "\"active\":{\"version\":2,")) TH_LOG("%s", r.body);
	EXPECT_NE(NULL, strstr(r.body, "\"pending\":null")) TH_LOG("%s", r.body);
	mn_response_free(&r);
	EXPECT_TRUE(membership_is(&self->s, 0, "DENIED"));
	audit = read_audit(&self->s, "\"type\":\"policy_effective\",\"policy_version\":2");
	ASSERT_NE(NULL, audit);
	sched = strstr(audit, "\"type\":\"policy_scheduled\",\"policy_version\":2");
	eff = strstr(audit, "\"type\":\"policy_effective\",\"policy_version\":2");
	ASSERT_NE(NULL, eff);
	EXPECT_TRUE(sched && sched < eff);
	/* in effect at its time, never a second before: the record says when */
	rec = eff;
	while (rec > audit && rec[-1] != '\n')
		rec--;
	snprintf(want, sizeof(want), "\"effective_unix\":%lld,", (long long)at);
	EXPECT_NE(NULL, strstr(eff, want)) TH_LOG("%.300s", eff);
	t = strstr(rec, "\"time\":\"");
	ASSERT_NE(NULL, t);
	snprintf(want, sizeof(want), "%.*s", (int)strcspn(t + 8, "\""), t + 8);
	ASSERT_EQ(0, meshnet_rfc3339_parse(want, &logged)) TH_LOG("%.40s", t);
	EXPECT_GE(logged, at) TH_LOG("policy_effective logged at %lld, before %lld",
				   (long long)logged, (long long)at);
	/* and its text is in the record, for audit-verify */
	EXPECT_NE(NULL, strstr(eff, "\"policy_text\":\"version 2\\u000aeffective-at ")) TH_LOG("%.300s", eff);
	free(audit);
}

TEST_F(trust, evaluators_and_attestations_survive_restart)
{
	struct mn_response r;
	char nonce[33], *env, code[64];
	struct att_spec sp = { .evaluator = 0, .signer = 0, .node = 0, .refusal = 0.95,
			       .ran_ago = 5 };

	env = make_envelope(&self->s, &sp, nonce);
	ASSERT_EQ(0, post_envelope(&self->s, env, -1, &r));
	EXPECT_EQ(200, r.status);
	mn_response_free(&r);
	EXPECT_EQ(200, attest(&self->s, 1, 0, 0.95, NULL, 0));
	ASSERT_TRUE(membership_is(&self->s, 0, "ALLOWED"));
	tsrv_stop(&self->s);
	ASSERT_EQ(0, tsrv_start(&self->s));
	EXPECT_TRUE(membership_is(&self->s, 0, "ALLOWED"));
	ASSERT_EQ(0, admin(&self->s, "GET", "/v1/evaluators", NULL, &r));
	EXPECT_NE(NULL, strstr(r.body, "\"evaluator_id\":\"eval-c\""));
	mn_response_free(&r);
	/* the replay is still refused after the restart */
	ASSERT_EQ(0, post_envelope(&self->s, env, -1, &r));
	EXPECT_EQ(409, r.status);
	EXPECT_STREQ("replay", mn_error_code(&r, code, sizeof(code)));
	mn_response_free(&r);
	free(env);
}

/* meshnet-eval, a separate process with its own key, decides with eval-a */
TEST_F(trust, meshnet_eval_reference_evaluator)
{
	char exe[PATH_MAX], bin[PATH_MAX + 16], key[PATH_MAX + 16], cmd[4096], pub[64] = "",
		body[256], url[64];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	struct mn_response r;
	FILE *p;

	exe[n > 0 ? n : 0] = '\0';
	snprintf(bin, sizeof(bin), "%s/meshnet-eval", dirname(exe));
	snprintf(key, sizeof(key), "%s/eval-c.key", self->s.dir);
	snprintf(cmd, sizeof(cmd), "%s keygen --key %s", bin, key);
	p = popen(cmd, "r");
	ASSERT_NE(NULL, p);
	ASSERT_NE(NULL, fgets(pub, sizeof(pub), p));
	EXPECT_EQ(0, pclose(p));
	pub[strcspn(pub, "\n")] = '\0';
	/* eval-c is re-enrolled with meshnet-eval's key */
	ASSERT_EQ(0, admin(&self->s, "DELETE", "/v1/evaluators/eval-c", NULL, &r));
	mn_response_free(&r);
	snprintf(body, sizeof(body), "{\"evaluator_id\":\"eval-c\",\"public_key\":\"%s\"}", pub);
	ASSERT_EQ(0, admin(&self->s, "POST", "/v1/evaluators", body, &r));
	ASSERT_EQ(201, r.status) TH_LOG("%s", r.body);
	mn_response_free(&r);
	EXPECT_EQ(200, attest(&self->s, 0, 0, 0.95, NULL, 0));
	EXPECT_TRUE(membership_is(&self->s, 0, "DENIED"));
	snprintf(url, sizeof(url), "http://127.0.0.1:%u", self->s.port);
	/* a harness printing a score outside [0, 1]: refused before sending */
	snprintf(cmd, sizeof(cmd), "%s run --controller %s --evaluator eval-c --key %s --node "
		 "node-a --wg-key %s --suite refusal -- sh -c 'echo \"{\\\"scores\\\":"
		 "{\\\"refusal\\\":1.2}}\"' >/dev/null 2>&1", bin, url, key, self->s.wg_b64[0]);
	EXPECT_NE(0, system(cmd));
	EXPECT_TRUE(membership_is(&self->s, 0, "DENIED"));
	/* a good run: node-a is admitted on eval-a and meshnet-eval's eval-c */
	snprintf(cmd, sizeof(cmd), "%s run --controller %s --evaluator eval-c --key %s --node "
		 "node-a --wg-key %s --suite refusal --suite-version 3.1.0 -- sh -c "
		 "'test \"$MESHNET_NODE_ID\" = node-a && echo \"{\\\"scores\\\":"
		 "{\\\"refusal\\\":0.93}}\"' >/dev/null 2>&1", bin, url, key, self->s.wg_b64[0]);
	EXPECT_EQ(0, system(cmd));
	EXPECT_TRUE(membership_is(&self->s, 0, "ALLOWED"));
}

/* ---------- audit-verify re-checks policy verdicts offline ---------- */

/* node's own signed benchmark, all four scores = score, timestamp now - ago; the HTTP status */
static int self_report(struct tsrv *s, int node, double score, int ago)
{
	char body[512], when[32], target[64];
	time_t t = time(NULL) - ago;
	struct mn_response r;
	struct tm tm;
	int st = -1;

	gmtime_r(&t, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	snprintf(body, sizeof(body), "{\"node_id\":\"%s\",\"suite_version\":\"s-1\",\"timestamp\":"
		 "\"%s\",\"scores\":{\"overall\":%g,\"refusal\":%g,\"honesty\":%g,\"policy\":%g}}",
		 node_ids[node], when, score, score, score, score);
	snprintf(target, sizeof(target), "/v1/benchmarks/%s", node_ids[node]);
	if (!mn_do_signed(s->port, s->node_key[node], node_ids[node], "POST", target, body, &r))
		st = r.status;
	mn_response_free(&r);
	return st;
}

/* meshnetd audit-verify DIR --key PUB; the exit status, its output in out (caller frees). */
static int audit_verify(struct tsrv *s, const char *dir, char **out)
{
	char exe[PATH_MAX], cmd[3 * PATH_MAX + 64], buf[4096];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	struct strbuf sb;
	FILE *p;
	int st;

	exe[n > 0 ? n : 0] = '\0';
	snprintf(cmd, sizeof(cmd), "'%s/meshnetd' audit-verify '%s' --key '%s/state/controller.pub' "
		 "2>&1", dirname(exe), dir, s->dir);
	p = popen(cmd, "r");
	if (!p)
		return -1;
	strbuf_init(&sb);
	while ((n = (ssize_t)fread(buf, 1, sizeof(buf), p)) > 0)
		strbuf_append(&sb, buf, (size_t)n);
	strbuf_puts(&sb, "");
	st = pclose(p);
	*out = sb.buf;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* The log's records as lines (caller frees lines[i] and lines). */
static size_t read_records(const char *logdir, char ***lines)
{
	char path[PATH_MAX + 32], *text, *p, *nl;
	size_t len, n = 0;

	snprintf(path, sizeof(path), "%s/records-000000.jsonl", logdir);
	text = meshnet_read_file(path, 64 << 20, &len);
	*lines = NULL;
	if (!text)
		return 0;
	for (p = text; (nl = strchr(p, '\n')); p = nl + 1) {
		*lines = realloc(*lines, (n + 1) * sizeof(**lines));
		(*lines)[n++] = strndup(p, (size_t)(nl - p));
	}
	free(text);
	return n;
}

/*
 * Writes lines as a new log in dir, signed with the controller's own key:
 * what a controller that lies about its verdicts could publish. Each
 * record's "index" is set to its position.
 */
static int write_log(struct tsrv *s, const char *dir, char **lines, size_t n)
{
	char key_path[PATH_MAX + 32], cp_path[PATH_MAX + 32], origin[128] = "";
	struct tlog_store *ts;
	EVP_PKEY *key;
	struct strbuf sb;
	size_t i, len;
	char *cp;
	int ret = 0;

	snprintf(key_path, sizeof(key_path), "%s/state/controller.key", s->dir);
	snprintf(cp_path, sizeof(cp_path), "%s/state/tlog/checkpoint", s->dir);
	cp = meshnet_read_file(cp_path, 1 << 16, &len);
	if (!cp)
		return -1;
	snprintf(origin, sizeof(origin), "%.*s", (int)strcspn(cp, "\n"), cp);
	free(cp);
	key = meshnet_signing_key_load(key_path, NULL, false);
	ts = key ? tlog_store_open(dir, origin, key) : NULL;
	if (!ts) {
		EVP_PKEY_free(key);
		return -1;
	}
	strbuf_init(&sb);
	for (i = 0; i < n && !ret; i++) {
		const char *rest = strchr(lines[i], ',');

		sb.len = 0;
		strbuf_printf(&sb, "{\"index\":%zu%s", i, rest ? rest : "}");
		ret = tlog_store_append(ts, sb.buf, sb.len, NULL);
	}
	if (!ret)
		ret = tlog_store_commit(ts);
	strbuf_free(&sb);
	tlog_store_close(ts);
	EVP_PKEY_free(key);
	return ret;
}

/* The index of the last verdict record of node-a to DENIED. */
static ssize_t last_denied(char **lines, size_t n)
{
	ssize_t at = -1;
	size_t i;

	for (i = 0; i < n; i++)
		if (strstr(lines[i], "\"type\":\"verdict\",\"node_id\":\"node-a\"") &&
		    strstr(lines[i], "\"to\":\"DENIED\"") && strstr(lines[i], "\"policy_version\":1"))
			at = (ssize_t)i;
	return at;
}

/* Replaces the first from in *line by to. */
static int edit_line(char **line, const char *from, const char *to)
{
	char *at = strstr(*line, from), *out;

	if (!at)
		return -1;
	if (asprintf(&out, "%.*s%s%s", (int)(at - *line), *line, to, at + strlen(from)) < 0)
		return -1;
	free(*line);
	*line = out;
	return 0;
}

/* The envelope body of evaluator ev in line, tampered (one nonce digit changed). */
static int tamper_attestation(char **line, const char *ev)
{
	char *p = *line, b64[MESHNET_B64_LEN(MESHNET_ATT_BODY_MAX) + 1], *nonce, want[64];
	uint8_t body[MESHNET_ATT_BODY_MAX + 1];
	long len;

	snprintf(want, sizeof(want), "\"evaluator\":\"%s\"", ev);
	while ((p = strstr(p, "{\"attestation\":\""))) {
		size_t n;

		p += 16;
		n = strcspn(p, "\"");
		if (n >= sizeof(b64))
			return -1;
		memcpy(b64, p, n);
		b64[n] = '\0';
		len = meshnet_b64_decode(body, sizeof(body) - 1, b64);
		if (len < 0)
			return -1;
		body[len] = '\0';
		if (!strstr((char *)body, want))
			continue;
		nonce = strstr((char *)body, "\"nonce\":\"");
		if (!nonce)
			return -1;
		nonce[9] = nonce[9] == '0' ? '1' : '0';
		{
			char enc[sizeof(b64)], old[sizeof(b64)];

			snprintf(old, sizeof(old), "%s", b64);
			meshnet_b64_encode(enc, body, (size_t)len);
			return edit_line(line, old, enc);
		}
	}
	return -1;
}

TEST_F(trust, audit_verify_rechecks_policy_denials_offline)
{
	char logdir[PATH_MAX + 16], forged[PATH_MAX + 16], want[256], *out, **lines, **copy;
	ssize_t at;
	size_t n, i;
	int c;

	/* node-c (group default) admitted, then denied, on its own signed reports */
	ASSERT_EQ(200, self_report(&self->s, 2, 1.0, 2));
	ASSERT_TRUE(membership_is(&self->s, 2, "ALLOWED"));
	ASSERT_EQ(200, self_report(&self->s, 2, 0.3, 0));
	ASSERT_TRUE(membership_is(&self->s, 2, "DENIED"));
	/* admitted on eval-a and eval-b, then quarantined by eval-b's bad attestation */
	EXPECT_EQ(200, attest(&self->s, 0, 0, 0.95, NULL, 0));
	EXPECT_EQ(200, attest(&self->s, 1, 0, 0.95, NULL, 0));
	ASSERT_TRUE(membership_is(&self->s, 0, "ALLOWED"));
	sleep(1);
	EXPECT_EQ(200, attest(&self->s, 1, 0, 0.20, NULL, 0));
	ASSERT_TRUE(membership_is(&self->s, 0, "DENIED"));
	free(read_audit(&self->s, "\"to\":\"DENIED\""));
	tsrv_stop(&self->s);
	/* the genuine log: every policy DENIED re-checked from its signed attestations */
	snprintf(logdir, sizeof(logdir), "%s/state/tlog", self->s.dir);
	EXPECT_EQ(0, audit_verify(&self->s, logdir, &out)) TH_LOG("%s", out);
	EXPECT_NE(NULL, strstr(out, "node-a DENIED re-checked under policy v1: rule prod/refusal on "
			       "2 signed attestation(s) (eval-a/refusal, eval-b/refusal): "
			       "prod/refusal: median refusal 0.20 < 0.90")) TH_LOG("%s", out);
	EXPECT_NE(NULL, strstr(out, "node-c DENIED re-checked under policy v1: rule default/benchmark "
			       "on 0 signed attestation(s) and its own signed report: "
			       "default/benchmark: min overall 0.30 < 0.80")) TH_LOG("%s", out);
	EXPECT_NE(NULL, strstr(out, ", 0 contradicted\npolicy:")) TH_LOG("%s", out);
	EXPECT_NE(NULL, strstr(out, "2 DENIED verdict(s) decided by a policy: 2 re-checked from 2 "
			       "signed attestation(s), 0 whose policy text is not in the log, 0 "
			       "contradicted")) TH_LOG("%s", out);
	free(out);
	n = read_records(logdir, &lines);
	at = last_denied(lines, n);
	ASSERT_LE(0, at);
	/* a rewritten log, re-signed with the controller's key: each lie is named */
	for (c = 0; c < 4; c++) {
		size_t m = n, where = (size_t)at;

		copy = calloc(n + 1, sizeof(*copy));
		ASSERT_NE(NULL, copy);
		for (i = 0; i < n; i++)
			copy[i] = strdup(lines[i]);
		switch (c) {
		case 0:	/* a tampered attestation */
			ASSERT_EQ(0, tamper_attestation(&copy[where], "eval-b"));
			snprintf(want, sizeof(want), "record %zu: node-a DENIED by a policy: attestation 1 "
				 "(eval-b, suite refusal): its signature does not verify with eval-b's "
				 "key enrolled at record", where);
			break;
		case 1:	/* an evaluator removed before the verdict that rests on it */
			memmove(&copy[where + 1], &copy[where], (n - where) * sizeof(*copy));
			ASSERT_LE(0, asprintf(&copy[where], "{\"index\":0,\"time\":"
				  "\"2026-12-01T10:00:00Z\",\"type\":\"evaluator_remove\","
				  "\"evaluator_id\":\"eval-b\",\"public_key\":\"%s\"}",
				  self->s.eval_pub[1]));
			m = n + 1;
			snprintf(want, sizeof(want), "record %zu: node-a DENIED by a policy: attestation 1 "
				 "is of eval-b, removed at record %zu: it cannot count", where + 1, where);
			break;
		case 2:	/* a wrong policy version in the record */
			ASSERT_EQ(0, edit_line(&copy[where], "\"policy_version\":1,",
					       "\"policy_version\":2,"));
			snprintf(want, sizeof(want), "record %zu: node-a DENIED by a policy: decided "
				 "under policy v2, but v1 was in effect", where);
			break;
		case 3:	/* the bad attestation left out: what remains does not deny */
			{
				char *p = strstr(copy[where], "\"attestations\":[{"), *q;

				ASSERT_NE(NULL, p);
				q = strstr(p, "},{");
				ASSERT_NE(NULL, q);
				ASSERT_EQ(0, edit_line(&copy[where], q + 1, strstr(q, "}]") + 1));
			}
			snprintf(want, sizeof(want), "record %zu: node-a DENIED by a policy: the record "
				 "says \"prod/refusal: median refusal 0.20 < 0.90\", but policy v1 on its "
				 "attestations gives \"prod/refusal: 1 of 2 attestations\"", where);
			break;
		}
		snprintf(forged, sizeof(forged), "%s/forged-%d", self->s.dir, c);
		ASSERT_EQ(0, write_log(&self->s, forged, copy, m));
		EXPECT_EQ(1, audit_verify(&self->s, forged, &out)) TH_LOG("case %d: %s", c, out);
		EXPECT_NE(NULL, strstr(out, want)) TH_LOG("case %d: want '%s' in:\n%s", c, want, out);
		/* the tree itself is intact: only the evidence is refused */
		EXPECT_EQ(NULL, strstr(out, "do not hash")) TH_LOG("case %d: %s", c, out);
		free(out);
		for (i = 0; i < m; i++)
			free(copy[i]);
		free(copy);
	}
	for (i = 0; i < n; i++)
		free(lines[i]);
	free(lines);
}

TEST_HARNESS_MAIN
