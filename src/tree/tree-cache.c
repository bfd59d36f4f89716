/* SPDX-License-Identifier: Apache-2.0 */
/* The render cache: a text node is rendered on first use (so sizes are
 * exact), held in memory in an LRU list under TREE_CACHE_BUDGET and rendered
 * again after eviction; a large one is written as it is rendered to an
 * unlinked render file that only grows, and read back from there. */
#include <errno.h>
#include <string.h>

#include "log.h"
#include "tree-priv.h"

static void lru_unlink(struct tree_store *s, struct tree_node *n)
{
	if (n->lru_prev)
		n->lru_prev->lru_next = n->lru_next;
	else if (s->lru_head == n)
		s->lru_head = n->lru_next;
	if (n->lru_next)
		n->lru_next->lru_prev = n->lru_prev;
	else if (s->lru_tail == n)
		s->lru_tail = n->lru_prev;
	n->lru_prev = n->lru_next = NULL;
}

static void lru_push(struct tree_store *s, struct tree_node *n)
{
	n->lru_next = s->lru_head;
	if (s->lru_head)
		s->lru_head->lru_prev = n;
	s->lru_head = n;
	if (!s->lru_tail)
		s->lru_tail = n;
}

/* Drop the least recently used texts until the cache fits its budget;
 * their sizes stay known, their content is rendered again when read. */
static void lru_trim(struct tree_store *s, const struct tree_node *keep)
{
	while (s->cache_used > TREE_CACHE_BUDGET && s->lru_tail && s->lru_tail != keep) {
		struct tree_node *v = s->lru_tail;

		lru_unlink(s, v);
		s->cache_used -= v->len;
		free(v->data);
		v->data = NULL;
	}
}

/* The render file: an unlinked temporary file in opts.cache_dir. */
static int render_file(struct tree_store *s)
{
	int fd;

	if (s->render_fd >= 0)
		return s->render_fd;
	fd = ck_tmpfile(s->pub.opts.cache_dir, "ckptfs-render", NULL);
	if (fd >= 0)
		s->render_fd = fd;
	return fd;
}

static int render_sink(void *ctx, const char *p, size_t len)
{
	struct tree_store *s = ctx;
	int fd = render_file(s), rc;

	if (fd < 0) {
		ck_log(CK_LOG_WARNING, "cannot create a file for large rendered texts: %s", strerror(-fd));
		return fd;
	}
	rc = ck_pwrite_full(fd, p, len, (off_t) s->render_len);
	if (rc < 0)
		return rc;
	s->render_len += len;
	return 0;
}

/* Keep what a render of @n put in @out: in the render file (where it was
 * sunk), or in memory, counted against the cache budget when a text. */
static void content_keep(struct tree_store *s, struct tree_node *n, struct ck_buf *out, uint64_t start)
{
	size_t len;

	if (out->sunk) {
		n->spilled = true;
		n->spill_off = start;
		n->len = (size_t) out->sunk;
		ck_buf_done(out);
		return;
	}
	n->data = ck_buf_steal(out, &len);
	if (n->rendered && len != n->len)
		ck_log(CK_LOG_WARNING, "'%s' rendered again with another size", n->name);
	n->len = len;
	if (n->kind == TREE_TEXT && n->data) {
		lru_push(s, n);
		s->cache_used += n->len;
		lru_trim(s, n);
	}
}

/* Under the store's lock: make @n's content available (in n->data or the
 * render file), rendering it on first use or again after it was evicted. */
static int content_locked(struct tree *t, struct tree_node *n)
{
	struct tree_store *s = tree_store(t);
	struct ck_buf out = { 0 };
	uint64_t start = s->render_len;
	bool text = n->kind == TREE_TEXT;
	int rc;

	if (n->rendered && (n->render_err || n->spilled || n->data || !n->len)) {
		if (n->data && text) {
			lru_unlink(s, n);
			lru_push(s, n);
		}
		return n->render_err;
	}
	if (text) {
		out.sink = render_sink;
		out.sink_ctx = s;
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
	} else {
		content_keep(s, n, &out, start);
	}
	n->render_err = rc;
	n->rendered = rc != -ENOMEM;	/* retry after a transient allocation failure */
	return rc;
}

int tree_text_content(struct tree *t, const struct tree_node *cn)
{
	struct tree_node *n = (struct tree_node *) cn;	/* only the cache fields change */
	struct tree_store *s;
	int rc;

	t = tree_of(t, n);
	s = tree_store(t);
	pthread_mutex_lock(&s->lock);
	rc = content_locked(t, n);
	pthread_mutex_unlock(&s->lock);
	return rc;
}

/* The content of @n may be freed by an eviction any time it is not locked. */
ssize_t tree_text_read(struct tree *t, const struct tree_node *cn, void *buf, size_t len, uint64_t off)
{
	struct tree_node *n = (struct tree_node *) cn;
	struct tree_store *s;
	uint64_t at;
	ssize_t got;
	int rc, fd;

	t = tree_of(t, n);
	s = tree_store(t);
	pthread_mutex_lock(&s->lock);
	rc = content_locked(t, n);
	if (rc < 0 || off >= n->len) {
		pthread_mutex_unlock(&s->lock);
		return rc < 0 ? -EIO : 0;
	}
	len = CK_MIN(len, n->len - off);
	if (!n->spilled) {
		memcpy(buf, n->data + off, len);
		pthread_mutex_unlock(&s->lock);
		return (ssize_t) len;
	}
	/* the render file only grows: no lock needed to read it */
	fd = s->render_fd;
	at = n->spill_off + off;
	pthread_mutex_unlock(&s->lock);
	got = ck_pread_full(fd, buf, len, (off_t) at);
	return got >= 0 && (size_t) got < len ? -EIO : got;
}

ssize_t tree_text_extents(struct tree *t, const struct tree_node *n, uint64_t off, size_t len,
			  struct arc_extent *ext, size_t max)
{
	struct tree_store *s = tree_store(tree_of(t, n));
	ssize_t k = -EAGAIN;

	/* a large text lies in the render file, which only grows */
	pthread_mutex_lock(&s->lock);
	if (n->rendered && n->spilled && !n->render_err) {
		k = 0;
		if (off < n->len) {
			*ext = (struct arc_extent) { s->render_fd, n->spill_off + off,
						     CK_MIN((uint64_t) len, n->len - off) };
			k = max ? 1 : -ENOBUFS;
		}
	}
	pthread_mutex_unlock(&s->lock);
	return k;
}

/* Its bytes in the render file stay there (the file only grows) and are
 * written again if the node comes back. */
void tree_text_forget(struct tree_node *n)
{
	struct tree_store *s;

	if (n->kind != TREE_TEXT || !n->data || !n->tree)
		return;
	s = tree_store(n->tree);
	pthread_mutex_lock(&s->lock);
	lru_unlink(s, n);
	s->cache_used -= n->len;
	pthread_mutex_unlock(&s->lock);
}
