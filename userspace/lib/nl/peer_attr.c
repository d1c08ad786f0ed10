// SPDX-License-Identifier: MIT
/*
 * MESHNET_PEER_A_* attributes: building a peer into a message, parsing one
 * out of a reply, and the peer commands (GET_PEERS dump, SET_PEER, DEL_PEER).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "nl/internal.h"

static int put_allowedips(struct nl_msg *msg, const struct meshnet_peer *peer)
{
	struct nlattr *list, *item;
	size_t i;

	list = nla_nest_start(msg, MESHNET_PEER_A_ALLOWEDIPS);
	if (!list)
		return -EMSGSIZE;
	for (i = 0; i < peer->n_allowedips; i++) {
		const struct meshnet_allowedip *ip = &peer->allowedips[i];

		item = nla_nest_start(msg, (int)i);
		if (!item ||
		    nla_put_u16(msg, MESHNET_ALLOWEDIP_A_FAMILY, ip->family) < 0 ||
		    nla_put(msg, MESHNET_ALLOWEDIP_A_IPADDR,
			    ip->family == AF_INET ? sizeof(ip->ip4) : sizeof(ip->ip6),
			    ip->family == AF_INET ? (const void *)&ip->ip4 :
			    (const void *)&ip->ip6) < 0 ||
		    nla_put_u8(msg, MESHNET_ALLOWEDIP_A_CIDR_MASK, ip->cidr) < 0)
			return -EMSGSIZE;
		nla_nest_end(msg, item);
	}
	nla_nest_end(msg, list);
	return 0;
}

/* Returns -EMSGSIZE when the message is full (the caller may cancel the nest). */
int meshnet_nl_put_peer(struct nl_msg *msg, int attrtype, const struct meshnet_peer *peer)
{
	struct nlattr *nest = nla_nest_start(msg, attrtype);

	if (!nest)
		return -EMSGSIZE;
	if (nla_put(msg, MESHNET_PEER_A_PUBLIC_KEY, MESHNET_KEY_LEN, peer->public_key) < 0 ||
	    nla_put_u8(msg, MESHNET_PEER_A_VERDICT, peer->verdict) < 0)
		goto err_cancel;
	if ((peer->flags & MESHNET_PEER_HAS_NAME) &&
	    nla_put_string(msg, MESHNET_PEER_A_NAME, peer->name) < 0)
		goto err_cancel;
	if ((peer->flags & MESHNET_PEER_HAS_REASON) &&
	    nla_put_string(msg, MESHNET_PEER_A_REASON, peer->reason) < 0)
		goto err_cancel;
	if (peer->flags & MESHNET_PEER_HAS_ENDPOINT) {
		size_t len = peer->endpoint.addr.sa_family == AF_INET ?
			     sizeof(peer->endpoint.addr4) : sizeof(peer->endpoint.addr6);

		if (nla_put(msg, MESHNET_PEER_A_ENDPOINT, (int)len, &peer->endpoint) < 0)
			goto err_cancel;
	}
	if ((peer->flags & MESHNET_PEER_HAS_PSK) &&
	    nla_put(msg, MESHNET_PEER_A_PRESHARED_KEY, MESHNET_KEY_LEN, peer->psk) < 0)
		goto err_cancel;
	if ((peer->flags & MESHNET_PEER_HAS_ALLOWEDIPS) && put_allowedips(msg, peer) < 0)
		goto err_cancel;
	nla_nest_end(msg, nest);
	return 0;

err_cancel:
	nla_nest_cancel(msg, nest);
	return -EMSGSIZE;
}

int meshnet_nl_parse_counters(struct nlattr *attr, struct meshnet_counters *c)
{
	struct nlattr *tb[MESHNET_COUNTER_A_MAX + 1];
	uint64_t *fields[MESHNET_COUNTER_A_MAX + 1] = {
		[MESHNET_COUNTER_A_RX_PACKETS] = &c->rx_packets,
		[MESHNET_COUNTER_A_RX_BYTES] = &c->rx_bytes,
		[MESHNET_COUNTER_A_TX_PACKETS] = &c->tx_packets,
		[MESHNET_COUNTER_A_TX_BYTES] = &c->tx_bytes,
		[MESHNET_COUNTER_A_RX_DROP_PACKETS] = &c->rx_drop_packets,
		[MESHNET_COUNTER_A_RX_DROP_BYTES] = &c->rx_drop_bytes,
		[MESHNET_COUNTER_A_TX_DROP_PACKETS] = &c->tx_drop_packets,
		[MESHNET_COUNTER_A_TX_DROP_BYTES] = &c->tx_drop_bytes,
		[MESHNET_COUNTER_A_ENDPOINT_DROP_PACKETS] = &c->endpoint_drop_packets,
	};
	int i;

	if (nla_parse_nested(tb, MESHNET_COUNTER_A_MAX, attr, NULL) < 0)
		return -EBADMSG;
	for (i = 0; i <= MESHNET_COUNTER_A_MAX; i++) {
		if (!fields[i] || !tb[i])
			continue;
		if (nla_len(tb[i]) != sizeof(uint64_t))
			return -EBADMSG;
		*fields[i] = nla_get_u64(tb[i]);
	}
	return 0;
}

