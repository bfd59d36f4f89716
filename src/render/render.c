/* SPDX-License-Identifier: Apache-2.0 */
/* Per-task text views: status, stat, comm, limits (cmdline, environ and auxv
 * are in render-mem.c).
 * The formats are the kernel's (fs/proc/array.c, fs/proc/base.c); the values
 * come from the model (docs/formats.md §2.2). What a checkpoint does not record is
 * left out rather than made up:
 *
 * status: omitted are FDSize, VmPeak, VmPin, VmHWM, VmPTE, VmSwap, HugetlbPages, CoreDumping, THP_enabled,
 *   untag_mask, SigQ, Speculation_*, Cpus_allowed*, Mems_allowed*, the
 *   context-switch counters and x86_Thread_features. Uid/Gid/Groups/Cap* need
 *   thread_core.creds, CapAmb needs cap_amb, NoNewPrivs needs no_new_privs,
 *   Seccomp* need thread_core (and, for a non-leader thread, seccomp_mode);
 *   each is dropped when its source is absent.
 *   TracerPid prints 0 (CRIU's own ptrace attach is not the task's state)
 *   and Ngid 0 (NUMA groups are not dumped). State comes from the leader's
 *   tc.task_state for every thread and cannot tell R from S: alive tasks
 *   show "S (sleeping)".
 * stat: not recorded, printed as 0: tty_nr, the fault and time counters,
 *   starttime, kstkesp/kstkeip (the kernel prints 0 for live tasks too),
 *   wchan (it says whether the task was running, which is unknown),
 *   exit_signal, processor, the delay/guest times, and flags and exit_code
 *   for non-leader threads (they live in the leader's tc). tpgid prints -1,
 *   the kernel's value for "no controlling terminal", to match tty_nr 0.
 *   rss (and status's VmRSS, RssAnon, RssShmem) count the dumped pages, as
 *   statm's resident does (render-smaps.c); RssFile prints 0.
 * limits: rows beyond the stored tc.rlimits are omitted. */
#include <errno.h>
#include <string.h>

#include "render.h"
#include "render-priv.h"

#define RENDER_SIG_IGN 1
#define RENDER_SCHED_FIFO 1
#define RENDER_SCHED_RR 2
#define RENDER_SCHED_DEADLINE 6
#define RENDER_SCHED_RESET_ON_FORK 0x40000000u
#define RENDER_SECCOMP_FILTER 2
#define RENDER_RLIMIT_RSS 5

uint64_t render_page_size(const struct ckpt *ck)
{
	return ck && ck->page_size ? ck->page_size : 4096;
}

int render_finish(struct ck_buf *out, size_t start, int rc)
{
	if (rc >= 0 && out->oom)
		rc = -ENOMEM;
	if (rc < 0 && out->data && out->len > start) {
		out->len = start;
		out->data[start] = '\0';
	}
	return rc < 0 ? rc : 0;
}

int render_proc_mm(const struct ckpt_proc *p, const struct img_mm **ret_mm)
{
	if (ckpt_is_zombie(p)) {
		*ret_mm = NULL;
		return 0;
	}
	if (!p->mm && p->mm_err < 0)
		return -EIO;
	*ret_mm = p->mm;
	return 0;
}

/* The thread a per-thread view shows: @t, or the leader when @t is NULL. */
static const struct ckpt_thread *pick_thread(const struct ckpt_proc *p, const struct ckpt_thread *t)
{
	size_t i;

	if (t)
		return t;
	for (i = 0; i < p->n_threads; i++)
		if (p->threads[i].tid == p->pid)
			return &p->threads[i];
	return p->n_threads ? &p->threads[0] : NULL;
}

/* What a per-thread view shows: the thread, its core, the leader's core,
 * the thread's name and, if asked for, the task's mm (render_proc_mm()). */
struct thread_view {
	const struct ckpt_thread *th;
	const struct img_core *core, *lc;
	const char *comm;
	const struct img_mm *mm;
};

/* The thread_view of @t (the leader when NULL), or -ENOENT / -EIO. */
static int thread_of(const struct ckpt_proc *p, const struct ckpt_thread *t, bool with_mm,
		     struct thread_view *ret)
{
	const struct ckpt_thread *th = pick_thread(p, t);
	const struct img_core *lc = ckpt_leader_core(p);

