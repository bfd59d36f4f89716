/* SPDX-License-Identifier: Apache-2.0 */
#include "log.h"

#include <stdio.h>

static enum ck_log_level log_level = CK_LOG_WARNING;

void ck_log_set_level(enum ck_log_level level)
{
	log_level = level;
}

void ck_log(enum ck_log_level level, const char *fmt, ...)
{
	char line[1024];
	va_list ap;

	if (level > log_level)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	fprintf(stderr, "ckptfs: %s\n", line);
}
