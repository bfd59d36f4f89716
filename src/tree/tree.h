/* SPDX-License-Identifier: Apache-2.0 */
/* The /proc-like tree that the mount shows: every archive member at its own
 * path, images/<name>.json for each protobuf image, and /<pid>/ directories
 * with /proc-format files. Built once from the frozen model; node contents
 * are rendered on first use and cached (under the tree's lock), so getattr
 * reports exact sizes. The /<pid>/ directories are lazy: their files exist
 * while they are used and are dropped under a budget (tree_lazy_init() in
 * tree-build.h), so a server that runs requests on several threads must
 * hold the tree with tree_enter()/tree_leave() around each one and pair
 * every tree_open() and tree_opendir() with tree_release(). What the tree
 * holds is added by its builder (the view module, view.h) through
 * tree-build.h. */
#ifndef CK_TREE_H
#define CK_TREE_H

#include <sys/stat.h>

#include "ckpt.h"

struct tree;
struct tree_node;

struct tree_opts {
	bool json_plain;	/* images/ as `crit decode` instead of --pretty */
	uid_t uid;		/* owner reported for every node */
	gid_t gid;
	int64_t mtime;		/* time reported for synthetic nodes */
	const char *cache_dir;	/* spill directory for nested compressed tars; borrowed */
	bool shared;		/* -o allow_other/allow_root: other users may look, so
				 * no mode from the checkpoint is shown, only 0400/0500 */
	bool raw_symlinks;	/* archive symlinks show their stored targets, which
				 * may point anywhere on the host; default: kept inside */
	bool contain_links;	/* cwd, root, exe, fd/N: an absolute target is
				 * rewritten to its path under rootfs-diff/,
				 * relative to the link, so that following it never
				 * leaves the mount; default: the text /proc shows */
	/* Told about what the tree leaves out or cannot show (a hidden archive
	 * member, a nested tar or pod container that cannot be indexed, an image
	 * that fails to render), one line each, without a trailing newline; the
	 * caller decides whether and how to say it. NULL: nothing is reported. */
	void (*warn)(void *ctx, const char *msg);
	void *warn_ctx;
};

void tree_free(struct tree *t);
DEFINE_CLEANUP(tree_freep, struct tree, tree_free)

/* The node at absolute @path ("/", "/1/status"), or NULL. Borrowed from @t. */
const struct tree_node *tree_lookup(const struct tree *t, const char *path);
/* Fill @st. Renders the node's content on first use to know its size; a node
 * whose content cannot be rendered reports size 0 (and fails in tree_read). */
int tree_getattr(struct tree *t, const struct tree_node *n, struct stat *st);
/* Around every request of a server that serves several at once: between
 * them a node found by tree_lookup() stays valid; only tree_enter() drops
 * the lazy directories' files that are unused and over budget. */
void tree_enter(struct tree *t);
void tree_leave(struct tree *t);
/* Check that @n can be opened for reading: 0, -EIO if its content failed.
 * On success @n stays valid outside requests until tree_release(). */
int tree_open(struct tree *t, const struct tree_node *n);
/* The same for listing directory @n: 0 or -ENOTDIR. */
int tree_opendir(struct tree *t, const struct tree_node *n);
void tree_release(struct tree *t, const struct tree_node *n);
/* Call @fill for each child of directory @n (not "." and ".."); stops when
 * @fill returns non-zero. Returns 0, -ENOTDIR. */
int tree_readdir(struct tree *t, const struct tree_node *n,
	       int (*fill)(void *ctx, const char *name, const struct stat *st), void *ctx);
/* The reply to a read of [off, off + len) of regular node @n, clipped to
 * its size. The node decides where its bytes are: when they all lie in files
 * that stay open (archive, spill or member files), as up to
 * TREE_REPLY_EXTENTS extents to splice (fd -1: zeros); otherwise copied into
 * @r->mem, malloc'ed here and freed by the caller. */
#define TREE_REPLY_EXTENTS 64
struct tree_reply {
	size_t n_ext;			/* > 0: the reply is ext[0 .. n_ext) */
	struct arc_extent ext[TREE_REPLY_EXTENTS];
	void *mem;			/* n_ext == 0: the reply is mem[0 .. len) */
	size_t len;
};
/* Returns 0 or -errno (then nothing is allocated). */
int tree_read_reply(struct tree *t, const struct tree_node *n, uint64_t off, size_t len, struct tree_reply *r);
/* Whether replies of @t's large files can be file extents (tree_read_reply()):
 * false when its archive's members are decoded on read. */
bool tree_splices(const struct tree *t);
/* Copy up to @len bytes at @off of regular node @n. Returns the count or -errno. */
ssize_t tree_read(struct tree *t, const struct tree_node *n, void *buf, size_t len, uint64_t off);
/* The target of symlink @n, NUL-terminated and truncated to @size. Returns 0 or -errno. */
int tree_readlink(struct tree *t, const struct tree_node *n, char *buf, size_t size);
/* Whether @n must be opened with direct I/O (its reads go past its st_size). */
bool tree_direct_io(const struct tree_node *n);
/* SEEK_DATA / SEEK_HOLE on @n: the offset, or -ENXIO. */
int64_t tree_lseek(struct tree *t, const struct tree_node *n, int64_t off, int whence);

#endif
