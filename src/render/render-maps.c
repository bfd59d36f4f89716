/* SPDX-License-Identifier: Apache-2.0 */
/* The memory views' text: maps, pages.map and single maps lines, in the
 * kernel's format (fs/proc/task_mmu.c) from mm-<pid>.img, the dumped runs of
 * the address space and, for file mappings, files.img.
 *
 * Not in the images, so left out: device and inode print as "00:00 0";
 * SysV shm mappings get no path (the shm key lives in ipcns-shm, which the
 * model does not carry); anon VMA names set with PR_SET_VMA_ANON_NAME are
 * not dumped. */
#include <errno.h>
#include <string.h>

#include "render.h"
#include "render-priv.h"

/* show_map_vma() pads the path to 25 + sizeof(void *) * 6 - 1 columns on 64-bit. */
#define RENDER_MAPS_NAME_COL 73

static int put_vma_name(const struct ckpt *ck, const struct img_mm *mm, const struct img_vma *vma,
			struct ck_buf *out)
{
	const struct img_file *f;
	int rc;

	if (vma->status & IMG_VMA_AREA_MEMFD) {
		rc = render_need_file(ck, (uint32_t)vma->shmid, &f);
		if (rc < 0)
			return rc;
		if (f->type != IMG_FD_MEMFD)
			return -EIO;
		rc = render_put_memfd_name(ck, f->memfd_inode_id, out);
		return rc == -ENOENT ? -EIO : rc;
	}
	if (vma->status & (IMG_VMA_FILE_PRIVATE | IMG_VMA_FILE_SHARED)) {
		rc = render_reg_path(ck, (uint32_t)vma->shmid, out);
		return rc == -ENOENT ? -EIO : rc;
	}
	if (vma->status & IMG_VMA_AREA_SYSVIPC)
		return 0;
	if (vma->status & IMG_VMA_ANON_SHARED)
		return ck_buf_puts(out, "/dev/zero (deleted)");
	if (vma->status & IMG_VMA_AREA_VDSO)
		return ck_buf_puts(out, "[vdso]");
	if (vma->status & IMG_VMA_AREA_VVAR)
		return ck_buf_puts(out, "[vvar]");
	if (vma->status & IMG_VMA_AREA_VSYSCALL)
		return ck_buf_puts(out, "[vsyscall]");
	if (vma->status & IMG_VMA_AREA_HEAP)
		return ck_buf_puts(out, "[heap]");
	/* CRIU does not flag the stack; the kernel names the VMA holding start_stack. */
	if (mm && vma->start <= mm->mm_start_stack && vma->end >= mm->mm_start_stack)
		return ck_buf_puts(out, "[stack]");
	return 0;
}

/* One maps-style line for [start, end) of @vma, with @offset in the offset
 * column: the file offset for maps, the position in `pages` for pages.map. */
static int put_maps_line(const struct ckpt *ck, const struct img_mm *mm, const struct img_vma *vma,
			 uint64_t start, uint64_t end, uint64_t offset, struct ck_buf *out)
{
	_cleanup_(ck_buf_done) struct ck_buf name = { 0 };
	size_t line = out->len, hdr;
	int rc;

	rc = put_vma_name(ck, mm, vma, &name);
	if (rc < 0)
		return rc;
	if (name.oom)
		return -ENOMEM;
	ck_buf_printf(out, "%08llx-%08llx %c%c%c%c %08llx 00:00 0 ",
		      (unsigned long long)start, (unsigned long long)end,
		      vma->prot & IMG_PROT_READ ? 'r' : '-', vma->prot & IMG_PROT_WRITE ? 'w' : '-',
		      vma->prot & IMG_PROT_EXEC ? 'x' : '-', vma->flags & IMG_MAP_SHARED ? 's' : 'p',
		      (unsigned long long)offset);
	hdr = out->len - line;
	if (name.len) {
		if (hdr < RENDER_MAPS_NAME_COL)
			ck_buf_printf(out, "%*s", (int)(RENDER_MAPS_NAME_COL - hdr), "");
		ck_buf_add(out, name.data, name.len);
	}
	return ck_buf_putc(out, '\n');
}

