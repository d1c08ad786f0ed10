/* SPDX-License-Identifier: MIT */
/* Strict JSON: one document, nothing but whitespace after it, no NUL. */
#ifndef MESHNET_JSON_STRICT_H
#define MESHNET_JSON_STRICT_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

/* Parses buf[0..len) strictly; NULL if it is not exactly one JSON value. */
struct json_object *meshnet_json_parse_strict(const char *buf, size_t len);

/* obj[key] if it is a string, else NULL. */
const char *meshnet_json_string(struct json_object *obj, const char *key);

/* obj[key] if it is an integer that fits int64; 0 or -1. */
int meshnet_json_int64(struct json_object *obj, const char *key, int64_t *out);

#endif
