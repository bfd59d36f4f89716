/* SPDX-License-Identifier: Apache-2.0 */
/* The ELF_PT_NOTE of a core file: process and thread notes built from core-*,
 * mm-* and files.img, with the x86-64 layouts of the kernel's elf_prstatus,
 * elf_prpsinfo, user_fpregs_struct and XSAVE area written field by field. */
#include <errno.h>
#include <string.h>

#include "elf-priv.h"
#include "render.h"

#define NOTE_CORE "CORE"
#define NOTE_LINUX "LINUX"

#define PRPSINFO_SIZE 136
#define PRSTATUS_SIZE 336
#define PRSTATUS_REGS 112		/* offset of pr_reg */
#define FXSAVE_SIZE 512
#define FXSAVE_XCR0 464			/* sw_reserved bytes where Linux reports XCR0 */
#define XSAVE_HDR 512			/* xstate_bv, xcomp_bv, reserved */
#define SIGINFO_SIZE 128
#define PSARGS_SIZE 80


/* One note: 12-byte header, name and descriptor each padded to 4. */
static int note_add(struct ck_buf *out, const char *name, uint32_t type, const void *desc,
		    size_t len)
{
	static const uint8_t zero[4];
	size_t namesz = strlen(name) + 1;
	uint8_t hdr[12];

	if (len > UINT32_MAX)
		return -EFBIG;
	elf_put32(hdr, (uint32_t) namesz);
	elf_put32(hdr + 4, (uint32_t) len);
	elf_put32(hdr + 8, type);
	ck_buf_add(out, hdr, sizeof(hdr));
	ck_buf_add(out, name, namesz);
	ck_buf_add(out, zero, (4 - namesz % 4) % 4);
	ck_buf_add(out, desc, len);
	ck_buf_add(out, zero, (4 - len % 4) % 4);
	return out->oom ? -ENOMEM : 0;
}

void elf_thread_order(const struct ckpt_proc *p, const struct ckpt_thread **order)
{
	size_t n = 0, leader = 0;

	for (size_t i = 0; i < p->n_threads; i++)
		if (p->threads[i].tid == p->pid) {
			leader = i;
			break;
		}
	if (p->n_threads)
		order[n++] = &p->threads[leader];
	for (size_t i = 0; i < p->n_threads; i++)
		if (i != leader)
			order[n++] = &p->threads[i];
}

/* The signal a stopped task stopped with; 0 when running or unknown. */
static uint32_t stop_signal(const struct img_core *lc)
{
	if (lc->task_state != IMG_TASK_STOPPED || !lc->has_stop_signo)
		return 0;
	return lc->stop_signo <= 64 ? lc->stop_signo : 0;
}

/* argv from memory, NULs turned into spaces, as the kernel fills
 * pr_psargs: at most 79 bytes, NUL-terminated. Empty when not dumped. */
static void fill_psargs(const struct ckpt_proc *p, uint8_t *dst)
{
	const struct img_mm *mm = p->mm;
	uint64_t len;

	if (!mm || !p->mem || mm->mm_arg_end <= mm->mm_arg_start)
		return;
	len = CK_MIN(mm->mm_arg_end - mm->mm_arg_start, (uint64_t) PSARGS_SIZE - 1);
	if (!mem_is_dumped(p->mem, mm->mm_arg_start, len) ||
	    mem_read(p->mem, mm->mm_arg_start, dst, len) != (ssize_t) len) {
		memset(dst, 0, PSARGS_SIZE);
		return;
	}
	for (uint64_t i = 0; i < len; i++)
		if (dst[i] == '\0')
			dst[i] = ' ';
}

static int note_prpsinfo(const struct ckpt_proc *p, const struct img_core *lc, struct ck_buf *out)
{
	uint8_t d[PRPSINFO_SIZE] = { 0 };
	const char *comm = ckpt_proc_name(p);
	/* Index into "RSDTZW": CRIU records no run state, and a dumped task
	 * was frozen, so an alive one reads as sleeping like in status. */
	uint8_t state = lc->task_state == IMG_TASK_STOPPED ? 3 : 1;

	d[0] = state;
	d[1] = (uint8_t) "RSDTZW"[state];
	d[2] = 0;			/* pr_zomb: zombies get no core */
	d[3] = (uint8_t) (int8_t) (lc->has_sched_nice ? lc->sched_nice : 0);
	elf_put64(d + 8, lc->flags);
	if (lc->has_creds) {
		elf_put32(d + 16, lc->creds.uid);
		elf_put32(d + 20, lc->creds.gid);
	}
	elf_put32(d + 24, p->pid);
	elf_put32(d + 28, p->ppid);
	elf_put32(d + 32, p->pgid);
	elf_put32(d + 36, p->sid);
	if (comm)
		strncpy((char *) d + 40, comm, 15);
	fill_psargs(p, d + 56);
	return note_add(out, NOTE_CORE, ELF_NT_PRPSINFO, d, sizeof(d));
}

