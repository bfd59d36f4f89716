/* SPDX-License-Identifier: Apache-2.0 */
/* The member index of a seekable zstd tar (arc-midx.c), read by the
 * registry reader (arc-reg.c) and replayed to libarchive by arc-tar.c. Not
 * for other modules. */
#ifndef CK_ARC_MIDX_H
#define CK_ARC_MIDX_H

#include "arc-seek.h"

struct arc_midx_entry {
	uint64_t off;		/* where the entry's first header starts in the tar */
	uint64_t len;		/* bytes of its headers (and pax or long-name data) */
	const uint8_t *hdr;	/* those bytes, in arc_midx.raw */
};

struct arc_midx {
	uint8_t *raw;		/* the index frame, the seek table and its footer */
	struct arc_midx_entry *entries;	/* by offset, not overlapping */
	size_t n_entries;
	uint32_t n_frames;	/* data frames */
	char *sha256;		/* per data frame: "sha256:<hex>", ARC_DIGEST_SIZE bytes each */
	uint64_t tar_size;	/* the uncompressed tar */
};

/* Read and check the member index of the file @src gives (@size bytes)
 * against @digest, the digest of everything from the index frame to the end
 * (the layer's annotation). Returns 0, -EBADMSG (no index, or one that does
 * not match or parse), -EIO or -ENOMEM, with a message. */
int arc_midx_read(const struct arc_seek_src *src, uint64_t size, const char *digest, struct arc_midx **ret,
		  char **ret_error);
void arc_midx_free(struct arc_midx *m);
DEFINE_CLEANUP(arc_midx_freep, struct arc_midx, arc_midx_free)

#endif
