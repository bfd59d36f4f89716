/* SPDX-License-Identifier: Apache-2.0 */
/* The archive as it is (every member at its own path, read in place) and
 * images/<name>.json, each protobuf image as crit decode prints it. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "view-priv.h"


/* images/<name>.json: an image larger than IMG_MAX_SIZE is not rendered, and
 * its read fails (EIO at the FUSE boundary). */
static int render_json(const struct tree *t, const struct tree_node *n, struct ck_buf *out)
{
	_cleanup_free_ void *owned = NULL;
	struct ck_blob b;
	int rc;

	rc = arc_load(t->arc, n->member, IMG_MAX_SIZE, &b, &owned);
	if (rc < 0)
		return rc;
	return img_render_json(strrchr(n->member->path, '/') ? strrchr(n->member->path, '/') + 1 :
			       n->member->path, &b, !t->opts.json_plain, out);
}

struct tree_node *view_member_dir(struct tree *t, struct view_member_at *at, const char *path, const char **ret_base,
				   int *ret_err)
{
	const char *last = strrchr(path, '/'), *p = path, *slash;
	size_t dir_len = last ? (size_t) (last - path) : 0;
	struct tree_node *dir = at->top, *n;

	*ret_err = 0;
	if (at->dir && at->dir_len == dir_len && !strncmp(at->path, path, dir_len)) {
		dir = at->dir;
		p = last ? last + 1 : path;
	}
	while ((slash = strchr(p, '/'))) {
		n = tree_child_scan(dir, p, (size_t) (slash - p));
		if (!n) {
			char *comp = strndup(p, (size_t) (slash - p));

			n = comp ? tree_node_add(t, dir, comp, TREE_DIR, S_IFDIR | 0555) : NULL;
			free(comp);
			if (!n) {
				*ret_err = -ENOMEM;
				return NULL;
			}
		}
		if (n->kind != TREE_DIR)
			return NULL;	/* a file where a directory is needed: keep the file */
		dir = n;
		p = slash + 1;
	}
	at->dir = dir;
	at->path = path;
	at->dir_len = dir_len;
	*ret_base = p;
	return dir;
}

struct tree_node *view_member_added(const struct tree_node *dir, const char *name)
{
	struct tree_node *n = dir->n_children ? dir->children[dir->n_children - 1] : NULL;

	return n && !strcmp(n->name, name) ? n : NULL;
}

/* Create (or find) the directory chain for archive path @path and add the
 * member itself as the last component. */
static int add_member(struct tree *t, const struct arc_entry *e, const char *path, struct view_member_at *at)
{
	struct tree_node *dir, *n;
	const char *p;
	int rc;

	dir = view_member_dir(t, at, path, &p, &rc);
	if (!dir || !*p)
		return rc;
	n = view_member_added(dir, p);
	if (n) {
		/* an implied directory met its own entry: adopt its time (not its
		 * mode: the archive's modes are hostile input, see below) */
		if (n->kind == TREE_DIR && e->type == ARC_DIR) {
			n->mode = S_IFDIR | 0500;
			n->mtime = e->mtime;
		}
		return 0;
	}
	/* Members are owner-only whatever modes the archive claims: they hold
	 * memory, environment and queued data, and with -o allow_other the
	 * archive must not be able to open them to other users. */
	switch (e->type) {
	case ARC_DIR:
		n = tree_node_add(t, dir, p, TREE_DIR, S_IFDIR | 0500);
		break;
	case ARC_SYMLINK:
		n = tree_node_add(t, dir, p, TREE_LINK, S_IFLNK | 0777);
		break;
	case ARC_REG:
		n = tree_node_add(t, dir, p, TREE_MEMBER, S_IFREG | 0400);
		break;
	default:
		return 0;
	}
	if (!n)
		return -ENOMEM;
	n->member = e;
	n->slice_len = e->size;
	n->mtime = e->mtime;
	/* "/" of an archive symlink is the mount's root */
	return e->type == ARC_SYMLINK ? tree_link_contain(t, n, tree_mount_root(n)) : 0;
}

