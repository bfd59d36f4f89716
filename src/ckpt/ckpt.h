/* SPDX-License-Identifier: Apache-2.0 */
/* The checkpoint model: processes, threads, files and memory, joined from the
 * images of an indexed archive (see docs/formats.md §2.1). Built once by
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
	uint64_t page_size;		/* of this process's pages, see ckpt_opts.page_size */
};

/* One checkpoint of the pre-dump chain (docs/formats.md §3.5): levels[0] is the
 * mounted one, levels[1] its parent, and so on. */
struct ckpt_level {
	const struct arc *arc;
	char *img_dir;			/* images directory inside @arc ("" for its root) */
	char *disk_path;		/* @arc's path when it is a directory (to follow its `parent` link), else NULL */
	char *real_dir;			/* realpath of the images directory on disk, for loop detection; or NULL */
	struct arc *owned;		/* set when ckpt_load() opened @arc itself (a `parent` symlink) */
	uint32_t *pids;			/* its pstree.img's pids, sorted (ckpt-fit.c); NULL: none */
	size_t n_pids;
	bool pids_loaded;
};

/* A shared-memory object: a memfd, shared anonymous memory or a SysV
 * segment, whose pages are in pagemap-shmem-<shmid>.img. */
struct ckpt_shm {
	uint64_t shmid;
	uint64_t size;			/* memfd.img size, else the furthest offset a VMA maps */
	bool memfd;			/* named by memfd.img */
	struct mem_space *mem;		/* offsets are object offsets; NULL on error */
	int err;			/* -ENOENT no pagemap-shmem image, -EBADMSG bad */
};

/* A parent checkpoint given on the command line. */
struct ckpt_parent {
	const struct arc *arc;		/* borrowed; outlives the model */
	const char *path;		/* its path, to follow its own `parent` link if it is a directory */
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
	uint64_t page_size;		/* ckpt_opts.page_size, else the first one inferred, else 4096 */
	struct ckpt_level *levels;	/* the pre-dump chain; levels[0] is @arc and @img_dir */
	size_t n_levels;
	int chain_err;			/* why the chain stops early (a `parent` not followed), or 0 */
	char *chain_why;		/* ... in one line for the user, naming the parent; or NULL */
	bool chain_given;		/* ... and the parent that failed was given in ckpt_opts.parents */
	int fit_err;			/* -ESRCH: a parent in the chain does not fit (ckpt-fit.c); or 0 */
	char *fit_why;			/* ... in one line, naming it and why */
	size_t fit_level;		/* ... its level */
	bool fit_given;			/* ... and it was given in ckpt_opts.parents */
	struct ckpt_shm *shms;		/* sorted by shmid */
	size_t n_shms;
	/* ckpt-ns.c */
	struct ckpt_mntns *mntns;	/* one per mnt_ns_id of a task, sorted by id */
	size_t n_mntns;
	struct img_cg_set *cg_sets;	/* cgroup.img sets, sorted by id */
	size_t n_cg_sets;
	int cg_err;			/* -ENOENT when cgroup.img is absent, -EBADMSG bad */
	struct ckpt_tcpq *tcpqs;	/* one per TCP socket of files.img, sorted by ino */
	size_t n_tcpqs;
	bool has_root_ids;
	struct img_ids root_ids;	/* inventory.img root_ids */
	/* ckpt-content.c */
	struct ckpt_content *contents;	/* data behind fds (ckpt-content.h), sorted by kind and key */
	size_t n_contents;
};

struct ckpt_opts {
	/* 0: per process, Σ PRESENT nr_pages against the pages file size
	 * (docs/formats.md §3.1); when that does not give a power of two >= 4096,
	 * the checkpoint's first inferred size, else 4096. */
	uint64_t page_size;
	const char *path;		/* the archive's own path, to follow a directory's `parent` link; may be NULL */
	const struct ckpt_parent *parents;	/* explicit chain, the immediate parent first */
	size_t n_parents;
	const struct arc_opts *arc_opts;	/* for checkpoints opened through `parent` links */
	const char *img_dir;		/* the images directory to load ("ctr/checkpoint"); NULL: found */
};

/* Build the model from @a. Fails only when the archive is not a checkpoint
 * (-ARC_ENOTCKPT, the one "not a checkpoint" error: no inventory.img or
 * pstree.img found) or an image every view needs
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
/* The core of the thread-group leader: the core with a task core (tc) of
 * the thread whose tid is the pid, else of the first thread that has one;
 * NULL when none has. */
const struct img_core *ckpt_leader_core(const struct ckpt_proc *p);
/* True when @p's leader core says the task is a zombie (IMG_TASK_DEAD or
 * IMG_TASK_ZOMBIE): such a process has no mm, files or memory. */
bool ckpt_is_zombie(const struct ckpt_proc *p);
/* True when @p was alive or stopped: it has memory to read arguments from. */
bool ckpt_is_live(const struct ckpt_proc *p);
/* The leader's tc.task_state, 0 when no core with a task core exists. */
uint32_t ckpt_task_state(const struct ckpt_proc *p);
/* The one name of @task_state ("Alive", "Dead", "Stopped", "Zombie",
 * "Helper", "Thread"; "Unknown" for any other value), as checkpointctl
 * shows it: container.json, /ps and every other view use it. */
