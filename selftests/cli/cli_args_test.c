// SPDX-License-Identifier: MIT
/*
 * Host tests of meshnetctl without the kernel module: the value parsers
 * (lib/nl/parse.c), the subcommand argument parsers (cli/args.c), the epoch
 * JSON reader (lib/nl/epoch_json.c), and the binary itself ($MESHNETCTL,
 * default build/san/meshnetctl), which must say "meshnet module not loaded"
 * on a kernel without the family. Table-driven; every bad input must be
 * refused with a message naming the problem.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kselftest_harness.h"

#include "../../userspace/cli/args.h"
#include "nl/meshnet_epoch.h"
#include "nl/meshnet_nl.h"
#include "nl/meshnet_parse.h"

/* Two real WireGuard public keys and a PSK (wg genkey | wg pubkey). */
#define KEY_A "xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg="
#define KEY_B "TrMvSoP4jYQlY6RIzBgbssQqY3vxI2Pi+y71lOWWXX0="
#define PSK_1 "FpCyhws9cxwWoV4xELtfJvjJN+zQVRPISllRWgeopVE="

static const char *meshnetctl(void)
{
	const char *p = getenv("MESHNETCTL");

	return p && *p ? p : "build/san/meshnetctl";
}

/* Runs a shell command line, captures stdout+stderr; returns the exit code. */
static int run(const char *cmdline, char *out, size_t outlen)
{
	char full[4096];
	size_t used = 0, n;
	FILE *p;
	int status;

	snprintf(full, sizeof(full), "%s 2>&1", cmdline);
	p = popen(full, "r");
	if (!p)
		return -1;
	while (used + 1 < outlen && (n = fread(out + used, 1, outlen - used - 1, p)) > 0)
		used += n;
	out[used] = '\0';
	status = pclose(p);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void write_file(const char *path, const char *text, mode_t mode)
{
	FILE *f = fopen(path, "w");

	if (f) {
		fputs(text, f);
		fclose(f);
	}
	chmod(path, mode);
}

/* ---------------------------------------------------------------- keys -- */

struct key_case {
	const char *text;
	const char *error; /* NULL: must parse */
};

static const struct key_case key_cases[] = {
	{ KEY_A, NULL },
	{ KEY_B, NULL },
	{ "", "empty key" },
	{ "abc", "32 bytes" },
	{ KEY_A "A", "32 bytes" },
	{ "xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg", "32 bytes" },
	{ "xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8D==", "not a base64" },
	{ "xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8D!=", "not a base64" },
	{ "xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dh=", "not a base64" }, /* trailing bits */
	{ "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "32 bytes" }, /* 48 bytes */
};

TEST(key_parsing)
{
	uint8_t key[MESHNET_KEY_LEN];
	char out[MESHNET_KEY_B64_LEN];
	char err[256];
	size_t i;

	for (i = 0; i < ARRAY_SIZE(key_cases); i++) {
		int ret = meshnet_parse_key(key_cases[i].text, key, err, sizeof(err));

		TH_LOG("key '%s'", key_cases[i].text);
		if (!key_cases[i].error) {
			ASSERT_EQ(0, ret);
			meshnet_format_key(key, out);
			ASSERT_STREQ(key_cases[i].text, out);
		} else {
			ASSERT_EQ(-EINVAL, ret);
			ASSERT_NE(NULL, strstr(err, key_cases[i].error)) TH_LOG("got: %s", err);
		}
	}
}

/* ------------------------------------------------------------ prefixes -- */

struct prefix_case {
	const char *text;
	const char *error;
	uint16_t family;
	uint8_t cidr;
	const char *canonical;
};

static const struct prefix_case prefix_cases[] = {
	{ "10.10.0.2/32", NULL, AF_INET, 32, "10.10.0.2/32" },
	{ "10.10.0.0/16", NULL, AF_INET, 16, "10.10.0.0/16" },
	{ "0.0.0.0/0", NULL, AF_INET, 0, "0.0.0.0/0" },
	{ "fd10::2/128", NULL, AF_INET6, 128, "fd10::2/128" },
	{ "fd10:0::/64", NULL, AF_INET6, 64, "fd10::/64" },
	{ "10.10.0.1/24", "host bits set", 0, 0, NULL },
	{ "fd10::1/64", "host bits set", 0, 0, NULL },
	{ "10.10.0.1", "no /LENGTH", 0, 0, NULL },
	{ "10.10.0.1/33", "length must be 0..32", 0, 0, NULL },
	{ "fd10::1/129", "length must be 0..128", 0, 0, NULL },
	{ "10.10.0.1/-1", "length must be", 0, 0, NULL },
	{ "10.10.0.1/", "length must be", 0, 0, NULL },
	{ "10.10.0.1/3x", "length must be", 0, 0, NULL },
	{ "10.10.0.256/32", "not an IPv4 or IPv6 address", 0, 0, NULL },
	{ "node-b/32", "not an IPv4 or IPv6 address", 0, 0, NULL },
	{ "/32", "no valid address", 0, 0, NULL },
	{ "", "empty prefix", 0, 0, NULL },
};

TEST(prefix_parsing)
{
	struct meshnet_allowedip ip;
	char err[256], text[MESHNET_PREFIX_STRLEN];
	size_t i;

	for (i = 0; i < ARRAY_SIZE(prefix_cases); i++) {
		const struct prefix_case *c = &prefix_cases[i];
		int ret = meshnet_parse_allowedip(c->text, &ip, err, sizeof(err));

		TH_LOG("prefix '%s'", c->text);
		if (!c->error) {
			ASSERT_EQ(0, ret);
			ASSERT_EQ(c->family, ip.family);
			ASSERT_EQ(c->cidr, ip.cidr);
			meshnet_format_allowedip(&ip, text, sizeof(text));
			ASSERT_STREQ(c->canonical, text);
		} else {
			ASSERT_EQ(-EINVAL, ret);
			ASSERT_NE(NULL, strstr(err, c->error)) TH_LOG("got: %s", err);
			/* the message names the bad input */
			if (*c->text)
				ASSERT_NE(NULL, strstr(err, c->text)) TH_LOG("got: %s", err);
		}
	}
}

TEST(prefix_list_limit)
{
	struct meshnet_peer *peer = calloc(1, sizeof(*peer));
	char list[2048] = "", err[256];
	int i;

	ASSERT_NE(NULL, peer);
	ASSERT_EQ(0, meshnet_parse_allowedips("10.0.0.1/32,fd00::1/128", peer, err,
					      sizeof(err)));
	ASSERT_EQ(2, peer->n_allowedips);
	memset(peer, 0, sizeof(*peer));
	for (i = 0; i <= MESHNET_MAX_ALLOWEDIPS; i++)
		snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s10.0.%d.%d/32",
			 i ? "," : "", i / 256, i % 256);
	ASSERT_EQ(-EINVAL, meshnet_parse_allowedips(list, peer, err, sizeof(err)));
	ASSERT_NE(NULL, strstr(err, "more than 64 prefixes"));
	free(peer);
}

/* ----------------------------------------------------------- endpoints -- */

struct endpoint_case {
	const char *text;
	bool good;
	const char *canonical;
};

static const struct endpoint_case endpoint_cases[] = {
	{ "192.0.2.3:51820", true, "192.0.2.3:51820" },
	{ "[2001:db8::1]:51820", true, "[2001:db8::1]:51820" },
	{ "[2001:db8:0::1]:1", true, "[2001:db8::1]:1" },
	{ "192.0.2.3", false, NULL },
	{ "192.0.2.3:0", false, NULL },
	{ "192.0.2.3:65536", false, NULL },
	{ "192.0.2.3:port", false, NULL },
	{ "2001:db8::1:51820", false, NULL },
	{ "[2001:db8::1]51820", false, NULL },
	{ "[192.0.2.3]:51820", false, NULL },
	{ "node-b.example:51820", false, NULL },
	{ ":51820", false, NULL },
};

TEST(endpoint_parsing)
{
	union meshnet_sockaddr ep;
	char err[256], text[MESHNET_ENDPOINT_STRLEN];
	size_t i;

	for (i = 0; i < ARRAY_SIZE(endpoint_cases); i++) {
		const struct endpoint_case *c = &endpoint_cases[i];
		int ret = meshnet_parse_endpoint(c->text, &ep, err, sizeof(err));

		TH_LOG("endpoint '%s'", c->text);
		if (c->good) {
			ASSERT_EQ(0, ret);
			meshnet_format_endpoint(&ep, text, sizeof(text));
			ASSERT_STREQ(c->canonical, text);
		} else {
			ASSERT_EQ(-EINVAL, ret);
			ASSERT_NE(NULL, strstr(err, c->text)) TH_LOG("got: %s", err);
		}
	}
}

TEST(small_values)
{
	char err[256], name[MESHNET_NAME_LEN], reason[MESHNET_REASON_LEN];
	char long_text[300];
	uint8_t v;
	uint64_t n;
	bool b;

	ASSERT_EQ(0, meshnet_parse_verdict("allowed", &v, err, sizeof(err)));
	ASSERT_EQ(MESHNET_VERDICT_ALLOWED, v);
	ASSERT_EQ(0, meshnet_parse_verdict("DENIED", &v, err, sizeof(err)));
	ASSERT_EQ(MESHNET_VERDICT_DENIED, v);
	ASSERT_EQ(-EINVAL, meshnet_parse_verdict("quarantined", &v, err, sizeof(err)));
	ASSERT_NE(NULL, strstr(err, "unknown verdict 'quarantined'"));
	ASSERT_EQ(0, meshnet_parse_unknown_policy("allow", &v, err, sizeof(err)));
	ASSERT_EQ(MESHNET_UNKNOWN_ALLOW, v);
	ASSERT_EQ(-EINVAL, meshnet_parse_unknown_policy("reject", &v, err, sizeof(err)));
	ASSERT_EQ(0, meshnet_parse_bool("on", &b, err, sizeof(err)));
	ASSERT_TRUE(b);
	ASSERT_EQ(0, meshnet_parse_bool("off", &b, err, sizeof(err)));
	ASSERT_FALSE(b);
	ASSERT_EQ(-EINVAL, meshnet_parse_bool("maybe", &b, err, sizeof(err)));
	ASSERT_EQ(0, meshnet_parse_u64("86400", MESHNET_GRACE_MAX, &n, err, sizeof(err)));
	ASSERT_EQ(86400, n);
	ASSERT_EQ(-EINVAL, meshnet_parse_u64("86401", MESHNET_GRACE_MAX, &n, err, sizeof(err)));
	ASSERT_EQ(-EINVAL, meshnet_parse_u64("-1", MESHNET_GRACE_MAX, &n, err, sizeof(err)));
	ASSERT_EQ(-EINVAL, meshnet_parse_u64("1e3", MESHNET_GRACE_MAX, &n, err, sizeof(err)));
	ASSERT_EQ(-EINVAL, meshnet_parse_u64("99999999999999999999999", UINT64_MAX, &n, err,
					     sizeof(err)));
	ASSERT_EQ(0, meshnet_parse_name("node-b", name, err, sizeof(err)));
	ASSERT_EQ(-EINVAL, meshnet_parse_name("Node-B", name, err, sizeof(err)));
	ASSERT_EQ(-EINVAL, meshnet_parse_name("-node", name, err, sizeof(err)));
	ASSERT_EQ(-EINVAL, meshnet_parse_name("a/../b", name, err, sizeof(err)));
	memset(long_text, 'a', sizeof(long_text) - 1);
	long_text[sizeof(long_text) - 1] = '\0';
	ASSERT_EQ(-EINVAL, meshnet_parse_name(long_text, name, err, sizeof(err)));
	ASSERT_EQ(-EINVAL, meshnet_parse_reason(long_text, reason, err, sizeof(err)));
	ASSERT_EQ(-EINVAL, meshnet_parse_reason("line\nbreak", reason, err, sizeof(err)));
	ASSERT_EQ(0, meshnet_parse_reason("score 0.38 < threshold 0.70", reason, err,
					  sizeof(err)));
}

/* ------------------------------------------------------ set-peer args -- */

struct args_case {
	const char *argv[16];
	const char *error; /* NULL: must parse */
};

static const struct args_case set_peer_cases[] = {
	{ { KEY_A, "verdict", "denied", "allowed-ips", "10.10.0.3/32,fd10::3/128",
	    "endpoint", "192.0.2.3:51820", "name", "node-c", "reason", "score low" }, NULL },
	{ { KEY_A, "verdict", "allowed" }, NULL },
	{ { KEY_A, "verdict", "allowed", "allowed-ips", "none" }, NULL },
	{ { "not-a-key", "verdict", "allowed" }, "bad public key 'not-a-key'" },
	{ { "AAAA", "verdict", "allowed" }, "32 bytes" },
	{ { KEY_A }, "missing 'verdict" },
	{ { KEY_A, "verdict", "maybe" }, "verdict: unknown verdict 'maybe'" },
	{ { KEY_A, "verdict" }, "'verdict' needs a value" },
	{ { KEY_A, "verdict", "allowed", "verdict", "denied" }, "'verdict' given twice" },
	{ { KEY_A, "verdict", "allowed", "colour", "red" }, "unknown argument 'colour'" },
	{ { KEY_A, "verdict", "allowed", "allowed-ips", "10.10.0.1/24" },
	  "allowed-ips: prefix '10.10.0.1/24' has host bits set" },
	{ { KEY_A, "verdict", "allowed", "allowed-ips", "10.10.0.1/32,bogus/8" },
	  "allowed-ips: prefix 'bogus/8'" },
	{ { KEY_A, "verdict", "allowed", "endpoint", "192.0.2.3" },
	  "endpoint: endpoint '192.0.2.3'" },
	{ { KEY_A, "verdict", "allowed", "name", "Node C" }, "name: node id 'Node C'" },
	{ { KEY_A, "verdict", "allowed", "psk-file", "/nonexistent/psk" },
	  "psk-file: cannot read /nonexistent/psk" },
	{ {}, "missing the peer's public key" },
};

static int count_args(const char *const *argv)
{
	int n = 0;

	while (n < 16 && argv[n])
		n++;
	return n;
}

TEST(set_peer_args)
{
	struct meshnet_peer *peer = calloc(1, sizeof(*peer));
	char err[512];
	size_t i;

	ASSERT_NE(NULL, peer);
	for (i = 0; i < ARRAY_SIZE(set_peer_cases); i++) {
		const struct args_case *c = &set_peer_cases[i];
		int ret = cli_parse_set_peer(count_args(c->argv), (char *const *)c->argv, peer,
					     err, sizeof(err));

		TH_LOG("case %zu", i);
		if (!c->error) {
			ASSERT_EQ(0, ret) TH_LOG("error: %s", err);
		} else {
			ASSERT_EQ(-EINVAL, ret);
			ASSERT_NE(NULL, strstr(err, c->error)) TH_LOG("got: %s", err);
		}
	}
	/* the full line fills every field */
	ASSERT_EQ(0, cli_parse_set_peer(count_args(set_peer_cases[0].argv),
					(char *const *)set_peer_cases[0].argv, peer, err,
					sizeof(err)));
	ASSERT_EQ(MESHNET_VERDICT_DENIED, peer->verdict);
	ASSERT_EQ(2, peer->n_allowedips);
	ASSERT_STREQ("node-c", peer->name);
	ASSERT_STREQ("score low", peer->reason);
	ASSERT_EQ(AF_INET, peer->endpoint.addr.sa_family);
	ASSERT_EQ(MESHNET_PEER_HAS_NAME | MESHNET_PEER_HAS_REASON | MESHNET_PEER_HAS_ENDPOINT |
		  MESHNET_PEER_HAS_ALLOWEDIPS, peer->flags);
	free(peer);
}

TEST(set_peer_psk_file)
{
	char path[] = "/tmp/cli-args-psk.XXXXXX", err[512];
	struct meshnet_peer *peer = calloc(1, sizeof(*peer));
	char *argv[] = { KEY_A, "verdict", "allowed", "psk-file", path, NULL };
	int fd = mkstemp(path);

	ASSERT_NE(NULL, peer);
	ASSERT_LE(0, fd);
	close(fd);
	write_file(path, PSK_1 "\n", 0600);
	ASSERT_EQ(0, cli_parse_set_peer(5, argv, peer, err, sizeof(err))) TH_LOG("%s", err);
	ASSERT_TRUE(peer->flags & MESHNET_PEER_HAS_PSK);
	/* a key file others can read is refused */
	chmod(path, 0644);
	ASSERT_EQ(-EINVAL, cli_parse_set_peer(5, argv, peer, err, sizeof(err)));
	ASSERT_NE(NULL, strstr(err, "readable or writable by group or others"));
	/* not a key */
	write_file(path, "hello\n", 0600);
	ASSERT_EQ(-EINVAL, cli_parse_set_peer(5, argv, peer, err, sizeof(err)));
	ASSERT_NE(NULL, strstr(err, "does not hold the base64 of a 32-byte key"));
	unlink(path);
	free(peer);
}

static const struct args_case policy_cases[] = {
	{ { "unknown", "drop", "fail-closed", "on", "grace", "30", "endpoint-drop", "off" },
	  NULL },
	{ { "grace", "0" }, NULL },
	{ {}, "nothing to set" },
	{ { "unknown", "maybe" }, "unknown: unknown policy 'maybe'" },
	{ { "fail-closed", "perhaps" }, "fail-closed: 'perhaps' is not on or off" },
	{ { "grace", "86401" }, "grace: 86401 is out of range" },
	{ { "grace", "-5" }, "grace: '-5' is not a non-negative decimal number" },
	{ { "endpoint-drop" }, "'endpoint-drop' needs a value" },
	{ { "colour", "red" }, "unknown argument 'colour'" },
};

TEST(policy_args)
{
	struct meshnet_policy policy;
	char err[512];
	size_t i;

	for (i = 0; i < ARRAY_SIZE(policy_cases); i++) {
		const struct args_case *c = &policy_cases[i];
		int ret = cli_parse_policy(count_args(c->argv), (char *const *)c->argv, &policy,
					   err, sizeof(err));

		TH_LOG("case %zu", i);
		if (!c->error) {
			ASSERT_EQ(0, ret) TH_LOG("error: %s", err);
		} else {
			ASSERT_EQ(-EINVAL, ret);
			ASSERT_NE(NULL, strstr(err, c->error)) TH_LOG("got: %s", err);
		}
	}
	ASSERT_EQ(0, cli_parse_policy(8, (char *const *)policy_cases[0].argv, &policy, err,
				      sizeof(err)));
	ASSERT_EQ(MESHNET_POLICY_UNKNOWN | MESHNET_POLICY_FAIL_CLOSED | MESHNET_POLICY_GRACE |
		  MESHNET_POLICY_ENDPOINT_DROP, policy.mask);
	ASSERT_EQ(MESHNET_UNKNOWN_DROP, policy.unknown);
	ASSERT_TRUE(policy.fail_closed);
	ASSERT_EQ(30, policy.grace);
	ASSERT_FALSE(policy.endpoint_drop);
}

static const struct args_case delta_cases[] = {
	{ { "7", "deny", KEY_A, "reason", "quarantine", "allow", KEY_B, "remove", KEY_A,
	    "epoch", "3", "valid-until", "4102444800", "force" }, NULL },
	{ { "1" }, NULL },
	{ { "2", "self", "denied", "self-reason", "policy" }, NULL },
	{ {}, "missing REVISION" },
	{ { "0" }, "REVISION '0': must be at least 1" },
	{ { "x1" }, "not a non-negative decimal number" },
	{ { "3", "reason", "x" }, "'reason' must follow 'allow KEY' or 'deny KEY'" },
	{ { "3", "deny" }, "'deny' needs a value" },
	{ { "3", "deny", "AAAA" }, "bad public key 'AAAA'" },
	{ { "3", "self-reason", "x" }, "'self-reason' needs 'self allowed|denied'" },
	{ { "3", "self", "maybe" }, "unknown verdict 'maybe'" },
	{ { "3", "colour", "red" }, "unknown argument 'colour'" },
};

TEST(delta_args)
{
	struct meshnet_peer verdicts[16];
	uint8_t removes[16][MESHNET_KEY_LEN];
	struct cli_delta cd = { .max = 16, .verdicts = verdicts, .removes = removes };
	uint8_t key_a[MESHNET_KEY_LEN];
	char err[512];
	size_t i;

	for (i = 0; i < ARRAY_SIZE(delta_cases); i++) {
		const struct args_case *c = &delta_cases[i];
		int ret = cli_parse_delta(count_args(c->argv), (char *const *)c->argv, &cd, err,
					  sizeof(err));

		TH_LOG("case %zu", i);
		if (!c->error) {
			ASSERT_EQ(0, ret) TH_LOG("error: %s", err);
		} else {
			ASSERT_EQ(-EINVAL, ret);
			ASSERT_NE(NULL, strstr(err, c->error)) TH_LOG("got: %s", err);
		}
	}
	ASSERT_EQ(0, cli_parse_delta(count_args(delta_cases[0].argv),
				     (char *const *)delta_cases[0].argv, &cd, err, sizeof(err)));
	ASSERT_EQ(7, cd.delta.revision);
	ASSERT_EQ(3, cd.delta.epoch_id);
	ASSERT_EQ(4102444800ULL, cd.delta.valid_until);
	ASSERT_TRUE(cd.delta.force);
	ASSERT_EQ(2, cd.delta.n_verdicts);
	ASSERT_EQ(MESHNET_VERDICT_DENIED, cd.delta.verdicts[0].verdict);
	ASSERT_STREQ("quarantine", cd.delta.verdicts[0].reason);
	ASSERT_TRUE(cd.delta.verdicts[0].flags & MESHNET_PEER_HAS_REASON);
	ASSERT_EQ(MESHNET_VERDICT_ALLOWED, cd.delta.verdicts[1].verdict);
	ASSERT_FALSE(cd.delta.verdicts[1].flags & MESHNET_PEER_HAS_REASON);
	ASSERT_EQ(1, cd.delta.n_removes);
	ASSERT_EQ(0, cli_parse_key_arg(KEY_A, key_a, err, sizeof(err)));
	ASSERT_EQ(0, memcmp(key_a, cd.delta.removes[0], MESHNET_KEY_LEN));
	ASSERT_EQ(MESHNET_VERDICT_UNSPEC, cd.delta.self_verdict);
}

TEST(self_args)
{
	char *good[] = { "verdict", "denied", "reason", "manual", NULL };
	char *bad[] = { "verdict", "sideways", NULL };
	char *none[] = { "reason", "x", NULL };
	char err[256], reason[MESHNET_REASON_LEN];
	uint8_t v;

	ASSERT_EQ(0, cli_parse_self(4, good, &v, reason, err, sizeof(err)));
	ASSERT_EQ(MESHNET_VERDICT_DENIED, v);
	ASSERT_STREQ("manual", reason);
	ASSERT_EQ(-EINVAL, cli_parse_self(2, bad, &v, reason, err, sizeof(err)));
	ASSERT_NE(NULL, strstr(err, "unknown verdict 'sideways'"));
	ASSERT_EQ(-EINVAL, cli_parse_self(2, none, &v, reason, err, sizeof(err)));
	ASSERT_NE(NULL, strstr(err, "missing 'verdict"));
}

/* --------------------------------------------------------- epoch JSON -- */

#define PEER_B "{\"node_id\":\"node-b\",\"public_key\":\"" KEY_A "\"," \
	"\"endpoint\":\"192.168.77.12:51820\",\"allowed_ips\":[\"10.10.0.2/32\",\"fd10::2/128\"]," \
	"\"membership\":\"ALLOWED\",\"psk\":\"" PSK_1 "\"}"
#define PEER_C "{\"node_id\":\"node-c\",\"public_key\":\"" KEY_B "\"," \
	"\"endpoint\":\"[2001:db8::13]:51820\",\"allowed_ips\":[\"10.10.0.3/32\"]," \
	"\"membership\":\"DENIED\",\"reason\":\"score 0.38 < threshold 0.70\"}"
#define EPOCH_HEAD "{\"node_id\":\"node-a\",\"epoch\":{\"id\":3," \
	"\"expiry_utc\":\"2026-01-05T12:35:56Z\",\"expiry_unix\":1767616556}," \
	"\"membership\":\"ALLOWED\",\"reason\":\"score 0.91 >= threshold 0.70\","

static const char good_epoch[] = EPOCH_HEAD "\"peers\":[" PEER_B "," PEER_C "]}";

TEST(epoch_json_good)
{
	struct meshnet_epoch e;
	char err[512];

	ASSERT_EQ(0, meshnet_epoch_parse(good_epoch, strlen(good_epoch), &e, err, sizeof(err)))
		TH_LOG("%s", err);
	ASSERT_EQ(3, e.id);
	ASSERT_EQ(1767616556, e.expiry_unix);
	ASSERT_EQ(MESHNET_VERDICT_ALLOWED, e.self_verdict);
	ASSERT_STREQ("score 0.91 >= threshold 0.70", e.self_reason);
	ASSERT_STREQ("node-a", e.node_id);
	ASSERT_EQ(2, e.n_peers);
	ASSERT_STREQ("node-b", e.peers[0].name);
	ASSERT_EQ(MESHNET_VERDICT_ALLOWED, e.peers[0].verdict);
	ASSERT_TRUE(e.peers[0].flags & MESHNET_PEER_HAS_PSK);
	ASSERT_EQ(2, e.peers[0].n_allowedips);
	ASSERT_EQ(AF_INET6, e.peers[0].allowedips[1].family);
	ASSERT_STREQ("node-c", e.peers[1].name);
	ASSERT_EQ(MESHNET_VERDICT_DENIED, e.peers[1].verdict);
	ASSERT_FALSE(e.peers[1].flags & MESHNET_PEER_HAS_PSK);
	ASSERT_STREQ("score 0.38 < threshold 0.70", e.peers[1].reason);
	ASSERT_EQ(AF_INET6, e.peers[1].endpoint.addr.sa_family);
	meshnet_epoch_free(&e);
	ASSERT_EQ(NULL, e.peers);
}

TEST(epoch_json_variants)
{
	/* expiry_utc alone; the 403 reply of a DENIED node (no peers) */
	static const char utc_only[] = "{\"epoch\":{\"id\":9,\"expiry_utc\":"
		"\"2026-01-05T12:35:56Z\"},\"membership\":\"ALLOWED\",\"peers\":[]}";
	static const char denied[] = "{\"error\":{\"code\":\"denied\",\"message\":\"low\"},"
		"\"epoch\":{\"id\":4,\"expiry_unix\":1767616556},\"membership\":\"DENIED\"}";
	struct meshnet_epoch e;
	char err[512];

	ASSERT_EQ(0, meshnet_epoch_parse(utc_only, strlen(utc_only), &e, err, sizeof(err)))
		TH_LOG("%s", err);
	ASSERT_EQ(1767616556, e.expiry_unix);
	ASSERT_EQ(0, e.n_peers);
	meshnet_epoch_free(&e);
	ASSERT_EQ(0, meshnet_epoch_parse(denied, strlen(denied), &e, err, sizeof(err)))
		TH_LOG("%s", err);
	ASSERT_EQ(MESHNET_VERDICT_DENIED, e.self_verdict);
	ASSERT_STREQ("low", e.self_reason);
	ASSERT_EQ(0, e.n_peers);
	meshnet_epoch_free(&e);
}

struct epoch_case {
	const char *json;
	const char *error;
};

#define PEER(fields) "{\"node_id\":\"node-x\",\"public_key\":\"" KEY_B "\"," \
	"\"membership\":\"ALLOWED\"" fields "}"
#define WITH_PEERS(list) EPOCH_HEAD "\"peers\":[" PEER_B "," list "]}"

static const struct epoch_case epoch_cases[] = {
	{ "", "invalid JSON" },
	{ "{\"epoch\":", "invalid JSON" },
	{ "{} {}", "invalid JSON: trailing data" },
	{ "[1,2]", "top level: must be a JSON object" },
	{ "{\"membership\":\"ALLOWED\",\"peers\":[]}", "epoch: missing" },
	{ "{\"epoch\":3,\"membership\":\"ALLOWED\",\"peers\":[]}", "epoch: must be an object" },
	{ "{\"epoch\":{\"expiry_unix\":5},\"membership\":\"ALLOWED\",\"peers\":[]}",
	  "epoch.id: missing" },
	{ "{\"epoch\":{\"id\":\"3\",\"expiry_unix\":5},\"membership\":\"ALLOWED\",\"peers\":[]}",
	  "epoch.id: must be an integer" },
	{ "{\"epoch\":{\"id\":0,\"expiry_unix\":5},\"membership\":\"ALLOWED\",\"peers\":[]}",
	  "epoch.id: must be greater than 0" },
	{ "{\"epoch\":{\"id\":-3,\"expiry_unix\":5},\"membership\":\"ALLOWED\",\"peers\":[]}",
	  "epoch.id: must not be negative" },
	{ "{\"epoch\":{\"id\":3},\"membership\":\"ALLOWED\",\"peers\":[]}",
	  "epoch.expiry_unix: missing" },
	{ "{\"epoch\":{\"id\":3,\"expiry_unix\":-1},\"membership\":\"ALLOWED\",\"peers\":[]}",
	  "epoch.expiry_unix: must not be negative" },
	{ "{\"epoch\":{\"id\":3,\"expiry_utc\":\"tomorrow\"},\"membership\":\"ALLOWED\",\"peers\":[]}",
	  "epoch.expiry_utc: 'tomorrow' is not an RFC 3339 time" },
	{ "{\"epoch\":{\"id\":3,\"expiry_unix\":5},\"peers\":[]}", "membership: missing" },
	{ "{\"epoch\":{\"id\":3,\"expiry_unix\":5},\"membership\":\"MAYBE\",\"peers\":[]}",
	  "membership: unknown verdict 'MAYBE'" },
	{ "{\"epoch\":{\"id\":3,\"expiry_unix\":5},\"membership\":true,\"peers\":[]}",
	  "membership: must be a string" },
	{ "{\"epoch\":{\"id\":3,\"expiry_unix\":5},\"membership\":\"ALLOWED\"}", "peers: missing" },
	{ "{\"epoch\":{\"id\":3,\"expiry_unix\":5},\"membership\":\"ALLOWED\",\"peers\":{}}",
	  "peers: must be an array" },
	{ "{\"node_id\":\"Node A\",\"epoch\":{\"id\":3,\"expiry_unix\":5},\"membership\":\"ALLOWED\",\"peers\":[]}",
	  "node_id: node id 'Node A'" },
	{ WITH_PEERS("7"), "peers[1]: must be an object" },
	{ WITH_PEERS("{\"public_key\":\"" KEY_B "\",\"membership\":\"ALLOWED\"}"),
	  "peers[1].node_id: missing" },
	{ WITH_PEERS("{\"node_id\":\"../etc\",\"public_key\":\"" KEY_B "\",\"membership\":\"ALLOWED\"}"),
	  "peers[1].node_id: node id '../etc'" },
	{ WITH_PEERS("{\"node_id\":\"node-x\",\"membership\":\"ALLOWED\"}"),
	  "peers[1].public_key: missing" },
	{ WITH_PEERS("{\"node_id\":\"node-x\",\"public_key\":\"abc\",\"membership\":\"ALLOWED\"}"),
	  "peers[1].public_key: key must be 32 bytes" },
	{ WITH_PEERS("{\"node_id\":\"node-x\",\"public_key\":\"xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8D!=\",\"membership\":\"ALLOWED\"}"),
	  "peers[1].public_key: not a base64" },
	{ WITH_PEERS("{\"node_id\":\"node-x\",\"public_key\":\"" KEY_B "\"}"),
	  "peers[1].membership: missing" },
	{ WITH_PEERS("{\"node_id\":\"node-x\",\"public_key\":\"" KEY_B "\",\"membership\":\"QUARANTINE\"}"),
	  "peers[1].membership: unknown verdict 'QUARANTINE'" },
	{ WITH_PEERS(PEER(",\"allowed_ips\":\"10.0.0.1/32\"")),
	  "peers[1].allowed_ips: must be an array" },
	{ WITH_PEERS(PEER(",\"allowed_ips\":[\"10.0.0.1/32\",\"10.0.0.1/24\"]")),
	  "peers[1].allowed_ips[1]: prefix '10.0.0.1/24' has host bits set" },
	{ WITH_PEERS(PEER(",\"allowed_ips\":[\"10.0.0.1/32\",5]")),
	  "peers[1].allowed_ips[1]: must be a string" },
	{ WITH_PEERS(PEER(",\"endpoint\":\"192.0.2.1\"")),
	  "peers[1].endpoint: endpoint '192.0.2.1'" },
	{ WITH_PEERS(PEER(",\"endpoint\":51820")), "peers[1].endpoint: must be a string" },
	{ WITH_PEERS(PEER(",\"psk\":\"short\"")), "peers[1].psk: key must be 32 bytes" },
	{ WITH_PEERS("{\"node_id\":\"node-x\",\"public_key\":\"" KEY_B "\",\"membership\":\"DENIED\",\"psk\":\"" PSK_1 "\"}"),
	  "peers[1].psk: a DENIED peer must not carry a PSK" },
	{ WITH_PEERS(PEER(",\"reason\":\"tab\\there\"")),
	  "peers[1].reason: reason contains a control character" },
	{ WITH_PEERS("{\"node_id\":\"node-x\",\"public_key\":\"" KEY_A "\",\"membership\":\"ALLOWED\"}"),
	  "peers[1].public_key: same key as peers[0]" },
};

TEST(epoch_json_errors)
{
	struct meshnet_epoch e;
	char err[512];
	size_t i;

	for (i = 0; i < ARRAY_SIZE(epoch_cases); i++) {
		const struct epoch_case *c = &epoch_cases[i];
		int ret = meshnet_epoch_parse(c->json, strlen(c->json), &e, err, sizeof(err));

		TH_LOG("case %zu: %s", i, c->json);
		ASSERT_EQ(-EINVAL, ret);
		ASSERT_NE(NULL, strstr(err, c->error)) TH_LOG("got: %s", err);
		/* nothing left allocated */
		ASSERT_EQ(NULL, e.peers);
	}
}

TEST(epoch_json_too_many_prefixes)
{
	char *json = malloc(65536), *p;
	struct meshnet_epoch e;
	char err[512];
	int i;

	ASSERT_NE(NULL, json);
	p = json + sprintf(json, "{\"epoch\":{\"id\":3,\"expiry_unix\":5},\"membership\":"
			   "\"ALLOWED\",\"peers\":[{\"node_id\":\"n\",\"public_key\":\"%s\","
			   "\"membership\":\"ALLOWED\",\"allowed_ips\":[", KEY_A);
	for (i = 0; i <= MESHNET_MAX_ALLOWEDIPS; i++)
		p += sprintf(p, "%s\"10.0.%d.%d/32\"", i ? "," : "", i / 256, i % 256);
	strcpy(p, "]}]}");
	ASSERT_EQ(-EINVAL, meshnet_epoch_parse(json, strlen(json), &e, err, sizeof(err)));
	ASSERT_NE(NULL, strstr(err, "peers[0].allowed_ips: more than 64 prefixes"));
	free(json);
}

TEST(epoch_json_whitespace)
{
	static const char padded[] = " \n{\"epoch\":{\"id\":9,\"expiry_unix\":5},"
		"\"membership\":\"ALLOWED\",\"peers\":[]}\n\n\t ";
	static const char junk[] = "{\"epoch\":{\"id\":9,\"expiry_unix\":5},"
		"\"membership\":\"ALLOWED\",\"peers\":[]} x";
	struct meshnet_epoch e;
	char err[512];

	ASSERT_EQ(0, meshnet_epoch_parse(padded, strlen(padded), &e, err, sizeof(err)))
		TH_LOG("%s", err);
	meshnet_epoch_free(&e);
	ASSERT_EQ(-EINVAL, meshnet_epoch_parse(junk, strlen(junk), &e, err, sizeof(err)));
	ASSERT_NE(NULL, strstr(err, "trailing data"));
}

/* The host kernel has no meshnet family: the library says so. */
TEST(nl_open_without_module)
{
	struct meshnet_nl *nl = (struct meshnet_nl *)1;
	char err[512] = "";

	ASSERT_EQ(-ENOENT, meshnet_nl_open(&nl, err, sizeof(err)));
	ASSERT_EQ(NULL, nl);
	ASSERT_NE(NULL, strstr(err, "meshnet module not loaded")) TH_LOG("%s", err);
}

/* -------------------------------------------------- the binary itself -- */

TEST(binary_without_module)
{
	static const char *const needs_module[] = {
		"", "show", "show --json", "show wg0", "show wg0 peers", "show wg0 epoch",
		"peers", "peers --json", "attach wg0", "detach wg0",
		"policy unknown drop", "self verdict allowed", "set-peer " KEY_A " verdict allowed",
		"del-peer " KEY_A, "reset-counters", "epoch abort", "monitor",
	};
	char cmd[512], out[8192];
	size_t i;

	for (i = 0; i < ARRAY_SIZE(needs_module); i++) {
		snprintf(cmd, sizeof(cmd), "%s %s", meshnetctl(), needs_module[i]);
		TH_LOG("%s", cmd);
		ASSERT_EQ(1, run(cmd, out, sizeof(out))) TH_LOG("output: %s", out);
		ASSERT_NE(NULL, strstr(out, "meshnet module not loaded")) TH_LOG("output: %s", out);
	}
}

TEST(binary_usage_errors)
{
	static const struct {
		const char *args;
		const char *message;
	} cases[] = {
		{ "frobnicate", "unknown subcommand 'frobnicate'" },
		{ "show wg0 nosuchfield", "unknown field 'nosuchfield'" },
		{ "show wg0 peers extra", "unexpected argument 'extra'" },
		{ "show --json wg0 peers", "--json shows every field, not 'peers'" },
		{ "show averyveryverylongname0", "bad device name 'averyveryverylongname0'" },
		{ "show --colour", "unknown argument '--colour'" },
		{ "set-peer bad-key verdict allowed", "bad public key 'bad-key'" },
		{ "set-peer " KEY_A " verdict allowed allowed-ips 10.0.0.1/8",
		  "prefix '10.0.0.1/8' has host bits set" },
		{ "set-peer " KEY_A " verdict allowed endpoint 1.2.3.4", "endpoint '1.2.3.4'" },
		{ "set-peer " KEY_A " verdict nope", "unknown verdict 'nope'" },
		{ "del-peer " KEY_A "x", "bad public key" },
		{ "policy grace forever", "grace: 'forever' is not" },
		{ "policy", "nothing to set" },
		{ "attach", "expected one device name" },
		{ "attach averyveryverylongname0", "bad device name" },
		{ "peers --colour", "unknown argument '--colour'" },
		{ "monitor --count 0", "--count: bad number '0'" },
		{ "epoch", "missing apply, check or abort" },
		{ "epoch apply", "missing FILE.json" },
		{ "epoch apply /nonexistent.json", "cannot open /nonexistent.json" },
		{ "epoch abort 0", "bad EPOCH_ID '0'" },
	};
	char cmd[512], out[8192];
	size_t i;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		snprintf(cmd, sizeof(cmd), "%s %s", meshnetctl(), cases[i].args);
		TH_LOG("%s", cmd);
		ASSERT_EQ(2, run(cmd, out, sizeof(out))) TH_LOG("output: %s", out);
		ASSERT_NE(NULL, strstr(out, cases[i].message)) TH_LOG("output: %s", out);
	}
}

