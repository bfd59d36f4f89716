/* SPDX-License-Identifier: Apache-2.0 */
/* Lazy directories. A request holds the mount tree's @shape shared from
 * tree_enter() to tree_leave(); populating adds nodes under pop_lock and
 * publishes them with z->populated, so a reader sees either no children or
 * all of them. Children are dropped only with @shape held exclusively (or
 * before the mount serves requests), when no request can hold a node. A
 * lazy directory may hold lazy directories (/<pid>/task/<tid>/): it is
 * dropped only once none of them is populated. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>

#include "log.h"
#include "tree-priv.h"

/* Free @n and everything below it, taking its cached text out of the
 * render cache of the tree that rendered it. */
static void node_drop(struct tree_node *n)
{
	for (size_t i = 0; i < n->n_children; i++)
		node_drop(n->children[i]);
	n->n_children = 0;
	tree_text_forget(n);
	tree_node_free(n);
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
static void lazy_drop_locked(struct tree_store *top, struct tree_node *d)
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
static int lazy_populate_locked(struct tree *t, struct tree_store *top, struct tree_node *d)
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
static void lazy_evict_locked(struct tree_store *top)
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

int tree_lazy_ensure(const struct tree *ct, const struct tree_node *cd)
{
	struct tree_node *d = (struct tree_node *) cd;
	struct tree *t = tree_of(ct, d);
	struct tree_store *top = tree_top(t);
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
	struct tree_store *top = tree_top(t);
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
	z->ino_base = tree_store(t)->next_ino;
	z->ino_span = n_files;
	pthread_mutex_lock(&top->pop_lock);
	rc = lazy_populate_locked(t, top, d);
	/* nothing is served yet: the budget is kept here */
	if (rc == 0 && top->evict_wanted)
		lazy_evict_locked(top);
	pthread_mutex_unlock(&top->pop_lock);
	tree_store(t)->next_ino += z->ino_span;
	return rc;
}

/* The innermost first. */
void tree_lazy_drop_all(struct tree_store *top)
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

void tree_enter(struct tree *t)
{
	struct tree_store *top = tree_top(t);

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

void tree_lazy_pin(const struct tree_node *n, int by)
{
	for (; n; n = n->parent)
		if (n->lazy)
			__atomic_add_fetch(&n->lazy->pins, (unsigned) by, __ATOMIC_ACQ_REL);
}
