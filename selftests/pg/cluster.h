/* SPDX-License-Identifier: MIT */
/*
 * Several real meshnetd processes (build/san/meshnetd, or MESHNETD) on one
 * store, and nodes that sign their requests with selftests/controller/client.c.
 * Every controller has its own state directory and port; they share the
 * STORE URL, the STORE_KEY_FILE and the admin token. The nodes are
 * generated (Ed25519 keys) and enrolled through the NODES_FILE.
 */
#ifndef MESHNET_CLUSTER_H
#define MESHNET_CLUSTER_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <openssl/evp.h>

#include "../controller/client.h"

#define CLUSTER_MAX 4
#define CLUSTER_TOKEN "cluster-admin-token-0123456789abcdef"

struct controller_proc {
	uint16_t port;
	bool keep_port;		/* restarted on the same port (clients keep their URL list) */
	pid_t pid;
	char state[PATH_MAX];
	char log[PATH_MAX];
};

struct cluster {
	char dir[128];
	char store[512];		/* "" : each controller's own state directory */
	char bin[PATH_MAX];
	char key_file[PATH_MAX], token_file[PATH_MAX], nodes_file[PATH_MAX];
	char controller_key[PATH_MAX];
	struct controller_proc c[CLUSTER_MAX];
	int n_nodes;
	EVP_PKEY **keys;
	char (*ids)[32];
};

/* A temporary directory, n_nodes node keys and the nodes file. */
int cluster_init(struct cluster *cl, const char *store, int n_nodes);
void cluster_free(struct cluster *cl);
/* Starts controller i (extra: more "--flag", "value" pairs, NULL-terminated); waits for /health. */
int cluster_start(struct cluster *cl, int i, const char *const *extra);
/* Signals controller i and reaps it; returns its wait status. */
int cluster_stop(struct cluster *cl, int i, int sig);

int cluster_submit(struct cluster *cl, int ctl, int node, double overall, struct mn_response *r);
int cluster_config(struct cluster *cl, int ctl, int node, const char *query, struct mn_response *r);
int cluster_admin(struct cluster *cl, int ctl, const char *method, const char *target,
		  const char *body, struct mn_response *r);
/* Runs build/.../meshnetd with args (a shell fragment); its stdout+stderr into out. Exit status. */
int cluster_run(struct cluster *cl, const char *args, char *out, size_t cap);


#endif
