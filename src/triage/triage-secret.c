/* SPDX-License-Identifier: Apache-2.0 */
/* Secret names and masked values (triage.h), and the secret kind of
 * --triage: credentials in a process's environment and memory (AWS access
 * key ids, PEM private keys, bearer tokens). Each value is reported once per
 * process, with every address it was seen at. */
#include <errno.h>
#include <string.h>
#include <strings.h>

#include "triage-priv.h"

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

/* The most secrets one process reports, and addresses one secret lists. */
#define SECRETS_MAX 256
#define SECRET_ADDRS_MAX 16

/* Record secret @value of @type at @addr: a new finding, or one more
 * address of the one already made. Returns that finding (NULL: none). */
static struct triage_finding *secret_add(struct triage_proc *tp, const char *type, const char *value, size_t len,
					 uint64_t addr)
{
	struct triage_run *r = tp->r;
	struct tr_secret *s;
	struct ck_buf masked = { 0 };

	for (size_t i = 0; i < tp->n_secrets; i++) {
		s = &tp->secrets[i];
		if (s->len != len || memcmp(s->value, value, len))
			continue;
		if (!s->f)
			return NULL;	/* past TRIAGE_KIND_MAX */
		/* the environment's copy is found again by the pass */
		if (addr == s->f->address)
			return NULL;
		if (++s->copies <= SECRET_ADDRS_MAX && addr)
			tr_hexes_add(r, s->f, "addresses", addr);
		return NULL;
	}
	if (tp->n_secrets >= SECRETS_MAX)
		return NULL;
	s = reallocarray(tp->secrets, tp->n_secrets + 1, sizeof(*s));
	if (!s) {
		r->err = -ENOMEM;
		return NULL;
	}
	tp->secrets = s;
	s = &tp->secrets[tp->n_secrets];
	*s = (struct tr_secret) { .value = malloc(len + 1), .len = len, .copies = 1 };
	if (!s->value) {
		r->err = -ENOMEM;
		return NULL;
	}
	memcpy(s->value, value, len);
	s->value[len] = '\0';
	tp->n_secrets++;
	s->f = tr_new(r, TRIAGE_SECRET, TRIAGE_LOW, tp);
	tr_str(r, s->f, "type", "%s", type);
	triage_mask(&masked, value, len, r->o->show_secrets);
	tr_strn(r, s->f, "value", masked.data ? masked.data : "", masked.len);
	tr_int(r, s->f, "len", (int64_t) len);
	ck_buf_done(&masked);
	if (s->f && addr) {
		s->f->has_address = true;
		s->f->address = addr;
		tr_hexes_add(r, s->f, "addresses", addr);
	}
	return s->f;
}

/* Where address @addr lies, for a memory secret. */
static void secret_where(struct triage_proc *tp, struct triage_finding *f, uint64_t addr)
{
	const struct img_vma *v = tr_vma_at(tp->p, addr);
	const struct img_mm *mm = tp->p->mm;

	if (!f)
		return;
	if (mm && addr >= mm->mm_env_start && addr < mm->mm_env_end)
		tr_str(tp->r, f, "where", "environ");
	else
		tr_str(tp->r, f, "where", "memory");
	if (v)
		tr_vma(tp, f, v);
	f->has_range = false;
}

