/* SPDX-License-Identifier: Apache-2.0 */
/* Container images as checkpoint archives. A checkpoint travels between
 * clusters as an image: one layer whose files are those of the checkpoint
 * archive, annotated so that CRI-O and containerd know it (written by
 * `checkpointctl build`, buildah, or `ckptfs --build-oci`), or containerd's
 * own checkpoint index whose entries carry containerd media types. The
 * image reader recognises, by content, what arc_open() indexed:
 *
 *   - an OCI image layout (oci-layout, index.json, blobs/sha256/<hex>), as a
 *     directory or as a tar (oci-archive);
 *   - a docker-archive (manifest.json naming a config and layer tars);
 *
 * follows index -> manifest (or containerd's checkpoint index) without
 * unpacking anything (arc-oci-walk.c), checks every blob it uses against the
 * sha256 and size of its descriptor, and indexes each layer blob as an
 * archive of its own (plain, gzip or zstd tar, through arc-tar.c: a plain
 * layer is read in place, a layer file of a layout directory gets random
 * access when its compression allows). The layers, applied in order with
 * their whiteouts (arc-oci-layer.c), become the items of a new arc whose
 * items point back to the layer that holds them (arc_item.owner).
 * containerd's index maps to the layout of a Podman checkpoint
 * (arc-oci-ctrd.c). This file: recognition, the JSON and blob checks, the
 * docker-archive reader and the result. */
#include "arc-oci-priv.h"

#include <errno.h>
#include <inttypes.h>
#include <search.h>
#include <stdio.h>
#include <string.h>

#include "arc-reg-priv.h"
#include "log.h"

void arc_image_free(struct arc_image *img)
{
	if (!img)
		return;
	free((char *) img->format);
	free((char *) img->ref);
	free((char *) img->digest);
	free((char *) img->media_type);
	free((char *) img->created);
	for (size_t i = 0; i < img->n_annotations; i++) {
		free((char *) img->annotations[i].key);
		free((char *) img->annotations[i].value);
	}
	free((void *) img->annotations);
	free(img);
}

static int oci_seen_cmp(const void *a, const void *b)
{
	return strcmp(((const struct oci_seen *) a)->key, ((const struct oci_seen *) b)->key);
}

struct oci_seen *oci_seen(struct oci *o, char kind, const char *name, const char *ref, bool *ret_new)
{
	struct oci_seen *k, **found;

	/* the name's length keeps (name, ref) pairs apart whatever they hold */
	k = calloc(1, sizeof(*k) + strlen(name ?: "") + strlen(ref ?: "") + 32);
	if (!k)
		return NULL;
	sprintf(k->key, "%c %zu:%s %s", kind, strlen(name ?: ""), name ?: "", ref ?: "");
	found = tsearch(k, &o->seen, oci_seen_cmp);
	if (!found) {
		free(k);
		return NULL;
	}
	*ret_new = *found == k;
	if (!*ret_new)
		free(k);
	return *found;
}

int oci_digest(struct oci *o, const struct arc_entry *e, const char **ret)
{
	struct oci_seen *s;
	bool added;
	int rc;

	s = oci_seen(o, 'b', e->path, NULL, &added);
	if (!s)
		return -ENOMEM;
	if (!s->digest[0]) {
		rc = arc_sha256_member(o->outer, e, s->digest);
		if (rc < 0) {
			s->digest[0] = '\0';
			return rc;
		}
	}
	*ret = s->digest;
	return 0;
}

/* The text of @v when it is a string without a NUL byte in it (what a
 * C string can hold), else NULL. */
static const char *oci_str(json_object *v)
{
	const char *s = v && json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;

	return s && strlen(s) == (size_t) json_object_get_string_len(v) ? s : NULL;
}

const char *oci_jstr(json_object *o, const char *key)
{
	json_object *v;

	if (!o || !json_object_is_type(o, json_type_object) || !json_object_object_get_ex(o, key, &v))
		return NULL;
	return oci_str(v);
}

const char *oci_jstr_at(json_object *a, size_t i)
{
	return a && json_object_is_type(a, json_type_array) ? oci_str(json_object_array_get_idx(a, i)) : NULL;
}

json_object *oci_jget(json_object *o, const char *key, json_type type)
{
	json_object *v;

	if (!o || !json_object_is_type(o, json_type_object) || !json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, type))
		return NULL;
	return v;
}

static int oci_keep(struct oci *o, json_object *j)
{
	json_object **v = reallocarray(o->keep, o->nkeep + 1, sizeof(*v));

	if (!v) {
		json_object_put(j);
		return -ENOMEM;
	}
	o->keep = v;
	o->keep[o->nkeep++] = j;
	return 0;
}

