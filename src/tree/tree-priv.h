/* SPDX-License-Identifier: Apache-2.0 */
/* Internal to the tree module (tree*.c): the store behind a struct tree and
 * what its files share. tree.c: nodes, attributes, opening; tree-lookup.c:
 * directory order and lookup; tree-read.c: reads and replies;
 * tree-cache.c: the render cache; tree-lazy.c: lazy directories and their
 * budget; tree-link.c: archive symlinks kept inside; tree-graft.c: grafted
 * subtrees and their numbering. */
#ifndef CK_TREE_PRIV_H
#define CK_TREE_PRIV_H

#include <pthread.h>

#include "tree-build.h"

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

/* The store: a struct tree and what only the tree module sees. */
struct tree_store {
	struct tree pub;	/* first: a struct tree is the start of its store */
	uint64_t next_ino;
	pthread_mutex_t lock;
	/* the render cache, under @lock: small texts in memory, most recently
	 * used first, up to TREE_CACHE_BUDGET bytes; large ones in an unlinked
	 * file (opts.cache_dir), appended to and never rewritten */
	struct tree_node *lru_head, *lru_tail;
	size_t cache_used;
	int render_fd;		/* -1 until a large text is rendered */
	uint64_t render_len;
	/* The mount's tree (itself, or the tree a subtree is grafted on)
	 * holds the lazy directories' state for all: @shape is held shared
	 * by every request (tree_enter()) and exclusively to drop populated
	 * directories; @pop_lock serializes populating them. */
	struct tree_store *top;
	pthread_rwlock_t shape;
	pthread_mutex_t pop_lock;
	struct tree_node **lazy_dirs;	/* populated lazy directories, under pop_lock */
	size_t n_lazy_dirs, cap_lazy_dirs;
	size_t lazy_nodes;		/* nodes below them, under pop_lock */
	bool evict_wanted;		/* atomic: lazy_nodes went past TREE_LAZY_BUDGET */
	uint64_t clock;			/* atomic: ticks at every lazy lookup */
	struct tree_node *populating;	/* the lazy directory being populated, under pop_lock */
};

static inline struct tree_store *tree_store(const struct tree *t)
{
	return (struct tree_store *) t;
}

/* The store that holds @t's lazy directories: the mount's. */
static inline struct tree_store *tree_top(const struct tree *t)
{
	return tree_store(t)->top;
}

/* The tree @n renders with: a grafted subtree's node, with its own model. */
static inline struct tree *tree_of(const struct tree *t, const struct tree_node *n)
{
	return n->tree ? n->tree : (struct tree *) t;
}

/* Rendered texts held in memory by one tree, together. */
#define TREE_CACHE_BUDGET (16u << 20)
/* A text at least this large goes to the render file instead. */
#define TREE_TEXT_SPILL_MIN (1u << 20)
/* Nodes kept below populated lazy directories (about 250 bytes each):
 * past it the least recently used unpinned ones are emptied. */
#define TREE_LAZY_BUDGET 65536

/* tree.c: free @n and everything below it, without touching any cache. */
void tree_node_free(struct tree_node *n);

/* tree-cache.c: render text or link node @n once (again after an eviction);
 * later calls return the cached result. Returns 0 or -errno. */
int tree_text_content(struct tree *t, const struct tree_node *n);
/* tree-cache.c: copy [off, off + len) of text node @n. The count or -errno. */
ssize_t tree_text_read(struct tree *t, const struct tree_node *n, void *buf, size_t len, uint64_t off);
/* tree-cache.c: [off, off + len) of text node @n as an extent of the render
 * file: the count (0 at the end), -EAGAIN (not there), -ENOBUFS (@max 0). */
ssize_t tree_text_extents(struct tree *t, const struct tree_node *n, uint64_t off, size_t len,
			  struct arc_extent *ext, size_t max);
/* tree-cache.c: take text node @n, about to be freed, out of the render
 * cache of the tree that rendered it. */
void tree_text_forget(struct tree_node *n);

/* tree-lazy.c: make sure lazy directory @d has its children; marks it used.
 * Returns 0 or -errno. */
int tree_lazy_ensure(const struct tree *t, const struct tree_node *d);
/* tree-lazy.c: an open file or directory (@by 1, its release -1) keeps
 * every lazy directory above it populated. */
void tree_lazy_pin(const struct tree_node *n, int by);
/* tree-lazy.c: empty every populated lazy directory of @top. */
void tree_lazy_drop_all(struct tree_store *top);

#endif
