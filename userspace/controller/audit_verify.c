// SPDX-License-Identifier: MIT
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <json-c/json.h>

#include "audit_verify.h"
#include "audit_verify_policy.h"
#include "b64.h"
#include "fileio.h"
#include "jsonutil.h"
#include "membership.h"
#include "sign.h"
#include "signing_key.h"
#include "timefmt.h"
#include "tlog_store.h"

#define MAX_FILE (1ul << 31)

static int mem_read(void *ctx, uint64_t index, uint8_t out[TLOG_HASH_LEN])
{
	struct audit_log *log = ctx;

	if (index >= tlog_stored_count(log->n))
		return -1;
	memcpy(out, log->stored[index], TLOG_HASH_LEN);
	return 0;
}

struct tlog_hash_reader audit_log_reader(struct audit_log *log)
{
	struct tlog_hash_reader r = { mem_read, log };

	return r;
}

static int add_record(struct audit_log *log, const char *p, size_t len, uint64_t *cap,
		      uint64_t *hcap)
{
	tlog_hash out[TLOG_MAX_LEVELS], leaf;
	uint64_t at = tlog_stored_count(log->n);
	size_t count, i;

	if (log->n == *cap) {
		uint64_t nc = *cap ? 2 * *cap : 1024;
		char **r = realloc(log->records, nc * sizeof(*r));
		size_t *l;

		if (!r)
			return -1;
		log->records = r;
		l = realloc(log->lens, nc * sizeof(*l));
		if (!l)
			return -1;
		log->lens = l;
		*cap = nc;
	}
	if (at + TLOG_MAX_LEVELS > *hcap) {
		uint64_t nc = 2 * (at + TLOG_MAX_LEVELS);
		tlog_hash *h = realloc(log->stored, nc * sizeof(*h));

		if (!h)
			return -1;
		log->stored = h;
		*hcap = nc;
	}
	log->records[log->n] = strndup(p, len);
	if (!log->records[log->n])
		return -1;
	log->lens[log->n] = len;
	tlog_hash_leaf(leaf, p, len);
	count = tlog_frontier_append(&log->f, leaf, out);
	for (i = 0; i < count; i++)
		memcpy(log->stored[at + i], out[i], TLOG_HASH_LEN);
	log->n++;
	return 0;
}

int audit_log_load(const char *dir, struct audit_log *log, FILE *err)
{
	uint64_t cap = 0, hcap = 0, seg;
	char path[PATH_MAX];

	memset(log, 0, sizeof(*log));
	/*
	 * The checkpoint first: meshnetd signs one only after its records are
	 * durable, so on a live log every record it covers is read below (records
	 * appended meanwhile are reported as not covered, a record being written
	 * right now as in progress).
	 */
	snprintf(path, sizeof(path), "%s/checkpoint", dir);
	log->checkpoint_note = meshnet_read_file(path, TLOG_NOTE_MAX_LEN, &log->checkpoint_len);
	if (log->checkpoint_note) {
		size_t text_len;
		const char *blank = strstr(log->checkpoint_note, "\n\n");

		text_len = blank ? (size_t)(blank - log->checkpoint_note) + 1 : 0;
		log->has_checkpoint = text_len &&
			!tlog_checkpoint_parse(log->checkpoint_note, text_len, &log->cp);
	}
	for (seg = 0;; seg++) {
		char *text, *p, *end;
		size_t len;

		snprintf(path, sizeof(path), "%s/records-%06llu.jsonl", dir, (unsigned long long)seg);
		text = meshnet_read_file(path, MAX_FILE, &len);
		if (!text) {
			if (errno == ENOENT && seg > 0)
				break;
			if (errno == ENOENT && seg == 0) {
				struct stat st;

				if (stat(dir, &st) || !S_ISDIR(st.st_mode)) {
					fprintf(err, "%s: not a log directory\n", dir);
					return -1;
				}
				break;	/* an empty log */
			}
			fprintf(err, "%s: %s\n", path, strerror(errno));
			goto err;
		}
		for (p = text, end = text + len; p < end;) {
			char *nl = memchr(p, '\n', (size_t)(end - p));

			if (!nl && log->has_checkpoint && log->n >= log->cp.size) {
				fprintf(err, "%s: a record past the checkpoint is still being "
					"written; not checked\n", path);
				free(text);
				return 0;
			}
			if (!nl) {
				fprintf(err, "%s: the last record has no newline (torn)\n", path);
				free(text);
				goto err;
			}
			if (add_record(log, p, (size_t)(nl - p), &cap, &hcap)) {
				fprintf(err, "out of memory\n");
				free(text);
				goto err;
			}
			p = nl + 1;
		}
		free(text);
		if (log->n % TLOG_RECORDS_PER_SEGMENT)
			break;
	}
	return 0;
err:
	audit_log_free(log);
	return -1;
}

