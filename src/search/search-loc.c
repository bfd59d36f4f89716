/* SPDX-License-Identifier: Apache-2.0 */
/* Where a byte of a process lies: its segment, its offset in /<pid>/pages
 * (the runs back to back, see src/mem/mem-dense.h), the VMA that holds it
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

/* The VMA of @mm holding @addr (VMAs are sorted and disjoint), or NULL. */
static const struct img_vma *vma_of(const struct img_mm *mm, uint64_t addr)
{
	size_t lo = 0, hi = mm ? mm->n_vmas : 0;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (mm->vmas[mid].end <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (mm && lo < mm->n_vmas && mm->vmas[lo].start <= addr)
		return &mm->vmas[lo];
	return NULL;
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
			      (unsigned long long) v->end, v->prot & 1 ? 'r' : '-', v->prot & 2 ? 'w' : '-',
			      v->prot & 4 ? 'x' : '-', v->flags & 1 ? 's' : 'p', (unsigned long long) v->pgoff);
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

int search_loc_addr(const struct ckpt *ck, const struct ckpt_proc *p, const struct mem_dense *d, uint64_t addr,
		    struct search_loc *loc)
{
	size_t i;
	const struct mem_run *r;

	if (!p->mem)
		return -ENOENT;
	i = mem_run_after(p->mem, addr);
	r = mem_run_at(p->mem, i);
	if (!r || r->vaddr > addr)
		return -ENOENT;
	return fill(ck, p, addr, mem_dense_offset(d, i) + (addr - r->vaddr), loc);
}

int search_loc_pages(const struct ckpt *ck, const struct ckpt_proc *p, const struct mem_dense *d, uint64_t off,
		     struct search_loc *loc)
{
	size_t lo = 0, hi;

	if (!p->mem || off >= mem_dense_size(d))
		return -ENOENT;
	/* the last run that starts at or before @off */
	hi = mem_run_count(p->mem);
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;

		if (mem_dense_offset(d, mid) <= off)
			lo = mid;
		else
			hi = mid;
	}
	return fill(ck, p, mem_run_at(p->mem, lo)->vaddr + (off - mem_dense_offset(d, lo)), off, loc);
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

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *) a, *(char *const *) b);
}

ssize_t search_pod_containers(const struct arc *a, char ***ret_names)
{
	static const char tail[] = "/checkpoint/inventory.img";
	char **v = NULL;
	size_t n = 0;

	*ret_names = NULL;
	if (arc_find(a, "checkpoint/inventory.img"))
		return 0;
	for (size_t i = 0; i < arc_count(a); i++) {
		const struct arc_entry *e = arc_entry_at(a, i);
		const char *slash = strchr(e->path, '/');
		char **nv;

		if (e->type != ARC_REG || !slash || slash == e->path || strcmp(slash, tail))
			continue;
		nv = reallocarray(v, n + 1, sizeof(*v));
		if (nv)
			v = nv;
		if (!nv || !(v[n] = strndup(e->path, (size_t) (slash - e->path)))) {
			for (size_t k = 0; k < n; k++)
				free(v[k]);
			free(v);
			return -ENOMEM;
		}
		n++;
	}
	if (n)
		qsort(v, n, sizeof(*v), cmp_str);
	*ret_names = v;
	return (ssize_t) n;
}
