// SPDX-License-Identifier: MIT
/*
 * The transparency log on disk (userspace/controller/tlog_store.c) and the
 * offline tools (meshnetd audit-verify / audit ...): appends and proofs,
 * restart without rehashing, a torn tail repaired, a crash (kill -9) after
 * a commit loses nothing, and each form of tampering caught: a record
 * changed, removed from the middle, removed from the tail, the log
 * replaced by a forked one, a checkpoint with a wrong signature.
 */
#include <errno.h>
#include <fcntl.h>
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
#include <openssl/evp.h>

#include "kselftest_harness.h"

#include "../../userspace/controller/tlog_store.h"
#include "b64.h"
#include "fileio.h"
#include "log.h"
#include "sign.h"
#include "strbuf.h"
#include "tlog/checkpoint.h"

#define ORIGIN "meshnetd/test"

static EVP_PKEY *test_key(uint8_t fill, char pub_path[PATH_MAX], const char *dir)
{
	uint8_t seed[32], pub[32];
	char b64[48];
	EVP_PKEY *k;
	FILE *f;

	memset(seed, fill, sizeof(seed));
	k = meshnet_ed25519_private_from_raw(seed);
	if (!k || meshnet_ed25519_public_raw(k, pub))
		return NULL;
	meshnet_b64_encode(b64, pub, 32);
	snprintf(pub_path, PATH_MAX, "%s/controller-%02x.pub", dir, fill);
	f = fopen(pub_path, "w");
	if (!f)
		return NULL;
	fprintf(f, "%s\n", b64);
	fclose(f);
	return k;
}

static void record(struct strbuf *sb, uint64_t i, const char *what)
{
	sb->len = 0;
	strbuf_printf(sb, "{\"index\":%llu,\"time\":\"2026-12-01T10:00:00Z\",\"type\":\"%s\","
		      "\"n\":%llu}", (unsigned long long)i, what, (unsigned long long)i);
}

static int append_n(struct tlog_store *ts, uint64_t from, uint64_t n, const char *what)
{
	struct strbuf sb;
	uint64_t i, idx;

	strbuf_init(&sb);
	for (i = from; i < from + n; i++) {
		record(&sb, i, what);
		if (tlog_store_append(ts, sb.buf, sb.len, &idx) || idx != i) {
			strbuf_free(&sb);
			return -1;
		}
	}
	strbuf_free(&sb);
	return tlog_store_commit(ts);
}

static int run(const char *cmd)
{
	int st = system(cmd);

	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void meshnetd(char *out, size_t cap)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

	self[n > 0 ? n : 0] = '\0';
	*strrchr(self, '/') = '\0';
	snprintf(out, cap, "%s/meshnetd", self);
}

FIXTURE(tl) {
	char dir[64], logdir[96], pub[PATH_MAX], other_pub[PATH_MAX], bin[PATH_MAX];
	EVP_PKEY *key, *other;
};

FIXTURE_SETUP(tl)
{
	snprintf(self->dir, sizeof(self->dir), "/tmp/tlog-test.XXXXXX");
	ASSERT_NE(NULL, mkdtemp(self->dir));
	snprintf(self->logdir, sizeof(self->logdir), "%s/tlog", self->dir);
	self->key = test_key(1, self->pub, self->dir);
	self->other = test_key(2, self->other_pub, self->dir);
	ASSERT_NE(NULL, self->key);
	ASSERT_NE(NULL, self->other);
	meshnetd(self->bin, sizeof(self->bin));
	meshnet_log_init("tlog-test", MESHNET_LOG_WARN);
}

FIXTURE_TEARDOWN(tl)
{
	char cmd[128];

	EVP_PKEY_free(self->key);
	EVP_PKEY_free(self->other);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", self->dir);
	if (!getenv("KEEP_TEST_DIR") && system(cmd))
		fprintf(stderr, "could not remove %s\n", self->dir);
}

