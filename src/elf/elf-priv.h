/* SPDX-License-Identifier: Apache-2.0 */
/* Shared between elf.c (layout, reads) and elf-note.c (PT_NOTE contents). */
#ifndef CK_ELF_PRIV_H
#define CK_ELF_PRIV_H

#include "elf.h"

/* ELF constants. <elf.h> is shadowed by this module's own header, and the
 * values are fixed by the gABI and the Linux core format anyway. */
#define ELF_CLASS64 2
#define ELF_DATA2LSB 1
#define ELF_EV_CURRENT 1
#define ELF_OSABI_NONE 0
#define ELF_ET_CORE 4
#define ELF_EM_X86_64 62
#define ELF_PT_LOAD 1
#define ELF_PT_NOTE 4
#define ELF_PF_X 1
#define ELF_PF_W 2
#define ELF_PF_R 4
#define ELF_PN_XNUM 0xffff
#define ELF_NT_PRSTATUS 1
#define ELF_NT_FPREGSET 2
#define ELF_NT_PRPSINFO 3
#define ELF_NT_AUXV 6
#define ELF_NT_X86_XSTATE 0x202
#define ELF_NT_SIGINFO 0x53494749
#define ELF_NT_FILE 0x46494c45
#define ELF_AT_NULL 0

/* Little-endian stores: the core is ELFDATA2LSB whatever the host is. */
static inline void elf_put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t) v;
	p[1] = (uint8_t) (v >> 8);
}

static inline void elf_put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t) (v >> (8 * i));
}

static inline void elf_put64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t) (v >> (8 * i));
}

/* The threads of @p in note order: the leader (tid == pid) first, then the
 * others in pstree order. Fills @order (p->n_threads entries). */
void elf_thread_order(const struct ckpt_proc *p, const struct ckpt_thread **order);

/* Append the PT_NOTE contents of @p's core to @out, in the kernel's order.
 * Every thread must have a core with registers (checked by the caller).
 * Returns 0 or -ENOMEM. */
int elf_notes_build(const struct ckpt *ck, const struct ckpt_proc *p, struct ck_buf *out);

#endif
