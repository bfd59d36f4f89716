/* SPDX-License-Identifier: Apache-2.0 */
/* The layers of an image: each blob indexed as a tar of its own, then its
 * items added to the image's arc over those of the layers below, with the
 * whiteouts (.wh.NAME, .wh..wh..opq) removing what they name. */
#include "arc-oci-priv.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/* Index the blob @e of the outer arc as a tar of its own. A file of a
 * layout directory is opened as a whole file, which gives compressed
 * layers random access where arc-seek.c allows it. Either way the layer
 * draws on the outer arc's budget: the members all layers keep in memory
 * share one limit, as do their spill files. */
int oci_open_layer(struct oci *o, const struct arc_entry *e, const char *what, struct arc **ret)
{
	_cleanup_free_ char *err = NULL;
	struct arc_opts lo = { 0 };
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
	if (!strcmp(o->outer->kind, "directory")) {
		int fd = arc_open_member(o->outer, e->path);

		if (fd < 0)
			return ck_err(o->ret_error, fd, "%s: cannot open %s: %s", what, e->path, strerror(-fd));
		rc = arc_open_fd(fd, &lo, o->outer->budget, ret, &err);
	} else {
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

/* Does @path lie at or below @dir (which may be "" for the root)? */
static bool oci_below(const char *path, const char *dir, size_t dlen, bool self)
{
	if (!dlen)
		return self || *path;
	if (strncmp(path, dir, dlen))
		return false;
	return path[dlen] == '/' || (self && path[dlen] == '\0');
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

/* Hide what the whiteouts of @layer (@what in messages) remove from the
 * layers below. */
static int oci_whiteouts(struct oci *o, const struct arc *layer, const char *prefix, const char *what)
{
	char target[ARC_PATH_MAX], safe[256];

	for (size_t i = 0; i < layer->n; i++) {
		const char *p = layer->items[i].e.path, *base = strrchr(p, '/');
		size_t dlen = base ? (size_t) (base - p) : 0;
		bool opaque;
		int kind;

		base = base ? base + 1 : p;
		if (strncmp(base, ".wh.", 4))
			continue;
		kind = oci_whiteout_kind(base);
		if (kind < 0)
			return ck_err(o->ret_error, kind, "%s: whiteout '%s' names no file", what,
				       arc_safe_name(p, safe, sizeof(safe)));
		if (!kind)
			continue;
		opaque = kind == 1;
		snprintf(target, sizeof(target), "%s%.*s%s%s", prefix, (int) dlen, p, dlen && !opaque ? "/" : "",
			 opaque ? "" : base + 4);
		if (*target && target[strlen(target) - 1] == '/')
			target[strlen(target) - 1] = '\0';
		for (size_t j = 0; j < o->m->n; j++)
			if (oci_below(o->m->items[j].e.path, target, strlen(target), !opaque))
				o->m->items[j].drop = true;
	}
	return 0;
}

/* Add the items of @layer, under @prefix ("" or "checkpoint/"). */
int oci_add_layer(struct oci *o, const struct arc *layer, const char *prefix, const char *what)
{
	int rc = oci_whiteouts(o, layer, prefix, what);

	if (rc < 0)
		return rc;
	for (size_t i = 0; i < layer->n; i++) {
		const struct arc_item *src = &layer->items[i];
		const char *base = strrchr(src->e.path, '/');
		char path[ARC_PATH_MAX];
		struct arc_item *it;

		base = base ? base + 1 : src->e.path;
		if (!strncmp(base, ".wh.", 4))
			continue;
		snprintf(path, sizeof(path), "%s%s", prefix, src->e.path);
		/* a file that replaces a directory of a lower layer hides what was in it */
		if (src->e.type != ARC_DIR)
			for (size_t j = 0; j < o->m->n; j++)
				if (oci_below(o->m->items[j].e.path, path, strlen(path), false))
					o->m->items[j].drop = true;
		rc = arc_item_new(o->m, path, &it);
		if (rc <= 0) {
			if (rc < 0)
				return rc;
			continue;
		}
		it->e.type = src->e.type;
		it->e.mode = src->e.mode;
		it->e.size = src->e.size;
		it->e.mtime = src->e.mtime;
		if (src->e.link && !(it->e.link = strdup(src->e.link)))
			return -ENOMEM;
		it->src = src->src;
		it->off = src->off;
		it->data = src->data;
		it->owner = src->owner ? src->owner : layer;
		it->owner_path = src->owner_path ? src->owner_path : src->e.path;
	}
	return 0;
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
