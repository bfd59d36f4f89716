/* SPDX-License-Identifier: Apache-2.0 */
/* Memory of the model: the pre-dump chain (a `parent` link next to the
 * images, or parents given on the command line, docs/formats.md §3.5), the shared
 * objects of pagemap-shmem-<shmid>.img (§3.3), the page size (§3.1, not
 * stored by CRIU) and one address space per process (§3.4). */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "ckpt-priv.h"
#include "log.h"

/* Longest pre-dump chain followed, the checkpoint itself included. */
#define CKPT_MAX_LEVELS 32

static void level_done(struct ckpt_level *lv)
{
	free(lv->pids);
	free(lv->img_dir);
	free(lv->disk_path);
	free(lv->real_dir);
	arc_free(lv->owned);
	*lv = (struct ckpt_level) { 0 };
}

/* True when @a holds images in @dir: inventory.img or a pagemap. */
static bool has_images(const struct arc *a, const char *dir)
{
	size_t dlen = strlen(dir);

	if (ckpt_find_image_in(a, dir, "inventory.img"))
		return true;
	for (size_t i = 0; i < arc_count(a); i++) {
		const struct arc_entry *e = arc_entry_at(a, i);
		const char *base = e->path;

		if (dlen) {
			if (strncmp(e->path, dir, dlen) != 0 || e->path[dlen] != '/')
				continue;
			base = e->path + dlen + 1;
		}
		if (e->type == ARC_REG && !strchr(base, '/') && !strncmp(base, "pagemap-", 8))
			return true;
	}
	return false;
}

/* The images directory of a parent: where inventory.img is, else the
 * shallowest directory holding a pagemap (pre-dumps may lack the rest).
 * -ENOTUNIQ when it holds several checkpoints (which, in @ret_why if given). */
static int parent_img_dir(const struct arc *a, char **ret, char **ret_why)
{
	_cleanup_free_ char *why = NULL;
	const char *best = NULL;
	size_t best_len = 0, best_depth = SIZE_MAX;
	int rc;

	rc = ckpt_find_img_dir(a, ret, &why);
	if (rc == -ARC_ENOTCKPT && why) {
		if (ret_why)
			*ret_why = TAKE_PTR(why);
		return -ENOTUNIQ;
	}
	if (rc != -ARC_ENOTCKPT)
		return rc;
	for (size_t i = 0; i < arc_count(a); i++) {
		const struct arc_entry *e = arc_entry_at(a, i);
		const char *slash = strrchr(e->path, '/');
		const char *base = slash ? slash + 1 : e->path;
		size_t len = slash ? (size_t) (slash - e->path) : 0, depth = len ? 1 : 0;

		if (e->type != ARC_REG || strncmp(base, "pagemap-", 8) != 0)
			continue;
		for (size_t k = 0; k < len; k++)
			depth += e->path[k] == '/';
		if (depth < best_depth) {
			best = e->path;
			best_len = len;
			best_depth = depth;
		}
	}
	if (!best)
		return -ENOENT;
	*ret = strndup(best, best_len);
	return *ret ? 0 : -ENOMEM;
}

/* @dir joined with the relative link @target, with "." and ".." applied;
 * NULL when it climbs above the archive root (or on ENOMEM). */
static char *join_inside(const char *dir, const char *target)
{
	_cleanup_free_ char *buf = NULL, *tmp = NULL;
	char *save = NULL, *tok;
	size_t len = 0;

	if (asprintf(&tmp, "%s/%s", dir, target) < 0)
		return NULL;
	buf = calloc(1, strlen(tmp) + 1);
	if (!buf)
		return NULL;
	for (tok = strtok_r(tmp, "/", &save); tok; tok = strtok_r(NULL, "/", &save)) {
		if (!strcmp(tok, "."))
			continue;
		if (!strcmp(tok, "..")) {
			char *slash;

			if (!len)
				return NULL;
			slash = strrchr(buf, '/');
			len = slash ? (size_t) (slash - buf) : 0;
			buf[len] = '\0';
			continue;
		}
		if (len)
			buf[len++] = '/';
		strcpy(buf + len, tok);
		len += strlen(tok);
	}
	return TAKE_PTR(buf);
}

