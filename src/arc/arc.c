/* SPDX-License-Identifier: Apache-2.0 */
/* Archive access: the index shared by every input kind, and the read paths.
 * arc-tar.c fills the index from libarchive, arc-dir.c from a directory; this
 * file resolves hard links, drops superseded duplicates, adds the directories
 * a tar leaves implicit and sorts the result. After arc_open() nothing here
 * changes, so readers need no locks: every read is a memcpy() or a pread(). */
#include "arc-priv.h"
#include "arc-reg-priv.h"
#include "arc-seek.h"

#include <errno.h>
#include <sys/statvfs.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <linux/openat2.h>
#include <search.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

const char *arc_safe_name(const char *s, char *out, size_t size)
{
	size_t i;

	for (i = 0; s && s[i] && i + 1 < size; i++)
		out[i] = (unsigned char) s[i] < 0x20 || s[i] == 0x7f ? '?' : s[i];
	out[i] = '\0';
	return out;
}

int arc_norm_path(const char *raw, char *out)
{
	const char *p = raw, *c;
	size_t n = 0, len;

	while (*p) {
		while (*p == '/')
			p++;
		if (!*p)
			break;
		for (c = p; *p && *p != '/'; p++)
			;
		len = (size_t) (p - c);
		if (len == 1 && c[0] == '.')
			continue;
		if (len == 2 && c[0] == '.' && c[1] == '.')
			return -EINVAL;
		if (n + 1 + len >= ARC_PATH_MAX)
			return -EINVAL;
		if (n)
			out[n++] = '/';
		memcpy(out + n, c, len);
		n += len;
	}
	out[n] = '\0';
	return (int) n;
}

static int arc_item_push(struct arc *a, char *path, struct arc_item **ret_item)
{
	struct arc_item *it;

	if (a->n == a->cap) {
		size_t cap = a->cap ? a->cap * 2 : 64;

		it = reallocarray(a->items, cap, sizeof(*it));
		if (!it) {
			free(path);
			return -ENOMEM;
		}
		a->items = it;
		a->cap = cap;
	}
	it = &a->items[a->n++];
	*it = (struct arc_item) { .e.path = path };
	*ret_item = it;
	return 1;
}

int arc_item_new(struct arc *a, const char *raw, struct arc_item **ret_item)
{
	char buf[ARC_PATH_MAX];
	char *path;
	int len;

	len = raw ? arc_norm_path(raw, buf) : -EINVAL;
	if (len <= 0) {
		*ret_item = NULL;
		/* the archive's root itself ("./") is no loss */
		if (len < 0 && a->n_dropped++ == 0) {
			char safe[128];

			arc_safe_name(raw ? raw : "", safe, sizeof(safe));
			a->dropped_first = strdup(safe);
		}
		return 0;
	}
	path = strndup(buf, (size_t) len);
	if (!path)
		return -ENOMEM;
	return arc_item_push(a, path, ret_item);
}

int arc_blob_keep(struct arc *a, void *p)
{
	if (a->nblobs == a->blobs_cap) {
		size_t cap = a->blobs_cap ? a->blobs_cap * 2 : 64;
		void **b = reallocarray(a->blobs, cap, sizeof(*b));

		if (!b) {
			free(p);
			return -ENOMEM;
		}
		a->blobs = b;
		a->blobs_cap = cap;
	}
	a->blobs[a->nblobs++] = p;
	return 0;
}

static void arc_item_done(struct arc_item *it)
{
	free((char *) it->e.path);
	free((char *) it->e.link);
	free(it->hardlink);
}

void arc_free(struct arc *a)
{
	size_t i;

	if (!a)
		return;
	for (i = 0; i < a->n; i++)
		arc_item_done(&a->items[i]);
	free(a->items);
	free(a->dropped_first);
	for (i = 0; i < a->nblobs; i++)
		free(a->blobs[i]);
	free(a->blobs);
	arc_seek_free(a->seek);	/* before its fd or blob */
	arc_rblob_free(a->rblob);
	if (a->fd >= 0)
		close(a->fd);
	if (a->spill_fd >= 0)
		close(a->spill_fd);
	for (i = 0; i < a->nsubs; i++)
		arc_free(a->subs[i]);
	free(a->subs);
	arc_reg_free(a->reg);	/* after the layers that read through it */
	arc_image_free(a->image);
	free(a);
}

