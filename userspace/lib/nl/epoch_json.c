// SPDX-License-Identifier: MIT
/*
 * The config reply JSON (docs/PROTOCOL.md) -> struct meshnet_epoch.
 * Strict: every field has its type checked, every value its syntax, and the
 * first problem is reported with the path of the field.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "nl/meshnet_epoch.h"
#include "nl/meshnet_parse.h"
#include "timefmt.h"

/* Fetches @key of @obj; NULL when absent or JSON null. */
static struct json_object *field(struct json_object *obj, const char *key)
{
	struct json_object *value = NULL;

	if (!json_object_object_get_ex(obj, key, &value))
		return NULL;
	return value;
}

static int get_string(struct json_object *obj, const char *key, const char *path,
		      bool required, const char **out, char *err, size_t errlen)
{
	struct json_object *value = field(obj, key);

	*out = NULL;
	if (!value) {
		if (required)
			return meshnet_parse_fail(err, errlen, "%s%s: missing", path, key);
		return 0;
	}
	if (!json_object_is_type(value, json_type_string))
		return meshnet_parse_fail(err, errlen, "%s%s: must be a string", path, key);
	*out = json_object_get_string(value);
	return 0;
}

static int get_u64(struct json_object *obj, const char *key, const char *path, uint64_t *out,
		   char *err, size_t errlen)
{
	struct json_object *value = field(obj, key);
	int64_t v;

	if (!value)
		return meshnet_parse_fail(err, errlen, "%s%s: missing", path, key);
	if (!json_object_is_type(value, json_type_int))
		return meshnet_parse_fail(err, errlen, "%s%s: must be an integer", path, key);
	errno = 0;
	v = json_object_get_int64(value);
	if (v < 0 || errno == EINVAL)
		return meshnet_parse_fail(err, errlen, "%s%s: must not be negative", path, key);
	*out = (uint64_t)v;
	return 0;
}

int meshnet_peer_from_json(struct json_object *obj, const char *path, struct meshnet_peer *peer,
			   char *err, size_t errlen)
{
	struct json_object *ips;
	char why[256];
	const char *s;
	size_t i, n;
	int ret;

	memset(peer, 0, sizeof(*peer));
	if (!json_object_is_type(obj, json_type_object))
		return meshnet_parse_fail(err, errlen, "%.*s: must be an object",
					  (int)(strlen(path) ? strlen(path) - 1 : 0), path);

	ret = get_string(obj, "node_id", path, true, &s, err, errlen);
	if (ret)
		return ret;
	if (meshnet_parse_name(s, peer->name, why, sizeof(why)))
		return meshnet_parse_fail(err, errlen, "%snode_id: %s", path, why);
	peer->flags |= MESHNET_PEER_HAS_NAME;

	ret = get_string(obj, "public_key", path, true, &s, err, errlen);
	if (ret)
		return ret;
	if (meshnet_parse_key(s, peer->public_key, why, sizeof(why)))
		return meshnet_parse_fail(err, errlen, "%spublic_key: %s", path, why);

	ret = get_string(obj, "membership", path, true, &s, err, errlen);
	if (ret)
		return ret;
	if (meshnet_parse_verdict(s, &peer->verdict, why, sizeof(why)))
		return meshnet_parse_fail(err, errlen, "%smembership: %s", path, why);

	ret = get_string(obj, "reason", path, false, &s, err, errlen);
	if (ret)
		return ret;
	if (s) {
		if (meshnet_parse_reason(s, peer->reason, why, sizeof(why)))
			return meshnet_parse_fail(err, errlen, "%sreason: %s", path, why);
		peer->flags |= MESHNET_PEER_HAS_REASON;
	}

	ret = get_string(obj, "endpoint", path, false, &s, err, errlen);
	if (ret)
		return ret;
	if (s) {
		if (meshnet_parse_endpoint(s, &peer->endpoint, why, sizeof(why)))
			return meshnet_parse_fail(err, errlen, "%sendpoint: %s", path, why);
		peer->flags |= MESHNET_PEER_HAS_ENDPOINT;
	}

	ret = get_string(obj, "psk", path, false, &s, err, errlen);
	if (ret)
		return ret;
	if (s) {
		if (peer->verdict == MESHNET_VERDICT_DENIED)
			return meshnet_parse_fail(err, errlen, "%spsk: a DENIED peer must not carry a PSK", path);
		if (meshnet_parse_key(s, peer->psk, why, sizeof(why)))
			return meshnet_parse_fail(err, errlen, "%spsk: %s", path, why);
		peer->flags |= MESHNET_PEER_HAS_PSK;
	}

	ips = field(obj, "allowed_ips");
	if (ips) {
		if (!json_object_is_type(ips, json_type_array))
			return meshnet_parse_fail(err, errlen, "%sallowed_ips: must be an array", path);
		n = json_object_array_length(ips);
		if (n > MESHNET_MAX_ALLOWEDIPS)
			return meshnet_parse_fail(err, errlen, "%sallowed_ips: more than %d prefixes", path,
				    MESHNET_MAX_ALLOWEDIPS);
		peer->flags |= MESHNET_PEER_HAS_ALLOWEDIPS;
		for (i = 0; i < n; i++) {
			struct json_object *ip = json_object_array_get_idx(ips, i);

			if (!json_object_is_type(ip, json_type_string))
				return meshnet_parse_fail(err, errlen, "%sallowed_ips[%zu]: must be a string",
					    path, i);
			if (meshnet_parse_allowedip(json_object_get_string(ip),
						    &peer->allowedips[i], why, sizeof(why)))
				return meshnet_parse_fail(err, errlen, "%sallowed_ips[%zu]: %s", path, i, why);
			peer->n_allowedips++;
		}
	}
	return 0;
}

