/* SPDX-License-Identifier: Apache-2.0 */
/* Container images as checkpoint archives. A checkpoint travels between
 * clusters as an image: one layer whose files are those of the checkpoint
 * archive, annotated so that CRI-O and containerd know it (written by
 * `checkpointctl build`, buildah, or `ckptfs --build-oci`), or containerd's
 * own checkpoint index whose entries carry containerd media types. This file
 * recognises, by content, what arc_open() indexed:
 *
 *   - an OCI image layout (oci-layout, index.json, blobs/sha256/<hex>), as a
 *     directory or as a tar (oci-archive);
 *   - a docker-archive (manifest.json naming a config and layer tars);
 *
 * follows index -> manifest (or containerd's checkpoint index) without
 * unpacking anything, checks every blob it uses against the sha256 and size
 * of its descriptor, and indexes each layer blob as an archive of its own
 * (plain, gzip or zstd tar, through arc-tar.c: a plain layer is read in place,
 * a layer file of a layout directory gets random access when its compression
 * allows). The layers, applied in order with their whiteouts, become the
 * items of a new arc whose items point back to the layer that holds them
 * (arc_item.owner). containerd's index maps to the layout of a Podman
 * checkpoint: the criu.tar blob under checkpoint/, the rw layer as
 * rootfs-diff.tar, and the OCI spec held in the config blob (a protobuf Any)
 * as spec.dump. */
#include "arc-priv.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

/* index.json, manifests and configs are small; larger is not one */
#define OCI_JSON_MAX (4u << 20)
/* how deep image indexes may nest */
#define OCI_DEPTH_MAX 4
#define OCI_HASH_CHUNK (1024 * 1024)

#define MT_OCI_INDEX "application/vnd.oci.image.index.v1+json"
#define MT_OCI_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define MT_DOCKER_LIST "application/vnd.docker.distribution.manifest.list.v2+json"
#define MT_DOCKER_MANIFEST "application/vnd.docker.distribution.manifest.v2+json"
#define MT_CTRD_CRIU "application/vnd.containerd.container.criu.checkpoint.criu.tar"
#define MT_CTRD_RW "application/vnd.containerd.container.rw.tar"
#define MT_CTRD_CONFIG "application/vnd.containerd.container.checkpoint.config.v1+proto"
#define ANN_REF "org.opencontainers.image.ref.name"

/* Layer media types, by the compression they announce; the content decides. */
static const char *const layer_types[] = {
	"application/vnd.oci.image.layer.v1.tar",
	"application/vnd.oci.image.layer.v1.tar+gzip",
	"application/vnd.oci.image.layer.v1.tar+zstd",
	"application/vnd.oci.image.layer.nondistributable.v1.tar",
	"application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
	"application/vnd.oci.image.layer.nondistributable.v1.tar+zstd",
	"application/vnd.docker.image.rootfs.diff.tar",
	"application/vnd.docker.image.rootfs.diff.tar.gzip",
	"application/vnd.docker.image.rootfs.foreign.diff.tar",
	"application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
	"application/vnd.docker.image.rootfs.diff.tar.zstd",
	MT_CTRD_RW,
};

DEFINE_CLEANUP(oci_json_putp, json_object, json_object_put)

/* One image that index.json leads to. */
struct oci_cand {
	json_object *desc;	/* its descriptor (borrowed from a parsed index) */
	json_object *index;	/* containerd: the checkpoint index itself; else NULL */
	char *ref;
	char *digest;
};

struct oci {
	struct arc *outer;	/* what arc_open() indexed */
	const struct arc_opts *opts;
	struct arc *m;		/* the archive being built */
	struct arc_image *img;
	json_object **keep;	/* parsed documents, alive until the end */
	size_t nkeep;
	struct oci_cand *cands;
	size_t ncands;
	char **ret_error;
};

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

static bool is_layer_type(const char *mt)
{
	for (size_t i = 0; i < ARRAY_SIZE(layer_types); i++)
		if (!strcmp(mt, layer_types[i]))
			return true;
	return false;
}