static int verify_cmd(struct __test_metadata *_metadata, FIXTURE_DATA(tl) *self, const char *grep)
{
	char cmd[3 * PATH_MAX];

	if (grep)
		snprintf(cmd, sizeof(cmd), "'%s' audit-verify '%s' --key '%s' | grep -q '%s'",
			 self->bin, self->logdir, self->pub, grep);
	else
		snprintf(cmd, sizeof(cmd), "'%s' audit-verify '%s' --key '%s' >/dev/null",
			 self->bin, self->logdir, self->pub);
	return run(cmd);
}

TEST_F(tl, append_prove_reopen_without_rehash)
{
	struct tlog_checkpoint c1, c2;
	struct tlog_note_verifier v;
	tlog_hash proof[TLOG_MAX_PROOF];
	uint8_t root[32], leaf[32], pub[32];
	struct tlog_store *ts;
	struct strbuf note, rec;
	uint64_t verified, size, i;
	size_t len, plen;

	ts = tlog_store_open(self->logdir, ORIGIN, self->key);
	ASSERT_NE(NULL, ts);
	ASSERT_EQ(0, append_n(ts, 0, 3000, "first"));
	tlog_store_head(ts, &size, root);
	EXPECT_EQ(3000, size);
	ASSERT_EQ(0, meshnet_ed25519_public_raw(self->key, pub));
	ASSERT_EQ(TLOG_OK, tlog_verifier_from_pub(&v, ORIGIN, pub));
	strbuf_init(&note);
	ASSERT_EQ(0, tlog_store_checkpoint(ts, &note));
	ASSERT_EQ(TLOG_OK, tlog_checkpoint_open(note.buf, note.len, &v, 1, ORIGIN, &c1, &verified));
	EXPECT_EQ(3000, c1.size);
	EXPECT_EQ(0, memcmp(root, c1.root, 32));
	strbuf_init(&rec);
	for (i = 0; i < 3000; i += 97) {
		rec.len = 0;
		ASSERT_EQ(TLOG_OK, tlog_store_record(ts, i, &rec));
		tlog_hash_leaf(leaf, rec.buf, rec.len);
		ASSERT_EQ(TLOG_OK, tlog_store_prove_inclusion(ts, i, 3000, proof, &plen));
		ASSERT_EQ(TLOG_OK, tlog_verify_inclusion(i, 3000, leaf, proof, plen, c1.root));
	}
	/* appended but not committed: invisible to readers */
	rec.len = 0;
	strbuf_puts(&rec, "{\"index\":3000,\"time\":\"2026-12-01T10:00:00Z\",\"type\":\"pending\"}");
	ASSERT_EQ(0, tlog_store_append(ts, rec.buf, rec.len, NULL));
	EXPECT_EQ(TLOG_ERR_RANGE, tlog_store_record(ts, 3000, &rec));
	EXPECT_EQ(TLOG_ERR_RANGE, tlog_store_prove_inclusion(ts, 0, 3001, proof, &plen));
	EXPECT_EQ(1, tlog_store_pending(ts));
	ASSERT_EQ(0, tlog_store_commit(ts));
	/* bad records are refused and change nothing */
	EXPECT_EQ(-1, tlog_store_append(ts, "a\nb", 3, NULL));
	EXPECT_EQ(-1, tlog_store_append(ts, "", 0, NULL));
	EXPECT_EQ(0, tlog_store_pending(ts));
	tlog_store_close(ts);

	/* reopen: same head, nothing re-derived; the log continues */
	ts = tlog_store_open(self->logdir, ORIGIN, self->key);
	ASSERT_NE(NULL, ts);
	tlog_store_head(ts, &size, NULL);
	EXPECT_EQ(3001, size);
	ASSERT_EQ(0, append_n(ts, 3001, 1000, "second"));
	note.len = 0;
	ASSERT_EQ(0, tlog_store_checkpoint(ts, &note));
	ASSERT_EQ(TLOG_OK, tlog_checkpoint_open(note.buf, note.len, &v, 1, ORIGIN, &c2, &verified));
	ASSERT_EQ(TLOG_OK, tlog_store_prove_consistency(ts, 3000, c2.size, proof, &plen));
	EXPECT_EQ(TLOG_OK, tlog_checkpoint_extends(&c1, &c2, proof, plen));
	EXPECT_EQ(TLOG_ERR_RANGE, tlog_store_prove_consistency(ts, 10, c2.size + 1, proof, &plen));
	len = 0;
	(void)len;
	tlog_store_close(ts);
	/* the offline verifier agrees */
	EXPECT_EQ(0, verify_cmd(_metadata, self, NULL));
	/* opening with another key: the checkpoint does not verify, refused */
	EXPECT_EQ(NULL, tlog_store_open(self->logdir, ORIGIN, self->other));
	/* and another name */
	EXPECT_EQ(NULL, tlog_store_open(self->logdir, "meshnetd/other", self->key));
	strbuf_free(&note);
	strbuf_free(&rec);
	tlog_verifier_free(&v);
}