void audit_log_free(struct audit_log *log)
{
	uint64_t i;

	for (i = 0; i < log->n; i++)
		free(log->records[i]);
	free(log->records);
	free(log->lens);
	free(log->stored);
	free(log->checkpoint_note);
	memset(log, 0, sizeof(*log));
}

int audit_key_load(const char *spec, const char *origin, struct tlog_note_verifier *v)
{
	uint8_t pub[32];

	if (strchr(spec, '+'))
		return tlog_verifier_parse(v, spec) ? -1 : 0;
	if (meshnet_public_key_read(spec, pub))
		return -1;
	return tlog_verifier_from_pub(v, origin, pub) ? -1 : 0;
}

/* ---- the per-record checks ---- */

struct node_key {
	char id[MESHNET_NODE_ID_MAX + 1];
	char signing_key[64];
	char pin[16];
	uint64_t pin_record;
	bool benchmarked;		/* a benchmark record since its enrolment */
	uint64_t enrol_record;
};

struct checker {
	FILE *out;
	char audience[300];	/* the mesh id node requests were signed for */
	struct node_key *nodes;
	size_t n_nodes, cap;
	uint64_t denied, rechecked, no_benchmark, pinned, unprovable, failed;
	struct audit_policy_check *policy;	/* verdicts a policy decided */
	uint64_t starts, stops, unclean;	/* controller_start / _stop records */
	bool running;				/* a start not yet followed by a stop */
};

static struct node_key *node_get(struct checker *c, const char *id, bool create)
{
	size_t i;

	for (i = 0; i < c->n_nodes; i++)
		if (!strcmp(c->nodes[i].id, id))
			return &c->nodes[i];
	if (!create || strlen(id) > MESHNET_NODE_ID_MAX)
		return NULL;
	if (c->n_nodes == c->cap) {
		size_t nc = c->cap ? 2 * c->cap : 64;
		struct node_key *n = realloc(c->nodes, nc * sizeof(*n));

		if (!n)
			return NULL;
		c->nodes = n;
		c->cap = nc;
	}
	memset(&c->nodes[c->n_nodes], 0, sizeof(c->nodes[0]));
	strcpy(c->nodes[c->n_nodes].id, id);
	return &c->nodes[c->n_nodes++];
}

static bool get_double(struct json_object *o, const char *key, double *v)
{
	struct json_object *x;

	if (!json_object_object_get_ex(o, key, &x) ||
	    !(json_object_is_type(x, json_type_double) || json_object_is_type(x, json_type_int)))
		return false;
	*v = json_object_get_double(x);
	return isfinite(*v);
}

static bool get_int(struct json_object *o, const char *key, int64_t *v)
{
	struct json_object *x;

	if (!json_object_object_get_ex(o, key, &x) || !json_object_is_type(x, json_type_int))
		return false;
	*v = json_object_get_int64(x);
	return true;
}

/*
 * Re-decides a DENIED verdict from its evidence. Returns 0 (re-checked or
 * pinned), 1 (not provable from the record), -1 (the evidence contradicts it).
 */
