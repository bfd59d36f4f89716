/* SPDX-License-Identifier: Apache-2.0 */
/* Directory order and lookup: children are sorted once a tree is built
 * (numbers first, as /proc lists pids and fds), and a path is looked up
 * one binary search a component, populating lazy directories on the way. */
#include <stdlib.h>
#include <string.h>

#include "tree-priv.h"

struct tree_node *tree_child_scan(const struct tree_node *dir, const char *name, size_t len)
{
	for (size_t i = 0; i < dir->n_children; i++)
		if (strlen(dir->children[i]->name) == len && !memcmp(dir->children[i]->name, name, len))
			return dir->children[i];
	return NULL;
}

static bool all_digits(const char *s, size_t len)
{
	if (!len)
		return false;
	for (size_t i = 0; i < len; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

/* Directory order: numbers first, in numeric order (pids and fds list as
 * /proc lists them), then everything else by bytes. Lookups use it too. */
static int cmp_name(const char *a, size_t alen, const char *b, size_t blen)
{
	bool ad = all_digits(a, alen), bd = all_digits(b, blen);
	int c;

	if (ad != bd)
		return ad ? -1 : 1;
	if (ad && alen != blen)
		return alen < blen ? -1 : 1;
	c = memcmp(a, b, CK_MIN(alen, blen));
	if (c)
		return c;
	return alen < blen ? -1 : alen > blen;
}

static int cmp_node(const void *a, const void *b)
{
	const char *x = (*(struct tree_node *const *) a)->name, *y = (*(struct tree_node *const *) b)->name;

	return cmp_name(x, strlen(x), y, strlen(y));
}

void tree_sort(struct tree_node *n)
{
	if (n->n_children > 1)
		qsort(n->children, n->n_children, sizeof(*n->children), cmp_node);
	for (size_t i = 0; i < n->n_children; i++)
		tree_sort(n->children[i]);
}

struct child_key {
	const struct tree_node *dir;
	const char *name;
	size_t len;
};

static bool child_before(const void *ctx, size_t i)
{
	const struct child_key *k = ctx;
	const char *cn = k->dir->children[i]->name;

	return cmp_name(cn, strlen(cn), k->name, k->len) < 0;
}

static struct tree_node *child_find(const struct tree *t, const struct tree_node *dir, const char *name,
				    size_t len)
{
	struct child_key k = { dir, name, len };
	size_t i;

	if (dir->lazy && tree_lazy_ensure(t, dir) < 0)
		return NULL;
	i = ck_lower_bound(dir->n_children, child_before, &k);
	const char *cn = i < dir->n_children ? dir->children[i]->name : NULL;

	return cn && cmp_name(cn, strlen(cn), name, len) == 0 ? dir->children[i] : NULL;
}

const struct tree_node *tree_lookup(const struct tree *t, const char *path)
{
	const struct tree_node *n = t->root;

	while (n && *path) {
		const char *end;

		while (*path == '/')
			path++;
		if (!*path)
			break;
		if (n->kind != TREE_DIR)
			return NULL;
		end = strchrnul(path, '/');
		n = child_find(t, n, path, (size_t) (end - path));
		path = end;
	}
	return n;
}
