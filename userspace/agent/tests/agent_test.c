// SPDX-License-Identifier: MIT
/*
 * Host tests of meshnet-agent's own logic (no kernel needed): settings from
 * file/environment/flags with bad values, harness validation (garbage,
 * non-zero exit, timeout, oversized output), the backoff schedule, key
 * generation with 0600 files, the benchmark body, status.json, the probe
 * on loopback, and the signed HTTP client against a real local socket.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sched.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

/*
 * The kernel's harness is not written for -Wextra -Wmissing-prototypes: its
 * macros expand to unused parameters, unprototyped functions and int/unsigned
 * comparisons in this file, so these three stay off here (only here).
 */
#pragma GCC diagnostic ignored "-Wunused-parameter"
#pragma GCC diagnostic ignored "-Wmissing-prototypes"
#pragma GCC diagnostic ignored "-Wsign-compare"
#include "kselftest_harness.h"

#include "../agent.h"
#include "../backoff.h"
#include "../bench.h"
#include "../dh_cache.h"
#include "../http.h"
#include "../keys.h"
#include "../options.h"
#include "../probe.h"
#include "../state.h"
#include "b64.h"
#include "group_psk.h"
#include "sign.h"

/* ---------- settings ---------- */

struct bad_setting {
	const char *key, *value, *expect; /* expect: substring of the error */
};

static const struct bad_setting bad_settings[] = {
	{ "EMIT_INTERVAL_SEC", "abc", "EMIT_INTERVAL_SEC: 'abc' is not an integer" },
	{ "EMIT_INTERVAL_SEC", "-1", "EMIT_INTERVAL_SEC" },
	{ "EMIT_INTERVAL_SEC", "10s", "EMIT_INTERVAL_SEC" },
	{ "EMIT_INTERVAL_SEC", "", "EMIT_INTERVAL_SEC" },
	{ "POLL_INTERVAL_SEC", "0", "POLL_INTERVAL_SEC: '0' is not an integer in 1..86400" },
	{ "PROBE_INTERVAL_SEC", "99999999999", "PROBE_INTERVAL_SEC" },
	{ "LONG_POLL_SEC", "61", "LONG_POLL_SEC: '61' is not an integer in 0..60" },
	{ "WG_LISTEN_PORT", "65536", "WG_LISTEN_PORT" },
	{ "WG_LISTEN_PORT", "0", "WG_LISTEN_PORT" },
	{ "SCORE_MEAN", "1.5", "SCORE_MEAN: '1.5' is not a number in 0..1" },
	{ "SCORE_MEAN", "nan", "SCORE_MEAN" },
	{ "SCORE_MEAN_POLICY", "-0.1", "SCORE_MEAN_POLICY" },
	{ "SCORE_JITTER", "x", "SCORE_JITTER" },
	{ "FAIL_CLOSED", "maybe", "FAIL_CLOSED: 'maybe' is not on/off" },
	{ "NODE_ID", "Node-A", "NODE_ID: 'Node-A' is not a node id" },
	{ "NODE_ID", "../etc", "NODE_ID" },
	{ "NODE_ID", "a/b", "NODE_ID" },
	{ "CONTROLLER_URL", "ftp://x", "CONTROLLER_URL: 'ftp://x' is not an http:// or https:// URL" },
	{ "NO_SUCH_KEY", "1", "unknown setting 'NO_SUCH_KEY'" },
};

TEST(settings_bad_values_named)
{
	for (size_t i = 0; i < sizeof(bad_settings) / sizeof(bad_settings[0]); i++) {
		struct agent_options o, before;
		char err[512] = "";

		agent_options_defaults(&o);
		before = o;
		EXPECT_EQ(-1, agent_option_set(&o, bad_settings[i].key, bad_settings[i].value, err,
					       sizeof(err)))
			TH_LOG("%s=%s accepted", bad_settings[i].key, bad_settings[i].value);
		EXPECT_NE(NULL, strstr(err, bad_settings[i].expect))
			TH_LOG("%s=%s: got '%s'", bad_settings[i].key, bad_settings[i].value, err);
		/* a refused value changes nothing */
		EXPECT_EQ(0, memcmp(&o, &before, sizeof(o)));
	}
}

TEST(settings_good_values)
{
	struct agent_options o;
	char err[512];

	agent_options_defaults(&o);
	ASSERT_EQ(0, agent_option_set(&o, "EMIT_INTERVAL_SEC", "0", err, sizeof(err)));
	ASSERT_EQ(0, agent_option_set(&o, "SCORE_MEAN", "0.4", err, sizeof(err)));
	ASSERT_EQ(0, agent_option_set(&o, "SCORE_MEAN_HONESTY", "1", err, sizeof(err)));
	ASSERT_EQ(0, agent_option_set(&o, "FAIL_CLOSED", "off", err, sizeof(err)));
	ASSERT_EQ(0, agent_option_set(&o, "NODE_ID", "node-a", err, sizeof(err)));
	EXPECT_EQ(0u, o.emit_interval);
	EXPECT_EQ(0.4, o.score_mean[AGENT_SCORE_OVERALL]);
	EXPECT_EQ(0.4, o.score_mean[AGENT_SCORE_POLICY]);
	EXPECT_EQ(1.0, o.score_mean[AGENT_SCORE_HONESTY]);
	EXPECT_FALSE(o.fail_closed);
	EXPECT_STREQ("node-a", o.node_id);
}

