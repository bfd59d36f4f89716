/* SPDX-License-Identifier: Apache-2.0 */
/* The model and every view over a fuzzed checkpoint: the input is a list of
 * members (see fuzz-tar.h) that becomes a plain tar; ckpt_load(), then every
 * render_*() for every process and thread, every memfd, and finally the
 * whole /proc-like tree: readdir, getattr, open, read, readlink, lseek. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>

#include "fuzz-tar.h"
#include "view.h"
#include "render.h"

static uint8_t fuzz_buf[65536];

static void fuzz_render(const struct ckpt *ck)
{
	for (size_t i = 0; i < ck->n_procs; i++) {
		const struct ckpt_proc *p = &ck->procs[i];
		struct ck_buf b = { 0 };

		for (size_t k = 0; k <= p->n_threads; k++) {
			const struct ckpt_thread *t = k < p->n_threads ? &p->threads[k] : NULL;

			render_status(ck, p, t, &b);
			ck_buf_done(&b);
			render_stat(ck, p, t, &b);
			ck_buf_done(&b);
			render_comm(ck, p, t, &b);
			ck_buf_done(&b);
		}
		render_cmdline(ck, p, &b);
		ck_buf_done(&b);
		render_environ(ck, p, &b);
		ck_buf_done(&b);
		render_maps(ck, p, &b);
		ck_buf_done(&b);
		render_pages_map(ck, p, &b);
		ck_buf_done(&b);
		render_limits(ck, p, &b);
		ck_buf_done(&b);
		render_auxv(ck, p, &b);
		ck_buf_done(&b);
		for (size_t k = 0; k < p->n_fds; k++) {
			render_fdinfo(ck, p, &p->fds[k], &b);
			ck_buf_done(&b);
		}
		if (p->has_fs) {
			render_reg_path(ck, p->fs.cwd_id, &b);
			ck_buf_done(&b);
			render_reg_path(ck, p->fs.root_id, &b);
			ck_buf_done(&b);
		}
		if (p->mm) {
			render_reg_path(ck, p->mm->exe_file_id, &b);
			ck_buf_done(&b);
		}
		if (p->mem) {
			ssize_t got = mem_read(p->mem, 0, fuzz_buf, sizeof(fuzz_buf));

			if (got > (ssize_t) sizeof(fuzz_buf))
				fuzz_fail("mem_read overran");
			for (size_t r = 0; r < mem_run_count(p->mem) && r < 64; r++)
				(void) mem_read(p->mem, mem_run_at(p->mem, r)->vaddr, fuzz_buf, 4096);
		}
	}
	for (size_t i = 0; i < ck->n_files; i++) {
		struct ck_buf b = { 0 };
		const struct mem_space *m;

		render_fd_target(ck, &ck->files[i], &b);
		ck_buf_done(&b);
		if (ckpt_memfd_content(ck, ck->files[i].id, &m) == 0)
			(void) mem_read(m, 0, fuzz_buf, 4096);
	}
}

static void fuzz_walk(struct tree *t, const char *path, int depth);

struct fuzz_walk_ctx {
	struct tree *t;
	const char *path;
	int depth;
	int n;
};

static int fuzz_walk_fill(void *ud, const char *name, const struct stat *st)
{
	struct fuzz_walk_ctx *c = ud;
	char p[PATH_MAX];

	if (!*name || strchr(name, '/') || !strcmp(name, ".") || !strcmp(name, ".."))
		fuzz_fail("readdir of '%s' gives the bad name '%s'", c->path, name);
	if (++c->n > 4096)
		return 1;
	snprintf(p, sizeof(p), "%s/%s", strcmp(c->path, "/") ? c->path : "", name);
	fuzz_walk(c->t, p, c->depth + 1);
	return 0;
}

static void fuzz_walk(struct tree *t, const char *path, int depth)
{
	const struct tree_node *n = tree_lookup(t, path);
	struct stat st = { 0 };
	char link[4096];

	if (!n)
		fuzz_fail("'%s' listed but not found", path);
	if (tree_getattr(t, n, &st) < 0)
		return;
	if (S_ISDIR(st.st_mode)) {
		struct fuzz_walk_ctx c = { t, path, depth, 0 };

		if (depth < 12)
			tree_readdir(t, n, fuzz_walk_fill, &c);
	} else if (S_ISLNK(st.st_mode)) {
		(void) tree_readlink(t, n, link, sizeof(link));
	} else if (S_ISREG(st.st_mode) && tree_open(t, n) == 0) {
		ssize_t got = tree_read(t, n, fuzz_buf, sizeof(fuzz_buf), 0);

		if (got > (ssize_t) sizeof(fuzz_buf))
			fuzz_fail("tree_read('%s') overran", path);
		if (got >= 0 && st.st_size >= 0 && (uint64_t) got > (uint64_t) st.st_size)
			fuzz_fail("tree_read('%s') read %zd bytes past st_size %lld", path, got, (long long) st.st_size);
		if (st.st_size > 1)
			(void) tree_read(t, n, fuzz_buf, 4096, (uint64_t) st.st_size - 1);
		(void) tree_read(t, n, fuzz_buf, 16, UINT64_MAX - 8);
		(void) tree_lseek(t, n, 0, SEEK_DATA);
		(void) tree_lseek(t, n, 0, SEEK_HOLE);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ckpt *ck = NULL;
	struct tree *t = NULL;
	struct tree_opts popts = { .uid = 0, .gid = 0 };
	char *err = NULL;
	int fd = -1;
	struct arc *a = fuzz_tar_open(data, size, &fd);

	if (!a)
		return 0;
	if (ckpt_load(a, NULL, &ck, &err) == 0) {
		fuzz_render(ck);
		if (view_tree_new(ck, a, &popts, &t) == 0) {
			fuzz_walk(t, "/", 0);
			tree_free(t);
		}
		ckpt_free(ck);
	} else if (!err) {
		fuzz_fail("ckpt_load failed without a message");
	}
	free(err);
	arc_free(a);
	close(fd);
	return 0;
}
