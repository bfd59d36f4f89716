/* SPDX-License-Identifier: Apache-2.0 */
/* Internal to the tree (proc*.c): node kinds and the builders that the view
 * files (proc-pid.c, ...) use to populate the tree. Nodes are only added
 * while pv_tree_new() runs; afterwards only the render cache changes. */
#ifndef CK_PROC_PRIV_H
#define CK_PROC_PRIV_H

#include <pthread.h>

#include "proc.h"

enum pv_kind {
	PV_DIR,
	PV_LINK,	/* target: an archive symlink, or rendered lazily */
	PV_TEXT,	/* content rendered lazily, cached */
	PV_MEMBER,	/* a byte range of an archive member, read in place */
	PV_STREAM,	/* any other byte source: address spaces, core files, ... */
};

/* Appends the content (or link target) of @n to @out. Returns 0 or -errno. */
typedef int (*pv_render_fn)(const struct pv_tree *t, const struct pv_node *n, struct ck_buf *out);

/* A byte source that is not an archive member. @obj is the node's object. */
struct pv_stream_ops {
	uint64_t (*size)(const void *obj);
	ssize_t (*read)(const void *obj, void *buf, size_t len, uint64_t off);
	/* SEEK_DATA/SEEK_HOLE; NULL means dense */
	int64_t (*seek_data)(const void *obj, uint64_t off);
	int64_t (*seek_hole)(const void *obj, uint64_t off);
	/* bytes that really hold data, for st_blocks; NULL means size() */
	uint64_t (*allocated)(const void *obj);
	/* frees @obj with the tree; NULL when @obj is borrowed */
	void (*free)(void *obj);
	/* [off, off + len) as file extents, as pv_extents(); NULL: never */
	ssize_t (*extents)(const void *obj, uint64_t off, size_t len, struct arc_extent *ext, size_t max);
};

struct pv_node {
	char *name;
	struct pv_node *parent;
	struct pv_node **children;	/* sorted by name once the tree is built */
	size_t n_children, cap_children;
	enum pv_kind kind;
	mode_t mode;
	struct pv_tree *tree;		/* the tree that built it: a pod container's subtree */
	uint64_t ino;
	int64_t mtime;
	/* what the node shows; inherited from the parent directory when added */
	const struct ckpt_proc *proc;
	const struct ckpt_thread *thread;
	const struct img_fdinfo *fd;
	const void *arg;
	const struct arc_entry *member;	/* PV_MEMBER (and archive symlinks) */
	uint64_t slice_off, slice_len;	/* PV_MEMBER: the range shown */
	pv_render_fn render;		/* PV_TEXT, rendered PV_LINK */
	const struct pv_stream_ops *ops;	/* PV_STREAM */
	void *obj;
	/* lazily rendered content, guarded by pv_tree.lock */
	bool rendered;
	int render_err;
	char *data;
	size_t len;
};

struct pv_tree {
	const struct ckpt *ck;
	const struct arc *arc;
	struct pv_opts opts;
	struct pv_node *root;
	uint64_t next_ino;
	pthread_mutex_t lock;
	struct arc **nested;	/* inner tars the tree shows (proc-nested.c), freed with it */
	size_t n_nested;
	char *prefix;		/* a pod container's subtree: its directory "<name>/"; else NULL */
	size_t prefix_len;
	struct pv_tree **subs;	/* a pod's container subtrees, grafted under the root (proc-pod.c) */
	size_t n_subs;
	struct ckpt **pod_cks;	/* their models, except the one pv_tree_new() was given */
	size_t n_pod_cks;
};

/* Make archive symlink @n (n->member set) point inside @root, an ancestor
 * directory of @n, unless opts.raw_symlinks: its stored target is resolved
 * lexically as if @root were "/" (absolute targets start there, ".." stops
 * there) and rewritten relative to @n's directory, so following it never
 * leaves the tree. Returns 0 or -ENOMEM. */