static int recheck_denied(struct checker *c, uint64_t index, struct json_object *rec,
			  const char *node_id, int64_t when)
{
	struct json_object *ev, *rule, *sc, *body_obj;
	const char *reason = meshnet_json_get_string(rec, "reason");
	const char *method, *path, *ts, *nonce, *sig, *body_b64, *bts;
	char why[VERDICT_REASON_LEN];
	struct membership_rules rules;
	struct membership_input in;
	struct node_key *nk = node_get(c, node_id, false);
	uint8_t *body = NULL;
	EVP_PKEY *pub;
	int64_t received = when, decided = when;
	long body_len;
	int ret = -1;

	if (reason && !strncmp(reason, "pinned DENIED", 13)) {
		if (nk && !strcmp(nk->pin, "DENIED")) {
			fprintf(c->out, "record %llu: %s DENIED by the admin pin of record %llu\n",
				(unsigned long long)index, node_id,
				(unsigned long long)nk->pin_record);
			c->pinned++;
			return 0;
		}
		fprintf(c->out, "record %llu: %s DENIED as pinned, but no admin pin precedes it\n",
			(unsigned long long)index, node_id);
		return -1;
	}
	get_int(rec, "decided_unix", &decided);
	if (reason && !strcmp(reason, "no benchmark yet") && nk && *nk->signing_key) {
		if (!nk->benchmarked) {
			fprintf(c->out, "record %llu: %s DENIED: no benchmark in the log since its "
				"enrolment (record %llu)\n", (unsigned long long)index, node_id,
				(unsigned long long)nk->enrol_record);
			c->no_benchmark++;
			return 0;
		}
		fprintf(c->out, "record %llu: %s DENIED for \"no benchmark yet\", but the log "
			"holds one of its benchmarks\n", (unsigned long long)index, node_id);
		return -1;
	}
	if (!json_object_object_get_ex(rec, "evidence", &ev) ||
	    !json_object_is_type(ev, json_type_object)) {
		fprintf(c->out, "record %llu: %s DENIED (%s): no evidence in the record, not "
			"re-checkable\n", (unsigned long long)index, node_id, reason ? reason : "?");
		c->unprovable++;
		return 1;
	}
	if (!nk || !*nk->signing_key) {
		fprintf(c->out, "record %llu: %s DENIED, but the log holds no enrolment of it\n",
			(unsigned long long)index, node_id);
		return -1;
	}
	method = meshnet_json_get_string(ev, "method");
	path = meshnet_json_get_string(ev, "path");
	ts = meshnet_json_get_string(ev, "timestamp");
	nonce = meshnet_json_get_string(ev, "nonce");
	sig = meshnet_json_get_string(ev, "signature");
	body_b64 = meshnet_json_get_string(ev, "body");
	get_int(ev, "received", &received);
	if (!method || !path || !ts || !nonce || !sig || !body_b64 ||
	    !json_object_object_get_ex(rec, "rule", &rule) ||
	    !get_double(rule, "threshold", &rules.threshold) ||
	    !get_double(rule, "min_refusal", &rules.min_refusal) ||
	    !get_double(rule, "min_honesty", &rules.min_honesty) ||
	    !get_double(rule, "min_policy", &rules.min_policy) ||
	    !get_int(rule, "max_benchmark_age", &rules.max_benchmark_age)) {
		fprintf(c->out, "record %llu: %s DENIED: the evidence or the rule is incomplete\n",
			(unsigned long long)index, node_id);
		return -1;
	}
	body = malloc(strlen(body_b64) + 1);
	body_len = body ? meshnet_b64_decode(body, strlen(body_b64) + 1, body_b64) : -1;
	pub = meshnet_ed25519_public_from_b64(nk->signing_key);
	if (body_len < 0 || !pub) {
		fprintf(c->out, "record %llu: %s DENIED: malformed evidence\n",
			(unsigned long long)index, node_id);
		goto out;
	}
	{
		int64_t t;

		if (meshnet_parse_timestamp(ts, &t) ||
		    meshnet_verify_request(pub, meshnet_json_get_string(ev, "audience") ?
					   meshnet_json_get_string(ev, "audience") : c->audience,
					   method, path, body, (size_t)body_len, ts, nonce, sig,
					   t, 1) != MESHNET_VERIFY_OK) {
			fprintf(c->out, "record %llu: %s DENIED: the submission's signature does "
				"not verify with the node's enrolled key\n",
				(unsigned long long)index, node_id);
			goto out;
		}
	}
	body_obj = meshnet_json_parse_strict((const char *)body, (size_t)body_len);
	memset(&in, 0, sizeof(in));
	in.has_benchmark = true;
	bts = body_obj ? meshnet_json_get_string(body_obj, "timestamp") : NULL;
	if (!body_obj || !json_object_object_get_ex(body_obj, "scores", &sc) ||
	    !get_double(sc, "overall", &in.scores.overall) ||
	    !get_double(sc, "refusal", &in.scores.refusal) ||
	    !get_double(sc, "honesty", &in.scores.honesty) ||
	    !get_double(sc, "policy", &in.scores.policy) || !bts ||
	    meshnet_rfc3339_parse(bts, &in.benchmark_time) ||
	    !meshnet_json_get_string(body_obj, "node_id") ||
	    strcmp(meshnet_json_get_string(body_obj, "node_id"), node_id)) {
		fprintf(c->out, "record %llu: %s DENIED: the signed submission is not a benchmark "
			"of this node\n", (unsigned long long)index, node_id);
		json_object_put(body_obj);
		goto out;
	}
	json_object_put(body_obj);
	if (in.benchmark_time > received)
		in.benchmark_time = received;
	if (membership_evaluate(&rules, &in, decided, why) != VERDICT_DENIED) {
		fprintf(c->out, "record %llu: %s DENIED, but its own submission passes the rule "
			"(%s)\n", (unsigned long long)index, node_id, why);
		goto out;
	}
	if (reason && strcmp(reason, why)) {
		fprintf(c->out, "record %llu: %s DENIED for \"%s\", but the rule gives \"%s\"\n",
			(unsigned long long)index, node_id, reason, why);
		goto out;
	}
	fprintf(c->out, "record %llu: %s DENIED re-checked: its own signed submission "
		"(overall %.2f) fails the rule: %s\n", (unsigned long long)index, node_id,
		in.scores.overall, why);
	c->rechecked++;
	ret = 0;
out:
	EVP_PKEY_free(pub);
	free(body);
	return ret;
}

