// SPDX-License-Identifier: MIT
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "b64.h"
#include "jsonutil.h"
#include "sign.h"
#include "statement.h"

/* Ed25519 over "meshnet-statement-v2\n" || body: lib/sign.c's domain signatures. */
int meshnet_statement_sign(EVP_PKEY *key, const void *body, size_t len,
			   char sig_b64[MESHNET_STATEMENT_SIG_B64_LEN + 1])
{
	uint8_t sig[MESHNET_ED25519_SIG_LEN];

	if (meshnet_ed25519_sign_domain(key, MESHNET_STATEMENT_CONTEXT, body, len, sig))
		return -1;
	meshnet_b64_encode(sig_b64, sig, sizeof(sig));
	return 0;
}

int meshnet_statement_verify(EVP_PKEY *pub, const void *body, size_t len, const char *sig_b64)
{
	uint8_t sig[MESHNET_ED25519_SIG_LEN];

	if (!pub || !sig_b64 || strlen(sig_b64) != MESHNET_STATEMENT_SIG_B64_LEN ||
	    meshnet_b64_decode_exact(sig, sizeof(sig), sig_b64))
		return -1;
	return meshnet_ed25519_verify_domain(pub, MESHNET_STATEMENT_CONTEXT, body, len, sig);
}

static int refuse(char *why, size_t why_len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int refuse(char *why, size_t why_len, const char *fmt, ...)
{
	va_list ap;

	if (why && why_len) {
		va_start(ap, fmt);
		vsnprintf(why, why_len, fmt, ap);
		va_end(ap);
	}
	return -1;
}

/* obj[key] as a non-negative integer; -1 if absent or not one. */
static int get_u64(struct json_object *obj, const char *key, uint64_t *out)
{
	struct json_object *v;
	int64_t x;

	if (!json_object_object_get_ex(obj, key, &v) || !json_object_is_type(v, json_type_int))
		return -1;
	x = json_object_get_int64(v);
	if (x < 0)
		return -1;
	*out = (uint64_t)x;
	return 0;
}

static int get_i64(struct json_object *obj, const char *key, int64_t *out)
{
	uint64_t x;

	if (get_u64(obj, key, &x) || x > INT64_MAX)
		return -1;
	*out = (int64_t)x;
	return 0;
}

static int check_fields(struct json_object *root, const struct meshnet_statement_expect *exp,
			struct meshnet_statement_info *info, char *why, size_t why_len)
{
	const char *type, *mesh, *audience, *mode, *commit;
	struct json_object *epoch, *list;
	uint64_t v;

	if (!json_object_is_type(root, json_type_object))
		return refuse(why, why_len, "the statement is not a JSON object");
	if (get_u64(root, "v", &v) || v != 2)
		return refuse(why, why_len, "the statement is not version 2 (\"v\":2)");
	type = meshnet_json_get_string(root, "type");
	if (!type)
		return refuse(why, why_len, "the statement has no type");
	if (!strcmp(type, "snapshot"))
		info->type = MESHNET_STATEMENT_SNAPSHOT;
	else if (!strcmp(type, "delta"))
		info->type = MESHNET_STATEMENT_DELTA;
	else if (!strcmp(type, "denied"))
		info->type = MESHNET_STATEMENT_DENIED;
	else
		return refuse(why, why_len, "unknown statement type '%.32s'", type);
	mesh = meshnet_json_get_string(root, "mesh_id");
	if (!mesh || (exp->mesh_id && strcmp(mesh, exp->mesh_id)))
		return refuse(why, why_len, "the statement is for mesh '%.64s', not this one",
			      mesh ? mesh : "(none)");
	audience = meshnet_json_get_string(root, "audience");
	if (!audience)
		return refuse(why, why_len, "the statement has no audience");
	info->shared = !strcmp(audience, "*");
	if (info->shared && info->type != MESHNET_STATEMENT_DELTA)
		return refuse(why, why_len, "only a delta may be addressed to every node (\"*\")");
	if (!info->shared && (!exp->node_id || strcmp(audience, exp->node_id)))
		return refuse(why, why_len, "the statement is addressed to %.64s, not to this node",
			      audience);
	if (get_u64(root, "revision", &info->revision) || !info->revision)
		return refuse(why, why_len, "the statement has no valid revision");
	if (info->revision <= exp->held_revision)
		return refuse(why, why_len, "revision %llu is not newer than the held revision %llu",
			      (unsigned long long)info->revision,
			      (unsigned long long)exp->held_revision);
	if (info->type == MESHNET_STATEMENT_DELTA) {
		if (get_u64(root, "base_revision", &info->base_revision))
			return refuse(why, why_len, "the delta has no base_revision");
		if (info->base_revision != exp->held_revision)
			return refuse(why, why_len,
				      "the delta applies to revision %llu, the node holds %llu",
				      (unsigned long long)info->base_revision,
				      (unsigned long long)exp->held_revision);
		if (!json_object_object_get_ex(root, "changes", &list) ||
		    !json_object_is_type(list, json_type_array))
			return refuse(why, why_len, "the delta has no changes array");
	} else if (info->type == MESHNET_STATEMENT_SNAPSHOT) {
		if (!json_object_object_get_ex(root, "peers", &list) ||
		    !json_object_is_type(list, json_type_array))
			return refuse(why, why_len, "the snapshot has no peers array");
	}
	if (get_i64(root, "issued_unix", &info->issued_unix))
		return refuse(why, why_len, "the statement has no issued_unix");
	if (!json_object_object_get_ex(root, "epoch", &epoch) ||
	    !json_object_is_type(epoch, json_type_object) ||
	    get_u64(epoch, "id", &info->epoch_id) || !info->epoch_id ||
	    get_i64(epoch, "start_unix", &info->epoch_start) ||
	    get_i64(epoch, "rotate_unix", &info->rotate_unix) ||
	    get_i64(epoch, "valid_until_unix", &info->valid_until_unix))
		return refuse(why, why_len, "the statement's epoch is malformed");
	if (info->valid_until_unix <= exp->now)
		return refuse(why, why_len,
			      "the statement's lease ended at %lld, the node's clock says %lld",
			      (long long)info->valid_until_unix, (long long)exp->now);
	mode = meshnet_json_get_string(epoch, "key_mode");
	if (!mode || (strcmp(mode, "group") && strcmp(mode, "pairwise")))
		return refuse(why, why_len, "the epoch's key_mode is not group or pairwise");
	info->group_mode = !strcmp(mode, "group");
	if (info->group_mode) {
		commit = meshnet_json_get_string(epoch, "group_key_commitment");
		if (!commit || strlen(commit) != 64 ||
		    meshnet_hex_decode(info->group_key_commitment, 32, commit))
			return refuse(why, why_len, "the epoch has no valid group_key_commitment");
	}
	return 0;
}

int meshnet_statement_check_body(const char *body, size_t len,
				 const struct meshnet_statement_expect *exp,
				 struct meshnet_statement_info *info, char *why, size_t why_len)
{
	struct json_object *root;
	int ret;

	memset(info, 0, sizeof(*info));
	root = meshnet_json_parse_strict(body, len);
	if (!root)
		return refuse(why, why_len, "the statement is not well-formed JSON");
	ret = check_fields(root, exp, info, why, why_len);
	json_object_put(root);
	if (ret)
		memset(info, 0, sizeof(*info));
	return ret;
}

int meshnet_statement_check(EVP_PKEY *pub, const char *body, size_t len, const char *sig_b64,
			    const struct meshnet_statement_expect *exp,
			    struct meshnet_statement_info *info, char *why, size_t why_len)
{
	memset(info, 0, sizeof(*info));
	if (!sig_b64)
		return refuse(why, why_len, "the reply carries no %s header",
			      MESHNET_HDR_STATEMENT_SIGNATURE);
	if (meshnet_statement_verify(pub, body, len, sig_b64))
		return refuse(why, why_len,
			      "the statement's signature does not verify with the controller key");
	return meshnet_statement_check_body(body, len, exp, info, why, why_len);
}
