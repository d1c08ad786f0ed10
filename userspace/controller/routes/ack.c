// SPDX-License-Identifier: MIT
/*
 * Acknowledged enforcement:
 *   POST /v1/ack/{node_id}   (signed by the node) what its module applied
 *   GET  /v1/admin/acks      (admin) every node's ack, lag, drift; quarantines
 *
 * The ack body (docs/PROTOCOL.md "POST /v1/ack"), every field checked, no
 * other field allowed:
 *   {"node_id","revision","epoch","table_digest":"<64 hex>","applied_unix",
 *    "agent_version" (optional)}
 * Refused with a 4xx JSON error, nothing recorded: another node's id in the
 * body, a revision this controller has not issued (409 revision_from_future),
 * an epoch from the future, a malformed digest, an applied_unix in the future.
 */
#include <stdio.h>
#include <string.h>

#include "../acks.h"
#include "../http.h"
#include "jsonutil.h"
#include "table_digest.h"

static const char *const ack_fields[] = {
	"node_id", "revision", "epoch", "table_digest", "applied_unix", "agent_version",
};

static bool version_ok(const char *v)
{
	size_t n = strlen(v);

	if (!n || n >= ACKS_VERSION_MAX)
		return false;
	/* printable ASCII without quote or backslash: safe as a metrics label */
	for (size_t i = 0; i < n; i++)
		if (v[i] < 0x20 || v[i] > 0x7e || v[i] == '"' || v[i] == '\\')
			return false;
	return true;
}

static int get_u64(struct json_object *obj, const char *key, uint64_t *out,
		   struct api_error *err)
{
	int64_t v;

	if (meshnet_json_get_int64(obj, key, &v) || v < 0) {
		api_error_set(err, 400, "bad_request", "%s must be a non-negative integer", key);
		return -1;
	}
	*out = (uint64_t)v;
	return 0;
}

/* The body into rep; 0 or -1 with err. */
static int ack_parse(struct json_object *obj, const char *path_id, int64_t now, int64_t skew,
		     struct ack_report *rep, struct api_error *err)
{
	const char *id, *hex, *version;
	uint64_t applied;

	memset(rep, 0, sizeof(*rep));
	json_object_object_foreach(obj, key, val) {
		size_t i;

		(void)val;
		for (i = 0; i < sizeof(ack_fields) / sizeof(ack_fields[0]); i++)
			if (!strcmp(key, ack_fields[i]))
				break;
		if (i == sizeof(ack_fields) / sizeof(ack_fields[0])) {
			api_error_set(err, 400, "unknown_field", "unknown field \"%.64s\"", key);
			return -1;
		}
	}
	id = meshnet_json_get_string(obj, "node_id");
	if (!id) {
		api_error_set(err, 400, "bad_request", "node_id (a string) is required");
		return -1;
	}
	if (strcmp(id, path_id)) {
		api_error_set(err, 400, "node_id_mismatch", "body node_id \"%.64s\" is not %s", id,
			      path_id);
		return -1;
	}
	if (get_u64(obj, "revision", &rep->revision, err) ||
	    get_u64(obj, "epoch", &rep->epoch, err) ||
	    get_u64(obj, "applied_unix", &applied, err))
		return -1;
	if (!rep->revision) {
		api_error_set(err, 400, "bad_request", "revision must be at least 1");
		return -1;
	}
	if (applied > (uint64_t)(now + skew)) {
		api_error_set(err, 400, "bad_request",
			      "applied_unix is in the future (more than %lld s ahead)", (long long)skew);
		return -1;
	}
	rep->applied_unix = (int64_t)applied;
	hex = meshnet_json_get_string(obj, "table_digest");
	if (!hex || meshnet_table_digest_from_hex(&rep->digest, hex) ||
	    strspn(hex, "0123456789abcdef") != MESHNET_TABLE_DIGEST_HEX_LEN) {
		api_error_set(err, 400, "bad_digest",
			      "table_digest must be 64 lowercase hex characters");
		return -1;
	}
	if (json_object_object_get_ex(obj, "agent_version", NULL)) {
		version = meshnet_json_get_string(obj, "agent_version");
		if (!version || !version_ok(version)) {
			api_error_set(err, 400, "bad_request",
				      "agent_version must be 1-%d printable characters, no quote or backslash",
				      ACKS_VERSION_MAX - 1);
			return -1;
		}
		snprintf(rep->agent_version, sizeof(rep->agent_version), "%s", version);
	}
	return 0;
}

void route_ack(struct api_server *s, struct request *r)
{
	char expected[MESHNET_TABLE_DIGEST_HEX_LEN + 1];
	struct controller *c = s->c;
	struct json_object *obj;
	struct ack_report rep;
	struct api_error err;
	enum ack_drift drift;
	uint64_t head, epoch;
	struct strbuf sb;
	uint32_t slot;
	struct view *v;

	obj = http_body_object(s, r);
	if (!obj)
		return;
	if (ack_parse(obj, r->node_id, controller_now(), c->cfg->clock_skew, &rep, &err)) {
		json_object_put(obj);
		http_reply_api_error(s, r, &err);
		return;
	}
	json_object_put(obj);
	v = controller_view(c);
	head = v->revision;
	epoch = v->epoch.id;
	view_put(v);
	if (rep.revision > head) {
		http_reply_error(s, r, 409, "revision_from_future",
				 "the acknowledged revision is past this controller's head");
		return;
	}
	if (rep.epoch > epoch) {
		http_reply_error(s, r, 409, "epoch_from_future",
				 "the acknowledged epoch is past this controller's epoch");
		return;
	}
	if (controller_lookup_slot(c, r->node_id, &slot)) {
		/* removed between its authentication and now */
		http_reply_error(s, r, 404, "unknown_node", "no such node");
		return;
	}
	drift = acks_record(c->acks, slot, &rep, controller_now_ms(), expected);
	/* status.json shows it at the epoch thread's next write */
	__atomic_store_n(&c->status_dirty, true, __ATOMIC_RELAXED);
	strbuf_init(&sb);
	strbuf_printf(&sb, "{\"node_id\":\"%s\",\"revision\":%llu,\"head_revision\":%llu,"
		      "\"drift\":%s,\"expected_digest\":", r->node_id,
		      (unsigned long long)rep.revision, (unsigned long long)head,
		      drift == ACK_DRIFT ? "true" : drift == ACK_DRIFT_NONE ? "false" : "null");
	if (*expected)
		strbuf_printf(&sb, "\"%s\"}", expected);
	else
		strbuf_puts(&sb, "null}");
	http_reply_json(s, r, 200, &sb);
}

void route_admin_acks(struct api_server *s, struct request *r)
{
	struct controller *c = s->c;
	struct strbuf sb;
	uint64_t head;
	struct view *v;

	v = controller_view(c);
	head = v->revision;
	view_put(v);
	strbuf_init(&sb);
	pthread_mutex_lock(&c->lock);
	acks_render_json(c->acks, c, head, controller_now(), true, &sb);
	pthread_mutex_unlock(&c->lock);
	http_reply_json(s, r, 200, &sb);
}