static int put_maps(const struct ckpt *ck, const struct ckpt_proc *p, struct ck_buf *out)
{
	const struct img_mm *mm;
	size_t i;
	int rc;

	rc = render_proc_mm(p, &mm);
	if (rc < 0 || !mm)
		return rc;
	for (i = 0; i < mm->n_vmas; i++) {
		const struct img_vma *vma = &mm->vmas[i];

		rc = put_maps_line(ck, mm, vma, vma->start, vma->end, vma->pgoff, out);
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* pages.map: each dumped run, cut at VMA boundaries, with its position in
 * `pages` in the offset column (bytes outside every VMA keep "---p" and no
 * name); then the ranges whose data is in a parent checkpoint that was not
 * given, with "--------" as offset since they are not in `pages`. */
static int put_pages_map(const struct ckpt *ck, const struct ckpt_proc *p, struct ck_buf *out)
{
	static const struct img_vma none = { .flags = 0x02 };
	const struct img_mm *mm;
	int rc;

	rc = render_proc_mm(p, &mm);
	if (rc < 0)
		return rc;
	if (!p->mem)
		return p->mem_err < 0 ? -EIO : 0;
	for (size_t i = 0; i < mem_run_count(p->mem); i++) {
		const struct mem_run *r = mem_run_at(p->mem, i);
		uint64_t a = r->vaddr, end = r->vaddr + r->len;
		size_t v = 0;

		while (a < end) {
			const struct img_vma *vma = &none;
			uint64_t b = end;

			for (; mm && v < mm->n_vmas && mm->vmas[v].end <= a; v++)
				;
			if (mm && v < mm->n_vmas && mm->vmas[v].start <= a)
				vma = &mm->vmas[v];
			if (vma != &none)
				b = CK_MIN(end, vma->end);
			else if (mm && v < mm->n_vmas)
				b = CK_MIN(end, mm->vmas[v].start);
			rc = put_maps_line(ck, mm, vma, a, b, r->dense_off + (a - r->vaddr), out);
			if (rc < 0)
				return rc;
			a = b;
		}
	}
	/* pages a parent checkpoint holds but was not given: holes in `pages`
	 * and `mem`, listed so that nobody mistakes them for zeros */
	for (size_t i = 0; i < mem_missing_count(p->mem); i++) {
		const struct mem_range *r = mem_missing_at(p->mem, i);

		size_t line = out->len, hdr;

		ck_buf_printf(out, "%08llx-%08llx ---- -------- 00:00 0 ", (unsigned long long)r->vaddr,
			      (unsigned long long)(r->vaddr + r->len));
		hdr = out->len - line;
		if (hdr < RENDER_MAPS_NAME_COL)
			ck_buf_printf(out, "%*s", (int)(RENDER_MAPS_NAME_COL - hdr), "");
		rc = ck_buf_puts(out, "[missing: in a parent checkpoint not given]\n");
		if (rc < 0)
			return rc;
	}
	return 0;
}

int render_pages_map(const struct ckpt *ck, const struct ckpt_proc *p, struct ck_buf *out)
{
	size_t start = out->len;

	return render_finish(out, start, put_pages_map(ck, p, out));
}

int render_maps_line(const struct ckpt *ck, const struct ckpt_proc *p, const struct img_vma *vma,
		     struct ck_buf *out)
{
	size_t start = out->len;

	return render_finish(out, start, put_maps_line(ck, p->mm, vma, vma->start, vma->end, vma->pgoff, out));
}

int render_maps(const struct ckpt *ck, const struct ckpt_proc *p, struct ck_buf *out)
{
	size_t start = out->len;

	return render_finish(out, start, put_maps(ck, p, out));
}
