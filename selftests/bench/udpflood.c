// SPDX-License-Identifier: GPL-2.0
/*
 * meshnet-udpflood: a small UDP traffic source and sink for the guest suites
 * and benchmarks (the busybox guest has no iperf).
 *
 *   meshnet-udpflood send --to ADDR --port P [--secs S | --count N]
 *                         [--size BYTES] [--pps RATE]
 *   meshnet-udpflood sink --port P --secs S [--bind ADDR] [--idle S]
 *
 * SIGTERM or SIGINT stops either early and still prints its summary.
 * Every datagram carries a magic and a 64-bit sequence number, so the sink
 * can tell how many were lost between the first and the last it saw. Both
 * print one line of key=value pairs for scripts:
 *   send: sent=N errors=N eperm=N secs=F pps=F
 *   sink: received=N bytes=N lost=N reordered=N max_seq=N secs=F pps=F mbps=F
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <netdb.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define FLOOD_MAGIC 0x6d6e6574666c6f6fULL /* "mnetfloo" */
#define FLOOD_MAX_SIZE 65000

struct flood_hdr {
	uint64_t magic;
	uint64_t seq;
};

struct opts {
	const char *to;
	const char *bind;
	const char *port;
	double secs;
	double idle;
	unsigned long long count;
	unsigned long size;
	unsigned long pps;
};

static volatile sig_atomic_t stop_requested;

static void on_stop(int sig)
{
	(void)sig;
	stop_requested = 1;
}

static double now_sec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int usage(const char *why)
{
	if (why)
		fprintf(stderr, "meshnet-udpflood: %s\n", why);
	fprintf(stderr,
		"usage: meshnet-udpflood send --to ADDR --port P [--secs S | --count N] [--size BYTES] [--pps RATE]\n"
		"       meshnet-udpflood sink --port P --secs S [--bind ADDR] [--idle S]\n");
	return 2;
}

static int parse_ull(const char *name, const char *s, unsigned long long max,
		     unsigned long long *out)
{
	char *end;

	errno = 0;
	*out = strtoull(s, &end, 10);
	if (errno || end == s || *end || s[0] == '-' || *out > max) {
		fprintf(stderr, "meshnet-udpflood: bad %s '%s'\n", name, s);
		return -1;
	}
	return 0;
}

static int parse_secs(const char *name, const char *s, double *out)
{
	char *end;

	errno = 0;
	*out = strtod(s, &end);
	if (errno || end == s || *end || *out <= 0 || *out > 86400) {
		fprintf(stderr, "meshnet-udpflood: bad %s '%s' (0 < seconds <= 86400)\n", name, s);
		return -1;
	}
	return 0;
}

static int resolve(const char *host, const char *port, int passive, struct addrinfo **res)
{
	struct addrinfo hints = {
		.ai_family = AF_UNSPEC,
		.ai_socktype = SOCK_DGRAM,
		.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | (passive ? AI_PASSIVE : 0),
	};
	int err;

	if (passive && !host)
		hints.ai_family = AF_INET6;
	err = getaddrinfo(host, port, &hints, res);
	if (err) {
		fprintf(stderr, "meshnet-udpflood: bad address '%s' port '%s': %s\n",
			host ? host : "(any)", port, gai_strerror(err));
		return -1;
	}
	return 0;
}

static int do_send(const struct opts *o)
{
	unsigned long long sent = 0, errors = 0, eperm = 0;
	struct addrinfo *ai;
	double start, deadline, t;
	char *buf;
	int fd;

	if (!o->to || !o->port)
		return usage("send needs --to and --port");
	if (resolve(o->to, o->port, 0, &ai))
		return 2;
	fd = socket(ai->ai_family, SOCK_DGRAM, 0);
	if (fd < 0 || connect(fd, ai->ai_addr, ai->ai_addrlen)) {
		perror("meshnet-udpflood: socket/connect");
		freeaddrinfo(ai);
		return 1;
	}
	freeaddrinfo(ai);
	buf = calloc(1, o->size);
	if (!buf) {
		close(fd);
		return 1;
	}
	start = now_sec();
	deadline = o->secs > 0 ? start + o->secs : 0;
	for (;;) {
		struct flood_hdr h = { .magic = FLOOD_MAGIC, .seq = sent };

		if ((o->count && sent >= o->count) || stop_requested)
			break;
		if ((sent & 63) == 0 || o->pps) {
			t = now_sec();
			if (deadline && t >= deadline)
				break;
			if (o->pps) {
				double due = start + (double)sent / (double)o->pps;

				if (due > t) {
					struct timespec ts = {
						.tv_sec = (time_t)(due - t),
						.tv_nsec = (long)(((due - t) - (double)(time_t)(due - t)) * 1e9),
					};
					nanosleep(&ts, NULL);
				}
			}
		}
		memcpy(buf, &h, sizeof(h));
		if (send(fd, buf, o->size, 0) < 0) {
			if (errno == EPERM)
				eperm++;	/* dropped by a netfilter hook */
			else
				errors++;	/* ENOBUFS, ECONNREFUSED, ENOKEY, ... */
		}
		/* The sequence number counts attempts, so a sink sees gaps for drops. */
		sent++;
	}
	t = now_sec() - start;
	printf("sent=%llu errors=%llu eperm=%llu secs=%.3f pps=%.0f\n", sent, errors, eperm, t,
	       t > 0 ? (double)sent / t : 0.0);
	free(buf);
	close(fd);
	return 0;
}