TEST(binary_help)
{
	static const char *const subs[] = {
		"show", "peers", "monitor", "attach", "detach", "policy", "self", "set-peer",
		"del-peer", "epoch", "reset-counters",
	};
	char cmd[512], out[8192], want[64];
	size_t i;

	snprintf(cmd, sizeof(cmd), "%s help", meshnetctl());
	ASSERT_EQ(0, run(cmd, out, sizeof(out)));
	for (i = 0; i < ARRAY_SIZE(subs); i++) {
		ASSERT_NE(NULL, strstr(out, subs[i]));
		snprintf(cmd, sizeof(cmd), "%s %s --help", meshnetctl(), subs[i]);
		ASSERT_EQ(0, run(cmd, out, sizeof(out))) TH_LOG("%s: %s", cmd, out);
		snprintf(want, sizeof(want), "Usage: meshnetctl %s", subs[i]);
		ASSERT_NE(NULL, strstr(out, want)) TH_LOG("%s: %s", cmd, out);
		snprintf(cmd, sizeof(cmd), "%s help", meshnetctl());
		ASSERT_EQ(0, run(cmd, out, sizeof(out)));
	}
}

TEST(binary_epoch_files)
{
	char path[] = "/tmp/cli-args-epoch.XXXXXX", cmd[512], out[8192];
	int fd = mkstemp(path);

	ASSERT_LE(0, fd);
	close(fd);
	/* a good file: check works without the module, apply needs it */
	write_file(path, good_epoch, 0600);
	snprintf(cmd, sizeof(cmd), "%s epoch check %s", meshnetctl(), path);
	ASSERT_EQ(0, run(cmd, out, sizeof(out))) TH_LOG("%s", out);
	ASSERT_NE(NULL, strstr(out, "epoch 3 expiry 1767616556 self ALLOWED: 2 peers (1 denied)"))
		TH_LOG("%s", out);
	snprintf(cmd, sizeof(cmd), "%s epoch apply %s", meshnetctl(), path);
	ASSERT_EQ(1, run(cmd, out, sizeof(out)));
	ASSERT_NE(NULL, strstr(out, "meshnet module not loaded")) TH_LOG("%s", out);
	snprintf(cmd, sizeof(cmd), "%s epoch check - < %s", meshnetctl(), path);
	ASSERT_EQ(0, run(cmd, out, sizeof(out))) TH_LOG("%s", out);
	/* a bad file is refused before talking to the kernel, naming the field */
	write_file(path, WITH_PEERS(PEER(",\"allowed_ips\":[\"10.0.0.1/32\",\"10.0.0.1/24\"]")),
		   0600);
	snprintf(cmd, sizeof(cmd), "%s epoch apply %s", meshnetctl(), path);
	ASSERT_EQ(2, run(cmd, out, sizeof(out)));
	ASSERT_NE(NULL, strstr(out, "peers[1].allowed_ips[1]: prefix '10.0.0.1/24' has host bits set"))
		TH_LOG("%s", out);
	ASSERT_NE(NULL, strstr(out, path));
	unlink(path);
}

TEST_HARNESS_MAIN
