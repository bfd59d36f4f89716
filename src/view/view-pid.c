/* SPDX-License-Identifier: Apache-2.0 */
/* /<pid>/: the per-process views, in /proc's formats (render*.c), plus the
 * memory files mem (sparse, offset = address) and pages/pages.map (dense). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
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

static int r_statm(const struct tree *t, const struct tree_node *n, struct ck_buf *out)
{
	return render_statm(t->ck, n->proc, out);
}

static int r_smaps(const struct tree *t, const struct tree_node *n, struct ck_buf *out)
{
	return render_smaps(t->ck, n->proc, out);
}

static int r_smaps_rollup(const struct tree *t, const struct tree_node *n, struct ck_buf *out)
{
	return render_smaps_rollup(t->ck, n->proc, out);
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

/* With opts.contain_links, an absolute target of link @n becomes the same
 * path under the container's rootfs-diff/ (which may not hold it: then the
 * link dangles inside the mount), relative to @n's directory. Other texts
 * (socket:[N], pipe:[N], ...) already resolve inside fd/. */
static int contain(const struct tree *t, const struct tree_node *n, int rc, struct ck_buf *out, size_t start)
{
	_cleanup_free_ char *target = NULL;
	const struct tree_node *d;

	if (rc < 0 || !t->opts.contain_links || out->len <= start || out->data[start] != '/')
		return rc;
	target = strdup(out->data + start);
	if (!target)
		return -ENOMEM;
	out->len = start;
	out->data[start] = '\0';
	for (d = n->parent; d && d != t->root; d = d->parent)
		ck_buf_puts(out, "../");
	ck_buf_puts(out, "rootfs-diff");
	if (strcmp(target, "/"))
		ck_buf_puts(out, target);
	return out->oom ? -ENOMEM : 0;
}

static int r_fd(const struct tree *t, const struct tree_node *n, struct ck_buf *out)
{
	const struct img_file *f = ckpt_file_find(t->ck, n->fd->id);
	size_t start = out->len;

	if (!f)
		return -EIO;
	return contain(t, n, render_fd_target(t->ck, f, out), out, start);
}

static int r_cwd(const struct tree *t, const struct tree_node *n, struct ck_buf *out)
{
	size_t start = out->len;

	if (!n->proc->has_fs)
		return n->proc->fs_err ? -EIO : -ENOENT;
	return contain(t, n, render_reg_path(t->ck, n->proc->fs.cwd_id, out), out, start);
}

static int r_root(const struct tree *t, const struct tree_node *n, struct ck_buf *out)
{
	size_t start = out->len;

	if (!n->proc->has_fs)
		return n->proc->fs_err ? -EIO : -ENOENT;
	return contain(t, n, render_reg_path(t->ck, n->proc->fs.root_id, out), out, start);
}

static int r_exe(const struct tree *t, const struct tree_node *n, struct ck_buf *out)
{
	size_t start = out->len;

	if (!n->proc->mm)
		return n->proc->mm_err ? -EIO : -ENOENT;
	return contain(t, n, render_reg_path(t->ck, n->proc->mm->exe_file_id, out), out, start);
}

/* mem reports size 0, as /proc/<pid>/mem does, so that whole-tree tools
 * (cp -a, tar, rsync, grep -r, sha256sum) see an empty file instead of a
 * 128 TiB sparse one; it is opened with direct I/O (tree_direct_io()), so
 * pread at any address, SEEK_DATA/SEEK_HOLE and dd skip= keep working. A
 * read outside every VMA ends the file there (0 bytes: where /proc says EIO),
 * which is what a reader starting at offset 0 sees; inside a VMA, pages
 * that were not dumped read as zeros. The object is the process. */
static uint64_t vma_end(const void *ctx, size_t i)
{
	const struct img_vma *vmas = ctx;

	return vmas[i].end;
}