static int note_prstatus(const struct ckpt_proc *p, const struct ckpt_thread *t, uint32_t cursig,
			 struct ck_buf *out)
{
	const struct img_core *c = t->core;
	const struct img_x86_gpregs *g = &c->gpregs;
	const uint64_t regs[] = {
		g->r15, g->r14, g->r13, g->r12, g->bp, g->bx, g->r11, g->r10, g->r9, g->r8,
		g->ax, g->cx, g->dx, g->si, g->di, g->orig_ax, g->ip, g->cs, g->flags,
		g->sp, g->ss, g->fs_base, g->gs_base, g->ds, g->es, g->fs, g->gs,
	};
	uint8_t d[PRSTATUS_SIZE] = { 0 };
	uint64_t hold = c->has_blk_sigset ? c->blk_sigset :
			c->has_tc_blk_sigset ? c->tc_blk_sigset : 0;

	elf_put32(d, cursig);		/* pr_info.si_signo */
	elf_put16(d + 12, (uint16_t) cursig);
	elf_put64(d + 16, c->sigpnd);
	elf_put64(d + 24, hold);
	elf_put32(d + 32, t->tid);
	elf_put32(d + 36, p->ppid);
	elf_put32(d + 40, p->pgid);
	elf_put32(d + 44, p->sid);
	/* pr_utime .. pr_cstime: CRIU does not record CPU times. */
	for (size_t i = 0; i < ARRAY_SIZE(regs); i++)
		elf_put64(d + PRSTATUS_REGS + 8 * i, regs[i]);
	elf_put32(d + PRSTATUS_REGS + 8 * ARRAY_SIZE(regs), c->has_fpregs);
	return note_add(out, NOTE_CORE, ELF_NT_PRSTATUS, d, sizeof(d));
}

/* The 512-byte fxsave image, shared by ELF_NT_FPREGSET and ELF_NT_X86_XSTATE. */
static void fill_fxsave(const struct img_x86_fpregs *f, uint8_t *d)
{
	elf_put16(d, (uint16_t) f->cwd);
	elf_put16(d + 2, (uint16_t) f->swd);
	elf_put16(d + 4, (uint16_t) f->twd);
	elf_put16(d + 6, (uint16_t) f->fop);
	elf_put64(d + 8, f->rip);
	elf_put64(d + 16, f->rdp);
	elf_put32(d + 24, f->mxcsr);
	elf_put32(d + 28, f->mxcsr_mask);
	for (size_t i = 0; i < ARRAY_SIZE(f->st_space); i++)
		elf_put32(d + 32 + 4 * i, f->st_space[i]);
	for (size_t i = 0; i < ARRAY_SIZE(f->xmm_space); i++)
		elf_put32(d + 160 + 4 * i, f->xmm_space[i]);
}

static int note_fpregset(const struct img_core *c, struct ck_buf *out)
{
	uint8_t d[FXSAVE_SIZE] = { 0 };

	fill_fxsave(&c->fpregs, d);
	return note_add(out, NOTE_CORE, ELF_NT_FPREGSET, d, sizeof(d));
}

/* XSAVE components CRIU keeps, at their offsets in the standard
 * (non-compacted) format that gdb assumes when it sees these sizes. */
enum { XF_AVX = 2, XF_BNDREGS, XF_BNDCSR, XF_OPMASK, XF_ZMM_HI256, XF_HI16_ZMM, XF_PKRU = 9 };
static const struct {
	uint32_t bit, off, size;
} xfeatures[] = {
	{ XF_AVX, 576, 256 },
	{ XF_BNDREGS, 960, 64 },
	{ XF_BNDCSR, 1024, 64 },
	{ XF_OPMASK, 1088, 64 },
	{ XF_ZMM_HI256, 1152, 512 },
	{ XF_HI16_ZMM, 1664, 1024 },
	{ XF_PKRU, 2688, 8 },
};

#define XBIT(b) (1ull << (b))

