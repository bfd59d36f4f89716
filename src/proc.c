/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "mem-dense.h"
#include "proc.h"
#include "render.h"

/* Images larger than this are not rendered to JSON (a multi-GiB pagemap would
 * not fit the memory budget); their .json reads fail with EFBIG. */
#define PV_JSON_MAX_INPUT (256u << 20)

enum pv_kind {
	PV_DIR,
	PV_LINK,	/* target rendered lazily */
	PV_TEXT,	/* content rendered lazily */
	PV_MEMBER,	/* an archive member, read in place */
	PV_MEM,		/* a process address space, sparse */
	PV_PAGES,	/* its dumped pages back to back */
};

enum pv_view {
	PV_V_NONE,
	PV_V_STATUS, PV_V_STAT, PV_V_COMM, PV_V_CMDLINE, PV_V_ENVIRON, PV_V_MAPS,
	PV_V_LIMITS, PV_V_AUXV, PV_V_FDINFO, PV_V_FD, PV_V_CWD, PV_V_ROOT, PV_V_EXE,
	PV_V_PAGES_MAP, PV_V_JSON,
};

struct pv_node {
	char *name;
	struct pv_node *parent;
	struct pv_node **children;	/* sorted by name once the tree is built */
	size_t n_children, cap_children;
	enum pv_kind kind;
	enum pv_view view;
	mode_t mode;
	uint64_t ino;
	int64_t mtime;
	const struct ckpt_proc *proc;
	const struct ckpt_thread *thread;
	const struct img_fdinfo *fd;
	const struct arc_entry *member;
	struct mem_dense *dense;	/* PV_PAGES, owned */
	/* lazily rendered content, guarded by pv_tree.lock */
	bool rendered;
	int render_err;
	char *data;
	size_t len;
};

struct pv_tree {
	const struct ckpt *ck;
	const struct arc *arc;
	struct pv_opts opts;
	struct pv_node *root;
	uint64_t next_ino;
	pthread_mutex_t lock;
};

static void node_free(struct pv_node *n)
{
	if (!n)
		return;
	for (size_t i = 0; i < n->n_children; i++)
		node_free(n->children[i]);
	free(n->children);
	mem_dense_free(n->dense);
	free(n->name);
	free(n->data);
	free(n);
}

static struct pv_node *node_add(struct pv_tree *t, struct pv_node *parent, const char *name,
				enum pv_kind kind, mode_t mode)
{
	struct pv_node *n = calloc(1, sizeof(*n));

	if (!n)
		return NULL;
	n->name = strdup(name);
	if (!n->name) {
		free(n);
		return NULL;
	}
	n->kind = kind;
	n->mode = mode;
	n->ino = t->next_ino++;
	n->mtime = t->opts.mtime;
	n->parent = parent;
	if (parent) {
		if (parent->n_children == parent->cap_children) {
			size_t cap = parent->cap_children ? parent->cap_children * 2 : 8;
			struct pv_node **c = realloc(parent->children, cap * sizeof(*c));

			if (!c) {
				node_free(n);
				return NULL;
			}
			parent->children = c;
			parent->cap_children = cap;
		}
		parent->children[parent->n_children++] = n;
	}
	return n;
}

static struct pv_node *child_find_linear(const struct pv_node *dir, const char *name, size_t len)
{
	for (size_t i = 0; i < dir->n_children; i++)
		if (strlen(dir->children[i]->name) == len && !memcmp(dir->children[i]->name, name, len))
			return dir->children[i];
	return NULL;
}

static struct pv_node *view_add(struct pv_tree *t, struct pv_node *dir, const char *name,
				enum pv_view view, mode_t mode)
{
	struct pv_node *n = node_add(t, dir, name, view == PV_V_FD || view == PV_V_CWD ||
				     view == PV_V_ROOT || view == PV_V_EXE ? PV_LINK : PV_TEXT, mode);

	if (n) {
		n->view = view;
		n->proc = dir->proc;
		n->thread = dir->thread;
	}
	return n;
}

/* /proc shows an fd link's access mode as its permission bits: lr-x, l-wx, lrwx. */
static mode_t fd_link_mode(const struct ckpt *ck, const struct img_fdinfo *fdi)
{
	const struct img_file *f = ckpt_file_find(ck, fdi->id);

	switch (f ? f->flags & O_ACCMODE : O_RDONLY) {
	case O_WRONLY:
		return 0300;
	case O_RDWR:
		return 0700;
	default:
		return 0500;
	}
}

