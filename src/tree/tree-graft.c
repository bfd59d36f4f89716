/* SPDX-License-Identifier: Apache-2.0 */
/* Grafted subtrees: the root of a built tree becomes a directory of another
 * one (a pod's container under the pod's root, view-pod.c), its nodes still
 * rendering with their own tree, its lazy directories under the mount
 * tree's budget and lock; then every node is numbered again. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "tree-priv.h"

int tree_graft(struct tree *top, struct tree *sub, const char *name)
{
	struct tree_node *root = top->root, **c;
	char *copy = strdup(name);

	c = reallocarray(root->children, root->n_children + 1, sizeof(*c));
	if (c)
		root->children = c;
	if (!copy || !c) {
		free(copy);
		return -ENOMEM;
	}
	root->cap_children = root->n_children + 1;
	root->children[root->n_children++] = sub->root;
	free(sub->root->name);
	sub->root->name = copy;
	sub->root->parent = root;
	/* its populated lazy directories go: their nodes are numbered again */
	tree_lazy_drop_all(tree_store(sub));
	tree_store(sub)->top = tree_top(top);
	return 0;
}

static uint64_t renumber(struct tree_node *n, uint64_t next)
{
	n->ino = next++;
	if (n->lazy) {
		n->lazy->ino_base = next;
		return next + n->lazy->ino_span;
	}
	for (size_t i = 0; i < n->n_children; i++)
		next = renumber(n->children[i], next);
	return next;
}

void tree_renumber(struct tree *t)
{
	tree_lazy_drop_all(tree_top(t));
	tree_store(t)->next_ino = renumber(t->root, 1);
}