/* Order of a permutation: by path, then by position in the archive. */
static int arc_perm_cmp(const void *x, const void *y, void *ctx)
{
	const struct arc *a = ctx;
	size_t i = *(const size_t *) x, j = *(const size_t *) y;
	int c = strcmp(a->items[i].e.path, a->items[j].e.path);

	if (c)
		return c;
	return i < j ? -1 : i > j;
}

/* First position in @perm at or after (@path, @idx). */
struct perm_key {
	const struct arc *a;
	const size_t *perm;
	const char *path;
	size_t idx;
};

static bool perm_before(const void *ctx, size_t i)
{
	const struct perm_key *k = ctx;
	int c = strcmp(k->a->items[k->perm[i]].e.path, k->path);

	return c < 0 || (c == 0 && k->perm[i] < k->idx);
}

static size_t arc_perm_lower(const struct arc *a, const size_t *perm, const char *path, size_t idx)
{
	struct perm_key k = { a, perm, path, idx };

	return ck_lower_bound(a->n, perm_before, &k);
}

/* A tar hard link names a member that came earlier: it gets that member's
 * content as it was at this point, as extraction would give it. Items are
 * visited in archive order, so a target that is a link itself is resolved. */
static int arc_resolve_links(struct arc *a, const size_t *perm)
{
	size_t i, p;

	for (i = 0; i < a->n; i++) {
		struct arc_item *it = &a->items[i];
		const struct arc_item *t;

		if (!it->hardlink)
			continue;
		p = arc_perm_lower(a, perm, it->hardlink, i);
		t = p ? &a->items[perm[p - 1]] : NULL;
		if (!t || t->drop || t->e.type == ARC_DIR || strcmp(t->e.path, it->hardlink)) {
			ck_log(CK_LOG_DEBUG, "arc: dropping hard link #%zu: no usable target", i);
			it->drop = true;
			continue;
		}
		free(it->hardlink);
		it->hardlink = NULL;
		it->e.type = t->e.type;
		it->e.mode = t->e.mode;
		it->e.size = t->e.size;
		it->e.mtime = t->e.mtime;
		it->src = t->src;
		it->off = t->off;
		it->data = t->data;
		if (t->e.link) {
			it->e.link = strdup(t->e.link);
			if (!it->e.link)
				return -ENOMEM;
		}
	}
	return 0;
}

