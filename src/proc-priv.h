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
};

struct pv_node {
	char *name;
	struct pv_node *parent;
	struct pv_node **children;	/* sorted by name once the tree is built */
	size_t n_children, cap_children;
	enum pv_kind kind;
	mode_t mode;
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
};

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

#endif