/* The blob descriptor @desc names (@what for messages), checked: it lies in
 * blobs/sha256/, is a regular file of the size the descriptor says and
 * hashes to its digest. */
int oci_blob(struct oci *o, json_object *desc, const char *what, const struct arc_entry **ret)
{
	json_object *jdigest = oci_jget(desc, "digest", json_type_string);
	const char *digest = jdigest ? json_object_get_string(jdigest) : NULL;
	json_object *jsize = oci_jget(desc, "size", json_type_int);
	char path[96], safe[160];
	const struct arc_entry *e;
	const char *hex;
	int64_t size;
	int rc;

	if (!digest)
		return ck_err(o->ret_error, -EBADMSG, "%s: descriptor without a digest", what);
	/* exactly the hex of a sha256: not a NUL and more after it */
	if (strlen(digest) != (size_t) json_object_get_string_len(jdigest))
		return ck_err(o->ret_error, -EBADMSG, "%s: digest '%s' is followed by a NUL byte and more",
			       what, arc_safe_name(digest, safe, sizeof(safe)));
	if (!arc_digest_ok(digest, strlen(digest))) {
		if (!strncmp(digest, "sha256:", 7) || !strchr(digest, ':'))
			return ck_err(o->ret_error, -EBADMSG,
				       "%s: digest '%s' does not name a blob inside blobs/ (sha256:<64 hex digits>)",
				       what, arc_safe_name(digest, safe, sizeof(safe)));
		return ck_err(o->ret_error, -EMEDIUMTYPE, "%s: digest algorithm of '%s' not supported (sha256 only)",
			       what, arc_safe_name(digest, safe, sizeof(safe)));
	}
	if (!jsize || (size = json_object_get_int64(jsize)) < 0)
		return ck_err(o->ret_error, -EBADMSG, "%s: descriptor of %s without a valid size", what, digest);
	snprintf(path, sizeof(path), "blobs/sha256/%s", digest + 7);
	e = arc_find(o->outer, path);
	if (!e && o->outer->reg) {
		/* a registry's: fetched and checked, or a layer read later */
		rc = arc_reg_blob(o->outer, desc, digest, (uint64_t) size, ret, o->ret_error);
		if (rc < 0)
			return ck_err(o->ret_error, rc, "%s: %s", what, strerror(-rc));
		return 0;
	}
	if (!e)
		return ck_err(o->ret_error, -EBADMSG, "%s: blob %s is missing", what, path);
	if (e->type != ARC_REG)
		return ck_err(o->ret_error, -EBADMSG, "%s: blob %s is not a regular file", what, path);
	if (e->size != (uint64_t) size)
		return ck_err(o->ret_error, -EBADMSG, "%s: blob %s has %" PRIu64 " bytes, its descriptor says %" PRId64,
			       what, path, e->size, size);
	rc = oci_digest(o, e, &hex);
	if (rc < 0)
		return ck_err(o->ret_error, rc, "%s: cannot read blob %s: %s", what, path, strerror(-rc));
	if (strcmp(hex, digest))
		return ck_err(o->ret_error, -EBADMSG, "%s: blob %s does not match its digest (its sha256 is %s)",
			       what, path, hex + 7);
	*ret = e;
	return 0;
}

/* Parse member @e as a JSON object (kept until the end). */
int oci_parse(struct oci *o, const struct arc_entry *e, const char *what, json_object **ret)
{
	_cleanup_free_ void *owned = NULL;
	json_tokener *tok;
	json_object *j;
	struct ck_blob b;
	int rc;

	rc = arc_load(o->outer, e, OCI_JSON_MAX, &b, &owned);
	if (rc == -EFBIG)
		return ck_err(o->ret_error, -EBADMSG, "%s: larger than %u bytes", what, OCI_JSON_MAX);
	if (rc < 0)
		return ck_err(o->ret_error, rc, "%s: cannot read: %s", what, strerror(-rc));
	tok = json_tokener_new();
	if (!tok)
		return -ENOMEM;
	j = json_tokener_parse_ex(tok, (const char *) b.data, (int) b.len);
	if (j && tok->char_offset < (int) b.len) {
		/* only white space may follow */
		for (size_t i = (size_t) tok->char_offset; i < b.len; i++)
			if (!strchr(" \t\r\n", b.data[i])) {
				json_object_put(j);
				j = NULL;
				break;
			}
	}
	json_tokener_free(tok);
	if (!j || (!json_object_is_type(j, json_type_object) && !json_object_is_type(j, json_type_array))) {
		json_object_put(j);
		return ck_err(o->ret_error, -EBADMSG, "%s: not valid JSON", what);
	}
	rc = oci_keep(o, j);
	if (rc < 0)
		return rc;
	*ret = j;
	return 0;
}

