/* SPDX-License-Identifier: Apache-2.0 */
/* Helpers shared by the render*.c files; not part of the module API. */
#ifndef CK_RENDER_PRIV_H
#define CK_RENDER_PRIV_H

#include "ckpt.h"


/* The dumping kernel's page size (4096 when the model does not say). */
uint64_t render_page_size(const struct ckpt *ck);
/* The dumped bytes of @p's private areas and of its shared ones
 * (render-smaps.c): status's RssAnon and RssShmem, VmRSS their sum. */
void render_rss(const struct ckpt_proc *p, const struct img_mm *mm, uint64_t *ret_anon, uint64_t *ret_shmem);
/* Finish a renderer that started appending at @start: turn an allocation
 * failure into -ENOMEM and, on any error, drop what it appended, so @out is
 * all or nothing. Returns @rc (or -ENOMEM), 0 on success. */
int render_finish(struct ck_buf *out, size_t start, int rc);
/* The mm a view of @p should use: 0 with *@ret_mm set (NULL for zombies and
 * tasks without an mm), or -EIO when mm-<pid>.img was damaged or missing. */
int render_proc_mm(const struct ckpt_proc *p, const struct img_mm **ret_mm);
/* The files.img entry @id, which must exist: -EIO when files.img was
 * damaged, -ENOENT when it simply has no such id (render-fd.c). */
int render_need_file(const struct ckpt *ck, uint32_t id, const struct img_file **ret);
/* True when remap-fpath.img marks file @id as GHOST or LINKED (unlinked). */
bool render_file_deleted(const struct ckpt *ck, uint32_t id);
/* Append the name of memfd inode @inode_id as the kernel shows a deleted
 * shmem file: "/memfd:NAME (deleted)", or "NAME (deleted)" when the stored
 * name is already a path. Returns 0, -ENOENT if unknown, -ENOMEM. */
int render_put_memfd_name(const struct ckpt *ck, uint32_t inode_id, struct ck_buf *out);

#endif