static uint64_t mem_mapped_len(const struct ckpt_proc *p, uint64_t off, size_t len)
{
	const struct img_mm *mm = p->mm;
	uint64_t end;
	size_t i;

	if (!mm)
		return len;	/* mem_read() clips to mem_size() */
	i = ck_first_ending_after(mm->n_vmas, vma_end, mm->vmas, off);
	if (i == mm->n_vmas || mm->vmas[i].start > off)
		return 0;
	end = mm->vmas[i].end;
	while (++i < mm->n_vmas && mm->vmas[i].start == end && end - off < len)
		end = mm->vmas[i].end;
	return CK_MIN((uint64_t) len, end - off);
}

static uint64_t mem_ops_size(const void *obj)
{
	return 0;
}

static ssize_t mem_ops_read(const void *obj, void *buf, size_t len, uint64_t off)
{
	const struct ckpt_proc *p = obj;
	uint64_t n = mem_mapped_len(p, off, len);

	return n ? mem_read(p->mem, off, buf, (size_t) n) : 0;
}

static int64_t mem_ops_seek_data(const void *obj, uint64_t off)
{
	return mem_seek_data(((const struct ckpt_proc *) obj)->mem, off);
}

static int64_t mem_ops_seek_hole(const void *obj, uint64_t off)
{
	return mem_seek_hole(((const struct ckpt_proc *) obj)->mem, off);
}

static ssize_t mem_ops_extents(const void *obj, uint64_t off, size_t len, struct arc_extent *ext, size_t max)
{
	const struct ckpt_proc *p = obj;
	uint64_t n = mem_mapped_len(p, off, len);

	return n ? mem_space_extents(p->mem, off, (size_t) n, ext, max) : 0;
}

static const struct tree_stream_ops mem_ops = {
	.size = mem_ops_size,
	.read = mem_ops_read,
	.seek_data = mem_ops_seek_data,
	.seek_hole = mem_ops_seek_hole,
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

/* The text files and links of /<pid>/ and of each task/<tid>/ in it. In a
 * thread's directory status, stat and comm are the thread's (node->thread),
 * the rest the process's, as the kernel shows them there: ps -L prints a
 * thread's command line from its own cmdline, top -H its memory from its
 * own statm. */
static const struct {
	const char *name;
	tree_render_fn render;
	mode_t mode;
} pid_files[] = {
	{ "status", r_status, S_IFREG | 0444 },
	{ "stat", r_stat, S_IFREG | 0444 },
	{ "comm", r_comm, S_IFREG | 0444 },
	{ "cmdline", r_cmdline, S_IFREG | 0444 },
	{ "environ", r_environ, S_IFREG | 0400 },
	{ "maps", r_maps, S_IFREG | 0444 },
	{ "statm", r_statm, S_IFREG | 0444 },
	{ "smaps", r_smaps, S_IFREG | 0444 },
	{ "smaps_rollup", r_smaps_rollup, S_IFREG | 0444 },
	{ "limits", r_limits, S_IFREG | 0444 },
	{ "auxv", r_auxv, S_IFREG | 0400 },
	{ "cwd", r_cwd, S_IFLNK | 0777 },
	{ "root", r_root, S_IFLNK | 0777 },
	{ "exe", r_exe, S_IFLNK | 0777 },
};

static int add_pid_files(struct tree *t, struct tree_node *d)
{
	for (size_t i = 0; i < ARRAY_SIZE(pid_files); i++)
		if (!tree_text_add(t, d, pid_files[i].name, pid_files[i].mode, pid_files[i].render, NULL))
			return -ENOMEM;
	return 0;
}

/* task/<tid>/ is lazy too (its files), so that a process of 10^5 threads
 * holds one node a thread until they are read. */
static int add_thread_dir(struct tree *t, struct tree_node *task, const struct ckpt_thread *th)
{
	char name[16];
	struct tree_node *d;

	snprintf(name, sizeof(name), "%u", th->tid);
	d = tree_node_add(t, task, name, TREE_DIR, S_IFDIR | 0555);
	if (!d)
		return -ENOMEM;
	d->thread = th;
	return tree_lazy_init(t, d, add_pid_files, ARRAY_SIZE(pid_files));
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
	struct tree_node *n;

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
	n = tree_stream_add(t, d, "mem", S_IFREG | 0400, &mem_ops, (void *) p);
	if (!n)
		return -ENOMEM;
	n->direct_io = true;
	if (mem_dense_new(p->mem, &dense) < 0)
		return -ENOMEM;
	if (!tree_stream_add(t, d, "pages", S_IFREG | 0400, &dense_ops, dense))
		return -ENOMEM;
	if (!tree_text_add(t, d, "pages.map", S_IFREG | 0444, r_pages_map, NULL))
		return -ENOMEM;
	return 0;
}

static int r_empty(const struct tree *t, const struct tree_node *n, struct ck_buf *out)
{
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *) a, *(char *const *) b);
}

