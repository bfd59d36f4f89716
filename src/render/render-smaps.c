/* SPDX-License-Identifier: Apache-2.0 */
/* statm, smaps and smaps_rollup: the memory counters that top, ps and psutil
 * read, in the kernel's formats (Documentation/filesystems/proc.rst of the
 * kernel describes them). A checkpoint records which pages were dumped, not
 * what was resident, so:
 *
 *   Rss, Pss     the dumped bytes of the area (every dumped page counted as
 *                resident and as the process's alone);
 *   Anonymous    = Rss for private areas (CRIU dumps a private area's pages
 *                because they are anonymous or copied on write), 0 for shared;
 *   Private_Dirty / Shared_Dirty  = Rss, by the same split;
 *   everything else (clean, referenced, swap, huge pages, locked) prints 0,
 *   VmFlags only what the protection and MAP_SHARED say.
 *
 * statm: size = VmSize, resident = dumped pages, shared = dumped pages of
 * shared areas, text = the code segment, data = private writable areas
 * (the kernel's data_vm); lib and dt are 0 as in every kernel since 2.6. */
#include <errno.h>
#include <string.h>

#include "render.h"
#include "render-priv.h"

#define SM_PROT_READ 0x1u
#define SM_PROT_WRITE 0x2u
#define SM_PROT_EXEC 0x4u
#define SM_MAP_SHARED 0x01u
#define SM_MAP_GROWSDOWN 0x0100u
#define SM_NAME_COL 73	/* where maps puts the name column */

struct sm_counts {
	uint64_t size, rss, anon, priv_dirty, shared_dirty;
};

/* Dumped bytes of @p's address space within [start, end). */
static uint64_t dumped_in(const struct ckpt_proc *p, uint64_t start, uint64_t end)
{
	return p->mem ? mem_dumped_range(p->mem, start, end) : 0;
}

static void vma_counts(const struct ckpt_proc *p, const struct img_vma *v, struct sm_counts *c)
{
	uint64_t rss = v->end > v->start ? dumped_in(p, v->start, v->end) : 0;

	memset(c, 0, sizeof(*c));
	c->size = v->end > v->start ? v->end - v->start : 0;
	c->rss = rss;
	if (v->flags & SM_MAP_SHARED) {
		c->shared_dirty = rss;
	} else {
		c->anon = rss;
		c->priv_dirty = rss;
	}
}

static void put_kb(struct ck_buf *out, const char *name, uint64_t bytes)
{
	ck_buf_printf(out, "%s:%*s%8llu kB\n", name, (int) (15 - strlen(name)), "",
		      (unsigned long long) (bytes / 1024));
}

/* The counters, in the order of a 6.x kernel's smaps (and smaps_rollup). */
static void put_counts(struct ck_buf *out, const struct sm_counts *c)
{
	put_kb(out, "Rss", c->rss);
	put_kb(out, "Pss", c->rss);
	put_kb(out, "Pss_Dirty", c->rss);
	put_kb(out, "Pss_Anon", c->anon);
	put_kb(out, "Pss_File", 0);
	put_kb(out, "Pss_Shmem", c->shared_dirty);
	put_kb(out, "Shared_Clean", 0);
	put_kb(out, "Shared_Dirty", c->shared_dirty);
	put_kb(out, "Private_Clean", 0);
	put_kb(out, "Private_Dirty", c->priv_dirty);
	put_kb(out, "Referenced", 0);
	put_kb(out, "Anonymous", c->anon);
	put_kb(out, "KSM", 0);
	put_kb(out, "LazyFree", 0);
	put_kb(out, "AnonHugePages", 0);
	put_kb(out, "ShmemPmdMapped", 0);
	put_kb(out, "FilePmdMapped", 0);
	put_kb(out, "Shared_Hugetlb", 0);
	put_kb(out, "Private_Hugetlb", 0);
	put_kb(out, "Swap", 0);
	put_kb(out, "SwapPss", 0);
	put_kb(out, "Locked", 0);
}

/* The smaps counters leave out Pss_Anon/Pss_File/Pss_Shmem, which only the
 * rollup prints; put_counts() prints them, so smaps filters them here. */
static void put_vma_counts(struct ck_buf *out, const struct sm_counts *c, uint64_t page_size)
{
	struct ck_buf all = { 0 };
	const char *s, *e;

	put_kb(out, "Size", c->size);
	put_kb(out, "KernelPageSize", page_size);
	put_kb(out, "MMUPageSize", page_size);
	put_counts(&all, c);
	if (all.oom) {
		out->oom = true;
		ck_buf_done(&all);
		return;
	}
	for (s = all.data; s && *s; s = e) {
		e = strchrnul(s, '\n');
		if (*e)
			e++;
		if (strncmp(s, "Pss_Anon:", 9) && strncmp(s, "Pss_File:", 9) && strncmp(s, "Pss_Shmem:", 10))
			ck_buf_add(out, s, (size_t) (e - s));
	}
	ck_buf_done(&all);
}

static void put_vmflags(struct ck_buf *out, const struct img_vma *v)
{
	ck_buf_puts(out, "VmFlags:");
	if (v->prot & SM_PROT_READ)
		ck_buf_puts(out, " rd");
	if (v->prot & SM_PROT_WRITE)
		ck_buf_puts(out, " wr");
	if (v->prot & SM_PROT_EXEC)
		ck_buf_puts(out, " ex");
	if (v->flags & SM_MAP_SHARED)
		ck_buf_puts(out, " sh");
	ck_buf_puts(out, " mr mw me");
	if (v->flags & SM_MAP_SHARED)
		ck_buf_puts(out, " ms");
	if (v->flags & SM_MAP_GROWSDOWN)
		ck_buf_puts(out, " gd");
	ck_buf_puts(out, " \n");
}

