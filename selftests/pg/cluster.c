// SPDX-License-Identifier: MIT
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "b64.h"
#include "cluster.h"
#include "sign.h"

static int write_text(const char *path, const char *text, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	size_t len = strlen(text);
	ssize_t n;

	if (fd < 0)
		return -1;
	fchmod(fd, mode);
	n = write(fd, text, len);
	close(fd);
	return n == (ssize_t)len ? 0 : -1;
}

int cluster_init(struct cluster *cl, const char *store, int n_nodes)
{
	char self[PATH_MAX], *nodes;
	const char *env = getenv("MESHNETD");
	size_t cap = 256 + (size_t)n_nodes * 256, off = 0;
	ssize_t len;
	int i, ret = -1;

	memset(cl, 0, sizeof(*cl));
	snprintf(cl->store, sizeof(cl->store), "%s", store ? store : "");
	len = readlink("/proc/self/exe", self, sizeof(self) - 1);
	self[len > 0 ? len : 0] = '\0';
	if (env && *env)
		snprintf(cl->bin, sizeof(cl->bin), "%s", env);
	else
		snprintf(cl->bin, sizeof(cl->bin), "%s/meshnetd", dirname(self));
	snprintf(cl->dir, sizeof(cl->dir), "/tmp/meshnet-cluster.XXXXXX");
	if (!mkdtemp(cl->dir))
		return -1;
	snprintf(cl->key_file, sizeof(cl->key_file), "%s/store.key", cl->dir);
	snprintf(cl->token_file, sizeof(cl->token_file), "%s/admin.token", cl->dir);
	snprintf(cl->nodes_file, sizeof(cl->nodes_file), "%s/nodes.json", cl->dir);
	snprintf(cl->controller_key, sizeof(cl->controller_key), "%s/controller.key", cl->dir);
	cl->n_nodes = n_nodes;
	cl->keys = calloc((size_t)n_nodes, sizeof(*cl->keys));
	cl->ids = calloc((size_t)n_nodes, sizeof(*cl->ids));
	nodes = malloc(cap);
	if (!cl->keys || !cl->ids || !nodes)
		goto out;
	off += (size_t)snprintf(nodes + off, cap - off, "{\"nodes\":[");
	for (i = 0; i < n_nodes; i++) {
		uint8_t seed[32], pub[32], wg[32];
		char wg_b64[48], sk_b64[48];

		if (meshnet_ed25519_generate(seed, pub))
			goto out;
		cl->keys[i] = meshnet_ed25519_private_from_raw(seed);
		meshnet_b64_encode(sk_b64, pub, 32);
		memset(wg, 0, sizeof(wg));
		wg[0] = 0x40;
		wg[1] = (uint8_t)(i >> 8);
		wg[2] = (uint8_t)i;
		meshnet_b64_encode(wg_b64, wg, 32);
		snprintf(cl->ids[i], sizeof(cl->ids[i]), "node-%04d", i);
		off += (size_t)snprintf(nodes + off, cap - off,
					"%s{\"node_id\":\"%s\",\"public_key\":\"%s\",\"signing_key\":"
					"\"%s\",\"allowed_ips\":[\"10.%d.%d.1/32\"]}", i ? "," : "",
					cl->ids[i], wg_b64, sk_b64, 20 + (i >> 8), i & 255);
	}
	snprintf(nodes + off, cap - off, "]}\n");
	if (write_text(cl->nodes_file, nodes, 0644) ||
	    write_text(cl->token_file, CLUSTER_TOKEN "\n", 0600))
		goto out;
	for (i = 0; i < CLUSTER_MAX; i++) {
		char dir[sizeof(cl->dir)];

		memcpy(dir, cl->dir, sizeof(dir));
		snprintf(cl->c[i].state, sizeof(cl->c[i].state), "%s/state%d", dir, i);
		snprintf(cl->c[i].log, sizeof(cl->c[i].log), "%s/meshnetd%d.log", dir, i);
	}
	ret = 0;
out:
	free(nodes);
	return ret;
}

int cluster_stop(struct cluster *cl, int i, int sig)
{
	int status = 0;

	if (cl->c[i].pid <= 0)
		return 0;
	kill(cl->c[i].pid, sig);
	waitpid(cl->c[i].pid, &status, 0);
	cl->c[i].pid = 0;
	return status;
}

void cluster_free(struct cluster *cl)
{
	char cmd[PATH_MAX + 16];
	int i;

	for (i = 0; i < CLUSTER_MAX; i++)
		cluster_stop(cl, i, SIGKILL);
	for (i = 0; cl->keys && i < cl->n_nodes; i++)
		EVP_PKEY_free(cl->keys[i]);
	free(cl->keys);
	free(cl->ids);
	if (!*cl->dir || getenv("KEEP_TEST_DIR"))
		return;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", cl->dir);
	if (system(cmd))
		fprintf(stderr, "# could not remove %s\n", cl->dir);
}

