/* SPDX-License-Identifier: Apache-2.0 */
/* /<pid>/: the per-process views, in /proc's formats (render*.c), plus the
 * memory files mem (sparse, offset = address) and pages/pages.map (dense). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>

#include "elf.h"
#include "log.h"
#include "mem-dense.h"
#include "view-priv.h"
#include "render.h"

static int r_eio(const struct tree *t, const struct tree_node *n, struct ck_buf *out)
{
	return -EIO;
}

static int r_status(const struct tree *t, const struct tree_node *n, struct ck_buf *out)
{
	return render_status(t->ck, n->proc, n->thread, out);
}

static int r_stat(const struct tree *t, const struct tree_node *n, struct ck_buf *out)
{
	return render_stat(t->ck, n->proc, n->thread, out);
}

static int r_comm(const struct tree *t, const struct tree_node *n, struct ck_buf *out)
{
	return render_comm(t->ck, n->proc, n->thread, out);
}

static int r_cmdline(const struct tree *t, const struct tree_node *n, struct ck_buf *out)
{
	return render_cmdline(t->ck, n->proc, out);
}

static int r_environ(const struct tree *t, const struct tree_node *n, struct ck_buf *out)
{
	return render_environ(t->ck, n->proc, out);
}

static int r_maps(const struct tree *t, const struct tree_node *n, struct ck_buf *out)
{
	return render_maps(t->ck, n->proc, out);
}

static int r_limits(const struct tree *t, const struct tree_node *n, struct ck_buf *out)
{
	return render_limits(t->ck, n->proc, out);
}

static int r_auxv(const struct tree *t, const struct tree_node *n, struct ck_buf *out)
{
	return render_auxv(t->ck, n->proc, out);
}

static int r_pages_map(const struct tree *t, const struct tree_node *n, struct ck_buf *out)
{
	return render_pages_map(t->ck, n->proc, out);
}

static int r_fdinfo(const struct tree *t, const struct tree_node *n, struct ck_buf *out)
{
	return render_fdinfo(t->ck, n->proc, n->fd, out);
}

static int r_fd(const struct tree *t, const struct tree_node *n, struct ck_buf *out)
{
	const struct img_file *f = ckpt_file_find(t->ck, n->fd->id);

	if (!f)
		return -EIO;
	return render_fd_target(t->ck, f, out);
}

static int r_cwd(const struct tree *t, const struct tree_node *n, struct ck_buf *out)
{
	if (!n->proc->has_fs)
		return n->proc->fs_err ? -EIO : -ENOENT;
	return render_reg_path(t->ck, n->proc->fs.cwd_id, out);
}

static int r_root(const struct tree *t, const struct tree_node *n, struct ck_buf *out)
{
	if (!n->proc->has_fs)
		return n->proc->fs_err ? -EIO : -ENOENT;
	return render_reg_path(t->ck, n->proc->fs.root_id, out);
}

static int r_exe(const struct tree *t, const struct tree_node *n, struct ck_buf *out)
{
	if (!n->proc->mm)
		return n->proc->mm_err ? -EIO : -ENOENT;
	return render_reg_path(t->ck, n->proc->mm->exe_file_id, out);
}

static uint64_t mem_ops_size(const void *obj)
{
	return mem_size(obj);
}

static ssize_t mem_ops_read(const void *obj, void *buf, size_t len, uint64_t off)
{
	return mem_read(obj, off, buf, len);
}

static int64_t mem_ops_seek_data(const void *obj, uint64_t off)
{
	return mem_seek_data(obj, off);
}

static int64_t mem_ops_seek_hole(const void *obj, uint64_t off)
{
	return mem_seek_hole(obj, off);
}

static uint64_t mem_ops_allocated(const void *obj)
{
	return mem_dumped_bytes(obj);
}

static ssize_t mem_ops_extents(const void *obj, uint64_t off, size_t len, struct arc_extent *ext, size_t max)
{
	return mem_space_extents(obj, off, len, ext, max);
}

static const struct tree_stream_ops mem_ops = {
	.size = mem_ops_size,
	.read = mem_ops_read,
	.seek_data = mem_ops_seek_data,
	.seek_hole = mem_ops_seek_hole,
	.allocated = mem_ops_allocated,
	.extents = mem_ops_extents,
};

static uint64_t dense_ops_size(const void *obj)
{
	return mem_dense_size(obj);
}

static ssize_t dense_ops_read(const void *obj, void *buf, size_t len, uint64_t off)
{
	return mem_dense_read(obj, buf, len, off);
}

static void dense_ops_free(void *obj)
{
	mem_dense_free(obj);
}

static ssize_t dense_ops_extents(const void *obj, uint64_t off, size_t len, struct arc_extent *ext, size_t max)
{
	return mem_dense_extents(obj, off, len, ext, max);
}

static const struct tree_stream_ops dense_ops = {
	.size = dense_ops_size,
	.read = dense_ops_read,
	.free = dense_ops_free,
	.extents = dense_ops_extents,
};

/* /proc shows an fd link's access mode as its permission bits: lr-x, l-wx, lrwx. */
static mode_t fd_link_mode(const struct ckpt *ck, const struct img_fdinfo *fdi)
{
	const struct img_file *f = ckpt_file_find(ck, fdi->id);

	/* a FIFO keeps its flags in the REG entry of its path (as fdinfo shows) */
	if (f && f->type == IMG_FD_FIFO && ckpt_file_find(ck, f->regf_id))
		f = ckpt_file_find(ck, f->regf_id);
	switch (f ? f->flags & O_ACCMODE : O_RDONLY) {
	case O_WRONLY:
		return 0300;
	case O_RDWR:
		return 0700;
	default:
		return 0500;
	}
}

