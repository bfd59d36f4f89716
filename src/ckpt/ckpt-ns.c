/* SPDX-License-Identifier: Apache-2.0 */
/* The namespace side of the model (docs/formats.md §1.4, §2.2): the mount table of
 * every mount namespace a task lives in (mountpoints-<ns>.img), the cgroup
 * sets (cgroup.img), the queue lengths of every TCP socket
 * (tcp-stream-<ino hex>.img) and inventory.img's root_ids, which says which
 * namespace a socket without ns_id belongs to. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "ckpt-priv.h"

#define SK_TCP 6

static int cmp_u32(uint32_t a, uint32_t b)
{
	return a < b ? -1 : a > b;
}

static int mntns_cmp(const void *a, const void *b)
{
	return cmp_u32(((const struct ckpt_mntns *) a)->id, ((const struct ckpt_mntns *) b)->id);
}

static int cg_set_cmp(const void *a, const void *b)
{
	return cmp_u32(((const struct img_cg_set *) a)->id, ((const struct img_cg_set *) b)->id);
}

static int tcpq_cmp(const void *a, const void *b)
{
	return cmp_u32(((const struct ckpt_tcpq *) a)->ino, ((const struct ckpt_tcpq *) b)->ino);
}

/* Namespace images are named by ns id when inventory.ns_per_id says so,
 * else by the pid of the first task in the namespace (docs/formats.md §5). */
static uint32_t mntns_image_key(const struct ckpt *ck, uint32_t ns_id)
{
	if (ck->inv.ns_per_id)
		return ns_id;
	for (size_t i = 0; i < ck->n_procs; i++)
		if (ck->procs[i].has_ids && ck->procs[i].ids.has_mnt_ns_id &&
		    ck->procs[i].ids.mnt_ns_id == ns_id)
			return ck->procs[i].pid;
	return ns_id;
}

static int load_mntns(struct ckpt *ck, struct ckpt_mntns *ns)
{
	struct ckpt_blob ib = { 0 };
	char name[64];
	int rc;

	snprintf(name, sizeof(name), "mountpoints-%u.img", mntns_image_key(ck, ns->id));
	rc = ckpt_load_image_in(ck->arc, ck->img_dir, name, &ib);
	if (rc == 0)
		rc = img_read_mnts(&ib.b, &ns->mnts, &ns->n_mnts);
	ckpt_blob_done(&ib);
	ns->err = rc;
	return rc == -ENOMEM ? rc : 0;
}

static int load_mntnses(struct ckpt *ck)
{
	for (size_t i = 0; i < ck->n_procs; i++) {
		const struct ckpt_proc *p = &ck->procs[i];
		struct ckpt_mntns *ns;
		int rc;

		if (!p->has_ids || !p->ids.has_mnt_ns_id || ckpt_mntns_find(ck, p->ids.mnt_ns_id))
			continue;
		ns = realloc(ck->mntns, (ck->n_mntns + 1) * sizeof(*ns));
		if (!ns)
			return -ENOMEM;
		ck->mntns = ns;
		ns = &ck->mntns[ck->n_mntns++];
		*ns = (struct ckpt_mntns) { .id = p->ids.mnt_ns_id };
		rc = load_mntns(ck, ns);
		if (rc < 0)
			return rc;
		/* kept sorted so that ckpt_mntns_find() works while loading */
		qsort(ck->mntns, ck->n_mntns, sizeof(*ck->mntns), mntns_cmp);
	}
	return 0;
}

static int load_cgroups(struct ckpt *ck)
{
	struct ckpt_blob ib = { 0 };
	int rc;

	rc = ckpt_load_image_in(ck->arc, ck->img_dir, "cgroup.img", &ib);
	if (rc == 0)
		rc = img_read_cg_sets(&ib.b, &ck->cg_sets, &ck->n_cg_sets);
	ckpt_blob_done(&ib);
	ck->cg_err = rc;
	if (ck->cg_sets)
		qsort(ck->cg_sets, ck->n_cg_sets, sizeof(*ck->cg_sets), cg_set_cmp);
	return rc == -ENOMEM ? rc : 0;
}

