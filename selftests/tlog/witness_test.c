// SPDX-License-Identifier: MIT
/*
 * Witness mode, with the real programs: build/san/meshnetd (WITNESS_URL)
 * and build/san/meshnet-witness on loopback, plus the agent's checkpoint
 * monitor (userspace/agent/monitor.c, REQUIRE_WITNESS) at unit level.
 *
 *   meshnetd --witness-url http://127.0.0.1:W  --->  meshnet-witness --log meshnetd/meshnet=PUB
 *        |  GET /v1/log/checkpoint (cosigned)            ^  POST /add-checkpoint (forks, rollbacks,
 *        v                                               |   bad keys, sent by this test)
 *   agent_monitor_accept()  <---  this test  ------------+
 */
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "kselftest_harness.h"

#include "../../userspace/agent/monitor.h"
#include "../controller/client.h"
#include "b64.h"
#include "sign.h"
#include "signing_key.h"
#include "strbuf.h"
#include "tlog/checkpoint.h"
#include "tlog/witness.h"

#define TOKEN "witness-test-token-0123456789abcdef"
#define WNAME "witness.test"
#define ORIGIN "meshnetd/meshnet"

struct rig {
	char dir[PATH_MAX];
	char bin[PATH_MAX];
	uint16_t port, wport;
	pid_t pid, wpid;
	char pub[64];			/* controller.pub, base64 */
	char vkey[TLOG_VKEY_MAX];	/* the witness's verifier key */
	EVP_PKEY *key;			/* the controller's key (as a thief would hold it) */
};

static int run_capture(const char *cmd, char *out, size_t cap)
{
	FILE *p = popen(cmd, "r");
	size_t n = 0;

	if (!p)
		return -1;
	if (fgets(out, (int)cap, p))
		n = strlen(out);
	while (n && (out[n - 1] == '\n' || out[n - 1] == '\r'))
		out[--n] = '\0';
	return pclose(p) == 0 && n ? 0 : -1;
}

static int witness_start(struct rig *g)
{
	char wdir[PATH_MAX + 8], log[PATH_MAX + 16], listen[32], logarg[128];
	const char *argv[] = { NULL, "--state-dir", wdir, "--name", WNAME, "--log", logarg,
			       "--listen", listen, NULL };
	char wbin[PATH_MAX + 32];

	snprintf(wbin, sizeof(wbin), "%s/meshnet-witness", g->bin);
	snprintf(wdir, sizeof(wdir), "%s/w", g->dir);
	snprintf(log, sizeof(log), "%s/witness.log", g->dir);
	snprintf(listen, sizeof(listen), "127.0.0.1:%u", g->wport);
	snprintf(logarg, sizeof(logarg), ORIGIN "=%s", g->pub);
	argv[0] = wbin;
	g->wpid = mn_spawn(argv, log);
	/* its /health is the same route name as meshnetd's */
	return g->wpid > 0 ? mn_wait_healthy(g->wport, g->wpid, 20000) : -1;
}

static void stop(pid_t *pid, int sig)
{
	int st;

	if (*pid > 0) {
		kill(*pid, sig);
		waitpid(*pid, &st, 0);
	}
	*pid = 0;
}

static int rig_start(struct rig *g)
{
	char cmd[3 * PATH_MAX], state[PATH_MAX + 8], token[PATH_MAX + 16], log[PATH_MAX + 16],
		listen[32], wurl[64], mbin[PATH_MAX + 16], path[PATH_MAX + 32];
	const char *argv[] = { NULL, "--listen", listen, "--state-dir", state, "--admin-token-file",
			       token, "--witness-url", wurl, "--epoch-seconds", "300", NULL };
	ssize_t n;
	int fd;

	memset(g, 0, sizeof(*g));
	n = readlink("/proc/self/exe", path, sizeof(path) - 1);
	path[n > 0 ? n : 0] = '\0';
	snprintf(g->bin, sizeof(g->bin), "%s", dirname(path));
	snprintf(g->dir, sizeof(g->dir), "/tmp/meshnet-witness-test.XXXXXX");
	if (!mkdtemp(g->dir))
		return -1;
	snprintf(state, sizeof(state), "%s/state", g->dir);
	snprintf(token, sizeof(token), "%s/admin.token", g->dir);
	fd = open(token, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || write(fd, TOKEN "\n", strlen(TOKEN) + 1) < 0)
		return -1;
	close(fd);
	snprintf(mbin, sizeof(mbin), "%s/meshnetd", g->bin);
	snprintf(cmd, sizeof(cmd), "'%s' pubkey --state-dir '%s' 2>/dev/null", mbin, state);
	if (run_capture(cmd, g->pub, sizeof(g->pub)))
		return -1;
	snprintf(cmd, sizeof(cmd), "'%s/meshnet-witness' pubkey --state-dir '%s/w' --name " WNAME,
		 g->bin, g->dir);
	if (run_capture(cmd, g->vkey, sizeof(g->vkey)))
		return -1;
	snprintf(path, sizeof(path), "%s/controller.key", state);
	g->key = meshnet_signing_key_load(path, NULL, false);
	g->port = mn_free_port();
	g->wport = mn_free_port();
	if (!g->key || witness_start(g))
		return -1;
	snprintf(listen, sizeof(listen), "127.0.0.1:%u", g->port);
	snprintf(wurl, sizeof(wurl), "http://127.0.0.1:%u", g->wport);
	snprintf(log, sizeof(log), "%s/meshnetd.log", g->dir);
	argv[0] = mbin;
	g->pid = mn_spawn(argv, log);
	return g->pid > 0 ? mn_wait_healthy(g->port, g->pid, 30000) : -1;
}