	if (!th)
		return -ENOENT;
	if (!th->core || !lc || !lc->has_tc)
		return -EIO;
	*ret = (struct thread_view) { th, th->core, lc, ckpt_thread_name(p, th), NULL };
	if (!ret->comm)
		return -EIO;
	return with_mm ? render_proc_mm(p, &ret->mm) : 0;
}

static char state_letter(uint32_t task_state)
{
	switch (task_state) {
	case IMG_TASK_DEAD:
	case IMG_TASK_ZOMBIE:
		return 'Z';
	case IMG_TASK_STOPPED:
		return 'T';
	default:
		return 'S';
	}
}

static const char *state_name(uint32_t task_state)
{
	switch (task_state) {
	case IMG_TASK_DEAD:
	case IMG_TASK_ZOMBIE:
		return "Z (zombie)";
	case IMG_TASK_STOPPED:
		return "T (stopped)";
	default:
		return "S (sleeping)";
	}
}

/* tc.sigactions hold signals 1..64 in order without SIGKILL and SIGSTOP. */
static void sig_ign_cgt(const struct img_core *lc, uint64_t *ret_ign, uint64_t *ret_cgt)
{
	uint64_t ign = 0, cgt = 0;
	unsigned int sig = 1;
	size_t i;

	for (i = 0; i < lc->n_sigactions && i < ARRAY_SIZE(lc->sigaction_handler); i++, sig++) {
		while (sig == 9 || sig == 19)
			sig++;
		if (sig > 64)
			break;
		if (lc->sigaction_handler[i] == RENDER_SIG_IGN)
			ign |= 1ULL << (sig - 1);
		else if (lc->sigaction_handler[i] != 0)
			cgt |= 1ULL << (sig - 1);
	}
	*ret_ign = ign;
	*ret_cgt = cgt;
}

static bool blocked_of(const struct img_core *core, const struct img_core *lc, uint64_t *ret)
{
	if (core->has_blk_sigset) {
		*ret = core->blk_sigset;
		return true;
	}
	if (lc->has_tc_blk_sigset) {
		*ret = lc->tc_blk_sigset;
		return true;
	}
	return false;
}

/* Seccomp_filters: the length of the chain from the thread's filter. */
static bool seccomp_filters(const struct ckpt *ck, const struct img_core *core, uint64_t *ret)
{
	uint64_t n = 0;
	int64_t idx;

	if (!core->has_seccomp_mode || core->seccomp_mode != RENDER_SECCOMP_FILTER) {
		*ret = 0;
		return true;
	}
	if (!core->has_seccomp_filter)
		return false;
	idx = core->seccomp_filter;
	while (idx >= 0) {
		if ((uint64_t)idx >= ck->n_seccomp || n > ck->n_seccomp)
			return false;	/* missing seccomp.img or a broken chain */
		n++;
		idx = ck->seccomp_prev[idx];
	}
	*ret = n;
	return true;
}

struct vm_totals {
	uint64_t size, lck, data, stk, exe, lib;	/* bytes */
};

/* The mm counters the kernel keeps per VMA flag class (mm/mmap.c). */
static void vm_totals(const struct ckpt *ck, const struct img_mm *mm, struct vm_totals *v)
{
	uint64_t ps = render_page_size(ck), exec_vm = 0, text;
	size_t i;

	memset(v, 0, sizeof(*v));
	for (i = 0; i < mm->n_vmas; i++) {
		const struct img_vma *vma = &mm->vmas[i];
		uint64_t len = vma->end - vma->start;
		bool wr = vma->prot & IMG_PROT_WRITE, ex = vma->prot & IMG_PROT_EXEC;
		bool sh = vma->flags & IMG_MAP_SHARED, gd = vma->flags & IMG_MAP_GROWSDOWN;

		if ((vma->status & IMG_VMA_AREA_VSYSCALL) || vma->end < vma->start)
			continue;	/* the gate page is not part of the mm */
		v->size += len;
		if (vma->flags & IMG_MAP_LOCKED)
			v->lck += len;
		if (wr && !sh && !gd)
			v->data += len;
		if (gd)
			v->stk += len;
		if (ex && !wr && !gd)
			exec_vm += len;
	}
	text = ((mm->mm_end_code + ps - 1) & ~(ps - 1)) - (mm->mm_start_code & ~(ps - 1));
	if (mm->mm_end_code < mm->mm_start_code)
		text = 0;
	v->exe = CK_MIN(text, exec_vm);
	v->lib = exec_vm - v->exe;
}

