/* SPDX-License-Identifier: Apache-2.0 */
/* Logging. Library modules log at CK_LOG_DEBUG only and return -errno; main.c
 * and fs.c decide what the user sees. Never log file contents or memory. */
#ifndef CK_LOG_H
#define CK_LOG_H

#include "util.h"

enum ck_log_level {
	CK_LOG_ERR = 3,
	CK_LOG_WARNING = 4,
	CK_LOG_INFO = 6,
	CK_LOG_DEBUG = 7,
};

/* Messages above @level are dropped. The default is CK_LOG_WARNING. */
void ck_log_set_level(enum ck_log_level level);
/* Format one line (a newline is added) and write it to stderr, as libfuse's
 * own messages go (/dev/null once the daemon is in the background). */
void ck_log(enum ck_log_level level, const char *fmt, ...) _printf_(2, 3);

#endif
