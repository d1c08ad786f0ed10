// SPDX-License-Identifier: MIT
/*
 * Keyword/value argument parsers of set-peer, policy and self. Table-driven:
 * each keyword has one handler; a keyword given twice, a missing value or an
 * unknown keyword is an error naming it.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>

#include "args.h"
#include "fileio.h"
#include "nl/meshnet_parse.h"

struct keyword {
	const char *name;
	int (*parse)(const char *value, void *target, char *err, size_t errlen);
};

/* Walks "keyword value" pairs, dispatching to @table; @target goes to every handler. */
static int parse_pairs(int argc, char *const argv[], const struct keyword *table, size_t n,
		       void *target, char *err, size_t errlen)
{
	unsigned long seen = 0;
	char why[256];
	size_t k;
	int i;

	for (i = 0; i < argc; i += 2) {
		for (k = 0; k < n; k++)
			if (!strcmp(argv[i], table[k].name))
				break;
		if (k == n)
			return meshnet_parse_fail(err, errlen, "unknown argument '%s'", argv[i]);
		if (seen & (1UL << k))
			return meshnet_parse_fail(err, errlen, "'%s' given twice", argv[i]);
		seen |= 1UL << k;
		if (i + 1 >= argc)
			return meshnet_parse_fail(err, errlen, "'%s' needs a value", argv[i]);
		if (table[k].parse(argv[i + 1], target, why, sizeof(why)))
			return meshnet_parse_fail(err, errlen, "%s: %s", argv[i], why);
	}
	return 0;
}

int cli_parse_key_arg(const char *arg, uint8_t key[MESHNET_KEY_LEN], char *err, size_t errlen)
{
	char why[256];

	if (meshnet_parse_key(arg, key, why, sizeof(why)))
		return meshnet_parse_fail(err, errlen, "bad public key '%s': %s", arg ? arg : "", why);
	return 0;
}

/* set-peer */

static int peer_verdict(const char *v, void *t, char *err, size_t errlen)
{
	struct meshnet_peer *peer = t;

	return meshnet_parse_verdict(v, &peer->verdict, err, errlen);
}

static int peer_allowedips(const char *v, void *t, char *err, size_t errlen)
{
	struct meshnet_peer *peer = t;

	peer->flags |= MESHNET_PEER_HAS_ALLOWEDIPS;
	/* "" or "none": no prefixes */
	if (!*v || !strcmp(v, "none"))
		return 0;
	return meshnet_parse_allowedips(v, peer, err, errlen);
}

static int peer_endpoint(const char *v, void *t, char *err, size_t errlen)
{
	struct meshnet_peer *peer = t;

	peer->flags |= MESHNET_PEER_HAS_ENDPOINT;
	return meshnet_parse_endpoint(v, &peer->endpoint, err, errlen);
}

static int peer_name(const char *v, void *t, char *err, size_t errlen)
{
	struct meshnet_peer *peer = t;

	peer->flags |= MESHNET_PEER_HAS_NAME;
	return meshnet_parse_name(v, peer->name, err, errlen);
}

static int peer_reason(const char *v, void *t, char *err, size_t errlen)
{
	struct meshnet_peer *peer = t;

	peer->flags |= MESHNET_PEER_HAS_REASON;
	return meshnet_parse_reason(v, peer->reason, err, errlen);
}

static int peer_psk_file(const char *v, void *t, char *err, size_t errlen)
{
	struct meshnet_peer *peer = t;

	peer->flags |= MESHNET_PEER_HAS_PSK;
	if (!meshnet_read_key_file(v, peer->psk, MESHNET_KEY_LEN))
		return 0;
	if (errno == EPERM)
		return meshnet_parse_fail(err, errlen,
					  "%s is readable or writable by group or others (chmod 600)", v);
	if (errno == EINVAL)
		return meshnet_parse_fail(err, errlen, "%s does not hold the base64 of a 32-byte key", v);
	return meshnet_parse_fail(err, errlen, "cannot read %s: %s", v, strerror(errno));
}

