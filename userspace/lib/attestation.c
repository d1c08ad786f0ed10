// SPDX-License-Identifier: MIT
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>
#include <openssl/crypto.h>

#include "attestation.h"
#include "ids.h"
#include "jsonutil.h"

#define BODY_MEMBERS 11

static const char *const body_members[BODY_MEMBERS] = {
	"v", "type", "evaluator", "node_id", "wg_public_key", "suite", "suite_version",
	"scores", "ran_at_unix", "expires_unix", "nonce",
};

bool meshnet_att_name_valid(const char *s)
{
	size_t i;

	if (!s || !*s || strlen(s) > MESHNET_ATT_NAME_MAX)
		return false;
	for (i = 0; s[i]; i++) {
		char ch = s[i];

		if ((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9'))
			continue;
		if (i && (ch == '.' || ch == '_' || ch == '-'))
			continue;
		return false;
	}
	return true;
}

static bool version_valid(const char *s)
{
	size_t i;

	if (!s || !*s || strlen(s) > MESHNET_ATT_NAME_MAX)
		return false;
	for (i = 0; s[i]; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
		      (s[i] >= '0' && s[i] <= '9') || strchr("._+-", s[i])))
			return false;
	return true;
}

static bool nonce_hex_valid(const char *s)
{
	size_t i;

	if (!s || strlen(s) != 2 * MESHNET_NONCE_LEN)
		return false;
	for (i = 0; s[i]; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

static enum meshnet_att_error fail(enum meshnet_att_error e, char *msg, size_t msg_len,
				   const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static enum meshnet_att_error fail(enum meshnet_att_error e, char *msg, size_t msg_len,
				   const char *fmt, ...)
{
	va_list ap;

	if (msg && msg_len) {
		va_start(ap, fmt);
		vsnprintf(msg, msg_len, fmt, ap);
		va_end(ap);
	}
	return e;
}

void meshnet_attestation_render(const struct meshnet_attestation *a, struct strbuf *sb)
{
	unsigned int i;

	strbuf_puts(sb, "{\"v\":1,\"type\":\"attestation\",\"evaluator\":");
	strbuf_json_string(sb, a->evaluator);
	strbuf_puts(sb, ",\"node_id\":");
	strbuf_json_string(sb, a->node_id);
	strbuf_puts(sb, ",\"wg_public_key\":");
	strbuf_json_string(sb, a->wg_public_key);
	strbuf_puts(sb, ",\"suite\":");
	strbuf_json_string(sb, a->suite);
	strbuf_puts(sb, ",\"suite_version\":");
	strbuf_json_string(sb, a->suite_version);
	strbuf_puts(sb, ",\"scores\":{");
	for (i = 0; i < a->n_scores; i++) {
		if (i)
			strbuf_puts(sb, ",");
		strbuf_json_string(sb, a->scores[i].name);
		strbuf_printf(sb, ":%.17g", a->scores[i].value);
	}
	strbuf_printf(sb, "},\"ran_at_unix\":%lld,\"expires_unix\":%lld,\"nonce\":\"%s\"}",
		      (long long)a->ran_at, (long long)a->expires, a->nonce);
}

static int copy_string(struct json_object *obj, const char *key, char *out, size_t cap)
{
	const char *s = meshnet_json_get_string(obj, key);

	if (!s || strlen(s) >= cap)
		return -1;
	strcpy(out, s);
	return 0;
}

static enum meshnet_att_error parse_scores(struct json_object *scores,
					   struct meshnet_attestation *out, char *msg,
					   size_t msg_len)
{
	size_t n;

	if (!json_object_is_type(scores, json_type_object))
		return fail(MESHNET_ATT_MALFORMED, msg, msg_len, "scores must be an object");
	n = (size_t)json_object_object_length(scores);
	if (n < 1 || n > MESHNET_ATT_MAX_SCORES)
		return fail(MESHNET_ATT_MALFORMED, msg, msg_len,
			    "scores must hold 1..%d members", MESHNET_ATT_MAX_SCORES);
	out->n_scores = 0;
	json_object_object_foreach(scores, key, val) {
		struct meshnet_att_score *sc = &out->scores[out->n_scores];
		double d;

		if (!meshnet_att_name_valid(key))
			return fail(MESHNET_ATT_MALFORMED, msg, msg_len,
				    "score name '%.40s' must match [a-z0-9][a-z0-9._-]{0,31}", key);
		if (!json_object_is_type(val, json_type_double) &&
		    !json_object_is_type(val, json_type_int))
			return fail(MESHNET_ATT_BAD_SCORE, msg, msg_len,
				    "scores.%s must be a number in [0, 1]", key);
		d = json_object_get_double(val);
		if (!isfinite(d) || d < 0 || d > 1)
			return fail(MESHNET_ATT_BAD_SCORE, msg, msg_len,
				    "scores.%s = %g is outside [0, 1]", key, d);
		strcpy(sc->name, key);
		sc->value = d;
		out->n_scores++;
	}
	return MESHNET_ATT_OK;
}

enum meshnet_att_error meshnet_attestation_parse(const char *body, size_t len,
						 struct meshnet_attestation *out,
						 char *msg, size_t msg_len)
{
	enum meshnet_att_error e = MESHNET_ATT_MALFORMED;
	struct json_object *obj, *v;
	uint8_t raw[32];
	int64_t ver;
	size_t i;

	memset(out, 0, sizeof(*out));
	if (len > MESHNET_ATT_BODY_MAX)
		return fail(e, msg, msg_len, "attestation body longer than %d bytes",
			    MESHNET_ATT_BODY_MAX);
	obj = meshnet_json_parse_strict(body, len);
	if (!obj)
		return fail(e, msg, msg_len, "attestation body is not well-formed JSON");
	if (!json_object_is_type(obj, json_type_object)) {
		fail(e, msg, msg_len, "attestation body must be a JSON object");
		goto out;
	}
	for (i = 0; i < BODY_MEMBERS; i++) {
		if (!json_object_object_get_ex(obj, body_members[i], NULL)) {
			fail(e, msg, msg_len, "attestation.%s is required", body_members[i]);
			goto out;
		}
	}
	if (json_object_object_length(obj) != BODY_MEMBERS) {
		json_object_object_foreach(obj, key, val) {
			bool known = false;

			(void)val;
			for (i = 0; i < BODY_MEMBERS; i++)
				known |= !strcmp(key, body_members[i]);
			if (!known) {
				fail(e, msg, msg_len, "attestation.%.40s is not a known member", key);
				goto out;
			}
		}
	}
	if (meshnet_json_get_int64(obj, "v", &ver) || ver != 1) {
		fail(e, msg, msg_len, "attestation.v must be 1");
		goto out;
	}
	if (!meshnet_json_get_string(obj, "type") ||
	    strcmp(meshnet_json_get_string(obj, "type"), "attestation")) {
		fail(e, msg, msg_len, "attestation.type must be \"attestation\"");
		goto out;
	}
	if (copy_string(obj, "evaluator", out->evaluator, sizeof(out->evaluator)) ||
	    !meshnet_node_id_valid(out->evaluator)) {
		fail(e, msg, msg_len, "attestation.evaluator must match ^[a-z0-9][a-z0-9._-]{0,62}$");
		goto out;
	}
	if (copy_string(obj, "node_id", out->node_id, sizeof(out->node_id)) ||
	    !meshnet_node_id_valid(out->node_id)) {
		fail(e, msg, msg_len, "attestation.node_id must match ^[a-z0-9][a-z0-9._-]{0,62}$");
		goto out;
	}
	if (copy_string(obj, "wg_public_key", out->wg_public_key, sizeof(out->wg_public_key)) ||
	    meshnet_b64_decode_exact(raw, sizeof(raw), out->wg_public_key)) {
		fail(e, msg, msg_len,
		     "attestation.wg_public_key must be the base64 of a 32-byte WireGuard key");
		goto out;
	}
	if (copy_string(obj, "suite", out->suite, sizeof(out->suite)) ||
	    !meshnet_att_name_valid(out->suite)) {
		fail(e, msg, msg_len, "attestation.suite must match [a-z0-9][a-z0-9._-]{0,31}");
		goto out;
	}
	if (copy_string(obj, "suite_version", out->suite_version, sizeof(out->suite_version)) ||
	    !version_valid(out->suite_version)) {
		fail(e, msg, msg_len, "attestation.suite_version must be 1..32 of [A-Za-z0-9._+-]");
		goto out;
	}
	if (meshnet_json_get_int64(obj, "ran_at_unix", &out->ran_at) || out->ran_at < 0) {
		fail(e, msg, msg_len, "attestation.ran_at_unix must be unix seconds");
		goto out;
	}
	if (meshnet_json_get_int64(obj, "expires_unix", &out->expires) ||
	    out->expires <= out->ran_at || out->expires - out->ran_at > MESHNET_ATT_MAX_LIFETIME) {
		fail(e, msg, msg_len, "attestation.expires_unix must lie after ran_at_unix, "
		     "by at most %d s", MESHNET_ATT_MAX_LIFETIME);
		goto out;
	}
	if (copy_string(obj, "nonce", out->nonce, sizeof(out->nonce)) ||
	    !nonce_hex_valid(out->nonce)) {
		fail(e, msg, msg_len, "attestation.nonce must be 32 lowercase hex characters");
		goto out;
	}
	json_object_object_get_ex(obj, "scores", &v);
	e = parse_scores(v, out, msg, msg_len);
out:
	json_object_put(obj);
	return e;
}

int meshnet_attestation_sign(EVP_PKEY *evaluator_key, const char *body, size_t len,
			     uint8_t sig[MESHNET_ED25519_SIG_LEN])
{
	return meshnet_ed25519_sign_domain(evaluator_key, MESHNET_ATTESTATION_DOMAIN, body, len,
					   sig);
}

int meshnet_attestation_verify(EVP_PKEY *evaluator_pub, const char *body, size_t len,
			       const uint8_t sig[MESHNET_ED25519_SIG_LEN])
{
	return meshnet_ed25519_verify_domain(evaluator_pub, MESHNET_ATTESTATION_DOMAIN, body,
					     len, sig);
}

void meshnet_att_envelope_render(struct strbuf *sb, const char *body, size_t len,
				 const uint8_t sig[MESHNET_ED25519_SIG_LEN])
{
	char *b64 = malloc(MESHNET_B64_LEN(len) + 1);
	char sig_b64[MESHNET_B64_LEN(MESHNET_ED25519_SIG_LEN) + 1];

	if (!b64) {
		sb->oom = true;
		return;
	}
	meshnet_b64_encode(b64, (const uint8_t *)body, len);
	meshnet_b64_encode(sig_b64, sig, MESHNET_ED25519_SIG_LEN);
	strbuf_printf(sb, "{\"attestation\":\"%s\",\"signature\":\"%s\"}", b64, sig_b64);
	free(b64);
}

enum meshnet_att_error meshnet_att_envelope_open(const char *json, size_t len,
						 struct meshnet_att_envelope *env,
						 struct meshnet_attestation *att,
						 char *msg, size_t msg_len)
{
	enum meshnet_att_error e = MESHNET_ATT_MALFORMED;
	const char *body_b64, *sig_b64;
	struct json_object *obj;
	long n;

	memset(env, 0, sizeof(*env));
	memset(att, 0, sizeof(*att));
	if (len > MESHNET_ATT_ENVELOPE_MAX)
		return fail(e, msg, msg_len, "attestation envelope longer than %d bytes",
			    MESHNET_ATT_ENVELOPE_MAX);
	obj = meshnet_json_parse_strict(json, len);
	if (!obj)
		return fail(e, msg, msg_len, "body is not well-formed JSON");
	if (!json_object_is_type(obj, json_type_object) ||
	    json_object_object_length(obj) != 2 ||
	    !(body_b64 = meshnet_json_get_string(obj, "attestation")) ||
	    !(sig_b64 = meshnet_json_get_string(obj, "signature"))) {
		fail(e, msg, msg_len, "body must be {\"attestation\":\"<base64>\","
		     "\"signature\":\"<base64>\"} and nothing else");
		goto out;
	}
	if (strlen(body_b64) >= sizeof(env->body_b64) || !*body_b64) {
		fail(e, msg, msg_len, "attestation must be the base64 of 1..%d bytes",
		     MESHNET_ATT_BODY_MAX);
		goto out;
	}
	if (strlen(sig_b64) >= sizeof(env->sig_b64) ||
	    meshnet_b64_decode_exact(env->sig, sizeof(env->sig), sig_b64)) {
		fail(e, msg, msg_len, "signature must be the base64 of a 64-byte Ed25519 signature");
		goto out;
	}
	env->body = malloc(MESHNET_ATT_BODY_MAX + 1);
	if (!env->body) {
		fail(e, msg, msg_len, "out of memory");
		goto out;
	}
	n = meshnet_b64_decode((uint8_t *)env->body, MESHNET_ATT_BODY_MAX, body_b64);
	if (n <= 0) {
		fail(e, msg, msg_len, "attestation must be the base64 of 1..%d bytes",
		     MESHNET_ATT_BODY_MAX);
		goto out;
	}
	env->body[n] = '\0';
	env->body_len = (size_t)n;
	strcpy(env->body_b64, body_b64);
	strcpy(env->sig_b64, sig_b64);
	e = meshnet_attestation_parse(env->body, env->body_len, att, msg, msg_len);
out:
	json_object_put(obj);
	return e;
}

void meshnet_att_envelope_free(struct meshnet_att_envelope *env)
{
	free(env->body);
	env->body = NULL;
}

const struct meshnet_att_score *meshnet_att_score(const struct meshnet_attestation *a,
						  const char *name)
{
	unsigned int i;

	for (i = 0; i < a->n_scores; i++)
		if (!strcmp(a->scores[i].name, name))
			return &a->scores[i];
	return NULL;
}
