/* SPDX-License-Identifier: Apache-2.0 */
/* Internal to the tree (tree.c and view-*.c): node kinds and the builders that the view
 * files (view-pid.c, ...) use to populate the tree. Nodes are added while
 * view_tree_new() runs, and afterwards only below lazy directories (see
 * tree_lazy_init()), whose children come and go under a budget. */
#ifndef CK_TREE_PRIV_H
#define CK_TREE_PRIV_H

#include <pthread.h>

#include "tree.h"

enum tree_kind {
	TREE_DIR,
	TREE_LINK,	/* target: an archive symlink, or rendered lazily */
	TREE_TEXT,	/* content rendered lazily, cached */
	TREE_MEMBER,	/* a byte range of an archive member, read in place */
	TREE_STREAM,	/* any other byte source: address spaces, core files, ... */
};

/* Appends the content (or link target) of @n to @out. Returns 0 or -errno. */
typedef int (*tree_render_fn)(const struct tree *t, const struct tree_node *n, struct ck_buf *out);

/* Adds the children of lazy directory @d (tree_lazy_init()). Returns 0 or -errno. */
typedef int (*tree_populate_fn)(struct tree *t, struct tree_node *d);

/* What a lazy directory needs beyond a node; see tree_lazy_init(). Guarded
 * by the mount tree's pop_lock, except @populated, @pins and @last_use. */
struct tree_lazy {
	tree_populate_fn populate;
	uint64_t ino_base;		/* the nodes below it are numbered ino_base .. + ino_span */
	uint64_t ino_span;
	uint64_t next_ino;		/* while populating: the next node's number */
	size_t n_nodes;			/* nodes it holds when populated (not those of lazy
					 * subdirectories); counted as they are added */
	size_t n_subdirs;		/* its child directories, for st_nlink */
	size_t populated_kids;		/* populated lazy directories right below it */
	bool populated;			/* atomic: children present (acquire/release) */
	unsigned pins;			/* atomic: open files and directories below it */
	uint64_t last_use;		/* atomic: the mount's clock at its last lookup */
};

/* A byte source that is not an archive member. @obj is the node's object. */
struct tree_stream_ops {
	uint64_t (*size)(const void *obj);
	ssize_t (*read)(const void *obj, void *buf, size_t len, uint64_t off);
	/* SEEK_DATA/SEEK_HOLE; NULL means dense */
	int64_t (*seek_data)(const void *obj, uint64_t off);
	int64_t (*seek_hole)(const void *obj, uint64_t off);
	/* bytes that really hold data, for st_blocks; NULL means size() */
	uint64_t (*allocated)(const void *obj);
	/* frees @obj with the tree; NULL when @obj is borrowed */
	void (*free)(void *obj);
	/* [off, off + len) as at most @max file extents (tree_read_reply()):
	 * the count, 0 at the end, -EAGAIN when some byte is not in a file,
	 * -ENOBUFS when @max is too few; NULL: never (read() is used) */
	ssize_t (*extents)(const void *obj, uint64_t off, size_t len, struct arc_extent *ext, size_t max);
};

struct tree_node {
	char *name;
	struct tree_node *parent;
	struct tree_node **children;	/* sorted by name once the tree is built */
	size_t n_children, cap_children;
	enum tree_kind kind;
	mode_t mode;
	struct tree *tree;		/* the tree that built it: a pod container's subtree */
	uint64_t ino;
	int64_t mtime;
	/* what the node shows; inherited from the parent directory when added */
	const struct ckpt_proc *proc;
	const struct ckpt_thread *thread;
	const struct img_fdinfo *fd;
	const void *arg;
	const struct arc_entry *member;	/* TREE_MEMBER (and archive symlinks) */
	uint64_t slice_off, slice_len;	/* TREE_MEMBER: the range shown */
	tree_render_fn render;		/* TREE_TEXT, rendered TREE_LINK */
	const struct tree_stream_ops *ops;	/* TREE_STREAM */
	void *obj;
	/* found by lookup but not listed by readdir: the objects that relative
	 * fd link texts (socket:[N], pipe:[N], anon_inode:[...]) resolve to */
	bool hidden;
	/* opened with direct I/O: reads are passed through whatever st_size
	 * says (mem reports 0, as /proc/<pid>/mem does) */
	bool direct_io;
	/* st_ino to report instead of the node's own number (0: its own) */
	uint64_t shown_ino;
	/* lazily rendered content, guarded by tree.lock: in @data, in the
	 * tree's render file at @spill_off (@spilled), or evicted (rendered,
	 * @data NULL, @len kept: rendered again when read) */
	bool rendered;
	bool spilled;
	int render_err;
	char *data;
	size_t len;
	uint64_t spill_off;
	struct tree_node *lru_prev, *lru_next;	/* TREE_TEXT held in @data */
	struct tree_lazy *lazy;		/* a lazy directory, else NULL */
};

