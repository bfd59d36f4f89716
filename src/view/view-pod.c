/* SPDX-License-Identifier: Apache-2.0 */
/* Kubernetes pod checkpoints (laid out as ckpt_pod_containers() says): one
 * directory per container, each with its own checkpoint/ and engine files.
 * Each container gets a model (ckpt_load() on "<name>/checkpoint") and a
 * whole tree of its own (view_tree_build() showing only "<name>/"), whose
 * root is grafted under the pod's root as /<name>/ (tree_graft()). Nodes
 * remember the tree that built them, so they render with their own
 * container's model; inode numbers are renumbered over the whole forest.
 * The pod's own files (pod.dump, pod.options, ...) stay at the root. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "view-priv.h"

/* Graft @sub, built for container @name, under the pod's root; it is freed
 * with the pod's tree (view_pod_done()), or here on failure. */
static int graft(struct tree *top, struct tree *sub, const char *name)
{
	struct view_parts *vp = view_parts(top);
	struct tree **subs = reallocarray(vp->subs, vp->n_subs + 1, sizeof(*subs));
	int rc = -ENOMEM;

	if (subs) {
		vp->subs = subs;
		rc = tree_graft(top, sub, name);
	}
	if (rc < 0) {
		tree_free(sub);
		return rc;
	}
	vp->subs[vp->n_subs++] = sub;
	return 0;
}

/* The model of container @name (images in @dir): @ck when that is the one
 * the pod was opened with, else loaded here and kept with the pod's parts.
 * NULL in *@ret when the container is left out. Returns 0 or -ENOMEM. */
static int container_model(struct tree *top, const struct ckpt *ck, const char *name, const char *dir,
			   const struct ckpt **ret)
{
	struct view_parts *vp = view_parts(top);
	struct ckpt_opts co = { .img_dir = dir };
	_cleanup_free_ char *err = NULL;
	struct ckpt *own = NULL;
	struct ckpt **v;
	int rc;

	*ret = NULL;
	if (!strcmp(ck->img_dir, dir)) {
		*ret = ck;
		return 0;
	}
	rc = ckpt_load(top->arc, &co, &own, &err);
	if (rc == -ENOMEM)
		return rc;
	if (rc < 0) {
		tree_warn(top, "pod container '%s' left out: %s", name, err ? err : strerror(-rc));
		return 0;
	}
	v = reallocarray(vp->pod_cks, vp->n_pod_cks + 1, sizeof(*v));
	if (!v) {
		ckpt_free(own);
		return -ENOMEM;
	}
	vp->pod_cks = v;
	vp->pod_cks[vp->n_pod_cks++] = own;
	*ret = own;
	return 0;
}

/* Build /<name>/ for the container directory @name. */
static int add_container(struct tree *top, const struct ckpt *ck, const char *name)
{
	_cleanup_free_ char *dir = ckpt_pod_img_dir(name), *prefix = NULL;
	struct tree *sub = NULL;
	int rc;

	if (!dir || asprintf(&prefix, "%s/", name) < 0)
		return -ENOMEM;
	rc = container_model(top, ck, name, dir, &ck);
	if (rc < 0 || !ck)
		return rc;
	rc = view_tree_build(ck, top->arc, &top->opts, prefix, &sub);
	if (rc < 0)
		return rc;
	return graft(top, sub, name);
}

/* The pod's own regular files at the archive's root. */
static int add_pod_files(struct tree *top)
{
	for (size_t i = 0; i < arc_count(top->arc); i++) {
		const struct arc_entry *e = arc_entry_at(top->arc, i);
		struct tree_node *n;

		if (e->type != ARC_REG || strchr(e->path, '/') ||
		    tree_child_scan(top->root, e->path, strlen(e->path)))
			continue;
		n = tree_slice_add(top, top->root, e->path, S_IFREG | (e->mode & 0444) | 0400, e, 0, e->size);
		if (!n)
			return -ENOMEM;
		n->mtime = e->mtime;
	}
	return 0;
}

int view_tree_new_pod(const struct ckpt *ck, const struct arc *a, const struct tree_opts *opts,
		      char *const *names, size_t n, struct tree **ret_tree)
{
	struct tree *t = view_tree_empty(ck, a, opts, NULL);
	int rc;

	if (!t)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		if (strlen(names[i]) > NAME_MAX)
			continue;	/* not a name a directory of the mount can have */
		rc = add_container(t, ck, names[i]);
		if (rc < 0)
			goto out_free;
	}
	rc = -ENOENT;
	if (!view_parts(t)->n_subs)
		goto out_free;
	rc = add_pod_files(t);
	if (rc < 0)
		goto out_free;
	tree_sort(t->root);	/* the subtrees are sorted already: this orders the containers */
	tree_renumber(t);
	ck_log(CK_LOG_DEBUG, "pod: %zu containers", view_parts(t)->n_subs);
	*ret_tree = t;
	return 0;
out_free:
	tree_free(t);
	return rc;
}

void view_pod_done(struct view_parts *vp)
{
	/* the subtrees' nodes are freed with the pod's root (tree_graft()) */
	for (size_t i = 0; i < vp->n_subs; i++)
		tree_free(vp->subs[i]);
	free(vp->subs);
	for (size_t i = 0; i < vp->n_pod_cks; i++)
		ckpt_free(vp->pod_cks[i]);
	free(vp->pod_cks);
}