static int oci_ann_add(struct arc_image *img, const char *key, const char *value)
{
	struct arc_kv *v = reallocarray((struct arc_kv *) img->annotations, img->n_annotations + 1, sizeof(*v));

	if (!v)
		return -ENOMEM;
	img->annotations = v;
	v[img->n_annotations].key = strdup(key);
	v[img->n_annotations].value = strdup(value);
	img->n_annotations++;
	return v[img->n_annotations - 1].key && v[img->n_annotations - 1].value ? 0 : -ENOMEM;
}

int oci_ann_from(struct arc_image *img, json_object *low, json_object *high)
{
	json_object *sources[] = { low, high }, *dup;
	int rc = 0;

	for (size_t s = 0; s < ARRAY_SIZE(sources); s++) {
		if (!sources[s] || !json_object_is_type(sources[s], json_type_object))
			continue;
		json_object_object_foreach(sources[s], k, v) {
			/* a key of both keeps @high's value */
			if (s == 0 && high && json_object_is_type(high, json_type_object) &&
			    json_object_object_get_ex(high, k, &dup) && oci_str(dup))
				continue;
			if (oci_str(v))
				rc = rc ?: oci_ann_add(img, k, oci_str(v));
		}
	}
	return rc;
}

/* Does a key of @ann (annotations or config labels) mark a checkpoint? */
bool oci_ckpt_keys(json_object *ann)
{
	if (!ann || !json_object_is_type(ann, json_type_object))
		return false;
	json_object_object_foreach(ann, k, v) {
		(void) v;
		if (arc_oci_is_ckpt_key(k))
			return true;
	}
	return false;
}

/* The image of manifest.json (@list) that -o image= names by a tag (tags
 * that are not strings name nothing), or the only one; its name is that
 * tag, else its first tag. */
static int oci_docker_pick(struct oci *o, json_object *list, json_object **ret)
{
	const char *want = o->opts ? o->opts->image_ref : NULL, *ref = want;
	size_t n = json_object_array_length(list), nfound = 0;
	json_object *tags;
	char safe[256];

	for (size_t i = 0; i < n; i++) {
		json_object *x = json_object_array_get_idx(list, i);
		bool match = !want;

		tags = oci_jget(x, "RepoTags", json_type_array);
		for (size_t t = 0; want && tags && t < json_object_array_length(tags); t++)
			match |= oci_jstr_at(tags, t) && !strcmp(oci_jstr_at(tags, t), want);
		if (match && !nfound++)
			*ret = x;
	}
	if (nfound != 1) {
		if (!n)
			return ck_err(o->ret_error, -EBADMSG, "manifest.json lists no image");
		if (want && !nfound)
			return ck_err(o->ret_error, -ENOENT, "no image tagged '%s' in manifest.json",
				       arc_safe_name(want, safe, sizeof(safe)));
		return ck_err(o->ret_error, -EINVAL, "%zu images in manifest.json, choose one with -o image=REF", n);
	}
	tags = oci_jget(*ret, "RepoTags", json_type_array);
	for (size_t t = 0; !ref && tags && t < json_object_array_length(tags); t++)
		ref = oci_jstr_at(tags, t);
	o->img->format = strdup("docker-archive");
	if (!o->img->format || (ref && !(o->img->ref = strdup(ref))))
		return -ENOMEM;
	return 0;
}

/* The layers of a docker-archive image: paths inside the archive; an
 * uncompressed one must hash to its diff_id in @diff_ids. */
static int oci_docker_layers(struct oci *o, json_object *layers, json_object *diff_ids)
{
	for (size_t i = 0; i < json_object_array_length(layers); i++) {
		const char *lp = oci_jstr_at(layers, i), *hex;
		char lwhat[64], head[4] = { 0 }, path[ARC_PATH_MAX], safe[256];
		const struct arc_entry *e;
		struct arc *layer;
		int rc;

		snprintf(lwhat, sizeof(lwhat), "layer %zu", i + 1);
		if (!lp || arc_norm_path(lp, path) <= 0 || !(e = arc_find(o->outer, path)) || e->type != ARC_REG)
			return ck_err(o->ret_error, -EBADMSG, "manifest.json: %s '%s' is not a file of the archive",
				       lwhat, lp ? arc_safe_name(lp, safe, sizeof(safe)) : "(not a string)");
		arc_pread(o->outer, e, head, sizeof(head), 0);
		if (diff_ids && i < json_object_array_length(diff_ids) &&
		    memcmp(head, "\x1f\x8b", 2) && memcmp(head, "\x28\xb5\x2f\xfd", 4)) {
			const char *want_id = oci_jstr_at(diff_ids, i);

			rc = oci_digest(o, e, &hex);
			if (rc < 0)
				return rc;
			if (!want_id || strcmp(want_id, hex))
				return ck_err(o->ret_error, -EBADMSG, "%s: %s does not match its diff_id (its sha256 is %s)",
					       lwhat, path, hex + 7);
		}
		rc = oci_open_layer(o, e, lwhat, &layer);
		rc = rc ?: oci_add_layer(o, layer, "", lwhat);
		if (rc < 0)
			return rc;
		o->img->n_layers++;
	}
	return 0;
}

