/* SPDX-License-Identifier: Apache-2.0 */
/* TAP output for the unit tests, header-only: CHECK() and SKIP() print one
 * numbered result line each, tap_done() prints the plan last. Every line is
 * flushed so that a crash still leaves the results before it. */
#ifndef CK_TEST_TAP_H
#define CK_TEST_TAP_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>

static int tap_count, tap_failed;

/* Print result @ok as the next test point, described by @fmt. */
static inline __attribute__((format(printf, 2, 3))) void tap_result(bool ok, const char *fmt, ...)
{
	va_list ap;

	tap_count++;
	if (!ok)
		tap_failed++;
	printf("%sok %d - ", ok ? "" : "not ", tap_count);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
}

/* Print the next test point as skipped, for the reason @fmt. */
static inline __attribute__((format(printf, 1, 2))) void tap_skip(const char *fmt, ...)
{
	va_list ap;

	tap_count++;
	printf("ok %d # SKIP ", tap_count);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
}

/* Print the plan "1..N". Returns the exit status: 1 if a check failed, else 0. */
static inline int tap_done(void)
{
	printf("1..%d\n", tap_count);
	fflush(stdout);
	return tap_failed ? 1 : 0;
}

/* @cond is evaluated before the description's arguments, as a test may
 * compute in the one what it prints in the other. */
#define CHECK(cond, ...) do {						\
	bool tap_ok_ = (cond);						\
	tap_result(tap_ok_, __VA_ARGS__);				\
} while (0)

#define SKIP(...) tap_skip(__VA_ARGS__)

#endif
