// SPDX-License-Identifier: MIT
/*
 * meshnet-eval: the reference evaluator (docs/policy.md, man/meshnet-eval.1).
 *
 *   meshnet-eval keygen --key FILE
 *   meshnet-eval pubkey --key FILE
 *   meshnet-eval run --controller URL --evaluator ID --key FILE --node ID
 *                    --wg-key B64 --suite NAME [--suite-version V]
 *                    [--validity S] [--timeout S] [--ca-file F] [--print]
 *                    -- HARNESS [ARG...]
 *
 * `run` executes the harness against the node (MESHNET_NODE_ID in its
 * environment, stdin /dev/null, killed at the timeout), reads its JSON
 * output {"scores":{...}[,"suite_version":".."]}, signs an attestation with
 * the evaluator key (lib/attestation.c) and posts it to POST
 * /v1/attestations, or prints the envelope with --print (for the node to
 * relay). Exit status: 0 accepted (or printed), 1 refused or failed, 2 usage.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <json-c/json.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "attestation.h"
#include "b64.h"
#include "ids.h"
#include "jsonutil.h"
#include "sign.h"
#include "version.h"
#include "signing_key.h"
#include "strbuf.h"

#define HARNESS_MAX_OUTPUT 16384

static void usage(FILE *f)
{
	fprintf(f,
		"usage: meshnet-eval keygen --key FILE\n"
		"       meshnet-eval pubkey --key FILE\n"
		"       meshnet-eval run --controller URL --evaluator ID --key FILE --node ID\n"
		"                        --wg-key B64 --suite NAME [--suite-version V]\n"
		"                        [--validity SECONDS] [--timeout SECONDS] [--ca-file FILE]\n"
		"                        [--print] -- HARNESS [ARG...]\n");
}

static int print_public(EVP_PKEY *key)
{
	uint8_t pub[MESHNET_ED25519_KEY_LEN];
	char b64[MESHNET_B64_LEN(MESHNET_ED25519_KEY_LEN) + 1];

	if (meshnet_ed25519_public_raw(key, pub))
		return 1;
	meshnet_b64_encode(b64, pub, sizeof(pub));
	printf("%s\n", b64);
	return 0;
}

static int key_main(int argc, char **argv, bool create)
{
	static const struct option opts[] = { { "key", required_argument, NULL, 'k' },
					      { "help", no_argument, NULL, 'h' }, { 0 } };
	const char *path = NULL;
	EVP_PKEY *key;
	int c, ret;

	while ((c = getopt_long(argc, argv, "k:h", opts, NULL)) != -1) {
		if (c == 'k') {
			path = optarg;
		} else {
			usage(c == 'h' ? stdout : stderr);
			return c == 'h' ? 0 : 2;
		}
	}
	if (!path || optind != argc) {
		fprintf(stderr, "meshnet-eval: %s needs --key FILE and nothing else\n", argv[0]);
		return 2;
	}
	if (create && access(path, F_OK) == 0) {
		fprintf(stderr, "meshnet-eval: %s exists; not overwriting it\n", path);
		return 1;
	}
	key = meshnet_signing_key_load(path, NULL, create);
	if (!key) {
		fprintf(stderr, "meshnet-eval: cannot %s the key %s\n", create ? "create" : "read",
			path);
		return 1;
	}
	ret = print_public(key);
	EVP_PKEY_free(key);
	return ret;
}

/* Runs argv (no shell) with MESHNET_NODE_ID set; its stdout into out. 0 or -1 + err. */
static int run_harness(char **argv, const char *node_id, unsigned int timeout_s, char *out,
		       size_t cap, char *err, size_t err_len)
{
	int pipefd[2], status = 0;
	size_t used = 0;
	time_t deadline = time(NULL) + timeout_s;
	pid_t pid;

	if (pipe(pipefd)) {
		snprintf(err, err_len, "pipe: %s", strerror(errno));
		return -1;
	}
	pid = fork();
	if (pid < 0) {
		snprintf(err, err_len, "fork: %s", strerror(errno));
		return -1;
	}
	if (pid == 0) {
		int devnull = open("/dev/null", O_RDONLY);

		if (devnull >= 0)
			dup2(devnull, 0);
		dup2(pipefd[1], 1);
		close(pipefd[0]);
		close(pipefd[1]);
		setenv("MESHNET_NODE_ID", node_id, 1);
		execvp(argv[0], argv);
		fprintf(stderr, "meshnet-eval: cannot run %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	close(pipefd[1]);
	for (;;) {
		struct pollfd pfd = { .fd = pipefd[0], .events = POLLIN };
		int left = (int)(deadline - time(NULL));
		ssize_t n;

		if (left <= 0 || poll(&pfd, 1, left * 1000) == 0) {
			kill(pid, SIGKILL);
			waitpid(pid, NULL, 0);
			close(pipefd[0]);
			snprintf(err, err_len, "the harness ran past %u s: killed", timeout_s);
			return -1;
		}
		n = read(pipefd[0], out + used, cap - used);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		used += (size_t)n;
		if (used == cap) {
			kill(pid, SIGKILL);
			waitpid(pid, NULL, 0);
			close(pipefd[0]);
			snprintf(err, err_len, "the harness printed more than %zu bytes", cap);
			return -1;
		}
	}
	close(pipefd[0]);
	out[used] = '\0';
	waitpid(pid, &status, 0);
	if (!WIFEXITED(status) || WEXITSTATUS(status)) {
		snprintf(err, err_len, "the harness failed (%s %d)",
			 WIFEXITED(status) ? "exit status" : "signal",
			 WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
		return -1;
	}
	return 0;
}

/* The harness's {"scores":{..}} into a; the checks are the attestation's own. */
static int read_scores(const char *text, struct meshnet_attestation *a, char *err,
		       size_t err_len)
{
	struct json_object *obj = meshnet_json_parse_strict(text, strlen(text)), *scores;
	const char *ver;
	int ret = -1;

	if (!obj || !json_object_is_type(obj, json_type_object) ||
	    !json_object_object_get_ex(obj, "scores", &scores) ||
	    !json_object_is_type(scores, json_type_object)) {
		snprintf(err, err_len, "the harness output is not {\"scores\":{...}}");
		goto out;
	}
	ver = meshnet_json_get_string(obj, "suite_version");
	if (ver && !*a->suite_version)
		snprintf(a->suite_version, sizeof(a->suite_version), "%s", ver);
	a->n_scores = 0;
	json_object_object_foreach(scores, k, v) {
		if (a->n_scores == MESHNET_ATT_MAX_SCORES) {
			snprintf(err, err_len, "more than %d scores", MESHNET_ATT_MAX_SCORES);
			goto out;
		}
		if (strlen(k) > MESHNET_ATT_NAME_MAX ||
		    (!json_object_is_type(v, json_type_double) &&
		     !json_object_is_type(v, json_type_int))) {
			snprintf(err, err_len, "scores.%.40s is not a number", k);
			goto out;
		}
		strcpy(a->scores[a->n_scores].name, k);
		a->scores[a->n_scores++].value = json_object_get_double(v);
	}
	ret = 0;
out:
	json_object_put(obj);
	return ret;
}

static size_t collect(char *ptr, size_t size, size_t n, void *ctx)
{
	strbuf_append(ctx, ptr, size * n);
	return size * n;
}

/* POSTs the envelope; prints the reply; 0 if accepted. */
static int post(const char *base, const char *ca_file, const char *env)
{
	struct curl_slist *hdrs = NULL;
	struct strbuf reply;
	char url[1024];
	long status = 0;
	CURLcode rc;
	CURL *curl;

	snprintf(url, sizeof(url), "%s/v1/attestations", base);
	curl = curl_easy_init();
	if (!curl)
		return 1;
	strbuf_init(&reply);
	hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
	curl_easy_setopt(curl, CURLOPT_URL, url);
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(curl, CURLOPT_POSTFIELDS, env);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, &reply);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT, 30L);
	if (ca_file)
		curl_easy_setopt(curl, CURLOPT_CAINFO, ca_file);
	rc = curl_easy_perform(curl);
	if (rc == CURLE_OK)
		curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
	curl_slist_free_all(hdrs);
	curl_easy_cleanup(curl);
	if (rc != CURLE_OK) {
		fprintf(stderr, "meshnet-eval: %s: %s\n", url, curl_easy_strerror(rc));
		strbuf_free(&reply);
		return 1;
	}
	printf("%s\n", reply.buf ? reply.buf : "");
	if (status != 200)
		fprintf(stderr, "meshnet-eval: the controller refused the attestation (HTTP %ld)\n",
			status);
	strbuf_free(&reply);
	return status == 200 ? 0 : 1;
}

static int run_main(int argc, char **argv)
{
	enum { O_CONTROLLER = 1, O_EVALUATOR, O_KEY, O_NODE, O_WG, O_SUITE, O_VERSION,
	       O_VALIDITY, O_TIMEOUT, O_CA, O_PRINT };
	static const struct option opts[] = {
		{ "controller", required_argument, NULL, O_CONTROLLER },
		{ "evaluator", required_argument, NULL, O_EVALUATOR },
		{ "key", required_argument, NULL, O_KEY },
		{ "node", required_argument, NULL, O_NODE },
		{ "wg-key", required_argument, NULL, O_WG },
		{ "suite", required_argument, NULL, O_SUITE },
		{ "suite-version", required_argument, NULL, O_VERSION },
		{ "validity", required_argument, NULL, O_VALIDITY },
		{ "timeout", required_argument, NULL, O_TIMEOUT },
		{ "ca-file", required_argument, NULL, O_CA },
		{ "print", no_argument, NULL, O_PRINT },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *controller = NULL, *evaluator = NULL, *key_path = NULL, *node = NULL,
		   *wg = NULL, *suite = NULL, *version = "1", *ca = NULL;
	long validity = 3600, timeout = 300;
	struct meshnet_attestation a = { 0 }, check;
	char out[HARNESS_MAX_OUTPUT + 1], err[256], *end;
	uint8_t sig[MESHNET_ED25519_SIG_LEN], rnd[MESHNET_NONCE_LEN], raw[32];
	struct strbuf body, env;
	bool print_only = false;
	EVP_PKEY *key;
	int c, ret = 1;

	while ((c = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		switch (c) {
		case O_CONTROLLER: controller = optarg; break;
		case O_EVALUATOR: evaluator = optarg; break;
		case O_KEY: key_path = optarg; break;
		case O_NODE: node = optarg; break;
		case O_WG: wg = optarg; break;
		case O_SUITE: suite = optarg; break;
		case O_VERSION: version = optarg; break;
		case O_CA: ca = optarg; break;
		case O_PRINT: print_only = true; break;
		case O_VALIDITY:
		case O_TIMEOUT: {
			long v = strtol(optarg, &end, 10);

			if (*end || v < 1 || v > MESHNET_ATT_MAX_LIFETIME) {
				fprintf(stderr, "meshnet-eval: --%s must be 1..%d seconds\n",
					c == O_VALIDITY ? "validity" : "timeout",
					MESHNET_ATT_MAX_LIFETIME);
				return 2;
			}
			*(c == O_VALIDITY ? &validity : &timeout) = v;
			break;
		}
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (!evaluator || !meshnet_node_id_valid(evaluator)) {
		fprintf(stderr, "meshnet-eval: --evaluator ID is required (a node-id-like name)\n");
		return 2;
	}
	if (!node || !meshnet_node_id_valid(node)) {
		fprintf(stderr, "meshnet-eval: --node ID is required (the node evaluated)\n");
		return 2;
	}
	if (!wg || meshnet_b64_decode_exact(raw, sizeof(raw), wg)) {
		fprintf(stderr, "meshnet-eval: --wg-key must be the node's WireGuard public key "
			"(base64 of 32 bytes)\n");
		return 2;
	}
	if (!suite || !meshnet_att_name_valid(suite)) {
		fprintf(stderr, "meshnet-eval: --suite NAME is required ([a-z0-9][a-z0-9._-]{0,31})\n");
		return 2;
	}
	if (!key_path || (!controller && !print_only)) {
		fprintf(stderr, "meshnet-eval: --key FILE and --controller URL (or --print) are "
			"required\n");
		return 2;
	}
	if (optind >= argc) {
		fprintf(stderr, "meshnet-eval: no harness command after --\n");
		return 2;
	}
	key = meshnet_signing_key_load(key_path, NULL, false);
	if (!key) {
		fprintf(stderr, "meshnet-eval: cannot read the evaluator key %s\n", key_path);
		return 1;
	}
	snprintf(a.evaluator, sizeof(a.evaluator), "%s", evaluator);
	snprintf(a.node_id, sizeof(a.node_id), "%s", node);
	snprintf(a.wg_public_key, sizeof(a.wg_public_key), "%s", wg);
	snprintf(a.suite, sizeof(a.suite), "%s", suite);
	a.ran_at = time(NULL);
	if (run_harness(argv + optind, node, (unsigned int)timeout, out, HARNESS_MAX_OUTPUT, err,
			sizeof(err)) || read_scores(out, &a, err, sizeof(err))) {
		fprintf(stderr, "meshnet-eval: %s; nothing sent\n", err);
		goto out;
	}
	if (!*a.suite_version)
		snprintf(a.suite_version, sizeof(a.suite_version), "%s", version);
	a.expires = a.ran_at + validity;
	if (RAND_bytes(rnd, sizeof(rnd)) != 1)
		goto out;
	meshnet_hex_encode(a.nonce, rnd, sizeof(rnd));
	strbuf_init(&body);
	meshnet_attestation_render(&a, &body);
	/* what the controller will check, checked here first */
	if (body.oom || meshnet_attestation_parse(body.buf, body.len, &check, err, sizeof(err))) {
		fprintf(stderr, "meshnet-eval: %s; nothing sent\n", body.oom ? "out of memory" : err);
		strbuf_free(&body);
		goto out;
	}
	if (meshnet_attestation_sign(key, body.buf, body.len, sig)) {
		fprintf(stderr, "meshnet-eval: signing failed\n");
		strbuf_free(&body);
		goto out;
	}
	strbuf_init(&env);
	meshnet_att_envelope_render(&env, body.buf, body.len, sig);
	strbuf_free(&body);
	if (print_only) {
		printf("%s\n", env.buf);
		ret = 0;
	} else {
		curl_global_init(CURL_GLOBAL_DEFAULT);
		ret = post(controller, ca, env.buf);
		curl_global_cleanup();
	}
	strbuf_free(&env);
out:
	EVP_PKEY_free(key);
	return ret;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (!strcmp(argv[1], "keygen"))
		return key_main(argc - 1, argv + 1, true);
	if (!strcmp(argv[1], "pubkey"))
		return key_main(argc - 1, argv + 1, false);
	if (!strcmp(argv[1], "run"))
		return run_main(argc - 1, argv + 1);
	if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "version")) {
		printf("meshnet-eval %s\n", MESHNET_VERSION);
		return 0;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
		usage(stdout);
		return 0;
	}
	fprintf(stderr, "meshnet-eval: unknown command '%s'\n", argv[1]);
	usage(stderr);
	return 2;
}
