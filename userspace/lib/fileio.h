/* SPDX-License-Identifier: MIT */
/* Crash-safe file writes and secret key files. */
#ifndef MESHNET_FILEIO_H
#define MESHNET_FILEIO_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/*
 * Replaces path atomically: writes "path.tmp.<pid>" with the given mode,
 * fsyncs it, renames it over path and fsyncs the directory. On error the
 * old file is intact, the temp file removed, errno set, and -1 returned.
 */
int meshnet_atomic_write(const char *path, const void *data, size_t len, mode_t mode);

/*
 * Reads a whole file (at most max bytes) into a fresh NUL-terminated
 * buffer; *len gets its length. NULL with errno on error (EFBIG if larger).
 */
char *meshnet_read_file(const char *path, size_t max, size_t *len);

/*
 * Reads a secret file: refuses (errno EPERM) a file readable or writable by
 * group or others, strips one trailing newline. out gets a fresh buffer the
 * caller must wipe (meshnet_free_secret). Returns 0 or -1.
 */
int meshnet_read_secret_file(const char *path, size_t max, char **out, size_t *len);
void meshnet_free_secret(char *buf, size_t len);

/*
 * Reads a key file holding the base64 of exactly n bytes (WireGuard's
 * format), with the same 0600 rule. Wipes every intermediate copy. 0 or -1.
 */
int meshnet_read_key_file(const char *path, uint8_t *key, size_t n);
/* Writes the base64 of n bytes plus "\n" atomically with mode 0600. */
int meshnet_write_key_file(const char *path, const uint8_t *key, size_t n);

#endif
