/* SPDX-License-Identifier: Apache-2.0 */
/* The tars a container checkpoint carries, as browsable trees:
 * /rootfs-diff/ (rootfs-diff.tar, the container's changes to its image),
 * /rootfs-diff.deleted (deleted.files, one path a line), /devshm/
 * (devshm-checkpoint.tar) and /tmpfs/<dev>/ (the images directory's
 * tmpfs-dev-<dev>.tar.gz.img). Each tar is indexed once by arc_open_nested();
 * files of a plain tar are read in place from the archive. Fifos, sockets and
 * devices are left out: opening one from a FUSE mount would block or fail,
 * and so are members with a name longer than NAME_MAX (view-archive.c), as
 * in the archive itself. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "view-priv.h"
#include "spec.h"

/* deleted.files holds one JSON string per path; larger is not a list. */
#define VIEW_DELETED_MAX (16u << 20)
#define VIEW_PATH_MAX 4096

struct nested_file {
	const struct arc *arc;
	const struct arc_entry *e;
};

static uint64_t nested_size(const void *obj)
{
	return ((const struct nested_file *) obj)->e->size;
}

static ssize_t nested_read(const void *obj, void *buf, size_t len, uint64_t off)
{
	const struct nested_file *f = obj;

	return arc_pread(f->arc, f->e, buf, len, off);
}

static const struct tree_stream_ops nested_ops = {
	.size = nested_size,
	.read = nested_read,
	.free = free,
};

/* The directory of the container's own files ("" or "<ctr>/"), from the
 * images directory "checkpoint" or "<ctr>/checkpoint". */
int view_container_prefix(const struct ckpt *ck, char *out, size_t size)
{
	const char *dir = ck->img_dir ? ck->img_dir : "";
	const char *slash = strrchr(dir, '/');
	size_t len = slash ? (size_t) (slash - dir) + 1 : 0;

	if (len >= size)
		return -ENAMETOOLONG;
	memcpy(out, dir, len);
	out[len] = '\0';
	return 0;
}

/* The member @name of the container directory, or NULL. */
const struct arc_entry *view_container_member(const struct tree *t, const char *name)
{
	char prefix[VIEW_PATH_MAX], path[VIEW_PATH_MAX];

	if (view_container_prefix(t->ck, prefix, sizeof(prefix)) < 0)
		return NULL;
	if (snprintf(path, sizeof(path), "%s%s", prefix, name) >= (int) sizeof(path))
		return NULL;
	return arc_find(t->arc, path);
}

static int keep_nested(struct tree *t, struct arc *a)
{
	struct view_parts *vp = view_parts(t);
	struct arc **v = reallocarray(vp->nested, vp->n_nested + 1, sizeof(*v));

	if (!v) {
		arc_free(a);
		return -ENOMEM;
	}
	vp->nested = v;
	vp->nested[vp->n_nested++] = a;
	return 0;
}

static struct tree_node *nested_dir(struct tree *t, struct tree_node *dir, const char *p, size_t len)
{
	struct tree_node *n = tree_child_scan(dir, p, len);
	char *comp;

	if (n)
		return n->kind == TREE_DIR ? n : NULL;
	comp = strndup(p, len);
	if (!comp)
		return NULL;
	n = tree_node_add(t, dir, comp, TREE_DIR, S_IFDIR | 0555);
	free(comp);
	return n;
}

/* The container's own permission bits are evidence and are shown as they
 * were: only the mounting user can look (FUSE without allow_other) and the
 * mount is nosuid. With -o allow_other they are not trusted for anything:
 * every file is @shared_mode. */
static mode_t nested_mode(const struct tree *t, const struct arc_entry *e, mode_t shared_mode)
{
	return t->opts.shared ? shared_mode : e->mode & 07777;
}

static int nested_add(struct tree *t, struct tree_node *top, const struct arc *a,
		      const struct arc_entry *e)
{
	struct tree_node *dir = top, *n;
	const char *p = e->path, *slash;
	struct nested_file *f;

	while ((slash = strchr(p, '/'))) {
		dir = nested_dir(t, dir, p, (size_t) (slash - p));
		if (!dir)
			return 0;	/* a file where a directory is needed, or ENOMEM below */
		p = slash + 1;
	}
	n = tree_child_scan(dir, p, strlen(p));
	if (n) {
		if (n->kind == TREE_DIR && e->type == ARC_DIR) {
			n->mode = S_IFDIR | nested_mode(t, e, 0500);
			n->mtime = e->mtime;
		}
		return 0;
	}
	switch (e->type) {
	case ARC_DIR:
		n = tree_node_add(t, dir, p, TREE_DIR, S_IFDIR | nested_mode(t, e, 0500));
		break;
	case ARC_SYMLINK:
		n = tree_node_add(t, dir, p, TREE_LINK, S_IFLNK | 0777);
		if (n) {
			n->member = e;
			/* "/" of a symlink in rootfs-diff.tar is /rootfs-diff */
			if (tree_link_contain(t, n, top) < 0)
				return -ENOMEM;
		}
		break;
	case ARC_REG:
		f = malloc(sizeof(*f));
		if (!f)
			return -ENOMEM;
		*f = (struct nested_file) { a, e };
		n = tree_stream_add(t, dir, p, S_IFREG | nested_mode(t, e, 0400), &nested_ops, f);
		break;
	default:
		return 0;
	}
	if (!n)
		return -ENOMEM;
	n->mtime = e->mtime;
	return 0;
}

