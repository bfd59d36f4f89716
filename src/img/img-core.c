/* SPDX-License-Identifier: Apache-2.0 */
/* core-<tid>.img: task (tc), thread (thread_core) and x86-64 register state,
 * copied into struct img_core. */
#include <errno.h>
#include <string.h>

#include "img-read.h"
#include "task.pb-c.h"

/* ---- core-<tid>.img ---- */

/* Fields CRIU writes that our schema predates: task_core_entry.stop_signo
 * (21) and creds_entry.no_new_privs (18), both uint32 varints. protobuf-c
 * keeps such fields as unknown ones. Returns true and the value if found. */
static bool unknown_u32(const ProtobufCMessage *m, uint32_t tag, uint32_t *ret)
{
	for (unsigned i = 0; i < m->n_unknown_fields; i++) {
		const ProtobufCMessageUnknownField *f = &m->unknown_fields[i];
		uint64_t v = 0;
		size_t k;

		if (f->tag != tag || f->wire_type != PROTOBUF_C_WIRE_TYPE_VARINT)
			continue;
		for (k = 0; k < f->len && k < 10; k++) {
			v |= (uint64_t) (f->data[k] & 0x7f) << (7 * k);
			if (!(f->data[k] & 0x80))
				break;
		}
		if (k == f->len || k == 10)
			return false;
		*ret = (uint32_t) v;
		return true;
	}
	return false;
}

/* OR of 1 << (si_signo - 1) over a queue of raw siginfo blobs. */
static uint64_t signal_mask(const SignalQueueEntry *q)
{
	uint64_t mask = 0;
	int32_t signo;

	for (size_t i = 0; q && i < q->n_signals; i++) {
		const ProtobufCBinaryData *si = &q->signals[i]->siginfo;

		if (si->len < sizeof(signo))
			continue;
		memcpy(&signo, si->data, sizeof(signo));
		if (signo >= 1 && signo <= 64)
			mask |= 1ull << (signo - 1);
	}
	return mask;
}

static void copy_cap(uint32_t dst[2], const uint32_t *src, size_t n)
{
	dst[0] = n > 0 ? src[0] : 0;
	dst[1] = n > 1 ? src[1] : 0;
}

static int creds_copy(const CredsEntry *c, struct img_creds *d)
{
	uint32_t nnp;

	d->uid = c->uid;
	d->gid = c->gid;
	d->euid = c->euid;
	d->egid = c->egid;
	d->suid = c->suid;
	d->sgid = c->sgid;
	d->fsuid = c->fsuid;
	d->fsgid = c->fsgid;
	copy_cap(d->cap_inh, c->cap_inh, c->n_cap_inh);
	copy_cap(d->cap_prm, c->cap_prm, c->n_cap_prm);
	copy_cap(d->cap_eff, c->cap_eff, c->n_cap_eff);
	copy_cap(d->cap_bnd, c->cap_bnd, c->n_cap_bnd);
	copy_cap(d->cap_amb, c->cap_amb, c->n_cap_amb);
	d->has_cap_amb = c->n_cap_amb > 0;
	d->secbits = c->secbits;
	d->has_no_new_privs = unknown_u32(&c->base, 18, &nnp);
	d->no_new_privs = d->has_no_new_privs && nnp;
	d->n_groups = c->n_groups;
	return img_dup_u32(c->groups, c->n_groups, &d->groups);
}

static void tc_copy(const TaskCoreEntry *tc, struct img_core *c)
{
	c->has_tc = true;
	c->task_state = tc->task_state;
	c->exit_code = tc->exit_code;
	c->personality = tc->personality;
	c->flags = tc->flags;
	c->has_tc_blk_sigset = true;
	c->tc_blk_sigset = tc->blk_sigset;
	c->has_loginuid = tc->has_loginuid;
	c->loginuid = tc->loginuid;
	c->has_oom_score_adj = tc->has_oom_score_adj;
	c->oom_score_adj = tc->oom_score_adj;
	if (tc->rlimits) {
		c->n_rlimits = CK_MIN(tc->rlimits->n_rlimits, ARRAY_SIZE(c->rlim_cur));
		for (size_t i = 0; i < c->n_rlimits; i++) {
			c->rlim_cur[i] = tc->rlimits->rlimits[i]->cur;
			c->rlim_max[i] = tc->rlimits->rlimits[i]->max;
		}
	}
	c->n_sigactions = CK_MIN(tc->n_sigactions, ARRAY_SIZE(c->sigaction_handler));
	for (size_t i = 0; i < c->n_sigactions; i++)
		c->sigaction_handler[i] = tc->sigactions[i]->sigaction;
	c->shdpnd = signal_mask(tc->signals_s);
	c->has_stop_signo = unknown_u32(&tc->base, 21, &c->stop_signo);
	c->has_child_subreaper = tc->has_child_subreaper;
	c->child_subreaper = tc->child_subreaper;
	/* Pre-3.10/3.18 images keep these per task; thread_core overrides below. */
	c->has_seccomp_mode = tc->has_old_seccomp_mode;
	c->seccomp_mode = tc->old_seccomp_mode;
	c->has_seccomp_filter = tc->has_old_seccomp_filter;
	c->seccomp_filter = tc->old_seccomp_filter;
	c->has_cg_set = tc->has_cg_set;
	c->cg_set = tc->cg_set;
}

