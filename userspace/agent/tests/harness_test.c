// SPDX-License-Identifier: MIT
/*
 * Host tests of the sandboxed benchmark harness (harness.c): what the child
 * runs with (no capabilities, no-new-privs, only fds 0-2, default signals,
 * another user), that it cannot read the agent's keys nor configure the
 * network, SIGTERM then SIGKILL after the grace, the agent's stop
 * interrupting it, and the scheduler running it on its own clock.
 * Needs root (the BENCH_USER cases switch to nobody); skips otherwise.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#pragma GCC diagnostic ignored "-Wunused-parameter"
#pragma GCC diagnostic ignored "-Wmissing-prototypes"
#pragma GCC diagnostic ignored "-Wsign-compare"
#include "kselftest_harness.h"

#include "../agent.h"
#include "../bench.h"
#include "../harness.h"
#include "../keys.h"

#define OUT_CAP 16384

static char out[OUT_CAP + 1];

static int run(struct agent_harness *h, struct agent_harness_result *r)
{
	char err[512] = "";
	int ret = agent_harness_run(h, out, OUT_CAP, r, err, sizeof(err));

	if (ret)
		fprintf(stderr, "# harness_run: %s\n", err);
	return ret;
}

/* The value of "Key:" in the harness's /proc/self/status (printed to out). */
static const char *field(const char *key)
{
	static char val[128];
	const char *p = strstr(out, key);
	size_t n = 0;

	if (!p)
		return "(missing)";
	p += strlen(key);
	while (*p == ' ' || *p == '\t')
		p++;
	while (p[n] && p[n] != '\n' && n < sizeof(val) - 1)
		n++;
	memcpy(val, p, n);
	val[n] = '\0';
	return val;
}

static bool is_root(void)
{
	return geteuid() == 0;
}

TEST(no_capabilities_no_new_privs_as_bench_user)
{
	struct agent_harness h = { .cmd = "cat /proc/self/status", .timeout_sec = 10,
				   .grace_sec = 1, .node_id = "node-a" };
	struct agent_harness_result r;
	char err[256];
	struct passwd *pw = getpwnam("nobody");
	char uid_line[64];

	if (!is_root() || !pw)
		SKIP(return, "needs root and a user nobody");
	ASSERT_EQ(0, agent_harness_set_user(&h, "nobody", err, sizeof(err))) TH_LOG("%s", err);
	ASSERT_EQ(0, run(&h, &r));
	ASSERT_TRUE(WIFEXITED(r.status) && WEXITSTATUS(r.status) == 0) TH_LOG("%s", r.stderr_tail);
	EXPECT_STREQ("0000000000000000", field("CapInh:"));
	EXPECT_STREQ("0000000000000000", field("CapPrm:"));
	EXPECT_STREQ("0000000000000000", field("CapEff:"));
	EXPECT_STREQ("0000000000000000", field("CapBnd:"));
	EXPECT_STREQ("0000000000000000", field("CapAmb:"));
	EXPECT_STREQ("1", field("NoNewPrivs:"));
	snprintf(uid_line, sizeof(uid_line), "%u\t%u\t%u\t%u", pw->pw_uid, pw->pw_uid, pw->pw_uid,
		 pw->pw_uid);
	EXPECT_STREQ(uid_line, field("Uid:"));
	/* supplementary groups: only the user's own group */
	EXPECT_EQ(pw->pw_gid, (gid_t)strtoul(field("Groups:"), NULL, 10));
	EXPECT_EQ(NULL, strchr(field("Groups:"), ' ') && strchr(field("Groups:"), ' ')[1] ?
			"more than one group" : NULL) TH_LOG("Groups: %s", field("Groups:"));
}

TEST(no_capabilities_without_bench_user)
{
	struct agent_harness h = { .cmd = "cat /proc/self/status", .timeout_sec = 10,
				   .grace_sec = 1, .node_id = "node-a" };
	struct agent_harness_result r;

	ASSERT_EQ(0, run(&h, &r));
	ASSERT_TRUE(WIFEXITED(r.status) && WEXITSTATUS(r.status) == 0) TH_LOG("%s", r.stderr_tail);
	EXPECT_STREQ("0000000000000000", field("CapEff:"));
	EXPECT_STREQ("0000000000000000", field("CapPrm:"));
	EXPECT_STREQ("0000000000000000", field("CapAmb:"));
	EXPECT_STREQ("1", field("NoNewPrivs:"));
}