static int add_thread_dir(struct tree *t, struct tree_node *task, const struct ckpt_thread *th)
{
	char name[16];
	struct tree_node *d;

	snprintf(name, sizeof(name), "%u", th->tid);
	d = tree_node_add(t, task, name, TREE_DIR, S_IFDIR | 0555);
	if (!d)
		return -ENOMEM;
	d->thread = th;
	if (!tree_text_add(t, d, "status", S_IFREG | 0444, r_status, NULL) ||
	    !tree_text_add(t, d, "stat", S_IFREG | 0444, r_stat, NULL) ||
	    !tree_text_add(t, d, "comm", S_IFREG | 0444, r_comm, NULL))
		return -ENOMEM;
	return 0;
}

static uint64_t core_ops_size(const void *obj)
{
	return elf_core_size(obj);
}

static ssize_t core_ops_read(const void *obj, void *buf, size_t len, uint64_t off)
{
	return elf_core_read(obj, buf, len, off);
}

static int64_t core_ops_seek_data(const void *obj, uint64_t off)
{
	return elf_core_seek_data(obj, off);
}

static int64_t core_ops_seek_hole(const void *obj, uint64_t off)
{
	return elf_core_seek_hole(obj, off);
}

static uint64_t core_ops_allocated(const void *obj)
{
	return elf_core_allocated(obj);
}

static void core_ops_free(void *obj)
{
	elf_core_free(obj);
}

static const struct tree_stream_ops core_ops = {
	.size = core_ops_size,
	.read = core_ops_read,
	.seek_data = core_ops_seek_data,
	.seek_hole = core_ops_seek_hole,
	.allocated = core_ops_allocated,
	.free = core_ops_free,
};

/* core: an ELF core file of the process, built from headers and notes held
 * in memory and segment bytes read from the address space on demand. A
 * process without one (zombie, damaged images, other architecture) has no
 * core file; the reason is logged at debug level. */
static int add_core(struct tree *t, struct tree_node *d, const struct ckpt_proc *p)
{
	struct elf_core *core;
	int rc;

	rc = elf_core_new(t->ck, p, &core);
	if (rc == -ENOMEM)
		return rc;
	if (rc < 0) {
		ck_log(CK_LOG_DEBUG, "no core for pid %u: %s", p->pid, strerror(-rc));
		return 0;
	}
	return tree_stream_add(t, d, "core", S_IFREG | 0400, &core_ops, core) ? 0 : -ENOMEM;
}

