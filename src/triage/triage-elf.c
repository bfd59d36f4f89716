/* SPDX-License-Identifier: Apache-2.0 */
/* ELF for triage: a header found in anonymous memory (elf-in-anon), and
 * the nearest dynamic symbol of an original file (modified-code). Only
 * little-endian headers are decoded; a big-endian one is reported as
 * found, without its type and size. */
#include <elf.h>
#include <errno.h>
#include <string.h>

#include "triage-priv.h"

/* The most ELF headers one process reports. */
#define ELF_FINDINGS_MAX 64
/* The most section headers and symbols read from an original file. */
#define ELF_SHNUM_MAX 4096
#define ELF_SYMS_MAX (1u << 20)
/* Symbols read at a time. */
#define ELF_SYM_BLOCK 512

static const char *type_name(uint16_t t)
{
	switch (t) {
	case ET_REL:
		return "relocatable";
	case ET_EXEC:
		return "executable";
	case ET_DYN:
		return "shared object or PIE executable";
	case ET_CORE:
		return "core";
	default:
		return NULL;
	}
}

/* The file size a 64-bit header @h and its program headers (when in
 * @avail bytes of @p) imply: the end of the section headers or of the
 * furthest segment. */
static uint64_t elf64_size(const Elf64_Ehdr *h, const uint8_t *p, size_t avail)
{
	uint64_t size = 0;

	if (h->e_shoff && h->e_shentsize == sizeof(Elf64_Shdr))
		size = h->e_shoff + (uint64_t) h->e_shnum * sizeof(Elf64_Shdr);
	if (h->e_phentsize == sizeof(Elf64_Phdr) && h->e_phoff < avail &&
	    (uint64_t) h->e_phnum * sizeof(Elf64_Phdr) <= avail - h->e_phoff)
		for (size_t i = 0; i < h->e_phnum; i++) {
			Elf64_Phdr ph;

			memcpy(&ph, p + h->e_phoff + i * sizeof(ph), sizeof(ph));
			size = CK_MAX(size, ph.p_offset + ph.p_filesz);
		}
	return size;
}

/* Whether @p holds a whole, plausible ELF header; fills @ret (64-bit, or a
 * 32-bit one widened) and *@ret_size. */
static bool elf_header(const uint8_t *p, size_t avail, Elf64_Ehdr *ret, uint64_t *ret_size)
{
	if (avail < EI_NIDENT || p[EI_VERSION] != EV_CURRENT || p[EI_DATA] != ELFDATA2LSB)
		return false;
	if (p[EI_CLASS] == ELFCLASS64 && avail >= sizeof(Elf64_Ehdr)) {
		memcpy(ret, p, sizeof(*ret));
		if (ret->e_ehsize != sizeof(Elf64_Ehdr) || ret->e_version != EV_CURRENT)
			return false;
		*ret_size = elf64_size(ret, p, avail);
	} else if (p[EI_CLASS] == ELFCLASS32 && avail >= sizeof(Elf32_Ehdr)) {
		Elf32_Ehdr h;

		memcpy(&h, p, sizeof(h));
		if (h.e_ehsize != sizeof(Elf32_Ehdr) || h.e_version != EV_CURRENT)
			return false;
		*ret = (Elf64_Ehdr) { .e_type = h.e_type, .e_machine = h.e_machine };
		*ret_size = h.e_shoff && h.e_shentsize == sizeof(Elf32_Shdr) ?
			    h.e_shoff + (uint64_t) h.e_shnum * sizeof(Elf32_Shdr) : 0;
	} else {
		return false;
	}
	return type_name(ret->e_type) != NULL;
}

size_t tr_elf_mem(struct triage_proc *tp, const struct img_vma *v, uint64_t addr, const uint8_t *p, size_t avail)
{
	struct triage_run *r = tp->r;
	struct triage_finding *f;
	Elf64_Ehdr h = { 0 };
	uint64_t size = 0;
	bool whole;

	if (!v || !tr_vma_anon(v) || v == tp->stack)
		return 0;
	if (avail < 7 || (p[EI_CLASS] != ELFCLASS32 && p[EI_CLASS] != ELFCLASS64) ||
	    (p[EI_DATA] != ELFDATA2LSB && p[EI_DATA] != ELFDATA2MSB) || p[EI_VERSION] != EV_CURRENT)
		return 0;
	if (tp->n_elf++ >= ELF_FINDINGS_MAX)
		return 4;
	whole = elf_header(p, avail, &h, &size);
	f = tr_new(r, TRIAGE_ELF_IN_ANON, whole && (h.e_type == ET_EXEC || h.e_type == ET_DYN) ? TRIAGE_HIGH
											       : TRIAGE_MEDIUM, tp);
	if (!f)
		return 4;
	f->has_address = true;
	f->address = addr;
	tr_vma(tp, f, v);
	tr_excerpt(r, f, addr, p, CK_MIN(avail, (size_t) 64));
	tr_int(r, f, "class", p[EI_CLASS] == ELFCLASS64 ? 64 : 32);
	if (whole) {
		tr_str(r, f, "elf_type", "%s", type_name(h.e_type));
		tr_int(r, f, "machine", h.e_machine);
		if (size)
			tr_int(r, f, "size", (int64_t) size);
		tr_summary(r, f, "an ELF header (%s%s) in %s", type_name(h.e_type), size ? ", with its size" : "",
			   v->status & IMG_VMA_AREA_HEAP ? "the heap" : "anonymous memory");
	} else {
		tr_summary(r, f, "the start of an ELF header (not decoded) in %s",
			   v->status & IMG_VMA_AREA_HEAP ? "the heap" : "anonymous memory");
	}
	return 4;
}

