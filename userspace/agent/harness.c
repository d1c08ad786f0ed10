// SPDX-License-Identifier: MIT
/*
 * Running the benchmark harness, sandboxed (see harness.h). The thread that
 * runs it on its schedule is in harness_schedule.c.
 *
 * Between fork and exec the child calls only async-signal-safe functions
 * and raw system calls: the agent is multi-threaded, so everything the
 * child needs (user, environment, argv) is prepared before the fork.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "timefmt.h"

#define mono_ms_now() ((int64_t)(meshnet_now_ns() / 1000000))

#ifndef PR_CAP_AMBIENT
#define PR_CAP_AMBIENT 47
#define PR_CAP_AMBIENT_CLEAR_ALL 4
#endif

#define HARNESS_PATH "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

int agent_harness_set_user(struct agent_harness *h, const char *user, char *err, size_t errlen)
{
	struct passwd pw, *res = NULL;
	char buf[4096], *end;
	unsigned long uid;

	errno = 0;
	uid = strtoul(user, &end, 10);
	if (user[0] >= '0' && user[0] <= '9' && !*end && !errno)
		getpwuid_r((uid_t)uid, &pw, buf, sizeof(buf), &res);
	else
		getpwnam_r(user, &pw, buf, sizeof(buf), &res);
	if (!res) {
		snprintf(err, errlen, "BENCH_USER: no user '%s' on this system", user);
		return -1;
	}
	h->switch_user = true;
	h->uid = pw.pw_uid;
	h->gid = pw.pw_gid;
	snprintf(h->home, sizeof(h->home), "%s", pw.pw_dir && pw.pw_dir[0] ? pw.pw_dir : "/");
	return 0;
}

static bool have_cap(unsigned int cap)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[2] = { 0 };

	if (syscall(SYS_capget, &hdr, data))
		return false;
	return data[cap / 32].effective & (1U << (cap % 32));
}

int agent_harness_check(const struct agent_harness *h, char *err, size_t errlen)
{
	if (!h->switch_user || (geteuid() == h->uid && getegid() == h->gid))
		return 0;
	if (have_cap(CAP_SETUID) && have_cap(CAP_SETGID))
		return 0;
	snprintf(err, errlen,
		 "BENCH_USER: running the harness as uid %u needs CAP_SETUID and CAP_SETGID "
		 "(grant them to the agent%s)", (unsigned int)h->uid,
		 geteuid() == 0 ? ", or set BENCH_USER=root to run it as root without capabilities" :
				  ", or leave BENCH_USER unset");
	return -1;
}

/* The child: write a message to the stderr pipe and exit 126. */
static void __attribute__((noreturn)) child_fail(const char *what)
{
	const char *e = strerror(errno); /* glibc's table: no allocation */
	struct iovec iov[] = {
		{ (void *)"meshnet-agent harness sandbox: ", 31 },
		{ (void *)what, strlen(what) },
		{ (void *)": ", 2 },
		{ (void *)e, strlen(e) },
		{ (void *)"\n", 1 },
	};

	if (writev(STDERR_FILENO, iov, 5) < 0)
		_exit(126);
	_exit(126);
}

/* Everything after fork(), before execve(). */
static void __attribute__((noreturn)) child_exec(const struct agent_harness *h, int devnull,
						 int out_w, int err_w, char *const argv[],
						 char *const envp[])
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[2];
	/* the kernel's struct sigaction: glibc's wrapper refuses its own
	 * signals 32 and 33, which an ignored disposition would leak */
	struct { void (*handler)(int); unsigned long flags; void (*restorer)(void);
		 unsigned long mask; } dfl = { .handler = SIG_DFL };
	unsigned long none = 0;

	setpgid(0, 0);
	/* stdio first, so that every later failure can be reported */
	if (dup2(devnull, STDIN_FILENO) < 0 || dup2(out_w, STDOUT_FILENO) < 0 ||
	    dup2(err_w, STDERR_FILENO) < 0)
		_exit(126);
	/* every other descriptor: keys, sockets, the genl socket, the pipes' copies */
	if (syscall(SYS_close_range, 3U, ~0U, 0U)) {
		for (int fd = 3; fd < 65536; fd++)
			close(fd);
	}
	/* signals: defaults (SIGPIPE is ignored by the agent), nothing blocked */
	for (int sig = 1; sig <= 64; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			syscall(SYS_rt_sigaction, sig, &dfl, NULL, sizeof(unsigned long));
	syscall(SYS_rt_sigprocmask, SIG_SETMASK, &none, NULL, sizeof(none));
	/* the bounding set needs CAP_SETPCAP: a root agent drops it; otherwise
	 * NO_NEW_PRIVS below makes it moot (no exec can gain a capability) */
	for (int cap = 0; cap <= 63; cap++)
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) && errno != EINVAL && errno != EPERM)
			child_fail("PR_CAPBSET_DROP");
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) && errno != EINVAL)
		child_fail("PR_CAP_AMBIENT_CLEAR_ALL");
	if (h->switch_user) {
		gid_t g = h->gid;

		if (syscall(SYS_setgroups, 1, &g))
			child_fail("setgroups (BENCH_USER needs CAP_SETGID)");
		if (syscall(SYS_setresgid, g, g, g))
			child_fail("setresgid (BENCH_USER needs CAP_SETGID)");
		if (syscall(SYS_setresuid, h->uid, h->uid, h->uid))
			child_fail("setresuid (BENCH_USER needs CAP_SETUID)");
	}
	memset(data, 0, sizeof(data));
	if (syscall(SYS_capset, &hdr, data))
		child_fail("capset");
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
		child_fail("PR_SET_NO_NEW_PRIVS");
	/* after the credential change, which clears it: die with the agent */
	prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
	if (chdir("/"))
		child_fail("chdir /");
	execve("/bin/sh", argv, envp);
	child_fail("execve /bin/sh");
}

