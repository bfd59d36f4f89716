/* SPDX-License-Identifier: Apache-2.0 */
/* Core file layout: [ELF header][program headers][section header when
 * e_phnum overflows][notes] then, from the next page, the bytes of every
 * PT_LOAD with a non-zero p_filesz, back to back. Each VMA becomes one or more
 * PT_LOADs: one with the whole VMA in the file when every byte is known
 * (anonymous private memory: dumped or zero), otherwise alternating ones over
 * the dumped runs (in the file) and the gaps (p_filesz 0, content unknown). */
#include <errno.h>
#include <limits.h>
#include <string.h>
#include <sys/mman.h>

#include "elf-priv.h"

#define EHDR_SIZE 64
#define PHDR_SIZE 56
#define SHDR_SIZE 64
#define SEG_ALIGN 4096
#define CRIU_MTYPE_X86_64 1
#define CRIU_REGS_NATIVE 1

struct elf_core {
	const struct mem_space *mem;	/* borrowed from the model; NULL: nothing dumped */
	/* The head is [ELF header][program headers][section header][notes].
	 * The program headers (one per segment, 56 bytes: 10^6 VMAs would
	 * make 53 MiB of them) are written on read from @segs. */
	uint8_t ehdr[EHDR_SIZE];
	uint8_t *tail;			/* section header and notes, from @tail_off */
	uint64_t tail_off;
	uint64_t note_off, note_len;
	size_t head_len;
	struct elf_core_seg *segs;	/* PT_LOADs in address order */
	size_t n_segs, cap_segs;
	size_t *data;			/* indices of segments with file bytes, by offset */
	size_t n_data;
	uint64_t size;
	uint64_t allocated;		/* headers, notes and dumped bytes */
};

/* Check that @p can have a core; -errno as elf_core_new() documents. */
static int check_proc(const struct ckpt_proc *p)
{
	if (ckpt_is_zombie(p))
		return -ENOENT;
	if (!p->mm)
		return p->mm_err == -ENOENT || p->mm_err == 0 ? -ENOENT : -EIO;
	if (!p->mem && p->mem_err < 0 && p->mem_err != -ENOENT)
		return -EIO;
	if (!ckpt_leader_core(p) || p->n_threads == 0)
		return -EIO;
	for (size_t i = 0; i < p->n_threads; i++) {
		const struct img_core *c = p->threads[i].core;

		if (!c)
			return -EIO;
		if (c->mtype != CRIU_MTYPE_X86_64)
			return -EOPNOTSUPP;
		if (!c->has_regs)
			return -EIO;
		if (c->gpregs.mode != CRIU_REGS_NATIVE)
			return -EOPNOTSUPP;
	}
	return 0;
}

static uint32_t seg_flags(uint32_t prot)
{
	return (prot & PROT_READ ? ELF_PF_R : 0) | (prot & PROT_WRITE ? ELF_PF_W : 0) |
	       (prot & PROT_EXEC ? ELF_PF_X : 0);
}

/* Append [vaddr, vaddr + len); extends the previous segment when it belongs
 * to the same VMA (index >= @first), is adjacent and of the same kind. */
static int seg_push(struct elf_core *c, size_t first, uint64_t vaddr, uint64_t len, bool in_file,
		    uint32_t flags)
{
	struct elf_core_seg *last = c->n_segs > first ? &c->segs[c->n_segs - 1] : NULL;

	if (len == 0)
		return 0;
	if (last && last->vaddr + last->memsz == vaddr && (last->filesz != 0) == in_file) {
		last->memsz += len;
		last->filesz = in_file ? last->memsz : 0;
		return 0;
	}
	if (c->n_segs == c->cap_segs) {
		size_t cap = c->cap_segs ? 2 * c->cap_segs : 64;
		struct elf_core_seg *s = reallocarray(c->segs, cap, sizeof(*s));

		if (!s)
			return -ENOMEM;
		c->segs = s;
		c->cap_segs = cap;
	}
	c->segs[c->n_segs++] = (struct elf_core_seg) {
		.vaddr = vaddr, .memsz = len, .filesz = in_file ? len : 0, .flags = flags,
	};
	return 0;
}

/* Anonymous private memory that was never dumped is zero (docs/formats.md §3.4),
 * so the whole VMA is known, but for pages a missing parent checkpoint holds.
 * Not so for files, [vvar], [vsyscall] or PROT_NONE. Shared memory is known
 * only where its object's pages were dumped: those are runs of the space. */
