/* SPDX-License-Identifier: Apache-2.0 */
/* Building address spaces (docs/formats.md §3.4): the process pagemap first, with
 * PARENT entries looked up through the pre-dump chain (§3.5), then the
 * shared objects the VMAs map (§3.3) wherever the process pagemap is silent.
 * Everything is done on sorted lists of disjoint runs, so each step is an
 * intersection or a difference of two lists. A run without an archive is a
 * bare range; its pages_off mirrors vaddr so that merging treats it like a
 * contiguous run. */
#include <errno.h>
#include <string.h>

#include "log.h"
#include "mem-priv.h"

/* Largest page size mem_infer_page_size() accepts. */
#define MEM_PAGE_MAX (1u << 20)

struct run_vec {
	struct mem_run *v;
	size_t n, cap;
};

static void run_vec_done(struct run_vec *r)
{
	free(r->v);
	*r = (struct run_vec) { 0 };
}

static int run_vec_push(struct run_vec *r, uint64_t vaddr, uint64_t len, uint64_t off,
			const struct arc *a, const struct arc_entry *pages)
{
	if (r->n == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 16;
		struct mem_run *v;

		if (cap > SIZE_MAX / sizeof(*v))
			return -ENOMEM;
		v = realloc(r->v, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		r->v = v;
		r->cap = cap;
	}
	r->v[r->n++] = (struct mem_run) {
		.vaddr = vaddr, .len = len, .pages_off = a ? off : vaddr, .arc = a, .pages = pages,
	};
	return 0;
}

/* Append [lo, hi) of @src, keeping its source. */
static int push_piece(struct run_vec *out, const struct mem_run *src, uint64_t lo, uint64_t hi)
{
	return run_vec_push(out, lo, hi - lo, src->pages_off + (lo - src->vaddr), src->arc, src->pages);
}

static int run_cmp(const void *a, const void *b)
{
	const struct mem_run *x = a, *y = b;

	return x->vaddr < y->vaddr ? -1 : x->vaddr > y->vaddr;
}

/* Sort, then merge runs adjacent both in memory and in one pages member.
 * Overlaps give -EBADMSG, or are folded together when @union_ranges (bare
 * ranges only). */
static int normalise(struct run_vec *r, bool union_ranges)
{
	size_t out = 0;

	if (r->n > 1)
		qsort(r->v, r->n, sizeof(*r->v), run_cmp);
	for (size_t i = 0; i < r->n; i++) {
		struct mem_run *last = out ? &r->v[out - 1] : NULL;
		const struct mem_run *cur = &r->v[i];
		uint64_t last_end = last ? last->vaddr + last->len : 0;

		if (last && cur->vaddr < last_end) {
			if (!union_ranges)
				return -EBADMSG;
			last->len = CK_MAX(last_end, cur->vaddr + cur->len) - last->vaddr;
			continue;
		}
		if (last && cur->vaddr == last_end && cur->arc == last->arc && cur->pages == last->pages &&
		    cur->pages_off == last->pages_off + last->len) {
			last->len += cur->len;
			continue;
		}
		r->v[out++] = *cur;
	}
	r->n = out;
	return 0;
}

static uint64_t run_end(const void *ctx, size_t i)
{
	const struct mem_run *b = ctx;

	return b[i].vaddr + b[i].len;
}

/* Index of the first of the sorted, disjoint @b that ends after @pos, or @nb. */
static size_t first_after(const struct mem_run *b, size_t nb, uint64_t pos)
{
	return ck_first_ending_after(nb, run_end, b, pos);
}

/* The pieces of @b inside @w (both sorted and disjoint), with @b's sources. */
static int intersect(const struct mem_run *w, size_t nw, const struct mem_run *b, size_t nb,
		     struct run_vec *out)
{
	size_t i = 0, j = nw ? first_after(b, nb, w[0].vaddr) : nb;
	int rc;

	while (i < nw && j < nb) {
		uint64_t we = w[i].vaddr + w[i].len, be = b[j].vaddr + b[j].len;
		uint64_t lo = CK_MAX(w[i].vaddr, b[j].vaddr), hi = CK_MIN(we, be);

		if (lo < hi) {
			rc = push_piece(out, &b[j], lo, hi);
			if (rc < 0)
				return rc;
		}
		if (we < be)
			i++;
		else
			j++;
	}
	return 0;
}

/* The pieces of @w outside @b (both sorted and disjoint), with @w's sources. */
static int subtract(const struct mem_run *w, size_t nw, const struct mem_run *b, size_t nb,
		    struct run_vec *out)
{
	size_t j = nw ? first_after(b, nb, w[0].vaddr) : nb;
	int rc;

	for (size_t i = 0; i < nw; i++) {
		uint64_t pos = w[i].vaddr, end = w[i].vaddr + w[i].len;

		while (j < nb && b[j].vaddr + b[j].len <= pos)
			j++;
		for (size_t k = j; k < nb && b[k].vaddr < end; k++) {
			if (b[k].vaddr > pos) {
				rc = push_piece(out, &w[i], pos, b[k].vaddr);
				if (rc < 0)
					return rc;
			}
			pos = CK_MAX(pos, b[k].vaddr + b[k].len);
		}
		if (pos < end) {
			rc = push_piece(out, &w[i], pos, end);
			if (rc < 0)
				return rc;
		}
	}
	return 0;
}

static int append(struct run_vec *to, const struct run_vec *from)
{
	for (size_t i = 0; i < from->n; i++) {
		int rc = push_piece(to, &from->v[i], from->v[i].vaddr, from->v[i].vaddr + from->v[i].len);

		if (rc < 0)
			return rc;
	}
	return 0;
}

/* The PRESENT runs (with their pages offsets, docs/formats.md §3.1: the counter
 * advances over PRESENT entries only) and the PARENT ranges of one level,
 * each sorted and merged. Entries that overlap, overflow or run past the
 * pages member give -EBADMSG. */
static int collect_level(const struct mem_level *lv, uint64_t ps, struct run_vec *ret_present,
			 struct run_vec *ret_parent)
{
	_cleanup_free_ struct mem_run *all = NULL;
	uint64_t off = 0, psize = lv->pages ? lv->pages->size : 0;
	const struct img_pagemap *pm = lv->pm;
	size_t n_all;
	int rc;

	for (size_t i = 0; i < pm->n_entries; i++) {
		const struct img_pagemap_entry *e = &pm->entries[i];
		uint64_t len;

		if (e->nr_pages == 0 || !(e->flags & (IMG_PE_PRESENT | IMG_PE_PARENT)))
			continue;	/* lazy pages without data are unknown: holes */
		if (e->nr_pages > UINT64_MAX / ps)
			return -EBADMSG;
		len = e->nr_pages * ps;
		if (e->vaddr > UINT64_MAX - len)
			return -EBADMSG;
		if (e->flags & IMG_PE_PRESENT) {
			if (len > psize || off > psize - len)
				return -EBADMSG;
			rc = run_vec_push(ret_present, e->vaddr, len, off, lv->arc, lv->pages);
			off += len;
		} else {
			rc = run_vec_push(ret_parent, e->vaddr, len, 0, NULL, NULL);
		}
		if (rc < 0)
			return rc;
	}

	/* Entries of one pagemap never overlap, whatever their kind. */
	n_all = ret_present->n + ret_parent->n;
	all = malloc((n_all ? n_all : 1) * sizeof(*all));
	if (!all)
		return -ENOMEM;
	if (ret_present->n)
		memcpy(all, ret_present->v, ret_present->n * sizeof(*all));
	if (ret_parent->n)
		memcpy(all + ret_present->n, ret_parent->v, ret_parent->n * sizeof(*all));
	qsort(all, n_all, sizeof(*all), run_cmp);
	for (size_t i = 1; i < n_all; i++)
		if (all[i].vaddr < all[i - 1].vaddr + all[i - 1].len)
			return -EBADMSG;
	rc = normalise(ret_present, false);
	if (rc == 0)
		rc = normalise(ret_parent, false);
	return rc;
}

/* Resolve a pagemap chain into dumped runs and missing ranges. Errors in
 * level 0 are returned; a damaged or absent parent level leaves whatever was
 * still wanted from it missing. */
static int resolve(const struct mem_level *lv, size_t n, uint64_t ps, struct run_vec *runs,
		   struct run_vec *missing)
{
	_cleanup_(run_vec_done) struct run_vec present = { 0 }, want = { 0 };
	int rc;

	rc = collect_level(&lv[0], ps, &present, &want);
	if (rc == 0)
		rc = append(runs, &present);
	for (size_t k = 1; rc == 0 && want.n && k < n && lv[k].pm; k++) {
		_cleanup_(run_vec_done) struct run_vec p = { 0 }, q = { 0 }, rest = { 0 }, next = { 0 };

		rc = collect_level(&lv[k], ps, &p, &q);
		if (rc < 0) {
			if (rc == -ENOMEM)
				return rc;
			ck_log(CK_LOG_DEBUG, "mem: parent level %zu: bad pagemap or pages (%s)", k, strerror(-rc));
			rc = 0;
			break;
		}
		rc = intersect(want.v, want.n, p.v, p.n, runs);
		if (rc == 0)
			rc = subtract(want.v, want.n, p.v, p.n, &rest);
		if (rc == 0)
			rc = subtract(rest.v, rest.n, q.v, q.n, missing);
		if (rc == 0)
			rc = intersect(rest.v, rest.n, q.v, q.n, &next);
		run_vec_done(&want);
		want = next;
		next = (struct run_vec) { 0 };
	}
	if (rc == 0)
		rc = append(missing, &want);
	return rc;
}

/* End of the highest VMA a file offset can reach; [vsyscall] lacks
 * VMA_AREA_REGULAR and lies above INT64_MAX anyway. Dumped runs count too,
 * so that no dumped byte is out of reach when the VMAs are missing. */
static uint64_t space_size(const struct img_mm *mm, const struct run_vec *runs)
{
	uint64_t size = 0;

	for (size_t i = 0; mm && i < mm->n_vmas; i++) {
		const struct img_vma *v = &mm->vmas[i];

		if (!(v->status & IMG_VMA_AREA_REGULAR) || v->end > (uint64_t) INT64_MAX)
			continue;
		size = CK_MAX(size, v->end);
	}
	for (size_t i = 0; i < runs->n; i++) {
		uint64_t end = runs->v[i].vaddr + runs->v[i].len;

		if (end <= (uint64_t) INT64_MAX)
			size = CK_MAX(size, end);
	}
	return size;
}

/* Move [@lo, @hi) of @from, shifted so that @lo lands on @at, into @to,
 * minus what @claimed covers. */
static int map_window(const struct mem_run *from, size_t n_from, uint64_t lo, uint64_t len, uint64_t at,
		      const struct run_vec *claimed, struct run_vec *to)
{
	_cleanup_(run_vec_done) struct run_vec in = { 0 };
	struct mem_run win = { .vaddr = lo, .len = len, .pages_off = lo };
	int rc;

	rc = intersect(&win, 1, from, n_from, &in);
	for (size_t i = 0; rc == 0 && i < in.n; i++) {
		in.v[i].vaddr = in.v[i].vaddr - lo + at;
		if (!in.v[i].arc)
			in.v[i].pages_off = in.v[i].vaddr;
	}
	if (rc == 0)
		rc = subtract(in.v, in.n, claimed->v, claimed->n, to);
	return rc;
}

struct vma_ref {
	uint64_t start;
	size_t idx;
};

static int vma_ref_cmp(const void *a, const void *b)
{
	const struct vma_ref *x = a, *y = b;

	return x->start < y->start ? -1 : x->start > y->start;
}

/* Fill the pages of shared VMAs that the process pagemap left alone. */
static int add_shared(const struct mem_spec *spec, struct run_vec *runs, struct run_vec *missing)
{
	_cleanup_(run_vec_done) struct run_vec claimed = { 0 };
	_cleanup_free_ struct vma_ref *refs = NULL;
	const struct img_mm *mm = spec->mm;
	size_t n_refs = 0;
	uint64_t prev_end = 0;
	int rc;

	refs = calloc(mm->n_vmas ? mm->n_vmas : 1, sizeof(*refs));
	if (!refs)
		return -ENOMEM;
	for (size_t i = 0; i < mm->n_vmas; i++)
		if (spec->shared[i] && mm->vmas[i].end > mm->vmas[i].start)
			refs[n_refs++] = (struct vma_ref) { mm->vmas[i].start, i };
	if (!n_refs)
		return 0;
	qsort(refs, n_refs, sizeof(*refs), vma_ref_cmp);

	/* What the process pagemap speaks for, dumped or not, is not the object's. */
	rc = append(&claimed, runs);
	if (rc == 0)
		rc = append(&claimed, missing);
	for (size_t i = 0; rc == 0 && i < claimed.n; i++) {
		claimed.v[i].arc = NULL;
		claimed.v[i].pages = NULL;
		claimed.v[i].pages_off = claimed.v[i].vaddr;
	}
	if (rc == 0)
		rc = normalise(&claimed, true);

	for (size_t i = 0; rc == 0 && i < n_refs; i++) {
		const struct img_vma *v = &mm->vmas[refs[i].idx];
		const struct mem_space *obj = spec->shared[refs[i].idx];
		uint64_t start = CK_MAX(v->start, prev_end), len, opos;

		/* Overlapping VMAs (hostile): the lower one wins. */
		if (v->end <= start)
			continue;
		prev_end = v->end;
		len = v->end - start;
		if (v->pgoff > UINT64_MAX - (v->end - v->start))
			continue;
		opos = v->pgoff + (start - v->start);
		rc = map_window(obj->runs, obj->n_runs, opos, len, start, &claimed, runs);
		if (rc == 0)
			rc = map_window(obj->missing_runs, obj->n_missing, opos, len, start, &claimed, missing);
	}
	return rc;
}

/* Normalise @runs and @missing into @m. */
static int space_finish(struct mem_space *m, struct run_vec *runs, struct run_vec *missing)
{
	int rc;

	rc = normalise(runs, false);
	if (rc < 0)
		return rc;
	rc = normalise(missing, true);
	if (rc < 0)
		return rc;
	m->missing = calloc(missing->n ? missing->n : 1, sizeof(*m->missing));
	if (!m->missing)
		return -ENOMEM;
	for (size_t i = 0; i < missing->n; i++)
		m->missing[i] = (struct mem_range) { missing->v[i].vaddr, missing->v[i].len };
	m->n_missing = missing->n;
	m->missing_runs = TAKE_PTR(missing->v);
	*missing = (struct run_vec) { 0 };
	m->n_runs = runs->n;
	m->runs = TAKE_PTR(runs->v);
	*runs = (struct run_vec) { 0 };
	if (!m->runs) {
		m->runs = calloc(1, sizeof(*m->runs));
		if (!m->runs)
			return -ENOMEM;
	}
	for (size_t i = 1; i < m->n_runs; i++)
		m->runs[i].dense_off = m->runs[i - 1].dense_off + m->runs[i - 1].len;
	return 0;
}

int mem_space_build(const struct mem_spec *spec, struct mem_space **ret_mem)
{
	_cleanup_(mem_space_freep) struct mem_space *m = NULL;
	_cleanup_(run_vec_done) struct run_vec runs = { 0 }, missing = { 0 };
	uint64_t ps = spec->page_size ? spec->page_size : 4096;
	int rc;

	if (!spec->n_levels || !spec->levels[0].pm)
		return -EINVAL;
	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	m->page_size = ps;
	rc = resolve(spec->levels, spec->n_levels, ps, &runs, &missing);
	if (rc == 0 && spec->mm && spec->shared) {
		/* add_shared() subtracts sorted lists. */
		rc = normalise(&runs, false);
		if (rc == 0)
			rc = normalise(&missing, true);
		if (rc == 0)
			rc = add_shared(spec, &runs, &missing);
	}
	if (rc == 0)
		m->size = space_size(spec->mm, &runs);
	if (rc == 0)
		rc = space_finish(m, &runs, &missing);
	if (rc < 0)
		return rc;
	for (size_t i = 0; i < m->n_runs; i++)
		m->dumped += m->runs[i].len;
	*ret_mem = TAKE_PTR(m);
	return 0;
}

int mem_space_new(const struct arc *a, const struct arc_entry *pages, const struct img_pagemap *pm,
		  const struct img_mm *mm, uint64_t page_size, struct mem_space **ret_mem)
{
	struct mem_level lv = { .arc = a, .pages = pages, .pm = pm };
	struct mem_spec spec = { .levels = &lv, .n_levels = 1, .mm = mm, .page_size = page_size };

	return mem_space_build(&spec, ret_mem);
}

int mem_object_new(const struct mem_level *levels, size_t n_levels, uint64_t size, uint64_t page_size,
		   struct mem_space **ret_mem)
{
	_cleanup_(mem_space_freep) struct mem_space *m = NULL;
	_cleanup_(run_vec_done) struct run_vec runs = { 0 }, missing = { 0 };
	uint64_t ps = page_size ? page_size : 4096;
	int rc;

	if (!n_levels || !levels[0].pm)
		return -EINVAL;
	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	m->page_size = ps;
	m->size = CK_MIN(size, (uint64_t) INT64_MAX);
	rc = resolve(levels, n_levels, ps, &runs, &missing);
	if (rc == 0)
		rc = space_finish(m, &runs, &missing);
	if (rc < 0)
		return rc;
	for (size_t i = 0; i < m->n_runs && m->runs[i].vaddr < m->size; i++)
		m->dumped += CK_MIN(m->runs[i].len, m->size - m->runs[i].vaddr);
	*ret_mem = TAKE_PTR(m);
	return 0;
}

uint64_t mem_infer_page_size(const struct img_pagemap *pm, uint64_t pages_size)
{
	uint64_t pages = 0, ps;

	for (size_t i = 0; i < pm->n_entries; i++) {
		const struct img_pagemap_entry *e = &pm->entries[i];

		if (!(e->flags & IMG_PE_PRESENT))
			continue;
		if (e->nr_pages > UINT64_MAX - pages)
			return 0;
		pages += e->nr_pages;
	}
	if (!pages || pages_size % pages)
		return 0;
	ps = pages_size / pages;
	if (ps < 4096 || ps > MEM_PAGE_MAX || (ps & (ps - 1)))
		return 0;
	return ps;
}