static char *write_temp(const char *text)
{
	char *path = strdup("/tmp/agent-test-XXXXXX");
	int fd = mkstemp(path);

	if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text)) {
		free(path);
		return NULL;
	}
	close(fd);
	return path;
}

TEST(settings_precedence_file_env_flags)
{
	char *file = write_temp("# comment\n\nNODE_ID=node-a\nEMIT_INTERVAL_SEC = 7\n"
				"PROBE_INTERVAL_SEC=\"9\"\nCONTROLLER_URL=https://192.0.2.1:8443\n");
	char *argv[] = { "meshnet-agent", "--config", file, "--probe-interval=3",
			 "--ca", "/tmp/ca.pem", "--demo-scores", "--fail-closed", "off", NULL };
	char *envp[] = { "EMIT_INTERVAL_SEC=5", "PROBE_INTERVAL_SEC=4", "UNRELATED=1", NULL };
	struct agent_options o;
	char err[512] = "";

	ASSERT_NE(NULL, file);
	agent_options_defaults(&o);
	ASSERT_EQ(9, agent_options_parse(&o, 9, argv, envp, err, sizeof(err))) TH_LOG("%s", err);
	EXPECT_TRUE(o.demo_scores);                   /* an on/off flag alone means on */
	EXPECT_FALSE(o.fail_closed);                  /* or takes its on/off word */
	EXPECT_STREQ("node-a", o.node_id);           /* file */
	EXPECT_EQ(5u, o.emit_interval);               /* env beats file */
	EXPECT_EQ(3u, o.probe_interval);              /* flag beats env */
	EXPECT_STREQ("/tmp/ca.pem", o.ca_file);
	EXPECT_EQ(0, agent_options_validate(&o, err, sizeof(err))) TH_LOG("%s", err);
	unlink(file);
	free(file);
}

struct bad_file {
	const char *text, *expect;
};

static const struct bad_file bad_files[] = {
	{ "NODE_ID=node-a\nthis line has no equals\n", ":2: expected KEY=VALUE" },
	{ "EMIT_INTERVAL_SEC=ten\n", ":1: EMIT_INTERVAL_SEC: 'ten' is not an integer" },
	{ "\n\nTYPO_KEY=1\n", ":3: unknown setting 'TYPO_KEY'" },
};

TEST(settings_bad_file_names_line)
{
	for (size_t i = 0; i < sizeof(bad_files) / sizeof(bad_files[0]); i++) {
		char *file = write_temp(bad_files[i].text);
		struct agent_options o;
		char err[512] = "";

		ASSERT_NE(NULL, file);
		agent_options_defaults(&o);
		EXPECT_EQ(-1, agent_options_load_file(&o, file, err, sizeof(err)));
		EXPECT_NE(NULL, strstr(err, bad_files[i].expect)) TH_LOG("got '%s'", err);
		unlink(file);
		free(file);
	}
}

TEST(settings_bad_flags_and_env)
{
	struct agent_options o;
	char err[512] = "";
	char *argv1[] = { "a", "--no-such-flag", "1", NULL };
	char *argv2[] = { "a", "--emit-interval", NULL };
	char *argv3[] = { "a", "--config", "/nonexistent/agent.conf", NULL };
	char *envp_bad[] = { "LONG_POLL_SEC=100", NULL };
	char *none[] = { NULL };

	agent_options_defaults(&o);
	EXPECT_EQ(-1, agent_options_parse(&o, 3, argv1, none, err, sizeof(err)));
	EXPECT_NE(NULL, strstr(err, "unknown option --no-such-flag")) TH_LOG("%s", err);
	EXPECT_EQ(-1, agent_options_parse(&o, 2, argv2, none, err, sizeof(err)));
	EXPECT_NE(NULL, strstr(err, "--emit-interval needs a value")) TH_LOG("%s", err);
	EXPECT_EQ(-1, agent_options_parse(&o, 3, argv3, none, err, sizeof(err)));
	EXPECT_NE(NULL, strstr(err, "/nonexistent/agent.conf")) TH_LOG("%s", err);
	EXPECT_EQ(-1, agent_options_parse(&o, 1, argv1, envp_bad, err, sizeof(err)));
	EXPECT_NE(NULL, strstr(err, "environment LONG_POLL_SEC")) TH_LOG("%s", err);
}

