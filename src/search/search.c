/* SPDX-License-Identifier: Apache-2.0 */
/* Fixed strings and PCRE2 regexes over the dumped memory of a space.
 *
 * Each segment (contiguous dumped memory) is read SEARCH_CHUNK bytes at a
 * time into one buffer. Every pattern keeps its own resume point; after a
 * step the buffer keeps what the pattern that is furthest behind still
 * needs: the start of a partial match (PCRE2_PARTIAL_HARD: the match could
 * go on past the bytes read so far) plus the pattern's longest lookbehind. So a match is
 * found whole wherever the reads cut the segment, as if the segment had been
 * one string. ^ and $ only match at the ends of a segment. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "search.h"

/* A fixed string is a PCRE2 pattern too (PCRE2_LITERAL): its JIT looks
 * for the first byte with memchr and was as fast as memmem() here. */
struct search_pat {
	pcre2_code *re;
	pcre2_match_data *md;
	uint64_t lookbehind;		/* bytes a match may look at before its start */
};

struct search_pats {
	struct search_pat *v;
	size_t n;
};

void search_pats_free(struct search_pats *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->n; i++) {
		pcre2_match_data_free(p->v[i].md);
		pcre2_code_free(p->v[i].re);
	}
	free(p->v);
	free(p);
}

int search_pats_new(const char *const *pats, size_t n, unsigned flags, struct search_pats **ret,
		    char **ret_error)
{
	_cleanup_(search_pats_freep) struct search_pats *p = calloc(1, sizeof(*p));

	if (!p || !(p->v = calloc(n ? n : 1, sizeof(*p->v))))
		return -ENOMEM;
	p->n = n;
	for (size_t i = 0; i < n; i++) {
		struct search_pat *s = &p->v[i];
		uint32_t opts = PCRE2_NO_UTF_CHECK, lb = 0;
		PCRE2_SIZE at;
		int code;

		if (!pats[i][0]) {
			if (ret_error && asprintf(ret_error, "pattern %zu is empty (it would match everywhere)", i + 1) < 0)
				*ret_error = NULL;
			return -EINVAL;
		}
		if (flags & SEARCH_FIXED)
			opts |= PCRE2_LITERAL;
		if (flags & SEARCH_ICASE)
			opts |= PCRE2_CASELESS;
		s->re = pcre2_compile((PCRE2_SPTR) pats[i], PCRE2_ZERO_TERMINATED, opts, &code, &at, NULL);
		if (!s->re) {
			PCRE2_UCHAR msg[256];

			pcre2_get_error_message(code, msg, sizeof(msg));
			if (ret_error && asprintf(ret_error, "pattern %zu '%s': %s at offset %zu", i + 1, pats[i],
						  (char *) msg, (size_t) at) < 0)
				*ret_error = NULL;
			return -EINVAL;
		}
		/* JIT is an optimisation: without it (no JIT on this CPU) the
		 * interpreter gives the same matches */
		(void) pcre2_jit_compile(s->re, PCRE2_JIT_COMPLETE | PCRE2_JIT_PARTIAL_HARD);
		pcre2_pattern_info(s->re, PCRE2_INFO_MAXLOOKBEHIND, &lb);
		s->lookbehind = (uint64_t) lb + 1;	/* +1: \b looks at the byte before */
		s->md = pcre2_match_data_create_from_pattern(s->re, NULL);
		if (!s->md)
			return -ENOMEM;
	}
	*ret = TAKE_PTR(p);
	return 0;
}

/* Per pattern state while one buffer is scanned. */
struct pat_state {
	uint64_t from;		/* where the next scan starts (address) */
	uint64_t need;		/* the first address the pattern still needs */
	bool has;		/* a pending match: [ms, me) */
	bool done;		/* nothing more in this buffer */
	uint64_t ms, me;
};

/* The buffer: @len bytes of the space from address @base; @final when they
 * reach the end of the segment, @seg_start where the segment begins. */
struct window {
	const uint8_t *buf;
	size_t len;
	uint64_t base;
	uint64_t seg_start;
	bool final;
};

