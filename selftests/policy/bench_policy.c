// SPDX-License-Identifier: MIT
/*
 * make bench-policy (part of make bench-controller): the trust layer's cost.
 *
 *  1. one core's Ed25519 verify rate (EVP, one thread, the same message
 *     size as an attestation), measured in this run: the baseline
 *  2. a submission's cost on one core: open the envelope, parse the body
 *     strictly, verify the evaluator's signature, check the nonce, keep it
 *     in the node's evidence and evaluate the node under a k = 2 policy;
 *     goal: rate >= 0.4 x the verify rate
 *  3. 100,000 nodes, each with two evaluators' attestations, all decided
 *     again after a policy change (what PUT /v1/policy costs under the
 *     lock); goal <= 1 s
 *  4. the same through meshnetd: PUT /v1/policy with 100,000 enrolled nodes
 *     (end to end: parse, validate, re-decide, journal, reply)
 *
 * Usage: policy-bench MESHNETD RESULTS_FILE
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "../../userspace/controller/trust.h"
#include "../controller/client.h"
#include "attestation.h"
#include "b64.h"
#include "sign.h"
#include "strbuf.h"

#define N_SUBMIT 20000
#define N_NODES 100000
#define TOKEN "bench-admin-token-0123456789abcdef"

static const char policy_a[] =
	"version 1\n"
	"group all\n"
	"  match all\n"
	"  suite refusal\n"
	"    evaluators eval-a eval-b eval-c\n"
	"    require 2\n"
	"    combine median\n"
	"    max-age 3600\n"
	"    min refusal 0.90\n";

static const char policy_b[] =
	"version 2\n"
	"group all\n"
	"  match all\n"
	"  suite refusal\n"
	"    evaluators eval-a eval-b\n"
	"    require 2\n"
	"    combine min\n"
	"    max-age 3600\n"
	"    min refusal 0.50\n"
	"    min overall 0.50\n";

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/*
 * This thread's CPU seconds: the machine is shared, so the two rates of
 * the ratio are both measured in CPU time of one thread (one core).
 */
static double cpu_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void wg_key(char out[48], size_t i)
{
	uint8_t wg[32];

	memset(wg, 0, sizeof(wg));
	memcpy(wg, &i, sizeof(i));
	wg[31] = 0x77;
	meshnet_b64_encode(out, wg, 32);
}

/* One signed envelope about node i from evaluator e. */
static char *envelope(EVP_PKEY *key, const char *evaluator, size_t i, double refusal,
		      int64_t now)
{
	struct meshnet_attestation a = { 0 };
	struct strbuf body, env;
	uint8_t sig[64], rnd[16];

	snprintf(a.evaluator, sizeof(a.evaluator), "%s", evaluator);
	snprintf(a.node_id, sizeof(a.node_id), "n%06zu", i);
	wg_key(a.wg_public_key, i);
	strcpy(a.suite, "refusal");
	strcpy(a.suite_version, "3.1.0");
	strcpy(a.scores[0].name, "refusal");
	a.scores[0].value = refusal;
	strcpy(a.scores[1].name, "overall");
	a.scores[1].value = 0.9;
	a.n_scores = 2;
	a.ran_at = now - 10;
	a.expires = now + 3000;
	RAND_bytes(rnd, sizeof(rnd));
	meshnet_hex_encode(a.nonce, rnd, sizeof(rnd));
	strbuf_init(&body);
	meshnet_attestation_render(&a, &body);
	meshnet_attestation_sign(key, body.buf, body.len, sig);
	strbuf_init(&env);
	meshnet_att_envelope_render(&env, body.buf, body.len, sig);
	strbuf_free(&body);
	return env.buf;
}

static EVP_PKEY *keypair(char pub_b64[48], EVP_PKEY **pub)
{
	uint8_t seed[32], raw[32];

	meshnet_ed25519_generate(seed, raw);
	meshnet_b64_encode(pub_b64, raw, 32);
	if (pub)
		*pub = meshnet_ed25519_public_from_raw(raw);
	return meshnet_ed25519_private_from_raw(seed);
}

