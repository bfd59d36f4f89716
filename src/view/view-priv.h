/* SPDX-License-Identifier: Apache-2.0 */
/* Internal to the views (view*.c): one builder per file, each adding its
 * part of the mount to a tree through the store's tree_*_add() calls
 * (tree-build.h). */
#ifndef CK_VIEW_PRIV_H
#define CK_VIEW_PRIV_H

#include "tree-build.h"
#include "view.h"

/* What the views hang on a tree they build (tree->owner, view.c), freed
 * with it. */
struct view_parts {
	char *prefix;		/* a pod container's subtree: its directory "<name>/"; else NULL */
	size_t prefix_len;
	struct arc **nested;	/* inner tars the tree shows (view-nested.c) */
	size_t n_nested;
	struct tree **subs;	/* a pod's container subtrees, grafted under the root (view-pod.c) */
	size_t n_subs;
	struct ckpt **pod_cks;	/* their models, except the one view_tree_new() was given */
	size_t n_pod_cks;
};

static inline struct view_parts *view_parts(const struct tree *t)
{
	return t->owner;
}

/* View builders, one per file. Each returns 0 or -ENOMEM. */
int view_add_pid_dirs(struct tree *t);		/* view-pid.c: /<pid>/ */
int view_add_images_dir(struct tree *t);	/* view-archive.c: /images/ */
int view_add_archive(struct tree *t);		/* view-archive.c: every member, last */
/* Where the members of an archive go below @top: the directory the member
 * before went to. The archive lists its members sorted by path, each
 * directory before what it holds (arc.h), so the members of one directory
 * are consecutive: most go where the one before went, and only a change of
 * directory walks the path again, from the child added last. */
struct view_member_at {
	struct tree_node *top;
	struct tree_node *dir;
	const char *path;	/* that member's path (borrowed) */
	size_t dir_len;		/* the length of its directory part */
};
/* The directory of member @path, made (0555) where missing, and in
 * @ret_base its last component. NULL when a non-directory is in the way
 * (*@ret_err 0) or when out of memory (*@ret_err -ENOMEM). */
struct tree_node *view_member_dir(struct tree *t, struct view_member_at *at, const char *path, const char **ret_base,
				   int *ret_err);
/* The child @name of @dir when it is there: names are added once and in
 * order, so only the last child added can be it. */
struct tree_node *view_member_added(const struct tree_node *dir, const char *name);
/* view-archive.c: true if a name in @path is longer than NAME_MAX (more
 * than the mount's f_namemax and than ext4 takes: a copy would fail), so
 * the member is left out (its archive or inner tar still holds it):
 * the first ones are named in a warning (as members of the inner tar
 * @tar, or of the archive for NULL), counted in *@n_long; after the
 * archive, view_drop_long_names_done() counts the rest in one more line. */
bool view_drop_long_name(const struct tree *t, const char *tar, const char *path, size_t *n_long);
void view_drop_long_names_done(const struct tree *t, const char *tar, size_t n_long);
int view_add_sys(struct tree *t);		/* view-sys.c: /self, /stat, /uptime, ... for ps, lsof */
/* view-sys.c: when the checkpoint was taken, in seconds since the epoch, by
 * spec_checkpoint_time(): config.dump's checkpointedTime, else the mtime of
 * stats-dump, else the newest archive member's, else the archive's (opts.mtime). */
int64_t view_checkpoint_time(const struct tree *t);
/* view-nested.c: the member @name of the container's own directory
 * (ckpt_container_member()), or NULL. */
const struct arc_entry *view_container_member(const struct tree *t, const char *name);
int view_add_nested(struct tree *t);		/* view-nested.c: /rootfs-diff/, /devshm/, /tmpfs/ */
/* view.c: a tree for @ck whose archive view shows only the members under
 * @prefix ("<name>/", copied), with the prefix removed; NULL shows all. */
int view_tree_build(const struct ckpt *ck, const struct arc *a, const struct tree_opts *opts, const char *prefix,
		  struct tree **ret_tree);
/* view.c: an empty tree with its view parts (@prefix as view_tree_build()
 * takes it), freed with it. NULL on ENOMEM. */
struct tree *view_tree_empty(const struct ckpt *ck, const struct arc *a, const struct tree_opts *opts,
			     const char *prefix);
/* view-pod.c: the tree of a Kubernetes pod checkpoint whose containers
 * ckpt_pod_containers() found (@names, @n of them), one container subtree
 * under /<name>/; and freeing a tree's pod parts. */
int view_tree_new_pod(const struct ckpt *ck, const struct arc *a, const struct tree_opts *opts,
		      char *const *names, size_t n, struct tree **ret_tree);
void view_pod_done(struct view_parts *vp);
int view_add_container(struct tree *t);	/* view-container.c: /container.json, /ps, ... */

/* view-ns.c: net/, ns/, mountinfo, mounts and cgroup of /<pid>/ @d. Returns 0 or -ENOMEM. */
int view_add_pid_ns_net(struct tree *t, struct tree_node *d, const struct ckpt_proc *p);

/* view-content.c: /files/ (every content object) and /<pid>/fdcontent/ of @d. */
int view_add_files_dir(struct tree *t);
int view_add_fdcontent(struct tree *t, struct tree_node *d, const struct ckpt_proc *p);

#endif
