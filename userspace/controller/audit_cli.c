// SPDX-License-Identifier: MIT
/*
 * The offline audit tools. They read an exported log (STATE_DIR/tlog or a
 * copy of it: record segments and the signed checkpoint) and public keys,
 * never the running controller:
 *
 *   meshnetd audit-verify PATH [--key KEY]
 *   meshnetd audit show LOG [INDEX|FIRST-LAST]
 *   meshnetd audit prove LOG INDEX [--key KEY] [--size N]
 *   meshnetd audit check-checkpoint CHECKPOINT --key KEY [--log LOG] [--old CHECKPOINT]
 *
 * KEY: the controller's public key file (controller.pub, base64) or a note
 * verifier key "name+hash+base64".
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "audit_cli.h"
#include "audit_verify.h"
#include "fileio.h"
#include "store.h"
#include "store_migrate.h"

static const char verify_usage[] =
	"usage: meshnetd audit-verify PATH|postgres://... [--key KEY]\n\n"
	"PATH a state directory (its tlog/) or an exported log directory: checks that\n"
	"every record is in place, that the records hash to the root of the signed\n"
	"checkpoint (RFC 9162), that the checkpoint verifies with KEY (default:\n"
	"PATH/controller.pub), and re-checks every DENIED verdict from the node's own\n"
	"signed submission and the rule in its record (or a named admin pin).\n"
	"PATH a file: checks a v1 hash-chained audit.jsonl; postgres://...: the\n"
	"transparency log of a PostgreSQL store, exported and checked as above\n"
	"(--key required).\n"
	"Exit status 0 intact, 1 tampered (the first problem is named), 2 error.\n";

static const char audit_usage[] =
	"usage: meshnetd audit show LOG [INDEX|FIRST-LAST]\n"
	"       meshnetd audit prove LOG INDEX [--key KEY] [--size N]\n"
	"       meshnetd audit check-checkpoint CHECKPOINT --key KEY [--log LOG] [--old CHECKPOINT]\n"
	"       meshnetd audit export postgres://... DIR\n\n"
	"LOG is an exported audit log directory (STATE_DIR/tlog or a copy); KEY the\n"
	"controller's public key file or a verifier key name+hash+base64.\n"
	"  show              print records (all, one, or a range) as JSON lines\n"
	"  prove             print the inclusion proof of record INDEX in the tree of the\n"
	"                    checkpoint (or of size N) and verify it against the signed\n"
	"                    checkpoint\n"
	"  check-checkpoint  verify a checkpoint's signature; with --log, that the log\n"
	"                    extends it (a log that was forked, truncated or rewritten\n"
	"                    fails); with --old, that it extends an older checkpoint\n"
	"  export            write a PostgreSQL store's log as a log directory DIR\n";

static bool is_dir(const char *p)
{
	struct stat st;

	return !stat(p, &st) && S_ISDIR(st.st_mode);
}

static bool exists(const char *p)
{
	return !access(p, F_OK);
}

static int parse_u64(const char *s, uint64_t *out)
{
	char *end;

	if (!*s || *s == '-' || *s == '+')
		return -1;
	errno = 0;
	*out = strtoull(s, &end, 10);
	return errno || *end || *out > TLOG_MAX_SIZE ? -1 : 0;
}

int audit_verify_main(int argc, char **argv)
{
	char dir[PATH_MAX], key[PATH_MAX + 32];
	const char *path = NULL, *key_arg = NULL;
	int i;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			fputs(verify_usage, stdout);
			return 0;
		} else if (!strcmp(argv[i], "--key") && i + 1 < argc) {
			key_arg = argv[++i];
		} else if (!path && argv[i][0] != '-') {
			path = argv[i];
		} else {
			fprintf(stderr, "meshnetd audit-verify: unexpected argument '%s'\n%s", argv[i],
				verify_usage);
			return 2;
		}
	}
	if (!path) {
		fputs(verify_usage, stderr);
		return 2;
	}
	if (strstr(path, "://"))
		return store_audit_verify_url(path, key_arg);	/* PostgreSQL: its log */
	if (!is_dir(path)) {
		if (key_arg) {
			fprintf(stderr, "meshnetd audit-verify: --key is for a log directory\n");
			return 2;
		}
		return store_audit_verify_file(path);
	}
	snprintf(dir, sizeof(dir), "%s/tlog", path);
	if (!is_dir(dir))
		snprintf(dir, sizeof(dir), "%s", path);
	if (key_arg) {
		snprintf(key, sizeof(key), "%s", key_arg);
	} else {
		snprintf(key, sizeof(key), "%s/controller.pub", path);
		if (!exists(key))
			snprintf(key, sizeof(key), "%s/../controller.pub", dir);
		if (!exists(key)) {
			fprintf(stderr, "meshnetd audit-verify: no controller.pub beside %s: name the "
				"controller's public key with --key\n", path);
			return 2;
		}
	}
	return audit_verify_dir(dir, key, stdout);
}

