/* SPDX-License-Identifier: Apache-2.0 */
/* File-backed views: maps, fd/<n> link targets, fdinfo/<n>, and the paths of
 * cwd/root/exe, in the kernel's formats (fs/proc/task_mmu.c, fs/proc/fd.c,
 * fs/d_path.c) from files.img, remap-fpath.img and memfd.img.
 *
 * Not in the images, so left out or shown as unknown:
 * maps: device and inode print as "00:00 0"; SysV shm mappings get no path
 *   (the shm key lives in ipcns-shm, which the model does not carry); anon
 *   VMA names set with PR_SET_VMA_ANON_NAME are not dumped.
 * fd targets: PACKETSK and NS print "socket:[?]" / "<kind>:[?]" (no inode is
 *   stored); EXT and unknown types give -ENOENT.
 * fdinfo: mnt_id only for REG, BPF maps and the paths of FIFOs and TTYs (the
 *   pseudo-filesystem mounts of pipes, sockets and anon inodes are not
 *   dumped), ino only for pipes, FIFOs, sockets and pidfds; eventfd-id, eventfd-semaphore, epoll tfd, inotify,
 *   fanotify, pidfd and lock lines are not in the model. */
#include <errno.h>
#include <string.h>

#include "render.h"
#include "render-priv.h"

#define RENDER_O_CLOEXEC 02000000u
#define RENDER_FD_CLOEXEC 1u
/* show_map_vma() pads the path to 25 + sizeof(void *) * 6 - 1 columns on 64-bit. */
#define RENDER_MAPS_NAME_COL 73

bool render_file_deleted(const struct ckpt *ck, uint32_t id)
{
	const struct img_remap *rm = ckpt_remap_find(ck, id);

	return rm && (rm->type == IMG_REMAP_GHOST || rm->type == IMG_REMAP_LINKED);
}

int render_put_memfd_name(const struct ckpt *ck, uint32_t inode_id, struct ck_buf *out)
{
	const struct img_memfd *m = ckpt_memfd_find(ck, inode_id);

	if (!m || !m->name)
		return -ENOENT;
	/* anonymous shared memory is dumped as a memfd named by its path */
	if (m->name[0] == '/')
		return ck_buf_printf(out, "%s (deleted)", m->name);
	return ck_buf_printf(out, "/memfd:%s (deleted)", m->name);
}

/* A files.img entry that must exist: -EIO when files.img was damaged,
 * -ENOENT when it simply has no such id. */
static int need_file(const struct ckpt *ck, uint32_t id, const struct img_file **ret)
{
	const struct img_file *f = ckpt_file_find(ck, id);

	if (!f)
		return ck->files_err < 0 ? -EIO : -ENOENT;
	*ret = f;
	return 0;
}

static int put_reg_path(const struct ckpt *ck, uint32_t id, struct ck_buf *out)
{
	const struct img_file *f;
	int rc;

	rc = need_file(ck, id, &f);
	if (rc < 0)
		return rc;
	if (f->type != IMG_FD_REG || !f->name)
		return -ENOENT;
	ck_buf_puts(out, f->name);
	if (render_file_deleted(ck, id))
		ck_buf_puts(out, " (deleted)");
	return 0;
}

int render_reg_path(const struct ckpt *ck, uint32_t id, struct ck_buf *out)
{
	size_t start = out->len;

	return render_finish(out, start, put_reg_path(ck, id, out));
}

/* The path column of one maps line; appends nothing for anonymous memory. */
static int put_vma_name(const struct ckpt *ck, const struct img_mm *mm, const struct img_vma *vma,
			struct ck_buf *out)
{
	const struct img_file *f;
	int rc;

