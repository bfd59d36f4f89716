/* SPDX-License-Identifier: Apache-2.0 */
/* Text renderers for the /proc-style files, in the kernel's own formats,
 * derived from the model (docs/formats.md §2.2). Each appends to @out and returns 0
 * or -errno (-EIO when an image the file needs was damaged, -ENOENT when the
 * information does not exist for this process). @t selects a thread for the
 * per-thread views (task/<tid>/...); NULL means the thread-group leader. */
#ifndef CK_RENDER_H
#define CK_RENDER_H

#include "ckpt.h"

int render_status(const struct ckpt *ck, const struct ckpt_proc *p, const struct ckpt_thread *t, struct ck_buf *out);
int render_stat(const struct ckpt *ck, const struct ckpt_proc *p, const struct ckpt_thread *t, struct ck_buf *out);
int render_comm(const struct ckpt *ck, const struct ckpt_proc *p, const struct ckpt_thread *t, struct ck_buf *out);
/* The bytes of [mm_arg_start, mm_arg_end) / [mm_env_start, mm_env_end) from
 * memory, exactly as /proc prints them; empty for zombies. */
int render_cmdline(const struct ckpt *ck, const struct ckpt_proc *p, struct ck_buf *out);
int render_environ(const struct ckpt *ck, const struct ckpt_proc *p, struct ck_buf *out);
int render_maps(const struct ckpt *ck, const struct ckpt_proc *p, struct ck_buf *out);
/* The one line of maps for @vma of @p (one of p->mm->vmas), newline included. */
int render_maps_line(const struct ckpt *ck, const struct ckpt_proc *p, const struct img_vma *vma,
		     struct ck_buf *out);
/* pages.map: one maps-style line per dumped run (cut at VMA boundaries) whose
 * offset column is the run's position in /<pid>/pages. */
int render_pages_map(const struct ckpt *ck, const struct ckpt_proc *p, struct ck_buf *out);
/* statm, smaps, smaps_rollup (render-smaps.c): the kernel's formats, with
 * the dumped pages of each area as its resident set. */
int render_statm(const struct ckpt *ck, const struct ckpt_proc *p, struct ck_buf *out);
int render_smaps(const struct ckpt *ck, const struct ckpt_proc *p, struct ck_buf *out);
int render_smaps_rollup(const struct ckpt *ck, const struct ckpt_proc *p, struct ck_buf *out);
int render_limits(const struct ckpt *ck, const struct ckpt_proc *p, struct ck_buf *out);
/* Binary: u64 (type, value) pairs ending with AT_NULL, as /proc/PID/auxv. */
int render_auxv(const struct ckpt *ck, const struct ckpt_proc *p, struct ck_buf *out);
/* fdinfo/<fd> text for @fd of @p. */
int render_fdinfo(const struct ckpt *ck, const struct ckpt_proc *p, const struct img_fdinfo *fd, struct ck_buf *out);
/* The symlink text of fd/<n>: "/dev/null", "pipe:[23599]", "socket:[23621]",
 * "anon_inode:[eventfd]", "/memfd:NAME (deleted)", "/path (deleted)", ... */
int render_fd_target(const struct ckpt *ck, const struct img_file *f, struct ck_buf *out);
/* The path of REG file @id (cwd, root, exe), with " (deleted)" when remapped;
 * of a memfd (the exe of fexecve()), "/memfd:NAME (deleted)". */
int render_reg_path(const struct ckpt *ck, uint32_t id, struct ck_buf *out);

/* ---- network, mounts, cgroups, namespaces (render-net.c, render-ns.c) ---- */

/* net/tcp (@family 2, @proto 6), tcp6 (10, 6), udp (2, 17), udp6 (10, 17):
 * the sockets of @p's network namespace in files.img, in /proc/net's format. */
int render_net_inet(const struct ckpt *ck, const struct ckpt_proc *p, int family, int proto,
		       struct ck_buf *out);
/* net/unix: the unix sockets of @p's network namespace. */
int render_net_unix(const struct ckpt *ck, const struct ckpt_proc *p, struct ck_buf *out);
/* mountinfo from mountpoints-<mnt_ns_id>.img; -ENOENT without one. */
int render_mountinfo(const struct ckpt *ck, const struct ckpt_proc *p, struct ck_buf *out);
/* mounts: the same mounts in /proc/PID/mounts's fstab-like format. */
int render_mounts(const struct ckpt *ck, const struct ckpt_proc *p, struct ck_buf *out);
/* Whether @p has a mountinfo to show (also when its image is damaged). */
bool render_has_mountinfo(const struct ckpt *ck, const struct ckpt_proc *p);
/* cgroup: "hierarchy-ID:controller-list:path" lines of the leader's cg_set. */
int render_cgroup(const struct ckpt *ck, const struct ckpt_proc *p, struct ck_buf *out);
/* Whether @p has a cgroup file to show (also when cgroup.img is damaged). */
bool render_has_cgroup(const struct ckpt *ck, const struct ckpt_proc *p);
/* The target of ns/@name ("net", "pid_for_children", ...): "net:[<CRIU ns id>]". */
int render_ns_link(const struct ckpt *ck, const struct ckpt_proc *p, const char *name, struct ck_buf *out);
/* Whether ids-<pid>.img records the namespace of ns/@name (true when damaged). */
bool render_has_ns_link(const struct ckpt_proc *p, const char *name);

#endif