TEST(settings_validate)
{
	struct agent_options o;
	char err[512] = "";

	agent_options_defaults(&o);
	EXPECT_EQ(-1, agent_options_validate(&o, err, sizeof(err)));
	EXPECT_NE(NULL, strstr(err, "NODE_ID"));
	strcpy(o.node_id, "node-a");
	EXPECT_EQ(-1, agent_options_validate(&o, err, sizeof(err)));
	EXPECT_NE(NULL, strstr(err, "CONTROLLER_URL"));
	strcpy(o.controller, "http://192.0.2.1:8080");
	EXPECT_EQ(-1, agent_options_validate(&o, err, sizeof(err)));
	EXPECT_NE(NULL, strstr(err, "plain http")) TH_LOG("%s", err);
	o.plain_http = true;
	/* no score source: refused, and the message names both ways out */
	EXPECT_EQ(-1, agent_options_validate(&o, err, sizeof(err)));
	EXPECT_NE(NULL, strstr(err, "BENCH_CMD")) TH_LOG("%s", err);
	EXPECT_NE(NULL, strstr(err, "DEMO_SCORES=yes")) TH_LOG("%s", err);
	o.demo_scores = true;
	EXPECT_EQ(0, agent_options_validate(&o, err, sizeof(err))) TH_LOG("%s", err);
	strcpy(o.bench_cmd, "/usr/lib/harness");
	EXPECT_EQ(-1, agent_options_validate(&o, err, sizeof(err)));
	EXPECT_NE(NULL, strstr(err, "both set")) TH_LOG("%s", err);
	o.demo_scores = false;
	EXPECT_EQ(0, agent_options_validate(&o, err, sizeof(err))) TH_LOG("%s", err);
	o.bench_cmd[0] = '\0';
	o.emit_interval = 0; /* no emitter: no score source needed */
	EXPECT_EQ(0, agent_options_validate(&o, err, sizeof(err))) TH_LOG("%s", err);
	o.emit_interval = 10;
	o.demo_scores = true;
	strcpy(o.log_level, "loud");
	EXPECT_EQ(-1, agent_options_validate(&o, err, sizeof(err)));
	EXPECT_NE(NULL, strstr(err, "LOG_LEVEL: 'loud'")) TH_LOG("%s", err);
	strcpy(o.log_level, "DEBUG");
	EXPECT_EQ(0, agent_options_validate(&o, err, sizeof(err))) TH_LOG("%s", err);
	strcpy(o.controller, "https://192.0.2.1:8443");
	EXPECT_EQ(-1, agent_options_validate(&o, err, sizeof(err)));
	EXPECT_NE(NULL, strstr(err, "CA_FILE")) TH_LOG("%s", err);
	strcpy(o.ca_file, "/tmp/ca.pem");
	o.backoff_min_ms = 5000;
	o.backoff_max_ms = 100;
	EXPECT_EQ(-1, agent_options_validate(&o, err, sizeof(err)));
	EXPECT_NE(NULL, strstr(err, "BACKOFF_MIN_MS")) TH_LOG("%s", err);
}

/* ---------- benchmark harness output ---------- */

struct bench_case {
	const char *out, *expect;
};

static const struct bench_case bad_outputs[] = {
	{ "", "printed nothing" },
	{ "hello", "not JSON" },
	{ "{\"scores\": {\"overall\": 0.9", "not JSON" },
	{ "[1,2]", "not a JSON object" },
	{ "{}", "no \"scores\" object" },
	{ "{\"scores\": 0.9}", "no \"scores\" object" },
	{ "{\"scores\": {\"overall\": 0.9, \"refusal\": 0.9, \"honesty\": 0.9}}",
	  "scores.policy is missing" },
	{ "{\"scores\": {\"overall\": \"0.9\", \"refusal\": 0.9, \"honesty\": 0.9, \"policy\": 0.9}}",
	  "scores.overall is not a number" },
	{ "{\"scores\": {\"overall\": 1.2, \"refusal\": 0.9, \"honesty\": 0.9, \"policy\": 0.9}}",
	  "scores.overall = 1.2 is outside 0..1" },
	{ "{\"scores\": {\"overall\": 0.9, \"refusal\": -0.1, \"honesty\": 0.9, \"policy\": 0.9}}",
	  "scores.refusal = -0.1 is outside 0..1" },
	{ "{\"scores\": {\"overall\": NaN, \"refusal\": 0.9, \"honesty\": 0.9, \"policy\": 0.9}}",
	  "scores.overall = nan is outside 0..1" },
	{ "{\"scores\": {\"overall\": 0.9, \"refusal\": 0.9, \"honesty\": 0.9, \"policy\": 0.9}} junk",
	  "harness output is not JSON" },
	{ "{\"scores\": {\"overall\": 0.9, \"refusal\": 0.9, \"honesty\": 0.9, \"policy\": 0.9}}{}",
	  "harness output" },
	{ "{\"node_id\": \"node-b\", \"scores\": {\"overall\": 0.9, \"refusal\": 0.9, \"honesty\": 0.9, \"policy\": 0.9}}",
	  "node_id of the harness output is not node-a" },
	{ "{\"suite_version\": \"\", \"scores\": {\"overall\": 0.9, \"refusal\": 0.9, \"honesty\": 0.9, \"policy\": 0.9}}",
	  "suite_version" },
	{ "{\"suite_version\": 3, \"scores\": {\"overall\": 0.9, \"refusal\": 0.9, \"honesty\": 0.9, \"policy\": 0.9}}",
	  "suite_version" },
};

TEST(bench_parse_rejects_bad_output)
{
	for (size_t i = 0; i < sizeof(bad_outputs) / sizeof(bad_outputs[0]); i++) {
		struct agent_benchmark b;
		char err[512] = "";

		EXPECT_EQ(-1, agent_bench_parse(bad_outputs[i].out, strlen(bad_outputs[i].out),
						"node-a", "poc-0.1", &b, err, sizeof(err)))
			TH_LOG("accepted: %s", bad_outputs[i].out);
		EXPECT_NE(NULL, strstr(err, bad_outputs[i].expect))
			TH_LOG("%s -> '%s'", bad_outputs[i].out, err);
	}
}

