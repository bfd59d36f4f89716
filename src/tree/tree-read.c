/* SPDX-License-Identifier: Apache-2.0 */
/* Reads: copied into a buffer, or described as extents of files that stay
 * open so that the FUSE layer can splice them (tree_read_reply()); link
 * targets; SEEK_DATA and SEEK_HOLE. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tree-priv.h"

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
		return tree_text_read(t, n, buf, len, off);
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
		rc = tree_text_content(t, n);
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
	case TREE_TEXT:
		return tree_text_extents(t, n, off, len, ext, max);
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
