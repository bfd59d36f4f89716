/* SPDX-License-Identifier: Apache-2.0 */
/* Queries on a built address space: reads, SEEK_DATA/SEEK_HOLE and the run
 * and missing-range lists. Construction lives in mem-build.c. */
#include <errno.h>
#include <limits.h>
#include <string.h>

#include "mem-priv.h"

void mem_space_free(struct mem_space *m)
{
	if (!m)
		return;
	free(m->runs);
	free(m->missing);
	free(m->missing_runs);
	free(m);
}

uint64_t mem_page_size(const struct mem_space *m)
{
	return m->page_size;
}

uint64_t mem_size(const struct mem_space *m)
{
	return m->size;
}

static uint64_t run_end(const void *ctx, size_t i)
{
	const struct mem_run *r = ctx;

	return r[i].vaddr + r[i].len;
}

size_t mem_run_after(const struct mem_space *m, uint64_t addr)
{
	return ck_first_ending_after(m->n_runs, run_end, m->runs, addr);
}

static uint64_t missing_end(const void *ctx, size_t i)
{
	const struct mem_range *r = ctx;

	return r[i].vaddr + r[i].len;
}

size_t mem_missing_after(const struct mem_space *m, uint64_t addr)
{
	return ck_first_ending_after(m->n_missing, missing_end, m->missing, addr);
}

static uint64_t run_dense_end(const void *ctx, size_t i)
{
	const struct mem_run *r = ctx;

	return r[i].dense_off + r[i].len;
}

size_t mem_run_at_dense(const struct mem_space *m, uint64_t off)
{
	return ck_first_ending_after(m->n_runs, run_dense_end, m->runs, off);
}

ssize_t mem_run_read(const struct mem_run *r, uint64_t in, void *buf, size_t len)
{
	ssize_t got;

	if (in >= r->len)
		return 0;
	len = (size_t) CK_MIN((uint64_t) len, r->len - in);
	got = arc_pread(r->arc, r->pages, buf, len, r->pages_off + in);
	return got < 0 || (size_t) got != len ? -EIO : (ssize_t) len;
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
	for (i = mem_run_after(m, addr); pos < end; i++) {
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
		got = mem_run_read(r, skip, out + (pos - addr), n);
		if (got < 0)
			return got;
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
	for (size_t i = mem_run_after(m, addr); i < m->n_runs && pos < end; i++) {
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
	i = mem_run_after(m, off);
	if (i == m->n_runs || m->runs[i].vaddr >= m->size)
		return -ENXIO;
	return (int64_t) CK_MAX(off, m->runs[i].vaddr);
}

int64_t mem_seek_hole(const struct mem_space *m, uint64_t off)
{
	uint64_t pos = off;

	if (off >= m->size)
		return -ENXIO;
	/* Runs that touch but were not merged (other source) are one data extent. */
	for (size_t i = mem_run_after(m, off); i < m->n_runs && m->runs[i].vaddr <= pos; i++)
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

uint64_t mem_dumped_range(const struct mem_space *m, uint64_t start, uint64_t end)
{
	uint64_t total = 0;

	for (size_t i = mem_run_after(m, start); i < mem_run_count(m); i++) {
		const struct mem_run *r = mem_run_at(m, i);
		uint64_t a = CK_MAX(r->vaddr, start), b = CK_MIN(r->vaddr + r->len, end);

		if (r->vaddr >= end)
			break;
		if (b > a)
			total += b - a;
	}
	return total;
}

size_t mem_missing_count(const struct mem_space *m)
{
	return m->n_missing;
}

const struct mem_range *mem_missing_at(const struct mem_space *m, size_t i)
{
	return i < m->n_missing ? &m->missing[i] : NULL;
}
