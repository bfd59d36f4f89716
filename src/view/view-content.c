/* SPDX-License-Identifier: Apache-2.0 */
/* The data behind file descriptors (ckpt-content.h): /files/<name>, every
 * content object once, and /<pid>/fdcontent/<n> (plus <n>.outq for a TCP
 * send queue) for each fd that holds some. A content that is one range of
 * an image is a slice of that member; the others (unix queues of several
 * packets, chunked ghost files, memfds) stream through the model; damaged
 * ones fail to open with EIO. */
#include <errno.h>
#include <stdio.h>

#include "ckpt-content.h"
#include "view-priv.h"

static uint64_t content_ops_size(const void *obj)
{
	return ((const struct ckpt_content *) obj)->size;
}

static ssize_t content_ops_read(const void *obj, void *buf, size_t len, uint64_t off)
{
	return ckpt_content_read(obj, buf, len, off);
}

static int64_t content_ops_seek_data(const void *obj, uint64_t off)
{
	return ckpt_content_seek(obj, off, true);
}

static int64_t content_ops_seek_hole(const void *obj, uint64_t off)
{
	return ckpt_content_seek(obj, off, false);
}

static uint64_t content_ops_allocated(const void *obj)
{
	return ckpt_content_allocated(obj);
}

static const struct tree_stream_ops content_ops = {
	.size = content_ops_size,
	.read = content_ops_read,
	.seek_data = content_ops_seek_data,
	.seek_hole = content_ops_seek_hole,
	.allocated = content_ops_allocated,
};

static int r_damaged(const struct tree *t, const struct tree_node *n, struct ck_buf *out)
{
	return -EIO;
}

/* Whether @c is one contiguous range of its image: then a slice reads it in place. */
static bool one_range(const struct ckpt_content *c)
{
	return c->member && c->n_pieces == 1 && c->pieces[0].off == 0 && c->pieces[0].len == c->size;
}

/* Add @c as file @name of @dir. Returns 0 or -ENOMEM. */
static int add_content(struct tree *t, struct tree_node *dir, const char *name,
		       const struct ckpt_content *c)
{
	const mode_t mode = S_IFREG | 0400;	/* queued data is as private as memory */
	struct tree_node *n;

	if (c->err < 0)
		n = tree_text_add(t, dir, name, mode, r_damaged, c);
	else if (one_range(c))
		n = tree_slice_add(t, dir, name, mode, c->member, c->pieces[0].img_off, c->size);
	else
		n = tree_stream_add(t, dir, name, mode, &content_ops, (void *) c);
	return n ? 0 : -ENOMEM;
}

int view_add_files_dir(struct tree *t)
{
	struct tree_node *d = tree_node_add(t, t->root, "files", TREE_DIR, S_IFDIR | 0555);

	if (!d)
		return -ENOMEM;
	for (size_t i = 0; i < t->ck->n_contents; i++) {
		int rc = add_content(t, d, t->ck->contents[i].name, &t->ck->contents[i]);

		if (rc < 0)
			return rc;
	}
	return 0;
}

int view_add_fdcontent(struct tree *t, struct tree_node *d, const struct ckpt_proc *p)
{
	struct tree_node *dir = tree_node_add(t, d, "fdcontent", TREE_DIR, S_IFDIR | 0500);
	char name[32];

	if (!dir)
		return -ENOMEM;
	for (size_t i = 0; i < p->n_fds; i++) {
		const struct ckpt_content *data, *outq;
		int rc = 0;

		ckpt_fd_contents(t->ck, p->fds[i].id, &data, &outq);
		snprintf(name, sizeof(name), "%u", p->fds[i].fd);
		if (data)
			rc = add_content(t, dir, name, data);
		snprintf(name, sizeof(name), "%u.outq", p->fds[i].fd);
		if (rc == 0 && outq)
			rc = add_content(t, dir, name, outq);
		if (rc < 0)
			return rc;
	}
	return 0;
}
