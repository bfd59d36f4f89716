/* SPDX-License-Identifier: Apache-2.0 */
/* Memory areas, matched by start address (a stack that grew down, by its
 * end), and the dumped pages inside the areas both sides have. Pages
 * dumped in both are read from both, a chunk at a time, and compared byte
 * for byte; runs that point at the same bytes of the same pages member
 * (a pre-dump child and its parent) are equal without a read. Consecutive
 * pages of one kind make one event. A page kept only in a parent
 * checkpoint that was not given is neither added nor removed: it is
 * counted as not compared. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "diff-priv.h"
#include "render.h"

/* Bytes read from each side per step. */
#define MEM_CHUNK (1u << 20)

/* ---- one area as maps shows it ---- */

struct vma_text {
	struct ck_buf line;
	const char *perms, *path;
	size_t path_len;
};

static void vma_text_done(struct vma_text *t)
{
	ck_buf_done(&t->line);
}

/* The perms and path of @v from its maps line. */
static int vma_text(const struct ckpt *ck, const struct ckpt_proc *p, const struct img_vma *v, struct vma_text *t)
{
	const char *s;
	int rc = render_maps_line(ck, p, v, &t->line);

	t->perms = "?";
	t->path = "";
	t->path_len = 0;
	if (rc < 0)
		return rc;
	/* "start-end perms offset dev inode   path\n" */
	s = t->line.data;
	for (int k = 0; k < 5 && s; k++) {
		s = strchr(s, ' ');
		if (s && ++s && k == 0)
			t->perms = s;
	}
	if (!s)
		return -EIO;
	s += strspn(s, " ");
	t->path = s;
	t->path_len = strcspn(s, "\n");
	t->line.data[4 + (size_t) (t->perms - t->line.data)] = '\0';
	return 0;
}

/* ---- pairs of areas ---- */

struct vpair {
	const struct img_vma *a, *b;
};

static int vma_start_cmp(const void *x, const void *y)
{
	const struct img_vma *a = *(const struct img_vma *const *) x, *b = *(const struct img_vma *const *) y;

	return a->start < b->start ? -1 : a->start > b->start;
}

/* The VMAs of @mm by start address. */
static const struct img_vma **vmas_sorted(const struct img_mm *mm, size_t *ret_n)
{
	size_t n = mm ? mm->n_vmas : 0;
	const struct img_vma **v = calloc(n + 1, sizeof(*v));

	for (size_t i = 0; v && i < n; i++)
		v[i] = &mm->vmas[i];
	if (v)
		qsort(v, n, sizeof(*v), vma_start_cmp);
	*ret_n = n;
	return v;
}

static bool grows_down(const struct img_vma *v)
{
	return v && (v->flags & IMG_MAP_GROWSDOWN);
}

/* The end of the one area of pair @i of @p. */
static uint64_t lone_end(const struct vpair *p, size_t i)
{
	return p[i].a ? p[i].a->end : p[i].b->end;
}

static int lone_cmp(const void *x, const void *y, void *ctx)
{
	size_t i = *(const size_t *) x, j = *(const size_t *) y;
	uint64_t ei = lone_end(ctx, i), ej = lone_end(ctx, j);

	return ei != ej ? (ei < ej ? -1 : 1) : (i < j ? -1 : i > j);
}

/* Pair the areas of @p that grow down and have only one side by end:
 * a stack that grew keeps its end. Returns the new count or -ENOMEM. */