/* realpath of @path/@dir, or NULL. */
static char *real_dir_of(const char *path, const char *dir)
{
	_cleanup_free_ char *p = NULL;

	if (asprintf(&p, "%s/%s", path, dir) < 0)
		return NULL;
	return realpath(p, NULL);
}

/* Make @ret a level for the checkpoint at @path on disk (opened here). */
static int open_level(const char *path, const struct ckpt_opts *opts, struct ckpt_level *ret)
{
	_cleanup_free_ char *err = NULL;
	struct ckpt_level lv = { 0 };
	struct arc *a = NULL;
	int rc;

	rc = arc_open(path, opts ? opts->arc_opts : NULL, &a, &err);
	if (rc < 0) {
		ck_log(CK_LOG_DEBUG, "ckpt: parent '%s': %s", path, err ? err : strerror(-rc));
		return rc;
	}
	lv.owned = a;
	lv.arc = a;
	rc = parent_img_dir(a, &lv.img_dir, NULL);
	if (rc == 0 && !strcmp(arc_kind(a), "directory")) {
		lv.disk_path = strdup(path);
		lv.real_dir = real_dir_of(path, lv.img_dir);
		if (!lv.disk_path)
			rc = -ENOMEM;
	}
	if (rc < 0) {
		level_done(&lv);
		return rc;
	}
	*ret = lv;
	return 0;
}

/* The level that @lv's `parent` entry names: a directory or a link inside
 * the same archive, or, for a directory on disk, a link to anywhere.
 * Returns 0, 1 when there is no `parent` entry, or -errno (-ENOENT when it
 * leads nowhere). */
static int follow_parent(const struct ckpt_level *lv, const struct ckpt_opts *opts, struct ckpt_level *ret)
{
	_cleanup_free_ char *link = NULL, *inside = NULL, *disk = NULL;
	const struct arc_entry *e;

	if (asprintf(&link, "%s%sparent", lv->img_dir, lv->img_dir[0] ? "/" : "") < 0)
		return -ENOMEM;
	e = arc_find(lv->arc, link);
	if (!e)
		return 1;
	if (e->type == ARC_DIR)
		inside = TAKE_PTR(link);
	else if (e->type == ARC_SYMLINK && e->link && e->link[0] && e->link[0] != '/')
		inside = join_inside(lv->img_dir, e->link);
	else if (!(e->type == ARC_SYMLINK && e->link && e->link[0]))
		return 1;
	if (inside && has_images(lv->arc, inside)) {
		*ret = (struct ckpt_level) { .arc = lv->arc, .img_dir = TAKE_PTR(inside) };
		if (lv->disk_path) {
			ret->disk_path = strdup(lv->disk_path);
			ret->real_dir = real_dir_of(lv->disk_path, ret->img_dir);
		}
		return 0;
	}
	if (e->type != ARC_SYMLINK || !lv->disk_path) {
		ck_log(CK_LOG_DEBUG, "ckpt: '%s' points outside the archive; give it with -o parent=", e->path);
		return -ENOENT;
	}
	if (e->link[0] == '/')
		disk = strdup(e->link);
	else if (asprintf(&disk, "%s/%s%s%s", lv->disk_path, lv->img_dir, lv->img_dir[0] ? "/" : "", e->link) < 0)
		disk = NULL;
	if (!disk)
		return -ENOMEM;
	return open_level(disk, opts, ret);
}

/* True when @lv is a checkpoint already in the chain. */
static bool seen_level(const struct ckpt_level *levels, size_t n, const struct ckpt_level *lv)
{
	for (size_t i = 0; i < n; i++) {
		if (levels[i].arc == lv->arc && !strcmp(levels[i].img_dir, lv->img_dir))
			return true;
		if (levels[i].real_dir && lv->real_dir && !strcmp(levels[i].real_dir, lv->real_dir))
			return true;
	}
	return false;
}

/* Say in ck->chain_why why level @n of the chain could not be opened
 * (@why: what parent_img_dir() said, or NULL). */