/* Find the next match of @s in @w at or after st->from, or mark the pattern
 * done for this buffer and set st->need. */
static void pat_next(const struct search_pat *s, const struct window *w, struct pat_state *st)
{
	uint64_t end = w->base + w->len;
	size_t from;

	st->has = false;
	st->from = CK_MAX(st->from, w->base);
	from = (size_t) (st->from - w->base);
	for (;;) {
		uint32_t mo = PCRE2_NO_UTF_CHECK | PCRE2_NOTEMPTY_ATSTART | PCRE2_NOTEMPTY;
		PCRE2_SIZE *ov;
		int rc;

		if (w->base != w->seg_start)
			mo |= PCRE2_NOTBOL;
		if (!w->final)
			mo |= PCRE2_NOTEOL | PCRE2_PARTIAL_HARD;
		if (from > w->len)
			from = w->len;
		rc = pcre2_match(s->re, w->buf, w->len, from, mo, s->md, NULL);
		ov = pcre2_get_ovector_pointer(s->md);
		if (rc >= 0) {
			st->has = true;
			st->ms = w->base + ov[0];
			st->me = w->base + ov[1];
			return;
		}
		if (rc == PCRE2_ERROR_PARTIAL && w->len - ov[0] + s->lookbehind < SEARCH_CARRY_MAX) {
			/* keep the partial match for the next read */
			st->done = true;
			st->from = w->base + ov[0];
			st->need = st->from > w->base + s->lookbehind ? st->from - s->lookbehind : w->base;
			return;
		}
		if (rc == PCRE2_ERROR_PARTIAL) {
			/* too long to carry: match what is here as if the segment ended */
			rc = pcre2_match(s->re, w->buf, w->len, ov[0], mo & ~(PCRE2_PARTIAL_HARD | PCRE2_NOTEOL),
					 s->md, NULL);
			if (rc >= 0) {
				st->has = true;
				st->ms = w->base + ov[0];
				st->me = w->base + ov[1];
				return;
			}
		}
		/* no match (or a matching error such as the match limit): the
		 * next read starts at the end, keeping the lookbehind */
		st->done = true;
		st->from = end;
		st->need = end > w->base + s->lookbehind ? end - s->lookbehind : w->base;
		return;
	}
}

/* Scan one buffer: report the matches of every pattern, in address order,
 * and return the first address the next buffer must keep (or stop). */
static int scan_window(const struct search_pats *p, struct pat_state *st, const struct window *w,
		       search_hit_fn hit, void *ctx, uint64_t *ret_keep)
{
	uint64_t keep = w->base + w->len;

	for (size_t i = 0; i < p->n; i++) {
		st[i].done = false;
		pat_next(&p->v[i], w, &st[i]);
	}
	for (;;) {
		size_t best = p->n;

		for (size_t i = 0; i < p->n; i++)
			if (st[i].has && (best == p->n || st[i].ms < st[best].ms))
				best = i;
		if (best == p->n)
			break;
		struct search_hit h = { .addr = st[best].ms, .len = st[best].me - st[best].ms, .pattern = best };

		if (hit(ctx, &h))
			return 1;
		st[best].from = st[best].me;
		pat_next(&p->v[best], w, &st[best]);
	}
	for (size_t i = 0; i < p->n; i++)
		keep = CK_MIN(keep, st[i].need);
	*ret_keep = keep;
	return 0;
}

/* Read [at, at + n) of @m into @buf. On a failed read, the pages before the
 * first unreadable one are still read: returns the bytes read (n when all
 * were), and for a shorter count the end of the unreadable stretch that
 * follows (pages that fail one after the other, within the run) in
 * @ret_bad_end and the error in @ret_err. */
