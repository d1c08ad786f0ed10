// SPDX-License-Identifier: MIT
/*
 * meshnet-witness: a C2SP tlog-witness (https://c2sp.org/tlog-witness) for
 * meshnetd's transparency log (docs/tlog.md "Witnesses").
 *
 * For each log it is told of (--log ORIGIN=VKEY) it keeps the last
 * checkpoint it cosigned, durably (STATE_DIR/log-<sha256(origin)[:16]>,
 * written atomically before it answers), and cosigns a new checkpoint only
 * when the log's signature verifies and a consistency proof shows that it
 * extends that one: a log that forks, rolls back or rewrites its history
 * gets no cosignature from it, ever, restarts included. Its key is
 * STATE_DIR/witness.key (Ed25519, 0600, created at first start); its
 * cosignatures are cosignature/v1 lines (lib/tlog/note.h).
 *
 * One HTTP thread (libmicrohttpd, internal polling): requests are handled
 * one at a time, so the check and the state update are one step.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>
#include <openssl/crypto.h>
#include <openssl/sha.h>

#include "b64.h"
#include "fileio.h"
#include "log.h"
#include "signing_key.h"
#include "strbuf.h"
#include "tlog/checkpoint.h"
#include "tlog/witness.h"
#include "version.h"

#define MAX_LOGS 16

struct witnessed_log {
	char origin[TLOG_ORIGIN_MAX + 1];
	struct tlog_note_verifier verifier;	/* the log's key */
	char path[PATH_MAX];			/* its state file */
	struct tlog_checkpoint held;		/* size 0: nothing cosigned yet */
};

struct witness {
	char name[TLOG_NAME_MAX + 1];
	EVP_PKEY *key;
	struct witnessed_log logs[MAX_LOGS];
	size_t n_logs;
	uint64_t cosigned, refused;
};

struct request {
	char *body;
	size_t len;
	bool too_large;
};

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: meshnet-witness --state-dir DIR --name NAME --log ORIGIN=KEY [--log ...]\n"
		"                       [--listen ADDR:PORT]\n"
		"       meshnet-witness pubkey --state-dir DIR --name NAME\n"
		"       meshnet-witness --version\n\n"
		"A C2SP tlog-witness for meshnetd's transparency log: cosigns a checkpoint only\n"
		"when it extends the last one it cosigned for that log.\n\n"
		"  --state-dir DIR     its key (witness.key, 0600) and the cosigned checkpoints\n"
		"  --name NAME         its key name in cosignatures (e.g. witness.example.org)\n"
		"  --log ORIGIN=KEY    a log to witness: its origin (meshnetd/<MESH_ID>) and its\n"
		"                      key (base64, meshnetd pubkey / controller.pub); up to %d\n"
		"  --listen ADDR:PORT  where to serve POST /add-checkpoint (default 127.0.0.1:8090)\n"
		"  --verbose           debug logging\n", MAX_LOGS);
}

static void log_state_path(char *out, size_t cap, const char *dir, const char *origin)
{
	uint8_t md[SHA256_DIGEST_LENGTH];
	char hex[17];

	SHA256((const uint8_t *)origin, strlen(origin), md);
	meshnet_hex_encode(hex, md, 8);
	snprintf(out, cap, "%s/log-%s", dir, hex);
}

/* Loads what was cosigned for l (nothing: size 0). 0 or -1. */
static int log_load(struct witnessed_log *l)
{
	size_t len;
	char *text = meshnet_read_file(l->path, 4096, &len);
	int r;

	memset(&l->held, 0, sizeof(l->held));
	memcpy(l->held.origin, l->origin, sizeof(l->held.origin));
	tlog_hash_empty(l->held.root);
	if (!text)
		return errno == ENOENT ? 0 : -1;
	r = tlog_checkpoint_parse(text, len, &l->held);
	free(text);
	if (r || strcmp(l->held.origin, l->origin)) {
		log_err("%s: not a checkpoint of %s: refusing to start (never reset silently)",
			l->path, l->origin);
		return -1;
	}
	log_info("%s: holds size %llu", l->origin, (unsigned long long)l->held.size);
	return 0;
}

static struct witnessed_log *log_find(struct witness *w, const char *origin, size_t n)
{
	for (size_t i = 0; i < w->n_logs; i++)
		if (strlen(w->logs[i].origin) == n && !memcmp(w->logs[i].origin, origin, n))
			return &w->logs[i];
	return NULL;
}

