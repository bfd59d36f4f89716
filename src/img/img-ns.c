/* SPDX-License-Identifier: Apache-2.0 */
/* The namespace-side images the /proc views need: mountpoints-<ns>.img
 * (mnt_entry), cgroup.img (the cg sets only), tcp-stream-<ino>.img (queue
 * lengths only) and inventory.img's root_ids. */
#include <errno.h>
#include <string.h>

#include "files.pb-c.h"
#include "img-read.h"
#include "namespaces.pb-c.h"
#include "task.pb-c.h"

/* ---- mountpoints-<ns>.img ---- */

struct mnt_acc {
	struct img_mnt *arr;
	size_t n, cap;
};

static int mnt_copy(const MntEntry *e, struct img_mnt *m)
{
	m->mnt_id = e->mnt_id;
	m->parent_mnt_id = e->parent_mnt_id;
	m->root_dev = e->root_dev;
	m->fstype = e->fstype;
	m->flags = e->flags;
	m->has_sb_flags = e->has_sb_flags;
	m->sb_flags = e->sb_flags;
	m->has_shared_id = e->has_shared_id;
	m->shared_id = e->shared_id;
	m->has_master_id = e->has_master_id;
	m->master_id = e->master_id;
	if (img_dup_str(e->root, &m->root) < 0 || img_dup_str(e->mountpoint, &m->mountpoint) < 0 ||
	    img_dup_str(e->source, &m->source) < 0 || img_dup_str(e->options, &m->options) < 0 ||
	    img_dup_str(e->fsname, &m->fsname) < 0)
		return -ENOMEM;
	return 0;
}

static void mnt_done(struct img_mnt *m)
{
	free(m->root);
	free(m->mountpoint);
	free(m->source);
	free(m->options);
	free(m->fsname);
}

static int mnt_cb(const ProtobufCMessage *msg, size_t idx, void *ud)
{
	struct mnt_acc *a = ud;
	int rc;

	(void) idx;
	rc = img_grow((void **) &a->arr, &a->cap, a->n + 1, sizeof(*a->arr));
	if (rc < 0)
		return rc;
	a->arr[a->n] = (struct img_mnt) { 0 };
	rc = mnt_copy((const MntEntry *) msg, &a->arr[a->n]);
	a->n++;		/* counted even when half-copied, so that it is freed */
	return rc;
}

int img_read_mnts(const struct ck_blob *b, struct img_mnt **ret, size_t *ret_n)
{
	struct mnt_acc a = { 0 };
	int rc;

	rc = img_each(b, IMG_MAGIC_MNTS, &mnt_entry__descriptor, mnt_cb, &a);
	if (rc < 0) {
		img_mnts_free(a.arr, a.n);
		return rc;
	}
	*ret = a.arr;
	*ret_n = a.n;
	return 0;
}

void img_mnts_free(struct img_mnt *m, size_t n)
{
	for (size_t i = 0; m && i < n; i++)
		mnt_done(&m[i]);
	free(m);
}

/* ---- cgroup.img ---- */

struct cg_acc {
	struct img_cg_set *arr;
	size_t n, cap;
};

static int cg_set_copy(const CgSetEntry *e, struct img_cg_set *s)
{
	s->id = e->id;
	if (!e->n_ctls)
		return 0;
	s->ctls = calloc(e->n_ctls, sizeof(*s->ctls));
	if (!s->ctls)
		return -ENOMEM;
	for (size_t i = 0; i < e->n_ctls; i++) {
		const CgMemberEntry *c = e->ctls[i];
		struct img_cg_member *m = &s->ctls[i];

		s->n_ctls++;
		m->has_cgns_prefix = c->has_cgns_prefix;
		m->cgns_prefix = c->cgns_prefix;
		if (img_dup_str(c->name, &m->name) < 0 || img_dup_str(c->path, &m->path) < 0)
			return -ENOMEM;
	}
	return 0;
}

static int cg_cb(const ProtobufCMessage *msg, size_t idx, void *ud)
{
	const CgroupEntry *e = (const CgroupEntry *) msg;
	struct cg_acc *a = ud;
	int rc;

	(void) idx;
	for (size_t i = 0; i < e->n_sets; i++) {
		rc = img_grow((void **) &a->arr, &a->cap, a->n + 1, sizeof(*a->arr));
		if (rc < 0)
			return rc;
		a->arr[a->n] = (struct img_cg_set) { 0 };
		rc = cg_set_copy(e->sets[i], &a->arr[a->n]);
		a->n++;
		if (rc < 0)
			return rc;
	}
	return 0;
}

int img_read_cg_sets(const struct ck_blob *b, struct img_cg_set **ret, size_t *ret_n)
{
	struct cg_acc a = { 0 };
	int rc;

	rc = img_each(b, IMG_MAGIC_CGROUP, &cgroup_entry__descriptor, cg_cb, &a);
	if (rc < 0) {
		img_cg_sets_free(a.arr, a.n);
		return rc;
	}
	*ret = a.arr;
	*ret_n = a.n;
	return 0;
}

void img_cg_sets_free(struct img_cg_set *s, size_t n)
{
	for (size_t i = 0; s && i < n; i++) {
		for (size_t j = 0; j < s[i].n_ctls; j++) {
			free(s[i].ctls[j].name);
			free(s[i].ctls[j].path);
		}
		free(s[i].ctls);
	}
	free(s);
}

/* ---- tcp-stream-<ino hex>.img ---- */

int img_read_tcp_stream(const struct ck_blob *b, struct img_tcp_stream *ret)
{
	const TcpStreamEntry *e;
	struct img_reader r;
	ProtobufCMessage *msg;
	int rc;

	/* Only the first record is read: the queue bytes follow it as an
	 * extra, so img_each() would take them for records. */
	rc = img_reader_init(&r, b, IMG_MAGIC_TCP_STREAM);
	if (rc < 0)
		return rc;
	rc = img_reader_next(&r, &tcp_stream_entry__descriptor, &msg);
	if (rc <= 0)
		return rc < 0 ? rc : -EBADMSG;
	e = (const TcpStreamEntry *) msg;
	ret->inq_len = e->inq_len;
	ret->outq_len = e->outq_len;
	rc = img_reader_extra(&r, (uint64_t) e->inq_len + e->outq_len, NULL);
	protobuf_c_message_free_unpacked(msg, NULL);
	return rc;
}

/* ---- inventory.img root_ids ---- */

static int root_ids_copy(const ProtobufCMessage *msg, void *dst)
{
	const TaskKobjIdsEntry *e = ((const InventoryEntry *) msg)->root_ids;

	if (!e)
		return -ENOENT;
	return img_ids_copy(&e->base, dst);
}

int img_read_root_ids(const struct ck_blob *b, struct img_ids *ret)
{
	struct img_ids ids;
	int rc;

	rc = img_read_first(b, IMG_MAGIC_INVENTORY, &inventory_entry__descriptor, root_ids_copy, &ids);
	if (rc < 0)
		return rc;
	*ret = ids;
	return 0;
}