static int parse_peer(struct json_object *obj, size_t index, struct meshnet_peer *peer,
		      char *err, size_t errlen)
{
	char path[32];

	snprintf(path, sizeof(path), "peers[%zu].", index);
	return meshnet_peer_from_json(obj, path, peer, err, errlen);
}

static int compare_keys(const void *a, const void *b)
{
	const struct meshnet_peer *const *pa = a, *const *pb = b;

	return memcmp((*pa)->public_key, (*pb)->public_key, MESHNET_KEY_LEN);
}

/* Two peers with one key would be -EEXIST in the kernel: say which. */
static int check_duplicates(const struct meshnet_epoch *epoch, char *err, size_t errlen)
{
	const struct meshnet_peer **sorted;
	size_t i;
	int ret = 0;

	if (epoch->n_peers < 2)
		return 0;
	sorted = calloc(epoch->n_peers, sizeof(*sorted));
	if (!sorted)
		return meshnet_parse_fail(err, errlen, "out of memory");
	for (i = 0; i < epoch->n_peers; i++)
		sorted[i] = &epoch->peers[i];
	qsort(sorted, epoch->n_peers, sizeof(*sorted), compare_keys);
	for (i = 1; i < epoch->n_peers; i++) {
		if (!memcmp(sorted[i - 1]->public_key, sorted[i]->public_key, MESHNET_KEY_LEN)) {
			size_t a = (size_t)(sorted[i - 1] - epoch->peers);
			size_t b = (size_t)(sorted[i] - epoch->peers);

			ret = meshnet_parse_fail(err, errlen,
				   "peers[%zu].public_key: same key as peers[%zu]",
				   a > b ? a : b, a > b ? b : a);
			break;
		}
	}
	free(sorted);
	return ret;
}

int meshnet_epoch_from_json(struct json_object *root, struct meshnet_epoch *epoch, char *err,
			    size_t errlen)
{
	struct json_object *ep, *peers;
	int64_t expiry;
	const char *s;
	char why[256];
	size_t i, n;
	int ret;

	memset(epoch, 0, sizeof(*epoch));
	if (!json_object_is_type(root, json_type_object))
		return meshnet_parse_fail(err, errlen, "top level: must be a JSON object");

	ret = get_string(root, "node_id", "", false, &s, err, errlen);
	if (ret)
		return ret;
	if (s && meshnet_parse_name(s, epoch->node_id, why, sizeof(why)))
		return meshnet_parse_fail(err, errlen, "node_id: %s", why);

	ep = field(root, "epoch");
	if (!ep)
		return meshnet_parse_fail(err, errlen, "epoch: missing");
	if (!json_object_is_type(ep, json_type_object))
		return meshnet_parse_fail(err, errlen, "epoch: must be an object");
	ret = get_u64(ep, "id", "epoch.", &epoch->id, err, errlen);
	if (ret)
		return ret;
	if (epoch->id == 0)
		return meshnet_parse_fail(err, errlen, "epoch.id: must be greater than 0");
	if (field(ep, "expiry_unix")) {
		ret = get_u64(ep, "expiry_unix", "epoch.", &epoch->expiry_unix, err, errlen);
		if (ret)
			return ret;
	} else {
		ret = get_string(ep, "expiry_utc", "epoch.", false, &s, err, errlen);
		if (ret)
			return ret;
		if (!s)
			return meshnet_parse_fail(err, errlen, "epoch.expiry_unix: missing (or epoch.expiry_utc)");
		if (meshnet_rfc3339_parse(s, &expiry) || expiry < 0)
			return meshnet_parse_fail(err, errlen,
				    "epoch.expiry_utc: '%s' is not an RFC 3339 time (YYYY-MM-DDTHH:MM:SSZ)",
				    s);
		epoch->expiry_unix = (uint64_t)expiry;
	}

	ret = get_string(root, "membership", "", true, &s, err, errlen);
	if (ret)
		return ret;
	if (meshnet_parse_verdict(s, &epoch->self_verdict, why, sizeof(why)))
		return meshnet_parse_fail(err, errlen, "membership: %s", why);
	ret = get_string(root, "reason", "", false, &s, err, errlen);
	if (ret)
		return ret;
	if (s && meshnet_parse_reason(s, epoch->self_reason, why, sizeof(why)))
		return meshnet_parse_fail(err, errlen, "reason: %s", why);
	if (!s && epoch->self_verdict == MESHNET_VERDICT_DENIED) {
		/* the 403 reply carries the reason as error.message */
		struct json_object *error = field(root, "error");

		if (error && json_object_is_type(error, json_type_object)) {
			ret = get_string(error, "message", "error.", false, &s, err, errlen);
			if (ret)
				return ret;
			if (s && meshnet_parse_reason(s, epoch->self_reason, why, sizeof(why)))
				return meshnet_parse_fail(err, errlen, "error.message: %s", why);
		}
	}

	peers = field(root, "peers");
	if (!peers) {
		/* the 403 reply to a DENIED node carries no peers */
		if (epoch->self_verdict == MESHNET_VERDICT_DENIED)
			return 0;
		return meshnet_parse_fail(err, errlen, "peers: missing");
	}
	if (!json_object_is_type(peers, json_type_array))
		return meshnet_parse_fail(err, errlen, "peers: must be an array");
	n = json_object_array_length(peers);
	if (n) {
		epoch->peers = calloc(n, sizeof(*epoch->peers));
		if (!epoch->peers)
			return meshnet_parse_fail(err, errlen, "peers: out of memory (%zu peers)", n);
	}
	for (i = 0; i < n; i++) {
		ret = parse_peer(json_object_array_get_idx(peers, i), i, &epoch->peers[i], err,
				 errlen);
		epoch->n_peers = i + 1;
		if (ret)
			goto err_free;
	}
	ret = check_duplicates(epoch, err, errlen);
	if (ret)
		goto err_free;
	return 0;

err_free:
	meshnet_epoch_free(epoch);
	return ret;
}