/* docker-archive: manifest.json is a list of {Config, RepoTags, Layers}
 * whose entries are paths inside the archive. Docker names blobs after
 * their sha256 (<hex>.json, blobs/sha256/<hex>) and an uncompressed layer
 * after its diff_id: those are checked. Returns 1 when the config's labels
 * mark a checkpoint, else 0. */
static int oci_docker(struct oci *o, json_object *list)
{
	json_object *img = NULL, *cfg = NULL, *layers, *labels;
	const struct arc_entry *e;
	char path[ARC_PATH_MAX], safe[256];
	const char *hex, *b;
	int rc;

	rc = oci_docker_pick(o, list, &img);
	if (rc < 0)
		return rc;
	if (!oci_jstr(img, "Config") || !(layers = oci_jget(img, "Layers", json_type_array)))
		return ck_err(o->ret_error, -EBADMSG, "manifest.json: an image without Config or Layers");
	if (arc_norm_path(oci_jstr(img, "Config"), path) <= 0 || !(e = arc_find(o->outer, path)) || e->type != ARC_REG)
		return ck_err(o->ret_error, -EBADMSG, "manifest.json: config '%s' is not a file of the archive",
			       arc_safe_name(oci_jstr(img, "Config"), safe, sizeof(safe)));
	rc = oci_digest(o, e, &hex);
	if (rc < 0)
		return rc;
	b = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
	if (strlen(b) >= 64 && strspn(b, "0123456789abcdef") == 64 && (b[64] == '\0' || !strcmp(b + 64, ".json")) &&
	    strncmp(b, hex + 7, 64))
		return ck_err(o->ret_error, -EBADMSG, "%s does not match its digest (its sha256 is %s)", path, hex + 7);
	rc = oci_parse(o, e, path, &cfg);
	if (rc < 0)
		return rc;
	if (oci_jstr(cfg, "created") && !(o->img->created = strdup(oci_jstr(cfg, "created"))))
		return -ENOMEM;
	labels = oci_jget(oci_jget(cfg, "config", json_type_object), "Labels", json_type_object);
	rc = oci_ann_from(o->img, NULL, labels);
	rc = rc ?: oci_docker_layers(o, layers, oci_jget(oci_jget(cfg, "rootfs", json_type_object), "diff_ids",
							 json_type_array));
	return rc < 0 ? rc : oci_ckpt_keys(labels);
}

static void oci_done(struct oci *o)
{
	for (size_t i = 0; i < o->nkeep; i++)
		json_object_put(o->keep[i]);
	free(o->keep);
	for (size_t i = 0; i < o->ncands; i++) {
		free(o->cands[i].ref);
		free(o->cands[i].digest);
	}
	free(o->cands);
	tdestroy(o->seen, free);
	free(o->layers);
	arc_free(o->m);
	arc_image_free(o->img);
}

/* docker-archive: its manifest.json. Returns what oci_docker() does, or
 * -ENOTTY when manifest.json is of another kind (the archive stays as it is). */
static int oci_read_docker(struct oci *o, const struct arc_entry *dman)
{
	_cleanup_free_ char *quiet = NULL;
	char **ret_error = o->ret_error;
	json_object *j = NULL;
	int rc;

	o->ret_error = &quiet;
	rc = oci_parse(o, dman, "manifest.json", &j);
	o->ret_error = ret_error;
	if (rc == -ENOMEM)
		return rc;
	if (rc < 0 || !json_object_is_type(j, json_type_array) || !json_object_array_length(j) ||
	    !oci_jget(json_object_array_get_idx(j, 0), "Layers", json_type_array))
		return -ENOTTY;
	return oci_docker(o, j);
}

/* An OCI image layout (a directory or an oci-archive): its index.json.
 * Returns 1 when the chosen image is marked as a checkpoint, else 0. */
