/* SPDX-License-Identifier: Apache-2.0 */
/* Archive symlinks kept inside the mount: a stored target is resolved
 * lexically below a chosen root and rewritten relative to the link. */
#include <errno.h>
#include <string.h>

#include "tree-priv.h"

/* Components of @target, resolved lexically from a directory @depth levels
 * below the root: returns how many levels to climb (<= @depth) and appends
 * the names to descend into @out, joined by '/'. */
static unsigned link_resolve(const char *target, unsigned depth, struct ck_buf *out)
{
	unsigned up = 0;
	size_t marks[256], n_marks = 0, dropped = 0;
	const char *p = target;

	if (*p == '/')
		up = depth;
	while (*p) {
		const char *end = strchrnul(p, '/');
		size_t len = (size_t) (end - p);

		if (len == 2 && p[0] == '.' && p[1] == '.') {
			if (dropped) {
				dropped--;	/* a name past the stack's depth, see below */
			} else if (n_marks) {
				out->len = marks[--n_marks];
				if (out->data)
					out->data[out->len] = '\0';
			} else if (up < depth) {
				up++;
			}
		} else if (len && !(len == 1 && p[0] == '.')) {
			if (n_marks == ARRAY_SIZE(marks)) {
				dropped++;	/* deeper than any real tree; ".." still pairs with it */
			} else {
				marks[n_marks++] = out->len;
				ck_buf_printf(out, "%s%.*s", out->len ? "/" : "", (int) len, p);
			}
		}
		p = *end ? end + 1 : end;
	}
	return up;
}

const struct tree_node *tree_mount_root(const struct tree_node *n)
{
	while (n->parent)
		n = n->parent;
	return n;
}

int tree_link_contain(struct tree *t, struct tree_node *n, const struct tree_node *root)
{
	struct ck_buf names = { 0 }, out = { 0 };
	unsigned depth = 0, up;
	const struct tree_node *d;

	if (t->opts.raw_symlinks || !n->member || !n->member->link)
		return 0;
	for (d = n->parent; d && d != root; d = d->parent)
		depth++;
	if (!d)
		return -EINVAL;
	up = link_resolve(n->member->link, depth, &names);
	for (unsigned i = 0; i < up; i++)
		ck_buf_printf(&out, "%s..", i ? "/" : "");
	if (names.len)
		ck_buf_printf(&out, "%s%s", up ? "/" : "", names.data);
	else if (!up)
		ck_buf_printf(&out, ".");
	ck_buf_done(&names);
	if (out.oom) {
		ck_buf_done(&out);
		return -ENOMEM;
	}
	n->data = ck_buf_steal(&out, &n->len);
	return 0;
}
