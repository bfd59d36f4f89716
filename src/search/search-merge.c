/* SPDX-License-Identifier: Apache-2.0 */
/* The ordered side of a scan (see search-int.h): the jobs' candidates, in
 * address order, become the matches one left-to-right search per pattern
 * would give. Each pattern has a resume point (where its next match may
 * start: after the end of its last one) and, for PCRE2, the point before
 * which it is known that no match starts. A candidate of a fixed-length
 * pattern is a match when it starts at or after the resume point; a range
 * is searched with PCRE2 (pcre2_set_offset_limit(): only matches that start
 * in it), on a window of memory read for it, as large as the match needs
 * (a partial match at the window's end makes it grow, up to
 * SEARCH_CARRY_MAX). Candidates are taken STEP bytes of start addresses at
 * a time, up to where the next job's may begin; the matches of a step are
 * sorted and handed out, so they leave in address order. */
#include <errno.h>
#include <limits.h>
#include <string.h>
#include <time.h>

#include "search-int.h"

#define STEP (256u << 10)
#define WIN_MIN (64u << 10)
#define LOOKBEHIND_MAX (64u << 10)	/* PCRE2's longest lookbehind is 65535 */
#define BUF_CAP (LOOKBEHIND_MAX + 16 + STEP + SEARCH_CARRY_MAX + 16 + WIN_MIN)

struct held {
	uint64_t addr, len;
	size_t pat;
};

struct search_merge {
	struct search_pats *p;
	const struct mem_space *m;
	const struct search_cb *cb;
	uint64_t *next;			/* per pattern: its next match starts at or after this */
	uint64_t *searched;		/* per pattern: PCRE2 found no match starting before this */
	uint8_t *hits;			/* per pattern: limits reached */
	struct search_cand *pend;	/* candidates not taken yet: [head, n), sorted */
	size_t head, n, cap;
	struct search_cand *tmp, *rem;
	size_t cap_tmp, cap_rem;
	struct held *held;		/* the matches of a step */
	size_t n_held, cap_held;
	struct search_hole *bad;	/* what cannot be read: sorted, disjoint */
	size_t n_bad, cap_bad;
	uint8_t *buf;			/* the window: [wlo, whi) */
	uint64_t wlo, whi;
	uint64_t span_lo, span_hi;	/* the readable stretch around the last address asked */
	pcre2_match_data *md;
	pcre2_match_context *mctx;
	pcre2_jit_stack *jit;
	struct timespec deadline;	/* of the pcre2_match() under way */
	unsigned ticks;
	int status;
	int err;
};

static bool grow(void **v, size_t *cap, size_t need, size_t size)
{
	size_t c = *cap ? *cap : 64;
	void *nv;

	if (need <= *cap)
		return true;
	while (c < need)
		c *= 2;
	if (!(nv = reallocarray(*v, c, size)))
		return false;
	*v = nv;
	*cap = c;
	return true;
}

/* [addr, end) cannot be read: report what was not reported yet, and keep it. */
static void add_bad(struct search_merge *g, uint64_t addr, uint64_t end, const struct mem_run *run, int err)
{
	size_t k = 0;
	uint64_t at = addr;

	while (k < g->n_bad && g->bad[k].addr + g->bad[k].len <= addr)
		k++;
	/* the parts not covered yet */
	for (size_t i = k; at < end; i++) {
		uint64_t stop = i < g->n_bad ? CK_MIN(end, g->bad[i].addr) : end;

		if (stop > at && g->cb->err)
			g->cb->err(g->cb->ctx, at, stop - at, run, err);
		if (stop > at)
			g->status = 1;
		if (i >= g->n_bad)
			break;
		at = CK_MAX(at, g->bad[i].addr + g->bad[i].len);
	}
	if (!grow((void **) &g->bad, &g->cap_bad, g->n_bad + 1, sizeof(*g->bad))) {
		g->err = -ENOMEM;
		return;
	}
	/* insert at k, then merge what it overlaps */
	memmove(&g->bad[k + 1], &g->bad[k], (g->n_bad - k) * sizeof(*g->bad));
	g->bad[k] = (struct search_hole) { .addr = addr, .len = end - addr, .run = run, .err = err };
	g->n_bad++;
	for (size_t i = k; i + 1 < g->n_bad && g->bad[i + 1].addr <= g->bad[i].addr + g->bad[i].len;) {
		uint64_t e = CK_MAX(g->bad[i].addr + g->bad[i].len, g->bad[i + 1].addr + g->bad[i + 1].len);

		g->bad[i].addr = CK_MIN(g->bad[i].addr, g->bad[i + 1].addr);
		g->bad[i].len = e - g->bad[i].addr;
		memmove(&g->bad[i + 1], &g->bad[i + 2], (g->n_bad - i - 2) * sizeof(*g->bad));
		g->n_bad--;
	}
	if (k > 0 && g->bad[k - 1].addr + g->bad[k - 1].len >= g->bad[k].addr) {
		uint64_t e = CK_MAX(g->bad[k - 1].addr + g->bad[k - 1].len, g->bad[k].addr + g->bad[k].len);

		g->bad[k - 1].len = e - g->bad[k - 1].addr;
		memmove(&g->bad[k], &g->bad[k + 1], (g->n_bad - k - 1) * sizeof(*g->bad));
		g->n_bad--;
	}
	g->span_lo = g->span_hi = 0;
}

