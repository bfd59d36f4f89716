/* SPDX-License-Identifier: Apache-2.0 */
/* Typed decoders: each unpacks its image with the generated protobuf-c code,
 * copies the fields ckptfs uses into the plain structs of img.h and frees the
 * message at once. files.img lives in img-files.c. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "files.pb-c.h"
#include "img-read.h"
#include "task.pb-c.h"

int img_each(const struct ck_blob *b, uint32_t magic, const ProtobufCMessageDescriptor *desc,
	     img_record_fn fn, void *ud)
{
	struct img_reader r;
	ProtobufCMessage *msg;
	size_t n = 0;
	int rc;

	rc = img_reader_init(&r, b, magic);
	if (rc < 0)
		return rc;
	while ((rc = img_reader_next(&r, desc, &msg)) > 0) {
		rc = fn(msg, n, ud);
		protobuf_c_message_free_unpacked(msg, NULL);
		if (rc < 0)
			return rc;
		n++;
	}
	if (rc < 0)
		return rc;
	return n > INT32_MAX ? -EBADMSG : (int) n;
}

int img_grow(void **arr, size_t *cap, size_t n, size_t size)
{
	size_t c = *cap;
	void *p;

	if (n <= c)
		return 0;
	if (c == 0)
		c = 8;
	while (c < n) {
		if (c > SIZE_MAX / 2)
			return -ENOMEM;
		c *= 2;
	}
	if (c > SIZE_MAX / size)
		return -ENOMEM;
	p = realloc(*arr, c * size);
	if (!p)
		return -ENOMEM;
	*arr = p;
	*cap = c;
	return 0;
}

int img_dup_u32(const uint32_t *src, size_t n, uint32_t **ret)
{
	uint32_t *p;

	*ret = NULL;
	if (n == 0)
		return 0;
	p = calloc(n, sizeof(*p));
	if (!p)
		return -ENOMEM;
	memcpy(p, src, n * sizeof(*p));
	*ret = p;
	return 0;
}

int img_dup_str(const char *s, char **ret)
{
	*ret = NULL;
	if (!s)
		return 0;
	*ret = strdup(s);
	return *ret ? 0 : -ENOMEM;
}

struct first_rec {
	int (*copy)(const ProtobufCMessage *msg, void *dst);
	void *dst;
};

static int first_cb(const ProtobufCMessage *msg, size_t idx, void *ud)
{
	struct first_rec *f = ud;

	if (idx > 0)
		return 0;	/* CRIU writes one; tolerate trailing records */
	return f->copy(msg, f->dst);
}

int img_read_first(const struct ck_blob *b, uint32_t magic, const ProtobufCMessageDescriptor *desc,
		   int (*copy)(const ProtobufCMessage *, void *), void *dst)
{
	struct first_rec f = { copy, dst };
	int rc;

	rc = img_each(b, magic, desc, first_cb, &f);
	if (rc < 0)
		return rc;
	return rc == 0 ? -EBADMSG : 0;
}

/* ---- inventory.img ---- */

static int inventory_copy(const ProtobufCMessage *msg, void *dst)
{
	const InventoryEntry *e = (const InventoryEntry *) msg;
	struct img_inventory *inv = dst;
	const ProtobufCEnumValue *v;
	char num[16];
	int rc;

	inv->img_version = e->img_version;
	inv->fdinfo_per_id = e->has_fdinfo_per_id && e->fdinfo_per_id;
	inv->ns_per_id = e->has_ns_per_id && e->ns_per_id;
	inv->has_root_cg_set = e->has_root_cg_set;
	inv->root_cg_set = e->root_cg_set;
	if (e->has_lsmtype) {
		v = protobuf_c_enum_descriptor_get_value(&lsmtype__descriptor, e->lsmtype);
		if (!v) {
			snprintf(num, sizeof(num), "%d", (int) e->lsmtype);
			inv->lsmtype = strdup(num);
		} else {
			inv->lsmtype = strdup(v->name);
		}
		if (!inv->lsmtype)
			return -ENOMEM;
	}
	rc = img_dup_str(e->dump_criu_run_id, &inv->dump_criu_run_id);
	return rc;
}