const char *ckpt_task_state_name(uint32_t task_state);
/* The name ps shows for thread @t of @p (the leader when @t is NULL): the
 * thread's own comm, else its task's; NULL when no core image has one. */
const char *ckpt_thread_name(const struct ckpt_proc *p, const struct ckpt_thread *t);
/* ckpt_thread_name() of @p's leader: the one process name of every view,
 * container.json, the ELF core and the search output. */
const char *ckpt_proc_name(const struct ckpt_proc *p);
/* The shared-memory object @shmid, or NULL when no memfd.img entry or VMA names it. */
const struct ckpt_shm *ckpt_shm_find(const struct ckpt *ck, uint64_t shmid);
/* The object VMA @v maps (VMA_AREA_MEMFD through files.img and memfd.img,
 * VMA_AREA_SYSVIPC and VMA_ANON_SHARED by shmid), or NULL. */
const struct ckpt_shm *ckpt_vma_shm(const struct ckpt *ck, const struct img_vma *v);
/* The content of the memfd that files.img entry @file_id opens: a space of
 * memfd.img's size whose offsets are file offsets, borrowed from @ck.
 * Returns 0, -ENOENT (not a memfd, no memfd.img entry or no pagemap-shmem
 * image) or the object's error (-EBADMSG). */
int ckpt_memfd_content(const struct ckpt *ck, uint32_t file_id, const struct mem_space **ret_mem);
/* The archive path of image @name ("core-1.img") inside the images directory; malloc'ed. */
char *ckpt_image_path(const struct ckpt *ck, const char *name);
/* The container engine's file @name ("config.dump", "rootfs-diff.tar") of
 * @ck: the member next to its images directory ("<ctr>/" of a pod), or NULL. */
const struct arc_entry *ckpt_container_member(const struct ckpt *ck, const char *name);

/* ---- namespaces, mounts, cgroups and socket queues (ckpt-ns.c) ---- */

/* The mount table of one mount namespace. */
struct ckpt_mntns {
	uint32_t id;			/* CRIU mnt ns id (ids.mnt_ns_id) */
	struct img_mnt *mnts;		/* mountpoints-<id>.img in file order (children first) */
	size_t n_mnts;
	int err;			/* -ENOENT absent, -EBADMSG bad, 0 fine */
};

/* tcp-stream-<ino hex>.img of one TCP socket. */
struct ckpt_tcpq {
	uint32_t ino;
	int err;			/* -ENOENT absent (listeners, closed), -EBADMSG bad */
	uint32_t inq_len, outq_len;
};

/* Load the per-namespace images into @ck (called by ckpt_load() once the
 * processes and files.img are in). Missing or damaged images only set the
 * matching err fields. Returns 0 or -ENOMEM. */
int ckpt_load_ns(struct ckpt *ck);
/* Release what ckpt_load_ns() loaded (ckpt_free() calls it). */
void ckpt_ns_done(struct ckpt *ck);
/* Lookups: NULL when absent. Pointers are borrowed from @ck. */
const struct ckpt_mntns *ckpt_mntns_find(const struct ckpt *ck, uint32_t id);
const struct img_cg_set *ckpt_cg_set_find(const struct ckpt *ck, uint32_t id);
const struct ckpt_tcpq *ckpt_tcpq_find(const struct ckpt *ck, uint32_t ino);

/* ---- data behind file descriptors (ckpt-content.c; lookups in ckpt-content.h) ---- */

/* Index every content object into @ck (called by ckpt_load() last). Returns
 * 0 or -ENOMEM; damaged images only mark their contents. */
int ckpt_load_contents(struct ckpt *ck);
/* Release what ckpt_load_contents() added (ckpt_free() calls it). */
void ckpt_contents_done(struct ckpt *ck);

/* ---- where a checkpoint lies in its archive (ckpt-pod.c) ---- */

/* A container checkpoint keeps its images in "checkpoint/" (else in the one
 * directory holding inventory.img; several are refused unless they are a
 * pod's, ckpt.c). A Kubernetes pod
 * checkpoint has none there but one directory per container: "<name>/"
 * with that container's engine files and "<name>/checkpoint/" with its
 * images. */
#define CKPT_IMG_DIR "checkpoint"
/* The containers of @a if it is a pod checkpoint: no checkpoint/inventory.img
 * and two or more directories <name> with a regular
 * <name>/checkpoint/inventory.img (a single one is a container checkpoint
 * in a directory). Returns their count (0: not a pod) with their names in
 * archive order, a malloc'ed array of malloc'ed strings (ckpt_pod_free()),
 * or -ENOMEM. */
ssize_t ckpt_pod_containers(const struct arc *a, char ***ret_names);
/* The directory of inventory.img in @a: "checkpoint" when there, else the
 * only one (a `parent` directory inside another is part of that one's
 * chain), else the first of a pod's "<name>/checkpoint". Returns 0
 * (malloc'ed in @ret), -ENOMEM, or -ARC_ENOTCKPT: none, or several that
 * are no pod: a mount refuses it, --search, --yara and --triage
 * read each archive in it (then a one-line reason listing them in @ret_error, if given). */
int ckpt_find_img_dir(const struct arc *a, char **ret, char **ret_error);
void ckpt_pod_free(char **names, size_t n);
/* The images directory of pod container @name ("<name>/checkpoint"), for
 * ckpt_opts.img_dir; malloc'ed, NULL on ENOMEM. */
char *ckpt_pod_img_dir(const char *name);

#endif
