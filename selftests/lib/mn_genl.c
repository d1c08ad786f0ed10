// SPDX-License-Identifier: GPL-2.0
/*
 * Raw generic netlink helpers for the meshnet selftests (see mn_genl.h).
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <linux/meshnet.h>

#include "mn_genl.h"

#define MN_RX_BUF (1 << 20)

#ifndef NETLINK_EXT_ACK
#define NETLINK_EXT_ACK 11
#endif

static void mn_msg_reserve(struct mn_msg *m, size_t more)
{
	size_t need = NLMSG_ALIGN(m->nlh->nlmsg_len) + NLA_ALIGN(more);

	if (need <= m->cap)
		return;
	while (m->cap < need)
		m->cap *= 2;
	m->nlh = realloc(m->nlh, m->cap);
	if (!m->nlh) {
		perror("realloc");
		abort();
	}
}

void mn_msg_init(struct mn_msg *m, uint16_t type, uint16_t flags, uint8_t cmd,
		 uint8_t version)
{
	struct genlmsghdr *gh;

	m->cap = 4096;
	m->nlh = calloc(1, m->cap);
	if (!m->nlh) {
		perror("calloc");
		abort();
	}
	m->nlh->nlmsg_len = NLMSG_LENGTH(GENL_HDRLEN);
	m->nlh->nlmsg_type = type;
	m->nlh->nlmsg_flags = NLM_F_REQUEST | flags;
	gh = NLMSG_DATA(m->nlh);
	gh->cmd = cmd;
	gh->version = version;
}

void mn_msg_free(struct mn_msg *m)
{
	free(m->nlh);
	m->nlh = NULL;
}

void mn_msg_put(struct mn_msg *m, uint16_t type, const void *data, size_t len)
{
	struct nlattr *a;

	mn_msg_reserve(m, NLA_HDRLEN + len);
	a = (struct nlattr *)((char *)m->nlh + NLMSG_ALIGN(m->nlh->nlmsg_len));
	a->nla_type = type;
	a->nla_len = NLA_HDRLEN + len;
	if (len)
		memcpy((char *)a + NLA_HDRLEN, data, len);
	memset((char *)a + NLA_HDRLEN + len, 0, NLA_ALIGN(len) - len);
	m->nlh->nlmsg_len = NLMSG_ALIGN(m->nlh->nlmsg_len) +
			    NLA_ALIGN(a->nla_len);
}

void mn_msg_put_u8(struct mn_msg *m, uint16_t type, uint8_t v)
{
	mn_msg_put(m, type, &v, sizeof(v));
}

void mn_msg_put_u16(struct mn_msg *m, uint16_t type, uint16_t v)
{
	mn_msg_put(m, type, &v, sizeof(v));
}

void mn_msg_put_u32(struct mn_msg *m, uint16_t type, uint32_t v)
{
	mn_msg_put(m, type, &v, sizeof(v));
}

void mn_msg_put_u64(struct mn_msg *m, uint16_t type, uint64_t v)
{
	mn_msg_put(m, type, &v, sizeof(v));
}

void mn_msg_put_str(struct mn_msg *m, uint16_t type, const char *s)
{
	mn_msg_put(m, type, s, strlen(s) + 1);
}

void mn_msg_put_flag(struct mn_msg *m, uint16_t type)
{
	mn_msg_put(m, type, NULL, 0);
}

size_t mn_msg_nest_start(struct mn_msg *m, uint16_t type)
{
	size_t off = NLMSG_ALIGN(m->nlh->nlmsg_len);

	mn_msg_put(m, type | NLA_F_NESTED, NULL, 0);
	return off;
}

void mn_msg_nest_end(struct mn_msg *m, size_t off)
{
	struct nlattr *a = (struct nlattr *)((char *)m->nlh + off);

	a->nla_len = m->nlh->nlmsg_len - off;
}

void mn_attr_parse(const struct nlattr **tb, int max, const void *data,
		   size_t len)
{
	const struct nlattr *a = data;
	int rem = (int)len;

	memset(tb, 0, sizeof(*tb) * (max + 1));
	while (rem >= (int)NLA_HDRLEN && a->nla_len >= NLA_HDRLEN &&
	       a->nla_len <= rem) {
		int type = a->nla_type & NLA_TYPE_MASK;

		if (type <= max)
			tb[type] = a;
		rem -= NLA_ALIGN(a->nla_len);
		a = (const struct nlattr *)((const char *)a +
					    NLA_ALIGN(a->nla_len));
	}
}

void mn_attr_parse_nested(const struct nlattr **tb, int max,
			  const struct nlattr *nest)
{
	mn_attr_parse(tb, max, mn_attr_data(nest), mn_attr_len(nest));
}

void mn_attr_parse_genl(const struct nlattr **tb, int max,
			const struct nlmsghdr *nlh)
{
	const char *start = (const char *)NLMSG_DATA(nlh) + GENL_HDRLEN;

	mn_attr_parse(tb, max, start,
		      nlh->nlmsg_len - NLMSG_LENGTH(GENL_HDRLEN));
}

uint8_t mn_attr_u8(const struct nlattr *a)
{
	return *(const uint8_t *)mn_attr_data(a);
}

uint16_t mn_attr_u16(const struct nlattr *a)
{
	uint16_t v;

	memcpy(&v, mn_attr_data(a), sizeof(v));
	return v;
}

uint32_t mn_attr_u32(const struct nlattr *a)
{
	uint32_t v;

	memcpy(&v, mn_attr_data(a), sizeof(v));
	return v;
}

uint64_t mn_attr_u64(const struct nlattr *a)
{
	uint64_t v;

	memcpy(&v, mn_attr_data(a), sizeof(v));
	return v;
}

int mn_attr_count_nested(const struct nlattr *nest)
{
	const struct nlattr *pos;
	int rem, n = 0;

	mn_attr_for_each_nested(pos, nest, rem)
		n++;
	return n;
}

/* Extracts errno and extack message of an NLMSG_ERROR message. */
static int mn_parse_ack(struct mn_genl *g, const struct nlmsghdr *nlh)
{
	const struct nlmsgerr *err = NLMSG_DATA(nlh);
	const struct nlattr *tb[NLMSGERR_ATTR_MAX + 1];
	size_t off = sizeof(*err);

	if (!(nlh->nlmsg_flags & NLM_F_CAPPED))
		off += err->msg.nlmsg_len - sizeof(err->msg);
	if (nlh->nlmsg_flags & NLM_F_ACK_TLVS &&
	    NLMSG_LENGTH(off) <= nlh->nlmsg_len) {
		mn_attr_parse(tb, NLMSGERR_ATTR_MAX,
			      (const char *)err + off,
			      nlh->nlmsg_len - NLMSG_LENGTH(off));
		if (tb[NLMSGERR_ATTR_MSG])
			snprintf(g->extack, sizeof(g->extack), "%.*s",
				 (int)mn_attr_len(tb[NLMSGERR_ATTR_MSG]),
				 (const char *)mn_attr_data(tb[NLMSGERR_ATTR_MSG]));
		if (tb[NLMSGERR_ATTR_OFFS])
			g->extack_off = mn_attr_u32(tb[NLMSGERR_ATTR_OFFS]);
	}
	return err->error;
}

