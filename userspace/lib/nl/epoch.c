// SPDX-License-Identifier: MIT
/*
 * Epoch transactions: EPOCH_BEGIN, EPOCH_SET_PEERS (batched), EPOCH_COMMIT,
 * EPOCH_ABORT, and meshnet_nl_apply_epoch() that does them all.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "nl/internal.h"

int meshnet_nl_epoch_begin(struct meshnet_nl *nl, uint64_t id, uint64_t expiry, bool force)
{
	return meshnet_nl_epoch_begin_rev(nl, id, expiry, 0, 0, force);
}

int meshnet_nl_epoch_begin_rev(struct meshnet_nl *nl, uint64_t id, uint64_t expiry,
			       uint64_t valid_until, uint64_t revision, bool force)
{
	struct nl_msg *msg = meshnet_nl_request(nl, MESHNET_CMD_EPOCH_BEGIN, 0, 0);

	if (!msg)
		return meshnet_nl_fail(nl, -ENOMEM, "out of memory");
	if (nla_put_u64(msg, MESHNET_A_EPOCH_ID, id) < 0 ||
	    nla_put_u64(msg, MESHNET_A_EPOCH_EXPIRY, expiry) < 0 ||
	    (valid_until && nla_put_u64(msg, MESHNET_A_VALID_UNTIL, valid_until) < 0) ||
	    (revision && nla_put_u64(msg, MESHNET_A_REVISION, revision) < 0) ||
	    (force && nla_put_flag(msg, MESHNET_A_EPOCH_FORCE) < 0)) {
		nlmsg_free(msg);
		return meshnet_nl_fail(nl, -ENOMEM, "out of memory");
	}
	return meshnet_nl_transact(nl, msg, NULL, NULL);
}

/*
 * Fills one EPOCH_SET_PEERS message with as many peers as fit in
 * nl->batch_bytes, starting at @first; returns how many went in (0 when the
 * first one alone is too big) or a negative errno.
 */
static int fill_batch(struct meshnet_nl *nl, struct nl_msg **out,
		      const struct meshnet_peer *peers, size_t first, size_t n_peers)
{
	struct nl_msg *msg;
	struct nlattr *list;
	size_t i;

	msg = meshnet_nl_request(nl, MESHNET_CMD_EPOCH_SET_PEERS, 0, nl->batch_bytes);
	if (!msg)
		return -ENOMEM;
	list = nla_nest_start(msg, MESHNET_A_PEERS);
	if (!list) {
		nlmsg_free(msg);
		return -EMSGSIZE;
	}
	for (i = first; i < n_peers; i++)
		if (meshnet_nl_put_peer(msg, (int)(i - first), &peers[i]) < 0)
			break;
	nla_nest_end(msg, list);
	*out = msg;
	return (int)(i - first);
}

int meshnet_nl_epoch_set_peers(struct meshnet_nl *nl, const struct meshnet_peer *peers,
			       size_t n_peers)
{
	struct nl_msg *msg = NULL;
	size_t done = 0;
	int n, ret;

	nl->last_batches = 0;
	while (done < n_peers) {
		n = fill_batch(nl, &msg, peers, done, n_peers);
		if (n < 0)
			return meshnet_nl_fail(nl, n, "cannot build a message: %s", strerror(-n));
		if (n == 0) {
			meshnet_nl_wipe_free(msg);
			return meshnet_nl_fail(nl, -EMSGSIZE,
					       "peer %zu does not fit in a %zu-byte message",
					       done, nl->batch_bytes);
		}
		ret = meshnet_nl_transact(nl, msg, NULL, NULL);
		nl->last_batches++;
		if (ret)
			return ret;
		done += (size_t)n;
	}
	return 0;
}

int meshnet_nl_epoch_commit(struct meshnet_nl *nl, uint64_t id, uint8_t self_verdict,
			    const char *self_reason)
{
	struct nl_msg *msg = meshnet_nl_request(nl, MESHNET_CMD_EPOCH_COMMIT, 0, 0);
	int ret;

	if (!msg)
		return meshnet_nl_fail(nl, -ENOMEM, "out of memory");
	ret = nla_put_u64(msg, MESHNET_A_EPOCH_ID, id);
	if (!ret && self_verdict != MESHNET_VERDICT_UNSPEC)
		ret = nla_put_u8(msg, MESHNET_A_SELF_VERDICT, self_verdict);
	if (!ret && self_verdict != MESHNET_VERDICT_UNSPEC && self_reason && *self_reason)
		ret = nla_put_string(msg, MESHNET_A_SELF_REASON, self_reason);
	if (ret < 0) {
		nlmsg_free(msg);
		return meshnet_nl_fail(nl, -ENOMEM, "out of memory");
	}
	return meshnet_nl_transact(nl, msg, NULL, NULL);
}

int meshnet_nl_epoch_abort(struct meshnet_nl *nl, uint64_t id)
{
	struct nl_msg *msg = meshnet_nl_request(nl, MESHNET_CMD_EPOCH_ABORT, 0, 0);

	if (!msg)
		return meshnet_nl_fail(nl, -ENOMEM, "out of memory");
	if (id && nla_put_u64(msg, MESHNET_A_EPOCH_ID, id) < 0) {
		nlmsg_free(msg);
		return meshnet_nl_fail(nl, -ENOMEM, "out of memory");
	}
	return meshnet_nl_transact(nl, msg, NULL, NULL);
}

int meshnet_nl_apply_epoch(struct meshnet_nl *nl, const struct meshnet_epoch *epoch, bool force)
{
	char saved[sizeof(nl->error)];
	int ret;

	nl->last_batches = 0;
	ret = meshnet_nl_epoch_begin_rev(nl, epoch->id, epoch->expiry_unix, epoch->valid_until,
					 epoch->revision, force);
	if (ret) {
		snprintf(saved, sizeof(saved), "%s", nl->error);
		return meshnet_nl_fail(nl, ret, "epoch %llu not applied: epoch begin: %s",
				       (unsigned long long)epoch->id, saved);
	}
	ret = meshnet_nl_epoch_set_peers(nl, epoch->peers, epoch->n_peers);
	if (ret) {
		snprintf(saved, sizeof(saved), "%s", nl->error);
		goto err_abort;
	}
	ret = meshnet_nl_epoch_commit(nl, epoch->id, epoch->self_verdict, epoch->self_reason);
	if (ret) {
		snprintf(saved, sizeof(saved), "%s", nl->error);
		goto err_abort;
	}
	return 0;

err_abort:
	/* best effort: a failed commit may already have closed the transaction */
	meshnet_nl_epoch_abort(nl, epoch->id);
	return meshnet_nl_fail(nl, ret, "epoch %llu not applied: %s",
			       (unsigned long long)epoch->id, saved);
}