/* 1: one core's Ed25519 verifications per second over an attestation-sized message */
static double verify_rate(EVP_PKEY *key, EVP_PKEY *pub)
{
	uint8_t msg[380], sig[64];
	size_t n = 0, sig_len = 64;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	double t0, el;

	RAND_bytes(msg, sizeof(msg));
	EVP_DigestSignInit(ctx, NULL, NULL, NULL, key);
	EVP_DigestSign(ctx, sig, &sig_len, msg, sizeof(msg));
	EVP_MD_CTX_free(ctx);
	t0 = cpu_s();
	do {
		int i;

		for (i = 0; i < 200; i++) {
			ctx = EVP_MD_CTX_new();
			if (EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, pub) != 1 ||
			    EVP_DigestVerify(ctx, sig, 64, msg, sizeof(msg)) != 1)
				abort();
			EVP_MD_CTX_free(ctx);
		}
		n += 200;
		el = cpu_s() - t0;
	} while (el < 1.5);
	return (double)n / el;
}

/* A trust with policy text installed and evaluators eval-a..c. */
static int trust_setup(struct trust *t, const char *text, char pubs[3][48])
{
	static const struct membership_rules v1 = { .threshold = 0.7, .max_benchmark_age = 60 };
	struct policy_errors errs;
	struct policy *p = policy_parse(text, strlen(text), "bench", &errs);
	static const char *const ids[3] = { "eval-a", "eval-b", "eval-c" };
	int i;

	trust_init(t, &v1);
	if (!p || trust_install(t, p, time(NULL), 1, &errs))
		return -1;
	for (i = 0; i < 3; i++)
		if (evaluators_add(&t->evaluators, ids[i], pubs[i], time(NULL), NULL))
			return -1;
	return 0;
}

/* 2: what the controller does per attestation (minus HTTP and the journal) */
static double submission_rate(struct trust *t, char **envs, size_t n, size_t n_nodes,
			      struct node_evidence *nodes)
{
	size_t i, allowed = 0;
	double t0 = cpu_s();

	for (i = 0; i < n; i++) {
		struct meshnet_att_envelope env;
		struct meshnet_attestation att;
		struct trust_subject s;
		struct trust_eval te;
		struct evaluator *ev;
		uint8_t nonce[16];
		char msg[200];
		size_t node = i % n_nodes;

		if (meshnet_att_envelope_open(envs[i], strlen(envs[i]), &env, &att, msg,
					      sizeof(msg)) ||
		    !(ev = evaluators_find(&t->evaluators, att.evaluator)) ||
		    meshnet_attestation_verify(ev->pub, env.body, env.body_len, env.sig) ||
		    meshnet_hex_decode(nonce, sizeof(nonce), att.nonce) ||
		    evaluators_nonce_check_and_add(&t->evaluators, ev, nonce, att.expires,
						   time(NULL)) ||
		    node_evidence_check(&nodes[node], &att, time(NULL)) != EVIDENCE_PUT_OK ||
		    node_evidence_put(&nodes[node], ev, &att, envs[i], time(NULL))) {
			fprintf(stderr, "submission %zu refused: %s\n", i, msg);
			exit(1);
		}
		meshnet_att_envelope_free(&env);
		s = (struct trust_subject){ .ne = &nodes[node], .current = VERDICT_DENIED };
		trust_evaluate(t, &s, time(NULL), true, &te);
		allowed += te.r.verdict == VERDICT_ALLOWED;
	}
	if (!allowed)
		fprintf(stderr, "warning: no node admitted\n");
	return (double)n / (cpu_s() - t0);
}

struct srv {
	char dir[64];
	uint16_t port;
	pid_t pid;
};

static int write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (!f)
		return -1;
	fputs(text, f);
	return fclose(f);
}

