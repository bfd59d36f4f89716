/* SPDX-License-Identifier: Apache-2.0 */
/* Secret names and masked values (triage.h). */
#include <string.h>
#include <strings.h>

#include "triage.h"

/* Whether @s (@len bytes) contains @word, ignoring ASCII case. */
static bool has_word(const char *s, size_t len, const char *word)
{
	size_t n = strlen(word);

	for (size_t i = 0; i + n <= len; i++)
		if (!strncasecmp(s + i, word, n))
			return true;
	return false;
}

bool triage_secret_name(const char *name, size_t len)
{
	static const char *const words[] = {
		"PASSWORD", "PASSWD", "PASSPHRASE", "SECRET", "TOKEN", "API_KEY", "APIKEY",
		"PRIVATE_KEY", "CREDENTIAL", "ACCESS_KEY",
	};

	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (has_word(name, len, words[i]))
			return true;
	return len > 4 && !strncasecmp(name + len - 4, "_KEY", 4);
}

void triage_mask(struct ck_buf *b, const char *value, size_t len, bool show)
{
	if (show) {
		ck_buf_add(b, value, len);
		return;
	}
	ck_buf_printf(b, "%.*s... (%zu bytes)", len > 4 ? 4 : 0, value, len);
}
