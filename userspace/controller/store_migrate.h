/* SPDX-License-Identifier: MIT */
#ifndef MESHNETD_STORE_MIGRATE_H
#define MESHNETD_STORE_MIGRATE_H

/* meshnetd migrate FROM TO [--FLAG VALUE]...: argv[0] is "migrate". Exit status. */
int store_migrate_main(int argc, char **argv);
/*
 * meshnetd audit-verify postgres://... --key KEY: exports the database's
 * transparency log and checks it as a log directory (audit_verify_dir), and
 * its v1 chain if any. 0 intact, 1 broken, 2 error.
 */
int store_audit_verify_url(const char *url, const char *key_spec);
/* meshnetd audit export postgres://... DIR (argv[0] is "export"). */
int store_audit_export_main(int argc, char **argv);

#endif
