/* SPDX-License-Identifier: Apache-2.0 */
/* Joins the per-image decoders into one model (docs/formats.md §2.1): pstree gives
 * the processes; core-<tid> every thread; ids-<pid> the files_id that names
 * fdinfo-<files_id>; pagemap-<pid> the pages_id that names pages-<pages_id>. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "ckpt-priv.h"


static int cmp_u32(uint32_t a, uint32_t b)
{
	return a < b ? -1 : a > b;
}

static int proc_cmp(const void *a, const void *b)
{
	return cmp_u32(((const struct ckpt_proc *) a)->pid, ((const struct ckpt_proc *) b)->pid);
}

static int file_cmp(const void *a, const void *b)
{
	return cmp_u32(((const struct img_file *) a)->id, ((const struct img_file *) b)->id);
}

static int remap_cmp(const void *a, const void *b)
{
	return cmp_u32(((const struct img_remap *) a)->orig_id, ((const struct img_remap *) b)->orig_id);
}

static int memfd_cmp(const void *a, const void *b)
{
	return cmp_u32(((const struct img_memfd *) a)->inode_id, ((const struct img_memfd *) b)->inode_id);
}

static int fd_cmp(const void *a, const void *b)
{
	return cmp_u32(((const struct img_fdinfo *) a)->fd, ((const struct img_fdinfo *) b)->fd);
}

char *ckpt_image_path(const struct ckpt *ck, const char *name)
{
	char *p;

	if (!ck->img_dir || !ck->img_dir[0])
		return strdup(name);
	if (asprintf(&p, "%s/%s", ck->img_dir, name) < 0)
		return NULL;
	return p;
}

const struct arc_entry *ckpt_container_member(const struct ckpt *ck, const char *name)
{
	const char *dir = ck->img_dir ? ck->img_dir : "", *slash = strrchr(dir, '/');
	_cleanup_free_ char *path = NULL;

	/* the images directory is "checkpoint" or "<ctr>/checkpoint" */
	if (asprintf(&path, "%.*s%s", slash ? (int) (slash - dir) + 1 : 0, dir, name) < 0)
		return NULL;
	return arc_find(ck->arc, path);
}

void ckpt_blob_done(struct ckpt_blob *ib)
{
	free(ib->owned);
	*ib = (struct ckpt_blob) { 0 };
}

const struct arc_entry *ckpt_find_image_in(const struct arc *a, const char *dir, const char *name)
{
	_cleanup_free_ char *path = NULL;
	const struct arc_entry *e;

	if (!dir || !dir[0])
		path = strdup(name);
	else if (asprintf(&path, "%s/%s", dir, name) < 0)
		path = NULL;
	if (!path)
		return NULL;
	e = arc_find(a, path);
	return e && e->type == ARC_REG ? e : NULL;
}

int ckpt_load_image_in(const struct arc *a, const char *dir, const char *name, struct ckpt_blob *ret)
{
	const struct arc_entry *e = ckpt_find_image_in(a, dir, name);
	int rc;

	if (!e)
		return -ENOENT;
	rc = arc_load(a, e, IMG_MAX_SIZE, &ret->b, &ret->owned);
	if (rc == -EFBIG)
		return -EBADMSG;
	return rc;
}

/* Load image @name. Returns 0, -ENOENT when absent, or another -errno. */
static int load_image(const struct ckpt *ck, const char *name, struct ckpt_blob *ret)
{
	return ckpt_load_image_in(ck->arc, ck->img_dir, name, ret);
}

/* Load image "<prefix>-<id>.img". */
static int load_image_id(const struct ckpt *ck, const char *prefix, uint32_t id, struct ckpt_blob *ret)
{
	char name[64];

	snprintf(name, sizeof(name), "%s-%u.img", prefix, id);
	return load_image(ck, name, ret);
}

static void strv_free(char **v, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		free(v[i]);
	free(v);
}

/* Whether images directory @d (@dlen bytes) is the `parent` directory of
 * another one in @dirs: part of that checkpoint's pre-dump chain. */
static bool is_nested_parent(const char *d, size_t dlen, char *const *dirs, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		size_t len = strlen(dirs[i]);

		if (dlen == (len ? len + 1 : 0) + 6 && !strncmp(d, dirs[i], len) &&
		    !strncmp(d + dlen - 6, "parent", 6) && (!len || d[len] == '/'))
			return true;
	}
	return false;
}

