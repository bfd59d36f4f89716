/* SPDX-License-Identifier: Apache-2.0 */
/* containerd's checkpoint index (`ctr c checkpoint`), read as the layout of
 * a Podman checkpoint: the criu.tar blob under checkpoint/, the rw layer as
 * rootfs-diff.tar, and the OCI spec held in the config blob (a protobuf
 * Any) as spec.dump. The index's annotations (the container's image and
 * runtime) and the time criu.tar records go to struct arc_image, from
 * which src/spec builds container.json (docs/formats.md §7). */
#include "arc-oci-priv.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

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

/* When @criu (the criu.tar blob) says the dump was written: CRIU writes
 * stats-dump as the dump ends, when its work directory is the images
 * directory; else the newest member, the last image written. */
static int64_t ctrd_time(const struct arc *criu)
{
	const struct arc_entry *e = arc_find(criu, "stats-dump");
	int64_t when = 0;

	if (e && e->type == ARC_REG && e->mtime > 0)
		return e->mtime;
	for (size_t i = 0; i < arc_count(criu); i++) {
		e = arc_entry_at(criu, i);
		if (e->mtime > when)
			when = e->mtime;
	}
	return when;
}

/* containerd's checkpoint index @c. */
int oci_ctrd(struct oci *o, const struct oci_cand *c)
{
	json_object *mf = oci_jget(c->index, "manifests", json_type_array);
	bool criu = false;
	int rc;

	o->img->containerd = true;
	rc = oci_ann_from(o->img, NULL, oci_jget(c->index, "annotations", json_type_object));
	if (rc < 0)
		return rc;
	for (size_t i = 0; i < json_object_array_length(mf); i++) {
		json_object *d = json_object_array_get_idx(mf, i);
		const char *mt = oci_jstr(d, "mediaType");
		const struct arc_entry *e;
		struct arc *layer;
		char what[160];

		if (!mt)
			continue;
		snprintf(what, sizeof(what), "%.80s blob", mt);
		if (!strcmp(mt, ARC_MT_CTRD_CRIU)) {
			rc = oci_blob(o, d, what, &e);
			rc = rc ?: oci_open_layer(o, e, what, &layer);
			rc = rc ?: oci_add_layer(o, layer, "checkpoint/", what);
			if (rc == 0)
				o->img->ctrd_time = ctrd_time(layer);
			criu = true;
			o->img->n_layers++;
		} else if (arc_oci_is_layer_type(mt)) {
			/* the container's changes to its image, as Podman's rootfs-diff.tar */
			rc = oci_blob(o, d, what, &e);
			rc = rc ?: oci_add_blob_as(o, e, "rootfs-diff.tar");
			o->img->n_layers++;
		} else if (!strcmp(mt, ARC_MT_CTRD_CONFIG)) {
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
