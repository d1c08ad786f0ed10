// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/time_types.h>
#include <linux/wireguard.h>

#include <netlink/genl/ctrl.h>
#include <netlink/genl/genl.h>
#include <netlink/netlink.h>

#include <openssl/crypto.h>

#include "wg.h"

struct agent_wg {
	struct nl_sock *sk;
	int family;
	char ifname[IF_NAMESIZE];
	char error[256];
};

/* Room left for peers in one message: WireGuard's own tools split too. */
#define WG_MSG_BUDGET 16384

int agent_wg_open(struct agent_wg **out, const char *ifname, char *err, size_t errlen)
{
	struct agent_wg *wg = calloc(1, sizeof(*wg));
	int r;

	if (!wg) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	snprintf(wg->ifname, sizeof(wg->ifname), "%s", ifname);
	wg->sk = nl_socket_alloc();
	if (!wg->sk) {
		snprintf(err, errlen, "out of memory");
		free(wg);
		return -ENOMEM;
	}
	r = genl_connect(wg->sk);
	if (r < 0) {
		snprintf(err, errlen, "cannot open a generic netlink socket: %s", nl_geterror(r));
		goto err;
	}
	wg->family = genl_ctrl_resolve(wg->sk, WG_GENL_NAME);
	if (wg->family < 0) {
		r = wg->family;
		snprintf(err, errlen, "the wireguard module is not loaded (genl family %s: %s)",
			 WG_GENL_NAME, nl_geterror(r));
		goto err;
	}
	*out = wg;
	return 0;
err:
	nl_socket_free(wg->sk);
	free(wg);
	return r < 0 ? r : -EIO;
}

void agent_wg_close(struct agent_wg *wg)
{
	if (!wg)
		return;
	nl_socket_free(wg->sk);
	free(wg);
}

const char *agent_wg_error(const struct agent_wg *wg)
{
	return wg->error;
}

static struct nl_msg *new_msg(struct agent_wg *wg, uint8_t cmd, int flags)
{
	struct nl_msg *msg = nlmsg_alloc_size(WG_MSG_BUDGET + 4096);

	if (!msg)
		return NULL;
	if (!genlmsg_put(msg, NL_AUTO_PORT, NL_AUTO_SEQ, wg->family, 0, flags, cmd,
			 WG_GENL_VERSION) ||
	    nla_put_string(msg, WGDEVICE_A_IFNAME, wg->ifname)) {
		nlmsg_free(msg);
		return NULL;
	}
	return msg;
}

/* Sends msg, wipes it (it may hold a private key or PSKs), waits for the ack. */
static int send_and_ack(struct agent_wg *wg, struct nl_msg *msg, const char *what)
{
	struct nlmsghdr *hdr = nlmsg_hdr(msg);
	int r = nl_send_auto(wg->sk, msg);

	OPENSSL_cleanse(hdr, hdr->nlmsg_len);
	nlmsg_free(msg);
	if (r >= 0)
		r = nl_wait_for_ack(wg->sk);
	if (r < 0)
		snprintf(wg->error, sizeof(wg->error), "%s on %s: %s", what, wg->ifname,
			 nl_geterror(r));
	return r;
}

int agent_wg_set_device(struct agent_wg *wg, const uint8_t priv[32], uint16_t port)
{
	struct nl_msg *msg = new_msg(wg, WG_CMD_SET_DEVICE, NLM_F_REQUEST | NLM_F_ACK);

	if (!msg)
		return -ENOMEM;
	if (nla_put(msg, WGDEVICE_A_PRIVATE_KEY, 32, priv) ||
	    nla_put_u16(msg, WGDEVICE_A_LISTEN_PORT, port)) {
		nlmsg_free(msg);
		return -EMSGSIZE;
	}
	return send_and_ack(wg, msg, "set private key and port");
}

static int put_peer(struct nl_msg *msg, const struct agent_wg_peer *p)
{
	struct nlattr *peer, *ips;

	peer = nla_nest_start(msg, 0);
	if (!peer)
		return -1;
	if (nla_put(msg, WGPEER_A_PUBLIC_KEY, 32, p->public_key))
		return -1;
	if (p->remove) {
		if (nla_put_u32(msg, WGPEER_A_FLAGS, WGPEER_F_REMOVE_ME))
			return -1;
		nla_nest_end(msg, peer);
		return 0;
	}
	if (p->set_psk && nla_put(msg, WGPEER_A_PRESHARED_KEY, 32, p->psk))
		return -1;
	if (p->has_endpoint) {
		size_t len = p->endpoint.addr.sa_family == AF_INET6 ?
				     sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);

		if (nla_put(msg, WGPEER_A_ENDPOINT, (int)len, &p->endpoint))
			return -1;
	}
	if (p->keepalive >= 0 &&
	    nla_put_u16(msg, WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL, (uint16_t)p->keepalive))
		return -1;
	if (p->n_allowedips) {
		ips = nla_nest_start(msg, WGPEER_A_ALLOWEDIPS);
		if (!ips)
			return -1;
		for (size_t i = 0; i < p->n_allowedips; i++) {
			const struct meshnet_allowedip *a = &p->allowedips[i];
			struct nlattr *ip = nla_nest_start(msg, (int)i);

			if (!ip || nla_put_u16(msg, WGALLOWEDIP_A_FAMILY, a->family) ||
			    nla_put(msg, WGALLOWEDIP_A_IPADDR,
				    a->family == AF_INET6 ? 16 : 4,
				    a->family == AF_INET6 ? (const void *)&a->ip6 :
							    (const void *)&a->ip4) ||
			    nla_put_u8(msg, WGALLOWEDIP_A_CIDR_MASK, a->cidr))
				return -1;
			nla_nest_end(msg, ip);
		}
		nla_nest_end(msg, ips);
	}
	nla_nest_end(msg, peer);
	return 0;
}