/* Make [span_lo, span_hi) the readable stretch that holds *@q, moving *@q
 * to the next readable address when it is not. False when none follows. */
static bool span(struct search_merge *g, uint64_t *q)
{
	if (*q >= g->span_lo && *q < g->span_hi)
		return true;
	for (;;) {
		uint64_t lo, hi;
		bool moved = false;

		search_segment(g->m, *q, &lo, &hi);
		if (!hi) {
			const struct mem_run *r = mem_run_at(g->m, mem_run_after(g->m, *q));

			if (!r)
				return false;
			*q = r->vaddr;
			continue;
		}
		for (size_t i = 0; i < g->n_bad && !moved; i++) {
			uint64_t be = g->bad[i].addr + g->bad[i].len;

			if (g->bad[i].addr <= *q && *q < be) {
				*q = be;
				moved = true;
			} else if (be <= *q) {
				lo = CK_MAX(lo, be);
			} else {
				hi = CK_MIN(hi, g->bad[i].addr);
				break;
			}
		}
		if (moved)
			continue;
		g->span_lo = lo;
		g->span_hi = hi;
		return true;
	}
}

/* The bytes [lo, hi) of the current span, or NULL when they cannot all be
 * read (the span is then cut where reading failed) or memory is short. */
static const uint8_t *window(struct search_merge *g, uint64_t lo, uint64_t hi)
{
	uint64_t want, bad_end = 0;
	size_t got;
	int err = 0;

	if (lo >= g->wlo && hi <= g->whi)
		return g->buf + (lo - g->wlo);
	if (!g->buf && !(g->buf = malloc(BUF_CAP))) {
		g->err = -ENOMEM;
		return NULL;
	}
	want = CK_MIN(g->span_hi, CK_MAX(hi, lo + WIN_MIN));
	want = CK_MIN(want, lo + BUF_CAP);
	g->wlo = g->whi = 0;
	got = search_read_part(g->m, lo, g->buf, (size_t) (want - lo), &bad_end, &err);
	if (got < hi - lo) {
		add_bad(g, lo + got, CK_MAX(bad_end, lo + got + 1), mem_run_at(g->m, mem_run_after(g->m, lo + got)),
			err);
		return NULL;
	}
	g->wlo = lo;
	g->whi = lo + got;
	return g->buf;
}

static int hold(struct search_merge *g, uint64_t addr, uint64_t len, size_t pat)
{
	if (!grow((void **) &g->held, &g->cap_held, g->n_held + 1, sizeof(*g->held))) {
		g->err = -ENOMEM;
		return -1;
	}
	g->held[g->n_held++] = (struct held) { .addr = addr, .len = len, .pat = pat };
	g->next[pat] = addr + len;
	return 0;
}

static const char *limit_name(int rc)
{
	switch (rc) {
	case PCRE2_ERROR_MATCHLIMIT:
		return "PCRE2 match limit";
	case PCRE2_ERROR_DEPTHLIMIT:
		return "PCRE2 depth limit";
	case PCRE2_ERROR_HEAPLIMIT:
		return "PCRE2 heap limit";
	case PCRE2_ERROR_JIT_STACKLIMIT:
		return "PCRE2 JIT stack limit";
	case PCRE2_ERROR_NOMEMORY:
		return "PCRE2 out of memory";
	case PCRE2_ERROR_CALLOUT:
		return "time limit";
	default:
		return "PCRE2 matching error";
	}
}