int cluster_start(struct cluster *cl, int i, const char *const *extra)
{
	char listen[32];
	const char *argv[64];
	int argc = 0;

	if (!cl->c[i].keep_port || !cl->c[i].port)
		cl->c[i].port = mn_free_port();
	snprintf(listen, sizeof(listen), "127.0.0.1:%u", cl->c[i].port);
	argv[argc++] = cl->bin;
	argv[argc++] = "--listen";
	argv[argc++] = listen;
	argv[argc++] = "--state-dir";
	argv[argc++] = cl->c[i].state;
	if (*cl->store) {
		/* one database, one store key and one statement key for all */
		argv[argc++] = "--store";
		argv[argc++] = cl->store;
		argv[argc++] = "--store-key-file";
		argv[argc++] = cl->key_file;
		if (access(cl->controller_key, F_OK) == 0) {
			argv[argc++] = "--controller-key-file";
			argv[argc++] = cl->controller_key;
		}
	}
	if (*cl->nodes_file) {
		argv[argc++] = "--nodes-file";
		argv[argc++] = cl->nodes_file;
	}
	argv[argc++] = "--admin-token-file";
	argv[argc++] = cl->token_file;
	argv[argc++] = "--epoch-seconds";
	argv[argc++] = "600";
	argv[argc++] = "--deny-rotate-interval";
	argv[argc++] = "0";
	argv[argc++] = "--admit-interval";
	argv[argc++] = "0";
	argv[argc++] = "--flap-hold-down";
	argv[argc++] = "0";
	while (extra && *extra && argc < 62)
		argv[argc++] = *extra++;
	argv[argc] = NULL;
	cl->c[i].pid = mn_spawn(argv, cl->c[i].log);
	if (cl->c[i].pid <= 0 || mn_wait_healthy(cl->c[i].port, cl->c[i].pid, 60000))
		return -1;
	/* The first one made the statement key: every other one uses it too. */
	if (*cl->store && access(cl->controller_key, F_OK)) {
		char key[PATH_MAX + 16];

		snprintf(key, sizeof(key), "%s/controller.key", cl->c[i].state);
		if (link(key, cl->controller_key) && errno != EEXIST)
			return -1;
	}
	return 0;
}

int cluster_submit(struct cluster *cl, int ctl, int node, double overall, struct mn_response *r)
{
	char body[512], target[128];

	mn_bench_body(body, sizeof(body), cl->ids[node], "poc-0.1", overall, time(NULL));
	snprintf(target, sizeof(target), "/v1/benchmarks/%s", cl->ids[node]);
	return mn_do_signed(cl->c[ctl].port, cl->keys[node], cl->ids[node], "POST", target, body, r);
}

int cluster_config(struct cluster *cl, int ctl, int node, const char *query, struct mn_response *r)
{
	char target[160];

	snprintf(target, sizeof(target), "/v1/config/%s%s", cl->ids[node], query ? query : "");
	return mn_do_signed(cl->c[ctl].port, cl->keys[node], cl->ids[node], "GET", target, NULL, r);
}

int cluster_admin(struct cluster *cl, int ctl, const char *method, const char *target,
		  const char *body, struct mn_response *r)
{
	return mn_do(cl->c[ctl].port, method, target,
		     "Authorization: Bearer " CLUSTER_TOKEN "\r\n", body, r);
}

int cluster_run(struct cluster *cl, const char *args, char *out, size_t cap)
{
	char cmd[4096], buf[4096];
	size_t n = 0, m, total = 0, head = cap / 2;
	FILE *p;
	int status;

	snprintf(cmd, sizeof(cmd), "'%s' %s 2>&1", cl->bin, args);
	p = popen(cmd, "r");
	if (!p)
		return -1;
	/*
	 * All of it is read (a report longer than out must not end the command
	 * with SIGPIPE): out keeps its beginning and its end, which names the
	 * verdict.
	 */
	while ((m = fread(buf, 1, sizeof(buf), p)) > 0) {
		size_t i;

		for (i = 0; i < m; i++, total++) {
			if (n < cap - 1) {
				out[n++] = buf[i];
			} else {
				memmove(out + head, out + head + 1, cap - 2 - head);
				out[cap - 2] = buf[i];
			}
		}
	}
	out[n] = '\0';
	if (total > n && head > 8)
		memcpy(out + head - 5, "\n...\n", 5);
	status = pclose(p);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