static ssize_t pair_by_end(struct vpair *p, size_t n)
{
	_cleanup_free_ size_t *la = calloc(n + 1, sizeof(*la)), *lb = calloc(n + 1, sizeof(*lb));
	size_t na = 0, nb = 0, i = 0, j = 0, k = 0;

	if (!la || !lb)
		return -ENOMEM;
	for (size_t q = 0; q < n; q++) {
		if (!p[q].b && grows_down(p[q].a))
			la[na++] = q;
		else if (!p[q].a && grows_down(p[q].b))
			lb[nb++] = q;
	}
	qsort_r(la, na, sizeof(*la), lone_cmp, p);
	qsort_r(lb, nb, sizeof(*lb), lone_cmp, p);
	while (i < na && j < nb) {
		uint64_t ea = lone_end(p, la[i]), eb = lone_end(p, lb[j]);

		if (ea != eb) {
			i += ea < eb;
			j += eb < ea;
			continue;
		}
		/* one pair where the lower start was; the other slot goes */
		p[CK_MIN(la[i], lb[j])] = (struct vpair) { p[la[i]].a, p[lb[j]].b };
		p[CK_MAX(la[i], lb[j])] = (struct vpair) { NULL, NULL };
		i++;
		j++;
	}
	for (size_t q = 0; q < n; q++)
		if (p[q].a || p[q].b)
			p[k++] = p[q];
	return (ssize_t) k;
}

/* Pairs of @ma and @mb by start, then by end for areas that grow down. */
static int vma_pairs(const struct img_mm *ma, const struct img_mm *mb, struct vpair **ret, size_t *ret_n)
{
	size_t na, nb, i = 0, j = 0, n = 0;
	_cleanup_free_ const struct img_vma **va = vmas_sorted(ma, &na), **vb = vmas_sorted(mb, &nb);
	struct vpair *p = calloc(na + nb + 1, sizeof(*p));
	ssize_t got;

	if (!va || !vb || !p) {
		free(p);
		return -ENOMEM;
	}
	while (i < na || j < nb) {
		int c = i == na ? 1 : j == nb ? -1 : vma_start_cmp(&va[i], &vb[j]);

		p[n++] = (struct vpair) { c <= 0 ? va[i] : NULL, c >= 0 ? vb[j] : NULL };
		i += c <= 0;
		j += c >= 0;
	}
	got = pair_by_end(p, n);
	if (got < 0) {
		free(p);
		return (int) got;
	}
	*ret = p;
	*ret_n = (size_t) got;
	return 0;
}

/* Dumped bytes of @m in [lo, hi). */
static uint64_t dumped_in(const struct mem_space *m, uint64_t lo, uint64_t hi)
{
	uint64_t sum = 0;

	for (size_t i = m ? mem_run_after(m, lo) : 0; m && i < mem_run_count(m); i++) {
		const struct mem_run *r = mem_run_at(m, i);

		if (r->vaddr >= hi)
			break;
		sum += CK_MIN(hi, r->vaddr + r->len) - CK_MAX(lo, r->vaddr);
	}
	return sum;
}

/* ---- page by page ---- */

struct mcmp {
	struct diff_ctx *x;
	const struct ckpt_proc *pa, *pb;
	const struct mem_space *ma, *mb;
	uint64_t ps;
	uint8_t *ba, *bb;
	/* the run being gathered */
	const char *kind;
	uint64_t start, end;
	uint64_t at;
	uint8_t from[DIFF_BYTES_MAX], to[DIFF_BYTES_MAX];
	size_t blen;
	/* what was not compared */
	uint64_t missing, unread, unread_at;
};

static int flush(struct mcmp *m)
{
	struct diff_event ev;

	if (!m->kind)
		return 0;
	diff_ev(m->x, &ev, m->kind);
	diff_addr(&ev, "start", m->start);
	diff_addr(&ev, "end", m->end);
	diff_num(&ev, "pages", (m->end - m->start + m->ps - 1) / m->ps);
	if (m->blen) {
		ev.at = m->at;
		ev.from = m->from;
		ev.to = m->to;
		ev.len = m->blen;
	}
	m->kind = NULL;
	m->blen = 0;
	return diff_emit(m->x, &ev);
}

/* Add [addr, addr + len) to the run of @kind; true when it starts one. */
static int pend(struct mcmp *m, const char *kind, uint64_t addr, uint64_t len, bool *ret_fresh)
{
	int rc = 0;

	*ret_fresh = m->kind != kind || m->end != addr;
	if (*ret_fresh) {
		rc = flush(m);
		m->kind = kind;
		m->start = addr;
	}
	m->end = addr + len;
	return rc;
}