int meshnet_epoch_parse(const char *text, size_t len, struct meshnet_epoch *epoch, char *err,
			size_t errlen)
{
	struct json_tokener *tok;
	struct json_object *root;
	int ret;

	memset(epoch, 0, sizeof(*epoch));
	if (len > MESHNET_EPOCH_FILE_MAX || len > INT32_MAX)
		return meshnet_parse_fail(err, errlen, "epoch JSON larger than %u bytes", MESHNET_EPOCH_FILE_MAX);
	tok = json_tokener_new();
	if (!tok)
		return meshnet_parse_fail(err, errlen, "out of memory");
	root = json_tokener_parse_ex(tok, text, (int)len);
	if (!root || json_tokener_get_error(tok) != json_tokener_success ||
	    json_tokener_get_parse_end(tok) != len) {
		enum json_tokener_error jerr = json_tokener_get_error(tok);
		size_t at = json_tokener_get_parse_end(tok);

		if (jerr == json_tokener_success || jerr == json_tokener_continue)
			ret = meshnet_parse_fail(err, errlen, "invalid JSON: %s at offset %zu",
				   root ? "trailing data" : "unexpected end of input", at);
		else
			ret = meshnet_parse_fail(err, errlen, "invalid JSON: %s at offset %zu",
				   json_tokener_error_desc(jerr), at);
		json_object_put(root);
		json_tokener_free(tok);
		return ret;
	}
	json_tokener_free(tok);
	ret = meshnet_epoch_from_json(root, epoch, err, errlen);
	json_object_put(root);
	return ret;
}

int meshnet_epoch_parse_file(const char *path, struct meshnet_epoch *epoch, char *err,
			     size_t errlen)
{
	size_t len = 0, cap = 65536;
	char *buf, *grown;
	ssize_t n;
	int fd, ret;

	memset(epoch, 0, sizeof(*epoch));
	fd = strcmp(path, "-") ? open(path, O_RDONLY | O_CLOEXEC) : dup(STDIN_FILENO);
	if (fd < 0)
		return meshnet_parse_fail(err, errlen, "cannot open %s: %s", path, strerror(errno));
	buf = malloc(cap);
	if (!buf) {
		close(fd);
		return meshnet_parse_fail(err, errlen, "out of memory");
	}
	for (;;) {
		if (len == cap) {
			if (cap >= MESHNET_EPOCH_FILE_MAX + 1) {
				ret = meshnet_parse_fail(err, errlen, "%s: larger than %u bytes", path,
					   MESHNET_EPOCH_FILE_MAX);
				goto out;
			}
			cap *= 2;
			grown = realloc(buf, cap);
			if (!grown) {
				ret = meshnet_parse_fail(err, errlen, "out of memory");
				goto out;
			}
			buf = grown;
		}
		n = read(fd, buf + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			ret = meshnet_parse_fail(err, errlen, "cannot read %s: %s", path, strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	ret = meshnet_epoch_parse(buf, len, epoch, err, errlen);
out:
	/* the file holds PSKs */
	OPENSSL_cleanse(buf, cap);
	free(buf);
	close(fd);
	return ret;
}

void meshnet_epoch_free(struct meshnet_epoch *epoch)
{
	if (epoch->peers) {
		OPENSSL_cleanse(epoch->peers, epoch->n_peers * sizeof(*epoch->peers));
		free(epoch->peers);
	}
	epoch->peers = NULL;
	epoch->n_peers = 0;
}