static void rig_stop(struct rig *g)
{
	char cmd[PATH_MAX + 16];

	stop(&g->pid, SIGTERM);
	stop(&g->wpid, SIGTERM);
	EVP_PKEY_free(g->key);
	if (getenv("KEEP_TEST_DIR") || !g->dir[0])
		return;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", g->dir);
	if (system(cmd))
		fprintf(stderr, "could not remove %s\n", g->dir);
}

/* The served checkpoint once it has the witness's line and is at least min_size. */
static int cosigned_note(struct rig *g, uint64_t min_size, struct strbuf *note, uint64_t *size)
{
	for (int waited = 0; waited < 30000; waited += 100) {
		struct mn_response r;
		struct tlog_checkpoint cp;
		const char *blank;

		if (!mn_do(g->port, "GET", "/v1/log/checkpoint", "", NULL, &r) && r.status == 200 &&
		    strstr(r.body, "\xe2\x80\x94 " WNAME " ") &&
		    (blank = strstr(r.body, "\n\n")) &&
		    !tlog_checkpoint_parse(r.body, (size_t)(blank - r.body) + 1, &cp) &&
		    cp.size >= min_size) {
			note->len = 0;
			strbuf_append(note, r.body, r.body_len);
			*size = cp.size;
			mn_response_free(&r);
			return 0;
		}
		mn_response_free(&r);
		usleep(100000);
	}
	return -1;
}

/* The controller's line alone (what it signed before any witness). */
static void strip_witness(struct strbuf *note)
{
	char *w = strstr(note->buf, "\xe2\x80\x94 " WNAME " ");

	if (w) {
		*w = '\0';
		note->len = (size_t)(w - note->buf);
	}
}

static int admin_post(struct rig *g, const char *path)
{
	struct mn_response r;
	int st;

	if (mn_do(g->port, "POST", path, "Authorization: Bearer " TOKEN "\r\n", "", &r))
		return -1;
	st = r.status;
	mn_response_free(&r);
	return st == 200 ? 0 : -1;
}

/* POST /add-checkpoint to the witness; status, body into out. */
static int add_checkpoint(struct rig *g, uint64_t old, const tlog_hash *proof, size_t n,
			  const char *note, size_t len, struct strbuf *out)
{
	struct mn_response r;
	struct strbuf body;
	int st;

	strbuf_init(&body);
	tlog_witness_request_format(&body, old, proof, n, note, len);
	if (mn_do(g->wport, "POST", TLOG_WITNESS_PATH, "Content-Type: text/plain\r\n", body.buf,
		  &r)) {
		strbuf_free(&body);
		return -1;
	}
	strbuf_free(&body);
	st = r.status;
	if (out) {
		out->len = 0;
		strbuf_append(out, r.body ? r.body : "", r.body_len);
	}
	mn_response_free(&r);
	return st;
}

/* A checkpoint of (origin, size, root) signed by key under origin. */
static void forge(struct strbuf *out, const char *origin, uint64_t size, uint8_t fill,
		  EVP_PKEY *key)
{
	struct tlog_checkpoint cp;

	memset(&cp, 0, sizeof(cp));
	snprintf(cp.origin, sizeof(cp.origin), "%s", origin);
	cp.size = size;
	memset(cp.root, fill, sizeof(cp.root));
	out->len = 0;
	tlog_checkpoint_sign(out, &cp, origin, key);
}