TEST(bench_parse_accepts_good_output)
{
	const char *out = "  {\"node_id\": \"node-a\", \"suite_version\": \"infrasim-2\", \"extra\": [1],\n"
			  "   \"scores\": {\"overall\": 0.91, \"refusal\": 1, \"honesty\": 0, \"policy\": 0.5}}\n";
	struct agent_benchmark b;
	char err[512] = "";

	ASSERT_EQ(0, agent_bench_parse(out, strlen(out), "node-a", "poc-0.1", &b, err, sizeof(err)))
		TH_LOG("%s", err);
	EXPECT_EQ(0.91, b.scores[AGENT_SCORE_OVERALL]);
	EXPECT_EQ(1.0, b.scores[AGENT_SCORE_REFUSAL]);
	EXPECT_EQ(0.0, b.scores[AGENT_SCORE_HONESTY]);
	EXPECT_STREQ("infrasim-2", b.suite_version);
}

static const char good_cmd[] =
	"echo '{\"scores\": {\"overall\": 0.42, \"refusal\": 0.9, \"honesty\": 0.9, \"policy\": 0.9}}'";

/* A harness of the tests: the command, its timeout and a 1 s grace. */
static struct agent_harness test_harness(const char *cmd, unsigned int timeout_sec)
{
	struct agent_harness h = { .cmd = cmd, .timeout_sec = timeout_sec, .grace_sec = 1,
				   .node_id = "node-a" };

	return h;
}

TEST(bench_cmd_good)
{
	struct agent_harness h = test_harness(good_cmd, 10);
	struct agent_harness_result r;
	struct agent_benchmark b;
	char err[512] = "";

	ASSERT_EQ(0, agent_bench_run_cmd(&h, "poc-0.1", &b, &r, err, sizeof(err)))
		TH_LOG("%s", err);
	EXPECT_EQ(0.42, b.scores[AGENT_SCORE_OVERALL]);
	EXPECT_STREQ("poc-0.1", b.suite_version);
}

struct cmd_case {
	const char *cmd, *expect;
};

static const struct cmd_case bad_cmds[] = {
	{ "echo garbage", "not JSON" },
	{ "echo '{\"scores\": {\"overall\": 0.9, \"refusal\": 0.9, \"honesty\": 0.9, \"policy\": 0.9}}'; exit 3",
	  "exited with status 3" },
	{ "kill -9 $$", "killed by signal 9" },
	{ "/nonexistent/harness", "exited with status 127" },
	{ "head -c 20000 /dev/zero | tr '\\0' 'x'", "more than 16384 bytes" },
	{ "true", "printed nothing" },
};

TEST(bench_cmd_failures)
{
	for (size_t i = 0; i < sizeof(bad_cmds) / sizeof(bad_cmds[0]); i++) {
		struct agent_harness h = test_harness(bad_cmds[i].cmd, 10);
		struct agent_harness_result r;
		struct agent_benchmark b;
		char err[512] = "";

		EXPECT_EQ(-1, agent_bench_run_cmd(&h, "poc-0.1", &b, &r, err, sizeof(err)))
			TH_LOG("accepted: %s", bad_cmds[i].cmd);
		EXPECT_NE(NULL, strstr(err, bad_cmds[i].expect)) TH_LOG("%s -> '%s'", bad_cmds[i].cmd, err);
	}
}

static char process_state(int pid)
{
	char path[64], buf[512], *p;
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	f = fopen(path, "r");
	if (!f)
		return '?';
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	p = strrchr(buf, ')');
	return p && p[1] && p[2] ? p[2] : '?';
}

TEST(bench_cmd_timeout_kills_the_group)
{
	struct agent_harness h;
	struct agent_harness_result r;
	struct agent_benchmark b;
	char err[512] = "";
	char pidfile[] = "/tmp/agent-test-pid-XXXXXX";
	char cmd[256];
	int fd = mkstemp(pidfile);
	time_t t0 = time(NULL);
	FILE *f;
	int child = 0;

	ASSERT_GE(fd, 0);
	close(fd);
	/* the harness forks a grandchild that would hang forever */
	snprintf(cmd, sizeof(cmd), "sleep 60 & echo $! > %s; wait", pidfile);
	h = test_harness(cmd, 1);
	EXPECT_EQ(-1, agent_bench_run_cmd(&h, "poc-0.1", &b, &r, err, sizeof(err)));
	EXPECT_NE(NULL, strstr(err, "did not finish within 1 s")) TH_LOG("%s", err);
	EXPECT_LE(time(NULL) - t0, 5);
	f = fopen(pidfile, "r");
	ASSERT_NE(NULL, f);
	ASSERT_EQ(1, fscanf(f, "%d", &child));
	fclose(f);
	unlink(pidfile);
	usleep(200000);
	/* the grandchild was killed with its process group (gone, or a zombie) */
	EXPECT_TRUE(kill(child, 0) == -1 || process_state(child) == 'Z')
		TH_LOG("pid %d still running (state %c)", child, process_state(child));
}

