/* SPDX-License-Identifier: MIT */
/*
 * Logging in the seed's shape: "[controller] Epoch rotation: id=2 ...".
 * Lines go to stderr, one write per line (safe across threads).
 */
#ifndef MESHNET_LOG_H
#define MESHNET_LOG_H

enum meshnet_log_level { MESHNET_LOG_ERROR, MESHNET_LOG_WARN, MESHNET_LOG_INFO, MESHNET_LOG_DEBUG };

/* Sets the bracketed tag ("controller", "node-a") and the verbosity. */
void meshnet_log_init(const char *tag, enum meshnet_log_level level);
void meshnet_log(enum meshnet_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#define log_err(...) meshnet_log(MESHNET_LOG_ERROR, __VA_ARGS__)
#define log_warn(...) meshnet_log(MESHNET_LOG_WARN, __VA_ARGS__)
#define log_info(...) meshnet_log(MESHNET_LOG_INFO, __VA_ARGS__)
#define log_debug(...) meshnet_log(MESHNET_LOG_DEBUG, __VA_ARGS__)

#endif