int img_read_inventory(const struct ck_blob *b, struct img_inventory *ret)
{
	struct img_inventory inv = { 0 };
	int rc;

	rc = img_read_first(b, IMG_MAGIC_INVENTORY, &inventory_entry__descriptor, inventory_copy, &inv);
	if (rc < 0) {
		img_inventory_done(&inv);
		return rc;
	}
	*ret = inv;
	return 0;
}

void img_inventory_done(struct img_inventory *inv)
{
	if (!inv)
		return;
	free(inv->lsmtype);
	free(inv->dump_criu_run_id);
	inv->lsmtype = NULL;
	inv->dump_criu_run_id = NULL;
}

/* ---- pstree.img ---- */

struct pstree_acc {
	struct img_pstree_item *items;
	size_t n, cap;
};

static int pstree_cb(const ProtobufCMessage *msg, size_t idx, void *ud)
{
	const PstreeEntry *e = (const PstreeEntry *) msg;
	struct pstree_acc *acc = ud;
	struct img_pstree_item *it;
	int rc;

	rc = img_grow((void **) &acc->items, &acc->cap, acc->n + 1, sizeof(*acc->items));
	if (rc < 0)
		return rc;
	it = &acc->items[acc->n];
	*it = (struct img_pstree_item) {
		.pid = e->pid, .ppid = e->ppid, .pgid = e->pgid, .sid = e->sid,
	};
	rc = img_dup_u32(e->threads, e->n_threads, &it->threads);
	if (rc < 0)
		return rc;
	it->n_threads = e->n_threads;
	acc->n++;
	return 0;
}

int img_read_pstree(const struct ck_blob *b, struct img_pstree_item **ret_items, size_t *ret_n)
{
	struct pstree_acc acc = { 0 };
	int rc;

	rc = img_each(b, IMG_MAGIC_PSTREE, &pstree_entry__descriptor, pstree_cb, &acc);
	if (rc < 0) {
		img_pstree_free(acc.items, acc.n);
		return rc;
	}
	*ret_items = acc.items;
	*ret_n = acc.n;
	return 0;
}

void img_pstree_free(struct img_pstree_item *items, size_t n)
{
	for (size_t i = 0; items && i < n; i++)
		free(items[i].threads);
	free(items);
}

/* ---- mm-<pid>.img ---- */

/* The VMAs are the one part of an mm image that grows (10^6 of them in a
 * hostile one): they are unpacked one at a time into the array, never all
 * as VmaEntry messages (src/img/img-strip.c). */
static int mm_copy(const struct img_rec *rec, struct img_mm *mm)
{
	const MmEntry *e = (const MmEntry *) rec->msg;
	const ProtobufCFieldDescriptor *fv;
	ProtobufCMessage *msg;
	size_t pos = 0, n;
	unsigned int fi;
	int rc;

	mm->mm_start_code = e->mm_start_code;
	mm->mm_end_code = e->mm_end_code;
	mm->mm_start_data = e->mm_start_data;
	mm->mm_end_data = e->mm_end_data;
	mm->mm_start_stack = e->mm_start_stack;
	mm->mm_start_brk = e->mm_start_brk;
	mm->mm_brk = e->mm_brk;
	mm->mm_arg_start = e->mm_arg_start;
	mm->mm_arg_end = e->mm_arg_end;
	mm->mm_env_start = e->mm_env_start;
	mm->mm_env_end = e->mm_env_end;
	mm->exe_file_id = e->exe_file_id;
	mm->has_dumpable = e->has_dumpable;
	mm->dumpable = (uint32_t) e->dumpable;
	if (e->n_mm_saved_auxv) {
		mm->auxv = calloc(e->n_mm_saved_auxv, sizeof(*mm->auxv));
		if (!mm->auxv)
			return -ENOMEM;
		memcpy(mm->auxv, e->mm_saved_auxv, e->n_mm_saved_auxv * sizeof(*mm->auxv));
		mm->n_auxv = e->n_mm_saved_auxv;
	}
	fv = protobuf_c_message_descriptor_get_field_by_name(&mm_entry__descriptor, "vmas");
	fi = (unsigned int) (fv - mm_entry__descriptor.fields);
	n = img_rec_count(rec, fi);
	if (n) {
		mm->vmas = calloc(n, sizeof(*mm->vmas));
		if (!mm->vmas)
			return -ENOMEM;
	}
	while ((rc = img_rec_next(rec, fi, &pos, &msg)) > 0) {
		const VmaEntry *v = (const VmaEntry *) msg;
		bool bad = v->end < v->start;

		mm->vmas[mm->n_vmas++] = (struct img_vma) {
			.start = v->start, .end = v->end, .pgoff = v->pgoff, .shmid = v->shmid,
			.prot = v->prot, .flags = v->flags, .status = v->status,
			.fd = (int32_t) v->fd,
		};
		protobuf_c_message_free_unpacked(msg, NULL);
		if (bad)
			return -EBADMSG;
	}
	return rc;
}

