/* SPDX-License-Identifier: Apache-2.0 */
/* Random access into a compressed file whose format allows it without a full
 * pass: an .xz file of two or more blocks (one or more streams, with stream
 * padding), a zstd file of two or more frames that each declare their content
 * size, or the zstd seekable format (a seek table in a trailing skippable
 * frame). arc_seek_open() reads only the container metadata (xz indexes,
 * zstd frame and block headers, or the seek table) and builds a table of
 * independently decodable units; arc_seek_pread() then decodes just the units
 * a read overlaps, keeping the last few in a small cache. Safe for concurrent
 * readers after arc_seek_open() returns. */
#ifndef CK_ARC_SEEK_H
#define CK_ARC_SEEK_H

#include "util.h"

struct arc_seek;

struct arc_seek_opts {
	/* Largest uncompressed unit accepted: a file with a larger block or
	 * frame is -ENOTSUP (each read holds a whole unit in memory); 0: 32 MiB. */
	uint64_t unit_max;
	/* Memory for decoded units kept for later reads and for decodes in
	 * flight, each counted as the largest unit; at least one unit; 0: four
	 * units, at most 48 MiB. */
	uint64_t cache_max;
	/* Most units decoded at once (by different reading threads; each
	 * decode also holds its compressed unit); 0: 2, at most 16. */
	unsigned decoders;
	/* The seek table is known good (its digest was checked): do not read
	 * each frame's header to check it (a request each from a registry). */
	bool table_trusted;
};

/* Where the compressed bytes come from: a file (arc_seek_open()), or a
 * blob of a registry fetched by ranges (arc-reg.c). @pread copies up to
 * @len bytes at @off into @buf and returns the count (short only at the
 * end) or -errno, as ck_pread_full() does. */
struct arc_seek_src {
	ssize_t (*pread)(void *ctx, void *buf, size_t len, uint64_t off);
	void *ctx;
};
/* The source that reads the file open at @fd. */
struct arc_seek_src arc_seek_fd_src(int fd);

/* Inspect the compressed file open at @fd (@file_size bytes) with pread()
 * only, reading the container metadata but never the compressed payload.
 * @fd is borrowed: it must stay open and unchanged until arc_seek_free().
 * @opts may be NULL. Returns 0; -ENOTSUP when the file cannot be read this
 * way (not xz or zstd, a single block or frame, a frame without a content
 * size, a unit above the cap, a zstd dictionary: a full pass is needed, and
 * deciding costs a few preads); -EBADMSG when the container metadata is
 * corrupt, inconsistent or truncated (the full pass would fail too); -EIO,
 * -ENOMEM. On failure @ret_error (if not NULL) receives a malloc'ed
 * one-line reason. */
int arc_seek_open(int fd, uint64_t file_size, const struct arc_seek_opts *opts,
		  struct arc_seek **ret_seek, char **ret_error);
/* arc_seek_open() over @src (borrowed until arc_seek_free()). */
int arc_seek_open_src(const struct arc_seek_src *src, uint64_t file_size, const struct arc_seek_opts *opts,
		      struct arc_seek **ret_seek, char **ret_error);
/* Check every unit before it is decoded against the sha256 of its
 * compressed bytes: @hex holds one digest ("sha256:<hex>", ARC_DIGEST_SIZE
 * bytes each, copied) per unit, in order. A
 * mismatch fails that read with -EIO and one line on stderr. Returns 0,
 * -EBADMSG when @n is not the number of units, or -ENOMEM. */
int arc_seek_set_sha256(struct arc_seek *s, const char *hex, size_t n);
/* Release the table and the cache; does not close the fd. Accepts NULL. */
void arc_seek_free(struct arc_seek *s);
DEFINE_CLEANUP(arc_seek_freep, struct arc_seek, arc_seek_free)

/* The total uncompressed size. */
uint64_t arc_seek_size(const struct arc_seek *s);
/* Copy up to @len bytes of the uncompressed data at @off into @buf, decoding
 * the units that overlap it unless cached. Returns the byte count (short
 * only at the end, 0 at or past it), -EIO if a unit it touches fails to
 * decode (corrupt data, checksum or size mismatch, I/O error), or -ENOMEM. */
ssize_t arc_seek_pread(struct arc_seek *s, void *buf, size_t len, uint64_t off);
/* "xz, 37 blocks", "zstd, 130 frames", "zstd seekable, 12 frames": for
 * messages; borrowed until arc_seek_free(). */
const char *arc_seek_kind(const struct arc_seek *s);
/* How many unit decodes arc_seek_pread() has run so far (cache misses). */
uint64_t arc_seek_decodes(const struct arc_seek *s);

#endif