static void chain_explain(struct ckpt *ck, const struct ckpt_opts *opts, size_t n, int rc, const char *why)
{
	const struct ckpt_level *prev = &ck->levels[n - 1];
	_cleanup_free_ char *link = NULL;
	const struct arc_entry *e;
	int r;

	if (ck->chain_given) {
		r = asprintf(&ck->chain_why, "parent %s: %s",
			     opts->parents[n - 1].path ? opts->parents[n - 1].path : "?",
			     rc == -ELOOP ? "it is already in the chain (a loop)" :
			     rc == -ENOENT ? "no CRIU images there (no inventory.img, no pagemap-*.img)" :
			     why ? why : strerror(-rc));
	} else {
		if (asprintf(&link, "%s%sparent", prev->img_dir, prev->img_dir[0] ? "/" : "") < 0)
			return;
		e = arc_find(prev->arc, link);
		r = asprintf(&ck->chain_why, "the link '%s'%s%s%s is not followed: %s", link,
			     e && e->link ? " -> '" : "", e && e->link ? e->link : "", e && e->link ? "'" : "",
			     rc == -ELOOP ? "it leads back into the chain (a loop)" :
			     rc == -ENOENT ? "no checkpoint there (missing, empty, or out of the archive: "
					     "give it with -o parent=)" : rc == -ENOTUNIQ ? "it holds several checkpoints" :
			     strerror(-rc));
	}
	if (r < 0) {
		ck->chain_why = NULL;
		return;
	}
	for (char *c = ck->chain_why; *c; c++)	/* names from the archive, for one line */
		if ((unsigned char) *c < 0x20 || *c == 0x7f)
			*c = '?';
}

static int chain_open(struct ckpt *ck, const struct ckpt_opts *opts)
{
	struct ckpt_level *lv;
	size_t n = 1;
	int rc = 0;

	ck->levels = calloc(CKPT_MAX_LEVELS, sizeof(*ck->levels));
	if (!ck->levels)
		return -ENOMEM;
	lv = ck->levels;
	ck->n_levels = 1;
	lv[0].arc = ck->arc;
	lv[0].img_dir = strdup(ck->img_dir);
	if (!lv[0].img_dir)
		return -ENOMEM;
	if (opts && opts->path && !strcmp(arc_kind(ck->arc), "directory")) {
		lv[0].disk_path = strdup(opts->path);
		lv[0].real_dir = real_dir_of(opts->path, ck->img_dir);
		if (!lv[0].disk_path)
			return -ENOMEM;
	}
	for (; n < CKPT_MAX_LEVELS; n++) {
		_cleanup_free_ char *why = NULL;
		struct ckpt_level next = { 0 };

		if (opts && n - 1 < opts->n_parents) {
			const struct ckpt_parent *p = &opts->parents[n - 1];

			next.arc = p->arc;
			rc = parent_img_dir(p->arc, &next.img_dir, &why);
			if (rc == 0 && p->path && !strcmp(arc_kind(p->arc), "directory")) {
				next.disk_path = strdup(p->path);
				next.real_dir = real_dir_of(p->path, next.img_dir);
				if (!next.disk_path)
					rc = -ENOMEM;
			}
			if (rc < 0)
				ck_log(CK_LOG_DEBUG, "ckpt: parent %zu has no images", n);
		} else {
			rc = follow_parent(&lv[n - 1], opts, &next);
			if (rc == 1)
				break;
		}
		if (rc == 0 && seen_level(lv, n, &next))
			rc = -ELOOP;
		if (rc < 0) {
			level_done(&next);
			if (rc == -ENOMEM)
				return rc;
			ck->chain_err = rc;
			ck->chain_given = opts && n - 1 < opts->n_parents;
			chain_explain(ck, opts, n, rc, why);
			ck_log(CK_LOG_DEBUG, "ckpt: pre-dump chain stops after %zu levels: %s", n, strerror(-rc));
			return 0;
		}
		lv[n] = next;
		ck->n_levels = n + 1;
	}
	if (n == CKPT_MAX_LEVELS) {
		ck->chain_err = -ELOOP;
		ck_log(CK_LOG_DEBUG, "ckpt: pre-dump chain cut at %d levels", CKPT_MAX_LEVELS);
	}
	return 0;
}