/* --bytes: the line of the first byte that differs, from both sides. */
static void capture(struct mcmp *m, const uint8_t *a, const uint8_t *b, size_t len, uint64_t addr)
{
	size_t i = 0, from;

	while (i < len && a[i] == b[i])
		i++;
	from = i & ~(size_t) 15;
	m->blen = CK_MIN((size_t) DIFF_BYTES_MAX, len - from);
	memcpy(m->from, a + from, m->blen);
	memcpy(m->to, b + from, m->blen);
	m->at = addr + from;
}

/* [addr, addr + len), dumped in both: @ra at @oa and @rb at @ob. */
static int both(struct mcmp *m, const struct mem_run *ra, uint64_t oa, const struct mem_run *rb, uint64_t ob,
		uint64_t addr, uint64_t len)
{
	int rc = 0;

	if (ra->arc == rb->arc && ra->pages == rb->pages && ra->pages_off + oa == rb->pages_off + ob)
		return flush(m);
	for (uint64_t off = 0; rc == 0 && off < len;) {
		size_t n = (size_t) CK_MIN((uint64_t) MEM_CHUNK, len - off);
		ssize_t ga = mem_run_read(ra, oa + off, m->ba, n), gb = mem_run_read(rb, ob + off, m->bb, n);

		if (ga != (ssize_t) n || gb != (ssize_t) n) {
			if (!m->unread)
				m->unread_at = addr + off;
			m->unread += len - off;
			return flush(m);
		}
		for (size_t p = 0; rc == 0 && p < n; p += m->ps) {
			size_t pl = (size_t) CK_MIN((uint64_t) n - p, m->ps);
			bool fresh;

			if (!memcmp(m->ba + p, m->bb + p, pl)) {
				rc = flush(m);
				continue;
			}
			rc = pend(m, "memory-changed", addr + off + p, pl, &fresh);
			if (fresh && m->x->o->bytes)
				capture(m, m->ba + p, m->bb + p, pl, addr + off + p);
		}
		off += n;
	}
	return rc;
}

/* The part of [a, e) from @a that is, or is not (*@ret_in), in a range of
 * @m kept in a parent checkpoint that was not given: its end. */
static uint64_t missing_cut(const struct mem_space *m, uint64_t a, uint64_t e, bool *ret_in)
{
	size_t i = m ? mem_missing_after(m, a) : 0;
	const struct mem_range *r = m && i < mem_missing_count(m) ? mem_missing_at(m, i) : NULL;

	*ret_in = r && r->vaddr <= a;
	if (!r)
		return e;
	return CK_MIN(e, *ret_in ? r->vaddr + r->len : r->vaddr);
}

/* [a, e) dumped on one side only: @kind, except where @other (the other
 * side's space) says the page is kept in a parent that was not given. */
static int one(struct mcmp *m, const char *kind, const struct mem_space *other, uint64_t a, uint64_t e)
{
	int rc = 0;

	while (rc == 0 && a < e) {
		bool in, fresh;
		uint64_t cut = missing_cut(other, a, e, &in);

		if (in) {
			m->missing += cut - a;
			rc = flush(m);
		} else {
			rc = pend(m, kind, a, cut - a, &fresh);
		}
		a = cut;
	}
	return rc;
}

/* The run of @s at index *@i if it starts before @hi, else NULL. */
static const struct mem_run *run_at(const struct mem_space *s, size_t i, uint64_t hi)
{
	const struct mem_run *r = s && i < mem_run_count(s) ? mem_run_at(s, i) : NULL;

	return r && r->vaddr < hi ? r : NULL;
}