/* GET /v1/log/proof/consistency?from=&to= into proof. */
static int consistency(struct rig *g, uint64_t from, uint64_t to, tlog_hash *proof, size_t *n)
{
	struct json_object *o, *list;
	struct mn_response r;
	char target[96];
	int ret = -1;

	snprintf(target, sizeof(target), "/v1/log/proof/consistency?from=%llu&to=%llu",
		 (unsigned long long)from, (unsigned long long)to);
	if (mn_do(g->port, "GET", target, "", NULL, &r) || r.status != 200) {
		mn_response_free(&r);
		return -1;
	}
	o = json_tokener_parse(r.body);
	if (o && json_object_object_get_ex(o, "proof", &list)) {
		*n = json_object_array_length(list);
		ret = 0;
		for (size_t i = 0; i < *n && i < TLOG_MAX_PROOF; i++)
			if (tlog_hash_from_b64(proof[i], json_object_get_string(
					       json_object_array_get_idx(list, i))))
				ret = -1;
	}
	json_object_put(o);
	mn_response_free(&r);
	return ret;
}

FIXTURE(witness) {
	struct rig g;
};

FIXTURE_SETUP(witness)
{
	ASSERT_EQ(0, rig_start(&self->g)) TH_LOG("meshnetd + meshnet-witness did not start (%s)",
						  self->g.dir);
}

FIXTURE_TEARDOWN(witness)
{
	rig_stop(&self->g);
}

TEST_F(witness, checkpoints_are_cosigned_as_the_log_grows)
{
	struct tlog_note_verifier v[2];
	struct tlog_checkpoint cp;
	struct mn_response r;
	struct strbuf note;
	uint64_t size1, size2, verified;
	uint8_t pub[32];

	strbuf_init(&note);
	ASSERT_EQ(0, cosigned_note(&self->g, 1, &note, &size1)) TH_LOG("no cosigned checkpoint");
	ASSERT_EQ(0, meshnet_b64_decode_exact(pub, 32, self->g.pub));
	ASSERT_EQ(TLOG_OK, tlog_verifier_from_pub(&v[0], ORIGIN, pub));
	ASSERT_EQ(TLOG_OK, tlog_verifier_parse(&v[1], self->g.vkey));
	ASSERT_EQ(TLOG_OK, tlog_checkpoint_open(note.buf, note.len, v, 2, ORIGIN, &cp, &verified));
	EXPECT_EQ(3, verified) TH_LOG("the controller and the witness signed it");
	/* new records (an epoch): a larger tree, cosigned again */
	ASSERT_EQ(0, admin_post(&self->g, "/v1/rotate"));
	ASSERT_EQ(0, cosigned_note(&self->g, size1 + 1, &note, &size2));
	EXPECT_GT(size2, size1);
	ASSERT_EQ(TLOG_OK, tlog_checkpoint_open(note.buf, note.len, v, 2, ORIGIN, &cp, &verified));
	EXPECT_EQ(3, verified);
	/* the witness's counters */
	ASSERT_EQ(0, mn_do(self->g.port, "GET", "/metrics", "", NULL, &r));
	EXPECT_NE(NULL, strstr(r.body, "meshnet_witness_cosigned_total{witness=\"http://"));
	EXPECT_NE(NULL, strstr(r.body, "meshnet_witness_failures_total"));
	mn_response_free(&r);
	strbuf_free(&note);
	tlog_verifier_free(&v[0]);
	tlog_verifier_free(&v[1]);
}