static bool vma_all_known(const struct img_vma *v, const struct mem_space *mem)
{
	const uint32_t other = IMG_VMA_FILE_PRIVATE | IMG_VMA_FILE_SHARED | IMG_VMA_ANON_SHARED |
			       IMG_VMA_AREA_SYSVIPC | IMG_VMA_AREA_MEMFD | IMG_VMA_AREA_SOCKET |
			       IMG_VMA_AREA_AIORING | IMG_VMA_AREA_VVAR | IMG_VMA_AREA_VSYSCALL;

	return mem && v->prot != PROT_NONE && (v->status & IMG_VMA_AREA_REGULAR) &&
	       (v->status & IMG_VMA_ANON_PRIVATE) && !(v->status & other) &&
	       v->end <= mem_size(mem);
}

/* A VMA whose bytes are all known except where a parent checkpoint is missing. */
static int known_segments(struct elf_core *c, const struct img_vma *v, size_t first, uint32_t flags)
{
	size_t n = mem_missing_count(c->mem);
	uint64_t pos = v->start;
	int rc;

	for (size_t i = mem_missing_after(c->mem, v->start); i < n; i++) {
		const struct mem_range *r = mem_missing_at(c->mem, i);
		uint64_t s = CK_MAX(r->vaddr, v->start);
		uint64_t e = CK_MIN(r->vaddr + r->len, v->end);

		if (r->vaddr >= v->end)
			break;
		rc = seg_push(c, first, pos, s - pos, true, flags);
		if (rc == 0)
			rc = seg_push(c, first, s, e - s, false, flags);
		if (rc < 0)
			return rc;
		pos = e;
	}
	return seg_push(c, first, pos, v->end - pos, true, flags);
}

static int vma_segments(struct elf_core *c, const struct img_vma *v)
{
	uint32_t flags = seg_flags(v->prot);
	size_t first = c->n_segs;
	uint64_t pos = v->start;
	int rc;

	if (vma_all_known(v, c->mem))
		return known_segments(c, v, first, flags);
	if (c->mem && !(v->status & IMG_VMA_AREA_VVAR)) {
		size_t n = mem_run_count(c->mem);

		for (size_t i = mem_run_after(c->mem, v->start); i < n; i++) {
			const struct mem_run *r = mem_run_at(c->mem, i);
			uint64_t s = CK_MAX(r->vaddr, v->start);
			uint64_t e = CK_MIN(r->vaddr + r->len, v->end);

			if (r->vaddr >= v->end)
				break;
			rc = seg_push(c, first, pos, s - pos, false, flags);
			if (rc == 0)
				rc = seg_push(c, first, s, e - s, true, flags);
			if (rc < 0)
				return rc;
			pos = e;
		}
	}
	return seg_push(c, first, pos, v->end - pos, false, flags);
}

static void put_phdr(uint8_t *d, uint32_t type, uint32_t flags, uint64_t off, uint64_t vaddr,
		     uint64_t filesz, uint64_t memsz, uint64_t align)
{
	elf_put32(d, type);
	elf_put32(d + 4, flags);
	elf_put64(d + 8, off);
	elf_put64(d + 16, vaddr);
	elf_put64(d + 24, 0);		/* p_paddr */
	elf_put64(d + 32, filesz);
	elf_put64(d + 40, memsz);
	elf_put64(d + 48, align);
}

/* More than 65534 program headers: e_phnum says PN_XNUM and section
 * header 0 carries the real count in sh_info. */
static void put_ehdr(uint8_t *d, uint64_t phnum, uint64_t shoff)
{
	bool xnum = phnum >= ELF_PN_XNUM;

	memcpy(d, "\177ELF", 4);
	d[4] = ELF_CLASS64;
	d[5] = ELF_DATA2LSB;
	d[6] = ELF_EV_CURRENT;
	d[7] = ELF_OSABI_NONE;
	elf_put16(d + 16, ELF_ET_CORE);
	elf_put16(d + 18, ELF_EM_X86_64);
	elf_put32(d + 20, ELF_EV_CURRENT);
	elf_put64(d + 32, EHDR_SIZE);	/* e_phoff */
	elf_put16(d + 52, EHDR_SIZE);
	elf_put16(d + 54, PHDR_SIZE);
	elf_put16(d + 56, xnum ? ELF_PN_XNUM : (uint16_t) phnum);
	if (xnum) {
		elf_put64(d + 40, shoff);
		elf_put16(d + 58, SHDR_SIZE);
		elf_put16(d + 60, 1);
	}
}

static uint64_t align_up(uint64_t x, uint64_t a)
{
	return (x + a - 1) & ~(a - 1);
}

