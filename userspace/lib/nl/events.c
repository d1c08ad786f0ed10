// SPDX-License-Identifier: MIT
/*
 * Multicast notifications of the meshnet group: VERDICT_NOTIFY,
 * EPOCH_NOTIFY, EXPIRED_NOTIFY.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "nl/internal.h"

int meshnet_nl_subscribe(struct meshnet_nl *nl)
{
	int ret;

	nl->mcgrp = genl_ctrl_resolve_grp(nl->sock, MESHNET_GENL_NAME, MESHNET_MCGRP_NAME);
	if (nl->mcgrp < 0)
		return meshnet_nl_fail(nl, -ENOENT, "no multicast group \"%s\": %s",
				       MESHNET_MCGRP_NAME, nl_geterror(nl->mcgrp));
	/* events are not replies to our requests */
	nl_socket_disable_seq_check(nl->sock);
	ret = nl_socket_add_membership(nl->sock, nl->mcgrp);
	if (ret < 0)
		return meshnet_nl_fail(nl, -EIO, "cannot join multicast group \"%s\": %s",
				       MESHNET_MCGRP_NAME, nl_geterror(ret));
	return 0;
}

struct event_ctx {
	meshnet_event_fn fn;
	void *arg;
	int ret;
	struct meshnet_event event;
};

static int on_event(struct nl_msg *msg, void *arg)
{
	struct nlattr *tb[MESHNET_A_MAX + 1];
	struct event_ctx *ctx = arg;
	struct meshnet_event *ev = &ctx->event;
	struct genlmsghdr *gh = genlmsg_hdr(nlmsg_hdr(msg));

	memset(ev, 0, sizeof(*ev));
	if (gh->cmd != MESHNET_CMD_VERDICT_NOTIFY && gh->cmd != MESHNET_CMD_EPOCH_NOTIFY &&
	    gh->cmd != MESHNET_CMD_EXPIRED_NOTIFY)
		return NL_SKIP;
	if (genlmsg_parse(nlmsg_hdr(msg), 0, tb, MESHNET_A_MAX, NULL) < 0)
		return NL_SKIP;
	ev->cmd = gh->cmd;
	if (tb[MESHNET_A_EPOCH_ID])
		ev->epoch_id = nla_get_u64(tb[MESHNET_A_EPOCH_ID]);
	if (tb[MESHNET_A_REVISION])
		ev->revision = nla_get_u64(tb[MESHNET_A_REVISION]);
	if (tb[MESHNET_A_EPOCH_EXPIRY])
		ev->epoch_expiry = nla_get_u64(tb[MESHNET_A_EPOCH_EXPIRY]);
	if (tb[MESHNET_A_EXPIRED])
		ev->expired = nla_get_u8(tb[MESHNET_A_EXPIRED]);
	if (tb[MESHNET_A_PEER_COUNT])
		ev->peer_count = nla_get_u32(tb[MESHNET_A_PEER_COUNT]);
	if (tb[MESHNET_A_SELF_VERDICT]) {
		ev->is_self = true;
		ev->self_verdict = nla_get_u8(tb[MESHNET_A_SELF_VERDICT]);
	}
	if (tb[MESHNET_A_SELF_REASON])
		nla_strlcpy(ev->self_reason, tb[MESHNET_A_SELF_REASON], sizeof(ev->self_reason));
	if (tb[MESHNET_A_PEER] && !meshnet_nl_parse_peer(tb[MESHNET_A_PEER], &ev->peer))
		ev->has_peer = true;
	ctx->ret = ctx->fn(ev, ctx->arg);
	return ctx->ret ? NL_STOP : NL_OK;
}

/* events carry sequence number 0: accept them */
static int no_seq_check(struct nl_msg *msg, void *arg)
{
	(void)msg;
	(void)arg;
	return NL_OK;
}

int meshnet_nl_recv_events(struct meshnet_nl *nl, meshnet_event_fn fn, void *arg)
{
	struct event_ctx *ctx;
	struct nl_cb *cb;
	int ret;

	ctx = calloc(1, sizeof(*ctx));
	cb = nl_cb_alloc(NL_CB_DEFAULT);
	if (!ctx || !cb) {
		free(ctx);
		if (cb)
			nl_cb_put(cb);
		return meshnet_nl_fail(nl, -ENOMEM, "out of memory");
	}
	ctx->fn = fn;
	ctx->arg = arg;
	nl_cb_set(cb, NL_CB_SEQ_CHECK, NL_CB_CUSTOM, no_seq_check, NULL);
	nl_cb_set(cb, NL_CB_VALID, NL_CB_CUSTOM, on_event, ctx);
	ret = nl_recvmsgs(nl->sock, cb);
	nl_cb_put(cb);
	if (ctx->ret) {
		ret = ctx->ret;
	} else if (ret < 0) {
		if (ret == -NLE_NOMEM)
			ret = meshnet_nl_fail(nl, -ENOBUFS, "events were lost (receive buffer overrun)");
		else
			ret = meshnet_nl_fail(nl, -EIO, "cannot receive events: %s",
					      nl_geterror(ret));
	} else {
		ret = 0;
	}
	free(ctx);
	return ret;
}