/* Keep the last usable member of each name, in path order. */
static int arc_dedup(struct arc *a, const size_t *perm)
{
	const char *kept = NULL;
	struct arc_item *v;
	size_t i, n = 0;

	for (i = a->n; i-- > 0;) {
		struct arc_item *it = &a->items[perm[i]];

		if (it->drop)
			continue;
		if (kept && !strcmp(it->e.path, kept))
			it->drop = true;
		else
			kept = it->e.path;
	}
	v = calloc(a->n ? a->n : 1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	for (i = 0; i < a->n; i++) {
		struct arc_item *it = &a->items[perm[i]];

		if (it->drop)
			arc_item_done(it);
		else
			v[n++] = *it;
	}
	free(a->items);
	a->items = v;
	a->n = a->cap = n;
	return 0;
}

static int arc_item_cmp(const void *x, const void *y)
{
	return strcmp(((const struct arc_item *) x)->e.path, ((const struct arc_item *) y)->e.path);
}

static int arc_tree_cmp(const void *x, const void *y)
{
	return strcmp(x, y);
}

static void arc_tree_noop(void *p)
{
}

/* Every parent of a member must be a directory: add the missing ones and
 * turn a non-directory that has members below it into one. Each walk up stops
 * at the first parent that exists, so each directory is added once. */
static int arc_add_parents(struct arc *a)
{
	struct arc_item key = { 0 }, *it;
	char buf[ARC_PATH_MAX];
	size_t i, nsorted = a->n;
	void *added = NULL;
	int rc = 0;

	for (i = 0; i < nsorted && rc >= 0; i++) {
		int64_t mtime = a->items[i].e.mtime;
		char *slash, *path;

		snprintf(buf, sizeof(buf), "%s", a->items[i].e.path);
		while ((slash = strrchr(buf, '/'))) {
			*slash = '\0';
			key.e.path = buf;
			it = bsearch(&key, a->items, nsorted, sizeof(*it), arc_item_cmp);
			if (it) {
				if (it->e.type != ARC_DIR) {
					free((char *) it->e.link);
					*it = (struct arc_item) { .e = { .path = it->e.path,
						.type = ARC_DIR, .mode = 0755, .mtime = it->e.mtime } };
				}
				break;
			}
			if (tfind(buf, &added, arc_tree_cmp))
				break;
			path = strdup(buf);
			if (!path) {
				rc = -ENOMEM;
				break;
			}
			rc = arc_item_push(a, path, &it);
			if (rc < 0)
				break;
			it->e.type = ARC_DIR;
			it->e.mode = 0755;
			it->e.mtime = mtime;
			if (!tsearch(path, &added, arc_tree_cmp)) {
				rc = -ENOMEM;
				break;
			}
		}
	}
	tdestroy(added, arc_tree_noop);
	if (rc < 0)
		return rc;
	if (a->n > nsorted)
		qsort(a->items, a->n, sizeof(*a->items), arc_item_cmp);
	return 0;
}

int arc_finish(struct arc *a)
{
	_cleanup_free_ size_t *perm = NULL;
	size_t i;
	int rc;

	perm = calloc(a->n ? a->n : 1, sizeof(*perm));
	if (!perm)
		return -ENOMEM;
	for (i = 0; i < a->n; i++)
		perm[i] = i;
	qsort_r(perm, a->n, sizeof(*perm), arc_perm_cmp, a);
	rc = arc_resolve_links(a, perm);
	if (rc < 0)
		return rc;
	rc = arc_dedup(a, perm);
	if (rc < 0)
		return rc;
	return arc_add_parents(a);
}

static uint64_t arc_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t) ts.tv_sec * 1000000000ull + (uint64_t) ts.tv_nsec;
}

void arc_progress(struct arc *a, uint64_t done)
{
	uint64_t now;

	if (!a || !a->progress)
		return;
	now = arc_now_ns();
	if (now < a->progress_next)
		return;
	a->progress_next = now + 100 * 1000000ull;
	a->progress_shown = true;
	a->progress->progress(a->progress->progress_ctx, CK_MIN(done, a->progress_total), a->progress_total);
}

struct arc *arc_new(const struct arc_opts *opts)
{
	struct arc *a = calloc(1, sizeof(*a));

	if (!a)
		return NULL;
	a->fd = -1;
	a->spill_fd = -1;
	a->mem_limit = opts && opts->mem_limit ? opts->mem_limit : ARC_MEM_LIMIT_DEFAULT;
	a->cache_dir = opts ? opts->cache_dir : NULL;
	a->budget = &a->own_budget;
	a->own_budget.mem_max = opts && opts->mem_budget ? opts->mem_budget : ARC_MEM_BUDGET;
	a->own_budget.spill_limit_opt = opts ? opts->spill_limit : 0;
	return a;
}

void arc_progress_begin(struct arc *a, const struct arc_opts *opts, uint64_t total)
{
	if (opts && opts->progress) {
		a->progress = opts;
		a->progress_total = total;
		a->progress_next = arc_now_ns() + 300 * 1000000ull;
	}
}

void arc_progress_end(struct arc *a, bool done)
{
	if (done && a->progress && a->progress_shown)
		a->progress->progress(a->progress->progress_ctx, a->progress_total, a->progress_total);
	a->progress = NULL;
}