/* ---- one pagemap image through the chain ---- */

struct chain {
	struct img_pagemap pm[CKPT_MAX_LEVELS];
	struct mem_level lv[CKPT_MAX_LEVELS];
	size_t n;
};

static void chain_free(struct chain *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->n; i++)
		img_pagemap_done(&c->pm[i]);
	free(c);
}
DEFINE_CLEANUP(chain_freep, struct chain, chain_free)

static bool wants_parent(const struct img_pagemap *pm)
{
	for (size_t i = 0; i < pm->n_entries; i++)
		if ((pm->entries[i].flags & (IMG_PE_PARENT | IMG_PE_PRESENT)) == IMG_PE_PARENT)
			return true;
	return false;
}

/* Load pagemap @name at every level that may be needed. Level 0 errors
 * (-ENOENT, -EBADMSG) are returned; a parent level that lacks the image or
 * has a bad one ends the chain there. */
static int chain_load(const struct ckpt *ck, const char *name, struct chain **ret)
{
	_cleanup_(chain_freep) struct chain *c = calloc(1, sizeof(*c));
	int rc;

	if (!c)
		return -ENOMEM;
	for (size_t k = 0; k < ck->n_levels; k++) {
		const struct ckpt_level *l = &ck->levels[k];
		struct ckpt_blob ib = { 0 };
		char pages[64];

		rc = ckpt_load_image_in(l->arc, l->img_dir, name, &ib);
		if (rc == 0)
			rc = img_read_pagemap(&ib.b, &c->pm[k]);
		ckpt_blob_done(&ib);
		if (rc < 0 && (k == 0 || rc == -ENOMEM))
			return rc;
		c->n = k + 1;
		c->lv[k].arc = l->arc;
		if (rc < 0) {
			ck_log(CK_LOG_DEBUG, "ckpt: level %zu: %s: %s", k, name, strerror(-rc));
			break;
		}
		c->lv[k].pm = &c->pm[k];
		snprintf(pages, sizeof(pages), "pages-%u.img", c->pm[k].pages_id);
		c->lv[k].pages = ckpt_find_image_in(l->arc, l->img_dir, pages);
		if (!wants_parent(&c->pm[k]))
			break;
	}
	*ret = TAKE_PTR(c);
	return 0;
}

/* Whether each parent level of @c holds what the level above keeps there. */
static int chain_fit(struct ckpt *ck, const struct ckpt_opts *opts, uint32_t pid, const struct chain *c,
		     uint64_t ps)
{
	int rc = 0;

	for (size_t k = 1; rc == 0 && k < c->n && c->lv[k - 1].pm; k++)
		rc = ckpt_fit_level(ck, opts, k, pid, c->lv[k - 1].pm, c->lv[k].pm, ps);
	return rc;
}

/* The page size the chain's own pages tell, or 0. */
static uint64_t chain_page_size(const struct chain *c)
{
	for (size_t k = 0; k < c->n && c->lv[k].pm; k++) {
		uint64_t ps = mem_infer_page_size(c->lv[k].pm, c->lv[k].pages ? c->lv[k].pages->size : 0);

		if (ps)
			return ps;
	}
	return 0;
}

/* ---- shared objects ---- */

static int shm_cmp(const void *a, const void *b)
{
	const struct ckpt_shm *x = a, *y = b;

	return x->shmid < y->shmid ? -1 : x->shmid > y->shmid;
}

struct shm_key {
	const struct ckpt *ck;
	uint64_t shmid;
};

static bool shm_before(const void *ctx, size_t i)
{
	const struct shm_key *k = ctx;

	return k->ck->shms[i].shmid < k->shmid;
}

const struct ckpt_shm *ckpt_shm_find(const struct ckpt *ck, uint64_t shmid)
{
	struct shm_key k = { ck, shmid };
	size_t lo = ck_lower_bound(ck->n_shms, shm_before, &k);

	return lo < ck->n_shms && ck->shms[lo].shmid == shmid ? &ck->shms[lo] : NULL;
}

