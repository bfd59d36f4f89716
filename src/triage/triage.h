/* SPDX-License-Identifier: Apache-2.0 */
/* Triage: what in a checkpoint points at a compromise, with the evidence.
 * So far this header holds what other reports share with it: which names
 * are secrets, and how a secret's value is shown. */
#ifndef CK_TRIAGE_H
#define CK_TRIAGE_H

#include <stdbool.h>
#include <stddef.h>

#include "util.h"

/* Whether the environment variable name @name (@len bytes) names a secret:
 * it contains PASSWORD, PASSWD, PASSPHRASE, SECRET, TOKEN, API_KEY, APIKEY,
 * PRIVATE_KEY, CREDENTIAL or ACCESS_KEY, or ends in _KEY (any case). The
 * one rule for every report that masks values (triage, diff). */
bool triage_secret_name(const char *name, size_t len);

/* Append @value (@len bytes) as a report shows a secret: whole with @show,
 * else its first 4 characters, "...", and how long it is
 * ("AKIA... (20 bytes)"; values of 4 bytes or less show nothing). */
void triage_mask(struct ck_buf *b, const char *value, size_t len, bool show);

#endif
