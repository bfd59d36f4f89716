/* SPDX-License-Identifier: Apache-2.0 */
/* The list of views: what a tree shows, in the order it is built. Views
 * come before the archive's members so that a member cannot shadow them. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

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
	struct view_parts *vp = view_parts(t);

	view_pod_done(vp);
	for (size_t i = 0; i < vp->n_nested; i++)
		arc_free(vp->nested[i]);
	free(vp->nested);
	free(vp->prefix);
	free(vp);
}

struct tree *view_tree_empty(const struct ckpt *ck, const struct arc *a, const struct tree_opts *opts,
			     const char *prefix)
{
	struct view_parts *vp = calloc(1, sizeof(*vp));
	struct tree *t;

	if (!vp)
		return NULL;
	vp->prefix = ck_strdup0(prefix);
	vp->prefix_len = prefix ? strlen(prefix) : 0;
	t = prefix && !vp->prefix ? NULL : tree_new(ck, a, opts);
	if (!t) {
		free(vp->prefix);
		free(vp);
		return NULL;
	}
	t->owner = vp;
	t->owner_free = view_on_free;
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
	char **names;
	ssize_t n = ckpt_pod_containers(a, &names);
	int rc;

	if (n < 0)
		return (int) n;
	if (n == 0)
		return view_tree_build(ck, a, opts, NULL, ret_tree);
	rc = view_tree_new_pod(ck, a, opts, names, (size_t) n, ret_tree);
	ckpt_pod_free(names, (size_t) n);
	return rc;
}