int img_read_mm(const struct ck_blob *b, struct img_mm **ret_mm)
{
	_cleanup_(img_mm_freep) struct img_mm *mm = NULL;
	struct img_reader r;
	struct img_rec rec;
	struct ck_blob raw;
	ProtobufCMessage *msg;
	int rc;

	mm = calloc(1, sizeof(*mm));
	if (!mm)
		return -ENOMEM;
	rc = img_reader_init(&r, b, IMG_MAGIC_MM);
	if (rc < 0)
		return rc;
	rc = img_reader_next_raw(&r, &raw);
	if (rc <= 0)
		return rc < 0 ? rc : -EBADMSG;
	rc = img_rec_unpack(&rec, &mm_entry__descriptor, &raw, 0);
	if (rc < 0)
		return rc;
	rc = mm_copy(&rec, mm);
	img_rec_done(&rec);
	if (rc < 0)
		return rc;
	/* CRIU writes one record; later ones must unpack, as img_read_first() wants */
	while ((rc = img_reader_next(&r, &mm_entry__descriptor, &msg)) > 0)
		protobuf_c_message_free_unpacked(msg, NULL);
	if (rc < 0)
		return rc;
	*ret_mm = TAKE_PTR(mm);
	return 0;
}

void img_mm_free(struct img_mm *mm)
{
	if (!mm)
		return;
	free(mm->auxv);
	free(mm->vmas);
	free(mm);
}

/* ---- fs-<pid>.img, ids-<pid>.img ---- */

static int fs_copy(const ProtobufCMessage *msg, void *dst)
{
	const FsEntry *e = (const FsEntry *) msg;

	*(struct img_fs *) dst = (struct img_fs) {
		.cwd_id = e->cwd_id, .root_id = e->root_id,
		.has_umask = e->has_umask, .umask = e->umask,
	};
	return 0;
}

int img_read_fs(const struct ck_blob *b, struct img_fs *ret)
{
	struct img_fs fs;
	int rc;

	rc = img_read_first(b, IMG_MAGIC_FS, &fs_entry__descriptor, fs_copy, &fs);
	if (rc < 0)
		return rc;
	*ret = fs;
	return 0;
}

int img_ids_copy(const ProtobufCMessage *msg, void *dst)
{
	const TaskKobjIdsEntry *e = (const TaskKobjIdsEntry *) msg;

	*(struct img_ids *) dst = (struct img_ids) {
		.vm_id = e->vm_id, .files_id = e->files_id, .fs_id = e->fs_id,
		.sighand_id = e->sighand_id,
		.has_pid_ns_id = e->has_pid_ns_id, .pid_ns_id = e->pid_ns_id,
		.has_net_ns_id = e->has_net_ns_id, .net_ns_id = e->net_ns_id,
		.has_ipc_ns_id = e->has_ipc_ns_id, .ipc_ns_id = e->ipc_ns_id,
		.has_uts_ns_id = e->has_uts_ns_id, .uts_ns_id = e->uts_ns_id,
		.has_mnt_ns_id = e->has_mnt_ns_id, .mnt_ns_id = e->mnt_ns_id,
		.has_user_ns_id = e->has_user_ns_id, .user_ns_id = e->user_ns_id,
		.has_cgroup_ns_id = e->has_cgroup_ns_id, .cgroup_ns_id = e->cgroup_ns_id,
		.has_time_ns_id = e->has_time_ns_id, .time_ns_id = e->time_ns_id,
	};
	return 0;
}

int img_read_ids(const struct ck_blob *b, struct img_ids *ret)
{
	struct img_ids ids;
	int rc;

	rc = img_read_first(b, IMG_MAGIC_IDS, &task_kobj_ids_entry__descriptor, img_ids_copy, &ids);
	if (rc < 0)
		return rc;
	*ret = ids;
	return 0;
}

