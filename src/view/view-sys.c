/* SPDX-License-Identifier: Apache-2.0 */
/* System-wide files at the root of the tree, so that procps ps, psmisc
 * pstree and lsof run on a mounted checkpoint bind-mounted over /proc
 * (scripts/procps-check). A checkpoint records processes, not the machine,
 * so most of these are synthetic: each renderer says what it derives and
 * what it makes up, and ckptfs(1) lists the same under FILES.
 *
 *   self      -> the checkpoint's init process (root of pstree.img), not the
 *                reader: ps needs /proc/self/stat to start at all.
 *   mounts    -> self/mounts when a view provides it, else an empty file
 *                (lsof refuses to run without /proc/mounts).
 *   net       -> self/net when a view provides it (as the kernel links it).
 *   uptime    synthetic: "0.00 0.00" (CRIU records no start times either).
 *   stat      btime is the checkpoint's own time (spec_checkpoint_time()),
 *             so that every process starts then (starttime is 0); the
 *             process count is derived; CPU times, interrupts and context
 *             switches are 0.
 *   cpuinfo   synthetic: one processor, no model (procps needs the file;
 *             the dump does not say how many CPUs the host had).
 *   meminfo   MemTotal is the dumped memory of all processes; the rest is 0.
 *   sys/kernel/pid_max  synthetic: the kernel's default maximum, 4194304. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "spec.h"
#include "view-priv.h"

/* The process ps and friends see as "themselves": the root of the tree. */
static const struct ckpt_proc *sys_init_proc(const struct ckpt *ck)
{
	for (size_t i = 0; i < ck->n_procs; i++)
		if (!ck->procs[i].ppid || !ckpt_proc_find(ck, ck->procs[i].ppid))
			return &ck->procs[i];
	return ck->n_procs ? &ck->procs[0] : NULL;
}

static int r_self(const struct tree *t, const struct tree_node *n, struct ck_buf *out)
{
	const struct ckpt_proc *p = sys_init_proc(t->ck);

	if (!p)
		return -ENOENT;
	return ck_buf_printf(out, "%u", p->pid) < 0 ? -ENOMEM : 0;
}

static int r_string(const struct tree *t, const struct tree_node *n, struct ck_buf *out)
{
	return ck_buf_puts(out, n->arg) < 0 ? -ENOMEM : 0;
}

/* Engine files are small; anything larger is not one. */
#define SYS_CONFIG_MAX (16u << 20)

/* What the archive records: the mtime of stats-dump (CRIU writes it as the
 * dump ends), else the newest member's, else the input's own. */
static int64_t archive_time(const struct tree *t)
{
	const struct arc_entry *e = view_container_member(t, "stats-dump");
	int64_t when = -1;

	if (e && e->mtime > 0)
		return e->mtime;
	for (size_t i = 0; i < arc_count(t->arc); i++) {
		e = arc_entry_at(t->arc, i);
		if (e->mtime > when)
			when = e->mtime;
	}
	return when > 0 ? when : t->opts.mtime;
}

int64_t view_checkpoint_time(const struct tree *t)
{
	const struct arc_entry *e = view_container_member(t, "config.dump");
	struct spec_info info = { .archive_time = archive_time(t), .oci = arc_image(t->arc) };
	_cleanup_free_ void *owned = NULL;
	struct ck_blob b;
	int64_t when;

	/* spec_checkpoint_time(): config.dump's checkpointedTime, else the archive's */
	if (e && e->type == ARC_REG && arc_load(t->arc, e, SYS_CONFIG_MAX, &b, &owned) == 0)
		(void) spec_parse_config(&b, &info);
	when = spec_checkpoint_time(&info, NULL);
	spec_info_done(&info);
	return when;
}