TEST_F(witness, forks_rollbacks_and_bad_checkpoints_are_refused)
{
	struct strbuf note, forged, out;
	tlog_hash proof[TLOG_MAX_PROOF];
	uint64_t held, got, h1;
	struct mn_response r;
	size_t n = 0;
	EVP_PKEY *other;
	uint8_t seed[32], pub[32];
	char want[32];

	strbuf_init(&note);
	strbuf_init(&forged);
	strbuf_init(&out);
	ASSERT_EQ(0, cosigned_note(&self->g, 1, &note, &held));
	strip_witness(&note);
	/* the size it holds: a 409 says it */
	ASSERT_EQ(409, add_checkpoint(&self->g, 0, NULL, 0, note.buf, note.len, &out));
	snprintf(want, sizeof(want), "%llu\n", (unsigned long long)held);
	EXPECT_STREQ(want, out.buf);
	/* the same checkpoint again, from the size it holds: cosigned (idempotent) */
	EXPECT_EQ(200, add_checkpoint(&self->g, held, NULL, 0, note.buf, note.len, &out));
	EXPECT_NE(NULL, strstr(out.buf, "\xe2\x80\x94 " WNAME " ")) TH_LOG("%s", out.buf);

	/* a fork: same size, another root, signed with the log's own (stolen) key */
	forge(&forged, ORIGIN, held, 0x5a, self->g.key);
	EXPECT_EQ(422, add_checkpoint(&self->g, held, NULL, 0, forged.buf, forged.len, &out))
		TH_LOG("%s", out.buf);
	/* the log grows (meshnetd has it cosigned), then a larger fork with a real proof of
	 * another prefix: the proof does not lead to its root */
	ASSERT_EQ(0, admin_post(&self->g, "/v1/rotate"));
	h1 = held;
	ASSERT_EQ(0, cosigned_note(&self->g, h1 + 1, &note, &held));
	strip_witness(&note);
	ASSERT_EQ(0, consistency(&self->g, h1, held, proof, &n));
	forge(&forged, ORIGIN, held + 1, 0x33, self->g.key);
	EXPECT_EQ(422, add_checkpoint(&self->g, held, proof, n, forged.buf, forged.len, &out))
		TH_LOG("%s", out.buf);
	/* a rollback: a smaller tree than it holds */
	forge(&forged, ORIGIN, held - 1, 0x11, self->g.key);
	EXPECT_EQ(400, add_checkpoint(&self->g, held, NULL, 0, forged.buf, forged.len, &out))
		TH_LOG("old beyond the checkpoint: %s", out.buf);
	EXPECT_EQ(409, add_checkpoint(&self->g, held - 1, NULL, 0, forged.buf, forged.len, &out));
	EXPECT_EQ(0, tlog_witness_size_parse(out.buf, out.len, &got));
	EXPECT_GE(got, held) TH_LOG("it still holds what it cosigned");
	/* another key under the log's name */
	ASSERT_EQ(0, meshnet_ed25519_generate(seed, pub));
	other = meshnet_ed25519_private_from_raw(seed);
	forge(&forged, ORIGIN, held + 1, 0x44, other);
	EXPECT_EQ(403, add_checkpoint(&self->g, held, NULL, 0, forged.buf, forged.len, &out));
	/* a log it does not witness */
	forge(&forged, "meshnetd/other", 3, 0x44, other);
	EXPECT_EQ(404, add_checkpoint(&self->g, 0, NULL, 0, forged.buf, forged.len, &out));
	EVP_PKEY_free(other);
	/* malformed bodies */
	ASSERT_EQ(0, mn_do(self->g.wport, "POST", TLOG_WITNESS_PATH, "", "old x\n\nnote", &r));
	EXPECT_EQ(400, r.status);
	EXPECT_NE(NULL, strstr(r.body, "\"error\":{\"code\":\"bad_request\""));
	mn_response_free(&r);
	ASSERT_EQ(0, mn_do(self->g.wport, "GET", TLOG_WITNESS_PATH, "", NULL, &r));
	EXPECT_EQ(405, r.status);
	mn_response_free(&r);
	/* nothing refused changed its state; a restart keeps it (durable) */
	stop(&self->g.wpid, SIGTERM);
	ASSERT_EQ(0, witness_start(&self->g));
	EXPECT_EQ(409, add_checkpoint(&self->g, 0, NULL, 0, note.buf, note.len, &out));
	EXPECT_EQ(0, tlog_witness_size_parse(out.buf, out.len, &got));
	EXPECT_GE(got, held);
	/* and the controller's own checkpoints keep being cosigned after its restart */
	ASSERT_EQ(0, admin_post(&self->g, "/v1/rotate"));
	EXPECT_EQ(0, cosigned_note(&self->g, got + 1, &note, &got));
	strbuf_free(&note);
	strbuf_free(&forged);
	strbuf_free(&out);
}