/* Reads one datagram and dispatches it. 1: done (ack/DONE seen). */
static int mn_recv_batch(struct mn_genl *g, uint32_t seq, mn_reply_cb cb,
			 void *arg, int *ret)
{
	static char buf[MN_RX_BUF];
	const struct nlmsghdr *nlh;
	ssize_t len;

	len = recv(g->fd, buf, sizeof(buf), 0);
	if (len < 0) {
		*ret = -errno;
		return 1;
	}
	for (nlh = (struct nlmsghdr *)buf; NLMSG_OK(nlh, (size_t)len);
	     nlh = NLMSG_NEXT(nlh, len)) {
		if (seq && nlh->nlmsg_seq != seq)
			continue;
		if (nlh->nlmsg_type == NLMSG_ERROR) {
			*ret = mn_parse_ack(g, nlh);
			return 1;
		}
		if (nlh->nlmsg_type == NLMSG_DONE) {
			const int *err = NLMSG_DATA(nlh);

			*ret = *err;
			if (*ret)
				mn_parse_ack(g, nlh);
			return 1;
		}
		if (cb && cb(nlh, arg))
			cb = NULL;
	}
	return 0;
}

int mn_genl_send(struct mn_genl *g, struct mn_msg *m)
{
	struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };

	g->extack[0] = '\0';
	g->extack_off = 0;
	m->nlh->nlmsg_seq = ++g->seq;
	m->nlh->nlmsg_flags |= NLM_F_ACK;
	if (sendto(g->fd, m->nlh, m->nlh->nlmsg_len, 0,
		   (struct sockaddr *)&kernel, sizeof(kernel)) < 0)
		return -errno;
	return 0;
}

int mn_genl_recv_reply(struct mn_genl *g, const struct mn_msg *m,
		       mn_reply_cb cb, void *arg, int *ret)
{
	*ret = 0;
	return mn_recv_batch(g, m->nlh->nlmsg_seq, cb, arg, ret);
}

