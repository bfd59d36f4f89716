/* SPDX-License-Identifier: Apache-2.0 */
/* ELF cores: every process of every fixture under $CKPTFS_DATA gets a core
 * that is parsed back here with an independent reader (headers, PT_LOAD
 * table, notes, registers), every golden/<fixture>/memhash.json range is read
 * through the PT_LOAD table and hashed, and a SEEK_DATA/SEEK_HOLE walk checks
 * that holes read as zeros. Then hostile processes built by hand: no mm,
 * zombie, stopped, foreign architecture, compat task, missing thread core,
 * nothing dumped, and enough VMAs to overflow e_phnum. TAP output. */
#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

#include "ckpt.h"
#include "elf.h"
#include "sha256.h"
#include "tap.h"

#define PAGE 4096u

#define PT_LOAD 1
#define PT_NOTE 4
#define NT_PRSTATUS 1
#define NT_FPREGSET 2
#define NT_PRPSINFO 3
#define NT_AUXV 6
#define NT_X86_XSTATE 0x202
#define NT_FILE 0x46494c45
#define NT_SIGINFO 0x53494749

static uint64_t le(const uint8_t *p, int n)
{
	uint64_t v = 0;

	for (int i = n - 1; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

/* The parsed core: program headers and the note bytes. */
struct phdr {
	uint32_t type, flags;
	uint64_t offset, vaddr, filesz, memsz, align;
};

struct parsed {
	uint64_t size;
	struct phdr *ph;
	size_t n_ph;
	uint8_t *notes;
	size_t notes_len;
};

static void parsed_done(struct parsed *e)
{
	free(e->ph);
	free(e->notes);
}

static bool read_exact(const struct elf_core *c, void *buf, size_t len, uint64_t off)
{
	return elf_core_read(c, buf, len, off) == (ssize_t) len;
}

/* Parse the ELF and program headers; NULL reason means success. */
static const char *parse(const struct elf_core *c, struct parsed *e)
{
	uint8_t h[64], ph[56], sh[64];
	uint64_t phoff, phnum;

	*e = (struct parsed) { .size = elf_core_size(c) };
	if (!read_exact(c, h, sizeof(h), 0))
		return "short header";
	if (memcmp(h, "\177ELF", 4) || h[4] != 2 || h[5] != 1 || h[6] != 1)
		return "ident";
	if (le(h + 16, 2) != 4 || le(h + 18, 2) != 62 || le(h + 20, 4) != 1)
		return "type/machine/version";
	if (le(h + 52, 2) != 64 || le(h + 54, 2) != 56)
		return "header sizes";
	phoff = le(h + 32, 8);
	phnum = le(h + 56, 2);
	if (phnum == 0xffff) {
		if (le(h + 60, 2) != 1 || le(h + 58, 2) != 64 || !read_exact(c, sh, sizeof(sh), le(h + 40, 8)))
			return "PN_XNUM section header";
		phnum = le(sh + 44, 4);
	}
	e->ph = calloc(phnum ? phnum : 1, sizeof(*e->ph));
	if (!e->ph)
		return "oom";
	for (uint64_t i = 0; i < phnum; i++) {
		if (!read_exact(c, ph, sizeof(ph), phoff + 56 * i))
			return "short phdr";
		e->ph[i] = (struct phdr) {
			.type = (uint32_t) le(ph, 4), .flags = (uint32_t) le(ph + 4, 4),
			.offset = le(ph + 8, 8), .vaddr = le(ph + 16, 8), .filesz = le(ph + 32, 8),
			.memsz = le(ph + 40, 8), .align = le(ph + 48, 8),
		};
	}
	e->n_ph = phnum;
	if (phnum == 0 || e->ph[0].type != PT_NOTE)
		return "first phdr is not PT_NOTE";
	e->notes_len = e->ph[0].filesz;
	e->notes = malloc(e->notes_len + 1);
	if (!e->notes || !read_exact(c, e->notes, e->notes_len, e->ph[0].offset))
		return "notes";
	for (size_t i = 1; i < e->n_ph; i++) {
		const struct phdr *p = &e->ph[i];

		if (p->type != PT_LOAD || p->align != PAGE)
			return "PT_LOAD type/align";
		if (p->filesz && (p->filesz != p->memsz || p->offset + p->filesz > e->size))
			return "PT_LOAD filesz";
		if (p->offset > e->size)
			return "PT_LOAD offset past the end";
		if (p->filesz && p->offset % PAGE != p->vaddr % PAGE)
			return "PT_LOAD offset alignment";
		if (i > 1 && p->vaddr < e->ph[i - 1].vaddr + e->ph[i - 1].memsz)
			return "PT_LOADs overlap or are unsorted";
	}
	return NULL;
}

/* Read [vaddr, vaddr + len) through the PT_LOAD table, as a debugger would. */
static bool read_vaddr(const struct elf_core *c, const struct parsed *e, uint64_t vaddr, uint8_t *buf,
		       uint64_t len)
{
	while (len) {
		const struct phdr *p = NULL;
		uint64_t n;

		for (size_t i = 1; i < e->n_ph && !p; i++)
			if (e->ph[i].filesz && vaddr >= e->ph[i].vaddr && vaddr < e->ph[i].vaddr + e->ph[i].filesz)
				p = &e->ph[i];
		if (!p)
			return false;
		n = CK_MIN(len, p->vaddr + p->filesz - vaddr);
		if (!read_exact(c, buf, n, p->offset + (vaddr - p->vaddr)))
			return false;
		vaddr += n;
		buf += n;
		len -= n;
	}
	return true;
}

struct note {
	uint32_t type;
	const char *name;
	const uint8_t *desc;
	uint32_t descsz;
};

/* The next note at *@off, or false at the end or on a malformed note. */
static bool next_note(const struct parsed *e, size_t *off, struct note *n)
{
	uint32_t namesz, descsz;
	size_t at = *off;

	if (at + 12 > e->notes_len)
		return false;
	namesz = (uint32_t) le(e->notes + at, 4);
	descsz = (uint32_t) le(e->notes + at + 4, 4);
	n->type = (uint32_t) le(e->notes + at + 8, 4);
	at += 12;
	if (namesz == 0 || namesz > e->notes_len - at || e->notes[at + namesz - 1] != '\0')
		return false;
	n->name = (const char *) e->notes + at;
	at += (namesz + 3) & ~3u;
	if (descsz > e->notes_len - CK_MIN(at, e->notes_len))
		return false;
	n->desc = e->notes + at;
	n->descsz = descsz;
	*off = at + ((descsz + 3) & ~3u);
	return true;
}

static bool has_tid(const struct ckpt_proc *p, uint32_t tid)
{
	return ckpt_thread_find(p, tid) != NULL;
}

static void check_notes(const char *fx, const struct ckpt *ck, const struct ckpt_proc *p, const struct parsed *e)
{
	const struct img_core *lc = ckpt_leader_core(p);
	const char *comm = lc->comm ? lc->comm : lc->tc_comm;
	size_t off = 0, n_status = 0, n_fp = 0, n_xstate = 0, n_psinfo = 0, n_auxv = 0, n_file = 0;
	size_t n_reg_vmas = 0;
	bool ok = true, first_is_leader = false, regs_ok = true, auxv_ok = false, file_ok = false;
	uint32_t last_type = 0;
	struct note n;

	for (size_t i = 0; i < p->mm->n_vmas; i++) {
		const struct img_file *f = ckpt_file_find(ck, (uint32_t) p->mm->vmas[i].shmid);

		if ((p->mm->vmas[i].status & (IMG_VMA_FILE_PRIVATE | IMG_VMA_FILE_SHARED)) &&
		    !(p->mm->vmas[i].status & IMG_VMA_AREA_MEMFD) && f && f->type == IMG_FD_REG)
			n_reg_vmas++;
	}
	while (next_note(e, &off, &n)) {
		bool core = strcmp(n.name, "CORE") == 0;

		switch (n.type) {
		case NT_PRSTATUS: {
			uint32_t tid = (uint32_t) le(n.desc + 32, 4);
			const struct ckpt_thread *t = ckpt_thread_find(p, tid);

			ok = ok && core && n.descsz == 336 && has_tid(p, tid);
			if (n_status++ == 0)
				first_is_leader = tid == p->pid;
			regs_ok = regs_ok && t && t->core && le(n.desc + 112 + 16 * 8, 8) == t->core->gpregs.ip &&
				  le(n.desc + 112 + 19 * 8, 8) == t->core->gpregs.sp &&
				  le(n.desc + 112 + 21 * 8, 8) == t->core->gpregs.fs_base &&
				  le(n.desc + 36, 4) == p->ppid && le(n.desc + 44, 4) == p->sid;
			break;
		}
		case NT_PRPSINFO:
			n_psinfo++;
			ok = ok && core && n.descsz == 136 && le(n.desc + 24, 4) == p->pid &&
			     strncmp((const char *) n.desc + 40, comm, 15) == 0 && n.desc[1] == 'S';
			break;
		case NT_FPREGSET:
			n_fp++;
			/* After its thread's NT_PRSTATUS, at most one per thread. */
			ok = ok && core && n.descsz == 512 && n_fp <= n_status;
			break;
		case NT_X86_XSTATE:
			n_xstate++;
			/* XCR0 in sw_reserved; header xstate_bv within it. */
			ok = ok && strcmp(n.name, "LINUX") == 0 && n.descsz >= 832 &&
			     (le(n.desc + 464, 8) & 7) == 7 &&
			     (le(n.desc + 512, 8) & ~le(n.desc + 464, 8)) == 0 && last_type == NT_FPREGSET;
			break;
		case NT_AUXV:
			n_auxv++;
			auxv_ok = core && n.descsz % 16 == 0 && n.descsz >= 16 &&
				  le(n.desc + n.descsz - 16, 8) == 0 && le(n.desc, 8) == p->mm->auxv[0] &&
				  le(n.desc + 8, 8) == p->mm->auxv[1];
			/* Pairs are (2i, 2i+1): the second pair is auxv[2], auxv[3]. */
			auxv_ok = auxv_ok && (p->mm->n_auxv < 4 || (le(n.desc + 16, 8) == p->mm->auxv[2] &&
								       le(n.desc + 24, 8) == p->mm->auxv[3]));
			break;
		case NT_FILE:
			n_file++;
			file_ok = core && n.descsz >= 16 && le(n.desc, 8) == n_reg_vmas && le(n.desc + 8, 8) == PAGE &&
				  n.desc[n.descsz - 1] == '\0';
			break;
		}
		last_type = n.type;
	}
	CHECK(ok && off == e->notes_len, "%s: pid %u: notes well formed (%zu bytes)", fx, p->pid, e->notes_len);
	CHECK(n_status == p->n_threads && first_is_leader, "%s: pid %u: %zu NT_PRSTATUS, leader first", fx, p->pid,
	      n_status);
	CHECK(regs_ok, "%s: pid %u: registers and ids of every thread", fx, p->pid);
	CHECK(n_psinfo == 1, "%s: pid %u: NT_PRPSINFO with comm '%s'", fx, p->pid, comm);
	CHECK(n_fp == p->n_threads && (n_xstate == 0 || n_xstate == p->n_threads),
	      "%s: pid %u: NT_FPREGSET x%zu, NT_X86_XSTATE x%zu", fx, p->pid, n_fp, n_xstate);
	CHECK(n_auxv == 1 && auxv_ok, "%s: pid %u: NT_AUXV pairs end with AT_NULL", fx, p->pid);
	CHECK(n_reg_vmas ? n_file == 1 && file_ok : n_file == 0, "%s: pid %u: NT_FILE lists %zu file VMAs", fx,
	      p->pid, n_reg_vmas);
}

/* PT_LOADs tile the VMAs exactly: same bounds, nothing more. Only
 * anonymous private memory may put undumped (zero) pages in the file;
 * elsewhere a PT_LOAD with bytes is fully dumped. */
static void check_loads(const char *fx, const struct ckpt_proc *p, const struct parsed *e)
{
	const uint32_t anon = IMG_VMA_AREA_REGULAR | IMG_VMA_ANON_PRIVATE;
	size_t k = 1, unknown = 0;
	bool ok = true;

	for (size_t i = 0; ok && i < p->mm->n_vmas; i++) {
		const struct img_vma *v = &p->mm->vmas[i];
		bool zero_ok = (v->status & anon) == anon && v->prot &&
			       !(v->status & (IMG_VMA_AREA_VVAR | IMG_VMA_FILE_PRIVATE | IMG_VMA_FILE_SHARED));
		uint64_t pos = v->start;

		while (ok && pos < v->end) {
			const struct phdr *ph = &e->ph[k];

			ok = k < e->n_ph && ph->vaddr == pos && ph->memsz <= v->end - pos;
			if (ok && ph->filesz && !zero_ok)
				ok = mem_is_dumped(p->mem, ph->vaddr, ph->filesz);
			if (ok && (v->status & IMG_VMA_AREA_VVAR))
				ok = ph->filesz == 0;
			if (ok && !ph->filesz)
				unknown++;
			if (ok)
				pos += e->ph[k++].memsz;
		}
	}
	CHECK(ok && k == e->n_ph, "%s: pid %u: %zu PT_LOADs tile %zu VMAs, %zu without bytes", fx, p->pid,
	      e->n_ph - 1, p->mm->n_vmas, unknown);
}

static bool unhex(const char *s, uint64_t *ret)
{
	char *end;

	errno = 0;
	*ret = strtoull(s, &end, 16);
	return !errno && !*end;
}

static void check_memhash(const char *fx, const struct elf_core *c, const struct ckpt_proc *p,
			  const struct parsed *e, json_object *ranges)
{
	size_t n = ranges ? json_object_array_length(ranges) : 0, bad = 0;

	for (size_t i = 0; i < n; i++) {
		json_object *r = json_object_array_get_idx(ranges, i);
		uint64_t vaddr, len = (uint64_t) json_object_get_int64(json_object_array_get_idx(r, 1)) * PAGE;
		const char *want = json_object_get_string(json_object_array_get_idx(r, 2));
		uint8_t *buf = malloc(len ? len : 1);
		char got[65];

		if (!buf || !unhex(json_object_get_string(json_object_array_get_idx(r, 0)), &vaddr) ||
		    !read_vaddr(c, e, vaddr, buf, len)) {
			bad++;
		} else {
			ck_sha256_hex(buf, len, got);
			bad += strcmp(got, want) != 0;
		}
		free(buf);
	}
	CHECK(n > 0 && bad == 0, "%s: pid %u: %zu memhash ranges read through PT_LOAD match", fx, p->pid, n);
}

/* Walk SEEK_DATA/SEEK_HOLE: extents alternate, cover the header, and a page
 * at the start of every hole reads as zeros. */
static void check_sparse(const char *fx, const struct elf_core *c, const struct ckpt_proc *p)
{
	static uint8_t buf[PAGE];
	uint64_t size = elf_core_size(c), data = 0;
	int64_t off = 0, prev_hole = -1;
	bool ok = elf_core_seek_data(c, 0) == 0 && elf_core_seek_hole(c, 0) > 0;
	size_t extents = 0;

	while (ok && (off = elf_core_seek_data(c, (uint64_t) off)) >= 0) {
		int64_t hole = elf_core_seek_hole(c, (uint64_t) off);

		ok = hole > off && (uint64_t) hole <= size && off > prev_hole;
		if (ok && (uint64_t) hole < size) {
			int64_t next = elf_core_seek_data(c, (uint64_t) hole);
			uint64_t stop = next < 0 ? size : (uint64_t) next;
			size_t n = (size_t) CK_MIN((uint64_t) PAGE, stop - (uint64_t) hole);

			ok = read_exact(c, buf, n, (uint64_t) hole);
			for (size_t i = 0; ok && i < n; i++)
				ok = buf[i] == 0;
		}
		data += (uint64_t) (hole - off);
		prev_hole = hole;
		off = hole;
		extents++;
	}
	ok = ok && off == -ENXIO && elf_core_seek_hole(c, size) == -ENXIO && elf_core_seek_data(c, size) == -ENXIO;
	ok = ok && elf_core_read(c, buf, sizeof(buf), size) == 0 && data == elf_core_allocated(c);
	CHECK(ok, "%s: pid %u: SEEK_DATA/SEEK_HOLE walk, %zu extents, %llu of %llu bytes data", fx, p->pid,
	      extents, (unsigned long long) data, (unsigned long long) size);
}

static void test_proc(const char *fx, const struct ckpt *ck, const struct ckpt_proc *p, json_object *memhash)
{
	_cleanup_(elf_core_freep) struct elf_core *c = NULL;
	struct parsed e;
	const char *why;
	char pidstr[16];
	json_object *ranges = NULL;
	int rc;

	rc = elf_core_new(ck, p, &c);
	CHECK(rc == 0, "%s: pid %u: elf_core_new (%s)", fx, p->pid, strerror(-rc));
	if (rc < 0)
		return;
	why = parse(c, &e);
	CHECK(!why && e.n_ph - 1 == elf_core_seg_count(c), "%s: pid %u: headers parse back (%s), %zu phdrs", fx,
	      p->pid, why ? why : "ok", e.n_ph);
	if (!why) {
		snprintf(pidstr, sizeof(pidstr), "%u", p->pid);
		json_object_object_get_ex(memhash, pidstr, &ranges);
		check_notes(fx, ck, p, &e);
		check_loads(fx, p, &e);
		check_memhash(fx, c, p, &e, ranges);
		check_sparse(fx, c, p);
	}
	parsed_done(&e);
}

static void test_fixture(const char *data, const char *fx, const char *file)
{
	_cleanup_(arc_freep) struct arc *a = NULL;
	_cleanup_(ckpt_freep) struct ckpt *ck = NULL;
	char path[512], *err = NULL;
	json_object *memhash;
	int rc;

	snprintf(path, sizeof(path), "%s/fixtures/%s", data, file);
	rc = arc_open(path, NULL, &a, &err);
	if (rc == 0)
		rc = ckpt_load(a, NULL, &ck, &err);
	CHECK(rc == 0, "%s: open and load (%s)", fx, err ? err : "ok");
	free(err);
	if (rc < 0)
		return;
	snprintf(path, sizeof(path), "%s/golden/%s/memhash.json", data, fx);
	memhash = json_object_from_file(path);
	CHECK(memhash != NULL, "%s: golden memhash.json", fx);
	for (size_t i = 0; i < ck->n_procs; i++)
		test_proc(fx, ck, &ck->procs[i], memhash);
	json_object_put(memhash);
}

/* ---- hostile processes, built by hand from a real one ---- */

static void test_hostile(const char *data)
{
	_cleanup_(arc_freep) struct arc *a = NULL;
	_cleanup_(ckpt_freep) struct ckpt *ck = NULL;
	_cleanup_(elf_core_freep) struct elf_core *c = NULL;
	const struct ckpt_proc *real;
	struct ckpt_proc p;
	struct ckpt_thread th[2];
	struct img_core core;
	struct img_mm mm;
	struct img_vma *vmas;
	struct parsed e;
	char path[512];
	const char *why;
	bool ok;
	int rc;

	snprintf(path, sizeof(path), "%s/fixtures/wl-alpha.tar.zst", data);
	if (arc_open(path, NULL, &a, NULL) < 0 || ckpt_load(a, NULL, &ck, NULL) < 0 ||
	    !(real = ckpt_proc_find(ck, 1)) || !real->threads[0].core || !real->mm) {
		CHECK(false, "hostile: load wl-alpha pid 1");
		return;
	}
	core = *real->threads[0].core;
	th[0] = (struct ckpt_thread) { .tid = 1, .core = &core };
	th[1] = (struct ckpt_thread) { .tid = 2, .core = NULL, .core_err = -EBADMSG };
	p = *real;
	p.threads = th;
	p.n_threads = 1;

	p.mm = NULL;
	p.mm_err = -ENOENT;
	CHECK(elf_core_new(ck, &p, &c) == -ENOENT, "hostile: no mm-<pid>.img gives -ENOENT");
	p.mm_err = -EBADMSG;
	CHECK(elf_core_new(ck, &p, &c) == -EIO, "hostile: damaged mm gives -EIO");
	p.mm = real->mm;
	p.mm_err = 0;

	core.task_state = 2;
	CHECK(elf_core_new(ck, &p, &c) == -ENOENT, "hostile: zombie gives -ENOENT");
	core.task_state = 1;
	core.mtype = 3;
	CHECK(elf_core_new(ck, &p, &c) == -EOPNOTSUPP, "hostile: aarch64 gives -EOPNOTSUPP");
	core.mtype = 1;
	core.gpregs.mode = 2;
	CHECK(elf_core_new(ck, &p, &c) == -EOPNOTSUPP, "hostile: compat task gives -EOPNOTSUPP");
	core.gpregs.mode = 1;
	core.has_regs = false;
	CHECK(elf_core_new(ck, &p, &c) == -EIO, "hostile: core without registers gives -EIO");
	core.has_regs = true;
	p.n_threads = 2;
	CHECK(elf_core_new(ck, &p, &c) == -EIO, "hostile: a thread without core gives -EIO");
	p.n_threads = 1;

	/* A stopped task: state T, its stop signal in cursig and NT_SIGINFO. */
	core.task_state = 3;
	core.has_stop_signo = true;
	core.stop_signo = 19;
	rc = elf_core_new(ck, &p, &c);
	ok = rc == 0 && !(why = parse(c, &e));
	if (ok) {
		size_t off = 0, n_siginfo = 0;
		bool state_ok = false, cursig_ok = false;
		struct note n;

		while (next_note(&e, &off, &n)) {
			if (n.type == NT_SIGINFO)
				n_siginfo += n.descsz == 128 && le(n.desc, 4) == 19;
			if (n.type == NT_PRPSINFO)
				state_ok = n.desc[0] == 3 && n.desc[1] == 'T';
			if (n.type == NT_PRSTATUS)
				cursig_ok = le(n.desc, 4) == 19 && le(n.desc + 12, 2) == 19;
		}
		ok = n_siginfo == 1 && state_ok && cursig_ok;
		parsed_done(&e);
	}
	CHECK(ok, "hostile: stopped task has state T, cursig and NT_SIGINFO 19");
	elf_core_free(TAKE_PTR(c));
	core.task_state = 1;
	core.has_stop_signo = false;

	p.mem = NULL;
	p.mem_err = -EBADMSG;
	CHECK(elf_core_new(ck, &p, &c) == -EIO, "hostile: damaged pagemap gives -EIO");

	/* No pagemap: every byte unknown, so no PT_LOAD has file bytes. */
	p.mem_err = -ENOENT;
	rc = elf_core_new(ck, &p, &c);
	ok = rc == 0 && !(why = parse(c, &e));
	for (size_t i = 1; ok && i < e.n_ph; i++)
		ok = e.ph[i].filesz == 0;
	CHECK(ok && elf_core_seek_data(c, e.ph[0].offset + e.ph[0].filesz) == -ENXIO,
	      "hostile: nothing dumped gives only empty PT_LOADs");
	if (rc == 0)
		parsed_done(&e);
	elf_core_free(TAKE_PTR(c));

	/* 70000 VMAs: e_phnum overflows into section header 0. */
	vmas = calloc(70000, sizeof(*vmas));
	if (!vmas) {
		CHECK(false, "hostile: oom");
		return;
	}
	for (size_t i = 0; i < 70000; i++)
		vmas[i] = (struct img_vma) { .start = 0x10000000 + 2 * PAGE * i, .end = 0x10000000 + 2 * PAGE * i + PAGE,
					     .prot = 3, .status = IMG_VMA_AREA_REGULAR | IMG_VMA_ANON_PRIVATE };
	mm = *real->mm;
	mm.vmas = vmas;
	mm.n_vmas = 70000;
	p.mm = &mm;
	p.mem = real->mem;
	p.mem_err = 0;
	rc = elf_core_new(ck, &p, &c);
	ok = rc == 0 && !(why = parse(c, &e));
	CHECK(ok && e.n_ph == 70001 && elf_core_seg_count(c) == 70000 && e.ph[70000].filesz == PAGE,
	      "hostile: 70000 VMAs use PN_XNUM (%zu phdrs)", ok ? e.n_ph : 0);
	if (rc == 0)
		parsed_done(&e);
	free(vmas);
}

int main(void)
{
	static const struct {
		const char *name, *file;
	} fixtures[] = {
		{ "wl-alpha", "wl-alpha.tar.zst" },
		{ "wl-beta", "wl-beta.tar.gz" },
		{ "wl-gamma", "wl-gamma.tar" },
		{ "busybox-loop", "busybox-loop.tar.gz" },
	};
	const char *data = getenv("CKPTFS_DATA");

	if (!data) {
		printf("1..0 # SKIP CKPTFS_DATA not set\n");
		return 0;
	}
	for (size_t i = 0; i < ARRAY_SIZE(fixtures); i++)
		test_fixture(data, fixtures[i].name, fixtures[i].file);
	test_hostile(data);
	return tap_done();
}
