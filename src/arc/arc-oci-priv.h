/* SPDX-License-Identifier: Apache-2.0 */
/* Shared by the image reader's files: arc-oci.c (recognition, the layout
 * and docker-archive readers, JSON and blob checks), arc-oci-walk.c (index
 * and manifest walk), arc-oci-layer.c (layers and whiteouts) and
 * arc-oci-ctrd.c (containerd's checkpoint index). */
#ifndef CK_ARC_OCI_PRIV_H
#define CK_ARC_OCI_PRIV_H

#include <json-c/json.h>

#include "arc-oci.h"
#include "arc-priv.h"

/* index.json, manifests and configs are small; larger is not one */
#define OCI_JSON_MAX (4u << 20)

DEFINE_CLEANUP(oci_json_putp, json_object, json_object_put)

/* One image that index.json leads to. */
struct oci_cand {
	json_object *desc;	/* its descriptor (borrowed from a parsed index) */
	json_object *index;	/* containerd: the checkpoint index itself; else NULL */
	char *ref;
	char *digest;
};

/* A layer of the image, where its items go ("" or "checkpoint/"). */
struct oci_layer_use {
	const struct arc *layer;
	const char *prefix;
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
	void *seen;		/* tsearch() tree of struct oci_seen */
	size_t ndescs;		/* descriptors of indexes read */
	struct oci_layer_use *layers;	/* bottom first, for oci_apply_layers() */
	size_t nlayers;
	char **ret_error;
};

/* What the reader has met, by kind and name: 'i' a nested index (@j, once
 * parsed), 'w' an index walked for a name, 'c' a candidate image, 'b' a
 * blob of the outer arc (its digest in @digest once hashed, its arc in
 * @layer once indexed as a layer). */
struct oci_seen {
	json_object *j;
	struct arc *layer;
	char digest[ARC_DIGEST_SIZE];
	char key[];
};
/* The entry of kind @kind for @name and @ref (either may be NULL), added
 * (zeroed) if new, which *@ret_new says. NULL when out of memory. */
struct oci_seen *oci_seen(struct oci *o, char kind, const char *name, const char *ref, bool *ret_new);

/* The digest of blob @e of the outer arc ("sha256:<hex>"), hashed once
 * however many descriptors name it. */
int oci_digest(struct oci *o, const struct arc_entry *e, const char **ret);

/* Member @key of object @o when it is a string, else NULL. */
const char *oci_jstr(json_object *o, const char *key);
/* Element @i of array @a when it is a string, else NULL. */
const char *oci_jstr_at(json_object *a, size_t i);
/* Member @key of object @o when it is of @type, else NULL. */
json_object *oci_jget(json_object *o, const char *key, json_type type);

/* Parse member @e of the outer arc as JSON (an object or an array), kept
 * until the end; @what names it in messages. */
int oci_parse(struct oci *o, const struct arc_entry *e, const char *what, json_object **ret);
/* The blob descriptor @desc names, checked: it lies in blobs/sha256/, is a
 * regular file of the size the descriptor says and hashes to its digest. */
int oci_blob(struct oci *o, json_object *desc, const char *what, const struct arc_entry **ret);
/* Add the string values of the objects @low and @high (either may be
 * NULL) to the image's annotations, @high's where both have a key. */
int oci_ann_from(struct arc_image *img, json_object *low, json_object *high);
/* Does a key of @ann (annotations or config labels) mark a checkpoint? */
bool oci_ckpt_keys(json_object *ann);

/* arc-oci-walk.c: the images index.json @index leads to, into o->cands. */
int oci_walk(struct oci *o, json_object *index);
/* Choose one of o->cands: the only one, or the one -o image= names. */
int oci_choose(struct oci *o, struct oci_cand **ret);
/* True when @index lists containerd's CRIU images blob. */
bool oci_is_ctrd(json_object *index);
/* The OCI or Docker manifest @c: its layers into o->m. Returns 1 when its
 * annotations or labels mark a checkpoint, else 0, or -errno. */
int oci_manifest(struct oci *o, const struct oci_cand *c);

/* arc-oci-layer.c: index blob @e of the outer arc as a tar of its own,
 * once however many layers it is; borrowed until o->m is freed. */
int oci_open_layer(struct oci *o, const struct arc_entry *e, const char *what, struct arc **ret);
/* The same for the layer descriptor @desc (NULL: none), whose annotations
 * may place a zstd:chunked table of contents. */
int oci_open_layer_desc(struct oci *o, const struct arc_entry *e, json_object *desc, const char *what,
			struct arc **ret);
/* Put @layer (@what in messages; its whiteouts are checked here) over the
 * layers added before, its items under @prefix ("" or "checkpoint/"). */
int oci_add_layer(struct oci *o, const struct arc *layer, const char *prefix, const char *what);
/* Add the items of the layers to o->m, merged. */
int oci_apply_layers(struct oci *o);
/* Add outer blob @e as member @name, read in place. */
int oci_add_blob_as(struct oci *o, const struct arc_entry *e, const char *name);
/* Add @len bytes at @data as member @name (copied). */
int oci_add_mem(struct oci *o, const char *name, const void *data, size_t len, int64_t mtime);

/* arc-oci-ctrd.c: containerd's checkpoint index @c into o->m. */
int oci_ctrd(struct oci *o, const struct oci_cand *c);

#endif