static enum MHD_Result reply(struct MHD_Connection *conn, unsigned int status,
			     const char *type, const char *text, size_t len)
{
	struct MHD_Response *resp =
		MHD_create_response_from_buffer(len, (void *)text, MHD_RESPMEM_MUST_COPY);
	enum MHD_Result ret;

	if (!resp)
		return MHD_NO;
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	ret = MHD_queue_response(conn, status, resp);
	MHD_destroy_response(resp);
	return ret;
}

static enum MHD_Result reply_error(struct witness *w, struct MHD_Connection *conn,
				   unsigned int status, const char *code, const char *msg)
{
	char body[512];
	int n = snprintf(body, sizeof(body), "{\"error\":{\"code\":\"%s\",\"message\":\"%s\"}}",
			 code, msg);

	w->refused++;
	log_info("add-checkpoint refused (%u %s): %s", status, code, msg);
	return reply(conn, status, "application/json", body, (size_t)n);
}

/* POST /add-checkpoint (c2sp.org/tlog-witness). */
static enum MHD_Result add_checkpoint(struct witness *w, struct MHD_Connection *conn,
				      const char *body, size_t len)
{
	tlog_hash proof[TLOG_MAX_PROOF];
	struct tlog_checkpoint cp;
	struct witnessed_log *l;
	struct strbuf out, state;
	uint64_t old, verified;
	size_t n_proof, off, text_len;
	const char *note, *nl;
	char msg[256];
	int r;

	if (tlog_witness_request_parse(body, len, &old, proof, &n_proof, &off))
		return reply_error(w, conn, 400, "bad_request",
				   "not an add-checkpoint body (old N, proof lines, blank line, note)");
	note = body + off;
	nl = memchr(note, '\n', len - off);
	l = nl ? log_find(w, note, (size_t)(nl - note)) : NULL;
	if (!l)
		return reply_error(w, conn, 404, "unknown_log", "this witness does not know that log");
	r = tlog_checkpoint_open(note, len - off, &l->verifier, 1, l->origin, &cp, &verified);
	if (r == TLOG_ERR_MALFORMED)
		return reply_error(w, conn, 400, "bad_request", "the checkpoint does not parse");
	if (r)
		return reply_error(w, conn, 403, "bad_signature",
				   "the log's signature on the checkpoint does not verify");
	if (old > cp.size)
		return reply_error(w, conn, 400, "bad_request", "old is larger than the checkpoint");
	if (old != l->held.size) {
		char size[32];
		int n = snprintf(size, sizeof(size), "%llu\n", (unsigned long long)l->held.size);

		w->refused++;
		log_info("add-checkpoint for %s: old %llu, but it holds %llu (409)", l->origin,
			 (unsigned long long)old, (unsigned long long)l->held.size);
		return reply(conn, 409, TLOG_WITNESS_SIZE_TYPE, size, (size_t)n);
	}
	r = tlog_checkpoint_extends(&l->held, &cp, proof, n_proof);
	if (r) {
		snprintf(msg, sizeof(msg), "size %llu does not extend the cosigned size %llu: %s",
			 (unsigned long long)cp.size, (unsigned long long)l->held.size,
			 tlog_strerror(r));
		return reply_error(w, conn, 422, "inconsistent", msg);
	}
	/* durable before the cosignature leaves: a restart never forgets it */
	strbuf_init(&state);
	tlog_checkpoint_format(&state, &cp);
	if (state.oom || meshnet_atomic_write(l->path, state.buf, state.len, 0600)) {
		strbuf_free(&state);
		log_err("%s: %s", l->path, strerror(errno));
		return reply_error(w, conn, 500, "storage", "cannot store the checkpoint");
	}
	strbuf_free(&state);
	l->held = cp;
	/* the signed text: the note up to its blank line */
	text_len = (size_t)((const char *)memmem(note, len - off, "\n\n", 2) - note) + 1;
	strbuf_init(&out);
	r = tlog_note_cosignature_line(&out, note, text_len, w->name, w->key,
				       (uint64_t)time(NULL));
	if (r) {
		strbuf_free(&out);
		return reply_error(w, conn, 500, "internal", "cannot sign");
	}
	w->cosigned++;
	log_info("cosigned %s size %llu", l->origin, (unsigned long long)cp.size);
	{
		enum MHD_Result ret = reply(conn, 200, "text/plain; charset=utf-8", out.buf, out.len);

		strbuf_free(&out);
		return ret;
	}
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
				  const char *method, const char *version,
				  const char *upload_data, size_t *upload_data_size,
				  void **con_cls)
{
	struct witness *w = cls;
	struct request *r = *con_cls;

	(void)version;
	if (!r) {
		r = calloc(1, sizeof(*r));
		*con_cls = r;
		return r ? MHD_YES : MHD_NO;
	}
	if (*upload_data_size) {
		if (r->len + *upload_data_size > TLOG_WITNESS_BODY_MAX) {
			r->too_large = true;
		} else {
			char *nb = realloc(r->body, r->len + *upload_data_size + 1);

			if (!nb)
				return MHD_NO;
			memcpy(nb + r->len, upload_data, *upload_data_size);
			r->body = nb;
			r->len += *upload_data_size;
			r->body[r->len] = '\0';
		}
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (!strcmp(url, "/health") && !strcmp(method, "GET")) {
		char text[128];
		int n = snprintf(text, sizeof(text), "{\"status\":\"ok\",\"cosigned\":%llu,"
				 "\"refused\":%llu}", (unsigned long long)w->cosigned,
				 (unsigned long long)w->refused);

		return reply(conn, 200, "application/json", text, (size_t)n);
	}
	if (strcmp(url, TLOG_WITNESS_PATH))
		return reply_error(w, conn, 404, "not_found", "no such route");
	if (strcmp(method, "POST"))
		return reply_error(w, conn, 405, "method_not_allowed", "POST only");
	if (r->too_large)
		return reply_error(w, conn, 413, "too_large", "request body over 64 KiB");
	return add_checkpoint(w, conn, r->body ? r->body : "", r->len);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct request *r = *con_cls;

	(void)cls;
	(void)conn;
	(void)toe;
	if (r) {
		free(r->body);
		free(r);
	}
	*con_cls = NULL;
}

static int parse_listen(const char *spec, struct sockaddr_in *sa)
{
	char host[64];
	const char *colon = strrchr(spec, ':');
	long port;

	if (!colon || (size_t)(colon - spec) >= sizeof(host))
		return -1;
	memcpy(host, spec, (size_t)(colon - spec));
	host[colon - spec] = '\0';
	port = strtol(colon + 1, NULL, 10);
	memset(sa, 0, sizeof(*sa));
	sa->sin_family = AF_INET;
	sa->sin_port = htons((uint16_t)port);
	return port > 0 && port < 65536 && inet_pton(AF_INET, host, &sa->sin_addr) == 1 ? 0 : -1;
}

static EVP_PKEY *load_key(const char *dir)
{
	char path[PATH_MAX], pub[PATH_MAX];

	snprintf(path, sizeof(path), "%s/witness.key", dir);
	snprintf(pub, sizeof(pub), "%s/witness.pub", dir);
	return meshnet_signing_key_load(path, pub, true);
}

/* The verifier key others configure: name+id+base64(0x04 || public key). */
static int print_vkey(const char *dir, const char *name)
{
	struct tlog_note_verifier v;
	char vkey[TLOG_VKEY_MAX];
	uint8_t pub[32];
	size_t n = sizeof(pub);
	EVP_PKEY *key = load_key(dir);

	if (!key)
		return 1;
	if (EVP_PKEY_get_raw_public_key(key, pub, &n) != 1 ||
	    tlog_cosigner_from_pub(&v, name, pub)) {
		fprintf(stderr, "meshnet-witness: --name '%s' is not a valid key name\n", name);
		EVP_PKEY_free(key);
		return 2;
	}
	tlog_verifier_format(&v, vkey);
	printf("%s\n", vkey);
	tlog_verifier_free(&v);
	EVP_PKEY_free(key);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "state-dir", required_argument, NULL, 'd' },
		{ "name", required_argument, NULL, 'n' },
		{ "log", required_argument, NULL, 'l' },
		{ "listen", required_argument, NULL, 'L' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static struct witness w;
	const char *dir = NULL, *listen = "127.0.0.1:8090", *logs[MAX_LOGS];
	struct MHD_Daemon *d;
	struct sockaddr_in sa;
	bool pubkey = false, verbose = false;
	size_t n_logs = 0;
	sigset_t set;
	int c, sig, ret = 1;

	if (argc >= 2 && !strcmp(argv[1], "pubkey")) {
		pubkey = true;
		argv++;
		argc--;
	}
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'd': dir = optarg; break;
		case 'n': snprintf(w.name, sizeof(w.name), "%s", optarg); break;
		case 'L': listen = optarg; break;
		case 'v': verbose = true; break;
		case 'l':
			if (n_logs == MAX_LOGS) {
				fprintf(stderr, "meshnet-witness: at most %d --log\n", MAX_LOGS);
				return 2;
			}
			logs[n_logs++] = optarg;
			break;
		case 'V': printf("meshnet-witness %s\n", MESHNET_VERSION); return 0;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "meshnet-witness: unexpected argument '%s'\n", argv[optind]);
		return 2;
	}
	if (!dir || !*w.name || !tlog_note_name_valid(w.name)) {
		fprintf(stderr, "meshnet-witness: --state-dir and a valid --name are required "
			"(a name has no spaces and no '+')\n");
		return 2;
	}
	meshnet_log_init("witness", verbose ? MESHNET_LOG_DEBUG : MESHNET_LOG_INFO);
	umask(077);
	if (mkdir(dir, 0700) && errno != EEXIST) {
		fprintf(stderr, "meshnet-witness: --state-dir %s: %s\n", dir, strerror(errno));
		return 1;
	}
	if (pubkey)
		return print_vkey(dir, w.name);
	if (!n_logs) {
		fprintf(stderr, "meshnet-witness: at least one --log ORIGIN=KEY is required\n");
		return 2;
	}
	if (parse_listen(listen, &sa)) {
		fprintf(stderr, "meshnet-witness: --listen '%s': want IPv4:PORT\n", listen);
		return 2;
	}
	for (size_t i = 0; i < n_logs; i++) {
		const char *eq = strchr(logs[i], '=');
		struct witnessed_log *l = &w.logs[w.n_logs];

		uint8_t pub[32];

		if (!eq || eq == logs[i] || (size_t)(eq - logs[i]) > TLOG_ORIGIN_MAX)
			goto bad_log;
		memcpy(l->origin, logs[i], (size_t)(eq - logs[i]));
		l->origin[eq - logs[i]] = '\0';
		/* a verifier key (name+id+key), or the base64 key (controller.pub) named by the origin */
		if (!meshnet_b64_decode_exact(pub, sizeof(pub), eq + 1) ?
		    tlog_verifier_from_pub(&l->verifier, l->origin, pub) != TLOG_OK :
		    tlog_verifier_parse(&l->verifier, eq + 1) != TLOG_OK ||
		    l->verifier.alg != TLOG_ED25519_ALG || strcmp(l->verifier.name, l->origin)) {
bad_log:
			fprintf(stderr, "meshnet-witness: --log '%s': want ORIGIN=KEY, KEY the log's "
				"Ed25519 public key (base64, controller.pub) or its verifier key "
				"ORIGIN+id+key\n", logs[i]);
			return 2;
		}
		log_state_path(l->path, sizeof(l->path), dir, l->origin);
		w.n_logs++;
		if (log_load(l))
			goto out;
	}
	w.key = load_key(dir);
	if (!w.key)
		goto out;
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG, 0, NULL, NULL,
			     on_request, &w, MHD_OPTION_SOCK_ADDR, &sa,
			     MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL,
			     MHD_OPTION_CONNECTION_TIMEOUT, 10u,
			     MHD_OPTION_CONNECTION_LIMIT, 256u, MHD_OPTION_END);
	if (!d) {
		log_err("cannot listen on %s: %s", listen, strerror(errno));
		goto out;
	}
	log_info("meshnet-witness %s: %s witnessing %zu log(s) on %s", MESHNET_VERSION, w.name,
		 w.n_logs, listen);
	sigwait(&set, &sig);
	log_info("stopping on signal %d", sig);
	MHD_stop_daemon(d);
	ret = 0;
out:
	for (size_t i = 0; i < w.n_logs; i++)
		tlog_verifier_free(&w.logs[i].verifier);
	EVP_PKEY_free(w.key);
	return ret;
}
