/* SPDX-License-Identifier: Apache-2.0 */
/* Shared by ckpt.c (processes, files) and ckpt-mem.c (memory, shared
 * objects, pre-dump chains). */
#ifndef CK_CKPT_PRIV_H
#define CK_CKPT_PRIV_H

#include "ckpt.h"


/* A loaded image: borrowed from the archive index or owned. */
struct ckpt_blob {
	struct ck_blob b;
	void *owned;
};
void ckpt_blob_done(struct ckpt_blob *ib);

/* The regular member @dir/@name of @a (@dir "" for the root), or NULL. */
const struct arc_entry *ckpt_find_image_in(const struct arc *a, const char *dir, const char *name);
/* Load it. Returns 0, -ENOENT when absent, -EBADMSG when too large, or another -errno. */
int ckpt_load_image_in(const struct arc *a, const char *dir, const char *name, struct ckpt_blob *ret);

/* Pages of @child's entries kept in the parent (PE_PARENT without
 * PE_PRESENT), in *@ret_wanted, and how many of them @parent's entries
 * (NULL: none) do not cover, in *@ret_missing; pages of @ps bytes
 * (ckpt-fit.c). 0 or -ENOMEM. */
int ckpt_fit_pages(const struct img_pagemap *child, const struct img_pagemap *parent, uint64_t ps,
		   uint64_t *ret_wanted, uint64_t *ret_missing);
/* Whether level @k (>= 1) of the chain fits pid @pid's pagemap @child of
 * level @k - 1: its pstree.img has @pid, its pagemap @parent (NULL when it
 * has none) covers the pages kept there. The first misfit, the nearest
 * level, goes to ck->fit_*. 0 or -ENOMEM. */
int ckpt_fit_level(struct ckpt *ck, const struct ckpt_opts *opts, size_t k, uint32_t pid,
		   const struct img_pagemap *child, const struct img_pagemap *parent, uint64_t ps);

/* Follow the pre-dump chain, build the shared objects and every process
 * space, and settle the page sizes. Only -ENOMEM is fatal; anything else
 * lands in the *_err fields. */
int ckpt_load_memory(struct ckpt *ck, const struct ckpt_opts *opts);
/* Free what ckpt_load_memory() added to @ck (not the process spaces). */
void ckpt_memory_done(struct ckpt *ck);

#endif
