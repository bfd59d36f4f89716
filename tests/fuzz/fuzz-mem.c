/* SPDX-License-Identifier: Apache-2.0 */
/* Address spaces: mem_space_build() over fuzzed pagemaps, VMAs, page sizes,
 * pre-dump levels and shared objects, against pages files of fixed sizes
 * whose bytes depend on their offset; then reads, SEEK_DATA/SEEK_HOLE and
 * the run list, checking every dumped byte against the pages file. The
 * pagemap protobuf itself is fuzz-img's business: here entries come straight
 * from the input, so counts and addresses are arbitrary.
 *   byte 0: bits 0-2 pages file, bit 3 mm, bit 4 second level, bit 5 shared
 *           object, bits 6-7 page size (0 inferred, 4096, 8192, 65536)
 *   then: level-0 pagemap, VMAs, level-1 pagemap, object pagemap (each a
 *   count byte and 17-byte entries vaddr:u64 nr_pages:u64 flags:u8, or
 *   16-byte VMAs start:u64 end:u64 plus a status byte), then reads
 *   (addr:u64 len:u16) until the input ends. */
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "fuzz.h"
#include "mem.h"

static const uint64_t fuzz_pages_sizes[] = { 0, 4096, 3 * 4096, 16 * 4096, 5000, 8192 + 100, 65536 * 2, 4096 };

static struct arc *fuzz_arc;
static char fuzz_dir[64];

static uint8_t fuzz_pattern(uint64_t off)
{
	return (uint8_t) (off ^ (off >> 8) ^ (off >> 16) ^ 0x5a);
}

static void fuzz_cleanup(void)
{
	char p[128];

	arc_free(fuzz_arc);
	for (size_t i = 0; i < sizeof(fuzz_pages_sizes) / sizeof(fuzz_pages_sizes[0]); i++) {
		snprintf(p, sizeof(p), "%s/pages-%zu.img", fuzz_dir, i);
		unlink(p);
	}
	rmdir(fuzz_dir);
}

static void fuzz_setup(void)
{
	char p[128], *err = NULL;
	uint8_t buf[4096];

	snprintf(fuzz_dir, sizeof(fuzz_dir), "%s/ckptfs-fuzz-mem.XXXXXX", "/tmp");
	if (!mkdtemp(fuzz_dir))
		fuzz_fail("mkdtemp");
	for (size_t i = 0; i < sizeof(fuzz_pages_sizes) / sizeof(fuzz_pages_sizes[0]); i++) {
		int fd;

		snprintf(p, sizeof(p), "%s/pages-%zu.img", fuzz_dir, i);
		fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		if (fd < 0)
			fuzz_fail("create %s", p);
		for (uint64_t off = 0; off < fuzz_pages_sizes[i]; off += sizeof(buf)) {
			size_t n = (size_t) CK_MIN((uint64_t) sizeof(buf), fuzz_pages_sizes[i] - off);

			for (size_t k = 0; k < n; k++)
				buf[k] = fuzz_pattern(off + k);
			if (write(fd, buf, n) != (ssize_t) n)
				fuzz_fail("write %s", p);
		}
		close(fd);
	}
	if (arc_open(fuzz_dir, NULL, &fuzz_arc, &err) < 0)
		fuzz_fail("arc_open %s: %s", fuzz_dir, err ? err : "?");
	atexit(fuzz_cleanup);
}

struct fuzz_in {
	const uint8_t *p;
	size_t n;
};

static uint64_t take(struct fuzz_in *in, size_t bytes)
{
	uint64_t v = 0;

	for (size_t i = 0; i < bytes; i++) {
		if (in->n == 0)
			return v;
		v |= (uint64_t) in->p[0] << (8 * i);
		in->p++;
		in->n--;
	}
	return v;
}

static void take_pagemap(struct fuzz_in *in, struct img_pagemap *pm, struct img_pagemap_entry *e, size_t max)
{
	size_t n = take(in, 1) % (max + 1);

	for (size_t i = 0; i < n; i++) {
		e[i].vaddr = take(in, 8);
		e[i].nr_pages = take(in, 8);
		e[i].flags = take(in, 1) & (IMG_PE_PARENT | IMG_PE_LAZY | IMG_PE_PRESENT);
	}
	pm->entries = e;
	pm->n_entries = n;
}

