// SPDX-License-Identifier: MIT
/*
 * Connection to the meshnet genl family: resolve, request/ACK loop with
 * extended-ack error messages, and the simple one-shot commands.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <linux/netlink.h>
#include <openssl/crypto.h>

#include "nl/internal.h"

#ifndef SOL_NETLINK
#define SOL_NETLINK 270
#endif

int meshnet_nl_fail(struct meshnet_nl *nl, int error, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(nl->error, sizeof(nl->error), fmt, ap);
	va_end(ap);
	return error;
}

static int libnl_to_errno(int nlerr)
{
	switch (-nlerr) {
	case NLE_NOMEM:
		return -ENOMEM;
	case NLE_PERM:
		return -EPERM;
	case NLE_OBJ_NOTFOUND:
		return -ENOENT;
	case NLE_AGAIN:
		return -EAGAIN;
	case NLE_INTR:
		return -EINTR;
	case NLE_MSGSIZE:
		return -EMSGSIZE;
	default:
		return -EIO;
	}
}

int meshnet_nl_open(struct meshnet_nl **out, char *err, size_t errlen)
{
	struct meshnet_nl *nl;
	int one = 1, ret;

	*out = NULL;
	nl = calloc(1, sizeof(*nl));
	if (!nl) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	nl->batch_bytes = MESHNET_NL_BATCH_BYTES;
	nl->mcgrp = -1;
	nl->sock = nl_socket_alloc();
	if (!nl->sock) {
		snprintf(err, errlen, "out of memory");
		ret = -ENOMEM;
		goto err_free;
	}
	ret = genl_connect(nl->sock);
	if (ret < 0) {
		snprintf(err, errlen, "cannot open a generic netlink socket: %s",
			 nl_geterror(ret));
		ret = libnl_to_errno(ret);
		goto err_sock;
	}
	/* the kernel's extack text is the best error message we can give */
	setsockopt(nl_socket_get_fd(nl->sock), SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof(one));
	setsockopt(nl_socket_get_fd(nl->sock), SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof(one));
	nl_socket_enable_msg_peek(nl->sock);
	nl->family = genl_ctrl_resolve(nl->sock, MESHNET_GENL_NAME);
	if (nl->family < 0) {
		if (nl->family == -NLE_OBJ_NOTFOUND) {
			snprintf(err, errlen,
				 "meshnet module not loaded (no generic netlink family \"%s\"; load meshnet.ko)",
				 MESHNET_GENL_NAME);
			ret = -ENOENT;
		} else {
			snprintf(err, errlen, "cannot resolve generic netlink family \"%s\": %s",
				 MESHNET_GENL_NAME, nl_geterror(nl->family));
			ret = libnl_to_errno(nl->family);
		}
		goto err_sock;
	}
	*out = nl;
	return 0;

err_sock:
	nl_socket_free(nl->sock);
err_free:
	free(nl);
	return ret;
}

void meshnet_nl_close(struct meshnet_nl *nl)
{
	if (!nl)
		return;
	nl_socket_free(nl->sock);
	free(nl);
}

const char *meshnet_nl_error(const struct meshnet_nl *nl)
{
	return nl->error;
}

int meshnet_nl_fd(const struct meshnet_nl *nl)
{
	return nl_socket_get_fd(nl->sock);
}

void meshnet_nl_set_batch_bytes(struct meshnet_nl *nl, size_t bytes)
{
	/* MESHNET_A_PEERS is one nest: its length is a u16 */
	if (bytes > MESHNET_NL_BATCH_MAX)
		bytes = MESHNET_NL_BATCH_MAX;
	nl->batch_bytes = bytes;
}

unsigned int meshnet_nl_last_batches(const struct meshnet_nl *nl)
{
	return nl->last_batches;
}

struct nl_msg *meshnet_nl_request(struct meshnet_nl *nl, uint8_t cmd, int flags, size_t size)
{
	struct nl_msg *msg = nlmsg_alloc_size(size ? size : 4096);

	if (!msg)
		return NULL;
	if (!genlmsg_put(msg, NL_AUTO_PORT, NL_AUTO_SEQ, nl->family, 0, flags, cmd,
			 MESHNET_GENL_VERSION)) {
		nlmsg_free(msg);
		return NULL;
	}
	return msg;
}

struct transaction {
	struct meshnet_nl *nl;
	meshnet_reply_fn fn;
	void *arg;
	int error;
	bool done;
};