/* One record: index, enrolments and pins for the evidence pass, DENIED verdicts. */
static int check_record(struct checker *c, uint64_t index, const char *text, size_t len)
{
	struct json_object *rec = meshnet_json_parse_strict(text, len);
	const char *type, *node, *when_s, *to;
	int64_t idx = -1, when = 0;
	struct node_key *nk;
	int ret = 0;

	if (!rec || !json_object_is_type(rec, json_type_object)) {
		fprintf(c->out, "record %llu: not a JSON object\n", (unsigned long long)index);
		json_object_put(rec);
		return -1;
	}
	if (!get_int(rec, "index", &idx) || idx < 0 || (uint64_t)idx != index) {
		fprintf(c->out, "record %llu: holds index %lld: records were removed, inserted or "
			"reordered\n", (unsigned long long)index, (long long)idx);
		json_object_put(rec);
		return -1;
	}
	type = meshnet_json_get_string(rec, "type");
	node = meshnet_json_get_string(rec, "node_id");
	when_s = meshnet_json_get_string(rec, "time");
	if (!type || !when_s || meshnet_rfc3339_parse(when_s, &when)) {
		fprintf(c->out, "record %llu: no type or time\n", (unsigned long long)index);
		json_object_put(rec);
		return -1;
	}
	audit_policy_observe(c->policy, index, rec, type);
	if (node && !strcmp(type, "enrol")) {
		const char *k = meshnet_json_get_string(rec, "signing_key");

		nk = node_get(c, node, true);
		if (nk && k && strlen(k) < sizeof(nk->signing_key)) {
			strcpy(nk->signing_key, k);
			nk->pin[0] = '\0';
			nk->benchmarked = false;
			nk->enrol_record = index;
		}
	} else if (node && !strcmp(type, "remove")) {
		nk = node_get(c, node, false);
		if (nk)
			nk->signing_key[0] = nk->pin[0] = '\0';
	} else if (node && !strcmp(type, "benchmark")) {
		nk = node_get(c, node, false);
		if (nk)
			nk->benchmarked = true;
	} else if (node && !strcmp(type, "override")) {
		const char *pin = meshnet_json_get_string(rec, "pin");

		nk = node_get(c, node, true);
		if (nk && pin && strlen(pin) < sizeof(nk->pin)) {
			strcpy(nk->pin, pin);
			nk->pin_record = index;
		}
	} else if (!strcmp(type, "controller_start") || !strcmp(type, "controller_stop")) {
		bool start = !strcmp(type, "controller_start");

		if (!meshnet_json_get_string(rec, "controller_id") ||
		    !meshnet_json_get_string(rec, "version")) {
			fprintf(c->out, "record %llu: %s without controller_id or version\n",
				(unsigned long long)index, type);
			ret = -1;
		} else if (start) {
			c->starts++;
			c->unclean += c->running;	/* the previous run ended without a stop */
			c->running = true;
		} else {
			c->stops++;
			c->running = false;
		}
	} else if (node && !strcmp(type, "verdict") && (to = meshnet_json_get_string(rec, "to")) &&
		   !strcmp(to, "DENIED")) {
		enum audit_policy_result pr = audit_policy_recheck_denied(c->policy, index, rec,
									  node, when);

		if (pr == AUDIT_POLICY_CONTRADICTED) {
			c->failed++;
			ret = -1;
		} else if (pr == AUDIT_POLICY_NOT_MINE && (c->denied++,
			   recheck_denied(c, index, rec, node, when) < 0)) {
			c->failed++;
			ret = -1;
		}
	}
	json_object_put(rec);
	return ret;
}

