/* SPDX-License-Identifier: Apache-2.0 */
/* The node builder interface of the tree, for the module that decides what
 * the tree shows (the views, src/view/): node kinds, the nodes themselves
 * and the calls that add them. Nodes are added while the builder runs, and
 * afterwards only below lazy directories (see tree_lazy_init()), whose
 * children come and go under a budget. The store's own state (numbering,
 * locks, the render cache, the lazy directories' budget) is not here. */
#ifndef CK_TREE_BUILD_H
#define CK_TREE_BUILD_H

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

struct tree_lazy;	/* a lazy directory's state: the store's */

struct tree_node {
	char *name;
	struct tree_node *parent;
	struct tree_node **children;	/* sorted by name once the tree is built */
	size_t n_children, cap_children;
	enum tree_kind kind;
	mode_t mode;
	struct tree *tree;		/* the tree that built it: a grafted subtree's own */
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
	/* The store's, not the builder's: lazily rendered content, guarded by
	 * the tree's lock: in @data, in the tree's render file at @spill_off
	 * (@spilled), or evicted (rendered, @data NULL, @len kept: rendered
	 * again when read); a contained archive symlink's target in @data. */
	bool rendered;
	bool spilled;
	int render_err;
	char *data;
	size_t len;
	uint64_t spill_off;
	struct tree_node *lru_prev, *lru_next;	/* TREE_TEXT held in @data */
	struct tree_lazy *lazy;		/* a lazy directory, else NULL */
};

/* A tree as its builder sees it: the model and archive it shows, its
 * options and its root. The rest of it is the store's. */
struct tree {
	const struct ckpt *ck;
	const struct arc *arc;
	struct tree_opts opts;
	struct tree_node *root;
	/* what the builder hangs on the tree, freed by @owner_free, which
	 * tree_free() calls first (NULL: nothing) */
	void *owner;
	void (*owner_free)(struct tree *t);
};

/* An empty tree for @ck and @a with only its root, for a builder to
 * populate. NULL on ENOMEM. */
struct tree *tree_new(const struct ckpt *ck, const struct arc *a, const struct tree_opts *opts);

/* Make archive symlink @n (n->member set) point inside @root, an ancestor
 * directory of @n, unless opts.raw_symlinks: its stored target is resolved
 * lexically as if @root were "/" (absolute targets start there, ".." stops
 * there) and rewritten relative to @n's directory, so following it never
 * leaves the tree. Returns 0 or -ENOMEM. */
int tree_link_contain(struct tree *t, struct tree_node *n, const struct tree_node *root);
/* The root of the mount @n is in (grafted subtrees lie below it). */
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
/* The child @name[0..len) of @dir, or NULL; a linear scan for use while building. */
struct tree_node *tree_child_scan(const struct tree_node *dir, const char *name, size_t len);

/* Make directory @d lazy: its children are added by @populate when first
 * looked up or listed, and dropped again (by tree_enter()) when more than
 * a budget of nodes lie below populated lazy directories and @d is the
 * least recently used one with nothing open below it. Its nodes keep the
 * same inode numbers every time: @n_files says how many @populate adds
 * (none of them a directory), or, at the top level only, 0 to learn that
 * and its subdirectories (for st_nlink) by running @populate once here;
 * the children then stay until the budget needs their room. Called from a
 * lazy directory's @populate (task/<tid>/ in /<pid>/), with @n_files, it
 * nests: the outer one is dropped only after the inner ones. Returns 0 or
 * -errno (-EINVAL: nested without @n_files). */
int tree_lazy_init(struct tree *t, struct tree_node *d, tree_populate_fn populate, size_t n_files);

/* Graft the root of @sub, a built tree, under the root of @top as directory
 * @name: its nodes keep rendering with @sub's model and cache, and its lazy
 * directories count against @top's budget. The nodes are freed with @top;
 * @sub itself stays the caller's, to free (tree_free() leaves a grafted
 * root alone) before or with @top's owner. Returns 0 or -ENOMEM (then @sub
 * is untouched). */
int tree_graft(struct tree *top, struct tree *sub, const char *name);
/* Number every node of @t again, after its grafts: the inode numbers of a
 * grafted subtree follow on from the nodes before it in tree order. */
void tree_renumber(struct tree *t);

/* Sort every directory below @n in the order lookups expect (names that are
 * numbers first, in numeric order, then the rest bytewise); call once when
 * the tree is built. */
void tree_sort(struct tree_node *n);

#endif