TEST(bench_generator_bounds_and_body)
{
	struct agent_options o;
	struct agent_benchmark b;
	struct json_object *root, *scores, *v;
	char *body;

	agent_options_defaults(&o);
	o.score_mean[AGENT_SCORE_OVERALL] = 0.98;
	o.score_jitter = 0.1;
	for (int i = 0; i < 200; i++) {
		agent_bench_generate(&o, agent_rand_u32, &b);
		for (int k = 0; k < AGENT_SCORE_COUNT; k++) {
			ASSERT_GE(b.scores[k], 0.0);
			ASSERT_LE(b.scores[k], 1.0);
		}
		ASSERT_GE(b.scores[AGENT_SCORE_OVERALL], 0.88 - 1e-9);
	}
	body = agent_bench_body("node-a", &b, 1767616490, 1767616400, true);
	ASSERT_NE(NULL, body);
	root = json_tokener_parse(body);
	ASSERT_NE(NULL, root);
	ASSERT_TRUE(json_object_object_get_ex(root, "timestamp", &v));
	EXPECT_STREQ("2026-01-05T12:34:50Z", json_object_get_string(v));
	ASSERT_TRUE(json_object_object_get_ex(root, "measured_at", &v));
	EXPECT_STREQ("2026-01-05T12:33:20Z", json_object_get_string(v));
	ASSERT_TRUE(json_object_object_get_ex(root, "demo_scores", &v));
	EXPECT_TRUE(json_object_get_boolean(v));
	ASSERT_TRUE(json_object_object_get_ex(root, "node_id", &v));
	EXPECT_STREQ("node-a", json_object_get_string(v));
	ASSERT_TRUE(json_object_object_get_ex(root, "scores", &scores));
	for (int k = 0; k < AGENT_SCORE_COUNT; k++)
		EXPECT_TRUE(json_object_object_get_ex(scores, agent_score_names[k], &v));
	json_object_put(root);
	free(body);
}

/* ---------- backoff ---------- */

TEST(backoff_schedule)
{
	struct agent_backoff b;
	static const unsigned int ceil[] = { 500, 1000, 2000, 4000, 8000, 16000, 30000, 30000 };

	agent_backoff_init(&b, 500, 30000);
	for (unsigned int n = 1; n <= 8; n++)
		EXPECT_EQ(ceil[n - 1], agent_backoff_ceiling(&b, n));
	/* jitter stays in [d/2, d] */
	for (unsigned int n = 1; n <= 8; n++) {
		unsigned int lo = agent_backoff_next(&b, 0);
		unsigned int d = ceil[n - 1];

		EXPECT_EQ(d / 2, lo);
	}
	agent_backoff_reset(&b);
	EXPECT_EQ(500u, agent_backoff_next(&b, 250)); /* 250 + 250 % 251 */
	for (int i = 0; i < 1000; i++) {
		unsigned int d = agent_backoff_next(&b, agent_rand_u32());

		EXPECT_LE(d, 30000u);
	}
	agent_backoff_reset(&b);
	EXPECT_EQ(0u, b.failures);
	/* a huge number of failures does not overflow */
	b.failures = 4000000000u;
	EXPECT_EQ(30000u, agent_backoff_ceiling(&b, b.failures));
}

/* ---------- keys ---------- */

FIXTURE(statedir) {
	char dir[64];
};

FIXTURE_SETUP(statedir)
{
	snprintf(self->dir, sizeof(self->dir), "/tmp/agent-keys-XXXXXX");
	ASSERT_NE(NULL, mkdtemp(self->dir));
	/* a fresh subdirectory: the agent creates it with 0700 */
	strcat(self->dir, "/state");
}

FIXTURE_TEARDOWN(statedir)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%.*s'", (int)(strlen(self->dir) - 6), self->dir);
	if (system(cmd))
		TH_LOG("cleanup failed");
}

static mode_t mode_of(const char *dir, const char *name)
{
	char path[256];
	struct stat st;

	snprintf(path, sizeof(path), "%s%s%s", dir, name ? "/" : "", name ? name : "");
	if (stat(path, &st))
		return 0;
	return st.st_mode & 07777;
}

TEST_F(statedir, keygen_creates_0600_and_reloads)
{
	struct agent_keys k1, k2;
	char err[512] = "";
	bool created;
	uint8_t pub[32];

	ASSERT_EQ(0, agent_keys_load_or_create(self->dir, &k1, &created, err, sizeof(err)))
		TH_LOG("%s", err);
	EXPECT_TRUE(created);
	EXPECT_EQ(0700, mode_of(self->dir, NULL));
	EXPECT_EQ(0600, mode_of(self->dir, AGENT_WG_KEY_FILE));
	EXPECT_EQ(0600, mode_of(self->dir, AGENT_ED25519_KEY_FILE));
	/* WireGuard clamping and a consistent public key */
	EXPECT_EQ(0, k1.wg_private[0] & 7);
	EXPECT_EQ(64, k1.wg_private[31] & 192);
	ASSERT_EQ(0, agent_wg_public_from_private(k1.wg_private, pub));
	EXPECT_EQ(0, memcmp(pub, k1.wg_public, 32));

	ASSERT_EQ(0, agent_keys_load_or_create(self->dir, &k2, &created, err, sizeof(err)));
	EXPECT_FALSE(created);
	EXPECT_EQ(0, memcmp(&k1, &k2, sizeof(k1)));
	agent_keys_wipe(&k1);
	agent_keys_wipe(&k2);
}

TEST_F(statedir, keygen_signs_verifiably)
{
	struct agent_keys k;
	struct meshnet_signed_headers h;
	EVP_PKEY *priv, *pub;
	char err[512];
	bool created;

	ASSERT_EQ(0, agent_keys_load_or_create(self->dir, &k, &created, err, sizeof(err)));
	priv = meshnet_ed25519_private_from_raw(k.ed_seed);
	pub = meshnet_ed25519_public_from_raw(k.ed_public);
	ASSERT_NE(NULL, priv);
	ASSERT_NE(NULL, pub);
	ASSERT_EQ(0, meshnet_sign_request(priv, "meshnet", "node-a", "GET", "/v1/config/node-a", "", 0,
					  time(NULL), &h));
	EXPECT_EQ(MESHNET_VERIFY_OK,
		  meshnet_verify_request(pub, "meshnet", "GET", "/v1/config/node-a", "", 0, h.timestamp,
					 h.nonce, h.signature, time(NULL), 30));
	EVP_PKEY_free(priv);
	EVP_PKEY_free(pub);
	agent_keys_wipe(&k);
}