/* ---- pagemap-<pid>.img ---- */

int img_read_pagemap(const struct ck_blob *b, struct img_pagemap *ret)
{
	struct img_pagemap pm = { 0 };
	struct img_reader r;
	ProtobufCMessage *msg;
	size_t cap = 0;
	int rc;

	rc = img_reader_init(&r, b, IMG_MAGIC_PAGEMAP);
	if (rc < 0)
		return rc;
	rc = img_reader_next(&r, &pagemap_head__descriptor, &msg);
	if (rc <= 0)
		return rc < 0 ? rc : -EBADMSG;	/* the head is mandatory */
	pm.pages_id = ((const PagemapHead *) msg)->pages_id;
	protobuf_c_message_free_unpacked(msg, NULL);

	while ((rc = img_reader_next(&r, &pagemap_entry__descriptor, &msg)) > 0) {
		const PagemapEntry *e = (const PagemapEntry *) msg;
		struct img_pagemap_entry *d;

		rc = img_grow((void **) &pm.entries, &cap, pm.n_entries + 1, sizeof(*pm.entries));
		if (rc < 0) {
			protobuf_c_message_free_unpacked(msg, NULL);
			break;
		}
		d = &pm.entries[pm.n_entries++];
		d->vaddr = e->vaddr;
		/* 4.2 writes compat_nr_pages = 0 next to the real count in field 5. */
		d->nr_pages = e->has_nr_pages ? e->nr_pages : e->compat_nr_pages;
		if (e->has_flags)
			d->flags = e->flags;
		else
			d->flags = e->has_in_parent && e->in_parent ? IMG_PE_PARENT : IMG_PE_PRESENT;
		protobuf_c_message_free_unpacked(msg, NULL);
	}
	if (rc < 0) {
		img_pagemap_done(&pm);
		return rc;
	}
	*ret = pm;
	return 0;
}

void img_pagemap_done(struct img_pagemap *pm)
{
	if (!pm)
		return;
	free(pm->entries);
	pm->entries = NULL;
	pm->n_entries = 0;
}

/* ---- fdinfo-<files_id>.img ---- */

struct fdinfo_acc {
	struct img_fdinfo *fds;
	size_t n, cap;
};

static int fdinfo_cb(const ProtobufCMessage *msg, size_t idx, void *ud)
{
	const FdinfoEntry *e = (const FdinfoEntry *) msg;
	struct fdinfo_acc *acc = ud;
	int rc;

	rc = img_grow((void **) &acc->fds, &acc->cap, acc->n + 1, sizeof(*acc->fds));
	if (rc < 0)
		return rc;
	acc->fds[acc->n++] = (struct img_fdinfo) {
		.fd = e->fd, .id = e->id, .type = e->type, .flags = e->flags,
	};
	return 0;
}

int img_read_fdinfo(const struct ck_blob *b, struct img_fdinfo **ret_fds, size_t *ret_n)
{
	struct fdinfo_acc acc = { 0 };
	int rc;

	rc = img_each(b, IMG_MAGIC_FDINFO, &fdinfo_entry__descriptor, fdinfo_cb, &acc);
	if (rc < 0) {
		free(acc.fds);
		return rc;
	}
	*ret_fds = acc.fds;
	*ret_n = acc.n;
	return 0;
}

/* ---- seccomp.img ---- */

struct seccomp_acc {
	int64_t *prev;
	size_t n, cap;
};

static int seccomp_cb(const ProtobufCMessage *msg, size_t idx, void *ud)
{
	const SeccompEntry *e = (const SeccompEntry *) msg;
	struct seccomp_acc *acc = ud;
	int rc;

	rc = img_grow((void **) &acc->prev, &acc->cap, acc->n + e->n_seccomp_filters, sizeof(*acc->prev));
	if (rc < 0)
		return rc;
	for (size_t i = 0; i < e->n_seccomp_filters; i++) {
		const SeccompFilter *f = e->seccomp_filters[i];

		acc->prev[acc->n++] = f->has_prev ? (int64_t) f->prev : -1;
	}
	return 0;
}