TEST_F(tl, torn_tail_is_repaired_and_crash_loses_nothing_committed)
{
	char path[PATH_MAX + 64];
	struct tlog_store *ts;
	uint64_t size;
	pid_t pid;
	int st, fd;

	ts = tlog_store_open(self->logdir, ORIGIN, self->key);
	ASSERT_NE(NULL, ts);
	ASSERT_EQ(0, append_n(ts, 0, 100, "a"));
	tlog_store_close(ts);
	/* a crash mid-write: half a record at the end */
	snprintf(path, sizeof(path), "%s/records-000000.jsonl", self->logdir);
	fd = open(path, O_WRONLY | O_APPEND);
	ASSERT_GE(fd, 0);
	ASSERT_EQ(9, write(fd, "{\"index\":", 9));
	close(fd);
	ts = tlog_store_open(self->logdir, ORIGIN, self->key);
	ASSERT_NE(NULL, ts) TH_LOG("a torn tail is repaired, not fatal");
	tlog_store_head(ts, &size, NULL);
	EXPECT_EQ(100, size);
	ASSERT_EQ(0, append_n(ts, 100, 5, "b"));
	tlog_store_close(ts);
	EXPECT_EQ(0, verify_cmd(_metadata, self, NULL));

	/* kill -9 right after commits, before any clean close or sync mark */
	pid = fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		ts = tlog_store_open(self->logdir, ORIGIN, self->key);
		if (!ts || append_n(ts, 105, 300, "c"))
			_exit(1);
		kill(getpid(), SIGKILL);
		_exit(2);
	}
	ASSERT_EQ(pid, waitpid(pid, &st, 0));
	ASSERT_TRUE(WIFSIGNALED(st));
	ts = tlog_store_open(self->logdir, ORIGIN, self->key);
	ASSERT_NE(NULL, ts);
	tlog_store_head(ts, &size, NULL);
	EXPECT_EQ(405, size) TH_LOG("every committed record survives kill -9");
	tlog_store_close(ts);
	EXPECT_EQ(0, verify_cmd(_metadata, self, NULL));

	/* killed between append and commit: the uncommitted record may stay (it was
	 * written) but nothing committed is lost and the log still verifies */
	pid = fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		ts = tlog_store_open(self->logdir, ORIGIN, self->key);
		static const char r[] = "{\"index\":405,\"time\":\"2026-12-01T10:00:00Z\","
					"\"type\":\"x\"}";

		if (!ts || tlog_store_append(ts, r, strlen(r), NULL))
			_exit(1);
		kill(getpid(), SIGKILL);
		_exit(2);
	}
	ASSERT_EQ(pid, waitpid(pid, &st, 0));
	ts = tlog_store_open(self->logdir, ORIGIN, self->key);
	ASSERT_NE(NULL, ts);
	tlog_store_head(ts, &size, NULL);
	EXPECT_GE(size, 405);
	tlog_store_close(ts);
	EXPECT_EQ(0, verify_cmd(_metadata, self, NULL));
}

