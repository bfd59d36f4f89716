/* SPDX-License-Identifier: Apache-2.0 */
/* The node store: trees and their nodes, attributes, opening and listing.
 * What a tree holds is added by its builder (the view files, through
 * tree-build.h); the rest of the store is in the other tree-*.c files
 * (tree-priv.h says which does what). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

void tree_node_free(struct tree_node *n)
{
	if (!n)
		return;
	for (size_t i = 0; i < n->n_children; i++)
		tree_node_free(n->children[i]);
	if (n->kind == TREE_STREAM && n->ops->free)
		n->ops->free(n->obj);
	free(n->children);
	free(n->name);
	free(n->data);
	free(n->lazy);
	free(n);
}

struct tree_node *tree_node_add(struct tree *t, struct tree_node *parent, const char *name,
				enum tree_kind kind, mode_t mode)
{
	struct tree_store *top = tree_top(t);
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
	if (top->populating) {	/* below a lazy directory: its own numbers */
		n->ino = top->populating->lazy->next_ino++;
		top->populating->lazy->n_nodes++;
	} else {
		n->ino = tree_store(t)->next_ino++;
	}
	n->mtime = t->opts.mtime;
	n->parent = parent;
	if (parent) {
		if (parent->n_children == parent->cap_children) {
			size_t cap = parent->cap_children ? parent->cap_children * 2 : 8;
			struct tree_node **c = realloc(parent->children, cap * sizeof(*c));

			if (!c) {
				tree_node_free(n);
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

struct tree *tree_new(const struct ckpt *ck, const struct arc *a, const struct tree_opts *opts)
{
	struct tree_store *s = calloc(1, sizeof(*s));
	struct tree *t;

	if (!s)
		return NULL;
	t = &s->pub;
	t->ck = ck;
	t->arc = a;
	t->opts = *opts;
	s->next_ino = 1;
	s->render_fd = -1;
	pthread_mutex_init(&s->lock, NULL);
	s->top = s;
	/* writers first: a reader-preferring lock would let a steady stream
	 * of requests starve the eviction */
	pthread_rwlockattr_t attr;
	pthread_rwlockattr_init(&attr);
	pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
	pthread_rwlock_init(&s->shape, &attr);
	pthread_rwlockattr_destroy(&attr);
	pthread_mutex_init(&s->pop_lock, NULL);
	t->root = tree_node_add(t, NULL, "", TREE_DIR, S_IFDIR | 0555);
	if (!t->root) {
		tree_free(t);
		return NULL;
	}
	return t;
}

void tree_free(struct tree *t)
{
	struct tree_store *s = tree_store(t);

	if (!t)
		return;
	if (t->owner_free)
		t->owner_free(t);
	/* a grafted root's nodes are freed with the tree it is grafted on */
	if (t->root && !t->root->parent)
		tree_node_free(t->root);
	if (s->render_fd >= 0)
		close(s->render_fd);
	pthread_mutex_destroy(&s->lock);
	pthread_rwlock_destroy(&s->shape);
	pthread_mutex_destroy(&s->pop_lock);
	free(s->lazy_dirs);
	free(s);
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
		if (tree_text_content(t, n) == 0)
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
		if (tree_text_content(t, n) < 0)
			return -EIO;
		break;
	default:
		break;
	}
	tree_lazy_pin(n, 1);
	return 0;
}

int tree_opendir(struct tree *t, const struct tree_node *n)
{
	if (n->kind != TREE_DIR)
		return -ENOTDIR;
	tree_lazy_pin(n, 1);
	return 0;
}

void tree_release(struct tree *t, const struct tree_node *n)
{
	tree_lazy_pin(n, -1);
}

int tree_readdir(struct tree *t, const struct tree_node *n,
		 int (*fill)(void *ctx, const char *name, const struct stat *st), void *ctx)
{
	if (n->kind != TREE_DIR)
		return -ENOTDIR;
	if (n->lazy) {
		int rc = tree_lazy_ensure(t, n);

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

bool tree_direct_io(const struct tree_node *n)
{
	return n->direct_io;
}