static int add_thread_dir(struct pv_tree *t, struct pv_node *task, const struct ckpt_proc *p,
			  const struct ckpt_thread *th)
{
	char name[16];
	struct pv_node *d;

	snprintf(name, sizeof(name), "%u", th->tid);
	d = node_add(t, task, name, PV_DIR, S_IFDIR | 0555);
	if (!d)
		return -ENOMEM;
	d->proc = p;
	d->thread = th;
	if (!view_add(t, d, "status", PV_V_STATUS, S_IFREG | 0444) ||
	    !view_add(t, d, "stat", PV_V_STAT, S_IFREG | 0444) ||
	    !view_add(t, d, "comm", PV_V_COMM, S_IFREG | 0444))
		return -ENOMEM;
	return 0;
}

static int add_proc_dir(struct pv_tree *t, const struct ckpt_proc *p)
{
	static const struct {
		const char *name;
		enum pv_view view;
		mode_t mode;
	} files[] = {
		{ "status", PV_V_STATUS, S_IFREG | 0444 },
		{ "stat", PV_V_STAT, S_IFREG | 0444 },
		{ "comm", PV_V_COMM, S_IFREG | 0444 },
		{ "cmdline", PV_V_CMDLINE, S_IFREG | 0444 },
		{ "environ", PV_V_ENVIRON, S_IFREG | 0400 },
		{ "maps", PV_V_MAPS, S_IFREG | 0444 },
		{ "limits", PV_V_LIMITS, S_IFREG | 0444 },
		{ "auxv", PV_V_AUXV, S_IFREG | 0400 },
		{ "cwd", PV_V_CWD, S_IFLNK | 0777 },
		{ "root", PV_V_ROOT, S_IFLNK | 0777 },
		{ "exe", PV_V_EXE, S_IFLNK | 0777 },
	};
	struct pv_node *d, *fd, *fdinfo, *task, *n;
	char name[16];

	snprintf(name, sizeof(name), "%u", p->pid);
	if (child_find_linear(t->root, name, strlen(name))) {
		ck_log(CK_LOG_WARNING, "archive member '%s' hidden by process directory", name);
		return 0;
	}
	d = node_add(t, t->root, name, PV_DIR, S_IFDIR | 0555);
	if (!d)
		return -ENOMEM;
	d->proc = p;
	for (size_t i = 0; i < ARRAY_SIZE(files); i++)
		if (!view_add(t, d, files[i].name, files[i].view, files[i].mode))
			return -ENOMEM;
	if (p->mem) {
		n = node_add(t, d, "mem", PV_MEM, S_IFREG | 0400);
		if (!n)
			return -ENOMEM;
		n->proc = p;
		n = node_add(t, d, "pages", PV_PAGES, S_IFREG | 0400);
		if (!n || mem_dense_new(p->mem, &n->dense) < 0)
			return -ENOMEM;
		n->proc = p;
		if (!view_add(t, d, "pages.map", PV_V_PAGES_MAP, S_IFREG | 0444))
			return -ENOMEM;
	}
	fd = node_add(t, d, "fd", PV_DIR, S_IFDIR | 0500);
	fdinfo = node_add(t, d, "fdinfo", PV_DIR, S_IFDIR | 0555);
	task = node_add(t, d, "task", PV_DIR, S_IFDIR | 0555);
	if (!fd || !fdinfo || !task)
		return -ENOMEM;
	fd->proc = fdinfo->proc = task->proc = p;
	for (size_t i = 0; i < p->n_fds; i++) {
		snprintf(name, sizeof(name), "%u", p->fds[i].fd);
		n = view_add(t, fd, name, PV_V_FD, S_IFLNK | fd_link_mode(t->ck, &p->fds[i]));
		if (!n)
			return -ENOMEM;
		n->fd = &p->fds[i];
		n = view_add(t, fdinfo, name, PV_V_FDINFO, S_IFREG | 0444);
		if (!n)
			return -ENOMEM;
		n->fd = &p->fds[i];
	}
	for (size_t i = 0; i < p->n_threads; i++) {
		int rc = add_thread_dir(t, task, p, &p->threads[i]);

		if (rc < 0)
			return rc;
	}
	return 0;
}

/* Create (or find) the directory chain for archive path @path and add the
 * member itself as the last component. */
