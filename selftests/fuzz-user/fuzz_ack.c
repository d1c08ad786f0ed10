// SPDX-License-Identifier: MIT
/*
 * POST /v1/ack/{node_id} bodies (docs/PROTOCOL.md "POST /v1/ack") as meshnetd
 * reads them: the JSON body as http_body_object() takes it (strict JSON, an
 * object), then ack_parse() of routes/ack.c (fields,
 * revision, epoch, applied_unix against the clock, the table digest, the
 * agent version). ack_parse is static: this file includes routes/ack.c, and
 * the target links the rest of the controller without it. An accepted ack
 * must have a revision >= 1, a time within the skew and a printable version.
 */
#include "../../userspace/controller/routes/ack.c"
#include "fuzz.h"

#define NOW 1767225600
#define SKEW 30

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct json_object *obj;
	struct ack_report rep;
	struct api_error err;

	obj = meshnet_json_parse_strict((const char *)data, size);
	if (!obj)
		return 0;
	if (!json_object_is_type(obj, json_type_object)) {
		json_object_put(obj);	/* 400 bad_request before any field is read */
		return 0;
	}
	if (!ack_parse(obj, "node-a", NOW, SKEW, &rep, &err) &&
	    (!rep.revision || rep.applied_unix > NOW + SKEW || !version_ok(rep.agent_version[0] ?
									     rep.agent_version : "x")))
		abort();
	json_object_put(obj);
	return 0;
}