/* Dumped bytes inside [vaddr, vaddr + len). */
static uint64_t dumped_in(const struct mem_space *mem, uint64_t vaddr, uint64_t len)
{
	size_t n = mem_run_count(mem);
	uint64_t sum = 0;

	for (size_t i = mem_run_after(mem, vaddr); i < n; i++) {
		const struct mem_run *r = mem_run_at(mem, i);

		if (r->vaddr >= vaddr + len)
			break;
		sum += CK_MIN(r->vaddr + r->len, vaddr + len) - CK_MAX(r->vaddr, vaddr);
	}
	return sum;
}

/* Give each segment its file offset, then write headers and notes. */
static int layout(struct elf_core *c, const struct ck_buf *notes)
{
	uint64_t phnum = c->n_segs + 1;
	uint64_t shoff = EHDR_SIZE + PHDR_SIZE * phnum;
	uint64_t note_off = shoff + (phnum >= ELF_PN_XNUM ? SHDR_SIZE : 0);
	uint64_t head_len = note_off + notes->len, cur;

	if (phnum > UINT32_MAX)
		return -EFBIG;
	c->data = calloc(c->n_segs ? c->n_segs : 1, sizeof(*c->data));
	if (!c->data)
		return -ENOMEM;
	cur = align_up(head_len, SEG_ALIGN);
	c->size = head_len;
	for (size_t i = 0; i < c->n_segs; i++) {
		struct elf_core_seg *s = &c->segs[i];

		s->offset = align_up(cur, SEG_ALIGN) + (s->vaddr & (SEG_ALIGN - 1));
		if (s->offset > (uint64_t) INT64_MAX ||
		    s->filesz > (uint64_t) INT64_MAX - s->offset)
			return -EFBIG;
		if (!s->filesz)
			continue;
		c->data[c->n_data++] = i;
		c->allocated += dumped_in(c->mem, s->vaddr, s->filesz);
		cur = s->offset + s->filesz;
		c->size = cur;
	}
	/* Empty segments sit where the file's data resumes, as the kernel puts
	 * them, but never past the end (no data follows the last ones). */
	for (size_t i = 0; i < c->n_segs; i++)
		if (!c->segs[i].filesz)
			c->segs[i].offset = CK_MIN(c->segs[i].offset, c->size);

	c->head_len = head_len;
	c->allocated += head_len;
	c->tail_off = shoff;
	c->note_off = note_off;
	c->note_len = notes->len;
	c->tail = calloc(1, head_len - shoff ? head_len - shoff : 1);
	if (!c->tail)
		return -ENOMEM;
	put_ehdr(c->ehdr, phnum, shoff);
	if (phnum >= ELF_PN_XNUM)
		elf_put32(c->tail + 44, (uint32_t) phnum);	/* sh_info */
	if (notes->len)
		memcpy(c->tail + (note_off - shoff), notes->data, notes->len);
	return 0;
}

/* Program header @i: the notes, then one PT_LOAD per segment. */
static void put_phdr_at(const struct elf_core *c, uint64_t i, uint8_t *d)
{
	const struct elf_core_seg *s;

	if (i == 0) {
		put_phdr(d, ELF_PT_NOTE, 0, c->note_off, 0, c->note_len, 0, 4);
		return;
	}
	s = &c->segs[i - 1];
	put_phdr(d, ELF_PT_LOAD, s->flags, s->offset, s->vaddr, s->filesz, s->memsz, SEG_ALIGN);
}

/* Copy the head's bytes [pos, pos + n) to @out. */
static void head_read(const struct elf_core *c, uint8_t *out, uint64_t pos, uint64_t n)
{
	uint64_t end = pos + n, k;

	for (; pos < end; pos += k, out += k) {
		if (pos < EHDR_SIZE) {
			k = CK_MIN(end, (uint64_t) EHDR_SIZE) - pos;
			memcpy(out, c->ehdr + pos, k);
		} else if (pos < c->tail_off) {
			uint64_t at = (pos - EHDR_SIZE) % PHDR_SIZE;
			uint8_t ph[PHDR_SIZE];

			put_phdr_at(c, (pos - EHDR_SIZE) / PHDR_SIZE, ph);
			k = CK_MIN(end - pos, PHDR_SIZE - at);
			memcpy(out, ph + at, k);
		} else {
			k = end - pos;
			memcpy(out, c->tail + (pos - c->tail_off), k);
		}
	}
}