static const struct keyword set_peer_keywords[] = {
	{ "verdict", peer_verdict },
	{ "allowed-ips", peer_allowedips },
	{ "endpoint", peer_endpoint },
	{ "name", peer_name },
	{ "reason", peer_reason },
	{ "psk-file", peer_psk_file },
};

int cli_parse_set_peer(int argc, char *const argv[], struct meshnet_peer *peer, char *err,
		       size_t errlen)
{
	int ret;

	memset(peer, 0, sizeof(*peer));
	if (argc < 1)
		return meshnet_parse_fail(err, errlen, "missing the peer's public key");
	ret = cli_parse_key_arg(argv[0], peer->public_key, err, errlen);
	if (!ret)
		ret = parse_pairs(argc - 1, argv + 1, set_peer_keywords,
				  sizeof(set_peer_keywords) / sizeof(set_peer_keywords[0]),
				  peer, err, errlen);
	if (!ret && peer->verdict == MESHNET_VERDICT_UNSPEC)
		ret = meshnet_parse_fail(err, errlen, "missing 'verdict allowed|denied'");
	if (ret)
		OPENSSL_cleanse(peer->psk, sizeof(peer->psk));
	return ret;
}

/* policy */

static int policy_unknown(const char *v, void *t, char *err, size_t errlen)
{
	struct meshnet_policy *p = t;

	p->mask |= MESHNET_POLICY_UNKNOWN;
	return meshnet_parse_unknown_policy(v, &p->unknown, err, errlen);
}

static int policy_fail_closed(const char *v, void *t, char *err, size_t errlen)
{
	struct meshnet_policy *p = t;

	p->mask |= MESHNET_POLICY_FAIL_CLOSED;
	return meshnet_parse_bool(v, &p->fail_closed, err, errlen);
}

static int policy_grace(const char *v, void *t, char *err, size_t errlen)
{
	struct meshnet_policy *p = t;
	uint64_t grace;
	int ret;

	p->mask |= MESHNET_POLICY_GRACE;
	ret = meshnet_parse_u64(v, MESHNET_GRACE_MAX, &grace, err, errlen);
	p->grace = (uint32_t)grace;
	return ret;
}

static int policy_endpoint_drop(const char *v, void *t, char *err, size_t errlen)
{
	struct meshnet_policy *p = t;

	p->mask |= MESHNET_POLICY_ENDPOINT_DROP;
	return meshnet_parse_bool(v, &p->endpoint_drop, err, errlen);
}

static const struct keyword policy_keywords[] = {
	{ "unknown", policy_unknown },
	{ "fail-closed", policy_fail_closed },
	{ "grace", policy_grace },
	{ "endpoint-drop", policy_endpoint_drop },
};

int cli_parse_policy(int argc, char *const argv[], struct meshnet_policy *policy, char *err,
		     size_t errlen)
{
	memset(policy, 0, sizeof(*policy));
	if (argc < 1)
		return meshnet_parse_fail(err, errlen,
			    "nothing to set (unknown, fail-closed, grace, endpoint-drop)");
	return parse_pairs(argc, argv, policy_keywords,
			   sizeof(policy_keywords) / sizeof(policy_keywords[0]), policy, err,
			   errlen);
}

/* self */

struct self_args {
	uint8_t verdict;
	char *reason;
};

static int self_verdict(const char *v, void *t, char *err, size_t errlen)
{
	struct self_args *s = t;

	return meshnet_parse_verdict(v, &s->verdict, err, errlen);
}

static int self_reason(const char *v, void *t, char *err, size_t errlen)
{
	struct self_args *s = t;

	return meshnet_parse_reason(v, s->reason, err, errlen);
}

static const struct keyword self_keywords[] = {
	{ "verdict", self_verdict },
	{ "reason", self_reason },
};

