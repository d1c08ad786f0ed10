/* SPDX-License-Identifier: MIT */
#ifndef MESHNETD_STORE_MIGRATE_H
#define MESHNETD_STORE_MIGRATE_H

/* meshnetd migrate FROM TO [--FLAG VALUE]...: argv[0] is "migrate". Exit status. */
int store_migrate_main(int argc, char **argv);
/* meshnetd audit-verify postgres://...: 0 intact, 1 broken, 2 error (as for a file). */
int store_audit_verify_url(const char *url);

#endif