/* Index the input open at @fd (taken over), a directory or a file. */
static int arc_index_fd(int fd, const struct arc_opts *opts, struct arc_budget *budget, struct arc **ret_arc,
			char **ret_error)
{
	_cleanup_(arc_freep) struct arc *a = NULL;
	_cleanup_free_ char *err = NULL;
	_cleanup_close_ int fd_ = fd;
	struct stat st;
	size_t i;
	int rc;

	a = arc_new(opts);
	if (!a)
		return -ENOMEM;
	if (budget)
		a->budget = budget;

	if (fstat(fd_, &st) < 0) {
		rc = -errno;
		ck_err(&err, rc, "cannot open: %s", strerror(-rc));
		goto out_error;
	}
	if (S_ISDIR(st.st_mode)) {
		rc = arc_dir_index(a, TAKE_FD(fd_), &err);
	} else {
		arc_progress_begin(a, opts, (uint64_t) st.st_size);
		a->budget->archive_size += (uint64_t) st.st_size;
		rc = arc_tar_index(a, fd_, &st, &err);
		arc_progress_end(a, rc == 0);
	}
	if (rc < 0)
		goto out_error;
	rc = arc_finish(a);
	if (rc < 0)
		goto out_error;
	if (a->fd < 0)
		for (i = 0; i < a->n; i++)
			if (a->items[i].src == ARC_SRC_ARCHIVE || a->items[i].src == ARC_SRC_SEEK) {
				a->fd = TAKE_FD(fd_);
				break;
			}
	if (a->fd < 0) {
		arc_seek_free(a->seek);	/* no member needs it */
		a->seek = NULL;
	}
	a->cache_dir = NULL;
	ck_log(CK_LOG_DEBUG, "arc: %zu entries, %s%s, %" PRIu64 " bytes spilled", a->n,
	       a->kind, a->zero_copy ? " (zero copy)" : "", a->spill_len);
	*ret_arc = TAKE_PTR(a);
	return 0;

out_error:
	if (rc == -ENOMEM)
		ck_err(&err, rc, "out of memory");
	if (ret_error)
		*ret_error = TAKE_PTR(err);
	return rc;
}

int arc_open_fd(int fd, const struct arc_opts *opts, struct arc_budget *budget, struct arc **ret_arc,
		char **ret_error)
{
	return arc_index_fd(fd, opts, budget, ret_arc, ret_error);
}

int arc_open(const char *path, const struct arc_opts *opts, struct arc **ret_arc, char **ret_error)
{
	struct arc *a = NULL, *img = NULL;
	int fd, rc;

	if (arc_is_ref(path)) {
		rc = arc_reg_open(path, opts, &a, ret_error);
		if (rc < 0)
			return rc;
		goto image;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		rc = -errno;
		return ck_err(ret_error, rc, "cannot open: %s", strerror(-rc));
	}
	rc = arc_index_fd(fd, opts, NULL, &a, ret_error);
	if (rc < 0)
		return rc;
image:
	rc = arc_oci_open(a, opts, &img, ret_error);
	if (rc < 0) {
		arc_free(a);
		if (rc == -ENOMEM)
			ck_err(ret_error, rc, "out of memory");
		return rc;
	}
	*ret_arc = rc > 0 ? img : a;
	return 0;
}

size_t arc_count(const struct arc *a)
{
	return a->n;
}

const struct arc_entry *arc_entry_at(const struct arc *a, size_t i)
{
	return i < a->n ? &a->items[i].e : NULL;
}

const struct arc_entry *arc_find(const struct arc *a, const char *path)
{
	struct arc_item key = { .e.path = path };
	const struct arc_item *it;

	it = bsearch(&key, a->items, a->n, sizeof(*it), arc_item_cmp);
	return it ? &it->e : NULL;
}

static ssize_t arc_pread_exact(int fd, void *buf, size_t len, uint64_t off)
{
	ssize_t n = ck_pread_full(fd, buf, len, (off_t) off);

	/* The archive or spill file shrank under us. */
	return n >= 0 && (size_t) n < len ? -EIO : n;
}

static ssize_t arc_pread_seek(const struct arc *a, void *buf, size_t len, uint64_t off)
{
	ssize_t n = arc_seek_pread(a->seek, buf, len, off);

	/* the index said the member lies inside the stream */
	return n >= 0 && (size_t) n < len ? -EIO : n;
}

/* Open a member of a directory input. No symlink is followed, not even in a
 * parent that was swapped for one after indexing (openat2, Linux 5.6). */
int arc_open_member(const struct arc *a, const char *path)
{
	const int flags = O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY;
	struct open_how how = {
		.flags = flags,
		.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
	};
	int fd;

	fd = (int) syscall(SYS_openat2, a->fd, path, &how, sizeof(how));
	if (fd < 0 && (errno == ENOSYS || errno == EPERM))
		fd = openat(a->fd, path, flags);
	return fd < 0 ? -errno : fd;
}

