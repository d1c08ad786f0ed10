// SPDX-License-Identifier: MIT
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

static char log_tag[64] = "meshnet";
static enum meshnet_log_level log_level = MESHNET_LOG_INFO;
static int log_journal; /* stderr is journald's: prefix <N> priorities */

void meshnet_log_init(const char *tag, enum meshnet_log_level level)
{
	snprintf(log_tag, sizeof(log_tag), "%s", tag);
	log_level = level;
	log_journal = getenv("JOURNAL_STREAM") != NULL;
}

void meshnet_log(enum meshnet_log_level level, const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	int n, m;

	if (level > log_level)
		return;
	/* syslog priorities: 3 err, 4 warning, 6 info, 7 debug */
	n = snprintf(line, sizeof(line), "%s[%s] %s",
		     !log_journal ? "" : level == MESHNET_LOG_ERROR ? "<3>" :
		     level == MESHNET_LOG_WARN ? "<4>" : level == MESHNET_LOG_INFO ? "<6>" : "<7>",
		     log_tag,
		     level == MESHNET_LOG_ERROR ? "error: " :
		     level == MESHNET_LOG_WARN ? "warning: " : "");
	if (n < 0 || (size_t)n >= sizeof(line))
		return;
	va_start(ap, fmt);
	m = vsnprintf(line + n, sizeof(line) - n - 1, fmt, ap);
	va_end(ap);
	if (m < 0)
		return;
	n += m;
	if ((size_t)n > sizeof(line) - 2)
		n = sizeof(line) - 2;
	line[n++] = '\n';
	if (write(STDERR_FILENO, line, n) < 0)
		return;
}
