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

static int oci_add_cand(struct oci *o, json_object *desc, json_object *index, const char *ref)
{
	struct oci_cand *v = reallocarray(o->cands, o->ncands + 1, sizeof(*v));
	const char *d = oci_jstr(desc, "digest");

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

/* Collect the images @index (whose own descriptor is @self, NULL for
 * index.json) leads to. */
static int oci_walk_index(struct oci *o, json_object *index, json_object *self, const char *ref, unsigned depth)
{
	json_object *mf = oci_jget(index, "manifests", json_type_array);
	int rc;

	if (!mf)
		return ck_err(o->ret_error, -EBADMSG, "%s: no \"manifests\" list",
			       self ? (oci_jstr(self, "digest") ?: "an index") : "index.json");
	for (size_t i = 0; i < json_object_array_length(mf); i++) {
		json_object *d = json_object_array_get_idx(mf, i), *child;
		const char *mt = oci_jstr(d, "mediaType");
		const char *r = oci_jstr(oci_jget(d, "annotations", json_type_object), ARC_ANN_REF);
		const struct arc_entry *e;
		char what[128];

		if (!r)
			r = ref;
		if (!mt)
			continue;
		if (!strcmp(mt, ARC_MT_OCI_MANIFEST) || !strcmp(mt, ARC_MT_DOCKER_MANIFEST)) {
			rc = oci_add_cand(o, d, NULL, r);
		} else if (!strcmp(mt, ARC_MT_OCI_INDEX) || !strcmp(mt, ARC_MT_DOCKER_LIST)) {
			if (depth >= OCI_DEPTH_MAX)
				return ck_err(o->ret_error, -EBADMSG, "image indexes nested more than %d deep",
					       OCI_DEPTH_MAX);
			snprintf(what, sizeof(what), "index %.80s", oci_jstr(d, "digest") ? oci_jstr(d, "digest") : "?");
			rc = oci_blob(o, d, what, &e);
			rc = rc ?: oci_parse(o, e, what, &child);
			if (rc < 0)
				return rc;
			if (oci_is_ctrd(child))
				rc = oci_add_cand(o, d, child, r);
			else
				rc = oci_walk_index(o, child, d, r, depth + 1);
		} else {
			continue;	/* a config, a signature, an attestation, ... */
		}
		if (rc < 0)
			return rc;
	}
	return 0;
}

int oci_walk(struct oci *o, json_object *index)
{
	if (oci_is_ctrd(index))
		return oci_add_cand(o, index, index, oci_jstr(oci_jget(index, "annotations", json_type_object), ARC_ANN_REF));
	return oci_walk_index(o, index, NULL, NULL, 0);
}

/* Choose the image: the only one, or the one -o image= names; among
 * several of that name, the one for this machine's platform. */
int oci_choose(struct oci *o, struct oci_cand **ret)
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
		const char *arch = arc_oci_arch();
		size_t nplat = 0;

		for (size_t i = 0; i < o->ncands; i++) {
			struct oci_cand *c = &o->cands[i];
			json_object *plat = oci_jget(c->desc, "platform", json_type_object);

			if (want && !(c->ref && !strcmp(c->ref, want)) && !(c->digest && !strcmp(c->digest, want)))
				continue;
			if (plat && oci_jstr(plat, "architecture") && !strcmp(oci_jstr(plat, "architecture"), arch) &&
			    (!oci_jstr(plat, "os") || !strcmp(oci_jstr(plat, "os"), "linux")) && !nplat++)
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
	rc = oci_ann_from(o->img, oci_jget(c->desc, "annotations", json_type_object));
	rc = rc ?: oci_ann_from(o->img, oci_jget(man, "annotations", json_type_object));
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
		rc = rc ?: oci_open_layer(o, e, lwhat, &layer);
		rc = rc ?: oci_add_layer(o, layer, "", lwhat);
		if (rc < 0)
			return rc;
		o->img->n_layers++;
	}
	return marked;
}