static int r_stat(const struct tree *t, const struct tree_node *n, struct ck_buf *out)
{
	static const char zeros[] = " 0 0 0 0 0 0 0 0 0 0";
	size_t threads = 0;

	for (size_t i = 0; i < t->ck->n_procs; i++)
		threads += t->ck->procs[i].n_threads;
	ck_buf_printf(out, "cpu %s\ncpu0%s\nintr 0\nctxt 0\nbtime %" PRId64 "\n"
		      "processes %zu\nprocs_running 0\nprocs_blocked 0\nsoftirq%s 0\n",
		      zeros, zeros, view_checkpoint_time(t), threads, zeros);
	return out->oom ? -ENOMEM : 0;
}

static int r_meminfo(const struct tree *t, const struct tree_node *n, struct ck_buf *out)
{
	static const char *const zero[] = { "MemFree", "MemAvailable", "Buffers", "Cached",
					     "SwapCached", "SwapTotal", "SwapFree", "Shmem" };
	uint64_t dumped = 0;

	for (size_t i = 0; i < t->ck->n_procs; i++)
		if (t->ck->procs[i].mem)
			dumped += mem_dumped_bytes(t->ck->procs[i].mem);
	ck_buf_printf(out, "MemTotal:       %8" PRIu64 " kB\n", dumped / 1024);
	for (size_t i = 0; i < ARRAY_SIZE(zero); i++)
		ck_buf_printf(out, "%s:%*s%8d kB\n", zero[i], (int) (15 - strlen(zero[i])), "", 0);
	return out->oom ? -ENOMEM : 0;
}

/* A symlink "self/@name" when the init process's directory has @name. */
static int sys_self_link(struct tree *t, const char *name, const struct tree_node *self_dir)
{
	static const char *const targets[] = { "self/mounts", "self/net" };
	const char *target = NULL;

	for (size_t i = 0; i < ARRAY_SIZE(targets); i++)
		if (!strcmp(targets[i] + 5, name))
			target = targets[i];
	if (!target || !self_dir || !tree_child_scan(self_dir, name, strlen(name)))
		return 0;
	return tree_text_add(t, t->root, name, S_IFLNK | 0777, r_string, target) ? 1 : -ENOMEM;
}

int view_add_sys(struct tree *t)
{
	const struct ckpt_proc *init = sys_init_proc(t->ck);
	const struct tree_node *self_dir = NULL;
	struct tree_node *sys, *kernel;
	char name[16];
	int rc;

	if (init) {
		snprintf(name, sizeof(name), "%u", init->pid);
		self_dir = tree_child_scan(t->root, name, strlen(name));
	}
	if (self_dir && !tree_text_add(t, t->root, "self", S_IFLNK | 0777, r_self, NULL))
		return -ENOMEM;
	rc = sys_self_link(t, "mounts", self_dir);
	if (rc == 0 && !tree_text_add(t, t->root, "mounts", S_IFREG | 0444, r_string, ""))
		return -ENOMEM;
	if (rc < 0 || sys_self_link(t, "net", self_dir) < 0)
		return -ENOMEM;
	if (!tree_text_add(t, t->root, "uptime", S_IFREG | 0444, r_string, "0.00 0.00\n") ||
	    !tree_text_add(t, t->root, "stat", S_IFREG | 0444, r_stat, NULL) ||
	    !tree_text_add(t, t->root, "meminfo", S_IFREG | 0444, r_meminfo, NULL) ||
	    !tree_text_add(t, t->root, "cpuinfo", S_IFREG | 0444, r_string,
			   "processor\t: 0\nvendor_id\t: unknown\nmodel name\t: unknown (not in the checkpoint)\n"
			   "cpu cores\t: 1\n\n"))
		return -ENOMEM;
	sys = tree_node_add(t, t->root, "sys", TREE_DIR, S_IFDIR | 0555);
	kernel = sys ? tree_node_add(t, sys, "kernel", TREE_DIR, S_IFDIR | 0555) : NULL;
	if (!kernel || !tree_text_add(t, kernel, "pid_max", S_IFREG | 0444, r_string, "4194304\n"))
		return -ENOMEM;
	return 0;
}
