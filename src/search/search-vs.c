/* SPDX-License-Identifier: Apache-2.0 */
/* The Vectorscan pass over one job (see search-int.h): every segment part
 * of the job is one stream, begun p->overlap bytes before the part (never
 * before its segment) and run SEARCH_LOOKAHEAD bytes past it; what it
 * reports ending inside the part becomes candidates. An unreadable stretch
 * ends the stream as a hole does (and is recorded for the report); the
 * next stream starts after it. */
#include <errno.h>
#include <string.h>

#include "search-int.h"

/* Bytes per hs_scan_stream() call, and the candidates a job may hold
 * before it stops there (dense matches are then taken in smaller jobs). */
#define SLICE (256u << 10)
#define CAND_CAP (1u << 16)

void search_job_done(struct search_job *j)
{
	free(j->c);
	free(j->h);
	*j = (struct search_job) { 0 };
}

static int push_cand(struct search_job *j, uint64_t lo, uint64_t hi, size_t pat)
{
	if (j->n == j->cap) {
		size_t cap = j->cap ? 2 * j->cap : 256;
		struct search_cand *v = reallocarray(j->c, cap, sizeof(*v));

		if (!v) {
			j->err = -ENOMEM;
			return -1;
		}
		j->c = v;
		j->cap = cap;
	}
	j->c[j->n++] = (struct search_cand) { .lo = lo, .hi = hi, .pat = pat };
	return 0;
}

static int push_hole(struct search_job *j, const struct mem_space *m, uint64_t addr, uint64_t end, int err)
{
	if (j->nh == j->caph) {
		size_t cap = j->caph ? 2 * j->caph : 4;
		struct search_hole *v = reallocarray(j->h, cap, sizeof(*v));

		if (!v) {
			j->err = -ENOMEM;
			return -1;
		}
		j->h = v;
		j->caph = cap;
	}
	j->h[j->nh++] = (struct search_hole) { .addr = addr, .len = end - addr, .err = err,
					       .run = mem_run_at(m, mem_run_after(m, addr)) };
	return 0;
}

static int on_match(unsigned id, unsigned long long from, unsigned long long to, unsigned flags, void *ctx)
{
	struct search_vs *s = ctx;
	const struct search_pat *pt = &s->p->v[id];
	struct search_cand *o = &s->open[id];
	uint64_t e = s->base + to, lo, hi;

	(void) from;
	(void) flags;
	if (atomic_load_explicit(s->cancel, memory_order_relaxed) || s->job->err)
		return 1;
	if (e <= s->own_lo || e > s->own_hi)
		return 0;
	if (pt->kind == PAT_EXACT)
		return push_cand(s->job, e - pt->maxw, e - pt->maxw, id) < 0;
	/* where a match that ends at e may start: never before the stream */
	lo = e - s->base > pt->maxw ? e - pt->maxw : s->base;
	hi = e - pt->minw;
	if (o->hi >= o->lo) {
		if (lo <= o->hi + 1 && hi + 1 >= o->lo) {
			o->lo = CK_MIN(o->lo, lo);
			o->hi = CK_MAX(o->hi, hi);
			return 0;
		}
		if (push_cand(s->job, o->lo, o->hi, id) < 0)
			return 1;
	} else {
		s->dirty[s->n_dirty++] = id;
	}
	o->lo = lo;
	o->hi = hi;
	return 0;
}

/* The ranges being grown become candidates. */
static void flush(struct search_vs *s)
{
	for (size_t k = 0; k < s->n_dirty; k++) {
		struct search_cand *o = &s->open[s->dirty[k]];

		if (o->hi >= o->lo)
			push_cand(s->job, o->lo, o->hi, s->dirty[k]);
		*o = (struct search_cand) { .lo = 1, .hi = 0 };
	}
	s->n_dirty = 0;
}

static int stream_open(struct search_vs *s, uint64_t base)
{
	s->base = base;
	if (hs_open_stream(s->p->db, 0, &s->stream) != HS_SUCCESS) {
		s->stream = NULL;
		s->job->err = -ENOMEM;
		return -1;
	}
	return 0;
}

/* End the stream; @eod: its end is where the data ends ($, \b there). */
static void stream_close(struct search_vs *s, bool eod)
{
	if (s->stream)
		hs_close_stream(s->stream, eod ? s->scratch : NULL, eod ? on_match : NULL, s);
	s->stream = NULL;
	flush(s);
}

/* Scan the part [pa, pb) of segment [seg, seg_end). Returns 0, or 1 when
 * the job must stop (cut, cancelled, out of memory). */