/* Show the tar member @e as the directory @name under @parent. A tar that
 * cannot be read leaves the directory out (with a warning): the rest of the
 * checkpoint is still worth mounting. */
static int add_tar(struct tree *t, struct tree_node *parent, const char *name, const struct arc_entry *e)
{
	_cleanup_free_ char *err = NULL;
	struct arc *a = NULL;
	struct tree_node *top;
	size_t n_long = 0;
	int rc;
	struct arc_opts aopts = { .cache_dir = t->opts.cache_dir };

	rc = arc_open_nested(t->arc, e, &aopts, &a, &err);
	if (rc < 0) {
		if (rc == -ENOMEM)
			return rc;
		tree_warn(t, "cannot index '%s': %s", e->path, err ? err : strerror(-rc));
		return 0;
	}
	rc = keep_nested(t, a);
	if (rc < 0)
		return rc;
	{
		const char *first;
		size_t dropped = arc_dropped(a, &first);

		if (dropped)
			tree_warn(t, "'%s': %zu member%s left out: a path of 4096 bytes or more, or a '..' in it "
				  "(the first: '%.80s%s')", e->path, dropped, dropped == 1 ? "" : "s", first,
				  strlen(first) > 80 ? "..." : "");
	}
	top = tree_node_add(t, parent, name, TREE_DIR, S_IFDIR | 0555);
	if (!top)
		return -ENOMEM;
	top->mtime = e->mtime;
	for (size_t i = 0; i < arc_count(a); i++) {
		const struct arc_entry *m = arc_entry_at(a, i);

		if (view_drop_long_name(t, e->path, m->path, &n_long))
			continue;
		rc = nested_add(t, top, a, m);
		if (rc < 0)
			return rc;
	}
	view_drop_long_names_done(t, e->path, n_long);
	return 0;
}

static int render_deleted(const struct tree *t, const struct tree_node *n, struct ck_buf *out)
{
	_cleanup_free_ void *owned = NULL;
	struct ck_blob b;
	int rc;

	rc = arc_load(t->arc, n->member, VIEW_DELETED_MAX, &b, &owned);
	if (rc < 0)
		return rc;
	return spec_render_deleted(&b, out);
}

static int add_tmpfs(struct tree *t)
{
	size_t dirlen = strlen(t->ck->img_dir);
	struct tree_node *tmpfs = NULL;
	int rc;

	for (size_t i = 0; i < arc_count(t->arc); i++) {
		const struct arc_entry *e = arc_entry_at(t->arc, i);
		const char *base = e->path, *end;
		char dev[64];

		if (e->type != ARC_REG)
			continue;
		if (dirlen) {
			if (strncmp(e->path, t->ck->img_dir, dirlen) || e->path[dirlen] != '/')
				continue;
			base += dirlen + 1;
		}
		if (strncmp(base, "tmpfs-dev-", 10) || strchr(base, '/'))
			continue;
		end = strstr(base, ".tar.gz.img");
		if (!end || end[11] || end == base + 10 || (size_t) (end - base - 10) >= sizeof(dev))
			continue;
		snprintf(dev, sizeof(dev), "%.*s", (int) (end - base - 10), base + 10);
		if (dev[strspn(dev, "0123456789")])
			continue;	/* CRIU writes a mount id: "..", "." or "a/b" would be no name for a directory */
		if (!tmpfs) {
			tmpfs = tree_node_add(t, t->root, "tmpfs", TREE_DIR, S_IFDIR | 0555);
			if (!tmpfs)
				return -ENOMEM;
		}
		rc = add_tar(t, tmpfs, dev, e);
		if (rc < 0)
			return rc;
	}
	return 0;
}

int view_add_nested(struct tree *t)
{
	const struct arc_entry *e;
	struct tree_node *n;
	int rc;

	e = view_container_member(t, "rootfs-diff.tar");
	if (e && e->type == ARC_REG) {
		rc = add_tar(t, t->root, "rootfs-diff", e);
		if (rc < 0)
			return rc;
	}
	e = view_container_member(t, "deleted.files");
	if (e && e->type == ARC_REG) {
		n = tree_text_add(t, t->root, "rootfs-diff.deleted", S_IFREG | 0444, render_deleted, NULL);
		if (!n)
			return -ENOMEM;
		n->member = e;
	}
	e = view_container_member(t, "devshm-checkpoint.tar");
	if (e && e->type == ARC_REG) {
		rc = add_tar(t, t->root, "devshm", e);
		if (rc < 0)
			return rc;
	}
	return add_tmpfs(t);
}
