/* SPDX-License-Identifier: Apache-2.0 */
/* Whether a parent checkpoint fits its child (docs/formats.md §3.5): each
 * process whose pagemap keeps pages in the parent (PE_PARENT entries) must be
 * in the parent's pstree.img (when it has one), and the parent's pagemap of
 * that pid must cover every such page, as held there or kept in its own
 * parent. A checkpoint of another program, or of the same one dumped at
 * another time, fails one of the two; its pages would be read as the
 * child's. The first misfit found is recorded in ck->fit_*, for the caller
 * to refuse the parent (given on the command line) or to warn (followed
 * through a `parent` link). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ckpt-priv.h"
#include "log.h"

struct fit_range {
	uint64_t start, end;
};

static int range_cmp(const void *a, const void *b)
{
	const struct fit_range *x = a, *y = b;

	return x->start < y->start ? -1 : x->start > y->start;
}

static int u32_cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *) a, y = *(const uint32_t *) b;

	return x < y ? -1 : x > y;
}

static uint64_t entry_end(const struct img_pagemap_entry *e, uint64_t ps)
{
	return e->nr_pages > (UINT64_MAX - e->vaddr) / ps ? UINT64_MAX : e->vaddr + e->nr_pages * ps;
}

/* The ranges of @pm's entries, sorted and merged, in *@ret. */
static int ranges_of(const struct img_pagemap *pm, uint64_t ps, struct fit_range **ret, size_t *ret_n)
{
	struct fit_range *r = calloc(pm->n_entries ? pm->n_entries : 1, sizeof(*r));
	size_t n = 0, out = 0;

	if (!r)
		return -ENOMEM;
	for (size_t i = 0; i < pm->n_entries; i++)
		if (pm->entries[i].nr_pages)
			r[n++] = (struct fit_range) { pm->entries[i].vaddr, entry_end(&pm->entries[i], ps) };
	qsort(r, n, sizeof(*r), range_cmp);
	for (size_t i = 0; i < n; i++) {
		if (out && r[i].start <= r[out - 1].end)
			r[out - 1].end = CK_MAX(r[out - 1].end, r[i].end);
		else
			r[out++] = r[i];
	}
	n = out;
	*ret = r;
	*ret_n = n;
	return 0;
}

/* Bytes of [start, end) that @r (sorted, merged) does not cover. */
static uint64_t uncovered(const struct fit_range *r, size_t n, uint64_t start, uint64_t end)
{
	size_t lo = 0, hi = n;
	uint64_t left = end - start;

	while (lo < hi) {	/* the first range that ends after start */
		size_t mid = lo + (hi - lo) / 2;

		if (r[mid].end <= start)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (; lo < n && r[lo].start < end; lo++)
		left -= CK_MIN(end, r[lo].end) - CK_MAX(start, r[lo].start);
	return left;
}

int ckpt_fit_pages(const struct img_pagemap *child, const struct img_pagemap *parent, uint64_t ps,
		   uint64_t *ret_wanted, uint64_t *ret_missing)
{
	_cleanup_free_ struct fit_range *r = NULL;
	uint64_t wanted = 0, missing = 0;
	size_t n = 0;
	int rc;

	if (parent) {
		rc = ranges_of(parent, ps, &r, &n);
		if (rc < 0)
			return rc;
	}
	for (size_t i = 0; i < child->n_entries; i++) {
		const struct img_pagemap_entry *e = &child->entries[i];
		uint64_t end = entry_end(e, ps);

		if ((e->flags & (IMG_PE_PARENT | IMG_PE_PRESENT)) != IMG_PE_PARENT || end <= e->vaddr)
			continue;
		wanted += (end - e->vaddr) / ps;
		missing += uncovered(r, n, e->vaddr, end) / ps;
	}
	*ret_wanted = wanted;
	*ret_missing = missing;
	return 0;
}

/* The pids of level @k's pstree.img, sorted, loaded once; NULL when it has
 * none (a pre-dump may lack it) or it cannot be read. */
static const struct ckpt_level *level_pids(struct ckpt *ck, size_t k)
{
	struct ckpt_level *lv = &ck->levels[k];
	struct img_pstree_item *items = NULL;
	struct ckpt_blob ib = { 0 };
	size_t n = 0;
	int rc;

	if (lv->pids_loaded)
		return lv->pids ? lv : NULL;
	lv->pids_loaded = true;
	rc = ckpt_load_image_in(lv->arc, lv->img_dir, "pstree.img", &ib);
	if (rc == 0)
		rc = img_read_pstree(&ib.b, &items, &n);
	ckpt_blob_done(&ib);
	if (rc == 0 && (lv->pids = calloc(n ? n : 1, sizeof(*lv->pids)))) {
		for (size_t i = 0; i < n; i++)
			lv->pids[i] = items[i].pid;
		lv->n_pids = n;
		qsort(lv->pids, n, sizeof(*lv->pids), u32_cmp);
	}
	img_pstree_free(items, n);
	return lv->pids ? lv : NULL;
}

/* How level @k is named in a message: the path given, else where it is. */
static const char *level_name(const struct ckpt *ck, const struct ckpt_opts *opts, size_t k)
{
	if (opts && k - 1 < opts->n_parents && opts->parents[k - 1].path)
		return opts->parents[k - 1].path;
	if (ck->levels[k].disk_path)
		return ck->levels[k].disk_path;
	return ck->levels[k].img_dir[0] ? ck->levels[k].img_dir : ".";
}

int ckpt_fit_level(struct ckpt *ck, const struct ckpt_opts *opts, size_t k, uint32_t pid,
		   const struct img_pagemap *child, const struct img_pagemap *parent, uint64_t ps)
{
	const struct ckpt_level *lv;
	uint64_t wanted, missing;
	char *why = NULL;
	int rc, r = 0;

	if (ck->fit_err && ck->fit_level <= k)
		return 0;	/* one misfit is said, the nearest */
	rc = ckpt_fit_pages(child, parent, ps, &wanted, &missing);
	if (rc < 0 || !wanted)
		return rc;
	lv = level_pids(ck, k);
	if (lv && !bsearch(&pid, lv->pids, lv->n_pids, sizeof(pid), u32_cmp))
		r = asprintf(&why, "parent %s does not fit: pid %u keeps %llu pages in its parent, and its "
			     "pstree.img has no pid %u", level_name(ck, opts, k), pid, (unsigned long long) wanted, pid);
	else if (!missing)
		return 0;
	else if (!parent)
		r = asprintf(&why, "parent %s does not fit: pid %u keeps %llu pages in its parent, and it holds "
			     "no pagemap-%u.img", level_name(ck, opts, k), pid, (unsigned long long) wanted, pid);
	else
		r = asprintf(&why, "parent %s does not fit: pid %u keeps %llu pages in its parent, and %llu of "
			     "them are in none of its pagemap entries", level_name(ck, opts, k), pid,
			     (unsigned long long) wanted, (unsigned long long) missing);
	if (r < 0)
		return -ENOMEM;
	for (char *c = why; *c; c++)	/* names from the archive, for one line */
		if ((unsigned char) *c < 0x20 || *c == 0x7f)
			*c = '?';
	free(ck->fit_why);
	ck->fit_why = why;
	ck->fit_err = -ESRCH;
	ck->fit_level = k;
	ck->fit_given = opts && k - 1 < opts->n_parents;
	ck_log(CK_LOG_DEBUG, "ckpt: %s", why);
	return 0;
}