int cli_parse_self(int argc, char *const argv[], uint8_t *verdict, char reason[MESHNET_REASON_LEN],
		   char *err, size_t errlen)
{
	struct self_args s = { .verdict = MESHNET_VERDICT_UNSPEC, .reason = reason };
	int ret;

	reason[0] = '\0';
	ret = parse_pairs(argc, argv, self_keywords,
			  sizeof(self_keywords) / sizeof(self_keywords[0]), &s, err, errlen);
	if (ret)
		return ret;
	if (s.verdict == MESHNET_VERDICT_UNSPEC)
		return meshnet_parse_fail(err, errlen, "missing 'verdict allowed|denied'");
	*verdict = s.verdict;
	return 0;
}

int cli_parse_delta(int argc, char *const argv[], struct cli_delta *cd, char *err, size_t errlen)
{
	struct meshnet_delta *d = &cd->delta;
	struct meshnet_peer *last = NULL;
	int i;

	memset(d, 0, sizeof(*d));
	cd->n_verdicts = cd->n_removes = 0;
	cd->peers_file = NULL;
	if (argc < 1)
		return meshnet_parse_fail(err, errlen, "missing REVISION");
	if (meshnet_parse_u64(argv[0], UINT64_MAX, &d->revision, err, errlen))
		return -EINVAL;
	if (!d->revision)
		return meshnet_parse_fail(err, errlen, "REVISION '%s': must be at least 1", argv[0]);
	for (i = 1; i < argc; i++) {
		const char *kw = argv[i];

		if (!strcmp(kw, "force")) {
			d->force = true;
			continue;
		}
		if (i + 1 >= argc)
			return meshnet_parse_fail(err, errlen, "'%s' needs a value", kw);
		if (!strcmp(kw, "epoch")) {
			if (meshnet_parse_u64(argv[++i], UINT64_MAX, &d->epoch_id, err, errlen))
				return -EINVAL;
		} else if (!strcmp(kw, "valid-until")) {
			if (meshnet_parse_u64(argv[++i], UINT64_MAX, &d->valid_until, err, errlen))
				return -EINVAL;
		} else if (!strcmp(kw, "self")) {
			if (meshnet_parse_verdict(argv[++i], &d->self_verdict, err, errlen))
				return -EINVAL;
		} else if (!strcmp(kw, "self-reason")) {
			if (meshnet_parse_reason(argv[++i], d->self_reason, err, errlen))
				return -EINVAL;
		} else if (!strcmp(kw, "allow") || !strcmp(kw, "deny")) {
			if (cd->n_verdicts >= cd->max)
				return meshnet_parse_fail(err, errlen, "too many verdict changes");
			last = &cd->verdicts[cd->n_verdicts++];
			memset(last, 0, sizeof(*last));
			last->verdict = !strcmp(kw, "allow") ? MESHNET_VERDICT_ALLOWED :
							       MESHNET_VERDICT_DENIED;
			if (cli_parse_key_arg(argv[++i], last->public_key, err, errlen))
				return -EINVAL;
		} else if (!strcmp(kw, "reason")) {
			if (!last)
				return meshnet_parse_fail(err, errlen,
							  "'reason' must follow 'allow KEY' or 'deny KEY'");
			if (meshnet_parse_reason(argv[++i], last->reason, err, errlen))
				return -EINVAL;
			last->flags |= MESHNET_PEER_HAS_REASON;
		} else if (!strcmp(kw, "remove")) {
			if (cd->n_removes >= cd->max)
				return meshnet_parse_fail(err, errlen, "too many removals");
			if (cli_parse_key_arg(argv[++i], cd->removes[cd->n_removes++], err, errlen))
				return -EINVAL;
		} else if (!strcmp(kw, "peers-file")) {
			cd->peers_file = argv[++i];
		} else {
			return meshnet_parse_fail(err, errlen, "unknown argument '%s'", kw);
		}
	}
	if (d->self_reason[0] && d->self_verdict == MESHNET_VERDICT_UNSPEC)
		return meshnet_parse_fail(err, errlen, "'self-reason' needs 'self allowed|denied'");
	d->verdicts = cd->verdicts;
	d->n_verdicts = cd->n_verdicts;
	d->removes = (const uint8_t (*)[MESHNET_KEY_LEN])cd->removes;
	d->n_removes = cd->n_removes;
	return 0;
}