static void limit_hit(struct search_merge *g, size_t i, uint64_t addr, uint64_t end, int rc)
{
	struct search_limit l = { .pattern = i, .addr = addr, .end = end, .what = limit_name(rc) };

	g->status = 1;
	if (g->hits[i] < 255)
		g->hits[i]++;
	l.gave_up = g->hits[i] >= SEARCH_LIMIT_HITS_MAX;
	if (l.gave_up)
		g->next[i] = UINT64_MAX;
	if (g->cb->limit)
		g->cb->limit(g->cb->ctx, &l);
}

/* The callout at the start of every pattern PCRE2 runs (search_pat_code()):
 * called at each start position tried (or each item), it ends a
 * pcre2_match() that has run past its deadline. */
static int on_callout(pcre2_callout_block *cb, void *data)
{
	struct search_merge *g = data;
	struct timespec now;

	(void) cb;
	if (++g->ticks % 16)
		return 0;
	clock_gettime(CLOCK_MONOTONIC_COARSE, &now);
	if (now.tv_sec > g->deadline.tv_sec || (now.tv_sec == g->deadline.tv_sec && now.tv_nsec > g->deadline.tv_nsec))
		return PCRE2_ERROR_CALLOUT;
	return 0;
}

/* One pcre2_match() of pattern @i for a match starting in [q, rr] (all in
 * the current span). Returns its code, the match in @ret_s, @ret_e; AGAIN
 * when the span changed (cut where reading failed) or memory is short. */
#define AGAIN INT_MAX
static int match_once(struct search_merge *g, size_t i, uint64_t q, uint64_t rr, uint64_t *ret_s, uint64_t *ret_e)
{
	const struct search_pat *s = &g->p->v[i];
	const pcre2_code *re = search_pat_code(g->p, i);
	uint64_t ext = s->maxw < SEARCH_CARRY_MAX ? s->maxw + 1u : 4096u;
	uint64_t lo = q - g->span_lo > s->lookbehind ? q - s->lookbehind : g->span_lo;

	for (;;) {
		uint64_t hi = CK_MIN(g->span_hi, rr + 1 + ext);
		bool final = hi == g->span_hi;
		uint32_t opts = PCRE2_NOTEMPTY | PCRE2_NO_UTF_CHECK | (lo != g->span_lo ? PCRE2_NOTBOL : 0);
		const uint8_t *b = window(g, lo, hi);
		PCRE2_SIZE *ov;
		int rc;

		if (!b)
			return AGAIN;	/* the span changed, or out of memory */
		if (!final)
			opts |= PCRE2_NOTEOL | PCRE2_PARTIAL_HARD;
		pcre2_set_offset_limit(g->mctx, (PCRE2_SIZE) (rr - lo));
		clock_gettime(CLOCK_MONOTONIC_COARSE, &g->deadline);
		g->deadline.tv_sec += SEARCH_TIME_LIMIT_MS / 1000;
		g->deadline.tv_nsec += (long) (SEARCH_TIME_LIMIT_MS % 1000) * 1000000;
		if (g->deadline.tv_nsec >= 1000000000) {
			g->deadline.tv_sec++;
			g->deadline.tv_nsec -= 1000000000;
		}
		rc = pcre2_match(re, b, (PCRE2_SIZE) (hi - lo), (PCRE2_SIZE) (q - lo), opts, g->md, g->mctx);
		ov = pcre2_get_ovector_pointer(g->md);
		if (rc == PCRE2_ERROR_PARTIAL && hi - (lo + ov[0]) <= SEARCH_CARRY_MAX) {
			/* the match may go on past the window: a larger one */
			ext = ext > SEARCH_CARRY_MAX / 4 ? SEARCH_CARRY_MAX + 1u : ext * 4;
			continue;
		}
		if (rc == PCRE2_ERROR_PARTIAL)	/* longer than SEARCH_CARRY_MAX: cut */
			rc = pcre2_match(re, b, (PCRE2_SIZE) (hi - lo), (PCRE2_SIZE) (q - lo),
					 opts & ~(PCRE2_PARTIAL_HARD | PCRE2_NOTEOL), g->md, g->mctx);
		if (rc >= 0) {
			*ret_s = lo + ov[0];
			*ret_e = lo + ov[1];
		}
		return rc;
	}
}

/* Every match of pattern @i that starts in [q, r], in order. Returns where
 * the search stopped: past r (at the next readable byte), or UINT64_MAX
 * when nothing readable follows. */
