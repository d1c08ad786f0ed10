// SPDX-License-Identifier: MIT
/*
 * MESHNET_CMD_APPLY_DELTA: k peer changes in one request, applied by the
 * module atomically in O(k). Each list may be split over several nests of
 * the same attribute type (a nest's length is a u16); the message itself
 * may be larger.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "nl/internal.h"

/* Nest budget: a nest's nla_len is a u16. */
#define NEST_BUDGET 60000

typedef int (*put_fn)(struct nl_msg *msg, int idx, const void *item);

static int put_upsert(struct nl_msg *msg, int idx, const void *item)
{
	return meshnet_nl_put_peer(msg, idx, item);
}

static int put_verdict(struct nl_msg *msg, int idx, const void *item)
{
	const struct meshnet_peer *p = item;
	struct nlattr *nest = nla_nest_start(msg, idx);

	if (!nest)
		return -EMSGSIZE;
	if (nla_put(msg, MESHNET_PEER_A_PUBLIC_KEY, MESHNET_KEY_LEN, p->public_key) < 0 ||
	    nla_put_u8(msg, MESHNET_PEER_A_VERDICT, p->verdict) < 0 ||
	    ((p->flags & MESHNET_PEER_HAS_REASON) && p->reason[0] &&
	     nla_put_string(msg, MESHNET_PEER_A_REASON, p->reason) < 0)) {
		nla_nest_cancel(msg, nest);
		return -EMSGSIZE;
	}
	nla_nest_end(msg, nest);
	return 0;
}

static int put_remove(struct nl_msg *msg, int idx, const void *item)
{
	struct nlattr *nest = nla_nest_start(msg, idx);

	if (!nest)
		return -EMSGSIZE;
	if (nla_put(msg, MESHNET_PEER_A_PUBLIC_KEY, MESHNET_KEY_LEN, item) < 0) {
		nla_nest_cancel(msg, nest);
		return -EMSGSIZE;
	}
	nla_nest_end(msg, nest);
	return 0;
}

/* Puts @n items as one or more @attrtype nests of at most NEST_BUDGET bytes. */
static int put_list(struct nl_msg *msg, int attrtype, const void *items, size_t size,
		    size_t n, put_fn put)
{
	size_t i = 0;

	while (i < n) {
		struct nlattr *nest = nla_nest_start(msg, attrtype);
		size_t start = i;
		char *base;

		if (!nest)
			return -EMSGSIZE;
		base = (char *)nest;
		for (; i < n; i++) {
			char *mark = (char *)nlmsg_tail(nlmsg_hdr(msg));

			if (put(msg, (int)(i - start), (const char *)items + i * size) < 0)
				return -EMSGSIZE;
			if ((char *)nlmsg_tail(nlmsg_hdr(msg)) - base > NEST_BUDGET) {
				/* does not fit this nest: trim it, start the next one */
				nlmsg_hdr(msg)->nlmsg_len -=
					(uint32_t)((char *)nlmsg_tail(nlmsg_hdr(msg)) - mark);
				if (i == start)
					return -EMSGSIZE;
				break;
			}
		}
		nla_nest_end(msg, nest);
	}
	return 0;
}

/*
 * An upper bound of the message size of @d (netlink-aligned attributes:
 * key 36, verdict 8, reason 132, name 68, endpoint 32, PSK 36, nests 4 each,
 * a prefix 40), so that a small delta gets a small buffer: the buffer is
 * wiped when freed, and one of MESHNET_NL_DELTA_MAX_BYTES would be paged in
 * and wiped for a single flip.
 */
static size_t delta_size(const struct meshnet_delta *d)
{
	size_t n = 1024, i;

	n += d->n_removes * 40 + d->n_verdicts * 180;
	for (i = 0; i < d->n_upserts && n < MESHNET_NL_DELTA_MAX_BYTES; i++)
		n += 420 + d->upserts[i].n_allowedips * 40;
	/* each list may be split over nests: one header per NEST_BUDGET */
	n += 3 * 4 * (n / NEST_BUDGET + 1);
	return n < MESHNET_NL_DELTA_MAX_BYTES ? n : MESHNET_NL_DELTA_MAX_BYTES;
}

int meshnet_nl_apply_delta(struct meshnet_nl *nl, const struct meshnet_delta *d)
{
	struct nl_msg *msg;
	int ret = 0;

	if (!d->revision)
		return meshnet_nl_fail(nl, -EINVAL, "a delta needs a revision (non-zero)");
	msg = meshnet_nl_request(nl, MESHNET_CMD_APPLY_DELTA, 0, delta_size(d));
	if (!msg)
		return meshnet_nl_fail(nl, -ENOMEM, "out of memory");
	if (nla_put_u64(msg, MESHNET_A_REVISION, d->revision) < 0 ||
	    (d->epoch_id && nla_put_u64(msg, MESHNET_A_EPOCH_ID, d->epoch_id) < 0) ||
	    (d->valid_until && nla_put_u64(msg, MESHNET_A_VALID_UNTIL, d->valid_until) < 0) ||
	    (d->force && nla_put_flag(msg, MESHNET_A_EPOCH_FORCE) < 0) ||
	    (d->self_verdict != MESHNET_VERDICT_UNSPEC &&
	     nla_put_u8(msg, MESHNET_A_SELF_VERDICT, d->self_verdict) < 0) ||
	    (d->self_verdict != MESHNET_VERDICT_UNSPEC && d->self_reason[0] &&
	     nla_put_string(msg, MESHNET_A_SELF_REASON, d->self_reason) < 0))
		ret = -EMSGSIZE;
	if (!ret && d->n_removes)
		ret = put_list(msg, MESHNET_A_REMOVE_PEERS, d->removes, sizeof(*d->removes),
			       d->n_removes, put_remove);
	if (!ret && d->n_verdicts)
		ret = put_list(msg, MESHNET_A_VERDICT_PEERS, d->verdicts, sizeof(*d->verdicts),
			       d->n_verdicts, put_verdict);
	if (!ret && d->n_upserts)
		ret = put_list(msg, MESHNET_A_PEERS, d->upserts, sizeof(*d->upserts),
			       d->n_upserts, put_upsert);
	if (ret) {
		meshnet_nl_wipe_free(msg);
		return meshnet_nl_fail(nl, ret,
				       "delta of %zu changes does not fit in one %u-byte message; apply a full epoch",
				       d->n_removes + d->n_verdicts + d->n_upserts,
				       MESHNET_NL_DELTA_MAX_BYTES);
	}
	ret = meshnet_nl_transact(nl, msg, NULL, NULL);
	if (ret) {
		char saved[sizeof(nl->error)];

		snprintf(saved, sizeof(saved), "%s", nl->error);
		return meshnet_nl_fail(nl, ret, "delta to revision %llu not applied: %s",
				       (unsigned long long)d->revision, saved);
	}
	return 0;
}