static int on_valid(struct nl_msg *msg, void *arg)
{
	struct transaction *t = arg;
	int ret;

	if (!t->fn || t->error)
		return NL_SKIP;
	ret = t->fn(msg, t->arg);
	if (ret)
		t->error = ret;
	return NL_SKIP;
}

static int on_done(struct nl_msg *msg, void *arg)
{
	struct transaction *t = arg;

	(void)msg;
	t->done = true;
	return NL_STOP;
}

/* Reads NLMSGERR_ATTR_MSG out of the extended ACK, if there is one. */
static int on_error(struct sockaddr_nl *nla, struct nlmsgerr *e, void *arg)
{
	struct nlmsghdr *hdr = (struct nlmsghdr *)((char *)e - NLMSG_HDRLEN);
	struct nlattr *tb[NLMSGERR_ATTR_MAX + 1] = { NULL };
	struct transaction *t = arg;
	size_t hlen = sizeof(*e);
	const char *text = NULL;
	int err = e->error < 0 ? e->error : -EIO;

	(void)nla;
	t->done = true;
	if (hdr->nlmsg_flags & NLM_F_ACK_TLVS) {
		if (!(hdr->nlmsg_flags & NLM_F_CAPPED))
			hlen += e->msg.nlmsg_len - NLMSG_HDRLEN;
		hlen = NLMSG_ALIGN(hlen);
		if (NLMSG_HDRLEN + hlen < hdr->nlmsg_len &&
		    !nla_parse(tb, NLMSGERR_ATTR_MAX,
			       (struct nlattr *)((char *)e + hlen),
			       (int)(hdr->nlmsg_len - NLMSG_HDRLEN - hlen), NULL) &&
		    tb[NLMSGERR_ATTR_MSG] && nla_len(tb[NLMSGERR_ATTR_MSG]) > 0) {
			text = nla_data(tb[NLMSGERR_ATTR_MSG]);
			/* must be NUL-terminated within the attribute */
			if (text[nla_len(tb[NLMSGERR_ATTR_MSG]) - 1] != '\0')
				text = NULL;
		}
	}
	if (text)
		meshnet_nl_fail(t->nl, err, "%s (%s)", text, strerror(-err));
	else if (err == -EPERM)
		meshnet_nl_fail(t->nl, err, "%s (CAP_NET_ADMIN is needed)", strerror(-err));
	else
		meshnet_nl_fail(t->nl, err, "%s", strerror(-err));
	t->error = err;
	return NL_STOP;
}

void meshnet_nl_wipe_free(struct nl_msg *msg)
{
	OPENSSL_cleanse(nlmsg_hdr(msg), nlmsg_get_max_size(msg));
	nlmsg_free(msg);
}

int meshnet_nl_transact(struct meshnet_nl *nl, struct nl_msg *msg, meshnet_reply_fn fn,
			void *arg)
{
	struct transaction t = { .nl = nl, .fn = fn, .arg = arg };
	struct nl_cb *cb;
	int ret;

	nl->error[0] = '\0';
	cb = nl_cb_alloc(NL_CB_DEFAULT);
	if (!cb) {
		meshnet_nl_wipe_free(msg);
		return meshnet_nl_fail(nl, -ENOMEM, "out of memory");
	}
	nl_cb_set(cb, NL_CB_VALID, NL_CB_CUSTOM, on_valid, &t);
	nl_cb_set(cb, NL_CB_FINISH, NL_CB_CUSTOM, on_done, &t);
	nl_cb_set(cb, NL_CB_ACK, NL_CB_CUSTOM, on_done, &t);
	nl_cb_err(cb, NL_CB_CUSTOM, on_error, &t);

	ret = nl_send_auto(nl->sock, msg);
	meshnet_nl_wipe_free(msg);
	if (ret < 0) {
		nl_cb_put(cb);
		return meshnet_nl_fail(nl, libnl_to_errno(ret), "cannot send to the kernel: %s",
				       nl_geterror(ret));
	}
	while (!t.done) {
		ret = nl_recvmsgs(nl->sock, cb);
		if (ret < 0 && !t.done) {
			nl_cb_put(cb);
			return meshnet_nl_fail(nl, libnl_to_errno(ret),
					       "cannot receive from the kernel: %s",
					       nl_geterror(ret));
		}
	}
	nl_cb_put(cb);
	if (t.error && !nl->error[0])
		meshnet_nl_fail(nl, t.error, "%s", strerror(-t.error));
	return t.error;
}

