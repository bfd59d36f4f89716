/* SPDX-License-Identifier: Apache-2.0 */
/* Compiling the patterns of --search: each is checked with PCRE2 (its
 * syntax is the reference), then sorted by engine. Vectorscan takes every
 * pattern it supports into one streaming database; a pattern whose matches
 * all have the same length is matched by it alone (where a match starts and
 * ends is then known), the others get PCRE2 to tell where their match ends
 * (greedy or lazy, first alternative first, as PCRE2 decides). What
 * Vectorscan refuses (back-references, lookaround, atomic groups, \K, ...)
 * is run by PCRE2 alone. See search-int.h. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "search-int.h"

/* Vectorscan compiles are retried without a pattern it fails on at most
 * this often; then the whole set is refused. */
#define HS_RETRIES 16

static void pat_free(struct search_pat *s)
{
	free(s->text);
	free(s->where);
	free(s->why);
	pcre2_code_free(s->re);
}

void search_pats_free(struct search_pats *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->n; i++)
		pat_free(&p->v[i]);
	free(p->v);
	free(p->pcre2);
	hs_free_scratch(p->scratch);
	hs_free_database(p->db);
	free(p);
}

char *search_pat_name(const struct search_pats *p, size_t i)
{
	const struct search_pat *s = &p->v[i];
	_cleanup_(ck_buf_done) struct ck_buf b = { 0 };

	ck_buf_printf(&b, "pattern %zu '", i + 1);
	/* long patterns are cut: the line must stay one short line */
	ck_buf_add(&b, s->text, CK_MIN(s->len, (size_t) 80));
	ck_buf_puts(&b, s->len > 80 ? "...'" : "'");
	if (s->where)
		ck_buf_printf(&b, " (%s)", s->where);
	ck_buf_putc(&b, '\0');
	return b.oom ? NULL : ck_buf_steal(&b, NULL);
}

static int fail(const struct search_pats *p, size_t i, char **ret_error, const char *fmt, const char *what)
{
	_cleanup_free_ char *name = search_pat_name(p, i);

	if (ret_error && (!name || asprintf(ret_error, fmt, name, what) < 0))
		*ret_error = NULL;
	return -EINVAL;
}

/* Check pattern @i with PCRE2 and keep its code. */
static int pcre2_check(struct search_pats *p, size_t i, char **ret_error)
{
	struct search_pat *s = &p->v[i];
	uint32_t opts = PCRE2_NO_UTF_CHECK | PCRE2_USE_OFFSET_LIMIT, lb = 0, minlen = 0;
	PCRE2_SIZE at;
	int code;

	if (p->flags & SEARCH_FIXED)
		opts |= PCRE2_LITERAL;
	if (p->flags & SEARCH_ICASE)
		opts |= PCRE2_CASELESS;
	s->re = pcre2_compile((PCRE2_SPTR) s->text, s->len, opts, &code, &at, NULL);
	if (!s->re) {
		PCRE2_UCHAR msg[256];
		char what[320];

		pcre2_get_error_message(code, msg, sizeof(msg));
		snprintf(what, sizeof(what), "%s at offset %zu", (char *) msg, (size_t) at);
		return fail(p, i, ret_error, "%s: %s", what);
	}
	pcre2_pattern_info(s->re, PCRE2_INFO_MAXLOOKBEHIND, &lb);
	s->lookbehind = lb + 1;	/* +1: \b looks at the byte before */
	pcre2_pattern_info(s->re, PCRE2_INFO_MINLENGTH, &minlen);
	s->minw = minlen;
	s->maxw = SEARCH_CARRY_MAX;
	return 0;
}

/* The code PCRE2 matches with: the pattern behind a callout (?C255), so
 * that search-merge.c's callout can end a search that takes too long
 * (PCRE2's match limit counts backtracking steps at one start position,
 * not the whole search). With back-references a single step may compare
 * megabytes, so these get a callout before every item (PCRE2_AUTO_CALLOUT).
 * Verbs that must open the pattern ((*UCP), (*LIMIT_MATCH=n), ...) stay in
 * front. NULL when that does not compile. */
static pcre2_code *compile_timed(const struct search_pats *p, const struct search_pat *s)
{
	uint32_t opts = PCRE2_NO_UTF_CHECK | PCRE2_USE_OFFSET_LIMIT | (p->flags & SEARCH_ICASE ? PCRE2_CASELESS : 0);
	_cleanup_free_ char *t = malloc(s->len + 8);
	uint32_t backrefs = 0;
	size_t lead = 0;
	PCRE2_SIZE at;
	int code;

	if (!t || !s->re || (p->flags & SEARCH_FIXED))
		return NULL;
	pcre2_pattern_info(s->re, PCRE2_INFO_BACKREFMAX, &backrefs);
	if (backrefs)
		return pcre2_compile((PCRE2_SPTR) s->text, s->len, opts | PCRE2_AUTO_CALLOUT, &code, &at, NULL);
	while (s->len - lead > 2 && !memcmp(s->text + lead, "(*", 2)) {
		const char *close = memchr(s->text + lead, ')', s->len - lead);

		if (!close)
			return NULL;
		lead = (size_t) (close - s->text) + 1;
	}
	memcpy(t, s->text, lead);
	memcpy(t + lead, "(?C255)", 7);
	memcpy(t + lead + 7, s->text + lead, s->len - lead);
	return pcre2_compile((PCRE2_SPTR) t, s->len + 7, opts, &code, &at, NULL);
}