/* The maps text of @p, whose lines are those of mm->vmas in order. */
static int maps_text(const struct ckpt *ck, const struct ckpt_proc *p, struct ck_buf *maps)
{
	return render_maps(ck, p, maps);
}

static int put_smaps(const struct ckpt *ck, const struct ckpt_proc *p, struct ck_buf *out)
{
	_cleanup_(ck_buf_done) struct ck_buf maps = { 0 };
	const struct img_mm *mm;
	const char *line;
	int rc;

	rc = render_proc_mm(p, &mm);
	if (rc < 0 || !mm)
		return rc;
	rc = maps_text(ck, p, &maps);
	if (rc < 0)
		return rc;
	line = maps.data;
	for (size_t i = 0; i < mm->n_vmas && line && *line; i++) {
		const char *e = strchrnul(line, '\n');
		struct sm_counts c;

		ck_buf_add(out, line, (size_t) (e - line));
		ck_buf_putc(out, '\n');
		vma_counts(p, &mm->vmas[i], &c);
		put_vma_counts(out, &c, render_page_size(ck));
		ck_buf_puts(out, "THPeligible:    0\n");
		put_vmflags(out, &mm->vmas[i]);
		line = *e ? e + 1 : e;
	}
	return 0;
}

static int put_rollup(const struct ckpt *ck, const struct ckpt_proc *p, struct ck_buf *out)
{
	struct sm_counts sum = { 0 };
	const struct img_mm *mm;
	uint64_t lo = 0, hi = 0;
	size_t line, hdr;
	int rc;

	rc = render_proc_mm(p, &mm);
	if (rc < 0 || !mm)
		return rc;
	for (size_t i = 0; i < mm->n_vmas; i++) {
		const struct img_vma *v = &mm->vmas[i];
		struct sm_counts c;

		if ((v->status & IMG_VMA_AREA_VSYSCALL) || v->end < v->start)
			continue;	/* the gate page is not in the mm's list */
		vma_counts(p, v, &c);
		sum.rss += c.rss;
		sum.anon += c.anon;
		sum.priv_dirty += c.priv_dirty;
		sum.shared_dirty += c.shared_dirty;
		if (!hi)
			lo = v->start;
		hi = v->end;
	}
	line = out->len;
	ck_buf_printf(out, "%08llx-%08llx ---p 00000000 00:00 0 ", (unsigned long long) lo,
		      (unsigned long long) hi);
	hdr = out->len - line;
	if (hdr < SM_NAME_COL)
		ck_buf_printf(out, "%*s", (int) (SM_NAME_COL - hdr), "");
	ck_buf_puts(out, "[rollup]\n");
	put_counts(out, &sum);
	return 0;
}

static int put_statm(const struct ckpt *ck, const struct ckpt_proc *p, struct ck_buf *out)
{
	uint64_t ps = render_page_size(ck), size = 0, res = 0, shared = 0, data = 0, text = 0;
	const struct img_mm *mm;
	int rc;

	rc = render_proc_mm(p, &mm);
	if (rc < 0)
		return rc;
	for (size_t i = 0; mm && i < mm->n_vmas; i++) {
		const struct img_vma *v = &mm->vmas[i];
		struct sm_counts c;

		if ((v->status & IMG_VMA_AREA_VSYSCALL) || v->end < v->start)
			continue;	/* the gate page is not part of the mm */
		vma_counts(p, v, &c);
		size += c.size;
		res += c.rss;
		shared += c.shared_dirty;
		if ((v->prot & SM_PROT_WRITE) && !(v->flags & (SM_MAP_SHARED | SM_MAP_GROWSDOWN)))
			data += c.size;
	}
	if (mm && mm->mm_end_code > mm->mm_start_code)
		text = ((mm->mm_end_code + ps - 1) & ~(ps - 1)) - (mm->mm_start_code & ~(ps - 1));
	ck_buf_printf(out, "%llu %llu %llu %llu 0 %llu 0\n", (unsigned long long) (size / ps),
		      (unsigned long long) (res / ps), (unsigned long long) (shared / ps),
		      (unsigned long long) (text / ps), (unsigned long long) (data / ps));
	return 0;
}

void render_rss(const struct ckpt_proc *p, const struct img_mm *mm, uint64_t *ret_anon, uint64_t *ret_shmem)
{
	*ret_anon = *ret_shmem = 0;
	for (size_t i = 0; mm && i < mm->n_vmas; i++) {
		const struct img_vma *v = &mm->vmas[i];
		struct sm_counts c;

		if ((v->status & IMG_VMA_AREA_VSYSCALL) || v->end < v->start)
			continue;
		vma_counts(p, v, &c);
		*ret_anon += c.anon;
		*ret_shmem += c.shared_dirty;
	}
}

int render_smaps(const struct ckpt *ck, const struct ckpt_proc *p, struct ck_buf *out)
{
	size_t start = out->len;

	return render_finish(out, start, put_smaps(ck, p, out));
}

int render_smaps_rollup(const struct ckpt *ck, const struct ckpt_proc *p, struct ck_buf *out)
{
	size_t start = out->len;

	return render_finish(out, start, put_rollup(ck, p, out));
}

int render_statm(const struct ckpt *ck, const struct ckpt_proc *p, struct ck_buf *out)
{
	size_t start = out->len;

	return render_finish(out, start, put_statm(ck, p, out));
}