static void fuzz_check_space(const struct mem_space *m, struct fuzz_in *in)
{
	static uint8_t buf[65536 + 1];
	uint64_t size = mem_size(m), prev_end = 0;

	for (size_t i = 0; i < mem_run_count(m); i++) {
		const struct mem_run *r = mem_run_at(m, i);
		uint64_t n;
		ssize_t got;

		if (r->len == 0 || r->vaddr + r->len < r->vaddr)
			fuzz_fail("run %zu empty or wrapping", i);
		if (i > 0 && r->vaddr < prev_end)
			fuzz_fail("run %zu overlaps its predecessor", i);
		prev_end = r->vaddr + r->len;
		if (r->pages_off + r->len > r->pages->size || r->pages_off + r->len < r->pages_off)
			fuzz_fail("run %zu past its pages file", i);
		if (r->vaddr >= size)
			continue;
		n = CK_MIN(CK_MIN(r->len, size - r->vaddr), (uint64_t) 4096);
		got = mem_read(m, r->vaddr, buf, (size_t) n);
		if (got != (ssize_t) n)
			fuzz_fail("mem_read of run %zu: %zd, want %llu", i, got, (unsigned long long) n);
		for (uint64_t k = 0; k < n; k++)
			if (buf[k] != fuzz_pattern(r->pages_off + k))
				fuzz_fail("run %zu byte %llu differs from its pages file", i, (unsigned long long) k);
		if (!mem_is_dumped(m, r->vaddr, n))
			fuzz_fail("run %zu not reported dumped", i);
	}
	for (size_t i = 0; i < mem_missing_count(m); i++)
		(void) mem_missing_at(m, i);
	(void) mem_dumped_bytes(m);
	(void) mem_page_size(m);
	while (in->n > 0) {
		uint64_t addr = take(in, 8);
		size_t len = take(in, 2) + 1;
		ssize_t got = mem_read(m, addr, buf, len);
		int64_t d, h;

		if (got < -4096 || got > (ssize_t) len)
			fuzz_fail("mem_read returned %zd for %zu bytes", got, len);
		if (got >= 0 && addr < size && (uint64_t) got != CK_MIN((uint64_t) len, size - addr))
			fuzz_fail("mem_read short: %zd", got);
		(void) mem_is_dumped(m, addr, len);
		d = mem_seek_data(m, addr);
		h = mem_seek_hole(m, addr);
		if ((d >= 0 && (uint64_t) d < addr) || (h >= 0 && (uint64_t) h < addr))
			fuzz_fail("seek went backwards");
		if (h >= 0 && (uint64_t) h > size)
			fuzz_fail("SEEK_HOLE past the end");
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint64_t psz[] = { 0, 4096, 8192, 65536 };
	static struct img_pagemap_entry e0[64], e1[64], eo[64];
	static struct img_vma vmas[32];
	struct fuzz_in in = { data, size };
	struct img_pagemap pm0 = { 0 }, pm1 = { 0 }, pmo = { 0 };
	struct img_mm mm = { 0 };
	struct mem_level lv[2], olv;
	const struct mem_space *shared[32] = { 0 };
	struct mem_space *obj = NULL, *m = NULL;
	struct mem_spec spec = { 0 };
	const struct arc_entry *pages, *pages1;
	char name[32];
	unsigned flags;
	size_t nv;

	if (!fuzz_arc)
		fuzz_setup();
	if (size < 1)
		return 0;
	flags = (unsigned) take(&in, 1);
	snprintf(name, sizeof(name), "pages-%u.img", flags & 7);
	pages = arc_find(fuzz_arc, name);
	snprintf(name, sizeof(name), "pages-%u.img", (flags + 3) & 7);
	pages1 = arc_find(fuzz_arc, name);

	take_pagemap(&in, &pm0, e0, 64);
	nv = take(&in, 1) % 33;
	for (size_t i = 0; i < nv; i++) {
		vmas[i] = (struct img_vma) { 0 };
		vmas[i].start = take(&in, 8);
		vmas[i].end = take(&in, 8);
		vmas[i].status = IMG_VMA_AREA_REGULAR | ((take(&in, 1) & 3u) << 8);	/* ANON_SHARED / ANON_PRIVATE */
		vmas[i].shmid = 1;
	}
	mm.vmas = vmas;
	mm.n_vmas = nv;
	take_pagemap(&in, &pm1, e1, 64);
	take_pagemap(&in, &pmo, eo, 64);

	lv[0] = (struct mem_level) { .arc = fuzz_arc, .pages = pages, .pm = &pm0 };
	lv[1] = (struct mem_level) { .arc = fuzz_arc, .pages = pages1, .pm = &pm1 };
	if (flags & 0x20) {
		olv = (struct mem_level) { .arc = fuzz_arc, .pages = pages1, .pm = &pmo };
		if (mem_object_new(&olv, 1, take(&in, 4), psz[flags >> 6], &obj) == 0) {
			for (size_t i = 0; i < nv; i++)
				if (vmas[i].status & IMG_VMA_ANON_SHARED)
					shared[i] = obj;
			fuzz_check_space(obj, &(struct fuzz_in) { 0 });
		}
	}
	spec.levels = lv;
	spec.n_levels = (flags & 0x10) ? 2 : 1;
	spec.mm = (flags & 0x08) ? &mm : NULL;
	spec.shared = (flags & 0x08) && obj ? shared : NULL;
	spec.page_size = psz[flags >> 6];
	(void) mem_infer_page_size(&pm0, pages ? pages->size : 0);
	if (mem_space_build(&spec, &m) == 0) {
		fuzz_check_space(m, &in);
		mem_space_free(m);
	}
	if (mem_space_new(fuzz_arc, (flags & 0x10) ? NULL : pages, &pm0, spec.mm, spec.page_size, &m) == 0)
		mem_space_free(m);
	mem_space_free(obj);
	return 0;
}