static int load_tcpqs(struct ckpt *ck)
{
	size_t n = 0;

	for (size_t i = 0; i < ck->n_files; i++)
		n += ck->files[i].type == IMG_FD_INETSK && ck->files[i].sk_proto == SK_TCP;
	if (!n)
		return 0;
	ck->tcpqs = calloc(n, sizeof(*ck->tcpqs));
	if (!ck->tcpqs)
		return -ENOMEM;
	for (size_t i = 0; i < ck->n_files; i++) {
		const struct img_file *f = &ck->files[i];
		struct ckpt_tcpq *q;
		struct ckpt_blob ib = { 0 };
		struct img_tcp_stream ts = { 0 };
		char name[64];
		int rc;

		if (f->type != IMG_FD_INETSK || f->sk_proto != SK_TCP)
			continue;
		q = &ck->tcpqs[ck->n_tcpqs++];
		q->ino = f->ino;
		snprintf(name, sizeof(name), "tcp-stream-%x.img", f->ino);
		rc = ckpt_load_image_in(ck->arc, ck->img_dir, name, &ib);
		if (rc == 0)
			rc = img_read_tcp_stream(&ib.b, &ts);
		ckpt_blob_done(&ib);
		if (rc == -ENOMEM)
			return rc;
		q->err = rc;
		q->inq_len = ts.inq_len;
		q->outq_len = ts.outq_len;
	}
	qsort(ck->tcpqs, ck->n_tcpqs, sizeof(*ck->tcpqs), tcpq_cmp);
	return 0;
}

static int load_root_ids(struct ckpt *ck)
{
	struct ckpt_blob ib = { 0 };
	int rc;

	rc = ckpt_load_image_in(ck->arc, ck->img_dir, "inventory.img", &ib);
	if (rc == 0)
		rc = img_read_root_ids(&ib.b, &ck->root_ids);
	ckpt_blob_done(&ib);
	ck->has_root_ids = rc == 0;
	return rc == -ENOMEM ? rc : 0;
}

int ckpt_load_ns(struct ckpt *ck)
{
	int rc;

	rc = load_root_ids(ck);
	if (rc == 0)
		rc = load_mntnses(ck);
	if (rc == 0)
		rc = load_cgroups(ck);
	if (rc == 0)
		rc = load_tcpqs(ck);
	return rc;
}

void ckpt_ns_done(struct ckpt *ck)
{
	for (size_t i = 0; ck->mntns && i < ck->n_mntns; i++)
		img_mnts_free(ck->mntns[i].mnts, ck->mntns[i].n_mnts);
	free(ck->mntns);
	img_cg_sets_free(ck->cg_sets, ck->n_cg_sets);
	free(ck->tcpqs);
}

const struct ckpt_mntns *ckpt_mntns_find(const struct ckpt *ck, uint32_t id)
{
	struct ckpt_mntns key = { .id = id };

	if (!ck->n_mntns)
		return NULL;
	return bsearch(&key, ck->mntns, ck->n_mntns, sizeof(*ck->mntns), mntns_cmp);
}

const struct img_cg_set *ckpt_cg_set_find(const struct ckpt *ck, uint32_t id)
{
	struct img_cg_set key = { .id = id };

	if (!ck->n_cg_sets)
		return NULL;
	return bsearch(&key, ck->cg_sets, ck->n_cg_sets, sizeof(*ck->cg_sets), cg_set_cmp);
}

const struct ckpt_tcpq *ckpt_tcpq_find(const struct ckpt *ck, uint32_t ino)
{
	struct ckpt_tcpq key = { .ino = ino };

	if (!ck->n_tcpqs)
		return NULL;
	return bsearch(&key, ck->tcpqs, ck->n_tcpqs, sizeof(*ck->tcpqs), tcpq_cmp);
}