/* "holds N checkpoints: 'a', 'b' (...)" for @dirs. */
static char *ambiguous(char *const *dirs, size_t n)
{
	struct ck_buf b = { 0 };

	ck_buf_printf(&b, "holds %zu checkpoints (images directories", n);
	for (size_t i = 0; i < n && i < 8; i++)
		ck_buf_printf(&b, "%s '%s'", i ? "," : "", dirs[i][0] ? dirs[i] : ".");
	ck_buf_printf(&b, "%s); give one of them", n > 8 ? ", ..." : "");
	for (char *c = b.data; c && *c; c++)	/* names from the archive, for one line */
		if ((unsigned char) *c < 0x20 || *c == 0x7f)
			*c = '?';
	return b.oom ? (ck_buf_done(&b), NULL) : b.data;
}

/* The directories holding inventory.img, in path order, but those that are
 * the `parent` directory of another. */
static int img_dirs(const struct arc *a, char ***ret, size_t *ret_n)
{
	char **dirs = NULL;
	size_t n = 0, out = 0;

	for (size_t i = 0; i < arc_count(a); i++) {
		const struct arc_entry *e = arc_entry_at(a, i);
		const char *slash = strrchr(e->path, '/');
		char **v;

		if (e->type != ARC_REG || strcmp(slash ? slash + 1 : e->path, "inventory.img"))
			continue;
		v = reallocarray(dirs, n + 1, sizeof(*v));
		if (v)
			dirs = v;
		if (!v || !(dirs[n] = strndup(e->path, slash ? (size_t) (slash - e->path) : 0))) {
			strv_free(dirs, n);
			return -ENOMEM;
		}
		n++;
	}
	for (size_t i = 0; i < n; i++) {
		if (is_nested_parent(dirs[i], strlen(dirs[i]), dirs, n))
			free(dirs[i]);
		else
			dirs[out++] = dirs[i];
	}
	*ret = dirs;
	*ret_n = out;
	return 0;
}

int ckpt_find_img_dir(const struct arc *a, char **ret, char **ret_error)
{
	char **dirs = NULL;
	size_t n = 0, pick = 0;
	int rc;

	rc = img_dirs(a, &dirs, &n);
	if (rc < 0)
		return rc;
	rc = n ? 0 : -ARC_ENOTCKPT;
	for (size_t i = 0; i < n; i++)
		if (!strcmp(dirs[i], CKPT_IMG_DIR))
			pick = i + 1;
	if (rc == 0 && !pick && n > 1) {
		/* several: a pod when they are all its containers' */
		char **names = NULL;
		ssize_t npod = ckpt_pod_containers(a, &names);

		ckpt_pod_free(names, npod > 0 ? (size_t) npod : 0);
		if (npod < 0) {
			rc = -ENOMEM;
		} else if ((size_t) npod != n) {
			rc = -ARC_ENOTCKPT;
			if (ret_error)
				*ret_error = ambiguous(dirs, n);
		}
	}
	if (rc == 0) {
		/* Podman's checkpoint/; else the one; else a pod's first */
		*ret = dirs[pick ? pick - 1 : 0];
		dirs[pick ? pick - 1 : 0] = NULL;
	}
	strv_free(dirs, n);
	return rc;
}

/* "<dir>/<name>: malformed image (<why>)" for the fatal images. */
static char *image_error(const struct ckpt *ck, const char *name, const struct ck_blob *b, int err)
{
	_cleanup_free_ char *path = ckpt_image_path(ck, name);
	const char *why = NULL;
	char *msg = NULL;
	int rc;

	if (err == -EBADMSG && b)
		why = img_explain(name, b);
	if (err == -EBADMSG)
		rc = why ? asprintf(&msg, "%s: malformed image (%s)", path, why)
			 : asprintf(&msg, "%s: malformed image", path);
	else
		rc = asprintf(&msg, "%s: %s", path, strerror(-err));
	return rc < 0 ? NULL : msg;
}

static int load_threads(const struct ckpt *ck, struct ckpt_proc *p, const struct img_pstree_item *it)
{
	size_t n = it->n_threads ? it->n_threads : 1;

	p->threads = calloc(n, sizeof(*p->threads));
	if (!p->threads)
		return -ENOMEM;
	p->n_threads = n;
	for (size_t i = 0; i < n; i++) {
		struct ckpt_thread *t = &p->threads[i];
		struct ckpt_blob ib = { 0 };
		int rc;

		/* Very old pstrees may list no threads: the leader is the only one. */
		t->tid = it->n_threads ? it->threads[i] : it->pid;
		rc = load_image_id(ck, "core", t->tid, &ib);
		if (rc == 0)
			rc = img_read_core(&ib.b, &t->core);
		ckpt_blob_done(&ib);
		if (rc == -ENOMEM)
			return rc;
		t->core_err = rc;
	}
	return 0;
}