const pcre2_code *search_pat_code(struct search_pats *p, size_t i)
{
	struct search_pat *s = &p->v[i];

	if (!s->jit_done) {
		pcre2_code *timed = compile_timed(p, s);

		if (timed) {
			pcre2_code_free(s->re);
			s->re = timed;
		}
		/* JIT is an optimisation: without it (no JIT on this CPU) the
		 * interpreter gives the same matches */
		(void) pcre2_jit_compile(s->re, PCRE2_JIT_COMPLETE | PCRE2_JIT_PARTIAL_HARD);
		s->jit_done = true;
	}
	return s->re;
}

/* Sort pattern @i: what Vectorscan says of it alone. */
static int classify(struct search_pats *p, size_t i, char **ret_error)
{
	struct search_pat *s = &p->v[i];
	unsigned flags = HS_FLAG_ALLOWEMPTY | (p->flags & SEARCH_ICASE ? HS_FLAG_CASELESS : 0);
	hs_compile_error_t *ce = NULL;
	hs_expr_info_t *info = NULL;

	if (p->flags & SEARCH_FIXED) {
		s->kind = PAT_EXACT;
		s->minw = s->maxw = (uint32_t) s->len;
		return 0;
	}
	if (hs_expression_info(s->text, flags, &info, &ce) != HS_SUCCESS) {
		s->kind = PAT_PCRE2;
		s->why = strdup(ce ? ce->message : "out of memory");
		hs_free_compile_error(ce);
		if (!s->why)
			return -ENOMEM;
		if (s->minw == 0)
			return fail(p, i, ret_error, "%s can match the empty string%s", ", which is everywhere");
		return 0;
	}
	s->minw = info->min_width;
	s->maxw = (uint32_t) CK_MIN((uint64_t) info->max_width, (uint64_t) SEARCH_CARRY_MAX);
	s->kind = info->max_width == info->min_width && info->max_width <= SEARCH_CARRY_MAX ? PAT_EXACT : PAT_RANGE;
	free(info);
	if (s->minw == 0)
		return fail(p, i, ret_error, "%s can match the empty string%s", ", which is everywhere");
	return 0;
}

/* Compile the Vectorscan database of every pattern not (yet) PAT_PCRE2.
 * A pattern it refuses becomes PAT_PCRE2 and the rest is compiled again. */
static int hs_build(struct search_pats *p, char **ret_error)
{
	_cleanup_free_ const char **expr = calloc(p->n ? p->n : 1, sizeof(*expr));
	_cleanup_free_ unsigned *ids = calloc(p->n ? p->n : 1, sizeof(*ids));
	_cleanup_free_ unsigned *flags = calloc(p->n ? p->n : 1, sizeof(*flags));
	_cleanup_free_ size_t *lens = calloc(p->n ? p->n : 1, sizeof(*lens));
	unsigned f = p->flags & SEARCH_ICASE ? HS_FLAG_CASELESS : 0;

	if (!expr || !ids || !flags || !lens)
		return -ENOMEM;
	for (int tries = 0; tries <= HS_RETRIES; tries++) {
		hs_compile_error_t *ce = NULL;
		unsigned k = 0;
		hs_error_t rc;

		for (size_t i = 0; i < p->n; i++) {
			if (p->v[i].kind == PAT_PCRE2)
				continue;
			expr[k] = p->v[i].text;
			lens[k] = p->v[i].len;
			flags[k] = f;
			ids[k++] = (unsigned) i;
		}
		if (!k)
			return 0;
		if (p->flags & SEARCH_FIXED)
			rc = hs_compile_lit_multi(expr, flags, ids, lens, k, HS_MODE_STREAM, NULL, &p->db, &ce);
		else
			rc = hs_compile_multi(expr, flags, ids, k, HS_MODE_STREAM, NULL, &p->db, &ce);
		if (rc == HS_SUCCESS) {
			hs_free_compile_error(ce);
			return hs_alloc_scratch(p->db, &p->scratch) == HS_SUCCESS ? 0 : -ENOMEM;
		}
		if (!ce || ce->expression < 0 || (unsigned) ce->expression >= k || (p->flags & SEARCH_FIXED)) {
			/* the set as a whole: too large, or out of memory */
			if (ret_error && asprintf(ret_error, "the %u patterns are more than Vectorscan can compile "
						  "together here: %s", k, ce ? ce->message : "out of memory") < 0)
				*ret_error = NULL;
			hs_free_compile_error(ce);
			return -EINVAL;
		}
		struct search_pat *s = &p->v[ids[ce->expression]];

		s->kind = PAT_PCRE2;
		s->why = strdup(ce->message);
		hs_free_compile_error(ce);
		if (!s->why)
			return -ENOMEM;
	}
	if (ret_error && asprintf(ret_error, "Vectorscan refused more than %d of the patterns together", HS_RETRIES) < 0)
		*ret_error = NULL;
	return -EINVAL;
}