static int edit_file(const char *path, const char *from, const char *to)
{
	size_t len;
	char *text = meshnet_read_file(path, 1 << 26, &len), *p;
	FILE *f;

	if (!text)
		return -1;
	p = strstr(text, from);
	if (!p || strlen(from) != strlen(to)) {
		free(text);
		return -1;
	}
	memcpy(p, to, strlen(to));
	f = fopen(path, "w");
	if (!f) {
		free(text);
		return -1;
	}
	fwrite(text, 1, len, f);
	fclose(f);
	free(text);
	return 0;
}

/* Removes the line holding `needle` (in place). */
static int remove_line(const char *path, const char *needle)
{
	size_t len;
	char *text = meshnet_read_file(path, 1 << 26, &len), *p, *nl;
	FILE *f;

	if (!text)
		return -1;
	p = strstr(text, needle);
	if (!p) {
		free(text);
		return -1;
	}
	while (p > text && p[-1] != '\n')
		p--;
	nl = strchr(p, '\n');
	memmove(p, nl + 1, len - (size_t)(nl + 1 - text));
	len -= (size_t)(nl + 1 - p);
	f = fopen(path, "w");
	if (!f) {
		free(text);
		return -1;
	}
	fwrite(text, 1, len, f);
	fclose(f);
	free(text);
	return 0;
}

static void make_log(struct __test_metadata *_metadata, FIXTURE_DATA(tl) *self, uint64_t n)
{
	struct tlog_store *ts = tlog_store_open(self->logdir, ORIGIN, self->key);

	ASSERT_NE(NULL, ts);
	ASSERT_EQ(0, append_n(ts, 0, n, "r"));
	tlog_store_close(ts);
	ASSERT_EQ(0, verify_cmd(_metadata, self, NULL));
}

TEST_F(tl, record_changed)
{
	char path[PATH_MAX + 64];

	make_log(_metadata, self, 50);
	snprintf(path, sizeof(path), "%s/records-000000.jsonl", self->logdir);
	ASSERT_EQ(0, edit_file(path, "\"n\":17}", "\"n\":71}"));
	EXPECT_EQ(1, verify_cmd(_metadata, self, NULL));
	EXPECT_EQ(0, verify_cmd(_metadata, self, "record 17: changed"));
}

TEST_F(tl, record_changed_and_hashes_rewritten)
{
	char path[PATH_MAX + 64], cmd[3 * PATH_MAX];

	make_log(_metadata, self, 50);
	snprintf(path, sizeof(path), "%s/records-000000.jsonl", self->logdir);
	ASSERT_EQ(0, edit_file(path, "\"n\":17}", "\"n\":71}"));
	/* an attacker re-derives the stored hashes too: the signed root still differs */
	snprintf(cmd, sizeof(cmd), "rm -f '%s'/hashes-* '%s'/index-* '%s/synced'", self->logdir,
		 self->logdir, self->logdir);
	ASSERT_EQ(0, run(cmd));
	EXPECT_EQ(1, verify_cmd(_metadata, self, NULL));
	EXPECT_EQ(0, verify_cmd(_metadata, self, "do not hash to the checkpoint"));
	/* and meshnetd refuses to continue it (the re-derived tree disagrees) */
	EXPECT_EQ(NULL, tlog_store_open(self->logdir, ORIGIN, self->key));
}

TEST_F(tl, record_removed_from_the_middle)
{
	char path[PATH_MAX + 64];

	make_log(_metadata, self, 50);
	snprintf(path, sizeof(path), "%s/records-000000.jsonl", self->logdir);
	ASSERT_EQ(0, remove_line(path, "\"index\":20,"));
	EXPECT_EQ(1, verify_cmd(_metadata, self, NULL));
	EXPECT_EQ(0, verify_cmd(_metadata, self, "record 20: holds index 21"));
}

