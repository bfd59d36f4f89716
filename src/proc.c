/* SPDX-License-Identifier: Apache-2.0 */
/* The tree itself: nodes, lookup, attributes, reads and the render cache.
 * What the tree holds is added by the view files (proc-pid.c, proc-archive.c). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "proc-priv.h"

void pv_warn(const struct pv_tree *t, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	if (!t->opts.warn)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	t->opts.warn(t->opts.warn_ctx, msg);
}

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

const struct pv_node *pv_mount_root(const struct pv_node *n)
{
	while (n->parent)
		n = n->parent;
	return n;
}

int pv_link_contain(struct pv_tree *t, struct pv_node *n, const struct pv_node *root)
{
	struct ck_buf names = { 0 }, out = { 0 };
	unsigned depth = 0, up;
	const struct pv_node *d;

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

static void node_free(struct pv_node *n)
{
	if (!n)
		return;
	for (size_t i = 0; i < n->n_children; i++)
		node_free(n->children[i]);
	if (n->kind == PV_STREAM && n->ops->free)
		n->ops->free(n->obj);
	free(n->children);
	free(n->name);
	free(n->data);
	free(n);
}

struct pv_node *pv_node_add(struct pv_tree *t, struct pv_node *parent, const char *name,
			    enum pv_kind kind, mode_t mode)
{
	struct pv_node *n = calloc(1, sizeof(*n));

	if (!n)
		return NULL;
	n->name = strdup(name);
	if (!n->name) {
		free(n);
		return NULL;
	}
	n->kind = kind;
	n->mode = mode;
	n->tree = t;
	n->ino = t->next_ino++;
	n->mtime = t->opts.mtime;
	n->parent = parent;
	if (parent) {
		if (parent->n_children == parent->cap_children) {
			size_t cap = parent->cap_children ? parent->cap_children * 2 : 8;
			struct pv_node **c = realloc(parent->children, cap * sizeof(*c));

			if (!c) {
				node_free(n);
				return NULL;
			}
			parent->children = c;
			parent->cap_children = cap;
		}
		parent->children[parent->n_children++] = n;
		n->proc = parent->proc;
		n->thread = parent->thread;
		n->fd = parent->fd;
	}
	return n;
}

struct pv_node *pv_text_add(struct pv_tree *t, struct pv_node *parent, const char *name, mode_t mode,
			    pv_render_fn render, const void *arg)
{
	struct pv_node *n = pv_node_add(t, parent, name, S_ISLNK(mode) ? PV_LINK : PV_TEXT, mode);

	if (n) {
		n->render = render;
		n->arg = arg;
	}
	return n;
}

struct pv_node *pv_stream_add(struct pv_tree *t, struct pv_node *parent, const char *name, mode_t mode,
			      const struct pv_stream_ops *ops, void *obj)
{
	struct pv_node *n = pv_node_add(t, parent, name, PV_STREAM, mode);

	if (!n) {
		if (ops->free)
			ops->free(obj);
		return NULL;
	}
	n->ops = ops;
	n->obj = obj;
	return n;
}

struct pv_node *pv_slice_add(struct pv_tree *t, struct pv_node *parent, const char *name, mode_t mode,
			     const struct arc_entry *e, uint64_t off, uint64_t len)
{
	struct pv_node *n = pv_node_add(t, parent, name, PV_MEMBER, mode);

	if (n) {
		n->member = e;
		n->slice_off = off;
		n->slice_len = len;
	}
	return n;
}

struct pv_node *pv_child_scan(const struct pv_node *dir, const char *name, size_t len)
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
	const char *x = (*(struct pv_node *const *) a)->name, *y = (*(struct pv_node *const *) b)->name;

	return cmp_name(x, strlen(x), y, strlen(y));
}

static void sort_children(struct pv_node *n)
{
	if (n->n_children > 1)
		qsort(n->children, n->n_children, sizeof(*n->children), cmp_node);
	for (size_t i = 0; i < n->n_children; i++)
		sort_children(n->children[i]);
}

int pv_tree_new(const struct ckpt *ck, const struct arc *a, const struct pv_opts *opts, struct pv_tree **ret_tree)
{
	if (pv_pod_count(a) > 1)
		return pv_tree_new_pod(ck, a, opts, ret_tree);
	return pv_tree_build(ck, a, opts, NULL, ret_tree);
}

int pv_tree_build(const struct ckpt *ck, const struct arc *a, const struct pv_opts *opts, const char *prefix,
		  struct pv_tree **ret_tree)
{
	struct pv_tree *t = calloc(1, sizeof(*t));
	int rc = -ENOMEM;

	if (!t)
		return -ENOMEM;
	t->ck = ck;
	t->arc = a;
	t->prefix = ck_strdup0(prefix);
	t->prefix_len = prefix ? strlen(prefix) : 0;
	if (prefix && !t->prefix) {
		free(t);
		return -ENOMEM;
	}
	t->opts = *opts;
	t->next_ino = 1;
	pthread_mutex_init(&t->lock, NULL);
	t->root = pv_node_add(t, NULL, "", PV_DIR, S_IFDIR | 0555);
	if (!t->root)
		goto out_free;
	/* views first, so that archive members cannot shadow them */
	rc = pv_add_pid_dirs(t);
	if (rc < 0)
		goto out_free;
	rc = pv_add_images_dir(t);
	if (rc < 0)
		goto out_free;
	rc = pv_add_files_dir(t);
	if (rc < 0)
		goto out_free;
	rc = pv_add_nested(t);
	if (rc < 0)
		goto out_free;
	rc = pv_add_container(t);
	if (rc < 0)
		goto out_free;
	rc = pv_add_sys(t);
	if (rc < 0)
		goto out_free;
	rc = pv_add_archive(t);
	if (rc < 0)
		goto out_free;
	sort_children(t->root);
	*ret_tree = t;
	return 0;
