/* SPDX-License-Identifier: Apache-2.0 */
/* The container's files and container.json. A path is, on each side, in
 * rootfs-diff.tar (the container's changes to its image), listed in
 * deleted.files (removed from the image), or neither (as in the image):
 * rootfs-added, -removed and -changed say how that changed, with sizes,
 * sha256 and modes, and which file says so. container.json (as the mount
 * shows it, spec.h) is compared leaf by leaf, paths written as jq writes
 * them, but for the keys that describe the dump itself (spec_dump_keys). */
#include <errno.h>
#include <ctype.h>
#include <json.h>
#include <stdio.h>
#include <string.h>

#include "arc-oci.h"
#include "diff-priv.h"
#include "spec.h"

#define FILES_PATH_MAX 4096

/* ---- rootfs-diff.tar and deleted.files ---- */

struct ritem {
	const char *path;		/* normalised, relative */
	const struct arc_entry *e;	/* in rootfs-diff.tar, or NULL */
	bool deleted;			/* in deleted.files */
};

struct rside {
	const char *what;		/* the input, for messages */
	struct arc *tar;		/* rootfs-diff.tar, or NULL */
	struct ck_buf deleted;		/* deleted.files, one path a line (NULs between once split) */
	struct ritem *items;		/* sorted by path */
	size_t n;
};

static void rside_done(struct rside *s)
{
	arc_free(s->tar);
	ck_buf_done(&s->deleted);
	free(s->items);
}

static int ritem_cmp(const void *a, const void *b)
{
	const struct ritem *x = a, *y = b;
	int c = strcmp(x->path, y->path);

	return c ?: (x->e ? 0 : 1) - (y->e ? 0 : 1);
}

/* Open rootfs-diff.tar and read deleted.files of @ck into @s. Returns 0,
 * -ENOMEM, or 1 after a warning (not comparable). */
static int rside_load(struct diff_ctx *x, const struct ckpt *ck, struct rside *s)
{
	const struct arc_entry *tar = ck ? ckpt_container_member(ck, "rootfs-diff.tar") : NULL;
	const struct arc_entry *del = ck ? ckpt_container_member(ck, "deleted.files") : NULL;
	_cleanup_free_ char *err = NULL;
	_cleanup_free_ void *owned = NULL;
	struct ck_blob b;
	int rc;

	if (tar && tar->type == ARC_REG) {
		rc = arc_open_nested(ck->arc, tar, x->o->arc_opts, &s->tar, &err);
		if (rc == -ENOMEM)
			return rc;
		if (rc < 0) {
			diff_warn(x, "%s: %s: files not compared: %s", s->what, tar->path, err ? err : strerror(-rc));
			return 1;
		}
	}
	if (del && del->type == ARC_REG) {
		rc = arc_load(ck->arc, del, SPEC_DELETED_MAX, &b, &owned);
		rc = rc ?: spec_render_deleted(&b, &s->deleted);
		if (rc == -ENOMEM)
			return rc;
		if (rc < 0) {
			diff_warn(x, "%s: %s: files not compared: %s", s->what, del->path,
				  rc == -EBADMSG ? "not a JSON list of paths" : strerror(-rc));
			return 1;
		}
	}
	return 0;
}

/* The items of @s: every member of the tar and every deleted path. */
static int rside_items(struct rside *s)
{
	size_t n_tar = s->tar ? arc_count(s->tar) : 0, n = n_tar, k = 0;

	for (size_t i = 0; i < s->deleted.len; i++)
		n += s->deleted.data[i] == '\n';
	s->items = calloc(n + 1, sizeof(*s->items));
	if (!s->items)
		return -ENOMEM;
	for (size_t i = 0; i < n_tar; i++) {
		const struct arc_entry *e = arc_entry_at(s->tar, i);

		s->items[s->n++] = (struct ritem) { .path = e->path, .e = e };
	}
	for (char *l = s->deleted.data, *nl; l && (nl = strchr(l, '\n')); l = nl + 1) {
		*nl = '\0';
		l += strspn(l, "/");
		if (*l)
			s->items[s->n++] = (struct ritem) { .path = l, .deleted = true };
	}
	qsort(s->items, s->n, sizeof(*s->items), ritem_cmp);
	/* one item a path: in the tar (sorted first) and perhaps deleted too */
	for (size_t i = 0; i < s->n; i++) {
		if (k && !strcmp(s->items[i].path, s->items[k - 1].path)) {
			s->items[k - 1].deleted |= s->items[i].deleted;
			continue;
		}
		s->items[k++] = s->items[i];
	}
	s->n = k;
	return 0;
}