TEST_F(statedir, keygen_refuses_open_permissions_and_garbage)
{
	struct agent_keys k;
	char err[512] = "", path[256];
	bool created;
	int fd;

	ASSERT_EQ(0, agent_keys_load_or_create(self->dir, &k, &created, err, sizeof(err)));
	snprintf(path, sizeof(path), "%s/%s", self->dir, AGENT_WG_KEY_FILE);
	ASSERT_EQ(0, chmod(path, 0644));
	EXPECT_EQ(-1, agent_keys_load_or_create(self->dir, &k, &created, err, sizeof(err)));
	EXPECT_NE(NULL, strstr(err, "must be mode 0600")) TH_LOG("%s", err);

	fd = open(path, O_WRONLY | O_TRUNC);
	ASSERT_GE(fd, 0);
	ASSERT_EQ(6, write(fd, "bogus\n", 6));
	close(fd);
	ASSERT_EQ(0, chmod(path, 0600));
	EXPECT_EQ(-1, agent_keys_load_or_create(self->dir, &k, &created, err, sizeof(err)));
	EXPECT_NE(NULL, strstr(err, "not the base64 of a 32-byte key")) TH_LOG("%s", err);
	EXPECT_FALSE(created); /* a bad key is never silently replaced */
}

/* ---------- status.json ---------- */

TEST_F(statedir, status_file_has_no_secret_and_prints)
{
	struct agent_state s;
	struct meshnet_peer peers[2];
	char err[512] = "", *buf = NULL;
	size_t len = 0;
	FILE *out;

	ASSERT_EQ(0, mkdir(self->dir, 0700));
	memset(peers, 0, sizeof(peers));
	strcpy(peers[0].name, "node-b");
	peers[0].flags = MESHNET_PEER_HAS_NAME | MESHNET_PEER_HAS_PSK;
	memset(peers[0].psk, 0xab, 32);
	peers[0].verdict = MESHNET_VERDICT_ALLOWED;
	peers[0].n_allowedips = 1;
	peers[0].allowedips[0].family = AF_INET;
	peers[0].allowedips[0].cidr = 32;
	inet_pton(AF_INET, "10.10.0.3", &peers[0].allowedips[0].ip4);
	strcpy(peers[1].name, "node-c");
	peers[1].flags = MESHNET_PEER_HAS_NAME;
	peers[1].verdict = MESHNET_VERDICT_DENIED;
	peers[1].public_key[0] = 1;

	ASSERT_EQ(0, agent_state_init(&s, "node-a", self->dir));
	s.epoch_id = 7;
	s.self_verdict = MESHNET_VERDICT_ALLOWED;
	ASSERT_EQ(0, agent_state_set_peers(&s, peers, 2));
	s.peers[0].probed_at = time(NULL);
	s.peers[0].ping_ok = true;
	s.peers[0].rtt_us = 1500;
	s.peers[1].probed_at = time(NULL);
	snprintf(s.peers[1].ping_why, sizeof(s.peers[1].ping_why), "timeout");
	ASSERT_EQ(0, agent_state_publish(&s));
	EXPECT_EQ(0644, mode_of(self->dir, AGENT_STATUS_FILE));

	out = open_memstream(&buf, &len);
	ASSERT_EQ(0, agent_status_print(self->dir, false, out, err, sizeof(err))) TH_LOG("%s", err);
	fclose(out);
	EXPECT_NE(NULL, strstr(buf, "membership:  ALLOWED"));
	EXPECT_NE(NULL, strstr(buf, "node-b")) TH_LOG("%s", buf);
	EXPECT_NE(NULL, strstr(buf, "10.10.0.3"));
	EXPECT_NE(NULL, strstr(buf, "OK 1.5 ms"));
	EXPECT_NE(NULL, strstr(buf, "FAIL (timeout)"));
	free(buf);
	buf = NULL;
	out = open_memstream(&buf, &len);
	ASSERT_EQ(0, agent_status_print(self->dir, true, out, err, sizeof(err)));
	fclose(out);
	/* the PSK (0xab...) must not be there in any form */
	EXPECT_EQ(NULL, strstr(buf, "q6urq6ur"));
	EXPECT_EQ(NULL, strstr(buf, "psk"));
	free(buf);
	agent_state_destroy(&s);

	EXPECT_EQ(-1, agent_status_print("/nonexistent", false, stdout, err, sizeof(err)));
	EXPECT_NE(NULL, strstr(err, "cannot read /nonexistent/status.json")) TH_LOG("%s", err);
}

/* ---------- probe ---------- */