static int load_proc(const struct ckpt *ck, struct ckpt_proc *p, const struct img_pstree_item *it)
{
	struct ckpt_blob ib = { 0 };
	uint32_t fdinfo_id;
	int rc;

	p->pid = it->pid;
	p->ppid = it->ppid;
	p->pgid = it->pgid;
	p->sid = it->sid;
	rc = load_threads(ck, p, it);
	if (rc < 0)
		return rc;

	/* Zombies have only their core: no mm, fs, ids, fds or memory. */
	if (ckpt_is_zombie(p))
		return 0;

	rc = load_image_id(ck, "ids", p->pid, &ib);
	if (rc == 0)
		rc = img_read_ids(&ib.b, &p->ids);
	ckpt_blob_done(&ib);
	p->has_ids = rc == 0;
	p->ids_err = rc;

	rc = load_image_id(ck, "mm", p->pid, &ib);
	if (rc == 0)
		rc = img_read_mm(&ib.b, &p->mm);
	ckpt_blob_done(&ib);
	p->mm_err = rc;

	rc = load_image_id(ck, "fs", p->pid, &ib);
	if (rc == 0)
		rc = img_read_fs(&ib.b, &p->fs);
	ckpt_blob_done(&ib);
	p->has_fs = rc == 0;
	p->fs_err = rc;

	if (ck->inv.fdinfo_per_id) {
		rc = p->has_ids ? 0 : p->ids_err;
		fdinfo_id = p->ids.files_id;
	} else {
		rc = 0;
		fdinfo_id = p->pid;
	}
	if (rc == 0)
		rc = load_image_id(ck, "fdinfo", fdinfo_id, &ib);
	if (rc == 0)
		rc = img_read_fdinfo(&ib.b, &p->fds, &p->n_fds);
	ckpt_blob_done(&ib);
	p->fds_err = rc;
	if (p->fds)
		qsort(p->fds, p->n_fds, sizeof(*p->fds), fd_cmp);

	if (p->mm_err == -ENOMEM || p->fs_err == -ENOMEM ||
	    p->ids_err == -ENOMEM || p->fds_err == -ENOMEM)
		return -ENOMEM;
	return 0;
}

/* Optional global images: absent is fine (err = -ENOENT), damage only
 * affects the views that use them. */
static int load_globals(struct ckpt *ck)
{
	struct ckpt_blob ib = { 0 };
	int rc;

	rc = load_image(ck, "files.img", &ib);
	if (rc == 0)
		rc = img_read_files(&ib.b, &ck->files, &ck->n_files);
	ckpt_blob_done(&ib);
	ck->files_err = rc;
	if (ck->files)
		qsort(ck->files, ck->n_files, sizeof(*ck->files), file_cmp);

	rc = load_image(ck, "remap-fpath.img", &ib);
	if (rc == 0)
		rc = img_read_remaps(&ib.b, &ck->remaps, &ck->n_remaps);
	ckpt_blob_done(&ib);
	ck->remaps_err = rc;
	if (ck->remaps)
		qsort(ck->remaps, ck->n_remaps, sizeof(*ck->remaps), remap_cmp);

	rc = load_image(ck, "memfd.img", &ib);
	if (rc == 0)
		rc = img_read_memfds(&ib.b, &ck->memfds, &ck->n_memfds);
	ckpt_blob_done(&ib);
	ck->memfds_err = rc;
	if (ck->memfds)
		qsort(ck->memfds, ck->n_memfds, sizeof(*ck->memfds), memfd_cmp);

	rc = load_image(ck, "seccomp.img", &ib);
	if (rc == 0)
		rc = img_read_seccomp_chain(&ib.b, &ck->seccomp_prev, &ck->n_seccomp);
	ckpt_blob_done(&ib);
	ck->seccomp_err = rc;

	if (ck->files_err == -ENOMEM || ck->remaps_err == -ENOMEM || ck->memfds_err == -ENOMEM ||
	    ck->seccomp_err == -ENOMEM)
		return -ENOMEM;
	return 0;
}

/* Load and decode one of the images every view needs; on failure, set
 * *@ret_error to a reason naming it. */