static int pats_finish(struct search_pats *p)
{
	p->overlap = 1;
	for (size_t i = 0; i < p->n; i++) {
		struct search_pat *s = &p->v[i];

		if (s->kind == PAT_PCRE2) {
			p->pcre2[p->n_pcre2++] = i;
			s->minw = CK_MAX(s->minw, 1u);
			s->maxw = SEARCH_CARRY_MAX;
		} else {
			p->overlap = CK_MAX(p->overlap, (uint64_t) s->maxw);
		}
		/* a fixed-length match needs no PCRE2 */
		if (s->kind == PAT_EXACT) {
			pcre2_code_free(s->re);
			s->re = NULL;
		}
	}
	return 0;
}

/* How many of @pats are regular expressions more than strings: they hold
 * a metacharacter. */
static size_t regex_count(const char *const *pats, size_t n)
{
	size_t k = 0;

	for (size_t i = 0; i < n; i++)
		k += strpbrk(pats[i], "\\^$.|?*+()[]{}") != NULL;
	return k;
}

int search_pats_new(const char *const *pats, const char *const *where, size_t n, unsigned flags,
		    struct search_pats **ret, char **ret_error)
{
	_cleanup_(search_pats_freep) struct search_pats *p = calloc(1, sizeof(*p));
	size_t k;
	int rc;

	if (ret_error)
		*ret_error = NULL;
	if (!(flags & SEARCH_FIXED) && (k = regex_count(pats, n)) > SEARCH_REGEX_MAX) {
		if (ret_error && asprintf(ret_error, "%zu regular expressions given (-e, -f): at most %d in one run "
					  "(strings with -F: any number); split the list", k, SEARCH_REGEX_MAX) < 0)
			*ret_error = NULL;
		return -E2BIG;
	}
	if (!p || !(p->v = calloc(n ? n : 1, sizeof(*p->v))) || !(p->pcre2 = calloc(n ? n : 1, sizeof(size_t))))
		return -ENOMEM;
	p->flags = flags;
	p->job_bytes = SEARCH_JOB_BYTES;
	for (size_t i = 0; i < n; i++) {
		struct search_pat *s = &p->v[i];

		p->n = i + 1;
		s->len = strlen(pats[i]);
		if (!(s->text = strdup(pats[i])) || (where && where[i] && !(s->where = strdup(where[i]))))
			return -ENOMEM;
		if (!s->len)
			return fail(p, i, ret_error, "%s is empty%s", " (it would match everywhere)");
		if (s->len > SEARCH_CARRY_MAX)
			return fail(p, i, ret_error, "%s is longer than %s", "1 MiB");
		/* -F: a string is a string; its PCRE2 code is for SEARCH_PCRE2 */
		if ((!(flags & SEARCH_FIXED) || (flags & SEARCH_PCRE2)) && (rc = pcre2_check(p, i, ret_error)) < 0)
			return rc;
		if (flags & SEARCH_PCRE2) {
			s->kind = PAT_PCRE2;
			if (!(s->why = strdup("PCRE2 was asked for")))
				return -ENOMEM;
			if (s->minw == 0)
				return fail(p, i, ret_error, "%s can match the empty string%s", ", which is everywhere");
		} else if ((rc = classify(p, i, ret_error)) < 0) {
			return rc;
		}
	}
	if ((rc = hs_build(p, ret_error)) < 0)
		return rc;
	pats_finish(p);
	search_pats_tune(p, 0, 0);
	*ret = TAKE_PTR(p);
	return 0;
}

void search_pats_tune(struct search_pats *p, uint64_t job_bytes, unsigned threads)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);

	p->job_bytes = job_bytes ? job_bytes : SEARCH_JOB_BYTES;
	if (!threads)
		threads = cpus > 0 ? (unsigned) cpus : 1;
	p->threads = CK_MIN(threads, (unsigned) SEARCH_THREADS_MAX);
}

size_t search_pats_pcre2_count(const struct search_pats *p)
{
	return p->n_pcre2;
}

size_t search_pats_pcre2_at(const struct search_pats *p, size_t k, const char **ret_why)
{
	size_t i = p->pcre2[k];

	if (ret_why)
		*ret_why = p->v[i].why;
	return i;
}