int agent_wg_set_peers(struct agent_wg *wg, const struct agent_wg_peer *peers, size_t n)
{
	size_t i = 0;

	while (i < n) {
		struct nl_msg *msg = new_msg(wg, WG_CMD_SET_DEVICE, NLM_F_REQUEST | NLM_F_ACK);
		struct nlattr *list;
		int r;

		if (!msg)
			return -ENOMEM;
		list = nla_nest_start(msg, WGDEVICE_A_PEERS);
		if (!list) {
			nlmsg_free(msg);
			return -EMSGSIZE;
		}
		/* whole peers only, until the budget is used */
		while (i < n && nlmsg_datalen(nlmsg_hdr(msg)) < WG_MSG_BUDGET) {
			if (put_peer(msg, &peers[i])) {
				nlmsg_free(msg);
				snprintf(wg->error, sizeof(wg->error), "peer %zu does not fit a message", i);
				return -EMSGSIZE;
			}
			i++;
		}
		nla_nest_end(msg, list);
		r = send_and_ack(wg, msg, "set peers");
		if (r < 0)
			return r;
	}
	return 0;
}

struct dump_ctx {
	agent_wg_peer_fn fn;
	void *arg;
	int ret;
};

static int on_device(struct nl_msg *msg, void *arg)
{
	struct dump_ctx *ctx = arg;
	struct nlattr *tb[WGDEVICE_A_MAX + 1], *peer;
	int rem;

	if (nla_parse(tb, WGDEVICE_A_MAX, genlmsg_attrdata(nlmsg_data(nlmsg_hdr(msg)), 0),
		      genlmsg_attrlen(nlmsg_data(nlmsg_hdr(msg)), 0), NULL) < 0)
		return NL_SKIP;
	if (!tb[WGDEVICE_A_PEERS])
		return NL_OK;
	nla_for_each_nested(peer, tb[WGDEVICE_A_PEERS], rem) {
		struct nlattr *p[WGPEER_A_MAX + 1];
		struct agent_wg_peer_info info = { 0 };

		if (nla_parse_nested(p, WGPEER_A_MAX, peer, NULL) < 0 ||
		    !p[WGPEER_A_PUBLIC_KEY] || nla_len(p[WGPEER_A_PUBLIC_KEY]) != 32)
			continue;
		memcpy(info.public_key, nla_data(p[WGPEER_A_PUBLIC_KEY]), 32);
		if (p[WGPEER_A_PRESHARED_KEY] && nla_len(p[WGPEER_A_PRESHARED_KEY]) == 32) {
			static const uint8_t zero[32];

			info.has_psk = memcmp(nla_data(p[WGPEER_A_PRESHARED_KEY]), zero, 32) != 0;
			memcpy(info.psk, nla_data(p[WGPEER_A_PRESHARED_KEY]), 32);
			OPENSSL_cleanse(nla_data(p[WGPEER_A_PRESHARED_KEY]), 32);
		}
		if (p[WGPEER_A_LAST_HANDSHAKE_TIME] &&
		    nla_len(p[WGPEER_A_LAST_HANDSHAKE_TIME]) == sizeof(struct __kernel_timespec)) {
			struct __kernel_timespec ts;

			memcpy(&ts, nla_data(p[WGPEER_A_LAST_HANDSHAKE_TIME]), sizeof(ts));
			info.last_handshake = ts.tv_sec;
		}
		if (p[WGPEER_A_RX_BYTES])
			info.rx_bytes = nla_get_u64(p[WGPEER_A_RX_BYTES]);
		if (p[WGPEER_A_TX_BYTES])
			info.tx_bytes = nla_get_u64(p[WGPEER_A_TX_BYTES]);
		if (ctx->fn)
			ctx->ret = ctx->fn(&info, ctx->arg);
		OPENSSL_cleanse(info.psk, sizeof(info.psk));
		if (ctx->ret)
			return NL_STOP;
	}
	return NL_OK;
}

int agent_wg_dump_peers(struct agent_wg *wg, agent_wg_peer_fn fn, void *arg)
{
	struct nl_msg *msg = new_msg(wg, WG_CMD_GET_DEVICE, NLM_F_REQUEST | NLM_F_DUMP);
	struct dump_ctx ctx = { .fn = fn, .arg = arg };
	struct nl_cb *cb;
	int r;

	if (!msg)
		return -ENOMEM;
	r = nl_send_auto(wg->sk, msg);
	nlmsg_free(msg);
	if (r < 0)
		goto err;
	cb = nl_cb_alloc(NL_CB_DEFAULT);
	if (!cb)
		return -ENOMEM;
	nl_cb_set(cb, NL_CB_VALID, NL_CB_CUSTOM, on_device, &ctx);
	r = nl_recvmsgs(wg->sk, cb);
	nl_cb_put(cb);
	if (r < 0)
		goto err;
	return ctx.ret;
err:
	snprintf(wg->error, sizeof(wg->error), "dump of %s: %s", wg->ifname, nl_geterror(r));
	return r;
}