TEST(probe_loopback_and_unreachable)
{
	struct meshnet_allowedip a = { .family = AF_INET, .cidr = 32 };
	unsigned int rtt = 0;
	char why[64] = "";
	int fd = socket(AF_INET, SOCK_RAW, IPPROTO_ICMP);

	if (fd < 0)
		fd = socket(AF_INET, SOCK_DGRAM, IPPROTO_ICMP);
	if (fd < 0)
		SKIP(return, "no ICMP socket here (%s)", strerror(errno));
	close(fd);
	inet_pton(AF_INET, "127.0.0.1", &a.ip4);
	EXPECT_EQ(0, agent_ping(&a, 1000, &rtt, why, sizeof(why))) TH_LOG("%s", why);
}

TEST(probe_fails_without_route)
{
	struct meshnet_allowedip a = { .family = AF_INET, .cidr = 32 };
	unsigned int rtt = 0;
	char why[64] = "";
	int status;
	pid_t pid;

	/* a fresh network namespace has nothing but a down lo: no route anywhere */
	pid = fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		if (unshare(CLONE_NEWNET))
			_exit(2);
		inet_pton(AF_INET, "10.10.0.3", &a.ip4);
		if (agent_ping(&a, 300, &rtt, why, sizeof(why)) != -1)
			_exit(1);
		_exit(strcmp(why, "no route") ? 3 : 0);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	if (WIFEXITED(status) && WEXITSTATUS(status) == 2)
		SKIP(return, "cannot create a network namespace here");
	EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
		TH_LOG("child status %d", status);
}

/* ---------- signed HTTP client against a real socket ---------- */

struct one_shot_server {
	int listen_fd;
	const char *answer;
	char request[8192];
	size_t request_len;
};

static void *serve_one(void *arg)
{
	struct one_shot_server *s = arg;
	int c = accept(s->listen_fd, NULL, NULL);
	ssize_t n;

	if (c < 0)
		return NULL;
	/* read until the end of headers (+ a short body) */
	while (s->request_len < sizeof(s->request) - 1) {
		n = recv(c, s->request + s->request_len, sizeof(s->request) - 1 - s->request_len, 0);
		if (n <= 0)
			break;
		s->request_len += (size_t)n;
		s->request[s->request_len] = '\0';
		if (strstr(s->request, "\r\n\r\n") &&
		    (!strstr(s->request, "Content-Length") || strstr(s->request, "}")))
			break;
	}
	if (send(c, s->answer, strlen(s->answer), MSG_NOSIGNAL) < 0)
		s->request_len = 0;
	close(c);
	return NULL;
}

static int start_server(struct one_shot_server *s, const char *answer, char *url, size_t urllen)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t alen = sizeof(a);

	memset(s, 0, sizeof(*s));
	s->answer = answer;
	s->listen_fd = socket(AF_INET, SOCK_STREAM, 0);
	if (s->listen_fd < 0 || bind(s->listen_fd, (struct sockaddr *)&a, sizeof(a)) ||
	    listen(s->listen_fd, 1) || getsockname(s->listen_fd, (struct sockaddr *)&a, &alen))
		return -1;
	snprintf(url, urllen, "http://127.0.0.1:%u", ntohs(a.sin_port));
	return 0;
}

static const char *header_value(const char *req, const char *name, char *out, size_t outlen)
{
	const char *p = strcasestr(req, name);
	size_t n = 0;

	if (!p)
		return NULL;
	p += strlen(name) + 2;
	while (p[n] && p[n] != '\r' && n + 1 < outlen) {
		out[n] = p[n];
		n++;
	}
	out[n] = '\0';
	return out;
}

TEST(http_signed_request_verifies)
{
	static const char answer[] = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
				     "Content-Length: 50\r\nConnection: close\r\n\r\n"
				     "{\"accepted\": true, \"membership\": \"ALLOWED\", \"e\":1}";
	struct one_shot_server srv;
	struct agent_http h;
	struct agent_http_reply r;
	uint8_t seed[32], pub[32];
	EVP_PKEY *key, *pkey;
	atomic_bool stop = false;
	char url[64], err[512], ts[32], nonce[64], sig[128], node[80];
	const char *body = "{\"x\": 1}";
	pthread_t t;

	ASSERT_EQ(0, meshnet_ed25519_generate(seed, pub));
	key = meshnet_ed25519_private_from_raw(seed);
	pkey = meshnet_ed25519_public_from_raw(pub);
	ASSERT_EQ(0, start_server(&srv, answer, url, sizeof(url)));
	ASSERT_EQ(0, pthread_create(&t, NULL, serve_one, &srv));
	ASSERT_EQ(0, agent_http_global_init());
	ASSERT_EQ(0, agent_http_init(&h, key, "node-a", url, NULL, &stop));
	ASSERT_EQ(0, agent_http_request(&h, "POST", "/v1/benchmarks/node-a", body, 5, &r, err,
					sizeof(err)))
		TH_LOG("%s", err);
	pthread_join(t, NULL);
	close(srv.listen_fd);
	EXPECT_EQ(200, r.status);
	ASSERT_NE(NULL, r.body);
	EXPECT_NE(NULL, strstr(r.body, "ALLOWED"));
	ASSERT_NE(NULL, header_value(srv.request, MESHNET_HDR_TIMESTAMP, ts, sizeof(ts)));
	ASSERT_NE(NULL, header_value(srv.request, MESHNET_HDR_NONCE, nonce, sizeof(nonce)));
	ASSERT_NE(NULL, header_value(srv.request, MESHNET_HDR_SIGNATURE, sig, sizeof(sig)));
	ASSERT_NE(NULL, header_value(srv.request, MESHNET_HDR_NODE, node, sizeof(node)));
	EXPECT_STREQ("node-a", node);
	EXPECT_EQ(MESHNET_VERIFY_OK,
		  meshnet_verify_request(pkey, "meshnet", "POST", "/v1/benchmarks/node-a", body, strlen(body),
					 ts, nonce, sig, time(NULL), 30));
	/* the same signature does not cover another path */
	EXPECT_NE(MESHNET_VERIFY_OK,
		  meshnet_verify_request(pkey, "meshnet", "POST", "/v1/benchmarks/node-b", body, strlen(body),
					 ts, nonce, sig, time(NULL), 30));
	agent_http_reply_free(&r);
	agent_http_free(&h);
	EVP_PKEY_free(key);
	EVP_PKEY_free(pkey);
}