static uint64_t search_range(struct search_merge *g, size_t i, uint64_t q, uint64_t r)
{
	while (q <= r && !g->err && g->next[i] != UINT64_MAX) {
		uint64_t rr, ms, me;
		int rc;

		if (!span(g, &q))
			return UINT64_MAX;
		if (q > r)
			break;
		rr = CK_MIN(r, g->span_hi - 1);
		rc = match_once(g, i, q, rr, &ms, &me);
		if (rc == AGAIN)
			continue;
		if (rc >= 0) {
			if (hold(g, ms, me - ms, i) < 0)
				break;
			q = me;
			continue;
		}
		if (rc != PCRE2_ERROR_NOMATCH && rc != PCRE2_ERROR_PARTIAL)
			limit_hit(g, i, q, rr + 1, rc);
		q = rr + 1;
		g->searched[i] = CK_MAX(g->searched[i], q);
	}
	g->searched[i] = CK_MAX(g->searched[i], CK_MIN(q, r + 1));
	return q;
}

/* Take candidate @c for the step that ends before @xn; what it still
 * covers from @xn on goes to the remainders. */
static void take(struct search_merge *g, const struct search_cand *c, uint64_t xn, size_t *n_rem)
{
	const struct search_pat *s = &g->p->v[c->pat];
	uint64_t q, r = CK_MIN(c->hi, xn - 1);

	if (g->next[c->pat] == UINT64_MAX)
		return;
	if (s->kind == PAT_EXACT) {
		if (c->lo >= g->next[c->pat])
			hold(g, c->lo, s->maxw, c->pat);
		return;
	}
	q = CK_MAX(c->lo, CK_MAX(g->next[c->pat], g->searched[c->pat]));
	if (q <= r)
		q = search_range(g, c->pat, q, r);
	/* what is left starts at the next readable byte (a range of PCRE2
	 * alone may span holes of the address space) */
	q = CK_MAX(q, xn);
	if (c->hi >= q)
		g->rem[(*n_rem)++] = (struct search_cand) { .lo = q, .hi = c->hi, .pat = c->pat };
}

static int held_cmp(const void *x, const void *y)
{
	const struct held *a = x, *b = y;

	if (a->addr != b->addr)
		return a->addr < b->addr ? -1 : 1;
	return a->pat < b->pat ? -1 : a->pat > b->pat;
}

static int cand_cmp(const void *x, const void *y)
{
	const struct search_cand *a = x, *b = y;

	if (a->lo != b->lo)
		return a->lo < b->lo ? -1 : 1;
	return a->pat < b->pat ? -1 : a->pat > b->pat;
}

static int emit(struct search_merge *g)
{
	if (g->n_held > 1)
		qsort(g->held, g->n_held, sizeof(*g->held), held_cmp);
	for (size_t k = 0; k < g->n_held; k++) {
		struct search_hit h = { .addr = g->held[k].addr, .len = g->held[k].len, .pattern = g->held[k].pat };

		if (g->cb->hit(g->cb->ctx, &h)) {
			g->n_held = 0;
			return 2;
		}
	}
	g->n_held = 0;
	return 0;
}

/* pend = sorted merge of pend[head, n) and @c[0, nc). */
static int merge_in(struct search_merge *g, const struct search_cand *c, size_t nc)
{
	size_t a = g->head, b = 0, k = 0, total = g->n - g->head + nc;
	struct search_cand *t;

	if (!nc)
		return 0;
	if (!grow((void **) &g->tmp, &g->cap_tmp, total, sizeof(*g->tmp)))
		return -ENOMEM;
	while (a < g->n || b < nc) {
		bool first = b >= nc || (a < g->n && (g->pend[a].lo < c[b].lo ||
						      (g->pend[a].lo == c[b].lo && g->pend[a].pat <= c[b].pat)));

		g->tmp[k++] = first ? g->pend[a++] : c[b++];
	}
	t = g->pend;
	g->pend = g->tmp;
	g->tmp = t;
	size_t cap = g->cap;

	g->cap = g->cap_tmp;
	g->cap_tmp = cap;
	g->head = 0;
	g->n = total;
	return 0;
}

