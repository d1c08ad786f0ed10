// SPDX-License-Identifier: MIT
/*
 * Enrolment objects (POST /v1/nodes) and NODES_FILE contents as meshnetd
 * reads them: the strict JSON parse; one object through the enrolment spec
 * (node_parse_enrolment); a file ({"nodes":[...]} or [...]) through the
 * whole-file check of the import (nodes_check_import: every entry, then
 * duplicate ids, keys, signing keys and overlapping prefixes), against a
 * controller that already holds two nodes.
 */
#include <unistd.h>

#include "../../userspace/controller/controller.h"
#include "fuzz.h"

static struct controller *fuzz_controller(void)
{
	static const char seed_nodes[] =
		"[{\"node_id\":\"node-a\",\"public_key\":\"QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUE=\","
		"\"signing_key\":\"QkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkI=\","
		"\"allowed_ips\":[\"10.10.0.1/32\",\"fd10::1/128\"]},"
		"{\"node_id\":\"node-b\",\"public_key\":\"Q0NDQ0NDQ0NDQ0NDQ0NDQ0NDQ0NDQ0NDQ0NDQ0NDQ0M=\","
		"\"signing_key\":\"REREREREREREREREREREREREREREREREREREREREREQ=\","
		"\"allowed_ips\":[\"10.10.1.0/24\"]}]";
	static struct controller_config cfg;
	static struct controller *c;
	struct json_object *arr;
	struct api_error err;
	size_t i;

	if (c)
		return c;
	unsetenv("CONFIG_FILE");
	if (controller_config_load(&cfg, 0, NULL))
		abort();
	c = controller_new(&cfg, NULL);
	if (!c)
		abort();
	/* held nodes, inserted as a load does (no store behind it) */
	arr = controller_parse_json_body(seed_nodes, sizeof(seed_nodes) - 1, &err);
	c->loading = true;
	for (i = 0; arr && i < json_object_array_length(arr); i++) {
		struct node *n = malloc(sizeof(*n));

		if (!n || node_parse_enrolment(json_object_array_get_idx(arr, i), n, &err) ||
		    nodes_insert(c, n))
			abort();
	}
	c->loading = false;
	json_object_put(arr);
	return c;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct controller *c = fuzz_controller();
	struct json_object *root, *arr;
	struct api_error err;
	struct node n;

	root = controller_parse_json_body((const char *)data, size, &err);
	if (!root)
		return 0;
	if (!node_parse_enrolment(root, &n, &err))
		free(n.allowed_ips_json);
	arr = nodes_file_entries(root);
	if (arr)
		nodes_check_import(c, arr, "fuzz.json");
	json_object_put(root);
	return 0;
}