static int load_root(struct ckpt *ck, const char *name, int (*decode)(const struct ck_blob *b, void *ud),
		     void *ud, char **ret_error)
{
	struct ckpt_blob ib = { 0 };
	int rc;

	rc = load_image(ck, name, &ib);
	if (rc == 0)
		rc = decode(&ib.b, ud);
	if (rc < 0 && rc != -ENOMEM)
		*ret_error = image_error(ck, name, ib.b.data ? &ib.b : NULL, rc);
	ckpt_blob_done(&ib);
	/* without its inventory or process tree it is no checkpoint */
	return rc == -ENOENT ? -ARC_ENOTCKPT : rc;
}

static int decode_inventory(const struct ck_blob *b, void *ud)
{
	return img_read_inventory(b, ud);
}

struct pstree_out {
	struct img_pstree_item *items;
	size_t n;
};

static int decode_pstree(const struct ck_blob *b, void *ud)
{
	struct pstree_out *o = ud;
	int rc;

	rc = img_read_pstree(b, &o->items, &o->n);
	if (rc == 0 && o->n == 0)
		rc = -EBADMSG;	/* img_explain() says "no entries" */
	return rc;
}

int ckpt_load(const struct arc *a, const struct ckpt_opts *opts, struct ckpt **ret_ck, char **ret_error)
{
	_cleanup_(ckpt_freep) struct ckpt *ck = NULL;
	struct pstree_out tree = { 0 };
	char *error = NULL;
	int rc;

	ck = calloc(1, sizeof(*ck));
	if (!ck)
		return -ENOMEM;
	ck->arc = a;
	if (opts && opts->img_dir)
		rc = (ck->img_dir = strdup(opts->img_dir)) ? 0 : -ENOMEM;
	else
		rc = ckpt_find_img_dir(a, &ck->img_dir, &error);
	if (rc < 0) {
		if (rc == -ARC_ENOTCKPT && ret_error)
			*ret_error = error ? error : strdup("no CRIU images (inventory.img) found");
		else
			free(error);
		return rc;
	}
	rc = load_root(ck, "inventory.img", decode_inventory, &ck->inv, &error);
	if (rc == 0)
		rc = load_root(ck, "pstree.img", decode_pstree, &tree, &error);
	if (rc < 0) {
		if (ret_error)
			*ret_error = error;
		else
			free(error);
		return rc;
	}

	ck->procs = calloc(tree.n, sizeof(*ck->procs));
	if (!ck->procs) {
		img_pstree_free(tree.items, tree.n);
		return -ENOMEM;
	}
	ck->n_procs = tree.n;
	for (size_t i = 0; i < tree.n; i++) {
		rc = load_proc(ck, &ck->procs[i], &tree.items[i]);
		if (rc < 0)
			break;
	}
	img_pstree_free(tree.items, tree.n);
	if (rc < 0)
		return rc;
	qsort(ck->procs, ck->n_procs, sizeof(*ck->procs), proc_cmp);
	for (size_t i = 1; i < ck->n_procs; i++) {
		if (ck->procs[i].pid == ck->procs[i - 1].pid) {
			_cleanup_free_ char *path = ckpt_image_path(ck, "pstree.img");

			if (ret_error &&
			    asprintf(ret_error, "%s: malformed image (pid %u listed twice)",
				     path, ck->procs[i].pid) < 0)
				*ret_error = NULL;
			return -EBADMSG;
		}
	}

	rc = load_globals(ck);
	if (rc == 0)
		rc = ckpt_load_memory(ck, opts);
	if (rc == 0)
		rc = ckpt_load_ns(ck);
	if (rc == 0)
		rc = ckpt_load_contents(ck);
	if (rc < 0)
		return rc;
	*ret_ck = TAKE_PTR(ck);
	return 0;
}

static void proc_done(struct ckpt_proc *p)
{
	for (size_t i = 0; p->threads && i < p->n_threads; i++)
		img_core_free(p->threads[i].core);
	free(p->threads);
	img_mm_free(p->mm);
	free(p->fds);
	mem_space_free(p->mem);
}

void ckpt_free(struct ckpt *ck)
{
	if (!ck)
		return;
	for (size_t i = 0; ck->procs && i < ck->n_procs; i++)
		proc_done(&ck->procs[i]);
	free(ck->procs);
	img_files_free(ck->files, ck->n_files);
	free(ck->remaps);
	img_memfds_free(ck->memfds, ck->n_memfds);
	free(ck->seccomp_prev);
	ckpt_memory_done(ck);
	ckpt_ns_done(ck);
	ckpt_contents_done(ck);
	img_inventory_done(&ck->inv);
	free(ck->img_dir);
	free(ck);
}