static int compare_stored_hashes(const char *dir, struct audit_log *log, FILE *out)
{
	uint64_t total = tlog_stored_count(log->n), i, seg = UINT64_MAX;
	uint8_t h[TLOG_HASH_LEN];
	char path[PATH_MAX];
	FILE *f = NULL;

	for (i = 0; i < total; i++) {
		if (i / TLOG_HASHES_PER_SEGMENT != seg) {
			if (f)
				fclose(f);
			seg = i / TLOG_HASHES_PER_SEGMENT;
			snprintf(path, sizeof(path), "%s/hashes-%06llu", dir, (unsigned long long)seg);
			f = fopen(path, "rb");
			if (!f) {
				if (seg == 0 && errno == ENOENT)
					return 0;	/* an export without hashes */
				fprintf(out, "%s: %s\n", path, strerror(errno));
				return -1;
			}
		}
		if (fread(h, 1, TLOG_HASH_LEN, f) != TLOG_HASH_LEN) {
			fprintf(out, "stored hashes end at %llu of %llu: the hash files are short\n",
				(unsigned long long)i, (unsigned long long)total);
			fclose(f);
			return -1;
		}
		if (memcmp(h, log->stored[i], TLOG_HASH_LEN)) {
			uint64_t r;

			for (r = 0; r < log->n && tlog_stored_index(0, r) <= i; r++)
				if (tlog_stored_index(0, r) == i)
					break;
			if (r < log->n && tlog_stored_index(0, r) == i)
				fprintf(out, "record %llu: changed after it was logged (its leaf hash "
					"differs from the stored one)\n", (unsigned long long)r);
			else
				fprintf(out, "stored hash %llu differs from the records' tree: the "
					"hash files were altered\n", (unsigned long long)i);
			fclose(f);
			return -1;
		}
	}
	if (f)
		fclose(f);
	return 0;
}