static int add_member(struct pv_tree *t, const struct arc_entry *e)
{
	struct pv_node *dir = t->root, *n;
	const char *p = e->path, *slash;

	while ((slash = strchr(p, '/'))) {
		n = child_find_linear(dir, p, (size_t) (slash - p));
		if (!n) {
			char *comp = strndup(p, (size_t) (slash - p));

			if (!comp)
				return -ENOMEM;
			n = node_add(t, dir, comp, PV_DIR, S_IFDIR | 0555);
			free(comp);
			if (!n)
				return -ENOMEM;
		}
		if (n->kind != PV_DIR)
			return 0;	/* a file where a directory is needed: keep the file */
		dir = n;
		p = slash + 1;
	}
	if (!*p)
		return 0;
	n = child_find_linear(dir, p, strlen(p));
	if (n) {
		/* an implied directory met its own entry: adopt mode and time */
		if (n->kind == PV_DIR && e->type == ARC_DIR) {
			n->mode = S_IFDIR | (e->mode & 0555);
			n->mtime = e->mtime;
		}
		return 0;
	}
	switch (e->type) {
	case ARC_DIR:
		n = node_add(t, dir, p, PV_DIR, S_IFDIR | (e->mode & 0555) | 0500);
		break;
	case ARC_SYMLINK:
		n = node_add(t, dir, p, PV_LINK, S_IFLNK | 0777);
		break;
	case ARC_REG:
		n = node_add(t, dir, p, PV_MEMBER, S_IFREG | (e->mode & 0444) | 0400);
		break;
	default:
		return 0;
	}
	if (!n)
		return -ENOMEM;
	n->member = e;
	n->mtime = e->mtime;
	return 0;
}

static int add_images_dir(struct pv_tree *t)
{
	size_t dirlen = strlen(t->ck->img_dir);
	struct pv_node *images;

	images = node_add(t, t->root, "images", PV_DIR, S_IFDIR | 0555);
	if (!images)
		return -ENOMEM;
	for (size_t i = 0; i < arc_count(t->arc); i++) {
		const struct arc_entry *e = arc_entry_at(t->arc, i);
		const char *base = e->path;
		struct ck_blob head = { 0 };
		uint8_t buf[8];
		char name[300];
		ssize_t got;
		struct pv_node *n;

		if (e->type != ARC_REG)
			continue;
		if (dirlen) {
			if (strncmp(e->path, t->ck->img_dir, dirlen) || e->path[dirlen] != '/')
				continue;
			base = e->path + dirlen + 1;
		}
		if (strchr(base, '/'))
			continue;
		got = arc_pread(t->arc, e, buf, sizeof(buf), 0);
		if (got < 0)
			continue;
		head.data = buf;
		head.len = (size_t) got;
		if (!img_magic_name(base, &head))
			continue;
		if (snprintf(name, sizeof(name), "%s.json", base) >= (int) sizeof(name))
			continue;
		if (strlen(base) > 4 && !strcmp(base + strlen(base) - 4, ".img"))
			snprintf(name, sizeof(name), "%.*s.json", (int) strlen(base) - 4, base);
		n = node_add(t, images, name, PV_TEXT, S_IFREG | 0444);
		if (!n)
			return -ENOMEM;
		n->view = PV_V_JSON;
		n->member = e;
	}
	return 0;
}

static int cmp_node(const void *a, const void *b)
{
	return strcmp((*(struct pv_node *const *) a)->name, (*(struct pv_node *const *) b)->name);
}

static void sort_children(struct pv_node *n)
{
	if (n->n_children > 1)
		qsort(n->children, n->n_children, sizeof(*n->children), cmp_node);
	for (size_t i = 0; i < n->n_children; i++)
		sort_children(n->children[i]);
}

int pv_tree_new(const struct ckpt *ck, const struct arc *a, const struct pv_opts *opts, struct pv_tree **ret_tree)
{
	struct pv_tree *t = calloc(1, sizeof(*t));
	int rc = -ENOMEM;

	if (!t)
		return -ENOMEM;
	t->ck = ck;
	t->arc = a;
	t->opts = *opts;
	t->next_ino = 1;
	pthread_mutex_init(&t->lock, NULL);
	t->root = node_add(t, NULL, "", PV_DIR, S_IFDIR | 0555);
	if (!t->root)
		goto out_free;
	/* synthetic names first, so that archive members cannot shadow them */
	for (size_t i = 0; i < ck->n_procs; i++) {
		rc = add_proc_dir(t, &ck->procs[i]);
		if (rc < 0)
			goto out_free;
	}
	rc = add_images_dir(t);
	if (rc < 0)
		goto out_free;
	for (size_t i = 0; i < arc_count(a); i++) {
		const struct arc_entry *e = arc_entry_at(a, i);
		const char *slash = strchr(e->path, '/');
		size_t len = slash ? (size_t) (slash - e->path) : strlen(e->path);
		struct pv_node *top = child_find_linear(t->root, e->path, len);

		if (top && !top->member && top->kind == PV_DIR && (top->proc || !strcmp(top->name, "images"))) {
			ck_log(CK_LOG_WARNING, "archive member '%s' hidden by a ckptfs view", e->path);
			continue;
		}
		rc = add_member(t, e);
		if (rc < 0)
			goto out_free;
	}
	sort_children(t->root);
	*ret_tree = t;
	return 0;
out_free:
	pv_tree_free(t);
	return rc;
}