static int parse_allowedip(struct nlattr *attr, struct meshnet_allowedip *ip)
{
	struct nlattr *tb[MESHNET_ALLOWEDIP_A_MAX + 1];

	memset(ip, 0, sizeof(*ip));
	if (nla_parse_nested(tb, MESHNET_ALLOWEDIP_A_MAX, attr, NULL) < 0 ||
	    !tb[MESHNET_ALLOWEDIP_A_FAMILY] || !tb[MESHNET_ALLOWEDIP_A_IPADDR] ||
	    !tb[MESHNET_ALLOWEDIP_A_CIDR_MASK])
		return -EBADMSG;
	ip->family = nla_get_u16(tb[MESHNET_ALLOWEDIP_A_FAMILY]);
	ip->cidr = nla_get_u8(tb[MESHNET_ALLOWEDIP_A_CIDR_MASK]);
	if (ip->family == AF_INET && nla_len(tb[MESHNET_ALLOWEDIP_A_IPADDR]) == sizeof(ip->ip4))
		memcpy(&ip->ip4, nla_data(tb[MESHNET_ALLOWEDIP_A_IPADDR]), sizeof(ip->ip4));
	else if (ip->family == AF_INET6 &&
		 nla_len(tb[MESHNET_ALLOWEDIP_A_IPADDR]) == sizeof(ip->ip6))
		memcpy(&ip->ip6, nla_data(tb[MESHNET_ALLOWEDIP_A_IPADDR]), sizeof(ip->ip6));
	else
		return -EBADMSG;
	return 0;
}

int meshnet_nl_parse_peer(struct nlattr *attr, struct meshnet_peer *peer)
{
	struct nlattr *tb[MESHNET_PEER_A_MAX + 1], *pos;
	int rem, ret;

	memset(peer, 0, sizeof(*peer));
	if (nla_parse_nested(tb, MESHNET_PEER_A_MAX, attr, NULL) < 0)
		return -EBADMSG;
	if (!tb[MESHNET_PEER_A_PUBLIC_KEY] ||
	    nla_len(tb[MESHNET_PEER_A_PUBLIC_KEY]) != MESHNET_KEY_LEN)
		return -EBADMSG;
	memcpy(peer->public_key, nla_data(tb[MESHNET_PEER_A_PUBLIC_KEY]), MESHNET_KEY_LEN);
	if (tb[MESHNET_PEER_A_VERDICT])
		peer->verdict = nla_get_u8(tb[MESHNET_PEER_A_VERDICT]);
	if (tb[MESHNET_PEER_A_NAME]) {
		nla_strlcpy(peer->name, tb[MESHNET_PEER_A_NAME], sizeof(peer->name));
		peer->flags |= MESHNET_PEER_HAS_NAME;
	}
	if (tb[MESHNET_PEER_A_REASON]) {
		nla_strlcpy(peer->reason, tb[MESHNET_PEER_A_REASON], sizeof(peer->reason));
		peer->flags |= MESHNET_PEER_HAS_REASON;
	}
	if (tb[MESHNET_PEER_A_EPOCH])
		peer->epoch = nla_get_u64(tb[MESHNET_PEER_A_EPOCH]);
	if (tb[MESHNET_PEER_A_ENDPOINT]) {
		int len = nla_len(tb[MESHNET_PEER_A_ENDPOINT]);
		const struct sockaddr *sa = nla_data(tb[MESHNET_PEER_A_ENDPOINT]);

		if ((len == sizeof(peer->endpoint.addr4) && sa->sa_family == AF_INET) ||
		    (len == sizeof(peer->endpoint.addr6) && sa->sa_family == AF_INET6)) {
			memcpy(&peer->endpoint, sa, (size_t)len);
			peer->flags |= MESHNET_PEER_HAS_ENDPOINT;
		}
	}
	if (tb[MESHNET_PEER_A_HAS_PSK])
		peer->flags |= MESHNET_PEER_PSK_SET;
	if (tb[MESHNET_PEER_A_PRESHARED_KEY] &&
	    nla_len(tb[MESHNET_PEER_A_PRESHARED_KEY]) == MESHNET_KEY_LEN) {
		memcpy(peer->psk, nla_data(tb[MESHNET_PEER_A_PRESHARED_KEY]), MESHNET_KEY_LEN);
		peer->flags |= MESHNET_PEER_HAS_PSK | MESHNET_PEER_PSK_SET;
	}
	if (tb[MESHNET_PEER_A_ALLOWEDIPS]) {
		peer->flags |= MESHNET_PEER_HAS_ALLOWEDIPS;
		nla_for_each_nested(pos, tb[MESHNET_PEER_A_ALLOWEDIPS], rem) {
			if (peer->n_allowedips >= MESHNET_MAX_ALLOWEDIPS)
				return -EBADMSG;
			ret = parse_allowedip(pos, &peer->allowedips[peer->n_allowedips]);
			if (ret)
				return ret;
			peer->n_allowedips++;
		}
	}
	if (tb[MESHNET_PEER_A_COUNTERS]) {
		ret = meshnet_nl_parse_counters(tb[MESHNET_PEER_A_COUNTERS], &peer->counters);
		if (ret)
			return ret;
		peer->flags |= MESHNET_PEER_HAS_COUNTERS;
	}
	return 0;
}