TEST_F(tl, records_removed_from_the_tail)
{
	char path[PATH_MAX + 64];
	size_t len;
	char *text, *p;
	int k;

	make_log(_metadata, self, 50);
	snprintf(path, sizeof(path), "%s/records-000000.jsonl", self->logdir);
	text = meshnet_read_file(path, 1 << 20, &len);
	ASSERT_NE(NULL, text);
	p = text + len;
	for (k = 0; k < 5; k++) {
		p--;
		while (p > text && p[-1] != '\n')
			p--;
	}
	ASSERT_EQ(0, truncate(path, p - text));
	free(text);
	EXPECT_EQ(1, verify_cmd(_metadata, self, NULL));
	EXPECT_EQ(0, verify_cmd(_metadata, self, "removed from the tail"));
	EXPECT_EQ(NULL, tlog_store_open(self->logdir, ORIGIN, self->key))
		TH_LOG("meshnetd must not continue a log shorter than its checkpoint");
}

TEST_F(tl, forked_log_and_old_checkpoints)
{
	char cmd[4 * PATH_MAX], old[PATH_MAX + 64], cp[PATH_MAX + 64];
	struct tlog_store *ts;

	make_log(_metadata, self, 40);
	snprintf(old, sizeof(old), "%s/old-checkpoint", self->dir);
	snprintf(cp, sizeof(cp), "%s/checkpoint", self->logdir);
	snprintf(cmd, sizeof(cmd), "cp '%s' '%s'", cp, old);
	ASSERT_EQ(0, run(cmd));
	/* the honest log grows: the old checkpoint is a prefix */
	ts = tlog_store_open(self->logdir, ORIGIN, self->key);
	ASSERT_NE(NULL, ts);
	ASSERT_EQ(0, append_n(ts, 40, 25, "more"));
	tlog_store_close(ts);
	snprintf(cmd, sizeof(cmd), "'%s' audit check-checkpoint '%s' --key '%s' --log '%s' >/dev/null",
		 self->bin, old, self->pub, self->logdir);
	EXPECT_EQ(0, run(cmd));
	snprintf(cmd, sizeof(cmd), "'%s' audit check-checkpoint '%s' --key '%s' --old '%s' --log '%s' "
		 ">/dev/null", self->bin, cp, self->pub, old, self->logdir);
	EXPECT_EQ(0, run(cmd));
	/* an older checkpoint offered as the newer one: a rollback */
	snprintf(cmd, sizeof(cmd), "'%s' audit check-checkpoint '%s' --key '%s' --old '%s' | "
		 "grep -q 'rolled back'", self->bin, old, self->pub, cp);
	EXPECT_EQ(0, run(cmd));

	/* the whole log replaced by a fork (same key, other history): caught by the old checkpoint */
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", self->logdir);
	ASSERT_EQ(0, run(cmd));
	ts = tlog_store_open(self->logdir, ORIGIN, self->key);
	ASSERT_NE(NULL, ts);
	ASSERT_EQ(0, append_n(ts, 0, 65, "forked"));
	tlog_store_close(ts);
	EXPECT_EQ(0, verify_cmd(_metadata, self, NULL)) TH_LOG("a fork is self-consistent");
	snprintf(cmd, sizeof(cmd), "'%s' audit check-checkpoint '%s' --key '%s' --log '%s' | "
		 "grep -q 'forked or was rewritten'", self->bin, old, self->pub, self->logdir);
	EXPECT_EQ(0, run(cmd));
	snprintf(cmd, sizeof(cmd), "'%s' audit check-checkpoint '%s' --key '%s' --log '%s' >/dev/null",
		 self->bin, old, self->pub, self->logdir);
	EXPECT_EQ(1, run(cmd));
}