static int show_main(int argc, char **argv)
{
	uint64_t first = 0, last = UINT64_MAX, i;
	struct audit_log log;

	if (argc < 2 || argc > 3) {
		fputs(audit_usage, stderr);
		return 2;
	}
	if (argc == 3) {
		char *dash = strchr(argv[2], '-');

		if (dash) {
			*dash = '\0';
			if (parse_u64(argv[2], &first) || parse_u64(dash + 1, &last) || last < first) {
				fprintf(stderr, "meshnetd audit show: bad range '%s-%s' (FIRST-LAST)\n",
					argv[2], dash + 1);
				return 2;
			}
		} else if (parse_u64(argv[2], &first)) {
			fprintf(stderr, "meshnetd audit show: bad index '%s'\n", argv[2]);
			return 2;
		} else {
			last = first;
		}
	}
	if (audit_log_load(argv[1], &log, stderr))
		return 2;
	if (argc == 3 && first >= log.n) {
		fprintf(stderr, "meshnetd audit show: index %llu: the log has %llu records\n",
			(unsigned long long)first, (unsigned long long)log.n);
		audit_log_free(&log);
		return 2;
	}
	for (i = first; i < log.n && i <= last; i++)
		printf("%.*s\n", (int)log.lens[i], log.records[i]);
	audit_log_free(&log);
	return 0;
}

static int open_checkpoint(const char *path, const char *key, const char *origin,
			   struct tlog_checkpoint *cp, char **note_out)
{
	struct tlog_note_verifier v;
	struct tlog_checkpoint peek;
	char *note, *blank;
	uint64_t verified;
	size_t len;
	int err;

	note = meshnet_read_file(path, TLOG_NOTE_MAX_LEN, &len);
	if (!note) {
		fprintf(stderr, "meshnetd audit: %s: %s\n", path, strerror(errno));
		return 2;
	}
	blank = strstr(note, "\n\n");
	if (!blank || tlog_checkpoint_parse(note, (size_t)(blank - note) + 1, &peek)) {
		printf("%s: BROKEN: not a checkpoint (C2SP tlog-checkpoint in a signed note)\n",
		       path);
		free(note);
		return 1;
	}
	if (audit_key_load(key, origin ? origin : peek.origin, &v)) {
		fprintf(stderr, "meshnetd audit: cannot read the public key %s\n", key);
		free(note);
		return 2;
	}
	err = tlog_checkpoint_open(note, len, &v, 1, origin, cp, &verified);
	tlog_verifier_free(&v);
	if (err) {
		printf("%s: BROKEN: %s\n", path, tlog_strerror(err));
		free(note);
		return 1;
	}
	if (note_out)
		*note_out = note;
	else
		free(note);
	return 0;
}

static void print_proof(const tlog_hash *p, size_t n)
{
	char b64[45];
	size_t i;

	printf("[");
	for (i = 0; i < n; i++) {
		tlog_hash_to_b64(b64, p[i]);
		printf("%s\"%s\"", i ? "," : "", b64);
	}
	printf("]");
}

