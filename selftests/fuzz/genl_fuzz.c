// SPDX-License-Identifier: GPL-2.0
/*
 * meshnet-genl-fuzz: a generic-netlink fuzzer for meshnet.ko.
 *
 *   meshnet-genl-fuzz [-s SEED] [-t SECONDS] [-n ITERATIONS] [-j THREADS]
 *                     [-c] [-u] [-q]
 *
 * THREADS workers (default 3) each own a few raw genl sockets and send, in
 * a random mix: messages with a random command (0 .. MESHNET_CMD_MAX + 3),
 * random flags (NLM_F_DUMP on non-dump commands too) and a random attribute
 * tree built from the family's policies, valid-looking or mutated (wrong
 * lengths, nested garbage, duplicate attributes, truncated attributes,
 * zero-length nests, huge allowed-IP counts); epoch transactions
 * (begin / set-peers / commit / abort) interleaved across sockets; deltas
 * (APPLY_DELTA: flips, removals and whole peers over the same key space,
 * fresh and stale revisions, lists split over several nests); sockets
 * closed mid-transaction; dumps abandoned after the first message; and,
 * rarely, a 10,000-peer SET_PEERS. With -c one more thread churns:
 * creates a WireGuard device in a fresh network namespace, attaches it,
 * stages and commits there, then drops the namespace (sometimes with the
 * transaction still open, sometimes deleting the device first).
 *
 * Every ack and NLMSG_DONE is checked: the error must be 0 or a negative
 * errno (-1 .. -4095); anything else is a failure. At the end the module
 * must still answer GET_STATE and commit a valid epoch.
 *
 * -u: the module may be unloaded under us (rmmod cycles): a family that
 * disappears is re-resolved instead of failing. -s: the seed (printed; the
 * same seed replays the same per-thread sequences, modulo scheduling).
 * Output: TAP with a "# Totals:" line.
 */

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <linux/meshnet.h>

#include "../lib/mn_genl.h"

#define FZ_SOCKS 3
#define FZ_KEYS 24
#define FZ_RX_BUF (1 << 17)
#define FZ_BIG_PEERS 10000

struct fz_opts {
	uint64_t seed;
	double secs;
	uint64_t iters;
	int threads;
	bool churn;
	bool unload_ok;
	bool quiet;
};

static struct fz_opts opts = {
	.secs = 10, .threads = 3,
};

static atomic_ullong total_iters;
static atomic_ullong total_msgs;
static atomic_ullong bad_errors;
static atomic_ullong no_ack;
static atomic_ullong open_fail;
static atomic_ullong churn_rounds;
static atomic_ullong big_sets;
static atomic_ullong errno_seen[4096];
static atomic_bool stop;
static double t_end;
/* mn_genl_open() resolves with a helper that is not thread-safe. */
static pthread_mutex_t open_lock = PTHREAD_MUTEX_INITIALIZER;

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* xorshift64* */
static uint64_t rnd(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545F4914F6CDD1DULL;
}

static uint32_t rn(uint64_t *s, uint32_t n)
{
	return n ? (uint32_t)(rnd(s) % n) : 0;
}

static bool chance(uint64_t *s, uint32_t pct)
{
	return rn(s, 100) < pct;
}

static void rbytes(uint64_t *s, void *buf, size_t len)
{
	uint8_t *p = buf;
	size_t i;

	for (i = 0; i < len; i++)
		p[i] = (uint8_t)rnd(s);
}

static void key_of(int idx, uint8_t *key)
{
	memset(key, 0, MESHNET_KEY_LEN);
	key[0] = 0xf2;
	key[1] = (uint8_t)idx;
	key[2] = (uint8_t)(idx >> 8);
	key[3] = (uint8_t)(idx >> 16);
}

/* ---- a socket that can come and go ---- */

struct fz_sock {
	struct mn_genl g;
	bool open;
};