/* The memfd.img entry behind files.img entry @file_id, or NULL. */
static const struct img_memfd *memfd_of_file(const struct ckpt *ck, uint64_t file_id)
{
	const struct img_file *f;

	if (file_id > UINT32_MAX)
		return NULL;
	f = ckpt_file_find(ck, (uint32_t) file_id);
	if (!f || f->type != IMG_FD_MEMFD)
		return NULL;
	return ckpt_memfd_find(ck, f->memfd_inode_id);
}

const struct ckpt_shm *ckpt_vma_shm(const struct ckpt *ck, const struct img_vma *v)
{
	const struct img_memfd *md;

	if (v->status & IMG_VMA_AREA_MEMFD) {
		md = memfd_of_file(ck, v->shmid);
		return md ? ckpt_shm_find(ck, md->shmid) : NULL;
	}
	if (v->status & (IMG_VMA_AREA_SYSVIPC | IMG_VMA_ANON_SHARED))
		return ckpt_shm_find(ck, v->shmid);
	return NULL;
}

int ckpt_memfd_content(const struct ckpt *ck, uint32_t file_id, const struct mem_space **ret_mem)
{
	const struct img_memfd *md = memfd_of_file(ck, file_id);
	const struct ckpt_shm *s = md ? ckpt_shm_find(ck, md->shmid) : NULL;

	if (!s)
		return -ENOENT;
	if (!s->mem)
		return s->err < 0 ? s->err : -ENOENT;
	*ret_mem = s->mem;
	return 0;
}

static int shm_add(struct ckpt_shm **v, size_t *n, size_t *cap, uint64_t shmid, uint64_t size, bool memfd)
{
	if (*n == *cap) {
		size_t c = *cap ? *cap * 2 : 8;
		struct ckpt_shm *p = realloc(*v, c * sizeof(*p));

		if (!p)
			return -ENOMEM;
		*v = p;
		*cap = c;
	}
	(*v)[(*n)++] = (struct ckpt_shm) { .shmid = shmid, .size = size, .memfd = memfd };
	return 0;
}

/* Every object memfd.img or a SysV / shared anonymous VMA names, once. */
static int shm_collect(struct ckpt *ck)
{
	size_t n = 0, cap = 0, out = 0;
	struct ckpt_shm *v = NULL;
	int rc = 0;

	for (size_t i = 0; rc == 0 && i < ck->n_memfds; i++)
		rc = shm_add(&v, &n, &cap, ck->memfds[i].shmid, ck->memfds[i].size, true);
	for (size_t i = 0; rc == 0 && i < ck->n_procs; i++) {
		const struct img_mm *mm = ck->procs[i].mm;

		for (size_t k = 0; rc == 0 && mm && k < mm->n_vmas; k++) {
			const struct img_vma *vma = &mm->vmas[k];
			uint64_t len = vma->end > vma->start ? vma->end - vma->start : 0;

			if ((vma->status & IMG_VMA_AREA_MEMFD) ||
			    !(vma->status & (IMG_VMA_AREA_SYSVIPC | IMG_VMA_ANON_SHARED)))
				continue;
			rc = shm_add(&v, &n, &cap, vma->shmid,
				     vma->pgoff > UINT64_MAX - len ? UINT64_MAX : vma->pgoff + len, false);
		}
	}
	if (rc < 0) {
		free(v);
		return rc;
	}
	if (n)
		qsort(v, n, sizeof(*v), shm_cmp);
	for (size_t i = 0; i < n; i++) {
		struct ckpt_shm *last = out ? &v[out - 1] : NULL;

		if (last && last->shmid == v[i].shmid) {
			if (v[i].memfd && !last->memfd)
				*last = v[i];
			else if (!last->memfd)
				last->size = CK_MAX(last->size, v[i].size);
			continue;
		}
		v[out++] = v[i];
	}
	ck->shms = v;
	ck->n_shms = out;
	return 0;
}