int view_add_images_dir(struct tree *t)
{
	size_t dirlen = strlen(t->ck->img_dir);
	struct tree_node *images;

	images = tree_node_add(t, t->root, "images", TREE_DIR, S_IFDIR | 0555);
	if (!images)
		return -ENOMEM;
	for (size_t i = 0; i < arc_count(t->arc); i++) {
		const struct arc_entry *e = arc_entry_at(t->arc, i);
		const char *base = e->path;
		struct ck_blob head = { 0 };
		uint8_t buf[8];
		char name[300];
		ssize_t got;
		struct tree_node *n;

		if (e->type != ARC_REG)
			continue;
		if (dirlen) {
			if (strncmp(e->path, t->ck->img_dir, dirlen) || e->path[dirlen] != '/')
				continue;
			base = e->path + dirlen + 1;
		}
		if (strchr(base, '/'))
			continue;
		got = arc_pread(t->arc, e, buf, sizeof(buf), 0);
		if (got < 0)
			continue;
		head.data = buf;
		head.len = (size_t) got;
		if (!img_magic_name(base, &head))
			continue;
		if (snprintf(name, sizeof(name), "%s.json", base) >= (int) sizeof(name))
			continue;
		if (strlen(base) > 4 && !strcmp(base + strlen(base) - 4, ".img"))
			snprintf(name, sizeof(name), "%.*s.json", (int) strlen(base) - 4, base);
		n = tree_text_add(t, images, name, S_IFREG | 0400, render_json, NULL);	/* as private as the image */
		if (!n)
			return -ENOMEM;
		n->member = e;
	}
	return 0;
}

/* A path component longer than NAME_MAX: more than the mount's statfs()
 * f_namemax says a name can be, and more than ext4 and most filesystems
 * take, so a copy of the mount (cp -a, tar, rsync) would fail on it. FUSE
 * itself passes longer names, so this is a choice, not the kernel's. */
static bool name_too_long(const char *path)
{
	size_t run = 0;

	for (; *path; path++) {
		run = *path == '/' ? 0 : run + 1;
		if (run > NAME_MAX)
			return true;
	}
	return false;
}

#define VIEW_DROP_WARN_MAX 10	/* named one by one; the rest are counted */

bool view_drop_long_name(const struct tree *t, const char *tar, const char *path, size_t *n_long)
{
	if (!name_too_long(path))
		return false;
	if ((*n_long)++ >= VIEW_DROP_WARN_MAX)
		return true;
	if (tar)
		tree_warn(t, "'%s': member '%.80s...' left out: a name in its path is longer than %d bytes",
			  tar, path, NAME_MAX);
	else
		tree_warn(t, "archive member '%.80s...' left out: a name in its path is longer than %d bytes",
			  path, NAME_MAX);
	return true;
}

void view_drop_long_names_done(const struct tree *t, const char *tar, size_t n_long)
{
	if (n_long <= VIEW_DROP_WARN_MAX)
		return;
	if (tar)
		tree_warn(t, "'%s': %zu more members left out: a name in the path longer than %d bytes",
			  tar, n_long - VIEW_DROP_WARN_MAX, NAME_MAX);
	else
		tree_warn(t, "%zu more archive members left out: a name in the path longer than %d bytes",
			  n_long - VIEW_DROP_WARN_MAX, NAME_MAX);
}

/* The names of the nodes the views put in the root, sorted, and a member's
 * first component looked up among them. */
struct view_names {
	const char **v;
	size_t n;
	const char *p;
	size_t len;
};

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *) a, *(const char *const *) b);
}

static bool name_before(const void *ctx, size_t i)
{
	const struct view_names *k = ctx;

	return strncmp(k->v[i], k->p, k->len) < 0;
}

/* The index in @k of the view named @p[0..len), or SIZE_MAX. */
static size_t view_name(struct view_names *k, const char *p, size_t len)
{
	size_t i;

	k->p = p;
	k->len = len;
	i = ck_lower_bound(k->n, name_before, k);
	return i < k->n && !strncmp(k->v[i], p, len) && !k->v[i][len] ? i : SIZE_MAX;
}

/* Views named in the line about hidden members; the rest are counted. */
#define VIEW_HIDDEN_NAMES_MAX 8

