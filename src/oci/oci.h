/* SPDX-License-Identifier: Apache-2.0 */
/* Build a checkpoint image: the files of a checkpoint archive as the single
 * layer of an OCI image, annotated so that CRI-O
 * (io.kubernetes.cri-o.annotations.checkpoint.name) and containerd
 * (org.criu.checkpoint.*) restore from it, written as an OCI image layout
 * directory or as an oci-archive tar. No container tool is needed. */
#ifndef CK_OCI_H
#define CK_OCI_H

#include "arc.h"

enum oci_compress {
	OCI_GZIP = 0,		/* application/vnd.oci.image.layer.v1.tar+gzip */
	OCI_ZSTD,		/* application/vnd.oci.image.layer.v1.tar+zstd */
};

struct oci_build_opts {
	const char *ref;		/* org.opencontainers.image.ref.name; NULL: none */
	const char *const *annotations;	/* "KEY=VALUE", added last (they win) */
	size_t n_annotations;
	enum oci_compress compress;
	const struct arc_opts *arc_opts;	/* for reading the archive; may be NULL */
};

/* Index @archive (any input arc_open() takes) and write the image to
 * @dest: an oci-archive when the name ends in ".tar", else a layout
 * directory. @dest must not exist; it is written under a temporary name
 * and renamed at the end (never over a name taken meanwhile), so a failure
 * leaves nothing behind. Returns 0, or -errno with a one-line message in
 * @ret_error: -ARC_ENOTCKPT when @archive holds no checkpoint (an image
 * without one, or no inventory.img), the errors of arc_open() when it
 * cannot be read, -EEXIST when @dest exists; @ret_dest says whether the
 * failure concerns @dest (it exists, or writing it failed) rather than
 * @archive. On success @ret_digest (if not NULL) receives the manifest's
 * "sha256:<hex>", malloc'ed. */
int oci_build(const char *archive, const char *dest, const struct oci_build_opts *opts, char **ret_digest,
	      bool *ret_dest, char **ret_error);

#endif