static size_t read_part(const struct mem_space *m, uint64_t at, uint8_t *buf, size_t n, uint64_t *ret_bad_end,
			int *ret_err)
{
	uint64_t ps = mem_page_size(m), pos, run_end;
	const struct mem_run *r;
	ssize_t got = mem_read(m, at, buf, n);

	if (got >= 0 && (size_t) got == n)
		return n;
	/* page by page: where does it start failing, and where does it stop */
	*ret_err = got < 0 ? (int) got : -EIO;
	for (pos = at; pos < at + n;) {
		uint64_t step = CK_MIN(ps - (pos & (ps - 1)), at + n - pos);

		got = mem_read(m, pos, buf + (pos - at), (size_t) step);
		if (got < 0 || (uint64_t) got != step)
			break;
		pos += step;
	}
	r = mem_run_at(m, mem_run_after(m, pos));
	run_end = r ? r->vaddr + r->len : pos + ps;
	*ret_bad_end = pos;
	while (*ret_bad_end < run_end) {
		uint8_t probe;
		uint64_t next = (*ret_bad_end | (ps - 1)) + 1;

		*ret_bad_end = CK_MIN(next, run_end);
		if (*ret_bad_end < run_end && mem_read(m, *ret_bad_end, &probe, 1) == 1)
			break;
	}
	return (size_t) (pos - at);
}

/* Stream [start, end) of @m through @buf. A stretch that cannot be read is
 * reported to @err and treated as a hole: the stream ends before it and a
 * new one starts after it. Returns 0, 1 (@err was called), 2 (stopped). */
static int scan_segment(const struct search_pats *p, struct pat_state *st, const struct mem_space *m,
			uint64_t start, uint64_t end, uint8_t *buf, search_hit_fn hit, search_err_fn err, void *ctx)
{
	struct window w = { .buf = buf, .base = start, .seg_start = start };
	uint64_t keep, bad_end = end;
	int ret = 0;

	for (size_t i = 0; i < p->n; i++)
		st[i] = (struct pat_state) { .from = start, .need = start };
	while (!w.final) {
		uint64_t at = w.base + w.len;
		size_t n = (size_t) CK_MIN((uint64_t) SEARCH_CHUNK, end - at);
		int rc = 0;
		size_t got = read_part(m, at, buf + w.len, n, &bad_end, &rc);

		w.len += got;
		w.final = w.base + w.len == end || got < n;
		if (scan_window(p, st, &w, hit, ctx, &keep))
			return 2;
		if (got < n) {
			/* unreadable from at + got: report it, go on after it */
			if (err)
				err(ctx, at + got, bad_end - (at + got), mem_run_at(m, mem_run_after(m, at + got)), rc);
			ret = 1;
			if (bad_end < end) {
				rc = scan_segment(p, st, m, bad_end, end, buf, hit, err, ctx);
				return rc == 2 ? 2 : 1;
			}
			break;
		}
		if (w.final)
			break;
		/* keep [keep, base + len); it is at most SEARCH_CARRY_MAX bytes */
		keep = CK_MAX(keep, w.base + w.len - CK_MIN((uint64_t) w.len, (uint64_t) SEARCH_CARRY_MAX));
		memmove(buf, buf + (keep - w.base), (size_t) (w.base + w.len - keep));
		w.len = (size_t) (w.base + w.len - keep);
		w.base = keep;
	}
	return ret;
}

int search_space(const struct search_pats *p, const struct mem_space *m, search_hit_fn hit, search_err_fn err,
		 void *ctx)
{
	_cleanup_free_ uint8_t *buf = malloc(SEARCH_CHUNK + SEARCH_CARRY_MAX);
	_cleanup_free_ struct pat_state *st = calloc(p->n ? p->n : 1, sizeof(*st));
	size_t nruns = mem_run_count(m), i = 0;
	int ret = 0;

	if (!buf || !st)
		return -ENOMEM;
	while (i < nruns) {
		const struct mem_run *r = mem_run_at(m, i);
		uint64_t start = r->vaddr, end = r->vaddr + r->len;
		int rc;

		/* runs that touch are one segment, whatever their source */
		for (i++; i < nruns && mem_run_at(m, i)->vaddr == end; i++)
			end = mem_run_at(m, i)->vaddr + mem_run_at(m, i)->len;
		rc = scan_segment(p, st, m, start, end, buf, hit, err, ctx);
		if (rc == 2)
			return 2;
		if (rc)
			ret = 1;
	}
	return ret;
}