static void put_kb(struct ck_buf *out, const char *name, uint64_t bytes)
{
	ck_buf_printf(out, "%s:\t%8llu kB\n", name, (unsigned long long)(bytes >> 10));
}

static void put_escaped_name(struct ck_buf *out, const char *s)
{
	for (; *s; s++) {
		if (*s == '\n')
			ck_buf_puts(out, "\\n");
		else if (*s == '\\')
			ck_buf_puts(out, "\\\\");
		else
			ck_buf_putc(out, *s);
	}
}

static void put_cap(struct ck_buf *out, const char *name, const uint32_t cap[2])
{
	ck_buf_printf(out, "%s:\t%08x%08x\n", name, cap[1], cap[0]);
}

static int put_status(const struct ckpt *ck, const struct ckpt_proc *p, const struct ckpt_thread *t,
			 struct ck_buf *out)
{
	struct thread_view tv;
	bool zombie = ckpt_is_zombie(p);
	uint64_t ign, cgt, blk, nfilt;
	size_t i;
	int rc;

	rc = thread_of(p, t, true, &tv);
	if (rc < 0)
		return rc;
	if (!zombie && !p->has_fs && p->fs_err < 0)
		return -EIO;

	ck_buf_puts(out, "Name:\t");
	put_escaped_name(out, tv.comm);
	ck_buf_putc(out, '\n');
	if (!zombie && p->has_fs && p->fs.has_umask)
		ck_buf_printf(out, "Umask:\t%04o\n", p->fs.umask);
	ck_buf_printf(out, "State:\t%s\n", state_name(tv.lc->task_state));
	ck_buf_printf(out, "Tgid:\t%u\nNgid:\t0\nPid:\t%u\nPPid:\t%u\nTracerPid:\t0\n",
		      p->pid, tv.th->tid, p->ppid);
	if (tv.core->has_creds) {
		const struct img_creds *c = &tv.core->creds;

		ck_buf_printf(out, "Uid:\t%u\t%u\t%u\t%u\n", c->uid, c->euid, c->suid, c->fsuid);
		ck_buf_printf(out, "Gid:\t%u\t%u\t%u\t%u\n", c->gid, c->egid, c->sgid, c->fsgid);
		ck_buf_puts(out, "Groups:\t");
		for (i = 0; i < c->n_groups; i++)
			ck_buf_printf(out, "%s%u", i ? " " : "", c->groups[i]);
		ck_buf_puts(out, " \n");
	}
	ck_buf_printf(out, "NStgid:\t%u\nNSpid:\t%u\nNSpgid:\t%u\nNSsid:\t%u\nKthread:\t0\n",
		      p->pid, tv.th->tid, p->pgid, p->sid);
	if (tv.mm) {
		struct vm_totals v;
		uint64_t anon, shmem;

		vm_totals(ck, tv.mm, &v);
		put_kb(out, "VmSize", v.size);
		put_kb(out, "VmLck", v.lck);
		render_rss(p, tv.mm, &anon, &shmem);
		put_kb(out, "VmRSS", anon + shmem);
		put_kb(out, "RssAnon", anon);
		put_kb(out, "RssFile", 0);
		put_kb(out, "RssShmem", shmem);
		put_kb(out, "VmData", v.data);
		put_kb(out, "VmStk", v.stk);
		put_kb(out, "VmExe", v.exe);
		put_kb(out, "VmLib", v.lib);
	}
	ck_buf_printf(out, "Threads:\t%zu\n", p->n_threads);
	if (tv.core->has_thread_core)
		ck_buf_printf(out, "SigPnd:\t%016llx\n", (unsigned long long)tv.core->sigpnd);
	if (!zombie)
		ck_buf_printf(out, "ShdPnd:\t%016llx\n", (unsigned long long)tv.lc->shdpnd);
	if (blocked_of(tv.core, tv.lc, &blk))
		ck_buf_printf(out, "SigBlk:\t%016llx\n", (unsigned long long)blk);
	if (tv.lc->n_sigactions) {
		sig_ign_cgt(tv.lc, &ign, &cgt);
		ck_buf_printf(out, "SigIgn:\t%016llx\nSigCgt:\t%016llx\n",
			      (unsigned long long)ign, (unsigned long long)cgt);
	}
	if (tv.core->has_creds) {
		put_cap(out, "CapInh", tv.core->creds.cap_inh);
		put_cap(out, "CapPrm", tv.core->creds.cap_prm);
		put_cap(out, "CapEff", tv.core->creds.cap_eff);
		put_cap(out, "CapBnd", tv.core->creds.cap_bnd);
		if (tv.core->creds.has_cap_amb)
			put_cap(out, "CapAmb", tv.core->creds.cap_amb);
		if (tv.core->creds.has_no_new_privs)
			ck_buf_printf(out, "NoNewPrivs:\t%d\n", tv.core->creds.no_new_privs ? 1 : 0);
	}
	/* CRIU writes seccomp_mode only when it is not "disabled", but for
	 * other threads it leaves it out even under an inherited filter (the
	 * wl-* fixtures), so there "absent" means unknown. */
	if (tv.core->has_thread_core && (tv.core->has_seccomp_mode || tv.core == tv.lc)) {
		ck_buf_printf(out, "Seccomp:\t%u\n", tv.core->has_seccomp_mode ? tv.core->seccomp_mode : 0);
		if (seccomp_filters(ck, tv.core, &nfilt))
			ck_buf_printf(out, "Seccomp_filters:\t%llu\n", (unsigned long long)nfilt);
	}
	return 0;
}