/* Compare the pages of [lo, hi), an area both sides map. */
static int pages(struct mcmp *m, uint64_t lo, uint64_t hi)
{
	size_t ia = m->ma ? mem_run_after(m->ma, lo) : 0, ib = m->mb ? mem_run_after(m->mb, lo) : 0;
	uint64_t a = lo;
	int rc = 0;

	while (rc == 0 && a < hi) {
		const struct mem_run *ra = run_at(m->ma, ia, hi), *rb = run_at(m->mb, ib, hi);
		bool ina = ra && ra->vaddr <= a, inb = rb && rb->vaddr <= a;
		uint64_t e = hi;

		if (ra)
			e = CK_MIN(e, ina ? ra->vaddr + ra->len : ra->vaddr);
		if (rb)
			e = CK_MIN(e, inb ? rb->vaddr + rb->len : rb->vaddr);
		if (ina && inb)
			rc = both(m, ra, a - ra->vaddr, rb, a - rb->vaddr, a, e - a);
		else if (ina)
			rc = one(m, "memory-removed", m->mb, a, e);
		else if (inb)
			rc = one(m, "memory-added", m->ma, a, e);
		else
			rc = flush(m);
		a = e;
		ia += ina && a >= ra->vaddr + ra->len;
		ib += inb && a >= rb->vaddr + rb->len;
	}
	return rc ?: flush(m);
}

/* ---- areas ---- */

/* vma-added or vma-removed for @v of @p. */
static int vma_one(struct mcmp *m, const struct ckpt *ck, const struct ckpt_proc *p, const struct img_vma *v,
		   const char *kind)
{
	_cleanup_(vma_text_done) struct vma_text t = { 0 };
	struct diff_event ev;
	int rc = vma_text(ck, p, v, &t);

	if (rc == -ENOMEM)
		return rc;
	diff_ev(m->x, &ev, kind);
	diff_addr(&ev, "start", v->start);
	diff_addr(&ev, "end", v->end);
	diff_str(&ev, "perms", t.perms);
	diff_strn(&ev, "path", t.path, t.path_len);
	diff_num(&ev, "pages", dumped_in(p->mem, v->start, v->end) / m->ps);
	return diff_emit(m->x, &ev);
}

/* One vma-changed for @name from @from to @to, with @b's start, end, perms and path. */
static int vma_change(struct mcmp *m, const struct img_vma *b, const struct vma_text *tb, const char *name,
		      const char *from, size_t from_len, const char *to, size_t to_len)
{
	struct diff_event ev;

	if (from_len == to_len && !memcmp(from, to, from_len))
		return 0;
	diff_ev(m->x, &ev, "vma-changed");
	diff_addr(&ev, "start", b->start);
	diff_addr(&ev, "end", b->end);
	diff_str(&ev, "perms", tb->perms);
	diff_strn(&ev, "path", tb->path, tb->path_len);
	diff_str(&ev, "field", name);
	diff_strn(&ev, "from", from, from_len);
	diff_strn(&ev, "to", to, to_len);
	return diff_emit(m->x, &ev);
}

/* vma_change() of two numbers, in hex or decimal. */
static int vma_num(struct mcmp *m, const struct img_vma *b, const struct vma_text *tb, const char *name, bool hex,
		   uint64_t from, uint64_t to)
{
	char f[32], t[32];
	int nf = snprintf(f, sizeof(f), hex ? "0x%" PRIx64 : "%" PRIu64, from);
	int nt = snprintf(t, sizeof(t), hex ? "0x%" PRIx64 : "%" PRIu64, to);

	return vma_change(m, b, tb, name, f, (size_t) nf, t, (size_t) nt);
}

static int vma_both(struct mcmp *m, const struct img_vma *a, const struct img_vma *b)
{
	_cleanup_(vma_text_done) struct vma_text ta = { 0 }, tb = { 0 };
	int ra = vma_text(m->x->a->ck, m->pa, a, &ta), rb = vma_text(m->x->b->ck, m->pb, b, &tb), rc;

	if (ra == -ENOMEM || rb == -ENOMEM)
		return -ENOMEM;
	rc = vma_num(m, b, &tb, "start", true, a->start, b->start);
	rc = rc ?: vma_num(m, b, &tb, "size", false, a->end - a->start, b->end - b->start);
	if (ra < 0 || rb < 0)
		diff_warn(m->x, "pid %u: perms and path of the area at 0x%" PRIx64 " not compared: %s", m->pa->pid,
			  b->start, strerror(-(ra < 0 ? ra : rb)));
	else
		rc = rc ?: vma_change(m, b, &tb, "perms", ta.perms, strlen(ta.perms), tb.perms, strlen(tb.perms));
	rc = rc ?: vma_num(m, b, &tb, "flags", true, a->flags, b->flags);
	rc = rc ?: vma_num(m, b, &tb, "status", true, a->status, b->status);
	if (ra == 0 && rb == 0)
		rc = rc ?: vma_change(m, b, &tb, "path", ta.path, ta.path_len, tb.path, tb.path_len);
	rc = rc ?: vma_num(m, b, &tb, "offset", true, a->pgoff, b->pgoff);
	if (rc == 0 && m->ma && m->mb)
		rc = pages(m, CK_MAX(a->start, b->start), CK_MIN(a->end, b->end));
	return rc;
}

