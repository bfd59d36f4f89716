/* SPDX-License-Identifier: Apache-2.0 */
/* Kubernetes pod checkpoints: one directory per container, each with its own
 * checkpoint/ and engine files. Each container gets a model (ckpt_load() on
 * "<name>/checkpoint") and a whole tree of its own (view_tree_build() showing
 * only "<name>/"), whose root is grafted under the pod's root as /<name>/.
 * Nodes remember the tree that built them, so they render with their own
 * container's model; inode numbers are renumbered over the whole forest.
 * The pod's own files (pod.dump, pod.options, ...) stay at the root. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "view-priv.h"

#define POD_IMG "/checkpoint/inventory.img"

/* The container directory of @path ("<name>/checkpoint/inventory.img"),
 * its length, or 0. */
static size_t pod_container(const char *path)
{
	const char *slash = strchr(path, '/');

	if (!slash || slash == path || strcmp(slash, POD_IMG))
		return 0;
	return (size_t) (slash - path);
}

int view_pod_count(const struct arc *a)
{
	int n = 0;

	if (arc_find(a, "checkpoint/inventory.img"))
		return 0;
	for (size_t i = 0; i < arc_count(a); i++) {
		const struct arc_entry *e = arc_entry_at(a, i);

		n += e->type == ARC_REG && pod_container(e->path) > 0;
	}
	return n;
}

static int graft(struct tree *top, struct tree *sub, const char *name)
{
	struct tree_node *root = top->root, **c;
	struct tree **subs;
	char *copy = strdup(name);

	c = reallocarray(root->children, root->n_children + 1, sizeof(*c));
	if (c)
		root->children = c;
	subs = reallocarray(top->subs, top->n_subs + 1, sizeof(*subs));
	if (subs)
		top->subs = subs;
	if (!copy || !c || !subs) {
		free(copy);
		tree_free(sub);
		return -ENOMEM;
	}
	root->cap_children = root->n_children + 1;
	root->children[root->n_children++] = sub->root;
	top->subs[top->n_subs++] = sub;
	free(sub->root->name);
	sub->root->name = copy;
	sub->root->parent = root;
	tree_adopt(top, sub);
	return 0;
}

/* Build /<name>/ for the container directory @name. */
static int add_container(struct tree *top, const struct ckpt *ck, const char *name)
{
	_cleanup_free_ char *dir = NULL, *prefix = NULL, *err = NULL;
	struct ckpt *own = NULL;
	struct tree *sub = NULL;
	struct ckpt **v;
	int rc;

	if (asprintf(&dir, "%s/checkpoint", name) < 0 || asprintf(&prefix, "%s/", name) < 0)
		return -ENOMEM;
	if (strcmp(ck->img_dir, dir)) {
		struct ckpt_opts co = { .img_dir = dir };

		rc = ckpt_load(top->arc, &co, &own, &err);
		if (rc == -ENOMEM)
			return rc;
		if (rc < 0) {
			tree_warn(top, "pod container '%s' left out: %s", name, err ? err : strerror(-rc));
			return 0;
		}
		v = reallocarray(top->pod_cks, top->n_pod_cks + 1, sizeof(*v));
		if (!v) {
			ckpt_free(own);
			return -ENOMEM;
		}
		top->pod_cks = v;
		top->pod_cks[top->n_pod_cks++] = own;
		ck = own;
	}
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
		    struct tree **ret_tree)
{
	struct tree *t = view_tree_empty(ck, a, opts, NULL);
	int rc;

	if (!t)
		return -ENOMEM;
	for (size_t i = 0; i < arc_count(a); i++) {
		const struct arc_entry *e = arc_entry_at(a, i);
		size_t len = e->type == ARC_REG ? pod_container(e->path) : 0;
		char name[256];

		if (!len || len >= sizeof(name))
			continue;
		snprintf(name, sizeof(name), "%.*s", (int) len, e->path);
		rc = add_container(t, ck, name);
		if (rc < 0)
			goto out_free;
	}
	rc = -ENOENT;
	if (!t->n_subs)
		goto out_free;
	rc = add_pod_files(t);
	if (rc < 0)
		goto out_free;
	tree_sort(t->root);	/* the subtrees are sorted already: this orders the containers */
	t->next_ino = tree_renumber(t, t->root, 1);
	ck_log(CK_LOG_DEBUG, "pod: %zu containers", t->n_subs);
	*ret_tree = t;
	return 0;
out_free:
	tree_free(t);
	return rc;
}

void view_pod_done(struct tree *t)
{
	/* the subtrees' roots were freed with the pod's root */
	for (size_t i = 0; i < t->n_subs; i++) {
		t->subs[i]->root = NULL;
		tree_free(t->subs[i]);
	}
	free(t->subs);
	for (size_t i = 0; i < t->n_pod_cks; i++)
		ckpt_free(t->pod_cks[i]);
	free(t->pod_cks);
}
