/* SPDX-License-Identifier: MIT */
/*
 * Reads an epoch: the config reply JSON of docs/PROTOCOL.md
 * ("GET /v1/config/{node_id}"), as used by `meshnetctl epoch apply` and by
 * meshnet-agent. Every error names the field: "peers[2].public_key: ...".
 */
#ifndef MESHNET_EPOCH_H
#define MESHNET_EPOCH_H

#include <json-c/json.h>

#include "nl/meshnet_types.h"

/* Largest epoch file meshnet_epoch_parse_file() reads. */
#define MESHNET_EPOCH_FILE_MAX (16U << 20)

int meshnet_epoch_from_json(struct json_object *root, struct meshnet_epoch *epoch, char *err,
			    size_t errlen);
int meshnet_epoch_parse(const char *text, size_t len, struct meshnet_epoch *epoch, char *err,
			size_t errlen);
/* "-" reads standard input. */
int meshnet_epoch_parse_file(const char *path, struct meshnet_epoch *epoch, char *err,
			     size_t errlen);
/*
 * One peer entry ({"node_id", "public_key", "membership", optional
 * "reason", "endpoint", "psk", "allowed_ips"}); errors start with @path
 * ("peers[2]." or "changes[0].").
 */
int meshnet_peer_from_json(struct json_object *obj, const char *path, struct meshnet_peer *peer,
			   char *err, size_t errlen);
/* Wipes the PSKs and frees the peers. */
void meshnet_epoch_free(struct meshnet_epoch *epoch);

#endif /* MESHNET_EPOCH_H */