static int put_ifname(struct meshnet_nl *nl, struct nl_msg *msg, const char *ifname)
{
	if (!ifname || !*ifname || strlen(ifname) >= IF_NAMESIZE)
		return meshnet_nl_fail(nl, -EINVAL, "bad device name '%s'",
				       ifname ? ifname : "");
	if (nla_put_string(msg, MESHNET_A_IFNAME, ifname) < 0)
		return meshnet_nl_fail(nl, -ENOMEM, "out of memory");
	return 0;
}

static int device_command(struct meshnet_nl *nl, uint8_t cmd, const char *ifname)
{
	struct nl_msg *msg = meshnet_nl_request(nl, cmd, 0, 0);
	int ret;

	if (!msg)
		return meshnet_nl_fail(nl, -ENOMEM, "out of memory");
	ret = put_ifname(nl, msg, ifname);
	if (ret) {
		nlmsg_free(msg);
		return ret;
	}
	return meshnet_nl_transact(nl, msg, NULL, NULL);
}

int meshnet_nl_attach(struct meshnet_nl *nl, const char *ifname)
{
	return device_command(nl, MESHNET_CMD_ATTACH, ifname);
}

int meshnet_nl_detach(struct meshnet_nl *nl, const char *ifname)
{
	return device_command(nl, MESHNET_CMD_DETACH, ifname);
}

int meshnet_nl_set_policy(struct meshnet_nl *nl, const struct meshnet_policy *policy)
{
	struct nl_msg *msg = meshnet_nl_request(nl, MESHNET_CMD_SET_POLICY, 0, 0);
	int ret = 0;

	if (!msg)
		return meshnet_nl_fail(nl, -ENOMEM, "out of memory");
	if (policy->mask & MESHNET_POLICY_UNKNOWN)
		ret |= nla_put_u8(msg, MESHNET_A_POLICY_UNKNOWN, policy->unknown);
	if (policy->mask & MESHNET_POLICY_FAIL_CLOSED)
		ret |= nla_put_u8(msg, MESHNET_A_POLICY_FAIL_CLOSED, policy->fail_closed);
	if (policy->mask & MESHNET_POLICY_GRACE)
		ret |= nla_put_u32(msg, MESHNET_A_POLICY_GRACE, policy->grace);
	if (policy->mask & MESHNET_POLICY_ENDPOINT_DROP)
		ret |= nla_put_u8(msg, MESHNET_A_POLICY_ENDPOINT_DROP, policy->endpoint_drop);
	if (ret) {
		nlmsg_free(msg);
		return meshnet_nl_fail(nl, -ENOMEM, "out of memory");
	}
	return meshnet_nl_transact(nl, msg, NULL, NULL);
}

int meshnet_nl_set_self(struct meshnet_nl *nl, uint8_t verdict, const char *reason)
{
	struct nl_msg *msg = meshnet_nl_request(nl, MESHNET_CMD_SET_SELF, 0, 0);
	int ret;

	if (!msg)
		return meshnet_nl_fail(nl, -ENOMEM, "out of memory");
	ret = nla_put_u8(msg, MESHNET_A_SELF_VERDICT, verdict);
	if (!ret && reason)
		ret = nla_put_string(msg, MESHNET_A_SELF_REASON, reason);
	if (ret) {
		nlmsg_free(msg);
		return meshnet_nl_fail(nl, -ENOMEM, "out of memory");
	}
	return meshnet_nl_transact(nl, msg, NULL, NULL);
}