out_free:
	pv_tree_free(t);
	return rc;
}

void pv_tree_free(struct pv_tree *t)
{
	if (!t)
		return;
	node_free(t->root);
	pv_pod_done(t);
	free(t->prefix);
	for (size_t i = 0; i < t->n_nested; i++)
		arc_free(t->nested[i]);
	free(t->nested);
	pthread_mutex_destroy(&t->lock);
	free(t);
}

static struct pv_node *child_find(const struct pv_node *dir, const char *name, size_t len)
{
	size_t lo = 0, hi = dir->n_children;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const char *cn = dir->children[mid]->name;
		int c = cmp_name(cn, strlen(cn), name, len);

		if (c == 0)
			return dir->children[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

const struct pv_node *pv_lookup(const struct pv_tree *t, const char *path)
{
	const struct pv_node *n = t->root;

	while (n && *path) {
		const char *end;

		while (*path == '/')
			path++;
		if (!*path)
			break;
		if (n->kind != PV_DIR)
			return NULL;
		end = strchrnul(path, '/');
		n = child_find(n, path, (size_t) (end - path));
		path = end;
	}
	return n;
}

/* Render @n once; later calls return the cached result. */
static int node_content(struct pv_tree *t, const struct pv_node *cn)
{
	struct pv_node *n = (struct pv_node *) cn;	/* only the cache fields change */
	struct ck_buf out = { 0 };
	int rc;

	if (n->tree)
		t = n->tree;	/* a pod container's node renders with that container's model */

	pthread_mutex_lock(&t->lock);
	if (n->rendered) {
		rc = n->render_err;
		pthread_mutex_unlock(&t->lock);
		return rc;
	}
	rc = n->render ? n->render(t, n, &out) : -EIO;
	if (rc == 0 && out.oom)
		rc = -ENOMEM;
	if (rc < 0) {
		ck_buf_done(&out);
		if (n->member)
			pv_warn(t, "cannot render '%s': %s", n->member->path, strerror(-rc));
	} else {
		n->data = ck_buf_steal(&out, &n->len);
	}
	n->render_err = rc;
	n->rendered = rc != -ENOMEM;	/* retry after a transient allocation failure */
	pthread_mutex_unlock(&t->lock);
	return rc;
}

int pv_getattr(struct pv_tree *t, const struct pv_node *n, struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_ino = n->ino;
	st->st_mode = n->mode;
	st->st_nlink = n->kind == PV_DIR ? 2 : 1;
	st->st_uid = t->opts.uid;
	st->st_gid = t->opts.gid;
	st->st_mtim.tv_sec = n->mtime;
	st->st_atim = st->st_ctim = st->st_mtim;
	st->st_blksize = 4096;
	switch (n->kind) {
	case PV_DIR:
		for (size_t i = 0; i < n->n_children; i++)
			if (n->children[i]->kind == PV_DIR)
				st->st_nlink++;
		break;
	case PV_MEMBER:
		st->st_size = (off_t) n->slice_len;
		break;
	case PV_STREAM:
		st->st_size = (off_t) n->ops->size(n->obj);
		if (n->ops->allocated) {
			st->st_blocks = (blkcnt_t) ((n->ops->allocated(n->obj) + 511) / 512);
			return 0;
		}
		break;
	case PV_LINK:
		if (n->member) {
			/* a contained target (pv_link_contain), or the stored one */
			st->st_size = n->data ? (off_t) n->len :
				      n->member->link ? (off_t) strlen(n->member->link) : 0;
			break;
		}
		/* fall through */
	case PV_TEXT:
		if (node_content(t, n) == 0)
			st->st_size = (off_t) n->len;
		break;
	}
	st->st_blocks = (st->st_size + 511) / 512;
	return 0;
}

int pv_open(struct pv_tree *t, const struct pv_node *n)
{
	switch (n->kind) {
	case PV_DIR:
		return -EISDIR;
	case PV_TEXT:
		return node_content(t, n) < 0 ? -EIO : 0;
	default:
		return 0;
	}
}

int pv_readdir(struct pv_tree *t, const struct pv_node *n,
	       int (*fill)(void *ctx, const char *name, const struct stat *st), void *ctx)
{
	if (n->kind != PV_DIR)
		return -ENOTDIR;
	for (size_t i = 0; i < n->n_children; i++) {
		const struct pv_node *c = n->children[i];
		struct stat st = { .st_ino = c->ino, .st_mode = c->mode };

		if (fill(ctx, c->name, &st))
			break;
	}
	return 0;
}

ssize_t pv_extents(struct pv_tree *t, const struct pv_node *n, uint64_t off, size_t len,
		   struct arc_extent *ext, size_t max)
{
	int rc;

	switch (n->kind) {
	case PV_MEMBER:
		if (off >= n->slice_len)
			return 0;
		if (!max)
			return -ENOBUFS;
		len = (size_t) CK_MIN((uint64_t) len, n->slice_len - off);
		rc = arc_extent_at(t->arc, n->member, n->slice_off + off, len, ext);
		if (rc < 0)
			return rc;
		return ext->len == len ? 1 : -EAGAIN;	/* a short member: pv_read() says why */
	case PV_STREAM:
		return n->ops->extents ? n->ops->extents(n->obj, off, len, ext, max) : -EAGAIN;
	default:
		return -EAGAIN;
	}
}

ssize_t pv_read(struct pv_tree *t, const struct pv_node *n, void *buf, size_t len, uint64_t off)
{
	int rc;

	switch (n->kind) {
	case PV_MEMBER:
		if (off >= n->slice_len)
			return 0;
		len = (size_t) CK_MIN((uint64_t) len, n->slice_len - off);
		return arc_pread(t->arc, n->member, buf, len, n->slice_off + off);
	case PV_STREAM:
		return n->ops->read(n->obj, buf, len, off);
	case PV_TEXT:
		rc = node_content(t, n);
		if (rc < 0)
			return -EIO;
		if (off >= n->len)
			return 0;
		len = CK_MIN(len, n->len - off);
		memcpy(buf, n->data + off, len);
		return (ssize_t) len;
	case PV_DIR:
		return -EISDIR;
	default:
		return -EINVAL;
	}
}

int pv_readlink(struct pv_tree *t, const struct pv_node *n, char *buf, size_t size)
{
	const char *target;
	size_t len;
	int rc;

	if (n->kind != PV_LINK || size == 0)
		return -EINVAL;
	if (n->member && n->data) {
		target = n->data;	/* contained by pv_link_contain() */
		len = n->len;
	} else if (n->member) {
		target = n->member->link ? n->member->link : "";
		len = strlen(target);
	} else {
		rc = node_content(t, n);
		if (rc < 0)
			return rc == -ENOENT ? -ENOENT : -EIO;
		target = n->data ? n->data : "";
		len = n->len;
	}
	len = CK_MIN(len, size - 1);
	memcpy(buf, target, len);
	buf[len] = '\0';
	return 0;
}

int64_t pv_lseek(struct pv_tree *t, const struct pv_node *n, int64_t off, int whence)
{
	struct stat st;

	if (off < 0)
		return -ENXIO;
	if (n->kind == PV_STREAM && n->ops->seek_data && n->ops->seek_hole)
		return whence == SEEK_DATA ? n->ops->seek_data(n->obj, (uint64_t) off) :
					     n->ops->seek_hole(n->obj, (uint64_t) off);
	/* everything else is dense */
	pv_getattr(t, n, &st);
	if (off >= st.st_size)
		return -ENXIO;
	return whence == SEEK_DATA ? off : st.st_size;
}
