/* SPDX-License-Identifier: Apache-2.0 */
/* The layers of an image: each blob indexed once as a tar of its own; then
 * the layers are merged from the top down, each path taken from the
 * highest layer that has it, with the whiteouts (.wh.NAME, .wh..wh..opq)
 * and the files that replace a directory hiding what lies below them.
 * What the upper layers leave is kept in a search tree, so the merge takes
 * time in proportion to the items and their depth, not to their product. */
#include "arc-oci-priv.h"
#include "arc-reg-priv.h"

#include <errno.h>
#include <fcntl.h>
#include <search.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

/* Where the descriptor's annotations @ann place a zstd:chunked layer's
 * table of contents, and its checksum: 0, or -ENOTSUP when they do not. */
static int oci_chunked_keys(json_object *ann, const char **ret_pos, const char **ret_sum)
{
	*ret_pos = oci_jstr(ann, ARC_ANN_CHUNKED_POS);
	*ret_sum = oci_jstr(ann, ARC_ANN_CHUNKED_SUM);
	if (!*ret_pos) {
		*ret_pos = oci_jstr(ann, ARC_ANN_CHUNKED_POS_OLD);
		*ret_sum = oci_jstr(ann, ARC_ANN_CHUNKED_SUM_OLD);
	}
	return *ret_pos ? 0 : -ENOTSUP;
}

/* Layer blob @e as zstd:chunked, read at random through its table of
 * contents at @pos: in a layout directory or a plain oci-archive (where
 * the blob lies in the file), with the limits of @lo. -ENOTSUP when it
 * cannot be read that way: it is then read as a stream. (A registry's
 * layer: arc_reg_layer().) */
static int oci_chunked(struct oci *o, const struct arc_entry *e, const char *pos, const char *sum,
		       const struct arc_opts *lo, struct arc **ret, char **ret_err)
{
	const struct arc_item *it = (const struct arc_item *) e;
	_cleanup_(arc_freep) struct arc *a = NULL;
	_cleanup_free_ char *err = NULL;
	struct arc_seek_src src;
	uint64_t base = 0;
	int fd, rc;

	if (!strcmp(o->outer->kind, "directory")) {
		fd = arc_open_member(o->outer, e->path);
	} else if (it->src == ARC_SRC_ARCHIVE && !it->owner && o->outer->fd >= 0) {
		fd = fcntl(o->outer->fd, F_DUPFD_CLOEXEC, 3);
		fd = fd < 0 ? -errno : fd;
		base = it->off;
	} else {
		return -ENOTSUP;
	}
	if (fd < 0)
		return ck_err(ret_err, fd, "cannot open it: %s", strerror(-fd));
	a = arc_new(lo);
	if (!a) {
		close(fd);
		return -ENOMEM;
	}
	a->fd = fd;
	a->budget = o->outer->budget;
	src = arc_seek_fd_src(fd);
	rc = arc_chunked_index(a, &src, base, e->size, pos, sum, &err);
	if (rc == 0)
		rc = arc_finish(a);
	if (rc == -ENOTSUP)
		ck_log(CK_LOG_DEBUG, "arc: %s: zstd:chunked, read as a stream: %s", e->path, err ? err : "");
	else if (rc < 0)
		return ck_err(ret_err, rc, "zstd:chunked table of contents: %s", err ? err : strerror(-rc));
	else
		*ret = TAKE_PTR(a);
	return rc;
}

/* Index the blob @e of the outer arc as a tar of its own. A file of a
 * layout directory is opened as a whole file, which gives compressed
 * layers random access where arc-seek.c allows it; a zstd:chunked layer
 * (its descriptor @desc says so) is read member by member. Either way the
 * layer draws on the outer arc's budget: the members all layers keep in
 * memory share one limit, as do their spill files. */
int oci_open_layer_desc(struct oci *o, const struct arc_entry *e, json_object *desc, const char *what,
			struct arc **ret)
{
	_cleanup_free_ char *err = NULL;
	struct arc_opts lo = { 0 };
	const char *pos, *sum;
	struct oci_seen *s;
	struct arc **v;
	bool added;
	int rc;

	s = oci_seen(o, 'b', e->path, NULL, &added);
	if (!s)
		return -ENOMEM;
	if (s->layer) {
		*ret = s->layer;
		return 0;
	}
	if (o->opts)
		lo = *o->opts;
	lo.progress = NULL;
	if (!desc || oci_chunked_keys(oci_jget(desc, "annotations", json_type_object), &pos, &sum) < 0)
		pos = sum = NULL;
	if (o->outer->reg)
		rc = arc_reg_layer(o->outer, e, o->opts, pos, sum, ret, &err);
	else
		rc = pos ? oci_chunked(o, e, pos, sum, &lo, ret, &err) : -ENOTSUP;
	if (rc == -ENOTSUP && !o->outer->reg && !strcmp(o->outer->kind, "directory")) {
		int fd = arc_open_member(o->outer, e->path);

		if (fd < 0)
			return ck_err(o->ret_error, fd, "%s: cannot open %s: %s", what, e->path, strerror(-fd));
		rc = arc_open_fd(fd, &lo, o->outer->budget, ret, &err);
	} else if (rc == -ENOTSUP && !o->outer->reg) {
		rc = arc_open_nested(o->outer, e, &lo, ret, &err);
	}
	if (rc < 0)
		return ck_err(o->ret_error, rc, "%s (%s): %s", what, e->path, err ? err : strerror(-rc));
	v = reallocarray(o->m->subs, o->m->nsubs + 1, sizeof(*v));
	if (!v) {
		arc_free(*ret);
		return -ENOMEM;
	}
	o->m->subs = v;
	v[o->m->nsubs++] = *ret;
	s->layer = *ret;
	return 0;
}