static const char *type_name(const struct arc_entry *e)
{
	return e->type == ARC_REG ? "file" : e->type == ARC_DIR ? "directory" : e->type == ARC_SYMLINK ? "symlink" :
	       "other";
}

/* The facts of one member: sha256 of a file (64 hex digits, without the
 * "sha256:" of a digest), its mode in octal. */
struct rfacts {
	char sha[ARC_DIGEST_SIZE], mode[16];
};

static void facts(struct diff_ctx *x, const struct rside *s, const struct arc_entry *e, struct rfacts *f)
{
	int rc = e->type == ARC_REG ? arc_sha256_member(s->tar, e, f->sha) : 0;

	if (e->type != ARC_REG)
		f->sha[0] = '\0';
	else if (rc == 0)
		memmove(f->sha, f->sha + 7, strlen(f->sha + 7) + 1);
	if (rc < 0) {
		snprintf(f->sha, sizeof(f->sha), "?");
		diff_warn(x, "%s: rootfs-diff.tar: %s: not compared: %s", s->what, e->path, strerror(-rc));
	}
	snprintf(f->mode, sizeof(f->mode), "0%o", (unsigned) e->mode);
}

/* rootfs-added or rootfs-removed of @it (from @s), said by @source. */
static int rootfs_one(struct diff_ctx *x, const struct rside *s, const struct ritem *it, const char *kind)
{
	char path[FILES_PATH_MAX + 2];
	struct rfacts f;
	struct diff_event ev;

	snprintf(path, sizeof(path), "/%s", it->path);
	diff_ev(x, &ev, kind);
	diff_str(&ev, "path", path);
	if (it->e) {
		facts(x, s, it->e, &f);
		diff_str(&ev, "type", type_name(it->e));
		if (it->e->type == ARC_REG) {
			diff_num(&ev, "size", it->e->size);
			diff_str(&ev, "sha256", f.sha);
		}
		if (it->e->link)
			diff_str(&ev, "target", it->e->link);
		diff_str(&ev, "mode", f.mode);
	}
	diff_str(&ev, "source", it->e ? "rootfs-diff.tar" : "deleted.files");
	return diff_emit(x, &ev);
}

/* Both sides have @a and @b in rootfs-diff.tar: rootfs-changed if they differ. */
static int rootfs_both(struct diff_ctx *x, const struct rside *sa, const struct ritem *a, const struct rside *sb,
		       const struct ritem *b)
{
	const struct arc_entry *ea = a->e, *eb = b->e;
	char path[FILES_PATH_MAX + 2];
	struct rfacts fa, fb;
	struct diff_event ev;

	bool same = ea->type == eb->type && ea->mode == eb->mode && !strcmp(ea->link ?: "", eb->link ?: "");

	if (same && ea->type != ARC_REG)
		return 0;
	facts(x, sa, ea, &fa);
	facts(x, sb, eb, &fb);
	if (!strcmp(fa.sha, "?") || !strcmp(fb.sha, "?"))
		return 0;	/* said */
	if (same && ea->size == eb->size && !strcmp(fa.sha, fb.sha))
		return 0;
	snprintf(path, sizeof(path), "/%s", b->path);
	diff_ev(x, &ev, "rootfs-changed");
	diff_str(&ev, "path", path);
	diff_str(&ev, "from_type", type_name(ea));
	diff_str(&ev, "to_type", type_name(eb));
	if (ea->type == ARC_REG || eb->type == ARC_REG) {
		diff_num(&ev, "from_size", ea->type == ARC_REG ? ea->size : 0);
		diff_num(&ev, "to_size", eb->type == ARC_REG ? eb->size : 0);
		diff_str(&ev, "from_sha256", fa.sha);
		diff_str(&ev, "to_sha256", fb.sha);
	}
	if (ea->link || eb->link) {
		diff_str(&ev, "from_target", ea->link ?: "");
		diff_str(&ev, "to_target", eb->link ?: "");
	}
	diff_str(&ev, "from_mode", fa.mode);
	diff_str(&ev, "to_mode", fb.mode);
	diff_str(&ev, "source", "rootfs-diff.tar");
	return diff_emit(x, &ev);
}