/* Reject links out of range and cycles, so that following prev always ends. */
static int seccomp_check(const int64_t *prev, size_t n)
{
	_cleanup_free_ uint8_t *state = NULL;	/* 0 unseen, 1 on the current walk, 2 ends */

	state = calloc(n ? n : 1, 1);
	if (!state)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		int64_t j = (int64_t) i;

		while (j >= 0 && state[j] == 0) {
			state[j] = 1;
			if (prev[j] >= (int64_t) n)
				return -EBADMSG;
			j = prev[j];
		}
		if (j >= 0 && state[j] == 1)
			return -EBADMSG;
		for (j = (int64_t) i; j >= 0 && state[j] == 1; j = prev[j])
			state[j] = 2;
	}
	return 0;
}

int img_read_seccomp_chain(const struct ck_blob *b, int64_t **ret_prev, size_t *ret_n)
{
	struct seccomp_acc acc = { 0 };
	int rc;

	rc = img_each(b, IMG_MAGIC_SECCOMP, &seccomp_entry__descriptor, seccomp_cb, &acc);
	if (rc >= 0)
		rc = seccomp_check(acc.prev, acc.n);
	if (rc < 0) {
		free(acc.prev);
		return rc;
	}
	*ret_prev = acc.prev;
	*ret_n = acc.n;
	return 0;
}

/* ---- diagnostics ---- */

struct img_kind {
	const char *name;		/* file name, or prefix when it ends with '-' */
	uint32_t magic;
	const ProtobufCMessageDescriptor *desc;
	bool need_entry;		/* empty means malformed */
};

static const struct img_kind img_kinds[] = {
	{ "inventory.img", IMG_MAGIC_INVENTORY, &inventory_entry__descriptor, true },
	{ "pstree.img", IMG_MAGIC_PSTREE, &pstree_entry__descriptor, true },
	{ "core-", IMG_MAGIC_CORE, &core_entry__descriptor, true },
	{ "mm-", IMG_MAGIC_MM, &mm_entry__descriptor, true },
	{ "fs-", IMG_MAGIC_FS, &fs_entry__descriptor, true },
	{ "ids-", IMG_MAGIC_IDS, &task_kobj_ids_entry__descriptor, true },
	{ "fdinfo-", IMG_MAGIC_FDINFO, &fdinfo_entry__descriptor, false },
	{ "pagemap-", IMG_MAGIC_PAGEMAP, &pagemap_entry__descriptor, true },
	{ "files.img", IMG_MAGIC_FILES, &file_entry__descriptor, false },
	{ "remap-fpath.img", IMG_MAGIC_REMAP_FPATH, &remap_file_path_entry__descriptor, false },
	{ "memfd.img", IMG_MAGIC_MEMFD_INODE, &memfd_inode_entry__descriptor, false },
	{ "seccomp.img", IMG_MAGIC_SECCOMP, &seccomp_entry__descriptor, false },
};

static const struct img_kind *kind_of(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(img_kinds); i++) {
		const char *k = img_kinds[i].name;
		size_t len = strlen(k);

		if (k[len - 1] == '-' ? strncmp(name, k, len) == 0 : strcmp(name, k) == 0)
			return &img_kinds[i];
	}
	return NULL;
}

const char *img_explain(const char *name, const struct ck_blob *b)
{
	const struct img_kind *k = kind_of(name);
	const ProtobufCMessageDescriptor *desc;
	struct img_reader r;
	struct ck_blob rec;
	ProtobufCMessage *msg;
	size_t n = 0;
	int rc;

	if (!k)
		return NULL;
	if (b->len < 4)
		return "truncated magic";
	if (img_reader_init(&r, b, 0) < 0)
		return "truncated magic";
	if (r.magic != k->magic)
		return "bad magic";
	while ((rc = img_reader_next_raw(&r, &rec)) > 0) {
		desc = k->magic == IMG_MAGIC_PAGEMAP && n == 0 ? &pagemap_head__descriptor : k->desc;
		msg = protobuf_c_message_unpack(desc, NULL, rec.len, rec.data);
		if (!msg)
			return "undecodable record";
		protobuf_c_message_free_unpacked(msg, NULL);
		n++;
	}
	if (rc < 0)
		return "truncated record";
	if (n == 0 && k->need_entry)
		return "no entries";
	return NULL;
}