int pv_link_contain(struct pv_tree *t, struct pv_node *n, const struct pv_node *root);
/* The root of the mount @n is in (pod container subtrees are grafted below it). */
const struct pv_node *pv_mount_root(const struct pv_node *n);
/* Format a one-line message and pass it to opts.warn, if set. */
void pv_warn(const struct pv_tree *t, const char *fmt, ...) _printf_(2, 3);
/* Add a child of @parent (NULL for the root) that inherits proc, thread and
 * fd from it. Returns the node or NULL (ENOMEM). */
struct pv_node *pv_node_add(struct pv_tree *t, struct pv_node *parent, const char *name,
			    enum pv_kind kind, mode_t mode);
/* A lazily rendered file or symlink (S_IFLNK in @mode) with @arg. */
struct pv_node *pv_text_add(struct pv_tree *t, struct pv_node *parent, const char *name, mode_t mode,
			    pv_render_fn render, const void *arg);
/* A stream file; on failure @obj is freed with @ops->free. */
struct pv_node *pv_stream_add(struct pv_tree *t, struct pv_node *parent, const char *name, mode_t mode,
			      const struct pv_stream_ops *ops, void *obj);
/* [off, off + len) of archive member @e as a file. */
struct pv_node *pv_slice_add(struct pv_tree *t, struct pv_node *parent, const char *name, mode_t mode,
			     const struct arc_entry *e, uint64_t off, uint64_t len);
/* The child @name[0..len) of @dir, or NULL; a linear scan for use while building. */
struct pv_node *pv_child_scan(const struct pv_node *dir, const char *name, size_t len);

/* View builders, one per file. Each returns 0 or -ENOMEM. */
int pv_add_pid_dirs(struct pv_tree *t);		/* proc-pid.c: /<pid>/ */
int pv_add_images_dir(struct pv_tree *t);	/* proc-archive.c: /images/ */
int pv_add_archive(struct pv_tree *t);		/* proc-archive.c: every member, last */
int pv_add_sys(struct pv_tree *t);		/* proc-sys.c: /self, /stat, /uptime, ... for ps, lsof */
/* proc-nested.c: the container's own directory in the archive ("" or
 * "<ctr>/") into @out; and its member @name, or NULL. */
int pv_container_prefix(const struct ckpt *ck, char *out, size_t size);
const struct arc_entry *pv_container_member(const struct pv_tree *t, const char *name);
int pv_add_nested(struct pv_tree *t);
/* proc.c: a tree for @ck whose archive view shows only the members under
 * @prefix ("<name>/", copied), with the prefix removed; NULL shows all. */
int pv_tree_build(const struct ckpt *ck, const struct arc *a, const struct pv_opts *opts, const char *prefix,
		  struct pv_tree **ret_tree);
/* proc-pod.c: the number of containers of a Kubernetes pod checkpoint (one
 * "<name>/checkpoint/inventory.img" each, and none at "checkpoint/"); the
 * pod's tree, one container subtree under /<name>/; and freeing its parts. */
int pv_pod_count(const struct arc *a);
int pv_tree_new_pod(const struct ckpt *ck, const struct arc *a, const struct pv_opts *opts,
		    struct pv_tree **ret_tree);
void pv_pod_done(struct pv_tree *t);		/* proc-nested.c: /rootfs-diff/, /devshm/, /tmpfs/ */
int pv_add_container(struct pv_tree *t);	/* proc-container.c: /container.json, /ps, ... */

/* proc-ns.c: net/, ns/, mountinfo, mounts and cgroup of /<pid>/ @d. Returns 0 or -ENOMEM. */
int pv_add_pid_ns_net(struct pv_tree *t, struct pv_node *d, const struct ckpt_proc *p);

/* proc-files.c: /files/ (every content object) and /<pid>/fdcontent/ of @d. */
int pv_add_files_dir(struct pv_tree *t);
int pv_add_fdcontent(struct pv_tree *t, struct pv_node *d, const struct ckpt_proc *p);

#endif