static int parse_state(struct nl_msg *msg, void *arg)
{
	struct nlattr *tb[MESHNET_A_MAX + 1], *pos;
	struct meshnet_state *st = arg;
	int rem;

	if (genlmsg_parse(nlmsg_hdr(msg), 0, tb, MESHNET_A_MAX, NULL) < 0)
		return -EBADMSG;
	if (tb[MESHNET_A_EPOCH_ID])
		st->epoch_id = nla_get_u64(tb[MESHNET_A_EPOCH_ID]);
	if (tb[MESHNET_A_EPOCH_EXPIRY])
		st->epoch_expiry = nla_get_u64(tb[MESHNET_A_EPOCH_EXPIRY]);
	if (tb[MESHNET_A_REVISION])
		st->revision = nla_get_u64(tb[MESHNET_A_REVISION]);
	if (tb[MESHNET_A_VALID_UNTIL])
		st->valid_until = nla_get_u64(tb[MESHNET_A_VALID_UNTIL]);
	if (tb[MESHNET_A_EXPIRED])
		st->expired = nla_get_u8(tb[MESHNET_A_EXPIRED]);
	if (tb[MESHNET_A_SELF_VERDICT])
		st->self_verdict = nla_get_u8(tb[MESHNET_A_SELF_VERDICT]);
	if (tb[MESHNET_A_SELF_REASON])
		nla_strlcpy(st->self_reason, tb[MESHNET_A_SELF_REASON], sizeof(st->self_reason));
	if (tb[MESHNET_A_POLICY_UNKNOWN]) {
		st->policy.unknown = nla_get_u8(tb[MESHNET_A_POLICY_UNKNOWN]);
		st->policy.mask |= MESHNET_POLICY_UNKNOWN;
	}
	if (tb[MESHNET_A_POLICY_FAIL_CLOSED]) {
		st->policy.fail_closed = nla_get_u8(tb[MESHNET_A_POLICY_FAIL_CLOSED]);
		st->policy.mask |= MESHNET_POLICY_FAIL_CLOSED;
	}
	if (tb[MESHNET_A_POLICY_GRACE]) {
		st->policy.grace = nla_get_u32(tb[MESHNET_A_POLICY_GRACE]);
		st->policy.mask |= MESHNET_POLICY_GRACE;
	}
	if (tb[MESHNET_A_POLICY_ENDPOINT_DROP]) {
		st->policy.endpoint_drop = nla_get_u8(tb[MESHNET_A_POLICY_ENDPOINT_DROP]);
		st->policy.mask |= MESHNET_POLICY_ENDPOINT_DROP;
	}
	if (tb[MESHNET_A_PEER_COUNT])
		st->peer_count = nla_get_u32(tb[MESHNET_A_PEER_COUNT]);
	if (tb[MESHNET_A_TXN_EPOCH_ID]) {
		st->txn_open = true;
		st->txn_epoch_id = nla_get_u64(tb[MESHNET_A_TXN_EPOCH_ID]);
	}
	if (tb[MESHNET_A_TXN_PEER_COUNT])
		st->txn_peer_count = nla_get_u32(tb[MESHNET_A_TXN_PEER_COUNT]);
	if (tb[MESHNET_A_DEVICES]) {
		nla_for_each_nested(pos, tb[MESHNET_A_DEVICES], rem) {
			struct nlattr *dev[MESHNET_DEVICE_A_MAX + 1];
			struct meshnet_device *d;

			if (st->n_devices >= MESHNET_MAX_DEVICES)
				break;
			if (nla_parse_nested(dev, MESHNET_DEVICE_A_MAX, pos, NULL) < 0)
				return -EBADMSG;
			d = &st->devices[st->n_devices++];
			if (dev[MESHNET_DEVICE_A_IFINDEX])
				d->ifindex = nla_get_u32(dev[MESHNET_DEVICE_A_IFINDEX]);
			if (dev[MESHNET_DEVICE_A_IFNAME])
				nla_strlcpy(d->ifname, dev[MESHNET_DEVICE_A_IFNAME],
					    sizeof(d->ifname));
		}
	}
	if (tb[MESHNET_A_COUNTERS])
		return meshnet_nl_parse_counters(tb[MESHNET_A_COUNTERS], &st->counters);
	return 0;
}

int meshnet_nl_get_state(struct meshnet_nl *nl, struct meshnet_state *state)
{
	struct nl_msg *msg = meshnet_nl_request(nl, MESHNET_CMD_GET_STATE, 0, 0);

	memset(state, 0, sizeof(*state));
	if (!msg)
		return meshnet_nl_fail(nl, -ENOMEM, "out of memory");
	return meshnet_nl_transact(nl, msg, parse_state, state);
}

int meshnet_nl_reset_counters(struct meshnet_nl *nl, const uint8_t *key)
{
	struct nl_msg *msg = meshnet_nl_request(nl, MESHNET_CMD_RESET_COUNTERS, 0, 0);
	struct nlattr *nest;

	if (!msg)
		return meshnet_nl_fail(nl, -ENOMEM, "out of memory");
	if (key) {
		nest = nla_nest_start(msg, MESHNET_A_PEER);
		if (!nest || nla_put(msg, MESHNET_PEER_A_PUBLIC_KEY, MESHNET_KEY_LEN, key) < 0) {
			nlmsg_free(msg);
			return meshnet_nl_fail(nl, -ENOMEM, "out of memory");
		}
		nla_nest_end(msg, nest);
	}
	return meshnet_nl_transact(nl, msg, NULL, NULL);
}
