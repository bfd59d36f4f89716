/* SPDX-License-Identifier: Apache-2.0 */
/* What the OCI image spec, Docker, containerd and the runtimes name, for
 * both the image reader (arc-oci*.c) and the image writer (src/oci/): media
 * types, annotation keys, and sha256 digests ("sha256:" and 64 lowercase
 * hex digits). */
#ifndef CK_ARC_OCI_H
#define CK_ARC_OCI_H

#include "arc.h"

/* media types */
#define ARC_MT_OCI_INDEX "application/vnd.oci.image.index.v1+json"
#define ARC_MT_OCI_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define ARC_MT_OCI_CONFIG "application/vnd.oci.image.config.v1+json"
#define ARC_MT_OCI_LAYER "application/vnd.oci.image.layer.v1.tar"
#define ARC_MT_OCI_LAYER_GZIP ARC_MT_OCI_LAYER "+gzip"
#define ARC_MT_OCI_LAYER_ZSTD ARC_MT_OCI_LAYER "+zstd"
#define ARC_MT_DOCKER_LIST "application/vnd.docker.distribution.manifest.list.v2+json"
#define ARC_MT_DOCKER_MANIFEST "application/vnd.docker.distribution.manifest.v2+json"
/* containerd's checkpoint index (ctr c checkpoint) */
#define ARC_MT_CTRD_CRIU "application/vnd.containerd.container.criu.checkpoint.criu.tar"
#define ARC_MT_CTRD_RW "application/vnd.containerd.container.rw.tar"
#define ARC_MT_CTRD_CONFIG "application/vnd.containerd.container.checkpoint.config.v1+proto"

/* annotation keys */
#define ARC_ANN_REF "org.opencontainers.image.ref.name"
/* checkpointctl's and containerd's (org.criu.checkpoint.container.name, ...) */
#define ARC_ANN_CRIU "org.criu.checkpoint."
/* the one CRI-O needs to restore from an image */
#define ARC_ANN_CRIO_NAME "io.kubernetes.cri-o.annotations.checkpoint.name"
#define ARC_ANN_PODMAN "io.podman.annotations.checkpoint."
/* on a layer descriptor: the digest of the layer's member index and seek
 * table (ckptfs --build-oci, docs/formats.md) */
#define ARC_ANN_MEMBER_INDEX "io.github.ckptfs.member-index"
/* on containerd's checkpoint index: the container's runtime (its image is
 * ARC_ANN_REF there) */
#define ARC_ANN_CTRD_RUNTIME "io.containerd.checkpoint.runtime"

/* zstd:chunked layers: where the table of contents lies in the blob
 * ("OFFSET:LENGTH:SIZE:TYPE") and the sha256 of its compressed bytes, in
 * the layer descriptor's annotations; older writers (skopeo 1.9) use the
 * io.containers.* keys */
#define ARC_ANN_CHUNKED_POS "io.github.containers.zstd-chunked.manifest-position"
#define ARC_ANN_CHUNKED_SUM "io.github.containers.zstd-chunked.manifest-checksum"
#define ARC_ANN_CHUNKED_POS_OLD "io.containers.zstd-chunked.manifest-position"
#define ARC_ANN_CHUNKED_SUM_OLD "io.containers.zstd-chunked.manifest-checksum"

/* Is @mt a layer media type (OCI, Docker or containerd's rw layer)? The
 * compression it announces is not trusted: the content decides. */
bool arc_oci_is_layer_type(const char *mt);
/* Does annotation or label key @key mark an image as a checkpoint? */
bool arc_oci_is_ckpt_key(const char *key);

/* Does @a hold CRIU images (a regular member named inventory.img)? */
bool arc_oci_has_images(const struct arc *a);
/* This machine's architecture as OCI names it ("amd64", "arm64", ...; ""
 * when it has no name here). */
const char *arc_oci_arch(void);

/* "sha256:" and 64 hex digits, and its NUL */
#define ARC_DIGEST_SIZE CK_DIGEST_SIZE

/* Is @d (@len bytes: a JSON string may hold NULs) "sha256:" followed by
 * exactly 64 lowercase hex digits, a digest that can name a blob file? */
bool arc_digest_ok(const char *d, size_t len);

/* A sha256 being computed. */
struct arc_sha256;
/* NULL when out of memory. */
struct arc_sha256 *arc_sha256_new(void);
/* Returns 0, or -ENOMEM. */
int arc_sha256_add(struct arc_sha256 *h, const void *p, size_t len);
/* The digest of what was added, as "sha256:<hex>"; @h is finished. */
void arc_sha256_end(struct arc_sha256 *h, char out[ARC_DIGEST_SIZE]);
/* Accepts NULL. */
void arc_sha256_free(struct arc_sha256 *h);
DEFINE_CLEANUP(arc_sha256_freep, struct arc_sha256, arc_sha256_free)
/* The digest of @len bytes at @p. Returns 0 or -ENOMEM. */
int arc_sha256_of(const void *p, size_t len, char out[ARC_DIGEST_SIZE]);
/* The digest of member @e of @a. Returns 0 or -errno (a read error). */
int arc_sha256_member(const struct arc *a, const struct arc_entry *e, char out[ARC_DIGEST_SIZE]);

#endif