TEST(only_stdio_descriptors_default_signals_clean_environment)
{
	struct agent_harness h = {
		.cmd = "ls /proc/self/fd | tr '\\n' ' '; echo; grep -E '^Sig(Ign|Blk):' /proc/self/status; "
		       "env | sort | tr '\\n' ' '; echo; pwd",
		.timeout_sec = 10, .grace_sec = 1, .node_id = "node-a" };
	struct agent_harness_result r;
	int leak = open("/proc/self/status", O_RDONLY); /* not O_CLOEXEC: must not leak */
	sigset_t block, old;
	struct sigaction ign = { .sa_handler = SIG_IGN }, oldpipe, oldusr1;

	ASSERT_GE(leak, 3);
	sigaction(SIGPIPE, &ign, &oldpipe);
	sigaction(SIGUSR1, &ign, &oldusr1);
	sigemptyset(&block);
	sigaddset(&block, SIGUSR2);
	sigaddset(&block, SIGTERM);
	sigprocmask(SIG_BLOCK, &block, &old);
	ASSERT_EQ(0, run(&h, &r));
	sigprocmask(SIG_SETMASK, &old, NULL);
	sigaction(SIGPIPE, &oldpipe, NULL);
	sigaction(SIGUSR1, &oldusr1, NULL);
	close(leak);
	ASSERT_TRUE(WIFEXITED(r.status) && WEXITSTATUS(r.status) == 0) TH_LOG("%s", r.stderr_tail);
	/* ls's own directory descriptor is 3: nothing of the agent's */
	EXPECT_EQ(0, strncmp(out, "0 1 2 3 \n", 9)) TH_LOG("fds: %s", out);
	EXPECT_STREQ("0000000000000000", field("SigIgn:"));
	EXPECT_STREQ("0000000000000000", field("SigBlk:"));
	EXPECT_NE(NULL, strstr(out, "MESHNET_NODE_ID=node-a")) TH_LOG("%s", out);
	EXPECT_EQ(NULL, strstr(out, "HARNESS_TEST_SECRET")) TH_LOG("%s", out);
	EXPECT_NE(NULL, strstr(out, "\n/\n")) TH_LOG("cwd: %s", out);
}

TEST(cannot_read_the_agents_keys)
{
	char dir[] = "/tmp/harness-test-XXXXXX", cmd[512], err[512];
	struct agent_harness h = { .timeout_sec = 10, .grace_sec = 1, .node_id = "node-a" };
	struct agent_harness_result r;
	struct agent_keys k;
	bool created;

	if (!is_root() || !getpwnam("nobody"))
		SKIP(return, "needs root and a user nobody");
	ASSERT_NE(NULL, mkdtemp(dir));
	ASSERT_EQ(0, agent_keys_load_or_create(dir, &k, &created, err, sizeof(err))) TH_LOG("%s", err);
	agent_keys_wipe(&k);
	/* even with the directory open to all, the 0600 key files stay closed */
	chmod(dir, 0755);
	snprintf(cmd, sizeof(cmd), "cat %s/wireguard.key %s/ed25519.key", dir, dir);
	h.cmd = cmd;
	ASSERT_EQ(0, agent_harness_set_user(&h, "nobody", err, sizeof(err)));
	ASSERT_EQ(0, run(&h, &r));
	EXPECT_TRUE(WIFEXITED(r.status) && WEXITSTATUS(r.status) != 0);
	EXPECT_EQ(0u, r.used) TH_LOG("the harness read: %s", out);
	EXPECT_NE(NULL, strstr(r.stderr_tail, "Permission denied")) TH_LOG("%s", r.stderr_tail);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	EXPECT_EQ(0, system(cmd));
}

TEST(cannot_configure_the_network)
{
	/* no CAP_NET_ADMIN: the meshnet family's commands (GENL_ADMIN_PERM) and
	 * wg0 are closed to it, like any link change */
	struct agent_harness h = { .cmd = "ip link add mnharness0 type dummy", .timeout_sec = 10,
				   .grace_sec = 1, .node_id = "node-a" };
	struct agent_harness_result r;

	if (system("command -v ip >/dev/null"))
		SKIP(return, "no ip(8)");
	ASSERT_EQ(0, run(&h, &r));
	EXPECT_TRUE(WIFEXITED(r.status) && WEXITSTATUS(r.status) != 0);
	EXPECT_NE(NULL, strstr(r.stderr_tail, "Operation not permitted")) TH_LOG("%s", r.stderr_tail);
	EXPECT_NE(0, system("ip link show mnharness0 >/dev/null 2>&1"))
		TH_LOG("the harness created a link");
	if (system("ip link show mnharness0 >/dev/null 2>&1") == 0)
		EXPECT_EQ(0, system("ip link del mnharness0"));
}