static bool aws_char(uint8_t c)
{
	return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* An AWS access key id: AKIA or ASIA and 16 of [A-Z0-9], no more. */
static size_t aws_len(const uint8_t *p, size_t avail)
{
	if (avail < 20 || p[0] != 'A' || (p[1] != 'K' && p[1] != 'S') || p[2] != 'I' || p[3] != 'A')
		return 0;
	for (size_t i = 4; i < 20; i++)
		if (!aws_char(p[i]))
			return 0;
	return avail > 20 && aws_char(p[20]) ? 0 : 20;
}

static bool b64_char(uint8_t c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '/' ||
	       c == '=';
}

/* A PEM private key block: "-----BEGIN [LABEL ]PRIVATE KEY-----", a line
 * break and base64 lines, up to its END line when it is there. Returns the
 * block's length; *@ret_head the length of the BEGIN line. */
static size_t pem_len(const uint8_t *p, size_t avail, size_t *ret_head)
{
	static const char begin[] = "-----BEGIN ", tail[] = "PRIVATE KEY-----";
	size_t i = sizeof(begin) - 1, body, n;

	if (avail < 64 || memcmp(p, begin, i))
		return 0;
	while (i < 64 && ((p[i] >= 'A' && p[i] <= 'Z') || (p[i] >= '0' && p[i] <= '9') || p[i] == ' ') &&
	       memcmp(p + i, tail, sizeof(tail) - 1))
		i++;
	if (i + sizeof(tail) - 1 > avail || memcmp(p + i, tail, sizeof(tail) - 1))
		return 0;
	*ret_head = i += sizeof(tail) - 1;
	for (body = 0; i < avail && (b64_char(p[i]) || p[i] == '\n' || p[i] == '\r' || p[i] == ':' || p[i] == ',' ||
				     p[i] == '-' || p[i] == ' '); i++) {
		if (p[i] == '-')
			break;
		body += b64_char(p[i]);
	}
	if (body < 40)
		return 0;
	/* the END line, when whole */
	if (avail - i > 9 && !memcmp(p + i, "-----END ", 9)) {
		n = i + 9;
		while (n < avail && n < i + 64 && p[n] != '\n' && p[n] != '\0')
			n++;
		if (n >= 5 && !memcmp(p + n - 5, "-----", 5))
			i = n;
	}
	return i;
}

static bool token_char(uint8_t c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       (c && strchr("-._~+/", c));
}

/* "Bearer " and a token of at least 16 characters. */
static size_t bearer_len(const uint8_t *p, size_t avail, size_t *ret_tok)
{
	size_t i = 7;

	if (avail < 7 + 16 || memcmp(p, "Bearer ", 7))
		return 0;
	while (i < avail && i < 4096 && token_char(p[i]))
		i++;
	while (i < avail && p[i] == '=')
		i++;
	*ret_tok = 7;
	return i - 7 >= 16 ? i : 0;
}

size_t tr_secret_mem(struct triage_proc *tp, uint64_t addr, const uint8_t *p, size_t avail)
{
	struct triage_finding *f = NULL;
	size_t n, head = 0;

	if ((n = aws_len(p, avail))) {
		f = secret_add(tp, "aws-access-key-id", (const char *) p, n, addr);
		tr_summary(tp->r, f, "an AWS access key id in memory");
	} else if ((n = pem_len(p, avail, &head))) {
		f = secret_add(tp, "private-key-pem", (const char *) p, n, addr);
		tr_strn(tp->r, f, "match", (const char *) p, head);
		tr_summary(tp->r, f, "a PEM private key in memory (%.*s)", (int) head, (const char *) p);
	} else if ((n = bearer_len(p, avail, &head))) {
		f = secret_add(tp, "bearer-token", (const char *) p + head, n - head, addr);
		tr_str(tp->r, f, "match", "Bearer");
		tr_summary(tp->r, f, "a bearer token in memory");
	}
	secret_where(tp, f, addr);
	return n;
}

/* The type of a secret named @name whose value is @value. */
static const char *env_type(const char *name, size_t nlen, const char *value, size_t vlen)
{
	if (aws_len((const uint8_t *) value, vlen) == vlen && vlen == 20)
		return "aws-access-key-id";
	if (has_word(name, nlen, "AWS_SECRET_ACCESS_KEY"))
		return "aws-secret-access-key";
	if (has_word(name, nlen, "PASSWORD") || has_word(name, nlen, "PASSWD") || has_word(name, nlen, "PASSPHRASE"))
		return "password-env";
	if (has_word(name, nlen, "TOKEN"))
		return "token-env";
	return "secret-env";
}

void tr_secret_env(struct triage_proc *tp, const char *name, size_t nlen, const char *value, size_t vlen,
		   uint64_t addr)
{
	struct triage_finding *f;

	if (!vlen || !triage_secret_name(name, nlen))
		return;
	f = secret_add(tp, env_type(name, nlen, value, vlen), value, vlen, addr);
	if (!f)
		return;
	tr_strn(tp->r, f, "name", name, nlen);
	tr_str(tp->r, f, "where", "environ");
	tr_summary(tp->r, f, "a secret in the environment: %.*s", (int) nlen, name);
}

void tr_secrets_done(struct triage_proc *tp)
{
	for (size_t i = 0; i < tp->n_secrets; i++) {
		tr_int(tp->r, tp->secrets[i].f, "copies", (int64_t) tp->secrets[i].copies);
		free(tp->secrets[i].value);
	}
	free(tp->secrets);
	tp->secrets = NULL;
	tp->n_secrets = 0;
}
