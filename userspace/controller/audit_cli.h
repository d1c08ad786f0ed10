/* SPDX-License-Identifier: MIT */
/* `meshnetd audit-verify` and `meshnetd audit show|prove|check-checkpoint`. */
#ifndef MESHNETD_AUDIT_CLI_H
#define MESHNETD_AUDIT_CLI_H

int audit_verify_main(int argc, char **argv);
int audit_main(int argc, char **argv);

#endif