static int add_memory(struct tree *t, struct tree_node *d, const struct ckpt_proc *p)
{
	struct mem_dense *dense;

	if (!p->mem && p->mem_err < 0 && p->mem_err != -ENOENT) {
		/* damaged pagemap or pages: the files exist and fail with EIO */
		if (!tree_text_add(t, d, "mem", S_IFREG | 0400, r_eio, NULL) ||
		    !tree_text_add(t, d, "pages", S_IFREG | 0400, r_eio, NULL) ||
		    !tree_text_add(t, d, "pages.map", S_IFREG | 0444, r_pages_map, NULL))
			return -ENOMEM;
		return 0;
	}
	if (!p->mem)
		return 0;
	if (!tree_stream_add(t, d, "mem", S_IFREG | 0400, &mem_ops, p->mem))
		return -ENOMEM;
	if (mem_dense_new(p->mem, &dense) < 0)
		return -ENOMEM;
	if (!tree_stream_add(t, d, "pages", S_IFREG | 0400, &dense_ops, dense))
		return -ENOMEM;
	if (!tree_text_add(t, d, "pages.map", S_IFREG | 0444, r_pages_map, NULL))
		return -ENOMEM;
	return 0;
}

static int add_fds(struct tree *t, struct tree_node *d, const struct ckpt_proc *p)
{
	struct tree_node *fd, *fdinfo, *n;
	char name[16];

	fd = tree_node_add(t, d, "fd", TREE_DIR, S_IFDIR | 0500);
	fdinfo = tree_node_add(t, d, "fdinfo", TREE_DIR, S_IFDIR | 0555);
	if (!fd || !fdinfo)
		return -ENOMEM;
	for (size_t i = 0; i < p->n_fds; i++) {
		snprintf(name, sizeof(name), "%u", p->fds[i].fd);
		n = tree_text_add(t, fd, name, S_IFLNK | fd_link_mode(t->ck, &p->fds[i]), r_fd, NULL);
		if (!n)
			return -ENOMEM;
		n->fd = &p->fds[i];
		n = tree_text_add(t, fdinfo, name, S_IFREG | 0444, r_fdinfo, NULL);
		if (!n)
			return -ENOMEM;
		n->fd = &p->fds[i];
	}
	return 0;
}

static int add_pid_dir(struct tree *t, const struct ckpt_proc *p)
{
	static const struct {
		const char *name;
		tree_render_fn render;
		mode_t mode;
	} files[] = {
		{ "status", r_status, S_IFREG | 0444 },
		{ "stat", r_stat, S_IFREG | 0444 },
		{ "comm", r_comm, S_IFREG | 0444 },
		{ "cmdline", r_cmdline, S_IFREG | 0444 },
		{ "environ", r_environ, S_IFREG | 0400 },
		{ "maps", r_maps, S_IFREG | 0444 },
		{ "limits", r_limits, S_IFREG | 0444 },
		{ "auxv", r_auxv, S_IFREG | 0400 },
		{ "cwd", r_cwd, S_IFLNK | 0777 },
		{ "root", r_root, S_IFLNK | 0777 },
		{ "exe", r_exe, S_IFLNK | 0777 },
	};
	struct tree_node *d, *task;
	char name[16];
	int rc;

	snprintf(name, sizeof(name), "%u", p->pid);
	d = tree_node_add(t, t->root, name, TREE_DIR, S_IFDIR | 0555);
	if (!d)
		return -ENOMEM;
	d->proc = p;
	for (size_t i = 0; i < ARRAY_SIZE(files); i++)
		if (!tree_text_add(t, d, files[i].name, files[i].mode, files[i].render, NULL))
			return -ENOMEM;
	rc = add_memory(t, d, p);
	if (rc < 0)
		return rc;
	rc = add_core(t, d, p);
	if (rc < 0)
		return rc;
	rc = add_fds(t, d, p);
	if (rc == 0)
		rc = view_add_pid_ns_net(t, d, p);
	if (rc == 0)
		rc = view_add_fdcontent(t, d, p);
	if (rc < 0)
		return rc;
	task = tree_node_add(t, d, "task", TREE_DIR, S_IFDIR | 0555);
	if (!task)
		return -ENOMEM;
	for (size_t i = 0; i < p->n_threads; i++) {
		rc = add_thread_dir(t, task, &p->threads[i]);
		if (rc < 0)
			return rc;
	}
	return 0;
}

int view_add_pid_dirs(struct tree *t)
{
	for (size_t i = 0; i < t->ck->n_procs; i++) {
		int rc = add_pid_dir(t, &t->ck->procs[i]);

		if (rc < 0)
			return rc;
	}
	return 0;
}