static const char *jstr(json_object *o, const char *key)
{
	json_object *v;

	if (!o || !json_object_is_type(o, json_type_object) || !json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

/* Element @i of the array @a when it is a string, else NULL. */
static const char *jstr_at(json_object *a, size_t i)
{
	json_object *v = a && json_object_is_type(a, json_type_array) ? json_object_array_get_idx(a, i) : NULL;

	return v && json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
}

static json_object *jget(json_object *o, const char *key, json_type type)
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

/* sha256 of member @e of @a, as 64 lowercase hex digits in @hex. */
static int oci_sha256(const struct arc *a, const struct arc_entry *e, char hex[65])
{
	_cleanup_free_ uint8_t *buf = NULL;
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	EVP_MD_CTX *ctx;
	uint64_t off;
	ssize_t n = 0;
	int rc = 0;

	buf = malloc(OCI_HASH_CHUNK);
	ctx = EVP_MD_CTX_new();
	if (!buf || !ctx) {
		EVP_MD_CTX_free(ctx);
		return -ENOMEM;
	}
	if (EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1)
		rc = -ENOMEM;
	for (off = 0; rc == 0 && off < e->size; off += (uint64_t) n) {
		n = arc_pread(a, e, buf, OCI_HASH_CHUNK, off);
		if (n <= 0)
			rc = n < 0 ? (int) n : -EIO;
		else if (EVP_DigestUpdate(ctx, buf, (size_t) n) != 1)
			rc = -ENOMEM;
	}
	if (rc == 0 && EVP_DigestFinal_ex(ctx, md, &mdlen) != 1)
		rc = -ENOMEM;
	EVP_MD_CTX_free(ctx);
	if (rc < 0)
		return rc;
	for (unsigned int i = 0; i < mdlen && i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	hex[64] = '\0';
	return 0;
}

/* A digest we can name a file after: "sha256:" and 64 lowercase hex digits. */
static bool oci_digest_ok(const char *d)
{
	if (!d || strncmp(d, "sha256:", 7) || strlen(d) != 7 + 64)
		return false;
	for (const char *p = d + 7; *p; p++)
		if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
			return false;
	return true;
}

/* The blob descriptor @desc names (@what for messages), checked: it lies in
 * blobs/sha256/, is a regular file of the size the descriptor says and
 * hashes to its digest. */
static int oci_blob(struct oci *o, json_object *desc, const char *what, const struct arc_entry **ret)
{
	const char *digest = jstr(desc, "digest");
	json_object *jsize = jget(desc, "size", json_type_int);
	char path[96], hex[65], safe[160];
	const struct arc_entry *e;
	int64_t size;
	int rc;

	if (!digest)
		return ck_err(o->ret_error, -EBADMSG, "%s: descriptor without a digest", what);
	if (!oci_digest_ok(digest)) {
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
	if (!e)
		return ck_err(o->ret_error, -EBADMSG, "%s: blob %s is missing", what, path);
	if (e->type != ARC_REG)
		return ck_err(o->ret_error, -EBADMSG, "%s: blob %s is not a regular file", what, path);
	if (e->size != (uint64_t) size)
		return ck_err(o->ret_error, -EBADMSG, "%s: blob %s has %" PRIu64 " bytes, its descriptor says %" PRId64,
			       what, path, e->size, size);
	rc = oci_sha256(o->outer, e, hex);
	if (rc < 0)
		return ck_err(o->ret_error, rc, "%s: cannot read blob %s: %s", what, path, strerror(-rc));
	if (strcmp(hex, digest + 7))
		return ck_err(o->ret_error, -EBADMSG, "%s: blob %s does not match its digest (its sha256 is %s)",
			       what, path, hex);
	*ret = e;
	return 0;
}

/* Parse member @e as a JSON object (kept until the end). */
static int oci_parse(struct oci *o, const struct arc_entry *e, const char *what, json_object **ret)
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

static int oci_add_cand(struct oci *o, json_object *desc, json_object *index, const char *ref)
{
	struct oci_cand *v = reallocarray(o->cands, o->ncands + 1, sizeof(*v));
	const char *d = jstr(desc, "digest");

	if (!v)
		return -ENOMEM;
	o->cands = v;
	v[o->ncands] = (struct oci_cand) { .desc = desc, .index = index };
	v[o->ncands].ref = ck_strdup0(ref);
	v[o->ncands].digest = ck_strdup0(d);
	o->ncands++;
	if ((ref && !v[o->ncands - 1].ref) || (d && !v[o->ncands - 1].digest))
		return -ENOMEM;
	return 0;
}

/* True when @index lists containerd's CRIU images blob. */
static bool oci_is_ctrd(json_object *index)
{
	json_object *mf = jget(index, "manifests", json_type_array);

	for (size_t i = 0; mf && i < json_object_array_length(mf); i++) {
		const char *mt = jstr(json_object_array_get_idx(mf, i), "mediaType");

		if (mt && !strcmp(mt, MT_CTRD_CRIU))
			return true;
	}
	return false;
}

/* Collect the images @index (whose own descriptor is @self, NULL for
 * index.json) leads to. */
static int oci_walk(struct oci *o, json_object *index, json_object *self, const char *ref, unsigned depth)
{
	json_object *mf = jget(index, "manifests", json_type_array);
	int rc;

	if (!mf)
		return ck_err(o->ret_error, -EBADMSG, "%s: no \"manifests\" list",
			       self ? (jstr(self, "digest") ?: "an index") : "index.json");
	for (size_t i = 0; i < json_object_array_length(mf); i++) {
		json_object *d = json_object_array_get_idx(mf, i), *child;
		const char *mt = jstr(d, "mediaType");
		const char *r = jstr(jget(d, "annotations", json_type_object), ANN_REF);
		const struct arc_entry *e;
		char what[128];

		if (!r)
			r = ref;
		if (!mt)
			continue;
		if (!strcmp(mt, MT_OCI_MANIFEST) || !strcmp(mt, MT_DOCKER_MANIFEST)) {
			rc = oci_add_cand(o, d, NULL, r);
		} else if (!strcmp(mt, MT_OCI_INDEX) || !strcmp(mt, MT_DOCKER_LIST)) {
			if (depth >= OCI_DEPTH_MAX)
				return ck_err(o->ret_error, -EBADMSG, "image indexes nested more than %d deep",
					       OCI_DEPTH_MAX);
			snprintf(what, sizeof(what), "index %.80s", jstr(d, "digest") ? jstr(d, "digest") : "?");
			rc = oci_blob(o, d, what, &e);
			rc = rc ?: oci_parse(o, e, what, &child);
			if (rc < 0)
				return rc;
			if (oci_is_ctrd(child))
				rc = oci_add_cand(o, d, child, r);
			else
				rc = oci_walk(o, child, d, r, depth + 1);
		} else {
			continue;	/* a config, a signature, an attestation, ... */
		}
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* This machine's architecture as OCI names it. */
static const char *oci_host_arch(void)
{
#if defined(__x86_64__)
	return "amd64";
#elif defined(__aarch64__)
	return "arm64";
#elif defined(__arm__)
	return "arm";
#elif defined(__i386__)
	return "386";
#elif defined(__powerpc64__)
	return "ppc64le";
#elif defined(__s390x__)
	return "s390x";
#elif defined(__riscv)
	return "riscv64";
#else
	return "";
#endif
}

/* Choose the image: the only one, or the one -o image= names; among
 * several of that name, the one for this machine's platform. */
static int oci_choose(struct oci *o, struct oci_cand **ret)
{
	const char *want = o->opts ? o->opts->image_ref : NULL;
	struct oci_cand *found = NULL;
	struct ck_buf list = { 0 };
	size_t nfound = 0;

	for (size_t i = 0; i < o->ncands; i++) {
		struct oci_cand *c = &o->cands[i];

		if (want && !(c->ref && !strcmp(c->ref, want)) && !(c->digest && !strcmp(c->digest, want)))
			continue;
		if (!found)
			found = c;
		nfound++;
	}
	if (nfound == 1) {
		*ret = found;
		return 0;
	}
	/* one name for several platforms (a multi-arch list): this host's */
	if (nfound > 1) {
		const char *arch = oci_host_arch();
		size_t nplat = 0;

		for (size_t i = 0; i < o->ncands; i++) {
			struct oci_cand *c = &o->cands[i];
			json_object *plat = jget(c->desc, "platform", json_type_object);

			if (want && !(c->ref && !strcmp(c->ref, want)) && !(c->digest && !strcmp(c->digest, want)))
				continue;
			if (plat && jstr(plat, "architecture") && !strcmp(jstr(plat, "architecture"), arch) &&
			    (!jstr(plat, "os") || !strcmp(jstr(plat, "os"), "linux")) && !nplat++)
				found = c;
		}
		if (nplat == 1) {
			*ret = found;
			return 0;
		}
	}
	for (size_t i = 0; i < o->ncands; i++) {
		char safe[256];

		ck_buf_printf(&list, "%s%s", i ? ", " : "",
			      arc_safe_name(o->cands[i].ref ? o->cands[i].ref : o->cands[i].digest, safe, sizeof(safe)));
	}
	if (list.oom) {
		ck_buf_done(&list);
		return -ENOMEM;
	}
	if (!o->ncands)
		ck_err(o->ret_error, -EBADMSG, "index.json lists no image manifest");
	else if (want && !nfound)
		ck_err(o->ret_error, -ENOENT, "no image named '%s' here (images: %s)", want, list.data);
	else
		ck_err(o->ret_error, -EINVAL, "%zu images here, choose one with -o image=REF: %s", o->ncands,
			list.data);
	ck_buf_done(&list);
	return o->ncands ? (want && !nfound ? -ENOENT : -EINVAL) : -EBADMSG;
}

static int oci_ann_add(struct arc_image *img, const char *key, const char *value)
{
	struct arc_kv *v = (struct arc_kv *) img->annotations;

	for (size_t i = 0; i < img->n_annotations; i++)
		if (!strcmp(v[i].key, key)) {
			char *nv = strdup(value);

			if (!nv)
				return -ENOMEM;
			free((char *) v[i].value);
			v[i].value = nv;
			return 0;
		}
	v = reallocarray(v, img->n_annotations + 1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	img->annotations = v;
	v[img->n_annotations].key = strdup(key);
	v[img->n_annotations].value = strdup(value);
	img->n_annotations++;
	return v[img->n_annotations - 1].key && v[img->n_annotations - 1].value ? 0 : -ENOMEM;
}

static int oci_ann_from(struct arc_image *img, json_object *ann)
{
	int rc = 0;

	if (!ann || !json_object_is_type(ann, json_type_object))
		return 0;
	json_object_object_foreach(ann, k, v) {
		if (json_object_is_type(v, json_type_string))
			rc = rc ?: oci_ann_add(img, k, json_object_get_string(v));
	}
	return rc;
}

/* Does a key of @ann (annotations or config labels) mark a checkpoint? */
static bool oci_ckpt_keys(json_object *ann)
{
	if (!ann || !json_object_is_type(ann, json_type_object))
		return false;
	json_object_object_foreach(ann, k, v) {
		(void) v;
		if (!strncmp(k, "org.criu.checkpoint.", 20) ||
		    !strcmp(k, "io.kubernetes.cri-o.annotations.checkpoint.name") ||
		    !strncmp(k, "io.podman.annotations.checkpoint.", 33))
			return true;
	}
	return false;
}

/* Index the blob @e of the outer arc as a tar of its own. A file of a
 * layout directory is opened as a whole file, which gives compressed
 * layers random access where arc-seek.c allows it. */
static int oci_open_layer(struct oci *o, const struct arc_entry *e, const char *what, struct arc **ret)
{
	_cleanup_free_ char *err = NULL;
	struct arc_opts lo = { 0 };
	struct arc **v;
	int rc;

	if (o->opts)
		lo = *o->opts;
	lo.progress = NULL;
	if (!strcmp(o->outer->kind, "directory")) {
		int fd = arc_open_member(o->outer, e->path);

		if (fd < 0)
			return ck_err(o->ret_error, fd, "%s: cannot open %s: %s", what, e->path, strerror(-fd));
		rc = arc_open_fd(fd, &lo, ret, &err);
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

/* Hide what the whiteouts of @layer remove from the layers below. */
static void oci_whiteouts(struct oci *o, const struct arc *layer, const char *prefix)
{
	char target[ARC_PATH_MAX];

	for (size_t i = 0; i < layer->n; i++) {
		const char *p = layer->items[i].e.path, *base = strrchr(p, '/');
		size_t dlen = base ? (size_t) (base - p) : 0;
		bool opaque;

		base = base ? base + 1 : p;
		if (strncmp(base, ".wh.", 4))
			continue;
		opaque = !strcmp(base, ".wh..wh..opq");
		snprintf(target, sizeof(target), "%s%.*s%s%s", prefix, (int) dlen, p, dlen && !opaque ? "/" : "",
			 opaque ? "" : base + 4);
		if (*target && target[strlen(target) - 1] == '/')
			target[strlen(target) - 1] = '\0';
		for (size_t j = 0; j < o->m->n; j++)
			if (oci_below(o->m->items[j].e.path, target, strlen(target), !opaque))
				o->m->items[j].drop = true;
	}
}

/* Add the items of @layer, under @prefix ("" or "checkpoint/"). */
static int oci_add_layer(struct oci *o, const struct arc *layer, const char *prefix)
{
	oci_whiteouts(o, layer, prefix);
	for (size_t i = 0; i < layer->n; i++) {
		const struct arc_item *src = &layer->items[i];
		const char *base = strrchr(src->e.path, '/');
		char path[ARC_PATH_MAX];
		struct arc_item *it;
		int rc;

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
static int oci_add_blob_as(struct oci *o, const struct arc_entry *e, const char *name)
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
static int oci_add_mem(struct oci *o, const char *name, const void *data, size_t len, int64_t mtime)
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

/* The value (field 2) of the protobuf Any in @b, which containerd's
 * checkpoint config blob is: the OCI runtime spec as JSON. */
static int pb_any_value(const struct ck_blob *b, struct ck_blob *ret)
{
	const uint8_t *p = b->data, *end = b->data + b->len;
	struct ck_pb_field f;
	bool found = false;

	while (p < end) {
		if (ck_pb_next(&p, end, &f) < 0)
			return -EBADMSG;
		if (f.wt == 2 && f.id == 2) {
			*ret = (struct ck_blob) { f.data, f.len };
			found = true;
		}
	}
	return found ? 0 : -ENOENT;
}

/* containerd's checkpoint index @c. */
static int oci_ctrd(struct oci *o, const struct oci_cand *c)
{
	json_object *mf = jget(c->index, "manifests", json_type_array);
	bool criu = false;
	int rc;

	o->img->containerd = true;
	rc = oci_ann_from(o->img, jget(c->index, "annotations", json_type_object));
	if (rc < 0)
		return rc;
	for (size_t i = 0; i < json_object_array_length(mf); i++) {
		json_object *d = json_object_array_get_idx(mf, i);
		const char *mt = jstr(d, "mediaType");
		const struct arc_entry *e;
		struct arc *layer;
		char what[160];

		if (!mt)
			continue;
		snprintf(what, sizeof(what), "%.80s blob", mt);
		if (!strcmp(mt, MT_CTRD_CRIU)) {
			rc = oci_blob(o, d, what, &e);
			rc = rc ?: oci_open_layer(o, e, what, &layer);
			rc = rc ?: oci_add_layer(o, layer, "checkpoint/");
			criu = true;
			o->img->n_layers++;
		} else if (is_layer_type(mt)) {
			/* the container's changes to its image, as Podman's rootfs-diff.tar */
			rc = oci_blob(o, d, what, &e);
			rc = rc ?: oci_add_blob_as(o, e, "rootfs-diff.tar");
			o->img->n_layers++;
		} else if (!strcmp(mt, MT_CTRD_CONFIG)) {
			_cleanup_free_ void *owned = NULL;
			struct ck_blob b, spec;

			rc = oci_blob(o, d, what, &e);
			rc = rc ?: arc_load(o->outer, e, OCI_JSON_MAX, &b, &owned);
			if (rc < 0)
				return ck_err(o->ret_error, rc, "%s: %s", what, strerror(-rc));
			if (pb_any_value(&b, &spec) < 0)
				return ck_err(o->ret_error, -EBADMSG, "%s: not a protobuf Any holding the spec", what);
			rc = oci_add_mem(o, "spec.dump", spec.data, spec.len, e->mtime);
		}
		if (rc < 0)
			return rc;
	}
	if (!criu)
		return ck_err(o->ret_error, -EBADMSG, "containerd checkpoint index without its criu.tar");
	return 0;
}

/* The OCI or Docker manifest @c. Returns 1 when its annotations or labels
 * mark a checkpoint, else 0. */
static int oci_manifest(struct oci *o, const struct oci_cand *c)
{
	json_object *man, *cfg = NULL, *layers;
	const struct arc_entry *e;
	char what[128];
	bool marked;
	int rc;

	snprintf(what, sizeof(what), "manifest %.80s", c->digest ? c->digest : "?");
	rc = oci_blob(o, c->desc, what, &e);
	rc = rc ?: oci_parse(o, e, what, &man);
	if (rc < 0)
		return rc;
	layers = jget(man, "layers", json_type_array);
	if (!layers)
		return ck_err(o->ret_error, -EBADMSG, "%s: no \"layers\" list", what);
	if (jget(man, "config", json_type_object)) {
		char cwhat[160];

		snprintf(cwhat, sizeof(cwhat), "config of %s", what);
		rc = oci_blob(o, jget(man, "config", json_type_object), cwhat, &e);
		rc = rc ?: oci_parse(o, e, cwhat, &cfg);
		if (rc < 0)
			return rc;
		if (jstr(cfg, "created") && !(o->img->created = strdup(jstr(cfg, "created"))))
			return -ENOMEM;
	}
	rc = oci_ann_from(o->img, jget(c->desc, "annotations", json_type_object));
	rc = rc ?: oci_ann_from(o->img, jget(man, "annotations", json_type_object));
	if (rc < 0)
		return rc;
	marked = oci_ckpt_keys(jget(c->desc, "annotations", json_type_object)) ||
		 oci_ckpt_keys(jget(man, "annotations", json_type_object)) ||
		 oci_ckpt_keys(jget(jget(cfg, "config", json_type_object), "Labels", json_type_object));
	for (size_t i = 0; i < json_object_array_length(layers); i++) {
		json_object *d = json_object_array_get_idx(layers, i);
		const char *mt = jstr(d, "mediaType");
		char lwhat[160], safe[128];
		struct arc *layer;

		snprintf(lwhat, sizeof(lwhat), "layer %zu of %s", i + 1, what);
		if (!mt || !is_layer_type(mt))
			return ck_err(o->ret_error, -EMEDIUMTYPE, "%s: media type '%s' is not a layer ckptfs knows",
				       lwhat, arc_safe_name(mt ? mt : "(none)", safe, sizeof(safe)));
		rc = oci_blob(o, d, lwhat, &e);
		rc = rc ?: oci_open_layer(o, e, lwhat, &layer);
		rc = rc ?: oci_add_layer(o, layer, "");
		if (rc < 0)
			return rc;
		o->img->n_layers++;
	}
	return marked;
}

/* docker-archive: manifest.json is a list of {Config, RepoTags, Layers}
 * whose entries are paths inside the archive. Docker names blobs after
 * their sha256 (<hex>.json, blobs/sha256/<hex>) and an uncompressed layer
 * after its diff_id: those are checked. */
static int oci_docker(struct oci *o, json_object *list)
{
	json_object *img = NULL, *cfg = NULL, *layers, *diff_ids;
	const char *want = o->opts ? o->opts->image_ref : NULL;
	const struct arc_entry *e;
	char path[ARC_PATH_MAX], hex[65], safe[256];
	size_t n = json_object_array_length(list), nfound = 0;
	bool marked;
	int rc;

	for (size_t i = 0; i < n; i++) {
		json_object *x = json_object_array_get_idx(list, i), *tags = jget(x, "RepoTags", json_type_array);
		bool match = !want;

		/* tags that are not strings name nothing */
		for (size_t t = 0; want && tags && t < json_object_array_length(tags); t++)
			match |= jstr_at(tags, t) && !strcmp(jstr_at(tags, t), want);
		if (match && !nfound++)
			img = x;
	}
	if (nfound != 1) {
		if (!n)
			return ck_err(o->ret_error, -EBADMSG, "manifest.json lists no image");
		if (want && !nfound)
			return ck_err(o->ret_error, -ENOENT, "no image tagged '%s' in manifest.json",
				       arc_safe_name(want, safe, sizeof(safe)));
		return ck_err(o->ret_error, -EINVAL, "%zu images in manifest.json, choose one with -o image=REF", n);
	}
	o->img->format = strdup("docker-archive");
	if (!o->img->format)
		return -ENOMEM;
	{
		/* its name: the tag asked for, else the first tag that is a string */
		json_object *tags = jget(img, "RepoTags", json_type_array);
		const char *ref = want;

		for (size_t t = 0; !ref && tags && t < json_object_array_length(tags); t++)
			ref = jstr_at(tags, t);
		if (ref && !(o->img->ref = strdup(ref)))
			return -ENOMEM;
	}
	if (!jstr(img, "Config") || !(layers = jget(img, "Layers", json_type_array)))
		return ck_err(o->ret_error, -EBADMSG, "manifest.json: an image without Config or Layers");
	if (arc_norm_path(jstr(img, "Config"), path) <= 0 || !(e = arc_find(o->outer, path)) || e->type != ARC_REG)
		return ck_err(o->ret_error, -EBADMSG, "manifest.json: config '%s' is not a file of the archive",
			       arc_safe_name(jstr(img, "Config"), safe, sizeof(safe)));
	rc = oci_sha256(o->outer, e, hex);
	if (rc < 0)
		return rc;
	{
		const char *b = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;

		if (strlen(b) >= 64 && strspn(b, "0123456789abcdef") == 64 && (b[64] == '\0' || !strcmp(b + 64, ".json")) &&
		    strncmp(b, hex, 64))
			return ck_err(o->ret_error, -EBADMSG, "%s does not match its digest (its sha256 is %s)", path, hex);
	}
	rc = oci_parse(o, e, path, &cfg);
	if (rc < 0)
		return rc;
	if (jstr(cfg, "created") && !(o->img->created = strdup(jstr(cfg, "created"))))
		return -ENOMEM;
	marked = oci_ckpt_keys(jget(jget(cfg, "config", json_type_object), "Labels", json_type_object));
	rc = oci_ann_from(o->img, jget(jget(cfg, "config", json_type_object), "Labels", json_type_object));
	if (rc < 0)
		return rc;
	diff_ids = jget(jget(cfg, "rootfs", json_type_object), "diff_ids", json_type_array);
	for (size_t i = 0; i < json_object_array_length(layers); i++) {
		const char *lp = jstr_at(layers, i);
		char lwhat[64], head[4] = { 0 };
		struct arc *layer;

		snprintf(lwhat, sizeof(lwhat), "layer %zu", i + 1);
		if (!lp || arc_norm_path(lp, path) <= 0 || !(e = arc_find(o->outer, path)) || e->type != ARC_REG)
			return ck_err(o->ret_error, -EBADMSG, "manifest.json: %s '%s' is not a file of the archive",
				       lwhat, lp ? arc_safe_name(lp, safe, sizeof(safe)) : "(not a string)");
		arc_pread(o->outer, e, head, sizeof(head), 0);
		if (diff_ids && i < json_object_array_length(diff_ids) &&
		    memcmp(head, "\x1f\x8b", 2) && memcmp(head, "\x28\xb5\x2f\xfd", 4)) {
			const char *want_id = jstr_at(diff_ids, i);

			rc = oci_sha256(o->outer, e, hex);
			if (rc < 0)
				return rc;
			if (!want_id || strncmp(want_id, "sha256:", 7) || strcmp(want_id + 7, hex))
				return ck_err(o->ret_error, -EBADMSG, "%s: %s does not match its diff_id (its sha256 is %s)",
					       lwhat, path, hex);
		}
		rc = oci_open_layer(o, e, lwhat, &layer);
		rc = rc ?: oci_add_layer(o, layer, "");
		if (rc < 0)
			return rc;
		o->img->n_layers++;
	}
	return marked;
}

static bool oci_has_images(const struct arc *m)
{
	for (size_t i = 0; i < m->n; i++) {
		const char *b = strrchr(m->items[i].e.path, '/');

		if (!strcmp(b ? b + 1 : m->items[i].e.path, "inventory.img"))
			return true;
	}
	return false;
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
	arc_free(o->m);
	arc_image_free(o->img);
}

int arc_oci_open(struct arc *a, const struct arc_opts *opts, struct arc **ret_arc, char **ret_error)
{
	const struct arc_entry *layout = arc_find(a, "oci-layout"), *index = arc_find(a, "index.json");
	const struct arc_entry *dman = arc_find(a, "manifest.json");
	struct oci o = { .outer = a, .opts = opts, .ret_error = ret_error };
	const char *what = NULL;
	json_object *j = NULL;
	bool zero_copy = true;
	int rc, marked = 0;

	if (layout && layout->type == ARC_REG && (!index || index->type != ARC_REG))
		return ck_err(ret_error, -EBADMSG, "an OCI image layout (oci-layout) without its index.json");
	if (layout && layout->type == ARC_REG)
		what = "OCI image";
	else if (dman && dman->type == ARC_REG && !arc_find(a, "config.dump") && !arc_find(a, "spec.dump") &&
		 !oci_has_images(a))
		what = "docker-archive";
	else
		return 0;
	o.m = arc_new(opts);
	o.img = calloc(1, sizeof(*o.img));
	if (!o.m || !o.img) {
		rc = -ENOMEM;
		goto out;
	}
	if (!strcmp(what, "docker-archive")) {
		_cleanup_free_ char *quiet = NULL;

		/* a manifest.json of another kind leaves the archive as it is */
		o.ret_error = &quiet;
		rc = oci_parse(&o, dman, "manifest.json", &j);
		o.ret_error = ret_error;
		if (rc == -ENOMEM)
			goto out;
		if (rc < 0 || !json_object_is_type(j, json_type_array) || !json_object_array_length(j) ||
		    !jget(json_object_array_get_idx(j, 0), "Layers", json_type_array)) {
			rc = 0;
			goto out;
		}
		rc = marked = oci_docker(&o, j);
	} else {
		struct oci_cand *c = NULL;

		rc = oci_parse(&o, index, "index.json", &j);
		if (rc < 0)
			goto out;
		if (!json_object_is_type(j, json_type_object)) {
			rc = ck_err(ret_error, -EBADMSG, "index.json: not a JSON object");
			goto out;
		}
		if (oci_is_ctrd(j))
			rc = oci_add_cand(&o, j, j, jstr(jget(j, "annotations", json_type_object), ANN_REF));
		else
			rc = oci_walk(&o, j, NULL, NULL, 0);
		rc = rc ?: oci_choose(&o, &c);
		if (rc < 0)
			goto out;
		o.img->format = strdup(strcmp(a->kind, "directory") ? "oci-archive" : "OCI image layout");
		o.img->ref = ck_strdup0(c->ref);
		o.img->digest = ck_strdup0(c->index == j ? NULL : c->digest);
		o.img->media_type = ck_strdup0(c->index ? MT_OCI_INDEX : jstr(c->desc, "mediaType"));
		if (!o.img->format || (c->ref && !o.img->ref)) {
			rc = -ENOMEM;
			goto out;
		}
		if (c->index) {
			rc = oci_ctrd(&o, c);
			marked = 1;
		} else {
			rc = marked = oci_manifest(&o, c);
		}
	}
	if (rc < 0)
		goto out;
	rc = arc_finish(o.m);
	if (rc < 0)
		goto out;
	if (!marked && !oci_has_images(o.m)) {
		char safe[256];

		rc = ck_err(ret_error, -ARC_ENOTCKPT,
			     "%s '%s' is not a checkpoint (no org.criu.checkpoint.*, "
			     "io.kubernetes.cri-o.annotations.checkpoint.name or io.podman.annotations.checkpoint.* "
			     "annotation, and no inventory.img in its layers)",
			     o.img->format, arc_safe_name(o.img->ref ? o.img->ref : "(unnamed)", safe, sizeof(safe)));
		goto out;
	}
	for (size_t i = 0; i < o.m->nsubs; i++)
		zero_copy &= o.m->subs[i]->zero_copy;
	snprintf(o.m->kind, sizeof(o.m->kind), "%s%s, %zu layer%s (%.40s)", o.img->format,
		 o.img->containerd ? " (containerd checkpoint)" : "", o.img->n_layers,
		 o.img->n_layers == 1 ? "" : "s", o.m->nsubs ? o.m->subs[o.m->nsubs - 1]->kind : "none");
	o.m->zero_copy = zero_copy && o.m->nsubs;
	{
		/* the outer arc lives on: members of the image may point into it */
		struct arc **v = reallocarray(o.m->subs, o.m->nsubs + 1, sizeof(*v));

		if (!v) {
			rc = -ENOMEM;
			goto out;
		}
		o.m->subs = v;
		v[o.m->nsubs++] = a;
	}
	o.m->image = TAKE_PTR(o.img);
	o.m->cache_dir = NULL;
	ck_log(CK_LOG_DEBUG, "arc: image: %zu entries, %s", o.m->n, o.m->kind);
	*ret_arc = TAKE_PTR(o.m);
	rc = 1;
out:
	oci_done(&o);
	return rc;
}
