// SPDX-License-Identifier: MIT
/* The audit log as `meshnetd verify-audit` reads it (audit_verify_buffer). */
#include "../../userspace/controller/audit.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char last[AUDIT_HASH_HEX], msg[256];
	uint64_t records, next;

	audit_verify_buffer((const char *)data, size, &records, last, &next, msg, sizeof(msg));
	return 0;
}