/* An fd link whose text is relative (socket:[N], pipe:[N], anon_inode:[...])
 * resolves next to it, in fd/: give each such text a hidden entry there
 * (lookups find it, readdir does not list it) whose stat carries the type
 * and inode number a live system shows, so that `stat -L fd/N`, lsof and
 * `lsof -i` learn the socket and pipe inodes that net/ and fd/ print.
 * Anonymous inodes show as empty regular files, mode 0600. With
 * contain_links a pipe is an empty read-only regular file instead of a
 * FIFO: opening a FIFO waits for a writer, and link-following scanners
 * (find -L ... -exec cat) must never block. */
static int add_fd_targets(struct tree *t, struct tree_node *fd, const struct ckpt_proc *p)
{
	_cleanup_free_ char **names = calloc(p->n_fds ? p->n_fds : 1, sizeof(*names));
	size_t n_names = 0;
	int rc = 0;

	if (!names)
		return -ENOMEM;
	for (size_t i = 0; i < p->n_fds; i++) {
		const struct img_file *f = ckpt_file_find(t->ck, p->fds[i].id);
		struct ck_buf b = { 0 };

		if (!f || render_fd_target(t->ck, f, &b) < 0 || b.oom || !b.data || strchr(b.data, '/') ||
		    b.data[0] == '.' || (strncmp(b.data, "socket:[", 8) && strncmp(b.data, "pipe:[", 6) &&
					 strncmp(b.data, "anon_inode:", 11))) {
			if (b.oom)
				rc = -ENOMEM;
			ck_buf_done(&b);
			continue;
		}
		names[n_names++] = ck_buf_steal(&b, NULL);
	}
	qsort(names, n_names, sizeof(*names), cmp_str);
	for (size_t i = 0; i < n_names && rc == 0; i++) {
		const char *nm = names[i], *num = strchr(nm, '[');
		struct tree_node *n;
		mode_t mode = S_IFREG | 0600;

		if (i && !strcmp(nm, names[i - 1]))
			continue;
		if (!strncmp(nm, "socket:", 7))
			mode = S_IFSOCK | 0777;
		else if (!strncmp(nm, "pipe:", 5))
			mode = t->opts.contain_links ? S_IFREG | 0400 : S_IFIFO | 0600;
		n = tree_text_add(t, fd, nm, mode, r_empty, NULL);
		if (!n) {
			rc = -ENOMEM;
			break;
		}
		n->hidden = true;
		if (mode != (S_IFREG | 0600) && num && num[1] >= '0' && num[1] <= '9')
			n->shown_ino = strtoull(num + 1, NULL, 10);
	}
	for (size_t i = 0; i < n_names; i++)
		free(names[i]);
	return rc;
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
	return add_fd_targets(t, fd, p);
}

/* The files of /<pid>/ @d: added when @d is first used, and again after
 * the tree dropped them (tree_lazy_init()), in the same order each time. */
static int populate_pid_dir(struct tree *t, struct tree_node *d)
{
	const struct ckpt_proc *p = d->proc;
	struct tree_node *task;
	int rc;

	rc = add_pid_files(t, d);
	if (rc == 0)
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
		struct tree_node *d;
		char name[16];
		int rc;

		snprintf(name, sizeof(name), "%u", t->ck->procs[i].pid);
		d = tree_node_add(t, t->root, name, TREE_DIR, S_IFDIR | 0555);
		if (!d)
			return -ENOMEM;
		d->proc = &t->ck->procs[i];
		rc = tree_lazy_init(t, d, populate_pid_dir, 0);
		if (rc < 0)
			return rc;
	}
	return 0;
}