TEST_F(witness, agent_requires_witness_signatures)
{
	char tmp[PATH_MAX + 8], err[256], why[256], bad_vkey[TLOG_VKEY_MAX];
	struct strbuf old_note, note, plain, wrong;
	tlog_hash proof[TLOG_MAX_PROOF];
	struct agent_monitor m;
	uint64_t old_size, size;
	uint8_t pub[32], seed[32], wpub[32];
	EVP_PKEY *impostor;
	const char *blank;
	size_t n = 0;

	snprintf(tmp, sizeof(tmp), "%s/agent", self->g.dir);
	ASSERT_EQ(0, mkdir(tmp, 0700));
	ASSERT_EQ(0, meshnet_b64_decode_exact(pub, 32, self->g.pub));
	ASSERT_EQ(0, agent_monitor_init(&m, tmp, pub, "meshnet", err, sizeof(err))) TH_LOG("%s", err);
	/* bad settings are refused, naming the key */
	EXPECT_EQ(-1, agent_monitor_require_witnesses(&m, self->g.vkey, 2, err, sizeof(err)));
	EXPECT_NE(NULL, strstr(err, "WITNESS_QUORUM"));
	EXPECT_EQ(0, m.n_witnesses) TH_LOG("a refused setting leaves none");
	/* a controller-style (0x01) key is no witness key */
	snprintf(bad_vkey, sizeof(bad_vkey), "%s", self->g.vkey);
	EXPECT_EQ(-1, agent_monitor_require_witnesses(&m, "meshnetd/meshnet+00000000+AQ==", 0, err,
						      sizeof(err)));
	EXPECT_EQ(-1, agent_monitor_require_witnesses(&m, "w+00000000+AAAA", 0, err, sizeof(err)));
	EXPECT_NE(NULL, strstr(err, "REQUIRE_WITNESS")) TH_LOG("%s", err);
	ASSERT_EQ(0, agent_monitor_require_witnesses(&m, self->g.vkey, 0, err, sizeof(err)))
		TH_LOG("%s", err);
	EXPECT_EQ(1, m.quorum);

	strbuf_init(&old_note);
	strbuf_init(&note);
	strbuf_init(&plain);
	strbuf_init(&wrong);
	ASSERT_EQ(0, cosigned_note(&self->g, 1, &old_note, &old_size));
	/* the controller's signature alone: refused, nothing held */
	strbuf_append(&plain, old_note.buf, old_note.len);
	strip_witness(&plain);
	EXPECT_EQ(-1, agent_monitor_accept(&m, plain.buf, plain.len, NULL, 0, why, sizeof(why)));
	EXPECT_NE(NULL, strstr(why, "witness")) TH_LOG("%s", why);
	EXPECT_EQ(1, m.unwitnessed);
	EXPECT_FALSE(m.have);
	/* cosigned by another key under the witness's name: refused */
	ASSERT_EQ(0, meshnet_ed25519_generate(seed, wpub));
	impostor = meshnet_ed25519_private_from_raw(seed);
	strbuf_append(&wrong, plain.buf, plain.len);
	blank = strstr(plain.buf, "\n\n");
	ASSERT_EQ(TLOG_OK, tlog_note_cosignature_line(&wrong, plain.buf,
						      (size_t)(blank - plain.buf) + 1, WNAME,
						      impostor, (uint64_t)time(NULL)));
	EVP_PKEY_free(impostor);
	EXPECT_EQ(-1, agent_monitor_accept(&m, wrong.buf, wrong.len, NULL, 0, why, sizeof(why)));
	EXPECT_EQ(2, m.unwitnessed) TH_LOG("%s", why);
	EXPECT_FALSE(m.have);
	/* witnessed: accepted and stored */
	ASSERT_EQ(0, agent_monitor_accept(&m, old_note.buf, old_note.len, NULL, 0, why, sizeof(why)))
		TH_LOG("%s", why);
	EXPECT_TRUE(m.have);
	EXPECT_EQ(old_size, m.held.size);
	/* the log grows: the newer cosigned checkpoint with the proof from the held size */
	ASSERT_EQ(0, admin_post(&self->g, "/v1/rotate"));
	ASSERT_EQ(0, cosigned_note(&self->g, old_size + 1, &note, &size));
	ASSERT_EQ(0, consistency(&self->g, old_size, size, proof, &n));
	ASSERT_EQ(0, agent_monitor_accept(&m, note.buf, note.len, proof, n, why, sizeof(why)))
		TH_LOG("%s", why);
	EXPECT_EQ(size, m.held.size);
	/* an older checkpoint offered again (a rollback), even properly signed: refused */
	EXPECT_EQ(-1, agent_monitor_accept(&m, old_note.buf, old_note.len, NULL, 0, why,
					   sizeof(why)));
	EXPECT_NE(NULL, strstr(why, "does not extend")) TH_LOG("%s", why);
	EXPECT_EQ(size, m.held.size) TH_LOG("the held checkpoint stays");
	agent_monitor_free(&m);
	/* it survives a restart of the agent */
	ASSERT_EQ(0, agent_monitor_init(&m, tmp, pub, "meshnet", err, sizeof(err)));
	EXPECT_TRUE(m.have);
	EXPECT_EQ(size, m.held.size);
	agent_monitor_free(&m);
	strbuf_free(&old_note);
	strbuf_free(&note);
	strbuf_free(&plain);
	strbuf_free(&wrong);
}

TEST_HARNESS_MAIN
