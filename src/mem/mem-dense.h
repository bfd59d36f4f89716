/* SPDX-License-Identifier: Apache-2.0 */
/* /<pid>/pages: the dumped runs of an address space back to back, in address
 * order, so that scanners reading from offset 0 (strings, grep, yara) see
 * every dumped byte and nothing else. Run i of mem_run_at() starts at its
 * dense_off (mem.h). Immutable. */
#ifndef CK_MEM_DENSE_H
#define CK_MEM_DENSE_H

#include "mem.h"

struct mem_dense;

/* Index the runs of @m (borrowed; must outlive the result). Returns 0 or -ENOMEM. */
int mem_dense_new(const struct mem_space *m, struct mem_dense **ret);
void mem_dense_free(struct mem_dense *d);
DEFINE_CLEANUP(mem_dense_freep, struct mem_dense, mem_dense_free)
/* Total size: the number of dumped bytes. */
uint64_t mem_dense_size(const struct mem_dense *d);
/* Copy up to @len bytes at dense offset @off. Returns the count, 0 at the end, or -errno. */
ssize_t mem_dense_read(const struct mem_dense *d, void *buf, size_t len, uint64_t off);
/* [off, off + len) clipped to the end, as extents of the files that hold it
 * (for zero-copy replies); at most @max of them in @ext. Returns the count
 * (0 at the end), -EAGAIN when some byte is not in a file (read it with
 * mem_dense_read()), -ENOBUFS when @max is too small. */
ssize_t mem_dense_extents(const struct mem_dense *d, uint64_t off, size_t len,
			  struct arc_extent *ext, size_t max);
/* The same for the sparse file of @m (mem_read()): holes are fd -1 extents. */
ssize_t mem_space_extents(const struct mem_space *m, uint64_t addr, size_t len,
			  struct arc_extent *ext, size_t max);

#endif
