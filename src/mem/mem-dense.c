/* SPDX-License-Identifier: Apache-2.0 */
/* The dense view of an address space: every dumped run back to back in
 * address order, as /<pid>/pages shows it. Built from the public mem_ API. */
#include <errno.h>
#include <string.h>

#include "mem-dense.h"

struct mem_dense {
	const struct mem_space *m;
	uint64_t size;
};

int mem_dense_new(const struct mem_space *m, struct mem_dense **ret)
{
	struct mem_dense *d = calloc(1, sizeof(*d));
	size_t n = mem_run_count(m);

	if (!d)
		return -ENOMEM;
	d->m = m;
	if (n)
		d->size = mem_run_at(m, n - 1)->dense_off + mem_run_at(m, n - 1)->len;
	*ret = d;
	return 0;
}

void mem_dense_free(struct mem_dense *d)
{
	free(d);
}

uint64_t mem_dense_size(const struct mem_dense *d)
{
	return d->size;
}

ssize_t mem_dense_read(const struct mem_dense *d, void *buf, size_t len, uint64_t off)
{
	size_t done = 0;

	if (off >= d->size)
		return 0;
	len = (size_t) CK_MIN((uint64_t) len, d->size - off);
	for (size_t i = mem_run_at_dense(d->m, off); done < len && i < mem_run_count(d->m); i++) {
		const struct mem_run *r = mem_run_at(d->m, i);
		ssize_t got = mem_run_read(r, off + done - r->dense_off, (char *) buf + done, len - done);

		if (got <= 0)
			return got < 0 ? got : -EIO;
		done += (size_t) got;
	}
	return (ssize_t) done;
}

/* Append [pos, pos + n) of run @r (or n zeros when @r is NULL) to @ext,
 * merging with the previous extent when contiguous. */
static int ext_push(const struct mem_run *r, uint64_t pos, uint64_t n, struct arc_extent *ext,
		    size_t *count, size_t max)
{
	struct arc_extent x = { .fd = -1, .len = n };
	int rc;

	if (r) {
		rc = arc_extent_at(r->arc, r->pages, r->pages_off + (pos - r->vaddr), n, &x);
		if (rc < 0)
			return rc;
		if (x.len != n)
			return -EAGAIN;	/* the member ends early: let the read path fail */
	}
	if (*count && ext[*count - 1].fd == x.fd &&
	    (x.fd < 0 || ext[*count - 1].off + ext[*count - 1].len == x.off)) {
		ext[*count - 1].len += n;
		return 0;
	}
	if (*count == max)
		return -ENOBUFS;
	ext[(*count)++] = x;
	return 0;
}

ssize_t mem_dense_extents(const struct mem_dense *d, uint64_t off, size_t len,
			  struct arc_extent *ext, size_t max)
{
	uint64_t done = 0;
	size_t count = 0;
	int rc;

	if (off >= d->size)
		return 0;
	len = (size_t) CK_MIN((uint64_t) len, d->size - off);
	for (size_t i = mem_run_at_dense(d->m, off); done < len && i < mem_run_count(d->m); i++) {
		const struct mem_run *r = mem_run_at(d->m, i);
		uint64_t in = off + done - r->dense_off;
		uint64_t chunk = CK_MIN((uint64_t) len - done, r->len - in);

		rc = ext_push(r, r->vaddr + in, chunk, ext, &count, max);
		if (rc < 0)
			return rc;
		done += chunk;
	}
	return done == len ? (ssize_t) count : -EAGAIN;
}

ssize_t mem_space_extents(const struct mem_space *m, uint64_t addr, size_t len,
			  struct arc_extent *ext, size_t max)
{
	size_t lo, count = 0;
	uint64_t end, pos = addr;
	int rc;

	if (addr >= mem_size(m))
		return 0;
	end = addr + CK_MIN((uint64_t) len, mem_size(m) - addr);
	lo = mem_run_after(m, addr);
	for (size_t i = lo; pos < end; i++) {
		const struct mem_run *r = mem_run_at(m, i);	/* NULL past the last */
		uint64_t hole_end = r ? CK_MIN(r->vaddr, end) : end;

		if (pos < hole_end) {
			rc = ext_push(NULL, pos, hole_end - pos, ext, &count, max);
			if (rc < 0)
				return rc;
			pos = hole_end;
		}
		if (!r || pos >= end)
			break;
		rc = ext_push(r, pos, CK_MIN(r->vaddr + r->len, end) - pos, ext, &count, max);
		if (rc < 0)
			return rc;
		pos = CK_MIN(r->vaddr + r->len, end);
	}
	return (ssize_t) count;
}