static int thread_core_copy(const ThreadCoreEntry *t, struct img_core *c)
{
	c->has_thread_core = true;
	c->has_blk_sigset = t->has_blk_sigset;
	c->blk_sigset = t->blk_sigset;
	c->has_sched_nice = t->has_sched_nice;
	c->sched_nice = t->sched_nice;
	c->has_sched_policy = t->has_sched_policy;
	c->sched_policy = t->sched_policy;
	c->has_sched_prio = t->has_sched_prio;
	c->sched_prio = t->sched_prio;
	if (t->has_seccomp_mode) {
		c->has_seccomp_mode = true;
		c->seccomp_mode = t->seccomp_mode;
	}
	if (t->has_seccomp_filter) {
		c->has_seccomp_filter = true;
		c->seccomp_filter = t->seccomp_filter;
	}
	if (t->has_cg_set) {
		c->has_cg_set = true;
		c->cg_set = t->cg_set;
	}
	c->has_pdeath_sig = t->has_pdeath_sig;
	c->pdeath_sig = t->pdeath_sig;
	c->sigpnd = signal_mask(t->signals_p);
	if (t->creds) {
		c->has_creds = true;
		if (creds_copy(t->creds, &c->creds) < 0)
			return -ENOMEM;
	}
	return img_dup_str(t->comm, &c->comm);
}

/* Copy min(@n, ARRAY_SIZE(@dst)) words from @src into @dst; evaluates to that count. */
#define COPY_WORDS(dst, src, n) ({						\
	size_t _n_ = CK_MIN((size_t) (n), ARRAY_SIZE(dst));			\
	if (_n_)								\
		memcpy((dst), (src), _n_ * sizeof((dst)[0]));			\
	_n_; })

static void x86_fpregs_copy(const UserX86FpregsEntry *f, struct img_x86_fpregs *d)
{
	const UserX86XsaveEntry *x = f->xsave;

	d->cwd = f->cwd;
	d->swd = f->swd;
	d->twd = f->twd;
	d->fop = f->fop;
	d->rip = f->rip;
	d->rdp = f->rdp;
	d->mxcsr = f->mxcsr;
	d->mxcsr_mask = f->mxcsr_mask;
	COPY_WORDS(d->st_space, f->st_space, f->n_st_space);
	COPY_WORDS(d->xmm_space, f->xmm_space, f->n_xmm_space);
	if (!x)
		return;
	d->has_xsave = true;
	d->xstate_bv = x->xstate_bv;
	d->n_ymmh_space = COPY_WORDS(d->ymmh_space, x->ymmh_space, x->n_ymmh_space);
	d->n_bndreg_state = COPY_WORDS(d->bndreg_state, x->bndreg_state, x->n_bndreg_state);
	d->n_bndcsr_state = COPY_WORDS(d->bndcsr_state, x->bndcsr_state, x->n_bndcsr_state);
	d->n_opmask_reg = COPY_WORDS(d->opmask_reg, x->opmask_reg, x->n_opmask_reg);
	d->n_zmm_upper = COPY_WORDS(d->zmm_upper, x->zmm_upper, x->n_zmm_upper);
	d->n_hi16_zmm = COPY_WORDS(d->hi16_zmm, x->hi16_zmm, x->n_hi16_zmm);
	d->n_pkru = COPY_WORDS(d->pkru, x->pkru, x->n_pkru);
}

static void x86_copy(const ThreadInfoX86 *ti, struct img_core *c)
{
	const UserX86RegsEntry *g = ti->gpregs;
	struct img_x86_gpregs *d = &c->gpregs;

	c->clear_tid_addr = ti->clear_tid_addr;
	if (ti->fpregs) {
		c->has_fpregs = true;
		x86_fpregs_copy(ti->fpregs, &c->fpregs);
	}
	if (!g)
		return;
	c->has_regs = true;
	*d = (struct img_x86_gpregs) {
		.r15 = g->r15, .r14 = g->r14, .r13 = g->r13, .r12 = g->r12, .bp = g->bp,
		.bx = g->bx, .r11 = g->r11, .r10 = g->r10, .r9 = g->r9, .r8 = g->r8,
		.ax = g->ax, .cx = g->cx, .dx = g->dx, .si = g->si, .di = g->di,
		.orig_ax = g->orig_ax, .ip = g->ip, .cs = g->cs, .flags = g->flags,
		.sp = g->sp, .ss = g->ss, .fs_base = g->fs_base, .gs_base = g->gs_base,
		.ds = g->ds, .es = g->es, .fs = g->fs, .gs = g->gs,
		.mode = g->has_mode ? (uint32_t) g->mode : 1,
	};
}

static int core_copy(const ProtobufCMessage *msg, void *dst)
{
	const CoreEntry *e = (const CoreEntry *) msg;
	struct img_core *c = dst;
	int rc;

	c->mtype = e->mtype;
	if (e->tc) {
		tc_copy(e->tc, c);
		rc = img_dup_str(e->tc->comm, &c->tc_comm);
		if (rc < 0)
			return rc;
	}
	if (e->thread_core) {
		rc = thread_core_copy(e->thread_core, c);
		if (rc < 0)
			return rc;
	}
	if (e->thread_info)
		x86_copy(e->thread_info, c);
	return 0;
}

int img_read_core(const struct ck_blob *b, struct img_core **ret_core)
{
	_cleanup_(img_core_freep) struct img_core *c = NULL;
	int rc;

	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	rc = img_read_first(b, IMG_MAGIC_CORE, &core_entry__descriptor, core_copy, c);
	if (rc < 0)
		return rc;
	*ret_core = TAKE_PTR(c);
	return 0;
}

void img_core_free(struct img_core *c)
{
	if (!c)
		return;
	free(c->tc_comm);
	free(c->comm);
	free(c->creds.groups);
	free(c);
}