/* The spaces of @pa and @pb can be compared page by page; else say why not. */
static bool spaces_ok(struct diff_ctx *x, const struct ckpt_proc *pa, const struct ckpt_proc *pb)
{
	if (!pa->mem && pa->mem_err < 0 && pa->mm)
		diff_warn(x, "%s: pid %u: memory not compared: %s", x->a->path, pa->pid, strerror(-pa->mem_err));
	else if (!pb->mem && pb->mem_err < 0 && pb->mm)
		diff_warn(x, "%s: pid %u: memory not compared: %s", x->b->path, pb->pid, strerror(-pb->mem_err));
	else if (pa->mem && pb->mem && mem_page_size(pa->mem) != mem_page_size(pb->mem))
		diff_warn(x, "pid %u: memory not compared: pages of %" PRIu64 " and %" PRIu64 " bytes", pa->pid,
			  mem_page_size(pa->mem), mem_page_size(pb->mem));
	else
		return true;
	return false;
}

static void say_uncompared(struct mcmp *m)
{
	if (m->missing)
		diff_warn(m->x, "pid %u: %" PRIu64 " pages not compared: one side keeps them in a parent checkpoint "
			  "that was not given (-o parent=)", m->pa->pid, m->missing / m->ps);
	if (m->unread)
		diff_warn(m->x, "pid %u: %" PRIu64 " bytes not compared from 0x%" PRIx64 ": a pages image reads short",
			  m->pa->pid, m->unread, m->unread_at);
}

int diff_mem(struct diff_ctx *x, const struct ckpt_proc *pa, const struct ckpt_proc *pb)
{
	struct mcmp m = { .x = x, .pa = pa, .pb = pb };
	_cleanup_free_ struct vpair *pairs = NULL;
	size_t n = 0;
	int rc;

	if (spaces_ok(x, pa, pb)) {
		m.ma = pa->mem;
		m.mb = pb->mem;
	}
	m.ps = m.ma ? mem_page_size(m.ma) : m.mb ? mem_page_size(m.mb) : pb->page_size ? pb->page_size : 4096;
	if ((pa->mm_err < 0 && !pa->mm && !ckpt_is_zombie(pa)) || (pb->mm_err < 0 && !pb->mm && !ckpt_is_zombie(pb)))
		diff_warn(x, "pid %u: memory areas not compared: %s", pa->pid,
			  strerror(-(pa->mm_err < 0 ? pa->mm_err : pb->mm_err)));
	if (!pa->mm || !pb->mm)
		return 0;
	rc = vma_pairs(pa->mm, pb->mm, &pairs, &n);
	if (rc == 0 && m.ma && m.mb) {
		m.ba = malloc(MEM_CHUNK);
		m.bb = malloc(MEM_CHUNK);
		if (!m.ba || !m.bb)
			rc = -ENOMEM;
	}
	for (size_t i = 0; rc == 0 && i < n; i++) {
		if (pairs[i].a && pairs[i].b)
			rc = vma_both(&m, pairs[i].a, pairs[i].b);
		else if (pairs[i].a)
			rc = vma_one(&m, x->a->ck, pa, pairs[i].a, "vma-removed");
		else
			rc = vma_one(&m, x->b->ck, pb, pairs[i].b, "vma-added");
	}
	free(m.ba);
	free(m.bb);
	if (rc == 0)
		say_uncompared(&m);
	return rc;
}