static int prove_main(int argc, char **argv)
{
	const char *key = NULL, *size_arg = NULL;
	tlog_hash proof[TLOG_MAX_PROOF];
	struct tlog_checkpoint cp;
	struct tlog_hash_reader r;
	struct audit_log log;
	uint8_t root[TLOG_HASH_LEN], leaf[TLOG_HASH_LEN];
	uint64_t index, size;
	char path[PATH_MAX], b64[45];
	size_t len;
	int i, ret, err;

	if (argc < 3 || parse_u64(argv[2], &index)) {
		fprintf(stderr, "meshnetd audit prove: LOG and a record INDEX are required\n%s",
			audit_usage);
		return 2;
	}
	for (i = 3; i < argc; i++) {
		if (!strcmp(argv[i], "--key") && i + 1 < argc)
			key = argv[++i];
		else if (!strcmp(argv[i], "--size") && i + 1 < argc)
			size_arg = argv[++i];
		else {
			fprintf(stderr, "meshnetd audit prove: unexpected argument '%s'\n", argv[i]);
			return 2;
		}
	}
	if (audit_log_load(argv[1], &log, stderr))
		return 2;
	r = audit_log_reader(&log);
	ret = 2;
	snprintf(path, sizeof(path), "%s/checkpoint", argv[1]);
	if (key) {
		ret = open_checkpoint(path, key, NULL, &cp, NULL);
		if (ret)
			goto out;
		ret = 2;
	} else if (log.has_checkpoint) {
		cp = log.cp;	/* shown, not verified: no key given */
	} else {
		fprintf(stderr, "meshnetd audit prove: %s has no checkpoint\n", argv[1]);
		goto out;
	}
	size = cp.size;
	if (size_arg && (parse_u64(size_arg, &size) || size > log.n)) {
		fprintf(stderr, "meshnetd audit prove: --size %s: the log has %llu records\n",
			size_arg, (unsigned long long)log.n);
		goto out;
	}
	if (index >= size || size > log.n) {
		fprintf(stderr, "meshnetd audit prove: record %llu is not in a tree of %llu "
			"(the log has %llu records)\n", (unsigned long long)index,
			(unsigned long long)size, (unsigned long long)log.n);
		goto out;
	}
	err = tlog_prove_inclusion(&r, index, size, proof, &len);
	if (!err)
		err = tlog_tree_hash(&r, size, root);
	if (err) {
		fprintf(stderr, "meshnetd audit prove: %s\n", tlog_strerror(err));
		goto out;
	}
	tlog_hash_leaf(leaf, log.records[index], log.lens[index]);
	ret = size == cp.size && tlog_verify_inclusion(index, size, leaf, proof, len, cp.root) ?
	      1 : 0;
	tlog_hash_to_b64(b64, leaf);
	printf("{\"index\":%llu,\"tree_size\":%llu,\"leaf_hash\":\"%s\",", (unsigned long long)index,
	       (unsigned long long)size, b64);
	tlog_hash_to_b64(b64, root);
	printf("\"root_hash\":\"%s\",\"proof\":", b64);
	print_proof(proof, len);
	printf(",\"record\":%.*s,\"verified\":\"%s\"}\n", (int)log.lens[index], log.records[index],
	       size != cp.size ? "not against the checkpoint (other size)" :
	       ret ? "NO: the record is not in the checkpoint's tree" :
	       key ? "against the signed checkpoint" : "against the checkpoint (signature not checked: no --key)");
out:
	audit_log_free(&log);
	return ret;
}