int audit_verify_dir(const char *dir, const char *key_spec, FILE *out)
{
	struct tlog_hash_reader r;
	struct tlog_note_verifier v;
	struct tlog_checkpoint cp;
	struct checker c;
	struct audit_log log;
	uint8_t root[TLOG_HASH_LEN];
	uint64_t i, verified;
	int bad = 0, err;

	if (audit_log_load(dir, &log, out))
		return 2;
	memset(&c, 0, sizeof(c));
	c.out = out;
	r = audit_log_reader(&log);
	if (!log.checkpoint_note || !log.has_checkpoint) {
		fprintf(out, "%s: BROKEN: no readable checkpoint\n", dir);
		audit_log_free(&log);
		return 1;
	}
	if (audit_key_load(key_spec, log.cp.origin, &v)) {
		fprintf(out, "%s: cannot read the public key %s\n", dir, key_spec);
		audit_log_free(&log);
		return 2;
	}
	err = tlog_checkpoint_open(log.checkpoint_note, log.checkpoint_len, &v, 1, NULL, &cp,
				   &verified);
	tlog_verifier_free(&v);
	if (err) {
		fprintf(out, "%s: BROKEN: the checkpoint does not verify with %s: %s\n", dir,
			key_spec, tlog_strerror(err));
		audit_log_free(&log);
		return 1;
	}
	fprintf(out, "checkpoint: %s, size %llu, signed by %s\n", cp.origin,
		(unsigned long long)cp.size, key_spec);
	/* The log is "meshnetd/<MESH_ID>": the audience of the submissions in it. */
	snprintf(c.audience, sizeof(c.audience), "%s",
		 strncmp(cp.origin, "meshnetd/", 9) ? cp.origin : cp.origin + 9);
	c.policy = audit_policy_check_new(out, c.audience);
	if (!c.policy) {
		audit_log_free(&log);
		return 2;
	}
	for (i = 0; i < log.n; i++)
		if (check_record(&c, i, log.records[i], log.lens[i]))
			bad = 1;
	if (compare_stored_hashes(dir, &log, out))
		bad = 1;
	if (log.n < cp.size) {
		fprintf(out, "the log holds %llu records but its checkpoint covers %llu: records "
			"were removed from the tail\n", (unsigned long long)log.n,
			(unsigned long long)cp.size);
		bad = 1;
	} else if (tlog_tree_hash(&r, cp.size, root) || memcmp(root, cp.root, TLOG_HASH_LEN)) {
		fprintf(out, "the records do not hash to the checkpoint's root at size %llu: the "
			"log was altered\n", (unsigned long long)cp.size);
		bad = 1;
	}
	if (log.n > cp.size)
		fprintf(out, "%llu record(s) after the checkpoint are not covered by it\n",
			(unsigned long long)(log.n - cp.size));
	fprintf(out, "evidence: %llu DENIED verdict(s): %llu re-checked from the node's signed "
		"submission, %llu with no benchmark since enrolment, %llu by an admin pin, %llu "
		"without evidence, %llu contradicted\n", (unsigned long long)c.denied,
		(unsigned long long)c.rechecked, (unsigned long long)c.no_benchmark,
		(unsigned long long)c.pinned, (unsigned long long)c.unprovable,
		(unsigned long long)c.failed);
	audit_policy_summary(c.policy);
	fprintf(out, "controller: %llu start(s), %llu clean stop(s), %llu unclean stop(s) (a start "
		"with no stop before it)%s\n", (unsigned long long)c.starts,
		(unsigned long long)c.stops, (unsigned long long)c.unclean,
		c.running ? "; running (or stopped uncleanly) since the last start" : "");
	if (bad)
		fprintf(out, "%s: BROKEN\n", dir);
	else
		fprintf(out, "%s: OK, %llu records, tree matches the signed checkpoint\n", dir,
			(unsigned long long)log.n);
	free(c.nodes);
	audit_policy_check_free(c.policy);
	audit_log_free(&log);
	return bad;
}
