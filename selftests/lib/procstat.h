/* SPDX-License-Identifier: MIT */
/*
 * What /proc says about a process the tests started (meshnetd under load):
 * resident memory, open file descriptors, CPU time. For the soak and the
 * benchmarks; -1 when the process is gone.
 */
#ifndef MESHNET_TEST_PROCSTAT_H
#define MESHNET_TEST_PROCSTAT_H

#include <sys/types.h>

/* VmRSS in KiB. */
long mn_proc_rss_kib(pid_t pid);
/* Entries of /proc/PID/fd. */
long mn_proc_fds(pid_t pid);
/* User + system CPU seconds. */
double mn_proc_cpu_s(pid_t pid);

#endif