/* Path @a in A, @b in B (either may be NULL: neither in the tar nor deleted). */
static int rootfs_pair(struct diff_ctx *x, const struct rside *sa, const struct ritem *a, const struct rside *sb,
		       const struct ritem *b)
{
	if (a && a->e && b && b->e)
		return rootfs_both(x, sa, a, sb, b);
	if (b && b->e)
		return rootfs_one(x, sb, b, "rootfs-added");
	if (b && b->deleted)	/* B deleted it; A had it in the tar or as in the image */
		return a && a->deleted ? 0 : rootfs_one(x, sb, b, "rootfs-removed");
	if (a && a->e)		/* gone from the tar: as in the image again */
		return rootfs_one(x, sa, a, "rootfs-removed");
	/* A had deleted it, B has it as in the image again */
	return rootfs_one(x, sa, a, "rootfs-added");
}

int diff_files(struct diff_ctx *x)
{
	struct rside sa = { .what = x->a->path }, sb = { .what = x->b->path };
	size_t i = 0, j = 0;
	int rc;

	rc = rside_load(x, x->a->ck, &sa);
	rc = rc ?: rside_load(x, x->b->ck, &sb);
	rc = rc ?: rside_items(&sa);
	rc = rc ?: rside_items(&sb);
	while (rc == 0 && (i < sa.n || j < sb.n)) {
		int c = i == sa.n ? 1 : j == sb.n ? -1 : strcmp(sa.items[i].path, sb.items[j].path);

		rc = rootfs_pair(x, &sa, c <= 0 ? &sa.items[i] : NULL, &sb, c >= 0 ? &sb.items[j] : NULL);
		i += c <= 0;
		j += c >= 0;
	}
	rside_done(&sa);
	rside_done(&sb);
	return rc < 0 ? rc : 0;
}

/* ---- container.json ---- */

struct leaf {
	char *path;		/* as jq writes it: .metadata.annotations["io.container.manager"] */
	const char *value;	/* borrowed from the document */
	size_t order;
};

struct leaves {
	struct leaf *v;
	size_t n, cap;
	int err;
};

static void leaves_done(struct leaves *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i].path);
	free(l->v);
}

static void leaf_add(struct leaves *l, const struct ck_buf *path, json_object *o)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 64;
		struct leaf *v = reallocarray(l->v, cap, sizeof(*v));

		if (!v) {
			l->err = -ENOMEM;
			return;
		}
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n] = (struct leaf) { .path = strdup(path->data ?: ""), .order = l->n,
				     .value = json_object_is_type(o, json_type_string) ? json_object_get_string(o) :
					      json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN) };
	if (!l->v[l->n++].path)
		l->err = -ENOMEM;
}

static bool is_ident(const char *k)
{
	if (!*k || isdigit((unsigned char) *k))
		return false;
	for (; *k; k++)
		if (!isalnum((unsigned char) *k) && *k != '_')
			return false;
	return true;
}

/* ["key"], escaped as a JSON string. */
static void put_key(struct ck_buf *path, const char *k)
{
	ck_buf_puts(path, "[\"");
	for (; *k; k++) {
		if (*k == '"' || *k == '\\')
			ck_buf_printf(path, "\\%c", *k);
		else if ((unsigned char) *k < 0x20)
			ck_buf_printf(path, "\\u%04x", (unsigned char) *k);
		else
			ck_buf_putc(path, *k);
	}
	ck_buf_puts(path, "\"]");
}

/* Every leaf of @o under @path; top-level keys of the dump are left out. */
static void flatten(struct leaves *l, struct ck_buf *path, json_object *o, int depth)
{
	size_t at = path->len;

	if (json_object_is_type(o, json_type_object) && json_object_object_length(o)) {
		json_object_object_foreach(o, k, v) {
			bool skip = false;

			for (size_t i = 0; !depth && spec_dump_keys[i]; i++)
				skip |= !strcmp(k, spec_dump_keys[i]);
			if (skip)
				continue;
			if (is_ident(k))
				ck_buf_printf(path, ".%s", k);
			else
				put_key(path, k);
			flatten(l, path, v, depth + 1);
			path->len = at;
			path->data[at] = '\0';
		}
	} else if (json_object_is_type(o, json_type_array) && json_object_array_length(o)) {
		for (size_t i = 0; i < json_object_array_length(o); i++) {
			ck_buf_printf(path, "[%zu]", i);
			flatten(l, path, json_object_array_get_idx(o, i), depth + 1);
			path->len = at;
			path->data[at] = '\0';
		}
	} else {
		leaf_add(l, path, o);
	}
	if (path->oom)
		l->err = -ENOMEM;
}

