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

/* What went wrong, for the exit status. */
enum oci_fail {
	OCI_FAIL_NONE = 0,
	OCI_FAIL_READ,		/* the archive cannot be read */
	OCI_FAIL_NOT_CKPT,	/* it holds no CRIU images (inventory.img) */
	OCI_FAIL_WRITE,		/* @dest exists already, or writing failed */
};

/* Index @archive (any input arc_open() takes) and write the image to
 * @dest: an oci-archive when the name ends in ".tar", else a layout
 * directory. @dest must not exist; it is written under a temporary name
 * and renamed at the end, so a failure leaves nothing behind. Returns 0, or
 * -errno with a one-line message (without @dest's name) in @ret_error and
 * the kind of failure in @ret_fail. On success @ret_digest (if not NULL)
 * receives the manifest's "sha256:<hex>", malloc'ed. */
int oci_build(const char *archive, const char *dest, const struct oci_build_opts *opts,
	      char **ret_digest, enum oci_fail *ret_fail, char **ret_error);

#endif