TEST_F(tl, checkpoint_with_a_wrong_signature)
{
	char cmd[3 * PATH_MAX], path[PATH_MAX + 64];

	make_log(_metadata, self, 10);
	snprintf(path, sizeof(path), "%s/checkpoint", self->logdir);
	/* another key: refused offline and on open */
	snprintf(cmd, sizeof(cmd), "'%s' audit-verify '%s' --key '%s' >/dev/null", self->bin,
		 self->logdir, self->other_pub);
	EXPECT_EQ(1, run(cmd));
	/* a checkpoint whose size was edited: its signature no longer matches */
	ASSERT_EQ(0, edit_file(path, "\n10\n", "\n11\n"));
	EXPECT_EQ(1, verify_cmd(_metadata, self, NULL));
	EXPECT_EQ(0, verify_cmd(_metadata, self, "signature does not verify"));
	snprintf(cmd, sizeof(cmd), "'%s' audit check-checkpoint '%s' --key '%s' >/dev/null",
		 self->bin, path, self->pub);
	EXPECT_EQ(1, run(cmd));
	EXPECT_EQ(NULL, tlog_store_open(self->logdir, ORIGIN, self->key));
}

TEST_F(tl, cli_bad_arguments_and_proofs)
{
	char cmd[3 * PATH_MAX];

	make_log(_metadata, self, 30);
	snprintf(cmd, sizeof(cmd), "'%s' audit prove '%s' 12 --key '%s' | grep -q "
		 "'\"verified\":\"against the signed checkpoint\"'", self->bin, self->logdir, self->pub);
	EXPECT_EQ(0, run(cmd));
	snprintf(cmd, sizeof(cmd), "'%s' audit show '%s' 3 | grep -q '\"index\":3,'", self->bin,
		 self->logdir);
	EXPECT_EQ(0, run(cmd));
	snprintf(cmd, sizeof(cmd), "'%s' audit show '%s' 5-7 | wc -l | grep -qx 3", self->bin,
		 self->logdir);
	EXPECT_EQ(0, run(cmd));
	/* bad inputs: a message and exit 2 */
	snprintf(cmd, sizeof(cmd), "'%s' audit prove '%s' 30 --key '%s' 2>/dev/null", self->bin,
		 self->logdir, self->pub);
	EXPECT_EQ(2, run(cmd));
	snprintf(cmd, sizeof(cmd), "'%s' audit prove '%s' x 2>/dev/null", self->bin, self->logdir);
	EXPECT_EQ(2, run(cmd));
	snprintf(cmd, sizeof(cmd), "'%s' audit show '%s' 7-5 2>/dev/null", self->bin, self->logdir);
	EXPECT_EQ(2, run(cmd));
	snprintf(cmd, sizeof(cmd), "'%s' audit frobnicate 2>&1 | grep -q \"unknown subcommand "
		 "'frobnicate'\"", self->bin);
	EXPECT_EQ(0, run(cmd));
	snprintf(cmd, sizeof(cmd), "'%s' audit check-checkpoint '%s/checkpoint' 2>&1 | grep -q "
		 "'key KEY is required'", self->bin, self->logdir);
	EXPECT_EQ(0, run(cmd));
	snprintf(cmd, sizeof(cmd), "'%s' audit-verify /nonexistent/dir 2>/dev/null >/dev/null",
		 self->bin);
	EXPECT_EQ(2, run(cmd));
	snprintf(cmd, sizeof(cmd), "'%s' audit-verify '%s' --key /nonexistent >/dev/null 2>&1",
		 self->bin, self->logdir);
	EXPECT_EQ(2, run(cmd));
}