static int srv_start(struct srv *s, const char *bin, size_t n_nodes)
{
	char path[128], token[128], policy[128], listen[32], sk[48];
	const char *const settings[] = {
		"--policy-file", policy, "--epoch-seconds", "3600", "--epoch-validity", "7200", NULL,
	};
	size_t i;
	FILE *f;

	snprintf(s->dir, sizeof(s->dir), "/tmp/meshnetd-pbench.XXXXXX");
	if (!mkdtemp(s->dir))
		return -1;
	snprintf(path, sizeof(path), "%s/nodes.json", s->dir);
	f = fopen(path, "w");
	if (!f)
		return -1;
	fprintf(f, "{\"nodes\":[\n");
	for (i = 0; i < n_nodes; i++) {
		char wg[48];

		EVP_PKEY_free(keypair(sk, NULL));	/* every node its own signing key */
		wg_key(wg, i);
		fprintf(f, "%s{\"node_id\":\"n%06zu\",\"public_key\":\"%s\",\"signing_key\":\"%s\","
			"\"allowed_ips\":[\"10.%zu.%zu.%zu/32\"]}\n", i ? "," : "", i, wg, sk,
			(i >> 16) & 255, (i >> 8) & 255, i & 255);
	}
	fprintf(f, "]}\n");
	fclose(f);
	snprintf(token, sizeof(token), "%s/admin.token", s->dir);
	if (write_text(token, TOKEN "\n"))
		return -1;
	chmod(token, 0600);
	snprintf(policy, sizeof(policy), "%s/policy.conf", s->dir);
	if (write_text(policy, policy_a))
		return -1;
	s->port = mn_free_port();
	snprintf(listen, sizeof(listen), "127.0.0.1:%u", s->port);
	s->pid = mn_spawn_meshnetd(bin, s->dir, listen, NULL, settings);
	return s->pid > 0 && !mn_wait_healthy(s->port, s->pid, 600000) ? 0 : -1;
}

static void srv_stop(struct srv *s)
{
	char cmd[128];

	if (s->pid > 0) {
		kill(s->pid, SIGTERM);
		waitpid(s->pid, NULL, 0);
	}
	if (getenv("KEEP_BENCH_DIR"))
		return;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", s->dir);
	if (system(cmd))
		fprintf(stderr, "could not remove %s\n", s->dir);
}

