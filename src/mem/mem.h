/* SPDX-License-Identifier: Apache-2.0 */
/* Address spaces rebuilt from pagemap and pages images (docs/formats.md §3): sorted
 * runs of dumped pages, each pointing at an offset of some pages member of
 * some archive, found by binary search. One space can combine the process's
 * own pages, the pages of shared-memory objects it maps (pagemap-shmem) and
 * pages inherited from parent checkpoints (pre-dump chains, §3.5). Reads
 * are pread()s on the archives; nothing is copied into memory. Immutable
 * once built; every archive a run names must outlive the space. */
#ifndef CK_MEM_H
#define CK_MEM_H

#include "arc.h"
#include "img.h"

struct mem_space;

/* One run of dumped pages: [vaddr, vaddr + len) lives at @pages_off in the
 * member @pages of @arc. In an object space (mem_object_new()) vaddr is an
 * offset inside the object. */
struct mem_run {
	uint64_t vaddr;
	uint64_t len;
	uint64_t dense_off;	/* where the run starts in /<pid>/pages (mem-dense.h):
				 * the sum of the lengths of the runs before it */
	uint64_t pages_off;
	const struct arc *arc;
	const struct arc_entry *pages;
};

/* A byte range [vaddr, vaddr + len). */
struct mem_range {
	uint64_t vaddr;
	uint64_t len;
};

/* One level of a pre-dump chain for one pagemap image: level 0 is the
 * checkpoint itself, level 1 its parent, and so on. */
struct mem_level {
	const struct arc *arc;
	const struct arc_entry *pages;	/* pages-<pages_id>.img; NULL when missing */
	const struct img_pagemap *pm;	/* NULL when the level lacks this pagemap */
};

/* What a process space is built from. */
struct mem_spec {
	const struct mem_level *levels;	/* levels[0].pm is required */
	size_t n_levels;
	const struct img_mm *mm;	/* VMAs for mem_size() and shared mappings; may be NULL */
	/* Per VMA of @mm (n_vmas entries, or NULL): the object space
	 * (mem_object_new()) the VMA maps, or NULL. Its pages show through
	 * wherever the process pagemap has no entry. Only read during the build. */
	const struct mem_space *const *shared;
	uint64_t page_size;		/* 0: 4096 */
};

/* Build a process space. PRESENT entries of level 0 give runs; PARENT ones
 * are looked up level by level (a parent entry may be PARENT again); what no
 * level holds stays a hole and is listed by mem_missing_at(). Shared VMAs
 * then fill the pages the process pagemap does not cover from their object
 * at vma.pgoff + (addr - vma.start). Level 0 entries that run past its pages
 * member, overlap or overflow give -EBADMSG; a damaged parent level only
 * makes its ranges missing. Returns 0 or -errno. */
int mem_space_build(const struct mem_spec *spec, struct mem_space **ret_mem);

/* mem_space_build() with a single level and no shared objects. @pages may be
 * NULL when the pages file is missing (then every PRESENT run is an error:
 * -EBADMSG). */
int mem_space_new(const struct arc *a, const struct arc_entry *pages, const struct img_pagemap *pm,
		  const struct img_mm *mm, uint64_t page_size, struct mem_space **ret_mem);

/* Build the space of a shared-memory object (memfd, shared anonymous or SysV
 * segment) from its pagemap-shmem chain: offsets are object offsets and
 * mem_size() is @size. Runs are kept whole even past @size, so that a mapping
 * sees the full dumped pages. Same errors as mem_space_build(). */
int mem_object_new(const struct mem_level *levels, size_t n_levels, uint64_t size, uint64_t page_size,
		   struct mem_space **ret_mem);

void mem_space_free(struct mem_space *m);
DEFINE_CLEANUP(mem_space_freep, struct mem_space, mem_space_free)

/* The page size of @pm's pages as stored: Σ PRESENT nr_pages must divide
 * @pages_size into a power of two between 4 KiB and 1 MiB. Returns it, or 0
 * when it cannot be told (no PRESENT pages, or sizes that do not fit). */
uint64_t mem_infer_page_size(const struct img_pagemap *pm, uint64_t pages_size);

/* The page size the space was built with. */
uint64_t mem_page_size(const struct mem_space *m);
/* The size of the `mem` file: the end of the highest VMA that fits in off_t,
 * [vsyscall] excluded; for an object, its size. */
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
/* The dumped runs in address order (adjacent runs of one source merged). */
size_t mem_run_count(const struct mem_space *m);
const struct mem_run *mem_run_at(const struct mem_space *m, size_t i);
/* Index of the first run that ends after @addr (binary search), or mem_run_count(). */
size_t mem_run_after(const struct mem_space *m, uint64_t addr);
/* Index of the run holding /<pid>/pages offset @off (dense_off), or mem_run_count(). */
size_t mem_run_at_dense(const struct mem_space *m, uint64_t off);
/* Copy up to @len bytes of run @r from @in bytes into it. Returns the count,
 * 0 past its end, -EIO when the pages image holds less than it should. */
ssize_t mem_run_read(const struct mem_run *r, uint64_t in, void *buf, size_t len);
/* Total dumped bytes (below mem_size() for an object). */
uint64_t mem_dumped_bytes(const struct mem_space *m);
/* Dumped bytes within [start, end). */
uint64_t mem_dumped_range(const struct mem_space *m, uint64_t start, uint64_t end);
/* Ranges the images say were dumped in a parent checkpoint that was not
 * given or does not hold them: holes in mem_read(), in address order,
 * merged. Borrowed from @m. */
size_t mem_missing_count(const struct mem_space *m);
const struct mem_range *mem_missing_at(const struct mem_space *m, size_t i);
/* Index of the first missing range that ends after @addr, or mem_missing_count(). */
size_t mem_missing_after(const struct mem_space *m, uint64_t addr);

#endif