struct tree {
	const struct ckpt *ck;
	const struct arc *arc;
	struct tree_opts opts;
	struct tree_node *root;
	uint64_t next_ino;
	pthread_mutex_t lock;
	struct arc **nested;	/* inner tars the tree shows (view-nested.c), freed with it */
	size_t n_nested;
	char *prefix;		/* a pod container's subtree: its directory "<name>/"; else NULL */
	size_t prefix_len;
	/* called first by tree_free(), to free what the views hung on the tree */
	void (*on_free)(struct tree *t);
	struct tree **subs;	/* a pod's container subtrees, grafted under the root (view-pod.c) */
	size_t n_subs;
	struct ckpt **pod_cks;	/* their models, except the one view_tree_new() was given */
	size_t n_pod_cks;
	/* the render cache, under @lock: small texts in memory, most recently
	 * used first, up to TREE_CACHE_BUDGET bytes; large ones in an unlinked
	 * file (opts.cache_dir), appended to and never rewritten */
	struct tree_node *lru_head, *lru_tail;
	size_t cache_used;
	int render_fd;		/* -1 until a large text is rendered */
	uint64_t render_len;
	/* The mount's tree (itself, or the pod tree a container's subtree is
	 * grafted on) holds the lazy directories' state for all: @shape is
	 * held shared by every request (tree_enter()) and exclusively to
	 * drop populated directories; @pop_lock serializes populating them. */
	struct tree *top;
	pthread_rwlock_t shape;
	pthread_mutex_t pop_lock;
	struct tree_node **lazy_dirs;	/* populated lazy directories, under pop_lock */
	size_t n_lazy_dirs, cap_lazy_dirs;
	size_t lazy_nodes;		/* nodes below them, under pop_lock */
	bool evict_wanted;		/* atomic: lazy_nodes went past TREE_LAZY_BUDGET */
	uint64_t clock;			/* atomic: ticks at every lazy lookup */
	struct tree_node *populating;	/* the lazy directory being populated, under pop_lock */
};

/* Rendered texts held in memory by one tree, together. */
#define TREE_CACHE_BUDGET (16u << 20)
/* A text at least this large goes to the render file instead. */
#define TREE_TEXT_SPILL_MIN (1u << 20)
/* Nodes kept below populated lazy directories (about 250 bytes each):
 * past it the least recently used unpinned ones are emptied. */
#define TREE_LAZY_BUDGET 65536

/* Make archive symlink @n (n->member set) point inside @root, an ancestor
 * directory of @n, unless opts.raw_symlinks: its stored target is resolved
 * lexically as if @root were "/" (absolute targets start there, ".." stops
 * there) and rewritten relative to @n's directory, so following it never
 * leaves the tree. Returns 0 or -ENOMEM. */
int tree_link_contain(struct tree *t, struct tree_node *n, const struct tree_node *root);
/* The root of the mount @n is in (pod container subtrees are grafted below it). */
const struct tree_node *tree_mount_root(const struct tree_node *n);
/* Format a one-line message and pass it to opts.warn, if set. */
void tree_warn(const struct tree *t, const char *fmt, ...) _printf_(2, 3);
/* Add a child of @parent (NULL for the root) that inherits proc, thread and
 * fd from it. Returns the node or NULL (ENOMEM). */
struct tree_node *tree_node_add(struct tree *t, struct tree_node *parent, const char *name,
			    enum tree_kind kind, mode_t mode);
/* A lazily rendered file or symlink (S_IFLNK in @mode) with @arg. */
struct tree_node *tree_text_add(struct tree *t, struct tree_node *parent, const char *name, mode_t mode,
			    tree_render_fn render, const void *arg);
/* A stream file; on failure @obj is freed with @ops->free. */
struct tree_node *tree_stream_add(struct tree *t, struct tree_node *parent, const char *name, mode_t mode,
			      const struct tree_stream_ops *ops, void *obj);
/* [off, off + len) of archive member @e as a file. */
struct tree_node *tree_slice_add(struct tree *t, struct tree_node *parent, const char *name, mode_t mode,
			     const struct arc_entry *e, uint64_t off, uint64_t len);
/* The child @name[0..len) of @dir, or NULL; a linear scan, from the child
 * added last, for use while building. */
struct tree_node *tree_child_scan(const struct tree_node *dir, const char *name, size_t len);

/* An empty tree for @ck and @a with only its root, for the view module to
 * populate (view.c); @prefix as view_tree_build() takes it. NULL on ENOMEM. */
struct tree *tree_new_empty(const struct ckpt *ck, const struct arc *a, const struct tree_opts *opts,
			    const char *prefix);
/* Make directory @d lazy: its children are added by @populate when first
 * looked up or listed, and dropped again (by tree_enter()) when more than
 * TREE_LAZY_BUDGET nodes lie below populated lazy directories and @d is the
 * least recently used one with nothing open below it. Its nodes keep the
 * same inode numbers every time: @n_files says how many @populate adds
 * (none of them a directory), or, at the top level only, 0 to learn that
 * and its subdirectories (for st_nlink) by running @populate once here;
 * the children then stay until the budget needs their room. Called from a
 * lazy directory's @populate (task/<tid>/ in /<pid>/), with @n_files, it
 * nests: the outer one is dropped only after the inner ones. Returns 0 or
 * -errno (-EINVAL: nested without @n_files). */
int tree_lazy_init(struct tree *t, struct tree_node *d, tree_populate_fn populate, size_t n_files);
/* Number the nodes below @root of @t from @next again, after emptying
 * every populated lazy directory (a pod graft renumbers its subtrees):
 * returns the next free number. */
uint64_t tree_renumber(struct tree *t, struct tree_node *root, uint64_t next);
/* Make @sub's lazy directories count against @top's budget and lock. */
void tree_adopt(struct tree *top, struct tree *sub);

/* Sort every directory below @n in the order lookups expect (names that are
 * numbers first, in numeric order, then the rest bytewise); call once when
 * the tree is built. */
void tree_sort(struct tree_node *n);

#endif