struct dump_ctx {
	meshnet_peer_fn fn;
	void *arg;
	struct meshnet_peer peer;
};

static int parse_dump(struct nl_msg *msg, void *arg)
{
	struct nlattr *tb[MESHNET_A_MAX + 1], *pos;
	struct dump_ctx *ctx = arg;
	int rem, ret;

	if (genlmsg_parse(nlmsg_hdr(msg), 0, tb, MESHNET_A_MAX, NULL) < 0)
		return -EBADMSG;
	if (!tb[MESHNET_A_PEERS])
		return 0;
	nla_for_each_nested(pos, tb[MESHNET_A_PEERS], rem) {
		ret = meshnet_nl_parse_peer(pos, &ctx->peer);
		if (!ret)
			ret = ctx->fn(&ctx->peer, ctx->arg);
		OPENSSL_cleanse(ctx->peer.psk, sizeof(ctx->peer.psk));
		if (ret)
			return ret;
	}
	return 0;
}

int meshnet_nl_dump_peers(struct meshnet_nl *nl, bool show_psk, meshnet_peer_fn fn, void *arg)
{
	struct nl_msg *msg = meshnet_nl_request(nl, MESHNET_CMD_GET_PEERS, NLM_F_DUMP, 0);
	struct dump_ctx *ctx;
	int ret;

	if (!msg)
		return meshnet_nl_fail(nl, -ENOMEM, "out of memory");
	if (show_psk && nla_put_flag(msg, MESHNET_A_SHOW_PSK) < 0) {
		nlmsg_free(msg);
		return meshnet_nl_fail(nl, -ENOMEM, "out of memory");
	}
	ctx = calloc(1, sizeof(*ctx));
	if (!ctx) {
		nlmsg_free(msg);
		return meshnet_nl_fail(nl, -ENOMEM, "out of memory");
	}
	ctx->fn = fn;
	ctx->arg = arg;
	ret = meshnet_nl_transact(nl, msg, parse_dump, ctx);
	if (ret == -EBADMSG && !nl->error[0])
		meshnet_nl_fail(nl, ret, "malformed peer in the kernel's reply");
	free(ctx);
	return ret;
}

int meshnet_nl_set_peer(struct meshnet_nl *nl, const struct meshnet_peer *peer)
{
	struct nl_msg *msg = meshnet_nl_request(nl, MESHNET_CMD_SET_PEER, 0, 16384);

	if (!msg)
		return meshnet_nl_fail(nl, -ENOMEM, "out of memory");
	if (meshnet_nl_put_peer(msg, MESHNET_A_PEER, peer) < 0) {
		meshnet_nl_wipe_free(msg);
		return meshnet_nl_fail(nl, -EMSGSIZE, "peer does not fit in one message");
	}
	return meshnet_nl_transact(nl, msg, NULL, NULL);
}

int meshnet_nl_del_peer(struct meshnet_nl *nl, const uint8_t key[MESHNET_KEY_LEN])
{
	struct nl_msg *msg = meshnet_nl_request(nl, MESHNET_CMD_DEL_PEER, 0, 0);
	struct nlattr *nest;

	if (!msg)
		return meshnet_nl_fail(nl, -ENOMEM, "out of memory");
	nest = nla_nest_start(msg, MESHNET_A_PEER);
	if (!nest || nla_put(msg, MESHNET_PEER_A_PUBLIC_KEY, MESHNET_KEY_LEN, key) < 0) {
		nlmsg_free(msg);
		return meshnet_nl_fail(nl, -ENOMEM, "out of memory");
	}
	nla_nest_end(msg, nest);
	return meshnet_nl_transact(nl, msg, NULL, NULL);
}