void pv_tree_free(struct pv_tree *t)
{
	if (!t)
		return;
	node_free(t->root);
	pthread_mutex_destroy(&t->lock);
	free(t);
}

static struct pv_node *child_find(const struct pv_node *dir, const char *name, size_t len)
{
	size_t lo = 0, hi = dir->n_children;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const char *cn = dir->children[mid]->name;
		int c = strncmp(cn, name, len);

		if (c == 0 && cn[len] != '\0')
			c = 1;
		if (c == 0)
			return dir->children[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

const struct pv_node *pv_lookup(const struct pv_tree *t, const char *path)
{
	const struct pv_node *n = t->root;

	while (n && *path) {
		const char *end;

		while (*path == '/')
			path++;
		if (!*path)
			break;
		if (n->kind != PV_DIR)
			return NULL;
		end = strchrnul(path, '/');
		n = child_find(n, path, (size_t) (end - path));
		path = end;
	}
	return n;
}

static int render_json(const struct pv_tree *t, const struct pv_node *n, struct ck_buf *out)
{
	_cleanup_free_ void *owned = NULL;
	struct ck_blob b;
	int rc;

	rc = arc_load(t->arc, n->member, PV_JSON_MAX_INPUT, &b, &owned);
	if (rc < 0)
		return rc;
	return img_render_json(strrchr(n->member->path, '/') ? strrchr(n->member->path, '/') + 1 :
			       n->member->path, &b, !t->opts.json_plain, out);
}

static int render_view(const struct pv_tree *t, const struct pv_node *n, struct ck_buf *out)
{
	const struct ckpt *ck = t->ck;
	const struct ckpt_proc *p = n->proc;
	const struct img_file *f;

	switch (n->view) {
	case PV_V_STATUS:
		return pv_render_status(ck, p, n->thread, out);
	case PV_V_STAT:
		return pv_render_stat(ck, p, n->thread, out);
	case PV_V_COMM:
		return pv_render_comm(ck, p, n->thread, out);
	case PV_V_CMDLINE:
		return pv_render_cmdline(ck, p, out);
	case PV_V_ENVIRON:
		return pv_render_environ(ck, p, out);
	case PV_V_MAPS:
		return pv_render_maps(ck, p, out);
	case PV_V_LIMITS:
		return pv_render_limits(ck, p, out);
	case PV_V_AUXV:
		return pv_render_auxv(ck, p, out);
	case PV_V_FDINFO:
		return pv_render_fdinfo(ck, p, n->fd, out);
	case PV_V_FD:
		f = ckpt_file_find(ck, n->fd->id);
		if (!f)
			return -EIO;
		return pv_render_fd_target(ck, f, out);
	case PV_V_CWD:
		if (!p->has_fs)
			return p->fs_err ? -EIO : -ENOENT;
		return pv_render_reg_path(ck, p->fs.cwd_id, out);
	case PV_V_ROOT:
		if (!p->has_fs)
			return p->fs_err ? -EIO : -ENOENT;
		return pv_render_reg_path(ck, p->fs.root_id, out);
	case PV_V_EXE:
		if (!p->mm)
			return p->mm_err ? -EIO : -ENOENT;
		return pv_render_reg_path(ck, p->mm->exe_file_id, out);
	case PV_V_PAGES_MAP:
		return pv_render_pages_map(ck, p, out);
	case PV_V_JSON:
		return render_json(t, n, out);
	case PV_V_NONE:
		break;
	}
	return -EIO;
}

/* Render @n once; later calls return the cached result. */
static int node_content(struct pv_tree *t, const struct pv_node *cn)
{
	struct pv_node *n = (struct pv_node *) cn;	/* only the cache fields change */
	struct ck_buf out = { 0 };
	int rc;

	pthread_mutex_lock(&t->lock);
	if (n->rendered) {
		rc = n->render_err;
		pthread_mutex_unlock(&t->lock);
		return rc;
	}
	rc = render_view(t, n, &out);
	if (rc == 0 && out.oom)
		rc = -ENOMEM;
	if (rc < 0) {
		ck_buf_done(&out);
		if (n->member)
			ck_log(CK_LOG_WARNING, "cannot render '%s': %s", n->member->path, strerror(-rc));
	} else {
		n->data = ck_buf_steal(&out, &n->len);
	}
	n->render_err = rc;
	n->rendered = rc != -ENOMEM;	/* retry after a transient allocation failure */
	pthread_mutex_unlock(&t->lock);
	return rc;
}

int pv_getattr(struct pv_tree *t, const struct pv_node *n, struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_ino = n->ino;
	st->st_mode = n->mode;
	st->st_nlink = n->kind == PV_DIR ? 2 : 1;
	st->st_uid = t->opts.uid;
	st->st_gid = t->opts.gid;
	st->st_mtim.tv_sec = n->mtime;
	st->st_atim = st->st_ctim = st->st_mtim;
	st->st_blksize = 4096;
	switch (n->kind) {
	case PV_DIR:
		for (size_t i = 0; i < n->n_children; i++)
			if (n->children[i]->kind == PV_DIR)
				st->st_nlink++;
		break;
	case PV_MEMBER:
		st->st_size = (off_t) n->member->size;
		break;
	case PV_PAGES:
		st->st_size = (off_t) mem_dense_size(n->dense);
		break;
	case PV_MEM:
		st->st_size = (off_t) mem_size(n->proc->mem);
		st->st_blocks = (blkcnt_t) (mem_dumped_bytes(n->proc->mem) / 512);
		return 0;
	case PV_LINK:
		if (n->member) {
			st->st_size = n->member->link ? (off_t) strlen(n->member->link) : 0;
			break;
		}
		/* fall through */
	case PV_TEXT:
		if (node_content(t, n) == 0)
			st->st_size = (off_t) n->len;
		break;
	}
	st->st_blocks = (st->st_size + 511) / 512;
	return 0;
}

int pv_open(struct pv_tree *t, const struct pv_node *n)
{
	switch (n->kind) {
	case PV_DIR:
		return -EISDIR;
	case PV_TEXT:
		return node_content(t, n) < 0 ? -EIO : 0;
	default:
		return 0;
	}
}

int pv_readdir(struct pv_tree *t, const struct pv_node *n,
	       int (*fill)(void *ctx, const char *name, const struct stat *st), void *ctx)
{
	if (n->kind != PV_DIR)
		return -ENOTDIR;
	for (size_t i = 0; i < n->n_children; i++) {
		const struct pv_node *c = n->children[i];
		struct stat st = { .st_ino = c->ino, .st_mode = c->mode };

		if (fill(ctx, c->name, &st))
			break;
	}
	return 0;
}

ssize_t pv_read(struct pv_tree *t, const struct pv_node *n, void *buf, size_t len, uint64_t off)
{
	int rc;

	switch (n->kind) {
	case PV_MEMBER:
		return arc_pread(t->arc, n->member, buf, len, off);
	case PV_MEM:
		return mem_read(n->proc->mem, off, buf, len);
	case PV_PAGES:
		return mem_dense_read(n->dense, buf, len, off);
	case PV_TEXT:
		rc = node_content(t, n);
		if (rc < 0)
			return -EIO;
		if (off >= n->len)
			return 0;
		len = CK_MIN(len, n->len - off);
		memcpy(buf, n->data + off, len);
		return (ssize_t) len;
	case PV_DIR:
		return -EISDIR;
	default:
		return -EINVAL;
	}
}

int pv_readlink(struct pv_tree *t, const struct pv_node *n, char *buf, size_t size)
{
	const char *target;
	size_t len;
	int rc;

	if (n->kind != PV_LINK || size == 0)
		return -EINVAL;
	if (n->member) {
		target = n->member->link ? n->member->link : "";
		len = strlen(target);
	} else {
		rc = node_content(t, n);
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

int64_t pv_lseek(struct pv_tree *t, const struct pv_node *n, int64_t off, int whence)
{
	struct stat st;

	if (off < 0)
		return -ENXIO;
	if (n->kind == PV_MEM)
		return whence == SEEK_DATA ? mem_seek_data(n->proc->mem, (uint64_t) off) :
					     mem_seek_hole(n->proc->mem, (uint64_t) off);
	/* everything else is dense */
	pv_getattr(t, n, &st);
	if (off >= st.st_size)
		return -ENXIO;
	return whence == SEEK_DATA ? off : st.st_size;
}