static int scan_part(struct search_vs *s, uint64_t seg, uint64_t seg_end, uint64_t pa, uint64_t pb)
{
	struct search_job *j = s->job;
	uint64_t pos = pa - seg > s->p->overlap ? pa - s->p->overlap : seg;
	uint64_t end = CK_MIN(seg_end, pb + SEARCH_LOOKAHEAD);

	s->own_lo = pa;
	s->own_hi = pb;
	if (stream_open(s, pos) < 0)
		return 1;
	while (pos < end) {
		size_t n = (size_t) CK_MIN((uint64_t) SEARCH_CHUNK, end - pos), got;
		uint64_t bad_end = end;
		int err = 0;

		got = search_read_part(s->m, pos, s->buf, n, &bad_end, &err);
		for (size_t off = 0; off < got; off += SLICE) {
			size_t k = CK_MIN((size_t) SLICE, got - off);
			uint64_t at = pos + off + k;

			if (hs_scan_stream(s->stream, (const char *) s->buf + off, (unsigned) k, 0, s->scratch,
					   on_match, s) != HS_SUCCESS) {
				stream_close(s, false);
				return 1;
			}
			if (j->n >= CAND_CAP && at < pb && at > pa + SEARCH_LOOKAHEAD) {
				/* enough for one job: what ends after the cut is the next one's */
				stream_close(s, false);
				j->done = at - SEARCH_LOOKAHEAD;
				return 1;
			}
		}
		if (got == n) {
			pos += got;
			continue;
		}
		/* [pos + got, bad_end) cannot be read: a hole */
		stream_close(s, true);
		if (pos + got < pb && push_hole(j, s->m, pos + got, bad_end, err) < 0)
			return 1;
		if (bad_end >= end)
			return 0;
		pos = bad_end;
		if (stream_open(s, pos) < 0)
			return 1;
	}
	stream_close(s, end == seg_end);
	return j->err ? 1 : 0;
}

static int cand_cmp(const void *x, const void *y)
{
	const struct search_cand *a = x, *b = y;

	if (a->lo != b->lo)
		return a->lo < b->lo ? -1 : 1;
	if (a->pat != b->pat)
		return a->pat < b->pat ? -1 : 1;
	return a->hi < b->hi ? -1 : a->hi > b->hi;
}

static void scan_job(struct search_vs *s, uint64_t a, uint64_t b)
{
	const struct mem_space *m = s->m;
	size_t nr = mem_run_count(m), i = mem_run_after(m, a);

	while (i < nr && mem_run_at(m, i)->vaddr < b) {
		const struct mem_run *r = mem_run_at(m, i);
		uint64_t seg = r->vaddr, seg_end = r->vaddr + r->len;

		/* the first segment may have begun before the job */
		for (size_t k = i; k > 0 && mem_run_at(m, k - 1)->vaddr + mem_run_at(m, k - 1)->len == seg; k--)
			seg = mem_run_at(m, k - 1)->vaddr;
		for (i++; i < nr && mem_run_at(m, i)->vaddr == seg_end; i++)
			seg_end += mem_run_at(m, i)->len;
		if (scan_part(s, seg, seg_end, CK_MAX(a, seg), CK_MIN(b, seg_end)))
			return;
		if (s->job->n >= CAND_CAP && seg_end < b) {
			/* many small segments: cut between two */
			s->job->done = seg_end;
			return;
		}
	}
}

void search_vs_job(struct search_vs *s, uint64_t a, uint64_t b, struct search_job *j)
{
	j->a = a;
	j->b = j->done = b;
	j->n = j->nh = 0;
	j->err = 0;
	s->job = j;
	if (!s->p->db)
		return;
	scan_job(s, a, b);
	if (j->n > 1)	/* j->c is NULL before the first candidate */
		qsort(j->c, j->n, sizeof(*j->c), cand_cmp);
}

int search_vs_init(struct search_vs *s, struct search_pats *p, const struct mem_space *m, atomic_bool *cancel)
{
	*s = (struct search_vs) { .p = p, .m = m, .cancel = cancel };
	if (!p->db)
		return 0;
	if (hs_clone_scratch(p->scratch, &s->scratch) != HS_SUCCESS)
		return -ENOMEM;
	s->buf = malloc(SEARCH_CHUNK);
	s->open = malloc(p->n * sizeof(*s->open));
	s->dirty = malloc(p->n * sizeof(*s->dirty));
	if (!s->buf || !s->open || !s->dirty)
		return -ENOMEM;
	for (size_t i = 0; i < p->n; i++)
		s->open[i] = (struct search_cand) { .lo = 1, .hi = 0 };
	return 0;
}

void search_vs_done(struct search_vs *s)
{
	if (s->stream)
		hs_close_stream(s->stream, NULL, NULL, NULL);
	hs_free_scratch(s->scratch);
	free(s->buf);
	free(s->open);
	free(s->dirty);
	*s = (struct search_vs) { 0 };
}

size_t search_read_part(const struct mem_space *m, uint64_t at, uint8_t *buf, size_t n, uint64_t *ret_bad_end,
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