/* ---- the nearest dynamic symbol of an original file ---- */

static int rd(const struct tr_file *f, void *buf, size_t len, uint64_t off)
{
	ssize_t n = f->read(f->ctx, buf, len, off);

	return n < 0 ? (int) n : (size_t) n == len ? 0 : -EBADMSG;
}

/* The virtual address of file offset @off, from the PT_LOAD that maps it. */
static int file_vaddr(const struct tr_file *f, const Elf64_Ehdr *h, uint64_t off, uint64_t *ret)
{
	for (size_t i = 0; i < h->e_phnum && i < ELF_SHNUM_MAX; i++) {
		Elf64_Phdr ph;
		int rc = rd(f, &ph, sizeof(ph), h->e_phoff + i * sizeof(ph));

		if (rc < 0)
			return rc;
		if (ph.p_type == PT_LOAD && ph.p_offset <= off && off - ph.p_offset < ph.p_filesz) {
			*ret = ph.p_vaddr + (off - ph.p_offset);
			return 0;
		}
	}
	return -ENOENT;
}

/* Whether symbol @s at the same value is a better name than the best one
 * (@best_bind, @best_under): global over weak and local, then a name that
 * does not start with '_'. */
static bool better(const Elf64_Sym *s, bool under, int best_bind, bool best_under)
{
	int bind = ELF64_ST_BIND(s->st_info);

	if (bind != best_bind)
		return bind == STB_GLOBAL || (bind == STB_WEAK && best_bind == STB_LOCAL);
	return best_under && !under;
}

int tr_elf_symbol(const struct tr_file *f, uint64_t off, char *name, size_t size, uint64_t *ret_delta)
{
	_cleanup_free_ Elf64_Sym *block = malloc(ELF_SYM_BLOCK * sizeof(*block));
	Elf64_Ehdr h;
	Elf64_Shdr sym, str;
	uint64_t vaddr, best = 0;
	uint32_t best_name = 0;
	int best_bind = -1, rc;
	bool found = false, sym_found = false, best_under = true;

	if (!block)
		return -ENOMEM;
	if ((rc = rd(f, &h, sizeof(h), 0)) < 0)
		return rc;
	if (memcmp(h.e_ident, ELFMAG, SELFMAG) || h.e_ident[EI_CLASS] != ELFCLASS64 ||
	    h.e_ident[EI_DATA] != ELFDATA2LSB || h.e_phentsize != sizeof(Elf64_Phdr) ||
	    h.e_shentsize != sizeof(Elf64_Shdr) || h.e_shnum > ELF_SHNUM_MAX)
		return -EBADMSG;
	if ((rc = file_vaddr(f, &h, off, &vaddr)) < 0)
		return rc;
	for (size_t i = 0; i < h.e_shnum && !sym_found; i++) {
		if ((rc = rd(f, &sym, sizeof(sym), h.e_shoff + i * sizeof(sym))) < 0)
			return rc;
		sym_found = sym.sh_type == SHT_DYNSYM && sym.sh_entsize == sizeof(Elf64_Sym) && sym.sh_link < h.e_shnum;
	}
	if (!sym_found || (rc = rd(f, &str, sizeof(str), h.e_shoff + sym.sh_link * sizeof(str))) < 0)
		return sym_found ? rc : -ENOENT;
	for (uint64_t i = 1; i < sym.sh_size / sizeof(Elf64_Sym) && i < ELF_SYMS_MAX; i++) {
		Elf64_Sym s;
		char c = 0;

		if (i % ELF_SYM_BLOCK == 1 || i == 1) {
			uint64_t k = CK_MIN((uint64_t) ELF_SYM_BLOCK, sym.sh_size / sizeof(Elf64_Sym) - i);

			if ((rc = rd(f, block, (size_t) k * sizeof(s), sym.sh_offset + i * sizeof(s))) < 0)
				return rc;
		}
		s = block[(i - 1) % ELF_SYM_BLOCK];
		if (s.st_shndx == SHN_UNDEF || s.st_value > vaddr || s.st_name >= str.sh_size ||
		    (ELF64_ST_TYPE(s.st_info) != STT_FUNC && ELF64_ST_TYPE(s.st_info) != STT_NOTYPE) ||
		    (found && s.st_value < best))
			continue;
		(void) rd(f, &c, 1, str.sh_offset + s.st_name);
		if (found && s.st_value == best && !better(&s, c == '_', best_bind, best_under))
			continue;
		found = true;
		best = s.st_value;
		best_name = s.st_name;
		best_bind = ELF64_ST_BIND(s.st_info);
		best_under = c == '_';
	}
	if (!found || !size)
		return -ENOENT;
	ssize_t n = f->read(f->ctx, name, size - 1, str.sh_offset + best_name);

	name[n > 0 ? (size_t) n : 0] = '\0';
	name[strnlen(name, size - 1)] = '\0';
	*ret_delta = vaddr - best;
	return 0;
}