static int oci_read_layout(struct oci *o, const struct arc_entry *index)
{
	struct oci_cand *c = NULL;
	json_object *j = NULL;
	int rc;

	rc = oci_parse(o, index, "index.json", &j);
	if (rc < 0)
		return rc;
	if (!json_object_is_type(j, json_type_object))
		return ck_err(o->ret_error, -EBADMSG, "index.json: not a JSON object");
	rc = oci_walk(o, j);
	rc = rc ?: oci_choose(o, &c);
	if (rc < 0)
		return rc;
	o->img->format = strdup(o->outer->reg ? "registry" : strcmp(o->outer->kind, "directory") ? "oci-archive"
								  : "OCI image layout");
	o->img->ref = ck_strdup0(c->ref);
	o->img->digest = ck_strdup0(c->index == j ? NULL : c->digest);
	o->img->media_type = ck_strdup0(c->index ? ARC_MT_OCI_INDEX : oci_jstr(c->desc, "mediaType"));
	if (!o->img->format || (c->ref && !o->img->ref))
		return -ENOMEM;
	if (!c->index)
		return oci_manifest(o, c);
	rc = oci_ctrd(o, c);
	return rc < 0 ? rc : 1;
}

/* The image's arc, once its layers are in: a checkpoint or not, its kind,
 * and the outer arc kept alive under it. */
static int oci_finish(struct oci *o, bool marked)
{
	bool zero_copy = true;
	struct arc **v;
	int rc;

	rc = oci_apply_layers(o);
	rc = rc ?: arc_finish(o->m);
	if (rc < 0)
		return rc;
	if (!marked && !arc_oci_has_images(o->m)) {
		char safe[256];

		return ck_err(o->ret_error, -ARC_ENOTCKPT,
			      "%s '%s' is not a checkpoint (no " ARC_ANN_CRIU "*, " ARC_ANN_CRIO_NAME " or "
			      ARC_ANN_PODMAN "* annotation, and no inventory.img in its layers)",
			      o->img->format, arc_safe_name(o->img->ref ? o->img->ref : "(unnamed)", safe, sizeof(safe)));
	}
	for (size_t i = 0; i < o->m->nsubs; i++)
		zero_copy &= o->m->subs[i]->zero_copy;
	snprintf(o->m->kind, sizeof(o->m->kind), "%s%s, %zu layer%s (%.40s)", o->img->format,
		 o->img->containerd ? " (containerd checkpoint)" : "", o->img->n_layers,
		 o->img->n_layers == 1 ? "" : "s", o->m->nsubs ? o->m->subs[o->m->nsubs - 1]->kind : "none");
	o->m->zero_copy = zero_copy && o->m->nsubs;
	/* the outer arc lives on: members of the image may point into it */
	v = reallocarray(o->m->subs, o->m->nsubs + 1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	o->m->subs = v;
	v[o->m->nsubs++] = o->outer;
	o->m->image = TAKE_PTR(o->img);
	o->m->cache_dir = NULL;
	return 0;
}

int arc_oci_open(struct arc *a, const struct arc_opts *opts, struct arc **ret_arc, char **ret_error)
{
	const struct arc_entry *layout = arc_find(a, "oci-layout"), *index = arc_find(a, "index.json");
	const struct arc_entry *dman = arc_find(a, "manifest.json");
	struct oci o = { .outer = a, .opts = opts, .ret_error = ret_error };
	bool docker;
	int rc;

	if (layout && layout->type == ARC_REG && (!index || index->type != ARC_REG))
		return ck_err(ret_error, -EBADMSG, "an OCI image layout (oci-layout) without its index.json");
	if (layout && layout->type == ARC_REG)
		docker = false;
	else if (dman && dman->type == ARC_REG && !arc_find(a, "config.dump") && !arc_find(a, "spec.dump") &&
		 !arc_oci_has_images(a))
		docker = true;
	else
		return 0;
	o.m = arc_new(opts);
	o.img = calloc(1, sizeof(*o.img));
	if (!o.m || !o.img) {
		rc = -ENOMEM;
		goto out;
	}
	rc = docker ? oci_read_docker(&o, dman) : oci_read_layout(&o, index);
	if (rc == -ENOTTY) {
		rc = 0;
		goto out;
	}
	if (rc >= 0)
		rc = oci_finish(&o, rc > 0);
	if (rc < 0)
		goto out;
	ck_log(CK_LOG_DEBUG, "arc: image: %zu entries, %s", o.m->n, o.m->kind);
	*ret_arc = TAKE_PTR(o.m);
	rc = 1;
out:
	oci_done(&o);
	return rc;
}