int render_status(const struct ckpt *ck, const struct ckpt_proc *p, const struct ckpt_thread *t,
		     struct ck_buf *out)
{
	size_t start = out->len;

	return render_finish(out, start, put_status(ck, p, t, out));
}

static int put_stat(const struct ckpt *ck, const struct ckpt_proc *p, const struct ckpt_thread *t,
		       struct ck_buf *out)
{
	struct thread_view tv;
	uint64_t ign = 0, cgt = 0, blk = 0, vsize = 0, rsslim = 0;
	int64_t prio = 0, nice = 0;
	uint32_t policy = 0, rt_prio = 0;
	int rc;

	rc = thread_of(p, t, true, &tv);
	if (rc < 0)
		return rc;

	sig_ign_cgt(tv.lc, &ign, &cgt);
	blocked_of(tv.core, tv.lc, &blk);
	if (tv.core->has_sched_policy)
		policy = tv.core->sched_policy & ~RENDER_SCHED_RESET_ON_FORK;
	if (tv.core->has_sched_prio)
		rt_prio = tv.core->sched_prio;
	if (tv.core->has_sched_nice) {
		nice = tv.core->sched_nice;
		prio = 20 + nice;
	}
	if (policy == RENDER_SCHED_FIFO || policy == RENDER_SCHED_RR)
		prio = -1 - (int64_t)rt_prio;
	else if (policy == RENDER_SCHED_DEADLINE)
		prio = -101;
	else
		rt_prio = 0;
	if (tv.mm) {
		struct vm_totals v;

		vm_totals(ck, tv.mm, &v);
		vsize = v.size;
	}
	if (tv.lc->n_rlimits > RENDER_RLIMIT_RSS)
		rsslim = tv.lc->rlim_cur[RENDER_RLIMIT_RSS];