	if (vma->status & IMG_VMA_AREA_MEMFD) {
		rc = need_file(ck, (uint32_t)vma->shmid, &f);
		if (rc < 0)
			return rc;
		if (f->type != IMG_FD_MEMFD)
			return -EIO;
		rc = render_put_memfd_name(ck, f->memfd_inode_id, out);
		return rc == -ENOENT ? -EIO : rc;
	}
	if (vma->status & (IMG_VMA_FILE_PRIVATE | IMG_VMA_FILE_SHARED)) {
		rc = put_reg_path(ck, (uint32_t)vma->shmid, out);
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

static const char *anon_inode_name(uint32_t type)
{
	switch (type) {
	case IMG_FD_EVENTFD:
		return "anon_inode:[eventfd]";
	case IMG_FD_EVENTPOLL:
		return "anon_inode:[eventpoll]";
	case IMG_FD_SIGNALFD:
		return "anon_inode:[signalfd]";
	case IMG_FD_TIMERFD:
		return "anon_inode:[timerfd]";
	case IMG_FD_INOTIFY:
		return "anon_inode:inotify";
	case IMG_FD_FANOTIFY:
		return "anon_inode:[fanotify]";
	case IMG_FD_BPFMAP:
		return "anon_inode:bpf-map";
	case IMG_FD_PIDFD:
		return "anon_inode:[pidfd]";
	default:
		return NULL;
	}
}

static int put_fd_target(const struct ckpt *ck, const struct img_file *f, struct ck_buf *out)
{
	const char *anon = anon_inode_name(f->type);

	if (anon)
		return ck_buf_puts(out, anon);
	switch (f->type) {
	case IMG_FD_REG:
		return put_reg_path(ck, f->id, out);
	case IMG_FD_PIPE:
		return ck_buf_printf(out, "pipe:[%u]", f->ino);
	case IMG_FD_FIFO:
	case IMG_FD_TTY:
		return put_reg_path(ck, f->regf_id, out);
	case IMG_FD_INETSK:
	case IMG_FD_UNIXSK:
	case IMG_FD_NETLINKSK:
		return ck_buf_printf(out, "socket:[%u]", f->ino);
	case IMG_FD_PACKETSK:
		return ck_buf_puts(out, "socket:[?]");
	case IMG_FD_MEMFD:
		return render_put_memfd_name(ck, f->memfd_inode_id, out);
	case IMG_FD_NS:
		return ck_buf_printf(out, "%s:[?]", f->name ? f->name : "ns");
	case IMG_FD_TUNF:
		return ck_buf_puts(out, "/dev/net/tun");
	default:
		return -ENOENT;
	}
}

int render_fd_target(const struct ckpt *ck, const struct img_file *f, struct ck_buf *out)
{
	size_t start = out->len;

	return render_finish(out, start, put_fd_target(ck, f, out));
}

static bool has_inode(uint32_t type)
{
	switch (type) {
	case IMG_FD_PIPE:
	case IMG_FD_FIFO:
	case IMG_FD_INETSK:
	case IMG_FD_UNIXSK:
	case IMG_FD_NETLINKSK:
	case IMG_FD_PIDFD:
		return true;
	default:
		return false;
	}
}

static int put_fdinfo(const struct ckpt *ck, const struct img_fdinfo *fd, struct ck_buf *out)
{
	const struct img_file *f, *reg = NULL, *mnt = NULL;
	uint64_t pos;
	uint32_t flags;
	int rc;

	rc = need_file(ck, fd->id, &f);
	if (rc < 0)
		return rc;
	pos = f->pos;
	flags = f->flags;
	switch (f->type) {
	case IMG_FD_FIFO:
	case IMG_FD_TTY:
		/* the opened path is a REG entry; a FIFO keeps its flags there too */
		rc = need_file(ck, f->regf_id, &reg);
		if (rc < 0)
			return rc;
		if (f->type == IMG_FD_FIFO) {
			pos = reg->pos;
			flags = reg->flags;
		}
		mnt = reg;
		break;
	case IMG_FD_REG:
	case IMG_FD_BPFMAP:
		mnt = f;
		break;
	default:
		/* a unix socket's mnt_id is where it is bound, not sockfs */
		break;
	}
	/* CRIU keeps close-on-exec as an fd flag, not in the file flags. */
	flags |= fd->flags & RENDER_FD_CLOEXEC ? RENDER_O_CLOEXEC : 0;
	ck_buf_printf(out, "pos:\t%lld\nflags:\t0%o\n", (long long)pos, flags);
	if (mnt && mnt->has_mnt_id)
		ck_buf_printf(out, "mnt_id:\t%d\n", mnt->mnt_id);
	if (has_inode(f->type) && f->ino)
		ck_buf_printf(out, "ino:\t%u\n", f->ino);
	switch (f->type) {
	case IMG_FD_EVENTFD:
		ck_buf_printf(out, "eventfd-count: %16llx\n", (unsigned long long)f->efd_counter);
		break;
	case IMG_FD_SIGNALFD:
		ck_buf_printf(out, "sigmask:\t%016llx\n", (unsigned long long)f->sigmask);
		break;
	case IMG_FD_TIMERFD:
		ck_buf_printf(out,
			      "clockid: %d\nticks: %llu\nsettime flags: 0%o\n"
			      "it_value: (%llu, %llu)\nit_interval: (%llu, %llu)\n",
			      (int)f->clockid, (unsigned long long)f->ticks, f->settime_flags,
			      (unsigned long long)f->vsec, (unsigned long long)f->vnsec,
			      (unsigned long long)f->isec, (unsigned long long)f->insec);
		break;
	default:
		break;
	}
	return 0;
}

int render_fdinfo(const struct ckpt *ck, const struct ckpt_proc *p, const struct img_fdinfo *fd,
		     struct ck_buf *out)
{
	size_t start = out->len;

	(void)p;
	return render_finish(out, start, put_fdinfo(ck, fd, out));
}
