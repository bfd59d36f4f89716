/* SPDX-License-Identifier: Apache-2.0 */
/* The list of views: what a tree shows, in the order it is built. Views
 * come before the archive's members so that a member cannot shadow them. */
#include <errno.h>
#include <stdlib.h>

#include "arc.h"
#include "view-priv.h"

static int (*const builders[])(struct tree *t) = {
	view_add_pid_dirs,	/* view-pid.c: /<pid>/ */
	view_add_images_dir,	/* view-archive.c: /images/ */
	view_add_files_dir,	/* view-content.c: /files/ */
	view_add_nested,	/* view-nested.c: /rootfs-diff/, /devshm/, /tmpfs/ */
	view_add_container,	/* view-container.c: /container.json, /ps, ... */
	view_add_sys,		/* view-sys.c: /self, /stat, /uptime, ... */
	view_add_archive,	/* view-archive.c: every member, last */
};

/* What the views hung on a tree: nested archives and a pod's parts. */
static void view_on_free(struct tree *t)
{
	view_pod_done(t);
	for (size_t i = 0; i < t->n_nested; i++)
		arc_free(t->nested[i]);
	free(t->nested);
}

struct tree *view_tree_empty(const struct ckpt *ck, const struct arc *a, const struct tree_opts *opts,
			     const char *prefix)
{
	struct tree *t = tree_new_empty(ck, a, opts, prefix);

	if (t)
		t->on_free = view_on_free;
	return t;
}

int view_tree_build(const struct ckpt *ck, const struct arc *a, const struct tree_opts *opts, const char *prefix,
		    struct tree **ret_tree)
{
	struct tree *t = view_tree_empty(ck, a, opts, prefix);
	int rc = 0;

	if (!t)
		return -ENOMEM;
	for (size_t i = 0; i < sizeof(builders) / sizeof(builders[0]) && rc >= 0; i++)
		rc = builders[i](t);
	if (rc < 0) {
		tree_free(t);
		return rc;
	}
	tree_sort(t->root);
	*ret_tree = t;
	return 0;
}

int view_tree_new(const struct ckpt *ck, const struct arc *a, const struct tree_opts *opts, struct tree **ret_tree)
{
	if (view_pod_count(a) > 1)
		return view_tree_new_pod(ck, a, opts, ret_tree);
	return view_tree_build(ck, a, opts, NULL, ret_tree);
}