/* The XCR0 the task ran with: x87 and SSE, plus every component whose state
 * CRIU saved (CRIU saves exactly the features the kernel enabled). The
 * architecture only enables MPX and AVX-512 as whole groups. */
static uint64_t xcr0_of(const struct img_x86_fpregs *f)
{
	uint64_t x = XBIT(0) | XBIT(1);

	if (f->n_ymmh_space)
		x |= XBIT(XF_AVX);
	if (f->n_bndreg_state || f->n_bndcsr_state)
		x |= XBIT(XF_BNDREGS) | XBIT(XF_BNDCSR);
	if (f->n_opmask_reg || f->n_zmm_upper || f->n_hi16_zmm)
		x |= XBIT(XF_AVX) | XBIT(XF_OPMASK) | XBIT(XF_ZMM_HI256) | XBIT(XF_HI16_ZMM);
	if (f->n_pkru)
		x |= XBIT(XF_PKRU);
	return x;
}

static void put_words32(uint8_t *d, const uint32_t *w, size_t n, size_t cap)
{
	for (size_t i = 0; i < n && 4 * (i + 1) <= cap; i++)
		elf_put32(d + 4 * i, w[i]);
}

static void put_words64(uint8_t *d, const uint64_t *w, size_t n, size_t cap)
{
	for (size_t i = 0; i < n && 8 * (i + 1) <= cap; i++)
		elf_put64(d + 8 * i, w[i]);
}

/* ELF_NT_X86_XSTATE: fxsave + XCR0 in sw_reserved + header + the components,
 * sized to the end of the highest enabled one (832 with AVX, 1088 with MPX,
 * 2688 with AVX-512, 2696 with PKRU). Skipped without AVX: ELF_NT_FPREGSET
 * then says everything. */
static int note_xstate(const struct img_core *c, struct ck_buf *out)
{
	const struct img_x86_fpregs *f = &c->fpregs;
	_cleanup_free_ uint8_t *d = NULL;
	uint64_t xcr0 = xcr0_of(f);
	size_t size = XSAVE_HDR + 64;

	if (!f->has_xsave || !(xcr0 & XBIT(XF_AVX)))
		return 0;
	for (size_t i = 0; i < ARRAY_SIZE(xfeatures); i++)
		if (xcr0 & XBIT(xfeatures[i].bit))
			size = CK_MAX(size, (size_t) xfeatures[i].off + xfeatures[i].size);
	d = calloc(1, size);
	if (!d)
		return -ENOMEM;
	fill_fxsave(f, d);
	elf_put64(d + FXSAVE_XCR0, xcr0);
	elf_put64(d + XSAVE_HDR, f->xstate_bv & xcr0);
	for (size_t i = 0; i < ARRAY_SIZE(xfeatures); i++) {
		uint8_t *at = d + xfeatures[i].off;
		size_t cap = xfeatures[i].size;

		if (!(xcr0 & XBIT(xfeatures[i].bit)))
			continue;
		switch (xfeatures[i].bit) {
		case XF_AVX:
			put_words32(at, f->ymmh_space, f->n_ymmh_space, cap);
			break;
		case XF_BNDREGS:
			put_words64(at, f->bndreg_state, f->n_bndreg_state, cap);
			break;
		case XF_BNDCSR:
			put_words64(at, f->bndcsr_state, f->n_bndcsr_state, cap);
			break;
		case XF_OPMASK:
			put_words64(at, f->opmask_reg, f->n_opmask_reg, cap);
			break;
		case XF_ZMM_HI256:
			put_words64(at, f->zmm_upper, f->n_zmm_upper, cap);
			break;
		case XF_HI16_ZMM:
			put_words64(at, f->hi16_zmm, f->n_hi16_zmm, cap);
			break;
		case XF_PKRU:
			put_words32(at, f->pkru, f->n_pkru, cap);
			break;
		}
	}
	return note_add(out, NOTE_LINUX, ELF_NT_X86_XSTATE, d, size);
}

/* Only the signal number is known (a stopped task's stop signal). */
static int note_siginfo(uint32_t signo, struct ck_buf *out)
{
	uint8_t d[SIGINFO_SIZE] = { 0 };

	elf_put32(d, signo);
	return note_add(out, NOTE_CORE, ELF_NT_SIGINFO, d, sizeof(d));
}

/* mm_saved_auxv as (type, value) pairs up to ELF_AT_NULL, which is appended
 * when the saved vector was cut before it. */
