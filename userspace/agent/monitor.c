// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fileio.h"
#include "monitor.h"

int agent_monitor_init(struct agent_monitor *m, const char *state_dir, const uint8_t pub[32],
		       const char *mesh_id, char *err, size_t errlen)
{
	uint64_t verified = 0;
	size_t len;
	char *text;
	int r;

	memset(m, 0, sizeof(*m));
	snprintf(m->path, sizeof(m->path), "%s/%s", state_dir, AGENT_CHECKPOINT_FILE);
	snprintf(m->origin, sizeof(m->origin), "meshnetd/%s", mesh_id);
	if (tlog_verifier_from_pub(&m->verifier[0], m->origin, pub)) {
		snprintf(err, errlen, "checkpoint verifier for %s: bad key", m->origin);
		return -1;
	}
	text = meshnet_read_file(m->path, TLOG_NOTE_MAX_LEN, &len);
	if (!text) {
		if (errno == ENOENT)
			return 0; /* nothing held yet: the first checkpoint is taken as it is */
		snprintf(err, errlen, "%s: %s", m->path, strerror(errno));
		goto err;
	}
	r = tlog_checkpoint_open(text, len, m->verifier, 1, m->origin, &m->held, &verified);
	free(text);
	if (r) {
		/* never replaced silently: the operator decides what to trust */
		snprintf(err, errlen, "%s: not a checkpoint of %s signed by the controller (%s)",
			 m->path, m->origin, tlog_strerror(r));
		goto err;
	}
	m->have = true;
	return 0;
err:
	tlog_verifier_free(&m->verifier[0]);
	return -1;
}

void agent_monitor_free(struct agent_monitor *m)
{
	for (size_t i = 0; i <= m->n_witnesses; i++)
		tlog_verifier_free(&m->verifier[i]);
}

int agent_monitor_require_witnesses(struct agent_monitor *m, const char *keys,
				    unsigned int quorum, char *err, size_t errlen)
{
	const char *p = keys;

	while (*p) {
		size_t len = strcspn(p, ",");
		char vkey[TLOG_VKEY_MAX];
		struct tlog_note_verifier *v = &m->verifier[1 + m->n_witnesses];

		if (m->n_witnesses == AGENT_MAX_WITNESSES || len == 0 || len >= sizeof(vkey)) {
			snprintf(err, errlen, "REQUIRE_WITNESS: at most %d keys, comma-separated",
				 AGENT_MAX_WITNESSES);
			goto err;
		}
		memcpy(vkey, p, len);
		vkey[len] = '\0';
		if (tlog_verifier_parse(v, vkey) || v->alg != TLOG_COSIGNATURE_ALG) {
			tlog_verifier_free(v);
			snprintf(err, errlen, "REQUIRE_WITNESS: '%s' is not a witness key "
				 "(name+id+base64 of a cosignature/v1 key: meshnet-witness pubkey)", vkey);
			goto err;
		}
		m->n_witnesses++;
		p += len;
		if (*p == ',')
			p++;
	}
	if (quorum > m->n_witnesses) {
		snprintf(err, errlen, "WITNESS_QUORUM %u: only %zu REQUIRE_WITNESS key(s)", quorum,
			 m->n_witnesses);
		goto err;
	}
	m->quorum = quorum ? quorum : (unsigned int)m->n_witnesses;
	return 0;
err:
	/* nothing half set */
	for (size_t i = 1; i <= m->n_witnesses; i++)
		tlog_verifier_free(&m->verifier[i]);
	m->n_witnesses = 0;
	m->quorum = 0;
	return -1;
}

/* Opens note with the controller's and the witnesses' keys; enough witnesses? */
int agent_monitor_open(struct agent_monitor *m, const char *note, size_t len,
		       struct tlog_checkpoint *c, char *why, size_t whylen)
{
	uint64_t verified = 0;
	unsigned int witnesses;
	int r = tlog_checkpoint_open(note, len, m->verifier, 1 + m->n_witnesses, m->origin, c,
				     &verified);

	if (!r && !(verified & 1))
		r = TLOG_ERR_NO_SIGNATURE;	/* witnesses alone are not the log */
	if (r) {
		snprintf(why, whylen, "checkpoint refused: %s", tlog_strerror(r));
		m->refused++;
		return -1;
	}
	witnesses = (unsigned int)__builtin_popcountll(verified >> 1);
	if (witnesses < m->quorum) {
		snprintf(why, whylen, "checkpoint refused: cosigned by %u of the %u required "
			 "witness(es) (REQUIRE_WITNESS)", witnesses, m->quorum);
		m->refused++;
		m->unwitnessed++;
		return -1;
	}
	return 0;
}

int agent_monitor_accept_opened(struct agent_monitor *m, const struct tlog_checkpoint *newer,
				const char *note, size_t len, const tlog_hash *proof,
				size_t n_proof, char *why, size_t whylen)
{
	int r;

	if (m->have) {
		r = tlog_checkpoint_extends(&m->held, newer, proof, n_proof);
		if (r) {
			m->refused++;
			snprintf(why, whylen,
				 "checkpoint of size %llu does not extend the held one of size %llu: %s",
				 (unsigned long long)newer->size, (unsigned long long)m->held.size,
				 tlog_strerror(r));
			return -1;
		}
		if (newer->size == m->held.size)
			return 0; /* the same checkpoint */
	}
	if (meshnet_atomic_write(m->path, note, len, 0644)) {
		snprintf(why, whylen, "cannot store the checkpoint in %s: %s", m->path,
			 strerror(errno));
		return -1;
	}
	m->held = *newer;
	m->have = true;
	return 0;
}

int agent_monitor_accept(struct agent_monitor *m, const char *note, size_t len,
			 const tlog_hash *proof, size_t n_proof, char *why, size_t whylen)
{
	struct tlog_checkpoint newer;

	if (agent_monitor_open(m, note, len, &newer, why, whylen))
		return -1;
	return agent_monitor_accept_opened(m, &newer, note, len, proof, n_proof, why, whylen);
}