int elf_core_new(const struct ckpt *ck, const struct ckpt_proc *p, struct elf_core **ret_core)
{
	_cleanup_(elf_core_freep) struct elf_core *c = NULL;
	_cleanup_(ck_buf_done) struct ck_buf notes = { 0 };
	int rc;

	rc = check_proc(p);
	if (rc < 0)
		return rc;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->mem = p->mem;
	for (size_t i = 0; i < p->mm->n_vmas; i++) {
		const struct img_vma *v = &p->mm->vmas[i];

		if (v->end <= v->start)
			continue;
		rc = vma_segments(c, v);
		if (rc < 0)
			return rc;
	}
	if (c->n_segs && c->n_segs < c->cap_segs) {
		struct elf_core_seg *s = reallocarray(c->segs, c->n_segs, sizeof(*s));

		if (s) {
			c->segs = s;
			c->cap_segs = c->n_segs;
		}
	}
	rc = elf_notes_build(ck, p, &notes);
	if (rc < 0)
		return rc;
	rc = layout(c, &notes);
	if (rc < 0)
		return rc;
	*ret_core = TAKE_PTR(c);
	return 0;
}

void elf_core_free(struct elf_core *c)
{
	if (!c)
		return;
	free(c->tail);
	free(c->segs);
	free(c->data);
	free(c);
}

uint64_t elf_core_size(const struct elf_core *c)
{
	return c->size;
}

uint64_t elf_core_allocated(const struct elf_core *c)
{
	return c->allocated;
}

size_t elf_core_seg_count(const struct elf_core *c)
{
	return c->n_segs;
}

const struct elf_core_seg *elf_core_seg_at(const struct elf_core *c, size_t i)
{
	return i < c->n_segs ? &c->segs[i] : NULL;
}

static const struct elf_core_seg *data_seg(const struct elf_core *c, size_t k)
{
	return &c->segs[c->data[k]];
}

static uint64_t data_end(const void *ctx, size_t k)
{
	const struct elf_core_seg *s = data_seg(ctx, k);

	return s->offset + s->filesz;
}

/* Index (in c->data) of the first file-backed segment ending after @off. */
static size_t data_after(const struct elf_core *c, uint64_t off)
{
	return ck_first_ending_after(c->n_data, data_end, c, off);
}

ssize_t elf_core_read(const struct elf_core *c, void *buf, size_t len, uint64_t off)
{
	uint8_t *out = buf;
	uint64_t end, pos;

	if (off >= c->size)
		return 0;
	len = CK_MIN(len, (size_t) SSIZE_MAX);
	end = off + CK_MIN((uint64_t) len, c->size - off);
	pos = off;
	if (pos < c->head_len) {
		uint64_t n = CK_MIN(end, (uint64_t) c->head_len) - pos;

		head_read(c, out, pos, n);
		pos += n;
	}
	for (size_t k = data_after(c, pos); pos < end; k++) {
		const struct elf_core_seg *s = k < c->n_data ? data_seg(c, k) : NULL;
		uint64_t gap_end = s ? CK_MIN(s->offset, end) : end;
		uint64_t n;
		ssize_t got;

		if (pos < gap_end) {
			memset(out + (pos - off), 0, gap_end - pos);
			pos = gap_end;
		}
		if (!s || pos >= end)
			break;
		n = CK_MIN(s->offset + s->filesz, end) - pos;
		got = mem_read(c->mem, s->vaddr + (pos - s->offset), out + (pos - off), n);
		if (got < 0)
			return -EIO;
		if ((uint64_t) got < n)
			memset(out + (pos - off) + got, 0, n - got);
		pos += n;
	}
	return (ssize_t) (end - off);
}

int64_t elf_core_seek_data(const struct elf_core *c, uint64_t off)
{
	if (off >= c->size)
		return -ENXIO;
	if (off < c->head_len)
		return (int64_t) off;
	for (size_t k = data_after(c, off); k < c->n_data; k++) {
		const struct elf_core_seg *s = data_seg(c, k);
		uint64_t from = CK_MAX(off, s->offset);
		int64_t v = mem_seek_data(c->mem, s->vaddr + (from - s->offset));

		if (v >= 0 && (uint64_t) v < s->vaddr + s->filesz)
			return (int64_t) (s->offset + ((uint64_t) v - s->vaddr));
	}
	return -ENXIO;
}

int64_t elf_core_seek_hole(const struct elf_core *c, uint64_t off)
{
	uint64_t pos = off;

	if (off >= c->size)
		return -ENXIO;
	pos = CK_MAX(pos, (uint64_t) c->head_len);
	for (size_t k = data_after(c, pos); k < c->n_data; k++) {
		const struct elf_core_seg *s = data_seg(c, k);
		int64_t h;

		if (s->offset > pos)
			break;
		h = mem_seek_hole(c->mem, s->vaddr + (pos - s->offset));
		if (h < 0 || (uint64_t) h < s->vaddr + s->filesz)
			return (int64_t) (h < 0 ? pos : s->offset + ((uint64_t) h - s->vaddr));
		pos = s->offset + s->filesz;
	}
	return (int64_t) CK_MIN(pos, c->size);
}