TEST(http_error_body_and_unreachable)
{
	static const char err_body[] = "{\"error\": {\"code\": \"busy\", \"message\": \"try again later\"}}";
	char answer[256];
	struct one_shot_server srv;
	struct agent_http h;
	struct agent_http_reply r;
	uint8_t seed[32], pub[32];
	EVP_PKEY *key;
	atomic_bool stop = false;
	char url[64], err[512], text[256];
	pthread_t t;

	snprintf(answer, sizeof(answer),
		 "HTTP/1.1 503 Service Unavailable\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n%s",
		 strlen(err_body), err_body);
	ASSERT_EQ(0, meshnet_ed25519_generate(seed, pub));
	key = meshnet_ed25519_private_from_raw(seed);
	ASSERT_EQ(0, start_server(&srv, answer, url, sizeof(url)));
	ASSERT_EQ(0, pthread_create(&t, NULL, serve_one, &srv));
	ASSERT_EQ(0, agent_http_init(&h, key, "node-a", url, NULL, &stop));
	ASSERT_EQ(0, agent_http_request(&h, "GET", "/v1/config/node-a", NULL, 5, &r, err,
					sizeof(err)));
	pthread_join(t, NULL);
	EXPECT_EQ(503, r.status);
	agent_http_error_text(&r, text, sizeof(text));
	EXPECT_STREQ("HTTP 503: try again later", text);
	agent_http_reply_free(&r);
	/* nobody listens any more */
	close(srv.listen_fd);
	EXPECT_EQ(-1, agent_http_request(&h, "GET", "/v1/config/node-a", NULL, 2, &r, err,
					 sizeof(err)));
	EXPECT_NE(0, strlen(err));
	agent_http_free(&h);
	EVP_PKEY_free(key);
}

/* ---------- group mode: X25519 per peer kept across epochs ---------- */

TEST(dh_cache_matches_direct_derivation)
{
	static const uint8_t base[32] = { 9 }; /* X25519's base point: priv -> pub */
	uint8_t own[32], pubs[40][32], dh[32], want[32], psk[32], psk_want[32], key[32];
	struct agent_dh_cache c = { 0 };
	static const uint8_t zero[32];
	char peer[24];

	for (int i = 0; i < 32; i++) {
		own[i] = (uint8_t)(i * 7 + 1);
		key[i] = (uint8_t)(i + 100);
	}
	for (int k = 0; k < 40; k++) {
		uint8_t priv[32];

		for (int i = 0; i < 32; i++)
			priv[i] = (uint8_t)(k * 31 + i * 3 + 5);
		ASSERT_EQ(0, meshnet_x25519(pubs[k], priv, base));
	}
	/* twice round: the first computes and keeps (growing past 16), the second finds */
	for (int round = 0; round < 2; round++) {
		for (int k = 0; k < 40; k++) {
			ASSERT_EQ(0, agent_dh_get(&c, own, pubs[k], dh));
			ASSERT_EQ(0, meshnet_x25519(want, own, pubs[k]));
			EXPECT_EQ(0, memcmp(dh, want, 32));
			snprintf(peer, sizeof(peer), "node-%d", k);
			ASSERT_EQ(0, meshnet_group_pair_psk_dh(psk, key, 5, dh, "node-self", peer));
			ASSERT_EQ(0, meshnet_group_pair_psk(psk_want, key, 5, own, pubs[k],
							    "node-self", peer));
			EXPECT_EQ(0, memcmp(psk, psk_want, 32));
		}
	}
	EXPECT_EQ(40, c.n);
	EXPECT_EQ(40, c.misses);
	EXPECT_EQ(40, c.hits);
	EXPECT_LE(2 * c.n, c.cap);
	/* a bad peer key (all-zero DH result) is refused and not kept */
	EXPECT_EQ(-1, agent_dh_get(&c, own, zero, dh));
	EXPECT_EQ(40, c.n);
	/* the same ids are refused with or without the cache */
	EXPECT_EQ(-1, meshnet_group_pair_psk_dh(psk, key, 5, dh, "node-a", "node-a"));
	agent_dh_cache_free(&c);
	EXPECT_EQ(0, c.n);
	EXPECT_EQ(0, c.cap);
	EXPECT_EQ(NULL, c.slots);
	/* usable again after being emptied */
	ASSERT_EQ(0, agent_dh_get(&c, own, pubs[3], dh));
	ASSERT_EQ(0, meshnet_x25519(want, own, pubs[3]));
	EXPECT_EQ(0, memcmp(dh, want, 32));
	EXPECT_EQ(1, c.n);
	agent_dh_cache_free(&c);
}

TEST_HARNESS_MAIN