static int note_auxv(const struct img_mm *mm, struct ck_buf *out)
{
	_cleanup_free_ uint8_t *d = NULL;
	size_t n = 0, i;

	d = malloc((mm->n_auxv / 2 + 1) * 16);
	if (!d)
		return -ENOMEM;
	for (i = 0; i + 1 < mm->n_auxv && mm->auxv[i] != ELF_AT_NULL; i += 2, n++) {
		elf_put64(d + 16 * n, mm->auxv[i]);
		elf_put64(d + 16 * n + 8, mm->auxv[i + 1]);
	}
	elf_put64(d + 16 * n, ELF_AT_NULL);
	elf_put64(d + 16 * n + 8, 0);
	n++;
	return note_add(out, NOTE_CORE, ELF_NT_AUXV, d, 16 * n);
}

/* ELF_NT_FILE: the VMAs backed by a regular file (files.img REG entries):
 * count, page size, (start, end, pgoff in pages) triples, then the names.
 * A VMA whose file entry is missing is left out. */
static int note_file(const struct ckpt *ck, const struct ckpt_proc *p, struct ck_buf *out)
{
	_cleanup_(ck_buf_done) struct ck_buf names = { 0 };
	_cleanup_(ck_buf_done) struct ck_buf d = { 0 };
	const struct img_mm *mm = p->mm;
	uint64_t page = p->mem ? mem_page_size(p->mem) : ck->page_size;
	uint64_t count = 0;
	uint8_t w[24] = { 0 };

	if (!page)
		page = 4096;
	ck_buf_add(&d, w, 16);		/* count and page size, set below */
	for (size_t i = 0; i < mm->n_vmas; i++) {
		const struct img_vma *v = &mm->vmas[i];
		const struct img_file *f;
		size_t mark = names.len;

		if (!(v->status & (IMG_VMA_FILE_PRIVATE | IMG_VMA_FILE_SHARED)) ||
		    (v->status & IMG_VMA_AREA_MEMFD) || v->shmid > UINT32_MAX)
			continue;
		f = ckpt_file_find(ck, (uint32_t) v->shmid);
		if (!f || f->type != IMG_FD_REG)
			continue;
		if (render_reg_path(ck, f->id, &names) < 0 || names.oom) {
			if (names.oom)
				return -ENOMEM;
			names.len = mark;
			continue;
		}
		ck_buf_putc(&names, '\0');
		elf_put64(w, v->start);
		elf_put64(w + 8, v->end);
		elf_put64(w + 16, v->pgoff / page);
		ck_buf_add(&d, w, sizeof(w));
		count++;
	}
	if (count == 0)
		return 0;
	ck_buf_add(&d, names.data, names.len);
	if (d.oom || names.oom)
		return -ENOMEM;
	elf_put64((uint8_t *) d.data, count);
	elf_put64((uint8_t *) d.data + 8, page);
	return note_add(out, NOTE_CORE, ELF_NT_FILE, d.data, d.len);
}

static int thread_regsets(const struct img_core *c, struct ck_buf *out)
{
	int rc;

	if (!c->has_fpregs)
		return 0;
	rc = note_fpregset(c, out);
	if (rc < 0)
		return rc;
	return note_xstate(c, out);
}

int elf_notes_build(const struct ckpt *ck, const struct ckpt_proc *p, struct ck_buf *out)
{
	_cleanup_free_ const struct ckpt_thread **order = NULL;
	const struct img_core *lc;
	uint32_t sig;
	int rc;

	order = calloc(p->n_threads, sizeof(*order));
	if (!order)
		return -ENOMEM;
	elf_thread_order(p, order);
	lc = order[0]->core;
	sig = stop_signal(lc);

	/* The kernel's order: the first thread's ELF_NT_PRSTATUS, the process
	 * notes, the first thread's other regsets, then each further thread's
	 * ELF_NT_PRSTATUS and regsets. Readers tie regsets to the last PRSTATUS. */
	rc = note_prstatus(p, order[0], sig, out);
	if (rc >= 0)
		rc = note_prpsinfo(p, lc, out);
	if (rc >= 0 && sig)
		rc = note_siginfo(sig, out);
	if (rc >= 0)
		rc = note_auxv(p->mm, out);
	if (rc >= 0)
		rc = note_file(ck, p, out);
	if (rc >= 0)
		rc = thread_regsets(lc, out);
	for (size_t i = 1; rc >= 0 && i < p->n_threads; i++) {
		rc = note_prstatus(p, order[i], 0, out);
		if (rc >= 0)
			rc = thread_regsets(order[i]->core, out);
	}
	return rc < 0 ? rc : 0;
}
