/* SPDX-License-Identifier: Apache-2.0 */
/* Writing archives that ckptfs reads at random: a byte stream compressed as
 * zstd frames that each declare their size, at most a few MiB of input each,
 * followed by the seek table of zstd's seekable format (a skippable frame, so
 * stock `zstd -d` still decompresses the file). When the input is a tar,
 * frames are cut where members start, so that reading one large member
 * decodes only its own frames (arc/arc-seek.c reads both the table and the
 * sized frames). Frames are compressed by worker threads and written in
 * order. Used by --recompress and for the zstd layer of --build-oci. */
#ifndef CK_PACK_H
#define CK_PACK_H

#include "util.h"

struct pack_opts {
	int level;		/* zstd level; 0: 3, zstd's default */
	unsigned threads;	/* compression threads; 0: one per online CPU */
	size_t frame_max;	/* input bytes per frame at most; 0: 4 MiB */
	bool tar;		/* the input is a tar: cut frames at member starts */
	/* With @tar: also write a member index (every member's tar headers
	 * and where they start, and the sha256 of each compressed frame, by
	 * @hash: "sha256:<hex>" of @len bytes at @buf into @out, 0 or -errno)
	 * in a skippable frame before the seek table (docs/formats.md).
	 * NULL: none. */
	int (*hash)(const void *buf, size_t len, char out[CK_DIGEST_SIZE]);
};

struct pack_stats {
	uint64_t in_bytes;	/* bytes written into the packer */
	uint64_t out_bytes;	/* compressed bytes written, seek table included */
	uint64_t frames;
	/* with opts.hash: the digest of the output from the member index's
	 * frame to the end (the index, the seek table and its footer) */
	char index_digest[CK_DIGEST_SIZE];
};

struct pack_zstd;

/* Where the compressed bytes go, in order: returns 0 or -errno. */
typedef int (*pack_sink_fn)(void *ctx, const void *buf, size_t len);

/* A packer handing its output to @sink(@ctx, ...). Returns 0, -EINVAL for a
 * bad option, -ENOMEM or the -errno of pthread_create(). */
int pack_zstd_new(const struct pack_opts *opts, pack_sink_fn sink, void *ctx, struct pack_zstd **ret);
/* A sink that writes to the file descriptor (int) @ctx points to. */
int pack_sink_fd(void *ctx, const void *buf, size_t len);
/* Append @len bytes of input. Returns 0, or the -errno of a failed write or
 * compression (then every later call fails the same way); with opts.tar,
 * -EBADMSG when a header is not a tar header (the bytes after the
 * end-of-archive block are not looked at). */
int pack_zstd_write(struct pack_zstd *w, const void *buf, size_t len);
/* Compress what is left, write the seek table and fill @st (may be NULL).
 * Returns 0 or -errno as pack_zstd_write(); with opts.tar, -EBADMSG also
 * when the input ends inside a member or is empty. */
int pack_zstd_finish(struct pack_zstd *w, struct pack_stats *st);
/* After -EBADMSG with opts.tar: why the input is not a whole tar, and the
 * input offset where that was found. */
const char *pack_zstd_tar_why(const struct pack_zstd *w, uint64_t *ret_at);
/* Stop the workers and free everything (after finish, or to give up). */
void pack_zstd_free(struct pack_zstd *w);
DEFINE_CLEANUP(pack_zstd_freep, struct pack_zstd, pack_zstd_free)

#endif
