/* SPDX-License-Identifier: Apache-2.0 */
/* From index.json to the image: the descriptors of the index and of the
 * indexes nested in it become candidates (oci_walk()), one of which is
 * chosen by -o image= or by this machine's platform (oci_choose()); its
 * manifest names the config and the layers (oci_manifest()). */
#include "arc-oci-priv.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/* how deep image indexes may nest */
#define OCI_DEPTH_MAX 4
/* The most distinct images (digest and name) the indexes may lead to, and
 * the most descriptors read on the way: an index of a few KB can list one
 * nested index many times over, several levels deep. */
#define OCI_CANDS_MAX 1024
#define OCI_DESCS_MAX 65536

/* Add the image @desc leads to (@index: containerd's checkpoint index it
 * names, else NULL) under the name @ref, unless it is there already. */
static int oci_add_cand(struct oci *o, json_object *desc, json_object *index, const char *ref)
{
	const char *d = oci_jstr(desc, "digest");
	struct oci_cand *v;
	bool added;

	if (!oci_seen(o, 'c', d, ref, &added))
		return -ENOMEM;
	if (!added)
		return 0;
	if (o->ncands >= OCI_CANDS_MAX)
		return ck_err(o->ret_error, -EBADMSG, "index.json: its indexes lead to more than %d images, "
			       "more than ckptfs reads", OCI_CANDS_MAX);
	v = reallocarray(o->cands, o->ncands + 1, sizeof(*v));
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
bool oci_is_ctrd(json_object *index)
{
	json_object *mf = oci_jget(index, "manifests", json_type_array);

	for (size_t i = 0; mf && i < json_object_array_length(mf); i++) {
		const char *mt = oci_jstr(json_object_array_get_idx(mf, i), "mediaType");

		if (mt && !strcmp(mt, ARC_MT_CTRD_CRIU))
			return true;
	}
	return false;
}

/* The nested index @d names, checked and parsed once however often it is
 * listed. */
static int oci_index_blob(struct oci *o, json_object *d, json_object **ret)
{
	const char *digest = oci_jstr(d, "digest");
	const struct arc_entry *e;
	struct oci_seen *s;
	char what[128];
	bool added;
	int rc;

	s = digest ? oci_seen(o, 'i', digest, NULL, &added) : NULL;
	if (digest && !s)
		return -ENOMEM;
	if (s && s->j) {
		*ret = s->j;
		return 0;
	}
	snprintf(what, sizeof(what), "index %.80s", digest ?: "?");
	rc = oci_blob(o, d, what, &e);
	rc = rc ?: oci_parse(o, e, what, ret);
	if (rc == 0 && s)
		s->j = *ret;
	return rc;
}

static int oci_walk_index(struct oci *o, json_object *index, json_object *self, const char *ref, unsigned depth);

/* The nested index descriptor @d, for images named @ref. */
static int oci_walk_nested(struct oci *o, json_object *d, const char *ref, unsigned depth)
{
	json_object *child;
	bool added;
	int rc;

	if (depth >= OCI_DEPTH_MAX)
		return ck_err(o->ret_error, -EBADMSG, "image indexes nested more than %d deep", OCI_DEPTH_MAX);
	/* an index listed again for the same name leads to the same images */
	if (!oci_seen(o, 'w', oci_jstr(d, "digest"), ref, &added))
		return -ENOMEM;
	if (!added)
		return 0;
	rc = oci_index_blob(o, d, &child);
	if (rc < 0)
		return rc;
	if (oci_is_ctrd(child))
		return oci_add_cand(o, d, child, ref);
	return oci_walk_index(o, child, d, ref, depth + 1);
}

/* Collect the images @index (whose own descriptor is @self, NULL for
 * index.json) leads to. */
static int oci_walk_index(struct oci *o, json_object *index, json_object *self, const char *ref, unsigned depth)
{
	json_object *mf = oci_jget(index, "manifests", json_type_array);
	int rc = 0;

	if (!mf)
		return ck_err(o->ret_error, -EBADMSG, "%s: no \"manifests\" list",
			       self ? (oci_jstr(self, "digest") ?: "an index") : "index.json");
	for (size_t i = 0; i < json_object_array_length(mf) && rc >= 0; i++) {
		json_object *d = json_object_array_get_idx(mf, i);
		const char *mt = oci_jstr(d, "mediaType");
		const char *r = oci_jstr(oci_jget(d, "annotations", json_type_object), ARC_ANN_REF) ?: ref;

		if (++o->ndescs > OCI_DESCS_MAX)
			return ck_err(o->ret_error, -EBADMSG, "index.json: its indexes list more than %d descriptors, "
				       "more than ckptfs reads", OCI_DESCS_MAX);
		if (!mt)
			continue;
		if (!strcmp(mt, ARC_MT_OCI_MANIFEST) || !strcmp(mt, ARC_MT_DOCKER_MANIFEST))
			rc = oci_add_cand(o, d, NULL, r);
		else if (!strcmp(mt, ARC_MT_OCI_INDEX) || !strcmp(mt, ARC_MT_DOCKER_LIST))
			rc = oci_walk_nested(o, d, r, depth);
		/* else a config, a signature, an attestation, ... */
	}
	return rc;
}

int oci_walk(struct oci *o, json_object *index)
{
	if (oci_is_ctrd(index))
		return oci_add_cand(o, index, index, oci_jstr(oci_jget(index, "annotations", json_type_object), ARC_ANN_REF));
	return oci_walk_index(o, index, NULL, NULL, 0);
}

/* How many names the message listing the images shows. */
#define OCI_LIST_MAX 8

static bool oci_cand_named(const struct oci_cand *c, const char *want)
{
	return !want || (c->ref && !strcmp(c->ref, want)) || (c->digest && !strcmp(c->digest, want));
}

/* Is the platform of @c's descriptor this machine's? */
static bool oci_cand_native(const struct oci_cand *c)
{
	json_object *plat = oci_jget(c->desc, "platform", json_type_object);
	const char *arch = oci_jstr(plat, "architecture"), *os = oci_jstr(plat, "os");

	return arch && !strcmp(arch, arc_oci_arch()) && (!os || !strcmp(os, "linux"));
}

/* The one image named @want (any when NULL) and, when @native, built for
 * this machine; several names of one manifest count as one image. NULL
 * when there are none or several; *@ret_n: how many named. */
static struct oci_cand *oci_cand_pick(struct oci *o, const char *want, bool native, size_t *ret_n)
{
	struct oci_cand *found = NULL;
	bool one = true;

	*ret_n = 0;
	for (size_t i = 0; i < o->ncands; i++) {
		struct oci_cand *c = &o->cands[i];

		if (!oci_cand_named(c, want) || (native && !oci_cand_native(c)))
			continue;
		if (!found)
			found = c;
		else if (!c->digest || !found->digest || strcmp(c->digest, found->digest))
			one = false;
		(*ret_n)++;
	}
	return one ? found : NULL;
}

/* The images, for a message: the first OCI_LIST_MAX names, then how many. */
static int oci_cand_list(const struct oci *o, struct ck_buf *list)
{
	for (size_t i = 0; i < o->ncands && i < OCI_LIST_MAX; i++) {
		char safe[256];

		ck_buf_printf(list, "%s%s", i ? ", " : "",
			      arc_safe_name(o->cands[i].ref ? o->cands[i].ref : o->cands[i].digest, safe, sizeof(safe)));
	}
	if (o->ncands > OCI_LIST_MAX)
		ck_buf_printf(list, ", ... (%zu in all)", o->ncands);
	return list->oom ? -ENOMEM : 0;
}

/* Choose the image: the only one, or the one -o image= names; among
 * several of that name, the one for this machine's platform. */
int oci_choose(struct oci *o, struct oci_cand **ret)
{
	const char *want = o->opts ? o->opts->image_ref : NULL;
	struct ck_buf list = { 0 };
	char safe[256];
	size_t nfound, nnative;
	int rc;

	*ret = oci_cand_pick(o, want, false, &nfound);
	/* one name for several platforms (a multi-arch list): this host's */
	if (!*ret && nfound > 1)
		*ret = oci_cand_pick(o, want, true, &nnative);
	if (*ret)
		return 0;
	if (!o->ncands)
		return ck_err(o->ret_error, -EBADMSG, "index.json lists no image manifest");
	rc = oci_cand_list(o, &list);
	if (rc == 0 && want && !nfound)
		rc = ck_err(o->ret_error, -ENOENT, "no image named '%s' here (images: %s)",
			    arc_safe_name(want, safe, sizeof(safe)), list.data);
	else if (rc == 0)
		rc = ck_err(o->ret_error, -EINVAL, "%zu images here, choose one with -o image=REF: %s",
			    want ? nfound : o->ncands, list.data);
	ck_buf_done(&list);
	return rc;
}

/* The OCI or Docker manifest @c. Returns 1 when its annotations or labels
 * mark a checkpoint, else 0. */
int oci_manifest(struct oci *o, const struct oci_cand *c)
{
	json_object *man, *cfg = NULL, *layers;
	const struct arc_entry *e;
	char what[128];
	bool marked;
	int rc;

	snprintf(what, sizeof(what), "manifest %.80s", c->digest ? c->digest : "(without a valid digest)");
	rc = oci_blob(o, c->desc, what, &e);
	rc = rc ?: oci_parse(o, e, what, &man);
	if (rc < 0)
		return rc;
	layers = oci_jget(man, "layers", json_type_array);
	if (!layers)
		return ck_err(o->ret_error, -EBADMSG, "%s: no \"layers\" list", what);
	if (oci_jget(man, "config", json_type_object)) {
		char cwhat[160];

		snprintf(cwhat, sizeof(cwhat), "config of %s", what);
		rc = oci_blob(o, oci_jget(man, "config", json_type_object), cwhat, &e);
		rc = rc ?: oci_parse(o, e, cwhat, &cfg);
		if (rc < 0)
			return rc;
		if (oci_jstr(cfg, "created") && !(o->img->created = strdup(oci_jstr(cfg, "created"))))
			return -ENOMEM;
	}
	rc = oci_ann_from(o->img, oci_jget(c->desc, "annotations", json_type_object),
			  oci_jget(man, "annotations", json_type_object));
	if (rc < 0)
		return rc;
	marked = oci_ckpt_keys(oci_jget(c->desc, "annotations", json_type_object)) ||
		 oci_ckpt_keys(oci_jget(man, "annotations", json_type_object)) ||
		 oci_ckpt_keys(oci_jget(oci_jget(cfg, "config", json_type_object), "Labels", json_type_object));
	for (size_t i = 0; i < json_object_array_length(layers); i++) {
		json_object *d = json_object_array_get_idx(layers, i);
		const char *mt = oci_jstr(d, "mediaType");
		char lwhat[160], safe[128];
		struct arc *layer;

		snprintf(lwhat, sizeof(lwhat), "layer %zu of %s", i + 1, what);
		if (!mt || !arc_oci_is_layer_type(mt))
			return ck_err(o->ret_error, -EMEDIUMTYPE, "%s: media type '%s' is not a layer ckptfs knows",
				       lwhat, arc_safe_name(mt ? mt : "(none)", safe, sizeof(safe)));
		rc = oci_blob(o, d, lwhat, &e);
		rc = rc ?: oci_open_layer_desc(o, e, d, lwhat, &layer);
		rc = rc ?: oci_add_layer(o, layer, "", lwhat);
		if (rc < 0)
			return rc;
		o->img->n_layers++;
	}
	return marked;
}
