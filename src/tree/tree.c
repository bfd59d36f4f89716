/* SPDX-License-Identifier: Apache-2.0 */
/* The tree itself: nodes, lookup, attributes, reads and the render cache.
 * What the tree holds is added by the view files (view-pid.c, view-archive.c). */
#include <errno.h>
#include <inttypes.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "tree-priv.h"

void tree_warn(const struct tree *t, const char *fmt, ...)
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

static void node_free(struct tree_node *n)
{
	if (!n)
		return;
	for (size_t i = 0; i < n->n_children; i++)
		node_free(n->children[i]);
	if (n->kind == TREE_STREAM && n->ops->free)
		n->ops->free(n->obj);
	free(n->children);
	free(n->name);
	free(n->data);
	free(n->lazy);
	free(n);
}

static struct tree *tree_top(const struct tree *t)
{
	return t->top ? t->top : (struct tree *) t;
}

struct tree_node *tree_node_add(struct tree *t, struct tree_node *parent, const char *name,
			    enum tree_kind kind, mode_t mode)
{
	struct tree_node *n = calloc(1, sizeof(*n));

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
	if (tree_top(t)->populating) {	/* below a lazy directory: its own numbers */
		n->ino = tree_top(t)->populating->lazy->next_ino++;
		tree_top(t)->populating->lazy->n_nodes++;
	} else {
		n->ino = t->next_ino++;
	}
	n->mtime = t->opts.mtime;
	n->parent = parent;
	if (parent) {
		if (parent->n_children == parent->cap_children) {
			size_t cap = parent->cap_children ? parent->cap_children * 2 : 8;
			struct tree_node **c = realloc(parent->children, cap * sizeof(*c));

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

struct tree_node *tree_text_add(struct tree *t, struct tree_node *parent, const char *name, mode_t mode,
			    tree_render_fn render, const void *arg)
{
	struct tree_node *n = tree_node_add(t, parent, name, S_ISLNK(mode) ? TREE_LINK : TREE_TEXT, mode);

	if (n) {
		n->render = render;
		n->arg = arg;
	}
	return n;
}

struct tree_node *tree_stream_add(struct tree *t, struct tree_node *parent, const char *name, mode_t mode,
			      const struct tree_stream_ops *ops, void *obj)
{
	struct tree_node *n = tree_node_add(t, parent, name, TREE_STREAM, mode);

	if (!n) {
		if (ops->free)
			ops->free(obj);
		return NULL;
	}
	n->ops = ops;
	n->obj = obj;
	return n;
}

struct tree_node *tree_slice_add(struct tree *t, struct tree_node *parent, const char *name, mode_t mode,
			     const struct arc_entry *e, uint64_t off, uint64_t len)
{
	struct tree_node *n = tree_node_add(t, parent, name, TREE_MEMBER, mode);

	if (n) {
		n->member = e;
		n->slice_off = off;
		n->slice_len = len;
	}
	return n;
}

struct tree_node *tree_child_scan(const struct tree_node *dir, const char *name, size_t len)
{
	/* from the last added: builders look up what they have just added */
	for (size_t i = dir->n_children; i-- > 0;)
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

struct tree *tree_new_empty(const struct ckpt *ck, const struct arc *a, const struct tree_opts *opts,
			    const char *prefix)
{
	struct tree *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->ck = ck;
	t->arc = a;
	t->prefix = ck_strdup0(prefix);
	t->prefix_len = prefix ? strlen(prefix) : 0;
	t->opts = *opts;
	t->next_ino = 1;
	t->render_fd = -1;
	pthread_mutex_init(&t->lock, NULL);
	t->top = t;
	/* writers first: a reader-preferring lock would let a steady stream
	 * of requests starve the eviction */
	pthread_rwlockattr_t attr;
	pthread_rwlockattr_init(&attr);
	pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
	pthread_rwlock_init(&t->shape, &attr);
	pthread_rwlockattr_destroy(&attr);
	pthread_mutex_init(&t->pop_lock, NULL);
	t->root = tree_node_add(t, NULL, "", TREE_DIR, S_IFDIR | 0555);
	if (!t->root || (prefix && !t->prefix)) {
		tree_free(t);
		return NULL;
	}
	return t;
}

void tree_free(struct tree *t)
{
	if (!t)
		return;
	if (t->on_free)
		t->on_free(t);
	node_free(t->root);
	free(t->prefix);
	if (t->render_fd >= 0)
		close(t->render_fd);
	pthread_mutex_destroy(&t->lock);
	pthread_rwlock_destroy(&t->shape);
	pthread_mutex_destroy(&t->pop_lock);
	free(t->lazy_dirs);
	free(t);
}

static int lazy_ensure(const struct tree *t, const struct tree_node *d);

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

	if (dir->lazy && lazy_ensure(t, dir) < 0)
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

static void lru_unlink(struct tree *t, struct tree_node *n)
{
	if (n->lru_prev)
		n->lru_prev->lru_next = n->lru_next;
	else if (t->lru_head == n)
		t->lru_head = n->lru_next;
	if (n->lru_next)
		n->lru_next->lru_prev = n->lru_prev;
	else if (t->lru_tail == n)
		t->lru_tail = n->lru_prev;
	n->lru_prev = n->lru_next = NULL;
}

static void lru_push(struct tree *t, struct tree_node *n)
{
	n->lru_next = t->lru_head;
	if (t->lru_head)
		t->lru_head->lru_prev = n;
	t->lru_head = n;
	if (!t->lru_tail)
		t->lru_tail = n;
}

/* Drop the least recently used texts until the cache fits its budget;
 * their sizes stay known, their content is rendered again when read. */
static void lru_trim(struct tree *t, const struct tree_node *keep)
{
	while (t->cache_used > TREE_CACHE_BUDGET && t->lru_tail && t->lru_tail != keep) {
		struct tree_node *v = t->lru_tail;

		lru_unlink(t, v);
		t->cache_used -= v->len;
		free(v->data);
		v->data = NULL;
	}
}

/* The render file: an unlinked temporary file in opts.cache_dir. */
static int render_file(struct tree *t)
{
	int fd;

	if (t->render_fd >= 0)
		return t->render_fd;
	fd = ck_tmpfile(t->opts.cache_dir, "ckptfs-render", NULL);
	if (fd >= 0)
		t->render_fd = fd;
	return fd;
}

static int render_sink(void *ctx, const char *p, size_t len)
{
	struct tree *t = ctx;
	int fd = render_file(t), rc;

	if (fd < 0) {
		ck_log(CK_LOG_WARNING, "cannot create a file for large rendered texts: %s", strerror(-fd));
		return fd;
	}
	rc = ck_pwrite_full(fd, p, len, (off_t) t->render_len);
	if (rc < 0)
		return rc;
	t->render_len += len;
	return 0;
}

/* Under t->lock: make @n's content available (in n->data or the render
 * file), rendering it on first use or again after it was evicted. */
static int node_content_locked(struct tree *t, struct tree_node *n)
{
	struct ck_buf out = { 0 };
	uint64_t start = t->render_len;
	bool text = n->kind == TREE_TEXT;
	int rc;

	if (n->rendered && (n->render_err || n->spilled || n->data || !n->len)) {
		if (n->data && text) {
			lru_unlink(t, n);
			lru_push(t, n);
		}
		return n->render_err;
	}
	if (text) {
		out.sink = render_sink;
		out.sink_ctx = t;
	}
	rc = n->render ? n->render(t, n, &out) : -EIO;
	if (rc == 0 && out.sink_err)
		rc = out.sink_err;
	if (rc == 0 && out.oom)
		rc = -ENOMEM;
	if (rc == 0 && text && (out.sunk || out.len >= TREE_TEXT_SPILL_MIN))
		ck_buf_drain_at(&out, true);
	if (rc == 0 && out.sink_err)
		rc = out.sink_err;
	if (rc < 0) {
		ck_buf_done(&out);
		if (n->member)
			tree_warn(t, "cannot render '%s': %s", n->member->path, strerror(-rc));
	} else if (out.sunk) {
		n->spilled = true;
		n->spill_off = start;
		n->len = (size_t) out.sunk;
		ck_buf_done(&out);
	} else {
		size_t len;

		n->data = ck_buf_steal(&out, &len);
		if (n->rendered && len != n->len)
			ck_log(CK_LOG_WARNING, "'%s' rendered again with another size", n->name);
		n->len = len;
		if (text && n->data) {
			lru_push(t, n);
			t->cache_used += n->len;
			lru_trim(t, n);
		}
	}
	n->render_err = rc;
	n->rendered = rc != -ENOMEM;	/* retry after a transient allocation failure */
	return rc;
}

static struct tree *node_tree(struct tree *t, const struct tree_node *n)
{
	return n->tree ? n->tree : t;	/* a pod container's node renders with that container's model */
}

/* Lazy directories. A request holds the mount tree's @shape shared from
 * tree_enter() to tree_leave(); populating adds nodes under pop_lock and
 * publishes them with z->populated, so a reader sees either no children or
 * all of them. Children are dropped only with @shape held exclusively (or
 * before the mount serves requests), when no request can hold a node. A
 * lazy directory may hold lazy directories (/<pid>/task/<tid>/): it is
 * dropped only once none of them is populated. */

/* Free @n and everything below it, taking its cached text out of the
 * render cache of the tree that rendered it. Its bytes in the render file
 * stay there (the file only grows) and are written again if it comes back. */
static void node_drop(struct tree_node *n)
{
	for (size_t i = 0; i < n->n_children; i++)
		node_drop(n->children[i]);
	n->n_children = 0;
	if (n->kind == TREE_TEXT && n->data && n->tree) {
		struct tree *nt = n->tree;

		pthread_mutex_lock(&nt->lock);
		lru_unlink(nt, n);
		nt->cache_used -= n->len;
		pthread_mutex_unlock(&nt->lock);
	}
	node_free(n);
}

static void drop_children(struct tree_node *d)
{
	for (size_t i = 0; i < d->n_children; i++)
		node_drop(d->children[i]);
	free(d->children);
	d->children = NULL;
	d->n_children = d->cap_children = 0;
}

/* The nearest lazy directory above @n, or NULL. */
static struct tree_node *lazy_parent(const struct tree_node *n)
{
	for (n = n->parent; n; n = n->parent)
		if (n->lazy)
			return (struct tree_node *) n;
	return NULL;
}

/* Under top->pop_lock: empty populated lazy directory @d, which holds no
 * populated one, and forget it in top->lazy_dirs (the caller's job). */
static void lazy_drop_locked(struct tree *top, struct tree_node *d)
{
	struct tree_node *up = lazy_parent(d);

	drop_children(d);
	__atomic_store_n(&d->lazy->populated, false, __ATOMIC_RELEASE);
	top->lazy_nodes -= CK_MIN(top->lazy_nodes, d->lazy->n_nodes);
	if (up)
		up->lazy->populated_kids--;
}

/* Under top->pop_lock: add the children of @d (of tree @t), make them
 * visible and count them against the budget. */
static int lazy_populate_locked(struct tree *t, struct tree *top, struct tree_node *d)
{
	struct tree_lazy *z = d->lazy;
	struct tree_node *up;
	uint64_t span;
	int rc;

	if (top->n_lazy_dirs == top->cap_lazy_dirs) {
		size_t cap = top->cap_lazy_dirs ? top->cap_lazy_dirs * 2 : 64;
		struct tree_node **v = reallocarray(top->lazy_dirs, cap, sizeof(*v));

		if (!v)
			return -ENOMEM;
		top->lazy_dirs = v;
		top->cap_lazy_dirs = cap;
	}
	z->next_ino = z->ino_base;
	z->n_nodes = 0;
	top->populating = d;
	rc = z->populate(t, d);
	top->populating = NULL;
	span = z->next_ino - z->ino_base;
	if (rc == 0 && z->ino_span && span != z->ino_span) {
		/* its numbers would run into the next directory's */
		ck_log(CK_LOG_WARNING, "'%s' numbered %" PRIu64 " nodes, then %" PRIu64, d->name, z->ino_span, span);
		rc = -EIO;
	}
	if (rc < 0) {
		drop_children(d);
		return rc;
	}
	z->ino_span = span;
	z->n_subdirs = 0;
	for (size_t i = 0; i < d->n_children; i++)
		z->n_subdirs += d->children[i]->kind == TREE_DIR;
	tree_sort(d);
	top->lazy_dirs[top->n_lazy_dirs++] = d;
	top->lazy_nodes += z->n_nodes;
	up = lazy_parent(d);
	if (up)
		up->lazy->populated_kids++;
	if (top->lazy_nodes > TREE_LAZY_BUDGET)
		__atomic_store_n(&top->evict_wanted, true, __ATOMIC_RELEASE);
	__atomic_store_n(&z->populated, true, __ATOMIC_RELEASE);
	return 0;
}

static int cmp_last_use(const void *a, const void *b)
{
	uint64_t x = (*(struct tree_node *const *) a)->lazy->last_use;
	uint64_t y = (*(struct tree_node *const *) b)->lazy->last_use;

	return x < y ? -1 : x > y;
}

/* Under top->pop_lock, with no request in the tree: empty the least
 * recently used lazy directories that nothing open is below and that hold
 * no populated lazy directory, until half the budget is used. The most
 * recently used one stays, however large: it is the one being read
 * (dropping it would have every request populate it again). */
static void lazy_evict_locked(struct tree *top)
{
	size_t keep = 0;

	qsort(top->lazy_dirs, top->n_lazy_dirs, sizeof(*top->lazy_dirs), cmp_last_use);
	for (size_t i = 0; i < top->n_lazy_dirs; i++) {
		struct tree_node *d = top->lazy_dirs[i];

		if (top->lazy_nodes > TREE_LAZY_BUDGET / 2 && i + 1 < top->n_lazy_dirs && !d->lazy->populated_kids &&
		    !__atomic_load_n(&d->lazy->pins, __ATOMIC_ACQUIRE))
			lazy_drop_locked(top, d);
		else
			top->lazy_dirs[keep++] = d;
	}
	top->n_lazy_dirs = keep;
	__atomic_store_n(&top->evict_wanted, false, __ATOMIC_RELEASE);
}

/* Make sure lazy directory @cd has its children; marks it used. */
static int lazy_ensure(const struct tree *ct, const struct tree_node *cd)
{
	struct tree_node *d = (struct tree_node *) cd;
	struct tree *t = node_tree((struct tree *) ct, d), *top = tree_top(t);
	int rc = 0;

	__atomic_store_n(&d->lazy->last_use, __atomic_add_fetch(&top->clock, 1, __ATOMIC_RELAXED),
			 __ATOMIC_RELAXED);
	if (__atomic_load_n(&d->lazy->populated, __ATOMIC_ACQUIRE))
		return 0;
	pthread_mutex_lock(&top->pop_lock);
	if (!d->lazy->populated)
		rc = lazy_populate_locked(t, top, d);
	pthread_mutex_unlock(&top->pop_lock);
	return rc;
}

int tree_lazy_init(struct tree *t, struct tree_node *d, tree_populate_fn populate, size_t n_files)
{
	struct tree *top = tree_top(t);
	struct tree_node *outer = top->populating;	/* inside its populate, under pop_lock */
	struct tree_lazy *z;
	int rc = 0;

	if (outer && !n_files)
		return -EINVAL;	/* its count cannot be learned by populating it now */
	z = d->lazy = calloc(1, sizeof(*d->lazy));
	if (!z)
		return -ENOMEM;
	z->populate = populate;
	if (outer) {
		/* numbered inside the outer directory's range, populated when used */
		z->ino_base = outer->lazy->next_ino;
		z->ino_span = n_files;
		outer->lazy->next_ino += n_files;
		return 0;
	}
	z->ino_base = t->next_ino;
	z->ino_span = n_files;
	pthread_mutex_lock(&top->pop_lock);
	rc = lazy_populate_locked(t, top, d);
	/* nothing is served yet: the budget is kept here */
	if (rc == 0 && top->evict_wanted)
		lazy_evict_locked(top);
	pthread_mutex_unlock(&top->pop_lock);
	t->next_ino += z->ino_span;
	return rc;
}

/* Empty every populated lazy directory of @top, the innermost first. */
static void lazy_drop_all(struct tree *top)
{
	pthread_mutex_lock(&top->pop_lock);
	while (top->n_lazy_dirs) {
		size_t keep = 0;

		for (size_t i = 0; i < top->n_lazy_dirs; i++) {
			struct tree_node *d = top->lazy_dirs[i];

			if (d->lazy->populated_kids)
				top->lazy_dirs[keep++] = d;
			else
				lazy_drop_locked(top, d);
		}
		top->n_lazy_dirs = keep;
	}
	top->lazy_nodes = 0;
	pthread_mutex_unlock(&top->pop_lock);
}

void tree_adopt(struct tree *top, struct tree *sub)
{
	lazy_drop_all(sub);
	sub->top = top;
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

uint64_t tree_renumber(struct tree *t, struct tree_node *root, uint64_t next)
{
	lazy_drop_all(tree_top(t));
	return renumber(root, next);
}

void tree_enter(struct tree *t)
{
	struct tree *top = tree_top(t);

	if (__atomic_load_n(&top->evict_wanted, __ATOMIC_ACQUIRE)) {
		pthread_rwlock_wrlock(&top->shape);
		pthread_mutex_lock(&top->pop_lock);
		if (top->evict_wanted)
			lazy_evict_locked(top);
		pthread_mutex_unlock(&top->pop_lock);
		pthread_rwlock_unlock(&top->shape);
	}
	pthread_rwlock_rdlock(&top->shape);
}

void tree_leave(struct tree *t)
{
	pthread_rwlock_unlock(&tree_top(t)->shape);
}

/* Open files and directories keep every lazy directory above them populated. */
static void pin(const struct tree_node *n, int by)
{
	for (; n; n = n->parent)
		if (n->lazy)
			__atomic_add_fetch(&n->lazy->pins, (unsigned) by, __ATOMIC_ACQ_REL);
}

/* Render @n once; later calls return the cached result. */
static int node_content(struct tree *t, const struct tree_node *cn)
{
	struct tree_node *n = (struct tree_node *) cn;	/* only the cache fields change */
	int rc;

	t = node_tree(t, n);
	pthread_mutex_lock(&t->lock);
	rc = node_content_locked(t, n);
	pthread_mutex_unlock(&t->lock);
	return rc;
}

/* Copy [off, off + len) of text node @n, which an eviction may free at any
 * time it is not locked. */
static ssize_t node_read(struct tree *t, const struct tree_node *cn, void *buf, size_t len, uint64_t off)
{
	struct tree_node *n = (struct tree_node *) cn;
	uint64_t at;
	ssize_t got;
	int rc, fd;

	t = node_tree(t, n);
	pthread_mutex_lock(&t->lock);
	rc = node_content_locked(t, n);
	if (rc < 0 || off >= n->len) {
		pthread_mutex_unlock(&t->lock);
		return rc < 0 ? -EIO : 0;
	}
	len = CK_MIN(len, n->len - off);
	if (!n->spilled) {
		memcpy(buf, n->data + off, len);
		pthread_mutex_unlock(&t->lock);
		return (ssize_t) len;
	}
	/* the render file only grows: no lock needed to read it */
	fd = t->render_fd;
	at = n->spill_off + off;
	pthread_mutex_unlock(&t->lock);
	got = ck_pread_full(fd, buf, len, (off_t) at);
	return got >= 0 && (size_t) got < len ? -EIO : got;
}

int tree_getattr(struct tree *t, const struct tree_node *n, struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_ino = n->shown_ino ? n->shown_ino : n->ino;
	st->st_mode = n->mode;
	st->st_nlink = n->kind == TREE_DIR ? 2 : 1;
	st->st_uid = t->opts.uid;
	st->st_gid = t->opts.gid;
	st->st_mtim.tv_sec = n->mtime;
	st->st_atim = st->st_ctim = st->st_mtim;
	st->st_blksize = 4096;
	switch (n->kind) {
	case TREE_DIR:
		if (n->lazy) {
			st->st_nlink += n->lazy->n_subdirs;	/* known without populating it */
			break;
		}
		for (size_t i = 0; i < n->n_children; i++)
			if (n->children[i]->kind == TREE_DIR)
				st->st_nlink++;
		break;
	case TREE_MEMBER:
		st->st_size = (off_t) n->slice_len;
		break;
	case TREE_STREAM:
		st->st_size = (off_t) n->ops->size(n->obj);
		if (n->ops->allocated) {
			st->st_blocks = (blkcnt_t) ((n->ops->allocated(n->obj) + 511) / 512);
			return 0;
		}
		break;
	case TREE_LINK:
		if (n->member) {
			/* a contained target (tree_link_contain), or the stored one */
			st->st_size = n->data ? (off_t) n->len :
				      n->member->link ? (off_t) strlen(n->member->link) : 0;
			break;
		}
		/* fall through */
	case TREE_TEXT:
		if (node_content(t, n) == 0)
			st->st_size = (off_t) n->len;
		break;
	}
	st->st_blocks = (st->st_size + 511) / 512;
	return 0;
}

int tree_open(struct tree *t, const struct tree_node *n)
{
	switch (n->kind) {
	case TREE_DIR:
		return -EISDIR;
	case TREE_TEXT:
		if (node_content(t, n) < 0)
			return -EIO;
		break;
	default:
		break;
	}
	pin(n, 1);
	return 0;
}

int tree_opendir(struct tree *t, const struct tree_node *n)
{
	if (n->kind != TREE_DIR)
		return -ENOTDIR;
	pin(n, 1);
	return 0;
}

void tree_release(struct tree *t, const struct tree_node *n)
{
	pin(n, -1);
}

int tree_readdir(struct tree *t, const struct tree_node *n,
	       int (*fill)(void *ctx, const char *name, const struct stat *st), void *ctx)
{
	if (n->kind != TREE_DIR)
		return -ENOTDIR;
	if (n->lazy) {
		int rc = lazy_ensure(t, n);

		if (rc < 0)
			return rc;
	}
	for (size_t i = 0; i < n->n_children; i++) {
		const struct tree_node *c = n->children[i];
		struct stat st = { .st_ino = c->ino, .st_mode = c->mode };

		if (c->hidden)
			continue;
		if (fill(ctx, c->name, &st))
			break;
	}
	return 0;
}

ssize_t tree_read(struct tree *t, const struct tree_node *n, void *buf, size_t len, uint64_t off)
{
	switch (n->kind) {
	case TREE_MEMBER:
		if (off >= n->slice_len)
			return 0;
		len = (size_t) CK_MIN((uint64_t) len, n->slice_len - off);
		return arc_pread(t->arc, n->member, buf, len, n->slice_off + off);
	case TREE_STREAM:
		return n->ops->read(n->obj, buf, len, off);
	case TREE_TEXT:
		return node_read(t, n, buf, len, off);
	case TREE_DIR:
		return -EISDIR;
	default:
		return -EINVAL;
	}
}

int tree_readlink(struct tree *t, const struct tree_node *n, char *buf, size_t size)
{
	const char *target;
	size_t len;
	int rc;

	if (n->kind != TREE_LINK || size == 0)
		return -EINVAL;
	if (n->member && n->data) {
		target = n->data;	/* contained by tree_link_contain() */
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

bool tree_direct_io(const struct tree_node *n)
{
	return n->direct_io;
}

int64_t tree_lseek(struct tree *t, const struct tree_node *n, int64_t off, int whence)
{
	struct stat st;

	if (off < 0)
		return -ENXIO;
	if (n->kind == TREE_STREAM && n->ops->seek_data && n->ops->seek_hole)
		return whence == SEEK_DATA ? n->ops->seek_data(n->obj, (uint64_t) off) :
					     n->ops->seek_hole(n->obj, (uint64_t) off);
	/* everything else is dense */
	tree_getattr(t, n, &st);
	if (off >= st.st_size)
		return -ENXIO;
	return whence == SEEK_DATA ? off : st.st_size;
}

/* Small replies gain nothing from a splice. */
#define TREE_SPLICE_MIN 4096

/* @len bytes at @off of @n as extents: the count, or -EAGAIN / -ENOBUFS
 * when they cannot be (then they are copied). */
static ssize_t node_extents(struct tree *t, const struct tree_node *n, uint64_t off, size_t len,
			    struct arc_extent *ext, size_t max)
{
	int rc;

	if (len < TREE_SPLICE_MIN)
		return -EAGAIN;
	switch (n->kind) {
	case TREE_MEMBER:
		rc = arc_extent_at(t->arc, n->member, n->slice_off + off, len, ext);
		if (rc < 0)
			return rc;
		return ext->len == len ? 1 : -EAGAIN;	/* a short member: the copy says why */
	case TREE_STREAM:
		return n->ops->extents ? n->ops->extents(n->obj, off, len, ext, max) : -EAGAIN;
	case TREE_TEXT: {
		struct tree *nt = node_tree(t, n);
		ssize_t k = -EAGAIN;

		/* a large text lies in the render file, which only grows */
		pthread_mutex_lock(&nt->lock);
		if (n->rendered && n->spilled && !n->render_err) {
			k = 0;
			if (off < n->len) {
				*ext = (struct arc_extent) { nt->render_fd, n->spill_off + off,
							     CK_MIN((uint64_t) len, n->len - off) };
				k = max ? 1 : -ENOBUFS;
			}
		}
		pthread_mutex_unlock(&nt->lock);
		return k;
	}
	default:
		return -EAGAIN;
	}
}

bool tree_splices(const struct tree *t)
{
	return arc_splices(t->arc);
}

int tree_read_reply(struct tree *t, const struct tree_node *n, uint64_t off, size_t len, struct tree_reply *r)
{
	ssize_t k;

	r->n_ext = 0;
	r->mem = NULL;
	r->len = 0;
	if (n->kind == TREE_DIR)
		return -EISDIR;
	if (n->kind == TREE_MEMBER) {
		if (off >= n->slice_len)
			return 0;
		len = (size_t) CK_MIN((uint64_t) len, n->slice_len - off);
	}
	k = node_extents(t, n, off, len, r->ext, TREE_REPLY_EXTENTS);
	if (k >= 0) {
		r->n_ext = (size_t) k;
		return 0;
	}
	if (k != -EAGAIN && k != -ENOBUFS)
		return (int) k;
	r->mem = malloc(len ? len : 1);
	if (!r->mem)
		return -ENOMEM;
	k = tree_read(t, n, r->mem, len, off);
	if (k < 0) {
		free(r->mem);
		r->mem = NULL;
		return (int) k;
	}
	r->len = (size_t) k;
	return 0;
}
