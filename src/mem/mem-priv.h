/* SPDX-License-Identifier: Apache-2.0 */
/* The inside of struct mem_space, shared by mem.c (queries) and
 * mem-build.c (construction). */
#ifndef CK_MEM_PRIV_H
#define CK_MEM_PRIV_H

#include "mem.h"

struct mem_space {
	struct mem_run *runs;		/* sorted by vaddr, disjoint, merged */
	size_t n_runs;
	struct mem_range *missing;	/* sorted, disjoint, merged */
	struct mem_run *missing_runs;	/* the same as bare runs, for mapping objects */
	size_t n_missing;
	uint64_t size;
	uint64_t dumped;
	uint64_t page_size;
};

#endif