int main(int argc, char **argv)
{
	char pubs[3][48];
	EVP_PKEY *keys[3], *pub0;
	struct node_evidence *nodes;
	struct trust t;
	double vrate, srate, t0, change_s, http_s = -1, best = 1e9;
	int64_t now = time(NULL);
	char **envs;
	size_t i;
	int round;
	FILE *out;

	if (argc != 3) {
		fprintf(stderr, "usage: %s MESHNETD RESULTS_FILE\n", argv[0]);
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	keys[0] = keypair(pubs[0], &pub0);
	keys[1] = keypair(pubs[1], NULL);
	keys[2] = keypair(pubs[2], NULL);

	printf("[bench-policy] 1: one core's Ed25519 verify rate ...\n");
	vrate = verify_rate(keys[0], pub0);

	printf("[bench-policy] 2: %d attestation submissions (k = 2) ...\n", N_SUBMIT);
	envs = calloc(N_SUBMIT, sizeof(*envs));
	nodes = calloc(N_NODES, sizeof(*nodes));
	if (!envs || !nodes || trust_setup(&t, policy_a, pubs))
		return 1;
	for (i = 0; i < N_SUBMIT; i++)	/* eval-a then eval-b about each node */
		envs[i] = envelope(keys[(i / (N_SUBMIT / 2)) % 2], i < N_SUBMIT / 2 ? "eval-a" :
				   "eval-b", i % (N_SUBMIT / 2), 0.95, now);
	srate = submission_rate(&t, envs, N_SUBMIT, N_SUBMIT / 2, nodes);
	for (i = 0; i < N_SUBMIT; i++)
		free(envs[i]);
	for (i = 0; i < N_NODES; i++)
		node_evidence_free(&nodes[i]);

	printf("[bench-policy] 3: %d nodes decided again after a policy change ...\n", N_NODES);
	for (i = 0; i < N_NODES; i++) {
		int e;

		for (e = 0; e < 2; e++) {
			struct meshnet_attestation a = { 0 };
			char env[] = "{\"attestation\":\"x\",\"signature\":\"y\"}";

			snprintf(a.evaluator, sizeof(a.evaluator), "eval-%c", 'a' + e);
			snprintf(a.node_id, sizeof(a.node_id), "n%06zu", i);
			strcpy(a.suite, "refusal");
			strcpy(a.scores[0].name, "refusal");
			a.scores[0].value = 0.8 + 0.1 * e;
			strcpy(a.scores[1].name, "overall");
			a.scores[1].value = 0.9;
			a.n_scores = 2;
			a.ran_at = now - 100;
			a.expires = now + 3000;
			node_evidence_put(&nodes[i], evaluators_find(&t.evaluators, a.evaluator), &a,
					  env, now);
		}
	}
	for (round = 0; round < 3; round++) {
		struct policy_errors errs;
		size_t allowed = 0;
		struct policy *p;

		/* a new version each round: v2, v3, v4 */
		char text[sizeof(policy_b) + 32];

		snprintf(text, sizeof(text), "version %d%s", round + 2, strchr(policy_b, '\n'));
		t0 = now_s();
		p = policy_parse(text, strlen(text), "bench", &errs);
		if (!p || trust_install(&t, p, now, 1, &errs) != 0)
			return 1;
		for (i = 0; i < N_NODES; i++) {
			struct trust_subject s = { .ne = &nodes[i], .current = VERDICT_ALLOWED };
			struct trust_eval te;

			trust_evaluate(&t, &s, now, false, &te);
			allowed += te.r.verdict == VERDICT_ALLOWED;
		}
		change_s = now_s() - t0;
		if (change_s < best)
			best = change_s;
		if (allowed != N_NODES)
			fprintf(stderr, "round %d: %zu of %d allowed\n", round, allowed, N_NODES);
	}
	change_s = best;
	for (i = 0; i < N_NODES; i++)
		node_evidence_free(&nodes[i]);
	trust_free(&t);

	printf("[bench-policy] 4: PUT /v1/policy on meshnetd with %d nodes ...\n", N_NODES);
	{
		struct srv s = { 0 };
		struct mn_response r;

		if (!srv_start(&s, argv[1], N_NODES)) {
			sleep(1);
			t0 = now_s();
			if (!mn_do(s.port, "PUT", "/v1/policy", "Authorization: Bearer " TOKEN "\r\n",
				   policy_b, &r) && r.status == 200)
				http_s = now_s() - t0;
			else
				fprintf(stderr, "PUT /v1/policy failed: %d %s\n", r.status,
					r.body ? r.body : "");
			mn_response_free(&r);
		} else {
			char cmd[160];

			fprintf(stderr, "meshnetd did not start (%s):\n", s.dir);
			snprintf(cmd, sizeof(cmd), "tail -5 %s/meshnetd.log >&2", s.dir);
			if (system(cmd))
				fprintf(stderr, "(no log)\n");
		}
		srv_stop(&s);
	}

	out = fopen(argv[2], "w");
	if (!out)
		return 1;
	fprintf(out,
		"# trust layer benchmark (make bench-controller / make bench-policy), %s"
		"ed25519_verify_per_s_one_core %.0f\n"
		"attestation_submissions_per_s_one_core %.0f (open, parse, verify, replay check, "
		"keep, evaluate under k = 2)\n"
		"submission_ratio_to_verify %.2f\n"
		"policy_change_100k_nodes_s %.3f (2 attestations each, best of 3)\n"
		"policy_put_100k_nodes_meshnetd_s %.3f (HTTP, end to end)\n"
		"goal attestation_verify_and_policy_eval_vs_ed25519_verify >=0.4x: %s (%.2fx)\n"
		"goal policy_evaluation_100k_nodes_after_change <=1s: %s (%.3f s)\n",
		({ time_t tt = time(NULL); ctime(&tt); }), vrate, srate, srate / vrate, change_s,
		http_s, srate / vrate >= 0.4 ? "PASS" : "MISS", srate / vrate,
		change_s <= 1.0 ? "PASS" : "MISS", change_s);
	fclose(out);
	for (i = 0; i < 3; i++)
		EVP_PKEY_free(keys[i]);
	EVP_PKEY_free(pub0);
	free(envs);
	free(nodes);
	return 0;
}