int oci_open_layer(struct oci *o, const struct arc_entry *e, const char *what, struct arc **ret)
{
	return oci_open_layer_desc(o, e, NULL, what, ret);
}

/* What the whiteout @base (".wh.NAME") of a layer does: 1 for
 * ".wh..wh..opq" (the directory's lower contents go), 2 for ".wh.NAME"
 * (NAME goes), 0 for the other ".wh..wh." names (metadata of AUFS: no
 * effect), -EBADMSG for one that names no file (".wh.", ".wh..",
 * ".wh..."): it would remove the directory it is in. */
static int oci_whiteout_kind(const char *base)
{
	const char *name = base + 4;

	if (!strcmp(base, ".wh..wh..opq"))
		return 1;
	if (!strncmp(base, ".wh..wh.", 8))
		return 0;
	return !*name || !strcmp(name, ".") || !strcmp(name, "..") ? -EBADMSG : 2;
}

/* The whiteout kind of @path (see above), or -1 when it is none. */
static int oci_whiteout(const char *path)
{
	const char *base = strrchr(path, '/');

	base = base ? base + 1 : path;
	return strncmp(base, ".wh.", 4) ? -1 : oci_whiteout_kind(base);
}

int oci_add_layer(struct oci *o, const struct arc *layer, const char *prefix, const char *what)
{
	struct oci_layer_use *v;
	char safe[256];

	for (size_t i = 0; i < layer->n; i++)
		if (oci_whiteout(layer->items[i].e.path) == -EBADMSG)
			return ck_err(o->ret_error, -EBADMSG, "%s: whiteout '%s' names no file", what,
				       arc_safe_name(layer->items[i].e.path, safe, sizeof(safe)));
	v = reallocarray(o->layers, o->nlayers + 1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	o->layers = v;
	v[o->nlayers++] = (struct oci_layer_use) { layer, prefix };
	return 0;
}

/* What the layers above say about a path, for the ones below. */
enum {
	OCI_SHOWN = 1,		/* an upper layer has this path: it wins */
	OCI_GONE = 2,		/* a whiteout removed this path */
	OCI_HIDE = 4,		/* what lies below this path is hidden: a whiteout,
				 * an opaque directory, or a file over a directory */
};

struct oci_mark {
	unsigned flags;
	char path[];
};

static int oci_mark_cmp(const void *a, const void *b)
{
	return strcmp(((const struct oci_mark *) a)->path, ((const struct oci_mark *) b)->path);
}

/* The layers being merged, from the top: the marks the layers above left. */
struct oci_merge {
	void *marks;		/* tsearch() tree of struct oci_mark */
	size_t nhide;		/* marks with OCI_HIDE */
	struct oci_mark *probe;	/* a key of ARC_PATH_MAX bytes, for lookups */
};

/* The marks on the path in mg->probe. */
static unsigned oci_mark_get(const struct oci_merge *mg)
{
	struct oci_mark **found = tfind(mg->probe, &mg->marks, oci_mark_cmp);

	return found ? (*found)->flags : 0;
}

static int oci_mark_set(struct oci_merge *mg, const char *path, unsigned flags)
{
	struct oci_mark *k = malloc(sizeof(*k) + strlen(path) + 1), **found;

	if (!k)
		return -ENOMEM;
	k->flags = 0;
	strcpy(k->path, path);
	found = tsearch(k, &mg->marks, oci_mark_cmp);
	if (!found) {
		free(k);
		return -ENOMEM;
	}
	if (*found != k)
		free(k);
	if ((flags & OCI_HIDE) && !((*found)->flags & OCI_HIDE))
		mg->nhide++;
	(*found)->flags |= flags;
	return 0;
}

/* Do the layers above hide @path (a full path)? */
static bool oci_hidden(const struct oci_merge *mg, const char *path)
{
	char *p = mg->probe->path;

	if (!mg->marks)
		return false;
	strcpy(p, path);
	if (oci_mark_get(mg) & (OCI_SHOWN | OCI_GONE))
		return true;
	if (!mg->nhide)
		return false;
	/* a parent whose contents are hidden: the root (""), then each one down */
	*p = '\0';
	if (oci_mark_get(mg) & OCI_HIDE)
		return true;
	strcpy(p, path);
	for (char *slash = strchr(p, '/'); slash; slash = strchr(slash + 1, '/')) {
		*slash = '\0';
		if (oci_mark_get(mg) & OCI_HIDE)
			return true;
		*slash = '/';
	}
	return false;
}

/* Add item @src of layer @u to the image as @path. */
static int oci_add_item(struct oci *o, const struct oci_layer_use *u, const struct arc_item *src, const char *path)
{
	struct arc_item *it;
	int rc;

	rc = arc_item_new(o->m, path, &it);
	if (rc <= 0)
		return rc;
	it->e.type = src->e.type;
	it->e.mode = src->e.mode;
	it->e.size = src->e.size;
	it->e.mtime = src->e.mtime;
	if (src->e.link && !(it->e.link = strdup(src->e.link)))
		return -ENOMEM;
	it->src = src->src;
	it->off = src->off;
	it->data = src->data;
	it->owner = src->owner ? src->owner : u->layer;
	it->owner_path = src->owner_path ? src->owner_path : src->e.path;
	return 0;
}

/* What layer @u leaves for the layers below it: its paths, the files that
 * hide a lower directory's contents, its whiteouts. */
static int oci_mark_layer(struct oci_merge *mg, const struct oci_layer_use *u, char *path)
{
	int rc = 0;

	for (size_t i = 0; i < u->layer->n && rc == 0; i++) {
		const struct arc_entry *e = &u->layer->items[i].e;
		const char *slash = strrchr(e->path, '/');
		int kind = oci_whiteout(e->path);
		size_t len;

		if (kind < 0) {
			snprintf(path, ARC_PATH_MAX, "%s%s", u->prefix, e->path);
			rc = oci_mark_set(mg, path, OCI_SHOWN | (e->type != ARC_DIR ? OCI_HIDE : 0));
			continue;
		}
		if (!kind)
			continue;
		/* the directory the whiteout is in ("" for the root), then
		 * NAME below it for ".wh.NAME" */
		snprintf(path, ARC_PATH_MAX, "%s%.*s", u->prefix, slash ? (int) (slash - e->path) : 0, e->path);
		len = strlen(path);
		if (len && path[len - 1] == '/')
			path[--len] = '\0';
		if (kind == 2)
			snprintf(path + len, ARC_PATH_MAX - len, "%s%s", len ? "/" : "", (slash ? slash + 1 : e->path) + 4);
		rc = oci_mark_set(mg, path, kind == 2 ? OCI_GONE | OCI_HIDE : OCI_HIDE);
	}
	return rc;
}

int oci_apply_layers(struct oci *o)
{
	_cleanup_free_ char *path = malloc(ARC_PATH_MAX);
	struct oci_merge mg = { .probe = malloc(sizeof(struct oci_mark) + ARC_PATH_MAX) };
	int rc = path && mg.probe ? 0 : -ENOMEM;

	/* from the top layer down: a path is taken from the highest layer that
	 * has it, unless a layer above removed it or hides what is below one
	 * of its parents; each layer's own whiteouts act on the ones below */
	for (size_t l = o->nlayers; l-- > 0 && rc == 0;) {
		const struct oci_layer_use *u = &o->layers[l];

		for (size_t i = 0; i < u->layer->n && rc == 0; i++) {
			const struct arc_item *src = &u->layer->items[i];

			if (oci_whiteout(src->e.path) >= 0)
				continue;
			snprintf(path, ARC_PATH_MAX, "%s%s", u->prefix, src->e.path);
			if (!oci_hidden(&mg, path))
				rc = oci_add_item(o, u, src, path);
		}
		if (rc == 0 && l > 0)
			rc = oci_mark_layer(&mg, u, path);
	}
	tdestroy(mg.marks, free);
	free(mg.probe);
	return rc;
}

/* Add outer blob @e under @name, read in place. */
int oci_add_blob_as(struct oci *o, const struct arc_entry *e, const char *name)
{
	const struct arc_item *src = (const struct arc_item *) e;
	struct arc_item *it;
	int rc;

	rc = arc_item_new(o->m, name, &it);
	if (rc <= 0)
		return rc < 0 ? rc : -EINVAL;
	it->e.type = ARC_REG;
	it->e.mode = 0644;
	it->e.size = e->size;
	it->e.mtime = e->mtime;
	it->src = src->src;
	it->off = src->off;
	it->data = src->data;
	it->owner = src->owner ? src->owner : o->outer;
	it->owner_path = src->owner_path ? src->owner_path : e->path;
	return 0;
}

/* Add @len bytes at @data as member @name (copied). */
int oci_add_mem(struct oci *o, const char *name, const void *data, size_t len, int64_t mtime)
{
	struct arc_item *it;
	uint8_t *copy;
	int rc;

	copy = malloc(len ? len : 1);
	if (!copy)
		return -ENOMEM;
	memcpy(copy, data, len);
	rc = arc_blob_keep(o->m, copy);
	if (rc < 0)
		return rc;
	rc = arc_item_new(o->m, name, &it);
	if (rc <= 0)
		return rc < 0 ? rc : -EINVAL;
	it->e.type = ARC_REG;
	it->e.mode = 0644;
	it->e.size = len;
	it->e.mtime = mtime;
	it->src = len ? ARC_SRC_MEM : ARC_SRC_NONE;
	it->data = copy;
	return 0;
}