TEST(sigterm_first_then_sigkill_after_grace)
{
	struct agent_harness h = { .cmd = "trap 'echo got TERM >&2; exit 3' TERM; sleep 30 & wait",
				   .timeout_sec = 1, .grace_sec = 5, .node_id = "node-a" };
	struct agent_harness_result r;

	/* a harness that ends on SIGTERM: no SIGKILL needed */
	ASSERT_EQ(0, run(&h, &r));
	EXPECT_TRUE(r.timed_out);
	EXPECT_FALSE(r.killed);
	EXPECT_NE(NULL, strstr(r.stderr_tail, "got TERM")) TH_LOG("%s", r.stderr_tail);
	EXPECT_TRUE(WIFEXITED(r.status) && WEXITSTATUS(r.status) == 3);
	EXPECT_LT(r.duration_ms, 5000u);

	/* one that ignores it: SIGKILL after the grace */
	h.cmd = "trap '' TERM; sleep 30";
	h.grace_sec = 1;
	ASSERT_EQ(0, run(&h, &r));
	EXPECT_TRUE(r.timed_out);
	EXPECT_TRUE(r.killed);
	EXPECT_TRUE(WIFSIGNALED(r.status) && WTERMSIG(r.status) == SIGKILL);
	EXPECT_GE(r.duration_ms, 1900u);
	EXPECT_LT(r.duration_ms, 10000u);
}

struct stopper {
	atomic_bool *stop;
	unsigned int after_ms;
};

static void *stop_later(void *arg)
{
	struct stopper *s = arg;

	usleep(s->after_ms * 1000);
	atomic_store(s->stop, true);
	return NULL;
}

TEST(agent_stop_interrupts_the_harness)
{
	atomic_bool stop = false;
	struct agent_harness h = { .cmd = "sleep 60", .timeout_sec = 120, .grace_sec = 2,
				   .node_id = "node-a", .stop = &stop };
	struct stopper s = { &stop, 300 };
	struct agent_harness_result r;
	pthread_t t;

	ASSERT_EQ(0, pthread_create(&t, NULL, stop_later, &s));
	ASSERT_EQ(0, run(&h, &r));
	pthread_join(t, NULL);
	EXPECT_TRUE(r.interrupted);
	EXPECT_FALSE(r.timed_out);
	EXPECT_TRUE(WIFSIGNALED(r.status) && WTERMSIG(r.status) == SIGTERM);
	EXPECT_LT(r.duration_ms, 5000u);
}

TEST(bench_user_unknown_refused)
{
	struct agent_harness h = { 0 };
	char err[256] = "";

	EXPECT_EQ(-1, agent_harness_set_user(&h, "no-such-user-meshnet", err, sizeof(err)));
	EXPECT_NE(NULL, strstr(err, "BENCH_USER: no user 'no-such-user-meshnet'")) TH_LOG("%s", err);
	EXPECT_FALSE(h.switch_user);
}

TEST(scheduler_runs_on_its_own_clock)
{
	static struct agent_ctx ctx;
	char dir[] = "/tmp/harness-sched-XXXXXX", cmd[256];
	const char *json =
		"{\"suite_version\": \"slow-1\", \"scores\": {\"overall\": 0.8, \"refusal\": 0.8, "
		"\"honesty\": 0.8, \"policy\": 0.8}}";
	pthread_t t;
	time_t t0;

	ASSERT_NE(NULL, mkdtemp(dir));
	agent_options_defaults(&ctx.opts);
	strcpy(ctx.opts.node_id, "node-a");
	snprintf(ctx.opts.bench_cmd, sizeof(ctx.opts.bench_cmd), "sleep 1; echo '%s'", json);
	ctx.opts.bench_interval = 1;
	ASSERT_EQ(0, agent_state_init(&ctx.state, "node-a", dir));
	ctx.harness = (struct agent_harness){ .cmd = ctx.opts.bench_cmd, .timeout_sec = 30,
					      .grace_sec = 1, .node_id = "node-a",
					      .stop = &ctx.stop };
	t0 = time(NULL);
	ASSERT_EQ(0, pthread_create(&t, NULL, agent_harness_main, &ctx));
	/* the first result after about one run; the thread keeps going */
	for (int i = 0; i < 100; i++) {
		bool have;

		pthread_mutex_lock(&ctx.state.lock);
		have = ctx.latest.have && ctx.state.harness_runs >= 2;
		pthread_mutex_unlock(&ctx.state.lock);
		if (have)
			break;
		usleep(100000);
	}
	atomic_store(&ctx.stop, true);
	pthread_join(t, NULL);
	EXPECT_TRUE(ctx.latest.have);
	EXPECT_GE(ctx.state.harness_runs, 2u);
	EXPECT_EQ(0u, ctx.state.harness_failures) TH_LOG("%s", ctx.state.harness_error);
	EXPECT_STREQ("slow-1", ctx.latest.b.suite_version);
	EXPECT_GE(ctx.latest.measured_at, (int64_t)t0 + 1);
	EXPECT_GE(ctx.state.harness_duration_ms, 900u);
	agent_state_destroy(&ctx.state);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	EXPECT_EQ(0, system(cmd));
}

TEST_HARNESS_MAIN