/* Take every candidate that starts before @limit, STEP bytes at a time. */
static int sweep(struct search_merge *g, uint64_t limit)
{
	while (g->head < g->n && g->pend[g->head].lo < limit) {
		uint64_t x = g->pend[g->head].lo, xn = limit - x > STEP ? x + STEP : limit;
		size_t k = g->head, n_rem = 0;
		int rc;

		while (k < g->n && g->pend[k].lo < xn)
			k++;
		if (!grow((void **) &g->rem, &g->cap_rem, k - g->head, sizeof(*g->rem)))
			return -ENOMEM;
		for (size_t j = g->head; j < k && !g->err; j++)
			take(g, &g->pend[j], xn, &n_rem);
		if (g->err)
			return g->err;
		/* the remainders start at xn or later: back among the others,
		 * in the slots just taken when they all come first */
		if (n_rem > 1)
			qsort(g->rem, n_rem, sizeof(*g->rem), cand_cmp);
		if (!n_rem || k == g->n || cand_cmp(&g->rem[n_rem - 1], &g->pend[k]) <= 0) {
			g->head = k - n_rem;
			if (n_rem)
				memcpy(&g->pend[g->head], g->rem, n_rem * sizeof(*g->rem));
		} else {
			g->head = k;
			if ((rc = merge_in(g, g->rem, n_rem)) < 0)
				return rc;
		}
		if ((rc = emit(g)))
			return rc;
	}
	return 0;
}

int search_merge_add(struct search_merge *g, struct search_job *j, bool last)
{
	uint64_t limit = UINT64_MAX;
	int rc;

	if (j->err)
		return j->err;
	for (size_t k = 0; k < j->nh; k++)
		add_bad(g, j->h[k].addr, j->h[k].addr + j->h[k].len, j->h[k].run, j->h[k].err);
	if ((rc = merge_in(g, j->c, j->n)) < 0)
		return rc;
	if (g->p->n_pcre2 && j->done > j->a) {
		/* the patterns PCRE2 runs alone: the whole job */
		if (!grow((void **) &g->rem, &g->cap_rem, g->p->n_pcre2, sizeof(*g->rem)))
			return -ENOMEM;
		for (size_t k = 0; k < g->p->n_pcre2; k++)
			g->rem[k] = (struct search_cand) { .lo = j->a, .hi = j->done - 1, .pat = g->p->pcre2[k] };
		if ((rc = merge_in(g, g->rem, g->p->n_pcre2)) < 0)
			return rc;
	}
	/* the next job's candidates start at or after done + 1 - overlap */
	if (!last)
		limit = j->done + 1 > g->p->overlap ? j->done + 1 - g->p->overlap : 0;
	rc = sweep(g, limit);
	return rc ? rc : g->err;
}

int search_merge_status(const struct search_merge *g)
{
	return g->status;
}

int search_merge_new(struct search_pats *p, const struct mem_space *m, const struct search_cb *cb,
		     struct search_merge **ret)
{
	struct search_merge *g = calloc(1, sizeof(*g));
	size_t n = p->n ? p->n : 1;

	if (!g)
		return -ENOMEM;
	*g = (struct search_merge) { .p = p, .m = m, .cb = cb };
	g->next = calloc(n, sizeof(*g->next));
	g->searched = calloc(n, sizeof(*g->searched));
	g->hits = calloc(n, 1);
	g->md = pcre2_match_data_create(1, NULL);
	g->mctx = pcre2_match_context_create(NULL);
	g->jit = pcre2_jit_stack_create(32 << 10, SEARCH_JIT_STACK_MAX, NULL);
	if (!g->next || !g->searched || !g->hits || !g->md || !g->mctx || !g->jit) {
		search_merge_free(g);
		return -ENOMEM;
	}
	pcre2_set_match_limit(g->mctx, SEARCH_MATCH_LIMIT);
	pcre2_set_depth_limit(g->mctx, SEARCH_DEPTH_LIMIT);
	pcre2_set_heap_limit(g->mctx, SEARCH_HEAP_LIMIT_KIB);
	pcre2_jit_stack_assign(g->mctx, NULL, g->jit);
	pcre2_set_callout(g->mctx, on_callout, g);
	*ret = g;
	return 0;
}

void search_merge_free(struct search_merge *g)
{
	if (!g)
		return;
	free(g->next);
	free(g->searched);
	free(g->hits);
	free(g->pend);
	free(g->tmp);
	free(g->rem);
	free(g->held);
	free(g->bad);
	free(g->buf);
	pcre2_match_data_free(g->md);
	pcre2_match_context_free(g->mctx);
	pcre2_jit_stack_free(g->jit);
	free(g);
}
