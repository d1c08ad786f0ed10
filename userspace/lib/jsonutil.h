/* SPDX-License-Identifier: MIT */
/* Strict JSON parsing and typed field access on json-c, shared by the programs. */
#ifndef MESHNET_JSONUTIL_H
#define MESHNET_JSONUTIL_H

#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

/*
 * Parses exactly one JSON value from text[0..len) in strict mode: no inner
 * NUL, only whitespace after the value. NULL if it is not well-formed.
 */
struct json_object *meshnet_json_parse_strict(const char *text, size_t len);

/* obj[key] if it is a string, else NULL. */
const char *meshnet_json_get_string(struct json_object *obj, const char *key);

/* obj[key] if it is an integer that fits int64; 0 or -1. */
int meshnet_json_get_int64(struct json_object *obj, const char *key, int64_t *out);

#endif