/* Keeps the tail of the harness's stderr (the end says why it failed). */
static void keep_tail(char *tail, size_t cap, const char *buf, size_t n)
{
	size_t have = strlen(tail);

	if (n >= cap - 1) {
		memcpy(tail, buf + n - (cap - 1), cap - 1);
		tail[cap - 1] = '\0';
		return;
	}
	if (have + n >= cap) {
		size_t drop = have + n - (cap - 1);

		memmove(tail, tail + drop, have - drop + 1);
		have -= drop;
	}
	memcpy(tail + have, buf, n);
	tail[have + n] = '\0';
}

static void clean_tail(char *s)
{
	size_t n = strlen(s);

	while (n && (s[n - 1] == '\n' || s[n - 1] == '\r' || s[n - 1] == ' '))
		s[--n] = '\0';
	for (char *p = s; *p; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p == 0x7f)
			*p = ' ';
}

int agent_harness_run(const struct agent_harness *h, char *out, size_t cap,
		      struct agent_harness_result *r, char *err, size_t errlen)
{
	char node_env[128], home_env[300];
	char *argv[] = { "sh", "-c", (char *)h->cmd, NULL };
	char *envp[] = { HARNESS_PATH, node_env, home_env, "LC_ALL=C.UTF-8", NULL };
	int outp[2] = { -1, -1 }, errp[2] = { -1, -1 }, devnull;
	int64_t t0 = mono_ms_now(), term_at = t0 + (int64_t)h->timeout_sec * 1000, kill_at = 0;
	int64_t exited_at = 0;
	bool exited = false;
	pid_t pid;

	memset(r, 0, sizeof(*r));
	snprintf(node_env, sizeof(node_env), "MESHNET_NODE_ID=%s", h->node_id ? h->node_id : "");
	snprintf(home_env, sizeof(home_env), "HOME=%s", h->home[0] ? h->home : "/");
	devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (devnull < 0 || pipe2(outp, O_CLOEXEC) || pipe2(errp, O_CLOEXEC)) {
		snprintf(err, errlen, "harness: pipe: %s", strerror(errno));
		goto fail;
	}
	pid = fork();
	if (pid < 0) {
		snprintf(err, errlen, "harness: fork: %s", strerror(errno));
		goto fail;
	}
	if (pid == 0)
		child_exec(h, devnull, outp[1], errp[1], argv, envp);
	setpgid(pid, pid); /* both sides: no race with the first kill(-pid) */
	close(devnull);
	close(outp[1]);
	close(errp[1]);
	while (!exited || outp[0] >= 0 || errp[0] >= 0) {
		struct pollfd pfd[2] = { { .fd = outp[0], .events = POLLIN },
					 { .fd = errp[0], .events = POLLIN } };
		int64_t now = mono_ms_now();
		siginfo_t si = { 0 };

		if (!exited && !kill_at && (now >= term_at || (h->stop && atomic_load(h->stop)))) {
			if (now >= term_at)
				r->timed_out = true;
			else
				r->interrupted = true;
			kill(-pid, SIGTERM);
			kill_at = now + (int64_t)h->grace_sec * 1000;
		}
		if (!exited && kill_at && now >= kill_at && !r->killed) {
			kill(-pid, SIGKILL);
			r->killed = true;
		}
		if (!exited && !waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT) &&
		    si.si_pid == pid) {
			/* what it left behind in its group goes with it */
			kill(-pid, SIGKILL);
			while (waitpid(pid, &r->status, 0) < 0 && errno == EINTR)
				;
			exited = true;
			exited_at = now;
		}
		/* a descendant that left the group may hold the pipes: stop reading */
		if (exited && now - exited_at > 2000)
			break;
		if (poll(pfd, 2, 100) <= 0)
			continue;
		for (int i = 0; i < 2; i++) {
			char sink[512];
			ssize_t n;

			if (pfd[i].fd < 0 || !(pfd[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			if (i == 0 && r->used < cap) {
				n = read(pfd[i].fd, out + r->used, cap - r->used);
				if (n > 0)
					r->used += (size_t)n;
			} else {
				n = read(pfd[i].fd, sink, sizeof(sink));
				if (n > 0 && i == 0)
					r->too_big = true;
				else if (n > 0)
					keep_tail(r->stderr_tail, sizeof(r->stderr_tail), sink, (size_t)n);
			}
			if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN)) {
				close(pfd[i].fd);
				if (i == 0)
					outp[0] = -1;
				else
					errp[0] = -1;
			}
		}
	}
	if (outp[0] >= 0)
		close(outp[0]);
	if (errp[0] >= 0)
		close(errp[0]);
	out[r->used] = '\0';
	clean_tail(r->stderr_tail);
	r->duration_ms = (uint64_t)(mono_ms_now() - t0);
	return 0;
fail:
	if (devnull >= 0)
		close(devnull);
	for (int i = 0; i < 2; i++) {
		if (outp[i] >= 0)
			close(outp[i]);
		if (errp[i] >= 0)
			close(errp[i]);
	}
	return -1;
}
