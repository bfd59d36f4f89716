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
/* The directory of inventory.img in @a: "checkpoint" when there, else the
 * shallowest one. Returns 0 (malloc'ed in @ret), -ARC_ENOTCKPT or -ENOMEM. */
int ckpt_find_img_dir(const struct arc *a, char **ret);

/* Follow the pre-dump chain, build the shared objects and every process
 * space, and settle the page sizes. Only -ENOMEM is fatal; anything else
 * lands in the *_err fields. */
int ckpt_load_memory(struct ckpt *ck, const struct ckpt_opts *opts);
/* Free what ckpt_load_memory() added to @ck (not the process spaces). */
void ckpt_memory_done(struct ckpt *ck);

#endif
