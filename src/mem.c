/* SPDX-License-Identifier: Apache-2.0 */
/* Process memory as a sparse file. Only PE_PRESENT pagemap entries become
 * runs; PE_PARENT ranges (pre-dump chains, IMAGES.md §3.5) and lazy entries
 * without data read as holes for now, and so does shared memory, which lives
 * in pagemap-shmem images. */
#include <errno.h>
#include <limits.h>
#include <string.h>

#include "mem.h"

struct mem_space {
	const struct arc *arc;
	const struct arc_entry *pages;
	struct mem_run *runs;		/* sorted by vaddr, disjoint, merged */
	size_t n_runs;
	uint64_t size;
	uint64_t dumped;
};

static int run_cmp(const void *a, const void *b)
{
	const struct mem_run *x = a, *y = b;

	return x->vaddr < y->vaddr ? -1 : x->vaddr > y->vaddr;
}

/* Runs in file order with their pages offsets (IMAGES.md §3.1: the offset
 * counter advances over PRESENT entries only). */
static int collect_runs(const struct img_pagemap *pm, uint64_t page_size, uint64_t pages_size,
			struct mem_run **ret, size_t *ret_n)
{
	_cleanup_free_ struct mem_run *runs = NULL;
	uint64_t off = 0;
	size_t n = 0;

	runs = calloc(pm->n_entries ? pm->n_entries : 1, sizeof(*runs));
	if (!runs)
		return -ENOMEM;
	for (size_t i = 0; i < pm->n_entries; i++) {
		const struct img_pagemap_entry *e = &pm->entries[i];
		uint64_t len;

		if (!(e->flags & IMG_PE_PRESENT) || e->nr_pages == 0)
			continue;
		if (e->nr_pages > UINT64_MAX / page_size)
			return -EBADMSG;
		len = e->nr_pages * page_size;
		if (e->vaddr > UINT64_MAX - len || len > pages_size || off > pages_size - len)
			return -EBADMSG;
		runs[n++] = (struct mem_run) { .vaddr = e->vaddr, .len = len, .pages_off = off };
		off += len;
	}
	*ret = TAKE_PTR(runs);
	*ret_n = n;
	return 0;
}

/* Sort, reject overlaps, and merge runs adjacent both in memory and in the
 * pages member. */
static int normalise_runs(struct mem_run *runs, size_t *n)
{
	size_t out = 0;

	qsort(runs, *n, sizeof(*runs), run_cmp);
	for (size_t i = 0; i < *n; i++) {
		struct mem_run *last = out ? &runs[out - 1] : NULL;

		if (last && runs[i].vaddr < last->vaddr + last->len)
			return -EBADMSG;
		if (last && runs[i].vaddr == last->vaddr + last->len &&
		    runs[i].pages_off == last->pages_off + last->len) {
			last->len += runs[i].len;
			continue;
		}
		runs[out++] = runs[i];
	}
	*n = out;
	return 0;
}

/* End of the highest VMA a file offset can reach; [vsyscall] lacks
 * VMA_AREA_REGULAR and lies above INT64_MAX anyway. Dumped runs count too,
 * so that no dumped byte is out of reach when the VMAs are missing. */
static uint64_t space_size(const struct img_mm *mm, const struct mem_run *runs, size_t n)
{
	uint64_t size = 0;

	for (size_t i = 0; mm && i < mm->n_vmas; i++) {
		const struct img_vma *v = &mm->vmas[i];

		if (!(v->status & IMG_VMA_AREA_REGULAR) || v->end > (uint64_t) INT64_MAX)
			continue;
		size = CK_MAX(size, v->end);
	}
	for (size_t i = 0; i < n; i++) {
		uint64_t end = runs[i].vaddr + runs[i].len;

		if (end <= (uint64_t) INT64_MAX)
			size = CK_MAX(size, end);
	}
	return size;
}