static int shm_build(struct ckpt *ck, struct ckpt_shm *s, uint64_t forced_ps)
{
	_cleanup_(chain_freep) struct chain *c = NULL;
	char name[64];
	uint64_t ps;
	int rc;

	snprintf(name, sizeof(name), "pagemap-shmem-%llu.img", (unsigned long long) s->shmid);
	rc = chain_load(ck, name, &c);
	if (rc == 0) {
		ps = forced_ps ? forced_ps : chain_page_size(c);
		rc = mem_object_new(c->lv, c->n, s->size, ps ? ps : ck->page_size, &s->mem);
	}
	s->err = rc;
	return rc == -ENOMEM ? rc : 0;
}

/* ---- process spaces ---- */


static int proc_build(const struct ckpt *ck, struct ckpt_proc *p, const struct chain *c)
{
	_cleanup_free_ const struct mem_space **shared = NULL;
	struct mem_spec spec = {
		.levels = c->lv, .n_levels = c->n, .mm = p->mm, .page_size = p->page_size,
	};

	if (p->mm && p->mm->n_vmas) {
		shared = calloc(p->mm->n_vmas, sizeof(*shared));
		if (!shared)
			return -ENOMEM;
		for (size_t i = 0; i < p->mm->n_vmas; i++) {
			const struct ckpt_shm *s = ckpt_vma_shm(ck, &p->mm->vmas[i]);

			shared[i] = s ? s->mem : NULL;
		}
		spec.shared = shared;
	}
	return mem_space_build(&spec, &p->mem);
}

int ckpt_load_memory(struct ckpt *ck, const struct ckpt_opts *opts)
{
	uint64_t forced = opts ? opts->page_size : 0, first = 0;
	struct chain **chains = NULL;
	int rc;

	rc = chain_open(ck, opts);
	if (rc < 0)
		return rc;
	chains = calloc(ck->n_procs ? ck->n_procs : 1, sizeof(*chains));
	if (!chains)
		return -ENOMEM;
	for (size_t i = 0; i < ck->n_procs; i++) {
		struct ckpt_proc *p = &ck->procs[i];
		char name[64];

		if (ckpt_is_zombie(p))
			continue;
		snprintf(name, sizeof(name), "pagemap-%u.img", p->pid);
		rc = chain_load(ck, name, &chains[i]);
		if (rc == -ENOMEM)
			goto out;
		p->mem_err = rc;
		p->page_size = chains[i] ? chain_page_size(chains[i]) : 0;
		if (!first)
			first = p->page_size;
	}
	ck->page_size = forced ? forced : first ? first : 4096;
	for (size_t i = 0; i < ck->n_procs; i++) {
		struct ckpt_proc *p = &ck->procs[i];

		if (forced)
			p->page_size = forced;
		if (!p->page_size) {
			if (chains[i])
				ck_log(CK_LOG_DEBUG, "ckpt: pid %u: page size not inferable, using %llu", p->pid,
				       (unsigned long long) ck->page_size);
			p->page_size = ck->page_size;
		}
		if (chains[i] && (rc = chain_fit(ck, opts, p->pid, chains[i], p->page_size)) < 0)
			goto out;
	}

	rc = shm_collect(ck);
	for (size_t i = 0; rc == 0 && i < ck->n_shms; i++)
		rc = shm_build(ck, &ck->shms[i], forced);
	for (size_t i = 0; rc == 0 && i < ck->n_procs; i++) {
		if (!chains[i])
			continue;
		rc = proc_build(ck, &ck->procs[i], chains[i]);
		ck->procs[i].mem_err = rc;
		if (rc == -ENOMEM)
			break;
		rc = 0;
	}
out:
	for (size_t i = 0; i < ck->n_procs; i++)
		chain_free(chains[i]);
	free(chains);
	return rc == -ENOMEM ? rc : 0;
}

void ckpt_memory_done(struct ckpt *ck)
{
	for (size_t i = 0; ck->shms && i < ck->n_shms; i++)
		mem_space_free(ck->shms[i].mem);
	free(ck->shms);
	for (size_t i = 0; ck->levels && i < ck->n_levels; i++)
		level_done(&ck->levels[i]);
	free(ck->levels);
	free(ck->chain_why);
	free(ck->fit_why);
}
