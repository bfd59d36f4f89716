/* SPDX-License-Identifier: Apache-2.0 */
/* Where a byte of a process lies: its segment, its offset in /<pid>/pages
 * (the runs back to back, see src/mem/mem-dense.h and mem_run.dense_off), the VMA that holds it
 * as /<pid>/maps prints it; the escaping of matched bytes; the containers of
 * a pod checkpoint. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "render.h"
#include "search.h"

void search_segment(const struct mem_space *m, uint64_t addr, uint64_t *ret_start, uint64_t *ret_end)
{
	size_t n = mem_run_count(m), i = mem_run_after(m, addr), j;
	const struct mem_run *r = mem_run_at(m, i);
	uint64_t start, end;

	*ret_start = *ret_end = 0;
	if (!r || r->vaddr > addr)
		return;
	start = r->vaddr;
	for (j = i; j > 0 && mem_run_at(m, j - 1)->vaddr + mem_run_at(m, j - 1)->len == start; j--)
		start = mem_run_at(m, j - 1)->vaddr;
	end = r->vaddr + r->len;
	for (j = i + 1; j < n && mem_run_at(m, j)->vaddr == end; j++)
		end = mem_run_at(m, j)->vaddr + mem_run_at(m, j)->len;
	*ret_start = start;
	*ret_end = end;
}

/* VMA @i of the mm in @ctx ends at or before the address in it. */
struct vma_key {
	const struct img_mm *mm;
	uint64_t addr;
};

static bool vma_before(const void *ctx, size_t i)
{
	const struct vma_key *k = ctx;

	return k->mm->vmas[i].end <= k->addr;
}

/* The VMA of @mm holding @addr (VMAs are sorted and disjoint), or NULL. */
static const struct img_vma *vma_of(const struct img_mm *mm, uint64_t addr)
{
	struct vma_key k = { .mm = mm, .addr = addr };
	size_t i;

	if (!mm)
		return NULL;
	i = ck_lower_bound(mm->n_vmas, vma_before, &k);
	return i < mm->n_vmas && mm->vmas[i].start <= addr ? &mm->vmas[i] : NULL;
}

static int fill(const struct ckpt *ck, const struct ckpt_proc *p, uint64_t addr, uint64_t dense,
		struct search_loc *loc)
{
	_cleanup_(ck_buf_done) struct ck_buf b = { 0 };

	*loc = (struct search_loc) { .addr = addr, .pages_off = dense, .vma = vma_of(p->mm, addr) };
	if (!loc->vma)
		return 0;
	if (render_maps_line(ck, p, loc->vma, &b) < 0) {
		/* the name needs an image that is damaged: the numbers alone */
		const struct img_vma *v = loc->vma;

		ck_buf_done(&b);
		ck_buf_printf(&b, "%08llx-%08llx %c%c%c%c %08llx 00:00 0 ?", (unsigned long long) v->start,
			      (unsigned long long) v->end, v->prot & IMG_PROT_READ ? 'r' : '-',
			      v->prot & IMG_PROT_WRITE ? 'w' : '-', v->prot & IMG_PROT_EXEC ? 'x' : '-',
			      v->flags & IMG_MAP_SHARED ? 's' : 'p', (unsigned long long) v->pgoff);
	}
	if (b.oom)
		return -ENOMEM;
	if (b.len && b.data[b.len - 1] == '\n')
		b.len--;
	ck_buf_putc(&b, '\0');
	if (b.oom)
		return -ENOMEM;
	loc->maps = ck_buf_steal(&b, NULL);
	return 0;
}

int search_loc_addr(const struct ckpt *ck, const struct ckpt_proc *p, uint64_t addr, struct search_loc *loc)
{
	const struct mem_run *r;

	if (!p->mem)
		return -ENOENT;
	r = mem_run_at(p->mem, mem_run_after(p->mem, addr));
	if (!r || r->vaddr > addr)
		return -ENOENT;
	return fill(ck, p, addr, r->dense_off + (addr - r->vaddr), loc);
}

struct dense_key {
	const struct mem_space *m;
	uint64_t off;
};

/* Run @i ends at or before the dense offset sought. */
static bool run_before(const void *ctx, size_t i)
{
	const struct dense_key *k = ctx;
	const struct mem_run *r = mem_run_at(k->m, i);

	return r->dense_off + r->len <= k->off;
}

int search_loc_pages(const struct ckpt *ck, const struct ckpt_proc *p, uint64_t off, struct search_loc *loc)
{
	struct dense_key k = { .m = p->mem, .off = off };
	const struct mem_run *r;

	if (!p->mem)
		return -ENOENT;
	r = mem_run_at(p->mem, ck_lower_bound(mem_run_count(p->mem), run_before, &k));
	if (!r || r->dense_off > off)
		return -ENOENT;
	return fill(ck, p, r->vaddr + (off - r->dense_off), off, loc);
}

void search_loc_done(struct search_loc *loc)
{
	free(loc->maps);
	loc->maps = NULL;
}

void search_escape(struct ck_buf *out, const uint8_t *p, size_t len)
{
	static const char hex[] = "0123456789abcdef";

	for (size_t i = 0; i < len; i++) {
		uint8_t c = p[i];

		if (c == '\\')
			ck_buf_add(out, "\\\\", 2);
		else if (c == '\n')
			ck_buf_add(out, "\\n", 2);
		else if (c == '\t')
			ck_buf_add(out, "\\t", 2);
		else if (c == '\r')
			ck_buf_add(out, "\\r", 2);
		else if (c >= 0x20 && c < 0x7f)
			ck_buf_putc(out, (char) c);
		else {
			char x[4] = { '\\', 'x', hex[c >> 4], hex[c & 15] };

			ck_buf_add(out, x, 4);
		}
	}
}
