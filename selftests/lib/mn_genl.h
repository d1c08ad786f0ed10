/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Raw generic netlink helpers for the meshnet selftests (no libnl): open a
 * socket with NETLINK_EXT_ACK, resolve the family, build requests, receive
 * acks with errno and extack message, walk replies, parse attributes.
 */
#ifndef MN_GENL_H
#define MN_GENL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <linux/genetlink.h>
#include <linux/netlink.h>

#define MN_EXTACK_LEN 256

struct mn_genl {
	int fd;
	uint32_t portid;
	uint16_t family;
	uint32_t mcgrp;			/* id of the "meshnet" group */
	uint32_t seq;
	char extack[MN_EXTACK_LEN];	/* message of the last error ack */
	uint32_t extack_off;		/* NLMSGERR_ATTR_OFFS, 0 if none */
};

/* A request being built; grows as needed. */
struct mn_msg {
	struct nlmsghdr *nlh;
	size_t cap;
};

/* Opens a socket and resolves the meshnet family; 0 or -errno. */
int mn_genl_open(struct mn_genl *g);
/* Resolves any family by name (and one multicast group, may be NULL). */
int mn_genl_resolve(struct mn_genl *g, const char *name, const char *grp,
		    uint16_t *family, uint32_t *grp_id);
void mn_genl_close(struct mn_genl *g);
int mn_genl_join(struct mn_genl *g, uint32_t grp);

void mn_msg_init(struct mn_msg *m, uint16_t type, uint16_t flags, uint8_t cmd,
		 uint8_t version);
void mn_msg_free(struct mn_msg *m);
void mn_msg_put(struct mn_msg *m, uint16_t type, const void *data, size_t len);
void mn_msg_put_u8(struct mn_msg *m, uint16_t type, uint8_t v);
void mn_msg_put_u16(struct mn_msg *m, uint16_t type, uint16_t v);
void mn_msg_put_u32(struct mn_msg *m, uint16_t type, uint32_t v);
void mn_msg_put_u64(struct mn_msg *m, uint16_t type, uint64_t v);
void mn_msg_put_str(struct mn_msg *m, uint16_t type, const char *s);
void mn_msg_put_flag(struct mn_msg *m, uint16_t type);
/* Returns the offset of the nest, for mn_msg_nest_end(). */
size_t mn_msg_nest_start(struct mn_msg *m, uint16_t type);
void mn_msg_nest_end(struct mn_msg *m, size_t off);
static inline size_t mn_msg_len(const struct mn_msg *m)
{
	return m->nlh->nlmsg_len;
}

/* Called for every reply message (not acks); return non-zero to stop. */
typedef int (*mn_reply_cb)(const struct nlmsghdr *nlh, void *arg);

/*
 * Sends @m (NLM_F_ACK is added; NLM_F_DUMP requests end at NLMSG_DONE) and
 * reads until the ack. Returns 0 or the negative errno of the ack; on error
 * g->extack holds the extack message ("" if none).
 */
int mn_genl_transact(struct mn_genl *g, struct mn_msg *m, mn_reply_cb cb,
		     void *arg);
/* The two halves of mn_genl_transact(), for interleaving (e.g. a dump). */
int mn_genl_send(struct mn_genl *g, struct mn_msg *m);
/* Reads one datagram of the reply to @m: 1 when the ack/DONE came (*ret). */
int mn_genl_recv_reply(struct mn_genl *g, const struct mn_msg *m,
		       mn_reply_cb cb, void *arg, int *ret);
/* Waits up to @timeout_ms for one message; 1 if @cb ran, 0 on timeout. */
int mn_genl_recv_one(struct mn_genl *g, int timeout_ms, mn_reply_cb cb,
		     void *arg);

/* Attribute walking. tb[] gets the last attribute of each type <= max. */
void mn_attr_parse(const struct nlattr **tb, int max, const void *data,
		   size_t len);
void mn_attr_parse_nested(const struct nlattr **tb, int max,
			  const struct nlattr *nest);
void mn_attr_parse_genl(const struct nlattr **tb, int max,
			const struct nlmsghdr *nlh);
static inline const void *mn_attr_data(const struct nlattr *a)
{
	return (const char *)a + NLA_HDRLEN;
}

static inline size_t mn_attr_len(const struct nlattr *a)
{
	return a->nla_len - NLA_HDRLEN;
}

uint8_t mn_attr_u8(const struct nlattr *a);
uint16_t mn_attr_u16(const struct nlattr *a);
uint32_t mn_attr_u32(const struct nlattr *a);
uint64_t mn_attr_u64(const struct nlattr *a);
/* Number of nested attributes inside @nest. */
int mn_attr_count_nested(const struct nlattr *nest);

#define mn_attr_for_each_nested(pos, nest, rem)				\
	for (pos = (const struct nlattr *)mn_attr_data(nest),		\
	     rem = (int)mn_attr_len(nest);				\
	     rem >= (int)NLA_HDRLEN && pos->nla_len >= NLA_HDRLEN &&	\
	     pos->nla_len <= rem;					\
	     rem -= NLA_ALIGN(pos->nla_len),				\
	     pos = (const struct nlattr *)((const char *)pos +		\
					   NLA_ALIGN(pos->nla_len)))

#endif /* MN_GENL_H */