/* A log with one enrolment and one DENIED verdict carrying (maybe forged) evidence. */
static void evidence_log(struct __test_metadata *_metadata, FIXTURE_DATA(tl) *self,
			 EVP_PKEY *signer, double overall, const char *reason, const char *extra)
{
	struct meshnet_signed_headers h;
	struct tlog_store *ts;
	uint8_t seed[32], pub[32];
	char body[512], b64body[1024], pub_b64[48], when[32];
	EVP_PKEY *node;
	struct strbuf sb;
	int64_t now = 1796000000;
	struct tm tm;
	time_t t = (time_t)now - 5;

	memset(seed, 9, sizeof(seed));
	node = meshnet_ed25519_private_from_raw(seed);
	ASSERT_NE(NULL, node);
	ASSERT_EQ(0, meshnet_ed25519_public_raw(node, pub));
	meshnet_b64_encode(pub_b64, pub, 32);
	gmtime_r(&t, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	snprintf(body, sizeof(body), "{\"node_id\":\"node-b\",\"suite_version\":\"s1\",\"timestamp\":"
		 "\"%s\",\"scores\":{\"overall\":%.2f,\"refusal\":0.9,\"honesty\":0.9,\"policy\":0.9}}",
		 when, overall);
	ASSERT_EQ(0, meshnet_sign_request(signer ? signer : node, "test", "node-b", "POST",
					  "/v1/benchmarks/node-b", body, strlen(body), now - 4, &h));
	meshnet_b64_encode(b64body, (const uint8_t *)body, strlen(body));
	ts = tlog_store_open(self->logdir, ORIGIN, self->key);
	ASSERT_NE(NULL, ts);
	strbuf_init(&sb);
	strbuf_printf(&sb, "{\"index\":0,\"time\":\"2026-12-01T10:00:00Z\",\"type\":\"enrol\","
		      "\"node_id\":\"node-b\",\"public_key\":\"x\",\"signing_key\":\"%s\"}", pub_b64);
	ASSERT_EQ(0, tlog_store_append(ts, sb.buf, sb.len, NULL));
	sb.len = 0;
	strbuf_printf(&sb, "{\"index\":1,\"time\":\"2026-12-01T10:00:01Z\",\"type\":\"verdict\","
		      "\"node_id\":\"node-b\",\"from\":\"ALLOWED\",\"to\":\"DENIED\",\"reason\":\"%s\","
		      "\"epoch\":3,\"rule\":{\"name\":\"membership-v1\",\"threshold\":0.7,"
		      "\"min_refusal\":0,\"min_honesty\":0,\"min_policy\":0,\"max_benchmark_age\":60},"
		      "\"decided_unix\":%lld,\"evidence\":{\"method\":\"POST\",\"path\":"
		      "\"/v1/benchmarks/node-b\",\"timestamp\":\"%s\",\"nonce\":\"%s\",\"signature\":"
		      "\"%s\",\"body\":\"%s\",\"received\":%lld}%s}", reason, (long long)now, h.timestamp,
		      h.nonce, h.signature, b64body, (long long)now, extra ? extra : "");
	ASSERT_EQ(0, tlog_store_append(ts, sb.buf, sb.len, NULL));
	ASSERT_EQ(0, tlog_store_commit(ts));
	strbuf_free(&sb);
	tlog_store_close(ts);
	EVP_PKEY_free(node);
}

TEST_F(tl, evidence_of_a_denied_is_rechecked_offline)
{
	evidence_log(_metadata, self, NULL, 0.20, "score 0.20 < threshold 0.70", NULL);
	EXPECT_EQ(0, verify_cmd(_metadata, self, NULL));
	EXPECT_EQ(0, verify_cmd(_metadata, self, "node-b DENIED re-checked: its own signed "
				"submission (overall 0.20) fails the rule"));
	EXPECT_EQ(0, verify_cmd(_metadata, self, "1 re-checked from the node.s signed submission"));
}

TEST_F(tl, evidence_not_signed_by_the_node_is_refused)
{
	/* the controller (or whoever holds its key) made up a submission */
	evidence_log(_metadata, self, self->other, 0.20, "score 0.20 < threshold 0.70", NULL);
	EXPECT_EQ(1, verify_cmd(_metadata, self, NULL));
	EXPECT_EQ(0, verify_cmd(_metadata, self, "signature does not verify with the node.s "
				"enrolled key"));
}

TEST_F(tl, evidence_that_passes_the_rule_is_refused)
{
	evidence_log(_metadata, self, NULL, 0.90, "score 0.20 < threshold 0.70", NULL);
	EXPECT_EQ(1, verify_cmd(_metadata, self, NULL));
	EXPECT_EQ(0, verify_cmd(_metadata, self, "its own submission passes the rule"));
}

TEST_F(tl, evidence_with_another_reason_is_refused)
{
	evidence_log(_metadata, self, NULL, 0.20, "refusal 0.10 < minimum 0.50", NULL);
	EXPECT_EQ(1, verify_cmd(_metadata, self, NULL));
	EXPECT_EQ(0, verify_cmd(_metadata, self, "but the rule gives"));
}

TEST_F(tl, pinned_denied_needs_an_admin_pin)
{
	evidence_log(_metadata, self, NULL, 0.90, "pinned DENIED by admin", NULL);
	EXPECT_EQ(1, verify_cmd(_metadata, self, NULL));
	EXPECT_EQ(0, verify_cmd(_metadata, self, "no admin pin precedes it"));
}

TEST_F(tl, statement_fields_let_a_monitor_follow_the_log)
{
	struct tlog_checkpoint held, newer;
	struct tlog_note_verifier v;
	tlog_hash proof[TLOG_MAX_PROOF];
	struct json_object *o, *p;
	struct tlog_store *ts;
	uint8_t pub[32];
	uint64_t verified, size;
	struct strbuf sb;
	size_t n;

	ASSERT_EQ(0, meshnet_ed25519_public_raw(self->key, pub));
	ASSERT_EQ(TLOG_OK, tlog_verifier_from_pub(&v, ORIGIN, pub));
	ts = tlog_store_open(self->logdir, ORIGIN, self->key);
	ASSERT_NE(NULL, ts);
	ASSERT_EQ(0, append_n(ts, 0, 37, "a"));
	strbuf_init(&sb);
	strbuf_puts(&sb, "{\"v\":2");
	ASSERT_EQ(TLOG_OK, tlog_store_render_statement_fields(ts, 0, &sb, &size));
	strbuf_puts(&sb, "}");
	EXPECT_EQ(37, size);
	o = json_tokener_parse(sb.buf);
	ASSERT_NE(NULL, o) TH_LOG("%s", sb.buf);
	ASSERT_TRUE(json_object_object_get_ex(o, "checkpoint", &p));
	ASSERT_EQ(TLOG_OK, tlog_checkpoint_open(json_object_get_string(p),
						(size_t)json_object_get_string_len(p), &v, 1, ORIGIN,
						&held, &verified));
	json_object_put(o);
	ASSERT_EQ(0, append_n(ts, 37, 20, "b"));
	sb.len = 0;
	strbuf_puts(&sb, "{\"v\":2");
	ASSERT_EQ(TLOG_OK, tlog_store_render_statement_fields(ts, held.size, &sb, &size));
	strbuf_puts(&sb, "}");
	o = json_tokener_parse(sb.buf);
	ASSERT_NE(NULL, o);
	ASSERT_TRUE(json_object_object_get_ex(o, "checkpoint", &p));
	ASSERT_EQ(TLOG_OK, tlog_checkpoint_open(json_object_get_string(p),
						(size_t)json_object_get_string_len(p), &v, 1, ORIGIN,
						&newer, &verified));
	ASSERT_TRUE(json_object_object_get_ex(o, "consistency_proof", &p));
	for (n = 0; n < json_object_array_length(p); n++)
		ASSERT_EQ(TLOG_OK, tlog_hash_from_b64(proof[n], json_object_get_string(
					json_object_array_get_idx(p, n))));
	json_object_put(o);
	EXPECT_EQ(57, newer.size);
	EXPECT_EQ(TLOG_OK, tlog_checkpoint_extends(&held, &newer, proof, n));
	/* a receiver that holds more than the log: no proof, so it refuses */
	sb.len = 0;
	ASSERT_EQ(TLOG_OK, tlog_store_render_statement_fields(ts, 99, &sb, NULL));
	EXPECT_EQ(NULL, strstr(sb.buf, "consistency_proof"));
	strbuf_free(&sb);
	tlog_store_close(ts);
	tlog_verifier_free(&v);
}

TEST_HARNESS_MAIN