int mem_space_new(const struct arc *a, const struct arc_entry *pages, const struct img_pagemap *pm,
		  const struct img_mm *mm, uint64_t page_size, struct mem_space **ret_mem)
{
	_cleanup_(mem_space_freep) struct mem_space *m = NULL;
	int rc;

	if (page_size == 0)
		page_size = 4096;
	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	m->arc = a;
	m->pages = pages;
	rc = collect_runs(pm, page_size, pages ? pages->size : 0, &m->runs, &m->n_runs);
	if (rc < 0)
		return rc;
	rc = normalise_runs(m->runs, &m->n_runs);
	if (rc < 0)
		return rc;
	for (size_t i = 0; i < m->n_runs; i++)
		m->dumped += m->runs[i].len;
	m->size = space_size(mm, m->runs, m->n_runs);
	*ret_mem = TAKE_PTR(m);
	return 0;
}

void mem_space_free(struct mem_space *m)
{
	if (!m)
		return;
	free(m->runs);
	free(m);
}

uint64_t mem_size(const struct mem_space *m)
{
	return m->size;
}

/* Index of the first run that ends after @addr, or n_runs. */
static size_t run_after(const struct mem_space *m, uint64_t addr)
{
	size_t lo = 0, hi = m->n_runs;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct mem_run *r = &m->runs[mid];

		if (r->vaddr + r->len <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

ssize_t mem_read(const struct mem_space *m, uint64_t addr, void *buf, size_t len)
{
	uint8_t *out = buf;
	uint64_t end, pos;
	size_t i;

	if (addr >= m->size)
		return 0;
	len = CK_MIN(len, (size_t) SSIZE_MAX);
	end = addr + CK_MIN((uint64_t) len, m->size - addr);
	pos = addr;
	for (i = run_after(m, addr); pos < end; i++) {
		const struct mem_run *r = i < m->n_runs ? &m->runs[i] : NULL;
		uint64_t hole_end = r ? CK_MIN(r->vaddr, end) : end;
		uint64_t n, skip;
		ssize_t got;

		if (pos < hole_end) {
			memset(out + (pos - addr), 0, hole_end - pos);
			pos = hole_end;
		}
		if (!r || pos >= end)
			break;
		skip = pos - r->vaddr;
		n = CK_MIN(r->vaddr + r->len, end) - pos;
		got = arc_pread(m->arc, m->pages, out + (pos - addr), n, r->pages_off + skip);
		if (got < 0 || (uint64_t) got != n)
			return -EIO;
		pos += n;
	}
	return (ssize_t) (end - addr);
}

bool mem_is_dumped(const struct mem_space *m, uint64_t addr, uint64_t len)
{
	uint64_t pos = addr, end;

	if (len == 0)
		return true;
	if (addr > UINT64_MAX - len)
		return false;
	end = addr + len;
	for (size_t i = run_after(m, addr); i < m->n_runs && pos < end; i++) {
		if (m->runs[i].vaddr > pos)
			return false;
		pos = m->runs[i].vaddr + m->runs[i].len;
	}
	return pos >= end;
}

int64_t mem_seek_data(const struct mem_space *m, uint64_t off)
{
	size_t i;

	if (off >= m->size)
		return -ENXIO;
	i = run_after(m, off);
	if (i == m->n_runs || m->runs[i].vaddr >= m->size)
		return -ENXIO;
	return (int64_t) CK_MAX(off, m->runs[i].vaddr);
}

int64_t mem_seek_hole(const struct mem_space *m, uint64_t off)
{
	uint64_t pos = off;

	if (off >= m->size)
		return -ENXIO;
	/* Runs that touch but were not merged (pages not contiguous) are one data extent. */
	for (size_t i = run_after(m, off); i < m->n_runs && m->runs[i].vaddr <= pos; i++)
		pos = m->runs[i].vaddr + m->runs[i].len;
	return (int64_t) CK_MIN(pos, m->size);
}

size_t mem_run_count(const struct mem_space *m)
{
	return m->n_runs;
}

const struct mem_run *mem_run_at(const struct mem_space *m, size_t i)
{
	return i < m->n_runs ? &m->runs[i] : NULL;
}

uint64_t mem_dumped_bytes(const struct mem_space *m)
{
	return m->dumped;
}