static int do_sink(const struct opts *o)
{
	unsigned long long received = 0, bytes = 0, reordered = 0, max_seq = 0, min_seq = ULLONG_MAX;
	unsigned long long lost;
	double start, first = 0, last = 0, deadline, t, span;
	struct addrinfo *ai;
	int fd, on = 1, off = 0, rcvbuf = 8 << 20;
	struct timeval tv = { .tv_sec = 0, .tv_usec = 100000 };
	char *buf;

	if (!o->port || o->secs <= 0)
		return usage("sink needs --port and --secs");
	if (resolve(o->bind, o->port, 1, &ai))
		return 2;
	fd = socket(ai->ai_family, SOCK_DGRAM, 0);
	if (fd < 0) {
		perror("meshnet-udpflood: socket");
		freeaddrinfo(ai);
		return 1;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
	setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof(rcvbuf));
	if (ai->ai_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof(off));
	if (bind(fd, ai->ai_addr, ai->ai_addrlen)) {
		perror("meshnet-udpflood: bind");
		freeaddrinfo(ai);
		close(fd);
		return 1;
	}
	freeaddrinfo(ai);
	buf = malloc(FLOOD_MAX_SIZE + 1);
	if (!buf) {
		close(fd);
		return 1;
	}
	/* Tell a waiting script that the socket is bound. */
	printf("listening port=%s\n", o->port);
	fflush(stdout);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	start = now_sec();
	deadline = start + o->secs;
	for (;;) {
		struct flood_hdr h;
		ssize_t n;

		t = now_sec();
		if (t >= deadline || stop_requested ||
		    (o->idle > 0 && received && t - last >= o->idle))
			break;
		n = recv(fd, buf, FLOOD_MAX_SIZE + 1, 0);
		if (n < 0)
			continue;
		if ((size_t)n < sizeof(h))
			continue;
		memcpy(&h, buf, sizeof(h));
		if (h.magic != FLOOD_MAGIC)
			continue;
		last = now_sec();
		if (!received)
			first = last;
		if (received && h.seq < max_seq)
			reordered++;
		if (h.seq > max_seq || !received)
			max_seq = h.seq;
		if (h.seq < min_seq)
			min_seq = h.seq;
		received++;
		bytes += (unsigned long long)n;
	}
	span = last - first;
	/* Datagrams missing between the lowest and highest sequence seen. */
	lost = received && max_seq - min_seq + 1 > received ? max_seq - min_seq + 1 - received : 0;
	printf("received=%llu bytes=%llu lost=%llu reordered=%llu max_seq=%llu secs=%.3f pps=%.0f mbps=%.3f\n",
	       received, bytes, lost, reordered,
	       max_seq, span, span > 0 ? (double)received / span : 0.0,
	       span > 0 ? (double)bytes * 8 / span / 1e6 : 0.0);
	free(buf);
	close(fd);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "to", required_argument, NULL, 't' },
		{ "bind", required_argument, NULL, 'b' },
		{ "port", required_argument, NULL, 'p' },
		{ "secs", required_argument, NULL, 's' },
		{ "idle", required_argument, NULL, 'i' },
		{ "count", required_argument, NULL, 'c' },
		{ "size", required_argument, NULL, 'z' },
		{ "pps", required_argument, NULL, 'r' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct opts o = { .size = 64 };
	unsigned long long v, port;
	struct sigaction sa = { .sa_handler = on_stop };
	const char *mode;
	int c;

	if (argc < 2)
		return usage(NULL);
	/* SIGTERM/SIGINT end the run early; the summary line is still printed. */
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	mode = argv[1];
	optind = 2;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 't':
			o.to = optarg;
			break;
		case 'b':
			o.bind = optarg;
			break;
		case 'p':
			if (parse_ull("--port", optarg, 65535, &port) || port == 0)
				return usage("--port must be 1..65535");
			o.port = optarg;
			break;
		case 's':
			if (parse_secs("--secs", optarg, &o.secs))
				return 2;
			break;
		case 'i':
			if (parse_secs("--idle", optarg, &o.idle))
				return 2;
			break;
		case 'c':
			if (parse_ull("--count", optarg, ULLONG_MAX, &o.count) || !o.count)
				return usage("--count must be positive");
			break;
		case 'z':
			if (parse_ull("--size", optarg, FLOOD_MAX_SIZE, &v) ||
			    v < sizeof(struct flood_hdr))
				return usage("--size must be 16..65000");
			o.size = (unsigned long)v;
			break;
		case 'r':
			if (parse_ull("--pps", optarg, 100000000, &v) || !v)
				return usage("--pps must be positive");
			o.pps = (unsigned long)v;
			break;
		case 'h':
			usage(NULL);
			return 0;
		default:
			return usage(NULL);
		}
	}
	if (optind != argc)
		return usage("unexpected argument");
	if (!strcmp(mode, "send")) {
		if (o.secs <= 0 && !o.count)
			return usage("send needs --secs or --count");
		return do_send(&o);
	}
	if (!strcmp(mode, "sink"))
		return do_sink(&o);
	fprintf(stderr, "meshnet-udpflood: unknown mode '%s'\n", mode);
	return usage(NULL);
}