/* Say once which archive members the views hid: @hits[i] members under
 * view @k->v[i], @n in all, the first at @first. A tree copied from a mount
 * (cp -a, rsync) holds a file or directory under every view's name; its
 * views are built again from its checkpoint, so what they hide is what the
 * mount showed. The views every tree has (images/, ps, stat) tell it. */
static int warn_hidden(const struct tree *t, struct view_names *k, const size_t *hits, size_t n,
		       const char *first)
{
	static const char *const always[] = { "images", "ps", "stat" };
	_cleanup_(ck_buf_done) struct ck_buf list = { 0 };
	size_t views = 0;
	bool copy = true;

	if (n == 1)
		tree_warn(t, "archive member '%s' hidden by a ckptfs view", first);
	if (n <= 1)
		return 0;
	for (size_t i = 0; i < k->n; i++) {
		const struct tree_node *v = tree_child_scan(t->root, k->v[i], strlen(k->v[i]));

		if (!hits[i])
			continue;
		if (views++ < VIEW_HIDDEN_NAMES_MAX)
			ck_buf_printf(&list, "%s%s%s", list.len ? ", " : "", k->v[i],
				      v && v->kind == TREE_DIR ? "/" : "");
	}
	if (views > VIEW_HIDDEN_NAMES_MAX)
		ck_buf_printf(&list, " and %zu more", views - VIEW_HIDDEN_NAMES_MAX);
	for (size_t a = 0; a < ARRAY_SIZE(always); a++) {
		size_t i = view_name(k, always[a], strlen(always[a]));

		copy &= i != SIZE_MAX && hits[i];
	}
	if (list.oom)
		return -ENOMEM;
	tree_warn(t, "%zu archive members hidden by %zu ckptfs view%s of the same name%s (%s)%s", n, views,
		  views == 1 ? "" : "s", views == 1 ? "" : "s", list.data,
		  copy ? ": a copy of a ckptfs mount, whose views are made again from its checkpoint" : "");
	return 0;
}

int view_add_archive(struct tree *t)
{
	const struct view_parts *vp = view_parts(t);
	struct view_names views = { .n = t->root->n_children };	/* added before: pid dirs, images/ */
	struct view_member_at at = { .top = t->root };
	_cleanup_free_ size_t *hits = NULL;
	size_t n_long = 0, n_hidden = 0, v;
	const char *first, *first_hidden = NULL;
	size_t dropped = arc_dropped(t->arc, &first);
	int rc = 0;

	if (dropped && !vp->prefix_len)
		tree_warn(t, "%zu archive member%s left out: a path of 4096 bytes or more, or a '..' in it "
			  "(the first: '%.80s%s')", dropped, dropped == 1 ? "" : "s", first,
			  strlen(first) > 80 ? "..." : "");
	views.v = calloc(views.n ? views.n : 1, sizeof(*views.v));
	hits = calloc(views.n ? views.n : 1, sizeof(*hits));
	if (!views.v || !hits) {
		free(views.v);
		return -ENOMEM;
	}
	for (v = 0; v < views.n; v++)
		views.v[v] = t->root->children[v]->name;
	qsort(views.v, views.n, sizeof(*views.v), name_cmp);

	for (size_t i = 0; i < arc_count(t->arc) && rc >= 0; i++) {
		const struct arc_entry *e = arc_entry_at(t->arc, i);
		const char *path = e->path + vp->prefix_len, *slash;

		/* a pod container's subtree shows its own directory only */
		if (vp->prefix_len && (strncmp(e->path, vp->prefix, vp->prefix_len) || !*path))
			continue;
		slash = strchr(path, '/');
		v = view_name(&views, path, slash ? (size_t) (slash - path) : strlen(path));
		if (v != SIZE_MAX) {
			hits[v]++;
			if (!n_hidden++)
				first_hidden = e->path;
			continue;
		}
		if (view_drop_long_name(t, NULL, e->path, &n_long))
			continue;
		rc = add_member(t, e, path, &at);
	}
	if (rc >= 0)
		rc = warn_hidden(t, &views, hits, n_hidden, first_hidden);
	free(views.v);
	if (rc < 0)
		return rc;
	view_drop_long_names_done(t, NULL, n_long);
	return 0;
}