	/* 1-9: pid (comm) state ppid pgrp session tty_nr tpgid flags */
	ck_buf_printf(out, "%u (%s) %c %u %u %u 0 -1 %u", tv.th->tid, tv.comm, state_letter(tv.lc->task_state),
		      p->ppid, p->pgid, p->sid, tv.core->has_tc ? tv.core->flags : 0);
	/* 10-22: faults, times, priority, nice, threads, itrealvalue, starttime */
	ck_buf_printf(out, " 0 0 0 0 0 0 0 0 %lld %lld %zu 0 0", (long long)prio, (long long)nice,
		      p->n_threads);
	/* 23-30: vsize rss rsslim startcode endcode startstack kstkesp kstkeip */
	ck_buf_printf(out, " %llu %llu %llu %llu %llu %llu 0 0", (unsigned long long)vsize,
		      (unsigned long long)(tv.mm && p->mem ? mem_dumped_bytes(p->mem) / render_page_size(ck) : 0),
		      (unsigned long long)rsslim,
		      (unsigned long long)(tv.mm ? tv.mm->mm_start_code : 0),
		      (unsigned long long)(tv.mm ? tv.mm->mm_end_code : 0),
		      (unsigned long long)(tv.mm ? tv.mm->mm_start_stack : 0));
	/* 31-44: signal blocked sigignore sigcatch wchan nswap cnswap exit_signal
	 * processor rt_priority policy blkio guest cguest */
	ck_buf_printf(out, " %llu %llu %llu %llu 0 0 0 0 0 %u %u 0 0 0",
		      (unsigned long long)(tv.core->sigpnd & 0x7fffffffULL),
		      (unsigned long long)(blk & 0x7fffffffULL),
		      (unsigned long long)(ign & 0x7fffffffULL),
		      (unsigned long long)(cgt & 0x7fffffffULL), rt_prio, policy);
	/* 45-52: start_data end_data start_brk arg_start arg_end env_start env_end exit_code */
	if (tv.mm)
		ck_buf_printf(out, " %llu %llu %llu %llu %llu %llu %llu",
			      (unsigned long long)tv.mm->mm_start_data, (unsigned long long)tv.mm->mm_end_data,
			      (unsigned long long)tv.mm->mm_start_brk, (unsigned long long)tv.mm->mm_arg_start,
			      (unsigned long long)tv.mm->mm_arg_end, (unsigned long long)tv.mm->mm_env_start,
			      (unsigned long long)tv.mm->mm_env_end);
	else
		ck_buf_puts(out, " 0 0 0 0 0 0 0");
	ck_buf_printf(out, " %d\n", tv.core->has_tc ? (int)tv.core->exit_code : 0);
	return 0;
}

int render_stat(const struct ckpt *ck, const struct ckpt_proc *p, const struct ckpt_thread *t,
		   struct ck_buf *out)
{
	size_t start = out->len;

	return render_finish(out, start, put_stat(ck, p, t, out));
}

int render_comm(const struct ckpt *ck, const struct ckpt_proc *p, const struct ckpt_thread *t,
		   struct ck_buf *out)
{
	struct thread_view tv;
	size_t start = out->len;
	int rc;

	(void)ck;
	rc = thread_of(p, t, false, &tv);
	if (rc < 0)
		return rc;
	ck_buf_printf(out, "%s\n", tv.comm);
	return render_finish(out, start, 0);
}

static const struct {
	const char *name, *unit;
} limit_rows[] = {
	{ "Max cpu time", "seconds" },
	{ "Max file size", "bytes" },
	{ "Max data size", "bytes" },
	{ "Max stack size", "bytes" },
	{ "Max core file size", "bytes" },
	{ "Max resident set", "bytes" },
	{ "Max processes", "processes" },
	{ "Max open files", "files" },
	{ "Max locked memory", "bytes" },
	{ "Max address space", "bytes" },
	{ "Max file locks", "locks" },
	{ "Max pending signals", "signals" },
	{ "Max msgqueue size", "bytes" },
	{ "Max nice priority", NULL },
	{ "Max realtime priority", NULL },
	{ "Max realtime timeout", "us" },
};

static void put_limit(struct ck_buf *out, uint64_t v)
{
	if (v == UINT64_MAX)
		ck_buf_printf(out, "%-20s ", "unlimited");
	else
		ck_buf_printf(out, "%-20llu ", (unsigned long long)v);
}

int render_limits(const struct ckpt *ck, const struct ckpt_proc *p, struct ck_buf *out)
{
	const struct img_core *lc = ckpt_leader_core(p);
	size_t start = out->len, i;

	(void)ck;
	if (!lc || !lc->has_tc)
		return -EIO;
	if (!lc->n_rlimits)
		return -ENOENT;
	ck_buf_printf(out, "%-25s %-20s %-20s %-10s\n", "Limit", "Soft Limit", "Hard Limit", "Units");
	for (i = 0; i < ARRAY_SIZE(limit_rows) && i < lc->n_rlimits; i++) {
		ck_buf_printf(out, "%-25s ", limit_rows[i].name);
		put_limit(out, lc->rlim_cur[i]);
		put_limit(out, lc->rlim_max[i]);
		if (limit_rows[i].unit)
			ck_buf_printf(out, "%-10s\n", limit_rows[i].unit);
		else
			ck_buf_putc(out, '\n');
	}
	return render_finish(out, start, 0);
}