/* bsearch over an array sorted by a u32 key at offset @key_off. */
struct u32_key {
	const void *base;
	size_t size, key_off;
	uint32_t key;
};

static bool u32_before(const void *ctx, size_t i)
{
	const struct u32_key *c = ctx;
	uint32_t k;

	memcpy(&k, (const char *) c->base + i * c->size + c->key_off, sizeof(k));
	return k < c->key;
}

static const void *find_u32(const void *base, size_t n, size_t size, size_t key_off, uint32_t key)
{
	struct u32_key c = { base, size, key_off, key };
	size_t lo = ck_lower_bound(n, u32_before, &c);

	if (lo < n) {
		const char *el = (const char *) base + lo * size;
		uint32_t k;

		memcpy(&k, el + key_off, sizeof(k));
		if (k == key)
			return el;
	}
	return NULL;
}

const struct ckpt_proc *ckpt_proc_find(const struct ckpt *ck, uint32_t pid)
{
	return find_u32(ck->procs, ck->n_procs, sizeof(*ck->procs), offsetof(struct ckpt_proc, pid), pid);
}

const struct img_file *ckpt_file_find(const struct ckpt *ck, uint32_t id)
{
	return find_u32(ck->files, ck->n_files, sizeof(*ck->files), offsetof(struct img_file, id), id);
}

const struct img_remap *ckpt_remap_find(const struct ckpt *ck, uint32_t orig_id)
{
	return find_u32(ck->remaps, ck->n_remaps, sizeof(*ck->remaps),
			offsetof(struct img_remap, orig_id), orig_id);
}

const struct img_memfd *ckpt_memfd_find(const struct ckpt *ck, uint32_t inode_id)
{
	return find_u32(ck->memfds, ck->n_memfds, sizeof(*ck->memfds),
			offsetof(struct img_memfd, inode_id), inode_id);
}

const struct ckpt_thread *ckpt_thread_find(const struct ckpt_proc *p, uint32_t tid)
{
	for (size_t i = 0; i < p->n_threads; i++)
		if (p->threads[i].tid == tid)
			return &p->threads[i];
	return NULL;
}

const struct img_core *ckpt_leader_core(const struct ckpt_proc *p)
{
	const struct ckpt_thread *t = ckpt_thread_find(p, p->pid);

	if (t && t->core && t->core->has_tc)
		return t->core;
	for (size_t i = 0; i < p->n_threads; i++)
		if (p->threads[i].core && p->threads[i].core->has_tc)
			return p->threads[i].core;
	return NULL;
}

bool ckpt_is_zombie(const struct ckpt_proc *p)
{
	uint32_t state = ckpt_task_state(p);

	return state == IMG_TASK_DEAD || state == IMG_TASK_ZOMBIE;
}

bool ckpt_is_live(const struct ckpt_proc *p)
{
	uint32_t state = ckpt_task_state(p);

	return state == IMG_TASK_ALIVE || state == IMG_TASK_STOPPED;
}

uint32_t ckpt_task_state(const struct ckpt_proc *p)
{
	const struct img_core *lc = ckpt_leader_core(p);

	return lc ? lc->task_state : 0;
}

const char *ckpt_task_state_name(uint32_t task_state)
{
	switch (task_state) {
	case IMG_TASK_ALIVE:
		return "Alive";
	case IMG_TASK_DEAD:
		return "Dead";
	case IMG_TASK_STOPPED:
		return "Stopped";
	case IMG_TASK_ZOMBIE:
		return "Zombie";
	case IMG_TASK_HELPER:
		return "Helper";
	case IMG_TASK_THREAD:
		return "Thread";
	default:
		return "Unknown";
	}
}

const char *ckpt_thread_name(const struct ckpt_proc *p, const struct ckpt_thread *t)
{
	const struct img_core *lc = ckpt_leader_core(p), *core;

	if (!t)
		t = ckpt_thread_find(p, p->pid);
	if (!t && p->n_threads)
		t = &p->threads[0];
	core = t ? t->core : NULL;
	/* the thread's own name, else its task's (the leader keeps it) */
	if (core && core->comm)
		return core->comm;
	if (core && core->tc_comm)
		return core->tc_comm;
	return lc ? lc->tc_comm : NULL;
}

const char *ckpt_proc_name(const struct ckpt_proc *p)
{
	return ckpt_thread_name(p, NULL);
}