static int leaf_cmp(const void *a, const void *b)
{
	return strcmp(((const struct leaf *) a)->path, ((const struct leaf *) b)->path);
}

static int leaf_order_cmp(const void *a, const void *b)
{
	const struct leaf *x = a, *y = b;

	return x->order < y->order ? -1 : x->order > y->order;
}

/* The leaves of @text (container.json) in @l, sorted by path; NULL text:
 * none. Returns 0, -ENOMEM, or 1 when @text is no JSON object (said). */
static int leaves_of(struct diff_ctx *x, const char *what, const char *text, size_t len, json_object **ret_doc,
		     struct leaves *l)
{
	_cleanup_(ck_buf_done) struct ck_buf path = { 0 };
	json_tokener *tok;

	*ret_doc = NULL;
	if (!text)
		return 0;
	tok = json_tokener_new();
	if (!tok)
		return -ENOMEM;
	*ret_doc = json_tokener_parse_ex(tok, text, (int) CK_MIN(len, (size_t) INT32_MAX));
	json_tokener_free(tok);
	if (!json_object_is_type(*ret_doc, json_type_object)) {
		diff_warn(x, "%s: container.json not compared: not a JSON object", what);
		return 1;
	}
	flatten(l, &path, *ret_doc, 0);
	if (l->err)
		return l->err;
	if (l->n)
		qsort(l->v, l->n, sizeof(*l->v), leaf_cmp);
	return 0;
}

static int container_event(struct diff_ctx *x, const char *key, const char *from, const char *to)
{
	struct diff_event ev;

	diff_ev(x, &ev, "container-changed");
	diff_str(&ev, "key", key);
	if (from)
		diff_str(&ev, "from", from);
	else
		diff_none(&ev, "from");
	if (to)
		diff_str(&ev, "to", to);
	else
		diff_none(&ev, "to");
	return diff_emit(x, &ev);
}

/* The leaves of @a that differ from @b's (or that @b lacks), in @a's
 * order; @a_is_from: @a is the before side. */
static int leaves_diff(struct diff_ctx *x, struct leaves *a, const struct leaves *b, bool a_is_from)
{
	int rc = 0;

	if (a->n)
		qsort(a->v, a->n, sizeof(*a->v), leaf_order_cmp);
	for (size_t i = 0; rc == 0 && i < a->n; i++) {
		const struct leaf *o = b->n ? bsearch(&a->v[i], b->v, b->n, sizeof(*b->v), leaf_cmp) : NULL;

		if (o && (!a_is_from || !strcmp(o->value, a->v[i].value)))
			continue;
		rc = container_event(x, a->v[i].path, a_is_from ? a->v[i].value : NULL,
				     a_is_from ? (o ? o->value : NULL) : a->v[i].value);
	}
	return rc;
}

int diff_container(struct diff_ctx *x)
{
	struct leaves la = { 0 }, lb = { 0 };
	json_object *da = NULL, *db = NULL;
	int rc;

	rc = leaves_of(x, x->a->path, x->a->container_json, x->a->container_json_len, &da, &la);
	if (rc == 0)
		rc = leaves_of(x, x->b->path, x->b->container_json, x->b->container_json_len, &db, &lb);
	/* changed and removed in A's order, then added in B's */
	if (rc == 0)
		rc = leaves_diff(x, &la, &lb, true);
	if (rc == 0) {
		if (la.n)
			qsort(la.v, la.n, sizeof(*la.v), leaf_cmp);
		rc = leaves_diff(x, &lb, &la, false);
	}
	leaves_done(&la);
	leaves_done(&lb);
	json_object_put(da);
	json_object_put(db);
	return rc < 0 ? rc : 0;
}
