/* SPDX-License-Identifier: Apache-2.0 */
/* A process address space rebuilt from its pagemap and pages images
 * (IMAGES.md §3): sorted runs of dumped pages, each pointing at an offset of
 * the pages member, found by binary search. Reads are pread()s on the
 * archive; nothing is copied into memory. Immutable once built. */
#ifndef CK_MEM_H
#define CK_MEM_H

#include "arc.h"
#include "img.h"

struct mem_space;

/* One run of dumped pages: [vaddr, vaddr + len) lives at @pages_off in the pages member. */
struct mem_run {
	uint64_t vaddr;
	uint64_t len;
	uint64_t pages_off;
};

/* Build the space of one process. @pages may be NULL when the pages file is
 * missing (then every PRESENT run is an error: -EBADMSG). Entries that run
 * past the pages member, overlap or overflow give -EBADMSG. @mm supplies the
 * VMAs for mem_size(). Returns 0 or -errno. */
int mem_space_new(const struct arc *a, const struct arc_entry *pages, const struct img_pagemap *pm,
		  const struct img_mm *mm, uint64_t page_size, struct mem_space **ret_mem);
void mem_space_free(struct mem_space *m);
DEFINE_CLEANUP(mem_space_freep, struct mem_space, mem_space_free)

/* The size of the `mem` file: the end of the highest VMA that fits in off_t,
 * [vsyscall] excluded. */
uint64_t mem_size(const struct mem_space *m);
/* Copy [addr, addr + len) clipped to mem_size(): dumped bytes where dumped,
 * zeros elsewhere. Returns the byte count or -EIO when the archive read fails. */
ssize_t mem_read(const struct mem_space *m, uint64_t addr, void *buf, size_t len);
/* True when every byte of [addr, addr + len) was dumped. */
bool mem_is_dumped(const struct mem_space *m, uint64_t addr, uint64_t len);
/* SEEK_DATA / SEEK_HOLE semantics over the dumped runs: the first data (or
 * hole) offset >= @off, or -ENXIO when @off >= mem_size() (SEEK_DATA also
 * when no data follows). */
int64_t mem_seek_data(const struct mem_space *m, uint64_t off);
int64_t mem_seek_hole(const struct mem_space *m, uint64_t off);
/* The dumped runs in address order (adjacent runs merged). */
size_t mem_run_count(const struct mem_space *m);
const struct mem_run *mem_run_at(const struct mem_space *m, size_t i);
/* Total dumped bytes. */
uint64_t mem_dumped_bytes(const struct mem_space *m);

#endif