int mn_genl_transact(struct mn_genl *g, struct mn_msg *m, mn_reply_cb cb,
		     void *arg)
{
	int ret = mn_genl_send(g, m);

	if (ret)
		return ret;
	while (!mn_recv_batch(g, m->nlh->nlmsg_seq, cb, arg, &ret))
		;
	return ret;
}

int mn_genl_recv_one(struct mn_genl *g, int timeout_ms, mn_reply_cb cb,
		     void *arg)
{
	struct pollfd pfd = { .fd = g->fd, .events = POLLIN };
	int ret = 0;

	if (poll(&pfd, 1, timeout_ms) <= 0)
		return 0;
	mn_recv_batch(g, 0, cb, arg, &ret);
	return 1;
}

struct mn_resolve {
	const char *grp;
	uint16_t family;
	uint32_t grp_id;
};

static int mn_resolve_cb(const struct nlmsghdr *nlh, void *arg)
{
	const struct nlattr *tb[CTRL_ATTR_MAX + 1], *grp;
	struct mn_resolve *r = arg;
	int rem;

	mn_attr_parse_genl(tb, CTRL_ATTR_MAX, nlh);
	if (tb[CTRL_ATTR_FAMILY_ID])
		r->family = mn_attr_u16(tb[CTRL_ATTR_FAMILY_ID]);
	if (!tb[CTRL_ATTR_MCAST_GROUPS] || !r->grp)
		return 0;
	mn_attr_for_each_nested(grp, tb[CTRL_ATTR_MCAST_GROUPS], rem) {
		const struct nlattr *g[CTRL_ATTR_MCAST_GRP_MAX + 1];

		mn_attr_parse_nested(g, CTRL_ATTR_MCAST_GRP_MAX, grp);
		if (g[CTRL_ATTR_MCAST_GRP_NAME] && g[CTRL_ATTR_MCAST_GRP_ID] &&
		    !strcmp(mn_attr_data(g[CTRL_ATTR_MCAST_GRP_NAME]), r->grp))
			r->grp_id = mn_attr_u32(g[CTRL_ATTR_MCAST_GRP_ID]);
	}
	return 0;
}

int mn_genl_resolve(struct mn_genl *g, const char *name, const char *grp,
		    uint16_t *family, uint32_t *grp_id)
{
	struct mn_resolve r = { .grp = grp };
	struct mn_msg m;
	int ret;

	mn_msg_init(&m, GENL_ID_CTRL, 0, CTRL_CMD_GETFAMILY, 1);
	mn_msg_put_str(&m, CTRL_ATTR_FAMILY_NAME, name);
	ret = mn_genl_transact(g, &m, mn_resolve_cb, &r);
	mn_msg_free(&m);
	if (ret)
		return ret;
	if (!r.family)
		return -ENOENT;
	*family = r.family;
	if (grp_id)
		*grp_id = r.grp_id;
	return 0;
}

int mn_genl_open(struct mn_genl *g)
{
	struct sockaddr_nl addr = { .nl_family = AF_NETLINK };
	socklen_t alen = sizeof(addr);
	int one = 1, rcvbuf = 4 << 20, ret;

	memset(g, 0, sizeof(*g));
	g->fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_GENERIC);
	if (g->fd < 0)
		return -errno;
	if (setsockopt(g->fd, SOL_NETLINK, NETLINK_EXT_ACK, &one,
		       sizeof(one)) ||
	    setsockopt(g->fd, SOL_NETLINK, NETLINK_CAP_ACK, &one,
		       sizeof(one)) ||
	    bind(g->fd, (struct sockaddr *)&addr, sizeof(addr)) ||
	    getsockname(g->fd, (struct sockaddr *)&addr, &alen)) {
		ret = -errno;
		close(g->fd);
		return ret;
	}
	/* Best effort: big dumps and notification bursts. */
	setsockopt(g->fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	g->portid = addr.nl_pid;
	ret = mn_genl_resolve(g, MESHNET_GENL_NAME, MESHNET_MCGRP_NAME,
			      &g->family, &g->mcgrp);
	if (ret) {
		close(g->fd);
		g->fd = -1;
	}
	return ret;
}

void mn_genl_close(struct mn_genl *g)
{
	if (g->fd >= 0)
		close(g->fd);
	g->fd = -1;
}

int mn_genl_join(struct mn_genl *g, uint32_t grp)
{
	if (setsockopt(g->fd, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &grp,
		       sizeof(grp)))
		return -errno;
	return 0;
}
