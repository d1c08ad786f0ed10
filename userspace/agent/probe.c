// SPDX-License-Identifier: MIT
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/icmp6.h>
#include <netinet/ip.h>
#include <netinet/ip_icmp.h>

#include "probe.h"

static uint64_t mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

static uint16_t inet_csum(const void *data, size_t len)
{
	const uint8_t *p = data;
	uint32_t sum = 0;

	for (; len > 1; p += 2, len -= 2)
		sum += (uint32_t)(p[0] << 8 | p[1]);
	if (len)
		sum += (uint32_t)(p[0] << 8);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return htons((uint16_t)~sum);
}

/*
 * Raw socket (root) or, failing that, an unprivileged ICMP "ping" socket.
 * *raw tells which: a raw IPv4 socket delivers the IP header too.
 */
static int open_icmp(int family, int *raw)
{
	int proto = family == AF_INET6 ? IPPROTO_ICMPV6 : IPPROTO_ICMP;
	int fd = socket(family, SOCK_RAW | SOCK_CLOEXEC, proto);

	*raw = 1;
	if (fd < 0) {
		fd = socket(family, SOCK_DGRAM | SOCK_CLOEXEC, proto);
		*raw = 0;
	}
	return fd;
}

int agent_ping(const struct meshnet_allowedip *addr, unsigned int timeout_ms,
	       unsigned int *rtt_us, char *why, size_t whylen)
{
	static uint16_t seq;
	uint16_t id = (uint16_t)(getpid() ^ (uintptr_t)&seq), my_seq;
	union meshnet_sockaddr dst = { 0 };
	uint8_t pkt[64] = { 0 }, buf[1500];
	socklen_t dlen;
	uint64_t start, deadline;
	int fd, raw, v6 = addr->family == AF_INET6;

	my_seq = __atomic_add_fetch(&seq, 1, __ATOMIC_RELAXED);
	fd = open_icmp(addr->family, &raw);
	if (fd < 0) {
		snprintf(why, whylen, "icmp socket: %s", strerror(errno));
		return -1;
	}
	if (v6) {
		struct icmp6_hdr *h = (struct icmp6_hdr *)pkt;

		dst.addr6.sin6_family = AF_INET6;
		dst.addr6.sin6_addr = addr->ip6;
		dlen = sizeof(dst.addr6);
		h->icmp6_type = ICMP6_ECHO_REQUEST;
		h->icmp6_id = htons(id);
		h->icmp6_seq = htons(my_seq);
		/* the kernel computes the ICMPv6 checksum */
	} else {
		struct icmphdr *h = (struct icmphdr *)pkt;

		dst.addr4.sin_family = AF_INET;
		dst.addr4.sin_addr = addr->ip4;
		dlen = sizeof(dst.addr4);
		h->type = ICMP_ECHO;
		h->un.echo.id = htons(id);
		h->un.echo.sequence = htons(my_seq);
		h->checksum = inet_csum(pkt, sizeof(pkt));
	}
	start = mono_us();
	if (sendto(fd, pkt, sizeof(pkt), 0, &dst.addr, dlen) < 0) {
		int e = errno;

		close(fd);
		snprintf(why, whylen, "%s", e == ENETUNREACH || e == EHOSTUNREACH ? "no route" :
					    e == EPERM ? "dropped locally" : strerror(e));
		return -1;
	}
	deadline = start + (uint64_t)timeout_ms * 1000;
	for (;;) {
		uint64_t now = mono_us();
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		const uint8_t *icmp = buf;
		ssize_t n;

		if (now >= deadline)
			break;
		if (poll(&pfd, 1, (int)((deadline - now + 999) / 1000)) <= 0)
			continue;
		n = recv(fd, buf, sizeof(buf), 0);
		if (n <= 0)
			continue;
		if (!v6 && raw) {
			const struct iphdr *ip = (const struct iphdr *)buf;
			size_t hl = (size_t)ip->ihl * 4;

			if ((size_t)n < hl + 8 || ip->saddr != addr->ip4.s_addr)
				continue;
			icmp += hl;
			n -= (ssize_t)hl;
		}
		if (n < 8)
			continue;
		if (v6) {
			const struct icmp6_hdr *h = (const void *)icmp;

			if (h->icmp6_type != ICMP6_ECHO_REPLY || ntohs(h->icmp6_seq) != my_seq ||
			    (raw && ntohs(h->icmp6_id) != id))
				continue;
		} else {
			const struct icmphdr *h = (const void *)icmp;

			if (h->type != ICMP_ECHOREPLY || ntohs(h->un.echo.sequence) != my_seq ||
			    (raw && ntohs(h->un.echo.id) != id))
				continue;
		}
		*rtt_us = (unsigned int)(mono_us() - start);
		close(fd);
		return 0;
	}
	close(fd);
	snprintf(why, whylen, "timeout");
	return -1;
}