static ssize_t arc_pread_file(const struct arc *a, const struct arc_item *it, void *buf,
			      size_t len, uint64_t off)
{
	ssize_t n;
	int fd;

	fd = arc_open_member(a, it->owner_path ? it->owner_path : it->e.path);
	if (fd < 0)
		return fd;
	n = ck_pread_full(fd, buf, len, (off_t) off);
	close(fd);
	return n;
}

ssize_t arc_pread(const struct arc *a, const struct arc_entry *e, void *buf, size_t len, uint64_t off)
{
	const struct arc_item *it = (const struct arc_item *) e;

	if (it->owner)
		a = it->owner;	/* a layer of an image */
	if (e->type == ARC_DIR)
		return -EISDIR;
	if (e->type != ARC_REG)
		return -EINVAL;
	if (off >= e->size)
		return 0;
	len = CK_MIN(len, e->size - off);
	len = CK_MIN(len, (size_t) SSIZE_MAX);
	switch (it->src) {
	case ARC_SRC_MEM:
		memcpy(buf, it->data + off, len);
		return (ssize_t) len;
	case ARC_SRC_ARCHIVE:
		return arc_pread_exact(a->fd, buf, len, it->off + off);
	case ARC_SRC_SPILL:
		return arc_pread_exact(a->spill_fd, buf, len, it->off + off);
	case ARC_SRC_FILE:
		return arc_pread_file(a, it, buf, len, off);
	case ARC_SRC_SEEK:
		return arc_pread_seek(a, buf, len, it->off + off);
	case ARC_SRC_NONE:
		break;
	}
	return -EIO;
}

int arc_extent_at(const struct arc *a, const struct arc_entry *e, uint64_t off, uint64_t len,
		  struct arc_extent *ret)
{
	const struct arc_item *it = (const struct arc_item *) e;
	struct stat st;

	if (it->owner)
		a = it->owner;
	if (e->type == ARC_DIR)
		return -EISDIR;
	if (e->type != ARC_REG)
		return -EINVAL;
	*ret = (struct arc_extent) { .fd = -1, .len = off < e->size ? CK_MIN(len, e->size - off) : 0 };
	if (!ret->len)
		return 0;
	switch (it->src) {
	case ARC_SRC_ARCHIVE:
		ret->fd = a->fd;
		break;
	case ARC_SRC_SPILL:
		ret->fd = a->spill_fd;
		break;
	default:
		return -EAGAIN;
	}
	ret->off = it->off + off;
	/* A splice from a file that shrank under the mount (a plain tar cut
	 * or rewritten in place) would end early and read as a short, clean
	 * reply: say EIO instead, as arc_pread() does. */
	if (fstat(ret->fd, &st) < 0 || (uint64_t) st.st_size < ret->off + ret->len)
		return -EIO;
	return 0;
}

int arc_load(const struct arc *a, const struct arc_entry *e, size_t max, struct ck_blob *ret_blob,
	     void **ret_owned)
{
	const struct arc_item *it = (const struct arc_item *) e;
	_cleanup_free_ void *p = NULL;
	ssize_t n;

	if (e->type == ARC_DIR)
		return -EISDIR;
	if (e->type != ARC_REG)
		return -EINVAL;
	if (e->size > max)
		return -EFBIG;
	if (it->src == ARC_SRC_MEM || e->size == 0) {
		*ret_blob = (struct ck_blob) { it->data ? it->data : (const uint8_t *) "", e->size };
		*ret_owned = NULL;
		return 0;
	}
	p = malloc(e->size);
	if (!p)
		return -ENOMEM;
	n = arc_pread(a, e, p, e->size, 0);
	if (n < 0)
		return (int) n;
	*ret_blob = (struct ck_blob) { p, (size_t) n };
	*ret_owned = TAKE_PTR(p);
	return 0;
}

const struct arc_image *arc_image(const struct arc *a)
{
	return a->image;
}

const char *arc_kind(const struct arc *a)
{
	return a->kind;
}

size_t arc_dropped(const struct arc *a, const char **ret_first)
{
	if (ret_first)
		*ret_first = a->dropped_first ? a->dropped_first : "";
	return a->n_dropped;
}

bool arc_is_zero_copy(const struct arc *a)
{
	return a->zero_copy;
}

bool arc_splices(const struct arc *a)
{
	return !a->seek;
}