static int check_checkpoint_main(int argc, char **argv)
{
	const char *key = NULL, *log_dir = NULL, *old = NULL;
	struct tlog_checkpoint cp, ocp;
	int i, ret;

	if (argc < 2 || argv[1][0] == '-') {
		fputs(audit_usage, stderr);
		return 2;
	}
	for (i = 2; i < argc; i++) {
		if (!strcmp(argv[i], "--key") && i + 1 < argc)
			key = argv[++i];
		else if (!strcmp(argv[i], "--log") && i + 1 < argc)
			log_dir = argv[++i];
		else if (!strcmp(argv[i], "--old") && i + 1 < argc)
			old = argv[++i];
		else {
			fprintf(stderr, "meshnetd audit check-checkpoint: unexpected argument '%s'\n",
				argv[i]);
			return 2;
		}
	}
	if (!key) {
		fprintf(stderr, "meshnetd audit check-checkpoint: --key KEY is required\n");
		return 2;
	}
	ret = open_checkpoint(argv[1], key, NULL, &cp, NULL);
	if (ret)
		return ret;
	printf("%s: signature OK: %s, size %llu\n", argv[1], cp.origin, (unsigned long long)cp.size);
	if (old) {
		ret = open_checkpoint(old, key, cp.origin, &ocp, NULL);
		if (ret)
			return ret;
		if (ocp.size > cp.size) {
			printf("%s: BROKEN: smaller than the older checkpoint %s (%llu < %llu): the "
			       "log was rolled back\n", argv[1], old, (unsigned long long)cp.size,
			       (unsigned long long)ocp.size);
			return 1;
		}
		if (ocp.size == cp.size && memcmp(ocp.root, cp.root, TLOG_HASH_LEN)) {
			printf("%s: BROKEN: same size as %s, other root: the log forked\n", argv[1],
			       old);
			return 1;
		}
	}
	if (log_dir) {
		struct tlog_hash_reader r;
		tlog_hash proof[TLOG_MAX_PROOF];
		uint8_t root[TLOG_HASH_LEN];
		struct audit_log log;
		size_t len;
		int err;

		if (audit_log_load(log_dir, &log, stderr))
			return 2;
		r = audit_log_reader(&log);
		if (log.n < cp.size) {
			printf("%s: BROKEN: the log holds %llu records, fewer than this checkpoint's "
			       "%llu: it was truncated or replaced\n", log_dir,
			       (unsigned long long)log.n, (unsigned long long)cp.size);
			audit_log_free(&log);
			return 1;
		}
		if (tlog_tree_hash(&r, cp.size, root) || memcmp(root, cp.root, TLOG_HASH_LEN)) {
			printf("%s: BROKEN: its first %llu records do not hash to this checkpoint's "
			       "root: the log forked or was rewritten\n", log_dir,
			       (unsigned long long)cp.size);
			audit_log_free(&log);
			return 1;
		}
		/* and its own head extends this checkpoint, by a proof a monitor would get */
		if (log.has_checkpoint && log.cp.size >= cp.size) {
			err = tlog_prove_consistency(&r, cp.size, log.cp.size, proof, &len);
			if (!err)
				err = tlog_checkpoint_extends(&cp, &log.cp, proof, len);
			if (err) {
				printf("%s: BROKEN: its checkpoint does not extend this one: %s\n",
				       log_dir, tlog_strerror(err));
				audit_log_free(&log);
				return 1;
			}
			printf("%s: extends it: consistency proof %llu -> %llu (%zu hashes) "
			       "verifies\n", log_dir, (unsigned long long)cp.size,
			       (unsigned long long)log.cp.size, len);
		}
		if (old) {
			uint8_t oroot[TLOG_HASH_LEN];

			if (tlog_tree_hash(&r, ocp.size, oroot) ||
			    memcmp(oroot, ocp.root, TLOG_HASH_LEN)) {
				printf("%s: BROKEN: does not contain the older checkpoint %s\n",
				       log_dir, old);
				audit_log_free(&log);
				return 1;
			}
			err = tlog_prove_consistency(&r, ocp.size, cp.size, proof, &len);
			if (!err)
				err = tlog_checkpoint_extends(&ocp, &cp, proof, len);
			if (err) {
				printf("%s: BROKEN: does not extend %s: %s\n", argv[1], old,
				       tlog_strerror(err));
				audit_log_free(&log);
				return 1;
			}
			printf("%s: extends %s (consistency proof of %zu hashes)\n", argv[1], old,
			       len);
		}
		audit_log_free(&log);
	}
	printf("%s: OK\n", argv[1]);
	return 0;
}

int audit_main(int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*fn)(int argc, char **argv);
	} cmds[] = {
		{ "show", show_main },
		{ "prove", prove_main },
		{ "check-checkpoint", check_checkpoint_main },
		{ "export", store_audit_export_main },
	};
	size_t i;

	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		fputs(audit_usage, argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (!strcmp(argv[1], cmds[i].name))
			return cmds[i].fn(argc - 1, argv + 1);
	fprintf(stderr, "meshnetd audit: unknown subcommand '%s'\n%s", argv[1], audit_usage);
	return 2;
}
