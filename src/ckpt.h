/* SPDX-License-Identifier: Apache-2.0 */
/* The checkpoint model: processes, threads, files and memory, joined from the
 * images of an indexed archive (see IMAGES.md §2.1). Built once by
 * ckpt_load() and immutable afterwards, so FUSE threads read it without
 * locks. A damaged per-process image (core, mm, fs, ids, fdinfo, pagemap)
 * does not fail the load: its pointer stays NULL and the matching *_err
 * holds the -errno, so only the views that need it fail with EIO. */
#ifndef CK_CKPT_H
#define CK_CKPT_H

#include "arc.h"
#include "img.h"
#include "mem.h"

struct ckpt_thread {
	uint32_t tid;
	struct img_core *core;		/* NULL if core-<tid>.img is missing or bad */
	int core_err;			/* -ENOENT missing, -EBADMSG bad, 0 fine */
};

struct ckpt_proc {
	uint32_t pid, ppid, pgid, sid;
	struct ckpt_thread *threads;	/* pstree order: threads[0] is the leader */
	size_t n_threads;
	struct img_mm *mm;		/* NULL for zombies or on error (mm_err) */
	int mm_err;
	struct img_fs fs;
	bool has_fs;
	int fs_err;
	struct img_ids ids;
	bool has_ids;
	int ids_err;
	struct img_fdinfo *fds;		/* sorted by fd */
	size_t n_fds;
	int fds_err;
	struct mem_space *mem;		/* NULL when no memory was dumped or on error */
	int mem_err;
};

struct ckpt {
	const struct arc *arc;		/* borrowed; outlives the model */
	char *img_dir;			/* archive directory holding inventory.img ("checkpoint", or "" for a bare images dir) */
	struct img_inventory inv;
	struct ckpt_proc *procs;	/* sorted by pid */
	size_t n_procs;
	struct img_file *files;		/* files.img, sorted by id */
	size_t n_files;
	int files_err;			/* -ENOENT when absent, -EBADMSG bad */
	struct img_remap *remaps;	/* remap-fpath.img, sorted by orig_id */
	size_t n_remaps;
	int remaps_err;			/* -ENOENT when absent (normal), -EBADMSG bad */
	struct img_memfd *memfds;	/* memfd.img, sorted by inode_id */
	size_t n_memfds;
	int memfds_err;
	int64_t *seccomp_prev;		/* seccomp filter chain, see img_read_seccomp_chain() */
	size_t n_seccomp;
	int seccomp_err;
	uint64_t page_size;
};

struct ckpt_opts {
	uint64_t page_size;		/* 0: 4096 */
};

/* Build the model from @a. Fails only when the archive is not a checkpoint
 * (-ENOENT: no inventory.img/pstree.img found) or an image every view needs
 * (inventory, pstree) is malformed (-EBADMSG); @ret_error then gets a
 * malloc'ed one-line reason naming the image. */
int ckpt_load(const struct arc *a, const struct ckpt_opts *opts, struct ckpt **ret_ck, char **ret_error);
void ckpt_free(struct ckpt *ck);
DEFINE_CLEANUP(ckpt_freep, struct ckpt, ckpt_free)

/* Lookups: NULL when absent. Pointers are borrowed from @ck. */
const struct ckpt_proc *ckpt_proc_find(const struct ckpt *ck, uint32_t pid);
const struct img_file *ckpt_file_find(const struct ckpt *ck, uint32_t id);
const struct img_remap *ckpt_remap_find(const struct ckpt *ck, uint32_t orig_id);
const struct img_memfd *ckpt_memfd_find(const struct ckpt *ck, uint32_t inode_id);
/* The thread with @tid of @p, or NULL. */
const struct ckpt_thread *ckpt_thread_find(const struct ckpt_proc *p, uint32_t tid);
/* The core of the thread-group leader (carries tc), or NULL. */
const struct img_core *ckpt_leader_core(const struct ckpt_proc *p);
/* The archive path of image @name ("core-1.img") inside the images directory; malloc'ed. */
char *ckpt_image_path(const struct ckpt *ck, const char *name);

#endif
