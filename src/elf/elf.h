/* SPDX-License-Identifier: Apache-2.0 */
/* An ELF core file of one checkpointed process, as the kernel would have
 * written it at dump time (docs/formats.md §4): ELF header, program headers, one
 * PT_NOTE (NT_PRSTATUS, NT_PRPSINFO, NT_AUXV, NT_FILE, NT_FPREGSET,
 * NT_X86_XSTATE, ...) and PT_LOADs covering every VMA. Only the header and
 * notes are kept in memory; segment bytes are read from the process memory
 * (mem_read()) on each request. Bytes whose content is unknown (file pages
 * never dumped, [vvar], PROT_NONE) sit in PT_LOADs with p_filesz 0; anonymous
 * pages that were never dumped read as zeros and are holes of the sparse
 * file. Immutable once built, so reads need no locks. */
#ifndef CK_ELF_H
#define CK_ELF_H

#include "ckpt.h"

struct elf_core;

/* Build the core of @p. Returns 0, -ENOENT when @p has no address space
 * (zombie, no mm-<pid>.img), -EOPNOTSUPP for an architecture other than
 * x86-64 (compat tasks included), -EIO when an image the core needs (core of
 * a thread, mm, pagemap) is damaged, -EFBIG when the layout does not fit in
 * off_t, -ENOMEM. The result borrows @ck and @p, which must outlive it. */
int elf_core_new(const struct ckpt *ck, const struct ckpt_proc *p, struct elf_core **ret_core);
void elf_core_free(struct elf_core *c);
DEFINE_CLEANUP(elf_core_freep, struct elf_core, elf_core_free)

/* The exact size of the core file in bytes. */
uint64_t elf_core_size(const struct elf_core *c);
/* The bytes that are data for elf_core_seek_data() (headers, notes, dumped
 * pages), for st_blocks. */
uint64_t elf_core_allocated(const struct elf_core *c);
/* Copy up to @len bytes at file offset @off into @buf. Returns the byte
 * count (0 at or past the end), or -EIO when the archive read fails. */
ssize_t elf_core_read(const struct elf_core *c, void *buf, size_t len, uint64_t off);
/* SEEK_DATA / SEEK_HOLE over the file: the first data (hole) offset >= @off;
 * -ENXIO when @off >= elf_core_size() (SEEK_DATA also when no data follows).
 * Data means the header, the notes and dumped pages; zero-filled pages and
 * padding are holes, and there is always a hole at the end of the file. */
int64_t elf_core_seek_data(const struct elf_core *c, uint64_t off);
int64_t elf_core_seek_hole(const struct elf_core *c, uint64_t off);

/* PT_LOAD count and table, for tests and tools. */
struct elf_core_seg {
	uint64_t vaddr, memsz;
	uint64_t offset, filesz;	/* filesz is 0 or memsz */
	uint32_t flags;			/* PF_R | PF_W | PF_X */
};
size_t elf_core_seg_count(const struct elf_core *c);
const struct elf_core_seg *elf_core_seg_at(const struct elf_core *c, size_t i);

#endif