static int fz_open(struct fz_sock *s)
{
	int ret, sz = 8 << 20;

	pthread_mutex_lock(&open_lock);
	ret = mn_genl_open(&s->g);
	pthread_mutex_unlock(&open_lock);
	if (ret) {
		atomic_fetch_add(&open_fail, 1);
		s->open = false;
		return ret;
	}
	/* Big SET_PEERS messages: raise the send buffer past wmem_max. */
	if (setsockopt(s->g.fd, SOL_SOCKET, SO_SNDBUFFORCE, &sz, sizeof(sz)))
		setsockopt(s->g.fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
	s->open = true;
	return 0;
}

static void fz_close(struct fz_sock *s)
{
	if (s->open)
		mn_genl_close(&s->g);
	s->open = false;
}

static bool errno_ok(int err)
{
	return err <= 0 && err >= -4095;
}

static void note_error(int err, uint8_t cmd, const char *what)
{
	if (errno_ok(err)) {
		atomic_fetch_add(&errno_seen[-err], 1);
		return;
	}
	atomic_fetch_add(&bad_errors, 1);
	printf("# BAD error %d from %s (cmd %u)\n", err, what, cmd);
}

/*
 * Reads the reply to sequence @seq until the ack or NLMSG_DONE (each checked)
 * or @max_msgs data messages (0: no limit; a dump is then abandoned).
 * Returns the ack's error, 1 when abandoned, 2 on timeout.
 */
static int fz_recv(struct fz_sock *s, uint32_t seq, uint8_t cmd,
		   int max_msgs, int timeout_ms)
{
	char *buf = malloc(FZ_RX_BUF);
	int msgs = 0, ret = 2;

	if (!buf)
		abort();
	for (;;) {
		struct pollfd pfd = { .fd = s->g.fd, .events = POLLIN };
		struct nlmsghdr *nlh;
		ssize_t len;

		if (poll(&pfd, 1, timeout_ms) <= 0) {
			atomic_fetch_add(&no_ack, 1);
			break;
		}
		len = recv(s->g.fd, buf, FZ_RX_BUF, MSG_DONTWAIT);
		if (len < 0) {
			if (errno == EAGAIN || errno == EINTR)
				continue;
			/* ENOBUFS: the receive queue overflowed; fine. */
			ret = -errno;
			break;
		}
		for (nlh = (struct nlmsghdr *)buf; NLMSG_OK(nlh, (size_t)len);
		     nlh = NLMSG_NEXT(nlh, len)) {
			if (nlh->nlmsg_seq != seq)
				continue;
			if (nlh->nlmsg_type == NLMSG_ERROR ||
			    nlh->nlmsg_type == NLMSG_DONE) {
				const int *err = NLMSG_DATA(nlh);

				if (nlh->nlmsg_type == NLMSG_DONE &&
				    nlh->nlmsg_len < NLMSG_LENGTH(sizeof(int)))
					ret = 0;
				else if (nlh->nlmsg_type == NLMSG_ERROR)
					ret = ((const struct nlmsgerr *)err)->error;
				else
					ret = *err;
				note_error(ret, cmd, nlh->nlmsg_type ==
					   NLMSG_DONE ? "DONE" : "ack");
				goto out;
			}
			if (max_msgs && ++msgs >= max_msgs) {
				ret = 1;
				goto out;
			}
		}
	}
out:
	free(buf);
	return ret;
}

/* Sends @m (adds NLM_F_ACK) and reads its reply. */
static int fz_transact(struct fz_sock *s, struct mn_msg *m, int max_msgs)
{
	uint8_t cmd = ((struct genlmsghdr *)NLMSG_DATA(m->nlh))->cmd;
	int ret;

	if (!s->open)
		return -EBADF;
	ret = mn_genl_send(&s->g, m);
	atomic_fetch_add(&total_msgs, 1);
	if (ret)	/* sendmsg's own errno (EMSGSIZE, ECONNREFUSED) */
		return ret;
	ret = fz_recv(s, m->nlh->nlmsg_seq, cmd, max_msgs, 3000);
	if (ret == -ENOENT && opts.unload_ok) {
		/* Family gone (rmmod): resolve it again. */
		fz_close(s);
		fz_open(s);
	}
	return ret;
}

/* ---- random attribute trees ---- */

static void put_rand_blob(uint64_t *r, struct mn_msg *m, uint16_t type,
			  size_t maxlen)
{
	uint8_t buf[300];
	size_t len = rn(r, (uint32_t)(maxlen < sizeof(buf) ? maxlen :
					sizeof(buf)) + 1);

	rbytes(r, buf, len);
	mn_msg_put(m, type, buf, len);
}

static void put_allowedip(uint64_t *r, struct mn_msg *m, uint16_t type)
{
	size_t ip = mn_msg_nest_start(m, type);
	int v6 = rn(r, 2), k = rn(r, 10);
	uint8_t addr[16] = { 0 };
	uint8_t cidr;

	if (k == 0) {			/* garbage nest */
		put_rand_blob(r, m, rn(r, 6), 40);
		mn_msg_nest_end(m, ip);
		return;
	}
	if (v6) {
		addr[0] = 0xfd;
		addr[1] = (uint8_t)rn(r, 4);
		addr[15] = (uint8_t)rn(r, 256);
		cidr = chance(r, 70) ? 128 : (uint8_t)rn(r, 140);
	} else {
		addr[0] = 10;
		addr[1] = (uint8_t)rn(r, 4);
		addr[3] = (uint8_t)rn(r, 256);
		cidr = chance(r, 70) ? 32 : (uint8_t)rn(r, 40);
	}
	if (k != 1)
		mn_msg_put_u16(m, MESHNET_ALLOWEDIP_A_FAMILY,
			       k == 2 ? (uint16_t)rn(r, 12) :
			       v6 ? AF_INET6 : AF_INET);
	if (k != 3)
		mn_msg_put(m, MESHNET_ALLOWEDIP_A_IPADDR, addr,
			   k == 4 ? rn(r, 20) : v6 ? 16 : 4);
	if (k != 5)
		mn_msg_put_u8(m, MESHNET_ALLOWEDIP_A_CIDR_MASK, cidr);
	if (k == 6)			/* duplicate */
		mn_msg_put_u8(m, MESHNET_ALLOWEDIP_A_CIDR_MASK, cidr);
	mn_msg_nest_end(m, ip);
}

/* One peer nest; @valid makes it acceptable (modulo keys staged twice). */
static void put_peer(uint64_t *r, struct mn_msg *m, uint16_t type, int keyidx,
		     bool valid)
{
	size_t nest = mn_msg_nest_start(m, type);
	uint8_t key[MESHNET_KEY_LEN];
	int mut = valid ? -1 : (int)rn(r, 14);

	key_of(keyidx, key);
	if (mut != 0)
		mn_msg_put(m, MESHNET_PEER_A_PUBLIC_KEY, key,
			   mut == 1 ? rn(r, 40) : MESHNET_KEY_LEN);
	if (mut != 2)
		mn_msg_put_u8(m, MESHNET_PEER_A_VERDICT,
			      mut == 3 ? (uint8_t)rn(r, 256) :
			      1 + rn(r, 2));
	if (chance(r, 30))
		mn_msg_put_str(m, MESHNET_PEER_A_NAME, "node-fuzz");
	if (mut == 4) {	/* unterminated or overlong string */
		put_rand_blob(r, m, MESHNET_PEER_A_REASON, 200);
	} else if (chance(r, 20)) {
		mn_msg_put_str(m, MESHNET_PEER_A_REASON, "fuzzed");
	}
	if (chance(r, 30) || mut == 5) {
		struct sockaddr_in6 sin6 = { .sin6_family = AF_INET6,
					     .sin6_port = htons(51820) };
		struct sockaddr_in sin = { .sin_family = AF_INET,
					   .sin_port = htons(51820) };

		if (mut == 5) {
			put_rand_blob(r, m, MESHNET_PEER_A_ENDPOINT, 40);
		} else if (rn(r, 2)) {
			sin.sin_addr.s_addr = htonl(0xc0000200 | rn(r, 256));
			mn_msg_put(m, MESHNET_PEER_A_ENDPOINT, &sin,
				   sizeof(sin));
		} else {
			sin6.sin6_addr.s6_addr[0] = 0x20;
			sin6.sin6_addr.s6_addr[15] = (uint8_t)rn(r, 256);
			mn_msg_put(m, MESHNET_PEER_A_ENDPOINT, &sin6,
				   sizeof(sin6));
		}
	}
	if (chance(r, 20) || mut == 6) {
		uint8_t psk[64];

		rbytes(r, psk, sizeof(psk));
		mn_msg_put(m, MESHNET_PEER_A_PRESHARED_KEY, psk,
			   mut == 6 ? rn(r, 64) : MESHNET_KEY_LEN);
	}
	if (chance(r, 60) || mut == 7 || mut == 8) {
		size_t list = mn_msg_nest_start(m, MESHNET_PEER_A_ALLOWEDIPS);
		int i, n = mut == 7 ? 60 + (int)rn(r, 200) :
			   mut == 8 ? 0 : 1 + (int)rn(r, 3);

		for (i = 0; i < n; i++) {
			if (valid) {
				uint8_t a[4] = { 10, (uint8_t)(keyidx >> 8),
						 (uint8_t)keyidx, (uint8_t)i };

				size_t ip = mn_msg_nest_start(m, i);

				mn_msg_put_u16(m, MESHNET_ALLOWEDIP_A_FAMILY,
					       AF_INET);
				mn_msg_put(m, MESHNET_ALLOWEDIP_A_IPADDR, a, 4);
				mn_msg_put_u8(m, MESHNET_ALLOWEDIP_A_CIDR_MASK,
					      32);
				mn_msg_nest_end(m, ip);
			} else {
				put_allowedip(r, m, (uint16_t)i);
			}
		}
		mn_msg_nest_end(m, list);
	}
	if (mut == 9)	/* output-only attributes */
		mn_msg_put_u64(m, MESHNET_PEER_A_EPOCH, rnd(r));
	if (mut == 10)
		mn_msg_put_flag(m, MESHNET_PEER_A_HAS_PSK);
	if (mut == 11) {
		size_t c = mn_msg_nest_start(m, MESHNET_PEER_A_COUNTERS);

		mn_msg_put_u64(m, MESHNET_COUNTER_A_RX_PACKETS, rnd(r));
		mn_msg_nest_end(m, c);
	}
	if (mut == 12)	/* unknown attribute type */
		put_rand_blob(r, m, MESHNET_PEER_A_MAX + 1 + rn(r, 5), 16);
	if (mut == 13)	/* duplicate key */
		mn_msg_put(m, MESHNET_PEER_A_PUBLIC_KEY, key, MESHNET_KEY_LEN);
	mn_msg_nest_end(m, nest);
}

static uint64_t epoch_hint(uint64_t *r)
{
	static atomic_ullong hint = 1;

	return atomic_fetch_add(&hint, 1 + rn(r, 3));
}

/*
 * A delta list of @n entries: keys (REMOVE_PEERS) or keys with a verdict
 * and reason (VERDICT_PEERS), with now and then a field that does not
 * belong, a missing key or a whole peer.
 */
static void put_key_list(uint64_t *r, struct mn_msg *m, uint16_t type, int n)
{
	size_t list = mn_msg_nest_start(m, type);
	uint8_t key[MESHNET_KEY_LEN];
	int i;

	for (i = 0; i < n; i++) {
		size_t p;

		if (chance(r, 5)) {
			put_peer(r, m, (uint16_t)i, rn(r, FZ_KEYS), chance(r, 50));
			continue;
		}
		p = mn_msg_nest_start(m, (uint16_t)i);
		key_of(rn(r, FZ_KEYS), key);
		if (!chance(r, 5))
			mn_msg_put(m, MESHNET_PEER_A_PUBLIC_KEY, key,
				   chance(r, 95) ? sizeof(key) : rn(r, 40));
		if (type == MESHNET_A_VERDICT_PEERS && !chance(r, 5))
			mn_msg_put_u8(m, MESHNET_PEER_A_VERDICT,
				      chance(r, 90) ? 1 + rn(r, 2) : rn(r, 5));
		if (type == MESHNET_A_VERDICT_PEERS && chance(r, 40))
			mn_msg_put_str(m, MESHNET_PEER_A_REASON, "fuzz");
		if (chance(r, 5))
			put_rand_blob(r, m, (uint16_t)rn(r, MESHNET_PEER_A_MAX + 2), 24);
		mn_msg_nest_end(m, p);
	}
	mn_msg_nest_end(m, list);
}

/* A random top-level attribute of type @type, sometimes with a bad length. */
static void put_top_attr(uint64_t *r, struct mn_msg *m, uint16_t type)
{
	bool bad = chance(r, 15);
	static const char *const names[] = {
		"lo", "mnfz0", "wg0", "eth0", "", "a-very-long-interface-name",
	};
	time_t now = time(NULL);

	if (bad) {
		put_rand_blob(r, m, type, 40);
		return;
	}
	switch (type) {
	case MESHNET_A_IFINDEX:
		mn_msg_put_u32(m, type, rn(r, 12));
		break;
	case MESHNET_A_IFNAME:
	case MESHNET_A_SELF_REASON:
		mn_msg_put_str(m, type, names[rn(r, 6)]);
		break;
	case MESHNET_A_EPOCH_ID:
		mn_msg_put_u64(m, type, chance(r, 10) ? rnd(r) :
			       epoch_hint(r));
		break;
	case MESHNET_A_EPOCH_EXPIRY:
		mn_msg_put_u64(m, type, chance(r, 20) ? rnd(r) :
			       chance(r, 30) ? 1 : (uint64_t)now + rn(r, 600));
		break;
	case MESHNET_A_EPOCH_FORCE:
	case MESHNET_A_SHOW_PSK:
		mn_msg_put_flag(m, type);
		break;
	case MESHNET_A_SELF_VERDICT:
	case MESHNET_A_POLICY_UNKNOWN:
	case MESHNET_A_POLICY_FAIL_CLOSED:
	case MESHNET_A_POLICY_ENDPOINT_DROP:
	case MESHNET_A_EXPIRED:
		mn_msg_put_u8(m, type, (uint8_t)rn(r, 4));
		break;
	case MESHNET_A_POLICY_GRACE:
		mn_msg_put_u32(m, type, chance(r, 80) ? rn(r, 5) :
			       (uint32_t)rnd(r));
		break;
	case MESHNET_A_PEER:
		put_peer(r, m, type, rn(r, FZ_KEYS), chance(r, 60));
		break;
	case MESHNET_A_PEERS: {
		size_t list = mn_msg_nest_start(m, type);
		int i, n = rn(r, 8);

		for (i = 0; i < n; i++)
			put_peer(r, m, (uint16_t)(chance(r, 90) ? (uint32_t)i : rn(r, 65536)),
				 rn(r, FZ_KEYS), chance(r, 70));
		if (chance(r, 10))	/* garbage inside the array */
			put_rand_blob(r, m, rn(r, 4), 24);
		mn_msg_nest_end(m, list);
		break;
	}
	case MESHNET_A_REVISION:
		mn_msg_put_u64(m, type, chance(r, 10) ? rnd(r) :
			       chance(r, 10) ? 0 : epoch_hint(r));
		break;
	case MESHNET_A_VALID_UNTIL:
		mn_msg_put_u64(m, type, chance(r, 20) ? rnd(r) :
			       chance(r, 30) ? 1 : (uint64_t)now + rn(r, 600));
		break;
	case MESHNET_A_REMOVE_PEERS:
	case MESHNET_A_VERDICT_PEERS:
		put_key_list(r, m, type, rn(r, 8));
		break;
	case MESHNET_A_DEVICES:
	case MESHNET_A_COUNTERS: {
		size_t nest = mn_msg_nest_start(m, type);

		if (chance(r, 50))
			put_rand_blob(r, m, rn(r, 4), 24);
		mn_msg_nest_end(m, nest);
		break;
	}
	default:
		put_rand_blob(r, m, type, 24);
	}
}

static void put_random_attrs(uint64_t *r, struct mn_msg *m, uint8_t cmd)
{
	int i, n = rn(r, 5);

	/* Mostly the attributes that the command takes. */
	switch (cmd) {
	case MESHNET_CMD_ATTACH:
	case MESHNET_CMD_DETACH:
		put_top_attr(r, m, chance(r, 50) ? MESHNET_A_IFINDEX :
			     MESHNET_A_IFNAME);
		break;
	case MESHNET_CMD_EPOCH_BEGIN:
		put_top_attr(r, m, MESHNET_A_EPOCH_ID);
		put_top_attr(r, m, MESHNET_A_EPOCH_EXPIRY);
		break;
	case MESHNET_CMD_EPOCH_SET_PEERS:
		put_top_attr(r, m, MESHNET_A_PEERS);
		break;
	case MESHNET_CMD_EPOCH_COMMIT:
	case MESHNET_CMD_EPOCH_ABORT:
		put_top_attr(r, m, MESHNET_A_EPOCH_ID);
		break;
	case MESHNET_CMD_SET_PEER:
	case MESHNET_CMD_DEL_PEER:
	case MESHNET_CMD_RESET_COUNTERS:
		put_top_attr(r, m, MESHNET_A_PEER);
		break;
	case MESHNET_CMD_SET_POLICY:
		put_top_attr(r, m, MESHNET_A_POLICY_UNKNOWN + rn(r, 4));
		break;
	case MESHNET_CMD_SET_SELF:
		put_top_attr(r, m, MESHNET_A_SELF_VERDICT);
		break;
	case MESHNET_CMD_APPLY_DELTA:
		put_top_attr(r, m, MESHNET_A_REVISION);
		put_top_attr(r, m, MESHNET_A_REMOVE_PEERS + rn(r, 2));
		if (chance(r, 50))
			put_top_attr(r, m, MESHNET_A_PEERS);
		break;
	}
	if (chance(r, 50))
		n = 0;
	for (i = 0; i < n; i++)
		put_top_attr(r, m, (uint16_t)rn(r, MESHNET_A_MAX + 3));
	if (chance(r, 5))	/* zero-length nest */
		mn_msg_put(m, NLA_F_NESTED | MESHNET_A_PEERS, NULL, 0);
}

/* Corrupts a built message: truncate an attribute or the message. */
static void mutate_msg(uint64_t *r, struct mn_msg *m)
{
	size_t hdr = NLMSG_LENGTH(GENL_HDRLEN), len = m->nlh->nlmsg_len;
	uint8_t *p = (uint8_t *)m->nlh;

	switch (rn(r, 4)) {
	case 0:		/* truncated message (cut anywhere after nlmsghdr) */
		if (len > NLMSG_HDRLEN)
			m->nlh->nlmsg_len = NLMSG_HDRLEN +
					    rn(r, (uint32_t)(len - NLMSG_HDRLEN));
		break;
	case 1:		/* first attribute claims more than there is */
		if (len >= hdr + NLA_HDRLEN)
			((struct nlattr *)(p + hdr))->nla_len =
				(uint16_t)(len - hdr + 4 + rn(r, 64));
		break;
	case 2:		/* flip a few bytes of the payload */
		if (len > hdr) {
			int i;

			for (i = 0; i < 3; i++)
				p[hdr + rn(r, (uint32_t)(len - hdr))] ^=
					(uint8_t)(1 << rn(r, 8));
		}
		break;
	case 3:		/* nla_len below the header size */
		if (len >= hdr + NLA_HDRLEN)
			((struct nlattr *)(p + hdr))->nla_len = rn(r, 4);
		break;
	}
}

/* ---- actions ---- */

struct fz_worker {
	int id;
	uint64_t rng;
	struct fz_sock socks[FZ_SOCKS];
	uint64_t iters;
};

static struct fz_sock *pick(struct fz_worker *w)
{
	struct fz_sock *s = &w->socks[rn(&w->rng, FZ_SOCKS)];

	if (!s->open)
		fz_open(s);
	return s->open ? s : NULL;
}

static uint16_t family_of(struct fz_sock *s)
{
	return s->g.family;
}

static void act_random_msg(struct fz_worker *w)
{
	uint64_t *r = &w->rng;
	struct fz_sock *s = pick(w);
	uint16_t flags = 0;
	struct mn_msg m;
	uint8_t cmd;

	if (!s)
		return;
	cmd = (uint8_t)rn(r, MESHNET_CMD_MAX + 4);
	if (chance(r, 15))
		flags |= NLM_F_DUMP;
	if (chance(r, 5))
		flags |= NLM_F_EXCL | NLM_F_CREATE | NLM_F_REPLACE;
	mn_msg_init(&m, family_of(s), flags, cmd,
		    chance(r, 95) ? MESHNET_GENL_VERSION : (uint8_t)rnd(r));
	put_random_attrs(r, &m, cmd);
	if (chance(r, 10))
		mutate_msg(r, &m);
	fz_transact(s, &m, flags & NLM_F_DUMP && chance(r, 30) ? 1 : 0);
	mn_msg_free(&m);
}

static int begin_ex(struct fz_sock *s, uint64_t *r, uint64_t id, bool force)
{
	struct mn_msg m;
	int ret;

	mn_msg_init(&m, family_of(s), 0, MESHNET_CMD_EPOCH_BEGIN, 1);
	mn_msg_put_u64(&m, MESHNET_A_EPOCH_ID, id);
	mn_msg_put_u64(&m, MESHNET_A_EPOCH_EXPIRY,
		       chance(r, 10) ? 1 : (uint64_t)time(NULL) + 600);
	if (force)
		mn_msg_put_flag(&m, MESHNET_A_EPOCH_FORCE);
	ret = fz_transact(s, &m, 0);
	mn_msg_free(&m);
	return ret;
}

static int begin(struct fz_sock *s, uint64_t *r, uint64_t id)
{
	return begin_ex(s, r, id, chance(r, 30));
}

static int set_peers(struct fz_sock *s, uint64_t *r, int first, int n,
		     bool valid)
{
	struct mn_msg m;
	size_t list;
	int i, ret;

	mn_msg_init(&m, family_of(s), 0, MESHNET_CMD_EPOCH_SET_PEERS, 1);
	list = mn_msg_nest_start(&m, MESHNET_A_PEERS);
	for (i = 0; i < n; i++)
		put_peer(r, &m, (uint16_t)i, first + i, valid);
	mn_msg_nest_end(&m, list);
	ret = fz_transact(s, &m, 0);
	mn_msg_free(&m);
	return ret;
}

static int end_txn(struct fz_sock *s, uint64_t *r, uint8_t cmd, uint64_t id)
{
	struct mn_msg m;
	int ret;

	mn_msg_init(&m, family_of(s), 0, cmd, 1);
	if (cmd == MESHNET_CMD_EPOCH_COMMIT || chance(r, 50))
		mn_msg_put_u64(&m, MESHNET_A_EPOCH_ID, id);
	if (cmd == MESHNET_CMD_EPOCH_COMMIT && chance(r, 30)) {
		mn_msg_put_u8(&m, MESHNET_A_SELF_VERDICT, 1 + rn(r, 2));
		if (chance(r, 50))
			mn_msg_put_str(&m, MESHNET_A_SELF_REASON, "fuzz");
	}
	ret = fz_transact(s, &m, 0);
	mn_msg_free(&m);
	return ret;
}

/* begin / set-peers / commit|abort|close, steps spread over sockets. */
static void act_txn(struct fz_worker *w)
{
	uint64_t *r = &w->rng;
	struct fz_sock *s = pick(w), *other = pick(w);
	uint64_t id = epoch_hint(r);
	int i, n = rn(r, 4);

	if (!s || !other)
		return;
	if (begin(s, r, id))
		return;
	for (i = 0; i < n; i++)
		set_peers(chance(r, 85) ? s : other, r, rn(r, FZ_KEYS),
			  1 + rn(r, 20), chance(r, 80));
	switch (rn(r, 5)) {
	case 0:
		end_txn(chance(r, 80) ? s : other, r, MESHNET_CMD_EPOCH_ABORT,
			chance(r, 90) ? id : id + 1);
		break;
	case 1:		/* closed mid-transaction */
		fz_close(s);
		break;
	case 2:		/* left open: someone else's begin meets -EBUSY */
		break;
	default:
		end_txn(chance(r, 90) ? s : other, r, MESHNET_CMD_EPOCH_COMMIT,
			chance(r, 90) ? id : id - 1);
	}
}

/*
 * A well-formed delta (most of the time): a fresh or stale revision, flips,
 * removals and whole peers over the shared key space, sometimes split over
 * several nests of one type, sometimes with the epoch id or a validity.
 */
static void act_delta(struct fz_worker *w)
{
	uint64_t *r = &w->rng;
	struct fz_sock *s = pick(w);
	struct mn_msg m;
	int i, nests;

	if (!s)
		return;
	mn_msg_init(&m, family_of(s), 0, MESHNET_CMD_APPLY_DELTA, 1);
	mn_msg_put_u64(&m, MESHNET_A_REVISION, chance(r, 85) ? epoch_hint(r) :
		       1 + rn(r, 4));
	if (chance(r, 10))
		mn_msg_put_flag(&m, MESHNET_A_EPOCH_FORCE);
	if (chance(r, 20))
		put_top_attr(r, &m, MESHNET_A_EPOCH_ID);
	if (chance(r, 30))
		put_top_attr(r, &m, MESHNET_A_VALID_UNTIL);
	if (chance(r, 10))
		put_top_attr(r, &m, MESHNET_A_SELF_VERDICT);
	nests = 1 + (chance(r, 15) ? rn(r, 3) : 0);
	for (i = 0; i < nests; i++) {
		if (chance(r, 60))
			put_key_list(r, &m, MESHNET_A_VERDICT_PEERS, 1 + rn(r, 6));
		if (chance(r, 30))
			put_key_list(r, &m, MESHNET_A_REMOVE_PEERS, 1 + rn(r, 3));
		if (chance(r, 30))
			put_top_attr(r, &m, MESHNET_A_PEERS);
	}
	if (chance(r, 5))
		mutate_msg(r, &m);
	fz_transact(s, &m, 0);
	mn_msg_free(&m);
}

/* A dump read for one message, then the socket is closed. */
static void act_abandon_dump(struct fz_worker *w)
{
	uint64_t *r = &w->rng;
	struct fz_sock *s = pick(w);
	struct mn_msg m;

	if (!s)
		return;
	mn_msg_init(&m, family_of(s), NLM_F_DUMP, MESHNET_CMD_GET_PEERS, 1);
	if (chance(r, 50))
		mn_msg_put_flag(&m, MESHNET_A_SHOW_PSK);
	fz_transact(s, &m, rn(r, 3));
	mn_msg_free(&m);
	/*
	 * An unfinished dump pins the module until its socket closes: under
	 * rmmod cycles (-u) close it always, so that rmmod can win sometimes.
	 */
	if (opts.unload_ok || chance(r, 70))
		fz_close(s);
}

/* 10,000 peers in one SET_PEERS, then commit (or abort). */
static void act_big(struct fz_worker *w)
{
	uint64_t *r = &w->rng;
	struct fz_sock *s = pick(w);
	uint64_t id = epoch_hint(r);
	int ret;

	if (!s || begin(s, r, id))
		return;
	/*
	 * A nest is at most 64 KiB (nla_len is 16 bits): 10,000 peers go in
	 * batches of 200 as the agent sends them; sometimes all in one message
	 * anyway, whose overflowing PEERS length the kernel must reject.
	 */
	if (chance(r, 20)) {
		ret = set_peers(s, r, 1000, FZ_BIG_PEERS, true);
	} else {
		int i;

		for (i = 0, ret = 0; i < FZ_BIG_PEERS && !ret; i += 200)
			ret = set_peers(s, r, 1000 + i, 200, true);
	}
	atomic_fetch_add(&big_sets, 1);
	if (!opts.quiet)
		printf("# worker %d: 10000-peer SET_PEERS: %d\n", w->id, ret);
	end_txn(s, r, chance(r, 70) ? MESHNET_CMD_EPOCH_COMMIT :
		MESHNET_CMD_EPOCH_ABORT, id);
}

static bool time_up(uint64_t done)
{
	if (atomic_load(&stop))
		return true;
	if (opts.iters && done >= opts.iters)
		return true;
	return opts.secs > 0 && now_s() >= t_end;
}

static void *worker_main(void *arg)
{
	struct fz_worker *w = arg;
	int i;

	while (!time_up(atomic_load(&total_iters))) {
		uint32_t k = rn(&w->rng, 1000);

		if (k < 500)
			act_random_msg(w);
		else if (k < 600)
			act_delta(w);
		else if (k < 850)
			act_txn(w);
		else if (k < 990)
			act_abandon_dump(w);
		else if (k < 992)
			act_big(w);
		else
			fz_close(&w->socks[rn(&w->rng, FZ_SOCKS)]);
		w->iters++;
		atomic_fetch_add(&total_iters, 1);
		if (opts.unload_ok && atomic_load(&open_fail) &&
		    !w->socks[0].open && !w->socks[1].open &&
		    !w->socks[2].open)
			usleep(20000);	/* module unloaded: do not spin */
	}
	for (i = 0; i < FZ_SOCKS; i++)
		fz_close(&w->socks[i]);
	return NULL;
}

/* ---- namespace and device churn ---- */

static int sh(const char *cmd)
{
	int st = system(cmd);

	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/*
 * In a fresh netns (this thread only): a wg device, attached, an epoch
 * committed and another left open; then the namespace is dropped with the
 * socket, sometimes after deleting the device. Also toggles a wg device in
 * the initial namespace that the workers' ATTACH by name "mnfz0" can hit.
 */
static void *churn_main(void *arg)
{
	uint64_t rng = opts.seed ^ 0xc0ffee, *r = &rng;
	int init_ns = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);

	(void)arg;
	while (!time_up(atomic_load(&total_iters))) {
		struct fz_sock s = { 0 };
		struct mn_msg m;
		uint64_t id;

		if (chance(r, 50))
			sh("ip link add mnfz0 type wireguard 2>/dev/null;"
			   "ip link set mnfz0 up 2>/dev/null");
		else
			sh("ip link del mnfz0 2>/dev/null");
		if (unshare(CLONE_NEWNET)) {
			perror("# unshare");
			break;
		}
		sh("ip link add mnfz0 type wireguard && ip link set lo up && "
		   "ip link set mnfz0 up");
		if (!fz_open(&s)) {
			mn_msg_init(&m, family_of(&s), 0, MESHNET_CMD_ATTACH, 1);
			mn_msg_put_str(&m, MESHNET_A_IFNAME, "mnfz0");
			fz_transact(&s, &m, 0);
			mn_msg_free(&m);
			id = 1 + rn(r, 100);
			if (!begin(&s, r, id)) {
				set_peers(&s, r, 0, 1 + rn(r, 50), true);
				end_txn(&s, r, MESHNET_CMD_EPOCH_COMMIT, id);
			}
			if (!begin(&s, r, id + 1))
				set_peers(&s, r, 100, 1 + rn(r, 20), true);
			if (chance(r, 50))
				sh("ip link del mnfz0");
			if (chance(r, 50))
				act_abandon_dump(&(struct fz_worker){
					.rng = rnd(r) | 1 });
			fz_close(&s);
		}
		/* Back to the initial netns: the fresh one dies with us. */
		if (setns(init_ns, CLONE_NEWNET)) {
			perror("# setns");
			break;
		}
		atomic_fetch_add(&churn_rounds, 1);
	}
	close(init_ns);
	sh("ip link del mnfz0 2>/dev/null");
	return NULL;
}

/* ---- checks after the run ---- */

static int tap_n, tap_fail;

static void tap(bool ok, const char *fmt, const char *detail)
{
	tap_n++;
	if (!ok)
		tap_fail++;
	printf("%s %d %s%s%s\n", ok ? "ok" : "not ok", tap_n, fmt,
	       detail ? " # " : "", detail ? detail : "");
}

static int sane_epoch(void)
{
	struct fz_sock s = { 0 };
	uint64_t r = 1;
	uint64_t id = epoch_hint(&r) + 1000;
	struct mn_msg m;
	int ret;

	if (fz_open(&s))
		return -1;
	mn_msg_init(&m, family_of(&s), 0, MESHNET_CMD_GET_STATE, 1);
	ret = fz_transact(&s, &m, 0);
	mn_msg_free(&m);
	if (!ret)
		ret = begin_ex(&s, &r, id, true);
	if (!ret)
		ret = set_peers(&s, &r, 0, 3, true);
	if (!ret)
		ret = end_txn(&s, &r, MESHNET_CMD_EPOCH_COMMIT, id);
	fz_close(&s);
	return ret;
}

/* Dump state: the epoch of every message and the number of peers. */
struct dump_state {
	uint64_t epoch;
	int msgs, peers, epoch_changes;
	bool done;
	int err;
};

/* Reads up to @max dump messages (0: to the end) of sequence @seq. */
static void dump_read(struct fz_sock *s, uint32_t seq, int max,
		      struct dump_state *d)
{
	char *buf = malloc(FZ_RX_BUF);
	int got = 0;

	if (!buf)
		abort();
	while (!d->done && (!max || got < max)) {
		struct pollfd pfd = { .fd = s->g.fd, .events = POLLIN };
		struct nlmsghdr *nlh;
		ssize_t len;

		if (poll(&pfd, 1, 5000) <= 0) {
			d->err = -ETIMEDOUT;
			break;
		}
		len = recv(s->g.fd, buf, FZ_RX_BUF, 0);
		if (len < 0) {
			d->err = -errno;
			break;
		}
		for (nlh = (struct nlmsghdr *)buf; NLMSG_OK(nlh, (size_t)len);
		     nlh = NLMSG_NEXT(nlh, len)) {
			const struct nlattr *tb[MESHNET_A_MAX + 1];
			uint64_t e;

			if (nlh->nlmsg_seq != seq)
				continue;
			if (nlh->nlmsg_type == NLMSG_DONE ||
			    nlh->nlmsg_type == NLMSG_ERROR) {
				d->done = true;
				d->err = *(const int *)NLMSG_DATA(nlh);
				break;
			}
			mn_attr_parse_genl(tb, MESHNET_A_MAX, nlh);
			e = tb[MESHNET_A_EPOCH_ID] ?
			    mn_attr_u64(tb[MESHNET_A_EPOCH_ID]) : 0;
			if (d->msgs && e != d->epoch)
				d->epoch_changes++;
			d->epoch = e;
			d->msgs++;
			got++;
			if (tb[MESHNET_A_PEERS])
				d->peers += mn_attr_count_nested(tb[MESHNET_A_PEERS]);
		}
	}
	free(buf);
}

static int commit_peers(struct fz_sock *s, uint64_t *r, uint64_t id,
			int first, int n)
{
	int i, ret = begin_ex(s, r, id, true);

	for (i = 0; !ret && i < n; i += 200)
		ret = set_peers(s, r, first + i, n - i < 200 ? n - i : 200,
				true);
	if (!ret)
		ret = end_txn(s, r, MESHNET_CMD_EPOCH_COMMIT, id);
	return ret;
}

/*
 * A dump started on a 2000-peer table, paused after its first message
 * while another socket commits a 10-peer epoch, must finish on the table
 * it started on: every message with the old epoch id, 2000 peers in all.
 */
static void check_dump_vs_commit(void)
{
	struct fz_sock a = { 0 }, b = { 0 };
	struct dump_state d = { 0 };
	uint64_t r = 7, id = epoch_hint(&r) + 5000;
	char detail[160];
	struct mn_msg m;
	int ret;

	if (fz_open(&a) || fz_open(&b)) {
		tap(false, "dump paused across a commit stays on its table",
		    "open failed");
		goto out;
	}
	ret = commit_peers(&a, &r, id, 20000, 2000);
	mn_msg_init(&m, family_of(&b), NLM_F_DUMP, MESHNET_CMD_GET_PEERS, 1);
	if (!ret)
		ret = mn_genl_send(&b.g, &m);
	if (!ret) {
		dump_read(&b, m.nlh->nlmsg_seq, 1, &d);
		ret = commit_peers(&a, &r, id + 1, 30000, 10);
		dump_read(&b, m.nlh->nlmsg_seq, 0, &d);
	}
	mn_msg_free(&m);
	snprintf(detail, sizeof(detail),
		 "ret %d, %d messages, %d peers, epoch %llu (want %llu), %d epoch changes, dump error %d",
		 ret, d.msgs, d.peers, (unsigned long long)d.epoch,
		 (unsigned long long)id, d.epoch_changes, d.err);
	tap(!ret && d.done && !d.err && d.msgs > 1 && d.peers == 2000 &&
	    d.epoch == id && !d.epoch_changes,
	    "dump paused across a commit stays on its table", detail);
out:
	fz_close(&a);
	fz_close(&b);
}

/*
 * A transaction whose owner socket closes is aborted (NETLINK_URELEASE):
 * another socket may begin at once, and a socket that never began cannot
 * commit it.
 */
static void check_close_aborts(void)
{
	struct fz_sock a = { 0 }, b = { 0 };
	uint64_t r = 9, id = epoch_hint(&r) + 9000;
	int busy = 1, after = 1;
	char detail[96];

	if (!fz_open(&a) && !fz_open(&b) && !begin_ex(&a, &r, id, true) &&
	    !set_peers(&a, &r, 40000, 5, true)) {
		busy = begin_ex(&b, &r, id, true);
		fz_close(&a);
		after = begin_ex(&b, &r, id, true);
		end_txn(&b, &r, MESHNET_CMD_EPOCH_ABORT, id);
	}
	snprintf(detail, sizeof(detail), "begin while owned: %d, after close: %d",
		 busy, after);
	tap(busy == -EBUSY && after == 0,
	    "closing the owner socket aborts its transaction", detail);
	fz_close(&a);
	fz_close(&b);
}

static void usage(const char *prog)
{
	fprintf(stderr,
		"usage: %s [-s SEED] [-t SECONDS] [-n ITERATIONS] [-j THREADS 1-8] [-c] [-u] [-q]\n"
		"  -c  also churn netns and wg devices in a thread\n"
		"  -u  tolerate the module being unloaded (rmmod cycles)\n",
		prog);
	exit(2);
}

int main(int argc, char **argv)
{
	pthread_t th[9];
	struct fz_worker *w;
	char detail[160];
	double t0, el;
	int i, c, ret;

	opts.seed = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
	while ((c = getopt(argc, argv, "s:t:n:j:cuqh")) != -1) {
		switch (c) {
		case 's': opts.seed = strtoull(optarg, NULL, 0); break;
		case 't': opts.secs = atof(optarg); break;
		case 'n': opts.iters = strtoull(optarg, NULL, 0); break;
		case 'j': opts.threads = atoi(optarg); break;
		case 'c': opts.churn = true; break;
		case 'u': opts.unload_ok = true; break;
		case 'q': opts.quiet = true; break;
		default: usage(argv[0]);
		}
	}
	if (opts.threads < 1 || opts.threads > 8 || optind != argc)
		usage(argv[0]);
	if (!opts.seed)
		opts.seed = 1;
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("TAP version 13\n");
	printf("# seed %llu (replay: -s %llu -j %d)\n",
	       (unsigned long long)opts.seed, (unsigned long long)opts.seed,
	       opts.threads);
	w = calloc(opts.threads, sizeof(*w));
	if (!w)
		return 1;
	t0 = now_s();
	t_end = t0 + opts.secs;
	for (i = 0; i < opts.threads; i++) {
		w[i].id = i;
		w[i].rng = opts.seed * 0x9E3779B97F4A7C15ULL + i + 1;
		pthread_create(&th[i], NULL, worker_main, &w[i]);
	}
	if (opts.churn)
		pthread_create(&th[opts.threads], NULL, churn_main, NULL);
	for (i = 0; i < opts.threads + opts.churn; i++)
		pthread_join(th[i], NULL);
	el = now_s() - t0;

	printf("1..5\n");
	printf("# %llu iterations, %llu messages in %.1f s: %.0f iterations/s, "
	       "%.0f messages/s; %llu churn rounds, %llu 10k-peer sets, "
	       "%llu replies timed out, %llu socket opens failed\n",
	       (unsigned long long)total_iters, (unsigned long long)total_msgs,
	       el, total_iters / el, total_msgs / el,
	       (unsigned long long)churn_rounds, (unsigned long long)big_sets,
	       (unsigned long long)no_ack, (unsigned long long)open_fail);
	printf("# errno histogram:");
	for (i = 0; i < 4096; i++)
		if (atomic_load(&errno_seen[i]))
			printf(" %d:%llu", -i,
			       (unsigned long long)atomic_load(&errno_seen[i]));
	printf("\n");
	snprintf(detail, sizeof(detail), "%llu bad",
		 (unsigned long long)bad_errors);
	tap(!bad_errors && total_msgs > 0,
	    "every ack/DONE error is 0 or a negative errno", detail);
	/*
	 * Under rmmod cycles (-u) the module may be out at any moment: the
	 * checks below belong to a run without them (the suite runs one).
	 */
	ret = opts.unload_ok ? 0 : sane_epoch();
	snprintf(detail, sizeof(detail), opts.unload_ok ?
		 "SKIP under rmmod cycles" : "ret %d", ret);
	tap(!ret, "after fuzzing: GET_STATE and a valid epoch commit succeed",
	    detail);
	tap(opts.unload_ok || !open_fail,
	    "no socket failed to resolve the family (module stayed loaded)",
	    NULL);
	if (opts.unload_ok) {
		tap(true, "dump paused across a commit stays on its table",
		    "SKIP under rmmod cycles");
		tap(true, "closing the owner socket aborts its transaction",
		    "SKIP under rmmod cycles");
	} else {
		check_dump_vs_commit();
		check_close_aborts();
	}
	printf("# Totals: pass:%d fail:%d xfail:0 xpass:0 skip:0 error:0\n",
	       tap_n - tap_fail, tap_fail);
	free(w);
	return tap_fail ? 1 : 0;
}
