/* SPDX-License-Identifier: Apache-2.0 */
/* Text renderers for the /proc-style files, in the kernel's own formats,
 * derived from the model (IMAGES.md §2.2). Each appends to @out and returns 0
 * or -errno (-EIO when an image the file needs was damaged, -ENOENT when the
 * information does not exist for this process). @t selects a thread for the
 * per-thread views (task/<tid>/...); NULL means the thread-group leader. */
#ifndef CK_RENDER_H
#define CK_RENDER_H

#include "ckpt.h"

int pv_render_status(const struct ckpt *ck, const struct ckpt_proc *p, const struct ckpt_thread *t, struct ck_buf *out);
int pv_render_stat(const struct ckpt *ck, const struct ckpt_proc *p, const struct ckpt_thread *t, struct ck_buf *out);
int pv_render_comm(const struct ckpt *ck, const struct ckpt_proc *p, const struct ckpt_thread *t, struct ck_buf *out);
/* The bytes of [mm_arg_start, mm_arg_end) / [mm_env_start, mm_env_end) from
 * memory, exactly as /proc prints them; empty for zombies. */
int pv_render_cmdline(const struct ckpt *ck, const struct ckpt_proc *p, struct ck_buf *out);
int pv_render_environ(const struct ckpt *ck, const struct ckpt_proc *p, struct ck_buf *out);
int pv_render_maps(const struct ckpt *ck, const struct ckpt_proc *p, struct ck_buf *out);
/* pages.map: one maps-style line per dumped run (cut at VMA boundaries) whose
 * offset column is the run's position in /<pid>/pages. */
int pv_render_pages_map(const struct ckpt *ck, const struct ckpt_proc *p, struct ck_buf *out);
int pv_render_limits(const struct ckpt *ck, const struct ckpt_proc *p, struct ck_buf *out);
/* Binary: u64 (type, value) pairs ending with AT_NULL, as /proc/PID/auxv. */
int pv_render_auxv(const struct ckpt *ck, const struct ckpt_proc *p, struct ck_buf *out);
/* fdinfo/<fd> text for @fd of @p. */
int pv_render_fdinfo(const struct ckpt *ck, const struct ckpt_proc *p, const struct img_fdinfo *fd, struct ck_buf *out);
/* The symlink text of fd/<n>: "/dev/null", "pipe:[23599]", "socket:[23621]",
 * "anon_inode:[eventfd]", "/memfd:NAME (deleted)", "/path (deleted)", ... */
int pv_render_fd_target(const struct ckpt *ck, const struct img_file *f, struct ck_buf *out);
/* The path of REG file @id (cwd, root, exe), with " (deleted)" when remapped. */
int pv_render_reg_path(const struct ckpt *ck, uint32_t id, struct ck_buf *out);

#endif
